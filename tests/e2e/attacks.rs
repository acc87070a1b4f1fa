//! Issue 11's attacks, end to end: a hostile member's device runs the npm
//! `yjs` library (tests/js/hostile-client.mjs, a raw WebSocket speaking
//! y-websocket's sync messages with `?token=`) against the real server with
//! the demo programme, while honest members use the Rust sync client. Each
//! test is named after what it stops, and asserts both that the attack
//! fails and that honest members' work survives.
//!
//! The npm packages are pinned in tools/package-lock.json and installed by
//! `scripts/setup`; without them these tests fail (they never skip).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use plait_shared::changes::{Change, Log};
use plait_shared::{
    new_doc_with_client_id, ActionId, ActionText, ActionView, EntryId, EvidenceKind, LogEntry,
    PlanDoc, ProgrammeDoc, ProgressUpdate, Role, Status, TextEdit, Transition, UnixMillis,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use yrs::{Map, Out, ReadTxn, StateVector, Transact};

use crate::access::{client, fetch, now, owned_action, plan_ids, server_action, user, PASSWORD};
use crate::support::{SyncClient, TestServer};
use crate::ywebsocket::repo_root;

/// The Node side gives up on one step after 10 s; this is the test's limit.
const NODE_PATIENCE: Duration = Duration::from_secs(20);

/// A hostile member's device: `node tests/js/hostile-client.mjs`, driven one
/// JSON command a line; killed when dropped.
pub(crate) struct Device {
    who: String,
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: Option<JoinHandle<String>>,
    next: u64,
}

impl Device {
    /// Signs `username` in and connects their device to `doc` (with the
    /// client id `client_id` when given), synced.
    pub(crate) async fn connect(
        server: &TestServer,
        username: &str,
        doc: &str,
        client_id: Option<u64>,
    ) -> Device {
        let token = server.sign_in(username, PASSWORD).await;
        let mut device = Device::spawn(username);
        let url = server.ws_url(&format!("/sync/{doc}"));
        let connected = device
            .call(json!({ "op": "connect", "url": url, "token": token, "clientID": client_id }))
            .await;
        if let Some(id) = client_id {
            assert_eq!(
                connected["clientID"],
                json!(id),
                "the device writes as {id}"
            );
        }
        device
    }

    fn spawn(who: &str) -> Device {
        let root = repo_root();
        for package in ["yjs", "lib0", "ws"] {
            let manifest = root
                .join("tools/node_modules")
                .join(package)
                .join("package.json");
            assert!(
                manifest.is_file(),
                "{} is missing: run scripts/setup (it installs tools/package-lock.json)",
                manifest.display()
            );
        }
        let mut child = Command::new("node")
            .arg(root.join("tests/js/hostile-client.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `node` ({e}): install Node.js 20 and run scripts/setup")
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = stderr.read_to_string(&mut out);
            out
        });
        Device {
            who: who.to_owned(),
            child,
            stdin,
            lines,
            stderr: Some(stderr),
            next: 0,
        }
    }

    /// Sends one command and returns its answer (panics on an error).
    async fn call(&mut self, mut command: Value) -> Value {
        self.next += 1;
        command["id"] = json!(self.next);
        if let Err(e) = writeln!(self.stdin, "{command}").and_then(|()| self.stdin.flush()) {
            self.fail(&format!("cannot send {command}: {e}"));
        }
        let deadline = tokio::time::Instant::now() + NODE_PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    let reply: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("node printed no JSON ({e}): {line:?}"));
                    if reply["id"] != json!(self.next) {
                        continue;
                    }
                    if reply["ok"] != json!(true) {
                        self.fail(&format!("{} failed: {}", command["op"], reply["error"]));
                    }
                    return reply;
                }
                Ok(None) => self.fail(&format!("node exited during {command}")),
                Err(_) => self.fail(&format!("timed out waiting for node: {command}")),
            }
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        panic!("{}'s yjs device: {why}\nnode stderr:\n{stderr}", self.who)
    }

    /// Runs one of the script's attacks; one answer per update it sent.
    pub(crate) async fn attack(&mut self, name: &str, args: Value) -> Vec<Value> {
        let reply = self
            .call(json!({ "op": "attack", "name": name, "args": args }))
            .await;
        let answers = reply["answers"].as_array().cloned().unwrap_or_default();
        eprintln!(
            "{}'s device, {name}: {}",
            self.who,
            Value::Array(answers.clone())
        );
        answers
    }

    /// Puts `entry` into `log` of `action`: before the entry at `index`
    /// when given, else at the end.
    async fn insert_entry(
        &mut self,
        action: &ActionId,
        log: &str,
        index: Option<u32>,
        entry: &LogEntry,
    ) -> Vec<Value> {
        let args = json!({
            "action": action.as_str(),
            "log": log,
            "index": index,
            "entry": to_json(entry),
        });
        self.attack("insertEntry", args).await
    }

    /// Asserts the connection is open and the server still answers on it.
    async fn assert_open(&mut self) {
        let reply = self.call(json!({ "op": "ping" })).await;
        assert!(
            reply["closed"].is_null(),
            "the server closed {}'s connection: {}",
            self.who,
            reply["closed"]
        );
    }

    /// Waits until the root map `root` holds `needle` (someone's edit arrived).
    async fn wait_text(&mut self, root: &str, needle: &str) {
        self.call(json!({ "op": "waitText", "root": root, "needle": needle }))
            .await;
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the server answered to one update: "ack", "incomplete" (sync step
/// 1), "refused" (the whole update) or "closed".
fn answer(reply: &Value) -> &str {
    reply["answer"].as_str().unwrap_or("none")
}

/// The refusal notices (MSG_REFUSED) that came with an answer.
fn notices(reply: &Value) -> Vec<Value> {
    reply["notices"].as_array().cloned().unwrap_or_default()
}

/// An answer saying the update was kept in part and the rest refused, with
/// a reason containing `why`.
pub(crate) fn assert_refused_in_part(reply: &Value, why: &str) {
    assert_eq!(answer(reply), "ack", "{reply}");
    let reasons: Vec<String> = notices(reply)
        .iter()
        .map(|n| n["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains(why)),
        "no refusal saying {why:?}: {reply}"
    );
}

/// A progress note as a log entry.
pub(crate) fn progress(id: &str, text: &str, by: &str, at: UnixMillis) -> LogEntry {
    LogEntry::Progress(note(id, text, by, at))
}

fn note(id: &str, text: &str, by: &str, at: UnixMillis) -> ProgressUpdate {
    ProgressUpdate {
        id: EntryId::new(id).unwrap(),
        text: text.into(),
        by: user(by),
        at,
        confidence: None,
    }
}

/// An entry as the JSON object a Yjs client puts in a log.
fn to_json(entry: &LogEntry) -> Value {
    match entry {
        LogEntry::Progress(e) => serde_json::to_value(e),
        LogEntry::Transition(e) => serde_json::to_value(e),
        other => panic!("not used here: {other:?}"),
    }
    .unwrap()
}

/// Appends `entry` to `action` on an honest member's client.
pub(crate) fn append(doc: &yrs::Doc, action: &ActionId, entry: LogEntry) {
    PlanDoc::new(doc.clone())
        .append(&mut doc.transact_mut(), action, &entry)
        .unwrap();
}

/// Puts `insert` at the front of an action's description on an honest
/// member's client (its owner's to write; an agreed action's title is its
/// executive lead's).
fn redescribe(doc: &yrs::Doc, action: &ActionId, insert: &str) {
    PlanDoc::new(doc.clone())
        .edit_action_text(
            &mut doc.transact_mut(),
            action,
            ActionText::Description,
            &TextEdit {
                index: 0,
                delete: 0,
                insert: insert.into(),
            },
        )
        .unwrap();
}

/// Waits until everything `client` sent is durable, and asserts none of it
/// was refused and the connection is open.
async fn all_kept(client: &mut SyncClient, who: &str) {
    client.all_durable().await;
    let seen = client.seen.lock().unwrap();
    assert!(seen.refused.is_empty(), "{who}'s edits: {:?}", seen.refused);
    assert!(
        seen.closed.is_none(),
        "{who} was disconnected: {:?}",
        seen.closed
    );
}

/// The document's audit trail, newest first.
async fn history(server: &TestServer, doc: &str) -> Vec<Value> {
    let response = server
        .get(&format!("/api/docs/{doc}/history?limit=2000"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET /api/docs/{doc}/history");
    let body: Value = response.json().await.unwrap();
    body["records"].as_array().cloned().unwrap_or_default()
}

fn records_by<'a>(records: &'a [Value], username: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["user"] == username).collect()
}

/// The document's whole state as the server serves it.
async fn stored_state(server: &TestServer, doc: &str) -> Vec<u8> {
    let response = server
        .get(&format!("/api/docs/{doc}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET /api/docs/{doc}");
    response.bytes().await.unwrap().to_vec()
}

/// The plan holding a demo action that its history took to `status`, and
/// that action.
async fn with_status(server: &TestServer, status: Status) -> (String, ActionView) {
    for plan in plan_ids(server).await {
        let doc = fetch(server, &plan).await;
        let view = PlanDoc::new(doc.clone()).read(&doc.transact());
        if let Some(action) = view.actions.values().find(|a| a.status() == status) {
            return (plan, action.clone());
        }
    }
    panic!("no action is {status:?} in the demo");
}

// Stops a note "by chief.nurse" kept pending and slipped in with the lead's next edit.
#[tokio::test]
async fn pending_items_are_answered_with_sync_step_1_and_never_ride_in_later() {
    const LEAD_DEVICE: u64 = 0x1ead_0001;
    const LEAD: &str = "chief.nurse";
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let lead_token = server.sign_in("chief.nurse", PASSWORD).await;
    let mut lead = SyncClient::connect_as(
        &server,
        &lead_token,
        &plan,
        true,
        new_doc_with_client_id(LEAD_DEVICE),
    )
    .await;
    lead.synced().await;
    let mut board = Device::connect(&server, "board", &plan, None).await;

    let answers = board
        .attack(
            "pendingItems",
            json!({
                "action": action.id.as_str(),
                "first": to_json(&progress("board-1", "never sent", "board", now())),
                "second": to_json(&progress("planted-a", "PLANTED after a gap", LEAD, now())),
                "lead": {
                    "client": LEAD_DEVICE,
                    "entry": to_json(&progress("lead-guess", "the lead's next", LEAD, now())),
                },
                "planted": to_json(&progress("planted-b", "PLANTED after the lead", LEAD, now())),
            }),
        )
        .await;
    assert_eq!(answers.len(), 2);
    for reply in &answers {
        assert_eq!(answer(reply), "incomplete", "{answers:?}");
    }
    board.assert_open().await;

    // The lead's next honest edit: the item the planted note hangs after.
    let honest = "Honest note from the chief nurse";
    lead.edit(|doc| {
        append(
            doc,
            &action.id,
            progress("honest-lead-note", honest, "chief.nurse", now()),
        )
    })
    .await;
    all_kept(&mut lead, "the lead").await;

    let kept = server_action(&server, &plan, &action.id).await;
    let texts: Vec<&str> = kept.updates.iter().map(|u| u.text.as_str()).collect();
    assert_eq!(texts.len(), action.updates.len() + 1, "{texts:?}");
    assert!(texts.contains(&honest), "{texts:?}");
    assert!(
        !texts.iter().any(|t| t.contains("PLANTED")),
        "a planted note is in: {texts:?}"
    );
    assert!(
        !String::from_utf8_lossy(&stored_state(&server, &plan).await).contains("PLANTED"),
        "a planted note is stored"
    );
    // Every client sees the same: the lead's copy holds no planted note.
    let seen = PlanDoc::new(lead.doc.clone())
        .read_action(&lead.doc.transact(), &action.id)
        .unwrap();
    assert_eq!(seen.updates, kept.updates);

    // The trail: the lead's record holds their one note; nothing of board's.
    let records = history(&server, &plan).await;
    assert!(records_by(&records, "board").is_empty(), "{records:?}");
    let lead_records = records_by(&records, "chief.nurse");
    assert_eq!(lead_records.len(), 1, "{records:?}");
    let changes: Vec<Change> = serde_json::from_value(lead_records[0]["changes"].clone()).unwrap();
    assert!(
        matches!(&changes[..], [Change::Appended(id, Log::Updates, added)]
            if *id == action.id && added.len() == 1),
        "{changes:?}"
    );
    assert!(!serde_json::to_string(&records).unwrap().contains("PLANTED"));

    // The device then sends what the server asked for, as Yjs would: the
    // whole of it is judged as board's, and refused.
    let answers = board.attack("answerLastStep1", json!({})).await;
    assert_refused_in_part(&answers[0], "viewers");
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.updates.len(), action.updates.len() + 1);
    assert!(kept.updates.iter().all(|u| !u.text.contains("PLANTED")));
    board.assert_open().await;
    lead.close().await;
}

// Stops a delete of clocks not yet written erasing the next edits made under them.
#[tokio::test]
async fn a_delete_of_clocks_not_yet_written_cannot_erase_a_members_next_edits() {
    const OWNER_DEVICE: u64 = 0x0bad_5eed;
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let mut board = Device::connect(&server, "board", &plan, None).await;
    let answers = board
        .attack(
            "pendingDeletes",
            json!({ "client": OWNER_DEVICE, "clock": 0, "len": 1000 }),
        )
        .await;
    assert_eq!(answer(&answers[0]), "incomplete", "{answers:?}");
    board.assert_open().await;

    // The owner's device, whose clocks those are, then writes.
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut owner = SyncClient::connect_as(
        &server,
        &token,
        &plan,
        true,
        new_doc_with_client_id(OWNER_DEVICE),
    )
    .await;
    owner.synced().await;
    owner
        .edit(|doc| {
            redescribe(doc, &action.id, "Now: ");
            append(
                doc,
                &action.id,
                progress("owner-note-1", "Walk-round done", "d.hughes", now()),
            );
        })
        .await;
    owner
        .edit(|doc| {
            append(
                doc,
                &action.id,
                progress("owner-note-2", "Repairs booked", "d.hughes", now()),
            )
        })
        .await;
    all_kept(&mut owner, "the owner").await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.description, format!("Now: {}", action.description));
    let texts: Vec<&str> = kept.updates.iter().map(|u| u.text.as_str()).collect();
    assert!(
        texts.contains(&"Walk-round done") && texts.contains(&"Repairs booked"),
        "{texts:?}"
    );
    // The hostile device sees them too: nothing of theirs is deleted anywhere.
    board.wait_text("actions", "Repairs booked").await;
    owner.close().await;
}

// Stops a copy replacing an action and orphaning the owner's offline edits.
#[tokio::test]
async fn replacing_an_action_with_a_copy_cannot_orphan_the_owners_offline_work() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let owner = client(&server, &token, &plan).await;
    let offline = owner.doc.clone();
    owner.close().await;
    // Offline: a note and a title edit.
    append(
        &offline,
        &action.id,
        progress("offline-note", "Written on the ward", "d.hughes", now()),
    );
    redescribe(&offline, &action.id, "Offline: ");

    let mut admin = Device::connect(&server, "programme.office", &plan, None).await;
    let answers = admin
        .attack("replaceAction", json!({ "action": action.id.as_str() }))
        .await;
    assert_refused_in_part(&answers[0], "never replaced");
    admin.assert_open().await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.transitions, action.transitions);
    assert_eq!(kept.title, action.title);

    // The owner comes back online.
    let mut owner = SyncClient::connect_as(&server, &token, &plan, true, offline).await;
    owner.synced().await;
    all_kept(&mut owner, "the owner").await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.description, format!("Offline: {}", action.description));
    assert!(
        kept.updates.iter().any(|u| u.text == "Written on the ward"),
        "{:?}",
        kept.updates
    );
    assert_eq!(kept.transitions, action.transitions);
    owner.close().await;
}

// Stops a lead turning logs into other types so nothing can be attached.
#[tokio::test]
async fn a_lead_cannot_turn_an_actions_logs_into_other_types() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut owner = client(&server, &token, &plan).await;
    let mut lead = Device::connect(&server, "chief.nurse", &plan, None).await;
    let answers = lead
        .attack("retypeLogs", json!({ "action": action.id.as_str() }))
        .await;
    assert_refused_in_part(&answers[0], "must be a log");
    let reasons = notices(&answers[0]);
    assert!(reasons.len() >= 2, "evidence and decisions: {reasons:?}");
    lead.assert_open().await;

    // Still logs on the server.
    let doc = fetch(&server, &plan).await;
    {
        let txn = doc.transact();
        let actions = txn.get_map("actions").unwrap();
        let Some(Out::YMap(stored)) = actions.get(&txn, action.id.as_str()) else {
            panic!("the action is not a map");
        };
        for log in ["evidence", "decisions"] {
            assert!(
                matches!(stored.get(&txn, log), Some(Out::YArray(_))),
                "{log} is no longer a log"
            );
        }
    }

    // The owner attaches evidence afterwards.
    owner
        .edit(|doc| {
            plait_shared::workflow::attach_evidence(
                &PlanDoc::new(doc.clone()),
                &mut doc.transact_mut(),
                &action.id,
                &plait_shared::workflow::Who {
                    user: &user("d.hughes"),
                    role: Role::Contributor,
                    at: now(),
                },
                &plait_shared::workflow::EvidenceInput::new(
                    EvidenceKind::Note,
                    "Audit of the door closers",
                    "",
                ),
                1,
            )
            .unwrap();
        })
        .await;
    all_kept(&mut owner, "the owner").await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.evidence.len(), action.evidence.len() + 1);
    assert!(kept
        .evidence
        .iter()
        .any(|e| e.title == "Audit of the door closers"));
    assert_eq!(kept.decisions, action.decisions);
    owner.close().await;
}

// Stops junk roots, keys and megabyte embeds being stored or sent to others.
#[tokio::test]
async fn content_outside_the_schema_is_neither_stored_nor_sent_on() {
    const EMBED_BYTES: usize = 1_100_000;
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let lead_token = server.sign_in("chief.nurse", PASSWORD).await;
    let mut watcher = client(&server, &lead_token, &plan).await;
    let before = stored_state(&server, &plan).await.len();
    let received_before = watcher.seen.lock().unwrap().bytes;

    let marker = "HOSTILE-3C";
    let mut board = Device::connect(&server, "board", &plan, None).await;
    let answers = board
        .attack(
            "outsideSchema",
            json!({ "action": action.id.as_str(), "marker": marker, "embedBytes": EMBED_BYTES }),
        )
        .await;
    assert_eq!(answers.len(), 4);
    for reply in &answers {
        assert_eq!(answer(reply), "ack", "{reply}");
        assert!(!notices(reply).is_empty(), "told of the refusal: {reply}");
    }
    board.assert_open().await;

    // An honest edit after it, so everything sent before has arrived.
    watcher
        .edit(|doc| {
            append(
                doc,
                &action.id,
                progress("lead-after", "Still here", "chief.nurse", now()),
            )
        })
        .await;
    all_kept(&mut watcher, "the watching lead").await;
    let received = watcher.seen.lock().unwrap().bytes - received_before;
    eprintln!("the watching lead received {received} bytes");
    assert!(
        received < 8 * 1024,
        "the watching lead received {received} bytes for four refused updates"
    );
    {
        let doc = &watcher.doc;
        let txn = doc.transact();
        let whole = txn.encode_state_as_update_v1(&StateVector::default());
        assert!(
            !String::from_utf8_lossy(&whole).contains(marker),
            "refused content reached the watching lead"
        );
        assert!(txn.get_map("junk").is_none_or(|junk| junk.len(&txn) == 0));
        let actions = txn.get_map("actions").unwrap();
        assert!(actions.get(&txn, "not an id!").is_none());
        let Some(Out::YMap(seen)) = actions.get(&txn, action.id.as_str()) else {
            panic!("the action is not a map");
        };
        assert!(seen.get(&txn, "colour").is_none());
    }
    let seen = PlanDoc::new(watcher.doc.clone())
        .read_action(&watcher.doc.transact(), &action.id)
        .unwrap();
    assert_eq!(seen.title, action.title);

    let stored = stored_state(&server, &plan).await;
    let grown = stored.len().saturating_sub(before);
    eprintln!("the stored state grew by {grown} bytes");
    assert!(
        grown < 4 * 1024,
        "the stored state grew by {grown} bytes ({before} → {})",
        stored.len()
    );
    assert!(!String::from_utf8_lossy(&stored).contains(marker));
    assert_eq!(
        server_action(&server, &plan, &action.id).await.title,
        action.title
    );
    watcher.close().await;
}

// Stops an entry inserted before the history rewinding a closed action.
#[tokio::test]
async fn a_lead_cannot_rewind_a_closed_action_by_inserting_before_its_history() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = with_status(&server, Status::Closed).await;
    let mut lead = Device::connect(&server, "chief.nurse", &plan, None).await;
    let rewind = Transition {
        to: Status::Agreed,
        by: user("chief.nurse"),
        role: Role::Lead,
        at: now(),
        note: "Reopened quietly".into(),
        baseline: false,
    };
    let answers = lead
        .insert_entry(
            &action.id,
            "transitions",
            Some(0),
            &LogEntry::Transition(rewind),
        )
        .await;
    assert_refused_in_part(&answers[0], "end of a log");
    lead.assert_open().await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.status(), Status::Closed);
    assert_eq!(kept.transitions, action.transitions);
    honest_note_survives(&server, &plan, &action).await;
}

// Stops a baseline (an import's starting point) added after the import.
#[tokio::test]
async fn an_admin_cannot_insert_a_baseline_into_an_actions_history() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = with_status(&server, Status::Closed).await;
    let mut admin = Device::connect(&server, "programme.office", &plan, None).await;
    let baseline = Transition {
        to: Status::Embedded,
        by: user("programme.office"),
        role: Role::Admin,
        at: now(),
        note: "Baseline".into(),
        baseline: true,
    };
    let at_front = admin
        .insert_entry(
            &action.id,
            "transitions",
            Some(0),
            &LogEntry::Transition(baseline.clone()),
        )
        .await;
    assert_refused_in_part(&at_front[0], "end of a log");
    // Nor at the end.
    let at_end = admin
        .insert_entry(
            &action.id,
            "transitions",
            None,
            &LogEntry::Transition(baseline.clone()),
        )
        .await;
    assert_eq!(answer(&at_end[0]), "ack", "{at_end:?}");
    assert!(!notices(&at_end[0]).is_empty(), "{at_end:?}");
    admin.assert_open().await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.status(), Status::Closed);
    assert_eq!(kept.transitions, action.transitions);
    honest_note_survives(&server, &plan, &action).await;
}

// Stops entries dated before the action existed (or in the future).
#[tokio::test]
async fn an_entry_dated_before_the_action_existed_is_refused() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let mut lead = Device::connect(&server, "chief.nurse", &plan, None).await;
    let in_2020 = note(
        "backdated",
        "Done in 2020",
        "chief.nurse",
        UnixMillis(1_580_000_000_000),
    );
    let answers = lead
        .insert_entry(&action.id, "updates", None, &LogEntry::Progress(in_2020))
        .await;
    assert_refused_in_part(&answers[0], "before the action existed");
    let tomorrow = note(
        "future",
        "Done tomorrow",
        "chief.nurse",
        UnixMillis(now().0 + 86_400_000),
    );
    let answers = lead
        .insert_entry(&action.id, "updates", None, &LogEntry::Progress(tomorrow))
        .await;
    assert_refused_in_part(&answers[0], "in the future");
    lead.assert_open().await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.updates, action.updates);
    honest_note_survives(&server, &plan, &action).await;
}

/// The lead's honest note on `action`, from the Rust client, is kept.
async fn honest_note_survives(server: &TestServer, plan: &str, action: &ActionView) {
    honest_note_by(server, "chief.nurse", plan, action).await;
}

/// `who`'s honest note on `action` (the owner or a lead), from the Rust
/// client, is kept.
pub(crate) async fn honest_note_by(
    server: &TestServer,
    who: &str,
    plan: &str,
    action: &ActionView,
) {
    let token = server.sign_in(who, PASSWORD).await;
    let mut lead = client(server, &token, plan).await;
    let before = server_action(server, plan, &action.id).await.updates.len();
    lead.edit(|doc| {
        append(
            doc,
            &action.id,
            progress("honest-after", "Checked on the ward", who, now()),
        )
    })
    .await;
    all_kept(&mut lead, who).await;
    let kept = server_action(server, plan, &action.id).await;
    assert_eq!(kept.updates.len(), before + 1);
    assert_eq!(kept.updates.last().unwrap().text, "Checked on the ward");
    lead.close().await;
}

// Stops a refused or malformed update closing connections or evicting the document.
#[tokio::test]
async fn refused_and_malformed_updates_disconnect_nobody_and_evict_nothing() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    // Honest members connected throughout: the admin and a viewer on the
    // programme, the lead on the plan.
    let admin_token = server.sign_in("programme.office", PASSWORD).await;
    let mut admin = client(&server, &admin_token, "demo").await;
    let board_token = server.sign_in("board", PASSWORD).await;
    let mut board = client(&server, &board_token, "demo").await;
    let lead_token = server.sign_in("chief.nurse", PASSWORD).await;
    let mut lead = client(&server, &lead_token, &plan).await;
    let programme_name = ProgrammeDoc::new(admin.doc.clone())
        .read(&admin.doc.transact())
        .info
        .name;

    // A lead's device renames the programme.
    let mut lead_device = Device::connect(&server, "chief.nurse", "demo", None).await;
    let answers = lead_device
        .attack(
            "setRootField",
            json!({ "root": "programme", "key": "name", "value": "Hijacked programme" }),
        )
        .await;
    assert_refused_in_part(&answers[0], "admin");
    // A contributor's device sends malformed items to the plan.
    let mut contributor = Device::connect(&server, "d.hughes", &plan, None).await;
    let answers = contributor
        .attack("malformed", json!({ "action": action.id.as_str() }))
        .await;
    assert_eq!(answers.len(), 3);
    for reply in &answers {
        assert_eq!(answer(reply), "ack", "{reply}");
        assert!(!notices(reply).is_empty(), "told of the refusal: {reply}");
    }
    lead_device.assert_open().await;
    contributor.assert_open().await;

    // Both documents keep serving everyone: honest edits are acknowledged
    // and reach the others, the hostile devices included.
    admin
        .edit(|doc| {
            let programme = ProgrammeDoc::new(doc.clone());
            let mut info = programme.read(&doc.transact()).info;
            info.name = "Renamed by the office".into();
            programme.set_info(&mut doc.transact_mut(), &info);
        })
        .await;
    all_kept(&mut admin, "the admin").await;
    board
        .until("the admin's rename", |doc, _| {
            ProgrammeDoc::new(doc.clone())
                .read(&doc.transact())
                .info
                .name
                == "Renamed by the office"
        })
        .await;
    lead_device
        .wait_text("programme", "Renamed by the office")
        .await;
    lead.edit(|doc| {
        append(
            doc,
            &action.id,
            progress("lead-still-here", "Still connected", "chief.nurse", now()),
        )
    })
    .await;
    all_kept(&mut lead, "the lead").await;
    contributor.wait_text("actions", "Still connected").await;
    for (who, seen) in [("the admin", &admin.seen), ("the viewer", &board.seen)] {
        assert!(
            seen.lock().unwrap().closed.is_none(),
            "{who} was disconnected"
        );
    }

    // Nothing hostile is in either document.
    let doc = fetch(&server, "demo").await;
    let info = ProgrammeDoc::new(doc.clone()).read(&doc.transact()).info;
    assert_ne!(info.name, programme_name, "the admin's rename is in");
    assert_eq!(info.name, "Renamed by the office");
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.title, action.title);
    assert_eq!(kept.owner, action.owner);
    assert_eq!(kept.updates.len(), action.updates.len() + 1);
    admin.close().await;
    board.close().await;
    lead.close().await;
}

// Stops updates with nothing visible being stored without an audit record.
#[tokio::test]
async fn every_update_acknowledged_has_an_audit_record() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    // The action's executive lead, whose the agreed title is to change.
    let lead = action.exec_lead.clone();
    let mut device = Device::connect(&server, &lead, &plan, None).await;
    let answers = device
        .attack("noVisibleChange", json!({ "action": action.id.as_str() }))
        .await;
    assert_eq!(answers.len(), 4);
    for reply in &answers {
        assert_eq!(answer(reply), "ack", "{reply}");
    }
    // The last one (a delete only) was kept, not known already.
    let mut shorter = action.title.clone();
    shorter.pop();
    assert_eq!(
        server_action(&server, &plan, &action.id).await.title,
        shorter
    );
    let records = history(&server, &plan).await;
    let mine = records_by(&records, &lead);
    assert_eq!(
        mine.len(),
        answers.len(),
        "one record per acknowledged update: {records:?}"
    );
    for record in mine {
        let said = record["changes"].as_array().map_or(0, Vec::len)
            + record["refused"].as_array().map_or(0, Vec::len);
        assert!(said > 0, "a record that explains nothing: {record}");
    }
}

// Stops forging a member's edits, or planting their device's next clocks, under their client id.
#[tokio::test]
async fn a_client_id_that_wrote_for_one_member_cannot_write_for_another() {
    let server = TestServer::start_with_demo().await;
    client_id_of_another_member(&server, &server).await;
}

/// The owner writes through `honest`, the hostile lead through `hostile`
/// (another node of the same database, or the same server).
pub(crate) async fn client_id_of_another_member(honest: &TestServer, hostile: &TestServer) {
    const SHARED_DEVICE: u64 = 0x02ba_dc1d;
    let server = honest;
    let (plan, action) = owned_action(server, "d.hughes").await;
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut owner = SyncClient::connect_as(
        server,
        &token,
        &plan,
        true,
        new_doc_with_client_id(SHARED_DEVICE),
    )
    .await;
    owner.synced().await;
    owner
        .edit(|doc| {
            append(
                doc,
                &action.id,
                progress("owner-first", "First visit", "d.hughes", now()),
            )
        })
        .await;
    all_kept(&mut owner, "the owner").await;

    // The lead's device writes under the owner's client id.
    let mut lead = Device::connect(hostile, "chief.nurse", &plan, Some(SHARED_DEVICE)).await;
    let forged = note(
        "forged",
        "FORGED under the owner's device",
        "chief.nurse",
        now(),
    );
    let answers = lead
        .insert_entry(&action.id, "updates", None, &LogEntry::Progress(forged))
        .await;
    assert_eq!(answer(&answers[0]), "refused", "{answers:?}");
    assert!(
        notices(&answers[0])
            .iter()
            .any(|n| n["reason"].as_str().unwrap_or("").contains("someone else")),
        "{answers:?}"
    );
    lead.assert_open().await;

    // The owner's later edits, under the same client id, all stand.
    owner
        .edit(|doc| {
            append(
                doc,
                &action.id,
                progress("owner-second", "Second visit", "d.hughes", now()),
            );
            redescribe(doc, &action.id, "Checked: ");
        })
        .await;
    all_kept(&mut owner, "the owner").await;
    let kept = server_action(server, &plan, &action.id).await;
    let texts: Vec<&str> = kept.updates.iter().map(|u| u.text.as_str()).collect();
    assert!(
        texts.contains(&"First visit") && texts.contains(&"Second visit"),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.contains("FORGED")), "{texts:?}");
    assert_eq!(kept.description, format!("Checked: {}", action.description));
    assert!(records_by(&history(server, &plan).await, "chief.nurse").is_empty());
    owner.close().await;
}

// Stops a member who is not the programme's admin switching its governance
// rules off (issue 15), from the npm yjs client: a viewer's and a lead's
// devices set the programme's `endorsement` to "false"; both are refused,
// the stored setting is unchanged, and the rules the server applies to
// every connection are too: a validator's acceptance of a completion its
// lead has not endorsed is still refused.
#[tokio::test]
async fn only_the_programme_admin_switches_its_governance_rules() {
    let server = TestServer::start_with_demo().await;
    for who in ["board", "chief.nurse"] {
        let mut device = Device::connect(&server, who, "demo", None).await;
        let answers = device
            .attack(
                "setRootField",
                json!({ "root": "programme", "key": "endorsement", "value": "false" }),
            )
            .await;
        assert_refused_in_part(&answers[0], "admin");
        device.assert_open().await;
    }
    let doc = fetch(&server, "demo").await;
    let rules = plait_shared::ProgrammeDoc::new(doc.clone()).governance(&doc.transact());
    assert!(rules.endorsement, "the stored setting is unchanged");
    let (plan, action) = with_status(&server, Status::CompletionProposed).await;
    let token = server.sign_in("compliance", PASSWORD).await;
    let mut validator = client(&server, &token, &plan).await;
    validator
        .edit(|doc| crate::access::accept_as_validator(doc, &action, "hostile"))
        .await;
    crate::access::settled(&mut validator, 1).await;
    let reason = crate::access::refusal(&validator, 0);
    assert!(reason.contains("endorses the completion"), "{reason}");
    assert_eq!(
        server_action(&server, &plan, &action.id).await.status(),
        Status::CompletionProposed
    );
}

/// Settings changed through one node apply on another (issue 19): once
/// the programme's admin, at `admin_node`, switches endorsement off, the
/// validator at `validator_node` may accept a completion no lead endorsed;
/// and a viewer's device at `validator_node` still cannot switch it back.
pub(crate) async fn settings_changed_on_one_node_apply_on_another(
    admin_node: &TestServer,
    validator_node: &TestServer,
) {
    let (plan, action) = with_status(validator_node, Status::CompletionProposed).await;
    let token = validator_node.sign_in("compliance", PASSWORD).await;
    // The validator's node holds the programme's settings from here on.
    let mut validator = client(validator_node, &token, &plan).await;
    let mut admin = Device::connect(admin_node, "programme.office", "demo", None).await;
    let answers = admin
        .attack(
            "setRootField",
            json!({ "root": "programme", "key": "endorsement", "value": "false" }),
        )
        .await;
    assert_eq!(answer(&answers[0]), "ack", "{answers:?}");
    assert!(notices(&answers[0]).is_empty(), "{answers:?}");
    // The validator's node learns of it (a notice, or its periodic check).
    let deadline = tokio::time::Instant::now() + crate::support::PATIENCE;
    loop {
        let doc = fetch(validator_node, "demo").await;
        let rules = plait_shared::ProgrammeDoc::new(doc.clone()).governance(&doc.transact());
        if !rules.endorsement {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the setting never reached the other node"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    validator
        .edit(|doc| crate::access::accept_as_validator(doc, &action, "across"))
        .await;
    crate::access::settled(&mut validator, 0).await;
    let refused = validator.seen.lock().unwrap().refused.clone();
    assert!(refused.is_empty(), "{refused:?}");
    assert_ne!(
        server_action(validator_node, &plan, &action.id)
            .await
            .status(),
        Status::CompletionProposed
    );
    let mut viewer = Device::connect(validator_node, "board", "demo", None).await;
    let answers = viewer
        .attack(
            "setRootField",
            json!({ "root": "programme", "key": "endorsement", "value": "true" }),
        )
        .await;
    assert_refused_in_part(&answers[0], "admin");
    validator.close().await;
}

/// Issue 16, as hostile members with the npm `yjs` client on the real
/// server: a viewer cannot write a meeting's chair's report; the
/// committee's chair can, but not move the meeting; the programme's admin
/// cannot store a governance setting out of bounds.
#[tokio::test]
async fn the_chair_writes_the_report_and_nothing_more_and_settings_stay_in_bounds() {
    let server = TestServer::start_with_demo().await;
    let doc = fetch(&server, "demo").await;
    let before = plait_shared::ProgrammeDoc::new(doc.clone()).read(&doc.transact());
    let (meeting, stored) = before
        .meetings
        .iter()
        .next()
        .map(|(id, m)| (id.to_string(), m.clone()))
        .expect("the demo has meetings");
    let set =
        |field: &str, value: Value| json!({ "meeting": meeting, "field": field, "value": value });

    let mut viewer = Device::connect(&server, "board", "demo", None).await;
    let answers = viewer
        .attack("meetingField", set("alert", json!("All is well.")))
        .await;
    assert_refused_in_part(&answers[0], "admin");
    viewer.assert_open().await;

    let mut chair = Device::connect(&server, "qsc.chair", "demo", None).await;
    let answers = chair
        .attack("meetingField", set("date", json!("2030-01-01")))
        .await;
    assert_refused_in_part(&answers[0], "chair");
    let answers = chair
        .attack("meetingField", set("alert", json!("None this month.")))
        .await;
    assert_eq!(answer(&answers[0]), "ack", "{}", answers[0]);
    assert!(
        answers[0]["notices"].as_array().is_none_or(Vec::is_empty),
        "{}",
        answers[0]
    );
    // Not text: refused, the report as it was.
    let answers = chair.attack("meetingField", set("alert", json!(7))).await;
    assert_refused_in_part(&answers[0], "chair");
    // Their next value of it (which Yjs builds on the refused one) is kept.
    let answers = chair
        .attack(
            "meetingField",
            set("alert", json!("None this month, again.")),
        )
        .await;
    assert_eq!(answer(&answers[0]), "ack", "{}", answers[0]);
    assert!(
        answers[0]["notices"].as_array().is_none_or(Vec::is_empty),
        "{}",
        answers[0]
    );

    let mut office = Device::connect(&server, "programme.office", "demo", None).await;
    let answers = office
        .attack(
            "setRootField",
            json!({ "root": "programme", "key": "reaudit_count", "value": "0" }),
        )
        .await;
    assert_refused_in_part(&answers[0], "re-audits");

    let doc = fetch(&server, "demo").await;
    let after = plait_shared::ProgrammeDoc::new(doc.clone()).read(&doc.transact());
    let kept = &after.meetings[&plait_shared::MeetingId::new(&meeting).unwrap()];
    assert_eq!(kept.alert, "None this month, again.");
    assert_eq!((kept.date, &kept.title), (stored.date, &stored.title));
    assert_eq!(after.governance, before.governance);
    chair.assert_open().await;
    office.assert_open().await;
}

/// A viewer's burst from the npm `yjs` client (issue 21: a client's
/// frames read together are applied under one hold of the document's lock
/// and sent on together): twenty edits of an action's title sent at once
/// are each refused with a reason and acknowledged, in order; the title is
/// as it was for the server and for another member watching, nothing of
/// them is stored, and the viewer stays connected.
#[tokio::test]
async fn a_viewers_burst_is_refused_update_by_update() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let lead_token = server.sign_in("chief.nurse", PASSWORD).await;
    let mut lead = client(&server, &lead_token, &plan).await;
    let mut board = Device::connect(&server, "board", &plan, None).await;

    let answers = board
        .attack(
            "burst",
            json!({ "action": action.id.as_str(), "count": 20, "text": "Hijacked" }),
        )
        .await;
    assert_eq!(answers.len(), 20, "{answers:?}");
    for reply in &answers {
        assert_eq!(answer(reply), "ack", "{answers:?}");
        assert!(
            notices(reply)
                .iter()
                .any(|n| n["reason"].as_str().is_some_and(|r| r.contains("viewers"))),
            "{reply}"
        );
    }
    board.assert_open().await;

    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.title, action.title);
    lead.pump(tokio::time::Instant::now() + Duration::from_millis(300))
        .await;
    let seen = PlanDoc::new(lead.doc.clone())
        .read_action(&lead.doc.transact(), &action.id)
        .unwrap();
    assert_eq!(seen.title, action.title, "the other member never shows it");
    assert!(
        !String::from_utf8_lossy(&stored_state(&server, &plan).await).contains("Hijacked"),
        "a refused edit is stored"
    );
}

/// Issue 16 and 17's new parts of the programme document, against the npm
/// `yjs` client: a viewer plants an issued board paper, a meeting paper and
/// a measure's value; the programme's admin plants an issued paper. All are
/// refused and the document reads as before (an issued paper is the
/// server's, the rest the admin's).
#[tokio::test]
async fn nobody_plants_an_issued_paper_and_a_viewer_no_phase_two_data() {
    let server = TestServer::start_with_demo().await;
    let read = || async {
        let doc = fetch(&server, "demo").await;
        let view = plait_shared::ProgrammeDoc::new(doc.clone()).read(&doc.transact());
        (
            view.issued.clone(),
            view.meeting_papers.len(),
            view.measure_points.len(),
        )
    };
    let before = read().await;
    let plant =
        |root: &str, key: &str, value: Value| json!({ "root": root, "key": key, "value": value });
    let forged = json!({ "version": 9, "body": { "total": 1 } }).to_string();
    let mut viewer = Device::connect(&server, "board", "demo", None).await;
    for (root, key, value) in [
        ("issued_papers", "board-2030-01-01.v9", json!(forged)),
        ("meeting_papers", "mp-planted", json!("minutes.pdf")),
        ("measure_points", "mp-planted", json!("99")),
    ] {
        let answers = viewer.attack("setRootField", plant(root, key, value)).await;
        assert!(
            notices(&answers[0])
                .iter()
                .any(|n| n["reason"].as_str().is_some()),
            "{root}: {}",
            answers[0]
        );
    }
    viewer.assert_open().await;
    let mut office = Device::connect(&server, "programme.office", "demo", None).await;
    let answers = office
        .attack(
            "setRootField",
            plant("issued_papers", "board-2030-01-01.v9", json!(forged)),
        )
        .await;
    assert_refused_in_part(&answers[0], "frozen by the server");
    assert_eq!(read().await, before, "nothing planted");
}

/// Phase 2 against hostile members with the npm `yjs` client (issue 17):
/// a viewer plants a driver, a PDSA cycle, a link and an exit criterion; a
/// contributor rewords the aim, removes a change idea, marks an exit
/// criterion met and plants a driver; an executive lead marks an exit
/// criterion met and gives a driver a kind that does not exist. Every one
/// is refused with a reason and the diagram, links and criteria are as
/// they were. A contributor's own PDSA cycle is kept, but not its made-up
/// decision.
#[tokio::test]
async fn hostile_members_change_no_phase_two_they_may_not() {
    let server = TestServer::start_with_demo().await;
    let read = || async {
        let doc = fetch(&server, "demo").await;
        let view = plait_shared::ProgrammeDoc::new(doc.clone()).read(&doc.transact());
        view.improvement
    };
    let before = read().await;
    let entity = |root: &str, key: &str, fields: Value| json!({ "root": root, "key": key, "fields": fields });
    let removal = |root: &str, key: &str| json!({ "root": root, "key": key, "remove": true });
    let mut viewer = Device::connect(&server, "board", "demo", None).await;
    let mut ward = Device::connect(&server, "d.hughes", "demo", None).await;
    let mut lead = Device::connect(&server, "chief.nurse", "demo", None).await;
    for (args, why) in [
        (
            entity(
                "drivers",
                "d-planted",
                json!({ "kind": "primary", "parent": "d-aim-restraint", "text": "Planted" }),
            ),
            "executive leads and validators",
        ),
        (
            entity(
                "pdsa_cycles",
                "k-planted",
                json!({ "change_idea": "d-safewards", "title": "Planted" }),
            ),
            "own or lead actions",
        ),
        (
            entity(
                "links",
                "l-planted",
                json!({ "from": "driver:d-safewards", "to": "measure:m-restraint" }),
            ),
            "executive leads and validators",
        ),
        (
            entity(
                "exit_criteria",
                "x-planted",
                json!({ "text": "Planted", "status": "met" }),
            ),
            "programme's admin",
        ),
    ] {
        let answers = viewer.attack("entity", args).await;
        assert_refused_in_part(&answers[0], why);
    }
    for (args, why) in [
        (
            entity(
                "drivers",
                "d-aim-restraint",
                json!({ "text": "Reworded by a ward" }),
            ),
            "executive leads and validators",
        ),
        (
            removal("drivers", "d-safewards"),
            "executive leads and validators",
        ),
        (
            entity("exit_criteria", "x-finance", json!({ "status": "met" })),
            "programme's admin",
        ),
        (
            entity(
                "drivers",
                "d-planted",
                json!({ "kind": "primary", "parent": "d-aim-restraint", "text": "Planted" }),
            ),
            "executive leads and validators",
        ),
    ] {
        let answers = ward.attack("entity", args).await;
        assert_refused_in_part(&answers[0], why);
    }
    for (args, why) in [
        (
            entity("exit_criteria", "x-finance", json!({ "status": "met" })),
            "programme's admin",
        ),
        (
            entity("drivers", "d-skills", json!({ "kind": "boss" })),
            "kind: not a kind of driver diagram node",
        ),
    ] {
        let answers = lead.attack("entity", args).await;
        assert_refused_in_part(&answers[0], why);
    }
    // The ward's own cycle: kept, its made-up decision refused.
    let answers = ward
        .attack(
            "entity",
            entity(
                "pdsa_cycles",
                "k-ward",
                json!({ "change_idea": "d-debrief", "title": "Huddle at handover", "decision": "maybe" }),
            ),
        )
        .await;
    assert_refused_in_part(&answers[0], "decision: not adopt, adapt or abandon");
    for device in [&mut viewer, &mut ward, &mut lead] {
        device.assert_open().await;
    }
    let after = read().await;
    assert_eq!(after.drivers, before.drivers);
    assert_eq!(after.links, before.links);
    assert_eq!(after.exit_criteria, before.exit_criteria);
    assert_eq!(after.root_causes, before.root_causes);
    let cycle = plait_shared::ids::CycleId::new("k-ward").unwrap();
    assert_eq!(after.cycles.len(), before.cycles.len() + 1);
    assert_eq!(after.cycles[&cycle].title, "Huddle at handover");
    assert_eq!(after.cycles[&cycle].decision, None);
}
