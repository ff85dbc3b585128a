//! Known vulnerabilities of container images, offline.
//!
//! - [`version`]: each ecosystem's version order. `1.2~rc1` is older than `1.2` for
//!   dpkg, `1.2_rc1` older than `1.2` for apk, and rpm has its own rules for `~` and
//!   `^`. Comparing them as strings or semver reports fixed packages as vulnerable.
//! - [`osv`]: OSV records imported into a local SQLite database, looked up by ecosystem
//!   and package.
//! - [`image`]: the OS and its installed packages read from an OCI image layout's layers
//!   (dpkg status, apk installed), whiteouts applied.
//!
//! ```
//! use std::cmp::Ordering;
//! use palisade_vuln::version::{compare, Ecosystem};
//! assert_eq!(compare(Ecosystem::Dpkg, "1:1.2-1", "2.0"), Ordering::Greater);
//! assert_eq!(compare(Ecosystem::Apk, "1.2_rc1", "1.2"), Ordering::Less);
//! assert_eq!(compare(Ecosystem::Rpm, "1.2~rc1", "1.2"), Ordering::Less);
//! ```

mod bdb;
pub mod cvss;
pub mod image;
pub mod osv;
pub mod packages;
#[doc(hidden)]
pub mod testing;
pub mod version;

/// What can go wrong reading an image or the database.
#[derive(Debug, thiserror::Error)]
pub enum VulnError {
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}: {1}")]
    Invalid(String, String),
    #[error("vulnerability database {0}: {1}")]
    Database(String, #[source] rusqlite::Error),
}
