//! Derived values: whether an action is overdue, the colour a board paper
//! shows for it, and the programme's counts. All computed from read views and
//! a given "today", never stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{ActionId, Date, DocId, UserId};
use crate::plan::PlanView;
use crate::programme::ProgrammeView;
use crate::vocab::{Colour, FindingKind, KeyQuestion, Status, Vocabulary};

pub use crate::colours::{ColourRule, ColourScheme};

/// Counts for one group of actions (a workstream, a key question, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// All actions in the group.
    pub total: usize,
    /// By status (every status present, zero or not).
    pub by_status: BTreeMap<Status, usize>,
    /// By colour (every colour present).
    pub by_colour: BTreeMap<Colour, usize>,
    /// How many are overdue.
    pub overdue: usize,
}

impl Counts {
    fn empty() -> Counts {
        Counts {
            total: 0,
            by_status: Status::ALL.iter().map(|&s| (s, 0)).collect(),
            by_colour: Colour::ALL.iter().map(|&c| (c, 0)).collect(),
            overdue: 0,
        }
    }

    fn add(&mut self, status: Status, colour: Colour, overdue: bool) {
        self.total += 1;
        *self.by_status.entry(status).or_default() += 1;
        *self.by_colour.entry(colour).or_default() += 1;
        self.overdue += usize::from(overdue);
    }
}

/// How far a finding (a CQC requirement) has got, from its actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingProgress {
    /// No action answers it yet.
    NoActions,
    /// Some action is still open (or awaiting assurance).
    Open,
    /// Met: every action answering it is closed (or embedded).
    Met,
    /// Embedded: every action answering it is embedded.
    Embedded,
}

impl FindingProgress {
    /// The words people see.
    pub fn label(self) -> &'static str {
        match self {
            FindingProgress::NoActions => "No actions yet",
            FindingProgress::Open => "Not met yet",
            FindingProgress::Met => "Met",
            FindingProgress::Embedded => "Met and embedded",
        }
    }

    /// Whether it counts as met (embedded is met too).
    pub fn is_met(self) -> bool {
        matches!(self, FindingProgress::Met | FindingProgress::Embedded)
    }
}

/// The progress of the finding `finding` of `plan`, from the actions of
/// the plan that answer it.
pub fn finding_progress(plan: &PlanView, finding: &crate::ids::FindingId) -> FindingProgress {
    let statuses: Vec<Status> = plan
        .actions
        .values()
        .filter(|a| a.finding_ids.contains(finding))
        .map(crate::plan::ActionView::status)
        .collect();
    if statuses.is_empty() {
        FindingProgress::NoActions
    } else if statuses.iter().all(|s| *s == Status::Embedded) {
        FindingProgress::Embedded
    } else if statuses
        .iter()
        .all(|s| matches!(s, Status::Closed | Status::Embedded))
    {
        FindingProgress::Met
    } else {
        FindingProgress::Open
    }
}

/// The findings (CQC requirements) of one kind: how many, how many met,
/// how many embedded ("Must Dos met: 41 / 108").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FindingCounts {
    /// Every finding of the kind.
    pub total: usize,
    /// Those met (all their actions closed or embedded).
    pub met: usize,
    /// Those embedded (all their actions embedded).
    pub embedded: usize,
}

impl ProgrammeMetrics {
    /// The requirement headlines a board reads first, for the kinds the
    /// programme has: Must Dos, Should Dos, the warning notice's failings,
    /// exit criteria ("Must Dos met: 41 / 108").
    pub fn requirement_headlines(&self) -> Vec<(FindingKind, FindingCounts, &'static str)> {
        [
            (FindingKind::MustDo, "Must Dos met"),
            (FindingKind::ShouldDo, "Should Dos met"),
            (FindingKind::WarningNotice, "Warning notice failings met"),
            (FindingKind::ExitCriterion, "Exit criteria met"),
        ]
        .into_iter()
        .filter_map(|(kind, label)| {
            self.requirements
                .get(&Group::Of(kind))
                .filter(|c| c.total > 0)
                .map(|c| (kind, *c, label))
        })
        .collect()
    }
}

/// An overdue action, for the board's exception list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueAction {
    /// Its plan.
    pub plan: DocId,
    /// Its id.
    pub action: ActionId,
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// Its owner.
    pub owner: Option<UserId>,
    /// Its executive lead.
    pub exec_lead: String,
    /// Its status.
    pub status: Status,
    /// The date it is past.
    pub due: Date,
    /// By how many days.
    pub days_overdue: i64,
    /// The latest progress update, which usually says why.
    pub latest_update: Option<String>,
}

/// A group of a closed vocabulary: one of its values, or none recorded.
/// Serialised as the value's key (`"must_do"`) or `"not_recorded"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group<K> {
    /// Actions with this value.
    Of(K),
    /// Actions with none.
    NotRecorded,
}

impl<K: Vocabulary> Group<K> {
    /// The words people see.
    pub fn label(self) -> &'static str {
        match self {
            Group::Of(k) => k.label(),
            Group::NotRecorded => NOT_RECORDED,
        }
    }
}

impl<K: Vocabulary> Serialize for Group<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match *self {
            Group::Of(k) => k.key(),
            Group::NotRecorded => "not_recorded",
        })
    }
}

/// Groups of a vocabulary with their labels, in the vocabulary's order
/// ("Not recorded" last), for tables.
pub fn labelled<K: Vocabulary + Ord>(
    groups: &BTreeMap<Group<K>, Counts>,
) -> Vec<(&'static str, &Counts)> {
    groups.iter().map(|(g, c)| (g.label(), c)).collect()
}

/// Groups named by free text (workstreams, core services, locations), for
/// tables.
pub fn named(groups: &BTreeMap<String, Counts>) -> Vec<(&str, &Counts)> {
    groups.iter().map(|(g, c)| (g.as_str(), c)).collect()
}

/// Everything a dashboard or board report counts. Groups with no name are
/// counted under "Not recorded", so the groups always add up to the total.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ProgrammeMetrics {
    /// Every action.
    pub all: Counts,
    /// By the most serious kind of finding the action answers (a warning
    /// notice, a Must Do, ...).
    pub by_kind: BTreeMap<Group<FindingKind>, Counts>,
    /// The findings themselves (CQC's requirements), by kind: how many are
    /// met and embedded.
    pub requirements: BTreeMap<Group<FindingKind>, FindingCounts>,
    /// By workstream name.
    pub by_workstream: BTreeMap<String, Counts>,
    /// By key question.
    pub by_key_question: BTreeMap<Group<KeyQuestion>, Counts>,
    /// By core service.
    pub by_core_service: BTreeMap<String, Counts>,
    /// By location.
    pub by_location: BTreeMap<String, Counts>,
    /// Overdue actions, most overdue first.
    pub overdue: Vec<OverdueAction>,
    /// The actions whose evidence is accepted (accepted, closed or
    /// embedded), by the assurance their accepting verdicts gave (the
    /// strongest of them; not recorded for a status carried in without one).
    pub assurance: BTreeMap<Group<crate::vocab::Assurance>, usize>,
}

/// The assurance an action's accepted evidence gives: the strongest level
/// its accepting verdicts recorded (the verdicts, not the editable field).
pub fn assured_level(action: &crate::plan::ActionView) -> Group<crate::vocab::Assurance> {
    use crate::vocab::Assurance;
    let rank = |a: Assurance| match a {
        Assurance::Substantial => 0,
        Assurance::Reasonable => 1,
        Assurance::Limited => 2,
        Assurance::None => 3,
    };
    action
        .evidence_reviews
        .iter()
        .filter(|r| r.verdict == crate::vocab::EvidenceVerdict::Accepted)
        .filter_map(|r| r.assurance)
        .min_by_key(|a| rank(*a))
        .map_or(Group::NotRecorded, Group::Of)
}

/// The label used for a group whose value is missing.
pub const NOT_RECORDED: &str = "Not recorded";

/// The most serious kind among an action's findings: what the board counts
/// it as (an action answering a warning notice and a Should Do is urgent).
fn seriousness(kind: FindingKind) -> u8 {
    match kind {
        FindingKind::Section31 => 0,
        FindingKind::WarningNotice => 1,
        FindingKind::RequirementNotice => 2,
        FindingKind::MustDo => 3,
        FindingKind::Section64 => 4,
        FindingKind::ExitCriterion => 5,
        FindingKind::ShouldDo => 6,
        FindingKind::Internal => 7,
    }
}

impl ProgrammeMetrics {
    /// Counts the actions of `plans` (with their document ids) on `today`.
    pub fn compute(programme: &ProgrammeView, plans: &[(DocId, PlanView)], today: Date) -> Self {
        let mut metrics = ProgrammeMetrics {
            all: Counts::empty(),
            ..Default::default()
        };
        for (plan_id, plan) in plans {
            for finding in plan.findings.values() {
                let progress = finding_progress(plan, &finding.id);
                let counts = metrics
                    .requirements
                    .entry(finding.kind.map_or(Group::NotRecorded, Group::Of))
                    .or_default();
                counts.total += 1;
                counts.met += usize::from(progress.is_met());
                counts.embedded += usize::from(progress == FindingProgress::Embedded);
            }
            for action in plan.actions.values() {
                let findings: Vec<_> = action
                    .finding_ids
                    .iter()
                    .filter_map(|id| plan.findings.get(id))
                    .collect();
                let kind = findings
                    .iter()
                    .filter_map(|f| f.kind)
                    .min_by_key(|&k| seriousness(k))
                    .map_or(Group::NotRecorded, Group::Of);
                let key_question = findings
                    .iter()
                    .find_map(|f| f.key_question)
                    .map_or(Group::NotRecorded, Group::Of);
                let first_named = |pick: fn(&crate::plan::FindingView) -> &str, fallback: &str| {
                    findings
                        .iter()
                        .map(|f| pick(f).trim())
                        .find(|s| !s.is_empty())
                        .or(Some(fallback.trim()).filter(|s| !s.is_empty()))
                        .unwrap_or(NOT_RECORDED)
                        .to_owned()
                };
                let core_service = first_named(|f| &f.core_service, &plan.info.core_service);
                let location = first_named(|f| &f.location, &plan.info.location);
                let workstream = action
                    .workstream_id
                    .as_ref()
                    .or(plan.info.workstream_id.as_ref())
                    .and_then(|id| programme.workstreams.get(id))
                    .map_or(NOT_RECORDED, |w| w.name.as_str());

                let status = action.status();
                if matches!(
                    status,
                    Status::EvidenceAccepted | Status::Closed | Status::Embedded
                ) {
                    *metrics.assurance.entry(assured_level(action)).or_default() += 1;
                }
                let colour = programme.colours.colour_of(action, today);
                let overdue = action.is_overdue(today);
                metrics.all.add(status, colour, overdue);
                let add = |counts: &mut Counts| counts.add(status, colour, overdue);
                add(metrics.by_kind.entry(kind).or_insert_with(Counts::empty));
                add(metrics
                    .by_key_question
                    .entry(key_question)
                    .or_insert_with(Counts::empty));
                let groups = [
                    (&mut metrics.by_workstream, workstream),
                    (&mut metrics.by_core_service, core_service.as_str()),
                    (&mut metrics.by_location, location.as_str()),
                ];
                for (group, key) in groups {
                    group
                        .entry(key.to_owned())
                        .or_insert_with(Counts::empty)
                        .add(status, colour, overdue);
                }
                if let (true, Some(due)) = (overdue, action.due_current) {
                    metrics.overdue.push(OverdueAction {
                        plan: plan_id.clone(),
                        action: action.id.clone(),
                        reference: action.reference.clone(),
                        title: action.title.clone(),
                        owner: action.owner.clone(),
                        exec_lead: action.exec_lead.clone(),
                        status,
                        due,
                        days_overdue: action.days_overdue(today),
                        latest_update: action.updates.last().map(|u| u.text.clone()),
                    });
                }
            }
        }
        metrics.overdue.sort_by(|a, b| {
            b.days_overdue
                .cmp(&a.days_overdue)
                .then_with(|| a.reference.cmp(&b.reference))
        });
        metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::Transition;
    use crate::lifecycle::fold_status;
    use crate::plan::ActionView;
    use crate::programme::ProgrammeDoc;
    use crate::vocab::Confidence;
    use crate::vocab::Role;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::Transact;

    fn action(status: Status, confidence: Option<Confidence>, due: Option<Date>) -> ActionView {
        let log = if status == Status::Draft {
            vec![]
        } else {
            vec![Transition {
                to: status,
                by: UserId::new("pm").unwrap(),
                role: Role::Admin,
                at: crate::ids::UnixMillis(0),
                note: String::new(),
                baseline: true,
            }]
        };
        ActionView {
            id: ActionId::new("a").unwrap(),
            reference: "A".into(),
            title: String::new(),
            description: String::new(),
            closure_criteria: String::new(),
            finding_ids: vec![],
            workstream_id: None,
            phase_id: None,
            exec_lead: String::new(),
            owner: None,
            due_original: due,
            due_current: due,
            confidence,
            confidence_set: confidence,
            assurance: None,
            reported_colour: None,
            // The status as given (a baseline past "in progress" would
            // fold to imported).
            fold: crate::lifecycle::Fold {
                status,
                steps: fold_status(&log, &crate::lifecycle::FoldFacts::bare(None)).steps,
            },
            transitions: log,
            updates: vec![],
            evidence: vec![],
            evidence_reviews: vec![],
            decisions: vec![],
            due_requests: vec![],
            wording_requests: vec![],
            sustainment_checks: vec![],
            created: None,
            due_changes: vec![],
            sustainment: vec![],
        }
    }

    #[test]
    fn the_default_brag_scheme() {
        let today = Date::from_ymd(2023, 6, 1).unwrap();
        let past = Date::from_ymd(2023, 5, 1).ok();
        let future = Date::from_ymd(2023, 7, 1).ok();
        let scheme = ColourScheme::default();
        let colour = |s, c, d| scheme.colour_of(&action(s, c, d), today);
        assert_eq!(
            colour(Status::InProgress, Some(Confidence::OnTrack), past),
            Colour::Red,
            "overdue beats on track"
        );
        assert_eq!(
            colour(Status::InProgress, Some(Confidence::OffTrack), future),
            Colour::Red
        );
        assert_eq!(
            colour(Status::InProgress, Some(Confidence::AtRisk), future),
            Colour::Amber
        );
        assert_eq!(
            colour(Status::Agreed, Some(Confidence::OnTrack), future),
            Colour::Green
        );
        assert_eq!(
            colour(Status::CompletionProposed, Some(Confidence::OffTrack), past),
            Colour::Green,
            "delivered, awaiting assurance"
        );
        assert_eq!(colour(Status::EvidenceAccepted, None, past), Colour::Green);
        assert_eq!(colour(Status::Closed, None, past), Colour::Blue);
        assert_eq!(colour(Status::Embedded, None, past), Colour::BlueEmbedded);
        assert_eq!(colour(Status::Reopened, None, past), Colour::Red);
        assert_eq!(colour(Status::Draft, None, None), Colour::Grey);
        assert_eq!(
            colour(Status::Imported, Some(Confidence::OnTrack), past),
            Colour::Amber,
            "imported as done, not yet assured: neither green nor blue"
        );
        assert!(
            !action(Status::InProgress, None, Some(today)).is_overdue(today),
            "due today is not overdue"
        );
    }

    #[test]
    fn a_programme_can_choose_its_colours() {
        let programme = ProgrammeDoc::new(crate::doc::new_doc());
        {
            let mut txn = programme.doc().transact_mut();
            programme.set_colour(&mut txn, ColourRule::NotRated, Colour::Green);
            programme.set_colour(&mut txn, ColourRule::CompletionProposed, Colour::Amber);
        }
        let view = programme.read(&programme.doc().transact());
        let today = Date::from_ymd(2023, 6, 1).unwrap();
        assert_eq!(
            view.colours
                .colour_of(&action(Status::Agreed, None, None), today),
            Colour::Green
        );
        assert_eq!(
            view.colours
                .colour_of(&action(Status::CompletionProposed, None, None), today),
            Colour::Amber
        );
        assert_eq!(
            view.colours.colour(ColourRule::Overdue),
            Colour::Red,
            "unchanged rules keep the default"
        );
    }
}
