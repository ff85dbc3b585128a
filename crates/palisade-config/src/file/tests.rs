use std::path::Path;

use palisade_engine::Subject;
use time::{Date, Month};

use super::*;

fn today() -> Date {
    Date::from_calendar_date(2026, Month::November, 23).unwrap()
}

fn catalogue() -> Vec<&'static CheckMeta> {
    palisade_checks::registry()
        .into_iter()
        .map(|c| c.meta())
        .collect()
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    parse_config(".palisade.yaml", text, today(), &catalogue())
}

fn err(text: &str) -> (u32, String) {
    let e = parse(text).expect_err("config should be refused");
    assert!(e.to_string().starts_with(".palisade.yaml:"), "{e}");
    (e.line, e.message)
}

const FULL: &str = "\
select: [pod-security, workload]
ignore: hostPorts
severity:
  privileged: medium
  input: info
registries:
  allowed: [ghcr.io/acme/, registry.example.com]
pss: baseline:v1.30
fail-on: medium
exceptions:
  - checks: [privileged, hostPath*]
    kind: DaemonSet
    namespaces: [monitoring, 'kube-*']
    name: node-exporter*
    labels: {app: node-exporter}
    container: exporter
    reason: reads host metrics
    expires: 2027-06-30
  - checks: '*'
    namespace: legacy
    reason: being retired
    expires: 2026-11-22
";

#[test]
fn a_full_config_reads() {
    // `hostPath*` is not an id: refused. Fix it and read the rest.
    let (line, message) = err(FULL);
    assert_eq!(line, 11, "{message}");
    assert!(message.contains("\"hostPath*\""), "{message}");
    let c = parse(&FULL.replace("hostPath*", "hostPathVolumes")).unwrap();
    assert_eq!(
        c.select.as_deref(),
        Some(&["pod-security".to_owned(), "workload".to_owned()][..])
    );
    assert_eq!(c.ignore, ["hostPorts"]);
    assert_eq!(c.severity["privileged"], Severity::Medium);
    assert_eq!(
        c.severity["duplicate-key"],
        Severity::Info,
        "categories expand to their checks"
    );
    assert_eq!(
        c.allowed_registries,
        ["ghcr.io/acme/", "registry.example.com"]
    );
    assert_eq!(c.pss.unwrap().to_string(), "baseline:v1.30");
    assert_eq!(c.fail_on, Some(Some(Severity::Medium)));
    assert_eq!(c.exceptions.len(), 2);

    let e = &c.exceptions[0];
    assert!(!e.expired);
    assert_eq!(e.suppression.line, 11);
    assert_eq!(e.suppression.expires.as_deref(), Some("2027-06-30"));
    assert_eq!(e.suppression.reason, "reads host metrics");
    let labels = [("app", "node-exporter")];
    let privileged = catalogue()
        .into_iter()
        .find(|m| m.id == "privileged")
        .unwrap();
    let subject = |ns: &'static str| Subject {
        check: privileged,
        kind: "DaemonSet",
        namespace: Some(ns),
        name: "node-exporter-x",
        labels: &labels,
        container: Some("exporter"),
    };
    assert!(e.matches(&subject("kube-mon")));
    assert!(!e.matches(&subject("default")));

    // Expired yesterday: kept, marked expired.
    assert!(c.exceptions[1].expired);
    assert_eq!(c.exceptions[1].checks, ["*"]);
}

#[test]
fn expiry_is_inclusive() {
    let c = parse("exceptions:\n- {checks: privileged, name: x, reason: r, expires: 2026-11-23}\n")
        .unwrap();
    assert!(!c.exceptions[0].expired, "valid through its expiry day");
}

#[test]
fn mistakes_are_refused_with_their_line() {
    for (text, line, needle) in [
        ("selct: [privileged]\n", 1, "unknown key \"selct\""),
        ("select: [privilegd]\n", 1, "\"privilegd\" is no check"),
        ("ignore:\n  - hostPorts\n  - nope\n", 3, "\"nope\""),
        ("severity:\n  privileged: severe\n", 2, "not a severity"),
        ("severity: high\n", 1, "maps check ids"),
        ("pss: strict\n", 1, "strict"),
        ("fail-on: sometimes\n", 1, "not a severity"),
        ("registries:\n  allow: [x]\n", 2, "unknown key \"allow\""),
        ("registries:\n  allowed: ['ghcr.io/a@sha256:1']\n", 2, "not a registry"),
        ("exceptions: {}\n", 1, "must be a list"),
        ("exceptions:\n  - name: x\n    reason: r\n", 2, "needs `checks`"),
        ("exceptions:\n  - checks: privileged\n    reason: r\n", 2, "at least one object selector"),
        ("exceptions:\n  - checks: privileged\n    name: x\n", 2, "needs a `reason`"),
        ("exceptions:\n  - checks: privileged\n    name: x\n    reason: '  '\n", 4, "must say why"),
        ("exceptions:\n  - checks: privileged\n    name: x\n    reason: r\n    expires: 2026-13-01\n", 5, "not a date"),
        ("exceptions:\n  - checks: privileged\n    name: x\n    reason: r\n    expires: tomorrow\n", 5, "not a date"),
        ("exceptions:\n  - checks: privileged\n    name: '[x'\n    reason: r\n", 3, "bad pattern"),
        ("exceptions:\n  - checks: privileged\n    nmae: x\n    reason: r\n", 3, "unknown key \"nmae\""),
        ("exceptions:\n  - checks: privileged\n    labels: [a]\n    reason: r\n", 3, "maps label keys"),
        ("select: [a\n", 2, ""),
        ("ignore: [hostPorts]\nignore: [privileged]\n", 2, "given twice"),
        ("ignore: x\n---\nignore: y\n", 2, "one YAML document"),
        ("- a\n", 1, "must be a mapping"),
    ] {
        let (got_line, message) = err(text);
        assert_eq!(got_line, line, "{text:?}: {message}");
        assert!(message.contains(needle), "{text:?}: {message}");
    }
}

#[test]
fn empty_config_is_the_default() {
    for text in ["", "# nothing\n", "---\n"] {
        let c = parse(text).unwrap();
        assert!(c.select.is_none() && c.exceptions.is_empty(), "{text:?}");
    }
}

#[test]
fn found_upward_from_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(dir.path().join("a/.palisade.yml"), "ignore: [hostPorts]\n").unwrap();
    assert_eq!(
        find_config(&deep).unwrap(),
        dir.path().join("a/.palisade.yml")
    );
    std::fs::write(dir.path().join("a/b/.palisade.yaml"), "").unwrap();
    assert_eq!(
        find_config(&deep).unwrap(),
        dir.path().join("a/b/.palisade.yaml")
    );
    assert!(find_config(Path::new("/")).is_none() || Path::new("/.palisade.yaml").is_file());

    let e = load_config(&dir.path().join("missing.yaml"), today(), &catalogue()).unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
}
