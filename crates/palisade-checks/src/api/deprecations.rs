//! The deprecated and removed Kubernetes API versions, as data.
//!
//! Source: the Kubernetes "Deprecated API Migration Guide"
//! (<https://kubernetes.io/docs/reference/using-api/deprecation-guide/>) and the v1.33
//! deprecation of `v1` Endpoints. To add a release's removals, add rows; the check reads
//! nothing else. Kinds are listed because several group versions were later reused for
//! new beta kinds (`admissionregistration.k8s.io/v1beta1` ValidatingAdmissionPolicy,
//! `storage.k8s.io/v1beta1` VolumeAttributesClass, ...), which are not deprecated.

/// What happens to an API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// No longer served from this minor release (`v1.<n>`) on.
    RemovedIn(u32),
    /// A GA version deprecated in this minor release; GA versions are not removed within v1.
    Deprecated(u32),
}

/// One deprecated API version and the kinds it concerns.
#[derive(Debug)]
pub struct Deprecation {
    pub api_version: &'static str,
    /// The kinds concerned; empty means every kind of that group version.
    pub kinds: &'static [&'static str],
    pub fate: Fate,
    /// What to use instead (`apps/v1`, or an apiVersion and kind); `None` when nothing
    /// replaces it.
    pub replacement: Option<&'static str>,
}

const fn row(
    api_version: &'static str,
    kinds: &'static [&'static str],
    fate: Fate,
    replacement: Option<&'static str>,
) -> Deprecation {
    Deprecation {
        api_version,
        kinds,
        fate,
        replacement,
    }
}

use Fate::{Deprecated, RemovedIn};

const APPS_WORKLOADS: &[&str] = &["Deployment", "DaemonSet", "ReplicaSet"];
const FLOW_CONTROL: &[&str] = &["FlowSchema", "PriorityLevelConfiguration"];
const RBAC: &[&str] = &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];

/// Every deprecated (apiVersion, kind), by release.
#[rustfmt::skip] // one row per line reads as a table
pub const DEPRECATIONS: &[Deprecation] = &[
    // v1.16
    row("extensions/v1beta1", APPS_WORKLOADS, RemovedIn(16), Some("apps/v1")),
    row("extensions/v1beta1", &["NetworkPolicy"], RemovedIn(16), Some("networking.k8s.io/v1")),
    // Its 1.16 successor, policy/v1beta1, is gone too (v1.25).
    row("extensions/v1beta1", &["PodSecurityPolicy"], RemovedIn(16), None),
    row("apps/v1beta1", &[], RemovedIn(16), Some("apps/v1")),
    row("apps/v1beta2", &[], RemovedIn(16), Some("apps/v1")),
    // v1.22
    row("extensions/v1beta1", &["Ingress"], RemovedIn(22), Some("networking.k8s.io/v1")),
    row("networking.k8s.io/v1beta1", &["Ingress", "IngressClass"], RemovedIn(22), Some("networking.k8s.io/v1")),
    row("rbac.authorization.k8s.io/v1beta1", RBAC, RemovedIn(22), Some("rbac.authorization.k8s.io/v1")),
    row("apiextensions.k8s.io/v1beta1", &["CustomResourceDefinition"], RemovedIn(22), Some("apiextensions.k8s.io/v1")),
    row("admissionregistration.k8s.io/v1beta1", &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"], RemovedIn(22), Some("admissionregistration.k8s.io/v1")),
    row("apiregistration.k8s.io/v1beta1", &["APIService"], RemovedIn(22), Some("apiregistration.k8s.io/v1")),
    row("authentication.k8s.io/v1beta1", &["TokenReview"], RemovedIn(22), Some("authentication.k8s.io/v1")),
    row("authorization.k8s.io/v1beta1", &["SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview"], RemovedIn(22), Some("authorization.k8s.io/v1")),
    row("certificates.k8s.io/v1beta1", &["CertificateSigningRequest"], RemovedIn(22), Some("certificates.k8s.io/v1")),
    row("coordination.k8s.io/v1beta1", &["Lease"], RemovedIn(22), Some("coordination.k8s.io/v1")),
    row("scheduling.k8s.io/v1beta1", &["PriorityClass"], RemovedIn(22), Some("scheduling.k8s.io/v1")),
    row("storage.k8s.io/v1beta1", &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"], RemovedIn(22), Some("storage.k8s.io/v1")),
    // v1.25
    row("batch/v1beta1", &["CronJob"], RemovedIn(25), Some("batch/v1")),
    row("discovery.k8s.io/v1beta1", &["EndpointSlice"], RemovedIn(25), Some("discovery.k8s.io/v1")),
    row("events.k8s.io/v1beta1", &["Event"], RemovedIn(25), Some("events.k8s.io/v1")),
    row("autoscaling/v2beta1", &["HorizontalPodAutoscaler"], RemovedIn(25), Some("autoscaling/v2")),
    row("policy/v1beta1", &["PodDisruptionBudget"], RemovedIn(25), Some("policy/v1")),
    row("policy/v1beta1", &["PodSecurityPolicy"], RemovedIn(25), None),
    row("node.k8s.io/v1beta1", &["RuntimeClass"], RemovedIn(25), Some("node.k8s.io/v1")),
    // v1.26
    row("autoscaling/v2beta2", &["HorizontalPodAutoscaler"], RemovedIn(26), Some("autoscaling/v2")),
    row("flowcontrol.apiserver.k8s.io/v1beta1", FLOW_CONTROL, RemovedIn(26), Some("flowcontrol.apiserver.k8s.io/v1")),
    // v1.27
    row("storage.k8s.io/v1beta1", &["CSIStorageCapacity"], RemovedIn(27), Some("storage.k8s.io/v1")),
    // v1.29
    row("flowcontrol.apiserver.k8s.io/v1beta2", FLOW_CONTROL, RemovedIn(29), Some("flowcontrol.apiserver.k8s.io/v1")),
    // v1.32
    row("flowcontrol.apiserver.k8s.io/v1beta3", FLOW_CONTROL, RemovedIn(32), Some("flowcontrol.apiserver.k8s.io/v1")),
    // GA deprecations: still served.
    row("v1", &["Endpoints"], Deprecated(33), Some("discovery.k8s.io/v1 EndpointSlice")),
];

/// The deprecation that covers this apiVersion and kind, if any.
pub fn lookup(api_version: &str, kind: &str) -> Option<&'static Deprecation> {
    DEPRECATIONS
        .iter()
        .find(|d| d.api_version == api_version && (d.kinds.is_empty() || d.kinds.contains(&kind)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rows_are_unique_and_replacements_are_not_deprecated() {
        let mut seen = HashSet::new();
        for d in DEPRECATIONS {
            for k in d.kinds {
                assert!(
                    seen.insert((d.api_version, *k)),
                    "{} {k} twice",
                    d.api_version
                );
            }
            if let Some(r) = d.replacement {
                let (api, kind) = r
                    .split_once(' ')
                    .unwrap_or((r, d.kinds.first().copied().unwrap_or("")));
                assert!(
                    lookup(api, kind).is_none(),
                    "{} -> {r} is itself deprecated",
                    d.api_version
                );
            }
        }
    }

    #[test]
    fn lookup_respects_kinds() {
        assert!(lookup("apps/v1beta2", "ControllerRevision").is_some());
        assert_eq!(
            lookup("policy/v1beta1", "PodSecurityPolicy")
                .unwrap()
                .replacement,
            None
        );
        // Reused group versions: new beta kinds are not deprecated.
        assert!(lookup(
            "admissionregistration.k8s.io/v1beta1",
            "ValidatingAdmissionPolicy"
        )
        .is_none());
        assert!(lookup("networking.k8s.io/v1beta1", "ServiceCIDR").is_none());
        assert!(lookup("apps/v1", "Deployment").is_none());
    }
}
