//! Costs of the server's storage (`SledStore`) and of the per-update path:
//! an append, a flushed group-commit batch, a compaction, loading a 1 MB and
//! a 20 MB document, and one update merged and appended to a 20 KB and a
//! 20 MB document (the per-update cost must not grow with the document).
//! `cargo bench -p plait-server` (not part of the tests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use plait_server::{DocStore, SledStore};
use plait_shared::DocId;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, ReadTxn, StateVector, Transact, Update};

criterion_group!(
    benches,
    append,
    flushed_batch,
    compaction,
    compaction_20mb,
    load,
    per_update
);
criterion_main!(benches);

fn id(s: &str) -> DocId {
    DocId::new(s).unwrap()
}

/// A document of about `bytes`, as many 256-byte map entries (many blocks,
/// like a long-lived plan), encoded as one update.
fn doc_state(bytes: usize) -> Vec<u8> {
    let doc = Doc::new();
    let map = doc.get_or_insert_map("preload");
    let padding = "p".repeat(244);
    {
        let mut txn = doc.transact_mut();
        for i in 0..bytes / 256 {
            map.insert(&mut txn, format!("p{i}"), format!("{i:010}:{padding}"));
        }
    }
    let txn = doc.transact();
    txn.encode_state_as_update_v1(&StateVector::default())
}

/// Small updates from one client, as a stream.
struct Editor {
    doc: Doc,
    n: u64,
}

impl Editor {
    fn new() -> Editor {
        Editor {
            doc: Doc::new(),
            n: 0,
        }
    }

    fn next(&mut self) -> Vec<u8> {
        let map = self.doc.get_or_insert_map("edits");
        let mut txn = self.doc.transact_mut();
        map.insert(&mut txn, format!("e{}", self.n), "0123456789abcdef");
        self.n += 1;
        txn.encode_update_v1()
    }
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let doc = id("bench-append");
    let update = Editor::new().next();
    let mut seq = 0u64;
    c.bench_function("store/append", |b| {
        b.iter(|| {
            store.append(&doc, seq, black_box(&update)).unwrap();
            seq += 1;
        });
    });
}

fn flushed_batch(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let doc = id("bench-flush");
    let update = Editor::new().next();
    let mut seq = 0u64;
    // What one group commit does under load: 32 appends, one flush (fsync).
    c.bench_function("store/append_32_then_flush", |b| {
        b.iter(|| {
            for _ in 0..32 {
                store.append(&doc, seq, &update).unwrap();
                seq += 1;
            }
            store.flush().unwrap();
        });
    });
}

fn compaction_20mb(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let doc_id = id("bench-compact-20MB");
    let state = doc_state(20_000_000);
    let doc = Doc::new();
    doc.transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    let mut group = c.benchmark_group("compaction_20MB");
    group.sample_size(10);
    // What a compaction of a 20 MB document does: encode it (under the
    // document's lock) and write the snapshot.
    group.bench_function("encode_state", |b| {
        b.iter(|| {
            doc.transact()
                .encode_state_as_update_v1(&StateVector::default())
        });
    });
    let mut seq = 0u64;
    group.bench_function("write_snapshot", |b| {
        b.iter(|| {
            store.compact(&doc_id, seq, &state).unwrap();
            seq += 1;
        });
    });
    group.finish();
}

fn compaction(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let doc = id("bench-compact");
    let state = doc_state(1_000_000);
    let mut editor = Editor::new();
    let updates: Vec<Vec<u8>> = (0..500).map(|_| editor.next()).collect();
    let mut seq = 0u64;
    // The default threshold: 500 log entries folded into a 1 MB snapshot.
    c.bench_function("store/compact_500_entries_1MB_snapshot", |b| {
        b.iter_batched(
            || {
                for update in &updates {
                    store.append(&doc, seq, update).unwrap();
                    seq += 1;
                }
                seq - 1
            },
            |upto| store.compact(&doc, upto, &state).unwrap(),
            BatchSize::PerIteration,
        );
    });
}

/// What the registry does on first use: read the snapshot and log, apply.
fn load_doc(store: &SledStore, doc: &DocId) -> Doc {
    let stored = store.load(doc).unwrap().unwrap();
    let ydoc = Doc::new();
    {
        let mut txn = ydoc.transact_mut();
        if let Some((_, state)) = &stored.snapshot {
            txn.apply_update(Update::decode_v1(state).unwrap()).unwrap();
        }
        for (_, bytes) in &stored.updates {
            txn.apply_update(Update::decode_v1(bytes).unwrap()).unwrap();
        }
    }
    ydoc
}

fn load(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    for (name, bytes) in [("1MB", 1_000_000), ("20MB", 20_000_000)] {
        let doc = id(&format!("bench-load-{name}"));
        let state = doc_state(bytes);
        store.compact(&doc, 0, &state).unwrap();
        let mut editor = Editor::new();
        for seq in 1..=100 {
            store.append(&doc, seq, &editor.next()).unwrap();
        }
        store.flush().unwrap();
        // Snapshot plus 100 log entries, read from sled and applied.
        group.bench_function(format!("snapshot_{name}_plus_100_entries"), |b| {
            b.iter(|| load_doc(&store, &doc));
        });
    }
    // The longest log a 20 MB document keeps before it is compacted: a
    // quarter of its size in small updates.
    let doc = id("bench-load-20MB-long-log");
    store.compact(&doc, 0, &doc_state(20_000_000)).unwrap();
    let mut editor = Editor::new();
    let (mut seq, mut bytes) = (1u64, 0usize);
    while bytes < 5_000_000 {
        let update = editor.next();
        bytes += update.len();
        store.append(&doc, seq, &update).unwrap();
        seq += 1;
    }
    store.flush().unwrap();
    group.bench_function(format!("snapshot_20MB_plus_{}_entries", seq - 1), |b| {
        b.iter(|| load_doc(&store, &doc));
    });
    group.finish();
}

fn per_update(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut group = c.benchmark_group("merge_and_append");
    for (name, bytes) in [("20KB", 20_000), ("20MB", 20_000_000)] {
        let doc_id = id(&format!("bench-merge-{name}"));
        let doc = Doc::new();
        doc.transact_mut()
            .apply_update(Update::decode_v1(&doc_state(bytes)).unwrap())
            .unwrap();
        let mut editor = Editor::new();
        let mut seq = 0u64;
        // The registry's work for one update, broadcast and flush aside:
        // decode, merge into the document, append to the log.
        group.bench_function(format!("into_{name}_doc"), |b| {
            b.iter_batched(
                || editor.next(),
                |update| {
                    let decoded = Update::decode_v1(&update).unwrap();
                    let mut txn = doc.transact_mut();
                    let before = txn.state_vector();
                    txn.apply_update(decoded).unwrap();
                    let changed = txn.state_vector() != before;
                    drop(txn);
                    store.append(&doc_id, seq, &update).unwrap();
                    seq += 1;
                    changed
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}
