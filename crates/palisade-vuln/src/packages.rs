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
        // Red Hat's rebuilds publish OSV records per major release.
        "rocky" => format!("Rocky Linux:{}", version.split('.').next().unwrap_or("")),
        "almalinux" => format!("AlmaLinux:{}", version.split('.').next().unwrap_or("")),
        "alpine" => {
            let mut parts = version.split('.');
            let (major, minor) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            format!("Alpine:v{major}.{minor}")
        }
        other => format!("{other}:{version}"),
    })
}

/// The packages of rpm's SQLite database (`/var/lib/rpm/rpmdb.sqlite`, rpm 4.16 and
/// later), with its write-ahead log when the image kept one. Red Hat's and its
/// rebuilds' advisories name binary packages, so the source is the package itself.
///
/// # Errors
/// The bytes are not an rpm database.
pub fn rpmdb(db: &[u8], wal: Option<&[u8]>) -> Result<Vec<Package>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("rpmdb.sqlite");
    std::fs::write(&path, db).map_err(|e| e.to_string())?;
    if let Some(wal) = wal {
        std::fs::write(dir.path().join("rpmdb.sqlite-wal"), wal).map_err(|e| e.to_string())?;
    }
    let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| e.to_string())?;
    let blobs = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    rpm_packages(&blobs)
}

/// The packages of rpm's Berkeley DB database (`/var/lib/rpm/Packages`, before rpm
/// 4.16: RHEL and CentOS 7 and 8, Amazon Linux 2, UBI 8). A hash database of header
/// blobs, read page by page as the file lays them out; no Berkeley DB library is
/// needed, and a damaged page is an error, not a crash.
///
/// # Errors
/// Not a Berkeley DB hash database, or a page or header that does not parse.
pub fn rpm_bdb(db: &[u8]) -> Result<Vec<Package>, String> {
    rpm_packages(&crate::bdb::hash_values(db)?)
}

/// Packages from rpm header blobs.
fn rpm_packages(blobs: &[Vec<u8>]) -> Result<Vec<Package>, String> {
    let mut out = Vec::new();
    for blob in blobs {
        // Berkeley DB's Packages keeps the next header number under key 0: 4 bytes.
        if blob.len() <= 8 {
            continue;
        }
        let header = Header::parse(blob).ok_or("a package header that does not parse")?;
        let (Some(name), Some(version)) = (header.string(TAG_NAME), header.string(TAG_VERSION))
        else {
            continue;
        };
        // gpg-pubkey entries are keys, not software.
        if name == "gpg-pubkey" {
            continue;
        }
        let mut evr = String::new();
        if let Some(epoch) = header.int(TAG_EPOCH).filter(|e| *e != 0) {
            evr.push_str(&format!("{epoch}:"));
        }
        evr.push_str(&version);
        if let Some(release) = header.string(TAG_RELEASE) {
            evr.push('-');
            evr.push_str(&release);
        }
        out.push(Package {
            source: name.clone(),
            name,
            version: evr.clone(),
            source_version: evr,
            ecosystem: Ecosystem::Rpm,
        });
    }
    Ok(out)
}

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;

/// An rpm header as the database stores it: entry count and data size, the entries
/// (tag, type, offset, count), then the data.
struct Header<'a> {
    entries: Vec<(u32, u32, usize)>,
    data: &'a [u8],
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Option<Header<'a>> {
        let be = |at: usize| -> Option<u32> {
            Some(u32::from_be_bytes(blob.get(at..at + 4)?.try_into().ok()?))
        };
        let count = usize::try_from(be(0)?).ok()?;
        let size = usize::try_from(be(4)?).ok()?;
        let start = count.checked_mul(16)?.checked_add(8)?;
        let data = blob.get(start..start.checked_add(size)?)?;
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let at = 8 + i * 16;
            entries.push((be(at)?, be(at + 4)?, usize::try_from(be(at + 8)?).ok()?));
        }
        Some(Header { entries, data })
    }

    fn entry(&self, tag: u32, kind: u32) -> Option<usize> {
        self.entries
            .iter()
            .find(|(t, k, _)| *t == tag && *k == kind)
            .map(|(_, _, offset)| *offset)
    }

    fn string(&self, tag: u32) -> Option<String> {
        let at = self.entry(tag, TYPE_STRING)?;
        let rest = self.data.get(at..)?;
        let end = rest.iter().position(|b| *b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    fn int(&self, tag: u32) -> Option<u32> {
        let at = self.entry(tag, TYPE_INT32)?;
        Some(u32::from_be_bytes(
            self.data.get(at..at + 4)?.try_into().ok()?,
        ))
    }
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

    /// A header of NAME, VERSION and EPOCH, laid out as rpm stores it.
    fn header() -> Vec<u8> {
        let mut data = Vec::new();
        let mut entries = Vec::new();
        for (tag, kind, bytes) in [
            (TAG_NAME, TYPE_STRING, b"bash\0".to_vec()),
            (TAG_VERSION, TYPE_STRING, b"5.2.15\0".to_vec()),
            (TAG_EPOCH, TYPE_INT32, 1u32.to_be_bytes().to_vec()),
        ] {
            entries.push((tag, kind, u32::try_from(data.len()).unwrap()));
            data.extend(bytes);
        }
        let mut blob = Vec::new();
        blob.extend(u32::try_from(entries.len()).unwrap().to_be_bytes());
        blob.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
        for (tag, kind, offset) in entries {
            for v in [tag, kind, offset, 1] {
                blob.extend(v.to_be_bytes());
            }
        }
        blob.extend(data);
        blob
    }

    #[test]
    fn a_header_is_read_and_hostile_ones_never_panic() {
        let good = header();
        let h = Header::parse(&good).unwrap();
        assert_eq!(h.string(TAG_NAME).as_deref(), Some("bash"));
        assert_eq!(h.string(TAG_VERSION).as_deref(), Some("5.2.15"));
        assert_eq!(h.int(TAG_EPOCH), Some(1));
        assert_eq!(h.string(TAG_RELEASE), None);
        // Images are untrusted: every truncation and every single-byte change either
        // parses or is refused, and reads stay inside the blob.
        for len in 0..good.len() {
            if let Some(h) = Header::parse(&good[..len]) {
                let _ = (h.string(TAG_NAME), h.int(TAG_EPOCH));
            }
        }
        for i in 0..good.len() {
            for value in [0x00, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = value;
                if let Some(h) = Header::parse(&bad) {
                    let _ = (h.string(TAG_NAME), h.string(TAG_VERSION), h.int(TAG_EPOCH));
                }
            }
        }
        // A count that would need more memory than the blob holds is refused at once.
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Header::parse(&huge).is_none());
    }
}
