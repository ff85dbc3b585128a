//! `image-not-pinned`: an image without a content digest.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::reference::container_images;
use crate::pss::helpers::{cis, mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "image-not-pinned",
        title: "Image not pinned by digest",
        severity: Severity::Low,
        category: Category::Image,
        description: "A container image has no `@sha256:` digest; a tag alone is mutable.",
        rationale: "A tag can be moved to another image at any time, by a release process or by whoever gains push access to the repository; only a digest names immutable content, so only a digest guarantees the scanned, reviewed image is the one that runs.",
        remediation: "Append the digest of the reviewed image: `image: registry/app:1.4.2@sha256:<digest>` (the tag stays readable; the runtime pulls by digest). `palisade scan --resolve-digests` (or `palisade image resolve IMAGE`) prints the digest each tag names now; Renovate keeps digests current.",
        references: &[
            "https://kubernetes.io/docs/concepts/containers/images/#image-names",
            "https://kubernetes.io/docs/concepts/containers/images/#updating-images",
        ],
        mappings: &[cis("5.5.1"), nsa("Pod security"), mitre("T1525")],
        peers: &[peer(PeerTool::Checkov, "CKV_K8S_43")],
        peer_notes: "Only a well-formed digest counts (`sha256:` with 64 hex digits, or sha384/sha512); a tag beside it is fine, since the runtime pulls by digest. Untagged and `latest` images are left to `image-tag-latest` when that check runs (one problem, one finding); with it disabled they are reported here. Empty and templated images (`{{`, `$VAR`, `${VAR}`) are skipped.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let latest_reported = ctx.settings.is_active("image-tag-latest");
    for ci in container_images(ctx) {
        if ci.image.is_pinned() || (latest_reported && ci.image.is_latest()) {
            continue;
        }
        let why = if ci.image.digest.is_some() {
            "has a malformed digest"
        } else {
            "is not pinned by digest"
        };
        // With `--resolve-digests`, the digest the tag names now, ready to paste.
        let now = ctx
            .settings
            .images
            .as_ref()
            .filter(|_| ci.image.digest.is_none())
            .and_then(|facts| facts.digest(ci.node.as_str().unwrap_or_default()))
            .map(|digest| {
                format!(
                    "; its tag names {}@{digest} now",
                    ci.node.as_str().unwrap_or_default().trim()
                )
            })
            .unwrap_or_default();
        out.report(
            meta,
            ci.node,
            ci.container.path_of("image"),
            format!(
                "{}: image {:?} {why}{now}",
                who(&ci.container),
                ci.image.name()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use palisade_engine::CheckSettings;

    use crate::testing::{run, run_with};

    const ID: &[&str] = &["image-not-pinned"];

    fn yaml() -> String {
        let hex = "ab".repeat(32);
        format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers:
  - {{name: tagged, image: 'ghcr.io/acme/app:1.2'}}
  - {{name: digest, image: 'ghcr.io/acme/app@sha256:{hex}'}}
  - {{name: both, image: 'ghcr.io/acme/app:1.2@sha256:{hex}'}}
  - {{name: short, image: 'ghcr.io/acme/app@sha256:abc'}}
  - {{name: latest, image: 'nginx'}}
  - {{name: tmpl, image: 'app:${{TAG}}'}}
"
        )
    }

    #[test]
    fn digests_pin_tags_do_not() {
        let hits = run(&yaml(), ID);
        let got: Vec<_> = hits.iter().map(|h| (h.line, h.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (6, "spec.containers[0].image"),
                (9, "spec.containers[3].image")
            ]
        );
        assert_eq!(
            hits[0].message,
            "container \"tagged\": image \"ghcr.io/acme/app\" is not pinned by digest"
        );
        assert!(hits[1].message.contains("malformed digest"));
        assert_eq!(hits[0].severity, palisade_model::Severity::Low);
    }

    #[test]
    fn latest_images_reported_here_only_without_image_tag_latest() {
        let settings = CheckSettings {
            active: Some(HashSet::from(["image-not-pinned"])),
            ..CheckSettings::default()
        };
        let hits = run_with(&yaml(), ID, "restricted", &settings);
        let lines: Vec<_> = hits.iter().map(|h| h.line).collect();
        assert_eq!(lines, [6, 9, 10]);
    }
}
