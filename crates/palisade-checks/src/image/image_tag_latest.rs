//! `image-tag-latest`: an image with no tag or the tag `latest`, and no digest.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::reference::container_images;
use crate::pss::helpers::{cis, mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "image-tag-latest",
        title: "Image uses the latest tag",
        severity: Severity::Medium,
        category: Category::Image,
        description: "A container image has no tag (the runtime pulls `latest`) or the tag `latest`, and no digest.",
        rationale: "`latest` names whatever was pushed last: the same manifest runs different code on different nodes and days, a rollback redeploys the new image, and anyone who can push to the repository changes what the cluster runs without touching the manifest.",
        remediation: "Set `image` to a versioned tag and, better, pin it by digest: `registry/app:1.4.2@sha256:<digest>`.",
        references: &[
            "https://kubernetes.io/docs/concepts/containers/images/#image-names",
            "https://kubernetes.io/docs/concepts/configuration/overview/#container-images",
        ],
        mappings: &[cis("5.5.1"), nsa("Pod security"), mitre("T1525")],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_14"),
            peer(PeerTool::KubeLinter, "latest-tag"),
            peer(PeerTool::Polaris, "tagNotSpecified"),
            peer(PeerTool::Trivy, "KSV013"),
        ],
        peer_notes: "Parses the reference as the runtime does, so a registry port (`localhost:5000/app`) is not mistaken for a tag and `app:latest@sha256:...` (pinned; the runtime ignores the tag) is not reported. Images that are empty or still templates (`{{`, `$VAR`, `${VAR}`) are skipped: the rendered value is not known. One finding per container, at `image`.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for ci in container_images(ctx) {
        if ci.image.is_pinned() || !ci.image.is_latest() {
            continue;
        }
        let what = match ci.image.tag {
            None => format!(
                "image {:?} has no tag, so it runs `latest`",
                ci.image.name()
            ),
            Some(_) => format!("image {:?} uses the tag `latest`", ci.image.name()),
        };
        out.report(
            meta,
            ci.node,
            ci.container.path_of("image"),
            format!("{}: {what}", who(&ci.container)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::run;

    const ID: &[&str] = &["image-tag-latest"];

    #[test]
    fn untagged_and_latest_images() {
        let hex = "0".repeat(64);
        let yaml = format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      initContainers:
      - name: init
        image: busybox
      containers:
      - name: app
        image: ghcr.io/acme/app:latest
      - name: ok
        image: ghcr.io/acme/app:1.2
      - name: pinned
        image: nginx:latest@sha256:{hex}
      - name: port
        image: localhost:5000/app
      - name: templated
        image: \"{{{{ .Values.image }}}}\"
      ephemeralContainers:
      - name: debug
        image: \"\"
"
        );
        let hits = run(&yaml, ID);
        let got: Vec<_> = hits.iter().map(|h| (h.line, h.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (9, "spec.template.spec.initContainers[0].image"),
                (12, "spec.template.spec.containers[0].image"),
                (18, "spec.template.spec.containers[3].image"),
            ]
        );
        assert_eq!(
            hits[0].message,
            "init container \"init\": image \"docker.io/library/busybox\" has no tag, so it runs `latest`"
        );
        assert!(hits[1].message.contains("uses the tag `latest`"));
        assert!(hits
            .iter()
            .all(|h| h.severity == palisade_model::Severity::Medium));
    }

    #[test]
    fn cronjob_nesting() {
        let yaml = "apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - {name: job, image: 'alpine:3.20'}
          - {name: bad, image: 'alpine:latest'}
";
        let hits = run(yaml, ID);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].line, 12);
        assert_eq!(
            hits[0].path,
            "spec.jobTemplate.spec.template.spec.containers[1].image"
        );
    }
}
