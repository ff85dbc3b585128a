//! `palisade audit serve` end to end: the webhook backend over HTTPS with client
//! certificates, batches durable before they are acknowledged, a batch sent again
//! reported once, a full spool shed by policy and counted, and SIGKILL at random
//! moments while a sender retries as the API server does: every detection exactly once.

mod common;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// TLS clients for the server in `dir/pki`: one with a client certificate the server's
/// client CA signed, one without, one with a certificate of another CA.
struct Clients {
    trusted: Arc<rustls::ClientConfig>,
    anonymous: Arc<rustls::ClientConfig>,
    stranger: Arc<rustls::ClientConfig>,
}

/// A CA and a client certificate it signed, as PEM (CA, cert, key).
fn client_pki(name: &str) -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("{name} CA"));
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kube-apiserver");
    leaf.distinguished_name = dn;
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// Writes the server's certificates (`admission certs`) and a client CA into
/// `dir/pki`, and makes the clients.
fn pki(dir: &Path) -> Clients {
    let out = common::run_in(
        dir,
        &[
            "admission",
            "certs",
            "--service",
            "palisade-audit",
            "--out",
            "pki",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let (ca, cert, key) = client_pki("apiserver client");
    std::fs::write(dir.join("pki/client-ca.crt"), ca).unwrap();
    let (_, other_cert, other_key) = client_pki("someone else");
    let server_ca = std::fs::read(dir.join("pki/ca.crt")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&server_ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = || {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone())
    };
    let with_cert = |cert: &str, key: &str| {
        let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        Arc::new(builder().with_client_auth_cert(chain, key).unwrap())
    };
    Clients {
        trusted: with_cert(&cert, &key),
        anonymous: Arc::new(builder().with_no_client_auth()),
        stranger: with_cert(&other_cert, &other_key),
    }
}

/// One request over TLS; the status code and body, or why it failed.
fn request(
    addr: &str,
    config: &Arc<rustls::ClientConfig>,
    head: &str,
    body: &[u8],
) -> Result<(u16, String), String> {
    let name = ServerName::try_from("palisade-audit.palisade-system.svc")
        .unwrap()
        .to_owned();
    let conn = rustls::ClientConnection::new(config.clone(), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    tls.write_all(body).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let read = tls.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no answer ({read:?}): {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((code, body))
}

fn post(
    addr: &str,
    config: &Arc<rustls::ClientConfig>,
    content_type: &str,
    body: &str,
) -> Result<(u16, String), String> {
    request(
        addr,
        config,
        &format!(
            "POST /audit HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
        body.as_bytes(),
    )
}

fn metrics(addr: &str, config: &Arc<rustls::ClientConfig>) -> String {
    request(
        addr,
        config,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    )
    .unwrap()
    .1
}

/// The value of metric `name` in a `/metrics` text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// An EventList of events `from..to`, as the webhook backend sends it.
fn batch(from: usize, to: usize) -> String {
    let items: Vec<String> = (from..to).map(common::audit_event).collect();
    format!(
        r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{}]}}"#,
        items.join(",")
    )
}

/// Starts `palisade audit serve` in `dir` on `listen`; the child and its address.
fn serve(dir: &Path, listen: &str, extra: &[&str]) -> (Child, String) {
    let mut args = vec![
        "audit",
        "serve",
        "--listen",
        listen,
        "--tls-cert",
        "pki/tls.crt",
        "--tls-key",
        "pki/tls.key",
        "--client-ca",
        "pki/client-ca.crt",
        "--spool",
        "spool",
        "-o",
        "out.jsonl",
        "--state",
        "state.db",
        "--poll-ms",
        "5",
    ];
    args.extend_from_slice(extra);
    let (child, mut log) = common::spawn_logging(dir, &args);
    let mut first = String::new();
    while !first.contains("listening on") {
        first.clear();
        assert!(log.read_line(&mut first).unwrap() > 0, "the server ended");
    }
    let addr = first
        .split("https://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    // The rest of the log is drained so that the child never blocks on it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = log.read_to_string(&mut rest);
        if rest.contains("panicked") {
            panic!("palisade panicked: {rest}");
        }
    });
    (child, addr)
}

/// Waits until `/metrics` satisfies `done`, or fails after 20 s.
fn wait_for(addr: &str, clients: &Clients, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = metrics(addr, &clients.anonymous);
        if done(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "never reached: {m}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn batches_are_acknowledged_once_durable_and_detected_once() {
    let dir = tempfile::tempdir().unwrap();
    let clients = pki(dir.path());
    let (mut child, addr) = serve(dir.path(), "127.0.0.1:0", &[]);
    let json = "application/json";

    let (code, body) = post(&addr, &clients.trusted, json, &batch(0, 100)).unwrap();
    assert_eq!(code, 200, "{body}");
    // Sent again (its acknowledgement lost): spooled again, reported once.
    let (code, _) = post(&addr, &clients.trusted, json, &batch(0, 100)).unwrap();
    assert_eq!(code, 200);

    // No client certificate: refused, nothing spooled.
    let (code, body) = post(&addr, &clients.anonymous, json, &batch(100, 200)).unwrap();
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("\"reason\":\"Unauthorized\""), "{body}");
    // A certificate of another CA: the handshake fails.
    assert!(post(&addr, &clients.stranger, json, &batch(100, 200)).is_err());
    // Not an EventList, not JSON, an item that is no object.
    let (code, body) = post(&addr, &clients.trusted, json, "{\"kind\":\"Pod\"}").unwrap();
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("kind Pod"), "{body}");
    let (code, _) = post(&addr, &clients.trusted, "text/plain", &batch(0, 1)).unwrap();
    assert_eq!(code, 415);
    let (code, body) = post(&addr, &clients.trusted, json, "{\"items\":[1]}").unwrap();
    assert_eq!(code, 400);
    assert!(body.contains("item 0 is not a JSON object"), "{body}");

    let m = wait_for(&addr, &clients, |m| {
        metric(m, "palisade_audit_events_processed_total") == Some(200.0)
    });
    assert_eq!(
        metric(&m, "palisade_audit_events_spooled_total"),
        Some(200.0)
    );
    // 15 Secret reads by a person, and jane's first.
    assert_eq!(metric(&m, "palisade_audit_detections_total"), Some(16.0));
    assert_eq!(
        metric(&m, "palisade_audit_duplicate_events_total"),
        Some(15.0)
    );
    assert_eq!(
        metric(&m, "palisade_audit_batches_invalid_total"),
        Some(3.0)
    );
    assert_eq!(
        metric(&m, "palisade_audit_batches_unauthenticated_total"),
        Some(1.0)
    );
    assert_eq!(metric(&m, "palisade_audit_events_shed_total"), Some(0.0));
    // Read segments are deleted once the place past them is recorded; what is left
    // is read.
    assert_eq!(metric(&m, "palisade_audit_spool_backlog_bytes"), Some(0.0));
    child.kill().unwrap();
    child.wait().unwrap();

    let text = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    let mut names = common::detected_names(&text);
    names.sort();
    let want: Vec<String> = (0..100)
        .filter(|i| i % 7 == 0)
        .map(|i| format!("s-{i}"))
        .collect();
    let mut want = want;
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn a_full_spool_is_shed_by_policy_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let clients = pki(dir.path());
    let json = "application/json";
    // A spool of 0 bytes is always full.
    let (mut child, addr) = serve(dir.path(), "127.0.0.1:0", &["--max-spool-mb", "0"]);
    let (code, body) = post(&addr, &clients.trusted, json, &batch(0, 50)).unwrap();
    assert_eq!(code, 429, "{body}");
    assert!(body.contains("\"reason\":\"TooManyRequests\""), "{body}");
    let m = metrics(&addr, &clients.anonymous);
    assert_eq!(metric(&m, "palisade_audit_events_shed_total"), Some(50.0));
    assert_eq!(
        metric(&m, "palisade_audit_batches_rejected_full_total"),
        Some(1.0)
    );
    assert!(m.contains("policy reject"), "{m}");
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, addr) = serve(
        dir.path(),
        "127.0.0.1:0",
        &["--max-spool-mb", "0", "--when-full", "drop"],
    );
    let (code, _) = post(&addr, &clients.trusted, json, &batch(0, 50)).unwrap();
    assert_eq!(code, 200, "acknowledged, and dropped");
    let m = metrics(&addr, &clients.anonymous);
    assert_eq!(metric(&m, "palisade_audit_events_shed_total"), Some(50.0));
    assert_eq!(metric(&m, "palisade_audit_events_spooled_total"), Some(0.0));
    assert!(m.contains("policy drop"), "{m}");
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed before its matcher opened the output (a loaded machine), the server wrote
    // no file: nothing was delivered either way.
    let out = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap_or_default();
    assert!(out.is_empty(), "{out}");
}

#[test]
fn kill_9_while_batches_arrive_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clients = pki(dir.path());
    // A fixed port, so that the sender finds each restarted server.
    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let batches = 80;
    let per_batch = 50;
    let sender = {
        let (listen, trusted) = (listen.clone(), clients.trusted.clone());
        std::thread::spawn(move || {
            // As the webhook backend: each batch until it is acknowledged.
            let mut tries = 0;
            for b in 0..batches {
                let body = batch(b * per_batch, (b + 1) * per_batch);
                loop {
                    tries += 1;
                    match post(&listen, &trusted, "application/json", &body) {
                        Ok((200, _)) => break,
                        _ => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
                // The API server's batches come apart in time.
                std::thread::sleep(Duration::from_millis(15));
            }
            tries
        })
    };
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut kills = 0;
    while !sender.is_finished() {
        let (mut child, _) = serve(dir.path(), &listen, &[]);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(20 + seed % 150));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    let tries = sender.join().unwrap();
    assert!(kills >= 3, "only {kills} kills");
    // A last run reads what is left and stops when idle.
    let (child, _) = serve(dir.path(), &listen, &["--exit-when-idle-ms", "1500"]);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");

    let text = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    let names = common::detected_names(&text);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        names.len(),
        "a detection was written twice ({kills} kills, {tries} posts)"
    );
    let mut want: Vec<String> = (0..batches * per_batch)
        .filter(|i| i % 7 == 0)
        .map(|i| format!("s-{i}"))
        .collect();
    want.sort();
    assert_eq!(
        sorted, want,
        "detections lost ({kills} kills, {tries} posts)"
    );
    // Spool segments read and recorded are gone.
    let left = std::fs::read_dir(dir.path().join("spool")).unwrap().count();
    assert!(left <= 2, "{left} segments left");
}
