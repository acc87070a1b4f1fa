//! The monthly board report, computed in the browser from the local copies
//! of the documents (so it works offline) by `plait_shared::report`, the
//! same code the server's export uses. The browser's "Print" gives a clean
//! board paper: the print stylesheet hides the app's frame and the forms.
//!
//! Markup (see [`crate::markup`]). The paper's cover and words live on the
//! programme with the board paper (`pages::paper`); this page is its
//! appendix of figures. The period a person reads from is remembered on
//! this device.

use leptos::prelude::*;
use plait_shared::api::{address, ExportQuery};
use plait_shared::report::{BoardReport, TrendPoint};
use plait_shared::{Date, Status, UnixMillis};

use crate::browser::{store, stored, today};
use crate::components::brag::{brag_markup, group_table_markup};
use crate::contexts::workspace::use_workspace;
use crate::markup::{link, markup, render, scroll_region, Markup, Render};
use crate::pages::follow_links;
use crate::pages::{Page, PageLink};
use plait_shared::metrics::{labelled, named};

/// Where the start of the reporting period is remembered on this device.
const SINCE_KEY: &str = "plait-report-since";

/// The statuses the trend chart stacks, bottom up, with their bar classes.
const TREND_GROUPS: [(&str, &[Status], &str); 4] = [
    (
        "Open",
        &[
            Status::Draft,
            Status::Agreed,
            Status::InProgress,
            Status::Reopened,
        ],
        "plait-chart__bar--open",
    ),
    (
        "Awaiting assurance",
        &[
            Status::CompletionProposed,
            Status::Endorsed,
            Status::EvidenceAccepted,
        ],
        "plait-chart__bar--assurance",
    ),
    ("Closed", &[Status::Closed], "plait-chart__bar--closed"),
    (
        "Embedded",
        &[Status::Embedded],
        "plait-chart__bar--embedded",
    ),
];

fn group_count(point: &TrendPoint, statuses: &[Status]) -> usize {
    statuses
        .iter()
        .map(|s| point.by_status.get(s).copied().unwrap_or(0))
        .sum()
}

/// The trend as a stacked bar chart (SVG) described for screen readers,
/// with the same numbers in a table.
pub fn trend_markup(points: &[TrendPoint]) -> Markup {
    // Whole numbers only: formatting floats would cost the wasm kilobytes.
    let (width, height, left, bottom) = (640_usize, 240_usize, 40_usize, 24_usize);
    let max = points
        .iter()
        .map(|p| p.by_status.values().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (width - left) / points.len().max(1);
    let bar = slot * 6 / 10;
    let room = height - bottom - 8;
    let summary = points
        .last()
        .map(|p| {
            TREND_GROUPS
                .iter()
                .map(|(name, statuses, _)| format!("{name} {}", group_count(p, statuses)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let mut svg = markup!(
        "<figure class=\"plait-chart\"><svg role=\"img\" aria-labelledby=\"trend-title trend-desc\" \
         viewBox=\"0 0 {} {}\" class=\"plait-chart__svg\">\
         <title id=\"trend-title\">Actions by stage at the end of each month</title>\
         <desc id=\"trend-desc\">Stacked bars per month. This month: {}. The table below gives every number.</desc>\
         <line class=\"plait-chart__axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"></line>\
         <text class=\"plait-chart__label\" x=\"2\" y=\"14\">{}</text>",
        width,
        height,
        summary,
        left,
        height - bottom,
        width,
        height - bottom,
        max
    );
    for (i, point) in points.iter().enumerate() {
        let x = left + slot * i + (slot - bar) / 2;
        let mut stacked = 0;
        for (_, statuses, class) in TREND_GROUPS {
            let count = group_count(point, statuses);
            let top = (stacked + count) * room / max;
            let h = top - stacked * room / max;
            stacked += count;
            svg += markup!(
                "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"></rect>",
                class,
                x,
                height - bottom - top,
                bar,
                h
            );
        }
        svg += markup!(
            "<text class=\"plait-chart__label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            left + slot * i + slot / 2,
            height - 6,
            point.month.get(2..).unwrap_or_default()
        );
    }
    svg += markup!("</svg><figcaption><ul class=\"plait-chart__key\">");
    for (name, _, class) in TREND_GROUPS {
        svg += markup!(
            "<li><span class=\"plait-chart__swatch {}\"></span>{}</li>",
            class,
            name
        );
    }
    svg += markup!("</ul></figcaption></figure>");
    let mut table = markup!(
        "<table class=\"nhsuk-table\" id=\"report-trend\"><caption class=\"nhsuk-table__caption\">Actions by stage at each month's end</caption>\
         <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\"><th scope=\"col\" class=\"nhsuk-table__header\">Month</th>"
    );
    for (name, _, _) in TREND_GROUPS {
        table += markup!(
            "<th scope=\"col\" class=\"nhsuk-table__header plait-num\">{}</th>",
            name
        );
    }
    table += markup!("</tr></thead><tbody class=\"nhsuk-table__body\">");
    for point in points {
        table += markup!(
            "<tr class=\"nhsuk-table__row\"><th scope=\"row\" class=\"nhsuk-table__cell\">{}</th>",
            point.month
        );
        for (_, statuses, _) in TREND_GROUPS {
            table += markup!(
                "<td class=\"nhsuk-table__cell plait-num\">{}</td>",
                group_count(point, statuses)
            );
        }
        table += markup!("</tr>");
    }
    table += markup!("</tbody></table>");
    svg += scroll_region("Actions by stage", table);
    svg
}

/// A table with a visually hidden caption, from rows of cells.
fn table(id: &str, caption: &str, headers: &[&str], rows: &[Vec<Markup>]) -> Markup {
    if rows.is_empty() {
        return markup!("<p>None.</p>");
    }
    let mut html = markup!(
        "<table class=\"nhsuk-table\" id=\"{}\"><caption class=\"nhsuk-table__caption nhsuk-u-visually-hidden\">{}</caption>\
         <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">",
        id,
        caption
    );
    for header in headers {
        html += markup!(
            "<th scope=\"col\" class=\"nhsuk-table__header\">{}</th>",
            header
        );
    }
    html += markup!("</tr></thead><tbody class=\"nhsuk-table__body\">");
    for row in rows {
        html += markup!("<tr class=\"nhsuk-table__row\">");
        for cell in row {
            html += markup!("<td class=\"nhsuk-table__cell\">{}</td>", cell);
        }
        html += markup!("</tr>");
    }
    html += markup!("</tbody></table>");
    scroll_region(caption, html)
}

/// Text (escaped) for a table cell.
fn text(text: impl Render) -> Markup {
    markup!("{}", text)
}

fn report_markup(
    r: &BoardReport,
    name: &dyn Fn(Option<&plait_shared::UserId>) -> String,
    since: Date,
) -> Markup {
    let m = &r.metrics;
    let count = |kind| {
        m.by_kind
            .get(&plait_shared::Group::Of(kind))
            .map_or(0, |c| c.total)
    };
    let action_link =
        |plan: &plait_shared::DocId, action: &plait_shared::ActionId, text: String| {
            let href = crate::pages::href(&crate::pages::Page::Action {
                plan: plan.clone(),
                action: action.clone(),
            });
            link(&href, text)
        };
    let mut html = markup!(
        "<p>As at {}; new since {}.</p><h2>Summary</h2><ul class=\"plait-tiles\" aria-label=\"Headline counts\">\
         <li class=\"plait-tile\"><span class=\"plait-tile__number\" data-count=\"total\">{}</span> actions</li>\
         <li class=\"plait-tile\"><span class=\"plait-tile__number\" data-count=\"must\">{}</span> Must Do</li>\
         <li class=\"plait-tile\"><span class=\"plait-tile__number\" data-count=\"should\">{}</span> Should Do</li>\
         <li class=\"plait-tile\"><span class=\"plait-tile__number\" data-count=\"overdue\">{}</span> overdue</li>\
         <li class=\"plait-tile\"><span class=\"plait-tile__number\" data-count=\"reaudits\">{}</span> re-audits due</li></ul>{}",
        r.today.long(),
        since.long(),
        m.all.total,
        count(plait_shared::FindingKind::MustDo),
        count(plait_shared::FindingKind::ShouldDo),
        m.all.overdue,
        r.reaudits_due,
        crate::pages::findings::requirements_markup(m)
    );
    let statuses: Vec<Vec<Markup>> = m
        .all
        .by_status
        .iter()
        .map(|(s, n)| vec![text(s.label()), text(*n)])
        .collect();
    html += table(
        "report-status",
        "Actions by status",
        &["Status", "Actions"],
        &statuses,
    );
    let colours: Vec<Vec<Markup>> = m
        .all
        .by_colour
        .iter()
        .map(|(c, n)| vec![brag_markup(*c), text(*n)])
        .collect();
    html += table(
        "report-colour",
        "Actions by colour",
        &["Colour", "Actions"],
        &colours,
    );
    // How much the accepted evidence assures, as its validators said.
    let levels: Vec<Vec<Markup>> = m
        .assurance
        .iter()
        .map(|(level, n)| vec![text(level.label()), text(*n)])
        .collect();
    html += table(
        "report-assurance",
        "Assurance given: actions whose evidence is accepted, closed or embedded, by the level their validators recorded",
        &["Assurance level", "Actions"],
        &levels,
    );
    for (caption, heading, groups) in [
        ("Must Do and Should Do", "Kind", labelled(&m.by_kind)),
        ("By workstream", "Workstream", named(&m.by_workstream)),
        (
            "By key question",
            "Key question",
            labelled(&m.by_key_question),
        ),
        ("By core service", "Core service", named(&m.by_core_service)),
        ("By location", "Location", named(&m.by_location)),
    ] {
        html += group_table_markup(caption, heading, &groups);
    }
    html += markup!("<h2>Trend</h2>");
    html += if r.trend.len() < plait_shared::report::TREND_MIN_MONTHS {
        markup!(
            "<p data-testid=\"trend-hidden\">The trend appears once the programme has {} months of history to compare (it has {}): fewer say nothing about its direction.</p>",
            plait_shared::report::TREND_MIN_MONTHS,
            r.trend.len()
        )
    } else {
        trend_markup(&r.trend)
    };
    html += markup!("<h2>Overdue actions ({})</h2>", m.overdue.len());
    let overdue: Vec<Vec<Markup>> = m
        .overdue
        .iter()
        .map(|o| {
            vec![
                action_link(&o.plan, &o.action, format!("{} – {}", o.reference, o.title)),
                text(name(o.owner.as_ref())),
                text(o.days_overdue.to_string()),
                text(o.latest_update.as_deref().unwrap_or("No update recorded")),
            ]
        })
        .collect();
    html += table(
        "report-overdue",
        "Overdue actions, most overdue first, with the latest update",
        &["Action", "Owner", "Days overdue", "Latest update (reason)"],
        &overdue,
    );
    html += markup!(
        "<h2>Extension requests ({})</h2>",
        r.extension_requests.len()
    );
    let requests: Vec<Vec<Markup>> = r
        .extension_requests
        .iter()
        .map(|e| {
            vec![
                action_link(&e.plan, &e.action, format!("{} – {}", e.reference, e.title)),
                text(e.due_original.map(Date::long).unwrap_or_default()),
                text(e.new_due.long()),
                text(&e.reason),
                text(e.answer.map_or("Pending", |a| a.label())),
            ]
        })
        .collect();
    html += table(
        "report-extensions",
        "Due-date change requests",
        &["Action", "Original due", "Asked for", "Reason", "Answer"],
        &requests,
    );
    html += markup!("<h2>Proposed closures ({})</h2>", r.proposed_closures.len());
    let closures: Vec<Vec<Markup>> = r
        .proposed_closures
        .iter()
        .map(|p| {
            vec![
                action_link(&p.plan, &p.action, format!("{} – {}", p.reference, p.title)),
                text(name(p.owner.as_ref())),
                text(p.status.label()),
                text(p.evidence.to_string()),
            ]
        })
        .collect();
    html += table(
        "report-closures",
        "Actions awaiting assurance or closure",
        &["Action", "Owner", "Stage", "Evidence items"],
        &closures,
    );
    html += markup!(
        "<h2>Decisions since {} ({})</h2>",
        since.long(),
        r.decisions.len()
    );
    let decisions: Vec<Vec<Markup>> = r
        .decisions
        .iter()
        .map(|d| {
            vec![
                action_link(&d.plan, &d.action, d.reference.clone()),
                text(&d.decision.forum),
                text(d.decision.meeting_date.long()),
                text(d.decision.outcome.label()),
                text(&d.decision.minute_ref),
            ]
        })
        .collect();
    html += table(
        "report-decisions",
        "Decisions in this period",
        &["Action", "Forum", "Meeting", "Outcome", "Minute"],
        &decisions,
    );
    html
}

/// The board report page.
#[component]
pub fn Report() -> impl IntoView {
    let workspace = use_workspace();
    let since = RwSignal::new(
        stored(SINCE_KEY)
            .and_then(|s| Date::parse_iso(&s).ok())
            .unwrap_or_else(|| UnixMillis(today().unix_millis() - 31 * 86_400_000).date()),
    );
    // "As at" a past day: the report as it stood at that day's end, from
    // the logs (empty: as it is now).
    let as_at_parts = RwSignal::new(crate::components::date_input::DateParts::default());
    let as_at_error = Signal::derive(move || {
        as_at_parts
            .with(|p| p.read("The day to report as at"))
            .err()
    });
    let as_at = Memo::new(move |_| {
        as_at_parts
            .with(|p| p.read("The day to report as at"))
            .ok()
            .flatten()
            .filter(|d| *d < today())
            .map(|d| UnixMillis(d.unix_millis() + 86_400_000 - 1))
    });
    let report = Memo::new(move |_| {
        let programme = workspace.programme_view()?;
        let plans = workspace.plan_views();
        let (plans, day) = match as_at.get() {
            Some(at) => (plait_shared::report::plans_as_at(&plans, at), at.date()),
            None => (plans, today()),
        };
        Some(BoardReport::compute(
            &programme,
            &plans,
            day,
            UnixMillis(since.get().unix_millis()),
            12,
        ))
    });
    // The reporting period starts on a day typed as NHS.UK asks: day,
    // month, year; a real date applies at once.
    let since_parts = RwSignal::new(crate::components::date_input::DateParts::of(Some(
        since.get_untracked(),
    )));
    let since_error = Signal::derive(move || {
        since_parts
            .with(|p| p.read("The day the period starts"))
            .err()
    });
    Effect::new(move |_| {
        if let Ok(Some(date)) = since_parts.with(|p| p.read("The day the period starts")) {
            if date != since.get_untracked() {
                store(SINCE_KEY, &date.iso());
                since.set(date);
            }
        }
    });
    let body = move || match report.get() {
        None => markup!("<p role=\"status\">The programme is not on this device yet.</p>"),
        Some(r) => report_markup(
            &r,
            &|user| {
                user.map(|u| workspace.name_of(u.as_str()))
                    .unwrap_or_default()
            },
            since.get(),
        ),
    };
    let name = move || {
        workspace
            .programme_view()
            .map(|p| p.info.name)
            .unwrap_or_default()
    };
    let programme = workspace
        .programme_id()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let tracker = {
        let programme = programme.clone();
        move |format: &str| {
            address::programme_export(
                &programme,
                &ExportQuery {
                    format: Some(format.to_owned()),
                    ..Default::default()
                },
            )
        }
    };
    let export = move |format: &'static str| {
        let programme = programme.clone();
        move || {
            address::report(
                &programme,
                &ExportQuery {
                    format: Some(format.to_owned()),
                    since: Some(since.get().unix_millis()),
                    as_at: as_at.get().map(|at| at.0),
                    ..Default::default()
                },
            )
        }
    };
    let print = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.print();
        }
    };
    view! {
        <h1>"Board report"</h1>
        <p class="nhsuk-lede-text">{name}</p>
        <p class="plait-no-print">"This is the appendix of figures. The board paper itself (its cover, summary and main body, stored on the programme) is written from a meeting: "<PageLink page=Page::Meetings>"Meetings"</PageLink>"."</p>
        <div class="plait-no-print">
            <crate::components::date_input::DateInput id="report-since"
                legend="New since (the last report's date)" value=since_parts error=since_error />
            <crate::components::date_input::DateInput id="report-as-at"
                legend="As at (leave empty for today)"
                hint="A past day: the report as it stood at its end, from the logs (texts, owners and confidence as they are now)"
                value=as_at_parts error=as_at_error />
        </div>
        {move || as_at.get().map(|at| view! {
            <div class="nhsuk-inset-text" data-testid="as-at"><p>{format!("As it stood at the end of {}, from the logs.", at.date().long())}</p></div>
        })}
        <div class="plait-buttons plait-no-print">
            <button type="button" class="nhsuk-button" on:click=print>"Print or save as PDF"</button>
            <a class="nhsuk-button nhsuk-button--secondary" href=export("xlsx") download="">"Download the tables (Excel)"</a>
            <a class="nhsuk-button nhsuk-button--secondary" href=export("csv") download="">"Download the tables (CSV)"</a>
        </div>
        <p class="plait-no-print">
            "The master tracker (every action of every plan, in the layout imports read): "
            <a href=tracker("xlsx") download="">"Excel"</a>" or "<a href=tracker("csv") download="">"CSV"</a>"."
        </p>
        <div on:click=|ev| follow_links(&ev)>{render(body)}</div>
    }
}
