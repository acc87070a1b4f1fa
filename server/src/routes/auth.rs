//! Signing in and out, and who is signed in.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use axum::extract::{Path, Query};
use plait_shared::api::{
    ChangePassword, CreatedAccount, Invite, Me, Member, Membership, SetRole, SignIn, SignInOptions,
    SsoFailure, SSO_FAILURE_PARAM, SSO_PATH,
};

use crate::oidc::{Callback, Identity, UnknownIdentities, BINDING_COOKIE, PENDING_FOR};

use crate::accounts::{Session, SignInError, User};
use crate::auth::{check_origin, client_address, device_of, COOKIE};
use crate::extract::{AdminOf, AdminTask, ChangingOwnAccount, ProgrammeOnly, ReadDoc, SignedIn};
use crate::{AppError, AppState};

fn me(state: &AppState, user: &User, session: &Session, token: Option<String>) -> Me {
    let settings = state.accounts.settings();
    Me {
        username: user.username.clone(),
        name: user.name.clone(),
        superuser: user.superuser,
        must_change_password: user.must_change_password,
        programmes: user
            .grants
            .iter()
            .map(|(id, role)| Membership {
                id: id.clone(),
                role: *role,
            })
            .collect(),
        csrf: session.csrf.clone(),
        expires_at: session
            .created_at
            .saturating_add(u64::try_from(settings.absolute.as_millis()).unwrap_or(u64::MAX)),
        idle_seconds: settings.idle.as_secs(),
        token,
        closed: state
            .accounts
            .closed_programmes()
            .unwrap_or_default()
            .into_iter()
            .filter(|id| user.role_in(id).is_some())
            .collect(),
    }
}

fn is_secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn session_cookie(value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

fn count_failed_sign_in(state: &AppState) {
    state
        .registry
        .metrics()
        .failed_sign_ins
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// `POST /api/auth/login` with `{"username", "password"}`: starts a session.
/// Browsers get it as an HttpOnly cookie; other clients use the `token` in
/// the answer as a bearer token (or `?token=` on a WebSocket).
pub(crate) async fn login(
    State(state): State<AppState>,
    request: Request<Body>,
) -> Result<Response, AppError> {
    let (parts, body) = request.into_parts();
    // Only this site's pages sign in: a cross-site form can post text/plain
    // without asking first (login CSRF: the victim signed in as the
    // attacker), but not JSON, and a browser says where a request came from.
    check_origin(&state, &parts.headers)?;
    if !state.config.passwords {
        return Err(AppError::Forbidden(
            "signing in with a password is switched off here: sign in with your organisation's account"
                .into(),
        ));
    }
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(AppError::UnsupportedMediaType(
            "sign in with a JSON body (Content-Type: application/json)".into(),
        ));
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let address = client_address(&state.config.trusted_proxies, peer, &parts.headers);
    // The only body read before a session is known: a few at a time, so a
    // crowd of half-sent sign-ins cannot hold the server's memory.
    let Ok(_reading) = state.unauthenticated_bodies.clone().try_acquire_owned() else {
        return Err(AppError::Busy(
            "too many sign-ins at once; try again".into(),
        ));
    };
    let body = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| AppError::TooLarge)?;
    let SignIn { username, password } = serde_json::from_slice(&body).map_err(|e| {
        AppError::BadRequest(format!("expected {{\"username\", \"password\"}}: {e}"))
    })?;
    let username = username.trim().to_ascii_lowercase();
    let attempt = match state.limiter.attempt(&username, &address) {
        Ok(at) => at,
        Err(wait) => {
            count_failed_sign_in(&state);
            tracing::warn!(%address, "sign-in refused: too many failures");
            return Err(AppError::TooManyRequests(wait));
        }
    };
    // Password hashing is slow by design: at most a few at once, so a
    // crowd of sign-ins queues instead of filling the memory.
    let Ok(Ok(_turn)) = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        state.hashing.clone().acquire_owned(),
    )
    .await
    else {
        return Err(AppError::Busy(
            "too many sign-ins at once; try again".into(),
        ));
    };
    let at_once = state.config_hashing_slots() - state.hashing.available_permits();
    state
        .registry
        .metrics()
        .password_hashes_peak
        .fetch_max(at_once as u64, std::sync::atomic::Ordering::Relaxed);
    let accounts = state.accounts.clone();
    let name = username.clone();
    let verified = tokio::task::spawn_blocking(move || accounts.verify(&name, &password)).await?;
    let user = match verified {
        Ok(user) => user,
        Err(SignInError::Store(e)) => return Err(AppError::Unavailable(e.to_string())),
        Err(e) => {
            // Counted already, when the attempt was taken.
            count_failed_sign_in(&state);
            tracing::info!(%address, "sign-in failed");
            return Err(AppError::Unauthorized(e.to_string()));
        }
    };
    state.limiter.succeeded(&username, &address, attempt);
    let device = device_of(&parts.headers);
    let accounts = state.accounts.clone();
    let (who, on) = (user.clone(), device.clone());
    let (token, session) =
        tokio::task::spawn_blocking(move || accounts.start_session(&who, &on)).await??;
    tracing::info!(user = %user.username, %device, "signed in");
    let max_age = state.accounts.settings().absolute.as_secs();
    let cookie = session_cookie(&token, max_age, is_secure(&state, &parts.headers));
    let body = me(&state, &user, &session, Some(token));
    Ok((
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(body),
    )
        .into_response())
}

/// `GET /api/auth/options`: how people sign in here.
pub(crate) async fn options(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(SignInOptions {
            passwords: state.config.passwords,
            providers: state.sso.providers(),
        }),
    )
        .into_response()
}

/// Where a failed single sign-on lands: the sign-in page, saying why.
fn sso_failed(failure: SsoFailure) -> Response {
    let location = format!("/?{SSO_FAILURE_PARAM}={}", failure.code());
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// The query of a sign-in's start.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Start {
    next: Option<String>,
}

/// `GET /api/auth/oidc/{n}/start?next=/p/…`: sends the browser to identity
/// provider `n`, bound to this browser by a cookie.
pub(crate) async fn sso_start(
    State(state): State<AppState>,
    Path(n): Path<usize>,
    Query(start): Query<Start>,
    headers: HeaderMap,
) -> Response {
    let next = start.next.unwrap_or_else(|| "/".into());
    match state.sso.begin(n, &next).await {
        Ok((url, binding)) => {
            let cookie =
                format!(
                "{BINDING_COOKIE}={binding}; Path={SSO_PATH}; HttpOnly; SameSite=Lax; Max-Age={}{}",
                PENDING_FOR.as_secs(),
                if is_secure(&state, &headers) { "; Secure" } else { "" }
            );
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, url),
                    (header::SET_COOKIE, cookie),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(provider = n, "single sign-on could not begin: {e}");
            sso_failed(e.failure())
        }
    }
}

/// The binding cookie the browser sent, if any.
fn binding_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == BINDING_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// `GET /api/auth/oidc/callback?code=…&state=…`: the provider sends the
/// browser back. The identity is checked ([`crate::oidc::Sso::finish`]),
/// matched to an account (a link; else the one account with the same
/// verified e-mail address, which is then linked; else a new account with
/// no programme, or a refusal, by setting), and a session starts as a
/// password sign-in's does.
pub(crate) async fn sso_callback(
    State(state): State<AppState>,
    Query(callback): Query<Callback>,
    headers: HeaderMap,
) -> Response {
    let secure = is_secure(&state, &headers);
    // The binding is used once, whatever happens next.
    let clear_binding = format!(
        "{BINDING_COOKIE}=; Path={SSO_PATH}; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    );
    let (identity, next) = match state
        .sso
        .finish(callback, binding_of(&headers).as_deref())
        .await
    {
        Ok(found) => found,
        Err(e) => {
            count_failed_sign_in(&state);
            tracing::warn!("single sign-on refused: {e}");
            let mut response = sso_failed(e.failure());
            if let Ok(value) = clear_binding.parse() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            return response;
        }
    };
    let accounts = state.accounts.clone();
    let unknown = state.sso.unknown();
    let device = device_of(&headers);
    let found = tokio::task::spawn_blocking(move || {
        account_for(&accounts, &identity, unknown).and_then(|user| match user {
            Ok(user) if !user.disabled => accounts
                .start_session(&user, &device)
                .map(|(token, _)| Ok((user, token))),
            Ok(user) => Ok(Err((SsoFailure::Disabled, user.username.to_string()))),
            Err(failure) => Ok(Err((failure, identity.subject.clone()))),
        })
    })
    .await;
    let (user, token) = match found {
        Ok(Ok(Ok(signed_in))) => signed_in,
        Ok(Ok(Err((failure, who)))) => {
            count_failed_sign_in(&state);
            tracing::warn!(%who, failure = failure.code(), "single sign-on: no account to sign in to");
            return sso_failed(failure);
        }
        Ok(Err(e)) => {
            tracing::error!("single sign-on: {e}");
            return sso_failed(SsoFailure::Unavailable);
        }
        Err(e) => {
            tracing::error!("single sign-on: {e}");
            return sso_failed(SsoFailure::Unavailable);
        }
    };
    tracing::info!(user = %user.username, "signed in through an identity provider");
    let max_age = state.accounts.settings().absolute.as_secs();
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, next),
            (header::SET_COOKIE, session_cookie(&token, max_age, secure)),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response();
    if let Ok(value) = clear_binding.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The account `identity` signs in to: its link; else the one account with
/// its verified e-mail address (linked from then on); else a new one, or
/// none, as `unknown` says.
fn account_for(
    accounts: &crate::accounts::Accounts,
    identity: &Identity,
    unknown: UnknownIdentities,
) -> Result<Result<User, SsoFailure>, crate::accounts::AccountError> {
    if let Some(user) = accounts.identity(&identity.issuer, &identity.subject)? {
        return Ok(Ok(user));
    }
    if let Some(email) = identity.verified_email.as_deref() {
        if let Some(user) = accounts.user_by_email(email)? {
            accounts.link_identity(user.username.as_str(), &identity.issuer, &identity.subject)?;
            tracing::info!(user = %user.username, issuer = %identity.issuer, "identity linked by its verified e-mail address");
            return Ok(Ok(user));
        }
    }
    if unknown == UnknownIdentities::Refuse {
        return Ok(Err(SsoFailure::Unknown));
    }
    let preferred = identity
        .verified_email
        .as_deref()
        .or(identity.preferred_username.as_deref())
        .unwrap_or("user");
    let user = accounts.add_from_identity(
        preferred,
        identity.name.as_deref().unwrap_or_default(),
        identity.verified_email.as_deref(),
        &identity.issuer,
        &identity.subject,
    )?;
    tracing::info!(user = %user.username, issuer = %identity.issuer, "account made for a new identity (no programme)");
    Ok(Ok(user))
}

/// `POST /api/auth/logout`: ends the session and closes its connections.
pub(crate) async fn logout(
    State(state): State<AppState>,
    ChangingOwnAccount(authed): ChangingOwnAccount,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let accounts = state.accounts.clone();
    tokio::task::spawn_blocking(move || accounts.end_session(authed.key)).await??;
    tracing::info!(user = %authed.user.username, "signed out");
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            session_cookie("", 0, is_secure(&state, &headers)),
        )],
    )
        .into_response())
}

/// `GET /api/me`: the signed-in account and its programmes.
pub(crate) async fn get_me(
    State(state): State<AppState>,
    SignedIn(authed): SignedIn,
) -> Result<Response, AppError> {
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(me(&state, &authed.user, &authed.session, None)),
    )
        .into_response())
}

/// `POST /api/me/password` with [`ChangePassword`]: the signed-in person
/// chooses their password (the only change allowed while theirs is a
/// one-time one). Their other sessions end; this one stays.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    ChangingOwnAccount(authed): ChangingOwnAccount,
    Json(change): Json<ChangePassword>,
) -> Result<Response, AppError> {
    let accounts = state.accounts.clone();
    let username = authed.user.username.clone();
    let key = authed.key;
    // Two password hashes: off the async threads.
    let changed = tokio::task::spawn_blocking(move || {
        accounts.change_own_password(username.as_str(), &change.current, &change.new, key)
    })
    .await?;
    match changed {
        Ok(_) => {}
        Err(crate::accounts::AccountError::Invalid(reason)) => {
            return Err(AppError::BadRequest(reason))
        }
        Err(e) => return Err(e.into()),
    }
    let accounts = state.accounts.clone();
    let username = authed.user.username.clone();
    let user = tokio::task::spawn_blocking(move || accounts.user(username.as_str()))
        .await??
        .ok_or(AppError::NotFound)?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(me(&state, &user, &authed.session, None)),
    )
        .into_response())
}

/// Changing a programme's members' roles.
#[derive(Debug)]
pub(crate) struct ChangeMembers;

impl AdminTask for ChangeMembers {
    const REFUSAL: &'static str = "only the programme's admin can change its members";
}

/// Inviting someone new to a programme.
#[derive(Debug)]
pub(crate) struct InvitePeople;

impl AdminTask for InvitePeople {
    const REFUSAL: &'static str = "only the programme's admin can invite people to it";
}

/// The member a path names (`{user}`).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct MemberPath {
    user: String,
}

/// `PUT /api/programmes/{id}/members/{user}` with [`SetRole`]: the
/// programme's admin gives an account a role, changes it, or (`null`)
/// removes them. An admin cannot change their own role (another admin
/// does), so a programme is never left without one by accident.
pub(crate) async fn set_member(
    State(state): State<AppState>,
    AdminOf { id, authed, .. }: AdminOf<ChangeMembers>,
    axum::extract::Path(MemberPath { user: member }): axum::extract::Path<MemberPath>,
    Json(change): Json<SetRole>,
) -> Result<Response, AppError> {
    if member == authed.user.username.as_str() {
        return Err(AppError::BadRequest(
            "you cannot change your own role: ask another admin".into(),
        ));
    }
    let accounts = state.accounts.clone();
    let info = tokio::task::spawn_blocking(move || {
        if accounts.user(&member)?.is_none() {
            return Ok(None);
        }
        accounts.grant(&member, &id, change.role).map(Some)
    })
    .await??
    .ok_or(AppError::NotFound)?;
    Ok(Json(Member {
        username: info.username,
        name: info.name,
        role: change.role.unwrap_or(plait_shared::Role::Viewer),
    })
    .into_response())
}

/// `POST /api/programmes/{id}/members` with [`Invite`]: the programme's
/// admin creates an account for someone new, with a role in the
/// programme and a one-time password, answered once ([`CreatedAccount`]).
pub(crate) async fn invite(
    State(state): State<AppState>,
    AdminOf { id, .. }: AdminOf<InvitePeople>,
    Json(invite): Json<Invite>,
) -> Result<Response, AppError> {
    let name = invite.name.trim().to_owned();
    let username = invite.username.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Err(AppError::BadRequest("enter the person's name".into()));
    }
    let accounts = state.accounts.clone();
    let role = invite.role;
    let email = invite.email.clone();
    let created = tokio::task::spawn_blocking(move || {
        if accounts.user(&username)?.is_some() {
            return Err(crate::accounts::AccountError::Exists(username.clone()));
        }
        if let Some(email) = email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            // Checked before the account is made, so a bad address makes none.
            let taken = accounts
                .list()?
                .iter()
                .any(|u| u.email.as_deref() == Some(email.to_ascii_lowercase().as_str()));
            if taken || !email.contains('@') {
                return Err(crate::accounts::AccountError::Invalid(format!(
                    "{email} is not an address this account can have"
                )));
            }
        }
        let (info, password) = accounts.add_invited(&username, &name)?;
        let info = match email.as_deref() {
            Some(email) if !email.trim().is_empty() => {
                accounts.set_email(info.username.as_str(), Some(email))?
            }
            _ => info,
        };
        accounts.grant(info.username.as_str(), &id, Some(role))?;
        Ok::<_, crate::accounts::AccountError>((info, password))
    })
    .await?;
    let (info, password) = match created {
        Ok(created) => created,
        Err(crate::accounts::AccountError::Exists(user)) => {
            return Err(AppError::Conflict(format!(
                "there is an account {user} already: give it a role instead"
            )))
        }
        Err(crate::accounts::AccountError::Invalid(reason)) => {
            return Err(AppError::BadRequest(reason))
        }
        Err(e) => return Err(e.into()),
    };
    Ok((
        axum::http::StatusCode::CREATED,
        Json(CreatedAccount {
            username: info.username,
            name: info.name,
            password,
            role,
        }),
    )
        .into_response())
}

/// `GET /api/programmes/{id}/members`: the people of a programme (for its
/// members only), so clients can show names and offer owners.
pub(crate) async fn members(
    State(state): State<AppState>,
    ReadDoc { id, .. }: ReadDoc<ProgrammeOnly>,
) -> Result<Response, AppError> {
    let accounts = state.accounts.clone();
    let members = tokio::task::spawn_blocking(move || accounts.members(&id))
        .await??
        .into_iter()
        .map(|(user, role)| Member {
            username: user.username,
            name: user.name,
            role,
        })
        .collect::<Vec<_>>();
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(members)).into_response())
}
