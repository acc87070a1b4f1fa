//! The workspace: the programme's documents in this browser, kept in
//! IndexedDB and in sync with the server, and who is using them.
//!
//! Views never hold document data: they read it through [`Workspace`]
//! methods that depend on `revision`, which bumps after every change, so
//! every derived view (counts, lists, an action) recomputes when the
//! documents change, whether by a local edit or by sync.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use leptos::prelude::*;
use plait_shared::{DocId, PlanDoc, PlanView, ProgrammeDoc, ProgrammeView, Role, UserId};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yrs::Transact;

use crate::storage::LocalStore;
use crate::sync::driver::{browser_online, DocSync};
use crate::sync::engine::{Event, Status};

/// The programme the client opens (one programme until accounts arrive).
pub const PROGRAMME_ID: &str = "demo";

/// Who is acting, and in which role (a switch until real accounts arrive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person.
    pub user: UserId,
    /// Their role in this programme.
    pub role: Role,
}

#[derive(Default)]
struct Docs {
    store: Option<Rc<LocalStore>>,
    programme: Option<Rc<DocSync>>,
    plans: BTreeMap<DocId, Rc<DocSync>>,
    /// Plans being loaded, so a second change does not start them twice.
    starting: std::collections::BTreeSet<DocId>,
    ready: bool,
}

/// The state every page reads.
#[derive(Clone, Copy)]
pub struct Workspace {
    docs: StoredValue<RefCell<Docs>, LocalStorage>,
    /// Bumps after every change to any document or sync status.
    pub revision: RwSignal<u64>,
    /// Whether the local copy has been read (pages show "loading" until then).
    pub ready: RwSignal<bool>,
    /// Who is acting.
    pub actor: RwSignal<Actor>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace").finish_non_exhaustive()
    }
}

fn stored_actor() -> Actor {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let get = |key: &str| {
        storage
            .as_ref()
            .and_then(|s| s.get_item(key).ok().flatten())
    };
    Actor {
        user: get("plait-user")
            .and_then(|u| UserId::new(u).ok())
            .or_else(|| UserId::new("L. Brennan").ok())
            .unwrap_or_else(|| unreachable!("a literal id is valid")),
        role: get("plait-role")
            .and_then(|r| r.parse().ok())
            .unwrap_or(Role::Contributor),
    }
}

/// Creates the workspace, starts loading and syncing, and provides it.
pub fn provide_workspace_context() -> Workspace {
    let workspace = Workspace {
        docs: StoredValue::new_local(RefCell::new(Docs::default())),
        revision: RwSignal::new(0),
        ready: RwSignal::new(false),
        actor: RwSignal::new(stored_actor()),
    };
    provide_context(workspace);
    Effect::new(move |_| {
        let actor = workspace.actor.get();
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item("plait-user", actor.user.as_str());
            let _ = storage.set_item("plait-role", actor.role.key());
        }
    });
    wasm_bindgen_futures::spawn_local(async move { workspace.start().await });
    workspace
}

/// The workspace provided by the app.
pub fn use_workspace() -> Workspace {
    expect_context::<Workspace>()
}

impl Workspace {
    async fn start(self) {
        let store = match LocalStore::open("default").await {
            Ok(store) => Rc::new(store),
            Err(e) => {
                leptos::logging::error!("this browser's storage cannot be opened: {e}");
                return;
            }
        };
        let Ok(id) = DocId::new(PROGRAMME_ID) else {
            return;
        };
        let on_change: Rc<dyn Fn()> = Rc::new(move || self.changed());
        let programme = DocSync::start(id, store.clone(), on_change).await;
        self.docs.with_value(|docs| {
            let mut docs = docs.borrow_mut();
            docs.store = Some(store);
            docs.programme = Some(programme);
        });
        self.listen_to_the_network();
        self.start_plans().await;
        self.docs.with_value(|docs| docs.borrow_mut().ready = true);
        self.ready.set(true);
        self.revision.update(|r| *r += 1);
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
            let store = self.docs.with_value(|docs| {
                let mut docs = docs.borrow_mut();
                let new = !docs.plans.contains_key(&id) && docs.starting.insert(id.clone());
                docs.store.clone().filter(|_| new)
            });
            let Some(store) = store else {
                continue;
            };
            let on_change: Rc<dyn Fn()> = Rc::new(move || self.changed());
            let plan = DocSync::start(id.clone(), store, on_change).await;
            self.docs.with_value(|docs| {
                let mut docs = docs.borrow_mut();
                docs.starting.remove(&id);
                docs.plans.insert(id, plan);
            });
        }
        self.revision.update(|r| *r += 1);
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

    fn listen_to_the_network(self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let broadcast = move |event: Event| {
            for sync in self.all_syncs() {
                sync.handle(event.clone());
            }
        };
        let online = Closure::<dyn FnMut()>::new(move || broadcast(Event::Online));
        let offline = Closure::<dyn FnMut()>::new(move || broadcast(Event::Offline));
        let tick = Closure::<dyn FnMut()>::new(move || broadcast(Event::Tick));
        let _ = window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        let _ =
            window.add_event_listener_with_callback("offline", offline.as_ref().unchecked_ref());
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            1000,
        );
        // They live as long as the page.
        online.forget();
        offline.forget();
        tick.forget();
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
