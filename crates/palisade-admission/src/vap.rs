//! `palisade admission export-vap`: the checks CEL can express, as
//! ValidatingAdmissionPolicy and binding objects (`admissionregistration.k8s.io/v1`,
//! Kubernetes 1.30+), so a cluster enforces them with no webhook.
//!
//! The export follows the same configuration as the webhook: the selected checks and
//! Pod Security level (at the newest version), severity overrides, inline exceptions
//! (unless `--strict`), exempt namespaces, users and groups, and the modes. Findings at
//! or above `deny-severity` go to the `-deny` policy, the rest to `-warn`; each policy is
//! bound once per mode, by the namespace's `palisade.dev/mode` label as the webhook reads
//! it (missing: the default mode; not a mode: enforce).

use palisade_checks::cel::{self, CelExport, Target};
use palisade_config::{AdmissionMode, AdmissionSettings, UpdatePolicy};
use palisade_engine::{Check, ScanOptions, Version, IGNORE_ANNOTATION};
use palisade_model::{CheckMeta, Severity};
use serde_json::{json, Value};

use crate::judge::MODE_LABEL;

/// The API version of the exported objects.
pub const VAP_API_VERSION: &str = "admissionregistration.k8s.io/v1";

/// What `export-vap` writes and what it left out.
#[derive(Debug, Default)]
pub struct VapExport {
    /// Policies, then bindings.
    pub objects: Vec<Value>,
    /// Exported check ids.
    pub exported: Vec<&'static str>,
    /// Selected checks not exported, with why.
    pub not_exported: Vec<(&'static str, &'static str)>,
    /// Where the export differs from the webhook under this configuration.
    pub notes: Vec<String>,
}

/// One validation of the policy, before it is written.
struct Rule {
    meta: &'static CheckMeta,
    validation: cel::Validation,
    severity: Severity,
}

/// The export for these checks and settings; policy names start with `prefix`.
#[must_use]
pub fn export_vap(
    checks: &[&'static dyn Check],
    scan: &ScanOptions,
    settings: &AdmissionSettings,
    prefix: &str,
) -> VapExport {
    let mut out = VapExport::default();
    let profile = scan.profile;
    if profile.version < Version::LATEST {
        out.notes.push(format!(
            "the Pod Security checks are written as at the newest version ({}), not v1.{} as configured",
            Version::LATEST,
            profile.version.minor
        ));
    }
    let mut rules = Vec::new();
    for check in checks {
        let meta = check.meta();
        if !scan.settings.is_active(meta.id) {
            continue;
        }
        if let Some(pss) = palisade_checks::pss::CHECKS
            .iter()
            .find(|c| c.meta.id == meta.id)
        {
            if !pss.applies(profile.level, Version::LATEST) {
                continue;
            }
        }
        match cel::export(meta) {
            CelExport::Exported(validations) => {
                out.exported.push(meta.id);
                for validation in validations {
                    let severity = scan
                        .severity_overrides
                        .get(meta.id)
                        .copied()
                        .unwrap_or(validation.severity);
                    rules.push(Rule {
                        meta,
                        validation,
                        severity,
                    });
                }
            }
            CelExport::NotExportable(why) => out.not_exported.push((meta.id, why)),
        }
    }
    if !scan.exceptions.is_empty() {
        out.notes.push(format!(
            "the {} exception(s) of the config file are not exported: they hold in `scan` and the webhook only",
            scan.exceptions.len()
        ));
    }
    let (deny, warn): (Vec<Rule>, Vec<Rule>) = rules
        .into_iter()
        .partition(|r| r.severity >= settings.deny_severity);
    for (tier, tier_rules) in [(Tier::Deny, deny), (Tier::Warn, warn)] {
        if tier_rules.is_empty() {
            continue;
        }
        let name = format!("{prefix}-{}", tier.as_str());
        out.objects.push(policy(
            &name,
            &tier_rules,
            scan,
            settings,
            profile_text(scan),
        ));
        for mode in AdmissionMode::ALL {
            for (suffix, selector) in mode_selectors(mode, settings.default_mode) {
                out.objects
                    .push(binding(&name, mode, suffix, tier.actions(mode), selector));
            }
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Tier {
    /// At or above `deny-severity`: denied in enforce mode.
    Deny,
    /// Below it: warnings in enforce mode.
    Warn,
}

impl Tier {
    fn as_str(self) -> &'static str {
        match self {
            Tier::Deny => "deny",
            Tier::Warn => "warn",
        }
    }

    /// The binding's `validationActions`, as the webhook answers in each mode (it always
    /// writes audit annotations).
    fn actions(self, mode: AdmissionMode) -> [&'static str; 2] {
        match (mode, self) {
            (AdmissionMode::Enforce, Tier::Deny) => ["Deny", "Audit"],
            (AdmissionMode::Enforce | AdmissionMode::Warn, _) => ["Warn", "Audit"],
            (AdmissionMode::Audit, _) => ["Audit", ""],
        }
    }
}

fn profile_text(scan: &ScanOptions) -> String {
    format!("{}:latest", scan.profile.level.as_str())
}

/// Namespace selectors that together pick the namespaces in `mode`, each with a name
/// suffix for its binding: the label as the webhook reads it.
fn mode_selectors(mode: AdmissionMode, default: AdmissionMode) -> Vec<(&'static str, Value)> {
    let others: Vec<&str> = AdmissionMode::ALL
        .iter()
        .filter(|m| **m != AdmissionMode::Enforce)
        .map(|m| m.as_str())
        .collect();
    let expr = |operator: &str, values: &[&str]| {
        if values.is_empty() {
            json!({"key": MODE_LABEL, "operator": operator})
        } else {
            json!({"key": MODE_LABEL, "operator": operator, "values": values})
        }
    };
    let selector = |exprs: Vec<Value>| json!({"matchExpressions": exprs});
    match mode {
        // Enforce is also what a label that names no mode means.
        AdmissionMode::Enforce if default == AdmissionMode::Enforce => {
            vec![("", selector(vec![expr("NotIn", &others)]))]
        }
        AdmissionMode::Enforce => vec![(
            "",
            selector(vec![expr("Exists", &[]), expr("NotIn", &others)]),
        )],
        m => {
            let mut out = vec![("", selector(vec![expr("In", &[m.as_str()])]))];
            if m == default {
                out.push(("-unlabelled", selector(vec![expr("DoesNotExist", &[])])));
            }
            out
        }
    }
}

fn binding(
    policy: &str,
    mode: AdmissionMode,
    suffix: &str,
    actions: [&str; 2],
    namespace_selector: Value,
) -> Value {
    let actions: Vec<&str> = actions.into_iter().filter(|a| !a.is_empty()).collect();
    json!({
        "apiVersion": VAP_API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {
            "name": format!("{policy}-{}{suffix}", mode.as_str()),
            "labels": {"app.kubernetes.io/managed-by": "palisade"},
        },
        "spec": {
            "policyName": policy,
            "validationActions": actions,
            "matchResources": {"namespaceSelector": namespace_selector},
        },
    })
}

fn policy(
    name: &str,
    rules: &[Rule],
    scan: &ScanOptions,
    settings: &AdmissionSettings,
    profile: String,
) -> Value {
    let targets: Vec<Target> = rules.iter().map(|r| r.validation.target).collect();
    let mut variables: Vec<Value> = cel::variables()
        .into_iter()
        .map(|(name, expression)| json!({"name": name, "expression": expression}))
        .collect();
    let honour_inline = !scan.strict;
    if honour_inline {
        variables.push(json!({"name": "ignoreAnnotations", "expression": ignore_annotations()}));
    }
    let validations: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut guards = vec![format!("!({})", r.validation.target.condition())];
            if honour_inline {
                guards.push(format!(
                    "variables.ignoreAnnotations.exists(a, {})",
                    cel::ignore_condition(r.meta)
                ));
            }
            json!({
                "expression": format!("{} || ({})", guards.join(" || "), r.validation.expression),
                "message": format!(
                    "{}: {} ({}; see `palisade checks explain {}`)",
                    r.meta.id, r.meta.title, r.severity, r.meta.id
                ),
                "reason": "Forbidden",
            })
        })
        .collect();
    let ids: Vec<&str> = {
        let mut ids: Vec<&str> = rules.iter().map(|r| r.meta.id).collect();
        ids.dedup();
        ids
    };
    let mut conditions = Vec::new();
    if settings.updates == UpdatePolicy::Introduced {
        conditions.push(json!({"name": "changed-on-update", "expression": changed_on_update()}));
    }
    if let Some(e) = exempt_namespaces(&settings.exempt_namespaces) {
        conditions.push(json!({"name": "not-exempt-namespace", "expression": e}));
    }
    if !settings.exempt_users.is_empty() {
        conditions.push(json!({
            "name": "not-exempt-user",
            "expression": format!("!(request.userInfo.username in {})", cel_list(&settings.exempt_users)),
        }));
    }
    if !settings.exempt_groups.is_empty() {
        conditions.push(json!({
            "name": "not-exempt-group",
            "expression": format!(
                "!(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in {}))",
                cel_list(&settings.exempt_groups)
            ),
        }));
    }
    let mut spec = json!({
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": resource_rules(&targets)},
        "variables": variables,
        "validations": validations,
    });
    if !conditions.is_empty() {
        spec["matchConditions"] = Value::Array(conditions);
    }
    json!({
        "apiVersion": VAP_API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "palisade"},
            "annotations": {
                "palisade.dev/pod-security": profile,
                "palisade.dev/checks": ids.join(","),
            },
        },
        "spec": spec,
    })
}

/// The `palisade.dev/ignore` annotations of the object and of its pod template.
fn ignore_annotations() -> String {
    format!(
        "(has(object.metadata.annotations) && '{IGNORE_ANNOTATION}' in object.metadata.annotations ? [object.metadata.annotations['{IGNORE_ANNOTATION}']] : []) + (variables.hasPodSpec && '{IGNORE_ANNOTATION}' in variables.podAnnotations ? [variables.podAnnotations['{IGNORE_ANNOTATION}']] : [])"
    )
}

/// True unless the request is an UPDATE that leaves what the checks read as it was (the
/// pod spec and its annotations, a Service's spec, a Namespace's name): updates are
/// judged on what they change, as the webhook's `updates: introduced`.
fn changed_on_update() -> String {
    let new = cel::variables_of("object", "");
    let old = cel::variables_of("oldObject", "");
    let get = |vars: &[(&str, String)], name: &str| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| format!("({e})"))
            .unwrap_or_default()
    };
    format!(
        "request.operation != 'UPDATE' || oldObject == null || !(\n  ({has_new}\n   && {has_old}\n   && {spec_new}\n      == {spec_old}\n   && {ann_new}\n      == {ann_old})\n  || (object.kind == 'Service' && has(object.spec) && has(oldObject.spec) && object.spec == oldObject.spec)\n  || object.kind == 'Namespace'\n)",
        has_new = get(&new, "hasPodSpec"),
        has_old = get(&old, "hasPodSpec"),
        spec_new = get(&new, "podSpec"),
        spec_old = get(&old, "podSpec"),
        ann_new = get(&new, "podAnnotations"),
        ann_old = get(&old, "podAnnotations"),
    )
}

/// The matchCondition that skips exempt namespaces (globs), if any.
fn exempt_namespaces(patterns: &[String]) -> Option<String> {
    if patterns.is_empty() {
        return None;
    }
    let literal = |p: &String| !p.contains(['*', '?', '[']);
    let names: Vec<String> = patterns.iter().filter(|p| literal(p)).cloned().collect();
    let mut terms = Vec::new();
    if !names.is_empty() {
        terms.push(format!("request.namespace in {}", cel_list(&names)));
    }
    for p in patterns.iter().filter(|p| !literal(p)) {
        terms.push(format!(
            "request.namespace.matches('{}')",
            cel::cel_single_quoted(&cel::glob_to_regex(p))
        ));
    }
    Some(format!("!({})", terms.join(" || ")))
}

fn cel_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("'{}'", cel::cel_single_quoted(s)))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// The resources the policy matches: what the targets read, on create and update.
fn resource_rules(targets: &[Target]) -> Vec<Value> {
    let mut by_group: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut add = |group: &'static str, resource: &'static str| match by_group
        .iter_mut()
        .find(|(g, _)| *g == group)
    {
        Some((_, r)) => r.push(resource),
        None => by_group.push((group, vec![resource])),
    };
    if targets.contains(&Target::PodSpec) {
        for (group, resource, _) in cel::POD_KINDS {
            add(group, resource);
            if resource == "pods" {
                // `kubectl debug` adds containers through this subresource.
                add(group, "pods/ephemeralcontainers");
            }
        }
    }
    for (group, resource, kind) in cel::OTHER_KINDS {
        let wanted = match kind {
            "Service" => Target::Service,
            _ => Target::Namespace,
        };
        if targets.contains(&wanted) {
            add(group, resource);
        }
    }
    by_group
        .into_iter()
        .map(|(group, resources)| {
            json!({
                "apiGroups": [group],
                "apiVersions": ["*"],
                "operations": ["CREATE", "UPDATE"],
                "resources": resources,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_cover_every_label_value_once() {
        // Which selector variants pick a namespace with this label (None: no label).
        let picks = |selector: &Value, label: Option<&str>| -> bool {
            selector["matchExpressions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| {
                    let values: Vec<&str> = e["values"]
                        .as_array()
                        .map(|v| v.iter().map(|x| x.as_str().unwrap()).collect())
                        .unwrap_or_default();
                    match e["operator"].as_str().unwrap() {
                        "In" => label.is_some_and(|l| values.contains(&l)),
                        "NotIn" => label.is_none_or(|l| !values.contains(&l)),
                        "Exists" => label.is_some(),
                        "DoesNotExist" => label.is_none(),
                        o => panic!("{o}"),
                    }
                })
        };
        for default in AdmissionMode::ALL {
            for label in [
                None,
                Some("enforce"),
                Some("warn"),
                Some("audit"),
                Some("bogus"),
            ] {
                let expected = match label.map(AdmissionMode::parse) {
                    None => default,
                    Some(Some(m)) => m,
                    Some(None) => AdmissionMode::Enforce,
                };
                let chosen: Vec<AdmissionMode> = AdmissionMode::ALL
                    .into_iter()
                    .filter(|m| {
                        mode_selectors(*m, default)
                            .iter()
                            .any(|(_, s)| picks(s, label))
                    })
                    .collect();
                assert_eq!(chosen, [expected], "default {default:?}, label {label:?}");
                // And within a mode, one binding at most picks it (no double warnings).
                for m in AdmissionMode::ALL {
                    let n = mode_selectors(m, default)
                        .iter()
                        .filter(|(_, s)| picks(s, label))
                        .count();
                    assert!(n <= 1);
                }
            }
        }
    }

    #[test]
    fn exempt_namespaces_mix_names_and_globs() {
        let e = exempt_namespaces(&["kube-system".into(), "team-*".into()]).unwrap();
        assert_eq!(
            e,
            "!(request.namespace in ['kube-system'] || request.namespace.matches('^team-.*$'))"
        );
        assert_eq!(exempt_namespaces(&[]), None);
    }
}
