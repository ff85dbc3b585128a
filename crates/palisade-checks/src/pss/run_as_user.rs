//! `runAsUser`: no explicit UID 0.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{cis, entry, in_user_namespace, peer, pss, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "runAsUser",
        title: "Runs as UID 0",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "From v1.23: `securityContext.runAsUser` is 0 on the pod or a container. From v1.35 pods with `hostUsers: false` are exempt.",
        rationale: "UID 0 is root; setting it explicitly defeats `runAsNonRoot` intentions and gives the process root's power over anything the container can reach.",
        remediation: "Set `runAsUser` to a non-zero UID (e.g. 10001) or remove it and give the image a non-root USER.",
        references: &[PSS_DOC],
        mappings: &[pss("restricted"), cis("5.2.7")],
        peers: &[peer(PeerTool::Trivy, "KSV105")],
        peer_notes: "The pod-level 0 is reported even when every container overrides it, as upstream.",
        source: file!(),
    },
    level: Level::Restricted,
    versions: &[
        Versioned { min: v(23), eval: eval_1_23, overrides: &[] },
        Versioned { min: v(35), eval: eval_1_35, overrides: &[] },
    ],
};

fn eval_1_23(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    if let Some((key, value)) = entry(pod.security_context(), "runAsUser") {
        if value.as_i64() == Some(0) {
            out.report(
                key,
                pod.path_of("securityContext.runAsUser"),
                "pod must not set runAsUser=0",
            );
        }
    }
    for c in pod.containers() {
        if let Some((key, value)) = entry(c.security_context(), "runAsUser") {
            if value.as_i64() == Some(0) {
                out.report(
                    key,
                    c.path_of("securityContext.runAsUser"),
                    format!("{} must not set runAsUser=0", who(c)),
                );
            }
        }
    }
}

fn eval_1_35(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    if !in_user_namespace(pod) {
        eval_1_23(pod, out);
    }
}
