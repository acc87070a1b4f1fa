//! A real Plait server on port 0 with its own temporary sled directory, and a
//! real WebSocket sync client speaking y-websocket, for the tests.
//!
//! With `PLAIT_TEST_DATABASE` set (a PostgreSQL server's address; the test
//! command's second run of this suite), every test server is instead
//! `PLAIT_TEST_NODES` (3) nodes sharing one database of that server (one
//! per data directory, so a restart finds its data), and each WebSocket a
//! test opens goes to the next node in turn: the same tests, on several
//! nodes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use plait_server::kv::Storage;
use plait_server::{AppState, Config, SledStore};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

/// The password of the tests' server administrator, `root`.
pub const ROOT_PASSWORD: &str = "root-password";

/// The bearer token the test servers ask of `/metrics`.
pub const METRICS_TOKEN: &str = "metrics-scraper-token";

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestServer {
    /// Node 0's address (every HTTP request goes there).
    pub addr: SocketAddr,
    /// The other nodes sharing the database, when there are several.
    pub others: Vec<TestServer>,
    /// Which node the next WebSocket goes to.
    turn: std::sync::atomic::AtomicUsize,
    pub data_dir: tempfile::TempDir,
    pub state: AppState,
    /// A session of `root`, a server administrator (every document).
    pub token: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
}

/// Opens sled in `dir`, waiting while a store that was just dropped still
/// holds the directory lock: the server's tasks (which must be allowed to
/// run, hence async) and sled's background threads let go a moment later.
pub async fn open_store(dir: &Path) -> SledStore {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match SledStore::open(dir) {
            Ok(store) => return store,
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert!(e.to_string().contains("lock"), "{e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("sled did not release {}: {e}", dir.display()),
        }
    }
}

/// What is stored for `doc` in the store of `data_dir` (a stopped
/// server's): sled's files, or its database when the servers are nodes
/// sharing one.
pub async fn stored(data_dir: &Path, doc: &str) -> Option<plait_server::store::StoredDoc> {
    let id = plait_shared::DocId::new(doc).unwrap();
    if let Some((_, server)) = shared_database() {
        let url = database_for(&server, data_dir).await;
        let store = plait_server::PgStore::open(&url).unwrap();
        return plait_server::DocStore::load(&store, &id).unwrap();
    }
    let store = open_store(data_dir).await;
    plait_server::DocStore::load(&store, &id).unwrap()
}

/// The configuration every test server starts from.
fn test_config() -> Config {
    let mut config = Config::new(client_dir());
    config.metrics_token = Some(METRICS_TOKEN.into());
    config
}

/// Several nodes on PostgreSQL (see the module's documentation): how many,
/// and the database server's address.
pub fn shared_database() -> Option<(usize, String)> {
    let server = std::env::var("PLAIT_TEST_DATABASE").ok()?;
    let nodes = std::env::var("PLAIT_TEST_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    Some((nodes, server))
}

/// The address of `data_dir`'s own database on `server`, made if new.
async fn database_for(server: &str, data_dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut hasher);
    let name = format!("plait_test_{:016x}", hasher.finish());
    let server = server.to_owned();
    let database = name.clone();
    tokio::task::spawn_blocking(move || {
        let admin = format!("{server} dbname=postgres");
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database])
            .unwrap()
            .is_some();
        if !exists {
            client
                .batch_execute(&format!("CREATE DATABASE {database}"))
                .unwrap();
        }
    })
    .await
    .unwrap();
    format!(
        "{} dbname={name}",
        std::env::var("PLAIT_TEST_DATABASE").unwrap()
    )
}

/// The built web client, if `trunk build` has run (the test command runs it first).
pub fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/dist")
}

impl TestServer {
    /// A server on an empty data directory, seeded with the demo.
    pub async fn start_with_demo() -> TestServer {
        TestServer::start_in(tempfile::tempdir().unwrap(), true, |_| {}).await
    }

    /// A server on an empty data directory, configured by `tune`.
    pub async fn start(tune: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_in(tempfile::tempdir().unwrap(), false, tune).await
    }

    /// A server on `data_dir` (kept across restarts by the caller).
    pub async fn start_in(
        data_dir: tempfile::TempDir,
        demo: bool,
        tune: impl FnOnce(&mut Config),
    ) -> TestServer {
        if let Some((nodes, server)) = shared_database() {
            let url = database_for(&server, data_dir.path()).await;
            let mut config = test_config();
            tune(&mut config);
            let open = |url: &str| -> Arc<dyn Storage> {
                Arc::new(plait_server::PgStore::open(url).expect("the database opens"))
            };
            let mut first =
                TestServer::start_configured(open(&url), data_dir, demo, config.clone()).await;
            for _ in 1..nodes {
                let node = TestServer::start_configured(
                    open(&url),
                    tempfile::tempdir().unwrap(),
                    false,
                    config.clone(),
                )
                .await;
                first.others.push(node);
            }
            return first;
        }
        let store = Arc::new(open_store(data_dir.path()).await);
        TestServer::start_on(store, data_dir, demo, tune).await
    }

    /// A server (a node) over `store`: several may share one PostgreSQL.
    pub async fn start_on(
        store: Arc<dyn Storage>,
        data_dir: tempfile::TempDir,
        demo: bool,
        tune: impl FnOnce(&mut Config),
    ) -> TestServer {
        let mut config = test_config();
        tune(&mut config);
        TestServer::start_configured(store, data_dir, demo, config).await
    }

    async fn start_configured(
        store: Arc<dyn Storage>,
        data_dir: tempfile::TempDir,
        demo: bool,
        config: Config,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel();
        let state = AppState::new(store.clone(), config).expect("state");
        if demo {
            plait_server::demo::seed(&*store, &state.accounts).expect("seed demo");
        }
        let root = match state.accounts.user("root").unwrap() {
            Some(root) => root,
            None => {
                // Another node sharing the store may make it first.
                let _ =
                    state
                        .accounts
                        .add_user("root", "Server administrator", ROOT_PASSWORD, true);
                state.accounts.user("root").unwrap().unwrap()
            }
        };
        let (token, _) = state.accounts.start_session(&root, "tests").unwrap();
        let serving = state.clone();
        let task = tokio::spawn(async move {
            plait_server::serve(listener, serving, async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
        });
        TestServer {
            addr,
            others: Vec::new(),
            turn: std::sync::atomic::AtomicUsize::new(0),
            data_dir,
            state,
            token,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A WebSocket address: on several nodes, each call the next node's.
    pub fn ws_url(&self, path: &str) -> String {
        let turn =
            self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % (1 + self.others.len());
        let addr = match turn {
            0 => self.addr,
            n => self.others[n - 1].addr,
        };
        format!("ws://{addr}{path}")
    }

    /// `GET path` as the server administrator.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(&self.token)
    }

    /// `POST path` as the server administrator.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(&self.token)
    }

    /// Serves `plait user` commands on the data directory's control socket,
    /// as `plait serve` does.
    pub fn start_control(&self) {
        plait_server::control::listen(self.data_dir.path(), self.state.clone())
            .expect("control socket");
    }

    /// The HTTP status a WebSocket upgrade to `path` gets (101 when it is accepted).
    pub async fn ws_status(&self, path: &str, origin: Option<&str>) -> u16 {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = self.ws_url(path).into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((_, response)) => response.status().as_u16(),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(e) => panic!("upgrade to {path} failed oddly: {e}"),
        }
    }

    /// `GET path` as `token`, its JSON answer read as `T` (a failure or an
    /// answer that does not read fails the test).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str, token: &str) -> T {
        let response = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Signs in over HTTP; returns the session token.
    pub async fn sign_in(&self, username: &str, password: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.url("/api/auth/login"))
            .json(&plait_shared::api::SignIn {
                username: username.to_owned(),
                password: password.to_owned(),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{username} signs in");
        let me: plait_shared::api::Me = response.json().await.unwrap();
        me.token.expect("a token for a sign-in without a cookie")
    }

    /// Stops gracefully (closing sockets, flushing) and hands back the data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        for node in std::mem::take(&mut self.others) {
            Box::pin(node.stop()).await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task)
                .await
                .expect("server stops in time")
                .expect("server task")
                .expect("server stopped cleanly");
        }
        let dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap());
        // The last references to sled go with the state; whoever opens the
        // directory next waits for the lock (`open_store`).
        drop(self);
        dir
    }

    /// Reads a metric from `/metrics`: on several nodes, their sum (the
    /// whole service's count).
    pub async fn metric(&self, name: &str) -> f64 {
        let mut sum = self.node_metric(name).await;
        for node in &self.others {
            sum += node.node_metric(name).await;
        }
        sum
    }

    async fn node_metric(&self, name: &str) -> f64 {
        let text = reqwest::Client::new()
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("plait_{name} ")))
            .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
            .parse()
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What a [`SyncClient`] saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Sizes of the sync-step-2 payloads received.
    pub step2_sizes: Vec<usize>,
    /// The latest durable state vector announced by the server.
    pub durable: Option<StateVector>,
    /// Every durable state vector announced, merged (the acknowledgements
    /// may arrive out of order, so the latest is not always the greatest).
    pub durable_merged: StateVector,
    /// Awareness messages received.
    pub awareness: usize,
    /// The client states (JSON) carried by those messages, in order.
    pub awareness_states: Vec<String>,
    /// The close frame, if the server closed.
    pub closed: Option<(u16, String)>,
    /// Refusal notices (`MSG_REFUSED`), as JSON.
    pub refused: Vec<serde_json::Value>,
    /// Bytes of the binary frames received.
    pub bytes: usize,
    /// The kind of every message received, in order: `step1`, `step2`,
    /// `update`, `awareness`, `refused`, `durable`.
    pub order: Vec<&'static str>,
}

/// A y-websocket client over a real WebSocket, holding its own yrs document.
pub struct SyncClient {
    pub doc: Doc,
    ws: Ws,
    pub seen: Arc<Mutex<Seen>>,
    outbox: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl SyncClient {
    /// Connects to `/sync/{doc}` (with `?durable=1` when asked) with a new
    /// document, as the server administrator.
    pub async fn connect(server: &TestServer, doc: &str, durable: bool) -> SyncClient {
        SyncClient::connect_with(server, doc, durable, plait_shared::new_doc()).await
    }

    /// Connects as the holder of `token`.
    pub async fn connect_as(
        server: &TestServer,
        token: &str,
        doc: &str,
        durable: bool,
        ydoc: Doc,
    ) -> SyncClient {
        SyncClient::connect_url(
            &server.ws_url(&format!("/sync/{doc}?token={token}")),
            durable,
            ydoc,
        )
        .await
    }

    /// Connects with an existing document (a client coming back online).
    pub async fn connect_with(
        server: &TestServer,
        doc: &str,
        durable: bool,
        ydoc: Doc,
    ) -> SyncClient {
        SyncClient::connect_as(server, &server.token, doc, durable, ydoc).await
    }

    /// Connects to a sync URL (`ws://HOST/sync/{doc}`) of any server, such
    /// as a `plait` child process, with `?durable=1` when asked.
    pub async fn connect_url(url: &str, durable: bool, ydoc: Doc) -> SyncClient {
        let join = if url.contains('?') { '&' } else { '?' };
        let query = if durable {
            format!("{join}{}", plait_shared::protocol::DURABLE_QUERY)
        } else {
            String::new()
        };
        let (ws, _) = tokio_tungstenite::connect_async(format!("{url}{query}"))
            .await
            .expect("websocket connects");
        let outbox: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let sink = outbox.clone();
        ydoc.observe_update_v1("test-outbox", move |txn, event| {
            // Only local edits go to the server; remote ones came from it.
            if txn.origin().is_none() {
                sink.lock().unwrap().push(event.update.clone());
            }
        })
        .unwrap();
        let mut client = SyncClient {
            doc: ydoc,
            ws,
            seen: Arc::default(),
            outbox,
        };
        let sv = client.doc.transact().state_vector();
        client
            .send(Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1())
            .await;
        client
    }

    pub async fn send(&mut self, frame: Vec<u8>) {
        self.ws
            .send(WsMessage::Binary(frame.into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: WsMessage) {
        self.ws.send(message).await.expect("send");
    }

    /// Applies `edit` locally and sends the resulting update.
    pub async fn edit(&mut self, edit: impl FnOnce(&Doc)) {
        edit(&self.doc);
        let pending: Vec<Vec<u8>> = std::mem::take(&mut *self.outbox.lock().unwrap());
        for update in pending {
            self.send(Message::Sync(SyncMessage::Update(update)).encode_v1())
                .await;
        }
    }

    /// Like [`SyncClient::edit`], for a server that may be gone: returns
    /// whether every resulting update was handed to the socket.
    pub async fn try_edit(&mut self, edit: impl FnOnce(&Doc)) -> bool {
        edit(&self.doc);
        let pending: Vec<Vec<u8>> = std::mem::take(&mut *self.outbox.lock().unwrap());
        for update in pending {
            let frame = Message::Sync(SyncMessage::Update(update)).encode_v1();
            if self.ws.send(WsMessage::Binary(frame.into())).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Handles whatever arrives until `deadline`, for a server that may be
    /// gone: returns `false` once the connection has ended (or failed).
    pub async fn pump(&mut self, deadline: tokio::time::Instant) -> bool {
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return true,
                Ok(Some(Ok(message))) => {
                    let close = matches!(message, WsMessage::Close(_));
                    self.handle(message).await;
                    if close {
                        return false;
                    }
                }
                Ok(Some(Err(_)) | None) => return false,
            }
        }
    }

    /// Handles incoming messages until `done` holds (panics after [`PATIENCE`]).
    pub async fn until(&mut self, what: &str, mut done: impl FnMut(&Doc, &Seen) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !done(&self.doc, &self.seen.lock().unwrap()) {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
            match next {
                Some(Ok(message)) => self.handle(message).await,
                Some(Err(e)) => panic!("connection failed while waiting for {what}: {e}"),
                None => panic!("connection ended while waiting for {what}"),
            }
        }
    }

    /// Reads until the server closes the connection; returns its close code.
    pub async fn closed(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(closed) = self.seen.lock().unwrap().closed.clone() {
                return closed;
            }
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("the server did not close the connection"),
                Ok(Some(Ok(message))) => self.handle(message).await,
                Ok(Some(Err(e))) => panic!("connection failed before a close frame: {e}"),
                Ok(None) => panic!("connection ended without a close frame"),
            }
        }
    }

    /// Reads frames without handling them until the server's close frame
    /// (panics after [`PATIENCE`]): for a client with a backlog it need not
    /// apply.
    pub async fn close_frame(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("the server did not close the connection"),
                Ok(Some(Ok(WsMessage::Close(frame)))) => {
                    return frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("connection failed before a close frame: {e}"),
                Ok(None) => panic!("connection ended without a close frame"),
            }
        }
    }

    async fn handle(&mut self, message: WsMessage) {
        match message {
            WsMessage::Binary(frame) => {
                self.seen.lock().unwrap().bytes += frame.len();
                let message = Message::decode_v1(&frame).expect("server sends valid messages");
                let kind = match &message {
                    Message::Sync(SyncMessage::SyncStep1(_)) => "step1",
                    Message::Sync(SyncMessage::SyncStep2(_)) => "step2",
                    Message::Sync(SyncMessage::Update(_)) => "update",
                    Message::Awareness(_) => "awareness",
                    Message::Custom(plait_shared::protocol::MSG_REFUSED, _) => "refused",
                    Message::Custom(..) => "durable",
                    _ => "other",
                };
                self.seen.lock().unwrap().order.push(kind);
                match message {
                    Message::Sync(SyncMessage::SyncStep1(sv)) => {
                        let update = self.doc.transact().encode_state_as_update_v1(&sv);
                        self.send(Message::Sync(SyncMessage::SyncStep2(update)).encode_v1())
                            .await;
                    }
                    Message::Sync(SyncMessage::SyncStep2(update)) => {
                        self.seen.lock().unwrap().step2_sizes.push(update.len());
                        self.apply(&update);
                    }
                    Message::Sync(SyncMessage::Update(update)) => self.apply(&update),
                    Message::Awareness(update) => {
                        let mut seen = self.seen.lock().unwrap();
                        seen.awareness += 1;
                        seen.awareness_states
                            .extend(update.clients.values().map(|e| e.json.to_string()));
                    }
                    Message::Custom(plait_shared::protocol::MSG_REFUSED, payload) => {
                        let refusals = plait_shared::protocol::Refusals::decode(&payload)
                            .expect("a refusal record");
                        let mut notice: Vec<serde_json::Value> = refusals
                            .changes
                            .iter()
                            .map(|c| serde_json::to_value(c).unwrap())
                            .collect();
                        if let Some(why) = refusals.whole {
                            notice.push(serde_json::json!({ "whole": true, "reason": why }));
                        }
                        self.seen.lock().unwrap().refused.extend(notice);
                    }
                    Message::Custom(tag, payload) => {
                        assert_eq!(tag, plait_shared::protocol::MSG_DURABLE);
                        let sv = StateVector::decode_v1(&payload).unwrap();
                        let mut seen = self.seen.lock().unwrap();
                        seen.durable_merged.merge(sv.clone());
                        seen.durable = Some(sv);
                    }
                    other => panic!("unexpected message {other:?}"),
                }
            }
            WsMessage::Close(frame) => {
                let closed = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                self.seen.lock().unwrap().closed = Some(closed);
            }
            _ => {}
        }
    }

    fn apply(&self, update: &[u8]) {
        let mut txn = self.doc.transact_mut_with("server");
        txn.apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }

    /// Waits until the first sync has completed (the server's step 2 arrived).
    pub async fn synced(&mut self) {
        self.until("the initial sync", |_, seen| !seen.step2_sizes.is_empty())
            .await;
    }

    /// Waits until the server says all of this client's edits are durable.
    pub async fn all_durable(&mut self) {
        let mine = self.doc.transact().state_vector();
        let client = self.doc.client_id();
        let want = mine.get(&client);
        self.until("the durable acknowledgement", |_, seen| {
            seen.durable
                .as_ref()
                .is_some_and(|sv| sv.get(&client) >= want)
        })
        .await;
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The text of the root `Y.Text` named `name`.
pub fn text(doc: &Doc, name: &str) -> String {
    use yrs::GetString;
    doc.get_or_insert_text(name).get_string(&doc.transact())
}

/// Appends `chunk` to the root `Y.Text` named `name`.
pub fn push(doc: &Doc, name: &str, chunk: &str) {
    use yrs::Text;
    let text = doc.get_or_insert_text(name);
    text.push(&mut doc.transact_mut(), chunk);
}
