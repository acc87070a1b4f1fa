//! The WebSocket upgrade of sync connections, over tokio-tungstenite
//! directly rather than axum's `WebSocketUpgrade`, for one reason: a large
//! message (the whole of a 20 MB document, to a client joining it) is sent
//! as a fragmented message of [`FRAGMENT_BYTES`] frames.
//!
//! tungstenite copies each frame it sends into the connection's write
//! buffer, which keeps its largest size for the connection's life. Sent
//! whole, every client that ever received a large document would hold a
//! buffer that size: 150 clients joining a 20 MB document held 3 GB. In
//! fragments the buffer stays small, and the message itself (shared
//! [`Bytes`]) is never copied whole.
//!
//! The connection loop ([`crate::sync::run`]) sees its own frame types
//! ([`Incoming`], [`Outgoing`]), knowing nothing of the WebSocket library;
//! the conversion is here.

use std::future::ready;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{stream, Sink, SinkExt, Stream, StreamExt};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as TsMessage};
use tokio_tungstenite::WebSocketStream;

use crate::sync::{Incoming, Outgoing};

/// The largest frame sent: longer messages go out in fragments this size.
pub(crate) const FRAGMENT_BYTES: usize = 64 * 1024;

/// The initial read buffer of a connection. tungstenite's default (128 KiB)
/// is zero-filled on the first read and kept for the connection's life:
/// 10,000 idle clients would hold 1.3 GB. It still grows for a large
/// message.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Why a request cannot be upgraded (as axum's extractor answers).
#[derive(Debug)]
pub(crate) struct NotUpgradable(StatusCode, &'static str);

impl IntoResponse for NotUpgradable {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// A request to upgrade to a WebSocket (HTTP/1.1).
#[derive(Debug)]
pub(crate) struct Upgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
    max_message_bytes: usize,
}

fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(token))
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = NotUpgradable;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET {
            return Err(NotUpgradable(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request method must be `GET`",
            ));
        }
        if !header_has(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(NotUpgradable(
                StatusCode::BAD_REQUEST,
                "Connection header did not include 'upgrade'",
            ));
        }
        if !header_has(&parts.headers, header::UPGRADE, "websocket") {
            return Err(NotUpgradable(
                StatusCode::BAD_REQUEST,
                "`Upgrade` header did not include 'websocket'",
            ));
        }
        if parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|v| v.as_bytes() != b"13")
        {
            return Err(NotUpgradable(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Version` header did not include '13'",
            ));
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return Err(NotUpgradable(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Key` header missing",
            ));
        };
        let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
            return Err(NotUpgradable(
                StatusCode::UPGRADE_REQUIRED,
                "WebSocket request couldn't be upgraded since no upgrade state was present",
            ));
        };
        Ok(Upgrade {
            key,
            on_upgrade,
            max_message_bytes: 64 << 20,
        })
    }
}

/// What [`Upgrade::on_upgrade`] hands its callback: the connection's halves
/// in the connection loop's frame types.
pub(crate) type Halves = (
    Box<dyn Sink<Outgoing, Error = tungstenite::Error> + Send + Unpin>,
    Box<dyn Stream<Item = Incoming> + Send + Unpin>,
);

impl Upgrade {
    /// The largest message (and frame) accepted.
    pub(crate) fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Answers 101 and, once the connection is upgraded, runs `callback`
    /// on it in a task of its own.
    pub(crate) fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(Halves) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .max_message_size(Some(self.max_message_bytes))
            .max_frame_size(Some(self.max_message_bytes));
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => {
                    tracing::debug!(error = %e, "the WebSocket upgrade failed");
                    return;
                }
            };
            let socket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            callback(split(socket)).await;
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(self.key.as_bytes())) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

/// The halves of a socket, in the connection loop's frame types; large
/// binary messages go out fragmented.
fn split<S>(socket: WebSocketStream<S>) -> Halves
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = socket.split();
    let sink = sink.with_flat_map(|message: Outgoing| {
        stream::iter(
            outgoing(message)
                .into_iter()
                .map(Ok::<_, tungstenite::Error>),
        )
    });
    let stream = stream.filter_map(|item| ready(incoming(item)));
    (Box::new(sink), Box::new(stream))
}

/// A frame as the frames (or single message) tungstenite sends.
fn outgoing(message: Outgoing) -> Vec<TsMessage> {
    match message {
        Outgoing::Binary(bytes) if bytes.len() > FRAGMENT_BYTES => fragments(&bytes),
        Outgoing::Binary(bytes) => vec![TsMessage::Binary(bytes)],
        Outgoing::Close { code, reason } => {
            vec![TsMessage::Close(Some(tungstenite::protocol::CloseFrame {
                code: CloseCode::from(code),
                reason: reason.as_str().into(),
            }))]
        }
    }
}

/// A binary message as a first frame and continuations, none longer than
/// [`FRAGMENT_BYTES`], sharing the message's bytes.
fn fragments(bytes: &Bytes) -> Vec<TsMessage> {
    let mut frames = Vec::with_capacity(bytes.len().div_ceil(FRAGMENT_BYTES));
    let mut start = 0;
    while start < bytes.len() {
        let end = (start + FRAGMENT_BYTES).min(bytes.len());
        let opcode = if start == 0 {
            OpCode::Data(Data::Binary)
        } else {
            OpCode::Data(Data::Continue)
        };
        frames.push(TsMessage::Frame(Frame::message(
            bytes.slice(start..end),
            opcode,
            end == bytes.len(),
        )));
        start = end;
    }
    frames
}

/// A received message, or the connection's failure, in the connection
/// loop's type (`None` for raw frames, which tungstenite never hands to a
/// reader).
fn incoming(item: Result<TsMessage, tungstenite::Error>) -> Option<Incoming> {
    Some(match item {
        Ok(TsMessage::Binary(bytes)) => Incoming::Binary(bytes),
        Ok(TsMessage::Text(_)) => Incoming::Text,
        Ok(TsMessage::Ping(_) | TsMessage::Pong(_)) => Incoming::Control,
        Ok(TsMessage::Close(_)) => Incoming::Closed,
        Ok(TsMessage::Frame(_)) => return None,
        // A message or frame over the size limit.
        Err(tungstenite::Error::Capacity(_)) => Incoming::TooBig,
        Err(e) => Incoming::Failed(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_message_goes_out_in_fragments_that_reassemble() {
        let payload: Bytes = (0..FRAGMENT_BYTES * 3 + 17)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into();
        let frames = outgoing(Outgoing::Binary(payload.clone()));
        assert_eq!(frames.len(), 4);
        let mut joined = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let TsMessage::Frame(frame) = frame else {
                panic!("a raw frame expected");
            };
            let header = frame.header();
            assert_eq!(header.is_final, i == 3);
            let want = if i == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            assert_eq!(header.opcode, want);
            assert!(frame.payload().len() <= FRAGMENT_BYTES);
            joined.extend_from_slice(frame.payload());
        }
        assert_eq!(joined, payload);
        // Small messages go whole.
        let small = outgoing(Outgoing::Binary(Bytes::from_static(b"hi")));
        assert!(matches!(&small[..], [TsMessage::Binary(b)] if &b[..] == b"hi"));
    }

    #[tokio::test]
    async fn fragments_arrive_as_one_message() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let (mut sink, _stream) = split(server);
        let payload: Bytes = vec![7u8; FRAGMENT_BYTES * 5 / 2].into();
        let sent = payload.clone();
        let sending = tokio::spawn(async move {
            sink.send(Outgoing::Binary(sent)).await.unwrap();
            sink.send(Outgoing::Binary(Bytes::from_static(b"next")))
                .await
                .unwrap();
        });
        let (_, mut incoming) = client.split();
        let first = incoming.next().await.unwrap().unwrap();
        assert_eq!(first, TsMessage::Binary(payload));
        let second = incoming.next().await.unwrap().unwrap();
        assert_eq!(second, TsMessage::Binary(Bytes::from_static(b"next")));
        sending.await.unwrap();
    }
}
