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
