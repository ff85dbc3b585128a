//! Vulnerability matching needs each package ecosystem's own version order: `1.2~rc1`
//! is older than `1.2` for dpkg, `1.2_rc1` older than `1.2` for apk, and rpm has its own
//! rules for `~` and `^`. Comparing them as strings, or as semver, reports fixed
//! packages as vulnerable and the other way round.
//!
//! ```
//! use std::cmp::Ordering;
//! use palisade_vuln::version::{compare, Ecosystem};
//! assert_eq!(compare(Ecosystem::Dpkg, "1:1.2-1", "2.0"), Ordering::Greater);
//! assert_eq!(compare(Ecosystem::Apk, "1.2_rc1", "1.2"), Ordering::Less);
//! assert_eq!(compare(Ecosystem::Rpm, "1.2~rc1", "1.2"), Ordering::Less);
//! ```

pub mod version;
