//! Setting up a programme, for its admin (the programme manager): the
//! programme's facts (trust, CQC rating, inspection report, oversight
//! segment, warning notice), phases with their dates, goals and exit
//! criteria, workstreams and their executive leads (accounts), the forums
//! that take decisions, the members and their roles (with invitations),
//! plans, findings and actions, and the colour scheme.
//!
//! Everything but members and new plans is an edit of the programme's or a
//! plan's document: it works offline like every other edit, and the server
//! checks it against the same rules. Members and plans are the server's
//! (accounts, new documents), so those need a connection.

use leptos::prelude::*;
use plait_shared::api::{CreatedAccount, Invite, NewPlan};
use plait_shared::colours::ColourRule;
use plait_shared::import::slug;
use plait_shared::{
    ActionId, Colour, DocId, FindingId, FindingKind, Forum, ForumId, KeyQuestion, NewAction,
    NewFinding, Phase, PhaseId, ProgrammeInfo, Regulation, Remit, Role, UserId, Workstream,
    WorkstreamId,
};
use yrs::Transact;

use crate::api;
use crate::browser::focus;
use crate::components::date_input::{DateInput, DateParts};
use crate::components::form::{error_of, Choice, ErrorSummary, Saved, TextArea, TextField};
use crate::contexts::session::use_session;
use crate::contexts::workspace::{use_workspace, Workspace};

/// The CQC ratings a programme can start from.
const RATINGS: [&str; 4] = ["Inadequate", "Requires improvement", "Good", "Outstanding"];

/// The NHS Oversight Framework segments.
const SEGMENTS: [&str; 5] = ["1", "2", "3", "4", "4 (Recovery Support Programme)"];

/// The entries of one of the programme's maps, sorted by name (tracks the
/// documents).
fn by_name<K: Clone, V: Clone>(
    workspace: Workspace,
    entries: impl Fn(plait_shared::ProgrammeView) -> std::collections::BTreeMap<K, V>,
    name: impl Fn(&V) -> &str,
) -> Vec<(K, V)> {
    let mut rows: Vec<(K, V)> = workspace
        .programme_view()
        .map(|p| entries(p).into_iter().collect())
        .unwrap_or_default();
    rows.sort_by(|a, b| name(&a.1).cmp(name(&b.1)));
    rows
}

/// The trimmed text of a field that must not be empty; when it is, the
/// form's error (`message`) and focus on its summary.
fn required(
    value: RwSignal<String>,
    errors: RwSignal<Vec<(String, String)>>,
    field: &str,
    summary: &'static str,
    message: &str,
) -> Option<String> {
    let text = value.get_untracked().trim().to_owned();
    if text.is_empty() {
        errors.set(vec![(field.to_owned(), message.to_owned())]);
        focus(summary);
        None
    } else {
        errors.set(Vec::new());
        Some(text)
    }
}

/// Members who can lead (executive leads: `access::may_lead`), as select options,
/// with "None" first.
fn lead_options(workspace: Workspace) -> Vec<(String, String)> {
    let mut options = vec![(String::new(), "None".to_owned())];
    options.extend(workspace.members.with(|members| {
        members
            .iter()
            .filter(|m| plait_shared::access::may_lead(m.role))
            .map(|m| {
                (
                    m.username.to_string(),
                    format!("{} ({})", m.name, m.username),
                )
            })
            .collect::<Vec<_>>()
    }));
    options
}

fn member_options(workspace: Workspace, first: &str) -> Vec<(String, String)> {
    let mut options = vec![(String::new(), first.to_owned())];
    options.extend(workspace.members.with(|members| {
        members
            .iter()
            .filter(|m| plait_shared::access::may_own(m.role))
            .map(|m| {
                (
                    m.username.to_string(),
                    format!("{} ({})", m.name, m.username),
                )
            })
            .collect::<Vec<_>>()
    }));
    options
}

/// An id from a name, under `prefix`, not one of `taken`.
fn fresh_id(prefix: &str, name: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = format!(
        "{prefix}{}",
        slug(name).chars().take(60).collect::<String>()
    );
    let base = base.trim_end_matches('-').to_owned();
    (1..1000)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|id| !taken(id))
        .unwrap_or(base)
}

/// The set-up page.
#[component]
pub fn Setup() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let admin = move || plait_shared::access::administers(session.actor.get().role);
    // The forms start from the programme as this device has it: only once
    // it is here (a form filled from nothing would save nothing over it).
    let loaded = Memo::new(move |_| workspace.programme_view().is_some());
    let sections = [
        ("setup-facts", "The programme"),
        ("setup-phases", "Phases"),
        ("setup-workstreams", "Workstreams and executive leads"),
        ("setup-forums", "Forums"),
        ("setup-governance", "Assurance rules"),
        ("setup-digest", "Weekly e-mail"),
        ("setup-members", "Members and roles"),
        ("setup-plans", "Plans"),
        ("setup-finding", "Add a finding"),
        ("setup-action", "Add an action"),
        ("setup-colours", "Colours"),
    ];
    view! {
        <h1>"Set up the programme"</h1>
        <Show when=admin fallback=|| view! { <p>"Only the programme's admin (the programme manager) sets up the programme."</p> }>
            <Show when=move || loaded.get() fallback=|| view! { <p role="status">"The programme is not on this device yet. It appears once this device is online."</p> }>
                <nav class="nhsuk-contents-list" aria-label="Sections of this page">
                    <ol class="nhsuk-contents-list__list">
                        {sections.iter().map(|(id, label)| view! {
                            <li class="nhsuk-contents-list__item"><a class="nhsuk-contents-list__link" href=format!("#{id}")>{*label}</a></li>
                        }).collect_view()}
                    </ol>
                </nav>
                <Facts />
                <Phases />
                <Workstreams />
                <Forums />
                <AssuranceRules />
                <DigestTime />
                <Members />
                <Plans />
                <AddFinding />
                <AddAction />
                <Colours />
            </Show>
        </Show>
    }
}

#[component]
fn Facts() -> impl IntoView {
    let workspace = use_workspace();
    let info = workspace
        .programme_view()
        .map(|p| p.info)
        .unwrap_or_default();
    let name = RwSignal::new(info.name.clone());
    let trust = RwSignal::new(info.trust.clone());
    let rating = RwSignal::new(info.rating.clone());
    let segment = RwSignal::new(info.oversight_segment.clone());
    let report = RwSignal::new(DateParts::of(info.report_date));
    let notice = RwSignal::new(info.warning_notice.clone());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let with_current = |list: &[&str], current: String| {
        let mut options = vec![(String::new(), "Not recorded".to_owned())];
        if !current.is_empty() && !list.contains(&current.as_str()) {
            options.push((current.clone(), current));
        }
        options.extend(list.iter().map(|s| ((*s).to_owned(), (*s).to_owned())));
        options
    };
    let ratings = Signal::derive({
        let current = info.rating.clone();
        move || with_current(&RATINGS, current.clone())
    });
    let segments = Signal::derive({
        let current = info.oversight_segment.clone();
        move || with_current(&SEGMENTS, current.clone())
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        if name.get_untracked().trim().is_empty() {
            found.push((
                "facts-name".to_owned(),
                "Enter the programme's name".to_owned(),
            ));
        }
        let date = report
            .get_untracked()
            .read("The date of the inspection report");
        if let Err(message) = &date {
            found.push(("facts-report-day".to_owned(), message.clone()));
        }
        if !found.is_empty() {
            errors.set(found);
            focus("facts-errors");
            return;
        }
        errors.set(Vec::new());
        let info = ProgrammeInfo {
            name: name.get_untracked().trim().to_owned(),
            trust: trust.get_untracked().trim().to_owned(),
            rating: rating.get_untracked(),
            oversight_segment: segment.get_untracked(),
            report_date: date.ok().flatten(),
            warning_notice: notice.get_untracked().trim().to_owned(),
        };
        if workspace.edit_programme(|programme, txn| programme.set_info(txn, &info)) {
            saved.set("Saved on this device; it reaches the server when you are online.".into());
        }
    };
    let report_error = Signal::derive(move || error_of(errors, "facts-report"));
    view! {
        <h2 id="setup-facts">"The programme"</h2>
        <ErrorSummary id="facts-errors" errors />
        <form on:submit=submit novalidate>
            <TextField id="facts-name" label="Programme name" value=name errors />
            <TextField id="facts-trust" label="Trust" value=trust />
            <Choice id="facts-rating" label="CQC rating" options=ratings value=rating />
            <DateInput id="facts-report" legend="Date of the CQC inspection report" value=report error=report_error />
            <Choice id="facts-segment" label="NHS Oversight Framework segment" options=segments value=segment />
            <TextArea id="facts-notice" label="Warning notice (what it says and by when)" value=notice />
            <button class="nhsuk-button" type="submit">"Save the programme's details"</button>
            <Saved message=saved />
        </form>
    }
}

/// The programme's governance settings: whether the executive lead
/// endorses completions before validation, and its schedule of re-audits.
#[component]
fn AssuranceRules() -> impl IntoView {
    let workspace = use_workspace();
    let rules = workspace.rules();
    let endorsement = RwSignal::new(if rules.endorsement { "on" } else { "off" }.to_owned());
    let window = RwSignal::new(rules.reaudit_window_days.to_string());
    let count = RwSignal::new(rules.reaudit_count.to_string());
    let spacing = RwSignal::new(rules.reaudit_spacing_months.to_string());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let choices = Signal::stored(vec![
        (
            "on".to_owned(),
            "Yes: the executive lead endorses each completion before it is validated".to_owned(),
        ),
        (
            "off".to_owned(),
            "No: a validator reviews a proposed completion directly".to_owned(),
        ),
    ]);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let mut number = |value: RwSignal<String>, field: &str, what: &str| {
            value
                .get_untracked()
                .trim()
                .parse::<u32>()
                .unwrap_or_else(|_| {
                    found.push((field.to_owned(), format!("Enter {what} as a whole number")));
                    0
                })
        };
        let new = plait_shared::Governance {
            endorsement: endorsement.get_untracked() == "on",
            reaudit_window_days: number(
                window,
                "rules-window",
                "the days a re-audit opens before it is due",
            ),
            reaudit_count: number(count, "rules-count", "the number of re-audits"),
            reaudit_spacing_months: number(
                spacing,
                "rules-spacing",
                "the months between re-audits",
            ),
        };
        if found.is_empty() {
            if let Err(why) = new.check() {
                found.push(("rules-count".to_owned(), crate::api::sentence(&why)));
            }
        }
        if !found.is_empty() {
            errors.set(found);
            focus("rules-errors");
            return;
        }
        errors.set(Vec::new());
        let mut result = Ok(());
        if workspace.edit_programme(|programme, txn| {
            result = programme.set_governance(txn, &new);
        }) {
            match result {
                Ok(()) => saved.set(
                    "Saved on this device; the server applies it to every change after it arrives."
                        .into(),
                ),
                Err(why) => errors.set(vec![("rules-count".to_owned(), why)]),
            }
        }
    };
    view! {
        <h2 id="setup-governance">"Assurance rules"</h2>
        <ErrorSummary id="rules-errors" errors />
        <form on:submit=submit novalidate>
            <Choice id="rules-endorsement" label="Does the executive lead endorse completions?" options=choices value=endorsement />
            <TextField id="rules-count" label="Re-audits after each closure" hint="The last decides whether the change is embedded. Usually 2" value=count errors width="nhsuk-input--width-2" />
            <TextField id="rules-spacing" label="Months between the closing decision and each re-audit" hint="Usually 3: re-audits at 3 and 6 months" value=spacing errors width="nhsuk-input--width-2" />
            <TextField id="rules-window" label="Days before it is due that a re-audit opens" hint="Usually 14" value=window errors width="nhsuk-input--width-2" />
            <button class="nhsuk-button" type="submit">"Save the assurance rules"</button>
            <Saved message=saved />
        </form>
    }
}

/// When the weekly digest (each member's e-mail of what needs them) goes
/// out: a day and a time, UK time (`plait_shared::digest`).
#[component]
fn DigestTime() -> impl IntoView {
    let workspace = use_workspace();
    let schedule = workspace
        .programme_view()
        .map(|p| p.digest)
        .unwrap_or_default();
    let day = RwSignal::new(schedule.day.key().to_owned());
    let time = RwSignal::new(schedule.time_text());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let days = Signal::stored(
        plait_shared::Weekday::ALL
            .iter()
            .map(|d| (d.key().to_owned(), d.label().to_owned()))
            .collect::<Vec<_>>(),
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let minute = match plait_shared::digest::Schedule::parse_time(&time.get_untracked()) {
            Ok(minute) => minute,
            Err(_) => {
                errors.set(vec![(
                    "digest-time".to_owned(),
                    "Enter a time of day as hours and minutes, such as 07:00".to_owned(),
                )]);
                focus("digest-errors");
                return;
            }
        };
        let Ok(day) = day.get_untracked().parse::<plait_shared::Weekday>() else {
            return;
        };
        errors.set(Vec::new());
        let schedule = plait_shared::digest::Schedule { day, minute };
        if workspace.edit_programme(|programme, txn| programme.set_digest(txn, schedule)) {
            saved.set(format!(
                "Saved on this device: the digest goes every {}.",
                schedule.describe()
            ));
        }
    };
    view! {
        <h2 id="setup-digest">"Weekly e-mail"</h2>
        <p>"Each member gets an e-mail once a week of what needs them (their actions due in the next 14 days or overdue, evidence to review, decisions, re-audits, requests to answer), if they have an e-mail address and have not unsubscribed."</p>
        <ErrorSummary id="digest-errors" errors />
        <form on:submit=submit novalidate>
            <Choice id="digest-day" label="Day it goes out" options=days value=day />
            <TextField id="digest-time" label="Time it goes out (UK time)" hint="24-hour, such as 07:00" value=time errors width="nhsuk-input--width-4" />
            <button class="nhsuk-button" type="submit">"Save the weekly e-mail's time"</button>
            <Saved message=saved />
        </form>
    }
}

#[component]
fn Phases() -> impl IntoView {
    let workspace = use_workspace();
    let editing: RwSignal<Option<PhaseId>> = RwSignal::new(None);
    let name = RwSignal::new(String::new());
    let starts = RwSignal::new(DateParts::default());
    let ends = RwSignal::new(DateParts::default());
    let goal = RwSignal::new(String::new());
    let exit = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let phases = move || {
        let mut phases: Vec<(PhaseId, Phase)> = workspace
            .programme_view()
            .map(|p| p.phases.into_iter().collect())
            .unwrap_or_default();
        phases.sort_by(|a, b| {
            a.1.starts
                .cmp(&b.1.starts)
                .then_with(|| a.1.name.cmp(&b.1.name))
        });
        phases
    };
    let clear = move || {
        editing.set(None);
        name.set(String::new());
        starts.set(DateParts::default());
        ends.set(DateParts::default());
        goal.set(String::new());
        exit.set(String::new());
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        if name.get_untracked().trim().is_empty() {
            found.push(("phase-name".to_owned(), "Enter the phase's name".to_owned()));
        }
        let from = starts.get_untracked().read("The start date");
        let to = ends.get_untracked().read("The end date");
        if let Err(m) = &from {
            found.push(("phase-starts-day".to_owned(), m.clone()));
        }
        if let Err(m) = &to {
            found.push(("phase-ends-day".to_owned(), m.clone()));
        }
        if let (Ok(Some(a)), Ok(Some(b))) = (&from, &to) {
            if b < a {
                found.push((
                    "phase-ends-day".to_owned(),
                    "The end date must be after the start date".to_owned(),
                ));
            }
        }
        if !found.is_empty() {
            errors.set(found);
            focus("phase-errors");
            return;
        }
        errors.set(Vec::new());
        let phase = Phase {
            name: name.get_untracked().trim().to_owned(),
            starts: from.ok().flatten(),
            ends: to.ok().flatten(),
            goal: goal.get_untracked().trim().to_owned(),
            exit_criteria: exit.get_untracked().trim().to_owned(),
        };
        let existing = workspace.programme_view().unwrap_or_default();
        let id = match editing.get_untracked() {
            Some(id) => id,
            None => {
                let raw = fresh_id("ph-", &phase.name, |id| {
                    PhaseId::new(id).is_ok_and(|id| existing.phases.contains_key(&id))
                });
                let Ok(id) = PhaseId::new(raw) else {
                    return;
                };
                id
            }
        };
        if workspace.edit_programme(|programme, txn| programme.put_phase(txn, &id, &phase)) {
            saved.set(format!("{} saved.", phase.name));
            clear();
        }
    };
    let starts_error = Signal::derive(move || error_of(errors, "phase-starts"));
    let ends_error = Signal::derive(move || error_of(errors, "phase-ends"));
    view! {
        <h2 id="setup-phases">"Phases"</h2>
        <div class="plait-scroll" tabindex="0" role="region" aria-label="Phases (scrolls sideways)">
        <table class="nhsuk-table">
            <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">"The programme's phases"</caption>
            <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                <th scope="col" class="nhsuk-table__header">"Phase"</th>
                <th scope="col" class="nhsuk-table__header">"Dates"</th>
                <th scope="col" class="nhsuk-table__header">"Goal and exit criteria"</th>
                <th scope="col" class="nhsuk-table__header"><span class="nhsuk-u-visually-hidden">"Change"</span></th>
            </tr></thead>
            <tbody class="nhsuk-table__body">
                {move || phases().into_iter().map(|(id, phase)| {
                    let dates = match (phase.starts, phase.ends) {
                        (Some(s), Some(e)) => format!("{} to {}", s.long(), e.long()),
                        (Some(s), None) => format!("From {}", s.long()),
                        (None, Some(e)) => format!("Until {}", e.long()),
                        (None, None) => "Not set".into(),
                    };
                    let edit_phase = phase.clone();
                    let edit_id = id.clone();
                    let label = phase.name.clone();
                    view! {
                        <tr class="nhsuk-table__row">
                            <th scope="row" class="nhsuk-table__cell">{phase.name.clone()}</th>
                            <td class="nhsuk-table__cell">{dates}</td>
                            <td class="nhsuk-table__cell">{phase.goal.clone()}<br/><span class="nhsuk-body-s">{phase.exit_criteria.clone()}</span></td>
                            <td class="nhsuk-table__cell">
                                <button type="button" class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0"
                                    on:click=move |_| {
                                        editing.set(Some(edit_id.clone()));
                                        name.set(edit_phase.name.clone());
                                        starts.set(DateParts::of(edit_phase.starts));
                                        ends.set(DateParts::of(edit_phase.ends));
                                        goal.set(edit_phase.goal.clone());
                                        exit.set(edit_phase.exit_criteria.clone());
                                        focus("phase-name");
                                    }>
                                    "Change"<span class="nhsuk-u-visually-hidden">{format!(" {label}")}</span>
                                </button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <h3>{move || if editing.get().is_some() { "Change the phase" } else { "Add a phase" }}</h3>
        <ErrorSummary id="phase-errors" errors />
        <form on:submit=submit novalidate>
            <TextField id="phase-name" label="Name" value=name errors />
            <DateInput id="phase-starts" legend="Start date" value=starts error=starts_error />
            <DateInput id="phase-ends" legend="End date" value=ends error=ends_error />
            <TextArea id="phase-goal" label="Goal" value=goal />
            <TextArea id="phase-exit" label="Exit criteria (how the programme knows the phase is done)" value=exit />
            <button class="nhsuk-button" type="submit">"Save the phase"</button>
            <Saved message=saved />
        </form>
    }
}

#[component]
fn Workstreams() -> impl IntoView {
    let workspace = use_workspace();
    let name = RwSignal::new(String::new());
    let lead = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let leads = Signal::derive(move || lead_options(workspace));
    let rows = move || by_name(workspace, |p| p.workstreams, |w: &Workstream| &w.name);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(title) = required(
            name,
            errors,
            "ws-name",
            "ws-errors",
            "Enter the workstream's name",
        ) else {
            return;
        };
        let existing = workspace.programme_view().unwrap_or_default();
        let raw = fresh_id("ws-", &title, |id| {
            WorkstreamId::new(id).is_ok_and(|id| existing.workstreams.contains_key(&id))
        });
        let Ok(id) = WorkstreamId::new(raw) else {
            return;
        };
        let workstream = Workstream {
            name: title.clone(),
            exec_lead: lead.get_untracked(),
        };
        if workspace.edit_programme(|programme, txn| {
            programme.put_workstream(txn, &id, &workstream);
        }) {
            saved.set(format!("{title} added."));
            name.set(String::new());
        }
    };
    view! {
        <h2 id="setup-workstreams">"Workstreams and executive leads"</h2>
        <dl class="nhsuk-summary-list">
            {move || rows().into_iter().enumerate().map(|(i, (id, ws))| {
                let select_id = format!("ws-lead-{i}");
                let current = ws.exec_lead.clone();
                let mut options = leads.get();
                if !current.is_empty() && options.iter().all(|(v, _)| *v != current) {
                    options.push((current.clone(), format!("{current} (not an account)")));
                }
                let name = ws.name.clone();
                view! {
                    <div class="nhsuk-summary-list__row">
                        <dt class="nhsuk-summary-list__key"><label for=select_id.clone()>{format!("{} — executive lead", ws.name)}</label></dt>
                        <dd class="nhsuk-summary-list__value">
                            <select class="nhsuk-select" id=select_id on:change=move |ev| {
                                let chosen = event_target_value(&ev);
                                let updated = Workstream { name: name.clone(), exec_lead: chosen };
                                if workspace.edit_programme(|programme, txn| programme.put_workstream(txn, &id, &updated)) {
                                    saved.set(format!("{}'s executive lead saved.", updated.name));
                                }
                            }>
                                {options.into_iter().map(|(v, l)| {
                                    let selected = v == current;
                                    view! { <option value=v selected=selected>{l}</option> }
                                }).collect_view()}
                            </select>
                        </dd>
                    </div>
                }
            }).collect_view()}
        </dl>
        <h3>"Add a workstream"</h3>
        <ErrorSummary id="ws-errors" errors />
        <form on:submit=submit novalidate>
            <TextField id="ws-name" label="Name" value=name errors />
            <Choice id="ws-lead" label="Executive lead" options=leads value=lead />
            <button class="nhsuk-button" type="submit">"Add the workstream"</button>
            <Saved message=saved />
        </form>
    }
}

#[component]
fn Forums() -> impl IntoView {
    let workspace = use_workspace();
    let name = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let rows = move || by_name(workspace, |p| p.forums, |f: &Forum| &f.name);
    let remit = RwSignal::new(Remit::Decides.key().to_owned());
    let remits = Signal::derive(|| {
        Remit::ALL
            .iter()
            .map(|r| (r.key().to_owned(), r.label().to_owned()))
            .collect::<Vec<_>>()
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(title) = required(
            name,
            errors,
            "forum-name",
            "forum-errors",
            "Enter the forum's name",
        ) else {
            return;
        };
        let existing = workspace.programme_view().unwrap_or_default();
        let raw = fresh_id("forum-", &title, |id| {
            ForumId::new(id).is_ok_and(|id| existing.forums.contains_key(&id))
        });
        let Ok(id) = ForumId::new(raw) else {
            return;
        };
        let forum = Forum {
            name: title.clone(),
            remit: remit.get_untracked().parse().unwrap_or_default(),
        };
        if workspace.edit_programme(|programme, txn| programme.put_forum(txn, &id, &forum)) {
            saved.set(format!("{title} added."));
            name.set(String::new());
        }
    };
    view! {
        <h2 id="setup-forums">"Forums"</h2>
        <p>"The committees that take decisions on actions (closures, extensions, failed re-audits: their meetings' packs list what awaits them) and the boards that receive the programme's reports."</p>
        <ul class="nhsuk-list nhsuk-list--border">
            {move || rows().into_iter().map(|(id, forum)| {
                let label = forum.name.clone();
                let other = match forum.remit {
                    Remit::Decides => Remit::Receives,
                    Remit::Receives => Remit::Decides,
                };
                let changed = Forum { remit: other, ..forum.clone() };
                let (change_id, change_label) = (id.clone(), forum.name.clone());
                view! {
                    <li>
                        {forum.name.clone()}" "<span class="nhsuk-body-s">{format!("({})", forum.remit.label().to_ascii_lowercase())}</span>" "
                        <button type="button" class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0"
                            on:click=move |_| {
                                if workspace.edit_programme(|programme, txn| programme.put_forum(txn, &change_id, &changed)) {
                                    saved.set(format!("{change_label} now: {}.", other.label().to_ascii_lowercase()));
                                }
                            }>
                            {format!("Make it: {}", other.label().to_ascii_lowercase())}<span class="nhsuk-u-visually-hidden">{format!(" ({})", forum.name)}</span>
                        </button>" "
                        <button type="button" class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0"
                            on:click=move |_| {
                                if workspace.edit_programme(|programme, txn| programme.remove_forum(txn, &id)) {
                                    saved.set(format!("{label} removed."));
                                }
                            }>
                            "Remove"<span class="nhsuk-u-visually-hidden">{format!(" {}", forum.name)}</span>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
        <ErrorSummary id="forum-errors" errors />
        <form on:submit=submit novalidate>
            <TextField id="forum-name" label="Add a forum" value=name errors hint="For example, Quality and Safety Committee" />
            <Choice id="forum-remit" label="What it does" options=remits value=remit />
            <button class="nhsuk-button" type="submit">"Add the forum"</button>
            <Saved message=saved />
        </form>
    }
}

fn role_options() -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .map(|r| (r.key().to_owned(), r.label().to_owned()))
        .collect()
}

#[component]
fn Members() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let me = session.account.get_untracked().username.clone();
    let programme = workspace.programme_id();
    let message = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Contributor.key().to_owned());
    let errors = RwSignal::new(Vec::new());
    let created: RwSignal<Option<CreatedAccount>> = RwSignal::new(None);
    let existing = RwSignal::new(String::new());
    let existing_role = RwSignal::new(Role::Contributor.key().to_owned());
    let existing_errors = RwSignal::new(Vec::new());
    let roles = Signal::derive(role_options);
    let csrf = move || session.account.get_untracked().csrf.clone();
    let change_role = {
        let programme = programme.clone();
        move |member: UserId, role: Option<Role>| {
            let Some(programme) = programme.clone() else {
                return;
            };
            let csrf = csrf();
            wasm_bindgen_futures::spawn_local(async move {
                match api::set_role(&programme, &member, role, &csrf).await {
                    Ok(()) => {
                        message.set(match role {
                            Some(role) => format!("{member} is now {}.", role.label()),
                            None => format!("{member} is no longer a member."),
                        });
                        workspace.refresh_members();
                    }
                    Err(e) => message.set(api::reason(&e)),
                }
            });
        }
    };
    let submit = {
        let programme = programme.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let mut found = Vec::new();
            let who = name.get_untracked().trim().to_owned();
            let user = username.get_untracked().trim().to_ascii_lowercase();
            if who.is_empty() {
                found.push((
                    "invite-name".to_owned(),
                    "Enter the person's name".to_owned(),
                ));
            }
            if user.is_empty() {
                found.push((
                    "invite-username".to_owned(),
                    "Enter a user name, like zara.quinn".to_owned(),
                ));
            }
            let Ok(chosen) = role.get_untracked().parse::<Role>() else {
                return;
            };
            if !found.is_empty() {
                errors.set(found);
                focus("invite-errors");
                return;
            }
            errors.set(Vec::new());
            let Some(programme) = programme.clone() else {
                return;
            };
            let address = email.get_untracked().trim().to_owned();
            let invite = Invite {
                name: who,
                username: user,
                role: chosen,
                email: (!address.is_empty()).then_some(address),
            };
            let csrf = csrf();
            wasm_bindgen_futures::spawn_local(async move {
                match api::invite(&programme, &invite, &csrf).await {
                    Ok(account) => {
                        created.set(Some(account));
                        name.set(String::new());
                        username.set(String::new());
                        email.set(String::new());
                        workspace.refresh_members();
                        focus("invited");
                    }
                    Err(e) => {
                        errors.set(vec![("invite-username".to_owned(), api::reason(&e))]);
                        focus("invite-errors");
                    }
                }
            });
        }
    };
    view! {
        <h2 id="setup-members">"Members and roles"</h2>
        <p>"Changing members needs a connection to the server."</p>
        <div class="plait-scroll" tabindex="0" role="region" aria-label="Members (scrolls sideways)">
        <table class="nhsuk-table">
            <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">"The programme's members"</caption>
            <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                <th scope="col" class="nhsuk-table__header">"Name"</th>
                <th scope="col" class="nhsuk-table__header">"Role"</th>
                <th scope="col" class="nhsuk-table__header"><span class="nhsuk-u-visually-hidden">"Remove"</span></th>
            </tr></thead>
            <tbody class="nhsuk-table__body">
                {move || workspace.members.get().into_iter().enumerate().map(|(i, member)| {
                    let select_id = format!("member-role-{i}");
                    let yourself = member.username == me;
                    let current = member.role.key();
                    let (on_role, on_remove) = (change_role.clone(), change_role.clone());
                    let (user_a, user_b) = (member.username.clone(), member.username.clone());
                    view! {
                        <tr class="nhsuk-table__row">
                            <th scope="row" class="nhsuk-table__cell">
                                <label for=select_id.clone()>{member.name.clone()}</label>
                                <br/><span class="nhsuk-body-s">{member.username.to_string()}</span>
                            </th>
                            <td class="nhsuk-table__cell">
                                <select class="nhsuk-select" id=select_id prop:disabled=yourself
                                    on:change=move |ev| {
                                        if let Ok(role) = event_target_value(&ev).parse::<Role>() {
                                            on_role(user_a.clone(), Some(role));
                                        }
                                    }>
                                    {Role::ALL.iter().map(|r| view! {
                                        <option value=r.key() selected=r.key() == current>{r.label()}</option>
                                    }).collect_view()}
                                </select>
                            </td>
                            <td class="nhsuk-table__cell">
                                {(!yourself).then(|| view! {
                                    <button type="button" class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0"
                                        on:click=move |_| on_remove(user_b.clone(), None)>
                                        "Remove"<span class="nhsuk-u-visually-hidden">{format!(" {}", member.name)}</span>
                                    </button>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <p class="nhsuk-body-s" role="status">{move || message.get()}</p>
        <h3>"Add someone who has an account"</h3>
        <ErrorSummary id="existing-errors" errors=existing_errors />
        <form on:submit={
            let programme = programme.clone();
            move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                let Some(typed) = required(existing, existing_errors, "existing-username", "existing-errors",
                    "Enter their user name") else {
                    return;
                };
                let (Ok(user), Ok(role), Some(programme)) = (
                    UserId::new(typed.to_ascii_lowercase()),
                    existing_role.get_untracked().parse::<Role>(),
                    programme.clone(),
                ) else {
                    return;
                };
                let csrf = csrf();
                wasm_bindgen_futures::spawn_local(async move {
                    match api::set_role(&programme, &user, Some(role), &csrf).await {
                        Ok(()) => {
                            message.set(format!("{user} is now {}.", role.label()));
                            existing.set(String::new());
                            workspace.refresh_members();
                        }
                        Err(api::ApiError::Failed(404, _)) => {
                            existing_errors.set(vec![("existing-username".to_owned(),
                                format!("There is no account {user}: invite them below"))]);
                            focus("existing-errors");
                        }
                        Err(e) => {
                            existing_errors.set(vec![("existing-username".to_owned(), api::reason(&e))]);
                            focus("existing-errors");
                        }
                    }
                });
            }
        } novalidate>
            <TextField id="existing-username" label="User name" value=existing errors=existing_errors />
            <Choice id="existing-role" label="Role" options=roles value=existing_role />
            <button class="nhsuk-button" type="submit">"Add to the programme"</button>
        </form>
        <h3>"Invite someone new"</h3>
        <p>"They get an account with a one-time password, shown here once; they choose their own when they first sign in."</p>
        <ErrorSummary id="invite-errors" errors />
        <form on:submit=submit novalidate>
            <TextField id="invite-name" label="Name" value=name errors />
            <TextField id="invite-username" label="User name" value=username errors hint="What they sign in with: lower-case letters, digits and dots, like zara.quinn" />
            <TextField id="invite-email" label="E-mail address (optional)" value=email kind="email"
                autocomplete="off" hint="Trackers often name people by it: imports match it to this account" />
            <Choice id="invite-role" label="Role" options=roles value=role />
            <button class="nhsuk-button" type="submit">"Invite"</button>
        </form>
        <div id="invited" tabindex="-1">
            {move || created.get().map(|account| view! {
                <div class="nhsuk-warning-callout">
                    <h3 class="nhsuk-warning-callout__label"><span role="text"><span class="nhsuk-u-visually-hidden">"Important: "</span>"Hand this over now"</span></h3>
                    <p>{format!("{} can sign in as ", account.name)}<strong>{account.username.to_string()}</strong>" with the one-time password "<code data-testid="one-time-password">{account.password.clone()}</code>". It is not shown again."</p>
                </div>
            })}
        </div>
    }
}

#[component]
fn Plans() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let title = RwSignal::new(String::new());
    let workstream = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let workstreams = Signal::derive(move || {
        let mut options = vec![(String::new(), "None".to_owned())];
        if let Some(p) = workspace.programme_view() {
            options.extend(
                p.workstreams
                    .into_iter()
                    .map(|(id, ws)| (id.to_string(), ws.name)),
            );
        }
        options
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(name) = required(
            title,
            errors,
            "plan-title",
            "plan-errors",
            "Enter the plan's title",
        ) else {
            return;
        };
        let Some(programme) = workspace.programme_id() else {
            return;
        };
        let plan = NewPlan {
            title: name.clone(),
            workstream_id: WorkstreamId::new(workstream.get_untracked()).ok(),
        };
        let csrf = session.account.get_untracked().csrf.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match api::create_plan(&programme, &plan, &csrf).await {
                Ok(_) => {
                    saved.set(format!("{name} added: it appears as it syncs."));
                    title.set(String::new());
                }
                Err(e) => {
                    errors.set(vec![("plan-title".to_owned(), api::reason(&e))]);
                    focus("plan-errors");
                }
            }
        });
    };
    view! {
        <h2 id="setup-plans">"Plans"</h2>
        <ul class="nhsuk-list">
            {move || workspace.programme_view().map(|p| p.plans.into_values().map(|plan| view! {
                <li>{plan.title}</li>
            }).collect_view())}
        </ul>
        <h3>"Add a plan"</h3>
        <p>"A plan holds findings and the actions that answer them (imports make one per workstream). Adding one needs a connection."</p>
        <ErrorSummary id="plan-errors" errors />
        <form on:submit=submit novalidate>
            <TextField id="plan-title" label="Title" value=title errors />
            <Choice id="plan-workstream" label="Workstream" options=workstreams value=workstream />
            <button class="nhsuk-button" type="submit">"Add the plan"</button>
            <Saved message=saved />
        </form>
    }
}

/// The plans as select options, "Choose a plan" first.
fn plan_options(workspace: Workspace) -> Vec<(String, String)> {
    let mut options = vec![(String::new(), "Choose a plan".to_owned())];
    if let Some(p) = workspace.programme_view() {
        options.extend(
            p.plans
                .into_iter()
                .map(|(id, plan)| (id.to_string(), plan.title)),
        );
    }
    options
}

#[component]
fn AddFinding() -> impl IntoView {
    let workspace = use_workspace();
    let plan = RwSignal::new(String::new());
    let reference = RwSignal::new(String::new());
    let kind = RwSignal::new(FindingKind::MustDo.key().to_owned());
    let text = RwSignal::new(String::new());
    let regulations = RwSignal::new(String::new());
    let question = RwSignal::new(String::new());
    let service = RwSignal::new(String::new());
    let location = RwSignal::new(String::new());
    let deadline = RwSignal::new(DateParts::default());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let plans = Signal::derive(move || plan_options(workspace));
    let kinds = Signal::derive(|| {
        FindingKind::ALL
            .iter()
            .map(|k| (k.key().to_owned(), k.label().to_owned()))
            .collect()
    });
    let questions = Signal::derive(|| {
        let mut options = vec![(String::new(), "Not recorded".to_owned())];
        options.extend(
            KeyQuestion::ALL
                .iter()
                .map(|q| (q.key().to_owned(), q.label().to_owned())),
        );
        options
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let doc = DocId::new(plan.get_untracked())
            .ok()
            .and_then(|id| workspace.plan_doc(&id));
        if doc.is_none() {
            found.push((
                "finding-plan".to_owned(),
                "Choose the plan the finding belongs to".to_owned(),
            ));
        }
        let reference_text = reference.get_untracked().trim().to_owned();
        if slug(&reference_text).is_empty() {
            found.push((
                "finding-ref".to_owned(),
                "Enter the finding's reference, like MD109".to_owned(),
            ));
        }
        if text.get_untracked().trim().is_empty() {
            found.push((
                "finding-text".to_owned(),
                "Enter what CQC required".to_owned(),
            ));
        }
        let mut regs = Vec::new();
        for part in regulations
            .get_untracked()
            .split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match Regulation::parse_loose(part) {
                Ok(r) => regs.push(r),
                Err(_) => found.push((
                    "finding-regulations".to_owned(),
                    format!("{part:?} is not a regulation: write it like Reg 12(2)(a)"),
                )),
            }
        }
        let deadline_date = match deadline.get_untracked().read("The compliance deadline") {
            Ok(date) => date,
            Err(why) => {
                found.push(("finding-deadline-day".to_owned(), why));
                None
            }
        };
        let id = FindingId::new(format!("f-{}", slug(&reference_text))).ok();
        if let (Some(doc), Some(id)) = (&doc, &id) {
            if doc.read(&doc.doc().transact()).findings.contains_key(id) {
                found.push((
                    "finding-ref".to_owned(),
                    format!("The plan has a finding {reference_text} already"),
                ));
            }
        }
        let (Some(doc), Some(id), true) = (doc, id, found.is_empty()) else {
            errors.set(found);
            focus("finding-errors");
            return;
        };
        errors.set(Vec::new());
        let finding = NewFinding {
            reference: reference_text.clone(),
            kind: kind.get_untracked().parse().unwrap_or(FindingKind::MustDo),
            text: text.get_untracked().trim().to_owned(),
            regulations: regs,
            key_question: question.get_untracked().parse().ok(),
            core_service: service.get_untracked().trim().to_owned(),
            location: location.get_untracked().trim().to_owned(),
            source: String::new(),
            deadline: deadline_date,
        };
        let added = doc.add_finding(&mut doc.doc().transact_mut(), &id, &finding);
        match added {
            Ok(()) => {
                saved.set(format!("Finding {reference_text} added."));
                reference.set(String::new());
                text.set(String::new());
                regulations.set(String::new());
            }
            Err(e) => errors.set(vec![("finding-ref".to_owned(), e.to_string())]),
        }
    };
    view! {
        <h2 id="setup-finding">"Add a finding"</h2>
        <ErrorSummary id="finding-errors" errors />
        <form on:submit=submit novalidate>
            <Choice id="finding-plan" label="Plan" options=plans value=plan errors />
            <TextField id="finding-ref" label="Reference" value=reference errors hint="As in the CQC report, like MD109" />
            <Choice id="finding-kind" label="Type" options=kinds value=kind />
            <TextArea id="finding-text" label="What CQC required" value=text errors />
            <TextField id="finding-regulations" label="Regulations" value=regulations errors hint="With paragraphs, separated by commas, like Reg 12(2)(a), Reg 17(1)" />
            <Choice id="finding-question" label="Key question" options=questions value=question />
            <TextField id="finding-service" label="Core service" value=service />
            <TextField id="finding-location" label="Location" value=location />
            <DateInput id="finding-deadline" legend="CQC's compliance deadline (a warning notice or conditions)" hint="If CQC set one. For example, 30 6 2027" value=deadline error=Signal::derive(move || crate::components::form::error_of(errors, "finding-deadline")) />
            <button class="nhsuk-button" type="submit">"Add the finding"</button>
            <Saved message=saved />
        </form>
    }
}

#[component]
fn AddAction() -> impl IntoView {
    let workspace = use_workspace();
    let plan = RwSignal::new(String::new());
    let finding = RwSignal::new(String::new());
    let reference = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let lead = RwSignal::new(String::new());
    let due = RwSignal::new(DateParts::default());
    let criteria = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::new());
    let saved = RwSignal::new(String::new());
    let plans = Signal::derive(move || plan_options(workspace));
    let findings = Signal::derive(move || {
        let mut options = vec![(String::new(), "Choose a finding".to_owned())];
        let chosen = plan.get();
        if let Some((_, view)) = workspace
            .plan_views()
            .into_iter()
            .find(|(id, _)| id.as_str() == chosen)
        {
            let mut list: Vec<_> = view.findings.into_values().collect();
            list.sort_by(|a, b| a.reference.cmp(&b.reference));
            options.extend(list.into_iter().map(|f| {
                let text: String = f.text.chars().take(80).collect();
                (f.id.to_string(), format!("{} – {text}", f.reference))
            }));
        }
        options
    });
    let owners = Signal::derive(move || member_options(workspace, "Nobody yet"));
    let leads = Signal::derive(move || lead_options(workspace));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let doc = DocId::new(plan.get_untracked())
            .ok()
            .and_then(|id| workspace.plan_doc(&id));
        if doc.is_none() {
            found.push(("action-plan".to_owned(), "Choose the plan".to_owned()));
        }
        let finding_id = FindingId::new(finding.get_untracked()).ok();
        if finding_id.is_none() {
            found.push((
                "action-finding".to_owned(),
                "Choose the finding the action answers".to_owned(),
            ));
        }
        let reference_text = reference.get_untracked().trim().to_owned();
        if slug(&reference_text).is_empty() {
            found.push((
                "action-ref".to_owned(),
                "Enter the action's reference, like MD109.1".to_owned(),
            ));
        }
        if title.get_untracked().trim().is_empty() {
            found.push((
                "action-title".to_owned(),
                "Enter what will be done".to_owned(),
            ));
        }
        let due_date = due.get_untracked().read("The due date");
        if let Err(m) = &due_date {
            found.push(("action-due-day".to_owned(), m.clone()));
        }
        let id = ActionId::new(format!("a-{}", slug(&reference_text))).ok();
        if let (Some(doc), Some(id)) = (&doc, &id) {
            let view = doc.read(&doc.doc().transact());
            if view.actions.contains_key(id)
                || view
                    .actions
                    .values()
                    .any(|a| slug(&a.reference) == slug(&reference_text))
            {
                found.push((
                    "action-ref".to_owned(),
                    format!("The plan has an action {reference_text} already"),
                ));
            }
        }
        let (Some(doc), Some(id), Some(finding_id), true) = (doc, id, finding_id, found.is_empty())
        else {
            errors.set(found);
            focus("action-errors");
            return;
        };
        errors.set(Vec::new());
        let new = NewAction {
            reference: reference_text.clone(),
            title: title.get_untracked().trim().to_owned(),
            description: String::new(),
            finding_ids: vec![finding_id],
            workstream_id: None,
            phase_id: None,
            exec_lead: lead.get_untracked(),
            owner: UserId::new(owner.get_untracked()).ok(),
            due: due_date.ok().flatten(),
            confidence: None,
            closure_criteria: criteria.get_untracked().trim().to_owned(),
        };
        let now = crate::browser::now();
        let added = {
            let doc_ref = doc.doc().clone();
            let mut txn = doc_ref.transact_mut();
            doc.add_action(&mut txn, &id, &new)
                .and_then(|()| doc.set_created(&mut txn, &id, now))
        };
        match added {
            Ok(()) => {
                saved.set(format!(
                    "Action {reference_text} added, as a draft for its executive lead to agree."
                ));
                reference.set(String::new());
                title.set(String::new());
                criteria.set(String::new());
            }
            Err(e) => errors.set(vec![("action-ref".to_owned(), e.to_string())]),
        }
    };
    let due_error = Signal::derive(move || error_of(errors, "action-due"));
    view! {
        <h2 id="setup-action">"Add an action"</h2>
        <ErrorSummary id="action-errors" errors />
        <form on:submit=submit novalidate>
            <Choice id="action-plan" label="Plan" options=plans value=plan errors />
            <Choice id="action-finding" label="The finding it answers" options=findings value=finding errors />
            <TextField id="action-ref" label="Reference" value=reference errors hint="Like MD109.1" />
            <TextArea id="action-title" label="What will be done" value=title errors />
            <Choice id="action-owner" label="Owner" options=owners value=owner />
            <Choice id="action-lead" label="Executive lead" options=leads value=lead />
            <DateInput id="action-due" legend="Due date" value=due error=due_error />
            <TextArea id="action-criteria" label="Closure criteria (what done looks like)" value=criteria />
            <button class="nhsuk-button" type="submit">"Add the action"</button>
            <Saved message=saved />
        </form>
    }
}

#[component]
fn Colours() -> impl IntoView {
    let workspace = use_workspace();
    let scheme = workspace
        .programme_view()
        .map(|p| p.colours)
        .unwrap_or_default();
    let saved = RwSignal::new(String::new());
    view! {
        <h2 id="setup-colours">"Colours"</h2>
        <p>"The colour the board paper and the lists show for each condition of an action. The first condition that holds decides."</p>
        <dl class="nhsuk-summary-list">
            {ColourRule::ALL.iter().map(|&rule| {
                let id = format!("colour-{}", rule.key());
                let current = scheme.colour(rule);
                view! {
                    <div class="nhsuk-summary-list__row">
                        <dt class="nhsuk-summary-list__key"><label for=id.clone()>{rule.label()}</label></dt>
                        <dd class="nhsuk-summary-list__value">
                            <select class="nhsuk-select" id=id on:change=move |ev| {
                                if let Ok(colour) = event_target_value(&ev).parse::<Colour>() {
                                    if workspace.edit_programme(|programme, txn| programme.set_colour(txn, rule, colour)) {
                                        saved.set(format!("{} now shows {}.", rule.label(), colour.label()));
                                    }
                                }
                            }>
                                {Colour::ALL.iter().map(|c| view! {
                                    <option value=c.key() selected=*c == current>{c.label()}</option>
                                }).collect_view()}
                            </select>
                        </dd>
                    </div>
                }
            }).collect_view()}
        </dl>
        <Saved message=saved />
    }
}
