//! The JSON API's contract: every request and answer body the server and
//! the web client exchange, as serde types. The server serialises these
//! and the client deserialises the same types, so a renamed or retyped
//! field is a compile error on both sides (or an error the client shows),
//! never a blank page.
//!
//! ```
//! use plait_shared::api::{Me, Membership};
//! use plait_shared::{DocId, Role, UserId};
//!
//! let me = Me {
//!     username: UserId::new("d.hughes").unwrap(),
//!     name: "Dee Hughes".into(),
//!     superuser: false,
//!     must_change_password: false,
//!     programmes: vec![Membership { id: DocId::new("demo").unwrap(), role: Role::Lead }],
//!     csrf: "abc".into(),
//!     expires_at: 0,
//!     idle_seconds: 1800,
//!     token: None,
//!     closed: vec![],
//! };
//! let json = serde_json::to_string(&me).unwrap();
//! assert!(!json.contains("token"));
//! assert_eq!(serde_json::from_str::<Me>(&json).unwrap(), me);
//! ```

use std::collections::BTreeMap;

/// The header that carries a session's CSRF token on every changing request
/// (compared by the server with the session's, in constant time).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The header by which whoever uploads an evidence file confirms it holds
/// no patient-identifiable data, with [`NO_PATIENT_DATA_CONFIRMED`]: the
/// server refuses a file without it.
pub const NO_PATIENT_DATA_HEADER: &str = "x-plait-no-patient-data";

/// The value of [`NO_PATIENT_DATA_HEADER`] that confirms it.
pub const NO_PATIENT_DATA_CONFIRMED: &str = "confirmed";

/// The largest evidence file the server takes unless configured otherwise
/// (`--max-file-bytes`); the web client checks a file against it before
/// queueing it.
pub const DEFAULT_MAX_FILE_BYTES: usize = 25 * 1024 * 1024;

use serde::{Deserialize, Serialize};

use crate::changes::Change;
use crate::ids::{Date, DocId, UserId};
use crate::import::{ColumnChoices, ColumnUse, ImportSummary, RowError};
use crate::protocol::RefusedChange;
use crate::vocab::Role;

/// `GET /api/auth/options`: how this server lets people sign in, for the
/// sign-in page (asked before anyone is signed in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// Whether a user name and password are taken (`--no-passwords` turns
    /// them off when a trust signs in with its own accounts).
    pub passwords: bool,
    /// The trust's identity providers (OpenID Connect), in the order given.
    pub providers: Vec<SsoProvider>,
}

/// One identity provider people can sign in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoProvider {
    /// Its number, for [`sso_start_path`].
    pub id: u32,
    /// What the button says after "Sign in with" ("NHSmail").
    pub label: String,
}

/// The path that starts signing in with provider `id`; the browser comes
/// back to `next` (a path of this site) once signed in.
pub fn sso_start_path(id: u32, next: &str) -> String {
    let mut encoded = String::new();
    for byte in next.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{SSO_PATH}/{id}/start?next={encoded}")
}

/// Where single sign-on lives: `{SSO_PATH}/{id}/start` and
/// [`SSO_CALLBACK_PATH`].
pub const SSO_PATH: &str = "/api/auth/oidc";

/// The redirect URI registered with every identity provider (after the
/// server's public URL).
pub const SSO_CALLBACK_PATH: &str = "/api/auth/oidc/callback";

/// The query parameter by which a failed single sign-on comes back to the
/// sign-in page, with a [`SsoFailure`]'s code.
pub const SSO_FAILURE_PARAM: &str = "sign_in_failed";

/// Why single sign-on did not sign someone in: the server sends the code
/// back to the sign-in page ([`SSO_FAILURE_PARAM`]), which shows the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFailure {
    /// The sign-in took too long, was used already, or began in another
    /// browser.
    Expired,
    /// The identity provider said no, or the person cancelled there.
    Cancelled,
    /// The provider's answer did not check out (signature, audience,
    /// issuer, nonce, expiry).
    Refused,
    /// The identity has no account here and this server does not make one.
    Unknown,
    /// The account is disabled.
    Disabled,
    /// The provider could not be reached.
    Unavailable,
}

impl SsoFailure {
    /// Every failure.
    pub const ALL: [SsoFailure; 6] = [
        SsoFailure::Expired,
        SsoFailure::Cancelled,
        SsoFailure::Refused,
        SsoFailure::Unknown,
        SsoFailure::Disabled,
        SsoFailure::Unavailable,
    ];

    /// Its code in the URL.
    pub fn code(self) -> &'static str {
        match self {
            SsoFailure::Expired => "expired",
            SsoFailure::Cancelled => "cancelled",
            SsoFailure::Refused => "refused",
            SsoFailure::Unknown => "unknown",
            SsoFailure::Disabled => "disabled",
            SsoFailure::Unavailable => "unavailable",
        }
    }

    /// The failure with this code.
    pub fn from_code(code: &str) -> Option<SsoFailure> {
        SsoFailure::ALL.into_iter().find(|f| f.code() == code)
    }

    /// What the sign-in page says.
    pub fn message(self) -> &'static str {
        match self {
            SsoFailure::Expired => {
                "That sign-in took too long or was used already. Try signing in again."
            }
            SsoFailure::Cancelled => "Signing in was cancelled. Try again when you are ready.",
            SsoFailure::Refused => {
                "Your organisation's sign-in could not be checked, so you are not signed in. \
                 Try again; if it keeps happening, tell your Plait administrator."
            }
            SsoFailure::Unknown => {
                "Your account is not set up in Plait. Ask your programme office to add you."
            }
            SsoFailure::Disabled => {
                "Your Plait account is disabled. Ask your programme office if you need it."
            }
            SsoFailure::Unavailable => {
                "Your organisation's sign-in cannot be reached at the moment. Try again later."
            }
        }
    }
}

/// `POST /api/login`: a sign-in with a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    /// The account's user name.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// A programme an account belongs to, with its role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The programme.
    pub id: DocId,
    /// The account's role in it.
    pub role: Role,
}

/// `GET /api/programmes`: a programme the signed-in account may open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeSummary {
    /// Its id (the `/p/{id}/` of its pages).
    pub id: DocId,
    /// Its name ("" until set).
    pub name: String,
    /// The trust it belongs to.
    #[serde(default)]
    pub trust: String,
    /// The account's role in it.
    pub role: Role,
}

/// `POST /api/programmes`: a new, empty programme (server administrators).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProgramme {
    /// Its id: letters, digits and `-` ("nsft-qip").
    pub id: String,
    /// Its name ("Quality Improvement Programme").
    pub name: String,
    /// The trust.
    #[serde(default)]
    pub trust: String,
}

/// `GET /api/me` (and the answer to a sign-in): the signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Its user name.
    pub username: UserId,
    /// The name people see.
    pub name: String,
    /// A server administrator (creates programmes).
    #[serde(default)]
    pub superuser: bool,
    /// The programmes it belongs to.
    #[serde(default)]
    pub programmes: Vec<Membership>,
    /// The token to echo in `X-CSRF-Token` on changes.
    pub csrf: String,
    /// When the session ends at the latest (Unix milliseconds).
    #[serde(default)]
    pub expires_at: u64,
    /// How long it may go unused, in seconds.
    #[serde(default)]
    pub idle_seconds: u64,
    /// Its password is a one-time one: the person chooses their own
    /// (`POST /api/me/password`) before anything else.
    #[serde(default)]
    pub must_change_password: bool,
    /// The session token, for clients that are not browsers (sign-in
    /// only; the browser keeps the cookie).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The programmes it may open that are closed (archived, read-only for
    /// everyone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<DocId>,
}

impl Me {
    /// The account's role in `programme`, if it belongs to it: a viewer's
    /// in a closed programme, whatever it was granted (the server answers
    /// so too).
    pub fn role_in(&self, programme: &str) -> Option<Role> {
        let role = self.granted_role_in(programme)?;
        Some(if self.is_closed(programme) {
            Role::Viewer
        } else {
            role
        })
    }

    /// The role granted in `programme`, closed or not (its admin still
    /// takes a closed programme's archive).
    pub fn granted_role_in(&self, programme: &str) -> Option<Role> {
        let granted = self
            .programmes
            .iter()
            .find(|m| m.id.as_str() == programme)
            .map(|m| m.role);
        crate::access::role_in(self.superuser, granted)
    }

    /// Whether `programme` is closed.
    pub fn is_closed(&self, programme: &str) -> bool {
        self.closed.iter().any(|c| c.as_str() == programme)
    }
}

/// `POST /api/me/password`: the signed-in person changes their password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePassword {
    /// The password they have (a one-time one, or their own).
    pub current: String,
    /// The one they choose.
    pub new: String,
}

/// `GET /api/me/digest`: whether the signed-in person gets the weekly
/// digest by e-mail (`PUT` with [`SetDigest`] changes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestChoice {
    /// They get it (the default); `false` once they unsubscribe.
    pub subscribed: bool,
    /// The address it goes to, if their account has one.
    pub email: Option<String>,
    /// Whether this server sends e-mail at all (SMTP configured).
    pub mail_configured: bool,
}

/// `PUT /api/me/digest`: the signed-in person subscribes to the weekly
/// digest again, or unsubscribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDigest {
    /// Whether they want it.
    pub subscribed: bool,
}

/// The answer to `POST /api/programmes/{id}/digest` (the signed-in
/// person's digest of the programme, now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestSent {
    /// Whether an e-mail went (an empty digest is not sent).
    pub sent: bool,
    /// Where to.
    pub to: String,
    /// How many things it lists.
    pub items: usize,
}

/// `PUT /api/programmes/{id}/members/{user}`: a member's role, or `None`
/// to remove them from the programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRole {
    /// The role.
    pub role: Option<Role>,
}

/// `POST /api/programmes/{id}/members`: invite someone new, by creating
/// their account with a one-time password (the answer is a
/// [`CreatedAccount`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The name people see ("Zara Quinn").
    pub name: String,
    /// Their sign-in name ("zara.quinn").
    pub username: String,
    /// Their role in the programme.
    pub role: Role,
    /// Their e-mail address, if known.
    #[serde(default)]
    pub email: Option<String>,
}

/// `POST /api/programmes/{id}/plans`: a new, empty action plan in the
/// programme (its findings and actions are then added on the set-up page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPlan {
    /// Its title ("Environment and ligature safety").
    pub title: String,
    /// The workstream it belongs to, if any.
    #[serde(default)]
    pub workstream_id: Option<crate::ids::WorkstreamId>,
}

/// The answer to [`NewPlan`]: the plan's document id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCreated {
    /// The plan document (`{programme}_{slug}`).
    pub id: DocId,
}

/// `GET /api/programmes/{id}/members`: one member of a programme (the
/// answer is a list of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Their user name.
    pub username: UserId,
    /// The name people see.
    pub name: String,
    /// Their role in the programme.
    pub role: Role,
}

/// One stored update in the audit trail: who, when, from where, and what it
/// changed and was refused, as typed changes (words only when shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Its place in the trail (increases with time).
    #[serde(default)]
    pub seq: u64,
    /// When it was accepted (Unix milliseconds).
    pub at: u64,
    /// The document.
    pub doc: DocId,
    /// Who sent it.
    pub user: UserId,
    /// Which session (a short, non-secret name).
    pub session: String,
    /// Which device (its browser, from the sign-in).
    pub device: String,
    /// Its size in bytes.
    pub bytes: usize,
    /// What it changed.
    pub changes: Vec<Change>,
    /// What it tried to change and was not allowed to (undone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedChange>,
}

/// `GET /api/docs/{doc}/history`: audit records, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The records.
    pub records: Vec<AuditRecord>,
}

/// One plan an import writes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPreview {
    /// Its document.
    pub doc_id: DocId,
    /// Its title.
    pub title: String,
    /// Whether the import creates it.
    pub new: bool,
    /// Actions it would gain.
    pub actions: usize,
}

/// What an import does with a person a spreadsheet names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonChoice {
    /// They are this account.
    Account(UserId),
    /// Create an account for them (a one-time password is shown once).
    Create,
    /// Nobody: their actions are imported with no owner.
    Unassigned,
}

/// How an import reads a file: the `options` query parameter (JSON) of
/// `POST /api/programmes/{id}/import`, and `plait import --mapping`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Columns read other than as guessed (header → column, or `null` to
    /// leave it out).
    #[serde(default)]
    pub columns: ColumnChoices,
    /// People named in the Owner and Executive lead columns, by name as
    /// written, mapped other than as matched.
    #[serde(default)]
    pub people: BTreeMap<String, PersonChoice>,
    /// What happens to owners no account matches and `people` does not
    /// name (`None`: they hold the import back until decided).
    #[serde(default)]
    pub unmatched: Option<PersonChoice>,
    /// The day the file's statuses were true (the tracker's "as at"), other
    /// than read from its dated updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses_as_at: Option<Date>,
}

/// A person the spreadsheet names, and who they will be in Plait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonMatch {
    /// The name as written ("D. Hughes").
    pub name: String,
    /// Named as an action's owner.
    pub owner: bool,
    /// Named as an executive lead.
    pub lead: bool,
    /// What the import will do: `None` when no account matches and nothing
    /// was chosen (an owner left so holds the import back).
    pub choice: Option<PersonChoice>,
    /// Whether `choice` was matched by name rather than chosen.
    pub matched: bool,
}

/// An account an import created, with its one-time password (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedAccount {
    /// Its user name.
    pub username: UserId,
    /// Its display name.
    pub name: String,
    /// The password to hand over (it is not stored anywhere readable).
    pub password: String,
    /// Its role in the programme.
    pub role: Role,
}

/// `POST /api/programmes/{id}/import?mode=preview`: what an import would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    /// The programme.
    pub programme: DocId,
    /// Whether the programme exists already.
    pub programme_exists: bool,
    /// Data rows read (errors or not).
    pub rows: usize,
    /// Rows that would be imported.
    pub importable: usize,
    /// Findings and actions that would be created (one each per row).
    pub actions: usize,
    /// The plans written to.
    pub plans: Vec<PlanPreview>,
    /// Every problem, by row: unreadable cells, duplicate references in the
    /// file, references already in the programme.
    pub errors: Vec<RowError>,
    /// Columns that are not imported.
    pub ignored_columns: Vec<String>,
    /// The spreadsheet row the header was found on.
    #[serde(default)]
    pub header_row: usize,
    /// Every column of the header, with what it fills.
    #[serde(default)]
    pub columns: Vec<ColumnUse>,
    /// The people named, and who they will be.
    #[serde(default)]
    pub people: Vec<PersonMatch>,
    /// Findings (requirements) that would be created.
    #[serde(default)]
    pub findings: usize,
    /// The day the statuses will be recorded as of: the one chosen, else
    /// the newest date opening a row's latest update, else none (the
    /// import's moment). A programme's trend starts from it.
    #[serde(default)]
    pub statuses_as_at: Option<Date>,
    /// Whether `statuses_as_at` was read from the file (not chosen).
    #[serde(default)]
    pub statuses_as_at_read: bool,
}

/// `POST /api/programmes/{id}/import?mode=import` (201): what was written,
/// and the rows skipped (with `valid_only`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    /// What was written.
    pub imported: ImportSummary,
    /// The rows left out, with why.
    pub skipped: Vec<RowError>,
    /// Accounts created for people the file names, with their one-time
    /// passwords.
    #[serde(default)]
    pub accounts: Vec<CreatedAccount>,
}

/// The same, refused (422): nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRefused {
    /// Why, in one line.
    pub error: String,
    /// Every problem, by row.
    pub errors: Vec<RowError>,
}

/// `PUT /api/blobs/{sha256}`: an evidence file the server now holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStored {
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The query of `GET /api/docs/{doc}/history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Only the records that touch this action.
    #[serde(default)]
    pub action: Option<String>,
    /// At most this many records (the server clamps it).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The query of the exports and the board report
/// (`/api/programmes/{id}/export`, `/api/programmes/{id}/report`,
/// `/api/docs/{doc}/export`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportQuery {
    /// `csv` or `xlsx`.
    #[serde(default)]
    pub format: Option<String>,
    /// Decisions and requests after this moment (Unix ms) count as new.
    #[serde(default)]
    pub since: Option<i64>,
    /// Today, for tests and reports "as at" a date (YYYY-MM-DD).
    #[serde(default)]
    pub today: Option<String>,
    /// The report as it stood at this moment (Unix ms), from the logs.
    #[serde(default)]
    pub as_at: Option<i64>,
}

/// The query of `POST /api/programmes/{id}/import`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportQuery {
    /// csv or xlsx (guessed from the bytes when absent).
    #[serde(default)]
    pub format: Option<String>,
    /// `preview` (the default) or `import`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Import the valid rows and skip the rest (`1`).
    #[serde(default)]
    pub valid_only: Option<String>,
    /// A new programme's name.
    #[serde(default)]
    pub name: Option<String>,
    /// How columns and people are read: [`ImportOptions`] as JSON.
    #[serde(default)]
    pub options: Option<String>,
}

/// The query of `GET /api/blobs/{sha256}` besides its `doc`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobQuery {
    /// The file name to save it as.
    #[serde(default)]
    pub name: Option<String>,
}

/// The query of `/sync/{doc}` besides a `token`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncQuery {
    /// `1` for durable acknowledgements ([`crate::protocol::DURABLE_QUERY`]).
    #[serde(default)]
    pub durable: Option<String>,
}

/// Every address the clients build, written once (the server's routes are
/// the same patterns): a path, and a query from the typed queries above,
/// each value percent-encoded.
pub mod address {
    use super::{ExportQuery, HistoryQuery, ImportQuery};
    use std::fmt::Display;

    /// A value made safe for a query (RFC 3986's unreserved characters
    /// kept, every other byte of its UTF-8 as `%XX`).
    pub fn encode(value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        for byte in value.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(byte as char);
                }
                other => {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    out.push('%');
                    out.push(HEX[usize::from(other >> 4)] as char);
                    out.push(HEX[usize::from(other & 15)] as char);
                }
            }
        }
        out
    }

    /// `path` with the pairs that have a value as its query.
    fn with_query(path: String, pairs: &[(&str, Option<String>)]) -> String {
        let mut out = path;
        let mut first = true;
        for (key, value) in pairs {
            if let Some(value) = value {
                out.push(if first { '?' } else { '&' });
                first = false;
                out.push_str(key);
                out.push('=');
                out.push_str(&encode(value));
            }
        }
        out
    }

    /// An action's change history.
    pub fn history(doc: impl Display, query: &HistoryQuery) -> String {
        with_query(
            format!("/api/docs/{doc}/history"),
            &[
                ("action", query.action.clone()),
                ("limit", query.limit.map(|n| n.to_string())),
            ],
        )
    }

    fn export_pairs(query: &ExportQuery) -> [(&'static str, Option<String>); 4] {
        [
            ("format", query.format.clone()),
            ("since", query.since.map(|n| n.to_string())),
            ("today", query.today.clone()),
            ("as_at", query.as_at.map(|n| n.to_string())),
        ]
    }

    /// `GET`: a programme's archive for its records (one ZIP).
    pub fn programme_archive(programme: impl Display) -> String {
        format!("/api/programmes/{programme}/archive")
    }

    /// `POST`: closes a programme (its admin).
    pub fn programme_close(programme: impl Display) -> String {
        format!("/api/programmes/{programme}/close")
    }

    /// The master tracker of a programme (every action of every plan).
    pub fn programme_export(programme: impl Display, query: &ExportQuery) -> String {
        with_query(
            format!("/api/programmes/{programme}/export"),
            &export_pairs(query),
        )
    }

    /// The board report's tables.
    pub fn report(programme: impl Display, query: &ExportQuery) -> String {
        with_query(
            format!("/api/programmes/{programme}/report"),
            &export_pairs(query),
        )
    }

    /// One plan, in the layout imports read.
    pub fn plan_export(plan: impl Display, query: &ExportQuery) -> String {
        with_query(format!("/api/docs/{plan}/export"), &export_pairs(query))
    }

    /// A finding's evidence pack.
    pub fn evidence_pack(plan: impl Display, finding: &str) -> String {
        format!("/api/docs/{plan}/findings/{}/pack", encode(finding))
    }

    /// Issuing a meeting's board paper (`POST`, the paper's words as
    /// JSON): the server freezes it.
    pub fn issue_paper(programme: impl Display, meeting: impl Display) -> String {
        format!("/api/programmes/{programme}/papers/{meeting}/issue")
    }

    /// The signed-in person's weekly-digest choice (`GET`, `PUT`).
    pub fn my_digest() -> String {
        "/api/me/digest".into()
    }

    /// The signed-in person's digest of a programme, sent now (`POST`).
    pub fn send_digest(programme: impl Display) -> String {
        format!("/api/programmes/{programme}/digest")
    }

    /// The one-click unsubscribe a digest links to (`GET` asks, `POST`
    /// does it), with the account's unsubscribe token.
    pub fn unsubscribe(user: &str, token: &str) -> String {
        with_query(
            "/api/digest/unsubscribe".into(),
            &[
                ("user", Some(user.to_owned())),
                ("token", Some(token.to_owned())),
            ],
        )
    }

    /// An import into a programme.
    pub fn import(programme: impl Display, query: &ImportQuery) -> String {
        with_query(
            format!("/api/programmes/{programme}/import"),
            &[
                ("format", query.format.clone()),
                ("mode", query.mode.clone()),
                ("valid_only", query.valid_only.clone()),
                ("name", query.name.clone()),
                ("options", query.options.clone()),
            ],
        )
    }

    /// An evidence file of a plan (`name`: to save it as).
    pub fn blob(sha256: &str, plan: impl Display, name: Option<&str>) -> String {
        with_query(
            format!("/api/blobs/{}", encode(sha256)),
            &[
                ("doc", Some(plan.to_string())),
                ("name", name.map(str::to_owned)),
            ],
        )
    }

    /// One round trip of HTTP sync.
    pub fn http_sync(doc: impl Display) -> String {
        format!("/api/docs/{doc}/sync")
    }

    /// A sync connection (the path; the caller adds the scheme and host):
    /// with durable acknowledgements when asked, and a `token` for a client
    /// that cannot send a cookie or header.
    pub fn sync(doc: &str, durable: bool, token: Option<&str>) -> String {
        with_query(
            format!("/sync/{}", encode(doc)),
            &[
                ("token", token.map(str::to_owned)),
                (
                    crate::protocol::DURABLE_PARAM,
                    durable.then(|| "1".to_owned()),
                ),
            ],
        )
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn single_sign_on_paths_and_failures_read_back() {
        use super::{sso_start_path, SsoFailure};
        assert_eq!(
            sso_start_path(0, "/p/demo/actions?owner=me&x=a b"),
            "/api/auth/oidc/0/start?next=/p/demo/actions%3Fowner%3Dme%26x%3Da%20b"
        );
        for failure in SsoFailure::ALL {
            assert_eq!(SsoFailure::from_code(failure.code()), Some(failure));
        }
        assert_eq!(SsoFailure::from_code("nonsense"), None);
    }

    #[test]
    fn addresses_carry_their_queries_encoded() {
        use super::address;
        assert_eq!(
            address::history(
                "plan-1",
                &HistoryQuery {
                    action: Some("a-md001".into()),
                    limit: Some(50)
                }
            ),
            "/api/docs/plan-1/history?action=a-md001&limit=50"
        );
        assert_eq!(
            address::report(
                "demo",
                &ExportQuery {
                    format: Some("csv".into()),
                    since: Some(5),
                    as_at: None,
                    today: None
                }
            ),
            "/api/programmes/demo/report?format=csv&since=5"
        );
        assert_eq!(
            address::import(
                "demo",
                &ImportQuery {
                    options: Some(r#"{"a":"b c&d"}"#.into()),
                    ..ImportQuery::default()
                }
            ),
            "/api/programmes/demo/import?options=%7B%22a%22%3A%22b%20c%26d%22%7D"
        );
        assert_eq!(
            address::blob("ab12", "plan-1", Some("Ward 3 audit.pdf")),
            "/api/blobs/ab12?doc=plan-1&name=Ward%203%20audit.pdf"
        );
        assert_eq!(
            address::sync("bench-0", true, Some("t")),
            "/sync/bench-0?token=t&durable=1"
        );
        assert_eq!(address::sync("d", false, None), "/sync/d");
        assert_eq!(address::encode("é/?"), "%C3%A9%2F%3F");
    }

    use super::*;
    use crate::ids::ActionId;
    use crate::keys::FieldKey;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn an_audit_record_reads_back_with_typed_changes() {
        let action = ActionId::new("a-md001-1").unwrap();
        let record = AuditRecord {
            seq: 7,
            at: 1,
            doc: DocId::new("plan-1").unwrap(),
            user: UserId::new("lead").unwrap(),
            session: "s".into(),
            device: "Firefox".into(),
            bytes: 40,
            changes: vec![Change::Field(action.clone(), FieldKey::Owner)],
            refused: vec![RefusedChange {
                change: Change::Field(action, FieldKey::DueOriginal),
                reason: "kept once set".into(),
            }],
        };
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains("\"due_original\""), "{json}");
        assert_eq!(serde_json::from_str::<AuditRecord>(&json).unwrap(), record);
    }
}
