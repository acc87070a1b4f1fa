//! The signed-in account in the header, and signing out (with a warning
//! first when edits have not reached the server, or there is no network).

use leptos::prelude::*;

use crate::browser::focus;
use crate::contexts::session::use_session;
use crate::contexts::workspace::{use_workspace, Workspace};

fn sign_out_now(workspace: Workspace, busy: StoredValue<bool>) {
    if !busy.get_value() {
        busy.set_value(true);
        wasm_bindgen_futures::spawn_local(workspace.sign_out());
    }
}

/// "Signed in as D. Hughes (Contributor)" and "Sign out".
#[component]
pub fn AccountNav() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let busy = StoredValue::new(false);
    let who = format!(
        "Signed in as {} ({})",
        session.account.with_untracked(|a| a.name.clone()),
        session.actor.with_untracked(|a| a.role.label())
    );
    let sign_out = move |_| {
        let status = workspace.status();
        if status.waiting > 0 || !status.online {
            session.signing_in.set(false);
            session.confirming_sign_out.set(true);
            focus("sign-out-heading");
        } else {
            sign_out_now(workspace, busy);
        }
    };
    view! {
        <nav class="nhsuk-header__account" aria-label="Account">
            <ul class="nhsuk-header__account-list">
                <li class="nhsuk-header__account-item" data-testid="signed-in-as">{who}</li>
                <li class="nhsuk-header__account-item">
                    <button class="nhsuk-header__account-button" type="button" on:click=sign_out>
                        "Sign out"
                    </button>
                </li>
            </ul>
        </nav>
    }
}

/// What signing out now would lose, for `waiting` changes not yet on the
/// server and the network as it is: (label, warning, button).
fn sign_out_warning(waiting: usize, online: bool) -> (&'static str, String, &'static str) {
    let mut warning = match waiting {
        0 => String::new(),
        1 => "1 change you made on this device has not reached the server yet. \
              If you sign out now, it will be lost. "
            .to_owned(),
        n => format!(
            "{n} changes you made on this device have not reached the server yet. \
             If you sign out now, they will be lost. "
        ),
    };
    if !online {
        warning += "You are offline: signing out removes your data from this device now, \
                    and signing in again needs a connection.";
    }
    if waiting > 0 {
        (
            "Changes not saved",
            warning,
            "Sign out and lose these changes",
        )
    } else {
        ("You are offline", warning, "Sign out")
    }
}

/// "Sign out?": what would be lost, and the choice. Said as things stand
/// when it opens (it is brief).
#[component]
pub fn ConfirmSignOut() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let busy = StoredValue::new(false);
    let status = workspace.status();
    let (label, warning, button) = sign_out_warning(status.waiting, status.online);
    view! {
        <h1 id="sign-out-heading" tabindex="-1">"Sign out?"</h1>
        <div class="nhsuk-warning-callout">
            <h2 class="nhsuk-warning-callout__label">
                <span role="text"><span class="nhsuk-u-visually-hidden">"Important: "</span>{label}</span>
            </h2>
            <p>{warning}</p>
        </div>
        <div class="plait-buttons">
            <button id="confirm-sign-out" class="nhsuk-button nhsuk-button--warning" type="button"
                on:click=move |_| sign_out_now(workspace, busy)>{button}</button>
            <button class="nhsuk-button nhsuk-button--secondary" type="button"
                on:click=move |_| session.confirming_sign_out.set(false)>"Stay signed in"</button>
        </div>
    }
}
