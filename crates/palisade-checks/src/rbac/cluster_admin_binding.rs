//! `rbac-cluster-admin-binding`: cluster-admin (or a role as powerful) bound to a
//! subject that is not part of Kubernetes.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_rbac::Request;

use super::{
    input_bindings, report, scope, subjects_text, Eval, ModelRule, Out, View, NSA_RBAC, RBAC_DOC,
    RBAC_GOOD_PRACTICES,
};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-cluster-admin-binding",
        title: "cluster-admin or an equivalent role is bound to a user, group or service account",
        severity: Severity::Critical,
        category: Category::Rbac,
        description: "A ClusterRoleBinding or RoleBinding whose role grants every verb on every resource in every API group (`cluster-admin`, or any role with `*` in verbs, apiGroups and resources), to a subject other than Kubernetes' own. Through a RoleBinding the power is limited to one namespace and graded High.",
        rationale: "Whoever holds such a role can read every Secret, run any pod on any node and grant anything to anyone: one stolen credential or compromised pod of the subject is the whole cluster. Bound in a namespace it still means every Secret, token and workload of that namespace.",
        remediation: "Bind a role with only the verbs and resources the subject needs (start from `view` or `edit`, or write one). Keep `cluster-admin` for break-glass accounts used rarely and audited; grant it to people through a group that is empty by default.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles", RBAC_DOC],
        mappings: &[cis("5.1.1"), nsa(NSA_RBAC), mitre("T1078")],
        peers: &[
            peer(PeerTool::KubeLinter, "cluster-admin-role-binding"),
            peer(PeerTool::Kubescape, "C-0035"),
            peer(PeerTool::Kubescape, "C-0185"),
            peer(PeerTool::Trivy, "KSV111"),
        ],
        peer_notes: "kube-linter and kubescape look for the name `cluster-admin`; Palisade also catches a custom role that grants `*` on `*` in `*` (aggregated roles included), and skips the cluster's own bindings such as `system:masters`.",
        source: file!(),
    },
    eval: Eval::Custom(eval),
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    let m = view.model;
    let all = Request::resource("*", "*", "*", "");
    for bound in input_bindings(m) {
        if m.role_allows(bound.role, &all).is_none() {
            continue;
        }
        let b = bound.binding;
        let severity = if b.cluster {
            Severity::Critical
        } else {
            Severity::High
        };
        report(
            out,
            meta,
            b.origin.as_ref(),
            &b.role_ref.at,
            severity,
            format!(
                "{} can do anything {} through {} ({}, every verb on every resource): one stolen credential is full control",
                subjects_text(&bound.subjects),
                scope(b),
                b.display(),
                m.roles[bound.role].display()
            ),
        );
    }
}
