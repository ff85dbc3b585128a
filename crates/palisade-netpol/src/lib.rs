//! Kubernetes NetworkPolicy (`networking.k8s.io/v1`) as a conformant CNI enforces it.
//!
//! [`record_of`] keeps what the analysis needs of each object (policies, namespaces and
//! their labels, workloads with their pod labels and named ports); [`Model::build`]
//! indexes them; [`Model::evaluate`] says which connections one end may open to another,
//! and which policies and rules decide it. Connections are [`ConnSet`]s: ports per
//! protocol; [`Model::connections`] lists every allowed connection between workloads and
//! external address ranges. Reading inputs, checks and output live elsewhere.

mod connections;
mod conns;
mod eval;
mod model;
mod record;

pub use connections::{Connection, Node};
pub use conns::{ConnSet, PortSet, Protocol, MAX_PORT, MIN_PORT};
pub use eval::{Direction, Endpoint, RuleRef, SideVerdict, Verdict};
pub use model::{Model, NAMESPACE_NAME_LABEL};
pub use record::{
    extract, record_of, NamespaceDef, NetpolRecord, NotModelled, Peer, PolicyDef, PortRef,
    PortSpec, Rule, ServiceDef, WorkloadDef,
};

#[cfg(test)]
mod tests;
