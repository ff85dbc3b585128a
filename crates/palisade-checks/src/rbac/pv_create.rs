//! `rbac-pv-create`: creating PersistentVolumes.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{Eval, GrantRule, ModelRule, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-pv-create",
        title: "Subject can create PersistentVolumes",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants `create` on `persistentvolumes` (cluster-scoped, so only ClusterRoleBindings grant it).",
        rationale: "A PersistentVolume may be a `hostPath` volume: any pod that claims it mounts that node directory, which bypasses the Pod Security rule against hostPath volumes in the pod itself.",
        remediation: "Provision volumes through StorageClasses; grant `create` on PersistentVolumes only to storage controllers.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#persistent-volume-creation"],
        mappings: &[cis("5.1.9"), nsa(NSA_RBAC), mitre("T1611")],
        peers: &[peer(PeerTool::Kubescape, "C-0278")],
        peer_notes: "kubescape C-0278 (CIS 5.1.9) flags the role; Palisade reports the bound grant and names the subject.",
        source: file!(),
    },
    eval: Eval::Grant(GrantRule {
        wanted: &[("create", "", "persistentvolumes", "")],
        why: "a hostPath PersistentVolume mounts a node directory into any pod that claims it",
        namespaced: Severity::High,
    }),
};
