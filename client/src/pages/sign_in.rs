//! Signing in: the first time on a device, and again when a session has
//! ended (the person's edits wait on the device meanwhile).
//!
//! The NHS.UK pattern: labelled fields with the browser's autocomplete
//! hints, and on a problem an error summary (focused, with links that move
//! focus to the fields) above messages on the fields themselves.
//!
//! The form is written as markup ([`crate::markup`]) and its events are
//! handled on its container: a view of it cost the wasm 12 KB gzipped.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{self, Account, ApiError};
use crate::browser::{focus, SIGNED_OUT_KEY};
use crate::markup::{element, escape};

/// Whether the page was reloaded by signing out (asked once).
fn just_signed_out() -> bool {
    let Some(session) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) else {
        return false;
    };
    let was = session.get_item(SIGNED_OUT_KEY).ok().flatten().is_some();
    let _ = session.remove_item(SIGNED_OUT_KEY);
    was
}

/// What the form shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// The user name as typed.
    pub username: String,
    /// Problems with fields: (field id, message).
    pub errors: Vec<(&'static str, String)>,
    /// A problem with no field (no network, too many attempts).
    pub problem: Option<String>,
}

/// The form's markup. `again`: the session ended; `signed_out`: the page
/// was reloaded by signing out; `cancel`: a "Not now" button.
pub fn markup(form: &Form, again: bool, signed_out: bool, cancel: bool) -> String {
    let mut html = String::new();
    if signed_out {
        html += "<div class=\"nhsuk-notification-banner nhsuk-notification-banner--success\" \
                 role=\"alert\" aria-labelledby=\"signed-out-title\">\
                 <div class=\"nhsuk-notification-banner__header\">\
                 <h2 class=\"nhsuk-notification-banner__title\" id=\"signed-out-title\">Signed out</h2></div>\
                 <div class=\"nhsuk-notification-banner__content\">\
                 <p class=\"nhsuk-notification-banner__heading\">You have signed out. \
                 Your data has been removed from this device.</p></div></div>";
    }
    if !form.errors.is_empty() || form.problem.is_some() {
        html += "<div class=\"nhsuk-error-summary\" id=\"error-summary\" tabindex=\"-1\" \
                 aria-labelledby=\"error-summary-title\"><div role=\"alert\">\
                 <h2 class=\"nhsuk-error-summary__title\" id=\"error-summary-title\">There is a problem</h2>\
                 <div class=\"nhsuk-error-summary__body\">";
        if let Some(problem) = &form.problem {
            html += &format!("<p>{}</p>", escape(problem));
        }
        html += "<ul class=\"nhsuk-list nhsuk-error-summary__list\">";
        for (id, message) in &form.errors {
            html += &format!("<li><a href=\"#{id}\">{}</a></li>", escape(message));
        }
        html += "</ul></div></div></div>";
    }
    html += if again {
        "<h1 id=\"sign-in-heading\" tabindex=\"-1\">Sign in again</h1>\
         <p>Your session has ended. Your changes are kept on this device and will be \
         sent once you sign in again.</p>"
    } else {
        "<h1 id=\"sign-in-heading\" tabindex=\"-1\">Sign in</h1>"
    };
    html += "<form novalidate>";
    for (id, label, kind, autocomplete, value) in [
        (
            "username",
            "User name",
            "text",
            "username",
            form.username.as_str(),
        ),
        ("password", "Password", "password", "current-password", ""),
    ] {
        let error = form.errors.iter().find(|(field, _)| *field == id);
        let (group, input, described, message) = match error {
            Some((_, message)) => (
                " nhsuk-form-group--error",
                " nhsuk-input--error",
                format!(" aria-describedby=\"{id}-error\""),
                format!(
                    "<span class=\"nhsuk-error-message\" id=\"{id}-error\">\
                     <span class=\"nhsuk-u-visually-hidden\">Error: </span>{}</span>",
                    escape(message)
                ),
            ),
            None => ("", "", String::new(), String::new()),
        };
        html += &format!(
            "<div class=\"nhsuk-form-group{group}\">\
             <label class=\"nhsuk-label\" for=\"{id}\">{label}</label>{message}\
             <input class=\"nhsuk-input nhsuk-input--width-20{input}\" id=\"{id}\" name=\"{id}\" \
             type=\"{kind}\" autocomplete=\"{autocomplete}\" spellcheck=\"false\" \
             autocapitalize=\"none\" value=\"{}\"{described}></div>",
            escape(value)
        );
    }
    html += "<div class=\"plait-buttons\"><button class=\"nhsuk-button\" type=\"submit\">Sign in</button>";
    if cancel {
        html += "<button class=\"nhsuk-button nhsuk-button--secondary\" type=\"button\" \
                 data-action=\"cancel\">Not now</button>";
    }
    html + "</div></form>"
}

/// What was typed in a field.
fn typed(id: &str) -> String {
    element(id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|input| input.value())
        .unwrap_or_default()
}

/// What went wrong, in words for the form.
fn failure(error: ApiError) -> Form {
    let problem = |text: String| Form {
        problem: Some(text),
        ..Form::default()
    };
    match error {
        ApiError::SignedOut => Form {
            errors: vec![(
                "password",
                "The user name or password is not right".to_owned(),
            )],
            ..Form::default()
        },
        ApiError::TooMany => problem(
            "Too many failed attempts to sign in. Wait a few minutes and try again.".to_owned(),
        ),
        ApiError::Offline => problem(
            "The server cannot be reached. Signing in needs a connection: \
             try again when you are online."
                .to_owned(),
        ),
        ApiError::Failed(status, _) => problem(format!(
            "Signing in is not working at the moment (error {status}). Try again later."
        )),
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
    let form = RwSignal::new(Form {
        username: again.unwrap_or_default(),
        ..Form::default()
    });
    let busy = StoredValue::new(false);
    let signed_out = !is_again && just_signed_out();
    let cancel = on_cancel.is_some();
    if is_again {
        focus("sign-in-heading");
    }
    let shown = move |next: Form| {
        let problem = !next.errors.is_empty() || next.problem.is_some();
        form.set(next);
        if problem {
            focus("error-summary");
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_value() {
            return;
        }
        let username = typed("username").trim().to_owned();
        let password = typed("password");
        let mut next = Form {
            username: username.clone(),
            ..Form::default()
        };
        if username.is_empty() {
            next.errors
                .push(("username", "Enter your user name".to_owned()));
        }
        if password.is_empty() {
            next.errors
                .push(("password", "Enter your password".to_owned()));
        }
        if !next.errors.is_empty() {
            shown(next);
            return;
        }
        busy.set_value(true);
        wasm_bindgen_futures::spawn_local(async move {
            api::end_pending_logout().await;
            let answer = api::login(&username, &password).await;
            busy.try_set_value(false);
            match answer {
                Ok(account) => on_done.run(account),
                Err(error) => shown(Form {
                    username,
                    ..failure(error)
                }),
            }
        });
    };
    // The error summary's links move focus to their field; "Not now".
    let click = move |ev: leptos::ev::MouseEvent| {
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        if let Some(href) = target.get_attribute("href") {
            ev.prevent_default();
            let id = href.trim_start_matches('#');
            let field = if id == "password" {
                "password"
            } else {
                "username"
            };
            focus(field);
        } else if target.get_attribute("data-action").as_deref() == Some("cancel") {
            if let Some(cancel) = on_cancel {
                cancel.run(());
            }
        }
    };
    view! {
        <div
            inner_html=move || form.with(|f| markup(f, is_again, signed_out, cancel))
            on:submit=submit
            on:click=click
        ></div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn errors_link_to_their_fields_and_mark_them() {
        let form = Form {
            username: "d.hughes\"><script>".into(),
            errors: vec![("password", "Enter your password".into())],
            problem: None,
        };
        let html = markup(&form, false, false, false);
        assert!(html.contains("<a href=\"#password\">Enter your password</a>"));
        assert!(html.contains("aria-describedby=\"password-error\""));
        assert!(html.contains("nhsuk-input--error"));
        assert!(!html.contains("<script>"), "typed text is escaped");
        assert!(html.contains("autocomplete=\"current-password\""));
        assert!(!markup(&Form::default(), false, false, false).contains("error-summary"));
    }
}
