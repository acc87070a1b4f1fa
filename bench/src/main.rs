//! `plait-bench`: a load generator for a running Plait server.
//!
//! It drives the server over real WebSockets with the y-websocket protocol
//! and Plait's durable acknowledgements, as the web client does, and
//! measures: the time for every client to connect and finish its initial
//! sync; fan-out latency (an edit on one client until every other client of
//! the document has it); updates delivered per second; that every client of
//! a document ends identical; that every edit was acknowledged as durable;
//! and, given the server's pid, its peak memory and CPU time. Scenarios:
//! D documents × C clients × U updates (paced or not), a preloaded large
//! document, a join storm, idle connections. See BENCHMARKS.md.
//!
//! It stops by itself within `--time-limit`.

// A command-line tool: printing its report is its job.
#![allow(clippy::print_stdout)]

mod client;
mod procfs;
mod raw;
mod report;
mod scenario;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "plait-bench",
    version,
    about = "Load generator and benchmarks for a running Plait server",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario against a server (the default).
    Run(Box<RunArgs>),
    /// Read JSON reports and print one Markdown table of every expectation,
    /// with ratios between reports.
    Summary(SummaryArgs),
}

/// A size in bytes: `20MB` (10^6), `20MiB` (2^20), `20KB`, `512`.
#[derive(Debug, Clone, Copy)]
pub struct Size(pub u64);

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let number: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("not a size: {s:?}"))?;
        let scale = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" | "k" => 1e3,
            "mb" | "m" => 1e6,
            "gb" | "g" => 1e9,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            other => return Err(format!("unknown unit {other:?} in {s:?}")),
        };
        Ok(Size((number * scale) as u64))
    }
}

/// What to run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A session token (skips signing in).
    #[arg(long, env = "PLAIT_BENCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The server's `/metrics` bearer token, to copy its counters into the
    /// report.
    #[arg(long, env = "PLAIT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Sign in as this user (a server administrator: the bench's documents
    /// belong to no programme).
    #[arg(long)]
    pub user: Option<String>,
    /// The password (prefer --password-stdin).
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// A name for this run in the report.
    #[arg(long, default_value = "run")]
    pub name: String,
    /// Documents.
    #[arg(long, short = 'd', default_value_t = 1)]
    pub docs: usize,
    /// Clients per document (in a join storm: clients joining document 0).
    #[arg(long, short = 'c', default_value_t = 2)]
    pub clients: usize,
    /// Updates each client makes.
    #[arg(long, short = 'u', default_value_t = 10)]
    pub updates: usize,
    /// Updates per second per client (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Padding bytes in each edit.
    #[arg(long, default_value_t = 16)]
    pub update_bytes: usize,
    /// Document ids are PREFIX-0, PREFIX-1, … (unregistered: no
    /// programme, so no per-change access checks).
    #[arg(long, default_value = "bench")]
    pub doc_prefix: String,
    /// Grow each document to this size before measuring (`20MB`).
    #[arg(long)]
    pub preload_bytes: Option<Size>,
    /// The size of each entry written by the preload.
    #[arg(long, default_value_t = 256)]
    pub preload_entry_bytes: usize,
    /// The size of each update the preload sends (many updates, as a
    /// document's life makes them: the server compacts the log on the way).
    #[arg(long, default_value_t = 32 * 1024)]
    pub preload_batch_bytes: usize,
    /// Join storm: all clients join document 0 at once; measures the
    /// initial sync.
    #[arg(long)]
    pub join_storm: bool,
    /// In a join storm, every client a full one (tokio-tungstenite and
    /// yrs) instead of all but the first reading the state raw.
    #[arg(long)]
    pub full_clients: bool,
    /// Idle connections: open N across the documents, hold them, report the
    /// server's memory.
    #[arg(long)]
    pub idle: Option<usize>,
    /// Seconds to hold idle connections before reading the memory.
    #[arg(long, default_value_t = 3.0)]
    pub idle_hold: f64,
    /// Each client's WebSocket read buffer (0: 256 KiB in a join storm,
    /// else 16 KiB).
    #[arg(long, default_value_t = 0)]
    pub read_buffer_bytes: usize,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,
    /// The server's process id, for its memory and CPU time; repeated for
    /// several (the nodes of one database, and the database's own
    /// processes): their memory and CPU time are summed.
    #[arg(long)]
    pub server_pid: Vec<u32>,
    /// Another node of the same database (repeatable): the clients of each
    /// document are spread over `--url` and these in turn, so every update
    /// reaches most of its readers through another node.
    #[arg(long)]
    pub also_url: Vec<String>,
    /// Any y-websocket server instead of Plait: the WebSocket URL of a
    /// document, `{doc}` standing for its name (`ws://127.0.0.1:1234/{doc}`).
    /// No sign-in, no `/metrics`, and no durable acknowledgements (other
    /// servers have none): implies `--no-durable`.
    #[arg(long)]
    pub ws_url: Option<String>,
    /// Do not ask for durable acknowledgements, nor wait for them (as a
    /// standard Yjs client connects; Plait still flushes every update).
    #[arg(long)]
    pub no_durable: bool,
    /// Stop (and fail) after this many seconds, whatever happens.
    #[arg(long, default_value_t = 120.0)]
    pub time_limit: f64,
    /// Write the JSON report here (`-` for standard output, the table then
    /// goes to standard error).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// An expectation to check, e.g. `fanout_p99_ms<=25` (repeatable).
    #[arg(long = "expect")]
    pub expect: Vec<String>,
    /// Exit non-zero when an expectation is not met (by default only
    /// errors, divergence and missing durability fail).
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
struct SummaryArgs {
    /// A ratio to check between two reports' metrics:
    /// `REPORT_A/REPORT_B:METRIC<=LIMIT` (repeatable).
    #[arg(long = "ratio")]
    ratios: Vec<String>,
    /// JSON reports.
    files: Vec<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Summary(args)) => report::summary(&args.files, &args.ratios),
        Some(Command::Run(args)) => run(*args),
        None => run(cli.run),
    }
}

impl RunArgs {
    /// Whether clients ask for and wait on durable acknowledgements.
    pub fn durable(&self) -> bool {
        !self.no_durable && self.ws_url.is_none()
    }

    /// The WebSocket URL of document `doc` on `base` (a Plait server, or
    /// `--ws-url`'s template).
    pub fn doc_url(&self, base: &str, doc: &str, token: &str, durable: bool) -> String {
        match &self.ws_url {
            Some(template) => template.replace("{doc}", doc),
            None => client::sync_url(base, doc, token, durable),
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    if args.docs == 0 || args.clients == 0 {
        bail!("--docs and --clients must be at least 1");
    }
    let fds = raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let limit = Duration::from_secs_f64(args.time_limit.max(1.0));
    let report = runtime.block_on(async {
        let token = token(&args).await?;
        // A hard stop a little after the limit the clients themselves keep.
        match tokio::time::timeout(
            limit + Duration::from_secs(5),
            scenario::run(&args, &token, fds, limit),
        )
        .await
        {
            Ok(report) => report,
            Err(_) => Err(anyhow!("the time limit of {:?} was exceeded", limit)),
        }
    })?;
    // Clients still closing must not hold the process.
    runtime.shutdown_timeout(Duration::from_secs(1));
    report::emit(&args, &report)?;
    if !report.passed(args.strict) {
        std::process::exit(1);
    }
    Ok(())
}

async fn token(args: &RunArgs) -> anyhow::Result<String> {
    if let Some(token) = &args.token {
        return Ok(token.clone());
    }
    if args.ws_url.is_some() && args.user.is_none() {
        return Ok(String::new());
    }
    let Some(user) = &args.user else {
        bail!("give --token, or --user with --password-stdin (a server administrator's account)");
    };
    let password = match (&args.password, args.password_stdin) {
        (Some(p), false) => p.clone(),
        (None, true) => {
            let mut line = String::new();
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut line)
                .context("reading the password")?;
            line.lines().next().unwrap_or_default().to_owned()
        }
        _ => bail!("give one of --password and --password-stdin with --user"),
    };
    let url = format!("{}/api/auth/login", args.url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .json(&plait_shared::api::SignIn {
            username: user.to_owned(),
            password,
        })
        .send()
        .await
        .with_context(|| format!("signing in at {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("signing in as {user} failed: {status} {body}");
    }
    let me: plait_shared::api::Me = response
        .json()
        .await
        .context("reading the sign-in answer")?;
    me.token
        .ok_or_else(|| anyhow!("the sign-in answer has no token"))
}

/// Raises the soft limit on open files to the hard limit (10,000
/// connections need 10,000 descriptors); returns the limit in force.
fn raise_fd_limit() -> u64 {
    #[cfg(unix)]
    {
        if let Ok((soft, hard)) = rlimit::Resource::NOFILE.get() {
            if soft < hard && rlimit::Resource::NOFILE.set(hard, hard).is_ok() {
                return hard;
            }
            return soft;
        }
    }
    0
}
