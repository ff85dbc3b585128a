//! Running the real binary from the integration tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use serde_json::Value;

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

/// What the API server's authorizer sees for a request: its verb from the method and
/// query, its resource and name from the path.
pub fn attributes(r: &palisade_replay::RequestInfo) -> palisade_rbac::Request {
    let parts: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let (group, rest): (&str, &[&str]) = match parts.as_slice() {
        ["api", _, rest @ ..] => ("", rest),
        ["apis", g, _, rest @ ..] => (g, rest),
        _ => ("", &[]),
    };
    let (namespace, resource, name) = match rest {
        [resource] => ("", *resource, ""),
        ["namespaces", ns, resource] => (*ns, *resource, ""),
        ["namespaces", ns, resource, name] => (*ns, *resource, *name),
        [resource, name] => ("", *resource, *name),
        _ => {
            return palisade_rbac::Request {
                verb: "get".into(),
                api_group: String::new(),
                resource: String::new(),
                subresource: String::new(),
                name: String::new(),
                namespace: String::new(),
                path: Some(r.path.clone()),
            }
        }
    };
    let watch = r
        .query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1");
    let verb = match (r.method.as_str(), name.is_empty()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "deletecollection",
        ("DELETE", false) => "delete",
        _ => "unknown",
    };
    palisade_rbac::Request {
        verb: verb.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: String::new(),
        name: name.into(),
        namespace: namespace.into(),
        path: None,
    }
}

/// A small OSV database with one high record for openssl below 3.0.11-1~deb12u2.
pub fn osv_db(d: &std::path::Path) {
    std::fs::create_dir_all(d.join("osv")).unwrap();
    std::fs::write(
        d.join("osv/DSA-1.json"),
        serde_json::json!({"id": "DSA-1", "summary": "openssl bug",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}],
                "ecosystem_specific": {"urgency": "high"}}]})
        .to_string(),
    )
    .unwrap();
    assert!(run_in(d, &["db", "update", "--from", "osv", "--db", "db"])
        .status
        .success());
}

pub fn debian_image(openssl: &str) -> Vec<Vec<u8>> {
    vec![palisade_vuln::testing::layer(&[
        ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        (
            "var/lib/dpkg/status",
            &format!("Package: openssl\nStatus: install ok installed\nVersion: {openssl}\n"),
        ),
    ])]
}

// The admission webhook, as the API server talks to it.

pub fn tls_client(ca_pem: &[u8]) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(c.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// One HTTP/1.1 request over TLS, verified for the Service's DNS name.
pub fn https(addr: &str, config: &Arc<rustls::ClientConfig>, request: &str) -> String {
    let name = rustls_pki_types::ServerName::try_from("palisade-admission.palisade-system.svc")
        .unwrap()
        .to_owned();
    let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(addr).unwrap());
    tls.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    // The server closes after `Connection: close`.
    let _ = tls.read_to_string(&mut out);
    out
}

/// Starts `palisade admission serve` in `dir` (which holds `pki/`) with `extra` flags;
/// returns the child, its address and its log.
pub fn serve(
    dir: &std::path::Path,
    extra: &[&str],
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStderr>,
) {
    let mut args = vec![
        "admission",
        "serve",
        "--no-config",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "pki/tls.crt",
        "--tls-key",
        "pki/tls.key",
    ];
    args.extend_from_slice(extra);
    let (child, mut log) = spawn_logging(dir, &args);
    let mut first = String::new();
    log.read_line(&mut first).unwrap();
    let started: Value = serde_json::from_str(&first).expect("JSON log lines");
    let addr = started["listen"].as_str().unwrap().to_owned();
    (child, addr, log)
}

pub fn post(addr: &str, config: &Arc<rustls::ClientConfig>, body: &str) -> String {
    https(
        addr,
        config,
        &format!(
            "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}
