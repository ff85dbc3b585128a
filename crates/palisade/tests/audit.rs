//! `palisade audit scan`: Falco rules over audit log files, through the binary.

mod common;

use common::run_in;
use serde_json::Value;

const RULES: &str = r#"
- list: sensitive_resources
  items: [secrets]
- macro: kevt
  condition: (jevt.value[/stage] in ("ResponseComplete"))
- rule: Read Secret
  desc: a Secret was read
  condition: kevt and ka.target.resource in (sensitive_resources) and ka.verb in (get, list)
  output: "%ka.user.name read secret %ka.target.namespace/%ka.target.name"
  priority: WARNING
  source: k8s_audit
  tags: [k8s]
- rule: Unknown
  desc: x
  condition: ka.bogus = 1
  output: x
  priority: INFO
  source: k8s_audit
"#;

fn event(id: &str, verb: &str, resource: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/{resource}/db","verb":"{verb}","user":{{"username":"jane","groups":["dev"]}},"objectRef":{{"resource":"{resource}","namespace":"prod","name":"db","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"2026-12-04T10:00:00.000000Z","stageTimestamp":"2026-12-04T10:00:00.002000Z"}}"#
    )
}

#[test]
fn scan_reports_detections_bad_lines_and_rule_notices() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), RULES).unwrap();
    let log = format!(
        "{}\n{{broken\n{}\n",
        event("1", "get", "secrets"),
        event("2", "get", "pods")
    );
    std::fs::write(dir.path().join("audit.log"), log).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.path().join("audit-1.log.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    writeln!(gz, "{}", event("3", "list", "secrets")).unwrap();
    gz.finish().unwrap();

    // `palisade audit scan -r rules.yaml ARGS` in the test's directory.
    let scan = |args: &[&str]| {
        let mut all = vec!["audit", "scan", "-r", "rules.yaml"];
        all.extend_from_slice(args);
        run_in(dir.path(), &all)
    };
    let out = scan(&["-f", "falco-json", "audit.log", "audit-1.log.gz"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["rule"], "Read Secret");
    assert_eq!(lines[0]["output_fields"]["ka.target.name"], "db");
    assert_eq!(lines[1]["time"], "2026-12-04T10:00:00.002000000Z");
    assert!(stderr.contains("error: audit.log:2: not JSON"), "{stderr}");
    assert!(
        stderr.contains("rules.yaml:") && stderr.contains("unknown field ka.bogus"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 events, 2 detections by 1 rules; 0 events seen twice passed over; 1 unreadable lines skipped"),
        "{stderr}"
    );

    // Text format, and no detection: exit 0.
    std::fs::write(dir.path().join("quiet.log"), event("4", "get", "pods")).unwrap();
    let out = scan(&["quiet.log"]);
    assert_eq!(out.status.code(), Some(0));
    let out = scan(&["audit.log"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("audit.log:1: 2026-12-04T10:00:00.002000Z Warning (Read Secret): jane read secret prod/db"),
        "{stdout}"
    );
    // The SIEM formats: one record per detection.
    for (format, check) in [
        ("ecs", "\"kind\":\"alert\""),
        ("ocsf", "\"class_uid\":6003"),
        ("cef", "CEF:0|Palisade|palisade|"),
    ] {
        let out = scan(&["-f", format, "audit.log"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.lines().count(), 1, "{format}: {stdout}");
        assert!(stdout.contains(check), "{format}: {stdout}");
    }
    // The same log named twice (or overlapping rotations): each event reported once.
    let out = scan(&["-f", "falco-json", "audit.log", "audit.log"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 events seen twice passed over"),
        "{out:?}"
    );
    // A missing file or rules file is an error naming it.
    let out = run_in(
        dir.path(),
        &["audit", "scan", "-r", "nope.yaml", "audit.log"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.yaml"));
}

#[test]
fn policy_prints_the_recommended_audit_policy() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["audit", "policy"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, palisade_audit::RECOMMENDED_POLICY);
    assert!(text.contains("kind: Policy"));
}
