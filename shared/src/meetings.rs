//! A forum's meeting: its agenda, drawn from the plans (the closures
//! awaiting the forum, the due-date extensions asked for, the re-audits that
//! failed), what it decided (the decisions that name it), and the chair's
//! report to the board in the Alert / Advise / Assure form, drafted from
//! those decisions.
//!
//! What awaits a decision is tabled at one meeting: the next of a forum
//! that decides on actions ([`crate::vocab::Remit`]); a board that receives
//! reports gets none. An item stays on a meeting's
//! agenda once the meeting has decided on it (its decision names the
//! meeting), so the pack still reads as it was tabled after the actions
//! move on.

use crate::entries::Decision;
use crate::ids::{Date, DocId, MeetingId};
use crate::metrics::{assured_level, Group};
use crate::plan::{ActionView, PlanView};
use crate::programme::ProgrammeView;
use crate::vocab::{DecisionOutcome, Remit, Status};

/// Why an action is on the agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    /// Its evidence is accepted: the forum approves its closure or returns
    /// it.
    Closure,
    /// Its owner asked for a later due date: the forum notes it (the
    /// executive lead answers).
    Extension,
    /// A re-audit found the change not sustained: reopened, for the forum
    /// to hear.
    ReauditFailed,
}

impl ItemKind {
    /// The words on the agenda.
    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Closure => "Proposed closure",
            ItemKind::Extension => "Extension requested",
            ItemKind::ReauditFailed => "Re-audit failed",
        }
    }

    /// The decisions the forum may record on such an item.
    pub fn outcomes(self) -> &'static [DecisionOutcome] {
        match self {
            ItemKind::Closure => &[DecisionOutcome::ApproveClosure, DecisionOutcome::Return],
            ItemKind::Extension => &[DecisionOutcome::Extend],
            ItemKind::ReauditFailed => &[],
        }
    }
}

/// One item of a meeting's agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaItem {
    /// Its place on the agenda, from 1.
    pub number: usize,
    /// Why it is there.
    pub kind: ItemKind,
    /// The action's plan.
    pub plan: DocId,
    /// The action, as it is.
    pub action: ActionView,
    /// The decisions recorded at this meeting on it.
    pub decisions: Vec<Decision>,
}

impl AgendaItem {
    /// Whether the meeting has decided on it.
    pub fn decided(&self) -> bool {
        !self.decisions.is_empty()
    }
}

/// Whether a re-audit failure reopened `action` (its last status change).
fn reopened_by_reaudit(action: &ActionView) -> bool {
    action.status() == Status::Reopened
        && action
            .transitions
            .last()
            .is_some_and(|t| t.note.starts_with("Re-audit failed"))
}

/// Something awaiting a forum's decision, not decided yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awaiting<'a> {
    /// Why.
    pub kind: ItemKind,
    /// The action's plan.
    pub plan: &'a DocId,
    /// The action.
    pub action: &'a ActionView,
    /// The day it began to await a decision (the evidence accepted, the
    /// extension asked for, the re-audit failed).
    pub since: Date,
}

/// Everything awaiting a forum's decision across `plans`.
pub fn awaiting(plans: &[(DocId, PlanView)]) -> Vec<Awaiting<'_>> {
    let mut out = Vec::new();
    for (plan, view) in plans {
        for action in view.actions.values() {
            let changed = action.transitions.last().map(|t| t.at.date());
            let mut add = |kind: ItemKind, since: Option<Date>| {
                if let Some(since) = since {
                    out.push(Awaiting {
                        kind,
                        plan,
                        action,
                        since,
                    });
                }
            };
            if action.status() == Status::EvidenceAccepted {
                add(ItemKind::Closure, changed);
            }
            if let Some(request) = action.due_requests.iter().find(|r| r.answer.is_none()) {
                add(ItemKind::Extension, Some(request.at.date()));
            }
            if reopened_by_reaudit(action) {
                add(ItemKind::ReauditFailed, changed);
            }
        }
    }
    out
}

/// Days after a meeting in which it still takes what awaits a decision,
/// until its chair's report is written: the chair records the decisions
/// from the minutes, often after the day.
pub const RECORDING_DAYS: i64 = 7;

/// The meeting at which what awaits a decision on `today` is tabled: the
/// earliest meeting of a forum that decides on actions that is today or
/// later, or that was held in the last [`RECORDING_DAYS`] and has no chair's
/// report yet (ties by id). None when no such meeting is planned. A meeting
/// written up keeps what it decided; what it left undecided moves on to the
/// next.
pub fn tabled_at(programme: &ProgrammeView, today: Date) -> Option<&MeetingId> {
    programme
        .meetings
        .iter()
        .filter(|(_, meeting)| {
            let decides = meeting
                .forum_id
                .as_ref()
                .and_then(|f| programme.forums.get(f))
                .is_some_and(|f| f.remit == Remit::Decides);
            let written_up = !(meeting.alert.trim().is_empty()
                && meeting.advise.trim().is_empty()
                && meeting.assure.trim().is_empty());
            decides
                && meeting.date.is_some_and(|day| {
                    day >= today || (day.days_until(today) <= RECORDING_DAYS && !written_up)
                })
        })
        .min_by_key(|(id, meeting)| (meeting.date, *id))
        .map(|(id, _)| id)
}

/// The agenda of meeting `id` of `programme` on `today`: what awaits its
/// forum and is tabled at it ([`tabled_at`]), and what this meeting has
/// decided already; closures first, then extensions, then re-audit
/// failures, each by reference.
pub fn agenda(
    id: &MeetingId,
    programme: &ProgrammeView,
    plans: &[(DocId, PlanView)],
    today: Date,
) -> Vec<AgendaItem> {
    let mut items: Vec<AgendaItem> = Vec::new();
    let decided_here = |action: &ActionView| -> Vec<Decision> {
        action
            .decisions
            .iter()
            .filter(|d| d.meeting.as_ref() == Some(id))
            .cloned()
            .collect()
    };
    let item = |kind: ItemKind, plan: &DocId, action: &ActionView, here: &[Decision]| AgendaItem {
        number: 0,
        kind,
        plan: plan.clone(),
        action: action.clone(),
        decisions: here
            .iter()
            .filter(|d| kind.outcomes().contains(&d.outcome))
            .cloned()
            .collect(),
    };
    for (plan, view) in plans {
        for action in view.actions.values() {
            let here = decided_here(action);
            for kind in [ItemKind::Closure, ItemKind::Extension] {
                if here.iter().any(|d| kind.outcomes().contains(&d.outcome)) {
                    items.push(item(kind, plan, action, &here));
                }
            }
        }
    }
    if tabled_at(programme, today) == Some(id) {
        for waiting in awaiting(plans) {
            let already = items.iter().any(|i| {
                i.kind == waiting.kind
                    && i.action.id == waiting.action.id
                    && &i.plan == waiting.plan
            });
            if !already {
                let here = decided_here(waiting.action);
                items.push(item(waiting.kind, waiting.plan, waiting.action, &here));
            }
        }
    }
    items.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| a.action.reference.cmp(&b.action.reference))
    });
    for (n, item) in items.iter_mut().enumerate() {
        item.number = n + 1;
    }
    items
}

/// The chair's report to the board, drafted from a meeting's agenda and
/// decisions (the programme office edits it before it goes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChairReport {
    /// What the board must know.
    pub alert: String,
    /// What the committee advises.
    pub advise: String,
    /// What it is assured of.
    pub assure: String,
}

fn references(items: &[&AgendaItem]) -> String {
    items
        .iter()
        .map(|i| i.action.reference.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Drafts the chair's report from `items` (the meeting's agenda).
pub fn draft_chair_report(items: &[AgendaItem]) -> ChairReport {
    let outcome_of =
        |i: &AgendaItem, o: DecisionOutcome| i.decisions.iter().any(|d| d.outcome == o);
    let approved: Vec<&AgendaItem> = items
        .iter()
        .filter(|i| outcome_of(i, DecisionOutcome::ApproveClosure))
        .collect();
    let returned: Vec<&AgendaItem> = items
        .iter()
        .filter(|i| outcome_of(i, DecisionOutcome::Return))
        .collect();
    let extended: Vec<&AgendaItem> = items
        .iter()
        .filter(|i| i.kind == ItemKind::Extension)
        .collect();
    let failed: Vec<&AgendaItem> = items
        .iter()
        .filter(|i| i.kind == ItemKind::ReauditFailed)
        .collect();
    let undecided: Vec<&AgendaItem> = items
        .iter()
        .filter(|i| i.kind == ItemKind::Closure && !i.decided())
        .collect();
    let mut assure = String::new();
    if !approved.is_empty() {
        let mut levels: Vec<String> = Vec::new();
        for level in [
            crate::vocab::Assurance::Substantial,
            crate::vocab::Assurance::Reasonable,
            crate::vocab::Assurance::Limited,
        ] {
            let n = approved
                .iter()
                .filter(|i| assured_level(&i.action) == Group::Of(level))
                .count();
            if n > 0 {
                levels.push(format!(
                    "{n} with {} assurance",
                    level.label().to_ascii_lowercase()
                ));
            }
        }
        assure = format!(
            "The committee approved the closure of {} action(s) whose evidence a validator had accepted ({}): {}. Each is re-audited on the programme's schedule before it counts as embedded.",
            approved.len(),
            levels.join(", "),
            references(&approved)
        );
    }
    let mut advise = Vec::new();
    if !returned.is_empty() {
        let reasons: Vec<String> = returned
            .iter()
            .map(|i| {
                let why = i
                    .decisions
                    .iter()
                    .find(|d| d.outcome == DecisionOutcome::Return)
                    .map(|d| d.note.clone())
                    .unwrap_or_default();
                format!("{} ({why})", i.action.reference)
            })
            .collect();
        advise.push(format!(
            "{} action(s) returned to their owners: {}.",
            returned.len(),
            reasons.join("; ")
        ));
    }
    if !extended.is_empty() {
        advise.push(format!(
            "{} request(s) for a later due date noted: {}.",
            extended.len(),
            references(&extended)
        ));
    }
    let mut alert = Vec::new();
    if !failed.is_empty() {
        alert.push(format!(
            "{} re-audit(s) found the change not sustained; the actions are reopened: {}.",
            failed.len(),
            references(&failed)
        ));
    }
    if !undecided.is_empty() {
        alert.push(format!(
            "{} proposed closure(s) not decided at this meeting: {}.",
            undecided.len(),
            references(&undecided)
        ));
    }
    ChairReport {
        alert: alert.join(" "),
        advise: advise.join(" "),
        assure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::{LogEntry, Transition};
    use crate::ids::ForumId;
    use crate::ids::{ActionId, Date, UnixMillis, UserId};
    use crate::lifecycle::Governance;
    use crate::plan::{NewAction, PlanDoc};
    use crate::programme::{Forum, Meeting};
    use crate::vocab::{Assurance, EvidenceKind, EvidenceVerdict, Role};
    use crate::workflow::{self, DecisionInput, EvidenceInput, Who};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::Transact;

    fn user(name: &str) -> UserId {
        UserId::new(name).unwrap()
    }

    /// Three actions: MD1 with its evidence accepted, MD2 with a later due
    /// date asked for, MD3 in progress (nothing for the forum).
    fn plan() -> PlanDoc {
        let plan = PlanDoc::new(crate::doc::new_doc());
        let (owner, lead, validator) = (user("owner"), user("lead"), user("validator"));
        let who = |u: &UserId, role| Who {
            user: Box::leak(Box::new(u.clone())),
            role,
            at: UnixMillis(1_790_000_000_000),
        };
        let mut txn = plan.doc().transact_mut();
        for reference in ["MD1", "MD2", "MD3"] {
            let id = ActionId::new(reference.to_ascii_lowercase()).unwrap();
            plan.add_action(
                &mut txn,
                &id,
                &NewAction {
                    reference: reference.into(),
                    title: format!("Action {reference}"),
                    description: String::new(),
                    finding_ids: vec![],
                    workstream_id: None,
                    phase_id: None,
                    exec_lead: "lead".into(),
                    owner: Some(owner.clone()),
                    due: Date::parse_iso("2027-01-31").ok(),
                    confidence: None,
                    closure_criteria: String::new(),
                },
            )
            .unwrap();
            for (to, by, role) in [
                (Status::Agreed, &lead, Role::Lead),
                (Status::InProgress, &owner, Role::Contributor),
            ] {
                plan.append(
                    &mut txn,
                    &id,
                    &LogEntry::Transition(Transition {
                        to,
                        by: by.clone(),
                        role,
                        at: UnixMillis(1),
                        note: String::new(),
                        baseline: false,
                    }),
                )
                .unwrap();
            }
        }
        let md1 = ActionId::new("md1").unwrap();
        let as_owner = who(&owner, Role::Contributor);
        let e = workflow::attach_evidence(
            &plan,
            &mut txn,
            &md1,
            &as_owner,
            &EvidenceInput::new(EvidenceKind::Note, "Audit", ""),
            1,
        )
        .unwrap();
        workflow::propose_completion(&plan, &mut txn, &md1, &as_owner, "").unwrap();
        plan.append(
            &mut txn,
            &md1,
            &LogEntry::Transition(Transition {
                to: Status::Endorsed,
                by: lead.clone(),
                role: Role::Lead,
                at: UnixMillis(2),
                note: String::new(),
                baseline: false,
            }),
        )
        .unwrap();
        workflow::review_evidence(
            &plan,
            &mut txn,
            &md1,
            &who(&validator, Role::Validator),
            &e,
            EvidenceVerdict::Accepted,
            "",
            true,
            Some(Assurance::Substantial),
            &Governance::DEFAULT,
            2,
        )
        .unwrap();
        workflow::request_due_change(
            &plan,
            &mut txn,
            &ActionId::new("md2").unwrap(),
            &as_owner,
            Date::parse_iso("2027-03-31").unwrap(),
            "Estates delay",
            3,
        )
        .unwrap();
        drop(txn);
        plan
    }

    /// A committee that decides (meetings on 20 January and 17 February
    /// 2027) and a board that receives reports (27 January).
    fn programme() -> ProgrammeView {
        let mut programme = ProgrammeView::default();
        for (id, name, remit) in [
            ("qsc", "Quality and Safety Committee", Remit::Decides),
            ("board", "Trust Board", Remit::Receives),
        ] {
            programme.forums.insert(
                ForumId::new(id).unwrap(),
                Forum {
                    name: name.into(),
                    remit,
                },
            );
        }
        for (id, forum, day) in [
            ("qsc-2027-01", "qsc", "2027-01-20"),
            ("qsc-2027-02", "qsc", "2027-02-17"),
            ("board-2027-01", "board", "2027-01-27"),
        ] {
            programme.meetings.insert(
                MeetingId::new(id).unwrap(),
                Meeting {
                    forum_id: Some(ForumId::new(forum).unwrap()),
                    date: Date::parse_iso(day).ok(),
                    ..Meeting::default()
                },
            );
        }
        programme
    }

    #[test]
    fn what_awaits_is_tabled_at_the_next_meeting_of_a_deciding_forum() {
        let programme = programme();
        let day = |iso: &str| Date::parse_iso(iso).unwrap();
        let tabled = |today: &str| tabled_at(&programme, day(today)).map(MeetingId::as_str);
        assert_eq!(tabled("2027-01-10"), Some("qsc-2027-01"));
        // On the day, the meeting itself, and for a week after while its
        // chair writes it up (the board between takes no decisions).
        assert_eq!(tabled("2027-01-20"), Some("qsc-2027-01"));
        assert_eq!(tabled("2027-01-27"), Some("qsc-2027-01"));
        assert_eq!(tabled("2027-01-28"), Some("qsc-2027-02"));
        // Written up (its chair's report saved): the next meeting's.
        let mut written = programme.clone();
        if let Some(m) = written
            .meetings
            .get_mut(&MeetingId::new("qsc-2027-01").unwrap())
        {
            m.assure = "Closures approved.".into();
        }
        assert_eq!(
            tabled_at(&written, day("2027-01-21")).map(MeetingId::as_str),
            Some("qsc-2027-02")
        );
        // Nothing planned after February: nowhere, until a meeting is added.
        assert_eq!(tabled("2027-02-25"), None);
    }

    #[test]
    fn the_agenda_is_what_awaits_the_forum_and_stays_once_decided() {
        let plan = plan();
        let doc = DocId::new("demo_estates").unwrap();
        let meeting = MeetingId::new("qsc-2027-01").unwrap();
        let next = MeetingId::new("qsc-2027-02").unwrap();
        let board = MeetingId::new("board-2027-01").unwrap();
        let programme = programme();
        let today = Date::parse_iso("2027-01-10").unwrap();
        let read = |plan: &PlanDoc| vec![(doc.clone(), plan.read(&plan.doc().transact()))];
        let agenda = |id: &MeetingId, plans: &[(DocId, PlanView)], today: Date| {
            agenda(id, &programme, plans, today)
        };
        // Tabled at the committee's next meeting only: not the one after,
        // not the board's.
        assert!(agenda(&next, &read(&plan), today).is_empty());
        assert!(agenda(&board, &read(&plan), today).is_empty());
        let items = agenda(&meeting, &read(&plan), today);
        let summary: Vec<(usize, ItemKind, &str)> = items
            .iter()
            .map(|i| (i.number, i.kind, i.action.reference.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, ItemKind::Closure, "MD1"),
                (2, ItemKind::Extension, "MD2")
            ]
        );
        assert!(items.iter().all(|i| !i.decided()));
        // The chair approves MD1's closure at the meeting: closed, still on
        // its agenda, decided, and in the chair's report.
        let chair = user("chair");
        workflow::record_decision(
            &plan,
            &mut plan.doc().transact_mut(),
            &ActionId::new("md1").unwrap(),
            &Who {
                user: &chair,
                role: Role::Approver,
                at: UnixMillis(1_790_000_100_000),
            },
            &DecisionInput {
                forum: "Quality and Safety Committee",
                meeting_date: Date::parse_iso("2027-01-20").unwrap(),
                outcome: DecisionOutcome::ApproveClosure,
                minute_ref: "QSC/27/4",
                note: "",
                reaudit_months: &Governance::DEFAULT.reaudit_months(),
                meeting: Some(&meeting),
            },
            4,
        )
        .unwrap();
        let items = agenda(&meeting, &read(&plan), today);
        assert_eq!(items[0].action.status(), Status::Closed);
        assert!(items[0].decided());
        assert_eq!(items[0].decisions[0].meeting.as_ref(), Some(&meeting));
        // Another meeting's agenda does not have it.
        let other = agenda(&next, &read(&plan), today);
        assert!(other.iter().all(|i| i.action.reference != "MD1"));
        // A week after the meeting the extension nobody decided on has
        // moved to the next one; the decided closure stays where it was
        // decided.
        let later = Date::parse_iso("2027-01-28").unwrap();
        let moved: Vec<(ItemKind, String)> = agenda(&next, &read(&plan), later)
            .into_iter()
            .map(|i| (i.kind, i.action.reference))
            .collect();
        assert_eq!(moved, vec![(ItemKind::Extension, "MD2".to_owned())]);
        let kept: Vec<(ItemKind, String)> = agenda(&meeting, &read(&plan), later)
            .into_iter()
            .map(|i| (i.kind, i.action.reference))
            .collect();
        assert_eq!(kept, vec![(ItemKind::Closure, "MD1".to_owned())]);
        let report = draft_chair_report(&items);
        assert!(
            report
                .assure
                .contains("approved the closure of 1 action(s)"),
            "{report:?}"
        );
        assert!(
            report.assure.contains("1 with substantial assurance"),
            "{report:?}"
        );
        assert!(report.assure.contains("MD1"));
        assert!(report.advise.contains("MD2"), "{report:?}");
        assert!(report.alert.is_empty(), "{report:?}");
    }
}
