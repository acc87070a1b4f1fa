//! `plait`: the Plait server and its administration commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::sync::Arc;
use std::time::Duration;

use plait_server::{Config, SledStore};
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(
    name = "plait",
    version,
    about = "Plait: run an NHS trust's improvement programme, offline first"
)]
struct Cli {
    /// Log format.
    #[arg(long, env = "PLAIT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API and the web client.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PLAIT_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Where sled keeps its files.
        #[arg(long, env = "PLAIT_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        /// The built web client (trunk's output).
        #[arg(long, env = "PLAIT_CLIENT_DIR", default_value = "./client/dist")]
        client_dir: PathBuf,
        /// Seed the demo programme from the bundled action plan if it is missing.
        #[arg(long, env = "PLAIT_DEMO")]
        demo: bool,
        /// The largest sync message accepted, in bytes.
        #[arg(long, env = "PLAIT_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024)]
        max_message_bytes: usize,
        /// Seconds a document with no clients stays in memory.
        #[arg(long, env = "PLAIT_IDLE_UNLOAD_SECS", default_value_t = 60)]
        idle_unload_secs: u64,
        /// Compact a document's update log once it has this many entries.
        #[arg(long, env = "PLAIT_COMPACT_AFTER", default_value_t = 500)]
        compact_after: u64,
        /// Messages queued for one client before it is disconnected as too slow.
        #[arg(long, env = "PLAIT_CLIENT_QUEUE", default_value_t = 1024)]
        client_queue: usize,
    },
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match cli.command {
        Command::Serve {
            addr,
            data_dir,
            client_dir,
            demo,
            max_message_bytes,
            idle_unload_secs,
            compact_after,
            client_queue,
        } => {
            let store = SledStore::open(&data_dir)
                .with_context(|| format!("opening the data directory {}", data_dir.display()))?;
            if demo {
                let seeded =
                    plait_server::demo::seed(&store).context("seeding the demo programme")?;
                if let Some(summary) = seeded {
                    tracing::info!(
                        actions = summary.actions,
                        plans = summary.plans,
                        "seeded the demo programme"
                    );
                }
            }
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let local = listener.local_addr()?;
            tracing::info!(%local, "listening");
            if demo {
                // The one line a newcomer needs; printed, not logged, so it stands out.
                #[allow(clippy::print_stdout)]
                {
                    println!("\nPlait is running at http://{local}/");
                    println!(
                        "Demo programme: {} (the bundled 168-action plan).",
                        plait_server::demo::PROGRAMME_ID
                    );
                    println!("Sign-in: none yet (accounts and roles come with the access-control issue).\n");
                }
            }
            let mut config = Config::new(client_dir);
            config.max_message_bytes = max_message_bytes;
            config.registry.idle_unload = Duration::from_secs(idle_unload_secs);
            config.registry.compact_after = compact_after.max(1);
            config.registry.client_queue = client_queue.max(1);
            let state = plait_server::AppState::new(Arc::new(store), config);
            plait_server::serve(listener, state, shutdown_signal()).await
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
