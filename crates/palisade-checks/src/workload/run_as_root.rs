//! `run-as-root`: a container may run as UID 0.

use palisade_engine::{Findings, ObjectContext};
use palisade_inventory::{ContainerView, PodSpecView};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{effective, Effective};
use crate::pss::helpers::{cis, in_user_namespace, is_windows, mitre, nsa, peer, pss_covers, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "run-as-root",
        title: "Container may run as root",
        severity: Severity::Medium,
        category: Category::Workload,
        description: "A container's effective `runAsUser` (its own, else the pod's) is 0 (**high**), or it has neither an effective `runAsNonRoot: true` nor an effective non-zero `runAsUser`, so the image's USER decides and may be root (**medium**). Windows pods and pods in a user namespace (`hostUsers: false`) are exempt. Where the Pod Security checks `runAsUser` / `runAsNonRoot` run (restricted profile), the matching half of this check stays quiet.",
        rationale: "Root in a container is root on the node's kernel behind a thin wall: most container escapes, writes to host mounts and abuse of added capabilities need UID 0. An image without a USER runs as root unless the pod says otherwise.",
        remediation: "Set `securityContext.runAsNonRoot: true` on the pod (or each container) and a non-zero `runAsUser` (e.g. 10001), or build the image with a numeric non-root `USER`. Remove `runAsUser: 0`.",
        references: &[
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        ],
        mappings: &[
            cis("5.2.7"),
            nsa("Non-root containers and rootless container engines"),
            mitre("T1611"),
        ],
        peers: &[
            peer(PeerTool::Kubescape, "C-0013"),
            peer(PeerTool::Checkov, "CKV_K8S_23"),
            peer(PeerTool::KubeLinter, "run-as-non-root"),
            peer(PeerTool::Polaris, "runAsRootAllowed"),
            peer(PeerTool::Trivy, "KSV012"),
        ],
        peer_notes: "Peers report a missing `runAsNonRoot` even when a non-zero `runAsUser` already forbids root; this check accepts either, and grades an explicit UID 0 higher than an unknown image user. A container with effective `runAsNonRoot: true` and `runAsUser: 0` is not reported: the kubelet refuses to start it. A pod-level `runAsUser: 0` inherited by several containers is one finding at the pod field naming them. Pods with `hostUsers: false` are exempt (UID 0 maps to an unprivileged host UID), as in Pod Security v1.35. Quiet where the Pod Security checks `runAsUser` (explicit 0) and `runAsNonRoot` (image decides) report, so one problem is one finding.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let user_covered = pss_covers(ctx, "runAsUser");
    let non_root_covered = pss_covers(ctx, "runAsNonRoot");
    for pod in &ctx.pods {
        if is_windows(pod) || in_user_namespace(pod) {
            continue;
        }
        let mut inherit_root = Vec::new();
        for c in pod.containers() {
            let non_root = effective(pod, c, "runAsNonRoot");
            if non_root.is_some_and(|e| e.value.as_bool() == Some(true)) {
                // Either never root, or the kubelet refuses to start it.
                continue;
            }
            let user =
                effective(pod, c, "runAsUser").and_then(|e| e.value.as_i64().map(|uid| (e, uid)));
            match user {
                Some((e, 0)) if !user_covered => {
                    if e.from_pod {
                        inherit_root.push(who(c));
                    } else {
                        out.report(
                            meta,
                            e.key,
                            e.path(pod, c, "runAsUser"),
                            format!("{} runs as root: securityContext.runAsUser is 0", who(c)),
                        )
                        .severity = Severity::High;
                    }
                }
                None if !non_root_covered => report_unknown_user(meta, c, non_root, out),
                _ => {}
            }
        }
        report_inherited(meta, pod, &inherit_root, out);
    }
}

/// No effective non-root guarantee: the image's USER decides.
fn report_unknown_user(
    meta: &'static CheckMeta,
    c: &ContainerView<'_>,
    non_root: Option<Effective<'_>>,
    out: &mut Findings,
) {
    let path = c.path_of("securityContext.runAsNonRoot");
    let (node, why) = match non_root {
        Some(e) if !e.from_pod => (e.key, "sets runAsNonRoot to false"),
        Some(_) => (c.node, "inherits runAsNonRoot: false from the pod"),
        None => (
            c.node,
            "sets neither runAsNonRoot: true nor a non-zero runAsUser",
        ),
    };
    out.report(
        meta,
        node,
        path,
        format!(
            "{} may run as root: it {why}, so the image's USER decides",
            who(c)
        ),
    );
}

/// One finding at a pod-level `runAsUser: 0`, naming the containers that inherit it.
fn report_inherited(
    meta: &'static CheckMeta,
    pod: &PodSpecView<'_>,
    names: &[String],
    out: &mut Findings,
) {
    let Some((key, _)) = pod.security_context().and_then(|sc| sc.entry("runAsUser")) else {
        return;
    };
    if names.is_empty() {
        return;
    }
    out.report(
        meta,
        key,
        pod.path_of("securityContext.runAsUser"),
        format!(
            "pod securityContext.runAsUser is 0 and {} inherit(s) it: runs as root",
            names.join(", ")
        ),
    )
    .severity = Severity::High;
}

#[cfg(test)]
mod tests {
    use crate::testing::{self, ids, pod, run, run_with, Hit};
    use palisade_engine::CheckSettings;
    use palisade_model::Severity;

    const ID: &[&str] = &["run-as-root"];

    fn baseline(yaml: &str) -> Vec<Hit> {
        testing::run_baseline(yaml, ID)
    }

    #[test]
    fn non_root_or_non_zero_uid_passes() {
        let yaml = pod("  securityContext: {runAsNonRoot: true}\n  containers:\n  - {name: a, image: x}\n  - name: b\n    image: x\n    securityContext: {runAsNonRoot: false, runAsUser: 1000}\n");
        assert!(baseline(&yaml).is_empty());
        let yaml =
            pod("  securityContext: {runAsUser: 1000}\n  containers:\n  - {name: a, image: x}\n");
        assert!(baseline(&yaml).is_empty());
    }

    #[test]
    fn image_user_decides_is_medium() {
        let yaml = pod("  containers:\n  - {name: a, image: x}\n");
        let hits = baseline(&yaml);
        assert_eq!(ids(&hits), ["run-as-root"]);
        assert_eq!(hits[0].severity, Severity::Medium);
        assert_eq!(hits[0].line, 6);
        assert_eq!(
            hits[0].path,
            "spec.containers[0].securityContext.runAsNonRoot"
        );
        assert!(hits[0].message.contains("image's USER decides"));
    }

    #[test]
    fn explicit_uid_zero_is_high_and_container_overrides_pod() {
        let yaml = pod("  securityContext: {runAsUser: 1000}\n  containers:\n  - name: a\n    image: x\n    securityContext:\n      runAsUser: 0\n");
        let hits = baseline(&yaml);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].severity, Severity::High);
        assert_eq!(hits[0].line, 10);
        assert_eq!(hits[0].path, "spec.containers[0].securityContext.runAsUser");
        // The container's non-zero UID overrides the pod's 0.
        let yaml = pod("  securityContext: {runAsUser: 0}\n  containers:\n  - name: a\n    image: x\n    securityContext: {runAsUser: 1000}\n");
        assert!(baseline(&yaml).is_empty());
    }

    #[test]
    fn pod_level_zero_is_one_finding_naming_inheritors() {
        let yaml = "\
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          securityContext:
            runAsUser: 0
          initContainers:
          - {name: init, image: x}
          containers:
          - {name: a, image: x}
";
        let hits = baseline(yaml);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].line, 11);
        assert_eq!(
            hits[0].path,
            "spec.jobTemplate.spec.template.spec.securityContext.runAsUser"
        );
        assert!(hits[0]
            .message
            .contains("init container \"init\", container \"a\""));
        assert_eq!(hits[0].severity, Severity::High);
    }

    #[test]
    fn pod_level_false_is_named() {
        let yaml = pod(
            "  securityContext: {runAsNonRoot: false}\n  containers:\n  - {name: a, image: x}\n",
        );
        let hits = baseline(&yaml);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].message.contains("inherits runAsNonRoot: false"));
    }

    #[test]
    fn kubelet_refuses_root_with_run_as_non_root() {
        let yaml = pod("  securityContext: {runAsNonRoot: true, runAsUser: 0}\n  containers:\n  - {name: a, image: x}\n");
        assert!(baseline(&yaml).is_empty());
    }

    #[test]
    fn windows_and_user_namespace_pods_are_exempt() {
        let yaml = pod("  os: {name: windows}\n  containers:\n  - {name: a, image: x}\n");
        assert!(baseline(&yaml).is_empty());
        let yaml = pod("  hostUsers: false\n  containers:\n  - {name: a, image: x}\n");
        assert!(baseline(&yaml).is_empty());
    }

    #[test]
    fn quiet_where_pod_security_restricted_reports() {
        let yaml = pod("  containers:\n  - name: a\n    image: x\n    securityContext: {runAsUser: 0}\n  - {name: b, image: x}\n");
        assert_eq!(baseline(&yaml).len(), 2);
        assert!(run(&yaml, ID).is_empty());
        // Only the covered half goes quiet when just one Pod Security check runs.
        let only_user = CheckSettings {
            active: Some(["run-as-root", "runAsUser"].into_iter().collect()),
            ..CheckSettings::default()
        };
        let hits = run_with(&yaml, ID, "restricted", &only_user);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].severity, Severity::Medium);
    }
}
