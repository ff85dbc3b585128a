//! An OCI image layout on disk (`oci-layout`, `index.json`, `blobs/sha256/…`): its
//! layers read in order, keeping only the files that name the OS and its packages, with
//! whiteouts applied, each blob checked against its digest.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::packages::{apk_installed, dpkg_status, osv_ecosystem, rpm_bdb, rpmdb, Package};
use crate::VulnError;

/// The files read from the layers.
const WANTED: [&str; 7] = [
    "var/lib/dpkg/status",
    "lib/apk/db/installed",
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/rpmdb.sqlite-wal",
    "var/lib/rpm/Packages",
    "etc/os-release",
    "usr/lib/os-release",
];

/// Largest package database kept (Debian's status of a large image is a few MB).
const MAX_FILE: u64 = 64 << 20;

/// What an image holds, as vulnerability matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageContents {
    /// The manifest's digest (`sha256:…`).
    pub digest: String,
    /// `Debian:12`, `Alpine:v3.19`; `None` when the image has no os-release.
    pub ecosystem: Option<String>,
    pub packages: Vec<Package>,
}

/// Largest manifest or index read into memory; layers are streamed.
const MAX_JSON_BLOB: u64 = 4 << 20;

/// The blob's path and its expected hex digest.
fn blob_path(layout: &Path, digest: &str) -> Result<(std::path::PathBuf, String), VulnError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| {
            VulnError::Invalid(
                layout.display().to_string(),
                format!("digest {digest:?} is not sha256"),
            )
        })?;
    Ok((
        layout.join("blobs/sha256").join(hex),
        hex.to_ascii_lowercase(),
    ))
}

fn mismatch(path: &Path, actual: &str, digest: &str) -> VulnError {
    VulnError::Invalid(
        path.display().to_string(),
        format!("content is sha256:{actual}, not the {digest} it is named by"),
    )
}

/// A small blob (a manifest), read whole and checked.
fn blob(layout: &Path, digest: &str) -> Result<Vec<u8>, VulnError> {
    let (path, hex) = blob_path(layout, digest)?;
    let io = |e| VulnError::Io(path.display().to_string(), e);
    let file = std::fs::File::open(&path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_JSON_BLOB + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_JSON_BLOB {
        return Err(VulnError::Invalid(
            path.display().to_string(),
            format!("larger than {MAX_JSON_BLOB} bytes: not a manifest"),
        ));
    }
    let actual = format!("{:x}", Sha256::digest(&bytes));
    if actual != hex {
        return Err(mismatch(&path, &actual, digest));
    }
    Ok(bytes)
}

/// Hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Streams a layer blob through the digest check and the tar reader: a layer of
/// gigabytes needs no more memory than the files kept from it. What it yields counts
/// only once the whole blob matched its digest.
fn stream_layer(
    layout: &Path,
    digest: &str,
    files: &mut BTreeMap<&'static str, Vec<u8>>,
) -> Result<(), VulnError> {
    let (path, hex) = blob_path(layout, digest)?;
    let io = |e| VulnError::Io(path.display().to_string(), e);
    let file = std::fs::File::open(&path).map_err(io)?;
    let mut reader = std::io::BufReader::new(Hashing {
        inner: file,
        hash: Sha256::new(),
    });
    let layer = read_layer(&mut reader)
        .map_err(|e| VulnError::Invalid(format!("{}: layer {digest}", layout.display()), e))?;
    // The rest (tar padding, or anything after the archive) is hashed too.
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(io)?;
    let actual = format!("{:x}", reader.into_inner().hash.finalize());
    if actual != hex {
        return Err(mismatch(&path, &actual, digest));
    }
    layer.apply(files);
    Ok(())
}

/// What one layer holds of the wanted files, and what it deletes below it.
#[derive(Default)]
struct Layer {
    files: BTreeMap<&'static str, Vec<u8>>,
    /// Paths whited out (`.wh.NAME`).
    deleted: Vec<String>,
    /// Directories made opaque (`.wh..wh..opq`): nothing below survives.
    opaque: Vec<String>,
}

impl Layer {
    /// Applies this layer over the lower ones' `files`: deletions first (they apply to
    /// lower layers only), then this layer's own files.
    fn apply(self, files: &mut BTreeMap<&'static str, Vec<u8>>) {
        for dir in &self.opaque {
            let prefix = format!("{dir}/");
            files.retain(|k, _| !k.starts_with(&prefix));
        }
        for gone in &self.deleted {
            let prefix = format!("{gone}/");
            files.retain(|k, _| *k != gone.as_str() && !k.starts_with(&prefix));
        }
        files.extend(self.files);
    }
}

fn json(layout: &Path, digest: &str) -> Result<Value, VulnError> {
    serde_json::from_slice(&blob(layout, digest)?).map_err(|e| {
        VulnError::Invalid(
            format!("{}: blob {digest}", layout.display()),
            e.to_string(),
        )
    })
}

/// Reads the image in the OCI layout `layout`: its (first linux/amd64, else first)
/// manifest, then each layer.
///
/// # Errors
/// The layout is not one, a blob is missing or does not match its digest, or a layer
/// is not a tar archive.
pub fn read_layout(layout: &Path) -> Result<ImageContents, VulnError> {
    let name = layout.display().to_string();
    let index_path = layout.join("index.json");
    let index: Value = serde_json::from_slice(
        &std::fs::read(&index_path)
            .map_err(|e| VulnError::Io(index_path.display().to_string(), e))?,
    )
    .map_err(|e| VulnError::Invalid(index_path.display().to_string(), e.to_string()))?;
    let digest = pick(&index)
        .ok_or_else(|| VulnError::Invalid(name.clone(), "index.json lists no manifest".into()))?;
    read_image(layout, &digest)
}

/// Reads the image whose manifest (or index) is the blob `digest` in the OCI layout
/// `layout`, as `palisade image scan` pulls images into its cache.
///
/// # Errors
/// As [`read_layout`].
pub fn read_image(layout: &Path, digest: &str) -> Result<ImageContents, VulnError> {
    let name = layout.display().to_string();
    let mut digest = digest.to_owned();
    let mut manifest = json(layout, &digest)?;
    // An index within the index (a multi-platform image): one more step.
    if manifest.get("manifests").is_some() {
        digest = pick(&manifest).ok_or_else(|| {
            VulnError::Invalid(name.clone(), "an image index with no manifest".into())
        })?;
        manifest = json(layout, &digest)?;
    }
    let mut files: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        let layer_digest = layer["digest"].as_str().unwrap_or_default();
        stream_layer(layout, layer_digest, &mut files)?;
    }
    let text = |path: &str| {
        files
            .get(path)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let ecosystem = text("etc/os-release")
        .or_else(|| text("usr/lib/os-release"))
        .and_then(|t| osv_ecosystem(&t));
    let mut packages = Vec::new();
    if let Some(t) = text("var/lib/dpkg/status") {
        packages.extend(dpkg_status(&t));
    }
    if let Some(t) = text("lib/apk/db/installed") {
        packages.extend(apk_installed(&t));
    }
    if let Some(db) = files.get("var/lib/rpm/rpmdb.sqlite") {
        let wal = files.get("var/lib/rpm/rpmdb.sqlite-wal").map(Vec::as_slice);
        packages.extend(
            rpmdb(db, wal).map_err(|e| VulnError::Invalid(format!("{name}: rpmdb.sqlite"), e))?,
        );
    } else if let Some(db) = files.get("var/lib/rpm/Packages") {
        // The Berkeley DB database rpm used before 4.16 (RHEL 7 and 8).
        packages.extend(
            rpm_bdb(db)
                .map_err(|e| VulnError::Invalid(format!("{name}: var/lib/rpm/Packages"), e))?,
        );
    }
    Ok(ImageContents {
        digest,
        ecosystem,
        packages,
    })
}

/// The manifest of an index: linux/amd64 when platforms are named, else the first.
fn pick(index: &Value) -> Option<String> {
    let manifests = index["manifests"].as_array()?;
    manifests
        .iter()
        .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
        .or_else(|| manifests.first())
        .and_then(|m| m["digest"].as_str())
        .map(str::to_owned)
}

/// One layer (gzip-compressed or plain tar), streamed.
fn read_layer(reader: &mut impl std::io::BufRead) -> Result<Layer, String> {
    let gzip = reader
        .fill_buf()
        .map_err(|e| e.to_string())?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read + '_> = if gzip {
        Box::new(flate2::read::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut layer = Layer::default();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let path = path
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_owned();
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", &path));
        if file == ".wh..wh..opq" {
            layer.opaque.push(dir.to_owned());
            continue;
        }
        if let Some(deleted) = file.strip_prefix(".wh.") {
            layer.deleted.push(if dir.is_empty() {
                deleted.to_owned()
            } else {
                format!("{dir}/{deleted}")
            });
            continue;
        }
        let Some(wanted) = WANTED.iter().find(|w| **w == path) else {
            continue;
        };
        if entry.header().entry_type().is_symlink() || entry.size() > MAX_FILE {
            continue;
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(|e| e.to_string())?;
        layer.files.insert(wanted, content);
    }
    Ok(layer)
}
