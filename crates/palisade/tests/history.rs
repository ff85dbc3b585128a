//! `scan --database` records evaluations; `palisade history` shows what appeared and was
//! fixed; `scan --framework` scores frameworks.

mod common;

use std::path::Path;

use common::{root, run_in};
use serde_json::Value;

const PRIVILEGED: &str = "apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: c
    image: nginx:1.27
    securityContext: {privileged: true}
";

fn json(dir: &Path, args: &[&str]) -> Value {
    let out = run_in(dir, args);
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// The checks whose changes of `kind` the history lists.
fn changed(v: &Value, kind: &str) -> Vec<String> {
    let mut ids: Vec<String> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == kind)
        .map(|c| c["check"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Scan, fix the manifest, scan again: the history says what was fixed, when and where.
fn fix_and_see(database: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("pod.yaml"), PRIVILEGED).unwrap();
    // Unique: a PostgreSQL database outlives a test run.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("shop-{nanos}");
    let scan = |name: &str| {
        let out = run_in(
            d,
            &[
                "scan",
                "pod.yaml",
                "--database",
                database,
                "--cluster-name",
                name,
                "-f",
                "json",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.contains("evaluation"), "{err}");
        err
    };
    let first = scan(&name);
    assert!(first.contains("0 fixed"), "{first}");
    std::fs::write(
        d.join("pod.yaml"),
        PRIVILEGED.replace("privileged: true", "privileged: false"),
    )
    .unwrap();
    let second = scan(&name);
    assert!(second.contains(" 0 appeared, 1 fixed"), "{second}");

    let v = json(
        d,
        &[
            "history",
            "--database",
            database,
            "--cluster-name",
            &name,
            "-f",
            "json",
        ],
    );
    assert_eq!(v["evaluations"].as_array().unwrap().len(), 2);
    assert_eq!(changed(&v, "fixed"), ["privileged"]);
    assert!(changed(&v, "appeared").contains(&"privileged".to_owned()));
    let drift = v["by_check_and_namespace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["check"] == "privileged")
        .unwrap();
    assert_eq!(
        (drift["namespace"].as_str(), drift["open"].as_i64()),
        (Some("shop"), Some(0))
    );
    assert!(drift["last_fixed"].as_str().unwrap().ends_with('Z'));

    // Text, narrowed to a check.
    let out = run_in(
        d,
        &[
            "history",
            "--database",
            database,
            "--cluster-name",
            &name,
            "--check",
            "privileged",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fixed    critical privileged Pod shop/web"),
        "{text}"
    );
    assert!(!text.contains("runAsNonRoot Pod"), "{text}");

    // A second cluster, and the fleet compares the two.
    let other = format!("{name}-staging");
    std::fs::write(d.join("pod.yaml"), PRIVILEGED).unwrap();
    scan(&other);
    let v = json(
        d,
        &["history", "--database", database, "--fleet", "-f", "json"],
    );
    let fleet = v["fleet"].as_array().unwrap();
    let open = |cluster: &str| {
        fleet
            .iter()
            .find(|c| c["evaluation"]["cluster"] == cluster)
            .unwrap()["open_by_check"]["privileged"]
            .clone()
    };
    assert_eq!(open(&other), 1);
    assert_eq!(open(&name), Value::Null);
    let out = run_in(d, &["history", "--database", database, "--fleet"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CHECK") && text.contains("privileged"),
        "{text}"
    );
}

#[test]
fn history_in_sqlite_says_what_was_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    fix_and_see(db.to_str().unwrap());
}

/// The fleet database: the PostgreSQL server `.ci/run` starts.
#[test]
fn history_in_postgres_says_what_was_fixed() {
    let Ok(url) = std::env::var("PALISADE_TEST_POSTGRES") else {
        eprintln!("skipped: PALISADE_TEST_POSTGRES is not set (.ci/run sets it)");
        return;
    };
    fix_and_see(&url);
}

#[test]
fn a_scan_with_input_errors_is_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bad.yaml"), "a: [unclosed\n").unwrap();
    let out = run_in(d, &["scan", "bad.yaml", "--database", "h.db"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not recorded in the history"), "{err}");
    let v = json(d, &["history", "--database", "h.db", "-f", "json"]);
    assert_eq!(v["evaluations"].as_array().unwrap().len(), 0);
}

#[test]
fn history_rejects_a_bad_since() {
    let out = run_in(
        &root(),
        &["history", "--database", "x.db", "--since", "yesterday"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("neither a duration"), "{err}");
}

#[test]
fn a_framework_selects_its_checks_and_scores_every_control() {
    let v = json(
        &root(),
        &[
            "scan",
            "examples/insecure",
            "--framework",
            "cis",
            "-f",
            "json",
        ],
    );
    let reports = v["compliance"].as_array().unwrap();
    assert_eq!(reports.len(), 1);
    let cis = &reports[0];
    assert_eq!(cis["framework"], "cis");
    let controls = cis["controls"].as_array().unwrap();
    let status = |id: &str| {
        controls.iter().find(|c| c["id"] == id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status("5.2.2"), "failed");
    // Controls a person must judge and no check implements are never passed or failed.
    assert!(controls
        .iter()
        .filter(|c| c["assessment"] == "manual" && c["checks"].as_array().unwrap().is_empty())
        .all(|c| c["status"] == "not-evaluated"));
    let n = &cis["counts"];
    let total: u64 = ["passed", "failed", "not_applicable", "not_evaluated"]
        .iter()
        .map(|k| n[k].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, controls.len());
    // Only checks that implement a CIS control ran.
    let mut ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert!(ids.contains(&"privileged"));
    for id in ids {
        let out = run_in(&root(), &["checks", "explain", id]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("CIS"),
            "{id} ran under --framework cis: {text}"
        );
    }
    // The table says the score and the counts.
    let out = run_in(
        &root(),
        &["scan", "examples/insecure", "--framework", "cis,pss"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CIS Kubernetes Benchmark v1.10.0: "),
        "{text}"
    );
    assert!(text.contains("Pod Security Standards"), "{text}");
    assert!(text.contains("not evaluated"), "{text}");
    let out = run_in(
        &root(),
        &["scan", "examples/insecure", "--framework", "iso27001"],
    );
    assert_eq!(out.status.code(), Some(2));
}
