//! `rbac-token-create`: minting service account tokens.

use palisade_model::{Category, CheckMeta, Severity};

use super::{Eval, GrantRule, ModelRule, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-token-create",
        title: "Subject can create service account tokens",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants `create` on `serviceaccounts/token`. Cluster-wide is High; in one namespace Medium.",
        rationale: "The TokenRequest API issues a token for any service account the grant covers: the holder becomes that account, with all of its permissions, for as long as the token lives.",
        remediation: "Let the kubelet mount tokens into pods instead; where a tool must request tokens, limit the rule with `resourceNames` to its own accounts.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/"],
        mappings: &[cis("5.1.13"), nsa(NSA_RBAC), mitre("T1528")],
        peers: &[],
        peer_notes: "No listed peer has a dedicated check (Trivy and kubescape fold it into broader service-account rules). Reported on the binding; the accounts a token could be minted for, and whether one of them is privileged, show in `palisade rbac escalations`.",
        source: file!(),
    },
    eval: Eval::Grant(GrantRule {
        wanted: &[("create", "", "serviceaccounts", "token")],
        why: "a minted token acts as that service account, with all its permissions",
        namespaced: Severity::Medium,
    }),
};
