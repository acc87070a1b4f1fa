//! Checking every incoming update against who may change what.
//!
//! A CRDT update cannot be checked before it is merged: what it changes is
//! only known in the merged document. So the server merges it, reads the
//! actions it touched (found by deep observers on the plan's roots), diffs
//! them against its last read, and checks each change with
//! [`plait_shared::access::check_change`]. Changes that are not allowed are
//! undone at once, in a second transaction under the same lock, by a
//! server-authored update that writes the earlier values back. The update
//! that is stored and sent to everyone (the author included, so the author's
//! client converges back) is then the pair merged: the refused content was
//! deleted before anything left the server, and yrs's garbage collection
//! keeps only its ids, not its content. Allowed changes in the same update
//! (an offline afternoon's work in one sync) stand: nobody loses good work
//! because one part of it was refused.
//!
//! Programme documents change only at the hands of programme admins; any
//! change to one by anyone else is refused whole (the document is reloaded
//! from storage, which never held it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use plait_shared::access::{check_change, Actor};
use plait_shared::changes::{diff_action_views, Change, Log};
use plait_shared::{ActionId, ActionView, FindingId, FindingView, PlanDoc, PlanInfo};
use yrs::types::{DeepObservable, Event, PathSegment};
use yrs::{Doc, ReadTxn, Transact, TransactionMut};

/// What a plan update touched, gathered by the observers.
#[derive(Debug, Default)]
struct Touched {
    info: bool,
    findings: BTreeSet<String>,
    actions: BTreeSet<String>,
}

impl Touched {
    fn is_empty(&self) -> bool {
        !self.info && self.findings.is_empty() && self.actions.is_empty()
    }
}

/// The outcome of checking one update.
#[derive(Debug, Default)]
pub struct Review {
    /// Changes allowed (and kept).
    pub accepted: Vec<Change>,
    /// Changes refused, with why (undone by [`PlanGuard::revert`]).
    pub refused: Vec<(Change, String)>,
}

/// The server's last read of a plan, and the observers that say what each
/// transaction touched.
pub struct PlanGuard {
    plan: PlanDoc,
    info: PlanInfo,
    findings: BTreeMap<FindingId, FindingView>,
    actions: BTreeMap<ActionId, ActionView>,
    /// Schema problems per action at the last read.
    problems: BTreeMap<ActionId, usize>,
    touched: Arc<Mutex<Touched>>,
}

impl std::fmt::Debug for PlanGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanGuard")
            .field("actions", &self.actions.len())
            .finish_non_exhaustive()
    }
}

const OBSERVER: &str = "plait-guard";

fn first_key(event: &Event) -> Option<String> {
    match event.path().front() {
        Some(PathSegment::Key(key)) => Some(key.to_string()),
        _ => None,
    }
}

impl PlanGuard {
    /// Reads the whole plan once and starts observing it.
    pub fn new(doc: &Doc) -> PlanGuard {
        let plan = PlanDoc::new(doc.clone());
        let view = plan.read(&doc.transact());
        let touched = Arc::new(Mutex::new(Touched::default()));
        let mut problems = BTreeMap::new();
        {
            let txn = doc.transact();
            for id in view.actions.keys() {
                let (_, p) = plan.read_action_checked(&txn, id);
                if !p.is_empty() {
                    problems.insert(id.clone(), p.len());
                }
            }
        }
        for (root, kind) in [("plan", 0u8), ("findings", 1), ("actions", 2)] {
            let map = doc.get_or_insert_map(root);
            let touched = touched.clone();
            map.observe_deep(OBSERVER, move |txn: &TransactionMut, events| {
                let mut touched = touched.lock().unwrap_or_else(PoisonError::into_inner);
                for event in events.iter() {
                    if kind == 0 {
                        touched.info = true;
                        continue;
                    }
                    let set = if kind == 1 {
                        &mut touched.findings
                    } else {
                        &mut touched.actions
                    };
                    match first_key(event) {
                        Some(key) => {
                            set.insert(key);
                        }
                        None => {
                            if let Event::Map(map_event) = event {
                                set.extend(map_event.keys(txn).keys().map(|k| k.to_string()));
                            }
                        }
                    }
                }
            });
        }
        PlanGuard {
            plan,
            info: view.info,
            findings: view.findings,
            actions: view.actions,
            problems,
            touched,
        }
    }

    fn take_touched(&self) -> Touched {
        std::mem::take(&mut *self.touched.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Checks what the last transaction changed, as `actor` (or with no
    /// actor, trusts it), and brings the last read up to date with whatever
    /// is kept. Call [`PlanGuard::revert`] when anything was refused.
    pub fn review(&mut self, actor: Option<Actor<'_>>) -> Review {
        let touched = self.take_touched();
        let mut review = Review::default();
        if touched.is_empty() {
            return review;
        }
        let doc = self.plan.doc().clone();
        let txn = doc.transact();
        let mut changes: Vec<(Change, Option<ActionId>)> = Vec::new();
        let mut afters: BTreeMap<ActionId, Option<ActionView>> = BTreeMap::new();
        if touched.info && self.plan.read_info(&txn) != self.info {
            changes.push((Change::PlanInfo, None));
        }
        for key in &touched.findings {
            let Ok(id) = FindingId::new(key.as_str()) else {
                continue;
            };
            let after = self.plan.read_finding_view(&txn, &id);
            match (self.findings.get(&id), after.as_ref()) {
                (None, Some(_)) => changes.push((Change::FindingAdded(id), None)),
                (Some(_), None) => changes.push((Change::FindingRemoved(id), None)),
                (Some(a), Some(b)) if a != b => changes.push((Change::FindingEdited(id), None)),
                _ => {}
            }
        }
        for key in &touched.actions {
            let Ok(id) = ActionId::new(key.as_str()) else {
                continue;
            };
            let (after, problems) = self.plan.read_action_checked(&txn, &id);
            let before = self.actions.get(&id);
            for change in diff_action_views(&id, before, after.as_ref()) {
                match change {
                    // One check per appended entry, so one refused entry
                    // does not take its neighbours with it.
                    Change::Appended(id, log, indexes) => {
                        for index in indexes {
                            changes.push((
                                Change::Appended(id.clone(), log, vec![index]),
                                Some(id.clone()),
                            ));
                        }
                    }
                    other => changes.push((other, Some(id.clone()))),
                }
            }
            if problems.len() > self.problems.get(&id).copied().unwrap_or(0) {
                changes.push((Change::Malformed(id.clone()), Some(id.clone())));
            }
            afters.insert(id, after);
        }
        drop(txn);
        for (change, action) in changes {
            let verdict = match actor {
                None => Ok(()),
                Some(actor) => {
                    let before = action.as_ref().and_then(|id| self.actions.get(id));
                    let after = action
                        .as_ref()
                        .and_then(|id| afters.get(id))
                        .and_then(Option::as_ref);
                    check_change(actor, &change, before, after)
                }
            };
            match verdict {
                Ok(()) => review.accepted.push(change),
                Err(reason) => review.refused.push((change, reason)),
            }
        }
        if review.refused.is_empty() {
            self.refresh(&touched);
        } else {
            // Read again after the revert.
            self.pending_refresh(touched);
        }
        review
    }

    fn pending_refresh(&self, touched: Touched) {
        let mut pending = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
        pending.info |= touched.info;
        pending.findings.extend(touched.findings);
        pending.actions.extend(touched.actions);
    }

    fn refresh(&mut self, touched: &Touched) {
        let doc = self.plan.doc().clone();
        let txn = doc.transact();
        if touched.info {
            self.info = self.plan.read_info(&txn);
        }
        for key in &touched.findings {
            let Ok(id) = FindingId::new(key.as_str()) else {
                continue;
            };
            match self.plan.read_finding_view(&txn, &id) {
                Some(view) => self.findings.insert(id, view),
                None => self.findings.remove(&id),
            };
        }
        for key in &touched.actions {
            let Ok(id) = ActionId::new(key.as_str()) else {
                continue;
            };
            let (view, problems) = self.plan.read_action_checked(&txn, &id);
            match view {
                Some(view) => self.actions.insert(id.clone(), view),
                None => self.actions.remove(&id),
            };
            if problems.is_empty() {
                self.problems.remove(&id);
            } else {
                self.problems.insert(id, problems.len());
            }
        }
    }

    /// Undoes the refused changes of the last review, in `txn`, by writing
    /// back what the last read had.
    ///
    /// # Errors
    /// When a value cannot be written (then the document must be reloaded).
    pub fn revert(
        &self,
        txn: &mut TransactionMut,
        refused: &[(Change, String)],
    ) -> Result<(), plait_shared::WriteError> {
        let plan = &self.plan;
        // Logs are restored once per action and log: the entries kept are
        // the current ones minus the refused appends (or, for a rewrite or
        // malformed data, what the last read had plus the accepted appends).
        let mut logs: BTreeMap<(ActionId, Log), ActionView> = BTreeMap::new();
        let mut drop_entries: BTreeMap<(ActionId, Log), BTreeSet<usize>> = BTreeMap::new();
        for (change, _) in refused {
            match change {
                Change::PlanInfo => plan.set_info(txn, &self.info),
                Change::FindingAdded(id) => plan.remove_finding(txn, id),
                Change::FindingRemoved(id) | Change::FindingEdited(id) => {
                    if let Some(view) = self.findings.get(id) {
                        plan.put_finding(txn, view);
                    }
                }
                Change::ActionAdded(id) => plan.remove_action(txn, id),
                Change::ActionRemoved(id) => {
                    if let Some(view) = self.actions.get(id) {
                        plan.put_action(txn, view)?;
                    }
                }
                Change::Field(id, key) => {
                    if let Some(before) = self.actions.get(id) {
                        plan.restore_field(txn, id, key, before)?;
                    }
                }
                Change::Text(id, key) => {
                    if let Some(before) = self.actions.get(id) {
                        let content = match *key {
                            "title" => &before.title,
                            "description" => &before.description,
                            _ => &before.closure_criteria,
                        };
                        plan.restore_text(txn, id, key, content)?;
                    }
                }
                Change::Appended(id, log, indexes) => {
                    drop_entries
                        .entry((id.clone(), *log))
                        .or_default()
                        .extend(indexes.iter().copied());
                }
                Change::Rewritten(id, log) => {
                    if let Some(before) = self.actions.get(id) {
                        logs.insert((id.clone(), *log), before.clone());
                    }
                }
                Change::Malformed(id) => {
                    if let Some(before) = self.actions.get(id) {
                        for key in [
                            "ref",
                            "finding_ids",
                            "workstream_id",
                            "phase_id",
                            "exec_lead",
                            "owner",
                            "due_original",
                            "confidence",
                            "assurance",
                        ] {
                            plan.restore_field(txn, id, key, before)?;
                        }
                        for log in Log::ALL {
                            logs.entry((id.clone(), log))
                                .or_insert_with(|| before.clone());
                        }
                    }
                }
            }
        }
        for ((id, log), indexes) in drop_entries {
            if logs.contains_key(&(id.clone(), log)) {
                continue;
            }
            let Some(mut wanted) = plan.read_action(txn, &id) else {
                continue;
            };
            remove_indexes(&mut wanted, log, &indexes);
            logs.insert((id, log), wanted);
        }
        for ((id, log), wanted) in logs {
            plan.restore_log(txn, &id, log, &wanted)?;
        }
        Ok(())
    }

    /// Brings the last read up to date after a revert.
    pub fn settle(&mut self) {
        let touched = self.take_touched();
        self.refresh(&touched);
    }
}

fn remove_indexes(view: &mut ActionView, log: Log, indexes: &BTreeSet<usize>) {
    fn keep<T>(list: &mut Vec<T>, indexes: &BTreeSet<usize>) {
        let mut index = 0;
        list.retain(|_| {
            let kept = !indexes.contains(&index);
            index += 1;
            kept
        });
    }
    match log {
        Log::Transitions => keep(&mut view.transitions, indexes),
        Log::Updates => keep(&mut view.updates, indexes),
        Log::Evidence => keep(&mut view.evidence, indexes),
        Log::EvidenceReviews => keep(&mut view.evidence_reviews, indexes),
        Log::Decisions => keep(&mut view.decisions, indexes),
        Log::DueChanges => keep(&mut view.due_changes, indexes),
        Log::Sustainment => keep(&mut view.sustainment, indexes),
    }
}

/// Whether a transaction changed anything at all (new content or deletions).
pub fn changed_anything(txn: &TransactionMut, before: &yrs::StateVector) -> bool {
    &txn.state_vector() != before || !txn.delete_set().is_empty()
}
