//! Whole documents and their audit trail over HTTP.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use plait_shared::api::History;
use plait_shared::api::HistoryQuery;
use plait_shared::ActionId;

use crate::extract::ReadDoc;
use crate::{AppError, AppState};

/// `GET /api/docs/{doc_id}`: the document's state as a yrs v1 update; 404 if
/// nothing is stored under that id.
pub(crate) async fn get_doc(
    State(state): State<AppState>,
    ReadDoc { id, .. }: ReadDoc,
) -> Result<impl IntoResponse, AppError> {
    let bytes = state
        .registry
        .existing_state(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    ))
}

/// `GET /api/docs/{doc_id}/history[?action=ID][&limit=N]`: the audit trail,
/// newest first: who changed what, when, from which device, and what was
/// refused.
pub(crate) async fn history(
    State(state): State<AppState>,
    ReadDoc { id, .. }: ReadDoc,
    Query(query): Query<HistoryQuery>,
) -> Result<impl IntoResponse, AppError> {
    let action = query.action.map(ActionId::new).transpose()?;
    let limit = query.limit.unwrap_or(200).clamp(1, 2000);
    let audit = state.audit.clone();
    let records =
        tokio::task::spawn_blocking(move || audit.history(&id, action.as_ref(), limit)).await??;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(History { records }),
    ))
}
