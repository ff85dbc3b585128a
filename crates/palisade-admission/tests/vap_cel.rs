//! The exported ValidatingAdmissionPolicies, evaluated with a CEL interpreter as the API
//! server evaluates them (matchConditions, then variables, then validations), give every
//! object of the Pod Security fixtures, the examples and the real-world corpus the
//! verdict `palisade scan` gives it: check by check and severity by severity, at the
//! baseline and the restricted level.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use cel::{Context, Program, Value as Cel};
use palisade_admission::vap::{export_vap, VapExport};
use palisade_admission::Judge;
use palisade_config::Overrides;
use palisade_engine::scan;
use palisade_inventory::{InputKind, InputSpec};
use palisade_model::Severity;
use serde_json::{json, Value};

/// JSON as the API server holds an object: null fields are dropped when it decodes one.
fn to_cel(v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map(Cel::Int)
            .or_else(|| n.as_u64().map(Cel::UInt))
            .unwrap_or_else(|| Cel::Float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let m: HashMap<String, Cel> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), to_cel(v)))
                .collect();
            Cel::from(m)
        }
    }
}

/// (check, severity) of each failing rule or finding.
type Failures = BTreeSet<(String, Severity)>;

struct Validation {
    program: Program,
    check: String,
    severity: Severity,
}

/// One exported policy, compiled.
struct Policy {
    name: String,
    conditions: Vec<(String, Program)>,
    variables: Vec<(String, Program)>,
    validations: Vec<Validation>,
}

fn compile(text: &str) -> Program {
    Program::compile(text).unwrap_or_else(|e| panic!("does not compile: {e}\n{text}"))
}

fn policies(export: &VapExport) -> Vec<Policy> {
    let mut out = Vec::new();
    for object in &export.objects {
        if object["kind"] != "ValidatingAdmissionPolicy" {
            continue;
        }
        let spec = &object["spec"];
        let named = |list: &Value| -> Vec<(String, Program)> {
            list.as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    (
                        v["name"].as_str().unwrap().to_owned(),
                        compile(v["expression"].as_str().unwrap()),
                    )
                })
                .collect()
        };
        let validations = spec["validations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                // "<id>: <title> (<severity>; see ...)"
                let message = v["message"].as_str().unwrap();
                let check = message.split(':').next().unwrap().to_owned();
                let severity = message
                    .rsplit_once(" (")
                    .and_then(|(_, s)| s.split(';').next())
                    .and_then(Severity::parse)
                    .unwrap();
                Validation {
                    program: compile(v["expression"].as_str().unwrap()),
                    check,
                    severity,
                }
            })
            .collect();
        out.push(Policy {
            name: object["metadata"]["name"].as_str().unwrap().to_owned(),
            conditions: named(&spec["matchConditions"]),
            variables: named(&spec["variables"]),
            validations,
        });
    }
    out
}

/// What a policy does with a request: `None` when a matchCondition skips it, else the
/// (check, severity) of each validation that fails.
fn evaluate(policy: &Policy, request: &Value) -> Result<Option<Vec<(String, Severity)>>, String> {
    let mut ctx = Context::default();
    ctx.add_variable_from_value("object", to_cel(&request["object"]));
    ctx.add_variable_from_value("oldObject", to_cel(&request["oldObject"]));
    ctx.add_variable_from_value("request", to_cel(request));
    for (name, program) in &policy.conditions {
        match program.execute(&ctx) {
            Ok(Cel::Bool(true)) => {}
            Ok(Cel::Bool(false)) => return Ok(None),
            other => return Err(format!("matchCondition {name}: {other:?}")),
        }
    }
    // Variables are lazy in the API server: one that fails (podSpec of a Service) is an
    // error only if read, as it is here, where reading an absent one fails.
    let mut variables: HashMap<String, Cel> = HashMap::new();
    for (name, program) in &policy.variables {
        ctx.add_variable_from_value("variables", Cel::from(variables.clone()));
        if let Ok(v) = program.execute(&ctx) {
            variables.insert(name.clone(), v);
        }
    }
    ctx.add_variable_from_value("variables", Cel::from(variables));
    let mut failed = Vec::new();
    for v in &policy.validations {
        match v.program.execute(&ctx) {
            Ok(Cel::Bool(true)) => {}
            Ok(Cel::Bool(false)) => failed.push((v.check.clone(), v.severity)),
            other => return Err(format!("{} ({}): {other:?}", v.check, policy.name)),
        }
    }
    Ok(Some(failed))
}

fn admission_request(object: &Value, operation: &str, old: Option<&Value>) -> Value {
    let mut r = common::request(operation, object, old);
    r["namespace"] = json!("apps");
    r
}

fn judge_at(level: &str, config: &str) -> Judge {
    common::judge_with(
        config,
        &Overrides {
            pss: Some(level.parse().unwrap()),
            ..Overrides::default()
        },
    )
}

/// The kinds the exported policies match (apiVersion v1 for a Service, as the check).
fn matched(object: &Value) -> bool {
    let kind = object["kind"].as_str().unwrap_or("");
    palisade_checks::cel::POD_KINDS
        .iter()
        .any(|(_, _, k)| *k == kind)
        || kind == "Namespace"
        || (kind == "Service" && object["apiVersion"] == "v1")
}

/// Compares every matched object under `dir` at `level`; returns how many were compared
/// and how many had a finding of an exported check.
fn compare_all(dir: &Path, level: &str) -> (usize, usize) {
    let judge = judge_at(level, "");
    let opts = judge.scan_options();
    let export = export_vap(judge.checks(), opts, judge.settings(), "palisade");
    let exported: BTreeSet<&str> = export.exported.iter().copied().collect();
    let policies = policies(&export);
    assert!(!policies.is_empty());
    let (mut compared, mut failing) = (0, 0);
    let mut mismatches = Vec::new();
    for common::Scanned { name, object, scan } in common::scanned_objects(dir, &judge) {
        if !matched(&object) {
            continue;
        }
        let want: Failures = scan
            .findings
            .iter()
            .filter(|f| exported.contains(f.check.id))
            .map(|f| (f.check.id.to_owned(), f.severity))
            .collect();
        let request = admission_request(&object, "CREATE", None);
        let mut got = BTreeSet::new();
        for p in &policies {
            match evaluate(p, &request) {
                Ok(Some(failed)) => got.extend(failed),
                Ok(None) => {}
                Err(e) => mismatches.push(format!("{name}: CEL error {e}")),
            }
        }
        if want != got {
            mismatches.push(format!(
                "{name} at {level}: scan {want:?}\n  policy {got:?}"
            ));
        }
        compared += 1;
        failing += usize::from(!want.is_empty());
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared} objects differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    (compared, failing)
}

#[test]
fn pod_security_fixtures_get_the_native_verdicts() {
    let Some(dir) = common::shared("pss-fixtures") else {
        return;
    };
    for level in ["baseline", "restricted"] {
        let (n, failing) = compare_all(&dir, level);
        // Every fixture is a Pod; most of them fail something at either level.
        eprintln!("{level}: {n} compared, {failing} failing");
        assert!(n >= 140, "only {n} compared at {level}");
        assert!(failing >= 100, "only {failing} failing at {level}");
    }
}

#[test]
fn examples_get_the_native_verdicts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for level in ["baseline", "restricted"] {
        let (n, failing) = compare_all(&dir, level);
        eprintln!("{level}: {n} compared, {failing} failing");
        assert!(n >= 20, "only {n} compared at {level}");
        // The hardened static pods carry inline exceptions for their host paths.
        assert!(failing >= 8, "only {failing} failing at {level}");
    }
}

#[test]
fn corpus_objects_get_the_native_verdicts() {
    let Some(dir) = common::shared("corpus") else {
        return;
    };
    for level in ["baseline", "restricted"] {
        let (n, failing) = compare_all(&dir, level);
        eprintln!("{level}: {n} compared, {failing} failing");
        assert!(n >= 500, "only {n} compared at {level}");
        assert!(failing >= 100, "only {failing} failing at {level}");
    }
}

/// The native and the policy verdict on one object as `user` creates or updates it in
/// `namespace`: (check, severity) of each failure; the policy's is `None` when a
/// matchCondition skips the request.
fn both(
    judge: &Judge,
    object: &Value,
    old: Option<&Value>,
    namespace: &str,
    groups: &[&str],
) -> (Failures, Option<Failures>) {
    let export = export_vap(
        judge.checks(),
        judge.scan_options(),
        judge.settings(),
        "palisade",
    );
    let exported: BTreeSet<&str> = export.exported.iter().copied().collect();
    let text = serde_json::to_string(object).unwrap();
    let input = InputSpec {
        name: Arc::from("object.json"),
        kind: InputKind::Inline(text),
    };
    let scanned = scan(&[input], judge.checks(), judge.scan_options());
    let native = scanned
        .findings
        .iter()
        .filter(|f| exported.contains(f.check.id))
        .map(|f| (f.check.id.to_owned(), f.severity))
        .collect();
    let mut request =
        admission_request(object, if old.is_some() { "UPDATE" } else { "CREATE" }, old);
    request["namespace"] = json!(namespace);
    request["userInfo"]["groups"] = json!(groups);
    let mut policy: Option<BTreeSet<_>> = None;
    for p in policies(&export) {
        if let Some(failed) = evaluate(&p, &request).unwrap() {
            policy.get_or_insert_with(BTreeSet::new).extend(failed);
        }
    }
    (native, policy)
}

fn pod(annotations: Value, container: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "apps", "annotations": annotations},
        "spec": {"containers": [container]},
    })
}

fn ids(set: &BTreeSet<(String, Severity)>) -> Vec<&str> {
    set.iter().map(|(id, _)| id.as_str()).collect()
}

#[test]
fn inline_exceptions_are_read_as_scan_reads_them() {
    let judge = judge_at("baseline", "");
    let privileged = json!({"name": "c", "image": "x", "securityContext": {"privileged": true}});
    for (annotation, ignored) in [
        ("privileged: the CNI needs it", true),
        ("hostPorts, privileged ,sysctls: the CNI needs it", true),
        ("pod-security: the CNI needs it", true),
        ("privileged:   ", false),
        ("privileged", false),
        ("privilegedX: typo", false),
        ("*, privileged: everything", false),
        ("hostPorts: only that", false),
    ] {
        let object = pod(
            json!({"palisade.dev/ignore": annotation}),
            privileged.clone(),
        );
        let (native, policy) = both(&judge, &object, None, "apps", &[]);
        let policy = policy.expect("judged");
        assert_eq!(native, policy, "{annotation:?}");
        assert_eq!(
            !ids(&policy).contains(&"privileged"),
            ignored,
            "{annotation:?}: {policy:?}"
        );
    }
    // --strict: annotations are not read, by either.
    let strict = common::judge_with(
        "",
        &Overrides {
            pss: Some("baseline".parse().unwrap()),
            strict: true,
            ..Overrides::default()
        },
    );
    let object = pod(
        json!({"palisade.dev/ignore": "privileged: the CNI needs it"}),
        privileged,
    );
    let (native, policy) = both(&strict, &object, None, "apps", &[]);
    assert_eq!(Some(native.clone()), policy);
    assert!(ids(&native).contains(&"privileged"));
}

#[test]
fn updates_are_judged_on_what_they_change() {
    let judge = judge_at("baseline", "");
    let old = pod(
        json!({}),
        json!({"name": "c", "image": "x", "securityContext": {"privileged": true}}),
    );
    // A label added to a privileged pod: nothing the checks read changed.
    let mut relabelled = old.clone();
    relabelled["metadata"]["labels"] = json!({"tier": "web"});
    let (_, policy) = both(&judge, &relabelled, Some(&old), "apps", &[]);
    assert_eq!(policy, None);
    // An ephemeral container added (kubectl debug): judged, and the privileged
    // container with it.
    let mut debugged = old.clone();
    debugged["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 8080}]}]);
    let (_, policy) = both(&judge, &debugged, Some(&old), "apps", &[]);
    let policy = policy.expect("judged");
    assert!(ids(&policy).contains(&"hostPorts"), "{policy:?}");
    assert!(ids(&policy).contains(&"privileged"), "{policy:?}");
    // With `updates: all`, every update is judged.
    let all = judge_at("baseline", "admission:\n  updates: all\n");
    let (native, policy) = both(&all, &relabelled, Some(&old), "apps", &[]);
    assert_eq!(Some(native), policy);
}

#[test]
fn exempt_namespaces_users_and_groups_are_skipped() {
    let judge = judge_at(
        "baseline",
        "admission:\n  exempt-namespaces: [kube-system, 'team-*']\n  exempt-groups: [system:nodes]\n",
    );
    let object = pod(
        json!({}),
        json!({"name": "c", "image": "x", "securityContext": {"privileged": true}}),
    );
    assert!(both(&judge, &object, None, "apps", &[]).1.is_some());
    assert_eq!(both(&judge, &object, None, "kube-system", &[]).1, None);
    assert_eq!(both(&judge, &object, None, "team-a", &[]).1, None);
    assert!(both(&judge, &object, None, "teamx", &[]).1.is_some());
    assert_eq!(
        both(&judge, &object, None, "apps", &["system:nodes"]).1,
        None
    );
}

#[test]
fn services_and_namespaces_are_judged_too() {
    let judge = judge_at("baseline", "");
    for (object, failing) in [
        (
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "apps"},
                   "spec": {"externalIPs": ["203.0.113.7"], "ports": [{"port": 80}]}}),
            true,
        ),
        (
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "apps"},
                   "spec": {"ports": [{"port": 80}]}}),
            false,
        ),
        (
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-team"}}),
            true,
        ),
        (
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}),
            false,
        ),
    ] {
        let (native, policy) = both(&judge, &object, None, "apps", &[]);
        let policy = policy.expect("judged");
        let exported: Vec<&str> = ids(&policy)
            .into_iter()
            .filter(|id| ["service-external-ips", "kube-namespace-name"].contains(id))
            .collect();
        assert_eq!(!exported.is_empty(), failing, "{object}: {policy:?}");
        assert_eq!(native, policy, "{object}");
    }
}

#[test]
fn severities_split_the_policies_and_overrides_move_checks() {
    let judge = judge_at("restricted", "");
    let export = export_vap(
        judge.checks(),
        judge.scan_options(),
        judge.settings(),
        "palisade",
    );
    let in_policy = |export: &VapExport, name: &str, id: &str| {
        export.objects.iter().any(|o| {
            o["metadata"]["name"] == name
                && o["metadata"]["annotations"]["palisade.dev/checks"]
                    .as_str()
                    .is_some_and(|c| c.split(',').any(|x| x == id))
        })
    };
    // Default deny-severity is high: privileged (critical) denies, hostPorts warns, and
    // restrictedVolumes is in both (hostPath is graded high).
    assert!(in_policy(&export, "palisade-deny", "privileged"));
    assert!(in_policy(&export, "palisade-warn", "hostPorts"));
    assert!(in_policy(&export, "palisade-deny", "restrictedVolumes"));
    assert!(in_policy(&export, "palisade-warn", "restrictedVolumes"));
    // Baseline twins replaced at restricted are not exported.
    assert!(!export.exported.contains(&"hostPathVolumes"));
    let raised = judge_at("restricted", "severity:\n  hostPorts: critical\n");
    let export = export_vap(
        raised.checks(),
        raised.scan_options(),
        raised.settings(),
        "palisade",
    );
    assert!(in_policy(&export, "palisade-deny", "hostPorts"));
    assert!(!in_policy(&export, "palisade-warn", "hostPorts"));
    // Bindings: each policy once per mode, enforce denying only the deny policy.
    let actions = |name: &str| {
        export
            .objects
            .iter()
            .find(|o| o["metadata"]["name"] == name)
            .map(|o| o["spec"]["validationActions"].clone())
    };
    assert_eq!(
        actions("palisade-deny-enforce"),
        Some(json!(["Deny", "Audit"]))
    );
    assert_eq!(
        actions("palisade-warn-enforce"),
        Some(json!(["Warn", "Audit"]))
    );
    assert_eq!(
        actions("palisade-deny-warn"),
        Some(json!(["Warn", "Audit"]))
    );
    assert_eq!(actions("palisade-deny-audit"), Some(json!(["Audit"])));
}

#[test]
fn exported_objects_are_valid_api_objects() {
    use k8s_openapi::api::admissionregistration::v1::{
        ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
    };
    let judge = judge_at(
        "restricted",
        "admission:\n  default-mode: warn\n  exempt-namespaces: [kube-system]\n  exempt-users: [system:serviceaccount:kube-system:replicaset-controller]\n",
    );
    let export = export_vap(
        judge.checks(),
        judge.scan_options(),
        judge.settings(),
        "palisade",
    );
    let (mut policies, mut bindings) = (0, 0);
    for object in &export.objects {
        // Typed and back: a misspelt or misplaced field would be dropped, a wrong type
        // refused.
        let again = match object["kind"].as_str().unwrap() {
            "ValidatingAdmissionPolicy" => {
                policies += 1;
                let typed: ValidatingAdmissionPolicy =
                    serde_json::from_value(object.clone()).unwrap();
                serde_json::to_value(typed).unwrap()
            }
            "ValidatingAdmissionPolicyBinding" => {
                bindings += 1;
                let typed: ValidatingAdmissionPolicyBinding =
                    serde_json::from_value(object.clone()).unwrap();
                let name = typed.spec.policy_name.clone();
                assert!(export.objects.iter().any(|o| o["metadata"]["name"] == name));
                serde_json::to_value(typed).unwrap()
            }
            k => panic!("unexpected {k}"),
        };
        assert_eq!(&again, object);
        // Names are DNS subdomains; variable names are CEL identifiers.
        let name = object["metadata"]["name"].as_str().unwrap();
        assert!(
            name.len() <= 253
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
    // deny and warn; enforce (with invalid labels) + warn (labelled and unlabelled) + audit.
    assert_eq!((policies, bindings), (2, 8));
    assert!(export.not_exported.iter().all(|(_, why)| !why.is_empty()));
}
