//! `palisade operator` end to end: the real binary and kube-rs watchers against the
//! loopback replay server, with its live lists and watch streams, authorized by the
//! ClusterRole `deploy/operator/rbac.yaml` ships.

mod common;

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{attributes, root, run_in, spawn_logging};
use palisade_rbac::{load, Model, User};
use palisade_replay::{Auth, EventKind, Options, Recordings, ReplayServer, RequestInfo};
use serde_json::{json, Value};

const OPERATOR: &str = "system:serviceaccount:palisade-system:palisade-operator";
const REPORTS: &str = "/apis/wgpolicyk8s.io/v1alpha2/policyreports";
const CLUSTER_REPORTS: &str = "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports";

fn shipped_role() -> Model {
    let file = root().join("deploy/operator/rbac.yaml");
    let (inputs, errors) = palisade_inventory::discover(&[file]);
    assert!(errors.is_empty());
    let loaded = load(&inputs, &palisade_source::Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    Model::build(loaded.records)
}

fn allowed(model: &Model, r: &RequestInfo) -> bool {
    model
        .authorize(&User::impersonated(&r.user, &r.groups), &attributes(r))
        .is_some()
}

struct Operator {
    child: std::process::Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Operator {
    fn start(dir: &std::path::Path, kubeconfig: &str, database: &str) -> Operator {
        let (child, stderr) = spawn_logging(
            dir,
            &[
                "operator",
                "--kubeconfig",
                kubeconfig,
                "--debounce",
                "0.2",
                "--metrics-addr",
                "127.0.0.1:0",
                "--database",
                database,
                "--cluster-name",
                "replay",
                "--no-config",
            ],
        );
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Operator { child, log }
    }

    fn evaluations(&self) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("\"message\":\"evaluated\""))
            .count()
    }

    fn metrics_url(&self) -> Option<String> {
        self.log.lock().unwrap().iter().find_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            (v["message"] == "metrics on /metrics")
                .then(|| format!("http://{}/metrics", v["address"].as_str().unwrap()))
        })
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `ready`, failing with the operator's log.
fn wait_for(op: &Operator, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            op.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (check, kind, namespace, name) of every result of every report.
fn results(server: &ReplayServer) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for path in [REPORTS, CLUSTER_REPORTS] {
        for report in server.stored(path) {
            for r in report["results"].as_array().unwrap() {
                let o = &r["resources"][0];
                all.insert(format!(
                    "{} {} {}/{}",
                    r["policy"].as_str().unwrap(),
                    o["kind"].as_str().unwrap(),
                    o["namespace"].as_str().unwrap_or(""),
                    o["name"].as_str().unwrap()
                ));
            }
        }
    }
    all
}

fn writes(server: &ReplayServer) -> Vec<RequestInfo> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect()
}

/// One metric's value from the text exposition.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn the_operator_keeps_policy_reports_current_and_writes_only_what_changed() {
    let recordings = Recordings::load(&root().join("testdata/apiserver")).expect("recordings");
    let model = Arc::new(shipped_role());
    let authorize = model.clone();
    let server = ReplayServer::start(
        recordings,
        Options {
            tokens: vec![("operator-token".into(), OPERATOR.into(), vec![])],
            authorize: Some(Arc::new(move |r: &RequestInfo| allowed(&authorize, r))),
            ..Options::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        server.kubeconfig(&Auth::Token("operator-token".into())),
    )
    .unwrap();
    let kubeconfig = kubeconfig.to_str().unwrap().to_owned();
    let database = dir.path().join("history.db").to_str().unwrap().to_owned();

    let op = Operator::start(dir.path(), &kubeconfig, &database);
    wait_for(&op, "the first reports", || op.evaluations() >= 1);
    let first = results(&server);
    assert!(!first.is_empty());
    for report in server.stored(REPORTS) {
        let bytes = serde_json::to_vec(&report).unwrap().len();
        assert!(bytes <= 256 * 1024 + 1024, "{bytes}");
        assert_eq!(
            report["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "palisade"
        );
    }

    // The same findings as a one-off scan of the same cluster, but on the Endpoints and
    // EndpointSlices the operator does not watch (their controllers rewrite them all the
    // time; their findings repeat their Services').
    let scan = run_in(
        dir.path(),
        &[
            "scan",
            "--cluster",
            "--kubeconfig",
            &kubeconfig,
            "--no-config",
            "-f",
            "json",
            "--fail-on",
            "none",
        ],
    );
    let scanned: Value = serde_json::from_slice(&scan.stdout).unwrap();
    let expected: BTreeSet<String> = scanned["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            !matches!(
                f["object"]["kind"].as_str(),
                Some("Endpoints" | "EndpointSlice")
            )
        })
        .map(|f| {
            let o = &f["object"];
            format!(
                "{} {} {}/{}",
                f["check"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
                o["namespace"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap()
            )
        })
        .collect();
    let only_operator: Vec<&String> = first.difference(&expected).collect();
    let only_scan: Vec<&String> = expected.difference(&first).collect();
    assert!(
        only_operator.is_empty() && only_scan.is_empty(),
        "the operator and scan --cluster disagree: operator only {only_operator:?}, scan only {only_scan:?}"
    );

    // A pod turns privileged: its namespace's report alone is written again.
    let recorded = Recordings::load(&root().join("testdata/apiserver")).unwrap();
    let mut pod = recorded.lists["/api/v1/pods"]
        .items
        .iter()
        .find(|o| o["metadata"]["namespace"] != "kube-system")
        .expect("a workload pod")
        .clone();
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    let ns = pod["metadata"]["namespace"].as_str().unwrap().to_owned();
    let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
    let key = format!("privileged Pod {ns}/{name}");
    assert!(!first.contains(&key));
    let before = writes(&server).len();
    let evaluations = op.evaluations();
    pod["spec"]["containers"][0]["securityContext"] = json!({"privileged": true});
    server.apply_event("/api/v1/pods", EventKind::Modified, pod.clone());
    wait_for(&op, "the privileged pod's result", || {
        results(&server).contains(&key)
    });
    let new_writes: Vec<RequestInfo> = writes(&server).into_iter().skip(before).collect();
    assert_eq!(new_writes.len(), 1, "{new_writes:?}");
    assert_eq!(
        new_writes[0].path,
        format!("/apis/wgpolicyk8s.io/v1alpha2/namespaces/{ns}/policyreports/palisade-{ns}")
    );
    assert!(op.evaluations() > evaluations);

    // A default-deny NetworkPolicy re-evaluates the namespace: its missing-policy
    // findings go.
    let deny_key = format!("netpol-missing-default-deny-ingress Namespace /{ns}");
    let had_deny = results(&server).contains(&deny_key);
    server.apply_event(
        "/apis/networking.k8s.io/v1/networkpolicies",
        EventKind::Added,
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
    );
    if had_deny {
        wait_for(&op, "the default-deny to count", || {
            !results(&server).contains(&deny_key)
        });
    }
    let settled = writes(&server).len();

    // The same pod again with a new resourceVersion and nothing else: judged again,
    // nothing written.
    let evaluations = op.evaluations();
    server.apply_event("/api/v1/pods", EventKind::Modified, pod.clone());
    wait_for(&op, "an evaluation", || op.evaluations() > evaluations);
    assert_eq!(
        writes(&server).len(),
        settled,
        "an unchanged report was written"
    );

    // Compaction and dropped watches: the operator lists again and writes nothing new.
    let lists = |s: &ReplayServer| {
        s.requests()
            .iter()
            .filter(|r| r.path == "/api/v1/pods" && !r.query.contains("watch"))
            .count()
    };
    let pod_lists = lists(&server);
    server.compact();
    server.close_watches();
    wait_for(&op, "a re-list", || lists(&server) > pod_lists);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(writes(&server).len(), settled);

    // The pod deleted: its results go.
    server.apply_event("/api/v1/pods", EventKind::Deleted, pod.clone());
    wait_for(&op, "the deleted pod's results to go", || {
        !results(&server)
            .iter()
            .any(|r| r.ends_with(&format!("Pod {ns}/{name}")))
    });

    // Metrics, with bounded labels.
    let url = op.metrics_url().expect("the metrics address is logged");
    let text = http_get(&url);
    assert!(
        metric(&text, "palisade_objects_watched").unwrap() > 10.0,
        "{text}"
    );
    assert!(
        metric(&text, "palisade_findings{severity=\"critical\"}").is_some(),
        "{text}"
    );
    assert!(
        metric(&text, "palisade_reports_written_total").unwrap() >= 2.0,
        "{text}"
    );
    assert!(
        !text.contains(&format!("name=\"{name}\"")),
        "no per-object label"
    );

    // Every request was one the shipped role allows.
    for r in server.requests() {
        if r.user == OPERATOR {
            assert!(allowed(&model, &r), "the shipped role refuses {r:?}");
        }
    }

    // Killed and started again: the same findings, nothing written, history unchanged.
    let written = writes(&server).len();
    drop(op);
    let history_before = run_in(
        dir.path(),
        &["history", "--database", &database, "-f", "json"],
    );
    let before: Value = serde_json::from_slice(&history_before.stdout).unwrap();
    let op = Operator::start(dir.path(), &kubeconfig, &database);
    wait_for(&op, "the restarted operator's evaluation", || {
        op.evaluations() >= 1
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        writes(&server).len(),
        written,
        "a restart rewrote unchanged reports"
    );
    let after: Value = serde_json::from_slice(
        &run_in(
            dir.path(),
            &["history", "--database", &database, "-f", "json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(
        after["changes"].as_array().unwrap().len(),
        before["changes"].as_array().unwrap().len(),
        "the restart recorded changes that did not happen"
    );
    let _: PathBuf = dir.path().to_path_buf();
}
