//! `rbac-public-grant`: permissions for anonymous or every authenticated user.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_rbac::SubjectKind;

use super::{report, Eval, ModelRule, Out, View, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-public-grant",
        title: "Permissions granted to anonymous or all authenticated users",
        severity: Severity::Critical,
        category: Category::Rbac,
        description: "A binding (other than Kubernetes' own defaults) with the subject User `system:anonymous`, Group `system:unauthenticated` (Critical) or Group `system:authenticated` (High).",
        rationale: "`system:unauthenticated` and `system:anonymous` are anyone who can reach the API server, with no credentials. `system:authenticated` is every user and every service account token of every pod, so one compromised workload holds the grant.",
        remediation: "Bind the role to the groups or service accounts that need it. Run the API server with `--anonymous-auth=false` where health checks allow it.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests"],
        mappings: &[cis("5.1.1"), nsa(NSA_RBAC), mitre("T1078.001")],
        peers: &[peer(PeerTool::Kubescape, "C-0262")],
        peer_notes: "Kubescape C-0262 looks at anonymous and unauthenticated bindings; Palisade also reports `system:authenticated`, which includes every pod's token. Kubernetes' own discovery bindings are not reported.",
        source: file!(),
    },
    eval: Eval::Custom(eval),
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    let m = view.model;
    for (i, b) in m.bindings.iter().enumerate() {
        if b.is_default() {
            continue;
        }
        for s in &b.subjects {
            let (who, severity) = match (s.kind, s.name.as_str()) {
                (SubjectKind::User, "system:anonymous") => {
                    ("anyone without credentials", Severity::Critical)
                }
                (SubjectKind::Group, "system:unauthenticated") => {
                    ("anyone without credentials", Severity::Critical)
                }
                (SubjectKind::Group, "system:authenticated") => {
                    ("every user and every pod's service account", Severity::High)
                }
                _ => continue,
            };
            let role = match m.binding_role[i] {
                Some(r) => m.roles[r].display(),
                None => format!("{} (missing)", b.role_ref.name),
            };
            report(
                out,
                meta,
                b.origin.as_ref(),
                &s.at,
                severity,
                format!(
                    "{} grants {role} {} to {}: that is {who}",
                    b.display(),
                    super::scope(b),
                    s.display()
                ),
            );
        }
    }
}
