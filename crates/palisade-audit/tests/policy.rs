//! The recommended audit policy, read with the API server's first-match rule: Secrets
//! and tokens never at a level with bodies, the changes Palisade's rules read with
//! bodies, and control-plane noise dropped.

use palisade_audit::RECOMMENDED_POLICY;
use palisade_source::{parse_document, split_documents, Limits, Node};
use serde_json::Value;

struct Request<'a> {
    user: &'a str,
    groups: &'a [&'a str],
    verb: &'a str,
    group: &'a str,
    resource: &'a str,
    uri: &'a str,
}

fn req<'a>(
    user: &'a str,
    groups: &'a [&'a str],
    verb: &'a str,
    group: &'a str,
    resource: &'a str,
    uri: &'a str,
) -> Request<'a> {
    Request {
        user,
        groups,
        verb,
        group,
        resource,
        uri,
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The level of the first rule that matches `r`, as kube-apiserver's policy checker.
fn level(policy: &Value, r: &Request<'_>) -> String {
    for rule in policy["rules"].as_array().unwrap() {
        let users = strings(&rule["users"]);
        if !users.is_empty() && !users.contains(&r.user) {
            continue;
        }
        let groups = strings(&rule["userGroups"]);
        if !groups.is_empty() && !groups.iter().any(|g| r.groups.contains(g)) {
            continue;
        }
        let verbs = strings(&rule["verbs"]);
        if !verbs.is_empty() && !verbs.contains(&r.verb) {
            continue;
        }
        let urls = strings(&rule["nonResourceURLs"]);
        if !urls.is_empty() {
            let hit = r.resource.is_empty()
                && urls.iter().any(|u| match u.strip_suffix('*') {
                    Some(prefix) => r.uri.starts_with(prefix),
                    None => r.uri == *u,
                });
            if !hit {
                continue;
            }
        }
        if let Some(kinds) = rule["resources"].as_array() {
            if r.resource.is_empty() {
                continue;
            }
            let hit = kinds.iter().any(|k| {
                k["group"].as_str().unwrap_or("") == r.group && {
                    let names = strings(&k["resources"]);
                    names.is_empty() || names.contains(&r.resource)
                }
            });
            if !hit {
                continue;
            }
        }
        return rule["level"].as_str().unwrap().to_owned();
    }
    "None".to_owned()
}

fn policy() -> Value {
    let chunk = &split_documents(RECOMMENDED_POLICY)[0];
    let doc = parse_document(
        &RECOMMENDED_POLICY[chunk.range.clone()],
        chunk,
        &Limits::default(),
    )
    .unwrap();
    let root: Node<'_> = doc.root().unwrap();
    root.to_json()
}

#[test]
fn secrets_never_have_their_bodies_logged() {
    let p = policy();
    assert_eq!(p["apiVersion"], "audit.k8s.io/v1");
    assert_eq!(p["kind"], "Policy");
    assert_eq!(p["omitStages"][0], "RequestReceived");
    let jane = ["system:authenticated"];
    for verb in ["get", "list", "create", "update", "patch", "delete"] {
        for (group, resource) in [
            ("", "secrets"),
            ("", "configmaps"),
            ("", "serviceaccounts/token"),
            ("authentication.k8s.io", "tokenreviews"),
            ("certificates.k8s.io", "certificatesigningrequests"),
        ] {
            let r = Request {
                user: "jane",
                groups: &jane,
                verb,
                group,
                resource,
                uri: "",
            };
            assert_eq!(level(&p, &r), "Metadata", "{verb} {resource}");
        }
    }
}

#[test]
fn what_palisade_rules_read_is_logged_at_the_level_they_need() {
    let p = policy();
    let jane = ["system:authenticated"];
    let at = |verb, group, resource| {
        level(
            &p,
            &Request {
                user: "jane",
                groups: &jane,
                verb,
                group,
                resource,
                uri: "",
            },
        )
    };
    // Bodies: privileged pods, cluster-admin bindings, wildcard roles, NodePorts.
    assert_eq!(at("create", "", "pods"), "RequestResponse");
    assert_eq!(at("patch", "apps", "deployments"), "RequestResponse");
    assert_eq!(
        at("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
        "RequestResponse"
    );
    assert_eq!(
        at("update", "rbac.authorization.k8s.io", "roles"),
        "RequestResponse"
    );
    assert_eq!(at("create", "", "services"), "RequestResponse");
    assert_eq!(
        at(
            "delete",
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations"
        ),
        "RequestResponse"
    );
    // Who and where: exec, tunnels, reads, event deletion.
    assert_eq!(at("create", "", "pods/exec"), "Metadata");
    assert_eq!(at("get", "", "nodes/proxy"), "Metadata");
    assert_eq!(at("get", "", "pods"), "Metadata");
    assert_eq!(at("deletecollection", "", "events"), "Metadata");
    // Noise.
    assert_eq!(at("create", "", "events"), "None");
    assert_eq!(at("update", "coordination.k8s.io", "leases"), "None");
    let probe = req("system:anonymous", &[], "get", "", "", "/readyz");
    assert_eq!(level(&p, &probe), "None");
    let proxy = req(
        "system:kube-proxy",
        &["system:authenticated"],
        "watch",
        "discovery.k8s.io",
        "endpointslices",
        "",
    );
    assert_eq!(level(&p, &proxy), "None");
    // Anything else still leaves a trace.
    let other = req("jane", &jane, "create", "example.com", "widgets", "");
    assert_eq!(level(&p, &other), "Metadata");
}
