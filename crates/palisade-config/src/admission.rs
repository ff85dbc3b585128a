//! The `admission:` section of the config file: how the webhook turns findings into
//! answers.

use palisade_model::Severity;

/// What the webhook does with a namespace's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AdmissionMode {
    /// Deny when a finding is at or above the deny severity; warn about the rest.
    #[default]
    Enforce,
    /// Allow, returning every finding as a warning to the client.
    Warn,
    /// Allow silently; findings go to the API server's audit log only.
    Audit,
}

impl AdmissionMode {
    pub const ALL: [AdmissionMode; 3] = [
        AdmissionMode::Enforce,
        AdmissionMode::Warn,
        AdmissionMode::Audit,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AdmissionMode::Enforce => "enforce",
            AdmissionMode::Warn => "warn",
            AdmissionMode::Audit => "audit",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<AdmissionMode> {
        AdmissionMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Which findings of an UPDATE are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdatePolicy {
    /// Only findings the update introduces (not in `oldObject`): an update that fixes
    /// nothing but breaks nothing either is not blocked for what was already there.
    #[default]
    Introduced,
    /// Every finding of the new object.
    All,
}

/// The `admission:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// The mode of namespaces without a `palisade.dev/mode` label.
    pub default_mode: AdmissionMode,
    /// In enforce mode, findings at or above this are denied; the rest are warnings.
    pub deny_severity: Severity,
    /// Namespaces whose objects are allowed unjudged (glob patterns).
    pub exempt_namespaces: Vec<String>,
    /// Users (`system:serviceaccount:kube-system:replicaset-controller`) whose requests
    /// are allowed unjudged.
    pub exempt_users: Vec<String>,
    /// Groups whose members' requests are allowed unjudged.
    pub exempt_groups: Vec<String>,
    pub updates: UpdatePolicy,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        AdmissionSettings {
            default_mode: AdmissionMode::Enforce,
            deny_severity: Severity::High,
            exempt_namespaces: Vec::new(),
            exempt_users: Vec::new(),
            exempt_groups: Vec::new(),
            updates: UpdatePolicy::Introduced,
        }
    }
}

/// Keys of the `admission:` section.
pub(crate) const ADMISSION_KEYS: [&str; 6] = [
    "default-mode",
    "deny-severity",
    "exempt-namespaces",
    "exempt-users",
    "exempt-groups",
    "updates",
];
