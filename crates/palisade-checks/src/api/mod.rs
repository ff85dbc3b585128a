//! Checks of the `api` category.

use palisade_engine::Check;

mod deprecated_api;
mod deprecations;

/// Every `api` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[&deprecated_api::CHECK];
