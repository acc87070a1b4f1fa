//! The programme overview: the programme's facts (trust, CQC rating,
//! oversight segment, phases), BRAG counts, Must vs Should, overdue, the
//! counts by workstream and key question from the `shared` metrics, and
//! each plan with its downloads.

use leptos::prelude::*;
use plait_shared::metrics::{labelled, named};
use plait_shared::{FindingKind, Group, ProgrammeMetrics, ProgrammeView};

use crate::browser::today;
use crate::components::brag::{brag_markup, group_table_markup};
use crate::contexts::session::use_session;
use crate::contexts::workspace::use_workspace;
use crate::markup::{download_link, link, markup, render, scroll_region, Markup};
use crate::pages::follow_links;

/// Computes the metrics of everything in the workspace (tracks changes).
pub fn use_metrics() -> Memo<Option<ProgrammeMetrics>> {
    let workspace = use_workspace();
    Memo::new(move |_| {
        let programme = workspace.programme_view()?;
        let plans = workspace.plan_views();
        Some(ProgrammeMetrics::compute(&programme, &plans, today()))
    })
}

/// The programme's facts and phases, as a summary list.
fn facts_markup(programme: &ProgrammeView) -> Markup {
    let info = &programme.info;
    let mut rows: Vec<(String, Markup)> = [
        ("Trust", &info.trust),
        ("CQC rating", &info.rating),
        ("Oversight segment", &info.oversight_segment),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(key, value)| (key.to_owned(), markup!("{}", value)))
    .collect();
    let mut phases: Vec<_> = programme.phases.values().collect();
    phases.sort_by(|a, b| a.starts.cmp(&b.starts).then_with(|| a.name.cmp(&b.name)));
    for phase in phases {
        let dates = match (phase.starts, phase.ends) {
            (Some(s), Some(e)) => format!("{} to {}", s.long(), e.long()),
            (Some(s), None) => format!("from {}", s.long()),
            (None, Some(e)) => format!("until {}", e.long()),
            (None, None) => String::new(),
        };
        let mut value = Markup::new();
        for line in [dates.as_str(), phase.goal.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
        {
            if !value.is_empty() {
                value += markup!("<br>");
            }
            value.push(line);
        }
        rows.push((phase.name.clone(), value));
    }
    let ready = plait_shared::phase2::readiness(programme);
    if ready.total > 0 {
        rows.push((
            "Exit criteria".to_owned(),
            crate::markup::link(
                &crate::pages::href(&crate::pages::Page::ExitCriteria),
                format!(
                    "{} of {} met; {} partly met",
                    ready.met, ready.total, ready.partly
                ),
            ),
        ));
    }
    if rows.is_empty() {
        return Markup::new();
    }
    let mut html = markup!("<dl class=\"nhsuk-summary-list\" aria-label=\"The programme\">");
    for (key, value) in rows {
        html += markup!(
            "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">{}</dt>\
             <dd class=\"nhsuk-summary-list__value\">{}</dd></div>",
            key,
            value
        );
    }
    html += markup!("</dl>");
    html
}

/// Each plan, with its action count and its downloads (the import layout,
/// so a plan edited in a spreadsheet imports again).
fn plans_markup(
    programme: &ProgrammeView,
    counts: &std::collections::BTreeMap<plait_shared::DocId, usize>,
) -> Markup {
    let mut html = markup!(
        "<table class=\"nhsuk-table\"><caption class=\"nhsuk-table__caption nhsuk-u-visually-hidden\">Plans and their downloads</caption>\
         <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">\
         <th scope=\"col\" class=\"nhsuk-table__header\">Plan</th>\
         <th scope=\"col\" class=\"nhsuk-table__header plait-num\">Actions</th>\
         <th scope=\"col\" class=\"nhsuk-table__header\">Download</th></tr></thead><tbody class=\"nhsuk-table__body\">"
    );
    for (id, plan) in &programme.plans {
        let actions = counts.get(id).copied().unwrap_or(0);
        let download = |format: &str, name: &str| {
            download_link(
                &plait_shared::api::address::plan_export(
                    id,
                    &plait_shared::api::ExportQuery {
                        format: Some(format.to_owned()),
                        ..Default::default()
                    },
                ),
                markup!(
                    "{}<span class=\"nhsuk-u-visually-hidden\"> ({})</span>",
                    name,
                    plan.title
                ),
            )
        };
        html += markup!(
            "<tr class=\"nhsuk-table__row\"><th scope=\"row\" class=\"nhsuk-table__cell\">{}</th>\
             <td class=\"nhsuk-table__cell plait-num\">{}</td>\
             <td class=\"nhsuk-table__cell\">{} · {}</td></tr>",
            plan.title,
            actions,
            download("xlsx", "Excel"),
            download("csv", "CSV")
        );
    }
    html += markup!("</tbody></table>");
    markup!("<h2>Plans</h2>{}", scroll_region("Plans", html))
}

/// The overview's markup, from the metrics.
fn overview_markup(name: &str, m: &ProgrammeMetrics) -> Markup {
    let count = |kind| m.by_kind.get(&Group::Of(kind)).map_or(0, |c| c.total);
    let must = count(FindingKind::MustDo);
    let should = count(FindingKind::ShouldDo);
    let tile = |n: usize, what: &str| {
        markup!(
            "<li class=\"plait-tile\"><span class=\"plait-tile__number\">{}</span> {}</li>",
            n,
            what
        )
    };
    let mut html = markup!("<p class=\"nhsuk-lede-text\">{}</p>", name);
    html += markup!("<ul class=\"plait-tiles\" aria-label=\"Headline counts\">");
    html += tile(m.all.total, "actions");
    html += tile(must, "Must Do");
    html += tile(should, "Should Do");
    html += markup!(
        "<li class=\"plait-tile\">{}</li></ul>",
        link(
            &crate::pages::href(&crate::pages::Page::Actions),
            markup!(
                "<span class=\"plait-tile__number\">{}</span> overdue",
                m.all.overdue
            )
        )
    );
    html += crate::pages::findings::requirements_markup(m);
    let small_table = |title: &str, caption: &str, heading: &str, rows: Vec<(Markup, usize)>| {
        let mut html = markup!(
            "<table class=\"nhsuk-table\">\
             <caption class=\"nhsuk-table__caption nhsuk-u-visually-hidden\">{}</caption>\
             <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">\
             <th scope=\"col\" class=\"nhsuk-table__header\">{}</th>\
             <th scope=\"col\" class=\"nhsuk-table__header plait-num\">Actions</th>\
             </tr></thead><tbody class=\"nhsuk-table__body\">",
            caption,
            heading
        );
        for (label, n) in rows {
            html += markup!(
                "<tr class=\"nhsuk-table__row\"><th scope=\"row\" class=\"nhsuk-table__cell\">{}</th>\
                 <td class=\"nhsuk-table__cell plait-num\">{}</td></tr>",
                label,
                n
            );
        }
        html += markup!("</tbody></table>");
        markup!("<h2>{}</h2>{}", title, scroll_region(caption, html))
    };
    html += small_table(
        "By colour (BRAG)",
        "Actions by colour",
        "Colour",
        m.all
            .by_colour
            .iter()
            .map(|(c, n)| (brag_markup(*c), *n))
            .collect(),
    );
    html += small_table(
        "By status",
        "Actions by status",
        "Status",
        m.all
            .by_status
            .iter()
            .map(|(s, n)| (markup!("{}", s.label()), *n))
            .collect(),
    );
    html += markup!("<h2>By workstream</h2>");
    html += group_table_markup(
        "Actions by workstream",
        "Workstream",
        &named(&m.by_workstream),
    );
    html += markup!("<h2>By key question</h2>");
    html += group_table_markup(
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
            markup!("<p role=\"status\">Loading the programme from this device…</p>")
        }
        None => markup!(
            "<p role=\"status\">There is no copy of the programme on this device yet. \
             It will appear once this device is online.</p>"
        ),
        Some(m) => {
            let programme = workspace.programme_view().unwrap_or_default();
            let facts = facts_markup(&programme);
            let counts = workspace
                .plan_views()
                .into_iter()
                .map(|(id, plan)| (id, plan.actions.len()))
                .collect();
            let plans = plans_markup(&programme, &counts);
            let overview = overview_markup(&programme.info.name, &m);
            markup!("{}{}{}", facts, overview, plans)
        }
    };
    view! {
        <h1>"Programme overview"</h1>
        <ClosedBanner />
        <div on:click=|ev| follow_links(&ev)>{render(html)}</div>
        <Archive />
    }
}

/// Says the programme is closed: an archive, read-only for everyone.
#[component]
fn ClosedBanner() -> impl IntoView {
    let session = use_session();
    let workspace = use_workspace();
    let closed = move || {
        workspace
            .programme_id()
            .is_some_and(|p| session.account.with(|a| a.is_closed(p.as_str())))
    };
    move || {
        closed().then(|| view! {
            <div class="nhsuk-inset-text" data-testid="programme-closed">
                <span class="nhsuk-u-visually-hidden">"Information: "</span>
                <p>"This programme is closed and archived. Everyone can read it; nothing in it can be changed."</p>
            </div>
        })
    }
}

/// For the programme's admin: its archive to download, and closing it.
#[component]
fn Archive() -> impl IntoView {
    let session = use_session();
    let workspace = use_workspace();
    let problem = RwSignal::new(None::<String>);
    let programme = move || workspace.programme_id();
    let admin = move || {
        programme().is_some_and(|p| {
            session.account.with(|a| {
                a.granted_role_in(p.as_str())
                    .is_some_and(plait_shared::access::administers)
            })
        })
    };
    let closed =
        move || programme().is_some_and(|p| session.account.with(|a| a.is_closed(p.as_str())));
    let close = move |_| {
        let Some(id) = programme() else { return };
        let csrf = session.account.with_untracked(|a| a.csrf.clone());
        wasm_bindgen_futures::spawn_local(async move {
            match crate::api::close_programme(&id, &csrf).await {
                Ok(()) => {
                    if let Ok(account) = crate::api::me().await {
                        account.remember();
                        session.account.try_set(account);
                    }
                }
                Err(e) => {
                    problem.try_set(Some(crate::api::reason(&e)));
                }
            }
        });
    };
    move || {
        let id = programme().filter(|_| admin())?;
        let archive = plait_shared::api::address::programme_archive(&id);
        Some(view! {
            <h2>"Archive"</h2>
            <p>
                <a href=archive download>"Download the programme's archive (ZIP)"</a>
                ": the master tracker, the audit trail as CSV, every document and evidence file, for the trust's records."
            </p>
            {(!closed()).then(|| view! {
                <details class="nhsuk-details">
                    <summary class="nhsuk-details__summary">
                        <span class="nhsuk-details__summary-text">"Close the programme"</span>
                    </summary>
                    <div class="nhsuk-details__text">
                        <p>"When the programme has ended, close it: it becomes an archive. Everyone can still read it; nobody can change anything in it again. Download the archive first for the trust's records."</p>
                        {move || problem.get().map(|p| view! { <p class="nhsuk-error-message">{p}</p> })}
                        <button class="nhsuk-button nhsuk-button--warning" type="button" on:click=close>
                            "Close and archive the programme"
                        </button>
                    </div>
                </details>
            })}
        })
    }
}
