//! The demo's phase 2: the root causes the trust's analysis found (each
//! linked to the findings it explains), a driver diagram for its restraint
//! aim with change ideas carried by actions and tested in PDSA cycles, a
//! process measure beside the outcome measure, and NHS England's Recovery
//! Support Programme exit criteria, some met.

use std::collections::HashMap;

use plait_shared::ids::{CycleId, DriverId, ExitCriterionId, RootCauseId};
use plait_shared::import::ImportPlan;
use plait_shared::improvement::{Cycle, Driver, ExitCriterion, Link, Node, RootCause};
use plait_shared::spc::Direction;
use plait_shared::vocab::{AnalysisMethod, DriverKind, ExitStatus, PdsaDecision};
use plait_shared::{Date, MeasureId, ProgrammeDoc};
use yrs::TransactionMut;

use super::{bug, Calendar, SeedError};

/// The share of the acute wards' staff with in-date de-escalation
/// training, monthly to the month before the tracker's day: low before the
/// programme, rising since.
const DEMO_TRAINING: [&str; 14] = [
    "46", "44", "47", "45", "48", "46", "45", "47", "52", "58", "63", "69", "74", "79",
];

/// Writes the demo's phase 2 into the programme.
pub(super) fn seed(
    programme: &ProgrammeDoc,
    txn: &mut TransactionMut,
    plan: &ImportPlan,
    calendar: &Calendar,
    restraint: &MeasureId,
) -> Result<(), SeedError> {
    let mut findings: HashMap<&str, Node> = HashMap::new();
    let mut actions: HashMap<&str, Node> = HashMap::new();
    for planned in &plan.plans {
        for (id, finding) in &planned.findings {
            findings.insert(
                finding.reference.as_str(),
                Node::Finding(planned.doc_id.clone(), id.clone()),
            );
        }
        for item in &planned.items {
            actions.insert(
                item.source.action.reference.as_str(),
                Node::Action(planned.doc_id.clone(), item.action_id.clone()),
            );
        }
    }
    seed_root_causes(programme, txn, &findings)?;
    let training = seed_training(programme, txn, calendar)?;
    seed_diagram(programme, txn, calendar, restraint, &training, &actions)?;
    seed_exit(programme, txn, restraint)?;
    Ok(())
}

fn put_link(programme: &ProgrammeDoc, txn: &mut TransactionMut, from: &Node, to: Option<&Node>) {
    if let Some(to) = to {
        programme.put_link(
            txn,
            &Link {
                from: from.clone(),
                to: to.clone(),
            },
        );
    }
}

/// A demo root cause: id, theme, title, method, category, description,
/// incidents, the references of the findings it explains.
type CauseRow = (
    &'static str,
    &'static str,
    &'static str,
    AnalysisMethod,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// A demo PDSA cycle: id, change idea, title, prediction, what was done,
/// what was learnt, the decision, months before the tracker's day.
type CycleRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<PdsaDecision>,
    i32,
);

fn seed_root_causes(
    programme: &ProgrammeDoc,
    txn: &mut TransactionMut,
    findings: &HashMap<&str, Node>,
) -> Result<(), SeedError> {
    let causes: [CauseRow; 4] = [
        (
            "rc-restraint-first",
            "Restrictive practice",
            "Restraint had become the wards' first response to distress",
            AnalysisMethod::FiveWhys,
            "Culture",
            "Five whys on the restraints on the adult acute wards in the quarter before the inspection: de-escalation training had lapsed for more than half of the staff, nobody debriefed after a restraint, and the evenings left patients with nothing to do.",
            "Datix incidents of restraint on the acute wards, the quarter before the inspection (thematic sample of 40)",
            &["MD009", "MD030", "MD032", "MD058", "MD080", "MD090", "SD014", "MD026"],
        ),
        (
            "rc-staffing",
            "Safe staffing",
            "Ward establishments were set without an acuity tool, so wards ran short and relied on agency staff",
            AnalysisMethod::Fishbone,
            "Staffing",
            "A cause and effect workshop with ward managers, the e-rostering team and finance: establishments dated from 2016, no acuity census, and supervision was the first thing dropped on a short shift.",
            "",
            &["MD007", "MD018", "MD029", "MD045", "MD046", "SD055"],
        ),
        (
            "rc-learning",
            "Governance and learning",
            "Incidents were investigated one at a time and the learning never reached the wards",
            AnalysisMethod::ThematicReview,
            "",
            "A thematic review of two years of serious incident reports found the same recommendations repeated, with no owner for sharing them and no check that practice changed.",
            "Serious incidents reported to StEIS over the two years before the inspection",
            &["MD014", "MD016", "MD031", "MD039", "MD040"],
        ),
        (
            "rc-estates",
            "Environment",
            "Ligature risks were assessed, but the estates backlog was not prioritised by risk",
            AnalysisMethod::FiveWhys,
            "Environment",
            "Five whys on the ligature findings: the assessments were done, but fixes joined one estates queue in order of request, not of risk, with no escalation when a date slipped.",
            "",
            &["MD008", "MD028", "MD037", "WN01"],
        ),
    ];
    for (id, theme, title, method, category, description, incidents, refs) in causes {
        let id = RootCauseId::new(id).map_err(bug)?;
        programme.put_root_cause(
            txn,
            &id,
            &RootCause {
                theme: theme.into(),
                title: title.into(),
                description: description.into(),
                method: Some(method),
                category: category.into(),
                incidents: incidents.into(),
            },
        );
        for reference in refs {
            put_link(
                programme,
                txn,
                &Node::RootCause(id.clone()),
                findings.get(reference),
            );
        }
    }
    Ok(())
}

/// The first day of the month `back` months before the tracker's month.
fn month_before(calendar: &Calendar, back: i32) -> Result<Date, SeedError> {
    let (year, month, _) = calendar.as_at.ymd();
    let index = year * 12 + i32::from(month) - 1 - back;
    Date::from_ymd(
        index.div_euclid(12),
        u8::try_from(index.rem_euclid(12) + 1).map_err(bug)?,
        1,
    )
    .map_err(bug)
}

fn seed_training(
    programme: &ProgrammeDoc,
    txn: &mut TransactionMut,
    calendar: &Calendar,
) -> Result<MeasureId, SeedError> {
    let id = MeasureId::new("m-deescalation-training").map_err(bug)?;
    programme.put_measure(
        txn,
        &id,
        &plait_shared::Measure {
            name: "Staff with in-date de-escalation training (adult acute wards)".into(),
            kind: Some(plait_shared::MeasureKind::Process),
            definition: "Ward staff on the adult acute wards whose de-escalation and restraint reduction training is in date on the last day of the month, from the learning management system, as a percentage of the wards' staff in post".into(),
            unit: "% of staff".into(),
            direction: Some(Direction::Increase),
            target: "95".into(),
            baseline: Some(8),
            rebase: Vec::new(),
            workstream_id: None,
        },
    );
    for (n, value) in DEMO_TRAINING.iter().enumerate() {
        let back = i32::try_from(DEMO_TRAINING.len() - n).map_err(bug)?;
        programme.put_measure_point(
            txn,
            &plait_shared::MeasurePointId::new(format!("mp-training-{n:02}")).map_err(bug)?,
            &id,
            month_before(calendar, back)?,
            value,
        );
    }
    Ok(id)
}

fn seed_diagram(
    programme: &ProgrammeDoc,
    txn: &mut TransactionMut,
    calendar: &Calendar,
    restraint: &MeasureId,
    training: &MeasureId,
    actions: &HashMap<&str, Node>,
) -> Result<(), SeedError> {
    let nodes: [(&str, DriverKind, Option<&str>, &str); 11] = [
        (
            "d-aim-restraint",
            DriverKind::Aim,
            None,
            "Reduce physical restraint on the adult acute wards",
        ),
        (
            "d-skills",
            DriverKind::Primary,
            Some("d-aim-restraint"),
            "Staff skilled and confident to de-escalate",
        ),
        (
            "d-training",
            DriverKind::Secondary,
            Some("d-skills"),
            "De-escalation training in date for every ward's staff",
        ),
        (
            "d-safewards",
            DriverKind::ChangeIdea,
            Some("d-training"),
            "Safewards interventions on Cedar ward, then every acute ward",
        ),
        (
            "d-debrief",
            DriverKind::ChangeIdea,
            Some("d-training"),
            "A debrief with the patient and staff after every restraint",
        ),
        (
            "d-wards",
            DriverKind::Primary,
            Some("d-aim-restraint"),
            "A therapeutic ward environment",
        ),
        (
            "d-activity",
            DriverKind::Secondary,
            Some("d-wards"),
            "Meaningful activity every evening and weekend",
        ),
        (
            "d-coordinators",
            DriverKind::ChangeIdea,
            Some("d-activity"),
            "Activity coordinators on the evening shift",
        ),
        (
            "d-staffing",
            DriverKind::Primary,
            Some("d-aim-restraint"),
            "Safe staffing on every shift",
        ),
        (
            "d-acuity",
            DriverKind::Secondary,
            Some("d-staffing"),
            "Establishments set from an acuity census",
        ),
        (
            "d-mhost",
            DriverKind::ChangeIdea,
            Some("d-acuity"),
            "A Mental Health Optimal Staffing Tool census twice a year",
        ),
    ];
    for (id, kind, parent, text) in nodes {
        let aim = kind == DriverKind::Aim;
        programme.put_driver(
            txn,
            &DriverId::new(id).map_err(bug)?,
            &Driver {
                kind: Some(kind),
                parent: parent.map(DriverId::new).transpose().map_err(bug)?,
                text: text.into(),
                amount: if aim {
                    "By 30%, from 14.5 to 8 per 1,000 occupied bed days".into()
                } else {
                    String::new()
                },
                by: aim.then(|| calendar.launch.add_months(24)),
                workstream_id: None,
            },
        );
    }
    let driver = |id: &str| DriverId::new(id).map(Node::Driver).map_err(bug);
    put_link(
        programme,
        txn,
        &driver("d-aim-restraint")?,
        Some(&Node::Measure(restraint.clone())),
    );
    put_link(
        programme,
        txn,
        &driver("d-training")?,
        Some(&Node::Measure(training.clone())),
    );
    for (idea, reference) in [
        ("d-safewards", "MD030.1"),
        ("d-safewards", "MD009.1"),
        ("d-debrief", "MD032.1"),
        ("d-mhost", "MD018.1"),
    ] {
        put_link(programme, txn, &driver(idea)?, actions.get(reference));
    }
    let cycles: [CycleRow; 4] = [
        (
            "k-safewards-1",
            "d-safewards",
            "Mutual help meeting and calm-down methods on Cedar ward, four weeks, day shifts",
            "Fewer restraints on Cedar in the four weeks than the six in the month before",
            "Both interventions ran on 24 of 28 days; night staff were not briefed",
            "Three restraints, two of them at night: the night shift needs the same briefing",
            Some(PdsaDecision::Adapt),
            4,
        ),
        (
            "k-safewards-2",
            "d-safewards",
            "All ten Safewards interventions on Cedar ward, night staff included, six weeks",
            "At most two restraints in the six weeks",
            "Every shift briefed; the interventions ran every day",
            "One restraint in six weeks; staff and patients asked to keep it",
            Some(PdsaDecision::Adopt),
            3,
        ),
        (
            "k-debrief-1",
            "d-debrief",
            "A debrief form completed within 72 hours of every restraint on Cedar and Beech wards",
            "Nine in ten restraints debriefed within 72 hours",
            "",
            "",
            None,
            1,
        ),
        (
            "k-coordinators-1",
            "d-coordinators",
            "An activity coordinator on Beech ward's evening shift, four weeks",
            "Fewer evening incidents on Beech",
            "Cover found for 11 of 20 evenings",
            "Evening incidents fell on the evenings covered; cover cannot be found from the bank, so activity sessions go on the nursing rota instead",
            Some(PdsaDecision::Adapt),
            2,
        ),
    ];
    for (id, idea, title, prediction, done, learnt, decision, back) in cycles {
        programme.put_cycle(
            txn,
            &CycleId::new(id).map_err(bug)?,
            &Cycle {
                change_idea: Some(DriverId::new(idea).map_err(bug)?),
                title: title.into(),
                plan: String::new(),
                prediction: prediction.into(),
                done: done.into(),
                learnt: learnt.into(),
                decision,
                started: Some(month_before(calendar, back)?),
            },
        );
    }
    put_link(
        programme,
        txn,
        &Node::Cycle(CycleId::new("k-safewards-2").map_err(bug)?),
        Some(&Node::Measure(restraint.clone())),
    );
    Ok(())
}

fn seed_exit(
    programme: &ProgrammeDoc,
    txn: &mut TransactionMut,
    restraint: &MeasureId,
) -> Result<(), SeedError> {
    let source = "NHS England Recovery Support Programme";
    let criteria: [(&str, &str, ExitStatus, &str); 5] = [
        (
            "x-leadership",
            "A substantive, stable board and executive team with the capability to lead the improvement",
            ExitStatus::Met,
            "Chair, Chief Executive and Chief Nurse appointed substantively; the board development programme's first review",
        ),
        (
            "x-warning-notice",
            "The Section 29A warning notice's failings met and lifted by CQC",
            ExitStatus::PartlyMet,
            "The warning notice register: two of four failings met, awaiting CQC's letter",
        ),
        (
            "x-governance",
            "A quality governance framework reporting from ward to board",
            ExitStatus::PartlyMet,
            "Committee terms of reference approved; the ward quality dashboards are in their first quarter",
        ),
        (
            "x-restraint",
            "Restraint on the adult acute wards below 8 per 1,000 occupied bed days for six months",
            ExitStatus::NotMet,
            "",
        ),
        (
            "x-finance",
            "A credible financial plan agreed with the integrated care board",
            ExitStatus::NotMet,
            "",
        ),
    ];
    for (id, text, status, evidence) in criteria {
        let id = ExitCriterionId::new(id).map_err(bug)?;
        programme.put_exit_criterion(
            txn,
            &id,
            &ExitCriterion {
                text: text.into(),
                source: source.into(),
                status: Some(status),
                evidence: evidence.into(),
            },
        );
        if text.contains("Restraint") {
            put_link(
                programme,
                txn,
                &Node::Exit(id),
                Some(&Node::Measure(restraint.clone())),
            );
        }
    }
    Ok(())
}
