//! The wall clock, in the units the documents and the trail use.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Now, as the documents hold moments.
pub fn now() -> plait_shared::UnixMillis {
    plait_shared::UnixMillis(i64::try_from(now_millis()).unwrap_or(i64::MAX))
}

/// Today's date (UTC).
pub fn today() -> plait_shared::Date {
    now().date()
}
