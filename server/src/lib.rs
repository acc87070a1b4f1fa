//! The Plait server: the meeting point of every ward's offline edits.
//!
//! It speaks the y-websocket protocol at `/sync/{doc_id}` and a one-round-trip
//! HTTP sync at `/api/docs/{doc_id}/sync`, merges updates into documents held
//! in memory, stores them in sled (an append-only log per document plus a
//! compacted snapshot, flushed with group commit before anything is
//! acknowledged), fans them out to every other client, and serves the web
//! client. See `docs/sync.md` for the protocol and storage layout.
//!
//! `main.rs` parses the configuration and calls [`serve`]; tests bind port 0
//! and pass their own listener.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod clock;
pub mod control;
pub mod demo;
mod error;
pub mod export;
pub mod extract;
pub mod gc;
pub mod guard;
pub mod import;
pub mod metrics;
pub mod registry;
mod routes;
pub mod store;
pub mod sync;

pub use accounts::{Accounts, SessionSettings};
pub use audit::Audit;
pub use error::AppError;
pub use metrics::Metrics;
pub use registry::{Registry, RegistrySettings};
pub use store::{DocStore, SledStore, StoreError};

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The built web client to serve at `/`.
    pub client_dir: PathBuf,
    /// The largest sync message accepted, in bytes (WebSocket close 1009,
    /// HTTP 413 above it).
    pub max_message_bytes: usize,
    /// Registry tuning.
    pub registry: RegistrySettings,
    /// How long sessions last.
    pub sessions: SessionSettings,
    /// Mark the session cookie `Secure` and send HSTS (behind TLS).
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per account name within `sign_in_window`.
    pub sign_ins_per_account: usize,
    /// Failed sign-ins allowed per network address within `sign_in_window`.
    pub sign_ins_per_address: usize,
    /// The window of the sign-in limits.
    pub sign_in_window: std::time::Duration,
    /// The largest evidence file accepted, in bytes.
    pub max_blob_bytes: usize,
    /// The bearer token `/metrics` asks for; without one, `/metrics` is not
    /// served (its counters say how busy the server is and who is refused).
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (the
    /// sign-in limit counts per client address; behind a proxy every
    /// request would otherwise come from the proxy's).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long a connection may take to send a request's headers (and
    /// how long an idle connection is kept waiting for the next request):
    /// half-sent requests do not hold connections open.
    pub header_read_timeout: std::time::Duration,
    /// How long a request's body may go without sending anything: a
    /// stalled or trickled upload ends.
    pub body_idle_timeout: std::time::Duration,
    /// The evidence files one programme may hold, in bytes.
    pub max_evidence_bytes: u64,
    /// Sign-in bodies (the only bodies read before a session is known)
    /// read at once; more are refused at once (503).
    pub max_unauthenticated_bodies: usize,
}

impl Config {
    /// The largest sync message accepted, by default.
    pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
    /// The largest evidence file accepted, by default.
    pub const MAX_BLOB_BYTES: usize = 25 * 1024 * 1024;
    /// The evidence files one programme may hold, by default.
    pub const MAX_EVIDENCE_BYTES: u64 = 20 * 1024 * 1024 * 1024;

    /// Defaults, serving the client from `client_dir`.
    pub fn new(client_dir: PathBuf) -> Config {
        Config {
            client_dir,
            max_message_bytes: Self::MAX_MESSAGE_BYTES,
            registry: RegistrySettings::default(),
            sessions: SessionSettings::default(),
            secure_cookies: false,
            sign_ins_per_account: 5,
            sign_ins_per_address: 50,
            sign_in_window: std::time::Duration::from_secs(15 * 60),
            max_blob_bytes: Self::MAX_BLOB_BYTES,
            metrics_token: None,
            trusted_proxies: Vec::new(),
            header_read_timeout: std::time::Duration::from_secs(10),
            body_idle_timeout: std::time::Duration::from_secs(30),
            max_evidence_bytes: Self::MAX_EVIDENCE_BYTES,
            max_unauthenticated_bodies: 64,
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The documents in memory.
    pub registry: Arc<Registry>,
    /// The configuration.
    pub config: Arc<Config>,
    /// Cancelled when the server is shutting down.
    pub shutdown: CancellationToken,
    /// Every connection and background task, to wait for at shutdown.
    pub tasks: TaskTracker,
    /// Accounts, sessions, programme membership.
    pub accounts: Arc<Accounts>,
    /// The audit trail.
    pub audit: Audit,
    /// The sign-in rate limit.
    pub limiter: Arc<auth::SignInLimiter>,
    /// Turns at hashing a password (argon2 takes tens of megabytes and
    /// tens of milliseconds each): one per core.
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Turns at reading a body before a session is known (sign-ins).
    pub unauthenticated_bodies: Arc<tokio::sync::Semaphore>,
    /// Evidence files.
    pub blobs: blobs::Blobs,
    /// Each open programme's governance settings, shared by every
    /// connection to its documents.
    pub rules:
        Arc<std::sync::Mutex<std::collections::HashMap<plait_shared::DocId, registry::RulesCell>>>,
}

impl AppState {
    /// The governance settings of `programme`, read from its document the
    /// first time they are asked for, then kept up to date by the engine
    /// (see [`registry::RulesCell`]).
    ///
    /// # Errors
    /// When the programme document cannot be loaded.
    pub async fn rules_of(
        &self,
        programme: &plait_shared::DocId,
    ) -> Result<registry::RulesCell, AppError> {
        let known = |state: &AppState| {
            state
                .rules
                .lock()
                .ok()
                .and_then(|cells| cells.get(programme).cloned())
        };
        if let Some(cell) = known(self) {
            return Ok(cell);
        }
        // Read without leasing: a programme not created yet stays absent
        // (its defaults apply until it is).
        let rules = match self.registry.existing_state(programme).await? {
            Some(state) => {
                let doc = plait_shared::new_doc();
                let update = <yrs::Update as yrs::updates::decoder::Decode>::decode_v1(&state)
                    .map_err(|e| AppError::Unavailable(e.to_string()))?;
                yrs::Transact::transact_mut(&doc)
                    .apply_update(update)
                    .map_err(|e| AppError::Unavailable(e.to_string()))?;
                let programme = plait_shared::ProgrammeDoc::new(doc.clone());
                let txn = yrs::Transact::transact(&doc);
                programme.governance(&txn)
            }
            None => plait_shared::Governance::DEFAULT,
        };
        let mut cells = self
            .rules
            .lock()
            .map_err(|_| AppError::Unavailable("the rules are being changed".into()))?;
        Ok(cells
            .entry(programme.clone())
            .or_insert_with(|| registry::RulesCell::new(rules))
            .clone())
    }

    /// The programme document `doc` belongs to (itself for a programme),
    /// read off the async threads (sled blocks).
    ///
    /// # Errors
    /// When storage fails.
    pub async fn programme_of(
        &self,
        doc: &plait_shared::DocId,
    ) -> Result<Option<plait_shared::DocId>, AppError> {
        let accounts = self.accounts.clone();
        let doc = doc.clone();
        Ok(tokio::task::spawn_blocking(move || accounts.programme_of(&doc)).await??)
    }

    /// Builds the state over a sled store (documents, accounts and the
    /// audit trail share its database). Must be called inside a tokio
    /// runtime.
    ///
    /// # Errors
    /// When the account or audit trees cannot be opened.
    pub fn new(store: Arc<SledStore>, config: Config) -> Result<Self, StoreError> {
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let audit = Audit::open(store.db())?;
        let blobs = blobs::Blobs::open(store.db())?;
        let accounts = Arc::new(Accounts::open(store.db(), config.sessions).map_err(
            |e| match e {
                accounts::AccountError::Store(e) => e,
                other => StoreError::Corrupt(other.to_string()),
            },
        )?);
        let registry = Registry::new(
            store,
            Some(audit.clone()),
            config.registry.clone(),
            Arc::new(Metrics::default()),
            tasks.clone(),
            shutdown.clone(),
        );
        let limiter = Arc::new(auth::SignInLimiter::new(
            config.sign_in_window,
            config.sign_ins_per_account,
            config.sign_ins_per_address,
        ));
        let unauthenticated_bodies = Arc::new(tokio::sync::Semaphore::new(
            config.max_unauthenticated_bodies.max(1),
        ));
        Ok(AppState {
            registry,
            config: Arc::new(config),
            shutdown,
            tasks,
            accounts,
            audit,
            limiter,
            unauthenticated_bodies,
            hashing: Arc::new(tokio::sync::Semaphore::new(hashing_slots())),
            blobs,
            rules: Arc::default(),
        })
    }

    /// How many passwords may be hashed at once (one per core).
    pub fn config_hashing_slots(&self) -> usize {
        hashing_slots()
    }

    /// Counts a refused request and passes its error on.
    pub(crate) fn denied(&self, error: AppError) -> AppError {
        self.registry
            .metrics()
            .denied_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        error
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

fn hashing_slots() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// Serves on `listener` until `shutdown` completes; then stops accepting,
/// closes every sync connection with 1001, waits for them and flushes.
///
/// # Errors
/// When the listener fails, or the final flush does.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = state.shutdown.clone();
    let signal = async move {
        shutdown.await;
        token.cancel();
    };
    let sweeper = {
        let accounts = state.accounts.clone();
        let token = state.shutdown.clone();
        state.tasks.spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    () = token.cancelled() => return,
                }
                let accounts = accounts.clone();
                match tokio::task::spawn_blocking(move || accounts.sweep_sessions()).await {
                    Ok(Ok(n)) if n > 0 => tracing::info!(ended = n, "expired sessions removed"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "sweeping sessions failed"),
                    _ => {}
                }
            }
        })
    };
    let router = app(state.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let header_timeout = state.config.header_read_timeout;
    let mut signal = std::pin::pin!(signal);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait, and keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        // Sync messages are small and latency matters: without TCP_NODELAY,
        // Nagle's algorithm meeting the peer's delayed ACK holds a broadcast
        // back by up to 40 ms.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = tower::ServiceExt::map_request(
            router.clone(),
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let mut builder =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder
            .http1()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(header_timeout);
        let connection = builder
            .serve_connection_with_upgrades(
                hyper_util::rt::TokioIo::new(tcp),
                hyper_util::service::TowerToHyperService::new(service),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    // Requests in flight finish; sync connections close with 1001 (the
    // shutdown token) and are waited for below.
    graceful.shutdown().await;
    sweeper.abort();
    state.shutdown.cancel();
    state.tasks.close();
    state.tasks.wait().await;
    state.registry.flush().await?;
    tracing::info!("stopped; everything flushed");
    Ok(())
}
