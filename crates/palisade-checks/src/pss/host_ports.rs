//! `hostPorts`: containers must not bind host ports.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{cis, entry, nsa, peer, pss, shown, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "hostPorts",
        title: "Host port",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "A container port sets a non-zero `hostPort`.",
        rationale: "A host port opens the container on every address of the node, outside NetworkPolicy and Service controls, and pins the pod to nodes where the port is free.",
        remediation: "Remove `hostPort` and expose the port through a Service (ClusterIP, NodePort or LoadBalancer) or an Ingress.",
        references: &[PSS_DOC],
        mappings: &[pss("baseline"), cis("5.2.13"), nsa(super::helpers::NSA_POD_SECURITY)],
        peers: &[
            peer(PeerTool::Kubescape, "C-0044"),
            peer(PeerTool::Checkov, "CKV_K8S_26"),
            peer(PeerTool::Polaris, "hostPortSet"),
            peer(PeerTool::Trivy, "KSV024"),
        ],
        peer_notes: "`hostPort: 0` is unset and allowed, as upstream; each offending port is its own finding.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[Versioned { min: v(0), eval, overrides: &[] }],
};

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    for c in pod.containers() {
        let Some(ports) = c.node.get_present("ports") else {
            continue;
        };
        for (i, port) in ports.items().enumerate() {
            if let Some((key, value)) = entry(Some(port), "hostPort") {
                if value.as_i64() != Some(0) {
                    out.report(
                        key,
                        c.path_of(&format!("ports[{i}].hostPort")),
                        format!("{} uses hostPort {}", who(c), shown(value)),
                    );
                }
            }
        }
    }
}
