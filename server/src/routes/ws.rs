//! The WebSocket upgrade of sync connections. The handshake is answered
//! here; the frames are the wire's ([`crate::wire`]), written on the TCP
//! socket itself: an upgraded connection is downcast to the socket hyper
//! was given, its halves become the connection's [`Outbox`] and
//! [`Reader`].
//!
//! The connection loop ([`crate::sync::run`]) sees its own frame types
//! ([`Incoming`]) and the outbox, knowing nothing of HTTP.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::wire::{Incoming, Outbox, Reader};

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
    client_queue: usize,
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
            client_queue: crate::RegistrySettings::CLIENT_QUEUE,
        })
    }
}

/// What [`Upgrade::on_upgrade`] hands its callback: the connection's way
/// out and its messages in.
pub(crate) type Halves = (Arc<Outbox>, Box<dyn Stream<Item = Incoming> + Send + Unpin>);

/// How long a closing connection's last messages (its close frame) may
/// take to go out before the socket is dropped.
const CLOSING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Upgrade {
    /// The largest message (and frame) accepted.
    pub(crate) fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Messages waiting for a client before it counts as too slow.
    pub(crate) fn client_queue(mut self, messages: usize) -> Self {
        self.client_queue = messages;
        self
    }

    /// Answers 101 and, once the connection is upgraded, runs `callback`
    /// on it in a task of its own (with the connection's writer beside it).
    pub(crate) fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(Halves) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        let (max, queue) = (self.max_message_bytes, self.client_queue);
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => {
                    tracing::debug!(error = %e, "the WebSocket upgrade failed");
                    return;
                }
            };
            // The server hands hyper the socket itself (`crate::serve`).
            let Ok(parts) = upgraded.downcast::<TokioIo<TcpStream>>() else {
                tracing::error!("an upgraded connection is not a TCP socket");
                return;
            };
            let (read, write) = parts.io.into_inner().into_split();
            let outbox = Outbox::new(write, queue);
            let reader = Reader::new(read, parts.read_buf, max, outbox.clone());
            let writer = tokio::spawn(outbox.clone().write_queued());
            callback((outbox.clone(), Box::new(reader.into_stream()))).await;
            // What is queued (a close frame) goes out, for a while.
            outbox.finish();
            let abort = writer.abort_handle();
            if tokio::time::timeout(CLOSING_WAIT, writer).await.is_err() {
                abort.abort();
            }
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
