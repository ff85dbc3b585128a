//! Version order per ecosystem, written from each package manager's documented
//! algorithm and tested against the real tools where they can run here.

mod apk;
mod dpkg;
mod rpm;
mod semver;

use std::cmp::Ordering;

pub use apk::compare as apk;
pub use dpkg::compare as dpkg;
pub use rpm::compare as rpm;
pub use semver::compare as semver;

/// A package ecosystem whose versions are ordered its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    /// Debian and Ubuntu (`[epoch:]upstream[-revision]`, `~` sorts first).
    Dpkg,
    /// Alpine (`1.2.3a_rc1-r2`).
    Apk,
    /// Red Hat, Fedora, SUSE (`[epoch:]version[-release]`, `~` and `^`).
    Rpm,
    /// Semantic Versioning 2.0 (Go modules, Kubernetes releases).
    Semver,
}

/// `a` against `b` in `ecosystem`'s order.
#[must_use]
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Ordering {
    match ecosystem {
        Ecosystem::Dpkg => dpkg(a, b),
        Ecosystem::Apk => apk(a, b),
        Ecosystem::Rpm => rpm(a, b),
        Ecosystem::Semver => semver(a, b),
    }
}

/// Two runs of ASCII digits compared as numbers of any length: leading zeros skipped,
/// then the longer is larger, then the digits in order.
fn digits_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |s: &[u8]| -> usize { s.iter().take_while(|c| **c == b'0').count() };
    let (a, b) = (&a[trim(a)..], &b[trim(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The epoch before the first `:` when it is all digits (0 when absent), and the rest.
fn split_epoch(v: &str) -> (&str, &str) {
    match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => (e, rest),
        _ => ("0", v),
    }
}

#[cfg(test)]
mod tests;
