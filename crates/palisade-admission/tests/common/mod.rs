//! Judges set up as the CLI sets them up, and AdmissionReviews as the API server sends
//! them (admission.k8s.io/v1, documented JSON).

#![allow(dead_code)]

use palisade_admission::{Judge, JudgeConfig};
use palisade_checks::registry;
use palisade_config::{parse_config, scan_setup, Overrides};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_inventory::{InputKind, InputSpec};
use palisade_model::ScanResult;
use palisade_source::{parse_document, split_documents, Limits};

use serde_json::{json, Value};

/// A judge for the config file text `config` (empty: defaults).
pub fn judge(config: &str) -> Judge {
    judge_with(config, &Overrides::default())
}

pub fn judge_with(config: &str, overrides: &Overrides) -> Judge {
    let catalogue: Vec<_> = registry().into_iter().map(|c| c.meta()).collect();
    let today = time::Date::from_calendar_date(2026, time::Month::December, 4).unwrap();
    let config = parse_config(".palisade.yaml", config, today, &catalogue).unwrap();
    let (checks, scan) = scan_setup(&config, overrides).unwrap();
    Judge::new(JudgeConfig {
        checks,
        scan,
        admission: config.admission,
    })
    .unwrap()
}

/// The resource of the kinds the tests send (the API server sends the plural).
fn resource_of(kind: &str) -> String {
    match kind {
        "Scale" => "deployments".into(),
        "NetworkPolicy" => "networkpolicies".into(),
        "Ingress" => "ingresses".into(),
        k => format!("{}s", k.to_ascii_lowercase()),
    }
}

/// An AdmissionReview request for `object` (and `old` on UPDATE).
pub fn request(operation: &str, object: &Value, old: Option<&Value>) -> Value {
    let kind = object["kind"].as_str().unwrap_or("Widget");
    let resource = resource_of(kind);
    // The group and version as the API server gives them: from apiVersion.
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("");
    let name = object["metadata"]["name"].as_str().unwrap_or("");
    json!({
        "uid": "d6f7f7b4-8f0c-4c6e-9f1e-3c1b2a3d4e5f",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": resource},
        "name": name,
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "jane@example.com", "uid": "1", "groups": ["system:authenticated", "developers"]},
        "object": object,
        "oldObject": old.cloned().unwrap_or(Value::Null),
        "dryRun": false,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": if operation == "CREATE" { "CreateOptions" } else { "UpdateOptions" }}
    })
}

/// The whole AdmissionReview body.
pub fn body(request: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": request,
    }))
    .unwrap()
}

/// A pod with one container; `security` is its securityContext.
pub fn pod(namespace: &str, name: &str, security: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "containers": [{
                "name": "app",
                "image": "registry.example.com/app@sha256:4b6f0b4bd0e5e3b0d7b5e0c4f7c1e4f1f0f5e5c0d4b3a2f1e0d9c8b7a6f5e4d3",
                "securityContext": security,
            }]
        }
    })
}

/// A pod that passes the restricted profile and the hardening checks.
pub fn good_pod(namespace: &str, name: &str) -> Value {
    let mut p = pod(
        namespace,
        name,
        json!({
            "allowPrivilegeEscalation": false,
            "runAsNonRoot": true,
            "runAsUser": 10001,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }),
    );
    p["spec"]["automountServiceAccountToken"] = json!(false);
    p["spec"]["containers"][0]["resources"] = json!({
        "requests": {"cpu": "100m", "memory": "64Mi"},
        "limits": {"cpu": "500m", "memory": "128Mi"},
    });
    p
}

/// `../shared/<sub>` beside the project, or `None` (said on stderr) when it is absent.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

/// The YAML and JSON files under `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    files
}

/// One object an API server could receive, from a file under test.
pub struct Scanned {
    /// `file#document`.
    pub name: String,
    /// Its JSON form.
    pub object: Value,
    /// What `palisade scan` finds in its document alone, with `judge`'s configuration.
    pub scan: ScanResult,
}

/// Every object of the files under `dir` that could be admitted (a mapping with a kind,
/// not a List, no repeated key, which has no JSON form) and that scans without error,
/// each scanned on its own as the webhook sees it.
pub fn scanned_objects(dir: &Path, judge: &Judge) -> Vec<Scanned> {
    let mut out = Vec::new();
    for file in yaml_files(dir) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for chunk in split_documents(&text) {
            let doc_text = &text[chunk.range.clone()];
            let Ok(doc) = parse_document(doc_text, &chunk, &Limits::default()) else {
                continue;
            };
            let Some(root) = doc.root().filter(|r| r.is_mapping()) else {
                continue;
            };
            let kind = root.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            if kind.is_empty() || kind.ends_with("List") || !doc.duplicates.is_empty() {
                continue;
            }
            let name = format!("{}#{}", file.display(), chunk.index);
            let input = InputSpec {
                name: Arc::from(name.as_str()),
                kind: InputKind::Inline(doc_text.to_owned()),
            };
            let scan = palisade_engine::scan(&[input], judge.checks(), judge.scan_options());
            if scan.errors.is_empty() {
                out.push(Scanned {
                    name,
                    object: root.to_json(),
                    scan,
                });
            }
        }
    }
    out
}
