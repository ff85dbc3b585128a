//! The JSON report: a contract other tools read. Fields may be added, never renamed.

use std::collections::BTreeMap;
use std::io::{self, Write};

use palisade_model::{Finding, Fingerprint, ScanResult, Severity, SuppressedFinding};
use serde::Serialize;

use crate::ReportContext;

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Summary {
    objects: usize,
    findings: usize,
    suppressed: usize,
    errors: usize,
    /// Resources of a live cluster that were not read.
    not_evaluated: usize,
    by_severity: BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
struct JsonNotEvaluated<'a> {
    resource: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct Object<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
}

#[derive(Serialize)]
struct Location<'a> {
    file: &'a str,
    document: usize,
    line: u32,
    column: u32,
}

#[derive(Serialize)]
struct Pss<'a> {
    level: &'a str,
    version: &'a str,
    check: &'a str,
}

#[derive(Serialize)]
struct JsonMapping<'a> {
    framework: &'static str,
    id: &'a str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    check: &'a str,
    severity: Severity,
    category: &'a str,
    title: &'a str,
    message: &'a str,
    object: Object<'a>,
    location: Location<'a>,
    path: &'a str,
    remediation: &'a str,
    references: &'a [&'a str],
    mappings: Vec<JsonMapping<'a>>,
    fingerprint: &'a Fingerprint,
    #[serde(skip_serializing_if = "Option::is_none")]
    pss: Option<Pss<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression: Option<JsonSuppression<'a>>,
}

/// The exception that hid a suppressed finding.
#[derive(Serialize)]
struct JsonSuppression<'a> {
    kind: &'static str,
    reason: &'a str,
    file: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    line: u32,
    #[serde(skip_serializing_if = "is_zero")]
    column: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<&'a str>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct JsonNotice<'a> {
    kind: &'static str,
    file: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    line: u32,
    #[serde(skip_serializing_if = "is_zero")]
    column: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonError<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<usize>,
    line: u32,
    column: u32,
    message: &'a str,
}

fn finding(f: &Finding) -> JsonFinding<'_> {
    JsonFinding {
        check: f.check.id,
        severity: f.severity,
        category: f.check.category.as_str(),
        title: f.check.title,
        message: &f.message,
        object: Object {
            api_version: &f.object.api_version,
            kind: &f.object.kind,
            namespace: f.object.namespace.as_deref(),
            name: &f.object.name,
        },
        location: Location {
            file: &f.location.file,
            document: f.location.document,
            line: f.location.line,
            column: f.location.column,
        },
        path: &f.path,
        remediation: f.check.remediation,
        references: f.check.references,
        mappings: f
            .check
            .mappings
            .iter()
            .map(|m| JsonMapping {
                framework: m.framework.key(),
                id: m.id,
            })
            .collect(),
        fingerprint: &f.fingerprint,
        pss: f.pss.as_ref().map(|p| Pss {
            level: p.level,
            version: &p.version,
            check: p.check,
        }),
        container: f.container.as_deref(),
        suppression: None,
    }
}

fn suppressed(s: &SuppressedFinding) -> JsonFinding<'_> {
    let mut f = finding(&s.finding);
    f.suppression = Some(JsonSuppression {
        kind: s.by.kind.as_str(),
        reason: &s.by.reason,
        file: &s.by.file,
        line: s.by.line,
        column: s.by.column,
        expires: s.by.expires.as_deref(),
    });
    f
}

pub fn write(result: &ScanResult, ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let s = result.summary();
    let summary = Summary {
        objects: s.objects,
        findings: s.findings,
        suppressed: s.suppressed,
        errors: s.errors,
        not_evaluated: result.not_evaluated.len(),
        by_severity: Severity::ALL
            .iter()
            .zip(s.by_severity)
            .map(|(sev, n)| (sev.as_str(), n))
            .collect(),
    };
    // Streamed one finding at a time: a large scan never holds the document in memory.
    out.write_all(b"{\"tool\":")?;
    serde_json::to_writer(
        &mut *out,
        &Tool {
            name: "palisade",
            version: ctx.version,
        },
    )?;
    out.write_all(b",\"summary\":")?;
    serde_json::to_writer(&mut *out, &summary)?;
    out.write_all(b",\"findings\":[")?;
    for (i, f) in result.findings.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &finding(f))?;
    }
    out.write_all(b"],\"suppressed\":[")?;
    for (i, f) in result.suppressed.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &suppressed(f))?;
    }
    out.write_all(b"],\"errors\":")?;
    let errors: Vec<_> = result
        .errors
        .iter()
        .map(|e| JsonError {
            file: &e.file,
            document: e.document,
            line: e.line,
            column: e.column,
            message: &e.message,
        })
        .collect();
    serde_json::to_writer(&mut *out, &errors)?;
    out.write_all(b",\"notices\":")?;
    let notices: Vec<_> = result
        .notices
        .iter()
        .map(|n| JsonNotice {
            kind: n.kind.as_str(),
            file: &n.file,
            line: n.line,
            column: n.column,
            message: &n.message,
        })
        .collect();
    serde_json::to_writer(&mut *out, &notices)?;
    out.write_all(b",\"not_evaluated\":")?;
    let not_evaluated: Vec<_> = result
        .not_evaluated
        .iter()
        .map(|n| JsonNotEvaluated {
            resource: &n.resource,
            reason: &n.reason,
        })
        .collect();
    serde_json::to_writer(&mut *out, &not_evaluated)?;
    out.write_all(b"}\n")
}
