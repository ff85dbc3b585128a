//! The rules that keep state, over logs read in order: first-seen Secret readers, exec
//! into a pod rated privileged, and RBAC changes that open a path to cluster-admin.

use palisade_audit::scan::{scan_reader, InOrder};
use palisade_audit::watch::{watch, Output, Progress, WatchOptions};
use palisade_audit::{Loader, RuleSet, PALISADE_RULES};
use serde_json::{json, Value};

fn rules() -> RuleSet {
    let mut loader = Loader::default();
    loader.add("palisade", PALISADE_RULES).unwrap();
    let rules = loader.compile();
    assert!(rules.notices.is_empty(), "{:?}", rules.notices);
    rules
}

/// Event `id`: `user` does `verb` on `resource` (optionally `/sub`) `ns/name`; `body`
/// is the stored object (the response of a write).
fn event(
    id: &str,
    user: &str,
    verb: &str,
    resource: &str,
    ns: &str,
    name: &str,
    body: Option<Value>,
) -> String {
    let (resource, sub) = resource
        .split_once('/')
        .map_or((resource, None), |(r, s)| (r, Some(s)));
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": id, "stage": "ResponseComplete", "verb": verb,
        "requestURI": format!("/apis/x/{resource}/{name}"),
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.9"],
        "objectRef": {"resource": resource, "namespace": ns, "name": name},
        "responseStatus": {"code": 200},
        "stageTimestamp": "2026-12-04T10:00:00Z",
    });
    if let Some(s) = sub {
        e["objectRef"]["subresource"] = json!(s);
    }
    if let Some(b) = body {
        e["responseObject"] = b;
    }
    e.to_string()
}

/// The (rule, detail) of each detection of the stateful rules on `lines`, in order.
fn stateful_detections(rules: &RuleSet, lines: &[String]) -> Vec<(String, String)> {
    let text = lines.join("\n");
    let mut in_order = InOrder::new(rules, 1000);
    let mut out = Vec::new();
    scan_reader(
        "log",
        text.as_bytes(),
        rules,
        |_, d, _| {
            let detail = d
                .output_fields
                .iter()
                .find(|(k, _)| k == "palisade.detail")
                .map(|(_, v)| v.as_str().unwrap().to_owned());
            format!("{}\t{}", d.rule.name, detail.unwrap_or_default())
        },
        &mut in_order,
        |l| {
            out.push(l.to_owned());
            Ok(())
        },
        |b| panic!("{b}"),
    )
    .unwrap();
    out.into_iter()
        .filter_map(|l| {
            let (rule, detail) = l.split_once('\t')?;
            (!detail.is_empty()).then(|| (rule.to_owned(), detail.to_owned()))
        })
        .collect()
}

#[test]
fn a_secret_reader_is_reported_the_first_time_only() {
    let rules = rules();
    let lines = vec![
        event("1", "jane", "get", "secrets", "prod", "db", None),
        event("2", "jane", "list", "secrets", "dev", "", None),
        event(
            "3",
            "system:serviceaccount:ci:bot",
            "get",
            "secrets",
            "ci",
            "token",
            None,
        ),
        event("4", "jane", "get", "pods", "prod", "web", None),
        // The first event again (a batch sent twice): not a new reader, not reported.
        event("1", "jane", "get", "secrets", "prod", "db", None),
        event(
            "5",
            "system:serviceaccount:ci:bot",
            "get",
            "secrets",
            "ci",
            "other",
            None,
        ),
    ];
    let got = stateful_detections(&rules, &lines);
    assert_eq!(
        got,
        [
            (
                "Palisade Secret Read By A New Account".to_owned(),
                "first time ka.user.name = jane".to_owned()
            ),
            (
                "Palisade Secret Read By A New Account".to_owned(),
                "first time ka.user.name = system:serviceaccount:ci:bot".to_owned()
            ),
        ]
    );
}

fn pod(name: &str, privileged: bool) -> Value {
    json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "prod"},
        "spec": {
            "hostPID": privileged,
            "containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": privileged}}]
        }
    })
}

#[test]
fn exec_into_a_pod_rated_privileged_is_reported_with_why() {
    let rules = rules();
    let lines = vec![
        event(
            "1",
            "ci",
            "create",
            "pods",
            "prod",
            "evil",
            Some(pod("evil", true)),
        ),
        event(
            "2",
            "ci",
            "create",
            "pods",
            "prod",
            "fine",
            Some(pod("fine", false)),
        ),
        event("3", "jane", "create", "pods/exec", "prod", "evil", None),
        event("4", "jane", "create", "pods/exec", "prod", "fine", None),
        event("5", "jane", "create", "pods/exec", "prod", "unknown", None),
        event(
            "6",
            "ci",
            "delete",
            "pods",
            "prod",
            "evil",
            Some(json!({"kind": "Status", "status": "Success"})),
        ),
        event("7", "jane", "create", "pods/exec", "prod", "evil", None),
    ];
    let got = stateful_detections(&rules, &lines);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "Palisade Exec Into Privileged Pod");
    // The reasons are the scan's own baseline checks.
    assert_eq!(
        got[0].1,
        "the pod fails the Pod Security baseline: hostNamespaces, privileged"
    );
}

fn binding(kind: &str, name: &str, role: &str, user: &str) -> Value {
    json!({
        "kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": name, "namespace": "prod"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]
    })
}

#[test]
fn an_rbac_change_that_opens_a_path_to_cluster_admin_is_reported_once() {
    let rules = rules();
    let impersonator = json!({
        "kind": "ClusterRole", "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "impersonator"},
        "rules": [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]
    });
    let lines = vec![
        // A harmless binding: no path.
        event(
            "1",
            "admin",
            "create",
            "rolebindings",
            "prod",
            "viewers",
            Some(binding("RoleBinding", "viewers", "view", "ann")),
        ),
        // mallory gets cluster-admin: a path.
        event(
            "2",
            "admin",
            "create",
            "clusterrolebindings",
            "",
            "m",
            Some(binding(
                "ClusterRoleBinding",
                "m",
                "cluster-admin",
                "mallory",
            )),
        ),
        // A second way for mallory: no new subject.
        event(
            "3",
            "admin",
            "create",
            "clusterrolebindings",
            "",
            "m2",
            Some(binding(
                "ClusterRoleBinding",
                "m2",
                "cluster-admin",
                "mallory",
            )),
        ),
        // A role that can impersonate anyone, then bob bound to it: bob gets a path.
        event(
            "4",
            "admin",
            "create",
            "clusterroles",
            "",
            "impersonator",
            Some(impersonator),
        ),
        event(
            "5",
            "admin",
            "create",
            "clusterrolebindings",
            "",
            "b",
            Some(binding("ClusterRoleBinding", "b", "impersonator", "bob")),
        ),
        // Both of mallory's bindings removed, then one back: a path again.
        event("6", "admin", "delete", "clusterrolebindings", "", "m", None),
        event(
            "7",
            "admin",
            "delete",
            "clusterrolebindings",
            "",
            "m2",
            None,
        ),
        event(
            "8",
            "admin",
            "create",
            "clusterrolebindings",
            "",
            "m3",
            Some(binding(
                "ClusterRoleBinding",
                "m3",
                "cluster-admin",
                "mallory",
            )),
        ),
    ];
    let got = stateful_detections(&rules, &lines);
    let details: Vec<&str> = got.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(details.len(), 3, "{got:?}");
    assert!(
        details[0].contains("mallory") && !details[0].contains("ann"),
        "{got:?}"
    );
    assert!(details[1].contains("bob"), "{got:?}");
    assert!(details[2].contains("mallory"), "{got:?}");
    assert!(got
        .iter()
        .all(|(r, _)| r == "Palisade New Path To Cluster Admin"));
}

#[test]
fn the_state_survives_a_restart_of_watch() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let rules = rules();
    let run = |state: &str| {
        let mut options = WatchOptions::new(
            vec![log.clone()],
            dir.path().join(state),
            Output::File(dir.path().join(format!("{state}.out"))),
        );
        options.poll = std::time::Duration::from_millis(5);
        options.idle_exit = Some(std::time::Duration::from_millis(100));
        watch(
            &options,
            &rules,
            |_, _, d, _| d.rule.name.clone(),
            |b| panic!("{b}"),
            None,
            &Progress::default(),
        )
        .unwrap();
        std::fs::read_to_string(dir.path().join(format!("{state}.out"))).unwrap()
    };
    std::fs::write(
        &log,
        [
            event("1", "jane", "get", "secrets", "prod", "db", None),
            event(
                "2",
                "ci",
                "create",
                "pods",
                "prod",
                "evil",
                Some(pod("evil", true)),
            ),
            String::new(),
        ]
        .join("\n"),
    )
    .unwrap();
    let first = run("state.db");
    assert!(
        first.contains("Palisade Secret Read By A New Account"),
        "{first}"
    );
    // Later lines, read by a new process: jane is no new reader, and the pod created
    // before the restart is still known to be privileged.
    let more = [
        event("3", "jane", "get", "secrets", "prod", "db2", None),
        event("4", "jane", "create", "pods/exec", "prod", "evil", None),
        String::new(),
    ]
    .join("\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, more.as_bytes()))
        .unwrap();
    let second = run("state.db");
    let new = &second[first.len()..];
    assert!(
        !new.contains("Palisade Secret Read By A New Account"),
        "{new}"
    );
    assert!(new.contains("Palisade Exec Into Privileged Pod"), "{new}");
}
