//! `rbac-unused-role`: a Role or ClusterRole nothing binds.

use palisade_model::{Category, CheckMeta, Severity};

use super::{report, Eval, ModelRule, Out, View, RBAC_DOC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::nsa;

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-unused-role",
        title: "Role is bound to nothing",
        severity: Severity::Low,
        category: Category::Rbac,
        description: "A Role or ClusterRole from the input that no binding names and that no aggregated ClusterRole takes rules from. Kubernetes' default roles are not reported.",
        rationale: "An unused role is dead weight that reviewers still have to read, and a ready-made grant: whoever may create bindings can hand it out later without anyone reviewing it again.",
        remediation: "Delete the role, or bind it where it is meant to be used. A ClusterRole meant for aggregation needs the labels its aggregating role selects.",
        references: &[RBAC_DOC, RBAC_GOOD_PRACTICES],
        mappings: &[nsa("Authentication and authorization")],
        peers: &[],
        peer_notes: "No listed peer reports unbound roles. Judged over the whole input: a role bound in another file counts as used. Scanning one file of a larger set can report roles bound elsewhere.",
        source: file!(),
    },
    eval: Eval::Custom(eval),
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    let m = view.model;
    for (i, role) in m.roles.iter().enumerate() {
        if role.is_default() || m.bindings_of(i).next().is_some() || m.is_aggregated_into(i) {
            continue;
        }
        // Roles labelled for aggregation into a default role (aggregate-to-admin/edit/view)
        // are used by that role even when it is not in the input.
        if role
            .labels
            .iter()
            .any(|(k, _)| k.starts_with("rbac.authorization.k8s.io/aggregate-to-"))
        {
            continue;
        }
        report(
            out,
            meta,
            role.origin.as_ref(),
            &role.at,
            meta.severity,
            format!(
                "{} is bound to nothing and aggregated into nothing",
                role.display()
            ),
        );
    }
}
