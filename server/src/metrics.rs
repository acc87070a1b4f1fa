//! Counters for `GET /metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The server's counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open sync connections (WebSocket).
    pub connections: AtomicI64,
    /// Documents in memory.
    pub loaded_docs: AtomicI64,
    /// Updates received from clients (WebSocket and HTTP).
    pub updates_received: AtomicU64,
    /// Update messages queued to other clients.
    pub updates_broadcast: AtomicU64,
    /// Updates committed by other nodes and applied here (a shared store).
    pub updates_followed: AtomicU64,
    /// Bytes received in sync messages.
    pub bytes_received: AtomicU64,
    /// Bytes queued to clients.
    pub bytes_sent: AtomicU64,
    /// Group-commit flushes done.
    pub flushes: AtomicU64,
    /// Total time spent flushing, in microseconds.
    pub flush_micros: AtomicU64,
    /// The longest flush, in microseconds.
    pub flush_micros_max: AtomicU64,
    /// Log entries written but not yet compacted, across loaded documents.
    pub compaction_backlog: AtomicI64,
    /// Compactions done.
    pub compactions: AtomicU64,
    /// Connections closed because they sent bad input.
    pub rejected_connections: AtomicU64,
    /// Connections closed because they could not keep up.
    pub slow_disconnects: AtomicU64,
    /// Changes refused (and undone) because their author may not make them.
    pub refused_changes: AtomicU64,
    /// Requests refused for want of a session (401) or of access (403).
    pub denied_requests: AtomicU64,
    /// Failed sign-ins (wrong password, unknown account, rate-limited).
    pub failed_sign_ins: AtomicU64,
    /// Weekly digests handed to the mail server.
    pub digests_sent: AtomicU64,
    /// Weekly digests the mail server did not take (retried later).
    pub digests_failed: AtomicU64,
    /// The most passwords hashed at once since the start (argon2 costs
    /// tens of megabytes each: this stays at the cap, one per core).
    pub password_hashes_peak: AtomicU64,
}

impl Metrics {
    /// Records one flush.
    pub fn flushed(&self, micros: u64) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.flush_micros.fetch_add(micros, Ordering::Relaxed);
        self.flush_micros_max.fetch_max(micros, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP plait_{name} {help}");
            let _ = writeln!(out, "# TYPE plait_{name} {kind}");
            let _ = writeln!(out, "plait_{name} {value}");
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        let geti = |a: &AtomicI64| a.load(Ordering::Relaxed).to_string();
        metric(
            "connections",
            "gauge",
            "Open sync connections.",
            geti(&self.connections),
        );
        metric(
            "loaded_docs",
            "gauge",
            "Documents held in memory.",
            geti(&self.loaded_docs),
        );
        metric(
            "updates_received_total",
            "counter",
            "Updates received from clients.",
            get(&self.updates_received),
        );
        metric(
            "updates_broadcast_total",
            "counter",
            "Update messages sent on to other clients.",
            get(&self.updates_broadcast),
        );
        metric(
            "updates_followed_total",
            "counter",
            "Updates other nodes committed, applied here.",
            get(&self.updates_followed),
        );
        metric(
            "bytes_received_total",
            "counter",
            "Bytes of sync messages received.",
            get(&self.bytes_received),
        );
        metric(
            "bytes_sent_total",
            "counter",
            "Bytes of sync messages sent.",
            get(&self.bytes_sent),
        );
        metric(
            "flushes_total",
            "counter",
            "Group-commit flushes to disk.",
            get(&self.flushes),
        );
        let seconds = self.flush_micros.load(Ordering::Relaxed) as f64 / 1e6;
        metric(
            "flush_seconds_total",
            "counter",
            "Time spent flushing to disk.",
            format!("{seconds:.6}"),
        );
        let max = self.flush_micros_max.load(Ordering::Relaxed) as f64 / 1e6;
        metric(
            "flush_seconds_max",
            "gauge",
            "The longest flush so far.",
            format!("{max:.6}"),
        );
        metric(
            "compaction_backlog",
            "gauge",
            "Log entries not yet compacted in loaded documents.",
            geti(&self.compaction_backlog),
        );
        metric(
            "compactions_total",
            "counter",
            "Compactions of a document's log into its snapshot.",
            get(&self.compactions),
        );
        metric(
            "rejected_connections_total",
            "counter",
            "Connections closed for bad input.",
            get(&self.rejected_connections),
        );
        metric(
            "slow_disconnects_total",
            "counter",
            "Connections closed because they fell behind.",
            get(&self.slow_disconnects),
        );
        metric(
            "refused_changes_total",
            "counter",
            "Changes undone because their author may not make them.",
            get(&self.refused_changes),
        );
        metric(
            "denied_requests_total",
            "counter",
            "Requests refused with 401 or 403.",
            get(&self.denied_requests),
        );
        metric(
            "failed_sign_ins_total",
            "counter",
            "Sign-ins refused.",
            get(&self.failed_sign_ins),
        );
        metric(
            "digests_sent_total",
            "counter",
            "Weekly digests handed to the mail server.",
            get(&self.digests_sent),
        );
        metric(
            "digests_failed_total",
            "counter",
            "Weekly digests the mail server did not take (retried).",
            get(&self.digests_failed),
        );
        metric(
            "password_hashes_peak",
            "gauge",
            "The most passwords hashed at once.",
            get(&self.password_hashes_peak),
        );
        out
    }
}
