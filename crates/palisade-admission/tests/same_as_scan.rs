//! The webhook gives every object of the examples, the Pod Security fixtures and the
//! real-world corpus the findings `palisade scan` gives it: same checks, severities,
//! messages and fields. Each document is scanned on its own (as the webhook sees each
//! object on its own) and sent as an AdmissionReview of its JSON form.

mod common;

use std::path::Path;

type Key = (&'static str, &'static str, String, String);

/// Compares every object of every file under `dir`; returns how many were compared.
fn compare_all(dir: &Path) -> usize {
    let judge = common::judge("");
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for common::Scanned { name, object, scan } in common::scanned_objects(dir, &judge) {
        let mut review = common::request("CREATE", &object, None);
        // Judged as any review but not remembered: a Namespace reviewed here must not
        // change how the next objects are judged, as scanning one document alone does
        // not know it either.
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
        let mut want: Vec<Key> = scan.findings.iter().map(key).collect();
        let mut got: Vec<Key> = decision.findings.iter().map(key).collect();
        want.sort();
        got.sort();
        if want != got {
            mismatches.push(format!("{name}: scan {want:?}\n  admission {got:?}"));
        }
        // The verdict follows from the findings: denied exactly when one is at or
        // above the deny severity.
        let deny_at = judge.settings().deny_severity;
        assert_eq!(
            decision.response.allowed,
            !scan.findings.iter().any(|f| f.severity >= deny_at),
            "{name}"
        );
        compared += 1;
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
