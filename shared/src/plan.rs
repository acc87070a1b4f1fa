//! The action-plan document: the findings of an inspection and the actions
//! that answer them, for one workstream or core service.
//!
//! Roots (all `Y.Map`): `plan` {title, programme_id, workstream_id,
//! core_service, location}; `findings` {id → Y.Map {ref, kind, text: Y.Text,
//! regulations, key_question, core_service, location, source}}; `actions`
//! {id → Y.Map {ref, title: Y.Text, description: Y.Text, finding_ids,
//! workstream_id, phase_id, exec_lead, owner, due_original, confidence,
//! assurance, closure_criteria: Y.Text, and the logs transitions, updates,
//! evidence, evidence_reviews, decisions, due_changes, sustainment}}.
//!
//! Single-valued fields are plain map entries (last writer wins per field);
//! free text is `Y.Text` (edits merge by character); logs are append-only
//! `Y.Array`s of immutable entries. Status and the current due date are
//! derived from the logs, never stored, so they cannot disagree with them.

use std::collections::BTreeMap;

mod restore;

use yrs::{
    Array, ArrayPrelim, Doc, Map, MapPrelim, MapRef, ReadTxn, TextPrelim, TextRef, TransactionMut,
};

use crate::doc::{
    array_ref, edit_text, get_list, get_log, get_parsed, get_str, get_text, map_ref, string_list,
    text_ref, to_any, SchemaProblem, WriteError,
};
use crate::entries::{
    Decision, DueChange, Evidence, EvidenceReview, LogEntry, ProgressUpdate, Sustainment,
    Transition,
};
use crate::ids::{
    ActionId, Date, DocId, EntryId, FindingId, PhaseId, UnixMillis, UserId, WorkstreamId,
};
use crate::lifecycle::{fold_status, Fold, FoldFacts};
use crate::vocab::{
    Assurance, CheckOutcome, Colour, Confidence, DecisionOutcome, DueChangeVerdict,
    EvidenceVerdict, FindingKind, KeyQuestion, Regulation, Role, Status,
};

const PLAN: &str = Root::Plan.key();
const FINDINGS: &str = Root::Findings.key();
const ACTIONS: &str = Root::Actions.key();

/// The key of the time an action was created (written when it is; actions
/// added before that was recorded have none).
pub(crate) const CREATED: &str = "created";

/// What a plan is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanInfo {
    /// "Clinical records and care planning".
    pub title: String,
    /// The programme document this plan belongs to.
    pub programme_id: Option<DocId>,
    /// The workstream that delivers it.
    pub workstream_id: Option<WorkstreamId>,
    /// The core service it covers, if it is a service's plan.
    pub core_service: String,
    /// The site, if it is one site's plan.
    pub location: String,
}

/// A finding, as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    /// The report's reference ("MD001").
    pub reference: String,
    /// Must do, should do, ...
    pub kind: FindingKind,
    /// What the regulator said.
    pub text: String,
    /// The regulations breached.
    pub regulations: Vec<Regulation>,
    /// Safe, effective, ...
    pub key_question: Option<KeyQuestion>,
    /// The core service it was found in.
    pub core_service: String,
    /// The site.
    pub location: String,
    /// Where it came from ("CQC report, March 2022").
    pub source: String,
    /// The day CQC set for compliance (a warning notice's "by 30 June
    /// 2022").
    pub deadline: Option<Date>,
}

/// Where a finding stands with CQC: the compliance deadline it set, and
/// when and by which letter it lifted a warning notice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Compliance {
    /// The day CQC set for compliance.
    pub deadline: Option<Date>,
    /// The day CQC lifted it.
    pub lifted_on: Option<Date>,
    /// The letter that lifted it ("CQC letter of 3 March 2023, ref …").
    pub lifted_by: String,
}

/// The compliance deadline a regulator's wording sets, where it ends
/// with one ("…, by 30 June 2022").
pub fn deadline_in(text: &str) -> Option<Date> {
    let lower = text.to_ascii_lowercase();
    let at = lower.rfind(" by ")?;
    let tail = text.get(at + 4..)?.trim().trim_end_matches(['.', ';', ')']);
    Date::parse_loose(tail).ok()
}

/// An action, as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    /// The plan's reference ("MD001").
    pub reference: String,
    /// What will be done, in one line.
    pub title: String,
    /// How, in detail.
    pub description: String,
    /// The findings it answers.
    pub finding_ids: Vec<FindingId>,
    /// The workstream delivering it.
    pub workstream_id: Option<WorkstreamId>,
    /// The programme phase.
    pub phase_id: Option<PhaseId>,
    /// The accountable executive ("Chief Nurse").
    pub exec_lead: String,
    /// Who delivers it.
    pub owner: Option<UserId>,
    /// The due date first agreed.
    pub due: Option<Date>,
    /// The owner's confidence.
    pub confidence: Option<Confidence>,
    /// What "done" means.
    pub closure_criteria: String,
}

/// One single-valued field of an action, with its new value (`None` clears).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionField {
    /// The plan's reference.
    Reference(String),
    /// The findings it answers.
    FindingIds(Vec<FindingId>),
    /// The workstream.
    Workstream(Option<WorkstreamId>),
    /// The phase.
    Phase(Option<PhaseId>),
    /// The executive lead.
    ExecLead(String),
    /// The owner.
    Owner(Option<UserId>),
    /// The original due date; only while none is set (then use requests).
    DueOriginal(Date),
    /// The owner's confidence.
    Confidence(Option<Confidence>),
    /// The assurance level.
    Assurance(Option<Assurance>),
    /// The colour a tracker reported.
    ReportedColour(Option<Colour>),
}

impl ActionField {
    /// The key this field is stored under.
    pub fn key(&self) -> FieldKey {
        match self {
            ActionField::Reference(_) => FieldKey::Reference,
            ActionField::FindingIds(_) => FieldKey::FindingIds,
            ActionField::Workstream(_) => FieldKey::Workstream,
            ActionField::Phase(_) => FieldKey::Phase,
            ActionField::ExecLead(_) => FieldKey::ExecLead,
            ActionField::Owner(_) => FieldKey::Owner,
            ActionField::DueOriginal(_) => FieldKey::DueOriginal,
            ActionField::Confidence(_) => FieldKey::Confidence,
            ActionField::Assurance(_) => FieldKey::Assurance,
            ActionField::ReportedColour(_) => FieldKey::ReportedColour,
        }
    }
}

pub use crate::keys::{ActionText, FieldKey};
use crate::keys::{FindingField, Log, PlanField, Root, FINDING_TEXT};

pub use crate::doc::TextEdit;

/// A finding, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    /// Its id.
    pub id: FindingId,
    /// The report's reference.
    pub reference: String,
    /// Must do, should do, ... (`None` if unreadable).
    pub kind: Option<FindingKind>,
    /// What the regulator said.
    pub text: String,
    /// The regulations breached.
    pub regulations: Vec<Regulation>,
    /// The key question.
    pub key_question: Option<KeyQuestion>,
    /// The core service.
    pub core_service: String,
    /// The site.
    pub location: String,
    /// Where it came from.
    pub source: String,
    /// Where it stands with CQC.
    pub compliance: Compliance,
}

/// A due-date change request with its answer, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRequestView {
    /// The request entry.
    pub id: EntryId,
    /// The date asked for.
    pub new_due: Date,
    /// Why.
    pub reason: String,
    /// Who asked.
    pub by: UserId,
    /// When.
    pub at: UnixMillis,
    /// The first valid answer: approved or declined, by whom, why.
    pub answer: Option<(DueChangeVerdict, UserId, String)>,
}

/// A request to change the wording of an agreed action's title or closure
/// criteria, with its answer, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordingRequestView {
    /// The request entry.
    pub id: EntryId,
    /// Which text.
    pub text: ActionText,
    /// The wording asked for.
    pub proposed: String,
    /// Why.
    pub reason: String,
    /// Who asked.
    pub by: UserId,
    /// When.
    pub at: UnixMillis,
    /// The first valid answer: approved or declined, by whom, why.
    pub answer: Option<(DueChangeVerdict, UserId, String)>,
}

/// A scheduled re-audit with its result, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SustainmentCheckView {
    /// The scheduling entry.
    pub id: EntryId,
    /// When it is due.
    pub due: Date,
    /// When it was scheduled: checks scheduled together (by one closure)
    /// share it, and the last due of them decides whether the change is
    /// embedded.
    pub scheduled_at: UnixMillis,
    /// The first result recorded: outcome, by whom, note.
    pub result: Option<(CheckOutcome, UserId, String)>,
}

/// An action, read, with its derived status and due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionView {
    /// Its id.
    pub id: ActionId,
    /// The plan's reference.
    pub reference: String,
    /// One-line title.
    pub title: String,
    /// Description.
    pub description: String,
    /// What "done" means.
    pub closure_criteria: String,
    /// The findings it answers.
    pub finding_ids: Vec<FindingId>,
    /// The workstream.
    pub workstream_id: Option<WorkstreamId>,
    /// The phase.
    pub phase_id: Option<PhaseId>,
    /// The executive lead.
    pub exec_lead: String,
    /// The owner.
    pub owner: Option<UserId>,
    /// The due date first agreed.
    pub due_original: Option<Date>,
    /// The due date now: the last approved change, else the original.
    pub due_current: Option<Date>,
    /// The owner's confidence: the one the latest progress update gave,
    /// else the field's (derived).
    pub confidence: Option<Confidence>,
    /// The confidence field as set (by an import, or by an earlier release
    /// that set it directly); a progress update's confidence overrides it.
    pub confidence_set: Option<Confidence>,
    /// The assurance level.
    pub assurance: Option<Assurance>,
    /// The colour a tracker reported for it when imported (shown beside
    /// the derived colour where they differ).
    pub reported_colour: Option<Colour>,
    /// The status log.
    pub transitions: Vec<Transition>,
    /// The status, and what the fold did with each transition.
    pub fold: Fold,
    /// Progress updates, oldest first.
    pub updates: Vec<ProgressUpdate>,
    /// Evidence, oldest first.
    pub evidence: Vec<Evidence>,
    /// Verdicts on the evidence.
    pub evidence_reviews: Vec<EvidenceReview>,
    /// Forum decisions.
    pub decisions: Vec<Decision>,
    /// Due-date change requests and their answers.
    pub due_requests: Vec<DueRequestView>,
    /// Wording change requests and their answers.
    pub wording_requests: Vec<WordingRequestView>,
    /// The due-date log as stored (requests and answers, in order).
    pub due_changes: Vec<DueChange>,
    /// The re-audit log as stored (schedules and results, in order).
    pub sustainment: Vec<Sustainment>,
    /// Re-audits.
    pub sustainment_checks: Vec<SustainmentCheckView>,
    /// When it was added to the plan, where that was recorded.
    pub created: Option<UnixMillis>,
}

impl ActionView {
    /// Whether `other` has the same value of `key`.
    pub fn same_field(&self, key: FieldKey, other: &ActionView) -> bool {
        match key {
            FieldKey::Reference => self.reference == other.reference,
            FieldKey::FindingIds => self.finding_ids == other.finding_ids,
            FieldKey::Workstream => self.workstream_id == other.workstream_id,
            FieldKey::Phase => self.phase_id == other.phase_id,
            FieldKey::ExecLead => self.exec_lead == other.exec_lead,
            FieldKey::Owner => self.owner == other.owner,
            FieldKey::DueOriginal => self.due_original == other.due_original,
            FieldKey::Confidence => self.confidence_set == other.confidence_set,
            FieldKey::Assurance => self.assurance == other.assurance,
            FieldKey::ReportedColour => self.reported_colour == other.reported_colour,
        }
    }

    /// The field `key` as it is set here (`None`: not set; the original
    /// due date cannot be written as "none", so it reads `None` too).
    pub fn field(&self, key: FieldKey) -> Option<ActionField> {
        Some(match key {
            FieldKey::Reference => ActionField::Reference(self.reference.clone()),
            FieldKey::FindingIds => ActionField::FindingIds(self.finding_ids.clone()),
            FieldKey::Workstream => ActionField::Workstream(self.workstream_id.clone()),
            FieldKey::Phase => ActionField::Phase(self.phase_id.clone()),
            FieldKey::ExecLead => ActionField::ExecLead(self.exec_lead.clone()),
            FieldKey::Owner => ActionField::Owner(self.owner.clone()),
            FieldKey::DueOriginal => ActionField::DueOriginal(self.due_original?),
            FieldKey::Confidence => ActionField::Confidence(self.confidence_set),
            FieldKey::Assurance => ActionField::Assurance(self.assurance),
            FieldKey::ReportedColour => ActionField::ReportedColour(self.reported_colour),
        })
    }

    /// One of its texts.
    pub fn text(&self, key: ActionText) -> &str {
        match key {
            ActionText::Title => &self.title,
            ActionText::Description => &self.description,
            ActionText::ClosureCriteria => &self.closure_criteria,
        }
    }

    /// The status: the fold of the transition log.
    pub fn status(&self) -> Status {
        self.fold.status
    }

    /// Open for delivery and past its current due date on `today`.
    pub fn is_overdue(&self, today: Date) -> bool {
        self.status().is_open_for_delivery() && self.due_current.is_some_and(|due| due < today)
    }

    /// Days past due on `today` (0 if not overdue).
    pub fn days_overdue(&self, today: Date) -> i64 {
        match self.due_current {
            Some(due) if self.is_overdue(today) => due.days_until(today),
            _ => 0,
        }
    }
}

/// A whole plan, read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanView {
    /// What the plan is about.
    pub info: PlanInfo,
    /// Findings by id.
    pub findings: BTreeMap<FindingId, FindingView>,
    /// Actions by id.
    pub actions: BTreeMap<ActionId, ActionView>,
    /// What had to be skipped while reading.
    pub problems: Vec<SchemaProblem>,
}

/// An action plan document: typed reads and writes over its yrs document.
#[derive(Debug, Clone)]
pub struct PlanDoc {
    doc: Doc,
    plan: MapRef,
    findings: MapRef,
    actions: MapRef,
}

impl PlanView {
    /// The plan as it stood at `until` (see [`ActionView::as_at`]).
    pub fn as_at(&self, until: UnixMillis) -> PlanView {
        PlanView {
            actions: self
                .actions
                .iter()
                .filter_map(|(id, a)| Some((id.clone(), a.as_at(until)?)))
                .collect(),
            ..self.clone()
        }
    }
}

impl PlanDoc {
    /// Wraps a document (empty, or holding a plan).
    pub fn new(doc: Doc) -> Self {
        let plan = doc.get_or_insert_map(PLAN);
        let findings = doc.get_or_insert_map(FINDINGS);
        let actions = doc.get_or_insert_map(ACTIONS);
        PlanDoc {
            doc,
            plan,
            findings,
            actions,
        }
    }

    /// The underlying document.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Sets what the plan is about.
    pub fn set_info(&self, txn: &mut TransactionMut, info: &PlanInfo) {
        self.plan
            .insert(txn, PlanField::Title.key(), info.title.as_str());
        let optional = [
            (
                PlanField::ProgrammeId.key(),
                info.programme_id.as_ref().map(DocId::as_str),
            ),
            (
                PlanField::Workstream.key(),
                info.workstream_id.as_ref().map(WorkstreamId::as_str),
            ),
        ];
        for (key, value) in optional {
            match value {
                Some(value) => {
                    self.plan.insert(txn, key, value);
                }
                None => {
                    self.plan.remove(txn, key);
                }
            }
        }
        self.plan.insert(
            txn,
            PlanField::CoreService.key(),
            info.core_service.as_str(),
        );
        self.plan
            .insert(txn, PlanField::Location.key(), info.location.as_str());
    }

    /// Adds a finding.
    ///
    /// # Errors
    /// [`WriteError::AlreadyExists`] if the id is taken.
    pub fn add_finding(
        &self,
        txn: &mut TransactionMut,
        id: &FindingId,
        finding: &NewFinding,
    ) -> Result<(), WriteError> {
        if self.findings.get(txn, id.as_str()).is_some() {
            return Err(WriteError::AlreadyExists {
                what: "finding",
                id: id.to_string(),
            });
        }
        let map = self.findings.insert(txn, id.as_str(), MapPrelim::default());
        map.insert(txn, FindingField::Reference.key(), finding.reference.trim());
        map.insert(txn, FindingField::Kind.key(), finding.kind.key());
        map.insert(txn, FINDING_TEXT, TextPrelim::new(finding.text.as_str()));
        map.insert(
            txn,
            FindingField::Regulations.key(),
            string_list(finding.regulations.iter().map(|r| r.key())),
        );
        if let Some(question) = finding.key_question {
            map.insert(txn, FindingField::KeyQuestion.key(), question.key());
        }
        map.insert(
            txn,
            FindingField::CoreService.key(),
            finding.core_service.as_str(),
        );
        map.insert(txn, FindingField::Location.key(), finding.location.as_str());
        map.insert(txn, FindingField::Source.key(), finding.source.as_str());
        if let Some(deadline) = finding.deadline {
            map.insert(txn, FindingField::Deadline.key(), deadline.iso());
        }
        Ok(())
    }

    /// Sets where a finding stands with CQC.
    ///
    /// # Errors
    /// [`WriteError::UnknownFinding`] if there is no such finding, or
    /// [`WriteError::Malformed`] for a lifting with no letter.
    pub fn set_compliance(
        &self,
        txn: &mut TransactionMut,
        id: &FindingId,
        compliance: &Compliance,
    ) -> Result<(), WriteError> {
        let Some(map) = map_ref(&self.findings, txn, id.as_str()) else {
            return Err(WriteError::UnknownFinding(id.to_string()));
        };
        let has_letter = !compliance.lifted_by.trim().is_empty();
        if compliance.lifted_on.is_some() != has_letter {
            return Err(WriteError::Malformed(
                "a lifting needs both its date and the letter that lifted it".into(),
            ));
        }
        for (key, date) in [
            (FindingField::Deadline.key(), compliance.deadline),
            (FindingField::LiftedOn.key(), compliance.lifted_on),
        ] {
            match date {
                Some(d) => {
                    map.insert(txn, key, d.iso());
                }
                None => {
                    map.remove(txn, key);
                }
            }
        }
        map.insert(
            txn,
            FindingField::LiftedBy.key(),
            compliance.lifted_by.trim(),
        );
        Ok(())
    }

    /// Adds an action with empty logs.
    ///
    /// # Errors
    /// [`WriteError::AlreadyExists`] if the id is taken.
    pub fn add_action(
        &self,
        txn: &mut TransactionMut,
        id: &ActionId,
        action: &NewAction,
    ) -> Result<(), WriteError> {
        if self.actions.get(txn, id.as_str()).is_some() {
            return Err(WriteError::AlreadyExists {
                what: "action",
                id: id.to_string(),
            });
        }
        let map = self.actions.insert(txn, id.as_str(), MapPrelim::default());
        for text in ActionText::ALL {
            let value = match text {
                ActionText::Title => &action.title,
                ActionText::Description => &action.description,
                ActionText::ClosureCriteria => &action.closure_criteria,
            };
            map.insert(txn, text.key(), TextPrelim::new(value.as_str()));
        }
        for log in Log::ALL {
            map.insert(txn, log.key(), ArrayPrelim::default());
        }
        let fields = [
            ActionField::Reference(action.reference.trim().to_owned()),
            ActionField::FindingIds(action.finding_ids.clone()),
            ActionField::Workstream(action.workstream_id.clone()),
            ActionField::Phase(action.phase_id.clone()),
            ActionField::ExecLead(action.exec_lead.clone()),
            ActionField::Owner(action.owner.clone()),
            ActionField::Confidence(action.confidence),
        ];
        for field in fields {
            write_field(&map, txn, &field);
        }
        if let Some(due) = action.due {
            map.insert(txn, FieldKey::DueOriginal.key(), due.iso());
        }
        Ok(())
    }

    /// Records when an action was added (once, by whoever adds it): entries
    /// may not be older (`crate::admission`).
    ///
    /// # Errors
    /// [`WriteError::UnknownAction`].
    pub fn set_created(
        &self,
        txn: &mut TransactionMut,
        id: &ActionId,
        at: UnixMillis,
    ) -> Result<(), WriteError> {
        let map = self.action_map(txn, id)?;
        map.insert(txn, CREATED, at.0);
        Ok(())
    }

    /// When an action was added, if that was recorded (actions added before
    /// it was have no such time).
    pub fn created<T: ReadTxn>(&self, txn: &T, id: &ActionId) -> Option<UnixMillis> {
        let map = map_ref(&self.actions, txn, id.as_str())?;
        match map.get(txn, CREATED)? {
            yrs::Out::Any(any) => crate::entries::millis_of(&any),
            _ => None,
        }
    }

    fn action_map<T: ReadTxn>(&self, txn: &T, id: &ActionId) -> Result<MapRef, WriteError> {
        map_ref(&self.actions, txn, id.as_str())
            .ok_or_else(|| WriteError::UnknownAction(id.to_string()))
    }

    /// Sets one field of an action.
    ///
    /// # Errors
    /// [`WriteError::UnknownAction`]; [`WriteError::DueDateAlreadySet`] when
    /// setting an original due date that is already set.
    pub fn set_action_field(
        &self,
        txn: &mut TransactionMut,
        id: &ActionId,
        field: &ActionField,
    ) -> Result<(), WriteError> {
        let map = self.action_map(txn, id)?;
        if let ActionField::DueOriginal(_) = field {
            if get_str(&map, txn, FieldKey::DueOriginal.key()).is_some() {
                return Err(WriteError::DueDateAlreadySet);
            }
        }
        write_field(&map, txn, field);
        Ok(())
    }

    /// Edits one of an action's collaborative texts.
    ///
    /// # Errors
    /// [`WriteError::UnknownAction`], [`WriteError::OutOfRange`], or
    /// [`WriteError::Malformed`] if the text is missing.
    pub fn edit_action_text(
        &self,
        txn: &mut TransactionMut,
        id: &ActionId,
        which: ActionText,
        edit: &TextEdit,
    ) -> Result<(), WriteError> {
        let map = self.action_map(txn, id)?;
        let text = text_ref(&map, txn, which.key())
            .ok_or_else(|| WriteError::Malformed(format!("actions/{id}/{}", which.key())))?;
        edit_text(txn, &text, edit)
    }

    /// One of an action's collaborative texts, to place carets in it
    /// (`crate::presence`); `None` when the action or its text is missing.
    pub fn action_text<T: ReadTxn>(
        &self,
        txn: &T,
        id: &ActionId,
        which: ActionText,
    ) -> Option<TextRef> {
        text_ref(&self.action_map(txn, id).ok()?, txn, which.key())
    }

    /// Edits a finding's text.
    ///
    /// # Errors
    /// [`WriteError::UnknownFinding`], [`WriteError::OutOfRange`], or
    /// [`WriteError::Malformed`] if the text is missing.
    pub fn edit_finding_text(
        &self,
        txn: &mut TransactionMut,
        id: &FindingId,
        edit: &TextEdit,
    ) -> Result<(), WriteError> {
        let map = map_ref(&self.findings, txn, id.as_str())
            .ok_or_else(|| WriteError::UnknownFinding(id.to_string()))?;
        let text = text_ref(&map, txn, FINDING_TEXT)
            .ok_or_else(|| WriteError::Malformed(format!("findings/{id}/text")))?;
        edit_text(txn, &text, edit)
    }

    /// Appends an entry to one of an action's logs.
    ///
    /// # Errors
    /// [`WriteError::UnknownAction`], or [`WriteError::Malformed`] if the log
    /// is missing.
    pub fn append(
        &self,
        txn: &mut TransactionMut,
        id: &ActionId,
        entry: &LogEntry,
    ) -> Result<(), WriteError> {
        let map = self.action_map(txn, id)?;
        let (log, value) = match entry {
            LogEntry::Transition(e) => (Log::Transitions.key(), to_any(e)?),
            LogEntry::Progress(e) => (Log::Updates.key(), to_any(e)?),
            LogEntry::Evidence(e) => (Log::Evidence.key(), to_any(e)?),
            LogEntry::EvidenceReview(e) => (Log::EvidenceReviews.key(), to_any(e)?),
            LogEntry::Decision(e) => (Log::Decisions.key(), to_any(e)?),
            LogEntry::DueChange(e) => (Log::DueChanges.key(), to_any(e)?),
            LogEntry::Sustainment(e) => (Log::Sustainment.key(), to_any(e)?),
        };
        let array = array_ref(&map, txn, log)
            .ok_or_else(|| WriteError::Malformed(format!("actions/{id}/{log}")))?;
        array.push_back(txn, value);
        Ok(())
    }

    /// Reads the whole plan.
    pub fn read<T: ReadTxn>(&self, txn: &T) -> PlanView {
        let mut problems = Vec::new();
        let info = self.read_info_into(txn, &mut problems);
        let mut findings = BTreeMap::new();
        for (key, _) in self.findings.iter(txn) {
            let Ok(id) = FindingId::new(key) else {
                problems.push(SchemaProblem {
                    path: format!("{FINDINGS}/{key}"),
                    reason: "not a valid finding id".into(),
                });
                continue;
            };
            if let Some(view) = self.read_finding(txn, &id, &mut problems) {
                findings.insert(id, view);
            }
        }
        let mut actions = BTreeMap::new();
        for (key, _) in self.actions.iter(txn) {
            let Ok(id) = ActionId::new(key) else {
                problems.push(SchemaProblem {
                    path: format!("{ACTIONS}/{key}"),
                    reason: "not a valid action id".into(),
                });
                continue;
            };
            if let Some(view) = self.read_action_into(txn, &id, &mut problems) {
                actions.insert(id, view);
            }
        }
        // Map iteration order differs between peers; the report must not.
        problems.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.reason.cmp(&b.reason)));
        PlanView {
            info,
            findings,
            actions,
            problems,
        }
    }

    /// Reads one action, if it exists and is a map.
    pub fn read_action<T: ReadTxn>(&self, txn: &T, id: &ActionId) -> Option<ActionView> {
        self.read_action_into(txn, id, &mut Vec::new())
    }

    fn read_info_into<T: ReadTxn>(&self, txn: &T, problems: &mut Vec<SchemaProblem>) -> PlanInfo {
        PlanInfo {
            title: get_str(&self.plan, txn, PlanField::Title.key()).unwrap_or_default(),
            programme_id: get_parsed(
                &self.plan,
                txn,
                PlanField::ProgrammeId.key(),
                PLAN,
                problems,
            ),
            workstream_id: get_parsed(&self.plan, txn, PlanField::Workstream.key(), PLAN, problems),
            core_service: get_str(&self.plan, txn, PlanField::CoreService.key())
                .unwrap_or_default(),
            location: get_str(&self.plan, txn, PlanField::Location.key()).unwrap_or_default(),
        }
    }

    fn read_finding<T: ReadTxn>(
        &self,
        txn: &T,
        id: &FindingId,
        problems: &mut Vec<SchemaProblem>,
    ) -> Option<FindingView> {
        let path = format!("{FINDINGS}/{id}");
        let Some(map) = map_ref(&self.findings, txn, id.as_str()) else {
            problems.push(SchemaProblem {
                path,
                reason: "not a map".into(),
            });
            return None;
        };
        Some(FindingView {
            id: id.clone(),
            reference: get_str(&map, txn, FindingField::Reference.key()).unwrap_or_default(),
            kind: get_parsed(&map, txn, FindingField::Kind.key(), &path, problems),
            text: get_text(&map, txn, FINDING_TEXT),
            regulations: get_list(&map, txn, FindingField::Regulations.key(), &path, problems),
            key_question: get_parsed(&map, txn, FindingField::KeyQuestion.key(), &path, problems),
            core_service: get_str(&map, txn, FindingField::CoreService.key()).unwrap_or_default(),
            location: get_str(&map, txn, FindingField::Location.key()).unwrap_or_default(),
            source: get_str(&map, txn, FindingField::Source.key()).unwrap_or_default(),
            compliance: Compliance {
                deadline: get_parsed(&map, txn, FindingField::Deadline.key(), &path, problems),
                lifted_on: get_parsed(&map, txn, FindingField::LiftedOn.key(), &path, problems),
                lifted_by: get_str(&map, txn, FindingField::LiftedBy.key()).unwrap_or_default(),
            },
        })
    }

    fn read_action_into<T: ReadTxn>(
        &self,
        txn: &T,
        id: &ActionId,
        problems: &mut Vec<SchemaProblem>,
    ) -> Option<ActionView> {
        let path = format!("{ACTIONS}/{id}");
        let Some(map) = map_ref(&self.actions, txn, id.as_str()) else {
            problems.push(SchemaProblem {
                path,
                reason: "not a map".into(),
            });
            return None;
        };
        let owner: Option<UserId> =
            get_str(&map, txn, FieldKey::Owner.key()).and_then(|s| UserId::new(s).ok());
        let due_original: Option<Date> =
            get_parsed(&map, txn, FieldKey::DueOriginal.key(), &path, problems);
        let transitions: Vec<Transition> =
            get_log(&map, txn, Log::Transitions.key(), &path, problems);
        let evidence: Vec<Evidence> = get_log(&map, txn, Log::Evidence.key(), &path, problems);
        let decisions: Vec<Decision> = get_log(&map, txn, Log::Decisions.key(), &path, problems);
        let due_changes: Vec<DueChange> =
            get_log(&map, txn, Log::DueChanges.key(), &path, problems);
        let sustainment: Vec<Sustainment> =
            get_log(&map, txn, Log::Sustainment.key(), &path, problems);
        Some(
            ActionView {
                id: id.clone(),
                reference: get_str(&map, txn, FieldKey::Reference.key()).unwrap_or_default(),
                title: get_text(&map, txn, ActionText::Title.key()),
                description: get_text(&map, txn, ActionText::Description.key()),
                closure_criteria: get_text(&map, txn, ActionText::ClosureCriteria.key()),
                finding_ids: get_list(&map, txn, FieldKey::FindingIds.key(), &path, problems),
                workstream_id: get_parsed(&map, txn, FieldKey::Workstream.key(), &path, problems),
                phase_id: get_parsed(&map, txn, FieldKey::Phase.key(), &path, problems),
                exec_lead: get_str(&map, txn, FieldKey::ExecLead.key()).unwrap_or_default(),
                owner,
                due_original,
                due_current: None,
                confidence: None,
                confidence_set: get_parsed(&map, txn, FieldKey::Confidence.key(), &path, problems),
                assurance: get_parsed(&map, txn, FieldKey::Assurance.key(), &path, problems),
                reported_colour: get_parsed(
                    &map,
                    txn,
                    FieldKey::ReportedColour.key(),
                    &path,
                    problems,
                ),
                transitions,
                fold: Fold {
                    status: Status::Draft,
                    steps: Vec::new(),
                },
                updates: get_log(&map, txn, Log::Updates.key(), &path, problems),
                evidence,
                evidence_reviews: get_log(&map, txn, Log::EvidenceReviews.key(), &path, problems),
                decisions,
                due_requests: Vec::new(),
                wording_requests: Vec::new(),
                sustainment_checks: Vec::new(),
                due_changes,
                sustainment,
                created: match map.get(txn, CREATED) {
                    Some(yrs::Out::Any(any)) => crate::entries::millis_of(&any),
                    _ => None,
                },
            }
            .derived(),
        )
    }
}

impl ActionView {
    /// The action as it stood at `until`, from its logs: every log cut
    /// there and everything derived from them (status, due date, answers,
    /// re-audits) worked out again. `None` if it did not exist yet (added
    /// later, or, where its adding was not recorded, no status change by
    /// then). Values that keep no history (texts, owner, executive lead,
    /// confidence, the assurance field, the original due date) are as they
    /// are now.
    pub fn as_at(&self, until: UnixMillis) -> Option<ActionView> {
        let began = self
            .created
            .or_else(|| self.transitions.iter().map(|t| t.at).min());
        if began.is_some_and(|at| at > until) {
            return None;
        }
        let by = |at: UnixMillis| at <= until;
        let mut then = self.clone();
        then.transitions.retain(|e| by(e.at));
        then.updates.retain(|e| by(e.at));
        then.evidence.retain(|e| by(e.at));
        then.evidence_reviews.retain(|e| by(e.at));
        then.decisions.retain(|e| by(e.at));
        then.due_changes.retain(|e| match e {
            DueChange::Request { at, .. }
            | DueChange::Wording { at, .. }
            | DueChange::Answer { at, .. } => by(*at),
        });
        then.sustainment.retain(|e| match e {
            Sustainment::Scheduled { at, .. } | Sustainment::Result { at, .. } => by(*at),
        });
        Some(then.derived())
    }

    /// The view with everything derived from its logs (status, due date,
    /// due-date answers, re-audit results) worked out again from them: the
    /// one place those folds are made, for reading and for checking what an
    /// entry would do.
    pub fn derived(mut self) -> ActionView {
        // The last update in the log that gives one (the log's order, which
        // nobody rewrites, not the moments devices write, which a device's
        // clock sets).
        self.confidence = self
            .updates
            .iter()
            .rev()
            .find_map(|u| u.confidence)
            .or(self.confidence_set);
        self.sustainment_checks = fold_sustainment(&self.sustainment);
        (self.due_requests, self.wording_requests) = fold_due_changes(&self.due_changes);
        self.due_current = self
            .due_requests
            .iter()
            .filter(|request| matches!(request.answer, Some((DueChangeVerdict::Approved, ..))))
            .map(|request| request.new_due)
            .next_back()
            .or(self.due_original);
        self.fold = fold_status(&self.transitions, &self.fold_facts(None));
        self
    }

    /// The re-audits that decide embedding: of the checks scheduled
    /// together (one closure's), the one due last.
    pub fn final_checks(&self) -> Vec<&SustainmentCheckView> {
        let mut finals: Vec<&SustainmentCheckView> = Vec::new();
        for check in &self.sustainment_checks {
            match finals
                .iter_mut()
                .find(|f| f.scheduled_at == check.scheduled_at)
            {
                Some(last) if check.due > last.due => *last = check,
                Some(_) => {}
                None => finals.push(check),
            }
        }
        finals
    }

    /// Whether `check` is the one of its closure's re-audits due last.
    pub fn is_final_check(&self, check: &EntryId) -> bool {
        self.final_checks().iter().any(|c| &c.id == check)
    }

    /// What the status fold needs: the evidence, its accepting verdicts and
    /// the assurance levels they gave, closing decisions, and final
    /// re-audits passed, as recorded up to `until` (all of it with `None`).
    pub fn fold_facts(&self, until: Option<UnixMillis>) -> FoldFacts<'_> {
        let by = |at: UnixMillis| until.is_none_or(|end| at <= end);
        // From the append-only verdicts only, so nothing edited later can
        // take back what made evidence accepted.
        let accepted: Vec<&crate::entries::EvidenceReview> = self
            .evidence_reviews
            .iter()
            .filter(|r| {
                r.verdict == EvidenceVerdict::Accepted
                    && by(r.at)
                    && self.evidence.iter().any(|e| e.id == r.evidence_id)
            })
            .collect();
        let accepted_evidence = !accepted.is_empty();
        let assured = accepted.iter().any(|r| {
            matches!(
                r.assurance,
                Some(Assurance::Substantial | Assurance::Reasonable | Assurance::Limited)
            )
        });
        let finals: Vec<&EntryId> = self.final_checks().into_iter().map(|c| &c.id).collect();
        let passed_checks = self
            .sustainment
            .iter()
            .filter(|s| {
                matches!(s, Sustainment::Result { outcome: CheckOutcome::Passed, check_id, at, .. }
                    if finals.contains(&check_id) && by(*at))
            })
            .count();
        FoldFacts {
            owner: self.owner.as_ref(),
            has_evidence: self.evidence.iter().any(|e| by(e.at)),
            accepted_evidence,
            assured,
            closure_decisions: self
                .decisions
                .iter()
                .filter(|d| d.outcome == DecisionOutcome::ApproveClosure && by(d.at))
                .count(),
            passed_checks,
        }
    }
}

fn write_field(map: &MapRef, txn: &mut TransactionMut, field: &ActionField) {
    let key = field.key().key();
    let value: Option<yrs::Any> = match field {
        ActionField::Reference(s) | ActionField::ExecLead(s) => Some(s.as_str().into()),
        ActionField::FindingIds(ids) => Some(string_list(ids.iter().map(FindingId::as_str))),
        ActionField::Workstream(id) => id.as_ref().map(|id| id.as_str().into()),
        ActionField::Phase(id) => id.as_ref().map(|id| id.as_str().into()),
        ActionField::Owner(id) => id.as_ref().map(|id| id.as_str().into()),
        ActionField::DueOriginal(date) => Some(date.iso().into()),
        ActionField::Confidence(c) => c.map(|c| c.key().into()),
        ActionField::Assurance(a) => a.map(|a| a.key().into()),
        ActionField::ReportedColour(c) => c.map(|c| c.key().into()),
    };
    match value {
        Some(value) => {
            map.insert(txn, key, value);
        }
        None => {
            map.remove(txn, key);
        }
    }
}

/// Pairs requests with their first valid answer: from an executive lead or
/// the programme manager who is not the requester. Later or invalid answers
/// have no effect.
fn fold_due_changes(log: &[DueChange]) -> (Vec<DueRequestView>, Vec<WordingRequestView>) {
    let mut requests: Vec<DueRequestView> = Vec::new();
    let mut wordings: Vec<WordingRequestView> = Vec::new();
    for entry in log {
        match entry {
            DueChange::Wording {
                id,
                text,
                proposed,
                reason,
                by,
                at,
            } => {
                if wordings.iter().all(|r| &r.id != id) && requests.iter().all(|r| &r.id != id) {
                    wordings.push(WordingRequestView {
                        id: id.clone(),
                        text: *text,
                        proposed: proposed.clone(),
                        reason: reason.clone(),
                        by: by.clone(),
                        at: *at,
                        answer: None,
                    });
                }
            }
            DueChange::Request {
                id,
                new_due,
                reason,
                by,
                at,
            } => {
                if requests.iter().all(|r| &r.id != id) {
                    requests.push(DueRequestView {
                        id: id.clone(),
                        new_due: *new_due,
                        reason: reason.clone(),
                        by: by.clone(),
                        at: *at,
                        answer: None,
                    });
                }
            }
            DueChange::Answer {
                request_id,
                verdict,
                note,
                by,
                role,
                ..
            } => {
                // The rules let an executive lead or the programme
                // manager who did not ask answer (`access`); the fold
                // honours the same.
                let answerer = matches!(role, Role::Lead | Role::Admin);
                let answer = Some((*verdict, by.clone(), note.clone()));
                if let Some(request) = requests.iter_mut().find(|r| &r.id == request_id) {
                    if request.answer.is_none() && answerer && &request.by != by {
                        request.answer = answer;
                    }
                } else if let Some(request) = wordings.iter_mut().find(|r| &r.id == request_id) {
                    if request.answer.is_none() && answerer && &request.by != by {
                        request.answer = answer;
                    }
                }
            }
        }
    }
    (requests, wordings)
}

/// Pairs scheduled re-audits with their first result. A failed result needs
/// a note saying what was found.
fn fold_sustainment(log: &[Sustainment]) -> Vec<SustainmentCheckView> {
    let mut checks: Vec<SustainmentCheckView> = Vec::new();
    for entry in log {
        match entry {
            Sustainment::Scheduled { id, due, at, .. } => {
                if checks.iter().all(|c| &c.id != id) {
                    checks.push(SustainmentCheckView {
                        id: id.clone(),
                        due: *due,
                        scheduled_at: *at,
                        result: None,
                    });
                }
            }
            Sustainment::Result {
                check_id,
                outcome,
                note,
                by,
                ..
            } => {
                let explained = *outcome == CheckOutcome::Passed || !note.trim().is_empty();
                if let Some(check) = checks.iter_mut().find(|c| &c.id == check_id) {
                    if check.result.is_none() && explained {
                        check.result = Some((*outcome, by.clone(), note.clone()));
                    }
                }
            }
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::new_doc_with_client_id;
    use crate::entries::{Evidence, ProgressUpdate};
    use crate::vocab::{EvidenceKind, Role};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::updates::decoder::Decode;
    use yrs::{ReadTxn, Transact, Update};

    fn user(name: &str) -> UserId {
        UserId::new(name).unwrap()
    }

    fn entry(id: &str) -> EntryId {
        EntryId::new(id).unwrap()
    }

    fn action_id() -> ActionId {
        ActionId::new("a-md001").unwrap()
    }

    fn plan_with_action(client: u64) -> PlanDoc {
        let plan = PlanDoc::new(new_doc_with_client_id(client));
        let mut txn = plan.doc().transact_mut();
        plan.add_action(
            &mut txn,
            &action_id(),
            &NewAction {
                reference: " MD001 ".into(),
                title: "Fix the door closers".into(),
                description: "On every ward".into(),
                finding_ids: vec![FindingId::new("f-md001").unwrap()],
                workstream_id: None,
                phase_id: None,
                exec_lead: "Chief Nurse".into(),
                owner: Some(user("owner")),
                due: Some(Date::from_ymd(2023, 4, 28).unwrap()),
                confidence: Some(Confidence::AtRisk),
                closure_criteria: String::new(),
            },
        )
        .unwrap();
        drop(txn);
        plan
    }

    fn sync(from: &PlanDoc, to: &PlanDoc) {
        let sv = to.doc().transact().state_vector();
        let update = from.doc().transact().encode_state_as_update_v1(&sv);
        to.doc()
            .transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
    }

    #[test]
    fn an_action_reads_back_as_written() {
        let plan = plan_with_action(1);
        let view = plan
            .read_action(&plan.doc().transact(), &action_id())
            .unwrap();
        assert_eq!(view.reference, "MD001", "trimmed");
        assert_eq!(view.title, "Fix the door closers");
        assert_eq!(view.owner, Some(user("owner")));
        assert_eq!(view.due_current, view.due_original);
        assert_eq!(view.status(), Status::Draft);
        assert_eq!(view.confidence, Some(Confidence::AtRisk));
        assert!(plan.read(&plan.doc().transact()).problems.is_empty());
    }

    #[test]
    fn fields_set_and_clear_and_the_original_due_date_stays() {
        let plan = plan_with_action(1);
        let mut txn = plan.doc().transact_mut();
        let id = action_id();
        plan.set_action_field(&mut txn, &id, &ActionField::Confidence(None))
            .unwrap();
        plan.set_action_field(
            &mut txn,
            &id,
            &ActionField::Assurance(Some(Assurance::Limited)),
        )
        .unwrap();
        let due = ActionField::DueOriginal(Date::from_ymd(2024, 1, 1).unwrap());
        assert_eq!(
            plan.set_action_field(&mut txn, &id, &due),
            Err(WriteError::DueDateAlreadySet)
        );
        let missing = ActionId::new("a-nope").unwrap();
        assert!(matches!(
            plan.set_action_field(&mut txn, &missing, &ActionField::ExecLead("x".into())),
            Err(WriteError::UnknownAction(_))
        ));
        let view = plan.read_action(&txn, &id).unwrap();
        assert_eq!(view.confidence, None);
        assert_eq!(view.assurance, Some(Assurance::Limited));
        assert_eq!(
            view.due_original,
            Some(Date::from_ymd(2023, 4, 28).unwrap())
        );
    }

    #[test]
    fn text_edits_count_utf16_and_refuse_bad_ranges() {
        let plan = plan_with_action(1);
        let id = action_id();
        let mut txn = plan.doc().transact_mut();
        let edit = |index, delete, insert: &str| TextEdit {
            index,
            delete,
            insert: insert.into(),
        };
        plan.edit_action_text(&mut txn, &id, ActionText::Description, &edit(0, 2, "🏥 In"))
            .unwrap();
        assert_eq!(
            plan.read_action(&txn, &id).unwrap().description,
            "🏥 In every ward"
        );
        // The hospital emoji is two UTF-16 units: splitting it is refused.
        let split = plan.edit_action_text(&mut txn, &id, ActionText::Description, &edit(1, 0, "x"));
        assert!(matches!(split, Err(WriteError::OutOfRange { .. })));
        let past_end = plan.edit_action_text(&mut txn, &id, ActionText::Title, &edit(19, 5, ""));
        assert!(matches!(
            past_end,
            Err(WriteError::OutOfRange { len: 20, .. })
        ));
        let overflow =
            plan.edit_action_text(&mut txn, &id, ActionText::Title, &edit(u32::MAX, 2, ""));
        assert!(overflow.is_err());
        assert_eq!(
            plan.read_action(&txn, &id).unwrap().title,
            "Fix the door closers"
        );
    }

    #[test]
    fn two_people_typing_at_once_merge_by_character() {
        let a = plan_with_action(1);
        let b = PlanDoc::new(new_doc_with_client_id(2));
        sync(&a, &b);
        let id = action_id();
        a.edit_action_text(
            &mut a.doc().transact_mut(),
            &id,
            ActionText::Title,
            &TextEdit {
                index: 0,
                delete: 3,
                insert: "Repair".into(),
            },
        )
        .unwrap();
        b.edit_action_text(
            &mut b.doc().transact_mut(),
            &id,
            ActionText::Title,
            &TextEdit {
                index: 20,
                delete: 0,
                insert: " on Ward 3".into(),
            },
        )
        .unwrap();
        sync(&a, &b);
        sync(&b, &a);
        let title = |p: &PlanDoc| p.read_action(&p.doc().transact(), &id).unwrap().title;
        assert_eq!(title(&a), "Repair the door closers on Ward 3");
        assert_eq!(title(&a), title(&b));
    }

    #[test]
    fn logs_append_and_status_folds_from_them() {
        let plan = plan_with_action(1);
        let id = action_id();
        let mut txn = plan.doc().transact_mut();
        let step = |to, by: &str, role| {
            LogEntry::Transition(Transition {
                to,
                by: user(by),
                role,
                at: UnixMillis(1),
                note: String::new(),
                baseline: false,
            })
        };
        plan.append(&mut txn, &id, &step(Status::Agreed, "lead", Role::Lead))
            .unwrap();
        plan.append(
            &mut txn,
            &id,
            &step(Status::InProgress, "owner", Role::Contributor),
        )
        .unwrap();
        plan.append(
            &mut txn,
            &id,
            &step(Status::CompletionProposed, "owner", Role::Contributor),
        )
        .unwrap();
        assert_eq!(
            plan.read_action(&txn, &id).unwrap().status(),
            Status::InProgress,
            "no evidence yet"
        );
        let evidence = LogEntry::Evidence(Evidence {
            id: entry("e1"),
            kind: EvidenceKind::Link,
            title: "Audit results".into(),
            location: "https://intranet.example/audit".into(),
            evidence_type: None,
            period_from: None,
            period_to: None,
            site: String::new(),
            piece: None,
            by: user("owner"),
            at: UnixMillis(2),
        });
        plan.append(&mut txn, &id, &evidence).unwrap();
        plan.append(
            &mut txn,
            &id,
            &LogEntry::Progress(ProgressUpdate {
                id: entry("u1"),
                text: "Audit done".into(),
                by: user("owner"),
                at: UnixMillis(3),
                confidence: None,
            }),
        )
        .unwrap();
        let view = plan.read_action(&txn, &id).unwrap();
        // The earlier proposal now has its evidence: the fold is over the facts.
        assert_eq!(view.status(), Status::CompletionProposed);
        assert_eq!(view.updates.len(), 1);
        assert_eq!(view.evidence.len(), 1);
    }

    #[test]
    fn a_due_date_changes_only_when_a_lead_approves_someone_elses_request() {
        let plan = plan_with_action(1);
        let id = action_id();
        let mut txn = plan.doc().transact_mut();
        let new_due = Date::from_ymd(2023, 9, 30).unwrap();
        let request = |rid: &str| {
            LogEntry::DueChange(DueChange::Request {
                id: entry(rid),
                new_due,
                reason: "Contractor delayed".into(),
                by: user("owner"),
                at: UnixMillis(1),
            })
        };
        let answer = |rid: &str, by: &str, role, verdict| {
            LogEntry::DueChange(DueChange::Answer {
                id: entry(&format!("{rid}-{by}")),
                request_id: entry(rid),
                verdict,
                note: String::new(),
                by: user(by),
                role,
                at: UnixMillis(2),
            })
        };
        plan.append(&mut txn, &id, &request("r1")).unwrap();
        plan.append(
            &mut txn,
            &id,
            &answer("r1", "owner", Role::Lead, DueChangeVerdict::Approved),
        )
        .unwrap();
        plan.append(
            &mut txn,
            &id,
            &answer(
                "r1",
                "someone",
                Role::Contributor,
                DueChangeVerdict::Approved,
            ),
        )
        .unwrap();
        let view = plan.read_action(&txn, &id).unwrap();
        assert_eq!(
            view.due_current, view.due_original,
            "self-approval and non-leads do not count"
        );
        plan.append(
            &mut txn,
            &id,
            &answer("r1", "lead", Role::Lead, DueChangeVerdict::Approved),
        )
        .unwrap();
        plan.append(
            &mut txn,
            &id,
            &answer("r1", "lead2", Role::Lead, DueChangeVerdict::Declined),
        )
        .unwrap();
        let view = plan.read_action(&txn, &id).unwrap();
        assert_eq!(view.due_current, Some(new_due));
        assert_eq!(
            view.due_original,
            Some(Date::from_ymd(2023, 4, 28).unwrap())
        );
        assert_eq!(view.due_requests.len(), 1);
        assert_eq!(
            view.due_requests[0].answer.as_ref().map(|a| a.0),
            Some(DueChangeVerdict::Approved)
        );
        assert!(view.is_overdue(Date::from_ymd(2023, 10, 1).unwrap()));
        assert!(!view.is_overdue(Date::from_ymd(2023, 9, 30).unwrap()));
    }

    #[test]
    fn a_failed_re_audit_needs_a_reason() {
        let plan = plan_with_action(1);
        let id = action_id();
        let mut txn = plan.doc().transact_mut();
        let scheduled = LogEntry::Sustainment(Sustainment::Scheduled {
            id: entry("c1"),
            due: Date::from_ymd(2023, 7, 1).unwrap(),
            by: user("forum"),
            at: UnixMillis(1),
        });
        let result = |note: &str| {
            LogEntry::Sustainment(Sustainment::Result {
                id: entry("c1-r"),
                check_id: entry("c1"),
                outcome: CheckOutcome::Failed,
                note: note.into(),
                method: Some(crate::vocab::ReauditMethod::RecordsAudit),
                sample: "10 records".into(),
                by: user("validator"),
                at: UnixMillis(2),
            })
        };
        plan.append(&mut txn, &id, &scheduled).unwrap();
        plan.append(&mut txn, &id, &result("  ")).unwrap();
        assert_eq!(
            plan.read_action(&txn, &id).unwrap().sustainment_checks[0].result,
            None
        );
        plan.append(&mut txn, &id, &result("3 of 10 records incomplete"))
            .unwrap();
        let check = &plan.read_action(&txn, &id).unwrap().sustainment_checks[0];
        assert_eq!(
            check.result.as_ref().map(|r| r.0),
            Some(CheckOutcome::Failed)
        );
    }

    #[test]
    fn garbage_from_a_peer_is_reported_and_skipped() {
        let plan = plan_with_action(1);
        let id = action_id();
        let mut txn = plan.doc().transact_mut();
        let map = plan.action_map(&txn, &id).unwrap();
        let log = array_ref(&map, &txn, Log::Transitions.key()).unwrap();
        log.push_back(&mut txn, "not a transition");
        map.insert(&mut txn, "confidence", "very");
        plan.actions.insert(&mut txn, "bad id!", "x");
        let view = plan.read(&txn);
        assert_eq!(view.actions.len(), 1);
        assert_eq!(view.actions[&id].transitions, vec![]);
        assert_eq!(view.actions[&id].confidence, None);
        let paths: Vec<_> = view.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "actions/a-md001/confidence",
                "actions/a-md001/transitions[0]",
                "actions/bad id!"
            ]
        );
    }
}
