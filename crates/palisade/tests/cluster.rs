//! `--cluster` and `palisade snapshot` end to end: the real binary and kube-rs client
//! against a loopback HTTPS server replaying a real API server's responses.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{attributes, debian_image, osv_db, root, run_in};
use palisade_rbac::{load, Model, User};
use palisade_replay::{Auth, Options, Recordings, ReplayServer, RequestInfo};
use serde_json::Value;

/// The recorded API server responses, kept in the repository so every clone runs these tests.
fn recordings_dir() -> PathBuf {
    root().join("testdata/apiserver")
}

struct Cluster {
    server: ReplayServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Cluster {
    fn start(options: Options, auth: &Auth) -> Self {
        let recordings = Recordings::load(&recordings_dir()).expect("recordings");
        let server = ReplayServer::start(recordings, options);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig(auth)).unwrap();
        Self {
            server,
            dir,
            kubeconfig,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--kubeconfig", self.kubeconfig.to_str().unwrap()]);
        run_in(self.dir.path(), &all)
    }
}

/// Findings as comparable keys: check, object, field path (without a List's
/// `items[N].` prefix) and message; locations differ by nature between a file and a
/// live object.
fn finding_keys(json: &[u8]) -> BTreeSet<String> {
    let report: Value = serde_json::from_slice(json).expect("JSON report");
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let o = &f["object"];
            let path = f["path"].as_str().unwrap();
            let path = match path.strip_prefix("items[") {
                Some(rest) => rest
                    .split_once(']')
                    .map_or(path, |(_, p)| p.trim_start_matches('.')),
                None => path,
            };
            format!(
                "{} | {} {}/{} | {} | {}",
                f["check"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
                o["namespace"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap(),
                path,
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

const SCAN_JSON: &[&str] = &["scan", "--no-config", "-f", "json", "--fail-on", "none"];

#[test]
fn live_scan_finds_what_the_offline_snapshot_scan_finds() {
    let cluster = Cluster::start(Options::default(), &Auth::ClientCertificate);
    let mut args = SCAN_JSON.to_vec();
    args.push("--cluster");
    let live = cluster.run(&args);
    assert_eq!(
        live.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let snapshot = recordings_dir().join("snapshot.yaml");
    let mut args = SCAN_JSON.to_vec();
    args.push(snapshot.to_str().unwrap());
    let offline = run_in(&root(), &args);
    let (live_keys, offline_keys) = (finding_keys(&live.stdout), finding_keys(&offline.stdout));
    assert!(offline_keys.len() > 300, "{}", offline_keys.len());
    // Every ReplicaSet here belongs to a Deployment: the template's problems are the
    // Deployment's findings, not repeated on the ReplicaSet.
    assert!(offline_keys
        .iter()
        .any(|k| k.starts_with("image-not-pinned | Deployment")));
    assert!(!offline_keys
        .iter()
        .any(|k| k.starts_with("image-not-pinned | ReplicaSet")));
    // The one difference: the recorded snapshot has no ClusterInfo (no `/version`), so
    // only the live scan can judge the server's version.
    let only_live: Vec<&String> = live_keys.difference(&offline_keys).collect();
    assert_eq!(only_live.len(), 1, "{only_live:#?}");
    assert!(only_live[0].starts_with(
        "cluster-version-unsupported | ClusterInfo /replay | serverVersion.gitVersion"
    ));
    let only_offline: Vec<&String> = offline_keys.difference(&live_keys).collect();
    assert!(only_offline.is_empty(), "{only_offline:#?}");

    let report: Value = serde_json::from_slice(&live.stdout).unwrap();
    // Findings carry the object's identity in place of a file and line.
    let f = &report["findings"][0];
    assert!(
        f["location"]["file"]
            .as_str()
            .unwrap()
            .starts_with("cluster://replay/"),
        "{f}"
    );
    assert_eq!(f["location"]["line"], 0);
    assert_eq!(
        report["not_evaluated"][0]["resource"],
        "metrics.k8s.io/v1beta1"
    );
    assert_eq!(report["summary"]["not_evaluated"], 1);
    assert_eq!(report["summary"]["errors"], 0);
}

#[test]
fn a_snapshot_scans_offline_exactly_as_the_cluster_scans_live() {
    let cluster = Cluster::start(Options::default(), &Auth::ClientCertificate);
    let out = cluster.dir.path().join("snapshot.json");
    let written = cluster.run(&["snapshot", "-o", out.to_str().unwrap()]);
    assert_eq!(
        written.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let stderr = String::from_utf8_lossy(&written.stderr);
    assert!(stderr.contains("wrote 648 objects"), "{stderr}");
    assert!(
        stderr.contains("not evaluated: metrics.k8s.io/v1beta1"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains("ZmFrZS1wYXNzd29yZC0xMjM="),
        "no Secret value is written"
    );
    // A JSON `kind: List` (so kubectl and YAML tools read it too) whose items are one
    // line each.
    let list: Value = serde_json::from_str(&text).expect("the snapshot is JSON");
    assert_eq!(
        (list["apiVersion"].as_str(), list["kind"].as_str()),
        (Some("v1"), Some("List"))
    );
    let items: Vec<Value> = text
        .lines()
        .skip(1)
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l.trim_end_matches(',')).expect("an item is one line"))
        .collect();
    assert_eq!(items.len(), 648);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(648));
    assert!(items
        .iter()
        .all(|i| i["apiVersion"].is_string() && i["kind"].is_string()));
    let secrets: Vec<&Value> = items.iter().filter(|i| i["kind"] == "Secret").collect();
    assert_eq!(secrets.len(), 9);
    assert!(secrets.iter().all(|s| s.get("data").is_none()));

    let mut args = SCAN_JSON.to_vec();
    args.push("--cluster");
    let live = cluster.run(&args);
    let mut args = SCAN_JSON.to_vec();
    args.push(out.to_str().unwrap());
    let offline = run_in(cluster.dir.path(), &args);
    assert_eq!(finding_keys(&live.stdout), finding_keys(&offline.stdout));

    // rbac and netpol read the snapshot as they read the cluster.
    for command in [
        &["rbac", "who-can", "list", "secrets", "-A"][..],
        &["rbac", "escalations"][..],
        &["netpol", "connections"][..],
    ] {
        let mut live_args = command.to_vec();
        live_args.push("--cluster");
        let live = cluster.run(&live_args);
        let mut offline_args = command.to_vec();
        offline_args.push(out.to_str().unwrap());
        let offline = run_in(cluster.dir.path(), &offline_args);
        let live_text = String::from_utf8_lossy(&live.stdout);
        assert!(!live_text.trim().is_empty(), "{command:?}");
        assert_eq!(live.status.code(), offline.status.code(), "{command:?}");
        // File locations differ; what was decided must not.
        let strip = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| {
                    l.split(" (")
                        .next()
                        .unwrap_or(l)
                        .split("  at ")
                        .next()
                        .unwrap_or(l)
                        .to_owned()
                })
                .collect()
        };
        assert_eq!(
            strip(&live_text),
            strip(&String::from_utf8_lossy(&offline.stdout)),
            "{command:?}"
        );
    }
}

#[test]
fn forbidden_resources_are_reported_not_skipped() {
    let cluster = Cluster::start(
        Options {
            forbid: vec!["/api/v1/secrets".to_owned()],
            ..Options::default()
        },
        &Auth::ClientCertificate,
    );
    let table = cluster.run(&["scan", "--no-config", "--cluster"]);
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(
        stdout.contains("not evaluated: secrets: forbidden"),
        "{stdout}"
    );
    assert!(stdout.contains("2 resources not evaluated"), "{stdout}");
    assert!(
        stdout.contains("Deployment payments/payments-api"),
        "the rest is scanned"
    );
    // A live object is shown by its identity and field path.
    assert!(
        stdout.contains("cluster://replay/apps/v1/Deployment/payments/payments-api"),
        "{stdout}"
    );
    let mut args = SCAN_JSON.to_vec();
    args.push("--cluster");
    let json = cluster.run(&args);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    let forbidden: Vec<&Value> = report["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["resource"] == "secrets")
        .collect();
    assert_eq!(forbidden.len(), 1);
    assert_eq!(forbidden[0]["reason"], "forbidden");
    assert!(String::from_utf8_lossy(&json.stderr).contains("not evaluated: secrets: forbidden"));
}

fn authorizer(model: Model) -> palisade_replay::Authorizer {
    Arc::new(move |r: &RequestInfo| {
        model
            .authorize(&User::impersonated(&r.user, &r.groups), &attributes(r))
            .is_some()
    })
}

fn deploy_model(file: &Path) -> Model {
    let (inputs, errors) = palisade_inventory::discover(&[file.to_path_buf()]);
    assert!(errors.is_empty());
    let loaded = load(&inputs, &palisade_source::Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    Model::build(loaded.records)
}

const SCANNER: &str = "system:serviceaccount:palisade:palisade-scanner";

#[test]
fn the_shipped_read_only_role_is_enough_and_no_more_is_asked() {
    let model = deploy_model(&root().join("deploy/palisade-scanner.yaml"));
    let cluster = Cluster::start(
        Options {
            tokens: vec![("scanner-token".into(), SCANNER.into(), vec![])],
            authorize: Some(authorizer(model)),
            ..Options::default()
        },
        &Auth::Token("scanner-token".into()),
    );
    let mut args = SCAN_JSON.to_vec();
    args.push("--cluster");
    let out = cluster.run(&args);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Only the broken aggregated API is missing: nothing was forbidden.
    assert_eq!(
        report["summary"]["not_evaluated"], 1,
        "{}",
        report["not_evaluated"]
    );
    let requests = cluster.server.requests();
    assert!(requests.len() > 60);
    assert!(requests
        .iter()
        .all(|r| r.user == SCANNER && r.method == "GET"));
    // Lists carry no verbs beyond list; Secrets are asked for as metadata only.
    let secrets: Vec<&RequestInfo> = requests
        .iter()
        .filter(|r| r.path == "/api/v1/secrets")
        .collect();
    assert!(secrets.len() == 1 && secrets[0].metadata_only);

    // A role without Secrets: they are reported forbidden and the rest is scanned.
    let narrowed = std::fs::read_to_string(root().join("deploy/palisade-scanner.yaml"))
        .unwrap()
        .replace(
            "  - apiGroups: [\"*\"]\n    resources: [\"*\"]\n    verbs: [\"list\"]",
            "  - apiGroups: [\"\", \"apps\", \"rbac.authorization.k8s.io\", \"networking.k8s.io\"]\n    resources: [pods, namespaces, serviceaccounts, services, deployments, replicasets, roles, rolebindings, clusterroles, clusterrolebindings, networkpolicies]\n    verbs: [\"list\"]",
        );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), narrowed).unwrap();
    let cluster = Cluster::start(
        Options {
            tokens: vec![("scanner-token".into(), SCANNER.into(), vec![])],
            authorize: Some(authorizer(deploy_model(file.path()))),
            ..Options::default()
        },
        &Auth::Token("scanner-token".into()),
    );
    let out = cluster.run(&args);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let not_evaluated = report["not_evaluated"].as_array().unwrap();
    assert!(not_evaluated
        .iter()
        .any(|n| n["resource"] == "secrets" && n["reason"] == "forbidden"));
    assert!(not_evaluated.iter().all(|n| n["resource"] != "pods"));
    assert!(report["summary"]["findings"].as_u64().unwrap() > 100);
}

#[test]
fn bad_credentials_and_kubeconfigs_are_clear_errors() {
    let cluster = Cluster::start(Options::default(), &Auth::Token("not-a-valid-token".into()));
    let out = cluster.run(&["scan", "--no-config", "--cluster"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read the cluster at https://127.0.0.1:")
            && stderr.contains("Unauthorized"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-a-valid-token"),
        "tokens are never printed: {stderr}"
    );

    let broken = cluster.dir.path().join("broken");
    std::fs::write(&broken, "clusters: [ {").unwrap();
    let out = run_in(
        cluster.dir.path(),
        &[
            "scan",
            "--cluster",
            "--kubeconfig",
            broken.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kubeconfig") && stderr.contains("broken"),
        "{stderr}"
    );

    let out = cluster.run(&["scan", "--cluster", "--context", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));

    let out = run_in(cluster.dir.path(), &["scan", "--cluster", "examples/"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "paths and --cluster exclude each other"
    );
}

#[test]
fn explanations_name_live_objects_by_identity() {
    let cluster = Cluster::start(Options::default(), &Auth::ClientCertificate);
    let out = cluster.run(&[
        "netpol",
        "explain",
        "payments/payments-api",
        "default/frontend",
        "--cluster",
    ]);
    assert_eq!(out.status.code(), Some(1), "denied");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("NetworkPolicy payments/default-deny-all (cluster://replay/networking.k8s.io/v1/NetworkPolicy/payments/default-deny-all)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(":0)"),
        "no line 0 for a live object: {stdout}"
    );
    let out = cluster.run(&[
        "rbac",
        "can-i",
        "get",
        "secrets",
        "-n",
        "payments",
        "--as",
        "x",
        "--as-group",
        "payments-devs",
        "--explain",
        "--cluster",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cluster://replay/rbac.authorization.k8s.io/v1/RoleBinding/payments/payments-devs-everything"), "{stdout}");
    assert!(!stdout.contains(":0"), "{stdout}");
}

/// Kubelets judged by the configuration they report (`configz`): one open, one hardened,
/// one unreachable; then the same with a role that may not get `nodes/proxy`.
#[test]
fn kubelets_are_judged_by_their_configz_and_a_refusal_is_said() {
    let open = serde_json::json!({
        "authentication": {"anonymous": {"enabled": true}, "webhook": {"enabled": false}, "x509": {"clientCAFile": ""}},
        "authorization": {"mode": "AlwaysAllow"},
        "readOnlyPort": 10255,
        "streamingConnectionIdleTimeout": "4h0m0s",
        "rotateCertificates": true,
        "serverTLSBootstrap": true,
        "seccompDefault": true,
        "protectKernelDefaults": true,
        "makeIPTablesUtilChains": true,
        "podPidsLimit": 4096,
    });
    let mut hardened = open.clone();
    hardened["authentication"] = serde_json::json!({"anonymous": {"enabled": false}, "webhook": {"enabled": true}, "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}});
    hardened["authorization"]["mode"] = "Webhook".into();
    hardened["readOnlyPort"] = 0.into();
    let nodes = vec![
        ("node-a".to_owned(), Some(open)),
        ("node-b".to_owned(), Some(hardened)),
        ("node-c".to_owned(), None),
    ];
    let cluster = Cluster::start(
        Options {
            nodes: nodes.clone(),
            ..Options::default()
        },
        &Auth::ClientCertificate,
    );
    let mut args = SCAN_JSON.to_vec();
    args.push("--cluster");
    let out = cluster.run(&args);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kubelet: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("kubelet-"))
        .map(|f| {
            format!(
                "{} {}",
                f["check"].as_str().unwrap(),
                f["location"]["file"].as_str().unwrap()
            )
        })
        .collect();
    let configz = "cluster://replay/api/v1/nodes/node-a/proxy/configz";
    assert_eq!(
        kubelet,
        [
            format!("kubelet-anonymous-auth-enabled {configz}"),
            format!("kubelet-authorization-always-allow {configz}"),
            format!("kubelet-client-ca-file-not-set {configz}"),
            format!("kubelet-read-only-port-enabled {configz}"),
        ],
        "{report:#}"
    );
    let message = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "kubelet-read-only-port-enabled")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("from the kubelet's configz"), "{message}");
    let unreachable: Vec<&Value> = report["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["resource"] == "nodes/node-c/proxy/configz")
        .collect();
    assert_eq!(unreachable.len(), 1, "{report:#}");
    assert!(unreachable[0]["reason"]
        .as_str()
        .unwrap()
        .contains("HTTP 503"));
    // The flag-only check cannot be judged from configz, and says so.
    assert!(report["not_applicable"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["check"] == "kubelet-hostname-override-set"));

    // A role without nodes/proxy: the kubelets are not evaluated, said once.
    let cluster = Cluster::start(
        Options {
            nodes,
            forbid: ["node-a", "node-b", "node-c"]
                .iter()
                .map(|n| format!("/api/v1/nodes/{n}/proxy/configz"))
                .collect(),
            ..Options::default()
        },
        &Auth::ClientCertificate,
    );
    let out = cluster.run(&args);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["check"].as_str().unwrap().starts_with("kubelet-")));
    let refused: Vec<&Value> = report["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["resource"] == "nodes/proxy (kubelet configz)")
        .collect();
    assert_eq!(refused.len(), 1, "{report:#}");
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("3 of 3 nodes"),
        "{}",
        refused[0]["reason"]
    );
}

/// `scan --cluster --scan-images`: a Pod is judged by the image it runs (the digest in
/// its status), not the tag its spec names; each digest is pulled once.
#[test]
fn running_images_are_scanned_by_the_digest_they_run() {
    if !palisade_registry::testing::available() {
        return;
    }
    let registry = palisade_registry::testing::TestRegistry::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The tag now names the fixed image; the pods still run the old one.
    let old =
        runtime.block_on(registry.push_image("acme/app", "old", &debian_image("3.0.11-1~deb12u1")));
    let new =
        runtime.block_on(registry.push_image("acme/app", "1.0", &debian_image("3.0.11-1~deb12u2")));
    let host = registry.host.clone();

    let cluster = Cluster::start(Options::default(), &Auth::ClientCertificate);
    for name in ["web-1", "web-2"] {
        cluster.server.apply_event(
            "/api/v1/pods",
            palisade_replay::EventKind::Added,
            serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "shop", "uid": name},
                "spec": {"containers": [{"name": "web", "image": format!("{host}/acme/app:1.0")}]},
                "status": {"phase": "Running", "containerStatuses": [{"name": "web", "ready": true,
                    "image": format!("{host}/acme/app:1.0"),
                    "imageID": format!("{host}/acme/app@{old}")}]}}),
        );
    }
    let d = cluster.dir.path();
    osv_db(d);
    // The policy wants the key's signature; the new image has it, the running one not.
    let key = palisade_signature::testing::SigningKey::generate();
    std::fs::write(d.join("cosign.pub"), key.public_pem()).unwrap();
    std::fs::write(
        d.join("policy.yaml"),
        format!("rules:\n  - images: ['{host}/acme/**']\n    signers: [{{key: cosign.pub}}]\n"),
    )
    .unwrap();
    let (payload, annotations) = palisade_signature::testing::keyed_cosign_layer(&key, &new);
    runtime.block_on(registry.push_cosign_signature("acme/app", &new, payload, &annotations));
    let config = registry.docker_config(None);
    let ca = registry.ca();
    let out = cluster.run(&[
        "scan",
        "--cluster",
        "-n",
        "shop",
        "--select",
        "image-vulnerable,image-signature",
        "--image-policy",
        "policy.yaml",
        "-f",
        "json",
        "--vuln-db",
        "db",
        "--scan-images",
        "--image-cache",
        "cache",
        "--docker-config",
        config.to_str().unwrap(),
        "--registry-ca",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["object"]["kind"] == "Pod")
        .map(|f| {
            (
                f["object"]["name"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    let vulnerable = format!(
        "container \"web\": image \"{host}/acme/app@{old}\" ({old}) has 1 known vulnerability (1 high): DSA-1 in openssl 3.0.11-1~deb12u1 (fixed in 3.0.11-1~deb12u2)"
    );
    let unsigned = format!(
        "container \"web\": image \"{host}/acme/app@{old}\" is not signed as the policy requires: "
    );
    let mut found = findings.clone();
    found.sort();
    assert_eq!(found.len(), 4, "{found:#?}");
    for (i, name) in ["web-1", "web-1", "web-2", "web-2"].iter().enumerate() {
        assert_eq!(found[i].0, *name);
    }
    assert_eq!(
        found.iter().filter(|f| f.1 == vulnerable).count(),
        2,
        "{found:#?}"
    );
    assert_eq!(
        found
            .iter()
            .filter(|f| f.1.starts_with(&unsigned) && f.1.ends_with("no signatures found"))
            .count(),
        2,
        "{found:#?}"
    );
    // The signatures of the running digest were looked for once for both pods.
    let sig_tag = format!("/manifests/{}.sig", old.replace(':', "-"));
    assert_eq!(
        registry
            .requests()
            .iter()
            .filter(|r| r.contains(&sig_tag))
            .count(),
        1
    );
    // The old image's manifest was fetched once for both pods; the tag never resolved.
    let requests = registry.requests();
    let count = |needle: &str| requests.iter().filter(|r| r.contains(needle)).count();
    assert_eq!(count(&format!("/manifests/{old}")), 1, "{requests:#?}");
    assert_eq!(count("/manifests/1.0"), 0, "{requests:#?}");
}
