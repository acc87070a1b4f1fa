//! Properties of the lifecycle fold, checked with proptest:
//!
//! - no transition the lifecycle table forbids ever takes effect, and every
//!   one it allows does (against an oracle written out here again from the
//!   table at the top of `shared/src/lifecycle.rs`, not from its code);
//! - peers that append transitions to the same action concurrently and then
//!   exchange their updates in any order read the same action and the same
//!   fold.
//!
//! Failing cases are saved under `shared/proptest-regressions/`.

#![cfg(not(target_arch = "wasm32"))]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plait_shared::{
    fold_status, new_doc_with_client_id, ActionField, ActionId, Assurance, CheckOutcome, Date,
    Decision, DecisionOutcome, EntryId, Evidence, EvidenceKind, EvidenceReview, EvidenceVerdict,
    FoldFacts, LogEntry, NewAction, PlanDoc, Role, Status, Step, Sustainment, Transition,
    UnixMillis, UserId,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Transact, Update};

/// Where failing cases are kept, next to the crate's sources.
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/proptest-regressions/properties.txt"
);

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..Config::default()
    }
}

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

const NOTES: [&str; 3] = ["", "   ", "photo does not show the ward"];

// ---------------------------------------------------------------------------
// The oracle: the lifecycle table, written out again.
// ---------------------------------------------------------------------------

/// Who the table lets take a step.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// "executive lead or programme manager"
    LeadOrAdmin,
    /// "the executive lead"
    Lead,
    /// "the owner" (acting in any role but viewer, who only reads)
    Owner,
    /// "a validator who is not the owner"
    ValidatorNotOwner,
    /// "an approver"
    Approver,
    /// "a validator or an approver"
    ValidatorOrApprover,
    /// "a validator who is not the owner, or the programme manager"
    ValidatorNotOwnerOrAdmin,
    /// "the programme manager or an approver"
    AdminOrApprover,
}

/// What else the step needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Needs {
    Nothing,
    /// "evidence attached"
    Evidence,
    /// "with a note"
    Note,
    /// "with an unused approve-closure decision"
    ClosureDecision,
    /// "with an unused passed re-audit"
    PassedCheck,
    /// "evidence attached, a piece of it accepted, an assurance level set"
    AcceptedEvidence,
}

use Status::{
    Agreed, Closed, CompletionProposed, Draft, Embedded, Endorsed, EvidenceAccepted, Imported,
    InProgress, Reopened,
};

/// Every step of the table that is not a baseline.
const TABLE: [(Status, Status, Who, Needs); 18] = [
    (
        CompletionProposed,
        Endorsed,
        Who::LeadOrAdmin,
        Needs::Evidence,
    ),
    (CompletionProposed, InProgress, Who::Lead, Needs::Note),
    (
        Endorsed,
        EvidenceAccepted,
        Who::ValidatorNotOwner,
        Needs::AcceptedEvidence,
    ),
    (Endorsed, InProgress, Who::ValidatorNotOwner, Needs::Note),
    (
        Imported,
        EvidenceAccepted,
        Who::ValidatorNotOwner,
        Needs::AcceptedEvidence,
    ),
    (
        Imported,
        InProgress,
        Who::ValidatorNotOwnerOrAdmin,
        Needs::Note,
    ),
    (
        Imported,
        Closed,
        Who::AdminOrApprover,
        Needs::ClosureDecision,
    ),
    (Draft, Agreed, Who::LeadOrAdmin, Needs::Nothing),
    (Agreed, InProgress, Who::Owner, Needs::Nothing),
    (Reopened, InProgress, Who::Owner, Needs::Nothing),
    (InProgress, CompletionProposed, Who::Owner, Needs::Evidence),
    (
        CompletionProposed,
        EvidenceAccepted,
        Who::ValidatorNotOwner,
        Needs::AcceptedEvidence,
    ),
    (
        CompletionProposed,
        InProgress,
        Who::ValidatorNotOwner,
        Needs::Note,
    ),
    (
        EvidenceAccepted,
        Closed,
        Who::Approver,
        Needs::ClosureDecision,
    ),
    (EvidenceAccepted, InProgress, Who::Approver, Needs::Note),
    (Closed, Embedded, Who::ValidatorNotOwner, Needs::PassedCheck),
    (Closed, Reopened, Who::ValidatorOrApprover, Needs::Note),
    (Embedded, Reopened, Who::ValidatorOrApprover, Needs::Note),
];

/// The action's facts, as the fold is given them.
#[derive(Debug, Clone)]
struct Facts {
    owner: Option<UserId>,
    has_evidence: bool,
    /// A piece of evidence stands accepted and an assurance level is set.
    accepted_and_assured: bool,
    closure_decisions: usize,
    passed_checks: usize,
}

impl Facts {
    fn fold(&self) -> FoldFacts<'_> {
        FoldFacts {
            owner: self.owner.as_ref(),
            has_evidence: self.has_evidence,
            accepted_evidence: self.accepted_and_assured,
            assured: self.accepted_and_assured,
            closure_decisions: self.closure_decisions,
            passed_checks: self.passed_checks,
        }
    }
}

/// What the oracle has seen of the log so far.
#[derive(Debug)]
struct Oracle<'a> {
    facts: &'a Facts,
    status: Status,
    applied: usize,
    /// Closures that used a decision (a baseline carries a status in
    /// without one).
    closures: usize,
    embeddings: usize,
}

impl<'a> Oracle<'a> {
    fn new(facts: &'a Facts) -> Self {
        Oracle {
            facts,
            status: Draft,
            applied: 0,
            closures: 0,
            embeddings: 0,
        }
    }

    /// Whether the table allows `t` now, and if not, why.
    fn allows(&self, t: &Transition) -> Result<(), String> {
        let is_owner = self.facts.owner.as_ref() == Some(&t.by);
        if t.baseline {
            return if self.applied > 0 {
                Err("a baseline after the first applied step".into())
            } else if t.role != Role::Admin {
                Err(format!("a baseline by {:?}", t.role))
            } else if t.to == Draft {
                Err("a baseline to draft".into())
            } else {
                Ok(())
            };
        }
        let rows: Vec<(Who, Needs)> = TABLE
            .iter()
            .filter(|(from, to, ..)| *from == self.status && *to == t.to)
            .map(|&(_, _, who, needs)| (who, needs))
            .collect();
        if rows.is_empty() {
            return Err(format!("no step {:?} -> {:?}", self.status, t.to));
        }
        // Allowed when one of the table's rows for the step allows it.
        let mut first = None;
        for (who, needs) in rows {
            match self.row_allows(t, is_owner, who, needs) {
                Ok(()) => return Ok(()),
                Err(why) => {
                    first.get_or_insert(why);
                }
            }
        }
        Err(first.unwrap_or_default())
    }

    fn row_allows(
        &self,
        t: &Transition,
        is_owner: bool,
        who: Who,
        needs: Needs,
    ) -> Result<(), String> {
        let who_ok = match who {
            Who::LeadOrAdmin => matches!(t.role, Role::Lead | Role::Admin),
            Who::Lead => t.role == Role::Lead,
            Who::Owner => is_owner && t.role != Role::Viewer,
            Who::ValidatorNotOwner => t.role == Role::Validator && !is_owner,
            Who::Approver => t.role == Role::Approver,
            Who::ValidatorOrApprover => matches!(t.role, Role::Validator | Role::Approver),
            Who::ValidatorNotOwnerOrAdmin => {
                (t.role == Role::Validator && !is_owner) || t.role == Role::Admin
            }
            Who::AdminOrApprover => matches!(t.role, Role::Admin | Role::Approver),
        };
        if !who_ok {
            return Err(format!("{who:?} may not be {} as {:?}", t.by, t.role));
        }
        let needs_ok = match needs {
            Needs::Nothing => true,
            Needs::Evidence => self.facts.has_evidence,
            Needs::Note => !t.note.trim().is_empty(),
            Needs::ClosureDecision => self.closures < self.facts.closure_decisions,
            Needs::PassedCheck => self.embeddings < self.facts.passed_checks,
            Needs::AcceptedEvidence => self.facts.has_evidence && self.facts.accepted_and_assured,
        };
        if !needs_ok {
            return Err(format!("{needs:?} is missing"));
        }
        Ok(())
    }

    fn apply(&mut self, t: &Transition) {
        self.status = lands(t);
        self.applied += 1;
        if !t.baseline {
            self.closures += usize::from(t.to == Closed);
            self.embeddings += usize::from(t.to == Embedded);
        }
    }
}

/// Where an applied transition leads: a baseline past "in progress" is an
/// import's claim, which lands on imported, awaiting validation.
fn lands(t: &Transition) -> Status {
    let claim = matches!(
        t.to,
        CompletionProposed | Endorsed | EvidenceAccepted | Closed | Embedded | Imported
    );
    if t.baseline && claim {
        Imported
    } else {
        t.to
    }
}

/// Checks a fold of `log` step by step against the oracle. Returns the
/// statuses the oracle reached, for the coverage check.
fn check_fold(log: &[Transition], facts: &Facts) -> Result<Vec<Status>, TestCaseError> {
    let fold = fold_status(log, &facts.fold());
    prop_assert_eq!(fold.steps.len(), log.len(), "one step per transition");
    let mut oracle = Oracle::new(facts);
    let mut reached = vec![Draft];
    for (i, (step, t)) in fold.steps.iter().zip(log).enumerate() {
        let verdict = oracle.allows(t);
        match step {
            Step::Applied { index, from, to } => {
                prop_assert_eq!(*index, i);
                prop_assert_eq!(
                    *from,
                    oracle.status,
                    "step {} starts from the wrong status",
                    i
                );
                prop_assert_eq!(*to, lands(t), "step {} applied another status", i);
                if let Err(why) = verdict {
                    return Err(TestCaseError::fail(format!(
                        "step {i} {t:?} was applied but the table forbids it: {why}"
                    )));
                }
                oracle.apply(t);
                reached.push(oracle.status);
            }
            Step::Superseded {
                index,
                from,
                reason,
            } => {
                prop_assert_eq!(*index, i);
                prop_assert_eq!(
                    *from,
                    oracle.status,
                    "superseded step {} met the wrong status",
                    i
                );
                prop_assert!(
                    verdict.is_err(),
                    "step {} {:?} was superseded ({}) but the table allows it",
                    i,
                    t,
                    reason
                );
            }
        }
    }
    // The status is that of the last applied step (superseded ones change
    // nothing), or draft.
    let last_applied = fold.steps.iter().rev().find_map(|step| match step {
        Step::Applied { to, .. } => Some(*to),
        Step::Superseded { .. } => None,
    });
    prop_assert_eq!(fold.status, last_applied.unwrap_or(Draft));
    prop_assert_eq!(fold.status, oracle.status);
    Ok(reached)
}

// ---------------------------------------------------------------------------
// Generating logs.
// ---------------------------------------------------------------------------

/// The usual journey, which the generator follows most of the time so the
/// logs get far; after reopened it goes back to in progress.
const JOURNEY: [Status; 8] = [
    Agreed,
    InProgress,
    CompletionProposed,
    Endorsed,
    EvidenceAccepted,
    Closed,
    Embedded,
    Reopened,
];

/// One random draw, turned into a transition by [`build_log`].
#[derive(Debug, Clone)]
struct Draw {
    kind: u8,
    to: Status,
    role: Role,
    actor: usize,
    note: usize,
    baseline: bool,
}

fn draw() -> impl Strategy<Value = Draw> {
    (
        0u8..20,
        select(Status::ALL),
        select(Role::ALL),
        0usize..4,
        0usize..NOTES.len(),
        prop::bool::weighted(0.04),
    )
        .prop_map(|(kind, to, role, actor, note, baseline)| Draw {
            kind,
            to,
            role,
            actor,
            note,
            baseline,
        })
}

fn facts() -> impl Strategy<Value = Facts> {
    (
        prop_oneof![
            8 => Just(Some(user("owner-1"))),
            1 => Just(Some(user("validator-1"))),
            1 => Just(None),
        ],
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.8),
        0usize..3,
        0usize..3,
    )
        .prop_map(
            |(owner, has_evidence, accepted, closure_decisions, passed_checks)| Facts {
                owner,
                has_evidence,
                // Accepted evidence is evidence.
                accepted_and_assured: has_evidence && accepted,
                closure_decisions,
                passed_checks,
            },
        )
}

/// Turns draws into a log: mostly the next step of the journey by the
/// person who would take it, sometimes with one detail wrong, sometimes a
/// return, sometimes anything at all, rarely a baseline.
fn build_log(facts: &Facts, draws: &[Draw], at: i64) -> Vec<Transition> {
    let owner = facts.owner.clone().unwrap_or_else(|| user("owner-1"));
    let actors = [
        owner.clone(),
        user("validator-1"),
        user("lead-1"),
        user("forum-1"),
    ];
    let mut next = 0;
    let mut log = Vec::with_capacity(draws.len());
    for (i, d) in draws.iter().enumerate() {
        let make = |to, by: &UserId, role, note: &str, baseline| Transition {
            to,
            by: by.clone(),
            role,
            at: UnixMillis(at + i as i64),
            note: note.to_owned(),
            baseline,
        };
        let expected = JOURNEY[next];
        let canonical = |to: Status| match to {
            Agreed | Endorsed => (user("lead-1"), Role::Lead, ""),
            InProgress | CompletionProposed => (owner.clone(), Role::Contributor, ""),
            EvidenceAccepted | Embedded => (user("validator-1"), Role::Validator, ""),
            Closed => (user("forum-1"), Role::Approver, ""),
            Reopened => (user("forum-1"), Role::Approver, NOTES[2]),
            Draft | Imported => (user("admin-1"), Role::Admin, ""),
        };
        let t = if d.baseline {
            let role = if d.kind % 2 == 0 { Role::Admin } else { d.role };
            next = JOURNEY.iter().position(|s| *s == d.to).unwrap_or(0);
            next = (next + 1) % JOURNEY.len();
            if lands(&make(d.to, &user("admin-1"), role, "", true)) == Imported {
                // A claim: the validator confirms it next.
                next = 4;
            }
            make(d.to, &user("admin-1"), role, NOTES[d.note], true)
        } else if d.kind < 15 {
            let (mut by, mut role, mut note) = canonical(expected);
            match d.kind {
                12 => by = actors[d.actor].clone(),
                13 => role = d.role,
                14 => note = NOTES[d.note],
                _ => {}
            }
            next = if expected == Reopened { 1 } else { next + 1 };
            make(expected, &by, role, note, false)
        } else if d.kind < 17 && matches!(expected, EvidenceAccepted | Closed) {
            // Send it back: the validator (before acceptance) or the forum
            // (before closure), with a note or not.
            let (by, role) = if expected == EvidenceAccepted {
                (user("validator-1"), Role::Validator)
            } else {
                (user("forum-1"), Role::Approver)
            };
            next = 2;
            make(InProgress, &by, role, NOTES[d.note], false)
        } else {
            make(d.to, &actors[d.actor], d.role, NOTES[d.note], false)
        };
        log.push(t);
    }
    log
}

/// An import's starting status, as the first transition of some logs: by
/// the programme manager mostly, by someone else sometimes.
fn opening_baseline() -> impl Strategy<Value = Option<Draw>> {
    let baseline = (
        select(JOURNEY.as_slice()),
        prop::bool::weighted(0.8),
        select(Role::ALL),
    )
        .prop_map(|(to, by_admin, role)| Draw {
            kind: if by_admin { 0 } else { 1 },
            to,
            role,
            actor: 0,
            note: 0,
            baseline: true,
        });
    prop::option::weighted(0.15, baseline)
}

fn log_case() -> impl Strategy<Value = (Facts, Vec<Transition>)> {
    (
        facts(),
        opening_baseline(),
        prop::collection::vec(draw(), 0..30),
    )
        .prop_map(|(facts, opening, draws)| {
            let draws: Vec<Draw> = opening.into_iter().chain(draws).collect();
            let log = build_log(&facts, &draws, 0);
            (facts, log)
        })
}

proptest! {
    #![proptest_config(config(512))]

    /// No disallowed transition ever takes effect, every allowed one does,
    /// and superseded ones leave the status as it was.
    #[test]
    fn no_disallowed_transition_ever_takes_effect((facts, log) in log_case()) {
        check_fold(&log, &facts)?;
    }
}

/// The generator must reach the interesting parts of the table, or the
/// property above proves little.
#[test]
fn the_log_generator_reaches_every_status() {
    let mut runner = TestRunner::deterministic();
    let strategy = log_case();
    let mut reached = std::collections::BTreeMap::<Status, usize>::new();
    let mut baselines = 0;
    let mut closed_after_baseline = 0;
    let mut reclosed = 0;
    for _ in 0..512 {
        let (facts, log) = strategy.new_tree(&mut runner).unwrap().current();
        let statuses = check_fold(&log, &facts).unwrap();
        for status in &statuses {
            *reached.entry(*status).or_default() += 1;
        }
        let fold = fold_status(&log, &facts.fold());
        let baseline = fold
            .steps
            .iter()
            .zip(&log)
            .any(|(step, t)| t.baseline && matches!(step, Step::Applied { .. }));
        baselines += usize::from(baseline);
        let mut closures =
            fold.steps.iter().zip(&log).filter(|(step, t)| {
                !t.baseline && matches!(step, Step::Applied { to: Closed, .. })
            });
        closed_after_baseline += usize::from(baseline && closures.next().is_some());
        reclosed += usize::from(statuses.iter().filter(|s| **s == Closed).count() > 1);
    }
    for status in Status::ALL {
        let count = reached.get(status).copied().unwrap_or(0);
        assert!(
            count >= 10,
            "{status:?} reached in only {count} logs: {reached:?}"
        );
    }
    eprintln!("COVERAGE {reached:?} baselines {baselines} closed_after_baseline {closed_after_baseline} reclosed {reclosed}");
    assert!(baselines >= 20, "only {baselines} logs applied a baseline");
    assert!(
        closed_after_baseline >= 3,
        "only {closed_after_baseline} logs closed an imported action"
    );
    assert!(reclosed >= 5, "only {reclosed} logs closed twice");
}

// ---------------------------------------------------------------------------
// Concurrent appends.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Concurrent {
    facts: Facts,
    /// Each peer's batch, appended one transaction per transition.
    batches: Vec<Vec<Transition>>,
    /// For each peer, the order in which it receives all the updates.
    orders: Vec<Vec<usize>>,
}

fn concurrent_case() -> impl Strategy<Value = Concurrent> {
    (
        facts(),
        prop::collection::vec(prop::collection::vec(draw(), 0..8), 2..=4),
    )
        .prop_flat_map(|(facts, draws)| {
            let batches: Vec<Vec<Transition>> = draws
                .iter()
                .enumerate()
                .map(|(peer, draws)| build_log(&facts, draws, 1000 * peer as i64))
                .collect();
            let total = batches.iter().map(Vec::len).sum::<usize>();
            let order = Just((0..total).collect::<Vec<usize>>()).prop_shuffle();
            let orders = prop::collection::vec(order, batches.len());
            (Just(facts), Just(batches), orders)
        })
        .prop_map(|(facts, batches, orders)| Concurrent {
            facts,
            batches,
            orders,
        })
}

fn apply(doc: &yrs::Doc, update: &[u8]) {
    doc.transact_mut()
        .apply_update(Update::decode_v1(update).unwrap())
        .unwrap();
}

/// The action every peer starts from, with the case's owner and facts.
fn common_state(id: &ActionId, facts: &Facts) -> Vec<u8> {
    let plan = PlanDoc::new(new_doc_with_client_id(100));
    let mut txn = plan.doc().transact_mut();
    let action = NewAction {
        reference: "MD001".into(),
        title: "Ligature risk assessments on every ward".into(),
        description: String::new(),
        finding_ids: vec![],
        workstream_id: None,
        phase_id: None,
        exec_lead: "Chief Nurse".into(),
        owner: facts.owner.clone(),
        due: None,
        confidence: None,
        closure_criteria: String::new(),
    };
    plan.add_action(&mut txn, id, &action).unwrap();
    let at = UnixMillis(1_700_000_000_000);
    let entry = |n: usize| EntryId::new(format!("e-{n}")).unwrap();
    let day = Date::from_ymd(2024, 5, 1).unwrap();
    let mut entries = Vec::new();
    if facts.has_evidence {
        entries.push(LogEntry::Evidence(Evidence {
            id: entry(0),
            kind: EvidenceKind::Note,
            title: "Audit".into(),
            location: String::new(),
            evidence_type: None,
            period_from: None,
            period_to: None,
            site: String::new(),
            piece: None,
            by: user("owner-1"),
            at,
        }));
    }
    for n in 0..facts.closure_decisions {
        entries.push(LogEntry::Decision(Decision {
            id: entry(10 + n),
            forum: "Quality and Safety Committee".into(),
            meeting_date: day,
            outcome: DecisionOutcome::ApproveClosure,
            minute_ref: format!("QSC/{n}"),
            note: String::new(),
            by: user("forum-1"),
            at,
            meeting: None,
        }));
    }
    if facts.accepted_and_assured {
        entries.push(LogEntry::EvidenceReview(EvidenceReview {
            id: entry(1),
            evidence_id: entry(0),
            verdict: EvidenceVerdict::Accepted,
            assurance: Some(Assurance::Reasonable),
            note: String::new(),
            by: user("validator-1"),
            at,
        }));
    }
    // Each check scheduled by a closure of its own (its last re-audit).
    for n in 0..facts.passed_checks {
        entries.push(LogEntry::Sustainment(Sustainment::Scheduled {
            id: entry(20 + n),
            due: day,
            by: user("validator-1"),
            at: UnixMillis(at.0 + n as i64),
        }));
        entries.push(LogEntry::Sustainment(Sustainment::Result {
            id: entry(30 + n),
            check_id: entry(20 + n),
            outcome: CheckOutcome::Passed,
            note: String::new(),
            method: Some(plait_shared::ReauditMethod::RecordsAudit),
            sample: "10 records".into(),
            by: user("validator-1"),
            at,
        }));
    }
    for e in &entries {
        plan.append(&mut txn, id, e).unwrap();
    }
    if facts.accepted_and_assured {
        plan.set_action_field(
            &mut txn,
            id,
            &ActionField::Assurance(Some(Assurance::Reasonable)),
        )
        .unwrap();
    }
    drop(txn);
    let update = plan
        .doc()
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    update
}

/// Whether `part` appears in `whole` in order (not necessarily adjacent).
fn is_subsequence(part: &[Transition], whole: &[Transition]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|t| rest.any(|w| w == t))
}

proptest! {
    #![proptest_config(config(256))]

    /// Peers that append transitions concurrently and receive each other's
    /// updates in different orders read the same action and the same fold,
    /// and that fold is the fold of the merged log.
    #[test]
    fn the_fold_is_the_same_on_every_peer(case in concurrent_case()) {
        let Concurrent { facts, batches, orders } = case;
        let id = ActionId::new("a-md001").unwrap();
        let common = common_state(&id, &facts);
        let peers: Vec<PlanDoc> = (0..batches.len())
            .map(|i| {
                let plan = PlanDoc::new(new_doc_with_client_id(i as u64 + 1));
                apply(plan.doc(), &common);
                plan
            })
            .collect();
        // Each peer appends its batch, one transaction per transition.
        let mut updates: Vec<Vec<u8>> = Vec::new();
        for (plan, batch) in peers.iter().zip(&batches) {
            for t in batch {
                let before = plan.doc().transact().state_vector();
                plan.append(&mut plan.doc().transact_mut(), &id, &LogEntry::Transition(t.clone()))
                    .unwrap();
                updates.push(plan.doc().transact().encode_state_as_update_v1(&before));
            }
        }
        // Every peer receives every update (its own too), in its own order.
        for (plan, order) in peers.iter().zip(&orders) {
            for &u in order {
                apply(plan.doc(), &updates[u]);
            }
        }
        let views: Vec<_> = peers
            .iter()
            .map(|plan| {
                let txn = plan.doc().transact();
                (txn.has_missing_updates(), plan.read_action(&txn, &id).unwrap())
            })
            .collect();
        let reference = &views[0].1;
        for (i, (missing, view)) in views.iter().enumerate() {
            prop_assert!(!missing, "peer {} waits for updates", i);
            prop_assert_eq!(view, reference, "peer {} reads the action differently", i);
        }
        let merged = &reference.transitions;
        prop_assert_eq!(merged.len(), batches.iter().map(Vec::len).sum::<usize>());
        for (i, batch) in batches.iter().enumerate() {
            prop_assert!(
                is_subsequence(batch, merged),
                "peer {}'s transitions are not in the merged log in their order",
                i
            );
        }
        let expected = fold_status(merged, &facts.fold());
        prop_assert_eq!(&reference.fold, &expected);
        check_fold(merged, &facts)?;
    }
}
