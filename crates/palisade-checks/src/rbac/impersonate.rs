//! `rbac-impersonate`: the `impersonate` verb.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{Eval, GrantRule, ModelRule, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-impersonate",
        title: "Subject can impersonate users, groups or service accounts",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants `impersonate` on users, groups, serviceaccounts or userextras. Cluster-wide is High; in one namespace (service accounts only) Medium.",
        rationale: "Impersonation makes every request as someone else: impersonating the group `system:masters`, or any user bound to cluster-admin, is cluster-admin, and the audit log shows the impersonated name.",
        remediation: "Remove the grant, or limit it with `resourceNames` to the identities a tool must act as.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation"],
        mappings: &[cis("5.1.8"), nsa(NSA_RBAC), mitre("T1134")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0065"),
            peer(PeerTool::Trivy, "KSV043"),
        ],
        peer_notes: "Like kubescape C-0065, any impersonate grant counts; `rbac-escalation-path` shows where an impersonation leads.",
        source: file!(),
    },
    eval: Eval::Grant(GrantRule {
        wanted: &[
            ("impersonate", "", "users", ""),
            ("impersonate", "", "groups", ""),
            ("impersonate", "", "serviceaccounts", ""),
            ("impersonate", "authentication.k8s.io", "userextras", ""),
        ],
        why: "every request can be made as another identity, up to system:masters",
        namespaced: Severity::Medium,
    }),
};
