//! Kubernetes audit-log threat detection.
//!
//! Audit events (`audit.k8s.io/v1`) are read line by line ([`events`]) and matched
//! against Falco rule files ([`rules`]: lists, macros, rules in Falco's condition
//! language, [`condition`], over the `ka.*` and `jevt.*` fields of [`fields`]). Each
//! match is a [`Detection`], written in Falco's JSON output format ([`falco_json`]) so
//! that pipelines built for Falco read it.

pub mod condition;
pub mod event;
pub mod events;
pub mod fields;
pub mod output;
pub mod rules;
pub mod scan;
pub mod serve;
pub mod sink;
pub mod spool;
pub mod state;
pub mod watch;

use serde_json::{json, Map, Value};

pub use event::AuditEvent;
pub use rules::{Loader, Priority, Rule, RuleSet};

/// Palisade's own rules (Falco's language, source `k8s_audit`, MITRE ATT&CK tags).
pub const PALISADE_RULES: &str = include_str!("../rules/palisade_k8s_audit.yaml");

/// The audit policy `palisade audit policy` recommends (`--audit-policy-file`).
pub const RECOMMENDED_POLICY: &str = include_str!("../policy/audit-policy.yaml");

/// The name under which [`PALISADE_RULES`] are given to `--rules`.
pub const PALISADE_RULES_NAME: &str = "palisade";

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

/// The detections of `rules` on one event, in rule order; rules that keep state
/// ([`state`]) are matched apart, in event order.
#[must_use]
pub fn detect<'r>(rules: &'r RuleSet, event: &AuditEvent<'_>) -> Vec<Detection<'r>> {
    detect_in(rules, event, &mut rules::FieldCache::new(rules, event))
}

/// [`detect`] with the event's field values read into `cache` (shared with other
/// conditions on the same event).
fn detect_in<'r>(
    rules: &'r RuleSet,
    event: &AuditEvent<'_>,
    cache: &mut rules::FieldCache<'_, '_>,
) -> Vec<Detection<'r>> {
    rules
        .rules
        .iter()
        .filter(|r| r.state.is_none() && r.condition.eval(rules, cache))
        .map(|rule| {
            let (output, output_fields) = rules::format_output(&rule.output, event);
            let time = event.time().to_owned();
            Detection {
                rule,
                time,
                output,
                output_fields,
            }
        })
        .collect()
}

/// A detection as one line of Falco's JSON output (`json_output: true`): its keys, the
/// time with nine fractional digits, sorted tags, `null` for fields without a value.
#[must_use]
pub fn falco_json(d: &Detection<'_>, hostname: &str) -> Value {
    let fields: Map<String, Value> = d.output_fields.iter().cloned().collect();
    let time = nanos_time(&d.time);
    let mut tags = d.rule.tags.clone();
    tags.sort();
    json!({
        "hostname": hostname,
        "output": format!("{}: {} {}", clock(&time), d.rule.priority.as_str(), d.output),
        "output_fields": fields,
        "priority": d.rule.priority.as_str(),
        "rule": d.rule.name,
        "source": "k8s_audit",
        "tags": tags,
        "time": time,
    })
}

/// An RFC 3339 UTC timestamp with its fraction written to nine digits, as Falco writes
/// times (`2026-12-04T10:00:00.123456000Z`); other text is kept as it is.
#[must_use]
pub fn nanos_time(time: &str) -> String {
    let Some(body) = time.strip_suffix('Z') else {
        return time.to_owned();
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return time.to_owned();
    }
    format!("{whole}.{fraction:0<9}Z")
}

/// The time of day of an RFC 3339 timestamp, as Falco starts its output lines.
fn clock(time: &str) -> &str {
    time.split_once('T')
        .map_or(time, |(_, t)| t.trim_end_matches('Z'))
}
