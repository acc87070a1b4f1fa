//! What needs a person (issue 12's "My work", issue 20's weekly digest):
//! their own actions that are due or overdue, their progress updates due
//! this month, and what their role asks of them — evidence to review,
//! completions to endorse, decisions to record, re-audits to carry out,
//! date and wording requests to answer, actions to agree, and a lead's
//! portfolio. Computed from the plans by asking the rules
//! ([`crate::access`], [`crate::workflow`]), never re-stating them, so the
//! page and the e-mail say the same things.

use crate::access::{administers, may_append, Actor};
use crate::changes::Log;
use crate::ids::{Date, DocId, UnixMillis, UserId};
use crate::lifecycle::Governance;
use crate::plan::{ActionView, PlanView};
use crate::vocab::{Confidence, Role, Status};

/// The lists of one person's work, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkList {
    /// Their actions a failed re-audit reopened (the owner's and the
    /// lead's).
    Failed,
    /// Their own actions due within the window, or overdue, and their
    /// re-audits due.
    Own,
    /// Their own actions in delivery with no progress update this month.
    Updates,
    /// Completions their executive lead is to endorse.
    Endorse,
    /// Evidence (or an imported claim) to review.
    Reviews,
    /// Decisions to record.
    Decisions,
    /// Re-audits to carry out.
    Reaudits,
    /// Due-date and wording requests to answer.
    Answers,
    /// Draft actions to agree.
    Agree,
    /// A lead's portfolio: overdue.
    PortfolioOverdue,
    /// A lead's portfolio: off track or at risk.
    PortfolioConfidence,
    /// A lead's portfolio: no progress update for 30 days.
    PortfolioQuiet,
}

impl WorkList {
    /// Every list, in the order shown.
    pub const ALL: [WorkList; 12] = [
        WorkList::Failed,
        WorkList::Own,
        WorkList::Updates,
        WorkList::Endorse,
        WorkList::Reviews,
        WorkList::Decisions,
        WorkList::Reaudits,
        WorkList::Answers,
        WorkList::Agree,
        WorkList::PortfolioOverdue,
        WorkList::PortfolioConfidence,
        WorkList::PortfolioQuiet,
    ];

    /// Its heading.
    pub fn heading(self) -> &'static str {
        match self {
            WorkList::Failed => "Reopened after a failed re-audit",
            WorkList::Own => "Your actions due or overdue",
            WorkList::Updates => "Progress updates due this month",
            WorkList::Endorse => "Completions to endorse",
            WorkList::Reviews => "Evidence to review",
            WorkList::Decisions => "Decisions to record",
            WorkList::Reaudits => "Re-audits to carry out",
            WorkList::Answers => "Requests to answer",
            WorkList::Agree => "Actions to agree",
            WorkList::PortfolioOverdue => "Your portfolio: overdue",
            WorkList::PortfolioConfidence => "Your portfolio: off track or at risk",
            WorkList::PortfolioQuiet => "Your portfolio: no update for 30 days",
        }
    }
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The action's plan.
    pub plan: DocId,
    /// The action.
    pub action: ActionView,
    /// What is asked, in a few words (may quote what someone wrote: a
    /// request's reason, a failed re-audit's finding).
    pub note: String,
    /// What is asked in Plait's own words only, quoting nobody's free
    /// text: what may leave the service by e-mail (see `crate::digest`).
    pub summary: String,
    /// When it is due, if it has a date.
    pub due: Option<Date>,
}

/// How far ahead a person's own actions count as due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// Own actions and re-audits due on or before this day (and every
    /// overdue one) are listed.
    pub until: Date,
}

impl Horizon {
    /// My work's: a month from `today`.
    pub fn my_work(today: Date) -> Horizon {
        Horizon {
            until: today.add_months(1),
        }
    }

    /// The weekly digest's: the next 14 days.
    pub fn digest(today: Date) -> Horizon {
        Horizon {
            until: today.add_days(DIGEST_DAYS),
        }
    }
}

/// The digest lists own actions due within this many days (or overdue).
pub const DIGEST_DAYS: i64 = 14;

/// The lists of one person's work, each `(list, tasks)` in
/// [`WorkList::ALL`]'s order: what they may do is asked of the shared
/// rules under the programme's `rules`; their own actions count as due up
/// to `horizon`.
pub fn work_for(
    user: &str,
    role: Role,
    rules: Governance,
    plans: &[(DocId, PlanView)],
    today: Date,
    horizon: Horizon,
) -> Vec<(WorkList, Vec<Task>)> {
    let soon = horizon.until;
    let Ok(me) = UserId::new(user) else {
        return Vec::new();
    };
    let actor = Actor {
        user: &me,
        role,
        rules,
    };
    let mut lists: [Vec<Task>; 12] = Default::default();
    let [failed, own, updates, endorse, reviews, decisions, reaudits, answers, agree, overdue, confidence, quiet] =
        &mut lists;
    let month_ago = UnixMillis(today.unix_millis() - 30 * 86_400_000);
    let (year, month, _) = today.ymd();
    let month_start = Date::from_ymd(year, month, 1).unwrap_or(today);
    let month_end = month_start.add_months(1).add_days(-1);
    for (plan, view) in plans {
        for action in view.actions.values() {
            let mine = action.owner.as_ref().is_some_and(|o| o.as_str() == user);
            let status = action.status();
            let task = |note: String, summary: String, due: Option<Date>| Task {
                plan: plan.clone(),
                action: action.clone(),
                note,
                summary,
                due,
            };
            // Plait's own words: the note and the summary are one.
            let said = |note: String, due: Option<Date>| task(note.clone(), note, due);
            let checks_due: Vec<Date> = action
                .sustainment_checks
                .iter()
                .filter(|c| c.result.is_none() && c.due <= soon)
                .map(|c| c.due)
                .collect();
            if mine && status.is_open_for_delivery() {
                if let Some(due) = action.due_current.filter(|d| *d <= soon) {
                    let note = if action.is_overdue(today) {
                        overdue_by(action.days_overdue(today))
                    } else {
                        format!("Due {}", due.long())
                    };
                    own.push(said(note, Some(due)));
                }
            }
            if mine
                && matches!(
                    status,
                    Status::Agreed | Status::InProgress | Status::Reopened
                )
                && !action.updates.iter().any(|u| u.at.date() >= month_start)
            {
                updates.push(said(
                    format!(
                        "No progress update yet this month: due by {}",
                        month_end.long()
                    ),
                    Some(month_end),
                ));
            }
            if mine && matches!(status, Status::Closed | Status::Embedded) {
                for due in &checks_due {
                    own.push(said(
                        format!(
                            "Re-audit due {}: show the change is still in place",
                            due.long()
                        ),
                        Some(*due),
                    ));
                }
            }
            if status == Status::Imported {
                let claim = crate::lifecycle::imported_claim(&action.transitions)
                    .map_or("done", |s| s.label());
                if may_append(actor, Log::EvidenceReviews, action) {
                    reviews.push(said(
                        format!("Imported as \"{claim}\": confirm it with evidence, or return it"),
                        action.due_current,
                    ));
                }
                // The programme office records what closed it before.
                if administers(role) {
                    decisions.push(said(
                        format!("Imported as \"{claim}\": record the decision that closed it, if there was one"),
                        action.due_current,
                    ));
                }
            }
            // A completion its executive lead is to endorse.
            if status == Status::CompletionProposed
                && role == Role::Lead
                && crate::workflow::moves(actor, action)
                    .iter()
                    .any(|(to, why)| *to == Status::Endorsed && why.is_none())
            {
                endorse.push(said(
                    format!(
                        "Proposed complete with {}: endorse it, or send it back",
                        pieces(action.evidence.len())
                    ),
                    action.due_current,
                ));
            }
            if may_append(actor, Log::EvidenceReviews, action) {
                if status != Status::Imported
                    && crate::workflow::offers(actor, action, today).review
                {
                    reviews.push(said(
                        format!("{} to review", pieces(action.evidence.len())),
                        action.due_current,
                    ));
                }
                if matches!(status, Status::Closed | Status::Embedded) {
                    for due in &checks_due {
                        reaudits.push(said(format!("Re-audit due {}", due.long()), Some(*due)));
                    }
                }
            }
            if status == Status::EvidenceAccepted && may_append(actor, Log::Decisions, action) {
                decisions.push(said("Evidence accepted: ready for the forum".into(), None));
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
                failed.push(task(
                    note,
                    "A re-audit failed and reopened it".into(),
                    action.due_current,
                ));
            }
            if role == Role::Lead && action.exec_lead == user && status.is_open_for_delivery() {
                if action.is_overdue(today) {
                    overdue.push(said(
                        overdue_by(action.days_overdue(today)),
                        action.due_current,
                    ));
                }
                if let Some(c @ (Confidence::OffTrack | Confidence::AtRisk)) = action.confidence {
                    confidence.push(said(c.label().to_owned(), action.due_current));
                }
                let last = action.updates.last().map(|u| u.at);
                if last.is_none_or(|at| at < month_ago) {
                    quiet.push(said(
                        last.map_or_else(
                            || "No progress update yet".to_owned(),
                            |at| format!("Last update {}", at.date().long()),
                        ),
                        action.due_current,
                    ));
                }
            }
            if crate::workflow::offers(actor, action, today).answer {
                for request in action
                    .wording_requests
                    .iter()
                    .filter(|r| r.answer.is_none())
                {
                    let what = request.text.label().to_ascii_lowercase();
                    answers.push(task(
                        format!("New wording of the {what} asked: {}", request.reason),
                        format!("New wording of the {what} asked"),
                        action.due_current,
                    ));
                }
                for request in action.due_requests.iter().filter(|r| r.answer.is_none()) {
                    let asked = format!("New date {} asked", request.new_due.long());
                    answers.push(task(
                        format!("{asked}: {}", request.reason),
                        asked,
                        Some(request.new_due),
                    ));
                }
                if status == Status::Draft {
                    agree.push(said("Draft: to agree".into(), action.due_current));
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
    WorkList::ALL.into_iter().zip(lists).collect()
}

/// "1 piece of evidence", "3 pieces of evidence".
fn pieces(n: usize) -> String {
    if n == 1 {
        "1 piece of evidence".to_owned()
    } else {
        format!("{n} pieces of evidence")
    }
}

/// "1 day overdue", "3 days overdue".
fn overdue_by(days: i64) -> String {
    if days == 1 {
        "1 day overdue".to_owned()
    } else {
        format!("{days} days overdue")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Status;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A lead's My work is their portfolio (issue 15): their overdue,
    /// off-track and quiet actions, and one a failed re-audit reopened,
    /// which its owner sees too; another lead sees none of it.
    #[test]
    fn a_leads_work_is_their_portfolio() {
        use crate::{ActionId, Confidence, LogEntry, NewAction, PlanDoc, Transition, UserId};
        use yrs::Transact;
        let today = Date::from_ymd(2026, 11, 26).unwrap();
        let plan = PlanDoc::new(crate::new_doc());
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
                    at: crate::UnixMillis(1),
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
                    at: crate::UnixMillis(1),
                    note: "Re-audit failed: two doors propped open".into(),
                    baseline: true,
                }),
            )
            .unwrap();
            // Proposed complete with evidence: the lead endorses it first.
            let proposed = ActionId::new("a-3").unwrap();
            plan.add_action(&mut txn, &proposed, &new("MD1.3")).unwrap();
            let owner = user("d.hughes");
            let who = crate::workflow::Who {
                user: &owner,
                role: Role::Contributor,
                at: crate::UnixMillis(2),
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
            crate::workflow::attach_evidence(
                &plan,
                &mut txn,
                &proposed,
                &who,
                &crate::workflow::EvidenceInput::new(crate::EvidenceKind::Note, "Audit", ""),
                1,
            )
            .unwrap();
            crate::workflow::propose_completion(&plan, &mut txn, &proposed, &who, "done").unwrap();
        }
        let view = plan.read(&plan.doc().transact());
        let plans = [(DocId::new("demo_estates").unwrap(), view)];
        let heads = |who: &str, role: Role| -> Vec<(&'static str, usize)> {
            work_for(
                who,
                role,
                crate::Governance::DEFAULT,
                &plans,
                today,
                Horizon::my_work(today),
            )
            .into_iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(h, l)| (h.heading(), l.len()))
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
