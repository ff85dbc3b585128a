//! Config files, exceptions (config and inline), severity overrides and baselines, end
//! to end through the real binary.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::run_in;

fn json_in(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["scan", "--format", "json"];
    all.extend_from_slice(args);
    let out = run_in(dir, &all);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn checks_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_owned())
        .collect()
}

/// Two privileged workloads: an exporter in `monitoring`, a web app in `shop`.
const MANIFESTS: &str = "\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
  namespace: monitoring
  labels: {app: node-exporter}
spec:
  template:
    spec:
      containers:
        - name: exporter
          image: exporter
          securityContext:
            privileged: true
        - name: sidecar
          image: sidecar
          securityContext:
            privileged: true
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: web
      image: web
      securityContext:
        privileged: true
";

#[test]
fn config_exceptions_suppress_exactly_what_they_select() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", MANIFESTS);
    write(
        dir.path(),
        ".palisade.yaml",
        "\
select: [privileged]
exceptions:
  - checks: privileged
    kind: daemonset
    namespace: monitor*
    labels: {app: node-exporter}
    container: exporter
    reason: the exporter reads host metrics
    expires: 2999-01-01
",
    );
    let (code, v, _) = json_in(dir.path(), &["m.yaml"]);
    assert_eq!(code, 1, "the web pod and the sidecar still fail");
    let active: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["object"]["name"].as_str().unwrap(),
                f["container"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(active, [("node-exporter", "sidecar"), ("web", "web")]);
    assert_eq!(v["summary"]["suppressed"], 1);
    let s = &v["suppressed"][0];
    assert_eq!(s["container"], "exporter");
    assert_eq!(s["suppression"]["kind"], "config");
    assert_eq!(
        s["suppression"]["file"],
        dir.path().join(".palisade.yaml").display().to_string()
    );
    assert_eq!(s["suppression"]["line"], 3);
    assert_eq!(
        s["suppression"]["reason"],
        "the exporter reads host metrics"
    );
    assert_eq!(s["suppression"]["expires"], "2999-01-01");
    assert!(
        v["notices"].as_array().unwrap().is_empty(),
        "{}",
        v["notices"]
    );
}

#[test]
fn config_is_found_upward_and_can_be_bypassed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deploy/m.yaml", MANIFESTS);
    write(
        dir.path(),
        ".palisade.yml",
        "select: [privileged]\nseverity: {privileged: low}\n",
    );
    let sub = dir.path().join("deploy");
    let (code, v, _) = json_in(&sub, &["m.yaml"]);
    assert_eq!(code, 0, "privileged regraded to low passes --fail-on high");
    assert_eq!(v["summary"]["by_severity"]["low"], 3);
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);
    // --no-config: every check, default severities.
    let (code, v, _) = json_in(&sub, &["m.yaml", "--no-config"]);
    assert_eq!(code, 1);
    assert!(v["summary"]["by_severity"]["critical"].as_u64().unwrap() >= 3);
    // --config names another file; --select on the command line replaces the config's.
    write(dir.path(), "other.yaml", "fail-on: none\n");
    let (code, v, _) = json_in(
        &sub,
        &[
            "m.yaml",
            "--config",
            "../other.yaml",
            "--select",
            "privileged",
        ],
    );
    assert_eq!(code, 0, "fail-on: none from the named config");
    assert_eq!(checks_of(&v["findings"]), ["privileged"; 3]);
    let (code, _, _) = json_in(
        &sub,
        &["m.yaml", "--config", "../other.yaml", "--fail-on", "high"],
    );
    assert_eq!(code, 1, "the flag beats the config");
}

#[test]
fn expired_and_unused_exceptions_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", MANIFESTS);
    write(
        dir.path(),
        ".palisade.yaml",
        "\
select: [privileged, hostPorts]
exceptions:
  - checks: privileged
    namespace: shop
    reason: temporary, until the web team drops privileged
    expires: 2020-01-31
  - checks: hostPorts
    name: nothing-like-this
    reason: stale
",
    );
    let (code, v, stderr) = json_in(dir.path(), &["m.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(
        v["summary"]["suppressed"], 0,
        "an expired exception suppresses nothing"
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);
    let notices = v["notices"].as_array().unwrap();
    let kinds: Vec<_> = notices
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(kinds, [("expired-exception", 3), ("unused-exception", 7)]);
    let expired = notices[0]["message"].as_str().unwrap();
    assert!(
        expired.contains("2020-01-31") && expired.contains("1 finding it matches now fails"),
        "{expired}"
    );
    assert!(
        stderr.contains("warning:") && stderr.contains(".palisade.yaml:7:5: unused-exception"),
        "{stderr}"
    );

    // With hostPorts not selected, the hostPorts exception is not "unused".
    let (_, v, _) = json_in(dir.path(), &["m.yaml", "--select", "privileged"]);
    let kinds: Vec<_> = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["expired-exception"]);
}

#[test]
fn bad_config_refuses_to_scan() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", MANIFESTS);
    write(
        dir.path(),
        ".palisade.yaml",
        "exceptions:\n  - checks: privileged\n    namespace: shop\n",
    );
    let out = run_in(dir.path(), &["scan", "m.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no report from a half-read config");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".palisade.yaml:2:5: an exception needs a `reason`"),
        "{stderr}"
    );
}

#[test]
fn inline_annotations_suppress_unless_strict() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m.yaml",
        "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vpn
  namespace: net
spec:
  template:
    metadata:
      annotations:
        palisade.dev/ignore: \"privileged, hostNamespaces: the VPN gateway owns the node network\"
    spec:
      hostNetwork: true
      containers:
        - name: vpn
          image: vpn
          securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: typo
  namespace: net
  annotations:
    palisade.dev/ignore: \"privilegd: typo in the id\"
spec:
  containers:
    - {name: c, image: c, securityContext: {privileged: true}}
---
apiVersion: v1
kind: Pod
metadata:
  name: stale
  namespace: net
  annotations:
    palisade.dev/ignore: \"hostPorts: used to bind 80\"
spec:
  containers:
    - {name: c, image: c}
",
    );
    let args = ["m.yaml", "--select", "privileged,hostNamespaces,hostPorts"];
    let (code, v, _) = json_in(dir.path(), &args);
    assert_eq!(code, 1, "the typo'd annotation suppresses nothing");
    assert_eq!(checks_of(&v["findings"]), ["privileged"]);
    assert_eq!(v["findings"][0]["object"]["name"], "typo");
    let suppressed = v["suppressed"].as_array().unwrap();
    assert_eq!(
        checks_of(&v["suppressed"]),
        ["hostNamespaces", "privileged"]
    );
    for s in suppressed {
        assert_eq!(s["suppression"]["kind"], "inline");
        assert_eq!(s["suppression"]["line"], 10);
        assert_eq!(
            s["suppression"]["reason"],
            "the VPN gateway owns the node network"
        );
    }
    let notices: Vec<_> = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        notices,
        [("invalid-exception", 24), ("unused-exception", 35)]
    );

    let (code, v, _) = json_in(dir.path(), &[&args[..], &["--strict"]].concat());
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["suppressed"], 0);
    assert_eq!(
        checks_of(&v["findings"]),
        ["hostNamespaces", "privileged", "privileged"]
    );
    assert!(v["notices"].as_array().unwrap().is_empty());
}

#[test]
fn baselines_fail_only_on_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", MANIFESTS);
    let out = run_in(
        dir.path(),
        &[
            "scan",
            "m.yaml",
            "--no-config",
            "--select",
            "privileged",
            "--write-baseline",
            "b.json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("b.json")).unwrap()).unwrap();
    assert_eq!(b["palisade_baseline"], 1);
    assert_eq!(b["findings"].as_array().unwrap().len(), 3);
    assert!(b["findings"][0]["fingerprint"].as_str().unwrap().len() == 32);

    // Unchanged input: everything is in the baseline.
    let base = [
        "m.yaml",
        "--no-config",
        "--select",
        "privileged",
        "--baseline",
        "b.json",
    ];
    let (code, v, _) = json_in(dir.path(), &base);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["findings"], 0);
    assert_eq!(v["summary"]["suppressed"], 3);
    assert_eq!(v["suppressed"][0]["suppression"]["kind"], "baseline");

    // Lines shift and a new privileged container appears: only it fails.
    let changed = format!("# a comment moves every line\n{MANIFESTS}    - name: new\n      image: new\n      securityContext: {{privileged: true}}\n");
    write(dir.path(), "m.yaml", &changed);
    let (code, v, _) = json_in(dir.path(), &base);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["findings"], 1);
    assert_eq!(v["findings"][0]["container"], "new");
    assert_eq!(v["summary"]["suppressed"], 3);

    // A fixed finding leaves a stale entry, which is said.
    write(
        dir.path(),
        "m.yaml",
        &MANIFESTS.replace("privileged: true\n---", "privileged: false\n---"),
    );
    let (code, v, _) = json_in(dir.path(), &base);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["suppressed"], 2);
    assert_eq!(v["notices"][0]["kind"], "stale-baseline");
    assert!(v["notices"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("1 baseline finding no longer occurs"));

    // A broken baseline stops the run.
    write(
        dir.path(),
        "bad.json",
        "{\"palisade_baseline\": 1,\n \"findings\": 3}",
    );
    let out = run_in(dir.path(), &["scan", "m.yaml", "--baseline", "bad.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.json:2:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sarif_carries_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", MANIFESTS);
    write(
        dir.path(),
        ".palisade.yaml",
        "select: [privileged]\nexceptions:\n  - {checks: privileged, namespace: shop, reason: accepted}\n",
    );
    let out = run_in(dir.path(), &["scan", "m.yaml", "--format", "sarif"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let suppressed: Vec<_> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "accepted"
    );
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");
}

const SHOP_WEB: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

const SHOP_WORKER: &str = "apiVersion: batch/v1
kind: CronJob
metadata: {name: worker, namespace: shop}
spec:
  schedule: '@hourly'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: worker
            image: busybox:1.36
";

const BLOG: &str = "apiVersion: v1
kind: Namespace
metadata: {name: blog}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: blog, namespace: blog}
spec:
  selector: {matchLabels: {app: blog}}
  template:
    metadata: {labels: {app: blog}}
    spec:
      containers:
      - name: blog
        image: ghost:5
";

const INTRUDER: &str = "apiVersion: v1
kind: Pod
metadata: {name: intruder, namespace: shop}
spec:
  containers:
  - name: shell
    image: alpine:3.20
    securityContext: {privileged: true}
---
";

#[test]
fn namespace_findings_keep_their_baseline_when_another_object_carries_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shop/a-web.yaml", SHOP_WEB);
    write(dir.path(), "shop/b-worker.yaml", SHOP_WORKER);
    write(dir.path(), "blog/app.yaml", BLOG);
    let (code, v, err) = json_in(
        dir.path(),
        &[".", "--no-config", "--write-baseline", "b.json"],
    );
    assert_eq!(code, 0, "writing a baseline accepts everything: {err}");
    let before = checks_of(&v["findings"]);
    // shop has no Namespace object: its namespace findings sit on its first workload.
    let on_web = |v: &Value, check: &str| {
        v["findings"].as_array().unwrap().iter().any(|f| {
            f["check"] == check
                && f["object"]["name"] == "web"
                && f["object"]["namespace"] == "shop"
        })
    };
    assert!(
        on_web(&v, "netpol-missing-default-deny-ingress"),
        "{before:?}"
    );

    // A privileged pod is inserted at the top of shop's first file: it becomes the
    // namespace's first workload and carries the namespace findings from now on.
    write(
        dir.path(),
        "shop/a-web.yaml",
        &format!("{INTRUDER}{SHOP_WEB}"),
    );
    let (code, v, err) = json_in(dir.path(), &[".", "--no-config", "--baseline", "b.json"]);
    assert_eq!(code, 1, "{err}");
    let new = v["findings"].as_array().unwrap();
    assert!(!new.is_empty());
    for f in new {
        assert_eq!(
            f["object"]["name"], "intruder",
            "only the pod's findings are new: {f:#}"
        );
        assert!(
            !f["check"]
                .as_str()
                .unwrap()
                .starts_with("netpol-missing-default-deny"),
            "a namespace finding is not new because another object carries it: {f:#}"
        );
    }
    assert!(checks_of(&v["findings"]).contains(&"privileged".to_owned()));
    assert!(
        v["notices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["kind"] != "stale-baseline"),
        "every baseline entry still matches: {:#}",
        v["notices"]
    );
    // The namespace finding did move to the pod, with the same fingerprint.
    let moved = v["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["check"] == "netpol-missing-default-deny-ingress"
                && s["object"]["namespace"] == "shop"
        })
        .expect("the shop default-deny finding is suppressed by the baseline");
    assert_eq!(moved["object"]["name"], "intruder");
}
