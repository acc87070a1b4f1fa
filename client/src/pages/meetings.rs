//! The forums' meetings: the list (and, for the programme manager, adding
//! one), and a meeting's committee pack: its agenda drawn from the plans
//! (`plait_shared::meetings`), each item with its finding, evidence,
//! verdicts, assurance and the executive lead's endorsement; the chair's
//! decisions recorded item by item or all at once, with the minute
//! reference typed once; and the chair's report to the board (Alert /
//! Advise / Assure), drafted from the decisions and editable.

use std::collections::BTreeMap;

use leptos::prelude::*;
use plait_shared::access::may_append;
use plait_shared::changes::Log;
use plait_shared::meetings::{
    agenda, awaiting, draft_chair_report, tabled_at, AgendaItem, ItemKind,
};
use plait_shared::metrics::assured_level;
use plait_shared::workflow::{self, offers, DecisionInput, Who};
use plait_shared::{
    ActionView, DecisionOutcome, EvidenceKind, ForumId, Meeting, MeetingId, MeetingPaper,
    MeetingPaperId, Status,
};
use yrs::Transact;

use crate::browser::{chosen_file, clear_file, focus, interned, now, today};
use crate::components::date_input::{DateInput, DateParts};
use crate::components::form::{error_of, Choice, ErrorSummary, Saved, TextArea, TextField};
use crate::contexts::session::use_session;
use crate::contexts::workspace::{use_workspace, Workspace};
use crate::pages::{Page, PageLink};
use crate::uploads::{read_file, Upload};

/// The name of the forum that holds `meeting` ("" if it has none).
pub fn forum_name(workspace: Workspace, meeting: &Meeting) -> String {
    meeting
        .forum_id
        .as_ref()
        .and_then(|id| {
            workspace
                .programme_view()?
                .forums
                .get(id)
                .map(|f| f.name.clone())
        })
        .unwrap_or_default()
}

/// "Quality and Safety Committee, 20 January 2027".
pub fn meeting_name(workspace: Workspace, meeting: &Meeting) -> String {
    workspace
        .programme_view()
        .unwrap_or_default()
        .meeting_name(meeting)
}

/// The meetings page.
#[component]
pub fn Meetings() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let admin = move || plait_shared::access::administers(session.actor.get().role);
    let meetings = Memo::new(move |_| {
        let plans = workspace.plan_views();
        let programme = workspace.programme_view().unwrap_or_default();
        let today = today();
        let mut all: Vec<(MeetingId, Meeting, usize)> = programme
            .meetings
            .iter()
            .map(|(id, m)| {
                let items = agenda(id, &programme, &plans, today).len();
                (id.clone(), m.clone(), items)
            })
            .collect();
        all.sort_by_key(|m| std::cmp::Reverse(m.1.date));
        all
    });
    // What awaits a decision with no meeting planned to take it.
    let unplaced = Memo::new(move |_| {
        let programme = workspace.programme_view().unwrap_or_default();
        if tabled_at(&programme, today()).is_some() {
            0
        } else {
            awaiting(&workspace.plan_views()).len()
        }
    });
    view! {
        <h1>"Meetings"</h1>
        <p class="nhsuk-lede-text">"Each meeting's committee pack lists the proposed closures, extension requests and failed re-audits awaiting it; its chair records the decisions there."</p>
        <Show when=move || unplaced.get() != 0>
            <div class="nhsuk-warning-callout" data-testid="unplaced">
                <h2 class="nhsuk-warning-callout__label"><span role="text"><span class="nhsuk-u-visually-hidden">"Important: "</span>"Awaiting a meeting"</span></h2>
                <p>{move || format!("{} item(s) await a decision with no meeting of a deciding forum planned to take them. Add the forum's next meeting.", unplaced.get())}</p>
            </div>
        </Show>
        <Show when=move || meetings.with(|m| !m.is_empty())
            fallback=|| view! { <p>"No meetings yet."</p> }>
            <ul class="nhsuk-list nhsuk-list--border" data-testid="meetings">
                <For each=move || meetings.get() key=|(id, m, n)| (id.clone(), m.date, *n) let:row>
                    {
                        let (id, meeting, items) = row;
                        let name = meeting_name(workspace, &meeting);
                        view! {
                            <li>
                                <PageLink page=Page::Meeting { meeting: id }>{name}</PageLink>
                                <br /><span class="nhsuk-body-s">{format!("{items} item(s) on the agenda")}</span>
                            </li>
                        }
                    }
                </For>
            </ul>
        </Show>
        <Show when=admin><AddMeeting /></Show>
    }
}

/// The programme manager adds a meeting of one of the forums.
#[component]
fn AddMeeting() -> impl IntoView {
    let workspace = use_workspace();
    let forums = Signal::derive(move || {
        workspace
            .programme_view()
            .map(|p| {
                p.forums
                    .into_iter()
                    .map(|(id, f)| (id.to_string(), f.name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let forum = RwSignal::new(
        forums.with_untracked(|f| f.first().map(|(id, _)| id.clone()).unwrap_or_default()),
    );
    let date = RwSignal::new(DateParts::default());
    let title = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let forum_id = ForumId::new(forum.get_untracked()).ok();
        if forum_id.is_none() {
            found.push((
                "meeting-forum".to_owned(),
                "Choose the forum that meets (add forums on the set-up page)".to_owned(),
            ));
        }
        let day = date.get_untracked().required(
            "meeting-date",
            "The meeting's date",
            "Enter the meeting's date",
            &mut found,
        );
        let (Some(forum_id), Some(day), true) = (forum_id, day, found.is_empty()) else {
            errors.set(found);
            focus("meeting-errors");
            return;
        };
        let id = MeetingId::new(plait_shared::import::slug(&format!(
            "{forum_id}-{}",
            day.iso()
        )))
        .ok();
        let taken = workspace
            .programme_view()
            .zip(id.as_ref())
            .is_some_and(|(p, id)| p.meetings.contains_key(id));
        let Some(id) = id.filter(|_| !taken) else {
            errors.set(vec![(
                "meeting-date-day".to_owned(),
                "That forum has a meeting on that day already".to_owned(),
            )]);
            focus("meeting-errors");
            return;
        };
        errors.set(Vec::new());
        let meeting = Meeting {
            forum_id: Some(forum_id),
            date: Some(day),
            title: title.get_untracked().trim().to_owned(),
            ..Meeting::default()
        };
        if workspace.edit_programme(|p, txn| p.put_meeting(txn, &id, &meeting)) {
            saved.set(format!(
                "Meeting added: {}.",
                meeting_name(workspace, &meeting)
            ));
            title.set(String::new());
            date.set(DateParts::default());
        }
    };
    view! {
        <h2>"Add a meeting"</h2>
        <ErrorSummary id="meeting-errors" errors />
        <form on:submit=submit novalidate>
            <Choice id="meeting-forum" label="Forum" options=forums value=forum errors />
            <DateInput id="meeting-date" legend="The day it meets" value=date error=Signal::derive(move || error_of(errors, "meeting-date")) />
            <TextField id="meeting-title" label="Anything that tells it apart (optional)" hint="For example, extraordinary meeting" value=title />
            <button class="nhsuk-button" type="submit">"Add the meeting"</button>
            <Saved message=saved />
        </form>
    }
}

/// What the chair chose for each item (by its plan, action and kind: its
/// number moves as the plans arrive): the outcome's key ("" for none yet)
/// and, for a return, why. Owned by the page, so a row drawn again keeps
/// what was chosen.
type Choices = StoredValue<BTreeMap<String, (RwSignal<String>, RwSignal<String>)>>;

fn item_key(item: &AgendaItem) -> String {
    format!("{}/{}/{:?}", item.plan, item.action.id, item.kind)
}

/// A meeting's committee pack.
#[component]
pub fn MeetingPack(meeting: MeetingId) -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let id = StoredValue::new(meeting);
    let found = Memo::new(move |_| {
        workspace
            .programme_view()
            .and_then(|p| p.meetings.get(&id.get_value()).cloned())
    });
    let items = Memo::new(move |_| {
        agenda(
            &id.get_value(),
            &workspace.programme_view().unwrap_or_default(),
            &workspace.plan_views(),
            today(),
        )
    });
    let actor = Memo::new(move |_| session.actor.get());
    let rules = Memo::new(move |_| workspace.rules());
    // The outcomes the signed-in person may record on an item.
    let outcomes_for = move |item: &AgendaItem| -> Vec<DecisionOutcome> {
        let actor = actor.get();
        let access = actor.access(rules.get());
        match item.kind {
            ItemKind::Closure if !item.decided() => offers(access, &item.action, today())
                .decisions
                .into_iter()
                .filter(|o| item.kind.outcomes().contains(o))
                .collect(),
            ItemKind::Extension
                if !item.decided() && may_append(access, Log::Decisions, &item.action) =>
            {
                vec![DecisionOutcome::Extend]
            }
            _ => Vec::new(),
        }
    };
    let choices: Choices = StoredValue::new(BTreeMap::new());
    let owner = StoredValue::new(Owner::current());
    let minute = RwSignal::new(String::new());
    let message = RwSignal::new(None::<(bool, String)>);
    let deciding =
        Memo::new(move |_| items.with(|all| all.iter().any(|i| !outcomes_for(i).is_empty())));
    let choice = move |item: &AgendaItem| {
        let key = item_key(item);
        choices
            .with_value(|c| c.get(&key).copied())
            .unwrap_or_else(|| {
                let make = || (RwSignal::new(String::new()), RwSignal::new(String::new()));
                let pair = owner.with_value(|o| o.as_ref().map_or_else(make, |o| o.with(make)));
                choices.update_value(|c| {
                    c.insert(key, pair);
                });
                pair
            })
    };
    let approve_all = move |_| {
        items.with_untracked(|all| {
            for item in all
                .iter()
                .filter(|i| outcomes_for(i).contains(&DecisionOutcome::ApproveClosure))
            {
                choice(item)
                    .0
                    .set(DecisionOutcome::ApproveClosure.key().to_owned());
            }
        });
    };
    let record = move |_| {
        let Some(meeting) = found.get_untracked() else {
            return;
        };
        let forum = forum_name(workspace, &meeting);
        let Some(date) = meeting.date else { return };
        let minute_ref = minute.get_untracked();
        let months = rules.get_untracked().reaudit_months();
        let me = actor.get_untracked();
        let mut done = 0;
        let mut failed: Vec<String> = Vec::new();
        for item in items.get_untracked() {
            let (outcome, reason) = choice(&item);
            let Ok(outcome) = outcome.get_untracked().parse::<DecisionOutcome>() else {
                continue;
            };
            let Some(doc) = workspace.plan_doc(&item.plan) else {
                continue;
            };
            let reason_text = reason.get_untracked();
            let minute_item = if minute_ref.trim().is_empty() {
                String::new()
            } else {
                format!("{} item {}", minute_ref.trim(), item.number)
            };
            let who = Who {
                user: &me.user,
                role: me.role,
                at: now(),
            };
            let result = workflow::record_decision(
                &doc,
                &mut doc.doc().transact_mut(),
                &item.action.id,
                &who,
                &DecisionInput {
                    forum: &forum,
                    meeting_date: date,
                    outcome,
                    minute_ref: &minute_item,
                    note: &reason_text,
                    reaudit_months: &months,
                    meeting: Some(&id.get_value()),
                },
                (js_sys::Math::random() * f64::from(u32::MAX)) as u32,
            );
            match result {
                Ok(()) => {
                    done += 1;
                    choice(&item).0.set(String::new());
                }
                Err(e) => failed.push(format!(
                    "item {} ({}): {e}",
                    item.number, item.action.reference
                )),
            }
        }
        message.set(Some(if failed.is_empty() {
            (true, format!("{done} decision(s) recorded."))
        } else {
            (
                false,
                format!(
                    "{done} decision(s) recorded; not recorded: {}.",
                    failed.join("; ")
                ),
            )
        }));
        focus("pack-message");
    };
    let print = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.print();
        }
    };
    view! {
        <PageLink page=Page::Meetings class="nhsuk-back-link__link plait-no-print">"All meetings"</PageLink>
        {move || match found.get() {
            None => view! {
                <h1>"Committee pack"</h1>
                <p role="status">"This meeting is not on this device yet. It appears once this device syncs."</p>
            }.into_any(),
            Some(meeting) => view! {
                <span class="nhsuk-caption-l">"Committee pack"</span>
                <h1>{meeting_name(workspace, &meeting)}</h1>
            }.into_any(),
        }}
        <div class="plait-buttons plait-no-print">
            <button class="nhsuk-button nhsuk-button--secondary" type="button" on:click=print>"Print the pack"</button>
        </div>
        <MeetingPapers meeting=id.get_value() />
        <div id="pack-message" tabindex="-1">
            {move || message.get().map(|(ok, text)| if ok {
                view! { <div class="nhsuk-inset-text" role="status"><p>{text}</p></div> }.into_any()
            } else {
                view! { <div class="nhsuk-error-summary" role="alert"><h2 class="nhsuk-error-summary__title">"Not all recorded"</h2><p>{text}</p></div> }.into_any()
            })}
        </div>
        <h2>"Agenda"</h2>
        <Show when=move || items.with(|i| !i.is_empty()) fallback=|| view! { <p>"Nothing awaits this forum."</p> }>
            <ol class="nhsuk-list nhsuk-list--number" data-testid="agenda">
                <For each=move || items.get() key=|i| (i.number, i.kind, i.action.id.clone(), i.decisions.len()) let:item>
                    {
                        let allowed = outcomes_for(&item);
                        let pair = (!allowed.is_empty()).then(|| choice(&item));
                        view! { <PackItem item allowed pair /> }
                    }
                </For>
            </ol>
        </Show>
        <Show when=move || deciding.get()>
            <div class="plait-no-print">
                <h2>"Record the decisions"</h2>
                <TextField id="pack-minute" label="Minute reference (each item's decision adds its number)" hint="For example, QSC/27/04" value=minute />
                <div class="plait-buttons">
                    <button class="nhsuk-button nhsuk-button--secondary" type="button" on:click=approve_all>"Approve every proposed closure"</button>
                    <button class="nhsuk-button" type="button" on:click=record>"Record the committee's decisions"</button>
                </div>
            </div>
        </Show>
        <ChairReportSection id=id.get_value() items found />
    }
}

/// The endorsement of an action's completion, in words.
fn endorsement(workspace: Workspace, action: &ActionView) -> String {
    action
        .transitions
        .iter()
        .rev()
        .find(|t| t.to == Status::Endorsed)
        .map_or_else(
            || "Not endorsed".to_owned(),
            |t| {
                format!(
                    "Endorsed by {} on {}",
                    workspace.name_of(t.by.as_str()),
                    t.at.date().long()
                )
            },
        )
}

#[component]
fn PackItem(
    item: AgendaItem,
    allowed: Vec<DecisionOutcome>,
    pair: Option<(RwSignal<String>, RwSignal<String>)>,
) -> impl IntoView {
    let workspace = use_workspace();
    let a = &item.action;
    let findings: Vec<(String, String)> = workspace
        .plan_views()
        .into_iter()
        .find(|(id, _)| *id == item.plan)
        .map(|(_, view)| {
            a.finding_ids
                .iter()
                .filter_map(|f| view.findings.get(f))
                .map(|f| (f.reference.clone(), f.text.clone()))
                .collect()
        })
        .unwrap_or_default();
    let facts = vec![
        (
            "Owner",
            a.owner
                .as_ref()
                .map(|o| workspace.name_of(o.as_str()))
                .unwrap_or_else(|| "Not set".into()),
        ),
        (
            "Executive lead",
            if a.exec_lead.is_empty() {
                "Not set".into()
            } else {
                workspace.name_of(&a.exec_lead)
            },
        ),
        ("Status", a.status().label().to_owned()),
        (
            "Due",
            a.due_current
                .map(|d| d.long())
                .unwrap_or_else(|| "Not set".into()),
        ),
        ("Endorsement", endorsement(workspace, a)),
        ("Assurance", assured_level(a).label().to_owned()),
    ];
    let evidence: Vec<String> = a
        .evidence
        .iter()
        .map(|e| {
            let kind = e
                .evidence_type
                .map_or_else(|| e.kind.label().to_owned(), |t| t.label().to_owned());
            let verdicts: Vec<String> = a
                .evidence_reviews
                .iter()
                .filter(|r| r.evidence_id == e.id)
                .map(|r| {
                    let level = r
                        .assurance
                        .map(|l| format!(", {} assurance", l.label().to_ascii_lowercase()))
                        .unwrap_or_default();
                    format!(
                        "{} by {}{level}",
                        r.verdict.label(),
                        workspace.name_of(r.by.as_str())
                    )
                })
                .collect();
            let verdicts = if verdicts.is_empty() {
                "not reviewed".to_owned()
            } else {
                verdicts.join("; ")
            };
            let link = if e.kind == EvidenceKind::Link {
                format!(" ({})", e.location)
            } else {
                String::new()
            };
            format!("{} ({kind}){link}: {verdicts}", e.title)
        })
        .collect();
    let context = match item.kind {
        ItemKind::Extension => a
            .due_requests
            .iter()
            .filter(|r| r.answer.is_none())
            .map(|r| format!("Asked for {}: {}", r.new_due.long(), r.reason))
            .collect::<Vec<_>>()
            .join(" "),
        ItemKind::ReauditFailed => a
            .transitions
            .last()
            .map(|t| t.note.clone())
            .unwrap_or_default(),
        ItemKind::Closure => String::new(),
    };
    let decided: Vec<String> = item
        .decisions
        .iter()
        .map(|d| {
            let minute = if d.minute_ref.is_empty() {
                String::new()
            } else {
                format!(" (minute {})", d.minute_ref)
            };
            let note = if d.note.is_empty() {
                String::new()
            } else {
                format!(": {}", d.note)
            };
            format!("Decided: {}{minute}{note}", d.outcome.label())
        })
        .collect();
    let n = item.number;
    let page = Page::Action {
        plan: item.plan.clone(),
        action: a.id.clone(),
    };
    let heading = format!("{}: {} – {}", item.kind.label(), a.reference, a.title);
    let controls = pair.map(|(outcome, reason)| {
        let mut options = vec![(String::new(), "No decision yet".to_owned())];
        options.extend(allowed.iter().map(|o| (o.key().to_owned(), o.label().to_owned())));
        let options = Signal::stored(options);
        let returning = move || outcome.with(|o| o == DecisionOutcome::Return.key());
        view! {
            <div class="plait-no-print">
                <Choice id=interned(&format!("item-{n}-outcome")) label="The committee's decision" options value=outcome />
                <Show when=returning>
                    <TextArea id=interned(&format!("item-{n}-reason")) label="Why it is returned (for the owner and the minutes)" value=reason />
                </Show>
            </div>
        }
    });
    view! {
        <li class="plait-pack-item" data-testid="agenda-item">
            <h3 class="nhsuk-heading-s"><PageLink page>{heading}</PageLink></h3>
            {findings.into_iter().map(|(r, text)| view! {
                <p class="nhsuk-body-s"><strong>{format!("Finding {r}: ")}</strong>{text}</p>
            }).collect_view()}
            {(!context.is_empty()).then(|| view! { <p>{context}</p> })}
            <dl class="nhsuk-summary-list">
                {facts.into_iter().map(|(k, v)| view! {
                    <div class="nhsuk-summary-list__row">
                        <dt class="nhsuk-summary-list__key">{k}</dt>
                        <dd class="nhsuk-summary-list__value">{v}</dd>
                    </div>
                }).collect_view()}
            </dl>
            {(!evidence.is_empty()).then(|| view! {
                <p class="nhsuk-body-s nhsuk-u-margin-bottom-1"><strong>"Evidence"</strong></p>
                <ul class="nhsuk-list nhsuk-list--bullet nhsuk-body-s">
                    {evidence.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
                </ul>
            })}
            {decided.into_iter().map(|d| view! { <p class="nhsuk-body-s" data-testid="decided"><strong>{d}</strong></p> }).collect_view()}
            {controls}
        </li>
    }
}

/// The chair's report to the board: shown to all; drafted from the
/// decisions and saved by the committee's chair (or the programme manager).
#[component]
fn ChairReportSection(
    id: MeetingId,
    items: Memo<Vec<AgendaItem>>,
    found: Memo<Option<Meeting>>,
) -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let writes = move || plait_shared::access::may_write_chair_report(session.actor.get().role);
    let stored = found.get_untracked().unwrap_or_default();
    let alert = RwSignal::new(stored.alert.clone());
    let advise = RwSignal::new(stored.advise.clone());
    let assure = RwSignal::new(stored.assure.clone());
    // The report as stored follows into the form (it arrives after the page
    // opens, or from the chair's device meanwhile) unless the field was
    // edited here since.
    let last = StoredValue::new([stored.alert, stored.advise, stored.assure]);
    Effect::new(move |_| {
        let Some(m) = found.get() else {
            return;
        };
        let now = [m.alert, m.advise, m.assure];
        let before = last.get_value();
        for ((field, new), old) in [alert, advise, assure].into_iter().zip(&now).zip(&before) {
            if new != old && field.with_untracked(|v| v == old) {
                field.set(new.clone());
            }
        }
        last.set_value(now);
    });
    let saved = RwSignal::new(String::new());
    let id = StoredValue::new(id);
    let draft = move |_| {
        let report = items.with_untracked(|i| draft_chair_report(i));
        alert.set(report.alert);
        advise.set(report.advise);
        assure.set(report.assure);
        saved.set("Drafted from the decisions: edit, then save.".into());
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if found.with_untracked(Option::is_none) {
            return;
        }
        let (a, d, s) = (
            alert.get_untracked().trim().to_owned(),
            advise.get_untracked().trim().to_owned(),
            assure.get_untracked().trim().to_owned(),
        );
        // The report alone: its chair may change nothing else of the
        // meeting.
        let mut written = false;
        workspace.edit_programme(|p, txn| {
            written = p.set_chair_report(txn, &id.get_value(), &a, &d, &s).is_ok();
        });
        if written {
            saved.set("Saved on this device; it reaches the server when you are online.".into());
        }
    };
    let read_only = move || {
        found.get().map(|m| {
            let parts = [("Alert", m.alert), ("Advise", m.advise), ("Assure", m.assure)];
            view! {
                <dl class="nhsuk-summary-list" data-testid="chair-report">
                    {parts.into_iter().map(|(k, v)| view! {
                        <div class="nhsuk-summary-list__row">
                            <dt class="nhsuk-summary-list__key">{k}</dt>
                            <dd class="nhsuk-summary-list__value plait-prewrap">{if v.is_empty() { "Not written yet".to_owned() } else { v }}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            }
        })
    };
    view! {
        <h2>"The chair's report to the board"</h2>
        <Show when=writes fallback=read_only>
            <form on:submit=save novalidate>
                <div class="plait-buttons plait-no-print">
                    <button class="nhsuk-button nhsuk-button--secondary" type="button" on:click=draft>"Draft from this meeting's decisions"</button>
                </div>
                <TextArea id="report-alert" label="Alert: what the board must know" value=alert />
                <TextArea id="report-advise" label="Advise: what the committee advises" value=advise />
                <TextArea id="report-assure" label="Assure: what the committee is assured of" value=assure />
                <button class="nhsuk-button plait-no-print" type="submit">"Save the chair's report"</button>
                <Saved message=saved />
            </form>
        </Show>
    }
}

/// An id for a new paper of a meeting.
fn new_paper_id() -> Option<MeetingPaperId> {
    MeetingPaperId::new(crate::browser::fresh_id("mp")).ok()
}

/// The papers tabled at a meeting: its board paper, and the files and
/// links the programme office keeps with it (a workstream's report, the
/// minutes of the last meeting); the office adds and removes them. A file
/// is kept on this device and sent when it is online, like evidence.
#[component]
fn MeetingPapers(meeting: MeetingId) -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let uploads = crate::uploads::use_uploads();
    let id = StoredValue::new(meeting);
    let admin = move || plait_shared::access::administers(session.actor.get().role);
    let papers = Memo::new(move |_| {
        let mut papers: Vec<(MeetingPaperId, MeetingPaper)> = workspace
            .programme_view()
            .map(|p| {
                p.meeting_papers
                    .into_iter()
                    .filter(|(_, paper)| paper.meeting_id.as_ref() == Some(&id.get_value()))
                    .collect()
            })
            .unwrap_or_default();
        papers.sort_by(|a, b| a.1.added_at.cmp(&b.1.added_at).then_with(|| a.0.cmp(&b.0)));
        papers
    });
    let board_paper = Memo::new(move |_| {
        workspace
            .programme_view()
            .and_then(|p| p.papers.get(&id.get_value()).cloned())
            .map(|paper| match paper.issued_at() {
                Some(at) => format!("issued {} (version {})", at.date().long(), paper.version()),
                None => "a draft".to_owned(),
            })
    });
    let programme = move || {
        workspace
            .programme_id()
            .map(|p| p.to_string())
            .unwrap_or_default()
    };
    let (kind, title, link, no_pid) = (
        RwSignal::new(EvidenceKind::File.key().to_owned()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(false),
    );
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let file_input = NodeRef::<leptos::html::Input>::new();
    let kinds = Signal::derive(|| {
        [EvidenceKind::File, EvidenceKind::Link]
            .iter()
            .map(|k| (k.key().to_owned(), k.label().to_owned()))
            .collect::<Vec<_>>()
    });
    let is_file = move || kind.with(|k| k == EvidenceKind::File.key());
    let add = move |paper: MeetingPaper| -> bool {
        let Some(paper_id) = new_paper_id() else {
            return false;
        };
        workspace.edit_programme(|p, txn| p.put_meeting_paper(txn, &paper_id, &paper))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut problems = Vec::new();
        let title_now = title.get_untracked().trim().to_owned();
        let file = chosen_file(file_input);
        if is_file() {
            if file.is_none() {
                problems.push((
                    "paper-file".to_owned(),
                    "Choose the paper's file".to_owned(),
                ));
            } else if !no_pid.get_untracked() {
                problems.push((
                    "paper-no-pid".to_owned(),
                    "Confirm that the file holds no patient-identifiable data".to_owned(),
                ));
            }
        } else {
            let l = link.get_untracked();
            if !(l.starts_with("https://") || l.starts_with("http://")) {
                problems.push((
                    "paper-link".to_owned(),
                    "A link starts with https://".to_owned(),
                ));
            }
            if title_now.is_empty() {
                problems.push(("paper-title".to_owned(), "Say what the paper is".to_owned()));
            }
        }
        let failed = !problems.is_empty();
        errors.set(problems);
        if failed {
            focus("paper-errors");
            return;
        }
        let base = MeetingPaper {
            meeting_id: Some(id.get_value()),
            title: title_now.clone(),
            kind: EvidenceKind::Link,
            location: link.get_untracked(),
            file_name: String::new(),
            added_at: Some(now()),
        };
        let Some(file) = file.filter(|_| is_file()) else {
            if add(base) {
                saved.set(format!("{title_now} added to the meeting's papers."));
                title.set(String::new());
                link.set(String::new());
            }
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = async {
                let (bytes, sha) = read_file(&file).await?;
                let store = workspace.store().ok_or("this device's store is not open")?;
                let doc = workspace
                    .programme_id()
                    .ok_or("the programme is not open")?;
                store
                    .queue_blob(&sha, &doc, &file.name(), &file.type_(), &bytes)
                    .await
                    .map_err(|e| format!("the file could not be kept on this device: {e}"))?;
                let name = if title_now.is_empty() {
                    file.name()
                } else {
                    title_now
                };
                let paper = MeetingPaper {
                    title: name.clone(),
                    kind: EvidenceKind::File,
                    location: sha.clone(),
                    file_name: file.name(),
                    ..base
                };
                if add(paper) {
                    uploads.state.update(|s| {
                        s.insert(sha, Upload::Waiting);
                    });
                    workspace.send_uploads();
                    Ok(name)
                } else {
                    Err("the paper could not be added".to_owned())
                }
            }
            .await;
            match outcome {
                Ok(name) => {
                    saved.set(format!("{name} added to the meeting's papers; the file goes to the server when this device is online."));
                    title.set(String::new());
                    no_pid.set(false);
                    clear_file(file_input);
                }
                Err(e) => {
                    errors.set(vec![("paper-file".to_owned(), e)]);
                    focus("paper-errors");
                }
            }
        });
    };
    view! {
        <h2 id="meeting-papers">"Papers"</h2>
        <ul class="nhsuk-list nhsuk-list--border" data-testid="meeting-papers">
            <li>"The committee pack: this page"</li>
            {move || board_paper.get().map(|state| view! {
                <li><PageLink page=Page::Paper { meeting: id.get_value() }>"The board paper"</PageLink>{format!(", {state}")}</li>
            })}
            <For each=move || papers.get() key=|(pid, p)| (pid.clone(), p.title.clone()) let:row>
                {
                    let (paper_id, paper) = row;
                    let label = paper.title.clone();
                    let shown = match paper.kind {
                        EvidenceKind::File => {
                            let href = plait_shared::api::address::blob(&paper.location, programme(), Some(&paper.file_name));
                            let waiting = {
                                let sha = paper.location.clone();
                                move || uploads.state.with(|s| match s.get(&sha) {
                                    Some(Upload::Waiting) => " (on this device, sent when online)".to_owned(),
                                    Some(Upload::Sending(done, all)) => format!(" (sending, {}%)", done * 100 / (*all).max(1)),
                                    Some(Upload::Refused(why)) => format!(" (the server refused it: {why})"),
                                    _ => String::new(),
                                })
                            };
                            view! { <a href=href download="">{paper.title.clone()}</a>{format!(" ({})", paper.file_name)}{waiting} }.into_any()
                        }
                        _ if paper.location.starts_with("https://") || paper.location.starts_with("http://") => {
                            view! { <a href=paper.location.clone() rel="noopener noreferrer">{paper.title.clone()}</a>" (link)" }.into_any()
                        }
                        _ => view! { {paper.title.clone()} }.into_any(),
                    };
                    view! {
                        <li>
                            {shown}" "
                            <Show when=admin>
                                {
                                    let (paper_id, label) = (paper_id.clone(), label.clone());
                                    view! {
                                        <button type="button" class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0 plait-no-print"
                                            on:click=move |_| {
                                                if workspace.edit_programme(|p, txn| p.remove_meeting_paper(txn, &paper_id)) {
                                                    saved.set(format!("{label} removed from the meeting's papers."));
                                                }
                                            }>
                                            "Remove"<span class="nhsuk-u-visually-hidden">{format!(" {label}")}</span>
                                        </button>
                                    }
                                }
                            </Show>
                        </li>
                    }
                }
            </For>
        </ul>
        <Show when=admin>
            <form class="plait-no-print" on:submit=submit novalidate>
                <fieldset class="nhsuk-fieldset">
                    <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">"Add a paper to this meeting"</legend>
                    <ErrorSummary id="paper-errors" errors />
                    <Choice id="paper-kind" label="Kind" options=kinds value=kind errors />
                    <TextField id="paper-title" label="What it is" hint="For example, Minutes of the last meeting" value=title errors />
                    <div hidden=move || !is_file()>
                        <div class=move || if error_of(errors, "paper-file").is_some() { "nhsuk-form-group nhsuk-form-group--error" } else { "nhsuk-form-group" }>
                            <label class="nhsuk-label" for="paper-file">{format!("File (PDF or office document, up to {} MB)", crate::uploads::MAX_BYTES / 1_048_576)}</label>
                            {move || error_of(errors, "paper-file").map(|m| view! { <span class="nhsuk-error-message" id="paper-file-error"><span class="nhsuk-u-visually-hidden">"Error: "</span>{m}</span> })}
                            <input class="nhsuk-file-upload" id="paper-file" type="file" node_ref=file_input
                                aria-describedby=move || error_of(errors, "paper-file").map(|_| "paper-file-error") />
                        </div>
                        <div class=move || if error_of(errors, "paper-no-pid").is_some() { "nhsuk-form-group nhsuk-form-group--error" } else { "nhsuk-form-group" }>
                            {move || error_of(errors, "paper-no-pid").map(|m| view! { <span class="nhsuk-error-message" id="paper-no-pid-error"><span class="nhsuk-u-visually-hidden">"Error: "</span>{m}</span> })}
                            <div class="nhsuk-checkboxes__item">
                                <input class="nhsuk-checkboxes__input" id="paper-no-pid" type="checkbox"
                                    aria-describedby=move || error_of(errors, "paper-no-pid").map(|_| "paper-no-pid-error")
                                    prop:checked=move || no_pid.get() on:change=move |ev| no_pid.set(event_target_checked(&ev)) />
                                <label class="nhsuk-label nhsuk-checkboxes__label" for="paper-no-pid">"I confirm this file holds no patient-identifiable data"</label>
                            </div>
                        </div>
                    </div>
                    <div hidden=is_file>
                        <TextField id="paper-link" label="Link (https://…)" kind="url" value=link errors />
                    </div>
                    <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Add the paper"</button>
                    <Saved message=saved />
                </fieldset>
            </form>
        </Show>
    }
}
