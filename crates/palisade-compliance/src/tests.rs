//! Scores of real scans: the registry's checks over small manifests.

use std::sync::Arc;

use palisade_engine::{scan, Check, ScanOptions};
use palisade_inventory::{InputKind, InputSpec};
use palisade_model::{CheckMeta, Framework, ScanResult};

use super::*;

fn all() -> Vec<&'static CheckMeta> {
    palisade_checks::registry()
        .iter()
        .map(|c| c.meta())
        .collect()
}

/// Scans `yaml` with the checks `keep` accepts; returns the result and the checks run.
fn run(yaml: &str, keep: impl Fn(&CheckMeta) -> bool) -> (ScanResult, Vec<&'static CheckMeta>) {
    let checks: Vec<&'static dyn Check> = palisade_checks::registry()
        .into_iter()
        .filter(|c| keep(c.meta()))
        .collect();
    let opts = ScanOptions {
        analyses: palisade_checks::analyses(),
        ..ScanOptions::default()
    };
    let input = InputSpec {
        name: Arc::from("test.yaml"),
        kind: InputKind::Inline(yaml.to_owned()),
    };
    let result = scan(&[input], &checks, &opts);
    (result, checks.iter().map(|c| c.meta()).collect())
}

fn control<'a>(report: &'a FrameworkReport, id: &str) -> &'a ControlResult {
    report
        .controls
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no control {id}"))
}

const PRIVILEGED: &str = "apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a}
spec:
  containers:
  - name: c
    image: nginx:1.27
    securityContext: {privileged: true}
";

const HARDENED: &str = "apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: nginx:1.27
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
";

#[test]
fn a_finding_fails_its_control_and_a_clean_workload_passes_it() {
    let checks = all();
    let (bad, ran) = run(PRIVILEGED, |_| true);
    let cis = evaluate(Framework::Cis, &bad, &checks, &ran);
    let privileged = control(&cis, "5.2.2");
    assert_eq!(privileged.status, Status::Failed, "{privileged:?}");
    assert_eq!(privileged.failing_objects, 1);
    assert!(privileged.checks.contains(&"privileged"));

    let (good, ran) = run(HARDENED, |_| true);
    let cis = evaluate(Framework::Cis, &good, &checks, &ran);
    assert_eq!(control(&cis, "5.2.2").status, Status::Passed);
    // Nothing about an API server was scanned: its controls are not evaluated, with why.
    let anonymous = control(&cis, "1.2.1");
    assert_eq!(anonymous.status, Status::NotEvaluated);
    assert!(
        anonymous
            .reason
            .as_deref()
            .unwrap()
            .contains("kube-apiserver"),
        "{anonymous:?}"
    );
    // Node controls say how to judge a node.
    let kubelet = control(&cis, "4.2.1");
    assert_eq!(kubelet.status, Status::NotEvaluated);
    assert!(kubelet.reason.as_deref().unwrap().contains("palisade node"));
}

#[test]
fn manual_and_unimplemented_controls_are_never_counted_as_passed_or_failed() {
    let checks = all();
    let (good, ran) = run(HARDENED, |_| true);
    let cis = evaluate(Framework::Cis, &good, &checks, &ran);
    let manual: Vec<&ControlResult> = cis
        .controls
        .iter()
        .filter(|c| c.assessment == Assessment::Manual && c.checks.is_empty())
        .collect();
    assert!(!manual.is_empty());
    for c in manual {
        assert_eq!(c.status, Status::NotEvaluated, "{c:?}");
        assert!(c.reason.as_deref().unwrap().starts_with("manual"));
    }
    // The counts add up to the catalogue, and the score counts decided controls only.
    let n = cis.counts;
    assert_eq!(
        n.passed + n.failed + n.not_applicable + n.not_evaluated,
        catalogue::CIS_V1_10.len()
    );
    // The hardened pod passes the Pod Security controls; the score counts only decided
    // controls.
    let pss = cis.sections.iter().find(|s| s.id == "5.2").unwrap();
    assert_eq!(pss.counts.failed, 0, "{pss:?}");
    assert!(pss.counts.passed >= 10, "{pss:?}");
    let decided = n.passed + n.failed;
    let score = cis.score.unwrap();
    assert!((score - n.passed as f64 * 100.0 / decided as f64).abs() < 1e-9);
    assert!(n.not_evaluated > n.passed, "{n:?}");
    // An audit Policy check with no Policy scanned decides nothing.
    let audit = control(&cis, "3.2.2");
    assert_eq!(audit.status, Status::NotEvaluated, "{audit:?}");
    assert_eq!(audit.reason.as_deref(), Some("no Policy was scanned"));
    // Section counts add up to the framework's.
    let sum: usize = cis
        .sections
        .iter()
        .map(|s| {
            s.counts.passed + s.counts.failed + s.counts.not_applicable + s.counts.not_evaluated
        })
        .sum();
    assert_eq!(sum, catalogue::CIS_V1_10.len());
}

#[test]
fn a_control_whose_checks_did_not_run_is_not_evaluated_unless_another_found_something() {
    let checks = all();
    let (bad, ran) = run(PRIVILEGED, |c| c.id != "privileged");
    let cis = evaluate(Framework::Cis, &bad, &checks, &ran);
    let privileged = control(&cis, "5.2.2");
    assert_eq!(privileged.status, Status::NotEvaluated);
    assert_eq!(privileged.reason.as_deref(), Some("not run: privileged"));
}

#[test]
fn exceptions_do_not_fail_a_control_but_are_counted() {
    let checks = all();
    let yaml = PRIVILEGED.replace(
        "metadata: {name: p, namespace: a}",
        "metadata:\n  name: p\n  namespace: a\n  annotations: {palisade.dev/ignore: \"privileged: test rig\"}",
    );
    let (result, ran) = run(&yaml, |_| true);
    assert!(!result.suppressed.is_empty(), "the annotation suppresses");
    let cis = evaluate(Framework::Cis, &result, &checks, &ran);
    let privileged = control(&cis, "5.2.2");
    assert_eq!(privileged.status, Status::Passed, "{privileged:?}");
    assert!(privileged.excepted >= 1);
}

#[test]
fn an_api_server_manifest_decides_its_controls() {
    let checks = all();
    let apiserver = "apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system}
spec:
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.31.0
    command: [kube-apiserver, --anonymous-auth=false, --authorization-mode=Node,RBAC]
";
    let (result, ran) = run(apiserver, |_| true);
    let cis = evaluate(Framework::Cis, &result, &checks, &ran);
    assert_eq!(control(&cis, "1.2.1").status, Status::Passed);
    // 1.2.7: the authorization mode is not AlwaysAllow.
    assert_eq!(control(&cis, "1.2.7").status, Status::Passed);
    // No audit log path: failed.
    assert_eq!(control(&cis, "1.2.16").status, Status::Failed);
    // etcd was not scanned.
    assert_eq!(control(&cis, "2.1").status, Status::NotEvaluated);
}

#[test]
fn pod_security_standards_are_sectioned_by_level() {
    let checks = all();
    let (bad, ran) = run(PRIVILEGED, |_| true);
    let pss = evaluate(Framework::Pss, &bad, &checks, &ran);
    let privileged = control(&pss, "privileged");
    assert_eq!(privileged.section, "baseline");
    assert_eq!(privileged.status, Status::Failed);
    assert!(pss.controls.iter().any(|c| c.section == "restricted"));
    assert!(pss
        .sections
        .iter()
        .all(|s| s.counts.passed + s.counts.failed > 0));
}

#[test]
fn every_mapped_control_is_in_its_catalogue() {
    for check in all() {
        for m in check.mappings {
            let known = match m.framework {
                Framework::Cis => catalogue::CIS_V1_10.iter().any(|c| c.id == m.id),
                Framework::Nsa => catalogue::NSA.iter().any(|c| c.id == m.id),
                Framework::Mitre => catalogue::MITRE.iter().any(|c| c.id == m.id),
                Framework::Pss => ["baseline", "restricted"].contains(&m.id),
            };
            assert!(
                known,
                "{}: {:?} {} is not in the catalogue",
                check.id, m.framework, m.id
            );
        }
    }
}

#[test]
fn mitre_and_nsa_controls_have_sections() {
    let checks = all();
    let (bad, ran) = run(PRIVILEGED, |_| true);
    for f in [Framework::Mitre, Framework::Nsa] {
        let report = evaluate(f, &bad, &checks, &ran);
        for c in &report.controls {
            assert!(
                report.sections.iter().any(|s| s.id == c.section),
                "{f:?} {}: no section {:?}",
                c.id,
                c.section
            );
        }
        assert!(report.counts.failed > 0, "{f:?}");
    }
}
