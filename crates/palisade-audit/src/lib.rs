//! Kubernetes audit-log threat detection.
//!
//! Audit events (`audit.k8s.io/v1`) are read line by line ([`events`]) and matched
//! against Falco rule files ([`rules`]: lists, macros, rules in Falco's condition
//! language, [`condition`], over the `ka.*` and `jevt.*` fields of [`fields`]). Each
//! match is a [`Detection`], written in Falco's JSON output format ([`falco_json`]) so
//! that pipelines built for Falco read it.

pub mod condition;
pub mod events;
pub mod fields;
pub mod rules;

use serde_json::{json, Map, Value};

pub use rules::{Loader, Priority, Rule, RuleSet};

/// A rule that matched an event.
#[derive(Debug, Clone)]
pub struct Detection<'r> {
    pub rule: &'r Rule,
    /// The event's `stageTimestamp` (else `requestReceivedTimestamp`), RFC 3339.
    pub time: String,
    /// The rule's output with the event's field values.
    pub output: String,
    pub output_fields: Vec<(String, Value)>,
}

/// The detections of `rules` on one event, in rule order.
#[must_use]
pub fn detect<'r>(rules: &'r RuleSet, event: &Value) -> Vec<Detection<'r>> {
    rules
        .rules
        .iter()
        .filter(|r| r.condition.eval(event))
        .map(|rule| {
            let (output, output_fields) = rules::format_output(&rule.output, event);
            let time = ["stageTimestamp", "requestReceivedTimestamp"]
                .iter()
                .find_map(|k| event.get(*k).and_then(Value::as_str))
                .unwrap_or("")
                .to_owned();
            Detection {
                rule,
                time,
                output,
                output_fields,
            }
        })
        .collect()
}

/// A detection as one line of Falco's JSON output (`json_output: true`).
#[must_use]
pub fn falco_json(d: &Detection<'_>, hostname: &str) -> Value {
    let fields: Map<String, Value> = d.output_fields.iter().cloned().collect();
    json!({
        "hostname": hostname,
        "output": format!("{}: {} {}", clock(&d.time), d.rule.priority.as_str(), d.output),
        "output_fields": fields,
        "priority": d.rule.priority.as_str(),
        "rule": d.rule.name,
        "source": "k8s_audit",
        "tags": d.rule.tags,
        "time": d.time,
    })
}

/// The time of day of an RFC 3339 timestamp, as Falco starts its output lines.
fn clock(time: &str) -> &str {
    time.split_once('T')
        .map_or(time, |(_, t)| t.trim_end_matches('Z'))
}
