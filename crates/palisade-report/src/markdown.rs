//! Markdown for pull-request comments: the counts, framework scores, then each check's
//! findings folded under its title with the fix. Kept under the 65,536 characters a
//! GitHub comment holds; what does not fit is counted, not cut mid-line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use palisade_model::{CheckMeta, Finding, ScanResult, Severity};

use crate::ReportContext;

/// Room left for the closing lines under GitHub's limit.
const BUDGET: usize = 60_000;

/// `text` safe inside Markdown prose and inline HTML: no tags, no table breaks, no
/// code-span ends.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '`' => out.push('\''),
            '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

pub fn write(result: &ScanResult, ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let s = result.summary();
    let mut m = String::new();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .zip(s.by_severity)
        .filter(|(_, n)| *n > 0)
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    let _ = writeln!(
        m,
        "## Palisade: {} finding{}{}\n",
        s.findings,
        if s.findings == 1 { "" } else { "s" },
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        }
    );
    let _ = writeln!(
        m,
        "{} objects scanned, {} suppressed, {} errors.\n",
        s.objects, s.suppressed, s.errors
    );
    if !ctx.compliance.is_empty() {
        m.push_str("| Framework | Score | Passed | Failed | Not applicable | Not evaluated |\n");
        m.push_str("|---|---:|---:|---:|---:|---:|\n");
        for r in &ctx.compliance {
            let n = r.counts;
            let _ = writeln!(
                m,
                "| {} {} | {} | {} | {} | {} | {} |",
                md(r.name),
                md(r.version),
                r.score
                    .map_or_else(|| "–".to_owned(), |v| format!("{v:.0}%")),
                n.passed,
                n.failed,
                n.not_applicable,
                n.not_evaluated
            );
        }
        m.push('\n');
    }
    // Each check once, most severe first, its findings in report order.
    let mut by_check: BTreeMap<(std::cmp::Reverse<Severity>, &str), Vec<&Finding>> =
        BTreeMap::new();
    for f in &result.findings {
        by_check
            .entry((std::cmp::Reverse(f.check.severity), f.check.id))
            .or_default()
            .push(f);
    }
    let mut left_out = 0usize;
    for list in by_check.values() {
        let meta: &CheckMeta = list[0].check;
        let mut block = format!(
            "<details><summary><b>{}</b> <code>{}</code> {} ({})</summary>\n\n",
            meta.severity,
            meta.id,
            md(meta.title),
            list.len()
        );
        for f in list {
            let place = if f.location.line == 0 {
                format!("{} {}", f.location.file, f.path)
            } else {
                format!("{}:{}", f.location.file, f.location.line)
            };
            let line = format!(
                "- `{}` {}: {}\n",
                place.replace('`', "'"),
                md(&f.object.to_string()),
                md(&f.message.text())
            );
            if m.len() + block.len() + line.len() > BUDGET {
                left_out += 1;
                continue;
            }
            block.push_str(&line);
        }
        let _ = write!(block, "\n**Fix:** {}\n\n</details>\n", md(meta.remediation));
        if m.len() + block.len() > BUDGET {
            // Not even the heading fits: count the check's findings as left out.
            left_out += block.matches("\n- `").count();
            continue;
        }
        m.push_str(&block);
    }
    if left_out > 0 {
        let _ = writeln!(
            m,
            "\n{left_out} more finding{} did not fit in a comment: see the full report \
             (`--format html` or `json`).",
            if left_out == 1 { "" } else { "s" }
        );
    }
    if !result.errors.is_empty() {
        m.push_str("\n**Errors**\n\n");
        for e in result.errors.iter().take(20) {
            let _ = writeln!(m, "- {}", md(&e.to_string()));
        }
        if result.errors.len() > 20 {
            let _ = writeln!(m, "- and {} more", result.errors.len() - 20);
        }
    }
    out.write_all(m.as_bytes())
}
