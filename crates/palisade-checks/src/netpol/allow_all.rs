//! `netpol-allow-all`: a rule open to every source or destination.

use palisade_inventory::LabelSelector;
use palisade_model::{Category, CheckMeta, Severity};
use palisade_netpol::{Model, Peer, PolicyDef, Rule};

use super::{NetpolRule, NETPOL_DOC, NSA_NETWORK};
use crate::pss::helpers::nsa;
use crate::rule::{report, Out};

pub static CHECK: NetpolRule = NetpolRule {
    meta: CheckMeta {
        id: "netpol-allow-all",
        title: "Network policy rule allows every source or destination",
        severity: Severity::Medium,
        category: Category::Network,
        description: "An ingress or egress rule with no `from`/`to` (every pod and address), a peer `namespaceSelector: {}` without a narrower `podSelector` (every pod of the cluster), or an `ipBlock` of `0.0.0.0/0` or `::/0` without `except` (every address). Ingress rules open on all ports are Medium; rules limited to some ports, and egress rules, Low.",
        rationale: "A rule open to everyone undoes the isolation its policy set up: the selected pods accept (or open) connections as if no policy selected them, and reviewers read a policy that restricts nothing.",
        remediation: "Name the clients (a podSelector, the namespaces by their `kubernetes.io/metadata.name` label, or the CIDRs of a load balancer) and the ports. For egress, allow DNS and each needed destination instead of everything.",
        references: &[NETPOL_DOC],
        mappings: &[nsa(NSA_NETWORK)],
        peers: &[],
        peer_notes: "No listed peer reports open rules; Kyverno and Gatekeeper libraries leave it to custom policies.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, m: &Model, out: &mut Out) {
    for policy in &m.policies {
        // Rules of a direction the policy does not enforce have no effect.
        let enforced = [
            ("ingress", &policy.ingress, true, policy.ingress_type),
            ("egress", &policy.egress, false, policy.egress_type),
        ];
        for (field, rules, ingress, _) in enforced.into_iter().filter(|e| e.3) {
            for (i, rule) in rules.iter().enumerate() {
                check_rule(meta, policy, field, i, rule, ingress, out);
            }
        }
    }
}

fn check_rule(
    meta: &'static CheckMeta,
    policy: &PolicyDef,
    field: &str,
    index: usize,
    rule: &Rule,
    ingress: bool,
    out: &mut Out,
) {
    let whom = if ingress { "source" } else { "destination" };
    let severity = if ingress && rule.ports.is_none() {
        Severity::Medium
    } else {
        Severity::Low
    };
    let ports = if rule.ports.is_none() {
        "on every port"
    } else {
        "on its ports"
    };
    let name = policy.display();
    let Some(peers) = &rule.peers else {
        let message = format!("{name} {field}[{index}] lists no peers: it allows every {whom}, pod or address, {ports}");
        report(
            out,
            meta,
            policy.origin.as_ref(),
            &rule.at,
            severity,
            message,
        );
        return;
    };
    for (j, peer) in peers.iter().enumerate() {
        let what = match peer {
            Peer::Pods {
                pods,
                namespaces: Some(ns),
                ..
            } if ns.is_empty() && pods.as_ref().is_none_or(LabelSelector::is_empty) => {
                "every pod of every namespace"
            }
            Peer::Block { cidr, except, .. } if cidr.prefix_len() == 0 && except.is_empty() => {
                "every address outside the cluster"
            }
            _ => continue,
        };
        let peer_field = if ingress { "from" } else { "to" };
        let message = format!("{name} {field}[{index}].{peer_field}[{j}] allows {what} {ports}");
        report(
            out,
            meta,
            policy.origin.as_ref(),
            peer.at(),
            severity,
            message,
        );
    }
}
