//! The registry client: resolving, pulling into a layout, fetching signatures.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{
    OciDescriptor, IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::DockerConfig;
use crate::{
    cosign_signature_tag, is_sigstore_bundle, RegistryError, SignatureArtifact,
    COSIGN_SIMPLE_SIGNING, MAX_SIGNATURE_BYTES,
};

/// Largest manifest or index read.
const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Most referrers of one image looked at for signatures.
const MAX_REFERRERS: usize = 64;

const MANIFEST_TYPES: [&str; 4] = [
    OCI_IMAGE_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// A docker `config.json` (default: `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// PEM files of certificate authorities trusted besides the system's.
    pub ca_files: Vec<PathBuf>,
    /// Registries (`host:port`) reached over plain HTTP.
    pub insecure: Vec<String>,
    /// Connect and read timeout of each request.
    pub timeout: Duration,
    /// Largest layer pulled.
    pub max_layer_bytes: u64,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            docker_config: None,
            ca_files: Vec::new(),
            insecure: Vec::new(),
            timeout: Duration::from_secs(30),
            max_layer_bytes: 4 << 30,
        }
    }
}

/// An image pulled into a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The platform manifest's digest (what was pulled, and what runs).
    pub manifest: String,
    /// The digest the reference itself resolved to: the index's, for a multi-platform
    /// image, else the manifest's.
    pub resolved: String,
}

/// A registry client.
pub struct Registry {
    client: Client,
    credentials: DockerConfig,
    max_layer_bytes: u64,
}

/// Whether an error says the manifest is not there (404, `MANIFEST_UNKNOWN`).
fn not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                oci_client::errors::OciErrorCode::ManifestUnknown
                    | oci_client::errors::OciErrorCode::NameUnknown
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        _ => false,
    }
}

/// A writer that refuses more bytes than the descriptor declared: a registry that
/// streams more than it announced fills neither memory nor the disk before the digest
/// check would have caught it.
struct Bounded<W> {
    inner: W,
    left: u64,
}

impl<W> Bounded<W> {
    fn new(inner: W, declared: i64) -> Self {
        Self {
            inner,
            left: u64::try_from(declared).unwrap_or(0),
        }
    }
}

impl<W: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Bounded<W> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if buf.len() as u64 > self.left {
            return std::task::Poll::Ready(Err(std::io::Error::other(
                "the registry sent more bytes than the blob's descriptor declares",
            )));
        }
        let this = &mut *self;
        let written = std::pin::Pin::new(&mut this.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &written {
            this.left -= *n as u64;
        }
        written
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An error and its causes, without repeating what a message already says.
fn with_causes(e: &OciDistributionError) -> String {
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

impl Registry {
    /// A client for `options`.
    ///
    /// # Errors
    /// The docker config or a CA file cannot be read.
    pub fn new(options: &RegistryOptions) -> Result<Self, RegistryError> {
        // reqwest is built without a provider of its own: ring, as everywhere in Palisade.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut extra_root_certificates = Vec::new();
        for path in &options.ca_files {
            let data = std::fs::read(path)
                .map_err(|e| RegistryError::Io(path.display().to_string(), e))?;
            extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let config = ClientConfig {
            protocol: if options.insecure.is_empty() {
                ClientProtocol::Https
            } else {
                ClientProtocol::HttpsExcept(options.insecure.clone())
            },
            extra_root_certificates,
            read_timeout: Some(options.timeout),
            connect_timeout: Some(options.timeout),
            platform_resolver: Some(Box::new(oci_client::client::linux_amd64_resolver)),
            ..ClientConfig::default()
        };
        Ok(Self {
            client: Client::new(config),
            credentials: DockerConfig::load(options.docker_config.as_deref())?,
            max_layer_bytes: options.max_layer_bytes,
        })
    }

    /// Parses an image reference (`nginx`, `ghcr.io/acme/app:1`, `…@sha256:…`).
    ///
    /// # Errors
    /// Not a reference.
    pub fn parse(reference: &str) -> Result<Reference, RegistryError> {
        reference.parse().map_err(|e: oci_client::ParseError| {
            RegistryError::Reference(reference.to_owned(), e.to_string())
        })
    }

    /// The error and its causes: reqwest's own message ("error sending request") says
    /// nothing of the refused connection or the untrusted certificate beneath it.
    fn failed(image: &Reference, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::Registry {
            image: image.whole(),
            message: e.to_string(),
        }
    }

    fn failed_with_causes(image: &Reference, e: &OciDistributionError) -> RegistryError {
        Self::failed(image, with_causes(e))
    }

    async fn auth(&self, image: &Reference) -> Result<RegistryAuth, RegistryError> {
        let auth = self.credentials.auth_for(image.resolve_registry()).await?;
        self.client
            .store_auth_if_needed(image.resolve_registry(), &auth)
            .await;
        Ok(auth)
    }

    /// The digest `reference` names now (its index's, for a multi-platform image): what
    /// `image: …@DIGEST` should pin.
    ///
    /// # Errors
    /// Not a reference, no such image, or the registry failed or refused.
    pub async fn resolve(&self, reference: &str) -> Result<String, RegistryError> {
        let image = Self::parse(reference)?;
        let auth = self.auth(&image).await?;
        self.client
            .fetch_manifest_digest(&image, &auth)
            .await
            .map_err(|e| Self::failed_with_causes(&image, &e))
    }

    /// A manifest's bytes, checked against the digest they are served under.
    async fn manifest(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<(Vec<u8>, String), OciDistributionError> {
        let (bytes, digest) = self
            .client
            .pull_manifest_raw(image, auth, &MANIFEST_TYPES)
            .await?;
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(OciDistributionError::GenericError(Some(format!(
                "manifest larger than {MAX_MANIFEST_BYTES} bytes"
            ))));
        }
        let actual = sha256(&bytes);
        let wanted = image.digest().unwrap_or(&digest);
        if actual != wanted {
            return Err(OciDistributionError::GenericError(Some(format!(
                "manifest is {actual}, not the {wanted} it is served as"
            ))));
        }
        Ok((bytes.to_vec(), actual))
    }

    /// The bytes of the manifest `reference` names, checked against their digest (a
    /// messageSignature bundle signs them).
    ///
    /// # Errors
    /// The registry failed or refused.
    pub async fn manifest_bytes(&self, reference: &str) -> Result<Vec<u8>, RegistryError> {
        let image = Self::parse(reference)?;
        let auth = self.auth(&image).await?;
        let (bytes, _) = self
            .manifest(&image, &auth)
            .await
            .map_err(|e| Self::failed_with_causes(&image, &e))?;
        Ok(bytes)
    }

    /// Pulls `reference` (its linux/amd64 image, or the first, for a multi-platform one)
    /// into the OCI layout `layout`: manifest, config and layers, each checked against
    /// its digest before it is kept. Blobs already there are not pulled again.
    ///
    /// # Errors
    /// The registry failed or refused, a blob did not match its digest, a layer is larger
    /// than allowed, or the layout cannot be written.
    pub async fn pull(&self, reference: &str, layout: &Path) -> Result<Pulled, RegistryError> {
        let image = Self::parse(reference)?;
        let auth = self.auth(&image).await?;
        let failed = |e| Self::failed_with_causes(&image, &e);
        let (mut bytes, resolved) = self.manifest(&image, &auth).await.map_err(failed)?;
        let mut digest = resolved.clone();
        let mut manifest: Value = serde_json::from_slice(&bytes)
            .map_err(|e| RegistryError::Invalid(image.whole(), format!("manifest: {e}")))?;
        if manifest.get("manifests").is_some() {
            let platform = pick_platform(&manifest).ok_or_else(|| {
                RegistryError::Invalid(image.whole(), "an image index with no manifest".into())
            })?;
            let by_digest = image.clone_with_digest(platform);
            (bytes, digest) = self.manifest(&by_digest, &auth).await.map_err(failed)?;
            manifest = serde_json::from_slice(&bytes)
                .map_err(|e| RegistryError::Invalid(image.whole(), format!("manifest: {e}")))?;
        }
        let blobs = layout.join("blobs/sha256");
        std::fs::create_dir_all(&blobs)
            .map_err(|e| RegistryError::Io(blobs.display().to_string(), e))?;
        let descriptors = std::iter::once(&manifest["config"])
            .chain(manifest["layers"].as_array().into_iter().flatten());
        for descriptor in descriptors {
            let descriptor: OciDescriptor = serde_json::from_value(descriptor.clone())
                .map_err(|e| RegistryError::Invalid(image.whole(), format!("descriptor: {e}")))?;
            self.pull_blob(&image, &descriptor, &blobs).await?;
        }
        write_blob(&blobs, &bytes)?;
        add_to_index(layout, &manifest, &digest, bytes.len(), reference)?;
        Ok(Pulled {
            manifest: digest,
            resolved,
        })
    }

    async fn pull_blob(
        &self,
        image: &Reference,
        descriptor: &OciDescriptor,
        blobs: &Path,
    ) -> Result<(), RegistryError> {
        let hex = descriptor
            .digest
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| {
                RegistryError::Invalid(
                    image.whole(),
                    format!("blob digest {:?} is not sha256", descriptor.digest),
                )
            })?;
        let path = blobs.join(hex);
        if path.exists() {
            return Ok(());
        }
        if u64::try_from(descriptor.size).unwrap_or(u64::MAX) > self.max_layer_bytes {
            return Err(RegistryError::Invalid(
                image.whole(),
                format!(
                    "blob {} is {} bytes, more than the {} allowed",
                    descriptor.digest, descriptor.size, self.max_layer_bytes
                ),
            ));
        }
        let partial = blobs.join(format!(".{hex}.partial"));
        let io = |e| RegistryError::Io(partial.display().to_string(), e);
        let file = tokio::fs::File::create(&partial).await.map_err(io)?;
        let file = Bounded::new(file, descriptor.size);
        // oci-client checks the bytes against the descriptor's digest as they arrive;
        // a blob is renamed into place only once they matched.
        let pulled = self.client.pull_blob(image, descriptor, file).await;
        if let Err(e) = pulled {
            let _ = std::fs::remove_file(&partial);
            return Err(Self::failed(
                image,
                format!("blob {}: {}", descriptor.digest, with_causes(&e)),
            ));
        }
        std::fs::rename(&partial, &path).map_err(io)
    }

    /// Small blobs (signature payloads, bundles), read whole.
    async fn small_blob(
        &self,
        image: &Reference,
        descriptor: &OciDescriptor,
    ) -> Result<Vec<u8>, RegistryError> {
        if u64::try_from(descriptor.size).unwrap_or(u64::MAX) > MAX_SIGNATURE_BYTES {
            return Err(RegistryError::Invalid(
                image.whole(),
                format!(
                    "signature blob {} is {} bytes, more than {MAX_SIGNATURE_BYTES}",
                    descriptor.digest, descriptor.size
                ),
            ));
        }
        let mut bytes = Vec::new();
        self.client
            .pull_blob(image, descriptor, Bounded::new(&mut bytes, descriptor.size))
            .await
            .map_err(|e| {
                Self::failed(
                    image,
                    format!("blob {}: {}", descriptor.digest, with_causes(&e)),
                )
            })?;
        Ok(bytes)
    }

    /// The signature artifacts of the image `digest` in `reference`'s repository: the
    /// layers of cosign's `sha256-HEX.sig` manifest, and Sigstore bundles among its OCI
    /// referrers (the referrers API, or the referrers tag schema where the registry has
    /// none). None found is an empty list, not an error.
    ///
    /// # Errors
    /// The registry failed or refused (other than "not found").
    pub async fn signature_artifacts(
        &self,
        reference: &str,
        digest: &str,
    ) -> Result<Vec<SignatureArtifact>, RegistryError> {
        let image = Self::parse(reference)?;
        let auth = self.auth(&image).await?;
        let mut found = Vec::new();
        let signatures = Reference::with_tag(
            image.registry().to_owned(),
            image.repository().to_owned(),
            cosign_signature_tag(digest),
        );
        match self.manifest(&signatures, &auth).await {
            Ok((bytes, _)) => {
                let manifest: oci_client::manifest::OciImageManifest =
                    serde_json::from_slice(&bytes).map_err(|e| {
                        RegistryError::Invalid(signatures.whole(), format!("manifest: {e}"))
                    })?;
                for layer in &manifest.layers {
                    if layer.media_type != COSIGN_SIMPLE_SIGNING {
                        continue;
                    }
                    found.push(SignatureArtifact::Cosign {
                        payload: self.small_blob(&signatures, layer).await?,
                        annotations: layer.annotations.clone().unwrap_or_default(),
                    });
                }
            }
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(Self::failed_with_causes(&signatures, &e)),
        }
        let subject = image.clone_with_digest(digest.to_owned());
        let referrers = match self.client.pull_referrers(&subject, None).await {
            Ok(index) => index.manifests,
            Err(e) if not_found(&e) => Vec::new(),
            Err(e) => {
                return Err(Self::failed(
                    &subject,
                    format!("referrers: {}", with_causes(&e)),
                ))
            }
        };
        for entry in referrers.iter().take(MAX_REFERRERS) {
            if entry.media_type != OCI_IMAGE_MEDIA_TYPE {
                continue;
            }
            let referrer = image.clone_with_digest(entry.digest.clone());
            let (bytes, _) = self
                .manifest(&referrer, &auth)
                .await
                .map_err(|e| Self::failed_with_causes(&referrer, &e))?;
            let manifest: oci_client::manifest::OciImageManifest = serde_json::from_slice(&bytes)
                .map_err(|e| {
                RegistryError::Invalid(referrer.whole(), format!("manifest: {e}"))
            })?;
            for layer in &manifest.layers {
                if is_sigstore_bundle(&layer.media_type) {
                    found.push(SignatureArtifact::Bundle(
                        self.small_blob(&referrer, layer).await?,
                    ));
                }
            }
        }
        Ok(found)
    }
}

/// The manifest of an index: linux/amd64 when platforms are named, else the first.
pub(crate) fn pick_platform(index: &Value) -> Option<String> {
    let manifests = index["manifests"].as_array()?;
    manifests
        .iter()
        .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
        .or_else(|| manifests.first())
        .and_then(|m| m["digest"].as_str())
        .map(str::to_owned)
}

fn write_blob(blobs: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let digest = sha256(bytes);
    let path = blobs.join(&digest["sha256:".len()..]);
    std::fs::write(&path, bytes).map_err(|e| RegistryError::Io(path.display().to_string(), e))
}

/// Lists the manifest in the layout's `index.json` under `reference`, replacing what was
/// listed under it before; written to a temporary file and renamed, so a reader never
/// sees half an index.
fn add_to_index(
    layout: &Path,
    manifest: &Value,
    digest: &str,
    size: usize,
    reference: &str,
) -> Result<(), RegistryError> {
    const REF_NAME: &str = "org.opencontainers.image.ref.name";
    let index_path = layout.join("index.json");
    let mut index: Value = std::fs::read(&index_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|v: &Value| v["manifests"].is_array())
        .unwrap_or_else(|| serde_json::json!({"schemaVersion": 2, "manifests": []}));
    let entries = index["manifests"].as_array_mut().expect("checked above");
    entries.retain(|e| e["annotations"][REF_NAME] != reference);
    entries.push(serde_json::json!({
        "mediaType": manifest["mediaType"].as_str().unwrap_or(OCI_IMAGE_MEDIA_TYPE),
        "digest": digest,
        "size": size,
        "annotations": {REF_NAME: reference},
    }));
    let io = |p: &Path, e| RegistryError::Io(p.display().to_string(), e);
    let oci_layout = layout.join("oci-layout");
    std::fs::write(&oci_layout, br#"{"imageLayoutVersion":"1.0.0"}"#)
        .map_err(|e| io(&oci_layout, e))?;
    let partial = layout.join(format!(".index.json.{}", std::process::id()));
    std::fs::write(&partial, index.to_string()).map_err(|e| io(&partial, e))?;
    std::fs::rename(&partial, &index_path).map_err(|e| io(&index_path, e))
}
