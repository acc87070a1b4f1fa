//! Errors as HTTP responses: a clear, safe message for the client, the
//! details in the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// The server could not do something now (a task that failed, storage of
/// accounts, a flush, an export): logged in detail, answered 503.
macro_rules! unavailable_from {
    ($($source:ty),+ $(,)?) => {
        $(
            impl From<$source> for AppError {
                fn from(e: $source) -> AppError {
                    AppError::Unavailable(e.to_string())
                }
            }
        )+
    };
}

unavailable_from!(
    tokio::task::JoinError,
    crate::accounts::AccountError,
    crate::registry::FlushError,
    csv::Error,
    rust_xlsxwriter::XlsxError,
    zip::result::ZipError,
    std::io::Error,
    crate::registry::ApplyError,
    yrs::encoding::read::Error,
    yrs::error::UpdateError,
);

/// The request itself is wrong (an id or a date that does not parse, a
/// body that does not decode): answered 400 with the reason.
macro_rules! bad_request_from {
    ($($source:ty),+ $(,)?) => {
        $(
            impl From<$source> for AppError {
                fn from(e: $source) -> AppError {
                    AppError::BadRequest(e.to_string())
                }
            }
        )+
    };
}

bad_request_from!(
    plait_shared::InvalidId,
    plait_shared::InvalidDate,
    plait_shared::protocol::BodyError,
);

/// A request that could not be served.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed (a bad document id, say).
    #[error("{0}")]
    BadRequest(String),
    /// Nothing is stored under that name.
    #[error("not found")]
    NotFound,
    /// No live session: sign in.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// It exists already (a programme id in use).
    #[error("{0}")]
    Conflict(String),
    /// Too many failed sign-ins; try again after this long.
    #[error("too many attempts")]
    TooManyRequests(std::time::Duration),
    /// The body is not of a type the endpoint takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too much at once (sign-ins): try again shortly.
    #[error("{0}")]
    Busy(String),
    /// A quota is full (a programme's evidence files).
    #[error("{0}")]
    InsufficientStorage(String),
    /// The body is over the configured limit.
    #[error("request too large")]
    TooLarge,
    /// The server cannot do it now; retrying may help.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, message).into_response(),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not found").into_response(),
            AppError::Conflict(message) => (StatusCode::CONFLICT, message).into_response(),
            AppError::Busy(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, "1")],
                message,
            )
                .into_response(),
            AppError::InsufficientStorage(message) => {
                (StatusCode::INSUFFICIENT_STORAGE, message).into_response()
            }
            AppError::UnsupportedMediaType(message) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, message).into_response()
            }
            AppError::Unauthorized(message) => (
                StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                message,
            )
                .into_response(),
            AppError::Forbidden(message) => (StatusCode::FORBIDDEN, message).into_response(),
            AppError::TooManyRequests(wait) => {
                let seconds = wait.as_secs().max(1);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, seconds.to_string())],
                    format!(
                        "too many failed sign-ins: try again in {} minute(s)",
                        seconds.div_ceil(60)
                    ),
                )
                    .into_response()
            }
            AppError::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "request too large").into_response()
            }
            AppError::Unavailable(detail) => {
                tracing::error!(%detail, "request failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server could not store this; try again",
                )
                    .into_response()
            }
            AppError::Store(e) => {
                tracing::error!(error = %e, "storage failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage failed; try again",
                )
                    .into_response()
            }
        }
    }
}
