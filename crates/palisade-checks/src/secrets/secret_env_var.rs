//! `secret-env-var`: a Secret exposed to a container as environment variables.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use crate::pss::helpers::{cis, mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "secret-env-var",
        title: "Secret exposed as environment variables",
        severity: Severity::Info,
        category: Category::Secrets,
        description: "A container reads a Secret into environment variables: `env[].valueFrom.secretKeyRef` or `envFrom[].secretRef`.",
        rationale: "Environment variables are inherited by every child process, printed by crash handlers, debug pages and `env` dumps in logs, and readable from `/proc/<pid>/environ` by anything sharing the process namespace; they cannot be rotated without restarting the pod. A mounted Secret file has none of these leaks and updates in place.",
        remediation: "Mount the Secret as a volume (`volumes[].secret` with `volumeMounts`, `readOnly: true`) and have the application read the file; keep env only for the file's path.",
        references: &[
            "https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod",
            "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        ],
        mappings: &[cis("5.4.1"), nsa("Secrets"), mitre("T1552.007")],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_35"),
            peer(PeerTool::KubeLinter, "read-secret-from-env-var"),
        ],
        peer_notes: "One finding per reference, at the `secretKeyRef` or `secretRef` itself, naming the Secret (and key); init and ephemeral containers included. Informational: it is a hardening preference (CIS 5.4.1), not a leak, so it never fails a build at the default threshold.",
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
                let Some((key, reference)) = var
                    .get_present("valueFrom")
                    .and_then(|v| v.entry("secretKeyRef"))
                    .filter(|(_, r)| !r.is_null())
                else {
                    continue;
                };
                let name = var.get("name").and_then(|n| n.as_str()).unwrap_or("");
                out.report(
                    meta,
                    key,
                    c.path_of(&format!("env[{i}].valueFrom.secretKeyRef")),
                    format!(
                        "{}: env {name} reads key {:?} of Secret {:?}; mount the Secret as a file instead",
                        who(c),
                        text(reference, "key"),
                        text(reference, "name")
                    ),
                );
            }
            for (i, source) in c
                .node
                .get("envFrom")
                .into_iter()
                .flat_map(|e| e.items())
                .enumerate()
            {
                let Some((key, reference)) =
                    source.entry("secretRef").filter(|(_, r)| !r.is_null())
                else {
                    continue;
                };
                out.report(
                    meta,
                    key,
                    c.path_of(&format!("envFrom[{i}].secretRef")),
                    format!(
                        "{}: envFrom loads every key of Secret {:?} into the environment; mount the Secret as a file instead",
                        who(c),
                        text(reference, "name")
                    ),
                );
            }
        }
    }
}

fn text<'d>(node: palisade_source::Node<'d>, key: &str) -> &'d str {
    node.get(key).and_then(|n| n.as_str()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use palisade_model::Severity;

    use crate::testing::run;

    const ID: &[&str] = &["secret-env-var"];

    #[test]
    fn secret_key_refs_and_env_from() {
        let yaml = "apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - {name: PLAIN, value: x}
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: db, key: password}
        - name: MODE
          valueFrom:
            configMapKeyRef: {name: cfg, key: mode}
        envFrom:
        - configMapRef: {name: cfg}
        - secretRef: {name: api-keys}
        volumeMounts:
        - {name: creds, mountPath: /var/run/creds, readOnly: true}
      volumes:
      - name: creds
        secret: {secretName: creds}
";
        let hits = run(yaml, ID);
        let got: Vec<_> = hits.iter().map(|h| (h.line, h.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    14,
                    "spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef"
                ),
                (20, "spec.template.spec.containers[0].envFrom[1].secretRef"),
            ]
        );
        assert_eq!(
            hits[0].message,
            "container \"app\": env DB_PASSWORD reads key \"password\" of Secret \"db\"; mount the Secret as a file instead"
        );
        assert!(hits[1].message.contains("Secret \"api-keys\""));
        assert!(hits.iter().all(|h| h.severity == Severity::Info));
    }

    #[test]
    fn files_only_is_quiet() {
        let yaml = "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: app
    image: app:1
    volumeMounts: [{name: s, mountPath: /s}]
  volumes: [{name: s, secret: {secretName: s}}]
";
        assert!(run(yaml, ID).is_empty());
    }
}
