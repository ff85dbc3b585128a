//! `image-vulnerable`: a container's image has OS packages with known vulnerabilities.

use std::fmt::Write as _;

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::reference::images_to_ask;
use crate::pss::helpers::{mitre, nsa, peer, who};
use crate::Rule;

/// Records named in a finding's message; the rest are counted.
const NAMED: usize = 3;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "image-vulnerable",
        title: "Image has OS packages with known vulnerabilities",
        severity: Severity::High,
        category: Category::Image,
        description: "The image's OS packages (dpkg, apk, rpm), read from its layers, fall in the affected ranges of OSV records in the offline database (`scan --scan-images --vuln-db DIR`), compared in each ecosystem's own version order. One finding per container names the image's digest, how many records affect it by severity, and the most severe ones with their fixed versions; its severity is the most severe record's. A Pod's running image is read by the digest in its status; each digest is pulled and matched once per run. An image that cannot be pulled or read is reported at `info` with the reason. Without `--scan-images` nothing is judged.",
        rationale: "A known vulnerability in an image's packages is exploitable from the first day it runs: public advisories come with exploit code, and attackers scan for the versions they name. Most are fixed by rebuilding on a patched base image.",
        remediation: "Rebuild the image on an updated base image (or `apt-get upgrade` / `apk upgrade` in the build) so every package is at least at the fixed version the finding names, push it, and deploy the new digest; for records without a fix, remove the package if unused.",
        references: &[
            "https://ossf.github.io/osv-schema/",
            "https://kubernetes.io/docs/concepts/security/security-checklist/#images",
        ],
        mappings: &[nsa("Building secure container images"), nsa("Upgrading and application security practices"), mitre("T1190")],
        peers: &[peer(PeerTool::Trivy, "image")],
        peer_notes: "Trivy and kubescape scan images against their online databases; Palisade matches offline against the OSV records you import (`palisade db update`), and places the finding on the container's `image:` line.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let Some(facts) = &ctx.settings.images else {
        return;
    };
    for (ci, image) in images_to_ask(ctx) {
        let path = ci.container.path_of("image");
        match facts.vulnerabilities(&image) {
            None => {}
            Some(Err(why)) => {
                out.report(
                    meta,
                    ci.node,
                    path,
                    format!(
                        "{}: image {image:?} could not be scanned: {why}",
                        who(&ci.container)
                    ),
                )
                .severity = Severity::Info;
            }
            Some(Ok(found)) if found.vulnerabilities.is_empty() => {}
            Some(Ok(found)) => {
                let worst = found
                    .vulnerabilities
                    .iter()
                    .map(|v| v.severity)
                    .max()
                    .unwrap_or(meta.severity);
                let mut message = format!(
                    "{}: image {image:?} ({}) has {} known vulnerabilit{} (",
                    who(&ci.container),
                    found.digest,
                    found.vulnerabilities.len(),
                    if found.vulnerabilities.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    },
                );
                let mut first = true;
                for severity in &Severity::ALL {
                    let n = found
                        .vulnerabilities
                        .iter()
                        .filter(|v| v.severity == *severity)
                        .count();
                    if n > 0 {
                        let _ = write!(
                            message,
                            "{}{n} {}",
                            if first { "" } else { ", " },
                            severity.as_str()
                        );
                        first = false;
                    }
                }
                message.push_str("): ");
                for (i, v) in found.vulnerabilities.iter().take(NAMED).enumerate() {
                    let fix = v
                        .fixed
                        .as_ref()
                        .map_or_else(|| "no fix yet".to_owned(), |f| format!("fixed in {f}"));
                    let _ = write!(
                        message,
                        "{}{} in {} {} ({fix})",
                        if i == 0 { "" } else { "; " },
                        v.id,
                        v.package,
                        v.installed
                    );
                }
                if found.vulnerabilities.len() > NAMED {
                    let _ = write!(
                        message,
                        "; and {} more",
                        found.vulnerabilities.len() - NAMED
                    );
                }
                out.report(meta, ci.node, path, message).severity = worst;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use palisade_engine::{
        CheckSettings, ImageFacts, ImageVulnerabilities, ImageVulnerability, SignatureVerdict,
    };
    use palisade_model::Severity;

    use crate::testing::{run, run_with};

    const ID: &[&str] = &["image-vulnerable"];

    #[derive(Debug, Default)]
    struct Facts(HashMap<String, Result<ImageVulnerabilities, String>>);

    impl ImageFacts for Facts {
        fn digest(&self, _: &str) -> Option<String> {
            None
        }
        fn signature(&self, _: &str) -> Option<SignatureVerdict> {
            None
        }
        fn vulnerabilities(&self, image: &str) -> Option<Result<ImageVulnerabilities, String>> {
            self.0.get(image).cloned()
        }
    }

    fn vuln(id: &str, severity: Severity, fixed: Option<&str>) -> ImageVulnerability {
        ImageVulnerability {
            id: id.into(),
            severity,
            package: "openssl".into(),
            installed: "3.0.11-1".into(),
            fixed: fixed.map(str::to_owned),
        }
    }

    const YAML: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
      - {name: a, image: 'ghcr.io/acme/a:1'}
      - {name: b, image: 'ghcr.io/acme/b:1'}
      - {name: c, image: 'ghcr.io/acme/c:1'}
      - {name: d, image: 'ghcr.io/acme/d:1'}
";

    #[test]
    fn graded_by_the_worst_record_and_named_most_severe_first() {
        let many = ImageVulnerabilities {
            digest: "sha256:aa".into(),
            packages: 10,
            vulnerabilities: vec![
                vuln("DSA-1", Severity::Critical, Some("3.0.11-2")),
                vuln("DSA-2", Severity::High, None),
                vuln("DSA-3", Severity::Medium, Some("3.0.11-3")),
                vuln("DSA-4", Severity::Medium, Some("3.0.11-3")),
            ],
        };
        let facts = Facts(HashMap::from([
            ("ghcr.io/acme/a:1".to_owned(), Ok(many)),
            (
                "ghcr.io/acme/b:1".to_owned(),
                Ok(ImageVulnerabilities {
                    digest: "sha256:bb".into(),
                    packages: 3,
                    vulnerabilities: vec![vuln("DLA-9", Severity::Low, Some("3.0.12"))],
                }),
            ),
            (
                "ghcr.io/acme/c:1".to_owned(),
                Ok(ImageVulnerabilities::default()),
            ),
            (
                "ghcr.io/acme/d:1".to_owned(),
                Err("pull failed: 401".to_owned()),
            ),
        ]));
        let settings = CheckSettings {
            images: Some(Arc::new(facts)),
            ..CheckSettings::default()
        };
        let hits = run_with(YAML, ID, "restricted", &settings);
        let got: Vec<_> = hits.iter().map(|h| (h.line, h.severity)).collect();
        assert_eq!(
            got,
            [
                (8, Severity::Critical),
                (9, Severity::Low),
                (11, Severity::Info)
            ]
        );
        assert_eq!(
            hits[0].message,
            "container \"a\": image \"ghcr.io/acme/a:1\" (sha256:aa) has 4 known vulnerabilities (1 critical, 1 high, 2 medium): DSA-1 in openssl 3.0.11-1 (fixed in 3.0.11-2); DSA-2 in openssl 3.0.11-1 (no fix yet); DSA-3 in openssl 3.0.11-1 (fixed in 3.0.11-3); and 1 more"
        );
        assert!(hits[1]
            .message
            .contains("has 1 known vulnerability (1 low): DLA-9"));
        assert_eq!(
            hits[2].message,
            "container \"d\": image \"ghcr.io/acme/d:1\" could not be scanned: pull failed: 401"
        );
    }

    #[test]
    fn nothing_is_judged_without_image_scanning() {
        assert!(run(YAML, ID).is_empty());
    }
}
