//! Checks of the `namespace` category.

use palisade_engine::{Check, ObjectContext};

mod default_namespace;
mod kube_namespace_name;
mod namespace_pss_labels;

/// Every `namespace` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[
    &default_namespace::CHECK,
    &kube_namespace_name::CHECK,
    &namespace_pss_labels::CHECK,
];

/// The namespaces Kubernetes creates itself.
pub(crate) const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// NSA/CISA hardening guide section on namespaces.
const NSA_NAMESPACES: &str = "Namespaces";

/// A core `v1` Namespace object.
fn is_namespace(ctx: &ObjectContext<'_>) -> bool {
    let id = &ctx.object.identity;
    id.kind == "Namespace" && id.api_version == "v1"
}
