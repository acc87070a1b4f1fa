//! Liveness and metrics.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;

use crate::accounts::secrets_equal;
use crate::{AppError, AppState};

/// `GET /healthz`: the process is up and serving.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /metrics`: Prometheus text format, for a scraper that presents
/// the configured bearer token (`plait serve --metrics-token`); not served
/// at all without one.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return Err(AppError::NotFound);
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !secrets_equal(presented, token) {
        return Err(state.denied(AppError::Unauthorized(
            "the metrics need their bearer token".into(),
        )));
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.registry.metrics().render(),
    ))
}
