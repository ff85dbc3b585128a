//! Helpers shared by the workload checks: effective security-context values.

use palisade_inventory::{ContainerKind, ContainerView, PodSpecView};
use palisade_source::Node;

use crate::pss::helpers::entry;

/// A security-context field as it applies to one container: the container's own value,
/// else the pod's (the kubelet's precedence for fields both levels have).
#[derive(Clone, Copy)]
pub struct Effective<'d> {
    pub key: Node<'d>,
    pub value: Node<'d>,
    /// Set at the pod level (inherited), not on the container.
    pub from_pod: bool,
}

impl Effective<'_> {
    /// Field path of the effective value: the container's field or the pod's.
    pub fn path(&self, pod: &PodSpecView<'_>, c: &ContainerView<'_>, field: &str) -> String {
        if self.from_pod {
            pod.path_of(&format!("securityContext.{field}"))
        } else {
            c.path_of(&format!("securityContext.{field}"))
        }
    }
}

/// The effective `securityContext.<field>` of `c` (null counts as unset at both levels).
pub fn effective<'d>(
    pod: &PodSpecView<'d>,
    c: &ContainerView<'d>,
    field: &str,
) -> Option<Effective<'d>> {
    if let Some((key, value)) = entry(c.security_context(), field) {
        return Some(Effective {
            key,
            value,
            from_pod: false,
        });
    }
    entry(pod.security_context(), field).map(|(key, value)| Effective {
        key,
        value,
        from_pod: true,
    })
}

/// Init and regular containers: the ones that may declare resources, probes and a root
/// file system policy (ephemeral containers may not).
pub fn non_ephemeral<'a, 'd>(
    pod: &'a PodSpecView<'d>,
) -> impl Iterator<Item = &'a ContainerView<'d>> {
    pod.containers()
        .iter()
        .filter(|c| c.kind != ContainerKind::Ephemeral)
}

/// A capability name as the runtime reads it: upper case, without the `CAP_` prefix.
pub fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map_or_else(|| upper.clone(), str::to_owned)
}

/// The container's `securityContext.capabilities.add` entries, with their index.
pub fn added_capabilities<'d>(c: &ContainerView<'d>) -> Vec<(usize, Node<'d>, String)> {
    c.security_context()
        .and_then(|sc| sc.get_present("capabilities"))
        .and_then(|caps| caps.get_present("add"))
        .into_iter()
        .flat_map(|add| add.items().enumerate())
        .filter_map(|(i, n)| n.as_str().map(|s| (i, n, capability(s))))
        .collect()
}

/// Whether `resources.<kind>.<resource>` is set below `node` (a container or a pod spec).
pub fn has_resource(node: Node<'_>, kind: &str, resource: &str) -> bool {
    node.get_present("resources")
        .and_then(|r| r.get_present(kind))
        .and_then(|k| k.get_present(resource))
        .is_some()
}

/// Where a missing-resources finding points: the container's `resources` key, else the container.
pub fn resources_node<'d>(c: &ContainerView<'d>) -> Node<'d> {
    c.node.entry("resources").map_or(c.node, |(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::capability;

    #[test]
    fn capability_names_normalise() {
        assert_eq!(capability("cap_sys_admin"), "SYS_ADMIN");
        assert_eq!(capability("NET_RAW"), "NET_RAW");
        assert_eq!(capability(" all "), "ALL");
    }
}
