//! Sync: the y-websocket protocol over WebSocket, and one-round-trip HTTP
//! sync for networks whose proxies break WebSockets.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use plait_shared::api::SyncQuery;
use yrs::{ReadTxn, Transact};

use super::ws::Upgrade;
use crate::extract::{SocketDoc, WriteDoc};
use crate::registry::ApplyError;
use std::sync::Arc;

use std::time::Duration;
use tracing::Instrument;

use crate::accounts::{Accounts, SessionKey};
use crate::sync::{self as connection, ConnectionOptions, Liveness};
use crate::{AppError, AppState};
use plait_shared::protocol::{BodyError, SyncAnswer, SyncRequest};

/// A connection's session, checked now and then by the connection loop.
struct SessionLive {
    accounts: Arc<Accounts>,
    key: SessionKey,
}

impl Liveness for SessionLive {
    fn still_live(&self, active: bool) -> Result<bool, String> {
        self.accounts
            .session_by_key(self.key, active)
            .map(|session| session.is_some())
            .map_err(|e| e.to_string())
    }

    fn every(&self) -> Duration {
        // Half the idle limit, so an idle session ends within 1.5 of it.
        (self.accounts.settings().idle / 2).clamp(Duration::from_secs(1), Duration::from_secs(30))
    }
}

/// `GET /sync/{doc}`: upgrades to a y-websocket sync connection.
pub(crate) async fn websocket(
    State(state): State<AppState>,
    SocketDoc { id, authed, access }: SocketDoc,
    Query(query): Query<SyncQuery>,
    ws: Upgrade,
) -> Result<Response, AppError> {
    let lease = state.registry.lease(&id).await?;
    let revoked = state
        .accounts
        .register_live(authed.key, &authed.user.username);
    let options = ConnectionOptions {
        durable_acks: matches!(query.durable.as_deref(), Some("1" | "true")),
        author: access.author(),
        revoked,
        liveness: Some(Arc::new(SessionLive {
            accounts: state.accounts.clone(),
            key: authed.key,
        })),
    };
    let registry = state.registry.clone();
    let shutdown = state.shutdown.clone();
    let tasks = state.tasks.clone();
    // Every log line of the connection (its updates refused, its client
    // too slow, ...) names the person.
    let span = tracing::info_span!("sync", user = %authed.user.username, doc = %id);
    Ok(ws
        .max_message_size(state.config.max_message_bytes)
        .client_queue(state.registry.client_queue())
        .on_upgrade(move |(outbox, stream)| {
            tasks.track_future(
                connection::run(registry, lease, outbox, stream, options, shutdown)
                    .instrument(span),
            )
        }))
}

/// `POST /api/docs/{doc_id}/sync`: one round trip. The body is the client's
/// state vector and its pending update (possibly empty), each a lib0
/// `varUint8Array`; the answer is what the client lacks and the server's
/// state vector, in the same form. The update is on disk before the answer
/// is sent, and applying it twice is harmless, so a retry after a lost
/// answer is safe.
pub(crate) async fn http_sync(
    State(state): State<AppState>,
    WriteDoc { id, access, .. }: WriteDoc,
    body: Bytes,
) -> Result<Response, AppError> {
    if body.len() > state.config.max_message_bytes {
        return Err(AppError::TooLarge);
    }
    let SyncRequest {
        state_vector: client_sv,
        update: update_bytes,
    } = crate::guard::no_panic(|| SyncRequest::decode(&body))
        .unwrap_or(Err(BodyError("it does not decode")))?;
    let lease = state.registry.lease(&id).await?;
    if !update_bytes.is_empty() {
        let author = access.author();
        match state
            .registry
            .apply_update(&lease, None, &update_bytes, &author)
            .instrument(tracing::info_span!("http_sync", user = %access.user, doc = %id))
            .await
        {
            Ok(applied) => {
                applied.durable().await?;
            }
            // The answer carries the server's state vector: the client
            // sends what the server lacks next time.
            Err(ApplyError::Incomplete(_)) => {}
            Err(ApplyError::Refused(reason) | ApplyError::Malformed(reason)) => {
                return Err(AppError::BadRequest(format!(
                    "the update was refused: {reason}"
                )))
            }
            Err(other) => return Err(AppError::Unavailable(other.to_string())),
        }
    }
    let answer = {
        let doc_state = lease.state().lock().await;
        let txn = doc_state.awareness.doc().transact();
        SyncAnswer {
            update: txn.encode_state_as_update_v1(&client_sv),
            state_vector: txn.state_vector(),
        }
        .encode()
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        answer,
    )
        .into_response())
}
