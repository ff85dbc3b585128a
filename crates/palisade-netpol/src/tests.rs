//! NetworkPolicy semantics, case by case, many from the Kubernetes documentation.

use std::net::IpAddr;
use std::sync::Arc;

use palisade_inventory::map_objects_in_text;
use palisade_source::Limits;

use crate::*;

fn model(yaml: &str) -> Model {
    let (records, errors) = map_objects_in_text(
        &Arc::from("test.yaml"),
        yaml,
        &Limits::default(),
        &record_of,
    );
    assert!(errors.is_empty(), "{errors:?}");
    Model::build(records)
}

fn pod(m: &Model, namespace: &str, name: &str) -> Endpoint {
    let i = m
        .workloads
        .iter()
        .position(|w| w.namespace == namespace && w.name == name)
        .unwrap_or_else(|| panic!("no workload {namespace}/{name}"));
    Endpoint::Workload(i)
}

fn ip(text: &str) -> Endpoint {
    Endpoint::External(text.parse::<IpAddr>().unwrap())
}

fn conns(m: &Model, src: Endpoint, dst: Endpoint) -> String {
    m.evaluate(src, dst).allowed.to_string()
}

/// A Deployment whose pods carry `labels` and expose `ports` (YAML flow list).
fn deployment(namespace: &str, name: &str, labels: &str, ports: &str) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  template:
    metadata: {{labels: {labels}}}
    spec:
      containers: [{{name: c, image: x, ports: {ports}}}]
"
    )
}

fn namespace(name: &str, labels: &str) -> String {
    format!("---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {labels}}}\n")
}

fn policy(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}"
    )
}

#[test]
fn without_policies_everything_is_allowed() {
    let m = model(
        &[
            deployment("a", "web", "{app: web}", "[]"),
            deployment("b", "db", "{app: db}", "[]"),
        ]
        .concat(),
    );
    assert_eq!(
        conns(&m, pod(&m, "a", "web"), pod(&m, "b", "db")),
        "All Connections"
    );
    assert_eq!(
        conns(&m, pod(&m, "a", "web"), ip("8.8.8.8")),
        "All Connections"
    );
}

#[test]
fn default_deny_ingress_isolates_only_ingress_and_only_its_namespace() {
    let m = model(
        &[
            deployment("a", "web", "{app: web}", "[]"),
            deployment("a", "api", "{app: api}", "[]"),
            deployment("b", "db", "{app: db}", "[]"),
            policy(
                "a",
                "default-deny",
                "  podSelector: {}\n  policyTypes: [Ingress]\n",
            ),
        ]
        .concat(),
    );
    assert_eq!(
        conns(&m, pod(&m, "a", "web"), pod(&m, "a", "api")),
        "No Connections"
    );
    assert_eq!(
        conns(&m, pod(&m, "b", "db"), pod(&m, "a", "web")),
        "No Connections"
    );
    assert_eq!(
        conns(&m, ip("1.2.3.4"), pod(&m, "a", "web")),
        "No Connections"
    );
    // Egress of the isolated pods, and other namespaces, stay open.
    assert_eq!(
        conns(&m, pod(&m, "a", "web"), pod(&m, "b", "db")),
        "All Connections"
    );
    let v = m.evaluate(pod(&m, "b", "db"), pod(&m, "a", "web"));
    assert_eq!(v.ingress.isolating, [0]);
    assert!(v.egress.isolating.is_empty());
}

#[test]
fn policy_types_default_to_ingress_plus_egress_when_there_are_egress_rules() {
    let spec_with_egress = "  podSelector: {matchLabels: {app: web}}\n  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]\n";
    let spec_empty_egress = "  podSelector: {matchLabels: {app: web}}\n  egress: []\n";
    for (spec, egress_isolated) in [(spec_with_egress, true), (spec_empty_egress, false)] {
        let m = model(
            &[
                deployment("a", "web", "{app: web}", "[]"),
                deployment("a", "db", "{app: db}", "[]"),
                deployment("a", "cache", "{app: cache}", "[]"),
                policy("a", "p", spec),
            ]
            .concat(),
        );
        assert!(
            m.policies[0].ingress_type,
            "Ingress is always a default type"
        );
        assert_eq!(m.policies[0].egress_type, egress_isolated, "{spec}");
        // No ingress rules: ingress to web is denied either way.
        assert_eq!(
            conns(&m, pod(&m, "a", "db"), pod(&m, "a", "web")),
            "No Connections"
        );
        let to_cache = conns(&m, pod(&m, "a", "web"), pod(&m, "a", "cache"));
        assert_eq!(
            to_cache == "No Connections",
            egress_isolated,
            "{spec}: {to_cache}"
        );
        assert_eq!(
            conns(&m, pod(&m, "a", "web"), pod(&m, "a", "db")),
            "All Connections"
        );
    }
}

/// The documentation's `test-network-policy`.
#[test]
fn the_documentation_example_policy() {
    let m = model(
        &[
            namespace("default", "{}"),
            namespace("mine", "{project: myproject}"),
            namespace("other", "{project: theirs}"),
            deployment("default", "db", "{role: db}", "[]"),
            deployment("default", "frontend", "{role: frontend}", "[]"),
            deployment("default", "backend", "{role: backend}", "[]"),
            deployment("mine", "tool", "{app: tool}", "[]"),
            deployment("other", "tool", "{app: tool}", "[]"),
            policy(
                "default",
                "test-network-policy",
                "  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
    - namespaceSelector: {matchLabels: {project: myproject}}
    - podSelector: {matchLabels: {role: frontend}}
    ports: [{protocol: TCP, port: 6379}]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/24}}]
    ports: [{protocol: TCP, port: 5978}]
",
            ),
        ]
        .concat(),
    );
    let db = pod(&m, "default", "db");
    assert_eq!(conns(&m, pod(&m, "default", "frontend"), db), "TCP 6379");
    assert_eq!(
        conns(&m, pod(&m, "default", "backend"), db),
        "No Connections"
    );
    assert_eq!(conns(&m, pod(&m, "mine", "tool"), db), "TCP 6379");
    assert_eq!(conns(&m, pod(&m, "other", "tool"), db), "No Connections");
    assert_eq!(conns(&m, ip("172.17.0.5"), db), "TCP 6379");
    assert_eq!(conns(&m, ip("172.17.1.5"), db), "No Connections", "except");
    assert_eq!(conns(&m, db, ip("10.0.0.7")), "TCP 5978");
    assert_eq!(conns(&m, db, ip("10.0.1.7")), "No Connections");
    assert_eq!(
        conns(&m, db, pod(&m, "default", "frontend")),
        "No Connections",
        "egress isolated"
    );
    let v = m.evaluate(pod(&m, "default", "frontend"), db);
    assert_eq!(v.ingress.rules.len(), 1);
    assert_eq!(v.ingress.rules[0].0, (0, Direction::Ingress, 0));
}

/// The documentation's "namespaceSelector and podSelector" case: one peer with both
/// selectors is an AND, two peers an OR.
#[test]
fn both_selectors_in_one_peer_versus_two_peers() {
    let base = [
        namespace("alice-ns", "{user: alice}"),
        namespace("bob-ns", "{user: bob}"),
        deployment("alice-ns", "client", "{role: client}", "[]"),
        deployment("alice-ns", "server", "{role: server}", "[]"),
        deployment("bob-ns", "client", "{role: client}", "[]"),
        deployment("target", "api", "{app: api}", "[]"),
    ]
    .concat();
    let and = policy(
        "target",
        "p",
        "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {user: alice}}\n      podSelector: {matchLabels: {role: client}}\n",
    );
    let or = policy(
        "target",
        "p",
        "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {user: alice}}\n    - podSelector: {matchLabels: {role: client}}\n",
    );
    let m = model(&[base.clone(), and].concat());
    let api = pod(&m, "target", "api");
    assert_eq!(
        conns(&m, pod(&m, "alice-ns", "client"), api),
        "All Connections"
    );
    assert_eq!(
        conns(&m, pod(&m, "alice-ns", "server"), api),
        "No Connections"
    );
    assert_eq!(
        conns(&m, pod(&m, "bob-ns", "client"), api),
        "No Connections"
    );
    let m = model(&[base, or].concat());
    let api = pod(&m, "target", "api");
    assert_eq!(
        conns(&m, pod(&m, "alice-ns", "client"), api),
        "All Connections"
    );
    assert_eq!(
        conns(&m, pod(&m, "alice-ns", "server"), api),
        "All Connections",
        "any pod of alice's namespace"
    );
    // A bare podSelector means the policy's own namespace: bob's client is elsewhere.
    assert_eq!(
        conns(&m, pod(&m, "bob-ns", "client"), api),
        "No Connections"
    );
}

#[test]
fn namespaces_carry_the_automatic_name_label() {
    let m = model(
        &[
            deployment("monitoring", "prom", "{app: prom}", "[]"),
            deployment("other", "x", "{app: x}", "[]"),
            deployment("apps", "web", "{app: web}", "[]"),
            policy(
                "apps",
                "from-monitoring",
                "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]\n",
            ),
        ]
        .concat(),
    );
    let web = pod(&m, "apps", "web");
    assert_eq!(
        conns(&m, pod(&m, "monitoring", "prom"), web),
        "All Connections"
    );
    assert_eq!(conns(&m, pod(&m, "other", "x"), web), "No Connections");
}

#[test]
fn named_ports_resolve_on_each_destination() {
    let m = model(
        &[
            deployment("a", "v1", "{app: web}", "[{name: http, containerPort: 8080}]"),
            deployment("a", "v2", "{app: web}", "[{name: http, containerPort: 9090}, {name: dns, containerPort: 53, protocol: UDP}]"),
            deployment("a", "client", "{app: client}", "[]"),
            policy(
                "a",
                "web",
                "  podSelector: {matchLabels: {app: web}}\n  ingress: [{ports: [{port: http}, {port: dns, protocol: UDP}, {port: dns}]}]\n",
            ),
            policy(
                "a",
                "client-out",
                "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: http}]}]\n",
            ),
        ]
        .concat(),
    );
    let client = pod(&m, "a", "client");
    assert_eq!(conns(&m, client, pod(&m, "a", "v1")), "TCP 8080");
    // `dns` is UDP on v2: the TCP entry for it matches nothing.
    assert_eq!(conns(&m, client, pod(&m, "a", "v2")), "TCP 9090");
    assert_eq!(
        conns(&m, pod(&m, "a", "v1"), pod(&m, "a", "v2")),
        "TCP 9090,UDP 53"
    );
    // An external address has no named ports.
    assert_eq!(conns(&m, client, ip("8.8.8.8")), "No Connections");
}

#[test]
fn port_ranges_protocols_and_the_union_of_policies() {
    let m = model(
        &[
            deployment("a", "svc", "{app: svc}", "[]"),
            deployment("a", "client", "{app: client}", "[]"),
            policy("a", "range", "  podSelector: {matchLabels: {app: svc}}\n  ingress: [{ports: [{port: 32000, endPort: 32768}, {protocol: SCTP}]}]\n"),
            policy("a", "dns", "  podSelector: {matchLabels: {app: svc}}\n  ingress: [{ports: [{port: 53, protocol: UDP}, {port: 53}]}]\n"),
        ]
        .concat(),
    );
    assert_eq!(
        conns(&m, pod(&m, "a", "client"), pod(&m, "a", "svc")),
        "SCTP 1-65535,TCP 53,32000-32768,UDP 53"
    );
}

#[test]
fn a_connection_needs_both_egress_and_ingress() {
    let m = model(
        &[
            deployment("a", "web", "{app: web}", "[]"),
            deployment("b", "db", "{app: db}", "[]"),
            policy("a", "web-out", "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {}}], ports: [{port: 5432}, {port: 6379}]}]\n"),
            policy("b", "db-in", "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 5432}]}]\n"),
        ]
        .concat(),
    );
    assert_eq!(
        conns(&m, pod(&m, "a", "web"), pod(&m, "b", "db")),
        "TCP 5432"
    );
    assert_eq!(
        conns(&m, pod(&m, "b", "db"), pod(&m, "a", "web")),
        "All Connections"
    );
    // `from: [{namespaceSelector: {}}]` is every pod, not external addresses.
    assert_eq!(
        conns(&m, ip("1.1.1.1"), pod(&m, "b", "db")),
        "No Connections"
    );
}

#[test]
fn malformed_policies_are_errors_naming_the_field_and_the_rest_is_read() {
    let yaml = [
        policy("a", "bad-protocol", "  podSelector: {}\n  ingress: [{ports: [{protocol: tcp, port: 80}]}]\n"),
        policy("a", "bad-end", "  podSelector: {}\n  ingress: [{ports: [{port: http, endPort: 90}]}]\n"),
        policy("a", "bad-except", "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]\n"),
        policy("a", "bad-type", "  podSelector: {}\n  policyTypes: [Inbound]\n"),
        policy("a", "bad-port", "  podSelector: {}\n  ingress: [{ports: [{port: 70000}]}]\n"),
        policy("a", "good", "  podSelector: {}\n  policyTypes: [Ingress]\n"),
    ]
    .concat();
    let (records, errors) =
        map_objects_in_text(&Arc::from("p.yaml"), &yaml, &Limits::default(), &record_of);
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 5, "{messages:#?}");
    for (i, needle) in [
        "protocol must be TCP, UDP or SCTP",
        "endPort needs a numeric port",
        "strictly inside 10.0.0.0/16",
        "must be Ingress or Egress",
        "70000 is not a port",
    ]
    .iter()
    .enumerate()
    {
        assert!(messages[i].contains(needle), "{}", messages[i]);
        assert_eq!(errors[i].document, Some(i));
        assert!(errors[i].line >= 5, "{}", messages[i]);
    }
    assert_eq!(records.len(), 1, "the good policy is still read");
}

#[test]
fn connections_list_workload_pairs_and_address_ranges_split_at_ip_blocks() {
    let m = model(
        &[
            deployment("ns", "a", "{app: a}", "[]"),
            deployment("ns", "b", "{app: b}", "[]"),
            policy(
                "ns",
                "a-in",
                "  podSelector: {matchLabels: {app: a}}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}], ports: [{port: 80}]}]\n",
            ),
        ]
        .concat(),
    );
    let lines: Vec<String> = m.connections().iter().map(|c| m.line(c)).collect();
    assert_eq!(
        lines,
        [
            // Sources are split by the ingress ipBlocks, one line per piece, as np-guard
            // prints them (pieces with the same connections are not joined).
            "0.0.0.0-9.255.255.255 => ns/b[Deployment] : All Connections",
            "10.0.0.0-10.0.255.255 => ns/a[Deployment] : TCP 80",
            "10.0.0.0-10.0.255.255 => ns/b[Deployment] : All Connections",
            "10.1.0.0-10.1.255.255 => ns/b[Deployment] : All Connections",
            "10.2.0.0-10.255.255.255 => ns/a[Deployment] : TCP 80",
            "10.2.0.0-10.255.255.255 => ns/b[Deployment] : All Connections",
            "11.0.0.0-255.255.255.255 => ns/b[Deployment] : All Connections",
            // No egress rule names an ipBlock: destinations are one piece.
            "ns/a[Deployment] => 0.0.0.0-255.255.255.255 : All Connections",
            "ns/a[Deployment] => ns/b[Deployment] : All Connections",
            "ns/b[Deployment] => 0.0.0.0-255.255.255.255 : All Connections",
        ]
    );
}

#[test]
fn address_pieces_follow_each_directions_ip_blocks_and_adjacent_excepts_make_one_hole() {
    // np-guard's tests/ipblockstest_3 shape: 0.0.0.0/0 except two adjacent halves of
    // 10.0.0.0/8, for ingress; an egress block elsewhere splits only destinations.
    let m = model(
        &[
            deployment("ns", "a", "{app: a}", "[]"),
            policy(
                "ns",
                "a-in",
                "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Ingress, Egress]\n  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.128.0.0/9, 10.0.0.0/9]}}], ports: [{port: 53, protocol: UDP}]}]\n  egress: [{to: [{ipBlock: {cidr: 192.168.1.1/32}}]}]\n",
            ),
        ]
        .concat(),
    );
    let lines: Vec<String> = m.connections().iter().map(|c| m.line(c)).collect();
    assert_eq!(
        lines,
        [
            "0.0.0.0-9.255.255.255 => ns/a[Deployment] : UDP 53",
            "11.0.0.0-255.255.255.255 => ns/a[Deployment] : UDP 53",
            "ns/a[Deployment] => 192.168.1.1-192.168.1.1 : All Connections",
        ]
    );
}

#[test]
fn workloads_alike_are_evaluated_once_but_listed_each() {
    let m = model(
        &[
            deployment("ns", "one", "{app: web}", "[]"),
            deployment("ns", "two", "{app: web}", "[]"),
            policy("ns", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]\n  egress: [{to: [{podSelector: {}}]}]\n"),
        ]
        .concat(),
    );
    let lines: Vec<String> = m.connections().iter().map(|c| m.line(c)).collect();
    // Same class, but no self-loops; nothing to or from outside.
    assert_eq!(
        lines,
        [
            "ns/one[Deployment] => ns/two[Deployment] : All Connections",
            "ns/two[Deployment] => ns/one[Deployment] : All Connections",
        ]
    );
}

/// Every workload pair, evaluated one at a time: what `connections` must agree with.
fn brute_force(m: &Model) -> Vec<String> {
    let mut lines = Vec::new();
    for a in 0..m.workloads.len() {
        for b in (0..m.workloads.len()).filter(|&b| b != a) {
            let allowed = m
                .evaluate(Endpoint::Workload(a), Endpoint::Workload(b))
                .allowed;
            if !allowed.is_empty() {
                let c = Connection {
                    src: Node::Workload(a),
                    dst: Node::Workload(b),
                    conns: std::sync::Arc::new(allowed),
                };
                lines.push(m.line(&c));
            }
        }
    }
    lines.sort();
    lines
}

#[test]
fn the_class_graph_agrees_with_evaluating_each_pair() {
    let m = model(
        &[
            namespace("alice-ns", "{user: alice}"),
            namespace("bob-ns", "{user: bob, project: myproject}"),
            deployment("alice-ns", "client", "{role: client}", "[{name: http, containerPort: 80}]"),
            deployment("alice-ns", "client-2", "{role: client}", "[{name: http, containerPort: 80}]"),
            deployment("alice-ns", "server", "{role: server}", "[{name: http, containerPort: 8080}]"),
            deployment("bob-ns", "client", "{role: client}", "[{name: http, containerPort: 81}]"),
            deployment("bob-ns", "db", "{role: db}", "[{name: pg, containerPort: 5432}]"),
            deployment("target", "api", "{app: api}", "[{name: http, containerPort: 9090}, {name: dns, containerPort: 53, protocol: UDP}]"),
            deployment("target", "web", "{app: web}", "[]"),
            policy("target", "and", "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {user: alice}}\n      podSelector: {matchLabels: {role: client}}\n    ports: [{port: http}, {port: dns, protocol: UDP}]\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n"),
            policy("bob-ns", "db", "  podSelector: {matchLabels: {role: db}}\n  policyTypes: [Ingress, Egress]\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: user, operator: In, values: [alice, bob]}]}}], ports: [{port: pg}, {port: 1000, endPort: 2000}]}]\n  egress: [{to: [{namespaceSelector: {}}], ports: [{port: http}]}]\n"),
            policy("alice-ns", "out", "  podSelector: {matchLabels: {role: client}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {}}, {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: target}}}]}, {ports: [{port: 5432}]}]\n"),
        ]
        .concat(),
    );
    let fast: Vec<String> = m
        .connections()
        .iter()
        .filter(|c| matches!((c.src, c.dst), (Node::Workload(_), Node::Workload(_))))
        .map(|c| m.line(c))
        .collect();
    let slow = brute_force(&m);
    assert_eq!(fast, slow);
    assert!(slow.len() > 20, "a rich enough case: {slow:#?}");
    assert!(
        slow.iter()
            .any(|l| l.ends_with("target/api[Deployment] : TCP 9090,UDP 53")),
        "{slow:#?}"
    );
}

#[test]
fn a_snapshots_pods_and_replica_sets_stand_for_their_controller() {
    let owned = |kind: &str, name: &str, owner_kind: &str, owner: &str| {
        format!(
            "---
apiVersion: {}
kind: {kind}
metadata:
  name: {name}
  namespace: shop
  ownerReferences: [{{apiVersion: apps/v1, kind: {owner_kind}, name: {owner}, controller: true}}]
  labels: {{app: web}}
spec:
  {}
",
            if kind == "Pod" { "v1" } else { "apps/v1" },
            if kind == "Pod" {
                "containers: [{name: c, image: x}]".to_owned()
            } else {
                "template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: x}]}}".to_owned()
            }
        )
    };
    let m = model(
        &[
            deployment("shop", "web", "{app: web}", "[]"),
            owned("ReplicaSet", "web-7d9f", "Deployment", "web"),
            owned("Pod", "web-7d9f-x2", "ReplicaSet", "web-7d9f"),
            // Its owner is not in the input: it stays, named after its owner.
            owned("Pod", "orphan", "ReplicaSet", "gone"),
        ]
        .concat(),
    );
    let names: Vec<String> = m.workloads.iter().map(WorkloadDef::display).collect();
    assert_eq!(names, ["shop/web[Deployment]", "shop/gone[ReplicaSet]"]);
}

#[test]
fn an_empty_peer_is_refused_as_the_api_server_does() {
    let yaml = policy(
        "a",
        "empty-peer",
        "  podSelector: {}\n  ingress: [{from: [{}]}]\n",
    );
    let (records, errors) =
        map_objects_in_text(&Arc::from("p.yaml"), &yaml, &Limits::default(), &record_of);
    assert!(records.is_empty());
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .message
            .contains("spec.ingress[0].from[0] must specify a peer"),
        "{}",
        errors[0]
    );
}

#[test]
fn what_the_api_server_refuses_is_refused() {
    let cases = [
        ("  podSelector: {}\n  ingress: [{from: {podSelector: {}}}]\n", "spec.ingress[0].from must be a list"),
        ("  podSelector: {}\n  ingress: [{ports: {port: 80}}]\n", "spec.ingress[0].ports must be a list"),
        ("  podSelector: {}\n  policyTypes: Egress\n", "spec.policyTypes must be a list"),
        ("  podSelector: {}\n  policyTypes: [Ingress, Ingress, Egress]\n", "Ingress and Egress once each"),
        ("  podSelector: {}\n  ingress: [{ports: [{port: \"80\"}]}]\n", "a number or a port name"),
        ("  podSelector: {}\n  ingress: [{ports: [{port: HTTP}]}]\n", "a number or a port name"),
        ("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.1/8, except: [10.0.0.0/8]}}]}]\n", "strictly inside"),
        ("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: 10.1.0.0/16}}]}]\n", "except must be a list"),
    ];
    for (spec, needle) in cases {
        let yaml = policy("a", "p", spec);
        let (records, errors) =
            map_objects_in_text(&Arc::from("p.yaml"), &yaml, &Limits::default(), &record_of);
        assert!(records.is_empty(), "{spec}");
        assert_eq!(errors.len(), 1, "{spec}");
        assert!(errors[0].message.contains(needle), "{spec}: {}", errors[0]);
    }
}

#[test]
fn host_network_pods_and_init_container_ports() {
    let m = model(
        &[
            "---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: a}
spec:
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: c, image: x}]}
"
            .to_owned(),
            "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - {name: setup, image: x, ports: [{name: http, containerPort: 9000}]}
      - {name: proxy, image: x, restartPolicy: Always, ports: [{name: admin, containerPort: 9901}]}
      containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}, {name: zero, containerPort: 0}]}]
"
            .to_owned(),
            deployment("a", "client", "{app: client}", "[]"),
            policy("a", "all", "  podSelector: {}\n  ingress: [{from: [{podSelector: {}}], ports: [{port: http}, {port: admin}, {port: zero}]}]\n"),
        ]
        .concat(),
    );
    let agent = pod(&m, "a", "agent");
    // The policy selects every pod, but not the host-network agent, which stays open...
    assert!(m
        .evaluate(pod(&m, "a", "client"), agent)
        .ingress
        .isolating
        .is_empty());
    // ...and is not one of the pods a podSelector peer matches.
    assert_eq!(conns(&m, agent, pod(&m, "a", "web")), "No Connections");
    // The exited init container's port is not served; the sidecar's is.
    assert_eq!(
        conns(&m, pod(&m, "a", "client"), pod(&m, "a", "web")),
        "TCP 8080,9901"
    );
}

#[test]
fn a_pod_whose_replica_set_is_missing_stands_for_its_deployment() {
    let pod_of = |name: &str, rs: &str, hash: &str| {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: shop\n  labels: {{app: web, pod-template-hash: {hash}}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {rs}, controller: true}}]\nspec: {{containers: [{{name: c, image: x}}]}}\n"
        )
    };
    let m = model(
        &[
            deployment("shop", "web", "{app: web}", "[]"),
            pod_of("web-7d9f-x2", "web-7d9f", "7d9f"),
            // The hash does not match the ReplicaSet's name: kept, as its ReplicaSet.
            pod_of("other-1", "other-abc", "zzz"),
        ]
        .concat(),
    );
    let names: Vec<String> = m.workloads.iter().map(WorkloadDef::display).collect();
    assert_eq!(
        names,
        ["shop/web[Deployment]", "shop/other-abc[ReplicaSet]"]
    );
}

/// A Pod with `ownerReferences` (as `kubectl get pods -o yaml` lists it) and containers
/// that may lack names and images, as np-guard's test inputs have them.
fn owned_pod(namespace: &str, name: &str, labels: &str, owners: &str, containers: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels: {labels}\n  ownerReferences: {owners}\nspec:\n  containers: {containers}\n"
    )
}

#[test]
fn pods_are_workloads_by_kind_whatever_their_containers_hold() {
    let m = model(
        &[
            owned_pod("demo", "bare", "{app: a}", "[]", "[{}]"),
            owned_pod("demo", "ports-only", "{app: b}", "[]", "[{ports: [{containerPort: 8080, name: http}]}]"),
            owned_pod("demo", "no-containers", "{app: c}", "[]", "[]"),
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nameless, namespace: demo}\nspec:\n  template:\n    metadata: {labels: {app: d}}\n    spec: {containers: [{ports: [{containerPort: 53, name: dns, protocol: UDP}]}]}\n".to_owned(),
            policy("demo", "http-only", "  podSelector: {matchLabels: {app: b}}\n  ingress: [{ports: [{port: http}]}]\n"),
        ]
        .concat(),
    );
    let names: Vec<String> = m.workloads.iter().map(WorkloadDef::display).collect();
    assert_eq!(
        names,
        [
            "demo/bare[Pod]",
            "demo/ports-only[Pod]",
            "demo/no-containers[Pod]",
            "demo/nameless[Deployment]"
        ]
    );
    // The named port of a container with no name or image resolves.
    assert_eq!(
        conns(&m, pod(&m, "demo", "bare"), pod(&m, "demo", "ports-only")),
        "TCP 8080"
    );
    let nameless = &m.workloads[3];
    assert_eq!(
        nameless.named_ports,
        [("dns".to_owned(), 53, Protocol::Udp)]
    );
}

#[test]
fn pods_are_named_after_their_controller_as_np_guard_names_them() {
    let rs = |name: &str| {
        format!(
            "[{{apiVersion: apps/v1, kind: ReplicaSet, name: {name}, controller: true, uid: u1}}]"
        )
    };
    let m = model(
        &[
            // Two pods of one ReplicaSet that is not in the input: one workload.
            owned_pod("ns", "cog-local-analyzer-7d77fb55cc-a", "{app: app-4}", &rs("cog-local-analyzer-7d77fb55cc"), "[{}]"),
            owned_pod("ns", "cog-local-analyzer-7d77fb55cc-b", "{app: app-4}", &rs("cog-local-analyzer-7d77fb55cc"), "[{}]"),
            // A DaemonSet's pod; the first controller reference counts, others do not.
            owned_pod("ns", "cog-agents-x1", "{app: app-0}", "[{apiVersion: v1, kind: ConfigMap, name: cm, controller: false}, {apiVersion: apps/v1, kind: DaemonSet, name: cog-agents, controller: true}, {apiVersion: apps/v1, kind: StatefulSet, name: later, controller: true}]", "[{}]"),
            // A reference that is not a controller's names nothing.
            owned_pod("ns", "loose", "{app: app-5}", "[{apiVersion: apps/v1, kind: ReplicaSet, name: rs, controller: false}]", "[{}]"),
            // A mirror pod's controller is its Node: it stays a Pod.
            owned_pod("kube-system", "etcd-node1", "{component: etcd}", "[{apiVersion: v1, kind: Node, name: node1, controller: true}]", "[{}]"),
        ]
        .concat(),
    );
    assert!(m.not_modelled.is_empty(), "{:?}", m.not_modelled);
    let mut names: Vec<String> = m.workloads.iter().map(WorkloadDef::display).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "kube-system/etcd-node1[Pod]",
            "ns/cog-agents[DaemonSet]",
            "ns/cog-local-analyzer-7d77fb55cc[ReplicaSet]",
            "ns/loose[Pod]",
        ]
    );
    let lines: Vec<String> = m.connections().iter().map(|c| m.line(c)).collect();
    assert!(
        lines.contains(&"ns/cog-agents[DaemonSet] => ns/cog-local-analyzer-7d77fb55cc[ReplicaSet] : All Connections".to_owned()),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("ns/cog-local-analyzer-7d77fb55cc[ReplicaSet] => ns/cog-local-analyzer-7d77fb55cc[ReplicaSet]")),
        "pods of one controller are one workload, without a self-loop: {lines:#?}"
    );
}

#[test]
fn a_workload_kind_without_a_pod_spec_is_said_not_modelled() {
    // A kustomize patch beside the manifests: `kind: Deployment` with `replicas` only.
    let m = model(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 6}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n",
    );
    assert!(m.workloads.is_empty(), "{:?}", m.workloads);
    let reasons: Vec<&str> = m.not_modelled.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "Deployment shop/web has no pod spec (spec.template.spec.containers), so it runs no pods; not modelled",
            "Pod shop/p has no pod spec (spec.containers), so it runs no pods; not modelled",
        ]
    );
    assert_eq!(m.not_modelled[0].at.line, 3);
}

#[test]
fn pods_of_one_owner_with_other_labels_are_one_workload_and_said() {
    let owner = "[{apiVersion: apps/v1, kind: StatefulSet, name: db, controller: true}]";
    let m = model(
        &[
            owned_pod(
                "ns",
                "db-0",
                "{app: db, statefulset.kubernetes.io/pod-name: db-0}",
                owner,
                "[{}]",
            ),
            owned_pod(
                "ns",
                "db-1",
                "{app: db, statefulset.kubernetes.io/pod-name: db-1}",
                owner,
                "[{}]",
            ),
        ]
        .concat(),
    );
    let names: Vec<String> = m.workloads.iter().map(WorkloadDef::display).collect();
    assert_eq!(names, ["ns/db[StatefulSet]"]);
    let reasons: Vec<&str> = m.not_modelled.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["pod ns/db-1 has other labels than ns/db-0, another pod of ns/db[StatefulSet]; ns/db[StatefulSet] is modelled with db-0's labels"]
    );
}
