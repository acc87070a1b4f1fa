//! The operator's commands, run as the built `plait` binary on a copy of
//! the previous release's demo store (tests/fixtures/store-format-1):
//! `plait check`, `plait backup`, `plait restore` (refusing a directory
//! that holds data without `--force`), and `plait check` failing, by name,
//! on a damaged record.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn plait(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plait"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    plait_server::format::copy_dir(from, to).unwrap();
}

#[test]
fn backup_restore_and_check_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/store-format-1/data"),
        &data,
    );
    let data = data.to_str().unwrap();

    let checked = plait(&["check", "--data-dir", data]);
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(
        text(&checked).contains("Nothing is damaged"),
        "{}",
        text(&checked)
    );

    let file = dir.path().join("backup.zip");
    let file = file.to_str().unwrap();
    let backed = plait(&["backup", file, "--data-dir", data]);
    assert!(backed.status.success(), "{}", text(&backed));
    assert!(text(&backed).contains("9 document(s)"), "{}", text(&backed));

    let restored = dir.path().join("restored");
    let restored = restored.to_str().unwrap();
    let first = plait(&["restore", file, "--data-dir", restored]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("Restored and checked"),
        "{}",
        text(&first)
    );
    let again = plait(&["restore", file, "--data-dir", restored]);
    assert!(
        !again.status.success(),
        "a store holding data is not overwritten"
    );
    assert!(text(&again).contains("pass --force"), "{}", text(&again));
    let forced = plait(&["restore", file, "--data-dir", restored, "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(text(&forced).contains("kept as"), "{}", text(&forced));

    // A record damaged on purpose: named, and the command fails.
    {
        let db = sled::open(restored).unwrap();
        db.open_tree("audit")
            .unwrap()
            .insert(b"0000000000000007", &b"not a record"[..])
            .unwrap();
        db.flush().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let damaged = plait(&["check", "--data-dir", restored]);
    assert!(!damaged.status.success(), "{}", text(&damaged));
    assert!(
        text(&damaged).contains("audit record 0000000000000007"),
        "{}",
        text(&damaged)
    );
}
