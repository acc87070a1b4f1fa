//! `plait migrate --from ./data --to postgres://…`: moves a trust from the
//! embedded store to PostgreSQL. Copies every document (snapshot, log with
//! its sequence numbers, writers' claims) and every tree beside them
//! (accounts, sessions, membership, the audit trail, evidence files), then
//! reads everything back from both sides and compares: each document's
//! state (rebuilt from each side: every client's clock and every
//! deletion), its sequence numbers, each tree entry and each claim. The database must hold no Plait data before (nothing is
//! merged or overwritten); a failed copy is reported and can be retried on
//! an emptied database.

use std::path::Path;

use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Transact};

use crate::kv::{collect, Keyspace};
use crate::postgres::PgStore;
use crate::store::{DocStore, SledStore, StoreError, StoredDoc};

/// What was copied and checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Documents copied, each with an equal state on both sides.
    pub documents: usize,
    /// Updates in their logs.
    pub updates: usize,
    /// Tree entries copied, each equal on both sides.
    pub entries: usize,
    /// Trees.
    pub trees: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Copied and checked {} document(s) ({} logged update(s)) and {} entries in {} tree(s): every document's state, entry and claim reads back equal.",
            self.documents, self.updates, self.entries, self.trees
        )
    }
}

/// Why a migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database already holds Plait data.
    #[error("the database already holds Plait data: migrate into an empty one")]
    NotEmpty,
    /// What was read back differs from what was copied.
    #[error("the copy differs from the original: {0}")]
    Differs(String),
}

/// A document rebuilt from what is stored, as yrs summarises it: every
/// client's clock and every deletion (two documents built from updates
/// with the same ids and these equal hold the same content, as an id's
/// content never changes).
pub fn state_of(id: &str, stored: &StoredDoc) -> Result<yrs::Snapshot, StoreError> {
    let doc = plait_shared::new_doc();
    {
        let mut txn = doc.transact_mut();
        let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{id}: {e}"));
        let snapshot = stored.snapshot.iter().map(|(_, state)| state);
        for bytes in snapshot.chain(stored.updates.iter().map(|(_, u)| u)) {
            let update = yrs::Update::decode_v1(bytes).map_err(|e| corrupt(&e))?;
            txn.apply_update(update).map_err(|e| corrupt(&e))?;
        }
    }
    let txn = doc.transact();
    Ok(txn.snapshot())
}

/// Copies the sled store in `from` into the database at `to`, and checks
/// the copy.
///
/// # Errors
/// [`MigrateError`]: a store failed, the database was not empty, or the
/// copy differs.
pub fn sled_to_postgres(from: &Path, to: &str) -> Result<Report, MigrateError> {
    let sled = SledStore::open(from)?;
    let pg = PgStore::open(to)?;
    copy(&sled, &pg)
}

/// [`sled_to_postgres`] between open stores.
///
/// # Errors
/// As [`sled_to_postgres`].
pub fn copy(sled: &SledStore, pg: &PgStore) -> Result<Report, MigrateError> {
    if !pg.is_empty()? {
        return Err(MigrateError::NotEmpty);
    }
    let mut report = Report::default();
    let ids = sled.doc_ids()?;
    for id in &ids {
        let Some(stored) = sled.load(id)? else {
            continue;
        };
        report.updates += stored.updates.len();
        pg.import_doc(id, stored, sled.writers(id)?)?;
        report.documents += 1;
    }
    let names = sled.tree_names();
    for name in &names {
        let entries = collect(&*sled.tree(name)?, b"")?;
        report.entries += entries.len();
        pg.import_tree(name, entries)?;
        report.trees += 1;
    }
    // New audit records sort after the copied ones.
    pg.ids_from(sled.generate_id()?)?;
    // Read back, from both sides.
    for id in &ids {
        let (Some(before), Some(after)) = (sled.load(id)?, pg.load(id)?) else {
            return Err(MigrateError::Differs(format!("{id} is missing")));
        };
        if state_of(id.as_str(), &before)? != state_of(id.as_str(), &after)? {
            return Err(MigrateError::Differs(format!("{id}'s state")));
        }
        if before.next_seq() != after.next_seq() {
            return Err(MigrateError::Differs(format!("{id}'s sequence numbers")));
        }
        if sled.writers(id)? != pg.writers(id)? {
            return Err(MigrateError::Differs(format!("{id}'s writers")));
        }
    }
    for name in &names {
        if collect(&*sled.tree(name)?, b"")? != collect(&*pg.tree(name)?, b"")? {
            return Err(MigrateError::Differs(format!("the tree {name}")));
        }
    }
    Ok(report)
}
