//! `palisade netpol connections|explain`, end to end with the real binary.

use std::process::Output;

mod common;
use common::run_in;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const APP: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-lb, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{ipBlock: {cidr: 192.168.0.0/24}}], ports: [{port: http}]}]
";

#[test]
fn connections_as_text_json_and_dot() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), APP).unwrap();
    let out = run_in(dir.path(), &["netpol", "connections", "app.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "192.168.0.0-192.168.0.255 => shop/web[Deployment] : TCP 8080
shop/db[Deployment] => 0.0.0.0-255.255.255.255 : All Connections
shop/web[Deployment] => 0.0.0.0-255.255.255.255 : All Connections
shop/web[Deployment] => shop/db[Deployment] : TCP 5432
"
    );
    let out = run_in(
        dir.path(),
        &["netpol", "connections", "app.yaml", "-f", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["connections"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3]["src"], "shop/web[Deployment]");
    assert_eq!(rows[3]["dst"], "shop/db[Deployment]");
    assert_eq!(rows[3]["conn"], "TCP 5432");
    let out = run_in(
        dir.path(),
        &["netpol", "connections", "app.yaml", "-f", "dot"],
    );
    let dot = stdout(&out);
    assert!(dot.starts_with("digraph connections {"), "{dot}");
    assert!(
        dot.contains("\"shop/web[Deployment]\" -> \"shop/db[Deployment]\" [label=\"TCP 5432\"];"),
        "{dot}"
    );
    // --focus keeps one workload's lines.
    let out = run_in(
        dir.path(),
        &["netpol", "connections", "app.yaml", "--focus", "shop/db"],
    );
    assert_eq!(
        stdout(&out),
        "shop/db[Deployment] => 0.0.0.0-255.255.255.255 : All Connections
shop/web[Deployment] => shop/db[Deployment] : TCP 5432
"
    );
    let out = run_in(
        dir.path(),
        &["netpol", "connections", "app.yaml", "--focus", "shop/nope"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no workload shop/nope"));
}

#[test]
fn explain_names_the_deciding_policies_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), APP).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "netpol", "explain", "shop/web", "shop/db", "--port", "5432", "app.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with("allowed: shop/web[Deployment] => shop/db[Deployment] on TCP/5432"),
        "{text}"
    );
    assert!(
        text.contains(
            "allowed by NetworkPolicy shop/db-from-web ingress[0] (app.yaml:23): TCP 5432"
        ),
        "{text}"
    );
    assert!(
        text.contains("egress of shop/web[Deployment]: not isolated"),
        "{text}"
    );
    let out = run_in(
        dir.path(),
        &["netpol", "explain", "shop/db", "shop/web", "app.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.starts_with("denied:"), "{text}");
    assert!(
        text.contains("NetworkPolicy shop/web-from-lb (app.yaml:27)")
            && text.contains("no rule allows it"),
        "{text}"
    );
    // A named port resolves on the destination; a wrong protocol is denied.
    let out = run_in(
        dir.path(),
        &[
            "netpol",
            "explain",
            "192.168.0.9",
            "shop/web",
            "--port",
            "8080/UDP",
            "app.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = run_in(
        dir.path(),
        &[
            "netpol",
            "explain",
            "192.168.0.9",
            "shop/web",
            "--port",
            "8080",
            "app.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_malformed_policy_is_reported_and_the_rest_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: shop}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 5432, protocol: tcp}]}]
";
    std::fs::write(dir.path().join("app.yaml"), format!("{APP}{broken}")).unwrap();
    let out = run_in(dir.path(), &["netpol", "connections", "app.yaml"]);
    assert_eq!(out.status.code(), Some(2), "incomplete input");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("app.yaml:37:45:")
            && stderr.contains("document 4")
            && stderr.contains("TCP, UDP or SCTP"),
        "{stderr}"
    );
    assert!(stdout(&out).contains("shop/web[Deployment] => shop/db[Deployment] : TCP 5432"));
}

/// A directory laid out like np-guard's test inputs: a PodList as `kubectl get pods -o
/// json` prints it (controller references, containers with no name or image), a
/// NamespaceList, a policy, and a tool's saved JSON output (a top-level array).
#[test]
fn connections_of_a_pod_list_print_np_guards_connlist() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |name: &str, app: &str, owner_kind: &str, owner: &str| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}", "namespace": "default", "labels": {{"app": "{app}"}}, "ownerReferences": [{{"apiVersion": "apps/v1", "kind": "{owner_kind}", "name": "{owner}", "controller": true, "blockOwnerDeletion": true, "uid": "u-{owner}"}}]}}, "spec": {{"containers": [{{"ports": [{{"containerPort": 8080, "name": "web", "protocol": "TCP"}}]}}]}}, "status": {{"hostIP": "10.0.0.1", "podIP": "10.244.0.7"}}}}"#
        )
    };
    let pods = [
        pod("cog-agents-0", "app-0", "DaemonSet", "cog-agents"),
        pod("cog-agents-1", "app-0", "DaemonSet", "cog-agents"),
        pod(
            "cog-local-analyzer-7d77fb55cc-jh8xz",
            "app-1",
            "ReplicaSet",
            "cog-local-analyzer-7d77fb55cc",
        ),
    ];
    std::fs::write(
        dir.path().join("pods_list.json"),
        format!(
            r#"{{"apiVersion": "v1", "kind": "PodList", "items": [{}]}}"#,
            pods.join(", ")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ns_list.json"),
        r#"{"apiVersion": "v1", "kind": "NamespaceList", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "labels": {"kubernetes.io/metadata.name": "default"}}}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("policy.yaml"),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: analyzer, namespace: default}\nspec:\n  podSelector: {matchLabels: {app: app-1}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: app-0}}}], ports: [{port: web}]}]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("connlist_output.json"),
        "[\n  {\"src\": \"a\", \"dst\": \"b\", \"conn\": \"All Connections\"}\n]",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("patch.yaml"),
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: cog-agents, namespace: default}\nspec: {updateStrategy: {type: OnDelete}}\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["netpol", "connections", "."]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a saved output is skipped, not an error: {stderr}"
    );
    assert!(
        stderr.contains("warning: patch.yaml:3: DaemonSet default/cog-agents has no pod spec (spec.template.spec.containers), so it runs no pods; not modelled"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: connlist_output.json:1:1: document 0: document is a sequence, not a Kubernetes object; skipped"),
        "{stderr}"
    );
    assert_eq!(
        stdout(&out),
        "0.0.0.0-255.255.255.255 => default/cog-agents[DaemonSet] : All Connections
default/cog-agents[DaemonSet] => 0.0.0.0-255.255.255.255 : All Connections
default/cog-agents[DaemonSet] => default/cog-local-analyzer-7d77fb55cc[ReplicaSet] : TCP 8080
default/cog-local-analyzer-7d77fb55cc[ReplicaSet] => 0.0.0.0-255.255.255.255 : All Connections
default/cog-local-analyzer-7d77fb55cc[ReplicaSet] => default/cog-agents[DaemonSet] : All Connections
"
    );
    // The JSON format names workloads the same way.
    let out = run_in(dir.path(), &["netpol", "connections", "-f", "json", "."]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["connections"][2],
        serde_json::json!({"src": "default/cog-agents[DaemonSet]", "dst": "default/cog-local-analyzer-7d77fb55cc[ReplicaSet]", "conn": "TCP 8080"})
    );
    // A file that cannot be parsed is still an error.
    std::fs::write(dir.path().join("broken.yaml"), "kind: [\n").unwrap();
    let out = run_in(dir.path(), &["netpol", "connections", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: broken.yaml:"));
    assert!(stdout(&out).contains("default/cog-agents[DaemonSet] => default/cog-local-analyzer-7d77fb55cc[ReplicaSet] : TCP 8080"));
}

#[test]
fn scan_notes_a_skipped_document_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("out.json"), "[1, 2]").unwrap();
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &["scan", "--no-config", "--format", "json", "."],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["errors"], 0, "{v:#}");
    let notice = &v["notices"][0];
    assert_eq!(notice["kind"], "skipped-document", "{v:#}");
    assert!(notice["file"].as_str().unwrap().ends_with("out.json"));
    assert_ne!(out.status.code(), Some(2));
}
