//! The checks and their registry.
//!
//! Every check is one file declaring its metadata (id, title, severity, rationale,
//! remediation, framework mappings, peer equivalents) beside its logic. [`registry`]
//! lists them in a fixed order; `palisade checks list|explain`, SARIF rule metadata and
//! the generated docs all read the same data.
//!
//! The Pod Security Standards live in [`pss`]: each upstream check keeps its upstream id
//! and carries one implementation per Kubernetes version in which it changed.

pub mod api;
pub mod cel;
pub mod cluster;
pub mod controlplane;
mod docs;
pub mod image;
pub mod input;
pub mod namespace;
pub mod netpol;
pub mod network;
pub mod node;
pub mod pss;
pub mod rbac;
mod registry;
mod rule;
pub mod secrets;
#[cfg(test)]
mod testing;
pub mod workload;

pub use docs::{checks_markdown, explain};
pub use netpol::ANALYSIS as NETPOL_ANALYSIS;
pub use rbac::ANALYSIS as RBAC_ANALYSIS;
pub use registry::{
    analyses, by_id, registry, select, whole_inventory_reason, Selection, WHOLE_INVENTORY,
};
pub use rule::Rule;
pub use secrets::SECRET_VALUE_CHECKS;
