//! `hostNamespaces`: pods must not share the host's network, PID or IPC namespace.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{cis, entry, mitre, nsa, peer, pss, v, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "hostNamespaces",
        title: "Host namespaces shared",
        severity: Severity::High,
        category: Category::PodSecurity,
        description: "The pod sets `hostNetwork`, `hostPID` or `hostIPC` to true.",
        rationale: "hostNetwork exposes the node's interfaces and localhost-only services (kubelet, cloud metadata) and bypasses NetworkPolicy; hostPID lets the pod see and signal every process on the node and read their environment; hostIPC shares the node's shared memory.",
        remediation: "Remove `hostNetwork`, `hostPID` and `hostIPC` (or set them to false). Expose ports through a Service instead of the host network.",
        references: &[PSS_DOC, "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"],
        mappings: &[pss("baseline"), cis("5.2.3"), cis("5.2.4"), cis("5.2.5"), nsa(super::helpers::NSA_POD_SECURITY), mitre("T1611")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0038"),
            peer(PeerTool::Kubescape, "C-0041"),
            peer(PeerTool::Checkov, "CKV_K8S_17"),
            peer(PeerTool::Checkov, "CKV_K8S_18"),
            peer(PeerTool::Checkov, "CKV_K8S_19"),
            peer(PeerTool::KubeLinter, "host-network"),
            peer(PeerTool::KubeLinter, "host-pid"),
            peer(PeerTool::KubeLinter, "host-ipc"),
            peer(PeerTool::Polaris, "hostNetworkSet"),
            peer(PeerTool::Polaris, "hostPIDSet"),
            peer(PeerTool::Polaris, "hostIPCSet"),
            peer(PeerTool::Trivy, "KSV009"),
        ],
        peer_notes: "Peers split this into three checks; Palisade keeps the upstream single check and reports each field as its own finding at its own line.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[Versioned { min: v(0), eval, overrides: &[] }],
};

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    for (field, what) in [
        ("hostNetwork", "the node's network namespace"),
        ("hostPID", "the node's process namespace"),
        ("hostIPC", "the node's IPC namespace"),
    ] {
        if let Some((key, value)) = entry(Some(pod.spec), field) {
            if value.is_true() {
                out.report(
                    key,
                    pod.path_of(field),
                    format!("{field}=true: the pod shares {what}"),
                );
            }
        }
    }
}
