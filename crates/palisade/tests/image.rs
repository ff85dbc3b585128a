//! `palisade db update` and `palisade image scan` on an OCI layout built here, against a
//! small OSV database written for the test.

mod common;

use common::{debian_image, osv_db, run_in};
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

/// `image scan` and `image resolve` against a real registry (docker-registry on
/// loopback with TLS and a password).
#[test]
fn images_are_pulled_from_a_registry_with_credentials_and_resolved_to_digests() {
    if !palisade_registry::testing::available() {
        return;
    }
    let registry = palisade_registry::testing::TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    osv_db(d);
    let layers = debian_image("3.0.11-1~deb12u1");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let digest = runtime.block_on(registry.push_image("acme/app", "1.0", &layers));
    let reference = format!("{}/acme/app:1.0", registry.host);
    let config = registry.docker_config(None);
    let ca = registry.ca();
    let flags = [
        "--docker-config",
        config.to_str().unwrap(),
        "--registry-ca",
        ca.to_str().unwrap(),
    ];
    let mut args = vec![
        "image",
        "scan",
        reference.as_str(),
        "--db",
        "db",
        "--cache",
        "cache",
        "-f",
        "json",
    ];
    args.extend(flags);
    let out = run_in(d, &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["digest"], digest);
    assert_eq!(v["vulnerabilities"][0]["id"], "DSA-1");
    assert!(d.join("cache/index.json").exists());

    let mut args = vec!["image", "resolve", reference.as_str(), "127.0.0.1:1/none:1"];
    args.extend(flags);
    args.extend(["--registry-timeout", "2"]);
    let out = run_in(d, &args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "one image could not be resolved"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{reference}@{digest}\n")
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:1/none:1"), "{err}");

    // Wrong credentials: an error naming the image, never the password.
    let wrong = registry.docker_config(Some("wrong-password"));
    let out = run_in(
        d,
        &[
            "image",
            "resolve",
            reference.as_str(),
            "--docker-config",
            wrong.to_str().unwrap(),
            "--registry-ca",
            ca.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&reference) && !err.contains("wrong-password"),
        "{err}"
    );
}

/// `scan --scan-images --resolve-digests` on manifests: each image's packages matched
/// once however many containers run it, each finding on its container's `image:` line,
/// and the digest to pin named.
#[test]
fn scan_matches_each_image_once_and_names_the_digest_to_pin() {
    if !palisade_registry::testing::available() {
        return;
    }
    let registry = palisade_registry::testing::TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    osv_db(d);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let old =
        runtime.block_on(registry.push_image("acme/app", "1.0", &debian_image("3.0.11-1~deb12u1")));
    let fixed =
        runtime.block_on(registry.push_image("acme/app", "1.1", &debian_image("3.0.11-1~deb12u2")));
    let host = &registry.host;
    std::fs::create_dir(d.join("manifests")).unwrap();
    std::fs::write(
        d.join("manifests/app.yaml"),
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: shop}}
spec:
  template:
    spec:
      containers:
      - {{name: web, image: '{host}/acme/app:1.0'}}
      - {{name: worker, image: '{host}/acme/app:1.0'}}
      - {{name: pinned, image: '{host}/acme/app@{old}'}}
      - {{name: new, image: '{host}/acme/app:1.1'}}
---
apiVersion: v1
kind: Pod
metadata: {{name: other, namespace: shop}}
spec:
  containers:
  - {{name: web, image: '{host}/acme/app:1.0'}}
"
        ),
    )
    .unwrap();
    let config = registry.docker_config(None);
    let ca = registry.ca();
    let out = run_in(
        d,
        &[
            "scan",
            "manifests",
            "--select",
            "image-vulnerable,image-not-pinned",
            "-f",
            "json",
            "--vuln-db",
            "db",
            "--scan-images",
            "--resolve-digests",
            "--image-cache",
            "cache",
            "--docker-config",
            config.to_str().unwrap(),
            "--registry-ca",
            ca.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<(String, u64, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                f["location"]["line"].as_u64().unwrap(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, u64, String)> = [
        ("image-not-pinned", 8, "low"),
        ("image-not-pinned", 9, "low"),
        ("image-not-pinned", 11, "low"),
        ("image-not-pinned", 18, "low"),
        ("image-vulnerable", 8, "high"),
        ("image-vulnerable", 9, "high"),
        ("image-vulnerable", 10, "high"),
        ("image-vulnerable", 18, "high"),
    ]
    .iter()
    .map(|(c, l, s)| ((*c).to_owned(), *l, (*s).to_owned()))
    .collect();
    assert_eq!(got, want);
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(&format!(
            "container \"new\": image \"{host}/acme/app\" is not pinned by digest; its tag names {host}/acme/app:1.1@{fixed} now"
        ).as_str()),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains(&format!("({old}) has 1 known vulnerability (1 high): DSA-1 in openssl 3.0.11-1~deb12u1 (fixed in 3.0.11-1~deb12u2)"))),
        "{messages:#?}"
    );
    // One image, four containers: its layer pulled once, its tag resolved once.
    let requests = registry.requests();
    let layer = &debian_image("3.0.11-1~deb12u1")[0];
    let layer_digest = format!("sha256:{:x}", <sha2::Sha256 as sha2::Digest>::digest(layer));
    let count = |needle: &str| requests.iter().filter(|r| r.contains(needle)).count();
    assert_eq!(count(&format!("/blobs/{layer_digest}")), 1, "{requests:#?}");
    assert_eq!(count("/manifests/1.0"), 1, "{requests:#?}");

    // A registry that refuses says why on the containers' lines, at info.
    let wrong = registry.docker_config(Some("wrong"));
    let out = run_in(
        d,
        &[
            "scan",
            "manifests",
            "--select",
            "image-vulnerable",
            "-f",
            "json",
            "--vuln-db",
            "db",
            "--scan-images",
            "--image-cache",
            "cache2",
            "--docker-config",
            wrong.to_str().unwrap(),
            "--registry-ca",
            ca.to_str().unwrap(),
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 5, "{findings:#?}");
    assert!(findings.iter().all(|f| f["severity"] == "info"
        && f["message"]
            .as_str()
            .unwrap()
            .contains("could not be scanned")));
}
