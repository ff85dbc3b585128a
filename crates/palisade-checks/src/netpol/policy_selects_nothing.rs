//! `netpol-policy-selects-nothing`: a policy whose podSelector matches no workload.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_netpol::Model;

use super::{NetpolRule, NETPOL_DOC, NSA_NETWORK};
use crate::pss::helpers::{nsa, peer};
use crate::rule::{report, Out};

pub static CHECK: NetpolRule = NetpolRule {
    meta: CheckMeta {
        id: "netpol-policy-selects-nothing",
        title: "Network policy selects no workload",
        severity: Severity::Low,
        category: Category::Network,
        description: "A NetworkPolicy whose `podSelector` matches none of the workloads of its namespace in the input. Namespaces with no workloads in the input, or with custom resources whose operators may run pods the input does not show (a Prometheus, a database cluster), are not judged.",
        rationale: "A policy that selects nothing protects nothing: usually a label typo, or a workload renamed without its policy, which leaves the intended pods open while the policy suggests otherwise.",
        remediation: "Fix the selector to match the workload's pod labels (`kubectl get pods --show-labels`), or delete the policy.",
        references: &[NETPOL_DOC],
        mappings: &[nsa(NSA_NETWORK)],
        peers: &[peer(PeerTool::KubeLinter, "dangling-networkpolicy")],
        peer_notes: "Like kube-linter `dangling-networkpolicy`, judged over the whole input.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, m: &Model, out: &mut Out) {
    for (p, policy) in m.policies.iter().enumerate() {
        let mut workloads = m.workloads_in(&policy.namespace).peekable();
        if workloads.peek().is_none() || m.has_operated_resources(&policy.namespace) {
            continue;
        }
        if !workloads.any(|w| m.selects(p, w)) {
            report(
                out,
                meta,
                policy.origin.as_ref(),
                &policy.at,
                meta.severity,
                format!(
                    "{} selects none of the workloads of namespace {}",
                    policy.display(),
                    policy.namespace
                ),
            );
        }
    }
}
