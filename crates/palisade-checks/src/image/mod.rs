//! Checks of the `image` category.

use palisade_engine::Check;

/// Every `image` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[];
