//! Turning an AdmissionReview into a decision with the scan's own engine.
//!
//! The object is read by the same JSON reader and judged by the same checks, config,
//! exceptions and Pod Security profile as `palisade scan` would judge it in a file of
//! its own: the verdict and messages are the scan's findings. Only the checks that need
//! the rest of the cluster (see [`palisade_checks::WHOLE_INVENTORY`]) are left to `scan`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use glob::Pattern;
use palisade_checks::whole_inventory_reason;
use palisade_config::{AdmissionMode, AdmissionSettings, UpdatePolicy};
use palisade_engine::{Check, Profile, ScanOptions, StreamingScan};
use palisade_model::{Finding, ScanResult};
use palisade_source::{parse_document, split_documents, Document};
use serde::Deserialize;

use crate::answer::{audit_annotations, denial_message, warnings};
use crate::review::{parse_review, AdmissionRequest, AdmissionResponse, ReviewError, Status};

/// The namespace label that picks a namespace's mode: `enforce`, `warn` or `audit`.
pub const MODE_LABEL: &str = "palisade.dev/mode";

/// What the webhook knows of a namespace, from its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceState {
    /// The Pod Security profile its labels set (`None`: the config's).
    pub profile: Option<Profile>,
    /// The mode its `palisade.dev/mode` label sets (`None`: the config's default).
    pub mode: Option<AdmissionMode>,
}

/// Why a request was allowed without being judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// DELETE and CONNECT change no configuration.
    Operation,
    /// `status`, `scale`, `binding`, ...: a subresource that carries no pod spec change.
    Subresource,
    ExemptNamespace,
    ExemptUser,
    /// The request has no object to judge.
    NoObject,
}

impl Skip {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Operation => "operation",
            Skip::Subresource => "subresource",
            Skip::ExemptNamespace => "exempt-namespace",
            Skip::ExemptUser => "exempt-user",
            Skip::NoObject => "no-object",
        }
    }
}

/// The answer to one review, with what it was based on (for logs and metrics).
#[derive(Debug)]
pub struct Decision {
    pub response: AdmissionResponse,
    /// The namespace's mode; `None` when the request was not judged.
    pub mode: Option<AdmissionMode>,
    pub skipped: Option<Skip>,
    /// The findings judged (on UPDATE, by default, only those the update introduces).
    pub findings: Vec<Finding>,
    /// How many of `findings` deny the request (enforce mode, at the deny severity).
    pub denied: usize,
    pub dry_run: bool,
    /// `Pod payments/web`, for logs.
    pub object: String,
    pub operation: String,
}

/// How a [`Judge`] is set up: the scan's own selection and options, and the config's
/// `admission:` section.
pub struct JudgeConfig {
    pub checks: Vec<&'static dyn Check>,
    pub scan: ScanOptions,
    pub admission: AdmissionSettings,
}

/// Answers AdmissionReviews. Shared by every request of a server.
pub struct Judge {
    checks: Vec<&'static dyn Check>,
    base: ScanOptions,
    /// The scan options per Pod Security profile, made when first needed: a namespace's
    /// labels choose the profile, and options are too large to copy per request.
    /// Keyed by profile and whether the cross-object analyses run (see [`analysed`]).
    by_profile: RwLock<HashMap<(Profile, bool), Arc<ScanOptions>>>,
    settings: AdmissionSettings,
    exempt_namespaces: Vec<Pattern>,
    namespaces: RwLock<HashMap<String, NamespaceState>>,
}

impl Judge {
    /// # Errors
    /// An exempt-namespace pattern is not a valid glob.
    pub fn new(config: JudgeConfig) -> Result<Judge, String> {
        let checks: Vec<&'static dyn Check> = config
            .checks
            .into_iter()
            .filter(|c| whole_inventory_reason(c.meta().id).is_none())
            .collect();
        let mut base = config.scan;
        // Checks overlapping a Pod Security check stay quiet where it reports only if
        // they know which run: name them, as `scan` does.
        base.settings.active = Some(checks.iter().map(|c| c.meta().id).collect());
        let exempt_namespaces = config
            .admission
            .exempt_namespaces
            .iter()
            .map(|p| Pattern::new(p).map_err(|e| format!("bad exempt namespace {p:?}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Judge {
            checks,
            base,
            by_profile: RwLock::new(HashMap::new()),
            settings: config.admission,
            exempt_namespaces,
            namespaces: RwLock::new(HashMap::new()),
        })
    }

    /// The checks the webhook runs.
    #[must_use]
    pub fn checks(&self) -> &[&'static dyn Check] {
        &self.checks
    }

    /// The options objects are judged with (at the config's Pod Security profile).
    #[must_use]
    pub fn scan_options(&self) -> &ScanOptions {
        &self.base
    }

    #[must_use]
    pub fn settings(&self) -> &AdmissionSettings {
        &self.settings
    }

    /// Replaces what is known of namespaces with the cluster's list of them.
    pub fn replace_namespaces(&self, list: &[(String, BTreeMap<String, String>)]) {
        let fresh: HashMap<String, NamespaceState> = list
            .iter()
            .map(|(name, labels)| {
                let labels = labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                (name.clone(), self.state_of(labels))
            })
            .collect();
        *self
            .namespaces
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
    }

    /// Records a namespace's labels (from a reviewed Namespace, or the cluster).
    pub fn set_namespace<'a>(&self, name: &str, labels: impl Iterator<Item = (&'a str, &'a str)>) {
        let state = self.state_of(labels);
        self.namespaces
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_owned(), state);
    }

    fn state_of<'a>(&self, labels: impl Iterator<Item = (&'a str, &'a str)>) -> NamespaceState {
        let mut mode = None;
        let mut pss = Vec::new();
        for (k, v) in labels {
            if k == MODE_LABEL {
                // A mistyped mode is held to the strictest, as Pod Security Admission
                // does with a mistyped level.
                mode = Some(AdmissionMode::parse(v).unwrap_or(AdmissionMode::Enforce));
            } else {
                pss.push((k, v));
            }
        }
        let profile = Profile::from_namespace_labels(pss.into_iter(), self.base.profile);
        NamespaceState { profile, mode }
    }

    /// Forgets a deleted namespace.
    pub fn remove_namespace(&self, name: &str) {
        self.namespaces
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
    }

    #[must_use]
    pub fn namespace(&self, name: &str) -> Option<NamespaceState> {
        self.namespaces
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .copied()
    }

    fn options(&self, profile: Profile, analyses: bool) -> Arc<ScanOptions> {
        let key = (profile, analyses);
        if let Some(o) = self
            .by_profile
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return o.clone();
        }
        let mut map = self
            .by_profile
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(key)
            .or_insert_with(|| {
                let base = self.base.clone();
                Arc::new(ScanOptions {
                    profile,
                    analyses: if analyses { base.analyses } else { Vec::new() },
                    ..base
                })
            })
            .clone()
    }

    /// Answers the AdmissionReview in `body`; the `apiVersion` to answer with comes
    /// back beside the decision.
    ///
    /// # Errors
    /// The body is not an `admission.k8s.io/v1` AdmissionReview with a request.
    pub fn review(&self, body: &[u8]) -> Result<(String, Decision), ReviewError> {
        let review = parse_review(body)?;
        let decision = self.decide(&review.request);
        Ok((review.api_version, decision))
    }

    /// Judges one request.
    #[must_use]
    pub fn decide(&self, r: &AdmissionRequest<'_>) -> Decision {
        let is_namespace = r.kind.group.is_empty() && r.kind.kind == "Namespace";
        let mut decision = Decision {
            response: allow(&r.uid),
            mode: None,
            skipped: None,
            findings: Vec::new(),
            denied: 0,
            dry_run: r.dry_run,
            object: describe(r),
            operation: r.operation.clone(),
        };
        let skip = self.skip(r, is_namespace);
        if let Some(skip) = skip {
            decision.skipped = Some(skip);
            return decision;
        }
        let Some(object) = r.object.map(|o| o.get()).filter(|o| *o != "null") else {
            decision.skipped = Some(Skip::NoObject);
            return decision;
        };
        // A Namespace is judged by its own new labels; anything else by its namespace's.
        let own = is_namespace.then(|| namespace_labels(object)).flatten();
        let state = match &own {
            Some(labels) => {
                let mut mode = None;
                for (k, v) in labels {
                    if k == MODE_LABEL {
                        mode = Some(AdmissionMode::parse(v).unwrap_or(AdmissionMode::Enforce));
                    }
                }
                Some(NamespaceState {
                    profile: None,
                    mode,
                })
            }
            None => self.namespace(&r.namespace),
        };
        let mode = state
            .and_then(|s| s.mode)
            .unwrap_or(self.settings.default_mode);
        let profile = state.and_then(|s| s.profile).unwrap_or(self.base.profile);
        decision.mode = Some(mode);
        let opts = self.options(profile, analysed(&r.kind.group));
        let name: Arc<str> = Arc::from(format!("admission:{}", decision.object));

        let new = match self.evaluate(object, &r.namespace, &name, &opts) {
            Ok(result) => result,
            Err(problem) => {
                return self.unreadable(decision, mode, &problem);
            }
        };
        let mut findings = new.findings;
        if r.operation == "UPDATE" && self.settings.updates == UpdatePolicy::Introduced {
            if let Some(old) = r.old_object.map(|o| o.get()).filter(|o| *o != "null") {
                // An old object that cannot be read takes nothing away.
                if let Ok(old) = self.evaluate(old, &r.namespace, &name, &opts) {
                    let before: HashSet<_> = old.findings.iter().map(same_finding).collect();
                    findings.retain(|f| !before.contains(&same_finding(f)));
                }
            }
        }
        let deny_at = self.settings.deny_severity;
        // Where the namespace's labels enforce a Pod Security level, its violations are
        // denied whatever their severity, as Pod Security Admission denies them.
        let pss_enforced = state.and_then(|s| s.profile).is_some();
        let denies = |f: &&Finding| f.severity >= deny_at || (pss_enforced && f.pss.is_some());
        let (deny, warn): (Vec<&Finding>, Vec<&Finding>) = match mode {
            AdmissionMode::Enforce => findings.iter().partition(denies),
            AdmissionMode::Warn => (Vec::new(), findings.iter().collect()),
            AdmissionMode::Audit => (Vec::new(), Vec::new()),
        };
        decision.denied = deny.len();
        // The most severe first: if the list is cut, what is cut matters least.
        let mut warn = warn;
        warn.sort_by_key(|f| std::cmp::Reverse(f.severity));
        decision.response.warnings = warnings(&warn);
        decision.response.audit_annotations = audit_annotations(mode, &findings, deny.len());
        if !deny.is_empty() {
            decision.response.allowed = false;
            decision.response.status = Some(Status {
                code: 403,
                message: denial_message(&decision.object, mode, deny_at, pss_enforced, &deny),
                reason: "Forbidden",
                status: "Failure",
            });
        }
        if is_namespace && decision.response.allowed && !r.dry_run {
            // A dry run changes nothing, so it must not change what is remembered.
            let labels = own.unwrap_or_default();
            self.set_namespace(
                &r.name,
                labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        decision.findings = findings;
        decision
    }

    fn skip(&self, r: &AdmissionRequest<'_>, is_namespace: bool) -> Option<Skip> {
        if r.operation != "CREATE" && r.operation != "UPDATE" {
            return Some(Skip::Operation);
        }
        // Ephemeral containers arrive as the whole Pod on their subresource: judged.
        if !r.sub_resource.is_empty() && r.sub_resource != "ephemeralcontainers" {
            return Some(Skip::Subresource);
        }
        let u = &r.user_info;
        if self.settings.exempt_users.contains(&u.username)
            || u.groups
                .iter()
                .any(|g| self.settings.exempt_groups.iter().any(|x| x == g))
        {
            return Some(Skip::ExemptUser);
        }
        let namespace = if is_namespace { &r.name } else { &r.namespace };
        if !namespace.is_empty() && self.exempt_namespaces.iter().any(|p| p.matches(namespace)) {
            return Some(Skip::ExemptNamespace);
        }
        None
    }

    /// The findings of one object, as `scan` would report them.
    fn evaluate(
        &self,
        object: &str,
        namespace: &str,
        name: &Arc<str>,
        opts: &ScanOptions,
    ) -> Result<ScanResult, String> {
        let parse = |text: &str| {
            let chunks = split_documents(text);
            let Some(chunk) = chunks.first() else {
                return Err("the object is empty".to_owned());
            };
            parse_document(&text[chunk.range.clone()], chunk, &opts.limits).map_err(|e| e.message)
        };
        let mut doc = parse(object)?;
        if !namespace.is_empty() && !has_namespace(&doc) {
            // Rare (the API server fills it in first), so the object is read twice then.
            if let Some(text) = with_namespace(object, namespace) {
                doc = parse(&text)?;
            }
        }
        let mut scan = StreamingScan::new(&self.checks, opts);
        scan.add(vec![(name.clone(), doc)]);
        let result = scan.finish();
        if let Some(e) = result.errors.first() {
            return Err(e.message.clone());
        }
        Ok(result)
    }

    /// An object Palisade cannot read is denied in enforce mode (what cannot be judged
    /// is not let through), and allowed with a warning otherwise.
    fn unreadable(&self, mut decision: Decision, mode: AdmissionMode, problem: &str) -> Decision {
        let message = format!("palisade cannot read {}: {problem}", decision.object);
        if mode == AdmissionMode::Enforce {
            decision.response.allowed = false;
            decision.response.status = Some(Status {
                code: 400,
                message: crate::answer::clip(&message, crate::answer::MAX_MESSAGE),
                reason: "BadRequest",
                status: "Failure",
            });
        } else if mode == AdmissionMode::Warn {
            decision.response.warnings =
                vec![crate::answer::clip(&message, crate::answer::MAX_WARNING)];
        }
        decision
    }
}

/// Whether objects of this API group need the analyses: of the checks the webhook runs,
/// only RBAC grants and NetworkPolicy rules are judged by one (the rest of an analysis'
/// work, such as the RBAC model of Kubernetes' default roles, would cost every Pod a
/// model it cannot use).
fn analysed(group: &str) -> bool {
    matches!(group, "rbac.authorization.k8s.io" | "networking.k8s.io")
}

fn allow(uid: &str) -> AdmissionResponse {
    AdmissionResponse {
        uid: uid.to_owned(),
        allowed: true,
        status: None,
        warnings: Vec::new(),
        audit_annotations: BTreeMap::new(),
    }
}

fn describe(r: &AdmissionRequest<'_>) -> String {
    let kind = if r.kind.kind.is_empty() {
        &r.resource.resource
    } else {
        &r.kind.kind
    };
    let name = if r.name.is_empty() {
        "(generated)"
    } else {
        &r.name
    };
    if r.namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {}/{name}", r.namespace)
    }
}

/// What makes two findings the same across an update: the check, what it says, and
/// the container it is about (by name: an inserted container shifts the indices of the
/// ones after it) or, for the rest, the field.
fn same_finding(f: &Finding) -> (&'static str, String, String) {
    let place = match &f.container {
        Some(c) => format!("container {c}"),
        None => f.path.clone(),
    };
    (f.check.id, f.message.text().into_owned(), place)
}

#[derive(Deserialize)]
struct NamespaceMeta {
    #[serde(default)]
    metadata: LabelsOnly,
}

#[derive(Deserialize, Default)]
struct LabelsOnly {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// A Namespace object's labels (`None` if it cannot be read).
fn namespace_labels(object: &str) -> Option<Vec<(String, String)>> {
    let meta: NamespaceMeta = serde_json::from_str(object).ok()?;
    Some(
        meta.metadata
            .labels
            .unwrap_or_default()
            .into_iter()
            .collect(),
    )
}

fn has_namespace(doc: &Document) -> bool {
    doc.root()
        .and_then(|r| r.get("metadata"))
        .and_then(|m| m.get("namespace"))
        .and_then(|n| n.as_str())
        .is_some_and(|n| !n.is_empty())
}

/// The object with `metadata.namespace` set to the request's, so that exceptions and
/// the report name the namespace the object is created in. The API server sets it
/// before admission for the requests it fills in; this covers the rest.
fn with_namespace(object: &str, namespace: &str) -> Option<String> {
    let mut value = serde_json::from_str::<serde_json::Value>(object).ok()?;
    let meta = value
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()))
        .as_object_mut()?;
    meta.insert("namespace".into(), namespace.into());
    serde_json::to_string(&value).ok()
}
