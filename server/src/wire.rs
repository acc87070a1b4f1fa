//! The WebSocket wire of sync connections (RFC 6455, the server's side),
//! written on the TCP socket itself.
//!
//! Why not a WebSocket library: every update goes to every other client of
//! its document, and through a library each delivery is a message queued
//! for the client's own task, which wakes, frames it and writes it. With 50
//! clients that is 49 wake-ups (and thread hand-offs) per update, and they
//! were most of the server's CPU (BENCHMARKS.md, "Against other Yjs
//! servers"). Here a message is framed once ([`Frame`]: a server's frames
//! are not masked, so every client gets the same bytes) and written by
//! whoever sends it, straight into each socket without waiting
//! ([`Outbox::send`]). Only what a socket cannot take now is queued, in
//! order, for the connection's writer ([`Outbox::write_queued`]) to send as
//! the client reads. A client with [`Outbox`]'s limit of messages waiting is
//! too slow: the sender is told, and the client is disconnected to resync,
//! never silently skipped.
//!
//! Reading ([`Reader`]) takes the client's frames (masked, as RFC 6455
//! requires of clients), answers pings and a close, joins fragments, and
//! refuses what breaks the protocol (closing with 1002) or the size limit.
//! A large message to a client goes out in [`FRAGMENT_BYTES`] frames that
//! share the message's bytes: nothing is copied whole, and no buffer the
//! size of the largest message is kept per connection.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;
use plait_shared::protocol::close;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Notify;

use crate::guard::lock;

/// A frame from the client, as the transport hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A binary message (y-protocols).
    Binary(Bytes),
    /// A text message (which the protocol does not use).
    Text,
    /// A ping or pong (answered by the transport).
    Control,
    /// The client closed the connection.
    Closed,
    /// A message over the size limit.
    TooBig,
    /// The connection failed, in the transport's words.
    Failed(String),
}

/// A frame to the client, as tests read them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A binary message (y-protocols).
    Binary(Bytes),
    /// Closing, with a code of [`plait_shared::protocol::close`] and why.
    Close {
        /// The close code.
        code: u16,
        /// Why, in words.
        reason: String,
    },
}

/// The largest frame sent: longer messages go out in fragments this size.
pub const FRAGMENT_BYTES: usize = 64 * 1024;

/// A connection's read buffer to begin with; it grows for a large message
/// and is given back after it.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Messages up to this size are framed as one piece of memory (one copy,
/// one slice to write); larger ones keep their bytes and add a header.
const CONTIGUOUS_BYTES: usize = 4 * 1024;

/// The most slices handed to one `writev`.
const MAX_SLICES: usize = 64;

const OP_CONTINUE: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// A message as the bytes on the wire: one or more frames (headers and
/// payloads), shared by every client it goes to; or several messages one
/// after another ([`Frame::all`]), written together.
#[derive(Debug, Clone)]
pub struct Frame {
    parts: Vec<Bytes>,
    len: usize,
    /// The parts that end a message, in order, when it holds several
    /// ([`Frame::all`]); empty (no allocation) for one message, which ends
    /// with the last part.
    ends: Vec<usize>,
}

/// A frame's header: FIN, the opcode, and the length (a server's frames
/// carry no mask).
fn header(fin: bool, opcode: u8, len: usize) -> ([u8; 10], usize) {
    let mut h = [0u8; 10];
    h[0] = (if fin { 0x80 } else { 0 }) | opcode;
    let n = if len < 126 {
        h[1] = len as u8;
        2
    } else if let Ok(short) = u16::try_from(len) {
        h[1] = 126;
        h[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (h, n)
}

impl Frame {
    /// A binary message, in fragments of at most [`FRAGMENT_BYTES`] when
    /// longer.
    pub fn binary(message: &Bytes) -> Frame {
        if message.len() <= CONTIGUOUS_BYTES {
            return Frame::whole(OP_BINARY, message);
        }
        let mut parts = Vec::with_capacity(2 * message.len().div_ceil(FRAGMENT_BYTES));
        let mut start = 0;
        while start < message.len() {
            let end = (start + FRAGMENT_BYTES).min(message.len());
            let opcode = if start == 0 { OP_BINARY } else { OP_CONTINUE };
            let (h, n) = header(end == message.len(), opcode, end - start);
            parts.push(Bytes::copy_from_slice(&h[..n]));
            parts.push(message.slice(start..end));
            start = end;
        }
        Frame::of(parts)
    }

    /// A close frame with `code` and `reason` (cut to the 123 bytes a
    /// control frame has room for, at a character's edge).
    pub fn close(code: u16, reason: &str) -> Frame {
        let mut cut = reason.len().min(123);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut payload = Vec::with_capacity(2 + cut);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&reason.as_bytes()[..cut]);
        Frame::whole(OP_CLOSE, &payload)
    }

    /// A close frame with no code (the answer to a client's close without one).
    fn close_empty() -> Frame {
        Frame::whole(OP_CLOSE, &[])
    }

    /// A single frame, header and payload in one piece of memory.
    fn whole(opcode: u8, payload: &[u8]) -> Frame {
        let (h, n) = header(true, opcode, payload.len());
        let mut bytes = BytesMut::with_capacity(n + payload.len());
        bytes.extend_from_slice(&h[..n]);
        bytes.extend_from_slice(payload);
        Frame::of(vec![bytes.freeze()])
    }

    /// Several messages one after another, written together (each counts
    /// against a client's limit, see [`Outbox::send`]).
    pub fn all(frames: impl Iterator<Item = Frame>) -> Frame {
        let mut all = Frame {
            parts: Vec::new(),
            len: 0,
            ends: Vec::new(),
        };
        for frame in frames {
            let at = all.parts.len();
            all.ends.extend(frame.message_ends().map(|end| at + end));
            all.parts.extend(frame.parts);
            all.len += frame.len;
        }
        all
    }

    fn of(parts: Vec<Bytes>) -> Frame {
        let len = parts.iter().map(Bytes::len).sum();
        Frame {
            parts,
            len,
            ends: Vec::new(),
        }
    }

    /// How many messages it holds.
    pub fn messages(&self) -> usize {
        self.ends.len().max(1)
    }

    /// The parts that end a message, in order.
    fn message_ends(&self) -> impl Iterator<Item = usize> + '_ {
        let one = self
            .ends
            .is_empty()
            .then(|| self.parts.len().saturating_sub(1));
        one.into_iter().chain(self.ends.iter().copied())
    }

    /// Its length on the wire.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: every frame has a header).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Where an outbox writes: a socket's sending half.
pub trait Target: Send + Sync + 'static {
    /// Writes what the socket takes now, without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when it takes nothing now; any other error ends the
    /// connection.
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Waits until the socket may take more.
    fn writable(&self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>>;
}

impl Target for tokio::net::tcp::OwnedWriteHalf {
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        tokio::net::tcp::OwnedWriteHalf::try_write_vectored(self, bufs)
    }

    fn writable(&self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
        Box::pin(tokio::net::tcp::OwnedWriteHalf::writable(self))
    }
}

/// What became of a message handed to [`Outbox::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Written, or queued in order behind what is waiting.
    Sent,
    /// The client has the limit of messages waiting: it is too slow.
    /// Nothing was queued.
    Full,
    /// The connection is closing or broken.
    Closed,
}

/// A piece of a queued message.
#[derive(Debug)]
struct Chunk {
    bytes: Bytes,
    /// Whether it ends a message.
    last: bool,
}

#[derive(Debug, Default)]
struct Queue {
    chunks: VecDeque<Chunk>,
    /// Messages not yet wholly written.
    messages: usize,
    /// Some of the first queued message is on the wire already.
    started: bool,
    /// A close frame is queued (or the connection ended): nothing more is
    /// accepted.
    closing: bool,
    /// The socket failed: nothing more is written.
    broken: bool,
}

impl Queue {
    /// Queues `frame` from byte `skip` on (what was written already): each
    /// of its messages not wholly written counts as one waiting.
    fn push(&mut self, frame: &Frame, mut skip: usize) {
        let first = self.chunks.is_empty();
        // Some of the message at hand was written already.
        let mut begun = false;
        let mut ends = frame.message_ends().peekable();
        for (i, part) in frame.parts.iter().enumerate() {
            let last = ends.next_if_eq(&i).is_some();
            if skip >= part.len() {
                skip -= part.len();
                begun = !last;
                continue;
            }
            if first && self.chunks.is_empty() {
                self.started = begun || skip > 0;
            }
            self.chunks.push_back(Chunk {
                bytes: part.slice(skip..),
                last,
            });
            if last {
                self.messages += 1;
            }
            skip = 0;
        }
    }

    /// Writes what the socket takes now, oldest first.
    fn write(&mut self, target: &dyn Target) -> io::Result<()> {
        while !self.chunks.is_empty() {
            let slices: Vec<IoSlice<'_>> = self
                .chunks
                .iter()
                .take(MAX_SLICES)
                .map(|c| IoSlice::new(&c.bytes))
                .collect();
            let mut written = match target.try_write_vectored(&slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            drop(slices);
            while written > 0 {
                let Some(front) = self.chunks.front_mut() else {
                    break;
                };
                if written < front.bytes.len() {
                    front.bytes.advance(written);
                    self.started = true;
                    break;
                }
                written -= front.bytes.len();
                // A message is begun once any of its bytes are out, even
                // when a write ends exactly between two of its pieces.
                if front.last {
                    self.messages -= 1;
                    self.started = false;
                } else {
                    self.started = true;
                }
                self.chunks.pop_front();
            }
        }
        Ok(())
    }

    /// Drops every queued message not yet begun.
    fn discard_unstarted(&mut self) {
        if !self.started {
            self.chunks.clear();
            self.messages = 0;
            return;
        }
        if let Some(end) = self.chunks.iter().position(|c| c.last) {
            self.chunks.truncate(end + 1);
            self.messages = 1;
        }
    }
}

/// Writes `frame` to `target` now, as far as it takes it: the bytes written.
fn write_now(target: &dyn Target, frame: &Frame) -> io::Result<usize> {
    let mut done = 0;
    loop {
        // The parts from `done` on, at most MAX_SLICES of them.
        let mut skip = done;
        let mut slices = Vec::with_capacity(frame.parts.len().min(MAX_SLICES));
        for part in &frame.parts {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            slices.push(IoSlice::new(&part[skip..]));
            skip = 0;
            if slices.len() == MAX_SLICES {
                break;
            }
        }
        if slices.is_empty() {
            return Ok(done);
        }
        match target.try_write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(done),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A connection's way out: messages are written at once when the socket
/// takes them, and queued in order when it does not.
pub struct Outbox {
    target: Box<dyn Target>,
    queue: Mutex<Queue>,
    /// Told when bytes are queued, or the outbox closes.
    queued: Notify,
    /// Told when the queue empties (or the socket fails).
    emptied: Notify,
    /// Messages waiting before the client counts as too slow.
    limit: usize,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("queue", &*lock(&self.queue))
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// An outbox writing to `target`; a client with `limit` messages
    /// waiting is too slow.
    pub fn new(target: impl Target, limit: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            target: Box::new(target),
            queue: Mutex::new(Queue::default()),
            queued: Notify::new(),
            emptied: Notify::new(),
            limit: limit.max(1),
        })
    }

    /// Sends a broadcast: written now if the socket takes it, else queued
    /// behind what waits; [`Sent::Full`] (nothing queued) when the client
    /// has the limit of messages waiting.
    pub fn send(&self, frame: &Frame) -> Sent {
        self.push(frame, true)
    }

    /// Sends the connection's own answer (a sync step 2, an
    /// acknowledgement): as [`Outbox::send`] without the limit. The
    /// connection stops reading the client while its answers wait (see
    /// [`Outbox::backlog`]).
    pub fn send_own(&self, frame: &Frame) -> Sent {
        self.push(frame, false)
    }

    fn push(&self, frame: &Frame, bounded: bool) -> Sent {
        let mut queue = lock(&self.queue);
        self.push_locked(&mut queue, frame, bounded)
    }

    fn push_locked(&self, queue: &mut Queue, frame: &Frame, bounded: bool) -> Sent {
        if queue.closing || queue.broken {
            return Sent::Closed;
        }
        if queue.chunks.is_empty() {
            match write_now(&*self.target, frame) {
                Ok(n) if n == frame.len() => return Sent::Sent,
                Ok(n) => {
                    queue.push(frame, n);
                    self.queued.notify_one();
                    return Sent::Sent;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "writing to a client failed");
                    self.broke(queue);
                    return Sent::Closed;
                }
            }
        }
        // Over the limit with all its messages (a frame of several, see
        // `Frame::all`, may begin an empty queue whatever their number).
        if bounded && queue.messages + frame.messages() > self.limit {
            return Sent::Full;
        }
        queue.push(frame, 0);
        Sent::Sent
    }

    fn broke(&self, queue: &mut Queue) {
        queue.broken = true;
        queue.chunks.clear();
        queue.messages = 0;
        self.queued.notify_one();
        self.emptied.notify_waiters();
    }

    /// Messages waiting for the client to read.
    pub fn backlog(&self) -> usize {
        lock(&self.queue).messages
    }

    /// The limit of waiting messages.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Closes with `code` and `reason`: the close frame goes after what is
    /// queued, or (`discard`, for a client too slow to keep up) after only
    /// the message being written; nothing is accepted after it.
    pub fn close(&self, code: u16, reason: &str, discard: bool) {
        self.close_with(&Frame::close(code, reason), discard);
    }

    fn close_with(&self, frame: &Frame, discard: bool) {
        let mut queue = lock(&self.queue);
        if queue.closing || queue.broken {
            return;
        }
        if discard {
            queue.discard_unstarted();
        }
        let _ = self.push_locked(&mut queue, frame, false);
        queue.closing = true;
        self.queued.notify_one();
    }

    /// Accepts nothing more (the connection has ended); what is queued is
    /// still written.
    pub fn finish(&self) {
        lock(&self.queue).closing = true;
        self.queued.notify_one();
    }

    /// Waits until nothing is queued (or the socket has failed).
    pub async fn drained(&self) {
        loop {
            let emptied = self.emptied.notified();
            let mut emptied = std::pin::pin!(emptied);
            emptied.as_mut().enable();
            {
                let queue = lock(&self.queue);
                if queue.chunks.is_empty() || queue.broken {
                    return;
                }
            }
            emptied.await;
        }
    }

    /// The connection's writer: sends what was queued as the socket takes
    /// it, until the outbox is finished and empty or the socket fails.
    pub async fn write_queued(self: Arc<Self>) {
        loop {
            // Wait for something queued.
            loop {
                let queued = self.queued.notified();
                {
                    let queue = lock(&self.queue);
                    if queue.broken {
                        return;
                    }
                    if !queue.chunks.is_empty() {
                        break;
                    }
                    if queue.closing {
                        return;
                    }
                }
                queued.await;
            }
            if let Err(e) = self.target.writable().await {
                tracing::debug!(error = %e, "a client's socket failed");
                self.broke(&mut lock(&self.queue));
                return;
            }
            let mut queue = lock(&self.queue);
            if let Err(e) = queue.write(&*self.target) {
                tracing::debug!(error = %e, "writing to a client failed");
                self.broke(&mut queue);
                return;
            }
            if queue.chunks.is_empty() {
                self.emptied.notify_waiters();
            }
        }
    }
}

/// Why a frame cannot be read.
#[derive(Debug, PartialEq, Eq)]
enum WireError {
    /// It breaks the protocol (in words).
    Protocol(&'static str),
    /// A frame or message over the limit.
    TooBig,
}

/// A frame as read (its payload unmasked).
#[derive(Debug)]
struct RawFrame {
    fin: bool,
    opcode: u8,
    payload: BytesMut,
}

/// Takes one whole frame off the front of `buf`, if it holds one.
fn parse(buf: &mut BytesMut, max: usize) -> Result<Option<RawFrame>, WireError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(WireError::Protocol("reserved bits set"));
    }
    if b1 & 0x80 == 0 {
        return Err(WireError::Protocol("a client's frames must be masked"));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    let (len, at) = match b1 & 0x7F {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let mut eight = [0u8; 8];
            eight.copy_from_slice(&buf[2..10]);
            let len = u64::from_be_bytes(eight);
            if len >> 63 != 0 {
                return Err(WireError::Protocol("a frame length with its top bit set"));
            }
            (len, 10)
        }
        short => (u64::from(short), 2),
    };
    if opcode >= OP_CLOSE {
        if !fin {
            return Err(WireError::Protocol("a fragmented control frame"));
        }
        if len > 125 {
            return Err(WireError::Protocol("a control frame over 125 bytes"));
        }
    }
    if len > max as u64 {
        return Err(WireError::TooBig);
    }
    let len = len as usize;
    let total = at + 4 + len;
    if buf.len() < total {
        // Room for the rest, a step at a time (a frame's length is only a
        // claim until its bytes arrive).
        buf.reserve((total - buf.len()).min(1 << 20));
        return Ok(None);
    }
    let mask = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
    buf.advance(at + 4);
    let mut payload = buf.split_to(len);
    unmask(&mut payload, mask);
    Ok(Some(RawFrame {
        fin,
        opcode,
        payload,
    }))
}

/// XORs `data` with the frame's mask, eight bytes at a time.
fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(eight) ^ wide).to_ne_bytes());
    }
    // The remainder starts at a multiple of eight, so of four.
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// A message being received in fragments.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: BytesMut,
}

/// A connection's way in: the client's messages, one at a time.
#[derive(Debug)]
pub struct Reader<R> {
    io: R,
    buf: BytesMut,
    max: usize,
    message: Option<Partial>,
    outbox: Arc<Outbox>,
    done: bool,
}

impl<R: AsyncRead + Unpin + Send + 'static> Reader<R> {
    /// Reads from `io`, starting with `already` (bytes read with the HTTP
    /// request); messages and frames over `max` bytes are refused; pings
    /// and a close are answered through `outbox`.
    pub fn new(io: R, already: Bytes, max: usize, outbox: Arc<Outbox>) -> Reader<R> {
        let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES.max(already.len()));
        buf.extend_from_slice(&already);
        Reader {
            io,
            buf,
            max,
            message: None,
            outbox,
            done: false,
        }
    }

    /// The next message, or how the connection ended (after which there
    /// is nothing more).
    pub async fn next(&mut self) -> Option<Incoming> {
        if self.done {
            return None;
        }
        loop {
            match parse(&mut self.buf, self.max) {
                // A fragment taken: the next frame may be here already.
                Ok(Some(frame)) => match self.take(frame) {
                    Ok(Some(incoming)) => {
                        if self.buf.is_empty() && self.buf.capacity() > 16 * READ_BUFFER_BYTES {
                            // Give back what a large message needed.
                            self.buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
                        }
                        return Some(incoming);
                    }
                    Ok(None) => continue,
                    Err(e) => return Some(self.fail(e)),
                },
                Ok(None) => {}
                Err(e) => return Some(self.fail(e)),
            }
            if self.buf.capacity() - self.buf.len() < READ_BUFFER_BYTES / 4 {
                self.buf.reserve(READ_BUFFER_BYTES);
            }
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) => {
                    self.done = true;
                    return Some(Incoming::Closed);
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Incoming::Failed(e.to_string()));
                }
            }
        }
    }

    /// The end of a connection whose frame broke the protocol (closed with
    /// 1002) or the size limit (closed by the connection, with 1009).
    fn fail(&mut self, error: WireError) -> Incoming {
        self.done = true;
        match error {
            WireError::TooBig => Incoming::TooBig,
            WireError::Protocol(why) => {
                self.outbox.close(close::PROTOCOL_ERROR, why, false);
                Incoming::Failed(why.to_owned())
            }
        }
    }

    /// What a frame means for the connection: a message, or nothing yet
    /// (a fragment, a pong).
    fn take(&mut self, frame: RawFrame) -> Result<Option<Incoming>, WireError> {
        match frame.opcode {
            OP_TEXT | OP_BINARY => {
                if self.message.is_some() {
                    return Err(WireError::Protocol(
                        "a new message began before the last one ended",
                    ));
                }
                let text = frame.opcode == OP_TEXT;
                if frame.fin {
                    return Ok(Some(message(text, frame.payload)));
                }
                self.message = Some(Partial {
                    text,
                    data: frame.payload,
                });
                Ok(None)
            }
            OP_CONTINUE => {
                let Some(partial) = self.message.as_mut() else {
                    return Err(WireError::Protocol("a continuation of no message"));
                };
                if partial.data.len() + frame.payload.len() > self.max {
                    return Err(WireError::TooBig);
                }
                partial.data.extend_from_slice(&frame.payload);
                if !frame.fin {
                    return Ok(None);
                }
                let Some(Partial { text, data }) = self.message.take() else {
                    return Ok(None);
                };
                Ok(Some(message(text, data)))
            }
            OP_CLOSE => {
                // Answered with the client's own code, then nothing more.
                let answer = match frame.payload.get(..2) {
                    Some(code) => Frame::close(u16::from_be_bytes([code[0], code[1]]), ""),
                    None => Frame::close_empty(),
                };
                self.outbox.close_with(&answer, false);
                self.done = true;
                Ok(Some(Incoming::Closed))
            }
            OP_PING => {
                let _ = self.outbox.send_own(&Frame::whole(OP_PONG, &frame.payload));
                Ok(Some(Incoming::Control))
            }
            OP_PONG => Ok(Some(Incoming::Control)),
            _ => Err(WireError::Protocol("an unknown opcode")),
        }
    }

    /// The messages as a stream (it ends after the connection does).
    pub fn into_stream(self) -> impl Stream<Item = Incoming> + Send + Unpin + 'static {
        Box::pin(futures_util::stream::unfold(
            self,
            |mut reader| async move { reader.next().await.map(|incoming| (incoming, reader)) },
        ))
    }
}

fn message(text: bool, data: BytesMut) -> Incoming {
    if text {
        Incoming::Text
    } else {
        Incoming::Binary(data.freeze())
    }
}

/// A client's frame, masked as a client must (for tests).
#[cfg(test)]
pub(crate) fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let (h, n) = header(fin, opcode, payload.len());
    let mut out = h[..n].to_vec();
    out[1] |= 0x80;
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

#[cfg(test)]
pub(crate) mod testing {
    //! An outbox writing into memory, and the server's frames read back.

    use super::*;

    /// A target that takes everything, or nothing while `blocked`.
    #[derive(Debug, Default)]
    pub(crate) struct Memory {
        pub(crate) written: Mutex<Vec<u8>>,
        pub(crate) blocked: std::sync::atomic::AtomicBool,
        pub(crate) opened: Notify,
        /// How many writes took something.
        pub(crate) writes: std::sync::atomic::AtomicUsize,
    }

    impl Target for Arc<Memory> {
        fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.blocked.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut written = lock(&self.written);
            let mut n = 0;
            for buf in bufs {
                written.extend_from_slice(buf);
                n += buf.len();
            }
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(n)
        }

        fn writable(&self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
            Box::pin(async move {
                while self.blocked.load(std::sync::atomic::Ordering::SeqCst) {
                    self.opened.notified().await;
                }
                Ok(())
            })
        }
    }

    impl Memory {
        /// Takes the whole frames written so far, as the connection's
        /// frame types (fragments joined).
        pub(crate) fn take(&self) -> Vec<Outgoing> {
            let mut written = lock(&self.written);
            let mut out = Vec::new();
            let mut at = 0;
            let mut joined: Option<Vec<u8>> = None;
            while let Some((fin, opcode, payload, used)) = server_frame(&written[at..]) {
                at += used;
                match opcode {
                    OP_BINARY | OP_CONTINUE => {
                        let mut data = joined.take().unwrap_or_default();
                        data.extend_from_slice(payload);
                        if fin {
                            out.push(Outgoing::Binary(data.into()));
                        } else {
                            joined = Some(data);
                        }
                    }
                    OP_CLOSE => out.push(Outgoing::Close {
                        code: payload
                            .get(..2)
                            .map_or(0, |c| u16::from_be_bytes([c[0], c[1]])),
                        reason: String::from_utf8_lossy(payload.get(2..).unwrap_or_default())
                            .into_owned(),
                    }),
                    _ => {}
                }
            }
            written.drain(..at);
            out
        }
    }

    /// One unmasked frame at the front of `bytes`: FIN, opcode, payload
    /// and the bytes it takes.
    fn server_frame(bytes: &[u8]) -> Option<(bool, u8, &[u8], usize)> {
        if bytes.len() < 2 {
            return None;
        }
        assert_eq!(bytes[1] & 0x80, 0, "a server's frames are not masked");
        let (len, at) = match bytes[1] & 0x7F {
            126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 => {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(bytes.get(2..10)?);
                (usize::try_from(u64::from_be_bytes(eight)).ok()?, 10)
            }
            short => (usize::from(short), 2),
        };
        let payload = bytes.get(at..at + len)?;
        Some((bytes[0] & 0x80 != 0, bytes[0] & 0x0F, payload, at + len))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::testing::Memory;
    use super::*;

    /// Takes `room` bytes, then nothing.
    struct Narrow(Mutex<(usize, Vec<u8>)>);
    impl Target for Arc<Narrow> {
        fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut held = lock(&self.0);
            let mut n = 0;
            for buf in bufs {
                let take = buf.len().min(held.0);
                held.1.extend_from_slice(&buf[..take]);
                held.0 -= take;
                n += take;
            }
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        }
        fn writable(&self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn outbox(limit: usize) -> (Arc<Memory>, Arc<Outbox>) {
        let memory = Arc::new(Memory::default());
        (memory.clone(), Outbox::new(memory, limit))
    }

    #[test]
    fn headers_carry_each_length_form() {
        for len in [0usize, 125, 126, 65_535, 65_536, 1 << 20] {
            let (h, n) = header(true, OP_BINARY, len);
            assert_eq!(h[0], 0x82);
            let (got, at) = match h[1] {
                126 => (usize::from(u16::from_be_bytes([h[2], h[3]])), 4),
                127 => {
                    let mut eight = [0u8; 8];
                    eight.copy_from_slice(&h[2..10]);
                    (u64::from_be_bytes(eight) as usize, 10)
                }
                short => (usize::from(short), 2),
            };
            assert_eq!((got, at), (len, n), "length {len}");
        }
    }

    #[test]
    fn a_large_message_goes_out_in_fragments_that_share_its_bytes() {
        let payload: Bytes = (0..FRAGMENT_BYTES * 3 + 17)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into();
        let frame = Frame::binary(&payload);
        assert_eq!(frame.parts.len(), 8, "four headers, four slices");
        // The payload slices are the message's own memory, not copies.
        assert_eq!(frame.parts[1].as_ptr(), payload.as_ptr());
        let (memory, outbox) = outbox(8);
        assert_eq!(outbox.send(&frame), Sent::Sent);
        assert_eq!(memory.take(), vec![Outgoing::Binary(payload)]);
    }

    #[tokio::test]
    async fn what_the_socket_will_not_take_waits_in_order_and_a_slow_client_is_told() {
        let (memory, outbox) = outbox(3);
        let writer = tokio::spawn(outbox.clone().write_queued());
        memory.blocked.store(true, Ordering::SeqCst);
        let messages: Vec<Bytes> = (0..4u8).map(|i| Bytes::from(vec![i; 10])).collect();
        for m in &messages[..3] {
            assert_eq!(outbox.send(&Frame::binary(m)), Sent::Sent);
        }
        assert_eq!(outbox.backlog(), 3);
        assert_eq!(outbox.send(&Frame::binary(&messages[3])), Sent::Full);
        // The connection's own answers are not refused.
        assert_eq!(outbox.send_own(&Frame::binary(&messages[3])), Sent::Sent);
        memory.blocked.store(false, Ordering::SeqCst);
        memory.opened.notify_one();
        outbox.drained().await;
        let got = memory.take();
        let want: Vec<Outgoing> = messages.iter().cloned().map(Outgoing::Binary).collect();
        assert_eq!(got, want);
        outbox.finish();
        writer.await.unwrap();
    }

    #[test]
    fn a_client_too_slow_is_closed_after_the_message_begun_only() {
        let (memory, outbox) = outbox(8);
        memory.blocked.store(true, Ordering::SeqCst);
        outbox.send(&Frame::binary(&Bytes::from_static(b"one")));
        outbox.send(&Frame::binary(&Bytes::from_static(b"two")));
        outbox.close(close::TRY_AGAIN_LATER, "fell behind", true);
        assert_eq!(
            outbox.send(&Frame::binary(&Bytes::from_static(b"three"))),
            Sent::Closed
        );
        memory.blocked.store(false, Ordering::SeqCst);
        lock(&outbox.queue).write(&memory).unwrap();
        assert_eq!(
            memory.take(),
            vec![Outgoing::Close {
                code: close::TRY_AGAIN_LATER,
                reason: "fell behind".into()
            }]
        );
    }

    /// Sends `frames` into a socket that takes `room` bytes and then nothing,
    /// closes as for a client too slow to keep up, and lets the socket take
    /// the rest: the messages waiting before the close, and what the client
    /// got in all.
    fn closed_as_too_slow(room: usize, frames: &[Frame]) -> (usize, Vec<Outgoing>) {
        let narrow = Arc::new(Narrow(Mutex::new((room, Vec::new()))));
        let outbox = Outbox::new(narrow.clone(), 8);
        for frame in frames {
            assert_eq!(outbox.send(frame), Sent::Sent);
        }
        let waiting = outbox.backlog();
        outbox.close(close::TRY_AGAIN_LATER, "", true);
        lock(&narrow.0).0 = usize::MAX;
        lock(&outbox.queue).write(&narrow).unwrap();
        let memory = Memory::default();
        *lock(&memory.written) = lock(&narrow.0).1.clone();
        (waiting, memory.take())
    }

    #[test]
    fn a_message_half_written_is_finished_before_the_close() {
        let frames = [
            Frame::binary(&Bytes::from_static(b"begun message")),
            Frame::binary(&Bytes::from_static(b"not begun")),
        ];
        assert_eq!(
            closed_as_too_slow(5, &frames).1,
            vec![
                Outgoing::Binary(Bytes::from_static(b"begun message")),
                Outgoing::Close {
                    code: close::TRY_AGAIN_LATER,
                    reason: String::new()
                }
            ]
        );
    }

    #[test]
    fn messages_written_together_each_count_against_the_limit() {
        let three = || {
            Frame::all(
                [&b"first"[..], b"second", b"third"]
                    .into_iter()
                    .map(|m| Frame::binary(&Bytes::copy_from_slice(m))),
            )
        };
        assert_eq!(three().messages(), 3);
        // Nothing taken: all three wait; with a limit of six, three more
        // fit, and then not even one.
        let (memory, outbox) = outbox(6);
        memory.blocked.store(true, Ordering::SeqCst);
        assert_eq!(outbox.send(&three()), Sent::Sent);
        assert_eq!(outbox.backlog(), 3);
        assert_eq!(outbox.send(&three()), Sent::Sent);
        assert_eq!(outbox.backlog(), 6);
        assert_eq!(outbox.send(&three()), Sent::Full);
        assert_eq!(
            outbox.send(&Frame::binary(&Bytes::from_static(b"one"))),
            Sent::Full
        );
        memory.blocked.store(false, Ordering::SeqCst);
        lock(&outbox.queue).write(&memory).unwrap();
        assert_eq!(outbox.backlog(), 0);
        let names: Vec<Outgoing> = memory.take();
        assert_eq!(names.len(), 6);
        assert_eq!(names[3], Outgoing::Binary(Bytes::from_static(b"first")));

        // Written up to the middle of the second: it and the third wait, the
        // second begun (a close for a slow client keeps it, drops the third).
        assert_eq!(
            closed_as_too_slow(2 + 5 + 3, &[three()]),
            (
                2,
                vec![
                    Outgoing::Binary(Bytes::from_static(b"first")),
                    Outgoing::Binary(Bytes::from_static(b"second")),
                    Outgoing::Close {
                        code: close::TRY_AGAIN_LATER,
                        reason: String::new()
                    }
                ]
            )
        );

        // Written exactly to the end of the first: the second is not begun.
        assert_eq!(
            closed_as_too_slow(2 + 5, &[three()]),
            (
                2,
                vec![
                    Outgoing::Binary(Bytes::from_static(b"first")),
                    Outgoing::Close {
                        code: close::TRY_AGAIN_LATER,
                        reason: String::new()
                    }
                ]
            )
        );
    }

    #[test]
    fn a_write_ending_between_a_messages_pieces_still_counts_it_begun() {
        let large = Bytes::from(vec![5u8; CONTIGUOUS_BYTES + 100]);
        let frame = Frame::binary(&large);
        // The socket takes exactly the header, then nothing.
        let exact = Arc::new(Narrow(Mutex::new((frame.parts[0].len(), Vec::new()))));
        let outbox = Outbox::new(exact.clone(), 8);
        outbox.send(&frame);
        outbox.close(close::TRY_AGAIN_LATER, "", true);
        lock(&exact.0).0 = usize::MAX;
        lock(&outbox.queue).write(&exact).unwrap();
        let memory = Memory::default();
        *lock(&memory.written) = lock(&exact.0).1.clone();
        assert_eq!(
            memory.take(),
            vec![
                Outgoing::Binary(large),
                Outgoing::Close {
                    code: close::TRY_AGAIN_LATER,
                    reason: String::new()
                }
            ]
        );
    }

    fn reader(input: Vec<u8>, max: usize) -> (Arc<Memory>, Reader<std::io::Cursor<Vec<u8>>>) {
        let (memory, outbox) = outbox(8);
        (
            memory,
            Reader::new(std::io::Cursor::new(input), Bytes::new(), max, outbox),
        )
    }

    #[tokio::test]
    async fn frames_are_read_joined_and_answered() {
        let mut input = client_frame(true, OP_BINARY, b"whole");
        input.extend(client_frame(false, OP_BINARY, b"in "));
        input.extend(client_frame(true, OP_PING, b"are you there"));
        input.extend(client_frame(false, OP_CONTINUE, b"three "));
        input.extend(client_frame(true, OP_CONTINUE, b"parts"));
        let big = vec![9u8; 70_000];
        input.extend(client_frame(true, OP_BINARY, &big));
        input.extend(client_frame(true, OP_TEXT, b"text"));
        input.extend(client_frame(true, OP_CLOSE, &4401u16.to_be_bytes()));
        input.extend(client_frame(true, OP_BINARY, b"after the close"));
        // Handed over with the HTTP request: the first bytes.
        let (first, rest) = input.split_at(3);
        let (memory, outbox) = outbox(8);
        let mut reader = Reader::new(
            std::io::Cursor::new(rest.to_vec()),
            Bytes::copy_from_slice(first),
            1 << 20,
            outbox,
        );
        assert_eq!(
            reader.next().await,
            Some(Incoming::Binary(Bytes::from_static(b"whole")))
        );
        assert_eq!(reader.next().await, Some(Incoming::Control));
        assert_eq!(
            reader.next().await,
            Some(Incoming::Binary(Bytes::from_static(b"in three parts")))
        );
        assert_eq!(reader.next().await, Some(Incoming::Binary(big.into())));
        assert_eq!(reader.next().await, Some(Incoming::Text));
        assert_eq!(reader.next().await, Some(Incoming::Closed));
        assert_eq!(reader.next().await, None, "nothing after a close");
        let written = memory.take();
        assert_eq!(written.len(), 1, "{written:?}");
        assert_eq!(
            written[0],
            Outgoing::Close {
                code: 4401,
                reason: String::new()
            }
        );
    }

    #[tokio::test]
    async fn a_ping_is_answered_with_its_payload() {
        let (memory, mut reader) = reader(client_frame(true, OP_PING, b"hello"), 1024);
        assert_eq!(reader.next().await, Some(Incoming::Control));
        let written = lock(&memory.written).clone();
        assert_eq!(written, [&[0x8A, 5][..], b"hello"].concat());
    }

    #[tokio::test]
    async fn what_breaks_the_protocol_is_refused_with_1002() {
        let unmasked = {
            let mut f = client_frame(true, OP_BINARY, b"x");
            f[1] &= 0x7F;
            f.drain(2..6);
            // Unmasking undone too: the payload as sent.
            f[2] = b'x';
            f
        };
        let reserved = {
            let mut f = client_frame(true, OP_BINARY, b"x");
            f[0] |= 0x40;
            f
        };
        let cases = [
            unmasked,
            reserved,
            client_frame(true, OP_CONTINUE, b"of nothing"),
            client_frame(false, OP_PING, b"fragmented"),
            client_frame(true, OP_PING, &[0; 126]),
            client_frame(true, 0x3, b"unknown"),
            [
                client_frame(false, OP_BINARY, b"a"),
                client_frame(true, OP_BINARY, b"b"),
            ]
            .concat(),
        ];
        for (i, case) in cases.into_iter().enumerate() {
            let (memory, mut reader) = reader(case, 1024);
            let got = reader.next().await;
            assert!(
                matches!(got, Some(Incoming::Failed(_))),
                "case {i}: {got:?}"
            );
            assert_eq!(reader.next().await, None);
            let written = memory.take();
            assert!(
                matches!(
                    &written[..],
                    [Outgoing::Close {
                        code: close::PROTOCOL_ERROR,
                        ..
                    }]
                ),
                "case {i}: {written:?}"
            );
        }
    }

    #[tokio::test]
    async fn over_the_limit_is_too_big_whole_or_in_fragments() {
        let (_, mut one) = reader(client_frame(true, OP_BINARY, &[1; 2000]), 1000);
        assert_eq!(one.next().await, Some(Incoming::TooBig));
        let parts = [
            client_frame(false, OP_BINARY, &[1; 600]),
            client_frame(true, OP_CONTINUE, &[1; 600]),
        ]
        .concat();
        let (_, mut fragmented) = reader(parts, 1000);
        assert_eq!(fragmented.next().await, Some(Incoming::TooBig));
        // A length claimed but never sent is not allocated whole.
        let mut claim = client_frame(true, OP_BINARY, &[]);
        claim[1] = 0x80 | 127;
        claim.splice(2..2, (900_000_000u64).to_be_bytes());
        let (_, mut liar) = reader(claim, 1 << 30);
        assert_eq!(
            liar.next().await,
            Some(Incoming::Closed),
            "the stream ended"
        );
        assert!(liar.buf.capacity() < 4 << 20);
    }

    #[tokio::test]
    async fn a_closed_socket_ends_the_stream() {
        let (_, mut reader) = reader(Vec::new(), 1024);
        assert_eq!(reader.next().await, Some(Incoming::Closed));
        assert_eq!(reader.next().await, None);
    }

    #[test]
    fn unmasking_matches_the_byte_by_byte_rule() {
        let mask = [1, 2, 3, 250];
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut fast = data.clone();
            unmask(&mut fast, mask);
            let slow: Vec<u8> = data
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(fast, slow, "length {len}");
        }
    }
}
