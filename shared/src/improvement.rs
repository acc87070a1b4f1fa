//! Phase 2's improvement work, as the programme document keeps it (issue
//! 17): root causes found by analysis, driver diagrams (an aim, its primary
//! and secondary drivers, change ideas), PDSA cycles testing change ideas,
//! the criteria for leaving the programme, and the links between them and
//! the rest of Plait (a root cause and the findings it explains, a change
//! idea and the actions that carry it out, a driver and its measures).
//!
//! Each link is an entity of its own, keyed by its two ends, so links made
//! on two devices merge and the same link made twice is one. What the
//! pieces mean together (a diagram's tree, a finding's root causes, how many
//! exit criteria are met) is [`crate::phase2`]'s.

use crate::ids::{
    ActionId, CycleId, Date, DocId, DriverId, ExitCriterionId, FindingId, MeasureId, RootCauseId,
    WorkstreamId,
};
use crate::vocab::{AnalysisMethod, DriverKind, ExitStatus, PdsaDecision};

/// A root cause: why things went wrong, found by an analysis, under a
/// theme; the findings it explains are [`Link`]s.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RootCause {
    /// Its theme ("Leadership and culture").
    pub theme: String,
    /// The cause, in a line.
    pub title: String,
    /// What the analysis found.
    pub description: String,
    /// How it was found.
    pub method: Option<AnalysisMethod>,
    /// Its fishbone category, if any ("People", "Environment").
    pub category: String,
    /// The incidents it explains, by their references (free text).
    pub incidents: String,
}

/// A node of a driver diagram.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Driver {
    /// Aim, primary or secondary driver, change idea.
    pub kind: Option<DriverKind>,
    /// The node it drives (none for an aim).
    pub parent: Option<DriverId>,
    /// What it says (an aim's "what").
    pub text: String,
    /// An aim's "by how much".
    pub amount: String,
    /// An aim's "by when".
    pub by: Option<Date>,
    /// An aim's workstream (none: the programme's own).
    pub workstream_id: Option<WorkstreamId>,
}

/// A plan-do-study-act cycle testing a change idea.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cycle {
    /// The change idea it tests.
    pub change_idea: Option<DriverId>,
    /// The test, in a line.
    pub title: String,
    /// Plan: what will be done, by whom, when.
    pub plan: String,
    /// Plan: what is expected to happen.
    pub prediction: String,
    /// Do: what was done.
    pub done: String,
    /// Study: what was learnt against the prediction.
    pub learnt: String,
    /// Act: adopt, adapt or abandon (none while it runs).
    pub decision: Option<PdsaDecision>,
    /// When it started.
    pub started: Option<Date>,
}

/// A criterion for leaving the programme.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitCriterion {
    /// What must be true.
    pub text: String,
    /// Whose criterion it is.
    pub source: String,
    /// Met, partly met, not met (not met until said).
    pub status: Option<ExitStatus>,
    /// The evidence it is met: where it is and what it shows.
    pub evidence: String,
}

/// One end of a link: something of phase 2, or a finding or action of a
/// plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// A finding of a plan.
    Finding(DocId, FindingId),
    /// An action of a plan.
    Action(DocId, ActionId),
    /// A measure.
    Measure(MeasureId),
    /// A root cause.
    RootCause(RootCauseId),
    /// A node of a driver diagram.
    Driver(DriverId),
    /// A PDSA cycle.
    Cycle(CycleId),
    /// An exit criterion.
    Exit(ExitCriterionId),
}

impl Node {
    /// As stored: `finding:{plan}/{finding}`, `measure:{id}`, ... (ids hold
    /// neither `:` nor `/`).
    pub fn key(&self) -> String {
        match self {
            Node::Finding(plan, id) => format!("finding:{plan}/{id}"),
            Node::Action(plan, id) => format!("action:{plan}/{id}"),
            Node::Measure(id) => format!("measure:{id}"),
            Node::RootCause(id) => format!("root_cause:{id}"),
            Node::Driver(id) => format!("driver:{id}"),
            Node::Cycle(id) => format!("cycle:{id}"),
            Node::Exit(id) => format!("exit:{id}"),
        }
    }

    /// Reads a stored node.
    ///
    /// # Errors
    /// It is not one Plait writes.
    pub fn parse(text: &str) -> Result<Node, String> {
        let bad = || {
            format!(
                "not a link's end: {}",
                text.chars().take(60).collect::<String>()
            )
        };
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        let in_plan = || -> Result<(DocId, &str), String> {
            let (plan, id) = rest.split_once('/').ok_or_else(bad)?;
            Ok((DocId::new(plan).map_err(|_| bad())?, id))
        };
        let node = match kind {
            "finding" => {
                let (plan, id) = in_plan()?;
                Node::Finding(plan, FindingId::new(id).map_err(|_| bad())?)
            }
            "action" => {
                let (plan, id) = in_plan()?;
                Node::Action(plan, ActionId::new(id).map_err(|_| bad())?)
            }
            "measure" => Node::Measure(MeasureId::new(rest).map_err(|_| bad())?),
            "root_cause" => Node::RootCause(RootCauseId::new(rest).map_err(|_| bad())?),
            "driver" => Node::Driver(DriverId::new(rest).map_err(|_| bad())?),
            "cycle" => Node::Cycle(CycleId::new(rest).map_err(|_| bad())?),
            "exit" => Node::Exit(ExitCriterionId::new(rest).map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        Ok(node)
    }
}

/// A link between two things.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// The phase-2 end (a root cause, a driver, a cycle, an exit criterion).
    pub from: Node,
    /// What it is linked to (a finding, an action, a measure, ...).
    pub to: Node,
}

impl Link {
    /// Its key: derived from its ends, so the same link made on two devices
    /// is one entity (FNV-1a, 64 bits, of both ends' keys).
    pub fn key(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self
            .from
            .key()
            .bytes()
            .chain(std::iter::once(b'>'))
            .chain(self.to.key().bytes())
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("l-{hash:016x}")
    }
}

/// The longest text a phase-2 field holds (characters).
pub const MAX_TEXT: usize = 10_000;

/// Whether `value` may be stored in field `key` of an entity of the
/// phase-2 root `root` (root causes, drivers, PDSA cycles, exit criteria,
/// links, measures and their values): a vocabulary field its key, an id
/// field an id, a date field `YYYY-MM-DD`, a number field a number, a link's
/// end a [`Node`]; text at most [`MAX_TEXT`] characters. The admission asks
/// it of every value sent, so a bad value is refused with its reason (any
/// other root or key: yes, the schema judges those).
///
/// # Errors
/// Why not, in words.
pub fn check_field(root: crate::keys::Root, key: &str, value: &str) -> Result<(), String> {
    use crate::ids::WorkstreamId;
    use crate::keys::{
        CycleField, DriverField, ExitField, LinkField, MeasureField, MeasurePointField, Root,
        RootCauseField,
    };
    use crate::vocab::MeasureKind;
    fn read<T, E>(what: &str, r: Result<T, E>) -> Result<(), String> {
        r.map(|_| ()).map_err(|_| format!("not {what}"))
    }
    if !root.is_phase_two() {
        return Ok(());
    }
    let date = |v: &str| read("a date (YYYY-MM-DD)", Date::parse_iso(v));
    let number = |v: &str| {
        let ok = v
            .trim()
            .replace(',', "")
            .parse::<f64>()
            .is_ok_and(f64::is_finite);
        if ok {
            Ok(())
        } else {
            Err("not a number".to_owned())
        }
    };
    let checked = match root {
        Root::RootCauses => match RootCauseField::from_key(key) {
            Some(RootCauseField::Method) => {
                read("an analysis method", value.parse::<AnalysisMethod>())
            }
            _ => Ok(()),
        },
        Root::Drivers => match DriverField::from_key(key) {
            Some(DriverField::Kind) => {
                read("a kind of driver diagram node", value.parse::<DriverKind>())
            }
            Some(DriverField::Parent) => read("a driver id", DriverId::new(value)),
            Some(DriverField::By) => date(value),
            Some(DriverField::Workstream) => read("a workstream id", WorkstreamId::new(value)),
            _ => Ok(()),
        },
        Root::Cycles => match CycleField::from_key(key) {
            Some(CycleField::ChangeIdea) => read("a driver id", DriverId::new(value)),
            Some(CycleField::Decision) => {
                read("adopt, adapt or abandon", value.parse::<PdsaDecision>())
            }
            Some(CycleField::Started) => date(value),
            _ => Ok(()),
        },
        Root::ExitCriteria => match ExitField::from_key(key) {
            Some(ExitField::Status) => {
                read("met, partly met or not met", value.parse::<ExitStatus>())
            }
            _ => Ok(()),
        },
        Root::Links => match LinkField::from_key(key) {
            Some(LinkField::From | LinkField::To) => Node::parse(value).map(|_| ()),
            None => Ok(()),
        },
        Root::Measures => match MeasureField::from_key(key) {
            Some(MeasureField::Kind) => read(
                "outcome, process or balancing",
                value.parse::<MeasureKind>(),
            ),
            Some(MeasureField::Direction) => {
                read("a direction", value.parse::<crate::spc::Direction>())
            }
            Some(MeasureField::Target) => number(value),
            Some(MeasureField::Baseline) => read("a number of points", value.parse::<usize>()),
            Some(MeasureField::Rebase) => value
                .split(',')
                .filter(|d| !d.trim().is_empty())
                .try_for_each(|d| date(d.trim())),
            Some(MeasureField::Workstream) => read("a workstream id", WorkstreamId::new(value)),
            _ => Ok(()),
        },
        Root::MeasurePoints => match MeasurePointField::from_key(key) {
            Some(MeasurePointField::MeasureId) => read("a measure id", MeasureId::new(value)),
            Some(MeasurePointField::Period) => date(value),
            Some(MeasurePointField::Value) => number(value),
            None => Ok(()),
        },
        _ => Ok(()),
    };
    checked.map_err(|why| format!("{}: {why}", key))?;
    if value.chars().count() > MAX_TEXT {
        return Err(format!("{key}: longer than {MAX_TEXT} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Every end reads back as written; a stranger's text does not read.
    #[test]
    fn a_link_end_reads_back_and_junk_does_not() {
        let plan = DocId::new("plan-acute").unwrap();
        for node in [
            Node::Finding(plan.clone(), FindingId::new("MD001").unwrap()),
            Node::Action(plan, ActionId::new("MD001-1").unwrap()),
            Node::Measure(MeasureId::new("m-1").unwrap()),
            Node::RootCause(RootCauseId::new("rc-1").unwrap()),
            Node::Driver(DriverId::new("d-1").unwrap()),
            Node::Cycle(CycleId::new("c-1").unwrap()),
            Node::Exit(ExitCriterionId::new("x-1").unwrap()),
        ] {
            assert_eq!(Node::parse(&node.key()), Ok(node));
        }
        for junk in [
            "",
            "finding:MD001",
            "measure:",
            "ward:w1",
            "action:a/b/c",
            "driver:a b",
        ] {
            assert!(Node::parse(junk).is_err(), "{junk}");
        }
    }

    /// The same two ends make the same key; other ends another.
    #[test]
    fn a_link_is_keyed_by_its_ends() {
        let link = |to: &str| Link {
            from: Node::RootCause(RootCauseId::new("rc-1").unwrap()),
            to: Node::Measure(MeasureId::new(to).unwrap()),
        };
        assert_eq!(link("m-1").key(), link("m-1").key());
        assert!(crate::ids::LinkId::new(link("m-1").key()).is_ok());
        assert_ne!(link("m-1").key(), link("m-2").key());
    }

    /// Each typed field of phase 2 takes its type and refuses anything
    /// else; text takes text up to its limit; other roots are not judged.
    #[test]
    fn a_phase_two_value_must_read_as_its_field() {
        use crate::keys::Root;
        for (root, key, good, bad) in [
            (Root::RootCauses, "method", "five_whys", "guesswork"),
            (Root::Drivers, "kind", "change_idea", "boss"),
            (Root::Drivers, "parent", "d-aim", "d aim"),
            (Root::Drivers, "by", "2027-03-31", "31/03/2027"),
            (Root::Cycles, "decision", "adapt", "maybe"),
            (Root::Cycles, "started", "2027-01-01", "soon"),
            (Root::ExitCriteria, "status", "partly_met", "nearly"),
            (Root::Links, "to", "measure:m-1", "ward:w1"),
            (Root::Measures, "target", "1,250", "lots"),
            (
                Root::Measures,
                "rebase",
                "2026-01-01,2026-06-01",
                "2026-01-01,june",
            ),
            (Root::MeasurePoints, "value", "12.5", "NaN"),
            (Root::MeasurePoints, "period", "2026-01-01", "Jan"),
        ] {
            assert_eq!(check_field(root, key, good), Ok(()), "{key}={good}");
            assert!(check_field(root, key, bad).is_err(), "{key}={bad}");
        }
        assert!(check_field(Root::RootCauses, "title", "Short staffing").is_ok());
        assert!(check_field(Root::RootCauses, "title", &"x".repeat(MAX_TEXT + 1)).is_err());
        assert!(check_field(Root::Programme, "name", &"x".repeat(MAX_TEXT + 1)).is_ok());
    }
}
