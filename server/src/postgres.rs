//! Plait on PostgreSQL: [`PgStore`], everything [`crate::SledStore`] keeps
//! (documents, and the trees of [`crate::kv`]: accounts, sessions,
//! programme membership, the audit trail, evidence files), in a database a
//! trust already operates, shared by as many `plait serve` nodes as it
//! needs (issue 19; `docs/deploy.md`).
//!
//! The documents keep sled's model: per document an append-only log of yrs
//! v1 updates keyed by sequence number, a compacted snapshot with the last
//! sequence it covers, and the client ids each writer claims. The trees are
//! one table of (tree, key, value).
//!
//! One node alone may append and [`DocStore::flush`] (group commit, as with
//! sled). Nodes sharing the database write through [`SharedLog`] instead:
//! a node takes a document's write turn (a transaction holding the
//! document's advisory lock), reads what other nodes committed since the
//! last sequence it applied, decides on its update against that state, and
//! commits the update as the next sequence with its audit record and
//! claims, and a `NOTIFY`, in the same transaction. The other nodes
//! `LISTEN` and read every update after the last they applied; the notice
//! is only a hint (a missed one is caught by the next, or by the periodic
//! check of every loaded document's last sequence).
//!
//! The driver is `tokio-postgres` with a `deadpool` pool, on a runtime of
//! the store's own: the storage traits are synchronous (sled's are), and
//! their callers wait for an answer without the connections ever depending
//! on the caller's threads. The schema is created and migrated at open,
//! under an advisory lock so nodes starting together do not race
//! ([`MIGRATIONS`]); a database migrated by a newer Plait is refused.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plait_shared::DocId;
use tokio::sync::{broadcast, oneshot};
use tokio_postgres::NoTls;

use crate::kv::{Keyspace, KvTree, Storage, Tree, Visit};
use crate::store::{
    Answer, Commit, DocStore, Missed, Notice, PreparedRecord, SharedLog, StoreError, StoredDoc,
    WriteTurn, AUDIT_TREE,
};

/// The schema, one step per version, applied in order and recorded in
/// `plait_schema`. A step is never changed once released: a change is a
/// new step.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE plait_updates (
            doc text NOT NULL,
            seq bigint NOT NULL CHECK (seq >= 0),
            body bytea NOT NULL,
            PRIMARY KEY (doc, seq)
        );
        CREATE TABLE plait_snapshots (
            doc text PRIMARY KEY,
            seq bigint NOT NULL CHECK (seq >= 0),
            state bytea NOT NULL
        );
        CREATE TABLE plait_writers (
            doc text NOT NULL,
            client bigint NOT NULL,
            writer text NOT NULL,
            PRIMARY KEY (doc, client)
        );
        CREATE TABLE plait_audit (
            key bytea PRIMARY KEY,
            value bytea NOT NULL
        );",
    ),
    (
        // Everything beside the documents, as sled's named trees (the audit
        // trail becomes one of them), and the numbers no two nodes give.
        2,
        "CREATE TABLE plait_kv (
            tree text NOT NULL,
            key bytea NOT NULL,
            value bytea NOT NULL,
            PRIMARY KEY (tree, key)
        );
        INSERT INTO plait_kv (tree, key, value) SELECT 'audit', key, value FROM plait_audit;
        DROP TABLE plait_audit;
        CREATE SEQUENCE plait_ids AS bigint MINVALUE 1;",
    ),
];

/// The advisory lock migrations run under (any fixed number; "plait" in
/// ASCII).
const MIGRATION_LOCK: i64 = 0x0070_6c61_6974;

/// The channel commits are announced on: `doc seq`.
pub const DOC_CHANNEL: &str = "plait_docs";

/// The channel closings of live connections are announced on (see
/// [`crate::accounts::Closing`]).
pub const SESSION_CHANNEL: &str = "plait_sessions";

/// The channel awareness (presence) changes are relayed on: `doc node
/// base64`.
pub const AWARENESS_CHANNEL: &str = "plait_awareness";

/// The longest notice PostgreSQL carries is 8,000 bytes; an awareness
/// update that would not fit is not relayed.
const MAX_NOTICE: usize = 7_900;

/// Awareness relays in flight at once: more are dropped (presence is a
/// hint, and each client sends its own again), so that a client flooding
/// awareness can never take the pool's connections from the document
/// writes (20,000 awareness updates from one viewer held five honest
/// writes back 3.3 s before this bound).
pub const RELAYS: usize = 2;

/// Connections in the pool, by default (documents being written at once,
/// and reads, across the node).
pub const POOL_SIZE: usize = 16;

/// The longest a call waits for a connection of the pool.
pub const POOL_WAIT: Duration = Duration::from_secs(30);

/// How long the notice listener waits before connecting again.
const LISTEN_RETRY: Duration = Duration::from_millis(500);

/// An append not yet committed.
#[derive(Debug)]
struct Pending {
    doc: DocId,
    seq: u64,
    update: Vec<u8>,
    audit: Option<PreparedRecord>,
    claims: Vec<(u64, String)>,
}

/// Everything of Plait in a PostgreSQL database.
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: tokio::runtime::Handle,
    pool: deadpool_postgres::Pool,
    config: tokio_postgres::Config,
    pending: Mutex<Vec<Pending>>,
    notices: broadcast::Sender<Notice>,
    /// This node, among those sharing the database (its own relayed
    /// awareness comes back to it, and is dropped).
    node: u64,
    /// Turns at relaying awareness ([`RELAYS`] at once).
    relays: Arc<tokio::sync::Semaphore>,
    /// Ends the runtime's thread when the store is dropped.
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Database(format!("no connection: {e}"))
}

fn gone() -> StoreError {
    StoreError::Database("the database's runtime has stopped".into())
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Database(format!("{n} does not fit a bigint")))
}

fn to_u64(id: &str, n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{id}: sequence {n}")))
}

/// A client id (any u64) as a bigint, bit for bit.
fn client_to_i64(client: u64) -> i64 {
    i64::from_ne_bytes(client.to_ne_bytes())
}

fn client_from_i64(client: i64) -> u64 {
    u64::from_ne_bytes(client.to_ne_bytes())
}

/// The advisory lock of a document's write turn (and its compaction).
const DOC_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))";

impl PgStore {
    /// Connects to `url` (`postgres://…` or `host=… user=…`), creating or
    /// migrating the schema, and starts listening for other nodes' notices.
    ///
    /// # Errors
    /// When the database cannot be reached, refuses, or was migrated by a
    /// newer Plait.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("not a database address: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("plait-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database(format!("cannot start its runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("plait-postgres".into())
            .spawn(move || {
                // The runtime lives until the store is dropped, and is shut
                // down here, outside any async context.
                let _ = runtime.block_on(stopped);
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| StoreError::Database(format!("cannot start its thread: {e}")))?;
        let manager = deadpool_postgres::Manager::new(config.clone(), NoTls);
        let pool = {
            let _entered = handle.enter();
            deadpool_postgres::Pool::builder(manager)
                .max_size(POOL_SIZE)
                // An exhausted pool is an error after a while, not a hang.
                .wait_timeout(Some(POOL_WAIT))
                .create_timeout(Some(POOL_WAIT))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(|e| StoreError::Database(format!("cannot make the pool: {e}")))?
        };
        let (notices, _) = broadcast::channel(4096);
        let store = PgStore {
            inner: Arc::new(Inner {
                runtime: handle,
                pool,
                config,
                pending: Mutex::new(Vec::new()),
                notices,
                node: {
                    let mut bytes = [0u8; 8];
                    getrandom::fill(&mut bytes)
                        .map_err(|e| StoreError::Database(format!("no randomness: {e}")))?;
                    u64::from_le_bytes(bytes)
                },
                relays: Arc::new(tokio::sync::Semaphore::new(RELAYS)),
                _stop: stop,
            }),
        };
        let pool = store.inner.pool.clone();
        store.block(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            migrate(&mut client).await
        })?;
        let listener = Arc::downgrade(&store.inner);
        store.inner.runtime.spawn(listen(listener));
        Ok(store)
    }

    /// Runs `work` on the store's runtime and waits for it (from any
    /// thread, async ones included: the work never needs the caller's).
    fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.inner.runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().map_err(|_| gone())?
    }

    /// Runs `work` on the store's runtime; the answer is awaited.
    fn answer<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Answer<T> {
        let task = self.inner.runtime.spawn(work);
        Box::pin(async move { task.await.map_err(|_| gone())? })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        // A panic while holding the lock leaves a list that is still whole.
        self.inner
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The ids of every stored document.
    ///
    /// # Errors
    /// When the database fails.
    pub fn doc_ids(&self) -> Result<Vec<DocId>, StoreError> {
        let pool = self.inner.pool.clone();
        let stored: Vec<String> = self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(
                    "SELECT doc FROM plait_snapshots UNION SELECT doc FROM plait_updates",
                    &[],
                )
                .await
                .map_err(pg)?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })?;
        let mut ids: std::collections::BTreeSet<DocId> = stored
            .into_iter()
            .filter_map(|s| DocId::new(s).ok())
            .collect();
        ids.extend(self.pending().iter().map(|p| p.doc.clone()));
        Ok(ids.into_iter().collect())
    }

    /// The version the schema is at.
    ///
    /// # Errors
    /// When the database fails.
    pub fn schema_version(&self) -> Result<i32, StoreError> {
        let pool = self.inner.pool.clone();
        self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .query_one("SELECT coalesce(max(version), 0) FROM plait_schema", &[])
                .await
                .map(|row| row.get(0))
                .map_err(pg)
        })
    }
}

impl PgStore {
    /// Whether the database holds no Plait data (no document, no tree
    /// entry): the only database `plait migrate` copies into.
    ///
    /// # Errors
    /// When the database fails.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let pool = self.inner.pool.clone();
        self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .query_one(
                    "SELECT NOT EXISTS (SELECT 1 FROM plait_updates)
                        AND NOT EXISTS (SELECT 1 FROM plait_snapshots)
                        AND NOT EXISTS (SELECT 1 FROM plait_writers)
                        AND NOT EXISTS (SELECT 1 FROM plait_kv)",
                    &[],
                )
                .await
                .map(|row| row.get(0))
                .map_err(pg)
        })
    }

    /// Writes a whole document (its snapshot, its log with the same
    /// sequence numbers, its writers' claims) in one transaction.
    ///
    /// # Errors
    /// When the database fails or already holds part of it.
    pub fn import_doc(
        &self,
        id: &DocId,
        stored: StoredDoc,
        writers: Vec<(u64, String)>,
    ) -> Result<(), StoreError> {
        let pool = self.inner.pool.clone();
        let doc = id.to_string();
        self.block(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let txn = client.transaction().await.map_err(pg)?;
            if let Some((seq, state)) = &stored.snapshot {
                txn.execute(
                    "INSERT INTO plait_snapshots (doc, seq, state) VALUES ($1, $2, $3)",
                    &[&doc, &to_i64(*seq)?, state],
                )
                .await
                .map_err(pg)?;
            }
            insert_update_rows(&txn, &doc, &stored.updates).await?;
            for (client_id, writer) in &writers {
                txn.execute(
                    "INSERT INTO plait_writers (doc, client, writer) VALUES ($1, $2, $3)",
                    &[&doc, &client_to_i64(*client_id), writer],
                )
                .await
                .map_err(pg)?;
            }
            txn.commit().await.map_err(pg)
        })
    }

    /// Writes a tree's entries in one transaction.
    ///
    /// # Errors
    /// When the database fails or already holds one of the keys.
    pub fn import_tree(
        &self,
        name: &str,
        entries: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let pool = self.inner.pool.clone();
        let name = name.to_owned();
        self.block(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let txn = client.transaction().await.map_err(pg)?;
            let statement = txn
                .prepare("INSERT INTO plait_kv (tree, key, value) VALUES ($1, $2, $3)")
                .await
                .map_err(pg)?;
            for (key, value) in &entries {
                txn.execute(&statement, &[&name, key, value])
                    .await
                    .map_err(pg)?;
            }
            txn.commit().await.map_err(pg)
        })
    }

    /// Makes [`Keyspace::generate_id`] give numbers from `next` on (so
    /// records copied from sled keep sorting before new ones).
    ///
    /// # Errors
    /// When the database fails.
    pub fn ids_from(&self, next: u64) -> Result<(), StoreError> {
        let pool = self.inner.pool.clone();
        let next = to_i64(next.max(1))?;
        self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute("SELECT setval('plait_ids', $1, false)", &[&next])
                .await
                .map_err(pg)?;
            Ok(())
        })
    }
}

async fn insert_update_rows(
    txn: &deadpool_postgres::Transaction<'_>,
    doc: &str,
    updates: &[(u64, Vec<u8>)],
) -> Result<(), StoreError> {
    let statement = txn
        .prepare_cached("INSERT INTO plait_updates (doc, seq, body) VALUES ($1, $2, $3)")
        .await
        .map_err(pg)?;
    for (seq, body) in updates {
        txn.execute(&statement, &[&doc, &to_i64(*seq)?, body])
            .await
            .map_err(pg)?;
    }
    Ok(())
}

/// Brings the schema up to the last of [`MIGRATIONS`], in one transaction
/// under an advisory lock.
async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
    let txn = client.transaction().await.map_err(pg)?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS plait_schema (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(pg)?;
    let at: i32 = txn
        .query_one("SELECT coalesce(max(version), 0) FROM plait_schema", &[])
        .await
        .map_err(pg)?
        .get(0);
    let latest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if at > latest {
        return Err(StoreError::Database(format!(
            "the database's schema is version {at}, newer than this Plait's {latest}: run a newer Plait"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > at) {
        txn.batch_execute(sql).await.map_err(pg)?;
        txn.execute("INSERT INTO plait_schema (version) VALUES ($1)", &[version])
            .await
            .map_err(pg)?;
        tracing::info!(version, "database schema migrated");
    }
    txn.commit().await.map_err(pg)
}

/// Listens for other nodes' notices on a connection of its own, connecting
/// again whenever it drops, until the store is dropped.
async fn listen(inner: std::sync::Weak<Inner>) {
    use futures_util::StreamExt as _;
    loop {
        let Some((config, node)) = inner.upgrade().map(|i| (i.config.clone(), i.node)) else {
            return;
        };
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                let _ = tx.send((n.channel().to_owned(), n.payload().to_owned()));
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "the database's notice connection failed");
                                break;
                            }
                        }
                    }
                });
                let listening = client
                    .batch_execute(&format!(
                        "LISTEN {DOC_CHANNEL}; LISTEN {SESSION_CHANNEL}; LISTEN {AWARENESS_CHANNEL}"
                    ))
                    .await;
                if let Err(e) = listening {
                    tracing::warn!(error = %e, "cannot listen for other nodes' notices");
                } else {
                    match inner.upgrade() {
                        Some(i) => {
                            let _ = i.notices.send(Notice::Listening);
                        }
                        None => return,
                    }
                    while let Some((channel, payload)) = rx.recv().await {
                        let Some(i) = inner.upgrade() else {
                            return;
                        };
                        let notice = if channel == SESSION_CHANNEL {
                            Some(Notice::Closing(payload))
                        } else if channel == AWARENESS_CHANNEL {
                            awareness_notice(&payload, node)
                        } else {
                            payload.rsplit_once(' ').and_then(|(doc, seq)| {
                                Some(Notice::Committed(DocId::new(doc).ok()?, seq.parse().ok()?))
                            })
                        };
                        if let Some(notice) = notice {
                            let _ = i.notices.send(notice);
                        }
                    }
                }
                driver.abort();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot connect to listen for other nodes' notices");
            }
        }
        tokio::time::sleep(LISTEN_RETRY).await;
    }
}

/// An awareness notice (`doc node base64`) from another node.
fn awareness_notice(payload: &str, own: u64) -> Option<Notice> {
    use base64::Engine as _;
    let mut parts = payload.splitn(3, ' ');
    let doc = DocId::new(parts.next()?).ok()?;
    let node: u64 = parts.next()?.parse().ok()?;
    if node == own {
        return None;
    }
    let update = base64::engine::general_purpose::STANDARD
        .decode(parts.next()?)
        .ok()?;
    Some(Notice::Awareness(doc, node, update))
}

/// Reads `doc`'s snapshot (if it covers past `after`) and updates after,
/// and its writers, in one snapshot of the database.
async fn read_since(
    txn: &deadpool_postgres::Transaction<'_>,
    doc: &str,
    after: Option<u64>,
) -> Result<Missed, StoreError> {
    let after = after.map(to_i64).transpose()?.unwrap_or(-1);
    let snapshot = txn
        .query_opt(
            "SELECT seq, state FROM plait_snapshots WHERE doc = $1 AND seq > $2",
            &[&doc, &after],
        )
        .await
        .map_err(pg)?
        .map(|row| (row.get::<_, i64>(0), row.get::<_, Vec<u8>>(1)));
    let from = snapshot.as_ref().map_or(after, |(seq, _)| *seq);
    let snapshot = snapshot
        .map(|(seq, state)| Ok::<_, StoreError>((to_u64(doc, seq)?, state)))
        .transpose()?;
    let updates = txn
        .query(
            "SELECT seq, body FROM plait_updates WHERE doc = $1 AND seq > $2 ORDER BY seq",
            &[&doc, &from],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|row| Ok((to_u64(doc, row.get(0))?, row.get::<_, Vec<u8>>(1))))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let writers = txn
        .query(
            "SELECT client, writer FROM plait_writers WHERE doc = $1",
            &[&doc],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|row| (client_from_i64(row.get(0)), row.get::<_, String>(1)))
        .collect();
    // The log must continue what is read without a gap.
    let first = snapshot
        .as_ref()
        .map_or(from, |(seq, _)| to_i64(*seq).unwrap_or(from));
    for (next, (seq, _)) in (first + 1..).zip(&updates) {
        if to_i64(*seq)? != next {
            return Err(StoreError::Corrupt(format!(
                "{doc}: update {next} is missing (the log goes on at {seq})"
            )));
        }
    }
    Ok(Missed {
        snapshot,
        updates,
        writers,
    })
}

/// [`read_since`] in one snapshot of the database, without a turn: a
/// compaction committing meanwhile is seen whole or not at all.
async fn read_consistent(
    pool: &deadpool_postgres::Pool,
    doc: &str,
    after: Option<u64>,
) -> Result<Missed, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let txn = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)?;
    let missed = read_since(&txn, doc, after).await?;
    txn.commit().await.map_err(pg)?;
    Ok(missed)
}

/// Writes one update with its audit record and claims in `txn`.
async fn insert_update(
    txn: &deadpool_postgres::Transaction<'_>,
    doc: &str,
    seq: u64,
    update: &[u8],
    audit: Option<&PreparedRecord>,
    claims: &[(u64, String)],
) -> Result<(), StoreError> {
    if let Some((key, value)) = audit {
        let statement = txn
            .prepare_cached(
                "INSERT INTO plait_kv (tree, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (tree, key) DO UPDATE SET value = excluded.value",
            )
            .await
            .map_err(pg)?;
        txn.execute(&statement, &[&AUDIT_TREE, key, value])
            .await
            .map_err(pg)?;
    }
    if !claims.is_empty() {
        // The first claim of a client id stands: the admission refuses a
        // second, and a node that did not know of the first learns of it
        // here (its commit fails; nothing is kept).
        let statement = txn
            .prepare_cached(
                "INSERT INTO plait_writers (doc, client, writer) VALUES ($1, $2, $3)
                 ON CONFLICT (doc, client) DO UPDATE SET writer = excluded.writer
                 WHERE plait_writers.writer = excluded.writer",
            )
            .await
            .map_err(pg)?;
        for (client, writer) in claims {
            let written = txn
                .execute(&statement, &[&doc, &client_to_i64(*client), writer])
                .await
                .map_err(pg)?;
            if written != 1 {
                return Err(StoreError::Database(format!(
                    "{doc}: client id {client} is another writer's"
                )));
            }
        }
    }
    let statement = txn
        .prepare_cached("INSERT INTO plait_updates (doc, seq, body) VALUES ($1, $2, $3)")
        .await
        .map_err(pg)?;
    txn.execute(&statement, &[&doc, &to_i64(seq)?, &update])
        .await
        .map_err(pg)?;
    Ok(())
}

impl DocStore for PgStore {
    fn load(&self, id: &DocId) -> Result<Option<StoredDoc>, StoreError> {
        let pool = self.inner.pool.clone();
        let doc = id.to_string();
        let missed = self.block(async move { read_consistent(&pool, &doc, None).await })?;
        let mut stored = StoredDoc {
            snapshot: missed.snapshot,
            updates: missed.updates,
        };
        // Appended here and not yet committed: part of the document too.
        let covered = stored.snapshot.as_ref().map(|(seq, _)| *seq);
        let mut by_seq: BTreeMap<u64, Vec<u8>> = stored.updates.drain(..).collect();
        for p in self.pending().iter().filter(|p| &p.doc == id) {
            if covered.is_none_or(|c| p.seq > c) {
                by_seq.insert(p.seq, p.update.clone());
            }
        }
        stored.updates = by_seq.into_iter().collect();
        if stored.snapshot.is_none() && stored.updates.is_empty() {
            return Ok(None);
        }
        let first = covered.map_or(0, |c| c + 1);
        for (next, (seq, _)) in (first..).zip(&stored.updates) {
            if *seq != next {
                return Err(StoreError::Corrupt(format!(
                    "{id}: update {next} is missing (the log goes on at {seq})"
                )));
            }
        }
        Ok(Some(stored))
    }

    fn exists(&self, id: &DocId) -> Result<bool, StoreError> {
        if self.pending().iter().any(|p| &p.doc == id) {
            return Ok(true);
        }
        let pool = self.inner.pool.clone();
        let doc = id.to_string();
        self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM plait_snapshots WHERE doc = $1)
                         OR EXISTS (SELECT 1 FROM plait_updates WHERE doc = $1)",
                    &[&doc],
                )
                .await
                .map(|row| row.get(0))
                .map_err(pg)
        })
    }

    fn append_recorded(
        &self,
        id: &DocId,
        seq: u64,
        update: &[u8],
        audit: Option<&PreparedRecord>,
        claims: &[(u64, String)],
    ) -> Result<(), StoreError> {
        to_i64(seq)?;
        self.pending().push(Pending {
            doc: id.clone(),
            seq,
            update: update.to_vec(),
            audit: audit.cloned(),
            claims: claims.to_vec(),
        });
        Ok(())
    }

    fn writers(&self, id: &DocId) -> Result<Vec<(u64, String)>, StoreError> {
        let pool = self.inner.pool.clone();
        let doc = id.to_string();
        let stored: Vec<(i64, String)> = self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(
                    "SELECT client, writer FROM plait_writers WHERE doc = $1",
                    &[&doc],
                )
                .await
                .map_err(pg)?;
            Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
        })?;
        let mut writers: BTreeMap<u64, String> = stored
            .into_iter()
            .map(|(client, writer)| (client_from_i64(client), writer))
            .collect();
        for p in self.pending().iter().filter(|p| &p.doc == id) {
            writers.extend(p.claims.iter().cloned());
        }
        Ok(writers.into_iter().collect())
    }

    fn compact(&self, id: &DocId, upto: u64, state: &[u8]) -> Result<(), StoreError> {
        let pool = self.inner.pool.clone();
        let (doc, upto, state) = (id.to_string(), to_i64(upto)?, state.to_vec());
        self.block(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let txn = client.transaction().await.map_err(pg)?;
            // One node at a time, and never while a node writes the
            // document: the document's own lock.
            txn.execute(DOC_LOCK, &[&doc]).await.map_err(pg)?;
            // Never replace a snapshot with an older one (two nodes, or two
            // copies of a document, may both compact).
            let newer = txn
                .query_opt("SELECT seq FROM plait_snapshots WHERE doc = $1", &[&doc])
                .await
                .map_err(pg)?
                .is_some_and(|row| row.get::<_, i64>(0) >= upto);
            if !newer {
                txn.execute(
                    "INSERT INTO plait_snapshots (doc, seq, state) VALUES ($1, $2, $3)
                     ON CONFLICT (doc) DO UPDATE SET seq = excluded.seq, state = excluded.state",
                    &[&doc, &upto, &state],
                )
                .await
                .map_err(pg)?;
                txn.execute(
                    "DELETE FROM plait_updates WHERE doc = $1 AND seq <= $2",
                    &[&doc, &upto],
                )
                .await
                .map_err(pg)?;
            }
            txn.commit().await.map_err(pg)
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        let batch: Vec<Pending> = std::mem::take(&mut *self.pending());
        if batch.is_empty() {
            return Ok(());
        }
        // The batch goes to the runtime, and comes back if it was not
        // committed.
        let pool = self.inner.pool.clone();
        let committed = self.block(async move {
            let result = async {
                let mut client = pool.get().await.map_err(pool_error)?;
                let txn = client.transaction().await.map_err(pg)?;
                for p in &batch {
                    insert_update(
                        &txn,
                        p.doc.as_str(),
                        p.seq,
                        &p.update,
                        p.audit.as_ref(),
                        &p.claims,
                    )
                    .await?;
                }
                txn.commit().await.map_err(pg)
            }
            .await;
            Ok(result.map_err(|e| (e, batch)))
        })?;
        if let Err((e, batch)) = committed {
            // Nothing of it was committed: keep it, in order and before what
            // was appended meanwhile, for the next flush.
            let mut pending = self.pending();
            let later = std::mem::take(&mut *pending);
            *pending = batch;
            pending.extend(later);
            return Err(e);
        }
        Ok(())
    }

    fn shared(&self) -> Option<&dyn SharedLog> {
        Some(self)
    }
}

impl SharedLog for PgStore {
    fn turn(&self, id: &DocId, after: Option<u64>) -> Answer<WriteTurn> {
        let pool = self.inner.pool.clone();
        let doc = id.to_string();
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(Missed, u64), StoreError>>();
        let (commit_tx, commit_rx) = oneshot::channel::<Commit>();
        let (done_tx, done_rx) = oneshot::channel::<Result<(), StoreError>>();
        self.inner.runtime.spawn(async move {
            let mut ready_tx = Some(ready_tx);
            let result = async {
                let mut client = pool.get().await.map_err(pool_error)?;
                let txn = client.transaction().await.map_err(pg)?;
                txn.execute(DOC_LOCK, &[&doc]).await.map_err(pg)?;
                let missed = read_since(&txn, &doc, after).await?;
                // The audit record's number, from this connection: every
                // read the update needs comes with the turn, so a node
                // whose pool is all held by turns never waits for another.
                let id: i64 = txn
                    .query_one("SELECT nextval('plait_ids')", &[])
                    .await
                    .map_err(pg)?
                    .get(0);
                let id = to_u64("plait_ids", id)?;
                if let Some(tx) = ready_tx.take() {
                    if tx.send(Ok((missed, id))).is_err() {
                        return Ok(None);
                    }
                }
                // The turn is held until the node commits, or gives up
                // (dropping the turn rolls the transaction back).
                let Ok(commit) = commit_rx.await else {
                    return Ok(None);
                };
                insert_update(
                    &txn,
                    &doc,
                    commit.seq,
                    &commit.update,
                    commit.audit.as_ref(),
                    &commit.claims,
                )
                .await?;
                let payload = format!("{doc} {}", commit.seq);
                txn.execute("SELECT pg_notify($1, $2)", &[&DOC_CHANNEL, &payload])
                    .await
                    .map_err(pg)?;
                txn.commit().await.map_err(pg)?;
                Ok(Some(()))
            }
            .await;
            match result {
                Ok(Some(())) => {
                    let _ = done_tx.send(Ok(()));
                }
                Ok(None) => {}
                Err(e) => match ready_tx.take() {
                    Some(tx) => {
                        let _ = tx.send(Err(e));
                    }
                    None => {
                        let _ = done_tx.send(Err(e));
                    }
                },
            }
        });
        Box::pin(async move {
            let (missed, id) = ready_rx.await.map_err(|_| gone())??;
            Ok(WriteTurn::new(missed, id, commit_tx, done_rx))
        })
    }

    fn since(&self, id: &DocId, after: Option<u64>) -> Answer<Missed> {
        let pool = self.inner.pool.clone();
        let doc = id.to_string();
        self.answer(async move { read_consistent(&pool, &doc, after).await })
    }

    fn heads(&self, ids: Vec<DocId>) -> Answer<Vec<(DocId, u64)>> {
        let pool = self.inner.pool.clone();
        self.answer(async move {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(
                    "SELECT doc, max(seq) FROM (
                        SELECT doc, seq FROM plait_updates WHERE doc = ANY($1)
                        UNION ALL SELECT doc, seq FROM plait_snapshots WHERE doc = ANY($1)
                     ) AS s GROUP BY doc",
                    &[&names],
                )
                .await
                .map_err(pg)?;
            rows.iter()
                .filter_map(|row| {
                    let doc = DocId::new(row.get::<_, String>(0)).ok()?;
                    Some(to_u64(doc.as_str(), row.get(1)).map(|seq| (doc, seq)))
                })
                .collect()
        })
    }

    fn notices(&self) -> broadcast::Receiver<Notice> {
        self.inner.notices.subscribe()
    }

    fn announce_awareness(&self, doc: &DocId, update: Vec<u8>) {
        use base64::Engine as _;
        let payload = format!(
            "{doc} {} {}",
            self.inner.node,
            base64::engine::general_purpose::STANDARD.encode(update)
        );
        if payload.len() > MAX_NOTICE {
            tracing::debug!(%doc, bytes = payload.len(), "awareness too large to relay");
            return;
        }
        let Ok(turn) = self.inner.relays.clone().try_acquire_owned() else {
            tracing::debug!(%doc, "awareness relays busy: this one is dropped");
            return;
        };
        let pool = self.inner.pool.clone();
        self.inner.runtime.spawn(async move {
            let _turn = turn;
            let sent = async {
                let client = pool.get().await.map_err(pool_error)?;
                client
                    .execute("SELECT pg_notify($1, $2)", &[&AWARENESS_CHANNEL, &payload])
                    .await
                    .map_err(pg)
            }
            .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e, "cannot relay awareness to the other nodes");
            }
        });
    }

    fn announce_closing(&self, closing: String) {
        // Waited for, so a command that ends right after (`plait user
        // disable`) has told the nodes before it exits.
        let pool = self.inner.pool.clone();
        let sent = self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute("SELECT pg_notify($1, $2)", &[&SESSION_CHANNEL, &closing])
                .await
                .map_err(pg)
        });
        if let Err(e) = sent {
            tracing::error!(error = %e, "cannot tell the other nodes to close connections");
        }
    }
}

/// A tree of [`crate::kv`] in the `plait_kv` table.
struct PgTree {
    store: PgStore,
    name: String,
}

impl std::fmt::Debug for PgTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTree").field("name", &self.name).finish()
    }
}

/// Rows a scan reads at a time.
const SCAN_PAGE: i64 = 256;

/// The smallest key greater than every key starting with `prefix`, if any.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl KvTree for PgTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let pool = self.store.inner.pool.clone();
        let (tree, key) = (self.name.clone(), key.to_vec());
        self.store.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached("SELECT value FROM plait_kv WHERE tree = $1 AND key = $2")
                .await
                .map_err(pg)?;
            Ok(client
                .query_opt(&statement, &[&tree, &key])
                .await
                .map_err(pg)?
                .map(|row| row.get(0)))
        })
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let pool = self.store.inner.pool.clone();
        let (tree, key, value) = (self.name.clone(), key.to_vec(), value.to_vec());
        self.store.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(
                    "INSERT INTO plait_kv (tree, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (tree, key) DO UPDATE SET value = excluded.value",
                )
                .await
                .map_err(pg)?;
            client
                .execute(&statement, &[&tree, &key, &value])
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn insert_new(&self, key: &[u8], value: &[u8]) -> Result<bool, StoreError> {
        let pool = self.store.inner.pool.clone();
        let (tree, key, value) = (self.name.clone(), key.to_vec(), value.to_vec());
        self.store.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let written = client
                .execute(
                    "INSERT INTO plait_kv (tree, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (tree, key) DO NOTHING",
                    &[&tree, &key, &value],
                )
                .await
                .map_err(pg)?;
            Ok(written == 1)
        })
    }

    fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        let pool = self.store.inner.pool.clone();
        let (tree, key) = (self.name.clone(), key.to_vec());
        self.store.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute(
                    "DELETE FROM plait_kv WHERE tree = $1 AND key = $2",
                    &[&tree, &key],
                )
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn scan(&self, prefix: &[u8], reverse: bool, visit: &mut Visit<'_>) -> Result<(), StoreError> {
        // A page at a time (keyset pagination), so a caller that stops
        // early (the newest audit records) reads little.
        let end = prefix_end(prefix);
        let mut from: Option<Vec<u8>> = None;
        loop {
            let pool = self.store.inner.pool.clone();
            let (tree, start, end, after) = (
                self.name.clone(),
                prefix.to_vec(),
                end.clone(),
                from.clone(),
            );
            let page: Vec<(Vec<u8>, Vec<u8>)> = self.store.block(async move {
                let client = pool.get().await.map_err(pool_error)?;
                let sql = if reverse {
                    "SELECT key, value FROM plait_kv WHERE tree = $1 AND key >= $2
                       AND ($3::bytea IS NULL OR key < $3)
                       AND ($4::bytea IS NULL OR key < $4)
                     ORDER BY key DESC LIMIT $5"
                } else {
                    "SELECT key, value FROM plait_kv WHERE tree = $1 AND key >= $2
                       AND ($3::bytea IS NULL OR key < $3)
                       AND ($4::bytea IS NULL OR key > $4)
                     ORDER BY key LIMIT $5"
                };
                let rows = client
                    .query(sql, &[&tree, &start, &end, &after, &SCAN_PAGE])
                    .await
                    .map_err(pg)?;
                Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
            })?;
            let full = page.len() as i64 == SCAN_PAGE;
            for (key, value) in &page {
                if !visit(key, value)? {
                    return Ok(());
                }
            }
            match page.into_iter().last() {
                Some((key, _)) if full => from = Some(key),
                _ => return Ok(()),
            }
        }
    }
}

impl Keyspace for PgStore {
    fn tree(&self, name: &str) -> Result<Tree, StoreError> {
        Ok(Arc::new(PgTree {
            store: PgStore {
                inner: self.inner.clone(),
            },
            name: name.to_owned(),
        }))
    }

    fn generate_id(&self) -> Result<u64, StoreError> {
        let pool = self.inner.pool.clone();
        let id: i64 = self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .query_one("SELECT nextval('plait_ids')", &[])
                .await
                .map(|row| row.get(0))
                .map_err(pg)
        })?;
        to_u64("plait_ids", id)
    }
}

impl Storage for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn doc_ids(&self) -> Result<Vec<DocId>, StoreError> {
        PgStore::doc_ids(self)
    }

    fn tree_names(&self) -> Result<Vec<String>, StoreError> {
        let pool = self.inner.pool.clone();
        self.block(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query("SELECT DISTINCT tree FROM plait_kv ORDER BY tree", &[])
                .await
                .map_err(pg)?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        PgStore::is_empty(self)
    }

    fn import_doc(
        &self,
        id: &DocId,
        stored: StoredDoc,
        writers: Vec<(u64, String)>,
    ) -> Result<(), StoreError> {
        PgStore::import_doc(self, id, stored, writers)
    }

    fn import_tree(&self, name: &str, entries: crate::kv::Entries) -> Result<(), StoreError> {
        PgStore::import_tree(self, name, entries)
    }

    fn ids_from(&self, next: u64) -> Result<(), StoreError> {
        PgStore::ids_from(self, next)
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_past_every_key_it_starts() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
