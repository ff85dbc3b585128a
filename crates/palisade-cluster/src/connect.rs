//! Credentials: a kubeconfig (client certificates, bearer tokens, exec plugins, as kube-rs
//! reads them) or the pod's own service account.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::ClusterError;

/// Where the service account's token, CA and namespace are mounted in a pod.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// A kubeconfig file; otherwise `$KUBECONFIG` or `~/.kube/config`, and inside a pod
    /// the service account.
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig other than its current one.
    pub context: Option<String>,
    /// Give up on a request after this long (connect and each read).
    pub timeout: Option<Duration>,
}

/// A connected client and what to call the cluster in reports.
pub struct Connected {
    pub client: Client,
    /// The kubeconfig context, or `in-cluster`.
    pub context: String,
    pub server: String,
}

pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

fn kubeconfig_error(path: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Config(format!("{path}: {e}"))
}

/// Builds the client `connection` describes.
///
/// # Errors
/// An unreadable or invalid kubeconfig, an unknown context, no credentials at all.
pub async fn connect(connection: &Connection) -> Result<Connected, ClusterError> {
    let options = KubeConfigOptions {
        context: connection.context.clone(),
        ..KubeConfigOptions::default()
    };
    // `--kubeconfig` names one file; `$KUBECONFIG` may list several.
    let files: Vec<PathBuf> = match (&connection.kubeconfig, std::env::var_os("KUBECONFIG")) {
        (Some(path), _) => vec![path.clone()],
        (None, Some(list)) if !list.is_empty() => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        _ => default_kubeconfig()
            .filter(|p| p.exists())
            .into_iter()
            .collect(),
    };
    let (mut config, context) = if !files.is_empty() {
        let shown = files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let kubeconfig = read_kubeconfigs(&files, connection.kubeconfig.is_some())
            .map_err(|e| kubeconfig_error(&shown, e))?;
        let context = options
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .unwrap_or_default();
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| kubeconfig_error(&shown, chain(&e)))?;
        (config, context)
    } else if connection.context.is_some() {
        return Err(ClusterError::Config(
            "--context needs a kubeconfig, and none was found ($KUBECONFIG, ~/.kube/config)"
                .to_owned(),
        ));
    } else {
        let config = in_cluster(Path::new(SERVICE_ACCOUNT_DIR))?;
        (config, "in-cluster".to_owned())
    };
    let timeout = connection.timeout.unwrap_or(DEFAULT_TIMEOUT);
    config.connect_timeout = Some(timeout.min(Duration::from_secs(30)));
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    // kube-rs retries 503 up to 15 times with backoff to 1000 s: an aggregated API that
    // is down (a common sight) would stall discovery for minutes. Lists retry on their
    // own, briefly (`list_resource`).
    config.default_retry = false;
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| ClusterError::Config(chain(&e)))?;
    Ok(Connected {
        client,
        context,
        server: server.trim_end_matches('/').to_owned(),
    })
}

/// Reads and merges kubeconfig files as kubectl does: the first file's value wins, and
/// files of `$KUBECONFIG` that do not exist are skipped (an explicit one must exist).
fn read_kubeconfigs(files: &[PathBuf], explicit: bool) -> Result<Kubeconfig, String> {
    let mut merged: Option<Kubeconfig> = None;
    for path in files {
        if !explicit && !path.exists() {
            continue;
        }
        let next = Kubeconfig::read_from(path)
            .map_err(|e| format!("{}: {}", path.display(), chain(&e)))?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(|e| chain(&e))?,
        });
    }
    merged.ok_or_else(|| "none of the files exists".to_owned())
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn default_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// The configuration a pod's service account gives: the API server from
/// `KUBERNETES_SERVICE_HOST`/`_PORT`, the CA, token and namespace mounted in `dir`. The
/// token file is read again when it rotates (kube-rs re-reads `token_file`).
///
/// # Errors
/// Not in a pod (no service host), or the mounted files are missing.
pub fn in_cluster(dir: &Path) -> Result<Config, ClusterError> {
    let no = |what: &str| {
        ClusterError::Config(format!(
            "no kubeconfig found ($KUBECONFIG, ~/.kube/config, --kubeconfig) and not in a pod: {what}"
        ))
    };
    let host = std::env::var("KUBERNETES_SERVICE_HOST")
        .map_err(|_| no("KUBERNETES_SERVICE_HOST is not set"))?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT")
        .map_err(|_| no("KUBERNETES_SERVICE_PORT is not set"))?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]") // an IPv6 service address
    } else {
        host
    };
    let url: http::Uri = format!("https://{host}:{port}")
        .parse()
        .map_err(|e| ClusterError::Config(format!("service address {host}:{port}: {e}")))?;
    let ca_path = dir.join("ca.crt");
    let ca = std::fs::read(&ca_path)
        .map_err(|e| ClusterError::Config(format!("{}: {e}", ca_path.display())))?;
    let certs = pem_certificates(&ca)
        .map_err(|e| ClusterError::Config(format!("{}: {e}", ca_path.display())))?;
    let token = dir.join("token");
    if !token.exists() {
        return Err(ClusterError::Config(format!(
            "{}: no such file",
            token.display()
        )));
    }
    let mut config = Config::new(url);
    config.root_cert = Some(certs);
    config.auth_info.token_file = Some(token.display().to_string());
    if let Ok(ns) = std::fs::read_to_string(dir.join("namespace")) {
        config.default_namespace = ns.trim().to_owned();
    }
    Ok(config)
}

fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    use rustls_pki_types::pem::PemObject;
    let certs: Vec<Vec<u8>> = rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    if certs.is_empty() {
        return Err("no PEM certificate".to_owned());
    }
    Ok(certs)
}
