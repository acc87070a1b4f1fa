//! Compaction: a document's log folded into a new snapshot in the
//! background, rarely enough on a large document that its cost per update
//! stays a small multiple of the update's own size.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use yrs::{ReadTxn, StateVector, Transact};

use super::{Flusher, LoadedDoc, Registry};
use crate::metrics::Metrics;
use crate::store::{DocStore, StoreError};

/// A document's log is compacted only once the bytes it holds since the
/// snapshot reach the snapshot's size divided by this (as well as
/// `compact_after` entries): compaction rewrites the whole document, so on a
/// large document it must come rarely enough that its cost per update stays
/// a small multiple of the update's own size, not of the document's.
pub const LOG_TO_SNAPSHOT: u64 = 4;

impl Registry {
    pub(super) fn spawn_compaction(&self, doc: Arc<LoadedDoc>) {
        if doc.compacting.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.store.clone();
        let metrics = self.metrics.clone();
        let flusher = self.flusher.clone();
        let compact_after = self.settings.compact_after;
        self.tasks.spawn(async move {
            loop {
                let compacted = compact(&doc, &store, &metrics, &flusher).await;
                doc.compacting.store(false, Ordering::Release);
                if let Err(e) = compacted {
                    tracing::error!(doc = %doc.id, error = %e, "compaction failed; the log is kept");
                    return;
                }
                // Updates stored while it ran found it under way and left
                // it; if they made another due, nothing else would start it
                // (a burst's last updates, then quiet). Looked at after the
                // flag is down: an update stored after this starts its own.
                let due = match doc.state.get() {
                    Some(state) => {
                        let state = state.lock().await;
                        !state.poisoned
                            && compaction_due(
                                state.uncompacted,
                                state.uncompacted_bytes,
                                state.snapshot_bytes,
                                compact_after,
                            )
                    }
                    None => false,
                };
                if !due || doc.compacting.swap(true, Ordering::AcqRel) {
                    return;
                }
            }
        });
    }
}

/// Whether a log of `entries` updates and `bytes` bytes over a snapshot of
/// `snapshot_bytes` is due for compaction: `compact_after` entries, and at
/// least 1/[`LOG_TO_SNAPSHOT`] of the snapshot's size, so that rewriting a
/// large document costs each update a few times its own size.
pub(super) fn compaction_due(
    entries: u64,
    bytes: u64,
    snapshot_bytes: u64,
    compact_after: u64,
) -> bool {
    entries >= compact_after && bytes.saturating_mul(LOG_TO_SNAPSHOT) >= snapshot_bytes
}

pub(super) async fn compact(
    doc: &LoadedDoc,
    store: &Arc<dyn DocStore>,
    metrics: &Metrics,
    flusher: &Flusher,
) -> Result<(), StoreError> {
    let Some(state) = doc.state.get() else {
        return Ok(());
    };
    let (upto, snapshot, count, bytes) = {
        let state = state.lock().await;
        if state.poisoned || state.uncompacted == 0 || state.next_seq == 0 {
            return Ok(());
        }
        let snapshot = state
            .awareness
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        (
            state.next_seq - 1,
            snapshot,
            state.uncompacted,
            state.uncompacted_bytes,
        )
    };
    let snapshot_bytes = snapshot.len() as u64;
    let store = store.clone();
    let id = doc.id.clone();
    tokio::task::spawn_blocking(move || store.compact(&id, upto, &snapshot))
        .await
        .map_err(|e| StoreError::Corrupt(format!("compaction panicked: {e}")))??;
    flusher
        .flush()
        .await
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    {
        let mut state = state.lock().await;
        // Another node's snapshot may have been merged meanwhile (which
        // counts the log from there).
        state.uncompacted = state.uncompacted.saturating_sub(count);
        state.uncompacted_bytes = state.uncompacted_bytes.saturating_sub(bytes);
        state.snapshot_bytes = snapshot_bytes;
    }
    metrics
        .compaction_backlog
        .fetch_sub(count as i64, Ordering::Relaxed);
    metrics.compactions.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::compaction_due;
    use crate::registry::{Registry, RegistrySettings, UpdateAuthor};
    use crate::store::SledStore;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;
    use yrs::{ReadTxn, Text, Transact};

    #[tokio::test]
    async fn updates_stored_while_compacting_are_compacted_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let settings = RegistrySettings {
            compact_after: 10,
            ..RegistrySettings::default()
        };
        let metrics = Arc::new(crate::Metrics::default());
        let registry = Registry::new(
            store.clone(),
            None,
            settings,
            metrics.clone(),
            TaskTracker::new(),
            CancellationToken::new(),
        );
        let id = plait_shared::DocId::new("busy").unwrap();
        let lease = registry.lease(&id).await.unwrap();
        let author = UpdateAuthor::Trusted {
            shape: plait_shared::admission::schema::DocShape::Plan,
        };
        let doc = plait_shared::new_doc();
        let text = doc.get_or_insert_text("t");
        let edit = |i: usize| {
            let before = doc.transact().state_vector();
            text.push(&mut doc.transact_mut(), &format!("{i} "));
            doc.transact().encode_state_as_update_v1(&before)
        };
        // Ten updates make a compaction due; it starts (on this one
        // thread, once this task yields) and takes its snapshot.
        for i in 0..10 {
            registry
                .apply_update(&lease, None, &edit(i), &author)
                .await
                .unwrap();
        }
        tokio::task::yield_now().await;
        // Twelve more while it writes: each finds it under way.
        for i in 10..22 {
            registry
                .apply_update(&lease, None, &edit(i), &author)
                .await
                .unwrap();
        }
        // Nothing more comes, and yet they are compacted too.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        // The count goes up once the compaction is flushed, a moment after
        // the log is emptied.
        while store.log_len(&id) > 0 || metrics.compactions.load(Ordering::Relaxed) < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} updates left uncompacted after {} compactions",
                store.log_len(&id),
                metrics.compactions.load(Ordering::Relaxed)
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn a_small_document_compacts_by_entries_and_a_large_one_by_bytes() {
        // A 20 KB document: 500 updates of 100 bytes are due.
        assert!(compaction_due(500, 50_000, 20_000, 500));
        assert!(!compaction_due(499, 50_000, 20_000, 500));
        // A 20 MB document: not after 500 small updates, but once the log
        // holds a quarter of the snapshot.
        assert!(!compaction_due(500, 50_000, 20_000_000, 500));
        assert!(!compaction_due(49_999, 4_999_900, 20_000_000, 500));
        assert!(compaction_due(50_000, 5_000_000, 20_000_000, 500));
        // Never compacted yet: entries decide.
        assert!(compaction_due(500, 1, 0, 500));
    }
}
