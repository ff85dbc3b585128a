//! Checks of the `api` category.

use palisade_engine::Check;

/// Every `api` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[];
