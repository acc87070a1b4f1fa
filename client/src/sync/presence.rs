//! Awareness (y-protocols) for one document, with no IO: this person's state
//! and everyone else's, as [`super::engine::SyncEngine`] sends and receives
//! them.
//!
//! As y-protocols does: every change of the local state bumps its clock; the
//! state is sent again every [`RENEW_MS`] while unchanged, so others know it
//! is still here; a remote state not renewed for [`OUTDATED_MS`] is dropped;
//! a `null` state is a removal. Unlike it, changes are throttled (at most
//! one frame every [`THROTTLE_MS`], the latest state winning: a caret moved
//! by every key), and remote states are forgotten whenever the connection
//! goes (offline, nobody is shown as here).

use std::collections::BTreeMap;

use plait_shared::UnixMillis;
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::{AwarenessUpdate, Message};
use yrs::updates::encoder::Encode;

/// A state unchanged is sent again this often.
pub const RENEW_MS: i64 = 15_000;
/// A remote state not renewed for this long is dropped.
pub const OUTDATED_MS: i64 = 30_000;
/// At most one local change is sent this often.
pub const THROTTLE_MS: i64 = 100;

/// Someone else's state.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Remote {
    clock: u32,
    json: String,
    seen: UnixMillis,
}

/// One document's awareness.
#[derive(Debug)]
pub struct Presence {
    client: u64,
    clock: u32,
    /// This person's state (JSON), `None` when not announced.
    local: Option<String>,
    /// When the local state was last sent; `None`: never on this link.
    sent: Option<UnixMillis>,
    /// A change not sent yet (throttled).
    dirty: bool,
    remote: BTreeMap<u64, Remote>,
}

impl Presence {
    /// The awareness of the client `client` (the document's client id).
    pub fn new(client: u64) -> Presence {
        Presence {
            client,
            clock: 0,
            local: None,
            sent: None,
            dirty: false,
            remote: BTreeMap::new(),
        }
    }

    /// Everyone else's states, by client id (JSON objects).
    pub fn states(&self) -> impl Iterator<Item = (u64, &str)> {
        self.remote.iter().map(|(c, r)| (*c, r.json.as_str()))
    }

    /// Sets this person's state; whether it changed (and must be sent).
    pub fn set_local(&mut self, json: Option<String>) -> bool {
        if json == self.local {
            return false;
        }
        // Nothing was ever announced: there is nothing to take back.
        if json.is_none() && self.clock == 0 {
            return false;
        }
        self.local = json;
        self.clock += 1;
        self.dirty = true;
        true
    }

    /// The frame to send now, if any: a change (throttled; a removal at
    /// once), or a renewal. `None` also when it must wait: [`Self::due`]
    /// says until when.
    pub fn outgoing(&mut self, now: UnixMillis) -> Option<Vec<u8>> {
        let since = self.sent.map(|at| now.0 - at.0);
        let send = if self.dirty {
            self.local.is_none() || since.is_none_or(|s| s >= THROTTLE_MS)
        } else {
            self.local.is_some() && since.is_some_and(|s| s >= RENEW_MS)
        };
        if !send {
            return None;
        }
        self.dirty = false;
        self.sent = Some(now);
        Some(self.frame())
    }

    /// When a throttled change is due, if one waits.
    pub fn due(&self) -> Option<UnixMillis> {
        self.dirty
            .then(|| UnixMillis(self.sent.map_or(0, |at| at.0 + THROTTLE_MS)))
    }

    fn frame(&self) -> Vec<u8> {
        let json = self.local.clone().unwrap_or_else(|| "null".into());
        let mut clients = std::collections::HashMap::new();
        clients.insert(
            yrs::block::ClientID::new(self.client),
            AwarenessUpdateEntry {
                clock: self.clock,
                json: json.into(),
            },
        );
        Message::Awareness(AwarenessUpdate { clients }).encode_v1()
    }

    /// A new connection: the local state is announced again (if any), and
    /// nobody else is known until the server says.
    pub fn connected(&mut self) -> bool {
        self.sent = None;
        self.dirty = self.local.is_some();
        self.forget()
    }

    /// The connection went: nobody else is shown. Whether anyone was.
    pub fn forget(&mut self) -> bool {
        let had = !self.remote.is_empty();
        self.remote.clear();
        had
    }

    /// Applies an update from the server; whether anyone else's state
    /// changed. This client's own entry is ignored (the server binds it to
    /// this connection).
    pub fn apply(&mut self, update: &AwarenessUpdate, now: UnixMillis) -> bool {
        let mut changed = false;
        for (client, entry) in &update.clients {
            let client = client.get();
            if client == self.client {
                continue;
            }
            let known = self.remote.get(&client).map(|r| r.clock);
            let removal = &*entry.json == "null";
            if removal {
                // A removal with the same clock as the state counts too.
                if known.is_some_and(|k| entry.clock >= k) {
                    self.remote.remove(&client);
                    changed = true;
                }
                continue;
            }
            if known.is_none_or(|k| entry.clock > k) {
                let json = entry.json.to_string();
                changed |= self.remote.get(&client).is_none_or(|r| r.json != json);
                self.remote.insert(
                    client,
                    Remote {
                        clock: entry.clock,
                        json,
                        seen: now,
                    },
                );
            } else if known == Some(entry.clock) {
                if let Some(remote) = self.remote.get_mut(&client) {
                    remote.seen = now;
                }
            }
        }
        changed
    }

    /// Drops the states not renewed for [`OUTDATED_MS`]; whether any went.
    pub fn expire(&mut self, now: UnixMillis) -> bool {
        let before = self.remote.len();
        self.remote.retain(|_, r| now.0 - r.seen.0 < OUTDATED_MS);
        self.remote.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::updates::decoder::Decode;

    fn at(ms: i64) -> UnixMillis {
        UnixMillis(ms)
    }

    fn update(client: u64, clock: u32, json: &str) -> AwarenessUpdate {
        let mut clients = std::collections::HashMap::new();
        clients.insert(
            yrs::block::ClientID::new(client),
            AwarenessUpdateEntry {
                clock,
                json: json.into(),
            },
        );
        AwarenessUpdate { clients }
    }

    fn sent(frame: &[u8]) -> (u32, String) {
        let Ok(Message::Awareness(update)) = Message::decode_v1(frame) else {
            panic!("not an awareness frame");
        };
        let (_, entry) = update.clients.into_iter().next().expect("one entry");
        (entry.clock, entry.json.to_string())
    }

    #[test]
    fn changes_are_throttled_renewed_and_removed_at_once() {
        let mut p = Presence::new(7);
        assert!(!p.set_local(None), "nothing to take back");
        assert!(p.outgoing(at(0)).is_none());
        assert!(p.set_local(Some("{}".into())));
        assert_eq!(sent(&p.outgoing(at(0)).unwrap()), (1, "{}".into()));
        // Two changes within the throttle: the latest goes, once, when due.
        p.set_local(Some(r#"{"field":"title"}"#.into()));
        p.set_local(Some(r#"{"field":"description"}"#.into()));
        assert!(p.outgoing(at(50)).is_none());
        assert_eq!(p.due(), Some(at(THROTTLE_MS)));
        assert_eq!(
            sent(&p.outgoing(at(THROTTLE_MS)).unwrap()),
            (3, r#"{"field":"description"}"#.into())
        );
        assert!(p.outgoing(at(200)).is_none(), "nothing new");
        // Unchanged: renewed with the same clock.
        let renewed = p.outgoing(at(THROTTLE_MS + RENEW_MS)).unwrap();
        assert_eq!(sent(&renewed).0, 3);
        // Leaving goes at once, throttle or not.
        assert!(p.set_local(None));
        assert_eq!(
            sent(&p.outgoing(at(THROTTLE_MS + RENEW_MS + 1)).unwrap()),
            (4, "null".into())
        );
        assert!(p.outgoing(at(200_000)).is_none(), "no renewal of nothing");
        // A new connection announces the state again.
        p.set_local(Some("{}".into()));
        p.outgoing(at(200_001));
        p.connected();
        assert_eq!(sent(&p.outgoing(at(200_002)).unwrap()), (5, "{}".into()));
    }

    #[test]
    fn remote_states_come_renew_expire_and_go() {
        let mut p = Presence::new(7);
        assert!(p.apply(&update(9, 1, r#"{"a":1}"#), at(0)));
        assert!(
            !p.apply(&update(7, 5, r#"{"me":1}"#), at(0)),
            "own entry ignored"
        );
        assert!(
            !p.apply(&update(9, 1, r#"{"a":1}"#), at(20_000)),
            "a renewal"
        );
        assert!(!p.expire(at(40_000)), "renewed at 20 s");
        assert!(
            !p.apply(&update(9, 0, r#"{"old":1}"#), at(40_000)),
            "older clock"
        );
        assert!(p.apply(&update(9, 2, r#"{"a":2}"#), at(41_000)));
        assert_eq!(p.states().collect::<Vec<_>>(), vec![(9, r#"{"a":2}"#)]);
        assert!(p.expire(at(71_000)), "30 s without renewal");
        assert!(p.states().next().is_none());
        p.apply(&update(9, 3, "{}"), at(72_000));
        assert!(p.apply(&update(9, 3, "null"), at(72_001)), "removed");
        p.apply(&update(10, 1, "{}"), at(73_000));
        assert!(p.forget(), "offline: nobody shown");
        assert!(p.states().next().is_none());
    }
}
