//! `netpol-peer-selects-nothing`: a podSelector peer that matches no workload.

use palisade_model::{Category, CheckMeta, Severity};
use palisade_netpol::{Model, Peer};

use super::{NetpolRule, NETPOL_DOC, NSA_NETWORK};
use crate::pss::helpers::nsa;
use crate::rule::{report, Out};

pub static CHECK: NetpolRule = NetpolRule {
    meta: CheckMeta {
        id: "netpol-peer-selects-nothing",
        title: "Network policy peer selects no workload",
        severity: Severity::Low,
        category: Category::Network,
        description: "A `from`/`to` peer with only a `podSelector` (pods of the policy's own namespace) that matches none of that namespace's workloads in the input. Peers with a `namespaceSelector` are not judged, since other namespaces' workloads are often not in the input, nor are namespaces with custom resources whose operators may run pods the input does not show.",
        rationale: "A peer that selects nothing allows nothing: the traffic the rule was written for is denied, and the usual fix under pressure is a broader rule than needed.",
        remediation: "Fix the selector to match the client's pod labels, or remove the peer.",
        references: &[NETPOL_DOC],
        mappings: &[nsa(NSA_NETWORK)],
        peers: &[],
        peer_notes: "No listed peer checks the peers of a policy.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, m: &Model, out: &mut Out) {
    for policy in &m.policies {
        let workloads: Vec<usize> = m.workloads_in(&policy.namespace).collect();
        if workloads.is_empty() || m.has_operated_resources(&policy.namespace) {
            continue;
        }
        // Rules of a direction the policy does not enforce have no effect.
        let enforced = [
            ("ingress", "from", &policy.ingress, policy.ingress_type),
            ("egress", "to", &policy.egress, policy.egress_type),
        ];
        for (field, peer_field, rules, _) in enforced.into_iter().filter(|e| e.3) {
            for (i, rule) in rules.iter().enumerate() {
                for (j, peer) in rule.peers.iter().flatten().enumerate() {
                    let Peer::Pods {
                        pods: Some(selector),
                        namespaces: None,
                        at,
                    } = peer
                    else {
                        continue;
                    };
                    let matches = workloads.iter().any(|&w| {
                        selector.matches(
                            m.workloads[w]
                                .labels
                                .iter()
                                .map(|(k, v)| (k.as_str(), v.as_str())),
                        )
                    });
                    if !matches {
                        report(
                            out,
                            meta,
                            policy.origin.as_ref(),
                            at,
                            meta.severity,
                            format!(
                                "{} {field}[{i}].{peer_field}[{j}] podSelector {selector} matches none of the workloads of namespace {}",
                                policy.display(),
                                policy.namespace
                            ),
                        );
                    }
                }
            }
        }
    }
}
