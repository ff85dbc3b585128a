//! `procMount`: the default masked /proc (baseline; relaxed for user-namespace pods from v1.35).

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{entry, in_user_namespace, peer, pss, shown, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "procMount",
        title: "Unmasked /proc",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "A container sets `securityContext.procMount` to something other than `Default`. From v1.35 pods with `hostUsers: false` are allowed at the baseline level.",
        rationale: "The default /proc mount masks kernel interfaces (/proc/kcore, /proc/sysrq-trigger, ...); an unmasked /proc exposes them to the container.",
        remediation: "Remove `procMount` or set it to `Default`.",
        references: &[PSS_DOC],
        mappings: &[pss("baseline")],
        peers: &[peer(PeerTool::Trivy, "KSV027")],
        peer_notes: "Versioned like upstream: the user-namespace relaxation applies only from v1.35 and only at the baseline level.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[
        Versioned { min: v(0), eval: eval_1_0, overrides: &[] },
        Versioned { min: v(35), eval: eval_1_35, overrides: &[] },
    ],
};

/// Forbids any `procMount` but `Default`; also the restricted twin's logic.
pub fn eval_1_0(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    for c in pod.containers() {
        if let Some((key, value)) = entry(c.security_context(), "procMount") {
            let mount = shown(value);
            if mount != "Default" {
                out.report(
                    key,
                    c.path_of("securityContext.procMount"),
                    format!(
                        "{} must not set securityContext.procMount to {mount:?}",
                        who(c)
                    ),
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
