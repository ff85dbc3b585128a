//! Running the real binary from the integration tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root, where the bundled examples are.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `palisade args` in `dir` with no stdin, and checks it did not panic.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "palisade panicked: {stderr}");
    out
}

/// Audit event `i`: every seventh is a Secret read by a person (a detection of
/// Palisade's rules naming `s-<i>`), the rest reads of pods.
pub fn audit_event(i: usize) -> String {
    let (resource, user) = if i % 7 == 0 {
        ("secrets", "jane")
    } else {
        ("pods", "system:serviceaccount:ci:bot")
    };
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/{resource}/s-{i}","verb":"get","user":{{"username":"{user}"}},"sourceIPs":["10.0.0.1"],"objectRef":{{"resource":"{resource}","namespace":"prod","name":"s-{i}"}},"responseStatus":{{"code":200}},"stageTimestamp":"2026-12-04T10:00:00.000001Z"}}"#
    )
}

/// The names (`ka.target.name`) of the Secrets read by a person in the Falco JSON
/// detections in `text`, one per line (other rules' detections, such as a first
/// reader's, are passed over).
pub fn detected_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
            (v["rule"] == "Palisade Secret Read By A Person").then(|| {
                v["output_fields"]["ka.target.name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
        })
        .collect()
}

/// Starts `palisade args` in `dir` with stderr piped: the child and its log.
pub fn spawn_logging(
    dir: &Path,
    args: &[&str],
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStderr>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::io::BufReader::new(child.stderr.take().unwrap());
    (child, log)
}
