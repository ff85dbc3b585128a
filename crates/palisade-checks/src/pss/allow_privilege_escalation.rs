//! `allowPrivilegeEscalation`: containers must forbid privilege escalation.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{about, cis, entry, is_windows, nsa, peer, pss, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "allowPrivilegeEscalation",
        title: "Privilege escalation allowed",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "From v1.8: a container does not set `securityContext.allowPrivilegeEscalation: false` explicitly. Windows pods (`spec.os.name: windows`) are exempt from v1.25.",
        rationale: "Unless it is false, a process can gain more privileges than its parent (setuid binaries, file capabilities): the usual second step after a foothold in a container.",
        remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container, init and ephemeral containers included.",
        references: &[PSS_DOC],
        mappings: &[pss("restricted"), cis("5.2.6"), nsa(super::helpers::NSA_POD_SECURITY)],
        peers: &[
            peer(PeerTool::Kubescape, "C-0016"),
            peer(PeerTool::Checkov, "CKV_K8S_20"),
            peer(PeerTool::KubeLinter, "privilege-escalation-container"),
            peer(PeerTool::Polaris, "privilegeEscalationAllowed"),
            peer(PeerTool::Trivy, "KSV001"),
        ],
        peer_notes: "Unset counts as allowed (the runtime default), as upstream; the finding points at the container when the field is missing.",
        source: file!(),
    },
    level: Level::Restricted,
    versions: &[
        Versioned { min: v(8), eval: eval_1_8, overrides: &[] },
        Versioned { min: v(25), eval: eval_1_25, overrides: &[] },
    ],
};

fn eval_1_8(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    for c in pod.containers() {
        let path = c.path_of("securityContext.allowPrivilegeEscalation");
        match entry(c.security_context(), "allowPrivilegeEscalation") {
            Some((_, value)) if value.as_bool() == Some(false) => {}
            Some((key, _)) => {
                out.report(
                    key,
                    path,
                    format!(
                        "{} must set securityContext.allowPrivilegeEscalation=false",
                        who(c)
                    ),
                );
            }
            None => {
                out.report(
                    c.node,
                    path,
                    about(
                        c,
                        " must set securityContext.allowPrivilegeEscalation=false (it is unset)",
                    ),
                );
            }
        }
    }
}

fn eval_1_25(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    if !is_windows(pod) {
        eval_1_8(pod, out);
    }
}
