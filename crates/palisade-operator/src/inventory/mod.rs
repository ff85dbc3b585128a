//! The cluster as the watchers last saw it, each object with its findings, and the
//! evaluation of what changed.
//!
//! Per-object checks are cached with their object: a changed object is judged again
//! alone (with its Namespace, whose Pod Security labels set its level), and a changed
//! Namespace has every object in it judged again. The checks across objects (RBAC
//! escalation, network policy, etcd's CA) run over the whole inventory, and only when
//! something they read changed: a role, binding, policy, namespace or service, or a
//! workload's labels, service account or ports, not its image.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use palisade_engine::{Check, ScanOptions, StreamingScan};
use palisade_model::{Finding, LoadError, ScanResult};
use palisade_source::{parse_document, split_documents, Document, Limits};
use serde_json::Value;

/// An object's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub api_version: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl Key {
    #[must_use]
    pub fn of(object: &Value) -> Key {
        let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
        Key {
            api_version: text(&object["apiVersion"]),
            kind: text(&object["kind"]),
            namespace: text(&object["metadata"]["namespace"]),
            name: text(&object["metadata"]["name"]),
        }
    }

    fn of_finding(f: &Finding) -> Key {
        Key {
            api_version: f.object.api_version.clone(),
            kind: f.object.kind.clone(),
            namespace: f.object.namespace.clone().unwrap_or_default(),
            name: f.object.name.clone(),
        }
    }

    fn is_namespace(&self) -> bool {
        self.api_version == "v1" && self.kind == "Namespace"
    }
}

/// Kinds the cross-object analyses read whole.
const ANALYSED_KINDS: &[&str] = &[
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ServiceAccount",
    "NetworkPolicy",
    "Namespace",
    "Service",
    "Ingress",
];

/// What of `object` the analyses read: the whole of the kinds above; of anything else
/// (a workload), its labels, service account, ports and host network, so a new image
/// does not start them again.
fn analysis_digest(object: &Value) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let kind = object["kind"].as_str().unwrap_or("");
    if ANALYSED_KINDS.contains(&kind) {
        let mut whole = object.clone();
        if let Some(meta) = whole.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            meta.remove("generation");
        }
        if let Some(status) = whole.get_mut("status") {
            *status = Value::Null;
        }
        whole.to_string().hash(&mut h);
        return h.finish();
    }
    object["metadata"]["labels"].to_string().hash(&mut h);
    // A pod's spec, or a controller's template's.
    let spec = object
        .pointer("/spec/template/spec")
        .or_else(|| object.pointer("/spec/jobTemplate/spec/template/spec"))
        .or_else(|| object.get("spec"));
    if let Some(spec) = spec {
        spec["serviceAccountName"].to_string().hash(&mut h);
        spec["hostNetwork"].to_string().hash(&mut h);
        for c in spec["containers"].as_array().into_iter().flatten() {
            c["ports"].to_string().hash(&mut h);
        }
    }
    object
        .pointer("/spec/template/metadata/labels")
        .map(Value::to_string)
        .hash(&mut h);
    h.finish()
}

struct Stored {
    /// The object as compact JSON: a third of its tree's size, parsed again (by the
    /// source's JSON reader) only when it is judged.
    text: Arc<str>,
    /// Its name in reports, in place of a file.
    name: Arc<str>,
    analysis_digest: u64,
    findings: Vec<Finding>,
    errors: Vec<LoadError>,
}

/// A live object has no lines: its findings point at their field path, as
/// `scan --cluster`'s do, whatever the reader numbered.
fn without_lines(mut findings: Vec<Finding>) -> Vec<Finding> {
    for f in &mut findings {
        f.location.line = 0;
        f.location.column = 0;
    }
    findings
}

/// What the last evaluation did, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evaluated {
    /// Objects judged again by the per-object checks.
    pub objects: usize,
    /// Whether the cross-object analyses ran.
    pub analyses: bool,
}

/// The objects, their findings, and what changed since the last evaluation.
pub struct Inventory {
    context: String,
    objects: HashMap<Key, Stored>,
    /// Changed since the last evaluation (present or deleted).
    dirty: HashSet<Key>,
    analyses_dirty: bool,
    analysis_findings: Vec<Finding>,
    per_object: Vec<&'static dyn Check>,
    across: Vec<&'static dyn Check>,
    opts: ScanOptions,
    limits: Limits,
}

impl Inventory {
    /// `checks` split by whether an analysis of `opts` runs them.
    #[must_use]
    pub fn new(context: &str, checks: &[&'static dyn Check], opts: ScanOptions) -> Inventory {
        let (across, per_object): (Vec<_>, Vec<_>) = checks
            .iter()
            .copied()
            .partition(|c| opts.analyses.iter().any(|a| a.wanted(&[c.meta()])));
        Inventory {
            context: context.to_owned(),
            objects: HashMap::new(),
            dirty: HashSet::new(),
            analyses_dirty: false,
            analysis_findings: Vec::new(),
            per_object,
            across,
            limits: opts.limits.clone(),
            opts,
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    #[must_use]
    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty() || self.analyses_dirty
    }

    /// The keys of one resource kind, to find what a re-list no longer has.
    #[must_use]
    pub fn keys_of(&self, api_version: &str, kind: &str) -> Vec<Key> {
        self.objects
            .keys()
            .filter(|k| k.api_version == api_version && k.kind == kind)
            .cloned()
            .collect()
    }

    /// Adds or replaces an object; an unchanged one (same resourceVersion) is no change.
    pub fn upsert(&mut self, mut object: Value) {
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            // Kept out of memory and out of every digest: they change on every write.
            meta.remove("managedFields");
        }
        let key = Key::of(&object);
        let text: Arc<str> = Arc::from(object.to_string());
        if self.objects.get(&key).is_some_and(|old| old.text == text) {
            return;
        }
        let digest = analysis_digest(&object);
        let old_digest = self.objects.get(&key).map(|s| s.analysis_digest);
        if old_digest != Some(digest) {
            self.analyses_dirty = true;
        }
        let findings = self
            .objects
            .remove(&key)
            .map(|s| s.findings)
            .unwrap_or_default();
        self.objects.insert(
            key.clone(),
            Stored {
                name: Arc::from(palisade_cluster::object_name(&self.context, &object)),
                text,
                analysis_digest: digest,
                findings,
                errors: Vec::new(),
            },
        );
        self.dirty.insert(key);
    }

    pub fn remove(&mut self, key: &Key) {
        if self.objects.remove(key).is_some() {
            self.analyses_dirty = true;
            self.dirty.insert(key.clone());
        }
    }

    /// Judges what changed: each changed object again, every object of a changed
    /// Namespace again, and the analyses when something they read changed.
    pub fn evaluate(&mut self) -> Evaluated {
        let mut targets: HashSet<Key> = HashSet::new();
        let changed_namespaces: HashSet<String> = self
            .dirty
            .iter()
            .filter(|k| k.is_namespace())
            .map(|k| k.name.clone())
            .collect();
        for key in self.dirty.drain() {
            if self.objects.contains_key(&key) {
                targets.insert(key);
            }
        }
        if !changed_namespaces.is_empty() {
            targets.extend(
                self.objects
                    .keys()
                    .filter(|k| changed_namespaces.contains(&k.namespace))
                    .cloned(),
            );
        }
        let evaluated = Evaluated {
            objects: targets.len(),
            analyses: self.analyses_dirty && !self.across.is_empty(),
        };
        if !targets.is_empty() {
            self.judge_objects(&targets);
        }
        if evaluated.analyses {
            self.analysis_findings = self.run_analyses();
        }
        self.analyses_dirty = false;
        evaluated
    }

    fn documents(
        &self,
        keys: impl Iterator<Item = Key>,
    ) -> (Vec<(Arc<str>, Document)>, Vec<LoadError>) {
        let mut docs = Vec::new();
        let mut errors = Vec::new();
        for key in keys {
            let Some(stored) = self.objects.get(&key) else {
                continue;
            };
            let name = stored.name.clone();
            let text = &*stored.text;
            let parsed = split_documents(text)
                .first()
                .map(|chunk| parse_document(&text[chunk.range.clone()], chunk, &self.limits));
            match parsed {
                Some(Ok(doc)) => docs.push((name, doc)),
                None => {}
                Some(Err(e)) => errors.push(LoadError {
                    file: name,
                    document: None,
                    line: 0,
                    column: 0,
                    message: e.message,
                    skipped: false,
                }),
            }
        }
        (docs, errors)
    }

    fn judge_objects(&mut self, targets: &HashSet<Key>) {
        // The Namespaces of the targets come first, so their Pod Security labels apply
        // to what follows; they are context only, unless targets themselves.
        let mut context: Vec<Key> = targets
            .iter()
            .filter(|k| !k.namespace.is_empty())
            .map(|k| Key {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: String::new(),
                name: k.namespace.clone(),
            })
            .filter(|k| !targets.contains(k))
            .collect();
        context.sort();
        context.dedup();
        // Namespaces go in a batch of their own, before the objects: the scan sets an
        // object's level from the Namespaces it has already seen.
        let (namespaces, objects): (Vec<Key>, Vec<Key>) =
            targets.iter().cloned().partition(Key::is_namespace);
        context.extend(namespaces);
        let (namespace_docs, mut errors) = self.documents(context.iter().cloned());
        let (docs, more_errors) = self.documents(objects.into_iter());
        errors.extend(more_errors);
        let opts = ScanOptions {
            analyses: Vec::new(),
            ..self.opts.clone()
        };
        let mut scan = StreamingScan::new(&self.per_object, &opts);
        scan.add(namespace_docs);
        scan.add(docs);
        let result = scan.finish();
        let mut by_key: HashMap<Key, Vec<Finding>> = HashMap::new();
        for f in without_lines(result.findings) {
            by_key.entry(Key::of_finding(&f)).or_default().push(f);
        }
        for key in targets {
            if let Some(stored) = self.objects.get_mut(key) {
                stored.findings = by_key.remove(key).unwrap_or_default();
                stored.errors.clear();
            }
        }
        for e in errors.into_iter().chain(result.errors) {
            if let Some(stored) = self.objects.values_mut().find(|s| s.name == e.file) {
                stored.errors.push(e);
            }
        }
    }

    fn run_analyses(&self) -> Vec<Finding> {
        let (namespaces, objects): (Vec<Key>, Vec<Key>) =
            self.objects.keys().cloned().partition(Key::is_namespace);
        let (namespace_docs, _) = self.documents(namespaces.into_iter());
        let (docs, _) = self.documents(objects.into_iter());
        let mut scan = StreamingScan::new(&self.across, &self.opts);
        scan.add(namespace_docs);
        scan.add(docs);
        without_lines(scan.finish().findings)
    }

    /// Every finding now: each object's, then the analyses'.
    #[must_use]
    pub fn result(&self) -> ScanResult {
        let mut result = ScanResult::default();
        let mut keys: Vec<&Key> = self.objects.keys().collect();
        keys.sort();
        for key in keys {
            let stored = &self.objects[key];
            result.findings.extend(stored.findings.iter().cloned());
            result.errors.extend(stored.errors.iter().cloned());
        }
        result
            .findings
            .extend(self.analysis_findings.iter().cloned());
        result
    }
}

#[cfg(test)]
mod tests;
