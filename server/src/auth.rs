//! Who is asking, and what they may reach: sessions from a cookie, a bearer
//! token or (for WebSocket clients that cannot set headers, like Yjs's
//! `WebsocketProvider`) a `?token=` parameter; CSRF and origin checks for
//! cookie-authenticated requests; and access to a document through
//! membership of its programme.
//!
//! Handlers do not call these checks: they take the extractors of
//! [`crate::extract`], which run them.

use axum::http::{header, HeaderMap};
use plait_shared::{DocId, Role, UserId};

use plait_shared::admission::schema::DocShape;

use crate::accounts::{secrets_equal, Session, SessionKey, User};
use crate::registry::{Signature, UpdateAuthor};
use crate::{AppError, AppState};

/// The session cookie's name.
pub const COOKIE: &str = "plait_session";
/// The header a cookie-authenticated request that changes anything must
/// carry, holding the session's CSRF token.
pub use plait_shared::api::CSRF_HEADER;

/// What kind of document a connection is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A programme's own document (phases, workstreams, the plan index).
    Programme,
    /// An action plan of a programme.
    Plan,
    /// A document of no programme (server administrators only).
    Other,
}

/// A person's access to one document.
#[derive(Debug, Clone)]
pub struct Access {
    /// Who.
    pub user: UserId,
    /// The name people see.
    pub name: String,
    /// Their role in the document's programme.
    pub role: Role,
    /// What the document is.
    pub kind: DocKind,
    /// The session they use.
    pub session: SessionKey,
    /// The device they signed in on.
    pub device: String,
    /// The programme's governance settings.
    pub rules: crate::registry::RulesCell,
}

impl Access {
    /// `authed`'s access, in `role`, to a document of `kind` under a
    /// programme's `rules`. Handlers do not call this: the extractors of
    /// [`crate::extract`] do, with the role the account has.
    pub(crate) fn new(
        authed: &Authed,
        role: Role,
        kind: DocKind,
        rules: crate::registry::RulesCell,
    ) -> Access {
        Access {
            user: authed.user.username.clone(),
            name: authed.user.name.clone(),
            role,
            kind,
            session: authed.key,
            device: authed.session.device.clone(),
            rules,
        }
    }

    /// The server writing for them what only the server may write
    /// ([`UpdateAuthor::OnBehalf`]), recorded under their name with the
    /// `changes` it makes.
    pub fn on_behalf(
        &self,
        shape: DocShape,
        changes: Vec<plait_shared::changes::Change>,
    ) -> UpdateAuthor {
        UpdateAuthor::OnBehalf {
            who: self.signature(),
            shape,
            changes,
        }
    }

    fn signature(&self) -> Signature {
        Signature {
            user: self.user.clone(),
            name: self.name.clone(),
            session: self.session.short(),
            device: self.device.clone(),
        }
    }

    /// Their updates' author, as the document engine takes it.
    pub fn author(&self) -> UpdateAuthor {
        let who = self.signature();
        let shape = match self.kind {
            DocKind::Programme => DocShape::Programme,
            DocKind::Plan => DocShape::Plan,
            DocKind::Other => return UpdateAuthor::Administrator { who },
        };
        UpdateAuthor::Member {
            who,
            role: self.role,
            shape,
            rules: self.rules.clone(),
        }
    }
}

/// How a request proved its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The `plait_session` cookie (a browser): changes need the CSRF header.
    Cookie,
    /// `Authorization: Bearer`.
    Bearer,
    /// `?token=` (WebSocket only).
    Query,
}

/// A request's session.
#[derive(Debug, Clone)]
pub struct Authed {
    /// The session's key.
    pub key: SessionKey,
    /// The session.
    pub session: Session,
    /// The account.
    pub user: User,
    /// How it was presented.
    pub via: Via,
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Finds the request's session: a bearer token first, then the cookie, then
/// (when `query` is given) a `?token=`.
///
/// # Errors
/// [`AppError::Unauthorized`] without a live session.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Authed, AppError> {
    let presented = bearer_token(headers)
        .map(|t| (t, Via::Bearer))
        .or_else(|| cookie_token(headers).map(|t| (t, Via::Cookie)))
        .or_else(|| query.map(|t| (t.to_owned(), Via::Query)));
    let Some((token, via)) = presented.filter(|(t, _)| !t.is_empty() && t.len() <= 128) else {
        return Err(state.denied(AppError::Unauthorized("sign in first".into())));
    };
    let accounts = state.accounts.clone();
    let found = tokio::task::spawn_blocking(move || accounts.session(&token)).await??;
    match found {
        Some((key, session, user)) => Ok(Authed {
            key,
            session,
            user,
            via,
        }),
        None => Err(state.denied(AppError::Unauthorized(
            "your session has ended: sign in again".into(),
        ))),
    }
}

/// A cookie-authenticated request that changes something must come from
/// this site's pages: it carries the session's CSRF token in
/// `X-CSRF-Token` (compared in constant time), and its `Origin`, if any, is
/// this host. Bearer-token requests carry no ambient credentials and need
/// neither.
///
/// # Errors
/// [`AppError::Forbidden`].
pub(crate) fn check_csrf(
    state: &AppState,
    authed: &Authed,
    headers: &HeaderMap,
) -> Result<(), AppError> {
    if authed.via != Via::Cookie {
        return Ok(());
    }
    check_origin(state, headers)?;
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if secrets_equal(presented, &authed.session.csrf) {
        Ok(())
    } else {
        Err(state.denied(AppError::Forbidden(
            "this request is missing its CSRF token".into(),
        )))
    }
}

/// A browser's `Origin`, when sent, must be this host (a page elsewhere
/// cannot open a WebSocket or post with the user's cookie).
///
/// # Errors
/// [`AppError::Forbidden`].
pub(crate) fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or_default();
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(state.denied(AppError::Forbidden(format!(
            "requests from {origin} are not accepted"
        ))))
    }
}

/// The access `authed` has to `doc`.
///
/// # Errors
/// [`AppError::NotFound`] for a document of no programme (unless a server
/// administrator asks) and, alike, for one of a programme they are not in.
pub(crate) async fn doc_access(
    state: &AppState,
    authed: &Authed,
    doc: &DocId,
) -> Result<Access, AppError> {
    let accounts = state.accounts.clone();
    let id = doc.clone();
    let programme = tokio::task::spawn_blocking(move || accounts.programme_of(&id)).await??;
    let (kind, role, rules) = match programme {
        None if authed.user.superuser => (DocKind::Other, Role::Admin, Default::default()),
        None => return Err(AppError::NotFound),
        Some(programme) => {
            let kind = if &programme == doc {
                DocKind::Programme
            } else {
                DocKind::Plan
            };
            // The same answer as for a document that does not exist: a
            // non-member learns nothing of which ids are in use.
            let Some(role) = authed.user.role_in(&programme) else {
                return Err(state.denied(AppError::NotFound));
            };
            // A closed programme is an archive: everyone reads, nobody
            // changes anything (the admission refuses every change of a
            // viewer).
            let accounts = state.accounts.clone();
            let id = programme.clone();
            let closed = tokio::task::spawn_blocking(move || accounts.closed(&id)).await??;
            let role = if closed.is_some() { Role::Viewer } else { role };
            (kind, role, state.rules_of(&programme).await?)
        }
    };
    Ok(Access::new(authed, role, kind, rules))
}

/// The client's address, for the sign-in limit: the connection's peer, or,
/// when the peer is a trusted reverse proxy, the last address its
/// `X-Forwarded-For` names that is not itself a trusted proxy (the ones
/// before it are whatever the client wrote).
pub fn client_address(
    trusted: &[std::net::IpAddr],
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> String {
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .rev()
        .find(|a| !trusted.contains(a))
        .map_or_else(|| peer.to_string(), |a| a.to_string())
}

/// A short name for the device from its User-Agent ("Chrome on Linux").
pub fn device_of(headers: &HeaderMap) -> String {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("node", "Node.js"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| *name);
    let system = [
        ("Windows", "Windows"),
        ("iPad", "iPad"),
        ("iPhone", "iPhone"),
        ("Android", "Android"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, _) if agent.is_empty() => "unknown device".to_owned(),
        (None, _) => agent.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_bearer_then_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "x=1; plait_session=abc".parse().unwrap());
        assert_eq!(cookie_token(&headers).as_deref(), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(bearer_token(&headers).as_deref(), Some("xyz"));
    }

    #[test]
    fn devices_are_named_briefly() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::USER_AGENT,
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/141.0 Safari/537.36"
                .parse()
                .unwrap(),
        );
        assert_eq!(device_of(&headers), "Chrome (headless) on Linux");
    }
}
