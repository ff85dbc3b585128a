//! `run-as-root-group`: a container runs with GID 0 as its primary or a supplementary group.

use palisade_engine::{Findings, ObjectContext};
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::effective;
use crate::pss::helpers::{entry, in_user_namespace, is_windows, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "run-as-root-group",
        title: "Runs with the root group",
        severity: Severity::Low,
        category: Category::Workload,
        description: "A container's effective `securityContext.runAsGroup` (its own, else the pod's) is 0, or the pod's `securityContext.fsGroup` is 0, or its `supplementalGroups` contain 0. Windows pods and pods in a user namespace (`hostUsers: false`) are exempt. The Pod Security Standards do not cover group ids.",
        rationale: "GID 0 opens every file and device that is group-owned by root and group-readable or -writable: on host mounts, in the image and in volumes shared with other containers. It undoes part of the protection of a non-root UID.",
        remediation: "Set `runAsGroup` and `fsGroup` to a non-zero GID (e.g. 10001) and remove 0 from `supplementalGroups`.",
        references: &[
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
            "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#security-context",
        ],
        mappings: &[nsa("Non-root containers and rootless container engines")],
        peers: &[peer(PeerTool::Trivy, "KSV029")],
        peer_notes: "Like trivy KSV029, but the container's `runAsGroup` overrides the pod's (a pod-level 0 every container overrides is not reported), a pod-level 0 inherited by several containers is one finding at the pod field naming them, and Windows and user-namespace pods are exempt. Unset groups are not reported: the image's group then applies, which is usually the user's primary group.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in &ctx.pods {
        if is_windows(pod) || in_user_namespace(pod) {
            continue;
        }
        run_as_group(meta, pod, out);
        pod_groups(meta, pod, out);
    }
}

fn run_as_group(meta: &'static CheckMeta, pod: &PodSpecView<'_>, out: &mut Findings) {
    let mut inherit = Vec::new();
    for c in pod.containers() {
        let Some(e) = effective(pod, c, "runAsGroup") else {
            continue;
        };
        if e.value.as_i64() != Some(0) {
            continue;
        }
        if e.from_pod {
            inherit.push(who(c));
        } else {
            out.report(
                meta,
                e.key,
                e.path(pod, c, "runAsGroup"),
                format!(
                    "{} runs with GID 0: securityContext.runAsGroup is 0",
                    who(c)
                ),
            );
        }
    }
    if let (false, Some((key, _))) = (
        inherit.is_empty(),
        entry(pod.security_context(), "runAsGroup"),
    ) {
        out.report(
            meta,
            key,
            pod.path_of("securityContext.runAsGroup"),
            format!(
                "pod securityContext.runAsGroup is 0 and {} inherit(s) it: runs with GID 0",
                inherit.join(", ")
            ),
        );
    }
}

fn pod_groups(meta: &'static CheckMeta, pod: &PodSpecView<'_>, out: &mut Findings) {
    let sc = pod.security_context();
    if let Some((key, value)) = entry(sc, "fsGroup") {
        if value.as_i64() == Some(0) {
            out.report(
                meta,
                key,
                pod.path_of("securityContext.fsGroup"),
                "pod securityContext.fsGroup is 0: volumes are made group-owned by root and every container gets GID 0 as a supplementary group",
            );
        }
    }
    let Some((_, groups)) = entry(sc, "supplementalGroups") else {
        return;
    };
    for (i, g) in groups.items().enumerate() {
        if g.as_i64() == Some(0) {
            out.report(
                meta,
                g,
                pod.path_of(&format!("securityContext.supplementalGroups[{i}]")),
                "pod securityContext.supplementalGroups contains 0: every container gets GID 0",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, pod, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["run-as-root-group"];

    #[test]
    fn non_zero_and_unset_groups_pass() {
        let yaml = pod("  securityContext: {runAsGroup: 1000, fsGroup: 2000, supplementalGroups: [3000]}\n  containers:\n  - {name: a, image: x}\n");
        assert!(run(&yaml, ID).is_empty());
        assert!(run(&pod("  containers:\n  - {name: a, image: x}\n"), ID).is_empty());
    }

    #[test]
    fn container_group_zero_is_reported_at_its_field() {
        let yaml = pod(
            "  containers:\n  - name: a\n    image: x\n    securityContext:\n      runAsGroup: 0\n",
        );
        let hits = run(&yaml, ID);
        assert_eq!(ids(&hits), ["run-as-root-group"]);
        assert_eq!(hits[0].line, 9);
        assert_eq!(
            hits[0].path,
            "spec.containers[0].securityContext.runAsGroup"
        );
        assert_eq!(hits[0].severity, Severity::Low);
    }

    #[test]
    fn container_overrides_pod_and_inheritors_are_named() {
        let yaml = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      securityContext:
        runAsGroup: 0
      initContainers:
      - {name: init, image: x}
      containers:
      - name: a
        image: x
        securityContext: {runAsGroup: 1000}
";
        let hits = run(yaml, ID);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].line, 8);
        assert_eq!(
            hits[0].path,
            "spec.template.spec.securityContext.runAsGroup"
        );
        assert!(hits[0].message.contains("init container \"init\""));
        assert!(!hits[0].message.contains("container \"a\""));
        // Every container overrides: nothing runs with GID 0.
        let yaml = pod("  securityContext: {runAsGroup: 0}\n  containers:\n  - name: a\n    image: x\n    securityContext: {runAsGroup: 1}\n");
        assert!(run(&yaml, ID).is_empty());
    }

    #[test]
    fn fs_group_and_supplemental_groups() {
        let yaml = pod("  securityContext:\n    fsGroup: 0\n    supplementalGroups: [10, 0]\n  containers:\n  - {name: a, image: x}\n");
        let hits = run(&yaml, ID);
        assert_eq!(hits.len(), 2);
        assert_eq!(
            (hits[0].line, hits[0].path.as_str()),
            (6, "spec.securityContext.fsGroup")
        );
        assert_eq!(hits[1].path, "spec.securityContext.supplementalGroups[1]");
        assert_eq!(hits[1].line, 7);
    }

    #[test]
    fn windows_and_user_namespace_pods_are_exempt() {
        let spec = "  securityContext: {fsGroup: 0}\n  containers:\n  - {name: a, image: x}\n";
        assert!(run(&pod(&format!("  os: {{name: windows}}\n{spec}")), ID).is_empty());
        assert!(run(&pod(&format!("  hostUsers: false\n{spec}")), ID).is_empty());
    }
}
