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
}
