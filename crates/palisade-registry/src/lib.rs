//! OCI registries, as Palisade reads them.
//!
//! - [`auth`]: credentials from docker's `config.json` (`auths`, `credHelpers`,
//!   `credsStore`), looked up per registry as docker does.
//! - [`Registry`]: an oci-client over rustls (ring) with timeouts: tags resolved to
//!   digests, an image's manifest, config and layers pulled into an OCI layout on disk
//!   (each blob checked against its digest before it is kept), and the signature
//!   artifacts attached to an image (cosign's `sha256-HEX.sig` tags, OCI referrers,
//!   with the referrers tag schema for registries without the referrers API).
//! - [`layout`]: the same signature artifacts read from an OCI layout on disk.
//!
//! Nothing here judges an image: vulnerability matching reads the pulled layout
//! (`palisade-vuln`), signature verification the artifacts (`palisade-signature`).
//! Plain HTTP is used only for registries named as insecure.

pub mod auth;
pub mod layout;
mod pull;

pub use pull::{Registry, RegistryOptions};

/// What an image carries as signatures, as fetched, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureArtifact {
    /// One layer of a cosign signature manifest (`sha256-HEX.sig`): the simple-signing
    /// payload and the layer's annotations (signature, certificate, chain, Rekor bundle).
    Cosign {
        payload: Vec<u8>,
        annotations: std::collections::BTreeMap<String, String>,
    },
    /// A Sigstore bundle (JSON) attached to the image as an OCI referrer.
    Bundle(Vec<u8>),
}

/// Media type of a layer of a cosign signature manifest.
pub const COSIGN_SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// Whether a media or artifact type names a Sigstore bundle (`…bundle.v0.3+json`,
/// `…bundle+json;version=0.2`).
#[must_use]
pub fn is_sigstore_bundle(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.dev.sigstore.bundle")
}

/// The tag cosign stores an image's signatures under: `sha256-HEX.sig`.
#[must_use]
pub fn cosign_signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// Largest signature payload, bundle or manifest read (cosign's are a few KiB).
pub const MAX_SIGNATURE_BYTES: u64 = 1 << 20;

/// What can go wrong talking to a registry or reading a layout.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}: not an image reference: {1}")]
    Reference(String, String),
    #[error("{image}: {message}")]
    Registry { image: String, message: String },
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}: {1}")]
    Invalid(String, String),
    #[error("docker config {0}: {1}")]
    Credentials(String, String),
}

#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
