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

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

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
    let explicit = connection.kubeconfig.clone().or_else(|| {
        std::env::var_os("KUBECONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let (mut config, context) = if let Some(path) = explicit {
        let shown = path.display().to_string();
        let kubeconfig = read_kubeconfigs(&path).map_err(|e| kubeconfig_error(&shown, e))?;
        let context = options
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .unwrap_or_default();
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| kubeconfig_error(&shown, e))?;
        (config, context)
    } else if let Some(home) = default_kubeconfig().filter(|p| p.exists()) {
        let shown = home.display().to_string();
        let kubeconfig = Kubeconfig::read_from(&home).map_err(|e| kubeconfig_error(&shown, e))?;
        let context = options
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .unwrap_or_default();
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| kubeconfig_error(&shown, e))?;
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
    let client = Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
    Ok(Connected {
        client,
        context,
        server: server.trim_end_matches('/').to_owned(),
    })
}

/// `$KUBECONFIG` may list several files (`:`-separated); kubectl merges them, the first
/// file's value winning.
fn read_kubeconfigs(list: &Path) -> Result<Kubeconfig, String> {
    let mut merged: Option<Kubeconfig> = None;
    for path in std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty()) {
        let next = Kubeconfig::read_from(&path).map_err(|e| e.to_string())?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(|e| e.to_string())?,
        });
    }
    merged.ok_or_else(|| "no kubeconfig file given".to_owned())
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
