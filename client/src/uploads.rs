//! Evidence files: attached at once, uploaded when the device is online.
//!
//! Attaching a file reads it, names it by its SHA-256, keeps it in this
//! user's IndexedDB (`blobs`, see [`crate::storage`]) and appends the
//! evidence entry to the action, all offline. The uploader sends every
//! queued file with `PUT /api/blobs/{sha256}?doc={plan}` (with the
//! confirmation that it holds no patient-identifiable data, which the person
//! gave when attaching), showing its progress, and forgets it once the
//! server has it. It runs at start, after each attachment and when the
//! browser comes online.

use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::Uint8Array;
use leptos::prelude::*;
use plait_shared::DocId;
use wasm_bindgen_futures::JsFuture;

use crate::storage::LocalStore;

/// The largest file accepted (the server's default limit).
pub const MAX_BYTES: usize = plait_shared::api::DEFAULT_MAX_FILE_BYTES;

/// Where a queued file is.
#[derive(Debug, Clone, PartialEq)]
pub enum Upload {
    /// Kept on this device; it goes when the device is online.
    Waiting,
    /// On its way: bytes sent of the total.
    Sending(u64, u64),
    /// The server has it.
    Done,
    /// The server refused it (it will not be retried), with why.
    Refused(String),
}

/// The uploads of this session, by SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct Uploads {
    /// Each file's state.
    pub state: RwSignal<BTreeMap<String, Upload>>,
    running: RwSignal<bool>,
}

impl Uploads {
    /// Creates and provides the uploads context.
    pub fn provide() -> Uploads {
        let uploads = Uploads {
            state: RwSignal::new(BTreeMap::new()),
            running: RwSignal::new(false),
        };
        provide_context(uploads);
        uploads
    }

    fn set(self, sha: &str, upload: Upload) {
        self.state.update(|s| {
            s.insert(sha.to_owned(), upload);
        });
    }

    /// Sends every queued file, one at a time, until the queue is empty or
    /// the network fails (then they wait for the next run).
    pub fn run(self, store: Rc<LocalStore>, csrf: String) {
        if self.running.get_untracked() {
            return;
        }
        self.running.set(true);
        wasm_bindgen_futures::spawn_local(async move {
            let queued = store.queued_blobs().await.unwrap_or_default();
            for blob in &queued {
                self.set(&blob.sha256, Upload::Waiting);
            }
            for blob in queued {
                let Ok(Some(bytes)) = store.queued_blob(&blob.sha256).await else {
                    continue;
                };
                match send(
                    self,
                    &blob.sha256,
                    &blob.doc,
                    &blob.content_type,
                    &bytes,
                    &csrf,
                )
                .await
                {
                    Ok(()) => {
                        let _ = store.unqueue_blob(&blob.sha256).await;
                        self.set(&blob.sha256, Upload::Done);
                    }
                    Err(Sent::Offline) => {
                        self.set(&blob.sha256, Upload::Waiting);
                        break;
                    }
                    Err(Sent::Refused(reason)) => {
                        let _ = store.unqueue_blob(&blob.sha256).await;
                        self.set(&blob.sha256, Upload::Refused(reason));
                    }
                }
            }
            self.running.set(false);
        });
    }
}

/// The uploads context.
pub fn use_uploads() -> Uploads {
    expect_context::<Uploads>()
}

enum Sent {
    Offline,
    Refused(String),
}

/// PUTs one file (through [`crate::api::put_evidence_file`]), its
/// progress shown as it goes.
async fn send(
    uploads: Uploads,
    sha: &str,
    doc: &DocId,
    content_type: &str,
    bytes: &[u8],
    csrf: &str,
) -> Result<(), Sent> {
    let key = sha.to_owned();
    let progress = move |loaded: u64, total: u64| uploads.set(&key, Upload::Sending(loaded, total));
    match crate::api::put_evidence_file(sha, doc, content_type, bytes, csrf, progress).await {
        None => Err(Sent::Offline),
        Some((200 | 201, _)) => Ok(()),
        Some((0 | 502..=504, _)) => Err(Sent::Offline),
        Some((401 | 403 | 429 | 500 | 501 | 505.., _)) => Err(Sent::Offline),
        Some((status, text)) => Err(Sent::Refused(format!("{status}: {text}"))),
    }
}

/// Reads a chosen file: its bytes and their SHA-256 (hex).
///
/// # Errors
/// Too large, unreadable, or no Web Crypto (served without TLS).
pub async fn read_file(file: &web_sys::File) -> Result<(Vec<u8>, String), String> {
    if file.size() > MAX_BYTES as f64 {
        return Err(format!(
            "{} is {} MB: files can be at most {} MB",
            file.name(),
            file.size() as u64 / 1_048_576,
            MAX_BYTES / 1_048_576
        ));
    }
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| format!("{} could not be read", file.name()))?;
    let bytes = Uint8Array::new(&buffer).to_vec();
    let subtle = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.subtle())
        .ok_or("this browser cannot check files here (Plait must be served over HTTPS)")?;
    let digest = subtle
        .digest_with_str_and_buffer_source("SHA-256", &Uint8Array::from(bytes.as_slice()))
        .map_err(|_| "this browser cannot check files here (Plait must be served over HTTPS)")?;
    let digest = JsFuture::from(digest)
        .await
        .map_err(|_| "the file could not be checked")?;
    let hex = Uint8Array::new(&digest)
        .to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((bytes, hex))
}
