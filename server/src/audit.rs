//! The audit trail: one append-only record per accepted update, saying who
//! (account, session, device), when, which document, and what it changed in
//! the plan's terms (which actions, which fields, which logs), with any part
//! that was refused and why. Records live in their own tree ([`AUDIT_TREE`],
//! in sled or PostgreSQL), keyed by document and a number never given twice,
//! and are stored with the update itself.

use std::sync::Arc;

use plait_shared::{ActionId, DocId};

use crate::kv::{Keyspace, Tree};
use crate::store::StoreError;

pub use plait_shared::api::AuditRecord;

pub use crate::store::{PreparedRecord, AUDIT_TREE};

/// The trail.
#[derive(Debug, Clone)]
pub struct Audit {
    ids: Arc<dyn Keyspace>,
    tree: Tree,
}

fn prefix(doc: &DocId) -> Vec<u8> {
    let mut key = doc.as_str().as_bytes().to_vec();
    key.push(0);
    key
}

impl Audit {
    /// Opens the trail's tree in `space`.
    ///
    /// # Errors
    /// When the backend fails.
    pub fn open(space: Arc<dyn Keyspace>) -> Result<Audit, StoreError> {
        Ok(Audit {
            tree: space.tree(AUDIT_TREE)?,
            ids: space,
        })
    }

    /// A record as the key and value the store writes into [`AUDIT_TREE`]
    /// in the same transaction as its update (so neither is kept without
    /// the other); `None` for none.
    ///
    /// # Errors
    /// When the backend cannot give an id.
    pub fn prepare(
        &self,
        record: Option<AuditRecord>,
    ) -> Result<Option<PreparedRecord>, StoreError> {
        if record.is_none() {
            return Ok(None);
        }
        self.prepare_numbered(record, self.ids.generate_id()?)
    }

    /// [`Audit::prepare`] with the record's number given (one the store
    /// gave for it).
    ///
    /// # Errors
    /// When the record cannot be encoded.
    pub fn prepare_numbered(
        &self,
        record: Option<AuditRecord>,
        seq: u64,
    ) -> Result<Option<PreparedRecord>, StoreError> {
        let Some(mut record) = record else {
            return Ok(None);
        };
        record.seq = seq;
        let mut key = prefix(&record.doc);
        key.extend_from_slice(&seq.to_be_bytes());
        let value = serde_json::to_vec(&record)
            .map_err(|e| StoreError::Corrupt(format!("audit record: {e}")))?;
        Ok(Some((key, value)))
    }

    /// Appends a record on its own (made durable by the next flush).
    ///
    /// # Errors
    /// When the backend fails.
    pub fn record(&self, record: AuditRecord) -> Result<(), StoreError> {
        if let Some((key, value)) = self.prepare(Some(record))? {
            self.tree.insert(&key, &value)?;
        }
        Ok(())
    }

    /// A document's records, newest first, at most `limit`, optionally only
    /// those touching `action`.
    ///
    /// # Errors
    /// When the backend fails or a record does not read.
    pub fn history(
        &self,
        doc: &DocId,
        action: Option<&ActionId>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut records = Vec::new();
        if limit == 0 {
            return Ok(records);
        }
        self.tree.scan(&prefix(doc), true, &mut |_, value| {
            let record = read_record(value)?;
            let relevant = action.is_none_or(|action| {
                record
                    .changes
                    .iter()
                    .chain(record.refused.iter().map(|r| &r.change))
                    .any(|c| c.action() == Some(action))
            });
            if relevant {
                records.push(record);
            }
            Ok(records.len() < limit)
        })?;
        Ok(records)
    }
}

/// A record as stored: this release's form, or the form before typed
/// changes (`{action, what, reason}`, words), read into typed changes so an
/// existing trail still shows. A record in neither form is damage, and an
/// error.
pub(crate) fn read_record(value: &[u8]) -> Result<AuditRecord, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("audit record: {e}"));
    match serde_json::from_slice::<AuditRecord>(value) {
        Ok(record) => Ok(record),
        Err(typed) => {
            let legacy: legacy::Record =
                serde_json::from_slice(value).map_err(|_| corrupt(typed))?;
            Ok(legacy.into_record())
        }
    }
}

/// Whether a stored record is in the form before typed changes (the store
/// upgrade to format 2 rewrites them).
pub(crate) fn is_legacy(value: &[u8]) -> bool {
    serde_json::from_slice::<AuditRecord>(value).is_err()
        && serde_json::from_slice::<legacy::Record>(value).is_ok()
}

/// The audit format before typed changes: each change's words, as its
/// `Display` then wrote them ("owner", "updates +2", "plan details").
mod legacy {
    use plait_shared::changes::Change;
    use plait_shared::keys::{ActionText, FieldKey, Log, Root};
    use plait_shared::protocol::RefusedChange;
    use plait_shared::{ActionId, DocId, FindingId, UserId};
    use serde::Deserialize;

    use super::AuditRecord;

    #[derive(Deserialize)]
    pub(super) struct Record {
        #[serde(default)]
        seq: u64,
        at: u64,
        doc: DocId,
        user: UserId,
        session: String,
        device: String,
        bytes: usize,
        changes: Vec<Words>,
        #[serde(default)]
        refused: Vec<Words>,
    }

    #[derive(Deserialize)]
    struct Words {
        #[serde(default)]
        action: Option<ActionId>,
        what: String,
        #[serde(default)]
        reason: Option<String>,
    }

    impl Record {
        pub(super) fn into_record(self) -> AuditRecord {
            AuditRecord {
                seq: self.seq,
                at: self.at,
                doc: self.doc,
                user: self.user,
                session: self.session,
                device: self.device,
                bytes: self.bytes,
                changes: self.changes.iter().map(Words::change).collect(),
                refused: self
                    .refused
                    .iter()
                    .map(|w| RefusedChange {
                        change: w.change(),
                        reason: w.reason.clone().unwrap_or_default(),
                    })
                    .collect(),
            }
        }
    }

    impl Words {
        /// The change its words name; what no longer reads is kept as
        /// words (a structure change with them), never dropped.
        fn change(&self) -> Change {
            let what = self.what.as_str();
            let action = self.action.clone();
            let with_action = |make: fn(ActionId) -> Change| action.clone().map(make);
            let known = match what {
                "plan details" => Some(Change::PlanInfo),
                "action added" => with_action(Change::ActionAdded),
                "action removed" => with_action(Change::ActionRemoved),
                "malformed data" => with_action(Change::Malformed),
                _ => None,
            }
            .or_else(|| {
                let a = action.clone()?;
                if let Some(key) = FieldKey::from_key(what) {
                    return Some(Change::Field(a, key));
                }
                if let Some(key) = ActionText::from_key(what) {
                    return Some(Change::Text(a, key));
                }
                let (log, rest) = what.split_once(' ')?;
                let log = Log::from_key(log)?;
                if rest == "rewritten" {
                    return Some(Change::Rewritten(a, log));
                }
                let added: usize = rest.strip_prefix('+')?.parse().ok()?;
                // The old words kept how many, not where.
                Some(Change::Appended(a, log, (0..added).collect()))
            })
            .or_else(|| {
                let root = what.strip_prefix("programme ")?;
                Some(Change::Programme(Root::from_key(root)?))
            })
            .or_else(|| {
                let clocks = what.strip_suffix(" item(s) with no effect")?;
                Some(Change::NoEffect(clocks.parse().ok()?))
            })
            .or_else(|| {
                let rest = what.strip_prefix("finding ")?;
                let (id, verb) = rest.rsplit_once(' ')?;
                let id = FindingId::new(id).ok()?;
                Some(match verb {
                    "added" => Change::FindingAdded(id),
                    "removed" => Change::FindingRemoved(id),
                    "edited" => Change::FindingEdited(id),
                    _ => return None,
                })
            });
            known.unwrap_or_else(|| {
                let words = what.strip_prefix("outside the schema: ").unwrap_or(what);
                Change::Structure(action.clone(), words.to_owned())
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plait_shared::changes::{Change, Log};
    use plait_shared::keys::FieldKey;
    use plait_shared::ActionId;

    #[test]
    fn a_record_in_the_earlier_form_still_reads() {
        let old = br#"{"seq":3,"at":1790000000000,"doc":"demo-estates","user":"d.hughes",
            "session":"ab12","device":"Firefox on Linux","bytes":120,
            "changes":[{"action":"a-md001","what":"owner"},{"action":"a-md001","what":"updates +2"},
                       {"what":"plan details"},{"what":"3 item(s) with no effect"},
                       {"action":"a-md001","what":"something new"}],
            "refused":[{"action":"a-md001","what":"due_original","reason":"kept once set"}]}"#;
        let record = read_record(old).unwrap();
        let a = ActionId::new("a-md001").unwrap();
        assert_eq!(
            record.changes,
            vec![
                Change::Field(a.clone(), FieldKey::Owner),
                Change::Appended(a.clone(), Log::Updates, vec![0, 1]),
                Change::PlanInfo,
                Change::NoEffect(3),
                Change::Structure(Some(a.clone()), "something new".into()),
            ]
        );
        assert_eq!(
            record.refused[0].change,
            Change::Field(a, FieldKey::DueOriginal)
        );
        assert_eq!(record.refused[0].reason, "kept once set");
        // A record in this release's form reads as itself; damage is an error.
        let now = serde_json::to_vec(&record).unwrap();
        assert_eq!(read_record(&now).unwrap(), record);
        assert!(read_record(b"{\"seq\":1}").is_err());
    }
}
