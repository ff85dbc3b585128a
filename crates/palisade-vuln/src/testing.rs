//! OCI image layouts for tests, written as `skopeo copy ... oci:DIR` lays them out.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

/// Writes `bytes` as a blob and returns its digest.
///
/// # Panics
/// If the directory cannot be written: a broken test machine.
pub fn put(layout: &Path, bytes: &[u8]) -> String {
    let hex = format!("{:x}", Sha256::digest(bytes));
    std::fs::create_dir_all(layout.join("blobs/sha256")).expect("blobs directory");
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).expect("blob");
    format!("sha256:{hex}")
}

/// A gzip-compressed tar of `files` (path, text).
#[must_use]
pub fn layer(files: &[(&str, &str)]) -> Vec<u8> {
    let bytes: Vec<(&str, Vec<u8>)> = files
        .iter()
        .map(|(p, t)| (*p, t.as_bytes().to_vec()))
        .collect();
    layer_bytes(&bytes)
}

/// A gzip-compressed tar of `files` (path, bytes).
///
/// # Panics
/// Never in practice: everything is in memory.
#[must_use]
pub fn layer_bytes(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, content.as_slice())
            .expect("tar entry");
    }
    let raw = tar.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).expect("gzip");
    gz.finish().expect("gzip")
}

/// An image of `layers` in the layout `layout`; returns the manifest's digest.
///
/// # Panics
/// If the directory cannot be written.
pub fn image(layout: &Path, layers: &[Vec<u8>]) -> String {
    let digests: Vec<String> = layers.iter().map(|l| put(layout, l)).collect();
    let config = put(layout, br#"{"architecture":"amd64","os":"linux"}"#);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 37},
        "layers": digests.iter().zip(layers).map(|(d, l)| json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": l.len()
        })).collect::<Vec<_>>(),
    });
    let manifest_digest = put(layout, manifest.to_string().as_bytes());
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    std::fs::write(
        layout.join("index.json"),
        json!({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest.to_string().len(),
            "platform": {"os": "linux", "architecture": "amd64"}}]})
        .to_string(),
    )
    .expect("index.json");
    manifest_digest
}
