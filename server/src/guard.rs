//! Containment of panics in third-party decoding: yrs asserts on some
//! impossible inputs instead of returning errors.

use std::panic::{catch_unwind, AssertUnwindSafe};

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
