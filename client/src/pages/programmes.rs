//! The person's programmes, to open one; and, for a server administrator,
//! creating a programme (its plans then come from an import or the set-up
//! page).

use leptos::prelude::*;
use plait_shared::api::{NewProgramme, ProgrammeSummary};

use crate::api::{self, ApiError};
use crate::browser::focus;
use crate::contexts::workspace::use_workspace;
use crate::pages::{address, load, Page};

/// The list, from the server (kept for offline use), or as last fetched.
#[component]
pub fn Programmes() -> impl IntoView {
    let workspace = use_workspace();
    let account = workspace.session().account.get_untracked();
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
    let workspace = use_workspace();
    let id = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let trust = RwSignal::new(String::new());
    // (field id, message): the error summary's entries.
    let errors: RwSignal<Vec<(&'static str, String)>> = RwSignal::new(Vec::new());
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
        let id_ok = !new.id.is_empty()
            && new.id.len() <= 64
            && new
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            found.push((
                "programme-id",
                "Enter a short id of lower-case letters, digits and hyphens, like nsft-qip"
                    .to_owned(),
            ));
        }
        if new.name.is_empty() {
            found.push(("programme-name", "Enter the programme's name".to_owned()));
        }
        if !found.is_empty() {
            errors.set(found);
            focus("create-errors");
            return;
        }
        errors.set(Vec::new());
        busy.set(true);
        let csrf = workspace.session().account.get_untracked().csrf.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match api::create_programme(&new, &csrf).await {
                Ok(created) => load(&address(Some(&created.id), &Page::Import)),
                Err(e) => {
                    let message = match e {
                        ApiError::Offline => {
                            "Creating a programme needs a connection to the server".to_owned()
                        }
                        ApiError::Failed(_, text) if !text.is_empty() => api::sentence(&text),
                        other => format!("The programme was not created: {other:?}"),
                    };
                    errors.set(vec![("programme-id", message)]);
                    busy.set(false);
                    focus("create-errors");
                }
            }
        });
    };
    let error_for = move |field: &'static str| {
        errors.with(|e| e.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone()))
    };
    let group = move |field: &'static str| {
        if error_for(field).is_some() {
            "nhsuk-form-group nhsuk-form-group--error"
        } else {
            "nhsuk-form-group"
        }
    };
    view! {
        <h2>"Create a programme"</h2>
        <Show when=move || errors.with(|e| !e.is_empty())>
            <div class="nhsuk-error-summary" id="create-errors" tabindex="-1" role="alert" aria-labelledby="create-errors-title">
                <h2 class="nhsuk-error-summary__title" id="create-errors-title">"There is a problem"</h2>
                <div class="nhsuk-error-summary__body">
                    <ul class="nhsuk-list nhsuk-error-summary__list">
                        {move || errors.get().into_iter().map(|(field, message)| view! {
                            <li><a href=format!("#{field}")>{message}</a></li>
                        }).collect_view()}
                    </ul>
                </div>
            </div>
        </Show>
        <form on:submit=submit novalidate>
            <div class=move || group("programme-name")>
                <label class="nhsuk-label" for="programme-name">"Programme name"</label>
                {move || error_for("programme-name").map(|m| view! {
                    <span class="nhsuk-error-message" id="programme-name-error"><span class="nhsuk-u-visually-hidden">"Error: "</span>{m}</span>
                })}
                <input class="nhsuk-input" id="programme-name" name="programme-name" type="text"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev)) />
            </div>
            <div class=move || group("programme-id")>
                <label class="nhsuk-label" for="programme-id">"Short id"</label>
                <div class="nhsuk-hint" id="programme-id-hint">"Used in its web address: lower-case letters, digits and hyphens, like nsft-qip."</div>
                {move || error_for("programme-id").map(|m| view! {
                    <span class="nhsuk-error-message" id="programme-id-error"><span class="nhsuk-u-visually-hidden">"Error: "</span>{m}</span>
                })}
                <input class="nhsuk-input nhsuk-input--width-20" id="programme-id" name="programme-id" type="text"
                    aria-describedby="programme-id-hint" autocomplete="off" spellcheck="false"
                    prop:value=move || id.get()
                    on:input=move |ev| id.set(event_target_value(&ev)) />
            </div>
            <div class="nhsuk-form-group">
                <label class="nhsuk-label" for="programme-trust">"Trust"</label>
                <input class="nhsuk-input" id="programme-trust" name="programme-trust" type="text"
                    prop:value=move || trust.get()
                    on:input=move |ev| trust.set(event_target_value(&ev)) />
            </div>
            <button class="nhsuk-button" type="submit" prop:disabled=move || busy.get()>"Create the programme"</button>
        </form>
    }
}
