//! Account administration from the command line (`plait user ...`).
//!
//! sled lets one process open a data directory at a time, and disabling an
//! account must close its live connections at once, so while the server runs
//! the commands go to it: over a Unix socket in the data directory
//! (`control.sock`, mode 0600), which only the account that owns the data
//! can reach. When no server is running, the command opens the store itself.
//! One JSON line each way.

use std::path::{Path, PathBuf};

use crate::accounts::{Accounts, UserInfo};
use crate::AppState;
use plait_shared::import::{ImportSummary, RowError};
use plait_shared::{DocId, Role};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// An administration command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Create an account.
    Add {
        /// Sign-in name.
        username: String,
        /// Display name.
        name: String,
        /// Initial password.
        password: String,
        /// Administers the whole server.
        superuser: bool,
        /// Their e-mail address.
        #[serde(default)]
        email: Option<String>,
    },
    /// List the accounts.
    List,
    /// Disable an account (its sessions end, its connections close).
    Disable {
        /// Whom.
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Whom.
        username: String,
    },
    /// Set or remove a role in a programme.
    Grant {
        /// Whom.
        username: String,
        /// Which programme.
        programme: DocId,
        /// The role, or `None` to remove them from the programme.
        role: Option<Role>,
    },
    /// Set or remove an account's e-mail address.
    Email {
        /// Whom.
        username: String,
        /// The address, or none.
        email: Option<String>,
    },
    /// Link an identity provider's identity to an account.
    Link {
        /// Whom.
        username: String,
        /// The provider's issuer URL.
        issuer: String,
        /// The person's subject there.
        subject: String,
    },
    /// Remove an identity's link.
    Unlink {
        /// The provider's issuer URL.
        issuer: String,
        /// The person's subject there.
        subject: String,
    },
    /// Write a backup of the whole store to `file` (a path on the
    /// server's machine).
    Backup {
        /// Where.
        file: String,
        /// Include sign-in sessions.
        sessions: bool,
    },
    /// Read the whole store and report what is damaged.
    Check,
    /// Set a new password (the account's sessions end).
    Password {
        /// Whom.
        username: String,
        /// The new password.
        password: String,
    },
    /// Import an action plan (CSV or XLSX) into a programme.
    Import {
        /// The programme (created if it does not exist).
        programme: DocId,
        /// A new programme's name.
        name: Option<String>,
        /// The file's name (for its format).
        file_name: String,
        /// The file, base64.
        file: String,
        /// Import the valid rows, skip the rest.
        valid_only: bool,
        /// Who the import is recorded as.
        as_user: String,
        /// How columns and people are read.
        #[serde(default)]
        options: plait_shared::api::ImportOptions,
    },
    /// Releases evidence files no plan cites any more (see [`crate::gc`]).
    Gc {
        /// Only files older than this many days.
        grace_days: u64,
    },
}

/// The answer to a command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The account after the command.
    User(UserInfo),
    /// Every account.
    Users(Vec<UserInfo>),
    /// What an import created, and the rows it skipped.
    Imported {
        /// Counts.
        summary: ImportSummary,
        /// Rows skipped (only with `valid_only`).
        skipped: Vec<RowError>,
        /// Accounts created, with their one-time passwords.
        #[serde(default)]
        accounts: Vec<plait_shared::api::CreatedAccount>,
    },
    /// An import refused: every problem found.
    Refused(Vec<RowError>),
    /// What an evidence collection did.
    Collected(crate::gc::Collected),
    /// Done, with a word on what was done.
    Done(String),
    /// A store check: its report, and how many problems.
    Checked {
        /// The report, in words.
        report: String,
        /// Problems found.
        damaged: usize,
    },
    /// Why it failed.
    Error(String),
}

/// Runs a command against the server's state.
pub async fn execute(state: &AppState, command: Command) -> Reply {
    if let Command::Import {
        programme,
        name,
        file_name,
        file,
        valid_only,
        as_user,
        options,
    } = command
    {
        return import(
            state,
            &programme,
            name.as_deref(),
            &file_name,
            &file,
            valid_only,
            &as_user,
            &options,
        )
        .await;
    }
    if let Command::Backup { file, sessions } = &command {
        let store = state.storage.clone();
        let (file, sessions) = (std::path::PathBuf::from(file), *sessions);
        return tokio::task::spawn_blocking(move || crate::backup::write(&*store, &file, sessions))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map_or_else(Reply::Error, |summary| {
                Reply::Done(format!("Backed up {summary}."))
            });
    }
    if let Command::Check = command {
        let store = state.storage.clone();
        return tokio::task::spawn_blocking(move || crate::check::check(&*store))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map_or_else(Reply::Error, |report| Reply::Checked {
                damaged: report.damaged.len(),
                report: report.to_string(),
            });
    }
    if let Command::Gc { grace_days } = command {
        let grace = std::time::Duration::from_secs(grace_days.saturating_mul(24 * 3600));
        return match crate::gc::collect_evidence(state, grace, crate::clock::now_millis()).await {
            Ok(collected) => Reply::Collected(collected),
            Err(e) => Reply::Error(e.to_string()),
        };
    }
    let accounts = state.accounts.clone();
    tokio::task::spawn_blocking(move || execute_account(&accounts, command))
        .await
        .unwrap_or_else(|e| Reply::Error(e.to_string()))
}

#[allow(clippy::too_many_arguments)]
async fn import(
    state: &AppState,
    programme: &DocId,
    name: Option<&str>,
    file_name: &str,
    file: &str,
    valid_only: bool,
    as_user: &str,
    options: &plait_shared::api::ImportOptions,
) -> Reply {
    use base64::Engine as _;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(file) else {
        return Reply::Error("the file did not arrive intact".into());
    };
    let Ok(user) = plait_shared::UserId::new(as_user) else {
        return Reply::Error(format!("{as_user:?} is not a user name"));
    };
    let format = crate::import::Format::guess(file_name, &bytes);
    let parsed = crate::import::read(&bytes, format, &options.columns);
    // The command line is the server's operator: it matches people among
    // every account, as a server administrator does.
    let operator = crate::accounts::UserInfo {
        username: user.clone(),
        name: user.to_string(),
        disabled: false,
        grants: std::collections::BTreeMap::new(),
        superuser: true,
        must_change_password: false,
        email: None,
    };
    let access = crate::auth::Access {
        name: user.to_string(),
        user,
        role: Role::Admin,
        kind: crate::auth::DocKind::Plan,
        session: crate::accounts::SessionKey::of("command line"),
        device: "command line".into(),
        rules: match state.rules_of(programme).await {
            Ok(rules) => rules,
            Err(e) => return Reply::Error(e.to_string()),
        },
    };
    match crate::import::run(
        state, programme, name, &parsed, options, valid_only, &access, &operator,
    )
    .await
    {
        Ok((summary, preview, accounts)) => Reply::Imported {
            summary,
            skipped: preview.errors,
            accounts,
        },
        Err(crate::import::ImportError::Refused(errors)) => Reply::Refused(errors),
        Err(e) => Reply::Error(e.to_string()),
    }
}

/// Runs an account command.
pub fn execute_account(accounts: &Accounts, command: Command) -> Reply {
    let result = match command {
        Command::Add {
            username,
            name,
            password,
            superuser,
            email,
        } => accounts
            .add_user(&username, &name, &password, superuser)
            .and_then(|info| match email {
                Some(email) => accounts.set_email(info.username.as_str(), Some(&email)),
                None => Ok(info),
            })
            .map(Reply::User),
        Command::List => accounts.list().map(Reply::Users),
        Command::Disable { username } => accounts.set_disabled(&username, true).map(Reply::User),
        Command::Enable { username } => accounts.set_disabled(&username, false).map(Reply::User),
        Command::Grant {
            username,
            programme,
            role,
        } => accounts.grant(&username, &programme, role).map(Reply::User),
        Command::Email { username, email } => accounts
            .set_email(&username, email.as_deref())
            .map(Reply::User),
        Command::Link {
            username,
            issuer,
            subject,
        } => accounts
            .link_identity(&username, &issuer, &subject)
            .map(Reply::User),
        Command::Unlink { issuer, subject } => {
            accounts
                .unlink_identity(&issuer, &subject)
                .map(|had| match had {
                    true => Reply::Done("unlinked".into()),
                    false => Reply::Error("no account is linked to that identity".into()),
                })
        }
        Command::Password { username, password } => {
            accounts.set_password(&username, &password).map(Reply::User)
        }
        Command::Import { .. } => return Reply::Error("imports need the server's state".into()),
        Command::Gc { .. } => return Reply::Error("collecting needs the server's state".into()),
        Command::Backup { .. } | Command::Check => {
            return Reply::Error("backups and checks need the server's state".into())
        }
    };
    result.unwrap_or_else(|e| Reply::Error(e.to_string()))
}

/// The control socket of a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// Serves commands on the data directory's socket until `shutdown`.
///
/// # Errors
/// When the socket cannot be created.
#[cfg(unix)]
pub fn listen(data_dir: &Path, state: AppState) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    // We hold sled's lock on this directory, so a socket left here is stale.
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let shutdown = state.shutdown.clone();
    Ok(tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket accept failed");
                        continue;
                    }
                },
                () = shutdown.cancelled() => break,
            };
            let state = state.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                if BufReader::new(read).read_line(&mut line).await.is_err() {
                    return;
                }
                let reply = match serde_json::from_str::<Command>(&line) {
                    Ok(command) => {
                        let what = command_name(&command);
                        let reply = execute(&state, command).await;
                        if let Err(e) = state.registry.flush().await {
                            tracing::error!(error = %e, "flushing after an account command failed");
                        }
                        tracing::info!(
                            command = what,
                            ok = !matches!(reply, Reply::Error(_)),
                            "account command"
                        );
                        reply
                    }
                    Err(e) => Reply::Error(format!("not a command: {e}")),
                };
                if let Ok(mut json) = serde_json::to_vec(&reply) {
                    json.push(b'\n');
                    let _ = write.write_all(&json).await;
                }
            });
        }
        let _ = std::fs::remove_file(&path);
    }))
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Add { .. } => "add",
        Command::List => "list",
        Command::Disable { .. } => "disable",
        Command::Enable { .. } => "enable",
        Command::Grant { .. } => "grant",
        Command::Password { .. } => "password",
        Command::Email { .. } => "email",
        Command::Link { .. } => "link",
        Command::Unlink { .. } => "unlink",
        Command::Import { .. } => "import",
        Command::Gc { .. } => "gc",
        Command::Backup { .. } => "backup",
        Command::Check => "check",
    }
}

/// Sends a command to a running server; `Ok(None)` when none is running.
///
/// # Errors
/// When the server accepted the connection but did not answer.
#[cfg(unix)]
pub async fn send(data_dir: &Path, command: &Command) -> std::io::Result<Option<Reply>> {
    let path = socket_path(data_dir);
    let Ok(stream) = tokio::net::UnixStream::connect(&path).await else {
        return Ok(None);
    };
    let (read, mut write) = stream.into_split();
    let mut json = serde_json::to_vec(command)?;
    json.push(b'\n');
    write.write_all(&json).await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
