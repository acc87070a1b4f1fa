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

use axum::Router;
use tokio::net::TcpListener;

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod blobs;
pub mod check;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod digest;
mod error;
pub mod export;
pub mod extract;
pub mod format;
pub mod gc;
pub mod guard;
pub mod import;
pub mod kv;
pub mod limiter;
pub mod metrics;
pub mod migrate;
pub mod oidc;
pub mod postgres;
pub mod registry;
mod routes;
pub mod state;
pub mod store;
pub mod sync;
pub mod wire;

pub use accounts::{Accounts, SessionSettings};
pub use audit::Audit;
pub use config::Config;
pub use error::AppError;
pub use metrics::Metrics;
pub use postgres::PgStore;
pub use registry::{Registry, RegistrySettings};
pub use state::AppState;
pub use store::{DocStore, SledStore, StoreError};

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
    // The weekly digest's scheduler (nothing without a mail server).
    state
        .tasks
        .spawn(state.digests.clone().run(state.shutdown.clone()));
    let router = app(state.clone());
    // HTTP/1.1 only (browsers speak HTTP/2 only over TLS, which a reverse
    // proxy ends): an upgraded sync connection is then the TCP socket
    // itself, which the WebSocket wire writes to directly (`wire.rs`).
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(state.config.header_read_timeout);
    // Requests in flight finish at shutdown; each connection is told to
    // stop after its current request.
    let draining = tokio_util::sync::CancellationToken::new();
    let requests = tokio_util::task::TaskTracker::new();
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
        let connection = http
            .serve_connection(
                hyper_util::rt::TokioIo::new(tcp),
                hyper_util::service::TowerToHyperService::new(service),
            )
            .with_upgrades();
        let draining = draining.clone();
        requests.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = draining.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    // Requests in flight finish; sync connections close with 1001 (the
    // shutdown token) and are waited for below.
    draining.cancel();
    requests.close();
    requests.wait().await;
    sweeper.abort();
    state.shutdown.cancel();
    state.tasks.close();
    state.tasks.wait().await;
    state.registry.flush().await?;
    tracing::info!("stopped; everything flushed");
    Ok(())
}
