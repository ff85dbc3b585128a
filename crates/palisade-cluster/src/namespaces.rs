//! Every namespace's labels: what the admission webhook needs of the cluster (their Pod
//! Security and `palisade.dev/mode` labels), read as metadata only.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};

use crate::{connect, describe, within, ClusterError, Connected, Connection};

/// A namespace's name and labels.
pub type NamespaceLabels = (String, BTreeMap<String, String>);

/// Lists every namespace's labels, page by page (metadata only: `get`, `list` on
/// namespaces is all the role needs).
///
/// # Errors
/// Bad credentials, an unreachable server, or a refused list.
pub fn namespace_labels(connection: &Connection) -> Result<Vec<NamespaceLabels>, ClusterError> {
    namespace_labels_paged(connection, 500)
}

/// [`namespace_labels`] with `page_size` namespaces per request.
///
/// # Errors
/// As [`namespace_labels`].
pub fn namespace_labels_paged(
    connection: &Connection,
    page_size: u32,
) -> Result<Vec<NamespaceLabels>, ClusterError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Internal(format!("cannot start the client runtime: {e}")))?;
    runtime.block_on(async {
        let Connected { client, server, .. } = connect(connection).await?;
        let limit = connection
            .timeout
            .unwrap_or(crate::connect::DEFAULT_TIMEOUT);
        let api: Api<Namespace> = Api::all(client);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(page_size.max(1));
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            let page = within(limit, api.list_metadata(&params))
                .await
                .map_err(|e| ClusterError::Unreachable {
                    server: server.clone(),
                    message: describe(&e),
                })?;
            for ns in page.items {
                let name = ns.metadata.name.unwrap_or_default();
                out.push((name, ns.metadata.labels.unwrap_or_default()));
            }
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(out);
            }
        }
    })
}
