//! The server's JSON API (`/api/...`), and what the browser remembers of the
//! signed-in account.
//!
//! JSON is read and written with the browser's own `JSON` (through
//! `js_sys`), not serde_json: the client is sized by the byte.
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

use js_sys::{Array, Object, Reflect, JSON};
use plait_shared::{DocId, Role, UserId};
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
    /// Any other answer: its status and text.
    Failed(u16, String),
}

/// The browser's `localStorage`, when it has one.
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn stored(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

fn store(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}

fn unstore(key: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(key);
    }
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
    let Some(storage) = local_storage() else {
        return;
    };
    let prefix = user_prefix(user);
    let count = storage.length().unwrap_or(0);
    let keys: Vec<String> = (0..count)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|key| key.starts_with(&prefix))
        .collect();
    for key in keys {
        let _ = storage.remove_item(&key);
    }
    if Account::remembered().is_some_and(|a| &a.username == user) {
        let _ = storage.remove_item(ACCOUNT_KEY);
    }
}

/// A field of a JSON object (`undefined` when missing).
pub fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A text field of a JSON object (empty when missing).
pub fn text(value: &JsValue, key: &str) -> String {
    field(value, key).as_string().unwrap_or_default()
}

/// The items of a JSON array (none when it is not one).
pub fn items(value: &JsValue) -> Vec<JsValue> {
    if Array::is_array(value) {
        Array::from(value).iter().collect()
    } else {
        Vec::new()
    }
}

/// Parses JSON text.
pub fn parse(text: &str) -> Option<JsValue> {
    JSON::parse(text).ok()
}

fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
}

fn stringify(value: &JsValue) -> String {
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// What the server answered: its status and its body as text.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub text: String,
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
        let _ = headers.set("X-CSRF-Token", csrf);
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

/// Sends a request with a JSON body (if any) and returns its JSON answer
/// (`null` when it has none).
///
/// # Errors
/// [`ApiError`].
pub async fn request(
    method: &str,
    path: &str,
    body: Option<&str>,
    csrf: Option<&str>,
) -> Result<JsValue, ApiError> {
    let json = body.map(JsValue::from_str);
    let answer = send(
        method,
        path,
        json.as_ref().map(|b| (b, "application/json")),
        csrf,
    )
    .await?;
    match answer.status {
        200..=299 if answer.text.is_empty() => Ok(JsValue::NULL),
        200..=299 => parse(&answer.text).ok_or(ApiError::Failed(answer.status, answer.text)),
        401 => Err(ApiError::SignedOut),
        429 => Err(ApiError::TooMany),
        status => Err(ApiError::Failed(status, answer.text)),
    }
}

/// The signed-in account, as the server describes it (`/api/me`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Their user name.
    pub username: UserId,
    /// Their display name ("D. Hughes").
    pub name: String,
    /// Their programmes and their role in each.
    pub programmes: Vec<(DocId, Role)>,
    /// The session's CSRF token, echoed on changes.
    pub csrf: String,
    /// All of it, as the server said it (without the session token), to
    /// remember.
    json: String,
}

impl Account {
    /// Reads the server's JSON (dropping the session token from it: that
    /// stays in its HttpOnly cookie).
    pub fn from_json(value: &JsValue) -> Option<Account> {
        let _ = Reflect::set(value, &JsValue::from_str("token"), &JsValue::UNDEFINED);
        Some(Account {
            username: UserId::new(text(value, "username")).ok()?,
            name: text(value, "name"),
            programmes: items(&field(value, "programmes"))
                .iter()
                .filter_map(|p| {
                    Some((
                        DocId::new(text(p, "id")).ok()?,
                        text(p, "role").parse().ok()?,
                    ))
                })
                .collect(),
            csrf: text(value, "csrf"),
            json: stringify(value),
        })
    }

    /// Their role in `programme`, if they belong to it.
    pub fn role_in(&self, programme: &str) -> Option<Role> {
        self.programmes
            .iter()
            .find(|(id, _)| id.as_str() == programme)
            .map(|(_, role)| *role)
    }

    /// The account this browser last signed in with.
    pub fn remembered() -> Option<Account> {
        Account::from_json(&parse(&stored(ACCOUNT_KEY)?)?)
    }

    /// Remembers it, for a reload with no network.
    pub fn remember(&self) {
        store(ACCOUNT_KEY, &self.json);
    }
}

/// `POST /api/auth/login`. Sets the session cookie.
///
/// # Errors
/// [`ApiError::SignedOut`] for a wrong user name or password.
pub async fn login(username: &str, password: &str) -> Result<Account, ApiError> {
    let body = Object::new();
    set(&body, "username", username);
    set(&body, "password", password);
    let answer = request("POST", "/api/auth/login", Some(&stringify(&body)), None).await?;
    Account::from_json(&answer).ok_or(ApiError::Failed(200, "an unreadable answer".into()))
}

/// `GET /api/me`.
///
/// # Errors
/// [`ApiError::SignedOut`] without a live session.
pub async fn me() -> Result<Account, ApiError> {
    let answer = request("GET", "/api/me", None, None).await?;
    Account::from_json(&answer).ok_or(ApiError::Failed(200, "an unreadable answer".into()))
}

/// `POST /api/auth/logout`. When there is no network, the session is
/// remembered and ended by [`end_pending_logout`] later.
pub async fn logout(csrf: &str) {
    if request("POST", "/api/auth/logout", None, Some(csrf)).await == Err(ApiError::Offline) {
        store(PENDING_LOGOUT_KEY, csrf);
    }
}

/// Ends on the server a session signed out while offline (the cookie is
/// still that session's), if there is one and the server answers.
pub async fn end_pending_logout() {
    let Some(csrf) = stored(PENDING_LOGOUT_KEY) else {
        return;
    };
    if request("POST", "/api/auth/logout", None, Some(&csrf)).await != Err(ApiError::Offline) {
        unstore(PENDING_LOGOUT_KEY);
    }
}

/// A member of a programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Their user name.
    pub username: UserId,
    /// Their display name.
    pub name: String,
    /// Their role.
    pub role: Role,
}

fn members_from(value: &JsValue) -> Vec<Member> {
    items(value)
        .iter()
        .filter_map(|m| {
            Some(Member {
                username: UserId::new(text(m, "username")).ok()?,
                name: text(m, "name"),
                role: text(m, "role").parse().ok()?,
            })
        })
        .collect()
}

fn members_key(user: &UserId, programme: &str) -> String {
    format!("{}members:{programme}", user_prefix(user))
}

/// The members of `programme` as last fetched by `user` on this device.
pub fn cached_members(user: &UserId, programme: &str) -> Vec<Member> {
    stored(&members_key(user, programme))
        .and_then(|t| parse(&t))
        .map(|v| members_from(&v))
        .unwrap_or_default()
}

/// `GET /api/programmes/{id}/members`, kept for offline use.
///
/// # Errors
/// [`ApiError`].
pub async fn members(user: &UserId, programme: &str) -> Result<Vec<Member>, ApiError> {
    let answer = request(
        "GET",
        &format!("/api/programmes/{programme}/members"),
        None,
        None,
    )
    .await?;
    store(&members_key(user, programme), &stringify(&answer));
    Ok(members_from(&answer))
}

/// One change in the audit trail: what, and for a refused one, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditChange {
    /// The action it concerns, if any.
    pub action: String,
    /// What changed (a stored key, with "+1" for an appended entry).
    pub what: String,
    /// Why it was refused (empty when it was not).
    pub reason: String,
}

impl AuditChange {
    fn from_json(value: &JsValue) -> AuditChange {
        AuditChange {
            action: text(value, "action"),
            what: text(value, "what"),
            reason: text(value, "reason"),
        }
    }
}

/// Reads the server's list of refused changes (its message 101).
pub fn refused_changes(json: &str) -> Vec<AuditChange> {
    parse(json)
        .map(|v| items(&v).iter().map(AuditChange::from_json).collect())
        .unwrap_or_default()
}

/// `GET /api/docs/{doc}/history?action=…&limit=…`: the server's audit
/// records, newest first, as it sends them (`{at, user, device, changes,
/// refused}`, see [`AuditChange`]).
///
/// # Errors
/// [`ApiError`].
pub async fn history(doc: &DocId, action: &str, limit: u32) -> Result<Vec<JsValue>, ApiError> {
    let answer = request(
        "GET",
        &format!("/api/docs/{doc}/history?action={action}&limit={limit}"),
        None,
        None,
    )
    .await?;
    Ok(items(&field(&answer, "records")))
}

/// The changes listed under `key` of an audit record that concern `action`.
pub fn changes_of(record: &JsValue, key: &str, action: &str) -> Vec<AuditChange> {
    items(&field(record, key))
        .iter()
        .map(AuditChange::from_json)
        .filter(|c| c.action == action)
        .collect()
}

/// A change's `what` in words: "title" → "Title", "updates +1" →
/// "Progress update added".
pub fn describe_change(what: &str) -> String {
    const NAMES: [(&str, &str); 19] = [
        ("title", "Title"),
        ("description", "Description"),
        ("closure_criteria", "Closure criteria"),
        ("owner", "Owner"),
        ("exec_lead", "Executive lead"),
        ("workstream_id", "Workstream"),
        ("phase_id", "Phase"),
        ("due_original", "Due date"),
        ("confidence", "Confidence"),
        ("assurance", "Assurance"),
        ("ref", "Reference"),
        ("finding_ids", "Findings answered"),
        ("transitions", "Status change"),
        ("updates", "Progress update"),
        ("evidence", "Evidence"),
        ("evidence_reviews", "Evidence verdict"),
        ("decisions", "Decision"),
        ("due_changes", "Due-date request"),
        ("sustainment", "Re-audit"),
    ];
    let (key, rest) = what.split_once(' ').unwrap_or((what, ""));
    let Some(&(_, name)) = NAMES.iter().find(|(k, _)| *k == key) else {
        return what.to_owned();
    };
    match rest {
        "" => name.to_owned(),
        "+1" => format!("{name} added"),
        "rewritten" => format!("{name} rewritten"),
        more => format!("{name} added ({})", more.trim_start_matches('+')),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn changes_read_as_words() {
        assert_eq!(describe_change("title"), "Title");
        assert_eq!(describe_change("updates +1"), "Progress update added");
        assert_eq!(describe_change("transitions +2"), "Status change added (2)");
        assert_eq!(describe_change("plan details"), "plan details");
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
    fn accounts_round_trip_through_json() {
        let answer = r#"{"username":"d.hughes","name":"D. \"Dee\" Hughes","superuser":false,
            "programmes":[{"id":"demo","role":"contributor"}],"csrf":"abc","token":"secret"}"#;
        let account = Account::from_json(&parse(answer).unwrap()).unwrap();
        assert_eq!(account.username.as_str(), "d.hughes");
        assert_eq!(account.name, "D. \"Dee\" Hughes");
        assert!(
            !account.json.contains("secret"),
            "the session token is not kept"
        );
        let back = Account::from_json(&parse(&account.json).unwrap());
        assert_eq!(back, Some(account.clone()));
        assert_eq!(account.role_in("demo"), Some(Role::Contributor));
        assert_eq!(account.role_in("other"), None);
        let refused = refused_changes(r#"[{"action":"a-1","what":"title","reason":"no"}]"#);
        assert_eq!(refused[0].reason, "no");
        assert!(refused_changes("not json").is_empty());
    }
}
