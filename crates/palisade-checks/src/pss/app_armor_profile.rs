//! `appArmorProfile`: AppArmor must not be disabled or set to a non-default profile type.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_source::Node;

use super::helpers::{entry, nsa, peer, pss, shown, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "appArmorProfile",
        title: "AppArmor profile overridden",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "`securityContext.appArmorProfile.type` (pod or container) is not `RuntimeDefault` or `Localhost`, or a `container.apparmor.security.beta.kubernetes.io/*` annotation is not `runtime/default` or `localhost/*`.",
        rationale: "`Unconfined` removes the AppArmor confinement the runtime applies by default, so a compromised process can use every file and capability its user has.",
        remediation: "Remove the override, or set `appArmorProfile.type: RuntimeDefault` (or `Localhost` with a reviewed profile).",
        references: &[PSS_DOC, "https://kubernetes.io/docs/tutorials/security/apparmor/"],
        mappings: &[pss("baseline"), nsa(super::helpers::NSA_POD_SECURITY)],
        peers: &[peer(PeerTool::Trivy, "KSV002"), peer(PeerTool::Kubescape, "C-0055")],
        peer_notes: "Checks both the 1.30+ fields and the beta annotations at every version, as upstream does; peers check only one of the two.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[Versioned { min: v(0), eval, overrides: &[] }],
};

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn check_field(sc: Option<Node<'_>>, path: String, setter: &str, out: &mut PssOut<'_>) {
    let Some((key, profile)) = entry(sc, "appArmorProfile") else {
        return;
    };
    let ty = profile.get("type").map(shown).unwrap_or_default();
    if ty != "RuntimeDefault" && ty != "Localhost" {
        out.report(
            profile.get("type").map_or(key, |t| t),
            path,
            format!("{setter} must not set AppArmor profile type to {ty:?}"),
        );
    }
}

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    check_field(
        pod.security_context(),
        pod.path_of("securityContext.appArmorProfile.type"),
        "pod",
        out,
    );
    for c in pod.containers() {
        check_field(
            c.security_context(),
            c.path_of("securityContext.appArmorProfile.type"),
            &who(c),
            out,
        );
    }
    for (key, value) in pod.annotations() {
        let Some(name) = key.as_str().filter(|k| k.starts_with(ANNOTATION_PREFIX)) else {
            continue;
        };
        let value_text = shown(value);
        if !(value_text.is_empty()
            || value_text == "runtime/default"
            || value_text.starts_with("localhost/"))
        {
            out.report(
                key,
                format!("{}.annotations.{name}", pod.metadata_path),
                format!(
                    "annotation {name}={value_text:?} must not set a forbidden AppArmor profile"
                ),
            );
        }
    }
}
