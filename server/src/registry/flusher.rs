//! Group commit: every update asks for a flush, and one `fsync` answers
//! every request made before it started.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::guard::lock;
use crate::metrics::Metrics;
use crate::store::DocStore;

/// A flush that did not happen.
#[derive(Debug, Clone, thiserror::Error)]
#[error("flush failed: {0}")]
pub struct FlushError(pub(super) String);

/// Who waits for a flush: a task, or work the flushing thread does as soon
/// as the flush is over (a connection's acknowledgement written to its
/// socket, without waking the connection's task).
enum FlushWaiter {
    Task(oneshot::Sender<Result<(), FlushError>>),
    Then(Box<dyn FnOnce(Result<(), FlushError>) + Send>),
}

impl std::fmt::Debug for FlushWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FlushWaiter::Task(_) => "Task",
            FlushWaiter::Then(_) => "Then",
        })
    }
}

impl FlushWaiter {
    fn answer(self, result: Result<(), FlushError>) {
        match self {
            FlushWaiter::Task(tx) => {
                let _ = tx.send(result);
            }
            FlushWaiter::Then(then) => {
                // Nothing it does may stop the flushing thread.
                if let Err(panic) = crate::guard::no_panic(|| then(result)) {
                    tracing::error!(%panic, "work after a flush panicked");
                }
            }
        }
    }
}

/// What the flushing thread and those asking share.
#[derive(Debug, Default)]
struct Pending {
    waiters: Vec<FlushWaiter>,
    /// Every handle is gone: the thread ends.
    stopped: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    asked: Condvar,
}

/// Ends the flushing thread when the last handle goes.
#[derive(Debug)]
struct Stop(Arc<Shared>);

impl Drop for Stop {
    fn drop(&mut self) {
        lock(&self.0.pending).stopped = true;
        self.0.asked.notify_one();
    }
}

/// Group commit: every waiter registered before a flush starts is answered
/// by that flush, so many updates share one `fsync`.
///
/// Flushes run on a thread of their own, not the runtime's blocking pool: a
/// request is one notification to a thread waiting for it (not a task, and
/// a blocking-pool thread, woken per flush), and a burst of other blocking
/// work (sign-ins, exports) never holds up an acknowledgement.
#[derive(Debug, Clone)]
pub struct Flusher {
    shared: Arc<Shared>,
    _stop: Arc<Stop>,
}

impl Flusher {
    pub(super) fn spawn(store: Arc<dyn DocStore>, metrics: Arc<Metrics>) -> Flusher {
        let shared = Arc::new(Shared::default());
        let thread = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("plait-flush".into())
            .spawn(move || flush_loop(&thread, &*store, &metrics));
        if let Err(e) = spawned {
            // Every request then fails (its sender dropped unanswered).
            tracing::error!(error = %e, "the flushing thread could not start");
            lock(&shared.pending).stopped = true;
        }
        Flusher {
            _stop: Arc::new(Stop(shared.clone())),
            shared,
        }
    }

    /// Asks for a flush covering everything written before this call; the
    /// receiver answers once it is on disk.
    pub fn request(&self) -> oneshot::Receiver<Result<(), FlushError>> {
        let (tx, rx) = oneshot::channel();
        // If the flusher has stopped, `tx` is dropped and the receiver says so.
        self.wait_with(FlushWaiter::Task(tx));
        rx
    }

    /// Asks for a flush covering everything written before this call, and
    /// calls `then` with its outcome on the flushing thread (keep it short:
    /// the next flush waits for it).
    pub fn request_then(&self, then: impl FnOnce(Result<(), FlushError>) + Send + 'static) {
        self.wait_with(FlushWaiter::Then(Box::new(then)));
    }

    fn wait_with(&self, waiter: FlushWaiter) {
        let mut pending = lock(&self.shared.pending);
        if pending.stopped {
            drop(pending);
            waiter.answer(Err(FlushError("the flusher has stopped".into())));
            return;
        }
        pending.waiters.push(waiter);
        if pending.waiters.len() == 1 {
            self.shared.asked.notify_one();
        }
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

/// The flushing thread: waits for requests, then answers every one made
/// before its flush began with that flush (those made during a flush
/// share the next one).
fn flush_loop(shared: &Shared, store: &dyn DocStore, metrics: &Metrics) {
    loop {
        let waiters = {
            let mut pending = lock(&shared.pending);
            while pending.waiters.is_empty() {
                if pending.stopped {
                    return;
                }
                pending = shared
                    .asked
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            std::mem::take(&mut pending.waiters)
        };
        let started = Instant::now();
        // A panic must not end the thread: every later flush would wait
        // for ever.
        let result = match crate::guard::no_panic(|| store.flush()) {
            Ok(flushed) => flushed.map_err(|e| FlushError(e.to_string())),
            Err(panic) => Err(FlushError(format!("the flush panicked: {panic}"))),
        };
        metrics.flushed(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        if let Err(e) = &result {
            tracing::error!(error = %e, "flush failed");
        }
        for waiter in waiters {
            waiter.answer(result.clone());
        }
    }
}
