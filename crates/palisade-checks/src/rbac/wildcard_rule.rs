//! `rbac-wildcard-rule`: `*` in a rule's verbs, apiGroups or resources.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{report, Eval, ModelRule, Out, View, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-wildcard-rule",
        title: "Role rule uses a wildcard",
        severity: Severity::Medium,
        category: Category::Rbac,
        description: "A rule of a Role or ClusterRole with `*` in `verbs`, `apiGroups` or `resources` (one finding per rule, at the first wildcard). Kubernetes' default roles are not reported.",
        rationale: "A wildcard grants more than anyone reviewed: every current and future resource type, subresource (`pods/exec`, `nodes/proxy`) or verb (`escalate`, `bind`, `impersonate`), including those of CRDs installed later.",
        remediation: "List the verbs, API groups and resources the subject needs. `kubectl auth can-i --list --as ...` on a test cluster shows what a workload uses.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources"],
        mappings: &[cis("5.1.3"), nsa(NSA_RBAC)],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_49"),
            peer(PeerTool::KubeLinter, "wildcard-in-rules"),
            peer(PeerTool::Kubescape, "C-0187"),
            peer(PeerTool::Trivy, "KSV044"),
        ],
        peer_notes: "Like Checkov CKV_K8S_49 and kube-linter `wildcard-in-rules`, reported on the role whether or not it is bound; the finding points at the `*` itself and names every wildcard field of the rule.",
        source: file!(),
    },
    eval: Eval::Custom(eval),
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    for role in &view.model.roles {
        if role.is_default() {
            continue;
        }
        for rule in &role.rules {
            let Some((_, first)) = rule.wildcards.first() else {
                continue;
            };
            let mut fields: Vec<&str> = rule.wildcards.iter().map(|(f, _)| *f).collect();
            fields.dedup();
            report(
                out,
                meta,
                role.origin.as_ref(),
                first,
                meta.severity,
                format!(
                    "rule {} of {} uses `*` in {} ({}): it grants every present and future {}",
                    rule.index + 1,
                    role.display(),
                    fields.join(", "),
                    rule.describe(),
                    fields
                        .iter()
                        .map(|f| match *f {
                            "verbs" => "verb",
                            "apiGroups" => "API group",
                            _ => "resource",
                        })
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            );
        }
    }
}
