//! `palisade audit watch` killed with SIGKILL again and again while the log grows and
//! rotates (by rename, then by copytruncate) writes every detection exactly once.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn append(path: &std::path::Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut text = String::new();
    for i in from..to {
        text.push_str(&common::audit_event(i));
        text.push('\n');
    }
    f.write_all(text.as_bytes()).unwrap();
}

fn watcher(dir: &std::path::Path, idle_ms: u64) -> std::process::Child {
    watch(dir, &["audit.log"], idle_ms)
}

/// `palisade audit watch FILES -o out.jsonl --state state.db` in `dir`, stderr piped.
fn watch(dir: &std::path::Path, files: &[&str], idle_ms: u64) -> std::process::Child {
    let idle = idle_ms.to_string();
    let mut args = vec!["audit", "watch"];
    args.extend_from_slice(files);
    args.extend_from_slice(&[
        "-o",
        "out.jsonl",
        "--state",
        "state.db",
        "--poll-ms",
        "5",
        "--exit-when-idle-ms",
        &idle,
    ]);
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn kill_9_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let rounds = 24;
    let per_round = 150;
    // A small pseudo-random sequence of kill delays (no dependency, same every run).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..rounds {
        if round == 8 || round == 16 {
            // Before a rotation, one watcher runs until it is idle. A watcher killed
            // early may never have started (on a loaded machine a start takes longer than
            // the kill delays): with no checkpoint yet, a first start reads the current
            // file only, and a rotated file it never knew of is not its to read; and a
            // copytruncate after a rename tells no reader still inside the renamed file
            // where the copy belongs. Between rotations, kills land anywhere.
            let caught_up = watcher(dir.path(), 300).wait_with_output().unwrap();
            assert!(caught_up.status.success());
        }
        append(&log, round * per_round, round * per_round + per_round / 2);
        let mut child = watcher(dir.path(), 0);
        std::thread::sleep(Duration::from_millis(5));
        append(
            &log,
            round * per_round + per_round / 2,
            (round + 1) * per_round,
        );
        if round == 8 {
            // The log backend's rotation: rename, then a new file.
            std::fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
        }
        if round == 16 {
            // logrotate's copytruncate, keeping two: the older rotation moves to `.2`.
            std::fs::rename(
                dir.path().join("audit.log.1"),
                dir.path().join("audit.log.2"),
            )
            .unwrap();
            std::fs::copy(&log, dir.path().join("audit.log.1")).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&log)
                .unwrap()
                .set_len(0)
                .unwrap();
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(5 + seed % 60));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    // A last run that reads everything left and stops when idle.
    let out = watcher(dir.path(), 700).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    let names = common::detected_names(&text);
    let expected: Vec<String> = (0..rounds * per_round)
        .filter(|i| i % 7 == 0)
        .map(|i| format!("s-{i}"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    let mut twice: Vec<&String> = names
        .iter()
        .filter(|n| names.iter().filter(|m| m == n).count() > 1)
        .collect();
    twice.sort();
    twice.dedup();
    assert_eq!(
        sorted.len(),
        names.len(),
        "a detection was written twice: {twice:?}"
    );
    let mut want = expected.clone();
    want.sort();
    let missing: Vec<&String> = want.iter().filter(|w| !sorted.contains(w)).collect();
    assert!(missing.is_empty(), "detections lost: {missing:?}");
    assert_eq!(sorted, want, "detections lost");
}

#[test]
fn an_old_gzip_rotation_is_read_once_and_an_event_in_two_files_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    // Events 0..70 in the old rotation (gzip), 50..140 in the current log: 50..70 in both.
    let mut old = String::new();
    for i in 0..70 {
        old.push_str(&common::audit_event(i));
        old.push('\n');
    }
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.path().join("audit.log.2.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(old.as_bytes()).unwrap();
    gz.finish().unwrap();
    append(&dir.path().join("audit.log"), 50, 140);
    let run = || {
        watch(dir.path(), &["audit.log.2.gz", "audit.log"], 300)
            .wait_with_output()
            .unwrap()
    };
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // 20 Secret reads by a person and jane's first; 56, 63 in both files.
    assert!(
        stderr.contains("160 events, 21 detections; 2 delivered again and passed over"),
        "{stderr}"
    );
    let mut names =
        common::detected_names(&std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap());
    names.sort();
    let mut want: Vec<String> = (0..140)
        .filter(|i| i % 7 == 0)
        .map(|i| format!("s-{i}"))
        .collect();
    want.sort();
    assert_eq!(names, want);
    // A second run reads nothing again.
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 events, 0 detections"), "{stderr}");
}

#[test]
fn two_rotations_while_stopped_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let rotate = |n: usize| {
        // logrotate's `create`: audit.log.1 -> audit.log.2, audit.log -> audit.log.1.
        for i in (1..n).rev() {
            let from = dir.path().join(format!("audit.log.{i}"));
            if from.exists() {
                std::fs::rename(&from, dir.path().join(format!("audit.log.{}", i + 1))).unwrap();
            }
        }
        std::fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    };
    append(&log, 0, 100);
    assert!(watch(dir.path(), &["audit.log"], 200)
        .wait()
        .unwrap()
        .success());
    // Stopped: more lines, a rotation, a whole file's worth, another rotation, more.
    std::thread::sleep(Duration::from_millis(20));
    append(&log, 100, 150);
    rotate(3);
    std::thread::sleep(Duration::from_millis(20));
    append(&log, 150, 250);
    rotate(3);
    std::thread::sleep(Duration::from_millis(20));
    append(&log, 250, 300);
    assert!(watch(dir.path(), &["audit.log"], 300)
        .wait()
        .unwrap()
        .success());
    let mut names =
        common::detected_names(&std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap());
    names.sort();
    let mut want: Vec<String> = (0..300)
        .filter(|i| i % 7 == 0)
        .map(|i| format!("s-{i}"))
        .collect();
    want.sort();
    assert_eq!(names, want, "the middle rotation must be read");
}
