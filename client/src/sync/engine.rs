//! The sync state machine for one document.
//!
//! - WebSocket first (y-websocket protocol, with Plait's durable
//!   acknowledgements); after [`WS_FAILURES_BEFORE_HTTP`] attempts in a row
//!   that never open, it falls back to HTTP sync (some hospital proxies
//!   break WebSockets) and tries the WebSocket again later.
//! - Reconnects with exponential backoff and jitter; waits while the browser
//!   is offline and tries at once when it comes back online.
//! - Knows which local edits the server has made durable, so the status can
//!   say "All changes saved" truthfully, or how many changes are waiting and
//!   since when.
//! - Syncs only while the workspace says the session is live
//!   ([`Event::SignedIn`] / [`Event::SignedOut`]); local edits keep
//!   accumulating when it is not. A close that may mean the session ended
//!   (4401, or a socket that never opens) asks the glue to check it.
//! - Carries the document's awareness ([`super::presence`]) while the
//!   WebSocket is open: this person's state goes out when it changes
//!   (throttled) and again every 15 s; others' states are kept until they
//!   leave, go quiet for 30 s, or the connection goes (offline, or over
//!   HTTP sync, nobody is shown as here).

use std::collections::VecDeque;

use plait_shared::UnixMillis;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use super::presence::Presence;
use plait_shared::protocol::{close, Refusals, SyncAnswer, SyncRequest};
pub use plait_shared::protocol::{MSG_DURABLE, MSG_REFUSED};
/// Attempts that never open before HTTP sync takes over.
pub const WS_FAILURES_BEFORE_HTTP: u32 = 3;
/// The first reconnection delay.
pub const BACKOFF_BASE_MS: i64 = 500;
/// The longest reconnection delay.
pub const BACKOFF_MAX_MS: i64 = 30_000;
/// How often HTTP sync polls for others' changes when nothing is pending.
pub const HTTP_POLL_MS: i64 = 15_000;
/// The transaction origin of updates applied from the server, so the page
/// can tell them from local edits.
pub const REMOTE_ORIGIN: &str = "plait-sync";

/// How the engine is talking to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The browser says there is no network.
    Offline,
    /// Waiting to try again at this time.
    Waiting {
        /// When the next attempt is due.
        until: UnixMillis,
    },
    /// A WebSocket is being opened.
    Connecting,
    /// A WebSocket is open; `synced` once the server's state has arrived.
    Open {
        /// The initial exchange is done.
        synced: bool,
    },
    /// Syncing over HTTP; `in_flight` while a request is out.
    Http {
        /// A request is out.
        in_flight: bool,
        /// When the next request is due.
        next: UnixMillis,
        /// The last request got an answer (the server is reachable).
        healthy: bool,
    },
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The browser's `online` event (or online at start).
    Online,
    /// The browser's `offline` event.
    Offline,
    /// The WebSocket opened.
    Opened,
    /// The WebSocket closed or failed to open.
    Closed {
        /// The close code ([`close::ABNORMAL`] when it never opened or dropped).
        code: u16,
    },
    /// A binary frame from the server.
    Frame(Vec<u8>),
    /// A local edit: its update (yrs v1).
    LocalUpdate(Vec<u8>),
    /// An HTTP sync answer arrived.
    HttpAnswer(Vec<u8>),
    /// An HTTP sync request failed.
    HttpFailed,
    /// An HTTP sync request was answered 401 or 403: signed out, or no
    /// access.
    HttpDenied,
    /// The session is live (signed in, or checked): sync.
    SignedIn,
    /// The session has ended (or is not known to be live): stop syncing,
    /// keep local edits.
    SignedOut,
    /// Time passed (the glue calls this on a timer).
    Tick,
    /// This person's awareness state changed (a JSON object; `None`: they
    /// left the document).
    LocalPresence(Option<String>),
}

/// Something the glue must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open the WebSocket (`/sync/{doc}?durable=1`).
    Connect,
    /// Close the WebSocket.
    Disconnect,
    /// Send this binary frame on the WebSocket.
    Send(Vec<u8>),
    /// POST this body to `/api/docs/{doc}/sync`.
    HttpSync(Vec<u8>),
    /// An update from the server was applied to the document: persist it.
    Persist(Vec<u8>),
    /// The status changed: re-render it.
    Status,
    /// The session may have ended: ask the server (`GET /api/me`).
    CheckSession,
    /// The server refused some of this client's changes (and undid them):
    /// what and why, to show the person.
    Refused(Refusals),
    /// Someone else's presence came, changed or went: re-render it.
    Presence,
    /// Send [`Event::Tick`] at this time (a throttled presence change).
    TickAt(UnixMillis),
}

/// A local edit not yet durable on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEdit {
    /// The client id that made it.
    pub client: u64,
    /// The clock just after it: durable once the server's state vector has
    /// at least this for `client`.
    pub clock: u32,
    /// When it was made.
    pub at: UnixMillis,
}

/// What the status line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The browser has a network.
    pub online: bool,
    /// Talking to the server now (WebSocket open and synced, or HTTP working).
    pub connected: bool,
    /// Edits not yet durable on the server.
    pub waiting: usize,
    /// When the oldest of them was made.
    pub oldest: Option<UnixMillis>,
    /// When the server last confirmed everything was saved.
    pub last_synced: Option<UnixMillis>,
}

impl Status {
    /// Only true when the server has durably stored every local edit.
    pub fn all_saved(&self) -> bool {
        self.waiting == 0 && self.last_synced.is_some()
    }
}

/// The sync state machine of one document.
#[derive(Debug)]
pub struct SyncEngine {
    doc: Doc,
    link: Link,
    online: bool,
    /// The session is live (or not known to have ended).
    authorised: bool,
    attempts: u32,
    ws_failures: u32,
    pending: VecDeque<PendingEdit>,
    last_synced: Option<UnixMillis>,
    /// The latest state vector the server reported: HTTP sync sends only
    /// what lies beyond it.
    server_sv: StateVector,
    rng: u64,
    presence: Presence,
}

impl SyncEngine {
    /// An engine for `doc`, with `pending` edits restored from a previous
    /// page load, and a seed for the jitter.
    pub fn new(doc: Doc, pending: Vec<PendingEdit>, seed: u64) -> SyncEngine {
        SyncEngine {
            link: Link::Offline,
            online: false,
            authorised: true,
            attempts: 0,
            ws_failures: 0,
            pending: pending.into(),
            last_synced: None,
            server_sv: StateVector::default(),
            rng: seed | 1,
            presence: Presence::new(doc.client_id().get()),
            doc,
        }
    }

    /// The document.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// How it is talking to the server.
    pub fn link(&self) -> Link {
        self.link
    }

    /// The document's awareness: everyone else's states.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// The edits not yet durable, to save across reloads.
    pub fn pending(&self) -> Vec<PendingEdit> {
        self.pending.iter().copied().collect()
    }

    /// The status line.
    pub fn status(&self) -> Status {
        Status {
            online: self.online,
            connected: matches!(
                self.link,
                Link::Open { synced: true } | Link::Http { healthy: true, .. }
            ) && self.online,
            waiting: self.pending.len(),
            oldest: self.pending.front().map(|p| p.at),
            last_synced: self.last_synced,
        }
    }

    /// Handles one event at time `now`, returning what to do.
    pub fn handle(&mut self, event: Event, now: UnixMillis) -> Vec<Effect> {
        let before = self.status();
        let mut effects = Vec::new();
        match event {
            Event::Online => {
                self.online = true;
                self.resume(&mut effects);
            }
            Event::SignedIn => {
                self.authorised = true;
                self.resume(&mut effects);
            }
            Event::SignedOut => {
                self.authorised = false;
                if matches!(self.link, Link::Open { .. } | Link::Connecting) {
                    effects.push(Effect::Disconnect);
                }
                self.link = Link::Offline;
            }
            Event::Offline => {
                self.online = false;
                if matches!(self.link, Link::Open { .. } | Link::Connecting) {
                    effects.push(Effect::Disconnect);
                }
                self.link = Link::Offline;
            }
            Event::Opened => {
                self.attempts = 0;
                self.ws_failures = 0;
                self.link = Link::Open { synced: false };
                let sv = self.doc.transact().state_vector();
                effects.push(Effect::Send(
                    Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1(),
                ));
                // A new connection: announced again.
                if self.presence.connected() {
                    effects.push(Effect::Presence);
                }
                self.send_presence(now, &mut effects);
            }
            Event::Closed { code } => {
                let never_opened = self.link == Link::Connecting;
                if never_opened {
                    self.ws_failures += 1;
                }
                // A refused upgrade (401, 403) never opens: it looks like a
                // network failure to a browser.
                if self.online && (code == close::SESSION_ENDED || never_opened) {
                    effects.push(Effect::CheckSession);
                }
                if !self.online || !self.authorised {
                    self.link = Link::Offline;
                } else if code == close::FORBIDDEN {
                    // Sending the same change again would be refused again.
                    self.link = Link::Waiting {
                        until: UnixMillis(now.0 + BACKOFF_MAX_MS),
                    };
                } else if self.ws_failures >= WS_FAILURES_BEFORE_HTTP {
                    self.link = Link::Http {
                        in_flight: false,
                        next: now,
                        healthy: false,
                    };
                    self.http_sync(now, &mut effects);
                } else {
                    self.link = Link::Waiting {
                        until: UnixMillis(now.0 + self.backoff()),
                    };
                }
            }
            Event::Frame(frame) => self.frame(&frame, now, &mut effects),
            Event::LocalUpdate(update) => {
                self.record_local(&update, now);
                match self.link {
                    Link::Open { .. } => effects.push(Effect::Send(
                        Message::Sync(SyncMessage::Update(update)).encode_v1(),
                    )),
                    Link::Http {
                        in_flight: false, ..
                    } => self.http_sync(now, &mut effects),
                    _ => {}
                }
            }
            Event::HttpAnswer(body) => self.http_answer(&body, now, &mut effects),
            Event::HttpFailed | Event::HttpDenied => {
                if matches!(event, Event::HttpDenied) {
                    effects.push(Effect::CheckSession);
                }
                if !self.authorised {
                    self.link = Link::Offline;
                    return self.finish(before, effects);
                }
                self.link = Link::Http {
                    in_flight: false,
                    next: UnixMillis(now.0 + self.backoff()),
                    healthy: false,
                };
            }
            Event::LocalPresence(state) => {
                if self.presence.set_local(state) {
                    self.send_presence(now, &mut effects);
                }
            }
            Event::Tick => match self.link {
                Link::Waiting { until } if until <= now && self.online && self.authorised => {
                    self.connect(&mut effects)
                }
                Link::Http {
                    in_flight: false,
                    next,
                    ..
                } if next <= now && self.online && self.authorised => {
                    // Every few rounds, see whether the WebSocket works again.
                    if self.attempts % 4 == 3 {
                        self.ws_failures = 0;
                        self.connect(&mut effects);
                    } else {
                        self.http_sync(now, &mut effects);
                    }
                }
                Link::Open { .. } => {
                    if self.presence.expire(now) {
                        effects.push(Effect::Presence);
                    }
                    self.send_presence(now, &mut effects);
                }
                _ => {}
            },
        }
        self.finish(before, effects)
    }

    fn finish(&mut self, before: Status, mut effects: Vec<Effect>) -> Vec<Effect> {
        if self.status() != before {
            effects.push(Effect::Status);
        }
        // Presence needs the open connection: without it nobody is shown.
        if !matches!(self.link, Link::Open { .. }) && self.presence.forget() {
            effects.push(Effect::Presence);
        }
        effects
    }

    /// Sends this person's awareness state if it is due (a change past the
    /// throttle, or a renewal), or asks to be woken when it is.
    fn send_presence(&mut self, now: UnixMillis, effects: &mut Vec<Effect>) {
        if !matches!(self.link, Link::Open { .. }) {
            return;
        }
        if let Some(frame) = self.presence.outgoing(now) {
            effects.push(Effect::Send(frame));
        } else if let Some(due) = self.presence.due() {
            effects.push(Effect::TickAt(due));
        }
    }

    /// Online and signed in: connect now if waiting.
    fn resume(&mut self, effects: &mut Vec<Effect>) {
        self.attempts = 0;
        if self.online
            && self.authorised
            && matches!(self.link, Link::Offline | Link::Waiting { .. })
        {
            self.connect(effects);
        }
    }

    fn connect(&mut self, effects: &mut Vec<Effect>) {
        self.link = Link::Connecting;
        self.attempts += 1;
        effects.push(Effect::Connect);
    }

    /// Exponential backoff with full jitter in its upper half.
    fn backoff(&mut self) -> i64 {
        let exponent = self.attempts.min(16);
        let ceiling = (BACKOFF_BASE_MS << exponent).min(BACKOFF_MAX_MS);
        // xorshift: enough randomness to spread a ward's tablets apart.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let fraction = (self.rng % 1000) as i64;
        ceiling / 2 + ceiling / 2 * fraction / 1000
    }

    fn record_local(&mut self, update: &[u8], now: UnixMillis) {
        let client = self.doc.client_id().get();
        let clock = self
            .doc
            .transact()
            .state_vector()
            .get(&yrs::block::ClientID::new(client));
        // A delete-only edit does not move the clock; it is durable with the
        // next acknowledgement at or past the current clock.
        if !update.is_empty() {
            self.pending.push_back(PendingEdit {
                client,
                clock,
                at: now,
            });
        }
    }

    fn durable(&mut self, sv: &StateVector, now: UnixMillis) {
        self.pending
            .retain(|p| sv.get(&yrs::block::ClientID::new(p.client)) < p.clock);
        if self.pending.is_empty() {
            self.last_synced = Some(now);
        }
    }

    fn apply_remote(&mut self, update: &[u8], effects: &mut Vec<Effect>) -> bool {
        let Ok(decoded) = Update::decode_v1(update) else {
            return false;
        };
        let mut txn = self.doc.transact_mut_with(REMOTE_ORIGIN);
        if txn.apply_update(decoded).is_err() {
            return false;
        }
        effects.push(Effect::Persist(update.to_vec()));
        true
    }

    fn frame(&mut self, frame: &[u8], now: UnixMillis, effects: &mut Vec<Effect>) {
        let Ok(message) = Message::decode_v1(frame) else {
            return;
        };
        match message {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let update = self.doc.transact().encode_state_as_update_v1(&sv);
                self.server_sv = sv;
                effects.push(Effect::Send(
                    Message::Sync(SyncMessage::SyncStep2(update)).encode_v1(),
                ));
            }
            Message::Sync(SyncMessage::SyncStep2(update)) => {
                self.apply_remote(&update, effects);
                self.link = Link::Open { synced: true };
            }
            Message::Sync(SyncMessage::Update(update)) => {
                self.apply_remote(&update, effects);
            }
            Message::Awareness(update) if self.presence.apply(&update, now) => {
                effects.push(Effect::Presence);
            }
            Message::Custom(MSG_DURABLE, payload) => {
                if let Ok(sv) = StateVector::decode_v1(&payload) {
                    self.durable(&sv, now);
                }
            }
            Message::Custom(MSG_REFUSED, payload) => {
                // One that does not read, or says nothing, is ignored.
                match crate::json::from_slice::<Refusals>(&payload) {
                    Ok(refusals) if !refusals.changes.is_empty() || refusals.whole.is_some() => {
                        effects.push(Effect::Refused(refusals));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn http_sync(&mut self, now: UnixMillis, effects: &mut Vec<Effect>) {
        let txn = self.doc.transact();
        let sv = txn.state_vector();
        // What the server may lack: everything beyond what it last reported
        // (re-sending a little it already has is harmless).
        let update = if self.pending.is_empty() {
            Vec::new()
        } else {
            txn.encode_state_as_update_v1(&self.server_sv)
        };
        drop(txn);
        let body = SyncRequest {
            state_vector: sv,
            update,
        }
        .encode();
        self.attempts += 1;
        let healthy = matches!(self.link, Link::Http { healthy: true, .. });
        self.link = Link::Http {
            in_flight: true,
            next: now,
            healthy,
        };
        effects.push(Effect::HttpSync(body));
    }

    fn http_answer(&mut self, body: &[u8], now: UnixMillis, effects: &mut Vec<Effect>) {
        let parsed = SyncAnswer::decode(body);
        let healthy = parsed.is_ok();
        if let Ok(SyncAnswer {
            update: diff,
            state_vector: server_sv,
        }) = parsed
        {
            if !diff.is_empty() {
                self.apply_remote(&diff, effects);
            }
            // The answer comes only after the server flushed: its state
            // vector is durable.
            self.durable(&server_sv, now);
            self.server_sv = server_sv;
        }
        let delay = if self.pending.is_empty() {
            HTTP_POLL_MS
        } else {
            0
        };
        self.link = Link::Http {
            in_flight: false,
            next: UnixMillis(now.0 + delay),
            healthy,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::{GetString, Text};

    fn at(ms: i64) -> UnixMillis {
        UnixMillis(ms)
    }

    /// A local edit on the engine's document, as the page would make it.
    fn type_text(engine: &mut SyncEngine, text: &str, now: i64) -> Vec<Effect> {
        let doc = engine.doc().clone();
        let update = {
            let t = doc.get_or_insert_text("t");
            let mut txn = doc.transact_mut();
            t.push(&mut txn, text);
            txn.encode_update_v1()
        };
        engine.handle(Event::LocalUpdate(update), at(now))
    }

    fn server_doc_from(engine: &SyncEngine) -> Doc {
        let server = plait_shared::new_doc();
        let update = engine
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        server
            .transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
        server
    }

    fn durable_ack(doc: &Doc) -> Vec<u8> {
        Message::Custom(MSG_DURABLE, doc.transact().state_vector().encode_v1()).encode_v1()
    }

    fn online_and_open(engine: &mut SyncEngine) {
        assert_eq!(engine.handle(Event::Online, at(0))[0], Effect::Connect);
        let effects = engine.handle(Event::Opened, at(1));
        assert!(matches!(effects[0], Effect::Send(_)), "sync step 1 first");
    }

    #[test]
    fn saved_only_when_the_server_says_durable() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 7);
        assert!(!engine.status().all_saved(), "never synced is not saved");
        online_and_open(&mut engine);
        let effects = type_text(&mut engine, "Ward 3 audit done", 10);
        assert!(
            effects.iter().any(|e| matches!(e, Effect::Send(_))),
            "sent at once"
        );
        type_text(&mut engine, ". Re-audit booked.", 20);
        let status = engine.status();
        assert_eq!((status.waiting, status.oldest), (2, Some(at(10))));
        assert!(!status.all_saved());

        // An acknowledgement covering only the first edit (17 characters).
        let mut sv = StateVector::default();
        sv.set_max(engine.doc().client_id(), 17);
        let ack = Message::Custom(MSG_DURABLE, sv.encode_v1()).encode_v1();
        engine.handle(Event::Frame(ack), at(30));
        assert_eq!(engine.status().waiting, 1);
        assert_eq!(engine.status().oldest, Some(at(20)));

        let server = server_doc_from(&engine);
        engine.handle(Event::Frame(durable_ack(&server)), at(40));
        let status = engine.status();
        assert_eq!(status.waiting, 0);
        assert!(status.all_saved());
        assert_eq!(status.last_synced, Some(at(40)));
    }

    #[test]
    fn offline_edits_wait_and_go_on_reconnect() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 7);
        online_and_open(&mut engine);
        assert_eq!(
            engine.handle(Event::Offline, at(5)),
            vec![Effect::Disconnect, Effect::Status]
        );
        assert_eq!(engine.link(), Link::Offline);
        let effects = type_text(&mut engine, "typed in the basement", 10);
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Send(_))),
            "nothing sent offline"
        );
        assert_eq!(engine.status().waiting, 1);
        // No reconnection attempts while offline, however long.
        assert!(engine.handle(Event::Tick, at(60_000)).is_empty());
        assert_eq!(engine.handle(Event::Online, at(61_000))[0], Effect::Connect);
        engine.handle(Event::Opened, at(61_100));
        // The server's step 1 is answered with exactly what it lacks.
        let empty = plait_shared::new_doc();
        let step1 =
            Message::Sync(SyncMessage::SyncStep1(empty.transact().state_vector())).encode_v1();
        let effects = engine.handle(Event::Frame(step1), at(61_200));
        let Some(Effect::Send(frame)) = effects.first() else {
            panic!("expected sync step 2, got {effects:?}");
        };
        let Ok(Message::Sync(SyncMessage::SyncStep2(update))) = Message::decode_v1(frame) else {
            panic!("not a step 2");
        };
        empty
            .transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
        assert_eq!(
            empty.get_or_insert_text("t").get_string(&empty.transact()),
            "typed in the basement"
        );
    }

    #[test]
    fn remote_updates_are_applied_and_persisted_with_a_remote_origin() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 7);
        online_and_open(&mut engine);
        let other = plait_shared::new_doc();
        other
            .get_or_insert_text("t")
            .push(&mut other.transact_mut(), "from the programme office");
        let update = other
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let step2 = Message::Sync(SyncMessage::SyncStep2(update.clone())).encode_v1();
        let effects = engine.handle(Event::Frame(step2), at(2));
        assert!(effects.contains(&Effect::Persist(update)));
        assert_eq!(engine.link(), Link::Open { synced: true });
        assert!(engine.status().connected);
        let text = engine.doc().get_or_insert_text("t");
        assert_eq!(
            text.get_string(&engine.doc().transact()),
            "from the programme office"
        );
        // Garbage from the network changes nothing.
        assert!(engine
            .handle(Event::Frame(vec![0, 2, 0xff]), at(3))
            .is_empty());
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 99);
        engine.handle(Event::Online, at(0));
        engine.handle(Event::Opened, at(0));
        let mut now = 0;
        let mut delays = Vec::new();
        for _ in 0..10 {
            // Opened then dropped: a flaky Wi-Fi, never the proxy case.
            engine.handle(
                Event::Closed {
                    code: close::ABNORMAL,
                },
                at(now),
            );
            let Link::Waiting { until } = engine.link() else {
                panic!("should wait, is {:?}", engine.link());
            };
            delays.push(until.0 - now);
            now = until.0;
            assert_eq!(
                engine.handle(Event::Tick, at(now - 1)),
                vec![],
                "not before its time"
            );
            assert_eq!(engine.handle(Event::Tick, at(now))[0], Effect::Connect);
            engine.handle(Event::Opened, at(now));
            engine.handle(
                Event::Closed {
                    code: close::ABNORMAL,
                },
                at(now),
            );
            let Link::Waiting { until } = engine.link() else {
                panic!()
            };
            now = until.0;
            engine.handle(Event::Tick, at(now));
        }
        assert!(delays.iter().all(|&d| d <= BACKOFF_MAX_MS), "{delays:?}");
        assert!(
            delays.iter().all(|&d| d >= BACKOFF_BASE_MS / 2),
            "{delays:?}"
        );
        // Failures that never open grow the delay; jitter spreads it.
        let mut fresh = SyncEngine::new(plait_shared::new_doc(), vec![], 5);
        fresh.handle(Event::Online, at(0));
        fresh.handle(
            Event::Closed {
                code: close::ABNORMAL,
            },
            at(0),
        );
        let Link::Waiting { until: first } = fresh.link() else {
            panic!()
        };
        fresh.handle(Event::Tick, at(first.0));
        fresh.handle(
            Event::Closed {
                code: close::ABNORMAL,
            },
            at(first.0),
        );
        let Link::Waiting { until: second } = fresh.link() else {
            panic!()
        };
        assert!(
            second.0 - first.0 > first.0,
            "second wait {} > first {}",
            second.0 - first.0,
            first.0
        );
    }

    #[test]
    fn http_sync_takes_over_when_websockets_never_open() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 3);
        engine.handle(Event::Online, at(0));
        type_text(&mut engine, "behind a proxy", 1);
        let mut now = 0;
        let mut effects = Vec::new();
        for _ in 0..WS_FAILURES_BEFORE_HTTP {
            effects = engine.handle(
                Event::Closed {
                    code: close::ABNORMAL,
                },
                at(now),
            );
            if let Link::Waiting { until } = engine.link() {
                now = until.0;
                engine.handle(Event::Tick, at(now));
            }
        }
        let Some(Effect::HttpSync(body)) =
            effects.iter().find(|e| matches!(e, Effect::HttpSync(_)))
        else {
            panic!("expected an HTTP sync, got {effects:?}");
        };
        // The server's answer: it stored the update, so its state vector covers it.
        let server = plait_shared::new_doc();
        let request = SyncRequest::decode(body).unwrap();
        server
            .transact_mut()
            .apply_update(Update::decode_v1(&request.update).unwrap())
            .unwrap();
        let answer = SyncAnswer {
            update: Vec::new(),
            state_vector: server.transact().state_vector(),
        }
        .encode();
        engine.handle(Event::HttpAnswer(answer), at(now + 100));
        assert!(engine.status().all_saved());
        assert!(matches!(
            engine.link(),
            Link::Http {
                in_flight: false,
                ..
            }
        ));
    }

    #[test]
    fn signed_out_keeps_edits_and_resumes_on_sign_in() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 11);
        online_and_open(&mut engine);
        // The server ends the session: the glue is asked to check it.
        let effects = engine.handle(Event::Closed { code: 4401 }, at(5));
        assert!(effects.contains(&Effect::CheckSession), "{effects:?}");
        // The check says it has ended.
        engine.handle(Event::SignedOut, at(6));
        assert_eq!(engine.link(), Link::Offline);
        let effects = type_text(&mut engine, "after the session ended", 10);
        assert!(!effects.iter().any(|e| matches!(e, Effect::Send(_))));
        assert_eq!(engine.status().waiting, 1);
        // Nothing is tried while signed out, whatever happens.
        assert!(engine.handle(Event::Tick, at(120_000)).is_empty());
        let effects = engine.handle(Event::Online, at(120_001));
        assert!(!effects.contains(&Effect::Connect), "{effects:?}");
        // Signed in again: straight back to the server, the edit still waiting.
        assert_eq!(
            engine.handle(Event::SignedIn, at(130_000))[0],
            Effect::Connect
        );
        assert_eq!(engine.status().waiting, 1);
        // Started signed out and offline: signing in while offline waits
        // for the network.
        let mut offline = SyncEngine::new(plait_shared::new_doc(), vec![], 12);
        offline.handle(Event::SignedOut, at(0));
        assert!(!offline
            .handle(Event::SignedIn, at(1))
            .contains(&Effect::Connect));
        assert_eq!(offline.handle(Event::Online, at(2))[0], Effect::Connect);
    }

    #[test]
    fn refused_changes_and_denied_requests_reach_the_glue() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 13);
        online_and_open(&mut engine);
        let refusals = Refusals {
            changes: vec![plait_shared::protocol::RefusedChange {
                change: plait_shared::changes::Change::Text(
                    plait_shared::ActionId::new("a-md001").unwrap(),
                    plait_shared::ActionText::Title,
                ),
                reason: "no".into(),
            }],
            whole: None,
        };
        let frame = Message::Custom(MSG_REFUSED, refusals.encode()).encode_v1();
        assert_eq!(
            engine.handle(Event::Frame(frame), at(2)),
            vec![Effect::Refused(refusals)]
        );
        // A payload that does not read is ignored.
        for garbage in [&b"not json"[..], b"{\"changes\":5}", b"[1,2]"] {
            let frame = Message::Custom(MSG_REFUSED, garbage.to_vec()).encode_v1();
            let effects = engine.handle(Event::Frame(frame), at(3));
            assert!(effects.is_empty(), "{effects:?}");
        }
        // A socket that never opens while online may be a refused upgrade.
        let mut fresh = SyncEngine::new(plait_shared::new_doc(), vec![], 14);
        fresh.handle(Event::Online, at(0));
        let effects = fresh.handle(
            Event::Closed {
                code: close::ABNORMAL,
            },
            at(1),
        );
        assert!(effects.contains(&Effect::CheckSession), "{effects:?}");
        // An HTTP sync answered 401 or 403 too.
        let mut http = SyncEngine::new(plait_shared::new_doc(), vec![], 15);
        http.handle(Event::Online, at(0));
        let effects = http.handle(Event::HttpDenied, at(1));
        assert!(effects.contains(&Effect::CheckSession), "{effects:?}");
        // A change refused whole is not sent again at once.
        let mut forbidden = SyncEngine::new(plait_shared::new_doc(), vec![], 16);
        online_and_open(&mut forbidden);
        forbidden.handle(Event::Closed { code: 4403 }, at(10));
        assert_eq!(
            forbidden.link(),
            Link::Waiting {
                until: at(10 + BACKOFF_MAX_MS)
            }
        );
    }

    /// Presence goes out on an open connection (and again on the next),
    /// others' comes in, and nobody is shown once the connection goes.
    #[test]
    fn presence_rides_the_open_connection() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 17);
        // Offline: kept, not sent.
        let effects = engine.handle(Event::LocalPresence(Some("{}".into())), at(0));
        assert!(effects.is_empty(), "{effects:?}");
        online_and_open(&mut engine);
        let mut clients = std::collections::HashMap::new();
        clients.insert(
            yrs::block::ClientID::new(99),
            yrs::sync::awareness::AwarenessUpdateEntry {
                clock: 1,
                json: r#"{"user":{"id":"d.hughes","name":"D. Hughes"}}"#.into(),
            },
        );
        let frame = Message::Awareness(yrs::sync::AwarenessUpdate { clients }).encode_v1();
        assert_eq!(
            engine.handle(Event::Frame(frame), at(2)),
            vec![Effect::Presence]
        );
        assert_eq!(engine.presence().states().count(), 1);
        // A change right after the announcement waits for the throttle.
        let effects = engine.handle(
            Event::LocalPresence(Some(r#"{"field":"title"}"#.into())),
            at(3),
        );
        assert_eq!(effects, vec![Effect::TickAt(at(1 + 100))]);
        let effects = engine.handle(Event::Tick, at(101));
        assert!(
            matches!(effects.as_slice(), [Effect::Send(f)] if matches!(Message::decode_v1(f), Ok(Message::Awareness(_)))),
            "{effects:?}"
        );
        let effects = engine.handle(Event::Offline, at(200));
        assert!(effects.contains(&Effect::Presence), "{effects:?}");
        assert_eq!(engine.presence().states().count(), 0);
    }

    #[test]
    fn pending_edits_survive_a_reload() {
        let mut engine = SyncEngine::new(plait_shared::new_doc(), vec![], 1);
        type_text(&mut engine, "offline", 10);
        let saved = engine.pending();
        let doc = engine.doc().clone();
        let reloaded = SyncEngine::new(doc, saved, 2);
        let status = reloaded.status();
        assert_eq!((status.waiting, status.oldest), (1, Some(at(10))));
        assert!(!status.online && !status.all_saved());
    }
}
