//! Image signatures end to end: `image verify`, `scan --image-policy` and `admission
//! review --image-policy` against a real registry (docker-registry on loopback, TLS,
//! password), with keys, certificates, a transparency log and bundles made here.

mod common;

use std::path::{Path, PathBuf};

use common::run_in;
use palisade_registry::testing::{available, TestRegistry};
use palisade_signature::testing::{keyed_cosign_layer, SigningKey, Sigstore};
use palisade_vuln::testing::layer;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::process::Command;

const IDENTITY: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

struct Setup {
    registry: TestRegistry,
    dir: tempfile::TempDir,
    key: SigningKey,
    sigstore: Sigstore,
    /// `acme/keyed:1` signed with `key`.
    keyed: String,
    /// `acme/keyless:1` signed keyless by IDENTITY.
    keyless: String,
    /// `acme/unsigned:1`.
    unsigned: String,
}

impl Setup {
    fn start() -> Self {
        let registry = TestRegistry::start();
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate();
        let mut sigstore = Sigstore::new();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (keyed, keyless, unsigned) = runtime.block_on(async {
            let keyed = registry
                .push_image("acme/keyed", "1", &[layer(&[("a", "keyed")])])
                .await;
            let (payload, annotations) = keyed_cosign_layer(&key, &keyed);
            registry
                .push_cosign_signature("acme/keyed", &keyed, payload, &annotations)
                .await;
            let keyless = registry
                .push_image("acme/keyless", "1", &[layer(&[("a", "keyless")])])
                .await;
            let bundle = sigstore.keyless_bundle(&keyless, IDENTITY, ISSUER);
            registry
                .push_bundle_referrer("acme/keyless", &keyless, bundle.to_string().as_bytes())
                .await;
            let unsigned = registry
                .push_image("acme/unsigned", "1", &[layer(&[("a", "unsigned")])])
                .await;
            (keyed, keyless, unsigned)
        });
        std::fs::write(dir.path().join("cosign.pub"), key.public_pem()).unwrap();
        std::fs::write(
            dir.path().join("trusted_root.json"),
            sigstore.trusted_root_json(),
        )
        .unwrap();
        Self {
            registry,
            dir,
            key,
            sigstore,
            keyed,
            keyless,
            unsigned,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn image(&self, repository: &str) -> String {
        format!("{}/{repository}:1", self.registry.host)
    }

    /// Runs palisade with the registry flags.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let config = self.registry.docker_config(None);
        let ca = self.registry.ca();
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--docker-config",
            config.to_str().unwrap(),
            "--registry-ca",
            ca.to_str().unwrap(),
        ]);
        run_in(self.dir.path(), &all)
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn image_verify_keyed_and_keyless_from_a_registry() {
    if !available() {
        return;
    }
    let s = Setup::start();
    let keyed = s.image("acme/keyed");
    let cache = s.path("signatures.json");
    let cache_flag = ["--signature-cache", cache.to_str().unwrap()];

    // Keyed: the right key verifies, by tag (resolved) and by digest.
    let mut args = vec!["image", "verify", keyed.as_str(), "--key", "cosign.pub"];
    args.extend(cache_flag);
    let out = s.run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let key_id = format!(
        "key sha256:{}",
        &sha256(&der_of(&s.key.public_pem()))["sha256:".len()..]
    );
    assert_eq!(
        stdout(&out),
        format!(
            "{}/acme/keyed@{}: verified: signed by {key_id}\n",
            s.registry.host, s.keyed
        )
    );

    // Another key: not verified, and said why.
    let other = SigningKey::generate();
    std::fs::write(s.path("other.pub"), other.public_pem()).unwrap();
    let out = s.run(&[
        "image",
        "verify",
        &keyed,
        "--key",
        "other.pub",
        "--no-cache",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("not verified: signature 0 for key sha256:"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("not signed by this key"),
        "{}",
        stdout(&out)
    );

    // An unsigned image: no signatures found.
    let out = s.run(&[
        "image",
        "verify",
        &s.image("acme/unsigned"),
        "--key",
        "cosign.pub",
        "--no-cache",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("no signatures found"),
        "{}",
        stdout(&out)
    );

    // Keyless: identity and issuer from the certificate, the inclusion proof checked
    // against the trusted log's checkpoint.
    let keyless = s.image("acme/keyless");
    let out = s.run(&[
        "image",
        "verify",
        &keyless,
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        ISSUER,
        "--trusted-root",
        "trusted_root.json",
        "--no-cache",
        "-f",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["digest"], s.keyless);
    assert_eq!(v["signatures"][0]["identity"], IDENTITY);
    assert_eq!(v["signatures"][0]["issuer"], ISSUER);
    assert!(v["signatures"][0]["log_index"].is_number(), "{v}");

    // Another identity, or a trust root that is not the one that issued: refused.
    let out = s.run(&[
        "image",
        "verify",
        &keyless,
        "--certificate-identity-regexp",
        "https://github.com/other/.*",
        "--certificate-oidc-issuer",
        ISSUER,
        "--trusted-root",
        "trusted_root.json",
        "--no-cache",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("certificate identity"),
        "{}",
        stdout(&out)
    );
    std::fs::write(
        s.path("other_root.json"),
        Sigstore::new().trusted_root_json(),
    )
    .unwrap();
    let out = s.run(&[
        "image",
        "verify",
        &keyless,
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        ISSUER,
        "--trusted-root",
        "other_root.json",
        "--no-cache",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    // A cached verification by digest asks the registry nothing.
    let before = s.registry.requests().len();
    let by_digest = format!("{}/acme/keyed@{}", s.registry.host, s.keyed);
    let mut args = vec!["image", "verify", by_digest.as_str(), "--key", "cosign.pub"];
    args.extend(cache_flag);
    let out = s.run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        s.registry.requests().len(),
        before,
        "{:#?}",
        s.registry.requests()
    );
    // ... but not for another key: the cache is per signer.
    let mut args = vec!["image", "verify", by_digest.as_str(), "--key", "other.pub"];
    args.extend(cache_flag);
    assert_eq!(s.run(&args).status.code(), Some(1));
    let _ = &s.sigstore;
}

/// The DER SubjectPublicKeyInfo inside a PEM public key.
fn der_of(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn write_policy(s: &Setup) -> PathBuf {
    let host = &s.registry.host;
    let policy = format!(
        "trustRoot:
  trustedRoot: trusted_root.json
rules:
  - images: ['{host}/acme/keyless']
    signers:
      - keyless:
          identity: '{IDENTITY}'
          issuer: '{ISSUER}'
  - images: ['{host}/acme/**']
    signers:
      - key: cosign.pub
"
    );
    let path = s.path("policy.yaml");
    std::fs::write(&path, policy).unwrap();
    path
}

#[test]
fn scan_and_admission_enforce_the_signature_policy() {
    if !available() {
        return;
    }
    let s = Setup::start();
    write_policy(&s);
    let host = &s.registry.host;
    std::fs::write(
        s.path("pod.yaml"),
        format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: app, namespace: shop}}
spec:
  containers:
  - {{name: keyed, image: '{host}/acme/keyed:1'}}
  - {{name: keyless, image: '{host}/acme/keyless@{keyless}'}}
  - {{name: unsigned, image: '{host}/acme/unsigned:1'}}
  - {{name: elsewhere, image: 'quay.io/not/covered:1'}}
  - {{name: again, image: '{host}/acme/unsigned:1'}}
",
            keyless = s.keyless
        ),
    )
    .unwrap();
    let out = s.run(&[
        "scan",
        "pod.yaml",
        "--select",
        "image-signature",
        "--image-policy",
        "policy.yaml",
        "-f",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<(u64, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"]["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    let message = format!(
        "container \"unsigned\": image \"{host}/acme/unsigned:1\" is not signed as the policy requires: key sha256:"
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!((found[0].0, found[1].0), (8, 10));
    assert!(
        found[0].1.starts_with(&message) && found[0].1.ends_with("no signatures found"),
        "{found:#?}"
    );
    // The unsigned image's signatures were looked for once, for both containers.
    let sig_tag = format!("/manifests/{}.sig", s.unsigned.replace(':', "-"));
    let asked = s
        .registry
        .requests()
        .iter()
        .filter(|r| r.contains(&sig_tag))
        .count();
    assert_eq!(asked, 1, "{:#?}", s.registry.requests());

    // The admission webhook's review denies the same pod, and admits it without the
    // unsigned containers.
    let out = s.run(&[
        "admission",
        "review",
        "pod.yaml",
        "--image-policy",
        "policy.yaml",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(response["response"]["allowed"], false, "{response}");
    assert!(
        response["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("image-signature"),
        "{response}"
    );
    let text = std::fs::read_to_string(s.path("pod.yaml")).unwrap();
    let signed_only: String = text
        .lines()
        .filter(|l| !l.contains("unsigned"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(s.path("signed.yaml"), signed_only).unwrap();
    let out = s.run(&[
        "admission",
        "review",
        "signed.yaml",
        "--image-policy",
        "policy.yaml",
        "--json",
    ]);
    let response: Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(response["response"]["allowed"], true, "{response}");
}

#[test]
fn image_verify_reads_an_oci_layout_with_its_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let digest = palisade_vuln::testing::image(&layout, &[layer(&[("a", "b")])]);
    let key = SigningKey::generate();
    std::fs::write(dir.path().join("cosign.pub"), key.public_pem()).unwrap();
    // The signature manifest beside the image, as `cosign save` or skopeo keep it.
    let (payload, annotations) = keyed_cosign_layer(&key, &digest);
    let payload_digest = palisade_vuln::testing::put(&layout, &payload);
    let config = palisade_vuln::testing::put(&layout, b"{}");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": payload_digest, "size": payload.len(), "annotations": annotations}],
    })
    .to_string();
    let manifest_digest = palisade_vuln::testing::put(&layout, manifest.as_bytes());
    let index_path = layout.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["manifests"].as_array_mut().unwrap().push(json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest, "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": format!("{}.sig", digest.replace(':', "-"))}}));
    std::fs::write(&index_path, index.to_string()).unwrap();

    let out = run_in(
        dir.path(),
        &[
            "image",
            "verify",
            "layout",
            "--key",
            "cosign.pub",
            "--no-cache",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).starts_with(&format!("layout@{digest}: verified: signed by key sha256:")));

    // A payload changed after signing is refused: its blob no longer matches the
    // digest the manifest names.
    let hex = &payload_digest["sha256:".len()..];
    std::fs::write(layout.join("blobs/sha256").join(hex), b"{}").unwrap();
    let out = run_in(
        dir.path(),
        &[
            "image",
            "verify",
            "layout",
            "--key",
            "cosign.pub",
            "--no-cache",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(hex));
    let _ = Path::new("");
}

/// The webhook serving: a pod with an unsigned image denied, a signed one admitted;
/// SIGTERM still ends it cleanly with the registry client's runtime inside.
#[test]
fn the_webhook_denies_unsigned_images_while_serving() {
    if !available() {
        return;
    }
    let s = Setup::start();
    write_policy(&s);
    assert!(
        run_in(s.dir.path(), &["admission", "certs", "--out", "pki"])
            .status
            .success()
    );
    let config = s.registry.docker_config(None);
    let ca = s.registry.ca();
    let (mut child, addr, _log) = common::serve(
        s.dir.path(),
        &[
            "--select",
            "image-signature",
            "--image-policy",
            "policy.yaml",
            "--docker-config",
            config.to_str().unwrap(),
            "--registry-ca",
            ca.to_str().unwrap(),
        ],
    );
    let tls = common::tls_client(&std::fs::read(s.path("pki/ca.crt")).unwrap());
    let review = |image: &str| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "shop", "operation": "CREATE", "userInfo": {"username": "dev"},
                "object": {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p", "namespace": "shop"},
                    "spec": {"containers": [{"name": "app", "image": image}]}}}})
        .to_string()
    };
    let denied = common::post(&addr, &tls, &review(&s.image("acme/unsigned")));
    assert!(denied.contains(r#""allowed":false"#), "{denied}");
    assert!(denied.contains("no signatures found"), "{denied}");
    let admitted = common::post(&addr, &tls, &review(&s.image("acme/keyed")));
    assert!(admitted.contains(r#""allowed":true"#), "{admitted}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}
