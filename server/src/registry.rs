//! The documents in memory: loaded on first use, merged, fanned out to every
//! connected client, persisted with group commit, compacted in the
//! background and unloaded when idle.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use plait_shared::admission::schema::DocShape;
use plait_shared::admission::{self, Author, ItemIndex, Limits, Verdict, Writer};
use plait_shared::{new_doc, DocId, Role, UserId};
use tokio::sync::{mpsc, oneshot, OnceCell};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use yrs::sync::{Awareness, AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact, Update};

use crate::audit::{Audit, AuditRecord};
use crate::metrics::Metrics;
use crate::store::{DocStore, StoreError};
use plait_shared::protocol::RefusedChange;

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

/// The person behind an update, as the audit trail records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Who.
    pub user: UserId,
    /// Which session (a short, non-secret name).
    pub session: String,
    /// Which device.
    pub device: String,
}

/// Who sends an update to the registry. The engine knows nothing of
/// sessions or HTTP: the web layer turns its access check into one of these.
#[derive(Debug, Clone)]
pub enum UpdateAuthor {
    /// A member of the document's programme: every update is checked by the
    /// admission against their role and recorded in the audit trail.
    Member {
        /// Who, for the trail.
        who: Signature,
        /// Their role in the programme.
        role: Role,
        /// The document's schema.
        shape: DocShape,
    },
    /// A server administrator on a document of no programme: there is no
    /// schema to check against, so it is taken as written, and recorded.
    Administrator {
        /// Who, for the trail.
        who: Signature,
    },
    /// The server itself (the demo seed, the command line, tests of the
    /// storage): trusted without checks and without a record.
    Trusted {
        /// The document's schema.
        shape: DocShape,
    },
}

impl UpdateAuthor {
    fn shape(&self) -> DocShape {
        match self {
            UpdateAuthor::Member { shape, .. } | UpdateAuthor::Trusted { shape } => *shape,
            UpdateAuthor::Administrator { .. } => DocShape::Plan,
        }
    }

    /// How the admission sees it.
    fn admission(&self) -> Author<'_> {
        match self {
            UpdateAuthor::Member { who, role, .. } => Author::Member {
                user: &who.user,
                role: *role,
            },
            UpdateAuthor::Administrator { .. } | UpdateAuthor::Trusted { .. } => Author::Server,
        }
    }

    /// Who the trail names, if it records this author.
    fn signature(&self) -> Option<&Signature> {
        match self {
            UpdateAuthor::Member { who, .. } | UpdateAuthor::Administrator { who } => Some(who),
            UpdateAuthor::Trusted { .. } => None,
        }
    }
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

/// Why an update was not applied. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// yrs refused it.
    #[error("the update cannot be applied: {0}")]
    Rejected(String),
    /// The bytes are not an update.
    #[error("{0}")]
    Malformed(String),
    /// It depends on clocks the server does not have: nothing was kept;
    /// answer with the server's state vector.
    #[error("the update depends on changes the server does not have: {0}")]
    Incomplete(String),
    /// Nothing of it may be kept (too large, or under a client id that
    /// writes for someone else). Nothing was kept.
    #[error("{0}")]
    Refused(String),
    /// It could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A flush that did not happen.
#[derive(Debug, Clone, thiserror::Error)]
#[error("flush failed: {0}")]
pub struct FlushError(String);

type FlushWaiter = oneshot::Sender<Result<(), FlushError>>;

/// Group commit: every waiter registered before a flush starts is answered
/// by that flush, so many updates share one `fsync`.
#[derive(Debug, Clone)]
pub struct Flusher {
    tx: mpsc::UnboundedSender<FlushWaiter>,
}

impl Flusher {
    fn spawn(store: Arc<dyn DocStore>, metrics: Arc<Metrics>) -> Flusher {
        let (tx, mut rx) = mpsc::unbounded_channel::<FlushWaiter>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiters = vec![first];
                while let Ok(more) = rx.try_recv() {
                    waiters.push(more);
                }
                let started = Instant::now();
                let store = store.clone();
                let result = match tokio::task::spawn_blocking(move || store.flush()).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(FlushError(e.to_string())),
                    Err(e) => Err(FlushError(e.to_string())),
                };
                metrics.flushed(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                if let Err(e) = &result {
                    tracing::error!(error = %e, "flush failed");
                }
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
        });
        Flusher { tx }
    }

    /// Asks for a flush covering everything written before this call; the
    /// receiver answers once it is on disk.
    pub fn request(&self) -> oneshot::Receiver<Result<(), FlushError>> {
        let (tx, rx) = oneshot::channel();
        // If the flusher has stopped, `tx` is dropped and the receiver says so.
        let _ = self.tx.send(tx);
        rx
    }

    /// Waits until everything written before this call is on disk.
    ///
    /// # Errors
    /// When the flush fails or the flusher has stopped.
    pub async fn flush(&self) -> Result<(), FlushError> {
        self.request()
            .await
            .map_err(|_| FlushError("the flusher has stopped".into()))?
    }
}

struct Subscriber {
    tx: mpsc::Sender<Bytes>,
    kick: CancellationToken,
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

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscriber")
    }
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

/// What an applied update needs: durability to wait for.
#[derive(Debug)]
pub struct Applied {
    /// The document's state vector just after the update.
    pub state_vector: StateVector,
    /// The changes refused (and undone), with why.
    pub refused: Vec<RefusedChange>,
    durable: oneshot::Receiver<Result<(), FlushError>>,
}

impl Applied {
    /// Waits until the update is on disk.
    ///
    /// # Errors
    /// When the flush failed.
    pub async fn durable(self) -> Result<StateVector, FlushError> {
        self.durable
            .await
            .map_err(|_| FlushError("the flusher has stopped".into()))??;
        Ok(self.state_vector)
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

    /// A turn to send a message of `len` bytes: for a large one, one of
    /// [`LARGE_SENDS`] permits, first come first served, waited for at most
    /// [`LARGE_SEND_WAIT`]; hold it while sending.
    pub async fn send_turn(&self, len: usize) -> Option<tokio::sync::SemaphorePermit<'_>> {
        if len < LARGE_SEND_BYTES {
            return None;
        }
        tokio::time::timeout(LARGE_SEND_WAIT, self.large_sends.acquire())
            .await
            .ok()
            .and_then(Result::ok)
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

    /// Registers a connection to receive the document's broadcasts.
    pub fn subscribe(
        &self,
        lease: &Lease,
        conn: u64,
    ) -> (mpsc::Receiver<Bytes>, CancellationToken) {
        let (tx, rx) = mpsc::channel(self.settings.client_queue);
        let kick = CancellationToken::new();
        lock(&lease.doc.subscribers).insert(
            conn,
            Subscriber {
                tx,
                kick: kick.clone(),
            },
        );
        (rx, kick)
    }

    /// Removes a connection.
    pub fn unsubscribe(&self, lease: &Lease, conn: u64) {
        lock(&lease.doc.subscribers).remove(&conn);
    }

    /// Sends `message` to every subscriber but `except`. A subscriber whose
    /// queue is full is disconnected (to resync), never silently skipped.
    pub fn broadcast(&self, lease: &Lease, except: Option<u64>, message: &Bytes) -> usize {
        let mut subscribers = lock(&lease.doc.subscribers);
        let mut sent = 0;
        subscribers.retain(|conn, subscriber| {
            if Some(*conn) == except {
                return true;
            }
            match subscriber.tx.try_send(message.clone()) {
                Ok(()) => {
                    sent += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.metrics.slow_disconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(doc = %lease.doc.id, conn, "client too slow: disconnecting it to resync");
                    subscriber.kick.cancel();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        self.metrics
            .updates_broadcast
            .fetch_add(sent as u64, Ordering::Relaxed);
        self.metrics
            .bytes_sent
            .fetch_add((sent * message.len()) as u64, Ordering::Relaxed);
        sent
    }

    /// Applies a client's update: decides on it from what it does (see
    /// [`plait_shared::admission`]) before it touches the document,
    /// integrates what may stand (undoing in the same transaction what may
    /// not), stores the result with its audit record and the client ids it
    /// claims in one write, sends it on, and asks for a flush. The returned
    /// [`Applied`] resolves once the update is durable.
    ///
    /// # Errors
    /// [`ApplyError`]: malformed, incomplete (answer with the state vector),
    /// refused whole, or not stored; in every case nothing was stored or
    /// sent.
    pub async fn apply_update(
        &self,
        lease: &Lease,
        origin: Option<u64>,
        bytes: &[u8],
        author: &UpdateAuthor,
    ) -> Result<Applied, ApplyError> {
        self.apply_decoded(lease, origin, bytes, None, author).await
    }

    /// [`Registry::apply_update`] for an update the caller has already
    /// read (`decoded`, from `bytes`), so it is not read twice.
    ///
    /// # Errors
    /// As [`Registry::apply_update`].
    pub async fn apply_decoded(
        &self,
        lease: &Lease,
        origin: Option<u64>,
        bytes: &[u8],
        decoded: Option<admission::codec::DecodedUpdate>,
        author: &UpdateAuthor,
    ) -> Result<Applied, ApplyError> {
        self.metrics
            .updates_received
            .fetch_add(1, Ordering::Relaxed);
        self.metrics
            .bytes_received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut state = lease.state().lock().await;
        if state.poisoned {
            return Err(ApplyError::Rejected(
                "the document is being reloaded; try again".into(),
            ));
        }
        let doc = state.awareness.doc().clone();
        if bytes.len() > self.settings.limits.max_update_bytes {
            // Told before anything is read.
            self.metrics.refused_changes.fetch_add(1, Ordering::Relaxed);
            return Err(ApplyError::Refused(format!(
                "the update is {} bytes; the limit is {}",
                bytes.len(),
                self.settings.limits.max_update_bytes
            )));
        }
        let decoded = match decoded {
            Some(decoded) => decoded,
            None => crate::guard::no_panic(|| admission::codec::decode(bytes))
                .unwrap_or_else(|panic| Err(admission::codec::CodecError(panic)))
                .map_err(|e| ApplyError::Malformed(e.to_string()))?,
        };
        if decoded.structs.is_empty() && decoded.deletes.is_empty() {
            // An up-to-date client's empty sync step 2: nothing to decide
            // on (and no index to build, which on a large document is the
            // cost of reading it all), but its acknowledgement still waits
            // for what is in flight.
            let state_vector = doc.transact().state_vector();
            drop(state);
            return Ok(self.after_flush(state_vector, Vec::new()));
        }
        let shape = author.shape();
        if state.index.as_ref().map(ItemIndex::shape) != Some(shape) {
            let built = self.build_index(&lease.doc.id, &doc, shape);
            match built {
                Ok(index) => state.index = Some(index),
                Err(e) => return Err(ApplyError::Rejected(e)),
            }
        }
        let who = author.admission();
        let doc_bytes = state.snapshot_bytes + state.uncompacted_bytes;
        let limits = self.settings.limits;
        let verdict = {
            let Some(index) = state.index.as_ref() else {
                return Err(ApplyError::Rejected("no index".into()));
            };
            crate::guard::no_panic(|| {
                admission::decide_decoded(
                    index,
                    &doc,
                    who,
                    decoded,
                    bytes.len(),
                    doc_bytes,
                    &limits,
                )
            })
            .map_err(ApplyError::Rejected)?
        };
        let admitted = match verdict {
            Verdict::Known => {
                let state_vector = doc.transact().state_vector();
                drop(state);
                return Ok(self.after_flush(state_vector, Vec::new()));
            }
            Verdict::Incomplete(why) => return Err(ApplyError::Incomplete(why)),
            Verdict::Refused(why) => {
                self.metrics.refused_changes.fetch_add(1, Ordering::Relaxed);
                return Err(ApplyError::Refused(why));
            }
            Verdict::Admit(admitted) => admitted,
        };
        let claims: Vec<u64> = admitted.claims().iter().map(|c| c.get()).collect();
        let now = plait_shared::UnixMillis(crate::clock::now_millis() as i64);
        let outcome = {
            let Some(index) = state.index.as_mut() else {
                return Err(ApplyError::Rejected("no index".into()));
            };
            crate::guard::no_panic(|| {
                admission::integrate(&doc, index, admitted, who, now, &limits)
            })
            .unwrap_or_else(|panic| Err(admission::IntegrateError::Yrs(panic)))
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                state.poisoned = true;
                drop(state);
                self.evict(lease);
                return Err(ApplyError::Rejected(e.to_string()));
            }
        };
        let seq = state.next_seq;
        let refused = outcome.refused.clone();
        let record = author.signature().map(|who| AuditRecord {
            seq: 0,
            at: crate::clock::now_millis(),
            doc: lease.doc.id.clone(),
            user: who.user.clone(),
            session: who.session.clone(),
            device: who.device.clone(),
            bytes: bytes.len(),
            changes: outcome.changes.clone(),
            refused: refused.clone(),
        });
        let writer = match who {
            Author::Member { user, .. } => user.to_string(),
            Author::Server => SERVER_WRITER.to_owned(),
        };
        let mut claims: Vec<(u64, String)> =
            claims.into_iter().map(|c| (c, writer.clone())).collect();
        // The undoing is written under the server's own client id: claim it,
        // so nobody can later write under it and pass for the server.
        if outcome.echo {
            if let Some(index) = state.index.as_mut() {
                let own = doc.client_id();
                if index.writer(own).is_none() {
                    index.set_writer(own, Writer::Server);
                    claims.push((own.get(), SERVER_WRITER.to_owned()));
                }
            }
        }
        // The update, its audit record and its claims are one write: none
        // is kept without the others.
        let stored_ok = match &self.audit {
            Some(audit) => audit.prepare(record).and_then(|record| {
                self.store.append_recorded(
                    &lease.doc.id,
                    seq,
                    &outcome.update,
                    record.as_ref(),
                    &claims,
                )
            }),
            None => self
                .store
                .append_recorded(&lease.doc.id, seq, &outcome.update, None, &claims),
        };
        if let Err(e) = stored_ok {
            state.poisoned = true;
            drop(state);
            self.evict(lease);
            return Err(e.into());
        }
        if !outcome.refused.is_empty() {
            self.metrics
                .refused_changes
                .fetch_add(outcome.refused.len() as u64, Ordering::Relaxed);
        }
        state.next_seq += 1;
        state.uncompacted += 1;
        state.uncompacted_bytes += outcome.update.len() as u64;
        self.metrics
            .compaction_backlog
            .fetch_add(1, Ordering::Relaxed);
        let state_vector = doc.transact().state_vector();
        let message = Bytes::from(Message::Sync(SyncMessage::Update(outcome.update)).encode_v1());
        // The sender gets it too when part was refused, so it converges back.
        let except = if outcome.echo { None } else { origin };
        // Broadcast under the document's lock so every client sees updates in
        // the order they were stored.
        self.broadcast(lease, except, &message);
        let compact = compaction_due(
            state.uncompacted,
            state.uncompacted_bytes,
            state.snapshot_bytes,
            self.settings.compact_after,
        );
        drop(state);
        if compact {
            self.spawn_compaction(lease.doc.clone());
        }
        Ok(self.after_flush(state_vector, refused))
    }

    fn build_index(
        &self,
        id: &DocId,
        doc: &yrs::Doc,
        shape: DocShape,
    ) -> Result<ItemIndex, String> {
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let mut index = ItemIndex::from_state(shape, &state).map_err(|e| e.to_string())?;
        let writers = self.store.writers(id).map_err(|e| e.to_string())?;
        for (client, writer) in writers {
            if client >= 1 << 53 {
                continue;
            }
            let writer = if writer == SERVER_WRITER {
                Writer::Server
            } else {
                Writer::Person(writer.into())
            };
            index.set_writer(yrs::ClientID::new(client), writer);
        }
        Ok(index)
    }

    fn after_flush(&self, state_vector: StateVector, refused: Vec<RefusedChange>) -> Applied {
        Applied {
            state_vector,
            refused,
            durable: self.flusher.request(),
        }
    }

    /// Applies an awareness update from `conn` and sends it on.
    ///
    /// # Errors
    /// When the update is malformed.
    pub async fn apply_awareness(
        &self,
        lease: &Lease,
        conn: u64,
        update: AwarenessUpdate,
    ) -> Result<Vec<u64>, String> {
        let clients: Vec<u64> = update.clients.keys().map(|id| id.get()).collect();
        let message = Bytes::from(Message::Awareness(update.clone()).encode_v1());
        let mut state = lease.state().lock().await;
        crate::guard::no_panic(|| state.awareness.apply_update(update))?
            .map_err(|e| e.to_string())?;
        self.broadcast(lease, Some(conn), &message);
        Ok(clients)
    }

    /// Forgets the awareness of a departed connection's clients and tells
    /// the others.
    pub async fn remove_awareness(&self, lease: &Lease, clients: &HashSet<u64>) {
        if clients.is_empty() {
            return;
        }
        let mut state = lease.state().lock().await;
        for client in clients {
            state
                .awareness
                .remove_state(yrs::block::ClientID::new(*client));
        }
        let ids = clients.iter().map(|c| yrs::block::ClientID::new(*c));
        if let Ok(update) = state.awareness.update_with_clients(ids) {
            let message = Bytes::from(Message::Awareness(update).encode_v1());
            self.broadcast(lease, None, &message);
        }
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

    fn spawn_compaction(&self, doc: Arc<LoadedDoc>) {
        if doc.compacting.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.store.clone();
        let metrics = self.metrics.clone();
        let flusher = self.flusher.clone();
        self.tasks.spawn(async move {
            if let Err(e) = compact(&doc, &store, &metrics, &flusher).await {
                tracing::error!(doc = %doc.id, error = %e, "compaction failed; the log is kept");
            }
            doc.compacting.store(false, Ordering::Release);
        });
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
            if let Err(e) = compact(doc, &self.store, &self.metrics, &self.flusher).await {
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

/// Whether a log of `entries` updates and `bytes` bytes over a snapshot of
/// `snapshot_bytes` is due for compaction: `compact_after` entries, and at
/// least 1/[`LOG_TO_SNAPSHOT`] of the snapshot's size, so that rewriting a
/// large document costs each update a few times its own size.
fn compaction_due(entries: u64, bytes: u64, snapshot_bytes: u64, compact_after: u64) -> bool {
    entries >= compact_after && bytes.saturating_mul(LOG_TO_SNAPSHOT) >= snapshot_bytes
}

async fn compact(
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
        state.uncompacted -= count;
        state.uncompacted_bytes -= bytes;
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
