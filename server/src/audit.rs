//! The audit trail: one append-only record per accepted update, saying who
//! (account, session, device), when, which document, and what it changed in
//! the plan's terms (which actions, which fields, which logs), with any part
//! that was refused and why. Records live in their own sled tree, keyed by
//! document and a monotonic id, and are flushed with the update itself.

use plait_shared::{ActionId, DocId};

use crate::store::StoreError;

pub use plait_shared::api::AuditRecord;

pub use crate::store::{PreparedRecord, AUDIT_TREE};

/// The trail.
#[derive(Debug, Clone)]
pub struct Audit {
    db: sled::Db,
    tree: sled::Tree,
}

fn prefix(doc: &DocId) -> Vec<u8> {
    let mut key = doc.as_str().as_bytes().to_vec();
    key.push(0);
    key
}

impl Audit {
    /// Opens the trail's tree in `db`.
    ///
    /// # Errors
    /// When sled fails.
    pub fn open(db: &sled::Db) -> Result<Audit, StoreError> {
        Ok(Audit {
            db: db.clone(),
            tree: db.open_tree(AUDIT_TREE)?,
        })
    }

    /// A record as the key and value the store writes into [`AUDIT_TREE`]
    /// in the same transaction as its update (so neither is kept without
    /// the other); `None` for none.
    ///
    /// # Errors
    /// When sled cannot give an id.
    pub fn prepare(
        &self,
        record: Option<AuditRecord>,
    ) -> Result<Option<PreparedRecord>, StoreError> {
        let Some(mut record) = record else {
            return Ok(None);
        };
        let seq = self.db.generate_id()?;
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
    /// When sled fails.
    pub fn record(&self, record: AuditRecord) -> Result<(), StoreError> {
        if let Some((key, value)) = self.prepare(Some(record))? {
            self.tree.insert(key, value)?;
        }
        Ok(())
    }

    /// A document's records, newest first, at most `limit`, optionally only
    /// those touching `action`.
    ///
    /// # Errors
    /// When sled fails or a record does not read.
    pub fn history(
        &self,
        doc: &DocId,
        action: Option<&ActionId>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut records = Vec::new();
        for entry in self.tree.scan_prefix(prefix(doc)).rev() {
            let (_, value) = entry?;
            let record: AuditRecord = serde_json::from_slice(&value)
                .map_err(|e| StoreError::Corrupt(format!("audit record: {e}")))?;
            let relevant = action.is_none_or(|action| {
                record
                    .changes
                    .iter()
                    .chain(record.refused.iter().map(|r| &r.change))
                    .any(|c| c.action() == Some(action))
            });
            if relevant {
                records.push(record);
                if records.len() >= limit {
                    break;
                }
            }
        }
        Ok(records)
    }
}
