//! The sign-in rate limit: failed sign-ins per account name and per
//! network address, within a sliding window.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Limits failed sign-ins: per account name and per network address, within
/// a sliding window. A success clears the account's count.
#[derive(Debug)]
pub struct SignInLimiter {
    window: Duration,
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SignInLimiter {
    /// At most `per_account` failures for one account name and
    /// `per_address` from one address within `window`.
    pub fn new(window: Duration, per_account: usize, per_address: usize) -> SignInLimiter {
        SignInLimiter {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The buckets an attempt counts in, with their limits: the account
    /// from this address (the tight limit: a guesser at one account), the
    /// address (a guesser at many accounts), and the account from anywhere
    /// (ten times looser: spreading guesses over addresses still meets a
    /// limit, and locking a named colleague out takes ten times the
    /// attempts it once did, from addresses the colleague's is not).
    fn keys(&self, username: &str, address: &str) -> [(String, usize); 3] {
        let user = username.to_ascii_lowercase();
        [
            (format!("user:{user}@{address}"), self.per_account),
            (format!("addr:{address}"), self.per_address),
            (format!("user:{user}"), self.per_account.saturating_mul(10)),
        ]
    }

    /// Takes one attempt: `Err(retry after)` when either limit is reached;
    /// otherwise the attempt is counted at once, as a failure until
    /// [`SignInLimiter::succeeded`] says otherwise. Counting before the
    /// (slow) password check is what stops a burst of simultaneous guesses:
    /// each one takes a place before any is verified.
    pub fn attempt(&self, username: &str, address: &str) -> Result<Instant, Duration> {
        self.check(username, address)?;
        let now = Instant::now();
        self.failed_at(username, address, now);
        Ok(now)
    }

    /// `Err(retry after)` when either limit is reached.
    pub fn check(&self, username: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, limit) in self.keys(username, address) {
            if let Some(times) = failures.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > self.window)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let oldest = times.front().copied().unwrap_or(now);
                    return Err(self.window.saturating_sub(now.duration_since(oldest)));
                }
            }
        }
        Ok(())
    }

    /// Notes a failure.
    pub fn failed(&self, username: &str, address: &str) {
        self.failed_at(username, address, Instant::now());
    }

    fn failed_at(&self, username: &str, address: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() > 100_000 {
            // Bounded memory under a flood: forget the oldest picture.
            failures.clear();
        }
        for (key, _) in self.keys(username, address) {
            failures.entry(key).or_default().push_back(now);
        }
    }

    /// Notes a success: the account's failures from this address are
    /// forgotten, and the attempt taken at `at` no longer counts anywhere.
    pub fn succeeded(&self, username: &str, address: &str, at: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let [(here, _), rest @ ..] = self.keys(username, address);
        failures.remove(&here);
        for (key, _) in rest {
            if let Some(times) = failures.get_mut(&key) {
                if let Some(i) = times.iter().rposition(|t| *t == at) {
                    times.remove(i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_counts_per_account_and_per_address() {
        let limiter = SignInLimiter::new(Duration::from_secs(60), 3, 5);
        for _ in 0..3 {
            assert!(limiter.check("a", "1").is_ok());
            limiter.failed("a", "1");
        }
        assert!(
            limiter.check("a", "2").is_ok(),
            "from another address the account is not locked out by three failures"
        );
        for address in ["4", "5", "6", "7", "8", "9", "10", "11", "12"] {
            for _ in 0..3 {
                limiter.failed("a", address);
            }
        }
        assert!(
            limiter.check("a", "2").is_err(),
            "thirty failures from anywhere limit the account everywhere"
        );
        assert!(limiter.check("b", "1").is_ok());
        limiter.failed("b", "1");
        limiter.failed("c", "1");
        assert!(limiter.check("d", "1").is_err(), "the address is limited");
        // A success forgets the account's failures from that address.
        for _ in 0..3 {
            limiter.failed("e", "13");
        }
        assert!(limiter.check("e", "13").is_err());
        let at = limiter.attempt("e", "14").unwrap();
        limiter.succeeded("e", "13", at);
        assert!(limiter.check("e", "13").is_ok());
    }
}
