//! Offline verification of cosign container-image signatures.
//!
//! A pure library: no network and no registry access. The caller hands over the
//! bytes it fetched (a `.sig` manifest's layers, Sigstore bundles from the referrers
//! API or an OCI layout) as [`Evidence`]; [`verify`] decides whether one of them
//! satisfies a [`Signer`] under a [`TrustRoot`], and a [`Rejection`] says why each
//! failed.
//!
//! - Keyed: the signature verifies with the signer's public key (ECDSA P-256/P-384,
//!   Ed25519, RSA).
//! - Keyless: the Fulcio certificate's email or URI identity and OIDC issuer
//!   (extension 1.3.6.1.4.1.57264.1.8, or legacy .1.1) match, and it chains to a
//!   trusted Fulcio CA with the code-signing usage at the signing time, which a Rekor
//!   SET attests.
//! - Transparency ([`tlog`]): the log is trusted, the SET verifies, the inclusion
//!   proof leads to the root of a checkpoint signed by that log, and the logged entry
//!   (hashedrekord, dsse, intoto) names the same signature, key and artifact.
//! - [`policy`]: which images need which signers; [`cache`]: verified digests.
//!
//! Not checked: the certificate's embedded SCT (the transparency-log entry is),
//! RFC 3161 timestamps, revocation, and the `docker-reference` a payload names.
//!
//! This crate uses *ring* directly rather than the `sigstore` crate: sigstore 0.15
//! only builds with OpenSSL or aws-lc-rs, and the project's one provider is *ring*.
//!
//! ```
//! use palisade_signature::{testing::Sigstore, verify, Evidence, Matcher, Signer};
//! let mut sigstore = Sigstore::new();
//! let digest = format!("sha256:{}", "ab".repeat(32));
//! let bundle = sigstore.keyless_bundle(&digest, "dev@acme.example", "https://issuer.example");
//! let evidence = [Evidence::from_bundle_json(bundle.to_string().as_bytes(), None).unwrap()];
//! let signer = Signer::keyless(Matcher::exact("dev@acme.example"), Matcher::exact("https://issuer.example"));
//! let ok = verify(&digest, &evidence, &signer, &sigstore.trust_root()).unwrap();
//! assert_eq!(ok.identity.as_deref(), Some("dev@acme.example"));
//! ```

pub mod cache;
mod certificate;
pub mod evidence;
mod key;
pub mod policy;
mod signer;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
pub mod tlog;
mod trust;
mod verify;

pub use cache::Cache;
pub use certificate::{OID_ISSUER_V1, OID_ISSUER_V2};
pub use evidence::Evidence;
pub use key::{KeyAlgorithm, PublicKey};
pub use policy::{Policy, Require, Rule};
pub use signer::{Matcher, Signer, SignerKind, TlogRequirement};
pub use trust::TrustRoot;
pub use verify::{pae, verify, Failure, Reason, Rejection, Verified};

/// What can go wrong reading keys, trust roots, evidence, policies and the cache.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("public key: {0}")]
    Key(String),
    #[error("trust root: {0}")]
    TrustRoot(String),
    #[error("signature evidence: {0}")]
    Evidence(String),
    #[error("{path}{}: {message}", rule.map(|i| format!(": rule {i}")).unwrap_or_default())]
    Policy {
        path: String,
        rule: Option<usize>,
        message: String,
    },
    #[error("bad pattern: {0}")]
    Pattern(String),
    #[error("signature cache {0}: {1}")]
    Cache(String, String),
}
