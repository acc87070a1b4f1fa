//! My work: what needs the signed-in person, by what they do — their own
//! actions that are due or overdue (and their re-audits), evidence to
//! review, decisions to record, re-audits to carry out, date changes to
//! answer, actions to agree. Computed from the local documents, so it works
//! offline; written as markup (see [`crate::markup`]).

use leptos::prelude::*;
use plait_shared::access::administers;
use plait_shared::work::{work_for, Horizon, Task, WorkList};

use crate::browser::today;
use crate::contexts::session::use_session;
use crate::contexts::workspace::use_workspace;
use crate::markup::{link, markup, render, Markup};
use crate::pages::follow_links;

fn work_markup(lists: &[(WorkList, Vec<Task>)]) -> Markup {
    let mut html = Markup::new();
    for (list, tasks) in lists.iter().filter(|(_, tasks)| !tasks.is_empty()) {
        let heading = list.heading();
        html += markup!(
            "<h2>{} ({})</h2><ul class=\"nhsuk-list nhsuk-list--border\" aria-label=\"{}\">",
            heading,
            tasks.len(),
            heading
        );
        for t in tasks {
            let href = crate::pages::href(&crate::pages::Page::Action {
                plan: t.plan.clone(),
                action: t.action.id.clone(),
            });
            html += markup!(
                "<li>{}<br><span class=\"nhsuk-body-s\">{}</span></li>",
                link(
                    &href,
                    format!("{} – {}", t.action.reference, t.action.title)
                ),
                t.note
            );
        }
        html += markup!("</ul>");
    }
    if html.is_empty() {
        markup!("<p role=\"status\">Nothing needs you just now.</p>")
    } else {
        html
    }
}

/// The weekly e-mail of this list: whether the person gets it (their
/// choice, kept on their account) and "Email me this list" now. Needs a
/// connection; says so without one.
#[component]
fn DigestChoices() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let choice = RwSignal::new(None::<plait_shared::api::DigestChoice>);
    let message = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    wasm_bindgen_futures::spawn_local(async move {
        match crate::api::digest_choice().await {
            Ok(found) => choice.set(Some(found)),
            Err(e) => message.set(crate::api::reason(&e)),
        }
    });
    let csrf = move || session.account.with_untracked(|a| a.csrf.clone());
    let toggle = move |ev: leptos::ev::Event| {
        let subscribed = event_target_checked(&ev);
        wasm_bindgen_futures::spawn_local(async move {
            match crate::api::set_digest(subscribed, &csrf()).await {
                Ok(found) => {
                    message.set(if found.subscribed {
                        "You will get this list by e-mail every week.".into()
                    } else {
                        "You will not get this list by e-mail any more.".into()
                    });
                    choice.set(Some(found));
                }
                Err(e) => message.set(crate::api::reason(&e)),
            }
        });
    };
    let send = move |_| {
        let Some(programme) = workspace.programme_id() else {
            return;
        };
        busy.set(true);
        wasm_bindgen_futures::spawn_local(async move {
            message.set(match crate::api::send_digest(&programme, &csrf()).await {
                Ok(sent) if sent.sent => format!("Sent to {}.", sent.to),
                Ok(_) => "Nothing needs you just now, so no e-mail was sent.".into(),
                Err(crate::api::ApiError::TooMany) => {
                    "You asked a moment ago: try again in a minute.".into()
                }
                Err(e) => crate::api::reason(&e),
            });
            busy.set(false);
        });
    };
    view! {
        <h2 id="my-work-email">"By e-mail"</h2>
        {move || choice.get().map(|c| {
            let address = c.email.clone().unwrap_or_default();
            if !c.mail_configured {
                view! { <p>"This server does not send e-mail."</p> }.into_any()
            } else if c.email.is_none() {
                view! { <p>"Your account has no e-mail address: ask the programme office to add it."</p> }.into_any()
            } else {
                view! {
                    <div class="nhsuk-checkboxes__item">
                        <input class="nhsuk-checkboxes__input" id="digest-weekly" type="checkbox"
                            prop:checked=c.subscribed on:change=toggle />
                        <label class="nhsuk-label nhsuk-checkboxes__label" for="digest-weekly">
                            {format!("Email me this list every week ({address})")}
                        </label>
                    </div>
                    <button class="nhsuk-button nhsuk-button--secondary" type="button"
                        disabled=move || busy.get() on:click=send>"Email me this list now"</button>
                }.into_any()
            }
        })}
        <p role="status">{move || message.get()}</p>
    }
}

/// The "My work" page.
#[component]
pub fn MyWork() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let html = move || {
        let actor = session.actor.get();
        let plans = workspace.plan_views();
        let import = if administers(actor.role) {
            markup!(
                "<p>{}</p>",
                link(
                    &crate::pages::href(&crate::pages::Page::Import),
                    "Import an action plan (CSV or Excel)"
                )
            )
        } else {
            Markup::new()
        };
        markup!(
            "<p class=\"nhsuk-lede-text\">What needs you, {} ({}).</p>{}{}",
            workspace.name_of(actor.user.as_str()),
            actor.role.label(),
            import,
            work_markup(&work_for(
                actor.user.as_str(),
                actor.role,
                workspace.rules(),
                &plans,
                today(),
                Horizon::my_work(today())
            ))
        )
    };
    view! {
        <h1>"My work"</h1>
        <div on:click=|ev| follow_links(&ev)>{render(html)}</div>
        <DigestChoices />
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn nobody_has_work_in_an_empty_programme() {
        let today = plait_shared::Date::from_ymd(2026, 11, 26).unwrap();
        for role in plait_shared::Role::ALL {
            let lists = work_for(
                "d.hughes",
                *role,
                plait_shared::Governance::DEFAULT,
                &[],
                today,
                Horizon::my_work(today),
            );
            assert!(lists.iter().all(|(_, l)| l.is_empty()));
            assert!(work_markup(&lists).as_str().contains("Nothing needs you"));
        }
    }
}
