//! The write-ahead journal of local edits.
//!
//! IndexedDB writes are asynchronous: an edit made a moment before the page
//! goes away (a reload, a closed tab, a tablet that kills the browser) can
//! be lost with its write still in flight. So each local edit is first
//! written, synchronously and inside the transaction that made it, to
//! `localStorage`; the entry is removed once IndexedDB holds the edit and
//! the list of edits waiting for the server includes it. At start-up any
//! entry still there is written to IndexedDB, applied and counted as
//! waiting before anything else happens ([`super::driver::DocSync::start`]).
//!
//! Entries live under the user's `localStorage` prefix, so signing out
//! wipes them with the rest of the user's local data.

use std::cell::Cell;

use plait_shared::{DocId, UnixMillis};

use crate::browser::{keys_starting, local_storage, unstore};

/// One journalled edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its `localStorage` key.
    pub key: String,
    /// The yrs v1 update.
    pub update: Vec<u8>,
    /// When it was made.
    pub at: UnixMillis,
}

/// The journal of one document on this device.
#[derive(Debug)]
pub struct Journal {
    /// `{namespace}journal:{doc}:`
    prefix: String,
    /// Tells this page's entries from another tab's.
    tag: u64,
    seq: Cell<u64>,
}

impl Journal {
    /// The journal of `doc` for the user whose keys start with `namespace`;
    /// `tag` is random per page.
    pub fn new(namespace: &str, doc: &DocId, tag: u64) -> Journal {
        Journal {
            prefix: format!("{namespace}journal:{doc}:"),
            tag,
            seq: Cell::new(0),
        }
    }

    /// Writes `update`, made at `at`; its key, or `None` when the browser
    /// has no room or no `localStorage` (IndexedDB alone keeps it then).
    pub fn write(&self, update: &[u8], at: UnixMillis) -> Option<String> {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let key = format!("{}{}:{:x}:{seq}", self.prefix, at.0, self.tag);
        let written = local_storage()?.set_item(&key, &encode(update));
        match written {
            Ok(()) => Some(key),
            Err(_) => {
                leptos::logging::warn!("no room to journal an edit; it is kept in IndexedDB only");
                None
            }
        }
    }

    /// Every entry of this document, oldest first (another tab's too:
    /// applying an edit twice changes nothing). An entry that cannot be read
    /// is logged and left alone.
    pub fn entries(&self) -> Vec<Entry> {
        let Some(storage) = local_storage() else {
            return Vec::new();
        };
        let mut entries: Vec<(i64, u64, Entry)> = keys_starting(&self.prefix)
            .into_iter()
            .filter_map(|key| {
                let mut parts = key[self.prefix.len()..].split(':');
                let at: i64 = parts.next()?.parse().ok()?;
                let _tag = parts.next()?;
                let seq: u64 = parts.next()?.parse().ok()?;
                let text = storage.get_item(&key).ok().flatten()?;
                let Some(update) = decode(&text) else {
                    leptos::logging::error!("a journalled edit cannot be read: {key}");
                    return None;
                };
                Some((
                    at,
                    seq,
                    Entry {
                        key,
                        update,
                        at: UnixMillis(at),
                    },
                ))
            })
            .collect();
        entries.sort_by_key(|(at, seq, _)| (*at, *seq));
        entries.into_iter().map(|(_, _, entry)| entry).collect()
    }

    /// Removes the entry `key`: IndexedDB has it now.
    pub fn remove(key: &str) {
        unstore(key);
    }
}

/// Bytes as a string of the characters U+0000 to U+00FF, one per byte
/// (`localStorage` keeps any string; half the size of hex).
fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn decode(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| u8::try_from(c).ok()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Every byte value survives a round trip through the real
    /// `localStorage`, entries come back oldest first, and only this
    /// document's.
    #[wasm_bindgen_test]
    fn entries_come_back_whole_and_in_order() {
        let user = plait_shared::UserId::new(format!(
            "test-journal-{}",
            (js_sys::Math::random() * 1e15) as u64
        ))
        .unwrap();
        let namespace = crate::api::user_prefix(&user);
        let doc = DocId::new("doc-journal").unwrap();
        let journal = Journal::new(&namespace, &doc, 7);
        let other = Journal::new(&namespace, &DocId::new("doc-other").unwrap(), 7);
        let bytes: Vec<u8> = (0..=255).collect();
        let second = journal.write(&[1, 2, 3], UnixMillis(2_000)).unwrap();
        let first = journal.write(&bytes, UnixMillis(1_000)).unwrap();
        other.write(&[9], UnixMillis(500)).unwrap();
        let entries = journal.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[0].key.as_str(), entries[0].update.as_slice()),
            (first.as_str(), bytes.as_slice())
        );
        assert_eq!(entries[0].at, UnixMillis(1_000));
        assert_eq!(entries[1].update, vec![1, 2, 3]);
        Journal::remove(&first);
        Journal::remove(&second);
        assert!(journal.entries().is_empty());
        assert_eq!(other.entries().len(), 1);
        crate::api::forget_user(&user);
        assert!(other.entries().is_empty());
        assert_eq!(
            decode("\u{100}"),
            None,
            "a character past U+00FF is no byte"
        );
    }
}
