//! An image's signature artifacts in an OCI layout on disk (`skopeo copy`, `cosign
//! save`, `oras copy --to-oci-layout`): manifests listed in `index.json` that are
//! cosign's signature manifest for the image (ref name `…sha256-HEX.sig`, or cosign's
//! `kind` annotation) or that name the image as their `subject` (OCI referrers).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    cosign_signature_tag, is_sigstore_bundle, RegistryError, SignatureArtifact,
    COSIGN_SIMPLE_SIGNING, MAX_SIGNATURE_BYTES,
};

/// A blob of the layout, read whole (a manifest, payload or bundle: at most
/// 4 MiB) and checked against its digest.
///
/// # Errors
/// Missing, too large, or not matching its digest.
pub fn blob(layout: &Path, digest: &str) -> Result<Vec<u8>, RegistryError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| {
            RegistryError::Invalid(
                layout.display().to_string(),
                format!("digest {digest:?} is not sha256"),
            )
        })?;
    let path = layout.join("blobs/sha256").join(hex);
    let io = |e| RegistryError::Io(path.display().to_string(), e);
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .map_err(io)?
        .take(MAX_SIGNATURE_BYTES * 4 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_SIGNATURE_BYTES * 4 {
        return Err(RegistryError::Invalid(
            path.display().to_string(),
            "too large for a signature manifest or payload".into(),
        ));
    }
    let actual = format!("{:x}", Sha256::digest(&bytes));
    if !actual.eq_ignore_ascii_case(hex) {
        return Err(RegistryError::Invalid(
            path.display().to_string(),
            format!("content is sha256:{actual}, not the {digest} it is named by"),
        ));
    }
    Ok(bytes)
}

fn json(layout: &Path, digest: &str) -> Result<Value, RegistryError> {
    serde_json::from_slice(&blob(layout, digest)?).map_err(|e| {
        RegistryError::Invalid(
            format!("{}: blob {digest}", layout.display()),
            e.to_string(),
        )
    })
}

/// The signature artifacts of the image `digest` in the layout `layout`.
///
/// # Errors
/// The layout has no readable `index.json`, or a signature manifest or payload is
/// missing or does not match its digest.
pub fn signature_artifacts(
    layout: &Path,
    digest: &str,
) -> Result<Vec<SignatureArtifact>, RegistryError> {
    let index_path = layout.join("index.json");
    let index: Value = serde_json::from_slice(
        &std::fs::read(&index_path)
            .map_err(|e| RegistryError::Io(index_path.display().to_string(), e))?,
    )
    .map_err(|e| RegistryError::Invalid(index_path.display().to_string(), e.to_string()))?;
    let signature_tag = cosign_signature_tag(digest);
    let mut found = Vec::new();
    for entry in index["manifests"].as_array().into_iter().flatten() {
        let Some(entry_digest) = entry["digest"].as_str() else {
            continue;
        };
        if entry_digest == digest {
            continue;
        }
        let ref_name = entry["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap_or_default();
        let tagged = ref_name == signature_tag || ref_name.ends_with(&format!(":{signature_tag}"));
        let manifest = json(layout, entry_digest)?;
        let refers = manifest["subject"]["digest"] == digest;
        if !tagged && !refers {
            continue;
        }
        for layer in manifest["layers"].as_array().into_iter().flatten() {
            let media_type = layer["mediaType"].as_str().unwrap_or_default();
            let Some(layer_digest) = layer["digest"].as_str() else {
                continue;
            };
            if media_type == COSIGN_SIMPLE_SIGNING {
                let annotations: BTreeMap<String, String> = layer["annotations"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect();
                found.push(SignatureArtifact::Cosign {
                    payload: blob(layout, layer_digest)?,
                    annotations,
                });
            } else if is_sigstore_bundle(media_type) {
                found.push(SignatureArtifact::Bundle(blob(layout, layer_digest)?));
            }
        }
    }
    Ok(found)
}
