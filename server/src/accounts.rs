//! Accounts, sessions and programme membership, in their own trees (sled's
//! or PostgreSQL's, see [`crate::kv`]).
//!
//! - `users`: user name → [`User`] (JSON): display name, argon2id password
//!   hash (PHC string), disabled flag, role per programme, and whether the
//!   account administers the whole server.
//! - `sessions`: SHA-256 of the session token → [`Session`] (JSON). The token
//!   itself (256 random bits) is only ever in the client's hands, so a copy
//!   of the database does not let anyone sign in.
//! - `doc_programmes`: document id → the programme it belongs to (a
//!   programme's own document maps to itself). Access to a document follows
//!   membership of its programme.
//!
//! Live sync connections register here so that signing out, disabling an
//! account or changing its roles closes them at once, on every node sharing
//! the store ([`Accounts::on_close`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use plait_shared::{DocId, Role, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use crate::kv::{Keyspace, Tree};
use crate::store::StoreError;

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// A session unused for this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute: Duration,
}

impl SessionSettings {
    /// Minutes a session may go unused, by default.
    pub const IDLE_MINUTES: u64 = 12 * 60;
    /// Hours after sign-in a session ends, by default.
    pub const MAX_HOURS: u64 = 7 * 24;
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            idle: Duration::from_secs(Self::IDLE_MINUTES * 60),
            absolute: Duration::from_secs(Self::MAX_HOURS * 60 * 60),
        }
    }
}

/// An account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// The sign-in name, also the id written into plans ("d.hughes").
    pub username: UserId,
    /// The name people see ("D. Hughes").
    pub name: String,
    /// argon2id, PHC string format.
    password: String,
    /// A disabled account cannot sign in, and its sessions are ended.
    #[serde(default)]
    pub disabled: bool,
    /// The account's role in each programme it belongs to.
    #[serde(default)]
    pub grants: BTreeMap<DocId, Role>,
    /// Administers the server: every programme, as its admin, including
    /// documents that belong to no programme.
    #[serde(default)]
    pub superuser: bool,
    /// Its password was made for it (an invitation, an import): the person
    /// chooses their own before anything else.
    #[serde(default)]
    pub must_change_password: bool,
    /// Their e-mail address (NHSmail), if known: trackers name people by it.
    #[serde(default)]
    pub email: Option<String>,
}

/// A closed programme: when, and who closed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedProgramme {
    /// When (Unix milliseconds).
    pub at: u64,
    /// Who.
    pub by: UserId,
}

/// What may be shown about an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The sign-in name.
    pub username: UserId,
    /// The display name.
    pub name: String,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Role per programme.
    pub grants: BTreeMap<DocId, Role>,
    /// Whether it administers the server.
    pub superuser: bool,
    /// Whether its password is a one-time one still.
    #[serde(default)]
    pub must_change_password: bool,
    /// Its e-mail address, if known.
    #[serde(default)]
    pub email: Option<String>,
}

impl User {
    /// The account without its password hash.
    pub fn info(&self) -> UserInfo {
        UserInfo {
            username: self.username.clone(),
            name: self.name.clone(),
            disabled: self.disabled,
            grants: self.grants.clone(),
            superuser: self.superuser,
            must_change_password: self.must_change_password,
            email: self.email.clone(),
        }
    }

    /// The role this account acts in for `programme`, if any.
    pub fn role_in(&self, programme: &DocId) -> Option<Role> {
        plait_shared::access::role_in(self.superuser, self.grants.get(programme).copied())
    }
}

/// A password hashed by [`Accounts::hash_once`].
#[derive(Debug, Clone)]
pub struct PasswordHashed(String);

/// A signed-in session as stored (under the hash of its token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Whose.
    pub username: UserId,
    /// When it began (Unix milliseconds).
    pub created_at: u64,
    /// When it was last used (Unix milliseconds; updated at most once a minute).
    pub last_seen: u64,
    /// What signed in: the browser or client, from its User-Agent, shortened.
    pub device: String,
    /// The token cookie-authenticated requests must echo in `X-CSRF-Token`.
    pub csrf: String,
}

/// A session's stored key: SHA-256 of its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// The key of `token`.
    pub fn of(token: &str) -> SessionKey {
        SessionKey(Sha256::digest(token.as_bytes()).into())
    }

    /// A short, non-secret name for logs and the audit trail.
    pub fn short(&self) -> String {
        self.0[..6].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No such account.
    #[error("there is no account named {0}")]
    UnknownUser(String),
    /// The name is taken.
    #[error("an account named {0} already exists")]
    Exists(String),
    /// A bad value (user name, password, programme).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a sign-in failed. The message never says which part was wrong.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong user name or password.
    #[error("the user name or password is not right")]
    BadCredentials,
    /// The account is disabled.
    #[error("this account is disabled; ask your programme office")]
    Disabled,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] AccountError),
}

struct LiveSocket {
    session: SessionKey,
    username: UserId,
    token: CancellationToken,
}

/// Which live connections to close: those of a session, of an account, or
/// of an account but one session (the one that changed its password). Said
/// to the other nodes sharing the store (see [`Accounts::on_close`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closing {
    /// A session's.
    Session(SessionKey),
    /// An account's.
    User(UserId),
    /// An account's, but for one session.
    UserExcept(UserId, SessionKey),
}

impl Closing {
    fn covers(&self, socket: &LiveSocket) -> bool {
        match self {
            Closing::Session(key) => socket.session == *key,
            Closing::User(user) => socket.username == *user,
            Closing::UserExcept(user, keep) => socket.username == *user && socket.session != *keep,
        }
    }

    /// As one line of text (no secret in it: a session's key is the hash
    /// of its token).
    pub fn to_text(&self) -> String {
        let hex = |key: &SessionKey| key.0.iter().map(|b| format!("{b:02x}")).collect::<String>();
        match self {
            Closing::Session(key) => format!("session {}", hex(key)),
            Closing::User(user) => format!("user {user}"),
            Closing::UserExcept(user, keep) => format!("user-except {user} {}", hex(keep)),
        }
    }

    /// Reads [`Closing::to_text`] back.
    pub fn from_text(text: &str) -> Option<Closing> {
        let key = |hex: &str| -> Option<SessionKey> {
            let mut out = [0u8; 32];
            if hex.len() != 64 {
                return None;
            }
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            Some(SessionKey(out))
        };
        let mut words = text.split(' ');
        match (words.next()?, words.next()?, words.next()) {
            ("session", hex, None) => Some(Closing::Session(key(hex)?)),
            ("user", user, None) => Some(Closing::User(UserId::new(user).ok()?)),
            ("user-except", user, Some(hex)) => {
                Some(Closing::UserExcept(UserId::new(user).ok()?, key(hex)?))
            }
            _ => None,
        }
    }
}

/// Told of every closing, to pass it to the other nodes.
type CloseHook = Box<dyn Fn(&Closing) + Send + Sync>;

/// Accounts, sessions, the document index and the live connections.
pub struct Accounts {
    users: Tree,
    sessions: Tree,
    doc_programmes: Tree,
    /// Single sign-on identities (`issuer`, newline, `subject`) and the
    /// account each signs in to.
    identities: Tree,
    /// Programmes closed and archived: id → [`ClosedProgramme`].
    closed: Tree,
    settings: SessionSettings,
    live: Mutex<Vec<LiveSocket>>,
    on_close: std::sync::OnceLock<CloseHook>,
    argon2: Argon2<'static>,
    /// A hash to verify against when the user does not exist, so a wrong
    /// user name takes as long as a wrong password.
    dummy_hash: String,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

pub use crate::clock::now_millis;

/// `n` random bytes from the operating system, URL-safe base64.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn random_token(n: usize) -> Result<String, AccountError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| AccountError::Invalid(format!("no randomness available: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Compares two secrets in constant time.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, AccountError> {
    serde_json::to_vec(value).map_err(|e| AccountError::Invalid(e.to_string()))
}

fn parse<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, AccountError> {
    serde_json::from_slice(bytes)
        .map_err(|e| AccountError::Store(StoreError::Corrupt(format!("account record: {e}"))))
}

/// Where an identity's link is kept.
fn identity_key(issuer: &str, subject: &str) -> Vec<u8> {
    format!("{issuer}\n{subject}").into_bytes()
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

fn valid_username(name: &str) -> Result<UserId, AccountError> {
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !ok {
        return Err(AccountError::Invalid(format!(
            "{name:?} is not a valid user name: use 2–64 lower-case letters, digits, '.', '_' or '-'"
        )));
    }
    UserId::new(name).map_err(|e| AccountError::Invalid(e.to_string()))
}

impl Accounts {
    /// Opens the account trees of `space`.
    ///
    /// # Errors
    /// When the backend fails.
    pub fn open(space: &dyn Keyspace, settings: SessionSettings) -> Result<Accounts, AccountError> {
        let argon2 = Argon2::default();
        let salt = SaltString::encode_b64(b"plait-dummy-salt")
            .map_err(|e| AccountError::Invalid(e.to_string()))?;
        let dummy_hash = argon2
            .hash_password(b"not a password anyone has", &salt)
            .map_err(|e| AccountError::Invalid(e.to_string()))?
            .to_string();
        Ok(Accounts {
            users: space.tree("users")?,
            sessions: space.tree("sessions")?,
            doc_programmes: space.tree("doc_programmes")?,
            identities: space.tree("identities")?,
            closed: space.tree("closed_programmes")?,
            settings,
            live: Mutex::new(Vec::new()),
            on_close: std::sync::OnceLock::new(),
            argon2,
            dummy_hash,
        })
    }

    /// The session settings.
    pub fn settings(&self) -> SessionSettings {
        self.settings
    }

    fn hash(&self, password: &str) -> Result<String, AccountError> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(AccountError::Invalid(format!(
                "a password needs at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|e| AccountError::Invalid(format!("no randomness available: {e}")))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| AccountError::Invalid(e.to_string()))?;
        Ok(self
            .argon2
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AccountError::Invalid(e.to_string()))?
            .to_string())
    }

    /// An account by name.
    ///
    /// # Errors
    /// When storage fails.
    pub fn user(&self, username: &str) -> Result<Option<User>, AccountError> {
        self.users
            .get(username.as_bytes())?
            .map(|bytes| parse(&bytes))
            .transpose()
    }

    fn put_user(&self, user: &User) -> Result<(), AccountError> {
        self.users
            .insert(user.username.as_str().as_bytes(), &json(user)?)?;
        Ok(())
    }

    /// Creates an account.
    ///
    /// # Errors
    /// A bad user name, a short password, a taken name, or storage.
    pub fn add_user(
        &self,
        username: &str,
        name: &str,
        password: &str,
        superuser: bool,
    ) -> Result<UserInfo, AccountError> {
        let username = valid_username(username)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(AccountError::Invalid("a display name is needed".into()));
        }
        self.insert_new(User {
            username,
            name: name.to_owned(),
            password: self.hash(password)?,
            disabled: false,
            grants: BTreeMap::new(),
            superuser,
            must_change_password: false,
            email: None,
        })
    }

    /// Stores a new account, unless its user name is taken.
    fn insert_new(&self, user: User) -> Result<UserInfo, AccountError> {
        let inserted = self
            .users
            .insert_new(user.username.as_str().as_bytes(), &json(&user)?)?;
        if !inserted {
            return Err(AccountError::Exists(user.username.to_string()));
        }
        Ok(user.info())
    }

    /// Creates an account whose password hash was made once for several
    /// (the demo's accounts share one password; hashing it for each would
    /// cost a second of argon2 per start).
    ///
    /// # Errors
    /// As [`Accounts::add_user`].
    pub fn add_user_hashed(
        &self,
        username: &str,
        name: &str,
        hash: &PasswordHashed,
    ) -> Result<UserInfo, AccountError> {
        self.insert_new(User {
            username: valid_username(username)?,
            name: name.trim().to_owned(),
            password: hash.0.clone(),
            disabled: false,
            grants: BTreeMap::new(),
            superuser: false,
            must_change_password: false,
            email: None,
        })
    }

    /// Hashes a password once, for [`Accounts::add_user_hashed`].
    ///
    /// # Errors
    /// A short password.
    pub fn hash_once(&self, password: &str) -> Result<PasswordHashed, AccountError> {
        self.hash(password).map(PasswordHashed)
    }

    /// Every account, by name.
    ///
    /// # Errors
    /// When storage fails.
    pub fn list(&self) -> Result<Vec<UserInfo>, AccountError> {
        let mut users = Vec::new();
        self.users.scan(b"", false, &mut |_, bytes| {
            users.push(bytes.to_vec());
            Ok(true)
        })?;
        users
            .iter()
            .map(|bytes| Ok(parse::<User>(bytes)?.info()))
            .collect()
    }

    fn update_user(
        &self,
        username: &str,
        change: impl FnOnce(&mut User) -> Result<(), AccountError>,
    ) -> Result<UserInfo, AccountError> {
        let mut user = self
            .user(username)?
            .ok_or_else(|| AccountError::UnknownUser(username.to_owned()))?;
        change(&mut user)?;
        self.put_user(&user)?;
        Ok(user.info())
    }

    /// Disables (or re-enables) an account. Disabling ends its sessions and
    /// closes its live connections.
    ///
    /// # Errors
    /// An unknown account, or storage.
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<UserInfo, AccountError> {
        let info = self.update_user(username, |u| {
            u.disabled = disabled;
            Ok(())
        })?;
        if disabled {
            self.end_sessions_of(&info.username)?;
        }
        Ok(info)
    }

    /// Sets (or with `None`, removes) an account's role in a programme. Its
    /// live connections are closed so they reconnect with the new role.
    ///
    /// # Errors
    /// An unknown account, or storage.
    pub fn grant(
        &self,
        username: &str,
        programme: &DocId,
        role: Option<Role>,
    ) -> Result<UserInfo, AccountError> {
        let info = self.update_user(username, |u| {
            match role {
                Some(role) => u.grants.insert(programme.clone(), role),
                None => u.grants.remove(programme),
            };
            Ok(())
        })?;
        self.close_live(&Closing::User(info.username.clone()));
        Ok(info)
    }

    /// Sets a new password; the account's sessions end.
    ///
    /// # Errors
    /// An unknown account, a short password, or storage.
    pub fn set_password(&self, username: &str, password: &str) -> Result<UserInfo, AccountError> {
        let hash = self.hash(password)?;
        let info = self.update_user(username, |u| {
            u.password = hash;
            Ok(())
        })?;
        self.end_sessions_of(&info.username)?;
        Ok(info)
    }

    /// Records an account's e-mail address (`None` forgets it). An address
    /// names one account at most.
    ///
    /// # Errors
    /// An address that is not one, or is another account's; an unknown
    /// account; storage.
    pub fn set_email(&self, username: &str, email: Option<&str>) -> Result<UserInfo, AccountError> {
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => {
                let e = e.to_ascii_lowercase();
                let plausible = e.len() <= 254
                    && e.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty()
                            && domain.contains('.')
                            && !e.contains(char::is_whitespace)
                    });
                if !plausible {
                    return Err(AccountError::Invalid(format!(
                        "{e:?} is not an e-mail address"
                    )));
                }
                if self.list()?.iter().any(|u| {
                    u.email.as_deref() == Some(e.as_str()) && u.username.as_str() != username
                }) {
                    return Err(AccountError::Invalid(format!(
                        "{e} is another account's address"
                    )));
                }
                Some(e)
            }
        };
        self.update_user(username, |u| {
            u.email = email;
            Ok(())
        })
    }

    /// Creates an account with a one-time password (made here, returned to
    /// be handed over once) that its holder must change at first sign-in.
    ///
    /// # Errors
    /// As [`Accounts::add_user`].
    pub fn add_invited(
        &self,
        username: &str,
        name: &str,
    ) -> Result<(UserInfo, String), AccountError> {
        let password = random_token(12)?;
        self.add_user(username, name, &password, false)?;
        let info = self.update_user(username, |u| {
            u.must_change_password = true;
            Ok(())
        })?;
        Ok((info, password))
    }

    /// The holder changes their own password: the current one must be
    /// right; their other sessions end, `keep` (the one asking) stays.
    ///
    /// # Errors
    /// A wrong current password ([`AccountError::Invalid`]), a short new
    /// one, or storage.
    pub fn change_own_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
        keep: SessionKey,
    ) -> Result<UserInfo, AccountError> {
        if self.verify(username, current).is_err() {
            return Err(AccountError::Invalid(
                "the current password is not right".into(),
            ));
        }
        if current == new {
            return Err(AccountError::Invalid(
                "choose a password different from the one you were given".into(),
            ));
        }
        let hash = self.hash(new)?;
        let info = self.update_user(username, |u| {
            u.password = hash;
            u.must_change_password = false;
            Ok(())
        })?;
        for (key, bytes) in crate::kv::collect(&*self.sessions, b"")? {
            if key != keep.0 && parse::<Session>(&bytes).is_ok_and(|s| s.username == info.username)
            {
                self.sessions.remove(&key)?;
            }
        }
        self.close_live(&Closing::UserExcept(info.username.clone(), keep));
        Ok(info)
    }

    /// Checks a user name and password. Takes as long for an unknown name.
    ///
    /// # Errors
    /// [`SignInError`].
    pub fn verify(&self, username: &str, password: &str) -> Result<User, SignInError> {
        let user = self.user(username)?;
        let hash = user
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |u| u.password.as_str());
        // An account that signs in only through its organisation has no
        // password: checked against the dummy, so it takes as long.
        let parsed = PasswordHash::new(hash)
            .or_else(|_| PasswordHash::new(&self.dummy_hash))
            .map_err(|_| SignInError::BadCredentials)?;
        let has_password = PasswordHash::new(hash).is_ok();
        let matches = self
            .argon2
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        match user {
            Some(_) if !has_password => Err(SignInError::BadCredentials),
            Some(user) if matches && user.disabled => Err(SignInError::Disabled),
            Some(user) if matches => Ok(user),
            _ => Err(SignInError::BadCredentials),
        }
    }

    /// The account a single sign-on identity signs in to, if linked.
    ///
    /// # Errors
    /// When storage fails.
    pub fn identity(&self, issuer: &str, subject: &str) -> Result<Option<User>, AccountError> {
        let Some(username) = self.identities.get(&identity_key(issuer, subject))? else {
            return Ok(None);
        };
        let username = String::from_utf8_lossy(&username).into_owned();
        self.user(&username)
    }

    /// Links an identity (the provider's `issuer` and the person's
    /// `subject` there) to an account: signing in with it signs in to the
    /// account. An identity links to one account; linking it again to
    /// another is refused until it is unlinked.
    ///
    /// # Errors
    /// An unknown account, an identity linked elsewhere, or storage.
    pub fn link_identity(
        &self,
        username: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<UserInfo, AccountError> {
        let user = self
            .user(username)?
            .ok_or_else(|| AccountError::UnknownUser(username.to_owned()))?;
        let (issuer, subject) = (issuer.trim(), subject.trim());
        if issuer.is_empty() || subject.is_empty() || issuer.contains('\n') {
            return Err(AccountError::Invalid(
                "an identity needs its provider's issuer URL and the person's subject there".into(),
            ));
        }
        let key = identity_key(issuer, subject);
        let name = user.username.as_str().as_bytes();
        if !self.identities.insert_new(&key, name)? {
            let held = self.identities.get(&key)?.unwrap_or_default();
            if held != name {
                return Err(AccountError::Invalid(format!(
                    "that identity is linked to {} already: unlink it first",
                    String::from_utf8_lossy(&held)
                )));
            }
        }
        Ok(user.info())
    }

    /// Removes an identity's link; whether there was one.
    ///
    /// # Errors
    /// When storage fails.
    pub fn unlink_identity(&self, issuer: &str, subject: &str) -> Result<bool, AccountError> {
        let key = identity_key(issuer.trim(), subject.trim());
        let had = self.identities.get(&key)?.is_some();
        self.identities.remove(&key)?;
        Ok(had)
    }

    /// The one account with this e-mail address (compared without case),
    /// if exactly one has it.
    ///
    /// # Errors
    /// When storage fails.
    pub fn user_by_email(&self, email: &str) -> Result<Option<User>, AccountError> {
        let wanted = email.trim().to_lowercase();
        if wanted.is_empty() {
            return Ok(None);
        }
        let mut found = Vec::new();
        self.users.scan(b"", false, &mut |_, bytes| {
            found.push(bytes.to_vec());
            Ok(true)
        })?;
        let mut matching = found
            .iter()
            .map(|bytes| parse::<User>(bytes))
            .filter(|user| {
                user.as_ref().map_or(true, |u| {
                    u.email.as_deref().map(|e| e.trim().to_lowercase()) == Some(wanted.clone())
                })
            })
            .collect::<Result<Vec<User>, AccountError>>()?;
        Ok(if matching.len() == 1 {
            matching.pop()
        } else {
            None
        })
    }

    /// Creates an account for someone signing in through their
    /// organisation for the first time: no password (they sign in the same
    /// way again), no programme (a programme's admin adds them), a user
    /// name made from `preferred` (their e-mail's local part, say) and
    /// unique, linked to the identity.
    ///
    /// # Errors
    /// When storage fails.
    pub fn add_from_identity(
        &self,
        preferred: &str,
        name: &str,
        email: Option<&str>,
        issuer: &str,
        subject: &str,
    ) -> Result<User, AccountError> {
        let base: String = preferred
            .split('@')
            .next()
            .unwrap_or_default()
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(56)
            .collect();
        let base = if base.len() < 2 {
            "user".to_owned()
        } else {
            base
        };
        let name = match name.trim() {
            "" => base.clone(),
            name => name.chars().take(120).collect(),
        };
        for n in 1..1000 {
            let candidate = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let user = User {
                username: valid_username(&candidate)?,
                name: name.clone(),
                password: String::new(),
                disabled: false,
                grants: BTreeMap::new(),
                superuser: false,
                must_change_password: false,
                email: email.map(str::to_owned),
            };
            match self.insert_new(user.clone()) {
                Ok(_) => {
                    self.link_identity(user.username.as_str(), issuer, subject)?;
                    return Ok(user);
                }
                Err(AccountError::Exists(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AccountError::Invalid(format!(
            "no free user name like {base}"
        )))
    }

    /// Starts a session; returns its token (to hand to the client, never
    /// stored) and the session.
    ///
    /// # Errors
    /// When storage fails.
    pub fn start_session(
        &self,
        user: &User,
        device: &str,
    ) -> Result<(String, Session), AccountError> {
        let token = random_token(32)?;
        let now = now_millis();
        let session = Session {
            username: user.username.clone(),
            created_at: now,
            last_seen: now,
            device: device.chars().take(120).collect(),
            csrf: random_token(24)?,
        };
        self.sessions
            .insert(&SessionKey::of(&token).0, &json(&session)?)?;
        Ok((token, session))
    }

    /// The live session and account for `token`, if the session has not
    /// expired and the account is enabled. Notes the use (at most once a
    /// minute, to spare the disk).
    ///
    /// # Errors
    /// When storage fails.
    pub fn session(
        &self,
        token: &str,
    ) -> Result<Option<(SessionKey, Session, User)>, AccountError> {
        let key = SessionKey::of(token);
        self.session_by_key(key, true)
            .map(|found| found.map(|(session, user)| (key, session, user)))
    }

    /// Like [`Accounts::session`], by key; `touch` notes the use.
    ///
    /// # Errors
    /// When storage fails.
    pub fn session_by_key(
        &self,
        key: SessionKey,
        touch: bool,
    ) -> Result<Option<(Session, User)>, AccountError> {
        let Some(bytes) = self.sessions.get(&key.0)? else {
            return Ok(None);
        };
        let mut session: Session = parse(&bytes)?;
        let now = now_millis();
        let idle = u64::try_from(self.settings.idle.as_millis()).unwrap_or(u64::MAX);
        let absolute = u64::try_from(self.settings.absolute.as_millis()).unwrap_or(u64::MAX);
        let expired = now.saturating_sub(session.last_seen) > idle
            || now.saturating_sub(session.created_at) > absolute;
        let user = self.user(session.username.as_str())?;
        let Some(user) = user.filter(|u| !u.disabled && !expired) else {
            self.sessions.remove(&key.0)?;
            return Ok(None);
        };
        if touch && now.saturating_sub(session.last_seen) > 60_000 {
            session.last_seen = now;
            self.sessions.insert(&key.0, &json(&session)?)?;
        }
        Ok(Some((session, user)))
    }

    /// Ends a session and closes its live connections.
    ///
    /// # Errors
    /// When storage fails.
    pub fn end_session(&self, key: SessionKey) -> Result<(), AccountError> {
        self.sessions.remove(&key.0)?;
        self.close_live(&Closing::Session(key));
        Ok(())
    }

    fn end_sessions_of(&self, username: &UserId) -> Result<(), AccountError> {
        for (key, bytes) in crate::kv::collect(&*self.sessions, b"")? {
            if parse::<Session>(&bytes).is_ok_and(|s| &s.username == username) {
                self.sessions.remove(&key)?;
            }
        }
        self.close_live(&Closing::User(username.clone()));
        Ok(())
    }

    /// Removes every expired session (run now and then).
    ///
    /// # Errors
    /// When storage fails.
    pub fn sweep_sessions(&self) -> Result<usize, AccountError> {
        let mut removed = 0;
        for (key, _) in crate::kv::collect(&*self.sessions, b"")? {
            let Ok(key) = <[u8; 32]>::try_from(key.as_slice()) else {
                self.sessions.remove(&key)?;
                continue;
            };
            if self.session_by_key(SessionKey(key), false)?.is_none() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Registers a live connection of a session; the token is cancelled when
    /// the session ends or the account changes.
    pub fn register_live(&self, session: SessionKey, username: &UserId) -> CancellationToken {
        let token = CancellationToken::new();
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|socket| !socket.token.is_cancelled());
        live.push(LiveSocket {
            session,
            username: username.clone(),
            token: token.clone(),
        });
        token
    }

    /// Sets who is told of every closing (once; the node's link to the
    /// others sharing its store).
    pub fn on_close(&self, hook: impl Fn(&Closing) + Send + Sync + 'static) {
        let _ = self.on_close.set(Box::new(hook));
    }

    fn close_live(&self, which: &Closing) {
        self.close_here(which);
        if let Some(hook) = self.on_close.get() {
            hook(which);
        }
    }

    /// Closes the live connections `which` covers on this node only (a
    /// closing another node made).
    pub fn close_here(&self, which: &Closing) {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|socket| {
            if which.covers(socket) {
                socket.token.cancel();
                false
            } else {
                !socket.token.is_cancelled()
            }
        });
    }

    /// Records that `doc` belongs to `programme`.
    ///
    /// # Errors
    /// When storage fails.
    pub fn set_programme_of(&self, doc: &DocId, programme: &DocId) -> Result<(), AccountError> {
        self.doc_programmes
            .insert(doc.as_str().as_bytes(), programme.as_str().as_bytes())?;
        Ok(())
    }

    /// The programme `doc` belongs to, if it is registered.
    ///
    /// # Errors
    /// When storage fails.
    pub fn programme_of(&self, doc: &DocId) -> Result<Option<DocId>, AccountError> {
        let Some(bytes) = self.doc_programmes.get(doc.as_str().as_bytes())? else {
            return Ok(None);
        };
        DocId::new(String::from_utf8_lossy(&bytes))
            .map(Some)
            .map_err(|e| AccountError::Store(StoreError::Corrupt(e.to_string())))
    }

    /// Every document that belongs to a programme, with the programme.
    ///
    /// # Errors
    /// When storage fails.
    pub fn docs_with_programmes(&self) -> Result<Vec<(DocId, DocId)>, AccountError> {
        let mut docs = Vec::new();
        for (doc, programme) in crate::kv::collect(&*self.doc_programmes, b"")? {
            if let (Ok(doc), Ok(programme)) = (
                DocId::new(String::from_utf8_lossy(&doc)),
                DocId::new(String::from_utf8_lossy(&programme)),
            ) {
                docs.push((doc, programme));
            }
        }
        Ok(docs)
    }

    /// The members of a programme with their roles, by user name.
    ///
    /// # Errors
    /// When storage fails.
    pub fn members(&self, programme: &DocId) -> Result<Vec<(UserInfo, Role)>, AccountError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|u| !u.disabled)
            .filter_map(|u| {
                let role = u.grants.get(programme).copied()?;
                Some((u, role))
            })
            .collect())
    }

    /// Whether `programme` is closed, and when and by whom.
    ///
    /// # Errors
    /// When storage fails.
    pub fn closed(&self, programme: &DocId) -> Result<Option<ClosedProgramme>, AccountError> {
        self.closed
            .get(programme.as_str().as_bytes())?
            .map(|bytes| parse(&bytes))
            .transpose()
    }

    /// Every closed programme.
    ///
    /// # Errors
    /// When storage fails.
    pub fn closed_programmes(&self) -> Result<Vec<DocId>, AccountError> {
        let mut ids = Vec::new();
        self.closed.scan(b"", false, &mut |key, _| {
            if let Ok(id) = DocId::new(String::from_utf8_lossy(key)) {
                ids.push(id);
            }
            Ok(true)
        })?;
        Ok(ids)
    }

    /// Closes `programme` (`by` its admin): from now on everyone reads it
    /// and nobody changes it (its documents, members, evidence); its
    /// members' live connections close, to come back read-only. `false` if
    /// it was closed already.
    ///
    /// # Errors
    /// When storage fails.
    pub fn close_programme(&self, programme: &DocId, by: &UserId) -> Result<bool, AccountError> {
        let record = ClosedProgramme {
            at: now_millis(),
            by: by.clone(),
        };
        if !self
            .closed
            .insert_new(programme.as_str().as_bytes(), &json(&record)?)?
        {
            return Ok(false);
        }
        for (member, _) in self.members(programme)? {
            self.close_live(&Closing::User(member.username));
        }
        Ok(true)
    }

    /// Opens a closed programme again (a server administrator's decision:
    /// a records manager's archive is reopened only on purpose). `false`
    /// if it was not closed.
    ///
    /// # Errors
    /// When storage fails.
    pub fn reopen_programme(&self, programme: &DocId) -> Result<bool, AccountError> {
        let was = self.closed(programme)?.is_some();
        self.closed.remove(programme.as_str().as_bytes())?;
        Ok(was)
    }

    /// How many live connections are registered (for tests and metrics).
    pub fn live_connections(&self) -> usize {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.iter().filter(|s| !s.token.is_cancelled()).count()
    }
}

/// The user names of a programme's members by display name, for mapping a
/// spreadsheet's "Owner" column onto accounts.
pub fn names_to_users(members: &[(UserInfo, Role)]) -> HashMap<String, UserId> {
    let mut seen: HashMap<String, Option<UserId>> = HashMap::new();
    for (user, _) in members {
        seen.entry(user.name.clone())
            .and_modify(|u| *u = None)
            .or_insert_with(|| Some(user.username.clone()));
    }
    seen.into_iter()
        .filter_map(|(name, user)| Some((name, user?)))
        .collect()
}
