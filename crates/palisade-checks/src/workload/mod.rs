//! Checks of the `workload` category.

use palisade_engine::Check;

/// Every `workload` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[];
