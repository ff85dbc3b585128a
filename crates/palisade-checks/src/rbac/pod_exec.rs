//! `rbac-pod-exec`: exec, attach, port-forward into pods, or the kubelet through nodes/proxy.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use palisade_rbac::POD_ENTRY;

use super::{grant_check, Eval, ModelRule, Out, View, Wanted, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-pod-exec",
        title: "Subject can exec, attach or port-forward into pods, or proxy to nodes",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants `pods/exec`, `pods/attach` or `pods/portforward` (create or get: a WebSocket exec is authorized as get before v1.35), `update`/`patch` on `pods/ephemeralcontainers` (a debug container in a running pod), or `nodes/proxy`. Cluster-wide is High; in one namespace Medium.",
        rationale: "Exec and attach run commands inside running containers, with their service account tokens, mounted Secrets and network position; port-forward reaches services that are not exposed. `nodes/proxy` opens the kubelet API, which runs commands in any pod on the node and bypasses admission and audit of the exec.",
        remediation: "Grant exec only for debugging, to named people, in one namespace, for a limited time; use ephemeral debug containers under Pod Security admission instead. Never grant `nodes/proxy` to anything but monitoring that needs it, and then `get` on `nodes/metrics` instead where possible.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#nodes-proxy"],
        mappings: &[cis("5.1.10"), nsa(NSA_RBAC), mitre("T1609")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0002"),
            peer(PeerTool::Kubescape, "C-0063"),
            peer(PeerTool::Kubescape, "C-0279"),
        ],
        peer_notes: "One check for the four subresources (kubescape splits exec, port-forward and nodes/proxy into C-0002, C-0063 and C-0279); `*` resources and `*/exec` count.",
        source: file!(),
    },
    eval: Eval::Custom(eval),
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    let mut wanted: Vec<Wanted> = vec![
        ("create", "", "nodes", "proxy"),
        ("get", "", "nodes", "proxy"),
    ];
    wanted.extend(POD_ENTRY.iter().map(|&(verb, sub)| (verb, "", "pods", sub)));
    wanted.extend([
        ("create", "", "pods", "portforward"),
        ("get", "", "pods", "portforward"),
    ]);
    grant_check(
        meta,
        view,
        out,
        &wanted,
        "it runs commands in running containers, with their tokens and Secrets",
        Severity::Medium,
    );
}
