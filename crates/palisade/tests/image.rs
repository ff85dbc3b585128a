//! `palisade db update` and `palisade image scan` on an OCI layout built here, against a
//! small OSV database written for the test.

mod common;

use common::run_in;
use palisade_vuln::testing::{image, layer};
use serde_json::{json, Value};

#[test]
fn an_image_is_matched_against_the_offline_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("osv")).unwrap();
    std::fs::write(
        d.join("osv/DSA-5532-1.json"),
        json!({"id": "DSA-5532-1", "summary": "openssl security update", "aliases": ["CVE-2023-5363"],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}],
                "ecosystem_specific": {"urgency": "high"}}]})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        d.join("osv/all.json"),
        json!([{"id": "DLA-1", "summary": "curl bug",
            "affected": [{"package": {"ecosystem": "Debian", "name": "curl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "7.0"}, {"last_affected": "7.88.1-10"}]}],
                "database_specific": {"severity": "LOW"}}]}])
        .to_string(),
    )
    .unwrap();
    let update = run_in(d, &["db", "update", "--from", "osv", "--db", "db"]);
    assert!(
        update.status.success(),
        "{}",
        String::from_utf8_lossy(&update.stderr)
    );
    assert!(String::from_utf8_lossy(&update.stderr).contains("imported 2 OSV records"));

    let status = "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\nSource: openssl\n\n\
                  Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n";
    image(
        &d.join("img"),
        &[layer(&[
            ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
            ("var/lib/dpkg/status", status),
        ])],
    );
    let out = run_in(d, &["image", "scan", "img", "--db", "db", "-f", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a high vulnerability fails the run"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ecosystem"], "Debian:12");
    let ids: Vec<&str> = v["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["DSA-5532-1", "DLA-1"], "most severe first");
    assert_eq!(v["vulnerabilities"][0]["fixed"], "3.0.11-1~deb12u2");
    assert_eq!(v["vulnerabilities"][0]["package"], "libssl3");

    // Only the low one is left once openssl is updated; it does not fail at high.
    image(
        &d.join("img2"),
        &[layer(&[
            ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
            ("var/lib/dpkg/status", &status.replace("deb12u1", "deb12u2")),
        ])],
    );
    let out = run_in(d, &["image", "scan", "img2", "--db", "db"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 vulnerability in 1 of 2 packages"),
        "{text}"
    );
    let out = run_in(
        d,
        &["image", "scan", "img2", "--db", "db", "--fail-on", "low"],
    );
    assert_eq!(out.status.code(), Some(1));

    // No database: said, not a crash.
    let out = run_in(d, &["image", "scan", "img2", "--db", "empty"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("palisade db update"));
}

/// The recorded API server runs `v1.25.0-alpha.2+89aaf7c02dd3`: a record affecting
/// 1.24.0 up to 1.25.0 holds it (a pre-release comes before its release).
#[test]
fn the_cluster_version_is_matched_against_kubernetes_records() {
    use palisade_replay::{Auth, Options, Recordings, ReplayServer};
    let recordings = Recordings::load(&common::root().join("testdata/apiserver")).unwrap();
    let server = ReplayServer::start(recordings, Options::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("kubeconfig"),
        server.kubeconfig(&Auth::ClientCertificate),
    )
    .unwrap();
    std::fs::write(
        d.join("k8s.json"),
        json!({"id": "GO-2022-0001", "summary": "kube-apiserver request smuggling",
            "aliases": ["CVE-2022-3172"], "database_specific": {"severity": "MEDIUM"},
            "affected": [{"package": {"ecosystem": "Go", "name": "k8s.io/kubernetes"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.24.0"}, {"fixed": "1.25.0"}]}]}]})
        .to_string(),
    )
    .unwrap();
    assert!(
        run_in(d, &["db", "update", "--from", "k8s.json", "--db", "db"])
            .status
            .success()
    );
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--cluster",
            "--kubeconfig",
            "kubeconfig",
            "--no-config",
            "-f",
            "json",
            "--fail-on",
            "none",
            "--select",
            "kubernetes-version-vulnerable",
        ];
        args.extend(extra);
        let out = run_in(d, &args);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        v["findings"].as_array().unwrap().clone()
    };
    let found = scan(&["--vuln-db", "db"]);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f["check"], "kubernetes-version-vulnerable");
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["object"]["kind"], "ClusterInfo");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("GO-2022-0001 (CVE-2022-3172)") && message.contains("fixed in 1.25.0"),
        "{message}"
    );
    // Without a database nothing is judged.
    assert!(scan(&[]).is_empty());
}
