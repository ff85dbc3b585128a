//! Checks of the `network` category.

use palisade_engine::Check;

/// Every `network` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[];
