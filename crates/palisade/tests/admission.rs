//! `palisade admission`: offline reviews, certificates, and the server binary end to end
//! (HTTPS on loopback, with the certificates `admission certs` wrote).

mod common;

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{https, post, root, run_in, serve, tls_client};
use serde_json::Value;

#[test]
fn review_judges_manifests_as_creates_in_file_order() {
    let out = run_in(
        &root(),
        &["admission", "review", "--no-config", "examples/insecure"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a denial exits 1: {stdout}");
    assert!(
        stdout.contains("DENIED Rollout shop/checkout (enforce mode)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ALLOWED ConfigMap shop/web-config (enforce mode)"),
        "{stdout}"
    );
    // Credentials are never in an answer.
    assert!(!stdout.contains("hunter2") && stdout.contains("value redacted"));

    let out = run_in(
        &root(),
        &["admission", "review", "--no-config", "examples/hardened"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("DENIED"), "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

#[test]
fn review_prints_the_webhooks_json_and_reads_reviews() {
    let dir = tempfile::tempdir().unwrap();
    let review = std::fs::read(root().join("fuzz/seeds/admission_review/pod-create.json")).unwrap();
    std::fs::write(dir.path().join("review.json"), &review).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "admission",
            "review",
            "--no-config",
            "--json",
            "review.json",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(
        answer["response"]["uid"],
        "2b7f0c3e-1d4a-4f5b-8c6d-7e8f9a0b1c2d"
    );
    assert_eq!(answer["response"]["allowed"], false);
    assert!(
        !stdout.contains("wJalrXUtnFEMI"),
        "the seed's AWS key is never echoed"
    );
}

#[test]
fn review_refuses_a_broken_input_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "kind: Pod\nspec: [\n").unwrap();
    let out = run_in(
        dir.path(),
        &["admission", "review", "--no-config", "bad.yaml"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml"), "{stderr}");
}

#[test]
fn namespace_labels_come_from_the_cluster_before_ready() {
    use palisade_replay::{Auth, Options, Recordings, ReplayServer};
    let cluster = ReplayServer::start(
        Recordings::load(&root().join("testdata/apiserver")).unwrap(),
        Options::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kubeconfig"),
        cluster.kubeconfig(&Auth::ClientCertificate),
    )
    .unwrap();
    assert!(run_in(dir.path(), &["admission", "certs", "--out", "pki"])
        .status
        .success());
    let (mut child, addr, _log) = serve(
        dir.path(),
        &["--namespace-refresh", "1", "--kubeconfig", "kubeconfig"],
    );
    let config = tls_client(&std::fs::read(dir.path().join("pki/ca.crt")).unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let ready = https(
            &addr,
            &config,
            "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if ready.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A pod that runs as root: denied where the namespace enforces restricted, allowed
    // where it enforces baseline (labels only the cluster knows).
    let review = |ns: &str| {
        let mut v: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("fuzz/seeds/admission_review/pod-create.json"))
                .unwrap(),
        )
        .unwrap();
        v["request"]["namespace"] = ns.into();
        v["request"]["object"] = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": ns},
            "spec": {"containers": [{"name": "app",
                "image": "registry.example.com/app@sha256:4b6f0b4bd0e5e3b0d7b5e0c4f7c1e4f1f0f5e5c0d4b3a2f1e0d9c8b7a6f5e4d3",
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}
        });
        v.to_string()
    };
    let restricted = post(&addr, &config, &review("psa-restricted"));
    assert!(restricted.contains(r#""allowed":false"#), "{restricted}");
    // The Pod Security check, not the hardening one that names the same field.
    assert!(restricted.contains("] runAsNonRoot:"), "{restricted}");
    let baseline = post(&addr, &config, &review("psa-baseline"));
    assert!(baseline.contains(r#""allowed":true"#), "{baseline}");
    assert!(!baseline.contains("] runAsNonRoot:"), "{baseline}");
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn certs_then_serve_answers_over_https_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["admission", "certs", "--out", "pki", "--days", "2"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pki = dir.path().join("pki");
    let mode = std::fs::metadata(pki.join("tls.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key is its owner's only");

    let (mut child, addr, mut log) = serve(dir.path(), &[]);

    let config = tls_client(&std::fs::read(pki.join("ca.crt")).unwrap());
    let health = https(
        &addr,
        &config,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let body = std::fs::read_to_string(root().join("fuzz/seeds/admission_review/pod-create.json"))
        .unwrap();
    let answer = post(&addr, &config, &body);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""allowed":false"#), "{answer}");

    // The review is logged with its uid, as one JSON object.
    let mut line = String::new();
    let mut logged = None;
    while log.read_line(&mut line).unwrap() > 0 {
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v["message"] == "review" {
                logged = Some(v);
                break;
            }
        }
        line.clear();
    }
    let logged = logged.expect("a review log line");
    assert_eq!(logged["uid"], "2b7f0c3e-1d4a-4f5b-8c6d-7e8f9a0b1c2d");
    assert_eq!(logged["allowed"], false);

    // SIGTERM: the server finishes and exits cleanly.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn export_vap_writes_the_same_policies_as_yaml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".palisade.yaml"),
        "pss: baseline\nadmission:\n  deny-severity: critical\n  exempt-namespaces: [kube-system]\n",
    )
    .unwrap();
    let export = |extra: &[&str]| {
        let mut args = vec!["admission", "export-vap", "--name-prefix", "acme"];
        args.extend_from_slice(extra);
        run_in(dir.path(), &args)
    };
    let out = export(&["-o", "vap.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("policies"), "{stderr}");
    assert!(stderr.contains("not exported"), "{stderr}");
    let out = export(&["-f", "json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = list["items"].as_array().unwrap();

    // The YAML, read back, is the JSON item for item.
    let text = std::fs::read_to_string(dir.path().join("vap.yaml")).unwrap();
    let docs: Vec<Value> = palisade_source::split_documents(&text)
        .iter()
        .filter_map(|c| {
            let d = palisade_source::parse_document(
                &text[c.range.clone()],
                c,
                &palisade_source::Limits::default(),
            )
            .unwrap();
            d.root().map(|r| r.to_json())
        })
        .collect();
    assert_eq!(&docs, items);

    // The config applies: baseline checks only, critical denies, kube-system exempt.
    let deny = items
        .iter()
        .find(|o| o["metadata"]["name"] == "acme-deny")
        .unwrap();
    let checks = deny["metadata"]["annotations"]["palisade.dev/checks"]
        .as_str()
        .unwrap();
    assert_eq!(checks, "privileged,windowsHostProcess", "{checks}");
    let warn = items
        .iter()
        .find(|o| o["metadata"]["name"] == "acme-warn")
        .unwrap();
    let checks = warn["metadata"]["annotations"]["palisade.dev/checks"]
        .as_str()
        .unwrap();
    assert!(
        checks.contains("hostPathVolumes") && !checks.contains("runAsNonRoot"),
        "{checks}"
    );
    assert!(deny["spec"]["matchConditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["expression"].as_str().unwrap().contains("'kube-system'")));
}

/// The `image-signatures` Component renders (kubectl's kustomize) into a Deployment
/// whose arguments the webhook accepts and whose volumes name the policy ConfigMap.
#[test]
fn the_image_signatures_component_renders_arguments_the_webhook_accepts() {
    if std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!("SKIPPED: kubectl is not on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = palisade_signature::testing::SigningKey::generate();
    std::fs::write(d.join("cosign.pub"), key.public_pem()).unwrap();
    std::fs::write(
        d.join("policy.yaml"),
        "rules:\n  - images: ['ghcr.io/acme/**']\n    signers: [{key: cosign.pub}]\n",
    )
    .unwrap();
    // kustomize takes only relative paths to a base.
    let from = d.canonicalize().unwrap();
    let to = root().join("deploy/admission").canonicalize().unwrap();
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut base = std::path::PathBuf::new();
    for _ in from.components().skip(common) {
        base.push("..");
    }
    base.extend(to.components().skip(common));
    std::fs::write(
        d.join("kustomization.yaml"),
        format!(
            "resources: [{base}]\ncomponents: [{base}/image-signatures]\nconfigMapGenerator:\n  - name: palisade-image-policy\n    namespace: palisade-system\n    files: [policy.yaml, cosign.pub]\n",
            base = base.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new("kubectl")
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<yaml_rust2::Yaml> = yaml_rust2::YamlLoader::load_from_str(&rendered).unwrap();
    let deployment = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Deployment"))
        .unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let args: Vec<&str> = pod["containers"][0]["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.contains(&"--image-policy=/etc/palisade/image-policy/policy.yaml"),
        "{args:?}"
    );
    // The generated ConfigMap's hashed name is the one the volume names.
    let configmap = docs
        .iter()
        .find(|d| {
            d["kind"].as_str() == Some("ConfigMap")
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("palisade-image-policy"))
        })
        .unwrap();
    let volumes = pod["volumes"].as_vec().unwrap();
    assert!(volumes
        .iter()
        .any(|v| v["configMap"]["name"].as_str() == configmap["metadata"]["name"].as_str()));
    // The webhook's own parser accepts every argument.
    let mut check: Vec<&str> = args.clone();
    check.push("--help");
    let out = run_in(d, &check);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And an unknown one would have been refused, so the check above means something.
    let mut wrong: Vec<&str> = args.clone();
    wrong.extend(["--no-such-flag", "--help"]);
    assert!(!run_in(d, &wrong).status.success());
}
