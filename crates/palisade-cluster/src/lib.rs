//! A live cluster, read the way kubectl reads it, with the least access it needs.
//!
//! [`read`] connects with kube-rs ([`Connection`]: a kubeconfig with client certificates,
//! bearer tokens or exec plugins, or the pod's service account), asks `/version`,
//! discovers every listable resource of every group's preferred version (custom
//! resources included; a group whose discovery fails is reported, not fatal), and lists
//! each in pages of [`ReadOptions::page_size`], following `continue` and starting a list
//! again on `410 Gone` (objects already read are not read twice). Secrets are listed as
//! metadata only (`PartialObjectMetadataList`) unless their contents are asked for. A
//! resource the credentials may not list (403) or that fails is a [`NotEvaluated`] entry,
//! and the rest is still read.
//!
//! Pages go to the caller's closure as they arrive, through a bounded channel, so memory
//! holds a few pages, not the cluster: the caller scans or writes each and drops it. The
//! first object handed over is a [`CLUSTER_INFO_KIND`] object carrying the server's
//! version, so checks and snapshots see it like any other object. Nothing here checks
//! anything.

pub mod configz;
mod connect;
pub mod discover;
mod namespaces;

use std::collections::HashSet;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use kube::core::params::ListParams;
use kube::Client;
use serde_json::{json, Value};

pub use configz::{kubelet_configs, ConfigzError};
pub use connect::{connect, in_cluster, Connected, Connection, SERVICE_ACCOUNT_DIR};
pub use namespaces::{namespace_labels, namespace_labels_paged, NamespaceLabels};

/// `apiVersion` of the object that describes the cluster itself.
pub const CLUSTER_INFO_API_VERSION: &str = "palisade.dev/v1alpha1";
/// `kind` of the object that describes the cluster itself: `serverVersion` holds what
/// `/version` answered, `server` the API server's address.
pub const CLUSTER_INFO_KIND: &str = "ClusterInfo";

/// One kind of object the API serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    /// The plural resource name (`deployments`).
    pub name: String,
    pub kind: String,
    pub namespaced: bool,
}

impl Resource {
    #[must_use]
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, as kubectl names resources (`pods` for the core group).
    #[must_use]
    pub fn display_name(&self) -> String {
        if self.group.is_empty() {
            self.name.clone()
        } else {
            format!("{}.{}", self.name, self.group)
        }
    }

    /// The path that lists it, cluster-wide or in one namespace.
    #[must_use]
    pub fn list_path(&self, namespace: Option<&str>) -> String {
        let root = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("{root}/namespaces/{ns}/{}", self.name),
            None => format!("{root}/{}", self.name),
        }
    }

    fn is_secret(&self) -> bool {
        self.group.is_empty() && self.name == "secrets"
    }
}

pub use palisade_model::NotEvaluated;

/// Why the cluster could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("kubeconfig: {0}")]
    Config(String),
    #[error("cannot read the cluster at {server}: {message}")]
    Unreachable { server: String, message: String },
    #[error("the cluster reader failed: {0}")]
    Internal(String),
}

/// What to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Only namespaced objects of this namespace (cluster-scoped objects are still read:
    /// the RBAC and network analyses need ClusterRoles and Namespaces).
    pub namespace: Option<String>,
    /// List Secrets with their values instead of metadata only.
    pub secret_contents: bool,
    /// Objects per list request.
    pub page_size: u32,
    /// A page larger than this many bytes halves the page size for the rest of its
    /// list (objects such as CRDs can be hundreds of KB each).
    pub max_page_bytes: usize,
    /// Only these resources (plural names, `roles` or `roles.rbac.authorization.k8s.io`);
    /// all when empty.
    pub only: Vec<String>,
    /// A progress bar on stderr (drawn only on a terminal).
    pub progress: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            namespace: None,
            secret_contents: false,
            page_size: 500,
            max_page_bytes: 16 << 20,
            only: Vec::new(),
            progress: false,
        }
    }
}

/// One page of objects, each with `apiVersion` and `kind` set.
pub struct Page {
    pub resource: Arc<Resource>,
    pub items: Vec<Value>,
}

/// What reading the cluster found, besides the objects.
#[derive(Debug, Clone, Default)]
pub struct ClusterRead {
    /// The kubeconfig context (or `in-cluster`).
    pub context: String,
    pub server: String,
    /// `gitVersion` from `/version`, when it answered.
    pub version: Option<String>,
    pub resources: usize,
    pub objects: usize,
    pub not_evaluated: Vec<NotEvaluated>,
    /// Lists started again after `410 Gone`.
    pub restarts: usize,
}

/// `future`, given up after `limit`: kube-rs bounds each socket read, not a whole
/// response, so a server that trickles bytes would otherwise hold the scan forever.
pub async fn within<T>(
    limit: std::time::Duration,
    future: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, kube::Error> {
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result,
        Err(_) => Err(kube::Error::Service(
            format!("no complete answer within {} s", limit.as_secs()).into(),
        )),
    }
}

/// Words for a client error: the API server's message, or the transport error.
#[must_use]
pub fn describe(e: &kube::Error) -> String {
    match e {
        // An exec plugin's failure message carries its command line, environment and
        // output, any of which may hold a credential: say what failed, not what it said.
        kube::Error::Auth(_) => "authentication failed: the kubeconfig's credentials (token, certificate or exec plugin) could not be used; details are withheld as they may contain secrets".to_owned(),
        kube::Error::Api(status) => {
            let message = status.message.trim();
            if message.is_empty() {
                format!("HTTP {}", status.code)
            } else {
                format!("HTTP {}: {message}", status.code)
            }
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

/// Reads the cluster and hands each page to `on_page` as it arrives; `on_page` returns
/// `false` to stop reading (the objects read so far are then all there is).
///
/// # Errors
/// Bad credentials or configuration, an unreachable server, or a server that refuses
/// discovery itself; a single resource failing is a [`NotEvaluated`] entry instead.
pub fn read(
    connection: &Connection,
    options: &ReadOptions,
    mut on_page: impl FnMut(Page) -> bool,
) -> Result<ClusterRead, ClusterError> {
    let (tx, rx): (SyncSender<Page>, Receiver<Page>) = sync_channel(2);
    let connection = connection.clone();
    let options = options.clone();
    let fetcher = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClusterError::Internal(format!("cannot start the client runtime: {e}")))?;
        runtime.block_on(fetch(&connection, &options, &tx))
    });
    for page in rx {
        if !on_page(page) {
            break; // dropping the receiver makes the fetcher's next send fail: it stops
        }
    }
    fetcher.join().unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ClusterError::Internal(format!(
            "the reading thread panicked: {why}"
        )))
    })
}

fn wanted(resource: &Resource, only: &[String]) -> bool {
    only.is_empty()
        || only
            .iter()
            .any(|o| *o == resource.name || *o == resource.display_name())
}

async fn fetch(
    connection: &Connection,
    options: &ReadOptions,
    tx: &SyncSender<Page>,
) -> Result<ClusterRead, ClusterError> {
    let Connected {
        client,
        context,
        server,
    } = connect(connection).await?;
    let unreachable = |e: &kube::Error| ClusterError::Unreachable {
        server: server.clone(),
        message: describe(e),
    };
    let mut read = ClusterRead {
        context: context.clone(),
        server: server.clone(),
        ..ClusterRead::default()
    };
    let limit = connection.timeout.unwrap_or(connect::DEFAULT_TIMEOUT);
    let version = within(limit, client.apiserver_version())
        .await
        .map_err(|e| unreachable(&e))?;
    read.version = Some(version.git_version.clone());
    let info = cluster_info(&context, &server, &version);
    let info_resource = Arc::new(Resource {
        group: "palisade.dev".to_owned(),
        version: "v1alpha1".to_owned(),
        name: "clusterinfos".to_owned(),
        kind: CLUSTER_INFO_KIND.to_owned(),
        namespaced: false,
    });
    if tx
        .send(Page {
            resource: info_resource,
            items: vec![info],
        })
        .is_err()
    {
        return Ok(read);
    }
    let (resources, failed) = discover::discover(&client, limit)
        .await
        .map_err(|e| unreachable(&e))?;
    read.not_evaluated.extend(failed);
    let resources: Vec<Arc<Resource>> = resources
        .into_iter()
        .filter(|r| wanted(r, &options.only))
        // Namespaces first: Pod Security labels decide how the rest is judged.
        .map(Arc::new)
        .collect();
    let mut ordered: Vec<Arc<Resource>> = resources
        .iter()
        .filter(|r| r.group.is_empty() && r.name == "namespaces")
        .cloned()
        .collect();
    ordered.extend(
        resources
            .iter()
            .filter(|r| !(r.group.is_empty() && r.name == "namespaces"))
            .cloned(),
    );
    let bar = progress_bar(options.progress, ordered.len());
    let mut seen: HashSet<String> = HashSet::new();
    for resource in ordered {
        bar.set_message(resource.display_name());
        let outcome =
            list_resource(&client, limit, &resource, options, &mut seen, tx, &mut read).await;
        match outcome {
            Ok(true) => {}
            Ok(false) => return Ok(read), // the caller stopped listening
            Err(reason) => read.not_evaluated.push(NotEvaluated {
                resource: resource.display_name(),
                reason,
            }),
        }
        read.resources += 1;
        bar.inc(1);
        bar.set_prefix(format!("{} objects", read.objects));
    }
    bar.finish_and_clear();
    Ok(read)
}

fn progress_bar(show: bool, len: usize) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} resources, {prefix} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Retries of one list request answered 429, 503 or 504.
const MAX_RETRIES: u32 = 3;

/// Lists one resource page by page. `Ok(false)` when the receiver is gone; `Err` says
/// why the resource (or its rest) was not read.
async fn list_resource(
    client: &Client,
    limit: std::time::Duration,
    resource: &Arc<Resource>,
    options: &ReadOptions,
    seen: &mut HashSet<String>,
    tx: &SyncSender<Page>,
    read: &mut ClusterRead,
) -> Result<bool, String> {
    let path = resource.list_path(options.namespace.as_deref());
    let metadata_only = resource.is_secret() && !options.secret_contents;
    let mut continue_token: Option<String> = None;
    let mut restarts = 0;
    let mut retries = 0u32;
    let mut page_size = options.page_size.max(1);
    loop {
        let params = ListParams {
            limit: Some(page_size),
            continue_token: continue_token.clone(),
            ..ListParams::default()
        };
        let request = kube::core::Request::new(&path);
        let request = if metadata_only {
            request.list_metadata(&params)
        } else {
            request.list(&params)
        }
        .map_err(|e| e.to_string())?;
        let text = match within(limit, client.request_text(request)).await {
            Ok(text) => text,
            Err(kube::Error::Api(status)) if status.code == 410 && restarts < 3 => {
                // The continue token expired (etcd compacted): list again from the
                // start; objects already handed over are skipped by uid.
                restarts += 1;
                read.restarts += 1;
                continue_token = None;
                continue;
            }
            Err(kube::Error::Api(status))
                if matches!(status.code, 429 | 503 | 504) && retries < MAX_RETRIES =>
            {
                // Overloaded or briefly unavailable: wait a little and ask again.
                retries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(250 << retries)).await;
                continue;
            }
            Err(kube::Error::Api(status)) if status.code == 403 => {
                return Err(if continue_token.is_some() {
                    "forbidden part way through the list; the objects before it were read"
                        .to_owned()
                } else {
                    "forbidden".to_owned()
                })
            }
            Err(e) => return Err(describe(&e)),
        };
        let mut body: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the server sent a list that is not JSON: {e}"))?;
        // Memory is bounded by bytes, not objects: large objects (CRDs with big schemas)
        // make large pages, so the next pages of this resource are asked smaller.
        if text.len() > options.max_page_bytes && page_size > 1 {
            page_size = (page_size / 2).max(1);
        }
        drop(text);
        let next = body["metadata"]["continue"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let items = match body.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => return Err("the server sent a list whose items are not a list".to_owned()),
        };
        let items: Vec<Value> = items
            .into_iter()
            .filter_map(|item| normalise(item, resource, seen, metadata_only))
            .collect();
        read.objects += items.len();
        if !items.is_empty()
            && tx
                .send(Page {
                    resource: resource.clone(),
                    items,
                })
                .is_err()
        {
            return Ok(false);
        }
        match next {
            Some(token) if continue_token.as_deref() == Some(token.as_str()) => {
                return Err("the server sent the same continue token twice; the rest of the list was not read".to_owned());
            }
            Some(token) => continue_token = Some(token),
            None => return Ok(true),
        }
    }
}

/// Sets `apiVersion` and `kind` (lists of built-in types leave them out, and metadata-only
/// items say `PartialObjectMetadata`); `None` for an object already read (a list started
/// again, or the same object served by two groups).
fn normalise(
    mut item: Value,
    resource: &Resource,
    seen: &mut HashSet<String>,
    metadata_only: bool,
) -> Option<Value> {
    if metadata_only {
        // Whatever the server sent (a proxy may ignore the Accept header), values and
        // their copy in kubectl's last-applied annotation go no further.
        item = scrub_secret(item);
    }
    let object = item.as_object_mut()?;
    if let Some(uid) = object
        .get("metadata")
        .and_then(|m| m.get("uid"))
        .and_then(Value::as_str)
    {
        if !seen.insert(uid.to_owned()) {
            return None;
        }
    }
    let partial = object.get("kind").and_then(Value::as_str) == Some("PartialObjectMetadata");
    if partial || !object.contains_key("kind") {
        object.insert("kind".to_owned(), Value::String(resource.kind.clone()));
    }
    if partial || !object.contains_key("apiVersion") {
        object.insert(
            "apiVersion".to_owned(),
            Value::String(resource.api_version()),
        );
    }
    Some(item)
}

/// Where client-side `kubectl apply` keeps the whole object as last applied: for a
/// Secret, its values in clear.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A Secret with no values at all: no `data` or `stringData`, no last-applied copy.
fn scrub_secret(mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.remove("data");
        map.remove("stringData");
    }
    blank_last_applied(&mut object);
    object
}

fn blank_last_applied(object: &mut Value) {
    if let Some(annotations) = object
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        if let Some(v) = annotations.get_mut(LAST_APPLIED) {
            *v = Value::String(String::new());
        }
    }
}

/// The object that describes the cluster itself ([`CLUSTER_INFO_KIND`]), from what
/// `/version` answered.
#[must_use]
pub fn cluster_info(
    context: &str,
    server: &str,
    version: &k8s_openapi::apimachinery::pkg::version::Info,
) -> Value {
    json!({
        "apiVersion": CLUSTER_INFO_API_VERSION,
        "kind": CLUSTER_INFO_KIND,
        "metadata": {"name": context},
        "server": server,
        "serverVersion": {
            "major": version.major, "minor": version.minor, "gitVersion": version.git_version,
            "platform": version.platform,
        },
    })
}

/// The name a live object goes by in reports, in place of a file:
/// `cluster://CONTEXT/APIVERSION/KIND[/NAMESPACE]/NAME`.
#[must_use]
pub fn object_name(context: &str, item: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let meta = &item["metadata"];
    let mut name = format!(
        "cluster://{context}/{}/{}",
        text(&item["apiVersion"]),
        text(&item["kind"])
    );
    if let Some(ns) = meta["namespace"].as_str() {
        name.push('/');
        name.push_str(ns);
    }
    name.push('/');
    name.push_str(&text(&meta["name"]));
    name
}

/// The object with every Secret value replaced by `""` (keys kept), and a Secret's
/// last-applied annotation emptied, for snapshots.
#[must_use]
pub fn without_secret_values(mut object: Value) -> Value {
    let is_secret = object["kind"] == "Secret" && object["apiVersion"] == "v1";
    if is_secret {
        for field in ["data", "stringData"] {
            if let Some(map) = object.get_mut(field).and_then(Value::as_object_mut) {
                for v in map.values_mut() {
                    *v = Value::String(String::new());
                }
            }
        }
        blank_last_applied(&mut object);
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret() -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "shop", "uid": "u1",
                "annotations": {LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}", "team": "a"}},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "t0k3n"}})
    }

    #[test]
    fn snapshots_keep_no_secret_value_anywhere() {
        let out = without_secret_values(secret());
        let text = out.to_string();
        assert!(
            !text.contains("aHVudGVyMg") && !text.contains("t0k3n"),
            "{text}"
        );
        assert_eq!(out["data"]["password"], "");
        assert_eq!(out["metadata"]["annotations"]["team"], "a");
        // Not a Secret: untouched.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"password": "x"}});
        assert_eq!(without_secret_values(cm.clone()), cm);
    }

    #[test]
    fn metadata_only_secrets_carry_no_values_even_if_the_server_sent_them() {
        let resource = Resource {
            group: String::new(),
            version: "v1".into(),
            name: "secrets".into(),
            kind: "Secret".into(),
            namespaced: true,
        };
        let mut seen = HashSet::new();
        let out = normalise(secret(), &resource, &mut seen, true).unwrap();
        let text = out.to_string();
        assert!(
            !text.contains("aHVudGVyMg") && !text.contains("t0k3n"),
            "{text}"
        );
        assert!(out.get("data").is_none());
        assert!(
            normalise(secret(), &resource, &mut seen, true).is_none(),
            "read once"
        );
        let mut seen = HashSet::new();
        let full = normalise(secret(), &resource, &mut seen, false).unwrap();
        assert_eq!(
            full["data"]["password"], "aHVudGVyMg==",
            "asked for, values are kept"
        );
    }
}
