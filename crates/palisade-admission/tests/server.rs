//! The HTTPS server on loopback, with a real TLS client: reviews, limits, overload,
//! health, metrics, and certificate rotation under load.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use palisade_admission::tls::bootstrap;
use palisade_admission::{start, RunningServer, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

struct Pki {
    dir: tempfile::TempDir,
    ca: String,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let set = bootstrap(&["localhost".into(), "127.0.0.1".into()], 1).unwrap();
        std::fs::write(dir.path().join("tls.crt"), &set.cert).unwrap();
        std::fs::write(dir.path().join("tls.key"), &set.key).unwrap();
        Pki {
            dir,
            ca: set.ca_cert,
        }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("tls.crt")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("tls.key")
    }

    /// Replaces the pair as a Secret volume does: new files, then a rename over the old.
    fn rotate(&self) -> String {
        let set = bootstrap(&["localhost".into(), "127.0.0.1".into()], 1).unwrap();
        let tmp = self.dir.path().join("next");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join("tls.crt"), &set.cert).unwrap();
        std::fs::write(tmp.join("tls.key"), &set.key).unwrap();
        std::fs::rename(tmp.join("tls.key"), self.key()).unwrap();
        std::fs::rename(tmp.join("tls.crt"), self.cert()).unwrap();
        set.ca_cert
    }
}

fn server(pki: &Pki, tune: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), pki.cert(), pki.key());
    config.reload_every = Duration::from_millis(50);
    tune(&mut config);
    start(Arc::new(common::judge("")), config).unwrap()
}

fn connector(cas: &[&str]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

type Sender = hyper::client::conn::http1::SendRequest<
    http_body_util::combinators::BoxBody<Bytes, std::io::Error>,
>;

async fn connect(addr: std::net::SocketAddr, tls: &TlsConnector) -> std::io::Result<Sender> {
    let tcp = TcpStream::connect(addr).await?;
    let stream = tls
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(sender)
}

fn boxed(body: Vec<u8>) -> http_body_util::combinators::BoxBody<Bytes, std::io::Error> {
    Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed()
}

async fn send(
    sender: &mut Sender,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    if let Some(t) = content_type {
        req = req.header("content-type", t);
    }
    sender.ready().await.unwrap();
    let resp = sender
        .send_request(req.body(boxed(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// One request on a connection of its own (a refused request's connection is closed:
/// its body was never read).
async fn once(
    addr: std::net::SocketAddr,
    tls: &TlsConnector,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let mut c = connect(addr, tls).await.unwrap();
    send(&mut c, method, path, content_type, body).await
}

/// POSTs [`bad_pod_review`] to `/validate`.
async fn post_bad_pod(sender: &mut Sender) -> (StatusCode, String) {
    send(
        sender,
        "POST",
        "/validate",
        Some("application/json"),
        bad_pod_review(),
    )
    .await
}

fn bad_pod_review() -> Vec<u8> {
    common::body(&common::request(
        "CREATE",
        &common::pod("web", "bad", json!({"privileged": true})),
        None,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_reviews_health_and_metrics_over_https() {
    let pki = Pki::new();
    let srv = server(&pki, |_| {});
    let tls = connector(&[&pki.ca]);
    let mut c = connect(srv.addr, &tls).await.unwrap();

    let (status, text) = post_bad_pod(&mut c).await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(
        answer["response"]["uid"],
        "d6f7f7b4-8f0c-4c6e-9f1e-3c1b2a3d4e5f"
    );
    assert_eq!(answer["response"]["allowed"], false);
    assert_eq!(answer["response"]["status"]["code"], 403);

    let good = common::body(&common::request(
        "CREATE",
        &common::good_pod("web", "ok"),
        None,
    ));
    let (status, text) = send(
        &mut c,
        "POST",
        "/validate",
        Some("application/json; charset=utf-8"),
        good,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["response"]["allowed"],
        true
    );

    assert_eq!(
        send(&mut c, "GET", "/healthz", None, vec![]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&mut c, "GET", "/readyz", None, vec![]).await.0,
        StatusCode::OK
    );
    srv.set_ready(false);
    assert_eq!(
        send(&mut c, "GET", "/readyz", None, vec![]).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    srv.set_ready(true);

    let (status, metrics) = send(&mut c, "GET", "/metrics", None, vec![]).await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "palisade_admission_reviews_total{mode=\"enforce\",decision=\"denied\"} 1",
        "palisade_admission_reviews_total{mode=\"enforce\",decision=\"allowed\"} 1",
        "palisade_admission_findings_total{mode=\"enforce\",check=\"privileged\"} 1",
        "palisade_admission_review_duration_seconds_count 2",
        "palisade_admission_in_flight 0",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
    srv.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_requests_get_the_right_status() {
    let pki = Pki::new();
    let srv = server(&pki, |c| c.max_body = 64 << 10);
    let tls = connector(&[&pki.ca]);
    let review = bad_pod_review();
    assert_eq!(
        once(
            srv.addr,
            &tls,
            "POST",
            "/validate",
            Some("application/yaml"),
            review.clone()
        )
        .await
        .0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        once(srv.addr, &tls, "POST", "/validate", None, review)
            .await
            .0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        once(srv.addr, &tls, "GET", "/validate", None, vec![])
            .await
            .0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        once(srv.addr, &tls, "GET", "/nope", None, vec![]).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, text) = once(
        srv.addr,
        &tls,
        "POST",
        "/validate",
        Some("application/json"),
        b"{\"kind\":".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("not an AdmissionReview"), "{text}");
    let (status, _) = once(
        srv.addr,
        &tls,
        "POST",
        "/validate",
        Some("application/json"),
        br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"a"}}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Over the limit with a Content-Length: refused before it is read.
    let huge = vec![b' '; 65 << 10];
    let mut c = connect(srv.addr, &tls).await.unwrap();
    assert_eq!(
        send(&mut c, "POST", "/validate", Some("application/json"), huge)
            .await
            .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Over the limit in chunks of unknown total: refused once the limit is passed.
    let mut c = connect(srv.addr, &tls).await.unwrap();
    let chunks: Vec<_> = (0..80)
        .map(|_| Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b' '; 1024]))))
        .collect();
    let body = BodyExt::boxed(StreamBody::new(stream::iter(chunks)));
    let req = Request::builder()
        .method("POST")
        .uri("/validate")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let resp = c.send_request(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let metrics = srv.metrics();
    assert!(
        metrics.contains("palisade_admission_rejected_total{reason=\"too_large\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("palisade_admission_rejected_total{reason=\"unsupported_media_type\"} 2")
    );
    srv.stop();
}

/// A request whose body starts and never ends.
fn endless_request() -> Request<http_body_util::combinators::BoxBody<Bytes, std::io::Error>> {
    let first = stream::iter([Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(
        b"{",
    )))]);
    let body = BodyExt::boxed(StreamBody::new(first.chain(stream::pending())));
    Request::builder()
        .method("POST")
        .uri("/validate")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_answered_at_once_and_slow_bodies_time_out() {
    let pki = Pki::new();
    let srv = server(&pki, |c| {
        c.max_in_flight = 1;
        c.read_timeout = Duration::from_secs(3);
    });
    let tls = connector(&[&pki.ca]);
    let mut holder = connect(srv.addr, &tls).await.unwrap();
    let held = tokio::spawn(async move {
        let resp = holder.send_request(endless_request()).await.unwrap();
        resp.status()
    });
    // Wait until the first request holds the only slot.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !srv.metrics().contains("palisade_admission_in_flight 1") {
        assert!(Instant::now() < deadline, "the first request never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut c = connect(srv.addr, &tls).await.unwrap();
    let asked = Instant::now();
    let (status, _) = post_bad_pod(&mut c).await;
    let waited = asked.elapsed();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Answered without waiting for the slot (which frees only at the read timeout).
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    // The held request ends at the read timeout with 408, and frees its slot.
    assert_eq!(held.await.unwrap(), StatusCode::REQUEST_TIMEOUT);
    let (status, _) = post_bad_pod(&mut c).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = srv.metrics();
    assert!(
        metrics.contains("palisade_admission_rejected_total{reason=\"overload\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("palisade_admission_rejected_total{reason=\"timeout\"} 1"),
        "{metrics}"
    );
    srv.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_errors_and_plain_http_leave_the_server_serving() {
    let pki = Pki::new();
    let srv = server(&pki, |_| {});
    let other = Pki::new();
    // A client that does not trust the server's CA fails its handshake.
    assert!(connect(srv.addr, &connector(&[&other.ca])).await.is_err());
    // Plain HTTP on the TLS port gets no answer but a closed connection.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = TcpStream::connect(srv.addr).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the server kept a plain-text connection open");
        assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    }
    let mut c = connect(srv.addr, &connector(&[&pki.ca])).await.unwrap();
    assert_eq!(
        send(&mut c, "GET", "/healthz", None, vec![]).await.0,
        StatusCode::OK
    );
    srv.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_rotate_under_load_without_a_failed_request() {
    let pki = Pki::new();
    let srv = server(&pki, |_| {});
    let addr = srv.addr;
    let old_ca = pki.ca.clone();
    // Clients trust the old CA, and the new one from just before it is served, as a
    // webhook configuration's caBundle does during a rotation.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let cas: Arc<std::sync::Mutex<Vec<String>>> =
        Arc::new(std::sync::Mutex::new(vec![old_ca.clone()]));
    // How many CAs each client trusted at the start of its latest request.
    let seen: Arc<Vec<AtomicUsize>> = Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
    let mut load = Vec::new();
    for i in 0..4 {
        let (stop, done, failed, cas) = (stop.clone(), done.clone(), failed.clone(), cas.clone());
        let seen = seen.clone();
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let trusted: Vec<String> = cas.lock().unwrap().clone();
                seen[i].store(trusted.len(), Ordering::SeqCst);
                let refs: Vec<&str> = trusted.iter().map(String::as_str).collect();
                // A new connection each time: every request is a handshake.
                let outcome = async {
                    let mut c = connect(addr, &connector(&refs)).await?;
                    let (status, _) = post_bad_pod(&mut c).await;
                    Ok::<_, std::io::Error>(status)
                }
                .await;
                match outcome {
                    Ok(StatusCode::OK) => done.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Trust the next CA before it is served (as a caBundle is updated first).
    let rotated = {
        let set = bootstrap(&["localhost".into(), "127.0.0.1".into()], 1).unwrap();
        cas.lock().unwrap().push(set.ca_cert.clone());
        // Every client's next request trusts it before it is served (a client that
        // began before it was trusted would rightly fail; on a slow machine one may
        // still be mid-request).
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.iter().any(|n| n.load(Ordering::SeqCst) < 2) {
            assert!(
                Instant::now() < deadline,
                "clients never picked up the new CA"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let tmp = pki.dir.path().join("next");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join("tls.crt"), &set.cert).unwrap();
        std::fs::write(tmp.join("tls.key"), &set.key).unwrap();
        std::fs::rename(tmp.join("tls.key"), pki.key()).unwrap();
        std::fs::rename(tmp.join("tls.crt"), pki.cert()).unwrap();
        set.ca_cert
    };
    // Until the reload, the key and the certificate may not match for an instant:
    // the old pair keeps being served then. Wait for the new one.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if connect(addr, &connector(&[&rotated])).await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for l in load {
        l.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    assert!(
        done.load(Ordering::SeqCst) > 20,
        "only {} requests",
        done.load(Ordering::SeqCst)
    );
    // The old CA alone no longer verifies the server.
    assert!(connect(addr, &connector(&[&old_ca])).await.is_err());
    assert!(srv
        .metrics()
        .contains("palisade_admission_certificate_reloads_total{result=\"ok\"}"));
    srv.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_new_pair_keeps_the_old_one_served() {
    let pki = Pki::new();
    let srv = server(&pki, |_| {});
    // A key that belongs to another certificate.
    let stray = bootstrap(&["localhost".into()], 1).unwrap();
    std::fs::write(pki.key(), &stray.key).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !srv
        .metrics()
        .contains("palisade_admission_certificate_reloads_total{result=\"error\"}")
    {
        assert!(
            Instant::now() < deadline,
            "the broken pair was never noticed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut c = connect(srv.addr, &connector(&[&pki.ca])).await.unwrap();
    assert_eq!(
        send(&mut c, "GET", "/healthz", None, vec![]).await.0,
        StatusCode::OK
    );
    // Fixed: the next look serves the new pair.
    let ca = pki.rotate();
    let deadline = Instant::now() + Duration::from_secs(10);
    while connect(srv.addr, &connector(&[&ca])).await.is_err() {
        assert!(Instant::now() < deadline, "the fixed pair was never served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    srv.stop();
}

#[test]
fn a_missing_or_mismatched_pair_refuses_to_start() {
    let pki = Pki::new();
    let judge = Arc::new(common::judge(""));
    let missing = ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        pki.cert(),
        Path::new("/nonexistent.key").into(),
    );
    let err = start(judge.clone(), missing).err().unwrap();
    assert!(err.contains("/nonexistent.key"), "{err}");
    let stray = bootstrap(&["localhost".into()], 1).unwrap();
    std::fs::write(pki.key(), &stray.key).unwrap();
    let mismatched = ServerConfig::new("127.0.0.1:0".parse().unwrap(), pki.cert(), pki.key());
    let err = start(judge, mismatched).err().unwrap();
    assert!(err.contains("does not match"), "{err}");
}
