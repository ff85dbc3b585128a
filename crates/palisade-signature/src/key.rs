//! Public keys: cosign keys, Rekor log keys and the keys of Fulcio certificates.

use std::fmt;

use base64::Engine as _;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use sha2::{Digest, Sha256};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::SignatureError;

/// A public key verifying signatures: ECDSA P-256/SHA-256, ECDSA P-384/SHA-384,
/// Ed25519, or RSA (PKCS#1 v1.5 or PSS, SHA-256), as cosign and Rekor use them.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// DER SubjectPublicKeyInfo: what log ids and cosign's Rekor entries name.
    spki: Vec<u8>,
    algorithm: KeyAlgorithm,
    /// The raw key inside the SPKI, as ring wants it.
    raw: Vec<u8>,
}

/// The kind of a [`PublicKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa,
}

const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_RSA: &str = "1.2.840.113549.1.1.1";

impl PublicKey {
    /// A key from DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// Not DER, trailing bytes, or an algorithm cosign does not sign with.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, SignatureError> {
        let (rest, spki) = SubjectPublicKeyInfo::from_der(der)
            .map_err(|e| SignatureError::Key(format!("not a DER public key: {e}")))?;
        if !rest.is_empty() {
            return Err(SignatureError::Key(
                "trailing bytes after the public key".into(),
            ));
        }
        let raw = spki.subject_public_key.data.to_vec();
        let oid = spki.algorithm.algorithm.to_id_string();
        let algorithm = match (oid.as_str(), raw.len()) {
            (OID_EC, 65) => KeyAlgorithm::EcdsaP256,
            (OID_EC, 97) => KeyAlgorithm::EcdsaP384,
            (OID_EC, n) => {
                return Err(SignatureError::Key(format!(
                    "unsupported elliptic curve (point of {n} bytes; P-256 and P-384 are supported)"
                )))
            }
            (OID_ED25519, 32) => KeyAlgorithm::Ed25519,
            (OID_RSA, _) => KeyAlgorithm::Rsa,
            (other, _) => {
                return Err(SignatureError::Key(format!(
                    "unsupported public key algorithm {other}"
                )))
            }
        };
        Ok(Self {
            spki: der.to_vec(),
            algorithm,
            raw,
        })
    }

    /// A key from a PEM `PUBLIC KEY` block (the first block in `pem`).
    ///
    /// # Errors
    /// No `PUBLIC KEY` block, bad base64, or as [`PublicKey::from_spki_der`].
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let blocks = pem_blocks(pem, "PUBLIC KEY")?;
        let der = blocks
            .into_iter()
            .next()
            .ok_or_else(|| SignatureError::Key("no PUBLIC KEY block in the PEM text".into()))?;
        Self::from_spki_der(&der)
    }

    /// The DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: a Rekor log id.
    #[must_use]
    pub fn id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki).into()
    }

    /// Whether `sig` is this key's signature over `message`.
    #[must_use]
    pub fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        let algs: &[&'static dyn VerificationAlgorithm] = match self.algorithm {
            KeyAlgorithm::EcdsaP256 => &[&signature::ECDSA_P256_SHA256_ASN1],
            KeyAlgorithm::EcdsaP384 => &[&signature::ECDSA_P384_SHA384_ASN1],
            KeyAlgorithm::Ed25519 => &[&signature::ED25519],
            KeyAlgorithm::Rsa => &[
                &signature::RSA_PKCS1_2048_8192_SHA256,
                &signature::RSA_PSS_2048_8192_SHA256,
            ],
        };
        algs.iter().any(|alg| {
            UnparsedPublicKey::new(*alg, &self.raw)
                .verify(message, sig)
                .is_ok()
        })
    }

    /// The key as PEM.
    #[must_use]
    pub fn to_pem(&self) -> String {
        to_pem("PUBLIC KEY", &self.spki)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({:?}, {})", self.algorithm, hex(&self.id()))
    }
}

/// The DER contents of every `-----BEGIN {label}-----` block in `text`.
///
/// # Errors
/// An unterminated block or bad base64 inside one.
pub(crate) fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, SignatureError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let stop = body
            .find(&end)
            .ok_or_else(|| SignatureError::Key(format!("unterminated {label} PEM block")))?;
        let b64: String = body[..stop]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| SignatureError::Key(format!("bad base64 in a {label} PEM block: {e}")))?;
        out.push(der);
        rest = &body[stop + end.len()..];
    }
    Ok(out)
}

/// DER as a PEM block.
#[must_use]
pub(crate) fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Lower-case hex.
#[must_use]
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Bytes from hex (either case).
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Standard base64, or URL-safe, padded or not: cosign and protobuf JSON use both.
pub(crate) fn unbase64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let t = text.trim();
    STANDARD
        .decode(t)
        .or_else(|_| STANDARD_NO_PAD.decode(t))
        .or_else(|_| URL_SAFE.decode(t))
        .or_else(|_| URL_SAFE_NO_PAD.decode(t))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects_odd_or_non_hex() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])),
            Some(vec![0, 1, 0xab, 0xff])
        );
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("éé"), None);
    }

    #[test]
    fn garbage_keys_are_errors() {
        assert!(PublicKey::from_spki_der(&[]).is_err());
        assert!(PublicKey::from_spki_der(&[0x30, 0x82, 0xff, 0xff]).is_err());
        assert!(PublicKey::from_pem("no pem here").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA").is_err());
    }
}
