//! The webhook gives every object of the examples, the Pod Security fixtures and the
//! real-world corpus the findings `palisade scan` gives it: same checks, severities,
//! messages and fields. Each document is scanned on its own (as the webhook sees each
//! object on its own) and sent as an AdmissionReview of its JSON form.

mod common;

use std::path::Path;
use std::sync::Arc;

use palisade_engine::scan;
use palisade_inventory::{InputKind, InputSpec};
use palisade_source::{parse_document, split_documents, Limits};
use serde_json::Value;

type Key = (&'static str, &'static str, String, String);

/// Compares every object of every file under `dir`; returns how many were compared.
fn compare_all(dir: &Path) -> usize {
    let judge = common::judge("");
    let opts = judge.scan_options();
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for file in common::yaml_files(dir) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for chunk in split_documents(&text) {
            let doc_text = &text[chunk.range.clone()];
            let Ok(doc) = parse_document(doc_text, &chunk, &Limits::default()) else {
                continue;
            };
            let Some(root) = doc.root().filter(|r| r.is_mapping()) else {
                continue;
            };
            let kind = root.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            // Lists are not admitted as such, and a repeated key has no JSON form.
            if kind.is_empty() || kind.ends_with("List") || !doc.duplicates.is_empty() {
                continue;
            }
            let name: Arc<str> = Arc::from(format!("{}#{}", file.display(), chunk.index));
            let input = InputSpec {
                name,
                kind: InputKind::Inline(doc_text.to_owned()),
            };
            let scanned = scan(&[input], judge.checks(), opts);
            if !scanned.errors.is_empty() {
                continue;
            }
            let object: Value = root.to_json();
            let mut review = common::request("CREATE", &object, None);
            // Judged as any review but not remembered: a Namespace reviewed here must
            // not change how the next objects are judged, as scanning one document
            // alone does not know it either.
            review["dryRun"] = serde_json::json!(true);
            let (_, decision) = judge.review(&common::body(&review)).unwrap();
            assert!(decision.skipped.is_none());
            let key = |f: &palisade_model::Finding| -> Key {
                (
                    f.check.id,
                    f.severity.as_str(),
                    f.message.text().into_owned(),
                    f.path.clone(),
                )
            };
            let mut want: Vec<Key> = scanned.findings.iter().map(key).collect();
            let mut got: Vec<Key> = decision.findings.iter().map(key).collect();
            want.sort();
            got.sort();
            if want != got {
                mismatches.push(format!(
                    "{}#{}: scan {want:?}\n  admission {got:?}",
                    file.display(),
                    chunk.index
                ));
            }
            // The verdict follows from the findings: denied exactly when one is at
            // or above the deny severity.
            let deny_at = judge.settings().deny_severity;
            assert_eq!(
                decision.response.allowed,
                !scanned.findings.iter().any(|f| f.severity >= deny_at),
                "{}#{}",
                file.display(),
                chunk.index
            );
            compared += 1;
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared} objects differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    compared
}

#[test]
fn examples_get_the_same_findings() {
    let n = compare_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples"));
    assert!(n >= 50, "only {n} objects compared");
}

#[test]
fn pod_security_fixtures_get_the_same_findings() {
    if let Some(dir) = common::shared("pss-fixtures") {
        let n = compare_all(&dir);
        assert!(n >= 140, "only {n} objects compared");
    }
}

#[test]
fn corpus_objects_get_the_same_findings() {
    if let Some(dir) = common::shared("corpus") {
        let n = compare_all(&dir);
        assert!(n >= 1000, "only {n} objects compared");
    }
}
