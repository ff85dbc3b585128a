//! Palisade's results as Kubernetes objects, for the tools that read policy reports
//! (Kyverno's and Trivy-operator's users, Policy Reporter, dashboards).
//!
//! [`reports`] turns a scan into PolicyReports (`wgpolicyk8s.io/v1alpha2`, one set per
//! namespace) and a ClusterPolicyReport for cluster-scoped objects, or their successor
//! types `Report`/`ClusterReport` (`openreports.io/v1alpha1`). Each object stays under a
//! size bound (256 KiB by default, well below etcd's 1.5 MiB request limit): a namespace
//! with more results gets `palisade-NS-2`, `palisade-NS-3`... Only failures are listed,
//! one result per check and object, with no timestamps, so the same findings give
//! byte-identical objects and a writer can skip what did not change ([`Report::digest`]).

pub mod inventory;
pub mod metrics;
mod reports;
mod run;

pub use reports::{reports, Report, ReportApi, DEFAULT_MAX_BYTES};
pub use run::{run, OperatorError, OperatorOptions, MANAGER};
