//! The local store against a real IndexedDB, in headless Chromium.
//!
//! Unit tests of the library, not an integration test: a test binary that
//! links the library from outside would carry its wasm split points, whose
//! loader the wasm test runner cannot provide (`crate::components::later`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{database_name, LocalStore, StorageError, COMPACT_AFTER};
use plait_shared::{new_doc, DocId};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, Text, Transact, Update};

/// A database of its own for each test, deleted by [`Scratch::finish`].
struct Scratch {
    name: String,
}

impl Scratch {
    fn new() -> Scratch {
        let n = (js_sys::Math::random() * 1e15) as u64;
        Scratch {
            name: format!("test-{n}"),
        }
    }

    async fn open(&self) -> LocalStore {
        LocalStore::open(&self.name).await.expect("open")
    }

    async fn finish(self, store: LocalStore) {
        drop(store);
        LocalStore::delete_database(&self.name)
            .await
            .expect("delete the database");
    }
}

fn id(text: &str) -> DocId {
    DocId::new(text).unwrap()
}

/// A document with a `notes` text, recording the update of every edit.
struct Editor {
    doc: Doc,
    text: yrs::TextRef,
}

impl Editor {
    fn new() -> Editor {
        let doc = new_doc();
        let text = doc.get_or_insert_text("notes");
        Editor { doc, text }
    }

    fn insert(&self, index: u32, chunk: &str) -> Vec<u8> {
        let mut txn = self.doc.transact_mut();
        self.text.insert(&mut txn, index, chunk);
        txn.encode_update_v1()
    }

    fn remove(&self, index: u32, len: u32) -> Vec<u8> {
        let mut txn = self.doc.transact_mut();
        self.text.remove_range(&mut txn, index, len);
        txn.encode_update_v1()
    }

    fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default())
    }
}

/// The text of a fresh document built from `state`.
fn text_of(state: &[u8]) -> String {
    let editor = Editor::new();
    editor
        .doc
        .transact_mut()
        .apply_update(Update::decode_v1(state).unwrap())
        .unwrap();
    editor.text()
}

/// Several edits, inserts and a delete, appended one by one.
async fn write_edits(store: &LocalStore, doc: &DocId) -> Editor {
    let editor = Editor::new();
    for update in [
        editor.insert(0, "Ligature audit"),
        editor.insert(14, " on every ward"),
        editor.insert(0, "MD001: "),
        editor.remove(7, 9),
        editor.insert(7, "Risk "),
    ] {
        store.append(doc, &update).await.unwrap();
    }
    editor
}

#[wasm_bindgen_test]
async fn appended_updates_load_into_a_fresh_doc_with_the_same_text() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    let editor = write_edits(&store, &doc).await;
    assert_eq!(editor.text(), "MD001: Risk audit on every ward");
    assert_eq!(store.row_count(&doc).await.unwrap(), 5);

    let state = store.load(&doc).await.unwrap().expect("stored");
    assert_eq!(text_of(&state), editor.text());
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn an_unknown_doc_loads_as_none() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    assert_eq!(store.load(&id("nothing")).await.unwrap(), None);
    assert_eq!(store.load_and_compact(&id("nothing")).await.unwrap(), None);
    assert_eq!(store.row_count(&id("nothing")).await.unwrap(), 0);
    assert_eq!(store.pending(&id("nothing")).await.unwrap(), vec![]);
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn compaction_keeps_the_content_and_removes_the_rows() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    let editor = write_edits(&store, &doc).await;

    store.compact(&doc, &editor.state()).await.unwrap();
    assert_eq!(store.row_count(&doc).await.unwrap(), 0);
    let state = store.load(&doc).await.unwrap().unwrap();
    assert_eq!(text_of(&state), editor.text());

    // Appends after a compaction go on top of the snapshot.
    store.append(&doc, &editor.insert(0, "» ")).await.unwrap();
    assert_eq!(store.row_count(&doc).await.unwrap(), 1);
    let state = store.load(&doc).await.unwrap().unwrap();
    assert_eq!(text_of(&state), "» MD001: Risk audit on every ward");
    scratch.finish(store).await;
}

// Another tab can append between a tab's encoding of its state and its
// compaction: those rows must end up in the snapshot, not be deleted.
#[wasm_bindgen_test]
async fn compaction_keeps_rows_the_given_state_lacks() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    let here = Editor::new();
    store.append(&doc, &here.insert(0, "here")).await.unwrap();
    let stale = here.state();
    let there = Editor::new();
    store
        .append(&doc, &there.insert(0, "there "))
        .await
        .unwrap();

    store.compact(&doc, &stale).await.unwrap();
    assert_eq!(store.row_count(&doc).await.unwrap(), 0);
    let text = text_of(&store.load(&doc).await.unwrap().unwrap());
    assert!(text.contains("here") && text.contains("there"), "{text:?}");
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn load_and_compact_folds_a_long_log_into_the_snapshot() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    let editor = Editor::new();
    for i in 0..60u32 {
        store
            .append(
                &doc,
                &editor.insert(i, &char::from(b'a' + (i % 26) as u8).to_string()),
            )
            .await
            .unwrap();
    }
    store.append(&doc, &editor.remove(10, 20)).await.unwrap();
    assert!(store.row_count(&doc).await.unwrap() > COMPACT_AFTER);

    let state = store.load_and_compact(&doc).await.unwrap().unwrap();
    assert_eq!(text_of(&state), editor.text());
    assert_eq!(editor.text().len(), 40);
    assert_eq!(store.row_count(&doc).await.unwrap(), 0);
    let again = store.load(&doc).await.unwrap().unwrap();
    assert_eq!(text_of(&again), editor.text());
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn load_and_compact_leaves_a_short_log_alone() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    let editor = write_edits(&store, &doc).await;
    let state = store.load_and_compact(&doc).await.unwrap().unwrap();
    assert_eq!(text_of(&state), editor.text());
    assert_eq!(store.row_count(&doc).await.unwrap(), 5);
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn data_survives_closing_and_reopening_the_database() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    let editor = write_edits(&store, &doc).await;
    store.compact(&doc, &editor.state()).await.unwrap();
    store.append(&doc, &editor.insert(0, "# ")).await.unwrap();
    drop(store);

    let store = scratch.open().await;
    let state = store.load(&doc).await.unwrap().unwrap();
    assert_eq!(text_of(&state), editor.text());
    assert_eq!(store.row_count(&doc).await.unwrap(), 1);
    assert_eq!(store.doc_ids().await.unwrap(), vec![doc]);
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn the_pending_edits_survive_a_reload() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    // A client id past 2^53 would not survive as a JavaScript number.
    let pending = vec![
        (9_007_199_254_740_993, 4, 1_790_000_000_000),
        (7, 12, 1_790_000_000_500),
    ];
    store.save_pending(&doc, &pending).await.unwrap();
    drop(store);

    let store = scratch.open().await;
    assert_eq!(store.pending(&doc).await.unwrap(), pending);
    // Saved again with fewer: the last list wins; an empty one clears it.
    store.save_pending(&doc, &pending[1..]).await.unwrap();
    assert_eq!(store.pending(&doc).await.unwrap(), pending[1..].to_vec());
    store.save_pending(&doc, &[]).await.unwrap();
    assert_eq!(store.pending(&doc).await.unwrap(), vec![]);
    assert_eq!(store.pending(&id("plan-b")).await.unwrap(), vec![]);
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn clear_empties_everything() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let (a, b) = (id("plan-a"), id("plan-b"));
    let editor = write_edits(&store, &a).await;
    store.compact(&a, &editor.state()).await.unwrap();
    write_edits(&store, &b).await;
    store.save_pending(&a, &[(1, 2, 3)]).await.unwrap();

    store.clear().await.unwrap();
    assert_eq!(store.doc_ids().await.unwrap(), Vec::<DocId>::new());
    assert_eq!(store.load(&a).await.unwrap(), None);
    assert_eq!(store.load(&b).await.unwrap(), None);
    assert_eq!(store.row_count(&b).await.unwrap(), 0);
    assert_eq!(store.pending(&a).await.unwrap(), vec![]);
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn two_docs_do_not_see_each_others_updates() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let (a, b) = (id("plan-a"), id("programme"));
    let first = Editor::new();
    let second = Editor::new();
    for i in 0..3 {
        store.append(&a, &first.insert(0, "a")).await.unwrap();
        store.append(&b, &second.insert(i, "b")).await.unwrap();
    }
    store.compact(&a, &first.state()).await.unwrap();

    assert_eq!(text_of(&store.load(&a).await.unwrap().unwrap()), "aaa");
    assert_eq!(text_of(&store.load(&b).await.unwrap().unwrap()), "bbb");
    assert_eq!(store.row_count(&a).await.unwrap(), 0);
    assert_eq!(store.row_count(&b).await.unwrap(), 3);
    assert_eq!(store.doc_ids().await.unwrap(), vec![a, b]);
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn bad_input_is_refused_and_empty_updates_are_not_stored() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    let refused = store.append(&doc, &[0xff, 0xff, 0xff]).await.unwrap_err();
    assert!(
        matches!(refused, StorageError::Undecodable { what: "update", .. }),
        "{refused:?}"
    );
    assert!(refused.is_permanent());
    let refused = store.compact(&doc, &[0xff, 0xff]).await.unwrap_err();
    assert!(
        matches!(refused, StorageError::Undecodable { .. }),
        "{refused:?}"
    );
    store.append(&doc, Update::EMPTY_V1).await.unwrap();
    assert_eq!(store.row_count(&doc).await.unwrap(), 0);
    assert_eq!(store.load(&doc).await.unwrap(), None);
    assert_eq!(store.doc_ids().await.unwrap(), Vec::<DocId>::new());
    scratch.finish(store).await;
}

#[wasm_bindgen_test]
async fn a_deleted_database_opens_empty_and_a_closed_store_says_so() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    write_edits(&store, &doc).await;

    // Deleting from "another tab" closes this connection instead of waiting.
    LocalStore::delete_database(&scratch.name).await.unwrap();
    let closed = store.load(&doc).await.unwrap_err();
    assert_eq!(closed, StorageError::Closed);
    assert!(!closed.is_permanent());
    drop(store);

    let store = scratch.open().await;
    assert_eq!(store.load(&doc).await.unwrap(), None);
    scratch.finish(store).await;
}

/// Writes `update` as a log row of `doc` behind the store's back, as a
/// faulty older version or a disk error might have.
async fn inject_row(scratch: &Scratch, doc: &str, update: JsValue) {
    let factory = idb::Factory::new().unwrap();
    let db = factory
        .open(&database_name(&scratch.name), None)
        .unwrap()
        .await
        .unwrap();
    let txn = db
        .transaction(&["updates"], idb::TransactionMode::ReadWrite)
        .unwrap();
    let row = js_sys::Object::new();
    js_sys::Reflect::set(&row, &"doc".into(), &doc.into()).unwrap();
    js_sys::Reflect::set(&row, &"update".into(), &update).unwrap();
    txn.object_store("updates")
        .unwrap()
        .add(&row, None)
        .unwrap()
        .await
        .unwrap();
    assert!(txn.await.unwrap().is_committed());
    db.close();
}

#[wasm_bindgen_test]
async fn a_corrupt_row_is_reported_and_never_compacted_away() {
    let scratch = Scratch::new();
    let store = scratch.open().await;
    let doc = id("plan-a");
    let editor = write_edits(&store, &doc).await;
    inject_row(&scratch, "plan-a", JsValue::from_str("not bytes")).await;
    assert_eq!(store.row_count(&doc).await.unwrap(), 6);

    let corrupt = store.load(&doc).await.unwrap_err();
    assert!(
        matches!(corrupt, StorageError::Corrupt { .. }),
        "{corrupt:?}"
    );
    assert!(corrupt.is_permanent());
    let corrupt = store.compact(&doc, &editor.state()).await.unwrap_err();
    assert!(
        matches!(corrupt, StorageError::Corrupt { .. }),
        "{corrupt:?}"
    );
    assert_eq!(store.row_count(&doc).await.unwrap(), 6, "nothing deleted");

    // Bytes that are not an update are caught the same way.
    inject_row(
        &scratch,
        "plan-b",
        js_sys::Uint8Array::from(&[0xffu8; 3][..]).into(),
    )
    .await;
    let corrupt = store.load(&id("plan-b")).await.unwrap_err();
    assert!(
        matches!(corrupt, StorageError::Corrupt { .. }),
        "{corrupt:?}"
    );
    scratch.finish(store).await;
}
