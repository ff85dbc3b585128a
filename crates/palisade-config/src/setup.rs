//! From a config (and command-line overrides) to the checks and options of a scan: one
//! place, so that `scan` and the admission webhook judge objects identically.

use palisade_checks::{analyses, registry, select, Selection};
use palisade_engine::{Check, CheckSettings, Profile, ScanOptions};

use crate::Config;

/// What the command line may add to or put in place of the config.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--select`: replaces the config's selection when not empty.
    pub select: Vec<String>,
    /// `--ignore`: added to the config's.
    pub ignore: Vec<String>,
    /// `--allowed-registry`: added to the config's.
    pub allowed_registries: Vec<String>,
    /// `--pss`: replaces the config's profile.
    pub pss: Option<Profile>,
    /// `--strict`: inline exceptions are not honoured.
    pub strict: bool,
}

/// The selected checks and the scan options `config` and `overrides` make.
///
/// # Errors
/// A selected or ignored name is no check or category.
pub fn scan_setup(
    config: &Config,
    overrides: &Overrides,
) -> Result<(Vec<&'static dyn Check>, ScanOptions), String> {
    let selected = if overrides.select.is_empty() {
        config.select.clone().unwrap_or_default()
    } else {
        overrides.select.clone()
    };
    let checks = select(&Selection {
        select: selected,
        ignore: config
            .ignore
            .iter()
            .chain(&overrides.ignore)
            .cloned()
            .collect(),
    })?;
    let mut allowed_registries = config.allowed_registries.clone();
    allowed_registries.extend(overrides.allowed_registries.iter().cloned());
    let opts = ScanOptions {
        profile: overrides.pss.or(config.pss).unwrap_or_default(),
        settings: CheckSettings {
            allowed_registries,
            active: Some(checks.iter().map(|c| c.meta().id).collect()),
            images: None,
        },
        exceptions: config.exceptions.clone(),
        strict: overrides.strict,
        catalogue: registry().into_iter().map(|c| c.meta()).collect(),
        severity_overrides: config.severity.clone(),
        analyses: analyses(),
        ..ScanOptions::default()
    };
    Ok((checks, opts))
}
