//! Check metadata: what a check is, declared once beside its logic.

use std::fmt;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a severity name (case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The family a check belongs to; `--select`/`--ignore` accept these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// The Kubernetes Pod Security Standards, evaluated exactly as upstream.
    PodSecurity,
    /// Workload hardening beyond the Pod Security Standards.
    Workload,
    /// Container images: tags, digests, registries, pull policy.
    Image,
    /// Credentials in manifests: Secret objects, env values, ConfigMaps, annotations.
    Secrets,
    /// Exposure through Services and Ingresses.
    Network,
    /// Namespaces: placement, naming, Pod Security Admission labels.
    Namespace,
    /// Deprecated and removed API versions.
    Api,
    /// RBAC: risky grants, unused and dangling objects, escalation paths.
    Rbac,
    /// Flags of the API server, controller-manager, scheduler and etcd (CIS sections 1.2-1.4, 2).
    ControlPlane,
    /// A node's kubelet configuration and the permissions of its Kubernetes files (CIS
    /// sections 1.1 and 4), judged by `palisade node`.
    Node,
    /// Inputs Palisade could not fully understand.
    Input,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::PodSecurity,
        Category::Workload,
        Category::Image,
        Category::Secrets,
        Category::Network,
        Category::Namespace,
        Category::Api,
        Category::Rbac,
        Category::ControlPlane,
        Category::Node,
        Category::Input,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Category::PodSecurity => "pod-security",
            Category::Workload => "workload",
            Category::Image => "image",
            Category::Secrets => "secrets",
            Category::Network => "network",
            Category::Namespace => "namespace",
            Category::Api => "api",
            Category::Rbac => "rbac",
            Category::ControlPlane => "control-plane",
            Category::Node => "node",
            Category::Input => "input",
        }
    }
}

/// A security framework a check maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framework {
    /// Kubernetes Pod Security Standards level (`baseline` or `restricted`).
    Pss,
    /// CIS Kubernetes Benchmark section.
    Cis,
    /// NSA/CISA Kubernetes Hardening Guide section.
    Nsa,
    /// MITRE ATT&CK technique id.
    Mitre,
}

impl Framework {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Pss => "Pod Security Standards",
            Framework::Cis => "CIS Kubernetes Benchmark",
            Framework::Nsa => "NSA/CISA Kubernetes Hardening Guide",
            Framework::Mitre => "MITRE ATT&CK",
        }
    }

    /// Short key used in JSON output.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Framework::Pss => "pss",
            Framework::Cis => "cis",
            Framework::Nsa => "nsa",
            Framework::Mitre => "mitre",
        }
    }
}

/// One framework control a check implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub framework: Framework,
    pub id: &'static str,
}

/// Another scanner whose rule a check corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerTool {
    Kubescape,
    Checkov,
    KubeLinter,
    Polaris,
    Trivy,
    Kyverno,
    /// kube-bench, whose check ids are the CIS Benchmark's.
    KubeBench,
}

impl PeerTool {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PeerTool::Kubescape => "kubescape",
            PeerTool::Checkov => "checkov",
            PeerTool::KubeLinter => "kube-linter",
            PeerTool::Polaris => "polaris",
            PeerTool::Trivy => "trivy",
            PeerTool::Kyverno => "kyverno",
            PeerTool::KubeBench => "kube-bench",
        }
    }
}

/// A peer's rule id that a check corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub tool: PeerTool,
    pub id: &'static str,
}

/// Everything about a check except its logic. Declared as a `const` beside the logic.
#[derive(Debug)]
pub struct CheckMeta {
    /// Stable identifier; Pod Security checks keep the upstream id.
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub category: Category,
    /// What the check flags.
    pub description: &'static str,
    /// Why it matters: the attack it enables.
    pub rationale: &'static str,
    pub remediation: &'static str,
    pub references: &'static [&'static str],
    pub mappings: &'static [Mapping],
    /// Closest equivalents in other scanners, and how this one differs.
    pub peers: &'static [Peer],
    pub peer_notes: &'static str,
    /// Where the check is defined (`file!()`), for `checks explain`.
    pub source: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_names_are_unique_kebab_case() {
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert!(names.contains(&"control-plane"));
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
    }
}
