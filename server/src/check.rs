//! `plait check`: reads every document (its snapshot and every log entry),
//! every audit record, every account, every evidence file and its
//! metadata, and names whatever is damaged or missing. The server runs the
//! document part ([`check_doc`]) on a document that fails to load, and
//! logs what it finds, while serving the rest.

use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Transact};

use plait_shared::DocId;

use crate::kv::{KvTree, Storage};
use crate::store::{DocStore, StoreError, AUDIT_TREE};

/// Something damaged or missing, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// What ("document plan-3, log entry 17"; "audit record 0000…").
    pub what: String,
    /// What is wrong with it.
    pub problem: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.problem)
    }
}

/// What was read, and what is damaged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Documents read.
    pub documents: usize,
    /// Snapshots read.
    pub snapshots: usize,
    /// Log entries read.
    pub updates: usize,
    /// Audit records read.
    pub audit_records: usize,
    /// Accounts read.
    pub accounts: usize,
    /// Evidence files read (and hashed).
    pub evidence_files: usize,
    /// The store's format.
    pub format: Option<u32>,
    /// Everything damaged or missing.
    pub damaged: Vec<Damage>,
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Read {} document(s) ({} snapshot(s), {} log entries), {} audit record(s), {} account(s), {} evidence file(s); store format {}. ",
            self.documents,
            self.snapshots,
            self.updates,
            self.audit_records,
            self.accounts,
            self.evidence_files,
            self.format.map_or_else(|| "not recorded".to_owned(), |f| f.to_string()),
        )?;
        if self.damaged.is_empty() {
            write!(f, "Nothing is damaged.")
        } else {
            write!(f, "{} problem(s):", self.damaged.len())?;
            for damage in &self.damaged {
                write!(f, "\n  {damage}")?;
            }
            Ok(())
        }
    }
}

fn key_text(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => text.to_owned(),
        _ => key.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Reads document `id` whole: its snapshot and every log entry decoded and
/// applied in order, nothing left waiting for an update that is not there.
/// Returns the damage found (none if it reads) and counts into `report`.
pub fn check_doc(store: &dyn DocStore, id: &DocId, report: &mut CheckReport) -> Vec<Damage> {
    let mut damage = Vec::new();
    let name = format!("document {id}");
    let stored = match store.load(id) {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            damage.push(Damage {
                what: name,
                problem: "listed but holds nothing".into(),
            });
            return damage;
        }
        Err(e) => {
            damage.push(Damage {
                what: name,
                problem: format!("cannot be read: {e}"),
            });
            return damage;
        }
    };
    let doc = plait_shared::new_doc();
    let apply = |what: String, bytes: &[u8], damage: &mut Vec<Damage>| match yrs::Update::decode_v1(
        bytes,
    ) {
        Ok(update) => {
            if let Err(e) = doc.transact_mut().apply_update(update) {
                damage.push(Damage {
                    what,
                    problem: format!("does not apply: {e}"),
                });
            }
        }
        Err(e) => damage.push(Damage {
            what,
            problem: format!("is not an update ({e})"),
        }),
    };
    if let Some((seq, state)) = &stored.snapshot {
        report.snapshots += 1;
        apply(
            format!("{name}, snapshot up to log entry {seq}"),
            state,
            &mut damage,
        );
    }
    for (seq, update) in &stored.updates {
        report.updates += 1;
        apply(format!("{name}, log entry {seq}"), update, &mut damage);
    }
    let txn = doc.transact();
    if txn.store().pending_update().is_some() || txn.store().pending_ds().is_some() {
        damage.push(Damage {
            what: name,
            problem: "some of its updates wait for updates that are not stored".into(),
        });
    }
    if let Err(e) = store.writers(id) {
        damage.push(Damage {
            what: format!("document {id}, writers' claims"),
            problem: e.to_string(),
        });
    }
    damage
}

/// Checks the whole store.
///
/// # Errors
/// When the store cannot be listed at all (each part that cannot be read
/// is reported as damage instead).
pub fn check(store: &dyn Storage) -> Result<CheckReport, StoreError> {
    let mut report = CheckReport::default();
    match crate::format::version_of(store) {
        Ok(format) => report.format = format,
        Err(e) => report.damaged.push(Damage {
            what: "the store's format record".into(),
            problem: e.to_string(),
        }),
    }
    for id in store.doc_ids()? {
        report.documents += 1;
        let found = check_doc(store, &id, &mut report);
        report.damaged.extend(found);
    }
    let audit = store.tree(AUDIT_TREE)?;
    let mut damaged = Vec::new();
    audit.scan(b"", false, &mut |key, value| {
        report.audit_records += 1;
        if let Err(e) = crate::audit::read_record(value) {
            damaged.push(Damage {
                what: format!("audit record {}", key_text(key)),
                problem: e.to_string(),
            });
        }
        Ok(true)
    })?;
    let users = store.tree("users")?;
    users.scan(b"", false, &mut |key, value| {
        report.accounts += 1;
        if serde_json::from_slice::<crate::accounts::User>(value).is_err() {
            damaged.push(Damage {
                what: format!("account {}", key_text(key)),
                problem: "does not read as an account".into(),
            });
        }
        Ok(true)
    })?;
    check_evidence(store, &mut report, &mut damaged)?;
    report.damaged.extend(damaged);
    Ok(report)
}

/// Every evidence file hashes to its name and has its metadata, and
/// every metadata record has its file.
fn check_evidence(
    store: &dyn Storage,
    report: &mut CheckReport,
    damaged: &mut Vec<Damage>,
) -> Result<(), StoreError> {
    let data = store.tree("blobs")?;
    let meta = store.tree("blob_meta")?;
    data.scan(b"", false, &mut |key, value| {
        report.evidence_files += 1;
        let name = key_text(key);
        if crate::blobs::hash_of(value) != name {
            damaged.push(Damage {
                what: format!("evidence file {name}"),
                problem: "its content does not match its checksum".into(),
            });
        }
        if meta.get(key)?.is_none() {
            damaged.push(Damage {
                what: format!("evidence file {name}"),
                problem: "has no metadata (type, size, who uploaded it)".into(),
            });
        }
        Ok(true)
    })?;
    let data: &dyn KvTree = &*data;
    meta.scan(b"", false, &mut |key, _| {
        if data.get(key)?.is_none() {
            damaged.push(Damage {
                what: format!("evidence file {}", key_text(key)),
                problem: "its metadata is stored but the file is missing".into(),
            });
        }
        Ok(true)
    })?;
    Ok(())
}
