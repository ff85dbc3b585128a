//! `default-namespace`: an object placed explicitly in the `default` namespace.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use crate::pss::helpers::{cis, nsa, peer};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "default-namespace",
        title: "Object in the default namespace",
        severity: Severity::Low,
        category: Category::Namespace,
        description: "A workload (any object holding a pod spec) or a namespaced object such as a Service, Ingress, ConfigMap, Secret, ServiceAccount, Role or RoleBinding sets `metadata.namespace: default`.",
        rationale: "The `default` namespace is where everything lands that nobody placed on purpose. Quotas, NetworkPolicies, Pod Security labels and RBAC are rarely tightened there, and anything granted in it is shared with every other object that ended up there, so a compromise of one application reaches the others.",
        remediation: "Create a namespace per application or team (`kind: Namespace`) and set `metadata.namespace` to it, or drop the field and choose the namespace at deploy time (`kubectl -n`, kustomize `namespace:`, Helm `--namespace`).",
        references: &[
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/",
            "https://kubernetes.io/docs/concepts/security/multi-tenancy/",
        ],
        mappings: &[cis("5.7.4"), cis("5.7.1"), nsa(super::NSA_NAMESPACES)],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_21"),
            peer(PeerTool::Kubescape, "C-0061"),
            peer(PeerTool::Trivy, "KSV110"),
        ],
        peer_notes: "Only an explicit `metadata.namespace: default` is reported. Checkov CKV_K8S_21 also flags objects with no namespace, but kustomize, Helm and `kubectl -n` set it at deploy time, so a missing namespace says nothing about where the object runs. Kubescape C-0061 looks at pods only; this check also covers Services, Ingresses, ConfigMaps, Secrets and RBAC objects. Objects the API server creates itself in `default` (the `kubernetes` Service and its endpoints, the `default` ServiceAccount, the `kube-root-ca.crt` ConfigMap) are skipped, so a cluster dump stays quiet; cluster-scoped kinds are skipped because the API server ignores their namespace.",
        source: file!(),
    },
    eval,
};

/// Namespaced kinds worth reporting besides anything with a pod spec. ResourceQuota and
/// LimitRange are left out: placing them in `default` hardens it.
const KINDS: &[&str] = &[
    "Service",
    "Ingress",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Endpoints",
    "EndpointSlice",
];

/// Objects the control plane itself keeps in `default`.
fn created_by_cluster(kind: &str, name: &str) -> bool {
    matches!(
        (kind, name),
        ("Service" | "Endpoints" | "EndpointSlice", "kubernetes")
            | ("ServiceAccount", "default")
            | ("ConfigMap", "kube-root-ca.crt")
    )
}

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let id = &ctx.object.identity;
    if ctx.pods.is_empty() && !KINDS.contains(&id.kind.as_str()) {
        return;
    }
    if created_by_cluster(&id.kind, &id.name) {
        return;
    }
    let Some(ns) = ctx.object.root.get_path("metadata.namespace") else {
        return;
    };
    if ns.as_str() == Some("default") {
        out.report(
            meta,
            ns,
            ctx.object.path("metadata.namespace"),
            format!(
                "{} {:?} is placed in the default namespace; give it a namespace of its own",
                id.kind, id.name
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["default-namespace"];

    #[test]
    fn explicit_default_is_reported_at_the_value() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\n";
        let hits = run(yaml, ID);
        assert_eq!(ids(&hits), ["default-namespace"]);
        assert_eq!(hits[0].line, 5);
        assert_eq!(hits[0].path, "metadata.namespace");
        assert_eq!(hits[0].severity, Severity::Low);
        assert!(
            hits[0].message.contains("Deployment \"web\""),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn missing_or_other_namespace_is_quiet() {
        let missing = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n";
        assert!(run(missing, ID).is_empty());
        let other = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: shop\nspec:\n  ports: [{port: 80}]\n";
        assert!(run(other, ID).is_empty());
    }

    #[test]
    fn namespaced_kinds_without_pods_are_reported() {
        for kind in [
            "Service",
            "ConfigMap",
            "Secret",
            "Role",
            "RoleBinding",
            "Ingress",
        ] {
            let yaml = format!(
                "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: x\n  namespace: default\n"
            );
            let hits = run(&yaml, ID);
            assert_eq!(ids(&hits), ["default-namespace"], "{kind}");
            assert_eq!(hits[0].line, 5, "{kind}");
        }
    }

    #[test]
    fn cluster_scoped_and_cluster_made_objects_are_skipped() {
        let quiet = [
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n  namespace: default\n",
            "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: q\n  namespace: default\n",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: kubernetes\n  namespace: default\n",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: default\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-root-ca.crt\n  namespace: default\n",
        ];
        for yaml in quiet {
            assert!(run(yaml, ID).is_empty(), "{yaml}");
        }
    }

    #[test]
    fn cronjob_and_list_items_are_reported_with_full_paths() {
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: batch/v1\n  kind: CronJob\n  metadata:\n    name: nightly\n    namespace: default\n  spec:\n    schedule: '@daily'\n    jobTemplate:\n      spec:\n        template:\n          spec:\n            containers:\n            - name: job\n              image: busybox:1.36\n";
        let hits = run(yaml, ID);
        assert_eq!(ids(&hits), ["default-namespace"]);
        assert_eq!(hits[0].path, "items[0].metadata.namespace");
        assert_eq!(hits[0].line, 8);
    }
}
