//! The programme document's phase-2 roots ([`crate::improvement`]): each an
//! `id → Y.Map` of string fields, like the rest of the programme.
//!
//! Roots: `root_causes` {id → {theme, title, description, method,
//! category, incidents}}; `drivers` {id → {kind, parent, text, amount, by,
//! workstream_id}}; `pdsa_cycles` {id → {change_idea, title, plan,
//! prediction, done, learnt, decision, started}}; `exit_criteria` {id →
//! {text, source, status, evidence}}; `links` {id → {from, to}}.

use std::collections::BTreeMap;

use yrs::{Map, MapRef, ReadTxn, TransactionMut};

use super::{entry_map, read_entries, ProgrammeDoc};
use crate::doc::{get_parsed, get_str, SchemaProblem};
use crate::ids::{CycleId, DriverId, ExitCriterionId, LinkId, RootCauseId};
use crate::improvement::{Cycle, Driver, ExitCriterion, Link, Node, RootCause};
use crate::keys::{CycleField, DriverField, ExitField, LinkField, Root, RootCauseField};

/// Writes `fields` into `map`: a value set, an empty or missing one removed.
fn put_fields<K: Copy>(
    map: &MapRef,
    txn: &mut TransactionMut,
    key: impl Fn(K) -> &'static str,
    fields: Vec<(K, Option<String>)>,
) {
    for (field, value) in fields {
        match value.filter(|v| !v.trim().is_empty()) {
            Some(value) => {
                map.insert(txn, key(field), value);
            }
            None => {
                if map.get(txn, key(field)).is_some() {
                    map.remove(txn, key(field));
                }
            }
        }
    }
}

/// The phase-2 entities of a programme, read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhaseTwo {
    /// Root causes by id.
    pub root_causes: BTreeMap<RootCauseId, RootCause>,
    /// Driver diagrams' nodes by id.
    pub drivers: BTreeMap<DriverId, Driver>,
    /// PDSA cycles by id.
    pub cycles: BTreeMap<CycleId, Cycle>,
    /// Exit criteria by id.
    pub exit_criteria: BTreeMap<ExitCriterionId, ExitCriterion>,
    /// Links by id.
    pub links: BTreeMap<LinkId, Link>,
}

impl ProgrammeDoc {
    /// The map of a phase-2 root (any other root: the links').
    fn phase_two_root(&self, root: Root) -> &MapRef {
        match root {
            Root::RootCauses => &self.root_causes,
            Root::Drivers => &self.drivers,
            Root::Cycles => &self.cycles,
            Root::ExitCriteria => &self.exit_criteria,
            _ => &self.links,
        }
    }

    /// Adds or changes a root cause.
    pub fn put_root_cause(&self, txn: &mut TransactionMut, id: &RootCauseId, cause: &RootCause) {
        let map = entry_map(self.phase_two_root(Root::RootCauses), txn, id.as_str());
        put_fields(
            &map,
            txn,
            RootCauseField::key,
            vec![
                (RootCauseField::Theme, Some(cause.theme.clone())),
                (RootCauseField::Title, Some(cause.title.clone())),
                (RootCauseField::Description, Some(cause.description.clone())),
                (
                    RootCauseField::Method,
                    cause.method.map(|m| m.key().to_owned()),
                ),
                (RootCauseField::Category, Some(cause.category.clone())),
                (RootCauseField::Incidents, Some(cause.incidents.clone())),
            ],
        );
    }

    /// Adds or changes a node of a driver diagram.
    pub fn put_driver(&self, txn: &mut TransactionMut, id: &DriverId, driver: &Driver) {
        let map = entry_map(self.phase_two_root(Root::Drivers), txn, id.as_str());
        put_fields(
            &map,
            txn,
            DriverField::key,
            vec![
                (DriverField::Kind, driver.kind.map(|k| k.key().to_owned())),
                (
                    DriverField::Parent,
                    driver.parent.as_ref().map(ToString::to_string),
                ),
                (DriverField::Text, Some(driver.text.clone())),
                (DriverField::Amount, Some(driver.amount.clone())),
                (DriverField::By, driver.by.map(|d| d.iso())),
                (
                    DriverField::Workstream,
                    driver.workstream_id.as_ref().map(ToString::to_string),
                ),
            ],
        );
    }

    /// Adds or changes a PDSA cycle.
    pub fn put_cycle(&self, txn: &mut TransactionMut, id: &CycleId, cycle: &Cycle) {
        let map = entry_map(self.phase_two_root(Root::Cycles), txn, id.as_str());
        put_fields(
            &map,
            txn,
            CycleField::key,
            vec![
                (
                    CycleField::ChangeIdea,
                    cycle.change_idea.as_ref().map(ToString::to_string),
                ),
                (CycleField::Title, Some(cycle.title.clone())),
                (CycleField::Plan, Some(cycle.plan.clone())),
                (CycleField::Prediction, Some(cycle.prediction.clone())),
                (CycleField::Done, Some(cycle.done.clone())),
                (CycleField::Learnt, Some(cycle.learnt.clone())),
                (
                    CycleField::Decision,
                    cycle.decision.map(|d| d.key().to_owned()),
                ),
                (CycleField::Started, cycle.started.map(|d| d.iso())),
            ],
        );
    }

    /// Adds or changes an exit criterion.
    pub fn put_exit_criterion(
        &self,
        txn: &mut TransactionMut,
        id: &ExitCriterionId,
        criterion: &ExitCriterion,
    ) {
        let map = entry_map(self.phase_two_root(Root::ExitCriteria), txn, id.as_str());
        put_fields(
            &map,
            txn,
            ExitField::key,
            vec![
                (ExitField::Text, Some(criterion.text.clone())),
                (ExitField::Source, Some(criterion.source.clone())),
                (
                    ExitField::Status,
                    criterion.status.map(|s| s.key().to_owned()),
                ),
                (ExitField::Evidence, Some(criterion.evidence.clone())),
            ],
        );
    }

    /// Links two things (once: the same link again is the same entity).
    pub fn put_link(&self, txn: &mut TransactionMut, link: &Link) {
        let links = self.phase_two_root(Root::Links);
        let id = link.key();
        if links.get(txn, &id).is_some() {
            return;
        }
        let map = entry_map(links, txn, &id);
        map.insert(txn, LinkField::From.key(), link.from.key());
        map.insert(txn, LinkField::To.key(), link.to.key());
    }

    /// Removes a phase-2 entity: a root cause, a driver, a cycle, an exit
    /// criterion or a link (`root` names which). Links to it stay, and
    /// read as links to nothing, which the pages leave out.
    pub fn remove_phase_two(&self, txn: &mut TransactionMut, root: Root, id: &str) {
        let map = self.phase_two_root(root);
        if map.get(txn, id).is_some() {
            map.remove(txn, id);
        }
    }

    /// Reads the phase-2 roots.
    pub(super) fn read_phase_two<T: ReadTxn>(
        &self,
        txn: &T,
        problems: &mut Vec<SchemaProblem>,
    ) -> PhaseTwo {
        let root_causes = read_entries(
            &self.root_causes,
            txn,
            Root::RootCauses.key(),
            problems,
            |m, path, problems| RootCause {
                theme: get_str(m, txn, RootCauseField::Theme.key()).unwrap_or_default(),
                title: get_str(m, txn, RootCauseField::Title.key()).unwrap_or_default(),
                description: get_str(m, txn, RootCauseField::Description.key()).unwrap_or_default(),
                method: get_parsed(m, txn, RootCauseField::Method.key(), path, problems),
                category: get_str(m, txn, RootCauseField::Category.key()).unwrap_or_default(),
                incidents: get_str(m, txn, RootCauseField::Incidents.key()).unwrap_or_default(),
            },
        );
        let drivers = read_entries(
            &self.drivers,
            txn,
            Root::Drivers.key(),
            problems,
            |m, path, problems| Driver {
                kind: get_parsed(m, txn, DriverField::Kind.key(), path, problems),
                parent: get_parsed(m, txn, DriverField::Parent.key(), path, problems),
                text: get_str(m, txn, DriverField::Text.key()).unwrap_or_default(),
                amount: get_str(m, txn, DriverField::Amount.key()).unwrap_or_default(),
                by: get_parsed(m, txn, DriverField::By.key(), path, problems),
                workstream_id: get_parsed(m, txn, DriverField::Workstream.key(), path, problems),
            },
        );
        let cycles = read_entries(
            &self.cycles,
            txn,
            Root::Cycles.key(),
            problems,
            |m, path, problems| Cycle {
                change_idea: get_parsed(m, txn, CycleField::ChangeIdea.key(), path, problems),
                title: get_str(m, txn, CycleField::Title.key()).unwrap_or_default(),
                plan: get_str(m, txn, CycleField::Plan.key()).unwrap_or_default(),
                prediction: get_str(m, txn, CycleField::Prediction.key()).unwrap_or_default(),
                done: get_str(m, txn, CycleField::Done.key()).unwrap_or_default(),
                learnt: get_str(m, txn, CycleField::Learnt.key()).unwrap_or_default(),
                decision: get_parsed(m, txn, CycleField::Decision.key(), path, problems),
                started: get_parsed(m, txn, CycleField::Started.key(), path, problems),
            },
        );
        let exit_criteria = read_entries(
            &self.exit_criteria,
            txn,
            Root::ExitCriteria.key(),
            problems,
            |m, path, problems| ExitCriterion {
                text: get_str(m, txn, ExitField::Text.key()).unwrap_or_default(),
                source: get_str(m, txn, ExitField::Source.key()).unwrap_or_default(),
                status: get_parsed(m, txn, ExitField::Status.key(), path, problems),
                evidence: get_str(m, txn, ExitField::Evidence.key()).unwrap_or_default(),
            },
        );
        let links: BTreeMap<LinkId, Option<Link>> = read_entries(
            &self.links,
            txn,
            Root::Links.key(),
            problems,
            |m, path, problems| {
                let end = |key: LinkField, problems: &mut Vec<SchemaProblem>| {
                    let text = get_str(m, txn, key.key()).unwrap_or_default();
                    Node::parse(&text)
                        .map_err(|reason| {
                            problems.push(SchemaProblem {
                                path: format!("{path}/{}", key.key()),
                                reason,
                            });
                        })
                        .ok()
                };
                let from = end(LinkField::From, problems);
                let to = end(LinkField::To, problems);
                Some(Link {
                    from: from?,
                    to: to?,
                })
            },
        );
        PhaseTwo {
            root_causes,
            drivers,
            cycles,
            exit_criteria,
            links: links
                .into_iter()
                .filter_map(|(id, link)| Some((id, link?)))
                .collect(),
        }
    }
}
