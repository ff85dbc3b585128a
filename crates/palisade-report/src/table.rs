//! The human report: findings grouped by object, readable on an 80-column terminal,
//! coloured only when asked (the CLI asks on a TTY).

use std::io::{self, Write};
use std::sync::Arc;

use palisade_model::{CheckMeta, Finding, ScanResult, Severity, SuppressionKind};

use crate::ReportContext;

const WIDTH: usize = 80;

struct Painter(bool);

impl Painter {
    fn paint(&self, text: &str, code: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn severity(&self, sev: Severity) -> String {
        let code = match sev {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(&format!("{:<8}", sev.as_str()), code)
    }
}

/// Word-wraps `text` to the terminal width after `indent` spaces.
fn wrap(text: &str, indent: usize) -> Vec<String> {
    let room = WIDTH.saturating_sub(indent).max(20);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn same_object(a: &Finding, b: &Finding) -> bool {
    a.location.file == b.location.file
        && a.location.document == b.location.document
        && Arc::ptr_eq(&a.object, &b.object)
}

pub fn write(result: &ScanResult, ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let p = Painter(ctx.color);
    let mut prev: Option<&Finding> = None;
    let mut fired: Vec<&'static CheckMeta> = Vec::new();
    let mut objects_with_findings = 0usize;
    for f in &result.findings {
        if !prev.is_some_and(|q| same_object(q, f)) {
            objects_with_findings += 1;
            if prev.is_some() {
                writeln!(out)?;
            }
            let doc = if f.location.document > 0 {
                format!(" (document {})", f.location.document)
            } else {
                String::new()
            };
            writeln!(
                out,
                "{}{doc}",
                p.paint(&format!("{}", f.location.file), "1")
            )?;
            writeln!(out, "  {}", p.paint(&f.object.to_string(), "1"))?;
        }
        prev = Some(f);
        if !fired.iter().any(|m| std::ptr::eq(*m, f.check)) {
            fired.push(f.check);
        }
        if f.location.line == 0 {
            // A live object has no line; its field path says where.
            writeln!(
                out,
                "    {} {} at {}",
                p.severity(f.severity),
                p.paint(f.check.id, "1"),
                if f.path.is_empty() {
                    "the object"
                } else {
                    &f.path
                }
            )?;
        } else {
            let pos = format!("{}:{}", f.location.line, f.location.column);
            writeln!(
                out,
                "    {pos:<8} {} {}",
                p.severity(f.severity),
                p.paint(f.check.id, "1")
            )?;
        }
        for line in wrap(&f.message.text(), 6) {
            writeln!(out, "      {line}")?;
        }
    }
    if !fired.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", p.paint("How to fix", "1"))?;
        for m in &fired {
            let text = format!("{}: {}", m.id, m.remediation);
            for (i, line) in wrap(&text, 4).into_iter().enumerate() {
                let indent = if i == 0 { "  " } else { "    " };
                writeln!(out, "{indent}{line}")?;
            }
        }
        writeln!(out, "  Details: palisade checks explain <ID>")?;
    }
    if !result.errors.is_empty() {
        writeln!(out)?;
        for e in &result.errors {
            let text = e.to_string();
            for (i, line) in wrap(&text, 7).into_iter().enumerate() {
                if i == 0 {
                    writeln!(out, "{} {line}", p.paint("error:", "1;31"))?;
                } else {
                    writeln!(out, "       {line}")?;
                }
            }
        }
    }
    if !result.notices.is_empty() {
        writeln!(out)?;
        for n in &result.notices {
            let text = n.to_string();
            for (i, line) in wrap(&text, 9).into_iter().enumerate() {
                if i == 0 {
                    writeln!(out, "{} {line}", p.paint("warning:", "1;33"))?;
                } else {
                    writeln!(out, "         {line}")?;
                }
            }
        }
    }
    if !result.not_evaluated.is_empty() {
        writeln!(out)?;
        for n in &result.not_evaluated {
            let text = format!("not evaluated: {}: {}", n.resource, n.reason);
            for (i, line) in wrap(&text, 9).into_iter().enumerate() {
                if i == 0 {
                    writeln!(out, "{} {line}", p.paint("warning:", "1;33"))?;
                } else {
                    writeln!(out, "         {line}")?;
                }
            }
        }
    }
    if !result.not_applicable.is_empty() {
        writeln!(out)?;
        for n in &result.not_applicable {
            let text = format!("{}: {}", n.check.id, n.reason);
            for (i, line) in wrap(&text, 16).into_iter().enumerate() {
                if i == 0 {
                    writeln!(out, "{} {line}", p.paint("not applicable:", "2"))?;
                } else {
                    writeln!(out, "                {line}")?;
                }
            }
        }
    }
    for report in &ctx.compliance {
        compliance(report, &p, out)?;
    }
    let s = result.summary();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .zip(s.by_severity)
        .filter(|(_, n)| *n > 0)
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    let breakdown = if counts.is_empty() {
        String::new()
    } else {
        format!(" ({})", counts.join(", "))
    };
    writeln!(out)?;
    let summary = format!(
        "{} finding{}{breakdown} in {objects_with_findings} of {} object{}; {} suppressed{}; {} error{}",
        s.findings,
        if s.findings == 1 { "" } else { "s" },
        s.objects,
        if s.objects == 1 { "" } else { "s" },
        s.suppressed,
        suppressed_breakdown(result),
        s.errors,
        if s.errors == 1 { "" } else { "s" },
    ) + &if result.not_evaluated.is_empty() {
        String::new()
    } else {
        format!("; {} resource{} not evaluated", result.not_evaluated.len(), if result.not_evaluated.len() == 1 { "" } else { "s" })
    } + &if result.not_applicable.is_empty() {
        String::new()
    } else {
        format!("; {} check{} not applicable", result.not_applicable.len(), if result.not_applicable.len() == 1 { "" } else { "s" })
    };
    for line in wrap(&summary, 0) {
        writeln!(out, "{}", p.paint(&line, "1"))?;
    }
    Ok(())
}

/// A framework's score, its sections' counts, and the controls that failed.
fn compliance(
    report: &palisade_compliance::FrameworkReport,
    p: &Painter,
    out: &mut dyn Write,
) -> io::Result<()> {
    let n = report.counts;
    let score = report.score.map_or_else(
        || "no control decided".to_owned(),
        |s| format!("{s:.0}% of {} decided controls", n.passed + n.failed),
    );
    writeln!(out)?;
    let head = format!(
        "{} {}: {score} ({} passed, {} failed); {} not applicable, {} not evaluated",
        report.name, report.version, n.passed, n.failed, n.not_applicable, n.not_evaluated
    );
    for (i, line) in wrap(&head, 2).into_iter().enumerate() {
        let indent = if i == 0 { "" } else { "  " };
        writeln!(out, "{indent}{}", p.paint(&line, "1"))?;
    }
    writeln!(
        out,
        "  {:<44} {:>5} {:>6} {:>6} {:>4} {:>8}",
        "SECTION", "SCORE", "PASSED", "FAILED", "N/A", "NOT EVAL"
    )?;
    for s in &report.sections {
        let mut name = crate::html::section_name(s.id, s.title);
        if name.chars().count() > 44 {
            name = name.chars().take(43).collect::<String>() + "…";
        }
        let score = s
            .score
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.0}%"));
        let c = s.counts;
        writeln!(
            out,
            "  {name:<44} {score:>5} {:>6} {:>6} {:>4} {:>8}",
            c.passed, c.failed, c.not_applicable, c.not_evaluated
        )?;
    }
    let failed: Vec<_> = report
        .controls
        .iter()
        .filter(|c| c.status == palisade_compliance::Status::Failed)
        .collect();
    if !failed.is_empty() {
        writeln!(out, "  {}", p.paint("Failed controls", "1"))?;
        for c in failed {
            let text = format!(
                "{} {}: {} finding{} on {} object{} ({})",
                c.id,
                c.title,
                c.findings,
                if c.findings == 1 { "" } else { "s" },
                c.failing_objects,
                if c.failing_objects == 1 { "" } else { "s" },
                c.failing_checks.join(", ")
            );
            for (i, line) in wrap(&text, 6).into_iter().enumerate() {
                let indent = if i == 0 { "    " } else { "      " };
                writeln!(out, "{indent}{line}")?;
            }
        }
    }
    if report.counts.not_evaluated > 0 {
        writeln!(
            out,
            "  {} controls not evaluated, each with why: --format json or html",
            report.counts.not_evaluated
        )?;
    }
    Ok(())
}

/// ` (2 by config, 1 inline)`, or nothing when nothing was suppressed.
fn suppressed_breakdown(result: &ScanResult) -> String {
    let mut parts = Vec::new();
    for kind in [
        SuppressionKind::Config,
        SuppressionKind::Inline,
        SuppressionKind::Baseline,
    ] {
        let n = result
            .suppressed
            .iter()
            .filter(|s| s.by.kind == kind)
            .count();
        if n > 0 {
            let how = match kind {
                SuppressionKind::Config => "by config",
                SuppressionKind::Inline => "inline",
                SuppressionKind::Baseline => "in baseline",
            };
            parts.push(format!("{n} {how}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_to_80_columns() {
        let text = "word ".repeat(40);
        for line in wrap(&text, 6) {
            assert!(line.len() + 6 <= 80, "{line}");
        }
        assert_eq!(wrap("a b", 0), ["a b"]);
    }
}
