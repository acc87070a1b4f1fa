//! How the server is set up: every setting, with its default (one place;
//! the command line's defaults are these).

use std::path::PathBuf;
use std::time::Duration;

use crate::accounts::SessionSettings;
use crate::clock::Clock;
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
    /// The weekly digest by e-mail.
    pub mail: MailSettings,
}

/// How the weekly digest is sent (`crate::digest`).
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The mail server; without one, no digests are sent.
    pub smtp: Option<SmtpSettings>,
    /// The address people reach Plait at (`https://plait.trust.nhs.uk`),
    /// for the links in a digest.
    pub public_url: String,
    /// How often the scheduler looks for programmes whose digest is due.
    pub check_every: Duration,
    /// How soon a person may ask for their digest again.
    pub on_demand_every: Duration,
    /// The clock the scheduler reads (a test's, set by hand).
    pub clock: Clock,
}

impl MailSettings {
    /// The scheduler looks this often, by default.
    pub const CHECK_EVERY_SECS: u64 = 60;
    /// A person may ask for their digest this often.
    pub const ON_DEMAND_EVERY_SECS: u64 = 60;
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp: None,
            public_url: "http://127.0.0.1:8080".into(),
            check_every: Duration::from_secs(Self::CHECK_EVERY_SECS),
            on_demand_every: Duration::from_secs(Self::ON_DEMAND_EVERY_SECS),
            clock: Clock::wall(),
        }
    }
}

/// How a connection to the mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS, which the server must offer
    /// (port 587; `smtp://`): the default.
    StartTls,
    /// TLS from the first byte (port 465; `smtps://`).
    Tls,
}

/// The mail server the digest goes through.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Its host name (checked against its certificate).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// STARTTLS (required) or TLS.
    pub security: SmtpSecurity,
    /// The account to sign in as, if it asks for one.
    pub user: Option<String>,
    /// Its password.
    pub password: Option<String>,
    /// The sender (`Plait <plait@trust.nhs.uk>`).
    pub from: String,
    /// Certificates (PEM) to trust besides the public roots: a trust's
    /// own certificate authority.
    pub ca_pem: Option<Vec<u8>>,
    /// How long one exchange with the server may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("from", &self.from)
            .field("ca", &self.ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl SmtpSettings {
    /// STARTTLS's port.
    pub const SUBMISSION_PORT: u16 = 587;
    /// TLS's port.
    pub const SUBMISSIONS_PORT: u16 = 465;

    /// A server with STARTTLS on `host`'s submission port, sending as `from`.
    pub fn new(host: &str, from: &str) -> SmtpSettings {
        SmtpSettings {
            host: host.to_owned(),
            port: Self::SUBMISSION_PORT,
            security: SmtpSecurity::StartTls,
            user: None,
            password: None,
            from: from.to_owned(),
            ca_pem: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// Reads `smtp://[user[:password]@]host[:port]` (STARTTLS, port 587 by
    /// default) or `smtps://…` (TLS, 465); the user and password
    /// percent-encoded.
    ///
    /// # Errors
    /// An address of another form.
    pub fn from_url(url: &str, from: &str) -> Result<SmtpSettings, String> {
        let bad = |why: &str| {
            format!("the SMTP address is not smtp://[user[:password]@]host[:port]: {why}")
        };
        let (security, rest) = if let Some(rest) = url.strip_prefix("smtp://") {
            (SmtpSecurity::StartTls, rest)
        } else if let Some(rest) = url.strip_prefix("smtps://") {
            (SmtpSecurity::Tls, rest)
        } else {
            return Err(bad("it must start smtp:// or smtps://"));
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains(['/', '?', '#']) {
            return Err(bad("no path or query"));
        }
        let (credentials, server) = match rest.rsplit_once('@') {
            Some((c, s)) => (Some(c), s),
            None => (None, rest),
        };
        // An IPv6 address is in brackets: `[::1]:587`.
        let (host, port) = match server.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed.split_once(']').ok_or_else(|| bad("no ']'"))?;
                (host, after.strip_prefix(':'))
            }
            None => match server.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (server, None),
            },
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))
            })
            .transpose()?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let mut settings = SmtpSettings::new(host, from);
        settings.security = security;
        settings.port = port.unwrap_or(match security {
            SmtpSecurity::StartTls => Self::SUBMISSION_PORT,
            SmtpSecurity::Tls => Self::SUBMISSIONS_PORT,
        });
        if let Some(credentials) = credentials {
            let (user, password) = match credentials.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (credentials, None),
            };
            settings.user = Some(percent_decode(user).ok_or_else(|| bad("bad %-encoding"))?);
            settings.password = password
                .map(|p| percent_decode(p).ok_or_else(|| bad("bad %-encoding")))
                .transpose()?;
        }
        Ok(settings)
    }
}

/// `%XX` escapes decoded; `None` for a broken escape or bytes that are not
/// UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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
            mail: MailSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_addresses_read_with_starttls_by_default() {
        let s = SmtpSettings::from_url("smtp://mail.trust.nhs.uk", "p@t").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("mail.trust.nhs.uk", 587, SmtpSecurity::StartTls)
        );
        assert_eq!(s.user, None);
        let s = SmtpSettings::from_url("smtp://plait%40trust:p%3Ass@relay:2525", "p@t").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("relay", 2525));
        assert_eq!(s.user.as_deref(), Some("plait@trust"));
        assert_eq!(s.password.as_deref(), Some("p:ss"));
        let s = SmtpSettings::from_url("smtps://[::1]", "p@t").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("::1", 465, SmtpSecurity::Tls)
        );
        for bad in [
            "http://x",
            "smtp://",
            "smtp://h:port",
            "smtp://h/path",
            "smtp://u%zz@h",
        ] {
            assert!(SmtpSettings::from_url(bad, "p@t").is_err(), "{bad}");
        }
        // The password never shows in the log.
        let s = SmtpSettings::from_url("smtp://u:secret@h", "p@t").unwrap();
        assert!(!format!("{s:?}").contains("secret"));
    }
}
