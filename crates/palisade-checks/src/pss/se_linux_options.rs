//! `seLinuxOptions`: no custom SELinux user, role or type.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_source::Node;

use super::helpers::{entry, nsa, peer, pss, shown, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "seLinuxOptions",
        title: "Custom SELinux options",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "`securityContext.seLinuxOptions` (pod or container) sets `user` or `role`, or a `type` other than container_t, container_init_t, container_kvm_t (and container_engine_t from v1.31).",
        rationale: "A custom SELinux type, user or role can lift the mandatory access control that keeps a container away from host files and other containers (e.g. `spc_t` is unconfined).",
        remediation: "Remove `user` and `role`, and use one of the container types (or leave `seLinuxOptions` unset).",
        references: &[PSS_DOC],
        mappings: &[pss("baseline"), nsa(super::helpers::NSA_POD_SECURITY)],
        peers: &[peer(PeerTool::Trivy, "KSV025")],
        peer_notes: "Allowed types follow the version: `container_engine_t` is allowed from v1.31 only.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[
        Versioned { min: v(0), eval: eval_1_0, overrides: &[] },
        Versioned { min: v(31), eval: eval_1_31, overrides: &[] },
    ],
};

const TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
pub(crate) const TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn eval_1_0(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    eval(pod, out, TYPES_1_0);
}

fn eval_1_31(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    eval(pod, out, TYPES_1_31);
}

fn check(sc: Option<Node<'_>>, base: &str, setter: &str, types: &[&str], out: &mut PssOut<'_>) {
    let Some((_, opts)) = entry(sc, "seLinuxOptions") else {
        return;
    };
    if let Some((key, ty)) = entry(Some(opts), "type") {
        let t = shown(ty);
        if !types.contains(&t.as_str()) {
            out.report(
                key,
                format!("{base}.type"),
                format!("{setter} set forbidden securityContext.seLinuxOptions: type {t:?}"),
            );
        }
    }
    for field in ["user", "role"] {
        if let Some((key, val)) = entry(Some(opts), field) {
            if !shown(val).is_empty() {
                out.report(
                    key,
                    format!("{base}.{field}"),
                    format!("{setter} set forbidden securityContext.seLinuxOptions: {field} {:?} may not be set", shown(val)),
                );
            }
        }
    }
}

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>, types: &[&str]) {
    check(
        pod.security_context(),
        &pod.path_of("securityContext.seLinuxOptions"),
        "pod",
        types,
        out,
    );
    for c in pod.containers() {
        check(
            c.security_context(),
            &c.path_of("securityContext.seLinuxOptions"),
            &who(c),
            types,
            out,
        );
    }
}
