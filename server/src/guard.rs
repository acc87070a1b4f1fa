//! Containment of panics in third-party decoding: yrs asserts on some
//! impossible inputs instead of returning errors; and locks that a panic
//! elsewhere does not make unusable.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, even if a thread panicked while holding it. For data
/// kept consistent at every step (maps, queues): a panic while it is held
/// leaves nothing half-done, so refusing every later use would only turn
/// one failure into many.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f`, turning a panic into an error with its message.
///
/// # Errors
/// The panic's message, if `f` panicked.
pub fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "invalid input".to_owned())
    })
}
