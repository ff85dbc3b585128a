//! `rbac-dangling-binding`: a binding to a role that does not exist.

use palisade_model::{Category, CheckMeta, Severity};

use super::{report, Eval, ModelRule, Out, View, RBAC_DOC};
use crate::pss::helpers::nsa;

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-dangling-binding",
        title: "Binding refers to a role that does not exist",
        severity: Severity::Medium,
        category: Category::Rbac,
        description: "A RoleBinding or ClusterRoleBinding whose `roleRef` names a Role (in the binding's namespace) or ClusterRole that neither the input nor Kubernetes' defaults define.",
        rationale: "The binding grants nothing today, but whoever later creates a role of that name, perhaps someone allowed to create roles but not bindings, silently grants its rules to the binding's subjects. It is also a sign of a typo or a half-removed application.",
        remediation: "Fix the `roleRef` (a Role must be in the binding's own namespace), or delete the binding.",
        references: &[RBAC_DOC, "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding"],
        mappings: &[nsa("Authentication and authorization")],
        peers: &[],
        peer_notes: "Judged over the whole input plus the cluster's default roles; scanning one file of a larger set can report roles defined elsewhere.",
        source: file!(),
    },
    eval: Eval::Custom(eval),
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    let m = view.model;
    for (i, b) in m.bindings.iter().enumerate() {
        if m.binding_role[i].is_some() || b.is_default() {
            continue;
        }
        let wanted = if b.role_ref.cluster {
            format!("ClusterRole {}", b.role_ref.name)
        } else {
            format!("Role {}/{}", b.namespace, b.role_ref.name)
        };
        report(
            out,
            meta,
            b.origin.as_ref(),
            &b.role_ref.at,
            meta.severity,
            format!("{} refers to {wanted}, which does not exist: whoever creates it grants its rules to the binding's subjects", b.display()),
        );
    }
}
