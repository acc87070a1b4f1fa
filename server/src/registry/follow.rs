//! Following the other nodes on a shared store: what another node commits
//! to a document this node holds is read (every update after the last this
//! node applied, in order), applied, added to the admission's index, and
//! sent to this node's clients. A notice says when; it is only a hint, so
//! every loaded document's last sequence is also checked now and then, and
//! whenever the notices may have been missed. A node taking a document's
//! write turn catches up the same way first (see the pipeline).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use plait_shared::admission::{self, Writer};
use plait_shared::DocId;
use tokio::sync::broadcast::error::RecvError;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, Transact, Update};

use super::pipeline::SERVER_WRITER;
use super::{lock, DocState, LoadedDoc, Registry};
use crate::store::{Missed, Notice, StoreError};

/// How often every loaded document's last sequence is checked against the
/// database (catching what a lost notice did not say).
pub const FOLLOW_CHECK: Duration = Duration::from_secs(1);

impl Registry {
    /// Applies what other nodes committed (`missed`) to a loaded document,
    /// in order, and sends it to the document's clients.
    ///
    /// # Errors
    /// When an update does not apply whole; the document must then be
    /// reloaded.
    pub(super) fn apply_missed(
        &self,
        loaded: &LoadedDoc,
        state: &mut DocState,
        missed: &Missed,
    ) -> Result<(), StoreError> {
        let doc = state.awareness.doc().clone();
        let corrupt =
            |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{}: {e}", loaded.id));
        let mut changed = false;
        if let Some((seq, snapshot)) = &missed.snapshot {
            if *seq >= state.next_seq {
                // Compacted past what this node applied: merge the whole
                // state, and send the clients what it added.
                let before = doc.transact().state_vector();
                {
                    let mut txn = doc.transact_mut();
                    let update = Update::decode_v1(snapshot).map_err(|e| corrupt(&e))?;
                    txn.apply_update(update).map_err(|e| corrupt(&e))?;
                }
                let added = doc.transact().encode_state_as_update_v1(&before);
                let message = Bytes::from(Message::Sync(SyncMessage::Update(added)).encode_v1());
                self.broadcast_to(loaded, None, &message);
                self.metrics
                    .compaction_backlog
                    .fetch_sub(state.uncompacted as i64, Ordering::Relaxed);
                state.next_seq = seq + 1;
                state.uncompacted = 0;
                state.uncompacted_bytes = 0;
                state.snapshot_bytes = snapshot.len() as u64;
                // Rebuilt from the whole state on the next update.
                state.index = None;
                changed = true;
            }
        }
        for (seq, bytes) in &missed.updates {
            if *seq < state.next_seq {
                continue;
            }
            if *seq != state.next_seq {
                return Err(StoreError::Corrupt(format!(
                    "{}: update {} is missing (another node's log goes on at {seq})",
                    loaded.id, state.next_seq
                )));
            }
            // The claims are set once, after (every writer's, from the store).
            admission::apply_committed(&doc, state.index.as_mut(), bytes, &[])
                .map_err(|e| corrupt(&e))?;
            let message =
                Bytes::from(Message::Sync(SyncMessage::Update(bytes.clone())).encode_v1());
            self.broadcast_to(loaded, None, &message);
            state.next_seq += 1;
            state.uncompacted += 1;
            state.uncompacted_bytes += bytes.len() as u64;
            self.metrics
                .compaction_backlog
                .fetch_add(1, Ordering::Relaxed);
            self.metrics
                .updates_followed
                .fetch_add(1, Ordering::Relaxed);
            changed = true;
        }
        if let Some(index) = state.index.as_mut() {
            for (client, writer) in claims_of(&missed.writers) {
                index.set_writer(client, writer);
            }
        }
        if changed {
            if let Some(hook) = self.on_followed.get() {
                (hook.0)(&loaded.id, &doc);
            }
        }
        Ok(())
    }

    /// Sets what is told of a document changed by another node (once: the
    /// programmes' governance settings are read again from it).
    pub fn on_followed(&self, hook: impl Fn(&DocId, &yrs::Doc) + Send + Sync + 'static) {
        let _ = self.on_followed.set(super::FollowHook(Box::new(hook)));
    }

    /// Brings a loaded document up to `seq` (if it is behind it).
    pub(super) async fn catch_up(&self, id: &DocId, seq: Option<u64>) {
        let Some(shared) = self.store.shared() else {
            return;
        };
        let Some(loaded) = lock(&self.docs).get(id).cloned() else {
            return;
        };
        let Some(cell) = loaded.state.get() else {
            return;
        };
        let mut state = cell.lock().await;
        if state.poisoned || seq.is_some_and(|seq| seq < state.next_seq) {
            return;
        }
        let read = shared.since(id, state.next_seq.checked_sub(1)).await;
        let applied = read.and_then(|missed| self.apply_missed(&loaded, &mut state, &missed));
        if let Err(e) = applied {
            tracing::error!(doc = %id, error = %e, "cannot follow another node's updates; reloading the document");
            state.poisoned = true;
            drop(state);
            self.evict_doc(&loaded);
        }
    }

    /// Checks every loaded document's last sequence, and catches up those
    /// behind.
    async fn check_all(&self) {
        let Some(shared) = self.store.shared() else {
            return;
        };
        let ids: Vec<DocId> = lock(&self.docs)
            .values()
            .filter(|d| d.state.get().is_some())
            .map(|d| d.id.clone())
            .collect();
        if ids.is_empty() {
            return;
        }
        match shared.heads(ids).await {
            Ok(heads) => {
                for (id, seq) in heads {
                    self.catch_up(&id, Some(seq)).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot check the documents' last updates"),
        }
    }
}

/// Writers' claims as the store keeps them, as the index takes them (a
/// client id past what yrs gives is no claim anyone can use).
fn claims_of(writers: &[(u64, String)]) -> Vec<(yrs::ClientID, Writer)> {
    writers
        .iter()
        .filter(|(client, _)| *client < 1 << 53)
        .map(|(client, writer)| {
            let writer = if writer == SERVER_WRITER {
                Writer::Server
            } else {
                Writer::Person(writer.as_str().into())
            };
            (yrs::ClientID::new(*client), writer)
        })
        .collect()
}

/// Follows the other nodes until shutdown (when the store is shared).
pub(super) fn spawn(registry: &Arc<Registry>) {
    let Some(shared) = registry.store.shared() else {
        return;
    };
    let mut notices = shared.notices();
    let weak: Weak<Registry> = Arc::downgrade(registry);
    let shutdown = registry.shutdown.clone();
    registry.tasks.spawn(async move {
        let mut tick = tokio::time::interval(FOLLOW_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let notice = tokio::select! {
                () = shutdown.cancelled() => return,
                notice = notices.recv() => Some(notice),
                _ = tick.tick() => None,
            };
            let Some(registry) = weak.upgrade() else {
                return;
            };
            match notice {
                Some(Ok(Notice::Committed(id, seq))) => registry.catch_up(&id, Some(seq)).await,
                Some(Ok(Notice::Closing(_))) => {}
                Some(Ok(Notice::Awareness(id, node, update))) => {
                    registry.apply_relayed_awareness(&id, node, &update).await;
                }
                Some(Ok(Notice::Listening) | Err(RecvError::Lagged(_))) | None => {
                    registry.check_all().await;
                }
                Some(Err(RecvError::Closed)) => return,
            }
        }
    });
}
