//! `netpol-missing-default-deny-ingress` / `-egress`: a namespace with workloads and no
//! policy that isolates all of its pods in that direction.

use palisade_model::{Category, CheckMeta, PeerTool, Scope, Severity};
use palisade_netpol::{Direction, Model};

use super::{NetpolRule, NETPOL_DOC, NSA_NETWORK};
use crate::pss::helpers::{cis, mitre, nsa, peer};
use crate::rule::{report_scoped, Out};

pub static INGRESS: NetpolRule = NetpolRule {
    meta: CheckMeta {
        id: "netpol-missing-default-deny-ingress",
        title: "Namespace has no default-deny ingress policy",
        severity: Severity::Medium,
        category: Category::Network,
        description: "A namespace whose workloads are in the input but that has no NetworkPolicy selecting every pod (`podSelector: {}`) with `Ingress` among its types. Reported on the Namespace object, or on the namespace's first workload when the input has no Namespace object.",
        rationale: "Without policies any pod, in any namespace, can connect to any pod: one compromised workload reaches every database and internal API. A default deny makes every allowed connection an explicit rule, and new workloads start closed.",
        remediation: "Add `kind: NetworkPolicy` with `podSelector: {}` and `policyTypes: [Ingress]` (no rules) to the namespace, then allow each needed flow with its own policy. `palisade netpol connections` shows what is reachable before and after.",
        references: &[NETPOL_DOC, "https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-ingress-traffic"],
        mappings: &[cis("5.3.2"), nsa(NSA_NETWORK), mitre("T1021")],
        peers: &[peer(PeerTool::Kubescape, "C-0260")],
        peer_notes: "kubescape C-0260 reports each workload no policy selects (as does `netpol-workload-not-isolated`); this check names the namespace, and counts a policy only when it selects every pod.",
        source: file!(),
    },
    eval: ingress,
};

pub static EGRESS: NetpolRule = NetpolRule {
    meta: CheckMeta {
        id: "netpol-missing-default-deny-egress",
        title: "Namespace has no default-deny egress policy",
        severity: Severity::Low,
        category: Category::Network,
        description: "A namespace whose workloads are in the input but that has no NetworkPolicy selecting every pod with `Egress` among its types.",
        rationale: "Open egress lets a compromised pod reach the cloud metadata service, other namespaces' databases and the internet, to move laterally or send data out.",
        remediation: "Add a policy with `podSelector: {}` and `policyTypes: [Egress]`, then allow DNS (UDP and TCP 53 to kube-dns) and each needed destination.",
        references: &[NETPOL_DOC, "https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-egress-traffic"],
        mappings: &[cis("5.3.2"), nsa(NSA_NETWORK), mitre("T1041")],
        peers: &[],
        peer_notes: "No listed peer checks egress defaults separately.",
        source: file!(),
    },
    eval: egress,
};

fn ingress(meta: &'static CheckMeta, m: &Model, out: &mut Out) {
    check(meta, m, out, Direction::Ingress);
}

fn egress(meta: &'static CheckMeta, m: &Model, out: &mut Out) {
    check(meta, m, out, Direction::Egress);
}

fn check(meta: &'static CheckMeta, m: &Model, out: &mut Out, direction: Direction) {
    let word = match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };
    for ns in m.namespaces_with_workloads() {
        let covered = m.policies_in(ns).any(|p| {
            let policy = &m.policies[p];
            let typed = match direction {
                Direction::Ingress => policy.ingress_type,
                Direction::Egress => policy.egress_type,
            };
            typed && policy.pod_selector.is_empty()
        });
        if covered {
            continue;
        }
        let workloads: Vec<usize> = m.workloads_in(ns).collect();
        let open = workloads
            .iter()
            .filter(|&&w| m.isolating(w, direction).is_empty())
            .count();
        let message = format!(
            "namespace {ns} has no default-deny {word} policy (podSelector: {{}} with policyTypes [{}]): {open} of its {} workloads are open for {word}",
            if direction == Direction::Ingress { "Ingress" } else { "Egress" },
            workloads.len()
        );
        // Shown on the Namespace object, else on a workload of the namespace; either
        // way the finding is the namespace's, and so is its fingerprint.
        let (origin, at) = match m.namespaces.iter().find(|n| n.name == ns) {
            Some(n) => (n.origin.as_ref(), &n.at),
            None => {
                let w = &m.workloads[workloads[0]];
                (w.origin.as_ref(), &w.at)
            }
        };
        let scope = Some(Scope::Namespace(ns.to_owned()));
        report_scoped(out, meta, origin, at, meta.severity, message, scope);
    }
}
