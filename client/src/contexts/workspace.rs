//! The workspace: the signed-in person's documents in this browser, kept in
//! their own IndexedDB store and in sync with the server while their session
//! is live.
//!
//! Views never hold document data: they read it through [`Workspace`]
//! methods that depend on `revision`, which bumps after every change, so
//! every derived view (counts, lists, an action) recomputes when the
//! documents change, whether by a local edit or by sync.
//!
//! Presence (who else has a plan open) is read the same way through
//! [`Workspace::peers`], which depends on its own signal: a colleague's
//! caret moving re-renders the carets, not the page.
//!
//! One workspace per page load and per person: signing out deletes their
//! local data and reloads the page; signing in as someone else reloads it
//! too.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use leptos::prelude::*;
use plait_shared::{DocId, PlanDoc, PlanView, ProgrammeDoc, ProgrammeView};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yrs::Transact;

use crate::api::{self, Account, ApiError, Member};
use crate::contexts::notices::Notices;
use crate::contexts::session::{Session, SessionContext};
use crate::storage::LocalStore;
use crate::sync::driver::{browser_online, DocSync, Notice, SyncHooks};
use crate::sync::engine::{Event, Status};

#[derive(Default)]
struct Docs {
    store: Option<Rc<LocalStore>>,
    hooks: Option<Rc<SyncHooks>>,
    programme: Option<Rc<DocSync>>,
    plans: BTreeMap<DocId, Rc<DocSync>>,
    /// Plans being loaded, so a second change does not start them twice.
    starting: std::collections::BTreeSet<DocId>,
    /// Signing out: nothing more is started.
    stopped: bool,
    /// A session check is out, or when the last one went (ms).
    checking: bool,
    last_check: f64,
    members_fetched: bool,
    /// This person's presence on each plan (JSON), as the page open set it.
    presence: BTreeMap<DocId, String>,
    /// The latest claim on it ([`Workspace::claim_presence`]).
    presence_owner: u64,
}

/// Someone else on a plan, as the server named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Their awareness client id (one per tab).
    pub client: u64,
    /// Their user name, as the server set it.
    pub user: String,
    /// Their display name, as the server set it.
    pub name: String,
    /// This same person, in another tab or browser.
    pub mine: bool,
    /// What they have open, and their caret.
    pub state: plait_shared::presence::PeerState,
}

/// The signed-in person's documents in this browser and their sync: what
/// every page reads the programme and its plans from.
#[derive(Clone, Copy)]
pub struct Workspace {
    docs: StoredValue<RefCell<Docs>, LocalStorage>,
    /// Bumps after every change to any document or sync status.
    pub revision: RwSignal<u64>,
    /// Whether the local copy has been read (pages show "loading" until then).
    pub ready: RwSignal<bool>,
    /// The programme's members (for names), kept for offline use.
    pub members: RwSignal<Vec<Member>>,
    /// The signed-in person (also its own context).
    session: SessionContext,
    /// What to tell the person (also its own context).
    notices: Notices,
    /// The programme open (`None` on the programmes list: no documents).
    programme: StoredValue<Option<DocId>>,
    /// Evidence files on their way to the server (also its own context).
    uploads: crate::uploads::Uploads,
    /// Bumps when anyone else's presence changes.
    presence: RwSignal<u64>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace").finish_non_exhaustive()
    }
}

/// Creates the workspace of `account` in `programme` (none: the programmes
/// list, with no documents), starts loading and syncing, and provides it.
/// `live` when the account has just signed in.
pub fn provide_workspace_context(
    account: Account,
    programme: Option<DocId>,
    live: bool,
) -> Workspace {
    let members = programme
        .as_ref()
        .map(|p| api::cached_members(&account.username, p.as_str()))
        .unwrap_or_default();
    if let Some(programme) = &programme {
        api::remember_programme(&account.username, programme);
    }
    let workspace = Workspace {
        docs: StoredValue::new_local(RefCell::new(Docs::default())),
        revision: RwSignal::new(0),
        ready: RwSignal::new(false),
        members: RwSignal::new(members),
        session: SessionContext::new(account, programme.clone(), live),
        notices: Notices::default(),
        programme: StoredValue::new(programme),
        uploads: crate::uploads::Uploads::provide(),
        presence: RwSignal::new(0),
    };
    provide_context(workspace);
    provide_context(workspace.session);
    provide_context(workspace.notices);
    if live {
        workspace.fetch_members();
    } else {
        workspace.check_session();
    }
    wasm_bindgen_futures::spawn_local(async move { workspace.start().await });
    workspace
}

/// The workspace provided by the app.
pub fn use_workspace() -> Workspace {
    expect_context::<Workspace>()
}

fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().replace("/");
    }
}

impl Workspace {
    /// The programme open (`None` on the programmes list).
    pub fn programme_id(self) -> Option<DocId> {
        self.programme.get_value()
    }

    async fn start(self) {
        let user = self.session.account.get_untracked().username.clone();
        let store = match LocalStore::open(&api::store_name(&user)).await {
            Ok(store) => Rc::new(store),
            Err(e) => {
                leptos::logging::error!("this browser's storage cannot be opened: {e}");
                return;
            }
        };
        let Some(id) = self.programme_id() else {
            // The programmes list: nothing to sync, but the store is open
            // (signing out deletes it).
            self.docs
                .with_value(|docs| docs.borrow_mut().store = Some(store));
            self.ready.set(true);
            return;
        };
        let hooks = Rc::new(SyncHooks {
            namespace: api::user_prefix(&user),
            csrf: RefCell::new(self.session.account.get_untracked().csrf.clone()),
            on_change: Box::new(move || self.changed()),
            on_notice: Box::new(move |notice| self.notice(notice)),
            on_presence: Box::new(move || self.presence.update(|r| *r += 1)),
        });
        let programme = DocSync::start(id, store.clone(), hooks.clone(), self.live()).await;
        let stopped = self.docs.with_value(|docs| {
            let mut docs = docs.borrow_mut();
            docs.store = Some(store);
            docs.hooks = Some(hooks);
            docs.programme = Some(programme.clone());
            docs.stopped
        });
        self.catch_up(&programme, stopped);
        if stopped {
            return;
        }
        self.listen_to_the_browser();
        self.start_plans().await;
        self.ready.set(true);
        self.revision.update(|r| *r += 1);
        self.send_uploads();
    }

    /// This user's local store, once open.
    pub fn store(self) -> Option<Rc<LocalStore>> {
        self.docs.with_value(|docs| docs.borrow().store.clone())
    }

    /// Sends the evidence files kept on this device, when the session is
    /// live and the browser online.
    pub fn send_uploads(self) {
        if !self.live() || !browser_online() {
            return;
        }
        if let Some(store) = self.store() {
            self.uploads
                .run(store, self.session.account.get_untracked().csrf.clone());
        }
    }

    fn live(self) -> bool {
        self.session.state.get_untracked() == Session::Live
    }

    /// A document that was loading while the session was confirmed (or
    /// signing out began) missed the news.
    fn catch_up(self, sync: &Rc<DocSync>, stopped: bool) {
        if stopped {
            sync.stop();
        } else if self.live() {
            sync.handle(Event::SignedIn);
        }
    }

    fn changed(self) {
        self.revision.update(|r| *r += 1);
        let known: Vec<DocId> = self.docs.with_value(|docs| {
            let docs = docs.borrow();
            docs.plans
                .keys()
                .chain(docs.starting.iter())
                .cloned()
                .collect()
        });
        let listed = self
            .programme_view()
            .map(|p| p.plans.keys().cloned().collect::<Vec<_>>());
        if listed.is_some_and(|listed| listed.iter().any(|id| !known.contains(id))) {
            wasm_bindgen_futures::spawn_local(async move { self.start_plans().await });
        }
    }

    /// Starts syncing every plan the programme lists that is not started yet.
    async fn start_plans(self) {
        let Some(listed) = self
            .programme_view()
            .map(|p| p.plans.keys().cloned().collect::<Vec<_>>())
        else {
            return;
        };
        for id in listed {
            let started = self.docs.with_value(|docs| {
                let mut docs = docs.borrow_mut();
                let new = !docs.stopped
                    && !docs.plans.contains_key(&id)
                    && docs.starting.insert(id.clone());
                docs.store.clone().zip(docs.hooks.clone()).filter(|_| new)
            });
            let Some((store, hooks)) = started else {
                continue;
            };
            let plan = DocSync::start(id.clone(), store, hooks, self.live()).await;
            let stopped = self.docs.with_value(|docs| {
                let mut docs = docs.borrow_mut();
                docs.starting.remove(&id);
                if !docs.stopped {
                    docs.plans.insert(id, plan.clone());
                }
                docs.stopped
            });
            self.catch_up(&plan, stopped);
            let mine = self
                .docs
                .with_value(|docs| docs.borrow().presence.get(plan.id()).cloned());
            plan.handle(Event::LocalPresence(mine));
        }
        self.revision.update(|r| *r += 1);
    }

    /// Claims this person's presence for the page being opened: the token
    /// to [`Self::announce`] and [`Self::leave`] with. A page that has gone
    /// can no longer change it, whichever order pages open and close in.
    pub fn claim_presence(self) -> u64 {
        self.docs.with_value(|docs| {
            let mut docs = docs.borrow_mut();
            docs.presence_owner += 1;
            docs.presence_owner
        })
    }

    /// Tells the others on each plan in `states` what this person has open
    /// there (nothing on the other plans), if `token` is the latest claim.
    pub fn announce(
        self,
        token: u64,
        states: BTreeMap<DocId, plait_shared::presence::LocalPresence>,
    ) {
        let states = states
            .into_iter()
            .filter_map(|(id, state)| Some((id, crate::json::to_string(&state)?)))
            .collect();
        let current = self.docs.with_value(|docs| {
            let mut docs = docs.borrow_mut();
            let current = docs.presence_owner == token;
            if current {
                docs.presence = states;
            }
            current
        });
        if current {
            self.send_presence();
        }
    }

    /// The page of `token` has gone: this person is on no plan (unless a
    /// newer page has claimed their presence).
    pub fn leave(self, token: u64) {
        self.announce(token, BTreeMap::new());
    }

    fn send_presence(self) {
        let states: Vec<(Rc<DocSync>, Option<String>)> = self.docs.with_value(|docs| {
            let docs = docs.borrow();
            docs.plans
                .iter()
                .map(|(id, sync)| (sync.clone(), docs.presence.get(id).cloned()))
                .collect()
        });
        for (sync, state) in states {
            sync.handle(Event::LocalPresence(state));
        }
    }

    /// Everyone else on `plan` now, named by the server (states without
    /// its `user` are left out); tracks presence changes only.
    pub fn peers(self, plan: &DocId) -> Vec<Peer> {
        self.presence.track();
        let me = self
            .session
            .account
            .with_untracked(|a| a.username.to_string());
        let states = self.docs.with_value(|docs| {
            docs.borrow()
                .plans
                .get(plan)
                .map(|sync| sync.presence())
                .unwrap_or_default()
        });
        states
            .into_iter()
            .filter_map(|(client, json)| {
                let state: plait_shared::presence::PeerState = crate::json::from_str(&json).ok()?;
                let user = state.user.clone()?;
                Some(Peer {
                    client,
                    mine: user.id == me,
                    user: user.id,
                    name: user.name,
                    state,
                })
            })
            .collect()
    }

    fn all_syncs(self) -> Vec<Rc<DocSync>> {
        self.docs.with_value(|docs| {
            let docs = docs.borrow();
            docs.programme
                .iter()
                .chain(docs.plans.values())
                .cloned()
                .collect()
        })
    }

    fn broadcast(self, event: Event) {
        for sync in self.all_syncs() {
            sync.handle(event.clone());
        }
    }

    fn listen_to_the_browser(self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let online = Closure::<dyn FnMut()>::new(move || {
            self.broadcast(Event::Online);
            if !self.live() {
                self.check_session();
            }
            self.send_uploads();
            wasm_bindgen_futures::spawn_local(api::end_pending_logout());
        });
        let offline = Closure::<dyn FnMut()>::new(move || self.broadcast(Event::Offline));
        let tick = Closure::<dyn FnMut()>::new(move || self.broadcast(Event::Tick));
        // Leaving the page (closing the tab, or into the back-forward
        // cache): gone from everyone's presence at once; back: here again.
        let hide = Closure::<dyn FnMut()>::new(move || self.broadcast(Event::LocalPresence(None)));
        let show = Closure::<dyn FnMut()>::new(move || self.send_presence());
        // Another tab signed out, or in as someone else: this page's data is
        // no longer the remembered account's.
        let user = self.session.account.get_untracked().username.clone();
        let storage = Closure::<dyn FnMut()>::new(move || {
            if Account::remembered().is_none_or(|a| a.username != user) {
                self.stop_syncing();
                reload();
            }
        });
        for (name, listener) in [
            ("online", &online),
            ("offline", &offline),
            ("storage", &storage),
            ("pagehide", &hide),
            ("pageshow", &show),
        ] {
            let _ =
                window.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            1000,
        );
        // They live as long as the page.
        online.forget();
        offline.forget();
        tick.forget();
        storage.forget();
        hide.forget();
        show.forget();
    }

    fn notice(self, notice: Notice) {
        let texts: Vec<String> = match notice {
            Notice::CheckSession => {
                self.check_session();
                return;
            }
            Notice::Refused(doc, refusals) => {
                let plan = self.plan_doc(&doc);
                let mut texts: Vec<String> = refusals
                    .changes
                    .into_iter()
                    .map(|refused| {
                        let reference = refused
                            .change
                            .action()
                            .and_then(|id| {
                                let plan = plan.as_ref()?;
                                plan.read_action(&plan.doc().transact(), id)
                            })
                            .map(|a| a.reference)
                            .unwrap_or_default();
                        let what = refused.change.to_string();
                        let why = refused.reason;
                        if reference.is_empty() {
                            format!("Not saved: {what} — {why}")
                        } else {
                            format!("Not saved: {what} on {reference} — {why}")
                        }
                    })
                    .collect();
                texts.extend(refusals.whole.map(|why| format!("Not saved: {why}")));
                texts
            }
            Notice::RefusedWhole(_, reason) => vec![format!("Not saved: {reason}")],
        };
        for text in texts {
            self.notices.push(text);
        }
    }

    /// Asks the server whether the session is live (at most one question at
    /// a time, and one every two seconds), and acts on the answer.
    pub fn check_session(self) {
        if self.session.state.get_untracked() == Session::Ended {
            return;
        }
        let now = crate::browser::now().0 as f64;
        let go = self.docs.with_value(|docs| {
            let mut docs = docs.borrow_mut();
            let go = !docs.stopped && !docs.checking && now - docs.last_check >= 2000.0;
            if go {
                docs.checking = true;
                docs.last_check = now;
            }
            go
        });
        if !go {
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            let answer = api::me().await;
            self.docs.with_value(|docs| {
                let mut docs = docs.borrow_mut();
                docs.checking = false;
                if answer == Err(ApiError::Offline) {
                    // Ask again as soon as the network is back.
                    docs.last_check = 0.0;
                }
            });
            match answer {
                Ok(account)
                    if account.username == self.session.account.get_untracked().username =>
                {
                    self.signed_in(account);
                }
                // The cookie is someone else's (signed in in another tab):
                // this person must sign in again before their edits go.
                Ok(_) | Err(ApiError::SignedOut) => self.session_ended(),
                Err(_) => {}
            }
        });
    }

    fn session_ended(self) {
        if self.session.state.get_untracked() != Session::Ended {
            self.session.state.set(Session::Ended);
            self.broadcast(Event::SignedOut);
        }
    }

    /// The account's session is live (just signed in again, or checked):
    /// remember it and sync.
    pub fn signed_in(self, account: Account) {
        account.remember();
        self.docs.with_value(|docs| {
            if let Some(hooks) = &docs.borrow().hooks {
                hooks.csrf.replace(account.csrf.clone());
            }
        });
        if self.session.account.get_untracked() != account {
            self.session.account.set(account);
        }
        // Only when it changes: setting it re-renders the page, and would
        // throw away what the person was doing (a file chosen, say).
        if self.session.signing_in.get_untracked() {
            self.session.signing_in.set(false);
        }
        if !self.live() {
            self.session.state.set(Session::Live);
            self.broadcast(Event::SignedIn);
        }
        self.fetch_members();
        self.send_uploads();
    }

    fn fetch_members(self) {
        let first = self
            .docs
            .with_value(|docs| !std::mem::replace(&mut docs.borrow_mut().members_fetched, true));
        if !first {
            return;
        }
        let user = self.session.account.get_untracked().username.clone();
        let Some(programme) = self.programme_id() else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            match api::members(&user, programme.as_str()).await {
                Ok(members) => self.members.set(members),
                Err(_) => self
                    .docs
                    .with_value(|d| d.borrow_mut().members_fetched = false),
            }
        });
    }

    /// A person's display name, when they are a member (tracks the list).
    pub fn name_of(self, user: &str) -> String {
        self.members.with(|members| {
            members
                .iter()
                .find(|m| m.username.as_str() == user)
                .map_or_else(|| user.to_owned(), |m| m.name.clone())
        })
    }

    /// Stops every document's sync for good.
    fn stop_syncing(self) {
        let syncs = self.docs.with_value(|docs| {
            let mut docs = docs.borrow_mut();
            docs.stopped = true;
            docs.store = None;
            docs.hooks = None;
            let mut syncs: Vec<Rc<DocSync>> = docs.programme.take().into_iter().collect();
            syncs.extend(std::mem::take(&mut docs.plans).into_values());
            syncs
        });
        for sync in syncs {
            sync.stop();
        }
    }

    /// Signs out: ends the session on the server (later, if offline), stops
    /// syncing, deletes this person's local data (documents and edits not
    /// yet synced included) and shows the sign-in page.
    pub async fn sign_out(self) {
        let account = self.session.account.get_untracked();
        api::logout(&account.csrf).await;
        self.stop_syncing();
        if let Err(e) = LocalStore::delete_database(&api::store_name(&account.username)).await {
            leptos::logging::error!("this device's copy could not be deleted: {e}");
        }
        api::forget_user(&account.username);
        if let Some(session) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
            let _ = session.set_item(crate::browser::SIGNED_OUT_KEY, "1");
        }
        reload();
    }

    /// The programme, read (tracks `revision`).
    pub fn programme_view(self) -> Option<ProgrammeView> {
        self.revision.track();
        self.docs.with_value(|docs| {
            let docs = docs.borrow();
            let sync = docs.programme.as_ref()?;
            let programme = ProgrammeDoc::new(sync.doc().clone());
            let view = programme.read(&sync.doc().transact());
            (!view.info.name.is_empty() || !view.plans.is_empty()).then_some(view)
        })
    }

    /// The programme's governance settings (the defaults until its
    /// document is here; tracks `revision`).
    pub fn rules(self) -> plait_shared::Governance {
        self.revision.track();
        self.docs.with_value(|docs| {
            let docs = docs.borrow();
            docs.programme
                .as_ref()
                .map_or_else(Default::default, |sync| {
                    ProgrammeDoc::new(sync.doc().clone()).governance(&sync.doc().transact())
                })
        })
    }

    /// Every plan, read (tracks `revision`).
    pub fn plan_views(self) -> Vec<(DocId, PlanView)> {
        self.revision.track();
        self.docs.with_value(|docs| {
            docs.borrow()
                .plans
                .iter()
                .map(|(id, sync)| {
                    let plan = PlanDoc::new(sync.doc().clone());
                    (id.clone(), plan.read(&sync.doc().transact()))
                })
                .collect()
        })
    }

    /// Writes into the programme's document in one transaction (kept on
    /// this device, synced when online); whether it was here to write.
    pub fn edit_programme(self, f: impl FnOnce(&ProgrammeDoc, &mut yrs::TransactionMut)) -> bool {
        let Some(programme) = self.programme_doc() else {
            return false;
        };
        let doc = programme.doc().clone();
        let mut txn = doc.transact_mut();
        f(&programme, &mut txn);
        true
    }

    /// The programme's document, for editing (its admin's set-up page).
    pub fn programme_doc(self) -> Option<ProgrammeDoc> {
        self.docs.with_value(|docs| {
            docs.borrow()
                .programme
                .as_ref()
                .map(|sync| ProgrammeDoc::new(sync.doc().clone()))
        })
    }

    /// The programme's members again from the server (after a change).
    pub fn refresh_members(self) {
        self.docs
            .with_value(|docs| docs.borrow_mut().members_fetched = false);
        self.fetch_members();
    }

    /// One plan's document, for editing.
    pub fn plan_doc(self, id: &DocId) -> Option<PlanDoc> {
        self.docs.with_value(|docs| {
            docs.borrow()
                .plans
                .get(id)
                .map(|sync| PlanDoc::new(sync.doc().clone()))
        })
    }

    /// The sync status over every document (tracks `revision`).
    pub fn status(self) -> Status {
        self.revision.track();
        let syncs = self.all_syncs();
        let statuses: Vec<Status> = syncs.iter().map(|s| s.status()).collect();
        Status {
            online: browser_online(),
            connected: !statuses.is_empty() && statuses.iter().all(|s| s.connected),
            waiting: statuses.iter().map(|s| s.waiting).sum(),
            oldest: statuses.iter().filter_map(|s| s.oldest).min(),
            last_synced: if statuses.iter().all(|s| s.last_synced.is_some()) {
                statuses.iter().filter_map(|s| s.last_synced).min()
            } else {
                None
            },
        }
    }
}
