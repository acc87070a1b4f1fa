//! The monthly board report, computed from the documents alone (so it works
//! offline, and the page, the export and the tests agree): the counts of
//! [`ProgrammeMetrics`], the extension requests, the proposed closures, the
//! decisions since the last report, and the trend of counts per month derived
//! from the transition logs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::entries::Decision;
use crate::ids::{ActionId, Date, DocId, UnixMillis, UserId};
use crate::lifecycle::fold_status;
use crate::metrics::ProgrammeMetrics;
use crate::plan::{ActionView, PlanView};
use crate::programme::ProgrammeView;
use crate::vocab::{DueChangeVerdict, Status};

/// A due-date change request, for the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtensionRequest {
    /// Its plan.
    pub plan: DocId,
    /// Its action.
    pub action: ActionId,
    /// The action's reference.
    pub reference: String,
    /// The action's title.
    pub title: String,
    /// Who owns the action.
    pub owner: Option<UserId>,
    /// The due date agreed first.
    pub due_original: Option<Date>,
    /// The date asked for.
    pub new_due: Date,
    /// Why.
    pub reason: String,
    /// When it was asked.
    pub requested_at: UnixMillis,
    /// The lead's answer, if given.
    pub answer: Option<DueChangeVerdict>,
}

/// An action awaiting assurance or closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposedClosure {
    /// Its plan.
    pub plan: DocId,
    /// Its action.
    pub action: ActionId,
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// Who owns it.
    pub owner: Option<UserId>,
    /// Completion proposed, or evidence accepted.
    pub status: Status,
    /// Pieces of evidence attached.
    pub evidence: usize,
}

/// A forum's decision, for the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionRow {
    /// Its plan.
    pub plan: DocId,
    /// Its action.
    pub action: ActionId,
    /// The action's reference.
    pub reference: String,
    /// The decision.
    pub decision: Decision,
}

/// The counts at the end of one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrendPoint {
    /// "2026-03".
    pub month: String,
    /// Actions per status at the end of that month (actions created later
    /// are not counted).
    pub by_status: BTreeMap<Status, usize>,
}

/// Everything the board paper shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardReport {
    /// The day it was computed for.
    pub today: Date,
    /// Changes since this moment count as new ("since the last report").
    pub since: UnixMillis,
    /// The counts.
    pub metrics: ProgrammeMetrics,
    /// Due-date requests pending, or made since the last report.
    pub extension_requests: Vec<ExtensionRequest>,
    /// Actions awaiting assurance or a forum's closure.
    pub proposed_closures: Vec<ProposedClosure>,
    /// Decisions recorded since the last report.
    pub decisions: Vec<DecisionRow>,
    /// Counts per month, oldest first.
    pub trend: Vec<TrendPoint>,
    /// Re-audits due by today and not yet done.
    pub reaudits_due: usize,
}

/// The end of `date`'s month, in Unix milliseconds (UTC).
fn month_end_millis(year: i32, month: u8) -> i64 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    Date::from_ymd(ny, nm, 1).map_or(i64::MAX, |d| d.unix_millis() - 1)
}

impl BoardReport {
    /// Computes the report for `today`, counting as new what happened after
    /// `since`, with a trend of up to `months` months ending with today's.
    pub fn compute(
        programme: &ProgrammeView,
        plans: &[(DocId, PlanView)],
        today: Date,
        since: UnixMillis,
        months: u32,
    ) -> BoardReport {
        let metrics = ProgrammeMetrics::compute(programme, plans, today);
        let mut extension_requests = Vec::new();
        let mut proposed_closures = Vec::new();
        let mut decisions = Vec::new();
        let mut reaudits_due = 0;
        let actions = plans
            .iter()
            .flat_map(|(id, plan)| plan.actions.values().map(move |a| (id, a)));
        for (plan, action) in actions.clone() {
            for request in &action.due_requests {
                let answer = request.answer.as_ref().map(|(verdict, ..)| *verdict);
                if answer.is_none() || request.at > since {
                    extension_requests.push(ExtensionRequest {
                        plan: plan.clone(),
                        action: action.id.clone(),
                        reference: action.reference.clone(),
                        title: action.title.clone(),
                        owner: action.owner.clone(),
                        due_original: action.due_original,
                        new_due: request.new_due,
                        reason: request.reason.clone(),
                        requested_at: request.at,
                        answer,
                    });
                }
            }
            let status = action.status();
            if matches!(
                status,
                Status::CompletionProposed | Status::Endorsed | Status::EvidenceAccepted
            ) {
                proposed_closures.push(ProposedClosure {
                    plan: plan.clone(),
                    action: action.id.clone(),
                    reference: action.reference.clone(),
                    title: action.title.clone(),
                    owner: action.owner.clone(),
                    status,
                    evidence: action.evidence.len(),
                });
            }
            for decision in action.decisions.iter().filter(|d| d.at > since) {
                decisions.push(DecisionRow {
                    plan: plan.clone(),
                    action: action.id.clone(),
                    reference: action.reference.clone(),
                    decision: decision.clone(),
                });
            }
            if matches!(status, Status::Closed | Status::Embedded) {
                reaudits_due += action
                    .sustainment_checks
                    .iter()
                    .filter(|c| c.result.is_none() && c.due <= today)
                    .count();
            }
        }
        extension_requests.sort_by(|a, b| a.reference.cmp(&b.reference));
        proposed_closures.sort_by(|a, b| a.reference.cmp(&b.reference));
        decisions.sort_by(|a, b| {
            a.decision
                .meeting_date
                .cmp(&b.decision.meeting_date)
                .then_with(|| a.reference.cmp(&b.reference))
        });
        let trend = trend(actions.map(|(_, a)| a), today, months);
        BoardReport {
            today,
            since,
            metrics,
            extension_requests,
            proposed_closures,
            decisions,
            trend,
            reaudits_due,
        }
    }
}

/// The plans as they stood at `until` (see [`crate::plan::ActionView::as_at`]).
pub fn plans_as_at(plans: &[(DocId, PlanView)], until: UnixMillis) -> Vec<(DocId, PlanView)> {
    plans
        .iter()
        .map(|(id, plan)| (id.clone(), plan.as_at(until)))
        .collect()
}

/// Months of history a trend needs before it is shown: fewer say nothing
/// about direction.
pub const TREND_MIN_MONTHS: usize = 3;

/// The status of each action at the end of each of the last `months`
/// months (ending with `today`'s): the fold of its transitions made by then.
/// Months before the first status change of any action (before the
/// programme, or its imported history, began) are left out.
pub fn trend<'a>(
    actions: impl Iterator<Item = &'a ActionView> + Clone,
    today: Date,
    months: u32,
) -> Vec<TrendPoint> {
    let start = actions
        .clone()
        .flat_map(|a| a.transitions.iter().map(|t| t.at))
        .min();
    let (year, month, _) = today.ymd();
    let ends: Vec<(String, i64)> = (0..months.max(1))
        .rev()
        .map(|back| {
            let index = i64::from(year) * 12 + i64::from(month) - 1 - i64::from(back);
            let (y, m) = (
                i32::try_from(index.div_euclid(12)).unwrap_or(year),
                u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1),
            );
            (format!("{y:04}-{m:02}"), month_end_millis(y, m))
        })
        .collect();
    let ends: Vec<(String, i64)> = ends
        .into_iter()
        .filter(|(_, end)| start.is_some_and(|s| s.0 <= *end))
        .collect();
    let mut points: Vec<TrendPoint> = ends
        .iter()
        .map(|(month, _)| TrendPoint {
            month: month.clone(),
            by_status: Status::ALL.iter().map(|&s| (s, 0)).collect(),
        })
        .collect();
    for action in actions {
        let first = action.transitions.iter().map(|t| t.at).min();
        for (point, (_, end)) in points.iter_mut().zip(&ends) {
            let end = UnixMillis(*end);
            if first.is_some_and(|first| first > end) {
                continue;
            }
            let log: Vec<_> = action
                .transitions
                .iter()
                .filter(|t| t.at <= end)
                .cloned()
                .collect();
            let status = fold_status(&log, &action.fold_facts(Some(end))).status;
            *point.by_status.entry(status).or_default() += 1;
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::Transition;
    use crate::vocab::Role;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn transition(to: Status, at: i64) -> Transition {
        Transition {
            to,
            by: UserId::new("pm").unwrap(),
            role: Role::Admin,
            at: UnixMillis(at),
            note: String::new(),
            baseline: true,
        }
    }

    fn blank_action(id: &str) -> ActionView {
        ActionView {
            id: ActionId::new(id).unwrap(),
            reference: id.to_uppercase(),
            title: String::new(),
            description: String::new(),
            closure_criteria: String::new(),
            finding_ids: vec![],
            workstream_id: None,
            phase_id: None,
            exec_lead: String::new(),
            owner: None,
            due_original: None,
            due_current: None,
            confidence: None,
            confidence_set: None,
            assurance: None,
            reported_colour: None,
            transitions: vec![],
            fold: fold_status(&[], &crate::lifecycle::FoldFacts::bare(None)),
            updates: vec![],
            evidence: vec![],
            evidence_reviews: vec![],
            decisions: vec![],
            due_requests: vec![],
            wording_requests: vec![],
            due_changes: vec![],
            sustainment: vec![],
            sustainment_checks: vec![],
            created: None,
        }
    }

    #[test]
    fn the_trend_folds_what_had_happened_by_each_month_end() {
        let march = Date::from_ymd(2026, 3, 15).unwrap().unix_millis();
        let may = Date::from_ymd(2026, 5, 2).unwrap().unix_millis();
        let mut action = blank_action("a-1");
        action.transitions = vec![transition(Status::InProgress, march)];
        let mut later = blank_action("a-2");
        later.transitions = vec![transition(Status::Agreed, may)];
        let today = Date::from_ymd(2026, 5, 20).unwrap();
        let points = trend([&action, &later].into_iter(), today, 4);
        let months: Vec<&str> = points.iter().map(|p| p.month.as_str()).collect();
        // February, before anything happened, is left out.
        assert_eq!(months, ["2026-03", "2026-04", "2026-05"]);
        let count = |i: usize, s: Status| points[i].by_status[&s];
        assert_eq!(count(0, Status::InProgress), 1);
        assert_eq!(count(1, Status::Agreed), 0, "a-2 began in May");
        assert_eq!(count(2, Status::Agreed), 1);
        assert_eq!(count(2, Status::InProgress), 1);
    }

    /// A report "as at" a moment reproduces what a report made then said,
    /// whatever happened after (issue 16).
    #[test]
    fn a_report_as_at_a_moment_is_the_report_made_then() {
        use crate::programme::ProgrammeView;
        let day = |d: u8| Date::from_ymd(2026, 3, d).unwrap().unix_millis();
        let mut a = blank_action("a-1");
        a.created = Some(UnixMillis(day(1)));
        a.transitions = vec![transition(Status::Agreed, day(2))];
        let mut b = blank_action("a-2");
        b.created = Some(UnixMillis(day(10)));
        let plan = |actions: Vec<ActionView>| PlanView {
            info: Default::default(),
            findings: Default::default(),
            actions: actions
                .into_iter()
                .map(|a| (a.id.clone(), a.derived()))
                .collect(),
            problems: vec![],
        };
        let doc = DocId::new("plan").unwrap();
        let programme = ProgrammeView::default();
        let then = UnixMillis(day(5));
        let before = vec![(doc.clone(), plan(vec![a.clone()]))];
        let made_then = BoardReport::compute(&programme, &before, then.date(), UnixMillis(0), 3);
        // Later: a-1 moves on, a-2 is added.
        a.transitions.push(transition(Status::InProgress, day(12)));
        let now = vec![(doc, plan(vec![a, b]))];
        let as_at = BoardReport::compute(
            &programme,
            &plans_as_at(&now, then),
            then.date(),
            UnixMillis(0),
            3,
        );
        assert_eq!(as_at.metrics, made_then.metrics);
        assert_eq!(as_at.trend, made_then.trend);
        assert_eq!(made_then.metrics.all.total, 1);
        let today = BoardReport::compute(
            &programme,
            &now,
            Date::from_ymd(2026, 3, 20).unwrap(),
            UnixMillis(0),
            3,
        );
        assert_eq!(today.metrics.all.total, 2);
    }

    /// The owner's confidence is logged with progress updates, so the
    /// colours "as at" a day are that day's (issue 16): imported at risk,
    /// off track on the 5th, on track on the 12th.
    #[test]
    fn the_colour_as_at_a_day_is_that_days_confidence() {
        use crate::colours::ColourScheme;
        use crate::entries::ProgressUpdate;
        use crate::vocab::{Colour, Confidence};
        let day = |d: u8| Date::from_ymd(2026, 3, d).unwrap().unix_millis();
        let mut a = blank_action("a-1");
        a.created = Some(UnixMillis(day(1)));
        a.transitions = vec![transition(Status::InProgress, day(1))];
        a.confidence_set = Some(Confidence::AtRisk);
        let update = |d: u8, c: Confidence| ProgressUpdate {
            id: crate::ids::EntryId::new(format!("u-{d}")).unwrap(),
            text: String::new(),
            by: UserId::new("owner").unwrap(),
            at: UnixMillis(day(d)),
            confidence: Some(c),
        };
        a.updates = vec![
            update(5, Confidence::OffTrack),
            ProgressUpdate {
                confidence: None,
                ..update(8, Confidence::OffTrack)
            },
            update(12, Confidence::OnTrack),
        ];
        let a = a.derived();
        let scheme = ColourScheme::default();
        let colour_at = |d: u8| {
            let then = a.as_at(UnixMillis(day(d))).unwrap();
            (
                then.confidence,
                scheme.colour_of(&then, then.created.unwrap().date()),
            )
        };
        assert_eq!(colour_at(3), (Some(Confidence::AtRisk), Colour::Amber));
        assert_eq!(colour_at(9), (Some(Confidence::OffTrack), Colour::Red));
        assert_eq!(colour_at(20), (Some(Confidence::OnTrack), Colour::Green));
        assert_eq!(a.confidence, Some(Confidence::OnTrack));
        // The field is still what the import set.
        assert_eq!(a.confidence_set, Some(Confidence::AtRisk));
    }

    #[test]
    fn trend_months_cross_the_year() {
        let mut action = blank_action("a-1");
        let november = Date::from_ymd(2025, 11, 3).unwrap().unix_millis();
        action.transitions = vec![transition(Status::Agreed, november)];
        let points = trend(
            [&action].into_iter(),
            Date::from_ymd(2026, 2, 1).unwrap(),
            3,
        );
        let months: Vec<&str> = points.iter().map(|p| p.month.as_str()).collect();
        assert_eq!(months, ["2025-12", "2026-01", "2026-02"]);
        // Nothing at all has happened: no months.
        assert!(trend(std::iter::empty(), Date::from_ymd(2026, 2, 1).unwrap(), 3).is_empty());
    }
}
