//! The server's JSON API (`/api/...`) over the shared contract
//! ([`plait_shared::api`]): one function per call, each answer read into
//! its shared type (a renamed field is a compile error, or an error here,
//! never a blank page). And what the browser remembers of the signed-in
//! account.
//!
//! What is kept in `localStorage`:
//!
//! - `plait-account`: the last signed-in account (user name, display name,
//!   programmes and roles, CSRF token; never the session token, which lives
//!   in an HttpOnly cookie), so a reload with no network opens that person's
//!   own local copy.
//! - `plait:{user}:…`: that person's own keys (edits waiting to sync, the
//!   programme's members), all removed when they sign out.
//! - `plait-pending-logout`: the CSRF token of a session signed out while
//!   offline, ended on the server at the next chance.

use std::ops::Deref;

use crate::browser::{keys_starting, store, stored, unstore};

pub use plait_shared::api::Member;
use plait_shared::api::{
    address, AuditRecord, History, Me, NewProgramme, ProgrammeSummary, SignIn,
};
use plait_shared::{ActionId, DocId, UserId};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Where the last signed-in account is remembered.
pub const ACCOUNT_KEY: &str = "plait-account";
/// Where the CSRF token of a session signed out offline waits.
pub const PENDING_LOGOUT_KEY: &str = "plait-pending-logout";

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No answer: offline, or the server is down.
    Offline,
    /// 401: not signed in, or the session has ended.
    SignedOut,
    /// 429: too many attempts; try again later.
    TooMany,
    /// Any other answer (or one that does not read): its status and text.
    Failed(u16, String),
}

/// The prefix of one user's `localStorage` keys.
pub fn user_prefix(user: &UserId) -> String {
    format!("plait:{user}:")
}

/// The name of one user's IndexedDB store (see
/// [`crate::storage::LocalStore::open`]).
pub fn store_name(user: &UserId) -> String {
    format!("user-{user}")
}

/// Removes everything `localStorage` holds for `user`, and the remembered
/// account if it is theirs.
pub fn forget_user(user: &UserId) {
    for key in keys_starting(&user_prefix(user)) {
        unstore(&key);
    }
    if Account::remembered().is_some_and(|a| &a.username == user) {
        unstore(ACCOUNT_KEY);
    }
}

/// What the server answered: its status and its body as text.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub text: String,
}

impl Answer {
    /// The body read as `T`.
    ///
    /// # Errors
    /// [`ApiError::Failed`] when it does not read.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        crate::json::from_str(&self.text).map_err(|e| {
            ApiError::Failed(self.status, format!("an answer that does not read: {e}"))
        })
    }
}

/// Sends a request to the server (same origin, so with the session cookie):
/// `body` with its `content_type`, the CSRF token when given.
///
/// # Errors
/// [`ApiError::Offline`] when the server cannot be reached.
pub async fn send(
    method: &str,
    path: &str,
    body: Option<(&JsValue, &str)>,
    csrf: Option<&str>,
) -> Result<Answer, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Offline)?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| ApiError::Offline)?;
    if let Some((body, content_type)) = body {
        let _ = headers.set("Content-Type", content_type);
        init.set_body(body);
    }
    if let Some(csrf) = csrf {
        let _ = headers.set(plait_shared::api::CSRF_HEADER, csrf);
    }
    init.set_headers(&headers);
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| ApiError::Offline)?
        .dyn_into()
        .map_err(|_| ApiError::Offline)?;
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok(Answer {
        status: response.status(),
        text,
    })
}

/// Sends a request with a JSON body (if any) and returns the answer when it
/// is a success.
///
/// # Errors
/// [`ApiError`].
async fn call(
    method: &str,
    path: &str,
    body: Option<String>,
    csrf: Option<&str>,
) -> Result<Answer, ApiError> {
    let json = body.map(|b| JsValue::from_str(&b));
    let answer = send(
        method,
        path,
        json.as_ref().map(|b| (b, "application/json")),
        csrf,
    )
    .await?;
    match answer.status {
        200..=299 => Ok(answer),
        401 => Err(ApiError::SignedOut),
        429 => Err(ApiError::TooMany),
        status => Err(ApiError::Failed(status, answer.text)),
    }
}

/// The signed-in account, as the server describes it (`/api/me`), without
/// the session token (that stays in its HttpOnly cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account(Me);

impl Deref for Account {
    type Target = Me;

    fn deref(&self) -> &Me {
        &self.0
    }
}

impl From<Me> for Account {
    fn from(mut me: Me) -> Account {
        me.token = None;
        Account(me)
    }
}

impl Account {
    /// The account this browser last signed in with.
    pub fn remembered() -> Option<Account> {
        crate::json::from_str::<Me>(&stored(ACCOUNT_KEY)?)
            .ok()
            .map(Account::from)
    }

    /// Remembers it, for a reload with no network.
    pub fn remember(&self) {
        if let Some(json) = crate::json::to_string(&self.0) {
            store(ACCOUNT_KEY, &json);
        }
    }
}

/// `POST /api/auth/login`. Sets the session cookie.
///
/// # Errors
/// [`ApiError::SignedOut`] for a wrong user name or password.
pub async fn login(username: &str, password: &str) -> Result<Account, ApiError> {
    let body = SignIn {
        username: username.to_owned(),
        password: password.to_owned(),
    };
    let body = crate::json::to_string(&body);
    let answer = call("POST", "/api/auth/login", body, None).await?;
    answer.json::<Me>().map(Account::from)
}

/// `GET /api/auth/options`: passwords, and the identity providers.
///
/// # Errors
/// [`ApiError`].
pub async fn sign_in_options() -> Result<plait_shared::api::SignInOptions, ApiError> {
    let answer = call("GET", "/api/auth/options", None, None).await?;
    answer.json()
}

/// `GET /api/me`.
///
/// # Errors
/// [`ApiError::SignedOut`] without a live session.
pub async fn me() -> Result<Account, ApiError> {
    let answer = call("GET", "/api/me", None, None).await?;
    answer.json::<Me>().map(Account::from)
}

/// The session this browser already has, if any: after signing in through
/// an identity provider the browser comes back with the session's cookie
/// and nothing remembered. Never a session signed out while offline (its
/// cookie may still be live until the server hears of it).
pub async fn existing_session() -> Option<Account> {
    if stored(PENDING_LOGOUT_KEY).is_some() {
        return None;
    }
    me().await.ok()
}

/// `POST /api/auth/logout`. When there is no network, the session is
/// remembered and ended by [`end_pending_logout`] later.
pub async fn logout(csrf: &str) {
    if call("POST", "/api/auth/logout", None, Some(csrf))
        .await
        .err()
        == Some(ApiError::Offline)
    {
        store(PENDING_LOGOUT_KEY, csrf);
    }
}

/// Ends on the server a session signed out while offline (the cookie is
/// still that session's), if there is one and the server answers.
pub async fn end_pending_logout() {
    let Some(csrf) = stored(PENDING_LOGOUT_KEY) else {
        return;
    };
    if call("POST", "/api/auth/logout", None, Some(&csrf))
        .await
        .err()
        != Some(ApiError::Offline)
    {
        unstore(PENDING_LOGOUT_KEY);
    }
}

fn programmes_key(user: &UserId) -> String {
    format!("{}programmes", user_prefix(user))
}

fn last_programme_key(user: &UserId) -> String {
    format!("{}last-programme", user_prefix(user))
}

/// Remembers the programme `user` opened last on this device.
pub fn remember_programme(user: &UserId, programme: &DocId) {
    store(&last_programme_key(user), programme.as_str());
}

/// The programme `user` opened last on this device.
pub fn last_programme(user: &UserId) -> Option<DocId> {
    DocId::new(stored(&last_programme_key(user))?).ok()
}

/// The programmes `user` may open as last fetched on this device.
pub fn cached_programmes(user: &UserId) -> Option<Vec<ProgrammeSummary>> {
    crate::json::from_str(&stored(&programmes_key(user))?).ok()
}

/// `GET /api/programmes`: the programmes the signed-in account may open,
/// kept for offline use.
///
/// # Errors
/// [`ApiError`].
pub async fn programmes(user: &UserId) -> Result<Vec<ProgrammeSummary>, ApiError> {
    let answer = call("GET", "/api/programmes", None, None).await?;
    let list: Vec<ProgrammeSummary> = answer.json()?;
    store(&programmes_key(user), &answer.text);
    Ok(list)
}

/// `POST /api/programmes`: creates a programme (server administrators).
///
/// # Errors
/// [`ApiError`]; 400 or 409 with the reason when the id or name will not do.
pub async fn create_programme(
    new: &NewProgramme,
    csrf: &str,
) -> Result<ProgrammeSummary, ApiError> {
    let body = crate::json::to_string(new)
        .ok_or_else(|| ApiError::Failed(0, "the programme cannot be sent".into()))?;
    call("POST", "/api/programmes", Some(body), Some(csrf))
        .await?
        .json()
}

/// `PUT /api/programmes/{id}/members/{user}`: gives `member` a role in the
/// programme, or (`None`) removes them.
///
/// # Errors
/// [`ApiError`], with the server's reason.
pub async fn set_role(
    programme: &DocId,
    member: &UserId,
    role: Option<plait_shared::Role>,
    csrf: &str,
) -> Result<(), ApiError> {
    let body = crate::json::to_string(&plait_shared::api::SetRole { role })
        .ok_or_else(|| ApiError::Failed(0, "the role cannot be sent".into()))?;
    call(
        "PUT",
        &format!("/api/programmes/{programme}/members/{member}"),
        Some(body),
        Some(csrf),
    )
    .await
    .map(|_| ())
}

/// `POST /api/programmes/{id}/members`: invites someone new (an account
/// with a one-time password, in the answer once).
///
/// # Errors
/// [`ApiError`], with the server's reason.
pub async fn invite(
    programme: &DocId,
    invite: &plait_shared::api::Invite,
    csrf: &str,
) -> Result<plait_shared::api::CreatedAccount, ApiError> {
    let body = crate::json::to_string(invite)
        .ok_or_else(|| ApiError::Failed(0, "the invitation cannot be sent".into()))?;
    call(
        "POST",
        &format!("/api/programmes/{programme}/members"),
        Some(body),
        Some(csrf),
    )
    .await?
    .json()
}

/// `POST /api/programmes/{id}/plans`: adds an empty plan.
///
/// # Errors
/// [`ApiError`], with the server's reason.
pub async fn create_plan(
    programme: &DocId,
    plan: &plait_shared::api::NewPlan,
    csrf: &str,
) -> Result<plait_shared::api::PlanCreated, ApiError> {
    let body = crate::json::to_string(plan)
        .ok_or_else(|| ApiError::Failed(0, "the plan cannot be sent".into()))?;
    call(
        "POST",
        &format!("/api/programmes/{programme}/plans"),
        Some(body),
        Some(csrf),
    )
    .await?
    .json()
}

/// `POST /api/programmes/{id}/close`: closes and archives the programme.
///
/// # Errors
/// [`ApiError`]: offline, not its admin, closed already.
pub async fn close_programme(programme: &DocId, csrf: &str) -> Result<(), ApiError> {
    call(
        "POST",
        &address::programme_close(programme),
        None,
        Some(csrf),
    )
    .await
    .map(|_| ())
}

/// `POST /api/programmes/{id}/papers/{meeting}/issue`: the server freezes
/// the board paper with these words and its own figures as the next
/// version; the answer is the version as issued.
///
/// # Errors
/// [`ApiError`]: offline, not the programme's admin, no such meeting.
pub async fn issue_paper(
    programme: &DocId,
    meeting: &plait_shared::MeetingId,
    words: &plait_shared::Paper,
    csrf: &str,
) -> Result<plait_shared::paper::IssuedPaper, ApiError> {
    let body = crate::json::to_string(words)
        .ok_or_else(|| ApiError::Failed(0, "the paper cannot be sent".into()))?;
    call(
        "POST",
        &plait_shared::api::address::issue_paper(programme, meeting),
        Some(body),
        Some(csrf),
    )
    .await?
    .json()
}

/// `POST /api/me/password`: the signed-in person chooses their password;
/// the answer is their account.
///
/// # Errors
/// [`ApiError`], with the server's reason (a wrong current password, a
/// short new one).
pub async fn change_password(current: &str, new: &str, csrf: &str) -> Result<Account, ApiError> {
    let body = crate::json::to_string(&plait_shared::api::ChangePassword {
        current: current.to_owned(),
        new: new.to_owned(),
    })
    .ok_or_else(|| ApiError::Failed(0, "the password cannot be sent".into()))?;
    let me: Me = call("POST", "/api/me/password", Some(body), Some(csrf))
        .await?
        .json()?;
    Ok(Account::from(me))
}

/// `GET /api/me/digest`: whether the signed-in person gets the weekly
/// digest, where it goes, and whether the server sends e-mail at all.
///
/// # Errors
/// [`ApiError`]: offline, signed out.
pub async fn digest_choice() -> Result<plait_shared::api::DigestChoice, ApiError> {
    call("GET", &plait_shared::api::address::my_digest(), None, None)
        .await?
        .json()
}

/// `PUT /api/me/digest`: subscribes to the weekly digest again, or
/// unsubscribes.
///
/// # Errors
/// [`ApiError`]: offline, signed out.
pub async fn set_digest(
    subscribed: bool,
    csrf: &str,
) -> Result<plait_shared::api::DigestChoice, ApiError> {
    let body = crate::json::to_string(&plait_shared::api::SetDigest { subscribed })
        .ok_or_else(|| ApiError::Failed(0, "the choice cannot be sent".into()))?;
    call(
        "PUT",
        &plait_shared::api::address::my_digest(),
        Some(body),
        Some(csrf),
    )
    .await?
    .json()
}

/// `POST /api/programmes/{id}/digest`: e-mails the signed-in person their
/// list of what needs them in `programme`, now.
///
/// # Errors
/// [`ApiError`], with the server's reason (no mail server, no address,
/// asked a moment ago: [`ApiError::TooMany`]).
pub async fn send_digest(
    programme: &DocId,
    csrf: &str,
) -> Result<plait_shared::api::DigestSent, ApiError> {
    call(
        "POST",
        &plait_shared::api::address::send_digest(programme),
        None,
        Some(csrf),
    )
    .await?
    .json()
}

/// What went wrong, in a sentence for the person.
pub fn reason(error: &ApiError) -> String {
    match error {
        ApiError::Offline => "This needs a connection to the server.".into(),
        ApiError::SignedOut => "Your session has ended: sign in again.".into(),
        ApiError::TooMany => "Too many attempts: try again in a minute.".into(),
        ApiError::Failed(_, text) if !text.is_empty() => sentence(text),
        ApiError::Failed(status, _) => format!("The server refused ({status})."),
    }
}

fn members_key(user: &UserId, programme: &str) -> String {
    format!("{}members:{programme}", user_prefix(user))
}

/// The members of `programme` as last fetched by `user` on this device.
pub fn cached_members(user: &UserId, programme: &str) -> Vec<Member> {
    stored(&members_key(user, programme))
        .and_then(|t| crate::json::from_str(&t).ok())
        .unwrap_or_default()
}

/// `GET /api/programmes/{id}/members`, kept for offline use.
///
/// # Errors
/// [`ApiError`].
pub async fn members(user: &UserId, programme: &str) -> Result<Vec<Member>, ApiError> {
    let answer = call(
        "GET",
        &format!("/api/programmes/{programme}/members"),
        None,
        None,
    )
    .await?;
    let members: Vec<Member> = answer.json()?;
    store(&members_key(user, programme), &answer.text);
    Ok(members)
}

/// `GET /api/docs/{doc}/history?action=…&limit=…`: the server's audit
/// records of `action`, newest first.
///
/// # Errors
/// [`ApiError`].
pub async fn history(
    doc: &DocId,
    action: &ActionId,
    limit: u32,
) -> Result<Vec<AuditRecord>, ApiError> {
    let answer = call(
        "GET",
        &address::history(
            doc,
            &plait_shared::api::HistoryQuery {
                action: Some(action.to_string()),
                limit: Some(limit as usize),
            },
        ),
        None,
        None,
    )
    .await?;
    Ok(answer.json::<History>()?.records)
}

/// "only a lead can edit its closure_criteria" → "Only a lead can edit its
/// closure criteria.".
pub fn sentence(text: &str) -> String {
    let text = text.replace('_', " ");
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let end = if text.ends_with('.') { "" } else { "." };
    format!("{}{}{end}", first.to_ascii_uppercase(), chars.as_str())
}

/// One HTTP sync of `doc` (`POST /api/docs/{doc}/sync`, the body and the
/// answer in `shared::protocol`'s codec): the answer, or the status of an
/// answer that is not OK (`None` when there was none).
pub async fn sync_over_http(doc: &DocId, body: &[u8], csrf: &str) -> Result<Vec<u8>, Option<u16>> {
    let url = address::http_sync(doc);
    let window = web_sys::window().ok_or(None)?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let bytes = js_sys::Uint8Array::from(body);
    init.set_body(&bytes);
    let headers = web_sys::Headers::new().map_err(|_| None)?;
    let _ = headers.set(plait_shared::api::CSRF_HEADER, csrf);
    init.set_headers(&headers);
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| None)?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| None)?;
    if !response.ok() {
        return Err(Some(response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|_| None)?)
        .await
        .map_err(|_| None)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Posts `file` to the programme's import (`mode`: preview or import): the
/// server's answer.
pub async fn import(
    programme: &str,
    mode: &str,
    options: &plait_shared::api::ImportOptions,
    file: &web_sys::File,
    csrf: &str,
) -> Result<Answer, String> {
    let name = file.name().to_ascii_lowercase();
    let format = if name.ends_with(".xlsx") || name.ends_with(".xlsm") {
        "xlsx"
    } else {
        "csv"
    };
    let options = crate::json::to_string(options).unwrap_or_else(|| "{}".into());
    let path = address::import(
        programme,
        &plait_shared::api::ImportQuery {
            format: Some(format.to_owned()),
            mode: Some(mode.to_owned()),
            options: Some(options),
            ..Default::default()
        },
    );
    send(
        "POST",
        &path,
        Some((file.as_ref(), "application/octet-stream")),
        Some(csrf),
    )
    .await
    .map_err(|_| "the server cannot be reached: importing needs a connection".to_owned())
}

/// PUTs one evidence file of `doc` (`/api/blobs/{sha}`) with an
/// `XMLHttpRequest`, whose upload events give `progress` (loaded, total;
/// fetch has none): the answer's status and text, or `None` when the
/// request could not be made.
pub async fn put_evidence_file(
    sha: &str,
    doc: &DocId,
    content_type: &str,
    bytes: &[u8],
    csrf: &str,
    mut progress: impl FnMut(u64, u64) + 'static,
) -> Option<(u16, String)> {
    use wasm_bindgen::closure::Closure;
    let xhr = web_sys::XmlHttpRequest::new().ok()?;
    xhr.open("PUT", &address::blob(sha, doc, None)).ok()?;
    let _ = xhr.set_request_header(
        "Content-Type",
        if content_type.is_empty() {
            "application/octet-stream"
        } else {
            content_type
        },
    );
    let _ = xhr.set_request_header(plait_shared::api::CSRF_HEADER, csrf);
    let _ = xhr.set_request_header(
        plait_shared::api::NO_PATIENT_DATA_HEADER,
        plait_shared::api::NO_PATIENT_DATA_CONFIRMED,
    );
    let on_progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            progress(e.loaded() as u64, e.total() as u64);
        });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let finished = js_sys::Promise::new(&mut |resolve, _| {
        let on_end = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        xhr.set_onloadend(Some(on_end.unchecked_ref()));
    });
    let body = js_sys::Uint8Array::from(bytes);
    xhr.send_with_opt_buffer_source(Some(&body)).ok()?;
    let _ = JsFuture::from(finished).await;
    drop(on_progress);
    Some((
        xhr.status().unwrap_or(0),
        xhr.response_text().ok().flatten().unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(sentence("only a lead can"), "Only a lead can.");
        assert_eq!(
            sentence("edit its closure_criteria"),
            "Edit its closure criteria."
        );
        assert_eq!(sentence(""), "");
    }

    // JSON is the browser's: in the browser only.
    #[cfg(target_arch = "wasm32")]
    #[test]
    fn an_account_never_keeps_the_session_token() {
        let answer = r#"{"username":"d.hughes","name":"D. \"Dee\" Hughes","superuser":false,
            "programmes":[{"id":"demo","role":"contributor"}],"csrf":"abc","token":"secret"}"#;
        let account = Account::from(crate::json::from_str::<Me>(answer).unwrap());
        assert_eq!(account.username.as_str(), "d.hughes");
        assert_eq!(account.name, "D. \"Dee\" Hughes");
        let json = crate::json::to_string(&account.0).unwrap();
        assert!(!json.contains("secret"), "the session token is not kept");
        assert_eq!(
            Account::from(crate::json::from_str::<Me>(&json).unwrap()),
            account
        );
        assert_eq!(
            account.role_in("demo"),
            Some(plait_shared::Role::Contributor)
        );
        assert_eq!(account.role_in("other"), None);
    }
}
