//! Checks of the `secrets` category.

use palisade_engine::Check;

mod annotation_credentials;
mod audit_policy_bodies;
mod configmap_credentials;
pub mod detect;
mod env_credentials;
mod secret_env_var;
mod secret_in_manifest;

/// Every `secrets` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[
    &env_credentials::CHECK,
    &secret_env_var::CHECK,
    &secret_in_manifest::CHECK,
    &configmap_credentials::CHECK,
    &annotation_credentials::CHECK,
    &audit_policy_bodies::CHECK,
];

/// Checks that read Secret values. A live scan lists Secrets as metadata only unless
/// one of these is selected by its id: values stay on the cluster by default.
pub const SECRET_VALUE_CHECKS: &[&str] = &["secret-in-manifest"];
