//! Whole documents over HTTP.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use plait_shared::DocId;

use crate::{AppError, AppState};

/// `GET /api/docs/{doc_id}`: the document's state as a yrs v1 update.
pub(crate) async fn get_doc(
    State(state): State<AppState>,
    Path(doc_id): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let id = DocId::new(doc_id).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let bytes = state.store.get(&id)?.ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    ))
}
