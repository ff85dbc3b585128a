//! `rbac-webhook-modify`: writing admission webhook configurations.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{Eval, GrantRule, ModelRule, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

const ADM: &str = "admissionregistration.k8s.io";

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
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_155"),
            peer(PeerTool::Kubescape, "C-0281"),
        ],
        peer_notes: "Checkov CKV_K8S_155 and kubescape C-0281 look at roles; Palisade reports bound grants and names the subject.",
        source: file!(),
    },
    eval: Eval::Grant(GrantRule {
        wanted: &[
            ("create", ADM, "mutatingwebhookconfigurations", ""),
            ("update", ADM, "mutatingwebhookconfigurations", ""),
            ("patch", ADM, "mutatingwebhookconfigurations", ""),
            ("delete", ADM, "mutatingwebhookconfigurations", ""),
            ("create", ADM, "validatingwebhookconfigurations", ""),
            ("update", ADM, "validatingwebhookconfigurations", ""),
            ("patch", ADM, "validatingwebhookconfigurations", ""),
            ("delete", ADM, "validatingwebhookconfigurations", ""),
        ],
        why: "admission webhooks see and rewrite every object, and enforce policy",
        namespaced: Severity::High,
    }),
};
