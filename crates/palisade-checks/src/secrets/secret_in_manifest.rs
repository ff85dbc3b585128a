//! `secret-in-manifest`: a Secret whose values are committed with the manifests.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, Severity};
use palisade_source::Node;

use super::detect::{decode_secret_value, is_placeholder, scan_lines, worst};
use crate::pss::helpers::{cis, mitre, nsa};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "secret-in-manifest",
        title: "Secret values committed in manifests",
        severity: Severity::Medium,
        category: Category::Secrets,
        description: "A `v1` Secret carries values in `data` (base64) or `stringData`. One finding per Secret says how many keys are committed; each key whose decoded value is a recognised credential format gets its own finding, graded by the format (critical for provider and private keys). Invalid base64 in `data` is reported too.",
        rationale: "Base64 is an encoding, not encryption: anyone who can read the repository, a CI log or a rendered chart has the credentials, for as long as the Git history exists. Rotation then means rewriting history as well as the secret.",
        remediation: "Keep Secret values out of the repository: use an external secret store through the External Secrets Operator or the Secrets Store CSI driver, or commit only encrypted Secrets (Sealed Secrets, SOPS). Rotate any credential that was committed.",
        references: &[
            "https://kubernetes.io/docs/concepts/configuration/secret/",
            "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        ],
        mappings: &[cis("5.4.2"), nsa("Secrets"), mitre("T1552.001")],
        peers: &[],
        peer_notes: "Peer manifest scanners do not decode Secret data; Palisade decodes it as the API server does (standard base64, line breaks ignored) and runs its credential detectors on the decoded text, line by line for embedded config files. Keys whose values are empty or placeholders (`{{ }}`, `${ }`, `REPLACE_ME`) do not count, so templates for envsubst or a secret operator are quiet, as is a `kubernetes.io/service-account-token` Secret left for the token controller to fill. Values are never printed, only key names and detector names.",
        source: file!(),
    },
    eval,
};

/// One committed value: the value node, its path and the plain text (if it is text).
struct Value<'d> {
    key: &'d str,
    node: Node<'d>,
    path: String,
    text: Option<String>,
}

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let id = &ctx.object.identity;
    if id.kind != "Secret" || id.api_version != "v1" {
        return;
    }
    let root = ctx.object.root;
    let mut values = Vec::new();
    let mut anchor = None;
    for field in ["data", "stringData"] {
        let Some(map) = root.get_present(field) else {
            continue;
        };
        let before = values.len();
        for (k, v) in map.entries() {
            let (Some(key), Some(raw)) = (k.as_str(), v.as_str()) else {
                continue;
            };
            let path = ctx.object.path(&format!("{field}.{key}"));
            let text = if field == "data" {
                match decode_secret_value(raw) {
                    Ok(bytes) => String::from_utf8(bytes).ok(),
                    Err(_) => {
                        out.report(
                            meta,
                            v,
                            path,
                            format!("Secret {:?} data key {key:?} is not valid base64; the API server rejects it", id.name),
                        )
                        .severity = Severity::Low;
                        continue;
                    }
                }
            } else {
                Some(raw.to_owned())
            };
            if text.as_deref().is_some_and(is_placeholder) {
                continue;
            }
            values.push(Value {
                key,
                node: v,
                path,
                text,
            });
        }
        if values.len() > before && anchor.is_none() {
            anchor = root.entry(field).map(|(k, _)| (k, field));
        }
    }
    let Some((node, field)) = anchor else {
        return;
    };
    // Keys sorted: the API server sends a Secret's data in key order, whatever order the
    // manifest wrote, and the webhook must say what `scan` says.
    let mut keys: Vec<&str> = values.iter().map(|v| v.key).collect();
    keys.sort_unstable();
    out.report(
        meta,
        node,
        ctx.object.path(field),
        format!(
            "Secret {:?} commits {} value{} in the manifests (keys: {})",
            id.name,
            values.len(),
            if values.len() == 1 { "" } else { "s" },
            keys.join(", ")
        ),
    );
    for v in &values {
        let Some(text) = &v.text else { continue };
        let lines = scan_lines(text);
        let Some(worst) = worst(&lines) else {
            continue;
        };
        out.report(
            meta,
            v.node,
            v.path.clone(),
            format!(
                "Secret {:?} key {:?} holds a credential ({}; value redacted)",
                id.name, v.key, worst.detection.kind
            ),
        )
        .severity = worst.detection.severity;
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use palisade_model::Severity;

    use crate::testing::{self, run};

    const ID: &[&str] = &["secret-in-manifest"];

    #[test]
    fn committed_values_and_detected_keys() {
        let aws = ["AKIA", "IOSFODNN7EXAMPLE"].concat();
        let pem = [
            "-----BEGIN ",
            "RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
        ]
        .concat();
        let yaml = format!(
            "apiVersion: v1
kind: Secret
metadata: {{name: app}}
type: Opaque
data:
  password: {}
  aws: {}
  tls.key: {}
  broken: 'not*base64'
stringData:
  config.ini: |
    [db]
    password = hunter2
",
            STANDARD.encode("hunter2"),
            STANDARD.encode(&aws),
            STANDARD.encode(&pem)
        );
        let hits = run(&yaml, ID);
        let got = testing::placed(&hits);
        assert_eq!(
            got,
            [
                (9, "data.broken", Severity::Low),
                (5, "data", Severity::Medium),
                (7, "data.aws", Severity::Critical),
                (8, "data.tls.key", Severity::Critical),
                (12, "stringData.config.ini", Severity::High),
            ]
        );
        assert_eq!(
            hits[1].message,
            "Secret \"app\" commits 4 values in the manifests (keys: aws, config.ini, password, tls.key)"
        );
        assert_eq!(
            hits[2].message,
            "Secret \"app\" key \"aws\" holds a credential (AWS access key id; value redacted)"
        );
        for h in &hits {
            assert!(!h.message.contains("hunter2") && !h.message.contains(&aws));
        }
    }

    #[test]
    fn empty_templated_and_other_kinds_are_quiet() {
        let yaml = "apiVersion: v1
kind: Secret
metadata:
  name: sa-token
  annotations: {kubernetes.io/service-account.name: build}
type: kubernetes.io/service-account-token
---
apiVersion: v1
kind: Secret
metadata: {name: tmpl}
stringData:
  password: '${DB_PASSWORD}'
  token: ''
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: b}
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: s}
spec:
  encryptedData: {password: AgBy3i4OJSWK}
";
        assert!(run(yaml, ID).is_empty());
    }

    #[test]
    fn list_items() {
        let yaml = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: s}
  data: {user: YWRtaW4=}
";
        let hits = run(yaml, ID);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].line, hits[0].path.as_str()), (7, "items[0].data"));
    }
}
