//! Detections POSTed to an HTTPS endpoint: in order, each held until the endpoint takes
//! it (a failing endpoint is retried, holding everything behind it), with a stable id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::StatusCode;
use palisade_audit::watch::{watch, Output, Progress, WatchOptions};
use palisade_audit::{falco_json, Loader};
use palisade_https::tls::{bootstrap, ReloadingCert};
use palisade_https::{accept_loop, read_limited, server_tls, text};

/// What the endpoint saw: (detection id, body), and how many requests it refused.
#[derive(Default)]
struct Seen {
    taken: Vec<(String, String)>,
    refused: usize,
}

/// An HTTPS endpoint on loopback that refuses its first `refuse` requests with 503.
fn endpoint(dir: &std::path::Path, refuse: usize) -> (String, Arc<Mutex<Seen>>) {
    let pki = bootstrap(&["127.0.0.1".into()], 1).unwrap();
    std::fs::write(dir.join("ca.crt"), &pki.ca_cert).unwrap();
    std::fs::write(dir.join("tls.crt"), &pki.cert).unwrap();
    std::fs::write(dir.join("tls.key"), &pki.key).unwrap();
    let certs = Arc::new(ReloadingCert::new(&dir.join("tls.crt"), &dir.join("tls.key")).unwrap());
    let tls = server_tls(certs, None).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (_keep, stop) = tokio::sync::oneshot::channel::<()>();
            let handler = move |req: hyper::Request<hyper::body::Incoming>, _| {
                let state = state.clone();
                async move {
                    let id = req
                        .headers()
                        .get("x-palisade-detection-id")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    let body = read_limited(req.into_body(), 1 << 20)
                        .await
                        .unwrap()
                        .unwrap();
                    let mut s = state.lock().unwrap();
                    if s.refused < refuse {
                        s.refused += 1;
                        return text(StatusCode::SERVICE_UNAVAILABLE, "busy\n");
                    }
                    s.taken
                        .push((id, String::from_utf8(body.to_vec()).unwrap()));
                    text(StatusCode::OK, "ok\n")
                }
            };
            accept_loop(listener, tls, Duration::from_secs(5), stop, handler).await;
        });
    });
    (format!("https://127.0.0.1:{}/falco", addr.port()), seen)
}

/// One rule: a Secret read.
const SECRET_READ: &str = "- rule: Secret Read\n  desc: x\n  condition: ka.target.resource = secrets\n  output: \"%ka.user.name read %ka.target.name\"\n  priority: WARNING\n  source: k8s_audit\n";

fn secret_read(i: usize) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"id-{i}","stage":"ResponseComplete","verb":"get","user":{{"username":"jane"}},"objectRef":{{"resource":"secrets","namespace":"prod","name":"s-{i}"}},"responseStatus":{{"code":200}},"stageTimestamp":"2026-12-04T10:00:00Z"}}"#
    )
}

fn run(dir: &std::path::Path, url: &str, state: &str) -> palisade_audit::scan::Totals {
    let mut loader = Loader::default();
    loader.add("rules.yaml", SECRET_READ).unwrap();
    let rules = loader.compile();
    let mut options = WatchOptions::new(
        vec![dir.join("audit.log")],
        dir.join(state),
        Output::Https {
            url: url.to_owned(),
            ca: Some(dir.join("ca.crt")),
        },
    );
    options.poll = Duration::from_millis(5);
    options.idle_exit = Some(Duration::from_millis(200));
    watch(
        &options,
        &rules,
        |_, _, d, _| falco_json(d, "test").to_string(),
        |b| panic!("{b}"),
        None,
        &Progress::default(),
    )
    .unwrap()
}

#[test]
fn detections_are_delivered_in_order_through_refusals_with_stable_ids() {
    let dir = tempfile::tempdir().unwrap();
    let log: String = (0..5).map(|i| secret_read(i) + "\n").collect();
    std::fs::write(dir.path().join("audit.log"), log).unwrap();
    let (url, seen) = endpoint(dir.path(), 3);
    let totals = run(dir.path(), &url, "state.db");
    assert_eq!(totals.detections, 5);
    let first: Vec<(String, String)> = {
        let s = seen.lock().unwrap();
        assert_eq!(s.refused, 3, "the first detection was refused three times");
        s.taken.clone()
    };
    let names: Vec<String> = first
        .iter()
        .map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            v["output_fields"]["ka.target.name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        ["s-0", "s-1", "s-2", "s-3", "s-4"],
        "in order, each once"
    );

    // The checkpoint holds: a second run sends nothing.
    run(dir.path(), &url, "state.db");
    assert_eq!(seen.lock().unwrap().taken.len(), 5);
    // Without it (a crash before the checkpoint), the same detections come with the
    // same ids, for the endpoint to drop.
    run(dir.path(), &url, "fresh.db");
    let s = seen.lock().unwrap();
    assert_eq!(s.taken.len(), 10);
    for (a, b) in s.taken[..5].iter().zip(&s.taken[5..]) {
        assert_eq!(a, b);
        assert_eq!(a.0.len(), 32, "{a:?}");
    }
    let ids: std::collections::HashSet<&String> = s.taken[..5].iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 5, "distinct detections, distinct ids");
}

#[test]
fn an_endpoint_that_is_not_https_is_refused() {
    let err = palisade_audit::sink::HttpsSink::new("http://127.0.0.1:1/x", None).unwrap_err();
    assert!(err.contains("https only"), "{err}");
}
