//! `rbac-webhook-modify`: writing admission webhook configurations.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{grant_check, ModelRule, Out, View, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-webhook-modify",
        title: "Subject can modify admission webhook configurations",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants create, update, patch or delete on `mutatingwebhookconfigurations` or `validatingwebhookconfigurations`.",
        rationale: "A mutating webhook sees and may rewrite every object sent to the API server, Secrets included; deleting or redirecting a validating webhook switches off the policy it enforces.",
        remediation: "Grant webhook configuration writes only to the controller that owns its webhook, with `resourceNames`.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/"],
        mappings: &[cis("5.1.12"), nsa(NSA_RBAC), mitre("T1562")],
        peers: &[peer(PeerTool::Checkov, "CKV_K8S_155")],
        peer_notes: "Checkov CKV_K8S_155 looks at ClusterRoles; Palisade reports bound grants and names the subject.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    const ADM: &str = "admissionregistration.k8s.io";
    let mut wanted = Vec::new();
    for resource in [
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
    ] {
        for verb in ["create", "update", "patch", "delete"] {
            wanted.push((verb, ADM, resource, ""));
        }
    }
    grant_check(
        meta,
        view,
        out,
        &wanted,
        "admission webhooks see and rewrite every object, and enforce policy",
        Severity::High,
    );
}
