//! What the webhook answers: modes, updates, subresources, dry runs, exemptions,
//! exceptions and the limits of what it says.

mod common;

use common::{body, good_pod, judge, judge_with, pod, request};
use palisade_admission::{review::parse_review, Skip, MAX_WARNING, MODE_LABEL};
use palisade_config::{AdmissionMode, Overrides};
use serde_json::{json, Value};

fn decide(j: &palisade_admission::Judge, req: &Value) -> palisade_admission::Decision {
    let b = body(req);
    let review = parse_review(&b).unwrap();
    j.decide(&review.request)
}

fn ids(d: &palisade_admission::Decision) -> Vec<&'static str> {
    let mut v: Vec<_> = d.findings.iter().map(|f| f.check.id).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn a_privileged_pod_is_denied_with_the_failing_checks_and_their_fields() {
    let j = judge("");
    let (api_version, d) = j
        .review(&body(&request(
            "CREATE",
            &pod("web", "bad", json!({"privileged": true})),
            None,
        )))
        .unwrap();
    assert_eq!(api_version, "admission.k8s.io/v1");
    assert_eq!(d.response.uid, "d6f7f7b4-8f0c-4c6e-9f1e-3c1b2a3d4e5f");
    assert!(!d.response.allowed);
    assert_eq!(d.mode, Some(AdmissionMode::Enforce));
    let status = d.response.status.as_ref().unwrap();
    assert_eq!((status.code, status.reason), (403, "Forbidden"));
    assert!(
        status.message.contains("[critical] privileged:")
            || status.message.contains("[high] privileged:"),
        "{}",
        status.message
    );
    assert!(status
        .message
        .contains("(at spec.containers[0].securityContext.privileged)"));
    assert!(status
        .message
        .starts_with("palisade (enforce mode) denied Pod web/bad"));
    // Findings below the deny severity come back as warnings.
    assert!(d.denied > 0 && d.denied < d.findings.len());
    assert!(!d.response.warnings.is_empty());
    assert_eq!(d.response.audit_annotations["mode"], "enforce");
    assert!(d.response.audit_annotations["findings"].contains("privileged"));
}

#[test]
fn a_good_pod_is_allowed_with_nothing_to_say() {
    let d = decide(&judge(""), &request("CREATE", &good_pod("web", "ok"), None));
    assert!(d.response.allowed, "{:?}", d.findings);
    assert!(d.findings.is_empty(), "{:?}", ids(&d));
    assert!(d.response.warnings.is_empty());
}

#[test]
fn namespace_mode_label_warns_or_audits_instead() {
    let j = judge("");
    let bad = request(
        "CREATE",
        &pod("team", "bad", json!({"privileged": true})),
        None,
    );
    j.set_namespace("team", [(MODE_LABEL, "warn")].into_iter());
    let d = decide(&j, &bad);
    assert!(d.response.allowed);
    assert_eq!(d.mode, Some(AdmissionMode::Warn));
    assert!(d.response.warnings.iter().any(|w| w.contains("privileged")));
    assert!(d
        .response
        .warnings
        .iter()
        .all(|w| w.chars().count() <= MAX_WARNING));

    j.set_namespace("team", [(MODE_LABEL, "audit")].into_iter());
    let d = decide(&j, &bad);
    assert!(d.response.allowed && d.response.warnings.is_empty());
    assert_eq!(d.response.audit_annotations["mode"], "audit");
    assert!(d.response.audit_annotations["findings"].contains("privileged"));

    // A mistyped mode is enforced.
    j.set_namespace("team", [(MODE_LABEL, "off")].into_iter());
    assert!(!decide(&j, &bad).response.allowed);
}

#[test]
fn the_config_sets_the_default_mode_and_the_deny_severity() {
    let bad = request(
        "CREATE",
        &pod("team", "bad", json!({"privileged": true})),
        None,
    );
    let d = decide(&judge("admission:\n  default-mode: warn\n"), &bad);
    assert!(d.response.allowed && !d.response.warnings.is_empty());
    // Nothing is critical enough: allowed, everything a warning.
    let j = judge("admission:\n  deny-severity: critical\nseverity:\n  privileged: high\n");
    let d = decide(&j, &bad);
    assert!(d.response.allowed, "{:?}", d.response.status);
    assert_eq!(d.denied, 0);
}

#[test]
fn namespace_pod_security_labels_set_the_profile() {
    let j = judge("");
    // Runs as root and keeps capabilities: fails restricted, passes baseline.
    let p = pod("legacy", "root", json!({}));
    let restricted = decide(&j, &request("CREATE", &p, None));
    assert!(
        ids(&restricted).contains(&"runAsNonRoot"),
        "{:?}",
        ids(&restricted)
    );
    j.set_namespace(
        "legacy",
        [("pod-security.kubernetes.io/enforce", "baseline")].into_iter(),
    );
    let baseline = decide(&j, &request("CREATE", &p, None));
    assert!(
        !ids(&baseline).contains(&"runAsNonRoot"),
        "{:?}",
        ids(&baseline)
    );
}

#[test]
fn a_reviewed_namespace_is_remembered_unless_it_was_a_dry_run() {
    let j = judge("");
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "sandbox", "labels": {MODE_LABEL: "warn"}}});
    let mut dry = request("CREATE", &ns, None);
    dry["name"] = json!("sandbox");
    dry["dryRun"] = json!(true);
    let d = decide(&j, &dry);
    assert!(d.dry_run && d.response.allowed);
    assert_eq!(j.namespace("sandbox"), None, "a dry run changes nothing");

    let mut real = dry.clone();
    real["dryRun"] = json!(false);
    decide(&j, &real);
    assert_eq!(
        j.namespace("sandbox").unwrap().mode,
        Some(AdmissionMode::Warn)
    );
    let d = decide(
        &j,
        &request(
            "CREATE",
            &pod("sandbox", "p", json!({"privileged": true})),
            None,
        ),
    );
    assert!(d.response.allowed && !d.response.warnings.is_empty());
}

#[test]
fn an_update_is_judged_on_what_it_introduces() {
    let old = pod("web", "p", json!({"privileged": true}));
    let mut new = old.clone();
    new["spec"]["hostNetwork"] = json!(true);
    let req = request("UPDATE", &new, Some(&old));

    let d = decide(&judge(""), &req);
    assert!(!d.response.allowed);
    let found = ids(&d);
    assert!(found.contains(&"hostNamespaces"), "{found:?}");
    assert!(
        !found.contains(&"privileged"),
        "already there before: {found:?}"
    );

    let d = decide(&judge("admission:\n  updates: all\n"), &req);
    assert!(ids(&d).contains(&"privileged"));

    // Nothing new: allowed, though the old problems remain.
    let d = decide(&judge(""), &request("UPDATE", &old, Some(&old)));
    assert!(d.response.allowed && d.findings.is_empty());
}

#[test]
fn reordered_containers_are_the_same_containers() {
    let mut old = pod("web", "p", json!({"privileged": true}));
    let first = old["spec"]["containers"][0].clone();
    let mut second = good_pod("web", "p")["spec"]["containers"][0].clone();
    second["name"] = json!("sidecar");
    old["spec"]["containers"] = json!([first.clone(), second.clone()]);
    let mut new = old.clone();
    new["spec"]["containers"] = json!([second, first]);
    let d = decide(&judge(""), &request("UPDATE", &new, Some(&old)));
    assert!(d.findings.is_empty(), "{:?}", ids(&d));
}

#[test]
fn ephemeral_containers_are_judged_and_other_subresources_pass() {
    let old = good_pod("web", "p");
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = json!([{
        "name": "debugger", "image": "busybox", "securityContext": {"privileged": true}
    }]);
    let mut req = request("UPDATE", &new, Some(&old));
    req["subResource"] = json!("ephemeralcontainers");
    let d = decide(&judge(""), &req);
    assert!(!d.response.allowed);
    assert!(d
        .findings
        .iter()
        .any(|f| f.path.starts_with("spec.ephemeralContainers[0]")));

    req["subResource"] = json!("status");
    let d = decide(&judge(""), &req);
    assert_eq!(d.skipped, Some(Skip::Subresource));
    assert!(d.response.allowed);

    let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web", "namespace": "web"}, "spec": {"replicas": 3}});
    let mut req = request("UPDATE", &scale, Some(&scale));
    req["subResource"] = json!("scale");
    assert_eq!(decide(&judge(""), &req).skipped, Some(Skip::Subresource));
}

#[test]
fn exempt_namespaces_users_and_groups_and_other_operations_pass_unjudged() {
    let j = judge(
        "admission:\n  exempt-namespaces: [kube-*]\n  exempt-users: [system:serviceaccount:kube-system:replicaset-controller]\n  exempt-groups: [system:masters]\n",
    );
    let bad = pod("kube-system", "p", json!({"privileged": true}));
    assert_eq!(
        decide(&j, &request("CREATE", &bad, None)).skipped,
        Some(Skip::ExemptNamespace)
    );
    let bad = pod("web", "p", json!({"privileged": true}));
    let mut req = request("CREATE", &bad, None);
    req["userInfo"]["username"] = json!("system:serviceaccount:kube-system:replicaset-controller");
    assert_eq!(decide(&j, &req).skipped, Some(Skip::ExemptUser));
    let mut req = request("CREATE", &bad, None);
    req["userInfo"]["groups"] = json!(["system:masters"]);
    assert_eq!(decide(&j, &req).skipped, Some(Skip::ExemptUser));
    let mut req = request("DELETE", &bad, None);
    req["object"] = Value::Null;
    let d = decide(&j, &req);
    assert_eq!(d.skipped, Some(Skip::Operation));
    assert!(d.response.allowed);
    // Not exempt: judged.
    assert!(!decide(&j, &request("CREATE", &bad, None)).response.allowed);
}

#[test]
fn unknown_kinds_are_allowed() {
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "web"}, "spec": {"size": 3}});
    let d = decide(&judge(""), &request("CREATE", &widget, None));
    assert!(d.response.allowed && d.findings.is_empty() && d.skipped.is_none());
}

#[test]
fn exceptions_apply_as_in_scan_and_strict_ignores_inline_ones() {
    let mut bad = pod("web", "p", json!({"privileged": true}));
    let config = "exceptions:\n  - checks: [privileged]\n    namespaces: [web]\n    reason: the node agent needs it\n";
    assert!(!ids(&decide(&judge(config), &request("CREATE", &bad, None))).contains(&"privileged"));

    bad["metadata"]["annotations"] =
        json!({"palisade.dev/ignore": "privileged: the node agent needs it"});
    let req = request("CREATE", &bad, None);
    assert!(!ids(&decide(&judge(""), &req)).contains(&"privileged"));
    let strict = judge_with(
        "",
        &Overrides {
            strict: true,
            ..Overrides::default()
        },
    );
    assert!(ids(&decide(&strict, &req)).contains(&"privileged"));
}

#[test]
fn an_object_without_a_namespace_takes_the_requests() {
    let mut bad = pod("web", "p", json!({"privileged": true}));
    bad["metadata"].as_object_mut().unwrap().remove("namespace");
    let mut req = request("CREATE", &bad, None);
    req["namespace"] = json!("web");
    let config = "exceptions:\n  - checks: [privileged]\n    namespaces: [web]\n    reason: the node agent needs it\n";
    let d = decide(&judge(config), &req);
    assert!(!ids(&d).contains(&"privileged"), "{:?}", ids(&d));
    assert_eq!(d.object, "Pod web/p");
}

#[test]
fn hostile_values_stay_inside_the_limits() {
    let mut bad = pod("web", "p", json!({"privileged": true}));
    let name = format!("evil\nX-Injected: yes\r{}", "a".repeat(2000));
    bad["spec"]["containers"][0]["name"] = json!(name);
    for i in 1..60 {
        let mut c = bad["spec"]["containers"][0].clone();
        c["name"] = json!(format!("c{i}"));
        c["securityContext"] = json!({"capabilities": {"add": ["NET_RAW"]}});
        bad["spec"]["containers"].as_array_mut().unwrap().push(c);
    }
    let mut j_warn = request("CREATE", &bad, None);
    j_warn["namespace"] = json!("web");
    let j = judge("admission:\n  default-mode: warn\n");
    let d = decide(&j, &j_warn);
    let w = &d.response.warnings;
    assert!(w.len() <= palisade_admission::MAX_WARNINGS, "{}", w.len());
    assert!(
        w.iter().map(String::len).sum::<usize>() <= palisade_admission::MAX_WARNING_BYTES + 128
    );
    assert!(w.iter().all(|x| x.chars().count() <= MAX_WARNING));
    assert!(w.iter().all(|x| !x.chars().any(char::is_control)));
    assert!(w.last().unwrap().contains("more findings not shown"));
    let d = decide(&judge(""), &j_warn);
    let message = &d.response.status.as_ref().unwrap().message;
    assert!(message.chars().count() <= palisade_admission::MAX_MESSAGE);
    assert!(!message.chars().any(char::is_control));
}

#[test]
fn a_secret_value_is_never_in_the_answer() {
    let token = "ghp_R8x2Kq9Lm4Nv7Pw1Zt6Ys3Bc5Df0Gh2Jk8M";
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "web"},
        "data": {"GITHUB_TOKEN": token}});
    let j = judge("admission:\n  default-mode: warn\n");
    let d = decide(&j, &request("CREATE", &cm, None));
    assert!(!d.findings.is_empty(), "the token is found");
    let answer = serde_json::to_string(&d.response).unwrap();
    assert!(!answer.contains(token), "{answer}");
    assert!(!answer.contains("R8x2Kq9Lm4Nv7Pw1Zt6Ys3"), "{answer}");
}

#[test]
fn checks_needing_the_whole_cluster_are_left_to_scan() {
    // Alone, this binding's role is missing and the Deployment has no NetworkPolicy:
    // in a cluster both may well exist.
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "web"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
        "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "web"}]});
    let d = decide(&judge(""), &request("CREATE", &binding, None));
    assert!(d.findings.is_empty(), "{:?}", ids(&d));
    // A grant a single object shows is judged.
    let admin = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "ci-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}]});
    let d = decide(&judge(""), &request("CREATE", &admin, None));
    assert!(
        ids(&d).contains(&"rbac-cluster-admin-binding"),
        "{:?}",
        ids(&d)
    );
}

#[test]
fn malformed_reviews_are_errors_not_answers() {
    let j = judge("");
    for b in [
        &b"not json"[..],
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","operation":"CREATE","object":{"kind":"Pod"}}}"#,
    ] {
        let r = j.review(b);
        if b.ends_with(b"}}}") {
            // A well-formed review of a nameless Pod is answered.
            assert!(r.unwrap().1.response.allowed);
        } else {
            assert!(r.is_err());
        }
    }
}

#[test]
fn a_network_policy_rule_open_to_all_is_judged() {
    let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "open", "namespace": "web"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}});
    let d = decide(
        &judge("admission:\n  default-mode: warn\n"),
        &request("CREATE", &policy, None),
    );
    assert_eq!(ids(&d), ["netpol-allow-all"]);
    assert!(d.response.warnings[0].contains("netpol-allow-all"));
}
