//! What a caller found for an image: cosign signature layers (the `sha256-<hex>.sig`
//! tag) and Sigstore bundles (the referrers API or `--new-bundle-format`).
//!
//! Parsing decodes every field it can; what cannot be judged without a signer
//! and trust root is left to [`crate::verify`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::key::{pem_blocks, unbase64, unhex};
use crate::tlog::{InclusionProof, TlogEntry};
use crate::SignatureError;

/// The layer media type of cosign's simple-signing payloads.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation: base64 signature over the payload.
pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation: PEM leaf certificate (keyless).
pub const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation: PEM intermediate certificates.
pub const ANNOTATION_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Layer annotation: the Rekor entry with its SET (JSON).
pub const ANNOTATION_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// The payload type of DSSE envelopes holding in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// One signature found for an image, not yet verified.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub(crate) kind: EvidenceKind,
}

#[derive(Debug, Clone)]
pub(crate) enum EvidenceKind {
    Cosign(Box<CosignLayer>),
    Bundle(Box<Bundle>),
}

#[derive(Debug, Clone)]
pub(crate) struct CosignLayer {
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    /// DER, leaf first then the chain.
    pub certificates: Vec<Vec<u8>>,
    pub tlog: Option<TlogEntry>,
}

#[derive(Debug, Clone)]
pub(crate) struct Bundle {
    /// Minor version of the bundle format: 1, 2 or 3 (`v0.N`).
    pub version: u8,
    /// DER, leaf first; empty for a public-key bundle.
    pub certificates: Vec<Vec<u8>>,
    pub content: Content,
    pub tlog: Vec<TlogEntry>,
    /// The signed manifest, which a message-signature bundle needs.
    pub artifact: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Content {
    Message {
        /// SHA-256 of the signed artifact.
        digest: Vec<u8>,
        signature: Vec<u8>,
    },
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
        signatures: Vec<Vec<u8>>,
    },
}

fn bad(what: impl Into<String>) -> SignatureError {
    SignatureError::Evidence(what.into())
}

impl Evidence {
    /// A cosign signature layer: the layer blob (the simple-signing payload) and
    /// the layer's annotations, as read from the `.sig` manifest.
    ///
    /// # Errors
    /// No or bad signature annotation, a certificate or bundle annotation that
    /// does not parse.
    pub fn from_cosign_layer(
        payload: &[u8],
        annotations: &BTreeMap<String, String>,
    ) -> Result<Self, SignatureError> {
        let signature = annotations.get(ANNOTATION_SIGNATURE).ok_or_else(|| {
            bad(format!(
                "the layer has no {ANNOTATION_SIGNATURE} annotation"
            ))
        })?;
        let signature =
            unbase64(signature).ok_or_else(|| bad("the layer's signature is not base64"))?;
        let mut certificates = Vec::new();
        for name in [ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN] {
            if let Some(pem) = annotations.get(name) {
                let certs = pem_blocks(pem, "CERTIFICATE")
                    .map_err(|e| bad(format!("annotation {name}: {e}")))?;
                if name == ANNOTATION_CERTIFICATE && certs.is_empty() {
                    return Err(bad(format!("annotation {name} holds no certificate")));
                }
                certificates.extend(certs);
            }
        }
        let tlog = annotations
            .get(ANNOTATION_BUNDLE)
            .map(|b| cosign_bundle(b))
            .transpose()?;
        Ok(Self {
            kind: EvidenceKind::Cosign(Box::new(CosignLayer {
                payload: payload.to_vec(),
                signature,
                certificates,
                tlog,
            })),
        })
    }

    /// A Sigstore bundle (JSON, media types v0.1 to v0.3).
    ///
    /// A bundle signing the manifest itself (`messageSignature`) can only be
    /// checked with the manifest bytes (`manifest`); DSSE bundles name the digest in
    /// their in-toto statement and need none.
    ///
    /// # Errors
    /// Not JSON of the bundle shape, an unknown media type, bad base64 or numbers.
    pub fn from_bundle_json(json: &[u8], manifest: Option<&[u8]>) -> Result<Self, SignatureError> {
        let raw: RawBundle =
            serde_json::from_slice(json).map_err(|e| bad(format!("not a Sigstore bundle: {e}")))?;
        let version = match raw.media_type.as_str() {
            "application/vnd.dev.sigstore.bundle+json;version=0.1" => 1,
            "application/vnd.dev.sigstore.bundle+json;version=0.2" => 2,
            "application/vnd.dev.sigstore.bundle+json;version=0.3"
            | "application/vnd.dev.sigstore.bundle.v0.3+json" => 3,
            other => return Err(bad(format!("unknown bundle media type {other:?}"))),
        };
        let material = raw.verification_material;
        let mut certificates = Vec::new();
        if let Some(c) = material.certificate {
            certificates.push(b64(&c.raw_bytes, "certificate")?);
        }
        if let Some(chain) = material.x509_certificate_chain {
            for c in chain.certificates {
                certificates.push(b64(&c.raw_bytes, "certificate chain")?);
            }
        }
        let tlog = material
            .tlog_entries
            .into_iter()
            .map(bundle_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let content = match (raw.message_signature, raw.dsse_envelope) {
            (Some(m), None) => {
                if m.message_digest.algorithm != "SHA2_256" {
                    return Err(bad(format!(
                        "message digest algorithm {:?} is not SHA2_256",
                        m.message_digest.algorithm
                    )));
                }
                Content::Message {
                    digest: b64(&m.message_digest.digest, "message digest")?,
                    signature: b64(&m.signature, "signature")?,
                }
            }
            (None, Some(d)) => Content::Dsse {
                payload_type: d.payload_type,
                payload: b64(&d.payload, "DSSE payload")?,
                signatures: d
                    .signatures
                    .iter()
                    .map(|s| b64(&s.sig, "DSSE signature"))
                    .collect::<Result<_, _>>()?,
            },
            _ => {
                return Err(bad(
                    "a bundle holds exactly one of messageSignature and dsseEnvelope",
                ))
            }
        };
        Ok(Self {
            kind: EvidenceKind::Bundle(Box::new(Bundle {
                version,
                certificates,
                content,
                tlog,
                artifact: manifest.map(<[u8]>::to_vec),
            })),
        })
    }

    /// "cosign signature" or "Sigstore bundle".
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self.kind {
            EvidenceKind::Cosign(_) => "cosign signature",
            EvidenceKind::Bundle(_) => "Sigstore bundle",
        }
    }
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, SignatureError> {
    unbase64(text).ok_or_else(|| bad(format!("{what} is not base64")))
}

/// Protobuf JSON writes 64-bit integers as strings; accept numbers too.
fn int(v: &serde_json::Value, what: &str) -> Result<i64, SignatureError> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad(format!("{what} is not a 64-bit integer")))
}

fn uint(v: &serde_json::Value, what: &str) -> Result<u64, SignatureError> {
    match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad(format!("{what} is not an unsigned 64-bit integer")))
}

/// cosign's bundle annotation: `{"SignedEntryTimestamp", "Payload": {"body",
/// "integratedTime", "logIndex", "logID"}}`.
fn cosign_bundle(json: &str) -> Result<TlogEntry, SignatureError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Annotation {
        signed_entry_timestamp: String,
        payload: Payload,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Payload {
        body: String,
        integrated_time: serde_json::Value,
        log_index: serde_json::Value,
        #[serde(rename = "logID")]
        log_id: String,
    }
    let a: Annotation = serde_json::from_str(json)
        .map_err(|e| bad(format!("annotation {ANNOTATION_BUNDLE}: {e}")))?;
    Ok(TlogEntry {
        log_index: int(&a.payload.log_index, "logIndex")?,
        log_id: unhex(&a.payload.log_id).ok_or_else(|| bad("logID is not hex"))?,
        integrated_time: int(&a.payload.integrated_time, "integratedTime")?,
        body: b64(&a.payload.body, "the Rekor entry body")?,
        set: Some(b64(&a.signed_entry_timestamp, "SignedEntryTimestamp")?),
        proof: None,
    })
}

fn bundle_entry(e: RawEntry) -> Result<TlogEntry, SignatureError> {
    let proof = e
        .inclusion_proof
        .map(|p| -> Result<InclusionProof, SignatureError> {
            Ok(InclusionProof {
                index: uint(&p.log_index, "inclusionProof.logIndex")?,
                tree_size: uint(&p.tree_size, "inclusionProof.treeSize")?,
                root_hash: b64(&p.root_hash, "inclusionProof.rootHash")?,
                hashes: p
                    .hashes
                    .iter()
                    .map(|h| b64(h, "inclusionProof.hashes"))
                    .collect::<Result<_, _>>()?,
                checkpoint: p.checkpoint.map(|c| c.envelope),
            })
        })
        .transpose()?;
    Ok(TlogEntry {
        log_index: int(&e.log_index, "tlogEntries.logIndex")?,
        log_id: b64(&e.log_id.key_id, "tlogEntries.logId")?,
        integrated_time: match &e.integrated_time {
            serde_json::Value::Null => 0,
            v => int(v, "tlogEntries.integratedTime")?,
        },
        body: b64(&e.canonicalized_body, "tlogEntries.canonicalizedBody")?,
        set: e
            .inclusion_promise
            .map(|p| b64(&p.signed_entry_timestamp, "inclusionPromise"))
            .transpose()?,
        proof,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: RawMaterial,
    message_signature: Option<RawMessage>,
    dsse_envelope: Option<RawDsse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    certificate: Option<RawBytes>,
    x509_certificate_chain: Option<RawChain>,
    #[serde(default)]
    tlog_entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    log_index: serde_json::Value,
    log_id: RawLogId,
    #[serde(default)]
    integrated_time: serde_json::Value,
    inclusion_promise: Option<RawPromise>,
    inclusion_proof: Option<RawProof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    log_index: serde_json::Value,
    root_hash: String,
    tree_size: serde_json::Value,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage {
    message_digest: RawDigest,
    signature: String,
}

#[derive(Deserialize)]
struct RawDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDsse {
    payload: String,
    payload_type: String,
    signatures: Vec<RawSig>,
}

#[derive(Deserialize)]
struct RawSig {
    sig: String,
}
