//! A real Plait server on port 0 with its own temporary data directory,
//! stopped (and its directory removed) when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use plait_server::{AppState, Config, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow_free::Result>>,
}

/// The tests avoid depending on anyhow; the server's error is turned into text.
mod anyhow_free {
    pub type Result = std::result::Result<(), String>;
}

/// The built web client, if `trunk build` has run (the test command runs it first).
pub fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/dist")
}

impl TestServer {
    /// Starts a server on an empty data directory, seeded with the demo.
    pub async fn start_with_demo() -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        TestServer::start_in(data_dir, true).await
    }

    /// Starts a server on `data_dir` (kept across restarts by the caller).
    pub async fn start_in(data_dir: tempfile::TempDir, demo: bool) -> TestServer {
        let store = Store::open(data_dir.path()).expect("open store");
        if demo {
            plait_server::demo::seed(&store).expect("seed demo");
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel();
        let state = AppState::new(
            store,
            Config {
                client_dir: client_dir(),
            },
        );
        let task = tokio::spawn(async move {
            plait_server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
        });
        TestServer {
            addr,
            data_dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops gracefully (flushing sled) and hands back the data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, dir)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
