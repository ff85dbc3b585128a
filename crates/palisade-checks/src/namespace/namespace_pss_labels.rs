//! `namespace-pss-labels`: a Namespace whose Pod Security Admission `enforce` label is
//! missing, `privileged`, or not a level at all.

use palisade_engine::{Findings, Level, ObjectContext, ENFORCE_LABEL};
use palisade_model::{Category, CheckMeta, Severity};
use palisade_source::Node;

use super::{is_namespace, SYSTEM_NAMESPACES};
use crate::pss::helpers::{cis, mitre, nsa, NSA_POD_SECURITY};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "namespace-pss-labels",
        title: "Namespace does not enforce a Pod Security level",
        severity: Severity::Medium,
        category: Category::Namespace,
        description: "A `Namespace` without a `pod-security.kubernetes.io/enforce` label, with `enforce: privileged`, or with an `enforce` value that is not a Pod Security level (`privileged`, `baseline`, `restricted`). Graded: a missing label is low on `kube-system`, `kube-public` and `kube-node-lease`, and `privileged` is info on `kube-system`, whose node agents legitimately need it.",
        rationale: "Pod Security Admission only blocks what a namespace's `enforce` label asks for. Without it the cluster's admission default applies, which upstream is `privileged`: any pod, including privileged containers, host namespaces and hostPath mounts, is admitted, and one compromised deployer can take the node. `warn` and `audit` labels only report violations; they admit the pod.",
        remediation: "Label the namespace: `pod-security.kubernetes.io/enforce: restricted` (or `baseline` where restricted is not yet possible), optionally pinned with `pod-security.kubernetes.io/enforce-version: v1.N`. Keep `privileged` for namespaces of node-level system agents only, and fix misspelled values (levels are lowercase).",
        references: &[
            "https://kubernetes.io/docs/concepts/security/pod-security-admission/",
            "https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-namespace-labels/",
        ],
        mappings: &[cis("5.2.1"), nsa(NSA_POD_SECURITY), mitre("T1611")],
        peers: &[],
        peer_notes: "Peers judge pod specs; none of checkov, kube-linter, polaris or trivy checks the namespace labels that decide what the cluster actually admits. A missing label is graded by namespace: `kube-system`, `kube-public` and `kube-node-lease` are low (kube-system runs kube-proxy and CNI agents that need `privileged`, and clusters usually exempt it in the admission configuration), and `enforce: privileged` is info on `kube-system` only. An invalid level is medium, not high: upstream fails closed (an invalid `enforce` value evaluates as `restricted`) and the API server refuses to create a Namespace with an invalid label, so the fault is that the intended level never takes effect. The cluster's admission configuration can set a stricter default than `privileged`; Palisade cannot see it, so the message says the default applies.",
        source: file!(),
    },
    eval,
};

const PREFIX: &str = "pod-security.kubernetes.io/";
const LABEL_PATH: &str = "metadata.labels.pod-security.kubernetes.io/enforce";

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    if !is_namespace(ctx) {
        return;
    }
    let name = ctx.object.identity.name.as_str();
    let metadata = ctx.object.root.entry("metadata");
    let labels = metadata.and_then(|(_, m)| m.entry("labels"));
    let enforce = labels
        .and_then(|(_, l)| l.entry(ENFORCE_LABEL))
        .filter(|(_, v)| !v.is_null());
    let path = ctx.object.path(LABEL_PATH);
    let Some((_, value)) = enforce else {
        // Point at the labels (or metadata) that lack the key.
        let node = labels.or(metadata).map_or(ctx.object.root, |(key, _)| key);
        let f = out.report(
            meta,
            node,
            path,
            missing_message(name, labels.map(|(_, l)| l)),
        );
        if SYSTEM_NAMESPACES.contains(&name) {
            f.severity = Severity::Low;
        }
        return;
    };
    let text = value.as_str().unwrap_or("");
    match text.parse::<Level>() {
        Ok(Level::Privileged) => {
            let f = out.report(
                meta,
                value,
                path,
                format!("Namespace {name:?} enforces Pod Security level \"privileged\", which admits any pod (privileged containers, host namespaces, hostPath)"),
            );
            if name == "kube-system" {
                f.severity = Severity::Info;
            }
        }
        Ok(_) => {}
        Err(_) => {
            out.report(
                meta,
                value,
                path,
                format!("Namespace {name:?} sets {ENFORCE_LABEL}={text:?}, which is not a Pod Security level (privileged, baseline, restricted): the API server rejects the label, so the intended level never applies"),
            );
        }
    }
}

/// The message for a missing `enforce` label, naming any `warn`/`audit` labels that are set.
fn missing_message(name: &str, labels: Option<Node<'_>>) -> String {
    let others: Vec<String> = labels
        .into_iter()
        .flat_map(|l| l.entries())
        .filter_map(|(k, v)| {
            let mode = k.as_str()?.strip_prefix(PREFIX)?;
            matches!(mode, "warn" | "audit").then(|| format!("{mode}={}", v.as_str().unwrap_or("")))
        })
        .collect();
    let mut msg = format!("Namespace {name:?} has no {ENFORCE_LABEL} label: pods get the cluster's admission default, privileged unless configured");
    if !others.is_empty() {
        msg.push_str(&format!(
            "; {} only report violations and admit the pod",
            others.join(" and ")
        ));
    }
    msg
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["namespace-pss-labels"];
    const PATH: &str = "metadata.labels.pod-security.kubernetes.io/enforce";

    fn ns(name: &str, labels: &str) -> String {
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n{labels}")
    }

    #[test]
    fn baseline_and_restricted_are_quiet() {
        for level in ["baseline", "restricted", "\"restricted\""] {
            let yaml = ns(
                "shop",
                &format!("  labels:\n    pod-security.kubernetes.io/enforce: {level}\n"),
            );
            assert!(run(&yaml, ID).is_empty(), "{level}");
        }
    }

    #[test]
    fn missing_label_points_at_metadata_or_labels() {
        let hits = run(&ns("shop", ""), ID);
        assert_eq!(ids(&hits), ["namespace-pss-labels"]);
        assert_eq!((hits[0].line, hits[0].path.as_str()), (3, PATH));
        assert_eq!(hits[0].severity, Severity::Medium);
        assert!(hits[0].message.contains("privileged unless configured"));

        let hits = run(&ns("shop", "  labels:\n    team: a\n"), ID);
        assert_eq!(hits[0].line, 5);
    }

    #[test]
    fn warn_and_audit_alone_do_not_enforce() {
        let yaml = ns(
            "shop",
            "  labels:\n    pod-security.kubernetes.io/warn: restricted\n    pod-security.kubernetes.io/audit: baseline\n",
        );
        let hits = run(&yaml, ID);
        assert_eq!(ids(&hits), ["namespace-pss-labels"]);
        assert!(
            hits[0]
                .message
                .contains("warn=restricted and audit=baseline only report violations"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn privileged_is_graded_by_namespace() {
        let label = "  labels:\n    pod-security.kubernetes.io/enforce: privileged\n";
        let hits = run(&ns("shop", label), ID);
        assert_eq!((hits[0].line, hits[0].severity), (6, Severity::Medium));
        assert_eq!(hits[0].path, PATH);
        let hits = run(&ns("kube-system", label), ID);
        assert_eq!(hits[0].severity, Severity::Info);
    }

    #[test]
    fn missing_label_on_system_namespaces_is_low() {
        for name in ["kube-system", "kube-public", "kube-node-lease"] {
            let hits = run(&ns(name, ""), ID);
            assert_eq!(hits[0].severity, Severity::Low, "{name}");
        }
    }

    #[test]
    fn invalid_levels_are_reported_at_the_value() {
        for bad in ["Restricted", "strict", "true", "''"] {
            let yaml = ns(
                "shop",
                &format!("  labels:\n    pod-security.kubernetes.io/enforce: {bad}\n"),
            );
            let hits = run(&yaml, ID);
            assert_eq!(ids(&hits), ["namespace-pss-labels"], "{bad}");
            assert_eq!(hits[0].line, 6, "{bad}");
            assert_eq!(hits[0].severity, Severity::Medium);
            assert!(hits[0].message.contains("not a Pod Security level"));
        }
    }

    #[test]
    fn null_label_counts_as_missing_and_other_kinds_are_ignored() {
        let yaml = ns(
            "shop",
            "  labels:\n    pod-security.kubernetes.io/enforce:\n",
        );
        let hits = run(&yaml, ID);
        assert!(hits[0].message.contains("has no"));
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n";
        assert!(run(cm, ID).is_empty());
    }
}
