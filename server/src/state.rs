//! What every handler shares: the documents, the accounts, the audit trail,
//! the evidence files, the configuration and the server's limits.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accounts::{self, Accounts, Closing};
use crate::audit::Audit;
use crate::blobs;
use crate::config::Config;
use crate::digest::Digests;
use crate::error::AppError;
use crate::kv::{Keyspace, Storage};
use crate::limiter::SignInLimiter;
use crate::metrics::Metrics;
use crate::registry::{self, Registry};
use crate::store::{DocStore, Notice, StoreError};

/// Each open programme's governance settings, by programme.
pub type RulesMap =
    Arc<std::sync::Mutex<std::collections::HashMap<plait_shared::DocId, registry::RulesCell>>>;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The documents in memory.
    pub registry: Arc<Registry>,
    /// The configuration.
    pub config: Arc<Config>,
    /// Cancelled when the server is shutting down.
    pub shutdown: CancellationToken,
    /// Every connection and background task, to wait for at shutdown.
    pub tasks: TaskTracker,
    /// Accounts, sessions, programme membership.
    pub accounts: Arc<Accounts>,
    /// The audit trail.
    pub audit: Audit,
    /// The sign-in rate limit.
    pub limiter: Arc<SignInLimiter>,
    /// Turns at hashing a password (argon2 takes tens of megabytes and
    /// tens of milliseconds each): one per core.
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Turns at reading a body before a session is known (sign-ins).
    pub unauthenticated_bodies: Arc<tokio::sync::Semaphore>,
    /// Evidence files.
    pub blobs: blobs::Blobs,
    /// Each open programme's governance settings, shared by every
    /// connection to its documents.
    pub rules: RulesMap,
    /// On a store nodes share, the programmes whose settings are in
    /// `rules`, held in memory so they follow the other nodes.
    pub followed:
        Arc<std::sync::Mutex<std::collections::HashMap<plait_shared::DocId, registry::Lease>>>,
    /// The whole store (documents and trees), for backups and checks.
    pub storage: Arc<dyn Storage>,
    /// Single sign-on's providers and the sign-ins under way.
    pub sso: Arc<crate::oidc::Sso>,
    /// The weekly digest by e-mail.
    pub digests: Arc<Digests>,
}

impl AppState {
    /// The governance settings of `programme`, read from its document the
    /// first time they are asked for, then kept up to date by the engine
    /// (see [`registry::RulesCell`]).
    ///
    /// # Errors
    /// When the programme document cannot be loaded.
    pub async fn rules_of(
        &self,
        programme: &plait_shared::DocId,
    ) -> Result<registry::RulesCell, AppError> {
        let known = |state: &AppState| {
            state
                .rules
                .lock()
                .ok()
                .and_then(|cells| cells.get(programme).cloned())
        };
        if let Some(cell) = known(self) {
            return Ok(cell);
        }
        // Read without leasing: a programme not created yet stays absent
        // (its defaults apply until it is).
        let state = self.registry.existing_state(programme).await?;
        let exists = state.is_some();
        let rules = match state {
            Some(state) => {
                let doc = plait_shared::new_doc();
                let update = <yrs::Update as yrs::updates::decoder::Decode>::decode_v1(&state)?;
                yrs::Transact::transact_mut(&doc).apply_update(update)?;
                let programme = plait_shared::ProgrammeDoc::new(doc.clone());
                let txn = yrs::Transact::transact(&doc);
                programme.governance(&txn)
            }
            None => plait_shared::Governance::DEFAULT,
        };
        let shared = self.registry.store().shared().is_some();
        if shared && !exists {
            // Not kept: once another node creates it, the next connection
            // reads (and follows) it.
            return Ok(registry::RulesCell::new(rules));
        }
        // (Only a programme that exists: a lease would make one.)
        if shared {
            // Kept loaded, so it follows what other nodes commit to it and
            // its settings here stay theirs (see `Registry::on_followed`).
            let lease = self.registry.lease(programme).await?;
            self.followed
                .lock()
                .map_err(|_| AppError::Unavailable("the rules are being changed".into()))?
                .entry(programme.clone())
                .or_insert(lease);
        }
        let mut cells = self
            .rules
            .lock()
            .map_err(|_| AppError::Unavailable("the rules are being changed".into()))?;
        Ok(cells
            .entry(programme.clone())
            .or_insert_with(|| registry::RulesCell::new(rules))
            .clone())
    }

    /// The programme document `doc` belongs to (itself for a programme),
    /// read off the async threads (sled blocks).
    ///
    /// # Errors
    /// When storage fails.
    pub async fn programme_of(
        &self,
        doc: &plait_shared::DocId,
    ) -> Result<Option<plait_shared::DocId>, AppError> {
        let accounts = self.accounts.clone();
        let doc = doc.clone();
        Ok(tokio::task::spawn_blocking(move || accounts.programme_of(&doc)).await??)
    }

    /// Builds the state over a store (documents, accounts and the audit
    /// trail share it: sled's database or PostgreSQL's). Must be called
    /// inside a tokio runtime.
    ///
    /// # Errors
    /// When the account or audit trees cannot be opened.
    pub fn new(store: Arc<dyn Storage>, config: Config) -> Result<Self, StoreError> {
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        // A new store records its format; an older one is upgraded (a data
        // directory was upgraded on a copy before this, by the command line).
        crate::format::upgrade(&*store).map_err(|e| match e {
            crate::format::FormatError::Store(e) => e,
            other => StoreError::Corrupt(other.to_string()),
        })?;
        let store_for_state = store.clone();
        let audit = Audit::open(store.clone() as Arc<dyn Keyspace>)?;
        // The command line checked the settings (`plait serve` says what is
        // wrong with them before this).
        let sso = crate::oidc::Sso::new(&config.sso, config.public_url.as_deref(), &*store)
            .map_err(StoreError::Corrupt)?;
        let blobs = blobs::Blobs::open(&*store)?;
        let accounts = Arc::new(
            Accounts::open(&*store, config.sessions).map_err(|e| match e {
                accounts::AccountError::Store(e) => e,
                other => StoreError::Corrupt(other.to_string()),
            })?,
        );
        share_closings(&store, &accounts);
        if let Some(shared) = store.shared() {
            // Another node's closings, closed here too.
            let mut notices = shared.notices();
            let accounts = accounts.clone();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                loop {
                    let notice = tokio::select! {
                        notice = notices.recv() => notice,
                        () = stop.cancelled() => return,
                    };
                    match notice {
                        Ok(Notice::Closing(text)) => match Closing::from_text(&text) {
                            Some(closing) => accounts.close_here(&closing),
                            None => {
                                tracing::warn!(%text, "an unreadable closing from another node")
                            }
                        },
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            });
        }
        let keyspace = store.clone() as Arc<dyn Keyspace>;
        let registry = Registry::new(
            store as Arc<dyn DocStore>,
            Some(audit.clone()),
            config.registry.clone(),
            Arc::new(Metrics::default()),
            tasks.clone(),
            shutdown.clone(),
        );
        let rules: RulesMap = Arc::default();
        {
            // A programme's settings changed on another node apply here
            // from its next update on, as a change made here does.
            let rules = rules.clone();
            registry.on_followed(move |id, doc| {
                let cell = rules.lock().ok().and_then(|cells| cells.get(id).cloned());
                if let Some(cell) = cell {
                    let programme = plait_shared::ProgrammeDoc::new(doc.clone());
                    let txn = yrs::Transact::transact(doc);
                    cell.set(programme.governance(&txn));
                }
            });
        }
        let limiter = Arc::new(SignInLimiter::new(
            config.sign_in_window,
            config.sign_ins_per_account,
            config.sign_ins_per_address,
        ));
        let digests = Arc::new(Digests::open(
            &*keyspace,
            registry.clone(),
            accounts.clone(),
            config.mail.clone(),
        )?);
        let unauthenticated_bodies = Arc::new(tokio::sync::Semaphore::new(
            config.max_unauthenticated_bodies.max(1),
        ));
        Ok(AppState {
            storage: store_for_state,
            sso: Arc::new(sso),
            registry,
            config: Arc::new(config),
            shutdown,
            tasks,
            accounts,
            audit,
            limiter,
            unauthenticated_bodies,
            hashing: Arc::new(tokio::sync::Semaphore::new(hashing_slots())),
            blobs,
            rules,
            followed: Arc::default(),
            digests,
        })
    }

    /// How many passwords may be hashed at once (one per core).
    pub fn config_hashing_slots(&self) -> usize {
        hashing_slots()
    }

    /// Counts a refused request and passes its error on.
    pub(crate) fn denied(&self, error: AppError) -> AppError {
        self.registry
            .metrics()
            .denied_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        error
    }
}

/// On a store nodes share, every closing of live connections (sign-out,
/// an account disabled, a role changed, a password changed) is told to
/// the other nodes too.
pub fn share_closings(store: &Arc<dyn Storage>, accounts: &Accounts) {
    if store.shared().is_some() {
        let store = store.clone();
        accounts.on_close(move |closing| {
            if let Some(shared) = store.shared() {
                shared.announce_closing(closing.to_text());
            }
        });
    }
}

fn hashing_slots() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}
