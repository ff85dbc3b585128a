//! `rbac-escalate-bind`: the `escalate` or `bind` verbs on roles.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{Eval, GrantRule, ModelRule, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

const RBAC: &str = "rbac.authorization.k8s.io";

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-escalate-bind",
        title: "Subject can escalate or bind roles",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants `escalate` or `bind` on roles or clusterroles. Cluster-wide is High; in one namespace Medium.",
        rationale: "RBAC stops users from granting permissions they do not hold, unless they have `escalate` (edit a role to add anything) or `bind` (bind a role they do not hold). With either, plus the right to write roles or bindings, a subject can grant itself cluster-admin.",
        remediation: "Remove `escalate` and `bind` from the role. Controllers that manage RBAC for others should be limited with `resourceNames` to the roles they hand out.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping"],
        mappings: &[cis("5.1.8"), nsa(NSA_RBAC), mitre("T1098")],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_157"),
            peer(PeerTool::Checkov, "CKV_K8S_158"),
            peer(PeerTool::Trivy, "KSV051"),
        ],
        peer_notes: "Checkov reports bind and escalate on ClusterRoles separately (CKV_K8S_157, CKV_K8S_158); Palisade reports bound grants of either, on Roles too, naming the subject.",
        source: file!(),
    },
    eval: Eval::Grant(GrantRule {
        wanted: &[
            ("escalate", RBAC, "clusterroles", ""),
            ("bind", RBAC, "clusterroles", ""),
            ("escalate", RBAC, "roles", ""),
            ("bind", RBAC, "roles", ""),
        ],
        why: "it lifts RBAC's guard against granting permissions one does not hold",
        namespaced: Severity::Medium,
    }),
};
