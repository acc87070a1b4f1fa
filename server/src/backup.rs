//! `plait backup FILE` and `plait restore FILE`: the whole store in one
//! file, written while the server keeps serving, and read back into an
//! empty store with every part checked.
//!
//! The file is a ZIP (any archive tool lists it) holding:
//! - `manifest.json` ([`Manifest`]): the backup's and the store's format,
//!   Plait's version, when, and for each document and tree its file, counts
//!   and SHA-256;
//! - `documents/{n}.bin`: each document as stored — its compacted snapshot,
//!   its log with the sequence numbers, its writers' claims;
//! - `trees/{n}.bin`: each tree's entries (accounts, sessions unless left
//!   out, programme membership, the audit trail, evidence files, …).
//!
//! While serving, a backup reads each document as it is durable (an
//! acknowledged update is on disk before it is acknowledged), then the
//! trees: every update in the copy has its audit record in the copy (the
//! audit trail is read after the documents). Restoring writes into an
//! empty store, then reads everything back and compares it with the file:
//! each document's state (every client's clock and every deletion), its
//! sequence numbers and claims, each tree entry.

use std::io::{Read, Seek, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use plait_shared::DocId;

use crate::kv::{Entries, Storage};
use crate::migrate::state_of;
use crate::store::{StoreError, StoredDoc};

/// This code's backup format.
pub const BACKUP_FORMAT: u32 = 1;

/// What a backup file says it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `plait-backup`.
    pub kind: String,
    /// The backup's format ([`BACKUP_FORMAT`]).
    pub backup_format: u32,
    /// The store's format it was taken from ([`crate::format`]).
    pub store_format: u32,
    /// The Plait that wrote it.
    pub plait_version: String,
    /// When, in milliseconds since 1970.
    pub created_at: u64,
    /// Whether sessions are in it (left out, everyone signs in again).
    pub sessions: bool,
    /// The store's next record number.
    pub next_id: u64,
    /// Each document.
    pub documents: Vec<DocumentEntry>,
    /// Each tree.
    pub trees: Vec<TreeEntry>,
}

/// A document in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentEntry {
    /// Its id.
    pub id: String,
    /// Its file in the archive.
    pub file: String,
    /// Updates in its log (after its snapshot).
    pub updates: usize,
    /// The sequence number its next update gets.
    pub next_seq: u64,
    /// SHA-256 of its file, hex.
    pub sha256: String,
}

/// A tree in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeEntry {
    /// Its name.
    pub name: String,
    /// Its file in the archive.
    pub file: String,
    /// Entries.
    pub entries: usize,
    /// SHA-256 of its file, hex.
    pub sha256: String,
}

/// Why a backup or restore stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file could not be written or read.
    #[error("{0}")]
    Io(String),
    /// The file is not a backup, or is damaged.
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    /// The store to restore into holds data.
    #[error("{0}")]
    NotEmpty(String),
    /// What was restored reads back different.
    #[error("the restored store differs from the backup: {0}")]
    Differs(String),
}

fn io(e: impl std::fmt::Display) -> BackupError {
    BackupError::Io(e.to_string())
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Trees never backed up: sign-ins under way with an identity provider
/// (ten minutes at most, useless elsewhere).
const TRANSIENT_TREES: [&str; 1] = ["sso_pending"];

/// A writer that hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn put_bytes(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u64).to_be_bytes())?;
    out.write_all(bytes)
}

fn put_u64(out: &mut impl Write, n: u64) -> std::io::Result<()> {
    out.write_all(&n.to_be_bytes())
}

const DOC_MAGIC: &[u8; 8] = b"PLAITDOC";

fn encode_doc(
    stored: &StoredDoc,
    writers: &[(u64, String)],
    out: &mut impl Write,
) -> std::io::Result<()> {
    out.write_all(DOC_MAGIC)?;
    match &stored.snapshot {
        Some((seq, state)) => {
            out.write_all(&[1])?;
            put_u64(out, *seq)?;
            put_bytes(out, state)?;
        }
        None => out.write_all(&[0])?,
    }
    put_u64(out, stored.updates.len() as u64)?;
    for (seq, update) in &stored.updates {
        put_u64(out, *seq)?;
        put_bytes(out, update)?;
    }
    put_u64(out, writers.len() as u64)?;
    for (client, writer) in writers {
        put_u64(out, *client)?;
        put_bytes(out, writer.as_bytes())?;
    }
    Ok(())
}

/// Reads the framing back, from bytes in memory.
struct Reader<'a> {
    bytes: &'a [u8],
    what: &'a str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BackupError> {
        if self.bytes.len() < n {
            return Err(BackupError::Damaged(format!("{} ends early", self.what)));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, BackupError> {
        let bytes = self.take(8)?;
        Ok(u64::from_be_bytes(bytes.try_into().unwrap_or_default()))
    }

    fn bytes(&mut self) -> Result<&'a [u8], BackupError> {
        let n = usize::try_from(self.u64()?)
            .map_err(|_| BackupError::Damaged(format!("{}: a length too large", self.what)))?;
        self.take(n)
    }

    fn done(&self) -> bool {
        self.bytes.is_empty()
    }
}

fn decode_doc(bytes: &[u8], what: &str) -> Result<(StoredDoc, Vec<(u64, String)>), BackupError> {
    let mut r = Reader { bytes, what };
    if r.take(8)? != DOC_MAGIC {
        return Err(BackupError::Damaged(format!("{what} is not a document")));
    }
    let snapshot = match r.take(1)?[0] {
        0 => None,
        1 => {
            let seq = r.u64()?;
            Some((seq, r.bytes()?.to_vec()))
        }
        _ => return Err(BackupError::Damaged(format!("{what}: a bad snapshot flag"))),
    };
    let mut updates = Vec::new();
    for _ in 0..r.u64()? {
        let seq = r.u64()?;
        updates.push((seq, r.bytes()?.to_vec()));
    }
    let mut writers = Vec::new();
    for _ in 0..r.u64()? {
        let client = r.u64()?;
        let writer = String::from_utf8(r.bytes()?.to_vec())
            .map_err(|_| BackupError::Damaged(format!("{what}: a writer is not text")))?;
        writers.push((client, writer));
    }
    if !r.done() {
        return Err(BackupError::Damaged(format!(
            "{what} has bytes after its end"
        )));
    }
    Ok((StoredDoc { snapshot, updates }, writers))
}

fn decode_entries(bytes: &[u8], what: &str) -> Result<Entries, BackupError> {
    let mut r = Reader { bytes, what };
    let mut entries = Vec::new();
    while !r.done() {
        let key = r.bytes()?.to_vec();
        let value = r.bytes()?.to_vec();
        entries.push((key, value));
    }
    Ok(entries)
}

/// What a backup holds, in counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Documents.
    pub documents: usize,
    /// Logged updates.
    pub updates: usize,
    /// Trees.
    pub trees: usize,
    /// Tree entries.
    pub entries: usize,
    /// Audit records (entries of the audit trail).
    pub audit_records: usize,
}

impl Summary {
    fn of(manifest: &Manifest) -> Summary {
        Summary {
            documents: manifest.documents.len(),
            updates: manifest.documents.iter().map(|d| d.updates).sum(),
            trees: manifest.trees.len(),
            entries: manifest.trees.iter().map(|t| t.entries).sum(),
            audit_records: manifest
                .trees
                .iter()
                .filter(|t| t.name == crate::store::AUDIT_TREE)
                .map(|t| t.entries)
                .sum(),
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} document(s) ({} logged update(s)), {} audit record(s), {} entries in {} tree(s)",
            self.documents, self.updates, self.audit_records, self.entries, self.trees
        )
    }
}

/// Writes a backup of `store` to `file` (through a temporary file beside
/// it, renamed when complete: a failed backup leaves no half file).
/// `sessions`: include sign-in sessions.
///
/// # Errors
/// [`BackupError`].
pub fn write(store: &dyn Storage, file: &Path, sessions: bool) -> Result<Summary, BackupError> {
    // What has been acknowledged is on disk; make sure of the rest too.
    store.flush()?;
    let partial = file.with_extension("partial");
    let out = std::fs::File::create(&partial)
        .map_err(|e| BackupError::Io(format!("{}: {e}", partial.display())))?;
    let written = write_to(store, out, sessions);
    match written {
        Ok(manifest) => {
            std::fs::rename(&partial, file)
                .map_err(|e| BackupError::Io(format!("{}: {e}", file.display())))?;
            Ok(Summary::of(&manifest))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn write_to(
    store: &dyn Storage,
    out: std::fs::File,
    sessions: bool,
) -> Result<Manifest, BackupError> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(out);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut documents = Vec::new();
    for (n, id) in store.doc_ids()?.into_iter().enumerate() {
        let Some(stored) = store.load(&id)? else {
            continue;
        };
        let writers = store.writers(&id)?;
        let file = format!("documents/{n}.bin");
        zip.start_file(file.as_str(), options).map_err(io)?;
        let mut hashing = Hashing {
            inner: &mut zip,
            hash: Sha256::new(),
        };
        encode_doc(&stored, &writers, &mut hashing).map_err(io)?;
        let sha256 = hex(&hashing.hash.finalize());
        documents.push(DocumentEntry {
            id: id.to_string(),
            file,
            updates: stored.updates.len(),
            next_seq: stored.next_seq(),
            sha256,
        });
    }
    // After the documents: every update copied has its record here.
    let mut trees = Vec::new();
    for (n, name) in store.tree_names()?.into_iter().enumerate() {
        // The format is the manifest's, recorded again by a restore.
        if TRANSIENT_TREES.contains(&name.as_str())
            || name == crate::format::META_TREE
            || (!sessions && name == "sessions")
        {
            continue;
        }
        let file = format!("trees/{n}.bin");
        zip.start_file(file.as_str(), options).map_err(io)?;
        let mut hashing = Hashing {
            inner: &mut zip,
            hash: Sha256::new(),
        };
        let mut entries = 0;
        let tree = store.tree(&name)?;
        tree.scan(b"", false, &mut |key, value| {
            let mut put = || -> std::io::Result<()> {
                put_bytes(&mut hashing, key)?;
                put_bytes(&mut hashing, value)
            };
            put().map_err(|e| StoreError::Database(format!("writing the backup: {e}")))?;
            entries += 1;
            Ok(true)
        })?;
        let sha256 = hex(&hashing.hash.finalize());
        trees.push(TreeEntry {
            name,
            file,
            entries,
            sha256,
        });
    }
    let manifest = Manifest {
        kind: "plait-backup".into(),
        backup_format: BACKUP_FORMAT,
        store_format: crate::format::found(store)?.unwrap_or(crate::format::CURRENT),
        plait_version: env!("CARGO_PKG_VERSION").into(),
        created_at: crate::clock::now_millis(),
        sessions,
        next_id: store.generate_id()?,
        documents,
        trees,
    };
    zip.start_file("manifest.json", options).map_err(io)?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(io)?;
    zip.write_all(&json).map_err(io)?;
    let out = zip.finish().map_err(io)?;
    out.sync_all().map_err(io)?;
    Ok(manifest)
}

/// A document read from a backup: its id, what is stored, its writers,
/// its state.
type Document = (DocId, StoredDoc, Vec<(u64, String)>, yrs::Snapshot);

/// An open backup file.
pub struct Backup<R> {
    archive: zip::ZipArchive<R>,
    /// What it says it holds.
    pub manifest: Manifest,
}

impl<R> std::fmt::Debug for Backup<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl Backup<std::fs::File> {
    /// Opens the backup in `file`.
    ///
    /// # Errors
    /// Not a backup, a newer backup format, or unreadable.
    pub fn open(file: &Path) -> Result<Self, BackupError> {
        let reader = std::fs::File::open(file)
            .map_err(|e| BackupError::Io(format!("{}: {e}", file.display())))?;
        Backup::read(reader)
    }
}

impl<R: Read + Seek> Backup<R> {
    /// Reads a backup's manifest.
    ///
    /// # Errors
    /// As [`Backup::open`].
    pub fn read(reader: R) -> Result<Self, BackupError> {
        let mut archive = zip::ZipArchive::new(reader)
            .map_err(|e| BackupError::Damaged(format!("not a Plait backup ({e})")))?;
        let mut json = Vec::new();
        archive
            .by_name("manifest.json")
            .map_err(|_| BackupError::Damaged("it has no manifest.json".into()))?
            .read_to_end(&mut json)
            .map_err(io)?;
        let manifest: Manifest = serde_json::from_slice(&json)
            .map_err(|e| BackupError::Damaged(format!("manifest.json: {e}")))?;
        if manifest.kind != "plait-backup" {
            return Err(BackupError::Damaged(
                "manifest.json is not a Plait backup's".into(),
            ));
        }
        if manifest.backup_format > BACKUP_FORMAT {
            return Err(BackupError::Damaged(format!(
                "it was written by a newer Plait (backup format {}; this Plait reads up to {BACKUP_FORMAT}): restore it with that version",
                manifest.backup_format
            )));
        }
        Ok(Backup { archive, manifest })
    }

    /// The bytes of `file`, checked against `sha256`.
    fn file(&mut self, file: &str, sha256: &str) -> Result<Vec<u8>, BackupError> {
        let mut bytes = Vec::new();
        self.archive
            .by_name(file)
            .map_err(|_| BackupError::Damaged(format!("{file} is missing")))?
            .read_to_end(&mut bytes)
            .map_err(|e| BackupError::Damaged(format!("{file}: {e}")))?;
        if hex(&Sha256::digest(&bytes)) != sha256 {
            return Err(BackupError::Damaged(format!(
                "{file} does not match its checksum in the manifest"
            )));
        }
        Ok(bytes)
    }

    /// A document of the backup, checked against its checksum and the
    /// manifest, and readable (its state rebuilt): its id, what is stored,
    /// its writers, and its state.
    fn document(&mut self, entry: &DocumentEntry) -> Result<Document, BackupError> {
        let bytes = self.file(&entry.file, &entry.sha256)?;
        let what = format!("document {}", entry.id);
        let (stored, writers) = decode_doc(&bytes, &what)?;
        let id = DocId::new(entry.id.clone())
            .map_err(|e| BackupError::Damaged(format!("{what}: {e}")))?;
        if stored.next_seq() != entry.next_seq || stored.updates.len() != entry.updates {
            return Err(BackupError::Damaged(format!(
                "{what}: not as the manifest says"
            )));
        }
        let state = state_of(id.as_str(), &stored)
            .map_err(|e| BackupError::Damaged(format!("{what}: {e}")))?;
        Ok((id, stored, writers, state))
    }

    /// A tree's entries, checked against its checksum and the manifest.
    fn tree_entries(&mut self, entry: &TreeEntry) -> Result<Entries, BackupError> {
        let bytes = self.file(&entry.file, &entry.sha256)?;
        let entries = decode_entries(&bytes, &entry.name)?;
        if entries.len() != entry.entries {
            return Err(BackupError::Damaged(format!(
                "tree {}: entry count",
                entry.name
            )));
        }
        Ok(entries)
    }

    /// Writes the backup into `store`, which must be empty, then reads
    /// everything back and compares.
    ///
    /// # Errors
    /// [`BackupError`]: a damaged file, a store that is not empty, a store
    /// failing, or a copy that reads back different.
    pub fn restore(&mut self, store: &dyn Storage) -> Result<Summary, BackupError> {
        if !store.is_empty()? {
            return Err(BackupError::NotEmpty(
                "the store to restore into holds data: restore into an empty one".into(),
            ));
        }
        let mut expected = Vec::new();
        for entry in self.manifest.documents.clone() {
            let (id, stored, writers, state) = self.document(&entry)?;
            store.import_doc(&id, stored, writers.clone())?;
            expected.push((id, state, entry.next_seq, writers));
        }
        for entry in self.manifest.trees.clone() {
            let entries = self.tree_entries(&entry)?;
            // In batches: evidence files can be large.
            let mut batch = Vec::new();
            let mut size = 0;
            for (key, value) in entries {
                size += key.len() + value.len();
                batch.push((key, value));
                if size > 32 * 1024 * 1024 {
                    store.import_tree(&entry.name, std::mem::take(&mut batch))?;
                    size = 0;
                }
            }
            if !batch.is_empty() {
                store.import_tree(&entry.name, batch)?;
            }
        }
        store.ids_from(self.manifest.next_id)?;
        crate::format::stamp(store, self.manifest.store_format)?;
        store.flush()?;
        // Read back.
        for (id, state, next_seq, writers) in expected {
            let stored = store
                .load(&id)?
                .ok_or_else(|| BackupError::Differs(format!("{id} is missing")))?;
            if state_of(id.as_str(), &stored)? != state {
                return Err(BackupError::Differs(format!("{id}'s state")));
            }
            if stored.next_seq() != next_seq {
                return Err(BackupError::Differs(format!("{id}'s sequence numbers")));
            }
            if store.writers(&id)? != writers {
                return Err(BackupError::Differs(format!("{id}'s writers")));
            }
        }
        for entry in self.manifest.trees.clone() {
            // Read from the file again rather than kept: evidence trees
            // can be larger than memory.
            let entries = self.tree_entries(&entry)?;
            if crate::kv::collect(&*store.tree(&entry.name)?, b"")? != entries {
                return Err(BackupError::Differs(format!("the tree {}", entry.name)));
            }
        }
        Ok(Summary::of(&self.manifest))
    }
}
