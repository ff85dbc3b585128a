//! `cpu-resources-missing`: a container has no CPU request.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{has_resource, non_ephemeral, resources_node};
use crate::pss::helpers::{about, mitre, nsa, peer};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "cpu-resources-missing",
        title: "No CPU request",
        severity: Severity::Low,
        category: Category::Workload,
        description: "An init or regular container has no `resources.requests.cpu` and no `resources.limits.cpu` (a limit sets the request when the request is unset). CPU limits are not required. Pods with a pod-level `spec.resources` CPU request or limit are not reported; ephemeral containers may not set resources and are skipped.",
        rationale: "A container without a CPU request is BestEffort for CPU: under contention it gets almost nothing, and the scheduler packs the node as if it used none, so a busy or compromised container degrades its neighbours.",
        remediation: "Set `resources.requests.cpu` on every container to what it normally uses (e.g. `resources: {requests: {cpu: 100m}}`). A namespace LimitRange can provide a default.",
        references: &[
            "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
            "https://kubernetes.io/docs/concepts/policy/limit-range/",
        ],
        mappings: &[nsa("Resource policies"), mitre("T1499")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0050"),
            peer(PeerTool::Checkov, "CKV_K8S_10"),
            peer(PeerTool::KubeLinter, "unset-cpu-requirements"),
            peer(PeerTool::Polaris, "cpuRequestsMissing"),
            peer(PeerTool::Trivy, "KSV015"),
        ],
        peer_notes: "Only the request is required. Polaris `cpuLimitsMissing`, checkov CKV_K8S_11 and trivy KSV011 also demand CPU limits; a CPU limit throttles the container even when the node is idle (CFS quota), causing latency spikes, while requests alone already give each container its fair share under contention, so many operators deliberately leave limits off. A CPU limit alone satisfies this check because Kubernetes copies it into the request. Pod-level `spec.resources` counts; a LimitRange in the cluster is not visible in a manifest.",
        source: file!(),
    },
    eval,
};

fn has_cpu(node: palisade_source::Node<'_>) -> bool {
    has_resource(node, "requests", "cpu") || has_resource(node, "limits", "cpu")
}

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in ctx.pods.iter().filter(|p| !has_cpu(p.spec)) {
        for c in non_ephemeral(pod).filter(|c| !has_cpu(c.node)) {
            out.report(
                meta,
                resources_node(c),
                c.path_of("resources.requests.cpu"),
                about(
                    c,
                    " has no CPU request (resources.requests.cpu) nor a CPU limit that would set one",
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, pod, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["cpu-resources-missing"];

    #[test]
    fn request_or_limit_passes() {
        let yaml = pod("  containers:\n  - name: a\n    image: x\n    resources: {requests: {cpu: 100m}}\n  - name: b\n    image: x\n    resources: {limits: {cpu: '1'}}\n");
        assert!(run(&yaml, ID).is_empty());
    }

    #[test]
    fn missing_request_is_reported() {
        let yaml = pod("  initContainers:\n  - {name: i, image: x}\n  containers:\n  - name: a\n    image: x\n    resources:\n      requests: {memory: 1Gi}\n");
        let hits = run(&yaml, ID);
        assert_eq!(ids(&hits), ["cpu-resources-missing"; 2]);
        assert_eq!((hits[0].line, hits[0].severity), (6, Severity::Low));
        assert_eq!(hits[1].line, 10);
        assert_eq!(hits[1].path, "spec.containers[0].resources.requests.cpu");
    }

    #[test]
    fn pod_level_resources_and_cronjob_nesting() {
        let yaml = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - {name: a, image: x}\n";
        let hits = run(yaml, ID);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            hits[0].path,
            "spec.jobTemplate.spec.template.spec.containers[0].resources.requests.cpu"
        );
        let yaml =
            pod("  resources: {requests: {cpu: 500m}}\n  containers:\n  - {name: a, image: x}\n");
        assert!(run(&yaml, ID).is_empty());
    }
}
