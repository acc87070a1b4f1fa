//! Seeded convergence scenarios, in the spirit of yrs's `run_scenario`: three
//! to five peers start from the same plan, make random edits (fields, texts
//! with non-ASCII and surrogate pairs, transitions and the other logs) while
//! some of them are offline, exchange their updates in random orders with
//! duplicates and gaps, and must end with the same plan once everything has
//! been delivered. (A peer that yrs 0.28.1 leaves stuck with pending updates
//! even then is resynced by state vector first, as a sync protocol would on
//! reconnecting; see `yrs_integrates_updates_delivered_once_in_any_order`.)
//!
//! Every assertion names the seed. On the host, set `CONVERGENCE_SEED=<n>` to
//! run that seed alone.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use fastrand::Rng;
use plait_shared::{
    new_doc_with_client_id, ActionField, ActionId, ActionText, ActionView, Assurance, CheckOutcome,
    Confidence, Date, Decision, DecisionOutcome, DueChange, DueChangeVerdict, EntryId, Evidence,
    EvidenceKind, EvidenceReview, EvidenceType, EvidenceVerdict, FindingId, FindingKind,
    KeyQuestion, LogEntry, NewAction, NewFinding, PhaseId, PlanDoc, PlanInfo, ProgressUpdate,
    ReauditMethod, Regulation, Role, Status, Step, Sustainment, TextEdit, Transition, UnixMillis,
    UserId, WorkstreamId, WriteError,
};
use yrs::updates::decoder::Decode;
use yrs::{Origin, ReadTxn, StateVector, Transact, TransactionMut, Update};

#[cfg(not(target_arch = "wasm32"))]
const CASES: u64 = 1000;
#[cfg(target_arch = "wasm32")]
const CASES: u64 = 200;

/// The origin of transactions that apply other peers' updates; the update
/// observer skips them so an outbox only holds the peer's own changes.
const REMOTE: &str = "remote";
/// The key of each peer's update observer.
const OUTBOX: &str = "outbox";

/// Pieces inserted into texts: ASCII, a two-byte letter, a surrogate pair.
const PIECES: [&str; 7] = ["a", "ward ", "é", "🏥", "Ω", "café ", "🏥é"];

const USERS: [&str; 5] = ["owner-1", "owner-2", "validator-1", "lead-1", "forum-1"];

/// The logs whose entry counts the final state must show exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Log {
    Transitions,
    Updates,
    Evidence,
    EvidenceReviews,
    Decisions,
    DueRequests,
    SustainmentChecks,
}

impl Log {
    const ALL: [Log; 7] = [
        Log::Transitions,
        Log::Updates,
        Log::Evidence,
        Log::EvidenceReviews,
        Log::Decisions,
        Log::DueRequests,
        Log::SustainmentChecks,
    ];

    /// How many entries of this log the view shows.
    fn count(self, view: &ActionView) -> usize {
        match self {
            Log::Transitions => view.transitions.len(),
            Log::Updates => view.updates.len(),
            Log::Evidence => view.evidence.len(),
            Log::EvidenceReviews => view.evidence_reviews.len(),
            Log::Decisions => view.decisions.len(),
            Log::DueRequests => view.due_requests.len(),
            Log::SustainmentChecks => view.sustainment_checks.len(),
        }
    }

    /// The log an entry lands in, when the view counts every such entry.
    fn of(entry: &LogEntry) -> Option<Log> {
        match entry {
            LogEntry::Transition(_) => Some(Log::Transitions),
            LogEntry::Progress(_) => Some(Log::Updates),
            LogEntry::Evidence(_) => Some(Log::Evidence),
            LogEntry::EvidenceReview(_) => Some(Log::EvidenceReviews),
            LogEntry::Decision(_) => Some(Log::Decisions),
            LogEntry::DueChange(DueChange::Request { .. }) => Some(Log::DueRequests),
            // (A wording request is the due-date log's too; the view
            // counts it with its own kind.)
            LogEntry::DueChange(DueChange::Wording { .. }) => None,
            LogEntry::Sustainment(Sustainment::Scheduled { .. }) => Some(Log::SustainmentChecks),
            // Answers and results are folded into their request or check.
            LogEntry::DueChange(DueChange::Answer { .. })
            | LogEntry::Sustainment(Sustainment::Result { .. }) => None,
        }
    }
}

/// The text a random edit goes to.
enum TextTarget {
    Action(ActionId, ActionText),
    Finding(FindingId),
}

struct Peer {
    plan: PlanDoc,
    /// Every update this peer made, in the order it made them.
    outbox: Arc<Mutex<Vec<Vec<u8>>>>,
    /// (sender, index in the sender's outbox) of every update applied here.
    received: HashSet<(usize, usize)>,
    online: bool,
    /// For unique entry ids.
    entries: u32,
}

struct Sim {
    seed: u64,
    rng: Rng,
    peers: Vec<Peer>,
    actions: Vec<ActionId>,
    findings: Vec<FindingId>,
    /// Entries appended to each log of each action, by any peer.
    appended: BTreeMap<(ActionId, Log), usize>,
    step: i64,
    coverage: Coverage,
}

/// What the scenarios exercised, summed over all seeds, so a generator that
/// stopped reaching the interesting cases fails the test.
#[derive(Debug, Default)]
struct Coverage {
    /// Peers that held updates with missing dependencies after an exchange.
    gaps: usize,
    /// Transitions that the merged fold superseded.
    superseded: usize,
    /// Merged actions that reached closed or embedded.
    closed: usize,
    /// Merged actions that reached embedded.
    embedded: usize,
    /// Texts in the merged plans holding a surrogate pair.
    surrogate_texts: usize,
    /// Peers that needed a state-vector resync after every update had been
    /// delivered (the yrs bug); not asserted, reported.
    resynced: usize,
}

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn date(rng: &mut Rng) -> Date {
    Date::from_ymd(rng.i32(2023..=2026), rng.u8(1..=12), rng.u8(1..=28)).unwrap()
}

fn random_text(rng: &mut Rng, max_pieces: usize) -> String {
    (0..rng.usize(0..=max_pieces))
        .map(|_| PIECES[rng.usize(0..PIECES.len())])
        .collect()
}

/// The UTF-16 offsets between characters, 0 and the length included.
fn boundaries(text: &str) -> Vec<u32> {
    let mut at = 0u32;
    let mut out = vec![0];
    for c in text.chars() {
        at += c.len_utf16() as u32;
        out.push(at);
    }
    out
}

/// What a splice must produce, computed on UTF-16 independently of yrs.
fn splice_utf16(text: &str, edit: &TextEdit) -> String {
    let mut units: Vec<u16> = text.encode_utf16().collect();
    let (from, to) = (edit.index as usize, (edit.index + edit.delete) as usize);
    units.splice(from..to, edit.insert.encode_utf16());
    String::from_utf16(&units).unwrap()
}

fn random_edit(rng: &mut Rng, text: &str) -> TextEdit {
    let bounds = boundaries(text);
    let start = rng.usize(0..bounds.len());
    let end = if rng.bool() {
        start
    } else {
        (start + rng.usize(1..=4)).min(bounds.len() - 1)
    };
    let mut insert = random_text(rng, 3);
    if start == end && insert.is_empty() {
        insert.push('é');
    }
    TextEdit {
        index: bounds[start],
        delete: bounds[end] - bounds[start],
        insert,
    }
}

/// An edit that starts or ends inside a surrogate pair, or runs past the
/// end: it must be refused.
fn invalid_edit(rng: &mut Rng, text: &str) -> TextEdit {
    let len = text.encode_utf16().count() as u32;
    let mut inside_pairs = Vec::new();
    let mut at = 0u32;
    for c in text.chars() {
        if c.len_utf16() == 2 {
            inside_pairs.push(at + 1);
        }
        at += c.len_utf16() as u32;
    }
    if !inside_pairs.is_empty() && rng.bool() {
        let middle = inside_pairs[rng.usize(0..inside_pairs.len())];
        if rng.bool() {
            TextEdit {
                index: middle,
                delete: 0,
                insert: "x".into(),
            }
        } else {
            // Starts on a boundary, ends inside the pair.
            TextEdit {
                index: middle - 1,
                delete: 1,
                insert: String::new(),
            }
        }
    } else if rng.bool() {
        TextEdit {
            index: len + 1,
            delete: 0,
            insert: "x".into(),
        }
    } else {
        TextEdit {
            index: len.saturating_sub(1),
            delete: 2,
            insert: String::new(),
        }
    }
}

impl Peer {
    fn new(client_id: u64) -> Peer {
        Peer {
            plan: PlanDoc::new(new_doc_with_client_id(client_id)),
            outbox: Arc::new(Mutex::new(Vec::new())),
            received: HashSet::new(),
            online: true,
            entries: 0,
        }
    }

    /// Starts recording this peer's own updates into its outbox.
    fn observe(&self) {
        let outbox = Arc::clone(&self.outbox);
        let remote = Origin::from(REMOTE);
        self.plan
            .doc()
            .observe_update_v1(OUTBOX, move |txn, event| {
                if txn.origin() != Some(&remote) {
                    outbox.lock().unwrap().push(event.update.clone());
                }
            })
            .unwrap();
    }

    /// Applies other peers' updates, each in its own transaction or all in
    /// one. The outbox observer is off meanwhile: it would skip them anyway
    /// (they have the `REMOTE` origin), and yrs would encode each one again
    /// just to hand it to the observer.
    fn receive<'a>(
        &self,
        seed: u64,
        updates: impl IntoIterator<Item = &'a [u8]>,
        one_transaction: bool,
    ) {
        let observed = self.plan.doc().unobserve_update_v1(OUTBOX).unwrap();
        assert!(observed, "seed {seed}: the outbox observer went missing");
        if one_transaction {
            let mut txn = self.plan.doc().transact_mut_with(REMOTE);
            for update in updates {
                apply(seed, &mut txn, update);
            }
        } else {
            for update in updates {
                self.apply(seed, update);
            }
        }
        self.observe();
    }

    fn apply(&self, seed: u64, update: &[u8]) {
        apply(seed, &mut self.plan.doc().transact_mut_with(REMOTE), update);
    }

    fn read_action(&self, id: &ActionId) -> ActionView {
        self.plan
            .read_action(&self.plan.doc().transact(), id)
            .unwrap_or_else(|| panic!("every peer has action {id} from the start"))
    }

    fn entry_id(&mut self, peer: usize) -> EntryId {
        self.entries += 1;
        EntryId::new(format!("p{peer}-e{}", self.entries)).unwrap()
    }
}

fn apply(seed: u64, txn: &mut TransactionMut, update: &[u8]) {
    let update = Update::decode_v1(update)
        .unwrap_or_else(|e| panic!("seed {seed}: an update does not decode: {e}"));
    txn.apply_update(update)
        .unwrap_or_else(|e| panic!("seed {seed}: an update does not apply: {e}"));
}

/// The plan every peer starts from, written on `plan`.
fn initial_plan(rng: &mut Rng, plan: &PlanDoc) -> (Vec<FindingId>, Vec<ActionId>) {
    let mut txn = plan.doc().transact_mut();
    plan.set_info(
        &mut txn,
        &PlanInfo {
            title: "Clinical records and care planning — 🏥".into(),
            programme_id: None,
            workstream_id: Some(WorkstreamId::new("ws-records").unwrap()),
            core_service: "Acute wards".into(),
            location: "Hellesdon".into(),
        },
    );
    let findings: Vec<FindingId> = (0..rng.usize(1..=3))
        .map(|i| {
            let id = FindingId::new(format!("f-{i}")).unwrap();
            let finding = NewFinding {
                reference: format!("MD{i:03}"),
                kind: FindingKind::ALL[rng.usize(0..FindingKind::ALL.len())],
                text: format!("Care plans were not personalised é{}", random_text(rng, 2)),
                regulations: vec![Regulation::number(9).unwrap(), Regulation::twenty_a()],
                key_question: Some(KeyQuestion::ALL[rng.usize(0..KeyQuestion::ALL.len())]),
                core_service: "Acute wards".into(),
                location: String::new(),
                source: "CQC report, March 2022".into(),
                deadline: None,
            };
            plan.add_finding(&mut txn, &id, &finding).unwrap();
            id
        })
        .collect();
    let actions: Vec<ActionId> = (0..rng.usize(3..=6))
        .map(|i| {
            let id = ActionId::new(format!("a-{i}")).unwrap();
            let action = NewAction {
                reference: format!("MD{i:03}.1"),
                title: format!("Audit care plans 🏥 {}", random_text(rng, 2)),
                description: random_text(rng, 4),
                finding_ids: vec![findings[rng.usize(0..findings.len())].clone()],
                workstream_id: None,
                phase_id: None,
                exec_lead: "Chief Nurse".into(),
                owner: Some(user(&format!("owner-{}", rng.usize(1..=2)))),
                due: rng.bool().then(|| date(rng)),
                confidence: None,
                closure_criteria: "Re-audit shows 95% compliance".into(),
            };
            plan.add_action(&mut txn, &id, &action).unwrap();
            id
        })
        .collect();
    (findings, actions)
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut rng = Rng::with_seed(seed);
        let peers: Vec<Peer> = (0..rng.usize(3..=5))
            .map(|i| Peer::new(i as u64 + 1))
            .collect();
        let (findings, actions) = initial_plan(&mut rng, &peers[0].plan);
        let initial = peers[0]
            .plan
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        for peer in &peers[1..] {
            peer.apply(seed, &initial);
        }
        for peer in &peers {
            peer.observe();
        }
        Sim {
            seed,
            rng,
            peers,
            actions,
            findings,
            appended: BTreeMap::new(),
            step: 0,
            coverage: Coverage::default(),
        }
    }

    fn run(&mut self) {
        let steps = self.rng.usize(20..=30);
        for _ in 0..steps {
            self.step += 1;
            // Now and then a peer goes offline or comes back.
            if self.rng.u8(0..100) < 15 {
                let who = self.rng.usize(0..self.peers.len());
                self.peers[who].online = !self.peers[who].online;
            }
            let who = self.rng.usize(0..self.peers.len());
            self.random_op(who);
            if self.rng.u8(0..100) < 35 {
                self.exchange();
            }
        }
        for peer in &mut self.peers {
            peer.online = true;
        }
        self.deliver_everything();
        self.check_converged();
    }

    fn random_op(&mut self, who: usize) {
        match self.rng.u8(0..100) {
            0..20 => self.set_field(who),
            20..45 => self.edit_text(who),
            45..80 => self.transition(who),
            _ => self.other_entry(who),
        }
    }

    /// A random action, the first one more often so that its lifecycle
    /// gets far and sees concurrent moves.
    fn random_action(&mut self) -> ActionId {
        if self.rng.u8(0..10) < 6 {
            self.actions[0].clone()
        } else {
            self.actions[self.rng.usize(0..self.actions.len())].clone()
        }
    }

    fn set_field(&mut self, who: usize) {
        let seed = self.seed;
        let id = self.random_action();
        let rng = &mut self.rng;
        let field = match rng.u8(0..8) {
            0 => ActionField::Confidence(
                rng.bool()
                    .then(|| Confidence::ALL[rng.usize(0..Confidence::ALL.len())]),
            ),
            1 => ActionField::Owner(
                (rng.u8(0..10) > 0).then(|| user(USERS[rng.usize(0..USERS.len())])),
            ),
            2 => ActionField::ExecLead(format!("Chief Nurse {}", random_text(rng, 2))),
            3 => ActionField::Assurance(
                rng.bool()
                    .then(|| Assurance::ALL[rng.usize(0..Assurance::ALL.len())]),
            ),
            4 => ActionField::Reference(format!("MD{:03}", rng.u16(0..1000))),
            5 => ActionField::FindingIds(
                self.findings
                    .iter()
                    .filter(|_| rng.bool())
                    .cloned()
                    .collect(),
            ),
            6 => match rng.u8(0..3) {
                0 => ActionField::Workstream(None),
                1 => ActionField::Workstream(Some(
                    WorkstreamId::new(format!("ws-{}", rng.u8(0..3))).unwrap(),
                )),
                _ => {
                    ActionField::Phase(Some(PhaseId::new(format!("ph-{}", rng.u8(0..3))).unwrap()))
                }
            },
            _ => ActionField::DueOriginal(date(rng)),
        };
        let peer = &self.peers[who];
        let had_due = matches!(field, ActionField::DueOriginal(_))
            && peer.read_action(&id).due_original.is_some();
        let result = {
            let mut txn = peer.plan.doc().transact_mut();
            peer.plan.set_action_field(&mut txn, &id, &field)
        };
        let after = || peer.read_action(&id);
        match (&field, result) {
            (ActionField::DueOriginal(_), Err(WriteError::DueDateAlreadySet)) => {
                assert!(
                    had_due,
                    "seed {seed}: due date refused although none was set"
                );
            }
            (ActionField::DueOriginal(due), Ok(())) => {
                assert!(
                    !had_due,
                    "seed {seed}: a second original due date was accepted"
                );
                assert_eq!(
                    after().due_original,
                    Some(*due),
                    "seed {seed}: due date not written"
                );
            }
            (_, Err(e)) => panic!("seed {seed}: setting {field:?} on {id} failed: {e}"),
            (ActionField::Owner(owner), Ok(())) => {
                assert_eq!(&after().owner, owner, "seed {seed}: owner not written");
            }
            (ActionField::Confidence(c), Ok(())) => {
                assert_eq!(
                    &after().confidence,
                    c,
                    "seed {seed}: confidence not written"
                );
            }
            (ActionField::ExecLead(lead), Ok(())) => {
                assert_eq!(
                    &after().exec_lead,
                    lead,
                    "seed {seed}: exec lead not written"
                );
            }
            (_, Ok(())) => {}
        }
    }

    fn edit_text(&mut self, who: usize) {
        let seed = self.seed;
        let on_finding = self.rng.u8(0..5) == 0;
        let (target, before) = if on_finding {
            let id = self.findings[self.rng.usize(0..self.findings.len())].clone();
            let plan = &self.peers[who].plan;
            let text = plan.read(&plan.doc().transact()).findings[&id].text.clone();
            (TextTarget::Finding(id), text)
        } else {
            let id = self.random_action();
            let which = [
                ActionText::Title,
                ActionText::Description,
                ActionText::ClosureCriteria,
            ][self.rng.usize(0..3)];
            let view = self.peers[who].read_action(&id);
            let text = match which {
                ActionText::Title => view.title,
                ActionText::Description => view.description,
                ActionText::ClosureCriteria => view.closure_criteria,
            };
            (TextTarget::Action(id, which), text)
        };
        let valid = self.rng.u8(0..10) > 0;
        let edit = if valid {
            random_edit(&mut self.rng, &before)
        } else {
            invalid_edit(&mut self.rng, &before)
        };
        let plan = &self.peers[who].plan;
        let result = {
            let mut txn = plan.doc().transact_mut();
            match &target {
                TextTarget::Action(id, which) => plan.edit_action_text(&mut txn, id, *which, &edit),
                TextTarget::Finding(id) => plan.edit_finding_text(&mut txn, id, &edit),
            }
        };
        let after = {
            let txn = plan.doc().transact();
            match &target {
                TextTarget::Action(id, which) => {
                    let view = plan.read_action(&txn, id).unwrap();
                    match which {
                        ActionText::Title => view.title,
                        ActionText::Description => view.description,
                        ActionText::ClosureCriteria => view.closure_criteria,
                    }
                }
                TextTarget::Finding(id) => plan.read(&txn).findings[id].text.clone(),
            }
        };
        if valid {
            assert_eq!(
                result,
                Ok(()),
                "seed {seed}: valid edit {edit:?} of {before:?} refused"
            );
            assert_eq!(
                after,
                splice_utf16(&before, &edit),
                "seed {seed}: edit {edit:?} of {before:?} gave the wrong text"
            );
        } else {
            assert!(
                matches!(result, Err(WriteError::OutOfRange { .. })),
                "seed {seed}: invalid edit {edit:?} of {before:?} gave {result:?}"
            );
            assert_eq!(
                after, before,
                "seed {seed}: a refused edit changed the text"
            );
        }
    }

    fn append(&mut self, who: usize, id: &ActionId, entry: LogEntry) {
        let seed = self.seed;
        let plan = &self.peers[who].plan;
        let result = plan.append(&mut plan.doc().transact_mut(), id, &entry);
        assert_eq!(
            result,
            Ok(()),
            "seed {seed}: appending {entry:?} to {id} failed"
        );
        if let Some(log) = Log::of(&entry) {
            *self.appended.entry((id.clone(), log)).or_default() += 1;
        }
    }

    fn at(&self, who: usize) -> UnixMillis {
        UnixMillis(1_700_000_000_000 + self.step * 60_000 + who as i64)
    }

    fn transition(&mut self, who: usize) {
        let owner_of = |view: &ActionView| view.owner.clone().unwrap_or_else(|| user("owner-1"));
        let id = self.random_action();
        let view = self.peers[who].read_action(&id);
        let owner = view.owner.clone().unwrap_or_else(|| user("owner-1"));
        let at = self.at(who);
        let reason = || "photo does not show ward 3 — é🏥".to_owned();
        let validator = || user("validator-1");
        let forum = || user("forum-1");
        // Mostly the step a real user would take next from what this peer
        // sees, with the evidence, decision or re-audit it needs; otherwise
        // anything at all.
        let plausible = self.rng.u8(0..10) < 8;
        let (to, by, role, note) = if plausible {
            let rng = &mut self.rng;
            match view.status() {
                Status::Draft => (Status::Agreed, user("lead-1"), Role::Lead, String::new()),
                Status::Agreed | Status::Reopened => {
                    (Status::InProgress, owner, Role::Contributor, String::new())
                }
                Status::InProgress => (
                    Status::CompletionProposed,
                    owner,
                    Role::Contributor,
                    String::new(),
                ),
                Status::CompletionProposed if rng.u8(0..5) == 0 => {
                    (Status::InProgress, validator(), Role::Validator, reason())
                }
                Status::CompletionProposed if rng.bool() => {
                    (Status::Endorsed, user("lead-1"), Role::Lead, String::new())
                }
                Status::CompletionProposed | Status::Endorsed | Status::Imported => (
                    Status::EvidenceAccepted,
                    validator(),
                    Role::Validator,
                    String::new(),
                ),
                Status::EvidenceAccepted if rng.u8(0..5) == 0 => {
                    (Status::InProgress, forum(), Role::Approver, reason())
                }
                Status::EvidenceAccepted => {
                    (Status::Closed, forum(), Role::Approver, String::new())
                }
                Status::Closed if rng.u8(0..3) > 0 => (
                    Status::Embedded,
                    validator(),
                    Role::Validator,
                    String::new(),
                ),
                Status::Closed | Status::Embedded => {
                    (Status::Reopened, forum(), Role::Approver, reason())
                }
            }
        } else {
            let rng = &mut self.rng;
            let by = if rng.bool() {
                owner
            } else {
                user(USERS[rng.usize(0..USERS.len())])
            };
            let note = if rng.bool() { String::new() } else { reason() };
            (
                Status::ALL[rng.usize(0..Status::ALL.len())],
                by,
                Role::ALL[rng.usize(0..Role::ALL.len())],
                note,
            )
        };
        if plausible {
            let applied = |status: Status| {
                view.fold
                    .steps
                    .iter()
                    .filter(|step| matches!(step, Step::Applied { to, .. } if *to == status))
                    .count()
            };
            let approvals = view
                .decisions
                .iter()
                .filter(|d| d.outcome == DecisionOutcome::ApproveClosure)
                .count();
            let recorded = view.fold_facts(None);
            let passes = recorded.passed_checks;
            let mut facts = Vec::new();
            let needs_evidence =
                matches!(to, Status::CompletionProposed | Status::EvidenceAccepted);
            let evidence_id = match view.evidence.first() {
                Some(e) => e.id.clone(),
                None => self.peers[who].entry_id(who),
            };
            if needs_evidence && view.evidence.is_empty() {
                facts.push(LogEntry::Evidence(Evidence {
                    id: evidence_id.clone(),
                    kind: EvidenceKind::File,
                    title: "Audit results 🏥".into(),
                    location: "sha256-0f".into(),
                    evidence_type: None,
                    period_from: None,
                    period_to: None,
                    site: String::new(),
                    piece: None,
                    by: owner_of(&view),
                    at,
                }));
            }
            if to == Status::EvidenceAccepted && !recorded.assured {
                facts.push(LogEntry::EvidenceReview(EvidenceReview {
                    id: self.peers[who].entry_id(who),
                    evidence_id,
                    verdict: EvidenceVerdict::Accepted,
                    assurance: Some(Assurance::Reasonable),
                    note: String::new(),
                    by: validator(),
                    at,
                }));
            }
            if to == Status::Closed && approvals <= applied(Status::Closed) {
                facts.push(LogEntry::Decision(Decision {
                    id: self.peers[who].entry_id(who),
                    forum: "Quality and Safety Committee".into(),
                    meeting_date: date(&mut self.rng),
                    outcome: DecisionOutcome::ApproveClosure,
                    minute_ref: "QSC/12".into(),
                    note: String::new(),
                    by: forum(),
                    at,
                    meeting: None,
                }));
            }
            if to == Status::Embedded && passes <= applied(Status::Embedded) {
                let check_id = self.peers[who].entry_id(who);
                facts.push(LogEntry::Sustainment(Sustainment::Scheduled {
                    id: check_id.clone(),
                    due: date(&mut self.rng),
                    by: validator(),
                    at,
                }));
                facts.push(LogEntry::Sustainment(Sustainment::Result {
                    id: self.peers[who].entry_id(who),
                    check_id,
                    outcome: CheckOutcome::Passed,
                    note: String::new(),
                    method: Some(plait_shared::ReauditMethod::RecordsAudit),
                    sample: "10 records".into(),
                    by: validator(),
                    at,
                }));
            }
            for fact in facts {
                self.append(who, &id, fact);
            }
        }
        let baseline = !plausible && self.rng.u8(0..15) == 0;
        let entry = LogEntry::Transition(Transition {
            to,
            by,
            role,
            at,
            note,
            baseline,
        });
        self.append(who, &id, entry);
    }

    fn other_entry(&mut self, who: usize) {
        let id = self.random_action();
        let view = self.peers[who].read_action(&id);
        let at = self.at(who);
        let owner = view.owner.clone().unwrap_or_else(|| user("owner-1"));
        let entry_id = self.peers[who].entry_id(who);
        let rng = &mut self.rng;
        let entry = match rng.u8(0..8) {
            0 => LogEntry::Evidence(Evidence {
                id: entry_id,
                kind: EvidenceKind::ALL[rng.usize(0..EvidenceKind::ALL.len())],
                title: format!("Audit results 🏥 {}", random_text(rng, 2)),
                location: "https://example.invalid/audit".into(),
                evidence_type: Some(EvidenceType::ALL[rng.usize(0..EvidenceType::ALL.len())]),
                period_from: None,
                period_to: None,
                site: "Ward 3".into(),
                piece: None,
                by: owner,
                at,
            }),
            1 if !view.evidence.is_empty() => LogEntry::EvidenceReview(EvidenceReview {
                id: entry_id,
                evidence_id: view.evidence[rng.usize(0..view.evidence.len())].id.clone(),
                verdict: EvidenceVerdict::ALL[rng.usize(0..EvidenceVerdict::ALL.len())],
                assurance: Some(Assurance::ALL[rng.usize(0..Assurance::ALL.len())]),
                note: random_text(rng, 2),
                by: user("validator-1"),
                at,
            }),
            2 => LogEntry::Decision(Decision {
                id: entry_id,
                forum: "Quality and Safety Committee".into(),
                meeting_date: date(rng),
                outcome: if rng.u8(0..4) > 0 {
                    DecisionOutcome::ApproveClosure
                } else {
                    DecisionOutcome::ALL[rng.usize(0..DecisionOutcome::ALL.len())]
                },
                minute_ref: format!("QSC/{}", rng.u16(1..500)),
                note: random_text(rng, 2),
                meeting: None,
                by: user("forum-1"),
                at,
            }),
            3 if !view.sustainment_checks.is_empty() => {
                let check = &view.sustainment_checks[rng.usize(0..view.sustainment_checks.len())];
                LogEntry::Sustainment(Sustainment::Result {
                    id: entry_id,
                    check_id: check.id.clone(),
                    outcome: if rng.u8(0..4) > 0 {
                        CheckOutcome::Passed
                    } else {
                        CheckOutcome::Failed
                    },
                    note: random_text(rng, 2),
                    method: Some(ReauditMethod::ALL[rng.usize(0..ReauditMethod::ALL.len())]),
                    sample: random_text(rng, 2),
                    by: user("validator-1"),
                    at,
                })
            }
            3 | 4 => LogEntry::Sustainment(Sustainment::Scheduled {
                id: entry_id,
                due: date(rng),
                by: user("validator-1"),
                at,
            }),
            5 if !view.due_requests.is_empty() => {
                let request = &view.due_requests[rng.usize(0..view.due_requests.len())];
                LogEntry::DueChange(DueChange::Answer {
                    id: entry_id,
                    request_id: request.id.clone(),
                    verdict: DueChangeVerdict::ALL[rng.usize(0..DueChangeVerdict::ALL.len())],
                    note: random_text(rng, 1),
                    by: user(if rng.u8(0..5) > 0 {
                        "lead-1"
                    } else {
                        "owner-1"
                    }),
                    role: if rng.u8(0..5) > 0 {
                        Role::Lead
                    } else {
                        Role::ALL[rng.usize(0..Role::ALL.len())]
                    },
                    at,
                })
            }
            5 | 6 => LogEntry::DueChange(DueChange::Request {
                id: entry_id,
                new_due: date(rng),
                reason: format!("Staffing é {}", random_text(rng, 2)),
                by: owner,
                at,
            }),
            _ => LogEntry::Progress(ProgressUpdate {
                id: entry_id,
                text: format!("Ward 3 audited 🏥 {}", random_text(rng, 3)),
                by: owner,
                at,
                confidence: None,
            }),
        };
        self.append(who, &id, entry);
    }

    /// Online peers receive some of the other online peers' updates, in a
    /// random order, some twice; the rest stay pending, leaving gaps that
    /// yrs must hold until the missing updates arrive.
    fn exchange(&mut self) {
        let seed = self.seed;
        let outboxes: Vec<Vec<Vec<u8>>> = self
            .peers
            .iter()
            .map(|peer| peer.outbox.lock().unwrap().clone())
            .collect();
        for receiver in 0..self.peers.len() {
            if !self.peers[receiver].online {
                continue;
            }
            let mut batch: Vec<(usize, usize)> = Vec::new();
            for (sender, outbox) in outboxes.iter().enumerate() {
                if sender == receiver || !self.peers[sender].online {
                    continue;
                }
                for index in 0..outbox.len() {
                    let seen = self.peers[receiver].received.contains(&(sender, index));
                    let deliver = if seen {
                        self.rng.u8(0..100) < 2
                    } else {
                        self.rng.u8(0..100) < 80
                    };
                    if deliver {
                        batch.push((sender, index));
                        if self.rng.u8(0..100) < 5 {
                            batch.push((sender, index));
                        }
                    }
                }
            }
            self.rng.shuffle(&mut batch);
            let one_transaction = self.rng.bool();
            let peer = &mut self.peers[receiver];
            peer.receive(
                seed,
                batch
                    .iter()
                    .map(|&(sender, index)| &outboxes[sender][index][..]),
                one_transaction,
            );
            peer.received.extend(batch);
            if peer.plan.doc().transact().has_missing_updates() {
                self.coverage.gaps += 1;
            }
        }
    }

    /// Every peer receives every update it has not had, shuffled, some twice,
    /// plus a few it already had.
    fn deliver_everything(&mut self) {
        let seed = self.seed;
        let outboxes: Vec<Vec<Vec<u8>>> = self
            .peers
            .iter()
            .map(|peer| peer.outbox.lock().unwrap().clone())
            .collect();
        for receiver in 0..self.peers.len() {
            let mut batch: Vec<(usize, usize)> = Vec::new();
            for (sender, outbox) in outboxes.iter().enumerate() {
                if sender == receiver {
                    continue;
                }
                for index in 0..outbox.len() {
                    let seen = self.peers[receiver].received.contains(&(sender, index));
                    if !seen || self.rng.u8(0..100) < 3 {
                        batch.push((sender, index));
                    }
                    if self.rng.u8(0..100) < 5 {
                        batch.push((sender, index));
                    }
                }
            }
            self.rng.shuffle(&mut batch);
            let one_transaction = self.rng.bool();
            let peer = &mut self.peers[receiver];
            peer.receive(
                seed,
                batch
                    .iter()
                    .map(|&(sender, index)| &outboxes[sender][index][..]),
                one_transaction,
            );
            peer.received.extend(batch);
            for (sender, outbox) in outboxes.iter().enumerate() {
                let undelivered = (0..outbox.len())
                    .filter(|&index| {
                        sender != receiver && !peer.received.contains(&(sender, index))
                    })
                    .count();
                assert_eq!(
                    undelivered, 0,
                    "seed {seed}: the harness left updates of peer {sender} undelivered to peer {receiver}"
                );
            }
        }
        self.resync_stuck_peers();
    }

    /// The state vector of the union of all updates: each peer is the only
    /// writer of its own client id, so it knows that client's full clock.
    fn expected_state(&self) -> StateVector {
        let mut expected = StateVector::default();
        for peer in &self.peers {
            let doc = peer.plan.doc();
            let client = doc.client_id();
            let clock = doc.transact().state_vector().get(&client);
            if clock > 0 {
                expected.set_max(client, clock);
            }
        }
        expected
    }

    /// Once every update has been delivered, a peer that still lacks some is
    /// caught by a known yrs 0.28.1 bug (see
    /// `yrs_integrates_updates_delivered_once_in_any_order`): an update whose
    /// dependency arrived while it waited is never retried. Such a peer does
    /// what a sync protocol does on reconnecting: it sends its state vector
    /// and every other peer answers with what it lacks. The count is kept so
    /// the report can say how often that was needed.
    fn resync_stuck_peers(&mut self) {
        let seed = self.seed;
        let expected = self.expected_state();
        for receiver in 0..self.peers.len() {
            let (missing, state) = {
                let txn = self.peers[receiver].plan.doc().transact();
                (txn.has_missing_updates(), txn.state_vector())
            };
            let behind = expected
                .iter()
                .any(|(client, &clock)| state.get(client) < clock);
            if !missing && !behind {
                continue;
            }
            self.coverage.resynced += 1;
            let answers: Vec<Vec<u8>> = (0..self.peers.len())
                .filter(|&sender| sender != receiver)
                .map(|sender| {
                    self.peers[sender]
                        .plan
                        .doc()
                        .transact()
                        .encode_state_as_update_v1(&state)
                })
                .collect();
            self.peers[receiver].receive(seed, answers.iter().map(Vec::as_slice), false);
        }
    }

    fn check_converged(&mut self) {
        let seed = self.seed;
        let first = &self.peers[0].plan;
        let reference = first.read(&first.doc().transact());
        assert!(
            reference.problems.is_empty(),
            "seed {seed}: the merged plan has problems: {:#?}",
            reference.problems
        );
        assert_eq!(
            reference.actions.len(),
            self.actions.len(),
            "seed {seed}: actions lost or added"
        );
        for id in &self.actions {
            let action = &reference.actions[id];
            for log in Log::ALL {
                let expected = self.appended.get(&(id.clone(), log)).copied().unwrap_or(0);
                assert_eq!(
                    log.count(action),
                    expected,
                    "seed {seed}: {id} shows the wrong number of {log:?} entries"
                );
            }
            assert_eq!(
                action.fold.steps.len(),
                action.transitions.len(),
                "seed {seed}: the fold of {id} skipped transitions"
            );
            self.coverage.superseded += action.fold.superseded().count();
            self.coverage.closed +=
                usize::from(matches!(action.status(), Status::Closed | Status::Embedded));
            self.coverage.embedded += usize::from(action.status() == Status::Embedded);
            self.coverage.surrogate_texts += [&action.title, &action.description]
                .iter()
                .filter(|text| text.contains('🏥'))
                .count();
        }
        let expected_state = self.expected_state();
        for (index, peer) in self.peers.iter().enumerate() {
            let txn = peer.plan.doc().transact();
            assert!(
                !txn.has_missing_updates(),
                "seed {seed}: peer {index} still waits for updates"
            );
            assert_eq!(
                txn.state_vector(),
                expected_state,
                "seed {seed}: peer {index} has not integrated every update"
            );
        }
        for (index, peer) in self.peers.iter().enumerate().skip(1) {
            let txn = peer.plan.doc().transact();
            let view = peer.plan.read(&txn);
            for (id, action) in &reference.actions {
                let theirs = view
                    .actions
                    .get(id)
                    .unwrap_or_else(|| panic!("seed {seed}: peer {index} lacks action {id}"));
                assert_eq!(
                    theirs.status(),
                    action.status(),
                    "seed {seed}: peer {index} folds {id} to another status than peer 0"
                );
                assert_eq!(
                    theirs, action,
                    "seed {seed}: peer {index} reads action {id} differently from peer 0"
                );
            }
            assert_eq!(
                view, reference,
                "seed {seed}: peer {index} reads the plan differently from peer 0"
            );
        }
    }
}

fn seeds() -> std::ops::Range<u64> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(seed) = std::env::var("CONVERGENCE_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        return seed..seed + 1;
    }
    0..CASES
}

impl Coverage {
    fn add(&mut self, other: &Coverage) {
        self.gaps += other.gaps;
        self.superseded += other.superseded;
        self.closed += other.closed;
        self.embedded += other.embedded;
        self.surrogate_texts += other.surrogate_texts;
        self.resynced += other.resynced;
    }
}

fn run_seeds(seeds: impl Iterator<Item = u64>) -> Coverage {
    let mut total = Coverage::default();
    for seed in seeds {
        let mut sim = Sim::new(seed);
        sim.run();
        total.add(&sim.coverage);
    }
    total
}

/// Runs the seeds on every core of the host (the seeds are independent);
/// a failing seed's panic is passed on.
#[cfg(not(target_arch = "wasm32"))]
fn run_all(seeds: std::ops::Range<u64>) -> Coverage {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let mut total = Coverage::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|offset| {
                let seeds = seeds.clone();
                scope
                    .spawn(move || run_seeds(seeds.skip(offset as usize).step_by(threads as usize)))
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(coverage) => total.add(&coverage),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    total
}

#[cfg(target_arch = "wasm32")]
fn run_all(seeds: std::ops::Range<u64>) -> Coverage {
    run_seeds(seeds)
}

#[test]
fn peers_converge_on_the_same_plan() {
    let seeds = seeds();
    let all = seeds.end - seeds.start == CASES;
    let total = run_all(seeds);
    eprintln!("convergence coverage: {total:?}");
    if all {
        let Coverage {
            gaps,
            superseded,
            closed,
            embedded,
            surrogate_texts,
            resynced,
        } = total;
        let cases = CASES as usize;
        assert!(gaps >= cases / 10, "too few delivery gaps: {total:?}");
        // The yrs bug strands a peer in about one seed in a hundred; far more
        // would mean updates stopped integrating for another reason that the
        // resync hides.
        assert!(
            resynced <= cases / 20,
            "too many peers needed a resync: {total:?}"
        );
        assert!(
            superseded >= cases,
            "too few superseded transitions: {total:?}"
        );
        assert!(closed >= cases / 50, "too few closed actions: {total:?}");
        assert!(
            embedded >= cases / 200,
            "too few embedded actions: {total:?}"
        );
        assert!(
            surrogate_texts >= cases,
            "too few texts with emoji: {total:?}"
        );
    }
}

/// The smallest case of a bug the scenarios found: a due-date request or a
/// re-audit stamped with a real time (past 2^31 ms) is unreadable on every
/// peer but its author, because the number crosses the wire as a float and
/// the internally tagged entries refuse a float for their `i64` time.
#[test]
fn timed_entries_survive_the_trip_to_another_peer() {
    let author = Peer::new(1);
    let reader = Peer::new(2);
    let id = ActionId::new("a-1").unwrap();
    let mut rng = Rng::with_seed(0);
    {
        let mut txn = author.plan.doc().transact_mut();
        let action = NewAction {
            reference: "MD001".into(),
            title: "Audit".into(),
            description: String::new(),
            finding_ids: vec![],
            workstream_id: None,
            phase_id: None,
            exec_lead: "Chief Nurse".into(),
            owner: Some(user("owner-1")),
            due: None,
            confidence: None,
            closure_criteria: String::new(),
        };
        author.plan.add_action(&mut txn, &id, &action).unwrap();
        let at = UnixMillis(1_700_000_000_000);
        let entries = [
            LogEntry::DueChange(DueChange::Request {
                id: EntryId::new("r-1").unwrap(),
                new_due: date(&mut rng),
                reason: "staffing".into(),
                by: user("owner-1"),
                at,
            }),
            LogEntry::Sustainment(Sustainment::Scheduled {
                id: EntryId::new("s-1").unwrap(),
                due: date(&mut rng),
                by: user("validator-1"),
                at,
            }),
        ];
        for entry in &entries {
            author.plan.append(&mut txn, &id, entry).unwrap();
        }
    }
    let update = author
        .plan
        .doc()
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    reader.apply(0, &update);
    let theirs = reader.plan.read(&reader.plan.doc().transact());
    assert_eq!(
        theirs.problems,
        vec![],
        "the reader could not read the entries"
    );
    let ours = author.plan.read(&author.plan.doc().transact());
    assert_eq!(theirs, ours);
    assert_eq!(ours.actions[&id].due_requests.len(), 1);
    assert_eq!(ours.actions[&id].sustainment_checks.len(), 1);
}

/// A bug in yrs 0.28.1 that the scenarios run into about once in a hundred
/// seeds, reduced to four single-item updates. Each is delivered exactly
/// once, every dependency arrives, and yet two of them stay pending forever:
///
/// 1. `c1` (client 3, clock 1) has no origin, so yrs integrates it at once
///    behind a skip hole for the missing `c0`; client 3's clock reads 2.
/// 2. `a2` (origin `c0`) waits, recorded as "missing client 3 up to clock 2"
///    (the clock past the hole, not the hole).
/// 3. `c0` (origin `a1`, still unknown) arrives; the retry puts both back in
///    the pending update, but now only "client 3 up to clock 2" is recorded
///    as missing, not client 1.
/// 4. `a1` arrives. Client 1 is not among the missing clients and client 3's
///    clock never passes 2, so the pending update is never retried.
///
/// Yjs keeps out-of-order items pending instead and converges. Plait's sync
/// must therefore not rely on relaying updates alone: a state-vector
/// exchange (sync step 1 and 2) on reconnect, or whenever
/// `has_missing_updates()` stays true, repairs it (as the scenarios do).
#[test]
#[ignore = "yrs 0.28.1 bug: a pending update is never retried after a skip-hole integration"]
fn yrs_integrates_updates_delivered_once_in_any_order() {
    use yrs::{Array, ArrayRef, Doc};
    let writer_a = new_doc_with_client_id(1);
    let writer_c = new_doc_with_client_id(3);
    let log_a: ArrayRef = writer_a.get_or_insert_array("log");
    let log_c: ArrayRef = writer_c.get_or_insert_array("log");
    let other_c: ArrayRef = writer_c.get_or_insert_array("other");
    let sync = |from: &Doc, to: &Doc| {
        let update = from
            .transact()
            .encode_state_as_update_v1(&to.transact().state_vector());
        to.transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
    };
    let push = |doc: &Doc, array: &ArrayRef, value: &str| {
        let before = doc.transact().state_vector();
        array.push_back(&mut doc.transact_mut(), value);
        doc.transact().encode_state_as_update_v1(&before)
    };
    let a1 = push(&writer_a, &log_a, "a1");
    sync(&writer_a, &writer_c);
    let c0 = push(&writer_c, &log_c, "c0"); // origin a1
    let c1 = push(&writer_c, &other_c, "c1"); // no origin
    sync(&writer_c, &writer_a);
    let a2 = push(&writer_a, &log_a, "a2"); // origin c0

    let reader = new_doc_with_client_id(9);
    for update in [&c1, &a2, &c0, &a1] {
        reader
            .transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }
    let txn = reader.transact();
    assert_eq!(
        txn.store().pending_update().map(|p| &p.missing),
        None,
        "updates left pending although every one was delivered"
    );
    assert_eq!(txn.state_vector(), writer_a.transact().state_vector());
}
