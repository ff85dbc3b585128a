//! Checks of the cluster as a whole: what a live cluster (or its snapshot) says about
//! itself, such as the Kubernetes version it runs.

use palisade_engine::Check;

mod version_unsupported;
pub mod version_vulnerable;

pub use version_unsupported::SUPPORTED;

/// Every cluster check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[&version_unsupported::CHECK, &version_vulnerable::CHECK];
