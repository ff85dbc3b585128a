//! The parallel, streaming scan.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_inventory::{find_pod_specs, objects_in, read_input, InputKind, InputSpec, Object};
use palisade_model::{
    fingerprint, Finding, LoadError, Location, ObjectRef, ScanResult, ScannedObject,
};
use palisade_source::{
    parse_document, split_documents, Document, DocumentChunk, DuplicateKey, Limits, Pos,
};
use rayon::prelude::*;

use crate::check::{Check, CheckSettings, Findings, ObjectContext, RawFinding};
use crate::pss::Profile;

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// The Pod Security profile for objects whose namespace the input does not label.
    pub profile: Profile,
    pub limits: Limits,
    pub settings: CheckSettings,
}

struct ObjectOutcome {
    document: usize,
    /// Position of the object among its document's objects (List items).
    ordinal: usize,
    identity: Arc<ObjectRef>,
    workload: bool,
    findings: Vec<RawFinding>,
}

#[derive(Default)]
struct DocOutcome {
    objects: Vec<ObjectOutcome>,
    /// Namespaces this document defines, with the profile their labels enforce.
    namespaces: Vec<(String, Option<Profile>)>,
    errors: Vec<LoadError>,
}

struct InputOutcome {
    name: Arc<str>,
    objects: Vec<ObjectOutcome>,
    namespaces: Vec<(String, Option<Profile>)>,
    errors: Vec<LoadError>,
    /// Text of inputs that cannot be read twice (stdin, rendered output), kept for the
    /// namespace pass.
    kept: Option<String>,
}

fn run_checks(
    checks: &[&'static dyn Check],
    object: Object<'_>,
    profile: Profile,
    duplicates: Vec<DuplicateKey>,
    settings: &CheckSettings,
) -> (bool, Vec<RawFinding>) {
    let pods = find_pod_specs(&object);
    let workload = !pods.is_empty();
    let ctx = ObjectContext {
        object,
        pods,
        profile,
        duplicates,
        settings,
    };
    let mut out = Findings::default();
    for check in checks {
        check.run(&ctx, &mut out);
    }
    (workload, out.items)
}

fn load_error(
    name: &Arc<str>,
    document: usize,
    line: u32,
    column: u32,
    message: String,
) -> LoadError {
    LoadError {
        file: name.clone(),
        document: Some(document),
        line,
        column,
        message,
    }
}

fn scan_document(
    name: &Arc<str>,
    text: &str,
    chunk: &DocumentChunk,
    checks: &[&'static dyn Check],
    opts: &ScanOptions,
) -> DocOutcome {
    let mut out = DocOutcome::default();
    let doc = match parse_document(&text[chunk.range.clone()], chunk, &opts.limits) {
        Ok(doc) => doc,
        Err(e) => {
            out.errors
                .push(load_error(name, chunk.index, e.line, e.column, e.message));
            return out;
        }
    };
    let (objects, problems) = objects_in(&doc);
    for p in problems {
        out.errors.push(load_error(
            name,
            chunk.index,
            p.pos.line,
            p.pos.column,
            p.message,
        ));
    }
    let starts: Vec<Pos> = objects.iter().map(|o| o.root.pos()).collect();
    for (ordinal, object) in objects.into_iter().enumerate() {
        let identity = object.identity.clone();
        let duplicates = duplicates_of(&doc, &starts, ordinal);
        if identity.kind == "Namespace" && identity.api_version == "v1" {
            let profile = Profile::from_namespace_labels(object.labels(), opts.profile);
            out.namespaces.push((identity.name.clone(), profile));
        }
        let (workload, findings) =
            run_checks(checks, object, opts.profile, duplicates, &opts.settings);
        out.objects.push(ObjectOutcome {
            document: chunk.index,
            ordinal,
            identity,
            workload,
            findings,
        });
    }
    out
}

/// The repeated keys inside object `ordinal` of a document whose objects start at
/// `starts` (List items follow each other; anything before the first goes to it).
fn duplicates_of(doc: &Document, starts: &[Pos], ordinal: usize) -> Vec<DuplicateKey> {
    doc.duplicates
        .iter()
        .filter(|d| {
            let owner = starts.iter().rposition(|s| *s <= d.pos).unwrap_or(0);
            owner == ordinal
        })
        .cloned()
        .collect()
}

fn scan_input(spec: &InputSpec, checks: &[&'static dyn Check], opts: &ScanOptions) -> InputOutcome {
    let mut outcome = InputOutcome {
        name: spec.name.clone(),
        objects: Vec::new(),
        namespaces: Vec::new(),
        errors: Vec::new(),
        kept: None,
    };
    let source = match read_input(spec) {
        Ok((source, partial)) => {
            outcome.errors.extend(partial);
            source
        }
        Err(e) => {
            outcome.errors.push(e);
            return outcome;
        }
    };
    let chunks = split_documents(&source.text);
    let docs: Vec<DocOutcome> = chunks
        .par_iter()
        .map(|chunk| scan_document(&spec.name, &source.text, chunk, checks, opts))
        .collect();
    for d in docs {
        outcome.objects.extend(d.objects);
        outcome.namespaces.extend(d.namespaces);
        outcome.errors.extend(d.errors);
    }
    if !matches!(spec.kind, InputKind::File(_)) {
        outcome.kept = Some(source.text);
    }
    outcome
}

/// Evaluates again, at their namespace's profile, the objects of `outcome` that live in a
/// namespace the input labels for Pod Security Admission.
fn rescan_labelled(
    spec: &InputSpec,
    outcome: &mut InputOutcome,
    profiles: &HashMap<String, Profile>,
    checks: &[&'static dyn Check],
    opts: &ScanOptions,
) {
    let wanted = |o: &ObjectOutcome| {
        o.identity
            .namespace
            .as_deref()
            .and_then(|ns| profiles.get(ns))
            .copied()
    };
    if !outcome.objects.iter().any(|o| wanted(o).is_some()) {
        return;
    }
    let text = match outcome.kept.take() {
        Some(t) => t,
        None => match read_input(spec) {
            Ok((source, _)) => source.text,
            Err(_) => return, // already read once; keep the first results
        },
    };
    let chunks = split_documents(&text);
    let mut by_doc: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, o) in outcome.objects.iter().enumerate() {
        if wanted(o).is_some() {
            by_doc.entry(o.document).or_default().push(i);
        }
    }
    let mut redo: Vec<(usize, Vec<RawFinding>)> = by_doc
        .into_par_iter()
        .flat_map_iter(|(document, indices)| {
            let mut results = Vec::new();
            let Some(chunk) = chunks.get(document) else {
                return results;
            };
            let Ok(doc) = parse_document(&text[chunk.range.clone()], chunk, &opts.limits) else {
                return results;
            };
            let (mut objects, _) = objects_in(&doc);
            let starts: Vec<Pos> = objects.iter().map(|o| o.root.pos()).collect();
            for i in indices {
                let o = &outcome.objects[i];
                let (Some(profile), Some(object)) = (wanted(o), objects.get_mut(o.ordinal)) else {
                    continue;
                };
                if object.identity != o.identity {
                    continue; // the file changed under us; keep the first results
                }
                let duplicates = duplicates_of(&doc, &starts, o.ordinal);
                results.push((
                    i,
                    run_checks(checks, object.clone(), profile, duplicates, &opts.settings).1,
                ));
            }
            results
        })
        .collect();
    for (i, findings) in redo.drain(..) {
        outcome.objects[i].findings = findings;
    }
}

/// Scans `inputs` with `checks`: every input and document in parallel, each document
/// dropped once checked. Findings and errors come back sorted by input, document, line,
/// column and check.
#[must_use]
pub fn scan(inputs: &[InputSpec], checks: &[&'static dyn Check], opts: &ScanOptions) -> ScanResult {
    let mut outcomes: Vec<InputOutcome> = inputs
        .par_iter()
        .map(|spec| scan_input(spec, checks, opts))
        .collect();

    // Namespaces the input labels with a profile other than the default.
    let profiles: HashMap<String, Profile> = outcomes
        .iter()
        .flat_map(|o| o.namespaces.iter())
        .filter_map(|(name, p)| p.filter(|p| *p != opts.profile).map(|p| (name.clone(), p)))
        .collect();
    if !profiles.is_empty() {
        outcomes
            .par_iter_mut()
            .zip(inputs.par_iter())
            .for_each(|(outcome, spec)| rescan_labelled(spec, outcome, &profiles, checks, opts));
    }

    let mut result = ScanResult::default();
    for outcome in outcomes {
        result
            .objects
            .extend(outcome.objects.iter().map(|o| ScannedObject {
                identity: o.identity.clone(),
                file: outcome.name.clone(),
                document: o.document,
                workload: o.workload,
            }));
        let mut errors = outcome.errors;
        errors.sort_by_key(|e| (e.document, e.line, e.column));
        result.errors.extend(errors);
        let start = result.findings.len();
        for object in outcome.objects {
            for raw in object.findings {
                let fp = fingerprint(raw.check.id, &outcome.name, &object.identity, &raw.path);
                result.findings.push(Finding {
                    check: raw.check,
                    severity: raw.severity,
                    message: raw.message,
                    object: object.identity.clone(),
                    location: Location {
                        file: outcome.name.clone(),
                        document: object.document,
                        line: raw.line,
                        column: raw.column,
                    },
                    path: raw.path,
                    fingerprint: fp,
                    pss: raw.pss,
                });
            }
        }
        // Inputs stay in discovery order; within one, findings go by position then check.
        result.findings[start..].sort_by(|a, b| {
            let key = |f: &Finding| {
                (
                    f.location.document,
                    f.location.line,
                    f.location.column,
                    f.check.id,
                )
            };
            key(a).cmp(&key(b)).then_with(|| a.path.cmp(&b.path))
        });
    }
    result
}
