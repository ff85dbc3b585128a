//! `configmap-credentials`: credentials in a ConfigMap.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::detect::{classify, scan_lines, worst, Detection};
use crate::pss::helpers::{cis, mitre, nsa, peer};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "configmap-credentials",
        title: "Credential in a ConfigMap",
        severity: Severity::High,
        category: Category::Secrets,
        description: "A ConfigMap `data` entry holds a credential: its key is sensitive (`DB_PASSWORD`) with a real value, its value is a recognised key format, or, for embedded config files, a line sets a sensitive setting (`password=...`, `api_key: ...`) or holds a key format or a URL with an inline password.",
        rationale: "ConfigMaps are meant for non-confidential data: they are not encrypted at rest by the Secret encryption provider, are readable by far more roles (view, many operators), appear in `kubectl describe`, and live in the repository.",
        remediation: "Move the credential to a Secret (from an external store where possible), mount it as a file, and have the config reference the file or an environment variable; rotate the exposed credential.",
        references: &[
            "https://kubernetes.io/docs/concepts/configuration/configmap/",
            "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        ],
        mappings: &[cis("5.4.2"), nsa("Secrets"), mitre("T1552.001")],
        peers: &[peer(PeerTool::Kubescape, "C-0012")],
        peer_notes: "Kubescape C-0012 matches key names and value words on whole entries. Palisade also reads embedded config files line by line (properties, INI, YAML, JSON, dotenv), where credentials usually hide, and reports the line inside the value. Comment lines count only for key formats; settings whose value is a placeholder (`${VAR}`, `{{ }}`, `<...>`) or has spaces (prose) are skipped. `binaryData` is not scanned. One finding per entry, graded by its worst match; values are never printed.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let id = &ctx.object.identity;
    if id.kind != "ConfigMap" || id.api_version != "v1" {
        return;
    }
    let Some(data) = ctx.object.root.get_present("data") else {
        return;
    };
    for (k, v) in data.entries() {
        let (Some(key), Some(value)) = (k.as_str(), v.as_str()) else {
            continue;
        };
        let Some((detection, place)) = find(key, value) else {
            continue;
        };
        out.report(
            meta,
            v,
            ctx.object.path(&format!("data.{key}")),
            format!(
                "ConfigMap {:?} key {key:?} holds a credential{place} ({}; value redacted)",
                id.name, detection.kind
            ),
        )
        .severity = detection.severity;
    }
}

/// The worst credential in one entry, and where inside the value it is.
pub(super) fn find(key: &str, value: &str) -> Option<(Detection, String)> {
    if !value.trim_end().contains('\n') {
        return classify(key, value).map(|d| (d, String::new()));
    }
    let lines = scan_lines(value);
    let worst = worst(&lines)?;
    let setting = worst
        .name
        .as_ref()
        .map(|n| format!(", setting {n:?}"))
        .unwrap_or_default();
    let more = match lines.len() {
        1 => String::new(),
        n => format!(", {} more", n - 1),
    };
    Some((
        worst.detection,
        format!(" at line {} of its value{setting}{more}", worst.line),
    ))
}

#[cfg(test)]
mod tests {
    use palisade_model::Severity;

    use crate::testing::{self, run};

    const ID: &[&str] = &["configmap-credentials"];

    #[test]
    fn keys_values_and_embedded_files() {
        let token = ["ghp_", &"a1B2c3D4e5".repeat(3), "F6g7h8"].concat();
        let yaml = format!(
            "apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg, namespace: prod}}
data:
  LOG_LEVEL: info
  DB_PASSWORD: hunter2
  PASSWORD_FILE: /run/secrets/db
  notify: {token}
  application.properties: |
    server.port=8080
    # spring.datasource.password=old
    spring.datasource.url=jdbc:postgresql://db/app
    spring.datasource.password=hunter2
    mail.password=${{MAIL_PASSWORD}}
  app.yaml: |
    db:
      url: postgres://app:s3cr3t@db/app
      password: s3cr3t
  nginx.conf: |
    server {{ listen 80; }}
binaryData:
  blob: aHVudGVyMg==
"
        );
        let hits = run(&yaml, ID);
        let got = testing::placed(&hits);
        assert_eq!(
            got,
            [
                (6, "data.DB_PASSWORD", Severity::High),
                (8, "data.notify", Severity::Critical),
                // A block scalar's node starts at its first content line.
                (10, "data.application.properties", Severity::High),
                (16, "data.app.yaml", Severity::High),
            ]
        );
        assert_eq!(
            hits[0].message,
            "ConfigMap \"cfg\" key \"DB_PASSWORD\" holds a credential (sensitive name; value redacted)"
        );
        assert_eq!(
            hits[2].message,
            "ConfigMap \"cfg\" key \"application.properties\" holds a credential at line 4 of its value, setting \"spring.datasource.password\" (sensitive name; value redacted)"
        );
        assert_eq!(
            hits[3].message,
            "ConfigMap \"cfg\" key \"app.yaml\" holds a credential at line 2 of its value, setting \"url\", 1 more (password in URL; value redacted)"
        );
        for h in &hits {
            assert!(
                !h.message.contains("hunter2")
                    && !h.message.contains("s3cr3t")
                    && !h.message.contains(&token)
            );
        }
    }

    #[test]
    fn secrets_are_not_configmaps() {
        let yaml = "apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {DB_PASSWORD: hunter2}
";
        assert!(run(yaml, ID).is_empty());
    }
}
