//! Group commit: every update asks for a flush, and one `fsync` answers
//! every request made before it started.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::store::DocStore;

/// A flush that did not happen.
#[derive(Debug, Clone, thiserror::Error)]
#[error("flush failed: {0}")]
pub struct FlushError(pub(super) String);

type FlushWaiter = oneshot::Sender<Result<(), FlushError>>;

/// Group commit: every waiter registered before a flush starts is answered
/// by that flush, so many updates share one `fsync`.
#[derive(Debug, Clone)]
pub struct Flusher {
    tx: mpsc::UnboundedSender<FlushWaiter>,
}

impl Flusher {
    pub(super) fn spawn(store: Arc<dyn DocStore>, metrics: Arc<Metrics>) -> Flusher {
        let (tx, mut rx) = mpsc::unbounded_channel::<FlushWaiter>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiters = vec![first];
                while let Ok(more) = rx.try_recv() {
                    waiters.push(more);
                }
                let started = Instant::now();
                let store = store.clone();
                let result = match tokio::task::spawn_blocking(move || store.flush()).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(FlushError(e.to_string())),
                    Err(e) => Err(FlushError(e.to_string())),
                };
                metrics.flushed(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                if let Err(e) = &result {
                    tracing::error!(error = %e, "flush failed");
                }
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
        });
        Flusher { tx }
    }

    /// Asks for a flush covering everything written before this call; the
    /// receiver answers once it is on disk.
    pub fn request(&self) -> oneshot::Receiver<Result<(), FlushError>> {
        let (tx, rx) = oneshot::channel();
        // If the flusher has stopped, `tx` is dropped and the receiver says so.
        let _ = self.tx.send(tx);
        rx
    }

    /// Waits until everything written before this call is on disk.
    ///
    /// # Errors
    /// When the flush fails or the flusher has stopped.
    pub async fn flush(&self) -> Result<(), FlushError> {
        self.request()
            .await
            .map_err(|_| FlushError("the flusher has stopped".into()))?
    }
}
