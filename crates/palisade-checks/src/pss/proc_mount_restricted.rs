//! `procMount_restricted`: the default masked /proc, even in a user namespace.

use palisade_engine::Level;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{peer, pss, v, PSS_DOC};
use super::{PssCheck, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "procMount_restricted",
        title: "Unmasked /proc (restricted)",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "A container sets `securityContext.procMount` to something other than `Default`, whether or not the pod uses a user namespace. Replaces `procMount` at the restricted level from v1.35.",
        rationale: "The default /proc mount masks kernel interfaces; the restricted level does not trust a user namespace to make an unmasked /proc safe.",
        remediation: "Remove `procMount` or set it to `Default`.",
        references: &[PSS_DOC],
        mappings: &[pss("restricted")],
        peers: &[peer(PeerTool::Trivy, "KSV027")],
        peer_notes: "Upstream's v1.35 restricted twin of `procMount`.",
        source: file!(),
    },
    level: Level::Restricted,
    versions: &[Versioned {
        min: v(35),
        eval: super::proc_mount::eval_1_0,
        overrides: &["procMount"],
    }],
};
