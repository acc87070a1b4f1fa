//! The sync protocol's contract between the server, the web client, the
//! load generator and the tests: Plait's own message types beside
//! y-protocols' 0–3, the WebSocket close codes, and the HTTP-sync bodies.
//! One definition, so a change is a compile error on every side.
//!
//! ```
//! use plait_shared::protocol::{SyncRequest, SyncAnswer};
//! use yrs::StateVector;
//!
//! let request = SyncRequest { state_vector: StateVector::default(), update: vec![] };
//! let body = request.encode();
//! assert_eq!(SyncRequest::decode(&body).unwrap(), request);
//! let answer = SyncAnswer { update: vec![0, 0], state_vector: StateVector::default() };
//! assert_eq!(SyncAnswer::decode(&answer.encode()).unwrap(), answer);
//! ```

use serde::{Deserialize, Serialize};
use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::StateVector;

use crate::changes::Change;

/// Plait's message type, outside y-protocols' 0–3: the state vector the
/// server has made durable. Sent only to clients that ask for it
/// (`?durable=1`), so standard Yjs clients never see it.
pub const MSG_DURABLE: u8 = 100;

/// Plait's message telling a client (one that asked for durable
/// acknowledgements) which of its changes the server refused and why: a
/// [`Refusals`] as JSON. What was refused was undone (in every copy, the
/// sender's included, by the update the server sends back); the client only
/// has to say so.
pub const MSG_REFUSED: u8 = 101;

/// The query parameter a client sets to `1` to get [`MSG_DURABLE`] and
/// [`MSG_REFUSED`].
pub const DURABLE_PARAM: &str = "durable";

/// The query a client adds to `/sync/{doc}` to ask for them.
pub const DURABLE_QUERY: &str = "durable=1";

/// Why the server closes a sync connection.
pub mod close {
    /// Closed normally (the answer to a client's close without a code).
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down; reconnect later.
    pub const GOING_AWAY: u16 = 1001;
    /// No close frame: the connection never opened, or dropped (the code a
    /// browser reports; never sent).
    pub const ABNORMAL: u16 = 1006;
    /// A frame that breaks the WebSocket protocol (unmasked, reserved bits,
    /// an unknown opcode, a continuation of nothing).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame, or a message type the server does not speak.
    pub const UNSUPPORTED: u16 = 1003;
    /// A frame that does not decode.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The client fell behind (or the document was reloaded); reconnect to
    /// resync.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The session ended (signed out, expired, account disabled or its
    /// access changed): check the session, sign in again if need be, and
    /// reconnect.
    pub const SESSION_ENDED: u16 = 4401;
    /// Reserved: the server no longer closes a connection over a refused
    /// change (a refusal is told with [`super::MSG_REFUSED`] and the
    /// connection stays open); clients still treat it as "not kept".
    pub const FORBIDDEN: u16 = 4403;
}

/// One change the server refused, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChange {
    /// What it was.
    pub change: Change,
    /// Why it was refused, in words for the person who made it.
    pub reason: String,
}

/// The body of [`MSG_REFUSED`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Refusals {
    /// The changes refused, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<RefusedChange>,
    /// Set when the whole update was refused (nothing of it kept): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole: Option<String>,
}

impl Refusals {
    /// The message's payload.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of strings and enums always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a payload.
    ///
    /// # Errors
    /// [`BodyError`] when it is not one.
    pub fn decode(payload: &[u8]) -> Result<Refusals, BodyError> {
        serde_json::from_slice(payload).map_err(|_| BodyError("refusals"))
    }
}

/// Why an HTTP-sync body does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed sync body: {0}")]
pub struct BodyError(pub &'static str);

/// `POST /api/docs/{doc}/sync`: the client's state vector and its pending
/// update (empty for none), each a lib0 `varUint8Array`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    /// What the client has.
    pub state_vector: StateVector,
    /// What the server may lack (a yrs v1 update), or empty.
    pub update: Vec<u8>,
}

/// The answer: what the client lacks and the server's state vector, in the
/// same form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncAnswer {
    /// What the client lacks (a yrs v1 update).
    pub update: Vec<u8>,
    /// What the server has.
    pub state_vector: StateVector,
}

fn two_buffers(body: &[u8]) -> Result<(Vec<u8>, Vec<u8>), BodyError> {
    let mut cursor = Cursor::new(body);
    let first = cursor
        .read_buf()
        .map_err(|_| BodyError("first part"))?
        .to_vec();
    let second = cursor
        .read_buf()
        .map_err(|_| BodyError("second part"))?
        .to_vec();
    if cursor.has_content() {
        return Err(BodyError("trailing bytes"));
    }
    Ok((first, second))
}

impl SyncRequest {
    /// The body's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let sv = self.state_vector.encode_v1();
        let mut body = Vec::with_capacity(sv.len() + self.update.len() + 10);
        body.write_buf(&sv);
        body.write_buf(&self.update);
        body
    }

    /// Reads a body.
    ///
    /// # Errors
    /// [`BodyError`] when it is not two buffers with a state vector first.
    pub fn decode(body: &[u8]) -> Result<SyncRequest, BodyError> {
        let (sv, update) = two_buffers(body)?;
        Ok(SyncRequest {
            state_vector: StateVector::decode_v1(&sv).map_err(|_| BodyError("state vector"))?,
            update,
        })
    }
}

impl SyncAnswer {
    /// The body's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let sv = self.state_vector.encode_v1();
        let mut body = Vec::with_capacity(sv.len() + self.update.len() + 10);
        body.write_buf(&self.update);
        body.write_buf(&sv);
        body
    }

    /// Reads a body.
    ///
    /// # Errors
    /// [`BodyError`] when it is not two buffers with a state vector second.
    pub fn decode(body: &[u8]) -> Result<SyncAnswer, BodyError> {
        let (update, sv) = two_buffers(body)?;
        Ok(SyncAnswer {
            update,
            state_vector: StateVector::decode_v1(&sv).map_err(|_| BodyError("state vector"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn bodies_read_back_and_garbage_is_an_error() {
        let mut sv = StateVector::default();
        sv.inc_by(yrs::ClientID::new(7), 42);
        let request = SyncRequest {
            state_vector: sv.clone(),
            update: vec![1, 2, 3],
        };
        assert_eq!(SyncRequest::decode(&request.encode()).unwrap(), request);
        let mut trailing = request.encode();
        trailing.push(0);
        assert!(SyncRequest::decode(&trailing).is_err());
        assert!(SyncRequest::decode(&[5, 1]).is_err());
        let answer = SyncAnswer {
            update: vec![9; 300],
            state_vector: sv,
        };
        assert_eq!(SyncAnswer::decode(&answer.encode()).unwrap(), answer);
    }

    #[test]
    fn refusals_read_back_and_garbage_is_an_error() {
        let refusals = Refusals {
            changes: vec![RefusedChange {
                change: Change::Text(
                    crate::ids::ActionId::new("a-1").unwrap(),
                    crate::keys::ActionText::Title,
                ),
                reason: "only the action's owner can".into(),
            }],
            whole: None,
        };
        assert_eq!(Refusals::decode(&refusals.encode()).unwrap(), refusals);
        assert!(Refusals::decode(b"not json").is_err());
        assert!(Refusals::decode(b"{\"changes\":[{\"change\":{\"kind\":\"nope\"}}]}").is_err());
    }
}
