//! Running Plait for a trust: a backup taken while the server serves and
//! restored elsewhere identical; a store written by the previous release
//! (tests/fixtures/store-format-1) upgraded on a copy and switched in, a
//! newer store refused; `plait check` naming deliberately damaged records,
//! and the server serving the rest while one document is damaged.

use std::sync::Arc;

use plait_server::backup::Backup;
use plait_server::check::check;
use plait_server::control::{execute, Command, Reply};
use plait_server::format::{self, FormatError, CURRENT};
use plait_server::kv::{collect, Storage};
use plait_server::migrate::state_of;
use plait_server::store::{SledStore, AUDIT_TREE};
use plait_server::DocStore;
use plait_shared::DocId;

use crate::support::{open_store, push, SyncClient, TestServer};

fn fixture() -> std::path::PathBuf {
    crate::ywebsocket::repo_root().join("tests/fixtures/store-format-1/data")
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    plait_server::format::copy_dir(from, to).unwrap();
}

/// Every document (state, sequence numbers, claims) and every tree entry
/// of `a` equal in `b`, trees named in `except` aside.
fn assert_same(a: &dyn Storage, b: &dyn Storage, except: &[&str]) {
    let ids = a.doc_ids().unwrap();
    assert_eq!(ids, b.doc_ids().unwrap(), "the same documents");
    for id in &ids {
        let (x, y) = (a.load(id).unwrap().unwrap(), b.load(id).unwrap().unwrap());
        assert_eq!(
            state_of(id.as_str(), &x).unwrap(),
            state_of(id.as_str(), &y).unwrap(),
            "{id}'s state"
        );
        assert_eq!(x.next_seq(), y.next_seq(), "{id}'s sequence numbers");
        assert_eq!(
            a.writers(id).unwrap(),
            b.writers(id).unwrap(),
            "{id}'s writers"
        );
    }
    for name in a.tree_names().unwrap() {
        if except.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(
            collect(&*a.tree(&name).unwrap(), b"").unwrap(),
            collect(&*b.tree(&name).unwrap(), b"").unwrap(),
            "the tree {name}"
        );
    }
}

/// Trees a backup leaves out (the format is the manifest's).
const NOT_BACKED_UP: [&str; 2] = ["plait_meta", "sso_pending"];

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_serving_restores_elsewhere_identical() {
    let server = TestServer::start_with_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plait-backup.zip");

    // While a member writes, durably, one update after another.
    let mut writer = SyncClient::connect(&server, "ops-notes", true).await;
    writer.synced().await;
    for n in 0..20 {
        writer
            .edit(|doc| push(doc, "t", &format!("before {n}. ")))
            .await;
    }
    writer.all_durable().await;
    let acknowledged = crate::support::text(&writer.doc, "t");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writing = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                writer
                    .edit(|doc| push(doc, "t", &format!("during {n}. ")))
                    .await;
                writer.all_durable().await;
                n += 1;
            }
            writer
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // As `plait backup FILE` does through the control socket.
    let reply = execute(
        &server.state,
        Command::Backup {
            file: file.display().to_string(),
            sessions: true,
        },
    )
    .await;
    assert!(matches!(reply, Reply::Done(_)), "{reply:?}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writer = writing.await.unwrap();

    // Restored elsewhere: every update acknowledged before the backup is
    // there, and the copy reads clean.
    let elsewhere = tempfile::tempdir().unwrap();
    let restored = SledStore::open(elsewhere.path()).unwrap();
    let mut backup = Backup::open(&file).unwrap();
    let summary = backup.restore(&restored).unwrap();
    assert!(summary.documents >= 10, "{summary}");
    let id = DocId::new("ops-notes").unwrap();
    let stored = restored.load(&id).unwrap().unwrap();
    let doc = plait_shared::new_doc();
    {
        use yrs::updates::decoder::Decode;
        use yrs::Transact;
        let mut txn = doc.transact_mut();
        // The snapshot too: the writer's hundreds of updates may have been
        // compacted.
        let snapshot = stored.snapshot.into_iter().map(|(_, state)| state);
        for update in snapshot.chain(stored.updates.into_iter().map(|(_, u)| u)) {
            txn.apply_update(yrs::Update::decode_v1(&update).unwrap())
                .unwrap();
        }
    }
    let copied = crate::support::text(&doc, "t");
    assert!(
        copied.starts_with(&acknowledged),
        "every update acknowledged before the backup is in it: acknowledged {acknowledged:?}, copied {copied:?}"
    );
    let report = check(&restored).unwrap();
    assert!(report.damaged.is_empty(), "{report}");
    assert_eq!(format::version_of(&restored).unwrap(), Some(CURRENT));
    drop(writer);

    // Quiet now: a second backup restores identical to the server's store.
    let file = dir.path().join("quiet.zip");
    plait_server::backup::write(&*server.state.storage, &file, true).unwrap();
    let again = tempfile::tempdir().unwrap();
    let copy = SledStore::open(again.path()).unwrap();
    Backup::open(&file).unwrap().restore(&copy).unwrap();
    assert_same(&*server.state.storage, &copy, &NOT_BACKED_UP);

    // Never over a store that holds data.
    let refused = Backup::open(&file).unwrap().restore(&copy);
    assert!(
        matches!(refused, Err(plait_server::backup::BackupError::NotEmpty(_))),
        "{refused:?}"
    );

    // A damaged backup file is refused whole, nothing written.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let damaged = dir.path().join("damaged.zip");
    std::fs::write(&damaged, bytes).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let store = SledStore::open(empty.path()).unwrap();
    let result = Backup::open(&damaged).and_then(|mut b| b.restore(&store));
    assert!(result.is_err(), "a damaged backup restores: {result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_written_by_the_previous_release_is_upgraded_on_a_copy_and_a_newer_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&fixture(), &data);
    {
        let before = SledStore::open(&data).unwrap();
        assert_eq!(
            format::found(&before).unwrap(),
            Some(1),
            "the fixture is in format 1"
        );
    }
    let (store, upgraded) = format::open_sled(&data).unwrap();
    let upgraded = upgraded.expect("upgraded");
    assert_eq!((upgraded.from, upgraded.to), (1, CURRENT));
    let kept = upgraded.kept.expect("the original kept");
    assert_eq!(kept, dir.path().join("data.format-1"));
    assert_eq!(format::version_of(&store).unwrap(), Some(CURRENT));
    assert!(!dir.path().join("data.upgrading").exists());
    {
        // The original is as it was.
        let original = SledStore::open(&kept).unwrap();
        assert_eq!(format::version_of(&original).unwrap(), None);
        assert_same(&original, &store, &NOT_BACKED_UP);
    }
    let report = check(&store).unwrap();
    assert!(report.damaged.is_empty(), "{report}");

    // It serves: the demo's people sign in and read the programme's plans.
    let server = TestServer::start_on(Arc::new(store), dir, false, |_| {}).await;
    let token = server
        .sign_in("d.hughes", plait_server::demo::PASSWORD)
        .await;
    let programmes: Vec<plait_shared::api::ProgrammeSummary> =
        server.get_json("/api/programmes", &token).await;
    assert!(programmes.iter().any(|p| p.id.as_str() == "demo"));
    let mut actions = 0;
    for plan in server.state.storage.doc_ids().unwrap() {
        let response = reqwest::Client::new()
            .get(server.url(&format!("/api/docs/{plan}")))
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{plan}");
        let bytes = response.bytes().await.unwrap();
        let doc = plait_shared::new_doc();
        {
            use yrs::updates::decoder::Decode;
            use yrs::Transact;
            doc.transact_mut()
                .apply_update(yrs::Update::decode_v1(&bytes).unwrap())
                .unwrap();
        }
        let plan = plait_shared::PlanDoc::new(doc.clone());
        actions += plan.read(&yrs::Transact::transact(&doc)).actions.len();
    }
    assert_eq!(actions, 338, "every action of the bundled tracker");
    let data_dir = server.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Opened again: nothing to do.
    let (_, again) = format::open_sled(&data_dir.path().join("data")).unwrap();
    assert_eq!(again, None);
    // A store newer than this Plait is refused, and left as it was.
    let newer = tempfile::tempdir().unwrap();
    {
        let store = open_store(newer.path()).await;
        format::stamp(&store, CURRENT + 1).unwrap();
        DocStore::flush(&store).unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    match format::open_sled(newer.path()) {
        Err(FormatError::Newer { found, .. }) => assert_eq!(found, CURRENT + 1),
        Err(other) => panic!("refused, but not as newer: {other}"),
        Ok(_) => panic!("a newer store was opened"),
    }
    let store = open_store(newer.path()).await;
    assert_eq!(format::version_of(&store).unwrap(), Some(CURRENT + 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn plait_check_names_damaged_records_and_the_server_serves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let plans;
    {
        let store = open_store(dir.path()).await;
        let accounts = plait_server::Accounts::open(&store, Default::default()).unwrap();
        plait_server::demo::seed(&store, &accounts).unwrap();
        assert!(check(&store).unwrap().damaged.is_empty());
        plans = store.doc_ids().unwrap();
        // A log entry overwritten with bytes that are no update, an audit
        // record that is no record, an evidence file whose bytes changed.
        let damaged = &plans[1];
        let mut key = damaged.as_str().as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(&0u64.to_be_bytes());
        store
            .db()
            .open_tree("log")
            .unwrap()
            .insert(key, &b"not an update"[..])
            .unwrap();
        store
            .db()
            .open_tree(AUDIT_TREE)
            .unwrap()
            .insert(b"record-0042", &b"{\"half\": "[..])
            .unwrap();
        let hash = plait_server::blobs::hash_of(b"the evidence");
        store
            .db()
            .open_tree("blobs")
            .unwrap()
            .insert(hash.as_bytes(), &b"other bytes"[..])
            .unwrap();
        DocStore::flush(&store).unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let store = open_store(dir.path()).await;
    let report = check(&store).unwrap();
    let said = report.to_string();
    let damaged = &plans[1];
    assert!(
        said.contains(&format!(
            "document {damaged}, log entry 0: is not an update"
        )),
        "{said}"
    );
    assert!(said.contains("audit record record-0042"), "{said}");
    assert!(
        said.contains(&format!(
            "evidence file {}: its content does not match its checksum",
            plait_server::blobs::hash_of(b"the evidence")
        )),
        "{said}"
    );
    assert!(said.contains("has no metadata"), "{said}");
    assert_eq!(report.damaged.len(), 4, "{said}");

    // The server: the damaged document fails alone; the others serve.
    let server = TestServer::start_on(Arc::new(store), dir, false, |_| {}).await;
    let get = |plan: &DocId| {
        reqwest::Client::new()
            .get(server.url(&format!("/api/docs/{plan}")))
            .bearer_auth(&server.token)
            .send()
    };
    let broken = get(damaged).await.unwrap();
    assert!(broken.status().is_server_error(), "{}", broken.status());
    for plan in plans.iter().filter(|p| *p != damaged) {
        assert_eq!(get(plan).await.unwrap().status(), 200, "{plan}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_programme_is_read_only_for_everyone_and_its_archive_is_one_file() {
    use crate::access::{client, now, owned_action, server_action, PASSWORD};
    use crate::attacks::{append, progress};
    use std::io::Read;

    let server = TestServer::start_with_demo().await;
    let (plan, action) = owned_action(&server, "d.hughes").await;
    let owner = server.sign_in("d.hughes", PASSWORD).await;
    let mut member = client(&server, &owner, &plan).await;
    let before = server_action(&server, &plan, &action.id)
        .await
        .updates
        .len();

    // Its admin closes it (a contributor cannot).
    let office = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = office
        .post(server.url("/api/auth/login"))
        .header("origin", server.url(""))
        .json(&serde_json::json!({"username": "programme.office", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let csrf = login.json::<serde_json::Value>().await.unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
    let close = |client: &reqwest::Client, csrf: &str| {
        client
            .post(server.url("/api/programmes/demo/close"))
            .header("origin", server.url(""))
            .header("x-csrf-token", csrf)
            .send()
    };
    let contributor = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let theirs = contributor
        .post(server.url("/api/auth/login"))
        .header("origin", server.url(""))
        .json(&serde_json::json!({"username": "d.hughes", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let refused = close(&contributor, theirs["csrf"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(close(&office, &csrf).await.unwrap().status(), 204);
    assert_eq!(
        close(&office, &csrf).await.unwrap().status(),
        409,
        "closed already"
    );

    // The member's connection was closed; reconnected, their note is
    // refused, and the plan is as it was.
    member.closed().await;
    let mut member = client(&server, &owner, &plan).await;
    member
        .edit(|doc| {
            append(
                doc,
                &action.id,
                progress("after-close", "Too late", "d.hughes", now()),
            )
        })
        .await;
    member.all_durable().await;
    assert!(
        !member.seen.lock().unwrap().refused.is_empty(),
        "a note on a closed programme is refused"
    );
    assert_eq!(
        server_action(&server, &plan, &action.id)
            .await
            .updates
            .len(),
        before
    );
    // Nothing of it is administered any more.
    let invite = office
        .post(server.url("/api/programmes/demo/members"))
        .header("origin", server.url(""))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"username": "late.joiner", "name": "Late Joiner", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invite.status(), 409);
    // Its admin's hostile device (the npm yjs client, writing around the
    // model) cannot change it either.
    let mut device =
        crate::attacks::Device::connect(&server, "programme.office", "demo", None).await;
    let answers = device
        .attack(
            "setRootField",
            serde_json::json!({ "root": "programme", "key": "name", "value": "Reopened by hand" }),
        )
        .await;
    crate::attacks::assert_refused_in_part(&answers[0], "only the programme's admin");

    // The archive: one ZIP with the tracker, the audit trail (the closing
    // in it) and every document.
    let archive = office
        .get(server.url("/api/programmes/demo/archive"))
        .send()
        .await
        .unwrap();
    assert_eq!(archive.status(), 200);
    let bytes = archive.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    assert!(read("README.txt").contains("Closed and archived (read-only)"));
    let trail = read("audit-trail.csv");
    assert!(
        trail.contains("programme closed and archived (read-only)"),
        "{trail}"
    );
    assert!(trail.contains("programme.office"));
    let tracker = read("master-tracker.csv");
    assert_eq!(
        tracker.lines().count() - 1,
        338,
        "every action of the tracker (one line each, under the headers)"
    );
    let documents = (0..zip.len())
        .filter(|i| zip.by_index(*i).unwrap().name().starts_with("documents/"))
        .count();
    assert_eq!(documents, server.state.storage.doc_ids().unwrap().len());
    // A contributor cannot take it.
    let theirs = contributor
        .get(server.url("/api/programmes/demo/archive"))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 403);
}
