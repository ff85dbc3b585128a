//! `audit-policy-logs-secrets`: an audit Policy that writes the bodies of requests for
//! Secrets, ConfigMaps or tokens into the audit log.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, Severity};
use palisade_source::Node;

use crate::pss::helpers::{cis, mitre, nsa};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "audit-policy-logs-secrets",
        title: "Audit policy logs Secret or token bodies",
        severity: Severity::High,
        category: Category::Secrets,
        description: "An audit `Policy` (`audit.k8s.io/v1`, the file kube-apiserver's `--audit-policy-file` names) whose first rule matching a request for `secrets`, `configmaps`, `serviceaccounts/token` or `tokenreviews` logs at level `Request` or `RequestResponse`. Rules are read as the API server reads them: the first rule that matches the request sets its level; a rule limited to some users, groups, namespaces or resource names is reported when it logs bodies, since it does so for those requests.",
        rationale: "At `Request` and `RequestResponse` the audit log holds the request and response bodies: every Secret value read or written, service account tokens minted by the TokenRequest API, and the bearer tokens TokenReviews check. Audit logs travel to SIEMs, log buckets and support tickets, where far more people and systems can read them than can read Secrets in the cluster.",
        remediation: "Put a rule logging these resources at `Metadata` before any broader rule, e.g. `- level: Metadata` with `resources: [{group: \"\", resources: [secrets, configmaps, serviceaccounts/token]}, {group: authentication.k8s.io, resources: [tokenreviews]}]`. `palisade audit policy` prints a complete policy that does so.",
        references: &[
            "https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#audit-policy",
            "https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/#audit-k8s-io-v1-Policy",
        ],
        mappings: &[cis("3.2.2"), nsa("Audit logging"), mitre("T1552")],
        peers: &[],
        peer_notes: "kube-bench leaves CIS 3.2.2 to a manual review; the usual manifest scanners do not read audit policies. Palisade applies the API server's first-match rule to each sensitive resource and verb and points at the rule that decides.",
        source: file!(),
    },
    eval,
};

/// Requests whose bodies carry credentials: (API group, resource, verbs).
const SENSITIVE: &[(&str, &str, &[&str])] = &[
    (
        "",
        "secrets",
        &["get", "list", "watch", "create", "update", "patch"],
    ),
    (
        "",
        "configmaps",
        &["get", "list", "watch", "create", "update", "patch"],
    ),
    ("", "serviceaccounts/token", &["create"]),
    ("authentication.k8s.io", "tokenreviews", &["create"]),
];

fn strings(n: Option<Node<'_>>) -> Vec<&str> {
    n.into_iter()
        .flat_map(|l| l.items())
        .filter_map(|i| i.as_str())
        .collect()
}

/// Whether a rule's `resources` entry `wanted` names `resource` (`secrets`,
/// `serviceaccounts/token`) as the API server's policy checker matches it.
fn names_resource(wanted: &str, resource: &str) -> bool {
    if wanted == "*" || wanted == resource {
        return true;
    }
    match resource.split_once('/') {
        Some((res, sub)) => wanted == format!("{res}/*") || wanted == format!("*/{sub}"),
        None => false,
    }
}

/// How a rule applies to a request for `resource` in `group` with `verb`.
enum Applies {
    No,
    /// To some such requests only (some users, groups, namespaces or names).
    Some,
    /// To every such request.
    All,
}

fn applies(rule: Node<'_>, group: &str, resource: &str, verb: &str) -> Applies {
    let verbs = strings(rule.get("verbs"));
    if !verbs.is_empty() && !verbs.contains(&verb) && !verbs.contains(&"*") {
        return Applies::No;
    }
    if rule.get_present("nonResourceURLs").is_some() {
        return Applies::No;
    }
    let mut narrowed = false;
    if let Some(kinds) = rule.get_present("resources") {
        let mut hit = false;
        for k in kinds.items() {
            let g = k.get("group").and_then(|g| g.as_str()).unwrap_or("");
            if g != group && g != "*" {
                continue;
            }
            let names = strings(k.get("resources"));
            if names.is_empty() || names.iter().any(|n| names_resource(n, resource)) {
                hit = true;
                narrowed |= !strings(k.get("resourceNames")).is_empty();
            }
        }
        if !hit {
            return Applies::No;
        }
    }
    let everyone = ["system:authenticated", "system:unauthenticated"];
    let users = strings(rule.get("users"));
    let groups = strings(rule.get("userGroups"));
    narrowed |= !users.is_empty()
        || (!groups.is_empty() && !groups.iter().any(|g| everyone.contains(g)))
        || !strings(rule.get("namespaces")).is_empty();
    if narrowed {
        Applies::Some
    } else {
        Applies::All
    }
}

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let id = &ctx.object.identity;
    if id.kind != "Policy" || !id.api_version.starts_with("audit.k8s.io/") {
        return;
    }
    let Some(rules) = ctx.object.root.get_present("rules") else {
        return;
    };
    // One finding per rule that logs bodies, naming the requests it logs them for.
    let mut found: Vec<(usize, Node<'_>, &str, Vec<String>)> = Vec::new();
    for (group, resource, verbs) in SENSITIVE {
        for verb in *verbs {
            for (i, rule) in rules.items().enumerate() {
                let level = rule.get("level").and_then(|l| l.as_str()).unwrap_or("");
                let decides = match applies(rule, group, resource, verb) {
                    Applies::No => continue,
                    Applies::Some => false,
                    Applies::All => true,
                };
                if level == "Request" || level == "RequestResponse" {
                    let what = format!("{verb} {resource}");
                    match found.iter_mut().find(|(n, ..)| *n == i) {
                        Some((_, _, _, list)) if !list.contains(&what) => list.push(what),
                        Some(_) => {}
                        None => found.push((
                            i,
                            rule.entry("level").map_or(rule, |(_, v)| v),
                            level,
                            vec![what],
                        )),
                    }
                }
                if decides {
                    break;
                }
            }
        }
    }
    for (i, node, level, what) in found {
        out.report(
            meta,
            node,
            ctx.object.path(&format!("rules[{i}].level")),
            format!(
                "audit Policy rule {} logs {level} (request bodies) for {}: credentials are written to the audit log",
                i + 1,
                what.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, Hit};

    fn findings_of(id: &str, yaml: &str) -> Vec<Hit> {
        run(yaml, &[id])
    }

    fn policy(rules: &str) -> String {
        format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}")
    }

    #[test]
    fn first_match_decides() {
        // Metadata for secrets first: the catch-all RequestResponse never sees them...
        let good = policy("  - level: Metadata\n    resources:\n      - group: \"\"\n        resources: [secrets, configmaps, serviceaccounts/token]\n      - group: authentication.k8s.io\n        resources: [tokenreviews]\n  - level: RequestResponse\n");
        assert!(findings_of("audit-policy-logs-secrets", &good).is_empty());
        // ...but with the rules the other way round it logs everything.
        let bad = policy("  - level: RequestResponse\n  - level: Metadata\n    resources:\n      - group: \"\"\n        resources: [secrets]\n");
        let f = findings_of("audit-policy-logs-secrets", &bad);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].path, "rules[0].level");
        assert!(
            f[0].message.contains("get secrets") && f[0].message.contains("create tokenreviews"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn narrowed_rules_and_subresources() {
        // Only for one namespace: still reported (it logs bodies there), and the
        // catch-all after it decides the rest.
        let ns = policy("  - level: Request\n    namespaces: [payments]\n    resources:\n      - group: \"\"\n        resources: [secrets]\n  - level: Metadata\n");
        let f = findings_of("audit-policy-logs-secrets", &ns);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("rule 1 logs Request"),
            "{}",
            f[0].message
        );
        // `serviceaccounts/*` names the token subresource.
        let sub = policy("  - level: RequestResponse\n    resources:\n      - group: \"\"\n        resources: [\"serviceaccounts/*\"]\n  - level: Metadata\n");
        let f = findings_of("audit-policy-logs-secrets", &sub);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("create serviceaccounts/token"));
        // Another group, or reads only of pods: nothing.
        let other = policy("  - level: RequestResponse\n    resources:\n      - group: apps\n  - level: RequestResponse\n    verbs: [get]\n    resources:\n      - group: \"\"\n        resources: [pods]\n  - level: None\n");
        assert!(findings_of("audit-policy-logs-secrets", &other).is_empty());
        // Not an audit Policy.
        assert!(findings_of(
            "audit-policy-logs-secrets",
            "apiVersion: v1\nkind: Policy\nrules:\n  - level: RequestResponse\n"
        )
        .is_empty());
    }

    #[test]
    fn the_recommended_policy_passes() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../palisade-audit/policy/audit-policy.yaml"
        ))
        .unwrap();
        assert!(findings_of("audit-policy-logs-secrets", &text).is_empty());
    }
}
