//! The HTTP routes, one module per area.

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

mod assets;
mod docs;
mod health;
mod sync;

pub(crate) fn router(state: AppState) -> Router {
    let assets = assets::service(&state.config.client_dir);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/sync/{doc_id}", get(sync::websocket))
        .route("/api/docs/{doc_id}", get(docs::get_doc))
        .route("/api/docs/{doc_id}/sync", post(sync::http_sync))
        // An unknown API path is an error, not the web client's page.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { crate::AppError::NotFound }),
        )
        .fallback_service(assets)
        .with_state(state)
}
