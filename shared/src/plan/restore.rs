//! Putting parts of a plan back as an earlier read had them: how the server
//! undoes a change its author was not allowed to make. Each write is a new
//! change on top of the document (a CRDT cannot forget), so every peer that
//! merges it converges to the restored state.

use serde::de::DeserializeOwned;
use serde::Serialize;
use yrs::types::ToJson;
use yrs::{Array, ArrayRef, GetString, Map, Out, ReadTxn, TextPrelim, TransactionMut};

use super::{
    write_field, ActionView, FieldKey, FindingView, NewAction, PlanDoc, PlanInfo, TextEdit,
};
use crate::doc::{
    array_ref, edit_text, map_ref, string_list, text_ref, to_any, SchemaProblem, WriteError,
};
use crate::ids::{ActionId, FindingId};
use crate::keys::{FindingField, Log, FINDING_TEXT};

impl PlanDoc {
    /// Reads one action, with the parts of it that did not read.
    pub fn read_action_checked<T: ReadTxn>(
        &self,
        txn: &T,
        id: &ActionId,
    ) -> (Option<ActionView>, Vec<SchemaProblem>) {
        let mut problems = Vec::new();
        let view = if self.actions.get(txn, id.as_str()).is_some() {
            self.read_action_into(txn, id, &mut problems)
        } else {
            None
        };
        (view, problems)
    }

    /// Reads one finding, if it exists.
    pub fn read_finding_view<T: ReadTxn>(&self, txn: &T, id: &FindingId) -> Option<FindingView> {
        self.findings.get(txn, id.as_str())?;
        self.read_finding(txn, id, &mut Vec::new())
    }

    /// Reads what the plan is about.
    pub fn read_info<T: ReadTxn>(&self, txn: &T) -> PlanInfo {
        self.read_info_into(txn, &mut Vec::new())
    }

    /// Sets the field `key` back to its value in `before`.
    ///
    /// # Errors
    /// [`WriteError::UnknownAction`].
    pub fn restore_field(
        &self,
        txn: &mut TransactionMut,
        id: &ActionId,
        key: FieldKey,
        before: &ActionView,
    ) -> Result<(), WriteError> {
        let map = self.action_map(txn, id)?;
        match before.field(key) {
            Some(field) => write_field(&map, txn, &field),
            None => {
                map.remove(txn, key.key());
            }
        }
        Ok(())
    }

    /// Sets one of an action's texts to `content`, by the smallest splice.
    ///
    /// # Errors
    /// [`WriteError::UnknownAction`], or [`WriteError::Malformed`] if the
    /// text is missing (it is then created).
    pub fn restore_text(
        &self,
        txn: &mut TransactionMut,
        id: &ActionId,
        key: &str,
        content: &str,
    ) -> Result<(), WriteError> {
        let map = self.action_map(txn, id)?;
        match text_ref(&map, txn, key) {
            Some(text) => {
                let current = text.get_string(txn);
                if let Some(edit) = TextEdit::between(&current, content) {
                    edit_text(txn, &text, &edit)?;
                }
            }
            None => {
                map.insert(txn, key, TextPrelim::new(content));
            }
        }
        Ok(())
    }

    /// Makes one of an action's logs hold exactly the entries of `log` in
    /// `wanted`, in order: entries not wanted (or unreadable) are removed,
    /// missing ones put back where they belong, the rest left alone.
    ///
    /// # Errors
    /// [`WriteError::UnknownAction`], or a value that cannot be stored.
    pub fn restore_log(
        &self,
        txn: &mut TransactionMut,
        id: &ActionId,
        log: Log,
        wanted: &ActionView,
    ) -> Result<(), WriteError> {
        let map = self.action_map(txn, id)?;
        let array = match array_ref(&map, txn, log.key()) {
            Some(array) => array,
            None => map.insert(txn, log.key(), yrs::ArrayPrelim::default()),
        };
        match log {
            Log::Transitions => restore_entries(txn, &array, &wanted.transitions),
            Log::Updates => restore_entries(txn, &array, &wanted.updates),
            Log::Evidence => restore_entries(txn, &array, &wanted.evidence),
            Log::EvidenceReviews => restore_entries(txn, &array, &wanted.evidence_reviews),
            Log::Decisions => restore_entries(txn, &array, &wanted.decisions),
            Log::DueChanges => restore_entries(txn, &array, &wanted.due_changes),
            Log::Sustainment => restore_entries(txn, &array, &wanted.sustainment),
        }
    }

    /// Removes an action.
    pub fn remove_action(&self, txn: &mut TransactionMut, id: &ActionId) {
        self.actions.remove(txn, id.as_str());
    }

    /// Writes a whole action as `view` has it (replacing whatever is stored
    /// under its id).
    ///
    /// # Errors
    /// A value that cannot be stored.
    pub fn put_action(
        &self,
        txn: &mut TransactionMut,
        view: &ActionView,
    ) -> Result<(), WriteError> {
        self.actions.remove(txn, view.id.as_str());
        self.add_action(
            txn,
            &view.id,
            &NewAction {
                reference: view.reference.clone(),
                title: view.title.clone(),
                description: view.description.clone(),
                finding_ids: view.finding_ids.clone(),
                workstream_id: view.workstream_id.clone(),
                phase_id: view.phase_id.clone(),
                exec_lead: view.exec_lead.clone(),
                owner: view.owner.clone(),
                due: view.due_original,
                // The field as it was set (the confidence given with
                // progress updates comes back with the updates).
                confidence: view.confidence_set,
                closure_criteria: view.closure_criteria.clone(),
            },
        )?;
        self.restore_field(txn, &view.id, FieldKey::Assurance, view)?;
        self.restore_field(txn, &view.id, FieldKey::ReportedColour, view)?;
        for log in Log::ALL {
            self.restore_log(txn, &view.id, log, view)?;
        }
        Ok(())
    }

    /// Removes a finding.
    pub fn remove_finding(&self, txn: &mut TransactionMut, id: &FindingId) {
        self.findings.remove(txn, id.as_str());
    }

    /// Writes a whole finding as `view` has it.
    pub fn put_finding(&self, txn: &mut TransactionMut, view: &FindingView) {
        let map = self
            .findings
            .insert(txn, view.id.as_str(), yrs::MapPrelim::default());
        map.insert(txn, FindingField::Reference.key(), view.reference.as_str());
        if let Some(kind) = view.kind {
            map.insert(txn, FindingField::Kind.key(), kind.key());
        }
        map.insert(txn, FINDING_TEXT, TextPrelim::new(view.text.as_str()));
        map.insert(
            txn,
            FindingField::Regulations.key(),
            string_list(view.regulations.iter().map(|r| r.key())),
        );
        if let Some(question) = view.key_question {
            map.insert(txn, FindingField::KeyQuestion.key(), question.key());
        }
        map.insert(
            txn,
            FindingField::CoreService.key(),
            view.core_service.as_str(),
        );
        map.insert(txn, FindingField::Location.key(), view.location.as_str());
        map.insert(txn, FindingField::Source.key(), view.source.as_str());
        // Where it stands with CQC, so a restored failing keeps its
        // deadline and its lifting.
        let compliance = &view.compliance;
        for (key, date) in [
            (FindingField::Deadline.key(), compliance.deadline),
            (FindingField::LiftedOn.key(), compliance.lifted_on),
        ] {
            if let Some(date) = date {
                map.insert(txn, key, date.iso());
            }
        }
        if !compliance.lifted_by.is_empty() {
            map.insert(
                txn,
                FindingField::LiftedBy.key(),
                compliance.lifted_by.as_str(),
            );
        }
    }

    /// Whether the finding `id` is stored as a map (a readable finding).
    pub fn has_finding_map<T: ReadTxn>(&self, txn: &T, id: &FindingId) -> bool {
        map_ref(&self.findings, txn, id.as_str()).is_some()
    }
}

fn parse<E: DeserializeOwned, T: ReadTxn>(txn: &T, array: &ArrayRef, index: u32) -> Option<E> {
    let any = match array.get(txn, index)? {
        Out::Any(any) => any,
        other => other.to_json(txn),
    };
    yrs::encoding::serde::from_any(&any).ok()
}

fn restore_entries<E: Serialize + DeserializeOwned + PartialEq>(
    txn: &mut TransactionMut,
    array: &ArrayRef,
    wanted: &[E],
) -> Result<(), WriteError> {
    let mut index = 0u32;
    let mut next = 0usize;
    loop {
        let len = array.len(txn);
        let Some(entry) = wanted.get(next) else {
            if len > index {
                array.remove_range(txn, index, len - index);
            }
            return Ok(());
        };
        if index >= len {
            array.insert(txn, index, to_any(entry)?);
            index += 1;
            next += 1;
            continue;
        }
        if parse::<E, _>(txn, array, index).as_ref() == Some(entry) {
            index += 1;
            next += 1;
        } else if (index + 1..len)
            .any(|later| parse::<E, _>(txn, array, later).as_ref() == Some(entry))
        {
            array.remove(txn, index);
        } else {
            array.insert(txn, index, to_any(entry)?);
            index += 1;
            next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TextEdit;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A failing put back whole (undoing a refused removal) keeps where it
    /// stands with CQC: its deadline and its lifting.
    #[test]
    fn a_restored_finding_keeps_its_deadline_and_lifting() {
        use crate::plan::{Compliance, NewFinding, PlanDoc};
        use crate::{Date, FindingId, FindingKind};
        use yrs::Transact;
        let plan = PlanDoc::new(crate::new_doc());
        let id = FindingId::new("wn1").unwrap();
        let day = |s: &str| Date::parse_iso(s).unwrap();
        {
            let mut txn = plan.doc().transact_mut();
            plan.add_finding(
                &mut txn,
                &id,
                &NewFinding {
                    reference: "WN1".into(),
                    kind: FindingKind::WarningNotice,
                    text: "Ligature risks not managed".into(),
                    regulations: Vec::new(),
                    key_question: None,
                    core_service: String::new(),
                    location: String::new(),
                    source: String::new(),
                    deadline: Some(day("2022-06-30")),
                },
            )
            .unwrap();
            plan.set_compliance(
                &mut txn,
                &id,
                &Compliance {
                    deadline: Some(day("2022-06-30")),
                    lifted_on: Some(day("2023-03-03")),
                    lifted_by: "CQC letter of 3 March 2023".into(),
                },
            )
            .unwrap();
        }
        let before = plan.read(&plan.doc().transact()).findings[&id].clone();
        {
            let mut txn = plan.doc().transact_mut();
            plan.remove_finding(&mut txn, &id);
            plan.put_finding(&mut txn, &before);
        }
        let after = plan.read(&plan.doc().transact()).findings[&id].clone();
        assert_eq!(after, before);
        assert_eq!(after.compliance.lifted_on, Some(day("2023-03-03")));
    }

    fn splice(old: &str, new: &str) -> Option<(u32, u32, String)> {
        TextEdit::between(old, new).map(|e| (e.index, e.delete, e.insert))
    }

    fn apply(old: &str, new: &str) -> String {
        let Some(edit) = TextEdit::between(old, new) else {
            return old.to_owned();
        };
        let units: Vec<u16> = old.encode_utf16().collect();
        let (start, end) = (edit.index as usize, (edit.index + edit.delete) as usize);
        let mut out: Vec<u16> = units[..start].to_vec();
        out.extend(edit.insert.encode_utf16());
        out.extend(&units[end..]);
        String::from_utf16(&out).unwrap()
    }

    #[test]
    fn splices_are_minimal_and_utf16() {
        assert_eq!(splice("abc", "abc"), None);
        assert_eq!(splice("abXc", "abc"), Some((2, 1, String::new())));
        assert_eq!(splice("ac", "abc"), Some((1, 0, "b".into())));
        assert_eq!(splice("😀a", "😀b"), Some((2, 1, "b".into())));
        assert_eq!(splice("aaa", "aa"), Some((2, 1, String::new())));
        assert_eq!(splice("🏥a", "🏥ba"), Some((2, 0, "b".into())));
    }

    #[test]
    fn splices_turn_old_into_new() {
        for (old, new) in [
            ("", "abc"),
            ("abc", ""),
            ("Fix doors", "Fix the doors"),
            ("aaa", "aa"),
            ("🏥 ward", "🏥 wards"),
            ("é🏥x", "é🏥🏥x"),
            ("same", "same"),
        ] {
            assert_eq!(apply(old, new), new, "{old:?} → {new:?}");
        }
    }
}
