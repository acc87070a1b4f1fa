//! One simulated client: a real WebSocket speaking y-websocket (y-protocols
//! v1) with Plait's durable acknowledgements (`?durable=1`, message 100),
//! holding its own yrs document.
//!
//! Every edit sets one entry of the root map `edits`: key `SENDER:SEQ`, value
//! `MICROS:PADDING`, where MICROS is the sending time on the benchmark's
//! clock. A receiver that applies the update sees the entry appear and knows
//! the edit's age at once.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant as Deadline;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::encoding::read::Cursor;
use yrs::sync::{Message, MessageReader, SyncMessage};
use yrs::types::EntryChange;
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{Any, Doc, Map, MapRef, Observable, Out, ReadTxn, StateVector, Transact, Update};

pub use plait_shared::protocol::{MSG_DURABLE, MSG_REFUSED};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Microseconds on the benchmark's clock (shared by every client).
pub fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// One edit seen arriving from another client: who sent it, its sequence
/// number, and how old it was on arrival (microseconds).
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub sender: u32,
    pub seq: u32,
    pub latency_us: u64,
    /// When it arrived, on the benchmark's clock.
    pub at_us: u64,
}

/// Something the server sent, decoded.
#[derive(Debug, Default)]
pub struct Inbox {
    /// Sync step 2 payload sizes received.
    pub step2: Vec<usize>,
    /// The highest clock of this client's own edits that the server has
    /// said is durable.
    pub durable_clock: u32,
    /// Refusal notices received.
    pub refused: usize,
}

/// A connected client.
pub struct Client {
    pub doc: Doc,
    pub edits: MapRef,
    sink: SplitSink<Ws, WsMessage>,
    /// The incoming half: in a `select!`, read it with [`recv`] and hand
    /// the frame to [`Client::process`].
    pub stream: SplitStream<Ws>,
    pub arrivals: Arc<Mutex<Vec<Arrival>>>,
    pub inbox: Inbox,
    /// Apply received sync-step-2 updates (off in a join storm, where only
    /// their arrival is timed).
    pub apply_step2: bool,
    /// Frames received.
    pub frames_in: u64,
    /// Bytes received in frames.
    pub bytes_in: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.doc.client_id())
            .finish_non_exhaustive()
    }
}

/// The WebSocket URL of a document.
pub fn sync_url(base: &str, doc: &str, token: &str, durable: bool) -> String {
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    let ws = ws.trim_end_matches('/');
    let path = plait_shared::api::address::sync(doc, durable, Some(token));
    format!("{ws}{path}")
}

impl Client {
    /// Connects and sends sync step 1; the initial sync completes as
    /// messages are handled (see [`Client::synced`]).
    pub async fn connect(url: &str, deadline: Deadline) -> anyhow::Result<Client> {
        // Small read buffers: thousands of idle clients stay cheap, and the
        // buffer still grows for a large message.
        Client::connect_with_buffer(url, deadline, 16 * 1024).await
    }

    /// Like [`Client::connect`], reading up to `read_buffer` bytes at a time
    /// (a client receiving a large document reads it in fewer calls).
    pub async fn connect_with_buffer(
        url: &str,
        deadline: Deadline,
        read_buffer: usize,
    ) -> anyhow::Result<Client> {
        let config = WebSocketConfig::default()
            .read_buffer_size(read_buffer)
            .max_message_size(Some(256 << 20))
            .max_frame_size(Some(256 << 20));
        let (ws, _) = tokio::time::timeout_at(
            deadline,
            tokio_tungstenite::connect_async_with_config(url, Some(config), true),
        )
        .await
        .map_err(|_| anyhow!("time limit reached while connecting"))?
        .map_err(|e| anyhow!("connecting: {e}"))?;
        let (sink, stream) = ws.split();
        let doc = Doc::new();
        let edits = doc.get_or_insert_map("edits");
        let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let seen = arrivals.clone();
        edits.observe("bench", move |txn, event| {
            // Only remote edits (applied with an origin) are arrivals.
            if txn.origin().is_none() {
                return;
            }
            let now = now_us();
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            for (key, change) in event.keys(txn) {
                if let EntryChange::Inserted(Out::Any(Any::String(value))) = change {
                    if let Some(arrival) = parse_edit(key, value, now) {
                        seen.push(arrival);
                    }
                }
            }
        });
        let mut client = Client {
            doc,
            edits,
            sink,
            stream,
            arrivals,
            inbox: Inbox::default(),
            apply_step2: true,
            frames_in: 0,
            bytes_in: 0,
        };
        let sv = client.doc.transact().state_vector();
        client
            .send(Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1())
            .await?;
        Ok(client)
    }

    /// Whether the server's sync step 2 has arrived.
    pub fn synced(&self) -> bool {
        !self.inbox.step2.is_empty()
    }

    /// Sends one binary frame.
    pub async fn send(&mut self, frame: Vec<u8>) -> anyhow::Result<()> {
        self.sink
            .send(WsMessage::Binary(frame.into()))
            .await
            .map_err(|e| anyhow!("sending: {e}"))
    }

    /// Makes one edit (`sender:seq` → `now:padding`) and sends its update.
    pub async fn edit(&mut self, sender: u32, seq: u32, padding: &str) -> anyhow::Result<()> {
        let update = {
            let mut txn = self.doc.transact_mut();
            let value = format!("{}:{padding}", now_us());
            self.edits
                .insert(&mut txn, format!("{sender}:{seq}"), value);
            txn.encode_update_v1()
        };
        self.send(Message::Sync(SyncMessage::Update(update)).encode_v1())
            .await
    }

    /// Sends a prepared update as a sync update message.
    pub async fn send_update(&mut self, update: Vec<u8>) -> anyhow::Result<()> {
        self.send(Message::Sync(SyncMessage::Update(update)).encode_v1())
            .await
    }

    /// Waits for the next frame and handles it. `Ok(false)` when the
    /// connection has ended.
    pub async fn next(&mut self, deadline: Deadline) -> anyhow::Result<bool> {
        match recv(&mut self.stream, deadline).await? {
            Some(frame) => self.process(frame).await,
            None => Ok(false),
        }
    }

    /// Handles one frame. `Ok(false)` when the connection has ended.
    pub async fn process(&mut self, frame: WsMessage) -> anyhow::Result<bool> {
        match frame {
            WsMessage::Binary(bytes) => {
                self.frames_in += 1;
                self.bytes_in += bytes.len() as u64;
                // Timing only: note a sync step 2's arrival without copying it.
                if !self.apply_step2 {
                    if let Some(len) = step2_len(&bytes) {
                        self.inbox.step2.push(len);
                        return Ok(true);
                    }
                }
                self.handle(&bytes).await?;
                Ok(true)
            }
            WsMessage::Close(frame) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                bail!("the server closed the connection: {code} {reason}")
            }
            _ => Ok(true),
        }
    }

    async fn handle(&mut self, frame: &[u8]) -> anyhow::Result<()> {
        let mut decoder = DecoderV1::new(Cursor::new(frame));
        let messages: Vec<Message> = MessageReader::new(&mut decoder)
            .collect::<Result<_, _>>()
            .context("a malformed message from the server")?;
        for message in messages {
            match message {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let update = self.doc.transact().encode_state_as_update_v1(&sv);
                    self.send(Message::Sync(SyncMessage::SyncStep2(update)).encode_v1())
                        .await?;
                }
                Message::Sync(SyncMessage::SyncStep2(update)) => {
                    self.inbox.step2.push(update.len());
                    if self.apply_step2 {
                        self.apply(&update)?;
                    }
                }
                Message::Sync(SyncMessage::Update(update)) => self.apply(&update)?,
                Message::Custom(MSG_DURABLE, payload) => {
                    let sv = StateVector::decode_v1(&payload)
                        .context("a malformed durable acknowledgement")?;
                    let mine = sv.get(&self.doc.client_id());
                    self.inbox.durable_clock = self.inbox.durable_clock.max(mine);
                }
                Message::Custom(MSG_REFUSED, _) => self.inbox.refused += 1,
                _ => {}
            }
        }
        Ok(())
    }

    fn apply(&self, update: &[u8]) -> anyhow::Result<()> {
        let update = Update::decode_v1(update).context("a malformed update from the server")?;
        let mut txn = self.doc.transact_mut_with("server");
        txn.apply_update(update)
            .map_err(|e| anyhow!("applying the server's update: {e}"))
    }

    /// Whether every edit this client made is durable on the server.
    pub fn all_durable(&self) -> bool {
        let mine = self
            .doc
            .transact()
            .state_vector()
            .get(&self.doc.client_id());
        self.inbox.durable_clock >= mine
    }

    /// The state vector (sorted by client) and a digest of the content, to
    /// compare clients of one document.
    pub fn fingerprint(&self) -> (Vec<u8>, u64, u32) {
        let txn = self.doc.transact();
        let sv = canonical_sv(&txn.state_vector());
        let mut entries: Vec<(String, String)> = self
            .edits
            .iter(&txn)
            .map(|(k, v)| (k.to_owned(), v.to_string(&txn)))
            .collect();
        entries.sort();
        let mut hash = Fnv::default();
        for (k, v) in &entries {
            hash.write(k.as_bytes());
            hash.write(&[0]);
            hash.write(v.as_bytes());
            hash.write(&[1]);
        }
        let preload = txn.get_map("preload").map_or(0, |m: MapRef| m.len(&txn));
        hash.write(&preload.to_le_bytes());
        (sv, hash.0, self.edits.len(&txn))
    }

    /// Closes the connection politely: the closing handshake, reading (and
    /// discarding) what the server still sends until its close frame, for
    /// at most 10 s.
    ///
    /// Dropping a socket with unread data makes the kernel reset the
    /// connection, and a reset discards what the server had received but
    /// not yet read: this client's last edits, lost for every other client.
    /// (A server that echoes each update to its sender, as
    /// y-websocket-server does, always has data in flight at the end.)
    pub async fn close(mut self) {
        if self.sink.send(WsMessage::Close(None)).await.is_err() {
            return;
        }
        let deadline = Deadline::now() + Duration::from_secs(10);
        while let Ok(Some(_)) = recv(&mut self.stream, deadline).await {}
    }
}

/// The length of the update in `frame` if it is exactly one sync step 2.
fn step2_len(frame: &[u8]) -> Option<usize> {
    let rest = frame.strip_prefix(&[0, 1])?;
    let mut len = 0usize;
    for (i, byte) in rest.iter().enumerate().take(10) {
        len |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (rest.len() == i + 1 + len).then_some(len);
        }
    }
    None
}

/// A state vector as bytes that are equal exactly when the vectors are
/// (its v1 encoding follows a hash map's order).
pub fn canonical_sv(sv: &StateVector) -> Vec<u8> {
    let mut clocks: Vec<(u64, u32)> = sv
        .iter()
        .map(|(client, clock)| (client.get(), *clock))
        .collect();
    clocks.sort_unstable();
    clocks
        .iter()
        .flat_map(|(client, clock)| client.to_le_bytes().into_iter().chain(clock.to_le_bytes()))
        .collect()
}

/// The next frame of `stream` (`None` once it has ended).
pub async fn recv(
    stream: &mut SplitStream<Ws>,
    deadline: Deadline,
) -> anyhow::Result<Option<WsMessage>> {
    match tokio::time::timeout_at(deadline, stream.next()).await {
        Err(_) => bail!("time limit reached"),
        Ok(None) => Ok(None),
        Ok(Some(Err(e))) => bail!("connection failed: {e}"),
        Ok(Some(Ok(frame))) => Ok(Some(frame)),
    }
}

fn parse_edit(key: &str, value: &str, now: u64) -> Option<Arrival> {
    let (sender, seq) = key.split_once(':')?;
    let sent: u64 = value.split(':').next()?.parse().ok()?;
    Some(Arrival {
        sender: sender.parse().ok()?,
        seq: seq.parse().ok()?,
        latency_us: now.saturating_sub(sent),
        at_us: now,
    })
}

/// FNV-1a, 64-bit: a stable digest (std's hasher is seeded per process).
#[derive(Debug)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_carry_their_sender_sequence_and_age() {
        let arrival = parse_edit("7:42", "1000:xxxx", 1500).unwrap();
        assert_eq!(
            (arrival.sender, arrival.seq, arrival.latency_us),
            (7, 42, 500)
        );
        assert!(parse_edit("nonsense", "1:", 2).is_none());
    }

    #[test]
    fn a_step2_is_recognised_by_its_header() {
        let update = vec![7u8; 300];
        let frame = Message::Sync(SyncMessage::SyncStep2(update)).encode_v1();
        assert_eq!(step2_len(&frame), Some(300));
        assert_eq!(step2_len(&frame[..frame.len() - 1]), None);
        let update = Message::Sync(SyncMessage::Update(vec![1, 2])).encode_v1();
        assert_eq!(step2_len(&update), None);
    }

    #[test]
    fn urls_become_websocket_urls() {
        assert_eq!(
            sync_url("http://127.0.0.1:8080/", "bench-0", "t", true),
            "ws://127.0.0.1:8080/sync/bench-0?token=t&durable=1"
        );
    }

    #[test]
    fn a_remote_edit_is_an_arrival_and_a_local_one_is_not() {
        let a = Doc::new();
        let b = Doc::new();
        let map_a = a.get_or_insert_map("edits");
        let map_b = b.get_or_insert_map("edits");
        let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let seen = arrivals.clone();
        map_b.observe("t", move |txn, event| {
            if txn.origin().is_none() {
                return;
            }
            for (key, change) in event.keys(txn) {
                if let EntryChange::Inserted(Out::Any(Any::String(value))) = change {
                    seen.lock()
                        .unwrap()
                        .extend(parse_edit(key, value, u64::MAX));
                }
            }
        });
        map_b.insert(&mut b.transact_mut(), "9:0", "0:local");
        let update = {
            let mut txn = a.transact_mut();
            map_a.insert(&mut txn, "3:1", "5:x");
            txn.encode_update_v1()
        };
        b.transact_mut_with("server")
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
        let seen = arrivals.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].sender, seen[0].seq), (3, 1));
    }
}
