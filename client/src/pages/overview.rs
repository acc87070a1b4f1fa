//! The programme overview: BRAG counts, Must vs Should, overdue, and the
//! counts by workstream and key question, from the `shared` metrics.

use leptos::prelude::*;
use plait_shared::metrics::{labelled, named};
use plait_shared::{Colour, Counts, FindingKind, Group, ProgrammeMetrics, UnixMillis};
use wasm_bindgen::JsCast;

use crate::contexts::workspace::use_workspace;
use crate::markup::escape;
use crate::pages::{navigate, Page};

/// Today, in the browser's clock.
pub fn today() -> plait_shared::Date {
    UnixMillis(js_sys::Date::now() as i64).date()
}

/// Computes the metrics of everything in the workspace (tracks changes).
pub fn use_metrics() -> Memo<Option<ProgrammeMetrics>> {
    let workspace = use_workspace();
    Memo::new(move |_| {
        let programme = workspace.programme_view()?;
        let plans = workspace.plan_views();
        Some(ProgrammeMetrics::compute(&programme, &plans, today()))
    })
}

fn colour_class(colour: Colour) -> &'static str {
    match colour {
        Colour::Red => "plait-brag plait-brag--red",
        Colour::Amber => "plait-brag plait-brag--amber",
        Colour::Green => "plait-brag plait-brag--green",
        Colour::Blue => "plait-brag plait-brag--blue",
        Colour::BlueEmbedded => "plait-brag plait-brag--blue-embedded",
        Colour::Grey => "plait-brag plait-brag--grey",
    }
}

/// A colour's swatch with its name, so colour is never the only cue.
#[component]
pub fn Brag(colour: Colour) -> impl IntoView {
    view! { <span class=colour_class(colour)>{colour.label()}</span> }
}

const COLOURS: [Colour; 6] = [
    Colour::Red,
    Colour::Amber,
    Colour::Green,
    Colour::Blue,
    Colour::BlueEmbedded,
    Colour::Grey,
];

/// A colour's swatch with its name, as markup.
pub fn brag_markup(colour: Colour) -> String {
    format!(
        "<span class=\"{}\">{}</span>",
        colour_class(colour),
        colour.label()
    )
}

/// A table of counts by group (workstream, key question…), as markup.
pub fn group_table_markup(caption: &str, heading: &str, groups: &[(&str, &Counts)]) -> String {
    let number = |n: usize| format!("<td class=\"nhsuk-table__cell plait-num\">{n}</td>");
    let mut html = format!(
        "<table class=\"nhsuk-table\"><caption class=\"nhsuk-table__caption\">{}</caption>\
         <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">\
         <th scope=\"col\" class=\"nhsuk-table__header\">{}</th>\
         <th scope=\"col\" class=\"nhsuk-table__header plait-num\">Actions</th>",
        escape(caption),
        escape(heading)
    );
    for colour in COLOURS {
        html += &format!(
            "<th scope=\"col\" class=\"nhsuk-table__header plait-num\">{}</th>",
            colour.label()
        );
    }
    html += "<th scope=\"col\" class=\"nhsuk-table__header plait-num\">Overdue</th></tr></thead>\
             <tbody class=\"nhsuk-table__body\">";
    for (name, counts) in groups.iter().copied() {
        html += &format!(
            "<tr class=\"nhsuk-table__row\"><th scope=\"row\" class=\"nhsuk-table__cell\">{}</th>",
            escape(name)
        );
        html += &number(counts.total);
        for colour in COLOURS {
            html += &number(counts.by_colour.get(&colour).copied().unwrap_or(0));
        }
        html += &number(counts.overdue);
        html += "</tr>";
    }
    html + "</tbody></table>"
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
