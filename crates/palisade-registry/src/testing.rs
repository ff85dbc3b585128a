//! A real registry for tests: Debian's `docker-registry` (the CNCF distribution)
//! started on loopback with TLS from a CA made here and htpasswd authentication, and
//! helpers that push images and signature manifests to it over oci-client.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use sha2::{Digest, Sha256};

/// The registry binary, from Debian's `docker-registry` package.
pub const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// A running registry; stopped when dropped.
pub struct TestRegistry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
    pub user: String,
    pub password: String,
}

/// Whether the registry can be started; when it cannot, tests skip with a message unless
/// `PALISADE_TEST_REGISTRY` is set (CI sets it), when they fail.
#[must_use]
pub fn available() -> bool {
    let present = Path::new(REGISTRY_BINARY).exists();
    if !present {
        assert!(
            std::env::var_os("PALISADE_TEST_REGISTRY").is_none(),
            "PALISADE_TEST_REGISTRY is set but {REGISTRY_BINARY} is missing (apt-get install docker-registry)"
        );
        eprintln!("skipped: {REGISTRY_BINARY} is missing (apt-get install docker-registry)");
    }
    present
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

impl TestRegistry {
    /// Starts a registry with TLS and one user.
    ///
    /// # Panics
    /// When it does not come up: a broken test machine.
    #[must_use]
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = |name: &str| dir.path().join(name);
        // The CA, and the server's certificate for 127.0.0.1.
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "palisade test registry CA");
        let ca = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("params");
        let cert = params.signed_by(&key, &issuer).expect("cert");
        std::fs::write(path("ca.pem"), ca.pem()).expect("ca.pem");
        std::fs::write(path("cert.pem"), cert.pem()).expect("cert.pem");
        std::fs::write(path("key.pem"), key.serialize_pem()).expect("key.pem");
        let user = "palisade".to_owned();
        let password = format!(
            "pw-{:x}",
            Sha256::digest(dir.path().as_os_str().as_encoded_bytes())
        );
        let hash = bcrypt::hash_with_result(&password, 4)
            .expect("bcrypt")
            .format_for_version(bcrypt::Version::TwoY);
        std::fs::write(path("htpasswd"), format!("{user}:{hash}\n")).expect("htpasswd");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  tls:\n    certificate: {cert}\n    key: {key}\nauth:\n  htpasswd:\n    realm: palisade-test\n    path: {htpasswd}\n",
            root = path("storage").display(),
            cert = path("cert.pem").display(),
            key = path("key.pem").display(),
            htpasswd = path("htpasswd").display(),
        );
        std::fs::write(path("config.yml"), config).expect("config.yml");
        let log = std::fs::File::create(path("registry.log")).expect("log");
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(path("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        let registry = Self {
            child,
            dir,
            host,
            user,
            password,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&registry.host).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {}: {}",
                registry.host,
                std::fs::read_to_string(registry.path("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        registry
    }

    /// A file in the registry's directory.
    #[must_use]
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The requests the registry served so far, from its access log: `GET /v2/…`.
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.path("registry.log")).unwrap_or_default();
        log.lines()
            .filter_map(|l| {
                let start = l.find("\"")? + 1;
                let end = start + l[start..].find(" HTTP/")?;
                Some(l[start..end].to_owned())
            })
            .filter(|r| r.starts_with("GET ") || r.starts_with("HEAD "))
            .collect()
    }

    /// The CA that signed the registry's certificate (PEM file).
    #[must_use]
    pub fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// Writes a docker `config.json` holding this registry's credentials (or `password`
    /// instead of the right one) and returns its path.
    ///
    /// # Panics
    /// If it cannot be written.
    #[must_use]
    pub fn docker_config(&self, password: Option<&str>) -> PathBuf {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.user,
            password.unwrap_or(&self.password)
        ));
        let path = self.path(&format!("docker-{}.json", password.map_or(0, str::len)));
        let mut f = std::fs::File::create(&path).expect("config.json");
        write!(
            f,
            r#"{{"auths": {{"https://{}": {{"auth": "{auth}"}}}}}}"#,
            self.host
        )
        .expect("config.json");
        path
    }

    fn client(&self) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client::new(ClientConfig {
            protocol: ClientProtocol::Https,
            extra_root_certificates: vec![oci_client::client::Certificate {
                encoding: oci_client::client::CertificateEncoding::Pem,
                data: std::fs::read(self.ca()).expect("ca"),
            }],
            ..ClientConfig::default()
        })
    }

    async fn authed(&self, reference: &Reference) -> Client {
        let client = self.client();
        client
            .auth(
                reference,
                &RegistryAuth::Basic(self.user.clone(), self.password.clone()),
                RegistryOperation::Push,
            )
            .await
            .expect("auth");
        client
    }

    /// Pushes `blobs` and then `manifest` (JSON) under `repository:tag` (or by its
    /// digest when `tag` is `None`); returns the manifest's digest.
    ///
    /// # Panics
    /// When the registry refuses.
    pub async fn push(
        &self,
        repository: &str,
        tag: Option<&str>,
        blobs: &[Vec<u8>],
        manifest: &serde_json::Value,
    ) -> String {
        let bytes = manifest.to_string().into_bytes();
        let digest = sha256(&bytes);
        let reference = match tag {
            Some(tag) => Reference::with_tag(self.host.clone(), repository.into(), tag.into()),
            None => Reference::with_digest(self.host.clone(), repository.into(), digest.clone()),
        };
        let client = self.authed(&reference).await;
        for blob in blobs {
            client
                .push_blob(&reference, blob.clone(), &sha256(blob))
                .await
                .expect("push blob");
        }
        let media_type = manifest["mediaType"]
            .as_str()
            .unwrap_or("application/vnd.oci.image.manifest.v1+json");
        client
            .push_manifest_raw(
                &reference,
                bytes,
                http::HeaderValue::from_str(media_type).expect("media type"),
            )
            .await
            .expect("push manifest");
        digest
    }

    /// Pushes an image of gzip-compressed tar `layers` under `repository:tag`; returns the
    /// manifest's digest.
    pub async fn push_image(&self, repository: &str, tag: &str, layers: &[Vec<u8>]) -> String {
        let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
        let manifest = image_manifest(&config, layers);
        let mut blobs = vec![config];
        blobs.extend(layers.iter().cloned());
        self.push(repository, Some(tag), &blobs, &manifest).await
    }
}

impl TestRegistry {
    /// Pushes cosign's signature manifest for `digest` (`sha256-HEX.sig`) holding one
    /// simple-signing layer: `payload` with `annotations` (signature, certificate, …).
    pub async fn push_cosign_signature(
        &self,
        repository: &str,
        digest: &str,
        payload: Vec<u8>,
        annotations: &std::collections::BTreeMap<String, String>,
    ) -> String {
        let config = b"{}".to_vec();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(&config), "size": config.len()},
            "layers": [{"mediaType": crate::COSIGN_SIMPLE_SIGNING,
                        "digest": sha256(&payload), "size": payload.len(),
                        "annotations": annotations}],
        });
        let tag = crate::cosign_signature_tag(digest);
        self.push(repository, Some(&tag), &[config, payload], &manifest)
            .await
    }

    /// Pushes a Sigstore bundle as an OCI referrer of `digest` (a manifest whose
    /// `subject` is the image), listed in the referrers tag schema's `sha256-HEX`
    /// index, as cosign does on a registry without the referrers API.
    pub async fn push_bundle_referrer(&self, repository: &str, digest: &str, bundle: &[u8]) {
        const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
        let empty = b"{}".to_vec();
        let referrer = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": BUNDLE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                       "digest": sha256(&empty), "size": empty.len()},
            "layers": [{"mediaType": BUNDLE, "digest": sha256(bundle), "size": bundle.len()}],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": digest, "size": 1},
        });
        let referrer_digest = self
            .push(repository, None, &[empty, bundle.to_vec()], &referrer)
            .await;
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": referrer_digest, "size": referrer.to_string().len(),
                           "artifactType": BUNDLE}],
        });
        self.push(repository, Some(&digest.replace(':', "-")), &[], &index)
            .await;
    }
}

/// An OCI image manifest of `config` and `layers`.
#[must_use]
pub fn image_manifest(config: &[u8], layers: &[Vec<u8>]) -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": config.len()},
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": sha256(l), "size": l.len()})).collect::<Vec<_>>(),
    })
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
