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
use crate::rules::{format_output, Rule, RuleSet};
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

/// Whether `event` feeds the state: a pod or RBAC write with its body (a policy at
/// `RequestResponse`, as `palisade audit policy` recommends for them), or a deletion.
#[must_use]
pub fn feeds(event: &AuditEvent<'_>) -> bool {
    let Some(obj) = &event.head.object_ref else {
        return false;
    };
    if obj.subresource.is_some() {
        return false;
    }
    let has_body = event.head.request_object.is_some() || event.head.response_object.is_some();
    let writes = matches!(
        event.head.verb.as_deref(),
        Some("create" | "update" | "patch")
    );
    writes && has_body && stateful_resource(obj.resource.as_deref())
}

fn stateful_resource(resource: Option<&str>) -> bool {
    resource.is_some_and(|r| r == "pods" || RBAC_RESOURCES.contains(&r))
}

/// What a successful deletion of a pod or RBAC object removes from the state (read
/// without the event's body, so in parallel).
#[must_use]
pub fn removal(event: &AuditEvent<'_>) -> Option<Change> {
    let obj = event.head.object_ref.as_ref()?;
    if obj.subresource.is_some()
        || event.head.verb.as_deref() != Some("delete")
        || !stateful_resource(obj.resource.as_deref())
        || event
            .head
            .response_status
            .as_ref()
            .and_then(|s| s.code)
            .is_some_and(|c| !(200..300).contains(&c))
    {
        return None;
    }
    let resource = obj.resource.as_deref().unwrap_or("");
    let ns = obj.namespace.as_deref().unwrap_or("");
    let name = obj.name.as_deref()?;
    Some(if resource == "pods" {
        Change::Pod {
            key: format!("{ns}/{name}"),
            reasons: None,
        }
    } else {
        Change::Rbac {
            key: format!("{resource}/{ns}/{name}"),
            object: None,
        }
    })
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
    rater: Option<PodRater>,
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

    /// Feeds `event` to the state and returns the stateful rules' detections.
    pub fn observe<'r>(
        &mut self,
        rules: &'r RuleSet,
        event: &AuditEvent<'_>,
    ) -> Vec<Detection<'r>> {
        // First-seen rules are decided from values read in parallel (`first_time`).
        let stateful: Vec<&'r Rule> = rules
            .rules
            .iter()
            .filter(|r| {
                matches!(
                    r.state,
                    Some(StateKind::PrivilegedPodExec | StateKind::RbacEscalation)
                )
            })
            .collect();
        if stateful.is_empty() {
            return Vec::new();
        }
        let mut cache = crate::rules::FieldCache::new(rules, event);
        let matched: Vec<&'r Rule> = stateful
            .into_iter()
            .filter(|r| r.condition.eval(rules, &mut cache))
            .collect();
        let mut out = Vec::new();
        // RBAC paths before and after this event, computed only when a rule asks.
        let escalation_rules: Vec<&&Rule> = matched
            .iter()
            .filter(|r| r.state == Some(StateKind::RbacEscalation))
            .collect();
        // Deletions are applied apart ([`removal`]); they grant nothing.
        let before = if escalation_rules.is_empty() || !feeds(event) {
            None
        } else {
            Some(self.escalated_subjects())
        };
        let changed = feeds(event) && self.feed(event);
        for rule in matched {
            let detail = match rule.state.as_ref().expect("filtered") {
                StateKind::FirstSeen { .. } => continue,
                StateKind::PrivilegedPodExec => {
                    let Some(obj) = &event.head.object_ref else {
                        continue;
                    };
                    let key = format!(
                        "{}/{}",
                        obj.namespace.as_deref().unwrap_or(""),
                        obj.name.as_deref().unwrap_or("")
                    );
                    match self.pods.get(&key) {
                        Some(reasons) if !reasons.is_empty() => format!(
                            "the pod fails the Pod Security baseline: {}",
                            reasons.join(", ")
                        ),
                        _ => continue,
                    }
                }
                StateKind::RbacEscalation => {
                    let Some(before) = before.as_ref().filter(|_| changed) else {
                        continue;
                    };
                    let after = self.escalated_subjects();
                    let new: Vec<&String> = after.difference(before).collect();
                    if new.is_empty() {
                        continue;
                    }
                    let shown: Vec<&str> = new.iter().take(5).map(|s| s.as_str()).collect();
                    let more = if new.len() > 5 {
                        format!(" and {} more", new.len() - 5)
                    } else {
                        String::new()
                    };
                    format!("new path to cluster-admin for {}{more}", shown.join(", "))
                }
            };
            out.push(with_detail(rule, event, detail));
        }
        out
    }

    /// Applies a [`removal`].
    pub fn remove(&mut self, change: Change) {
        self.record(change);
    }

    /// Records that `rule` saw `value`; true the first time.
    pub fn first_time(&mut self, rule: &Rule, value: &str) -> bool {
        !value.is_empty()
            && self.record(Change::FirstSeen {
                rule: rule.name.clone(),
                value: value.to_owned(),
            })
    }

    /// Updates pods and RBAC objects from a write's body; true if the state changed.
    fn feed(&mut self, event: &AuditEvent<'_>) -> bool {
        let Some(obj) = &event.head.object_ref else {
            return false;
        };
        let resource = obj.resource.as_deref().unwrap_or("");
        let key_ns = obj.namespace.as_deref().unwrap_or("");
        let name = obj.name.as_deref().unwrap_or("");
        let failed = event
            .head
            .response_status
            .as_ref()
            .and_then(|s| s.code)
            .is_some_and(|c| !(200..300).contains(&c));
        if failed {
            return false;
        }
        let verb = event.head.verb.as_deref().unwrap_or("");
        // The object as stored: the response of a write (a patch's request is a patch).
        let body = event
            .response()
            .filter(|v| v.get("kind").and_then(Value::as_str) != Some("Status"))
            .or_else(|| (verb != "patch").then(|| event.request()).flatten())
            .filter(|v| v.get("kind").is_some());
        let name = if name.is_empty() {
            body.and_then(|b| b.pointer("/metadata/name"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        } else {
            name.to_owned()
        };
        if resource == "pods" {
            let key = format!("{key_ns}/{name}");
            let Some(body) = body else { return false };
            let reasons = Some(self.rater().rate(&body.to_string()));
            self.record(Change::Pod { key, reasons })
        } else {
            let key = format!("{resource}/{key_ns}/{name}");
            let Some(body) = body else { return false };
            let object = Some(body.to_string());
            self.record(Change::Rbac { key, object })
        }
    }

    fn rater(&mut self) -> &PodRater {
        self.rater.get_or_insert_with(PodRater::new)
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

/// The detection of a first-seen `rule` on `event`, which showed `value` first.
#[must_use]
pub fn first_seen_detection<'r>(
    rule: &'r Rule,
    event: &AuditEvent<'_>,
    value: &str,
) -> Detection<'r> {
    let field = match &rule.state {
        Some(StateKind::FirstSeen { field }) => field.as_str(),
        _ => "",
    };
    with_detail(rule, event, format!("first time {field} = {value}"))
}

/// A detection of `rule` whose output says `detail`, which is also a field.
fn with_detail<'r>(rule: &'r Rule, event: &AuditEvent<'_>, detail: String) -> Detection<'r> {
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
