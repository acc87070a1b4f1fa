//! `kill -9` of the real `plait` binary in the middle of a write burst loses
//! no update it acknowledged as durable: five kills over one data directory,
//! each followed by a restart and a check from a fresh client.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use yrs::{ReadTxn, Transact};

use crate::support::{push, text, SyncClient, PATIENCE, ROOT_PASSWORD};

const ROUNDS: usize = 5;
/// A burst that never reaches its kill point means acknowledgements stopped.
const MAX_PUSHES: usize = 2_000;
const DOC: &str = "crash-burst";

/// The newest modification time under `path` (a file or a directory tree).
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|entry| newest(&entry.ok()?.path()))
        .max()
}

/// The `plait` binary next to this test's executable
/// (`target/<profile>/deps/e2e-…` → `target/<profile>/plait`), built first
/// when it is missing or older than the server's sources.
pub(crate) fn plait_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let bin = profile_dir.join(format!("plait{}", std::env::consts::EXE_SUFFIX));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the workspace");
    let sources = [
        "server/src",
        "server/Cargo.toml",
        "shared/src",
        "shared/Cargo.toml",
        "Cargo.toml",
        "Cargo.lock",
    ]
    .iter()
    .filter_map(|p| newest(&root.join(p)))
    .max();
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    if built.is_none() || built < sources {
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        eprintln!(
            "building {} (missing or older than the sources)",
            bin.display()
        );
        let mut build = Command::new(env!("CARGO"));
        build.current_dir(root).args([
            "build",
            "-p",
            "plait-server",
            "--bin",
            "plait",
            "--profile",
            profile,
        ]);
        if let Some(target_dir) = profile_dir.parent() {
            build.arg("--target-dir").arg(target_dir);
        }
        let status = build.status().expect("run cargo build");
        assert!(
            status.success(),
            "building the plait binary failed: {status}"
        );
        assert!(bin.is_file(), "cargo built no {}", bin.display());
    }
    bin
}

/// A `plait serve` child process; killed (SIGKILL) if dropped.
pub(crate) struct Plait {
    child: Child,
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    pub(crate) token: String,
}

/// Collects the lines of `pipe` into `log`, handing the first one for which
/// `pick` finds something to `found`.
fn read_lines(
    pipe: impl Read + Send + 'static,
    log: Arc<Mutex<Vec<String>>>,
    mut found: Option<tokio::sync::oneshot::Sender<String>>,
    pick: fn(&str) -> Option<String>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(value) = pick(&line) {
                if let Some(tx) = found.take() {
                    let _ = tx.send(value);
                }
            }
            log.lock().unwrap().push(line);
        }
    });
}

/// The address in the JSON log line `{"fields":{"message":"listening","local":"…"}}`.
fn listening_addr(line: &str) -> Option<String> {
    if !line.contains("\"listening\"") {
        return None;
    }
    let rest = &line[line.find("\"local\":\"")? + "\"local\":\"".len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl Plait {
    async fn start(bin: &Path, data_dir: &Path, client_dir: &Path) -> Plait {
        Plait::start_on(bin, data_dir, client_dir, None).await
    }

    /// A node keeping everything in the PostgreSQL at `database` (its data
    /// directory then holds only its control socket), or in sled.
    pub(crate) async fn start_on(
        bin: &Path,
        data_dir: &Path,
        client_dir: &Path,
        database: Option<&str>,
    ) -> Plait {
        let with_database = |command: &mut Command| {
            if let Some(url) = database {
                command.arg("--database").arg(url);
            }
        };
        // A server administrator to sync as (made once; later starts, and
        // other nodes of the database, find it).
        let mut add = Command::new(bin);
        with_database(&mut add);
        let mut add = add
            .args([
                "user",
                "add",
                "root",
                "--name",
                "Root",
                "--superuser",
                "--password-stdin",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("plait user add");
        {
            use std::io::Write;
            let mut stdin = add.stdin.take().expect("piped stdin");
            writeln!(stdin, "{ROOT_PASSWORD}").expect("write the password");
        }
        add.wait().expect("plait user add finishes");
        let mut command = Command::new(bin);
        with_database(&mut command);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PLAIT_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args(["--log-format", "json", "serve", "--addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--client-dir")
            .arg(client_dir)
            // Compactions happen during the bursts, so kills hit them too.
            .args(["--compact-after", "64"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let log = Arc::default();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        read_lines(stdout, Arc::clone(&log), Some(tx), listening_addr);
        read_lines(stderr, Arc::clone(&log), None, |_| None);
        let mut plait = Plait {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            token: String::new(),
        };
        let addr = match tokio::time::timeout(PATIENCE, rx).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let status = plait.child.try_wait().ok().flatten();
                panic!(
                    "plait did not log its address (exit status {status:?}); its output:\n{}",
                    plait.log.lock().unwrap().join("\n")
                );
            }
        };
        plait.addr = addr.parse().expect("a socket address");
        let response = reqwest::Client::new()
            .post(format!("http://{}/api/auth/login", plait.addr))
            .json(&serde_json::json!({ "username": "root", "password": ROOT_PASSWORD }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(response.status(), 200, "root signs in");
        let body: serde_json::Value = response.json().await.expect("sign-in answer");
        plait.token = body["token"].as_str().expect("a token").to_owned();
        plait
    }

    fn sync_url(&self) -> String {
        self.sync_url_of(DOC)
    }

    /// The sync address of `doc`, as the server administrator.
    pub(crate) fn sync_url_of(&self, doc: &str) -> String {
        format!("ws://{}/sync/{doc}?token={}", self.addr, self.token)
    }

    /// SIGKILL: no shutdown, no final flush.
    pub(crate) fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        let status = self.child.wait().expect("reap the server");
        assert!(
            !status.success(),
            "the server was killed, not stopped: {status}"
        );
    }
}

impl Drop for Plait {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// xorshift64: random-ish kill points without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One round's pushes: each chunk, and the client's clock once it is in.
struct Round {
    pushes: Vec<(String, u32)>,
    acked: usize,
}

/// Connects a fresh client, syncs, and checks every acknowledged push of
/// every earlier round is there; reports how much of the last round survived.
async fn check_recovered(plait: &Plait, rounds: &[Round]) {
    let mut reader =
        SyncClient::connect_url(&plait.sync_url(), false, plait_shared::new_doc()).await;
    reader.synced().await;
    let recovered = text(&reader.doc, "t");
    for (k, round) in rounds.iter().enumerate() {
        for (chunk, _) in &round.pushes[..round.acked] {
            assert!(
                recovered.contains(chunk.as_str()),
                "round {k}: the acknowledged push {chunk} was lost in the kill"
            );
        }
    }
    if let Some(last) = rounds.last() {
        let survived = last
            .pushes
            .iter()
            .filter(|(chunk, _)| recovered.contains(chunk.as_str()))
            .count();
        eprintln!(
            "round {}: after the restart {survived} of {} sent are there ({} acknowledged)",
            rounds.len() - 1,
            last.pushes.len(),
            last.acked
        );
    }
    reader.close().await;
}

#[tokio::test]
async fn kill_9_mid_burst_loses_no_acknowledged_update() {
    let started = Instant::now();
    let bin = plait_binary();
    let dirs = tempfile::tempdir().unwrap();
    let data_dir = dirs.path().join("data");
    let client_dir = dirs.path().join("no-client");
    let seed = std::env::var("PLAIT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap();
            now.as_nanos() as u64 | 1
        });
    eprintln!("seed {seed} (PLAIT_CRASH_SEED={seed} replays the kill points)");
    let mut rng = Rng(seed);
    let mut rounds: Vec<Round> = Vec::new();

    for k in 0..ROUNDS {
        let mut plait = Plait::start(&bin, &data_dir, &client_dir).await;
        check_recovered(&plait, &rounds).await;

        let mut writer =
            SyncClient::connect_url(&plait.sync_url(), true, plait_shared::new_doc()).await;
        writer.synced().await;
        let me = writer.doc.client_id();
        // Kill once this many pushes are acknowledged, with more in flight.
        let kill_at = 10 + rng.below(90) as usize;
        let mut round = Round {
            pushes: Vec::new(),
            acked: 0,
        };
        let acked = |writer: &SyncClient, round: &Round| {
            let durable = writer.seen.lock().unwrap().durable_merged.get(&me);
            round
                .pushes
                .iter()
                .take_while(|(_, end)| *end <= durable)
                .count()
        };
        loop {
            // A mini-burst of pushes sent back to back, none of them read
            // about yet: the kill comes right after one, with it in flight.
            for _ in 0..1 + rng.below(24) {
                let i = round.pushes.len();
                assert!(
                    i < MAX_PUSHES,
                    "round {k}: only {} of {i} pushes acknowledged",
                    acked(&writer, &round)
                );
                let chunk = format!("[k{k}-i{i}]");
                let sent = writer.try_edit(|doc| push(doc, "t", &chunk)).await;
                assert!(sent, "round {k}: the server went away before the kill");
                let end = writer.doc.transact().state_vector().get(&me);
                round.pushes.push((chunk, end));
            }
            round.acked = acked(&writer, &round);
            if round.acked >= kill_at {
                break;
            }
            // Let the acknowledgements of earlier bursts in.
            let alive = writer.pump(Instant::now() + Duration::from_millis(1)).await;
            assert!(alive, "round {k}: the connection ended before the kill");
        }
        let (sent_at_kill, acked_at_kill) = (round.pushes.len(), round.acked);
        plait.kill_9();
        // Its log (JSON, every line it wrote) never holds a session token.
        let leaked = plait
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains(&plait.token));
        assert!(!leaked, "a session token reached the server's log");
        // Acknowledgements already on their way count too: read to the end.
        let deadline = Instant::now() + PATIENCE;
        while writer.pump(deadline).await {
            assert!(
                Instant::now() < deadline,
                "round {k}: the connection outlived the server"
            );
        }
        round.acked = acked(&writer, &round);
        eprintln!(
            "round {k}: kill -9 with {acked_at_kill} of {sent_at_kill} pushes acknowledged \
             ({} in flight); {} acknowledged in all",
            sent_at_kill - acked_at_kill,
            round.acked
        );
        assert!(
            sent_at_kill > acked_at_kill,
            "round {k}: no write was in flight at the kill"
        );
        rounds.push(round);
        drop(plait);
    }

    let plait = Plait::start(&bin, &data_dir, &client_dir).await;
    check_recovered(&plait, &rounds).await;
    let (acked, sent) = rounds
        .iter()
        .fold((0, 0), |(a, s), r| (a + r.acked, s + r.pushes.len()));
    eprintln!(
        "{ROUNDS} kills: {acked} of {sent} pushes acknowledged, none lost; {:.1?}",
        started.elapsed()
    );
    drop(plait);
}

/// The person in the log (issue 13): a log line about a connection's
/// update, here a frame that does not decode, names the user, not only a
/// connection number.
#[tokio::test]
async fn log_lines_about_a_connections_updates_name_its_user() {
    use futures_util::SinkExt;
    let bin = plait_binary();
    let dirs = tempfile::tempdir().unwrap();
    let plait = Plait::start(
        &bin,
        &dirs.path().join("data"),
        &dirs.path().join("no-client"),
    )
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(plait.sync_url())
        .await
        .expect("connect");
    // Sync message, type update, with a payload that is not an update.
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(
        vec![0, 2, 3, 0xff, 0xff, 0xff].into(),
    ))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let found = plait
            .log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("bad input"))
            .cloned();
        if let Some(line) = found {
            break line;
        }
        assert!(Instant::now() < deadline, "no log line about the bad frame");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(line.contains(r#""user":"root""#), "{line}");
}
