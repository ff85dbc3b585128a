//! A node's security posture as its own components see it.
//!
//! [`collect`] reads a node (or a captured tree of one, `--root`): the Kubernetes
//! processes in `/proc`, the kubelet's `--config` file and `--config-dir` drop-ins, its
//! static pod manifests, and the type, mode and owner of every file CIS sections 1.1 and
//! 4.1 judge ([`view`]). The kubelet's effective configuration is computed as the
//! kubelet computes it, each value with where it came from ([`kubelet`]). A
//! [`Snapshot`] of what was read can be saved (`--collect`) and judged elsewhere with
//! the same result ([`replay`]). Key files are never read, only described.
//!
//! The checks over a [`NodeView`] live in `palisade-checks` (category `node`); nothing
//! here judges.

pub mod flags;
pub mod kubelet;
pub mod snapshot;
pub mod view;

pub use kubelet::{EffectiveConfig, Setting, Source};
pub use snapshot::{FileFact, FileKind, Process, Snapshot};
pub use view::{collect, replay, Component, Kubelet, NodeView, Proxy, Role, RoleFile};
