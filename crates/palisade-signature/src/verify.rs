//! Deciding whether an image digest is signed by a [`Signer`], and saying why not.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::certificate::{verify_chain, Leaf};
use crate::evidence::{Bundle, Content, CosignLayer, Evidence, EvidenceKind, IN_TOTO_PAYLOAD_TYPE};
use crate::key::{hex, unhex, PublicKey};
use crate::signer::{Signer, SignerKind, TlogRequirement};
use crate::tlog::{check_entry, Artifact, Expected, TlogEntry};
use crate::trust::TrustRoot;

/// A signature that satisfied a signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub image_digest: String,
    /// Index of the evidence in the slice given to [`verify`].
    pub evidence: usize,
    /// The signer, as [`Signer`]'s `Display` writes it.
    pub signer: String,
    /// Keyless: the certificate's matching identity and its issuer.
    pub identity: Option<String>,
    pub issuer: Option<String>,
    /// The verified Rekor entry, if any.
    pub log_index: Option<i64>,
    pub log_id: Option<String>,
    /// The signing time attested by a verified SET.
    pub integrated_time: Option<i64>,
}

/// Why no evidence satisfied the signer(s): one failure per piece of evidence and
/// signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub image_digest: String,
    pub failures: Vec<Failure>,
}

/// One piece of evidence failing one signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub signer: String,
    /// Index into the evidence; `None` when there was nothing to check.
    pub evidence: Option<usize>,
    pub reason: Reason,
}

impl std::error::Error for Rejection {}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not signed as the policy requires",
            self.image_digest
        )?;
        for x in &self.failures {
            match x.evidence {
                Some(i) => write!(f, "; signature {i} for {}: {}", x.signer, x.reason)?,
                None => write!(f, "; {}: {}", x.signer, x.reason)?,
            }
        }
        Ok(())
    }
}

/// Why one signature does not satisfy a signer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("no signatures found")]
    NoSignatures,
    #[error("image digest {0:?} is not sha256:<64 hex digits>")]
    BadImageDigest(String),
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("the signature is for {found}, not {expected}")]
    DigestMismatch { expected: String, found: String },
    #[error("a messageSignature bundle can only be checked with the manifest bytes")]
    NeedsManifest,
    #[error("not signed by this key")]
    WrongKey,
    #[error("the signature does not verify with the certificate's key")]
    SignatureInvalid,
    #[error("keyless signer but the signature carries no certificate")]
    NoCertificate,
    #[error("certificate identity {} does not match {expected}", found_list(.found))]
    IdentityMismatch {
        expected: String,
        found: Vec<String>,
    },
    #[error("certificate issuer {} does not match {expected}", .found.as_deref().map_or_else(|| "(none)".to_owned(), |s| format!("{s:?}")))]
    IssuerMismatch {
        expected: String,
        found: Option<String>,
    },
    #[error("certificate chain: {0}")]
    UntrustedChain(String),
    #[error("certificate expired at {not_after}, before the signing time {signed_at}")]
    CertificateExpired { not_after: i64, signed_at: i64 },
    #[error("certificate not valid before {not_before}, after the signing time {signed_at}")]
    CertificateNotYetValid { not_before: i64, signed_at: i64 },
    #[error("transparency log {0} is not trusted")]
    UntrustedLog(String),
    #[error("the signed entry timestamp (SET) does not verify with the key of log {0}")]
    SetInvalid(String),
    #[error("inclusion proof: {0}")]
    InclusionProof(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("checkpoint of {0:?} is not signed by the entry's trusted log")]
    CheckpointUntrusted(String),
    #[error("transparency-log entry: {0}")]
    TlogBodyMismatch(String),
    #[error("no transparency-log entry, and the signer requires one")]
    NoTlogEntry,
    #[error("no inclusion proof, which a v0.2+ bundle must carry when the signer requires the transparency log")]
    MissingInclusionProof,
    #[error("no verified SET attests the signing time (RFC 3161 timestamps are not supported)")]
    NoTrustedTime,
}

fn found_list(found: &[String]) -> String {
    if found.is_empty() {
        "(none)".into()
    } else {
        found
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks that at least one piece of `evidence` is a signature of `image_digest`
/// (`sha256:<hex>`) satisfying `signer` under `trust`.
///
/// # Errors
/// A [`Rejection`] naming, for every piece of evidence, why it failed.
pub fn verify(
    image_digest: &str,
    evidence: &[Evidence],
    signer: &Signer,
    trust: &TrustRoot,
) -> Result<Verified, Rejection> {
    let reject = |failures| Rejection {
        image_digest: image_digest.to_owned(),
        failures,
    };
    let failure = |evidence, reason| Failure {
        signer: signer.to_string(),
        evidence,
        reason,
    };
    let digest = match parse_digest(image_digest) {
        Some(d) => d,
        None => {
            return Err(reject(vec![failure(
                None,
                Reason::BadImageDigest(image_digest.chars().take(100).collect()),
            )]))
        }
    };
    if evidence.is_empty() {
        return Err(reject(vec![failure(None, Reason::NoSignatures)]));
    }
    let mut failures = Vec::new();
    for (i, ev) in evidence.iter().enumerate() {
        match verify_one(&digest, image_digest, ev, signer, trust) {
            Ok(mut v) => {
                v.evidence = i;
                return Ok(v);
            }
            Err(reason) => failures.push(failure(Some(i), reason)),
        }
    }
    Err(reject(failures))
}

fn parse_digest(image_digest: &str) -> Option<[u8; 32]> {
    let h = image_digest.strip_prefix("sha256:")?;
    if h.len() != 64 {
        return None;
    }
    unhex(h)?.try_into().ok()
}

/// What any kind of evidence reduces to.
struct Claim<'a> {
    /// The bytes the signatures sign.
    message: Vec<u8>,
    signatures: Vec<&'a [u8]>,
    certificates: &'a [Vec<u8>],
    tlog: &'a [TlogEntry],
    artifact: Artifact<'a>,
    /// Bundle format minor version; 0 for cosign layers.
    bundle_version: u8,
}

fn verify_one(
    digest: &[u8; 32],
    image_digest: &str,
    ev: &Evidence,
    signer: &Signer,
    trust: &TrustRoot,
) -> Result<Verified, Reason> {
    let claim = match &ev.kind {
        EvidenceKind::Cosign(layer) => cosign_claim(digest, image_digest, layer)?,
        EvidenceKind::Bundle(bundle) => bundle_claim(digest, image_digest, bundle)?,
    };
    let mut verified = Verified {
        image_digest: image_digest.to_owned(),
        evidence: 0,
        signer: signer.to_string(),
        identity: None,
        issuer: None,
        log_index: None,
        log_id: None,
        integrated_time: None,
    };
    let (key, signature, leaf) = match &signer.kind {
        SignerKind::Key(key) => {
            let sig = claim
                .signatures
                .iter()
                .find(|s| key.verifies(&claim.message, s))
                .ok_or(Reason::WrongKey)?;
            (key.clone(), *sig, None)
        }
        SignerKind::Keyless { identity, issuer } => {
            let der = claim.certificates.first().ok_or(Reason::NoCertificate)?;
            let leaf = Leaf::parse(der)?;
            let sig = claim
                .signatures
                .iter()
                .find(|s| leaf.key.verifies(&claim.message, s))
                .ok_or(Reason::SignatureInvalid)?;
            let id = leaf
                .identities
                .iter()
                .find(|i| identity.matches(i))
                .ok_or_else(|| Reason::IdentityMismatch {
                    expected: identity.to_string(),
                    found: leaf.identities.clone(),
                })?;
            match &leaf.issuer {
                Some(iss) if issuer.matches(iss) => {}
                found => {
                    return Err(Reason::IssuerMismatch {
                        expected: issuer.to_string(),
                        found: found.clone(),
                    })
                }
            }
            verified.identity = Some(id.clone());
            verified.issuer.clone_from(&leaf.issuer);
            (leaf.key.clone(), *sig, Some(der))
        }
    };
    check_tlog(&claim, signature, &key, signer.tlog, trust, &mut verified)?;
    if let Some(leaf) = leaf {
        let time = match verified.integrated_time {
            Some(t) => t,
            None if signer.tlog == TlogRequirement::Required => return Err(Reason::NoTrustedTime),
            // No attested signing time: the certificate must be valid now, which a
            // short-lived Fulcio certificate rarely is.
            None => now(),
        };
        verify_chain(
            leaf,
            claim.certificates.get(1..).unwrap_or_default(),
            trust,
            time,
        )?;
    }
    Ok(verified)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0)
}

fn check_tlog(
    claim: &Claim<'_>,
    signature: &[u8],
    key: &PublicKey,
    requirement: TlogRequirement,
    trust: &TrustRoot,
    verified: &mut Verified,
) -> Result<(), Reason> {
    let expected = Expected {
        artifact: match claim.artifact {
            Artifact::Message(d) => Artifact::Message(d),
            Artifact::Dsse(p) => Artifact::Dsse(p),
        },
        signature,
        key,
    };
    let mut any_set = false;
    let mut any_proof = false;
    for entry in claim.tlog {
        let checked = check_entry(entry, &expected, trust)?;
        if checked.set_verified || checked.proof_verified {
            if verified.log_index.is_none() || (checked.set_verified && !any_set) {
                verified.log_index = Some(entry.log_index);
                verified.log_id = Some(hex(&entry.log_id));
            }
            if checked.set_verified && !any_set {
                verified.integrated_time = Some(entry.integrated_time);
            }
        }
        any_set |= checked.set_verified;
        any_proof |= checked.proof_verified;
    }
    if requirement == TlogRequirement::Required {
        if !(any_set || any_proof) {
            return Err(Reason::NoTlogEntry);
        }
        if claim.bundle_version >= 2 && !any_proof {
            return Err(Reason::MissingInclusionProof);
        }
    }
    Ok(())
}

fn cosign_claim<'a>(
    digest: &[u8; 32],
    image_digest: &str,
    layer: &'a CosignLayer,
) -> Result<Claim<'a>, Reason> {
    let payload: serde_json::Value = serde_json::from_slice(&layer.payload)
        .map_err(|e| Reason::Malformed(format!("simple-signing payload: {e}")))?;
    let found = payload["critical"]["image"]["docker-manifest-digest"]
        .as_str()
        .ok_or_else(|| {
            Reason::Malformed("payload has no critical.image.docker-manifest-digest".into())
        })?;
    if parse_digest(&found.to_ascii_lowercase()) != Some(*digest) {
        return Err(Reason::DigestMismatch {
            expected: image_digest.to_owned(),
            found: found.chars().take(100).collect(),
        });
    }
    Ok(Claim {
        message: layer.payload.clone(),
        signatures: vec![&layer.signature],
        certificates: &layer.certificates,
        tlog: layer.tlog.as_slice(),
        artifact: Artifact::Message(Sha256::digest(&layer.payload).into()),
        bundle_version: 0,
    })
}

fn bundle_claim<'a>(
    digest: &[u8; 32],
    image_digest: &str,
    bundle: &'a Bundle,
) -> Result<Claim<'a>, Reason> {
    let (message, signatures, artifact) = match &bundle.content {
        Content::Message {
            digest: signed,
            signature,
        } => {
            if signed.as_slice() != digest {
                return Err(Reason::DigestMismatch {
                    expected: image_digest.to_owned(),
                    found: format!("sha256:{}", hex(signed)),
                });
            }
            let manifest = bundle.artifact.as_ref().ok_or(Reason::NeedsManifest)?;
            let actual: [u8; 32] = Sha256::digest(manifest).into();
            if &actual != digest {
                return Err(Reason::DigestMismatch {
                    expected: image_digest.to_owned(),
                    found: format!("manifest bytes of sha256:{}", hex(&actual)),
                });
            }
            (
                manifest.clone(),
                vec![signature.as_slice()],
                Artifact::Message(*digest),
            )
        }
        Content::Dsse {
            payload_type,
            payload,
            signatures,
        } => {
            if payload_type != IN_TOTO_PAYLOAD_TYPE {
                return Err(Reason::Malformed(format!(
                    "DSSE payload type {payload_type:?} is not {IN_TOTO_PAYLOAD_TYPE}"
                )));
            }
            let statement: serde_json::Value = serde_json::from_slice(payload)
                .map_err(|e| Reason::Malformed(format!("in-toto statement: {e}")))?;
            let subjects: Vec<&str> = statement["subject"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["digest"]["sha256"].as_str())
                .collect();
            let want = hex(digest);
            if !subjects.iter().any(|s| s.eq_ignore_ascii_case(&want)) {
                return Err(Reason::DigestMismatch {
                    expected: image_digest.to_owned(),
                    found: if subjects.is_empty() {
                        "no sha256 subject".into()
                    } else {
                        subjects
                            .iter()
                            .take(5)
                            .map(|s| format!("sha256:{}", s.chars().take(64).collect::<String>()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                });
            }
            (
                pae(payload_type, payload),
                signatures.iter().map(Vec::as_slice).collect(),
                Artifact::Dsse(payload),
            )
        }
    };
    Ok(Claim {
        message,
        signatures,
        certificates: &bundle.certificates,
        tlog: &bundle.tlog,
        artifact,
        bundle_version: bundle.version,
    })
}

/// DSSE pre-authentication encoding: what DSSE signatures sign.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}
