//! Findings, where they point, and what a scan returns.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::meta::{CheckMeta, Severity};

/// The Kubernetes object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Where in the input a finding or error is: file, document, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub file: Arc<str>,
    /// 0-based index of the YAML document in the file.
    pub document: usize,
    pub line: u32,
    pub column: u32,
}

/// The Pod Security Standards context of a Pod Security finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PssInfo {
    /// The level the check belongs to (`baseline` or `restricted`).
    pub level: &'static str,
    /// The version of the standard that was evaluated: Kubernetes `v1.<minor>`, written
    /// out only when reported (a scan holds hundreds of thousands of findings).
    pub minor: u32,
    /// The upstream check id.
    pub check: &'static str,
}

impl PssInfo {
    /// The version as written: `v1.37`.
    #[must_use]
    pub fn version(&self) -> String {
        format!("v1.{}", self.minor)
    }
}

/// What a finding says. The sentences most findings use (a fixed one, or one about a
/// named container) are kept as their parts and written out only when reported: a scan
/// holds hundreds of thousands of findings, and a whole sentence is a hundred bytes each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Written by the check.
    Text(String),
    /// A sentence with nothing in it that varies.
    Fixed(&'static str),
    /// `{before}"{name}"{after}`, the name quoted and escaped as Rust's `{:?}` does.
    Quoting {
        before: &'static str,
        name: Arc<str>,
        after: &'static str,
    },
}

impl Message {
    /// `{before}"{name}"{after}`.
    #[must_use]
    pub fn quoting(before: &'static str, name: &str, after: &'static str) -> Self {
        Message::Quoting {
            before,
            name: Arc::from(name),
            after,
        }
    }

    /// The sentence, written out.
    #[must_use]
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Message::Text(text) => std::borrow::Cow::Borrowed(text),
            Message::Fixed(text) => std::borrow::Cow::Borrowed(text),
            Message::Quoting { .. } => std::borrow::Cow::Owned(self.to_string()),
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Text(text) => f.write_str(text),
            Message::Fixed(text) => f.write_str(text),
            Message::Quoting {
                before,
                name,
                after,
            } => write!(f, "{before}{:?}{after}", &**name),
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text)
    }
}

impl From<&'static str> for Message {
    fn from(text: &'static str) -> Self {
        Message::Fixed(text)
    }
}

impl PartialEq<str> for Message {
    fn eq(&self, other: &str) -> bool {
        self.text() == other
    }
}

impl PartialEq<&str> for Message {
    fn eq(&self, other: &&str) -> bool {
        self.text() == *other
    }
}

/// One problem found in one object.
#[derive(Debug, Clone)]
pub struct Finding {
    pub check: &'static CheckMeta,
    /// Usually the check's severity; a check may grade a finding up or down.
    pub severity: Severity,
    /// Names the exact field and value.
    pub message: Message,
    pub object: Arc<ObjectRef>,
    pub location: Location,
    /// Field path from the object root: `spec.template.spec.containers[0].securityContext.privileged`.
    pub path: String,
    pub fingerprint: Fingerprint,
    /// Boxed: most findings have none, and every finding would carry its size.
    pub pss: Option<Box<PssInfo>>,
    /// The container the finding is about, when it is about one.
    /// Shared by the findings of one container.
    pub container: Option<Arc<str>>,
}

/// What kind of exception suppressed a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuppressionKind {
    /// An exception in the config file.
    Config,
    /// A `palisade.dev/ignore` annotation on the object or its pod template.
    Inline,
    /// The finding's fingerprint is in the `--baseline` file.
    Baseline,
}

impl SuppressionKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Config => "config",
            SuppressionKind::Inline => "inline",
            SuppressionKind::Baseline => "baseline",
        }
    }
}

/// The exception that suppressed a finding, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub kind: SuppressionKind,
    pub reason: String,
    /// The config file, annotated manifest, or baseline file.
    pub file: Arc<str>,
    /// 1-based line of the exception (0 for a baseline).
    pub line: u32,
    pub column: u32,
    /// `YYYY-MM-DD`, for config exceptions that expire.
    pub expires: Option<String>,
}

/// A finding an exception or the baseline hides: counted and listed, never failing.
#[derive(Debug, Clone)]
pub struct SuppressedFinding {
    pub finding: Finding,
    pub by: Arc<Suppression>,
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    /// A config exception past its `expires` date: it no longer suppresses.
    ExpiredException,
    /// An exception that matched no finding.
    UnusedException,
    /// A `palisade.dev/ignore` annotation that cannot be read: it suppresses nothing.
    InvalidException,
    /// Baseline entries no finding matched any more (fixed, or moved).
    StaleBaseline,
    /// A document of the input that is not a Kubernetes object, skipped.
    SkippedDocument,
}

impl NoticeKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::ExpiredException => "expired-exception",
            NoticeKind::UnusedException => "unused-exception",
            NoticeKind::InvalidException => "invalid-exception",
            NoticeKind::StaleBaseline => "stale-baseline",
            NoticeKind::SkippedDocument => "skipped-document",
        }
    }
}

/// A warning about the scan's configuration (exceptions, baseline), with its location.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Notice {
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
    pub kind: NoticeKind,
    pub message: String,
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

/// A finding's stable identity: 16 bytes of a SHA-256, written as 32 hex digits. Kept as
/// bytes (no allocation per finding); formatted only when a report is written.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    fn of_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut h = Sha256::new();
        for part in parts {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        let digest = h.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Fingerprint(bytes)
    }
}

impl Fingerprint {
    /// The 32 lower-case hex digits reports write.
    #[must_use]
    pub fn hex(&self) -> [u8; 32] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 32];
        for (i, b) in self.0.iter().enumerate() {
            text[2 * i] = HEX[usize::from(b >> 4)];
            text[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        text
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.hex();
        f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?)
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = String;

    /// 32 hex digits, as reports and baselines write them.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a fingerprint (32 hex digits)");
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(bytes))
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A stable identity for a finding: the same problem in the same object keeps its
/// fingerprint when lines shift or the run repeats.
#[must_use]
pub fn fingerprint(check: &str, file: &str, object: &ObjectRef, path: &str) -> Fingerprint {
    Fingerprint::of_parts([
        check,
        file,
        &object.api_version,
        &object.kind,
        object.namespace.as_deref().unwrap_or(""),
        &object.name,
        path,
    ])
}

/// What a finding is about when that is a whole namespace or the whole cluster rather
/// than the object it is shown on (a namespace without a default-deny policy is shown on
/// its Namespace object, or on one of its workloads when the input has none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Namespace(String),
    Cluster,
}

/// The fingerprint of a namespace- or cluster-level finding: the check and the scope
/// alone, so it survives edits to whichever object carries it (baselines keep matching
/// when another file gains a workload, or the carrying object moves).
#[must_use]
pub fn scope_fingerprint(check: &str, scope: &Scope) -> Fingerprint {
    let (kind, name) = match scope {
        Scope::Namespace(ns) => ("namespace", ns.as_str()),
        Scope::Cluster => ("cluster", ""),
    };
    Fingerprint::of_parts([check, "scope", kind, name])
}

/// An input that could not be read or parsed (or only partly).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LoadError {
    pub file: Arc<str>,
    pub document: Option<usize>,
    pub line: u32,
    pub column: u32,
    pub message: String,
    /// A document that was skipped, not broken: it is not a Kubernetes object (a
    /// top-level list, such as a tool's saved output beside the manifests). Said as a
    /// warning; it does not make the run fail.
    pub skipped: bool,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(d) = self.document {
            write!(f, "document {d}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Counts for the report header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every object loaded, after List expansion.
    pub objects: usize,
    pub findings: usize,
    pub suppressed: usize,
    pub errors: usize,
    /// Findings per severity, indexed like [`Severity::ALL`] (critical first).
    pub by_severity: [usize; 5],
}

/// An object that was scanned (for reports that list clean objects too).
#[derive(Debug, Clone)]
pub struct ScannedObject {
    pub identity: Arc<ObjectRef>,
    pub file: Arc<str>,
    pub document: usize,
    /// The object holds at least one pod spec.
    pub workload: bool,
    /// The checks that apply to this object, when not every check that ran does (a
    /// node's files each answer a few checks).
    pub checks: Option<Arc<[&'static str]>>,
}

/// Everything a scan produced, sorted deterministically.
#[derive(Debug, Clone, Default)]
pub struct ScanResult {
    /// Every object loaded, in input order.
    pub objects: Vec<ScannedObject>,
    pub findings: Vec<Finding>,
    /// Findings exceptions or the baseline hide, in the same order as `findings`.
    pub suppressed: Vec<SuppressedFinding>,
    pub errors: Vec<LoadError>,
    /// Expired, unused and invalid exceptions; stale baseline entries.
    pub notices: Vec<Notice>,
    /// Resources of a live cluster that were not read (forbidden, failing): their objects
    /// are missing from the scan, which reports says instead of skipping them silently.
    pub not_evaluated: Vec<NotEvaluated>,
    /// Checks that do not apply, each with why (a worker node has no API server
    /// manifest): neither passed nor failed.
    pub not_applicable: Vec<NotApplicable>,
}

/// A check that does not apply to what was scanned, and why.
#[derive(Debug, Clone)]
pub struct NotApplicable {
    pub check: &'static CheckMeta,
    /// What it was asked of (the node).
    pub object: Arc<ObjectRef>,
    pub reason: String,
}

/// A resource of a live cluster that was not read, and why (`forbidden`, or the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotEvaluated {
    /// `secrets`, `deployments.apps`, or a group version whose discovery failed.
    pub resource: String,
    pub reason: String,
}

impl ScanResult {
    #[must_use]
    pub fn summary(&self) -> Summary {
        let mut by_severity = [0usize; 5];
        for f in &self.findings {
            if let Some(i) = Severity::ALL.iter().position(|s| *s == f.severity) {
                by_severity[i] += 1;
            }
        }
        Summary {
            objects: self.objects.len(),
            findings: self.findings.len(),
            suppressed: self.suppressed.len(),
            errors: self.errors.len(),
            by_severity,
        }
    }

    /// The highest severity among the findings.
    #[must_use]
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    #[test]
    fn fingerprint_is_stable_and_discriminating() {
        let a = fingerprint("privileged", "a.yaml", &obj("x"), "spec.containers[0]");
        // Written as 32 hex digits, read back the same.
        let text = a.to_string();
        assert_eq!(text.len(), 32);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(text.parse::<Fingerprint>(), Ok(a));
        assert!("xyz".parse::<Fingerprint>().is_err());
        assert!("0123456789abcdef0123456789abcdeg"
            .parse::<Fingerprint>()
            .is_err());
        assert_eq!(
            a,
            fingerprint("privileged", "a.yaml", &obj("x"), "spec.containers[0]")
        );
        assert_ne!(
            a,
            fingerprint("privileged", "a.yaml", &obj("y"), "spec.containers[0]")
        );
        assert_ne!(
            a,
            fingerprint("privileged", "a.yaml", &obj("x"), "spec.containers[1]")
        );
        assert_ne!(
            a,
            fingerprint("hostPorts", "a.yaml", &obj("x"), "spec.containers[0]")
        );
        // A scoped finding's fingerprint is the check and the scope's alone.
        let ns = scope_fingerprint(
            "netpol-missing-default-deny-ingress",
            &Scope::Namespace("shop".into()),
        );
        assert_eq!(ns.to_string().len(), 32);
        assert_ne!(
            ns,
            scope_fingerprint(
                "netpol-missing-default-deny-ingress",
                &Scope::Namespace("web".into())
            )
        );
        assert_ne!(
            ns,
            scope_fingerprint(
                "netpol-missing-default-deny-egress",
                &Scope::Namespace("shop".into())
            )
        );
        assert_ne!(
            scope_fingerprint("x", &Scope::Cluster),
            scope_fingerprint("x", &Scope::Namespace(String::new()))
        );
        // Separators keep ("ab","c") and ("a","bc") apart.
        assert_ne!(
            fingerprint("a", "bc", &obj("x"), ""),
            fingerprint("ab", "c", &obj("x"), "")
        );
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("severe"), None);
    }
}

#[cfg(test)]
mod message_tests {
    use super::Message;

    #[test]
    fn every_kind_of_message_reads_as_the_sentence_it_stands_for() {
        let name = "we\"b\u{7}é";
        let quoting = Message::quoting("container ", name, " must not run as root");
        let written = format!("container {name:?} must not run as root");
        assert_eq!(quoting.to_string(), written);
        assert_eq!(quoting.text(), written);
        assert!(quoting == *written.as_str());
        assert!(quoting != "container \"web\" must not run as root");
        let fixed = Message::from("pod runs as root");
        assert_eq!(fixed, Message::Fixed("pod runs as root"));
        assert_eq!(fixed.to_string(), "pod runs as root");
        let text = Message::from(format!("image {:?}", "x:1"));
        assert!(text == "image \"x:1\"");
        assert!(matches!(text.text(), std::borrow::Cow::Borrowed(_)));
    }
}
