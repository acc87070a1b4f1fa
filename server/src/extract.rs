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
//!   [`Changing`]. A route that serves one kind of document names it
//!   ([`DocRoute`]: `ReadDoc<ProgrammeOnly>`, or a route's own marker with
//!   its words for another kind); the default, [`AnyDoc`], is any.
//! - [`AttachEvidence`]: [`WriteDoc`] for an action plan, by someone who
//!   may attach evidence to it
//!   ([`plait_shared::access::may_attach_evidence`]).
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
//!   Each gives the [`Access`] its changes are made with (`access`), in
//!   the role the account has, so no handler states a role itself.
//! - [`MetricsScraper`]: a request for `/metrics` with its bearer token.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::{header, request::Parts};
use plait_shared::access::{administers, may_attach_evidence};
use plait_shared::{DocId, Role};

use crate::accounts::secrets_equal;
use crate::auth::{authenticate, check_csrf, check_origin, doc_access, Access, Authed, DocKind};
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

/// Which documents a route serves ([`ReadDoc`], [`WriteDoc`]), and its
/// answer for a document of another kind, which its handler never sees.
pub trait DocRoute {
    /// The kind of document it serves; `None` for any.
    const KIND: Option<DocKind>;

    /// Its answer for a document of another kind: by default the same as
    /// for a document that is not there (404).
    fn wrong_kind() -> AppError {
        AppError::NotFound
    }
}

/// A route for any document the session may reach.
#[derive(Debug)]
pub struct AnyDoc;

impl DocRoute for AnyDoc {
    const KIND: Option<DocKind> = None;
}

/// A route for a programme's own document; for any other, 404 (as for a
/// programme that is not there).
#[derive(Debug)]
pub struct ProgrammeOnly;

impl DocRoute for ProgrammeOnly {
    const KIND: Option<DocKind> = Some(DocKind::Programme);
}

/// A document named by a request, of the kind route `K` serves, with the
/// session's access to it.
#[derive(Debug)]
pub struct ReadDoc<K = AnyDoc> {
    /// The document.
    pub id: DocId,
    /// The session.
    pub authed: Authed,
    /// Its access to the document.
    pub access: Access,
    route: PhantomData<fn() -> K>,
}

/// The same, for a request that changes the document (CSRF checked).
#[derive(Debug)]
pub struct WriteDoc<K = AnyDoc> {
    /// The document.
    pub id: DocId,
    /// The session.
    pub authed: Authed,
    /// Its access to the document.
    pub access: Access,
    route: PhantomData<fn() -> K>,
}

/// A file for a programme's documents: evidence attached to an action plan,
/// by someone who may attach evidence
/// ([`plait_shared::access::may_attach_evidence`]), or a paper tabled at a
/// meeting, for the programme's own document, by its admin
/// ([`plait_shared::access::administers`]); 403 otherwise (counted as a
/// refused request), 400 for a document of no programme.
#[derive(Debug)]
pub struct AttachEvidence {
    /// The plan.
    pub id: DocId,
    /// The session.
    pub authed: Authed,
    /// Its access to the plan.
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
/// changes something) and the session's access to the document, which must
/// be of the kind route `K` serves.
async fn doc_request<K: DocRoute>(
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
    if K::KIND.is_some_and(|kind| kind != access.kind) {
        return Err(K::wrong_kind());
    }
    Ok((id, authed, access))
}

impl<K: DocRoute> FromRequestParts<AppState> for ReadDoc<K> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (id, authed, access) = doc_request::<K>(parts, state, false).await?;
        Ok(ReadDoc {
            id,
            authed,
            access,
            route: PhantomData,
        })
    }
}

impl<K: DocRoute> FromRequestParts<AppState> for WriteDoc<K> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (id, authed, access) = doc_request::<K>(parts, state, true).await?;
        Ok(WriteDoc {
            id,
            authed,
            access,
            route: PhantomData,
        })
    }
}

impl FromRequestParts<AppState> for AttachEvidence {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let WriteDoc {
            id, authed, access, ..
        } = WriteDoc::<AnyDoc>::from_request_parts(parts, state).await?;
        let allowed = match access.kind {
            DocKind::Plan => may_attach_evidence(access.role).map_err(|why| why.to_string()),
            DocKind::Programme if administers(access.role) => Ok(()),
            DocKind::Programme => {
                Err("only the programme's admin keeps papers for its meetings".to_owned())
            }
            DocKind::Other => return Err(AppError::BadRequest(
                "a file belongs to an action plan (evidence) or a programme (a meeting's papers)"
                    .into(),
            )),
        };
        if let Err(why) = allowed {
            return Err(state.denied(AppError::Forbidden(why)));
        }
        Ok(AttachEvidence { id, authed, access })
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
    /// The role they administer it in.
    role: Role,
    task: PhantomData<fn() -> T>,
}

impl<T> AdminOf<T> {
    /// Their access to a document of the programme, of `kind`, in the
    /// role they administer it in, under its governance settings.
    ///
    /// # Errors
    /// The programme's settings cannot be read.
    pub async fn access(&self, state: &AppState, kind: DocKind) -> Result<Access, AppError> {
        let rules = state.rules_of(&self.id).await?;
        Ok(Access::new(&self.authed, self.role, kind, rules))
    }
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
        let refused = || state.denied(AppError::Forbidden(T::REFUSAL.into()));
        let Some(role) = authed.user.role_in(&id).filter(|role| administers(*role)) else {
            return Err(refused());
        };
        let owner = state.programme_of(&id).await?;
        // A closed programme is an archive: nothing of it is administered.
        let accounts = state.accounts.clone();
        let programme = id.clone();
        if tokio::task::spawn_blocking(move || accounts.closed(&programme))
            .await??
            .is_some()
        {
            return Err(state.denied(AppError::Conflict(
                "the programme is closed (archived): nothing in it changes".into(),
            )));
        }
        let allowed = if T::CREATES_PROGRAMME {
            owner.is_some() || authed.user.superuser
        } else {
            owner.as_ref() == Some(&id)
        };
        if !allowed {
            return Err(refused());
        }
        Ok(AdminOf {
            id,
            authed,
            role,
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

impl<T: AdminTask> Superuser<T> {
    /// Their access to a document of `programme`, of `kind`, in the role
    /// they have in it (a server administrator is every programme's
    /// admin: [`crate::accounts::User::role_in`]), under its governance
    /// settings (the defaults for a programme not created yet).
    ///
    /// # Errors
    /// The programme's settings cannot be read.
    pub async fn access(
        &self,
        state: &AppState,
        programme: &DocId,
        kind: DocKind,
    ) -> Result<Access, AppError> {
        let role = self
            .authed
            .user
            .role_in(programme)
            .ok_or_else(|| state.denied(AppError::Forbidden(T::REFUSAL.into())))?;
        let rules = state.rules_of(programme).await?;
        Ok(Access::new(&self.authed, role, kind, rules))
    }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt;

    use super::*;
    use crate::{Config, SledStore};

    /// Each route's answer for a document of a kind it does not serve, and
    /// the refusal of evidence from a viewer, before any handler runs.
    #[tokio::test]
    async fn routes_answer_for_the_documents_they_do_not_serve() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let state = AppState::new(store, Config::new(dir.path().join("client"))).unwrap();
        let (programme, plan) = (
            DocId::new("prog").unwrap(),
            DocId::new("prog_plan").unwrap(),
        );
        state
            .accounts
            .set_programme_of(&programme, &programme)
            .unwrap();
        state.accounts.set_programme_of(&plan, &programme).unwrap();
        let mut tokens = HashMap::new();
        for (username, role) in [("ed", Role::Contributor), ("vi", Role::Viewer)] {
            state
                .accounts
                .add_user(username, username, "a long password", false)
                .unwrap();
            state
                .accounts
                .grant(username, &programme, Some(role))
                .unwrap();
            let user = state.accounts.user(username).unwrap().unwrap();
            tokens.insert(
                username,
                state.accounts.start_session(&user, "tests").unwrap().0,
            );
        }
        let hash = "a".repeat(64);
        let cases = [
            (
                "ed",
                Method::PUT,
                format!("/api/blobs/{hash}?doc=prog"),
                403,
                "only the programme's admin keeps papers for its meetings",
            ),
            (
                "vi",
                Method::PUT,
                format!("/api/blobs/{hash}?doc=prog_plan"),
                403,
                "viewers cannot attach evidence",
            ),
            (
                "ed",
                Method::GET,
                "/api/docs/prog/export".into(),
                400,
                "only an action plan exports as a table",
            ),
            (
                "ed",
                Method::GET,
                "/api/docs/prog/findings/f1/pack".into(),
                400,
                "an evidence pack is of a finding of an action plan",
            ),
            (
                "ed",
                Method::GET,
                "/api/programmes/prog_plan/export".into(),
                404,
                "not found",
            ),
            (
                "ed",
                Method::GET,
                "/api/programmes/prog_plan/report".into(),
                404,
                "not found",
            ),
            (
                "ed",
                Method::GET,
                "/api/programmes/prog_plan/members".into(),
                404,
                "not found",
            ),
        ];
        for (who, method, path, status, message) in cases {
            let denied = state
                .registry
                .metrics()
                .denied_requests
                .load(Ordering::Relaxed);
            let request = Request::builder()
                .method(method.clone())
                .uri(&path)
                .header(header::AUTHORIZATION, format!("Bearer {}", tokens[who]))
                .body(Body::empty())
                .unwrap();
            let answer = crate::app(state.clone()).oneshot(request).await.unwrap();
            assert_eq!(
                answer.status(),
                StatusCode::from_u16(status).unwrap(),
                "{method} {path}"
            );
            let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
                .await
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&body), message, "{method} {path}");
            // Only the refusal of a person counts as a refused request.
            let counted = state
                .registry
                .metrics()
                .denied_requests
                .load(Ordering::Relaxed)
                - denied;
            assert_eq!(counted, u64::from(status == 403), "{method} {path}");
        }
    }
}
