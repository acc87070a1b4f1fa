//! Everything the server keeps beside the documents (accounts, sessions,
//! programme membership, the audit trail, evidence files) as named trees of
//! keys and values, so that it lives wherever the documents do: sled's trees
//! in the embedded store, one table in PostgreSQL (`crate::postgres`).
//!
//! The operations are the few the modules above need, each atomic on its
//! own: read, write, remove, insert only if absent (a new account's name),
//! and a scan of a key prefix in either direction that the caller can stop
//! early (the newest audit records first, without reading them all).

use std::sync::Arc;

use plait_shared::DocId;

use crate::store::{DocStore, SledStore, StoreError, StoredDoc};

/// What a scan calls with each entry (key, value); `false` stops it.
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool, StoreError> + 'a;

/// Entries as (key, value).
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// One named tree of keys and values.
pub trait KvTree: Send + Sync + std::fmt::Debug {
    /// The value under `key`.
    ///
    /// # Errors
    /// When the backend fails.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Sets `key` to `value`.
    ///
    /// # Errors
    /// When the backend fails.
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;

    /// Sets `key` to `value` unless it holds one; whether it did.
    ///
    /// # Errors
    /// When the backend fails.
    fn insert_new(&self, key: &[u8], value: &[u8]) -> Result<bool, StoreError>;

    /// Removes `key` (nothing if absent).
    ///
    /// # Errors
    /// When the backend fails.
    fn remove(&self, key: &[u8]) -> Result<(), StoreError>;

    /// Makes every write so far durable (a backend whose every write is
    /// durable when it returns, as PostgreSQL's, has nothing to do).
    ///
    /// # Errors
    /// When the backend fails.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Visits every entry whose key starts with `prefix`, in key order
    /// (`reverse`: from the last), until `visit` returns `false`.
    ///
    /// # Errors
    /// When the backend fails, or `visit` does.
    fn scan(&self, prefix: &[u8], reverse: bool, visit: &mut Visit<'_>) -> Result<(), StoreError>;
}

/// A tree, shared.
pub type Tree = Arc<dyn KvTree>;

/// Where the trees live.
pub trait Keyspace: Send + Sync + std::fmt::Debug + 'static {
    /// The tree called `name` (created empty if new).
    ///
    /// # Errors
    /// When the backend fails.
    fn tree(&self, name: &str) -> Result<Tree, StoreError>;

    /// A number never given before by this store, on any node sharing it
    /// (increasing on one node; the audit trail's record numbers).
    ///
    /// # Errors
    /// When the backend fails.
    fn generate_id(&self) -> Result<u64, StoreError>;
}

/// A whole backend: the documents and the trees beside them.
pub trait Storage: DocStore + Keyspace {
    /// What it is, for the log and `/metrics` ("sled", "postgres").
    fn kind(&self) -> &'static str;

    /// The ids of every stored document.
    ///
    /// # Errors
    /// When the backend fails.
    fn doc_ids(&self) -> Result<Vec<DocId>, StoreError>;

    /// The names of the trees beside the documents (accounts, sessions,
    /// the audit trail, evidence files: everything [`crate::kv`] keeps).
    ///
    /// # Errors
    /// When the backend fails.
    fn tree_names(&self) -> Result<Vec<String>, StoreError>;

    /// Whether it holds nothing (no document, no tree entry): the only
    /// store a copy (`plait migrate`, `plait restore`) is written into.
    ///
    /// # Errors
    /// When the backend fails.
    fn is_empty(&self) -> Result<bool, StoreError>;

    /// Writes a whole document: its snapshot, its log with the same
    /// sequence numbers, its writers' claims.
    ///
    /// # Errors
    /// When the backend fails.
    fn import_doc(
        &self,
        id: &DocId,
        stored: StoredDoc,
        writers: Vec<(u64, String)>,
    ) -> Result<(), StoreError>;

    /// Writes a tree's entries.
    ///
    /// # Errors
    /// When the backend fails.
    fn import_tree(&self, name: &str, entries: Entries) -> Result<(), StoreError>;

    /// Makes [`Keyspace::generate_id`] give numbers from `next` on (so
    /// copied audit records keep sorting before new ones).
    ///
    /// # Errors
    /// When the backend fails.
    fn ids_from(&self, next: u64) -> Result<(), StoreError>;
}

/// The entries of `tree` under `prefix`, in key order.
///
/// # Errors
/// When the backend fails.
pub fn collect(tree: &dyn KvTree, prefix: &[u8]) -> Result<Entries, StoreError> {
    let mut out = Vec::new();
    tree.scan(prefix, false, &mut |key, value| {
        out.push((key.to_vec(), value.to_vec()));
        Ok(true)
    })?;
    Ok(out)
}

impl KvTree for sled::Tree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sled::Tree::get(self, key)?.map(|v| v.to_vec()))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        sled::Tree::insert(self, key, value)?;
        Ok(())
    }

    fn insert_new(&self, key: &[u8], value: &[u8]) -> Result<bool, StoreError> {
        Ok(self
            .compare_and_swap(key, None::<&[u8]>, Some(value))?
            .is_ok())
    }

    fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        sled::Tree::remove(self, key)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        sled::Tree::flush(self)?;
        Ok(())
    }

    fn scan(&self, prefix: &[u8], reverse: bool, visit: &mut Visit<'_>) -> Result<(), StoreError> {
        let entries = self.scan_prefix(prefix);
        let mut step = |entry: sled::Result<(sled::IVec, sled::IVec)>| {
            let (key, value) = entry?;
            visit(&key, &value)
        };
        if reverse {
            for entry in entries.rev() {
                if !step(entry)? {
                    break;
                }
            }
        } else {
            for entry in entries {
                if !step(entry)? {
                    break;
                }
            }
        }
        Ok(())
    }
}

impl Keyspace for SledStore {
    fn tree(&self, name: &str) -> Result<Tree, StoreError> {
        Ok(Arc::new(self.db().open_tree(name)?))
    }

    fn generate_id(&self) -> Result<u64, StoreError> {
        Ok(self.db().generate_id()?)
    }
}

impl Storage for SledStore {
    fn kind(&self) -> &'static str {
        "sled"
    }

    fn doc_ids(&self) -> Result<Vec<DocId>, StoreError> {
        SledStore::doc_ids(self)
    }

    fn tree_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(SledStore::tree_names(self))
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        let db = self.db();
        for name in db.tree_names() {
            if name.starts_with(b"__sled__") {
                continue;
            }
            if !db.open_tree(&name)?.is_empty() {
                return Ok(false);
            }
        }
        Ok(db.is_empty())
    }

    fn import_doc(
        &self,
        id: &DocId,
        stored: StoredDoc,
        writers: Vec<(u64, String)>,
    ) -> Result<(), StoreError> {
        self.import_doc(id, stored, writers)
    }

    fn import_tree(&self, name: &str, entries: Entries) -> Result<(), StoreError> {
        let tree = self.db().open_tree(name)?;
        let mut batch = sled::Batch::default();
        for (key, value) in entries {
            batch.insert(key, value);
        }
        tree.apply_batch(batch)?;
        Ok(())
    }

    fn ids_from(&self, next: u64) -> Result<(), StoreError> {
        // sled's ids only grow: draw until past `next` (a copy's ids start
        // from where the original's were, so this is a few draws at most
        // after the first, which sled makes cheap by reserving ranges).
        while self.db().generate_id()? + 1 < next {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_trees_scan_a_prefix_both_ways_and_stop_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let tree = store.tree("t").unwrap();
        for key in ["a1", "a2", "a3", "b1"] {
            tree.insert(key.as_bytes(), key.as_bytes()).unwrap();
        }
        assert!(!tree.insert_new(b"a1", b"x").unwrap());
        assert!(tree.insert_new(b"a4", b"a4").unwrap());
        let keys = |reverse: bool, most: usize| {
            let mut seen = Vec::new();
            tree.scan(b"a", reverse, &mut |key, _| {
                seen.push(String::from_utf8(key.to_vec()).unwrap());
                Ok(seen.len() < most)
            })
            .unwrap();
            seen
        };
        assert_eq!(keys(false, 10), ["a1", "a2", "a3", "a4"]);
        assert_eq!(keys(true, 2), ["a4", "a3"]);
        tree.remove(b"a2").unwrap();
        assert_eq!(tree.get(b"a2").unwrap(), None);
        assert_eq!(collect(&*tree, b"").unwrap().len(), 4);
        assert!(store.generate_id().unwrap() < store.generate_id().unwrap());
    }
}
