//! Checks of the `network` category.

use palisade_engine::{Check, ObjectContext};

mod ingress_no_tls;
mod service_exposed;
mod service_external_ips;

/// Every `network` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[
    &service_exposed::CHECK,
    &service_external_ips::CHECK,
    &ingress_no_tls::CHECK,
];

/// NSA/CISA hardening guide section on network separation.
const NSA_NETWORK: &str = "Network separation and hardening";

/// A core `v1` Service object.
fn is_service(ctx: &ObjectContext<'_>) -> bool {
    let id = &ctx.object.identity;
    id.kind == "Service" && id.api_version == "v1"
}

/// The text of the object's annotation `key`, if set.
fn annotation<'d>(ctx: &ObjectContext<'d>, key: &str) -> Option<&'d str> {
    ctx.object
        .root
        .get_path("metadata.annotations")?
        .get_present(key)?
        .as_str()
}
