//! Evidence files no document cites any more, released after a grace
//! period (`plait gc`). An upload comes before the evidence entry that cites
//! it reaches the server (a device attaches the file, then syncs), so only a
//! file older than the grace period and cited by no plan of a programme is
//! released from that programme (freeing its quota); a file no programme
//! reads any more is deleted.

use std::collections::HashSet;
use std::time::Duration;

use plait_shared::{DocId, EvidenceKind, PlanDoc};
use serde::{Deserialize, Serialize};
use yrs::Transact;

use crate::{AppError, AppState};

/// What a collection did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Collected {
    /// Files taken from a programme that no longer cites them.
    pub released: usize,
    /// Files deleted (no programme reads them any more).
    pub deleted: usize,
    /// Bytes deleted.
    pub bytes: u64,
}

/// Releases every file older than `grace` that a programme's plans no
/// longer cite, at `now` (Unix milliseconds).
///
/// # Errors
/// When storage fails.
pub async fn collect_evidence(
    state: &AppState,
    grace: Duration,
    now: u64,
) -> Result<Collected, AppError> {
    let accounts = state.accounts.clone();
    let docs = tokio::task::spawn_blocking(move || accounts.docs_with_programmes()).await??;
    let mut cited: HashSet<(DocId, String)> = HashSet::new();
    for (doc, programme) in docs {
        if doc == programme {
            continue;
        }
        let lease = state.registry.lease(&doc).await?;
        let held = lease.state().lock().await;
        let plan = held.awareness.doc();
        let view = PlanDoc::new(plan.clone()).read(&plan.transact());
        for action in view.actions.values() {
            for evidence in &action.evidence {
                if evidence.kind == EvidenceKind::File {
                    cited.insert((programme.clone(), evidence.location.clone()));
                }
            }
        }
    }
    let blobs = state.blobs.clone();
    let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
    let collected = tokio::task::spawn_blocking(move || -> Result<Collected, AppError> {
        let mut collected = Collected::default();
        for (hash, meta) in blobs.all()? {
            if meta.uploaded_at.saturating_add(grace_ms) > now {
                continue;
            }
            for programme in &meta.programmes {
                if cited.contains(&(programme.clone(), hash.clone())) {
                    continue;
                }
                collected.released += 1;
                let freed = blobs.release(&hash, programme)?;
                if freed > 0 {
                    collected.deleted += 1;
                    collected.bytes += freed;
                }
            }
        }
        Ok(collected)
    })
    .await??;
    state.registry.flush().await?;
    tracing::info!(
        released = collected.released,
        deleted = collected.deleted,
        bytes = collected.bytes,
        "evidence collected"
    );
    Ok(collected)
}
