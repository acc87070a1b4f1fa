//! Documents in sled: one tree of document states keyed by document id.
//!
//! The foundation keeps each document's whole state; the sync-server issue
//! replaces this with an append-only update log plus compacted snapshots.

use std::path::Path;

use plait_shared::DocId;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
}

impl StoreError {
    /// Whether retrying can help (an IO hiccup can pass; corruption cannot).
    pub fn is_permanent(&self) -> bool {
        matches!(self, StoreError::Sled(sled::Error::Corruption { .. }))
    }
}

/// The document store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    docs: sled::Tree,
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    ///
    /// # Errors
    /// When sled cannot open its files.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = sled::open(dir)?;
        let docs = db.open_tree("docs")?;
        Ok(Store { db, docs })
    }

    /// A document's encoded state (a yrs v1 update), or `None` if unknown.
    ///
    /// # Errors
    /// When sled fails.
    pub fn get(&self, id: &DocId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.docs.get(id.as_str())?.map(|v| v.to_vec()))
    }

    /// Replaces a document's state and flushes it to disk.
    ///
    /// # Errors
    /// When sled fails.
    pub fn put(&self, id: &DocId, state: &[u8]) -> Result<(), StoreError> {
        self.docs.insert(id.as_str(), state)?;
        self.db.flush()?;
        Ok(())
    }

    /// Flushes everything written so far.
    ///
    /// # Errors
    /// When sled fails.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}
