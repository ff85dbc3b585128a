//! Rekor transparency-log evidence checked offline: the Merkle inclusion proof
//! (RFC 6962/9162) up to a checkpoint signed by the log, the signed entry timestamp
//! (SET), and that the logged entry names the signature being verified.

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::key::{hex, unbase64, PublicKey};
use crate::trust::TrustRoot;
use crate::verify::Reason;

/// Proofs longer than this cannot belong to a tree of at most 2^64 leaves.
const MAX_PROOF_HASHES: usize = 64;

/// One entry of a Rekor log, as a bundle or cosign's bundle annotation carries it.
#[derive(Debug, Clone)]
pub(crate) struct TlogEntry {
    /// The global log index (what the SET signs).
    pub log_index: i64,
    pub log_id: Vec<u8>,
    pub integrated_time: i64,
    /// The canonicalized entry body: the Merkle leaf.
    pub body: Vec<u8>,
    pub set: Option<Vec<u8>>,
    pub proof: Option<InclusionProof>,
}

#[derive(Debug, Clone)]
pub(crate) struct InclusionProof {
    /// The leaf index within the (shard's) tree.
    pub index: u64,
    pub tree_size: u64,
    pub root_hash: Vec<u8>,
    pub hashes: Vec<Vec<u8>>,
    /// The signed note text, if the bundle carries it.
    pub checkpoint: Option<String>,
}

/// What the entry must name: the signed artifact or DSSE payload, the signature
/// bytes and the public key that verified them.
pub(crate) struct Expected<'a> {
    pub artifact: Artifact<'a>,
    pub signature: &'a [u8],
    pub key: &'a PublicKey,
}

pub(crate) enum Artifact<'a> {
    /// SHA-256 of the signed bytes (hashedrekord).
    Message([u8; 32]),
    /// A DSSE envelope's payload (dsse or intoto entries).
    Dsse(&'a [u8]),
}

/// What a verified entry establishes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checked {
    pub set_verified: bool,
    pub proof_verified: bool,
}

/// Checks everything `entry` carries; each piece present must verify.
pub(crate) fn check_entry(
    entry: &TlogEntry,
    expected: &Expected<'_>,
    trust: &TrustRoot,
) -> Result<Checked, Reason> {
    let log_id = hex(&entry.log_id);
    let key = trust
        .log_key(&entry.log_id, entry.integrated_time)
        .ok_or_else(|| Reason::UntrustedLog(log_id.clone()))?;
    check_body(&entry.body, expected)?;
    let mut checked = Checked {
        set_verified: false,
        proof_verified: false,
    };
    if let Some(set) = &entry.set {
        let signed = set_payload(entry);
        if !key.verifies(signed.as_bytes(), set) {
            return Err(Reason::SetInvalid(log_id));
        }
        checked.set_verified = true;
    }
    if let Some(proof) = &entry.proof {
        check_inclusion(&entry.body, proof, key)?;
        checked.proof_verified = true;
    }
    Ok(checked)
}

/// The canonical JSON (RFC 8785) Rekor signs as the SET: keys sorted, no spaces.
fn set_payload(entry: &TlogEntry) -> String {
    // Field order is the sorted key order; every value is ASCII or an integer, so
    // serde_json's output is the canonical form.
    #[derive(Serialize)]
    struct Signed<'a> {
        body: &'a str,
        #[serde(rename = "integratedTime")]
        integrated_time: i64,
        #[serde(rename = "logID")]
        log_id: &'a str,
        #[serde(rename = "logIndex")]
        log_index: i64,
    }
    let body = base64::engine::general_purpose::STANDARD.encode(&entry.body);
    let log_id = hex(&entry.log_id);
    serde_json::to_string(&Signed {
        body: &body,
        integrated_time: entry.integrated_time,
        log_id: &log_id,
        log_index: entry.log_index,
    })
    .unwrap_or_default()
}

/// RFC 6962 leaf hash.
#[must_use]
pub fn leaf_hash(leaf: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

/// RFC 6962 interior node hash.
#[must_use]
pub fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root an inclusion proof leads to (RFC 9162 section 2.1.3.2).
///
/// # Errors
/// The index outside the tree, a hash not 32 bytes, or a proof too short or too long
/// for the tree size.
pub fn root_from_inclusion_proof(
    index: u64,
    tree_size: u64,
    leaf_hash: [u8; 32],
    proof: &[Vec<u8>],
) -> Result<[u8; 32], String> {
    if index >= tree_size {
        return Err(format!(
            "leaf index {index} is outside a tree of size {tree_size}"
        ));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(format!("proof of {} hashes is too long", proof.len()));
    }
    let (mut f, mut s) = (index, tree_size - 1);
    let mut r = leaf_hash;
    for p in proof {
        if p.len() != 32 {
            return Err(format!("proof hash of {} bytes, not 32", p.len()));
        }
        if s == 0 {
            return Err(format!(
                "proof has more hashes than a tree of size {tree_size} needs"
            ));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(format!(
            "proof has fewer hashes than a tree of size {tree_size} needs"
        ));
    }
    Ok(r)
}

fn check_inclusion(body: &[u8], proof: &InclusionProof, key: &PublicKey) -> Result<(), Reason> {
    let root =
        root_from_inclusion_proof(proof.index, proof.tree_size, leaf_hash(body), &proof.hashes)
            .map_err(Reason::InclusionProof)?;
    if root.as_slice() != proof.root_hash.as_slice() {
        return Err(Reason::InclusionProof(format!(
            "the proof leads to root {}, not the claimed root {}",
            hex(&root),
            hex(&proof.root_hash)
        )));
    }
    let text = proof
        .checkpoint
        .as_deref()
        .ok_or_else(|| Reason::Checkpoint("the inclusion proof has no checkpoint".into()))?;
    let checkpoint = Checkpoint::parse(text).map_err(Reason::Checkpoint)?;
    if checkpoint.tree_size != proof.tree_size || checkpoint.root_hash != root {
        return Err(Reason::InclusionProof(format!(
            "the proof leads to root {} of a tree of size {}, the checkpoint signs root {} of size {}",
            hex(&root),
            proof.tree_size,
            hex(&checkpoint.root_hash),
            checkpoint.tree_size
        )));
    }
    if !checkpoint.signed_by(key) {
        return Err(Reason::CheckpointUntrusted(checkpoint.origin));
    }
    Ok(())
}

/// A signed note (`golang.org/x/mod/sumdb/note`) holding a log checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub tree_size: u64,
    pub root_hash: [u8; 32],
    /// The signed text: every line up to the blank line, each ending in `\n`.
    pub body: String,
    /// (name, key hint, signature) per signature line.
    pub signatures: Vec<(String, [u8; 4], Vec<u8>)>,
}

impl Checkpoint {
    /// Parses a signed note.
    ///
    /// # Errors
    /// Any deviation from the format: described.
    pub fn parse(text: &str) -> Result<Self, String> {
        let split = text
            .find("\n\n")
            .ok_or("no blank line between the checkpoint and its signatures")?;
        let body = &text[..=split];
        let sigs = &text[split + 2..];
        let mut lines = body.lines();
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err("checkpoint has no origin line".into());
        }
        let size = lines.next().ok_or("checkpoint has no tree size")?;
        let tree_size = size
            .parse::<u64>()
            .map_err(|_| format!("checkpoint tree size {size:?} is not a number"))?;
        let root = lines.next().ok_or("checkpoint has no root hash")?;
        let root_hash: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| format!("checkpoint root {root:?} is not a base64 SHA-256 hash"))?;
        let mut signatures = Vec::new();
        for line in sigs.lines().filter(|l| !l.is_empty()) {
            let rest = line.strip_prefix("\u{2014} ").ok_or_else(|| {
                format!("checkpoint signature line {line:?} does not start with an em dash")
            })?;
            let (name, b64) = rest
                .rsplit_once(' ')
                .ok_or_else(|| format!("checkpoint signature line {line:?} has no signature"))?;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| format!("checkpoint signature of {name:?} is not base64"))?;
            if raw.len() < 5 {
                return Err(format!("checkpoint signature of {name:?} is too short"));
            }
            let (hint, sig) = raw.split_at(4);
            let hint: [u8; 4] = hint.try_into().unwrap_or_default();
            signatures.push((name.to_owned(), hint, sig.to_vec()));
        }
        if signatures.is_empty() {
            return Err("checkpoint has no signatures".into());
        }
        Ok(Self {
            origin: origin.to_owned(),
            tree_size,
            root_hash,
            body: body.to_owned(),
            signatures,
        })
    }

    /// Whether one of the signatures verifies with `key`. The key hint (Rekor: the
    /// first 4 bytes of the log id) only picks candidates; the signature decides.
    #[must_use]
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        self.signatures
            .iter()
            .any(|(_, _, sig)| key.verifies(self.body.as_bytes(), sig))
    }
}

/// Checks that the logged entry names the same artifact, signature and key.
fn check_body(body: &[u8], expected: &Expected<'_>) -> Result<(), Reason> {
    let bad = |what: String| Reason::TlogBodyMismatch(what);
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the entry body is not JSON: {e}")))?;
    let kind = v["kind"].as_str().unwrap_or_default();
    let version = v["apiVersion"].as_str().unwrap_or_default();
    let spec = &v["spec"];
    match (kind, version, &expected.artifact) {
        ("hashedrekord", "0.0.1", Artifact::Message(digest)) => {
            let hash = &spec["data"]["hash"];
            if hash["algorithm"].as_str() != Some("sha256")
                || hash["value"].as_str().map(str::to_ascii_lowercase) != Some(hex(digest))
            {
                return Err(bad(format!(
                    "the entry logs artifact {}:{}, the signature is over sha256:{}",
                    hash["algorithm"].as_str().unwrap_or("?"),
                    hash["value"].as_str().unwrap_or("?"),
                    hex(digest)
                )));
            }
            let sig = spec["signature"]["content"].as_str().and_then(unbase64);
            if sig.as_deref() != Some(expected.signature) {
                return Err(bad("the entry logs another signature".into()));
            }
            check_verifier(
                spec["signature"]["publicKey"]["content"].as_str(),
                expected.key,
            )
        }
        ("dsse", "0.0.1", Artifact::Dsse(payload)) => {
            check_payload_hash(&spec["payloadHash"], payload)?;
            let found = spec["signatures"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| {
                    s["signature"].as_str().and_then(unbase64).as_deref()
                        == Some(expected.signature)
                        && check_verifier(s["verifier"].as_str(), expected.key).is_ok()
                });
            if found {
                Ok(())
            } else {
                Err(bad(
                    "the entry logs no signature by this key over the envelope".into(),
                ))
            }
        }
        ("intoto", "0.0.2", Artifact::Dsse(payload)) => {
            let content = &spec["content"];
            check_payload_hash(&content["payloadHash"], payload)?;
            let found = content["envelope"]["signatures"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| {
                    // intoto 0.0.2 base64-encodes the already base64 signature.
                    let once = s["sig"].as_str().and_then(unbase64);
                    let twice = once
                        .as_deref()
                        .and_then(|b| std::str::from_utf8(b).ok())
                        .and_then(unbase64);
                    (once.as_deref() == Some(expected.signature)
                        || twice.as_deref() == Some(expected.signature))
                        && check_verifier(s["publicKey"].as_str(), expected.key).is_ok()
                });
            if found {
                Ok(())
            } else {
                Err(bad(
                    "the entry logs no signature by this key over the envelope".into(),
                ))
            }
        }
        (kind, version, _) => Err(bad(format!(
            "unsupported entry kind {kind:?} version {version:?} for this signature"
        ))),
    }
}

fn check_payload_hash(hash: &serde_json::Value, payload: &[u8]) -> Result<(), Reason> {
    let want = hex(&Sha256::digest(payload));
    if hash["algorithm"].as_str() == Some("sha256")
        && hash["value"].as_str().map(str::to_ascii_lowercase) == Some(want.clone())
    {
        Ok(())
    } else {
        Err(Reason::TlogBodyMismatch(format!(
            "the entry logs payload {}, the envelope's payload is sha256:{want}",
            hash["value"].as_str().unwrap_or("?")
        )))
    }
}

/// The entry's verifier (base64 of a PEM key or certificate) holds `key`.
fn check_verifier(content: Option<&str>, key: &PublicKey) -> Result<(), Reason> {
    let bad = |what: &str| Reason::TlogBodyMismatch(what.to_owned());
    let pem = content
        .and_then(unbase64)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad("the entry's public key is not base64 PEM"))?;
    let logged = if pem.contains("CERTIFICATE") {
        let der = crate::key::pem_blocks(&pem, "CERTIFICATE")
            .ok()
            .and_then(|b| b.into_iter().next())
            .ok_or_else(|| bad("the entry's certificate is not PEM"))?;
        crate::certificate::Leaf::parse(&der)
            .map_err(|_| bad("the entry's certificate does not parse"))?
            .key
    } else {
        PublicKey::from_pem(&pem).map_err(|_| bad("the entry's public key does not parse"))?
    };
    if logged.spki_der() == key.spki_der() {
        Ok(())
    } else {
        Err(bad("the entry logs another public key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962 tree hash of `leaves`, for checking proofs.
    fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = leaves.len().next_power_of_two() / 2;
        node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
    }

    fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<Vec<u8>> {
        if leaves.len() == 1 {
            return Vec::new();
        }
        let k = leaves.len().next_power_of_two() / 2;
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(root(&leaves[k..]).to_vec());
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(root(&leaves[..k]).to_vec());
            p
        }
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves_inclusion() {
        for n in 1..=17usize {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| leaf_hash(&[i as u8])).collect();
            let want = root(&leaves);
            for m in 0..n {
                let got =
                    root_from_inclusion_proof(m as u64, n as u64, leaves[m], &path(m, &leaves));
                assert_eq!(got, Ok(want), "leaf {m} of {n}");
                if n > 1 {
                    // Another index or size leads elsewhere or fails.
                    let other = root_from_inclusion_proof(
                        ((m + 1) % n) as u64,
                        n as u64,
                        leaves[m],
                        &path(m, &leaves),
                    );
                    assert_ne!(other, Ok(want), "leaf {m} of {n} at another index");
                    // Another tree size can lead to the same root (leaf 0 of 3 and of
                    // 4 share a path shape): the checkpoint's size binds it.
                }
            }
        }
    }

    #[test]
    fn hostile_proofs_are_errors() {
        let leaf = leaf_hash(b"x");
        assert!(root_from_inclusion_proof(5, 5, leaf, &[]).is_err());
        assert!(root_from_inclusion_proof(0, 0, leaf, &[]).is_err());
        assert!(root_from_inclusion_proof(0, 2, leaf, &[vec![0; 31]]).is_err());
        assert!(root_from_inclusion_proof(0, 2, leaf, &[]).is_err());
        assert!(root_from_inclusion_proof(0, u64::MAX, leaf, &vec![vec![0; 32]; 65]).is_err());
        // Extreme sizes compute without overflow.
        let _ = root_from_inclusion_proof(u64::MAX - 1, u64::MAX, leaf, &vec![vec![0; 32]; 63]);
    }

    #[test]
    fn checkpoint_parse_errors() {
        let root = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let sig = base64::engine::general_purpose::STANDARD.encode([1u8; 40]);
        let good = format!("log\n3\n{root}\n\n\u{2014} log {sig}\n");
        let c = Checkpoint::parse(&good).expect("parses");
        assert_eq!(
            (c.origin.as_str(), c.tree_size, c.root_hash),
            ("log", 3, [7u8; 32])
        );
        assert_eq!(c.body, format!("log\n3\n{root}\n"));
        for bad in [
            String::new(),
            "log\n3\n".into(),
            format!("log\nthree\n{root}\n\n\u{2014} log {sig}\n"),
            format!("log\n99999999999999999999999\n{root}\n\n\u{2014} log {sig}\n"),
            format!("log\n3\nAAAA\n\n\u{2014} log {sig}\n"),
            format!("log\n3\n{root}\n\n- log {sig}\n"),
            format!("log\n3\n{root}\n\n\u{2014} log AAA=\n"),
            format!("log\n3\n{root}\n\n"),
            format!("\n3\n{root}\n\n\u{2014} log {sig}\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
