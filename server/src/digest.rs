//! The weekly digest by e-mail (issue 20): each member of a programme, on
//! the programme's day and time (UK), gets what needs them — the same
//! lists as My work, computed by `plait_shared::digest` — as an e-mail
//! with a link to each action; on demand too.
//!
//! A digest for (programme, person, week) is claimed in the `digest_sent`
//! tree (insert-if-absent, made durable) before it is handed to the mail
//! server, so it is sent once whatever restarts and however many nodes
//! share the store; if the mail server refuses it, the claim is released
//! and the next round tries again. A claim whose node died before the
//! mail server answered stays: that week's digest is not sent twice, at
//! the cost of perhaps not at all. Once every member's digest of a week
//! is settled (sent, empty, or not to be sent; none still claimed, none
//! refused), the week is marked done for the programme, so later rounds
//! read nothing but its schedule.
//!
//! Each account's choice (unsubscribed or not) and its unsubscribe token
//! (random, compared in constant time) are in the `digest_people` tree.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use plait_shared::digest::{digest_for, Schedule};
use plait_shared::{Date, DocId, PlanDoc, PlanView, ProgrammeDoc, ProgrammeView, Role, UnixMillis};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use yrs::Transact;

use crate::accounts::{random_token, secrets_equal, Accounts, UserInfo};
use crate::config::MailSettings;
use crate::kv::{Keyspace, Tree};
use crate::registry::Registry;
use crate::store::StoreError;

pub mod mail;

/// An account's digest choice, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Person {
    /// They asked for no more digests.
    #[serde(default)]
    unsubscribed: bool,
    /// The secret of their one-click unsubscribe link.
    token: String,
}

/// Where a week's digest stands, as stored under (programme, week,
/// person); (programme, week) alone marks the week done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Settled {
    /// Claimed, and being handed to the mail server.
    Sending,
    /// The mail server took it.
    Sent,
    /// Nothing needed them: nothing sent.
    Empty,
    /// Every member's digest of the week is settled.
    Done,
}

/// A record in `digest_sent`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SentRecord {
    /// Where it stands.
    state: Settled,
    /// When (Unix milliseconds, the scheduler's clock).
    at: i64,
    /// How many things it listed.
    #[serde(default)]
    items: usize,
}

/// Why a digest was not sent.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// No mail server is configured.
    #[error("this server sends no e-mail: its administrator has not configured a mail server (--smtp-url)")]
    NotConfigured,
    /// The account has no e-mail address.
    #[error("your account has no e-mail address: ask the programme office to add it")]
    NoAddress,
    /// Asked again too soon.
    #[error("you asked for your digest a moment ago: try again in {} seconds", .0.as_secs().max(1))]
    TooSoon(Duration),
    /// The mail server did not take it.
    #[error("the mail server did not take the e-mail: {0}")]
    Refused(String),
    /// No such programme.
    #[error("no such programme")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one person's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent, listing this many things.
    Sent(usize),
    /// Nothing needed them.
    Empty,
    /// Already settled (this node or another).
    Settled,
    /// Being sent by another round (this node's or another's): not yet
    /// settled, so the week is not done.
    Claimed,
    /// Not sent: no address, or unsubscribed.
    Skipped,
    /// The mail server refused it (to be retried), saying this.
    Failed(String),
}

/// The weekly digest: the scheduler, the choices, the sending.
pub struct Digests {
    registry: Arc<Registry>,
    accounts: Arc<Accounts>,
    people: Tree,
    sent: Tree,
    settings: MailSettings,
    mailer: Option<mail::Mailer>,
    /// When each person last asked for their digest (the on-demand limit).
    asked: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digests")
            .field("smtp", &self.settings.smtp)
            .finish_non_exhaustive()
    }
}

/// Runs blocking storage work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Database(format!("a storage task failed: {e}")))?
}

fn account_error(e: crate::accounts::AccountError) -> StoreError {
    match e {
        crate::accounts::AccountError::Store(e) => e,
        other => StoreError::Corrupt(other.to_string()),
    }
}

/// The key of (programme, week, person) in `digest_sent`; without a
/// person, the week's own.
fn sent_key(programme: &DocId, week: Date, user: Option<&str>) -> Vec<u8> {
    match user {
        Some(user) => format!("{programme}/{}/{user}", week.iso()).into_bytes(),
        None => format!("{programme}/{}", week.iso()).into_bytes(),
    }
}

/// `user`'s record in the `digest_people` tree.
fn person(people: &Tree, user: &str) -> Result<Option<Person>, StoreError> {
    people
        .get(user.as_bytes())?
        .map(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("a digest choice: {e}")))
        })
        .transpose()
}

/// `user`'s record, made (with a fresh token) if they have none; two
/// nodes making one at once agree on the first.
fn person_or_new(people: &Tree, user: &str) -> Result<Person, StoreError> {
    if let Some(found) = person(people, user)? {
        return Ok(found);
    }
    let made = Person {
        unsubscribed: false,
        token: random_token(24).map_err(account_error)?,
    };
    let bytes = serde_json::to_vec(&made).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if people.insert_new(user.as_bytes(), &bytes)? {
        return Ok(made);
    }
    person(people, user)?
        .ok_or_else(|| StoreError::Corrupt(format!("the digest choice of {user} vanished")))
}

/// A record of `digest_sent`, as stored.
fn record(state: Settled, at: UnixMillis, items: usize) -> Vec<u8> {
    serde_json::to_vec(&SentRecord {
        state,
        at: at.0,
        items,
    })
    .unwrap_or_default()
}

impl Digests {
    /// Opens the digest's trees of `space`; with a mail server, its
    /// transport (whose settings must read: a CA file that is not PEM
    /// stops the server starting).
    ///
    /// # Errors
    /// When storage fails, or the mail settings do not read.
    pub fn open(
        space: &dyn Keyspace,
        registry: Arc<Registry>,
        accounts: Arc<Accounts>,
        settings: MailSettings,
    ) -> Result<Digests, StoreError> {
        let mailer = settings
            .smtp
            .as_ref()
            .map(mail::Mailer::new)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("the mail settings ({e})")))?;
        Ok(Digests {
            registry,
            accounts,
            people: space.tree("digest_people")?,
            sent: space.tree("digest_sent")?,
            settings,
            mailer,
            asked: Mutex::new(HashMap::new()),
        })
    }

    /// Whether a mail server is configured.
    pub fn mail_configured(&self) -> bool {
        self.mailer.is_some()
    }

    /// Whether `user` gets the weekly digest (blocking).
    ///
    /// # Errors
    /// When storage fails.
    pub fn subscribed(&self, user: &str) -> Result<bool, StoreError> {
        Ok(person(&self.people, user)?.is_none_or(|p| !p.unsubscribed))
    }

    /// Subscribes `user` again, or unsubscribes them (blocking). Nothing
    /// else of theirs changes.
    ///
    /// # Errors
    /// When storage fails.
    pub fn set_subscribed(&self, user: &str, subscribed: bool) -> Result<(), StoreError> {
        let mut choice = person_or_new(&self.people, user)?;
        choice.unsubscribed = !subscribed;
        let bytes = serde_json::to_vec(&choice).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.people.insert(user.as_bytes(), &bytes)?;
        tracing::info!(user, subscribed, "weekly digest choice changed");
        Ok(())
    }

    /// Unsubscribes `user` if `token` is their link's (compared in
    /// constant time); whether it was (blocking).
    ///
    /// # Errors
    /// When storage fails.
    pub fn unsubscribe_with(&self, user: &str, token: &str) -> Result<bool, StoreError> {
        let Some(choice) = person(&self.people, user)? else {
            return Ok(false);
        };
        if !secrets_equal(&choice.token, token) {
            return Ok(false);
        }
        self.set_subscribed(user, false)?;
        Ok(true)
    }

    /// `user`'s unsubscribe token, made if they have none (blocking;
    /// for the tests, which read it as a digest's link does).
    ///
    /// # Errors
    /// When storage fails.
    pub fn unsubscribe_token(&self, user: &str) -> Result<String, StoreError> {
        Ok(person_or_new(&self.people, user)?.token)
    }

    /// Looks for due programmes every [`MailSettings::check_every`] until
    /// `stop`; with no mail server, says so once and does nothing.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        if self.mailer.is_none() {
            tracing::info!("no mail server configured (--smtp-url): no weekly digests");
            return;
        }
        tracing::info!(
            smtp = ?self.settings.smtp,
            every = ?self.settings.check_every,
            "weekly digests on"
        );
        let mut every = tokio::time::interval(self.settings.check_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = stop.cancelled() => return,
            }
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "the weekly digest round failed; trying again next round");
            }
        }
    }

    /// One round: every programme whose digest is due now (by the
    /// settings' clock) and not yet done sends its members theirs.
    ///
    /// # Errors
    /// When storage fails.
    pub async fn round(&self) -> Result<(), StoreError> {
        let now = self.settings.clock.now();
        let accounts = self.accounts.clone();
        let all = blocking(move || accounts.docs_with_programmes().map_err(account_error)).await?;
        let programmes: std::collections::BTreeSet<DocId> = all
            .into_iter()
            .filter_map(|(doc, programme)| (doc == programme).then_some(doc))
            .collect();
        for programme in programmes {
            if let Err(e) = self.programme_round(&programme, now).await {
                tracing::warn!(%programme, error = %e, "the weekly digest of a programme failed");
            }
        }
        Ok(())
    }

    /// The schedule of `programme` (without loading it), if it exists.
    async fn schedule_of(&self, programme: &DocId) -> Result<Option<Schedule>, StoreError> {
        let Some(state) = self.registry.existing_state(programme).await? else {
            return Ok(None);
        };
        let doc = plait_shared::new_doc();
        let update = <yrs::Update as yrs::updates::decoder::Decode>::decode_v1(&state)
            .map_err(|e| StoreError::Corrupt(format!("{programme}: {e}")))?;
        doc.transact_mut()
            .apply_update(update)
            .map_err(|e| StoreError::Corrupt(format!("{programme}: {e}")))?;
        let read = ProgrammeDoc::new(doc.clone());
        let txn = doc.transact();
        Ok(Some(read.digest(&txn)))
    }

    async fn programme_round(&self, programme: &DocId, now: UnixMillis) -> Result<(), StoreError> {
        let Some(schedule) = self.schedule_of(programme).await? else {
            return Ok(());
        };
        let Some(week) = schedule.due_week(now) else {
            return Ok(());
        };
        let sent = self.sent.clone();
        let done_key = sent_key(programme, week, None);
        if blocking(move || sent.get(&done_key)).await?.is_some() {
            return Ok(());
        }
        let accounts = self.accounts.clone();
        let id = programme.clone();
        let members = blocking(move || accounts.members(&id).map_err(account_error)).await?;
        let (view, plans) = self.read_programme(programme).await?;
        let today = plait_shared::digest::london(now).date;
        let mut unsettled = 0;
        let mut sent_now = 0;
        for (member, role) in &members {
            let outcome = self
                .deliver(
                    programme,
                    &view,
                    &plans,
                    member,
                    *role,
                    Some((week, schedule)),
                    today,
                    now,
                )
                .await?;
            match outcome {
                Outcome::Failed(_) | Outcome::Claimed => unsettled += 1,
                Outcome::Sent(_) => sent_now += 1,
                Outcome::Empty | Outcome::Settled | Outcome::Skipped => {}
            }
        }
        if unsettled == 0 {
            let sent = self.sent.clone();
            let done_key = sent_key(programme, week, None);
            blocking(move || sent.insert(&done_key, &record(Settled::Done, now, 0))).await?;
        }
        tracing::info!(
            %programme,
            week = %week.iso(),
            members = members.len(),
            sent = sent_now,
            unsettled,
            "weekly digest round"
        );
        Ok(())
    }

    /// The programme and its own plans, from the server's copies.
    async fn read_programme(
        &self,
        id: &DocId,
    ) -> Result<(ProgrammeView, Vec<(DocId, PlanView)>), StoreError> {
        let lease = self.registry.lease(id).await?;
        let programme = {
            let state = lease.state().lock().await;
            let doc = state.awareness.doc();
            let typed = ProgrammeDoc::new(doc.clone());
            let txn = doc.transact();
            let view = typed.read(&txn);
            drop(txn);
            view
        };
        drop(lease);
        let mut plans = Vec::new();
        for plan_id in programme.plans.keys() {
            // Only the programme's own plans, whatever its index lists.
            let accounts = self.accounts.clone();
            let plan = plan_id.clone();
            let owner =
                blocking(move || accounts.programme_of(&plan).map_err(account_error)).await?;
            if owner.as_ref() != Some(id) {
                continue;
            }
            let lease = self.registry.lease(plan_id).await?;
            let view = {
                let state = lease.state().lock().await;
                let doc = state.awareness.doc();
                let typed = PlanDoc::new(doc.clone());
                let txn = doc.transact();
                let view = typed.read(&txn);
                drop(txn);
                view
            };
            plans.push((plan_id.clone(), view));
        }
        Ok((programme, plans))
    }

    /// Sends `member` their digest of `programme`: for a scheduled
    /// `week`, once (claimed first), if they have not unsubscribed; on
    /// demand (no week), now.
    #[allow(clippy::too_many_arguments)]
    async fn deliver(
        &self,
        programme: &DocId,
        view: &ProgrammeView,
        plans: &[(DocId, PlanView)],
        member: &UserInfo,
        role: Role,
        week: Option<(Date, Schedule)>,
        today: Date,
        now: UnixMillis,
    ) -> Result<Outcome, StoreError> {
        let Some(mailer) = &self.mailer else {
            return Ok(Outcome::Skipped);
        };
        let Some(email) = member.email.clone() else {
            return Ok(Outcome::Skipped);
        };
        let user = member.username.as_str().to_owned();
        let people = self.people.clone();
        let who = user.clone();
        let choice = blocking(move || person_or_new(&people, &who)).await?;
        if week.is_some() && choice.unsubscribed {
            return Ok(Outcome::Skipped);
        }
        let digest = digest_for(programme, &user, role, view.governance, plans, today);
        let claim = week.map(|(week, _)| sent_key(programme, week, Some(&user)));
        if let Some(key) = &claim {
            // Claimed, durably, before anything leaves.
            let sent = self.sent.clone();
            let key = key.clone();
            let items = digest.count();
            let claimed = blocking(move || {
                if sent.insert_new(&key, &record(Settled::Sending, now, items))? {
                    sent.flush()?;
                    return Ok(None);
                }
                // Whose, and where it stands.
                let state = sent
                    .get(&key)?
                    .and_then(|bytes| serde_json::from_slice::<SentRecord>(&bytes).ok())
                    .map(|r| r.state);
                Ok(Some(state))
            })
            .await?;
            match claimed {
                None => {}
                // Released a moment ago: the next round claims it.
                Some(Some(Settled::Sending) | None) => return Ok(Outcome::Claimed),
                Some(Some(_)) => return Ok(Outcome::Settled),
            }
        }
        let settle = |state: Settled, items: usize| {
            let sent = self.sent.clone();
            let key = claim.clone();
            async move {
                let Some(key) = key else {
                    return Ok(());
                };
                blocking(move || sent.insert(&key, &record(state, now, items))).await
            }
        };
        if digest.is_empty() {
            settle(Settled::Empty, 0).await?;
            return Ok(Outcome::Empty);
        }
        let base = self.settings.public_url.trim_end_matches('/');
        let letter = mail::Letter {
            to_name: &member.name,
            to_email: &email,
            programme,
            programme_name: &view.info.name,
            digest: &digest,
            public_url: base,
            unsubscribe_url: format!(
                "{base}{}",
                plait_shared::api::address::unsubscribe(&user, &choice.token)
            ),
            schedule: week.map(|(_, s)| s),
            today,
        };
        let message = match mail::message(mailer.from(), &letter) {
            Ok(message) => message,
            Err(e) => {
                // An address the mail library cannot write: not retried.
                tracing::warn!(%programme, user, error = %e, "a digest could not be written");
                settle(Settled::Empty, 0).await?;
                return Ok(Outcome::Skipped);
            }
        };
        let metrics = self.registry.metrics();
        match mailer.send(message).await {
            Ok(()) => {
                metrics
                    .digests_sent
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                settle(Settled::Sent, digest.count()).await?;
                tracing::info!(%programme, user, items = digest.count(), "digest sent");
                Ok(Outcome::Sent(digest.count()))
            }
            Err(e) => {
                metrics
                    .digests_failed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(%programme, user, error = %e, "the mail server did not take a digest; it will be tried again");
                if let Some(key) = claim {
                    // Released, so the next round tries again.
                    let sent = self.sent.clone();
                    blocking(move || {
                        sent.remove(&key)?;
                        sent.flush()
                    })
                    .await?;
                }
                Ok(Outcome::Failed(e))
            }
        }
    }

    /// `user`'s digest of `programme` now (on demand): at most once per
    /// [`MailSettings::on_demand_every`] per person, unsubscribed or not.
    ///
    /// # Errors
    /// No mail server, no address, asked too soon, refused, or storage.
    pub async fn send_now(
        &self,
        programme: &DocId,
        member: &UserInfo,
        role: Role,
    ) -> Result<plait_shared::api::DigestSent, DigestError> {
        if self.mailer.is_none() {
            return Err(DigestError::NotConfigured);
        }
        let Some(email) = member.email.clone() else {
            return Err(DigestError::NoAddress);
        };
        if self.schedule_of(programme).await?.is_none() {
            return Err(DigestError::NotFound);
        }
        {
            let mut asked = self.asked.lock().unwrap_or_else(PoisonError::into_inner);
            let user = member.username.as_str().to_owned();
            if let Some(last) = asked.get(&user) {
                let since = last.elapsed();
                if since < self.settings.on_demand_every {
                    return Err(DigestError::TooSoon(self.settings.on_demand_every - since));
                }
            }
            asked.insert(user, Instant::now());
        }
        let now = self.settings.clock.now();
        let today = plait_shared::digest::london(now).date;
        let (view, plans) = self.read_programme(programme).await?;
        match self
            .deliver(programme, &view, &plans, member, role, None, today, now)
            .await?
        {
            Outcome::Sent(items) => Ok(plait_shared::api::DigestSent {
                sent: true,
                to: email,
                items,
            }),
            Outcome::Empty | Outcome::Settled | Outcome::Claimed | Outcome::Skipped => {
                Ok(plait_shared::api::DigestSent {
                    sent: false,
                    to: email,
                    items: 0,
                })
            }
            Outcome::Failed(why) => Err(DigestError::Refused(why)),
        }
    }
}
