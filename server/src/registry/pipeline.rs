//! The update pipeline: decide on an update from what it does (the
//! admission), integrate what may stand, store it with its audit record and
//! claims, send it on, and wait for durability.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use plait_shared::admission::schema::DocShape;
use plait_shared::admission::{self, Author, ItemIndex, Verdict, Writer};
use plait_shared::protocol::RefusedChange;
use plait_shared::{DocId, Governance, ProgrammeDoc, Role, UserId};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact};

use super::compaction::compaction_due;
use super::{FlushError, Flusher, Lease, Registry};
use crate::audit::AuditRecord;
use crate::store::StoreError;

/// The writer recorded for client ids the server itself writes under.
pub const SERVER_WRITER: &str = "@plait-server";

/// The person behind an update, as the audit trail records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Who.
    pub user: UserId,
    /// The name people see (for presence; the trail records the user).
    pub name: String,
    /// Which session (a short, non-secret name).
    pub session: String,
    /// Which device.
    pub device: String,
}

/// A programme's governance settings as the engine applies them to a
/// member's updates: one cell per programme, shared by every connection to
/// its documents, and set again from the programme document after each
/// update to it, so a change of settings applies to the next update on
/// every open connection.
#[derive(Debug, Clone, Default)]
pub struct RulesCell(Arc<std::sync::RwLock<Governance>>);

impl RulesCell {
    /// A cell holding `rules`.
    pub fn new(rules: Governance) -> RulesCell {
        RulesCell(Arc::new(std::sync::RwLock::new(rules)))
    }

    /// The settings now.
    pub fn get(&self) -> Governance {
        match self.0.read() {
            Ok(rules) => *rules,
            Err(poisoned) => **poisoned.get_ref(),
        }
    }

    /// Replaces the settings.
    pub fn set(&self, rules: Governance) {
        match self.0.write() {
            Ok(mut held) => *held = rules,
            Err(poisoned) => *poisoned.into_inner() = rules,
        }
    }
}

/// Who sends an update to the registry. The engine knows nothing of
/// sessions or HTTP: the web layer turns its access check into one of these.
#[derive(Debug, Clone)]
pub enum UpdateAuthor {
    /// A member of the document's programme: every update is checked by the
    /// admission against their role and recorded in the audit trail.
    Member {
        /// Who, for the trail.
        who: Signature,
        /// Their role in the programme.
        role: Role,
        /// The document's schema.
        shape: DocShape,
        /// The programme's governance settings.
        rules: RulesCell,
    },
    /// A server administrator on a document of no programme: there is no
    /// schema to check against, so it is taken as written, and recorded.
    Administrator {
        /// Who, for the trail.
        who: Signature,
    },
    /// The server writing at a member's request what only the server may
    /// write (a board paper issued: its figures computed from the server's
    /// own documents and frozen): trusted without checks, and recorded in
    /// the trail under the member's name.
    OnBehalf {
        /// Who asked, for the trail.
        who: Signature,
        /// The document's schema.
        shape: DocShape,
        /// What the write changes, for the trail (the server's own write
        /// is not classified by the admission).
        changes: Vec<plait_shared::changes::Change>,
    },
    /// The server itself (the demo seed, the command line, tests of the
    /// storage): trusted without checks and without a record.
    Trusted {
        /// The document's schema.
        shape: DocShape,
    },
}

impl UpdateAuthor {
    fn shape(&self) -> DocShape {
        match self {
            UpdateAuthor::Member { shape, .. }
            | UpdateAuthor::Trusted { shape }
            | UpdateAuthor::OnBehalf { shape, .. } => *shape,
            UpdateAuthor::Administrator { .. } => DocShape::Plan,
        }
    }

    /// How the admission sees it.
    fn admission(&self) -> Author<'_> {
        match self {
            UpdateAuthor::Member {
                who, role, rules, ..
            } => Author::Member {
                user: &who.user,
                role: *role,
                rules: rules.get(),
            },
            UpdateAuthor::Administrator { .. }
            | UpdateAuthor::Trusted { .. }
            | UpdateAuthor::OnBehalf { .. } => Author::Server,
        }
    }

    /// The person, if a person writes.
    pub fn signed(&self) -> Option<&Signature> {
        self.signature()
    }

    /// Who the trail names, if it records this author.
    fn signature(&self) -> Option<&Signature> {
        match self {
            UpdateAuthor::Member { who, .. }
            | UpdateAuthor::Administrator { who }
            | UpdateAuthor::OnBehalf { who, .. } => Some(who),
            UpdateAuthor::Trusted { .. } => None,
        }
    }
}

/// Why an update was not applied. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// yrs refused it.
    #[error("the update cannot be applied: {0}")]
    Rejected(String),
    /// The bytes are not an update.
    #[error("{0}")]
    Malformed(String),
    /// It depends on clocks the server does not have: nothing was kept;
    /// answer with the server's state vector.
    #[error("the update depends on changes the server does not have: {0}")]
    Incomplete(String),
    /// Nothing of it may be kept (too large, or under a client id that
    /// writes for someone else). Nothing was kept.
    #[error("{0}")]
    Refused(String),
    /// It could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an applied update needs: durability to wait for. It is stored
/// already, so any flush asked for from now on covers it.
#[derive(Debug)]
pub struct Applied {
    /// The document's state vector just after the update.
    pub state_vector: StateVector,
    /// The changes refused (and undone), with why.
    pub refused: Vec<RefusedChange>,
    /// The flush it waits for (`None`: committed durably already, by a
    /// shared store).
    flusher: Option<Flusher>,
}

impl Applied {
    /// An update already durable (committed by a shared store).
    fn durable_now(state_vector: StateVector, refused: Vec<RefusedChange>) -> Applied {
        Applied {
            state_vector,
            refused,
            flusher: None,
        }
    }

    /// Waits until the update is on disk.
    ///
    /// # Errors
    /// When the flush failed.
    pub async fn durable(self) -> Result<StateVector, FlushError> {
        if let Some(flusher) = self.flusher {
            flusher.flush().await?;
        }
        Ok(self.state_vector)
    }

    /// Calls `then` once the update is on disk (on the flushing thread:
    /// keep it short), with the state vector just after it.
    pub fn then(self, then: impl FnOnce(Result<StateVector, FlushError>) + Send + 'static) {
        let state_vector = self.state_vector;
        match self.flusher {
            Some(flusher) => flusher.request_then(move |done| then(done.map(|()| state_vector))),
            None => then(Ok(state_vector)),
        }
    }
}

/// What became of one update of a batch (the document's lock held).
enum Step {
    /// Nothing new: known already, or empty.
    Unchanged(StateVector),
    /// Integrated and stored: `message` is to be sent on.
    Stored {
        state_vector: StateVector,
        refused: Vec<RefusedChange>,
        message: Bytes,
        /// Part was refused (and undone): the sender gets it too.
        echo: bool,
        /// Committed durably already, by a shared store.
        shared: bool,
    },
}

/// Why one update of a batch was not applied.
enum Failed {
    /// Nothing was changed: tell the sender.
    Told(ApplyError),
    /// It failed half-way: the document in memory may differ from storage
    /// (see [`Registry::poisoned`]).
    Poisoned(ApplyError),
}

impl Registry {
    /// Applies a client's update: decides on it from what it does (see
    /// [`plait_shared::admission`]) before it touches the document,
    /// integrates what may stand (undoing in the same transaction what may
    /// not), stores the result with its audit record and the client ids it
    /// claims in one write, sends it on, and asks for a flush. The returned
    /// [`Applied`] resolves once the update is durable.
    ///
    /// # Errors
    /// [`ApplyError`]: malformed, incomplete (answer with the state vector),
    /// refused whole, or not stored; in every case nothing was stored or
    /// sent.
    pub async fn apply_update(
        &self,
        lease: &Lease,
        origin: Option<u64>,
        bytes: &[u8],
        author: &UpdateAuthor,
    ) -> Result<Applied, ApplyError> {
        self.apply_decoded(lease, origin, bytes, None, author).await
    }

    /// [`Registry::apply_update`] for an update the caller has already
    /// read (`decoded`, from `bytes`), so it is not read twice.
    ///
    /// # Errors
    /// As [`Registry::apply_update`].
    pub async fn apply_decoded(
        &self,
        lease: &Lease,
        origin: Option<u64>,
        bytes: &[u8],
        decoded: Option<admission::codec::DecodedUpdate>,
        author: &UpdateAuthor,
    ) -> Result<Applied, ApplyError> {
        let mut results = self
            .apply_many(lease, origin, vec![(bytes, decoded)], author)
            .await;
        results
            .pop()
            .unwrap_or_else(|| Err(ApplyError::Rejected("no update".into())))
    }

    /// Applies several updates from one connection in order, under one hold
    /// of the document's lock: each is decided on, integrated, stored with
    /// its audit record and claims exactly as by [`Registry::apply_update`],
    /// and what was stored is sent on together, in the order stored: one
    /// write per client for the lot (an update partly refused goes to its
    /// sender too, so it is written on its own, after what came before it).
    /// A client that sends faster than one update per round trip (two
    /// unpaced editors, a burst after being offline) would otherwise hand
    /// the lock to the document's other writers, and every client one
    /// write, per update. The caller bounds the batch (the lock is held
    /// throughout).
    ///
    /// One result per update, in order. An update refused (whole) or
    /// incomplete changes nothing and the next is applied; any other
    /// failure ends the batch: those after it are not applied, and each
    /// is told so (when one failed half-way, the document is also dropped
    /// to be reloaded).
    ///
    /// Not to be cancelled half-way (connections' tasks never are): on a
    /// store nodes share, an update is committed while the next waits for
    /// its turn, and the batch is sent on at the end.
    pub async fn apply_many(
        &self,
        lease: &Lease,
        origin: Option<u64>,
        updates: Vec<(&[u8], Option<admission::codec::DecodedUpdate>)>,
        author: &UpdateAuthor,
    ) -> Vec<Result<Applied, ApplyError>> {
        let count = updates.len();
        let mut results = Vec::with_capacity(count);
        let reloading = || {
            Err(ApplyError::Rejected(
                "the document is being reloaded; try again".into(),
            ))
        };
        let not_applied = || {
            Err(ApplyError::Rejected(
                "not applied: an update before it failed".into(),
            ))
        };
        let mut state = lease.state().lock().await;
        if state.poisoned {
            results.resize_with(count, reloading);
            return results;
        }
        let doc = state.awareness.doc().clone();
        // Stored and not yet sent to the other clients, in order.
        let mut unsent: Vec<Bytes> = Vec::new();
        for (bytes, decoded) in updates {
            match self
                .apply_locked(
                    lease,
                    &mut state,
                    &doc,
                    bytes,
                    decoded,
                    author,
                    origin,
                    &mut unsent,
                )
                .await
            {
                Ok(Step::Unchanged(state_vector)) => {
                    results.push(Ok(self.after_flush(state_vector, Vec::new())));
                }
                Ok(Step::Stored {
                    state_vector,
                    refused,
                    message,
                    echo,
                    shared,
                }) => {
                    if echo {
                        // The sender gets it too when part was refused, so
                        // it converges back; what went before goes first.
                        self.broadcast_many(lease, origin, &mut unsent);
                        self.broadcast(lease, None, &message);
                    } else {
                        unsent.push(message);
                    }
                    results.push(Ok(if shared {
                        Applied::durable_now(state_vector, refused)
                    } else {
                        self.after_flush(state_vector, refused)
                    }));
                }
                Err(Failed::Told(e @ (ApplyError::Refused(_) | ApplyError::Incomplete(_)))) => {
                    results.push(Err(e))
                }
                Err(Failed::Told(e)) => {
                    // The connection is closed over it: nothing after it.
                    self.broadcast_many(lease, origin, &mut unsent);
                    results.push(Err(e));
                    results.resize_with(count, not_applied);
                    break;
                }
                Err(Failed::Poisoned(e)) => {
                    // What was stored before it is sent on first.
                    self.broadcast_many(lease, origin, &mut unsent);
                    results.push(Err(self.poisoned(lease, state, e)));
                    results.resize_with(count, reloading);
                    return results;
                }
            }
        }
        // Broadcast under the document's lock so every client sees updates in
        // the order they were stored.
        self.broadcast_many(lease, origin, &mut unsent);
        let compact = compaction_due(
            state.uncompacted,
            state.uncompacted_bytes,
            state.snapshot_bytes,
            self.settings.compact_after,
        );
        drop(state);
        if compact {
            self.spawn_compaction(lease.doc.clone());
        }
        results
    }

    /// Sends `messages` (stored updates) to every client of the document
    /// but `except`, as one write each, and empties it.
    fn broadcast_many(&self, lease: &Lease, except: Option<u64>, messages: &mut Vec<Bytes>) {
        // One alone is framed as one message (no list of parts to build).
        if let [message] = messages.as_slice() {
            self.broadcast(lease, except, message);
        } else {
            self.broadcast_all(lease, except, messages);
        }
        messages.clear();
    }

    /// One update of [`Registry::apply_many`], the document's lock held;
    /// `unsent` holds the batch's updates stored and not yet sent on (sent
    /// before anything another node stored is, to keep the order).
    #[allow(clippy::too_many_arguments)]
    async fn apply_locked(
        &self,
        lease: &Lease,
        state: &mut super::DocState,
        doc: &yrs::Doc,
        bytes: &[u8],
        decoded: Option<admission::codec::DecodedUpdate>,
        author: &UpdateAuthor,
        origin: Option<u64>,
        unsent: &mut Vec<Bytes>,
    ) -> Result<Step, Failed> {
        self.metrics
            .updates_received
            .fetch_add(1, Ordering::Relaxed);
        self.metrics
            .bytes_received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if bytes.len() > self.settings.limits.max_update_bytes {
            // Told before anything is read.
            self.metrics.refused_changes.fetch_add(1, Ordering::Relaxed);
            return Err(Failed::Told(ApplyError::Refused(format!(
                "the update is {} bytes; the limit is {}",
                bytes.len(),
                self.settings.limits.max_update_bytes
            ))));
        }
        let decoded = match decoded {
            Some(decoded) => decoded,
            None => crate::guard::no_panic(|| admission::codec::decode(bytes))
                .unwrap_or_else(|panic| Err(admission::codec::CodecError(panic)))
                .map_err(|e| Failed::Told(ApplyError::Malformed(e.to_string())))?,
        };
        if decoded.structs.is_empty() && decoded.deletes.is_empty() {
            // An up-to-date client's empty sync step 2: nothing to decide
            // on (and no index to build, which on a large document is the
            // cost of reading it all), but its acknowledgement still waits
            // for what is in flight.
            return Ok(Step::Unchanged(doc.transact().state_vector()));
        }
        // On a store nodes share: take the document's write turn and apply
        // what other nodes committed first, so the decision is made against
        // every committed update, and the commit is the next sequence.
        let turn = match self.store.shared() {
            Some(shared) => {
                let turn = shared
                    .turn(&lease.doc.id, state.next_seq.checked_sub(1))
                    .await
                    .map_err(|e| Failed::Told(e.into()))?;
                // What other nodes stored comes after what this batch
                // stored before it (`apply_missed` sends it on).
                self.broadcast_many(lease, origin, unsent);
                if let Err(e) = self.apply_missed(&lease.doc, state, &turn.missed) {
                    return Err(Failed::Poisoned(e.into()));
                }
                Some(turn)
            }
            None => None,
        };
        let shape = author.shape();
        if state.index.as_ref().map(ItemIndex::shape) != Some(shape) {
            // Inside a write turn, the writers come with it (another
            // connection could wait for one the turns all hold).
            let known = turn.as_ref().map(|turn| turn.missed.writers.clone());
            let built = self.build_index(&lease.doc.id, doc, shape, known);
            match built {
                Ok(index) => state.index = Some(index),
                Err(e) => return Err(Failed::Told(ApplyError::Rejected(e))),
            }
        }
        let who = author.admission();
        let doc_bytes = state.snapshot_bytes + state.uncompacted_bytes;
        let limits = self.settings.limits;
        let verdict = {
            let Some(index) = state.index.as_ref() else {
                return Err(Failed::Told(ApplyError::Rejected("no index".into())));
            };
            crate::guard::no_panic(|| {
                admission::decide_decoded(index, doc, who, decoded, bytes.len(), doc_bytes, &limits)
            })
            .map_err(|e| Failed::Told(ApplyError::Rejected(e)))?
        };
        let admitted = match verdict {
            Verdict::Known => {
                return Ok(Step::Unchanged(doc.transact().state_vector()));
            }
            Verdict::Incomplete(why) => return Err(Failed::Told(ApplyError::Incomplete(why))),
            Verdict::Refused(why) => {
                self.metrics.refused_changes.fetch_add(1, Ordering::Relaxed);
                return Err(Failed::Told(ApplyError::Refused(why)));
            }
            Verdict::Admit(admitted) => admitted,
        };
        let claims: Vec<u64> = admitted.claims().iter().map(|c| c.get()).collect();
        let now = plait_shared::UnixMillis(crate::clock::now_millis() as i64);
        let outcome = {
            let Some(index) = state.index.as_mut() else {
                return Err(Failed::Told(ApplyError::Rejected("no index".into())));
            };
            crate::guard::no_panic(|| admission::integrate(doc, index, admitted, who, now, &limits))
                .unwrap_or_else(|panic| Err(admission::IntegrateError::Yrs(panic)))
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => return Err(Failed::Poisoned(ApplyError::Rejected(e.to_string()))),
        };
        let seq = state.next_seq;
        let refused = outcome.refused.clone();
        let record = author.signature().map(|who| AuditRecord {
            seq: 0,
            at: crate::clock::now_millis(),
            doc: lease.doc.id.clone(),
            user: who.user.clone(),
            session: who.session.clone(),
            device: who.device.clone(),
            bytes: bytes.len(),
            changes: match author {
                UpdateAuthor::OnBehalf { changes, .. } => changes.clone(),
                _ => outcome.changes.clone(),
            },
            refused: refused.clone(),
        });
        let writer = match who {
            Author::Member { user, .. } => user.to_string(),
            Author::Server => SERVER_WRITER.to_owned(),
        };
        let mut claims: Vec<(u64, String)> =
            claims.into_iter().map(|c| (c, writer.clone())).collect();
        // The undoing is written under the server's own client id: claim it,
        // so nobody can later write under it and pass for the server.
        if outcome.echo {
            if let Some(index) = state.index.as_mut() {
                let own = doc.client_id();
                if index.writer(own).is_none() {
                    index.set_writer(own, Writer::Server);
                    claims.push((own.get(), SERVER_WRITER.to_owned()));
                }
            }
        }
        // The update, its audit record and its claims are one write: none
        // is kept without the others.
        let record = match (&self.audit, &turn) {
            // Numbered by the turn's own transaction.
            (Some(audit), Some(turn)) => audit.prepare_numbered(record, turn.record_id),
            (Some(audit), None) => audit.prepare(record),
            (None, _) => Ok(None),
        };
        let shared = turn.is_some();
        let stored_ok = match (record, turn) {
            (Err(e), _) => Err(e),
            // Committed (durable) before anything is sent.
            (Ok(record), Some(turn)) => {
                let started = std::time::Instant::now();
                let committed = turn
                    .commit(seq, &outcome.update, record.as_ref(), &claims)
                    .await;
                // Each commit is this update's flush (`plait_flushes_total`).
                self.metrics
                    .flushed(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                committed
            }
            (Ok(record), None) => self.store.append_recorded(
                &lease.doc.id,
                seq,
                &outcome.update,
                record.as_ref(),
                &claims,
            ),
        };
        if let Err(e) = stored_ok {
            return Err(Failed::Poisoned(e.into()));
        }
        if !outcome.refused.is_empty() {
            self.metrics
                .refused_changes
                .fetch_add(outcome.refused.len() as u64, Ordering::Relaxed);
        }
        // A programme's settings apply from its next update on.
        if let UpdateAuthor::Member {
            shape: DocShape::Programme,
            rules,
            ..
        } = author
        {
            rules.set(ProgrammeDoc::new(doc.clone()).governance(&doc.transact()));
        }
        state.next_seq += 1;
        state.uncompacted += 1;
        state.uncompacted_bytes += outcome.update.len() as u64;
        self.metrics
            .compaction_backlog
            .fetch_add(1, Ordering::Relaxed);
        let state_vector = doc.transact().state_vector();
        let message = Bytes::from(Message::Sync(SyncMessage::Update(outcome.update)).encode_v1());
        Ok(Step::Stored {
            state_vector,
            refused,
            message,
            echo: outcome.echo,
            shared,
        })
    }

    /// The one way out of an update that failed half-way: the document in
    /// memory may now differ from storage, so it is marked and dropped (its
    /// clients reconnect and resync from storage), and `error` is returned.
    fn poisoned(
        &self,
        lease: &Lease,
        mut state: tokio::sync::MutexGuard<'_, super::DocState>,
        error: ApplyError,
    ) -> ApplyError {
        state.poisoned = true;
        drop(state);
        self.evict(lease);
        error
    }

    fn build_index(
        &self,
        id: &DocId,
        doc: &yrs::Doc,
        shape: DocShape,
        writers: Option<Vec<(u64, String)>>,
    ) -> Result<ItemIndex, String> {
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let mut index = ItemIndex::from_state(shape, &state).map_err(|e| e.to_string())?;
        let writers = match writers {
            Some(writers) => writers,
            None => self.store.writers(id).map_err(|e| e.to_string())?,
        };
        for (client, writer) in writers {
            if client >= 1 << 53 {
                continue;
            }
            let writer = if writer == SERVER_WRITER {
                Writer::Server
            } else {
                Writer::Person(writer.into())
            };
            index.set_writer(yrs::ClientID::new(client), writer);
        }
        Ok(index)
    }

    fn after_flush(&self, state_vector: StateVector, refused: Vec<RefusedChange>) -> Applied {
        Applied {
            state_vector,
            refused,
            flusher: Some(self.flusher.clone()),
        }
    }
}
