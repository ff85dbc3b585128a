//! `kube-namespace-name`: a Namespace that takes the `kube-` prefix reserved for Kubernetes.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, Severity};

use super::{is_namespace, SYSTEM_NAMESPACES};
use crate::pss::helpers::{cis, mitre, nsa};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "kube-namespace-name",
        title: "Namespace uses the reserved kube- prefix",
        severity: Severity::Medium,
        category: Category::Namespace,
        description: "A `Namespace` whose name starts with `kube-` and is not one of the namespaces Kubernetes creates itself (`kube-system`, `kube-public`, `kube-node-lease`).",
        rationale: "Kubernetes reserves the `kube-` prefix for system namespaces. Policy engines, admission exemptions, monitoring dashboards and scanners commonly skip `kube-*` wholesale, so workloads placed there can escape the controls that apply everywhere else, and a look-alike name such as `kube-systems` lets an attacker's workload pass for a system component.",
        remediation: "Rename the namespace without the `kube-` prefix (e.g. `platform-monitoring` instead of `kube-monitoring`) and move its objects there.",
        references: &[
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces",
        ],
        mappings: &[cis("5.7.1"), nsa(super::NSA_NAMESPACES), mitre("T1036")],
        peers: &[],
        peer_notes: "None of the usual peers (checkov, kube-linter, kubescape, polaris, trivy) checks namespace names. Only the Namespace object itself is reported, once, not every object placed in it; the three namespaces Kubernetes creates are allowed.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    if !is_namespace(ctx) {
        return;
    }
    let Some(name) = ctx.object.root.get_path("metadata.name") else {
        return;
    };
    let Some(text) = name.as_str() else {
        return;
    };
    if text.starts_with("kube-") && !SYSTEM_NAMESPACES.contains(&text) {
        out.report(
            meta,
            name,
            ctx.object.path("metadata.name"),
            format!(
                "Namespace {text:?} uses the kube- prefix Kubernetes reserves for its own namespaces"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["kube-namespace-name"];

    fn ns(name: &str) -> String {
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
    }

    #[test]
    fn reserved_prefix_is_reported_at_the_name() {
        let hits = run(&ns("kube-monitoring"), ID);
        assert_eq!(ids(&hits), ["kube-namespace-name"]);
        assert_eq!(hits[0].line, 4);
        assert_eq!(hits[0].path, "metadata.name");
        assert_eq!(hits[0].severity, Severity::Medium);
        assert!(hits[0].message.contains("\"kube-monitoring\""));
    }

    #[test]
    fn system_namespaces_and_ordinary_names_are_quiet() {
        for name in [
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "shop",
            "kubeflow",
            "my-kube-tools",
        ] {
            assert!(run(&ns(name), ID).is_empty(), "{name}");
        }
    }

    #[test]
    fn look_alikes_and_other_kinds() {
        assert_eq!(ids(&run(&ns("kube-systems"), ID)), ["kube-namespace-name"]);
        // Only Namespace objects: a ConfigMap called kube-x is not a namespace.
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-x\n";
        assert!(run(cm, ID).is_empty());
    }
}
