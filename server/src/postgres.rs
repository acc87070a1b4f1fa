//! Documents on PostgreSQL: [`PgStore`], a [`DocStore`] like
//! [`crate::SledStore`], for running Plait on a database a trust already
//! operates (issue 19; not yet selectable by `plait serve`, see
//! `docs/postgres.md`).
//!
//! The same model as sled's: per document an append-only log of yrs v1
//! updates keyed by sequence number, a compacted snapshot with the last
//! sequence it covers, the client ids each writer claims, and the audit
//! trail beside them. Appends are kept in memory until [`DocStore::flush`]
//! commits them all in one transaction (group commit, as the registry
//! expects): an update is durable exactly when its commit returns, with its
//! audit record and claims in the same transaction. A sequence number is
//! written once: a second append of the same one fails the commit, which
//! is what several nodes sharing a database will rely on.
//!
//! The blocking client runs on a thread of its own, so the store can be
//! called from anywhere, async code included; every call waits for that
//! thread's answer. The schema is created and migrated at open, under an
//! advisory lock so nodes starting together do not race
//! ([`MIGRATIONS`]); a database migrated by a newer Plait is refused.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::Mutex;

use plait_shared::DocId;

use crate::store::{DocStore, PreparedRecord, StoreError, StoredDoc};

/// The schema, one step per version, applied in order and recorded in
/// `plait_schema`. A step is never changed once released: a change is a
/// new step.
pub const MIGRATIONS: &[(i32, &str)] = &[(
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
)];

/// The advisory lock migrations run under (any fixed number; "plait" in
/// ASCII).
const MIGRATION_LOCK: i64 = 0x0070_6c61_6974;

type Job = Box<dyn FnOnce(&mut postgres::Client) + Send>;

/// An append not yet committed.
#[derive(Debug)]
struct Pending {
    doc: DocId,
    seq: u64,
    update: Vec<u8>,
    audit: Option<PreparedRecord>,
    claims: Vec<(u64, String)>,
}

/// Documents in a PostgreSQL database.
#[derive(Debug)]
pub struct PgStore {
    jobs: Mutex<mpsc::Sender<Job>>,
    pending: Mutex<Vec<Pending>>,
}

fn pg(e: postgres::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn gone() -> StoreError {
    StoreError::Database("the database connection's thread has stopped".into())
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

impl PgStore {
    /// Connects to `url` (`postgres://…` or `host=… user=…`), creating or
    /// migrating the schema.
    ///
    /// # Errors
    /// When the database cannot be reached, refuses, or was migrated by a
    /// newer Plait.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let url = url.to_owned();
        std::thread::Builder::new()
            .name("plait-postgres".into())
            .spawn(move || {
                let connected = postgres::Client::connect(&url, postgres::NoTls)
                    .map_err(pg)
                    .and_then(|mut client| migrate(&mut client).map(|()| client));
                let mut client = match connected {
                    Ok(client) => {
                        let _ = ready_tx.send(Ok(()));
                        client
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in rx {
                    job(&mut client);
                }
            })
            .map_err(|e| StoreError::Database(format!("cannot start its thread: {e}")))?;
        ready_rx.recv().map_err(|_| gone())??;
        Ok(PgStore {
            jobs: Mutex::new(jobs),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on the connection's thread and waits for its answer.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |client| {
            let _ = tx.send(f(client));
        });
        self.jobs
            .lock()
            .map_err(|_| gone())?
            .send(job)
            .map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        // A panic while holding the lock leaves a list that is still whole.
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The ids of every stored document.
    ///
    /// # Errors
    /// When the database fails.
    pub fn doc_ids(&self) -> Result<Vec<DocId>, StoreError> {
        let stored: Vec<String> = self.call(|client| {
            let rows = client
                .query(
                    "SELECT doc FROM plait_snapshots UNION SELECT doc FROM plait_updates",
                    &[],
                )
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
        self.call(|client| {
            client
                .query_one("SELECT coalesce(max(version), 0) FROM plait_schema", &[])
                .map(|row| row.get(0))
                .map_err(pg)
        })
    }
}

/// Brings the schema up to the last of [`MIGRATIONS`], in one transaction
/// under an advisory lock.
fn migrate(client: &mut postgres::Client) -> Result<(), StoreError> {
    let mut txn = client.transaction().map_err(pg)?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg)?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS plait_schema (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .map_err(pg)?;
    let at: i32 = txn
        .query_one("SELECT coalesce(max(version), 0) FROM plait_schema", &[])
        .map_err(pg)?
        .get(0);
    let latest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if at > latest {
        return Err(StoreError::Database(format!(
            "the database's schema is version {at}, newer than this Plait's {latest}: run a newer Plait"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > at) {
        txn.batch_execute(sql).map_err(pg)?;
        txn.execute("INSERT INTO plait_schema (version) VALUES ($1)", &[version])
            .map_err(pg)?;
        tracing::info!(version, "database schema migrated");
    }
    txn.commit().map_err(pg)
}

impl DocStore for PgStore {
    fn load(&self, id: &DocId) -> Result<Option<StoredDoc>, StoreError> {
        let doc = id.to_string();
        let stored = self.call(move |client| {
            // One snapshot of the database: a compaction committing
            // meanwhile is seen whole or not at all.
            let mut txn = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(pg)?;
            let snapshot = txn
                .query_opt(
                    "SELECT seq, state FROM plait_snapshots WHERE doc = $1",
                    &[&doc],
                )
                .map_err(pg)?
                .map(|row| (row.get::<_, i64>(0), row.get::<_, Vec<u8>>(1)));
            let after = snapshot.as_ref().map_or(-1, |(seq, _)| *seq);
            let snapshot = snapshot
                .map(|(seq, state)| Ok::<_, StoreError>((to_u64(&doc, seq)?, state)))
                .transpose()?;
            let updates = txn
                .query(
                    "SELECT seq, body FROM plait_updates WHERE doc = $1 AND seq > $2 ORDER BY seq",
                    &[&doc, &after],
                )
                .map_err(pg)?
                .iter()
                .map(|row| Ok((to_u64(&doc, row.get(0))?, row.get::<_, Vec<u8>>(1))))
                .collect::<Result<Vec<_>, StoreError>>()?;
            txn.commit().map_err(pg)?;
            Ok(StoredDoc { snapshot, updates })
        })?;
        // Appended here and not yet committed: part of the document too.
        let mut stored = stored;
        let mut by_seq: BTreeMap<u64, Vec<u8>> = stored.updates.drain(..).collect();
        let covered = stored.snapshot.as_ref().map(|(seq, _)| *seq);
        for p in self.pending().iter().filter(|p| &p.doc == id) {
            if covered.is_none_or(|c| p.seq > c) {
                by_seq.insert(p.seq, p.update.clone());
            }
        }
        stored.updates = by_seq.into_iter().collect();
        if stored.snapshot.is_none() && stored.updates.is_empty() {
            return Ok(None);
        }
        // The log must continue the snapshot without a gap.
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
        let doc = id.to_string();
        self.call(move |client| {
            client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM plait_snapshots WHERE doc = $1)
                         OR EXISTS (SELECT 1 FROM plait_updates WHERE doc = $1)",
                    &[&doc],
                )
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
        let doc = id.to_string();
        let stored: Vec<(i64, String)> = self.call(move |client| {
            let rows = client
                .query(
                    "SELECT client, writer FROM plait_writers WHERE doc = $1",
                    &[&doc],
                )
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
        let (doc, upto, state) = (id.to_string(), to_i64(upto)?, state.to_vec());
        self.call(move |client| {
            let mut txn = client.transaction().map_err(pg)?;
            // Never replace a snapshot with an older one (two copies of a
            // document may both compact).
            let newer = txn
                .query_opt(
                    "SELECT seq FROM plait_snapshots WHERE doc = $1 FOR UPDATE",
                    &[&doc],
                )
                .map_err(pg)?
                .is_some_and(|row| row.get::<_, i64>(0) >= upto);
            if !newer {
                txn.execute(
                    "INSERT INTO plait_snapshots (doc, seq, state) VALUES ($1, $2, $3)
                     ON CONFLICT (doc) DO UPDATE SET seq = excluded.seq, state = excluded.state",
                    &[&doc, &upto, &state],
                )
                .map_err(pg)?;
                txn.execute(
                    "DELETE FROM plait_updates WHERE doc = $1 AND seq <= $2",
                    &[&doc, &upto],
                )
                .map_err(pg)?;
            }
            txn.commit().map_err(pg)
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        let batch: Vec<Pending> = std::mem::take(&mut *self.pending());
        if batch.is_empty() {
            return Ok(());
        }
        // The batch goes to the connection's thread, and comes back if it
        // was not committed.
        let committed =
            self.call(move |client| Ok(commit(client, &batch).map_err(|e| (e, batch))))?;
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
}

/// Writes `batch` in one transaction: every update with its audit record
/// and claims, or nothing.
fn commit(client: &mut postgres::Client, batch: &[Pending]) -> Result<(), StoreError> {
    let mut txn = client.transaction().map_err(pg)?;
    let audit = txn
        .prepare(
            "INSERT INTO plait_audit (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .map_err(pg)?;
    let claim = txn
        .prepare(
            "INSERT INTO plait_writers (doc, client, writer) VALUES ($1, $2, $3)
             ON CONFLICT (doc, client) DO UPDATE SET writer = excluded.writer",
        )
        .map_err(pg)?;
    let update = txn
        .prepare("INSERT INTO plait_updates (doc, seq, body) VALUES ($1, $2, $3)")
        .map_err(pg)?;
    for p in batch {
        let doc = p.doc.to_string();
        if let Some((key, value)) = &p.audit {
            txn.execute(&audit, &[key, value]).map_err(pg)?;
        }
        for (client, writer) in &p.claims {
            txn.execute(&claim, &[&doc, &client_to_i64(*client), writer])
                .map_err(pg)?;
        }
        txn.execute(&update, &[&doc, &to_i64(p.seq)?, &p.update])
            .map_err(pg)?;
    }
    txn.commit().map_err(pg)
}
