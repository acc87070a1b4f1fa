//! The board paper's main body, computed from the documents (so the page,
//! its print and the tests agree): the CQC requirements met, the warning
//! notice's failings against CQC's deadlines, the phases against their exit
//! criteria, colours by workstream with the change since the last paper,
//! the top exceptions, the closures approved and the re-audits since then.
//! The cover, the executive summary and the risks to delivery are the
//! programme office's words, kept in the programme document
//! ([`crate::programme::Paper`]).
//!
//! A paper issued to a meeting is computed as the programme stood at the
//! moment it was issued ([`crate::report::plans_as_at`]), so it shows what
//! was tabled after the data moves on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{ActionId, Date, DocId, MeetingId, UnixMillis, UserId};
use crate::metrics::{
    assured_level, finding_progress, FindingCounts, FindingProgress, Group, ProgrammeMetrics,
};
use crate::plan::PlanView;
use crate::programme::ProgrammeView;
use crate::vocab::{Colour, Confidence, DecisionOutcome, FindingKind, Status};

/// One of the warning notice's failings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingRow {
    /// CQC's reference.
    pub reference: String,
    /// What CQC required.
    pub text: String,
    /// CQC's compliance deadline.
    pub deadline: Option<Date>,
    /// Met, embedded or still open.
    pub progress: FindingProgress,
    /// When, and by which letter, CQC lifted it.
    pub lifted: Option<(Date, String)>,
}

/// A phase against its exit criteria.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRow {
    /// Its name.
    pub name: String,
    /// Its last day.
    pub ends: Option<Date>,
    /// How the programme knows it is done.
    pub exit_criteria: String,
    /// Its actions.
    pub total: usize,
    /// Of them, closed or embedded.
    pub closed: usize,
    /// Of them, overdue.
    pub overdue: usize,
}

/// A workstream's colours now, and the change since the last paper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkstreamRow {
    /// Its name.
    pub name: String,
    /// Actions by colour.
    pub colours: BTreeMap<Colour, usize>,
    /// The change by colour since the last paper (none without one).
    pub change: Option<BTreeMap<Colour, i64>>,
}

/// An action the board should know is in trouble.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    /// Its plan.
    pub plan: DocId,
    /// It.
    pub action: ActionId,
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// Its executive lead.
    pub lead: String,
    /// Days overdue (0 if not).
    pub days_overdue: i64,
    /// The owner's confidence.
    pub confidence: Option<Confidence>,
    /// The reason, from its latest progress update.
    pub reason: String,
    /// A later due date asked for and not yet answered.
    pub revised: Option<Date>,
}

/// A closure approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureRow {
    /// The action's reference.
    pub reference: String,
    /// The forum.
    pub forum: String,
    /// The day it met.
    pub meeting_date: Date,
    /// How much the accepted evidence assured.
    pub level: String,
}

/// A re-audit's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReauditRow {
    /// The action's reference.
    pub reference: String,
    /// Passed or failed.
    pub passed: bool,
    /// What it found.
    pub note: String,
    /// Who did it.
    pub by: UserId,
}

/// A later due date asked for and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRow {
    /// The action's reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// The date it is due now.
    pub due: Option<Date>,
    /// The date asked for.
    pub asked: Date,
    /// Why.
    pub reason: String,
}

/// Appendix A: the full lists the main paper shows the top of.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Appendix {
    /// Every action overdue or off track, most overdue first.
    pub exceptions: Vec<Exception>,
    /// Every closure approved since the last paper, the latest first.
    pub closures: Vec<ClosureRow>,
    /// Every re-audit since the last paper, the failures first.
    pub reaudits: Vec<ReauditRow>,
    /// Every extension asked for and not answered yet, by reference.
    pub extensions: Vec<ExtensionRow>,
}

/// The board paper's main body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperBody {
    /// The day it speaks for.
    pub today: Date,
    /// The requirements met, by kind.
    pub requirements: Vec<(FindingKind, FindingCounts)>,
    /// The warning notice's failings.
    pub failings: Vec<FailingRow>,
    /// The phases.
    pub phases: Vec<PhaseRow>,
    /// Colours by workstream.
    pub workstreams: Vec<WorkstreamRow>,
    /// The top exceptions (at most [`TOP_EXCEPTIONS`]), most overdue first.
    pub exceptions: Vec<Exception>,
    /// Overdue or off track in all.
    pub exceptions_in_all: usize,
    /// Closures approved since the last paper (the latest
    /// [`ROWS_SHOWN`]).
    pub closures: Vec<ClosureRow>,
    /// How many closures were approved since the last paper in all.
    pub closures_in_all: usize,
    /// Re-audit results since the last paper (the failures first, at most
    /// [`ROWS_SHOWN`]).
    pub reaudits: Vec<ReauditRow>,
    /// How many re-audits were done since the last paper in all.
    pub reaudits_in_all: usize,
    /// Actions reopened now.
    pub reopened: usize,
    /// Every action.
    pub total: usize,
    /// The full lists.
    #[serde(default)]
    pub appendix: Appendix,
    /// Phase 2: aims, measures with their charts, change ideas adopted,
    /// exit readiness (none in papers issued before it was added).
    #[serde(default)]
    pub phase2: PhaseTwoSection,
}

/// An aim of a driver diagram, as the board reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AimRow {
    /// What.
    pub text: String,
    /// By how much.
    pub amount: String,
    /// By when.
    pub by: Option<Date>,
    /// Its change ideas.
    pub ideas: usize,
    /// Of them, being tested (a PDSA cycle) or decided.
    pub tested: usize,
    /// Of them, adopted.
    pub adopted: usize,
}

/// A measure with its chart, as the board reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureRow {
    /// What it counts.
    pub name: String,
    /// Outcome, process or balancing.
    pub kind: Option<crate::vocab::MeasureKind>,
    /// Its unit.
    pub unit: String,
    /// Its target, as written.
    pub target: String,
    /// Its periods, in order.
    pub periods: Vec<Date>,
    /// Its chart over them.
    pub chart: crate::spc::Chart,
}

/// An exit criterion, as the board reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRow {
    /// What must be true.
    pub text: String,
    /// Met, partly, not.
    pub status: crate::vocab::ExitStatus,
    /// The evidence.
    pub evidence: String,
}

/// Phase 2 in the board paper.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PhaseTwoSection {
    /// The driver diagrams' aims.
    pub aims: Vec<AimRow>,
    /// Every measure, with its SPC chart.
    pub measures: Vec<MeasureRow>,
    /// The change ideas adopted, each with its aim.
    pub adopted: Vec<(String, String)>,
    /// The exit criteria.
    pub exit: Vec<ExitRow>,
    /// How many are met.
    pub readiness: crate::phase2::Readiness,
}

impl PhaseTwoSection {
    /// Whether the programme has any phase 2 to report.
    pub fn is_empty(&self) -> bool {
        self.aims.is_empty() && self.measures.is_empty() && self.exit.is_empty()
    }
}

/// Phase 2's section of the paper, from the programme as it stands.
pub fn phase_two_section(programme: &ProgrammeView) -> PhaseTwoSection {
    use crate::phase2::{chart, decision_of, diagrams, series};
    use crate::vocab::{DriverKind, ExitStatus};
    let aims = diagrams(programme)
        .iter()
        .map(|aim| {
            let ideas: Vec<_> = aim
                .walk()
                .into_iter()
                .filter(|n| n.driver.kind == Some(DriverKind::ChangeIdea))
                .collect();
            let tested = ideas
                .iter()
                .filter(|n| {
                    programme
                        .improvement
                        .cycles
                        .values()
                        .any(|c| c.change_idea.as_ref() == Some(&n.id))
                })
                .count();
            AimRow {
                text: aim.driver.text.clone(),
                amount: aim.driver.amount.clone(),
                by: aim.driver.by,
                ideas: ideas.len(),
                tested,
                adopted: ideas
                    .iter()
                    .filter(|n| {
                        decision_of(programme, &n.id) == Some(crate::vocab::PdsaDecision::Adopt)
                    })
                    .count(),
            }
        })
        .collect();
    let measures = programme
        .measures
        .iter()
        .map(|(id, measure)| {
            let values = series(programme, id);
            MeasureRow {
                name: measure.name.clone(),
                kind: measure.kind,
                unit: measure.unit.clone(),
                target: measure.target.clone(),
                periods: values.iter().map(|v| v.period).collect(),
                chart: chart(measure, &values),
            }
        })
        .collect();
    let exit = programme
        .improvement
        .exit_criteria
        .values()
        .map(|c| ExitRow {
            text: c.text.clone(),
            status: c.status.unwrap_or(ExitStatus::NotMet),
            evidence: c.evidence.clone(),
        })
        .collect();
    PhaseTwoSection {
        aims,
        measures,
        adopted: crate::phase2::adopted(programme),
        exit,
        readiness: crate::phase2::readiness(programme),
    }
}

/// A board paper as issued to its meeting: the programme office's words and
/// the figures as the server computed them at the moment of issue, frozen
/// (stored in the programme document, written by the server only), so the
/// paper shows what was tabled whatever happens after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedPaper {
    /// 1 for the first issue, 2 for a correction, ...
    pub version: usize,
    /// When it was issued.
    pub issued_at: UnixMillis,
    /// Who issued it.
    pub issued_by: UserId,
    /// The meeting, named as it was ("Trust Board, 27 January 2027").
    pub meeting: String,
    /// The cover, summary and risks to delivery as issued.
    pub words: crate::programme::Paper,
    /// The figures as they stood.
    pub body: PaperBody,
}

impl IssuedPaper {
    /// Its key in the programme document's issued papers.
    pub fn key(meeting: &MeetingId, version: usize) -> String {
        crate::programme::issued_key(meeting, version)
    }
}

/// The body of meeting `id`'s paper: as the programme stood at `at` (a
/// version's moment), or on `today` when `at` is none. What is new counts
/// from the paper's own "since", else from the last paper issued before;
/// the change in colours is against that paper as it was issued (its
/// frozen figures), or as the logs had it then for a paper never frozen.
///
/// `read` reads an issued paper's JSON (the caller's JSON reader).
pub fn body_for(
    programme: &ProgrammeView,
    id: &MeetingId,
    plans: &[(DocId, PlanView)],
    at: Option<UnixMillis>,
    now: UnixMillis,
    today: Date,
    read: &dyn Fn(&str) -> Option<IssuedPaper>,
) -> PaperBody {
    let paper = programme.papers.get(id).cloned().unwrap_or_default();
    let moment = at.unwrap_or(now);
    let previous = programme
        .papers
        .iter()
        .filter(|(other, _)| *other != id)
        .flat_map(|(meeting, p)| p.issues.iter().map(move |t| (*t, meeting)))
        .filter(|(t, _)| *t < moment)
        .max();
    let since = paper
        .since
        .or(previous.map(|(t, _)| t))
        .unwrap_or(UnixMillis(0));
    let frozen = previous.and_then(|(t, meeting)| {
        programme
            .issued
            .get(meeting)?
            .values()
            .filter_map(|json| read(json))
            .find(|p| p.issued_at == t)
    });
    let previous_plans = previous
        .filter(|_| frozen.is_none())
        .map(|(t, _)| crate::report::plans_as_at(plans, t));
    let mut body = match at {
        Some(t) => paper_body(
            programme,
            &crate::report::plans_as_at(plans, t),
            t.date(),
            since,
            previous_plans.as_deref(),
        ),
        None => paper_body(programme, plans, today, since, previous_plans.as_deref()),
    };
    if let Some(frozen) = &frozen {
        for row in &mut body.workstreams {
            let was = frozen.body.workstreams.iter().find(|w| w.name == row.name);
            let mut change: BTreeMap<Colour, i64> = BTreeMap::new();
            for colour in row
                .colours
                .keys()
                .chain(was.iter().flat_map(|w| w.colours.keys()))
            {
                let count = |c: Option<&BTreeMap<Colour, usize>>| {
                    c.and_then(|c| c.get(colour))
                        .map_or(0, |n| i64::try_from(*n).unwrap_or(i64::MAX))
                };
                change.insert(
                    *colour,
                    count(Some(&row.colours)) - count(was.map(|w| &w.colours)),
                );
            }
            row.change = Some(change);
        }
    }
    body
}

/// How many exceptions the paper lists (the rest are in the appendix).
pub const TOP_EXCEPTIONS: usize = 8;

/// How many closures or re-audits the main paper lists (the rest are in
/// the appendix).
pub const ROWS_SHOWN: usize = 12;

/// Computes the paper's body for `today`, counting as new what happened
/// after `since`; `previous` is the programme as the last paper had it, for
/// the change in colours.
pub fn paper_body(
    programme: &ProgrammeView,
    plans: &[(DocId, PlanView)],
    today: Date,
    since: UnixMillis,
    previous: Option<&[(DocId, PlanView)]>,
) -> PaperBody {
    let metrics = ProgrammeMetrics::compute(programme, plans, today);
    let requirements = metrics
        .requirements
        .iter()
        .filter_map(|(kind, counts)| match kind {
            Group::Of(kind) => Some((*kind, *counts)),
            Group::NotRecorded => None,
        })
        .collect();
    let mut failings = Vec::new();
    for (_, plan) in plans {
        for f in plan
            .findings
            .values()
            .filter(|f| f.kind == Some(FindingKind::WarningNotice))
        {
            failings.push(FailingRow {
                reference: f.reference.clone(),
                text: f.text.clone(),
                deadline: f.compliance.deadline,
                progress: finding_progress(plan, &f.id),
                lifted: f
                    .compliance
                    .lifted_on
                    .map(|d| (d, f.compliance.lifted_by.clone())),
            });
        }
    }
    failings.sort_by(|a, b| a.reference.cmp(&b.reference));
    let actions = || {
        plans
            .iter()
            .flat_map(|(id, p)| p.actions.values().map(move |a| (id, a)))
    };
    let phases = programme
        .phases
        .iter()
        .map(|(id, phase)| {
            let mine: Vec<_> = actions()
                .filter(|(_, a)| a.phase_id.as_ref() == Some(id))
                .collect();
            PhaseRow {
                name: phase.name.clone(),
                ends: phase.ends,
                exit_criteria: phase.exit_criteria.clone(),
                total: mine.len(),
                closed: mine
                    .iter()
                    .filter(|(_, a)| matches!(a.status(), Status::Closed | Status::Embedded))
                    .count(),
                overdue: mine.iter().filter(|(_, a)| a.is_overdue(today)).count(),
            }
        })
        .collect();
    let before = previous.map(|p| ProgrammeMetrics::compute(programme, p, today));
    let workstreams = metrics
        .by_workstream
        .iter()
        .map(|(name, counts)| WorkstreamRow {
            name: name.clone(),
            colours: counts.by_colour.clone(),
            change: before.as_ref().map(|b| {
                let was = b.by_workstream.get(name);
                counts
                    .by_colour
                    .iter()
                    .map(|(c, n)| {
                        let then = was.and_then(|w| w.by_colour.get(c)).copied().unwrap_or(0);
                        (
                            *c,
                            i64::try_from(*n).unwrap_or(0) - i64::try_from(then).unwrap_or(0),
                        )
                    })
                    .collect()
            }),
        })
        .collect();
    let mut exceptions: Vec<Exception> = actions()
        .filter(|(_, a)| {
            a.status().is_open_for_delivery()
                && (a.is_overdue(today) || a.confidence == Some(Confidence::OffTrack))
        })
        .map(|(plan, a)| Exception {
            plan: plan.clone(),
            action: a.id.clone(),
            reference: a.reference.clone(),
            title: a.title.clone(),
            lead: a.exec_lead.clone(),
            days_overdue: if a.is_overdue(today) {
                a.days_overdue(today)
            } else {
                0
            },
            confidence: a.confidence,
            reason: a.updates.last().map(|u| u.text.clone()).unwrap_or_default(),
            revised: a
                .due_requests
                .iter()
                .rev()
                .find(|r| r.answer.is_none())
                .map(|r| r.new_due),
        })
        .collect();
    exceptions.sort_by(|a, b| {
        b.days_overdue
            .cmp(&a.days_overdue)
            .then_with(|| a.reference.cmp(&b.reference))
    });
    let exceptions_in_all = exceptions.len();
    let all_exceptions = exceptions.clone();
    exceptions.truncate(TOP_EXCEPTIONS);
    let mut closures: Vec<ClosureRow> = actions()
        .flat_map(|(_, a)| {
            a.decisions
                .iter()
                .filter(|d| d.outcome == DecisionOutcome::ApproveClosure && d.at > since)
                .map(|d| ClosureRow {
                    reference: a.reference.clone(),
                    forum: d.forum.clone(),
                    meeting_date: d.meeting_date,
                    level: assured_level(a).label().to_owned(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    // The latest first.
    closures.sort_by(|a, b| {
        b.meeting_date
            .cmp(&a.meeting_date)
            .then_with(|| a.reference.cmp(&b.reference))
    });
    let closures_in_all = closures.len();
    let all_closures = closures.clone();
    closures.truncate(ROWS_SHOWN);
    let mut reaudits: Vec<ReauditRow> = actions()
        .flat_map(|(_, a)| {
            a.sustainment
                .iter()
                .filter_map(|s| match s {
                    crate::entries::Sustainment::Result {
                        outcome,
                        note,
                        by,
                        at,
                        ..
                    } if *at > since => Some(ReauditRow {
                        reference: a.reference.clone(),
                        passed: *outcome == crate::vocab::CheckOutcome::Passed,
                        note: note.clone(),
                        by: by.clone(),
                    }),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    // The failures first.
    reaudits.sort_by(|a, b| {
        a.passed
            .cmp(&b.passed)
            .then_with(|| a.reference.cmp(&b.reference))
    });
    let reaudits_in_all = reaudits.len();
    let all_reaudits = reaudits.clone();
    reaudits.truncate(ROWS_SHOWN);
    let mut extensions: Vec<ExtensionRow> = actions()
        .filter(|(_, a)| a.status().is_open_for_delivery())
        .flat_map(|(_, a)| {
            a.due_requests
                .iter()
                .filter(|r| r.answer.is_none())
                .map(|r| ExtensionRow {
                    reference: a.reference.clone(),
                    title: a.title.clone(),
                    due: a.due_current,
                    asked: r.new_due,
                    reason: r.reason.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    extensions.sort_by(|a, b| a.reference.cmp(&b.reference));
    PaperBody {
        today,
        requirements,
        failings,
        phases,
        workstreams,
        exceptions,
        exceptions_in_all,
        closures,
        closures_in_all,
        reaudits,
        reaudits_in_all,
        reopened: metrics
            .all
            .by_status
            .get(&Status::Reopened)
            .copied()
            .unwrap_or(0),
        total: metrics.all.total,
        appendix: Appendix {
            exceptions: all_exceptions,
            closures: all_closures,
            reaudits: all_reaudits,
            extensions,
        },
        phase2: phase_two_section(programme),
    }
}

/// An executive summary drafted from the body, for the programme office to
/// edit: the requirements met, the warning notice, what is late.
pub fn draft_summary(body: &PaperBody) -> String {
    let mut parts = Vec::new();
    let met: Vec<String> = body
        .requirements
        .iter()
        .filter(|(k, _)| {
            matches!(
                k,
                FindingKind::MustDo | FindingKind::ShouldDo | FindingKind::WarningNotice
            )
        })
        .map(|(k, c)| format!("{} of {} {} met", c.met, c.total, plural(*k)))
        .collect();
    if !met.is_empty() {
        parts.push(format!("Of CQC's requirements, {}.", met.join("; ")));
    }
    if !body.failings.is_empty() {
        let lifted = body.failings.iter().filter(|f| f.lifted.is_some()).count();
        let late = body
            .failings
            .iter()
            .filter(|f| {
                f.lifted.is_none()
                    && !matches!(f.progress, FindingProgress::Met | FindingProgress::Embedded)
                    && f.deadline.is_some_and(|d| d < body.today)
            })
            .count();
        parts.push(format!(
            "The warning notice has {} failing(s): {lifted} lifted by CQC, {late} not met by CQC's deadline.",
            body.failings.len()
        ));
    }
    parts.push(format!(
        "{} of {} actions are overdue or off track; the {} most overdue are below.",
        body.exceptions_in_all,
        body.total,
        body.exceptions.len()
    ));
    if body.closures_in_all > 0 {
        parts.push(format!(
            "{} closure(s) were approved since the last paper.",
            body.closures_in_all
        ));
    }
    let failed = body.reaudits.iter().filter(|r| !r.passed).count();
    if body.reaudits_in_all > 0 {
        parts.push(format!(
            "{} re-audit(s) were done, {failed} found the change not sustained.",
            body.reaudits_in_all
        ));
    }
    parts.join(" ")
}

fn plural(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::MustDo => "Must Dos",
        FindingKind::ShouldDo => "Should Dos",
        FindingKind::WarningNotice => "warning-notice failings",
        other => other.label(),
    }
}
