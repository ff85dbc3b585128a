//! `palisade node` on the bundled worker tree (`examples/node/kubeadm-worker`): a kubelet
//! whose `--config` is not kubeadm's default path (a stale file sits there), a drop-in
//! and a flag overriding the file, and files with loose modes and a wrong owner.

mod common;

use common::{root, run_in};
use serde_json::Value;

const WORKER: &str = "examples/node/kubeadm-worker";

fn json_report(args: &[&str]) -> (i32, Value) {
    let out = run_in(&root(), args);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

/// `check file:line` of every finding.
fn findings(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                f["check"].as_str().unwrap(),
                f["location"]["file"].as_str().unwrap(),
                f["location"]["line"]
            )
        })
        .collect()
}

#[test]
fn the_worker_gives_the_kubelets_true_answers() {
    let (code, v) = json_report(&["node", "--root", WORKER, "-f", "json"]);
    assert_eq!(code, 1, "high findings fail the run");
    let found = findings(&v);
    assert_eq!(
        found,
        [
            "node-kubelet-kubeconfig-permissions /etc/kubernetes/kubelet.conf:0",
            "node-kubelet-config-owner /etc/kubernetes/kubelet.conf.d/50-debugging.conf:0",
            "node-kubelet-config-permissions /etc/kubernetes/kubelet.conf.d/50-debugging.conf:0",
            "kubelet-streaming-timeout-disabled /etc/kubernetes/kubelet.conf.d/50-debugging.conf:4",
            "kubelet-kernel-defaults-not-protected /etc/kubernetes/kubelet/kubelet-config.yaml:0",
            "node-kubelet-client-ca-permissions /etc/kubernetes/pki/ca.crt:0",
            "kubelet-read-only-port-enabled /proc/812/cmdline:1",
            "kubelet-hostname-override-set /proc/812/cmdline:1",
            "node-kubelet-service-permissions /usr/lib/systemd/system/kubelet.service:0",
            "node-kubelet-service-permissions /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf:0",
        ],
        "{v:#}"
    );
    // The stale /var/lib/kubelet/config.yaml (anonymous on, AlwaysAllow) is not what the
    // kubelet reads, and is judged by nothing.
    assert!(!found
        .iter()
        .any(|f| f.contains("anonymous") || f.contains("always-allow")));
    assert!(!found.iter().any(|f| f.contains("/var/lib/kubelet")));
    assert_eq!(v["summary"]["not_applicable"], 24);
}

#[test]
fn a_capture_judged_elsewhere_gives_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("worker-1.json");
    let capture = capture.to_str().unwrap();
    let out = run_in(
        &root(),
        &["node", "--root", WORKER, "--collect", "-o", capture],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(capture).unwrap();
    assert!(
        text.contains("\"/proc/812/cmdline\"") || text.contains("\"pid\": 812"),
        "{text}"
    );
    let (_, direct) = json_report(&["node", "--root", WORKER, "-f", "json"]);
    let (code, replayed) = json_report(&["node", "--from", capture, "-f", "json"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&direct), findings(&replayed));
    assert_eq!(direct["not_applicable"], replayed["not_applicable"]);
}

#[test]
fn show_config_gives_every_value_and_its_source() {
    let out = run_in(&root(), &["node", "--root", WORKER, "--show-config"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |field: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(field))
            .unwrap_or_else(|| panic!("no {field} in {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("authentication.anonymous.enabled"),
        "authentication.anonymous.enabled false /etc/kubernetes/kubelet/kubelet-config.yaml:6"
    );
    assert_eq!(
        line("readOnlyPort"),
        "readOnlyPort 10255 flag --read-only-port=10255 (/proc/812/cmdline)"
    );
    assert_eq!(
        line("streamingConnectionIdleTimeout"),
        "streamingConnectionIdleTimeout \"0s\" drop-in /etc/kubernetes/kubelet.conf.d/50-debugging.conf:4"
    );
    assert_eq!(
        line("makeIPTablesUtilChains"),
        "makeIPTablesUtilChains true the KubeletConfiguration default"
    );
    let (_, json) = json_report(&["node", "--root", WORKER, "--show-config", "-f", "json"]);
    assert_eq!(json["values"]["readOnlyPort"]["source"]["from"], "flag");
    assert_eq!(
        json["drop_ins"][0],
        "/etc/kubernetes/kubelet.conf.d/50-debugging.conf"
    );
}

#[test]
fn every_format_and_the_sarif_schema() {
    for format in ["table", "sarif", "junit"] {
        let out = run_in(
            &root(),
            &["node", "--root", WORKER, "-f", format, "--color", "never"],
        );
        assert_eq!(out.status.code(), Some(1), "{format}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("kubelet-read-only-port-enabled"),
            "{format}: {text}"
        );
    }
    let junit = run_in(&root(), &["node", "--root", WORKER, "-f", "junit"]);
    let junit = String::from_utf8_lossy(&junit.stdout);
    assert!(junit.contains("<skipped message="), "{junit}");
    // A file's suite lists only the checks that judge it.
    assert!(
        !junit.contains(r#"testcase name="kubelet-anonymous-auth-enabled File "#),
        "{junit}"
    );
    let schema = root().join("../shared/schemas/sarif-2.1.0.json");
    let Ok(schema) = std::fs::read_to_string(&schema) else {
        eprintln!(
            "skipped: SARIF schema validation ({} not found)",
            schema.display()
        );
        return;
    };
    let schema: Value = serde_json::from_str(&schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let out = run_in(&root(), &["node", "--root", WORKER, "-f", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn selection_and_fail_on() {
    let (code, v) = json_report(&[
        "node",
        "--root",
        WORKER,
        "-f",
        "json",
        "--select",
        "kubelet-hostname-override-set,kubelet-anonymous-auth-enabled",
    ]);
    assert_eq!(
        code, 0,
        "a low finding does not fail at the default --fail-on high"
    );
    assert_eq!(
        findings(&v),
        ["kubelet-hostname-override-set /proc/812/cmdline:1"]
    );
    let out = run_in(
        &root(),
        &[
            "node",
            "--root",
            WORKER,
            "--select",
            "kubelet-hostname-override-set",
            "--fail-on",
            "low",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_input_is_said_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("capture.json");
    std::fs::write(&garbage, "{not json").unwrap();
    for (args, says) in [
        (vec!["node", "--root", "/no/such/dir"], "not a directory"),
        (
            vec!["node", "--from", garbage.to_str().unwrap()],
            "is not a capture",
        ),
        (
            vec!["node", "--root", WORKER, "--select", "bogus"],
            "unknown node or control-plane check \"bogus\"",
        ),
        (vec!["node", "--collect"], "--output"),
    ] {
        let out = run_in(&root(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // A broken drop-in is named with its line; the rest is still judged.
    let tree = dir.path().join("tree");
    for (path, text) in [
        (
            "proc/9/cmdline",
            "kubelet\n--config=/etc/k/config.yaml\n--config-dir=/etc/k/d\n",
        ),
        (
            "etc/k/config.yaml",
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 0\n",
        ),
        ("etc/k/d/10-bad.conf", "readOnlyPort: [\n"),
    ] {
        let p = tree.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let out = run_in(
        &root(),
        &["node", "--root", tree.to_str().unwrap(), "-f", "json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/etc/k/d/10-bad.conf:"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        findings(&v).iter().any(|f| f.starts_with("kubelet-")),
        "{v:#}"
    );
}

#[test]
fn checks_explain_names_the_cis_item_and_kube_bench() {
    let out = run_in(
        &root(),
        &["checks", "explain", "kubelet-anonymous-auth-enabled"],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("4.2.1"), "{text}");
    assert!(text.contains("kube-bench"), "{text}");
}

#[test]
fn the_shipped_job_runs_as_written() {
    let text = std::fs::read_to_string(root().join("deploy/node/job.yaml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let pod = &docs[0]["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"].as_bool(), Some(true));
    let container = &pod["containers"][0];
    let mount = &container["volumeMounts"][0];
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let host = mount["mountPath"].as_str().unwrap();
    // The job's arguments, with the host's root replaced by the bundled worker tree.
    let args: Vec<String> = container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().replace(host, WORKER))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, v) = json_report(&args);
    assert_eq!(code, 0, "--fail-on none: the job succeeds with findings");
    assert!(!findings(&v).is_empty());
}

/// A control-plane node: the API server from a static pod manifest, the scheduler as a
/// plain process. Both get the control-plane flag checks, at the manifest's lines and
/// at the command line's arguments.
#[test]
fn control_plane_components_are_judged_where_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path();
    let write = |path: &str, text: &str| {
        let p = tree.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "proc/40/cmdline",
        "/usr/bin/kubelet\n--config=/var/lib/kubelet/config.yaml\n",
    );
    write(
        "var/lib/kubelet/config.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /etc/kubernetes/manifests\nreadOnlyPort: 0\n",
    );
    write(
        "etc/kubernetes/manifests/kube-apiserver.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.31.0\n    command:\n    - kube-apiserver\n    - --anonymous-auth=true\n",
    );
    write(
        "proc/77/cmdline",
        "/usr/local/bin/kube-scheduler\n--kubeconfig=/etc/kubernetes/scheduler.conf\n--profiling=true\n",
    );
    let root_arg = tree.to_str().unwrap();
    let (_, v) = json_report(&[
        "node",
        "--root",
        root_arg,
        "-f",
        "json",
        "--fail-on",
        "none",
        "--select",
        "control-plane",
    ]);
    let locate = |id: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == id)
            .map(|f| {
                format!(
                    "{}:{}:{}",
                    f["location"]["file"].as_str().unwrap(),
                    f["location"]["line"],
                    f["location"]["column"]
                )
            })
            .collect()
    };
    assert_eq!(
        locate("apiserver-anonymous-auth"),
        ["/etc/kubernetes/manifests/kube-apiserver.yaml:12:7"],
        "{v:#}"
    );
    // --profiling=true is the scheduler's argument 2.
    assert_eq!(
        locate("scheduler-profiling-enabled"),
        ["/proc/77/cmdline:1:2"],
        "{v:#}"
    );
    // No node checks were selected.
    assert!(!findings(&v)
        .iter()
        .any(|f| f.starts_with("kubelet-") || f.starts_with("node-")));
}

#[test]
fn the_node_scores_cis_sections_1_1_and_4() {
    let (_, v) = json_report(&["node", "--root", WORKER, "--framework", "cis", "-f", "json"]);
    let cis = &v["compliance"][0];
    let control = |id: &str| {
        cis["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    // A worker has no API server manifest: 1.1.1 does not apply, and says why.
    assert_eq!(control("1.1.1")["status"], "not-applicable");
    assert!(control("1.1.1")["reason"]
        .as_str()
        .unwrap()
        .contains("node-"));
    // The kubelet's true answers decide section 4.2.
    assert_eq!(control("4.2.1")["status"], "passed");
    assert_eq!(control("4.1.1")["status"], "failed");
    assert_eq!(
        control("4.1.1")["failing_checks"],
        serde_json::json!(["node-kubelet-service-permissions"])
    );
    // Nothing of section 5 is judged on a node.
    assert_eq!(control("5.2.2")["status"], "not-evaluated");
}
