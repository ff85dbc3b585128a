//! Palisade's own audit rules: each fires on the event it is about and stays quiet on
//! its nearest harmless neighbour.

use palisade_audit::{detect, AuditEvent, Loader, RuleSet, PALISADE_RULES};
use serde_json::{json, Value};

fn rules() -> RuleSet {
    let mut loader = Loader::default();
    loader
        .add("palisade_k8s_audit.yaml", PALISADE_RULES)
        .unwrap();
    loader.compile()
}

/// A completed, allowed request by `user`, with `extra` merged over it.
fn event(user: &str, verb: &str, resource: &str, extra: Value) -> Value {
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": "0b1c", "stage": "ResponseComplete", "verb": verb,
        "requestURI": format!("/api/v1/namespaces/prod/{resource}/x"),
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.9"],
        "objectRef": {"resource": resource, "namespace": "prod", "name": "x"},
        "responseStatus": {"code": 200},
        "annotations": {"authorization.k8s.io/decision": "allow"},
        "stageTimestamp": "2026-12-04T10:00:00Z",
    });
    merge(&mut e, extra);
    e
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

fn fired(rules: &RuleSet, e: &Value) -> Vec<String> {
    let text = e.to_string();
    detect(rules, &AuditEvent::parse(&text).unwrap())
        .iter()
        .map(|d| d.rule.name.clone())
        .collect()
}

fn pod(spec: Value) -> Value {
    json!({"requestObject": {"kind": "Pod", "spec": spec}})
}

#[test]
fn every_rule_loads_and_carries_a_mitre_technique() {
    let rules = rules();
    assert!(rules.notices.is_empty(), "{:?}", rules.notices);
    assert_eq!(rules.rules.len(), 20);
    for r in &rules.rules {
        assert!(
            r.tags
                .iter()
                .any(|t| t.starts_with('T')
                    && t[1..].chars().next().is_some_and(|c| c.is_ascii_digit())),
            "{}",
            r.name
        );
        assert!(!r.desc.is_empty() && !r.output.is_empty());
    }
}

#[test]
fn each_rule_fires_on_its_event_and_not_on_its_neighbour() {
    let rules = rules();
    let jane = "jane@example.com";
    let sa = "system:serviceaccount:ci:deployer";
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "Palisade Exec Or Attach Into Pod",
            event(
                jane,
                "create",
                "pods",
                json!({"objectRef": {"subresource": "exec"}, "responseStatus": {"code": 101}}),
            ),
            event(jane, "get", "pods", json!({})),
        ),
        (
            "Palisade Ephemeral Container Added",
            event(
                jane,
                "patch",
                "pods",
                json!({"objectRef": {"subresource": "ephemeralcontainers"}}),
            ),
            event(
                jane,
                "patch",
                "pods",
                json!({"objectRef": {"subresource": "status"}}),
            ),
        ),
        (
            "Palisade Port Forward Or Node Proxy",
            event(
                jane,
                "get",
                "nodes",
                json!({"objectRef": {"subresource": "proxy"}}),
            ),
            event(jane, "get", "nodes", json!({})),
        ),
        (
            "Palisade Secret Read By A Person",
            event(jane, "get", "secrets", json!({})),
            event(sa, "get", "secrets", json!({})),
        ),
        (
            "Palisade Privileged Workload",
            event(
                sa,
                "create",
                "pods",
                pod(
                    // An init container runs with the same privilege on the node.
                    json!({"initContainers": [{"name": "i", "image": "x", "securityContext": {"privileged": true}}], "containers": [{"name": "a", "image": "x"}]}),
                ),
            ),
            event(
                sa,
                "create",
                "pods",
                pod(json!({"containers": [{"name": "a", "image": "x"}]})),
            ),
        ),
        (
            "Palisade Host Namespaces Workload",
            event(
                sa,
                "create",
                "pods",
                pod(json!({"hostPID": true, "containers": [{"name": "a", "image": "x"}]})),
            ),
            event(
                sa,
                "create",
                "pods",
                pod(json!({"hostPID": false, "containers": [{"name": "a", "image": "x"}]})),
            ),
        ),
        (
            "Palisade Sensitive Host Path Mounted",
            event(
                sa,
                "create",
                "pods",
                pod(
                    json!({"containers": [], "volumes": [{"name": "s", "hostPath": {"path": "/var/run/docker.sock"}}]}),
                ),
            ),
            event(
                sa,
                "create",
                "pods",
                pod(
                    json!({"containers": [], "volumes": [{"name": "s", "hostPath": {"path": "/var/log"}}]}),
                ),
            ),
        ),
        (
            "Palisade Cluster Admin Binding",
            event(
                jane,
                "create",
                "clusterrolebindings",
                json!({"requestObject": {"roleRef": {"name": "cluster-admin"}, "subjects": [{"kind": "User", "name": "mallory"}]}}),
            ),
            event(
                jane,
                "create",
                "clusterrolebindings",
                json!({"requestObject": {"roleRef": {"name": "view"}, "subjects": [{"kind": "User", "name": "mallory"}]}}),
            ),
        ),
        (
            "Palisade Wildcard Role",
            event(
                jane,
                "create",
                "clusterroles",
                json!({"requestObject": {"rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]}}),
            ),
            event(
                jane,
                "create",
                "clusterroles",
                json!({"requestObject": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}}),
            ),
        ),
        (
            "Palisade Anonymous Request Allowed",
            event("system:anonymous", "get", "configmaps", json!({})),
            event(
                "system:anonymous",
                "get",
                "configmaps",
                json!({"annotations": {"authorization.k8s.io/decision": "forbid"}}),
            ),
        ),
        (
            "Palisade Impersonation",
            event(
                jane,
                "get",
                "pods",
                json!({"impersonatedUser": {"username": "admin"}}),
            ),
            event(
                jane,
                "get",
                "pods",
                json!({"impersonatedUser": {"username": "admin"}, "responseStatus": {"code": 403}}),
            ),
        ),
        (
            "Palisade Service Account Token Created",
            event(
                jane,
                "create",
                "serviceaccounts",
                json!({"objectRef": {"subresource": "token"}}),
            ),
            event(
                "system:kube-controller-manager",
                "create",
                "serviceaccounts",
                json!({"objectRef": {"subresource": "token"}}),
            ),
        ),
        (
            "Palisade Certificate Request Approved",
            event(
                jane,
                "update",
                "certificatesigningrequests",
                json!({"objectRef": {"subresource": "approval"}}),
            ),
            event(
                jane,
                "update",
                "certificatesigningrequests",
                json!({"objectRef": {"subresource": "status"}}),
            ),
        ),
        (
            "Palisade Admission Webhook Changed",
            event(jane, "delete", "validatingwebhookconfigurations", json!({})),
            event(jane, "get", "validatingwebhookconfigurations", json!({})),
        ),
        (
            "Palisade Events Deleted By A Person",
            event(jane, "deletecollection", "events", json!({})),
            event(
                "system:serviceaccount:kube-system:ttl-controller",
                "deletecollection",
                "events",
                json!({}),
            ),
        ),
        (
            "Palisade NodePort Service",
            event(
                jane,
                "create",
                "services",
                json!({"requestObject": {"spec": {"type": "NodePort", "ports": [{"port": 80}]}}}),
            ),
            event(
                jane,
                "create",
                "services",
                json!({"requestObject": {"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}}),
            ),
        ),
        (
            "Palisade Service Account Probing Permissions",
            event(
                sa,
                "list",
                "secrets",
                json!({"responseStatus": {"code": 403}}),
            ),
            event(
                jane,
                "list",
                "secrets",
                json!({"responseStatus": {"code": 403}}),
            ),
        ),
    ];
    // The rules that keep state are tested in order, in tests/stateful.rs.
    let stateless = rules.rules.iter().filter(|r| r.state.is_none()).count();
    assert_eq!(cases.len(), stateless, "a case per rule");
    for (name, positive, negative) in &cases {
        assert!(
            fired(&rules, positive).contains(&(*name).to_owned()),
            "{name} did not fire: {positive}"
        );
        assert!(
            !fired(&rules, negative).contains(&(*name).to_owned()),
            "{name} fired on {negative}"
        );
        // Nothing fires before the response (stage RequestReceived).
        let mut early = positive.clone();
        early["stage"] = json!("RequestReceived");
        assert!(fired(&rules, &early).is_empty(), "{name} fired early");
    }
}
