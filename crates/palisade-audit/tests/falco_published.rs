//! Falco's published `k8s_audit_rules.yaml`, loaded unmodified, against hand-built
//! events: a positive and a negative event for each of its 43 rules, then edge probes
//! whose complete set of expected detections was worked out from Falco's k8saudit
//! plugin semantics (`tests/fixtures/falco-k8s-audit-cases.jsonl`, written here).
//!
//! Falco's file cannot be committed or fetched (no package registry ships it), so the
//! test reads it from `$PALISADE_FALCO_RULES` or `../shared/falco/k8s_audit_rules.yaml`
//! and skips with a message when neither exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use palisade_audit::{detect, AuditEvent, Loader, RuleSet};
use serde_json::Value;

const CASES: &str = include_str!("fixtures/falco-k8s-audit-cases.jsonl");

fn falco_rules_path() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PALISADE_FALCO_RULES").map(PathBuf::from),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/falco/k8s_audit_rules.yaml"),
        ),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

fn fired(rules: &RuleSet, event: &Value) -> Vec<String> {
    let text = event.to_string();
    let event = AuditEvent::parse(&text).expect("fixture events are audit events");
    detect(rules, &event)
        .iter()
        .map(|d| d.rule.name.clone())
        .collect()
}

fn names(case: &Value, key: &str) -> Vec<String> {
    case.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[test]
fn falco_published_rules_give_falcos_answers() {
    let Some(path) = falco_rules_path() else {
        eprintln!(
            "skipped: Falco's k8s_audit_rules.yaml not found; set PALISADE_FALCO_RULES or \
             place it at ../shared/falco/k8s_audit_rules.yaml"
        );
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let mut loader = Loader::default();
    loader.add("k8s_audit_rules.yaml", &text).unwrap();
    let rules = loader.compile();
    // The only thing Palisade does not use is a bare `-` list item.
    let unexpected: Vec<String> = rules
        .notices
        .iter()
        .map(ToString::to_string)
        .filter(|n| !n.contains("a bare `-`"))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!(rules.rules.len(), 43, "every rule of the file compiles");
    assert!(rules.required_plugins.iter().any(|(p, _)| p == "k8saudit"));

    let mut failures = Vec::new();
    let mut tested_rules = BTreeSet::new();
    for line in CASES.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let name = case["name"].as_str().unwrap();
        let got = fired(&rules, &case["event"]);
        for rule in names(&case, "fires") {
            tested_rules.insert(rule.clone());
            if !got.contains(&rule) {
                failures.push(format!("{name}: {rule} did not fire (fired {got:?})"));
            }
        }
        for rule in names(&case, "silent") {
            tested_rules.insert(rule.clone());
            if got.contains(&rule) {
                failures.push(format!("{name}: {rule} fired"));
            }
        }
        if case.get("exactly").is_some() {
            let want: BTreeSet<String> = names(&case, "exactly").into_iter().collect();
            let have: BTreeSet<String> = got.iter().cloned().collect();
            if want != have || have.len() != got.len() {
                failures.push(format!("{name}: want {want:?}, fired {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let all: BTreeSet<String> = rules.rules.iter().map(|r| r.name.clone()).collect();
    assert_eq!(tested_rules, all, "every Falco rule has its cases");
}
