//! The report: metrics, checks, errors and expectations; JSON and a table;
//! and the summary of several reports.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use serde::{Deserialize, Serialize};

use crate::RunArgs;

/// At most this many error messages are kept (all are counted).
const KEEP_ERRORS: usize = 20;

/// An expectation on a metric, as `metric<=limit` or `metric>=limit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expectation {
    pub metric: String,
    pub op: String,
    pub limit: f64,
    pub value: Option<f64>,
    pub met: bool,
}

impl Expectation {
    /// Parses `metric<=limit` / `metric>=limit`.
    pub fn parse(text: &str) -> anyhow::Result<Expectation> {
        let (metric, op, limit) = if let Some((m, l)) = text.split_once("<=") {
            (m, "<=", l)
        } else if let Some((m, l)) = text.split_once(">=") {
            (m, ">=", l)
        } else {
            return Err(anyhow!(
                "an expectation is METRIC<=LIMIT or METRIC>=LIMIT, not {text:?}"
            ));
        };
        Ok(Expectation {
            metric: metric.trim().to_owned(),
            op: op.to_owned(),
            limit: limit
                .trim()
                .parse()
                .with_context(|| format!("the limit in {text:?}"))?,
            value: None,
            met: false,
        })
    }

    fn judge(&mut self, value: Option<f64>) {
        self.value = value;
        self.met = value.is_some_and(|v| match self.op.as_str() {
            "<=" => v <= self.limit,
            _ => v >= self.limit,
        });
    }
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The run's name (`--name`).
    pub name: String,
    /// The command line.
    pub command: String,
    /// When it started (seconds since 1970).
    pub started_unix: u64,
    /// The load average when it started (1, 5, 15 minutes).
    pub load_average: String,
    /// The settings.
    pub settings: serde_json::Value,
    /// The numbers.
    pub metrics: BTreeMap<String, f64>,
    /// Pass/fail checks: convergence, durability.
    pub checks: BTreeMap<String, bool>,
    /// Failures (the first few).
    pub errors: Vec<String>,
    /// How many failures there were.
    pub error_count: usize,
    /// What was expected, and whether it was met.
    pub expectations: Vec<Expectation>,
    /// Remarks.
    pub notes: Vec<String>,
}

impl Report {
    /// An empty report for `args`.
    pub fn new(args: &RunArgs, fds: u64) -> Report {
        let command = std::env::args()
            .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
            .collect::<Vec<_>>()
            .join(" ");
        let mut report = Report {
            name: args.name.clone(),
            command,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            load_average: std::fs::read_to_string("/proc/loadavg")
                .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
            settings: serde_json::json!({
                "url": args.url,
                "also_url": args.also_url,
                "docs": args.docs,
                "clients": args.clients,
                "updates": args.updates,
                "rate_per_client": args.rate,
                "update_bytes": args.update_bytes,
                "doc_prefix": args.doc_prefix,
                "preload_bytes": args.preload_bytes.map(|s| s.0),
                "preload_entry_bytes": args.preload_entry_bytes,
                "preload_batch_bytes": args.preload_batch_bytes,
                "join_storm": args.join_storm,
                "full_clients": args.full_clients,
                "idle": args.idle,
                "server_pid": args.server_pid,
                "time_limit_s": args.time_limit,
                "open_files_limit": fds,
            }),
            metrics: BTreeMap::new(),
            checks: BTreeMap::new(),
            errors: Vec::new(),
            error_count: 0,
            expectations: Vec::new(),
            notes: Vec::new(),
        };
        for text in &args.expect {
            match Expectation::parse(text) {
                Ok(e) => report.expectations.push(e),
                Err(e) => report.error(format!("{e:#}")),
            }
        }
        report
    }

    /// Records a number.
    pub fn metric(&mut self, name: &str, value: f64) {
        self.metrics.insert(name.to_owned(), value);
    }

    /// Records a check.
    pub fn check(&mut self, name: &str, ok: bool) {
        self.checks.insert(name.to_owned(), ok);
    }

    /// Records a failure.
    pub fn error(&mut self, message: String) {
        self.error_count += 1;
        if self.errors.len() < KEEP_ERRORS {
            self.errors.push(message);
        }
    }

    /// Records a remark.
    pub fn note(&mut self, message: String) {
        self.notes.push(message);
    }

    /// Judges the expectations against the metrics.
    pub fn check_expectations(&mut self) {
        for e in &mut self.expectations {
            let value = self.metrics.get(&e.metric).copied();
            e.judge(value);
        }
    }

    /// Whether the run passed: no errors, every check holds, and (when
    /// `strict`) every expectation is met.
    pub fn passed(&self, strict: bool) -> bool {
        self.error_count == 0
            && self.checks.values().all(|ok| *ok)
            && (!strict || self.expectations.iter().all(|e| e.met))
    }

    /// The readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(
            &mut out,
            format!(
                "plait-bench: {} (load average {})",
                self.name, self.load_average
            ),
        );
        for (name, value) in &self.metrics {
            line(&mut out, format!("  {name:<32} {}", fmt(*value)));
        }
        for (name, ok) in &self.checks {
            line(
                &mut out,
                format!("  {name:<32} {}", if *ok { "yes" } else { "NO" }),
            );
        }
        for e in &self.expectations {
            line(
                &mut out,
                format!(
                    "  expect {:<25} {} {:<10} {} ({})",
                    e.metric,
                    e.op,
                    fmt(e.limit),
                    if e.met { "met" } else { "MISSED" },
                    e.value.map_or("no value".to_owned(), fmt)
                ),
            );
        }
        for n in &self.notes {
            line(&mut out, format!("  note: {n}"));
        }
        if self.error_count > 0 {
            line(&mut out, format!("  errors: {}", self.error_count));
            for e in &self.errors {
                line(&mut out, format!("    {e}"));
            }
        }
        line(
            &mut out,
            format!(
                "  result: {}",
                if self.passed(false) { "ok" } else { "FAILED" }
            ),
        );
        out
    }
}

fn fmt(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// Writes the JSON report where asked and the table.
pub fn emit(args: &RunArgs, report: &Report) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    match args.json.as_deref() {
        Some(path) if path == std::path::Path::new("-") => {
            eprint!("{}", report.table());
            println!("{json}");
        }
        Some(path) => {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            print!("{}", report.table());
        }
        None => print!("{}", report.table()),
    }
    std::io::stdout().flush()?;
    Ok(())
}

/// Prints one Markdown table of every report's expectations, and the
/// ratios asked for (`A/B:metric<=limit`).
pub fn summary(files: &[PathBuf], ratios: &[String]) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a plait-bench report", file.display()))?;
        reports.push(report);
    }
    let find = |name: &str| reports.iter().find(|r| r.name == name);
    println!("| scenario | measure | target | measured | met |");
    println!("|---|---|---|---|---|");
    let mut missed = 0;
    for r in &reports {
        let ok = r.passed(false);
        for e in &r.expectations {
            if !e.met {
                missed += 1;
            }
            println!(
                "| {} | `{}` | {} {} | {} | {} |",
                r.name,
                e.metric,
                e.op,
                fmt(e.limit),
                e.value.map_or("—".to_owned(), fmt),
                if e.met { "yes" } else { "**no**" }
            );
        }
        for (check, value) in &r.checks {
            println!(
                "| {} | {check} | yes | {} | {} |",
                r.name,
                if *value { "yes" } else { "no" },
                if *value { "yes" } else { "**no**" }
            );
        }
        if !ok && r.error_count > 0 {
            println!(
                "| {} | errors | 0 | {} ({}) | **no** |",
                r.name,
                r.error_count,
                r.errors.first().map_or("", String::as_str)
            );
        }
    }
    for ratio in ratios {
        let (pair, expectation) = ratio
            .split_once(':')
            .ok_or_else(|| anyhow!("a ratio is A/B:METRIC<=LIMIT, not {ratio:?}"))?;
        let (a, b) = pair
            .split_once('/')
            .ok_or_else(|| anyhow!("a ratio is A/B:METRIC<=LIMIT, not {ratio:?}"))?;
        let mut e = Expectation::parse(expectation)?;
        let value = match (find(a), find(b)) {
            (Some(ra), Some(rb)) => match (ra.metrics.get(&e.metric), rb.metrics.get(&e.metric)) {
                (Some(x), Some(y)) if *y > 0.0 => Some(x / y),
                _ => None,
            },
            _ => None,
        };
        e.judge(value);
        if !e.met {
            missed += 1;
        }
        println!(
            "| {a} ÷ {b} | `{}` ratio | {} {} | {} | {} |",
            e.metric,
            e.op,
            fmt(e.limit),
            e.value.map_or("—".to_owned(), |v| format!("{v:.2}")),
            if e.met { "yes" } else { "**no**" }
        );
    }
    println!();
    println!("{missed} target(s) missed.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_parse_and_judge() {
        let mut e = Expectation::parse("fanout_p99_ms<=25").unwrap();
        e.judge(Some(12.0));
        assert!(e.met);
        e.judge(Some(30.0));
        assert!(!e.met);
        e.judge(None);
        assert!(!e.met);
        let mut e = Expectation::parse("delivered_per_s >= 15000").unwrap();
        e.judge(Some(15_000.0));
        assert!(e.met);
        assert!(Expectation::parse("nonsense").is_err());
    }
}
