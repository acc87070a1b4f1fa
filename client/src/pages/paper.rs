//! The board paper for a meeting: a cover, the executive summary, a main
//! body of a few printed pages computed by `plait_shared::paper`, and
//! appendix A (the full lists, printed after the paper on pages of their
//! own unless left out) with appendix B (the master tracker, Excel). The
//! words are stored on the programme (not in a browser); issuing is the
//! server's, which freezes words and figures as a version, so an issued
//! version shows what the meeting was sent, with a switch to see it as it
//! is now. Printed from the browser: A4, the paper's meeting and page
//! numbers on every page, no link addresses.

use leptos::prelude::*;
use plait_shared::paper::{
    body_for, draft_summary, ClosureRow, Exception, IssuedPaper, PaperBody, ReauditRow,
};
use plait_shared::{Colour, MeetingId, Paper};

use crate::browser::{now, today};
use crate::components::form::{Saved, TextArea, TextField};
use crate::contexts::session::use_session;
use crate::contexts::workspace::use_workspace;
use crate::pages::{Page, PageLink};

/// The custom property the printed page header shows.
const PRINT_TITLE: &str = "--plait-print-title";

/// The colours a board reads, in its order.
const COLOURS: [Colour; 5] = [
    Colour::Red,
    Colour::Amber,
    Colour::Green,
    Colour::Blue,
    Colour::BlueEmbedded,
];

/// A table with a caption, headers and rows of text.
fn table(caption: &str, headers: &[&str], rows: Vec<Vec<String>>) -> impl IntoView {
    let (label, caption) = (caption.to_owned(), caption.to_owned());
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    view! {
        <div class="plait-scroll" role="region" aria-label=label tabindex="0">
            <table class="nhsuk-table plait-paper__table">
                <caption class="nhsuk-table__caption">{caption}</caption>
                <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                    {headers.into_iter().map(|h| view! { <th scope="col" class="nhsuk-table__header">{h}</th> }).collect_view()}
                </tr></thead>
                <tbody class="nhsuk-table__body">
                    {rows.into_iter().map(|row| view! {
                        <tr class="nhsuk-table__row">
                            {row.into_iter().map(|c| view! { <td class="nhsuk-table__cell">{c}</td> }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// "85 closures; the latest 12 below, the rest in appendix A."
fn more(all: usize, shown: usize, what: &str, order: &str) -> String {
    if all > shown {
        format!("{all} {what}; {order}, {shown} below, the rest in appendix A.")
    } else {
        format!("{all} {what}.")
    }
}

fn signed(n: i64) -> String {
    match n {
        0 => "0".into(),
        n if n > 0 => format!("+{n}"),
        n => n.to_string(),
    }
}

fn exception_rows(rows: &[Exception], name: &dyn Fn(&str) -> String) -> Vec<Vec<String>> {
    rows.iter()
        .map(|e| {
            vec![
                format!("{} – {}", e.reference, e.title),
                name(&e.lead),
                if e.days_overdue > 0 {
                    format!("{} days", e.days_overdue)
                } else {
                    e.confidence
                        .map(|c| c.label().to_owned())
                        .unwrap_or_default()
                },
                e.reason.clone(),
                e.revised.map(|d| d.long()).unwrap_or_default(),
            ]
        })
        .collect()
}

fn closure_rows(rows: &[ClosureRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|c| {
            vec![
                c.reference.clone(),
                c.forum.clone(),
                c.meeting_date.long(),
                c.level.clone(),
            ]
        })
        .collect()
}

fn reaudit_rows(rows: &[ReauditRow], name: &dyn Fn(&str) -> String) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            vec![
                r.reference.clone(),
                if r.passed {
                    "Passed".into()
                } else {
                    "Failed".into()
                },
                r.note.clone(),
                name(r.by.as_str()),
            ]
        })
        .collect()
}

const EXCEPTION_HEADERS: [&str; 5] = [
    "Action",
    "Executive lead",
    "Overdue",
    "Reason (latest update)",
    "Revised date asked",
];
const CLOSURE_HEADERS: [&str; 4] = ["Action", "Forum", "Meeting", "Assurance"];
const REAUDIT_HEADERS: [&str; 4] = ["Action", "Result", "Found", "By"];

/// Appendix A: the full lists, printed after the main paper on a page of
/// their own.
fn appendix_view(body: &PaperBody, name: &dyn Fn(&str) -> String) -> impl IntoView {
    let a = &body.appendix;
    let extensions = a
        .extensions
        .iter()
        .map(|e| {
            vec![
                format!("{} – {}", e.reference, e.title),
                e.due.map(|d| d.long()).unwrap_or_default(),
                e.asked.long(),
                e.reason.clone(),
            ]
        })
        .collect();
    view! {
        <h2 id="appendix-a">"Appendix A: the full lists"</h2>
        <h3>{format!("A1. Every action overdue or off track ({})", a.exceptions.len())}</h3>
        {table("Overdue or off track, most overdue first (all)", &EXCEPTION_HEADERS, exception_rows(&a.exceptions, name))}
        <h3>{format!("A2. Extensions asked for, not answered yet ({})", a.extensions.len())}</h3>
        {table("Later due dates asked for", &["Action", "Due", "Date asked for", "Why"], extensions)}
        <h3>{format!("A3. Every closure approved since the last paper ({})", a.closures.len())}</h3>
        {table("Closures approved, with the assurance given (all)", &CLOSURE_HEADERS, closure_rows(&a.closures))}
        <h3>{format!("A4. Every re-audit since the last paper ({})", a.reaudits.len())}</h3>
        {table("Re-audit results (all)", &REAUDIT_HEADERS, reaudit_rows(&a.reaudits, name))}
    }
}

/// The computed body, as tables.
fn body_view(body: &PaperBody, name: &dyn Fn(&str) -> String) -> impl IntoView {
    let requirements = body
        .requirements
        .iter()
        .map(|(kind, c)| {
            vec![
                kind.label().to_owned(),
                c.total.to_string(),
                c.met.to_string(),
                c.embedded.to_string(),
            ]
        })
        .collect();
    let failings = body
        .failings
        .iter()
        .map(|f| {
            let state = match &f.lifted {
                Some((day, letter)) => format!("Lifted {} ({letter})", day.long()),
                None => f.progress.label().to_owned(),
            };
            vec![
                f.reference.clone(),
                f.deadline.map(|d| d.long()).unwrap_or_default(),
                state,
            ]
        })
        .collect();
    let phases = body
        .phases
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.ends.map(|d| d.long()).unwrap_or_default(),
                format!("{} of {}", p.closed, p.total),
                p.overdue.to_string(),
                p.exit_criteria.clone(),
            ]
        })
        .collect();
    let mut colour_headers = vec!["Workstream"];
    colour_headers.extend(COLOURS.iter().map(|c| c.label()));
    let workstreams = body
        .workstreams
        .iter()
        .map(|w| {
            let mut row = vec![w.name.clone()];
            row.extend(COLOURS.iter().map(|c| {
                let n = w.colours.get(c).copied().unwrap_or(0);
                match w.change.as_ref().and_then(|ch| ch.get(c)) {
                    Some(d) => format!("{n} ({})", signed(*d)),
                    None => n.to_string(),
                }
            }));
            row
        })
        .collect();
    let exceptions = exception_rows(&body.exceptions, name);
    let closures = closure_rows(&body.closures);
    let reaudits = reaudit_rows(&body.reaudits, name);
    view! {
        <h2>"1. CQC's requirements met"</h2>
        {table("Requirements met, by kind", &["Kind", "Requirements", "Met", "Embedded"], requirements)}
        <h2>"2. The warning notice"</h2>
        {table("Each failing against CQC's deadline", &["Failing", "CQC's deadline", "Where it stands"], failings)}
        <h2>"3. Phases and exit criteria"</h2>
        {table("Each phase's actions closed and overdue", &["Phase", "Ends", "Actions closed", "Overdue", "Exit criteria"], phases)}
        <h2>"4. Colours by workstream"</h2>
        {table("Actions by colour, with the change since the last paper in brackets", &colour_headers, workstreams)}
        <h2>"5. The top exceptions"</h2>
        <p>{format!("{} actions are overdue or off track; the {} most overdue:", body.exceptions_in_all, body.exceptions.len())}</p>
        {table("Overdue or off track, most overdue first", &EXCEPTION_HEADERS, exceptions)}
        <h2>"6. Closures approved since the last paper"</h2>
        <p>{more(body.closures_in_all, body.closures.len(), "closures", "the latest")}</p>
        {table("Closures approved, with the assurance given", &CLOSURE_HEADERS, closures)}
        <h2>"7. Re-audits since the last paper"</h2>
        <p>{format!("{} action(s) stand reopened. ", body.reopened)}{more(body.reaudits_in_all, body.reaudits.len(), "re-audits", "the failures first")}</p>
        {table("Re-audit results", &REAUDIT_HEADERS, reaudits)}
        {(!body.phase2.is_empty()).then(|| phase_two_view(&body.phase2))}
    }
}

/// Section 8: phase 2's aims, its measures with their SPC charts and
/// icons, the change ideas adopted and the exit criteria met.
fn phase_two_view(p: &plait_shared::paper::PhaseTwoSection) -> impl IntoView {
    use crate::components::spc_chart::{described, svg};
    let aims = p
        .aims
        .iter()
        .map(|a| {
            vec![
                a.text.clone(),
                a.amount.clone(),
                a.by.map(|d| d.long()).unwrap_or_default(),
                format!("{} of {} tested, {} adopted", a.tested, a.ideas, a.adopted),
            ]
        })
        .collect();
    let measures = p
        .measures
        .iter()
        .enumerate()
        .map(|(n, m)| {
            let words = described(&m.target, &m.periods, &m.chart);
            let icons = format!(
                "{}{}",
                m.chart.variation.map(|v| v.label().to_owned()).unwrap_or_else(|| "Too few values to judge".to_owned()),
                m.chart.assurance.map(|a| format!(". {}", a.label())).unwrap_or_default(),
            );
            let kind = m.kind.map(|k| format!("{} measure", k.label())).unwrap_or_default();
            view! {
                <div class="plait-paper__measure" data-testid="paper-measure">
                    <h3>{format!("8.{} {}", n + 2, m.name)}</h3>
                    <p class="nhsuk-body-s">{kind}{(!m.unit.is_empty()).then(|| format!(", {}", m.unit))}</p>
                    {svg(&m.name, &m.target, &m.chart, format!("paper-spc-title-{n}"), format!("paper-spc-desc-{n}"), words)}
                    <p><strong>{icons}</strong></p>
                </div>
            }
        })
        .collect_view();
    let adopted: Vec<Vec<String>> = p
        .adopted
        .iter()
        .map(|(idea, aim)| vec![idea.clone(), aim.clone()])
        .collect();
    let exit = p
        .exit
        .iter()
        .map(|c| {
            vec![
                c.text.clone(),
                c.status.label().to_owned(),
                c.evidence.clone(),
            ]
        })
        .collect();
    let r = p.readiness;
    view! {
        <h2 id="phase-2">"8. Phase 2: root causes and sustained improvement"</h2>
        <h3>"8.1 Aims"</h3>
        {table("Each driver diagram's aim, with its change ideas", &["Aim", "By how much", "By when", "Change ideas"], aims)}
        {measures}
        <h3>"Change ideas adopted"</h3>
        {if adopted.is_empty() {
            view! { <p>"None adopted yet."</p> }.into_any()
        } else {
            table("Change ideas whose last PDSA cycle decided to adopt them", &["Change idea", "Aim"], adopted).into_any()
        }}
        <h3>"Exit criteria"</h3>
        <p data-testid="paper-readiness">{format!("{} of {} exit criteria met; {} partly met.", r.met, r.total, r.partly)}</p>
        {table("Each exit criterion and its evidence", &["Criterion", "Status", "Evidence"], exit)}
    }
}

/// What the paper page shows: a version as issued, or the draft.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    /// Where it stands ("Version 2 as issued ...").
    status: String,
    /// The meeting's name.
    meeting: String,
    /// The cover, summary and risks to delivery.
    words: Paper,
    /// The figures.
    body: PaperBody,
}

/// The board paper page.
#[component]
pub fn BoardPaper(meeting: MeetingId) -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let id = StoredValue::new(meeting);
    let admin = move || plait_shared::access::administers(session.actor.get().role);
    let stored = Memo::new(move |_| {
        workspace.programme_view().map(|p| {
            (
                p.meetings.get(&id.get_value()).cloned(),
                p.papers.get(&id.get_value()).cloned().unwrap_or_default(),
            )
        })
    });
    // Issued: as tabled; "as it is now" on request.
    let live = RwSignal::new(false);
    let shown = RwSignal::new(None::<usize>);
    let with_appendix = RwSignal::new(true);
    let tracker = move || {
        plait_shared::api::address::programme_export(
            workspace
                .programme_id()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            &plait_shared::api::ExportQuery {
                format: Some("xlsx".into()),
                ..Default::default()
            },
        )
    };
    // What the page shows: the version chosen as the server froze it (its
    // words and figures), or the draft (or "as it is now") computed here.
    let view = Memo::new(move |_| -> Option<Shown> {
        let programme = workspace.programme_view()?;
        let meeting = id.get_value();
        let paper = programme.papers.get(&meeting).cloned().unwrap_or_default();
        let plans = workspace.plan_views();
        let read = |json: &str| crate::json::from_str::<IssuedPaper>(json).ok();
        let version = shown
            .get()
            .filter(|n| *n < paper.issues.len())
            .or_else(|| paper.issues.len().checked_sub(1))
            .filter(|_| !live.get());
        let title = programme
            .meetings
            .get(&meeting)
            .map(|m| programme.meeting_name(m))
            .unwrap_or_default();
        Some(match version {
            Some(n) => {
                let frozen = programme
                    .issued
                    .get(&meeting)
                    .and_then(|v| v.get(&(n + 1)))
                    .and_then(|json| read(json));
                let unreadable = frozen.is_none()
                    && programme
                        .issued
                        .get(&meeting)
                        .is_some_and(|v| v.contains_key(&(n + 1)));
                match frozen {
                    Some(issued) => Shown {
                        status: format!(
                            "Version {} as issued {} by {}: what the meeting was sent.",
                            issued.version,
                            issued.issued_at.date().long(),
                            workspace.name_of(issued.issued_by.as_str())
                        ),
                        meeting: issued.meeting,
                        words: issued.words,
                        body: issued.body,
                    },
                    // Issued before papers were frozen: as the logs had it.
                    None => {
                        let at = paper.issues[n];
                        Shown {
                            status: if unreadable {
                                format!(
                                    "Version {}, issued {}: its frozen copy does not read in this release of Plait, so it is recomputed here from the logs as they stood then (texts as they are now).",
                                    n + 1,
                                    at.date().long()
                                )
                            } else {
                                format!(
                                    "Version {}, issued {}: issued before papers were frozen, so recomputed from the logs as they stood then.",
                                    n + 1,
                                    at.date().long()
                                )
                            },
                            meeting: title,
                            body: body_for(
                                &programme,
                                &meeting,
                                &plans,
                                Some(at),
                                now(),
                                today(),
                                &read,
                            ),
                            words: paper,
                        }
                    }
                }
            }
            None => Shown {
                status: if paper.issues.is_empty() {
                    "Draft: not issued yet.".to_owned()
                } else {
                    "As it is now, not as it was issued.".to_owned()
                },
                meeting: title,
                body: body_for(&programme, &meeting, &plans, None, now(), today(), &read),
                words: paper,
            },
        })
    });
    let body = Memo::new(move |_| view.with(|v| v.as_ref().map(|v| v.body.clone())));
    let name = move |user: &str| workspace.name_of(user);
    let title = move || view.with(|v| v.as_ref().map(|v| v.meeting.clone()));
    // The paper's meeting on every printed page: the stylesheet's page
    // header reads it from the root element (set through the CSSOM, which
    // the content security policy allows, unlike an inline stylesheet).
    let root_style = || {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
            .map(|e| e.style())
    };
    Effect::new(move |_| {
        let meeting = title().unwrap_or_default().replace(['"', '\\'], "'");
        if let Some(style) = root_style() {
            let _ = style.set_property(PRINT_TITLE, &format!("\"Board paper: {meeting}\""));
        }
    });
    on_cleanup(move || {
        if let Some(style) = root_style() {
            let _ = style.remove_property(PRINT_TITLE);
        }
    });
    let cover = move || {
        view.get().map(
            |Shown {
                 words: p, status, ..
             }| {
                let rows = [
                    ("Meeting", title().unwrap_or_default()),
                    ("Agenda item", p.agenda_item.clone()),
                    (
                        "Report",
                        "The quality improvement programme: progress against CQC's requirements"
                            .to_owned(),
                    ),
                    ("Author", p.author.clone()),
                    ("Executive lead", p.lead.clone()),
                    ("Purpose", p.purpose.clone()),
                    ("Assurance level", p.assurance.clone()),
                    ("Recommendation", p.recommendation.clone()),
                    ("Board assurance framework risks", p.risks.clone()),
                ];
                view! {
                    <p class="nhsuk-body-s" data-testid="paper-status">{status}</p>
                    <dl class="nhsuk-summary-list plait-paper__cover">
                        {rows.into_iter().map(|(k, v)| view! {
                            <div class="nhsuk-summary-list__row">
                                <dt class="nhsuk-summary-list__key">{k}</dt>
                                <dd class="nhsuk-summary-list__value plait-prewrap">{v}</dd>
                            </div>
                        }).collect_view()}
                    </dl>
                    <h2>"Executive summary"</h2>
                    <p class="plait-prewrap" data-testid="paper-summary">{p.summary.clone()}</p>
                }
            },
        )
    };
    let issued = move || stored.with(|s| s.as_ref().is_some_and(|(_, p)| p.issued_at().is_some()));
    // Every version issued, to look at any of them.
    let versions = move || {
        stored.with(|s| {
            s.as_ref()
                .map(|(_, p)| {
                    p.issues
                        .iter()
                        .enumerate()
                        .map(|(n, at)| {
                            (
                                n.to_string(),
                                format!("Version {}, issued {}", n + 1, at.date().long()),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let print = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.print();
        }
    };
    view! {
        <div class="plait-paper">
            <PageLink page=Page::Meeting { meeting: id.get_value() } class="nhsuk-back-link__link plait-no-print">"The meeting's committee pack"</PageLink>
            <span class="nhsuk-caption-l">"Board paper"</span>
            <h1>{move || title().unwrap_or_else(|| "Board paper".into())}</h1>
            <Show when=issued>
                <p class="plait-no-print">
                    <button type="button" class="nhsuk-button nhsuk-button--secondary" on:click=move |_| live.update(|l| *l = !*l)>
                        {move || if live.get() { "See it as it was issued" } else { "See it as it is now" }}
                    </button>
                </p>
                <Show when=move || live.get()>
                    <div class="nhsuk-inset-text"><p>"As it is now, not as it was issued."</p></div>
                </Show>
                <Show when=move || versions().len().gt(&1)>
                    <div class="nhsuk-form-group plait-no-print">
                        <label class="nhsuk-label" for="paper-version">"Version"</label>
                        <select class="nhsuk-select" id="paper-version"
                            on:change=move |ev| shown.set(event_target_value(&ev).parse().ok())>
                            {move || {
                                let all = versions();
                                let last = all.len().saturating_sub(1);
                                let chosen = shown.get().unwrap_or(last);
                                all.into_iter().enumerate().map(|(n, (value, label))| view! {
                                    <option value=value selected=n == chosen>{label}</option>
                                }).collect_view()
                            }}
                        </select>
                    </div>
                </Show>
            </Show>
            <div class="plait-buttons plait-no-print">
                <button type="button" class="nhsuk-button" on:click=print>"Print or save as PDF"</button>
            </div>
            {cover}
            {move || body.get().map(|b| body_view(&b, &name))}
            <h2>"8. Risks to delivery"</h2>
            <p class="plait-prewrap">{move || view.with(|v| v.as_ref().map(|v| v.words.delivery_risks.clone()).unwrap_or_default())}</p>
            <h2>"Appendices"</h2>
            <p>"Appendix A: the full lists (every action overdue or off track, every extension asked for, every closure and re-audit since the last paper), after this paper. Appendix B: the master tracker, every action of the programme, supplied as an Excel workbook."</p>
            <div class="nhsuk-checkboxes__item plait-no-print">
                <input class="nhsuk-checkboxes__input" id="paper-appendix" type="checkbox"
                    prop:checked=move || with_appendix.get()
                    on:change=move |ev| with_appendix.set(event_target_checked(&ev)) />
                <label class="nhsuk-label nhsuk-checkboxes__label" for="paper-appendix">"Print appendix A with the paper"</label>
            </div>
            <p class="plait-no-print">
                <a href=tracker download="">"Download appendix B: the master tracker (Excel)"</a>
                " "<PageLink page=Page::Report>"The board report"</PageLink>
            </p>
            <section class=move || if with_appendix.get() { "plait-paper__appendix" } else { "plait-paper__appendix plait-no-print" } aria-labelledby="appendix-a">
                {move || body.get().map(|b| appendix_view(&b, &name))}
            </section>
            <Show when=admin>
                // Drawn once the paper is on this device, from what it says.
                {move || stored.get().map(|(_, paper)| view! { <PaperForm id=id.get_value() paper body shown /> })}
            </Show>
        </div>
    }
}

/// The programme office writes the cover and summary, and issues the paper.
#[component]
fn PaperForm(
    id: MeetingId,
    paper: Paper,
    body: Memo<Option<PaperBody>>,
    shown: RwSignal<Option<usize>>,
) -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let paper = if paper == Paper::default() {
        Paper {
            purpose: "Assurance".into(),
            recommendation: "The Board is asked to note the progress against CQC's requirements and the exceptions, and to take assurance from the closures approved.".into(),
            ..paper
        }
    } else {
        paper
    };
    let field = |value: &str| RwSignal::new(value.to_owned());
    let (agenda_item, author, lead, purpose, assurance, recommendation, risks, summary, delivery) = (
        field(&paper.agenda_item),
        field(&paper.author),
        field(&paper.lead),
        field(&paper.purpose),
        field(&paper.assurance),
        field(&paper.recommendation),
        field(&paper.risks),
        field(&paper.summary),
        field(&paper.delivery_risks),
    );
    let saved = RwSignal::new(String::new());
    let id = StoredValue::new(id);
    let words = move || {
        let current = workspace
            .programme_view()
            .and_then(|p| p.papers.get(&id.get_value()).cloned())
            .unwrap_or_default();
        Paper {
            agenda_item: agenda_item.get_untracked(),
            author: author.get_untracked(),
            lead: lead.get_untracked(),
            purpose: purpose.get_untracked(),
            assurance: assurance.get_untracked(),
            recommendation: recommendation.get_untracked(),
            risks: risks.get_untracked(),
            summary: summary.get_untracked(),
            delivery_risks: delivery.get_untracked(),
            ..current
        }
    };
    let save = move |_| {
        // Read before the write transaction opens (reading takes its own).
        let paper = words();
        if workspace.edit_programme(|p, txn| p.put_paper(txn, &id.get_value(), &paper)) {
            saved.set("Saved on this device; it reaches the server when you are online.".into());
        }
    };
    // Issuing is the server's: it freezes these words with its own figures
    // as the next version (so it needs a connection).
    let busy = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let next_version = Memo::new(move |_| {
        workspace
            .programme_view()
            .and_then(|p| p.papers.get(&id.get_value()).map(Paper::version))
            .unwrap_or(0)
            + 1
    });
    let issue = move |_| {
        if busy.get_untracked() {
            return;
        }
        confirming.set(false);
        // The words go with the request: the server writes them with the
        // version (a save of a paper the server has not seen yet, racing
        // the server's own write, would be refused).
        let paper = words();
        let Some(programme) = workspace.programme_id() else {
            return;
        };
        let csrf = session.account.get_untracked().csrf.clone();
        busy.set(true);
        saved.set("Issuing…".into());
        wasm_bindgen_futures::spawn_local(async move {
            let answer = crate::api::issue_paper(&programme, &id.get_value(), &paper, &csrf).await;
            busy.set(false);
            saved.set(match answer {
                Ok(issued) => {
                    // Show the version just issued.
                    shown.set(None);
                    format!(
                        "Issued as version {}: the paper now shows what the meeting was sent, whatever changes after.",
                        issued.version
                    )
                }
                Err(e) => format!(
                    "Not issued: {} Your words are saved on this device.",
                    crate::api::reason(&e)
                ),
            });
        });
    };
    view! {
        <form class="plait-no-print" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); save(()); } novalidate>
            <h2>"Write the paper"</h2>
            <TextField id="paper-item" label="Agenda item" value=agenda_item width="nhsuk-input--width-10" />
            <TextField id="paper-author" label="Author" value=author />
            <TextField id="paper-lead" label="Executive lead" value=lead />
            <TextField id="paper-purpose" label="Purpose" hint="Assurance, approval, discussion or information" value=purpose />
            <TextField id="paper-assurance" label="Assurance level" hint="Substantial, reasonable, limited or none" value=assurance />
            <TextArea id="paper-recommendation" label="Recommendation: the Board is asked to…" value=recommendation />
            <TextField id="paper-risks" label="Board assurance framework risks" value=risks />
            <div class="plait-buttons">
                <button type="button" class="nhsuk-button nhsuk-button--secondary"
                    on:click=move |_| if let Some(b) = body.get_untracked() { summary.set(draft_summary(&b)); }>
                    "Draft the summary from the figures"
                </button>
            </div>
            <TextArea id="paper-summary" label="Executive summary" value=summary />
            <TextArea id="paper-delivery" label="Risks to delivery" value=delivery />
            <div class="plait-buttons">
                <button class="nhsuk-button" type="submit">"Save the paper"</button>
                <button class="nhsuk-button nhsuk-button--secondary" type="button" prop:disabled=move || busy.get()
                    on:click=move |_| { confirming.set(true); crate::browser::focus("paper-confirm"); }>"Issue the paper to the meeting"</button>
            </div>
            <Show when=move || confirming.get()>
                <div class="nhsuk-warning-callout" id="paper-confirm" tabindex="-1">
                    <h3 class="nhsuk-warning-callout__label"><span role="text"><span class="nhsuk-u-visually-hidden">"Important: "</span>"Issue it to the meeting?"</span></h3>
                    <p>{move || format!(
                        "Version {} is frozen as it stands: these words and the figures as the server holds them now. It cannot be changed afterwards, only issued again as a correction.",
                        next_version.get()
                    )}</p>
                    <div class="plait-buttons">
                        <button class="nhsuk-button" type="button" on:click=issue>{move || format!("Issue version {}", next_version.get())}</button>
                        <button class="nhsuk-button nhsuk-button--secondary" type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </div>
                </div>
            </Show>
            <Saved message=saved />
        </form>
    }
}
