//! `palisade scan` end to end: the real binary on real files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn palisade(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.args(args).current_dir(root());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "palisade panicked: {stderr}");
    out
}

fn json(args: &[&str], stdin: Option<&[u8]>) -> (i32, Value) {
    let mut all = vec!["scan", "--format", "json"];
    all.extend_from_slice(args);
    let out = palisade(&all, stdin);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), v)
}

fn findings<'a>(v: &'a Value, check: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

fn line_of(file: &Path, needle: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: NS
spec:
  containers:
  - name: app
    image: nginx
    securityContext:
      privileged: true
";

#[test]
fn insecure_example_fails_at_the_exact_line() {
    let (code, v) = json(&["examples/insecure"], None);
    assert_eq!(code, 1);
    let file = root().join("examples/insecure/web-deployment.yaml");
    let privileged = findings(&v, "privileged");
    assert_eq!(privileged.len(), 1, "{privileged:?}");
    let f = privileged[0];
    assert_eq!(
        f["location"]["file"],
        "examples/insecure/web-deployment.yaml"
    );
    assert_eq!(f["location"]["line"], line_of(&file, "privileged: true"));
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["object"]["kind"], "Deployment");
    assert!(f["path"]
        .as_str()
        .unwrap()
        .ends_with("securityContext.privileged"));
    // The custom resource's pod template is checked too.
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["object"]["kind"] == "Rollout"));
}

#[test]
fn hardened_example_is_clean() {
    let (code, v) = json(&["examples/hardened"], None);
    assert_eq!(v["summary"]["findings"], 0, "{:#}", v["findings"]);
    assert_eq!(v["summary"]["errors"], 0);
    assert!(v["summary"]["objects"].as_u64().unwrap() >= 5);
    assert_eq!(code, 0);
}

/// The control-plane checks on kubeadm's v1.30 static pod manifests: the CIS items a
/// default kubeadm cluster fails, each at the command (a missing flag) or the flag's
/// element, in its file and at its line.
#[test]
fn control_plane_example_fails_the_kubeadm_defaults() {
    let (code, v) = json(
        &["examples/control-plane", "--select", "control-plane"],
        None,
    );
    assert_eq!(
        code, 0,
        "only medium and low findings: under --fail-on high"
    );
    let dir = root().join("examples/control-plane");
    let mut got: Vec<(String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                f["location"]["file"].as_str().unwrap().to_owned(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let at = |file: &str, needle: &str| {
        (
            format!("examples/control-plane/{file}"),
            line_of(&dir.join(file), needle),
        )
    };
    let api = "kube-apiserver.yaml";
    let command = at(api, "- command:");
    let plugins = at(api, "--enable-admission-plugins=NodeRestriction");
    let mut want: Vec<(String, String, u64)> = [
        ("apiserver-always-pull-images-missing", plugins.clone()),
        ("apiserver-anonymous-auth", command.clone()),
        ("apiserver-audit-log-missing", command.clone()),
        (
            "apiserver-deny-service-external-ips-missing",
            plugins.clone(),
        ),
        ("apiserver-encryption-config-missing", command.clone()),
        ("apiserver-event-rate-limit-missing", plugins),
        ("apiserver-kubelet-ca-missing", command.clone()),
        ("apiserver-profiling-enabled", command),
        (
            "controller-manager-profiling-enabled",
            at("kube-controller-manager.yaml", "- command:"),
        ),
        (
            "controller-manager-terminated-pod-gc-threshold-missing",
            at("kube-controller-manager.yaml", "- command:"),
        ),
        (
            "scheduler-profiling-enabled",
            at("kube-scheduler.yaml", "- command:"),
        ),
    ]
    .into_iter()
    .map(|(id, (file, line))| (id.to_owned(), file, line))
    .collect();
    want.sort();
    assert_eq!(got, want);
    let f = findings(&v, "apiserver-profiling-enabled")[0];
    assert_eq!(f["path"], "spec.containers[0].command");
    assert_eq!(f["category"], "control-plane");
    assert_eq!(f["object"]["name"], "kube-apiserver");
    assert!(f["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["framework"] == "cis" && m["id"] == "1.2.15"));
}

/// etcd trusting the API server's client CA needs both pods: reported at etcd's flag
/// when both are scanned together, and not when etcd is scanned alone.
#[test]
fn etcd_sharing_the_apiserver_ca_is_found_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let examples = root().join("examples/control-plane");
    let apiserver = std::fs::read_to_string(examples.join("kube-apiserver.yaml")).unwrap();
    let etcd = std::fs::read_to_string(examples.join("etcd.yaml"))
        .unwrap()
        .replace(
            "- --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
            "- --trusted-ca-file=/etc/kubernetes/pki/ca.crt",
        );
    write(dir.path(), "kube-apiserver.yaml", &apiserver);
    let etcd_file = write(dir.path(), "etcd.yaml", &etcd);
    let id = "etcd-ca-shared-with-apiserver";
    let (_, v) = json(&[dir.path().to_str().unwrap(), "--select", id], None);
    let hits = findings(&v, id);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0]["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("etcd.yaml"));
    assert_eq!(
        hits[0]["location"]["line"],
        line_of(&etcd_file, "--trusted-ca-file=")
    );
    assert!(hits[0]["message"]
        .as_str()
        .unwrap()
        .contains("Pod kube-system/kube-apiserver ("));
    let (_, v) = json(&[etcd_file.to_str().unwrap(), "--select", id], None);
    assert!(findings(&v, id).is_empty());
}

#[test]
fn broken_documents_are_reported_and_neighbours_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}---\nkind: Pod\nspec: [unclosed\n---\n{}",
        POD.replace("NS", "a"),
        POD.replace("NS", "b")
    );
    write(dir.path(), "multi.yaml", &text);
    let (code, v) = json(&[dir.path().to_str().unwrap()], None);
    assert_eq!(code, 2);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["document"], 1);
    assert!(errors[0]["line"].as_u64().unwrap() >= 14, "{errors:?}");
    assert!(errors[0]["file"].as_str().unwrap().ends_with("multi.yaml"));
    let namespaces: Vec<_> = findings(&v, "privileged")
        .iter()
        .map(|f| f["object"]["namespace"].clone())
        .collect();
    assert_eq!(namespaces, ["a", "b"]);
    assert_eq!(findings(&v, "privileged")[1]["location"]["document"], 2);
}

#[test]
fn stdin_and_lists() {
    let list = r#"{"apiVersion": "v1", "kind": "PodList", "items": [
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "x"}]}},
      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}
    ]}"#;
    let (code, v) = json(&["-", "--pss", "baseline"], Some(list.as_bytes()));
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["objects"], 2);
    let f = findings(&v, "hostNamespaces");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["location"]["file"], "<stdin>");
    assert_eq!(f[0]["location"]["line"], 2);
    assert_eq!(f[0]["path"], "items[0].spec.hostNetwork");
}

#[test]
fn namespace_labels_set_the_level_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: legacy\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/enforce-version: v1.22\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: infra\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n";
    // Workloads come first, in another file: the namespace pass must still apply.
    write(
        dir.path(),
        "a-pods.yaml",
        &[
            POD.replace("NS", "legacy"),
            POD.replace("NS", "infra"),
            POD.replace("NS", "other"),
        ]
        .join("---\n"),
    );
    write(dir.path(), "b-ns.yaml", ns);
    let (_, v) = json(
        &[dir.path().to_str().unwrap(), "--select", "pod-security"],
        None,
    );
    let by_ns = |ns: &str| -> Vec<(String, String)> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["object"]["namespace"] == ns)
            .map(|f| {
                (
                    f["check"].as_str().unwrap().to_owned(),
                    f["pss"]["version"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        by_ns("legacy"),
        [("privileged".to_owned(), "v1.22".to_owned())]
    );
    assert!(by_ns("infra").is_empty());
    let other = by_ns("other");
    assert!(
        other.len() > 1 && other.iter().all(|(_, ver)| ver == "v1.37"),
        "{other:?}"
    );
    // --pss does not override what a namespace enforces; it sets the rest.
    let (_, v2) = json(
        &[
            dir.path().to_str().unwrap(),
            "--pss",
            "baseline:v1.0",
            "--select",
            "pod-security",
        ],
        None,
    );
    let other: Vec<_> = v2["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["object"]["namespace"] == "other")
        .collect();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0]["pss"]["version"], "v1.0");
}

#[test]
fn kustomize_directories_are_rendered() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: kubectl is not on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("app");
    std::fs::create_dir(&k).unwrap();
    write(&k, "pod.yaml", &POD.replace("  namespace: NS\n", ""));
    write(
        &k,
        "kustomization.yaml",
        "namespace: kustomized\nresources:\n- pod.yaml\n",
    );
    let (code, v) = json(&[dir.path().to_str().unwrap()], None);
    assert_eq!(code, 1, "{v:#}");
    let f = findings(&v, "privileged");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["object"]["namespace"], "kustomized");
    assert!(f[0]["location"]["file"].as_str().unwrap().ends_with("app"));
}

#[test]
fn helm_chart_without_helm_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("mychart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    write(
        &chart,
        "Chart.yaml",
        "apiVersion: v2\nname: mychart\nversion: 0.1.0\n",
    );
    write(&chart.join("templates"), "pod.yaml", "{{ .Values.nope }}");
    write(dir.path(), "pod.yaml", &POD.replace("NS", "x"));
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--format", "json", dir.path().to_str().unwrap()])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("mychart") && msg.contains("`helm` is not on PATH"),
        "{msg}"
    );
    // The rest is still scanned.
    assert_eq!(findings(&v, "privileged").len(), 1);
}

#[test]
fn helm_charts_are_rendered_with_helm_template() {
    // Helm cannot be installed here: a stand-in `helm` on PATH prints what it was asked
    // to render as a privileged pod, proving the call and that its output is scanned.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let helm = write(&bin, "helm", "#!/bin/sh\nprintf 'apiVersion: v1\\nkind: Pod\\nmetadata:\\n  name: %s-%s\\n  namespace: ns\\nspec:\\n  containers:\\n  - name: c\\n    image: x\\n    securityContext: {privileged: true}\\n' \"$1\" \"${2##*/}\"\n");
    std::fs::set_permissions(&helm, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let chart = dir.path().join("charts/web");
    std::fs::create_dir_all(&chart).unwrap();
    write(
        &chart,
        "Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "scan",
            "--format",
            "json",
            dir.path().join("charts").to_str().unwrap(),
        ])
        .env("PATH", &bin)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"], serde_json::json!([]), "{v:#}");
    let f = findings(&v, "privileged");
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0]["object"]["name"], "template-web",
        "helm was called as `helm template DIR`"
    );
    assert!(f[0]["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("charts/web"));
    assert_eq!(f[0]["location"]["line"], 10);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn fail_on_select_and_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        &POD.replace("privileged: true", "runAsUser: 0")
            .replace("NS", "x"),
    );
    let p = p.to_str().unwrap();
    assert_eq!(
        json(&[p], None).0,
        0,
        "medium findings do not fail at --fail-on high"
    );
    assert_eq!(json(&[p, "--fail-on", "medium"], None).0, 1);
    assert_eq!(json(&[p, "--fail-on", "none"], None).0, 0);
    let (_, v) = json(&[p, "--select", "runAsUser"], None);
    assert_eq!(v["summary"]["findings"], 1);
    let (_, v) = json(&[p, "--ignore", "pod-security"], None);
    let left = v["findings"].as_array().unwrap();
    assert!(!left.is_empty() && left.iter().all(|f| f["category"] != "pod-security"));
    let (_, v) = json(
        &[p, "--select", "pod-security", "--ignore", "pod-security"],
        None,
    );
    assert_eq!(v["summary"]["findings"], 0);
    let out = palisade(&["scan", p, "--select", "no-such-check"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("unknown check or category \"no-such-check\""));
    let out = palisade(&["scan", p, "--pss", "strict"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = palisade(&["scan", p, "--fail-on", "severe"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn output_file_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("report.sarif");
    let out = palisade(
        &[
            "scan",
            "examples/insecure",
            "--format",
            "sarif",
            "--output",
            out_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
    let junit = palisade(&["scan", "examples/insecure", "--format", "junit"], None);
    let junit = String::from_utf8(junit.stdout).unwrap();
    assert!(junit.contains("<testsuites") && junit.contains("<failure"));
    let table = palisade(&["scan", "examples/insecure"], None);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        !table.contains('\x1b'),
        "no colours when stdout is not a terminal"
    );
    assert!(table.lines().all(|l| l.chars().count() <= 80));
}

#[test]
fn fingerprints_survive_line_shifts() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.yaml", &POD.replace("NS", "x"));
    let (_, a) = json(&[p.to_str().unwrap()], None);
    std::fs::write(
        &p,
        format!("# a comment\n# another\n{}", POD.replace("NS", "x")),
    )
    .unwrap();
    let (_, b) = json(&[p.to_str().unwrap()], None);
    let fa = &findings(&a, "privileged")[0];
    let fb = &findings(&b, "privileged")[0];
    assert_eq!(fa["fingerprint"], fb["fingerprint"]);
    assert_eq!(
        fb["location"]["line"].as_u64().unwrap(),
        fa["location"]["line"].as_u64().unwrap() + 2
    );
}

#[test]
fn hostile_inputs_give_errors_or_findings_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "deep.yaml", &format!("a: {}", "[".repeat(50_000)));
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, prev) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
        let name = ["b", "c", "d", "e", "f", "g", "h", "i"][i];
        bomb.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    write(d, "bomb.yaml", &bomb);
    write(
        d,
        "huge.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n  x: \"{}\"\n",
            "A".repeat(20_000_000)
        ),
    );
    std::fs::write(
        d.join("utf8.yaml"),
        [POD.replace("NS", "utf").as_bytes(), b"# \xff\xfe\n"].concat(),
    )
    .unwrap();
    write(
        d,
        "dup.yaml",
        &POD.replace("NS", "dup").replace(
            "      privileged: true\n",
            "      privileged: false\n      privileged: true\n",
        ),
    );
    // saphyr refuses it (entries at column 1 of a flow sequence), and libyaml-safer,
    // asked next, panics on the tag before `,`: an error, and the rest is scanned.
    write(
        d,
        "tag.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t}\ndata: [\n!!str,\n]\n",
    );
    write(d, "scalar.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: s}\nspec:\n  template:\n    spec: 'not a pod spec'\n");
    write(d, "kind0.json", "{\"kind\":0}");
    write(
        d,
        "unknown.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n",
    );
    let (code, v) = json(&[d.to_str().unwrap(), "--pss", "baseline"], None);
    assert_eq!(code, 2);
    let errors = v["errors"].as_array().unwrap();
    let err_for = |file: &str| {
        errors
            .iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("no error for {file}: {errors:#?}"))["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(err_for("deep.yaml").contains("nesting deeper than 200 levels"));
    assert!(err_for("bomb.yaml").contains("alias bomb"));
    assert!(!err_for("tag.yaml").is_empty());
    assert!(err_for("utf8.yaml").contains("invalid UTF-8"));
    let dup = findings(&v, "duplicate-key");
    assert_eq!(dup.len(), 1, "{dup:?}");
    assert_eq!(dup[0]["location"]["line"], 12);
    assert_eq!(
        dup[0]["path"],
        "spec.containers[0].securityContext.privileged"
    );
    assert!(err_for("kind0.json").contains("`kind` must be a string"));
    assert!(!errors
        .iter()
        .any(|e| e["file"].as_str().unwrap().ends_with("unknown.yaml")));
    assert!(!errors
        .iter()
        .any(|e| e["file"].as_str().unwrap().ends_with("huge.yaml")));
    // The files with errors still yield their findings: the UTF-8 pod and the
    // duplicate-key pod (last value wins, as the API server decodes it).
    let ns: Vec<_> = findings(&v, "privileged")
        .iter()
        .map(|f| f["object"]["namespace"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ns, ["dup", "utf"]);
}

#[test]
fn missing_paths_are_errors() {
    let out = palisade(
        &[
            "scan",
            "--format",
            "json",
            "does/not/exist.yaml",
            "examples/hardened",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cannot read"));
    assert!(v["summary"]["objects"].as_u64().unwrap() > 0);
}

#[test]
fn checks_list_and_explain() {
    let list = palisade(&["checks", "list"], None);
    let list = String::from_utf8(list.stdout).unwrap();
    for id in [
        "privileged",
        "seccompProfile_restricted",
        "hostProbesAndHostLifecycle",
        "procMount_restricted",
    ] {
        assert!(
            list.lines().any(|l| l.starts_with(id)),
            "{id} missing from:\n{list}"
        );
    }
    let explain = palisade(&["checks", "explain", "privileged"], None);
    assert_eq!(explain.status.code(), Some(0));
    let text = String::from_utf8(explain.stdout).unwrap();
    for part in [
        "## Why it matters",
        "## How to fix it",
        "CIS Kubernetes Benchmark 5.2.2",
        "checkov `CKV_K8S_16`",
    ] {
        assert!(text.contains(part), "{part} missing from:\n{text}");
    }
    assert_eq!(
        palisade(&["checks", "explain", "nope"], None).status.code(),
        Some(2)
    );
    let json_list = palisade(&["checks", "list", "--format", "json"], None);
    let v: Value = serde_json::from_slice(&json_list.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), list.lines().count() - 1);
    let privileged = list.lines().find(|l| l.starts_with("privileged ")).unwrap();
    assert!(
        privileged.contains("CIS 5.2.2") && privileged.contains("MITRE T1611"),
        "{privileged}"
    );
}

#[test]
fn credentials_never_reach_any_output() {
    // Values committed in examples/insecure; every format must leave them out.
    let secrets = [
        "Sh0p-Db-Pa55w0rd-2024",
        "pay-7f3c9a1e5b2d48c6a0e9f1d2b3c4a5e6",
    ];
    let text =
        std::fs::read_to_string(root().join("examples/insecure/checkout-rollout.yaml")).unwrap();
    assert!(
        secrets.iter().all(|s| text.contains(s)),
        "the example still holds them"
    );
    let (_, v) = json(&["examples/insecure"], None);
    for check in ["env-credentials", "secret-in-manifest"] {
        assert!(
            !findings(&v, check).is_empty(),
            "{check} fires on the example"
        );
    }
    for format in ["table", "json", "sarif", "junit"] {
        let out = palisade(
            &[
                "scan",
                "examples/insecure",
                "--format",
                format,
                "--color",
                "always",
            ],
            None,
        );
        let all = [out.stdout, out.stderr].concat();
        let all = String::from_utf8_lossy(&all);
        for s in secrets {
            assert!(!all.contains(s), "{format} output leaks a credential");
        }
    }
}

/// A live cluster's Deployment, ReplicaSet and Pod (as a snapshot holds them): a
/// template's problem is reported once, on the Deployment; what only the Pod has (a
/// sidecar injected at admission) stays on the Pod.
#[test]
fn copies_of_a_controllers_template_report_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let container = "      - name: app\n        image: registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000\n        securityContext: {privileged: true}\n";
    let deployment = format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n  uid: d-1\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n{container}");
    let replicaset = format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-5d\n  namespace: shop\n  uid: r-1\n  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: web, uid: d-1, controller: true}}]\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n{container}");
    let pod = format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-5d-x\n  namespace: shop\n  uid: p-1\n  labels: {{app: web}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d, uid: r-1, controller: true}}]\nspec:\n  containers:\n{}  - name: injected\n    image: registry.example/proxy@sha256:0000000000000000000000000000000000000000000000000000000000000000\n    ports: [{{containerPort: 15000, hostPort: 15000}}]\n", container.replace("      ", "  "));
    let file = write(
        dir.path(),
        "live.yaml",
        &format!("{deployment}---\n{replicaset}---\n{pod}"),
    );
    let (_, v) = json(
        &["--no-config", "--fail-on", "none", file.to_str().unwrap()],
        None,
    );
    let privileged = findings(&v, "privileged");
    assert_eq!(privileged.len(), 1, "{privileged:#?}");
    assert_eq!(privileged[0]["object"]["kind"], "Deployment");
    let host_ports = findings(&v, "hostPorts");
    assert_eq!(host_ports.len(), 1, "only the Pod has it: {host_ports:#?}");
    assert_eq!(host_ports[0]["object"]["kind"], "Pod");

    // Without the controller in the scan (its list forbidden, say), the copy reports all.
    let file = write(dir.path(), "pod-only.yaml", &pod);
    let (_, v) = json(
        &["--no-config", "--fail-on", "none", file.to_str().unwrap()],
        None,
    );
    assert_eq!(findings(&v, "privileged").len(), 1);
    assert_eq!(findings(&v, "privileged")[0]["object"]["kind"], "Pod");
}

/// A pretty-printed JSON `kind: List` of `n` pods, as `kubectl get pods -o json` prints it
/// (items indented, so columns matter), each pod with findings of its own, after a
/// Namespace `ns0` that enforces the baseline Pod Security level.
fn pod_list_json(n: usize) -> String {
    let namespace = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ns0", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}
    });
    let items: Vec<Value> = std::iter::once(namespace)
        .chain((0..n).map(|i| {
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": format!("p{i}"), "namespace": format!("ns{}", i % 3)},
                "spec": {"containers": [{
                    "name": "c",
                    "image": "nginx:latest",
                    "securityContext": {"privileged": i % 2 == 0, "runAsUser": 0},
                    "env": [{"name": "API_TOKEN", "value": "s3cr3t-Value-\u{e9}-9f8e7d6c5b4a"}]
                }]}
            })
        }))
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    serde_json::to_string_pretty(&list).unwrap()
}

#[test]
fn a_large_json_list_checked_item_by_item_reports_what_the_whole_document_reports() {
    let dir = tempfile::tempdir().unwrap();
    // 200 items (over 64 KiB) are read item by item; 63 (below the threshold) as one
    // document. The first 63 items sit at the same lines and columns in both files.
    let big_text = pod_list_json(200);
    assert!(big_text.len() > 64 * 1024);
    let big = write(dir.path(), "big.json", &big_text);
    let small = write(dir.path(), "small.json", &pod_list_json(63));
    let key = |f: &Value| {
        (
            f["check"].as_str().unwrap().to_owned(),
            f["object"]["name"].as_str().unwrap().to_owned(),
            f["path"].as_str().unwrap().to_owned(),
            f["location"]["line"].as_u64().unwrap(),
            f["location"]["column"].as_u64().unwrap(),
            f["message"].as_str().unwrap().to_owned(),
            f["fingerprint"].as_str().unwrap().replace("big.json", ""),
        )
    };
    let (_, a) = json(&[big.to_str().unwrap(), "--no-config"], None);
    let (_, b) = json(&[small.to_str().unwrap(), "--no-config"], None);
    assert_eq!(a["errors"], serde_json::json!([]));
    assert_eq!(a["summary"]["objects"], 201);
    let first_63 = |v: &Value| -> Vec<_> {
        let mut keys: Vec<_> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["object"]["kind"] == "Pod")
            // Namespace findings count the namespace's workloads, which differ.
            .filter(|f| {
                !f["check"]
                    .as_str()
                    .unwrap()
                    .starts_with("netpol-missing-default-deny")
            })
            .filter(|f| {
                let n: usize = f["object"]["name"].as_str().unwrap()[1..].parse().unwrap();
                n < 63
            })
            .map(|f| {
                let mut k = key(f);
                k.6.clear(); // the file name is part of the fingerprint
                k
            })
            .collect();
        keys.sort();
        keys
    };
    let (big_keys, small_keys) = (first_63(&a), first_63(&b));
    assert!(big_keys.len() > 63 * 3, "{}", big_keys.len());
    assert_eq!(big_keys, small_keys);
    // Paths keep the List's `items[N].` prefix, and lines point into the item.
    let privileged = findings(&a, "privileged");
    assert_eq!(privileged.len(), 100);
    // Pods of ns0 are judged at its baseline level (read again item by item): the
    // restricted-only checks stay quiet there and report elsewhere.
    let restricted = findings(&a, "runAsNonRoot");
    assert!(!restricted.is_empty());
    assert!(
        restricted.iter().all(|f| f["object"]["namespace"] != "ns0"),
        "{restricted:#?}"
    );
    assert!(privileged
        .iter()
        .all(|f| f["path"].as_str().unwrap().starts_with("items[")));
}
