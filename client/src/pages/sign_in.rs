//! Signing in: the first time on a device, and again when a session has
//! ended (the person's edits wait on the device meanwhile).
//!
//! The NHS.UK pattern: labelled fields with the browser's autocomplete
//! hints, and on a problem an error summary (focused, with links that move
//! focus to the fields) above messages on the fields themselves.

use leptos::prelude::*;

use crate::api::{self, Account, ApiError};
use crate::browser::{focus, SIGNED_OUT_KEY};
use crate::components::form::{ErrorSummary, TextField};

/// Whether the page was reloaded by signing out (asked once).
fn just_signed_out() -> bool {
    let Some(session) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) else {
        return false;
    };
    let was = session.get_item(SIGNED_OUT_KEY).ok().flatten().is_some();
    let _ = session.remove_item(SIGNED_OUT_KEY);
    was
}

/// Why signing in through the person's organisation just failed, from the
/// address the server sent them back to (asked once: the address is
/// tidied, so a reload does not say it again).
fn single_sign_on_failure() -> Option<String> {
    let window = web_sys::window()?;
    let search = window.location().search().ok()?;
    let code = search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == plait_shared::api::SSO_FAILURE_PARAM)
        .map(|(_, code)| code.to_owned())?;
    if let Ok(history) = window.history() {
        let path = window.location().pathname().unwrap_or_else(|_| "/".into());
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    plait_shared::api::SsoFailure::from_code(&code).map(|f| f.message().to_owned())
}

/// Where the person is, to come back to after signing in elsewhere.
fn here() -> String {
    web_sys::window()
        .map(|w| {
            let location = w.location();
            format!(
                "{}{}",
                location.pathname().unwrap_or_default(),
                location.search().unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "/".into())
}

/// The problems with what was typed before asking the server: (field id,
/// message) each.
fn missing(username: &str, password: &str) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if username.is_empty() {
        errors.push(("username".to_owned(), "Enter your user name".to_owned()));
    }
    if password.is_empty() {
        errors.push(("password".to_owned(), "Enter your password".to_owned()));
    }
    errors
}

/// What went wrong, in words for the form: problems with fields, or a
/// problem with none.
fn failure(error: ApiError) -> (Vec<(String, String)>, Option<String>) {
    match error {
        ApiError::SignedOut => (
            vec![(
                "password".to_owned(),
                "The user name or password is not right".to_owned(),
            )],
            None,
        ),
        ApiError::TooMany => (
            Vec::new(),
            Some(
                "Too many failed attempts to sign in. Wait a few minutes and try again.".to_owned(),
            ),
        ),
        ApiError::Offline => (
            Vec::new(),
            Some(
                "The server cannot be reached. Signing in needs a connection: \
                 try again when you are online."
                    .to_owned(),
            ),
        ),
        ApiError::Failed(status, _) => (
            Vec::new(),
            Some(format!(
                "Signing in is not working at the moment (error {status}). Try again later."
            )),
        ),
    }
}

/// The sign-in form. `again`: the user name of a session that has ended.
#[component]
pub fn SignIn(
    #[prop(optional, into)] again: Option<String>,
    on_done: Callback<Account>,
    #[prop(optional)] on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let is_again = again.is_some();
    let username = RwSignal::new(again.unwrap_or_default());
    let password = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::new());
    let problem = RwSignal::new(None);
    let busy = StoredValue::new(false);
    let signed_out = !is_again && just_signed_out();
    let options = RwSignal::new(None::<plait_shared::api::SignInOptions>);
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(found) = api::sign_in_options().await {
            options.try_set(Some(found));
        }
    });
    if !is_again {
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(account) = api::existing_session().await {
                on_done.run(account);
            }
        });
    }
    let passwords = move || options.with(|o| o.as_ref().is_none_or(|o| o.passwords));
    if let Some(why) = single_sign_on_failure() {
        problem.set(Some(why));
        focus("error-summary");
    } else if is_again {
        focus("sign-in-heading");
    }
    let shown = move |found: Vec<(String, String)>, trouble: Option<String>| {
        let any = !found.is_empty() || trouble.is_some();
        errors.set(found);
        problem.set(trouble);
        if any {
            focus("error-summary");
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_value() {
            return;
        }
        let name = username.get_untracked().trim().to_owned();
        let secret = password.get_untracked();
        let found = missing(&name, &secret);
        if !found.is_empty() {
            shown(found, None);
            return;
        }
        busy.set_value(true);
        wasm_bindgen_futures::spawn_local(async move {
            api::end_pending_logout().await;
            let answer = api::login(&name, &secret).await;
            busy.try_set_value(false);
            match answer {
                Ok(account) => on_done.run(account),
                Err(error) => {
                    let (found, trouble) = failure(error);
                    password.try_set(String::new());
                    shown(found, trouble);
                }
            }
        });
    };
    view! {
        {signed_out.then(|| view! {
            <div class="nhsuk-notification-banner nhsuk-notification-banner--success"
                role="alert" aria-labelledby="signed-out-title">
                <div class="nhsuk-notification-banner__header">
                    <h2 class="nhsuk-notification-banner__title" id="signed-out-title">"Signed out"</h2>
                </div>
                <div class="nhsuk-notification-banner__content">
                    <p class="nhsuk-notification-banner__heading">
                        "You have signed out. Your data has been removed from this device."
                    </p>
                </div>
            </div>
        })}
        <ErrorSummary id="error-summary" errors problem />
        <h1 id="sign-in-heading" tabindex="-1">{if is_again { "Sign in again" } else { "Sign in" }}</h1>
        {is_again.then(|| view! {
            <p>"Your session has ended. Your changes are kept on this device and will be sent once you sign in again."</p>
        })}
        {move || options.with(|o| o.as_ref().filter(|o| !o.providers.is_empty()).map(|o| {
            let next = here();
            let buttons = o.providers.iter().map(|p| view! {
                <p>
                    <a class="nhsuk-button nhsuk-button--secondary plait-sso" role="button" draggable="false"
                        href=plait_shared::api::sso_start_path(p.id, &next)>
                        {format!("Sign in with {}", p.label)}
                    </a>
                </p>
            }).collect::<Vec<_>>();
            view! {
                <h2 class="nhsuk-heading-m">"With your organisation's account"</h2>
                {buttons}
                {o.passwords.then(|| view! {
                    <h2 class="nhsuk-heading-m">"With a Plait user name and password"</h2>
                })}
            }
        }))}
        <form novalidate on:submit=submit hidden=move || !passwords()>
            <TextField id="username" label="User name" value=username errors
                autocomplete="username" width="nhsuk-input--width-20" verbatim=true />
            <TextField id="password" label="Password" value=password errors kind="password"
                autocomplete="current-password" width="nhsuk-input--width-20" verbatim=true />
            <div class="plait-buttons">
                <button class="nhsuk-button" type="submit">"Sign in"</button>
                {on_cancel.map(|cancel| view! {
                    <button class="nhsuk-button nhsuk-button--secondary" type="button"
                        on:click=move |_| cancel.run(())>"Not now"</button>
                })}
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn each_missing_field_is_named_and_a_wrong_password_is_said_on_its_field() {
        let fields = |errors: Vec<(String, String)>| {
            errors
                .into_iter()
                .map(|(field, _)| field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(missing("", "")), ["username", "password"]);
        assert_eq!(fields(missing("d.hughes", "")), ["password"]);
        assert!(missing("d.hughes", "secret").is_empty());
        let (errors, problem) = failure(ApiError::SignedOut);
        assert_eq!(fields(errors), ["password"]);
        assert!(problem.is_none());
        let (errors, problem) = failure(ApiError::Offline);
        assert!(errors.is_empty());
        assert!(problem.is_some_and(|p| p.contains("cannot be reached")));
    }
}
