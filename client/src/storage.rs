//! The browser's local store: every document's updates in IndexedDB, written
//! before anything else sees them, so the app starts from this device's copy
//! and loses nothing to a reload, a crash or a day offline.
//!
//! One database per signed-in user (`plait-{name}`), with three object stores:
//!
//! - `updates`: the append-only log. Auto-increment key; value
//!   `{ doc: string, update: Uint8Array }` (a yrs v1 update), indexed by `doc`.
//!   Appending costs O(update), never O(document).
//! - `snapshots`: key the document id; value the compacted state (a yrs v1
//!   update of the whole document).
//! - `outbox`: key the document id; value the local edits the server has not
//!   yet made durable, as `client:clock:at` triples (their updates are in
//!   `updates`; this says which, and since when, across reloads).
//! - `blobs` (version 2): evidence files waiting to be uploaded. Key the
//!   file's SHA-256 (hex); value `{ doc, name, type, bytes: Uint8Array }`.
//!   A file is attached to its action at once (the evidence entry names its
//!   hash) and uploaded when the device is online; the row goes once the
//!   server has it.
//!
//! Compaction writes the new snapshot and deletes the log rows it read in one
//! transaction, merging in the old snapshot and every row it finds, so an
//! update appended by another tab is either in the snapshot or still in the
//! log, never lost.
//!
//! ```no_run
//! use plait_client::storage::LocalStore;
//! use plait_shared::{new_doc, DocId};
//! use yrs::updates::decoder::Decode;
//! use yrs::{Text, Transact, Update};
//!
//! async fn start(user: &str, id: &DocId) -> Result<yrs::Doc, Box<dyn std::error::Error>> {
//!     let store = LocalStore::open(user).await?;
//!     let doc = new_doc();
//!     if let Some(state) = store.load_and_compact(id).await? {
//!         doc.transact_mut().apply_update(Update::decode_v1(&state)?)?;
//!     }
//!     // An edit is stored before it is sent or shown as saved.
//!     let notes = doc.get_or_insert_text("notes");
//!     let update = {
//!         let mut txn = doc.transact_mut();
//!         notes.insert(&mut txn, 0, "Ward 3 audit booked");
//!         txn.encode_update_v1()
//!     };
//!     store.append(id, &update).await?;
//!     Ok(doc)
//! }
//! ```

mod error;
#[cfg(all(test, target_arch = "wasm32"))]
mod tests;
mod txn;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::future::IntoFuture;
use std::rc::Rc;

use idb::{
    CursorDirection, DatabaseEvent, Event, Factory, KeyPath, ObjectStore, ObjectStoreParams, Query,
    Request,
};
use js_sys::{Object, Reflect, Uint8Array};
use plait_shared::DocId;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbDatabase;
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Transact, Update};

pub use error::StorageError;
use txn::{begin, Mode};

/// [`LocalStore::load_and_compact`] folds the log into the snapshot once a
/// document has more rows than this.
pub const COMPACT_AFTER: usize = 50;

/// The layout's version; a change adds a step to [`upgrade`].
const VERSION: u32 = 2;
const UPDATES: &str = "updates";
const BLOBS: &str = "blobs";
const SNAPSHOTS: &str = "snapshots";
const OUTBOX: &str = "outbox";
/// The index of `updates` by document.
const BY_DOC: &str = "doc";

/// The IndexedDB database of one user: `plait-{name}`.
pub fn database_name(name: &str) -> String {
    format!("plait-{name}")
}

/// An open connection to one user's local database. Dropping it closes the
/// connection.
pub struct LocalStore {
    db: IdbDatabase,
    // Kept alive while the connection is: closes it when another tab deletes
    // or upgrades the database, so that tab is not blocked.
    _on_version_change: Closure<dyn FnMut(web_sys::Event)>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("name", &self.db.name())
            .finish()
    }
}

impl Drop for LocalStore {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.close();
    }
}

/// What is stored for one document, read in one transaction.
#[derive(Debug, Default)]
struct Stored {
    snapshot: Option<Vec<u8>>,
    /// Log rows in append order: their keys and updates.
    keys: Vec<JsValue>,
    updates: Vec<Vec<u8>>,
}

impl Stored {
    /// The whole state as one update, or `None` if nothing is stored.
    fn merged(&self, doc: &DocId) -> Result<Option<Vec<u8>>, StorageError> {
        let parts: Vec<&[u8]> = self
            .snapshot
            .iter()
            .chain(&self.updates)
            .map(Vec::as_slice)
            .collect();
        match parts.as_slice() {
            [] => Ok(None),
            // Decoded only to check it, as a merge would.
            [only] => Update::decode_v1(only)
                .map(|_| Some(only.to_vec()))
                .map_err(|e| StorageError::corrupt(doc.as_str(), e.to_string())),
            many => yrs::merge_updates_v1(many)
                .map(Some)
                .map_err(|e| StorageError::corrupt(doc.as_str(), e.to_string())),
        }
    }

    /// The whole state with `extra` merged in, encoded from a document so
    /// deleted content is dropped (a plain merge of updates keeps it).
    fn compacted(&self, doc: &DocId, extra: Option<&[u8]>) -> Result<Vec<u8>, StorageError> {
        let merged = yrs::Doc::new();
        {
            let mut txn = merged.transact_mut();
            for bytes in self.snapshot.iter().chain(&self.updates) {
                let update = Update::decode_v1(bytes)
                    .map_err(|e| StorageError::corrupt(doc.as_str(), e.to_string()))?;
                txn.apply_update(update)
                    .map_err(|e| StorageError::corrupt(doc.as_str(), e.to_string()))?;
            }
            if let Some(bytes) = extra {
                txn.apply_update(decode_update(bytes)?)
                    .map_err(|e| StorageError::Undecodable {
                        what: "update",
                        reason: e.to_string(),
                    })?;
            }
        }
        // Pending updates (whose dependencies are missing) are included too.
        let state = merged
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        Ok(state)
    }
}

impl LocalStore {
    /// Opens (creating it if need be) the database [`database_name`]`(name)`.
    ///
    /// # Errors
    /// [`StorageError::Unavailable`] without IndexedDB,
    /// [`StorageError::Open`] when the browser refuses or the database was
    /// made by a newer version.
    pub async fn open(name: &str) -> Result<LocalStore, StorageError> {
        let factory = Factory::new().map_err(|_| StorageError::Unavailable)?;
        let mut request = factory
            .open(&database_name(name), Some(VERSION))
            .map_err(open_error)?;
        let failure = Rc::new(Cell::new(None));
        let failure_seen = Rc::clone(&failure);
        request.on_upgrade_needed(move |event| {
            if let Err(e) = upgrade(&event) {
                failure_seen.set(Some(e.to_string()));
                // Without this the half-made layout would be committed.
                if let Some(transaction) = event.target().ok().and_then(|r| r.transaction()) {
                    let _ = transaction.abort();
                }
            }
        });
        let database = request.await.map_err(|e| match failure.take() {
            Some(reason) => StorageError::Open(reason),
            None => open_error(e),
        })?;
        let db = IdbDatabase::from(database);
        let to_close = db.clone();
        let on_version_change =
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| to_close.close());
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        Ok(LocalStore {
            db,
            _on_version_change: on_version_change,
        })
    }

    /// Deletes the database [`database_name`]`(name)` and everything in it
    /// (sign-out on a shared ward PC). Open connections, in this tab or
    /// another, are closed first. Deleting a database that does not exist
    /// succeeds.
    ///
    /// # Errors
    /// When IndexedDB is unavailable or refuses.
    pub async fn delete_database(name: &str) -> Result<(), StorageError> {
        let factory = Factory::new().map_err(|_| StorageError::Unavailable)?;
        factory.delete(&database_name(name))?.await?;
        Ok(())
    }

    /// The whole stored state of `doc` — snapshot and log merged into one
    /// yrs v1 update — or `None` if nothing is stored for it.
    ///
    /// # Errors
    /// When IndexedDB fails, or [`StorageError::Corrupt`] when a stored
    /// update cannot be read.
    pub async fn load(&self, doc: &DocId) -> Result<Option<Vec<u8>>, StorageError> {
        let (txn, [snapshots, updates]) = begin(&self.db, [SNAPSHOTS, UPDATES], Mode::Read)?;
        let outcome = read(&snapshots, &updates, doc).await;
        txn.finish(outcome).await?.merged(doc)
    }

    /// Persists one update of `doc` (made here or received), resolving once
    /// the transaction has committed and been flushed to disk. Only then
    /// should the update be sent or shown as saved. An empty update is not
    /// stored.
    ///
    /// # Errors
    /// [`StorageError::Undecodable`] when `update` is not a yrs v1 update;
    /// otherwise when IndexedDB fails (nothing is written).
    pub async fn append(&self, doc: &DocId, update: &[u8]) -> Result<(), StorageError> {
        if decode_update(update)?.is_empty() {
            return Ok(());
        }
        let (txn, [updates]) = begin(&self.db, [UPDATES], Mode::Durable)?;
        let outcome = async {
            let row = Object::new();
            set(&row, "doc", &JsValue::from_str(doc.as_str()))?;
            set(&row, "update", &Uint8Array::from(update))?;
            updates.add(&row, None)?.await?;
            Ok(())
        }
        .await;
        txn.finish(outcome).await
    }

    /// Replaces the snapshot of `doc` with `state` merged with everything
    /// already stored for it, and deletes the log rows that merge covers, in
    /// one transaction. Rows appended meanwhile (by another tab) are read in
    /// that transaction, so they are kept, in the snapshot.
    ///
    /// # Errors
    /// [`StorageError::Undecodable`] when `state` is not a yrs v1 update,
    /// [`StorageError::Corrupt`] when a stored one is not; otherwise when
    /// IndexedDB fails. Nothing is changed then.
    pub async fn compact(&self, doc: &DocId, state: &[u8]) -> Result<(), StorageError> {
        decode_update(state)?;
        let (txn, [snapshots, updates]) = begin(&self.db, [SNAPSHOTS, UPDATES], Mode::Write)?;
        let outcome = async {
            let stored = read(&snapshots, &updates, doc).await?;
            let compacted = stored.compacted(doc, Some(state))?;
            replace(&snapshots, &updates, doc, &compacted, stored.keys).await
        }
        .await;
        txn.finish(outcome).await
    }

    /// [`LocalStore::load`] for start-up: once `doc` has more than
    /// [`COMPACT_AFTER`] log rows, they are folded into the snapshot in the
    /// same transaction, so the store does not grow with every session.
    ///
    /// # Errors
    /// As [`LocalStore::load`]; a failed compaction changes nothing.
    pub async fn load_and_compact(&self, doc: &DocId) -> Result<Option<Vec<u8>>, StorageError> {
        let (txn, [snapshots, updates]) = begin(&self.db, [SNAPSHOTS, UPDATES], Mode::Write)?;
        let outcome = async {
            let stored = read(&snapshots, &updates, doc).await?;
            if stored.keys.len() <= COMPACT_AFTER {
                return stored.merged(doc);
            }
            let state = stored.compacted(doc, None)?;
            replace(&snapshots, &updates, doc, &state, stored.keys).await?;
            Ok(Some(state))
        }
        .await;
        txn.finish(outcome).await
    }

    /// Every document with something stored, in id order.
    ///
    /// # Errors
    /// When IndexedDB fails, or [`StorageError::Corrupt`] for a key that is
    /// not a document id.
    pub async fn doc_ids(&self) -> Result<Vec<DocId>, StorageError> {
        let (txn, [snapshots, updates]) = begin(&self.db, [SNAPSHOTS, UPDATES], Mode::Read)?;
        let outcome = async {
            let with_snapshot = snapshots.get_all_keys(None, None)?.into_future();
            let logged = updates
                .index(BY_DOC)?
                .open_key_cursor(None, Some(CursorDirection::NextUnique))?
                .into_future();
            let mut ids = BTreeSet::new();
            for key in with_snapshot.await? {
                ids.insert(doc_id(&key)?);
            }
            if let Some(cursor) = logged.await? {
                let mut cursor = cursor.into_managed();
                while let Some(key) = cursor.key()? {
                    ids.insert(doc_id(&key)?);
                    cursor.next(None).await?;
                }
            }
            Ok(ids.into_iter().collect())
        }
        .await;
        txn.finish(outcome).await
    }

    /// How many log rows `doc` has (for tests and diagnostics).
    ///
    /// # Errors
    /// When IndexedDB fails.
    pub async fn row_count(&self, doc: &DocId) -> Result<usize, StorageError> {
        let (txn, [updates]) = begin(&self.db, [UPDATES], Mode::Read)?;
        let outcome = async {
            let count = updates.index(BY_DOC)?.count(Some(key_of(doc)))?.await?;
            Ok(count as usize)
        }
        .await;
        txn.finish(outcome).await
    }

    /// The local edits of `doc` not yet durable on the server, as the sync
    /// engine last saved them: `(client, clock, at)` for each, oldest
    /// first. Kept beside the document, so a reload (or a crash) still says
    /// how many are waiting and since when.
    ///
    /// # Errors
    /// When IndexedDB fails or the stored list does not read.
    pub async fn pending(&self, doc: &DocId) -> Result<Vec<(u64, u32, i64)>, StorageError> {
        let (txn, [outbox]) = begin(&self.db, [OUTBOX], Mode::Read)?;
        let outcome = async {
            let Some(value) = outbox.get(key_of(doc))?.await? else {
                return Ok(Vec::new());
            };
            let text = value.as_string().ok_or_else(|| {
                StorageError::corrupt(doc.as_str(), "a pending list that is not text")
            })?;
            read_pending(&text)
                .ok_or_else(|| StorageError::corrupt(doc.as_str(), "an unreadable pending list"))
        }
        .await;
        txn.finish(outcome).await
    }

    /// Saves the pending edits of `doc` (see [`LocalStore::pending`]); an
    /// empty list removes the entry.
    ///
    /// # Errors
    /// When IndexedDB fails.
    pub async fn save_pending(
        &self,
        doc: &DocId,
        pending: &[(u64, u32, i64)],
    ) -> Result<(), StorageError> {
        let (txn, [outbox]) = begin(&self.db, [OUTBOX], Mode::Write)?;
        let outcome = async {
            if pending.is_empty() {
                outbox.delete(key_of(doc))?.await?;
            } else {
                let text = write_pending(pending);
                outbox
                    .put(
                        &JsValue::from_str(&text),
                        Some(&JsValue::from_str(doc.as_str())),
                    )?
                    .await?;
            }
            Ok(())
        }
        .await;
        txn.finish(outcome).await
    }

    /// Keeps an evidence file until it is uploaded (durably: it may be the
    /// only copy).
    ///
    /// # Errors
    /// When IndexedDB fails or the quota is exceeded.
    pub async fn queue_blob(
        &self,
        sha256: &str,
        doc: &DocId,
        name: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<(), StorageError> {
        let (txn, [blobs]) = begin(&self.db, [BLOBS], Mode::Durable)?;
        let outcome = async {
            let row = Object::new();
            set(&row, "doc", &JsValue::from_str(doc.as_str()))?;
            set(&row, "name", &JsValue::from_str(name))?;
            set(&row, "type", &JsValue::from_str(content_type))?;
            set(&row, "bytes", &Uint8Array::from(data))?;
            blobs.put(&row, Some(&JsValue::from_str(sha256)))?.await?;
            Ok(())
        }
        .await;
        txn.finish(outcome).await
    }

    /// The evidence files waiting to be uploaded.
    ///
    /// # Errors
    /// When IndexedDB fails.
    pub async fn queued_blobs(&self) -> Result<Vec<QueuedBlob>, StorageError> {
        let (txn, [blobs]) = begin(&self.db, [BLOBS], Mode::Read)?;
        let outcome = async {
            let keys = blobs.get_all_keys(None, None)?.into_future();
            let values = blobs.get_all(None, None)?.into_future();
            let (keys, values) = (keys.await?, values.await?);
            Ok(keys
                .iter()
                .zip(values.iter())
                .filter_map(|(key, value)| {
                    let size = Reflect::get(value, &JsValue::from_str("bytes"))
                        .ok()?
                        .dyn_into::<Uint8Array>()
                        .ok()?
                        .length() as usize;
                    Some(QueuedBlob {
                        sha256: key.as_string()?,
                        doc: DocId::new(text_field(value, "doc")).ok()?,
                        name: text_field(value, "name"),
                        content_type: text_field(value, "type"),
                        size,
                    })
                })
                .collect())
        }
        .await;
        txn.finish(outcome).await
    }

    /// A queued file's bytes.
    ///
    /// # Errors
    /// When IndexedDB fails.
    pub async fn queued_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let (txn, [blobs]) = begin(&self.db, [BLOBS], Mode::Read)?;
        let outcome = async {
            let Some(row) = blobs.get(Query::Key(JsValue::from_str(sha256)))?.await? else {
                return Ok(None);
            };
            let data = Reflect::get(&row, &JsValue::from_str("bytes"))
                .ok()
                .and_then(|v| v.dyn_into::<Uint8Array>().ok())
                .map(|a| a.to_vec());
            Ok(data)
        }
        .await;
        txn.finish(outcome).await
    }

    /// Forgets a file the server now has.
    ///
    /// # Errors
    /// When IndexedDB fails.
    pub async fn unqueue_blob(&self, sha256: &str) -> Result<(), StorageError> {
        let (txn, [blobs]) = begin(&self.db, [BLOBS], Mode::Write)?;
        let outcome = async {
            blobs.delete(Query::Key(JsValue::from_str(sha256)))?.await?;
            Ok(())
        }
        .await;
        txn.finish(outcome).await
    }

    /// Deletes every document, log row and acknowledgement, in one
    /// transaction (sign-out). Unsent edits go with them: check the outbox
    /// first.
    ///
    /// # Errors
    /// When IndexedDB fails; nothing is deleted then.
    pub async fn clear(&self) -> Result<(), StorageError> {
        let (txn, [updates, snapshots, outbox, blobs]) =
            begin(&self.db, [UPDATES, SNAPSHOTS, OUTBOX, BLOBS], Mode::Durable)?;
        let outcome = async {
            let requests = [
                updates.clear()?,
                snapshots.clear()?,
                outbox.clear()?,
                blobs.clear()?,
            ];
            for request in requests {
                request.await?;
            }
            Ok(())
        }
        .await;
        txn.finish(outcome).await
    }
}

/// Creates the layout, step by step from the version the database has.
fn upgrade(event: &idb::event::VersionChangeEvent) -> Result<(), idb::Error> {
    let database = event.database()?;
    if event.old_version()? < 1 {
        let mut log = ObjectStoreParams::new();
        log.auto_increment(true);
        let updates = database.create_object_store(UPDATES, log)?;
        updates.create_index(BY_DOC, KeyPath::new_single("doc"), None)?;
        database.create_object_store(SNAPSHOTS, ObjectStoreParams::new())?;
        database.create_object_store(OUTBOX, ObjectStoreParams::new())?;
    }
    if event.old_version()? < 2 {
        database.create_object_store(BLOBS, ObjectStoreParams::new())?;
    }
    Ok(())
}

/// An evidence file waiting to be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedBlob {
    /// Its SHA-256, hex.
    pub sha256: String,
    /// The plan it was attached in.
    pub doc: DocId,
    /// Its file name.
    pub name: String,
    /// Its type, as the browser said.
    pub content_type: String,
    /// Its size in bytes.
    pub size: usize,
}

fn text_field(value: &JsValue, key: &str) -> String {
    Reflect::get(value, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

fn open_error(error: idb::Error) -> StorageError {
    match StorageError::from(error) {
        StorageError::Unavailable => StorageError::Unavailable,
        StorageError::QuotaExceeded => StorageError::QuotaExceeded,
        StorageError::Failed { name, message } => StorageError::Open(format!("{name}: {message}")),
        other => StorageError::Open(other.to_string()),
    }
}

/// Reads the snapshot and log of `doc` (all requests made before any is
/// awaited, so their listeners are in place before they can finish).
async fn read(
    snapshots: &ObjectStore,
    updates: &ObjectStore,
    doc: &DocId,
) -> Result<Stored, StorageError> {
    let snapshot = snapshots.get(key_of(doc))?.into_future();
    let by_doc = updates.index(BY_DOC)?;
    let values = by_doc.get_all(Some(key_of(doc)), None)?.into_future();
    let keys = by_doc.get_all_keys(Some(key_of(doc)), None)?.into_future();
    let snapshot = snapshot.await?.map(|value| bytes(doc, value)).transpose()?;
    let values = values.await?;
    let keys = keys.await?;
    if values.len() != keys.len() {
        return Err(StorageError::corrupt(
            doc.as_str(),
            "the log's keys and values differ in number",
        ));
    }
    let updates = values
        .into_iter()
        .map(|row| {
            let update = Reflect::get(&row, &JsValue::from_str("update"))
                .map_err(|thrown| StorageError::from_js(&thrown))?;
            bytes(doc, update)
        })
        .collect::<Result<_, _>>()?;
    Ok(Stored {
        snapshot,
        keys,
        updates,
    })
}

/// Writes `state` as the snapshot of `doc` and deletes the log rows `keys`.
async fn replace(
    snapshots: &ObjectStore,
    updates: &ObjectStore,
    doc: &DocId,
    state: &[u8],
    keys: Vec<JsValue>,
) -> Result<(), StorageError> {
    let put = snapshots
        .put(
            &Uint8Array::from(state),
            Some(&JsValue::from_str(doc.as_str())),
        )?
        .into_future();
    let deletes = keys
        .into_iter()
        .map(|key| Ok(updates.delete(key)?.into_future()))
        .collect::<Result<Vec<_>, StorageError>>()?;
    put.await?;
    for delete in deletes {
        delete.await?;
    }
    Ok(())
}

fn key_of(doc: &DocId) -> Query {
    Query::Key(JsValue::from_str(doc.as_str()))
}

fn doc_id(key: &JsValue) -> Result<DocId, StorageError> {
    let text = key
        .as_string()
        .ok_or_else(|| StorageError::corrupt(format!("{key:?}"), "a key that is not text"))?;
    DocId::new(text.as_str()).map_err(|e| StorageError::corrupt(text, e.to_string()))
}

fn bytes(doc: &DocId, value: JsValue) -> Result<Vec<u8>, StorageError> {
    value
        .dyn_into::<Uint8Array>()
        .map(|array| array.to_vec())
        .map_err(|_| StorageError::corrupt(doc.as_str(), "a value that is not bytes"))
}

fn set(target: &Object, field: &str, value: &JsValue) -> Result<(), StorageError> {
    Reflect::set(target, &JsValue::from_str(field), value)
        .map(|_| ())
        .map_err(|thrown| StorageError::from_js(&thrown))
}

fn decode_update(bytes: &[u8]) -> Result<Update, StorageError> {
    Update::decode_v1(bytes).map_err(|e| StorageError::Undecodable {
        what: "update",
        reason: e.to_string(),
    })
}

/// `client:clock:at` triples separated by `;` (client ids reach 2^53, past
/// what a JavaScript number holds exactly, so they are kept as text).
fn write_pending(pending: &[(u64, u32, i64)]) -> String {
    pending
        .iter()
        .map(|(client, clock, at)| format!("{client}:{clock}:{at}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Reads a list written by [`LocalStore::save_pending`] (or by the older
/// client into `localStorage`, in the same form).
pub(crate) fn read_pending(text: &str) -> Option<Vec<(u64, u32, i64)>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(';')
        .map(|triple| {
            let mut parts = triple.split(':');
            let found = (
                parts.next()?.parse().ok()?,
                parts.next()?.parse().ok()?,
                parts.next()?.parse().ok()?,
            );
            parts.next().is_none().then_some(found)
        })
        .collect()
}
