//! `readonly-root-filesystem`: a container's root file system is writable.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::non_ephemeral;
use crate::pss::helpers::{about, entry, is_windows, nsa, peer, shown, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "readonly-root-filesystem",
        title: "Writable root file system",
        severity: Severity::Low,
        category: Category::Workload,
        description: "An init or regular container does not set `securityContext.readOnlyRootFilesystem: true` (the field exists only on containers; unset means writable). Windows pods (`spec.os.name: windows`) are exempt: the field is not supported there. Ephemeral (debug) containers are skipped.",
        rationale: "A writable root file system lets an intruder drop tools, miners and web shells, rewrite the application's own binaries or configuration, and persist until the pod is replaced. Read-only images make those changes fail and keep the running container identical to the reviewed image.",
        remediation: "Set `securityContext.readOnlyRootFilesystem: true` on each container and mount an `emptyDir` volume at each path the process must write (e.g. `/tmp`, caches).",
        references: &[
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
            "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#security-context-1",
        ],
        mappings: &[nsa("Immutable container file systems")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0017"),
            peer(PeerTool::Checkov, "CKV_K8S_22"),
            peer(PeerTool::KubeLinter, "no-read-only-root-fs"),
            peer(PeerTool::Polaris, "notReadOnlyRootFilesystem"),
            peer(PeerTool::Trivy, "KSV014"),
        ],
        peer_notes: "Same rule as the peers, with fewer false positives: Windows pods are exempt (the API rejects the field there) and ephemeral debug containers are skipped; a quoted `\"true\"` is not a boolean and is reported, as the API server would reject it. An explicit `false` points at the field, a missing one at the container.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in ctx.pods.iter().filter(|p| !is_windows(p)) {
        for c in non_ephemeral(pod) {
            let path = c.path_of("securityContext.readOnlyRootFilesystem");
            match entry(c.security_context(), "readOnlyRootFilesystem") {
                Some((_, value)) if value.as_bool() == Some(true) => {}
                Some((key, value)) => {
                    out.report(
                        meta,
                        key,
                        path,
                        format!(
                            "{} sets securityContext.readOnlyRootFilesystem to {}; its root file system is writable",
                            who(c),
                            shown(value)
                        ),
                    );
                }
                None => {
                    out.report(
                        meta,
                        c.node,
                        path,
                        about(
                            c,
                            " does not set securityContext.readOnlyRootFilesystem=true; its root file system is writable",
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["readonly-root-filesystem"];

    #[test]
    fn read_only_containers_pass() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: x\n    securityContext: {readOnlyRootFilesystem: true}\n";
        assert!(run(yaml, ID).is_empty());
    }

    #[test]
    fn missing_and_false_are_reported() {
        let yaml = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      initContainers:
      - name: init
        image: x
      containers:
      - name: app
        image: x
        securityContext:
          readOnlyRootFilesystem: false
      ephemeralContainers:
      - name: debug
        image: x
";
        let hits = run(yaml, ID);
        assert_eq!(ids(&hits), ["readonly-root-filesystem"; 2]);
        assert_eq!(hits[0].line, 8);
        assert_eq!(
            hits[0].path,
            "spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem"
        );
        assert!(hits[0].message.contains("init container \"init\""));
        assert_eq!(hits[1].line, 14);
        assert_eq!(hits[1].severity, Severity::Low);
        assert!(hits[1].message.contains("to false"));
    }

    #[test]
    fn pod_level_field_does_not_count() {
        // PodSecurityContext has no readOnlyRootFilesystem; a stray one protects nothing.
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {readOnlyRootFilesystem: true}\n  containers:\n  - {name: a, image: x}\n";
        assert_eq!(run(yaml, ID).len(), 1);
    }

    #[test]
    fn quoted_true_is_not_a_boolean() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: x\n    securityContext: {readOnlyRootFilesystem: \"true\"}\n";
        assert_eq!(run(yaml, ID).len(), 1);
    }

    #[test]
    fn windows_pods_are_exempt() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  os: {name: windows}\n  containers:\n  - {name: a, image: x}\n";
        assert!(run(yaml, ID).is_empty());
    }
}
