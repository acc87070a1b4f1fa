//! Honest work survives hostile peers (issue 11): a seeded adversarial
//! simulation of one plan document at the server's admission
//! ([`plait_shared::admission`]), without IO.
//!
//! The server is a document, its [`ItemIndex`], a stored log (each
//! integrated update) and an audit log (one record per stored update).
//! Five honest members (an action owner, an executive lead, the programme
//! manager, a validator and a forum) each edit their own copy as the rules
//! allow, through [`PlanDoc`] and [`plait_shared::workflow`], sometimes
//! online (each edit sent at once, every stored update applied to every
//! online peer) and sometimes offline (sent as the difference from the
//! server's state vector when they come back, then brought up to date), all
//! concurrently with two hostile members, a viewer (`board`) and a
//! contributor who owns nothing (`mallory`), who send generated updates of
//! every kind the admission must stop: fields, texts and entries they may
//! not write, entries in someone else's name or dated 2020 or next year,
//! entries at the front of a log, deletes of entries, texts, logs and
//! actions, replaced actions and logs, junk roots and keys, embeds and
//! formatting, binary values, updates missing their predecessor, delete
//! sets naming clocks nobody has, items under an honest member's (or the
//! server's) client id, hand-crafted items (origins across types, cycles,
//! collected origins, huge clocks) and random byte mutations of valid
//! updates.
//!
//! After every update: a rejected one left the server exactly as it was; an
//! admitted one integrated (an integration error would evict the document),
//! left nothing pending, and its stored form decodes and is explained by its
//! audit record; a hostile one changed nothing anyone reads and stored none
//! of its content (every hostile string holds `EVIL`). An online honest
//! update is admitted whole; an offline one may lose only what concurrency
//! made ineffective (a status change overtaken, a due-date request answered
//! twice, an original due date set twice). At checkpoints and at the end,
//! every view (the server's and every honest member's) shows only what the
//! rules allow: entries honest members wrote, field values they set, texts
//! without hostile content, every status change in effect. At the end,
//! after every member has synced: every honest entry that may not be
//! refused is there, word for word; every field holds a value of one of
//! its latest honest writes; every text is its seed with exactly the
//! honest insertions still live; all peers have the server's state; the
//! stored log rebuilds the server's document; the index knows every clock.
//!
//! `cargo test -p plait-shared --test adversarial` runs 2,000 hostile
//! updates on 8 actions in a few seconds. The long run, 100,000 hostile
//! updates on 16 actions, is `adversarial_long_run`, ignored by default:
//! `cargo test --release -p plait-shared --test adversarial -- --ignored
//! --nocapture`. Both read `PLAIT_ADVERSARIAL_SEED` (default 0x11112026),
//! `PLAIT_ADVERSARIAL_UPDATES` (hostile updates), `PLAIT_ADVERSARIAL_ACTIONS`,
//! `PLAIT_ADVERSARIAL_CHECK_EVERY` (steps between checkpoints; 1 finds the
//! first step that breaks a view), `PLAIT_ADVERSARIAL_KINDS` (only these
//! kinds of hostile update, comma-separated: `DeleteEntries,Mutation`) and
//! `PLAIT_ADVERSARIAL_HISTORY` (how many steps a failure lists). Every
//! failure names the seed, the step, the update's bytes where it was a
//! hostile one's, the last steps taken and the command that reruns it.
//! What it found is reproduced, one test each, in `adversarial_findings.rs`.

#![cfg(not(target_arch = "wasm32"))]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastrand::Rng;
use plait_shared::admission::codec::{self, ItemStruct, ParentRef, Struct};
use plait_shared::admission::schema::DocShape;
use plait_shared::admission::{decide, integrate, Author, ItemIndex, Limits, Outcome, Verdict};
use plait_shared::admission::{Refusal, Writer};
use plait_shared::changes::{Change, Log};
use plait_shared::keys::FieldKey;
use plait_shared::workflow::{self, DecisionInput, Who};
use plait_shared::{
    fold_status, new_doc_with_client_id, ActionField, ActionId, ActionText, ActionView, Assurance,
    CheckOutcome, Confidence, Date, Decision, DecisionOutcome, DueChange, DueChangeVerdict,
    EntryId, Evidence, EvidenceKind, EvidenceReview, EvidenceVerdict, FindingId, FindingKind,
    KeyQuestion, LogEntry, NewAction, NewFinding, PhaseId, PlanDoc, PlanInfo, PlanView,
    ProgressUpdate, Role, Status, Step, Sustainment, TextEdit, Transition, UnixMillis, UserId,
    WorkstreamId,
};
use yrs::block::{ItemContent, SplittableString};
use yrs::encoding::write::Write;
use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Assoc, BranchID, ClientID, Doc, IdSet, IndexedSequence, Map,
    MapPrelim, MapRef, Out, ReadTxn, StateVector, Text, TextPrelim, TextRef, Transact,
    TransactionMut, Update, WriteTxn, XmlFragment, XmlTextPrelim, ID,
};

// ---------------------------------------------------------------------------
// The cast and the plan.
// ---------------------------------------------------------------------------

const DEFAULT_SEED: u64 = 0x1111_2026;
/// The client id of the import that made the plan (the server's).
const SEED_CLIENT: u64 = 1;
/// The client id of the server's own document (what it writes to undo).
const SERVER_CLIENT: u64 = 2;
const NOW0: i64 = 1_780_000_000_000;
const DAY: i64 = 86_400_000;
/// Every string a hostile member writes holds this; nothing stored may.
const EVIL: &str = "EVIL";

/// Name, role, client id, and the letter of their text markers.
const HONEST: [(&str, Role, u64, char); 5] = [
    ("owner", Role::Contributor, 101, 'o'),
    ("lead", Role::Lead, 102, 'l'),
    ("pm", Role::Admin, 103, 'p'),
    ("validator", Role::Validator, 104, 'v'),
    ("forum", Role::Approver, 105, 'f'),
];
const HOSTILE: [(&str, Role, u64); 2] = [
    ("board", Role::Viewer, 201),
    ("mallory", Role::Contributor, 202),
];
/// Owners of actions nobody simulated owns: the lead and the programme
/// manager reassign those among them (so nobody's rights change).
const OTHER_OWNERS: [&str; 3] = ["other.owner", "other.owner2", "other.owner3"];

/// What an action starts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Template {
    /// Owned by `owner`, imported in progress.
    Delivering,
    /// Owned by `owner`, draft, no entries and no due date.
    Fresh,
    /// Owned by `owner`, imported closed (re-audits).
    Closed,
    /// Owned by someone not simulated, in progress (reassigned).
    OthersInProgress,
    /// No owner, draft, no due date (an owner and a date get set).
    Unowned,
    /// Owned by the validator, imported agreed.
    ValidatorsAgreed,
    /// Owned by `owner`, imported with its evidence accepted (closure).
    Accepted,
    /// Owned by `owner`, imported proposed complete with evidence (review).
    Proposed,
}

const TEMPLATES: [Template; 8] = [
    Template::Delivering,
    Template::Fresh,
    Template::Closed,
    Template::OthersInProgress,
    Template::Unowned,
    Template::ValidatorsAgreed,
    Template::Accepted,
    Template::Proposed,
];

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn base_texts(i: usize) -> [String; 3] {
    [
        format!("Fix the door closers on ward {i}"),
        "Every ward checks its doors; the café too.".to_owned(),
        "Audit shows 100%.".to_owned(),
    ]
}

/// The plan as imported: `n` actions cycling through the templates, one
/// finding, the plan's details.
fn seed_plan(n: usize) -> (Doc, Vec<(ActionId, Template)>) {
    let doc = new_doc_with_client_id(SEED_CLIENT);
    let plan = PlanDoc::new(doc.clone());
    let mut actions = Vec::new();
    {
        let mut txn = doc.transact_mut();
        plan.set_info(
            &mut txn,
            &PlanInfo {
                title: "Medicine: door safety".into(),
                core_service: "Medicine".into(),
                location: "Main site".into(),
                ..PlanInfo::default()
            },
        );
        plan.add_finding(
            &mut txn,
            &FindingId::new("f-1").unwrap(),
            &NewFinding {
                reference: "MD001".into(),
                kind: FindingKind::MustDo,
                text: "Fire doors were propped open.".into(),
                regulations: vec![],
                key_question: Some(KeyQuestion::Safe),
                core_service: "Medicine".into(),
                location: "Main site".into(),
                source: "CQC report".into(),
                deadline: None,
            },
        )
        .unwrap();
        for i in 0..n {
            let template = TEMPLATES[i % TEMPLATES.len()];
            let id = ActionId::new(format!("a-{i}")).unwrap();
            let owner = match template {
                Template::OthersInProgress => Some(user("other.owner")),
                Template::Unowned => None,
                Template::ValidatorsAgreed => Some(user("validator")),
                _ => Some(user("owner")),
            };
            let due = match template {
                Template::Fresh | Template::Unowned => None,
                _ => Some(Date::parse_iso("2026-12-31").unwrap()),
            };
            let [title, description, closure_criteria] = base_texts(i);
            plan.add_action(
                &mut txn,
                &id,
                &NewAction {
                    reference: format!("MD{i:03}"),
                    title,
                    description,
                    finding_ids: vec![FindingId::new("f-1").unwrap()],
                    workstream_id: None,
                    phase_id: None,
                    exec_lead: "lead".into(),
                    owner,
                    due,
                    confidence: None,
                    closure_criteria,
                },
            )
            .unwrap();
            if matches!(template, Template::Accepted | Template::Proposed) {
                plan.append(
                    &mut txn,
                    &id,
                    &LogEntry::Evidence(Evidence {
                        id: EntryId::new(format!("e-seed-{i}")).unwrap(),
                        kind: EvidenceKind::Note,
                        title: "Audit of every door".into(),
                        location: String::new(),
                        evidence_type: None,
                        period_from: None,
                        period_to: None,
                        site: String::new(),
                        piece: None,
                        by: user("owner"),
                        at: UnixMillis(NOW0 - 29 * DAY),
                    }),
                )
                .unwrap();
            }
            let baseline = match template {
                Template::Delivering | Template::OthersInProgress => Some(Status::InProgress),
                Template::Closed => Some(Status::Closed),
                Template::ValidatorsAgreed => Some(Status::Agreed),
                Template::Accepted => Some(Status::EvidenceAccepted),
                Template::Proposed => Some(Status::CompletionProposed),
                Template::Fresh | Template::Unowned => None,
            };
            if let Some(to) = baseline {
                plan.append(
                    &mut txn,
                    &id,
                    &LogEntry::Transition(Transition {
                        to,
                        by: user("pm"),
                        role: Role::Admin,
                        at: UnixMillis(NOW0 - 30 * DAY),
                        note: "Imported".into(),
                        baseline: true,
                    }),
                )
                .unwrap();
            }
            actions.push((id, template));
        }
    }
    (doc, actions)
}

// ---------------------------------------------------------------------------
// Small helpers.
// ---------------------------------------------------------------------------

fn since(doc: &Doc, sv: &StateVector) -> Vec<u8> {
    doc.transact().encode_state_as_update_v1(sv)
}

fn full_state(doc: &Doc) -> Vec<u8> {
    since(doc, &StateVector::default())
}

fn state_vector(doc: &Doc) -> StateVector {
    doc.transact().state_vector()
}

/// Applies `bytes` to `doc`; an error, or anything left pending, is Err.
fn apply(doc: &Doc, bytes: &[u8]) -> Result<(), String> {
    let update = Update::decode_v1(bytes).map_err(|e| format!("does not decode: {e}"))?;
    let mut txn = doc.transact_mut();
    txn.apply_update(update)
        .map_err(|e| format!("yrs refused it: {e}"))?;
    if txn.store().pending_update().is_some() || txn.store().pending_ds().is_some() {
        return Err("part of it stayed pending".into());
    }
    Ok(())
}

/// The bytes in hex, for a failure's message (the start of a long one).
fn hex(bytes: &[u8]) -> String {
    let shown: String = bytes
        .iter()
        .take(1024)
        .map(|b| format!("{b:02x}"))
        .collect();
    if bytes.len() > 1024 {
        format!("{shown}… ({} bytes)", bytes.len())
    } else {
        shown
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic".to_owned()
    }
}

/// Whether `sv` has everything `other` has.
fn covers(sv: &StateVector, other: &StateVector) -> bool {
    other.iter().all(|(client, clock)| sv.get(client) >= *clock)
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

fn action_map<T: ReadTxn>(txn: &T, action: &str) -> Option<MapRef> {
    match txn.get_map("actions")?.get(txn, action)? {
        Out::YMap(map) => Some(map),
        _ => None,
    }
}

fn log_ref<T: ReadTxn>(txn: &T, action: &str, log: &str) -> Option<ArrayRef> {
    match action_map(txn, action)?.get(txn, log)? {
        Out::YArray(array) => Some(array),
        _ => None,
    }
}

fn text_ref<T: ReadTxn>(txn: &T, action: &str, key: &str) -> Option<TextRef> {
    match action_map(txn, action)?.get(txn, key)? {
        Out::YText(text) => Some(text),
        _ => None,
    }
}

fn finding_text<T: ReadTxn>(txn: &T) -> Option<TextRef> {
    let Out::YMap(finding) = txn.get_map("findings")?.get(txn, "f-1")? else {
        return None;
    };
    match finding.get(txn, "text")? {
        Out::YText(text) => Some(text),
        _ => None,
    }
}

fn nested_id(map: &MapRef) -> Option<ID> {
    match map.as_ref().id() {
        BranchID::Nested(id) => Some(id),
        BranchID::Root(_) => None,
    }
}

/// The id of the item at `index` of a sequence.
fn item_at<T: ReadTxn, S: IndexedSequence>(txn: &T, seq: &S, index: u32) -> Option<ID> {
    seq.sticky_index(txn, index, Assoc::After)
        .and_then(|s| s.id().copied())
}

/// Each field of an action, as a string ("" when unset).
fn field_strings(view: &ActionView) -> [(&'static str, String); 9] {
    let opt = |s: Option<&str>| s.unwrap_or_default().to_owned();
    [
        ("ref", view.reference.clone()),
        (
            "finding_ids",
            view.finding_ids
                .iter()
                .map(FindingId::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "workstream_id",
            opt(view.workstream_id.as_ref().map(WorkstreamId::as_str)),
        ),
        ("phase_id", opt(view.phase_id.as_ref().map(PhaseId::as_str))),
        ("exec_lead", view.exec_lead.clone()),
        ("owner", opt(view.owner.as_ref().map(UserId::as_str))),
        (
            "due_original",
            view.due_original.map(Date::iso).unwrap_or_default(),
        ),
        ("confidence", opt(view.confidence.map(Confidence::key))),
        ("assurance", opt(view.assurance.map(Assurance::key))),
    ]
}

fn field_string(view: &ActionView, key: &str) -> String {
    field_strings(view)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn text_of(view: &ActionView, key: &str) -> String {
    match key {
        "title" => view.title.clone(),
        "description" => view.description.clone(),
        _ => view.closure_criteria.clone(),
    }
}

/// Every entry of an action that has an id, with its log.
fn entries_with_ids(view: &ActionView) -> Vec<(String, Log, LogEntry)> {
    let mut out = Vec::new();
    for e in &view.updates {
        out.push((
            e.id.to_string(),
            Log::Updates,
            LogEntry::Progress(e.clone()),
        ));
    }
    for e in &view.evidence {
        out.push((
            e.id.to_string(),
            Log::Evidence,
            LogEntry::Evidence(e.clone()),
        ));
    }
    for e in &view.evidence_reviews {
        out.push((
            e.id.to_string(),
            Log::EvidenceReviews,
            LogEntry::EvidenceReview(e.clone()),
        ));
    }
    for e in &view.decisions {
        out.push((
            e.id.to_string(),
            Log::Decisions,
            LogEntry::Decision(e.clone()),
        ));
    }
    for e in &view.due_changes {
        let id = match e {
            DueChange::Request { id, .. }
            | DueChange::Wording { id, .. }
            | DueChange::Answer { id, .. } => id.to_string(),
        };
        out.push((id, Log::DueChanges, LogEntry::DueChange(e.clone())));
    }
    for e in &view.sustainment {
        let id = match e {
            Sustainment::Scheduled { id, .. } | Sustainment::Result { id, .. } => id.to_string(),
        };
        out.push((id, Log::Sustainment, LogEntry::Sustainment(e.clone())));
    }
    out
}

fn transition_key(action: &ActionId, t: &Transition) -> String {
    format!(
        "{action}|{:?}|{}|{:?}|{}|{}|{}",
        t.to, t.by, t.role, t.at.0, t.note, t.baseline
    )
}

/// The spans (in chars) of the text markers `[x123]` in `text`.
fn marker_spans(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '[' && i + 2 < chars.len() && chars[i + 1].is_ascii_lowercase() {
            let mut j = i + 2;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 2 && j < chars.len() && chars[j] == ']' {
                spans.push((i, j + 1));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    spans
}

fn utf16_offset(text: &str, chars: usize) -> u32 {
    text.chars().take(chars).map(char::len_utf16).sum::<usize>() as u32
}

fn utf16_len(text: &str) -> u32 {
    text.encode_utf16().count() as u32
}

// ---------------------------------------------------------------------------
// The server.
// ---------------------------------------------------------------------------

/// One audit record: who sent a stored update, what it changed, what was
/// refused.
#[derive(Debug)]
struct Audit {
    author: String,
    changes: Vec<Change>,
    refused: Vec<Refusal>,
}

#[derive(Debug)]
enum Sent {
    Admitted(Outcome),
    Known,
    Incomplete(String),
    Refused(String),
    Malformed(String),
}

impl Sent {
    fn name(&self) -> &'static str {
        match self {
            Sent::Admitted(_) => "admitted",
            Sent::Known => "known",
            Sent::Incomplete(_) => "incomplete",
            Sent::Refused(_) => "refused",
            Sent::Malformed(_) => "malformed",
        }
    }

    /// Its name, with why for a rejection.
    fn describe(&self) -> String {
        match self {
            Sent::Incomplete(why) | Sent::Refused(why) | Sent::Malformed(why) => {
                let why: String = why.chars().take(70).collect();
                format!("{} ({why})", self.name())
            }
            _ => self.name().to_owned(),
        }
    }

    fn slot(&self) -> usize {
        match self {
            Sent::Admitted(_) => 0,
            Sent::Known => 1,
            Sent::Incomplete(_) => 2,
            Sent::Refused(_) => 3,
            Sent::Malformed(_) => 4,
        }
    }
}

/// A second server sharing the first's stored log (the server on two
/// machines over one database): its own document and index, following the
/// log as the real nodes do ([`plait_shared::admission::apply_committed`]).
struct Node {
    doc: Doc,
    plan: PlanDoc,
    index: ItemIndex,
    applied: usize,
}

struct Server {
    doc: Doc,
    plan: PlanDoc,
    index: ItemIndex,
    /// Every stored update, in order.
    log: Vec<Vec<u8>>,
    /// The client ids each stored update claimed, with their writer (the
    /// store's record, which a node following the log reads).
    claims: Vec<Vec<(ClientID, Writer)>>,
    /// How many of the log's updates this document holds.
    applied: usize,
    /// With two nodes: the other one, and the members whose updates it
    /// takes (the hostile ones; the honest use this one).
    other: Option<(Node, Vec<String>)>,
    /// One audit record per stored update.
    audit: Vec<Audit>,
    /// The bytes of stored state as the real server counts them: the last
    /// compaction's size plus what was stored since.
    doc_bytes: u64,
    /// The whole state, while nothing has changed since it was encoded.
    cached: Option<Arc<Vec<u8>>>,
    now: i64,
    /// Compare the whole state (not only the state vector) after a
    /// rejected update on every this many updates.
    compare_every: u64,
    /// Updates sent so far.
    sent: u64,
    /// Time spent in `decide` and `integrate`.
    spent: Duration,
}

impl Server {
    fn new(seed: &[u8]) -> Result<Server, String> {
        let doc = new_doc_with_client_id(SERVER_CLIENT);
        let plan = PlanDoc::new(doc.clone());
        let mut server = Server {
            doc,
            plan,
            index: ItemIndex::new(DocShape::Plan),
            log: Vec::new(),
            claims: Vec::new(),
            applied: 0,
            other: None,
            audit: Vec::new(),
            doc_bytes: 0,
            cached: None,
            now: NOW0,
            compare_every: 1,
            sent: 0,
            spent: Duration::ZERO,
        };
        // The import, sent by the server itself: its client id is the
        // server's from then on.
        match server.send(Author::Server, seed)? {
            Sent::Admitted(outcome) if outcome.refused.is_empty() => Ok(server),
            other => Err(format!("the seed was not admitted: {other:?}")),
        }
    }

    fn sv(&self) -> StateVector {
        state_vector(&self.doc)
    }

    fn state(&mut self) -> Arc<Vec<u8>> {
        if let Some(state) = &self.cached {
            return state.clone();
        }
        let state = Arc::new(full_state(&self.doc));
        self.cached = Some(state.clone());
        state
    }

    fn view(&self) -> PlanView {
        self.plan.read(&self.doc.transact())
    }

    /// A second node from here on, taking the updates of `users`.
    fn add_node(&mut self, users: Vec<String>) {
        let doc = new_doc_with_client_id(SERVER_CLIENT + 1);
        let node = Node {
            plan: PlanDoc::new(doc.clone()),
            doc,
            index: ItemIndex::new(DocShape::Plan),
            applied: 0,
        };
        self.other = Some((node, users));
    }

    /// Makes the other node this one (and back).
    fn swap(&mut self) {
        if let Some((node, _)) = &mut self.other {
            std::mem::swap(&mut self.doc, &mut node.doc);
            std::mem::swap(&mut self.plan, &mut node.plan);
            std::mem::swap(&mut self.index, &mut node.index);
            std::mem::swap(&mut self.applied, &mut node.applied);
            self.cached = None;
        }
    }

    /// Applies what the other node stored since this one last looked.
    fn follow(&mut self) -> Result<(), String> {
        while self.applied < self.log.len() {
            let i = self.applied;
            plait_shared::admission::apply_committed(
                &self.doc,
                Some(&mut self.index),
                &self.log[i],
                &self.claims[i],
            )
            .map_err(|e| format!("following stored update {i}: {e}"))?;
            self.applied += 1;
            self.cached = None;
        }
        Ok(())
    }

    /// The other node, brought up to date (for the final checks).
    fn other_node(&mut self) -> Result<Option<(Doc, ItemIndex)>, String> {
        if self.other.is_none() {
            return Ok(None);
        }
        self.swap();
        let followed = self.follow();
        let node = (self.doc.clone(), self.index.clone());
        self.swap();
        followed.map(|()| Some(node))
    }

    /// Decides on and integrates `bytes` from `author` at the node that
    /// takes their updates, which first follows the log; the other node
    /// follows it at once.
    fn send(&mut self, author: Author<'_>, bytes: &[u8]) -> Result<Sent, String> {
        let remote = match (&self.other, author) {
            (Some((_, users)), Author::Member { user, .. }) => {
                users.iter().any(|u| u == user.as_str())
            }
            _ => false,
        };
        if !remote {
            self.follow()?;
            return self.send_here(author, bytes);
        }
        self.swap();
        let sent = self.follow().and_then(|()| self.send_here(author, bytes));
        self.swap();
        let sent = sent?;
        self.follow()?;
        Ok(sent)
    }

    /// Decides on and integrates `bytes` from `author`, checking what every
    /// update must leave behind. Err is a failure of the admission.
    fn send_here(&mut self, author: Author<'_>, bytes: &[u8]) -> Result<Sent, String> {
        let sv_before = self.sv();
        // The whole state is compared too on every `compare_every`th
        // update (the state vector always).
        self.sent += 1;
        let full_before = (self.sent % self.compare_every == 0).then(|| self.state());
        let (doc, index) = (&self.doc, &self.index);
        let doc_bytes = self.doc_bytes;
        let started = Instant::now();
        let verdict = catch_unwind(AssertUnwindSafe(|| {
            decide(index, doc, author, bytes, doc_bytes, &Limits::DEFAULT)
        }))
        .map_err(|p| format!("decide panicked: {}", panic_text(&*p)))?;
        let sent = match verdict {
            Err(e) => Sent::Malformed(e.to_string()),
            Ok(Verdict::Known) => Sent::Known,
            Ok(Verdict::Incomplete(why)) => Sent::Incomplete(why),
            Ok(Verdict::Refused(why)) => Sent::Refused(why),
            Ok(Verdict::Admit(admitted)) => {
                let now = UnixMillis(self.now);
                let writer = match author {
                    Author::Member { user, .. } => Writer::Person(Arc::from(user.as_str())),
                    Author::Server => Writer::Server,
                };
                let mut claims: Vec<(ClientID, Writer)> = admitted
                    .claims()
                    .iter()
                    .map(|c| (*c, writer.clone()))
                    .collect();
                let (doc, index) = (&self.doc, &mut self.index);
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    integrate(doc, index, admitted, author, now, &Limits::DEFAULT)
                }))
                .map_err(|p| format!("integrate panicked: {}", panic_text(&*p)))?
                .map_err(|e| format!("evicted: the admitted update did not integrate: {e}"))?;
                self.spent += started.elapsed();
                self.cached = None;
                {
                    let txn = self.doc.transact();
                    if txn.store().pending_update().is_some() || txn.store().pending_ds().is_some()
                    {
                        return Err("the server's document holds something pending".into());
                    }
                }
                let stored = Update::decode_v1(&outcome.update)
                    .map_err(|e| format!("the stored update does not decode: {e}"))?;
                // A member's stored update is explained by its audit record
                // (the server's own imports are recorded elsewhere).
                let member = matches!(author, Author::Member { .. });
                if member
                    && !stored.is_empty()
                    && outcome.changes.is_empty()
                    && outcome.refused.is_empty()
                {
                    return Err(format!(
                        "a stored update ({} bytes) with nothing in its audit record: {stored:?}",
                        outcome.update.len(),
                    ));
                }
                let author_name = match author {
                    Author::Member { user, .. } => user.to_string(),
                    Author::Server => "@server".to_owned(),
                };
                // The undoing is written under this node's own client id:
                // claimed for the server, as the real one does.
                if outcome.echo {
                    let own = self.doc.client_id();
                    if self.index.writer(own).is_none() {
                        self.index.set_writer(own, Writer::Server);
                        claims.push((own, Writer::Server));
                    }
                }
                self.log.push(outcome.update.clone());
                self.claims.push(claims);
                self.applied = self.log.len();
                self.audit.push(Audit {
                    author: author_name,
                    changes: outcome.changes.clone(),
                    refused: outcome.refused.clone(),
                });
                self.doc_bytes += outcome.update.len() as u64;
                return Ok(Sent::Admitted(outcome));
            }
        };
        self.spent += started.elapsed();
        // Rejected or known: nothing changed.
        if self.sv() != sv_before {
            return Err(format!("a {} update changed the state vector", sent.name()));
        }
        if let Some(before) = full_before {
            self.cached = None;
            if *self.state() != *before {
                return Err(format!("a {} update changed the document", sent.name()));
            }
        }
        Ok(sent)
    }

    /// A compaction, as the real server does now and then: the stored
    /// state's size becomes the document's.
    fn compact(&mut self) {
        self.doc_bytes = self.state().len() as u64;
    }
}

// ---------------------------------------------------------------------------
// What honest members did, to check against.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct EntryRecord {
    action: ActionId,
    log: Log,
    entry: LogEntry,
    /// May not be refused: nothing concurrent can make it ineffective.
    must: bool,
    /// Sent at once by a member who had the server's state.
    online: bool,
}

#[derive(Debug, Clone)]
struct FieldEvent {
    key: &'static str,
    value: String,
    /// The item the write made, and what its writer had seen.
    item: ID,
    seen: StateVector,
    by: &'static str,
}

#[derive(Debug, Clone)]
struct Marker {
    action: ActionId,
    key: &'static str,
    text: String,
    live: bool,
    by: &'static str,
}

#[derive(Default)]
struct Ledger {
    entries: HashMap<String, EntryRecord>,
    transitions: HashSet<String>,
    online_transitions: Vec<(ActionId, Transition)>,
    fields: HashMap<ActionId, Vec<FieldEvent>>,
    /// Every value each field has held honestly (the seed's included).
    allowed: HashMap<(ActionId, &'static str), HashSet<String>>,
    markers: Vec<Marker>,
}

/// A change an honest update is expected to show in its audit record.
#[derive(Debug, Clone)]
struct Expect {
    change: Change,
    must: bool,
    /// The text marker it inserted, if any: an insertion deleted again
    /// before it was sent changes nothing.
    marker: Option<String>,
}

fn expect_matches(expect: &Change, change: &Change) -> bool {
    match (expect, change) {
        (Change::Appended(a, l, _), Change::Appended(b, m, _)) => a == b && l == m,
        (a, b) => a == b,
    }
}

/// What concurrency may legitimately make an offline honest change lose.
fn may_be_refused(refusal: &Refusal) -> bool {
    match &refusal.change {
        Change::Appended(_, Log::Transitions, _) => true,
        Change::Appended(_, Log::DueChanges, _) => {
            refusal.reason.contains("answered already") || refusal.reason.contains("no effect")
        }
        Change::Field(_, plait_shared::keys::FieldKey::DueOriginal) => true,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Peers.
// ---------------------------------------------------------------------------

struct Honest {
    name: &'static str,
    user: UserId,
    role: Role,
    client: u64,
    letter: char,
    doc: Doc,
    plan: PlanDoc,
    online: bool,
    /// What the edits made since the last sync must show.
    pending: Vec<Expect>,
}

struct Hostile {
    user: UserId,
    role: Role,
    client: u64,
    doc: Doc,
    plan: PlanDoc,
    online: bool,
    /// Its copy could not take a stored update: made afresh before its
    /// next attack.
    stale: bool,
}

fn peer_doc(client: u64, state: &[u8]) -> Doc {
    let doc = new_doc_with_client_id(client);
    apply(&doc, state).unwrap();
    doc
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Honest(usize),
    Hostile(usize),
}

// ---------------------------------------------------------------------------
// Hostile updates.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    FieldSet,
    FieldRemove,
    PlanOrFinding,
    TextInsert,
    TextDelete,
    ForgedEntry,
    OwnEntry,
    BadTime,
    FrontInsert,
    DeleteEntries,
    DeleteStructure,
    ReplaceAction,
    ReplaceType,
    JunkRoot,
    BadKey,
    EmbedFormat,
    Binary,
    Combo,
    HugeValue,
    MissingPredecessor,
    UnseenDeletes,
    Forgery,
    CraftCross,
    CraftCycle,
    CraftParent,
    CraftGc,
    CraftRaw,
    Mutation,
    Replay,
    WholeState,
    Oversize,
}

/// Each kind with its weight.
const KINDS: [(Kind, u32); 31] = [
    (Kind::FieldSet, 8),
    (Kind::FieldRemove, 3),
    (Kind::PlanOrFinding, 3),
    (Kind::TextInsert, 6),
    (Kind::TextDelete, 6),
    (Kind::ForgedEntry, 8),
    (Kind::OwnEntry, 8),
    (Kind::BadTime, 4),
    (Kind::FrontInsert, 4),
    (Kind::DeleteEntries, 6),
    (Kind::DeleteStructure, 4),
    (Kind::ReplaceAction, 3),
    (Kind::ReplaceType, 3),
    (Kind::JunkRoot, 3),
    (Kind::BadKey, 3),
    (Kind::EmbedFormat, 3),
    (Kind::Binary, 2),
    (Kind::Combo, 6),
    (Kind::HugeValue, 1),
    (Kind::MissingPredecessor, 3),
    (Kind::UnseenDeletes, 3),
    (Kind::Forgery, 2),
    (Kind::CraftCross, 3),
    (Kind::CraftCycle, 2),
    (Kind::CraftParent, 2),
    (Kind::CraftGc, 2),
    (Kind::CraftRaw, 2),
    (Kind::Mutation, 12),
    (Kind::Replay, 2),
    (Kind::WholeState, 1),
    (Kind::Oversize, 1),
];

/// What a kind must get, beyond the rules every hostile update meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Must {
    Anything,
    Known,
    Incomplete,
    Refused,
}

struct Attack {
    label: String,
    updates: Vec<(Vec<u8>, Must)>,
}

/// What a hostile edit may look at while it writes.
struct Scene<'a> {
    rng: &'a mut Rng,
    actions: &'a [(ActionId, Template)],
    me: &'a UserId,
    my_role: Role,
    now: i64,
    n: u64,
}

impl Scene<'_> {
    fn action(&mut self) -> String {
        if self.rng.u8(..20) == 0 {
            return pick(self.rng, &["a-999", "zz-top", "a-0"]).to_string();
        }
        pick(self.rng, self.actions).0.to_string()
    }

    fn evil(&mut self) -> String {
        self.n += 1;
        format!("{EVIL}-{}-{}", self.me, self.n)
    }

    fn at(&mut self) -> UnixMillis {
        UnixMillis(self.now - self.rng.i64(0..3) * 1000)
    }

    /// Someone to write as: the hostile member themself, or an honest one
    /// (with their role), or someone unknown.
    fn author(&mut self, forged: bool) -> (UserId, Role) {
        if !forged {
            return (self.me.clone(), self.my_role);
        }
        match self.rng.u8(..6) {
            0 => (user("nobody.known"), Role::Admin),
            1 => {
                let (name, role, ..) = *pick(self.rng, &HONEST);
                // The right name in the wrong role.
                (
                    user(name),
                    if role == Role::Admin {
                        Role::Lead
                    } else {
                        Role::Admin
                    },
                )
            }
            _ => {
                let (name, role, ..) = *pick(self.rng, &HONEST);
                (user(name), role)
            }
        }
    }

    /// An entry for `log` of `view` (which may be missing), by `by` in
    /// `role`, at `at`, referring to what the action holds where it can.
    fn entry(
        &mut self,
        log: Log,
        view: Option<&ActionView>,
        by: &UserId,
        role: Role,
        at: UnixMillis,
    ) -> Any {
        let id = EntryId::new(format!("x-{}-{}", self.me, {
            self.n += 1;
            self.n
        }))
        .unwrap();
        let text = self.evil();
        let any_evidence = view
            .and_then(|v| v.evidence.last().map(|e| e.id.clone()))
            .unwrap_or_else(|| id.clone());
        let any_request = view
            .and_then(|v| v.due_requests.last().map(|r| r.id.clone()))
            .unwrap_or_else(|| id.clone());
        let any_check = view
            .and_then(|v| v.sustainment_checks.last().map(|c| c.id.clone()))
            .unwrap_or_else(|| id.clone());
        let value = match log {
            Log::Transitions => yrs::encoding::serde::to_any(&Transition {
                to: *pick(self.rng, Status::ALL),
                by: by.clone(),
                role,
                at,
                note: text,
                baseline: self.rng.u8(..4) == 0,
            }),
            Log::Updates => yrs::encoding::serde::to_any(&ProgressUpdate {
                id,
                text,
                by: by.clone(),
                at,
                confidence: None,
            }),
            Log::Evidence => yrs::encoding::serde::to_any(&Evidence {
                id,
                kind: EvidenceKind::Link,
                title: text,
                location: format!("https://{EVIL}.example"),
                evidence_type: None,
                period_from: None,
                period_to: None,
                site: String::new(),
                piece: None,
                by: by.clone(),
                at,
            }),
            Log::EvidenceReviews => yrs::encoding::serde::to_any(&EvidenceReview {
                id,
                evidence_id: any_evidence,
                verdict: *pick(self.rng, EvidenceVerdict::ALL),
                assurance: Some(*pick(self.rng, Assurance::ALL)),
                note: text,
                by: by.clone(),
                at,
            }),
            Log::Decisions => yrs::encoding::serde::to_any(&Decision {
                id,
                forum: text,
                meeting_date: Date::parse_iso("2026-06-01").unwrap(),
                outcome: *pick(self.rng, DecisionOutcome::ALL),
                minute_ref: String::new(),
                note: format!("{EVIL} minutes"),
                by: by.clone(),
                at,
                meeting: None,
            }),
            Log::DueChanges if self.rng.bool() => {
                yrs::encoding::serde::to_any(&DueChange::Request {
                    id,
                    new_due: Date::parse_iso("2030-01-01").unwrap(),
                    reason: text,
                    by: by.clone(),
                    at,
                })
            }
            Log::DueChanges => yrs::encoding::serde::to_any(&DueChange::Answer {
                id,
                request_id: any_request,
                verdict: *pick(self.rng, DueChangeVerdict::ALL),
                note: text,
                by: by.clone(),
                role,
                at,
            }),
            Log::Sustainment if self.rng.bool() => {
                yrs::encoding::serde::to_any(&Sustainment::Scheduled {
                    id,
                    due: Date::parse_iso("2027-06-01").unwrap(),
                    by: by.clone(),
                    at,
                })
            }
            Log::Sustainment => yrs::encoding::serde::to_any(&Sustainment::Result {
                id,
                check_id: any_check,
                outcome: *pick(self.rng, CheckOutcome::ALL),
                note: text,
                method: Some(plait_shared::ReauditMethod::RecordsAudit),
                sample: "10 records".into(),
                by: by.clone(),
                at,
            }),
        };
        value.unwrap()
    }

    /// A value for a field: a plausible one or junk.
    fn field_value(&mut self, key: &str) -> Any {
        match self.rng.u8(..8) {
            0 => Any::from(self.evil()),
            1 => Any::from(self.rng.f64() * 1e6),
            2 => Any::Bool(true),
            3 => Any::Null,
            4 => Any::from(vec![Any::from(self.evil())]),
            5 => Any::from(HashMap::from([("k".to_owned(), Any::from(self.evil()))])),
            _ => Any::from(match key {
                "owner" => pick(self.rng, &["mallory", "board", "owner", "lead"]).to_string(),
                "confidence" => pick(self.rng, Confidence::ALL).key().to_owned(),
                "assurance" => pick(self.rng, Assurance::ALL).key().to_owned(),
                "due_original" => "2031-01-01".to_owned(),
                "workstream_id" | "phase_id" => format!("{}-x", EVIL.to_lowercase()),
                "finding_ids" => "f-1".to_owned(),
                _ => self.evil(),
            }),
        }
    }
}

const LOG_KEYS: [(Log, &str); 7] = [
    (Log::Transitions, "transitions"),
    (Log::Updates, "updates"),
    (Log::Evidence, "evidence"),
    (Log::EvidenceReviews, "evidence_reviews"),
    (Log::Decisions, "decisions"),
    (Log::DueChanges, "due_changes"),
    (Log::Sustainment, "sustainment"),
];

/// One edit of the document's kind `kind` in the hostile's transaction;
/// its description.
fn hostile_edit(kind: Kind, s: &mut Scene<'_>, plan: &PlanDoc, txn: &mut TransactionMut) -> String {
    let action = s.action();
    match kind {
        Kind::FieldSet => {
            let key = *pick(
                s.rng,
                &[
                    "ref",
                    "owner",
                    "confidence",
                    "assurance",
                    "exec_lead",
                    "workstream_id",
                    "phase_id",
                    "finding_ids",
                    "due_original",
                    "colour",
                    "status",
                ],
            );
            let value = s.field_value(key);
            let Some(map) = action_map(txn, &action) else {
                return format!("set {action}/{key} (no action)");
            };
            map.insert(txn, key, value);
            format!("set {action}/{key}")
        }
        Kind::FieldRemove => {
            let key = pick(s.rng, &FieldKey::ALL).key();
            let Some(map) = action_map(txn, &action) else {
                return format!("remove {action}/{key} (no action)");
            };
            map.remove(txn, key);
            format!("remove {action}/{key}")
        }
        Kind::PlanOrFinding => match s.rng.u8(..5) {
            0 => {
                let map = txn.get_or_insert_map("plan");
                let key = *pick(
                    s.rng,
                    &["title", "core_service", "location", "programme_id"],
                );
                let value = s.evil();
                map.insert(txn, key, value);
                format!("plan/{key}")
            }
            1 => {
                if let Some(text) = finding_text(txn) {
                    let len = text.len(txn);
                    let at = s.rng.u32(..=len);
                    let value = s.evil();
                    text.insert(txn, at, &value);
                }
                "finding text".into()
            }
            2 => {
                let findings = txn.get_or_insert_map("findings");
                findings.remove(txn, "f-1");
                "remove finding".into()
            }
            3 => {
                let findings = txn.get_or_insert_map("findings");
                let map = findings.insert(txn, "f-evil", MapPrelim::default());
                let value = s.evil();
                map.insert(txn, "text", TextPrelim::new(value));
                "add finding".into()
            }
            _ => {
                if let Some(Out::YMap(finding)) = txn.get_or_insert_map("findings").get(txn, "f-1")
                {
                    let value = s.evil();
                    finding.insert(txn, "kind", value);
                }
                "finding kind".into()
            }
        },
        Kind::TextInsert | Kind::TextDelete => {
            let key = pick(s.rng, &ActionText::ALL).key();
            let Some(text) = text_ref(txn, &action, key) else {
                return format!("text {action}/{key} (none)");
            };
            let len = text.len(txn);
            if kind == Kind::TextInsert || len == 0 {
                let at = s.rng.u32(..=len);
                let value = s.evil();
                text.insert(txn, at, &value);
                format!("insert into {action}/{key}@{at}")
            } else {
                let at = s.rng.u32(..len);
                let n = s.rng.u32(1..=(len - at).min(12));
                text.remove_range(txn, at, n);
                format!("delete {action}/{key}@{at}+{n}")
            }
        }
        Kind::ForgedEntry | Kind::OwnEntry | Kind::BadTime => {
            let (log, key) = *pick(s.rng, &LOG_KEYS);
            let view = ActionId::new(&*action)
                .ok()
                .and_then(|id| plan.read_action(txn, &id));
            let forged = kind == Kind::ForgedEntry || s.rng.u8(..4) == 0;
            let (by, role) = s.author(forged);
            let at = if kind == Kind::BadTime {
                UnixMillis(match s.rng.u8(..4) {
                    0 => 1_577_836_800_000, // 2020
                    1 => s.now + 365 * DAY,
                    2 => s.now + 10 * 60 * 1000,
                    _ => -1,
                })
            } else {
                s.at()
            };
            let entry = s.entry(log, view.as_ref(), &by, role, at);
            let Some(array) = log_ref(txn, &action, key) else {
                return format!("entry {action}/{key} (no log)");
            };
            array.push_back(txn, entry);
            format!("{kind:?} {action}/{key} by {by} as {role:?} at {}", at.0)
        }
        Kind::FrontInsert => {
            let (log, key) = *pick(s.rng, &LOG_KEYS);
            let view = ActionId::new(&*action)
                .ok()
                .and_then(|id| plan.read_action(txn, &id));
            let forged = s.rng.bool();
            let (by, role) = s.author(forged);
            let at = s.at();
            let entry = s.entry(log, view.as_ref(), &by, role, at);
            let Some(array) = log_ref(txn, &action, key) else {
                return format!("front {action}/{key} (no log)");
            };
            let len = array.len(txn);
            let index = if len == 0 || s.rng.bool() {
                0
            } else {
                s.rng.u32(..len)
            };
            array.insert(txn, index, entry);
            format!("insert at {index} of {action}/{key}")
        }
        Kind::DeleteEntries => {
            let (_, key) = *pick(s.rng, &LOG_KEYS);
            let Some(array) = log_ref(txn, &action, key) else {
                return format!("delete entries {action}/{key} (no log)");
            };
            let len = array.len(txn);
            if len == 0 {
                return format!("delete entries {action}/{key} (empty)");
            }
            let (at, n) = if s.rng.u8(..3) == 0 {
                (0, len)
            } else {
                let at = s.rng.u32(..len);
                (at, s.rng.u32(1..=len - at))
            };
            array.remove_range(txn, at, n);
            format!("delete {n} entries of {action}/{key} from {at}")
        }
        Kind::DeleteStructure => match s.rng.u8(..4) {
            0 => {
                txn.get_or_insert_map("actions").remove(txn, &action);
                format!("remove action {action}")
            }
            1 => {
                let (_, key) = *pick(s.rng, &LOG_KEYS);
                if let Some(map) = action_map(txn, &action) {
                    map.remove(txn, key);
                }
                format!("remove log {action}/{key}")
            }
            2 => {
                let key = pick(s.rng, &ActionText::ALL).key();
                if let Some(map) = action_map(txn, &action) {
                    map.remove(txn, key);
                }
                format!("remove text {action}/{key}")
            }
            _ => {
                txn.get_or_insert_map("plan").remove(txn, "title");
                "remove plan/title".into()
            }
        },
        Kind::ReplaceAction => {
            let view = ActionId::new(&*action)
                .ok()
                .and_then(|id| plan.read_action(txn, &id));
            let actions = txn.get_or_insert_map("actions");
            let copy = actions.insert(txn, &*action, MapPrelim::default());
            let title = view
                .as_ref()
                .map(|v| v.title.clone())
                .unwrap_or_else(|| "copy".into());
            copy.insert(txn, "title", TextPrelim::new(title));
            copy.insert(txn, "owner", s.me.as_str());
            for (_, key) in LOG_KEYS {
                copy.insert(txn, key, ArrayPrelim::default());
            }
            if s.rng.bool() {
                let by = s.me.clone();
                let role = s.my_role;
                let at = s.at();
                let entry = s.entry(Log::Updates, view.as_ref(), &by, role, at);
                if let Some(Out::YArray(updates)) = copy.get(txn, "updates") {
                    updates.push_back(txn, entry);
                }
            }
            format!("replace action {action} with a copy")
        }
        Kind::ReplaceType => {
            let Some(map) = action_map(txn, &action) else {
                return format!("replace a type of {action} (no action)");
            };
            match s.rng.u8(..5) {
                0 => {
                    let (_, key) = *pick(s.rng, &LOG_KEYS);
                    let value = s.evil();
                    map.insert(txn, key, TextPrelim::new(value));
                    format!("{action}/{key} as a text")
                }
                1 => {
                    let (_, key) = *pick(s.rng, &LOG_KEYS);
                    map.insert(txn, key, ArrayPrelim::default());
                    format!("{action}/{key} as a new log")
                }
                2 => {
                    let key = pick(s.rng, &ActionText::ALL).key();
                    map.insert(txn, key, ArrayPrelim::default());
                    format!("{action}/{key} as a log")
                }
                3 => {
                    let key = pick(s.rng, &ActionText::ALL).key();
                    let value = s.evil();
                    map.insert(txn, key, TextPrelim::new(value));
                    format!("{action}/{key} as a new text")
                }
                _ => {
                    let key = *pick(s.rng, &["owner", "confidence", "ref"]);
                    let inner = map.insert(txn, key, MapPrelim::default());
                    let value = s.evil();
                    inner.insert(txn, "x", value);
                    format!("{action}/{key} as a map")
                }
            }
        }
        Kind::JunkRoot => match s.rng.u8(..4) {
            0 => {
                let name = format!("junk-{EVIL}-{}", s.rng.u8(..4));
                let map = txn.get_or_insert_map(name.as_str());
                let value = s.evil();
                map.insert(txn, "k", value);
                name
            }
            1 => {
                let text = txn.get_or_insert_text("big");
                let value = s.evil().repeat(50);
                text.insert(txn, 0, &value);
                "text root".into()
            }
            2 => {
                let array = txn.get_or_insert_array("arr");
                let value = s.evil();
                array.push_back(txn, value);
                "array root".into()
            }
            _ => {
                let xml = txn.get_or_insert_xml_fragment("xml");
                let value = s.evil();
                xml.push_back(txn, XmlTextPrelim::new(value));
                "xml root".into()
            }
        },
        Kind::BadKey => {
            let actions = txn.get_or_insert_map("actions");
            match s.rng.u8(..4) {
                0 => {
                    actions.insert(txn, "not an id!", MapPrelim::default());
                    "actions/'not an id!'".into()
                }
                1 => {
                    let id = format!("a-{}", s.evil().to_lowercase());
                    let map = actions.insert(txn, id.as_str(), MapPrelim::default());
                    let value = s.evil();
                    map.insert(txn, "title", TextPrelim::new(value));
                    format!("new action {id}")
                }
                2 => {
                    let value = s.evil();
                    actions.insert(txn, "", value);
                    "actions/''".into()
                }
                _ => {
                    if let Some(map) = action_map(txn, &action) {
                        let key = format!("colour-{EVIL}");
                        let value = s.evil();
                        map.insert(txn, key.as_str(), value);
                    }
                    format!("{action}/colour")
                }
            }
        }
        Kind::EmbedFormat => {
            let key = pick(s.rng, &ActionText::ALL).key();
            let Some(text) = text_ref(txn, &action, key) else {
                return format!("embed {action}/{key} (none)");
            };
            let len = text.len(txn);
            let at = s.rng.u32(..=len);
            match s.rng.u8(..3) {
                0 => {
                    let value = s.evil();
                    text.insert_embed(txn, at, Any::from(value));
                    format!("embed in {action}/{key}")
                }
                1 if len > 0 => {
                    let at = s.rng.u32(..len);
                    let n = s.rng.u32(1..=len - at);
                    let attrs = HashMap::from([(Arc::from("bold"), Any::Bool(true))]);
                    text.format(txn, at, n, attrs);
                    format!("format {action}/{key}")
                }
                _ => {
                    let attrs = HashMap::from([(Arc::from("href"), Any::from(EVIL))]);
                    let value = s.evil();
                    text.insert_with_attributes(txn, at, &value, attrs);
                    format!("insert with attributes in {action}/{key}")
                }
            }
        }
        Kind::Binary => {
            let blob = Any::from(format!("{EVIL}-binary").into_bytes());
            match s.rng.u8(..3) {
                0 => {
                    if let Some(array) = log_ref(txn, &action, "updates") {
                        array.push_back(txn, blob);
                    }
                    format!("binary entry in {action}")
                }
                1 => {
                    if let Some(map) = action_map(txn, &action) {
                        map.insert(txn, "ref", blob);
                    }
                    format!("binary field in {action}")
                }
                _ => {
                    if let Some(array) = log_ref(txn, &action, "evidence") {
                        let map = array.push_back(txn, MapPrelim::default());
                        let value = s.evil();
                        map.insert(txn, "title", value);
                    }
                    format!("a map as an entry of {action}")
                }
            }
        }
        Kind::HugeValue => {
            let big = format!("{EVIL} ").repeat(20_000);
            if s.rng.bool() {
                if let Some(array) = log_ref(txn, &action, "updates") {
                    let (by, role) = (s.me.clone(), s.my_role);
                    let at = s.at();
                    let entry = yrs::encoding::serde::to_any(&ProgressUpdate {
                        id: EntryId::new(format!("big-{}", s.rng.u32(..))).unwrap(),
                        text: big,
                        by,
                        at,
                        confidence: None,
                    })
                    .unwrap();
                    let _ = role;
                    array.push_back(txn, entry);
                }
                format!("a 100 KB note on {action}")
            } else {
                if let Some(map) = action_map(txn, &action) {
                    map.insert(txn, "exec_lead", big);
                }
                format!("a 100 KB field on {action}")
            }
        }
        _ => unreachable!("not a document edit: {kind:?}"),
    }
}

const EDIT_KINDS: [Kind; 18] = [
    Kind::FieldSet,
    Kind::FieldRemove,
    Kind::PlanOrFinding,
    Kind::TextInsert,
    Kind::TextDelete,
    Kind::ForgedEntry,
    Kind::OwnEntry,
    Kind::BadTime,
    Kind::FrontInsert,
    Kind::DeleteEntries,
    Kind::DeleteStructure,
    Kind::ReplaceAction,
    Kind::ReplaceType,
    Kind::JunkRoot,
    Kind::BadKey,
    Kind::EmbedFormat,
    Kind::Binary,
    Kind::HugeValue,
];

fn mutate(rng: &mut Rng, bytes: &[u8]) -> (String, Vec<u8>) {
    let mut b = bytes.to_vec();
    let mut done = Vec::new();
    for _ in 0..1 + rng.usize(..3) {
        match rng.u8(..8) {
            0 if !b.is_empty() => {
                let i = rng.usize(..b.len());
                b[i] ^= 1 << rng.u8(..8);
                done.push(format!("flip@{i}"));
            }
            1 if !b.is_empty() => {
                let i = rng.usize(..b.len());
                b[i] = rng.u8(..);
                done.push(format!("set@{i}"));
            }
            2 if b.len() > 1 => {
                let n = rng.usize(1..b.len());
                b.truncate(n);
                done.push(format!("truncate@{n}"));
            }
            3 => {
                let i = rng.usize(..=b.len());
                b.insert(i, rng.u8(..));
                done.push(format!("insert@{i}"));
            }
            4 if !b.is_empty() => {
                let i = rng.usize(..b.len());
                b.remove(i);
                done.push(format!("remove@{i}"));
            }
            5 if b.len() > 2 => {
                let i = rng.usize(..b.len() - 1);
                let j = rng.usize(i + 1..=b.len().min(i + 24));
                let chunk = b[i..j].to_vec();
                b.splice(j..j, chunk);
                done.push(format!("duplicate@{i}..{j}"));
            }
            6 if !b.is_empty() => {
                let i = rng.usize(..b.len());
                b[i] = b[i].wrapping_add(1);
                done.push(format!("increment@{i}"));
            }
            _ if !b.is_empty() => {
                let i = rng.usize(..b.len());
                b[i] = *pick(rng, &[0x00, 0x7f, 0x80, 0xff, 0x08, 0x77]);
                done.push(format!("edge@{i}"));
            }
            _ => {}
        }
    }
    (done.join(","), b)
}

fn delete_update(deletes: &IdSet) -> Vec<u8> {
    let mut encoder = EncoderV1::new();
    encoder.write_var(0u32);
    deletes.encode(&mut encoder);
    encoder.to_vec()
}

fn string_content(s: &str) -> ItemContent {
    ItemContent::String(SplittableString::from(s))
}

// ---------------------------------------------------------------------------
// The world.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Config {
    seed: u64,
    hostile_updates: u64,
    actions: usize,
    /// The share of steps an honest member takes.
    honest_share: f64,
    check_every: u64,
    /// Compact (and so count the document's size afresh) this often.
    compact_every: u64,
    /// How many of the last steps a failure lists.
    history: usize,
    /// Only these kinds of hostile update (all when `None`).
    kinds: Option<Vec<Kind>>,
    /// Compare the server's whole state before and after every this many
    /// updates (a rejected one must leave it as it was).
    compare_every: u64,
    /// Print a line of progress every this many hostile updates (0: never).
    progress_every: u64,
    /// Two nodes sharing the stored log, the hostile members' updates taken
    /// by the second.
    two_nodes: bool,
}

#[derive(Debug, Default)]
struct Stats {
    steps: u64,
    hostile: u64,
    hostile_sent_bytes: u64,
    hostile_stored_bytes: u64,
    /// The most stored for one hostile update: stored, sent, kind.
    hostile_max_stored: Option<(usize, usize, Kind)>,
    hostile_refusals: u64,
    honest_ops: u64,
    honest_updates: u64,
    honest_online: u64,
    honest_offline_batches: u64,
    honest_refusals: u64,
    honest_bytes: u64,
    verdicts: BTreeMap<Kind, [u64; 5]>,
    hostile_resets: u64,
    checkpoints: u64,
    /// Time in `decide` and `integrate`, for hostile and honest updates.
    hostile_admission: Duration,
    honest_admission: Duration,
    /// At the end: updates stored, their bytes, the state's bytes.
    stored_updates: u64,
    stored_bytes: u64,
    state_bytes: u64,
}

impl Stats {
    /// Adds another run's numbers (the largest state is kept).
    fn merge(&mut self, other: &Stats) {
        self.steps += other.steps;
        self.hostile += other.hostile;
        self.hostile_sent_bytes += other.hostile_sent_bytes;
        self.hostile_stored_bytes += other.hostile_stored_bytes;
        if other.hostile_max_stored.map(|m| m.0) > self.hostile_max_stored.map(|m| m.0) {
            self.hostile_max_stored = other.hostile_max_stored;
        }
        self.hostile_refusals += other.hostile_refusals;
        self.honest_ops += other.honest_ops;
        self.honest_updates += other.honest_updates;
        self.honest_online += other.honest_online;
        self.honest_offline_batches += other.honest_offline_batches;
        self.honest_refusals += other.honest_refusals;
        self.honest_bytes += other.honest_bytes;
        for (kind, v) in &other.verdicts {
            let mine = self.verdicts.entry(*kind).or_default();
            for (a, b) in mine.iter_mut().zip(v) {
                *a += b;
            }
        }
        self.hostile_resets += other.hostile_resets;
        self.checkpoints += other.checkpoints;
        self.hostile_admission += other.hostile_admission;
        self.honest_admission += other.honest_admission;
        self.stored_updates += other.stored_updates;
        self.stored_bytes += other.stored_bytes;
        self.state_bytes = self.state_bytes.max(other.state_bytes);
    }
}

struct World {
    cfg: Config,
    rng: Rng,
    now: i64,
    server: Server,
    honest: Vec<Honest>,
    hostile: Vec<Hostile>,
    actions: Vec<(ActionId, Template)>,
    seed_view: PlanView,
    ledger: Ledger,
    stats: Stats,
    history: VecDeque<String>,
    /// Recent valid updates, for mutations and replays.
    recent: VecDeque<Vec<u8>>,
    salt: u32,
    markers: u32,
    hostile_n: u64,
    oversize: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Note,
    Evidence,
    TextInsert,
    TextDelete,
    Confidence,
    Assurance,
    AdminField,
    OwnerField,
    DueOriginal,
    DueRequest,
    DueAnswer,
    Transition,
    Review,
    Decision,
    Schedule,
    Reaudit,
}

impl World {
    fn new(cfg: Config) -> World {
        let (seed_doc, actions) = seed_plan(cfg.actions);
        let mut server = Server::new(&full_state(&seed_doc)).unwrap();
        server.compare_every = cfg.compare_every.max(1);
        if cfg.two_nodes {
            server.add_node(HOSTILE.iter().map(|h| h.0.to_owned()).collect());
        }
        let state = full_state(&server.doc);
        let honest = HONEST
            .iter()
            .map(|&(name, role, client, letter)| {
                let doc = peer_doc(client, &state);
                Honest {
                    name,
                    user: user(name),
                    role,
                    client,
                    letter,
                    plan: PlanDoc::new(doc.clone()),
                    doc,
                    online: true,
                    pending: Vec::new(),
                }
            })
            .collect();
        let hostile = HOSTILE
            .iter()
            .map(|&(name, role, client)| {
                let doc = peer_doc(client, &state);
                Hostile {
                    user: user(name),
                    role,
                    client,
                    plan: PlanDoc::new(doc.clone()),
                    doc,
                    online: true,
                    stale: false,
                }
            })
            .collect();
        let seed_view = server.view();
        let mut ledger = Ledger::default();
        for (id, view) in &seed_view.actions {
            for (key, value) in field_strings(view) {
                ledger
                    .allowed
                    .entry((id.clone(), key))
                    .or_default()
                    .insert(value);
            }
            for t in &view.transitions {
                ledger.transitions.insert(transition_key(id, t));
            }
        }
        let rng = Rng::with_seed(cfg.seed);
        World {
            rng,
            now: NOW0,
            server,
            honest,
            hostile,
            actions,
            seed_view,
            ledger,
            stats: Stats::default(),
            history: VecDeque::new(),
            recent: VecDeque::new(),
            salt: 0,
            markers: 0,
            hostile_n: 0,
            oversize: vec![0x01; Limits::DEFAULT.max_update_bytes + 1],
            cfg,
        }
    }

    fn note(&mut self, line: String) {
        if self.history.len() >= self.cfg.history {
            self.history.pop_front();
        }
        self.history
            .push_back(format!("step {}: {line}", self.stats.steps));
    }

    fn fail(&self, what: impl std::fmt::Display) -> ! {
        let history: Vec<&str> = self.history.iter().map(String::as_str).collect();
        panic!(
            "\nadversarial run failed (seed {seed:#x}, step {step}, hostile update {hostile}):\n  {what}\n\
             the last steps:\n    {history}\n\
             rerun: PLAIT_ADVERSARIAL_SEED={seed:#x} PLAIT_ADVERSARIAL_UPDATES={hostile} \
             PLAIT_ADVERSARIAL_CHECK_EVERY=1 cargo test -p plait-shared --test adversarial\n",
            seed = self.cfg.seed,
            step = self.stats.steps,
            hostile = self.stats.hostile,
            history = history.join("\n    "),
        )
    }

    fn remember(&mut self, bytes: &[u8]) {
        if bytes.len() > 64 * 1024 {
            return;
        }
        if self.recent.len() == 48 {
            self.recent.pop_front();
        }
        self.recent.push_back(bytes.to_vec());
    }

    fn run(&mut self) {
        // Every honest member writes once first, so each client id is
        // theirs before anyone else can write under it.
        for m in 0..self.honest.len() {
            self.stats.steps += 1;
            self.now += 1000;
            self.server.now = self.now;
            let mut tries = 0;
            while !self.honest_op(m) {
                tries += 1;
                assert!(tries < 1000, "no edit for {}", self.honest[m].name);
            }
        }
        let started = Instant::now();
        let mut last_progress = 0;
        while self.stats.hostile < self.cfg.hostile_updates {
            self.stats.steps += 1;
            self.now += 1000;
            self.server.now = self.now;
            if self.rng.f64() < self.cfg.honest_share {
                self.honest_step();
            } else {
                self.hostile_step();
            }
            if self.stats.steps % self.cfg.check_every == 0 {
                self.checkpoint();
            }
            if self.stats.steps % self.cfg.compact_every == 0 {
                self.server.compact();
            }
            if self.cfg.progress_every > 0
                && self.stats.hostile / self.cfg.progress_every > last_progress
            {
                last_progress = self.stats.hostile / self.cfg.progress_every;
                eprintln!(
                    "{} hostile updates, {} honest, {:.0} s, state {} bytes",
                    self.stats.hostile,
                    self.stats.honest_updates,
                    started.elapsed().as_secs_f64(),
                    self.server.doc_bytes
                );
            }
        }
        self.finish();
    }

    // -- delivery --------------------------------------------------------

    /// Sends a stored update to every online peer but its sender (and to
    /// the sender too when it must converge back).
    fn deliver(&mut self, stored: &[u8], sender: Peer, echo: bool) {
        for i in 0..self.honest.len() {
            if !self.honest[i].online || (sender == Peer::Honest(i) && !echo) {
                continue;
            }
            if let Err(e) = apply(&self.honest[i].doc, stored) {
                self.fail(format!(
                    "{} could not apply a stored update: {e}",
                    self.honest[i].name
                ));
            }
        }
        for i in 0..self.hostile.len() {
            if !self.hostile[i].online || (sender == Peer::Hostile(i) && !echo) {
                continue;
            }
            // A hostile copy holds what the server never took; whatever
            // yrs makes of that is its own business: a copy yrs cannot
            // apply to any more is made afresh before its next attack.
            let doc = self.hostile[i].doc.clone();
            let applied = catch_unwind(AssertUnwindSafe(|| apply(&doc, stored)));
            if !matches!(applied, Ok(Ok(()))) {
                self.hostile[i].stale = true;
            }
        }
    }

    fn catch_up(&mut self, doc: &Doc) -> Result<(), String> {
        let diff = since(&self.server.doc, &state_vector(doc));
        apply(doc, &diff)
    }

    // -- honest members ----------------------------------------------------

    fn honest_step(&mut self) {
        let m = self.rng.usize(..self.honest.len());
        if self.honest[m].online {
            if self.rng.f64() < 0.08 {
                self.honest[m].online = false;
                let name = self.honest[m].name;
                self.note(format!("{name} goes offline"));
                return;
            }
        } else if self.rng.f64() < 0.15 {
            self.reconnect(m);
            return;
        }
        let mut tries = 0;
        while !self.honest_op(m) && tries < 20 {
            tries += 1;
        }
    }

    fn reconnect(&mut self, m: usize) {
        let name = self.honest[m].name;
        let doc = self.honest[m].doc.clone();
        let server_sv = self.server.sv();
        // Whatever the server lacks is sent, as a client does: edits (a
        // deletion takes no clock) and clocks (edits that cancel out, typed
        // and deleted offline, still take some).
        if !self.honest[m].pending.is_empty() || !covers(&server_sv, &state_vector(&doc)) {
            let bytes = since(&doc, &server_sv);
            self.remember(&bytes);
            let (who, role) = (self.honest[m].user.clone(), self.honest[m].role);
            let author = Author::Member {
                user: &who,
                role,
                rules: plait_shared::Governance::DEFAULT,
            };
            let spent = self.server.spent;
            let sent = self.server.send(author, &bytes);
            self.stats.honest_admission += self.server.spent - spent;
            let sent = match sent {
                Ok(sent) => sent,
                Err(e) => self.fail(format!("{name}'s offline work: {e}")),
            };
            self.stats.honest_updates += 1;
            self.stats.honest_offline_batches += 1;
            self.stats.honest_bytes += bytes.len() as u64;
            let Sent::Admitted(outcome) = sent else {
                self.fail(format!(
                    "{name}'s offline work ({} bytes) was not admitted: {sent:?}",
                    bytes.len()
                ))
            };
            for refusal in &outcome.refused {
                if !may_be_refused(refusal) {
                    let context = self.log_context(m, &refusal.change);
                    self.fail(format!(
                        "{name}'s offline work lost something concurrency does not explain: {refusal:?}\n{context}"
                    ));
                }
            }
            self.stats.honest_refusals += outcome.refused.len() as u64;
            let pending = std::mem::take(&mut self.honest[m].pending);
            for expect in pending.iter().filter(|e| e.must) {
                if !outcome
                    .changes
                    .iter()
                    .any(|c| expect_matches(&expect.change, c))
                {
                    self.fail(format!(
                        "{name}'s offline change {:?} is not in its audit record {:?} (refused {:?})",
                        expect.change, outcome.changes, outcome.refused
                    ));
                }
            }
            self.note(format!(
                "{name} comes back: {} bytes, {} changes, {} refused",
                bytes.len(),
                outcome.changes.len(),
                outcome.refused.len()
            ));
            self.remember(&outcome.update);
            self.deliver(&outcome.update, Peer::Honest(m), false);
        } else {
            self.note(format!("{name} comes back"));
        }
        if let Err(e) = self.catch_up(&doc) {
            self.fail(format!("{name} could not catch up: {e}"));
        }
        self.honest[m].online = true;
    }

    /// The log a refused change concerns, on the server and in member
    /// `m`'s copy, for a failure's message.
    fn log_context(&self, m: usize, change: &Change) -> String {
        let (Change::Appended(action, log, _) | Change::Rewritten(action, log)) = change else {
            return String::new();
        };
        let show = |view: Option<ActionView>| -> String {
            let Some(view) = view else {
                return "    (no action)".into();
            };
            let lines: Vec<String> = match log {
                Log::Transitions => view
                    .transitions
                    .iter()
                    .map(|t| format!("{:?} by {} ({:?}) at {}", t.to, t.by, t.role, t.at.0))
                    .collect(),
                _ => entries_with_ids(&view)
                    .into_iter()
                    .filter(|(_, l, _)| l == log)
                    .map(|(_, _, e)| format!("{e:?}"))
                    .collect(),
            };
            format!("    {}", lines.join("\n    "))
        };
        let server = self
            .server
            .plan
            .read_action(&self.server.doc.transact(), action);
        let member = self.honest[m]
            .plan
            .read_action(&self.honest[m].doc.transact(), action);
        format!(
            "  {action}/{} on the server now:\n{}\n  in {}'s copy:\n{}",
            log.key(),
            show(server),
            self.honest[m].name,
            show(member)
        )
    }

    fn next_salt(&mut self) -> u32 {
        self.salt += 1;
        self.salt
    }

    /// One allowed edit by honest member `m`; false when the action picked
    /// offers them nothing.
    fn honest_op(&mut self, m: usize) -> bool {
        let (name, role, client, letter) = {
            let h = &self.honest[m];
            (h.name, h.role, h.client, h.letter)
        };
        let me = self.honest[m].user.clone();
        let doc = self.honest[m].doc.clone();
        let plan = self.honest[m].plan.clone();
        let (action, template) = pick(&mut self.rng, &self.actions).clone();
        let Some(before) = plan.read_action(&doc.transact(), &action) else {
            self.fail(format!("{name} cannot read {action}"));
        };
        let owner = before.owner.as_ref() == Some(&me);
        let lead_or_admin = matches!(role, Role::Lead | Role::Admin);
        let mut ops = Vec::new();
        if owner || role != Role::Contributor {
            ops.push(Op::Note);
        }
        if owner || lead_or_admin {
            ops.extend([Op::Evidence, Op::TextInsert, Op::TextDelete, Op::Confidence]);
        }
        if (role == Role::Validator && !owner) || matches!(role, Role::Approver | Role::Admin) {
            ops.push(Op::Assurance);
        }
        if lead_or_admin {
            ops.push(Op::AdminField);
            if matches!(template, Template::OthersInProgress | Template::Unowned) {
                ops.push(Op::OwnerField);
            }
            if before.due_original.is_none() {
                ops.push(Op::DueOriginal);
            }
            if before
                .due_requests
                .iter()
                .any(|r| r.answer.is_none() && r.by != me)
            {
                ops.extend([Op::DueAnswer, Op::DueAnswer]);
            }
        }
        if owner {
            ops.push(Op::DueRequest);
        }
        if !allowed_steps(&before, &me, role).is_empty() {
            ops.extend([Op::Transition, Op::Transition, Op::Transition]);
        }
        if role == Role::Validator && !owner && !before.evidence.is_empty() {
            ops.extend([Op::Review, Op::Review]);
        }
        if role == Role::Approver {
            ops.extend([Op::Decision, Op::Decision]);
        }
        if matches!(role, Role::Validator | Role::Approver | Role::Admin) {
            ops.push(Op::Schedule);
        }
        // A re-audit can be recorded once it is open (shortly before due).
        let open_now = |c: &&plait_shared::plan::SustainmentCheckView| {
            c.result.is_none()
                && UnixMillis(self.now).date()
                    >= plait_shared::Governance::DEFAULT.reaudit_opens(c.due)
        };
        if role == Role::Validator
            && !owner
            && before.sustainment_checks.iter().any(|c| open_now(&c))
        {
            ops.extend([Op::Reaudit, Op::Reaudit]);
        }
        if ops.is_empty() {
            return false;
        }
        let op = *pick(&mut self.rng, &ops);
        let salt = self.next_salt();
        let at = UnixMillis(self.now);
        let who = Who {
            user: &me,
            role,
            at,
        };
        let seen = state_vector(&doc);
        let mut expects: Vec<Expect> = Vec::new();
        let mut field_event: Option<plait_shared::keys::FieldKey> = None;
        let mut marker: Option<(&'static str, String, bool)> = None;
        let label;
        let bytes = {
            let mut txn = doc.transact_mut();
            match op {
                Op::Note => {
                    plan.append(
                        &mut txn,
                        &action,
                        &LogEntry::Progress(ProgressUpdate {
                            id: workflow::new_entry_id("u", &who, salt),
                            text: format!("Progress {salt} by {name}: ward walked"),
                            by: me.clone(),
                            at,
                            confidence: None,
                        }),
                    )
                    .unwrap();
                    label = "note".to_owned();
                }
                Op::Evidence => {
                    workflow::attach_evidence(
                        &plan,
                        &mut txn,
                        &action,
                        &who,
                        &workflow::EvidenceInput::new(
                            *pick(&mut self.rng, EvidenceKind::ALL),
                            &format!("Evidence {salt}"),
                            "https://intranet.example/evidence",
                        ),
                        salt,
                    )
                    .unwrap();
                    label = "evidence".to_owned();
                }
                Op::TextInsert => {
                    // Once agreed, a title or closure criteria changes only
                    // with the executive lead: an owner writes in the
                    // description (a draft's agreement may overtake them
                    // offline).
                    let which = if lead_or_admin {
                        *pick(&mut self.rng, &ActionText::ALL)
                    } else {
                        ActionText::Description
                    };
                    let key = which.key();
                    let text = text_of(&before, key);
                    let spans = marker_spans(&text);
                    let chars = text.chars().count();
                    let positions: Vec<usize> = (0..=chars)
                        .filter(|p| spans.iter().all(|(a, b)| !(a < p && p < b)))
                        .collect();
                    let p = *pick(&mut self.rng, &positions);
                    self.markers += 1;
                    let value = format!("[{letter}{}]", self.markers);
                    plan.edit_action_text(
                        &mut txn,
                        &action,
                        which,
                        &TextEdit {
                            index: utf16_offset(&text, p),
                            delete: 0,
                            insert: value.clone(),
                        },
                    )
                    .unwrap();
                    expects.push(Expect {
                        change: Change::Text(action.clone(), which),
                        must: true,
                        marker: Some(value.clone()),
                    });
                    marker = Some((key, value, true));
                    label = format!("insert into {key}");
                }
                Op::TextDelete => {
                    // Their own marker, still live and whole in their copy.
                    let mine: Vec<(&'static str, String)> = self
                        .ledger
                        .markers
                        .iter()
                        .filter(|mk| mk.live && mk.by == name && mk.action == action)
                        .map(|mk| (mk.key, mk.text.clone()))
                        .filter(|(key, text)| text_of(&before, key).contains(text.as_str()))
                        .collect();
                    if mine.is_empty() {
                        return false;
                    }
                    let (key, value) = pick(&mut self.rng, &mine).clone();
                    let which = ActionText::from_key(key).unwrap();
                    let text = text_of(&before, key);
                    let start = text.find(value.as_str()).unwrap();
                    plan.edit_action_text(
                        &mut txn,
                        &action,
                        which,
                        &TextEdit {
                            index: utf16_len(&text[..start]),
                            delete: utf16_len(&value),
                            insert: String::new(),
                        },
                    )
                    .unwrap();
                    // Deleting an insertion not yet sent: neither is news.
                    let unsent = self.honest[m]
                        .pending
                        .iter()
                        .position(|e| e.marker.as_deref() == Some(value.as_str()));
                    match unsent {
                        Some(i) => {
                            self.honest[m].pending.remove(i);
                        }
                        None => expects.push(Expect {
                            change: Change::Text(action.clone(), which),
                            must: true,
                            marker: None,
                        }),
                    }
                    marker = Some((key, value, false));
                    label = format!("delete from {key}");
                }
                Op::Confidence
                | Op::Assurance
                | Op::AdminField
                | Op::OwnerField
                | Op::DueOriginal => {
                    let field = match op {
                        Op::Confidence => {
                            ActionField::Confidence(Some(*pick(&mut self.rng, Confidence::ALL)))
                        }
                        Op::Assurance => {
                            ActionField::Assurance(Some(*pick(&mut self.rng, Assurance::ALL)))
                        }
                        Op::OwnerField => ActionField::Owner(Some(user(pick::<&str>(
                            &mut self.rng,
                            &OTHER_OWNERS,
                        )))),
                        Op::DueOriginal => ActionField::DueOriginal(
                            Date::from_ymd(2027, 1 + self.rng.u8(..12), 1 + self.rng.u8(..28))
                                .unwrap(),
                        ),
                        _ => match self.rng.u8(..4) {
                            // Only the programme manager sets the executive
                            // lead; keeping it the lead keeps their portfolio.
                            1 if role == Role::Admin => ActionField::ExecLead("lead".into()),
                            0 | 1 => ActionField::Reference(format!("R-{letter}{salt}")),
                            2 => ActionField::Workstream(Some(
                                WorkstreamId::new(format!("ws-{letter}{salt}")).unwrap(),
                            )),
                            _ => ActionField::Phase(Some(
                                PhaseId::new(format!("ph-{letter}{salt}")).unwrap(),
                            )),
                        },
                    };
                    plan.set_action_field(&mut txn, &action, &field).unwrap();
                    expects.push(Expect {
                        change: Change::Field(action.clone(), field.key()),
                        must: !matches!(op, Op::DueOriginal),
                        marker: None,
                    });
                    field_event = Some(field.key());
                    label = format!("set {}", field.key());
                }
                Op::DueRequest => {
                    workflow::request_due_change(
                        &plan,
                        &mut txn,
                        &action,
                        &who,
                        Date::from_ymd(2027, 1 + self.rng.u8(..12), 1 + self.rng.u8(..28)).unwrap(),
                        "Contractor delayed",
                        salt,
                    )
                    .unwrap();
                    label = "due-date request".to_owned();
                }
                Op::DueAnswer => {
                    let open: Vec<EntryId> = before
                        .due_requests
                        .iter()
                        .filter(|r| r.answer.is_none() && r.by != me)
                        .map(|r| r.id.clone())
                        .collect();
                    let request = pick(&mut self.rng, &open).clone();
                    workflow::answer_due_change(
                        &plan,
                        &mut txn,
                        &action,
                        &who,
                        &request,
                        *pick(&mut self.rng, DueChangeVerdict::ALL),
                        "Considered at the exec meeting",
                        salt,
                    )
                    .unwrap();
                    label = "due-date answer".to_owned();
                }
                Op::Transition => {
                    let steps = allowed_steps(&before, &me, role);
                    let to = *pick(&mut self.rng, &steps);
                    plan.append(
                        &mut txn,
                        &action,
                        &LogEntry::Transition(Transition {
                            to,
                            by: me.clone(),
                            role,
                            at,
                            note: format!("Reason {salt}"),
                            baseline: false,
                        }),
                    )
                    .unwrap();
                    label = format!("status {} -> {to:?}", before.status());
                }
                Op::Review => {
                    let evidence = pick(&mut self.rng, &before.evidence).id.clone();
                    workflow::review_evidence(
                        &plan,
                        &mut txn,
                        &action,
                        &who,
                        &evidence,
                        *pick(&mut self.rng, EvidenceVerdict::ALL),
                        "Checked on the ward",
                        // A verdict moves the action where it awaits one.
                        workflow::awaits_validation(
                            before.status(),
                            &plait_shared::Governance::DEFAULT,
                        ),
                        // An honest validator says how much it assures.
                        Some(*pick(
                            &mut self.rng,
                            &[
                                Assurance::Substantial,
                                Assurance::Reasonable,
                                Assurance::Limited,
                            ],
                        )),
                        &plait_shared::Governance::DEFAULT,
                        salt,
                    )
                    .unwrap();
                    // Accepting may set the assurance level too.
                    let now = plan.read_action(&txn, &action).map(|a| a.assurance);
                    if now != Some(before.assurance) {
                        field_event = Some(plait_shared::keys::FieldKey::Assurance);
                    }
                    label = "evidence review".to_owned();
                }
                Op::Decision => {
                    let status = before.status();
                    let mut outcomes = vec![DecisionOutcome::Extend];
                    if status == Status::EvidenceAccepted {
                        outcomes.extend([
                            DecisionOutcome::ApproveClosure,
                            DecisionOutcome::ApproveClosure,
                            DecisionOutcome::Return,
                        ]);
                    }
                    if matches!(status, Status::Closed | Status::Embedded) {
                        outcomes.push(DecisionOutcome::Reopen);
                    }
                    let outcome = *pick(&mut self.rng, &outcomes);
                    workflow::record_decision(
                        &plan,
                        &mut txn,
                        &action,
                        &who,
                        &DecisionInput {
                            forum: "Quality and Safety Committee",
                            meeting_date: Date::parse_iso("2026-06-11").unwrap(),
                            outcome,
                            minute_ref: "QSC/26/1",
                            note: "As minuted",
                            reaudit_months: &workflow::DEFAULT_REAUDIT_MONTHS,
                            meeting: None,
                        },
                        salt,
                    )
                    .unwrap();
                    label = format!("decision {outcome:?}");
                }
                Op::Schedule => {
                    plan.append(
                        &mut txn,
                        &action,
                        &LogEntry::Sustainment(Sustainment::Scheduled {
                            id: workflow::new_entry_id("s", &who, salt),
                            due: UnixMillis(at.0 + 7 * DAY).date(),
                            by: me.clone(),
                            at,
                        }),
                    )
                    .unwrap();
                    label = "re-audit scheduled".to_owned();
                }
                Op::Reaudit => {
                    let open: Vec<EntryId> = before
                        .sustainment_checks
                        .iter()
                        .filter(|c| {
                            c.result.is_none()
                                && at.date()
                                    >= plait_shared::Governance::DEFAULT.reaudit_opens(c.due)
                        })
                        .map(|c| c.id.clone())
                        .collect();
                    let check = pick(&mut self.rng, &open).clone();
                    workflow::record_reaudit(
                        &plan,
                        &mut txn,
                        &action,
                        &who,
                        &workflow::ReauditInput {
                            check_id: &check,
                            outcome: *pick(&mut self.rng, CheckOutcome::ALL),
                            method: Some(plait_shared::ReauditMethod::RecordsAudit),
                            sample: "10 records",
                            note: "Doors checked",
                        },
                        &plait_shared::Governance::DEFAULT,
                        salt,
                    )
                    .unwrap();
                    label = "re-audit result".to_owned();
                }
            }
            txn.encode_update_v1()
        };
        let after = plan.read_action(&doc.transact(), &action).unwrap();
        let online = self.honest[m].online;
        // Record what was written.
        let grown: [(Log, usize, usize); 7] = [
            (
                Log::Transitions,
                before.transitions.len(),
                after.transitions.len(),
            ),
            (Log::Updates, before.updates.len(), after.updates.len()),
            (Log::Evidence, before.evidence.len(), after.evidence.len()),
            (
                Log::EvidenceReviews,
                before.evidence_reviews.len(),
                after.evidence_reviews.len(),
            ),
            (
                Log::Decisions,
                before.decisions.len(),
                after.decisions.len(),
            ),
            (
                Log::DueChanges,
                before.due_changes.len(),
                after.due_changes.len(),
            ),
            (
                Log::Sustainment,
                before.sustainment.len(),
                after.sustainment.len(),
            ),
        ];
        for (log, from, to) in grown {
            if to <= from {
                continue;
            }
            if log == Log::Transitions {
                for t in &after.transitions[from..to] {
                    self.ledger.transitions.insert(transition_key(&action, t));
                    if online {
                        self.ledger
                            .online_transitions
                            .push((action.clone(), t.clone()));
                    }
                }
                expects.push(Expect {
                    change: Change::Appended(action.clone(), log, vec![]),
                    must: false,
                    marker: None,
                });
                continue;
            }
            let all = entries_with_ids(&after);
            let mut must_any = false;
            for (id, l, entry) in all.into_iter().filter(|(_, l, _)| *l == log) {
                if self.ledger.entries.contains_key(&id)
                    || entries_with_ids(&before).iter().any(|(i, ..)| *i == id)
                {
                    continue;
                }
                let must = !matches!(entry, LogEntry::DueChange(DueChange::Answer { .. }));
                must_any |= must;
                self.ledger.entries.insert(
                    id,
                    EntryRecord {
                        action: action.clone(),
                        log: l,
                        entry,
                        must,
                        online,
                    },
                );
            }
            expects.push(Expect {
                change: Change::Appended(action.clone(), log, vec![]),
                must: must_any,
                marker: None,
            });
        }
        if let Some(key) = field_event.map(plait_shared::keys::FieldKey::key) {
            let value = field_string(&after, key);
            self.ledger
                .allowed
                .entry((action.clone(), key))
                .or_default()
                .insert(value.clone());
            self.ledger
                .fields
                .entry(action.clone())
                .or_default()
                .push(FieldEvent {
                    key,
                    value,
                    item: ID::new(ClientID::new(client), seen.get(&ClientID::new(client))),
                    seen,
                    by: name,
                });
        }
        if let Some((key, text, live)) = marker {
            if live {
                self.ledger.markers.push(Marker {
                    action: action.clone(),
                    key,
                    text,
                    live: true,
                    by: name,
                });
            } else if let Some(mk) = self
                .ledger
                .markers
                .iter_mut()
                .find(|mk| mk.text == text && mk.action == action)
            {
                mk.live = false;
            }
        }
        self.stats.honest_ops += 1;
        if !online {
            self.honest[m].pending.extend(expects);
            self.note(format!("{name} offline: {label} on {action}"));
            return true;
        }
        // Online: sent at once, admitted whole.
        self.remember(&bytes);
        let author = Author::Member {
            user: &me,
            role,
            rules: plait_shared::Governance::DEFAULT,
        };
        let spent = self.server.spent;
        let sent = self.server.send(author, &bytes);
        self.stats.honest_admission += self.server.spent - spent;
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => self.fail(format!("{name}'s {label} on {action}: {e}")),
        };
        self.stats.honest_updates += 1;
        self.stats.honest_online += 1;
        self.stats.honest_bytes += bytes.len() as u64;
        let Sent::Admitted(outcome) = sent else {
            self.fail(format!(
                "{name}'s online {label} on {action} was not admitted: {sent:?}\n  the update: {:?}\n  \
                 {action}'s texts in their copy: {:?}\n  on the server: {:?}",
                Update::decode_v1(&bytes).map(|u| format!("{u:?}")),
                plan.read_action(&doc.transact(), &action)
                    .map(|a| (a.title, a.description, a.closure_criteria)),
                self.server
                    .plan
                    .read_action(&self.server.doc.transact(), &action)
                    .map(|a| (a.title, a.description, a.closure_criteria)),
            ))
        };
        if !outcome.refused.is_empty() {
            self.fail(format!(
                "{name}'s online {label} on {action}, made on the server's own state, was refused: {:?}",
                outcome.refused
            ));
        }
        for expect in &expects {
            if !outcome
                .changes
                .iter()
                .any(|c| expect_matches(&expect.change, c))
            {
                self.fail(format!(
                    "{name}'s {label} on {action}: {:?} is not in its audit record {:?}\n  \
                     the update: {:?}",
                    expect.change,
                    outcome.changes,
                    Update::decode_v1(&bytes).map(|u| format!("{u:?}")),
                ));
            }
        }
        self.note(format!("{name} online: {label} on {action}"));
        self.remember(&outcome.update);
        self.deliver(&outcome.update, Peer::Honest(m), outcome.echo);
        true
    }

    // -- hostile members ---------------------------------------------------

    fn reset_hostile(&mut self, h: usize) {
        let state = self.server.state();
        // A client id whose clocks are nearly used up is left for a new one.
        let me = ClientID::new(self.hostile[h].client);
        if self.server.sv().get(&me) > u32::MAX / 2 {
            self.hostile[h].client += 1000;
        }
        self.hostile[h].stale = false;
        let doc = peer_doc(self.hostile[h].client, &state);
        self.hostile[h].plan = PlanDoc::new(doc.clone());
        self.hostile[h].doc = doc;
        self.stats.hostile_resets += 1;
    }

    fn hostile_step(&mut self) {
        let h = self.rng.usize(..self.hostile.len());
        if self.hostile[h].online {
            if self.rng.f64() < 0.05 {
                self.hostile[h].online = false;
            }
        } else if self.rng.f64() < 0.2 {
            let doc = self.hostile[h].doc.clone();
            let diff = since(&self.server.doc, &state_vector(&doc));
            let applied = catch_unwind(AssertUnwindSafe(|| apply(&doc, &diff)));
            if !matches!(applied, Ok(Ok(()))) {
                self.hostile[h].stale = true;
            }
            self.hostile[h].online = true;
        }
        // A copy whose own clocks the server has past (a crafted or mutated
        // update claimed them) is made afresh, as a client would resync.
        let me = ClientID::new(self.hostile[h].client);
        let behind = self.server.sv().get(&me) > state_vector(&self.hostile[h].doc).get(&me);
        if self.hostile[h].stale || behind || self.rng.u32(..150) == 0 {
            self.reset_hostile(h);
        }
        let kinds: Vec<(Kind, u32)> = KINDS
            .iter()
            .copied()
            .filter(|(k, _)| self.cfg.kinds.as_ref().is_none_or(|only| only.contains(k)))
            .collect();
        let total: u32 = kinds.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.u32(..total);
        let mut kind = kinds[0].0;
        for (k, w) in kinds {
            if roll < w {
                kind = k;
                break;
            }
            roll -= w;
        }
        let attack = self.attack(h, kind);
        let name = self.hostile[h].user.to_string();
        let mut verdicts = Vec::new();
        for (bytes, must) in &attack.updates {
            let verdict = self.hostile_send(h, kind, bytes, *must, &attack.label);
            verdicts.push(verdict);
        }
        self.note(format!(
            "{name} {kind:?}: {} -> {}",
            attack.label,
            verdicts.join(", ")
        ));
    }

    fn hostile_send(
        &mut self,
        h: usize,
        kind: Kind,
        bytes: &[u8],
        must: Must,
        label: &str,
    ) -> String {
        self.stats.hostile += 1;
        let (who, role) = (self.hostile[h].user.clone(), self.hostile[h].role);
        let author = Author::Member {
            user: &who,
            role,
            rules: plait_shared::Governance::DEFAULT,
        };
        let spent = self.server.spent;
        let sent = self.server.send(author, bytes);
        self.stats.hostile_admission += self.server.spent - spent;
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => self.fail(format!(
                "{who}'s {kind:?} ({label}): {e}\n  the update: {}",
                hex(bytes)
            )),
        };
        self.stats.verdicts.entry(kind).or_default()[sent.slot()] += 1;
        let wrong = !matches!(
            (must, &sent),
            (Must::Anything, _)
                | (Must::Known, Sent::Known)
                | (Must::Incomplete, Sent::Incomplete(_))
                | (Must::Refused, Sent::Refused(_))
        );
        if wrong {
            self.fail(format!(
                "{who}'s {kind:?} ({label}) should be {must:?}, was {sent:?}"
            ));
        }
        let mut name = sent.describe();
        self.stats.hostile_sent_bytes += bytes.len() as u64;
        if let Sent::Admitted(outcome) = sent {
            if let Some(change) = outcome
                .changes
                .iter()
                .find(|c| !matches!(c, Change::NoEffect(_)))
            {
                self.fail(format!(
                    "{who} ({role:?}) got a change admitted by {kind:?} ({label}): {change:?}; \
                     all changes {:?}, refused {:?}",
                    outcome.changes, outcome.refused
                ));
            }
            if contains(&outcome.update, EVIL.as_bytes()) {
                self.fail(format!(
                    "{who}'s {kind:?} ({label}): refused content was stored ({} bytes)",
                    outcome.update.len()
                ));
            }
            self.stats.hostile_refusals += outcome.refused.len() as u64;
            self.stats.hostile_stored_bytes += outcome.update.len() as u64;
            if self
                .stats
                .hostile_max_stored
                .is_none_or(|(most, ..)| outcome.update.len() > most)
            {
                self.stats.hostile_max_stored = Some((outcome.update.len(), bytes.len(), kind));
            }
            name = format!("{name} ({} bytes stored)", outcome.update.len());
            self.remember(&outcome.update);
            self.deliver(&outcome.update, Peer::Hostile(h), outcome.echo);
        }
        name
    }

    /// Makes the hostile member's edit in their own copy and returns what
    /// a client would send for it.
    fn edit_and_encode(&mut self, h: usize, kinds: &[Kind]) -> (String, Vec<u8>) {
        let doc = self.hostile[h].doc.clone();
        let plan = self.hostile[h].plan.clone();
        let server_sv = self.server.sv();
        let clean = covers(&server_sv, &state_vector(&doc));
        let me = self.hostile[h].user.clone();
        let mut scene = Scene {
            rng: &mut self.rng,
            actions: &self.actions,
            me: &me,
            my_role: self.hostile[h].role,
            now: self.now,
            n: self.hostile_n,
        };
        let mut labels = Vec::new();
        let mut bytes = {
            let mut txn = doc.transact_mut();
            for kind in kinds {
                labels.push(hostile_edit(*kind, &mut scene, &plan, &mut txn));
            }
            txn.encode_update_v1()
        };
        self.hostile_n = scene.n;
        if !clean {
            // What a client sends on reconnecting: all the server lacks.
            bytes = since(&doc, &server_sv);
        }
        (labels.join("; "), bytes)
    }

    fn attack(&mut self, h: usize, kind: Kind) -> Attack {
        let one = |label: String, bytes: Vec<u8>, must: Must| Attack {
            label,
            updates: vec![(bytes, must)],
        };
        match kind {
            k if EDIT_KINDS.contains(&k) => {
                let (mut label, mut bytes) = self.edit_and_encode(h, &[k]);
                if label.contains("(no ") {
                    // Its copy lost what it aimed at (it removed or replaced
                    // it itself): a fresh copy, and again.
                    self.reset_hostile(h);
                    (label, bytes) = self.edit_and_encode(h, &[k]);
                }
                self.remember(&bytes);
                one(label, bytes, Must::Anything)
            }
            Kind::Combo => {
                let kinds: Vec<Kind> = (0..2 + self.rng.usize(..3))
                    .map(|_| *pick(&mut self.rng, &EDIT_KINDS[..17]))
                    .collect();
                let (label, bytes) = self.edit_and_encode(h, &kinds);
                self.remember(&bytes);
                one(label, bytes, Must::Anything)
            }
            Kind::MissingPredecessor => {
                let first = *pick(&mut self.rng, &EDIT_KINDS[..17]);
                let second = *pick(&mut self.rng, &EDIT_KINDS[..17]);
                let doc = self.hostile[h].doc.clone();
                let sv_before = state_vector(&doc);
                let (a, first_bytes) = self.edit_and_encode(h, &[first]);
                let sv_between = state_vector(&doc);
                let (b, _) = self.edit_and_encode(h, &[second]);
                let later = since(&doc, &sv_between);
                let me = ClientID::new(self.hostile[h].client);
                // Only a gap in the sender's own clocks makes it incomplete.
                let gap = sv_between.get(&me) > sv_before.get(&me)
                    && state_vector(&doc).get(&me) > sv_between.get(&me);
                let _ = first_bytes;
                one(
                    format!("{b} without its predecessor ({a})"),
                    later,
                    if gap {
                        Must::Incomplete
                    } else {
                        Must::Anything
                    },
                )
            }
            Kind::UnseenDeletes => {
                let mut deletes = IdSet::new();
                let sv = self.server.sv();
                let label = match self.rng.u8(..4) {
                    0 => {
                        let (name, _, client, _) = *pick(&mut self.rng, &HONEST);
                        let c = ClientID::new(client);
                        let from = sv.get(&c) + self.rng.u32(..3);
                        deletes.insert(ID::new(c, from), 1 + self.rng.u32(..100));
                        format!("{name}'s future clocks from {from}")
                    }
                    1 => {
                        let c = ClientID::new(5000 + self.rng.u64(..10));
                        deletes.insert(ID::new(c, 0), 1 + self.rng.u32(..50));
                        format!("clocks of unknown client {}", c.get())
                    }
                    2 => {
                        let (name, _, client, _) = *pick(&mut self.rng, &HONEST);
                        let c = ClientID::new(client);
                        let known = sv.get(&c);
                        deletes.insert(ID::new(c, known.saturating_sub(3)), 10);
                        format!("{name}'s clocks across the end ({known})")
                    }
                    _ => {
                        let c = ClientID::new(SERVER_CLIENT);
                        let known = sv.get(&c);
                        deletes.insert(ID::new(c, known), 5);
                        let (_, _, client, _) = *pick(&mut self.rng, &HONEST);
                        deletes.insert(ID::new(ClientID::new(client), 0), 2);
                        format!("the server's next clocks ({known}) and old honest ones")
                    }
                };
                one(label, delete_update(&deletes), Must::Incomplete)
            }
            Kind::Forgery => self.forgery(h),
            Kind::CraftCross
            | Kind::CraftCycle
            | Kind::CraftParent
            | Kind::CraftGc
            | Kind::CraftRaw => self.crafted(h, kind),
            Kind::Mutation => {
                if self.recent.is_empty() {
                    let (label, bytes) = self.edit_and_encode(h, &[Kind::OwnEntry]);
                    return one(label, bytes, Must::Anything);
                }
                let base = self.recent[self.rng.usize(..self.recent.len())].clone();
                let (label, bytes) = mutate(&mut self.rng, &base);
                one(
                    format!("{label} of a {}-byte update", base.len()),
                    bytes,
                    Must::Anything,
                )
            }
            Kind::Replay => {
                let base = if self.rng.bool() && !self.server.log.is_empty() {
                    let n = self.server.log.len();
                    self.server.log[n - 1 - self.rng.usize(..n.min(20))].clone()
                } else if let Some(b) = self.recent.back() {
                    b.clone()
                } else {
                    Update::EMPTY_V1.to_vec()
                };
                one(
                    format!("replay of {} bytes", base.len()),
                    base,
                    Must::Anything,
                )
            }
            Kind::WholeState => {
                if self.rng.bool() {
                    let state = self.server.state();
                    one(
                        "the server's whole state".into(),
                        state.to_vec(),
                        Must::Known,
                    )
                } else {
                    let state = full_state(&self.hostile[h].doc);
                    one("its own whole state".into(), state, Must::Anything)
                }
            }
            Kind::Oversize => one(
                "an update over the size limit".into(),
                self.oversize.clone(),
                Must::Refused,
            ),
            _ => unreachable!("{kind:?}"),
        }
    }

    /// Items under someone else's client id.
    fn forgery(&mut self, h: usize) -> Attack {
        let hostile_writer = Writer::Person(Arc::from(self.hostile[h].user.as_str()));
        let mut targets: Vec<(u64, &str)> = HONEST.iter().map(|(n, _, c, _)| (*c, *n)).collect();
        targets.push((SEED_CLIENT, "the import"));
        targets.push((SERVER_CLIENT, "the server's own"));
        targets.push((self.hostile[1 - h].client, "the other hostile member"));
        // A client id whose clocks a crafted update used up cannot write.
        let sv = self.server.sv();
        targets.retain(|(client, _)| sv.get(&ClientID::new(*client)) < u32::MAX / 2);
        let (client, whose) = *pick(&mut self.rng, &targets);
        let state = self.server.state();
        let doc = peer_doc(client, &state);
        let plan = PlanDoc::new(doc.clone());
        let server_sv = self.server.sv();
        let (action, _) = pick(&mut self.rng, &self.actions).clone();
        let as_name = HONEST
            .iter()
            .find(|(_, _, c, _)| *c == client)
            .map_or("pm", |(n, ..)| *n);
        {
            let mut txn = doc.transact_mut();
            match self.rng.u8(..3) {
                0 => {
                    plan.append(
                        &mut txn,
                        &action,
                        &LogEntry::Progress(ProgressUpdate {
                            id: EntryId::new(format!("forged-{}", self.rng.u32(..))).unwrap(),
                            text: format!("{EVIL} forged note"),
                            by: user(as_name),
                            at: UnixMillis(self.now),
                            confidence: None,
                        }),
                    )
                    .unwrap();
                }
                1 => {
                    plan.set_action_field(
                        &mut txn,
                        &action,
                        &ActionField::Owner(Some(self.hostile[h].user.clone())),
                    )
                    .unwrap();
                }
                _ => {
                    plan.edit_action_text(
                        &mut txn,
                        &action,
                        ActionText::Title,
                        &TextEdit {
                            index: 0,
                            delete: 0,
                            insert: format!("{EVIL} "),
                        },
                    )
                    .unwrap();
                }
            }
        }
        let bytes = since(&doc, &server_sv);
        let must = match self.server.index.writer(ClientID::new(client)) {
            Some(w) if *w != hostile_writer => Must::Refused,
            _ => Must::Anything,
        };
        Attack {
            label: format!("items under {whose} client id {client}"),
            updates: vec![(bytes, must)],
        }
    }

    /// Hand-made items yrs's API would not write.
    fn crafted(&mut self, h: usize, kind: Kind) -> Attack {
        let doc = self.hostile[h].doc.clone();
        let me = ClientID::new(self.hostile[h].client);
        // Fresh clocks for the hostile's own client, after everything the
        // server and its own copy have.
        let next = self.server.sv().get(&me).max(state_vector(&doc).get(&me));
        let txn = doc.transact();
        let (a, _) = pick(&mut self.rng, &self.actions).clone();
        let (b, _) = pick(&mut self.rng, &self.actions).clone();
        let (log_key, text_key) = (
            pick(&mut self.rng, &LOG_KEYS).1,
            pick(&mut self.rng, &ActionText::ALL).key(),
        );
        let last_entry = log_ref(&txn, a.as_str(), log_key).and_then(|arr| {
            let len = arr.len(&txn);
            (len > 0).then(|| item_at(&txn, &arr, len - 1)).flatten()
        });
        let some_char = text_ref(&txn, b.as_str(), text_key).and_then(|t| {
            let len = t.len(&txn);
            (len > 0)
                .then(|| item_at(&txn, &t, self.rng.u32(..len)))
                .flatten()
        });
        let action_type = action_map(&txn, a.as_str()).and_then(|m| nested_id(&m));
        drop(txn);
        let note = yrs::encoding::serde::to_any(&ProgressUpdate {
            id: EntryId::new(format!("craft-{}", self.rng.u32(..))).unwrap(),
            text: format!("{EVIL} crafted"),
            by: user(pick::<&str>(
                &mut self.rng,
                &["owner", "lead", "mallory", "board"],
            )),
            at: UnixMillis(self.now),
            confidence: None,
        })
        .unwrap();
        let item = |id: ID,
                    origin: Option<ID>,
                    right: Option<ID>,
                    parent: Option<ParentRef>,
                    sub: Option<&str>,
                    content: ItemContent,
                    len: u32| {
            Struct::Item(ItemStruct {
                id,
                len,
                origin,
                right_origin: right,
                parent,
                parent_sub: sub.map(Arc::from),
                content,
            })
        };
        let at = |clock: u32| ID::new(me, clock);
        let (label, structs, must): (String, Vec<Struct>, Must) = match kind {
            Kind::CraftCross => {
                let content = if self.rng.bool() {
                    ItemContent::Any(vec![note.clone()])
                } else {
                    string_content(EVIL)
                };
                let len = match &content {
                    ItemContent::Any(v) => v.len() as u32,
                    _ => EVIL.len() as u32,
                };
                let (origin, right) = match self.rng.u8(..3) {
                    0 => (last_entry, some_char),
                    1 => (some_char, last_entry),
                    _ => (None, last_entry.or(some_char)),
                };
                (
                    format!(
                        "origin {origin:?} in {a}/{log_key} or {b}/{text_key}, right {right:?}"
                    ),
                    vec![item(at(next), origin, right, None, None, content, len)],
                    Must::Anything,
                )
            }
            Kind::CraftCycle => {
                if self.rng.bool() {
                    (
                        "two items each the other's origin".into(),
                        vec![
                            item(
                                at(next),
                                Some(at(next + 1)),
                                None,
                                None,
                                None,
                                string_content("E"),
                                1,
                            ),
                            item(
                                at(next + 1),
                                Some(at(next)),
                                None,
                                None,
                                None,
                                string_content("V"),
                                1,
                            ),
                        ],
                        Must::Anything,
                    )
                } else {
                    (
                        "an item whose origin is its own id".into(),
                        vec![item(
                            at(next),
                            Some(at(next)),
                            None,
                            None,
                            None,
                            ItemContent::Any(vec![note.clone()]),
                            1,
                        )],
                        Must::Anything,
                    )
                }
            }
            Kind::CraftParent => match self.rng.u8(..3) {
                0 => (
                    "a parent that is an entry, not a type".into(),
                    vec![item(
                        at(next),
                        None,
                        None,
                        Some(ParentRef::Item(last_entry.unwrap_or(ID::new(me, 0)))),
                        Some("title"),
                        ItemContent::Any(vec![Any::from(EVIL)]),
                        1,
                    )],
                    Must::Anything,
                ),
                1 => (
                    format!("a deleted-content item in {a}'s map"),
                    vec![item(
                        at(next),
                        None,
                        None,
                        action_type.map(ParentRef::Item),
                        Some(log_key),
                        ItemContent::Deleted(3),
                        3,
                    )],
                    Must::Anything,
                ),
                _ => (
                    format!("a second {log_key} log straight into {a}'s map"),
                    vec![
                        item(
                            at(next),
                            None,
                            None,
                            action_type.map(ParentRef::Item),
                            Some(log_key),
                            ItemContent::Any(vec![note.clone(), Any::from(EVIL)]),
                            2,
                        ),
                        item(
                            at(next + 2),
                            Some(at(next + 1)),
                            None,
                            None,
                            None,
                            ItemContent::Any(vec![note.clone()]),
                            1,
                        ),
                    ],
                    Must::Anything,
                ),
            },
            Kind::CraftGc => match self.rng.u8(..6) {
                0 => (
                    "an origin in clocks the server collected".into(),
                    vec![item(
                        at(next),
                        Some(at(next.saturating_sub(1 + self.rng.u32(..4)))),
                        None,
                        None,
                        None,
                        ItemContent::Any(vec![note.clone()]),
                        1,
                    )],
                    Must::Anything,
                ),
                1 => (
                    "only collected clocks".into(),
                    vec![Struct::Gc {
                        id: at(next),
                        len: 1 + self.rng.u32(..1000),
                    }],
                    Must::Anything,
                ),
                2 => {
                    let fresh = ClientID::new(8_000_000 + self.rng.u64(..1_000_000));
                    (
                        format!(
                            "collected clocks of client {} up to the end of u32",
                            fresh.get()
                        ),
                        vec![Struct::Gc {
                            id: ID::new(fresh, 0),
                            len: u32::MAX,
                        }],
                        Must::Anything,
                    )
                }
                3 => {
                    let fresh = ClientID::new(8_000_000 + self.rng.u64(..1_000_000));
                    let from = 1 + self.rng.u32(..1000);
                    (
                        format!(
                            "collected clocks of client {} past the end of u32",
                            fresh.get()
                        ),
                        vec![Struct::Gc {
                            id: ID::new(fresh, from),
                            len: u32::MAX,
                        }],
                        Must::Anything,
                    )
                }
                4 => {
                    // Own clocks past the end of u32.
                    (
                        format!("own collected clocks from {next} past the end of u32"),
                        vec![Struct::Gc {
                            id: at(next),
                            len: u32::MAX,
                        }],
                        Must::Anything,
                    )
                }
                _ => (
                    "an item after a skip".into(),
                    vec![
                        Struct::Skip {
                            id: at(next),
                            len: 5,
                        },
                        item(
                            at(next + 5),
                            last_entry,
                            None,
                            None,
                            None,
                            ItemContent::Any(vec![note.clone()]),
                            1,
                        ),
                    ],
                    Must::Incomplete,
                ),
            },
            _ => {
                // Odd client ids and clocks.
                let unknown = 7_000_000 + self.rng.u64(..1000);
                let client = ClientID::new(*pick(&mut self.rng, &[0, (1u64 << 53) - 1, unknown]));
                let clock = *pick(&mut self.rng, &[0, 1, u32::MAX - 1]);
                (
                    format!("a root item under client {} at clock {clock}", client.get()),
                    vec![item(
                        ID::new(client, clock),
                        None,
                        None,
                        Some(ParentRef::Root(Arc::from(*pick(
                            &mut self.rng,
                            &["actions", "plan", "junk"],
                        )))),
                        Some(*pick(&mut self.rng, &["a-0", "title", "k"])),
                        ItemContent::Any(vec![Any::from(EVIL)]),
                        1,
                    )],
                    if clock > self.server.sv().get(&client) {
                        Must::Incomplete
                    } else {
                        Must::Anything
                    },
                )
            }
        };
        let bytes = codec::encode(&structs, &IdSet::new());
        Attack {
            label,
            updates: vec![(bytes, must)],
        }
    }

    // -- checks -------------------------------------------------------------

    /// What every view may show: only honest entries, honest values, no
    /// hostile text, every status change in effect.
    fn rules(&self, view: &PlanView, whose: &str) -> Result<(), String> {
        if !view.problems.is_empty() {
            return Err(format!("{whose}: unreadable parts {:?}", view.problems));
        }
        if view.info != self.seed_view.info {
            return Err(format!("{whose}: the plan's details are {:?}", view.info));
        }
        if view.findings != self.seed_view.findings {
            return Err(format!("{whose}: the findings are {:?}", view.findings));
        }
        let ids: Vec<&ActionId> = view.actions.keys().collect();
        let seed_ids: Vec<&ActionId> = self.seed_view.actions.keys().collect();
        if ids != seed_ids {
            return Err(format!("{whose}: the actions are {ids:?}"));
        }
        for (id, action) in &view.actions {
            for (key, value) in field_strings(action) {
                let ok = self
                    .ledger
                    .allowed
                    .get(&(id.clone(), key))
                    .is_some_and(|values| values.contains(&value));
                if !ok {
                    return Err(format!(
                        "{whose}: {id}/{key} is {value:?}, which no honest member set"
                    ));
                }
            }
            for key in ActionText::ALL.map(ActionText::key) {
                let text = text_of(action, key);
                if text.contains(EVIL) {
                    return Err(format!("{whose}: {id}/{key} holds hostile text: {text:?}"));
                }
            }
            for t in &action.transitions {
                if !self.ledger.transitions.contains(&transition_key(id, t)) {
                    return Err(format!(
                        "{whose}: {id} has a status change no honest member made: {t:?}"
                    ));
                }
            }
            let seed_entries = self
                .seed_view
                .actions
                .get(id)
                .map(entries_with_ids)
                .unwrap_or_default();
            for (entry_id, log, entry) in entries_with_ids(action) {
                let honest = self
                    .ledger
                    .entries
                    .get(&entry_id)
                    .is_some_and(|r| r.action == *id && r.log == log && r.entry == entry);
                let seeded = seed_entries
                    .iter()
                    .any(|(i, _, e)| *i == entry_id && *e == entry);
                if !honest && !seeded {
                    return Err(format!(
                        "{whose}: {id} has an entry no honest member wrote: {entry:?}"
                    ));
                }
            }
            if let Some((index, why)) = action.fold.superseded().next() {
                return Err(format!(
                    "{whose}: {id}'s status change {index} has no effect ({why}): {:?}",
                    action.transitions[index]
                ));
            }
        }
        Ok(())
    }

    /// Roots outside the schema hold nothing.
    fn junk_roots(&self, doc: &Doc, whose: &str) -> Result<(), String> {
        let txn = doc.transact();
        for (name, value) in txn.root_refs() {
            if matches!(name, "plan" | "findings" | "actions") {
                continue;
            }
            let json = value.to_json(&txn);
            let empty = match &json {
                Any::Map(m) => m.is_empty(),
                Any::Array(a) => a.is_empty(),
                Any::String(s) => s.is_empty(),
                Any::Null | Any::Undefined => true,
                _ => false,
            };
            if !empty {
                return Err(format!("{whose}: the root {name:?} holds {json:?}"));
            }
        }
        Ok(())
    }

    fn checkpoint(&mut self) {
        self.stats.checkpoints += 1;
        let view = self.server.view();
        if let Err(e) = self.rules(&view, "the server") {
            self.fail(e);
        }
        if let Err(e) = self.junk_roots(&self.server.doc, "the server") {
            self.fail(e);
        }
        for h in &self.honest {
            let view = h.plan.read(&h.doc.transact());
            if let Err(e) = self.rules(&view, h.name) {
                self.fail(e);
            }
        }
        let sv = self.server.sv();
        for (client, clock) in sv.iter() {
            if self.server.index.clock(*client) != *clock {
                self.fail(format!(
                    "the index has client {} up to {}, the document up to {clock}",
                    client.get(),
                    self.server.index.clock(*client)
                ));
            }
        }
    }

    fn finish(&mut self) {
        // Everyone syncs.
        for m in 0..self.honest.len() {
            self.stats.steps += 1;
            self.reconnect(m);
        }
        self.checkpoint();
        let server_view = self.server.view();
        let server_sv = self.server.sv();
        let state = self.server.state();
        if contains(&state, EVIL.as_bytes()) {
            self.fail("the server's state holds hostile content");
        }
        // Every peer has the server's state.
        for h in &self.honest {
            let sv = state_vector(&h.doc);
            if sv != server_sv {
                self.fail(format!(
                    "{} did not converge: {sv:?} against the server's {server_sv:?}",
                    h.name
                ));
            }
            let view = h.plan.read(&h.doc.transact());
            if view != server_view {
                self.fail(format!(
                    "{} reads another plan than the server: {}",
                    h.name,
                    first_difference(&view, &server_view)
                ));
            }
        }
        // Every entry that may not be refused is there, word for word.
        for (id, record) in &self.ledger.entries {
            let present = server_view.actions.get(&record.action).is_some_and(|a| {
                entries_with_ids(a)
                    .iter()
                    .any(|(i, _, e)| i == id && *e == record.entry)
            });
            if (record.must || record.online) && !present {
                self.fail(format!(
                    "honest work lost: {:?} on {} (sent {})",
                    record.entry,
                    record.action,
                    if record.online { "online" } else { "offline" }
                ));
            }
        }
        for (action, t) in &self.ledger.online_transitions {
            if !server_view.actions[action].transitions.contains(t) {
                self.fail(format!("honest work lost: {t:?} on {action}, sent online"));
            }
        }
        // Every field holds a value of one of its latest honest writes.
        for (action, events) in &self.ledger.fields {
            let view = &server_view.actions[action];
            for key in FieldKey::ALL.map(FieldKey::key) {
                let writes: Vec<&FieldEvent> = events.iter().filter(|e| e.key == key).collect();
                if writes.is_empty() {
                    continue;
                }
                let latest: Vec<&FieldEvent> = writes
                    .iter()
                    .copied()
                    .filter(|e| {
                        !writes.iter().any(|other| {
                            !std::ptr::eq(*other, *e)
                                && other.seen.get(&e.item.client) > e.item.clock
                        })
                    })
                    .collect();
                let value = field_string(view, key);
                if !latest.iter().any(|e| e.value == value) {
                    self.fail(format!(
                        "honest work lost: {action}/{key} is {value:?}, but the latest honest writes were {:?} \
                         (all writes {:?})",
                        latest
                            .iter()
                            .map(|e| (e.by, e.value.as_str(), e.item))
                            .collect::<Vec<_>>(),
                        writes
                            .iter()
                            .map(|e| (e.by, e.value.as_str(), e.item))
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
        for (id, seed) in &self.seed_view.actions {
            for (key, value) in field_strings(seed) {
                let written = self
                    .ledger
                    .fields
                    .get(id)
                    .is_some_and(|events| events.iter().any(|e| e.key == key));
                if !written && field_string(&server_view.actions[id], key) != value {
                    self.fail(format!(
                        "{id}/{key} changed, though no honest member set it"
                    ));
                }
            }
        }
        // Every text is its seed with the live honest insertions, whole.
        for (i, (id, _)) in self.actions.iter().enumerate() {
            let view = &server_view.actions[id];
            for (n, key) in ActionText::ALL.map(ActionText::key).into_iter().enumerate() {
                let mut text = text_of(view, key);
                for mk in self
                    .ledger
                    .markers
                    .iter()
                    .filter(|mk| mk.action == *id && mk.key == key)
                {
                    let count = text.matches(mk.text.as_str()).count();
                    let expected = usize::from(mk.live);
                    if count != expected {
                        self.fail(format!(
                            "honest work lost: {}'s {} {:?} is in {id}/{key} {count} times: {:?}",
                            mk.by,
                            if mk.live { "insertion" } else { "deletion of" },
                            mk.text,
                            text_of(view, key)
                        ));
                    }
                    if mk.live {
                        text = text.replacen(mk.text.as_str(), "", 1);
                    }
                }
                if text != base_texts(i)[n] {
                    self.fail(format!(
                        "{id}/{key} is {:?}: without the honest insertions {text:?}, not its seed",
                        text_of(view, key)
                    ));
                }
            }
        }
        // The stored log is the document, and every stored update has its
        // audit record.
        if self.server.log.len() != self.server.audit.len() {
            self.fail("stored updates and audit records differ in number");
        }
        // The audit trail says the same: nothing a hostile member sent
        // changed anything, and every honest refusal is one concurrency
        // explains.
        let hostile: Vec<String> = HOSTILE.iter().map(|(n, ..)| (*n).to_owned()).collect();
        for (i, record) in self.server.audit.iter().enumerate() {
            if hostile.contains(&record.author) {
                if let Some(change) = record
                    .changes
                    .iter()
                    .find(|c| !matches!(c, Change::NoEffect(_)))
                {
                    self.fail(format!(
                        "audit record {i}: {} changed {change:?}",
                        record.author
                    ));
                }
            } else if let Some(refusal) = record.refused.iter().find(|r| !may_be_refused(r)) {
                self.fail(format!(
                    "audit record {i}: {}'s {refusal:?} is not explained by concurrency",
                    record.author
                ));
            }
        }
        let replayed = new_doc_with_client_id(999);
        for (i, update) in self.server.log.iter().enumerate() {
            if let Err(e) = apply(&replayed, update) {
                self.fail(format!("stored update {i} does not replay: {e}"));
            }
        }
        if state_vector(&replayed) != server_sv
            || PlanDoc::new(replayed.clone()).read(&replayed.transact()) != server_view
        {
            self.fail("the stored log does not rebuild the server's document");
        }
        self.stats.stored_updates = self.server.log.len() as u64;
        self.stats.stored_bytes = self.server.log.iter().map(|u| u.len() as u64).sum();
        self.stats.state_bytes = state.len() as u64;
        let index = ItemIndex::from_state(DocShape::Plan, &state).unwrap();
        for (client, clock) in server_sv.iter() {
            if index.clock(*client) != *clock || self.server.index.clock(*client) != *clock {
                self.fail(format!("the index lost track of client {}", client.get()));
            }
        }
        // The other node, having followed the log, holds the same document
        // (every clock and deletion) and its index every clock.
        match self.server.other_node() {
            Err(e) => self.fail(format!("the other node: {e}")),
            Ok(None) => {}
            Ok(Some((doc, index))) => {
                if doc.transact().snapshot() != self.server.doc.transact().snapshot()
                    || PlanDoc::new(doc.clone()).read(&doc.transact()) != server_view
                {
                    self.fail("the other node's document differs from this one's");
                }
                for (client, clock) in server_sv.iter() {
                    if index.clock(*client) != *clock {
                        self.fail(format!(
                            "the other node's index lost track of client {}",
                            client.get()
                        ));
                    }
                }
            }
        }
    }
}

/// Where two reads of a plan first differ, for a failure's message.
fn first_difference(a: &PlanView, b: &PlanView) -> String {
    if a.info != b.info {
        return format!("the plan's details: {:?} against {:?}", a.info, b.info);
    }
    if a.findings != b.findings {
        return "the findings".into();
    }
    for (id, x) in &a.actions {
        let Some(y) = b.actions.get(id) else {
            return format!("{id} is only in the first");
        };
        if x == y {
            continue;
        }
        for ((key, v), (_, w)) in field_strings(x).into_iter().zip(field_strings(y)) {
            if v != w {
                return format!("{id}/{key}: {v:?} against {w:?}");
            }
        }
        for key in ActionText::ALL.map(ActionText::key) {
            if text_of(x, key) != text_of(y, key) {
                return format!(
                    "{id}/{key}: {:?} against {:?}",
                    text_of(x, key),
                    text_of(y, key)
                );
            }
        }
        if x.transitions != y.transitions {
            return format!(
                "{id}'s status changes: {:?} against {:?}",
                x.transitions, y.transitions
            );
        }
        return format!(
            "{id}'s other logs: {:?} against {:?}",
            entries_with_ids(x),
            entries_with_ids(y)
        );
    }
    format!("problems: {:?} against {:?}", a.problems, b.problems)
}

/// The statuses `user` in `role` could move the action to now, with the
/// change taking effect.
fn allowed_steps(view: &ActionView, user: &UserId, role: Role) -> Vec<Status> {
    let facts = view.fold_facts(None);
    Status::ALL
        .iter()
        .copied()
        .filter(|&to| {
            let mut log = view.transitions.clone();
            log.push(Transition {
                to,
                by: user.clone(),
                role,
                at: UnixMillis(0),
                note: "reason".into(),
                baseline: false,
            });
            let fold = fold_status(&log, &facts);
            // And what the programme's settings ask of a new step.
            let mut candidate = view.clone();
            candidate.transitions = log;
            let candidate = candidate.derived();
            matches!(fold.steps.last(), Some(Step::Applied { .. }))
                && plait_shared::access::check_governance(
                    &plait_shared::Governance::DEFAULT,
                    &candidate,
                    Log::Transitions,
                    candidate.transitions.len() - 1,
                )
                .is_ok()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The runs.
// ---------------------------------------------------------------------------

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.replace('_', "").parse().ok(),
    }
}

/// `PLAIT_ADVERSARIAL_KINDS=DeleteEntries,Mutation`: only those kinds.
fn kinds_from_env() -> Option<Vec<Kind>> {
    let names = std::env::var("PLAIT_ADVERSARIAL_KINDS").ok()?;
    let kinds: Vec<Kind> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            KINDS
                .iter()
                .map(|(k, _)| *k)
                .find(|k| format!("{k:?}").eq_ignore_ascii_case(n))
                .unwrap_or_else(|| panic!("PLAIT_ADVERSARIAL_KINDS: no kind {n:?}"))
        })
        .collect();
    (!kinds.is_empty()).then_some(kinds)
}

fn config(default_updates: u64, actions: usize, check_every: u64, compare_every: u64) -> Config {
    Config {
        seed: env_u64("PLAIT_ADVERSARIAL_SEED").unwrap_or(DEFAULT_SEED),
        hostile_updates: env_u64("PLAIT_ADVERSARIAL_UPDATES").unwrap_or(default_updates),
        actions: env_u64("PLAIT_ADVERSARIAL_ACTIONS").map_or(actions, |n| n.max(1) as usize),
        honest_share: 0.25,
        check_every: env_u64("PLAIT_ADVERSARIAL_CHECK_EVERY")
            .unwrap_or(check_every)
            .max(1),
        compact_every: 500,
        history: env_u64("PLAIT_ADVERSARIAL_HISTORY").unwrap_or(40) as usize,
        kinds: kinds_from_env(),
        compare_every,
        progress_every: 0,
        two_nodes: false,
    }
}

fn run(cfg: Config) -> (World, Duration) {
    let started = Instant::now();
    let mut world = World::new(cfg);
    let outcome = catch_unwind(AssertUnwindSafe(|| world.run()));
    if let Err(panic) = outcome {
        let text = panic_text(&*panic);
        if text.contains("adversarial run failed") {
            std::panic::resume_unwind(panic);
        }
        world.fail(format!("a panic: {text}"));
    }
    (world, started.elapsed())
}

/// A run's numbers, with the table of verdicts per kind.
fn report(seeds: &str, s: &Stats, elapsed: Duration) -> String {
    let mut totals = [0u64; 5];
    let mut lines = Vec::new();
    for (kind, v) in &s.verdicts {
        for (t, n) in totals.iter_mut().zip(v) {
            *t += n;
        }
        lines.push(format!(
            "  {:<20} {:>8} {:>7} {:>10} {:>7} {:>9}",
            format!("{kind:?}"),
            v[0],
            v[1],
            v[2],
            v[3],
            v[4]
        ));
    }
    let secs = elapsed.as_secs_f64();
    let per = |d: Duration, n: u64| d.as_secs_f64() * 1e6 / n.max(1) as f64;
    format!(
        "{seeds}: {hostile} hostile updates and {honest} honest updates ({ops} edits, {online} sent online, \
         {batches} offline batches, {hrefused} changes lost to concurrency) in {secs:.1} s \
         ({rate:.0} updates/s); {steps} steps, {checks} checkpoints, {resets} hostile resyncs\n\
         admission (decide + integrate): {hus:.0} µs a hostile update, {ous:.0} µs an honest one on average\n\
         hostile verdicts: {a} admitted ({refusals} changes refused, nothing else), {k} known, \
         {i} incomplete, {r} refused whole, {m} malformed; {hs} bytes sent, {hb} bytes stored for them \
         (the most for one: {hmax})\n\
         server: {stored} stored updates and as many audit records, {log} bytes stored, state {state} bytes \
         (the largest); honest members sent {honest_bytes} bytes\n\
         {:<22} {:>8} {:>7} {:>10} {:>7} {:>9}\n{}",
        "kind",
        "admitted",
        "known",
        "incomplete",
        "refused",
        "malformed",
        lines.join("\n"),
        hostile = s.hostile,
        honest = s.honest_updates,
        ops = s.honest_ops,
        online = s.honest_online,
        batches = s.honest_offline_batches,
        hrefused = s.honest_refusals,
        rate = (s.hostile + s.honest_updates) as f64 / secs,
        steps = s.steps,
        checks = s.checkpoints,
        resets = s.hostile_resets,
        hus = per(s.hostile_admission, s.hostile),
        ous = per(s.honest_admission, s.honest_updates),
        a = totals[0],
        refusals = s.hostile_refusals,
        k = totals[1],
        i = totals[2],
        r = totals[3],
        m = totals[4],
        hs = s.hostile_sent_bytes,
        hb = s.hostile_stored_bytes,
        hmax = s
            .hostile_max_stored
            .map(|(stored, sent, kind)| format!("{stored} bytes for a {sent}-byte {kind:?}"))
            .unwrap_or_default(),
        stored = s.stored_updates,
        log = s.stored_bytes,
        state = s.state_bytes,
        honest_bytes = s.honest_bytes,
    )
}

#[test]
fn honest_work_survives_hostile_peers() {
    let (world, elapsed) = run(config(2_000, 8, 25, 4));
    eprintln!(
        "{}",
        report(
            &format!("seed {:#x}", world.cfg.seed),
            &world.stats,
            elapsed
        )
    );
    // Every kind of hostile update was sent.
    for (kind, _) in KINDS {
        if world.cfg.hostile_updates >= 2_000
            && world.cfg.kinds.is_none()
            && !world.stats.verdicts.contains_key(&kind)
        {
            panic!("no {kind:?} was sent (seed {:#x})", world.cfg.seed);
        }
    }
}

/// The same with the server on two nodes sharing one stored log (issue
/// 19): the hostile members' updates are decided by the second, which
/// follows the log before each; the honest members' by the first, which
/// follows the second's at once. Every check holds as on one node, and at
/// the end the second node's document and index equal the first's.
#[test]
fn honest_work_survives_hostile_peers_on_another_node() {
    let mut cfg = config(2_000, 8, 25, 4);
    cfg.two_nodes = true;
    let (world, elapsed) = run(cfg);
    eprintln!(
        "{}",
        report(
            &format!("two nodes, seed {:#x}", world.cfg.seed),
            &world.stats,
            elapsed
        )
    );
}

/// The long run: `cargo test --release -p plait-shared --test adversarial
/// -- --ignored --nocapture`. 100,000 hostile updates unless
/// `PLAIT_ADVERSARIAL_UPDATES` says otherwise, as runs of
/// `PLAIT_ADVERSARIAL_EPOCH` (10,000) hostile updates each on a fresh plan of
/// 16 actions, with seeds counting up from `PLAIT_ADVERSARIAL_SEED`: every
/// run ends with every final check, and no document grows past what a plan
/// holds in a year (in one document the work per update grows with the
/// document; the epoch can be raised to see how).
#[test]
#[ignore = "the long run (100,000 hostile updates): run it in release with --ignored"]
fn adversarial_long_run() {
    let base = config(100_000, 16, 2_000, 64);
    let total = base.hostile_updates;
    let epoch = env_u64("PLAIT_ADVERSARIAL_EPOCH").unwrap_or(10_000).max(1);
    let started = Instant::now();
    let mut all = Stats::default();
    let mut seeds = Vec::new();
    while all.hostile < total {
        let cfg = Config {
            seed: base.seed + seeds.len() as u64,
            hostile_updates: epoch.min(total - all.hostile),
            progress_every: 10_000,
            ..base.clone()
        };
        seeds.push(cfg.seed);
        let (world, elapsed) = run(cfg);
        eprintln!(
            "{}",
            report(
                &format!("seed {:#x}", world.cfg.seed),
                &world.stats,
                elapsed
            )
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
        );
        all.merge(&world.stats);
    }
    let seeds = format!(
        "{} runs, seeds {:#x}..={:#x}",
        seeds.len(),
        seeds[0],
        seeds[seeds.len() - 1]
    );
    eprintln!("\nall: {}", report(&seeds, &all, started.elapsed()));
    eprintln!("{}", demo_plan_cost());
}

/// What deciding on and integrating one honest edit costs on a plan of the
/// demo's size (338 actions, each with a few entries).
fn demo_plan_cost() -> String {
    let doc = new_doc_with_client_id(SEED_CLIENT);
    let plan = PlanDoc::new(doc.clone());
    {
        let mut txn = doc.transact_mut();
        for i in 0..338 {
            let id = ActionId::new(format!("a-{i}")).unwrap();
            let [title, description, closure_criteria] = base_texts(i);
            plan.add_action(
                &mut txn,
                &id,
                &NewAction {
                    reference: format!("MD{i:03}"),
                    title,
                    description,
                    finding_ids: vec![],
                    workstream_id: None,
                    phase_id: None,
                    exec_lead: "lead".into(),
                    owner: Some(user("owner")),
                    due: Date::parse_iso("2026-12-31").ok(),
                    confidence: Some(Confidence::OnTrack),
                    closure_criteria,
                },
            )
            .unwrap();
            plan.append(
                &mut txn,
                &id,
                &LogEntry::Transition(Transition {
                    to: Status::InProgress,
                    by: user("pm"),
                    role: Role::Admin,
                    at: UnixMillis(NOW0 - 30 * DAY),
                    note: "Imported".into(),
                    baseline: true,
                }),
            )
            .unwrap();
            for k in 0..3 {
                plan.append(
                    &mut txn,
                    &id,
                    &LogEntry::Progress(ProgressUpdate {
                        id: EntryId::new(format!("u-{i}-{k}")).unwrap(),
                        text: "Ward walked, two doors fixed".into(),
                        by: user("owner"),
                        at: UnixMillis(NOW0 - 20 * DAY + k),
                        confidence: None,
                    }),
                )
                .unwrap();
            }
        }
    }
    let mut server = Server::new(&full_state(&doc)).unwrap();
    server.compare_every = u64::MAX;
    let state = server.state().len();
    let owner = new_doc_with_client_id(101);
    apply(&owner, &server.state()).unwrap();
    let owner_plan = PlanDoc::new(owner.clone());
    let me = user("owner");
    let rounds = 500;
    let mut spent = Duration::ZERO;
    for k in 0..rounds {
        let id = ActionId::new(format!("a-{}", (k * 7) % 338)).unwrap();
        let bytes = {
            let mut txn = owner.transact_mut();
            if k % 2 == 0 {
                owner_plan
                    .set_action_field(
                        &mut txn,
                        &id,
                        &ActionField::Confidence(Some(Confidence::ALL[k % 3])),
                    )
                    .unwrap();
            } else {
                owner_plan
                    .append(
                        &mut txn,
                        &id,
                        &LogEntry::Progress(ProgressUpdate {
                            id: EntryId::new(format!("bench-{k}")).unwrap(),
                            text: "Another ward walked".into(),
                            by: me.clone(),
                            at: UnixMillis(NOW0),
                            confidence: None,
                        }),
                    )
                    .unwrap();
            }
            txn.encode_update_v1()
        };
        let before = server.spent;
        let sent = server
            .send(
                Author::Member {
                    user: &me,
                    role: Role::Contributor,
                    rules: plait_shared::Governance::DEFAULT,
                },
                &bytes,
            )
            .unwrap();
        spent += server.spent - before;
        assert!(matches!(sent, Sent::Admitted(ref o) if o.refused.is_empty()));
    }
    format!(
        "demo-size plan (338 actions, {state} bytes): decide + integrate of one honest edit \
         (a confidence or a progress note), mean of {rounds}: {:.0} µs",
        spent.as_secs_f64() * 1e6 / f64::from(rounds as u32)
    )
}
