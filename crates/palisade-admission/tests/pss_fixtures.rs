//! Kubernetes' own Pod Security conformance fixtures, reviewed in a namespace labelled
//! with their level and version, get Pod Security Admission's verdicts: every `fail/`
//! pod denied by the check its name gives, every `pass/` pod allowed.

mod common;

use std::path::Path;

use palisade_admission::MODE_LABEL;
use palisade_config::Overrides;
use palisade_source::{parse_document, split_documents, Limits};

#[test]
fn fixtures_get_pod_security_admissions_verdicts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pss-fixtures");
    let Ok(expected) = std::fs::read_to_string(root.join("EXPECTED.csv")) else {
        eprintln!("skipped: {} is absent", root.display());
        return;
    };
    // Pod Security checks only: the hardening checks have verdicts of their own.
    let judge = common::judge_with(
        "",
        &Overrides {
            select: vec!["pod-security".into()],
            ..Overrides::default()
        },
    );
    let mut checked = 0;
    for row in expected.lines().skip(1) {
        let cols: Vec<&str> = row.split(',').collect();
        let (path, level, version, outcome, check) = (cols[0], cols[1], cols[2], cols[3], cols[5]);
        let namespace = format!("{level}-{version}").replace('.', "-");
        judge.set_namespace(
            &namespace,
            [
                ("pod-security.kubernetes.io/enforce", level),
                ("pod-security.kubernetes.io/enforce-version", version),
                (MODE_LABEL, "enforce"),
            ]
            .into_iter(),
        );
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        let chunk = &split_documents(&text)[0];
        let doc = parse_document(&text[chunk.range.clone()], chunk, &Limits::default()).unwrap();
        let mut pod = doc.root().unwrap().to_json();
        pod["metadata"]["namespace"] = namespace.clone().into();
        let (_, d) = judge
            .review(&common::body(&common::request("CREATE", &pod, None)))
            .unwrap();
        if outcome == "fail" {
            assert!(!d.response.allowed, "{path}: allowed at {level}:{version}");
            let message = &d.response.status.as_ref().unwrap().message;
            // The denying check is the fixture's, or at restricted the twin that
            // replaces it there (hostPathVolumes -> restrictedVolumes, ...).
            let v: palisade_engine::Version = version.parse().unwrap();
            let twins: Vec<&str> = palisade_checks::pss::CHECKS
                .iter()
                .filter(|c| {
                    level == "restricted" && c.at(v).is_some_and(|x| x.overrides.contains(&check))
                })
                .map(|c| c.meta.id)
                .collect();
            assert!(
                d.findings
                    .iter()
                    .any(|f| f.check.id == check || twins.contains(&f.check.id)),
                "{path}: denied, but not by {check}: {message}"
            );
        } else {
            assert!(
                d.response.allowed && d.findings.is_empty(),
                "{path}: {:?}",
                d.response.status
            );
        }
        checked += 1;
    }
    assert!(checked > 140, "only {checked} fixtures ran");
}
