//! `env-credentials`: a credential written literally in a container's `env`.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::detect::classify;
use crate::pss::helpers::{cis, mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "env-credentials",
        title: "Credential in a container environment variable",
        severity: Severity::High,
        category: Category::Secrets,
        description: "A container `env[].value` is a literal credential: its name says so (`DB_PASSWORD`, `API_KEY`, `GITHUB_TOKEN`) and the value is not a placeholder, or its content is a recognised key format (AWS access key id, private key, GitHub/Slack/Stripe/Google tokens, JWT, password in a URL). Provider keys and private keys are critical; a long random value under a neutral name is medium.",
        rationale: "The value is in the manifest, so in Git history, CI logs, Helm release records, `kubectl get -o yaml` output and every backup of etcd, readable by anyone who can read the workload (no Secret RBAC needed). Leaked keys are used within minutes of a push to a public repository.",
        remediation: "Rotate the credential first: it is already exposed. Then store it in a Secret (ideally synced from an external store) and mount it as a file, or at least reference it with `env[].valueFrom.secretKeyRef`.",
        references: &[
            "https://kubernetes.io/docs/concepts/configuration/secret/",
            "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        ],
        mappings: &[cis("5.4.1"), cis("5.4.2"), nsa("Secrets"), mitre("T1552.001"), mitre("T1552.007")],
        peers: &[
            peer(PeerTool::KubeLinter, "env-var-secret"),
            peer(PeerTool::Kubescape, "C-0012"),
        ],
        peer_notes: "Peers match names only (kube-linter: `SECRET`/`PASSWORD`/`TOKEN` substrings, so `TOKEN_URL` and `SECRET_NAME` fire) or a fixed list of value words. Palisade matches names word by word, skips names about a credential (`*_URL`, `*_NAME`, `*_FILE`, `*_PATH`, `*_ID`, `MAX_*`), skips placeholders (`$(VAR)`, `{{ }}`, `${ }`, `<...>`, `xxx`, `REPLACE_ME`, `vault:`/`ref+` references, booleans), and also finds provider key formats under any name. Weak real values (`changeme`, `password`) are reported: they are what gets deployed. Messages give the variable name, the detector and the length, never the value.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in &ctx.pods {
        for c in pod.containers() {
            for (i, var) in c
                .node
                .get("env")
                .into_iter()
                .flat_map(|e| e.items())
                .enumerate()
            {
                let Some(name) = var.get("name").and_then(|n| n.as_str()) else {
                    continue;
                };
                let Some(value) = var.get_present("value") else {
                    continue;
                };
                let Some(text) = value.as_str() else { continue };
                let Some(found) = classify(name, text) else {
                    continue;
                };
                out.report(
                    meta,
                    value,
                    c.path_of(&format!("env[{i}].value")),
                    format!(
                        "{}: env {name} holds a credential ({}, {} characters; value redacted)",
                        who(c),
                        found.kind,
                        text.chars().count()
                    ),
                )
                .severity = found.severity;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use palisade_model::Severity;

    use crate::testing::{self, run};

    const ID: &[&str] = &["env-credentials"];

    #[test]
    fn names_and_contents() {
        let aws = ["AKIA", "IOSFODNN7EXAMPLE"].concat();
        let yaml = format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: app:1
        env:
        - name: DB_PASSWORD
          value: hunter2
      containers:
      - name: api
        image: app:1
        env:
        - {{name: LOG_LEVEL, value: debug}}
        - {{name: AWS_ACCESS_KEY_ID, value: {aws}}}
        - {{name: TOKEN_URL, value: 'https://auth.example.com/token'}}
        - {{name: API_KEY, value: '$(SHARED_KEY)'}}
        - {{name: SECRET, value: '{{{{ .Values.secret }}}}'}}
        - name: GITHUB_TOKEN
          valueFrom: {{secretKeyRef: {{name: gh, key: token}}}}
        - {{name: DATABASE_URL, value: 'postgres://app:s3cr3t@db/app'}}
        - {{name: SESSION_KEY_ID, value: 'k1'}}
"
        );
        let hits = run(&yaml, ID);
        let got = testing::placed(&hits);
        assert_eq!(
            got,
            [
                (
                    12,
                    "spec.template.spec.initContainers[0].env[0].value",
                    Severity::High
                ),
                (
                    18,
                    "spec.template.spec.containers[0].env[1].value",
                    Severity::Critical
                ),
                (
                    24,
                    "spec.template.spec.containers[0].env[6].value",
                    Severity::High
                ),
            ]
        );
        assert_eq!(
            hits[0].message,
            "init container \"migrate\": env DB_PASSWORD holds a credential (sensitive name, 7 characters; value redacted)"
        );
        assert_eq!(
            hits[1].message,
            "container \"api\": env AWS_ACCESS_KEY_ID holds a credential (AWS access key id, 20 characters; value redacted)"
        );
        for h in &hits {
            for secret in ["hunter2", aws.as_str(), "s3cr3t"] {
                assert!(!h.message.contains(secret), "{}", h.message);
            }
        }
    }

    #[test]
    fn ephemeral_containers_and_pods() {
        let yaml = "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: a, image: 'x:1', env: [{name: PASSWORD, value: ''}]}
  ephemeralContainers:
  - {name: dbg, image: 'x:1', env: [{name: ADMIN_PASSWORD, value: changeme}]}
";
        let hits = run(yaml, ID);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].path, "spec.ephemeralContainers[0].env[0].value");
        assert!(hits[0].message.starts_with("ephemeral container \"dbg\""));
    }
}
