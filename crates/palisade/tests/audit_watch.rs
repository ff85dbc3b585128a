//! `palisade audit watch` killed with SIGKILL again and again while the log grows and
//! rotates (by rename, then by copytruncate) writes every detection exactly once.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// Event `i`: every seventh is a Secret read by a person (a detection naming `s-<i>`),
/// the rest reads of pods.
fn event(i: usize) -> String {
    let (resource, user) = if i % 7 == 0 {
        ("secrets", "jane")
    } else {
        ("pods", "system:serviceaccount:ci:bot")
    };
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/{resource}/s-{i}","verb":"get","user":{{"username":"{user}"}},"sourceIPs":["10.0.0.1"],"objectRef":{{"resource":"{resource}","namespace":"prod","name":"s-{i}"}},"responseStatus":{{"code":200}},"stageTimestamp":"2026-12-04T10:00:00.000001Z"}}"#
    )
}

fn append(path: &std::path::Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut text = String::new();
    for i in from..to {
        text.push_str(&event(i));
        text.push('\n');
    }
    f.write_all(text.as_bytes()).unwrap();
}

fn watcher(dir: &std::path::Path, idle_ms: u64) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "audit",
            "watch",
            "audit.log",
            "-o",
            "out.jsonl",
            "--state",
            "state.db",
            "--poll-ms",
            "5",
            "--exit-when-idle-ms",
            &idle_ms.to_string(),
        ])
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
            // logrotate's copytruncate.
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
    let names: Vec<String> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
            v["output_fields"]["ka.target.name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = (0..rounds * per_round)
        .filter(|i| i % 7 == 0)
        .map(|i| format!("s-{i}"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "a detection was written twice");
    let mut want = expected.clone();
    want.sort();
    assert_eq!(sorted, want, "detections lost");
}
