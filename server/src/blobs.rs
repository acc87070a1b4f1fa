//! Evidence files: content-addressed blobs in their own trees (sled's or
//! PostgreSQL's, see [`crate::kv`]).
//!
//! A blob is stored under the SHA-256 of its bytes (checked on upload), once,
//! however many actions cite it. Its metadata records its size, its declared
//! type, who uploaded it and when, that the uploader confirmed it holds no
//! patient-identifiable data, and the programmes whose members may read it
//! (a blob is reachable only through a plan of a programme it was uploaded
//! to). Files are always served as attachments, never rendered inline.

use std::collections::BTreeSet;

use plait_shared::{DocId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kv::{Keyspace, Tree};
use crate::store::StoreError;

/// What is known about a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    /// Bytes.
    pub size: u64,
    /// The type the uploader declared (used only when it is a safe one).
    pub content_type: String,
    /// Who uploaded it first.
    pub uploaded_by: UserId,
    /// When (Unix milliseconds).
    pub uploaded_at: u64,
    /// The uploader confirmed it holds no patient-identifiable data.
    pub no_patient_data_confirmed: bool,
    /// Programmes whose members may read it.
    pub programmes: BTreeSet<DocId>,
}

/// The blob trees.
#[derive(Debug, Clone)]
pub struct Blobs {
    data: Tree,
    meta: Tree,
    /// Programme id → bytes of evidence its members may read (each blob
    /// counted once per programme), for the quota.
    usage: Tree,
    /// One upload's count at a time.
    gate: std::sync::Arc<std::sync::Mutex<()>>,
}

/// A blob that would take a programme past its evidence quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the programme's evidence files would use {would} bytes, over its quota of {quota}")]
pub struct QuotaFull {
    /// What it would use.
    pub would: u64,
    /// Its quota.
    pub quota: u64,
}

/// A SHA-256 as 64 lower-case hex digits.
pub fn valid_hash(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The SHA-256 of `bytes`, as 64 lower-case hex digits.
pub fn hash_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Types a browser may be told a file is; anything else (HTML, SVG, XML,
/// scripts) is served as `application/octet-stream`.
pub fn safe_content_type(declared: &str) -> &'static str {
    const SAFE: [&str; 12] = [
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ];
    let declared = declared.split(';').next().unwrap_or_default().trim();
    SAFE.iter()
        .find(|safe| safe.eq_ignore_ascii_case(declared))
        .copied()
        .unwrap_or("application/octet-stream")
}

impl Blobs {
    /// Opens the blob trees of `db`.
    ///
    /// # Errors
    /// When the backend fails.
    pub fn open(space: &dyn Keyspace) -> Result<Blobs, StoreError> {
        Ok(Blobs {
            data: space.tree("blobs")?,
            meta: space.tree("blob_meta")?,
            usage: space.tree("blob_usage")?,
            gate: std::sync::Arc::default(),
        })
    }

    /// The metadata of `hash`, if stored.
    ///
    /// # Errors
    /// When the backend fails or the record does not read.
    pub fn meta(&self, hash: &str) -> Result<Option<BlobMeta>, StoreError> {
        self.meta
            .get(hash.as_bytes())?
            .map(|bytes| {
                serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("blob metadata {hash}: {e}")))
            })
            .transpose()
    }

    /// Every evidence file `programme`'s members may read, by hash.
    ///
    /// # Errors
    /// When the backend fails or a record does not read.
    pub fn of_programme(&self, programme: &DocId) -> Result<Vec<(String, BlobMeta)>, StoreError> {
        let mut found = Vec::new();
        self.meta.scan(b"", false, &mut |key, value| {
            let meta: BlobMeta = serde_json::from_slice(value).map_err(|e| {
                StoreError::Corrupt(format!(
                    "blob metadata {}: {e}",
                    String::from_utf8_lossy(key)
                ))
            })?;
            if meta.programmes.contains(programme) {
                found.push((String::from_utf8_lossy(key).into_owned(), meta));
            }
            Ok(true)
        })?;
        Ok(found)
    }

    /// Bytes of evidence `programme`'s members may read.
    ///
    /// # Errors
    /// When the backend fails.
    pub fn usage(&self, programme: &DocId) -> Result<u64, StoreError> {
        Ok(self
            .usage
            .get(programme.as_str().as_bytes())?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// Stores a blob (or, if it is there, adds `programme` to its readers),
    /// unless that takes the programme past `quota` bytes. The caller has
    /// checked the hash. Durable after the next flush. Uploads to one
    /// programme are counted one at a time (the caller serialises them).
    ///
    /// # Errors
    /// [`QuotaFull`] (inside `Ok(Err(..))`) over the quota; otherwise when
    /// sled fails.
    pub fn put(
        &self,
        hash: &str,
        bytes: &[u8],
        content_type: &str,
        by: &UserId,
        programme: &DocId,
        quota: u64,
    ) -> Result<Result<bool, QuotaFull>, StoreError> {
        let _one_at_a_time = self
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let counted = self
            .meta(hash)?
            .is_some_and(|m| m.programmes.contains(programme));
        if !counted {
            let would = self.usage(programme)?.saturating_add(bytes.len() as u64);
            if would > quota {
                return Ok(Err(QuotaFull { would, quota }));
            }
            self.usage
                .insert(programme.as_str().as_bytes(), &would.to_be_bytes())?;
        }
        let mut meta = match self.meta(hash)? {
            Some(meta) => meta,
            None => {
                self.data.insert(hash.as_bytes(), bytes)?;
                BlobMeta {
                    size: bytes.len() as u64,
                    content_type: safe_content_type(content_type).to_owned(),
                    uploaded_by: by.clone(),
                    uploaded_at: crate::clock::now_millis(),
                    no_patient_data_confirmed: true,
                    programmes: BTreeSet::new(),
                }
            }
        };
        let new = meta.programmes.is_empty();
        meta.programmes.insert(programme.clone());
        let value = serde_json::to_vec(&meta)
            .map_err(|e| StoreError::Corrupt(format!("blob metadata: {e}")))?;
        self.meta.insert(hash.as_bytes(), &value)?;
        Ok(Ok(new))
    }

    /// Every blob's hash with its metadata.
    ///
    /// # Errors
    /// When the backend fails or a record does not read.
    pub fn all(&self) -> Result<Vec<(String, BlobMeta)>, StoreError> {
        let mut all = Vec::new();
        self.meta.scan(b"", false, &mut |hash, value| {
            let meta: BlobMeta = serde_json::from_slice(value)
                .map_err(|e| StoreError::Corrupt(format!("blob metadata: {e}")))?;
            all.push((String::from_utf8_lossy(hash).into_owned(), meta));
            Ok(true)
        })?;
        Ok(all)
    }

    /// Takes `programme` from the readers of `hash` (its members no longer
    /// cite it), freeing its quota; a blob no programme reads any more is
    /// deleted. Returns the bytes deleted.
    ///
    /// # Errors
    /// When the backend fails.
    pub fn release(&self, hash: &str, programme: &DocId) -> Result<u64, StoreError> {
        let _one_at_a_time = self
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(mut meta) = self.meta(hash)? else {
            return Ok(0);
        };
        if !meta.programmes.remove(programme) {
            return Ok(0);
        }
        let used = self.usage(programme)?.saturating_sub(meta.size);
        self.usage
            .insert(programme.as_str().as_bytes(), &used.to_be_bytes())?;
        if meta.programmes.is_empty() {
            self.meta.remove(hash.as_bytes())?;
            self.data.remove(hash.as_bytes())?;
            return Ok(meta.size);
        }
        let value = serde_json::to_vec(&meta)
            .map_err(|e| StoreError::Corrupt(format!("blob metadata: {e}")))?;
        self.meta.insert(hash.as_bytes(), &value)?;
        Ok(0)
    }

    /// The bytes of `hash`.
    ///
    /// # Errors
    /// When the backend fails.
    pub fn get(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.data.get(hash.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_types() {
        assert_eq!(
            hash_of(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(valid_hash(&hash_of(b"")));
        assert!(!valid_hash(
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        ));
        assert_eq!(safe_content_type("text/html"), "application/octet-stream");
        assert_eq!(
            safe_content_type("image/svg+xml"),
            "application/octet-stream"
        );
        assert_eq!(safe_content_type("image/PNG"), "image/png");
        assert_eq!(safe_content_type("application/pdf; x=1"), "application/pdf");
    }
}
