//! The weekly digest's routes: a person's choice (`/api/me/digest`), their
//! digest of a programme now (`POST /api/programmes/{id}/digest`), and the
//! one-click unsubscribe a digest links to (`/api/digest/unsubscribe`).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use plait_shared::api::{DigestChoice, SetDigest};
use plait_shared::DocId;

use crate::digest::{mail::escape, DigestError};
use crate::extract::{Changing, SignedIn};
use crate::{AppError, AppState};

/// `user`'s choice as answered.
async fn choice_of(
    state: &AppState,
    user: &crate::accounts::User,
) -> Result<DigestChoice, AppError> {
    let digests = state.digests.clone();
    let name = user.username.as_str().to_owned();
    let subscribed = tokio::task::spawn_blocking(move || digests.subscribed(&name)).await??;
    Ok(DigestChoice {
        subscribed,
        email: user.email.clone(),
        mail_configured: state.digests.mail_configured(),
    })
}

/// `GET /api/me/digest`: whether the signed-in person gets the weekly
/// digest, where it goes, and whether the server sends e-mail.
pub(crate) async fn get_choice(
    State(state): State<AppState>,
    SignedIn(authed): SignedIn,
) -> Result<Response, AppError> {
    let choice = choice_of(&state, &authed.user).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(choice)).into_response())
}

/// `PUT /api/me/digest` with [`SetDigest`]: the signed-in person
/// unsubscribes, or subscribes again. Nothing else changes.
pub(crate) async fn set_choice(
    State(state): State<AppState>,
    Changing(authed): Changing,
    Json(set): Json<SetDigest>,
) -> Result<Response, AppError> {
    let digests = state.digests.clone();
    let name = authed.user.username.as_str().to_owned();
    tokio::task::spawn_blocking(move || digests.set_subscribed(&name, set.subscribed)).await??;
    let choice = choice_of(&state, &authed.user).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(choice)).into_response())
}

/// `POST /api/programmes/{id}/digest`: the signed-in member's digest of
/// the programme, e-mailed now (once a minute at most); an empty one is
/// not sent (`sent: false`).
pub(crate) async fn send_now(
    State(state): State<AppState>,
    Changing(authed): Changing,
    Path(programme): Path<String>,
) -> Result<Response, AppError> {
    let programme = DocId::new(programme).map_err(|_| AppError::NotFound)?;
    let Some(role) = authed.user.role_in(&programme) else {
        return Err(state.denied(AppError::Forbidden(
            "you are not a member of this programme".into(),
        )));
    };
    match state
        .digests
        .send_now(&programme, &authed.user.info(), role)
        .await
    {
        Ok(sent) => Ok(Json(sent).into_response()),
        Err(DigestError::Store(e)) => Err(e.into()),
        Err(DigestError::NotFound) => Err(AppError::NotFound),
        Err(e @ DigestError::TooSoon(wait)) => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
            e.to_string(),
        )
            .into_response()),
        Err(e @ DigestError::NotConfigured) => {
            Ok((StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response())
        }
        Err(e @ DigestError::NoAddress) => {
            Ok((StatusCode::CONFLICT, e.to_string()).into_response())
        }
        Err(e @ DigestError::Refused(_)) => {
            Ok((StatusCode::BAD_GATEWAY, e.to_string()).into_response())
        }
    }
}

/// The unsubscribe link's query.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct UnsubscribeQuery {
    user: String,
    token: String,
}

/// A small page of Plait's (the unsubscribe link opens in a browser with
/// no session).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(format!(
            "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t} – Plait</title></head><body><main><h1>{t}</h1>{body}</main></body></html>",
            t = escape(title)
        )),
    )
        .into_response()
}

/// `GET /api/digest/unsubscribe?user=…&token=…`: asks (a link scanner
/// fetching it changes nothing), with a button that posts the same.
pub(crate) async fn unsubscribe_page(Query(query): Query<UnsubscribeQuery>) -> Response {
    let action = plait_shared::api::address::unsubscribe(&query.user, &query.token);
    page(
        StatusCode::OK,
        "Stop the weekly digest",
        &format!(
            "<p>Stop the weekly e-mail of what needs you in Plait, for {}? Nothing else changes; you can have it again from My work in Plait.</p><form method=\"post\" action=\"{}\"><button type=\"submit\">Stop the weekly digest</button></form>",
            escape(&query.user),
            escape(&action)
        ),
    )
}

/// `POST /api/digest/unsubscribe?user=…&token=…`: the one-click
/// unsubscribe (RFC 8058: a mail program posts it; the page's button
/// too). The token is the account's, compared in constant time.
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    Query(query): Query<UnsubscribeQuery>,
) -> Result<Response, AppError> {
    let digests = state.digests.clone();
    let user = query.user.clone();
    let done = tokio::task::spawn_blocking(move || digests.unsubscribe_with(&user, &query.token))
        .await??;
    if !done {
        return Ok(page(
            StatusCode::NOT_FOUND,
            "This link does not work",
            "<p>It may have been copied only in part. You can stop the weekly digest from My work in Plait.</p>",
        ));
    }
    Ok(page(
        StatusCode::OK,
        "You will get no more weekly digests",
        "<p>Nothing else has changed. To have it again, tick it under \"By e-mail\" on My work in Plait.</p>",
    ))
}
