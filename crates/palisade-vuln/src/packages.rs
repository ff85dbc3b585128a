//! Installed packages from the package managers' own databases.

use crate::version::Ecosystem;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// The source package and its version, which Debian's advisories name.
    pub source: String,
    pub source_version: String,
    pub ecosystem: Ecosystem,
}

/// `/var/lib/dpkg/status`: the stanzas whose `Status` says installed.
#[must_use]
pub fn dpkg_status(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.strip_prefix(':'))
                    .map(str::trim)
            })
        };
        let (Some(name), Some(version)) = (field("Package"), field("Version")) else {
            continue;
        };
        if !field("Status").is_some_and(|s| s.ends_with(" installed")) {
            continue;
        }
        // `Source: name` or `Source: name (version)`.
        let (source, source_version) = match field("Source") {
            Some(s) => match s.split_once(' ') {
                Some((n, v)) => (n, v.trim().trim_start_matches('(').trim_end_matches(')')),
                None => (s, version),
            },
            None => (name, version),
        };
        out.push(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            source: source.to_owned(),
            source_version: source_version.to_owned(),
            ecosystem: Ecosystem::Dpkg,
        });
    }
    out
}

/// `/lib/apk/db/installed`: `P:` name, `V:` version, `o:` origin (the source).
#[must_use]
pub fn apk_installed(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |key: &str| stanza.lines().find_map(|l| l.strip_prefix(key));
        let (Some(name), Some(version)) = (field("P:"), field("V:")) else {
            continue;
        };
        let origin = field("o:").unwrap_or(name);
        out.push(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            source: origin.to_owned(),
            source_version: version.to_owned(),
            ecosystem: Ecosystem::Apk,
        });
    }
    out
}

/// The OSV ecosystem of an `os-release` file: `Debian:12`, `Alpine:v3.19`,
/// `Ubuntu:22.04`.
#[must_use]
pub fn osv_ecosystem(os_release: &str) -> Option<String> {
    let field = |key: &str| {
        os_release.lines().find_map(|l| {
            l.strip_prefix(key)
                .and_then(|r| r.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_owned())
        })
    };
    let id = field("ID")?;
    let version = field("VERSION_ID").unwrap_or_default();
    Some(match id.as_str() {
        "debian" => format!("Debian:{}", version.split('.').next().unwrap_or("")),
        "ubuntu" => format!("Ubuntu:{version}"),
        "alpine" => {
            let mut parts = version.split('.');
            let (major, minor) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            format!("Alpine:v{major}.{minor}")
        }
        other => format!("{other}:{version}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_keeps_installed_packages_and_their_sources() {
        let text = "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nSource: openssl\n\n\
                    Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
                    Package: libc6\nStatus: install ok installed\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u3\n";
        let p = dpkg_status(text);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].source.as_str(), p[0].source_version.as_str()),
            ("openssl", "3.0.11-1~deb12u2")
        );
        assert_eq!(
            (p[1].source.as_str(), p[1].source_version.as_str()),
            ("glibc", "2.36-9")
        );
        assert_eq!(p[1].version, "2.36-9+deb12u3");
    }

    #[test]
    fn apk_installed_reads_name_version_and_origin() {
        let text = "C:Q1abc=\nP:libcrypto3\nV:3.1.4-r1\no:openssl\n\nP:musl\nV:1.2.4-r2\n";
        let p = apk_installed(text);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].source.as_str(), p[0].version.as_str()),
            ("openssl", "3.1.4-r1")
        );
        assert_eq!(p[1].source, "musl");
    }

    #[test]
    fn os_release_names_the_osv_ecosystem() {
        assert_eq!(
            osv_ecosystem("ID=debian\nVERSION_ID=\"12\"\n").as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            osv_ecosystem("ID=alpine\nVERSION_ID=3.19.1\n").as_deref(),
            Some("Alpine:v3.19")
        );
        assert_eq!(osv_ecosystem("NAME=x\n"), None);
    }
}
