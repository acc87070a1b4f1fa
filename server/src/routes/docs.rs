//! Whole documents over HTTP.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use yrs::{ReadTxn, StateVector, Transact};

use crate::{AppError, AppState};

pub(crate) fn doc_id(raw: String) -> Result<plait_shared::DocId, AppError> {
    plait_shared::DocId::new(raw).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// `GET /api/docs/{doc_id}`: the document's state as a yrs v1 update; 404 if
/// nothing is stored under that id.
pub(crate) async fn get_doc(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let id = doc_id(raw)?;
    if !state.registry.is_loaded(&id) && !state.registry.store().exists(&id)? {
        return Err(AppError::NotFound);
    }
    let lease = state.registry.lease(&id).await?;
    let bytes = lease
        .state()
        .lock()
        .await
        .awareness
        .doc()
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    ))
}
