//! `netpol-workload-not-isolated`: a workload no NetworkPolicy selects.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_netpol::{Direction, Model};

use super::{NetpolRule, NETPOL_DOC, NSA_NETWORK};
use crate::pss::helpers::{cis, nsa, peer};
use crate::rule::{report, Out};

pub static CHECK: NetpolRule = NetpolRule {
    meta: CheckMeta {
        id: "netpol-workload-not-isolated",
        title: "Workload is not isolated by any network policy",
        severity: Severity::Low,
        category: Category::Network,
        description: "A workload (pod or pod controller) that no NetworkPolicy of its namespace selects for ingress: it accepts connections from every pod and address.",
        rationale: "A pod no policy selects is reachable from every other pod in the cluster, so one compromise anywhere reaches it.",
        remediation: "Cover the namespace with a default-deny policy and allow the workload's clients explicitly, or add a policy that selects the workload's labels.",
        references: &[NETPOL_DOC],
        mappings: &[cis("5.3.2"), nsa(NSA_NETWORK)],
        peers: &[
            peer(PeerTool::KubeLinter, "non-isolated-pod"),
            peer(PeerTool::Kubescape, "C-0260"),
        ],
        peer_notes: "Like kube-linter `non-isolated-pod` and kubescape C-0260, judged over the whole input; a policy that selects the workload for egress only does not isolate its ingress.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, m: &Model, out: &mut Out) {
    for (i, w) in m.workloads.iter().enumerate() {
        if m.isolating(i, Direction::Ingress).is_empty() {
            report(
                out,
                meta,
                w.origin.as_ref(),
                &w.at,
                meta.severity,
                format!("{} is selected by no NetworkPolicy for ingress: every pod and address can connect to it", w.display()),
            );
        }
    }
}
