//! `image-pull-policy`: a mutable tag the node may serve from its cache.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::reference::container_images;
use crate::pss::helpers::{cis, mitre, nsa, peer, shown, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "image-pull-policy",
        title: "Tagged image may run stale cached copies",
        severity: Severity::Low,
        category: Category::Image,
        description: "A container image has a tag but no digest, and its effective `imagePullPolicy` is not `Always` (set to `IfNotPresent` or `Never`, or omitted for a tag other than `latest`, where Kubernetes defaults to `IfNotPresent`).",
        rationale: "With a mutable tag and a cached pull, each node runs whichever image it pulled first for that tag: replicas of one Deployment can run different code, a retagged fix never reaches nodes that cached the old image, and a pod can start from a tampered local image without the registry's access checks.",
        remediation: "Pin the image by digest (`image: app:1.4.2@sha256:<digest>`), which makes the cache safe; otherwise set `imagePullPolicy: Always`.",
        references: &[
            "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
            "https://kubernetes.io/docs/concepts/containers/images/#imagepullpolicy-defaulting",
        ],
        mappings: &[cis("5.5.1"), nsa("Pod security"), mitre("T1525")],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_15"),
            peer(PeerTool::Polaris, "pullPolicyNotAlways"),
        ],
        peer_notes: "Follows the Kubernetes default: an omitted policy on an untagged or `latest` image is `Always`, so it is not reported; peers that require the field to be written report those too. Digest-pinned images are never reported: `IfNotPresent` is the right policy for immutable content. Points at `imagePullPolicy` when set, else at `image`.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for ci in container_images(ctx) {
        // A malformed digest is `image-not-pinned`'s to report; the pod would not start.
        if ci.image.digest.is_some() {
            continue;
        }
        let c = &ci.container;
        match c.node.get_present("imagePullPolicy") {
            Some(policy) if policy.as_str() == Some("Always") => {}
            Some(policy) => {
                out.report(
                    meta,
                    policy,
                    c.path_of("imagePullPolicy"),
                    format!(
                        "{}: imagePullPolicy {:?} on image {:?}, which is not pinned by digest",
                        who(c),
                        shown(policy),
                        ci.image.name()
                    ),
                );
            }
            // Omitted: Kubernetes defaults to Always for `latest` and untagged images.
            None if ci.image.is_latest() => {}
            None => {
                out.report(
                    meta,
                    ci.node,
                    c.path_of("imagePullPolicy"),
                    format!(
                        "{}: image {:?} has tag {:?} and no digest, and imagePullPolicy defaults to IfNotPresent",
                        who(c),
                        ci.image.name(),
                        ci.image.tag.unwrap_or_default()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::run;

    const ID: &[&str] = &["image-pull-policy"];

    #[test]
    fn effective_policy() {
        let hex = "c".repeat(64);
        let yaml = format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  initContainers:
  - name: init
    image: app:1.0
  containers:
  - name: set
    image: app:1.0
    imagePullPolicy: IfNotPresent
  - name: always
    image: app:1.0
    imagePullPolicy: Always
  - name: latest-default
    image: app
  - name: latest-never
    image: app:latest
    imagePullPolicy: Never
  - name: pinned
    image: app:1.0@sha256:{hex}
    imagePullPolicy: IfNotPresent
"
        );
        let hits = run(&yaml, ID);
        let got: Vec<_> = hits.iter().map(|h| (h.line, h.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (7, "spec.initContainers[0].imagePullPolicy"),
                (11, "spec.containers[0].imagePullPolicy"),
                (19, "spec.containers[3].imagePullPolicy"),
            ]
        );
        assert_eq!(
            hits[0].message,
            "init container \"init\": image \"docker.io/library/app\" has tag \"1.0\" and no digest, and imagePullPolicy defaults to IfNotPresent"
        );
        assert_eq!(
            hits[1].message,
            "container \"set\": imagePullPolicy \"IfNotPresent\" on image \"docker.io/library/app\", which is not pinned by digest"
        );
        assert!(hits
            .iter()
            .all(|h| h.severity == palisade_model::Severity::Low));
    }
}
