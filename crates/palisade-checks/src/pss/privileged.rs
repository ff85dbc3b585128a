//! `privileged`: containers must not run privileged.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{cis, entry, mitre, nsa, peer, pss, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "privileged",
        title: "Privileged container",
        severity: Severity::Critical,
        category: Category::PodSecurity,
        description: "A container (init and ephemeral ones included) sets `securityContext.privileged: true`.",
        rationale: "A privileged container gets every capability and every host device, and runs without seccomp or AppArmor confinement: escaping to the node takes one command (mount the host disk, load a kernel module).",
        remediation: "Remove `privileged: true`. Add back only the specific capabilities the workload needs under `securityContext.capabilities.add`.",
        references: &[PSS_DOC, "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"],
        mappings: &[pss("baseline"), cis("5.2.2"), nsa(super::helpers::NSA_POD_SECURITY), mitre("T1611")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0057"),
            peer(PeerTool::Checkov, "CKV_K8S_16"),
            peer(PeerTool::KubeLinter, "privileged-container"),
            peer(PeerTool::Polaris, "runAsPrivileged"),
            peer(PeerTool::Trivy, "KSV017"),
        ],
        peer_notes: "Same condition as the peers; Palisade also checks init and ephemeral containers and containers inside custom resources, reads YAML 1.1 booleans (`privileged: yes`) as the API server does, and points at the `privileged` line.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[Versioned { min: v(0), eval, overrides: &[] }],
};

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    for c in pod.containers() {
        if let Some((key, value)) = entry(c.security_context(), "privileged") {
            if value.is_true() {
                out.report(
                    key,
                    c.path_of("securityContext.privileged"),
                    format!("{} must not set securityContext.privileged=true", who(c)),
                );
            }
        }
    }
}
