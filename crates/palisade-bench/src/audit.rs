//! `audit-generate FILE N [metadata|request]` writes N audit events as the API server's
//! log backend does (one JSON Event per line): a mix of reads, writes, exec and Secret
//! access by users and service accounts, at Metadata level, or with request and
//! response bodies (RequestResponse level) for pod creations. `audit FILE RULES` times
//! reading them and running the rules on every event, detections written to a sink.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use palisade_audit::events::open;
use palisade_audit::scan::{scan_reader, InOrder};
use palisade_audit::{falco_json, Loader};

const VERBS: [&str; 6] = ["get", "list", "watch", "create", "update", "delete"];
const RESOURCES: [&str; 8] = [
    "pods",
    "secrets",
    "configmaps",
    "deployments",
    "services",
    "leases",
    "events",
    "roles",
];
const USERS: [&str; 5] = [
    "system:serviceaccount:kube-system:replicaset-controller",
    "system:kube-scheduler",
    "jane@example.com",
    "system:serviceaccount:monitoring:prometheus",
    "system:node:node-17",
];

/// Writes `n` events to `path`.
pub fn generate(path: &Path, n: usize, with_bodies: bool) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let mut bytes = 0usize;
    for i in 0..n {
        let line = event(i, with_bodies);
        bytes += line.len() + 1;
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    println!(
        "wrote {n} events ({:.1} MB, {} bytes/event) to {}",
        bytes as f64 / 1e6,
        bytes / n.max(1),
        path.display()
    );
    Ok(())
}

/// Event `i` of the mix: a fixed, spread-out choice of verb, resource and user (no
/// randomness: the same events every time).
pub fn event(i: usize, with_bodies: bool) -> String {
    let verb = VERBS[i % VERBS.len()];
    let resource = RESOURCES[(i / VERBS.len()) % RESOURCES.len()];
    let user = USERS[(i * 11) % USERS.len()];
    let ns = format!("team-{}", i % 50);
    let name = format!("obj-{}", i % 997);
    let exec = i.is_multiple_of(1000);
    let (resource, sub) = if exec {
        ("pods", "\"subresource\":\"exec\",")
    } else {
        (resource, "")
    };
    let uri = if exec {
        format!(
            "/api/v1/namespaces/{ns}/pods/{name}/exec?command=sh&container=app&stdin=true&tty=true"
        )
    } else {
        format!("/api/v1/namespaces/{ns}/{resource}/{name}")
    };
    let body = if with_bodies && resource == "pods" && verb == "create" {
        format!(
            r#","requestObject":{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"{name}","namespace":"{ns}","labels":{{"app":"web"}}}},"spec":{{"containers":[{{"name":"app","image":"registry.example.com/web:1.{i}","ports":[{{"containerPort":8080}}],"securityContext":{{"privileged":{},"runAsUser":1000}}}}],"volumes":[{{"name":"data","emptyDir":{{}}}}]}}}},"responseObject":{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"{name}","namespace":"{ns}","uid":"6f0b-{i}"}}}}"#,
            i.is_multiple_of(500)
        )
    } else {
        String::new()
    };
    let level = if body.is_empty() {
        "Metadata"
    } else {
        "RequestResponse"
    };
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"{level}","auditID":"{i:08x}-7c1e-4b8e-9d2a-3f4e5d6c7b8a","stage":"ResponseComplete","requestURI":"{uri}","verb":"{verb}","user":{{"username":"{user}","uid":"u-{}","groups":["system:authenticated","team"]}},"sourceIPs":["10.0.{}.{}"],"userAgent":"kubectl/v1.31.0 (linux/amd64) kubernetes/abc","objectRef":{{"resource":"{resource}",{sub}"namespace":"{ns}","name":"{name}","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}}{body},"requestReceivedTimestamp":"2026-12-04T10:00:00.{:06}Z","stageTimestamp":"2026-12-04T10:00:00.{:06}Z","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding"}}}}"#,
        i % 97,
        i % 256,
        (i / 256) % 256,
        i % 1_000_000,
        (i + 1) % 1_000_000
    )
}

/// Reads `path` and runs the rules of `rules` on every event.
pub fn run(path: &Path, rules: &Path) -> anyhow::Result<()> {
    let mut loader = Loader::default();
    let text = std::fs::read_to_string(rules).context("rules")?;
    loader.add(&rules.display().to_string(), &text)?;
    let rules = loader.compile();
    let size = std::fs::metadata(path)?.len();
    let started = Instant::now();
    let mut sink = std::io::sink();
    let totals = scan_reader(
        &path.display().to_string(),
        open(path)?,
        &rules,
        |_, d, _| falco_json(d, "bench").to_string(),
        &mut InOrder::new(&rules, 1_000_000),
        |line| writeln!(sink, "{line}"),
        |_| {},
    )?;
    let (events, detections) = (totals.events, totals.detections);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{events} events ({:.0} MB), {} rules, {detections} detections in {secs:.2} s: {:.0} events/s, {:.0} MB/s",
        size as f64 / 1e6,
        rules.rules.len(),
        events as f64 / secs,
        size as f64 / 1e6 / secs
    );
    Ok(())
}
