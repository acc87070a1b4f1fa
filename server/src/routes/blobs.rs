//! Evidence files over HTTP: `PUT` and `GET /api/blobs/{sha256}?doc={plan}`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use plait_shared::api::BlobQuery;
use plait_shared::api::BlobStored;

use crate::blobs::{hash_of, valid_hash};
use crate::extract::{AttachEvidence, ReadDoc};
use crate::{AppError, AppState};

/// The header by which the uploader confirms the file holds no
/// patient-identifiable data (the client asks them first).
pub use plait_shared::api::NO_PATIENT_DATA_HEADER as NO_PATIENT_DATA;

fn checked_hash(raw: &str) -> Result<&str, AppError> {
    if valid_hash(raw) {
        Ok(raw)
    } else {
        Err(AppError::BadRequest(
            "a blob is named by its SHA-256: 64 lower-case hex digits".into(),
        ))
    }
}

/// `PUT /api/blobs/{sha256}?doc={plan}`: stores an evidence file for a plan
/// (by someone who may attach evidence: [`AttachEvidence`]).
/// The body's SHA-256 must be the name; the header `X-Plait-No-Patient-Data:
/// confirmed` must be present. 201 when stored, 200 when it was there.
pub(crate) async fn put_blob(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    AttachEvidence {
        id: doc, access, ..
    }: AttachEvidence,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let hash = checked_hash(&raw)?.to_owned();
    let confirmed = headers
        .get(NO_PATIENT_DATA)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(plait_shared::api::NO_PATIENT_DATA_CONFIRMED));
    if !confirmed {
        return Err(AppError::BadRequest(
            "confirm that the file holds no patient-identifiable data".into(),
        ));
    }
    if body.len() > state.config.max_blob_bytes {
        return Err(AppError::TooLarge);
    }
    let actual = hash_of(&body);
    if actual != hash {
        return Err(AppError::BadRequest(format!(
            "the file's SHA-256 is {actual}, not {hash}: it was changed or cut short on the way"
        )));
    }
    let accounts = state.accounts.clone();
    let of = doc.clone();
    let programme = tokio::task::spawn_blocking(move || accounts.programme_of(&of))
        .await??
        .ok_or(AppError::NotFound)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let blobs = state.blobs.clone();
    let (h, user) = (hash.clone(), access.user.clone());
    let size = body.len();
    let quota = state.config.max_evidence_bytes;
    let new = tokio::task::spawn_blocking(move || {
        blobs.put(&h, &body, &content_type, &user, &programme, quota)
    })
    .await??
    .map_err(|full| AppError::InsufficientStorage(full.to_string()))?;
    state.registry.flush().await?;
    tracing::info!(user = %access.user, %doc, size, "evidence file stored");
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BlobStored {
            sha256: hash,
            size: size as u64,
        }),
    )
        .into_response())
}

/// `GET /api/blobs/{sha256}?doc={plan}[&name=file.pdf]`: an evidence file,
/// always as an attachment, for members of a programme it was uploaded to.
pub(crate) async fn get_blob(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<BlobQuery>,
    ReadDoc { id: doc, .. }: ReadDoc,
) -> Result<Response, AppError> {
    let hash = checked_hash(&raw)?.to_owned();
    let accounts = state.accounts.clone();
    let of = doc.clone();
    let programme = tokio::task::spawn_blocking(move || accounts.programme_of(&of))
        .await??
        .ok_or(AppError::NotFound)?;
    let blobs = state.blobs.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<_, crate::StoreError> {
        match blobs.meta(&hash)? {
            Some(meta) if meta.programmes.contains(&programme) => {
                Ok(blobs.get(&hash)?.map(|bytes| (meta, bytes)))
            }
            _ => Ok(None),
        }
    })
    .await??;
    let Some((meta, bytes)) = found else {
        return Err(AppError::NotFound);
    };
    let name: String = query
        .name
        .unwrap_or_else(|| "evidence".into())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " ._-()".contains(*c))
        .take(100)
        .collect();
    let name = if name.trim().is_empty() {
        "evidence".to_owned()
    } else {
        name
    };
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
        ],
        bytes.to_vec(),
    )
        .into_response())
}
