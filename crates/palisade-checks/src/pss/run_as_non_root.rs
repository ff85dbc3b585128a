//! `runAsNonRoot`: containers must be required to run as a non-root user.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{
    about_pod_or, cis, entry, in_user_namespace, nsa, peer, pss, v, who, PSS_DOC,
};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "runAsNonRoot",
        title: "Not required to run as non-root",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "`runAsNonRoot` is false on the pod or a container, or a container neither sets it to true nor inherits true from the pod. From v1.35 pods with `hostUsers: false` are exempt.",
        rationale: "Root in a container is root on the node's kernel with a thin wall between: most container escapes and host-file abuses need it. `runAsNonRoot: true` makes the kubelet refuse to start an image that would run as UID 0.",
        remediation: "Set `securityContext.runAsNonRoot: true` on the pod (or every container) and give the image a non-root USER (or set `runAsUser`).",
        references: &[PSS_DOC],
        mappings: &[pss("restricted"), cis("5.2.7"), nsa(super::helpers::NSA_POD_SECURITY)],
        peers: &[
            peer(PeerTool::Kubescape, "C-0013"),
            peer(PeerTool::Checkov, "CKV_K8S_23"),
            peer(PeerTool::KubeLinter, "run-as-non-root"),
            peer(PeerTool::Polaris, "runAsRootAllowed"),
            peer(PeerTool::Trivy, "KSV012"),
        ],
        peer_notes: "Exact upstream inheritance: the pod-level value covers containers that leave it unset; a pod-level false fails even when every container sets true; a non-zero runAsUser does not satisfy it.",
        source: file!(),
    },
    level: Level::Restricted,
    versions: &[
        Versioned { min: v(0), eval: eval_1_0, overrides: &[] },
        Versioned { min: v(35), eval: eval_1_35, overrides: &[] },
    ],
};

fn eval_1_0(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    let mut pod_true = false;
    if let Some((key, value)) = entry(pod.security_context(), "runAsNonRoot") {
        match value.as_bool() {
            Some(true) => pod_true = true,
            _ => {
                out.report(
                    key,
                    pod.path_of("securityContext.runAsNonRoot"),
                    "pod must not set securityContext.runAsNonRoot=false",
                );
            }
        }
    }
    for c in pod.containers() {
        let path = c.path_of("securityContext.runAsNonRoot");
        match entry(c.security_context(), "runAsNonRoot") {
            Some((_, value)) if value.as_bool() == Some(true) => {}
            Some((key, _)) => {
                out.report(
                    key,
                    path,
                    format!("{} must not set securityContext.runAsNonRoot=false", who(c)),
                );
            }
            None if pod_true => {}
            None => {
                out.report(
                    c.node,
                    path,
                    about_pod_or(c, " must set securityContext.runAsNonRoot=true"),
                );
            }
        }
    }
}

fn eval_1_35(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    if !in_user_namespace(pod) {
        eval_1_0(pod, out);
    }
}
