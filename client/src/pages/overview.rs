//! The programme overview: BRAG counts, Must vs Should, overdue, and the
//! counts by workstream and key question, from the `shared` metrics.

use leptos::prelude::*;
use plait_shared::metrics::{labelled, named};
use plait_shared::{FindingKind, Group, ProgrammeMetrics};
use wasm_bindgen::JsCast;

use crate::browser::today;
use crate::components::brag::{brag_markup, group_table_markup};
use crate::contexts::workspace::use_workspace;
use crate::markup::escape;
use crate::pages::{navigate, Page};

/// Computes the metrics of everything in the workspace (tracks changes).
pub fn use_metrics() -> Memo<Option<ProgrammeMetrics>> {
    let workspace = use_workspace();
    Memo::new(move |_| {
        let programme = workspace.programme_view()?;
        let plans = workspace.plan_views();
        Some(ProgrammeMetrics::compute(&programme, &plans, today()))
    })
}

/// The overview's markup, from the metrics.
fn overview_markup(name: &str, m: &ProgrammeMetrics) -> String {
    let count = |kind| m.by_kind.get(&Group::Of(kind)).map_or(0, |c| c.total);
    let must = count(FindingKind::MustDo);
    let should = count(FindingKind::ShouldDo);
    let tile = |n: usize, what: &str| {
        format!(
            "<li class=\"plait-tile\"><span class=\"plait-tile__number\">{n}</span> {what}</li>"
        )
    };
    let mut html = format!("<p class=\"nhsuk-lede-text\">{}</p>", escape(name));
    html += "<ul class=\"plait-tiles\" aria-label=\"Headline counts\">";
    html += &tile(m.all.total, "actions");
    html += &tile(must, "Must Do");
    html += &tile(should, "Should Do");
    html += &format!(
        "<li class=\"plait-tile\"><a href=\"/actions\"><span class=\"plait-tile__number\">{}</span> overdue</a></li></ul>",
        m.all.overdue
    );
    let small_table = |title: &str, caption: &str, heading: &str, rows: Vec<(String, usize)>| {
        let mut html = format!(
            "<h2>{title}</h2><table class=\"nhsuk-table\">\
             <caption class=\"nhsuk-table__caption nhsuk-u-visually-hidden\">{caption}</caption>\
             <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">\
             <th scope=\"col\" class=\"nhsuk-table__header\">{heading}</th>\
             <th scope=\"col\" class=\"nhsuk-table__header plait-num\">Actions</th>\
             </tr></thead><tbody class=\"nhsuk-table__body\">"
        );
        for (label, n) in rows {
            html += &format!(
                "<tr class=\"nhsuk-table__row\"><th scope=\"row\" class=\"nhsuk-table__cell\">{label}</th>\
                 <td class=\"nhsuk-table__cell plait-num\">{n}</td></tr>"
            );
        }
        html + "</tbody></table>"
    };
    html += &small_table(
        "By colour (BRAG)",
        "Actions by colour",
        "Colour",
        m.all
            .by_colour
            .iter()
            .map(|(c, n)| (brag_markup(*c), *n))
            .collect(),
    );
    html += &small_table(
        "By status",
        "Actions by status",
        "Status",
        m.all
            .by_status
            .iter()
            .map(|(s, n)| (s.label().to_owned(), *n))
            .collect(),
    );
    html += "<h2>By workstream</h2>";
    html += &group_table_markup(
        "Actions by workstream",
        "Workstream",
        &named(&m.by_workstream),
    );
    html += "<h2>By key question</h2>";
    html += &group_table_markup(
        "Actions by key question",
        "Key question",
        &labelled(&m.by_key_question),
    );
    html
}

/// The overview page. Its tables are markup (see [`crate::markup`]); the
/// link to the action list navigates in the app.
#[component]
pub fn Overview() -> impl IntoView {
    let workspace = use_workspace();
    let metrics = use_metrics();
    let html = move || match metrics.get() {
        None if !workspace.ready.get() => {
            "<p role=\"status\">Loading the programme from this device…</p>".to_owned()
        }
        None => "<p role=\"status\">There is no copy of the programme on this device yet. \
                 It will appear once this device is online.</p>"
            .to_owned(),
        Some(m) => {
            let name = workspace
                .programme_view()
                .map(|p| p.info.name)
                .unwrap_or_default();
            overview_markup(&name, &m)
        }
    };
    let follow = move |ev: leptos::ev::MouseEvent| {
        let link = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[href='/actions']").ok().flatten());
        if link.is_some() && ev.button() == 0 && !ev.ctrl_key() && !ev.meta_key() && !ev.shift_key()
        {
            ev.prevent_default();
            navigate(Page::Actions);
        }
    };
    view! {
        <h1>"Programme overview"</h1>
        <div inner_html=html on:click=follow></div>
    }
}
