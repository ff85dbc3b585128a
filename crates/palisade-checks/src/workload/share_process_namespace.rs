//! `share-process-namespace`: the pod's containers share one process namespace.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, Severity};

use crate::pss::helpers::{mitre, nsa};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "share-process-namespace",
        title: "Containers share a process namespace",
        severity: Severity::Medium,
        category: Category::Workload,
        description: "A pod spec sets `shareProcessNamespace: true`.",
        rationale: "Every container then sees every other container's processes: it can signal them, read their environment and command lines, and (as the same UID or with `SYS_PTRACE`) read their memory and files through `/proc/<pid>/root`. A compromised sidecar reaches the main container's secrets, and the reverse.",
        remediation: "Remove `shareProcessNamespace` (it defaults to false). For debugging, use `kubectl debug --target` with an ephemeral container instead.",
        references: &["https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/"],
        mappings: &[nsa("Pod security"), mitre("T1552")],
        peers: &[],
        peer_notes: "No common peer reports this field; it is reported only when true (a plain `true`; the quoted string is not a boolean and is rejected by the API server).",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in &ctx.pods {
        let Some((key, value)) = pod.spec.entry("shareProcessNamespace") else {
            continue;
        };
        if value.is_true() {
            out.report(
                meta,
                key,
                pod.path_of("shareProcessNamespace"),
                "pod sets shareProcessNamespace: true; its containers can see and signal each other's processes and read their environment and files",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["share-process-namespace"];

    #[test]
    fn false_or_unset_passes() {
        for f in ["", "  shareProcessNamespace: false\n"] {
            let yaml = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{f}  containers:\n  - {{name: a, image: x}}\n");
            assert!(run(&yaml, ID).is_empty());
        }
    }

    #[test]
    fn true_is_reported_in_a_cronjob() {
        let yaml = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          shareProcessNamespace: true\n          containers:\n          - {name: a, image: x}\n";
        let hits = run(yaml, ID);
        assert_eq!(ids(&hits), ["share-process-namespace"]);
        assert_eq!(hits[0].line, 10);
        assert_eq!(hits[0].severity, Severity::Medium);
        assert_eq!(
            hits[0].path,
            "spec.jobTemplate.spec.template.spec.shareProcessNamespace"
        );
    }
}
