//! The person's programmes, to open one; and, for a server administrator,
//! creating a programme (its plans then come from an import or the set-up
//! page).

use leptos::prelude::*;
use plait_shared::api::{NewProgramme, ProgrammeSummary};

use crate::api;
use crate::browser::focus;
use crate::components::form::{ErrorSummary, TextField};
use crate::contexts::session::use_session;
use crate::pages::{address, load, Page};

/// The list, from the server (kept for offline use), or as last fetched.
#[component]
pub fn Programmes() -> impl IntoView {
    let session = use_session();
    let account = session.account.get_untracked();
    let user = account.username.clone();
    let superuser = account.superuser;
    // Offline: the list as last fetched, or the memberships the account
    // names (without their names).
    let fallback: Vec<ProgrammeSummary> = api::cached_programmes(&user).unwrap_or_else(|| {
        account
            .programmes
            .iter()
            .map(|m| ProgrammeSummary {
                id: m.id.clone(),
                name: String::new(),
                trust: String::new(),
                role: m.role,
            })
            .collect()
    });
    let list = RwSignal::new(fallback);
    let fetch_user = user.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(fresh) = api::programmes(&fetch_user).await {
            list.set(fresh);
        }
    });
    let last = api::last_programme(&user);
    view! {
        <h1 id="programmes-heading" tabindex="-1">"Your programmes"</h1>
        {move || {
            let programmes = list.get();
            if programmes.is_empty() {
                view! {
                    <p>"You are not a member of any improvement programme yet. Ask your programme office to add you."</p>
                }.into_any()
            } else {
                let last = last.clone();
                view! {
                    <ul class="nhsuk-list plait-programmes">
                        {programmes.into_iter().map(|p| {
                            let href = address(Some(&p.id), &Page::Overview);
                            let name = if p.name.is_empty() { p.id.to_string() } else { p.name.clone() };
                            let detail = [p.trust.as_str(), p.role.label()]
                                .into_iter()
                                .filter(|s| !s.is_empty())
                                .collect::<Vec<_>>()
                                .join(" · ");
                            let opened_last = last.as_ref() == Some(&p.id);
                            view! {
                                <li>
                                    // A plain link: another programme opens in a fresh page.
                                    <a href=href class="nhsuk-u-font-weight-bold">{name}</a>
                                    {opened_last.then(|| view! { " " <strong class="nhsuk-tag nhsuk-tag--grey">"Opened last"</strong> })}
                                    <br/>
                                    <span class="nhsuk-body-s">{detail}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }
        }}
        {superuser.then(|| view! { <CreateProgramme /> })}
    }
}

/// The form a server administrator creates a programme with.
#[component]
fn CreateProgramme() -> impl IntoView {
    let session = use_session();
    let id = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let trust = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::new());
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let new = NewProgramme {
            id: id.get_untracked().trim().to_ascii_lowercase(),
            name: name.get_untracked().trim().to_owned(),
            trust: trust.get_untracked().trim().to_owned(),
        };
        let mut found = Vec::new();
        if new.name.is_empty() {
            found.push((
                "programme-name".to_owned(),
                "Enter the programme's name".to_owned(),
            ));
        }
        let id_ok = !new.id.is_empty()
            && new.id.len() <= 64
            && new
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            found.push((
                "programme-id".to_owned(),
                "Enter a short id of lower-case letters, digits and hyphens, like nsft-qip"
                    .to_owned(),
            ));
        }
        if !found.is_empty() {
            errors.set(found);
            focus("create-errors");
            return;
        }
        errors.set(Vec::new());
        busy.set(true);
        let csrf = session.account.get_untracked().csrf.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match api::create_programme(&new, &csrf).await {
                Ok(created) => load(&address(Some(&created.id), &Page::Import)),
                Err(e) => {
                    errors.set(vec![("programme-id".to_owned(), api::reason(&e))]);
                    busy.set(false);
                    focus("create-errors");
                }
            }
        });
    };
    view! {
        <h2>"Create a programme"</h2>
        <ErrorSummary id="create-errors" errors />
        <form on:submit=submit novalidate>
            <TextField id="programme-name" label="Programme name" value=name errors />
            <TextField id="programme-id" label="Short id" value=id errors width="nhsuk-input--width-20"
                hint="Used in its web address: lower-case letters, digits and hyphens, like nsft-qip." />
            <TextField id="programme-trust" label="Trust" value=trust />
            <button class="nhsuk-button" type="submit" prop:disabled=move || busy.get()>"Create the programme"</button>
        </form>
    }
}
