//! Small helpers shared by the Pod Security checks.

use palisade_engine::Version;
use palisade_inventory::{ContainerKind, ContainerView, PodSpecView};
use palisade_model::{Framework, Mapping, Message, Peer, PeerTool};
use palisade_source::Node;

/// `container "nginx"`, `init container "setup"`, `ephemeral container "debug"`.
pub fn who(c: &ContainerView<'_>) -> String {
    format!("{} {:?}", c.kind.describe(), c.name)
}

/// `{who(c)}{after}`, as a message written out only when reported.
#[must_use]
pub fn about(c: &ContainerView<'_>, after: &'static str) -> Message {
    Message::quoting(kind_before(c.kind, false), c.name, after)
}

/// `pod or {who(c)}{after}`, as a message written out only when reported.
#[must_use]
pub fn about_pod_or(c: &ContainerView<'_>, after: &'static str) -> Message {
    Message::quoting(kind_before(c.kind, true), c.name, after)
}

/// What [`who`] writes before the name, after `pod or ` when `pod_or`.
fn kind_before(kind: ContainerKind, pod_or: bool) -> &'static str {
    match (kind, pod_or) {
        (ContainerKind::Init, false) => "init container ",
        (ContainerKind::Regular, false) => "container ",
        (ContainerKind::Ephemeral, false) => "ephemeral container ",
        (ContainerKind::Init, true) => "pod or init container ",
        (ContainerKind::Regular, true) => "pod or container ",
        (ContainerKind::Ephemeral, true) => "pod or ephemeral container ",
    }
}

/// The non-null value under `key`, with its key node (where findings point).
pub fn entry<'d>(map: Option<Node<'d>>, key: &str) -> Option<(Node<'d>, Node<'d>)> {
    map?.entry(key).filter(|(_, v)| !v.is_null())
}

/// Reports every entry of a container's `capabilities.add` that `allowed` rejects.
pub fn report_added(
    c: &ContainerView<'_>,
    add: Node<'_>,
    allowed: impl Fn(&str) -> bool,
    out: &mut super::PssOut<'_>,
) {
    for (i, cap) in add.items().enumerate() {
        let name = shown(cap);
        if !allowed(&name) {
            out.report(
                cap,
                c.path_of(&format!("securityContext.capabilities.add[{i}]")),
                format!(
                    "{} must not include {name:?} in securityContext.capabilities.add",
                    who(c)
                ),
            );
        }
    }
}

/// `spec.os.name == "windows"`, the condition for the restricted Windows exemptions.
pub fn is_windows(pod: &PodSpecView<'_>) -> bool {
    pod.field("os")
        .and_then(|os| os.get("name"))
        .and_then(|n| n.as_str())
        == Some("windows")
}

/// `spec.hostUsers` present and `false`: the pod runs in a user namespace.
pub fn in_user_namespace(pod: &PodSpecView<'_>) -> bool {
    pod.field("hostUsers").and_then(|n| n.as_bool()) == Some(false)
}

/// A scalar's text for messages (`""` for null, `<object>` for collections).
pub fn shown(node: Node<'_>) -> String {
    if node.is_mapping() || node.is_sequence() {
        "<object>".to_owned()
    } else {
        node.as_str().unwrap_or("").to_owned()
    }
}

pub const fn v(minor: u32) -> Version {
    Version::v1(minor)
}

pub const fn pss(level: &'static str) -> Mapping {
    Mapping {
        framework: Framework::Pss,
        id: level,
    }
}

pub const fn cis(id: &'static str) -> Mapping {
    Mapping {
        framework: Framework::Cis,
        id,
    }
}

pub const fn nsa(id: &'static str) -> Mapping {
    Mapping {
        framework: Framework::Nsa,
        id,
    }
}

pub const fn mitre(id: &'static str) -> Mapping {
    Mapping {
        framework: Framework::Mitre,
        id,
    }
}

pub const fn peer(tool: PeerTool, id: &'static str) -> Peer {
    Peer { tool, id }
}

pub const PSS_DOC: &str = "https://kubernetes.io/docs/concepts/security/pod-security-standards/";
pub const NSA_POD_SECURITY: &str = "Pod security";

/// Whether the Pod Security check `id` runs on this object and reports the same field,
/// so an overlapping catalogue check should stay quiet (one problem, one finding).
pub fn pss_covers(ctx: &palisade_engine::ObjectContext<'_>, id: &str) -> bool {
    ctx.settings.is_active(id)
        && super::CHECKS
            .iter()
            .find(|c| c.meta.id == id)
            .is_some_and(|c| c.applies(ctx.profile.level, ctx.profile.version))
}
