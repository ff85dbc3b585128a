//! `deprecated-api`: an object written in an API version Kubernetes has removed or deprecated.

use palisade_engine::{Findings, ObjectContext, Version};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::deprecations::{lookup, Deprecation, Fate};
use crate::pss::helpers::{nsa, peer};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "deprecated-api",
        title: "Deprecated or removed API version",
        severity: Severity::High,
        category: Category::Api,
        description: "An object whose `apiVersion` and `kind` Kubernetes no longer serves (high), will stop serving in a release newer than the latest Palisade knows (low), or has deprecated in a GA version that stays served (info, e.g. `v1` Endpoints since v1.33). The versions come from the Kubernetes Deprecated API Migration Guide, kept as a table in `src/api/deprecations.rs`.",
        rationale: "A manifest in a removed API version fails to apply: during an upgrade or a disaster recovery the object silently goes missing, and with it whatever it enforced (a NetworkPolicy, a PodDisruptionBudget, an RBAC binding, a webhook). Teams stuck on old APIs also delay cluster upgrades and keep running versions without security fixes.",
        remediation: "Change `apiVersion` to the replacement the finding names and apply the field changes the migration guide lists (`kubectl convert -f FILE --output-version GROUP/VERSION` does most of it). PodSecurityPolicy has no replacement API: enforce pod security with Pod Security Admission namespace labels.",
        references: &[
            "https://kubernetes.io/docs/reference/using-api/deprecation-guide/",
            "https://kubernetes.io/docs/reference/using-api/deprecation-policy/",
        ],
        mappings: &[nsa("Upgrading and application security practices")],
        peers: &[peer(PeerTool::KubeLinter, "no-extensions-v1beta")],
        peer_notes: "kube-linter `no-extensions-v1beta` knows only `extensions/v1beta1`; this check covers every removal in the migration guide up to v1.32 and the v1.33 Endpoints deprecation, matched by apiVersion and kind (group versions reused for newer beta kinds, such as `admissionregistration.k8s.io/v1beta1` ValidatingAdmissionPolicy, are not reported). Pluto and kubent, the dedicated deprecated-API finders, also read Helm release secrets and live clusters; like them, \"removed\" is judged against a target version, here the latest Kubernetes Palisade knows (v1.37), so a removal is high whatever release you run today.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let id = &ctx.object.identity;
    let Some(d) = lookup(&id.api_version, &id.kind) else {
        return;
    };
    let Some(node) = ctx.object.root.get_present("apiVersion") else {
        return;
    };
    let (message, severity) = judge(d, &id.kind);
    out.report(meta, node, ctx.object.path("apiVersion"), message)
        .severity = severity;
}

/// The message and grade for `kind` in the deprecated version `d`.
fn judge(d: &Deprecation, kind: &str) -> (String, Severity) {
    let what = format!("{} {kind}", d.api_version);
    let instead = match d.replacement {
        Some(r) => format!("use {r}"),
        None => "it has no replacement API; enforce pod security with Pod Security Admission namespace labels".to_owned(),
    };
    match d.fate {
        Fate::RemovedIn(minor) if minor <= Version::LATEST.minor => (
            format!("{what} was removed in Kubernetes v1.{minor}; {instead}"),
            Severity::High,
        ),
        Fate::RemovedIn(minor) => (
            format!("{what} is deprecated and will be removed in Kubernetes v1.{minor}; {instead}"),
            Severity::Low,
        ),
        Fate::Deprecated(minor) => (
            format!("{what} is deprecated since Kubernetes v1.{minor} (still served); {instead}"),
            Severity::Info,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::judge;
    use crate::api::deprecations::{Deprecation, Fate};
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["deprecated-api"];

    fn obj(api: &str, kind: &str) -> String {
        format!("kind: {kind}\nmetadata:\n  name: x\napiVersion: {api}\n")
    }

    #[test]
    fn removed_versions_are_high_at_the_api_version() {
        let hits = run(&obj("extensions/v1beta1", "Deployment"), ID);
        assert_eq!(ids(&hits), ["deprecated-api"]);
        assert_eq!((hits[0].line, hits[0].path.as_str()), (4, "apiVersion"));
        assert_eq!(hits[0].severity, Severity::High);
        assert_eq!(
            hits[0].message,
            "extensions/v1beta1 Deployment was removed in Kubernetes v1.16; use apps/v1"
        );
    }

    #[test]
    fn each_release_is_known() {
        for (api, kind, removed, replacement) in [
            (
                "networking.k8s.io/v1beta1",
                "Ingress",
                "v1.22",
                "networking.k8s.io/v1",
            ),
            ("batch/v1beta1", "CronJob", "v1.25", "batch/v1"),
            (
                "autoscaling/v2beta2",
                "HorizontalPodAutoscaler",
                "v1.26",
                "autoscaling/v2",
            ),
            (
                "storage.k8s.io/v1beta1",
                "CSIStorageCapacity",
                "v1.27",
                "storage.k8s.io/v1",
            ),
            (
                "flowcontrol.apiserver.k8s.io/v1beta2",
                "FlowSchema",
                "v1.29",
                "flowcontrol.apiserver.k8s.io/v1",
            ),
            (
                "flowcontrol.apiserver.k8s.io/v1beta3",
                "PriorityLevelConfiguration",
                "v1.32",
                "flowcontrol.apiserver.k8s.io/v1",
            ),
        ] {
            let hits = run(&obj(api, kind), ID);
            assert_eq!(ids(&hits), ["deprecated-api"], "{api} {kind}");
            assert!(hits[0].message.contains(removed), "{}", hits[0].message);
            assert!(
                hits[0].message.ends_with(replacement),
                "{}",
                hits[0].message
            );
        }
    }

    #[test]
    fn pod_security_policy_has_no_replacement() {
        let hits = run(&obj("policy/v1beta1", "PodSecurityPolicy"), ID);
        assert!(hits[0].message.contains("v1.25"));
        assert!(hits[0].message.contains("Pod Security Admission"));
    }

    #[test]
    fn endpoints_are_info() {
        let hits = run(&obj("v1", "Endpoints"), ID);
        assert_eq!(hits[0].severity, Severity::Info);
        assert!(
            hits[0]
                .message
                .contains("v1.33 (still served); use discovery.k8s.io/v1 EndpointSlice"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn current_versions_and_reused_group_versions_are_quiet() {
        for (api, kind) in [
            ("apps/v1", "Deployment"),
            ("networking.k8s.io/v1", "Ingress"),
            ("policy/v1", "PodDisruptionBudget"),
            (
                "admissionregistration.k8s.io/v1beta1",
                "ValidatingAdmissionPolicy",
            ),
            ("storage.k8s.io/v1beta1", "VolumeAttributesClass"),
            ("v1", "Service"),
        ] {
            assert!(run(&obj(api, kind), ID).is_empty(), "{api} {kind}");
        }
    }

    #[test]
    fn future_removals_are_low() {
        let d = Deprecation {
            api_version: "example.k8s.io/v1beta1",
            kinds: &["Widget"],
            fate: Fate::RemovedIn(99),
            replacement: Some("example.k8s.io/v1"),
        };
        let (message, severity) = judge(&d, "Widget");
        assert_eq!(severity, Severity::Low);
        assert!(message.contains("will be removed in Kubernetes v1.99"));
    }

    #[test]
    fn list_items_are_reported_with_their_path() {
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: batch/v1beta1\n  kind: CronJob\n  metadata: {name: c}\n";
        let hits = run(yaml, ID);
        assert_eq!(
            (hits[0].line, hits[0].path.as_str()),
            (4, "items[0].apiVersion")
        );
    }
}
