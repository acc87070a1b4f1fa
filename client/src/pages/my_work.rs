//! My work: what needs the signed-in person, by what they do — their own
//! actions that are due or overdue (and their re-audits), evidence to
//! review, decisions to record, re-audits to carry out, date changes to
//! answer, actions to agree. Computed from the local documents, so it works
//! offline; written as markup (see [`crate::markup`]).

use leptos::prelude::*;
use plait_shared::access::{administers, may_append};
use plait_shared::changes::Log;
use plait_shared::{ActionView, Confidence, Date, DocId, PlanView, Role, Status, UnixMillis};

use crate::browser::today;
use crate::contexts::session::use_session;
use crate::contexts::workspace::use_workspace;
use crate::markup::{link, markup, render, Markup};
use crate::pages::follow_links;

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The action's plan.
    pub plan: DocId,
    /// The action.
    pub action: ActionView,
    /// What is asked, in a few words.
    pub note: String,
    /// When it is due, if it has a date.
    pub due: Option<Date>,
}

/// The lists of one person's work, each `(heading, tasks)`: what they may
/// do is asked of the shared rules under the programme's `rules`.
pub fn work_for(
    user: &str,
    role: Role,
    rules: plait_shared::Governance,
    plans: &[(DocId, PlanView)],
    today: Date,
) -> Vec<(&'static str, Vec<Task>)> {
    let soon = today.add_months(1);
    let Ok(me) = plait_shared::UserId::new(user) else {
        return Vec::new();
    };
    let actor = plait_shared::access::Actor {
        user: &me,
        role,
        rules,
    };
    let mut lists: [Vec<Task>; 11] = Default::default();
    let [own, reviews, decisions, reaudits, answers, agree, endorse, overdue, confidence, quiet, failed] =
        &mut lists;
    let month_ago = UnixMillis(today.unix_millis() - 30 * 86_400_000);
    for (plan, view) in plans {
        for action in view.actions.values() {
            let mine = action.owner.as_ref().is_some_and(|o| o.as_str() == user);
            let status = action.status();
            let task = |note: String, due: Option<Date>| Task {
                plan: plan.clone(),
                action: action.clone(),
                note,
                due,
            };
            let checks_due: Vec<Date> = action
                .sustainment_checks
                .iter()
                .filter(|c| c.result.is_none() && c.due <= soon)
                .map(|c| c.due)
                .collect();
            if mine && status.is_open_for_delivery() {
                if let Some(due) = action.due_current.filter(|d| *d <= soon) {
                    let note = if action.is_overdue(today) {
                        format!("{} days overdue", action.days_overdue(today))
                    } else {
                        format!("Due {}", due.long())
                    };
                    own.push(task(note, Some(due)));
                }
            }
            if mine && matches!(status, Status::Closed | Status::Embedded) {
                for due in &checks_due {
                    own.push(task(
                        format!(
                            "Re-audit due {}: show the change is still in place",
                            due.long()
                        ),
                        Some(*due),
                    ));
                }
            }
            if status == Status::Imported {
                let claim = plait_shared::lifecycle::imported_claim(&action.transitions)
                    .map_or("done", |s| s.label());
                if may_append(actor, Log::EvidenceReviews, action) {
                    reviews.push(task(
                        format!("Imported as \"{claim}\": confirm it with evidence, or return it"),
                        action.due_current,
                    ));
                }
                // The programme office records what closed it before.
                if administers(role) {
                    decisions.push(task(
                        format!("Imported as \"{claim}\": record the decision that closed it, if there was one"),
                        action.due_current,
                    ));
                }
            }
            // A completion its executive lead is to endorse.
            if status == Status::CompletionProposed
                && role == Role::Lead
                && plait_shared::workflow::moves(actor, action)
                    .iter()
                    .any(|(to, why)| *to == Status::Endorsed && why.is_none())
            {
                endorse.push(task(
                    format!(
                        "Proposed complete with {}: endorse it, or send it back",
                        pieces(action.evidence.len())
                    ),
                    action.due_current,
                ));
            }
            if may_append(actor, Log::EvidenceReviews, action) {
                if status != Status::Imported
                    && plait_shared::workflow::offers(actor, action, today).review
                {
                    reviews.push(task(
                        format!("{} to review", pieces(action.evidence.len())),
                        action.due_current,
                    ));
                }
                if matches!(status, Status::Closed | Status::Embedded) {
                    for due in &checks_due {
                        reaudits.push(task(format!("Re-audit due {}", due.long()), Some(*due)));
                    }
                }
            }
            if status == Status::EvidenceAccepted && may_append(actor, Log::Decisions, action) {
                decisions.push(task("Evidence accepted: ready for the forum".into(), None));
            }
            // A failed re-audit reopened it: its owner and its lead hear.
            let reopened_by_check = status == Status::Reopened
                && action
                    .transitions
                    .last()
                    .is_some_and(|t| t.note.starts_with("Re-audit failed"));
            if reopened_by_check && (mine || (role == Role::Lead && action.exec_lead == user)) {
                let note = action
                    .transitions
                    .last()
                    .map(|t| t.note.clone())
                    .unwrap_or_default();
                failed.push(task(note, action.due_current));
            }
            if role == Role::Lead && action.exec_lead == user && status.is_open_for_delivery() {
                if action.is_overdue(today) {
                    overdue.push(task(
                        format!("{} days overdue", action.days_overdue(today)),
                        action.due_current,
                    ));
                }
                if let Some(c @ (Confidence::OffTrack | Confidence::AtRisk)) = action.confidence {
                    confidence.push(task(c.label().to_owned(), action.due_current));
                }
                let last = action.updates.last().map(|u| u.at);
                if last.is_none_or(|at| at < month_ago) {
                    quiet.push(task(
                        last.map_or_else(
                            || "No progress update yet".to_owned(),
                            |at| format!("Last update {}", at.date().long()),
                        ),
                        action.due_current,
                    ));
                }
            }
            if plait_shared::workflow::offers(actor, action, today).answer {
                for request in action
                    .wording_requests
                    .iter()
                    .filter(|r| r.answer.is_none())
                {
                    answers.push(task(
                        format!(
                            "New wording of the {} asked: {}",
                            request.text.label().to_ascii_lowercase(),
                            request.reason
                        ),
                        action.due_current,
                    ));
                }
                for request in action.due_requests.iter().filter(|r| r.answer.is_none()) {
                    answers.push(task(
                        format!(
                            "New date {} asked: {}",
                            request.new_due.long(),
                            request.reason
                        ),
                        Some(request.new_due),
                    ));
                }
                if status == Status::Draft {
                    agree.push(task("Draft: to agree".into(), action.due_current));
                }
            }
        }
    }
    for list in &mut lists {
        list.sort_by(|a, b| {
            a.due
                .cmp(&b.due)
                .then_with(|| a.action.reference.cmp(&b.action.reference))
        });
    }
    let [own, reviews, decisions, reaudits, answers, agree, endorse, overdue, confidence, quiet, failed] =
        lists;
    vec![
        ("Reopened after a failed re-audit", failed),
        ("Your actions due or overdue", own),
        ("Completions to endorse", endorse),
        ("Evidence to review", reviews),
        ("Decisions to record", decisions),
        ("Re-audits to carry out", reaudits),
        ("Requests to answer", answers),
        ("Actions to agree", agree),
        ("Your portfolio: overdue", overdue),
        ("Your portfolio: off track or at risk", confidence),
        ("Your portfolio: no update for 30 days", quiet),
    ]
}

/// "1 piece of evidence", "3 pieces of evidence".
fn pieces(n: usize) -> String {
    if n == 1 {
        "1 piece of evidence".to_owned()
    } else {
        format!("{n} pieces of evidence")
    }
}

fn work_markup(lists: &[(&'static str, Vec<Task>)]) -> Markup {
    let mut html = Markup::new();
    for (heading, tasks) in lists.iter().filter(|(_, tasks)| !tasks.is_empty()) {
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
                today()
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
        let today = Date::from_ymd(2026, 11, 26).unwrap();
        for role in Role::ALL {
            let lists = work_for(
                "d.hughes",
                *role,
                plait_shared::Governance::DEFAULT,
                &[],
                today,
            );
            assert!(lists.iter().all(|(_, l)| l.is_empty()));
            assert!(work_markup(&lists).as_str().contains("Nothing needs you"));
        }
    }

    /// A lead's My work is their portfolio (issue 15): their overdue,
    /// off-track and quiet actions, and one a failed re-audit reopened,
    /// which its owner sees too; another lead sees none of it.
    #[test]
    fn a_leads_work_is_their_portfolio() {
        use plait_shared::{
            ActionId, Confidence, LogEntry, NewAction, PlanDoc, Transition, UserId,
        };
        use yrs::Transact;
        let today = Date::from_ymd(2026, 11, 26).unwrap();
        let plan = PlanDoc::new(plait_shared::new_doc());
        let user = |u: &str| UserId::new(u).unwrap();
        let new = |reference: &str| NewAction {
            reference: reference.into(),
            title: "Fit door closers".into(),
            description: String::new(),
            finding_ids: vec![],
            workstream_id: None,
            phase_id: None,
            exec_lead: "chief.nurse".into(),
            owner: Some(user("d.hughes")),
            due: Date::from_ymd(2026, 10, 1).ok(),
            confidence: Some(Confidence::OffTrack),
            closure_criteria: String::new(),
        };
        {
            let mut txn = plan.doc().transact_mut();
            let late = ActionId::new("a-1").unwrap();
            plan.add_action(&mut txn, &late, &new("MD1.1")).unwrap();
            let step = |to, by: &str, role, note: &str| {
                LogEntry::Transition(Transition {
                    to,
                    by: user(by),
                    role,
                    at: plait_shared::UnixMillis(1),
                    note: note.into(),
                    baseline: false,
                })
            };
            plan.append(
                &mut txn,
                &late,
                &step(Status::Agreed, "chief.nurse", Role::Lead, ""),
            )
            .unwrap();
            // Reopened by a failed re-audit (as an import's baseline here:
            // the list reads the status and the reopening's note).
            let reopened = ActionId::new("a-2").unwrap();
            plan.add_action(&mut txn, &reopened, &new("MD1.2")).unwrap();
            plan.append(
                &mut txn,
                &reopened,
                &LogEntry::Transition(Transition {
                    to: Status::Reopened,
                    by: user("pm"),
                    role: Role::Admin,
                    at: plait_shared::UnixMillis(1),
                    note: "Re-audit failed: two doors propped open".into(),
                    baseline: true,
                }),
            )
            .unwrap();
            // Proposed complete with evidence: the lead endorses it first.
            let proposed = ActionId::new("a-3").unwrap();
            plan.add_action(&mut txn, &proposed, &new("MD1.3")).unwrap();
            let owner = user("d.hughes");
            let who = plait_shared::workflow::Who {
                user: &owner,
                role: Role::Contributor,
                at: plait_shared::UnixMillis(2),
            };
            plan.append(
                &mut txn,
                &proposed,
                &step(Status::Agreed, "chief.nurse", Role::Lead, ""),
            )
            .unwrap();
            plan.append(
                &mut txn,
                &proposed,
                &step(Status::InProgress, "d.hughes", Role::Contributor, ""),
            )
            .unwrap();
            plait_shared::workflow::attach_evidence(
                &plan,
                &mut txn,
                &proposed,
                &who,
                &plait_shared::workflow::EvidenceInput::new(
                    plait_shared::EvidenceKind::Note,
                    "Audit",
                    "",
                ),
                1,
            )
            .unwrap();
            plait_shared::workflow::propose_completion(&plan, &mut txn, &proposed, &who, "done")
                .unwrap();
        }
        let view = plan.read(&plan.doc().transact());
        let plans = [(DocId::new("demo_estates").unwrap(), view)];
        let heads = |who: &str, role: Role| -> Vec<(&'static str, usize)> {
            work_for(who, role, plait_shared::Governance::DEFAULT, &plans, today)
                .into_iter()
                .filter(|(_, l)| !l.is_empty())
                .map(|(h, l)| (h, l.len()))
                .collect()
        };
        let lead = heads("chief.nurse", Role::Lead);
        assert!(lead.contains(&("Your portfolio: overdue", 2)), "{lead:?}");
        assert!(
            lead.contains(&("Your portfolio: off track or at risk", 2)),
            "{lead:?}"
        );
        assert!(
            lead.contains(&("Your portfolio: no update for 30 days", 2)),
            "{lead:?}"
        );
        assert!(
            lead.contains(&("Reopened after a failed re-audit", 1)),
            "{lead:?}"
        );
        let owner = heads("d.hughes", Role::Contributor);
        assert!(
            owner.contains(&("Reopened after a failed re-audit", 1)),
            "{owner:?}"
        );
        assert!(heads("director.of.people", Role::Lead).is_empty());
        // The completion waits for its own lead, not for a validator.
        assert!(lead.contains(&("Completions to endorse", 1)), "{lead:?}");
        let validator = heads("compliance", Role::Validator);
        assert!(
            !validator.iter().any(|(h, _)| *h == "Evidence to review"),
            "{validator:?}"
        );
    }
}
