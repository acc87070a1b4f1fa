//! A member's device that keeps writing after one of its changes was
//! refused: a field set to a value the server refuses, then set again (to a
//! good value, or another refused one) by the same device, which builds the
//! second on the first (yrs gives the new value the refused one as its
//! origin), whether or not it has applied the server's correction yet.
//! Every answer frame is read in order; the good value must be kept, a
//! refused one told, and the device must converge to the server's copy.

use plait_shared::{new_doc_with_client_id, PlanDoc, ProgrammeDoc};
use serde_json::Value;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Any, Doc, Map, Out, ReadTxn, StateVector, Transact, TransactionMut, Update};

use crate::access::{client, fetch, owned_action, PASSWORD};
use crate::support::{SyncClient, TestServer};

/// A device with its own copy of a document: it applies what the server
/// sends only when told to ([`Device::apply_corrections`]).
struct Device {
    conn: SyncClient,
    doc: Doc,
}

/// The server's answer to one update, in the order it came.
#[derive(Debug)]
struct Answer {
    /// The kinds of messages, in order (`update`, `refused`, `durable`…).
    kinds: Vec<&'static str>,
    /// The refusal notices among them.
    refused: Vec<Value>,
}

impl Device {
    /// Signs `user` in and connects a device writing as `client_id`, with
    /// the server's copy of `doc`.
    async fn connect(server: &TestServer, user: &str, doc: &str, client_id: u64) -> Device {
        let token = server.sign_in(user, PASSWORD).await;
        let mut conn = client(server, &token, doc).await;
        // The connection's own (empty) sync step 2 is answered too: wait for
        // that answer so it is not taken for the answer to a later update.
        conn.until("the answer to the sync", |_, seen| seen.durable.is_some())
            .await;
        let device = new_doc_with_client_id(client_id);
        let state = conn
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        device
            .transact_mut()
            .apply_update(Update::decode_v1(&state).unwrap())
            .unwrap();
        Device { conn, doc: device }
    }

    /// Edits the device's copy, sends exactly that as one update, and reads
    /// every message until the server has answered it.
    async fn write(&mut self, edit: impl FnOnce(&Doc, &mut TransactionMut)) -> Answer {
        let before = self.doc.transact().state_vector();
        {
            let mut txn = self.doc.transact_mut();
            edit(&self.doc, &mut txn);
        }
        let update = self.doc.transact().encode_state_as_update_v1(&before);
        let me = self.doc.client_id();
        let want = self.doc.transact().state_vector().get(&me);
        let (from, notices) = {
            let seen = self.conn.seen.lock().unwrap();
            (seen.order.len(), seen.refused.len())
        };
        self.conn
            .send(yrs::sync::Message::Sync(yrs::sync::SyncMessage::Update(update)).encode_v1())
            .await;
        self.conn
            .until("the answer to the update", |_, seen| {
                let answered = seen.order[from..]
                    .iter()
                    .any(|k| *k == "durable" || *k == "step1");
                answered && seen.durable_merged.get(&me) >= want
                    || seen.refused[notices..].iter().any(|n| n["whole"] == true)
            })
            .await;
        let seen = self.conn.seen.lock().unwrap();
        Answer {
            kinds: seen.order[from..].to_vec(),
            refused: seen.refused[notices..].to_vec(),
        }
    }

    /// Applies to the device what the server has sent it so far.
    fn apply_corrections(&self) {
        let sv = self.doc.transact().state_vector();
        let missing = self.conn.doc.transact().encode_state_as_update_v1(&sv);
        // The delete set travels whole: the connection's copy holds every
        // deletion the server sent.
        self.doc
            .transact_mut_with("server")
            .apply_update(Update::decode_v1(&missing).unwrap())
            .unwrap();
    }
}

/// The map `key` in the root map `root`.
fn child_map(doc: &Doc, txn: &TransactionMut, root: &str, key: &str) -> yrs::MapRef {
    let root = txn.get_map(root).expect("the root is there");
    let _ = doc;
    match root.get(txn, key) {
        Some(Out::YMap(map)) => map,
        other => panic!("{key} is not a map: {other:?}"),
    }
}

/// The meeting's alert as it is held (`None`: no value).
fn alert_of(doc: &Doc, meeting: &str) -> Option<String> {
    let txn = doc.transact();
    let meetings = txn.get_map("meetings")?;
    let Some(Out::YMap(map)) = meetings.get(&txn, meeting) else {
        panic!("no meeting {meeting}");
    };
    map.get(&txn, "alert").map(|value| match value {
        Out::Any(Any::String(text)) => text.to_string(),
        other => format!("not text: {other:?}"),
    })
}

async fn first_meeting(server: &TestServer) -> String {
    let doc = fetch(server, "demo").await;
    let view = ProgrammeDoc::new(doc.clone()).read(&doc.transact());
    view.meetings
        .keys()
        .next()
        .expect("the demo has meetings")
        .to_string()
}

fn set_alert(meeting: &str, value: Any) -> impl FnOnce(&Doc, &mut TransactionMut) + '_ {
    move |doc, txn| {
        child_map(doc, txn, "meetings", meeting).insert(txn, "alert", value);
    }
}

/// Client ids on either side of the server's (yrs picks 32-bit ones): which
/// of two concurrent values of a key wins goes by client id.
const DEVICES: [u64; 2] = [1, 1 << 40];

// The chair writes a number as a meeting's alert (refused: the report is
// text), then a good text, once without and once after applying the
// server's correction: the text is acknowledged and kept, and the device
// ends with the server's copy.
#[tokio::test]
async fn a_chairs_good_value_after_a_refused_one_is_kept() {
    for (client_id, corrected) in DEVICES.into_iter().flat_map(|c| [(c, true), (c, false)]) {
        let case = format!("device {client_id}, correction applied: {corrected}");
        let server = TestServer::start_with_demo().await;
        let meeting = first_meeting(&server).await;
        let mut chair = Device::connect(&server, "qsc.chair", "demo", client_id).await;
        let answer = chair.write(set_alert(&meeting, Any::from("Before."))).await;
        assert!(answer.refused.is_empty(), "{case}: {answer:?}");
        let was = Some("Before.".to_owned());

        let answer = chair.write(set_alert(&meeting, Any::from(7.0))).await;
        assert_eq!(answer.refused.len(), 1, "{case}: {answer:?}");
        assert!(
            answer.kinds.contains(&"update") && answer.kinds.last() == Some(&"durable"),
            "{case}: the correction, then the acknowledgement: {answer:?}"
        );
        assert_eq!(
            alert_of(&fetch(&server, "demo").await, &meeting),
            was,
            "{case}"
        );
        if corrected {
            chair.apply_corrections();
            assert_eq!(
                alert_of(&chair.doc, &meeting),
                was,
                "{case}: converged back"
            );
        }

        let good = "Written after the refusal.";
        let answer = chair.write(set_alert(&meeting, Any::from(good))).await;
        assert!(answer.refused.is_empty(), "{case}: {answer:?}");
        assert_eq!(answer.kinds.last(), Some(&"durable"), "{case}: {answer:?}");
        let stored = fetch(&server, "demo").await;
        assert_eq!(
            alert_of(&stored, &meeting).as_deref(),
            Some(good),
            "{case}: the good value is kept"
        );

        chair.apply_corrections();
        assert_eq!(
            alert_of(&chair.doc, &meeting).as_deref(),
            Some(good),
            "{case}: the device agrees"
        );
        drop(server);
    }
}

// A refused value written on top of a refused one is told, not
// acknowledged as if kept.
#[tokio::test]
async fn a_refused_value_after_a_refused_one_is_told() {
    let server = TestServer::start_with_demo().await;
    let meeting = first_meeting(&server).await;
    let mut chair = Device::connect(&server, "qsc.chair", "demo", 1).await;
    let answer = chair.write(set_alert(&meeting, Any::from("Before."))).await;
    assert!(answer.refused.is_empty(), "{answer:?}");
    let was = Some("Before.".to_owned());
    let answer = chair.write(set_alert(&meeting, Any::from(7.0))).await;
    assert_eq!(answer.refused.len(), 1, "{answer:?}");
    let answer = chair.write(set_alert(&meeting, Any::from(8.0))).await;
    assert_eq!(
        answer.refused.len(),
        1,
        "the second is refused too: {answer:?}"
    );
    assert_eq!(alert_of(&fetch(&server, "demo").await, &meeting), was);
    chair.apply_corrections();
    assert_eq!(
        alert_of(&chair.doc, &meeting),
        was,
        "the device converges back"
    );
}

// The same in a plan: the programme's admin sets an action's owner to a
// number (refused: not a user name), then to a member.
#[tokio::test]
async fn a_good_field_value_after_a_malformed_one_is_kept() {
    for (client_id, corrected) in DEVICES.into_iter().flat_map(|c| [(c, true), (c, false)]) {
        let case = format!("device {client_id}, correction applied: {corrected}");
        let server = TestServer::start_with_demo().await;
        let (plan, action) = owned_action(&server, "d.hughes").await;
        let owner = |doc: &Doc| {
            PlanDoc::new(doc.clone())
                .read_action(&doc.transact(), &action.id)
                .and_then(|a| a.owner)
                .map(|o| o.to_string())
        };
        let set_owner = |value: Any| {
            let id = action.id.to_string();
            move |doc: &Doc, txn: &mut TransactionMut| {
                child_map(doc, txn, "actions", &id).insert(txn, "owner", value);
            }
        };
        let mut admin = Device::connect(&server, "programme.office", &plan, client_id).await;
        let answer = admin.write(set_owner(Any::from(42.0))).await;
        assert_eq!(answer.refused.len(), 1, "{case}: {answer:?}");
        assert_eq!(
            owner(&fetch(&server, &plan).await).as_deref(),
            Some("d.hughes")
        );
        if corrected {
            admin.apply_corrections();
            assert_eq!(owner(&admin.doc).as_deref(), Some("d.hughes"), "{case}");
        }
        let answer = admin.write(set_owner(Any::from("a.patel"))).await;
        assert!(answer.refused.is_empty(), "{case}: {answer:?}");
        assert_eq!(
            owner(&fetch(&server, &plan).await).as_deref(),
            Some("a.patel"),
            "{case}: the good value is kept"
        );
        admin.apply_corrections();
        assert_eq!(owner(&admin.doc).as_deref(), Some("a.patel"), "{case}");
        drop(server);
    }
}
