//! `seccompProfile_restricted`: a seccomp profile must be set.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{about_pod_or, cis, is_windows, peer, pss, v, who, PSS_DOC};
use super::seccomp_profile_baseline::check_type;
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "seccompProfile_restricted",
        title: "No seccomp profile",
        severity: Severity::Low,
        category: Category::PodSecurity,
        description: "From v1.19: `seccompProfile.type` is neither `RuntimeDefault` nor `Localhost` on the pod, and some container does not set it to one of them either (or any level sets another type). Windows pods are exempt from v1.25. Replaces `seccompProfile_baseline` at the restricted level.",
        rationale: "Without a seccomp profile many runtimes run containers unconfined, leaving every system call, and every kernel bug behind one, reachable.",
        remediation: "Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod.",
        references: &[PSS_DOC, "https://kubernetes.io/docs/tutorials/security/seccomp/"],
        mappings: &[pss("restricted"), cis("5.7.2")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0055"),
            peer(PeerTool::Checkov, "CKV_K8S_31"),
            peer(PeerTool::Trivy, "KSV030"),
        ],
        peer_notes: "Pod-level and container-level inheritance exactly as upstream; annotations are not considered from v1.19.",
        source: file!(),
    },
    level: Level::Restricted,
    versions: &[
        Versioned { min: v(19), eval: eval_1_19, overrides: &["seccompProfile_baseline"] },
        Versioned { min: v(25), eval: eval_1_25, overrides: &["seccompProfile_baseline"] },
    ],
};

fn eval_1_19(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    let pod_valid = check_type(
        pod.security_context(),
        pod.path_of("securityContext.seccompProfile.type"),
        "pod",
        out,
    ) == Some(true);
    for c in pod.containers() {
        let path = c.path_of("securityContext.seccompProfile.type");
        if check_type(c.security_context(), path.clone(), &who(c), out).is_none() && !pod_valid {
            out.report(
                c.node,
                path,
                about_pod_or(
                    c,
                    " must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                ),
            );
        }
    }
}

fn eval_1_25(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    if !is_windows(pod) {
        eval_1_19(pod, out);
    }
}
