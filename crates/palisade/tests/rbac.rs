//! `palisade rbac can-i|who-can|escalations` and the RBAC checks of `palisade scan`,
//! end to end with the real binary.

use std::process::Output;

use serde_json::Value;

mod common;
use common::{root, run_in};

fn palisade(args: &[&str]) -> Output {
    run_in(&root(), args)
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const INSECURE: &str = "examples/insecure";
/// The recorded cluster, kept in the repository.
const SNAPSHOT: &str = "testdata/apiserver/snapshot.yaml";

fn can_i(args: &[&str]) -> (i32, String) {
    let mut all = vec!["rbac", "can-i"];
    all.extend_from_slice(args);
    let out = palisade(&all);
    (out.status.code().unwrap(), text(&out))
}

#[test]
fn can_i_answers_yes_or_no_with_the_exit_code() {
    let (code, out) = can_i(&[
        "create",
        "deployments",
        "-n",
        "shop",
        "--as",
        "dev@example.com",
        INSECURE,
    ]);
    assert_eq!((code, out.as_str()), (0, "yes\n"));
    let (code, out) = can_i(&[
        "delete",
        "deployments",
        "-n",
        "shop",
        "--as",
        "dev@example.com",
        INSECURE,
    ]);
    assert_eq!((code, out.as_str()), (1, "no\n"));
    // Without -n the namespace is `default`, as kubectl assumes.
    let (code, _) = can_i(&[
        "create",
        "deployments.apps",
        "--as",
        "dev@example.com",
        INSECURE,
    ]);
    assert_eq!(code, 1);
    // -q: the exit code alone.
    let (code, out) = can_i(&[
        "get",
        "pods/web-1",
        "-n",
        "shop",
        "--as",
        "dev@example.com",
        "-q",
        INSECURE,
    ]);
    assert_eq!((code, out.as_str()), (0, ""));
    // A subresource needs its own grant: pods/log yes, pods/exec no.
    let (code, _) = can_i(&[
        "get",
        "pods",
        "--subresource",
        "log",
        "-n",
        "shop",
        "--as",
        "dev@example.com",
        INSECURE,
    ]);
    assert_eq!(code, 0);
    let (code, _) = can_i(&[
        "create",
        "pods",
        "--subresource",
        "exec",
        "-n",
        "shop",
        "--as",
        "dev@example.com",
        INSECURE,
    ]);
    assert_eq!(code, 1);
}

#[test]
fn can_i_explain_names_binding_role_and_rule() {
    let (code, out) = can_i(&[
        "list",
        "secrets",
        "-A",
        "--as",
        "system:serviceaccount:shop:deployer",
        "--explain",
        INSECURE,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("yes\nClusterRoleBinding shop-deployer (examples/insecure/rbac.yaml:"),
        "{out}"
    );
    assert!(out.contains("binds ClusterRole shop-deployer"), "{out}");
    assert!(
        out.contains("rule 3 (examples/insecure/rbac.yaml:"),
        "{out}"
    );
    assert!(out.contains("resources=[secrets]"), "{out}");
    // The account's groups come with its name; explicit groups replace them.
    let (code, out) = can_i(&[
        "get",
        "secrets",
        "-n",
        "shop",
        "--as",
        "system:serviceaccount:shop:default",
        "--explain",
        INSECURE,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("RoleBinding shop/default-reads-secrets"),
        "{out}"
    );
    let (code, out) = can_i(&[
        "get",
        "secrets",
        "-n",
        "shop",
        "--as",
        "nobody",
        "--explain",
        INSECURE,
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "no binding grants nobody (groups: system:authenticated) get secrets in namespace shop"
        ),
        "{out}"
    );
    assert!(
        out.contains("RoleBinding shop/everyone-lists-pods -> view"),
        "{out}"
    );
}

#[test]
fn can_i_cluster_scoped_and_non_resource_requests() {
    // cluster-admin is a Kubernetes default, assumed when the input does not define it.
    let out = palisade(&[
        "rbac",
        "can-i",
        "delete",
        "nodes",
        "--as",
        "oncall@example.com",
        INSECURE,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not namespace scoped"));
    let (code, _) = can_i(&["get", "/metrics", "--as", "oncall@example.com", INSECURE]);
    assert_eq!(code, 0);
    let (code, _) = can_i(&["get", "/metrics", "--as", "dev@example.com", INSECURE]);
    assert_eq!(code, 1);
    // Every authenticated user may read /version through the default bindings.
    let (code, _) = can_i(&["get", "/version", "--as", "dev@example.com", INSECURE]);
    assert_eq!(code, 0);
    let (code, _) = can_i(&[
        "get",
        "/version",
        "--as",
        "x",
        "--as-group",
        "system:masters",
        INSECURE,
    ]);
    assert_eq!(code, 0);
}

#[test]
fn can_i_on_a_cluster_snapshot() {
    let snap = SNAPSHOT;
    let (code, out) = can_i(&[
        "delete",
        "pods",
        "-n",
        "payments",
        "--as",
        "system:serviceaccount:payments:deployer",
        "--explain",
        snap,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("RoleBinding payments/payments-devs-everything"),
        "{out}"
    );
    let (code, _) = can_i(&[
        "delete",
        "pods",
        "-n",
        "default",
        "--as",
        "system:serviceaccount:payments:deployer",
        snap,
    ]);
    assert_eq!(code, 1);
    let (code, out) = can_i(&[
        "list",
        "nodes",
        "--as",
        "alice@example.com",
        "--explain",
        snap,
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("ClusterRoleBinding oncall-cluster-admin"),
        "{out}"
    );
}

#[test]
fn who_can_lists_subjects_with_bindings() {
    let out = palisade(&[
        "rbac", "who-can", "get", "secrets", "-n", "shop", "-f", "json", INSECURE,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<String> = v["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {} | {}",
                s["kind"].as_str().unwrap(),
                s["namespace"].as_str().unwrap(),
                s["name"].as_str().unwrap(),
                s["binding"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "User  oncall@example.com | ClusterRoleBinding oncall-cluster-admin",
        "ServiceAccount shop deployer | ClusterRoleBinding shop-deployer",
        "ServiceAccount shop default | RoleBinding shop/default-reads-secrets",
        "Group  system:masters | ClusterRoleBinding cluster-admin",
    ] {
        assert!(rows.iter().any(|r| r == want), "{want} not in {rows:#?}");
    }
    assert!(
        !rows.iter().any(|r| r.contains("dev@example.com")),
        "{rows:#?}"
    );
    let table = text(&palisade(&[
        "rbac",
        "who-can",
        "create",
        "deployments",
        "-n",
        "shop",
        INSECURE,
    ]));
    assert!(
        table.starts_with("who can create deployments.apps in namespace shop:\nSUBJECT"),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.starts_with("User")
            && l.contains("dev@example.com")
            && l.contains("Role shop/developer")),
        "{table}"
    );
}

#[test]
fn escalations_in_text_json_and_dot() {
    let out = palisade(&["rbac", "escalations", INSECURE]);
    assert_eq!(out.status.code(), Some(1), "paths found");
    let t = text(&out);
    assert!(t.contains("User dev@example.com reaches cluster-admin in 2 steps:\n  1. User dev@example.com can create deployments in namespace shop"), "{t}");
    let out = palisade(&["rbac", "escalations", "-f", "json", INSECURE]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dev = v["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"]["name"] == "dev@example.com")
        .unwrap();
    assert_eq!(dev["length"], 2);
    assert_eq!(dev["steps"][0]["kind"], "create-pod");
    assert_eq!(dev["steps"][0]["to"]["type"], "principal");
    assert_eq!(dev["steps"][1]["kind"], "bind-cluster-admin");
    assert_eq!(dev["steps"][1]["to"]["type"], "cluster-admin");
    assert!(dev["steps"][1]["granted_by"]
        .as_str()
        .unwrap()
        .contains("ClusterRoleBinding shop-deployer"));
    let dot = text(&palisade(&["rbac", "escalations", "-f", "dot", INSECURE]));
    assert!(dot.starts_with("digraph escalations {"), "{dot}");
    assert!(
        dot.contains("\"User dev@example.com\" -> \"ServiceAccount shop/deployer\" [label="),
        "{dot}"
    );
    assert!(
        dot.contains("\"ServiceAccount shop/deployer\" -> \"cluster-admin\""),
        "{dot}"
    );
    assert!(dot.trim_end().ends_with('}'));
    // The hardened example has none.
    let out = palisade(&["rbac", "escalations", "examples/hardened"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out), "no escalation paths to cluster-admin\n");
}

#[test]
fn broken_rbac_input_is_reported_and_the_rest_is_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbac.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: x}\nsubjects: [{kind: Robot, name: r}]\nroleRef: {kind: Role, name: r}\n---\n: [broken\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ok}\nsubjects: [{kind: User, name: u}]\nroleRef: {kind: ClusterRole, name: view}\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();
    let out = palisade(&["rbac", "can-i", "list", "pods", "-A", "--as", "u", path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(text(&out), "yes\n", "the good binding is still used");
    assert_eq!(out.status.code(), Some(2), "incomplete input: {stderr}");
    assert!(
        stderr.contains("rbac.yaml:4:") && stderr.contains("Robot"),
        "{stderr}"
    );
    assert!(stderr.contains("document 1"), "{stderr}");
    // A usage error, on clean input: a subresource of a URL.
    let out = palisade(&[
        "rbac",
        "can-i",
        "get",
        "/healthz",
        "--subresource",
        "log",
        "--as",
        "u",
        INSECURE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("subresource"), "{stderr}");
}

#[test]
fn scan_reports_rbac_findings_with_exceptions() {
    let out = palisade(&[
        "scan",
        "-f",
        "json",
        "--no-config",
        "--select",
        "rbac",
        INSECURE,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    for id in [
        "rbac-cluster-admin-binding",
        "rbac-escalation-path",
        "rbac-pod-create",
        "rbac-wildcard-rule",
        "rbac-escalate-bind",
        "rbac-secrets-read",
        "rbac-default-service-account",
        "rbac-public-grant",
        "rbac-dangling-binding",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let admin = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "rbac-cluster-admin-binding")
        .unwrap();
    assert_eq!(admin["object"]["kind"], "ClusterRoleBinding");
    assert_eq!(admin["object"]["name"], "oncall-cluster-admin");
    assert_eq!(admin["location"]["line"], 25);

    // An inline exception on the binding and a config exception both apply.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(INSECURE).join("rbac.yaml")).unwrap();
    let annotated = text.replacen(
        "  name: oncall-cluster-admin\n",
        "  name: oncall-cluster-admin\n  annotations:\n    palisade.dev/ignore: \"rbac-cluster-admin-binding: break-glass account, reviewed monthly\"\n",
        1,
    );
    std::fs::write(dir.path().join("rbac.yaml"), annotated).unwrap();
    std::fs::write(
        dir.path().join(".palisade.yaml"),
        "exceptions:\n- checks: [rbac-dangling-binding]\n  kind: RoleBinding\n  name: auditors\n  reason: auditor role is created by the audit team\n- checks: [rbac-unused-role]\n  name: nothing-matches\n  reason: stale\n",
    )
    .unwrap();
    let config = dir.path().join(".palisade.yaml");
    let out = palisade(&[
        "scan",
        "-f",
        "json",
        "--config",
        config.to_str().unwrap(),
        "--select",
        "rbac",
        dir.path().to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(
        !ids.contains(&"rbac-cluster-admin-binding") && !ids.contains(&"rbac-dangling-binding"),
        "{ids:?}"
    );
    let kinds: Vec<&str> = v["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suppression"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{v:#}");
    assert!(
        kinds.contains(&"inline") && kinds.contains(&"config"),
        "{kinds:?}"
    );
    let notices = v["notices"].to_string();
    assert!(
        notices.contains("matches no finding"),
        "the unused exception is reported: {notices}"
    );
    // Deselected, the analysis does not run at all.
    let out = palisade(&[
        "scan",
        "-f",
        "json",
        "--no-config",
        "--ignore",
        "rbac",
        INSECURE,
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"].as_array().expect("a findings list");
    assert!(!findings.is_empty(), "the other checks still report");
    assert!(findings
        .iter()
        .all(|f| !f["check"].as_str().unwrap().starts_with("rbac-")));
}

#[test]
fn cluster_scoped_resources_in_a_namespace_answer_as_the_api_server_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbac.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: nodes, namespace: dev}\nrules: [{apiGroups: [\"\"], resources: [nodes, pods, namespaces, nodes/status], verbs: [get, update, watch]}, {apiGroups: [storage.k8s.io], resources: [storageclasses], verbs: [list]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bob-nodes, namespace: dev}\nsubjects: [{kind: User, name: bob}]\nroleRef: {kind: Role, name: nodes}\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();
    let ask = |args: &[&str]| {
        let mut all = vec!["rbac", "can-i"];
        all.extend_from_slice(args);
        all.extend(["--as", "bob", path]);
        let out = palisade(&all);
        (
            out.status.code().unwrap(),
            text(&out),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // kubectl sends the namespace in its review, so the RoleBinding in dev counts and
    // the API server says yes; Palisade says so too, with kubectl's warning and a note
    // that a real request (which carries no namespace) would be refused.
    let (code, out, err) = ask(&["get", "nodes", "-n", "dev"]);
    assert_eq!((code, out.as_str()), (0, "yes\n"), "{err}");
    assert!(
        err.contains("Warning: resource 'nodes' is not namespace scoped\n"),
        "{err}"
    );
    assert!(
        err.contains("rests on RoleBinding dev/bob-nodes") && err.contains("real request"),
        "{err}"
    );
    let (code, _, err) = ask(&["watch", "nodes", "--subresource=status", "-n", "dev"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = ask(&["list", "storageclasses", "-n", "dev"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("resource 'storageclasses' is not namespace scoped in group 'storage.k8s.io'"),
        "{err}"
    );
    // Another namespace's RoleBindings do not count, and -A asks cluster-wide.
    assert_eq!(ask(&["get", "nodes", "-n", "prod"]).0, 1);
    let (code, _, err) = ask(&["get", "nodes", "-A"]);
    assert_eq!(code, 1);
    assert!(
        !err.contains("not namespace scoped"),
        "kubectl does not warn with -A: {err}"
    );
    // The namespace object dev itself: a real request carries namespace dev, so no note.
    let (code, _, err) = ask(&["update", "namespaces/dev", "-n", "dev"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Note:"), "{err}");
    let (code, _, err) = ask(&["get", "namespaces/other", "-n", "dev"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Note:"), "{err}");
    // --explain carries the note too.
    let (_, out, _) = ask(&["get", "nodes", "-n", "dev", "--explain", "-q"]);
    assert!(out.is_empty(), "-q prints nothing: {out}");
    let (_, out, _) = ask(&["get", "nodes", "-n", "dev", "--explain"]);
    assert!(
        out.contains("RoleBinding dev/bob-nodes") && out.contains("note: "),
        "{out}"
    );

    // who-can keeps real-request semantics: RoleBindings never grant nodes, but the
    // namespace object dev is granted by dev's RoleBindings.
    let who = |args: &[&str]| {
        let mut all = vec!["rbac", "who-can"];
        all.extend_from_slice(args);
        all.extend(["-f", "json", path]);
        let out = palisade(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text(&out)
    };
    assert!(who(&["get", "pods", "-A"]).contains("\"bob\""));
    assert!(!who(&["get", "nodes", "-A"]).contains("\"bob\""));
    assert!(!who(&["get", "nodes", "-n", "dev"]).contains("\"bob\""));
    assert!(who(&["get", "namespaces", "--name", "dev"]).contains("\"bob\""));
    assert!(!who(&["get", "namespaces", "--name", "prod", "-n", "dev"]).contains("\"bob\""));
}

#[test]
fn scan_reports_a_malformed_binding_and_checks_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbac.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: typo}\nsubjects: [{kind: Usr, name: mallory}]\nroleRef: {kind: ClusterRole, name: cluster-admin}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: oncall}\nsubjects: [{kind: User, name: oncall}]\nroleRef: {kind: ClusterRole, name: cluster-admin}\n",
    )
    .unwrap();
    let path = dir.path().join("rbac.yaml");
    let out = palisade(&[
        "scan",
        path.to_str().unwrap(),
        "--no-config",
        "--format",
        "json",
        "--select",
        "rbac",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an input error wins over findings"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        (errors[0]["line"].as_u64(), errors[0]["document"].as_u64()),
        (Some(4), Some(0))
    );
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("typo") && message.contains("Usr"),
        "{message}"
    );
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["check"], "rbac-cluster-admin-binding");
    assert_eq!(findings[0]["object"]["name"], "oncall");
}
