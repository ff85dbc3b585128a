//! JUnit XML: a test suite per object, a test case per check that ran on it; failures
//! carry the findings' messages. CI systems render it as a test report.

use std::collections::HashMap;
use std::io::{self, Write};

use palisade_model::{Category, CheckMeta, Finding, ScanResult};
use quick_xml::escape::escape;

use crate::ReportContext;

pub fn write(result: &ScanResult, ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    // Findings per object, in order.
    let mut by_object: HashMap<(&str, usize, *const palisade_model::ObjectRef), Vec<&Finding>> =
        HashMap::new();
    for f in &result.findings {
        by_object
            .entry((
                &*f.location.file,
                f.location.document,
                std::sync::Arc::as_ptr(&f.object),
            ))
            .or_default()
            .push(f);
    }
    let total_failures = by_object
        .values()
        .map(|fs| {
            let mut ids: Vec<&str> = fs.iter().map(|f| f.check.id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        })
        .sum::<usize>();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="palisade" failures="{total_failures}" errors="{}">"#,
        result.errors.len()
    )?;
    for object in &result.objects {
        let key = (
            &*object.file,
            object.document,
            std::sync::Arc::as_ptr(&object.identity),
        );
        let findings = by_object.get(&key).map(Vec::as_slice).unwrap_or_default();
        // Clean objects with no pod spec have nothing the checks look at: no suite.
        if !object.workload && findings.is_empty() {
            continue;
        }
        let name = object.identity.to_string();
        let mut cases: Vec<(&str, Vec<&Finding>)> = Vec::new();
        // An object answers the checks it names; one that names none, every check but
        // the node ones (a Deployment says nothing about a kubelet).
        let applies = |c: &CheckMeta| match &object.checks {
            Some(ids) => ids.contains(&c.id),
            None => c.category != Category::Node,
        };
        for check in ctx.checks.iter().filter(|c| applies(c)) {
            cases.push((
                check.id,
                findings
                    .iter()
                    .copied()
                    .filter(|f| f.check.id == check.id)
                    .collect(),
            ));
        }
        for f in findings {
            if !cases.iter().any(|(id, _)| *id == f.check.id) {
                cases.push((f.check.id, vec![f]));
            }
        }
        let failures = cases.iter().filter(|(_, fs)| !fs.is_empty()).count();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" file="{}">"#,
            escape(&name),
            cases.len(),
            escape(&*object.file)
        )?;
        for (id, fs) in cases {
            let classname = format!("{}.document{}", object.file, object.document);
            write!(
                out,
                r#"    <testcase name="{} {}" classname="{}""#,
                escape(id),
                escape(&name),
                escape(&classname)
            )?;
            if let Some(first) = fs.first() {
                writeln!(
                    out,
                    r#" file="{}" line="{}">"#,
                    escape(&*first.location.file),
                    first.location.line
                )?;
                let body: Vec<String> = fs
                    .iter()
                    .map(|f| {
                        format!(
                            "{}:{}:{}: {} [{}] {}\n  path: {}\n  fix: {}",
                            f.location.file,
                            f.location.line,
                            f.location.column,
                            f.severity,
                            f.check.id,
                            f.message,
                            f.path,
                            f.check.remediation
                        )
                    })
                    .collect();
                writeln!(
                    out,
                    r#"      <failure message="{}" type="{}">{}</failure>"#,
                    escape(fs[0].message.text()),
                    fs[0].severity,
                    escape(body.join("\n"))
                )?;
                writeln!(out, "    </testcase>")?;
            } else {
                writeln!(out, "/>")?;
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    if !result.not_applicable.is_empty() {
        writeln!(
            out,
            r#"  <testsuite name="not applicable" tests="{0}" failures="0" errors="0" skipped="{0}">"#,
            result.not_applicable.len()
        )?;
        for n in &result.not_applicable {
            writeln!(
                out,
                r#"    <testcase name="{} {}" classname="palisade.not-applicable"><skipped message="{}"/></testcase>"#,
                escape(n.check.id),
                escape(n.object.to_string()),
                escape(&n.reason)
            )?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    if !result.errors.is_empty() {
        writeln!(
            out,
            r#"  <testsuite name="input errors" tests="{0}" failures="0" errors="{0}">"#,
            result.errors.len()
        )?;
        for e in &result.errors {
            writeln!(
                out,
                r#"    <testcase name="load {}" classname="palisade.input"><error message="{}"/></testcase>"#,
                escape(&*e.file),
                escape(e.to_string())
            )?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}
