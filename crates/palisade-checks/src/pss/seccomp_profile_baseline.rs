//! `seccompProfile_baseline`: seccomp must not be disabled.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_source::Node;

use super::helpers::{cis, entry, peer, pss, shown, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "seccompProfile_baseline",
        title: "Seccomp disabled",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "Before v1.19: a `seccomp.security.alpha.kubernetes.io/pod` or `container.seccomp.security.alpha.kubernetes.io/<name>` annotation is not `runtime/default`, `docker/default` or `localhost/*`. From v1.19: `securityContext.seccompProfile.type` (pod or container) is set to something other than `RuntimeDefault` or `Localhost`.",
        rationale: "Seccomp filters the system calls a container can make; `Unconfined` re-opens the kernel attack surface that most container escapes go through.",
        remediation: "Remove the `Unconfined` profile, or set `seccompProfile.type: RuntimeDefault`.",
        references: &[PSS_DOC, "https://kubernetes.io/docs/tutorials/security/seccomp/"],
        mappings: &[pss("baseline"), cis("5.7.2")],
        peers: &[peer(PeerTool::Trivy, "KSV104"), peer(PeerTool::Checkov, "CKV_K8S_31")],
        peer_notes: "Versioned like upstream: annotations before v1.19, fields from v1.19.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[
        Versioned { min: v(0), eval: eval_1_0, overrides: &[] },
        Versioned { min: v(19), eval: eval_1_19, overrides: &[] },
    ],
};

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn annotation_allowed(value: &str) -> bool {
    value == "runtime/default" || value == "docker/default" || value.starts_with("localhost/")
}

fn eval_1_0(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    let mut keys = vec![POD_ANNOTATION.to_owned()];
    keys.extend(
        pod.containers()
            .iter()
            .map(|c| format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name)),
    );
    keys.dedup();
    for key in keys {
        let Some((k, value)) = pod.annotation(&key) else {
            continue;
        };
        let value = shown(value);
        if !annotation_allowed(&value) {
            out.report(
                k,
                format!("{}.annotations.{key}", pod.metadata_path),
                format!("forbidden annotation {key}={value:?}"),
            );
        }
    }
}

/// Reports a `seccompProfile` whose type is not `RuntimeDefault`/`Localhost`; returns
/// whether one was set (valid or not) and valid.
pub fn check_type(
    sc: Option<Node<'_>>,
    path: String,
    setter: &str,
    out: &mut PssOut<'_>,
) -> Option<bool> {
    let (key, profile) = entry(sc, "seccompProfile")?;
    let ty = profile.get("type").map(shown).unwrap_or_default();
    if ty == "RuntimeDefault" || ty == "Localhost" {
        return Some(true);
    }
    out.report(
        profile.get("type").unwrap_or(key),
        path,
        format!("{setter} must not set securityContext.seccompProfile.type to {ty:?}"),
    );
    Some(false)
}

fn eval_1_19(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    check_type(
        pod.security_context(),
        pod.path_of("securityContext.seccompProfile.type"),
        "pod",
        out,
    );
    for c in pod.containers() {
        check_type(
            c.security_context(),
            c.path_of("securityContext.seccompProfile.type"),
            &who(c),
            out,
        );
    }
}
