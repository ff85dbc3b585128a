//! OCI image layouts built here, layer by layer, read back.

use palisade_vuln::image::read_layout;
use palisade_vuln::testing::{image, layer};

const STATUS_OLD: &str =
    "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\nSource: openssl\n";
const STATUS_NEW: &str = "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nSource: openssl\n\nPackage: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n";

#[test]
fn later_layers_replace_and_whiteouts_delete() {
    let dir = tempfile::tempdir().unwrap();
    let digest = image(
        dir.path(),
        &[
            layer(&[
                ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
                ("var/lib/dpkg/status", STATUS_OLD),
                ("lib/apk/db/installed", "P:stray\nV:1.0-r0\n"),
            ]),
            layer(&[
                ("./var/lib/dpkg/status", STATUS_NEW),
                ("lib/apk/db/.wh.installed", ""),
            ]),
        ],
    );
    let image = read_layout(dir.path()).unwrap();
    assert_eq!(image.digest, digest);
    assert_eq!(image.ecosystem.as_deref(), Some("Debian:12"));
    let names: Vec<(&str, &str)> = image
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        names,
        [("libssl3", "3.0.11-1~deb12u2"), ("curl", "7.88.1-10")]
    );
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    image(
        dir.path(),
        &[layer(&[(
            "etc/os-release",
            "ID=alpine\nVERSION_ID=3.19.1\n",
        )])],
    );
    // Corrupt every layer blob (gzip magic at the start).
    for entry in std::fs::read_dir(dir.path().join("blobs/sha256")).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let e = read_layout(dir.path()).unwrap_err().to_string();
    assert!(e.contains("not the sha256:"), "{e}");
}

#[test]
fn not_a_layout_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_layout(dir.path()).unwrap_err().to_string();
    assert!(e.contains("index.json"), "{e}");
}
