//! Durable storage of documents.
//!
//! Per document, an append-only log of yrs v1 updates (key: document id, a
//! zero byte, the sequence number big-endian, so a prefix scan returns them in
//! order) and a compacted snapshot (the whole state, with the last sequence
//! number it covers). Appending costs O(update); compaction writes the
//! snapshot and removes the log entries it covers in one sled transaction, so
//! a crash leaves either the old snapshot and its log or the new one.
//!
//! Writes are not durable until [`DocStore::flush`]: the registry groups many
//! appends into one flush (group commit) before it acknowledges them.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use plait_shared::DocId;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use tokio::sync::{broadcast, oneshot};

/// The sled tree the audit trail lives in (written with the updates, so
/// the store owns it; `crate::audit` reads it).
pub const AUDIT_TREE: &str = "audit";

/// An audit record ready to write: its key and value in [`AUDIT_TREE`].
pub type PreparedRecord = (Vec<u8>, Vec<u8>);

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// Stored bytes are not what this code wrote.
    #[error("stored data for {0} is corrupt")]
    Corrupt(String),
    /// The database (PostgreSQL) failed or refused.
    #[error("database: {0}")]
    Database(String),
}

impl StoreError {
    /// Whether retrying can help (an IO hiccup can pass; corruption cannot).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            StoreError::Sled(sled::Error::Corruption { .. }) | StoreError::Corrupt(_)
        )
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// What a node hears from the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A node committed update `seq` of a document.
    Committed(DocId, u64),
    /// Live connections to close (`crate::accounts::Closing::to_text`).
    Closing(String),
    /// Another node's clients' awareness (presence) of a document changed:
    /// the document, the node, the awareness update (y-protocols'
    /// encoding).
    Awareness(DocId, u64, Vec<u8>),
    /// The listener connected (again): notices may have been missed, so
    /// every loaded document is to be checked.
    Listening,
}

/// What other nodes committed to a document after a given sequence.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Missed {
    /// The snapshot, when a compaction removed updates past the sequence
    /// asked for (the whole state, to merge, and the last sequence it
    /// covers).
    pub snapshot: Option<(u64, Vec<u8>)>,
    /// The updates after it (or after the sequence asked for), in order.
    pub updates: Vec<(u64, Vec<u8>)>,
    /// Every client id's writer (claims other nodes made included).
    pub writers: Vec<(u64, String)>,
}

/// A future the shared log answers with.
pub type Answer<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

/// A store several nodes write at once: the document's write turn, the
/// catch-up read and the notices (implemented by
/// [`crate::postgres::PgStore`]).
pub trait SharedLog: Send + Sync {
    /// Takes `id`'s write turn (waiting for another node's to end) and
    /// reads what was committed after `after` (`None`: everything). The
    /// turn is held until [`WriteTurn::commit`] or the turn is dropped.
    fn turn(&self, id: &DocId, after: Option<u64>) -> Answer<WriteTurn>;

    /// What was committed to `id` after `after`, without a turn.
    fn since(&self, id: &DocId, after: Option<u64>) -> Answer<Missed>;

    /// The last committed sequence of each of `ids` that has one.
    fn heads(&self, ids: Vec<DocId>) -> Answer<Vec<(DocId, u64)>>;

    /// Notices from every node, this one's own included.
    fn notices(&self) -> broadcast::Receiver<Notice>;

    /// Tells the other nodes that the awareness of their clients of `doc`
    /// changed here (a hint like any notice: not waited for; an update too
    /// large for a notice is not sent).
    fn announce_awareness(&self, doc: &DocId, update: Vec<u8>);

    /// Tells every node to close the live connections `closing` names
    /// (waits until it is sent).
    fn announce_closing(&self, closing: String);
}

/// What a turn commits.
pub(crate) struct Commit {
    pub(crate) seq: u64,
    pub(crate) update: Vec<u8>,
    pub(crate) audit: Option<PreparedRecord>,
    pub(crate) claims: Vec<(u64, String)>,
}

/// A document's write turn on a shared store.
pub struct WriteTurn {
    /// What other nodes committed since the sequence asked for.
    pub missed: Missed,
    /// A number for the update's audit record, given in the turn's own
    /// transaction (see [`crate::kv::Keyspace::generate_id`]).
    pub record_id: u64,
    commit: oneshot::Sender<Commit>,
    committed: oneshot::Receiver<Result<(), StoreError>>,
}

impl std::fmt::Debug for WriteTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTurn").finish_non_exhaustive()
    }
}

impl WriteTurn {
    pub(crate) fn new(
        missed: Missed,
        record_id: u64,
        commit: oneshot::Sender<Commit>,
        committed: oneshot::Receiver<Result<(), StoreError>>,
    ) -> WriteTurn {
        WriteTurn {
            missed,
            record_id,
            commit,
            committed,
        }
    }

    /// Commits `update` as `seq` with its audit record and claims, and
    /// announces it; durable when this returns `Ok`. Ends the turn.
    ///
    /// # Errors
    /// When the database refuses or fails; nothing was committed.
    pub async fn commit(
        self,
        seq: u64,
        update: &[u8],
        audit: Option<&PreparedRecord>,
        claims: &[(u64, String)],
    ) -> Result<(), StoreError> {
        self.commit
            .send(Commit {
                seq,
                update: update.to_vec(),
                audit: audit.cloned(),
                claims: claims.to_vec(),
            })
            .map_err(|_| turn_gone())?;
        self.committed.await.map_err(|_| turn_gone())?
    }
}

fn turn_gone() -> StoreError {
    StoreError::Database("the document's write turn ended before its commit".into())
}

/// What is stored for one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDoc {
    /// The compacted state, if any, and the last sequence number it covers.
    pub snapshot: Option<(u64, Vec<u8>)>,
    /// The updates appended since, in order, with their sequence numbers.
    pub updates: Vec<(u64, Vec<u8>)>,
}

impl StoredDoc {
    /// The sequence number the next append gets.
    pub fn next_seq(&self) -> u64 {
        let from_log = self.updates.last().map(|(seq, _)| seq + 1);
        let from_snapshot = self.snapshot.as_ref().map(|(seq, _)| seq + 1);
        from_log.or(from_snapshot).unwrap_or(0)
    }
}

/// Where documents are kept. One implementation per place (sled here; the
/// browser has IndexedDB), so another backend can take its place.
pub trait DocStore: Send + Sync + std::fmt::Debug + 'static {
    /// Everything stored for `id`, or `None` if nothing is.
    ///
    /// # Errors
    /// When the backend fails or the data is corrupt.
    fn load(&self, id: &DocId) -> Result<Option<StoredDoc>, StoreError>;

    /// Whether anything is stored for `id`, without reading it.
    ///
    /// # Errors
    /// When the backend fails.
    fn exists(&self, id: &DocId) -> Result<bool, StoreError>;

    /// Appends one update as `seq` (not durable until [`DocStore::flush`]).
    ///
    /// # Errors
    /// When the backend fails.
    fn append(&self, id: &DocId, seq: u64, update: &[u8]) -> Result<(), StoreError> {
        self.append_recorded(id, seq, update, None, &[])
    }

    /// Appends one update as `seq`, with its audit record (a key and value
    /// of the audit trail) and the client ids it claims for their writer,
    /// the record and claims first: a crash keeps no update without them
    /// (not durable until [`DocStore::flush`]).
    ///
    /// # Errors
    /// When the backend fails; then the update was not written.
    fn append_recorded(
        &self,
        id: &DocId,
        seq: u64,
        update: &[u8],
        audit: Option<&PreparedRecord>,
        claims: &[(u64, String)],
    ) -> Result<(), StoreError>;

    /// Who writes under each client id of `id` (see [`DocStore::append`]).
    ///
    /// # Errors
    /// When the backend fails or the data is corrupt.
    fn writers(&self, id: &DocId) -> Result<Vec<(u64, String)>, StoreError>;

    /// Replaces the snapshot with `state`, covering every update up to and
    /// including `upto`, and removes those updates, atomically.
    ///
    /// # Errors
    /// When the backend fails.
    fn compact(&self, id: &DocId, upto: u64, state: &[u8]) -> Result<(), StoreError>;

    /// Makes everything written so far durable.
    ///
    /// # Errors
    /// When the backend fails.
    fn flush(&self) -> Result<(), StoreError>;

    /// The log several nodes write at once, when the store is shared (then
    /// updates are written through it, not [`DocStore::append_recorded`]).
    fn shared(&self) -> Option<&dyn SharedLog> {
        None
    }
}

/// The embedded store: sled, in a directory.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    log: sled::Tree,
    snapshots: sled::Tree,
    /// The audit trail's tree, written with the update it records.
    audit: sled::Tree,
    /// Document id, 0, client id (big-endian) → who writes under it.
    writers: sled::Tree,
}

fn log_prefix(id: &DocId) -> Vec<u8> {
    let mut key = id.as_str().as_bytes().to_vec();
    key.push(0);
    key
}

fn log_key(id: &DocId, seq: u64) -> Vec<u8> {
    let mut key = log_prefix(id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn seq_of(id: &DocId, key: &[u8]) -> Result<u64, StoreError> {
    key.get(id.as_str().len() + 1..)
        .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt(id.to_string()))
}

/// A snapshot's value: the last sequence number it covers (8 bytes,
/// big-endian), then the state.
fn split_snapshot<'a>(id: &DocId, bytes: &'a [u8]) -> Result<(u64, &'a [u8]), StoreError> {
    let (seq, state) = bytes
        .split_first_chunk::<8>()
        .ok_or_else(|| StoreError::Corrupt(id.to_string()))?;
    Ok((u64::from_be_bytes(*seq), state))
}

/// How often [`DocStore::load`] reads a document again while compactions
/// keep changing it under the read (each retry needs another compaction to
/// commit inside its window, so running out means something is wrong).
const LOAD_ATTEMPTS: usize = 100;

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    ///
    /// # Errors
    /// When sled cannot open its files.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        private_dir(dir)?;
        let db = sled::Config::new()
            .path(dir)
            // Durability comes from explicit group-commit flushes, not a timer.
            .flush_every_ms(None)
            .open()?;
        let log = db.open_tree("log")?;
        let snapshots = db.open_tree("snapshots")?;
        let audit = db.open_tree(AUDIT_TREE)?;
        let writers = db.open_tree("client_writers")?;
        private_files(dir)?;
        Ok(SledStore {
            db,
            log,
            snapshots,
            audit,
            writers,
        })
    }

    /// The sled database (accounts and the audit trail keep their own trees
    /// in it, so one flush makes an update and its audit record durable).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// The names of the trees beside the documents (accounts, sessions,
    /// the audit trail, evidence files: everything [`crate::kv`] keeps).
    pub fn tree_names(&self) -> Vec<String> {
        const DOCUMENTS: [&str; 3] = ["log", "snapshots", "client_writers"];
        self.db
            .tree_names()
            .into_iter()
            .map(|name| String::from_utf8_lossy(&name).into_owned())
            .filter(|name| !name.starts_with("__sled__") && !DOCUMENTS.contains(&name.as_str()))
            .collect()
    }

    /// Writes a whole document (its snapshot, its log with the same
    /// sequence numbers, its writers' claims), as a copy does.
    ///
    /// # Errors
    /// When sled fails.
    pub fn import_doc(
        &self,
        id: &DocId,
        stored: StoredDoc,
        writers: Vec<(u64, String)>,
    ) -> Result<(), StoreError> {
        if let Some((seq, state)) = stored.snapshot {
            let mut value = seq.to_be_bytes().to_vec();
            value.extend_from_slice(&state);
            self.snapshots.insert(id.as_str().as_bytes(), value)?;
        }
        for (seq, update) in stored.updates {
            self.log.insert(log_key(id, seq), update)?;
        }
        for (client, writer) in writers {
            self.writers
                .insert(log_key(id, client), writer.as_bytes())?;
        }
        Ok(())
    }

    /// How many log entries are stored for `id` (for tests and metrics).
    pub fn log_len(&self, id: &DocId) -> usize {
        self.log.scan_prefix(log_prefix(id)).count()
    }

    /// The ids of every stored document.
    ///
    /// # Errors
    /// When sled fails.
    pub fn doc_ids(&self) -> Result<Vec<DocId>, StoreError> {
        let mut ids = std::collections::BTreeSet::new();
        for key in self.snapshots.iter().keys() {
            let key = key?;
            if let Ok(id) = DocId::new(String::from_utf8_lossy(&key)) {
                ids.insert(id);
            }
        }
        for key in self.log.iter().keys() {
            let key = key?;
            let name = key.split(|b| *b == 0).next().unwrap_or_default();
            if let Ok(id) = DocId::new(String::from_utf8_lossy(name)) {
                ids.insert(id);
            }
        }
        Ok(ids.into_iter().collect())
    }
}

impl DocStore for SledStore {
    fn load(&self, id: &DocId) -> Result<Option<StoredDoc>, StoreError> {
        // A compaction can commit between the snapshot read and the log
        // scan, or during the scan (sled's scans see no transaction whole):
        // the old snapshot with only the log after the new one loses the
        // updates between. So read the snapshot, the log, the snapshot again,
        // and keep the result only if the snapshot did not change and the log
        // continues it without a gap; otherwise read again.
        let mut why = String::new();
        for _ in 0..LOAD_ATTEMPTS {
            let before = self.snapshots.get(id.as_str())?;
            let covered = match &before {
                Some(bytes) => Some(split_snapshot(id, bytes)?.0),
                None => None,
            };
            // No snapshot means nothing was ever compacted: the log starts at 0.
            let mut next = covered.map_or(0, |seq| seq + 1);
            let mut updates = Vec::new();
            let mut gap = None;
            for entry in self.log.scan_prefix(log_prefix(id)) {
                let (key, value) = entry?;
                let seq = seq_of(id, &key)?;
                // Already in the snapshot (its removal not seen yet): redundant.
                if covered.is_some_and(|covered| seq <= covered) {
                    continue;
                }
                if seq != next {
                    gap = Some(seq);
                    break;
                }
                updates.push((seq, value.to_vec()));
                next += 1;
            }
            if let Some(seq) = gap {
                why = format!("its update log jumps from seq {next} to {seq}");
            } else {
                let after = self.snapshots.get(id.as_str())?;
                let snapshot = match &after {
                    Some(bytes) => Some(split_snapshot(id, bytes)?),
                    None => None,
                };
                if snapshot.map(|(seq, _)| seq) == covered {
                    if snapshot.is_none() && updates.is_empty() {
                        return Ok(None);
                    }
                    let snapshot = snapshot.map(|(seq, state)| (seq, state.to_vec()));
                    return Ok(Some(StoredDoc { snapshot, updates }));
                }
                why = "a compaction replaced its snapshot while it was read".to_string();
            }
            std::thread::yield_now();
        }
        Err(StoreError::Corrupt(format!(
            "{id} ({why}, in each of {LOAD_ATTEMPTS} reads)"
        )))
    }

    fn exists(&self, id: &DocId) -> Result<bool, StoreError> {
        Ok(self.snapshots.contains_key(id.as_str())?
            || self
                .log
                .scan_prefix(log_prefix(id))
                .next()
                .transpose()?
                .is_some())
    }

    fn append_recorded(
        &self,
        id: &DocId,
        seq: u64,
        update: &[u8],
        audit: Option<&PreparedRecord>,
        claims: &[(u64, String)],
    ) -> Result<(), StoreError> {
        // Plain inserts in this order, not a sled transaction. sled keeps one
        // log for every tree and recovers it in LSN order, stopping at the
        // first torn or missing write (sled 0.34.7 pagecache/iterator.rs),
        // so after a crash an update is there only with the record and
        // claims written before it; a record whose update was lost was never
        // acknowledged. A transaction across the three trees cost five times
        // the server's CPU per update and broke up group commit (4,000
        // updates took 709 flushes instead of 51).
        if let Some((key, value)) = audit {
            self.audit.insert(key.as_slice(), value.as_slice())?;
        }
        for (client, writer) in claims {
            self.writers
                .insert(log_key(id, *client), writer.as_bytes())?;
        }
        self.log.insert(log_key(id, seq), update)?;
        Ok(())
    }

    fn writers(&self, id: &DocId) -> Result<Vec<(u64, String)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.writers.scan_prefix(log_prefix(id)) {
            let (key, value) = entry?;
            let writer = String::from_utf8(value.to_vec())
                .map_err(|_| StoreError::Corrupt(format!("{id}: a client id's writer")))?;
            out.push((seq_of(id, &key)?, writer));
        }
        Ok(out)
    }

    fn compact(&self, id: &DocId, upto: u64, state: &[u8]) -> Result<(), StoreError> {
        // The covered keys are immutable once written, so they can be listed
        // before the transaction that removes them.
        let covered: Vec<sled::IVec> = self
            .log
            .range(log_prefix(id)..=log_key(id, upto))
            .keys()
            .collect::<Result<_, _>>()?;
        let mut value = upto.to_be_bytes().to_vec();
        value.extend_from_slice(state);
        (&self.snapshots, &self.log).transaction(|(snapshots, log)| {
            // Never replace a snapshot with an older one (two copies of a
            // document, one unloading while the other loads, may both compact).
            let newer = snapshots
                .get(id.as_str().as_bytes())?
                .and_then(|old| old.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()))
                .is_some_and(|old| u64::from_be_bytes(old) >= upto);
            if newer {
                return Ok(());
            }
            snapshots.insert(id.as_str().as_bytes(), value.as_slice())?;
            for key in &covered {
                log.remove(key)?;
            }
            Ok::<(), ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        // sled's flush ends with an `fdatasync` (vendor/README.md).
        self.db.flush()?;
        Ok(())
    }
}

/// The data directory holds password hashes, sessions and evidence: it is
/// created (or made) readable by the server's own user only (0700), so
/// nothing in it can be reached by anyone else, whatever sled's files are
/// created as.
fn private_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Corrupt(format!("{}: {e}", dir.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(io)?;
    Ok(())
}

/// And the files in it are the owner's only (0600; directories 0700).
fn private_files(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let io = |e: std::io::Error| StoreError::Corrupt(format!("{}: {e}", dir.display()));
        let mut stack = vec![dir.to_path_buf()];
        while let Some(next) = stack.pop() {
            for entry in std::fs::read_dir(&next).map_err(io)? {
                let entry = entry.map_err(io)?;
                let kind = entry.file_type().map_err(io)?;
                let mode = if kind.is_dir() {
                    stack.push(entry.path());
                    0o700
                } else if kind.is_file() {
                    0o600
                } else {
                    continue;
                };
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))
                    .map_err(io)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_data_directory_is_the_servers_own() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        // An existing directory anyone could read is made private too.
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = SledStore::open(&dir).unwrap();
        store.flush().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                files += 1;
            }
        }
        assert!(files > 0);
    }

    fn id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    #[test]
    fn appends_load_in_order_and_compaction_swaps_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let doc = id("plan");
        assert_eq!(store.load(&doc).unwrap(), None);
        assert!(!store.exists(&doc).unwrap());
        for seq in 0..300u64 {
            store.append(&doc, seq, &seq.to_le_bytes()).unwrap();
        }
        // A document whose id is a prefix of another must not see its log.
        store.append(&id("pla"), 0, b"other").unwrap();
        assert!(store.exists(&doc).unwrap());
        let loaded = store.load(&doc).unwrap().unwrap();
        assert_eq!(loaded.updates.len(), 300);
        assert!(
            loaded.updates.windows(2).all(|w| w[0].0 + 1 == w[1].0),
            "in order past 255"
        );
        assert_eq!(loaded.next_seq(), 300);
        store.compact(&doc, 199, b"state").unwrap();
        let loaded = store.load(&doc).unwrap().unwrap();
        assert_eq!(loaded.snapshot, Some((199, b"state".to_vec())));
        assert_eq!(loaded.updates.first().map(|u| u.0), Some(200));
        assert_eq!(loaded.updates.len(), 100);
        assert_eq!(store.load(&id("pla")).unwrap().unwrap().updates.len(), 1);
        store.compact(&doc, 150, b"older").unwrap();
        assert_eq!(
            store.load(&doc).unwrap().unwrap().snapshot,
            Some((199, b"state".to_vec())),
            "an older snapshot never replaces a newer one"
        );
        store.compact(&doc, 299, b"all").unwrap();
        let loaded = store.load(&doc).unwrap().unwrap();
        assert_eq!(loaded.next_seq(), 300);
        assert!(loaded.updates.is_empty());
    }

    #[test]
    fn a_load_racing_compaction_never_misses_an_update() {
        use std::sync::atomic::{AtomicU64, Ordering};
        const UPDATES: u64 = 2_000;
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let doc = id("raced");
        // How many updates are stored (every load must return at least these).
        let appended = AtomicU64::new(0);
        // Update `seq` is its seq (LE); a snapshot's state is how many it covers.
        let check = |floor: u64| {
            let Some(stored) = store.load(&doc).unwrap() else {
                assert_eq!(floor, 0, "nothing loaded after {floor} appends");
                return;
            };
            let mut next = 0;
            if let Some((seq, state)) = &stored.snapshot {
                assert_eq!(state, &(seq + 1).to_le_bytes(), "snapshot at {seq}");
                next = seq + 1;
            }
            for (seq, update) in &stored.updates {
                let covered = stored.snapshot.as_ref().map(|s| s.0);
                assert_eq!(*seq, next, "a gap after snapshot {covered:?}");
                assert_eq!(update, &seq.to_le_bytes());
                next += 1;
            }
            assert!(next >= floor, "loaded {next} of {floor} stored updates");
        };
        let loads = std::thread::scope(|s| {
            let writer = s.spawn(|| {
                for seq in 0..UPDATES {
                    store.append(&doc, seq, &seq.to_le_bytes()).unwrap();
                    appended.store(seq + 1, Ordering::Release);
                    if seq % 5 == 4 {
                        store.compact(&doc, seq, &(seq + 1).to_le_bytes()).unwrap();
                    }
                }
            });
            let mut loads = 0;
            while !writer.is_finished() {
                check(appended.load(Ordering::Acquire));
                loads += 1;
            }
            loads
        });
        check(UPDATES);
        println!("{loads} loads raced {} compactions", UPDATES / 5);
    }

    #[test]
    fn a_gap_in_the_log_is_reported_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let doc = id("gap");
        store.append(&doc, 0, b"u0").unwrap();
        store.append(&doc, 2, b"u2").unwrap();
        let err = store.load(&doc).unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(err.to_string().contains("jumps from seq 1 to 2"), "{err}");
        // An entry the snapshot already covers is skipped, not a gap.
        store.compact(&doc, 1, b"s").unwrap();
        store.append(&doc, 1, b"late").unwrap();
        let loaded = store.load(&doc).unwrap().unwrap();
        assert_eq!(loaded.snapshot, Some((1, b"s".to_vec())));
        assert_eq!(loaded.updates, vec![(2, b"u2".to_vec())]);
    }

    #[test]
    fn flushed_data_survives_reopening() {
        flushed_values_survive_reopening(b"u0".to_vec());
    }

    /// A value over sled's blob size (about 128 KB) is a file of its own,
    /// synced with its directory as it is written (vendor/README.md).
    #[test]
    fn a_flushed_blob_survives_reopening() {
        let large: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        flushed_values_survive_reopening(large);
    }

    fn flushed_values_survive_reopening(value: Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.append(&id("d"), 0, &value).unwrap();
            store.flush().unwrap();
            let blobs = std::fs::read_dir(dir.path().join("blobs")).unwrap().count();
            assert_eq!(blobs > 0, value.len() > 200_000, "{blobs} blob files");
        }
        // sled's background threads release the directory lock a moment
        // after the last handle is dropped (this failed once in CI).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let store = loop {
            match SledStore::open(dir.path()) {
                Ok(store) => break store,
                Err(e) if std::time::Instant::now() < deadline => {
                    assert!(e.to_string().contains("lock"), "{e}");
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => panic!("the store never reopened: {e}"),
            }
        };
        assert_eq!(
            store.load(&id("d")).unwrap().unwrap().updates,
            vec![(0, value)]
        );
        assert_eq!(store.doc_ids().unwrap(), vec![id("d")]);
    }
}
