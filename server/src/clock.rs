//! The wall clock, in the units the documents and the trail use.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
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

/// A moment as people read it in a file or on a terminal:
/// `2026-12-01 06:35:12 UTC`.
pub fn utc_text(millis: u64) -> String {
    let date = plait_shared::UnixMillis(i64::try_from(millis).unwrap_or(i64::MAX)).date();
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        date.iso(),
        millis / 3_600_000 % 24,
        millis / 60_000 % 60,
        millis / 1000 % 60
    )
}

/// Today's date (UTC).
pub fn today() -> plait_shared::Date {
    now().date()
}

/// The clock a background task reads (the weekly digest's): the wall
/// clock, or one the tests set by hand, so that "Monday 07:00" comes when
/// a test says.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    set: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The wall clock.
    pub fn wall() -> Clock {
        Clock::default()
    }

    /// A clock that reads `at` until [`Clock::set`] moves it (tests).
    pub fn fixed(at: plait_shared::UnixMillis) -> Clock {
        Clock {
            set: Some(Arc::new(AtomicI64::new(at.0))),
        }
    }

    /// Moves a fixed clock to `at` (every copy of it reads the same); the
    /// wall clock does not move.
    pub fn set(&self, at: plait_shared::UnixMillis) {
        if let Some(set) = &self.set {
            set.store(at.0, Ordering::Relaxed);
        }
    }

    /// Now, by this clock.
    pub fn now(&self) -> plait_shared::UnixMillis {
        match &self.set {
            Some(set) => plait_shared::UnixMillis(set.load(Ordering::Relaxed)),
            None => now(),
        }
    }
}
