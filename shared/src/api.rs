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
use crate::ids::{DocId, UserId};
use crate::import::{ColumnChoices, ColumnUse, ImportSummary, RowError};
use crate::protocol::RefusedChange;
use crate::vocab::Role;

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
}

impl Me {
    /// The account's role in `programme`, if it belongs to it.
    pub fn role_in(&self, programme: &str) -> Option<Role> {
        if self.superuser {
            // A server administrator is every programme's admin.
            return Some(Role::Admin);
        }
        self.programmes
            .iter()
            .find(|m| m.id.as_str() == programme)
            .map(|m| m.role)
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

#[cfg(test)]
mod tests {
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
