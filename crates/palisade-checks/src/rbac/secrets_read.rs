//! `rbac-secrets-read`: read access to Secrets.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{Eval, GrantRule, ModelRule, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-secrets-read",
        title: "Subject can read Secrets",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants `get`, `list` or `watch` on `secrets`. Cluster-wide (a ClusterRoleBinding) is High; in one namespace (a RoleBinding) Medium.",
        rationale: "Secrets hold passwords, API keys, TLS keys and, in older clusters, service account tokens: reading them is often a direct path to other systems and to more privileged accounts. `list` and `watch` return every Secret's contents, not only names.",
        remediation: "Mount the Secrets a workload needs as volumes instead of reading them through the API; where the API is needed, limit the rule with `resourceNames` and a RoleBinding in one namespace.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/concepts/security/secrets-good-practices/"],
        mappings: &[cis("5.1.2"), nsa(NSA_RBAC), mitre("T1552.007")],
        peers: &[
            peer(PeerTool::KubeLinter, "access-to-secrets"),
            peer(PeerTool::Kubescape, "C-0015"),
            peer(PeerTool::Kubescape, "C-0186"),
            peer(PeerTool::Trivy, "KSV041"),
        ],
        peer_notes: "Reported on the binding rather than the role, so the subject is named and an unbound role is not a finding; grants limited by `resourceNames` still count.",
        source: file!(),
    },
    eval: Eval::Grant(GrantRule {
        wanted: &[
            ("get", "", "secrets", ""),
            ("list", "", "secrets", ""),
            ("watch", "", "secrets", ""),
        ],
        why: "Secrets hold credentials and tokens for other systems and accounts",
        namespaced: Severity::Medium,
    }),
};
