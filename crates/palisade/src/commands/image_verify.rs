//! Signature verification as `image verify`, `scan --image-policy` and the admission
//! webhook use it: the policy's rule for an image, its signature artifacts fetched
//! from the registry (or read from a layout), verified offline, verified digests
//! cached per rule.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use palisade_engine::SignatureVerdict;
use palisade_registry::{Registry, SignatureArtifact};
use palisade_signature::{Cache, Evidence, Policy, Rejection, TrustRoot, Verified};

/// A policy ready to verify with.
pub(crate) struct Verifier {
    policy: Policy,
    trust: TrustRoot,
    /// Each rule's fingerprint (its signers and the trust root): the cache key part.
    fingerprints: Vec<String>,
    cache: Mutex<Cache>,
}

/// Why an image is not verified, or what verified it.
pub(crate) type Outcome = Result<Vec<Verified>, String>;

/// The signature artifacts as evidence; those that cannot be read are said, not lost.
fn evidence(
    artifacts: &[SignatureArtifact],
    manifest: Option<&[u8]>,
) -> (Vec<Evidence>, Vec<String>) {
    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    for (i, artifact) in artifacts.iter().enumerate() {
        let read = match artifact {
            SignatureArtifact::Cosign {
                payload,
                annotations,
            } => Evidence::from_cosign_layer(payload, annotations),
            SignatureArtifact::Bundle(json) => Evidence::from_bundle_json(json, manifest),
        };
        match read {
            Ok(e) => found.push(e),
            Err(e) => unreadable.push(format!("signature artifact {i} could not be read: {e}")),
        }
    }
    (found, unreadable)
}

/// A rejection as one sentence: each signer's failures.
fn why(rejection: &Rejection, unreadable: &[String]) -> String {
    let mut parts: Vec<String> = rejection
        .failures
        .iter()
        .map(|f| match f.evidence {
            Some(i) => format!("signature {i} for {}: {}", f.signer, f.reason),
            None => format!("{}: {}", f.signer, f.reason),
        })
        .collect();
    parts.extend(unreadable.iter().cloned());
    parts.join("; ")
}

impl Verifier {
    /// `policy` with `trust` (or the trust root the policy file names, or none: keyed
    /// signers need none), verified digests kept in `cache` (a file) or in memory.
    pub(crate) fn new(
        policy: Policy,
        trust: Option<TrustRoot>,
        cache: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let trust = trust.or_else(|| policy.trust.clone()).unwrap_or_default();
        let fingerprints = policy.rules.iter().map(|r| r.fingerprint(&trust)).collect();
        let cache = match cache {
            Some(path) => Cache::open(path)?,
            None => Cache::in_memory(),
        };
        Ok(Self {
            policy,
            trust,
            fingerprints,
            cache: Mutex::new(cache),
        })
    }

    /// The policy file `path`.
    pub(crate) fn load(path: &Path, cache: Option<&PathBuf>) -> anyhow::Result<Self> {
        let policy = Policy::from_file(path)
            .with_context(|| format!("signature policy {}", path.display()))?;
        Self::new(policy, None, cache.map(PathBuf::as_path))
    }

    /// The index of the rule covering `image`; `None` when the policy does not.
    pub(crate) fn rule_for(&self, image: &str) -> Option<usize> {
        let rule = self.policy.rules_for(image)?;
        self.policy.rules.iter().position(|r| std::ptr::eq(r, rule))
    }

    /// What the cache holds for `digest` under rule `rule`.
    pub(crate) fn cached(&self, rule: usize, digest: &str) -> Option<Vec<Verified>> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(digest, &self.fingerprints[rule])
            .map(<[Verified]>::to_vec)
    }

    /// Verifies `artifacts` of `digest` under rule `rule` and caches a success.
    pub(crate) fn judge(
        &self,
        rule: usize,
        digest: &str,
        artifacts: &[SignatureArtifact],
        manifest: Option<&[u8]>,
    ) -> Outcome {
        let (evidence, unreadable) = evidence(artifacts, manifest);
        match self.policy.rules[rule].verify(digest, &evidence, &self.trust) {
            Ok(verified) => {
                let mut cache = self
                    .cache
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                cache.insert(digest, &self.fingerprints[rule], verified.clone());
                if let Err(e) = cache.save() {
                    tracing::warn!("{e}");
                }
                Ok(verified)
            }
            Err(rejection) => Err(why(&rejection, &unreadable)),
        }
    }

    /// Verifies the image `reference` (`repo@sha256:…`) from its registry, under the
    /// rule covering it; `None` when no rule does.
    pub(crate) async fn verify_remote(
        &self,
        registry: &Registry,
        reference: &str,
    ) -> Option<Outcome> {
        let rule = self.rule_for(reference)?;
        let digest = reference.split_once('@').map_or("", |(_, d)| d);
        if let Some(hit) = self.cached(rule, digest) {
            return Some(Ok(hit));
        }
        let artifacts = match registry.signature_artifacts(reference, digest).await {
            Ok(a) => a,
            Err(e) => return Some(Err(format!("its signatures could not be fetched: {e}"))),
        };
        // A messageSignature bundle signs the manifest's bytes.
        let manifest = if artifacts
            .iter()
            .any(|a| matches!(a, SignatureArtifact::Bundle(_)))
        {
            registry.manifest_bytes(reference).await.ok()
        } else {
            None
        };
        Some(self.judge(rule, digest, &artifacts, manifest.as_deref()))
    }

    /// The verdict `scan` and the webhook report.
    pub(crate) async fn verify(&self, registry: &Registry, reference: &str) -> SignatureVerdict {
        match self.verify_remote(registry, reference).await {
            None => SignatureVerdict::Verified("not covered by the policy".into()),
            Some(Ok(verified)) => SignatureVerdict::Verified(
                verified
                    .iter()
                    .map(|v| v.signer.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Some(Err(why)) => SignatureVerdict::Rejected(why),
        }
    }
}
