//! One sync connection speaking the y-websocket protocol (y-protocols v1):
//! sync step 1 / step 2 / update, awareness and query-awareness, each a
//! lib0-framed message in a binary WebSocket frame.
//!
//! The loop reads a `Stream` of [`Incoming`] messages and writes to the
//! connection's [`Outbox`] (`wire.rs`), which every broadcast to the client
//! is written to as well: it knows nothing of HTTP, and tests drive it
//! with a channel and an outbox writing into memory.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use yrs::encoding::read::Cursor;
use yrs::sync::{Message, MessageReader, SyncMessage};
use yrs::updates::decoder::DecoderV1;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, Transact};

use crate::registry::{Applied, ApplyError, Lease, Registry, UpdateAuthor, LARGE_SEND_BYTES};
use crate::wire::{Frame, Outbox, Sent};
pub use crate::wire::{Incoming, Outgoing};
use plait_shared::protocol::{close, Refusals, MSG_DURABLE, MSG_REFUSED};

/// Whether a connection's person may still be connected: asked now and
/// then, on a blocking thread.
pub trait Liveness: Send + Sync + 'static {
    /// `Ok(false)` when they may not (the session expired); `active` says
    /// the connection was used since the last ask. An error (storage) keeps
    /// the connection.
    ///
    /// # Errors
    /// When it cannot tell.
    fn still_live(&self, active: bool) -> Result<bool, String>;

    /// How often to ask.
    fn every(&self) -> Duration;
}

/// What a connection asked for, and who it is.
#[derive(Clone)]
pub struct ConnectionOptions {
    /// Send [`MSG_DURABLE`] after each of the client's updates is on disk.
    pub durable_acks: bool,
    /// Who writes the client's updates.
    pub author: UpdateAuthor,
    /// Cancelled when the session ends or the account changes.
    pub revoked: CancellationToken,
    /// Whether the session is still live, asked now and then.
    pub liveness: Option<Arc<dyn Liveness>>,
}

impl std::fmt::Debug for ConnectionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionOptions")
            .field("durable_acks", &self.durable_acks)
            .field("author", &self.author)
            .finish_non_exhaustive()
    }
}

/// Why a connection is closed by the server.
#[derive(Debug)]
struct Close {
    code: u16,
    reason: String,
}

impl Close {
    fn new(code: u16, reason: impl Into<String>) -> Close {
        Close {
            code,
            reason: reason.into(),
        }
    }
}

/// How long a closing connection waits for its close frame to go out.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How long a connection's own answers may wait for its client to read
/// them before it stops reading the client (and then closes, to resync).
const OWN_BACKLOG_WAIT: Duration = Duration::from_secs(30);

/// Runs one connection until either side closes it.
pub async fn run<R>(
    registry: Arc<Registry>,
    lease: Lease,
    outbox: Arc<Outbox>,
    mut stream: R,
    options: ConnectionOptions,
    shutdown: CancellationToken,
) where
    R: Stream<Item = Incoming> + Unpin,
{
    let conn = registry.next_conn_id();
    let metrics_connections = &registry.metrics().connections;
    metrics_connections.fetch_add(1, Ordering::Relaxed);
    let kick = registry.subscribe(&lease, conn, outbox.clone());
    let mut awareness_clients: HashSet<u64> = HashSet::new();

    let greeting = {
        let state = lease.state().lock().await;
        let mut greeting = vec![Message::Sync(SyncMessage::SyncStep1(
            state.awareness.doc().transact().state_vector(),
        ))
        .encode_v1()];
        if state.awareness.iter().next().is_some() {
            if let Ok(update) = state.awareness.update() {
                greeting.push(Message::Awareness(update).encode_v1());
            }
        }
        greeting
    };
    let mut close: Option<Close> = None;
    // A session can also end by expiring; look now and then.
    let check_every = options
        .liveness
        .as_ref()
        .map_or(Duration::from_secs(3600), |l| l.every());
    let mut session_check =
        tokio::time::interval_at(tokio::time::Instant::now() + check_every, check_every);
    let mut active = false;
    for message in greeting {
        if outbox.send_own(&Frame::binary(&Bytes::from(message))) == Sent::Closed {
            close = Some(Close::new(close::GOING_AWAY, ""));
        }
    }

    while close.is_none() {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                close = Some(Close::new(close::GOING_AWAY, "the server is shutting down"));
            }
            () = kick.cancelled() => {
                close = Some(Close::new(close::TRY_AGAIN_LATER, "fell behind: reconnect to resync"));
            }
            () = options.revoked.cancelled() => {
                close = Some(Close::new(close::SESSION_ENDED, "signed out, or access changed"));
            }
            _ = session_check.tick() => {
                if let Some(liveness) = &options.liveness {
                    let liveness = liveness.clone();
                    let touch = std::mem::take(&mut active);
                    let live = tokio::task::spawn_blocking(move || liveness.still_live(touch)).await;
                    if matches!(live, Ok(Ok(false))) {
                        close = Some(Close::new(close::SESSION_ENDED, "the session has expired"));
                    }
                }
            }
            incoming = stream.next() => match incoming {
                Some(Incoming::Binary(frame)) => {
                    // A burst of frames is handled without waiting for the
                    // socket again: while a
                    // reader's queue is over half full, let the readers send
                    // first (with one worker thread, a 2,000-update burst
                    // filled a reader's queue before its task ran, and had it
                    // dropped as too slow). Only then: a yield per frame cost
                    // a fifth of the unpaced throughput on two (now per
                    // batch, see `gather`).
                    if registry.crowded(&lease) {
                        tokio::task::yield_now().await;
                    }
                    // A client that does not read its own answers is not
                    // read either, for a while.
                    if outbox.backlog() > outbox.limit() / 2
                        && tokio::time::timeout(OWN_BACKLOG_WAIT, outbox.drained()).await.is_err()
                    {
                        close = Some(Close::new(close::TRY_AGAIN_LATER, "fell behind: reconnect to resync"));
                        continue;
                    }
                    // The frames already read from the socket behind it are
                    // handled with it (see `gather`); what ended the run is
                    // handled after them.
                    let stopped = || {
                        shutdown.is_cancelled() || kick.is_cancelled() || options.revoked.is_cancelled()
                    };
                    let (frames, after) = gather(frame, &mut stream, &stopped);
                    active = true;
                    match handle_frames(&registry, &lease, conn, &frames, &outbox, &mut awareness_clients, &options, &stopped).await {
                        Ok(mut replies) => send_replies(&registry, &outbox, &mut replies).await,
                        Err(reason) => close = Some(reason),
                    }
                    if close.is_none() {
                        if let Some(after) = after {
                            match other(conn, after) {
                                Flow::Go => {}
                                Flow::Close(reason) => close = Some(reason),
                                Flow::Stop => break,
                            }
                        }
                    }
                }
                incoming => match other(conn, incoming) {
                    Flow::Go => {}
                    Flow::Close(reason) => close = Some(reason),
                    Flow::Stop => break,
                },
            },
        }
    }

    if let Some(Close { code, reason }) = close {
        if code != close::GOING_AWAY || !reason.is_empty() {
            if matches!(
                code,
                close::UNSUPPORTED | close::INVALID_PAYLOAD | close::TOO_BIG
            ) {
                registry
                    .metrics()
                    .rejected_connections
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(doc = %lease.id(), conn, code, %reason, "closing connection: bad input");
            }
            // A client too slow to keep up gets the close at once: what
            // waits for it is dropped (it resyncs on reconnecting).
            outbox.close(code, &reason, code == close::TRY_AGAIN_LATER);
            // The close goes out before the connection counts as ended (a
            // shutdown waits for connections), for a short while.
            let _ = tokio::time::timeout(CLOSE_WAIT, outbox.drained()).await;
        }
    }
    registry.unsubscribe(&lease, conn);
    registry
        .remove_awareness(&lease, conn, &awareness_clients)
        .await;
    metrics_connections.fetch_sub(1, Ordering::Relaxed);
}

/// The most frames handled together, the one at hand included (see
/// [`gather`]).
const BATCH_FRAMES: usize = 32;

/// The most updates applied under one hold of the document's lock.
const BATCH_UPDATES: usize = 32;

/// Frames are read ahead, and updates added to one hold of the document's
/// lock, until they come to this many bytes (the last may take them over
/// it, by at most one message's size).
const BATCH_BYTES: usize = 64 * 1024;

/// `first` and the binary frames read already behind it (the reader gives
/// what it has buffered, or what the socket has now, without waiting), up
/// to [`BATCH_FRAMES`] and [`BATCH_BYTES`], while `stopped` says no: a
/// client sending faster than a round trip (two unpaced editors, a burst
/// after being offline) has its updates applied under one hold of the
/// document's lock and sent on in one write to each client (see
/// [`Registry::apply_many`]). Also what ended the run, if it was not a
/// binary frame (`None` inside: the stream ended).
///
/// The reader answers a close (or a frame breaking the protocol) as it
/// reads it, so when one comes right behind a burst, the outbox is closed
/// before the burst's frames are handled: they are applied and sent on to
/// the others, but the sender's acknowledgements are not written (it is
/// leaving; an update sent again on reconnecting is known and
/// acknowledged).
fn gather<R>(
    first: Bytes,
    stream: &mut R,
    stopped: &(dyn Fn() -> bool + Sync),
) -> (Vec<Bytes>, Option<Option<Incoming>>)
where
    R: Stream<Item = Incoming> + Unpin,
{
    let mut bytes = first.len();
    let mut frames = vec![first];
    while frames.len() < BATCH_FRAMES && bytes < BATCH_BYTES && !stopped() {
        match stream.next().now_or_never() {
            Some(Some(Incoming::Binary(frame))) => {
                bytes += frame.len();
                frames.push(frame);
            }
            Some(Some(Incoming::Control)) => {}
            Some(after) => return (frames, Some(after)),
            None => break,
        }
    }
    (frames, None)
}

/// What to do after a message that is not a binary frame.
enum Flow {
    /// Go on reading.
    Go,
    /// Close the connection, telling the client why.
    Close(Close),
    /// The connection has ended.
    Stop,
}

fn other(conn: u64, incoming: Option<Incoming>) -> Flow {
    match incoming {
        None | Some(Incoming::Closed) => Flow::Stop,
        Some(Incoming::TooBig) => Flow::Close(Close::new(close::TOO_BIG, "message too big")),
        Some(Incoming::Failed(text)) => {
            tracing::debug!(conn, error = %text, "connection failed");
            Flow::Stop
        }
        Some(Incoming::Text) => Flow::Close(Close::new(close::UNSUPPORTED, "binary frames only")),
        Some(Incoming::Control) => Flow::Go,
        // Never here (the loop handles binary frames itself); were one
        // to come, the client is told to resync rather than lose it.
        Some(Incoming::Binary(_)) => {
            Flow::Close(Close::new(close::TRY_AGAIN_LATER, "reconnect to resync"))
        }
    }
}

/// Sends the connection's answers, in order. A large answer (a large
/// document's whole state) waits for a turn, and is sent before the turn
/// is given back.
async fn send_replies(registry: &Registry, outbox: &Outbox, replies: &mut Vec<Bytes>) {
    for reply in replies.drain(..) {
        let turn = registry.send_turn(reply.len()).await;
        if outbox.send_own(&Frame::binary(&reply)) == Sent::Closed {
            return;
        }
        // Bounded: a client that stops reading keeps neither the turn nor
        // its connection (it is closed when its backlog is next checked).
        if reply.len() >= LARGE_SEND_BYTES
            && tokio::time::timeout(OWN_BACKLOG_WAIT, outbox.drained())
                .await
                .is_err()
        {
            return;
        }
        drop(turn);
    }
}

/// Decodes every message of each frame first, so a frame that is malformed
/// anywhere changes nothing (the frames before it are handled, then the
/// connection is closed); then handles them in order, each run of updates
/// together ([`Registry::apply_many`], at most [`BATCH_UPDATES`] and
/// [`BATCH_BYTES`] at a time), until `stopped` says the connection is to
/// close. The answers are returned; when the connection is to close, they
/// are sent first.
#[allow(clippy::too_many_arguments)]
async fn handle_frames(
    registry: &Arc<Registry>,
    lease: &Lease,
    conn: u64,
    frames: &[Bytes],
    outbox: &Arc<Outbox>,
    awareness_clients: &mut HashSet<u64>,
    options: &ConnectionOptions,
    stopped: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<Bytes>, Close> {
    let mut replies = Vec::new();
    let handled = handle_messages(
        registry,
        lease,
        conn,
        frames,
        outbox,
        awareness_clients,
        options,
        stopped,
        &mut replies,
    )
    .await;
    match handled {
        Ok(()) => Ok(replies),
        Err(reason) => {
            send_replies(registry, outbox, &mut replies).await;
            Err(reason)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle_messages(
    registry: &Arc<Registry>,
    lease: &Lease,
    conn: u64,
    frames: &[Bytes],
    outbox: &Arc<Outbox>,
    awareness_clients: &mut HashSet<u64>,
    options: &ConnectionOptions,
    stopped: &(dyn Fn() -> bool + Sync),
    replies: &mut Vec<Bytes>,
) -> Result<(), Close> {
    let mut messages = Vec::new();
    let mut malformed = Ok(());
    for frame in frames {
        match decode_frame(frame) {
            Ok(decoded) => messages.extend(decoded),
            Err(reason) => {
                malformed = Err(reason);
                break;
            }
        }
    }
    let mut messages = messages.into_iter().peekable();
    while let Some(message) = messages.next() {
        if stopped() {
            // Closing: what is left is not applied (nor acknowledged).
            return Ok(());
        }
        match message {
            Decoded::Step1(sv) => {
                let mut state = lease.state().lock().await;
                replies.push(state.sync_step2(&sv));
            }
            Decoded::Update(bytes, decoded) => {
                let mut size = bytes.len();
                let mut run = vec![(bytes, decoded)];
                while run.len() < BATCH_UPDATES && size < BATCH_BYTES {
                    let Some(Decoded::Update(bytes, _)) = messages.peek() else {
                        break;
                    };
                    size += bytes.len();
                    if let Some(Decoded::Update(bytes, decoded)) = messages.next() {
                        run.push((bytes, decoded));
                    }
                }
                let (bytes, decoded): (Vec<Vec<u8>>, Vec<_>) = run.into_iter().unzip();
                let updates = bytes
                    .iter()
                    .map(Vec::as_slice)
                    .zip(decoded.into_iter().map(Some))
                    .collect();
                let results = registry
                    .apply_many(lease, Some(conn), updates, &options.author)
                    .await;
                for result in results {
                    answer(registry, lease, conn, result, outbox, options, replies).await?;
                }
            }
            Decoded::Awareness(update) => {
                let update = bind_awareness(update, awareness_clients, options.author.signed());
                if update.clients.is_empty() {
                    continue;
                }
                let clients = registry
                    .apply_awareness(lease, conn, update)
                    .await
                    .map_err(|e| {
                        Close::new(close::INVALID_PAYLOAD, format!("bad awareness update: {e}"))
                    })?;
                awareness_clients.extend(clients);
            }
            Decoded::QueryAwareness => {
                let state = lease.state().lock().await;
                if let Ok(update) = state.awareness.update() {
                    replies.push(Message::Awareness(update).encode_v1().into());
                }
            }
            Decoded::Auth => {}
        }
    }
    malformed
}

/// Answers the client for one of its updates: what was refused, the
/// acknowledgement once durable, or a sync step 1 when the update lacked
/// what it depends on; an error closes the connection.
async fn answer(
    registry: &Arc<Registry>,
    lease: &Lease,
    conn: u64,
    result: Result<Applied, ApplyError>,
    outbox: &Arc<Outbox>,
    options: &ConnectionOptions,
    replies: &mut Vec<Bytes>,
) -> Result<(), Close> {
    match result {
        Ok(applied) => {
            if options.durable_acks && !applied.refused.is_empty() {
                let refusals = Refusals {
                    changes: applied.refused.clone(),
                    whole: None,
                };
                replies.push(
                    Message::Custom(MSG_REFUSED, refusals.encode())
                        .encode_v1()
                        .into(),
                );
            }
            // What is refused is told before the
            // acknowledgement (which may be written at once).
            send_replies(registry, outbox, replies).await;
            acknowledge(applied, outbox, options.durable_acks);
        }
        Err(ApplyError::Incomplete(why)) => {
            // Nothing kept: ask for what is missing, as sync
            // step 1 does, and stay connected.
            tracing::debug!(doc = %lease.id(), conn, %why, "incomplete update");
            let state = lease.state().lock().await;
            let sv = state.awareness.doc().transact().state_vector();
            replies.push(Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1().into());
        }
        Err(ApplyError::Refused(reason)) => {
            tracing::warn!(doc = %lease.id(), conn, %reason, "update refused whole");
            if options.durable_acks {
                let refusals = Refusals {
                    changes: Vec::new(),
                    whole: Some(reason),
                };
                replies.push(
                    Message::Custom(MSG_REFUSED, refusals.encode())
                        .encode_v1()
                        .into(),
                );
            }
        }
        Err(ApplyError::Malformed(reason)) => {
            return Err(Close::new(close::INVALID_PAYLOAD, reason));
        }
        Err(e) => {
            tracing::error!(doc = %lease.id(), conn, error = %e, "update not applied");
            return Err(Close::new(
                close::TRY_AGAIN_LATER,
                "the update could not be stored: reconnect to resync",
            ));
        }
    }
    Ok(())
}

/// Acknowledges an update once it is on disk: [`MSG_DURABLE`] with the
/// state vector just after it, written by the flushing thread straight to
/// the socket. Flushes answer in the order they were asked for, so a
/// client's acknowledgements come in the order of its updates.
fn acknowledge(applied: Applied, outbox: &Arc<Outbox>, durable_acks: bool) {
    let outbox = outbox.clone();
    applied.then(move |durable| match durable {
        Ok(sv) if durable_acks => {
            let message = Message::Custom(MSG_DURABLE, sv.encode_v1()).encode_v1();
            let _ = outbox.send_own(&Frame::binary(&Bytes::from(message)));
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "update not made durable"),
    });
}

/// The largest awareness state (presence: a cursor, a name) one
/// connection may publish, in bytes of JSON.
pub const MAX_AWARENESS_BYTES: usize = 4096;

/// A connection's awareness, bound to it: the first client id it announces
/// is its own for the connection's life (entries for any other id are
/// dropped, so nobody can overwrite or remove someone else's presence), a
/// state is a JSON object of at most [`MAX_AWARENESS_BYTES`], and its `user`
/// is the session's (`{"id": user name, "name": display name}`), so nobody
/// can appear as someone else.
fn bind_awareness(
    update: yrs::sync::AwarenessUpdate,
    bound: &HashSet<u64>,
    who: Option<&crate::registry::Signature>,
) -> yrs::sync::AwarenessUpdate {
    let mut clients = std::collections::HashMap::new();
    for (client, mut entry) in update.clients {
        let own = if bound.is_empty() {
            clients.is_empty()
        } else {
            bound.contains(&client.get())
        };
        if !own || entry.json.len() > MAX_AWARENESS_BYTES {
            continue;
        }
        if &*entry.json != "null" {
            let Ok(serde_json::Value::Object(mut state)) =
                serde_json::from_str::<serde_json::Value>(&entry.json)
            else {
                continue;
            };
            if let Some(who) = who {
                state.insert(
                    "user".into(),
                    serde_json::json!({ "id": who.user.as_str(), "name": who.name }),
                );
            }
            entry.json = serde_json::Value::Object(state).to_string().into();
        }
        clients.insert(client, entry);
    }
    yrs::sync::AwarenessUpdate { clients }
}

enum Decoded {
    Step1(yrs::StateVector),
    Update(Vec<u8>, plait_shared::admission::codec::DecodedUpdate),
    Awareness(yrs::sync::AwarenessUpdate),
    QueryAwareness,
    Auth,
}

/// Decodes a frame. yrs asserts on some impossible values (a client id over
/// 2^53) instead of returning an error, so a panic while decoding is caught
/// and treated as a malformed frame: no input may take the server down.
fn decode_frame(frame: &[u8]) -> Result<Vec<Decoded>, Close> {
    crate::guard::no_panic(|| decode_frame_unguarded(frame)).unwrap_or_else(|panic| {
        Err(Close::new(
            close::INVALID_PAYLOAD,
            format!("malformed message: {panic}"),
        ))
    })
}

fn decode_frame_unguarded(frame: &[u8]) -> Result<Vec<Decoded>, Close> {
    let invalid = |what: String| Close::new(close::INVALID_PAYLOAD, what);
    if frame.is_empty() {
        return Err(invalid("empty frame".into()));
    }
    let mut decoder = DecoderV1::new(Cursor::new(frame));
    let reader = MessageReader::new(&mut decoder);
    let mut decoded = Vec::new();
    // yrs's reader stops quietly at a truncated message; every byte of the
    // frame must belong to a message that decodes, so count them.
    let mut consumed = 0;
    for message in reader {
        let message = message.map_err(|e| invalid(format!("malformed message: {e}")))?;
        consumed += message.encode_v1().len();
        decoded.push(match message {
            Message::Sync(SyncMessage::SyncStep1(sv)) => Decoded::Step1(sv),
            Message::Sync(SyncMessage::SyncStep2(bytes) | SyncMessage::Update(bytes)) => {
                let decoded = plait_shared::admission::codec::decode(&bytes)
                    .map_err(|e| invalid(e.to_string()))?;
                Decoded::Update(bytes, decoded)
            }
            Message::Awareness(update) => Decoded::Awareness(update),
            Message::AwarenessQuery => Decoded::QueryAwareness,
            Message::Auth(_) => Decoded::Auth,
            Message::Custom(tag, _) => {
                return Err(Close::new(
                    close::UNSUPPORTED,
                    format!("unsupported message type {tag}"),
                ))
            }
        });
    }
    if consumed != frame.len() {
        return Err(invalid("truncated or trailing bytes in the frame".into()));
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::Text;

    #[test]
    fn garbage_frames_are_errors_not_panics() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut frame: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Bias towards sync messages so the update decoder is reached.
            if let Some(first) = frame.first_mut() {
                *first %= 4;
            }
            let _ = decode_frame(&frame);
        }
    }

    #[test]
    fn a_truncated_update_is_malformed() {
        let doc = plait_shared::new_doc();
        doc.get_or_insert_text("t")
            .push(&mut doc.transact_mut(), "hello");
        let update = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let frame = Message::Sync(SyncMessage::Update(update)).encode_v1();
        assert!(decode_frame(&frame).is_ok());
        for cut in 1..frame.len() {
            let result = decode_frame(&frame[..cut]);
            assert!(result.is_err(), "cut at {cut}");
        }
        let err = decode_frame(&[0, 9]).err().map(|c| c.code);
        assert_eq!(err, Some(close::INVALID_PAYLOAD));
        let custom = Message::Custom(42, vec![1]).encode_v1();
        assert_eq!(
            decode_frame(&custom).err().map(|c| c.code),
            Some(close::UNSUPPORTED)
        );
    }
}

#[cfg(test)]
mod channel_tests {
    //! The connection loop driven through channels instead of a socket.

    use std::sync::Arc;

    use futures_channel::mpsc;
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;
    use yrs::updates::decoder::Decode;
    use yrs::{GetString, Text};

    use super::*;
    use crate::registry::RegistrySettings;
    use crate::store::SledStore;
    use crate::Metrics;

    /// The next frame the server wrote (waiting up to 5 s for it).
    async fn next_frame(
        memory: &crate::wire::testing::Memory,
        received: &mut std::collections::VecDeque<Outgoing>,
    ) -> Option<Outgoing> {
        for _ in 0..500 {
            received.extend(memory.take());
            if let Some(first) = received.pop_front() {
                return Some(first);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        None
    }

    /// A connection to `id` run over channels and an outbox writing into
    /// memory, as a server administrator; the frames in `queued` are there
    /// before it starts, so it finds them all read already.
    async fn connect(
        registry: &Arc<Registry>,
        id: &plait_shared::DocId,
        queued: Vec<Vec<u8>>,
        shutdown: &CancellationToken,
    ) -> (
        mpsc::UnboundedSender<Incoming>,
        Arc<crate::wire::testing::Memory>,
        tokio::task::JoinHandle<()>,
    ) {
        let (to_server, from_client) = mpsc::unbounded::<Incoming>();
        for frame in queued {
            to_server
                .unbounded_send(Incoming::Binary(frame.into()))
                .unwrap();
        }
        let memory = Arc::new(crate::wire::testing::Memory::default());
        let outbox = crate::wire::Outbox::new(memory.clone(), 16);
        let lease = registry.lease(id).await.unwrap();
        let options = ConnectionOptions {
            durable_acks: true,
            author: UpdateAuthor::Administrator {
                who: crate::registry::Signature {
                    user: plait_shared::UserId::new("admin").unwrap(),
                    name: "Admin".into(),
                    session: "s".into(),
                    device: "d".into(),
                },
            },
            revoked: CancellationToken::new(),
            liveness: None,
        };
        let task = tokio::spawn(run(
            registry.clone(),
            lease,
            outbox,
            from_client,
            options,
            shutdown.clone(),
        ));
        (to_server, memory, task)
    }

    fn test_registry(
        dir: &std::path::Path,
        shutdown: &CancellationToken,
    ) -> (Arc<Registry>, Arc<SledStore>) {
        let store = Arc::new(SledStore::open(dir).unwrap());
        let audit = crate::audit::Audit::open(store.clone()).unwrap();
        let registry = Registry::new(
            store.clone(),
            Some(audit),
            RegistrySettings::default(),
            Arc::new(Metrics::default()),
            TaskTracker::new(),
            shutdown.clone(),
        );
        (registry, store)
    }

    /// Another client of `id`, connected first and greeted (its first
    /// write), to see what is sent on.
    async fn greeted_reader(
        registry: &Arc<Registry>,
        id: &plait_shared::DocId,
        shutdown: &CancellationToken,
    ) -> (
        mpsc::UnboundedSender<Incoming>,
        Arc<crate::wire::testing::Memory>,
        tokio::task::JoinHandle<()>,
    ) {
        let (to_server, reader, task) = connect(registry, id, Vec::new(), shutdown).await;
        let mut received = std::collections::VecDeque::new();
        assert!(matches!(
            next_frame(&reader, &mut received).await,
            Some(Outgoing::Binary(_))
        ));
        (to_server, reader, task)
    }

    /// `count` updates, each one edit after the one before, as frames, and
    /// the text they make.
    fn edits(count: usize) -> (Vec<Vec<u8>>, String) {
        let doc = plait_shared::new_doc();
        let text = doc.get_or_insert_text("t");
        let mut frames = Vec::new();
        let mut expected = String::new();
        for i in 0..count {
            let before = doc.transact().state_vector();
            let word = format!("{i} ");
            text.push(&mut doc.transact_mut(), &word);
            expected.push_str(&word);
            let update = doc.transact().encode_state_as_update_v1(&before);
            frames.push(Message::Sync(SyncMessage::Update(update)).encode_v1());
        }
        (frames, expected)
    }

    /// Applies the updates among `frames` to a fresh document: its text.
    fn text_of(frames: &[Outgoing]) -> (String, usize) {
        let doc = plait_shared::new_doc();
        let text = doc.get_or_insert_text("t");
        let mut updates = 0;
        for frame in frames {
            let Outgoing::Binary(bytes) = frame else {
                continue;
            };
            if let Ok(Message::Sync(SyncMessage::Update(update))) = Message::decode_v1(bytes) {
                updates += 1;
                doc.transact_mut()
                    .apply_update(yrs::Update::decode_v1(&update).unwrap())
                    .unwrap();
            }
        }
        let content = text.get_string(&doc.transact());
        (content, updates)
    }

    /// Waits until `memory` has had `count` updates written: every frame.
    async fn frames_until_updates(
        memory: &crate::wire::testing::Memory,
        count: usize,
    ) -> Vec<Outgoing> {
        let mut frames = Vec::new();
        for _ in 0..500 {
            frames.extend(memory.take());
            if text_of(&frames).1 >= count {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        frames
    }

    #[tokio::test]
    async fn a_burst_is_applied_in_order_stored_one_by_one_and_sent_on_in_one_write() {
        let dir = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let (registry, store) = test_registry(dir.path(), &shutdown);
        let id = plait_shared::DocId::new("burst").unwrap();
        let (_reader_in, reader, reader_task) = greeted_reader(&registry, &id, &shutdown).await;
        let greeted = reader.writes.load(std::sync::atomic::Ordering::SeqCst);
        // Twelve edits, all read from the socket before the writer's
        // connection first looks at them.
        let (frames, expected) = edits(12);
        let (_writer_in, writer, writer_task) = connect(&registry, &id, frames, &shutdown).await;

        let sent = frames_until_updates(&reader, 12).await;
        let (text, updates) = text_of(&sent);
        assert_eq!((text.as_str(), updates), (expected.as_str(), 12));
        assert_eq!(
            reader.writes.load(std::sync::atomic::Ordering::SeqCst) - greeted,
            1,
            "the burst reaches the other client in one write"
        );
        // Each is stored (with its audit record) and acknowledged, in order.
        assert_eq!(store.log_len(&id), 12);
        let mut acks = Vec::new();
        let mut from_writer = std::collections::VecDeque::new();
        while acks.len() < 12 {
            match next_frame(&writer, &mut from_writer).await {
                Some(Outgoing::Binary(bytes)) => {
                    if let Ok(Message::Custom(MSG_DURABLE, sv)) = Message::decode_v1(&bytes) {
                        acks.push(yrs::StateVector::decode_v1(&sv).unwrap());
                    }
                }
                other => panic!("expected 12 acknowledgements, then {other:?}"),
            }
        }
        let clocks: Vec<u32> = acks
            .iter()
            .map(|sv| sv.iter().map(|(_, c)| *c).sum())
            .collect();
        assert!(
            clocks.windows(2).all(|w| w[0] < w[1]),
            "in order: {clocks:?}"
        );
        let audit = crate::audit::Audit::open(store.clone()).unwrap();
        assert_eq!(audit.history(&id, None, 100).unwrap().len(), 12);

        shutdown.cancel();
        writer_task.await.unwrap();
        reader_task.await.unwrap();
    }

    #[tokio::test]
    async fn an_incomplete_update_in_a_burst_is_asked_for_and_the_rest_applied() {
        let dir = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let (registry, store) = test_registry(dir.path(), &shutdown);
        let id = plait_shared::DocId::new("burst").unwrap();
        let (_reader_in, reader, reader_task) = greeted_reader(&registry, &id, &shutdown).await;

        // The second edit of another document, whose first never comes.
        let (mut frames, expected) = edits(4);
        let (orphan, _) = edits(2);
        frames.insert(2, orphan[1].clone());
        let greeted = reader.writes.load(std::sync::atomic::Ordering::SeqCst);
        let (_writer_in, writer, writer_task) = connect(&registry, &id, frames, &shutdown).await;
        let sent = frames_until_updates(&reader, 4).await;
        let (text, updates) = text_of(&sent);
        assert_eq!((text.as_str(), updates), (expected.as_str(), 4));
        assert_eq!(store.log_len(&id), 4);
        assert_eq!(
            reader.writes.load(std::sync::atomic::Ordering::SeqCst) - greeted,
            1
        );
        let mut from_writer = std::collections::VecDeque::new();
        let (mut acks, mut asked) = (0, 0);
        while acks < 4 || asked < 2 {
            match next_frame(&writer, &mut from_writer).await {
                Some(Outgoing::Binary(bytes)) => match Message::decode_v1(&bytes) {
                    Ok(Message::Custom(MSG_DURABLE, _)) => acks += 1,
                    Ok(Message::Sync(SyncMessage::SyncStep1(_))) => asked += 1,
                    _ => {}
                },
                other => panic!("expected 4 acknowledgements and a sync step 1, then {other:?}"),
            }
        }
        // The greeting's step 1 and the one asking for what is missing.
        assert_eq!((acks, asked), (4, 2));

        shutdown.cancel();
        writer_task.await.unwrap();
        reader_task.await.unwrap();
    }

    #[tokio::test]
    async fn a_malformed_frame_in_a_burst_keeps_what_came_before_and_nothing_after() {
        let dir = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let (registry, store) = test_registry(dir.path(), &shutdown);
        let id = plait_shared::DocId::new("burst").unwrap();
        let (_reader_in, reader, reader_task) = greeted_reader(&registry, &id, &shutdown).await;

        let (mut frames, _) = edits(4);
        let last = frames.pop().unwrap();
        frames.insert(2, vec![0, 2, 200, 1, 7]);
        frames.push(last);
        let greeted = reader.writes.load(std::sync::atomic::Ordering::SeqCst);
        let (_writer_in, writer, writer_task) = connect(&registry, &id, frames, &shutdown).await;
        writer_task.await.unwrap();
        let written = writer.take();
        assert!(
            written.iter().any(
                |f| matches!(f, Outgoing::Close { code, .. } if *code == close::INVALID_PAYLOAD)
            ),
            "closed as malformed: {written:?}"
        );
        let sent = frames_until_updates(&reader, 2).await;
        let (text, updates) = text_of(&sent);
        assert_eq!((text.as_str(), updates), ("0 1 ", 2));
        assert_eq!(store.log_len(&id), 2);
        assert_eq!(
            reader.writes.load(std::sync::atomic::Ordering::SeqCst) - greeted,
            1
        );

        shutdown.cancel();
        reader_task.await.unwrap();
    }

    #[tokio::test]
    async fn a_frame_in_gives_a_durable_ack_and_a_broadcast_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let shutdown = CancellationToken::new();
        let registry = Registry::new(
            store,
            None,
            RegistrySettings::default(),
            Arc::new(Metrics::default()),
            TaskTracker::new(),
            shutdown.clone(),
        );
        let id = plait_shared::DocId::new("channels").unwrap();
        let (to_server, from_client) = mpsc::unbounded::<Incoming>();
        let memory = Arc::new(crate::wire::testing::Memory::default());
        let outbox = crate::wire::Outbox::new(memory.clone(), 16);
        // The server's frames, as they are written.
        let mut received = std::collections::VecDeque::new();
        let lease = registry.lease(&id).await.unwrap();
        let options = ConnectionOptions {
            durable_acks: true,
            author: UpdateAuthor::Trusted {
                shape: plait_shared::admission::schema::DocShape::Plan,
            },
            revoked: CancellationToken::new(),
            liveness: None,
        };
        let task = tokio::spawn(run(
            registry.clone(),
            lease,
            outbox,
            from_client,
            options,
            shutdown.clone(),
        ));

        // The greeting is the server's sync step 1.
        let Some(Outgoing::Binary(greeting)) = next_frame(&memory, &mut received).await else {
            panic!("no greeting");
        };
        assert!(matches!(
            Message::decode_v1(&greeting),
            Ok(Message::Sync(SyncMessage::SyncStep1(_)))
        ));

        let doc = plait_shared::new_doc();
        doc.get_or_insert_text("t")
            .push(&mut doc.transact_mut(), "offline edit");
        let update = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let frame = Message::Sync(SyncMessage::Update(update)).encode_v1();
        to_server
            .unbounded_send(Incoming::Binary(frame.into()))
            .unwrap();

        let Some(Outgoing::Binary(ack)) = next_frame(&memory, &mut received).await else {
            panic!("no acknowledgement");
        };
        let Ok(Message::Custom(MSG_DURABLE, sv)) = Message::decode_v1(&ack) else {
            panic!("expected a durable acknowledgement");
        };
        let sv = yrs::StateVector::decode_v1(&sv).unwrap();
        assert_eq!(sv, doc.transact().state_vector());

        let lease = registry.lease(&id).await.unwrap();
        let text = lease
            .state()
            .lock()
            .await
            .awareness
            .doc()
            .get_or_insert_text("t");
        let content = text.get_string(&lease.state().lock().await.awareness.doc().transact());
        assert_eq!(content, "offline edit");

        shutdown.cancel();
        task.await.unwrap();
        let Some(Outgoing::Close { code, .. }) = next_frame(&memory, &mut received).await else {
            panic!("no close frame");
        };
        assert_eq!(code, close::GOING_AWAY);
    }
}
