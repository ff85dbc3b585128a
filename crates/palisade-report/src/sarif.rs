//! SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it.

use std::collections::HashMap;
use std::io::{self, Write};

use palisade_model::{
    CheckMeta, Finding, ScanResult, Severity, SuppressedFinding, SuppressionKind,
};
use serde_json::{json, Value};

use crate::ReportContext;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` scale (0-10), which it buckets back into our severities.
fn security_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn help_markdown(m: &CheckMeta) -> String {
    let mut s = format!(
        "**{}** (`{}`, {})\n\n{}\n\n**Why it matters.** {}\n\n**Remediation.** {}\n",
        m.title, m.id, m.severity, m.description, m.rationale, m.remediation
    );
    if !m.references.is_empty() {
        s.push_str("\n**References.**\n");
        for r in m.references {
            s.push_str(&format!("- {r}\n"));
        }
    }
    s
}

fn rule(m: &CheckMeta) -> Value {
    let mut tags: Vec<String> = vec![
        "security".into(),
        "kubernetes".into(),
        m.category.as_str().into(),
    ];
    tags.extend(
        m.mappings
            .iter()
            .map(|x| format!("{}:{}", x.framework.key(), x.id)),
    );
    json!({
        "id": m.id,
        "name": m.title,
        "shortDescription": {"text": m.title},
        "fullDescription": {"text": m.description},
        "help": {
            "text": format!("{}\n\nWhy it matters: {}\n\nRemediation: {}", m.description, m.rationale, m.remediation),
            "markdown": help_markdown(m),
        },
        "helpUri": m.references.first().copied().unwrap_or("https://kubernetes.io/docs/concepts/security/"),
        "defaultConfiguration": {"level": level(m.severity)},
        "properties": {
            "tags": tags,
            "precision": "very-high",
            "problem.severity": level(m.severity),
            "security-severity": security_severity(m.severity),
        },
    })
}

/// A suppressed finding: the result plus a SARIF suppression saying which exception
/// hid it (`inSource` for annotations, `external` for the config file and baseline).
fn suppressed_result(s: &SuppressedFinding, rule_index: usize) -> Value {
    let mut r = result(&s.finding, rule_index);
    let by = &s.by;
    let kind = match by.kind {
        SuppressionKind::Inline => "inSource",
        SuppressionKind::Config | SuppressionKind::Baseline => "external",
    };
    let mut suppression = json!({
        "kind": kind,
        "status": "accepted",
        "justification": by.reason,
        "properties": {"palisade.kind": by.kind.as_str()},
    });
    let mut loc = json!({"physicalLocation": {"artifactLocation": {"uri": uri(&by.file)}}});
    if by.line > 0 {
        loc["physicalLocation"]["region"] =
            json!({"startLine": by.line, "startColumn": by.column.max(1)});
    }
    suppression["location"] = loc;
    if let Some(e) = &by.expires {
        suppression["properties"]["expires"] = json!(e);
    }
    r["suppressions"] = json!([suppression]);
    r
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let object = &f.object;
    let qualified = match &object.namespace {
        Some(ns) => format!("{ns}/{}/{}", object.kind, object.name),
        None => format!("{}/{}", object.kind, object.name),
    };
    let mut props = json!({
        "severity": f.severity.as_str(),
        "path": f.path,
        "document": f.location.document,
        "object": {
            "apiVersion": object.api_version,
            "kind": object.kind,
            "namespace": object.namespace,
            "name": object.name,
        },
    });
    if let Some(p) = &f.pss {
        props["pss"] = json!({"level": p.level, "version": p.version(), "check": p.check});
    }
    if let Some(c) = &f.container {
        props["container"] = json!(&**c);
    }
    json!({
        "ruleId": f.check.id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": format!("{} ({qualified}): {}", f.check.title, f.message)},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri(&f.location.file)},
                "region": {"startLine": f.location.line.max(1), "startColumn": f.location.column.max(1)},
            },
            "logicalLocations": [{"fullyQualifiedName": qualified, "kind": "object"}],
        }],
        "partialFingerprints": {"palisade/v1": f.fingerprint},
        "properties": props,
    })
}

/// A relative URI reference for a file name (SARIF wants `/` separators and escaping).
fn uri(file: &str) -> String {
    let mut out = String::with_capacity(file.len());
    for c in file.replace('\\', "/").chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' | '~' | '/' | ':' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

pub fn write(
    result_set: &ScanResult,
    ctx: &ReportContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut rules: Vec<&CheckMeta> = ctx.checks.clone();
    let all = result_set
        .findings
        .iter()
        .chain(result_set.suppressed.iter().map(|s| &s.finding));
    for f in all {
        if !rules.iter().any(|r| std::ptr::eq(*r, f.check)) {
            rules.push(f.check);
        }
    }
    let index: HashMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let notifications: Vec<Value> = result_set
        .errors
        .iter()
        .map(|e| {
            let mut loc = json!({"physicalLocation": {"artifactLocation": {"uri": uri(&e.file)}}});
            if e.line > 0 {
                loc["physicalLocation"]["region"] =
                    json!({"startLine": e.line, "startColumn": e.column.max(1)});
            }
            json!({"level": "error", "message": {"text": e.message}, "locations": [loc]})
        })
        .chain(result_set.not_applicable.iter().map(|n| {
            json!({
                "level": "note",
                "message": {"text": format!("not applicable: {}: {}", n.object, n.reason)},
                "associatedRule": {"id": n.check.id},
            })
        }))
        .collect();
    let driver = json!({
        "name": "palisade",
        "version": ctx.version,
        "semanticVersion": ctx.version,
        "informationUri": "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        "rules": rules.iter().map(|r| rule(r)).collect::<Vec<_>>(),
    });
    // Header and footer around streamed results.
    let head = json!({"$schema": SCHEMA, "version": "2.1.0"});
    let head = serde_json::to_string(&head)?;
    out.write_all(head.trim_end_matches('}').as_bytes())?;
    out.write_all(b",\"runs\":[{\"tool\":{\"driver\":")?;
    serde_json::to_writer(&mut *out, &driver)?;
    out.write_all(b"},\"columnKind\":\"unicodeCodePoints\",\"results\":[")?;
    for (i, f) in result_set.findings.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        let idx = index.get(f.check.id).copied().unwrap_or(0);
        serde_json::to_writer(&mut *out, &result(f, idx))?;
    }
    for (i, s) in result_set.suppressed.iter().enumerate() {
        if i > 0 || !result_set.findings.is_empty() {
            out.write_all(b",")?;
        }
        let idx = index.get(s.finding.check.id).copied().unwrap_or(0);
        serde_json::to_writer(&mut *out, &suppressed_result(s, idx))?;
    }
    out.write_all(b"],\"invocations\":")?;
    let config_notifications: Vec<Value> = result_set
        .notices
        .iter()
        .map(|n| {
            let mut loc = json!({"physicalLocation": {"artifactLocation": {"uri": uri(&n.file)}}});
            if n.line > 0 {
                loc["physicalLocation"]["region"] =
                    json!({"startLine": n.line, "startColumn": n.column.max(1)});
            }
            json!({
                "level": "warning",
                "message": {"text": n.message},
                "locations": [loc],
                "descriptor": {"id": n.kind.as_str()},
            })
        })
        .collect();
    let invocations = json!([{
        "executionSuccessful": result_set.errors.is_empty(),
        "toolExecutionNotifications": notifications,
        "toolConfigurationNotifications": config_notifications,
    }]);
    serde_json::to_writer(&mut *out, &invocations)?;
    out.write_all(b"}]}\n")
}
