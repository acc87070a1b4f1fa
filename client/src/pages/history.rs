//! An action's change history: the server's audit trail of who changed
//! what, when, from which device, and what it refused. Online only; it
//! reloads when the person's own edits have all been saved.

use leptos::prelude::*;
use plait_shared::api::AuditRecord;
use plait_shared::{ActionId, DocId};

use crate::api;
use crate::contexts::session::{use_session, Session};
use crate::contexts::workspace::{use_workspace, Workspace};
use crate::markup::{markup, render, scroll_region, Markup};

/// When, in words: "26 Nov 2026, 14:05".
fn when(ms: u64) -> String {
    let options = js_sys::Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "short")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    js_sys::Date::new(&(ms as f64).into())
        .to_locale_string("en-GB", &options)
        .into()
}

/// The records of `action` as a table (markup: much smaller in the wasm
/// than a view), names from the members list.
fn table(workspace: Workspace, action: &ActionId, records: &[AuditRecord]) -> Markup {
    if records.is_empty() {
        return markup!("<p>No changes have been recorded for this action yet.</p>");
    }
    let mut html = markup!(
        "<table class=\"nhsuk-table\" data-testid=\"change-history\">\
         <caption class=\"nhsuk-table__caption nhsuk-u-visually-hidden\">Changes saved on the server, newest first</caption>\
         <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">\
         <th scope=\"col\" class=\"nhsuk-table__header\">When</th>\
         <th scope=\"col\" class=\"nhsuk-table__header\">Who</th>\
         <th scope=\"col\" class=\"nhsuk-table__header\">Device</th>\
         <th scope=\"col\" class=\"nhsuk-table__header\">What changed</th>\
         </tr></thead><tbody class=\"nhsuk-table__body\">"
    );
    for record in records {
        let at = when(record.at);
        let who = workspace.name_of(record.user.as_str());
        html += markup!("<tr class=\"nhsuk-table__row\">");
        for cell in [at, who, record.device.clone()] {
            html += markup!("<td class=\"nhsuk-table__cell\">{}</td>", cell);
        }
        html += markup!("<td class=\"nhsuk-table__cell\"><ul class=\"nhsuk-list\">");
        for change in record.changes.iter().filter(|c| c.action() == Some(action)) {
            html += markup!("<li>{}</li>", change.to_string());
        }
        for refused in record
            .refused
            .iter()
            .filter(|r| r.change.action() == Some(action))
        {
            html += markup!(
                "<li><strong>Not saved:</strong> {} — {}</li>",
                refused.change.to_string(),
                refused.reason
            );
        }
        html += markup!("</ul></td></tr>");
    }
    html += markup!("</tbody></table>");
    scroll_region("Change history", html)
}

/// The change history section of an action's page.
#[component]
pub fn ChangeHistory(plan: DocId, action: ActionId) -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    // None while loading; the records, or why there are none.
    let trail = RwSignal::new_local(None::<Result<Vec<AuditRecord>, ()>>);
    let ids = StoredValue::new((plan, action));
    let reachable =
        Memo::new(move |_| workspace.status().online && session.state.get() == Session::Live);
    // Every local edit saved: the trail has them.
    let settled = Memo::new(move |_| reachable.get() && workspace.status().waiting == 0);
    let round = StoredValue::new(0u32);
    let load = move || {
        let Some((plan, action)) = ids.try_get_value() else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let records = api::history(&plan, &action, 50).await;
            trail.set(Some(records.map_err(|_| ())));
        });
    };
    Effect::new(move |_| {
        if !settled.get() {
            return;
        }
        // Typing saves every key: wait for a pause.
        let this = round.get_value() + 1;
        round.set_value(this);
        let delay = if trail.with_untracked(Option::is_none) {
            0
        } else {
            1000
        };
        set_timeout(
            move || {
                if round.try_get_value() == Some(this) && settled.try_get_untracked() == Some(true)
                {
                    load();
                }
            },
            std::time::Duration::from_millis(delay),
        );
    });
    let html = move || {
        let message = if session.state.get() == Session::Ended {
            "Sign in again to see the change history."
        } else if !reachable.get() {
            "The change history is available when you are online."
        } else {
            let action = ids.with_value(|(_, action)| action.clone());
            let shown = trail.with(|t| match t {
                None => Err("Loading the change history…"),
                Some(Err(())) => Err("The change history could not be loaded. Try again later."),
                Some(Ok(records)) => Ok(table(workspace, &action, records)),
            });
            match shown {
                Ok(table) => return table,
                Err(message) => message,
            }
        };
        markup!("<p>{}</p>", message)
    };
    view! {
        <h2>"Change history"</h2>
        {render(html)}
        <button class="nhsuk-button nhsuk-button--secondary" type="button"
            on:click=move |_| load() disabled=move || !reachable.get()>
            "Refresh the change history"
        </button>
    }
}
