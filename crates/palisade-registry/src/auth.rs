//! Registry credentials from docker's `config.json`, looked up as docker does: the
//! registry's own entry in `auths` (`auth` = base64 `user:password`, or `username` and
//! `password`), else its `credHelpers` entry, else `credsStore`, else anonymous.
//!
//! Docker Hub is stored under `https://index.docker.io/v1/`; keys are compared by host,
//! so `https://ghcr.io`, `ghcr.io` and `ghcr.io/v1/` name the same registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::RegistryError;

/// How long a credential helper may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(20);

/// A docker `config.json`, as far as pulling needs it.
#[derive(Debug, Default, Clone)]
pub struct DockerConfig {
    /// Where it was read from, for errors; `None` when there was no file.
    source: Option<PathBuf>,
    auths: BTreeMap<String, AuthEntry>,
    cred_helpers: BTreeMap<String, String>,
    creds_store: Option<String>,
}

#[derive(Clone, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

// Never prints a credential.
impl std::fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthEntry(redacted)")
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

/// The host a registry key names: `https://index.docker.io/v1/` → `index.docker.io`.
#[must_use]
pub fn registry_host(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "registry-1.docker.io" => "index.docker.io".to_owned(),
        _ => host,
    }
}

impl DockerConfig {
    /// `path`, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; no file
    /// means anonymous pulls.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not a docker config.
    pub fn load(path: Option<&Path>) -> Result<Self, RegistryError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os("DOCKER_CONFIG") {
                Some(dir) => PathBuf::from(dir).join("config.json"),
                None => match std::env::var_os("HOME") {
                    Some(home) => PathBuf::from(home).join(".docker/config.json"),
                    None => return Ok(Self::default()),
                },
            },
        };
        match std::fs::read(&path) {
            Ok(bytes) => Self::parse(&bytes, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(RegistryError::Io(path.display().to_string(), e)),
        }
    }

    /// A config from its JSON text.
    ///
    /// # Errors
    /// Not a docker config.
    pub fn parse(bytes: &[u8], source: &Path) -> Result<Self, RegistryError> {
        let file: ConfigFile = serde_json::from_slice(bytes)
            .map_err(|e| RegistryError::Credentials(source.display().to_string(), e.to_string()))?;
        Ok(Self {
            source: Some(source.to_path_buf()),
            auths: file
                .auths
                .into_iter()
                .map(|(k, v)| (registry_host(&k), v))
                .collect(),
            cred_helpers: file
                .cred_helpers
                .into_iter()
                .map(|(k, v)| (registry_host(&k), v))
                .collect(),
            creds_store: file.creds_store.filter(|s| !s.is_empty()),
        })
    }

    fn source(&self) -> String {
        self.source
            .as_ref()
            .map_or_else(|| "(none)".to_owned(), |p| p.display().to_string())
    }

    /// The credentials for `registry` (a host, as `Reference::resolve_registry` gives it).
    ///
    /// # Errors
    /// An entry that cannot be decoded, an identity token (docker's OAuth refresh token,
    /// which oci-client cannot exchange), or a credential helper that fails to run.
    pub async fn auth_for(&self, registry: &str) -> Result<RegistryAuth, RegistryError> {
        let host = registry_host(registry);
        if let Some(entry) = self.auths.get(&host) {
            if let Some(auth) = self.entry_auth(&host, entry)? {
                return Ok(auth);
            }
        }
        let helper = self
            .cred_helpers
            .get(&host)
            .or(self.creds_store.as_ref())
            .cloned();
        match helper {
            Some(helper) => self.run_helper(&helper, &host).await,
            None => Ok(RegistryAuth::Anonymous),
        }
    }

    fn entry_auth(
        &self,
        host: &str,
        entry: &AuthEntry,
    ) -> Result<Option<RegistryAuth>, RegistryError> {
        let bad = |why: &str| RegistryError::Credentials(self.source(), format!("{host}: {why}"));
        if let Some(encoded) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| bad("`auth` is not base64"))?;
            let text = String::from_utf8(decoded).map_err(|_| bad("`auth` is not UTF-8"))?;
            let (user, password) = text
                .split_once(':')
                .ok_or_else(|| bad("`auth` is not `user:password`"))?;
            return Ok(Some(RegistryAuth::Basic(
                user.to_owned(),
                password.to_owned(),
            )));
        }
        if let (Some(user), Some(password)) = (&entry.username, &entry.password) {
            return Ok(Some(RegistryAuth::Basic(user.clone(), password.clone())));
        }
        if entry.identity_token.is_some() {
            return Err(bad(
                "an identity token (docker login's OAuth token) cannot be used for pulls here: log in with a password or token, or use a credential helper",
            ));
        }
        // An empty entry (`"auths": {"ghcr.io": {}}`) is what `docker login` leaves
        // when a credential store holds the secret.
        Ok(None)
    }

    /// Asks `docker-credential-HELPER get` for `host`'s credentials.
    async fn run_helper(&self, helper: &str, host: &str) -> Result<RegistryAuth, RegistryError> {
        let program = format!("docker-credential-{helper}");
        let failed = |why: String| {
            RegistryError::Credentials(self.source(), format!("{host}: {program}: {why}"))
        };
        let mut child = tokio::process::Command::new(&program)
            .arg("get")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(host.as_bytes())
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        let output = tokio::time::timeout(HELPER_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| failed(format!("no answer in {}s", HELPER_TIMEOUT.as_secs())))?
            .map_err(|e| failed(e.to_string()))?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stdout);
            // The helpers' protocol: "credentials not found" means log in anonymously.
            if said.contains("credentials not found") {
                return Ok(RegistryAuth::Anonymous);
            }
            return Err(failed(format!("exited with {}", output.status)));
        }
        #[derive(Deserialize)]
        struct HelperAnswer {
            #[serde(rename = "Username")]
            username: String,
            #[serde(rename = "Secret")]
            secret: String,
        }
        let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
            .map_err(|e| failed(format!("answer is not the helper protocol's JSON: {e}")))?;
        if answer.username == "<token>" {
            return Err(failed(
                "answered with an identity token, which cannot be used for pulls here".into(),
            ));
        }
        Ok(RegistryAuth::Basic(answer.username, answer.secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        DockerConfig::parse(json.as_bytes(), Path::new("config.json")).unwrap()
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn hosts_as_docker_names_them() {
        assert_eq!(
            registry_host("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(registry_host("docker.io"), "index.docker.io");
        assert_eq!(registry_host("https://GHCR.io"), "ghcr.io");
        assert_eq!(registry_host("localhost:5000/v2/"), "localhost:5000");
    }

    #[test]
    fn auths_entries_decode() {
        let c = config(
            r#"{"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
                          "ghcr.io": {"username": "u2", "password": "p2"},
                          "quay.io": {}}}"#,
        );
        assert_eq!(
            block(c.auth_for("index.docker.io")).unwrap(),
            RegistryAuth::Basic("user".into(), "pa:ss".into())
        );
        assert_eq!(
            block(c.auth_for("ghcr.io")).unwrap(),
            RegistryAuth::Basic("u2".into(), "p2".into())
        );
        assert_eq!(
            block(c.auth_for("quay.io")).unwrap(),
            RegistryAuth::Anonymous
        );
        assert_eq!(
            block(c.auth_for("example.com")).unwrap(),
            RegistryAuth::Anonymous
        );
    }

    #[test]
    fn broken_entries_are_errors_naming_the_file_and_registry_without_the_secret() {
        let c = config(r#"{"auths": {"ghcr.io": {"auth": "bm9jb2xvbg=="}}}"#);
        let err = block(c.auth_for("ghcr.io")).unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("ghcr.io"),
            "{err}"
        );
        assert!(!err.contains("nocolon"), "{err}");
        let c = config(r#"{"auths": {"ghcr.io": {"auth": "%%%"}}}"#);
        assert!(block(c.auth_for("ghcr.io")).is_err());
        let c = config(r#"{"auths": {"ghcr.io": {"identitytoken": "t"}}}"#);
        let err = block(c.auth_for("ghcr.io")).unwrap_err().to_string();
        assert!(err.contains("identity token"), "{err}");
        assert!(DockerConfig::parse(b"{", Path::new("c.json")).is_err());
    }

    #[test]
    fn a_missing_helper_is_an_error_naming_it() {
        let c = config(r#"{"credHelpers": {"ghcr.io": "palisade-no-such-helper"}}"#);
        let err = block(c.auth_for("ghcr.io")).unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-palisade-no-such-helper"),
            "{err}"
        );
        // Other registries do not ask it.
        assert_eq!(
            block(c.auth_for("quay.io")).unwrap(),
            RegistryAuth::Anonymous
        );
    }
}
