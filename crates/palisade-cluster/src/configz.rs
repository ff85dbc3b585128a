//! Each node's kubelet configuration as the kubelet itself reports it: `GET
//! /api/v1/nodes/NAME/proxy/configz` through the API server, which needs `get` on
//! `nodes/proxy` (a grant that also reaches the kubelet's exec endpoints, so many roles
//! rightly lack it: the scan then says the kubelets were not evaluated, and why).

use serde_json::Value;

use crate::{connect, describe, within, ClusterError, Connected, Connection};

/// At most this many configz requests at once.
const CONCURRENT: usize = 8;

/// A configz body larger than this is refused (a kubelet's is a few KiB).
const MAX_BYTES: usize = 1 << 20;

/// Why one node's configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigzError {
    /// The role may not `get` `nodes/proxy`.
    Forbidden(String),
    /// The kubelet or the proxy failed (unreachable kubelet, timeout, bad body).
    Failed(String),
}

/// A node's name and its kubelet's configuration, or why it was not read.
pub type NodeConfig = (String, Result<Value, ConfigzError>);

/// Each node's `kubeletconfig`, in the order given.
///
/// # Errors
/// Bad credentials or configuration; a node that fails is an entry of its own.
pub fn kubelet_configs(
    connection: &Connection,
    nodes: &[String],
) -> Result<Vec<NodeConfig>, ClusterError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Internal(format!("cannot start the client runtime: {e}")))?;
    runtime.block_on(async {
        let Connected { client, .. } = connect(connection).await?;
        let limit = connection
            .timeout
            .unwrap_or(crate::connect::DEFAULT_TIMEOUT);
        let mut results: Vec<Option<Result<Value, ConfigzError>>> = vec![None; nodes.len()];
        let mut running = tokio::task::JoinSet::new();
        let mut next = 0;
        while next < nodes.len() || !running.is_empty() {
            while next < nodes.len() && running.len() < CONCURRENT {
                let client = client.clone();
                let name = nodes[next].clone();
                let index = next;
                running.spawn(async move { (index, one(&client, &name, limit).await) });
                next += 1;
            }
            if let Some(Ok((index, result))) = running.join_next().await {
                results[index] = Some(result);
            }
        }
        Ok(nodes
            .iter()
            .cloned()
            .zip(results.into_iter().map(|r| {
                r.unwrap_or_else(|| Err(ConfigzError::Failed("the request did not finish".into())))
            }))
            .collect())
    })
}

async fn one(
    client: &kube::Client,
    name: &str,
    limit: std::time::Duration,
) -> Result<Value, ConfigzError> {
    let path = format!("/api/v1/nodes/{name}/proxy/configz");
    let request = http::Request::get(&path)
        .body(Vec::new())
        .map_err(|e| ConfigzError::Failed(e.to_string()))?;
    let text = within(limit, client.request_text(request))
        .await
        .map_err(|e| match &e {
            kube::Error::Api(status) if status.code == 403 => ConfigzError::Forbidden(describe(&e)),
            _ => ConfigzError::Failed(describe(&e)),
        })?;
    if text.len() > MAX_BYTES {
        return Err(ConfigzError::Failed(format!(
            "configz answered {} bytes, more than {MAX_BYTES}",
            text.len()
        )));
    }
    let mut body: Value = serde_json::from_str(&text)
        .map_err(|e| ConfigzError::Failed(format!("configz is not JSON: {e}")))?;
    match body.get_mut("kubeletconfig").map(Value::take) {
        Some(config) if config.is_object() => Ok(config),
        _ => Err(ConfigzError::Failed(
            "configz has no kubeletconfig object".into(),
        )),
    }
}
