//! The browser side of sync: runs a [`SyncEngine`] per document against real
//! WebSockets, `fetch`, timers, the `online`/`offline` events and the
//! IndexedDB store.
//!
//! Every local edit is journalled in `localStorage` inside the transaction
//! that makes it ([`super::journal`]), then appended to IndexedDB before
//! the engine hears of it; every update from the server is appended when
//! the engine applies it. The list of edits not yet durable is kept in the
//! same IndexedDB database (its `outbox` store), so after a reload the
//! status still says how many are waiting and since when.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use plait_shared::protocol::close;
use plait_shared::{new_doc, DocId, UnixMillis};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};
use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use super::engine::{Effect, Event, PendingEdit, Status, SyncEngine, REMOTE_ORIGIN};
use super::journal::Journal;
use crate::browser::{local_storage, now};
use crate::storage::LocalStore;

/// The origin of the transaction that loads a document from IndexedDB.
const LOAD_ORIGIN: &str = "plait-load";

/// What a document's sync tells the workspace, besides "something changed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The session may have ended: check it.
    CheckSession,
    /// The server refused some changes (or the whole update).
    Refused(DocId, plait_shared::protocol::Refusals),
    /// The server refused a change whole and closed the connection, with why.
    RefusedWhole(DocId, String),
}

/// What every document's sync shares with the workspace.
pub struct SyncHooks {
    /// The prefix of this user's `localStorage` keys.
    pub namespace: String,
    /// The session's CSRF token, for HTTP sync.
    pub csrf: RefCell<String>,
    /// Called (outside any transaction) after every change to a document or
    /// its sync status.
    pub on_change: Box<dyn Fn()>,
    /// Called with what the workspace must hear.
    pub on_notice: Box<dyn Fn(Notice)>,
    /// Called when someone else's presence on a document came, changed or
    /// went.
    pub on_presence: Box<dyn Fn()>,
}

impl std::fmt::Debug for SyncHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncHooks")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// One synced document in the browser.
pub struct DocSync {
    id: DocId,
    doc: Doc,
    engine: RefCell<SyncEngine>,
    socket: RefCell<Option<Socket>>,
    /// Counts sockets, so a late close event of an old one is ignored.
    generation: Cell<u64>,
    /// Stopped for good (signing out): no more IO of any kind.
    stopped: Cell<bool>,
    /// Local edits made but not yet handed to the engine (being written to
    /// this device's store): counted as waiting from the moment they are
    /// made, so the status never says "all saved" over one.
    unsaved: Cell<usize>,
    journal: Journal,
    /// Journal entries whose edits this device's store holds: removed once
    /// the next saved list of waiting edits (which counts them) is written.
    stored_journal: RefCell<Vec<String>>,
    store: Rc<LocalStore>,
    hooks: Rc<SyncHooks>,
}

impl std::fmt::Debug for DocSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocSync")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A WebSocket with its handlers, which must live as long as it does.
struct Socket {
    ws: WebSocket,
    _handlers: [Closure<dyn FnMut(JsValue)>; 3],
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// Where an older client kept the pending-edit list (in `localStorage`):
/// read once, moved into IndexedDB.
fn legacy_pending_key(namespace: &str, id: &DocId) -> String {
    format!("{namespace}pending:{id}")
}

fn legacy_pending(key: &str) -> Vec<(u64, u32, i64)> {
    let Some(text) = local_storage().and_then(|s| s.get_item(key).ok().flatten()) else {
        return Vec::new();
    };
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(key);
    }
    crate::storage::read_pending(&text).unwrap_or_default()
}

/// Brings back the edits the journal still holds for `id` (the page went
/// away before IndexedDB had them, or before they were counted as waiting):
/// each is appended to the store, applied to `doc` and added to `pending`
/// unless already there. Returns the keys of the entries recovered, to be
/// removed once the list of waiting edits is saved. (An edit that only
/// deletes has no clock to wait for: it is not counted, and reaches the
/// server with the delete set every sync sends.)
async fn recover(
    journal: &Journal,
    store: &LocalStore,
    id: &DocId,
    doc: &Doc,
    pending: &mut Vec<PendingEdit>,
) -> Vec<String> {
    let mut keys = Vec::new();
    for entry in journal.entries() {
        let Ok(update) = Update::decode_v1(&entry.update) else {
            leptos::logging::error!("a journalled edit of {id} is not an update; left alone");
            continue;
        };
        if let Err(e) = store.append(id, &entry.update).await {
            // Kept in the journal for the next start.
            leptos::logging::error!("could not save a journalled edit of {id}: {e}");
            continue;
        }
        for (client, clock) in update.state_vector().iter() {
            let client = client.get();
            if !pending
                .iter()
                .any(|p| p.client == client && p.clock >= *clock)
            {
                pending.push(PendingEdit {
                    client,
                    clock: *clock,
                    at: entry.at,
                });
            }
        }
        let mut txn = doc.transact_mut_with(LOAD_ORIGIN);
        let _ = txn.apply_update(update);
        drop(txn);
        keys.push(entry.key);
    }
    keys
}

/// Whether the browser says it has a network.
pub fn browser_online() -> bool {
    web_sys::window().is_some_and(|w| w.navigator().on_line())
}

fn base_url() -> (String, String) {
    let location = web_sys::window().map(|w| w.location());
    let protocol = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .unwrap_or_else(|| "http:".into());
    let host = location
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_default();
    let ws = if protocol == "https:" { "wss:" } else { "ws:" };
    (format!("{protocol}//{host}"), format!("{ws}//{host}"))
}

impl DocSync {
    /// Loads `id` from IndexedDB (compacting it), then starts syncing if
    /// `signed_in` (else once it hears [`Event::SignedIn`]).
    pub async fn start(
        id: DocId,
        store: Rc<LocalStore>,
        hooks: Rc<SyncHooks>,
        signed_in: bool,
    ) -> Rc<DocSync> {
        let doc = new_doc();
        match store.load_and_compact(&id).await {
            Ok(Some(state)) => {
                if let Ok(update) = Update::decode_v1(&state) {
                    let mut txn = doc.transact_mut_with(LOAD_ORIGIN);
                    let _ = txn.apply_update(update);
                }
            }
            Ok(None) => {}
            Err(e) => leptos::logging::error!("the local copy of {id} cannot be read: {e}"),
        }
        let seed = (js_sys::Math::random() * u64::MAX as f64) as u64;
        let mut saved = store.pending(&id).await.unwrap_or_else(|e| {
            leptos::logging::error!("the pending edits of {id} cannot be read: {e}");
            Vec::new()
        });
        if saved.is_empty() {
            saved = legacy_pending(&legacy_pending_key(&hooks.namespace, &id));
        }
        let mut pending: Vec<PendingEdit> = saved
            .into_iter()
            .map(|(client, clock, at)| PendingEdit {
                client,
                clock,
                at: UnixMillis(at),
            })
            .collect();
        let journal = Journal::new(&hooks.namespace, &id, seed);
        let recovered = recover(&journal, &store, &id, &doc, &mut pending).await;
        let mut engine = SyncEngine::new(doc.clone(), pending, seed);
        if !signed_in {
            engine.handle(Event::SignedOut, now());
        }
        let sync = Rc::new(DocSync {
            id,
            doc,
            engine: RefCell::new(engine),
            socket: RefCell::new(None),
            generation: Cell::new(0),
            stopped: Cell::new(false),
            unsaved: Cell::new(0),
            journal,
            stored_journal: RefCell::new(recovered),
            store,
            hooks,
        });
        if !sync.stored_journal.borrow().is_empty() {
            sync.save_pending().await;
        }
        let weak = Rc::downgrade(&sync);
        let observed = sync
            .doc
            .observe_update_v1("plait-driver", move |txn, event| {
                let origin = txn.origin();
                let remote = origin.is_some_and(|o| {
                    o == &yrs::Origin::from(REMOTE_ORIGIN) || o == &yrs::Origin::from(LOAD_ORIGIN)
                });
                let update = event.update.clone();
                let weak = weak.clone();
                let mut journalled = None;
                if !remote {
                    if let Some(sync) = weak.upgrade() {
                        sync.unsaved.set(sync.unsaved.get() + 1);
                        // Synchronously, so a reload now cannot lose it.
                        journalled = sync.journal.write(&update, now());
                    }
                }
                // Deferred: the transaction is still open here.
                spawn_local(async move {
                    let Some(sync) = weak.upgrade().filter(|s| !s.stopped.get()) else {
                        return;
                    };
                    if !remote {
                        // The status shows the edit waiting while it is
                        // written here.
                        (sync.hooks.on_change)();
                        let stored = sync.store.append(&sync.id, &update).await;
                        if let Err(e) = &stored {
                            // The journal keeps it for the next start.
                            leptos::logging::error!("could not save an edit locally: {e}");
                        }
                        sync.unsaved.set(sync.unsaved.get().saturating_sub(1));
                        if let (Some(key), Ok(())) = (journalled, stored) {
                            // Removed by the list of waiting edits the
                            // engine now asks to save (Effect::Status).
                            sync.stored_journal.borrow_mut().push(key);
                        }
                        sync.handle(Event::LocalUpdate(update));
                    }
                    (sync.hooks.on_change)();
                });
            });
        if let Err(e) = observed {
            leptos::logging::error!("cannot watch the document: {e}");
        }
        if browser_online() {
            sync.handle(Event::Online);
        }
        sync
    }

    /// The document.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Its id.
    pub fn id(&self) -> &DocId {
        &self.id
    }

    /// Everyone else's awareness states on this document (client id, JSON
    /// object), while connected.
    pub fn presence(&self) -> Vec<(u64, String)> {
        self.engine
            .borrow()
            .presence()
            .states()
            .map(|(client, json)| (client, json.to_owned()))
            .collect()
    }

    /// The sync status.
    pub fn status(&self) -> Status {
        let mut status = self.engine.borrow().status();
        status.waiting += self.unsaved.get();
        if self.unsaved.get() > 0 {
            status.oldest = status.oldest.or(Some(now()));
        }
        status
    }

    /// Stops syncing for good (signing out): closes the socket, and no event
    /// is handled after this, so nothing more is written anywhere.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.generation.set(self.generation.get() + 1);
        self.socket.borrow_mut().take();
    }

    /// Feeds an event to the engine and carries out what it says.
    pub fn handle(self: &Rc<Self>, event: Event) {
        if self.stopped.get() {
            return;
        }
        let effects = self.engine.borrow_mut().handle(event, now());
        for effect in effects {
            self.perform(effect);
        }
    }

    fn perform(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::Connect => self.connect(),
            Effect::Disconnect => {
                self.generation.set(self.generation.get() + 1);
                self.socket.borrow_mut().take();
            }
            Effect::Send(frame) => {
                let socket = self.socket.borrow();
                if let Some(socket) = socket.as_ref() {
                    let _ = socket.ws.send_with_u8_array(&frame);
                }
            }
            Effect::HttpSync(body) => self.http_sync(body),
            Effect::Persist(update) => {
                let sync = self.clone();
                spawn_local(async move {
                    if let Err(e) = sync.store.append(&sync.id, &update).await {
                        leptos::logging::error!("could not save a change locally: {e}");
                    }
                });
            }
            Effect::Status => {
                let sync = self.clone();
                spawn_local(async move {
                    sync.save_pending().await;
                    (sync.hooks.on_change)();
                });
            }
            Effect::CheckSession => (self.hooks.on_notice)(Notice::CheckSession),
            Effect::Refused(refusals) => {
                (self.hooks.on_notice)(Notice::Refused(self.id.clone(), refusals));
            }
            Effect::Presence => (self.hooks.on_presence)(),
            Effect::TickAt(at) => {
                let weak = Rc::downgrade(self);
                let tick = Closure::once_into_js(move || {
                    if let Some(sync) = weak.upgrade() {
                        sync.handle(Event::Tick);
                    }
                });
                if let Some(window) = web_sys::window() {
                    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                        tick.unchecked_ref(),
                        (at.0 - now().0).clamp(0, 60_000) as i32,
                    );
                }
            }
        }
    }

    /// Saves the engine's list of waiting edits, as it is now, to this
    /// device's store; then the journal entries it covers go.
    async fn save_pending(&self) {
        let covered = std::mem::take(&mut *self.stored_journal.borrow_mut());
        let pending: Vec<(u64, u32, i64)> = self
            .engine
            .borrow()
            .pending()
            .iter()
            .map(|p| (p.client, p.clock, p.at.0))
            .collect();
        // IndexedDB runs read-write transactions on one store in the order
        // they were opened (here, before the first await): the last list
        // wins.
        match self.store.save_pending(&self.id, &pending).await {
            Ok(()) => covered.iter().for_each(|key| Journal::remove(key)),
            Err(e) => {
                leptos::logging::error!("could not save the pending edits: {e}");
                self.stored_journal.borrow_mut().extend(covered);
            }
        }
    }

    fn connect(self: &Rc<Self>) {
        self.socket.borrow_mut().take();
        let (_, ws_base) = base_url();
        let path = plait_shared::api::address::sync(self.id.as_str(), true, None);
        let Ok(ws) = WebSocket::new(&format!("{ws_base}{path}")) else {
            let sync = self.clone();
            spawn_local(async move {
                sync.handle(Event::Closed {
                    code: close::ABNORMAL,
                })
            });
            return;
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let weak = Rc::downgrade(self);
        let on_open = Closure::<dyn FnMut(JsValue)>::new({
            let weak = weak.clone();
            move |_: JsValue| {
                if let Some(sync) = weak.upgrade() {
                    sync.handle(Event::Opened);
                }
            }
        });
        let on_message = Closure::<dyn FnMut(JsValue)>::new({
            let weak = weak.clone();
            move |event: JsValue| {
                let Some(sync) = weak.upgrade() else { return };
                let Ok(event) = event.dyn_into::<MessageEvent>() else {
                    return;
                };
                if let Ok(buffer) = event.data().dyn_into::<js_sys::ArrayBuffer>() {
                    let frame = js_sys::Uint8Array::new(&buffer).to_vec();
                    sync.handle(Event::Frame(frame));
                }
            }
        });
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(sync) = weak.upgrade() else { return };
            let (code, reason) = event
                .dyn_into::<CloseEvent>()
                .map_or((close::ABNORMAL, String::new()), |e| (e.code(), e.reason()));
            if code == plait_shared::protocol::close::FORBIDDEN && !sync.stopped.get() {
                (sync.hooks.on_notice)(Notice::RefusedWhole(sync.id.clone(), reason));
            }
            // Deferred: dropping the socket inside its own handler is not
            // allowed. A newer socket may exist by then: leave it alone.
            spawn_local(async move {
                if sync.generation.get() == generation {
                    sync.socket.borrow_mut().take();
                    sync.handle(Event::Closed { code });
                }
            });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *self.socket.borrow_mut() = Some(Socket {
            ws,
            _handlers: [on_open, on_message, on_close],
        });
    }

    fn http_sync(self: &Rc<Self>, body: Vec<u8>) {
        let sync = self.clone();
        spawn_local(async move {
            let csrf = sync.hooks.csrf.borrow().clone();
            let event = match crate::api::sync_over_http(&sync.id, &body, &csrf).await {
                Ok(answer) => Event::HttpAnswer(answer),
                Err(Some(401 | 403)) => Event::HttpDenied,
                Err(_) => Event::HttpFailed,
            };
            sync.handle(event);
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;
    use yrs::{Text, Transact};

    /// An edit counts as waiting from the moment it is made: while it is
    /// still being written to this device's store the status must not say
    /// "all saved" (it did, for the length of the IndexedDB write, and a
    /// reload then lost the edit). Against a real IndexedDB, signed out so
    /// nothing is sent.
    #[wasm_bindgen_test]
    async fn an_edit_is_waiting_from_the_moment_it_is_made() {
        let (name, store, hooks) = fresh().await;
        let hooks = hooks();
        let sync = DocSync::start(
            DocId::new("doc-waiting").unwrap(),
            store.clone(),
            hooks,
            false,
        )
        .await;
        assert_eq!(sync.status().waiting, 0);
        {
            let text = sync.doc().get_or_insert_text("notes");
            let mut txn = sync.doc().transact_mut();
            text.insert(&mut txn, 0, "an edit");
        }
        // At once: the store has not been written yet.
        assert_eq!(sync.status().waiting, 1, "waiting before it is stored");
        assert!(!sync.status().all_saved());
        // Stored on this device, still waiting for the server.
        let _ = store.pending(&DocId::new("doc-waiting").unwrap()).await;
        settle().await;
        assert_eq!(sync.status().waiting, 1, "waiting once stored");
        sync.stop();
        drop(sync);
        drop(store);
        LocalStore::delete_database(&name).await.ok();
    }

    /// An edit made a moment before the page goes away (its IndexedDB
    /// write never happens) is back at the next start, written to the
    /// store and counted as waiting; the journal is then empty, and a
    /// third start finds it in the store alone. Without the journal the
    /// second start had no edit at all (the offline-reload browser test
    /// lost one so in CI).
    #[wasm_bindgen_test]
    async fn an_edit_survives_the_page_going_away_before_it_is_stored() {
        let (name, store, hooks) = fresh().await;
        let doc = DocId::new("doc-journal").unwrap();
        let text = |sync: &DocSync| {
            let text = sync.doc().get_or_insert_text("notes");
            let txn = sync.doc().transact();
            yrs::GetString::get_string(&text, &txn)
        };
        let first = DocSync::start(doc.clone(), store.clone(), hooks(), false).await;
        {
            let text = first.doc().get_or_insert_text("notes");
            let mut txn = first.doc().transact_mut();
            text.insert(&mut txn, 0, "made just before a reload");
        }
        // The page goes away: the deferred write to IndexedDB never runs.
        first.stop();
        drop(first);
        settle().await;
        assert_eq!(store.pending(&doc).await.unwrap(), vec![], "nothing stored");

        let second = DocSync::start(doc.clone(), store.clone(), hooks(), false).await;
        assert_eq!(text(&second), "made just before a reload");
        assert_eq!(second.status().waiting, 1, "counted as waiting");
        assert!(
            Journal::new(&format!("{name}:"), &doc, 0)
                .entries()
                .is_empty(),
            "journal emptied"
        );
        second.stop();
        drop(second);

        let third = DocSync::start(doc.clone(), store.clone(), hooks(), false).await;
        assert_eq!(
            text(&third),
            "made just before a reload",
            "from the store alone"
        );
        assert_eq!(third.status().waiting, 1);
        third.stop();
        drop(third);
        drop(store);
        LocalStore::delete_database(&name).await.ok();
    }

    /// A normal edit leaves nothing in the journal once it is stored.
    #[wasm_bindgen_test]
    async fn a_stored_edit_leaves_the_journal_empty() {
        let (name, store, hooks) = fresh().await;
        let doc = DocId::new("doc-journal").unwrap();
        let hooks = hooks();
        let sync = DocSync::start(doc.clone(), store.clone(), hooks, false).await;
        {
            let text = sync.doc().get_or_insert_text("notes");
            let mut txn = sync.doc().transact_mut();
            text.insert(&mut txn, 0, "an edit");
        }
        let journal = Journal::new(&format!("{name}:"), &doc, 0);
        assert_eq!(journal.entries().len(), 1, "journalled at once");
        settle().await;
        assert!(journal.entries().is_empty(), "gone once stored");
        assert_eq!(store.pending(&doc).await.unwrap().len(), 1);
        sync.stop();
        drop(sync);
        drop(store);
        LocalStore::delete_database(&name).await.ok();
    }

    /// A fresh store (a database of its own) and hooks that do nothing,
    /// their `localStorage` keys under the same fresh name.
    async fn fresh() -> (String, Rc<LocalStore>, impl Fn() -> Rc<SyncHooks>) {
        let name = format!("test-sync-{}", (js_sys::Math::random() * 1e15) as u64);
        let store = Rc::new(LocalStore::open(&name).await.expect("open"));
        let namespace = format!("{name}:");
        let hooks = move || {
            Rc::new(SyncHooks {
                namespace: namespace.clone(),
                csrf: RefCell::new(String::new()),
                on_change: Box::new(|| {}),
                on_notice: Box::new(|_| {}),
                on_presence: Box::new(|| {}),
            })
        };
        (name, store, hooks)
    }

    /// Lets the browser run what it has queued (the store's write).
    async fn settle() {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 50);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}
