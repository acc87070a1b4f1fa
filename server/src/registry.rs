//! The documents in memory: loaded on first use, leased while in use, and
//! unloaded when idle. What happens to them lives beside this map: the
//! update pipeline ([`pipeline`]: admission, storage, audit), the fan-out to
//! connections ([`fanout`]: broadcasts, a joining client's whole state,
//! turns at large sends), group commit ([`flusher`]) and compaction
//! ([`compaction`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plait_shared::admission::{ItemIndex, Limits};
use plait_shared::{new_doc, DocId};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use yrs::sync::Awareness;
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Transact, Update};

mod compaction;
mod fanout;
mod flusher;
mod follow;
mod pipeline;

pub use compaction::LOG_TO_SNAPSHOT;
use fanout::{FullSync, LargeSends, Subscriber};
pub use fanout::{CACHE_FULL_SYNC_BYTES, LARGE_SENDS, LARGE_SEND_BYTES, LARGE_SEND_WAIT};
pub use flusher::{FlushError, Flusher};
pub use follow::FOLLOW_CHECK;
pub use pipeline::{Applied, ApplyError, RulesCell, Signature, UpdateAuthor, SERVER_WRITER};

use crate::audit::Audit;
use crate::metrics::Metrics;
use crate::store::{DocStore, StoreError};

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
    /// The whole state as a sync step 2, for clients that have nothing
    /// (see [`DocState::sync_step2`]).
    full_sync: FullSync,
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

use crate::guard::lock;

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
    /// The audit trail every stored update is written with. `None` only in
    /// the engine's own unit tests (over a bare store): the server always
    /// opens one (`AppState::new`), and the e2e tests check that every
    /// stored update has its record.
    audit: Option<Audit>,
    flusher: Flusher,
    docs: Mutex<HashMap<DocId, Arc<LoadedDoc>>>,
    settings: RegistrySettings,
    metrics: Arc<Metrics>,
    tasks: TaskTracker,
    next_conn: AtomicU64,
    large_sends: LargeSends,
    shutdown: CancellationToken,
    /// Told of each document another node changed (see
    /// [`Registry::on_followed`]).
    on_followed: std::sync::OnceLock<FollowHook>,
}

/// See [`Registry::on_followed`].
pub(crate) struct FollowHook(pub(crate) Box<Followed>);

/// What is told of a followed document.
type Followed = dyn Fn(&DocId, &yrs::Doc) + Send + Sync;

impl std::fmt::Debug for FollowHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FollowHook")
    }
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
        let registry = Arc::new(Registry {
            flusher: Flusher::spawn(store.clone(), metrics.clone()),
            store,
            audit,
            docs: Mutex::new(HashMap::new()),
            settings,
            metrics,
            tasks,
            next_conn: AtomicU64::new(1),
            large_sends: LargeSends::default(),
            shutdown,
            on_followed: std::sync::OnceLock::new(),
        });
        follow::spawn(&registry);
        registry
    }

    /// The metrics it keeps.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Messages waiting for one client before it counts as too slow.
    pub fn client_queue(&self) -> usize {
        self.settings.client_queue
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
        // On a shared store, a document already in memory is brought up to
        // every committed update first (a notice may still be on its way):
        // whoever leases it, a connection or a read, sees what any node
        // has acknowledged.
        if doc.state.get().is_some() && self.store.shared().is_some() {
            self.catch_up(id, None).await;
        }
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
        let loaded = self.load_once(id).await;
        if let Err(e) = &loaded {
            // Name what is damaged (`plait check`'s reading of this one
            // document); every other document keeps being served.
            let store = self.store.clone();
            let id = id.clone();
            let why = e.to_string();
            let _ = tokio::task::spawn_blocking(move || {
                let mut report = crate::check::CheckReport::default();
                let damage = crate::check::check_doc(&*store, &id, &mut report);
                tracing::error!(doc = %id, error = %why, "a document could not be loaded; run `plait check`");
                for found in damage {
                    tracing::error!(doc = %id, "damaged: {found}");
                }
            })
            .await;
        }
        loaded
    }

    async fn load_once(&self, id: &DocId) -> Result<DocState, StoreError> {
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
                full_sync: FullSync::default(),
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
        self.evict_doc(&lease.doc);
    }

    fn evict_doc(&self, loaded: &Arc<LoadedDoc>) {
        tracing::warn!(doc = %loaded.id, "evicting the document to reload it from storage");
        {
            let mut docs = lock(&self.docs);
            if docs.get(&loaded.id).is_some_and(|d| Arc::ptr_eq(d, loaded)) {
                docs.remove(&loaded.id);
                self.metrics.loaded_docs.fetch_sub(1, Ordering::Relaxed);
            }
        }
        for (_, subscriber) in lock(&loaded.subscribers).drain() {
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
