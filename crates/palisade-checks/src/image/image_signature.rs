//! `image-signature`: an image the signature policy covers is not signed as it requires.

use palisade_engine::{Findings, ObjectContext, SignatureVerdict};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::reference::images_to_ask;
use crate::pss::helpers::{cis, mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "image-signature",
        title: "Image not signed as the signature policy requires",
        severity: Severity::High,
        category: Category::Image,
        description: "An image that a rule of the signature policy (`--image-policy FILE`) covers has no cosign signature that satisfies the rule: none at all, one made with another key, a keyless certificate whose identity or issuer the rule does not name, a certificate that does not chain to the trusted Fulcio roots, or a signature without the transparency-log inclusion proof the rule requires. Signatures are cosign's `sha256-HEX.sig` manifests and Sigstore bundles attached as OCI referrers, verified offline. A Pod's running image is judged by the digest in its status; a tag is resolved to its digest first, and each digest is verified once per run. Without `--image-policy` nothing is judged; images no rule covers are not judged.",
        rationale: "A signature ties an image to the pipeline that built it: an image pushed by whoever stole registry credentials, or swapped under a mutable tag, carries no valid signature from the release key or workflow identity, so verifying before the image runs stops a supply-chain compromise at the cluster's door.",
        remediation: "Sign the image in its release pipeline (`cosign sign --key KEY IMAGE@DIGEST`, or keyless from the CI identity the policy names) and deploy it by digest; if the image is trusted but signed by another identity, add that signer to the policy rule for it.",
        references: &[
            "https://docs.sigstore.dev/cosign/verifying/verify/",
            "https://kubernetes.io/docs/tasks/administer-cluster/verify-signed-artifacts/",
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#imagepolicywebhook",
        ],
        mappings: &[
            cis("5.5.1"),
            nsa("Building secure container images"),
            mitre("T1525"),
            mitre("T1204.003"),
        ],
        peers: &[peer(PeerTool::Kubescape, "C-0236"), peer(PeerTool::Kyverno, "verify-image")],
        peer_notes: "Kyverno's verifyImages and Sigstore's policy-controller verify at admission online (Rekor, registry); kubescape's C-0236/C-0237 need its operator. Palisade verifies offline from what the registry or an OCI layout holds, against the trust roots you give it, in manifests in CI, live clusters and the admission webhook alike.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let Some(facts) = &ctx.settings.images else {
        return;
    };
    for (ci, image) in images_to_ask(ctx) {
        if let Some(SignatureVerdict::Rejected(why)) = facts.signature(&image) {
            out.report(
                meta,
                ci.node,
                ci.container.path_of("image"),
                format!(
                    "{}: image {image:?} is not signed as the policy requires: {why}",
                    who(&ci.container)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use palisade_engine::{CheckSettings, ImageFacts, ImageVulnerabilities, SignatureVerdict};

    use crate::testing::{run, run_with};

    const ID: &[&str] = &["image-signature"];

    /// Verdicts as a policy would give them, recording what was asked.
    #[derive(Debug, Default)]
    pub(crate) struct Facts {
        pub verdicts: HashMap<String, SignatureVerdict>,
        pub asked: Mutex<Vec<String>>,
    }

    impl ImageFacts for Facts {
        fn digest(&self, _: &str) -> Option<String> {
            None
        }
        fn signature(&self, image: &str) -> Option<SignatureVerdict> {
            self.asked.lock().unwrap().push(image.to_owned());
            self.verdicts.get(image).cloned()
        }
        fn vulnerabilities(&self, _: &str) -> Option<Result<ImageVulnerabilities, String>> {
            None
        }
    }

    const POD: &str = "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
  - {name: init, image: 'ghcr.io/acme/init:1'}
  containers:
  - {name: app, image: 'ghcr.io/acme/app:1'}
  - {name: side, image: 'ghcr.io/other/side:2'}
  - {name: tmpl, image: '{{ .Values.image }}'}
status:
  containerStatuses:
  - {name: app, imageID: 'ghcr.io/acme/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}
  - {name: side, imageID: 'sha256:bbbb'}
";

    #[test]
    fn rejected_images_are_reported_at_their_line_running_images_by_digest() {
        let running = format!("ghcr.io/acme/app@sha256:{}", "a".repeat(64));
        let facts = Arc::new(Facts {
            verdicts: HashMap::from([
                (
                    running.clone(),
                    SignatureVerdict::Rejected("signed by another key".into()),
                ),
                (
                    "ghcr.io/acme/init:1".to_owned(),
                    SignatureVerdict::Verified("key cosign.pub".into()),
                ),
                (
                    "ghcr.io/other/side:2".to_owned(),
                    SignatureVerdict::Rejected("no signature".into()),
                ),
            ]),
            ..Facts::default()
        });
        let settings = CheckSettings {
            images: Some(facts.clone()),
            ..CheckSettings::default()
        };
        let hits = run_with(POD, ID, "restricted", &settings);
        let got: Vec<_> = hits.iter().map(|h| (h.line, h.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (8, format!("container \"app\": image {running:?} is not signed as the policy requires: signed by another key").as_str()),
                (9, "container \"side\": image \"ghcr.io/other/side:2\" is not signed as the policy requires: no signature"),
            ]
        );
        // The templated image is never asked about; a status without a digest falls
        // back to the written image.
        let mut asked = facts.asked.lock().unwrap().clone();
        asked.sort();
        assert_eq!(
            asked,
            [
                running.as_str(),
                "ghcr.io/acme/init:1",
                "ghcr.io/other/side:2"
            ]
        );
    }

    #[test]
    fn nothing_is_judged_without_a_policy() {
        assert!(run(POD, ID).is_empty());
    }
}
