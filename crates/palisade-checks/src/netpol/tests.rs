//! Each network-policy check on small inputs, through the analysis as the scan runs it.

use palisade_model::Severity;

use super::ANALYSIS;
use crate::testing::{run_analysis, AnalysisHit as Hit};

fn run(yaml: &str, ids: &[&'static str]) -> Vec<Hit> {
    run_analysis(&ANALYSIS, "net.yaml", yaml, ids)
}

fn ids(hits: &[Hit]) -> Vec<&'static str> {
    hits.iter().map(|h| h.id).collect()
}

fn deployment(namespace: &str, name: &str, app: &str) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec: {{containers: [{{name: c, image: x, ports: [{{name: http, containerPort: 8080}}]}}]}}
"
    )
}

fn policy(namespace: &str, name: &str, spec: &str) -> String {
    format!("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}")
}

const DENY_ALL: &str = "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n";

#[test]
fn namespaces_without_default_deny_and_workloads_without_policies() {
    let yaml = [
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n".to_owned(),
        deployment("shop", "web", "web"),
        deployment("shop", "db", "db"),
        deployment("other", "api", "api"),
    ]
    .concat();
    let hits = run(
        &yaml,
        &[
            "netpol-missing-default-deny-ingress",
            "netpol-missing-default-deny-egress",
            "netpol-workload-not-isolated",
        ],
    );
    let count = |id| hits.iter().filter(|h| h.id == id).count();
    assert_eq!(count("netpol-missing-default-deny-ingress"), 2, "{hits:#?}");
    assert_eq!(count("netpol-missing-default-deny-egress"), 2);
    assert_eq!(count("netpol-workload-not-isolated"), 3);
    // shop's finding is on its Namespace object; other has none, so its first workload.
    let shop = hits
        .iter()
        .find(|h| {
            h.id == "netpol-missing-default-deny-ingress" && h.message.contains("namespace shop")
        })
        .unwrap();
    assert_eq!((shop.object, shop.path.as_str()), (0, "metadata.name"));
    assert!(
        shop.message
            .contains("2 of its 2 workloads are open for ingress"),
        "{}",
        shop.message
    );
    let other = hits
        .iter()
        .find(|h| {
            h.id == "netpol-missing-default-deny-ingress" && h.message.contains("namespace other")
        })
        .unwrap();
    assert_eq!(other.object, 3);
    // A default deny in shop clears shop.
    let yaml = [yaml, policy("shop", "deny", DENY_ALL)].concat();
    let hits = run(
        &yaml,
        &[
            "netpol-missing-default-deny-ingress",
            "netpol-missing-default-deny-egress",
            "netpol-workload-not-isolated",
        ],
    );
    assert!(
        hits.iter().all(|h| !h.message.contains("shop")),
        "{hits:#?}"
    );
    assert_eq!(hits.len(), 3, "{hits:#?}");
}

#[test]
fn an_egress_only_policy_does_not_isolate_ingress() {
    let yaml = [
        deployment("shop", "web", "web"),
        policy(
            "shop",
            "out",
            "  podSelector: {}\n  policyTypes: [Egress]\n",
        ),
    ]
    .concat();
    assert_eq!(
        ids(&run(
            &yaml,
            &[
                "netpol-workload-not-isolated",
                "netpol-missing-default-deny-egress"
            ]
        )),
        ["netpol-workload-not-isolated"]
    );
}

#[test]
fn exposed_workloads_must_be_isolated() {
    let service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports: [{port: 80}]\n";
    let internal = "---\napiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: shop}\nspec:\n  selector: {app: db}\n  ports: [{port: 5432}]\n";
    let yaml = [
        deployment("shop", "web", "web"),
        deployment("shop", "db", "db"),
        service.to_owned(),
        internal.to_owned(),
    ]
    .concat();
    let hits = run(&yaml, &["netpol-exposed-not-isolated"]);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(
        (hits[0].path.as_str(), hits[0].severity),
        ("spec.type", Severity::High)
    );
    assert!(
        hits[0]
            .message
            .contains("LoadBalancer Service shop/web exposes shop/web[Deployment]"),
        "{}",
        hits[0].message
    );
    let isolated = policy(
        "shop",
        "web",
        "  podSelector: {matchLabels: {app: web}}\n  ingress: [{ports: [{port: http}]}]\n",
    );
    assert!(run(&[yaml, isolated].concat(), &["netpol-exposed-not-isolated"]).is_empty());
}

#[test]
fn rules_open_to_everyone() {
    let yaml = [
        deployment("shop", "web", "web"),
        policy(
            "shop",
            "open",
            "  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - {}
  - ports: [{port: 443}]
  - from: [{namespaceSelector: {}}, {namespaceSelector: {}, podSelector: {matchLabels: {app: x}}}]
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]
",
        ),
    ]
    .concat();
    let hits = run(&yaml, &["netpol-allow-all"]);
    let summary: Vec<(&str, Severity)> =
        hits.iter().map(|h| (h.path.as_str(), h.severity)).collect();
    assert_eq!(
        summary,
        [
            ("spec.ingress[0]", Severity::Medium),
            ("spec.ingress[1]", Severity::Low),
            ("spec.ingress[2].from[0]", Severity::Medium),
            ("spec.egress[0].to[0]", Severity::Low),
        ],
        "{hits:#?}"
    );
    assert!(
        hits[2].message.contains("every pod of every namespace"),
        "{}",
        hits[2].message
    );
    assert!(
        hits[3]
            .message
            .contains("every address outside the cluster"),
        "{}",
        hits[3].message
    );
}

#[test]
fn egress_to_the_metadata_address() {
    let rules = [
        ("[{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]", true),
        ("[{}]", true),
        (
            "[{to: [{ipBlock: {cidr: 169.254.0.0/16}}], ports: [{port: 1, endPort: 1024}]}]",
            true,
        ),
        (
            "[{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}]",
            false,
        ),
        (
            "[{to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: 443}]}]",
            false,
        ),
        (
            "[{to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: 80, protocol: UDP}]}]",
            false,
        ),
        ("[{to: [{namespaceSelector: {}}]}]", false),
    ];
    for (egress, fires) in rules {
        let yaml = policy(
            "shop",
            "out",
            &format!("  podSelector: {{}}\n  policyTypes: [Egress]\n  egress: {egress}\n"),
        );
        let hits = run(&yaml, &["netpol-egress-metadata"]);
        assert_eq!(hits.len(), usize::from(fires), "{egress}: {hits:#?}");
    }
}

#[test]
fn policies_and_peers_that_select_nothing() {
    let yaml = [
        deployment("shop", "web", "web"),
        deployment("shop", "db", "db"),
        policy("shop", "typo", "  podSelector: {matchLabels: {app: wbe}}\n"),
        policy(
            "shop",
            "db",
            "  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}, {podSelector: {matchLabels: {app: wbe}}}, {namespaceSelector: {matchLabels: {team: x}}, podSelector: {matchLabels: {app: nothing}}}]}]\n",
        ),
        // No workloads of this namespace in the input: not judged.
        policy("elsewhere", "p", "  podSelector: {matchLabels: {app: none}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: none}}}]}]\n"),
    ]
    .concat();
    let hits = run(
        &yaml,
        &[
            "netpol-policy-selects-nothing",
            "netpol-peer-selects-nothing",
        ],
    );
    assert_eq!(
        ids(&hits),
        [
            "netpol-policy-selects-nothing",
            "netpol-peer-selects-nothing"
        ],
        "{hits:#?}"
    );
    assert!(
        hits[0]
            .message
            .contains("NetworkPolicy shop/typo selects none"),
        "{}",
        hits[0].message
    );
    assert_eq!(hits[1].path, "spec.ingress[0].from[1]");
    assert!(hits[1].message.contains("app=wbe"), "{}", hits[1].message);
}

#[test]
fn namespaces_with_operated_resources_are_not_judged_for_empty_selectors() {
    // An operator runs the Prometheus pods; the input only holds its custom resource.
    let yaml = [
        deployment("monitoring", "grafana", "grafana"),
        "---\napiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: k8s, namespace: monitoring}\nspec: {replicas: 2}\n".to_owned(),
        policy("monitoring", "prometheus", "  podSelector: {matchLabels: {app: prometheus}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: prometheus}}}]}]\n"),
    ]
    .concat();
    assert!(run(
        &yaml,
        &[
            "netpol-policy-selects-nothing",
            "netpol-peer-selects-nothing"
        ]
    )
    .is_empty());
    // Without the custom resource, both are reported.
    let plain = yaml
        .replace("kind: Prometheus", "kind: ConfigMap")
        .replace("monitoring.coreos.com/v1", "v1");
    assert_eq!(
        run(
            &plain,
            &[
                "netpol-policy-selects-nothing",
                "netpol-peer-selects-nothing"
            ]
        )
        .len(),
        2
    );
}

#[test]
fn rules_of_a_direction_the_policy_does_not_enforce_are_not_judged() {
    let yaml = [
        deployment("shop", "web", "web"),
        policy(
            "shop",
            "in-only",
            "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]\n  egress: [{}, {to: [{podSelector: {matchLabels: {app: nothing}}}]}]\n",
        ),
    ]
    .concat();
    assert!(run(
        &yaml,
        &[
            "netpol-allow-all",
            "netpol-peer-selects-nothing",
            "netpol-egress-metadata"
        ]
    )
    .is_empty());
}
