//! One test per rule of the admission, each named after the attack it
//! stops (issue 11's list), against a real server document and a real
//! client document exchanging real updates.

use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, Doc, GetString, Map, MapPrelim, ReadTxn, StateVector, Text,
    TextPrelim, Transact, Update, WriteTxn,
};

use super::schema::DocShape;
use super::*;
use crate::entries::{DueChange, LogEntry, ProgressUpdate, Transition};
use crate::ids::{ActionId, Date, EntryId, UnixMillis, UserId};
use crate::lifecycle::Step;
use crate::new_doc_with_client_id;
use crate::plan::{ActionField, NewAction, PlanDoc};
use crate::vocab::{DueChangeVerdict, Role, Status};
use crate::workflow::{self, Who};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const NOW: UnixMillis = UnixMillis(1_780_000_000_000);
const DAY: i64 = 86_400_000;

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn action_id() -> ActionId {
    ActionId::new("md001-1").unwrap()
}

/// The server: one plan with one action owned by `ward.manager`, imported
/// as in progress by `pm` (a baseline, as the import writes).
struct Server {
    doc: Doc,
    index: ItemIndex,
}

impl Server {
    fn new() -> Server {
        let doc = new_doc_with_client_id(1);
        let plan = PlanDoc::new(doc.clone());
        {
            let mut txn = doc.transact_mut();
            plan.add_action(
                &mut txn,
                &action_id(),
                &NewAction {
                    reference: "MD001.1".into(),
                    title: "Fix the door closers".into(),
                    description: String::new(),
                    finding_ids: vec![],
                    workstream_id: None,
                    phase_id: None,
                    exec_lead: "lead".into(),
                    owner: Some(user("ward.manager")),
                    due: Some(Date::parse_iso("2026-12-31").unwrap()),
                    confidence: None,
                    closure_criteria: String::new(),
                },
            )
            .unwrap();
            plan.set_created(&mut txn, &action_id(), UnixMillis(NOW.0 - 30 * DAY))
                .unwrap();
            plan.append(
                &mut txn,
                &action_id(),
                &LogEntry::Transition(Transition {
                    to: Status::InProgress,
                    by: user("pm"),
                    role: Role::Admin,
                    at: UnixMillis(NOW.0 - 30 * DAY),
                    note: "Imported".into(),
                    baseline: true,
                }),
            )
            .unwrap();
        }
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let index = ItemIndex::from_state(DocShape::Plan, &state).unwrap();
        Server { doc, index }
    }

    fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// A member's device with the server's state.
    fn client(&self, client_id: u64) -> Doc {
        let doc = new_doc_with_client_id(client_id);
        doc.transact_mut()
            .apply_update(Update::decode_v1(&self.state()).unwrap())
            .unwrap();
        doc
    }

    fn send(&mut self, from: &str, role: Role, bytes: &[u8]) -> Sent {
        let who = user(from);
        let author = Author::Member {
            user: &who,
            role,
            rules: crate::lifecycle::Governance::DEFAULT,
        };
        match decide(&self.index, &self.doc, author, bytes, 0, &Limits::DEFAULT).unwrap() {
            Verdict::Admit(admitted) => {
                let outcome = integrate(
                    &self.doc,
                    &mut self.index,
                    admitted,
                    author,
                    NOW,
                    &Limits::DEFAULT,
                )
                .unwrap();
                assert!(
                    self.doc.transact().store().pending_update().is_none(),
                    "nothing is ever left pending"
                );
                Sent::Admitted(outcome)
            }
            Verdict::Known => Sent::Known,
            Verdict::Incomplete(why) => Sent::Incomplete(why),
            Verdict::Refused(why) => Sent::Refused(why),
        }
    }

    fn action(&self) -> crate::plan::ActionView {
        PlanDoc::new(self.doc.clone())
            .read_action(&self.doc.transact(), &action_id())
            .unwrap()
    }
}

#[derive(Debug)]
enum Sent {
    Admitted(Outcome),
    Known,
    Incomplete(#[allow(dead_code)] String),
    Refused(#[allow(dead_code)] String),
}

impl Sent {
    fn outcome(self) -> Outcome {
        match self {
            Sent::Admitted(outcome) => outcome,
            other => panic!("not admitted: {other:?}"),
        }
    }
}

/// What `doc` did since `sv`, as an update.
fn since(doc: &Doc, sv: &StateVector) -> Vec<u8> {
    doc.transact().encode_state_as_update_v1(sv)
}

fn apply(doc: &Doc, bytes: &[u8]) {
    doc.transact_mut()
        .apply_update(Update::decode_v1(bytes).unwrap())
        .unwrap();
}

/// A status change by `by` in `role`, with no note.
fn step(to: Status, by: &str, role: Role, at: UnixMillis) -> LogEntry {
    LogEntry::Transition(Transition {
        to,
        by: user(by),
        role,
        at,
        note: String::new(),
        baseline: false,
    })
}

fn note(by: &str, text: &str, at: UnixMillis, salt: u32) -> LogEntry {
    LogEntry::Progress(ProgressUpdate {
        id: EntryId::new(format!("note-{by}-{salt}").replace('.', "-")).unwrap(),
        text: text.into(),
        by: user(by),
        at,
        confidence: None,
    })
}

#[test]
fn pending_items_are_not_stored_but_answered_with_the_state_vector() {
    let mut server = Server::new();
    // The viewer's device writes a note "by chief.nurse" after a change the
    // server never saw: the note depends on the missing change.
    let device = server.client(77);
    let plan = PlanDoc::new(device.clone());
    plan.append(
        &mut device.transact_mut(),
        &action_id(),
        &note("board", "first", NOW, 1),
    )
    .unwrap();
    let sv = device.transact().state_vector();
    plan.append(
        &mut device.transact_mut(),
        &action_id(),
        &note("chief.nurse", "planted", NOW, 2),
    )
    .unwrap();
    let second = since(&device, &sv);
    assert!(matches!(
        server.send("board", Role::Viewer, &second),
        Sent::Incomplete(_)
    ));
    assert!(server.action().updates.is_empty(), "nothing of it is in");
    // The lead's next edit does not carry it in.
    let lead = server.client(78);
    let sv = lead.transact().state_vector();
    PlanDoc::new(lead.clone())
        .append(
            &mut lead.transact_mut(),
            &action_id(),
            &note("lead", "honest", NOW, 3),
        )
        .unwrap();
    server
        .send("lead", Role::Lead, &since(&lead, &sv))
        .outcome();
    let updates = server.action().updates;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].by, user("lead"));
}

#[test]
fn a_delete_of_clocks_the_server_has_not_seen_is_not_kept() {
    let mut server = Server::new();
    // A delete set naming the owner's future clocks (client 500, clocks
    // 0..100): kept pending, it would erase the owner's next edits.
    let mut deletes = yrs::IdSet::new();
    deletes.insert(yrs::ID::new(yrs::ClientID::new(500), 0), 100);
    let bytes = codec::delete_only(&deletes);
    assert!(matches!(
        server.send("board", Role::Viewer, &bytes),
        Sent::Incomplete(_)
    ));
    // The owner's device (client 500) then writes: it all stands.
    let owner = server.client(500);
    let sv = owner.transact().state_vector();
    PlanDoc::new(owner.clone())
        .edit_action_text(
            &mut owner.transact_mut(),
            &action_id(),
            // (The description: once agreed, the title is the lead's.)
            crate::plan::ActionText::Description,
            &crate::plan::TextEdit {
                index: 0,
                delete: 0,
                insert: "Now: ".into(),
            },
        )
        .unwrap();
    server
        .send("ward.manager", Role::Contributor, &since(&owner, &sv))
        .outcome();
    assert_eq!(server.action().description, "Now: ");
}

#[test]
fn an_action_replaced_by_a_copy_is_refused_and_offline_work_survives() {
    let mut server = Server::new();
    let owner = server.client(10);
    let hostile = server.client(11);
    // The owner writes a note offline.
    let owner_sv = owner.transact().state_vector();
    PlanDoc::new(owner.clone())
        .append(
            &mut owner.transact_mut(),
            &action_id(),
            &note("ward.manager", "offline note", NOW, 1),
        )
        .unwrap();
    // The hostile admin replaces the action's map with an identical copy.
    let sv = hostile.transact().state_vector();
    {
        let view = server.action();
        let mut txn = hostile.transact_mut();
        let actions = txn.get_or_insert_map("actions");
        let copy = actions.insert(&mut txn, action_id().as_str(), MapPrelim::default());
        copy.insert(&mut txn, "title", TextPrelim::new(view.title.as_str()));
        copy.insert(&mut txn, "owner", "ward.manager");
        for log in crate::changes::Log::ALL {
            copy.insert(&mut txn, log.key(), ArrayPrelim::default());
        }
    }
    let outcome = server
        .send("pm", Role::Admin, &since(&hostile, &sv))
        .outcome();
    assert!(!outcome.refused.is_empty(), "{outcome:?}");
    // The owner's note syncs and is there.
    server
        .send("ward.manager", Role::Contributor, &since(&owner, &owner_sv))
        .outcome();
    let action = server.action();
    assert_eq!(action.updates.len(), 1);
    assert_eq!(action.transitions.len(), 1, "the imported status stands");
}

#[test]
fn a_log_or_text_turned_into_another_type_is_refused() {
    let mut server = Server::new();
    let hostile = server.client(12);
    let sv = hostile.transact().state_vector();
    {
        let mut txn = hostile.transact_mut();
        let actions = txn.get_or_insert_map("actions");
        let Some(yrs::Out::YMap(action)) = actions.get(&txn, action_id().as_str()) else {
            panic!()
        };
        action.insert(&mut txn, "evidence", TextPrelim::new("not a log"));
        action.insert(&mut txn, "decisions", "a string");
        action.insert(&mut txn, "title", ArrayPrelim::default());
    }
    let outcome = server
        .send("lead", Role::Lead, &since(&hostile, &sv))
        .outcome();
    assert!(outcome.refused.len() >= 3, "{outcome:?}");
    // Evidence can still be attached.
    let owner = server.client(13);
    let sv = owner.transact().state_vector();
    let who = Who {
        user: &user("ward.manager"),
        role: Role::Contributor,
        at: NOW,
    };
    workflow::attach_evidence(
        &PlanDoc::new(owner.clone()),
        &mut owner.transact_mut(),
        &action_id(),
        &who,
        &workflow::EvidenceInput::new(crate::vocab::EvidenceKind::Note, "Audit done", ""),
        1,
    )
    .unwrap();
    server
        .send("ward.manager", Role::Contributor, &since(&owner, &sv))
        .outcome();
    let action = server.action();
    assert_eq!(action.evidence.len(), 1);
    assert_eq!(action.title, "Fix the door closers");
}

#[test]
fn roots_keys_and_embeds_outside_the_schema_are_refused() {
    let mut server = Server::new();
    let hostile = server.client(14);
    let sv = hostile.transact().state_vector();
    {
        let mut txn = hostile.transact_mut();
        txn.get_or_insert_map("junk").insert(&mut txn, "k", "v");
        txn.get_or_insert_text("big")
            .insert(&mut txn, 0, &"x".repeat(10_000));
        let actions = txn.get_or_insert_map("actions");
        actions.insert(&mut txn, "not an id!", MapPrelim::default());
        let Some(yrs::Out::YMap(action)) = actions.get(&txn, action_id().as_str()) else {
            panic!()
        };
        action.insert(&mut txn, "colour", "red");
        let Some(yrs::Out::YText(title)) = action.get(&txn, "title") else {
            panic!()
        };
        title.insert_embed(&mut txn, 0, Any::from("x".repeat(1000)));
        title.format(&mut txn, 0, 3, Default::default());
    }
    let outcome = server
        .send("pm", Role::Admin, &since(&hostile, &sv))
        .outcome();
    assert!(outcome.refused.len() >= 4, "{outcome:?}");
    let txn = server.doc.transact();
    assert!(txn
        .get_text("big")
        .is_none_or(|t| t.get_string(&txn).is_empty()));
    drop(txn);
    assert_eq!(server.action().title, "Fix the door closers");
    assert!(
        server.state().len() < 2_000,
        "no refused content is stored: {} bytes",
        server.state().len()
    );
}

#[test]
fn an_entry_at_the_front_of_a_log_is_refused() {
    let mut server = Server::new();
    // A lead writes an "agreed" at the front, with no origin, to rewind the
    // imported status.
    let hostile = server.client(15);
    let sv = hostile.transact().state_vector();
    {
        let mut txn = hostile.transact_mut();
        let actions = txn.get_or_insert_map("actions");
        let Some(yrs::Out::YMap(action)) = actions.get(&txn, action_id().as_str()) else {
            panic!()
        };
        let Some(yrs::Out::YArray(log)) = action.get(&txn, "transitions") else {
            panic!()
        };
        let entry = yrs::encoding::serde::to_any(&Transition {
            to: Status::Agreed,
            by: user("lead"),
            role: Role::Lead,
            at: NOW,
            note: String::new(),
            baseline: false,
        })
        .unwrap();
        log.insert(&mut txn, 0, entry);
    }
    let outcome = server
        .send("lead", Role::Lead, &since(&hostile, &sv))
        .outcome();
    assert_eq!(outcome.refused.len(), 1, "{outcome:?}");
    let action = server.action();
    assert_eq!(action.status(), Status::InProgress);
    assert_eq!(action.transitions.len(), 1);
}

#[test]
fn a_baseline_appended_later_is_refused_even_from_an_admin() {
    let mut server = Server::new();
    let admin = server.client(16);
    let sv = admin.transact().state_vector();
    PlanDoc::new(admin.clone())
        .append(
            &mut admin.transact_mut(),
            &action_id(),
            &LogEntry::Transition(Transition {
                to: Status::Embedded,
                by: user("pm"),
                role: Role::Admin,
                at: NOW,
                note: "baseline".into(),
                baseline: true,
            }),
        )
        .unwrap();
    let outcome = server
        .send("pm", Role::Admin, &since(&admin, &sv))
        .outcome();
    assert_eq!(outcome.refused.len(), 1, "{outcome:?}");
    assert_eq!(server.action().status(), Status::InProgress);
    assert_eq!(server.action().transitions.len(), 1);
}

#[test]
fn entry_times_must_be_plausible() {
    let mut server = Server::new();
    for (at, ok) in [
        (UnixMillis(NOW.0 - 3 * DAY), true),
        (UnixMillis(1_577_836_800_000), false), // 2020
        (UnixMillis(NOW.0 + DAY), false),
    ] {
        let device = server.client(20 + at.0 as u64 % 7);
        let sv = device.transact().state_vector();
        PlanDoc::new(device.clone())
            .append(
                &mut device.transact_mut(),
                &action_id(),
                &note("ward.manager", "note", at, at.0 as u32),
            )
            .unwrap();
        let outcome = server
            .send("ward.manager", Role::Contributor, &since(&device, &sv))
            .outcome();
        assert_eq!(outcome.refused.is_empty(), ok, "{at:?}: {outcome:?}");
    }
    assert_eq!(server.action().updates.len(), 1);
}

#[test]
fn a_client_id_writes_for_one_person_only() {
    let mut server = Server::new();
    let device = server.client(30);
    let sv = device.transact().state_vector();
    PlanDoc::new(device.clone())
        .append(
            &mut device.transact_mut(),
            &action_id(),
            &note("ward.manager", "mine", NOW, 1),
        )
        .unwrap();
    server
        .send("ward.manager", Role::Contributor, &since(&device, &sv))
        .outcome();
    // Someone else sends items under the same client id.
    let sv = device.transact().state_vector();
    PlanDoc::new(device.clone())
        .append(
            &mut device.transact_mut(),
            &action_id(),
            &note("lead", "forged", NOW, 2),
        )
        .unwrap();
    assert!(matches!(
        server.send("lead", Role::Lead, &since(&device, &sv)),
        Sent::Refused(_)
    ));
    assert_eq!(server.action().updates.len(), 1);
}

#[test]
fn a_viewer_changes_nothing_and_what_was_refused_leaves_no_content() {
    let mut server = Server::new();
    let device = server.client(40);
    let sv = device.transact().state_vector();
    let plan = PlanDoc::new(device.clone());
    {
        let mut txn = device.transact_mut();
        plan.set_action_field(
            &mut txn,
            &action_id(),
            &ActionField::Owner(Some(user("board"))),
        )
        .unwrap();
        plan.append(
            &mut txn,
            &action_id(),
            &note("board", "SECRET-NOTE", NOW, 1),
        )
        .unwrap();
        plan.edit_action_text(
            &mut txn,
            &action_id(),
            crate::plan::ActionText::Title,
            &crate::plan::TextEdit {
                index: 0,
                delete: 4,
                insert: "SECRET-TITLE".into(),
            },
        )
        .unwrap();
    }
    let outcome = server
        .send("board", Role::Viewer, &since(&device, &sv))
        .outcome();
    assert_eq!(outcome.refused.len(), 3, "{outcome:?}");
    assert!(outcome.echo, "the sender is sent the undoing");
    let action = server.action();
    assert_eq!(action.owner, Some(user("ward.manager")));
    assert!(action.updates.is_empty());
    assert_eq!(action.title, "Fix the door closers");
    let stored = String::from_utf8_lossy(&outcome.update).to_string();
    assert!(!stored.contains("SECRET"), "refused content is not stored");
    // The sender converges back on what it inserted (its characters and its
    // entry, deleted by id). A refused field value and a refused deletion
    // never entered the document (applied and then undone, they could make
    // a member's offline value lose, or their offline deletion miss), so the
    // sender's copy keeps those until it reloads.
    apply(&device, &outcome.update);
    let back = PlanDoc::new(device.clone())
        .read_action(&device.transact(), &action_id())
        .unwrap();
    assert!(!back.title.contains("SECRET"), "{}", back.title);
    assert!(back.updates.is_empty());
}

#[test]
fn an_admins_answer_to_a_due_date_request_takes_effect_as_the_rules_allow() {
    let mut server = Server::new();
    let owner = server.client(50);
    let sv = owner.transact().state_vector();
    let request = workflow::request_due_change(
        &PlanDoc::new(owner.clone()),
        &mut owner.transact_mut(),
        &action_id(),
        &Who {
            user: &user("ward.manager"),
            role: Role::Contributor,
            at: NOW,
        },
        Date::parse_iso("2027-03-31").unwrap(),
        "Contractor delayed",
        1,
    )
    .unwrap();
    server
        .send("ward.manager", Role::Contributor, &since(&owner, &sv))
        .outcome();
    let admin = server.client(51);
    let sv = admin.transact().state_vector();
    workflow::answer_due_change(
        &PlanDoc::new(admin.clone()),
        &mut admin.transact_mut(),
        &action_id(),
        &Who {
            user: &user("pm"),
            role: Role::Admin,
            at: NOW,
        },
        &request,
        DueChangeVerdict::Approved,
        "",
        2,
    )
    .unwrap();
    let outcome = server
        .send("pm", Role::Admin, &since(&admin, &sv))
        .outcome();
    assert!(outcome.refused.is_empty(), "{outcome:?}");
    assert_eq!(
        server.action().due_current,
        Some(Date::parse_iso("2027-03-31").unwrap())
    );
}

#[test]
fn rules_and_fold_agree_an_entry_is_kept_exactly_when_it_takes_effect() {
    // For each kind of due-date and re-audit entry, and transitions, one
    // that takes effect and one that would not: kept exactly when it does.
    let mut server = Server::new();
    // A second answer to an answered request has no effect: refused.
    let owner = server.client(60);
    let sv = owner.transact().state_vector();
    let who_owner = Who {
        user: &user("ward.manager"),
        role: Role::Contributor,
        at: NOW,
    };
    let request = workflow::request_due_change(
        &PlanDoc::new(owner.clone()),
        &mut owner.transact_mut(),
        &action_id(),
        &who_owner,
        Date::parse_iso("2027-01-31").unwrap(),
        "reason",
        1,
    )
    .unwrap();
    server
        .send("ward.manager", Role::Contributor, &since(&owner, &sv))
        .outcome();
    for (who, role, salt, expect_kept) in
        [("lead", Role::Lead, 2, true), ("pm", Role::Admin, 3, false)]
    {
        let device = server.client(61 + salt as u64);
        let sv = device.transact().state_vector();
        let entry = LogEntry::DueChange(DueChange::Answer {
            id: EntryId::new(format!("answer-{salt}")).unwrap(),
            request_id: request.clone(),
            verdict: DueChangeVerdict::Declined,
            note: "no".into(),
            by: user(who),
            role,
            at: NOW,
        });
        PlanDoc::new(device.clone())
            .append(&mut device.transact_mut(), &action_id(), &entry)
            .unwrap();
        let outcome = server.send(who, role, &since(&device, &sv)).outcome();
        assert_eq!(
            outcome.refused.is_empty(),
            expect_kept,
            "{who}: {outcome:?}"
        );
        let answered = server.action().due_requests[0].answer.clone();
        assert_eq!(answered.map(|a| a.1), Some(user("lead")));
    }
    // A transition the fold supersedes is refused; one it applies is kept.
    for (to, expect_kept) in [(Status::Closed, false), (Status::CompletionProposed, false)] {
        let device = server.client(70 + expect_kept as u64 + to as u64);
        let sv = device.transact().state_vector();
        PlanDoc::new(device.clone())
            .append(
                &mut device.transact_mut(),
                &action_id(),
                &LogEntry::Transition(Transition {
                    to,
                    by: user("ward.manager"),
                    role: Role::Contributor,
                    at: NOW,
                    note: String::new(),
                    baseline: false,
                }),
            )
            .unwrap();
        let outcome = server
            .send("ward.manager", Role::Contributor, &since(&device, &sv))
            .outcome();
        assert_eq!(
            outcome.refused.is_empty(),
            expect_kept,
            "{to:?}: {outcome:?}"
        );
    }
    let fold = server.action().fold;
    assert_eq!(fold.status, Status::InProgress);
    assert!(
        fold.superseded().next().is_none(),
        "every entry kept takes effect"
    );
}

#[test]
fn an_honest_offline_note_on_a_stale_last_entry_is_kept() {
    // Two members append offline from the same last entry; both stand.
    let mut server = Server::new();
    let a = server.client(80);
    let b = server.client(81);
    let (sa, sb) = (a.transact().state_vector(), b.transact().state_vector());
    PlanDoc::new(a.clone())
        .append(
            &mut a.transact_mut(),
            &action_id(),
            &note("ward.manager", "a", NOW, 1),
        )
        .unwrap();
    PlanDoc::new(b.clone())
        .append(
            &mut b.transact_mut(),
            &action_id(),
            &note("lead", "b", NOW, 2),
        )
        .unwrap();
    server
        .send("ward.manager", Role::Contributor, &since(&a, &sa))
        .outcome();
    let outcome = server.send("lead", Role::Lead, &since(&b, &sb)).outcome();
    assert!(outcome.refused.is_empty(), "{outcome:?}");
    assert_eq!(server.action().updates.len(), 2);
}

#[test]
fn a_whole_sync_of_what_the_server_has_is_known() {
    let mut server = Server::new();
    let state = server.state();
    assert!(matches!(
        server.send("board", Role::Viewer, &state),
        Sent::Known
    ));
}

#[test]
fn a_deleted_log_entry_stays_for_everyone_and_costs_nothing() {
    // Dropped, not deleted and put back: a copy would cost the log again and
    // could land after a member's offline answer to the entry.
    let mut server = Server::new();
    let lead = server.client(90);
    let sv = lead.transact().state_vector();
    {
        let mut txn = lead.transact_mut();
        let actions = txn.get_or_insert_map("actions");
        let Some(yrs::Out::YMap(action)) = actions.get(&txn, action_id().as_str()) else {
            panic!()
        };
        let Some(yrs::Out::YArray(log)) = action.get(&txn, "transitions") else {
            panic!()
        };
        log.remove(&mut txn, 0);
    }
    let before = server.state();
    match server.send("lead", Role::Lead, &since(&lead, &sv)) {
        Sent::Admitted(outcome) => {
            assert_eq!(outcome.refused.len(), 1, "{outcome:?}");
            assert!(outcome.refused[0]
                .reason
                .contains("cannot be changed or removed"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.action().transitions.len(), 1);
    assert_eq!(server.action().status(), Status::InProgress);
    assert!(
        server.state().len() <= before.len() + 16,
        "nothing of the log again"
    );
}

/// Whether `entry`, appended to a trusted copy of the server's action with
/// no checks at all, takes effect in the fold: the independent oracle.
fn takes_effect(server: &Server, entry: &LogEntry) -> bool {
    use crate::entries::Sustainment;
    let copy = server.client(999);
    let plan = PlanDoc::new(copy.clone());
    plan.append(&mut copy.transact_mut(), &action_id(), entry)
        .unwrap();
    let view = plan.read_action(&copy.transact(), &action_id()).unwrap();
    let unique = |ids: Vec<&EntryId>| {
        let last = ids.last().copied();
        ids.iter().filter(|id| Some(**id) == last).count() == 1
    };
    match entry {
        LogEntry::Transition(_) => matches!(view.fold.steps.last(), Some(Step::Applied { .. })),
        LogEntry::Progress(_) => unique(view.updates.iter().map(|e| &e.id).collect()),
        LogEntry::Evidence(_) => unique(view.evidence.iter().map(|e| &e.id).collect()),
        LogEntry::EvidenceReview(_) => {
            unique(view.evidence_reviews.iter().map(|e| &e.id).collect())
        }
        LogEntry::Decision(_) => unique(view.decisions.iter().map(|e| &e.id).collect()),
        LogEntry::DueChange(DueChange::Request { id, .. } | DueChange::Wording { id, .. }) => {
            view.due_changes
                .iter()
                .filter(|e| {
                    matches!(e, DueChange::Request { id: other, .. } | DueChange::Wording { id: other, .. } if other == id)
                })
                .count()
                == 1
        }
        LogEntry::DueChange(DueChange::Answer { request_id, by, .. }) => {
            let before = server
                .action()
                .due_requests
                .iter()
                .find(|r| &r.id == request_id)
                .and_then(|r| r.answer.clone());
            let after = view
                .due_requests
                .iter()
                .find(|r| &r.id == request_id)
                .and_then(|r| r.answer.clone());
            before.is_none() && after.is_some_and(|a| &a.1 == by)
        }
        LogEntry::Sustainment(Sustainment::Scheduled { id, .. }) => {
            view.sustainment
                .iter()
                .filter(|e| matches!(e, Sustainment::Scheduled { id: other, .. } if other == id))
                .count()
                == 1
        }
        LogEntry::Sustainment(Sustainment::Result { check_id, by, .. }) => {
            let before = server
                .action()
                .sustainment_checks
                .iter()
                .find(|c| &c.id == check_id)
                .and_then(|c| c.result.clone());
            let after = view
                .sustainment_checks
                .iter()
                .find(|c| &c.id == check_id)
                .and_then(|c| c.result.clone());
            before.is_none() && after.is_some_and(|r| &r.1 == by)
        }
    }
}

#[test]
fn rules_and_fold_agree_for_every_kind_of_log_entry() {
    use crate::entries::{Decision, Evidence, EvidenceReview, Sustainment};
    use crate::vocab::{CheckOutcome, DecisionOutcome, EvidenceKind, EvidenceVerdict};
    let mut server = Server::new();
    let id = |s: &str| EntryId::new(s).unwrap();
    let at = NOW;
    // (who, role, entry): each allowed to its writer by the access rules,
    // some with effect and some without (a duplicate id, a second answer, a
    // step the fold supersedes); kept exactly when it takes effect.
    let steps: Vec<(&str, Role, LogEntry)> = vec![
        (
            "ward.manager",
            Role::Contributor,
            note("ward.manager", "a", at, 1),
        ),
        (
            "ward.manager",
            Role::Contributor,
            note("ward.manager", "again", at, 1),
        ),
        (
            "ward.manager",
            Role::Contributor,
            step(
                Status::CompletionProposed,
                "ward.manager",
                Role::Contributor,
                at,
            ),
        ),
        (
            "ward.manager",
            Role::Contributor,
            LogEntry::Evidence(Evidence {
                id: id("ev-1"),
                kind: EvidenceKind::Note,
                title: "Audit".into(),
                location: String::new(),
                evidence_type: None,
                period_from: None,
                period_to: None,
                site: String::new(),
                piece: None,
                by: user("ward.manager"),
                at,
            }),
        ),
        (
            "ward.manager",
            Role::Contributor,
            LogEntry::Evidence(Evidence {
                id: id("ev-1"),
                kind: EvidenceKind::Note,
                title: "Same id".into(),
                location: String::new(),
                evidence_type: None,
                period_from: None,
                period_to: None,
                site: String::new(),
                piece: None,
                by: user("ward.manager"),
                at,
            }),
        ),
        (
            "ward.manager",
            Role::Contributor,
            step(
                Status::CompletionProposed,
                "ward.manager",
                Role::Contributor,
                at,
            ),
        ),
        (
            "val",
            Role::Validator,
            LogEntry::EvidenceReview(EvidenceReview {
                id: id("rev-1"),
                evidence_id: id("ev-1"),
                verdict: EvidenceVerdict::Accepted,
                assurance: None,
                note: String::new(),
                by: user("val"),
                at,
            }),
        ),
        (
            "val",
            Role::Validator,
            step(Status::EvidenceAccepted, "val", Role::Validator, at),
        ),
        (
            "val",
            Role::Validator,
            step(Status::EvidenceAccepted, "val", Role::Validator, at),
        ),
        (
            "forum",
            Role::Approver,
            LogEntry::Decision(Decision {
                id: id("dec-1"),
                forum: "Quality and Safety Committee".into(),
                meeting_date: Date::parse_iso("2026-11-20").unwrap(),
                outcome: DecisionOutcome::ApproveClosure,
                minute_ref: "QSC/26/114".into(),
                note: String::new(),
                by: user("forum"),
                at,
                meeting: None,
            }),
        ),
        (
            "ward.manager",
            Role::Contributor,
            LogEntry::DueChange(DueChange::Request {
                id: id("req-1"),
                new_due: Date::parse_iso("2027-02-28").unwrap(),
                reason: "Estates".into(),
                by: user("ward.manager"),
                at,
            }),
        ),
        (
            "ward.manager",
            Role::Contributor,
            LogEntry::DueChange(DueChange::Request {
                id: id("req-1"),
                new_due: Date::parse_iso("2027-03-28").unwrap(),
                reason: "Same id".into(),
                by: user("ward.manager"),
                at,
            }),
        ),
        (
            "pm",
            Role::Admin,
            LogEntry::DueChange(DueChange::Answer {
                id: id("ans-1"),
                request_id: id("req-1"),
                verdict: DueChangeVerdict::Approved,
                note: String::new(),
                by: user("pm"),
                role: Role::Admin,
                at,
            }),
        ),
        (
            "lead",
            Role::Lead,
            LogEntry::DueChange(DueChange::Answer {
                id: id("ans-2"),
                request_id: id("req-1"),
                verdict: DueChangeVerdict::Declined,
                note: String::new(),
                by: user("lead"),
                role: Role::Lead,
                at,
            }),
        ),
        (
            "val",
            Role::Validator,
            LogEntry::Sustainment(Sustainment::Scheduled {
                id: id("chk-1"),
                // Due within the re-audit window of now: a result can be
                // recorded.
                due: UnixMillis(at.0 + 7 * 86_400_000).date(),
                by: user("val"),
                at,
            }),
        ),
        (
            "val",
            Role::Validator,
            LogEntry::Sustainment(Sustainment::Result {
                id: id("res-1"),
                check_id: id("chk-1"),
                outcome: CheckOutcome::Failed,
                note: String::new(),
                method: Some(crate::vocab::ReauditMethod::RecordsAudit),
                sample: "10 records".into(),
                by: user("val"),
                at,
            }),
        ),
        (
            "val",
            Role::Validator,
            LogEntry::Sustainment(Sustainment::Result {
                id: id("res-2"),
                check_id: id("chk-1"),
                outcome: CheckOutcome::Passed,
                note: String::new(),
                method: Some(crate::vocab::ReauditMethod::RecordsAudit),
                sample: "10 records".into(),
                by: user("val"),
                at,
            }),
        ),
        (
            "val",
            Role::Validator,
            LogEntry::Sustainment(Sustainment::Result {
                id: id("res-3"),
                check_id: id("chk-1"),
                outcome: CheckOutcome::Failed,
                note: "Doors propped open again".into(),
                method: Some(crate::vocab::ReauditMethod::RecordsAudit),
                sample: "10 records".into(),
                by: user("val"),
                at,
            }),
        ),
    ];
    let mut kept_and_not = (0, 0);
    for (i, (who, role, entry)) in steps.into_iter().enumerate() {
        let expected = takes_effect(&server, &entry);
        let device = server.client(2_000 + i as u64);
        let sv = device.transact().state_vector();
        PlanDoc::new(device.clone())
            .append(&mut device.transact_mut(), &action_id(), &entry)
            .unwrap();
        let outcome = server.send(who, role, &since(&device, &sv)).outcome();
        assert_eq!(
            outcome.refused.is_empty(),
            expected,
            "step {i} ({entry:?}): kept exactly when it takes effect: {outcome:?}"
        );
        if expected {
            kept_and_not.0 += 1;
        } else {
            kept_and_not.1 += 1;
        }
    }
    assert!(
        kept_and_not.0 >= 8 && kept_and_not.1 >= 6,
        "{kept_and_not:?}"
    );
    let action = server.action();
    assert!(action.fold.superseded().next().is_none());
    assert_eq!(
        action.due_requests[0].answer.as_ref().map(|a| &a.1),
        Some(&user("pm"))
    );
}

#[test]
fn a_refused_update_is_stored_with_its_own_deletes_not_the_documents() {
    // A document with a long history of deletions: a refusal must not store
    // (and send) that history again each time, or one member could fill the
    // document's quota by sending refused edits.
    let mut server = Server::new();
    let owner = server.client(95);
    for round in 0..200u32 {
        let sv = owner.transact().state_vector();
        let plan = PlanDoc::new(owner.clone());
        let edit = if round % 2 == 0 {
            crate::plan::TextEdit {
                index: 0,
                delete: 0,
                insert: "x".into(),
            }
        } else {
            crate::plan::TextEdit {
                index: 0,
                delete: 1,
                insert: String::new(),
            }
        };
        plan.edit_action_text(
            &mut owner.transact_mut(),
            &action_id(),
            crate::plan::ActionText::Description,
            &edit,
        )
        .unwrap();
        // Interleave another member so the deletions are not one range.
        let lead = server.client(3_000 + u64::from(round));
        let lsv = lead.transact().state_vector();
        PlanDoc::new(lead.clone())
            .set_action_field(
                &mut lead.transact_mut(),
                &action_id(),
                &ActionField::ExecLead(format!("Lead {round}")),
            )
            .unwrap();
        server
            .send("ward.manager", Role::Contributor, &since(&owner, &sv))
            .outcome();
        server
            .send("lead", Role::Lead, &since(&lead, &lsv))
            .outcome();
        apply(&owner, &server.state());
    }
    let viewer = server.client(96);
    let sv = viewer.transact().state_vector();
    PlanDoc::new(viewer.clone())
        .set_action_field(
            &mut viewer.transact_mut(),
            &action_id(),
            &ActionField::Confidence(Some(crate::vocab::Confidence::OnTrack)),
        )
        .unwrap();
    let outcome = server
        .send("board", Role::Viewer, &since(&viewer, &sv))
        .outcome();
    assert_eq!(outcome.refused.len(), 1);
    assert!(
        outcome.update.len() < 200,
        "a refusal stored {} bytes",
        outcome.update.len()
    );
}

#[test]
fn a_refused_deletion_sent_again_with_every_sync_is_refused_once() {
    // Yjs sends its whole delete set with every sync: a client that kept a
    // refused deletion repeats it each time; it is recorded once.
    let mut server = Server::new();
    let lead = server.client(97);
    let sv = lead.transact().state_vector();
    {
        let mut txn = lead.transact_mut();
        let actions = txn.get_or_insert_map("actions");
        let Some(yrs::Out::YMap(action)) = actions.get(&txn, action_id().as_str()) else {
            panic!()
        };
        action.insert(&mut txn, "title", ArrayPrelim::default());
    }
    let first = server
        .send("lead", Role::Lead, &since(&lead, &sv))
        .outcome();
    assert!(!first.refused.is_empty());
    // The lead's next honest edit, sent as a whole sync against the server.
    let server_sv = server.doc.transact().state_vector();
    PlanDoc::new(lead.clone())
        .append(
            &mut lead.transact_mut(),
            &action_id(),
            &note("lead", "next", NOW, 1),
        )
        .unwrap();
    let second = server
        .send("lead", Role::Lead, &since(&lead, &server_sv))
        .outcome();
    assert!(second.refused.is_empty(), "{second:?}");
    assert_eq!(server.action().updates.len(), 1);
    assert_eq!(server.action().title, "Fix the door closers");
}

#[test]
fn a_refused_unreadable_value_on_an_unset_field_is_taken_out() {
    // Found by the adversarial test: "EVIL" reads as no confidence at all,
    // so a set-back that compared views left it in the document.
    let mut server = Server::new();
    let device = server.client(98);
    let sv = device.transact().state_vector();
    {
        let mut txn = device.transact_mut();
        let actions = txn.get_or_insert_map("actions");
        let Some(yrs::Out::YMap(action)) = actions.get(&txn, action_id().as_str()) else {
            panic!()
        };
        action.insert(&mut txn, "confidence", "EVIL");
    }
    let outcome = server
        .send("board", Role::Viewer, &since(&device, &sv))
        .outcome();
    assert_eq!(outcome.refused.len(), 1);
    let txn = server.doc.transact();
    let actions = txn.get_map("actions").unwrap();
    let Some(yrs::Out::YMap(action)) = actions.get(&txn, action_id().as_str()) else {
        panic!()
    };
    assert!(action.get(&txn, "confidence").is_none());
    assert!(!String::from_utf8_lossy(&outcome.update).contains("EVIL"));
}

#[test]
fn collected_content_cannot_clear_what_its_sender_may_not_change() {
    // A hand-made item holding already-collected content skips the check of
    // a value's type; it must still meet the role rules wherever it lands.
    use super::codec::{ItemStruct, ParentRef, Struct};
    let mut server = Server::new();
    let action_item = {
        let state = server.state();
        let decoded = codec::decode(&state).unwrap();
        decoded
            .structs
            .iter()
            .find_map(|s| match s {
                Struct::Item(i) if i.parent_sub.as_deref() == Some(action_id().as_str()) => {
                    Some(i.id)
                }
                _ => None,
            })
            .unwrap()
    };
    let client = yrs::ClientID::new(4242);
    for (key, role, who) in [
        ("owner", Role::Contributor, "ward.manager"),
        ("due_original", Role::Lead, "lead"),
        ("created", Role::Admin, "pm"),
    ] {
        let clock = server.index.clock(client);
        let item = ItemStruct {
            id: yrs::ID::new(client, clock),
            len: 1,
            origin: None,
            right_origin: None,
            parent: Some(ParentRef::Item(action_item)),
            parent_sub: Some(key.into()),
            content: yrs::block::ItemContent::Deleted(1),
        };
        let bytes = codec::encode(&[Struct::Item(item)], &yrs::IdSet::new());
        let before = server.action();
        match server.send(who, role, &bytes) {
            Sent::Admitted(outcome) => {
                assert_eq!(outcome.refused.len(), 1, "{key}: {outcome:?}")
            }
            Sent::Refused(_) => {}
            other => panic!("{key}: {other:?}"),
        }
        let after = server.action();
        assert_eq!(before.owner, after.owner, "{key}");
        assert_eq!(before.due_original, after.due_original, "{key}");
        // Wrapped before the read: wrapping writes the roots.
        let plan = PlanDoc::new(server.doc.clone());
        let created = plan.created(&server.doc.transact(), &action_id());
        assert!(
            created.is_some(),
            "{key}: the action keeps its created time"
        );
    }
}

/// A committee's chair writes the chair's report of a meeting of the
/// programme (issue 16): its Alert, Advise and Assure, and nothing else of
/// the programme; a contributor not even that.
#[test]
fn a_chair_writes_the_chair_report_and_nothing_else_of_the_programme() {
    use crate::ids::MeetingId;
    use crate::programme::{Meeting, ProgrammeDoc};
    let doc = new_doc_with_client_id(1);
    let programme = ProgrammeDoc::new(doc.clone());
    let meeting = MeetingId::new("qsc-2022-09").unwrap();
    let stored = Meeting {
        title: "Quality and Safety Committee".into(),
        date: Some(Date::parse_iso("2022-09-14").unwrap()),
        ..Meeting::default()
    };
    programme.put_meeting(&mut doc.transact_mut(), &meeting, &stored);
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut index = ItemIndex::from_state(DocShape::Programme, &state).unwrap();
    // A device's edit of the meeting, as an update.
    let edit = |client: u64, change: &dyn Fn(&mut Meeting)| {
        let device = new_doc_with_client_id(client);
        apply(&device, &state);
        let sv = device.transact().state_vector();
        let mut meeting_now = stored.clone();
        change(&mut meeting_now);
        let programme = ProgrammeDoc::new(device.clone());
        let meetings = device.get_or_insert_map(crate::keys::Root::Meetings.key());
        let mut txn = device.transact_mut();
        if (&meeting_now.title, meeting_now.date) == (&stored.title, stored.date) {
            // What the page does: the report alone.
            programme
                .set_chair_report(
                    &mut txn,
                    &meeting,
                    &meeting_now.alert,
                    &meeting_now.advise,
                    &meeting_now.assure,
                )
                .unwrap();
        } else {
            // The date or the title alone.
            use crate::keys::MeetingField;
            use yrs::Map;
            let Some(yrs::Out::YMap(map)) = meetings.get(&txn, meeting.as_str()) else {
                panic!("no meeting");
            };
            if meeting_now.title != stored.title {
                map.insert(
                    &mut txn,
                    MeetingField::Title.key(),
                    meeting_now.title.as_str(),
                );
            }
            if let Some(date) = meeting_now.date.filter(|d| Some(*d) != stored.date) {
                map.insert(&mut txn, MeetingField::Date.key(), date.iso());
            }
        }
        drop(txn);
        since(&device, &sv)
    };
    // Decides and integrates `bytes` from `who`: what was refused.
    let send = |index: &mut ItemIndex, who: &str, role: Role, bytes: &[u8]| {
        let who = user(who);
        let author = Author::Member {
            user: &who,
            role,
            rules: crate::lifecycle::Governance::DEFAULT,
        };
        match decide(index, &doc, author, bytes, 0, &Limits::DEFAULT).unwrap() {
            Verdict::Admit(admitted) => {
                integrate(&doc, index, admitted, author, NOW, &Limits::DEFAULT)
                    .unwrap()
                    .refused
            }
            Verdict::Refused(why) => panic!("refused whole: {why}"),
            other => panic!("{other:?}"),
        }
    };
    let read = || {
        ProgrammeDoc::new(doc.clone())
            .read(&doc.transact())
            .meetings[&meeting]
            .clone()
    };
    // The chair's report from the chair: kept whole.
    let report = edit(10, &|m| {
        m.alert = "None this month.".into();
        m.assure = "Closure of 9 actions approved.".into();
    });
    assert!(send(&mut index, "qsc.chair", Role::Approver, &report).is_empty());
    let written = read();
    assert_eq!(written.alert, "None this month.");
    assert_eq!(written.assure, "Closure of 9 actions approved.");
    // The meeting's date or title from the chair, or its report from a
    // contributor: refused, and the meeting as it was.
    let moved = edit(11, &|m| {
        m.date = Some(Date::parse_iso("2022-09-21").unwrap())
    });
    let retitled = edit(12, &|m| m.title = "Extraordinary".into());
    let other = edit(13, &|m| m.alert = "Everything is fine.".into());
    // Not text: a number or a map as the report.
    let not_text = |client: u64, value: yrs::Any| {
        use yrs::Map;
        let device = new_doc_with_client_id(client);
        apply(&device, &state);
        let sv = device.transact().state_vector();
        let meetings = device.get_or_insert_map(crate::keys::Root::Meetings.key());
        let mut txn = device.transact_mut();
        let Some(yrs::Out::YMap(map)) = meetings.get(&txn, meeting.as_str()) else {
            panic!("no meeting");
        };
        map.insert(&mut txn, "alert", value);
        drop(txn);
        since(&device, &sv)
    };
    let number = not_text(14, yrs::Any::from(7.0));
    let nested = not_text(15, yrs::Any::from(vec![yrs::Any::from("a")]));
    for (who, role, bytes) in [
        ("qsc.chair", Role::Approver, &moved),
        ("qsc.chair", Role::Approver, &retitled),
        ("d.hughes", Role::Contributor, &other),
        ("qsc.chair", Role::Approver, &number),
        ("qsc.chair", Role::Approver, &nested),
    ] {
        let refused = send(&mut index, who, role, bytes);
        assert!(!refused.is_empty(), "{who} ({role:?}) changed the meeting");
        assert_eq!(read(), written, "{who} ({role:?})");
    }
}

/// A governance setting written to the programme must read and stay in
/// bounds, even from its admin (issue 16): the server reads every plan's
/// updates by these settings, and a bad one would silently fall back.
#[test]
fn governance_settings_out_of_bounds_or_unreadable_are_refused() {
    use crate::programme::ProgrammeDoc;
    use yrs::Map;
    let doc = new_doc_with_client_id(1);
    let programme = ProgrammeDoc::new(doc.clone());
    programme
        .set_governance(
            &mut doc.transact_mut(),
            &crate::lifecycle::Governance::DEFAULT,
        )
        .unwrap();
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut index = ItemIndex::from_state(DocShape::Programme, &state).unwrap();
    let who = user("pm");
    let author = Author::Member {
        user: &who,
        role: Role::Admin,
        rules: crate::lifecycle::Governance::DEFAULT,
    };
    let mut client = 10;
    let mut write = |key: &str, value: &str| {
        client += 1;
        let device = new_doc_with_client_id(client);
        apply(&device, &state);
        let sv = device.transact().state_vector();
        let root = device.get_or_insert_map(crate::keys::Root::Programme.key());
        root.insert(&mut device.transact_mut(), key, value);
        let bytes = since(&device, &sv);
        match decide(&index, &doc, author, &bytes, 0, &Limits::DEFAULT).unwrap() {
            Verdict::Admit(admitted) => {
                integrate(&doc, &mut index, admitted, author, NOW, &Limits::DEFAULT)
                    .unwrap()
                    .refused
            }
            other => panic!("{other:?}"),
        }
    };
    for (key, value) in [
        ("reaudit_count", "0"),
        ("reaudit_count", "99"),
        ("reaudit_count", "three"),
        ("reaudit_spacing_months", "-1"),
        ("reaudit_window_days", "100000"),
        ("endorsement", "maybe"),
    ] {
        assert!(!write(key, value).is_empty(), "{key} = {value:?} was kept");
    }
    assert_eq!(
        programme.governance(&doc.transact()),
        crate::lifecycle::Governance::DEFAULT
    );
    for (key, value) in [("reaudit_count", "3"), ("endorsement", "false")] {
        assert!(
            write(key, value).is_empty(),
            "{key} = {value:?} was refused"
        );
    }
    let rules = programme.governance(&doc.transact());
    assert_eq!((rules.reaudit_count, rules.endorsement), (3, false));
    // Saved twice offline, sent as one update: the first values arrive
    // superseded (deleted); the newer ones are kept.
    let device = new_doc_with_client_id(40);
    apply(
        &device,
        &doc.transact()
            .encode_state_as_update_v1(&StateVector::default()),
    );
    let sv = device.transact().state_vector();
    let offline = ProgrammeDoc::new(device.clone());
    for count in [2, 4] {
        let rules = crate::lifecycle::Governance {
            reaudit_count: count,
            ..crate::lifecycle::Governance::DEFAULT
        };
        offline
            .set_governance(&mut device.transact_mut(), &rules)
            .unwrap();
    }
    let bytes = since(&device, &sv);
    let Verdict::Admit(admitted) =
        decide(&index, &doc, author, &bytes, 0, &Limits::DEFAULT).unwrap()
    else {
        panic!("refused whole");
    };
    let outcome = integrate(&doc, &mut index, admitted, author, NOW, &Limits::DEFAULT).unwrap();
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert_eq!(programme.governance(&doc.transact()).reaudit_count, 4);
}

/// An issued board paper is the server's record of what a meeting was
/// sent (issue 16): not even the programme's admin removes the frozen
/// version, its list of issues or the paper, by an update that only
/// deletes.
#[test]
fn nobody_removes_an_issued_paper() {
    use crate::ids::MeetingId;
    use crate::keys::{PaperField, Root};
    use crate::programme::{Paper, ProgrammeDoc};
    use yrs::Map;
    let doc = new_doc_with_client_id(1);
    let programme = ProgrammeDoc::new(doc.clone());
    let meeting = MeetingId::new("board-2027-01").unwrap();
    programme.issue_paper(
        &mut doc.transact_mut(),
        &meeting,
        1,
        crate::ids::UnixMillis(5),
        &Paper::default(),
        "{\"frozen\":true}",
    );
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut index = ItemIndex::from_state(DocShape::Programme, &state).unwrap();
    let admin = user("office");
    let author = Author::Member {
        user: &admin,
        role: Role::Admin,
        rules: crate::lifecycle::Governance::DEFAULT,
    };
    for (n, removal) in ["issued", "issues", "paper"].into_iter().enumerate() {
        let device = new_doc_with_client_id(20 + n as u64);
        apply(&device, &state);
        let sv = device.transact().state_vector();
        let issued = device.get_or_insert_map(Root::IssuedPapers.key());
        let papers = device.get_or_insert_map(Root::Papers.key());
        {
            let mut txn = device.transact_mut();
            match removal {
                "issued" => {
                    assert!(issued.remove(&mut txn, "board-2027-01.v1").is_some());
                }
                "issues" => {
                    let Some(yrs::Out::YMap(paper)) = papers.get(&txn, meeting.as_str()) else {
                        panic!("no paper");
                    };
                    assert!(paper.remove(&mut txn, PaperField::Issues.key()).is_some());
                }
                _ => {
                    assert!(papers.remove(&mut txn, meeting.as_str()).is_some());
                }
            }
        }
        let bytes = since(&device, &sv);
        let refused = match decide(&index, &doc, author, &bytes, 0, &Limits::DEFAULT).unwrap() {
            Verdict::Admit(admitted) => {
                integrate(&doc, &mut index, admitted, author, NOW, &Limits::DEFAULT)
                    .unwrap()
                    .refused
            }
            other => panic!("{removal}: {other:?}"),
        };
        assert_eq!(refused.len(), 1, "{removal}: {refused:?}");
        let view = programme.read(&doc.transact());
        assert_eq!(view.issued[&meeting][&1], "{\"frozen\":true}", "{removal}");
        assert_eq!(view.papers[&meeting].issues.len(), 1, "{removal}");
    }
}

/// Phase 2 is the improvement team's (issue 17), as
/// `access::check_programme_change` says: the executive leads and
/// validators keep measures, their values, root causes, driver diagrams
/// and links; whoever owns actions also runs PDSA cycles; the exit
/// criteria stay the admin's. Everything refused changes nothing, and a
/// removal is judged like an addition.
#[test]
fn phase_two_is_the_improvement_teams_and_exit_criteria_the_admins() {
    use crate::ids::{CycleId, DriverId, ExitCriterionId, MeasureId, MeasurePointId};
    use crate::improvement::{Cycle, Driver, ExitCriterion, Link, Node};
    use crate::keys::Root;
    use crate::programme::{Measure, ProgrammeDoc};
    use crate::vocab::DriverKind;
    let doc = new_doc_with_client_id(1);
    let programme = ProgrammeDoc::new(doc.clone());
    let measure = MeasureId::new("m-restraint").unwrap();
    let aim = DriverId::new("d-aim").unwrap();
    {
        let mut txn = doc.transact_mut();
        programme.put_measure(
            &mut txn,
            &measure,
            &Measure {
                name: "Restraints".into(),
                ..Measure::default()
            },
        );
        programme.put_driver(
            &mut txn,
            &aim,
            &Driver {
                kind: Some(DriverKind::Aim),
                text: "Reduce restrictive practice".into(),
                ..Driver::default()
            },
        );
    }
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut index = ItemIndex::from_state(DocShape::Programme, &state).unwrap();
    type Edit = fn(&ProgrammeDoc, &mut yrs::TransactionMut);
    let value: Edit = |p, txn| {
        p.put_measure_point(
            txn,
            &MeasurePointId::new("p-1").unwrap(),
            &MeasureId::new("m-restraint").unwrap(),
            Date::parse_iso("2027-01-01").unwrap(),
            "12.5",
        )
    };
    let driver: Edit = |p, txn| {
        p.put_driver(
            txn,
            &DriverId::new("d-primary").unwrap(),
            &Driver {
                kind: Some(DriverKind::Primary),
                parent: Some(DriverId::new("d-aim").unwrap()),
                text: "Safe staffing".into(),
                ..Driver::default()
            },
        )
    };
    let cycle: Edit = |p, txn| {
        p.put_cycle(
            txn,
            &CycleId::new("c-1").unwrap(),
            &Cycle {
                change_idea: Some(DriverId::new("d-aim").unwrap()),
                title: "Safety huddle on Cedar ward".into(),
                ..Cycle::default()
            },
        )
    };
    let exit: Edit = |p, txn| {
        p.put_exit_criterion(
            txn,
            &ExitCriterionId::new("x-1").unwrap(),
            &ExitCriterion {
                text: "CQC rating of Requires Improvement or better".into(),
                ..ExitCriterion::default()
            },
        )
    };
    let link: Edit = |p, txn| {
        p.put_link(
            txn,
            &Link {
                from: Node::Driver(DriverId::new("d-aim").unwrap()),
                to: Node::Measure(MeasureId::new("m-restraint").unwrap()),
            },
        )
    };
    let removal: Edit = |p, txn| p.remove_phase_two(txn, Root::Drivers, "d-aim");
    // Each attempt from a device of its own, made on the programme as it
    // was first.
    let mut client = 10;
    let mut send = |who: &str, role: Role, edit: Edit| {
        client += 1;
        let device = new_doc_with_client_id(client);
        apply(&device, &state);
        let sv = device.transact().state_vector();
        edit(
            &ProgrammeDoc::new(device.clone()),
            &mut device.transact_mut(),
        );
        let bytes = since(&device, &sv);
        let who = user(who);
        let author = Author::Member {
            user: &who,
            role,
            rules: crate::lifecycle::Governance::DEFAULT,
        };
        match decide(&index, &doc, author, &bytes, 0, &Limits::DEFAULT).unwrap() {
            Verdict::Admit(admitted) => {
                integrate(&doc, &mut index, admitted, author, NOW, &Limits::DEFAULT)
                    .unwrap()
                    .refused
                    .is_empty()
            }
            other => panic!("{other:?}"),
        }
    };
    let read = || ProgrammeDoc::new(doc.clone()).read(&doc.transact());
    // Refused: a ward's value, driver, link and removal; a lead's exit
    // criterion; a viewer's cycle. Nothing changed.
    assert!(!send("ward", Role::Contributor, value));
    assert!(!send("ward", Role::Contributor, driver));
    assert!(!send("ward", Role::Contributor, link));
    assert!(!send("ward", Role::Contributor, removal));
    assert!(!send("chief.nurse", Role::Lead, exit));
    assert!(!send("board", Role::Viewer, cycle));
    assert!(!send("chair", Role::Approver, driver));
    let view = read();
    assert!(view.measure_points.is_empty());
    assert_eq!(view.improvement.drivers.len(), 1);
    assert!(view.improvement.cycles.is_empty());
    assert!(view.improvement.exit_criteria.is_empty());
    assert!(view.improvement.links.is_empty());
    // Admitted: the lead's value, driver and link, the ward's cycle, the
    // admin's exit criterion.
    assert!(send("chief.nurse", Role::Lead, value));
    assert!(send("quality", Role::Validator, driver));
    assert!(send("chief.nurse", Role::Lead, link));
    assert!(send("ward", Role::Contributor, cycle));
    assert!(send("office", Role::Admin, exit));
    let view = read();
    assert_eq!(crate::phase2::series(&view, &measure)[0].value, 12.5);
    assert_eq!(view.improvement.drivers.len(), 2);
    assert_eq!(view.improvement.cycles.len(), 1);
    assert_eq!(view.improvement.exit_criteria.len(), 1);
    assert_eq!(
        crate::phase2::linked_from(&view, &Node::Driver(aim.clone())),
        vec![Node::Measure(measure.clone())]
    );
    // A lead removes the aim.
    assert!(send("chief.nurse", Role::Lead, removal));
    assert!(!read().improvement.drivers.contains_key(&aim));
    // Values that do not read as their fields are refused, whoever sends
    // them.
    let before = read();
    for (who, role, edit) in [
        (
            "office",
            Role::Admin,
            (|p, txn| {
                p.put_measure_point(
                    txn,
                    &MeasurePointId::new("p-2").unwrap(),
                    &MeasureId::new("m-restraint").unwrap(),
                    Date::parse_iso("2027-02-01").unwrap(),
                    "lots",
                )
            }) as Edit,
        ),
        ("chief.nurse", Role::Lead, |p, txn| {
            use yrs::Map;
            let drivers = txn.get_or_insert_map("drivers");
            let node = drivers.insert(txn, "d-boss", yrs::MapPrelim::default());
            node.insert(txn, "kind", "boss");
            let _ = p;
        }),
        ("chief.nurse", Role::Lead, |p, txn| {
            use yrs::Map;
            let links = txn.get_or_insert_map("links");
            let link = links.insert(txn, "l-junk", yrs::MapPrelim::default());
            link.insert(txn, "from", "ward:w1");
            let _ = p;
        }),
    ] {
        assert!(!send(who, role, edit), "{who}");
    }
    // The refused value is not kept (the rest of each update, an entry
    // with its other fields, is theirs to write and stays).
    let after = read();
    assert_eq!(
        after.measure_points[&MeasurePointId::new("p-2").unwrap()].value,
        ""
    );
    assert_eq!(
        crate::phase2::series(&after, &measure),
        crate::phase2::series(&before, &measure)
    );
    assert_eq!(after.improvement.links, before.improvement.links);
    assert_eq!(
        after.improvement.drivers[&DriverId::new("d-boss").unwrap()].kind,
        None
    );
}
