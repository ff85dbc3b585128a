//! Configuration: the `.palisade.yaml` file and baselines.
//!
//! The config file selects checks, overrides severities, lists the image registries
//! workloads may pull from, and holds **exceptions**: findings a team accepts, each
//! scoped to checks and objects, with a mandatory reason and an optional expiry date.
//! It is read with Palisade's own positioned YAML tree, so every mistake is reported
//! with file:line:column, and a config with any mistake is refused whole: a scan never
//! runs on a half-read config.
//!
//! A baseline records the fingerprints of accepted findings (`--write-baseline`);
//! scans with `--baseline` then fail only on findings that are not in it.

mod admission;
mod baseline;
mod file;
mod setup;

pub use admission::{AdmissionMode, AdmissionSettings, UpdatePolicy};
pub use baseline::{read_baseline, write_baseline};
pub use file::{find_config, load_config, parse_config, Config, CONFIG_NAMES};
pub use setup::{scan_setup, Overrides};

/// A mistake in a config or baseline file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the problem is the whole file.
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}
