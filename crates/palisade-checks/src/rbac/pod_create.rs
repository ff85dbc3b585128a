//! `rbac-pod-create`: creating pods or pod controllers.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{Eval, GrantRule, ModelRule, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-pod-create",
        title: "Subject can create pods or pod controllers",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants `create` on pods, Deployments, DaemonSets, StatefulSets, ReplicaSets, Jobs, CronJobs or ReplicationControllers. Cluster-wide is High; in one namespace Medium. Updating a controller's template (its service account included) is as strong but is what every deployer holds; `rbac-escalation-path` reports it where it reaches a privileged account.",
        rationale: "A pod can run as any service account of its namespace and mount any Secret or ConfigMap there, so creating pods means holding every permission of every account in the namespace. Without Pod Security admission it also means privileged pods and the node.",
        remediation: "Deploy through a pipeline or GitOps controller instead of granting people `create` on workloads; keep the grant to the namespaces that need it, and enforce Pod Security `restricted` there.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#workload-creation"],
        mappings: &[cis("5.1.4"), nsa(NSA_RBAC), mitre("T1610")],
        peers: &[
            peer(PeerTool::KubeLinter, "access-to-create-pods"),
            peer(PeerTool::Kubescape, "C-0188"),
        ],
        peer_notes: "Covers the pod controllers as well as pods, like kube-linter `access-to-create-pods`; reported on the binding with the subject named.",
        source: file!(),
    },
    eval: Eval::Grant(GrantRule {
        // `create` only: every deployer may update its controllers, and that risk is
        // reported where it leads somewhere, by `rbac-escalation-path`.
        wanted: &[
            ("create", "", "pods", ""),
            ("create", "apps", "deployments", ""),
            ("create", "apps", "daemonsets", ""),
            ("create", "apps", "statefulsets", ""),
            ("create", "apps", "replicasets", ""),
            ("create", "batch", "jobs", ""),
            ("create", "batch", "cronjobs", ""),
            ("create", "", "replicationcontrollers", ""),
        ],
        why: "a new pod can run as any service account of the namespace and mount its Secrets",
        namespaced: Severity::Medium,
    }),
};
