//! The words of an answer: the denial message, warnings and audit annotations, each
//! within the sizes clients and the API server handle.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use palisade_config::AdmissionMode;
use palisade_model::{Finding, Severity};

/// Longest warning, in characters: what the API server documents for admission
/// warnings (longer ones may be cut by clients).
pub const MAX_WARNING: usize = 256;
/// Most warnings in one answer; the last says how many more there were.
pub const MAX_WARNINGS: usize = 20;
/// Most bytes of warnings in one answer.
pub const MAX_WARNING_BYTES: usize = 4096;
/// Longest denial message, in characters.
pub const MAX_MESSAGE: usize = 4096;
/// Longest audit annotation value, in characters.
pub const MAX_ANNOTATION: usize = 1024;

/// `text` with control characters made spaces (object values reach messages: a
/// newline in a container name must not forge a log line or a header) and cut to
/// `max` characters, `…` marking the cut.
#[must_use]
pub fn clip(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    for (n, c) in text.chars().enumerate() {
        if n + 1 == max && text.chars().nth(max).is_some() {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// One finding in one line: `[high] privileged: ... (spec.containers[0]...)`.
fn line(f: &Finding) -> String {
    let mut s = format!("[{}] {}: {}", f.severity.as_str(), f.check.id, f.message);
    if !f.path.is_empty() {
        let _ = write!(s, " (at {})", f.path);
    }
    s
}

/// The warnings for `findings`: one each, de-duplicated, each within
/// [`MAX_WARNING`], at most [`MAX_WARNINGS`] and [`MAX_WARNING_BYTES`] in all, the
/// last saying how many were left out.
#[must_use]
pub fn warnings(findings: &[&Finding]) -> Vec<String> {
    let mut seen = HashSet::new();
    let lines: Vec<String> = findings
        .iter()
        .map(|f| clip(&line(f), MAX_WARNING))
        .filter(|l| seen.insert(l.clone()))
        .collect();
    let mut out = Vec::new();
    let mut bytes = 0;
    for (i, l) in lines.iter().enumerate() {
        let rest = lines.len() - i;
        let room_for_note = if rest > 1 { 64 } else { 0 };
        if out.len() + 1 == MAX_WARNINGS && rest > 1
            || bytes + l.len() + room_for_note > MAX_WARNING_BYTES
        {
            out.push(format!(
                "palisade: {rest} more finding{} not shown (run `palisade scan` on the object for all)",
                if rest == 1 { "" } else { "s" }
            ));
            return out;
        }
        bytes += l.len();
        out.push(l.clone());
    }
    out
}

/// The `status.message` of a denial: what was denied, why, and each denying finding.
#[must_use]
pub fn denial_message(
    object: &str,
    mode: AdmissionMode,
    deny_at: Severity,
    pss_enforced: bool,
    deny: &[&Finding],
) -> String {
    let mut s = format!(
        "palisade ({} mode) denied {object}: {} finding{} at or above {}{}: ",
        mode.as_str(),
        deny.len(),
        if deny.len() == 1 { "" } else { "s" },
        deny_at.as_str(),
        if pss_enforced {
            " or against the namespace's Pod Security level"
        } else {
            ""
        }
    );
    let mut seen = HashSet::new();
    let mut shown = 0;
    for f in deny {
        let l = line(f);
        if !seen.insert(l.clone()) {
            shown += 1;
            continue;
        }
        if s.chars().count() + l.chars().count() + 64 > MAX_MESSAGE {
            let _ = write!(s, "; and {} more", deny.len() - shown);
            return clip(&s, MAX_MESSAGE);
        }
        if shown > 0 {
            s.push_str("; ");
        }
        s.push_str(&l);
        shown += 1;
    }
    s.push_str(". `palisade checks explain ID` says why each matters and how to fix it.");
    clip(&s, MAX_MESSAGE)
}

/// Audit annotations (the API server prefixes each key with the webhook's name):
/// `mode`, and when there are findings `findings` (check ids with counts) and `denied`.
#[must_use]
pub fn audit_annotations(
    mode: AdmissionMode,
    findings: &[Finding],
    denied: usize,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("mode".to_owned(), mode.as_str().to_owned());
    if findings.is_empty() {
        return out;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        *counts.entry(f.check.id).or_default() += 1;
    }
    let list: Vec<String> = counts
        .into_iter()
        .map(|(id, n)| {
            if n == 1 {
                id.to_owned()
            } else {
                format!("{id}={n}")
            }
        })
        .collect();
    out.insert("findings".to_owned(), clip(&list.join(","), MAX_ANNOTATION));
    out.insert("denied".to_owned(), denied.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_on_characters_and_blanks_control_characters() {
        assert_eq!(clip("a\nb\tc", 10), "a b c");
        let long = "é".repeat(300);
        let c = clip(&long, MAX_WARNING);
        assert_eq!(c.chars().count(), MAX_WARNING);
        assert!(c.ends_with('…'));
        assert_eq!(clip(&"x".repeat(256), 256), "x".repeat(256));
    }
}
