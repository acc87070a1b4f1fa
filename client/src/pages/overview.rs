//! The programme overview: BRAG counts, Must vs Should, overdue, and the
//! counts by workstream and key question, from the `shared` metrics.

use std::collections::BTreeMap;

use leptos::prelude::*;
use plait_shared::{Colour, Counts, ProgrammeMetrics, Status, UnixMillis};

use crate::contexts::workspace::use_workspace;
use crate::pages::{Page, PageLink};

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

#[component]
fn GroupTable(
    caption: &'static str,
    heading: &'static str,
    groups: BTreeMap<String, Counts>,
) -> impl IntoView {
    let colours = [
        Colour::Red,
        Colour::Amber,
        Colour::Green,
        Colour::Blue,
        Colour::BlueEmbedded,
        Colour::Grey,
    ];
    view! {
        <table class="nhsuk-table">
            <caption class="nhsuk-table__caption">{caption}</caption>
            <thead class="nhsuk-table__head">
                <tr class="nhsuk-table__row">
                    <th scope="col" class="nhsuk-table__header">{heading}</th>
                    <th scope="col" class="nhsuk-table__header plait-num">"Actions"</th>
                    {colours
                        .iter()
                        .map(|c| view! { <th scope="col" class="nhsuk-table__header plait-num">{c.label()}</th> })
                        .collect_view()}
                    <th scope="col" class="nhsuk-table__header plait-num">"Overdue"</th>
                </tr>
            </thead>
            <tbody class="nhsuk-table__body">
                {groups
                    .into_iter()
                    .map(|(name, counts)| {
                        view! {
                            <tr class="nhsuk-table__row">
                                <th scope="row" class="nhsuk-table__cell">{name}</th>
                                <td class="nhsuk-table__cell plait-num">{counts.total}</td>
                                {colours
                                    .iter()
                                    .map(|c| view! { <td class="nhsuk-table__cell plait-num">{counts.by_colour.get(c).copied().unwrap_or(0)}</td> })
                                    .collect_view()}
                                <td class="nhsuk-table__cell plait-num">{counts.overdue}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The overview page.
#[component]
pub fn Overview() -> impl IntoView {
    let workspace = use_workspace();
    let metrics = use_metrics();
    let name = move || {
        workspace
            .programme_view()
            .map(|p| p.info.name)
            .unwrap_or_default()
    };
    view! {
        <h1>"Programme overview"</h1>
        {move || match metrics.get() {
            None if !workspace.ready.get() => view! { <p role="status">"Loading the programme from this device…"</p> }.into_any(),
            None => view! {
                <p role="status">"There is no copy of the programme on this device yet. It will appear once this device is online."</p>
            }.into_any(),
            Some(m) => {
                let brag: Vec<(Colour, usize)> = m.all.by_colour.iter().map(|(c, n)| (*c, *n)).collect();
                let statuses: Vec<(Status, usize)> = m.all.by_status.iter().map(|(s, n)| (*s, *n)).collect();
                let must = m.by_kind.get("Must Do").map_or(0, |c| c.total);
                let should = m.by_kind.get("Should Do").map_or(0, |c| c.total);
                view! {
                    <p class="nhsuk-lede-text">{name()}</p>
                    <ul class="plait-tiles" aria-label="Headline counts">
                        <li class="plait-tile"><span class="plait-tile__number">{m.all.total}</span>" actions"</li>
                        <li class="plait-tile"><span class="plait-tile__number">{must}</span>" Must Do"</li>
                        <li class="plait-tile"><span class="plait-tile__number">{should}</span>" Should Do"</li>
                        <li class="plait-tile">
                            <PageLink page=Page::Actions>
                                <span class="plait-tile__number">{m.all.overdue}</span>" overdue"
                            </PageLink>
                        </li>
                    </ul>
                    <h2>"By colour (BRAG)"</h2>
                    <table class="nhsuk-table">
                        <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">"Actions by colour"</caption>
                        <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                            <th scope="col" class="nhsuk-table__header">"Colour"</th>
                            <th scope="col" class="nhsuk-table__header plait-num">"Actions"</th>
                        </tr></thead>
                        <tbody class="nhsuk-table__body">
                            {brag.into_iter().map(|(colour, n)| view! {
                                <tr class="nhsuk-table__row">
                                    <th scope="row" class="nhsuk-table__cell"><Brag colour /></th>
                                    <td class="nhsuk-table__cell plait-num">{n}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <h2>"By status"</h2>
                    <table class="nhsuk-table">
                        <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">"Actions by status"</caption>
                        <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                            <th scope="col" class="nhsuk-table__header">"Status"</th>
                            <th scope="col" class="nhsuk-table__header plait-num">"Actions"</th>
                        </tr></thead>
                        <tbody class="nhsuk-table__body">
                            {statuses.into_iter().map(|(status, n)| view! {
                                <tr class="nhsuk-table__row">
                                    <th scope="row" class="nhsuk-table__cell">{status.label()}</th>
                                    <td class="nhsuk-table__cell plait-num">{n}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <h2>"By workstream"</h2>
                    <GroupTable caption="Actions by workstream" heading="Workstream" groups=m.by_workstream.clone() />
                    <h2>"By key question"</h2>
                    <GroupTable caption="Actions by key question" heading="Key question" groups=m.by_key_question.clone() />
                }.into_any()
            }
        }}
    }
}
