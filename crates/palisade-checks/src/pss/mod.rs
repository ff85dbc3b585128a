//! The Kubernetes Pod Security Standards, as `k8s.io/pod-security-admission` evaluates
//! them, at every version from v1.0 to v1.37.
//!
//! Each check has one implementation per version in which it changed; at version V the
//! one with the highest minimum version not above V applies, and a check whose first
//! version is above V does not exist at V. At the restricted level a restricted check may
//! replace ("override") its baseline twin from some version on. Versions newer than
//! [`Version::LATEST`] evaluate like it.
//!
//! Findings are reported one per offending field, at that field, under the upstream id.

pub(crate) mod helpers;

mod allow_privilege_escalation;
mod app_armor_profile;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes_and_host_lifecycle;
mod privileged;
mod proc_mount;
mod proc_mount_restricted;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux_options;
mod seccomp_profile_baseline;
mod seccomp_profile_restricted;
mod sysctls;
mod windows_host_process;

use palisade_engine::{Check, Findings, Level, ObjectContext, RawFinding, Version};
use palisade_inventory::PodSpecView;
use palisade_model::{CheckMeta, PssInfo};
use palisade_source::Node;

/// One version's behaviour of a check.
pub struct Versioned {
    /// The first version of the standard this behaviour applies to.
    pub min: Version,
    pub eval: fn(&PodSpecView<'_>, &mut PssOut<'_>),
    /// Baseline checks this (restricted) behaviour replaces at the restricted level.
    pub overrides: &'static [&'static str],
}

/// A Pod Security Standards check.
pub struct PssCheck {
    pub meta: CheckMeta,
    pub level: Level,
    /// Oldest first.
    pub versions: &'static [Versioned],
}

/// Every Pod Security check, baseline first, each level in upstream id order.
pub static CHECKS: [&PssCheck; 19] = [
    &app_armor_profile::CHECK,
    &capabilities_baseline::CHECK,
    &host_namespaces::CHECK,
    &host_path_volumes::CHECK,
    &host_ports::CHECK,
    &host_probes_and_host_lifecycle::CHECK,
    &privileged::CHECK,
    &proc_mount::CHECK,
    &se_linux_options::CHECK,
    &seccomp_profile_baseline::CHECK,
    &sysctls::CHECK,
    &windows_host_process::CHECK,
    &allow_privilege_escalation::CHECK,
    &capabilities_restricted::CHECK,
    &proc_mount_restricted::CHECK,
    &restricted_volumes::CHECK,
    &run_as_non_root::CHECK,
    &run_as_user::CHECK,
    &seccomp_profile_restricted::CHECK,
];

impl PssCheck {
    /// The behaviour in force at `version`, if the check exists then.
    #[must_use]
    pub fn at(&self, version: Version) -> Option<&Versioned> {
        let version = version.min(Version::LATEST);
        self.versions.iter().rev().find(|v| v.min <= version)
    }

    /// Whether this check is evaluated for a pod held to `level` at `version`.
    #[must_use]
    pub fn applies(&self, level: Level, version: Version) -> bool {
        if level < self.level || self.at(version).is_none() {
            return false;
        }
        let overridden = level == Level::Restricted
            && self.level == Level::Baseline
            && CHECKS.iter().any(|c| {
                c.level == Level::Restricted
                    && c.at(version)
                        .is_some_and(|v| v.overrides.contains(&self.meta.id))
            });
        !overridden
    }
}

impl Check for PssCheck {
    fn meta(&'static self) -> &'static CheckMeta {
        &self.meta
    }

    fn run(&'static self, ctx: &ObjectContext<'_>, out: &mut Findings) {
        let profile = ctx.profile;
        if !self.applies(profile.level, profile.version) || ctx.pods.is_empty() {
            return;
        }
        let Some(versioned) = self.at(profile.version) else {
            return;
        };
        let meta = &self.meta;
        for pod in &ctx.pods {
            let mut pss_out = PssOut {
                out,
                meta,
                level: self.level,
                version: profile.version,
            };
            (versioned.eval)(pod, &mut pss_out);
        }
    }
}

/// Where a Pod Security check reports, adding the standard's context to each finding.
pub struct PssOut<'a> {
    out: &'a mut Findings,
    meta: &'static CheckMeta,
    level: Level,
    version: Version,
}

impl PssOut<'_> {
    /// Reports a violation at `node` with field path `path`.
    pub fn report(
        &mut self,
        node: Node<'_>,
        path: String,
        message: impl Into<palisade_model::Message>,
    ) -> &mut RawFinding {
        let (meta, level, version) = (self.meta, self.level, self.version);
        let f = self.out.report(meta, node, path, message);
        f.pss = Some(Box::new(PssInfo {
            level: level.as_str(),
            minor: version.minor,
            check: meta.id,
        }));
        f
    }
}

/// Capabilities the baseline level allows a container to add.
pub(crate) fn capabilities_baseline_allowed() -> &'static [&'static str] {
    &capabilities_baseline::ALLOWED
}

/// SELinux types allowed at the newest version.
pub(crate) fn se_linux_types_latest() -> &'static [&'static str] {
    se_linux_options::TYPES_1_31
}

/// Sysctls allowed at the newest version.
pub(crate) fn safe_sysctls_latest() -> Vec<&'static str> {
    sysctls::SAFE_LATEST.concat()
}

/// Volume sources the restricted level allows.
pub(crate) fn restricted_volumes_allowed() -> &'static [&'static str] {
    &restricted_volumes::ALLOWED
}

/// Volume sources the restricted level forbids, in the order upstream looks for them.
pub(crate) fn restricted_volumes_restricted() -> &'static [&'static str] {
    &restricted_volumes::RESTRICTED
}

#[cfg(test)]
mod tests;
