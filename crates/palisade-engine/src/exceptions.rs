//! Exceptions: findings a team has decided to accept, scoped by check and object, with
//! a reason. They come from the config file or from `palisade.dev/ignore` annotations;
//! the baseline (accepted findings by fingerprint) is applied after the scan.

use std::collections::HashMap;
use std::sync::Arc;

use glob::{MatchOptions, Pattern};
use palisade_model::{
    CheckMeta, Finding, Fingerprint, Notice, NoticeKind, ScanResult, SuppressedFinding,
    Suppression, SuppressionKind,
};

/// The annotation that carries an inline exception: `"<id>[,<id>]: reason"`.
pub const IGNORE_ANNOTATION: &str = "palisade.dev/ignore";

/// A config-file exception. Every selector given must match; a list matches when any
/// of its entries does. Names, namespaces and containers are globs (`*`, `?`, `[a-z]`).
#[derive(Debug, Clone)]
pub struct Exception {
    /// Check ids or category names; `*` is every check.
    pub checks: Vec<String>,
    /// Kinds, matched without regard to case.
    pub kinds: Vec<Pattern>,
    pub namespaces: Vec<Pattern>,
    pub names: Vec<Pattern>,
    /// Labels the object (or its pod template) must carry, exactly.
    pub labels: Vec<(String, String)>,
    pub containers: Vec<Pattern>,
    /// Reason, expiry and where the exception is written.
    pub suppression: Arc<Suppression>,
    /// Past its `expires` date: still matched (to say what it would hide), never suppressing.
    pub expired: bool,
}

/// What an exception is matched against.
pub struct Subject<'a> {
    pub check: &'static CheckMeta,
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    /// The object's labels, then its pod templates' labels.
    pub labels: &'a [(&'a str, &'a str)],
    pub container: Option<&'a str>,
}

/// Whether `selector` (a check id, a category name, or `*`) covers `check`.
#[must_use]
pub fn names_check(selector: &str, check: &CheckMeta) -> bool {
    selector == "*" || selector == check.id || selector == check.category.as_str()
}

fn any_glob(patterns: &[Pattern], value: Option<&str>, case_sensitive: bool) -> bool {
    let opts = MatchOptions {
        case_sensitive,
        require_literal_separator: false,
        require_literal_leading_dot: false,
    };
    patterns.is_empty() || value.is_some_and(|v| patterns.iter().any(|p| p.matches_with(v, opts)))
}

impl Exception {
    /// Whether this exception covers the finding described by `subject`.
    #[must_use]
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        self.checks.iter().any(|c| names_check(c, subject.check))
            && any_glob(&self.kinds, Some(subject.kind), false)
            && any_glob(&self.namespaces, subject.namespace, true)
            && any_glob(&self.names, Some(subject.name), true)
            && any_glob(&self.containers, subject.container, true)
            && self
                .labels
                .iter()
                .all(|(k, v)| subject.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }

    /// Whether any of `checks` is one this exception could ever match.
    #[must_use]
    pub fn concerns_any(&self, checks: &[&'static CheckMeta]) -> bool {
        checks
            .iter()
            .any(|m| self.checks.iter().any(|c| names_check(c, m)))
    }
}

/// Parses an inline exception's value: `"<id>[,<id>]: reason"`. `known` says whether a
/// selector names a check or category.
///
/// # Errors
/// A message saying what is wrong with the value.
pub fn parse_inline(
    value: &str,
    known: impl Fn(&str) -> bool,
) -> Result<(Vec<String>, String), String> {
    let Some((ids, reason)) = value.split_once(':') else {
        return Err(format!(
            "{IGNORE_ANNOTATION} must read \"<check-id>[,<check-id>]: reason\" (no `:` found)"
        ));
    };
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(format!(
            "{IGNORE_ANNOTATION} needs a reason after the `:` (\"<check-id>: reason\")"
        ));
    }
    let ids: Vec<String> = ids
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(format!("{IGNORE_ANNOTATION} names no check before the `:`"));
    }
    if let Some(bad) = ids.iter().find(|id| *id == "*") {
        return Err(format!(
            "{IGNORE_ANNOTATION} cannot ignore every check ({bad:?}); name the checks, or use a config exception"
        ));
    }
    if let Some(bad) = ids.iter().find(|id| !known(id)) {
        return Err(format!(
            "{IGNORE_ANNOTATION} names {bad:?}, which is no check or category (see `palisade checks list`)"
        ));
    }
    Ok((ids, reason.to_owned()))
}

/// Accepted findings, by fingerprint, read from a `--baseline` file.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub file: Arc<str>,
    /// How many findings with each fingerprint are accepted.
    pub counts: HashMap<Fingerprint, usize>,
}

/// Moves the findings the baseline accepts from `findings` to `suppressed` (each entry
/// accepts as many findings as it was recorded with), and notes entries nothing matched.
pub fn apply_baseline(result: &mut ScanResult, baseline: &Baseline) {
    let mut left = baseline.counts.clone();
    let by = Arc::new(Suppression {
        kind: SuppressionKind::Baseline,
        reason: "in the baseline".to_owned(),
        file: baseline.file.clone(),
        line: 0,
        column: 0,
        expires: None,
    });
    let mut kept: Vec<Finding> = Vec::with_capacity(result.findings.len());
    for f in result.findings.drain(..) {
        match left.get_mut(&f.fingerprint) {
            Some(n) if *n > 0 => {
                *n -= 1;
                result.suppressed.push(SuppressedFinding {
                    finding: f,
                    by: by.clone(),
                });
            }
            _ => kept.push(f),
        }
    }
    result.findings = kept;
    let stale: usize = left.values().sum();
    if stale > 0 {
        result.notices.push(Notice {
            file: baseline.file.clone(),
            line: 0,
            column: 0,
            kind: NoticeKind::StaleBaseline,
            message: format!(
                "{stale} baseline finding{} no longer occur{} (fixed or moved); refresh the baseline with --write-baseline",
                if stale == 1 { "" } else { "s" },
                if stale == 1 { "s" } else { "" }
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::{Category, Severity};

    static META: CheckMeta = CheckMeta {
        id: "privileged",
        title: "t",
        severity: Severity::High,
        category: Category::PodSecurity,
        description: "",
        rationale: "",
        remediation: "",
        references: &[],
        mappings: &[],
        peers: &[],
        peer_notes: "",
        source: "",
    };

    fn exception() -> Exception {
        Exception {
            checks: vec!["privileged".into()],
            kinds: vec![],
            namespaces: vec![],
            names: vec![],
            labels: vec![],
            containers: vec![],
            suppression: Arc::new(Suppression {
                kind: SuppressionKind::Config,
                reason: "r".into(),
                file: ".palisade.yaml".into(),
                line: 1,
                column: 1,
                expires: None,
            }),
            expired: false,
        }
    }

    fn subject<'a>(labels: &'a [(&'a str, &'a str)], container: Option<&'a str>) -> Subject<'a> {
        Subject {
            check: &META,
            kind: "DaemonSet",
            namespace: Some("monitoring"),
            name: "node-exporter",
            labels,
            container,
        }
    }

    fn globs(p: &[&str]) -> Vec<Pattern> {
        p.iter().map(|s| Pattern::new(s).unwrap()).collect()
    }

    #[test]
    fn selectors_must_all_match() {
        let labels = [("app", "exporter")];
        let s = subject(&labels, Some("exporter"));
        let mut e = exception();
        assert!(e.matches(&s));
        e.kinds = globs(&["daemonset"]);
        e.namespaces = globs(&["mon*"]);
        e.names = globs(&["node-?xporter"]);
        e.containers = globs(&["exp*"]);
        e.labels = vec![("app".into(), "exporter".into())];
        assert!(e.matches(&s));
        // A pod-level finding has no container: a container selector does not match it.
        assert!(!e.matches(&subject(&labels, None)));
        e.labels = vec![("app".into(), "other".into())];
        assert!(!e.matches(&s));
        e.labels.clear();
        e.namespaces = globs(&["kube-*"]);
        assert!(!e.matches(&s));
        e.namespaces.clear();
        e.checks = vec!["hostPorts".into()];
        assert!(!e.matches(&s));
        e.checks = vec!["pod-security".into()];
        assert!(e.matches(&s), "category names select their checks");
        e.checks = vec!["*".into()];
        assert!(e.matches(&s));
    }

    #[test]
    fn namespace_selector_never_matches_cluster_scoped_objects() {
        let mut e = exception();
        e.namespaces = globs(&["*"]);
        let mut s = subject(&[], None);
        s.namespace = None;
        assert!(!e.matches(&s));
    }

    #[test]
    fn inline_values_parse_strictly() {
        let known = |s: &str| ["privileged", "hostPorts", "workload"].contains(&s);
        assert_eq!(
            parse_inline("privileged, hostPorts: needs the host network", known).unwrap(),
            (
                vec!["privileged".to_owned(), "hostPorts".to_owned()],
                "needs the host network".to_owned()
            )
        );
        assert!(parse_inline("privileged", known)
            .unwrap_err()
            .contains("no `:`"));
        assert!(parse_inline("privileged:  ", known)
            .unwrap_err()
            .contains("needs a reason"));
        assert!(parse_inline(": why", known)
            .unwrap_err()
            .contains("names no check"));
        assert!(parse_inline("*: everything", known)
            .unwrap_err()
            .contains("every check"));
        assert!(parse_inline("privilegd: typo", known)
            .unwrap_err()
            .contains("\"privilegd\""));
    }
}
