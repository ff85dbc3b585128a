//! The JSON report: a contract other tools read. Fields may be added, never renamed.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::sync::Arc;

#[cfg(test)]
use palisade_model::Fingerprint;
use palisade_model::{
    CheckMeta, Finding, Message, ObjectRef, PssInfo, ScanResult, Severity, Suppression,
};
use rayon::prelude::*;
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
    /// Checks that do not apply.
    not_applicable: usize,
    by_severity: BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
struct JsonNotEvaluated<'a> {
    resource: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonNotApplicable<'a> {
    check: &'a str,
    object: String,
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

#[cfg(test)]
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

/// A finding in the report, in field order.
#[cfg(test)]
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

/// The finding as serde writes it: the contract in one place. Reports are written by
/// [`FindingWriter`], which must produce the same bytes (tested).
#[cfg(test)]
pub(crate) fn finding_by_serde(f: &Finding, by: Option<&Suppression>) -> Vec<u8> {
    let version = f.pss.as_ref().map(|p| p.version());
    let message = f.message.text();
    let json = JsonFinding {
        check: f.check.id,
        severity: f.severity,
        category: f.check.category.as_str(),
        title: f.check.title,
        message: &message,
        object: object(&f.object),
        location: Location {
            file: &f.location.file,
            document: f.location.document,
            line: f.location.line,
            column: f.location.column,
        },
        path: &f.path,
        remediation: f.check.remediation,
        references: f.check.references,
        mappings: mappings(f.check),
        fingerprint: &f.fingerprint,
        pss: f
            .pss
            .as_deref()
            .zip(version.as_deref())
            .map(|(p, version)| Pss {
                level: p.level,
                version,
                check: p.check,
            }),
        container: f.container.as_deref(),
        suppression: by.map(suppression),
    };
    serde_json::to_vec(&json).expect("serializable")
}

fn object(o: &ObjectRef) -> Object<'_> {
    Object {
        api_version: &o.api_version,
        kind: &o.kind,
        namespace: o.namespace.as_deref(),
        name: &o.name,
    }
}

fn mappings(check: &CheckMeta) -> Vec<JsonMapping<'_>> {
    check
        .mappings
        .iter()
        .map(|m| JsonMapping {
            framework: m.framework.key(),
            id: m.id,
        })
        .collect()
}

/// Serializes a finding's Pod Security context.
fn push_pss(out: &mut Vec<u8>, p: &PssInfo) {
    let version = p.version();
    push_json(
        out,
        &Pss {
            level: p.level,
            version: &version,
            check: p.check,
        },
    );
}

fn suppression(by: &Suppression) -> JsonSuppression<'_> {
    JsonSuppression {
        kind: by.kind.as_str(),
        reason: &by.reason,
        file: &by.file,
        line: by.line,
        column: by.column,
        expires: by.expires.as_deref(),
    }
}

/// What every finding of one check repeats (id, category, title, remediation,
/// references, mappings), serialized once per report instead of once per finding.
struct CheckParts {
    /// `{"check":ID,"severity":`
    open: Vec<u8>,
    /// `,"category":..,"title":..,"message":`
    head: Vec<u8>,
    /// `,"remediation":..,"references":..,"mappings":..,"fingerprint":`
    tail: Vec<u8>,
}

impl CheckParts {
    fn of(check: &CheckMeta) -> Self {
        #[derive(Serialize)]
        struct Head<'a> {
            category: &'a str,
            title: &'a str,
        }
        #[derive(Serialize)]
        struct Tail<'a> {
            remediation: &'a str,
            references: &'a [&'a str],
            mappings: Vec<JsonMapping<'a>>,
        }
        let mut open = b"{\"check\":".to_vec();
        push_json(&mut open, check.id);
        open.extend_from_slice(b",\"severity\":");
        let mut head = Vec::new();
        push_fields(
            &mut head,
            &Head {
                category: check.category.as_str(),
                title: check.title,
            },
        );
        head.extend_from_slice(b",\"message\":");
        let mut tail = Vec::new();
        push_fields(
            &mut tail,
            &Tail {
                remediation: check.remediation,
                references: check.references,
                mappings: mappings(check),
            },
        );
        tail.extend_from_slice(b",\"fingerprint\":");
        CheckParts { open, head, tail }
    }
}

/// Appends `value` as JSON.
fn push_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing to a Vec cannot fail, and these types always serialize.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Appends `text` as a JSON string, as serde_json writes it: most messages and paths
/// need no escaping, and are copied whole.
fn push_str(out: &mut Vec<u8>, text: &str) {
    // No early exit, so the test runs over whole vectors of bytes.
    let plain = text.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        push_json(out, text);
    }
}

/// Appends the fields of the struct `value`, comma first, without its braces.
fn push_fields<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    let at = out.len();
    push_json(out, value);
    out[at] = b',';
    out.pop();
}

/// Writes findings as JSON objects, byte for byte what serde makes of [`JsonFinding`],
/// with each check's repeated fields and each object's identity serialized once.
#[derive(Default)]
struct FindingWriter {
    checks: HashMap<*const CheckMeta, CheckParts>,
    /// The last object and file written, serialized: findings come grouped by both.
    object: Option<(*const ObjectRef, Vec<u8>)>,
    file: Option<(*const u8, usize, Vec<u8>)>,
    /// Where messages kept as parts are written out, reused from finding to finding.
    message: String,
}

impl FindingWriter {
    fn push(&mut self, out: &mut Vec<u8>, f: &Finding, by: Option<&Suppression>) {
        let parts = self
            .checks
            .entry(std::ptr::from_ref(f.check))
            .or_insert_with(|| CheckParts::of(f.check));
        out.extend_from_slice(&parts.open);
        out.push(b'"');
        out.extend_from_slice(f.severity.as_str().as_bytes());
        out.push(b'"');
        out.extend_from_slice(&parts.head);
        match &f.message {
            Message::Text(text) => push_str(out, text),
            Message::Fixed(text) => push_str(out, text),
            message => {
                use std::fmt::Write as _;
                self.message.clear();
                // Writing to a String cannot fail.
                let _ = write!(self.message, "{message}");
                push_str(out, &self.message);
            }
        }
        out.extend_from_slice(b",\"object\":");
        let object = Arc::as_ptr(&f.object);
        match &self.object {
            Some((at, json)) if *at == object => out.extend_from_slice(json),
            _ => {
                let mut json = Vec::new();
                push_json(&mut json, &self::object(&f.object));
                out.extend_from_slice(&json);
                self.object = Some((object, json));
            }
        }
        out.extend_from_slice(b",\"location\":{\"file\":");
        let file = (f.location.file.as_ptr(), f.location.file.len());
        match &self.file {
            Some((at, len, json)) if (*at, *len) == file => out.extend_from_slice(json),
            _ => {
                let mut json = Vec::new();
                push_json(&mut json, &*f.location.file);
                out.extend_from_slice(&json);
                self.file = Some((file.0, file.1, json));
            }
        }
        let mut number = itoa::Buffer::new();
        out.extend_from_slice(b",\"document\":");
        out.extend_from_slice(number.format(f.location.document).as_bytes());
        out.extend_from_slice(b",\"line\":");
        out.extend_from_slice(number.format(f.location.line).as_bytes());
        out.extend_from_slice(b",\"column\":");
        out.extend_from_slice(number.format(f.location.column).as_bytes());
        out.extend_from_slice(b"},\"path\":");
        push_str(out, &f.path);
        out.extend_from_slice(&parts.tail);
        out.push(b'"');
        out.extend_from_slice(&f.fingerprint.hex());
        out.push(b'"');
        if let Some(p) = &f.pss {
            out.extend_from_slice(b",\"pss\":");
            push_pss(out, p);
        }
        if let Some(c) = &f.container {
            out.extend_from_slice(b",\"container\":");
            push_str(out, c);
        }
        if let Some(by) = by {
            out.extend_from_slice(b",\"suppression\":");
            push_json(out, &suppression(by));
        }
        out.push(b'}');
    }
}

/// Findings serialized per batch: the chunks of a batch on every core, then written in
/// order, so memory holds one batch of text, never the report.
const CHUNK: usize = 1024;
const BATCH: usize = 16 * CHUNK;

/// Writes `items` as the elements of a JSON array (no brackets). While one batch is
/// written (on this thread: the writer need not be `Send`), the next is rendered on the
/// pool.
fn write_findings<T: Sync>(
    items: &[T],
    parts: impl Fn(&T) -> (&Finding, Option<&Suppression>) + Sync,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Two sets of buffers, reused from batch to batch: fresh ones would each be new
    // pages to fault in.
    let mut ready: Vec<Vec<u8>> = vec![Vec::new(); BATCH / CHUNK];
    let mut spare: Vec<Vec<u8>> = vec![Vec::new(); BATCH / CHUNK];
    let mut batches = items.chunks(BATCH).enumerate();
    let Some((first, batch)) = batches.next() else {
        return Ok(());
    };
    render_batch(first, batch, &parts, &mut ready);
    let mut written = batch.len();
    for (b, batch) in batches {
        let mut result = Ok(());
        rayon::in_place_scope(|scope| {
            scope.spawn(|_| render_batch(b, batch, &parts, &mut spare));
            result = write_batch(&ready, written, out);
        });
        result?;
        std::mem::swap(&mut ready, &mut spare);
        written = batch.len();
    }
    write_batch(&ready, written, out)
}

/// Renders batch `b` (`batch`, at most [`BATCH`] items) into `texts`, a chunk each.
fn render_batch<T: Sync>(
    b: usize,
    batch: &[T],
    parts: &(impl Fn(&T) -> (&Finding, Option<&Suppression>) + Sync),
    texts: &mut [Vec<u8>],
) {
    texts
        .par_iter_mut()
        .zip(batch.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(c, (text, chunk))| {
            text.clear();
            let mut writer = FindingWriter::default();
            for (i, item) in chunk.iter().enumerate() {
                if b + c + i > 0 {
                    text.push(b',');
                }
                let (f, by) = parts(item);
                writer.push(text, f, by);
            }
        });
}

/// Writes the chunks of a rendered batch of `len` items.
fn write_batch(texts: &[Vec<u8>], len: usize, out: &mut dyn Write) -> io::Result<()> {
    for text in texts.iter().take(len.div_ceil(CHUNK)) {
        out.write_all(text)?;
    }
    Ok(())
}

pub fn write(result: &ScanResult, ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let s = result.summary();
    let summary = Summary {
        objects: s.objects,
        findings: s.findings,
        suppressed: s.suppressed,
        errors: s.errors,
        not_evaluated: result.not_evaluated.len(),
        not_applicable: result.not_applicable.len(),
        by_severity: Severity::ALL
            .iter()
            .zip(s.by_severity)
            .map(|(sev, n)| (sev.as_str(), n))
            .collect(),
    };
    // Streamed a batch of findings at a time: a large scan never holds the document in
    // memory.
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
    write_findings(&result.findings, |f| (f, None), out)?;
    out.write_all(b"],\"suppressed\":[")?;
    write_findings(&result.suppressed, |s| (&s.finding, Some(&*s.by)), out)?;
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
    out.write_all(b",\"not_applicable\":")?;
    let not_applicable: Vec<_> = result
        .not_applicable
        .iter()
        .map(|n| JsonNotApplicable {
            check: n.check.id,
            object: n.object.to_string(),
            reason: &n.reason,
        })
        .collect();
    serde_json::to_writer(&mut *out, &not_applicable)?;
    if !ctx.compliance.is_empty() {
        out.write_all(b",\"compliance\":")?;
        serde_json::to_writer(&mut *out, &ctx.compliance)?;
    }
    out.write_all(b"}\n")
}
