//! The parallel, streaming scan.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_inventory::{
    find_pod_specs, objects_in, objects_in_list_item, read_input, InputKind, InputSpec, Object,
    ObjectAt, ObjectProblem, PodSpecView,
};
use palisade_model::{
    fingerprint, scope_fingerprint, Category, CheckMeta, Finding, LoadError, Location, Notice,
    NoticeKind, ObjectRef, ScanResult, ScannedObject, Severity, SuppressedFinding, Suppression,
    SuppressionKind,
};
use palisade_source::{
    parse_document, split_documents, Document, DocumentChunk, DuplicateKey, Limits, Pos,
};
use rayon::prelude::*;

use crate::check::{
    Analysis, Check, CheckSettings, Findings, Gathered, Memo, ObjectContext, RawFinding,
};
use crate::exceptions::{names_check, parse_inline, Exception, Subject, IGNORE_ANNOTATION};
use crate::pss::Profile;

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// The Pod Security profile for objects whose namespace the input does not label.
    pub profile: Profile,
    pub limits: Limits,
    pub settings: CheckSettings,
    /// Config-file exceptions, in file order (the first that matches suppresses).
    pub exceptions: Vec<Exception>,
    /// Ignore `palisade.dev/ignore` annotations (`--strict`).
    pub strict: bool,
    /// Every check that exists, to validate inline exceptions; empty accepts any id.
    pub catalogue: Vec<&'static CheckMeta>,
    /// Severity per check id, replacing what the check reports.
    pub severity_overrides: HashMap<String, Severity>,
    /// Cross-object analyses; each runs when one of its checks is among the scan's.
    pub analyses: Vec<&'static dyn Analysis>,
}

struct ObjectOutcome {
    document: usize,
    /// Position of the object among its document's objects (List items).
    ordinal: usize,
    /// For an object of a large JSON List read item by item: the item's index, and the
    /// object's position among that item's objects.
    item: Option<(usize, usize)>,
    identity: Arc<ObjectRef>,
    eval: Evaluated,
    /// What analyses kept of this object: (analysis index, item).
    gathered: Vec<(usize, Gathered)>,
    /// `metadata.uid`, and the uid of the controller that made the object from a pod
    /// template of its own (a ReplicaSet of a Deployment, a Pod of a ReplicaSet).
    owner: Ownership,
}

#[derive(Default)]
struct Ownership {
    uid: Option<String>,
    controller: Option<String>,
}

/// Controllers whose objects copy their own pod template: what is wrong in the copy is
/// wrong in the template, and is reported there.
const TEMPLATE_CONTROLLERS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
];

fn ownership(object: &Object<'_>) -> Ownership {
    let meta = object.root.get("metadata");
    let uid = meta
        .and_then(|m| m.get("uid"))
        .and_then(|u| u.as_str())
        .map(str::to_owned);
    let controller = meta
        .and_then(|m| m.get_present("ownerReferences"))
        .into_iter()
        .flat_map(|refs| refs.items())
        .find(|r| {
            r.get("controller").is_some_and(|c| c.is_true())
                && r.get("kind")
                    .and_then(|k| k.as_str())
                    .is_some_and(|k| TEMPLATE_CONTROLLERS.contains(&k))
        })
        .and_then(|r| r.get("uid")?.as_str().map(str::to_owned));
    Ownership { uid, controller }
}

/// Drops, from each object a controller in the scan made from its pod template, the
/// findings of checks that also fire on that controller: a live cluster's Deployment,
/// ReplicaSet and Pods then report a template's problem once, on the Deployment. A
/// check that fires on the copy only (a sidecar injected at admission) stays.
fn drop_copies(outcomes: &mut [InputOutcome]) {
    let mut fired: HashMap<&str, Vec<&'static str>> = HashMap::new();
    for o in outcomes.iter().flat_map(|o| o.objects.iter()) {
        if let Some(uid) = &o.owner.uid {
            // Suppressed on the controller counts too: a finding excepted there is not
            // to come back on each of its Pods.
            let ids = o
                .eval
                .findings
                .iter()
                .chain(o.eval.suppressed.iter().map(|(f, _)| f))
                .map(|f| f.check.id)
                .collect();
            fired.insert(uid.as_str(), ids);
        }
    }
    let mut drop: Vec<(usize, usize, Vec<&'static str>)> = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        for (j, object) in o.objects.iter().enumerate() {
            let owner = object.owner.controller.as_deref();
            if let Some(ids) = owner.and_then(|uid| fired.get(uid)) {
                drop.push((i, j, ids.clone()));
            }
        }
    }
    for (i, j, ids) in drop {
        outcomes[i].objects[j]
            .eval
            .findings
            .retain(|f| !ids.contains(&f.check.id));
    }
}

/// What evaluating one object produced.
#[derive(Default)]
struct Evaluated {
    workload: bool,
    findings: Vec<RawFinding>,
    suppressed: Vec<(RawFinding, Arc<Suppression>)>,
    /// Config exceptions (by index) that suppressed a finding here.
    used: Vec<usize>,
    /// Expired config exceptions (by index) that would have suppressed one.
    expired_matches: Vec<usize>,
    /// Problems with this object's inline exceptions.
    notices: Vec<Notice>,
    /// For objects analyses gathered: what their later findings are settled with.
    deferred: Option<Deferred>,
}

/// An object's inline exceptions and labels, kept for findings that analyses report
/// after the object itself is gone.
struct Deferred {
    inline: Vec<Inline>,
    labels: Vec<(String, String)>,
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

/// One `palisade.dev/ignore` annotation, read.
struct Inline {
    ids: Vec<String>,
    suppression: Arc<Suppression>,
    used: bool,
}

/// Runs `checks` on one object, then applies severity overrides and exceptions.
#[allow(clippy::too_many_arguments)]
fn evaluate<'d>(
    file: &Arc<str>,
    checks: &[&'static dyn Check],
    object: Object<'d>,
    pods: Vec<PodSpecView<'d>>,
    profile: Profile,
    duplicates: Vec<DuplicateKey>,
    opts: &'d ScanOptions,
    keep: bool,
) -> Evaluated {
    let ctx = ObjectContext {
        object,
        pods,
        profile,
        duplicates,
        settings: &opts.settings,
        memo: Memo::default(),
    };
    let mut out = Findings::default();
    for check in checks {
        check.run(&ctx, &mut out);
    }
    let mut eval = Evaluated {
        workload: !ctx.pods.is_empty(),
        ..Evaluated::default()
    };
    let mut inline = if opts.strict {
        Vec::new()
    } else {
        read_inline(file, &ctx, opts, &mut eval.notices)
    };
    if out.items.is_empty() && inline.is_empty() && !keep {
        return eval;
    }
    let containers: Vec<(&str, &str)> = ctx
        .pods
        .iter()
        .flat_map(|p| p.containers())
        .map(|c| (c.path.as_str(), c.name))
        .collect();
    // Each container's name is allocated once, for all its findings.
    let mut names: Vec<Option<Arc<str>>> = vec![None; containers.len()];
    // Labels matter only to config exceptions that select by them.
    let mut labels: Vec<(&str, &str)> = Vec::new();
    let wants_labels = opts.exceptions.iter().any(|e| !e.labels.is_empty());
    if wants_labels {
        labels.extend(ctx.object.labels());
    }
    for pod in ctx.pods.iter().filter(|_| wants_labels) {
        if let Some(l) = pod.metadata.and_then(|m| m.get_present("labels")) {
            labels.extend(
                l.entries()
                    .filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?))),
            );
        }
    }

    // Kept until the end of the scan: sized exactly, not grown.
    eval.findings.reserve_exact(out.items.len());
    for mut raw in out.items {
        raw.container = containers
            .iter()
            .position(|(path, _)| {
                raw.path
                    .strip_prefix(*path)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
            .map(|i| {
                names[i]
                    .get_or_insert_with(|| containers[i].1.into())
                    .clone()
            });
        settle(
            raw,
            &ctx.object.identity,
            &labels,
            &mut inline,
            opts,
            &mut eval,
        );
    }
    if keep {
        // Analyses report later; their findings settle against these (the labels only
        // when an exception selects by them), and unused inline exceptions are judged
        // then.
        eval.deferred = Some(Deferred {
            inline,
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        });
        return eval;
    }
    for i in inline.iter().filter(|i| !i.used) {
        eval.notices
            .extend(unused_inline(file, i, &ctx.object.identity, checks));
    }
    eval
}

/// Applies the severity override, then inline exceptions, then config exceptions, to
/// one finding of an object, and files it as reported or suppressed.
fn settle(
    mut raw: RawFinding,
    identity: &ObjectRef,
    labels: &[(&str, &str)],
    inline: &mut [Inline],
    opts: &ScanOptions,
    eval: &mut Evaluated,
) {
    if let Some(sev) = opts.severity_overrides.get(raw.check.id) {
        raw.severity = *sev;
    }
    if let Some(i) = inline
        .iter_mut()
        .find(|i| i.ids.iter().any(|id| names_check(id, raw.check)))
    {
        i.used = true;
        eval.suppressed.push((raw, i.suppression.clone()));
        return;
    }
    let subject = Subject {
        check: raw.check,
        kind: &identity.kind,
        namespace: identity.namespace.as_deref(),
        name: &identity.name,
        labels,
        container: raw.container.as_deref(),
    };
    let mut suppressed_by = None;
    for (index, e) in opts.exceptions.iter().enumerate() {
        if !e.matches(&subject) {
            continue;
        }
        if e.expired {
            eval.expired_matches.push(index);
        } else {
            suppressed_by = Some(index);
            break;
        }
    }
    match suppressed_by {
        Some(index) => {
            eval.used.push(index);
            let by = opts.exceptions[index].suppression.clone();
            eval.suppressed.push((raw, by));
        }
        None => eval.findings.push(raw),
    }
}

/// The notice for an inline exception that suppressed nothing, if one of its checks ran.
fn unused_inline(
    file: &Arc<str>,
    i: &Inline,
    identity: &ObjectRef,
    checks: &[&'static dyn Check],
) -> Option<Notice> {
    let concerns = |m: &&CheckMeta| i.ids.iter().any(|id| names_check(id, m));
    checks
        .iter()
        .map(|c| c.meta())
        .any(|m| concerns(&m))
        .then(|| Notice {
            file: file.clone(),
            line: i.suppression.line,
            column: i.suppression.column,
            kind: NoticeKind::UnusedException,
            message: format!(
                "{IGNORE_ANNOTATION} on {identity} ({}) matches no finding; remove it",
                i.ids.join(",")
            ),
        })
}

/// The `palisade.dev/ignore` annotations on the object and its pod templates.
fn read_inline(
    file: &Arc<str>,
    ctx: &ObjectContext<'_>,
    opts: &ScanOptions,
    notices: &mut Vec<Notice>,
) -> Vec<Inline> {
    let mut nodes = Vec::new();
    if let Some(a) = ctx.object.root.get_path("metadata.annotations") {
        nodes.extend(a.entry(IGNORE_ANNOTATION));
    }
    for pod in &ctx.pods {
        nodes.extend(pod.annotation(IGNORE_ANNOTATION));
    }
    nodes.sort_by_key(|(k, _)| k.pos());
    nodes.dedup_by_key(|(k, _)| k.pos());
    let known = |id: &str| {
        opts.catalogue.is_empty()
            || Category::ALL.iter().any(|c| c.as_str() == id)
            || opts.catalogue.iter().any(|m| m.id == id)
    };
    let mut inline = Vec::new();
    for (_, value) in nodes {
        let pos = value.pos();
        match parse_inline(value.as_str().unwrap_or(""), known) {
            Ok((ids, reason)) => inline.push(Inline {
                ids,
                suppression: Arc::new(Suppression {
                    kind: SuppressionKind::Inline,
                    reason,
                    file: file.clone(),
                    line: pos.line,
                    column: pos.column,
                    expires: None,
                }),
                used: false,
            }),
            Err(message) => notices.push(Notice {
                file: file.clone(),
                line: pos.line,
                column: pos.column,
                kind: NoticeKind::InvalidException,
                message: format!("{message}; it suppresses nothing"),
            }),
        }
    }
    inline
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
        skipped: false,
    }
}

fn scan_document(
    name: &Arc<str>,
    text: &str,
    chunk: &DocumentChunk,
    checks: &[&'static dyn Check],
    analyses: &[&'static dyn Analysis],
    opts: &ScanOptions,
) -> DocOutcome {
    let part = &text[chunk.range.clone()];
    if let Some(out) = scan_list_items(name, part, chunk, checks, analyses, opts) {
        return out;
    }
    match parse_document(part, chunk, &opts.limits) {
        Ok(doc) => scan_parsed(name, &doc, checks, analyses, opts, &HashMap::new()),
        Err(e) => DocOutcome {
            errors: vec![load_error(name, chunk.index, e.line, e.column, e.message)],
            ..DocOutcome::default()
        },
    }
}

/// From this many items and bytes, a JSON List (a cluster snapshot, `kubectl get -o
/// json`) is read and checked item by item; a smaller document is not worth the extra
/// structural pass over its text.
const LIST_ITEMS_APART: usize = 64;
const LIST_BYTES_APART: usize = 64 * 1024;

/// A large JSON List read and checked one item at a time, on every core: each item's
/// tree is built, checked and dropped, so memory stays that of the findings, as in a
/// live scan. `None` when `part` is not such a List, or an item is not strict JSON (the
/// whole document is then read as usual, and its error reported as usual).
fn scan_list_items(
    name: &Arc<str>,
    part: &str,
    chunk: &DocumentChunk,
    checks: &[&'static dyn Check],
    analyses: &[&'static dyn Analysis],
    opts: &ScanOptions,
) -> Option<DocOutcome> {
    if part.len() < LIST_BYTES_APART {
        return None;
    }
    let items = palisade_source::list_items(part).filter(|i| i.len() >= LIST_ITEMS_APART)?;
    let outcomes: Option<Vec<DocOutcome>> = items
        .par_iter()
        .enumerate()
        .map(|(index, item)| {
            let doc = palisade_source::parse_list_item(part, item, chunk, &opts.limits).ok()?;
            let found = objects_in_list_item(&doc, index);
            Some(scan_objects(
                name,
                &doc,
                found,
                checks,
                analyses,
                opts,
                &HashMap::new(),
            ))
        })
        .collect();
    let mut out = DocOutcome::default();
    // Ordinals count the objects of the whole document, as reading it whole counts them.
    let mut ordinal = 0;
    for (index, item) in outcomes?.into_iter().enumerate() {
        out.namespaces.extend(item.namespaces);
        out.errors.extend(item.errors);
        for mut object in item.objects {
            object.item = Some((index, object.ordinal));
            object.ordinal = ordinal;
            ordinal += 1;
            out.objects.push(object);
        }
    }
    Some(out)
}

/// Checks and gathers every object of a parsed document; objects of a namespace in
/// `profiles` are judged at its Pod Security level.
fn scan_parsed(
    name: &Arc<str>,
    doc: &Document,
    checks: &[&'static dyn Check],
    analyses: &[&'static dyn Analysis],
    opts: &ScanOptions,
    profiles: &HashMap<String, Profile>,
) -> DocOutcome {
    scan_objects(name, doc, objects_in(doc), checks, analyses, opts, profiles)
}

/// [`scan_parsed`] over objects already found in `doc`.
fn scan_objects<'d>(
    name: &Arc<str>,
    doc: &'d Document,
    (objects, problems): (Vec<Object<'d>>, Vec<ObjectProblem>),
    checks: &[&'static dyn Check],
    analyses: &[&'static dyn Analysis],
    opts: &ScanOptions,
    profiles: &HashMap<String, Profile>,
) -> DocOutcome {
    let mut out = DocOutcome::default();
    for p in problems {
        out.errors.push(LoadError {
            skipped: p.skipped,
            ..load_error(name, doc.index, p.pos.line, p.pos.column, p.message)
        });
    }
    let starts: Vec<Pos> = objects.iter().map(|o| o.root.pos()).collect();
    let one = |(ordinal, object): (usize, Object<'_>)| {
        let mut errors = Vec::new();
        let identity = object.identity.clone();
        let duplicates = duplicates_of(doc, &starts, ordinal);
        let namespace = (identity.kind == "Namespace" && identity.api_version == "v1").then(|| {
            let profile = Profile::from_namespace_labels(object.labels(), opts.profile);
            (identity.name.clone(), profile)
        });
        let profile = identity
            .namespace
            .as_deref()
            .and_then(|ns| profiles.get(ns))
            .copied()
            .unwrap_or(opts.profile);
        let pods = find_pod_specs(&object);
        let at = ObjectAt {
            file: name,
            document: doc.index,
            object: &object,
            pods: &pods,
        };
        let mut gathered: Vec<(usize, Gathered)> = Vec::new();
        for (i, analysis) in analyses.iter().enumerate() {
            match analysis.gather(&at) {
                Ok(Some(item)) => gathered.push((i, item)),
                Ok(None) => {}
                Err(e) => errors.push(load_error(name, doc.index, e.line, e.column, e.message)),
            }
        }
        let keep = !gathered.is_empty();
        let owner = ownership(&object);
        let eval = evaluate(name, checks, object, pods, profile, duplicates, opts, keep);
        let outcome = ObjectOutcome {
            document: doc.index,
            ordinal,
            item: None,
            identity,
            eval,
            gathered,
            owner,
        };
        (namespace, errors, outcome)
    };
    // A document of many objects (a cluster snapshot, `kubectl get -o json`: one List)
    // is checked on every core, object by object; results keep the document's order.
    let results: Vec<_> = if objects.len() >= PARALLEL_OBJECTS {
        objects.into_par_iter().enumerate().map(one).collect()
    } else {
        objects.into_iter().enumerate().map(one).collect()
    };
    for (namespace, errors, outcome) in results {
        out.namespaces.extend(namespace);
        out.errors.extend(errors);
        out.objects.push(outcome);
    }
    out
}

/// From this many objects in one document, they are checked in parallel.
const PARALLEL_OBJECTS: usize = 64;

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

fn scan_input(
    spec: &InputSpec,
    checks: &[&'static dyn Check],
    analyses: &[&'static dyn Analysis],
    opts: &ScanOptions,
) -> InputOutcome {
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
        .map(|chunk| scan_document(&spec.name, &source.text, chunk, checks, analyses, opts))
        .collect();
    outcome
        .objects
        .reserve_exact(docs.iter().map(|d| d.objects.len()).sum());
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
    let mut redo: Vec<(usize, Evaluated)> = by_doc
        .into_par_iter()
        .flat_map_iter(|(document, indices)| {
            let mut results = Vec::new();
            let Some(chunk) = chunks.get(document) else {
                return results;
            };
            if indices.iter().all(|&i| outcome.objects[i].item.is_some()) {
                return rescan_list_items(
                    spec, &text, chunk, outcome, &indices, &wanted, checks, opts,
                );
            }
            let Ok(doc) = parse_document(&text[chunk.range.clone()], chunk, &opts.limits) else {
                return results;
            };
            let again = Again::new(spec, checks, opts, &doc, objects_in(&doc).0);
            for i in indices {
                let o = &outcome.objects[i];
                results.extend(again.evaluate(o, o.ordinal, wanted(o)).map(|e| (i, e)));
            }
            results
        })
        .collect();
    for (i, eval) in redo.drain(..) {
        outcome.objects[i].eval = eval;
    }
}

/// A document read again, to evaluate some of its objects at another Pod Security profile.
struct Again<'a, 'd> {
    spec: &'a InputSpec,
    checks: &'a [&'static dyn Check],
    opts: &'a ScanOptions,
    doc: &'d Document,
    objects: Vec<Object<'d>>,
    starts: Vec<Pos>,
}

impl<'a, 'd> Again<'a, 'd> {
    fn new(
        spec: &'a InputSpec,
        checks: &'a [&'static dyn Check],
        opts: &'a ScanOptions,
        doc: &'d Document,
        objects: Vec<Object<'d>>,
    ) -> Self {
        let starts = objects.iter().map(|o| o.root.pos()).collect();
        Again {
            spec,
            checks,
            opts,
            doc,
            objects,
            starts,
        }
    }

    /// Object `ordinal` of the document, evaluated at `profile`; `None` when there is no
    /// profile to apply or the file changed under us (the first results are kept).
    fn evaluate(
        &self,
        o: &ObjectOutcome,
        ordinal: usize,
        profile: Option<Profile>,
    ) -> Option<Evaluated> {
        let (profile, object) = (profile?, self.objects.get(ordinal)?);
        if object.identity != o.identity {
            return None;
        }
        let duplicates = duplicates_of(self.doc, &self.starts, ordinal);
        let pods = find_pod_specs(object);
        Some(evaluate(
            &self.spec.name,
            self.checks,
            object.clone(),
            pods,
            profile,
            duplicates,
            self.opts,
            !o.gathered.is_empty(),
        ))
    }
}

/// [`rescan_labelled`] for objects of a large JSON List read item by item: only their
/// items are read again.
#[allow(clippy::too_many_arguments)]
fn rescan_list_items(
    spec: &InputSpec,
    text: &str,
    chunk: &DocumentChunk,
    outcome: &InputOutcome,
    indices: &[usize],
    wanted: &(dyn Fn(&ObjectOutcome) -> Option<Profile> + Sync),
    checks: &[&'static dyn Check],
    opts: &ScanOptions,
) -> Vec<(usize, Evaluated)> {
    let part = &text[chunk.range.clone()];
    let Some(items) = palisade_source::list_items(part) else {
        return Vec::new();
    };
    let mut by_item: HashMap<usize, Vec<usize>> = HashMap::new();
    for &i in indices {
        if let Some((item, _)) = outcome.objects[i].item {
            by_item.entry(item).or_default().push(i);
        }
    }
    let mut results = Vec::new();
    for (item, objects_of_item) in by_item {
        let Some(span) = items.get(item) else {
            continue;
        };
        let Ok(doc) = palisade_source::parse_list_item(part, span, chunk, &opts.limits) else {
            continue;
        };
        let again = Again::new(spec, checks, opts, &doc, objects_in_list_item(&doc, item).0);
        for i in objects_of_item {
            let o = &outcome.objects[i];
            let Some((_, local)) = o.item else { continue };
            results.extend(again.evaluate(o, local, wanted(o)).map(|e| (i, e)));
        }
    }
    results
}

/// Scans `inputs` with `checks`: every input and document in parallel, each document
/// dropped once checked. Findings and errors come back sorted by input, document, line,
/// The analyses that run: those one of `checks` belongs to.
fn wanted_analyses(
    checks: &[&'static dyn Check],
    opts: &ScanOptions,
) -> Vec<&'static dyn Analysis> {
    let ran: Vec<&'static CheckMeta> = checks.iter().map(|c| c.meta()).collect();
    opts.analyses
        .iter()
        .copied()
        .filter(|a| a.wanted(&ran))
        .collect()
}

/// column and check.
#[must_use]
pub fn scan(inputs: &[InputSpec], checks: &[&'static dyn Check], opts: &ScanOptions) -> ScanResult {
    let analyses = wanted_analyses(checks, opts);
    let mut outcomes: Vec<InputOutcome> = inputs
        .par_iter()
        .map(|spec| scan_input(spec, checks, &analyses, opts))
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

    assemble(outcomes, &analyses, checks, opts)
}

/// Runs the analyses over what the inputs gathered, then collects findings, errors and
/// notices in input order and judges the config exceptions.
fn assemble(
    mut outcomes: Vec<InputOutcome>,
    analyses: &[&'static dyn Analysis],
    checks: &[&'static dyn Check],
    opts: &ScanOptions,
) -> ScanResult {
    let ran: Vec<&'static CheckMeta> = checks.iter().map(|c| c.meta()).collect();
    run_analyses(&mut outcomes, analyses, checks, opts);
    drop_copies(&mut outcomes);

    // Each input's findings are placed, fingerprinted and sorted on its own, on every
    // core, a batch of inputs at a time; each batch joins the result in discovery order
    // before the next is made, so the findings exist twice for one batch at most.
    let mut result = ScanResult::default();
    result.findings.reserve(
        outcomes
            .iter()
            .flat_map(|o| &o.objects)
            .map(|o| o.eval.findings.len())
            .sum(),
    );
    let mut used = vec![0usize; opts.exceptions.len()];
    let mut expired_matches = vec![0usize; opts.exceptions.len()];
    let batch = 4 * rayon::current_num_threads();
    let mut outcomes = outcomes.into_iter().peekable();
    while outcomes.peek().is_some() {
        let inputs: Vec<InputResult> = outcomes
            .by_ref()
            .take(batch)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|o| input_result(o, opts.exceptions.len()))
            .collect();
        for input in inputs {
            result.objects.extend(input.objects);
            result.errors.extend(input.errors);
            result.notices.extend(input.notices);
            result.findings.extend(input.findings);
            result.suppressed.extend(input.suppressed);
            for (total, n) in used.iter_mut().zip(input.used) {
                *total += n;
            }
            for (total, n) in expired_matches.iter_mut().zip(input.expired_matches) {
                *total += n;
            }
        }
    }
    for (i, e) in opts.exceptions.iter().enumerate() {
        let at = &e.suppression;
        let notice = |kind, message| Notice {
            file: at.file.clone(),
            line: at.line,
            column: at.column,
            kind,
            message,
        };
        if e.expired {
            result.notices.push(notice(
                NoticeKind::ExpiredException,
                format!(
                    "exception expired on {} and no longer suppresses; {} finding{} it matches now fail{} the scan (reason was: {})",
                    at.expires.as_deref().unwrap_or("?"),
                    expired_matches[i],
                    if expired_matches[i] == 1 { "" } else { "s" },
                    if expired_matches[i] == 1 { "s" } else { "" },
                    at.reason
                ),
            ));
        } else if used[i] == 0 && e.concerns_any(&ran) {
            result.notices.push(notice(
                NoticeKind::UnusedException,
                format!(
                    "exception for {} matches no finding; remove it or fix its selectors",
                    e.checks.join(",")
                ),
            ));
        }
    }
    result.notices.sort();
    result
}

/// One input's part of the result.
struct InputResult {
    objects: Vec<ScannedObject>,
    errors: Vec<LoadError>,
    notices: Vec<Notice>,
    findings: Vec<Finding>,
    suppressed: Vec<SuppressedFinding>,
    /// How many findings each config exception suppressed here, and how many each
    /// expired one would have.
    used: Vec<usize>,
    expired_matches: Vec<usize>,
}

/// Places one input's findings in its file, sorted by position then check.
fn input_result(outcome: InputOutcome, exceptions: usize) -> InputResult {
    let mut input = InputResult {
        objects: outcome
            .objects
            .iter()
            .map(|o| ScannedObject {
                identity: o.identity.clone(),
                file: outcome.name.clone(),
                document: o.document,
                workload: o.eval.workload,
                checks: None,
            })
            .collect(),
        errors: Vec::new(),
        notices: Vec::new(),
        findings: Vec::with_capacity(outcome.objects.iter().map(|o| o.eval.findings.len()).sum()),
        suppressed: Vec::new(),
        used: vec![0; exceptions],
        expired_matches: vec![0; exceptions],
    };
    let mut errors = outcome.errors;
    errors.sort_by_key(|e| (e.document, e.line, e.column));
    for e in errors {
        if e.skipped {
            // Not a Kubernetes object (a tool's saved output beside the manifests):
            // said, and the run does not fail for it.
            input.notices.push(Notice {
                message: match e.document {
                    Some(d) => format!("document {d}: {}", e.message),
                    None => e.message,
                },
                file: e.file,
                line: e.line,
                column: e.column,
                kind: NoticeKind::SkippedDocument,
            });
        } else {
            input.errors.push(e);
        }
    }
    for object in outcome.objects {
        let eval = object.eval;
        for i in eval.used {
            input.used[i] += 1;
        }
        for i in eval.expired_matches {
            input.expired_matches[i] += 1;
        }
        input.notices.extend(eval.notices);
        let finish = |raw| finish(raw, &outcome.name, object.document, &object.identity);
        input.findings.extend(eval.findings.into_iter().map(finish));
        input.suppressed.extend(
            eval.suppressed
                .into_iter()
                .map(|(raw, by)| SuppressedFinding {
                    finding: finish(raw),
                    by,
                }),
        );
    }
    input.findings.sort_by(compare_in_input);
    input
        .suppressed
        .sort_by(|a, b| compare_in_input(&a.finding, &b.finding));
    input
}

/// A scan fed with parsed objects as they arrive (pages of a live cluster), each under
/// a name of its own, instead of files. Objects are checked when added and dropped;
/// only findings and what analyses gather are kept. Namespaces added before the objects
/// in them set those objects' Pod Security level (the cluster reader lists Namespaces
/// first), so nothing is read twice.
pub struct StreamingScan<'o> {
    checks: &'o [&'static dyn Check],
    analyses: Vec<&'static dyn Analysis>,
    opts: &'o ScanOptions,
    profiles: HashMap<String, Profile>,
    outcomes: Vec<InputOutcome>,
}

impl<'o> StreamingScan<'o> {
    #[must_use]
    pub fn new(checks: &'o [&'static dyn Check], opts: &'o ScanOptions) -> Self {
        Self {
            checks,
            analyses: wanted_analyses(checks, opts),
            opts,
            profiles: HashMap::new(),
            outcomes: Vec::new(),
        }
    }

    /// Checks `documents` in parallel, each an input named by its pair's name.
    pub fn add(&mut self, documents: Vec<(Arc<str>, Document)>) {
        let (checks, analyses, opts, profiles) =
            (self.checks, &self.analyses, self.opts, &self.profiles);
        let outcomes: Vec<InputOutcome> = documents
            .into_par_iter()
            .map(|(name, doc)| {
                let d = scan_parsed(&name, &doc, checks, analyses, opts, profiles);
                InputOutcome {
                    name,
                    objects: d.objects,
                    namespaces: d.namespaces,
                    errors: d.errors,
                    kept: None,
                }
            })
            .collect();
        for o in &outcomes {
            for (ns, profile) in &o.namespaces {
                if let Some(p) = profile.filter(|p| *p != self.opts.profile) {
                    self.profiles.insert(ns.clone(), p);
                }
            }
        }
        self.outcomes.extend(outcomes);
    }

    /// Runs the analyses and returns the result, inputs in the order they were added
    /// (a cluster's listing order, which its snapshot keeps too).
    #[must_use]
    pub fn finish(self) -> ScanResult {
        let mut result = assemble(self.outcomes, &self.analyses, self.checks, self.opts);
        // Objects built from JSON number their nodes in place of columns; with no line
        // to go with it, the number means nothing to a reader.
        for f in result
            .findings
            .iter_mut()
            .chain(result.suppressed.iter_mut().map(|s| &mut s.finding))
        {
            if f.location.line == 0 {
                f.location.column = 0;
            }
        }
        result
    }
}

/// Runs each analysis over what it gathered and files its findings with the objects
/// they are about; then judges the inline exceptions of gathered objects.
fn run_analyses(
    outcomes: &mut [InputOutcome],
    analyses: &[&'static dyn Analysis],
    checks: &[&'static dyn Check],
    opts: &ScanOptions,
) {
    if analyses.is_empty() {
        return;
    }
    // What each analysis gathered, and from which object.
    // (input, object) indices of the objects items came from.
    type Owners = Vec<(usize, usize)>;
    let mut gathered: Vec<(Vec<Gathered>, Owners)> =
        analyses.iter().map(|_| (Vec::new(), Vec::new())).collect();
    for (o, outcome) in outcomes.iter_mut().enumerate() {
        for (j, object) in outcome.objects.iter_mut().enumerate() {
            for (index, item) in object.gathered.drain(..) {
                gathered[index].0.push(item);
                gathered[index].1.push((o, j));
            }
        }
    }
    // The analyses are independent of each other: each on a core of its own.
    let reports: Vec<(Vec<(usize, RawFinding)>, Owners)> = analyses
        .par_iter()
        .zip(gathered)
        .map(|(analysis, (items, owners))| (analysis.report(items, &opts.settings), owners))
        .collect();
    for (reported, owners) in reports {
        for (item, raw) in reported {
            let Some(&(o, j)) = owners.get(item) else {
                continue;
            };
            let object = &mut outcomes[o].objects[j];
            let Some(mut deferred) = object.eval.deferred.take() else {
                continue;
            };
            let labels: Vec<(&str, &str)> = deferred
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            settle(
                raw,
                &object.identity,
                &labels,
                &mut deferred.inline,
                opts,
                &mut object.eval,
            );
            object.eval.deferred = Some(deferred);
        }
    }
    for outcome in outcomes.iter_mut() {
        for object in &mut outcome.objects {
            let Some(deferred) = object.eval.deferred.take() else {
                continue;
            };
            for i in deferred.inline.iter().filter(|i| !i.used) {
                let notice = unused_inline(&outcome.name, i, &object.identity, checks);
                object.eval.notices.extend(notice);
            }
        }
    }
}

fn finish(raw: RawFinding, file: &Arc<str>, document: usize, object: &Arc<ObjectRef>) -> Finding {
    Finding {
        fingerprint: match &raw.scope {
            Some(scope) => scope_fingerprint(raw.check.id, scope),
            None => fingerprint(raw.check.id, file, object, &raw.path),
        },
        check: raw.check,
        severity: raw.severity,
        message: raw.message,
        object: object.clone(),
        location: Location {
            file: file.clone(),
            document,
            line: raw.line,
            column: raw.column,
        },
        path: raw.path,
        pss: raw.pss,
        container: raw.container,
    }
}

fn compare_in_input(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    let key = |f: &Finding| {
        (
            f.location.document,
            f.location.line,
            f.location.column,
            f.check.id,
        )
    };
    key(a).cmp(&key(b)).then_with(|| a.path.cmp(&b.path))
}
