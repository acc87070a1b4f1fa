//! Documents on PostgreSQL (issue 19, the storage): `PgStore` keeps what
//! `SledStore` keeps, with the same behaviour (one suite runs on both),
//! against a real PostgreSQL each test starts on a temporary data
//! directory (`scripts/setup` installs it; as root, it runs as the
//! `postgres` user).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use plait_server::store::PreparedRecord;
use plait_server::{DocStore, PgStore, SledStore, StoreError};
use plait_shared::DocId;

/// A PostgreSQL server of its own, stopped (and its files removed) when
/// dropped.
pub(crate) struct TempPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub url: String,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Where `initdb` and `pg_ctl` are: Debian keeps them in
/// /usr/lib/postgresql/VERSION/bin, off the PATH.
fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    found.sort();
    if let Some(newest) = found.pop() {
        return newest;
    }
    let on_path = Command::new("sh")
        .args(["-c", "command -v pg_ctl"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|p| !p.is_empty());
    match on_path {
        Some(p) => Path::new(&p)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        None => panic!("PostgreSQL is not installed (scripts/setup installs it)"),
    }
}

impl TempPostgres {
    pub(crate) fn start() -> TempPostgres {
        let dir = tempfile::tempdir().unwrap();
        let bin = postgres_bin();
        let root = is_root();
        if root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown the data directory to postgres");
        }
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let run = |program: &str, args: &[&str]| {
            let mut command = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(program));
                c
            } else {
                Command::new(bin.join(program))
            };
            let out = command.args(args).output().unwrap();
            assert!(
                out.status.success(),
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let data_s = data.to_str().unwrap();
        run(
            "initdb",
            &[
                "-D",
                data_s,
                "-U",
                "plait",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=''",
            dir.path().display()
        );
        let log = dir.path().join("log");
        run(
            "pg_ctl",
            &[
                "-D",
                data_s,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        let url = format!(
            "host={} port={port} user=plait dbname=postgres",
            dir.path().display()
        );
        TempPostgres { dir, bin, url }
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let pg_ctl = self.bin.join("pg_ctl");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            Command::new(pg_ctl)
        };
        let _ = command
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

fn id(s: &str) -> DocId {
    DocId::new(s).unwrap()
}

fn record(n: u8) -> PreparedRecord {
    (vec![b'k', n], vec![b'v', n])
}

/// What every store must do, whatever keeps it: `reopened` gives the store
/// again (a new connection for PostgreSQL; the same sled, which releases
/// its files late).
fn behaves_as_a_doc_store(store: &dyn DocStore, reopened: &dyn Fn() -> Arc<dyn DocStore>) {
    let a = id("doc-a");
    assert_eq!(store.load(&a).unwrap(), None);
    assert!(!store.exists(&a).unwrap());

    // Appended: seen at once, by this store, before the flush.
    for seq in 0..3u8 {
        store
            .append_recorded(
                &a,
                u64::from(seq),
                &[seq; 4],
                Some(&record(seq)),
                &[(7 + u64::from(seq), format!("user-{seq}"))],
            )
            .unwrap();
    }
    assert!(store.exists(&a).unwrap());
    let loaded = store.load(&a).unwrap().unwrap();
    assert_eq!(loaded.updates.len(), 3);
    assert_eq!(loaded.next_seq(), 3);
    store.flush().unwrap();

    // Durable once flushed, with its writers.
    let again = reopened();
    let loaded = again.load(&a).unwrap().unwrap();
    assert_eq!(loaded.snapshot, None);
    assert_eq!(
        loaded.updates,
        vec![(0, vec![0; 4]), (1, vec![1; 4]), (2, vec![2; 4])]
    );
    assert_eq!(
        again.writers(&a).unwrap(),
        vec![
            (7, "user-0".into()),
            (8, "user-1".into()),
            (9, "user-2".into())
        ]
    );
    // A client id past i64's range survives whole.
    again
        .append_recorded(&a, 3, &[3; 4], None, &[(u64::MAX - 1, "user-x".into())])
        .unwrap();
    again.flush().unwrap();
    assert!(reopened()
        .writers(&a)
        .unwrap()
        .contains(&(u64::MAX - 1, "user-x".into())));

    // Compaction: the snapshot covers up to 1, the log goes on at 2.
    again.compact(&a, 1, b"state-1").unwrap();
    let loaded = reopened().load(&a).unwrap().unwrap();
    assert_eq!(loaded.snapshot, Some((1, b"state-1".to_vec())));
    assert_eq!(loaded.updates, vec![(2, vec![2; 4]), (3, vec![3; 4])]);
    // An older compaction never replaces a newer one.
    again.compact(&a, 0, b"state-0").unwrap();
    assert_eq!(
        reopened().load(&a).unwrap().unwrap().snapshot,
        Some((1, b"state-1".to_vec()))
    );
    // Another document is apart.
    let b = id("doc-b");
    assert_eq!(reopened().load(&b).unwrap(), None);
}

#[test]
fn sled_behaves_as_a_doc_store() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn DocStore> = Arc::new(SledStore::open(dir.path()).unwrap());
    let same = store.clone();
    behaves_as_a_doc_store(store.as_ref(), &move || same.clone());
}

#[test]
fn postgres_behaves_as_a_doc_store_and_commits_a_batch_whole() {
    let server = TempPostgres::start();
    let store = PgStore::open(&server.url).unwrap();
    let url = server.url.clone();
    behaves_as_a_doc_store(&store, &move || Arc::new(PgStore::open(&url).unwrap()));
    assert_eq!(store.doc_ids().unwrap(), vec![id("doc-a")]);

    // A sequence number is written once: a batch that repeats one commits
    // nothing of itself, and is kept for the next flush.
    let a = id("doc-a");
    store
        .append_recorded(&a, 4, b"four", Some(&record(4)), &[])
        .unwrap();
    store
        .append_recorded(&a, 3, b"three again", None, &[])
        .unwrap();
    let err = store.flush().unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err}");
    let fresh = PgStore::open(&server.url).unwrap();
    assert_eq!(
        fresh.load(&a).unwrap().unwrap().next_seq(),
        4,
        "update 4 was not committed"
    );
    assert!(store.exists(&a).unwrap());
    assert_eq!(
        store.load(&a).unwrap().unwrap().next_seq(),
        5,
        "still pending here"
    );
}

#[test]
fn the_schema_is_migrated_once_and_a_newer_one_is_refused() {
    let server = TempPostgres::start();
    let latest = plait_server::postgres::MIGRATIONS.last().unwrap().0;
    // Two nodes starting together: one migrates, the other finds it done.
    let (one, two) = std::thread::scope(|s| {
        let one = s.spawn(|| PgStore::open(&server.url));
        let two = s.spawn(|| PgStore::open(&server.url));
        (one.join().unwrap().unwrap(), two.join().unwrap().unwrap())
    });
    assert_eq!(one.schema_version().unwrap(), latest);
    assert_eq!(two.schema_version().unwrap(), latest);
    drop((one, two));

    // A database a newer Plait migrated is refused, saying why.
    let mut client = postgres::Client::connect(&server.url, postgres::NoTls).unwrap();
    client
        .execute(
            "INSERT INTO plait_schema (version) VALUES ($1)",
            &[&(latest + 1)],
        )
        .unwrap();
    let err = PgStore::open(&server.url).unwrap_err().to_string();
    assert!(err.contains("newer than this Plait"), "{err}");
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "host={} port=1 user=plait dbname=postgres",
        dir.path().display()
    );
    let err = PgStore::open(&url).unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err}");
}
