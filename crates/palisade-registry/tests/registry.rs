//! Against a real registry (docker-registry on loopback, TLS, htpasswd): pulls,
//! credentials, digests, TLS trust, timeouts and signature artifacts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use palisade_registry::testing::{available, TestRegistry};
use palisade_registry::{Registry, RegistryOptions, SignatureArtifact};
use palisade_vuln::testing::layer;
use serde_json::json;
use sha2::{Digest, Sha256};

const OS_RELEASE: &str = "ID=debian\nVERSION_ID=\"12\"\n";
const STATUS: &str = "Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\n";

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

fn options(registry: &TestRegistry) -> RegistryOptions {
    RegistryOptions {
        docker_config: Some(registry.docker_config(None)),
        ca_files: vec![registry.ca()],
        timeout: Duration::from_secs(10),
        ..RegistryOptions::default()
    }
}

fn image_layers() -> Vec<Vec<u8>> {
    vec![
        layer(&[("etc/os-release", OS_RELEASE)]),
        layer(&[("var/lib/dpkg/status", STATUS)]),
    ]
}

#[tokio::test]
async fn pulls_an_image_with_credentials_and_reads_its_packages() {
    if !available() {
        return;
    }
    let registry = TestRegistry::start();
    let digest = registry
        .push_image("acme/app", "1.0", &image_layers())
        .await;
    let client = Registry::new(&options(&registry)).unwrap();
    let reference = format!("{}/acme/app:1.0", registry.host);

    assert_eq!(client.resolve(&reference).await.unwrap(), digest);

    let layout = tempfile::tempdir().unwrap();
    let pulled = client.pull(&reference, layout.path()).await.unwrap();
    assert_eq!(pulled.manifest, digest);
    assert_eq!(pulled.resolved, digest);
    let image = palisade_vuln::image::read_image(layout.path(), &pulled.manifest).unwrap();
    assert_eq!(image.ecosystem.as_deref(), Some("Debian:12"));
    let names: Vec<_> = image.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["openssl", "zlib1g"]);
    // The layout is an OCI layout other tools read: index.json names the reference.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.path().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest);
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        reference
    );
    // Pulling by digest gives the same, and a second pull of the same image into the
    // same layout keeps one index entry per reference.
    let by_digest = format!("{}/acme/app@{digest}", registry.host);
    assert_eq!(
        client
            .pull(&by_digest, layout.path())
            .await
            .unwrap()
            .manifest,
        digest
    );
    client.pull(&reference, layout.path()).await.unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.path().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn refuses_wrong_or_missing_credentials_and_untrusted_certificates() {
    if !available() {
        return;
    }
    let registry = TestRegistry::start();
    registry
        .push_image("acme/app", "1.0", &image_layers())
        .await;
    let reference = format!("{}/acme/app:1.0", registry.host);

    let wrong = Registry::new(&RegistryOptions {
        docker_config: Some(registry.docker_config(Some("not-the-password"))),
        ..options(&registry)
    })
    .unwrap();
    let err = wrong.resolve(&reference).await.unwrap_err().to_string();
    assert!(err.contains(&reference), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");

    let anonymous = Registry::new(&RegistryOptions {
        docker_config: Some(registry.path("absent.json")),
        ..options(&registry)
    })
    .unwrap();
    assert!(anonymous.resolve(&reference).await.is_err());

    // Without the CA the registry's certificate is not trusted.
    let untrusting = Registry::new(&RegistryOptions {
        ca_files: Vec::new(),
        ..options(&registry)
    })
    .unwrap();
    let err = untrusting
        .resolve(&reference)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&reference), "{err}");

    // A tag that does not exist.
    let client = Registry::new(&options(&registry)).unwrap();
    let missing = format!("{}/acme/app:9.9", registry.host);
    let err = client.resolve(&missing).await.unwrap_err().to_string();
    assert!(err.contains(&missing), "{err}");
}

#[tokio::test]
async fn a_registry_that_never_answers_times_out() {
    // A listener that accepts and then says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let client = Registry::new(&RegistryOptions {
        docker_config: Some(std::path::PathBuf::from("/nonexistent/config.json")),
        timeout: Duration::from_millis(500),
        ..RegistryOptions::default()
    })
    .unwrap();
    let started = Instant::now();
    let err = client
        .resolve(&format!("{host}/acme/app:1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains(&host), "{err}");
}

#[tokio::test]
async fn a_multi_platform_image_resolves_to_its_index_and_pulls_linux_amd64() {
    if !available() {
        return;
    }
    let registry = TestRegistry::start();
    let amd64 = registry
        .push_image("acme/multi", "amd64", &image_layers())
        .await;
    let arm_layers = vec![layer(&[(
        "etc/os-release",
        "ID=alpine\nVERSION_ID=3.19.1\n",
    )])];
    let arm64 = registry
        .push_image("acme/multi", "arm64", &arm_layers)
        .await;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm64, "size": 1,
             "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64, "size": 1,
             "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    });
    let index_digest = registry.push("acme/multi", Some("1.0"), &[], &index).await;
    let client = Registry::new(&options(&registry)).unwrap();
    let reference = format!("{}/acme/multi:1.0", registry.host);
    assert_eq!(client.resolve(&reference).await.unwrap(), index_digest);
    let layout = tempfile::tempdir().unwrap();
    let pulled = client.pull(&reference, layout.path()).await.unwrap();
    assert_eq!(pulled.resolved, index_digest);
    assert_eq!(pulled.manifest, amd64);
    let image = palisade_vuln::image::read_image(layout.path(), &pulled.manifest).unwrap();
    assert_eq!(image.ecosystem.as_deref(), Some("Debian:12"));
}

#[tokio::test]
async fn a_corrupted_blob_is_refused_and_not_kept() {
    if !available() {
        return;
    }
    let registry = TestRegistry::start();
    let layers = image_layers();
    registry.push_image("acme/app", "1.0", &layers).await;
    // Change the stored bytes of the second layer behind the registry's back.
    let hex = &sha256(&layers[1])["sha256:".len()..];
    let stored = registry.path(&format!(
        "storage/docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&stored, bytes).unwrap();

    let client = Registry::new(&options(&registry)).unwrap();
    let layout = tempfile::tempdir().unwrap();
    let err = client
        .pull(&format!("{}/acme/app:1.0", registry.host), layout.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(hex), "{err}");
    assert!(!layout.path().join("blobs/sha256").join(hex).exists());
    // Nothing half-written is left either.
    let left: Vec<_> = std::fs::read_dir(layout.path().join("blobs/sha256"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // A blob longer than its descriptor says is cut off, not written to the end.
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let long = palisade_vuln::testing::layer(&[("a", &"x".repeat(100_000))]);
    let mut manifest =
        palisade_registry::testing::image_manifest(&config, std::slice::from_ref(&long));
    manifest["layers"][0]["size"] = json!(100);
    registry
        .push("acme/liar", Some("1"), &[config, long.clone()], &manifest)
        .await;
    let err = Registry::new(&options(&registry))
        .unwrap()
        .pull(&format!("{}/acme/liar:1", registry.host), layout.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("more bytes than the blob's descriptor declares"),
        "{err}"
    );
    assert!(!layout
        .path()
        .join("blobs/sha256")
        .join(&sha256(&long)["sha256:".len()..])
        .exists());

    // A layer larger than allowed is refused before it is pulled.
    let small = Registry::new(&RegistryOptions {
        max_layer_bytes: 10,
        ..options(&registry)
    })
    .unwrap();
    let err = small
        .pull(&format!("{}/acme/app:1.0", registry.host), layout.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than the 10 allowed"), "{err}");
}

#[tokio::test]
async fn finds_cosign_signature_tags_and_bundle_referrers() {
    if !available() {
        return;
    }
    let registry = TestRegistry::start();
    let digest = registry
        .push_image("acme/app", "1.0", &image_layers())
        .await;
    let client = Registry::new(&options(&registry)).unwrap();
    let reference = format!("{}/acme/app:1.0", registry.host);
    assert!(client
        .signature_artifacts(&reference, &digest)
        .await
        .unwrap()
        .is_empty());

    // cosign's signature manifest, under `sha256-HEX.sig`, and a Sigstore bundle as a
    // referrer (docker-registry has no referrers API: the tag schema's index lists it).
    let payload = json!({"critical": {"identity": {"docker-reference": reference},
        "image": {"docker-manifest-digest": digest}, "type": "cosign container image signature"},
        "optional": null})
    .to_string()
    .into_bytes();
    let annotations = BTreeMap::from([(
        "dev.cosignproject.cosign/signature".to_owned(),
        "c2lnbmF0dXJl".to_owned(),
    )]);
    registry
        .push_cosign_signature("acme/app", &digest, payload.clone(), &annotations)
        .await;
    let bundle = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#.to_vec();
    registry
        .push_bundle_referrer("acme/app", &digest, &bundle)
        .await;

    let found = client
        .signature_artifacts(&reference, &digest)
        .await
        .unwrap();
    assert_eq!(
        found,
        [
            SignatureArtifact::Cosign {
                payload,
                annotations
            },
            SignatureArtifact::Bundle(bundle),
        ]
    );
    // Another image's digest has none of them.
    let other = registry
        .push_image("acme/app", "2.0", &[layer(&[("a", "b")])])
        .await;
    assert!(client
        .signature_artifacts(&reference, &other)
        .await
        .unwrap()
        .is_empty());
}
