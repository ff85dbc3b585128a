//! Every format over the same small result.

use std::path::Path;
use std::sync::Arc;

use palisade_model::{
    fingerprint, Category, CheckMeta, Finding, Framework, LoadError, Location, Mapping, Message,
    NotApplicable, Notice, NoticeKind, ObjectRef, PssInfo, ScanResult, ScannedObject, Severity,
    SuppressedFinding, Suppression, SuppressionKind,
};

use crate::{write_report, Format, ReportContext};

static PRIV: CheckMeta = CheckMeta {
    id: "privileged",
    title: "Privileged container",
    severity: Severity::Critical,
    category: Category::PodSecurity,
    description: "desc <with> & markup",
    rationale: "why",
    remediation: "Remove `privileged: true`.",
    references: &["https://kubernetes.io/docs/concepts/security/pod-security-standards/"],
    mappings: &[],
    peers: &[],
    peer_notes: "",
    source: file!(),
};

static MAPPED: CheckMeta = CheckMeta {
    id: "mapped\u{7f}",
    title: "Tab\there, quote \" and \\ backslash, \u{1}, caf\u{e9} \u{1f512}",
    severity: Severity::Low,
    category: Category::Network,
    description: "d",
    rationale: "r",
    remediation: "Line one\nline two </script>",
    references: &[
        "https://example.test/a?b=c&d",
        "https://example.test/\u{e9}",
    ],
    mappings: &[
        Mapping {
            framework: Framework::Cis,
            id: "5.3.2",
        },
        Mapping {
            framework: Framework::Mitre,
            id: "T1041",
        },
    ],
    peers: &[],
    peer_notes: "",
    source: file!(),
};

static HOSTNS: CheckMeta = CheckMeta {
    id: "hostNamespaces",
    title: "Host namespaces",
    severity: Severity::High,
    category: Category::PodSecurity,
    description: "d",
    rationale: "r",
    remediation: "x",
    references: &[],
    mappings: &[],
    peers: &[],
    peer_notes: "",
    source: file!(),
};

fn sample() -> ScanResult {
    let web = Arc::new(ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some("shop".into()),
        name: "web".into(),
    });
    let cm = Arc::new(ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: None,
        name: "cfg".into(),
    });
    let file: Arc<str> = Arc::from("deploy/web app.yaml");
    let path = "spec.template.spec.containers[0].securityContext.privileged";
    let finding = Finding {
        check: &PRIV,
        severity: Severity::Critical,
        message: "container \"web\" must not set securityContext.privileged=true <&>".into(),
        object: web.clone(),
        location: Location {
            file: file.clone(),
            document: 1,
            line: 21,
            column: 13,
        },
        path: path.into(),
        fingerprint: fingerprint("privileged", &file, &web, path),
        pss: Some(Box::new(PssInfo {
            level: "baseline",
            minor: 37,
            check: "privileged",
        })),
        container: Some("web".into()),
    };
    let mut hidden = finding.clone();
    hidden.path = "spec.template.spec.initContainers[0].securityContext.privileged".into();
    hidden.location.line = 30;
    hidden.container = Some("setup".into());
    hidden.fingerprint = fingerprint("privileged", &file, &web, &hidden.path);
    let config: Arc<str> = Arc::from(".palisade.yaml");
    let suppressed = SuppressedFinding {
        finding: hidden,
        by: Arc::new(Suppression {
            kind: SuppressionKind::Config,
            reason: "setup needs to load a kernel module".into(),
            file: config.clone(),
            line: 4,
            column: 5,
            expires: Some("2027-01-31".into()),
        }),
    };
    ScanResult {
        objects: vec![
            ScannedObject {
                identity: cm,
                file: file.clone(),
                document: 0,
                workload: false,
                checks: None,
            },
            ScannedObject {
                identity: web,
                file: file.clone(),
                document: 1,
                workload: true,
                checks: None,
            },
        ],
        findings: vec![finding],
        suppressed: vec![suppressed],
        errors: vec![LoadError {
            file: Arc::from("broken.yaml"),
            document: Some(2),
            line: 7,
            column: 3,
            message: "did not find expected key".into(),
            skipped: false,
        }],
        notices: vec![Notice {
            file: config,
            line: 9,
            column: 5,
            kind: NoticeKind::UnusedException,
            message: "exception for hostPorts matches no finding".into(),
        }],
        not_evaluated: Vec::new(),
        not_applicable: vec![NotApplicable {
            check: &HOSTNS,
            object: Arc::new(ObjectRef {
                api_version: "node.palisade.dev/v1".into(),
                kind: "Node".into(),
                namespace: None,
                name: "worker-1".into(),
            }),
            reason: "no <kube-apiserver> runs here".into(),
        }],
    }
}

fn render(format: Format, result: &ScanResult, color: bool) -> String {
    let ctx = ReportContext {
        version: "9.9.9",
        checks: vec![&HOSTNS, &PRIV],
        color,
        compliance: Vec::new(),
        extras: Default::default(),
    };
    let mut out = Vec::new();
    write_report(format, result, &ctx, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn json_follows_the_contract() {
    let v: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &sample(), false)).unwrap();
    assert_eq!(v["tool"]["name"], "palisade");
    assert_eq!(v["tool"]["version"], "9.9.9");
    assert_eq!(v["summary"]["objects"], 2);
    assert_eq!(v["summary"]["findings"], 1);
    assert_eq!(v["summary"]["errors"], 1);
    assert_eq!(v["summary"]["suppressed"], 1);
    assert_eq!(v["summary"]["by_severity"]["critical"], 1);
    assert_eq!(v["summary"]["by_severity"]["info"], 0);
    let f = &v["findings"][0];
    assert_eq!(f["check"], "privileged");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["title"], "Privileged container");
    assert_eq!(f["object"]["apiVersion"], "apps/v1");
    assert_eq!(f["object"]["namespace"], "shop");
    assert_eq!(f["location"]["file"], "deploy/web app.yaml");
    assert_eq!(f["location"]["document"], 1);
    assert_eq!(f["location"]["line"], 21);
    assert_eq!(f["location"]["column"], 13);
    assert_eq!(
        f["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert_eq!(f["remediation"], "Remove `privileged: true`.");
    assert_eq!(f["fingerprint"].as_str().unwrap().len(), 32);
    assert_eq!(f["pss"]["level"], "baseline");
    assert_eq!(f["pss"]["version"], "v1.37");
    assert_eq!(f["container"], "web");
    assert!(f.get("suppression").is_none());
    assert_eq!(v["errors"][0]["line"], 7);
    assert_eq!(v["errors"][0]["file"], "broken.yaml");
    let s = &v["suppressed"][0];
    assert_eq!(s["container"], "setup");
    assert_eq!(s["location"]["line"], 30);
    assert_eq!(s["suppression"]["kind"], "config");
    assert_eq!(s["suppression"]["file"], ".palisade.yaml");
    assert_eq!(s["suppression"]["line"], 4);
    assert_eq!(s["suppression"]["expires"], "2027-01-31");
    assert_eq!(
        s["suppression"]["reason"],
        "setup needs to load a kernel module"
    );
    assert_eq!(v["notices"][0]["kind"], "unused-exception");
    assert_eq!(v["notices"][0]["line"], 9);
}

#[test]
fn json_of_an_empty_scan_is_valid() {
    let v: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &ScanResult::default(), false)).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    assert_eq!(v["summary"]["objects"], 0);
}

#[test]
fn sarif_validates_against_the_schema() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/schemas/sarif-2.1.0.json");
    let Ok(schema) = std::fs::read_to_string(&schema_path) else {
        skipped_suite("the SARIF schema validation", &schema_path);
        return;
    };
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for result in [sample(), ScanResult::default()] {
        let sarif: serde_json::Value =
            serde_json::from_str(&render(Format::Sarif, &result, false)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // A deliberately broken document fails, so the validator is really checking.
    let mut bad: serde_json::Value =
        serde_json::from_str(&render(Format::Sarif, &sample(), false)).unwrap();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&bad));
}

#[test]
fn sarif_has_rules_locations_and_fingerprints() {
    let v: serde_json::Value =
        serde_json::from_str(&render(Format::Sarif, &sample(), false)).unwrap();
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    let r = &run["results"][0];
    assert_eq!(r["ruleId"], "privileged");
    assert_eq!(
        rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "privileged"
    );
    assert_eq!(r["level"], "error");
    let region = &r["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(21), Some(13))
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy/web%20app.yaml"
    );
    assert_eq!(
        r["partialFingerprints"]["palisade/v1"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    assert!(rules[1]["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("Remediation"));
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    // The suppressed finding is a result with a suppression naming its exception.
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0].get("suppressions").is_none());
    let sup = &results[1]["suppressions"][0];
    assert_eq!(sup["kind"], "external");
    assert_eq!(sup["justification"], "setup needs to load a kernel module");
    assert_eq!(
        sup["location"]["physicalLocation"]["region"]["startLine"],
        4
    );
    let note = &run["invocations"][0]["toolConfigurationNotifications"][0];
    assert_eq!(note["descriptor"]["id"], "unused-exception");
    assert_eq!(note["level"], "warning");
}

#[test]
fn junit_has_a_case_per_object_and_check() {
    let xml = render(Format::Junit, &sample(), false);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut suites, mut cases, mut failures, mut errors) = (0, 0, 0, 0);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testsuite" => suites += 1,
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    b"error" => errors += 1,
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    // The workload gets one case per check; the clean ConfigMap none; one error suite;
    // one suite of the checks that do not apply, skipped.
    assert_eq!((suites, cases, failures, errors), (3, 4, 1, 1), "{xml}");
    assert!(xml.contains("&lt;&amp;&gt;"));
}

#[test]
fn table_groups_by_object_and_fits_80_columns() {
    let text = render(Format::Table, &sample(), false);
    assert!(!text.contains('\x1b'));
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    assert!(text.contains("deploy/web app.yaml (document 1)"));
    assert!(text.contains("Deployment shop/web"));
    assert!(text.contains("21:13"));
    assert!(text.contains("error: broken.yaml:7:3: document 2: did not find expected key"));
    assert!(text.contains("warning: .palisade.yaml:9:5: unused-exception: exception for hostPorts"));
    assert!(text
        .contains("1 finding (1 critical) in 1 of 2 objects; 1 suppressed (1 by config); 1 error"));
    let colored = render(Format::Table, &sample(), true);
    assert!(colored.contains("\x1b[1;31m"));
}

#[test]
fn live_objects_and_resources_not_evaluated_are_shown() {
    let mut result = sample();
    result.findings[0].location = palisade_model::Location {
        file: Arc::from("cluster://prod/apps/v1/Deployment/shop/web"),
        document: 0,
        line: 0,
        column: 0,
    };
    result.not_evaluated.push(palisade_model::NotEvaluated {
        resource: "secrets".into(),
        reason: "forbidden".into(),
    });
    let table = render(Format::Table, &result, false);
    assert!(
        table.contains("cluster://prod/apps/v1/Deployment/shop/web"),
        "{table}"
    );
    assert!(
        !table.contains(" 0:0 "),
        "no line for a live object: {table}"
    );
    assert!(
        table.contains(&format!("at {}", result.findings[0].path)),
        "{table}"
    );
    assert!(
        table.contains("warning: not evaluated: secrets: forbidden"),
        "{table}"
    );
    let flat = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("1 resource not evaluated"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &result, false)).unwrap();
    assert_eq!(json["summary"]["not_evaluated"], 1);
    assert_eq!(json["not_evaluated"][0]["resource"], "secrets");
    assert_eq!(json["not_evaluated"][0]["reason"], "forbidden");
}

/// Says on the real stderr, which the test harness does not capture, that a suite
/// depending on `../shared` did not run, so a plain `cargo test` shows it.
fn skipped_suite(suite: &str, missing: &Path) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {suite} did not run: {} is absent (it lives in ../shared beside the project)",
        missing.display()
    );
}

/// Findings of every shape: checks with and without mappings, graded severities,
/// hostile strings, cluster-scoped objects, findings with and without Pod Security
/// context, container and suppression; consecutive findings sharing objects and files
/// and not.
fn varied_findings(n: usize) -> Vec<SuppressedFinding> {
    let base = sample();
    let files: [Arc<str>; 3] = [
        Arc::from("a.yaml"),
        Arc::from("dir/\"quoted\"\\b.yaml"),
        Arc::from("c\u{2028}.json"),
    ];
    let objects: Vec<Arc<ObjectRef>> = (0..7)
        .map(|i| {
            Arc::new(ObjectRef {
                api_version: if i % 2 == 0 { "v1" } else { "apps/v1" }.into(),
                kind: format!("Kind{i}"),
                namespace: (i % 3 != 0).then(|| format!("ns-\u{0}{i}")),
                name: format!("name \"{i}\"\u{1b}[31m"),
            })
        })
        .collect();
    let checks: [&'static CheckMeta; 3] = [&PRIV, &HOSTNS, &MAPPED];
    let by = base.suppressed[0].by.clone();
    (0..n)
        .map(|i| {
            let mut f = base.findings[0].clone();
            f.check = checks[i % 3];
            f.severity = Severity::ALL[i % Severity::ALL.len()];
            f.message = match i % 3 {
                0 => format!("message {i}: \u{8}\u{c}\r\t\\ \"x\" \u{10ffff}").into(),
                1 => Message::Fixed("a fixed \"sentence\" \\ \u{1}"),
                _ => Message::quoting("container ", &format!("c\"{i}\u{7}é\\"), " must: \t"),
            };
            f.object = objects[(i / 3) % objects.len()].clone();
            f.location.file = files[(i / 5) % files.len()].clone();
            f.location.document = i / 11;
            f.location.line = u32::try_from(i).unwrap();
            f.location.column = u32::MAX - u32::try_from(i).unwrap();
            f.path = format!("spec.containers[{i}].env[?]\u{7f}");
            f.fingerprint = fingerprint(f.check.id, &f.location.file, &f.object, &f.path);
            if i % 4 == 0 {
                f.pss = None;
            }
            if i % 5 == 0 {
                f.container = None;
            }
            SuppressedFinding {
                finding: f,
                by: by.clone(),
            }
        })
        .collect()
}

#[test]
fn json_findings_are_byte_for_byte_what_serde_writes() {
    // More findings than one batch, so chunk and batch boundaries are crossed.
    let varied = varied_findings(40_000);
    let result = ScanResult {
        findings: varied.iter().map(|s| s.finding.clone()).collect(),
        suppressed: varied[..3000].to_vec(),
        ..ScanResult::default()
    };
    let report = render(Format::Json, &result, false);
    let mut expected = b"[".to_vec();
    for (i, f) in result.findings.iter().enumerate() {
        if i > 0 {
            expected.push(b',');
        }
        expected.extend(crate::json::finding_by_serde(f, None));
    }
    expected.extend_from_slice(b"],\"suppressed\":[");
    for (i, s) in result.suppressed.iter().enumerate() {
        if i > 0 {
            expected.push(b',');
        }
        expected.extend(crate::json::finding_by_serde(&s.finding, Some(&s.by)));
    }
    expected.push(b']');
    let expected = String::from_utf8(expected).unwrap();
    let start = report.find("\"findings\":[").unwrap() + "\"findings\":".len();
    let got = &report[start..start + expected.len()];
    if let Some(at) = got.bytes().zip(expected.bytes()).position(|(a, b)| a != b) {
        let from = at.saturating_sub(80);
        panic!(
            "the JSON report's findings differ from serde's at byte {at}:\n got {:?}\nwant {:?}",
            &got[from..(at + 80).min(got.len())],
            &expected[from..(at + 80).min(expected.len())]
        );
    }
    assert!(report[start + expected.len()..].starts_with(",\"errors\":"));
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 40_000);
    assert_eq!(v["findings"][39_999]["location"]["line"], 39_999);
    assert_eq!(v["suppressed"][2_999]["suppression"]["kind"], "config");
}

#[test]
fn not_applicable_checks_are_said_in_every_format() {
    let result = sample();
    let json: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &result, false)).unwrap();
    assert_eq!(json["summary"]["not_applicable"], 1);
    assert_eq!(json["not_applicable"][0]["check"], HOSTNS.id);
    assert_eq!(json["not_applicable"][0]["object"], "Node worker-1");
    let table = render(Format::Table, &result, false);
    assert!(
        table.contains(&format!(
            "not applicable: {}: no <kube-apiserver> runs here",
            HOSTNS.id
        )),
        "{table}"
    );
    let words = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("1 check not applicable"), "{table}");
    let junit = render(Format::Junit, &result, false);
    assert!(
        junit.contains(r#"<skipped message="no &lt;kube-apiserver&gt; runs here"/>"#),
        "{junit}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&render(Format::Sarif, &result, false)).unwrap();
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    let note = notes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["level"] == "note")
        .unwrap();
    assert_eq!(note["associatedRule"]["id"], HOSTNS.id);
}

#[test]
fn junit_lists_only_the_checks_an_object_answers() {
    let mut result = sample();
    for o in &mut result.objects {
        o.checks = Some(Arc::from([PRIV.id].as_slice()));
    }
    let junit = render(Format::Junit, &result, false);
    assert!(
        !junit.contains(&format!(r#"testcase name="{} "#, MAPPED.id)),
        "{junit}"
    );
    assert!(
        junit.contains(&format!(r#"testcase name="{} "#, PRIV.id)),
        "{junit}"
    );
}
