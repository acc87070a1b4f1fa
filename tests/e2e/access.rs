//! Who may do what: sessions, programme membership, the change rules the
//! server enforces on every update, revocation, CSRF, the sign-in limit and
//! the audit trail — against the real server with the demo programme and
//! its accounts.

use std::time::{Duration, Instant};

use plait_server::control::{Command, Reply};
use plait_shared::changes::Change;
use plait_shared::keys::FieldKey;
use plait_shared::{
    ActionField, ActionId, ActionView, DocId, EntryId, EvidenceReview, EvidenceVerdict, LogEntry,
    PlanDoc, ProgressUpdate, Role, Status, Transition, UnixMillis, UserId,
};
use yrs::updates::decoder::Decode;
use yrs::{Array, Doc, Map, Transact};

use crate::support::{SyncClient, TestServer};

pub(crate) const PASSWORD: &str = plait_server::demo::PASSWORD;

/// The plan holding the demo's first action owned by `owner`, and that action.
pub(crate) async fn owned_action(server: &TestServer, owner: &str) -> (String, ActionView) {
    for plan in plan_ids(server).await {
        let doc = fetch(server, &plan).await;
        let view = PlanDoc::new(doc.clone()).read(&doc.transact());
        if let Some(action) = view
            .actions
            .values()
            .find(|a| a.owner.as_ref().is_some_and(|o| o.as_str() == owner))
        {
            return (plan, action.clone());
        }
    }
    panic!("no action owned by {owner} in the demo");
}

pub(crate) async fn plan_ids(server: &TestServer) -> Vec<String> {
    let doc = fetch(server, "demo").await;
    let programme = plait_shared::ProgrammeDoc::new(doc.clone()).read(&doc.transact());
    programme.plans.keys().map(ToString::to_string).collect()
}

/// The document as the server holds it (read as the server administrator).
pub(crate) async fn fetch(server: &TestServer, id: &str) -> Doc {
    let response = server.get(&format!("/api/docs/{id}")).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET /api/docs/{id}");
    let bytes = response.bytes().await.unwrap();
    let doc = plait_shared::new_doc();
    doc.transact_mut()
        .apply_update(yrs::Update::decode_v1(&bytes).unwrap())
        .unwrap();
    doc
}

pub(crate) async fn server_action(
    server: &TestServer,
    plan: &str,
    action: &ActionId,
) -> ActionView {
    let doc = fetch(server, plan).await;
    let view = PlanDoc::new(doc.clone()).read_action(&doc.transact(), action);
    view.expect("the action is there")
}

pub(crate) fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

/// Now: entries must carry a plausible time (not ahead of the server's
/// clock, not before the action was imported).
pub(crate) fn now() -> UnixMillis {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    UnixMillis(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// A client of `plan` as `token`, synced.
pub(crate) async fn client(server: &TestServer, token: &str, plan: &str) -> SyncClient {
    let mut client =
        SyncClient::connect_as(server, token, plan, true, plait_shared::new_doc()).await;
    client.synced().await;
    client
}

pub(crate) fn local_action(client: &SyncClient, id: &ActionId) -> ActionView {
    PlanDoc::new(client.doc.clone())
        .read_action(&client.doc.transact(), id)
        .unwrap()
}

/// The reason the server gave for `client`'s `n`th refused change.
pub(crate) fn refusal(client: &SyncClient, n: usize) -> String {
    client.seen.lock().unwrap().refused[n]["reason"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until the server has answered `client`'s edits: a refusal notice
/// arrived or everything is durable.
pub(crate) async fn settled(client: &mut SyncClient, refusals: usize) {
    client
        .until("the server's answer", |_, seen| {
            seen.refused.len() >= refusals
        })
        .await;
    client.all_durable().await;
}

#[tokio::test]
async fn without_a_session_everything_is_401() {
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    for path in [
        "/api/me",
        "/api/docs/demo",
        "/api/docs/demo/history",
        "/api/programmes/demo/members",
    ] {
        let status = http.get(server.url(path)).send().await.unwrap().status();
        assert_eq!(status, 401, "GET {path}");
    }
    let status = http
        .post(server.url("/api/docs/demo/sync"))
        .body(vec![0, 0])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401, "HTTP sync");
    assert_eq!(server.ws_status("/sync/demo", None).await, 401);
    assert_eq!(
        server.ws_status("/sync/demo?token=made-up", None).await,
        401
    );
    let bad = http
        .get(server.url("/api/me"))
        .bearer_auth("not-a-session")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
}

#[tokio::test]
/// Another programme's documents answer exactly as documents that do not
/// exist (404): a non-member learns nothing of which ids are in use
/// (issue 13; they were 403 before).
async fn another_programmes_documents_answer_as_unknown_ones_do() {
    let server = TestServer::start_with_demo().await;
    let accounts = &server.state.accounts;
    accounts
        .add_user("outsider", "Someone Else", "outsider-password", false)
        .unwrap();
    accounts
        .grant(
            "outsider",
            &DocId::new("elsewhere").unwrap(),
            Some(Role::Admin),
        )
        .unwrap();
    let token = server.sign_in("outsider", "outsider-password").await;
    let plan = plan_ids(&server).await.remove(0);
    let http = reqwest::Client::new();
    for path in [
        "/api/docs/demo".to_owned(),
        format!("/api/docs/{plan}"),
        format!("/api/docs/{plan}/history"),
        "/api/programmes/demo/members".to_owned(),
    ] {
        let status = http
            .get(server.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "GET {path}");
        let unknown = path.replace("demo", "nowhere");
        let status_unknown = http
            .get(server.url(&unknown))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status_unknown, 404, "GET {unknown}");
    }
    assert_eq!(
        server
            .ws_status(&format!("/sync/{plan}?token={token}"), None)
            .await,
        404
    );
    // A document of no programme is only for server administrators.
    assert_eq!(
        server
            .ws_status(&format!("/sync/scratch?token={token}"), None)
            .await,
        404
    );
    // A member reads; the member list names the demo accounts and roles.
    let board = server.sign_in("board", PASSWORD).await;
    let members: serde_json::Value = server
        .get_json("/api/programmes/demo/members", &board)
        .await;
    let roles: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        roles.contains(&("d.hughes".into(), "contributor".into())),
        "{roles:?}"
    );
    assert!(
        roles.contains(&("board".into(), "viewer".into())),
        "{roles:?}"
    );
    assert_eq!(
        roles.len(),
        plait_server::demo::ACCOUNTS.len() + plait_server::demo::PEOPLE.len(),
        "only the demo programme's members: {roles:?}"
    );
}

#[tokio::test]
async fn a_viewer_changes_nothing_and_converges_back() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let token = server.sign_in("board", PASSWORD).await;
    let mut viewer = client(&server, &token, &plan).await;
    let root_token = server.token.clone();
    let mut watcher = client(&server, &root_token, &plan).await;
    viewer
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let mut txn = doc.transact_mut();
            plan.set_action_field(
                &mut txn,
                &action.id,
                &ActionField::Owner(Some(user("board"))),
            )
            .unwrap();
            plan.restore_text(&mut txn, &action.id, "title", "Hijacked")
                .unwrap();
        })
        .await;
    settled(&mut viewer, 2).await;
    let refused = viewer.seen.lock().unwrap().refused.clone();
    assert!(
        refused
            .iter()
            .all(|r| r["reason"].as_str().unwrap().contains("viewers")),
        "{refused:?}"
    );
    // What the viewer inserted is taken out of its own copy too. Its refused
    // deletion of the old title and its refused owner never entered the
    // document (applied and undone, they could make a member's offline edit
    // lose), so its copy keeps those until it reloads.
    viewer
        .until(
            "the viewer's inserted text to be taken out of its copy",
            |doc, _| {
                let mine = PlanDoc::new(doc.clone()).read_action(&doc.transact(), &action.id);
                mine.is_some_and(|a| !a.title.contains("Hijacked"))
            },
        )
        .await;
    // ...the server never kept it, and nobody else saw the content.
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.owner, action.owner);
    assert_eq!(kept.title, action.title);
    watcher
        .pump(tokio::time::Instant::now() + Duration::from_millis(300))
        .await;
    let seen = local_action(&watcher, &action.id);
    assert_eq!(seen.title, action.title, "the other client never shows it");
    // The stored log holds no trace of the refused text.
    let dir = server.stop().await;
    let stored = crate::support::stored(dir.path(), &plan).await.unwrap();
    for (_, update) in &stored.updates {
        assert!(
            !String::from_utf8_lossy(update).contains("Hijacked"),
            "refused content reached storage"
        );
    }
}

#[tokio::test]
async fn an_owner_cannot_close_their_own_action_but_keeps_their_progress_note() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut owner = client(&server, &token, &plan).await;
    let statuses_before = action.transitions.len();
    owner
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let mut txn = doc.transact_mut();
            plan.append(
                &mut txn,
                &action.id,
                &LogEntry::Progress(ProgressUpdate {
                    id: EntryId::new("u-note-1").unwrap(),
                    text: "Door closers fitted on both wards".into(),
                    by: user("d.hughes"),
                    at: now(),
                    confidence: None,
                }),
            )
            .unwrap();
            plan.append(
                &mut txn,
                &action.id,
                &LogEntry::Transition(Transition {
                    to: Status::Closed,
                    by: user("d.hughes"),
                    role: Role::Contributor,
                    at: now(),
                    note: String::new(),
                    baseline: false,
                }),
            )
            .unwrap();
        })
        .await;
    settled(&mut owner, 1).await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(
        kept.transitions.len(),
        statuses_before,
        "the closure was undone"
    );
    assert_eq!(kept.status(), action.status());
    assert!(
        kept.updates
            .iter()
            .any(|u| u.text == "Door closers fitted on both wards"),
        "the allowed progress note in the same update stands"
    );
    owner
        .until("the owner's copy to drop the closure", |doc, _| {
            PlanDoc::new(doc.clone())
                .read_action(&doc.transact(), &action.id)
                .is_some_and(|a| {
                    a.transitions.len() == statuses_before && a.updates.len() == kept.updates.len()
                })
        })
        .await;
    // Writing in someone else's name, or in a role one does not hold, is refused too.
    owner
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let mut txn = doc.transact_mut();
            plan.append(
                &mut txn,
                &action.id,
                &LogEntry::Transition(Transition {
                    to: Status::Closed,
                    by: user("qsc.chair"),
                    role: Role::Approver,
                    at: now(),
                    note: String::new(),
                    baseline: false,
                }),
            )
            .unwrap();
        })
        .await;
    settled(&mut owner, 2).await;
    let reason = refusal(&owner, 1);
    assert!(reason.contains("as yourself"), "{reason}");
    assert_eq!(
        server_action(&server, &plan, &action.id)
            .await
            .transitions
            .len(),
        statuses_before
    );
}

#[tokio::test]
async fn a_validator_cannot_assure_an_action_they_own() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    // The lead hands the action to the validator (a lead may set owners).
    let lead = server.sign_in("chief.nurse", PASSWORD).await;
    let mut lead = client(&server, &lead, &plan).await;
    lead.edit(|doc| {
        let plan = PlanDoc::new(doc.clone());
        plan.set_action_field(
            &mut doc.transact_mut(),
            &action.id,
            &ActionField::Owner(Some(user("compliance"))),
        )
        .unwrap();
    })
    .await;
    lead.all_durable().await;
    assert_eq!(
        server_action(&server, &plan, &action.id).await.owner,
        Some(user("compliance"))
    );
    let token = server.sign_in("compliance", PASSWORD).await;
    let mut validator = client(&server, &token, &plan).await;
    let evidence = EntryId::new("e-1").unwrap();
    validator
        .edit(|doc| accept_evidence(doc, &action.id, &evidence, None, "1"))
        .await;
    settled(&mut validator, 2).await;
    let refused = validator.seen.lock().unwrap().refused.clone();
    let reasons: Vec<&str> = refused
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("own")), "{reasons:?}");
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.evidence_reviews, action.evidence_reviews);
    assert_eq!(kept.transitions.len(), action.transitions.len());
}

#[tokio::test]
async fn fields_and_other_peoples_entries_are_protected() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut owner = client(&server, &token, &plan).await;
    // The owner may set their confidence and post progress...
    owner
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let mut txn = doc.transact_mut();
            plan.set_action_field(
                &mut txn,
                &action.id,
                &ActionField::Confidence(Some(plait_shared::Confidence::AtRisk)),
            )
            .unwrap();
            plan.append(
                &mut txn,
                &action.id,
                &LogEntry::Progress(ProgressUpdate {
                    id: EntryId::new("u-own").unwrap(),
                    text: "Audit booked for Tuesday".into(),
                    by: user("d.hughes"),
                    at: now(),
                    confidence: None,
                }),
            )
            .unwrap();
        })
        .await;
    owner.all_durable().await;
    // ...but not hand the action to someone else.
    owner
        .edit(|doc| {
            PlanDoc::new(doc.clone())
                .set_action_field(
                    &mut doc.transact_mut(),
                    &action.id,
                    &ActionField::Owner(Some(user("i.doyle"))),
                )
                .unwrap();
        })
        .await;
    settled(&mut owner, 1).await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.owner, Some(user("d.hughes")));
    assert_eq!(kept.confidence, Some(plait_shared::Confidence::AtRisk));
    assert_eq!(
        kept.updates.last().unwrap().text,
        "Audit booked for Tuesday"
    );

    // A lead may not rewrite (or remove) the owner's progress note.
    let lead = server.sign_in("chief.nurse", PASSWORD).await;
    let mut lead = client(&server, &lead, &plan).await;
    lead.edit(|doc| {
        let map = doc.get_or_insert_map("actions");
        let txn = &mut doc.transact_mut();
        let Some(yrs::Out::YMap(action_map)) = map.get(txn, action.id.as_str()) else {
            panic!("the action is a map");
        };
        let Some(yrs::Out::YArray(updates)) = action_map.get(txn, "updates") else {
            panic!("the updates are an array");
        };
        let last = updates.len(txn) - 1;
        updates.remove(txn, last);
    })
    .await;
    settled(&mut lead, 1).await;
    let reason = refusal(&lead, 0);
    assert!(reason.contains("cannot be changed or removed"), "{reason}");
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(
        kept.updates.last().unwrap().text,
        "Audit booked for Tuesday"
    );
    // The deletion is dropped, never applied (putting the entry back as a
    // copy could land after a member's offline answer to it, and would cost
    // the log again per deletion): the server and everyone else keep the
    // note; the lead, told why, keeps the deletion until reloading.

    // A contributor cannot edit the text of an action they do not own.
    let (other_plan, other) = owned_action(&server, "i.doyle").await;
    let mut stranger = client(&server, &token, &other_plan).await;
    stranger
        .edit(|doc| {
            PlanDoc::new(doc.clone())
                .restore_text(
                    &mut doc.transact_mut(),
                    &other.id,
                    "description",
                    "mine now",
                )
                .unwrap();
        })
        .await;
    settled(&mut stranger, 1).await;
    assert_eq!(
        server_action(&server, &other_plan, &other.id)
            .await
            .description,
        other.description
    );
}

#[tokio::test]
async fn only_the_programme_admin_changes_the_programme() {
    let server = TestServer::start_with_demo().await;
    let lead = server.sign_in("chief.nurse", PASSWORD).await;
    let mut lead = client(&server, &lead, "demo").await;
    lead.edit(|doc| {
        let programme = plait_shared::ProgrammeDoc::new(doc.clone());
        let mut txn = doc.transact_mut();
        programme.set_info(
            &mut txn,
            &plait_shared::ProgrammeInfo {
                name: "Renamed".into(),
                ..Default::default()
            },
        );
    })
    .await;
    // Refused, told why, and still connected: a member's refused change
    // closes nobody's connection and evicts no document (issue 11).
    settled(&mut lead, 1).await;
    assert!(
        lead.seen.lock().unwrap().closed.is_none(),
        "the lead stays connected"
    );
    let doc = fetch(&server, "demo").await;
    let info = plait_shared::ProgrammeDoc::new(doc.clone())
        .read(&doc.transact())
        .info;
    assert_ne!(info.name, "Renamed");
    // The admin may.
    let admin = server.sign_in("programme.office", PASSWORD).await;
    let mut admin = client(&server, &admin, "demo").await;
    admin
        .edit(|doc| {
            let programme = plait_shared::ProgrammeDoc::new(doc.clone());
            let mut info = programme.read(&doc.transact()).info;
            info.name = "Renamed by the office".into();
            programme.set_info(&mut doc.transact_mut(), &info);
        })
        .await;
    admin.all_durable().await;
    let doc = fetch(&server, "demo").await;
    let info = plait_shared::ProgrammeDoc::new(doc.clone())
        .read(&doc.transact())
        .info;
    assert_eq!(info.name, "Renamed by the office");
}

#[tokio::test]
async fn disabling_an_account_or_signing_out_closes_live_sockets_within_a_second() {
    let server = TestServer::start_with_demo().await;
    server.start_control();
    let plan = plan_ids(&server).await.remove(0);
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut live = client(&server, &token, &plan).await;
    // Through the control socket, as `plait user disable` does.
    let started = Instant::now();
    let reply = plait_server::control::send(
        server.data_dir.path(),
        &Command::Disable {
            username: "d.hughes".into(),
        },
    )
    .await
    .unwrap()
    .expect("the server answers on its control socket");
    assert!(
        matches!(reply, Reply::User(ref u) if u.disabled),
        "{reply:?}"
    );
    let (code, _) = live.closed().await;
    assert_eq!(code, plait_shared::protocol::close::SESSION_ENDED);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        server
            .ws_status(&format!("/sync/{plan}?token={token}"), None)
            .await,
        401
    );
    let refused = reqwest::Client::new()
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "d.hughes", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("disabled"));

    // Signing out closes that session's sockets and nobody else's.
    let token = server.sign_in("compliance", PASSWORD).await;
    let other = server.sign_in("compliance", PASSWORD).await;
    let mut mine = client(&server, &token, &plan).await;
    let mut elsewhere = client(&server, &other, &plan).await;
    let started = Instant::now();
    let out = reqwest::Client::new()
        .post(server.url("/api/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let (code, _) = mine.closed().await;
    assert_eq!(code, plait_shared::protocol::close::SESSION_ENDED);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        elsewhere
            .pump(tokio::time::Instant::now() + Duration::from_millis(300))
            .await,
        "the other session stays connected"
    );
    let me = reqwest::Client::new()
        .get(server.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
}

#[tokio::test]
async fn an_idle_session_expires_and_its_socket_closes() {
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), true, |config| {
        config.sessions.idle = Duration::from_secs(2);
    })
    .await;
    let plan = plan_ids(&server).await.remove(0);
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut live = client(&server, &token, &plan).await;
    let (code, reason) = live.closed().await;
    assert_eq!(
        code,
        plait_shared::protocol::close::SESSION_ENDED,
        "{reason}"
    );
    let me = reqwest::Client::new()
        .get(server.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
}

#[tokio::test]
async fn cookie_requests_need_the_csrf_token_and_this_origin() {
    let server = TestServer::start_with_demo().await;
    let jar = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = jar
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "d.hughes", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let body: serde_json::Value = login.json().await.unwrap();
    let csrf = body["csrf"].as_str().unwrap().to_owned();
    let plan = plan_ids(&server).await.remove(0);
    let sync = server.url(&format!("/api/docs/{plan}/sync"));
    let empty = vec![1u8, 0, 0];
    let forged = jar.post(&sync).body(empty.clone()).send().await.unwrap();
    assert_eq!(forged.status(), 403, "no CSRF token");
    let wrong = jar
        .post(&sync)
        .header("x-csrf-token", "guess")
        .body(empty.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403, "a wrong CSRF token");
    let cross = jar
        .post(&sync)
        .header("x-csrf-token", &csrf)
        .header("origin", "https://evil.example")
        .body(empty.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403, "another site's page");
    let fine = jar
        .post(&sync)
        .header("x-csrf-token", &csrf)
        .header("origin", server.url(""))
        .body(empty)
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 200);
    let logout = jar
        .post(server.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        logout.status(),
        403,
        "signing out by cookie needs the token too"
    );
    // A WebSocket from another site's page is refused before it opens.
    let token = server.sign_in("d.hughes", PASSWORD).await;
    assert_eq!(
        server
            .ws_status(
                &format!("/sync/{plan}?token={token}"),
                Some("https://evil.example")
            )
            .await,
        403
    );
}

#[tokio::test]
async fn failed_sign_ins_are_limited() {
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), true, |config| {
        config.sign_ins_per_account = 3;
    })
    .await;
    let http = reqwest::Client::new();
    let attempt = |password: &'static str| {
        http.post(server.url("/api/auth/login"))
            .json(&serde_json::json!({"username": "qsc.chair", "password": password}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(attempt("wrong-password").await.unwrap().status(), 401);
    }
    let limited = attempt(PASSWORD).await.unwrap();
    assert_eq!(limited.status(), 429, "even the right password waits");
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    // Unknown accounts get the same answer as wrong passwords.
    let unknown = http
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "nobody", "password": "whatever-it-is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        unknown.text().await.unwrap(),
        "the user name or password is not right"
    );
    assert!(server.metric("failed_sign_ins_total").await >= 5.0);
}

#[tokio::test]
async fn every_accepted_update_is_in_the_audit_trail() {
    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut owner = client(&server, &token, &plan).await;
    owner
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let mut txn = doc.transact_mut();
            plan.set_action_field(
                &mut txn,
                &action.id,
                &ActionField::Confidence(Some(plait_shared::Confidence::OffTrack)),
            )
            .unwrap();
            plan.set_action_field(
                &mut txn,
                &action.id,
                &ActionField::Owner(Some(user("board"))),
            )
            .unwrap();
        })
        .await;
    settled(&mut owner, 1).await;
    let history: serde_json::Value = server
        .get(&format!("/api/docs/{plan}/history?action={}", action.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = history["records"].as_array().unwrap();
    let record = &records[0];
    assert_eq!(record["user"], "d.hughes");
    assert_eq!(record["device"], "unknown device");
    assert!(record["at"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(!record["session"].as_str().unwrap().is_empty());
    let typed: plait_shared::api::AuditRecord = serde_json::from_value(record.clone()).unwrap();
    assert_eq!(
        typed.changes,
        [Change::Field(action.id.clone(), FieldKey::Confidence)]
    );
    assert_eq!(
        typed.refused[0].change,
        Change::Field(action.id.clone(), FieldKey::Owner)
    );
    // The session token is nowhere in the trail.
    assert!(!history.to_string().contains(&token));
    // History is for members of the programme only; viewers may read it.
    let board = server.sign_in("board", PASSWORD).await;
    let status = reqwest::Client::new()
        .get(server.url(&format!("/api/docs/{plan}/history")))
        .bearer_auth(&board)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    let server = TestServer::start_with_demo().await;
    for path in ["/", "/api/me", "/healthz"] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn the_demo_accounts_sign_in_with_their_roles() {
    let server = TestServer::start_with_demo().await;
    for (username, name, role) in plait_server::demo::ACCOUNTS {
        let response = reqwest::Client::new()
            .post(server.url("/api/auth/login"))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{username}");
        let me: serde_json::Value = response.json().await.unwrap();
        assert_eq!(me["name"], name);
        assert_eq!(me["programmes"][0]["id"], "demo");
        assert_eq!(me["programmes"][0]["role"], role.key());
    }
}

/// Login CSRF (issue 13): a page on another site can post a sign-in form
/// as `text/plain` without the browser asking first, signing the victim in
/// as the attacker. Only JSON from this site's own pages signs in.
#[tokio::test]
async fn a_sign_in_from_another_site_or_not_in_json_is_refused() {
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    let body = serde_json::json!({"username": "d.hughes", "password": PASSWORD}).to_string();
    let plain = http
        .post(server.url("/api/auth/login"))
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);
    assert!(plain.headers().get("set-cookie").is_none());
    let elsewhere = http
        .post(server.url("/api/auth/login"))
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 403);
    assert!(elsewhere.headers().get("set-cookie").is_none());
    // The same request from this site's own page signs in.
    let host = server.url("").trim_end_matches('/').to_owned();
    let here = http
        .post(server.url("/api/auth/login"))
        .header("content-type", "application/json; charset=utf-8")
        .header("origin", host)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(here.status(), 200);
    assert!(here.headers().get("set-cookie").is_some());
}

/// A burst of simultaneous guesses (issue 13): every attempt takes its
/// place in the limit before any password is checked, so 40 guesses at
/// once at one account get at most the limit's five answers, and the rest
/// wait.
#[tokio::test]
async fn simultaneous_guesses_at_one_account_are_limited_too() {
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    let guesses = (0..40).map(|i| {
        let http = http.clone();
        let url = server.url("/api/auth/login");
        async move {
            http.post(url)
                .json(
                    &serde_json::json!({"username": "qsc.chair", "password": format!("guess-{i}")}),
                )
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let verified = answers.iter().filter(|s| **s == 401).count();
    let limited = answers.iter().filter(|s| **s == 429).count();
    assert!(
        verified <= 5,
        "{verified} guesses were checked: {answers:?}"
    );
    assert_eq!(verified + limited, 40, "{answers:?}");
    // A success after the burst is refused too (the account waits), and a
    // success before it forgets the account's failures (covered above).
    let right = http
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "qsc.chair", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 429);
}

/// Bodies after sessions (issue 13): an anonymous upload is answered 401
/// from its headers, before any of its 25 MiB is read (the handlers' access
/// extractors run before their body is read).
#[tokio::test]
async fn an_anonymous_upload_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with_demo().await;
    let (plan, _) = owned_action(&server, "d.hughes").await;
    let hash = "a".repeat(64);
    for (method, path) in [
        ("PUT", format!("/api/blobs/{hash}?doc={plan}")),
        (
            "POST",
            "/api/programmes/demo/import?mode=preview".to_owned(),
        ),
        ("POST", format!("/api/docs/{plan}/sync")),
    ] {
        let mut tcp = tokio::net::TcpStream::connect(server.url("").trim_start_matches("http://"))
            .await
            .unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {}\r\n\r\n",
            25 * 1024 * 1024
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        // Not one byte of the body is sent: the answer must not wait for it.
        let mut answer = vec![0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer before the body"))
            .unwrap();
        let status = String::from_utf8_lossy(&answer[..read]).to_string();
        assert!(
            status.starts_with("HTTP/1.1 401"),
            "{method} {path}: {status}"
        );
    }
}

/// Behind a reverse proxy (issue 13): with `--trusted-proxy`, the sign-in
/// limit counts the client `X-Forwarded-For` names, so one person's
/// failures do not lock everyone out; and the failures at one account from
/// one address do not lock that account out for someone elsewhere.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit() {
    let server = TestServer::start(|config| {
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    server
        .state
        .accounts
        .add_user("ward.manager", "Ward Manager", "the-right-password", false)
        .unwrap();
    let http = reqwest::Client::new();
    let sign_in = |from: &'static str, password: &'static str| {
        let http = http.clone();
        let url = server.url("/api/auth/login");
        async move {
            http.post(url)
                .header("x-forwarded-for", format!("203.0.113.9, {from}"))
                .json(&serde_json::json!({"username": "ward.manager", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..5 {
        assert_eq!(sign_in("198.51.100.1", "a-wrong-guess").await, 401);
    }
    assert_eq!(sign_in("198.51.100.1", "the-right-password").await, 429);
    // The person, at their own ward's address, signs in.
    assert_eq!(sign_in("198.51.100.2", "the-right-password").await, 200);
    // Without the proxy trusted, the header is the client's own word and
    // counts for nothing: every attempt is the peer's.
    let direct = TestServer::start(|_| {}).await;
    direct
        .state
        .accounts
        .add_user("ward.manager", "Ward Manager", "the-right-password", false)
        .unwrap();
    for n in 0..6 {
        let status = http
            .post(direct.url("/api/auth/login"))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .json(&serde_json::json!({"username": "ward.manager", "password": "wrong"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, if n < 5 { 401 } else { 429 }, "attempt {n}");
    }
}

/// Timeouts (issue 13): half-sent headers, a connection idle after its
/// request, and an upload that stalls do not hold the connection open.
#[tokio::test]
async fn slow_or_stalled_requests_do_not_hold_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), true, |config| {
        config.header_read_timeout = Duration::from_secs(1);
        config.body_idle_timeout = Duration::from_secs(1);
    })
    .await;
    let address = server.url("").trim_start_matches("http://").to_owned();
    // Waits for the server to answer or close; what it sent, and how long.
    async fn ended(tcp: &mut tokio::net::TcpStream) -> (String, Duration) {
        let started = Instant::now();
        let mut got = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => got.extend_from_slice(&buffer[..n]),
                Err(_) => panic!("the connection is still open after 10 s"),
            }
        }
        (
            String::from_utf8_lossy(&got).into_owned(),
            started.elapsed(),
        )
    }
    // Headers that never finish.
    let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, after) = ended(&mut tcp).await;
    assert!(after < Duration::from_secs(5), "{after:?}");
    // A whole request, then nothing: the idle connection is closed.
    let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, after) = ended(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(after < Duration::from_secs(5), "{after:?}");
    // A signed-in upload that stalls after ten bytes of a thousand.
    let (plan, _) = owned_action(&server, "d.hughes").await;
    let token = server.sign_in("d.hughes", PASSWORD).await;
    let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "PUT /api/blobs/{}?doc={plan} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         X-Plait-No-Patient-Data: confirmed\r\nContent-Length: 1000\r\n\r\n0123456789",
        "a".repeat(64)
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let (answer, after) = ended(&mut tcp).await;
    assert!(after < Duration::from_secs(5), "{after:?}: {answer}");
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");
}

/// Bodies before sessions (issue 13): sign-in bodies, the only ones read
/// before a session is known, are read a few at a time; past the limit a
/// sign-in is refused at once (503) instead of holding more memory.
#[tokio::test]
async fn half_sent_sign_ins_cannot_pile_up() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), true, |config| {
        config.max_unauthenticated_bodies = 2;
    })
    .await;
    let address = server.url("").trim_start_matches("http://").to_owned();
    // Two sign-ins that announce a body and send half of it.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
        tcp.write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .unwrap();
        held.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let http = reqwest::Client::new();
    let refused = http
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "d.hughes", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    // Once they go, sign-ins are read again.
    drop(held);
    let mut status = 0;
    for _ in 0..50 {
        status = http
            .post(server.url("/api/auth/login"))
            .json(&serde_json::json!({"username": "d.hughes", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

/// A crowd of sign-ins (issue 13): passwords are hashed one per core, the
/// rest queue; the server's memory does not grow with the crowd.
#[tokio::test]
async fn a_crowd_of_sign_ins_is_hashed_a_few_at_a_time() {
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    let url = server.url("/api/auth/login");
    let attempts: Vec<_> = plait_server::demo::ACCOUNTS
        .iter()
        .flat_map(|(user, _, _)| (0..4).map(move |i| (*user, i)))
        .map(|(user, i)| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.post(url)
                    .json(&serde_json::json!({"username": user, "password": format!("wrong-{i}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .collect();
    let answers = futures_util::future::join_all(attempts).await;
    assert!(answers.iter().all(|s| *s == 401), "{answers:?}");
    let peak = server.metric("password_hashes_peak").await;
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    assert!(
        peak >= 1.0 && peak <= cores,
        "{peak} hashed at once on {cores} cores"
    );
}

/// Set-up (issue 14): the programme's admin invites someone new (an
/// account with a one-time password, answered once), who can do nothing
/// but choose their own password and sign out until they have; changes
/// and removes roles; cannot change their own; nobody else can do any of it.
#[tokio::test]
async fn the_programme_admin_invites_and_manages_members() {
    use plait_shared::api::{ChangePassword, CreatedAccount, Invite, Me, SetRole};
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    let admin = server.sign_in("programme.office", PASSWORD).await;
    let lead = server.sign_in("chief.nurse", PASSWORD).await;
    let invite = Invite {
        name: "Zara Quinn".into(),
        username: "zara.quinn".into(),
        role: Role::Validator,
        email: Some("Zara.Quinn@nhs.net".into()),
    };
    let send_invite = |token: &str| {
        http.post(server.url("/api/programmes/demo/members"))
            .bearer_auth(token)
            .json(&invite)
            .send()
    };
    assert_eq!(send_invite(&lead).await.unwrap().status(), 403);
    let answer = send_invite(&admin).await.unwrap();
    assert_eq!(answer.status(), 201);
    let created: CreatedAccount = answer.json().await.unwrap();
    assert_eq!(created.username.as_str(), "zara.quinn");
    assert_eq!(
        send_invite(&admin).await.unwrap().status(),
        409,
        "once only"
    );
    // The one-time password signs in, and the account must choose its own.
    let zara = server.sign_in("zara.quinn", &created.password).await;
    let me: Me = server.get_json("/api/me", &zara).await;
    assert!(me.must_change_password);
    assert_eq!(me.role_in("demo"), Some(Role::Validator));
    let doc = http
        .get(server.url("/api/docs/demo"))
        .bearer_auth(&zara)
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 403, "no document before their own password");
    assert_eq!(
        server
            .ws_status(&format!("/sync/demo?token={zara}"), None)
            .await,
        403,
        "nor a socket"
    );
    let change = |current: &str, new: &str| {
        http.post(server.url("/api/me/password"))
            .bearer_auth(&zara)
            .json(&ChangePassword {
                current: current.into(),
                new: new.into(),
            })
            .send()
    };
    assert_eq!(
        change("wrong", "zara's own password")
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        change(&created.password, "short").await.unwrap().status(),
        400
    );
    let changed = change(&created.password, "zara's own password")
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert!(!changed.json::<Me>().await.unwrap().must_change_password);
    // The same session goes on, now with the documents.
    let doc = http
        .get(server.url("/api/docs/demo"))
        .bearer_auth(&zara)
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    server.sign_in("zara.quinn", "zara's own password").await;
    // Roles: changed, refused for oneself and for non-admins, removed.
    let set = |token: &str, user: &str, role: Option<Role>| {
        http.put(server.url(&format!("/api/programmes/demo/members/{user}")))
            .bearer_auth(token)
            .json(&SetRole { role })
            .send()
    };
    assert_eq!(
        set(&admin, "zara.quinn", Some(Role::Approver))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        set(&lead, "zara.quinn", Some(Role::Admin))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        set(&admin, "programme.office", None)
            .await
            .unwrap()
            .status(),
        400,
        "not one's own role"
    );
    assert_eq!(
        set(&admin, "nobody.here", Some(Role::Viewer))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(set(&admin, "zara.quinn", None).await.unwrap().status(), 200);
    let members: Vec<plait_shared::api::Member> = server
        .get_json("/api/programmes/demo/members", &admin)
        .await;
    assert!(members.iter().all(|m| m.username.as_str() != "zara.quinn"));
}

/// Assurance that means something (issue 15), against the real server: on
/// an action proposed complete with evidence, a validator's "evidence
/// accepted" with no accepted verdict is refused with the reason; through
/// the workflow, a verdict with an assurance level, it is kept, the level
/// recorded in the verdict. (The re-audit window and the last check's
/// pass are the rules' unit tests and the browser journey's.)
#[tokio::test]
async fn evidence_is_accepted_only_with_a_verdict_and_an_assurance_level() {
    use plait_shared::workflow::{review_evidence, Who};
    let server = TestServer::start_with_demo().await;
    // One of the demo's actions proposed complete and endorsed by its
    // executive lead (evidence attached, not yet reviewed).
    let mut target = None;
    for plan in plan_ids(&server).await {
        let doc = fetch(&server, &plan).await;
        let view = PlanDoc::new(doc.clone()).read(&doc.transact());
        if let Some(action) = view
            .actions
            .values()
            .find(|a| a.status() == Status::Endorsed && a.owner != Some(user("compliance")))
        {
            target = Some((plan, action.clone()));
            break;
        }
    }
    let (plan, action) = target.expect("an action proposed complete and endorsed");
    let token = server.sign_in("compliance", PASSWORD).await;
    let mut validator = client(&server, &token, &plan).await;
    // The generic button: a transition with nothing behind it.
    validator
        .edit(|doc| {
            PlanDoc::new(doc.clone())
                .append(
                    &mut doc.transact_mut(),
                    &action.id,
                    &LogEntry::Transition(Transition {
                        to: Status::EvidenceAccepted,
                        by: user("compliance"),
                        role: Role::Validator,
                        at: now(),
                        note: String::new(),
                        baseline: false,
                    }),
                )
                .unwrap();
        })
        .await;
    settled(&mut validator, 1).await;
    let reason = refusal(&validator, 0);
    assert!(reason.contains("accepted verdict"), "{reason}");
    assert_eq!(
        server_action(&server, &plan, &action.id).await.status(),
        Status::Endorsed
    );
    // Through the workflow, with a level: kept.
    let evidence = action.evidence[0].id.clone();
    let mut validator = client(&server, &token, &plan).await;
    validator
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let me = user("compliance");
            review_evidence(
                &plan,
                &mut doc.transact_mut(),
                &action.id,
                &Who {
                    user: &me,
                    role: Role::Validator,
                    at: now(),
                },
                &evidence,
                EvidenceVerdict::Accepted,
                "Seen on the ward",
                true,
                Some(plait_shared::Assurance::Limited),
                &plait_shared::Governance::DEFAULT,
                5,
            )
            .unwrap();
        })
        .await;
    settled(&mut validator, 0).await;
    assert!(validator.seen.lock().unwrap().refused.is_empty());
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.status(), Status::EvidenceAccepted);
    assert_eq!(kept.assurance, Some(plait_shared::Assurance::Limited));
    assert_eq!(
        kept.evidence_reviews.last().unwrap().assurance,
        Some(plait_shared::Assurance::Limited)
    );
}

/// Executive-lead portfolios (issue 15), against the real server: a lead
/// answers due-date requests only on the actions they lead; another lead's
/// answer is refused with the reason; nor can a lead move an action into
/// their portfolio (only the programme manager sets an action's executive
/// lead).
#[tokio::test]
async fn a_lead_acts_only_in_their_own_portfolio() {
    use plait_shared::workflow::{answer_due_change, Who};
    use plait_shared::DueChangeVerdict;
    let server = TestServer::start_with_demo().await;
    let mut target = None;
    for plan in plan_ids(&server).await {
        let doc = fetch(&server, &plan).await;
        let view = PlanDoc::new(doc.clone()).read(&doc.transact());
        if let Some(action) = view.actions.values().find(|a| {
            a.exec_lead == "chief.nurse" && a.due_requests.iter().any(|r| r.answer.is_none())
        }) {
            target = Some((plan, action.clone()));
            break;
        }
    }
    let (plan, action) = target.expect("a request waiting on a Chief Nurse action");
    let request = action
        .due_requests
        .iter()
        .find(|r| r.answer.is_none())
        .unwrap()
        .id
        .clone();
    let answer = |lead: &'static str| {
        let (plan, action, request) = (plan.clone(), action.clone(), request.clone());
        let server = &server;
        async move {
            let token = server.sign_in(lead, PASSWORD).await;
            let mut device = client(server, &token, &plan).await;
            device
                .edit(|doc| {
                    let me = user(lead);
                    answer_due_change(
                        &PlanDoc::new(doc.clone()),
                        &mut doc.transact_mut(),
                        &action.id,
                        &Who {
                            user: &me,
                            role: Role::Lead,
                            at: now(),
                        },
                        &request,
                        DueChangeVerdict::Approved,
                        "",
                        3,
                    )
                    .unwrap();
                })
                .await;
            device
        }
    };
    let mut other = answer("director.of.people").await;
    settled(&mut other, 1).await;
    let reason = refusal(&other, 0);
    assert!(reason.contains("not in your portfolio"), "{reason}");
    // Nor can that lead take the action over.
    other
        .edit(|doc| {
            PlanDoc::new(doc.clone())
                .set_action_field(
                    &mut doc.transact_mut(),
                    &action.id,
                    &ActionField::ExecLead("director.of.people".into()),
                )
                .unwrap();
        })
        .await;
    settled(&mut other, 2).await;
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.exec_lead, "chief.nurse");
    assert!(kept
        .due_requests
        .iter()
        .find(|r| r.id == request)
        .unwrap()
        .answer
        .is_none());
    // Their own lead answers, and it is kept.
    let mut own = answer("chief.nurse").await;
    settled(&mut own, 0).await;
    assert!(own.seen.lock().unwrap().refused.is_empty());
    let kept = server_action(&server, &plan, &action.id).await;
    assert!(kept
        .due_requests
        .iter()
        .find(|r| r.id == request)
        .unwrap()
        .answer
        .is_some());
}

/// A hostile viewer against what this session added (issues 14 and 15):
/// a forum written into the programme, a reported colour and an accepting
/// verdict with an assurance level written into a plan, and the new
/// endpoints (a plan, a member, an invitation, a programme, an import) are
/// all refused, and nothing changes.
#[tokio::test]
async fn a_viewer_gets_past_none_of_the_new_set_up_and_assurance() {
    let server = TestServer::start_with_demo().await;
    let board = server.sign_in("board", PASSWORD).await;
    // What the programme holds (a refused change is kept only as a
    // tombstone, so its sender converges: compare what it says).
    let read = || async {
        let doc = fetch(&server, "demo").await;
        let view = plait_shared::ProgrammeDoc::new(doc.clone()).read(&doc.transact());
        view
    };
    let before = read().await;
    let mut programme = client(&server, &board, "demo").await;
    programme
        .edit(|doc| {
            plait_shared::ProgrammeDoc::new(doc.clone()).put_forum(
                &mut doc.transact_mut(),
                &plait_shared::ForumId::new("forum-evil").unwrap(),
                &plait_shared::Forum {
                    name: "Board's own forum".into(),
                    ..plait_shared::Forum::default()
                },
            );
        })
        .await;
    settled(&mut programme, 1).await;
    assert_eq!(read().await, before);
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let mut device = client(&server, &board, &plan).await;
    device
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let mut txn = doc.transact_mut();
            plan.set_action_field(
                &mut txn,
                &action.id,
                &ActionField::ReportedColour(Some(plait_shared::Colour::Blue)),
            )
            .unwrap();
        })
        .await;
    settled(&mut device, 1).await;
    assert!(
        refusal(&device, 0).contains("viewers"),
        "{}",
        refusal(&device, 0)
    );
    let kept = server_action(&server, &plan, &action.id).await;
    assert_eq!(kept.reported_colour, action.reported_colour);
    assert_eq!(kept.evidence_reviews, action.evidence_reviews);
    // The endpoints.
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        http.request(method, server.url(path))
            .bearer_auth(&board)
            .json(&body)
            .send()
    };
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            "/api/programmes/demo/plans",
            serde_json::json!({"title": "Evil"}),
        ),
        (
            reqwest::Method::PUT,
            "/api/programmes/demo/members/board",
            serde_json::json!({"role": "admin"}),
        ),
        (
            reqwest::Method::PUT,
            "/api/programmes/demo/members/d.hughes",
            serde_json::json!({"role": null}),
        ),
        (
            reqwest::Method::POST,
            "/api/programmes/demo/members",
            serde_json::json!({"name": "Evil", "username": "evil", "role": "admin"}),
        ),
        (
            reqwest::Method::POST,
            "/api/programmes",
            serde_json::json!({"id": "evil", "name": "Evil"}),
        ),
    ] {
        let status = send(method.clone(), path, body).await.unwrap().status();
        assert_eq!(status, 403, "{method} {path}");
    }
    let import = http
        .post(server.url("/api/programmes/demo/import?format=csv&mode=import"))
        .bearer_auth(&board)
        .body("Ref,Type,CQC requirement,Trust action,Workstream\nEV1,Must Do,x,y,Estates\n")
        .send()
        .await
        .unwrap();
    assert_eq!(import.status(), 403);
    let me: plait_shared::api::Me = server.get_json("/api/me", &board).await;
    assert_eq!(me.role_in("demo"), Some(Role::Viewer));
    let members: Vec<plait_shared::api::Member> = server
        .get_json("/api/programmes/demo/members", &board)
        .await;
    assert!(members.iter().any(|m| m.username.as_str() == "d.hughes"));
    assert!(members.iter().all(|m| m.username.as_str() != "evil"));
    assert_eq!(read().await, before);
}

/// A validator's acceptance of `action`'s first piece of evidence, written
/// straight into the logs as a device could (a verdict with a level and
/// the status change), whatever the rules say of it.
pub(crate) fn accept_as_validator(doc: &Doc, action: &plait_shared::ActionView, salt: &str) {
    accept_evidence(
        doc,
        &action.id,
        &action.evidence[0].id,
        Some(plait_shared::Assurance::Reasonable),
        salt,
    );
}

/// The compliance lead's verdict accepting `evidence` (review `r-{salt}`)
/// and the move to "evidence accepted", in one transaction.
fn accept_evidence(
    doc: &Doc,
    action: &ActionId,
    evidence: &EntryId,
    assurance: Option<plait_shared::Assurance>,
    salt: &str,
) {
    let plan = PlanDoc::new(doc.clone());
    let mut txn = doc.transact_mut();
    plan.append(
        &mut txn,
        action,
        &LogEntry::EvidenceReview(EvidenceReview {
            id: EntryId::new(format!("r-{salt}")).unwrap(),
            evidence_id: evidence.clone(),
            verdict: EvidenceVerdict::Accepted,
            assurance,
            note: String::new(),
            by: user("compliance"),
            at: now(),
        }),
    )
    .unwrap();
    plan.append(
        &mut txn,
        action,
        &LogEntry::Transition(Transition {
            to: Status::EvidenceAccepted,
            by: user("compliance"),
            role: Role::Validator,
            at: now(),
            note: String::new(),
            baseline: false,
        }),
    )
    .unwrap();
}

/// The executive lead's endorsement against the real server (issue 15):
/// on a completion proposed and not yet endorsed, a validator's acceptance
/// (a verdict and the status change, as a device would write them) is
/// refused with the reason, and so is another executive's endorsement; the
/// action's own lead endorses. Once the programme manager switches
/// endorsement off in the programme's settings, the next acceptance on an
/// open connection is kept: the settings reach the rules of every
/// connection from the programme's next update on.
#[tokio::test]
async fn endorsement_follows_the_programmes_setting_on_open_connections() {
    use plait_shared::{Governance, ProgrammeDoc};
    let server = TestServer::start_with_demo().await;
    let mut proposed = Vec::new();
    for plan in plan_ids(&server).await {
        let doc = fetch(&server, &plan).await;
        let view = PlanDoc::new(doc.clone()).read(&doc.transact());
        for a in view.actions.values() {
            if a.status() == Status::CompletionProposed
                && a.owner != Some(user("compliance"))
                && a.exec_lead != "director.of.people"
            {
                proposed.push((plan.clone(), a.clone()));
            }
        }
    }
    assert!(
        proposed.len() >= 2,
        "the demo has completions awaiting endorsement"
    );
    let (plan, first) = proposed[0].clone();
    let validator_token = server.sign_in("compliance", PASSWORD).await;
    let mut validator = client(&server, &validator_token, &plan).await;
    validator
        .edit(|doc| accept_as_validator(doc, &first, "one"))
        .await;
    settled(&mut validator, 1).await;
    let reason = refusal(&validator, 0);
    assert!(reason.contains("endorses the completion"), "{reason}");
    assert_eq!(
        server_action(&server, &plan, &first.id).await.status(),
        Status::CompletionProposed
    );
    // Another executive's endorsement is outside their portfolio.
    let other_token = server.sign_in("director.of.people", PASSWORD).await;
    let mut other = client(&server, &other_token, &plan).await;
    let endorse = |by: &'static str| {
        let id = first.id.clone();
        move |doc: &Doc| {
            PlanDoc::new(doc.clone())
                .append(
                    &mut doc.transact_mut(),
                    &id,
                    &LogEntry::Transition(Transition {
                        to: Status::Endorsed,
                        by: user(by),
                        role: Role::Lead,
                        at: now(),
                        note: String::new(),
                        baseline: false,
                    }),
                )
                .unwrap();
        }
    };
    other.edit(endorse("director.of.people")).await;
    settled(&mut other, 1).await;
    assert!(refusal(&other, 0).contains("not in your portfolio"));
    // Its own lead endorses.
    let lead: &'static str = Box::leak(first.exec_lead.clone().into_boxed_str());
    let lead_token = server.sign_in(lead, PASSWORD).await;
    let mut own = client(&server, &lead_token, &plan).await;
    own.edit(endorse(lead)).await;
    settled(&mut own, 0).await;
    assert!(own.seen.lock().unwrap().refused.is_empty());
    assert_eq!(
        server_action(&server, &plan, &first.id).await.status(),
        Status::Endorsed
    );
    // The programme manager switches endorsement off.
    let admin_token = server.sign_in("programme.office", PASSWORD).await;
    let mut admin = client(&server, &admin_token, "demo").await;
    admin
        .edit(|doc| {
            let programme = ProgrammeDoc::new(doc.clone());
            let rules = Governance {
                endorsement: false,
                ..programme.governance(&doc.transact())
            };
            programme
                .set_governance(&mut doc.transact_mut(), &rules)
                .unwrap();
        })
        .await;
    settled(&mut admin, 0).await;
    // The validator's connection, open since before: the next acceptance,
    // on another completion that nobody endorsed, is kept.
    // (On the same plan where the demo has one, so on the same connection.)
    let (plan2, second) = proposed
        .iter()
        .filter(|(_, a)| a.id != first.id)
        .min_by_key(|(p, _)| *p != plan)
        .cloned()
        .unwrap();
    let mut validator = if plan2 == plan {
        validator
    } else {
        client(&server, &validator_token, &plan2).await
    };
    let before = validator.seen.lock().unwrap().refused.len();
    validator
        .edit(|doc| accept_as_validator(doc, &second, "two"))
        .await;
    settled(&mut validator, before).await;
    assert_eq!(validator.seen.lock().unwrap().refused.len(), before);
    assert_eq!(
        server_action(&server, &plan2, &second.id).await.status(),
        Status::EvidenceAccepted
    );
}
