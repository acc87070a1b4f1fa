//! The standard npm Yjs client (`yjs` + `y-websocket` on Node, with `ws` as
//! its WebSocket) syncs text and awareness with the server, next to a Rust
//! client: tests/js/ywebsocket-client.mjs is the Node side.
//!
//! The npm packages are pinned in tools/package-lock.json and installed by
//! `scripts/setup`; without them this test fails (it never skips).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use yrs::sync::{Awareness, Message};
use yrs::updates::encoder::Encode;
use yrs::Any;

use crate::support::{push, text, SyncClient, TestServer};

/// The Node script gives up after 15 s; this is the test's own limit.
const NODE_PATIENCE: Duration = Duration::from_secs(25);

const ROOM: &str = "npm-yjs-client";

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the workspace")
        .to_path_buf()
}

/// A running `node` process whose output is collected; killed if dropped.
struct NodeProcess {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = pipe.read_to_string(&mut out);
        out
    })
}

impl NodeProcess {
    fn spawn(script: &Path, args: &[&str]) -> NodeProcess {
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `node` ({e}): install Node.js 20 and run scripts/setup")
            });
        let stdout = collect(child.stdout.take().expect("piped stdout"));
        let stderr = collect(child.stderr.take().expect("piped stderr"));
        NodeProcess {
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("waiting for node")
    }

    /// Its stdout and stderr, once it has exited.
    fn output(&mut self) -> (String, String) {
        let join = |h: Option<JoinHandle<String>>| h.map(|h| h.join().unwrap()).unwrap_or_default();
        (join(self.stdout.take()), join(self.stderr.take()))
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `value[key]` of a JSON object parsed by yrs.
fn field<'a>(value: &'a Any, key: &str) -> Option<&'a Any> {
    match value {
        Any::Map(map) => map.get(key),
        _ => None,
    }
}

fn string(value: Option<&Any>) -> Option<&str> {
    match value {
        Some(Any::String(s)) => Some(s),
        _ => None,
    }
}

/// `state.user.name` of an awareness state (JSON).
fn user_name(state: &str) -> Option<String> {
    let state = Any::from_json(state).ok()?;
    string(field(field(&state, "user")?, "name")).map(str::to_owned)
}

#[tokio::test]
async fn the_npm_yjs_client_syncs_text_and_awareness() {
    let root = repo_root();
    for package in ["yjs", "y-websocket", "ws"] {
        let manifest = root
            .join("tools/node_modules")
            .join(package)
            .join("package.json");
        assert!(
            manifest.is_file(),
            "{} is missing: run scripts/setup (it installs tools/package-lock.json with npm ci)",
            manifest.display()
        );
    }
    let script = root.join("tests/js/ywebsocket-client.mjs");

    let server = TestServer::start(|_| {}).await;
    let mut rust = SyncClient::connect(&server, ROOM, false).await;
    rust.synced().await;

    let url = server.ws_url("/sync");
    let mut node = NodeProcess::spawn(&script, &[&url, ROOM, &server.token]);
    let deadline = tokio::time::Instant::now() + NODE_PATIENCE;

    // Wait for the Node client's text, watching that it does not die first.
    while !text(&rust.doc, "t").contains("hello from yjs") {
        if let Some(status) = node.exited() {
            let (stdout, stderr) = node.output();
            panic!("node exited ({status}) before its text arrived\nstdout: {stdout}\nstderr: {stderr}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the Node client's text"
        );
        let alive = rust
            .pump(tokio::time::Instant::now() + Duration::from_millis(50))
            .await;
        assert!(alive, "the server closed the Rust client's connection");
    }

    rust.edit(|doc| push(doc, "t", "hello from rust")).await;
    let mut awareness = Awareness::new(rust.doc.clone());
    awareness
        .set_local_state(HashMap::from([(
            "user",
            HashMap::from([("name", "rust-client")]),
        )]))
        .unwrap();
    rust.send(Message::Awareness(awareness.update().unwrap()).encode_v1())
        .await;

    // Keep reading on the Rust side while Node finishes.
    let status = loop {
        if let Some(status) = node.exited() {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for node to finish"
        );
        let alive = rust
            .pump(tokio::time::Instant::now() + Duration::from_millis(50))
            .await;
        assert!(alive, "the server closed the Rust client's connection");
    };
    let (stdout, stderr) = node.output();
    assert!(
        status.success(),
        "node failed ({status})\nstdout: {stdout}\nstderr: {stderr}"
    );
    eprintln!("node: {}", stdout.trim());
    let result = Any::from_json(stdout.trim())
        .unwrap_or_else(|e| panic!("node printed no JSON ({e}): {stdout:?}\nstderr: {stderr}"));
    let node_text = string(field(&result, "text")).expect("text in node's answer");
    assert!(
        node_text.contains("hello from yjs") && node_text.contains("hello from rust"),
        "node's text: {node_text:?}"
    );
    let names: Vec<&str> = match field(&result, "names") {
        Some(Any::Array(names)) => names.iter().filter_map(|n| string(Some(n))).collect(),
        other => panic!("no awareness names in node's answer: {other:?}"),
    };
    // Presence names the session's account (both sides are the server
    // administrator here), not what the Rust client wrote.
    assert!(
        names.contains(&"Server administrator"),
        "node saw {names:?}"
    );
    assert!(!names.contains(&"rust-client"), "node saw {names:?}");
    assert_eq!(
        field(&result, "closes"),
        Some(&Any::Number(0.0.into())),
        "the server closed the Node client's connection\nstderr: {stderr}"
    );

    // The Rust side: the same text, and the Node client's awareness.
    assert_eq!(text(&rust.doc, "t"), node_text);
    rust.until("the Node client's awareness", |_, seen| {
        seen.awareness >= 1
            && seen
                .awareness_states
                .iter()
                .any(|s| user_name(s).as_deref() == Some("Server administrator"))
    })
    .await;
    assert_eq!(server.metric("rejected_connections_total").await, 0.0);
    rust.close().await;
}
