//! Liveness and metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::extract::MetricsScraper;
use crate::AppState;

/// `GET /healthz`: the process is up and serving.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /metrics`: Prometheus text format, for a scraper that presents
/// the configured bearer token (`plait serve --metrics-token`); not served
/// at all without one.
pub(crate) async fn metrics(State(state): State<AppState>, _: MetricsScraper) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.registry.metrics().render(),
    )
}
