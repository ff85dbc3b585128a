//! Rules that remember: what only a detector that keeps state across events can see.
//!
//! A rule with `palisade_state` is matched in event order, after the stateless rules,
//! with its condition as the filter:
//! - `first-seen FIELD`: fires the first time a value of FIELD (e.g. `ka.user.name`)
//!   matches the condition (a Secret read by an account that never read one before).
//! - `privileged-pod-exec`: an exec or attach into a pod whose creation was audited and
//!   that fails the Pod Security Standards' baseline (Palisade's own checks, as `scan`
//!   rates the pod), naming why.
//! - `rbac-escalation`: an RBAC change after which a subject (not one Kubernetes runs
//!   as) has a path to cluster-admin it did not have before; the RBAC objects are
//!   rebuilt from the audited bodies (with the default roles), and the paths found by
//!   `palisade-rbac`'s escalation graph, as `palisade rbac escalations` finds them.
//!
//! The state (first-seen values, rated pods, RBAC objects) is kept in the watch's
//! checkpoint database, written in the same transaction as the offsets.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use palisade_engine::{Check, Level, Profile, ScanOptions, StreamingScan, Version};
use palisade_model::Category;
use palisade_source::{parse_document, split_documents, Limits};
use serde_json::Value;

use crate::fields;
use crate::rules::{format_output, Rule};
use crate::{AuditEvent, Detection};

/// What a stateful rule remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateKind {
    FirstSeen { field: String },
    PrivilegedPodExec,
    RbacEscalation,
}

impl StateKind {
    /// Reads a `palisade_state` value.
    ///
    /// # Errors
    /// Not one of the kinds.
    pub fn parse(text: &str) -> Result<StateKind, String> {
        let text = text.trim();
        if let Some(field) = text.strip_prefix("first-seen") {
            let field = field.trim();
            if fields::lookup(field.split('[').next().unwrap_or(field)).is_none() {
                return Err(format!("first-seen: unknown field {field:?}"));
            }
            return Ok(StateKind::FirstSeen {
                field: field.to_owned(),
            });
        }
        match text {
            "privileged-pod-exec" => Ok(StateKind::PrivilegedPodExec),
            "rbac-escalation" => Ok(StateKind::RbacEscalation),
            other => Err(format!(
                "palisade_state {other:?} is none of: first-seen FIELD, privileged-pod-exec, rbac-escalation"
            )),
        }
    }
}

const RBAC_RESOURCES: &[&str] = &[
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
];

fn stateful_resource(resource: Option<&str>) -> bool {
    resource.is_some_and(|r| r == "pods" || RBAC_RESOURCES.contains(&r))
}

/// What a successful write or deletion of a pod or RBAC object changes in the state:
/// a pod rated (its failing baseline checks), an RBAC object kept, or either removed.
/// A write without its body (a policy below `RequestResponse`) changes nothing. Pure,
/// so read in parallel; applied in event order.
#[must_use]
pub fn object_change(event: &AuditEvent<'_>) -> Option<Change> {
    let obj = event.head.object_ref.as_ref()?;
    if obj.subresource.is_some() || !stateful_resource(obj.resource.as_deref()) {
        return None;
    }
    let verb = event.head.verb.as_deref()?;
    if !matches!(verb, "create" | "update" | "patch" | "delete") {
        return None;
    }
    let failed = event
        .head
        .response_status
        .as_ref()
        .and_then(|s| s.code)
        .is_some_and(|c| !(200..300).contains(&c));
    if failed {
        return None;
    }
    let resource = obj.resource.as_deref().unwrap_or("");
    let ns = obj.namespace.as_deref().unwrap_or("");
    let pods = resource == "pods";
    if verb == "delete" {
        let name = obj.name.as_deref()?;
        return Some(if pods {
            Change::Pod {
                key: format!("{ns}/{name}"),
                reasons: None,
            }
        } else {
            Change::Rbac {
                key: format!("{resource}/{ns}/{name}"),
                object: None,
            }
        });
    }
    if event.head.request_object.is_none() && event.head.response_object.is_none() {
        return None;
    }
    // The object as stored: the response of a write (a patch's request is a patch).
    let body = event
        .response()
        .filter(|v| v.get("kind").and_then(Value::as_str) != Some("Status"))
        .or_else(|| (verb != "patch").then(|| event.request()).flatten())
        .filter(|v| v.get("kind").is_some())?;
    let name = match obj.name.as_deref() {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => body.pointer("/metadata/name")?.as_str()?.to_owned(),
    };
    let json = body.to_string();
    Some(if pods {
        Change::Pod {
            key: format!("{ns}/{name}"),
            reasons: Some(rater().rate(&json)),
        }
    } else {
        Change::Rbac {
            key: format!("{resource}/{ns}/{name}"),
            object: Some(json),
        }
    })
}

/// The pod rater, made once (the checks and options are read-only).
fn rater() -> &'static PodRater {
    static RATER: std::sync::OnceLock<PodRater> = std::sync::OnceLock::new();
    RATER.get_or_init(PodRater::new)
}

/// A change to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    FirstSeen {
        rule: String,
        value: String,
    },
    Pod {
        key: String,
        reasons: Option<Vec<String>>,
    },
    Rbac {
        key: String,
        object: Option<String>,
    },
}

/// The state of the stateful rules.
#[derive(Default)]
pub struct AuditState {
    first_seen: HashSet<(String, String)>,
    /// Pods rated (namespace/name): the baseline checks they fail (empty: none).
    pods: HashMap<String, Vec<String>>,
    /// RBAC objects (resource/namespace/name) as JSON.
    rbac: BTreeMap<String, String>,
    /// Subjects with a path to cluster-admin, once computed.
    escalated: Option<BTreeSet<String>>,
    changes: Vec<Change>,
}

impl std::fmt::Debug for AuditState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditState")
            .field("first_seen", &self.first_seen.len())
            .field("pods", &self.pods.len())
            .field("rbac", &self.rbac.len())
            .finish_non_exhaustive()
    }
}

impl AuditState {
    /// Restores a change recorded by an earlier run (not recorded again).
    pub fn restore(&mut self, change: Change) {
        self.apply(&change);
    }

    /// The changes since the last call, to persist.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    fn apply(&mut self, change: &Change) {
        match change {
            Change::FirstSeen { rule, value } => {
                self.first_seen.insert((rule.clone(), value.clone()));
            }
            Change::Pod { key, reasons } => match reasons {
                Some(r) => {
                    self.pods.insert(key.clone(), r.clone());
                }
                None => {
                    self.pods.remove(key);
                }
            },
            Change::Rbac { key, object } => {
                match object {
                    Some(o) => self.rbac.insert(key.clone(), o.clone()),
                    None => self.rbac.remove(key),
                };
                self.escalated = None;
            }
        }
    }

    /// Applies and keeps `change`, unless it changes nothing; true if it changed
    /// something.
    fn record(&mut self, change: Change) -> bool {
        let unchanged = match &change {
            Change::FirstSeen { rule, value } => {
                self.first_seen.contains(&(rule.clone(), value.clone()))
            }
            Change::Pod { key, reasons } => self.pods.get(key) == reasons.as_ref(),
            Change::Rbac { key, object } => self.rbac.get(key) == object.as_ref(),
        };
        if unchanged {
            return false;
        }
        self.apply(&change);
        self.changes.push(change);
        true
    }

    /// Whether the pod `namespace/name` was rated and fails the baseline.
    #[must_use]
    pub fn is_privileged(&self, pod: &str) -> bool {
        self.pods.get(pod).is_some_and(|fails| !fails.is_empty())
    }

    /// Why an exec into `pod` is reported, if it is: the baseline checks it fails.
    #[must_use]
    pub fn exec_detail(&self, pod: &str) -> Option<String> {
        let fails = self.pods.get(pod).filter(|f| !f.is_empty())?;
        Some(format!(
            "the pod fails the Pod Security baseline: {}",
            fails.join(", ")
        ))
    }

    /// Applies a write or deletion ([`object_change`]). With `paths`, the subjects it
    /// newly gives a path to cluster-admin come back, as the detail of a detection.
    pub fn apply_change(&mut self, change: Change, paths: bool) -> Option<String> {
        let rbac_write = matches!(
            &change,
            Change::Rbac {
                object: Some(_),
                ..
            }
        );
        // Removing RBAC objects grants nothing: only writes are compared.
        let before = (paths && rbac_write).then(|| self.escalated_subjects());
        let changed = self.record(change);
        let before = before.filter(|_| changed)?;
        let after = self.escalated_subjects();
        let new: Vec<&String> = after.difference(&before).collect();
        if new.is_empty() {
            return None;
        }
        let shown: Vec<&str> = new.iter().take(5).map(|s| s.as_str()).collect();
        let more = if new.len() > 5 {
            format!(" and {} more", new.len() - 5)
        } else {
            String::new()
        };
        Some(format!(
            "new path to cluster-admin for {}{more}",
            shown.join(", ")
        ))
    }

    /// Records that `rule` saw `value`; true the first time.
    pub fn first_time(&mut self, rule: &Rule, value: &str) -> bool {
        !value.is_empty()
            && self.record(Change::FirstSeen {
                rule: rule.name.clone(),
                value: value.to_owned(),
            })
    }

    /// The subjects (not Kubernetes' own) with a path to cluster-admin now.
    fn escalated_subjects(&mut self) -> BTreeSet<String> {
        if let Some(e) = &self.escalated {
            return e.clone();
        }
        let records = self.rbac.values().filter_map(|json| {
            let chunks = split_documents(json);
            let chunk = chunks.first()?;
            let doc = parse_document(&json[chunk.range.clone()], chunk, &Limits::default()).ok()?;
            let (objects, _) = palisade_inventory::objects_in(&doc);
            let object = objects.first()?;
            let pods = palisade_inventory::find_pod_specs(object);
            palisade_rbac::extract(object, &pods, None).ok().flatten()
        });
        let records: Vec<_> = records.collect();
        let model = palisade_rbac::Model::build_with(records, true);
        let subjects: BTreeSet<String> = palisade_rbac::escalations(&model)
            .into_iter()
            .filter(|c| !c.subject.is_system())
            .map(|c| c.subject.display())
            .collect();
        self.escalated = Some(subjects.clone());
        subjects
    }
}

/// The pod (namespace/name) an exec or attach event enters.
#[must_use]
pub fn exec_target(event: &AuditEvent<'_>) -> Option<String> {
    let obj = event.head.object_ref.as_ref()?;
    Some(format!(
        "{}/{}",
        obj.namespace.as_deref().unwrap_or(""),
        obj.name.as_deref()?
    ))
}

/// The value a first-seen `rule` remembers of `event`; `None` for other rules.
#[must_use]
pub fn first_seen_value(rule: &Rule, event: &AuditEvent<'_>) -> Option<String> {
    let Some(StateKind::FirstSeen { field }) = &rule.state else {
        return None;
    };
    let (name, arg) = match field.split_once('[') {
        Some((n, a)) => (n, Some(a.trim_end_matches(']'))),
        None => (field.as_str(), None),
    };
    Some(fields::extract(event, name, arg).join(","))
}

/// A detection of `rule` whose output says `detail`, which is also a field.
pub fn with_detail<'r>(rule: &'r Rule, event: &AuditEvent<'_>, detail: String) -> Detection<'r> {
    let (output, mut output_fields) = format_output(&rule.output, event);
    output_fields.push(("palisade.detail".to_owned(), Value::String(detail.clone())));
    Detection {
        rule,
        time: event.time().to_owned(),
        output: format!("{output} ({detail})"),
        output_fields,
    }
}

/// Rates a pod as `palisade scan` does, at the Pod Security baseline.
struct PodRater {
    checks: Vec<&'static dyn Check>,
    options: ScanOptions,
}

impl PodRater {
    fn new() -> PodRater {
        let checks = palisade_checks::registry()
            .into_iter()
            .filter(|c| c.meta().category == Category::PodSecurity)
            .collect();
        PodRater {
            checks,
            options: ScanOptions {
                profile: Profile {
                    level: Level::Baseline,
                    version: Version::LATEST,
                },
                ..ScanOptions::default()
            },
        }
    }

    /// The baseline checks the pod in `json` fails, sorted.
    fn rate(&self, json: &str) -> Vec<String> {
        let chunks = split_documents(json);
        let Some(chunk) = chunks.first() else {
            return Vec::new();
        };
        let Ok(doc) = parse_document(&json[chunk.range.clone()], chunk, &self.options.limits)
        else {
            return Vec::new();
        };
        let mut scan = StreamingScan::new(&self.checks, &self.options);
        scan.add(vec![(Arc::from("audit"), doc)]);
        let mut ids: Vec<String> = scan
            .finish()
            .findings
            .iter()
            .map(|f| f.check.id.to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}
