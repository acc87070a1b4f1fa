//! The smallest reproductions of what the adversarial run
//! (`tests/adversarial.rs`) found wrong in the admission, one test each
//! (numbered as reported; all failed before the admission was mended),
//! written against the same harness as `src/admission/tests.rs`: a server
//! document and its index, clients as documents with fixed client ids.

#![cfg(not(target_arch = "wasm32"))]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plait_shared::admission::codec::{self, Struct};
use plait_shared::admission::schema::DocShape;
use plait_shared::admission::{decide, integrate, Author, ItemIndex, Limits, Outcome, Verdict};
use plait_shared::{
    new_doc_with_client_id, ActionField, ActionId, ActionText, CheckOutcome, Date, EntryId,
    LogEntry, NewAction, PhaseId, PlanDoc, ProgressUpdate, Role, Status, Sustainment, TextEdit,
    Transition, UnixMillis, UserId,
};
use yrs::updates::decoder::Decode;
use yrs::{Array, Doc, IdSet, Map, Out, ReadTxn, StateVector, Transact, Update, ID};

const NOW: i64 = 1_780_000_000_000;
const DAY: i64 = 86_400_000;

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn a0() -> ActionId {
    ActionId::new("a-0").unwrap()
}

/// A server holding one draft action `a-0` (no entries, no confidence),
/// owned by `owner`, imported by the server itself.
struct Server {
    doc: Doc,
    index: ItemIndex,
}

#[derive(Debug)]
enum Sent {
    Admitted(Outcome),
    Other(String),
}

impl Sent {
    fn outcome(self) -> Outcome {
        match self {
            Sent::Admitted(outcome) => outcome,
            Sent::Other(what) => panic!("not admitted: {what}"),
        }
    }
}

impl Server {
    fn new() -> Server {
        let seed = new_doc_with_client_id(1);
        PlanDoc::new(seed.clone())
            .add_action(
                &mut seed.transact_mut(),
                &a0(),
                &NewAction {
                    reference: "MD000".into(),
                    title: "Fix the doors".into(),
                    description: String::new(),
                    finding_ids: vec![],
                    workstream_id: None,
                    phase_id: None,
                    exec_lead: "Chief Nurse".into(),
                    owner: Some(user("owner")),
                    due: None,
                    confidence: None,
                    closure_criteria: String::new(),
                },
            )
            .unwrap();
        let mut server = Server {
            doc: new_doc_with_client_id(2),
            index: ItemIndex::new(DocShape::Plan),
        };
        let state = seed
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        server.send_as(Author::Server, &state, NOW).outcome();
        server
    }

    fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    fn client(&self, id: u64) -> Doc {
        let doc = new_doc_with_client_id(id);
        doc.transact_mut()
            .apply_update(Update::decode_v1(&self.state()).unwrap())
            .unwrap();
        doc
    }

    fn send_as(&mut self, author: Author<'_>, bytes: &[u8], now: i64) -> Sent {
        match decide(&self.index, &self.doc, author, bytes, 0, &Limits::DEFAULT).unwrap() {
            Verdict::Admit(admitted) => Sent::Admitted(
                integrate(
                    &self.doc,
                    &mut self.index,
                    admitted,
                    author,
                    UnixMillis(now),
                    &Limits::DEFAULT,
                )
                .unwrap(),
            ),
            other => Sent::Other(format!("{other:?}")),
        }
    }

    fn send(&mut self, who: &str, role: Role, bytes: &[u8]) -> Sent {
        let who = user(who);
        self.send_as(
            Author::Member {
                user: &who,
                role,
                rules: plait_shared::Governance::DEFAULT,
            },
            bytes,
            NOW,
        )
    }

    fn action(&self) -> plait_shared::ActionView {
        PlanDoc::new(self.doc.clone())
            .read_action(&self.doc.transact(), &a0())
            .unwrap()
    }
}

/// What `doc` did since `sv`.
fn since(doc: &Doc, sv: &StateVector) -> Vec<u8> {
    doc.transact().encode_state_as_update_v1(sv)
}

fn edit(doc: &Doc, f: impl FnOnce(&PlanDoc, &mut yrs::TransactionMut)) -> Vec<u8> {
    let sv = doc.transact().state_vector();
    let plan = PlanDoc::new(doc.clone());
    f(&plan, &mut doc.transact_mut());
    since(doc, &sv)
}

fn note(id: &str, by: &str, at: i64) -> LogEntry {
    LogEntry::Progress(ProgressUpdate {
        id: EntryId::new(id).unwrap(),
        text: "Ward walked".into(),
        by: user(by),
        at: UnixMillis(at),
        confidence: None,
    })
}

/// Finding 1. A refused removal of an action is remembered as a refused
/// delete of everything in it (`ItemIndex::refused_deletes`), for every
/// sender: the owner's own later deletion in its title is then answered
/// `Known` and dropped, and the owner's copy no longer matches the server.
#[test]
fn a_refused_removal_of_an_action_does_not_swallow_later_honest_deletes_in_it() {
    let mut server = Server::new();
    let board = server.client(77);
    let sv = board.transact().state_vector();
    {
        let mut txn = board.transact_mut();
        let actions = txn.get_map("actions").unwrap();
        actions.remove(&mut txn, "a-0");
    }
    let outcome = server
        .send("board", Role::Viewer, &since(&board, &sv))
        .outcome();
    assert_eq!(outcome.refused.len(), 1, "{outcome:?}");
    // The owner, with the server's state, deletes "Fix ".
    let owner = server.client(101);
    let bytes = edit(&owner, |plan, txn| {
        plan.edit_action_text(
            txn,
            &a0(),
            ActionText::Title,
            &TextEdit {
                index: 0,
                delete: 4,
                insert: String::new(),
            },
        )
        .unwrap();
    });
    let sent = server.send("owner", Role::Contributor, &bytes);
    assert!(matches!(sent, Sent::Admitted(_)), "{sent:?}");
    assert_eq!(server.action().title, "the doors");
}

/// Finding 2. Collected clocks a client sends (Yjs clients send them for
/// content they collected) are admitted as no effect, and yrs puts them in
/// the document's delete set, but the index does not count them deleted:
/// the server's own state, or any client's whole delete set, is then news
/// to it, and stores a delete-only update with an empty audit record.
#[test]
fn collected_clocks_leave_the_servers_own_state_known() {
    let mut server = Server::new();
    let gc = codec::encode(
        &[Struct::Gc {
            id: ID::new(yrs::ClientID::new(8_000_000), 0),
            len: 5,
        }],
        &IdSet::new(),
    );
    server.send("board", Role::Viewer, &gc).outcome();
    let state = server.state();
    let sent = server.send("board", Role::Viewer, &state);
    assert!(
        matches!(&sent, Sent::Other(v) if v == "Known"),
        "the server's own state: {sent:?}"
    );
}

/// Finding 3. A delete range whose clock plus length passes `u32::MAX`:
/// `codec::decode` reads it with yrs's `IdSet::decode`, which overflows (a
/// panic in a debug build; in release the range wraps to 5..4 and the
/// update is admitted with a refusal of a title change it does not make).
/// It should be a `CodecError`.
#[test]
fn a_delete_range_past_the_end_of_u32_is_malformed() {
    let server = Server::new();
    let who = user("board");
    let author = Author::Member {
        user: &who,
        role: Role::Viewer,
        rules: plait_shared::Governance::DEFAULT,
    };
    // No structs; one delete range of client 1: clock 5, length u32::MAX.
    let bytes = [0x00, 0x01, 0x01, 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f];
    let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decide(
            &server.index,
            &server.doc,
            author,
            &bytes,
            0,
            &Limits::DEFAULT,
        )
        .map(|v| format!("{v:?}"))
    }));
    assert!(matches!(verdict, Ok(Err(_))), "{verdict:?}");
}

/// Finding 4. Two members set the same field concurrently; yrs deletes the
/// loser while integrating, in every copy, but no update carries that
/// delete and the index never learns it. A third member's next sync (a Yjs
/// client sends its whole delete set) is then judged as deleting the field:
/// the validator's progress note comes back with a refusal of a reference
/// change it never made, and the server writes the reference again.
#[test]
fn concurrent_honest_field_sets_do_not_make_a_third_members_sync_refused() {
    let mut server = Server::new();
    let (lead, pm, validator) = (server.client(10), server.client(20), server.client(30));
    let from_lead = edit(&lead, |plan, txn| {
        plan.set_action_field(txn, &a0(), &ActionField::Reference("R-lead".into()))
            .unwrap();
    });
    let from_pm = edit(&pm, |plan, txn| {
        plan.set_action_field(txn, &a0(), &ActionField::Reference("R-pm".into()))
            .unwrap();
    });
    let s1 = server.send("lead", Role::Lead, &from_lead).outcome();
    let s2 = server.send("pm", Role::Admin, &from_pm).outcome();
    for stored in [&s1.update, &s2.update] {
        validator
            .transact_mut()
            .apply_update(Update::decode_v1(stored).unwrap())
            .unwrap();
    }
    let server_sv = server.doc.transact().state_vector();
    PlanDoc::new(validator.clone())
        .append(
            &mut validator.transact_mut(),
            &a0(),
            &note("note-1", "validator", NOW),
        )
        .unwrap();
    let outcome = server
        .send("validator", Role::Validator, &since(&validator, &server_sv))
        .outcome();
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
}

/// Finding 5. A refused field value is undone by deleting it, but a deleted
/// item still takes part in yrs's ordering of a key's concurrent values: a
/// member's offline write of the same field, arriving later, is ordered
/// before it when the hostile client id is the greater, so yrs deletes the
/// member's value as overwritten. The audit says the change was made; the
/// field is unset.
#[test]
fn a_refused_field_value_does_not_erase_an_honest_offline_one() {
    let mut server = Server::new();
    let pm = server.client(103);
    let from_pm = edit(&pm, |plan, txn| {
        plan.set_action_field(
            txn,
            &a0(),
            &ActionField::Phase(Some(PhaseId::new("ph-1").unwrap())),
        )
        .unwrap();
    });
    // A viewer whose client id is greater than the programme manager's.
    let board = server.client(500);
    let from_board = edit(&board, |plan, txn| {
        plan.set_action_field(
            txn,
            &a0(),
            &ActionField::Phase(Some(PhaseId::new("evil").unwrap())),
        )
        .unwrap();
    });
    let refused = server.send("board", Role::Viewer, &from_board).outcome();
    assert_eq!(refused.refused.len(), 1);
    let outcome = server.send("pm", Role::Admin, &from_pm).outcome();
    assert!(outcome.refused.is_empty(), "{outcome:?}");
    assert_eq!(
        server.action().phase_id,
        Some(PhaseId::new("ph-1").unwrap()),
        "the programme manager's phase is lost"
    );
}

/// Findings 1 and 9 together: a viewer's refused phase reaches the server
/// first (and is set back), then the programme manager's offline phase,
/// which yrs orders before the refused one and so deletes as overwritten.
/// The server sets the programme manager's value again; every copy (the
/// server's, the programme manager's, the viewer's) ends on it.
#[test]
fn a_refused_value_and_an_offline_one_converge_everywhere() {
    let mut server = Server::new();
    let pm = server.client(103);
    let board = server.client(500);
    let from_pm = edit(&pm, |plan, txn| {
        plan.set_action_field(
            txn,
            &a0(),
            &ActionField::Phase(Some(PhaseId::new("ph-1").unwrap())),
        )
        .unwrap();
    });
    let from_board = edit(&board, |plan, txn| {
        plan.set_action_field(
            txn,
            &a0(),
            &ActionField::Phase(Some(PhaseId::new("evil").unwrap())),
        )
        .unwrap();
    });
    let refused = server.send("board", Role::Viewer, &from_board).outcome();
    assert_eq!(refused.refused.len(), 1, "{refused:?}");
    assert!(refused.echo);
    let kept = server.send("pm", Role::Admin, &from_pm).outcome();
    assert!(kept.refused.is_empty(), "{kept:?}");
    for copy in [&pm, &board] {
        let missing = since(&server.doc, &copy.transact().state_vector());
        copy.transact_mut()
            .apply_update(Update::decode_v1(&missing).unwrap())
            .unwrap();
        assert_eq!(
            copy.transact().state_vector(),
            server.doc.transact().state_vector()
        );
        let theirs = PlanDoc::new(copy.clone())
            .read_action(&copy.transact(), &a0())
            .unwrap();
        assert_eq!(theirs.phase_id, Some(PhaseId::new("ph-1").unwrap()));
    }
    assert_eq!(
        server.action().phase_id,
        Some(PhaseId::new("ph-1").unwrap())
    );
}

/// Finding 6. A refused delete of a log entry is undone by inserting the
/// entry again, and yrs places the copy after the deleted items that
/// follow it, a refused (deleted) hostile entry included. An offline
/// re-audit result written after the original is ordered before that
/// hostile entry (its client id is the greater), so it lands before the
/// copy of the check it answers and is refused as having no effect.
#[test]
fn a_put_back_entry_stays_before_an_offline_answer_to_it() {
    let mut server = Server::new();
    let pm = server.client(103);
    let schedule = edit(&pm, |plan, txn| {
        plan.append(
            txn,
            &a0(),
            &LogEntry::Sustainment(Sustainment::Scheduled {
                id: EntryId::new("s-1").unwrap(),
                // Due within the re-audit window: a result can be recorded now.
                due: UnixMillis(NOW + 7 * DAY).date(),
                by: user("pm"),
                at: UnixMillis(NOW),
            }),
        )
        .unwrap();
    });
    server.send("pm", Role::Admin, &schedule).outcome();
    // The validator (client 104) records its result offline.
    let validator = server.client(104);
    let result = edit(&validator, |plan, txn| {
        plan.append(
            txn,
            &a0(),
            &LogEntry::Sustainment(Sustainment::Result {
                id: EntryId::new("c-1").unwrap(),
                check_id: EntryId::new("s-1").unwrap(),
                outcome: CheckOutcome::Passed,
                note: String::new(),
                method: Some(plait_shared::ReauditMethod::RecordsAudit),
                sample: "10 records".into(),
                by: user("validator"),
                at: UnixMillis(NOW),
            }),
        )
        .unwrap();
    });
    // A contributor who owns nothing (client 202) appends an entry
    // (refused), then deletes the scheduled re-audit (refused, put back).
    let mallory = server.client(202);
    let entry = edit(&mallory, |plan, txn| {
        plan.append(
            txn,
            &a0(),
            &LogEntry::Sustainment(Sustainment::Scheduled {
                id: EntryId::new("s-evil").unwrap(),
                // Due within the re-audit window: a result can be recorded now.
                due: UnixMillis(NOW + 7 * DAY).date(),
                by: user("mallory"),
                at: UnixMillis(NOW),
            }),
        )
        .unwrap();
    });
    server.send("mallory", Role::Contributor, &entry).outcome();
    let mallory = server.client(202);
    let sv = mallory.transact().state_vector();
    {
        let mut txn = mallory.transact_mut();
        let Some(Out::YMap(action)) = txn.get_map("actions").unwrap().get(&txn, "a-0") else {
            panic!("no action")
        };
        let Some(Out::YArray(log)) = action.get(&txn, "sustainment") else {
            panic!("no log")
        };
        log.remove(&mut txn, 0);
    }
    server
        .send("mallory", Role::Contributor, &since(&mallory, &sv))
        .outcome();
    let outcome = server.send("validator", Role::Validator, &result).outcome();
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert!(server.action().sustainment_checks[0].result.is_some());
}

/// Finding 7. An entry may not be older than the action's earliest entry,
/// taken as when the action came to exist; an action added without entries
/// (a draft) has none, so the first entry to reach the server sets the
/// bound. The owner's progress note written offline on Tuesday is refused
/// because the lead agreed the action online on Wednesday.
#[test]
fn an_offline_note_older_than_the_first_entry_of_a_draft_is_kept() {
    let mut server = Server::new();
    let owner = server.client(101);
    let from_owner = edit(&owner, |plan, txn| {
        plan.append(txn, &a0(), &note("u-tue", "owner", NOW))
            .unwrap();
    });
    let lead = server.client(102);
    let agree = edit(&lead, |plan, txn| {
        plan.append(
            txn,
            &a0(),
            &LogEntry::Transition(Transition {
                to: Status::Agreed,
                by: user("lead"),
                role: Role::Lead,
                at: UnixMillis(NOW + DAY),
                note: String::new(),
                baseline: false,
            }),
        )
        .unwrap();
    });
    let who = user("lead");
    server
        .send_as(
            Author::Member {
                user: &who,
                role: Role::Lead,
                rules: plait_shared::Governance::DEFAULT,
            },
            &agree,
            NOW + DAY,
        )
        .outcome();
    let who = user("owner");
    let outcome = server
        .send_as(
            Author::Member {
                user: &who,
                role: Role::Contributor,
                rules: plait_shared::Governance::DEFAULT,
            },
            &from_owner,
            NOW + 2 * DAY,
        )
        .outcome();
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
}

/// Finding 8. A refused delete of a log's entries is undone by writing
/// every entry again: a viewer's 7-byte update deleting a 200-entry log
/// makes the server store, and send to everyone online, about 10 KB (the
/// entries again). Twenty of them: 140 bytes sent, 206 KB stored and sent
/// on; the state itself hardly grows.
#[test]
fn deleting_a_long_log_does_not_cost_the_server_kilobytes() {
    let mut server = Server::new();
    {
        let plan = PlanDoc::new(server.doc.clone());
        let mut txn = server.doc.transact_mut();
        for k in 0..200 {
            plan.append(&mut txn, &a0(), &note(&format!("u-{k}"), "owner", NOW))
                .unwrap();
        }
    }
    server.index = ItemIndex::from_state(DocShape::Plan, &server.state()).unwrap();
    let (mut sent, mut stored) = (0, 0);
    for _ in 0..20 {
        let board = server.client(77);
        let sv = board.transact().state_vector();
        {
            let mut txn = board.transact_mut();
            let Some(Out::YMap(action)) = txn.get_map("actions").unwrap().get(&txn, "a-0") else {
                panic!("no action")
            };
            let Some(Out::YArray(log)) = action.get(&txn, "updates") else {
                panic!("no log")
            };
            let n = log.len(&txn);
            log.remove_range(&mut txn, 0, n);
        }
        let bytes = since(&board, &sv);
        sent += bytes.len();
        // Refused once; the same deletion sent again is no news.
        stored += match server.send("board", Role::Viewer, &bytes) {
            Sent::Admitted(outcome) => outcome.update.len(),
            Sent::Other(_) => 0,
        };
    }
    assert!(
        stored < 64 * sent.max(1024),
        "the viewer sent {sent} bytes; the server stored and sent on {stored}"
    );
}

/// Finding 9. A refused field value no longer enters the document (the
/// mend of finding 5): the stored update holds only collected clocks where
/// it was, which its sender already has as the value, so the sender's copy
/// keeps its refused value. Here the programme manager sets the original
/// due date concurrently with the lead, whose date arrived first; after
/// applying everything the server has, the two read different dates.
#[test]
fn a_refused_field_value_leaves_its_sender_converged() {
    let mut server = Server::new();
    let (lead, pm) = (server.client(102), server.client(103));
    let from_lead = edit(&lead, |plan, txn| {
        plan.set_action_field(
            txn,
            &a0(),
            &ActionField::DueOriginal(Date::parse_iso("2027-01-31").unwrap()),
        )
        .unwrap();
    });
    let from_pm = edit(&pm, |plan, txn| {
        plan.set_action_field(
            txn,
            &a0(),
            &ActionField::DueOriginal(Date::parse_iso("2027-06-30").unwrap()),
        )
        .unwrap();
    });
    server.send("lead", Role::Lead, &from_lead).outcome();
    let outcome = server.send("pm", Role::Admin, &from_pm).outcome();
    assert_eq!(outcome.refused.len(), 1, "{outcome:?}");
    // The programme manager gets the stored update back, and then
    // everything the server has that it lacks.
    pm.transact_mut()
        .apply_update(Update::decode_v1(&outcome.update).unwrap())
        .unwrap();
    let missing = since(&server.doc, &pm.transact().state_vector());
    pm.transact_mut()
        .apply_update(Update::decode_v1(&missing).unwrap())
        .unwrap();
    let theirs = PlanDoc::new(pm.clone())
        .read_action(&pm.transact(), &a0())
        .unwrap();
    assert_eq!(
        pm.transact().state_vector(),
        server.doc.transact().state_vector()
    );
    assert_eq!(theirs.due_original, server.action().due_original);
}

/// Finding 10. When an update's first new status change is refused, the
/// check that the others leave every earlier change doing what it did
/// compares the wrong entries (it marks the new ones by their positions
/// before the refused one was taken out), so a later one that supersedes
/// an earlier member's change is kept. Here the validator, offline on a
/// closed action, records a passed re-audit (closed → embedded) and then
/// reopens it; the forum reopens it online meanwhile. The validator's
/// changes land before the forum's (its client id is the smaller); the
/// first is refused, the second kept, and the forum's reopening, admitted
/// earlier, no longer takes effect.
#[test]
fn a_kept_status_change_never_supersedes_an_earlier_one() {
    let mut server = Server::new();
    // The import: the action closed, a re-audit scheduled.
    let import = server.client(1);
    let bytes = edit(&import, |plan, txn| {
        plan.append(
            txn,
            &a0(),
            &LogEntry::Transition(Transition {
                to: Status::Closed,
                by: user("pm"),
                role: Role::Admin,
                at: UnixMillis(NOW - DAY),
                note: "Imported".into(),
                baseline: true,
            }),
        )
        .unwrap();
        // Imported "Closed" is a claim until the programme manager records
        // the decision that closed it.
        plait_shared::workflow::record_decision(
            plan,
            txn,
            &a0(),
            &plait_shared::workflow::Who {
                user: &user("pm"),
                role: Role::Admin,
                at: UnixMillis(NOW - DAY),
            },
            &plait_shared::workflow::DecisionInput {
                forum: "Quality and Safety Committee",
                meeting_date: Date::parse_iso("2026-06-01").unwrap(),
                outcome: plait_shared::DecisionOutcome::ApproveClosure,
                minute_ref: "QSC/26/1",
                note: "",
                reaudit_months: &[],
                meeting: None,
            },
            7,
        )
        .unwrap();
        plan.append(
            txn,
            &a0(),
            &LogEntry::Sustainment(Sustainment::Scheduled {
                id: EntryId::new("s-1").unwrap(),
                // Due within the re-audit window: a result can be recorded now.
                due: UnixMillis(NOW + 7 * DAY).date(),
                by: user("pm"),
                at: UnixMillis(NOW - DAY),
            }),
        )
        .unwrap();
    });
    server.send_as(Author::Server, &bytes, NOW).outcome();
    // The validator (client 104), offline: a passed re-audit embeds the
    // action; then it reopens it.
    let validator = server.client(104);
    let from_validator = edit(&validator, |plan, txn| {
        let who = plait_shared::workflow::Who {
            user: &user("validator"),
            role: Role::Validator,
            at: UnixMillis(NOW),
        };
        plait_shared::workflow::record_reaudit(
            plan,
            txn,
            &a0(),
            &who,
            &plait_shared::workflow::ReauditInput {
                check_id: &EntryId::new("s-1").unwrap(),
                outcome: CheckOutcome::Passed,
                method: Some(plait_shared::ReauditMethod::RecordsAudit),
                sample: "10 records",
                note: "",
            },
            &plait_shared::Governance::DEFAULT,
            1,
        )
        .unwrap();
        plan.append(
            txn,
            &a0(),
            &LogEntry::Transition(Transition {
                to: Status::Reopened,
                by: user("validator"),
                role: Role::Validator,
                at: UnixMillis(NOW),
                note: "Doors propped open again".into(),
                baseline: false,
            }),
        )
        .unwrap();
    });
    // The forum (client 105) reopens it online.
    let forum = server.client(105);
    let reopen = edit(&forum, |plan, txn| {
        plan.append(
            txn,
            &a0(),
            &LogEntry::Transition(Transition {
                to: Status::Reopened,
                by: user("forum"),
                role: Role::Approver,
                at: UnixMillis(NOW),
                note: "Incident on ward 3".into(),
                baseline: false,
            }),
        )
        .unwrap();
    });
    let outcome = server.send("forum", Role::Approver, &reopen).outcome();
    assert!(outcome.refused.is_empty(), "{outcome:?}");
    server
        .send("validator", Role::Validator, &from_validator)
        .outcome();
    let action = server.action();
    assert!(
        action.fold.superseded().next().is_none(),
        "every kept status change takes effect: {:?}",
        action.fold.steps
    );
}
