//! The domain of Plait, an offline-first tool for running an NHS trust's
//! improvement programme: the programme and action-plan documents over yrs,
//! the lifecycle rules, the derived colours and metrics, and the CSV import.
//!
//! No IO and no async runtime: the same code runs in the server and, compiled
//! to WebAssembly, in the browser.
//!
//! ```
//! use plait_shared::{new_doc, ActionId, NewAction, PlanDoc, Status};
//! use yrs::Transact;
//!
//! let plan = PlanDoc::new(new_doc());
//! let id = ActionId::new("a-md001").unwrap();
//! let mut txn = plan.doc().transact_mut();
//! plan.add_action(&mut txn, &id, &NewAction {
//!     reference: "MD001".into(),
//!     title: "Complete ligature risk assessments on every ward".into(),
//!     description: String::new(),
//!     finding_ids: vec![],
//!     workstream_id: None,
//!     phase_id: None,
//!     exec_lead: "Chief Nurse".into(),
//!     owner: None,
//!     due: None,
//!     confidence: None,
//!     closure_criteria: String::new(),
//! }).unwrap();
//! drop(txn);
//! let view = plan.read(&plan.doc().transact());
//! assert_eq!(view.actions[&id].status(), Status::Draft);
//! ```

pub mod access;
pub mod admission;
pub mod api;
pub mod changes;
pub mod colours;
pub mod digest;
pub mod doc;
pub mod entries;
pub mod ids;
pub mod import;
pub mod improvement;
pub mod keys;
pub mod lifecycle;
pub mod meetings;
pub mod metrics;
pub mod pack;
pub mod paper;
pub mod phase2;
pub mod plan;
pub mod presence;
pub mod programme;
pub mod protocol;
pub mod report;
pub mod spc;
pub mod vocab;
pub mod work;
pub mod workflow;

pub use doc::{new_doc, new_doc_with_client_id, SchemaProblem, WriteError};
pub use entries::{
    Decision, DueChange, Evidence, EvidenceReview, LogEntry, ProgressUpdate, Sustainment,
    Transition,
};
pub use ids::{
    ActionId, Date, DocId, EntryId, FindingId, ForumId, InvalidDate, InvalidId, MeasureId,
    MeasurePointId, MeetingId, MeetingPaperId, PhaseId, UnixMillis, UserId, WorkstreamId,
};
pub use lifecycle::{
    check_transition, fold_status, ActionFacts, Fold, FoldFacts, Governance, Move, Refusal, Step,
};
pub use metrics::{ColourRule, ColourScheme, Counts, Group, OverdueAction, ProgrammeMetrics};
pub use plan::{
    ActionField, ActionText, ActionView, FindingView, NewAction, NewFinding, PlanDoc, PlanInfo,
    PlanView, TextEdit,
};
pub use programme::{
    Forum, Measure, MeasurePoint, Meeting, MeetingPaper, Paper, Phase, PlanEntry, ProgrammeDoc,
    ProgrammeInfo, ProgrammeView, Workstream,
};
pub use vocab::{
    Assurance, CheckOutcome, Colour, Confidence, DecisionOutcome, DueChangeVerdict, EvidenceKind,
    EvidenceType, EvidenceVerdict, FindingKind, KeyQuestion, MeasureKind, ReauditMethod,
    Regulation, Remit, Role, Status, UnknownValue, Weekday,
};

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
