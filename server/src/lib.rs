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

pub mod demo;
mod error;
pub mod guard;
pub mod metrics;
pub mod registry;
mod routes;
pub mod store;
pub mod sync;

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
}

impl Config {
    /// Defaults, serving the client from `client_dir`.
    pub fn new(client_dir: PathBuf) -> Config {
        Config {
            client_dir,
            max_message_bytes: 16 * 1024 * 1024,
            registry: RegistrySettings::default(),
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
}

impl AppState {
    /// Builds the state over a store. Must be called inside a tokio runtime.
    pub fn new(store: Arc<dyn DocStore>, config: Config) -> Self {
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let registry = Registry::new(
            store,
            config.registry.clone(),
            Arc::new(Metrics::default()),
            tasks.clone(),
            shutdown.clone(),
        );
        AppState {
            registry,
            config: Arc::new(config),
            shutdown,
            tasks,
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    routes::router(state)
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
    let server = axum::serve(listener, app(state.clone())).with_graceful_shutdown(signal);
    server.await?;
    state.shutdown.cancel();
    state.tasks.close();
    state.tasks.wait().await;
    state.registry.flush().await?;
    tracing::info!("stopped; everything flushed");
    Ok(())
}
