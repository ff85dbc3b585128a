//! Checks of the `namespace` category.

use palisade_engine::Check;

/// Every `namespace` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[];
