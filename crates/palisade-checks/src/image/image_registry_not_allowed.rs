//! `image-registry-not-allowed`: an image from outside the configured registry allowlist.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::reference::container_images;
use crate::pss::helpers::{cis, mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "image-registry-not-allowed",
        title: "Image from a registry outside the allowlist",
        severity: Severity::High,
        category: Category::Image,
        description: "A container image comes from a registry (or repository path) that the configured `allowed_registries` does not list. Runs only when the allowlist is set.",
        rationale: "Images from unvetted registries skip the scanning, signing and provenance controls of the approved ones; a typo-squatted or attacker-controlled image runs with the pod's service account, secrets and network access.",
        remediation: "Mirror the image into an approved registry and reference it there, or add the registry to `allowed_registries` after review. Enforce the same list at admission (ValidatingAdmissionPolicy, Kyverno or Gatekeeper).",
        references: &[
            "https://kubernetes.io/docs/concepts/containers/images/#image-names",
            "https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/",
        ],
        mappings: &[cis("5.5.1"), nsa("Pod security"), mitre("T1525"), mitre("T1610")],
        peers: &[peer(PeerTool::Kubescape, "C-0078")],
        peer_notes: "Matches the parsed, normalised reference, not a string prefix: `nginx` is `docker.io/library/nginx`, so a `docker.io` entry admits it, and `ghcr.io.evil.com/x` does not match `ghcr.io`. An entry is a registry host (port included, exact) or a `registry/path/` prefix that matches whole path components (`ghcr.io/acme/` admits `ghcr.io/acme/app`, not `ghcr.io/acme-evil/app`). Empty and templated images are skipped.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let allowed = &ctx.settings.allowed_registries;
    if allowed.is_empty() {
        return;
    }
    for ci in container_images(ctx) {
        if allowed.iter().any(|entry| ci.image.allowed_by(entry)) {
            continue;
        }
        out.report(
            meta,
            ci.node,
            ci.container.path_of("image"),
            format!(
                "{}: image {:?} comes from registry {:?}, which the allowed registries do not include",
                who(&ci.container),
                ci.image.name(),
                ci.image.registry()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use palisade_engine::CheckSettings;

    use crate::testing::{run, run_with};

    const ID: &[&str] = &["image-registry-not-allowed"];
    const YAML: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      initContainers:
      - {name: init, image: 'busybox:1.36'}
      containers:
      - {name: app, image: 'ghcr.io/acme/app:1'}
      - {name: other, image: 'ghcr.io/other/app:1'}
      - {name: quay, image: 'quay.io/acme/app:1'}
      - {name: local, image: 'registry.example.com:5000/app:1'}
";

    fn settings(entries: &[&str]) -> CheckSettings {
        CheckSettings {
            allowed_registries: entries.iter().map(|e| (*e).to_owned()).collect(),
            ..CheckSettings::default()
        }
    }

    #[test]
    fn quiet_without_an_allowlist() {
        assert!(run(YAML, ID).is_empty());
    }

    #[test]
    fn hosts_and_path_prefixes() {
        let s = settings(&["ghcr.io/acme/", "docker.io", "registry.example.com:5000"]);
        let hits = run_with(YAML, ID, "restricted", &s);
        let got: Vec<_> = hits.iter().map(|h| (h.line, h.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (11, "spec.template.spec.containers[1].image"),
                (12, "spec.template.spec.containers[2].image"),
            ]
        );
        assert_eq!(
            hits[1].message,
            "container \"quay\": image \"quay.io/acme/app\" comes from registry \"quay.io\", which the allowed registries do not include"
        );
        assert_eq!(hits[0].severity, palisade_model::Severity::High);
    }

    #[test]
    fn implicit_docker_hub_is_not_allowed_by_other_registries() {
        let s = settings(&["ghcr.io"]);
        let hits = run_with(YAML, ID, "restricted", &s);
        let lines: Vec<_> = hits.iter().map(|h| h.line).collect();
        assert_eq!(lines, [8, 12, 13]);
        assert!(hits[0].message.contains("registry \"docker.io\""));
    }
}
