//! Fan-out: the connections of a document, each with a bounded queue;
//! every stored update and awareness change is sent to all of them, a
//! client too slow to keep up is disconnected (to resync), a joining
//! client's whole state is encoded once for a crowd, and large messages
//! take turns.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact};

use super::{lock, DocState, Lease, LoadedDoc, Registry};
use crate::wire::{Frame, Outbox, Sent};

/// A document's full state as a sync-step-2 message is kept for new
/// clients (an empty state vector) once it is at least this large, until
/// the document next changes: a crowd joining a large document at once is
/// answered with one encoding, shared.
pub const CACHE_FULL_SYNC_BYTES: usize = 64 * 1024;

/// A message at least this large (a large document's whole state, to a
/// joining client) waits for one of [`LARGE_SENDS`] turns before it is sent.
pub const LARGE_SEND_BYTES: usize = 1 << 20;

/// How many large messages are sent at once. When a crowd joins a large
/// document together, sending to all of them at once makes every one of them
/// wait for all the others; in turn, the first are done early.
pub const LARGE_SENDS: usize = 4;

/// The longest a large message waits for its turn, so that a few slow
/// clients cannot hold back everyone else.
pub const LARGE_SEND_WAIT: Duration = Duration::from_secs(1);

/// A document's whole state as a sync step 2, for clients that have
/// nothing, with the `next_seq` it was made at (kept only for a large
/// document, see [`CACHE_FULL_SYNC_BYTES`]).
#[derive(Debug, Default)]
pub(super) struct FullSync(Option<(u64, Bytes)>);

impl DocState {
    /// The sync step 2 (as a whole message) for a client whose state vector
    /// is `sv`: exactly what it lacks. For a client that has nothing, the
    /// answer for a large document is made once per version and shared.
    pub fn sync_step2(&mut self, sv: &StateVector) -> Bytes {
        let encode = |doc: &yrs::Doc| {
            let update = doc.transact().encode_state_as_update_v1(sv);
            Bytes::from(Message::Sync(SyncMessage::SyncStep2(update)).encode_v1())
        };
        if !sv.is_empty() {
            return encode(self.awareness.doc());
        }
        if let FullSync(Some((seq, message))) = &self.full_sync {
            if *seq == self.next_seq {
                return message.clone();
            }
        }
        let message = encode(self.awareness.doc());
        self.full_sync = FullSync(
            (message.len() >= CACHE_FULL_SYNC_BYTES).then(|| (self.next_seq, message.clone())),
        );
        message
    }
}

/// The turns at sending large messages: [`LARGE_SENDS`] at once.
#[derive(Debug)]
pub(super) struct LargeSends(tokio::sync::Semaphore);

impl Default for LargeSends {
    fn default() -> Self {
        LargeSends(tokio::sync::Semaphore::new(LARGE_SENDS))
    }
}

impl LargeSends {
    /// A turn to send a message of `len` bytes (see [`Registry::send_turn`]).
    async fn turn(&self, len: usize) -> Option<tokio::sync::SemaphorePermit<'_>> {
        if len < LARGE_SEND_BYTES {
            return None;
        }
        tokio::time::timeout(LARGE_SEND_WAIT, self.0.acquire())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

/// The holder recorded for a presence another node's connection holds:
/// this bit with the node's number (connections here count up from 1).
const REMOTE: u64 = 1 << 63;

/// A connection receiving a document's broadcasts.
pub(super) struct Subscriber {
    outbox: Arc<Outbox>,
    pub(super) kick: CancellationToken,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscriber")
    }
}

impl Registry {
    /// A turn to send a message of `len` bytes: for a large one, one of
    /// [`LARGE_SENDS`] permits, first come first served, waited for at most
    /// [`LARGE_SEND_WAIT`]; hold it while sending.
    pub async fn send_turn(&self, len: usize) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.large_sends.turn(len).await
    }

    /// Registers a connection to receive the document's broadcasts,
    /// written to `outbox`; the token is cancelled when the connection is
    /// too slow to keep up.
    pub fn subscribe(&self, lease: &Lease, conn: u64, outbox: Arc<Outbox>) -> CancellationToken {
        let kick = CancellationToken::new();
        lock(&lease.doc.subscribers).insert(
            conn,
            Subscriber {
                outbox,
                kick: kick.clone(),
            },
        );
        kick
    }

    /// Whether some connection of the document has more than half its
    /// limit of messages waiting for its client (a writer then lets the
    /// connections' writers run).
    pub fn crowded(&self, lease: &Lease) -> bool {
        lock(&lease.doc.subscribers)
            .values()
            .any(|s| s.outbox.backlog() > s.outbox.limit() / 2)
    }

    /// Removes a connection.
    pub fn unsubscribe(&self, lease: &Lease, conn: u64) {
        lock(&lease.doc.subscribers).remove(&conn);
    }

    /// Sends `message` to every subscriber but `except`: framed once, and
    /// written into each socket now (queued where the socket will not take
    /// it yet). A subscriber with its limit of messages waiting is
    /// disconnected (to resync), never silently skipped.
    pub fn broadcast(&self, lease: &Lease, except: Option<u64>, message: &Bytes) -> usize {
        self.broadcast_to(&lease.doc, except, message)
    }

    /// Sends several messages, in order, to every subscriber but `except`,
    /// as [`Registry::broadcast`] does one: framed once, and written into
    /// each socket in one write (each counts against a client's limit).
    pub(super) fn broadcast_all(
        &self,
        lease: &Lease,
        except: Option<u64>,
        messages: &[Bytes],
    ) -> usize {
        if messages.is_empty() {
            return 0;
        }
        let frame = Frame::all(messages.iter().map(Frame::binary));
        let bytes: usize = messages.iter().map(Bytes::len).sum();
        let sent = self.send_frame(&lease.doc, except, &frame, bytes);
        self.metrics.updates_broadcast.fetch_add(
            (sent * messages.len().saturating_sub(1)) as u64,
            Ordering::Relaxed,
        );
        sent
    }

    /// [`Registry::broadcast`] to a loaded document's subscribers.
    pub(super) fn broadcast_to(
        &self,
        loaded: &LoadedDoc,
        except: Option<u64>,
        message: &Bytes,
    ) -> usize {
        self.send_frame(loaded, except, &Frame::binary(message), message.len())
    }

    /// Writes `frame` (`bytes` of messages) to every subscriber but `except`.
    fn send_frame(
        &self,
        loaded: &LoadedDoc,
        except: Option<u64>,
        frame: &Frame,
        bytes: usize,
    ) -> usize {
        let mut subscribers = lock(&loaded.subscribers);
        let mut sent = 0;
        subscribers.retain(|conn, subscriber| {
            if Some(*conn) == except {
                return true;
            }
            match subscriber.outbox.send(frame) {
                Sent::Sent => {
                    sent += 1;
                    true
                }
                Sent::Full => {
                    self.metrics.slow_disconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(doc = %loaded.id, conn, "client too slow: disconnecting it to resync");
                    subscriber.kick.cancel();
                    false
                }
                Sent::Closed => false,
            }
        });
        self.metrics
            .updates_broadcast
            .fetch_add(sent as u64, Ordering::Relaxed);
        self.metrics
            .bytes_sent
            .fetch_add((sent * bytes) as u64, Ordering::Relaxed);
        sent
    }

    /// Applies an awareness update from `conn` and sends it on.
    ///
    /// # Errors
    /// When the update is malformed.
    pub async fn apply_awareness(
        &self,
        lease: &Lease,
        conn: u64,
        update: AwarenessUpdate,
    ) -> Result<Vec<u64>, String> {
        let mut state = lease.state().lock().await;
        // Only presences this connection holds, or that nobody holds yet.
        let mut update = update;
        update
            .clients
            .retain(|id, _| *state.presence.entry(id.get()).or_insert(conn) == conn);
        if update.clients.is_empty() {
            return Ok(Vec::new());
        }
        let clients: Vec<u64> = update.clients.keys().map(|id| id.get()).collect();
        let message = Bytes::from(Message::Awareness(update.clone()).encode_v1());
        let relayed = self.store.shared().map(|_| update.encode_v1());
        crate::guard::no_panic(|| state.awareness.apply_update(update))?
            .map_err(|e| e.to_string())?;
        self.broadcast(lease, Some(conn), &message);
        if let (Some(shared), Some(relayed)) = (self.store.shared(), relayed) {
            shared.announce_awareness(&lease.doc.id, relayed);
        }
        Ok(clients)
    }

    /// Forgets the awareness of a departed connection's clients and tells
    /// the others.
    pub async fn remove_awareness(&self, lease: &Lease, conn: u64, clients: &HashSet<u64>) {
        let mut state = lease.state().lock().await;
        // Only the presences this connection held.
        let clients: Vec<u64> = clients
            .iter()
            .copied()
            .filter(|c| state.presence.get(c) == Some(&conn))
            .collect();
        if clients.is_empty() {
            return;
        }
        for client in &clients {
            state.presence.remove(client);
            state
                .awareness
                .remove_state(yrs::block::ClientID::new(*client));
        }
        let ids = clients.iter().map(|c| yrs::block::ClientID::new(*c));
        if let Ok(update) = state.awareness.update_with_clients(ids) {
            if let Some(shared) = self.store.shared() {
                shared.announce_awareness(&lease.doc.id, update.encode_v1());
            }
            let message = Bytes::from(Message::Awareness(update).encode_v1());
            self.broadcast(lease, None, &message);
        }
    }

    /// Another node's clients' awareness of a loaded document: applied
    /// and sent to this node's clients.
    pub(super) async fn apply_relayed_awareness(
        &self,
        id: &plait_shared::DocId,
        node: u64,
        update: &[u8],
    ) {
        use yrs::updates::decoder::Decode;
        let Some(loaded) = lock(&self.docs).get(id).cloned() else {
            return;
        };
        let Some(cell) = loaded.state.get() else {
            return;
        };
        let Ok(mut update) = AwarenessUpdate::decode_v1(update) else {
            return;
        };
        let mut state = cell.lock().await;
        // A presence another node's connection holds is held here for that
        // node: no connection here, nor a third node, may change or remove
        // it (and one a connection here holds is not another node's to
        // change).
        let holder = REMOTE | (node >> 1);
        update
            .clients
            .retain(|id, _| *state.presence.entry(id.get()).or_insert(holder) == holder);
        if update.clients.is_empty() {
            return;
        }
        let gone: Vec<u64> = update
            .clients
            .iter()
            .filter(|(_, entry)| entry.json.as_ref() == "null")
            .map(|(id, _)| id.get())
            .collect();
        let message = Bytes::from(Message::Awareness(update.clone()).encode_v1());
        let applied = crate::guard::no_panic(|| state.awareness.apply_update(update));
        if matches!(applied, Ok(Ok(()))) {
            for client in gone {
                state.presence.remove(&client);
            }
            self.broadcast_to(&loaded, None, &message);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;
    use yrs::sync::{Awareness, Message, SyncMessage};
    use yrs::updates::decoder::Decode;
    use yrs::{ReadTxn, StateVector, Transact, Update};

    use super::*;
    use crate::metrics::Metrics;
    use crate::registry::{Registry, RegistrySettings};

    #[tokio::test]
    async fn large_messages_take_turns_and_small_ones_never_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::SledStore::open(dir.path()).unwrap());
        let registry = Registry::new(
            store,
            None,
            RegistrySettings::default(),
            Arc::new(Metrics::default()),
            TaskTracker::new(),
            CancellationToken::new(),
        );
        assert!(registry.send_turn(LARGE_SEND_BYTES - 1).await.is_none());
        let mut turns = Vec::new();
        for _ in 0..LARGE_SENDS {
            turns.push(registry.send_turn(LARGE_SEND_BYTES).await.unwrap());
        }
        // All turns taken: a large message waits (here, not even 50 ms of
        // the second it may), a small one does not.
        let waiting = registry.send_turn(LARGE_SEND_BYTES);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), waiting)
                .await
                .is_err(),
            "a fifth large send waits"
        );
        assert!(registry.send_turn(10).await.is_none());
        turns.pop();
        assert!(registry.send_turn(LARGE_SEND_BYTES).await.is_some());
    }

    #[test]
    fn a_new_client_gets_the_whole_state_shared_until_the_document_changes() {
        use yrs::{GetString, Text};
        let doc = plait_shared::new_doc();
        let text = doc.get_or_insert_text("t");
        text.push(&mut doc.transact_mut(), &"x".repeat(CACHE_FULL_SYNC_BYTES));
        let mut state = DocState {
            awareness: Awareness::new(doc.clone()),
            next_seq: 1,
            uncompacted: 0,
            uncompacted_bytes: 0,
            snapshot_bytes: 0,
            full_sync: FullSync::default(),
            poisoned: false,
            index: None,
            presence: HashMap::new(),
        };
        let empty = StateVector::default();
        let first = state.sync_step2(&empty);
        let again = state.sync_step2(&empty);
        assert_eq!(first.as_ptr(), again.as_ptr(), "shared, not encoded twice");
        // A client with part of the document gets only what it lacks.
        let partial = state.sync_step2(&doc.transact().state_vector());
        assert!(partial.len() < 100);
        // After a change (a new sequence number) the answer is made anew.
        text.push(&mut doc.transact_mut(), "y");
        state.next_seq = 2;
        let after = state.sync_step2(&empty);
        assert_ne!(first.as_ptr(), after.as_ptr());
        let Ok(Message::Sync(SyncMessage::SyncStep2(update))) = Message::decode_v1(&after) else {
            panic!("a sync step 2");
        };
        let copy = plait_shared::new_doc();
        copy.transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
        let got = copy.get_or_insert_text("t").get_string(&copy.transact());
        assert_eq!(got.len(), CACHE_FULL_SYNC_BYTES + 1);
    }
}
