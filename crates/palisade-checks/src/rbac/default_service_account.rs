//! `rbac-default-service-account`: permissions bound to a namespace's `default` account.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_rbac::SubjectKind;

use super::{report, scope, Eval, ModelRule, Out, View, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-default-service-account",
        title: "The default service account holds permissions",
        severity: Severity::Medium,
        category: Category::Rbac,
        description: "A binding (not one of Kubernetes' own) whose subjects include a ServiceAccount named `default` outside kube-system.",
        rationale: "Every pod that does not name a service account runs as `default` and, unless automounting is off, carries its token: permissions given to it are given to every such pod of the namespace, present and future.",
        remediation: "Create a service account for the workload that needs the permissions, bind the role to it, and set `serviceAccountName`; leave `default` without bindings and with `automountServiceAccountToken: false`.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts"],
        mappings: &[cis("5.1.5"), nsa(NSA_RBAC), mitre("T1078.004")],
        peers: &[peer(PeerTool::Kubescape, "C-0189")],
        peer_notes: "Kubescape C-0189 also asks for automounting to be off on `default`; Palisade leaves that to `service-account-token-automount` on workloads and reports bindings here.",
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
        let Some(role) = m.binding_role[i] else {
            continue;
        };
        for s in &b.subjects {
            if s.kind != SubjectKind::ServiceAccount
                || s.name != "default"
                || s.namespace == "kube-system"
            {
                continue;
            }
            report(
                out,
                meta,
                b.origin.as_ref(),
                &s.at,
                meta.severity,
                format!(
                    "{} grants {} {} to {}: every pod of namespace {} that names no service account gets it",
                    b.display(),
                    m.roles[role].display(),
                    scope(b),
                    s.display(),
                    s.namespace
                ),
            );
        }
    }
}
