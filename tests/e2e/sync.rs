//! The sync server against real WebSocket clients: convergence, offline
//! catch-up by diff, durability across restarts, HTTP sync, compaction, idle
//! unload, slow clients, bad input and graceful shutdown.

use std::time::Duration;

use plait_shared::DocId;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact, Update};

use crate::support::{push, text, SyncClient, TestServer, PATIENCE};

#[tokio::test]
async fn two_clients_converge() {
    let server = TestServer::start(|_| {}).await;
    let mut a = SyncClient::connect(&server, "plan-a", false).await;
    let mut b = SyncClient::connect(&server, "plan-a", false).await;
    a.synced().await;
    b.synced().await;
    a.edit(|doc| push(doc, "t", "Ward 3 door closers fixed. "))
        .await;
    b.edit(|doc| push(doc, "t", "Audit booked.")).await;
    a.until("b's edit", |doc, _| text(doc, "t").len() > 30)
        .await;
    b.until("a's edit", |doc, _| text(doc, "t").len() > 30)
        .await;
    assert_eq!(text(&a.doc, "t"), text(&b.doc, "t"));
    assert!(text(&a.doc, "t").contains("door closers") && text(&a.doc, "t").contains("Audit"));
}

#[tokio::test]
async fn an_offline_client_receives_only_the_diff() {
    let server = TestServer::start(|_| {}).await;
    let mut writer = SyncClient::connect(&server, "big", true).await;
    writer.synced().await;
    // A sizeable document: 200 paragraphs.
    for i in 0..200 {
        writer
            .edit(|doc| {
                push(
                    doc,
                    "t",
                    &format!("Paragraph {i}: the ward's fire doors were checked. "),
                )
            })
            .await;
    }
    writer.all_durable().await;
    let full = writer
        .doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default())
        .len();

    let mut reader = SyncClient::connect(&server, "big", false).await;
    reader
        .until("the whole document", |doc, _| {
            text(doc, "t") == text(&writer.doc, "t")
        })
        .await;
    let offline_doc = reader.doc.clone();
    let offline_sv = offline_doc.transact().state_vector();
    reader.close().await;

    writer.edit(|doc| push(doc, "t", "One more line.")).await;
    writer.all_durable().await;
    let expected = writer
        .doc
        .transact()
        .encode_state_as_update_v1(&offline_sv)
        .len();

    let mut back = SyncClient::connect_with(&server, "big", false, offline_doc).await;
    back.synced().await;
    back.until("the missing line", |doc, _| {
        text(doc, "t").ends_with("One more line.")
    })
    .await;
    let received = back.seen.lock().unwrap().step2_sizes[0];
    assert_eq!(received, expected, "the catch-up is exactly the diff");
    assert!(
        received * 20 < full,
        "diff {received} bytes vs whole document {full} bytes"
    );
}

#[tokio::test]
async fn a_restart_keeps_everything_acknowledged() {
    let server = TestServer::start(|_| {}).await;
    let mut client = SyncClient::connect(&server, "kept", true).await;
    client.synced().await;
    for i in 0..50 {
        client.edit(|doc| push(doc, "t", &format!("{i},"))).await;
    }
    client.all_durable().await;
    let before = text(&client.doc, "t");
    client.close().await;
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, false, |_| {}).await;
    let mut again = SyncClient::connect(&server, "kept", false).await;
    again.synced().await;
    assert_eq!(text(&again.doc, "t"), before);
}

fn sync_request(sv: &StateVector, update: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.write_buf(sv.encode_v1());
    body.write_buf(update);
    body
}

fn sync_answer(body: &[u8]) -> (Vec<u8>, StateVector) {
    let mut cursor = Cursor::new(body);
    let diff = cursor.read_buf().unwrap().to_vec();
    let sv = StateVector::decode_v1(cursor.read_buf().unwrap()).unwrap();
    (diff, sv)
}

#[tokio::test]
async fn http_sync_is_one_idempotent_round_trip() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = SyncClient::connect(&server, "http-doc", false).await;
    ws.synced().await;
    ws.edit(|doc| push(doc, "t", "from the websocket; ")).await;
    ws.until("its own edit to be echoed nowhere", |_, _| true)
        .await;

    let http_doc = plait_shared::new_doc();
    push(&http_doc, "t", "from behind a proxy");
    let update = http_doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let body = sync_request(&StateVector::default(), &update);
    let http = reqwest::Client::new();
    let url = server.url("/api/docs/http-doc/sync");
    let mut answers = Vec::new();
    for _ in 0..2 {
        // The second is a retry after a "lost" answer: harmless.
        let response = http
            .post(&url)
            .bearer_auth(&server.token)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        answers.push(response.bytes().await.unwrap());
    }
    let (diff, server_sv) = sync_answer(&answers[1]);
    http_doc
        .transact_mut()
        .apply_update(Update::decode_v1(&diff).unwrap())
        .unwrap();
    assert_eq!(http_doc.transact().state_vector(), server_sv);
    ws.until("the http client's edit", |doc, _| {
        text(doc, "t").contains("proxy")
    })
    .await;
    assert_eq!(text(&ws.doc, "t"), text(&http_doc, "t"));

    // Already durable: a restart keeps it.
    ws.close().await;
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, false, |_| {}).await;
    let response = server
        .post("/api/docs/http-doc/sync")
        .body(sync_request(&StateVector::default(), &[]))
        .send()
        .await
        .unwrap();
    let (diff, _) = sync_answer(&response.bytes().await.unwrap());
    let fresh = plait_shared::new_doc();
    fresh
        .transact_mut()
        .apply_update(Update::decode_v1(&diff).unwrap())
        .unwrap();
    assert_eq!(text(&fresh, "t"), text(&http_doc, "t"));

    for (body, what) in [
        (vec![1u8, 2, 3], "garbage"),
        (vec![200], "truncated varint"),
    ] {
        let response = server
            .post("/api/docs/http-doc/sync")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{what}");
    }
    let bad_id = server
        .post("/api/docs/bad%20id/sync")
        .body(sync_request(&StateVector::default(), &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_id.status(), 400);
}

#[tokio::test]
async fn bad_input_closes_only_that_connection_and_changes_nothing() {
    let server = TestServer::start(|config| config.max_message_bytes = 64 * 1024).await;
    let mut good = SyncClient::connect(&server, "target", false).await;
    good.synced().await;
    good.edit(|doc| push(doc, "t", "kept")).await;
    good.until("nothing", |_, _| true).await;

    let mut update_with_bad_utf8 = {
        let doc = plait_shared::new_doc();
        push(&doc, "t", "ÉÉÉÉ");
        let update = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        update
    };
    // Break the first byte of the first "É" (0xC3 0x89) so it is not UTF-8.
    let at = update_with_bad_utf8
        .windows(2)
        .position(|w| w == [0xC3, 0x89])
        .unwrap();
    update_with_bad_utf8[at] = 0xFF;
    let cases: Vec<(&str, WsMessage, u16)> = vec![
        ("a text frame", WsMessage::Text("hello".into()), 1003),
        ("an empty frame", WsMessage::Binary(Vec::new().into()), 1007),
        (
            "an unknown message type",
            WsMessage::Binary(vec![42, 1, 0].into()),
            1003,
        ),
        (
            "a truncated varint",
            WsMessage::Binary(vec![0, 2, 0xFF].into()),
            1007,
        ),
        (
            "a garbage update",
            WsMessage::Binary(vec![0, 2, 5, 9, 9, 9, 9, 9].into()),
            1007,
        ),
        (
            "a non-UTF-8 string in an update",
            WsMessage::Binary(
                Message::Sync(SyncMessage::Update(update_with_bad_utf8))
                    .encode_v1()
                    .into(),
            ),
            1007,
        ),
        (
            "a message over the limit",
            WsMessage::Binary(vec![0; 65 * 1024].into()),
            1009,
        ),
    ];
    for (what, frame, code) in cases {
        let mut bad = SyncClient::connect(&server, "target", false).await;
        bad.synced().await;
        bad.send_raw(frame).await;
        eprintln!("case: {what}");
        let (got, reason) = bad.closed().await;
        assert_eq!(got, code, "{what}: closed with {got} {reason:?}");
        assert!(!reason.is_empty(), "{what}: the close says why");
    }
    // The document is unchanged and the good client carries on.
    good.edit(|doc| push(doc, "t", " and more")).await;
    let mut check = SyncClient::connect(&server, "target", false).await;
    check
        .until("the good client's edits", |doc, _| {
            text(doc, "t") == "kept and more"
        })
        .await;
    assert!(server.metric("rejected_connections_total").await >= 7.0);

    let invalid_id = server.get("/sync/bad%20id").send().await.unwrap();
    assert_eq!(invalid_id.status(), 400);
    let long_id = server
        .get(&format!("/sync/{}", "x".repeat(129)))
        .send()
        .await
        .unwrap();
    assert_eq!(long_id.status(), 400);
}

#[tokio::test]
async fn clients_joining_a_large_document_get_all_of_it() {
    // Over 64 KiB: the server sends it in fragments, and shares one
    // encoding between joiners until the document changes.
    let server = TestServer::start(|_| {}).await;
    let mut writer = SyncClient::connect(&server, "large", true).await;
    writer.synced().await;
    let big: String = (0..200_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    writer.edit(|doc| push(doc, "t", &big)).await;
    writer.all_durable().await;
    let mut joiners = Vec::new();
    for _ in 0..3 {
        let mut joiner = SyncClient::connect(&server, "large", false).await;
        joiner.synced().await;
        joiners.push(joiner);
    }
    for joiner in &joiners {
        assert_eq!(text(&joiner.doc, "t"), big);
    }
    // A change after the first joiners: a later one gets it too.
    writer.edit(|doc| push(doc, "t", "!")).await;
    writer.all_durable().await;
    let mut late = SyncClient::connect(&server, "large", false).await;
    late.synced().await;
    assert_eq!(text(&late.doc, "t"), format!("{big}!"));
    for joiner in &mut joiners {
        joiner
            .until("the change", |doc, _| text(doc, "t").ends_with('!'))
            .await;
    }
}

#[tokio::test]
async fn compaction_preserves_content() {
    let server = TestServer::start(|config| config.registry.compact_after = 10).await;
    let mut client = SyncClient::connect(&server, "compact-me", true).await;
    client.synced().await;
    for i in 0..95 {
        client.edit(|doc| push(doc, "t", &format!("[{i}]"))).await;
    }
    client.all_durable().await;
    let expected = text(&client.doc, "t");
    let id = DocId::new("compact-me").unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let stored = server.state.registry.store().load(&id).unwrap().unwrap();
        // The snapshot is in the store a moment before the compaction is
        // flushed and counted.
        if stored.snapshot.is_some()
            && stored.updates.len() < 20
            && server.metric("compactions_total").await >= 1.0
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log was not compacted: {} entries",
            stored.updates.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.close().await;
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, false, |_| {}).await;
    let mut again = SyncClient::connect(&server, "compact-me", false).await;
    again.synced().await;
    assert_eq!(text(&again.doc, "t"), expected);
}

#[tokio::test]
async fn an_idle_document_is_unloaded_and_reloads_intact() {
    let server =
        TestServer::start(|config| config.registry.idle_unload = Duration::from_millis(100)).await;
    let id = DocId::new("idle").unwrap();
    let mut client = SyncClient::connect(&server, "idle", true).await;
    client.synced().await;
    client.edit(|doc| push(doc, "t", "still here")).await;
    client.all_durable().await;
    assert!(server.state.registry.is_loaded(&id));
    client.close().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.state.registry.is_loaded(&id) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the idle document stayed loaded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.metric("loaded_docs").await, 0.0);
    let mut again = SyncClient::connect(&server, "idle", false).await;
    again
        .until("the reloaded text", |doc, _| text(doc, "t") == "still here")
        .await;
}

#[tokio::test]
async fn a_slow_client_is_disconnected_not_skipped() {
    let server = TestServer::start(|config| config.registry.client_queue = 8).await;
    let mut slow = SyncClient::connect(&server, "busy", false).await;
    slow.synced().await;
    let mut writer = SyncClient::connect(&server, "busy", true).await;
    writer.synced().await;
    // More than the socket buffers and the queue of 8 can hold unread:
    // 400 updates of 8 KiB, then more while the client is still there (on
    // PostgreSQL, with a commit per update, the writes come slower and the
    // kernel's buffers take more first), up to 64 MiB.
    let chunk = "x".repeat(8 * 1024);
    let mut written = 0;
    for _ in 0..400 {
        writer.edit(|doc| push(doc, "t", &chunk)).await;
        written += 1;
    }
    writer.all_durable().await;
    let deadline = tokio::time::Instant::now() + 4 * PATIENCE;
    while server.metric("slow_disconnects_total").await < 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline && written < 8 * 1024,
            "the slow client was never disconnected ({written} updates of 8 KiB unread)"
        );
        for _ in 0..100 {
            writer.edit(|doc| push(doc, "t", &chunk)).await;
            written += 1;
        }
        writer.all_durable().await;
    }
    // Its backlog read without applying it (the close comes after it).
    let (code, _) = slow.close_frame().await;
    assert_eq!(code, 1013, "told to reconnect and resync");
    drop(slow);
    // Reconnecting resyncs everything it missed.
    let mut back = SyncClient::connect(&server, "busy", false).await;
    back.until("the full text", |doc, _| {
        text(doc, "t").len() == written * chunk.len()
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() {
    let server = TestServer::start(|_| {}).await;
    let mut client = SyncClient::connect(&server, "bye", true).await;
    client.synced().await;
    client
        .edit(|doc| push(doc, "t", "saved before shutdown"))
        .await;
    client.all_durable().await;
    let stopping = tokio::spawn(server.stop());
    let (code, _) = client.closed().await;
    assert_eq!(code, 1001);
    let dir = tokio::time::timeout(PATIENCE, stopping)
        .await
        .unwrap()
        .unwrap();
    assert!(crate::support::stored(dir.path(), "bye").await.is_some());
}

#[tokio::test]
async fn awareness_reaches_the_other_clients() {
    let server = TestServer::start(|_| {}).await;
    let mut a = SyncClient::connect(&server, "aware", false).await;
    let mut b = SyncClient::connect(&server, "aware", false).await;
    a.synced().await;
    b.synced().await;
    let mut awareness = yrs::sync::Awareness::new(a.doc.clone());
    awareness.set_local_state(serde_json_like()).unwrap();
    let update = awareness.update().unwrap();
    a.send(Message::Awareness(update).encode_v1()).await;
    b.until("a's awareness", |_, seen| seen.awareness >= 1)
        .await;
    // Query-awareness is answered with the states the server knows.
    let mut c = SyncClient::connect(&server, "aware", false).await;
    c.send(Message::AwarenessQuery.encode_v1()).await;
    c.until("the awareness answer", |_, seen| seen.awareness >= 1)
        .await;
}

fn serde_json_like() -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([("user".to_owned(), "ward manager".to_owned())])
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let server = TestServer::start(|_| {}).await;
    let mut client = SyncClient::connect(&server, "m", true).await;
    client.synced().await;
    client.edit(|doc| push(doc, "t", "x")).await;
    client.all_durable().await;
    assert_eq!(server.metric("connections").await, 1.0);
    assert!(server.metric("updates_received_total").await >= 1.0);
    assert!(server.metric("flushes_total").await >= 1.0);
    let http = reqwest::Client::new();
    let response = http
        .get(server.url("/metrics"))
        .bearer_auth(crate::support::METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    // Without the token, or with another, nothing is told (issue 13).
    let anonymous = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = http
        .get(server.url("/metrics"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(!wrong
        .text()
        .await
        .unwrap()
        .contains("updates_received_total"));
    // A server started without a token does not serve them at all.
    let unset = TestServer::start(|config| config.metrics_token = None).await;
    let response = http
        .get(unset.url("/metrics"))
        .bearer_auth(crate::support::METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// Presence bound to its session (issue 13): a connection's awareness is
/// its own client id's only, a JSON object of at most 4 KiB, and names the
/// session's user whatever the client wrote.
#[tokio::test]
async fn awareness_cannot_speak_for_someone_else_or_flood() {
    use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
    let server = TestServer::start(|_| {}).await;
    let mut a = SyncClient::connect(&server, "presence", false).await;
    let mut b = SyncClient::connect(&server, "presence", false).await;
    a.synced().await;
    b.synced().await;
    let entry = |clock: u32, json: &str| AwarenessUpdateEntry {
        clock,
        json: json.into(),
    };
    let update = |entries: Vec<(u64, AwarenessUpdateEntry)>| AwarenessUpdate {
        clients: entries
            .into_iter()
            .map(|(id, e)| (yrs::ClientID::new(id), e))
            .collect(),
    };
    // Its own presence, claiming to be the chief nurse.
    a.send(
        Message::Awareness(update(vec![(
            11,
            entry(
                1,
                r#"{"user":{"id":"chief.nurse","name":"Chief Nurse"},"cursor":3}"#,
            ),
        )]))
        .encode_v1(),
    )
    .await;
    b.until("a's presence", |_, seen| seen.awareness >= 1).await;
    let states = b.seen.lock().unwrap().awareness_states.clone();
    assert_eq!(states.len(), 1, "{states:?}");
    assert!(
        states[0].contains(r#""user":{"id":"root","name":"Server administrator"}"#),
        "{states:?}"
    );
    assert!(states[0].contains(r#""cursor":3"#), "{states:?}");
    assert!(!states[0].contains("chief.nurse"), "{states:?}");
    // Someone else's client id, a 10 KB state and a state that is not an
    // object are all dropped: nobody hears anything.
    a.send(Message::Awareness(update(vec![(22, entry(5, r#"{"cursor":1}"#))])).encode_v1())
        .await;
    let big = format!(r#"{{"padding":"{}"}}"#, "x".repeat(10_000));
    a.send(Message::Awareness(update(vec![(11, entry(2, &big))])).encode_v1())
        .await;
    a.send(Message::Awareness(update(vec![(11, entry(3, "[1,2]"))])).encode_v1())
        .await;
    // Another connection (here the same person's second tab; a viewer's
    // would do the same) can neither change a's presence nor remove it.
    let mut c = SyncClient::connect(&server, "presence", false).await;
    c.synced().await;
    c.send(Message::Awareness(update(vec![(11, entry(9, r#"{"cursor":66}"#))])).encode_v1())
        .await;
    c.send(Message::Awareness(update(vec![(11, entry(10, "null"))])).encode_v1())
        .await;
    c.close().await;
    // Then a small honest change arrives, and is the next thing b hears.
    a.send(Message::Awareness(update(vec![(11, entry(4, r#"{"cursor":9}"#))])).encode_v1())
        .await;
    b.until("a's next presence", |_, seen| seen.awareness >= 2)
        .await;
    let states = b.seen.lock().unwrap().awareness_states.clone();
    assert_eq!(states.len(), 2, "{states:?}");
    assert!(states[1].contains(r#""cursor":9"#), "{states:?}");
    assert!(!states.iter().any(|s| s.contains("padding")), "{states:?}");
    assert!(!states.iter().any(|s| s.contains("66")), "{states:?}");
}
