//! Fan-out: the connections of a document, each with a bounded queue;
//! every stored update and awareness change is sent to all of them, a
//! client too slow to keep up is disconnected (to resync), and large
//! messages take turns.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use yrs::sync::{AwarenessUpdate, Message};
use yrs::updates::encoder::Encode;

use super::{lock, Lease, Registry, LARGE_SEND_BYTES, LARGE_SEND_WAIT};

/// A connection receiving a document's broadcasts.
pub(super) struct Subscriber {
    tx: mpsc::Sender<Bytes>,
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
        if len < LARGE_SEND_BYTES {
            return None;
        }
        tokio::time::timeout(LARGE_SEND_WAIT, self.large_sends.acquire())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Registers a connection to receive the document's broadcasts.
    pub fn subscribe(
        &self,
        lease: &Lease,
        conn: u64,
    ) -> (mpsc::Receiver<Bytes>, CancellationToken) {
        let (tx, rx) = mpsc::channel(self.settings.client_queue);
        let kick = CancellationToken::new();
        lock(&lease.doc.subscribers).insert(
            conn,
            Subscriber {
                tx,
                kick: kick.clone(),
            },
        );
        (rx, kick)
    }

    /// Removes a connection.
    pub fn unsubscribe(&self, lease: &Lease, conn: u64) {
        lock(&lease.doc.subscribers).remove(&conn);
    }

    /// Sends `message` to every subscriber but `except`. A subscriber whose
    /// queue is full is disconnected (to resync), never silently skipped.
    pub fn broadcast(&self, lease: &Lease, except: Option<u64>, message: &Bytes) -> usize {
        let mut subscribers = lock(&lease.doc.subscribers);
        let mut sent = 0;
        subscribers.retain(|conn, subscriber| {
            if Some(*conn) == except {
                return true;
            }
            match subscriber.tx.try_send(message.clone()) {
                Ok(()) => {
                    sent += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.metrics.slow_disconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(doc = %lease.doc.id, conn, "client too slow: disconnecting it to resync");
                    subscriber.kick.cancel();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        self.metrics
            .updates_broadcast
            .fetch_add(sent as u64, Ordering::Relaxed);
        self.metrics
            .bytes_sent
            .fetch_add((sent * message.len()) as u64, Ordering::Relaxed);
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
        crate::guard::no_panic(|| state.awareness.apply_update(update))?
            .map_err(|e| e.to_string())?;
        self.broadcast(lease, Some(conn), &message);
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
            let message = Bytes::from(Message::Awareness(update).encode_v1());
            self.broadcast(lease, None, &message);
        }
    }
}
