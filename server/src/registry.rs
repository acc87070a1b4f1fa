//! The documents in memory: loaded on first use, leased while in use, and
//! unloaded when idle. What happens to them lives beside this map: the
//! update pipeline ([`pipeline`]: admission, storage, audit), the fan-out to
//! connections ([`fanout`]), group commit ([`flusher`]) and compaction
//! ([`compaction`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use plait_shared::admission::{ItemIndex, Limits};
use plait_shared::{new_doc, DocId};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use yrs::sync::{Awareness, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact, Update};

mod compaction;
mod fanout;
mod flusher;
mod pipeline;

use fanout::Subscriber;
pub use flusher::{FlushError, Flusher};
pub use pipeline::{Applied, ApplyError, RulesCell, Signature, UpdateAuthor};

use crate::audit::Audit;
use crate::metrics::Metrics;
use crate::store::{DocStore, StoreError};

/// A document's log is compacted only once the bytes it holds since the
/// snapshot reach the snapshot's size divided by this (as well as
/// `compact_after` entries): compaction rewrites the whole document, so on a
/// large document it must come rarely enough that its cost per update stays
/// a small multiple of the update's own size, not of the document's.
pub const LOG_TO_SNAPSHOT: u64 = 4;

/// A document's full state as a sync-step-2 message is kept for new
/// clients (an empty state vector) once it is at least this large, until
/// the document next changes: a crowd joining a large document at once is
/// answered with one encoding, shared.
pub const CACHE_FULL_SYNC_BYTES: usize = 64 * 1024;

/// A message at least this large (a large document's whole state, to a
/// joining client) waits for one of [`LARGE_SENDS`] turns before it is sent.
pub const LARGE_SEND_BYTES: usize = 1 << 20;

/// How many large messages are sent at once. When a crowd joins a large
/// document together, sending to all of them at once makes every one of them
/// wait for all the others; in turn, the first are done early.
pub const LARGE_SENDS: usize = 4;

/// The longest a large message waits for its turn, so that a few slow
/// clients cannot hold back everyone else.
pub const LARGE_SEND_WAIT: Duration = Duration::from_secs(1);

/// Tuning of the registry.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// How long a document with no clients stays in memory.
    pub idle_unload: Duration,
    /// Compact a document's log once it has this many entries (and holds
    /// at least 1/[`LOG_TO_SNAPSHOT`] of the snapshot's size).
    pub compact_after: u64,
    /// Messages queued for one client before it counts as too slow.
    pub client_queue: usize,
    /// How large one update and one document may be, and the clock skew
    /// allowed in entries' times.
    pub limits: Limits,
}

/// The writer recorded for client ids the server itself writes under.
pub const SERVER_WRITER: &str = "@plait-server";

impl RegistrySettings {
    /// Seconds a document with no clients stays in memory, by default.
    pub const IDLE_UNLOAD_SECS: u64 = 60;
    /// Log entries before compaction, by default.
    pub const COMPACT_AFTER: u64 = 500;
    /// Messages queued for one client, by default.
    pub const CLIENT_QUEUE: usize = 1024;
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            idle_unload: Duration::from_secs(Self::IDLE_UNLOAD_SECS),
            compact_after: Self::COMPACT_AFTER,
            client_queue: Self::CLIENT_QUEUE,
            limits: Limits::DEFAULT,
        }
    }
}

/// A document's state while loaded.
pub struct DocState {
    /// The document and its awareness (who is here, where their cursor is).
    pub awareness: Awareness,
    next_seq: u64,
    uncompacted: u64,
    /// Bytes in the log since the snapshot.
    uncompacted_bytes: u64,
    /// The size of the last snapshot.
    snapshot_bytes: u64,
    /// The whole state as a sync step 2, for clients that have nothing,
    /// with the `next_seq` it was made at.
    full_sync: Option<(u64, Bytes)>,
    /// Set when the in-memory document may differ from storage (an update
    /// failed half-way); it is then evicted and reloaded from the store.
    poisoned: bool,
    /// Where every clock of the document lives, for deciding on updates
    /// (built on the first update, from the whole state).
    index: Option<ItemIndex>,
    /// Which connection each presence (awareness client id) belongs to: the
    /// first to announce it, until it leaves. Another connection can neither
    /// change nor remove it.
    presence: HashMap<u64, u64>,
}

impl DocState {
    /// The sync step 2 (as a whole message) for a client whose state vector
    /// is `sv`: exactly what it lacks. For a client that has nothing, the
    /// answer for a large document is made once per version and shared.
    pub fn sync_step2(&mut self, sv: &StateVector) -> Bytes {
        let encode = |doc: &yrs::Doc| {
            let update = doc.transact().encode_state_as_update_v1(sv);
            Bytes::from(Message::Sync(SyncMessage::SyncStep2(update)).encode_v1())
        };
        if !sv.is_empty() {
            return encode(self.awareness.doc());
        }
        if let Some((seq, message)) = &self.full_sync {
            if *seq == self.next_seq {
                return message.clone();
            }
        }
        let message = encode(self.awareness.doc());
        self.full_sync =
            (message.len() >= CACHE_FULL_SYNC_BYTES).then(|| (self.next_seq, message.clone()));
        message
    }
}

impl std::fmt::Debug for DocState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocState")
            .field("next_seq", &self.next_seq)
            .field("uncompacted", &self.uncompacted)
            .field("uncompacted_bytes", &self.uncompacted_bytes)
            .field("snapshot_bytes", &self.snapshot_bytes)
            .finish_non_exhaustive()
    }
}

/// One document in memory.
#[derive(Debug)]
pub struct LoadedDoc {
    id: DocId,
    state: OnceCell<tokio::sync::Mutex<DocState>>,
    subscribers: Mutex<HashMap<u64, Subscriber>>,
    leases: AtomicUsize,
    compacting: AtomicBool,
    generation: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps guarded here stay consistent at every step, so a panic
    // elsewhere while holding the lock leaves nothing half-done.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The right to use a loaded document; while any lease is held the document
/// stays in memory.
#[derive(Debug)]
pub struct Lease {
    registry: Arc<Registry>,
    doc: Arc<LoadedDoc>,
}

impl Lease {
    /// The document's id.
    pub fn id(&self) -> &DocId {
        &self.doc.id
    }

    /// The document's state (loaded: a lease is only handed out once it is).
    pub fn state(&self) -> &tokio::sync::Mutex<DocState> {
        // `Registry::lease` initialises the cell before returning a lease.
        self.doc
            .state
            .get()
            .unwrap_or_else(|| unreachable!("a lease is only handed out for a loaded document"))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.doc.leases.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.registry.schedule_unload(self.doc.clone());
        }
    }
}

/// All loaded documents.
#[derive(Debug)]
pub struct Registry {
    store: Arc<dyn DocStore>,
    audit: Option<Audit>,
    flusher: Flusher,
    docs: Mutex<HashMap<DocId, Arc<LoadedDoc>>>,
    settings: RegistrySettings,
    metrics: Arc<Metrics>,
    tasks: TaskTracker,
    next_conn: AtomicU64,
    large_sends: tokio::sync::Semaphore,
    shutdown: CancellationToken,
}

impl Registry {
    /// A registry over `store`. Must be called inside a tokio runtime.
    pub fn new(
        store: Arc<dyn DocStore>,
        audit: Option<Audit>,
        settings: RegistrySettings,
        metrics: Arc<Metrics>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Arc<Registry> {
        Arc::new(Registry {
            flusher: Flusher::spawn(store.clone(), metrics.clone()),
            store,
            audit,
            docs: Mutex::new(HashMap::new()),
            settings,
            metrics,
            tasks,
            next_conn: AtomicU64::new(1),
            large_sends: tokio::sync::Semaphore::new(LARGE_SENDS),
            shutdown,
        })
    }

    /// The metrics it keeps.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The store behind it.
    pub fn store(&self) -> &Arc<dyn DocStore> {
        &self.store
    }

    /// Whether `id` is in memory now.
    pub fn is_loaded(&self, id: &DocId) -> bool {
        lock(&self.docs).contains_key(id)
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Leases `id`, loading it from the store on first use (an unknown
    /// document starts empty).
    ///
    /// # Errors
    /// When the store fails or holds data yrs cannot read.
    pub async fn lease(self: &Arc<Self>, id: &DocId) -> Result<Lease, StoreError> {
        let doc = {
            let mut docs = lock(&self.docs);
            let doc = docs
                .entry(id.clone())
                .or_insert_with(|| {
                    Arc::new(LoadedDoc {
                        id: id.clone(),
                        state: OnceCell::new(),
                        subscribers: Mutex::new(HashMap::new()),
                        leases: AtomicUsize::new(0),
                        compacting: AtomicBool::new(false),
                        generation: AtomicU64::new(0),
                    })
                })
                .clone();
            doc.leases.fetch_add(1, Ordering::AcqRel);
            doc.generation.fetch_add(1, Ordering::AcqRel);
            doc
        };
        let lease = Lease {
            registry: self.clone(),
            doc: doc.clone(),
        };
        doc.state
            .get_or_try_init(|| async {
                let state = self.load(id).await?;
                self.metrics.loaded_docs.fetch_add(1, Ordering::Relaxed);
                self.metrics
                    .compaction_backlog
                    .fetch_add(state.uncompacted as i64, Ordering::Relaxed);
                Ok::<_, StoreError>(tokio::sync::Mutex::new(state))
            })
            .await?;
        Ok(lease)
    }

    async fn load(&self, id: &DocId) -> Result<DocState, StoreError> {
        let store = self.store.clone();
        let id = id.clone();
        tokio::task::spawn_blocking(move || {
            let stored = store.load(&id)?.unwrap_or_default();
            let doc = new_doc();
            {
                let mut txn = doc.transact_mut();
                let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{id}: {e}"));
                if let Some((_, state)) = &stored.snapshot {
                    let update = Update::decode_v1(state).map_err(|e| corrupt(&e))?;
                    txn.apply_update(update).map_err(|e| corrupt(&e))?;
                }
                for (_, bytes) in &stored.updates {
                    let update = Update::decode_v1(bytes).map_err(|e| corrupt(&e))?;
                    txn.apply_update(update).map_err(|e| corrupt(&e))?;
                }
            }
            Ok(DocState {
                awareness: Awareness::new(doc),
                next_seq: stored.next_seq(),
                uncompacted: stored.updates.len() as u64,
                uncompacted_bytes: stored.updates.iter().map(|(_, u)| u.len() as u64).sum(),
                snapshot_bytes: stored.snapshot.as_ref().map_or(0, |(_, s)| s.len() as u64),
                full_sync: None,
                poisoned: false,
                index: None,
                presence: HashMap::new(),
            })
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("loading panicked: {e}")))?
    }

    /// The whole state (a yrs v1 update) of `id` if it exists, loaded or
    /// stored; `None` without creating it.
    ///
    /// # Errors
    /// When the store fails or holds data yrs cannot read.
    pub async fn existing_state(
        self: &Arc<Self>,
        id: &DocId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if !self.is_loaded(id) && !self.store.exists(id)? {
            return Ok(None);
        }
        let lease = self.lease(id).await?;
        let state = lease.state().lock().await;
        let bytes = state
            .awareness
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        Ok(Some(bytes))
    }

    /// Drops a document whose memory may differ from storage: every client
    /// is disconnected (to resync) and the next use reloads it.
    fn evict(&self, lease: &Lease) {
        tracing::warn!(doc = %lease.doc.id, "evicting the document to reload it from storage");
        {
            let mut docs = lock(&self.docs);
            if docs
                .get(&lease.doc.id)
                .is_some_and(|d| Arc::ptr_eq(d, &lease.doc))
            {
                docs.remove(&lease.doc.id);
                self.metrics.loaded_docs.fetch_sub(1, Ordering::Relaxed);
            }
        }
        for (_, subscriber) in lock(&lease.doc.subscribers).drain() {
            subscriber.kick.cancel();
        }
    }

    fn schedule_unload(self: &Arc<Self>, doc: Arc<LoadedDoc>) {
        let registry = self.clone();
        let generation = doc.generation.load(Ordering::Acquire);
        let idle = self.settings.idle_unload;
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(idle) => {}
                () = shutdown.cancelled() => return,
            }
            registry.unload_if_idle(&doc, generation).await;
        });
    }

    async fn unload_if_idle(&self, doc: &Arc<LoadedDoc>, generation: u64) {
        {
            let mut docs = lock(&self.docs);
            let idle = doc.leases.load(Ordering::Acquire) == 0
                && doc.generation.load(Ordering::Acquire) == generation
                && docs.get(&doc.id).is_some_and(|d| Arc::ptr_eq(d, doc));
            if !idle {
                return;
            }
            docs.remove(&doc.id);
        }
        // Unreachable now: compact what it holds so the next load is one read.
        if doc.state.get().is_some() {
            self.metrics.loaded_docs.fetch_sub(1, Ordering::Relaxed);
            if let Err(e) =
                compaction::compact(doc, &self.store, &self.metrics, &self.flusher).await
            {
                tracing::error!(doc = %doc.id, error = %e, "compaction on unload failed; the log is kept");
            }
        }
        tracing::debug!(doc = %doc.id, "unloaded idle document");
    }

    /// Flushes everything (at shutdown).
    ///
    /// # Errors
    /// When the flush fails.
    pub async fn flush(&self) -> Result<(), FlushError> {
        self.flusher.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::compaction::compaction_due;
    use super::*;

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

    #[tokio::test]
    async fn large_messages_take_turns_and_small_ones_never_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::SledStore::open(dir.path()).unwrap());
        let registry = Registry::new(
            store,
            None,
            RegistrySettings::default(),
            Arc::new(Metrics::default()),
            TaskTracker::new(),
            CancellationToken::new(),
        );
        assert!(registry.send_turn(LARGE_SEND_BYTES - 1).await.is_none());
        let mut turns = Vec::new();
        for _ in 0..LARGE_SENDS {
            turns.push(registry.send_turn(LARGE_SEND_BYTES).await.unwrap());
        }
        // All turns taken: a large message waits (here, not even 50 ms of
        // the second it may), a small one does not.
        let waiting = registry.send_turn(LARGE_SEND_BYTES);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), waiting)
                .await
                .is_err(),
            "a fifth large send waits"
        );
        assert!(registry.send_turn(10).await.is_none());
        turns.pop();
        assert!(registry.send_turn(LARGE_SEND_BYTES).await.is_some());
    }

    #[test]
    fn a_new_client_gets_the_whole_state_shared_until_the_document_changes() {
        use yrs::{GetString, Text};
        let doc = plait_shared::new_doc();
        let text = doc.get_or_insert_text("t");
        text.push(&mut doc.transact_mut(), &"x".repeat(CACHE_FULL_SYNC_BYTES));
        let mut state = DocState {
            awareness: Awareness::new(doc.clone()),
            next_seq: 1,
            uncompacted: 0,
            uncompacted_bytes: 0,
            snapshot_bytes: 0,
            full_sync: None,
            poisoned: false,
            index: None,
            presence: HashMap::new(),
        };
        let empty = StateVector::default();
        let first = state.sync_step2(&empty);
        let again = state.sync_step2(&empty);
        assert_eq!(first.as_ptr(), again.as_ptr(), "shared, not encoded twice");
        // A client with part of the document gets only what it lacks.
        let partial = state.sync_step2(&doc.transact().state_vector());
        assert!(partial.len() < 100);
        // After a change (a new sequence number) the answer is made anew.
        text.push(&mut doc.transact_mut(), "y");
        state.next_seq = 2;
        let after = state.sync_step2(&empty);
        assert_ne!(first.as_ptr(), after.as_ptr());
        let Ok(Message::Sync(SyncMessage::SyncStep2(update))) = Message::decode_v1(&after) else {
            panic!("a sync step 2");
        };
        let copy = plait_shared::new_doc();
        copy.transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
        let got = copy.get_or_insert_text("t").get_string(&copy.transact());
        assert_eq!(got.len(), CACHE_FULL_SYNC_BYTES + 1);
    }
}
