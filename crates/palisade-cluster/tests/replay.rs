//! The real kube-rs client against a loopback HTTPS server replaying a real API server.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use palisade_cluster::{read, ClusterError, ClusterRead, Connection, ReadOptions};
use palisade_replay::{Auth, Options, Recordings, ReplayServer};
use serde_json::Value;

/// The recorded API server responses, kept in the repository so every clone runs these tests.
fn recordings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/apiserver")
}

struct Setup {
    server: ReplayServer,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(options: Options) -> Self {
        let recordings = Recordings::load(&recordings_dir()).expect("recordings");
        Self {
            server: ReplayServer::start(recordings, options),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn connection(&self, auth: &Auth) -> Connection {
        let path = self.dir.path().join("kubeconfig");
        std::fs::write(&path, self.server.kubeconfig(auth)).expect("kubeconfig");
        Connection {
            kubeconfig: Some(path),
            timeout: Some(std::time::Duration::from_secs(10)),
            ..Connection::default()
        }
    }
}

fn identity(v: &Value) -> String {
    format!(
        "{} {} {}/{}",
        v["apiVersion"].as_str().unwrap_or(""),
        v["kind"].as_str().unwrap_or(""),
        v["metadata"]["namespace"].as_str().unwrap_or(""),
        v["metadata"]["name"].as_str().unwrap_or("")
    )
}

fn read_all(
    connection: &Connection,
    options: &ReadOptions,
) -> Result<(ClusterRead, Vec<Value>), ClusterError> {
    let mut objects = Vec::new();
    let read = read(connection, options, |page| {
        objects.extend(page.items);
        true
    })?;
    Ok((read, objects))
}

#[test]
fn reads_every_recorded_object_as_the_snapshot_has_it() {
    let setup = Setup::new(Options::default());
    let options = ReadOptions {
        page_size: 50,
        ..ReadOptions::default()
    };
    let (read, objects) = read_all(&setup.connection(&Auth::ClientCertificate), &options).unwrap();
    assert_eq!(read.context, "replay");
    assert!(
        read.version
            .as_deref()
            .unwrap()
            .starts_with("v1.25.0-alpha.2"),
        "{:?}",
        read.version
    );
    // The aggregated metrics API is down (503): reported, not fatal.
    assert!(
        read.not_evaluated
            .iter()
            .any(|n| n.resource == "metrics.k8s.io/v1beta1" && n.reason.contains("503")),
        "{:?}",
        read.not_evaluated
    );
    assert_eq!(read.not_evaluated.len(), 1, "{:?}", read.not_evaluated);

    let mut got: BTreeSet<String> = objects.iter().map(identity).collect();
    assert!(
        got.remove("palisade.dev/v1alpha1 ClusterInfo /replay"),
        "the cluster info comes first"
    );
    assert_eq!(
        got.len(),
        objects.len() - 1,
        "no object is handed over twice"
    );
    // The snapshot holds one copy of every object (Events too, which are not read).
    let path = recordings_dir().join("snapshot.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (want, errors) = palisade_inventory::map_objects_in_text(
        &std::sync::Arc::from("snapshot.yaml"),
        &text,
        &palisade_source::Limits::default(),
        &|at| {
            let id = &at.object.identity;
            Ok((id.kind != "Event").then(|| {
                format!(
                    "{} {} {}/{}",
                    id.api_version,
                    id.kind,
                    id.namespace.as_deref().unwrap_or(""),
                    id.name
                )
            }))
        },
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(want.len(), 742 - 95);
    assert_eq!(got, want.into_iter().collect::<BTreeSet<String>>());
    assert_eq!(objects[0]["kind"], "ClusterInfo");
    // Namespaces come right after it: Pod Security labels decide how the rest is judged.
    assert_eq!(objects[1]["kind"], "Namespace");
}

#[test]
fn secrets_are_listed_as_metadata_only() {
    let setup = Setup::new(Options::default());
    let (_, objects) = read_all(
        &setup.connection(&Auth::ClientCertificate),
        &ReadOptions::default(),
    )
    .unwrap();
    let secrets: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Secret").collect();
    assert_eq!(secrets.len(), 9);
    assert!(secrets
        .iter()
        .all(|s| s["apiVersion"] == "v1" && s.get("data").is_none()));
    let all = serde_json::to_string(&objects).unwrap();
    assert!(
        !all.contains("ZmFrZS1wYXNzd29yZC0xMjM="),
        "the password never reaches the client"
    );
    let secret_requests: Vec<_> = setup
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/secrets")
        .collect();
    assert_eq!(secret_requests.len(), 1);
    assert!(secret_requests[0].metadata_only);
    // Asked for, contents come whole.
    let full = ReadOptions {
        secret_contents: true,
        only: vec!["secrets".to_owned()],
        ..ReadOptions::default()
    };
    let (_, objects) = read_all(&setup.connection(&Auth::ClientCertificate), &full).unwrap();
    assert!(objects
        .iter()
        .any(|o| o["data"]["password"] == "ZmFrZS1wYXNzd29yZC0xMjM="));
}

#[test]
fn lists_follow_continue_and_restart_after_410() {
    let setup = Setup::new(Options {
        expire_once: vec!["/api/v1/configmaps".to_owned()],
        ..Options::default()
    });
    let options = ReadOptions {
        page_size: 5,
        only: vec!["configmaps".to_owned()],
        ..ReadOptions::default()
    };
    let (read, objects) = read_all(&setup.connection(&Auth::ClientCertificate), &options).unwrap();
    let configmaps: BTreeSet<String> = objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .map(identity)
        .collect();
    assert_eq!(configmaps.len(), 59);
    assert_eq!(
        objects.len(),
        60,
        "59 ConfigMaps once each, and the cluster info"
    );
    assert_eq!(read.restarts, 1);
    let requests: Vec<_> = setup
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/configmaps")
        .collect();
    // First page, the expired second, then 12 pages from the start.
    assert_eq!(requests.len(), 14, "{requests:#?}");
    assert!(requests.iter().all(|r| r.query.contains("limit=5")));
    assert!(requests[1].query.contains("continue="));
    assert!(!requests[2].query.contains("continue="));
}

#[test]
fn forbidden_and_failing_resources_are_reported_and_the_rest_is_read() {
    let setup = Setup::new(Options {
        forbid: vec!["/api/v1/secrets".to_owned()],
        fail: vec![("/apis/apps/v1/deployments".to_owned(), 500)],
        ..Options::default()
    });
    let (read, objects) = read_all(
        &setup.connection(&Auth::ClientCertificate),
        &ReadOptions::default(),
    )
    .unwrap();
    let reason = |name: &str| {
        read.not_evaluated
            .iter()
            .find(|n| n.resource == name)
            .map(|n| n.reason.clone())
    };
    assert_eq!(reason("secrets").as_deref(), Some("forbidden"));
    assert!(reason("deployments.apps").unwrap().contains("HTTP 500"));
    assert!(!objects
        .iter()
        .any(|o| o["kind"] == "Secret" || o["kind"] == "Deployment"));
    assert_eq!(objects.iter().filter(|o| o["kind"] == "Pod").count(), 35);
}

#[test]
fn bearer_tokens_and_exec_plugins_authenticate() {
    let setup = Setup::new(Options {
        tokens: vec![("s3cr3t-token".to_owned(), "scanner".to_owned(), vec![])],
        ..Options::default()
    });
    let only = ReadOptions {
        only: vec!["namespaces".to_owned()],
        ..ReadOptions::default()
    };
    let (_, objects) = read_all(
        &setup.connection(&Auth::Token("s3cr3t-token".to_owned())),
        &only,
    )
    .unwrap();
    assert_eq!(objects.len(), 13);
    assert!(setup.server.requests().iter().all(|r| r.user == "scanner"));

    let plugin = setup.dir.path().join("credential-plugin.sh");
    std::fs::write(
        &plugin,
        "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"s3cr3t-token\"}}'\n",
    )
    .unwrap();
    let exec = Auth::Exec("/bin/sh".to_owned(), vec![plugin.display().to_string()]);
    let (_, objects) = read_all(&setup.connection(&exec), &only).unwrap();
    assert_eq!(objects.len(), 13);

    let err = read_all(&setup.connection(&Auth::Token("wrong".to_owned())), &only).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("401") && text.contains("Unauthorized"),
        "{text}"
    );
    assert!(!text.contains("wrong"), "the token is not echoed: {text}");
}

#[test]
fn a_namespace_limits_namespaced_lists_only() {
    let setup = Setup::new(Options::default());
    let options = ReadOptions {
        namespace: Some("payments".to_owned()),
        only: vec!["pods".to_owned(), "clusterroles".to_owned()],
        ..ReadOptions::default()
    };
    let (_, objects) = read_all(&setup.connection(&Auth::ClientCertificate), &options).unwrap();
    let pods: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Pod").collect();
    assert_eq!(pods.len(), 2);
    assert!(pods
        .iter()
        .all(|p| p["metadata"]["namespace"] == "payments"));
    assert_eq!(
        objects
            .iter()
            .filter(|o| o["kind"] == "ClusterRole")
            .count(),
        77
    );
    assert!(setup
        .server
        .requests()
        .iter()
        .any(|r| r.path == "/api/v1/namespaces/payments/pods"));
}

#[test]
fn a_pods_service_account_is_used_inside_a_cluster() {
    let setup = Setup::new(Options {
        tokens: vec![(
            "projected-token".to_owned(),
            "system:serviceaccount:palisade:palisade-scanner".to_owned(),
            vec![],
        )],
        ..Options::default()
    });
    let mount = setup.dir.path().join("serviceaccount");
    std::fs::create_dir_all(&mount).unwrap();
    std::fs::write(mount.join("token"), "projected-token").unwrap();
    std::fs::write(mount.join("ca.crt"), &setup.server.pki.ca_pem).unwrap();
    std::fs::write(mount.join("namespace"), "palisade").unwrap();
    // Each test runs in its own process under nextest, so the environment is ours.
    std::env::set_var("KUBERNETES_SERVICE_HOST", "127.0.0.1");
    std::env::set_var(
        "KUBERNETES_SERVICE_PORT",
        setup.server.addr.port().to_string(),
    );
    let config = palisade_cluster::in_cluster(&mount).unwrap();
    assert_eq!(config.default_namespace, "palisade");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let version = runtime
        .block_on(async {
            kube::Client::try_from(config)
                .unwrap()
                .apiserver_version()
                .await
        })
        .unwrap();
    assert_eq!(version.minor, "25");
    assert_eq!(
        setup.server.requests().last().unwrap().user,
        "system:serviceaccount:palisade:palisade-scanner"
    );
    std::fs::remove_file(mount.join("token")).unwrap();
    let err = palisade_cluster::in_cluster(&mount)
        .unwrap_err()
        .to_string();
    assert!(err.contains("token"), "{err}");
}

#[test]
fn the_caller_can_stop_the_reading() {
    let setup = Setup::new(Options::default());
    let mut pages = 0;
    let read = read(
        &setup.connection(&Auth::ClientCertificate),
        &ReadOptions {
            page_size: 5,
            ..ReadOptions::default()
        },
        |_| {
            pages += 1;
            pages < 3
        },
    )
    .unwrap();
    assert_eq!(pages, 3);
    // The fetcher stops at its next hand-over: a page or two more at most, not the
    // hundreds of a whole read at 5 objects a page.
    assert!(read.objects < 40, "{}", read.objects);
    assert!(
        setup.server.requests().len() < 45,
        "{}",
        setup.server.requests().len()
    );
}

#[test]
fn large_pages_make_the_next_pages_smaller() {
    let setup = Setup::new(Options::default());
    let options = ReadOptions {
        page_size: 16,
        max_page_bytes: 100_000,
        only: vec!["configmaps".to_owned()],
        ..ReadOptions::default()
    };
    let (_, objects) = read_all(&setup.connection(&Auth::ClientCertificate), &options).unwrap();
    assert_eq!(
        objects.len(),
        60,
        "every ConfigMap still read once, and the cluster info"
    );
    let limits: Vec<u32> = setup
        .server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/configmaps")
        .filter_map(|r| {
            r.query
                .split('&')
                .find_map(|kv| kv.strip_prefix("limit=")?.parse().ok())
        })
        .collect();
    assert_eq!(limits[0], 16);
    // The Grafana dashboards are large: the page size shrinks where they are.
    assert!(limits.iter().any(|l| *l < 16), "{limits:?}");
    assert!(limits.windows(2).all(|w| w[1] <= w[0]), "{limits:?}");
}

#[test]
fn namespace_labels_are_listed_as_metadata_page_by_page() {
    let setup = Setup::new(Options::default());
    let list =
        palisade_cluster::namespace_labels_paged(&setup.connection(&Auth::ClientCertificate), 5)
            .unwrap();
    assert_eq!(list.len(), 12, "{list:?}");
    let baseline = &list.iter().find(|(n, _)| n == "psa-baseline").unwrap().1;
    assert_eq!(baseline["pod-security.kubernetes.io/enforce"], "baseline");
    assert_eq!(
        baseline["pod-security.kubernetes.io/enforce-version"],
        "v1.24"
    );
    let requests: Vec<_> = setup
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/namespaces")
        .collect();
    assert_eq!(requests.len(), 3, "12 namespaces in pages of 5");
    assert!(requests.iter().all(|r| r.metadata_only), "{requests:?}");
}

#[test]
fn namespace_labels_say_when_the_list_is_forbidden() {
    let setup = Setup::new(Options {
        forbid: vec!["/api/v1/namespaces".into()],
        ..Options::default()
    });
    let err = palisade_cluster::namespace_labels(&setup.connection(&Auth::ClientCertificate))
        .unwrap_err()
        .to_string();
    assert!(err.contains("403") && err.contains("forbidden"), "{err}");
}
