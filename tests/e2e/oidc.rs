//! Single sign-on with OpenID Connect, against real providers run by the
//! tests: the certified `oidc-provider` package (tests/oidc/provider.mjs)
//! for signing in, linking and signing out, and a hostile provider
//! (tests/oidc/rogue.mjs) whose ID tokens are wrong in one way each, which
//! must all be refused.
//!
//! The server's public URL is `http://plait.test` (the redirect URI the
//! providers know); the test's browser — a cookie-keeping HTTP client that
//! follows redirects itself — sends what is addressed there to the test
//! server. The providers' packages are pinned in tools/package-lock.json
//! (scripts/setup); without them these tests fail, never skip.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use plait_server::oidc::{ProviderConfig, SsoConfig, UnknownIdentities};
use plait_shared::api::SSO_CALLBACK_PATH;
use reqwest::header::{LOCATION, SET_COOKIE};

use crate::support::TestServer;
use crate::ywebsocket::repo_root;

const PUBLIC_URL: &str = "http://plait.test";
const CLIENT_ID: &str = "plait";
const CLIENT_SECRET: &str = "plait-test-secret";

/// A provider process; killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    /// Starts tests/oidc/`script` with `env`, waiting for its issuer line.
    fn start(script: &str, env: &[(&str, &str)]) -> Provider {
        let mut child = Command::new("node")
            .arg(repo_root().join("tests/oidc").join(script))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `node` ({e}): run scripts/setup"));
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        // Read on, so the provider never writes to a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = line
            .trim()
            .strip_prefix("issuer ")
            .unwrap_or_else(|| panic!("{script} did not start: {line:?}"))
            .to_owned();
        Provider { child, issuer }
    }

    /// The certified provider, with these people (`subject`, claims).
    fn real(accounts: serde_json::Value) -> Provider {
        let redirect = format!("{PUBLIC_URL}{SSO_CALLBACK_PATH}");
        Provider::start(
            "provider.mjs",
            &[
                ("OIDC_CLIENT_ID", CLIENT_ID),
                ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
                ("OIDC_REDIRECT_URI", &redirect),
                ("OIDC_ACCOUNTS", &accounts.to_string()),
            ],
        )
    }

    fn config(&self, label: &str) -> ProviderConfig {
        ProviderConfig {
            label: label.into(),
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: Some(CLIENT_SECRET.into()),
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn server_with(providers: Vec<ProviderConfig>, unknown: UnknownIdentities) -> TestServer {
    TestServer::start(move |config| {
        config.public_url = Some(PUBLIC_URL.into());
        config.sso = SsoConfig { providers, unknown };
    })
    .await
}

/// What a sign-in ended with.
#[derive(Debug)]
struct Outcome {
    /// Where the server sent the browser after the callback.
    landed: String,
    /// The callback as the provider sent it (to replay).
    callback: Option<String>,
    /// The binding cookie the start gave the browser.
    binding: Option<String>,
    /// The browser, with its cookies.
    browser: reqwest::Client,
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Where `location` points from `base`, with the public URL sent to the
/// test server.
fn resolve(server: &TestServer, base: &str, location: &str) -> String {
    let url = reqwest::Url::parse(base).unwrap().join(location).unwrap();
    let url = url.to_string();
    match url.strip_prefix(PUBLIC_URL) {
        Some(path) => server.url(path),
        None => url,
    }
}

/// Signs in with provider `n` as `login` (the provider's login page is
/// answered with it), following every redirect like a browser.
async fn sign_in(server: &TestServer, n: u32, login: &str) -> Outcome {
    let browser = browser();
    let mut url = server.url(&format!("/api/auth/oidc/{n}/start?next=/p/demo/actions"));
    let mut callback = None;
    let mut binding = None;
    let mut response = browser.get(&url).send().await.unwrap();
    for _ in 0..20 {
        if response.status().is_redirection() {
            for cookie in response.headers().get_all(SET_COOKIE) {
                let cookie = cookie.to_str().unwrap();
                if let Some(value) = cookie.strip_prefix("plait_sso=") {
                    if binding.is_none() {
                        binding = Some(value.split(';').next().unwrap().to_owned());
                    }
                }
            }
            let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
            if location.starts_with(&format!("{PUBLIC_URL}{SSO_CALLBACK_PATH}")) {
                callback = Some(location.clone());
            }
            if url.contains(SSO_CALLBACK_PATH) {
                return Outcome {
                    landed: location,
                    callback,
                    binding,
                    browser,
                };
            }
            url = resolve(server, &url, &location);
            response = browser.get(&url).send().await.unwrap();
        } else if response.status() == 200 && url.contains("/interaction/") {
            let action = format!("{}/login", url.split('?').next().unwrap());
            response = browser
                .post(&action)
                .form(&[("login", login)])
                .send()
                .await
                .unwrap();
            url = action;
        } else {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            panic!("sign-in stopped at {url}: {status} {body}");
        }
    }
    panic!("too many redirects");
}

/// The account the browser is signed in to, if any.
async fn me(server: &TestServer, browser: &reqwest::Client) -> Option<serde_json::Value> {
    let response = browser.get(server.url("/api/me")).send().await.unwrap();
    match response.status().as_u16() {
        200 => Some(response.json().await.unwrap()),
        401 => None,
        other => panic!("/api/me: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_email_signs_in_to_its_account_which_stays_linked_until_sign_out() {
    let provider = Provider::real(serde_json::json!({
        "entra-0001": {"email": "Dee.Hughes@nhs.net", "email_verified": true, "name": "Dee Hughes"},
    }));
    let server = server_with(vec![provider.config("NHSmail")], UnknownIdentities::Refuse).await;
    server
        .state
        .accounts
        .add_user("d.hughes", "D. Hughes", "a long enough password", false)
        .unwrap();
    server
        .state
        .accounts
        .set_email("d.hughes", Some("dee.hughes@nhs.net"))
        .unwrap();

    let options: serde_json::Value = browser()
        .get(server.url("/api/auth/options"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        options,
        serde_json::json!({"passwords": true, "providers": [{"id": 0, "label": "NHSmail"}]})
    );

    let signed = sign_in(&server, 0, "entra-0001").await;
    assert_eq!(
        signed.landed, "/p/demo/actions",
        "back where the sign-in began"
    );
    let account = me(&server, &signed.browser).await.expect("signed in");
    assert_eq!(account["username"], "d.hughes");

    // Linked now: the same identity signs in to the same account even once
    // the account's address changes.
    server
        .state
        .accounts
        .set_email("d.hughes", Some("d.hughes@nhs.net"))
        .unwrap();
    let again = sign_in(&server, 0, "entra-0001").await;
    assert_eq!(
        me(&server, &again.browser).await.unwrap()["username"],
        "d.hughes"
    );

    // Signing out ends the session the provider's sign-in started.
    let csrf = account["csrf"].as_str().unwrap().to_owned();
    let out = signed
        .browser
        .post(server.url("/api/auth/logout"))
        .header("x-csrf-token", &csrf)
        .header("origin", server.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(me(&server, &signed.browser).await.is_none());
    drop(provider);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unverified_email_matches_nobody_and_an_unknown_identity_gets_an_account_in_no_programme(
) {
    let provider = Provider::real(serde_json::json!({
        "entra-0002": {"email": "root@nhs.net", "email_verified": false, "name": "Pat Imposter", "preferred_username": "pat.imposter@nhs.net"},
    }));
    let server = server_with(vec![provider.config("NHSmail")], UnknownIdentities::Create).await;
    // Someone else's account has the address the provider does not vouch for.
    server
        .state
        .accounts
        .set_email("root", Some("root@nhs.net"))
        .unwrap();

    let signed = sign_in(&server, 0, "entra-0002").await;
    let account = me(&server, &signed.browser).await.expect("signed in");
    assert_ne!(
        account["username"], "root",
        "an unverified address must not match"
    );
    assert_eq!(account["username"], "pat.imposter");
    assert_eq!(account["name"], "Pat Imposter");
    assert_eq!(account["superuser"], false);
    assert_eq!(
        account["programmes"],
        serde_json::json!([]),
        "in no programme"
    );
    // The new account has no password anyone could guess.
    let login = browser()
        .post(server.url("/api/auth/login"))
        .header("origin", server.url(""))
        .json(&serde_json::json!({"username": "pat.imposter", "password": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_identities_are_refused_by_setting_and_an_explicit_link_signs_in() {
    let provider = Provider::real(serde_json::json!({
        "cis2-555": {"name": "Sam Validator"},
    }));
    let server = server_with(
        vec![provider.config("NHS Care Identity")],
        UnknownIdentities::Refuse,
    )
    .await;
    let refused = sign_in(&server, 0, "cis2-555").await;
    assert_eq!(refused.landed, "/?sign_in_failed=unknown");
    assert!(me(&server, &refused.browser).await.is_none());

    server
        .state
        .accounts
        .add_user(
            "s.validator",
            "S. Validator",
            "a long enough password",
            false,
        )
        .unwrap();
    // As `plait user link s.validator --issuer … --subject cis2-555` does.
    let linked = plait_server::control::execute_account(
        &server.state.accounts,
        plait_server::control::Command::Link {
            username: "s.validator".into(),
            issuer: provider.issuer.clone(),
            subject: "cis2-555".into(),
        },
    );
    assert!(
        matches!(linked, plait_server::control::Reply::User(_)),
        "{linked:?}"
    );
    let signed = sign_in(&server, 0, "cis2-555").await;
    assert_eq!(
        me(&server, &signed.browser).await.unwrap()["username"],
        "s.validator"
    );

    // A disabled account is not signed in to.
    server
        .state
        .accounts
        .set_disabled("s.validator", true)
        .unwrap();
    let disabled = sign_in(&server, 0, "cis2-555").await;
    assert_eq!(disabled.landed, "/?sign_in_failed=disabled");
    assert!(me(&server, &disabled.browser).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_state_or_a_callback_in_another_browser_is_refused() {
    let provider = Provider::real(serde_json::json!({
        "entra-0003": {"email": "a.patel@nhs.net", "email_verified": true, "name": "A. Patel"},
    }));
    let server = server_with(vec![provider.config("NHSmail")], UnknownIdentities::Create).await;
    let signed = sign_in(&server, 0, "entra-0003").await;
    assert!(me(&server, &signed.browser).await.is_some());
    let callback = resolve(&server, PUBLIC_URL, &signed.callback.unwrap());
    let binding = signed.binding.unwrap();

    // The same callback again, even with the browser's binding: the state
    // has been used.
    let replayed = browser()
        .get(&callback)
        .header("cookie", format!("plait_sso={binding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 303);
    assert_eq!(replayed.headers()[LOCATION], "/?sign_in_failed=expired");
    assert!(replayed.headers().get_all(SET_COOKIE).iter().all(|c| !c
        .to_str()
        .unwrap()
        .starts_with("plait_session=")
        || c.to_str().unwrap().starts_with("plait_session=;")));

    // A fresh sign-in whose callback arrives in a browser that did not
    // begin it (a link sent to someone else): refused.
    let elsewhere = browser();
    let start = elsewhere
        .get(server.url("/api/auth/oidc/0/start"))
        .send()
        .await
        .unwrap();
    let to_provider = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let (state, _) = reqwest::Url::parse(&to_provider)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(k, v)| (v.into_owned(), k.into_owned()))
        .unwrap();
    let stranger = browser()
        .get(server.url(&format!("{SSO_CALLBACK_PATH}?code=whatever&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.headers()[LOCATION], "/?sign_in_failed=expired");
    assert!(me(&server, &elsewhere).await.is_none());
    drop(provider);
}

#[tokio::test(flavor = "multi_thread")]
async fn id_tokens_with_a_wrong_audience_signature_issuer_nonce_or_expiry_are_refused() {
    let rogue = Provider::start("rogue.mjs", &[("ROGUE_CLIENT_ID", CLIENT_ID)]);
    let server = server_with(vec![rogue.config("Rogue")], UnknownIdentities::Create).await;
    let set_mode = |mode: &'static str| {
        let url = format!("{}/mode", rogue.issuer);
        async move {
            let answer = reqwest::Client::new()
                .post(url)
                .body(mode)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
        }
    };
    for mode in [
        "wrong-audience",
        "bad-signature",
        "wrong-issuer",
        "wrong-nonce",
        "expired",
        "unsigned",
    ] {
        set_mode(mode).await;
        let refused = sign_in(&server, 0, "").await;
        assert_eq!(refused.landed, "/?sign_in_failed=refused", "{mode}");
        assert!(me(&server, &refused.browser).await.is_none(), "{mode}");
    }
    assert!(
        server.state.accounts.user("rogue").unwrap().is_none(),
        "no account was made for a refused token"
    );
    // The same provider, honest: signs in (so each refusal above was the
    // token's fault, not the set-up's).
    set_mode("honest").await;
    let signed = sign_in(&server, 0, "").await;
    assert_eq!(
        me(&server, &signed.browser).await.unwrap()["username"],
        "rogue"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_can_be_switched_off() {
    let provider = Provider::real(serde_json::json!({}));
    let providers = vec![provider.config("NHSmail")];
    let server = TestServer::start(move |config| {
        config.public_url = Some(PUBLIC_URL.into());
        config.sso = SsoConfig {
            providers,
            unknown: UnknownIdentities::Refuse,
        };
        config.passwords = false;
    })
    .await;
    server
        .state
        .accounts
        .add_user("d.hughes", "D. Hughes", "a long enough password", false)
        .unwrap();
    let login = browser()
        .post(server.url("/api/auth/login"))
        .header("origin", server.url(""))
        .json(&serde_json::json!({"username": "d.hughes", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 403);
    let options: serde_json::Value = browser()
        .get(server.url("/api/auth/options"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(options["passwords"], false);
    // An unknown provider number goes back to the sign-in page.
    let unknown = browser()
        .get(server.url("/api/auth/oidc/7/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.headers()[LOCATION], "/?sign_in_failed=refused");
}
