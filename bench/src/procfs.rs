//! The server's memory and CPU, read from `/proc/PID` (Linux).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Resident set size now, in KiB (`VmRSS`).
    pub rss_kib: u64,
    /// The peak resident set size since the process started, in KiB (`VmHWM`).
    pub hwm_kib: u64,
    /// User plus system CPU time so far, in microseconds.
    pub cpu_us: u64,
}

/// Clock ticks per second of `/proc/PID/stat`'s times.
fn ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t: &u64| t > 0)
            .unwrap_or(100)
    })
}

/// Reads `/proc/{pid}` ("self" for this process); `None` if it is gone.
pub fn sample(pid: &str) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its ')'.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Sample {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        cpu_us: (utime + stime) * 1_000_000 / ticks_per_second(),
    })
}

/// Resets the peak resident size (`VmHWM`) of `pid` to its size now
/// (writing 5 to `/proc/PID/clear_refs`), so a later peak is the load's,
/// not the process's start-up's or its sign-ins' (Argon2 takes 19 MiB).
///
/// # Errors
/// When the process is gone or not this user's.
pub fn reset_peak(pid: &str) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// Reads every process of `pids` and sums them; `None` if one is gone.
pub fn sample_all(pids: &[String]) -> Option<Sample> {
    let mut sum = Sample::default();
    for pid in pids {
        let s = sample(pid)?;
        sum.rss_kib += s.rss_kib;
        sum.hwm_kib += s.hwm_kib;
        sum.cpu_us += s.cpu_us;
    }
    Some(sum)
}

/// Samples processes every `every` in the background (summed: the nodes
/// of one database and the database), keeping the largest resident size
/// seen.
#[derive(Debug, Clone)]
pub struct Sampler {
    pids: Vec<String>,
    max_rss_kib: Arc<Mutex<u64>>,
}

impl Sampler {
    /// Starts sampling `pids` (must be called inside a tokio runtime).
    pub fn start(pids: Vec<String>, every: Duration) -> Sampler {
        let sampler = Sampler {
            pids,
            max_rss_kib: Arc::default(),
        };
        let bg = sampler.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match sample_all(&bg.pids) {
                    Some(s) => {
                        let mut max = bg
                            .max_rss_kib
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner);
                        *max = (*max).max(s.rss_kib);
                    }
                    None => return,
                }
            }
        });
        sampler
    }

    /// A reading now.
    pub fn now(&self) -> Option<Sample> {
        let s = sample_all(&self.pids)?;
        let mut max = self
            .max_rss_kib
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *max = (*max).max(s.rss_kib);
        Some(s)
    }

    /// The largest resident size sampled so far, in KiB.
    pub fn max_rss_kib(&self) -> u64 {
        *self
            .max_rss_kib
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_read() {
        let s = sample("self").expect("/proc/self");
        assert!(s.rss_kib > 0);
        assert!(s.hwm_kib >= s.rss_kib);
    }
}
