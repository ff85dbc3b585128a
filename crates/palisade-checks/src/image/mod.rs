//! Checks of the `image` category.

use palisade_engine::Check;

mod image_not_pinned;
mod image_pull_policy;
mod image_registry_not_allowed;
pub mod image_signature;
mod image_tag_latest;
pub mod image_vulnerable;
pub mod reference;

/// Every `image` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[
    &image_tag_latest::CHECK,
    &image_not_pinned::CHECK,
    &image_registry_not_allowed::CHECK,
    &image_pull_policy::CHECK,
    &image_signature::CHECK,
    &image_vulnerable::CHECK,
];
