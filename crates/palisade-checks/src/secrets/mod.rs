//! Checks of the `secrets` category.

use palisade_engine::Check;

/// Every `secrets` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[];
