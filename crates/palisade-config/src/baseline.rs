//! Baseline files: the fingerprints of findings a team has accepted for now.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use palisade_engine::Baseline;
use palisade_model::{Finding, Fingerprint};
use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// The format's version; bumped if fingerprints ever change meaning.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct BaselineFile {
    palisade_baseline: u32,
    findings: Vec<Entry>,
}

/// One accepted finding. Only the fingerprint matches; the rest is for people reading
/// the file in review.
#[derive(Serialize, Deserialize)]
struct Entry {
    fingerprint: String,
    check: String,
    object: String,
    file: String,
    path: String,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    count: usize,
}

fn one() -> usize {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_one(n: &usize) -> bool {
    *n == 1
}

/// Writes `findings` as a baseline to `path`, sorted so that the file diffs cleanly.
///
/// # Errors
/// The file cannot be written.
pub fn write_baseline(path: &Path, findings: &[Finding]) -> Result<(), ConfigError> {
    let mut entries: BTreeMap<(String, String, String, String), Entry> = BTreeMap::new();
    for f in findings {
        let key = (
            f.location.file.to_string(),
            f.object.to_string(),
            f.check.id.to_owned(),
            f.fingerprint.to_string(),
        );
        entries
            .entry(key)
            .and_modify(|e| e.count += 1)
            .or_insert_with(|| Entry {
                fingerprint: f.fingerprint.to_string(),
                check: f.check.id.to_owned(),
                object: f.object.to_string(),
                file: f.location.file.to_string(),
                path: f.path.clone(),
                count: 1,
            });
    }
    let file = BaselineFile {
        palisade_baseline: FORMAT,
        findings: entries.into_values().collect(),
    };
    let mut text = serde_json::to_string_pretty(&file).expect("baseline serializes");
    text.push('\n');
    std::fs::write(path, text).map_err(|e| ConfigError {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        message: format!("cannot write the baseline: {e}"),
    })
}

/// Reads a baseline written by [`write_baseline`].
///
/// # Errors
/// The file cannot be read, is not JSON of the baseline's shape (with the line and
/// column of the mistake), or has an unknown format version.
pub fn read_baseline(path: &Path) -> Result<Baseline, ConfigError> {
    let name = path.display().to_string();
    let error = |line, column, message| ConfigError {
        file: name.clone(),
        line,
        column,
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| error(0, 0, format!("cannot read the baseline: {e}")))?;
    let file: BaselineFile = serde_json::from_str(&text).map_err(|e| {
        let line = u32::try_from(e.line()).unwrap_or(u32::MAX);
        let column = u32::try_from(e.column()).unwrap_or(u32::MAX);
        error(line, column, format!("not a Palisade baseline: {e}"))
    })?;
    if file.palisade_baseline != FORMAT {
        return Err(error(
            0,
            0,
            format!(
                "baseline format {} is not supported (this Palisade writes format {FORMAT}); write a new one with --write-baseline",
                file.palisade_baseline
            ),
        ));
    }
    let mut counts: HashMap<Fingerprint, usize> = HashMap::new();
    for e in file.findings {
        let fingerprint = e
            .fingerprint
            .parse::<Fingerprint>()
            .map_err(|m| error(0, 0, format!("not a Palisade baseline: {m}")))?;
        *counts.entry(fingerprint).or_default() += e.count.max(1);
    }
    Ok(Baseline {
        file: Arc::from(name.as_str()),
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_baselines_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        std::fs::write(&p, "{\n  \"palisade_baseline\": 1,\n  \"findings\": [1]\n}").unwrap();
        let e = read_baseline(&p).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.to_string().contains("not a Palisade baseline"), "{e}");

        std::fs::write(&p, r#"{"palisade_baseline": 9, "findings": []}"#).unwrap();
        assert!(read_baseline(&p).unwrap_err().message.contains("format 9"));

        let missing = dir.path().join("nope.json");
        assert!(read_baseline(&missing)
            .unwrap_err()
            .message
            .contains("cannot read"));
    }

    #[test]
    fn counts_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        std::fs::write(
            &p,
            r#"{"palisade_baseline": 1, "findings": [
                {"fingerprint": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "check": "c", "object": "o", "file": "f", "path": "p", "count": 2},
                {"fingerprint": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "check": "c", "object": "o", "file": "f", "path": "q"}]}"#,
        )
        .unwrap();
        let b = read_baseline(&p).unwrap();
        let key = |t: &str| t.parse::<Fingerprint>().unwrap();
        assert_eq!(b.counts[&key("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")], 2);
        assert_eq!(b.counts[&key("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")], 1);
        // A fingerprint that is not 32 hex digits is refused, naming the file.
        std::fs::write(
            &p,
            r#"{"palisade_baseline": 1, "findings": [{"fingerprint": "aa", "check": "c", "object": "o", "file": "f", "path": "p"}]}"#,
        )
        .unwrap();
        let e = read_baseline(&p).unwrap_err();
        assert!(e.message.contains("not a fingerprint"), "{}", e.message);
    }
}
