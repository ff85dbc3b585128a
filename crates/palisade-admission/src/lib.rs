//! Admission control: the scan's checks enforced at deploy time.
//!
//! [`Judge`] answers `admission.k8s.io/v1` AdmissionReviews with the very registry,
//! config, exceptions and Pod Security profile `palisade scan` uses, so an object gets
//! the same findings at the door as in a scan. Each namespace is in a mode (`enforce`,
//! `warn`, `audit`; label `palisade.dev/mode`, default in the config). [`server`] serves
//! it over HTTPS with certificate reload, bounded bodies and concurrency, health
//! endpoints and Prometheus metrics.

mod answer;
mod judge;
mod metrics;
pub mod review;
pub mod server;
pub mod vap;

/// Serving certificates (shared with the audit webhook backend).
pub use palisade_https::tls;

pub use answer::{clip, MAX_MESSAGE, MAX_WARNING, MAX_WARNINGS, MAX_WARNING_BYTES};
pub use judge::{Decision, Judge, JudgeConfig, NamespaceState, Skip, MODE_LABEL};
pub use metrics::{Metrics, Rejected};
pub use server::{start, RunningServer, ServerConfig};
