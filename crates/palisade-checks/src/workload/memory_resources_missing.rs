//! `memory-resources-missing`: a container has no memory limit.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{has_resource, non_ephemeral, resources_node};
use crate::pss::helpers::{about, mitre, nsa, peer};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "memory-resources-missing",
        title: "No memory limit",
        severity: Severity::Medium,
        category: Category::Workload,
        description: "An init or regular container has no `resources.limits.memory` (a limit also sets the request when the request is unset). The message says whether the memory request is missing too. Pods with a pod-level `spec.resources.limits.memory` are bounded as a whole and not reported; ephemeral containers may not set resources and are skipped.",
        rationale: "Without a limit one container can take all of its node's memory: a leak or a deliberate allocation starves every other pod on the node and triggers evictions and OOM kills there. Without a request the scheduler cannot place the pod sensibly and it is among the first evicted.",
        remediation: "Set `resources.limits.memory` (and `resources.requests.memory`, usually equal to the limit) on every container, e.g. `resources: {requests: {memory: 256Mi}, limits: {memory: 256Mi}}`. A namespace LimitRange can provide defaults.",
        references: &[
            "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
            "https://kubernetes.io/docs/concepts/policy/limit-range/",
        ],
        mappings: &[nsa("Resource policies"), mitre("T1499")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0004"),
            peer(PeerTool::Checkov, "CKV_K8S_12"),
            peer(PeerTool::Checkov, "CKV_K8S_13"),
            peer(PeerTool::KubeLinter, "unset-memory-requirements"),
            peer(PeerTool::Polaris, "memoryLimitsMissing"),
            peer(PeerTool::Polaris, "memoryRequestsMissing"),
            peer(PeerTool::Trivy, "KSV016"),
            peer(PeerTool::Trivy, "KSV018"),
        ],
        peer_notes: "Peers report the request and the limit separately; a limit implies the request, so this is one finding per container, and a request without a limit is still reported (it bounds nothing). Pod-level limits (`spec.resources`) count; a LimitRange in the cluster is not visible in a manifest, so containers relying on one are reported.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in &ctx.pods {
        if has_resource(pod.spec, "limits", "memory") {
            continue;
        }
        for c in non_ephemeral(pod) {
            if has_resource(c.node, "limits", "memory") {
                continue;
            }
            let message = if has_resource(c.node, "requests", "memory") {
                " has no memory limit (resources.limits.memory), its memory request is set but bounds nothing"
            } else {
                " has no memory limit (resources.limits.memory), and no memory request either"
            };
            out.report(
                meta,
                resources_node(c),
                c.path_of("resources.limits.memory"),
                about(c, message),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, pod, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["memory-resources-missing"];

    #[test]
    fn limit_alone_passes() {
        let yaml = pod(
            "  containers:\n  - name: a\n    image: x\n    resources: {limits: {memory: 128Mi}}\n",
        );
        assert!(run(&yaml, ID).is_empty());
    }

    #[test]
    fn missing_limit_points_at_resources_or_container() {
        let yaml = pod("  initContainers:\n  - {name: i, image: x}\n  containers:\n  - name: a\n    image: x\n    resources:\n      requests: {memory: 128Mi}\n  ephemeralContainers:\n  - {name: dbg, image: x}\n");
        let hits = run(&yaml, ID);
        assert_eq!(ids(&hits), ["memory-resources-missing"; 2]);
        assert_eq!(hits[0].line, 6);
        assert_eq!(
            hits[0].path,
            "spec.initContainers[0].resources.limits.memory"
        );
        assert!(hits[0].message.contains("no memory request either"));
        assert_eq!((hits[1].line, hits[1].severity), (10, Severity::Medium));
        assert!(hits[1].message.contains("request is set"));
    }

    #[test]
    fn null_limit_is_missing() {
        let yaml = pod("  containers:\n  - name: a\n    image: x\n    resources: {limits: {memory: null, cpu: 1}}\n");
        assert_eq!(run(&yaml, ID).len(), 1);
    }

    #[test]
    fn pod_level_limit_bounds_every_container() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      resources: {limits: {memory: 1Gi}}\n      containers:\n      - {name: a, image: x}\n";
        assert!(run(yaml, ID).is_empty());
    }
}
