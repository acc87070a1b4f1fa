//! The store's format version, and upgrading an older store.
//!
//! A store records its format in the tree [`META_TREE`]. One with no record
//! and some data was written before formats were recorded: format 1. A
//! newer Plait upgrades an older store when it opens it ([`open_sled`] for
//! a data directory, [`upgrade`] in place for PostgreSQL), one step per
//! format ([`STEPS`]); a store newer than this Plait is refused with a
//! clear message, never opened.
//!
//! A data directory is upgraded on a copy (`DIR.upgrading`), which is
//! switched in only once every step has run and been flushed; the original
//! is kept beside it as `DIR.format-N` (remove it once the upgraded store
//! has served well). A crash at any point leaves either the original in
//! place or the complete upgrade: never a half-upgraded store. On
//! PostgreSQL each step is idempotent and the format is recorded after it,
//! so a step cut short runs again whole.

use std::path::{Path, PathBuf};

use crate::kv::Storage;
use crate::store::{SledStore, StoreError, AUDIT_TREE};

/// This Plait's store format.
pub const CURRENT: u32 = 2;

/// Where the format is recorded.
pub const META_TREE: &str = "plait_meta";

const FORMAT_KEY: &[u8] = b"format";

/// An upgrade step: from format `from` to `from + 1`, what it does (for
/// the log), and the step.
#[derive(Debug)]
pub struct Step {
    /// The format it upgrades from.
    pub from: u32,
    /// What it does, in words.
    pub does: &'static str,
    /// The step. Idempotent.
    pub run: fn(&dyn Storage) -> Result<usize, StoreError>,
}

/// Every step, in order.
pub const STEPS: [Step; 1] = [Step {
    from: 1,
    does: "audit records written in the form before typed changes are rewritten in this release's form",
    run: rewrite_legacy_audit,
}];

/// Why a store cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Written by a newer Plait.
    #[error(
        "this store is in format {found}, written by a newer Plait; this Plait ({version}) reads formats up to {CURRENT}. \
         Run the newer Plait, or restore a backup taken before the upgrade"
    )]
    Newer {
        /// The store's format.
        found: u32,
        /// This Plait's version.
        version: &'static str,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Copying or switching the data directory failed.
    #[error("upgrading {dir}: {message}")]
    Io {
        /// The data directory.
        dir: PathBuf,
        /// What failed.
        message: String,
    },
}

/// The format `store` records, if it records one.
///
/// # Errors
/// When the backend fails or the record does not read.
pub fn version_of(store: &dyn Storage) -> Result<Option<u32>, StoreError> {
    let Some(bytes) = store.tree(META_TREE)?.get(FORMAT_KEY)? else {
        return Ok(None);
    };
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt("the store's format record".into()))
}

/// Records `version` as the store's format.
///
/// # Errors
/// When the backend fails.
pub fn stamp(store: &dyn Storage, version: u32) -> Result<(), StoreError> {
    store
        .tree(META_TREE)?
        .insert(FORMAT_KEY, version.to_string().as_bytes())
}

/// The store's format: recorded, else 1 if it holds anything (written
/// before formats were recorded), else none (a new store).
///
/// # Errors
/// When the backend fails.
pub fn found(store: &dyn Storage) -> Result<Option<u32>, StoreError> {
    match version_of(store)? {
        Some(version) => Ok(Some(version)),
        None if store.is_empty()? => Ok(None),
        None => Ok(Some(1)),
    }
}

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    /// The format before.
    pub from: u32,
    /// The format after ([`CURRENT`]).
    pub to: u32,
    /// Each step's words and how many things it changed.
    pub steps: Vec<(&'static str, usize)>,
    /// Where the original data directory was kept, if one was.
    pub kept: Option<PathBuf>,
}

/// Upgrades `store` in place to [`CURRENT`] (a new store is stamped with
/// it); `None` when nothing was to do.
///
/// # Errors
/// [`FormatError::Newer`] for a store newer than this Plait; a failing
/// backend.
pub fn upgrade(store: &dyn Storage) -> Result<Option<Upgraded>, FormatError> {
    let Some(from) = found(store)? else {
        stamp(store, CURRENT)?;
        store.flush()?;
        return Ok(None);
    };
    if from > CURRENT {
        return Err(FormatError::Newer {
            found: from,
            version: env!("CARGO_PKG_VERSION"),
        });
    }
    if from == CURRENT {
        return Ok(None);
    }
    let mut steps = Vec::new();
    for step in STEPS.iter().filter(|s| s.from >= from) {
        let changed = (step.run)(store)?;
        stamp(store, step.from + 1)?;
        store.flush()?;
        tracing::info!(
            from = step.from,
            to = step.from + 1,
            changed,
            "store upgraded: {}",
            step.does
        );
        steps.push((step.does, changed));
    }
    Ok(Some(Upgraded {
        from,
        to: CURRENT,
        steps,
        kept: None,
    }))
}

fn io(dir: &Path, e: impl std::fmt::Display) -> FormatError {
    FormatError::Io {
        dir: dir.to_owned(),
        message: e.to_string(),
    }
}

/// Copies the data directory `from` into `to`: its directories and files
/// (not a running server's control socket).
///
/// # Errors
/// When reading or writing fails.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Opens sled's store in `dir` at [`CURRENT`]: a new store is stamped; an
/// older one is upgraded on a copy that is then switched in, the original
/// kept as `DIR.format-N`.
///
/// # Errors
/// [`FormatError`]: a newer store, a failing copy or switch, or sled.
pub fn open_sled(dir: &Path) -> Result<(SledStore, Option<Upgraded>), FormatError> {
    // A copy left by an upgrade that did not finish: the original is whole.
    let upgrading = dir.with_file_name(format!(
        "{}.upgrading",
        dir.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    if upgrading.exists() {
        std::fs::remove_dir_all(&upgrading).map_err(|e| io(&upgrading, e))?;
    }
    let store = open_waiting(dir)?;
    let from = match found(&store)? {
        None => {
            stamp(&store, CURRENT)?;
            crate::store::DocStore::flush(&store)?;
            return Ok((store, None));
        }
        Some(from) if from > CURRENT => {
            return Err(FormatError::Newer {
                found: from,
                version: env!("CARGO_PKG_VERSION"),
            })
        }
        Some(from) if from == CURRENT => return Ok((store, None)),
        Some(from) => from,
    };
    drop(store);
    tracing::info!(dir = %dir.display(), from, to = CURRENT, "upgrading the store on a copy");
    // sled lets go of its files a moment after the last handle drops.
    let mut tries = 0;
    loop {
        copy_dir(dir, &upgrading).map_err(|e| io(dir, e))?;
        match SledStore::open(&upgrading) {
            Ok(copy) => {
                let upgraded = upgrade(&copy)?;
                crate::store::DocStore::flush(&copy)?;
                drop(copy);
                let kept = dir.with_file_name(format!(
                    "{}.format-{from}",
                    dir.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                ));
                let kept = if kept.exists() {
                    kept.with_extension(format!("{}", crate::clock::now_millis()))
                } else {
                    kept
                };
                std::fs::rename(dir, &kept).map_err(|e| io(dir, e))?;
                std::fs::rename(&upgrading, dir).map_err(|e| io(dir, e))?;
                let store = open_waiting(dir)?;
                let upgraded = upgraded.map(|u| Upgraded {
                    kept: Some(kept.clone()),
                    ..u
                });
                tracing::info!(kept = %kept.display(), "store upgraded; the original is kept beside it");
                return Ok((store, upgraded));
            }
            Err(e) if tries < 50 => {
                tries += 1;
                tracing::debug!("opening the copy: {e}");
                let _ = std::fs::remove_dir_all(&upgrading);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Opens sled's store in `dir`, waiting up to five seconds while a store
/// that was just closed (in this process, or a server that just stopped)
/// still holds the directory's lock: sled lets go of it a moment late.
fn open_waiting(dir: &Path) -> Result<SledStore, StoreError> {
    let mut tries = 0;
    loop {
        match SledStore::open(dir) {
            Ok(store) => return Ok(store),
            Err(e) if tries < 50 && e.to_string().contains("lock") => {
                tries += 1;
                tracing::debug!("waiting for {} to be let go: {e}", dir.display());
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Step 1 → 2: audit records in the form before typed changes
/// (`{action, what, reason}` in words) rewritten as this release writes
/// them, so every reader reads one form.
fn rewrite_legacy_audit(store: &dyn Storage) -> Result<usize, StoreError> {
    let tree = store.tree(AUDIT_TREE)?;
    let mut legacy = Vec::new();
    tree.scan(b"", false, &mut |key, value| {
        if crate::audit::is_legacy(value) {
            legacy.push((key.to_vec(), value.to_vec()));
        }
        Ok(true)
    })?;
    for (key, value) in &legacy {
        let record = crate::audit::read_record(value)?;
        let rewritten = serde_json::to_vec(&record)
            .map_err(|e| StoreError::Corrupt(format!("audit record: {e}")))?;
        tree.insert(key, &rewritten)?;
    }
    Ok(legacy.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::Keyspace;

    #[test]
    fn the_upgrade_to_format_2_rewrites_records_of_the_earlier_audit_form() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let old = br#"{"seq":3,"at":1790000000000,"doc":"demo-estates","user":"d.hughes",
            "session":"ab12","device":"Firefox on Linux","bytes":120,
            "changes":[{"action":"a-md001","what":"owner"}],"refused":[]}"#;
        let audit = store.tree(AUDIT_TREE).unwrap();
        audit.insert(b"0001", old).unwrap();
        let record = crate::audit::read_record(old).unwrap();
        let typed = serde_json::to_vec(&record).unwrap();
        audit.insert(b"0002", &typed).unwrap();
        assert_eq!(found(&store).unwrap(), Some(1));

        let upgraded = upgrade(&store).unwrap().unwrap();
        assert_eq!((upgraded.from, upgraded.to), (1, CURRENT));
        assert_eq!(upgraded.steps[0].1, 1, "one record was in the earlier form");
        assert_eq!(version_of(&store).unwrap(), Some(CURRENT));
        let rewritten = audit.get(b"0001").unwrap().unwrap();
        assert!(!crate::audit::is_legacy(&rewritten));
        assert_eq!(crate::audit::read_record(&rewritten).unwrap(), record);
        assert_eq!(
            audit.get(b"0002").unwrap().unwrap(),
            typed,
            "the rest untouched"
        );
        // Again: nothing to do.
        assert_eq!(upgrade(&store).unwrap(), None);
        // A newer store is refused.
        stamp(&store, CURRENT + 1).unwrap();
        assert!(matches!(upgrade(&store), Err(FormatError::Newer { .. })));
    }
}
