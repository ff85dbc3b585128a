//! Verified digests, so that an image already checked under the same rule and trust
//! root is a map lookup, not a verification.
//!
//! Keys are (image digest, [`Rule::fingerprint`]): the fingerprint covers the rule's
//! signers and the trust root, so changing either misses. Rejections are not cached:
//! new evidence may appear. Verified results do not expire: a signature's validity
//! is judged at its signing time, which does not change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::evidence::Evidence;
use crate::policy::Rule;
use crate::trust::TrustRoot;
use crate::verify::{Rejection, Verified};
use crate::SignatureError;

/// fingerprint -> image digest -> what verified.
type Entries = BTreeMap<String, BTreeMap<String, Vec<Verified>>>;

/// Verified results in memory, optionally persisted as a JSON file.
#[derive(Debug, Default)]
pub struct Cache {
    entries: Entries,
    path: Option<PathBuf>,
}

impl Cache {
    /// A cache that lives as long as the value.
    #[must_use]
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// A cache persisted at `path`, loaded if the file exists. An unreadable or
    /// corrupt file is an error, not silently dropped.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not a cache.
    pub fn open(path: &Path) -> Result<Self, SignatureError> {
        let entries = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| SignatureError::Cache(path.display().to_string(), e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Entries::new(),
            Err(e) => return Err(SignatureError::Io(path.display().to_string(), e)),
        };
        Ok(Self {
            entries,
            path: Some(path.to_owned()),
        })
    }

    /// What verified `image_digest` under the rule with `fingerprint`.
    #[must_use]
    pub fn get(&self, image_digest: &str, fingerprint: &str) -> Option<&[Verified]> {
        self.entries
            .get(fingerprint)?
            .get(image_digest)
            .map(Vec::as_slice)
    }

    /// Records a verification.
    pub fn insert(&mut self, image_digest: &str, fingerprint: &str, verified: Vec<Verified>) {
        self.entries
            .entry(fingerprint.to_owned())
            .or_default()
            .insert(image_digest.to_owned(), verified);
    }

    /// Number of cached (fingerprint, digest) pairs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.values().map(BTreeMap::len).sum()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops the entries of fingerprints other than `keep`, e.g. after a policy
    /// change.
    pub fn retain_fingerprints(&mut self, keep: &[&str]) {
        self.entries.retain(|f, _| keep.contains(&f.as_str()));
    }

    /// The cached result, or the result of verifying the evidence `fetch` returns
    /// (called only on a miss), cached when it passes. `fingerprint` is
    /// `rule.fingerprint(trust)`, computed once per rule by the caller.
    ///
    /// # Errors
    /// The [`Rejection`] of a failed verification.
    pub fn verify(
        &mut self,
        image_digest: &str,
        rule: &Rule,
        fingerprint: &str,
        trust: &TrustRoot,
        fetch: impl FnOnce() -> Vec<Evidence>,
    ) -> Result<Vec<Verified>, Rejection> {
        if let Some(hit) = self.get(image_digest, fingerprint) {
            return Ok(hit.to_vec());
        }
        let verified = rule.verify(image_digest, &fetch(), trust)?;
        self.insert(image_digest, fingerprint, verified.clone());
        Ok(verified)
    }

    /// Writes the cache to its file (write then rename: a crash leaves the old one).
    /// A no-op for an in-memory cache.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self) -> Result<(), SignatureError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |e| SignatureError::Io(path.display().to_string(), e);
        let json = serde_json::to_vec(&self.entries)
            .map_err(|e| SignatureError::Cache(path.display().to_string(), e.to_string()))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}
