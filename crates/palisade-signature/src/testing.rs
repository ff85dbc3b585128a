//! A miniature Sigstore for tests: signing keys, a Fulcio-like CA issuing
//! short-lived certificates with an identity and OIDC issuer, a Rekor-like log
//! (Merkle tree, inclusion proofs, signed checkpoints, SETs), and the evidence cosign
//! would produce: signature layers and v0.3 bundles.
//!
//! Everything panics on failure: these are fixtures, not code under test.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData as _, SanType, SigningKey as _,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::evidence::{
    ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_SIGNATURE, IN_TOTO_PAYLOAD_TYPE,
};
use crate::key::{hex, to_pem};
use crate::tlog::{leaf_hash, node_hash};
use crate::{pae, PublicKey, TrustRoot};

/// The integrated time of entries [`Sigstore`] logs (2023-11-14).
pub const SIGNED_AT: i64 = 1_700_000_000;

/// An ECDSA P-256 signing key, as `cosign generate-key-pair` makes.
pub struct SigningKey(KeyPair);

impl SigningKey {
    /// A fresh key.
    #[must_use]
    pub fn generate() -> Self {
        Self(KeyPair::generate().expect("P-256 key"))
    }

    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_spki_der(&self.0.subject_public_key_info()).expect("own key parses")
    }

    /// `cosign.pub`.
    #[must_use]
    pub fn public_pem(&self) -> String {
        to_pem("PUBLIC KEY", &self.0.subject_public_key_info())
    }

    /// ASN.1 DER ECDSA signature over `message` (SHA-256).
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message).expect("signs")
    }
}

/// A self-signed CA issuing Fulcio-style code-signing certificates.
pub struct FulcioCa {
    key: KeyPair,
    params: CertificateParams,
    der: Vec<u8>,
}

impl FulcioCa {
    #[must_use]
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "sigstore.dev");
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let der = params
            .self_signed(&key)
            .expect("CA certificate")
            .der()
            .to_vec();
        Self { key, params, der }
    }

    /// An intermediate CA whose certificate this CA signs.
    #[must_use]
    pub fn intermediate(&self, name: &str) -> Self {
        let key = KeyPair::generate().expect("intermediate key");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "sigstore.dev");
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = Issuer::from_params(&self.params, &self.key);
        let der = params
            .signed_by(&key, &issuer)
            .expect("intermediate certificate")
            .der()
            .to_vec();
        Self { key, params, der }
    }

    /// The CA certificate, PEM.
    #[must_use]
    pub fn pem(&self) -> String {
        to_pem("CERTIFICATE", &self.der)
    }

    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// A leaf for `identity` (an email, or a URI when it has `://`) whose token came
    /// from `issuer`, valid from `not_before` to `not_after` (Unix seconds), with a
    /// fresh key.
    #[must_use]
    pub fn issue(
        &self,
        identity: &str,
        issuer: &str,
        not_before: i64,
        not_after: i64,
    ) -> (SigningKey, Vec<u8>) {
        self.issue_with(identity, issuer, not_before, not_after, false)
    }

    /// [`FulcioCa::issue`], naming the issuer in Fulcio's legacy extension
    /// (1.3.6.1.4.1.57264.1.1, the raw string) instead of the current one when
    /// `legacy_issuer`, as certificates issued before 2023 do.
    #[must_use]
    pub fn issue_with(
        &self,
        identity: &str,
        issuer: &str,
        not_before: i64,
        not_after: i64,
        legacy_issuer: bool,
    ) -> (SigningKey, Vec<u8>) {
        self.issue_for(
            identity,
            issuer,
            (not_before, not_after),
            legacy_issuer,
            true,
        )
    }

    /// A leaf like [`FulcioCa::issue`]'s but for TLS servers, not code signing.
    #[must_use]
    pub fn issue_for_tls(
        &self,
        identity: &str,
        issuer: &str,
        not_before: i64,
        not_after: i64,
    ) -> (SigningKey, Vec<u8>) {
        self.issue_for(identity, issuer, (not_before, not_after), false, false)
    }

    fn issue_for(
        &self,
        identity: &str,
        issuer: &str,
        (not_before, not_after): (i64, i64),
        legacy_issuer: bool,
        code_signing: bool,
    ) -> (SigningKey, Vec<u8>) {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        let ia5 = rcgen::string::Ia5String::try_from(identity).expect("ASCII identity");
        params.subject_alt_names = vec![if identity.contains("://") {
            SanType::URI(ia5)
        } else {
            SanType::Rfc822Name(ia5)
        }];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![if code_signing {
            ExtendedKeyUsagePurpose::CodeSigning
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        params.not_before = OffsetDateTime::from_unix_timestamp(not_before).expect("time");
        params.not_after = OffsetDateTime::from_unix_timestamp(not_after).expect("time");
        params.custom_extensions.push(if legacy_issuer {
            // 1.3.6.1.4.1.57264.1.1: the issuer's bytes as they are.
            CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 57264, 1, 1],
                issuer.as_bytes().to_vec(),
            )
        } else {
            // 1.3.6.1.4.1.57264.1.8: the issuer as a DER UTF8String.
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 8], der_utf8(issuer))
        });
        let ca = Issuer::from_params(&self.params, &self.key);
        let der = params
            .signed_by(&key, &ca)
            .expect("leaf certificate")
            .der()
            .to_vec();
        (SigningKey(key), der)
    }
}

fn der_utf8(s: &str) -> Vec<u8> {
    let mut out = vec![0x0c];
    let n = s.len();
    if n < 0x80 {
        out.push(u8::try_from(n).expect("short"));
    } else {
        out.push(0x82);
        out.extend_from_slice(&u16::try_from(n).expect("under 64 KiB").to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
    out
}

/// A Rekor-like log: entry bodies in a Merkle tree, a signing key.
pub struct Log {
    pub key: SigningKey,
    pub origin: String,
    pub leaves: Vec<Vec<u8>>,
}

impl Log {
    #[must_use]
    pub fn new(origin: &str) -> Self {
        Self {
            key: SigningKey::generate(),
            origin: origin.to_owned(),
            leaves: Vec::new(),
        }
    }

    /// The log id: SHA-256 of the key's DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn id(&self) -> [u8; 32] {
        self.key.public_key().id()
    }

    /// Appends a body, returning its index.
    pub fn append(&mut self, body: Vec<u8>) -> u64 {
        self.leaves.push(body);
        (self.leaves.len() - 1) as u64
    }

    fn hashes(&self, size: usize) -> Vec<[u8; 32]> {
        self.leaves[..size].iter().map(|l| leaf_hash(l)).collect()
    }

    /// The tree hash of the first `size` entries.
    #[must_use]
    pub fn root(&self, size: usize) -> [u8; 32] {
        mth(&self.hashes(size))
    }

    /// The audit path of entry `index` in the tree of the first `size` entries.
    #[must_use]
    pub fn proof(&self, index: usize, size: usize) -> Vec<[u8; 32]> {
        path(index, &self.hashes(size))
    }

    /// A checkpoint of the first `size` entries signed by `key` (normally the log's).
    #[must_use]
    pub fn checkpoint_signed_by(&self, size: usize, key: &SigningKey) -> String {
        let body = format!("{}\n{size}\n{}\n", self.origin, B64.encode(self.root(size)));
        let mut sig = key.public_key().id()[..4].to_vec();
        sig.extend(key.sign(body.as_bytes()));
        format!("{body}\n\u{2014} {} {}\n", self.origin, B64.encode(sig))
    }

    /// The log's SET over an entry: canonical JSON of body, integratedTime, logID,
    /// logIndex.
    #[must_use]
    pub fn set(&self, body: &[u8], integrated_time: i64, log_index: u64) -> Vec<u8> {
        let signed = format!(
            r#"{{"body":"{}","integratedTime":{integrated_time},"logID":"{}","logIndex":{log_index}}}"#,
            B64.encode(body),
            hex(&self.id())
        );
        self.key.sign(signed.as_bytes())
    }

    /// A v0.3 bundle `tlogEntries` item for entry `index`, proven against the
    /// current tree, checkpoint signed by `checkpoint_key` (default: the log's).
    #[must_use]
    pub fn bundle_entry(
        &self,
        index: u64,
        kind: &str,
        integrated_time: i64,
        checkpoint_key: Option<&SigningKey>,
    ) -> Value {
        let i = usize::try_from(index).expect("index");
        let size = self.leaves.len();
        let body = &self.leaves[i];
        json!({
            "logIndex": index.to_string(),
            "logId": {"keyId": B64.encode(self.id())},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": integrated_time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": B64.encode(self.set(body, integrated_time, index))},
            "inclusionProof": {
                "logIndex": index.to_string(),
                "rootHash": B64.encode(self.root(size)),
                "treeSize": size.to_string(),
                "hashes": self.proof(i, size).iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
                "checkpoint": {"envelope": self.checkpoint_signed_by(size, checkpoint_key.unwrap_or(&self.key))},
            },
            "canonicalizedBody": B64.encode(body),
        })
    }
}

fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            let k = leaves.len().next_power_of_two() / 2;
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = leaves.len().next_power_of_two() / 2;
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// cosign's simple-signing payload for `digest`.
#[must_use]
pub fn simple_signing_payload(digest: &str) -> Vec<u8> {
    json!({
        "critical": {
            "identity": {"docker-reference": "registry.example/app"},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// An in-toto statement with `digest` as its subject, as cosign's new bundle
/// format signs.
#[must_use]
pub fn in_toto_statement(digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "registry.example/app", "digest": {"sha256": hex}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {},
    })
    .to_string()
    .into_bytes()
}

/// A hashedrekord 0.0.1 entry body.
#[must_use]
pub fn hashedrekord_body(signed: &[u8], signature: &[u8], verifier_pem: &str) -> Vec<u8> {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex(&Sha256::digest(signed))}},
            "signature": {"content": B64.encode(signature), "publicKey": {"content": B64.encode(verifier_pem)}},
        },
    })
    .to_string()
    .into_bytes()
}

/// A dsse 0.0.1 entry body.
#[must_use]
pub fn dsse_body(payload: &[u8], signature: &[u8], verifier_pem: &str) -> Vec<u8> {
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(payload))},
            "payloadHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(payload))},
            "signatures": [{"signature": B64.encode(signature), "verifier": B64.encode(verifier_pem)}],
        },
    })
    .to_string()
    .into_bytes()
}

/// A Rekor `intoto` 0.0.2 entry body for a DSSE envelope: the signature base64
/// encoded twice as Rekor stores it (once when `twice` is false).
#[must_use]
pub fn intoto_body(payload: &[u8], signature: &[u8], verifier_pem: &str, twice: bool) -> Vec<u8> {
    let sig = if twice {
        B64.encode(B64.encode(signature))
    } else {
        B64.encode(signature)
    };
    json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {"content": {
            "envelope": {"payloadType": IN_TOTO_PAYLOAD_TYPE,
                         "signatures": [{"sig": sig, "publicKey": B64.encode(verifier_pem)}]},
            "hash": {"algorithm": "sha256", "value": hex(&Sha256::digest(payload))},
            "payloadHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(payload))},
        }},
    })
    .to_string()
    .into_bytes()
}

/// A cosign signature layer signed by `key`, without transparency-log entry
/// (`cosign sign --key --tlog-upload=false`): payload and annotations.
#[must_use]
pub fn keyed_cosign_layer(key: &SigningKey, digest: &str) -> (Vec<u8>, BTreeMap<String, String>) {
    let payload = simple_signing_payload(digest);
    let sig = key.sign(&payload);
    let annotations = BTreeMap::from([(ANNOTATION_SIGNATURE.to_owned(), B64.encode(sig))]);
    (payload, annotations)
}

/// How [`Sigstore::keyless_bundle_with`] deviates from an honest bundle.
#[derive(Default)]
pub struct Deviations<'a> {
    /// Issue the certificate from this CA instead.
    pub ca: Option<&'a FulcioCa>,
    /// The certificate expires at this time instead of 9 minutes after signing.
    pub not_after: Option<i64>,
    /// Sign the checkpoint with this key instead of the log's.
    pub checkpoint_key: Option<&'a SigningKey>,
    /// Name the issuer in Fulcio's legacy extension only.
    pub legacy_issuer: bool,
    /// Log the envelope as an `intoto` 0.0.2 entry (the signature base64 encoded
    /// twice when `Some(true)`) instead of `dsse` 0.0.1; `tlog_payload` logs another
    /// payload's hash in it.
    pub intoto: Option<bool>,
    pub tlog_payload: Option<&'a [u8]>,
}

/// A Fulcio CA and a Rekor log, with entries already in the log.
pub struct Sigstore {
    pub ca: FulcioCa,
    pub log: Log,
}

impl Default for Sigstore {
    fn default() -> Self {
        Self::new()
    }
}

impl Sigstore {
    #[must_use]
    pub fn new() -> Self {
        let mut log = Log::new("rekor.example - 42");
        for i in 0..6u8 {
            log.append(format!("{{\"filler\":{i}}}").into_bytes());
        }
        Self {
            ca: FulcioCa::new("fulcio.example"),
            log,
        }
    }

    /// Trusts this CA and log.
    #[must_use]
    pub fn trust_root(&self) -> TrustRoot {
        let mut t = TrustRoot::new();
        t.add_fulcio_pem(&self.ca.pem()).expect("CA");
        t.add_rekor_pem(&self.log.key.public_pem())
            .expect("log key");
        t
    }

    /// The same trust as a Sigstore `trusted_root.json`.
    #[must_use]
    pub fn trusted_root_json(&self) -> String {
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": "https://rekor.example",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(self.log.key.public_key().spki_der()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2021-01-12T11:53:27.000Z"},
                },
                "logId": {"keyId": B64.encode(self.log.id())},
            }],
            "certificateAuthorities": [{
                "subject": {"organization": "sigstore.dev", "commonName": "fulcio.example"},
                "uri": "https://fulcio.example",
                "certChain": {"certificates": [{"rawBytes": B64.encode(self.ca.der())}]},
                "validFor": {"start": "2021-03-07T03:20:29.000Z"},
            }],
            "ctlogs": [],
            "timestampAuthorities": [],
        })
        .to_string()
    }

    /// A keyless v0.3 bundle (DSSE, in-toto statement naming `digest`) as cosign
    /// `--new-bundle-format` writes, logged at [`SIGNED_AT`].
    pub fn keyless_bundle(&mut self, digest: &str, identity: &str, issuer: &str) -> Value {
        self.keyless_bundle_with(digest, identity, issuer, &Deviations::default())
    }

    /// [`Sigstore::keyless_bundle`] with `deviations`.
    pub fn keyless_bundle_with(
        &mut self,
        digest: &str,
        identity: &str,
        issuer: &str,
        deviations: &Deviations<'_>,
    ) -> Value {
        let ca = deviations.ca.unwrap_or(&self.ca);
        let (key, cert) = ca.issue_with(
            identity,
            issuer,
            SIGNED_AT - 60,
            deviations.not_after.unwrap_or(SIGNED_AT + 540),
            deviations.legacy_issuer,
        );
        let payload = in_toto_statement(digest);
        let sig = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload));
        let logged = deviations.tlog_payload.unwrap_or(&payload);
        let (kind, body) = match deviations.intoto {
            Some(twice) => (
                "intoto",
                intoto_body(logged, &sig, &to_pem("CERTIFICATE", &cert), twice),
            ),
            None => (
                "dsse",
                dsse_body(logged, &sig, &to_pem("CERTIFICATE", &cert)),
            ),
        };
        let index = self.log.append(body);
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": B64.encode(&cert)},
                "tlogEntries": [self.log.bundle_entry(index, kind, SIGNED_AT, deviations.checkpoint_key)],
            },
            "dsseEnvelope": {
                "payload": B64.encode(&payload),
                "payloadType": IN_TOTO_PAYLOAD_TYPE,
                "signatures": [{"sig": B64.encode(&sig), "keyid": ""}],
            },
        })
    }

    /// A keyed v0.3 bundle signing `manifest` itself (`messageSignature`), logged
    /// as a hashedrekord entry.
    pub fn keyed_message_bundle(&mut self, key: &SigningKey, manifest: &[u8]) -> Value {
        let sig = key.sign(manifest);
        let body = hashedrekord_body(manifest, &sig, &key.public_pem());
        let index = self.log.append(body);
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "publicKey": {"hint": ""},
                "tlogEntries": [self.log.bundle_entry(index, "hashedrekord", SIGNED_AT, None)],
            },
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(Sha256::digest(manifest))},
                "signature": B64.encode(&sig),
            },
        })
    }

    /// A keyless cosign signature layer (`cosign sign` without the new bundle
    /// format): certificate and Rekor bundle annotations, logged at [`SIGNED_AT`].
    pub fn keyless_cosign_layer(
        &mut self,
        digest: &str,
        identity: &str,
        issuer: &str,
    ) -> (Vec<u8>, BTreeMap<String, String>) {
        let (key, cert) = self
            .ca
            .issue(identity, issuer, SIGNED_AT - 60, SIGNED_AT + 540);
        let cert_pem = to_pem("CERTIFICATE", &cert);
        let payload = simple_signing_payload(digest);
        let sig = key.sign(&payload);
        let mut annotations = BTreeMap::from([
            (ANNOTATION_SIGNATURE.to_owned(), B64.encode(&sig)),
            (ANNOTATION_CERTIFICATE.to_owned(), cert_pem.clone()),
        ]);
        annotations.insert(
            ANNOTATION_BUNDLE.to_owned(),
            self.log_cosign(&payload, &sig, &cert_pem),
        );
        (payload, annotations)
    }

    /// A keyed cosign signature layer with a Rekor bundle annotation.
    pub fn keyed_cosign_layer(
        &mut self,
        key: &SigningKey,
        digest: &str,
    ) -> (Vec<u8>, BTreeMap<String, String>) {
        let (payload, mut annotations) = keyed_cosign_layer(key, digest);
        let sig = key.sign(&payload);
        annotations.insert(ANNOTATION_SIGNATURE.to_owned(), B64.encode(&sig));
        annotations.insert(
            ANNOTATION_BUNDLE.to_owned(),
            self.log_cosign(&payload, &sig, &key.public_pem()),
        );
        (payload, annotations)
    }

    /// Logs a hashedrekord entry; returns cosign's bundle annotation for it.
    fn log_cosign(&mut self, payload: &[u8], sig: &[u8], verifier_pem: &str) -> String {
        let body = hashedrekord_body(payload, sig, verifier_pem);
        let index = self.log.append(body.clone());
        json!({
            "SignedEntryTimestamp": B64.encode(self.log.set(&body, SIGNED_AT, index)),
            "Payload": {
                "body": B64.encode(&body),
                "integratedTime": SIGNED_AT,
                "logIndex": index,
                "logID": hex(&self.log.id()),
            },
        })
        .to_string()
    }
}
