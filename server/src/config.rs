//! How the server is set up: every setting, with its default (one place;
//! the command line's defaults are these).

use std::path::PathBuf;
use std::time::Duration;

use crate::accounts::SessionSettings;
use crate::registry::RegistrySettings;

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The built web client to serve at `/`.
    pub client_dir: PathBuf,
    /// The largest sync message accepted, in bytes (WebSocket close 1009,
    /// HTTP 413 above it).
    pub max_message_bytes: usize,
    /// Registry tuning.
    pub registry: RegistrySettings,
    /// How long sessions last.
    pub sessions: SessionSettings,
    /// Mark the session cookie `Secure` and send HSTS (behind TLS).
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per account name within `sign_in_window`.
    pub sign_ins_per_account: usize,
    /// Failed sign-ins allowed per network address within `sign_in_window`.
    pub sign_ins_per_address: usize,
    /// The window of the sign-in limits.
    pub sign_in_window: Duration,
    /// The largest evidence file accepted, in bytes.
    pub max_blob_bytes: usize,
    /// The bearer token `/metrics` asks for; without one, `/metrics` is not
    /// served (its counters say how busy the server is and who is refused).
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (the
    /// sign-in limit counts per client address; behind a proxy every
    /// request would otherwise come from the proxy's).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long a connection may take to send a request's headers (and
    /// how long an idle connection is kept waiting for the next request):
    /// half-sent requests do not hold connections open.
    pub header_read_timeout: Duration,
    /// How long a request's body may go without sending anything: a
    /// stalled or trickled upload ends.
    pub body_idle_timeout: Duration,
    /// The evidence files one programme may hold, in bytes.
    pub max_evidence_bytes: u64,
    /// Sign-in bodies (the only bodies read before a session is known)
    /// read at once; more are refused at once (503).
    pub max_unauthenticated_bodies: usize,
    /// Whether user names and passwords are taken (off when a trust signs
    /// in only with its own accounts).
    pub passwords: bool,
    /// Single sign-on with the trust's identity providers.
    pub sso: crate::oidc::SsoConfig,
    /// Where people reach this server (`https://plait.example.nhs.uk`):
    /// the redirect URI given to identity providers, and links in e-mail.
    pub public_url: Option<String>,
}

impl Config {
    /// The largest sync message accepted, by default.
    pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
    /// The largest evidence file accepted, by default.
    pub const MAX_BLOB_BYTES: usize = plait_shared::api::DEFAULT_MAX_FILE_BYTES;
    /// The evidence files one programme may hold, by default.
    pub const MAX_EVIDENCE_BYTES: u64 = 20 * 1024 * 1024 * 1024;
    /// Seconds a connection may take to send a request's headers (or stay
    /// idle between requests), by default.
    pub const HEADER_READ_TIMEOUT_SECS: u64 = 10;
    /// Seconds a request's body may go without sending anything, by
    /// default.
    pub const BODY_IDLE_TIMEOUT_SECS: u64 = 30;

    /// Defaults, serving the client from `client_dir`.
    pub fn new(client_dir: PathBuf) -> Config {
        Config {
            client_dir,
            max_message_bytes: Self::MAX_MESSAGE_BYTES,
            registry: RegistrySettings::default(),
            sessions: SessionSettings::default(),
            secure_cookies: false,
            sign_ins_per_account: 5,
            sign_ins_per_address: 50,
            sign_in_window: Duration::from_secs(15 * 60),
            max_blob_bytes: Self::MAX_BLOB_BYTES,
            metrics_token: None,
            trusted_proxies: Vec::new(),
            header_read_timeout: Duration::from_secs(Self::HEADER_READ_TIMEOUT_SECS),
            body_idle_timeout: Duration::from_secs(Self::BODY_IDLE_TIMEOUT_SECS),
            max_evidence_bytes: Self::MAX_EVIDENCE_BYTES,
            max_unauthenticated_bodies: 64,
            passwords: true,
            sso: crate::oidc::SsoConfig::default(),
            public_url: None,
        }
    }
}
