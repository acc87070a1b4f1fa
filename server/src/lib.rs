//! The Plait server: stores documents in sled, serves them and the web client.
//!
//! `main.rs` parses the configuration and calls [`serve`]; tests bind port 0
//! and pass their own listener.
//!
//! This is the foundation: documents are read whole over HTTP. The y-websocket
//! sync, durable acknowledgement and fan-out arrive with the sync-server issue.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub mod demo;
mod error;
mod routes;
mod store;

pub use error::AppError;
pub use store::{Store, StoreError};

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The built web client to serve at `/`.
    pub client_dir: PathBuf,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The documents.
    pub store: Store,
    /// The configuration.
    pub config: Arc<Config>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(store: Store, config: Config) -> Self {
        AppState {
            store,
            config: Arc::new(config),
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves `app` on `listener` until `shutdown` completes, then flushes sled.
///
/// # Errors
/// When the listener fails, or the final flush does.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = state.store.clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    store.flush().await?;
    Ok(())
}
