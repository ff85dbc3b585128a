//! OSV records (<https://ossf.github.io/osv-schema/>) in a local SQLite database, and
//! the matching of installed packages against their affected ranges.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};
use serde::Deserialize;
use serde_json::Value;

use crate::packages::Package;
use crate::version::{compare, Ecosystem};
use crate::VulnError;

/// Largest OSV file read: records are kilobytes; a larger file is not one.
const MAX_RECORD_BYTES: u64 = 16 << 20;

#[derive(Debug, Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    affected: Vec<Affected>,
    #[serde(default)]
    database_specific: Value,
    #[serde(default)]
    severity: Vec<SeverityEntry>,
}

#[derive(Debug, Deserialize)]
struct SeverityEntry {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Debug, Deserialize)]
struct Affected {
    package: Option<PackageRef>,
    #[serde(default)]
    ranges: Vec<Value>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    ecosystem_specific: Value,
    #[serde(default)]
    database_specific: Value,
}

#[derive(Debug, Deserialize)]
struct PackageRef {
    ecosystem: String,
    name: String,
}

/// A vulnerability an installed package has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    /// `critical`, `high`, `medium`, `low`, or `unknown`.
    pub severity: String,
    pub package: String,
    pub installed: String,
    /// The first fixed version after the installed one, if any.
    pub fixed: Option<String>,
}

/// The local database.
pub struct Database {
    path: PathBuf,
    conn: Connection,
}

/// The severity word of a record: the database's own label, else the ecosystem's
/// (Debian's urgency), else the rating of its CVSS v3 vector, else `unknown`.
fn severity_of(record: &Record, affected: &Affected) -> String {
    let label = [
        &affected.ecosystem_specific["severity"],
        &affected.database_specific["severity"],
        &record.database_specific["severity"],
        &affected.ecosystem_specific["urgency"],
    ]
    .into_iter()
    .find_map(|v| v.as_str().map(str::to_ascii_lowercase));
    match label.as_deref() {
        Some("critical") => "critical",
        Some("high") => "high",
        Some("moderate" | "medium") => "medium",
        Some("low" | "unimportant" | "negligible") => "low",
        _ => record
            .severity
            .iter()
            .filter(|s| s.kind == "CVSS_V3")
            .find_map(|s| crate::cvss::base_score(&s.score))
            .map_or("unknown", crate::cvss::rating),
    }
    .to_owned()
}

impl Database {
    /// Opens (creating) the database in `dir` (`DIR/osv.sqlite`).
    ///
    /// # Errors
    /// The directory or database cannot be made or opened.
    pub fn open(dir: &Path) -> Result<Database, VulnError> {
        std::fs::create_dir_all(dir).map_err(|e| VulnError::Io(dir.display().to_string(), e))?;
        let path = dir.join("osv.sqlite");
        let err = |e| VulnError::Database(path.display().to_string(), e);
        let conn = Connection::open(&path).map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS vulns (id TEXT PRIMARY KEY, summary TEXT NOT NULL,
                 aliases TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS affected (vuln TEXT NOT NULL, ecosystem TEXT NOT NULL,
                 package TEXT NOT NULL, severity TEXT NOT NULL, ranges TEXT NOT NULL,
                 versions TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS affected_by_package ON affected (package, ecosystem);",
        )
        .map_err(err)?;
        Ok(Database { path, conn })
    }

    /// Imports OSV records from files (a record, or an array of records) and
    /// directories of them; a record already there is replaced. Returns how many
    /// records were imported, and the files that were not OSV (each with why).
    ///
    /// # Errors
    /// The database refused the import; nothing of it is kept.
    pub fn import(&mut self, paths: &[PathBuf]) -> Result<(usize, Vec<String>), VulnError> {
        let mut files = Vec::new();
        for p in paths {
            collect_json(p, &mut files);
        }
        let err = |e| VulnError::Database(self.path.display().to_string(), e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut count = 0;
        let mut problems = Vec::new();
        // Each source as (name, text): a JSON file, or each JSON entry of a zip (OSV's
        // own exports, `ECOSYSTEM/all.zip`).
        let mut texts: Vec<(String, String)> = Vec::new();
        for file in files {
            let name = file.display().to_string();
            if file.extension().is_some_and(|e| e == "zip") {
                match zip_texts(&file) {
                    Ok(entries) => texts.extend(entries),
                    Err(e) => problems.push(format!("{name}: {e}")),
                }
                continue;
            }
            match std::fs::metadata(&file) {
                Ok(m) if m.len() > MAX_RECORD_BYTES => {
                    problems.push(format!("{name}: larger than {MAX_RECORD_BYTES} bytes"));
                }
                _ => match std::fs::read_to_string(&file) {
                    Ok(t) => texts.push((name, t)),
                    Err(e) => problems.push(format!("{name}: {e}")),
                },
            }
        }
        for (name, text) in texts {
            let records: Vec<Record> = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(items)) => items
                    .into_iter()
                    .filter_map(|v| serde_json::from_value(v).ok())
                    .collect(),
                Ok(v) => match serde_json::from_value(v) {
                    Ok(r) => vec![r],
                    Err(e) => {
                        problems.push(format!("{name}: not an OSV record: {e}"));
                        continue;
                    }
                },
                Err(e) => {
                    problems.push(format!("{name}: not JSON: {e}"));
                    continue;
                }
            };
            for r in records {
                tx.execute("DELETE FROM affected WHERE vuln = ?1", [&r.id])
                    .map_err(err)?;
                tx.execute(
                    "INSERT OR REPLACE INTO vulns (id, summary, aliases) VALUES (?1, ?2, ?3)",
                    params![r.id, r.summary, r.aliases.join(",")],
                )
                .map_err(err)?;
                for a in &r.affected {
                    let Some(pkg) = &a.package else { continue };
                    tx.execute(
                        "INSERT INTO affected (vuln, ecosystem, package, severity, ranges, versions)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            r.id,
                            pkg.ecosystem,
                            pkg.name,
                            severity_of(&r, a),
                            Value::Array(a.ranges.clone()).to_string(),
                            serde_json::to_string(&a.versions).unwrap_or_default(),
                        ],
                    )
                    .map_err(err)?;
                }
                count += 1;
            }
        }
        tx.commit().map_err(err)?;
        Ok((count, problems))
    }

    /// The vulnerabilities `package` has in `ecosystem` (`Debian:12`; records for the
    /// bare `Debian` apply too).
    ///
    /// # Errors
    /// The database could not be read.
    pub fn matches(&self, ecosystem: &str, package: &Package) -> Result<Vec<Match>, VulnError> {
        let err = |e| VulnError::Database(self.path.display().to_string(), e);
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.vuln, v.summary, v.aliases, a.severity, a.ranges, a.versions
                 FROM affected a JOIN vulns v ON v.id = a.vuln
                 WHERE a.package = ?1 AND (a.ecosystem = ?2 OR a.ecosystem = ?3)
                 ORDER BY a.vuln",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![package.source, ecosystem, base], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, summary, aliases, severity, ranges, versions) = row.map_err(err)?;
            let ranges: Vec<Value> = serde_json::from_str(&ranges).unwrap_or_default();
            let versions: Vec<String> = serde_json::from_str(&versions).unwrap_or_default();
            let installed = &package.source_version;
            let (affected, fixed) = affected(package.ecosystem, installed, &ranges, &versions);
            if affected {
                out.push(Match {
                    id,
                    aliases: aliases
                        .split(',')
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    summary,
                    severity,
                    package: package.name.clone(),
                    installed: package.version.clone(),
                    fixed,
                });
            }
        }
        Ok(out)
    }
}

impl Database {
    /// The vulnerabilities of Kubernetes `version` (`v1.29.3`, `v1.25.0-alpha.2+abc`):
    /// the records of the `k8s.io/kubernetes` Go module and of a `kubernetes`
    /// package, in semver order.
    ///
    /// # Errors
    /// The database could not be read.
    pub fn kubernetes(&self, version: &str) -> Result<Vec<Match>, VulnError> {
        let mut out = Vec::new();
        for (ecosystem, name) in [("Go", "k8s.io/kubernetes"), ("Kubernetes", "kubernetes")] {
            let package = Package {
                name: "kubernetes".into(),
                version: version.to_owned(),
                source: name.to_owned(),
                source_version: version.to_owned(),
                ecosystem: Ecosystem::Semver,
            };
            out.extend(self.matches(ecosystem, &package)?);
        }
        Ok(out)
    }
}

/// Largest zip entry read, and most entries: an export has one small record per
/// entry; anything else is not one.
const MAX_ZIP_ENTRIES: usize = 2_000_000;

/// The JSON entries of a zip, each as (`archive:entry`, text).
fn zip_texts(path: &Path) -> Result<Vec<(String, String)>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| e.to_string())?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(format!("{} entries: not an OSV export", archive.len()));
    }
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().map_err(|e| e.to_string())?.into_owned();
        if !name.ends_with(".json") || entry.is_dir() {
            continue;
        }
        // The declared size may lie: read at most the limit, and refuse what reaches it.
        let mut text = String::new();
        entry
            .take(MAX_RECORD_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("{name}: {e}"))?;
        if text.len() as u64 > MAX_RECORD_BYTES {
            return Err(format!("{name}: larger than {MAX_RECORD_BYTES} bytes"));
        }
        out.push((format!("{}:{name}", path.display()), text));
    }
    Ok(out)
}

fn collect_json(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            collect_json(&e, out);
        }
    } else if path.extension().is_some_and(|e| e == "json" || e == "zip") {
        out.push(path.to_path_buf());
    }
}

/// Versions in `ecosystem`'s order, with OSV's `0` before every version.
fn event_cmp(ecosystem: Ecosystem, a: &str, b: &str) -> Ordering {
    match (a, b) {
        ("0", "0") => Ordering::Equal,
        ("0", _) => Ordering::Less,
        (_, "0") => Ordering::Greater,
        _ => compare(ecosystem, a, b),
    }
}

/// Whether `version` is affected by `ranges` (ECOSYSTEM ranges in the ecosystem's
/// order, SEMVER ranges in semver's) or listed in `versions`, and the first fixed
/// version after it.
#[must_use]
pub fn affected(
    ecosystem: Ecosystem,
    version: &str,
    ranges: &[Value],
    versions: &[String],
) -> (bool, Option<String>) {
    let mut hit = versions
        .iter()
        .any(|v| event_cmp(ecosystem, v, version) == Ordering::Equal);
    let mut fixed: Option<String> = None;
    for range in ranges {
        // SEMVER ranges are semver whatever the package's ecosystem.
        let order = match range["type"].as_str() {
            Some("ECOSYSTEM") => ecosystem,
            Some("SEMVER") => Ecosystem::Semver,
            _ => continue,
        };
        let cmp = |a: &str, b: &str| event_cmp(order, a, b);
        let mut events: Vec<(&str, &str)> = range["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let obj = e.as_object()?;
                let (kind, v) = obj.iter().next()?;
                Some((kind.as_str(), v.as_str()?))
            })
            .collect();
        events.sort_by(|a, b| cmp(a.1, b.1));
        let mut affected = false;
        for (kind, v) in &events {
            match *kind {
                "introduced" if cmp(v, version) != Ordering::Greater => affected = true,
                "fixed" if cmp(v, version) != Ordering::Greater => affected = false,
                "last_affected" if cmp(v, version) == Ordering::Less => affected = false,
                _ => {}
            }
        }
        if affected {
            hit = true;
            let next_fix = events
                .iter()
                .filter(|(k, v)| *k == "fixed" && cmp(v, version) == Ordering::Greater)
                .map(|(_, v)| (*v).to_owned())
                .next();
            if next_fix.is_some() {
                fixed = next_fix;
            }
        }
    }
    (hit, fixed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ranges_follow_the_ecosystems_order() {
        let ranges = vec![json!({"type": "ECOSYSTEM", "events": [
            {"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]})];
        let deb = Ecosystem::Dpkg;
        assert_eq!(
            affected(deb, "3.0.11-1~deb12u1", &ranges, &[]),
            (true, Some("3.0.11-1~deb12u2".into()))
        );
        // `~deb12u2` is older than `3.0.11-1`: a string comparison would say fixed.
        assert_eq!(
            affected(deb, "3.0.11-1~deb12u2", &ranges, &[]),
            (false, None)
        );
        assert_eq!(affected(deb, "3.0.11-1", &ranges, &[]), (false, None));
        // Introduced later, and last_affected.
        let later = vec![json!({"type": "ECOSYSTEM", "events": [
            {"introduced": "2.0"}, {"last_affected": "2.5"}]})];
        assert!(!affected(deb, "1.9", &later, &[]).0);
        assert!(affected(deb, "2.5", &later, &[]).0);
        assert!(!affected(deb, "2.6", &later, &[]).0);
        // Listed versions.
        assert!(affected(deb, "1.0", &[], &["1.0".into()]).0);
    }

    #[test]
    fn imported_records_match_by_source_package_and_ecosystem() {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        std::fs::create_dir(&records).unwrap();
        std::fs::write(
            records.join("DSA-1.json"),
            json!({"id": "DSA-1", "summary": "openssl bug", "aliases": ["CVE-2024-1"],
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.12-1"}]}],
                    "ecosystem_specific": {"urgency": "high"}}]})
            .to_string(),
        )
        .unwrap();
        std::fs::write(records.join("notes.json"), "{\"not\": \"osv\"").unwrap();
        std::fs::write(
            records.join("GHSA-x.json"),
            json!({"id": "CVE-2024-2", "severity": [{"type": "CVSS_V3",
                    "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                "affected": [{"package": {"ecosystem": "Debian", "name": "openssl"},
                    "versions": ["3.0.11-1"]}]})
            .to_string(),
        )
        .unwrap();
        let mut db = Database::open(&dir.path().join("db")).unwrap();
        let (n, problems) = db.import(&[records]).unwrap();
        assert_eq!(n, 2);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let pkg = |source_version: &str, eco| Package {
            name: "libssl3".into(),
            version: source_version.into(),
            source: "openssl".into(),
            source_version: source_version.into(),
            ecosystem: eco,
        };
        let m = db
            .matches("Debian:12", &pkg("3.0.11-1", Ecosystem::Dpkg))
            .unwrap();
        assert_eq!(m.len(), 2);
        // The bare ecosystem's record, by listed version, rated from its CVSS vector.
        assert_eq!(
            (m[0].id.as_str(), m[0].severity.as_str()),
            ("CVE-2024-2", "critical")
        );
        assert_eq!(m[1].severity, "high");
        assert_eq!(m[1].aliases, ["CVE-2024-1"]);
        assert_eq!(m[1].fixed.as_deref(), Some("3.0.12-1"));
        assert!(db
            .matches("Debian:12", &pkg("3.0.12-1", Ecosystem::Dpkg))
            .unwrap()
            .is_empty());
        // Another release gets the bare ecosystem's record, not Debian 12's.
        let other = db
            .matches("Debian:11", &pkg("3.0.11-1", Ecosystem::Dpkg))
            .unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].id, "CVE-2024-2");
    }

    #[test]
    fn the_kubernetes_version_is_matched_in_semver_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k8s.json");
        std::fs::write(
            &file,
            json!([{"id": "GO-2024-1", "summary": "kube-apiserver bypass", "aliases": ["CVE-2024-9"],
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}],
                "affected": [{"package": {"ecosystem": "Go", "name": "k8s.io/kubernetes"},
                    "ranges": [{"type": "SEMVER", "events": [
                        {"introduced": "1.24.0"}, {"fixed": "1.25.0"},
                        {"introduced": "1.26.0"}, {"fixed": "1.26.4"}]}]}]}])
            .to_string(),
        )
        .unwrap();
        let mut db = Database::open(&dir.path().join("db")).unwrap();
        db.import(&[file]).unwrap();
        // A pre-release of 1.25.0 comes before the fix.
        let m = db.kubernetes("v1.25.0-alpha.2+89aaf7c02dd3").unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].severity.as_str(), m[0].fixed.as_deref()),
            ("high", Some("1.25.0"))
        );
        assert!(db.kubernetes("v1.25.3").unwrap().is_empty());
        assert_eq!(
            db.kubernetes("v1.26.3").unwrap()[0].fixed.as_deref(),
            Some("1.26.4")
        );
        assert!(db.kubernetes("v1.26.4").unwrap().is_empty());
    }

    #[test]
    fn an_osv_export_zip_is_imported() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..3 {
            zip.start_file(format!("DSA-{i}.json"), options).unwrap();
            let record = json!({"id": format!("DSA-{i}"), "summary": "s",
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "curl"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "8.0"}]}]}]});
            zip.write_all(record.to_string().as_bytes()).unwrap();
        }
        zip.start_file("README.txt", options).unwrap();
        zip.write_all(b"not a record").unwrap();
        zip.finish().unwrap();
        let mut db = Database::open(&dir.path().join("db")).unwrap();
        let (n, problems) = db.import(std::slice::from_ref(&path)).unwrap();
        assert_eq!((n, problems.len()), (3, 0), "{problems:?}");
        // Not a zip at all: said, and the rest goes on.
        let bad = dir.path().join("broken.zip");
        std::fs::write(&bad, b"PK not really").unwrap();
        let (n, problems) = db.import(&[bad, path]).unwrap();
        assert_eq!(n, 3);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("broken.zip"), "{problems:?}");
    }
}
