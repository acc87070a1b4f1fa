//! `plait`: the Plait server and its administration commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::sync::Arc;
use std::time::Duration;

use plait_server::accounts::SessionSettings;
use plait_server::kv::Storage;
use plait_server::{Config, PgStore, RegistrySettings, SledStore};
use plait_shared::admission::Limits;
use tokio::net::TcpListener;

/// Where the store lives unless `--data-dir` (or `PLAIT_DATA_DIR`) says.
const DEFAULT_DATA_DIR: &str = "./data";

#[derive(Debug, Parser)]
#[command(
    name = "plait",
    version,
    about = "Plait: run an NHS trust's improvement programme, offline first"
)]
struct Cli {
    /// Log format.
    #[arg(long, env = "PLAIT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    log_format: LogFormat,
    /// Keep everything in PostgreSQL instead of sled's files in the data
    /// directory (`postgres://user:password@host/database`): several
    /// nodes may then serve one database (the data directory keeps only
    /// the node's control socket).
    #[arg(
        long,
        env = "PLAIT_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API and the web client.
    Serve(Box<ServeArgs>),
    /// Import an action plan (CSV or XLSX) into a programme, creating the
    /// programme if it does not exist. Every row error is printed with its
    /// row; with any, nothing is imported unless --valid-only.
    Import {
        /// The spreadsheet (.csv or .xlsx).
        file: PathBuf,
        /// The programme's id.
        #[arg(long)]
        programme: String,
        /// A new programme's name.
        #[arg(long)]
        name: Option<String>,
        /// Import the rows without errors and skip the rest.
        #[arg(long)]
        valid_only: bool,
        /// The user name the import is recorded as.
        #[arg(long = "as", default_value = "programme.office")]
        as_user: String,
        /// Read a column other than as guessed: "HEADER=COLUMN" (a column
        /// key such as owner, exec_lead, workstream, latest_update) or
        /// "HEADER=ignore". Repeatable.
        #[arg(long = "column", value_name = "HEADER=COLUMN")]
        columns: Vec<String>,
        /// Map a person the file names: "NAME=USERNAME", "NAME=create" or
        /// "NAME=unassigned". Repeatable.
        #[arg(long = "person", value_name = "NAME=WHO")]
        people: Vec<String>,
        /// What to do with owners no account matches: create (an account
        /// each, passwords printed once) or unassigned. Without it, they
        /// are listed and nothing is imported.
        #[arg(long, value_name = "create|unassigned")]
        unmatched: Option<String>,
        /// The whole mapping as JSON ({"columns": {...}, "people": {...},
        /// "unmatched": ...}); --column and --person add to it.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Where sled keeps its files.
        #[arg(long, env = "PLAIT_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Release evidence files no plan cites any more (talks to the running
    /// server if there is one): a file older than the grace period that a
    /// programme's plans do not cite no longer counts for that programme,
    /// and one no programme reads is deleted.
    Gc {
        /// Only files uploaded more than this many days ago.
        #[arg(long, default_value_t = 30)]
        grace_days: u64,
        /// Where sled keeps its files.
        #[arg(long, env = "PLAIT_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Copy a sled data directory into PostgreSQL (which must hold no
    /// Plait data yet), then check that every document's state, every
    /// tree entry and every writer's claim reads back equal.
    Migrate {
        /// The sled data directory (no server may be using it).
        #[arg(long)]
        from: PathBuf,
        /// The database (`postgres://…`).
        #[arg(long)]
        to: String,
    },
    /// Write a backup of the whole store (documents, accounts, membership,
    /// the audit trail, evidence files) to FILE, with a manifest of counts
    /// and checksums. Talks to the running server if there is one (it keeps
    /// serving); otherwise reads the store directly.
    Backup {
        /// The backup file to write (a ZIP).
        file: PathBuf,
        /// Leave sign-in sessions out (everyone signs in again after a
        /// restore).
        #[arg(long)]
        without_sessions: bool,
        /// Where sled keeps its files.
        #[arg(long, env = "PLAIT_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Restore a backup into an empty store, then read it back and check
    /// every document's state and every tree entry against the backup.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace a data directory that holds data (it is kept beside the
        /// restored one, as DIR.replaced-TIME).
        #[arg(long)]
        force: bool,
        /// The data directory to restore into (empty or new).
        #[arg(long, env = "PLAIT_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Read every document, snapshot, log entry, audit record, account and
    /// evidence file; name what is damaged or missing, and exit non-zero if
    /// anything is. Talks to the running server if there is one.
    Check {
        /// Where sled keeps its files.
        #[arg(long, env = "PLAIT_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Manage accounts (talks to the running server if there is one).
    User {
        /// Where sled keeps its files.
        #[arg(long, env = "PLAIT_DATA_DIR", default_value = DEFAULT_DATA_DIR, global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// `plait serve`: every setting, with its default from the library's
/// `Config` (one place), and the environment variable that sets it.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PLAIT_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Where sled keeps its files.
    #[arg(long, env = "PLAIT_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// The built web client (trunk's output).
    #[arg(long, env = "PLAIT_CLIENT_DIR", default_value = "./client/dist")]
    client_dir: PathBuf,
    /// Seed the demo programme from the bundled action plan if it is missing.
    #[arg(long, env = "PLAIT_DEMO")]
    demo: bool,
    /// The largest sync message accepted, in bytes.
    #[arg(long, env = "PLAIT_MAX_MESSAGE_BYTES", default_value_t = Config::MAX_MESSAGE_BYTES)]
    max_message_bytes: usize,
    /// Seconds a document with no clients stays in memory.
    #[arg(long, env = "PLAIT_IDLE_UNLOAD_SECS", default_value_t = RegistrySettings::IDLE_UNLOAD_SECS)]
    idle_unload_secs: u64,
    /// Compact a document's update log once it has this many entries.
    #[arg(long, env = "PLAIT_COMPACT_AFTER", default_value_t = RegistrySettings::COMPACT_AFTER)]
    compact_after: u64,
    /// Messages queued for one client before it is disconnected as too slow.
    #[arg(long, env = "PLAIT_CLIENT_QUEUE", default_value_t = RegistrySettings::CLIENT_QUEUE)]
    client_queue: usize,
    /// Minutes a session may go unused before it ends.
    #[arg(long, env = "PLAIT_SESSION_IDLE_MINUTES", default_value_t = SessionSettings::IDLE_MINUTES)]
    session_idle_minutes: u64,
    /// Hours after sign-in a session ends, used or not.
    #[arg(long, env = "PLAIT_SESSION_MAX_HOURS", default_value_t = SessionSettings::MAX_HOURS)]
    session_max_hours: u64,
    /// Seconds a session may go unused (overrides the minutes; for tests).
    #[arg(long, env = "PLAIT_SESSION_IDLE_SECONDS", hide = true)]
    session_idle_seconds: Option<u64>,
    /// Served behind TLS: mark the session cookie Secure and send HSTS.
    #[arg(long, env = "PLAIT_SECURE_COOKIES")]
    secure_cookies: bool,
    /// The largest evidence file accepted, in bytes.
    #[arg(long, env = "PLAIT_MAX_FILE_BYTES", default_value_t = Config::MAX_BLOB_BYTES)]
    max_file_bytes: usize,
    /// The largest update a member may send, in bytes.
    #[arg(long, env = "PLAIT_MAX_UPDATE_BYTES", default_value_t = Limits::DEFAULT.max_update_bytes)]
    max_update_bytes: usize,
    /// The largest a document may grow to, in bytes stored.
    #[arg(long, env = "PLAIT_MAX_DOC_BYTES", default_value_t = Limits::DEFAULT.max_doc_bytes)]
    max_doc_bytes: u64,
    /// Serve `/metrics` to a scraper presenting this bearer token (not
    /// served without one).
    #[arg(long, env = "PLAIT_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// A reverse proxy whose `X-Forwarded-For` names the client
    /// (repeatable; comma-separated in the environment).
    #[arg(
        long = "trusted-proxy",
        env = "PLAIT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds a connection may take to send a request's headers, or stay
    /// idle between requests.
    #[arg(long, env = "PLAIT_HEADER_TIMEOUT_SECS", default_value_t = Config::HEADER_READ_TIMEOUT_SECS)]
    header_timeout_secs: u64,
    /// Seconds a request's body may go without sending anything.
    #[arg(long, env = "PLAIT_BODY_IDLE_TIMEOUT_SECS", default_value_t = Config::BODY_IDLE_TIMEOUT_SECS)]
    body_idle_timeout_secs: u64,
    /// The evidence files one programme may hold, in bytes.
    #[arg(long, env = "PLAIT_MAX_EVIDENCE_BYTES", default_value_t = Config::MAX_EVIDENCE_BYTES)]
    max_evidence_bytes: u64,
    /// Where people reach Plait (`https://plait.example.nhs.uk`): the
    /// redirect URI registered with identity providers is this followed by
    /// `/api/auth/oidc/callback`.
    #[arg(long, env = "PLAIT_PUBLIC_URL")]
    public_url: Option<String>,
    /// An OpenID Connect identity provider's issuer URL (Entra ID:
    /// `https://login.microsoftonline.com/{tenant}/v2.0`). Repeat for
    /// several, giving `--oidc-client-id` (and `--oidc-client-secret-file`,
    /// `--oidc-label`) in the same order; comma-separated in the
    /// environment.
    #[arg(long = "oidc-issuer", env = "PLAIT_OIDC_ISSUER", value_delimiter = ',')]
    oidc_issuer: Vec<String>,
    /// Plait's client id at each provider.
    #[arg(
        long = "oidc-client-id",
        env = "PLAIT_OIDC_CLIENT_ID",
        value_delimiter = ','
    )]
    oidc_client_id: Vec<String>,
    /// A file holding each provider's client secret (one per provider, or
    /// none for public clients).
    #[arg(
        long = "oidc-client-secret-file",
        env = "PLAIT_OIDC_CLIENT_SECRET_FILE",
        value_delimiter = ','
    )]
    oidc_client_secret_file: Vec<PathBuf>,
    /// What each provider's button says after "Sign in with" (default: the
    /// issuer's host).
    #[arg(long = "oidc-label", env = "PLAIT_OIDC_LABEL", value_delimiter = ',')]
    oidc_label: Vec<String>,
    /// Someone signing in with an identity no account has (no link, no
    /// account with their verified e-mail address): `create` an account in
    /// no programme, or `refuse`.
    #[arg(long = "oidc-unknown", env = "PLAIT_OIDC_UNKNOWN", value_enum, default_value_t = OidcUnknown::Create)]
    oidc_unknown: OidcUnknown,
    /// Switch signing in with a password off (with single sign-on
    /// configured): everyone signs in with their organisation's account.
    #[arg(long, env = "PLAIT_NO_PASSWORDS")]
    no_passwords: bool,
    /// The mail server for the weekly digest, as
    /// `smtp://[user[:password]@]host[:port]` (STARTTLS required; port 587
    /// unless given) or `smtps://…` (TLS; 465). Without it (or
    /// --smtp-host), no digests are sent.
    #[arg(
        long,
        env = "PLAIT_SMTP_URL",
        hide_env_values = true,
        conflicts_with = "smtp_host"
    )]
    smtp_url: Option<String>,
    /// The mail server's host (instead of --smtp-url).
    #[arg(long, env = "PLAIT_SMTP_HOST")]
    smtp_host: Option<String>,
    /// Its port (587 with STARTTLS, 465 with --smtp-tls tls).
    #[arg(long, env = "PLAIT_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// starttls (required: the server must offer it) or tls (from the
    /// first byte).
    #[arg(long, env = "PLAIT_SMTP_TLS", value_enum, default_value_t = SmtpTls::Starttls)]
    smtp_tls: SmtpTls,
    /// The account to sign in to the mail server as.
    #[arg(long, env = "PLAIT_SMTP_USER")]
    smtp_user: Option<String>,
    /// A file holding its password (its first line).
    #[arg(long, env = "PLAIT_SMTP_PASSWORD_FILE")]
    smtp_password_file: Option<PathBuf>,
    /// The digest's sender, `Name <address>`.
    #[arg(
        long,
        env = "PLAIT_SMTP_FROM",
        default_value = "Plait <plait@localhost>"
    )]
    smtp_from: String,
    /// Certificates (PEM) to trust for the mail server besides the public
    /// roots: a trust's own certificate authority.
    #[arg(long, env = "PLAIT_SMTP_CA_FILE")]
    smtp_ca_file: Option<PathBuf>,
}

/// What happens to an identity with no account.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum OidcUnknown {
    Create,
    Refuse,
}

/// The identity providers of the command line, their secrets read.
fn sso_config(args: &ServeArgs) -> anyhow::Result<plait_server::oidc::SsoConfig> {
    use plait_server::oidc::{ProviderConfig, SsoConfig, UnknownIdentities};
    let n = args.oidc_issuer.len();
    if args.oidc_client_id.len() != n {
        anyhow::bail!(
            "give one --oidc-client-id for each --oidc-issuer ({n} issuers, {} client ids)",
            args.oidc_client_id.len()
        );
    }
    if !args.oidc_client_secret_file.is_empty() && args.oidc_client_secret_file.len() != n {
        anyhow::bail!("give one --oidc-client-secret-file for each --oidc-issuer, or none");
    }
    if !args.oidc_label.is_empty() && args.oidc_label.len() != n {
        anyhow::bail!("give one --oidc-label for each --oidc-issuer, or none");
    }
    let mut providers = Vec::new();
    for (i, issuer) in args.oidc_issuer.iter().enumerate() {
        let client_secret = match args.oidc_client_secret_file.get(i) {
            Some(file) => Some(
                std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        let label = args.oidc_label.get(i).cloned().unwrap_or_else(|| {
            issuer
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or(issuer)
                .to_owned()
        });
        providers.push(ProviderConfig {
            label,
            issuer: issuer.clone(),
            client_id: args.oidc_client_id[i].clone(),
            client_secret,
        });
    }
    if args.no_passwords && providers.is_empty() {
        anyhow::bail!(
            "--no-passwords needs an identity provider (--oidc-issuer): nobody could sign in"
        );
    }
    Ok(SsoConfig {
        providers,
        unknown: match args.oidc_unknown {
            OidcUnknown::Create => UnknownIdentities::Create,
            OidcUnknown::Refuse => UnknownIdentities::Refuse,
        },
    })
}

/// How the connection to the mail server is secured.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum SmtpTls {
    /// STARTTLS, required.
    Starttls,
    /// TLS from the first byte.
    Tls,
}

/// The weekly digest's mail settings from `args` (files read here).
fn mail_settings(args: &ServeArgs) -> anyhow::Result<plait_server::config::MailSettings> {
    use plait_server::config::{MailSettings, SmtpSecurity, SmtpSettings};
    let mut mail = MailSettings {
        public_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.addr))
            .trim_end_matches('/')
            .to_owned(),
        ..MailSettings::default()
    };
    let mut smtp = match (&args.smtp_url, &args.smtp_host) {
        (Some(url), _) => {
            SmtpSettings::from_url(url, &args.smtp_from).map_err(anyhow::Error::msg)?
        }
        (None, Some(host)) => {
            let mut smtp = SmtpSettings::new(host, &args.smtp_from);
            if matches!(args.smtp_tls, SmtpTls::Tls) {
                smtp.security = SmtpSecurity::Tls;
                smtp.port = SmtpSettings::SUBMISSIONS_PORT;
            }
            smtp
        }
        (None, None) => return Ok(mail),
    };
    if let Some(port) = args.smtp_port {
        smtp.port = port;
    }
    if let Some(user) = &args.smtp_user {
        smtp.user = Some(user.clone());
    }
    if let Some(file) = &args.smtp_password_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the SMTP password from {}", file.display()))?;
        smtp.password = Some(text.lines().next().unwrap_or_default().to_owned());
    }
    if let Some(file) = &args.smtp_ca_file {
        smtp.ca_pem = Some(
            std::fs::read(file)
                .with_context(|| format!("reading the SMTP CA file {}", file.display()))?,
        );
    }
    // Checked now: a sender or CA that does not read stops the start.
    plait_server::digest::mail::Mailer::new(&smtp).map_err(anyhow::Error::msg)?;
    mail.smtp = Some(smtp);
    Ok(mail)
}

impl From<&ServeArgs> for Config {
    fn from(args: &ServeArgs) -> Config {
        let mut config = Config::new(args.client_dir.clone());
        config.max_message_bytes = args.max_message_bytes;
        config.registry.idle_unload = Duration::from_secs(args.idle_unload_secs);
        config.registry.compact_after = args.compact_after.max(1);
        config.registry.client_queue = args.client_queue.max(1);
        config.sessions.idle = Duration::from_secs(
            args.session_idle_seconds
                .unwrap_or(args.session_idle_minutes.saturating_mul(60))
                .max(1),
        );
        config.sessions.absolute =
            Duration::from_secs(args.session_max_hours.saturating_mul(3600).max(60));
        config.secure_cookies = args.secure_cookies;
        config.max_blob_bytes = args.max_file_bytes.max(1);
        config.registry.limits.max_update_bytes = args.max_update_bytes.max(1);
        config.registry.limits.max_doc_bytes = args.max_doc_bytes.max(1);
        config.metrics_token = args.metrics_token.clone().filter(|t| !t.is_empty());
        config.trusted_proxies = args.trusted_proxies.clone();
        config.header_read_timeout = Duration::from_secs(args.header_timeout_secs.max(1));
        config.body_idle_timeout = Duration::from_secs(args.body_idle_timeout_secs.max(1));
        config.max_evidence_bytes = args.max_evidence_bytes;
        config.passwords = !args.no_passwords;
        config.public_url = args.public_url.clone();
        config
    }
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. Prints a generated password unless one is given
    /// on standard input.
    Add {
        /// Sign-in name: lower-case letters, digits, '.', '_' or '-'.
        username: String,
        /// The name people see.
        #[arg(long)]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Administer the whole server (every programme, as admin).
        #[arg(long)]
        superuser: bool,
        /// Their e-mail address (trackers may name people by it).
        #[arg(long)]
        email: Option<String>,
    },
    /// List the accounts.
    List,
    /// Disable an account: its sessions end and its connections close.
    Disable {
        /// Whom.
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Whom.
        username: String,
    },
    /// Give an account a role in a programme (`none` removes it).
    Grant {
        /// Whom.
        username: String,
        /// The programme's id.
        programme: String,
        /// viewer, contributor, lead, validator, approver, admin or none.
        role: String,
    },
    /// Set (or, with none, remove) an account's e-mail address: the weekly
    /// digest goes there, and single sign-on matches a verified address.
    Email {
        /// Whom.
        username: String,
        /// The address.
        email: Option<String>,
    },
    /// Link an identity at an identity provider to an account: signing
    /// in with it signs in to the account.
    Link {
        /// Whom.
        username: String,
        /// The provider's issuer URL, as given to `--oidc-issuer`.
        #[arg(long)]
        issuer: String,
        /// The person's subject (`sub`) at the provider (Entra ID: the
        /// user's object id in the tenant gives `oid`; `sub` is per
        /// application, shown in Plait's log on a refused sign-in).
        #[arg(long)]
        subject: String,
    },
    /// Remove an identity's link.
    Unlink {
        /// The provider's issuer URL.
        #[arg(long)]
        issuer: String,
        /// The person's subject at the provider.
        #[arg(long)]
        subject: String,
    },
    /// Set a new password (read from standard input, or generated).
    Password {
        /// Whom.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Threads for blocking work (sign-ins' password hashing, store reads,
/// exports) at once; more waits its turn. tokio's default (512) let 50
/// clients connecting together start 50 threads, and with them 50 of the
/// C library's per-thread memory arenas (13 MB of a 50-client load's
/// 16 MB growth; BENCHMARKS.md). Flushes have a thread of their own.
const BLOCKING_THREADS: usize = 16;

/// Tunes the C library's allocator, before any thread starts (BENCHMARKS.md,
/// "Against other Yjs servers"):
///
/// - **A fixed mmap threshold** (128 KiB, glibc's starting value). glibc
///   otherwise raises it to the size of the largest mmapped block freed, so
///   after the Argon2 hash of a sign-in (19 MiB) the next hash comes from
///   a heap and stays resident, and the trim threshold rises with it (to
///   twice that), so no thread's heap gives freed memory back. Large blocks
///   now always go back to the system when freed.
/// - **At most [`MALLOC_ARENAS`] arenas.** glibc makes one per thread up to
///   eight per core, each keeping what its thread freed.
///
/// Together: 20 MB less resident after a sign-in, and a 50-client load's
/// growth from 10 MB to 3 MB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: `mallopt` only sets the allocator's parameters. It is called
    // first in `main`, before any other thread exists; if it refuses a
    // value (returns 0) glibc's default stays.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// The C library's arenas (see [`tune_allocator`]): contention on a busy
/// allocator costs less than what many arenas keep.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ARENAS: libc::c_int = 2;

fn main() -> std::process::ExitCode {
    tune_allocator();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One readable line (with its causes), not a backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match cli.command {
        Command::Serve(args) => {
            let args = *args;
            let ServeArgs {
                addr,
                ref data_dir,
                demo,
                ..
            } = args;
            let store = open_storage(data_dir, cli.database.as_deref())?;
            tracing::info!(storage = store.kind(), "storage opened");
            let mut config = Config::from(&args);
            config.sso = sso_config(&args)?;
            plait_server::oidc::Sso::new(&config.sso, config.public_url.as_deref(), &*store)
                .map_err(|e| anyhow::anyhow!(e))?;
            config.mail = mail_settings(&args)?;
            let state = plait_server::AppState::new(store.clone(), config)?;
            if demo {
                let seeded = plait_server::demo::seed(&*store, &state.accounts)
                    .context("seeding the demo programme")?;
                if let Some(summary) = seeded {
                    tracing::info!(
                        actions = summary.actions,
                        plans = summary.plans,
                        "seeded the demo programme"
                    );
                }
            }
            let listener = bind(addr).with_context(|| format!("binding {addr}"))?;
            let local = listener.local_addr()?;
            tracing::info!(%local, "listening");
            #[cfg(unix)]
            plait_server::control::listen(data_dir, state.clone())
                .context("opening the control socket")?;
            if demo {
                // The lines a newcomer needs; printed, not logged, so they stand out.
                #[allow(clippy::print_stdout)]
                {
                    println!("\nPlait is running at http://{local}/");
                    println!(
                        "Demo programme: http://{local}/p/{}/ (the bundled tracker: 172 CQC requirements, 338 actions, in its fifth month).",
                        plait_server::demo::PROGRAMME_ID
                    );
                    println!(
                        "Sign in as any of these, password {:?}:",
                        plait_server::demo::PASSWORD
                    );
                    for (username, name, role) in plait_server::demo::ACCOUNTS {
                        println!("  {username:<18} {name} ({})", role.label());
                    }
                    println!();
                }
            }
            plait_server::serve(listener, state, shutdown_signal()).await
        }
        Command::User { data_dir, command } => {
            user_command(&data_dir, cli.database.as_deref(), command).await
        }
        Command::Migrate { from, to } => {
            let report = tokio::task::spawn_blocking(move || {
                plait_server::migrate::sled_to_postgres(&from, &to)
            })
            .await??;
            #[allow(clippy::print_stdout)]
            {
                println!("{report}");
            }
            Ok(())
        }
        Command::Backup {
            file,
            without_sessions,
            data_dir,
        } => {
            let file = std::path::absolute(&file)
                .with_context(|| format!("where is {}", file.display()))?;
            let control = plait_server::control::Command::Backup {
                file: file.display().to_string(),
                sessions: !without_sessions,
            };
            #[cfg(unix)]
            let sent = plait_server::control::send(&data_dir, &control)
                .await
                .context("talking to the running server")?;
            #[cfg(not(unix))]
            let sent: Option<plait_server::control::Reply> = None;
            let said = match sent {
                Some(plait_server::control::Reply::Done(said)) => said,
                Some(plait_server::control::Reply::Error(message)) => anyhow::bail!(message),
                Some(other) => anyhow::bail!("unexpected answer: {other:?}"),
                None => {
                    let store = open_raw(&data_dir, cli.database.as_deref())?;
                    let summary = plait_server::backup::write(&*store, &file, !without_sessions)?;
                    format!("Backed up {summary}.")
                }
            };
            #[allow(clippy::print_stdout)]
            {
                println!("{said} Written to {}.", file.display());
            }
            Ok(())
        }
        Command::Restore {
            file,
            force,
            data_dir,
        } => restore(&file, &data_dir, cli.database.as_deref(), force).await,
        Command::Check { data_dir } => {
            #[cfg(unix)]
            let sent =
                plait_server::control::send(&data_dir, &plait_server::control::Command::Check)
                    .await
                    .context("talking to the running server")?;
            #[cfg(not(unix))]
            let sent: Option<plait_server::control::Reply> = None;
            let (report, damaged) = match sent {
                Some(plait_server::control::Reply::Checked { report, damaged }) => {
                    (report, damaged)
                }
                Some(plait_server::control::Reply::Error(message)) => anyhow::bail!(message),
                Some(other) => anyhow::bail!("unexpected answer: {other:?}"),
                None => {
                    let store = open_raw(&data_dir, cli.database.as_deref())?;
                    let report = plait_server::check::check(&*store)?;
                    (report.to_string(), report.damaged.len())
                }
            };
            #[allow(clippy::print_stdout)]
            {
                println!("{report}");
            }
            if damaged > 0 {
                anyhow::bail!("the store has {damaged} problem(s)");
            }
            Ok(())
        }
        Command::Gc {
            grace_days,
            data_dir,
        } => {
            let reply = send_or_run(
                &data_dir,
                cli.database.as_deref(),
                plait_server::control::Command::Gc { grace_days },
            )
            .await?;
            match reply {
                plait_server::control::Reply::Collected(c) => {
                    #[allow(clippy::print_stdout)]
                    {
                        println!(
                            "Released {} evidence file(s) from programmes that no longer cite them; deleted {} ({} bytes).",
                            c.released, c.deleted, c.bytes
                        );
                    }
                    Ok(())
                }
                plait_server::control::Reply::Error(message) => anyhow::bail!(message),
                other => anyhow::bail!("unexpected answer: {other:?}"),
            }
        }
        Command::Import {
            file,
            programme,
            name,
            valid_only,
            as_user,
            columns,
            people,
            unmatched,
            mapping,
            data_dir,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let options = import_options(mapping.as_deref(), &columns, &people, unmatched)?;
            let control = plait_server::control::Command::Import {
                programme: plait_shared::DocId::new(programme)?,
                name,
                file_name: file.display().to_string(),
                file: base64_encode(&bytes),
                valid_only,
                as_user,
                options,
            };
            let reply = send_or_run(&data_dir, cli.database.as_deref(), control).await?;
            report_import(reply)
        }
    }
}

/// The import's mapping from `--mapping`, `--column`, `--person` and
/// `--unmatched`.
fn import_options(
    mapping: Option<&std::path::Path>,
    columns: &[String],
    people: &[String],
    unmatched: Option<String>,
) -> anyhow::Result<plait_shared::api::ImportOptions> {
    use plait_shared::api::{ImportOptions, PersonChoice};
    use plait_shared::import::Column;
    let mut options: ImportOptions = match mapping {
        Some(path) => serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("reading the mapping in {}", path.display()))?,
        None => ImportOptions::default(),
    };
    let person = |who: &str| -> anyhow::Result<PersonChoice> {
        Ok(match who.trim() {
            "create" => PersonChoice::Create,
            "unassigned" => PersonChoice::Unassigned,
            user => PersonChoice::Account(plait_shared::UserId::new(user)?),
        })
    };
    for pair in columns {
        let (header, key) = pair
            .rsplit_once('=')
            .with_context(|| format!("--column {pair:?}: expected HEADER=COLUMN"))?;
        let column = match key.trim() {
            "ignore" => None,
            key => Some(
                Column::ALL
                    .into_iter()
                    .find(|c| c.key() == key)
                    .with_context(|| {
                        let keys: Vec<_> = Column::ALL.iter().map(|c| c.key()).collect();
                        format!(
                            "--column {pair:?}: unknown column (one of {}, or ignore)",
                            keys.join(", ")
                        )
                    })?,
            ),
        };
        options.columns.insert(header.trim().to_owned(), column);
    }
    for pair in people {
        let (name, who) = pair
            .rsplit_once('=')
            .with_context(|| format!("--person {pair:?}: expected NAME=WHO"))?;
        options.people.insert(name.trim().to_owned(), person(who)?);
    }
    if let Some(who) = unmatched {
        let choice = person(&who)?;
        anyhow::ensure!(
            !matches!(choice, PersonChoice::Account(_)),
            "--unmatched is create or unassigned"
        );
        options.unmatched = Some(choice);
    }
    Ok(options)
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The store: PostgreSQL at `database` if given, else sled in `data_dir`.
fn open_storage(
    data_dir: &std::path::Path,
    database: Option<&str>,
) -> anyhow::Result<Arc<dyn Storage>> {
    Ok(match database {
        Some(url) => {
            let store = PgStore::open(url).context("opening the database")?;
            if let Some(upgraded) = plait_server::format::upgrade(&store)? {
                report_upgrade(&upgraded);
            }
            // The control socket still lives in the data directory.
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            Arc::new(store)
        }
        None => {
            let (store, upgraded) = plait_server::format::open_sled(data_dir).with_context(|| {
                format!(
                    "opening the data directory {} (is a server without a control socket using it?)",
                    data_dir.display()
                )
            })?;
            if let Some(upgraded) = upgraded {
                report_upgrade(&upgraded);
            }
            Arc::new(store)
        }
    })
}

/// Says what an upgrade of the store did.
fn report_upgrade(upgraded: &plait_server::format::Upgraded) {
    tracing::info!(
        from = upgraded.from,
        to = upgraded.to,
        kept = ?upgraded.kept,
        "the store was upgraded"
    );
    for (does, changed) in &upgraded.steps {
        tracing::info!(changed, "upgrade step: {does}");
    }
}

/// The store as it is (not upgraded: a check or a backup reads an older
/// store as it was written).
fn open_raw(
    data_dir: &std::path::Path,
    database: Option<&str>,
) -> anyhow::Result<Arc<dyn Storage>> {
    Ok(match database {
        Some(url) => Arc::new(PgStore::open(url).context("opening the database")?),
        None => {
            if !data_dir.exists() {
                anyhow::bail!("there is no data directory at {}", data_dir.display());
            }
            Arc::new(SledStore::open(data_dir).with_context(|| {
                format!(
                    "opening the data directory {} (is a server without a control socket using it?)",
                    data_dir.display()
                )
            })?)
        }
    })
}

/// `plait restore`: into an empty store; a data directory holding data
/// only with `--force`, restored beside it and switched in, the old one
/// kept.
async fn restore(
    file: &std::path::Path,
    data_dir: &std::path::Path,
    database: Option<&str>,
    force: bool,
) -> anyhow::Result<()> {
    let mut backup = plait_server::backup::Backup::open(file)?;
    #[cfg(unix)]
    if plait_server::control::send(data_dir, &plait_server::control::Command::Check)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        anyhow::bail!(
            "a server is running on {}: stop it before restoring",
            data_dir.display()
        );
    }
    let summary = match database {
        Some(url) => {
            if force {
                anyhow::bail!(
                    "--force replaces a data directory; restore into an empty database instead"
                );
            }
            let store = PgStore::open(url).context("opening the database")?;
            backup.restore(&store)?
        }
        None => {
            let holds_data = std::fs::read_dir(data_dir)
                .map(|mut entries| entries.next().is_some())
                .unwrap_or(false);
            if holds_data && !force {
                anyhow::bail!(
                    "{} holds data: restore into an empty directory, or pass --force to replace it (it is kept beside, renamed)",
                    data_dir.display()
                );
            }
            let target = if holds_data {
                data_dir.with_file_name(format!(
                    "{}.restoring",
                    data_dir
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                ))
            } else {
                data_dir.to_owned()
            };
            if target.exists() && holds_data {
                std::fs::remove_dir_all(&target)?;
            }
            let restored = SledStore::open(&target)
                .with_context(|| format!("opening {}", target.display()))
                .and_then(|store| Ok(backup.restore(&store)?));
            let summary = match restored {
                Ok(summary) => summary,
                Err(e) => {
                    // Nothing half-restored is left behind.
                    let _ = std::fs::remove_dir_all(&target);
                    return Err(e);
                }
            };
            if holds_data {
                let kept = data_dir.with_file_name(format!(
                    "{}.replaced-{}",
                    data_dir
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default(),
                    plait_server::clock::now_millis()
                ));
                std::fs::rename(data_dir, &kept)?;
                std::fs::rename(&target, data_dir)?;
                #[allow(clippy::print_stdout)]
                {
                    println!(
                        "The data directory that was there is kept as {}.",
                        kept.display()
                    );
                }
            }
            summary
        }
    };
    #[allow(clippy::print_stdout)]
    {
        let taken = plait_server::clock::utc_text(backup.manifest.created_at);
        println!(
            "Restored and checked {summary}: every document's state and every entry reads back as in the backup (taken {taken} by Plait {}).",
            backup.manifest.plait_version
        );
    }
    Ok(())
}

/// Sends a command to the running server, or (when none runs) opens the
/// data directory and runs it here.
async fn send_or_run(
    data_dir: &std::path::Path,
    database: Option<&str>,
    command: plait_server::control::Command,
) -> anyhow::Result<plait_server::control::Reply> {
    #[cfg(unix)]
    if let Some(reply) = plait_server::control::send(data_dir, &command)
        .await
        .context("talking to the running server")?
    {
        return Ok(reply);
    }
    let store = open_storage(data_dir, database)?;
    let state = plait_server::AppState::new(store, Config::new(PathBuf::new()))?;
    let reply = plait_server::control::execute(&state, command).await;
    state.shutdown.cancel();
    state.registry.flush().await?;
    Ok(reply)
}

#[allow(clippy::print_stdout)]
fn report_import(reply: plait_server::control::Reply) -> anyhow::Result<()> {
    use plait_server::control::Reply;
    match reply {
        Reply::Imported {
            summary,
            skipped,
            accounts,
        } => {
            for error in &skipped {
                eprintln!("skipped: {error}");
            }
            if !accounts.is_empty() {
                println!("Accounts created (hand each password over once; it is not shown again):");
                for account in &accounts {
                    println!(
                        "  {:<24} {:<28} {:<14} {}",
                        account.username.as_str(),
                        account.name,
                        account.role.label(),
                        account.password
                    );
                }
            }
            println!(
                "Imported {} findings and {} actions into {} plan(s){}.",
                summary.findings,
                summary.actions,
                summary.plans,
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!("; {} problem(s) skipped", skipped.len())
                }
            );
            Ok(())
        }
        Reply::Refused(errors) => {
            for error in &errors {
                eprintln!("{error}");
            }
            anyhow::bail!(
                "nothing imported: {} problem(s) in the file (fix them, or use --valid-only to import the other rows)",
                errors.len()
            )
        }
        Reply::Error(message) => anyhow::bail!(message),
        other => anyhow::bail!("unexpected answer: {other:?}"),
    }
}

/// The password from the first line of standard input, or a generated one.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        plait_server::accounts::random_token(15).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// The command line's account command as the server takes it: the one
/// place each field is carried over (a password read from standard input
/// or generated; a role by its name, `none` for none).
impl TryFrom<UserCommand> for plait_server::control::Command {
    type Error = anyhow::Error;

    fn try_from(command: UserCommand) -> anyhow::Result<Self> {
        use plait_server::control::Command as Control;
        Ok(match command {
            UserCommand::Add {
                username,
                name,
                password_stdin,
                superuser,
                email,
            } => Control::Add {
                username,
                name,
                password: read_password(password_stdin)?,
                superuser,
                email,
            },
            UserCommand::List => Control::List,
            UserCommand::Disable { username } => Control::Disable { username },
            UserCommand::Email { username, email } => Control::Email { username, email },
            UserCommand::Link {
                username,
                issuer,
                subject,
            } => Control::Link {
                username,
                issuer,
                subject,
            },
            UserCommand::Unlink { issuer, subject } => Control::Unlink { issuer, subject },
            UserCommand::Enable { username } => Control::Enable { username },
            UserCommand::Grant {
                username,
                programme,
                role,
            } => Control::Grant {
                username,
                programme: plait_shared::DocId::new(programme)?,
                role: match role.as_str() {
                    "none" => None,
                    other => Some(other.parse::<plait_shared::Role>().map_err(|e| {
                        anyhow::anyhow!(
                            "{e} (viewer, contributor, lead, validator, approver, admin or none)"
                        )
                    })?),
                },
            },
            UserCommand::Password {
                username,
                password_stdin,
            } => Control::Password {
                username,
                password: read_password(password_stdin)?,
            },
        })
    }
}

async fn user_command(
    data_dir: &std::path::Path,
    database: Option<&str>,
    command: UserCommand,
) -> anyhow::Result<()> {
    use plait_server::control::{Command as Control, Reply};
    // A password made here (not read from standard input) is shown once.
    let shows_password = matches!(
        command,
        UserCommand::Add {
            password_stdin: false,
            ..
        } | UserCommand::Password {
            password_stdin: false,
            ..
        }
    );
    let control = Control::try_from(command)?;
    let generated = match &control {
        Control::Add { password, .. } | Control::Password { password, .. } if shows_password => {
            Some(password.clone())
        }
        _ => None,
    };
    #[cfg(unix)]
    let sent = plait_server::control::send(data_dir, &control)
        .await
        .context("talking to the running server")?;
    #[cfg(not(unix))]
    let sent: Option<Reply> = None;
    let reply = match sent {
        Some(reply) => reply,
        None => {
            let store = open_storage(data_dir, database)?;
            let accounts = plait_server::Accounts::open(&*store, Default::default())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            plait_server::state::share_closings(&store, &accounts);
            let reply = plait_server::control::execute_account(&accounts, control);
            plait_server::DocStore::flush(&*store)?;
            reply
        }
    };
    #[allow(clippy::print_stdout)]
    match reply {
        Reply::Error(message) => anyhow::bail!(message),
        Reply::Imported { .. }
        | Reply::Refused(_)
        | Reply::Collected(_)
        | Reply::Checked { .. } => {
            anyhow::bail!("unexpected answer")
        }
        Reply::Done(what) => {
            println!("{what}");
            Ok(())
        }
        Reply::Users(users) => {
            println!("{:<20} {:<36} {:<9} programmes", "user", "name", "status");
            for user in users {
                let grants: Vec<String> = user
                    .grants
                    .iter()
                    .map(|(p, r)| format!("{p}: {}", r.key()))
                    .collect();
                let status = if user.disabled { "disabled" } else { "active" };
                let superuser = if user.superuser {
                    " [server admin]"
                } else {
                    ""
                };
                println!(
                    "{:<20} {:<36} {:<9} {}{superuser}",
                    user.username,
                    user.name,
                    status,
                    grants.join(", ")
                );
            }
            Ok(())
        }
        Reply::User(user) => {
            let grants: Vec<String> = user
                .grants
                .iter()
                .map(|(p, r)| format!("{p}: {}", r.key()))
                .collect();
            println!(
                "{} ({}){}: {}",
                user.username,
                user.name,
                if user.disabled { ", disabled" } else { "" },
                if grants.is_empty() {
                    "no programmes".to_owned()
                } else {
                    grants.join(", ")
                }
            );
            if let Some(password) = generated {
                println!("password: {password}");
                println!("(shown once: hand it over safely and ask for it to be changed)");
            }
            Ok(())
        }
    }
}

/// Binds with a listen backlog of 4096 (the kernel caps it at
/// `net.core.somaxconn`). The usual 128 overflows when a few hundred clients
/// connect at once, as after a restart: their dropped SYNs are retried only
/// after a second.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
