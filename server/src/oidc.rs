//! Single sign-on with OpenID Connect (Microsoft Entra ID, which NHSmail
//! accounts are; NHS Care Identity Service 2): the authorization code flow
//! with PKCE, `state` and `nonce`, and the ID token's signature and claims
//! checked against the issuer's discovery document and keys (the
//! `openidconnect` crate does the checking).
//!
//! One sign-in, in order:
//! 1. `GET /api/auth/oidc/{n}/start?next=…` ([`Sso::begin`]): a random
//!    `state`, `nonce` and PKCE verifier are kept under the state (in a tree
//!    every node reads, so any node can finish it), with the hash of a
//!    random *binding* the browser gets as a cookie, and the browser goes to
//!    the provider.
//! 2. The provider sends the browser back to
//!    [`plait_shared::api::SSO_CALLBACK_PATH`] with a code and the state
//!    ([`Sso::finish`]): the state is used up first (a replayed state, a
//!    state older than [`PENDING_FOR`], or one begun in another browser is
//!    refused), the code is exchanged with the verifier, and the ID token is
//!    checked: signature by the issuer's published keys (fetched again once
//!    when a token names a key not seen, as providers rotate them), issuer,
//!    audience, expiry, nonce, and the access token's hash when given.
//! 3. The route matches the [`Identity`] to an account (a link, else a
//!    verified e-mail address, else a new account or a refusal, by
//!    setting) and starts a session as a password sign-in does.
//!
//! The HTTP client follows no redirects: a provider's answer cannot send
//! the server's requests elsewhere.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::reqwest;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};

use plait_shared::api::{SsoFailure, SsoProvider, SSO_CALLBACK_PATH};

use crate::accounts::{now_millis, random_token, secrets_equal};
use crate::kv::{Keyspace, Tree};
use crate::store::StoreError;

/// How long a sign-in may take at the provider.
pub const PENDING_FOR: Duration = Duration::from_secs(10 * 60);

/// How long a provider's discovery document and keys are kept before they
/// are fetched again.
const METADATA_FOR: Duration = Duration::from_secs(60 * 60);

/// Sign-ins under way at most (each a small record until it finishes or
/// expires): more are refused until some expire.
const MAX_PENDING: usize = 10_000;

/// The cookie binding a sign-in to the browser that began it. `Lax`, as
/// the provider's redirect back is a navigation from another site.
pub const BINDING_COOKIE: &str = "plait_sso";

/// One identity provider, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// What the sign-in button names ("NHSmail").
    pub label: String,
    /// The issuer URL (its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// Plait's client id registered with the provider.
    pub client_id: String,
    /// The client secret, if the registration has one.
    pub client_secret: Option<String>,
}

/// What happens when someone signs in with an identity no account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownIdentities {
    /// An account is made, in no programme (an admin adds them to one).
    #[default]
    Create,
    /// They are refused (accounts are made by the programme office).
    Refuse,
}

/// Single sign-on's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsoConfig {
    /// The providers, in the order the sign-in page shows them.
    pub providers: Vec<ProviderConfig>,
    /// Identities with no account.
    pub unknown: UnknownIdentities,
}

/// Someone a provider vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's issuer URL.
    pub issuer: String,
    /// Who they are there (stable; never reassigned).
    pub subject: String,
    /// Their e-mail address, only if the provider says it is verified.
    pub verified_email: Option<String>,
    /// Their name, if given.
    pub name: Option<String>,
    /// Their preferred user name (often the e-mail address), if given.
    pub preferred_username: Option<String>,
}

/// Why a sign-in through a provider did not work (the detail is logged;
/// the person sees the [`SsoFailure`]).
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// No provider has that number.
    #[error("no such identity provider")]
    NoProvider,
    /// The server was started without `--public-url`.
    #[error("single sign-on needs the server's public URL (--public-url)")]
    NoPublicUrl,
    /// Expired, used already, or begun in another browser.
    #[error("the sign-in expired, was used already, or began in another browser")]
    Expired,
    /// The provider answered with an error (the person cancelled, say).
    #[error("the identity provider said: {0}")]
    Cancelled(String),
    /// The provider's answer did not check out.
    #[error("the identity provider's answer was refused: {0}")]
    Refused(String),
    /// The provider could not be reached.
    #[error("the identity provider cannot be reached: {0}")]
    Unavailable(String),
    /// Too many sign-ins under way.
    #[error("too many sign-ins under way")]
    Busy,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SsoError {
    /// What the person is told.
    pub fn failure(&self) -> SsoFailure {
        match self {
            SsoError::Expired => SsoFailure::Expired,
            SsoError::Cancelled(_) => SsoFailure::Cancelled,
            SsoError::Refused(_) | SsoError::NoProvider => SsoFailure::Refused,
            SsoError::Unavailable(_)
            | SsoError::Busy
            | SsoError::Store(_)
            | SsoError::NoPublicUrl => SsoFailure::Unavailable,
        }
    }
}

/// What the provider's redirect back carries.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The state given at the start.
    pub state: Option<String>,
    /// An error instead of a code.
    pub error: Option<String>,
    /// The error's description.
    pub error_description: Option<String>,
}

/// A sign-in under way, kept under its state.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    provider: usize,
    verifier: String,
    nonce: String,
    /// SHA-256 of the browser's binding cookie, hex.
    binding: String,
    created: u64,
    next: String,
}

struct Provider {
    config: ProviderConfig,
    issuer: IssuerUrl,
    metadata: tokio::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

/// The identity providers, and the sign-ins under way.
pub struct Sso {
    providers: Vec<Provider>,
    http: reqwest::Client,
    pending: Tree,
    redirect: Option<RedirectUrl>,
    unknown: UnknownIdentities,
    swept: Mutex<(Instant, usize)>,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("providers", &self.providers.len())
            .finish_non_exhaustive()
    }
}

fn hex_sha256(text: &str) -> String {
    crate::blobs::hash_of(text.as_bytes())
}

/// An error with its causes, in one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

fn pending_key(state: &str) -> Vec<u8> {
    format!("p/{state}").into_bytes()
}

fn used_key(state: &str) -> Vec<u8> {
    format!("u/{state}").into_bytes()
}

/// `next` if it is a path of this site, else `/` (never another site:
/// `//evil.example` and `/\evil.example` are other sites to a browser).
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control())
        && next.len() <= 2048;
    if ok {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

impl Sso {
    /// The providers of `config`, with the sign-ins under way kept in
    /// `space`, redirecting back to `public_url`.
    ///
    /// # Errors
    /// A provider's issuer or the public URL is not a URL, or storage.
    pub fn new(
        config: &SsoConfig,
        public_url: Option<&str>,
        space: &dyn Keyspace,
    ) -> Result<Sso, String> {
        let providers = config
            .providers
            .iter()
            .map(|p| {
                Ok(Provider {
                    issuer: IssuerUrl::new(p.issuer.clone())
                        .map_err(|e| format!("--oidc-issuer {}: {e}", p.issuer))?,
                    config: p.clone(),
                    metadata: tokio::sync::Mutex::new(None),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let redirect = public_url
            .map(|url| {
                RedirectUrl::new(format!("{}{SSO_CALLBACK_PATH}", url.trim_end_matches('/')))
                    .map_err(|e| format!("--public-url {url}: {e}"))
            })
            .transpose()?;
        if !providers.is_empty() && redirect.is_none() {
            return Err(
                "single sign-on needs --public-url (the address people reach Plait at), \
                 for the redirect URI registered with the provider"
                    .into(),
            );
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("the HTTP client: {e}"))?;
        Ok(Sso {
            providers,
            http,
            pending: space.tree("sso_pending").map_err(|e| e.to_string())?,
            redirect,
            unknown: config.unknown,
            swept: Mutex::new((Instant::now(), 0)),
        })
    }

    /// The providers, for the sign-in page.
    pub fn providers(&self) -> Vec<SsoProvider> {
        self.providers
            .iter()
            .enumerate()
            .map(|(n, p)| SsoProvider {
                id: u32::try_from(n).unwrap_or(u32::MAX),
                label: p.config.label.clone(),
            })
            .collect()
    }

    /// What happens to identities with no account.
    pub fn unknown(&self) -> UnknownIdentities {
        self.unknown
    }

    /// The provider's discovery document and keys, fetched if not known or
    /// old (or `again`).
    async fn metadata(
        &self,
        provider: &Provider,
        again: bool,
    ) -> Result<CoreProviderMetadata, SsoError> {
        let mut held = provider.metadata.lock().await;
        if let Some((metadata, at)) = held.as_ref() {
            if !again && at.elapsed() < METADATA_FOR {
                return Ok(metadata.clone());
            }
        }
        let metadata = CoreProviderMetadata::discover_async(provider.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                SsoError::Unavailable(format!(
                    "discovery at {}: {}",
                    provider.issuer.as_str(),
                    chain(&e)
                ))
            })?;
        *held = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    fn client(
        &self,
        provider: &Provider,
        metadata: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        SsoError,
    > {
        let redirect = self.redirect.clone().ok_or(SsoError::NoPublicUrl)?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.config.client_id.clone()),
            provider.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// Drops sign-ins older than [`PENDING_FOR`] (at most twice a minute)
    /// and counts the rest.
    fn sweep(&self) -> Result<usize, SsoError> {
        {
            let swept = self.swept.lock().map_err(|_| SsoError::Busy)?;
            if swept.0.elapsed() < Duration::from_secs(30) {
                return Ok(swept.1);
            }
        }
        let cutoff = now_millis().saturating_sub(PENDING_FOR.as_millis() as u64 * 2);
        let mut stale = Vec::new();
        let mut live = 0;
        self.pending.scan(b"", false, &mut |key, value| {
            let created = if key.starts_with(b"u/") {
                std::str::from_utf8(value).ok().and_then(|v| v.parse().ok())
            } else {
                serde_json::from_slice::<Pending>(value)
                    .ok()
                    .map(|p| p.created)
            };
            match created {
                Some(at) if at >= cutoff => live += 1,
                _ => stale.push(key.to_vec()),
            }
            Ok(true)
        })?;
        for key in stale {
            self.pending.remove(&key)?;
        }
        if let Ok(mut swept) = self.swept.lock() {
            *swept = (Instant::now(), live);
        }
        Ok(live)
    }

    /// Begins signing in with provider `n`: the provider's URL to send the
    /// browser to, and the binding to give the browser as
    /// [`BINDING_COOKIE`].
    ///
    /// # Errors
    /// [`SsoError`].
    pub async fn begin(&self, n: usize, next: &str) -> Result<(String, String), SsoError> {
        let provider = self.providers.get(n).ok_or(SsoError::NoProvider)?;
        if self.sweep()? >= MAX_PENDING {
            return Err(SsoError::Busy);
        }
        let metadata = self.metadata(provider, false).await?;
        let client = self.client(provider, metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let binding = random_token(24).map_err(|e| SsoError::Unavailable(e.to_string()))?;
        let pending = Pending {
            provider: n,
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            binding: hex_sha256(&binding),
            created: now_millis(),
            next: safe_next(next),
        };
        let record = serde_json::to_vec(&pending).map_err(|e| SsoError::Refused(e.to_string()))?;
        self.pending.insert(&pending_key(state.secret()), &record)?;
        Ok((url.to_string(), binding))
    }

    /// Finishes a sign-in the provider sent back: who it was and the path
    /// to go on to.
    ///
    /// # Errors
    /// [`SsoError`]: every way the answer can fail to check out.
    pub async fn finish(
        &self,
        callback: Callback,
        binding: Option<&str>,
    ) -> Result<(Identity, String), SsoError> {
        let state = callback
            .state
            .filter(|s| !s.is_empty())
            .ok_or(SsoError::Expired)?;
        // Used up before anything else: a state answers once, on any node.
        if !self
            .pending
            .insert_new(&used_key(&state), now_millis().to_string().as_bytes())?
        {
            return Err(SsoError::Expired);
        }
        let record = self
            .pending
            .get(&pending_key(&state))?
            .ok_or(SsoError::Expired)?;
        self.pending.remove(&pending_key(&state))?;
        let pending: Pending = serde_json::from_slice(&record).map_err(|_| SsoError::Expired)?;
        if now_millis().saturating_sub(pending.created) > PENDING_FOR.as_millis() as u64 {
            return Err(SsoError::Expired);
        }
        let bound = binding.is_some_and(|b| secrets_equal(&hex_sha256(b), &pending.binding));
        if !bound {
            return Err(SsoError::Expired);
        }
        if let Some(error) = callback.error {
            return Err(SsoError::Cancelled(match callback.error_description {
                Some(description) => format!("{error}: {description}"),
                None => error,
            }));
        }
        let code = callback
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| SsoError::Refused("no authorization code".into()))?;
        let provider = self
            .providers
            .get(pending.provider)
            .ok_or(SsoError::NoProvider)?;
        let metadata = self.metadata(provider, false).await?;
        let client = self.client(provider, metadata)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SsoError::Refused(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(answer) => {
                    SsoError::Refused(format!("token endpoint: {answer}"))
                }
                RequestTokenError::Request(e) => {
                    SsoError::Unavailable(format!("token endpoint: {}", chain(&e)))
                }
                other => SsoError::Refused(format!("token endpoint: {other}")),
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| SsoError::Refused("no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce);
        let checked = {
            let verifier = client.id_token_verifier();
            id_token.claims(&verifier, &nonce).cloned()
        };
        let (claims, client): (CoreIdTokenClaims, _) = match checked {
            Ok(claims) => (claims, client),
            // A key not seen: the provider may have rotated its keys.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let metadata = self.metadata(provider, true).await?;
                let client = self.client(provider, metadata)?;
                let claims = {
                    let verifier = client.id_token_verifier();
                    id_token
                        .claims(&verifier, &nonce)
                        .cloned()
                        .map_err(|e| SsoError::Refused(format!("ID token: {e}")))?
                };
                (claims, client)
            }
            Err(e) => return Err(SsoError::Refused(format!("ID token: {e}"))),
        };
        if let Some(expected) = claims.access_token_hash() {
            let verifier = client.id_token_verifier();
            let alg = id_token
                .signing_alg()
                .map_err(|e| SsoError::Refused(format!("ID token: {e}")))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| SsoError::Refused(format!("ID token: {e}")))?;
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
                .map_err(|e| SsoError::Refused(format!("access token hash: {e}")))?;
            if actual != *expected {
                return Err(SsoError::Refused(
                    "the access token's hash does not match".into(),
                ));
            }
        }
        let identity = Identity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            verified_email: claims
                .email()
                .filter(|_| claims.email_verified() == Some(true))
                .map(|e| e.as_str().to_owned()),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
        };
        Ok((identity, pending.next))
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_of_this_site_are_gone_on_to() {
        assert_eq!(
            safe_next("/p/demo/actions?owner=me"),
            "/p/demo/actions?owner=me"
        );
        for elsewhere in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example",
            "",
            "x",
            "/a\nb",
        ] {
            assert_eq!(safe_next(elsewhere), "/", "{elsewhere:?}");
        }
    }
}
