//! Kubernetes RBAC, evaluated exactly as the API server's RBAC authorizer does.
//!
//! [`extract`] reads Roles, ClusterRoles, RoleBindings, ClusterRoleBindings, ServiceAccounts
//! and the service accounts workloads run as from positioned objects into owned records;
//! [`Model::build`] indexes them, resolves role references and computes `aggregationRule`
//! aggregation, adding the cluster's default roles and bindings (Kubernetes' bootstrap
//! policy) where the input does not define them. On the model, [`Model::authorize`] answers
//! `can-i`, [`Model::who_can`] lists the subjects allowed a request, and [`escalations`]
//! finds chains of permissions that lead to cluster-admin power. Risk checks that report
//! findings live in `palisade-checks`; this crate reports nothing and does no IO except
//! in [`load`], which reads inputs for the `palisade rbac` commands.

mod authorize;
mod escalation;
mod load;
mod model;
mod record;
mod resources;

pub use authorize::{Decision, Grant, Reason, Request, User, PRIVILEGED_GROUP};
pub use escalation::{
    escalations, Chain, Principal, Step, StepKind, Target, POD_CONTROLLERS, POD_ENTRY,
};
pub use load::{load, record_of, Loaded};
pub use model::{Model, RoleId};
pub use record::{
    extract, BindingDef, Origin, Place, PolicyRule, RbacRecord, RoleDef, RoleRef,
    ServiceAccountDef, SubjectDef, SubjectKind, WorkloadDef,
};
pub use resources::{resolve_resource, ResourceType};

#[cfg(test)]
mod tests;
