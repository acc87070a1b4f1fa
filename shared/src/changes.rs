//! What an update changed in a plan, in the plan's own terms: which actions
//! and findings, which fields, which texts, which logs gained or lost entries.
//!
//! The server needs this twice over: to check each change against who may
//! make it, and to write the audit trail ("who changed what"). Both compare
//! the plan read before an update with the plan read after it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{ActionId, FindingId};
use crate::keys::{ActionText, FieldKey, Root};
use crate::plan::{ActionView, PlanView};

pub use crate::keys::Log;

/// One change between two reads of a plan. Serialised as its structure (the
/// audit trail stores it, refusals carry it); words only when shown.
///
/// In JSON a change is a list of strings, its kind and then its fields:
/// `["field", "a-md001-1", "owner"]`, `["appended", "a-md001-1", "updates",
/// "4", "5"]`, `["structure", "", "actions/x/y"]`, `["plan_info"]`. (One
/// reader of string lists costs the web client far less code than serde's
/// reader of an enum with fourteen shapes.)
///
/// ```
/// use plait_shared::changes::{Change, Log};
/// use plait_shared::ActionId;
///
/// let change = Change::Appended(ActionId::new("a-1").unwrap(), Log::Updates, vec![4, 5]);
/// let json = serde_json::to_string(&change).unwrap();
/// assert_eq!(json, r#"["appended","a-1","updates","4","5"]"#);
/// assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), change);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// The plan's title, workstream, core service or location changed.
    PlanInfo,
    /// A finding was added.
    FindingAdded(FindingId),
    /// A finding was removed.
    FindingRemoved(FindingId),
    /// A finding's details or text changed.
    FindingEdited(FindingId),
    /// An action was added.
    ActionAdded(ActionId),
    /// An action was removed.
    ActionRemoved(ActionId),
    /// A single-valued field of an action changed.
    Field(ActionId, FieldKey),
    /// One of an action's texts changed.
    Text(ActionId, ActionText),
    /// Entries were appended to a log: the indexes of the new entries (not
    /// always contiguous: concurrent appends interleave).
    Appended(ActionId, Log, Vec<usize>),
    /// Existing entries of a log were changed or removed, which the schema
    /// never does: only a faulty or hostile client sends this.
    Rewritten(ActionId, Log),
    /// Something of the action no longer reads: a value or entry that does
    /// not fit the schema. Only a faulty or hostile client sends this.
    Malformed(ActionId),
    /// A root of the programme document changed.
    Programme(Root),
    /// Something that does not fit the documents' schema at all (an unknown
    /// root or key, a shared type of the wrong kind, an embed, formatting,
    /// a replaced action or log), with the action it was in, if any, and
    /// where.
    Structure(Option<ActionId>, String),
    /// The programme was closed (`true`: archived, read-only for everyone)
    /// or opened again (`false`), by its admin.
    Closed(bool),
    /// Clocks that change nothing anyone reads (content the sender had
    /// already collected, or items that land in something removed): kept so
    /// the sender's later edits follow on, and recorded so nothing stored
    /// is unexplained.
    NoEffect(u32),
}

impl Change {
    /// Its kind and fields, as stored.
    fn parts(&self) -> Vec<String> {
        let id = |a: &ActionId| a.as_str().to_owned();
        let mut parts = vec![self.kind().to_owned()];
        match self {
            Change::PlanInfo => {}
            Change::FindingAdded(f) | Change::FindingRemoved(f) | Change::FindingEdited(f) => {
                parts.push(f.as_str().to_owned());
            }
            Change::ActionAdded(a) | Change::ActionRemoved(a) | Change::Malformed(a) => {
                parts.push(id(a));
            }
            Change::Field(a, key) => parts.extend([id(a), key.key().to_owned()]),
            Change::Text(a, key) => parts.extend([id(a), key.key().to_owned()]),
            Change::Appended(a, log, indexes) => {
                parts.extend([id(a), log.key().to_owned()]);
                parts.extend(indexes.iter().map(usize::to_string));
            }
            Change::Rewritten(a, log) => parts.extend([id(a), log.key().to_owned()]),
            Change::Programme(root) => parts.push(root.key().to_owned()),
            Change::Structure(a, what) => {
                parts.extend([a.as_ref().map(id).unwrap_or_default(), what.clone()]);
            }
            Change::NoEffect(clocks) => parts.push(clocks.to_string()),
            Change::Closed(closed) => parts.push(closed.to_string()),
        }
        parts
    }

    fn kind(&self) -> &'static str {
        match self {
            Change::PlanInfo => "plan_info",
            Change::FindingAdded(_) => "finding_added",
            Change::FindingRemoved(_) => "finding_removed",
            Change::FindingEdited(_) => "finding_edited",
            Change::ActionAdded(_) => "action_added",
            Change::ActionRemoved(_) => "action_removed",
            Change::Field(..) => "field",
            Change::Text(..) => "text",
            Change::Appended(..) => "appended",
            Change::Rewritten(..) => "rewritten",
            Change::Malformed(_) => "malformed",
            Change::Programme(_) => "programme",
            Change::Structure(..) => "structure",
            Change::NoEffect(_) => "no_effect",
            Change::Closed(_) => "closed",
        }
    }

    /// Reads the stored form back; `None` when it is not a change.
    fn from_parts(parts: &[String]) -> Option<Change> {
        let action = |s: &String| ActionId::new(s.as_str()).ok();
        let finding = |s: &String| FindingId::new(s.as_str()).ok();
        Some(match parts {
            [k] if k == "plan_info" => Change::PlanInfo,
            [k, f] if k == "finding_added" => Change::FindingAdded(finding(f)?),
            [k, f] if k == "finding_removed" => Change::FindingRemoved(finding(f)?),
            [k, f] if k == "finding_edited" => Change::FindingEdited(finding(f)?),
            [k, a] if k == "action_added" => Change::ActionAdded(action(a)?),
            [k, a] if k == "action_removed" => Change::ActionRemoved(action(a)?),
            [k, a] if k == "malformed" => Change::Malformed(action(a)?),
            [k, a, key] if k == "field" => Change::Field(action(a)?, FieldKey::from_key(key)?),
            [k, a, key] if k == "text" => Change::Text(action(a)?, ActionText::from_key(key)?),
            [k, a, log, indexes @ ..] if k == "appended" => Change::Appended(
                action(a)?,
                Log::from_key(log)?,
                indexes
                    .iter()
                    .map(|i| i.parse().ok())
                    .collect::<Option<Vec<usize>>>()?,
            ),
            [k, a, log] if k == "rewritten" => Change::Rewritten(action(a)?, Log::from_key(log)?),
            [k, root] if k == "programme" => Change::Programme(Root::from_key(root)?),
            [k, a, what] if k == "structure" => Change::Structure(
                if a.is_empty() { None } else { Some(action(a)?) },
                what.clone(),
            ),
            [k, clocks] if k == "no_effect" => Change::NoEffect(clocks.parse().ok()?),
            [k, closed] if k == "closed" => Change::Closed(closed.parse().ok()?),
            _ => return None,
        })
    }

    /// The action it concerns, if any.
    pub fn action(&self) -> Option<&ActionId> {
        match self {
            Change::ActionAdded(id)
            | Change::ActionRemoved(id)
            | Change::Field(id, _)
            | Change::Text(id, _)
            | Change::Appended(id, ..)
            | Change::Rewritten(id, _)
            | Change::Malformed(id)
            | Change::Structure(Some(id), _) => Some(id),
            _ => None,
        }
    }
}

impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.parts().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let parts = Vec::<String>::deserialize(d)?;
        Change::from_parts(&parts)
            .ok_or_else(|| serde::de::Error::custom(format!("not a change: {}", parts.join(" "))))
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::PlanInfo => write!(f, "plan details"),
            Change::FindingAdded(id) => write!(f, "finding {id} added"),
            Change::FindingRemoved(id) => write!(f, "finding {id} removed"),
            Change::FindingEdited(id) => write!(f, "finding {id} edited"),
            Change::ActionAdded(_) => write!(f, "action added"),
            Change::ActionRemoved(_) => write!(f, "action removed"),
            Change::Field(_, key) => f.write_str(key.label()),
            Change::Text(_, key) => f.write_str(key.label()),
            Change::Appended(_, log, indexes) if indexes.len() == 1 => {
                write!(f, "{} added", log.label())
            }
            Change::Appended(_, log, indexes) => {
                write!(f, "{} added ({})", log.label(), indexes.len())
            }
            Change::Rewritten(_, log) => write!(f, "{} rewritten", log.label()),
            Change::Malformed(_) => write!(f, "malformed data"),
            Change::Programme(root) => write!(f, "programme {}", root.key()),
            Change::Structure(_, what) => write!(f, "outside the schema: {what}"),
            Change::NoEffect(clocks) => write!(f, "{clocks} item(s) with no effect"),
            Change::Closed(true) => write!(f, "programme closed and archived (read-only)"),
            Change::Closed(false) => write!(f, "programme opened again"),
        }
    }
}

/// Every change from `before` to `after`, in a stable order.
pub fn diff(before: &PlanView, after: &PlanView) -> Vec<Change> {
    let mut changes = Vec::new();
    if before.info != after.info {
        changes.push(Change::PlanInfo);
    }
    let finding_ids: BTreeSet<&FindingId> = before
        .findings
        .keys()
        .chain(after.findings.keys())
        .collect();
    for id in finding_ids {
        match (before.findings.get(id), after.findings.get(id)) {
            (None, Some(_)) => changes.push(Change::FindingAdded(id.clone())),
            (Some(_), None) => changes.push(Change::FindingRemoved(id.clone())),
            (Some(a), Some(b)) if a != b => changes.push(Change::FindingEdited(id.clone())),
            _ => {}
        }
    }
    let action_ids: BTreeSet<&ActionId> =
        before.actions.keys().chain(after.actions.keys()).collect();
    for id in action_ids {
        changes.extend(diff_action_views(
            id,
            before.actions.get(id),
            after.actions.get(id),
        ));
    }
    changes
}

/// Every change to one action between two reads of it (`None`: absent).
pub fn diff_action_views(
    id: &ActionId,
    before: Option<&ActionView>,
    after: Option<&ActionView>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    match (before, after) {
        (None, Some(_)) => changes.push(Change::ActionAdded(id.clone())),
        (Some(_), None) => changes.push(Change::ActionRemoved(id.clone())),
        (Some(a), Some(b)) => diff_action(id, a, b, &mut changes),
        (None, None) => {}
    }
    changes
}

fn diff_action(id: &ActionId, a: &ActionView, b: &ActionView, changes: &mut Vec<Change>) {
    changes.extend(
        FieldKey::ALL
            .into_iter()
            .filter(|key| !a.same_field(*key, b))
            .map(|key| Change::Field(id.clone(), key)),
    );
    changes.extend(
        ActionText::ALL
            .into_iter()
            .filter(|key| a.text(*key) != b.text(*key))
            .map(|key| Change::Text(id.clone(), key)),
    );
    log(
        id,
        Log::Transitions,
        &a.transitions,
        &b.transitions,
        changes,
    );
    log(id, Log::Updates, &a.updates, &b.updates, changes);
    log(id, Log::Evidence, &a.evidence, &b.evidence, changes);
    log(
        id,
        Log::EvidenceReviews,
        &a.evidence_reviews,
        &b.evidence_reviews,
        changes,
    );
    log(id, Log::Decisions, &a.decisions, &b.decisions, changes);
    log(id, Log::DueChanges, &a.due_changes, &b.due_changes, changes);
    log(
        id,
        Log::Sustainment,
        &a.sustainment,
        &b.sustainment,
        changes,
    );
}

/// Appends keep the old entries as a prefix, in order, unchanged. Concurrent
/// appends from other peers can land between old entries in yrs's order, so
/// "kept" means: every old entry is still there, in the same relative order.
fn log<T: PartialEq>(
    id: &ActionId,
    which: Log,
    before: &[T],
    after: &[T],
    changes: &mut Vec<Change>,
) {
    if before == after {
        return;
    }
    let mut old = before.iter().peekable();
    let mut new_indexes = Vec::new();
    for (index, entry) in after.iter().enumerate() {
        if old.peek().is_some_and(|o| *o == entry) {
            old.next();
        } else {
            new_indexes.push(index);
        }
    }
    if old.peek().is_some() {
        changes.push(Change::Rewritten(id.clone(), which));
        return;
    }
    if !new_indexes.is_empty() {
        changes.push(Change::Appended(id.clone(), which, new_indexes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_change_reads_back_and_nothing_else_does() {
        let a = ActionId::new("a-md001-1").unwrap();
        let f = FindingId::new("f-md001").unwrap();
        let all = [
            Change::PlanInfo,
            Change::FindingAdded(f.clone()),
            Change::FindingRemoved(f.clone()),
            Change::FindingEdited(f),
            Change::ActionAdded(a.clone()),
            Change::ActionRemoved(a.clone()),
            Change::Field(a.clone(), FieldKey::DueOriginal),
            Change::Text(a.clone(), ActionText::ClosureCriteria),
            Change::Appended(a.clone(), Log::Sustainment, vec![2, 5]),
            Change::Appended(a.clone(), Log::Updates, vec![]),
            Change::Rewritten(a.clone(), Log::Transitions),
            Change::Malformed(a.clone()),
            Change::Programme(Root::Phases),
            Change::Structure(Some(a), "actions/x/y replaced".into()),
            Change::Structure(None, String::new()),
            Change::NoEffect(3),
        ];
        for change in all {
            let json = serde_json::to_string(&change).unwrap();
            assert_eq!(
                serde_json::from_str::<Change>(&json).unwrap(),
                change,
                "{json}"
            );
        }
        for bad in [
            r#"[]"#,
            r#"["field","a-1"]"#,
            r#"["field","a-1","colour"]"#,
            r#"["appended","a-1","updates","x"]"#,
            r#"["plan_info","extra"]"#,
            r#"["nonsense"]"#,
            r#"{"field":["a-1","owner"]}"#,
        ] {
            assert!(serde_json::from_str::<Change>(bad).is_err(), "{bad}");
        }
    }
    use crate::doc::new_doc_with_client_id;
    use crate::entries::{LogEntry, ProgressUpdate, Transition};
    use crate::ids::{EntryId, UnixMillis, UserId};
    use crate::plan::{ActionField, ActionText, NewAction, PlanDoc, TextEdit};
    use crate::vocab::{Confidence, Role, Status};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::updates::decoder::Decode;
    use yrs::{Array, Map, ReadTxn, Transact, Update};

    fn id() -> ActionId {
        ActionId::new("a-1").unwrap()
    }

    fn plan() -> PlanDoc {
        let plan = PlanDoc::new(new_doc_with_client_id(1));
        let action = NewAction {
            reference: "MD1".into(),
            title: "Fix doors".into(),
            description: String::new(),
            finding_ids: vec![],
            workstream_id: None,
            phase_id: None,
            exec_lead: "Chief Nurse".into(),
            owner: Some(UserId::new("owner").unwrap()),
            due: None,
            confidence: None,
            closure_criteria: String::new(),
        };
        plan.add_action(&mut plan.doc().transact_mut(), &id(), &action)
            .unwrap();
        plan
    }

    fn update(n: i64) -> LogEntry {
        LogEntry::Progress(ProgressUpdate {
            id: EntryId::new(format!("u{n}")).unwrap(),
            text: format!("update {n}"),
            by: UserId::new("owner").unwrap(),
            at: UnixMillis(n),
            confidence: None,
        })
    }

    #[test]
    fn fields_texts_and_appends_are_named() {
        let plan = plan();
        let before = plan.read(&plan.doc().transact());
        {
            let mut txn = plan.doc().transact_mut();
            plan.set_action_field(
                &mut txn,
                &id(),
                &ActionField::Confidence(Some(Confidence::AtRisk)),
            )
            .unwrap();
            let edit = TextEdit {
                index: 0,
                delete: 3,
                insert: "Repair".into(),
            };
            plan.edit_action_text(&mut txn, &id(), ActionText::Title, &edit)
                .unwrap();
            plan.append(&mut txn, &id(), &update(1)).unwrap();
            let step = Transition {
                to: Status::Agreed,
                by: UserId::new("lead").unwrap(),
                role: Role::Lead,
                at: UnixMillis(2),
                note: String::new(),
                baseline: false,
            };
            plan.append(&mut txn, &id(), &LogEntry::Transition(step))
                .unwrap();
        }
        let after = plan.read(&plan.doc().transact());
        assert_eq!(
            diff(&before, &after),
            vec![
                Change::Field(id(), FieldKey::Confidence),
                Change::Text(id(), ActionText::Title),
                Change::Appended(id(), Log::Transitions, vec![0]),
                Change::Appended(id(), Log::Updates, vec![0]),
            ]
        );
        assert_eq!(diff(&after, &after), vec![]);
    }

    #[test]
    fn concurrent_appends_are_appends_and_removals_are_rewrites() {
        let a = plan();
        let b = PlanDoc::new(new_doc_with_client_id(2));
        let sync = |from: &PlanDoc, to: &PlanDoc| {
            let sv = to.doc().transact().state_vector();
            let bytes = from.doc().transact().encode_state_as_update_v1(&sv);
            to.doc()
                .transact_mut()
                .apply_update(Update::decode_v1(&bytes).unwrap())
                .unwrap();
        };
        sync(&a, &b);
        a.append(&mut a.doc().transact_mut(), &id(), &update(1))
            .unwrap();
        sync(&a, &b);
        let before = a.read(&a.doc().transact());
        // Concurrent: a appends u2, b appends u3; merged, both are new.
        a.append(&mut a.doc().transact_mut(), &id(), &update(2))
            .unwrap();
        b.append(&mut b.doc().transact_mut(), &id(), &update(3))
            .unwrap();
        sync(&b, &a);
        let after = a.read(&a.doc().transact());
        let changes = diff(&before, &after);
        assert_eq!(changes.len(), 1, "{changes:?}");
        let Change::Appended(_, Log::Updates, new) = &changes[0] else {
            panic!("expected an append, got {changes:?}");
        };
        assert_eq!(new.len(), 2);

        // Deleting an entry is a rewrite, whoever does it.
        {
            let mut txn = a.doc().transact_mut();
            let actions = txn.get_map("actions").unwrap();
            let Some(yrs::Out::YMap(action)) = actions.get(&txn, "a-1") else {
                panic!()
            };
            let Some(yrs::Out::YArray(updates)) = action.get(&txn, "updates") else {
                panic!()
            };
            updates.remove(&mut txn, 0);
        }
        let rewritten = a.read(&a.doc().transact());
        assert_eq!(
            diff(&after, &rewritten),
            vec![Change::Rewritten(id(), Log::Updates)]
        );
    }
}
