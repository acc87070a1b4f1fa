//! What a handler needs to know about who is asking, as axum extractors: a
//! handler that takes one cannot run without its check, and cannot forget
//! part of it (a change without its CSRF check, a document without its
//! access check).
//!
//! - [`SignedIn`]: a live session (bearer token or cookie).
//! - [`Changing`]: the same, for a request that changes something: a
//!   browser's cookie must come with the session's CSRF token and a
//!   same-site `Origin`.
//! - [`ReadDoc`] / [`WriteDoc`]: the document the request names (the path
//!   parameter `{doc}`, or else the query parameter `doc=`), with the
//!   session's access to it through its programme; [`WriteDoc`] is also
//!   [`Changing`].
//! - [`SocketDoc`]: a WebSocket's document: the session may come as
//!   `?token=` (Yjs's provider cannot set headers), and the `Origin` is
//!   checked (a page elsewhere cannot open a socket with the cookie).
//! - [`ChangingOwnAccount`]: [`Changing`] for what an account with a
//!   one-time password may do (choose its own, sign out); every other
//!   change, and every document, waits for that (403).
//! - [`AdminOf`]: [`Changing`] by someone who administers the programme the
//!   path names (`{doc}`), asked as [`plait_shared::access::administers`]
//!   asks; [`Superuser`]: [`Changing`] by a server administrator. Each
//!   route names its task ([`AdminTask`]), for the words of its refusal.
//! - [`MetricsScraper`]: a request for `/metrics` with its bearer token.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::{header, request::Parts};
use plait_shared::DocId;

use crate::accounts::secrets_equal;
use crate::auth::{authenticate, check_csrf, check_origin, doc_access, Access, Authed};
use crate::{AppError, AppState};

/// A request with a live session.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Authed);

/// A request with a live session that changes something (CSRF and origin
/// checked for a browser's cookie).
#[derive(Debug, Clone)]
pub struct Changing(pub Authed);

/// [`Changing`] for the account's own password and session, allowed while
/// its password is a one-time one.
#[derive(Debug, Clone)]
pub struct ChangingOwnAccount(pub Authed);

/// An account with a one-time password does nothing else until it has
/// chosen its own.
fn own_password_chosen(authed: &Authed) -> Result<(), AppError> {
    if authed.user.must_change_password {
        Err(AppError::Forbidden(
            "choose your own password first (POST /api/me/password)".into(),
        ))
    } else {
        Ok(())
    }
}

/// A document named by a request, with the session's access to it.
#[derive(Debug, Clone)]
pub struct ReadDoc {
    /// The document.
    pub id: DocId,
    /// The session.
    pub authed: Authed,
    /// Its access to the document.
    pub access: Access,
}

/// The same, for a request that changes the document (CSRF checked).
#[derive(Debug, Clone)]
pub struct WriteDoc {
    /// The document.
    pub id: DocId,
    /// The session.
    pub authed: Authed,
    /// Its access to the document.
    pub access: Access,
}

/// A WebSocket's document, with the session's access to it.
#[derive(Debug, Clone)]
pub struct SocketDoc {
    /// The document.
    pub id: DocId,
    /// The session.
    pub authed: Authed,
    /// Its access to the document.
    pub access: Access,
}

/// The document a request names: its path parameter `doc`, else its query
/// parameter `doc`.
async fn named_doc(parts: &mut Parts, state: &AppState) -> Result<DocId, AppError> {
    let from_path = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .ok()
        .and_then(|Path(mut params)| params.remove("doc"));
    let raw = match from_path {
        Some(raw) => raw,
        None => Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Query(mut params)| params.remove("doc"))
            .ok_or_else(|| AppError::BadRequest("which document? (doc=…)".into()))?,
    };
    Ok(DocId::new(raw)?)
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(SignedIn(authenticate(state, &parts.headers, None).await?))
    }
}

impl FromRequestParts<AppState> for Changing {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let authed = authenticate(state, &parts.headers, None).await?;
        check_csrf(state, &authed, &parts.headers)?;
        own_password_chosen(&authed)?;
        Ok(Changing(authed))
    }
}

impl FromRequestParts<AppState> for ChangingOwnAccount {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let authed = authenticate(state, &parts.headers, None).await?;
        check_csrf(state, &authed, &parts.headers)?;
        Ok(ChangingOwnAccount(authed))
    }
}

/// The document a request names, its session (with the CSRF check when it
/// changes something) and the session's access to the document.
async fn doc_request(
    parts: &mut Parts,
    state: &AppState,
    changing: bool,
) -> Result<(DocId, Authed, Access), AppError> {
    let id = named_doc(parts, state).await?;
    let authed = if changing {
        Changing::from_request_parts(parts, state).await?.0
    } else {
        SignedIn::from_request_parts(parts, state).await?.0
    };
    own_password_chosen(&authed)?;
    let access = doc_access(state, &authed, &id).await?;
    Ok((id, authed, access))
}

impl FromRequestParts<AppState> for ReadDoc {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (id, authed, access) = doc_request(parts, state, false).await?;
        Ok(ReadDoc { id, authed, access })
    }
}

impl FromRequestParts<AppState> for WriteDoc {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (id, authed, access) = doc_request(parts, state, true).await?;
        Ok(WriteDoc { id, authed, access })
    }
}

impl FromRequestParts<AppState> for SocketDoc {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let id = named_doc(parts, state).await?;
        let token = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Query(mut params)| params.remove("token"));
        let authed = authenticate(state, &parts.headers, token.as_deref()).await?;
        check_origin(state, &parts.headers)?;
        own_password_chosen(&authed)?;
        let access = doc_access(state, &authed, &id).await?;
        Ok(SocketDoc { id, authed, access })
    }
}

/// What a programme admin's or a server administrator's route does: the
/// words of its refusal (403, counted as a refused request), and whether
/// it may name a programme not created yet.
pub trait AdminTask {
    /// Why the request is refused, in words for the person who made it.
    const REFUSAL: &'static str;
    /// The path may name a programme that does not exist yet, which a
    /// server administrator's request creates (an import); otherwise it
    /// must name an existing programme's own document.
    const CREATES_PROGRAMME: bool = false;
}

/// A signed-in person (CSRF checked) who administers the programme the
/// path names (`{doc}`), for the task `T`.
#[derive(Debug)]
pub struct AdminOf<T> {
    /// The programme.
    pub id: DocId,
    /// The session.
    pub authed: Authed,
    task: PhantomData<fn() -> T>,
}

impl<T: AdminTask> FromRequestParts<AppState> for AdminOf<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Changing(authed) = Changing::from_request_parts(parts, state).await?;
        let raw = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Path(mut params)| params.remove("doc"))
            .ok_or_else(|| AppError::BadRequest("which programme?".into()))?;
        let id = DocId::new(raw)?;
        let administers = authed
            .user
            .role_in(&id)
            .is_some_and(plait_shared::access::administers);
        let allowed = administers && {
            let owner = state.programme_of(&id).await?;
            if T::CREATES_PROGRAMME {
                owner.is_some() || authed.user.superuser
            } else {
                owner.as_ref() == Some(&id)
            }
        };
        if !allowed {
            return Err(state.denied(AppError::Forbidden(T::REFUSAL.into())));
        }
        Ok(AdminOf {
            id,
            authed,
            task: PhantomData,
        })
    }
}

/// A server administrator's request that changes something (CSRF
/// checked), for the task `T`.
#[derive(Debug)]
pub struct Superuser<T> {
    /// The session.
    pub authed: Authed,
    task: PhantomData<fn() -> T>,
}

impl<T: AdminTask> FromRequestParts<AppState> for Superuser<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Changing(authed) = Changing::from_request_parts(parts, state).await?;
        if !authed.user.superuser {
            return Err(state.denied(AppError::Forbidden(T::REFUSAL.into())));
        }
        Ok(Superuser {
            authed,
            task: PhantomData,
        })
    }
}

/// A scraper of `/metrics` that presents the configured bearer token
/// (`plait serve --metrics-token`); without one configured, `/metrics` is
/// not served at all (404).
#[derive(Debug, Clone, Copy)]
pub struct MetricsScraper;

impl FromRequestParts<AppState> for MetricsScraper {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(token) = state.config.metrics_token.as_deref() else {
            return Err(AppError::NotFound);
        };
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if secrets_equal(presented, token) {
            Ok(MetricsScraper)
        } else {
            Err(state.denied(AppError::Unauthorized(
                "the metrics need their bearer token".into(),
            )))
        }
    }
}
