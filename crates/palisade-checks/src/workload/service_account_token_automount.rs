//! `service-account-token-automount`: a pod on the default service account gets its token.

use palisade_engine::{Findings, ObjectContext};
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use crate::pss::helpers::{cis, entry, mitre, nsa, peer};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "service-account-token-automount",
        title: "Default service account token mounted",
        severity: Severity::Low,
        category: Category::Workload,
        description: "A pod spec runs as the namespace's `default` service account (`serviceAccountName` absent, empty or `default`, the deprecated `serviceAccount` field included) and does not set `automountServiceAccountToken: false`, so the token is mounted into every container.",
        rationale: "A pod that never talks to the API server still carries an API credential; whoever compromises it can use the token, and the `default` account is shared by every pod of the namespace that names no other, so permissions granted to it for one workload leak to all.",
        remediation: "Set `automountServiceAccountToken: false` in the pod spec (or on the `default` ServiceAccount). Workloads that call the API get their own ServiceAccount with least-privilege RBAC.",
        references: &[
            "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting",
            "https://kubernetes.io/docs/concepts/security/service-accounts/",
        ],
        mappings: &[cis("5.1.5"), cis("5.1.6"), nsa("Authentication and authorization"), mitre("T1528")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0034"),
            peer(PeerTool::Checkov, "CKV_K8S_38"),
            peer(PeerTool::KubeLinter, "default-service-account"),
            peer(PeerTool::Trivy, "KSV036"),
        ],
        peer_notes: "checkov CKV_K8S_38 and trivy KSV036 flag every pod without `automountServiceAccountToken: false`, including pods on a dedicated ServiceAccount that need the API; this check only flags the shared `default` account, where the token is almost never needed. kube-linter `default-service-account` flags the account even when the token is not mounted. A `default` ServiceAccount that itself sets `automountServiceAccountToken: false` is not visible from the pod, so such pods are still reported. Tekton steps (no pod spec of their own) are skipped.",
        source: file!(),
    },
    eval,
};

/// The service account name the pod runs as (`serviceAccountName`, else the deprecated
/// `serviceAccount`, else `default`).
fn account<'d>(pod: &PodSpecView<'d>) -> &'d str {
    ["serviceAccountName", "serviceAccount"]
        .into_iter()
        .filter_map(|f| pod.field(f).and_then(|n| n.as_str()))
        .find(|name| !name.is_empty())
        .unwrap_or("default")
}

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    // Tekton steps have no `containers`: not a pod spec of their own.
    for pod in ctx.pods.iter().filter(|p| p.field("containers").is_some()) {
        if account(pod) != "default" {
            continue;
        }
        let automount = entry(Some(pod.spec), "automountServiceAccountToken");
        if automount.is_some_and(|(_, v)| v.as_bool() == Some(false)) {
            continue;
        }
        let at = automount
            .or_else(|| entry(Some(pod.spec), "serviceAccountName"))
            .map_or(pod.spec, |(k, _)| k);
        out.report(
            meta,
            at,
            pod.path_of("automountServiceAccountToken"),
            "pod runs as the default service account and does not set automountServiceAccountToken: false; its API token is mounted into every container",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["service-account-token-automount"];

    fn pod(spec: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}  containers:\n  - {{name: a, image: x}}\n")
    }

    #[test]
    fn opted_out_or_dedicated_account_passes() {
        assert!(run(&pod("  automountServiceAccountToken: false\n"), ID).is_empty());
        assert!(run(&pod("  serviceAccountName: app\n"), ID).is_empty());
        assert!(run(&pod("  serviceAccount: app\n"), ID).is_empty());
    }

    #[test]
    fn default_account_is_reported() {
        let hits = run(&pod(""), ID);
        assert_eq!(ids(&hits), ["service-account-token-automount"]);
        assert_eq!((hits[0].line, hits[0].severity), (5, Severity::Low));
        assert_eq!(hits[0].path, "spec.automountServiceAccountToken");
        for spec in [
            "  serviceAccountName: default\n",
            "  serviceAccountName: ''\n",
        ] {
            assert_eq!(run(&pod(spec), ID)[0].line, 5);
        }
        let hits = run(
            &pod("  serviceAccountName: \"\"\n  automountServiceAccountToken: true\n"),
            ID,
        );
        assert_eq!(hits[0].line, 6);
    }

    #[test]
    fn deployment_template_and_non_pod_objects() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: x}\n";
        let hits = run(yaml, ID);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            hits[0].path,
            "spec.template.spec.automountServiceAccountToken"
        );
        let sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\n";
        assert!(run(sa, ID).is_empty());
        let tekton = "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps:\n  - {name: s, image: x}\n";
        assert!(run(tekton, ID).is_empty());
    }
}
