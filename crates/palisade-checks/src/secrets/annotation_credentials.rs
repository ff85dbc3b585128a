//! `annotation-credentials`: credentials in annotations, including the copy of the
//! object that `kubectl apply` keeps in `last-applied-configuration`.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_source::{parse_document, split_documents, Limits, Node};

use super::configmap_credentials::find as configmap_entry;
use super::detect::{classify, decode_secret_value, detect, is_placeholder, Detection};
use crate::pss::helpers::{cis, mitre, nsa, peer};
use crate::Rule;

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "annotation-credentials",
        title: "Credential in an annotation",
        severity: Severity::High,
        category: Category::Secrets,
        description: "An annotation (of any object, or of a pod template) holds a recognised credential format; or `kubectl.kubernetes.io/last-applied-configuration` holds one: on a Secret it is the Secret's values in plain JSON, on other objects it may copy env values or ConfigMap data.",
        rationale: "Annotations are metadata: readable with `get`/`list` on the object (no Secret permission), shown by `kubectl describe`, copied into events, audit logs and monitoring labels. `kubectl apply` stores the whole applied object in `last-applied-configuration`, so a Secret applied that way exposes its values to anyone who can read its metadata, including metadata-only clients.",
        remediation: "Remove the credential from the annotation and rotate it. Create Secrets with `kubectl apply --server-side` or `kubectl create secret` (no last-applied copy), or delete the annotation from existing Secrets.",
        references: &[
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/",
            "https://kubernetes.io/docs/tasks/manage-kubernetes-objects/declarative-config/",
            "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        ],
        mappings: &[cis("5.4.2"), nsa("Secrets"), mitre("T1552.001"), mitre("T1552.007")],
        peers: &[peer(PeerTool::Kubescape, "C-0012")],
        peer_notes: "Annotations are judged by content only (their keys rarely name credentials the way env names do); a pod's own annotations are read once, a template's separately. `last-applied-configuration` is parsed as the JSON object it is: on a Secret with values it is always reported (critical when a value is a provider or private key); elsewhere env `name`/`value` pairs are judged as `env-credentials` judges them and ConfigMap data as `configmap-credentials` does. Hex checksums (`checksum/config`) are not random tokens. Messages name the annotation key, never the value.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let own = ctx.object.path("metadata");
    let mut sources = vec![(
        ctx.object.root.get_path("metadata.annotations"),
        own.clone(),
        ctx.object.identity.kind == "Secret",
    )];
    for pod in &ctx.pods {
        // A Pod's own metadata is its pod metadata: read it once.
        if pod.metadata_path != own {
            let annotations = pod.metadata.and_then(|m| m.get_present("annotations"));
            sources.push((annotations, pod.metadata_path.clone(), false));
        }
    }
    for (annotations, metadata_path, is_secret) in sources {
        for (k, v) in annotations.into_iter().flat_map(|a| a.entries()) {
            let (Some(key), Some(value)) = (k.as_str(), v.as_str()) else {
                continue;
            };
            let found = if key == LAST_APPLIED {
                last_applied(value, is_secret)
            } else {
                detect(value).map(|d| credential(d, ""))
            };
            let Some((severity, what)) = found else {
                continue;
            };
            out.report(
                meta,
                v,
                format!("{metadata_path}.annotations.{key}"),
                format!("annotation {key} holds {what}"),
            )
            .severity = severity;
        }
    }
}

/// `a credential (<where>: <kind>; value redacted)`, graded by the detector.
fn credential(d: Detection, place: &str) -> (Severity, String) {
    let place = if place.is_empty() {
        String::new()
    } else {
        format!("{place}: ")
    };
    (
        d.severity,
        format!("a credential ({place}{}; value redacted)", d.kind),
    )
}

/// A credential in the applied copy of the object, described.
fn last_applied(json: &str, is_secret: bool) -> Option<(Severity, String)> {
    let chunks = split_documents(json);
    let doc = chunks
        .first()
        .and_then(|c| parse_document(&json[c.range.clone()], c, &Limits::default()).ok());
    let Some(root) = doc.as_ref().and_then(|d| d.root()) else {
        return detect(json).map(|d| credential(d, ""));
    };
    if is_secret {
        return secret_values(root);
    }
    let mut found = Vec::new();
    if root.get("kind").and_then(|k| k.as_str()) == Some("ConfigMap") {
        for (k, v) in root.get("data").into_iter().flat_map(|d| d.entries()) {
            if let (Some(key), Some(value)) = (k.as_str(), v.as_str()) {
                if let Some((d, _)) = configmap_entry(key, value) {
                    found.push((d, format!("ConfigMap data {key:?}")));
                }
            }
        }
    }
    walk(root, 0, &mut found);
    found
        .into_iter()
        .reduce(|a, b| if b.0.severity > a.0.severity { b } else { a })
        .map(|(d, place)| credential(d, &place))
}

/// The copy of a Secret's `data`/`stringData`: any real value counts; critical when
/// one is a provider or private key.
fn secret_values(root: Node<'_>) -> Option<(Severity, String)> {
    let mut count = 0;
    let mut severity = Severity::High;
    for field in ["data", "stringData"] {
        for (_, v) in root.get(field).into_iter().flat_map(|d| d.entries()) {
            let Some(raw) = v.as_str() else { continue };
            // Binary data (a keystore) is a value too, just not one to run detectors on.
            let text = if field == "data" {
                match decode_secret_value(raw) {
                    Ok(bytes) => String::from_utf8(bytes).ok(),
                    Err(_) => continue,
                }
            } else {
                Some(raw.to_owned())
            };
            if text.as_deref().is_some_and(is_placeholder) {
                continue;
            }
            count += 1;
            if let Some(d) = text.as_deref().and_then(detect) {
                severity = severity.max(d.severity);
            }
        }
    }
    let plural = if count == 1 { "" } else { "s" };
    (count > 0).then(|| {
        (
            severity,
            format!("the Secret's values in plain JSON ({count} value{plural}; values redacted)"),
        )
    })
}

/// Env `name`/`value` pairs judged by name and content; other strings by content.
fn walk(node: Node<'_>, depth: usize, found: &mut Vec<(Detection, String)>) {
    if depth > 64 {
        return;
    }
    if node.is_mapping() {
        let name = node.get("name").and_then(|n| n.as_str());
        let value = node.get("value").and_then(|n| n.as_str());
        if let (Some(name), Some(value)) = (name, value) {
            if let Some(d) = classify(name, value) {
                found.push((d, format!("env {name}")));
            }
        }
        for (k, v) in node.entries() {
            if k.as_str() == Some("value") && name.is_some() {
                continue;
            }
            walk(v, depth + 1, found);
        }
    } else if node.is_sequence() {
        for item in node.items() {
            walk(item, depth + 1, found);
        }
    } else if let Some(d) = node.as_str().and_then(detect) {
        found.push((d, String::new()));
    }
}

#[cfg(test)]
mod tests {
    use palisade_model::Severity;

    use crate::testing::{self, run};

    const ID: &[&str] = &["annotation-credentials"];

    #[test]
    fn object_and_template_annotations() {
        let slack = [
            "xoxb",
            "-1234567890-0987654321-",
            "AbCdEfGhIjKlMnOpQrStUvWx",
        ]
        .concat();
        let yaml = format!(
            "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    notify/slack: {slack}
    description: the web tier
spec:
  template:
    metadata:
      annotations:
        checksum/config: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        vault.hashicorp.com/agent-inject-secret-db: database/creds/web
        backup/url: 's3://backup:s3cr3tKey@bucket/path'
    spec:
      containers: [{{name: web, image: 'web:1'}}]
"
        );
        let hits = run(&yaml, ID);
        let got = testing::placed(&hits);
        assert_eq!(
            got,
            [
                (6, "metadata.annotations.notify/slack", Severity::Critical),
                (
                    14,
                    "spec.template.metadata.annotations.backup/url",
                    Severity::High
                ),
            ]
        );
        assert_eq!(
            hits[0].message,
            "annotation notify/slack holds a credential (Slack token; value redacted)"
        );
        assert!(hits
            .iter()
            .all(|h| !h.message.contains(&slack) && !h.message.contains("s3cr3t")));
    }

    #[test]
    fn pod_annotations_are_read_once() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
        let yaml = format!(
            "apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: {{token: {jwt}}}
spec:
  containers: [{{name: a, image: 'a:1'}}]
"
        );
        let hits = run(&yaml, ID);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].line, hits[0].severity), (5, Severity::High));
        assert!(hits[0].message.contains("(JWT; value redacted)"));
    }

    #[test]
    fn last_applied_on_a_secret() {
        let yaml = r#"apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","data":{"password":"aHVudGVyMg=="},"kind":"Secret","metadata":{"name":"db"}}
---
apiVersion: v1
kind: Secret
metadata:
  name: empty
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","kind":"Secret","metadata":{"name":"empty"},"type":"kubernetes.io/service-account-token"}
"#;
        let hits = run(yaml, ID);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            (hits[0].line, hits[0].path.as_str(), hits[0].severity),
            (
                7,
                "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration",
                Severity::High
            )
        );
        assert_eq!(
            hits[0].message,
            "annotation kubectl.kubernetes.io/last-applied-configuration holds the Secret's values in plain JSON (1 value; values redacted)"
        );
        assert!(!hits[0].message.contains("aHVudGVyMg"));
    }

    #[test]
    fn last_applied_env_and_configmap_data() {
        let yaml = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"LOG_LEVEL","value":"debug"},{"name":"DB_PASSWORD","value":"hunter2"}]}]}}}}'
spec:
  template:
    spec:
      containers: [{name: api, image: 'api:1'}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"ConfigMap","data":{"API_TOKEN":"t0k3n-value","LOG_LEVEL":"info"}}'
data:
  LOG_LEVEL: info
---
apiVersion: v1
kind: Service
metadata:
  name: clean
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"Service","metadata":{"name":"clean"},"spec":{"ports":[{"port":80}]}}'
"#;
        let hits = run(yaml, ID);
        let got: Vec<_> = hits.iter().map(|h| (h.line, h.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (6, "annotation kubectl.kubernetes.io/last-applied-configuration holds a credential (env DB_PASSWORD: sensitive name; value redacted)"),
                (17, "annotation kubectl.kubernetes.io/last-applied-configuration holds a credential (ConfigMap data \"API_TOKEN\": sensitive name; value redacted)"),
            ]
        );
    }
}
