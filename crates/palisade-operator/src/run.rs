//! The operator: watchers keep the [`Inventory`] current, a debounce gathers changes,
//! what changed is judged again, and the report objects that differ are written.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use palisade_cluster::discover::discover;
use palisade_cluster::{connect, describe, Connection, Resource};
use palisade_engine::{Check, ScanOptions};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::inventory::{Inventory, Key};
use crate::metrics::Metrics;
use crate::{reports, Report, ReportApi};

/// The field manager of every write, and the label on every report.
pub const MANAGER: &str = "palisade";
const DIGEST_ANNOTATION: &str = "palisade.dev/digest";
/// Report writes in flight at once.
const WRITES_IN_FLIGHT: usize = 8;

/// How the operator runs.
pub struct OperatorOptions {
    pub connection: Connection,
    pub api: ReportApi,
    pub max_bytes: usize,
    /// How long changes are gathered before they are judged together: a change is
    /// judged at most this long after it is seen.
    pub debounce: Duration,
    pub checks: Vec<&'static dyn Check>,
    pub scan: ScanOptions,
    /// Where `/metrics` is served (plain HTTP).
    pub metrics: Option<SocketAddr>,
    /// Only these resources (plural names); every listable one when empty.
    pub only: Vec<String>,
    /// History: a database URL and the cluster's name there.
    pub history: Option<(String, String)>,
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0}")]
    Cluster(#[from] palisade_cluster::ClusterError),
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("metrics server: {0}")]
    Metrics(String),
    #[error("history: {0}")]
    History(#[from] palisade_history::HistoryError),
}

/// Resources no check judges that change all the time, and the reports themselves.
const IGNORED: &[&str] = &[
    "events",
    "events.events.k8s.io",
    "leases.coordination.k8s.io",
    "endpoints",
    "endpointslices.discovery.k8s.io",
    "policyreports.wgpolicyk8s.io",
    "clusterpolicyreports.wgpolicyk8s.io",
    "reports.openreports.io",
    "clusterreports.openreports.io",
];

enum Change {
    Upsert(Value),
    Delete(Value),
    /// A (re-)list began: what it does not bring back is gone.
    RelistStarted(Arc<Resource>),
    RelistDone(Arc<Resource>),
    Failed(Arc<Resource>, String),
}

fn api_resource(r: &Resource) -> ApiResource {
    ApiResource {
        group: r.group.clone(),
        version: r.version.clone(),
        api_version: r.api_version(),
        kind: r.kind.clone(),
        plural: r.name.clone(),
    }
}

/// Streams one resource's changes into `tx`, re-listing after expiry or reconnects as
/// kube-runtime's watcher does; Secrets as metadata only.
async fn watch(client: Client, resource: Arc<Resource>, tx: mpsc::Sender<Change>) {
    let ar = api_resource(&resource);
    let secret = resource.group.is_empty() && resource.name == "secrets";
    let api_version = resource.api_version();
    let kind = resource.kind.clone();
    let typed = move |mut v: Value| {
        // Watch events carry the type; metadata-only ones are PartialObjectMetadata.
        v["apiVersion"] = Value::String(api_version.clone());
        v["kind"] = Value::String(kind.clone());
        v
    };
    if secret {
        // Metadata only: the operator never holds a Secret's value.
        let api: Api<kube::core::PartialObjectMeta<DynamicObject>> = Api::all_with(client, &ar);
        forward(api, &resource, &tx, |m| {
            typed(serde_json::json!({
                "metadata": serde_json::to_value(&m.metadata).unwrap_or_default()
            }))
        })
        .await;
    } else {
        let api: Api<DynamicObject> = Api::all_with(client, &ar);
        forward(api, &resource, &tx, |o| {
            typed(serde_json::to_value(&o).unwrap_or_default())
        })
        .await;
    }
}

/// Sends `api`'s watch events, each object made a JSON value by `json`, until the
/// receiver is gone.
async fn forward<K>(
    api: Api<K>,
    resource: &Arc<Resource>,
    tx: &mpsc::Sender<Change>,
    json: impl Fn(K) -> Value,
) where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let mut stream = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = stream.next().await {
        let sent = match event {
            Ok(e) => send(tx, resource, map_event(e, &json)).await,
            Err(e) => tx
                .send(Change::Failed(resource.clone(), e.to_string()))
                .await
                .is_ok(),
        };
        if !sent {
            return;
        }
    }
}

fn map_event<A, B>(event: Event<A>, f: impl Fn(A) -> B) -> Event<B> {
    match event {
        Event::Apply(a) => Event::Apply(f(a)),
        Event::InitApply(a) => Event::InitApply(f(a)),
        Event::Delete(a) => Event::Delete(f(a)),
        Event::Init => Event::Init,
        Event::InitDone => Event::InitDone,
    }
}

async fn send(tx: &mpsc::Sender<Change>, resource: &Arc<Resource>, event: Event<Value>) -> bool {
    let change = match event {
        Event::Apply(v) | Event::InitApply(v) => Change::Upsert(v),
        Event::Delete(v) => Change::Delete(v),
        Event::Init => Change::RelistStarted(resource.clone()),
        Event::InitDone => Change::RelistDone(resource.clone()),
    };
    tx.send(change).await.is_ok()
}

/// The reports last written, by (namespace, name): their digests.
type Written = HashMap<(Option<String>, String), String>;

fn digest_text(r: &Report) -> String {
    r.digest().iter().map(|b| format!("{b:02x}")).collect()
}

/// The report type of a namespace (`namespaced`) or of the cluster.
fn report_resource(api: ReportApi, namespaced: bool) -> ApiResource {
    ApiResource {
        group: api.group().into(),
        version: api.version().into(),
        api_version: api.api_version(),
        kind: api.kind(namespaced).into(),
        plural: api.plural(namespaced).into(),
    }
}

fn report_api(client: &Client, api: ReportApi, namespace: Option<&str>) -> Api<DynamicObject> {
    let ar = report_resource(api, namespace.is_some());
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

/// The reports already in the cluster that Palisade wrote, with their digests, so a
/// restart writes nothing when nothing changed.
async fn existing(client: &Client, api: ReportApi) -> Written {
    let mut written = Written::new();
    let params = ListParams::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    for namespaced in [true, false] {
        let list: Api<DynamicObject> =
            Api::all_with(client.clone(), &report_resource(api, namespaced));
        match list.list(&params).await {
            Ok(objects) => {
                for o in objects {
                    let digest = o
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(DIGEST_ANNOTATION))
                        .cloned()
                        .unwrap_or_default();
                    let name = o.metadata.name.clone().unwrap_or_default();
                    written.insert((o.metadata.namespace.clone(), name), digest);
                }
            }
            Err(e) => tracing::warn!(error = %describe(&e), "cannot list existing reports"),
        }
    }
    written
}

/// Applies the reports that differ from what was written and deletes those no longer
/// produced. Returns (written, deleted).
async fn write_reports(
    client: &Client,
    api: ReportApi,
    reports: &[Report],
    written: &mut Written,
) -> (usize, usize) {
    let params = PatchParams::apply(MANAGER).force();
    let mut wrote = 0;
    let mut produced: HashSet<(Option<String>, String)> = HashSet::new();
    let mut changed = Vec::new();
    for r in reports {
        let key = (r.namespace.clone(), r.name.clone());
        produced.insert(key.clone());
        let digest = digest_text(r);
        if written.get(&key) != Some(&digest) {
            changed.push((key, digest, r));
        }
    }
    // A few writes in flight: the API server's latency, not the count, sets the pace.
    let results: Vec<_> = futures::stream::iter(changed)
        .map(|(key, digest, r)| {
            let params = &params;
            async move {
                let mut object = r.object.clone();
                object["metadata"]["annotations"] =
                    serde_json::json!({ DIGEST_ANNOTATION: digest });
                let target = report_api(client, api, r.namespace.as_deref());
                let outcome = target.patch(&r.name, params, &Patch::Apply(&object)).await;
                (key, digest, outcome)
            }
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    for (key, digest, outcome) in results {
        match outcome {
            Ok(_) => {
                written.insert(key, digest);
                wrote += 1;
            }
            Err(e) => {
                tracing::warn!(report = %key.1, error = %describe(&e), "cannot write a report");
            }
        }
    }
    let stale: Vec<(Option<String>, String)> = written
        .keys()
        .filter(|k| !produced.contains(*k))
        .cloned()
        .collect();
    let mut deleted = 0;
    for key in stale {
        let target = report_api(client, api, key.0.as_deref());
        match target.delete(&key.1, &DeleteParams::default()).await {
            Ok(_) => {
                written.remove(&key);
                deleted += 1;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                written.remove(&key);
            }
            Err(e) => {
                tracing::warn!(report = %key.1, error = %describe(&e), "cannot delete a report")
            }
        }
    }
    (wrote, deleted)
}

/// Runs until `stop` resolves.
///
/// # Errors
/// The cluster cannot be reached or discovered, the metrics address cannot be bound, or
/// the history database cannot be opened.
pub async fn run(
    options: OperatorOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), OperatorError> {
    let connected = connect(&options.connection).await?;
    let client = connected.client.clone();
    let limit = options
        .connection
        .timeout
        .unwrap_or(Duration::from_secs(30));
    let (resources, failed) = discover(&client, limit)
        .await
        .map_err(|e| OperatorError::Discovery(describe(&e)))?;
    for f in &failed {
        tracing::warn!(resource = %f.resource, reason = %f.reason, "not watched");
    }
    let resources: Vec<Arc<Resource>> = resources
        .into_iter()
        .filter(|r| !IGNORED.contains(&r.display_name().as_str()))
        .filter(|r| {
            options.only.is_empty()
                || options
                    .only
                    .iter()
                    .any(|o| *o == r.name || *o == r.display_name())
        })
        .map(Arc::new)
        .collect();
    let metrics = Arc::new(Metrics::new());
    metrics.set_watched_resources(resources.len());
    let _metrics_server = match options.metrics {
        Some(addr) => Some(
            crate::metrics::serve(addr, metrics.clone())
                .await
                .map_err(OperatorError::Metrics)?,
        ),
        None => None,
    };
    let mut history = match &options.history {
        Some((url, _)) => Some(palisade_history::History::open(url)?),
        None => None,
    };

    let (tx, mut rx) = mpsc::channel::<Change>(4096);
    let mut tasks = Vec::new();
    for r in &resources {
        tasks.push(tokio::spawn(watch(client.clone(), r.clone(), tx.clone())));
    }
    drop(tx);
    tracing::info!(resources = resources.len(), context = %connected.context, "watching");

    let mut inventory = Inventory::new(&connected.context, &options.checks, options.scan.clone());
    // The cluster's version, as `scan --cluster` judges it.
    match palisade_cluster::within(limit, client.apiserver_version()).await {
        Ok(version) => inventory.upsert(palisade_cluster::cluster_info(
            &connected.context,
            &connected.server,
            &version,
        )),
        Err(e) => tracing::warn!(error = %describe(&e), "cannot read /version"),
    }
    let mut written = existing(&client, options.api).await;
    // Every resource must have listed once before the first reports: a partial view
    // would write reports that the rest of the list then changes.
    let mut unsynced: HashSet<String> = resources.iter().map(|r| r.display_name()).collect();
    let mut relisting: HashMap<String, HashSet<Key>> = HashMap::new();
    let mut first_change: Option<Instant> = None;
    tokio::pin!(stop);
    loop {
        // A change is judged at most `debounce` after it was seen: the changes of that
        // window are judged together.
        let wait = match first_change {
            Some(first) if unsynced.is_empty() => first + options.debounce,
            _ => Instant::now() + Duration::from_secs(3600),
        };
        tokio::select! {
            () = &mut stop => break,
            change = rx.recv() => {
                let Some(change) = change else { break };
                let now = Instant::now();
                match change {
                    Change::Upsert(v) => {
                        if let Some(seen) = relisting.get_mut(&resource_key(&v)) {
                            seen.insert(Key::of(&v));
                        }
                        inventory.upsert(v);
                    }
                    Change::Delete(v) => inventory.remove(&Key::of(&v)),
                    Change::RelistStarted(r) => {
                        relisting.insert(format!("{}/{}", r.api_version(), r.kind), HashSet::new());
                    }
                    Change::RelistDone(r) => {
                        let id = format!("{}/{}", r.api_version(), r.kind);
                        if let Some(seen) = relisting.remove(&id) {
                            for gone in inventory.keys_of(&r.api_version(), &r.kind) {
                                if !seen.contains(&gone) {
                                    inventory.remove(&gone);
                                }
                            }
                        }
                        unsynced.remove(&r.display_name());
                    }
                    Change::Failed(r, why) => {
                        metrics.watch_error();
                        tracing::warn!(resource = %r.display_name(), error = %why, "watch failed; retrying");
                        // A resource that cannot be listed (forbidden) must not hold the
                        // first reports back forever.
                        unsynced.remove(&r.display_name());
                    }
                }
                metrics.set_objects(inventory.len());
                if inventory.has_changes() {
                    first_change.get_or_insert(now);
                }
            }
            () = tokio::time::sleep_until(wait.into()) => {
                let Some(first) = first_change.take() else { continue };
                let started = Instant::now();
                let (evaluated, inv) = {
                    let mut inv = std::mem::replace(
                        &mut inventory,
                        Inventory::new(&connected.context, &[], ScanOptions::default()),
                    );
                    tokio::task::spawn_blocking(move || {
                        let e = inv.evaluate();
                        (e, inv)
                    })
                    .await
                    .expect("the evaluation does not panic")
                };
                inventory = inv;
                let judged = started.elapsed();
                let result = inventory.result();
                let list = reports(&result, options.api, options.max_bytes);
                let built = started.elapsed();
                let (wrote, deleted) = write_reports(&client, options.api, &list, &mut written).await;
                tracing::debug!(
                    judged = judged.as_secs_f64(), built = built.as_secs_f64(),
                    written = started.elapsed().as_secs_f64(), "evaluation steps"
                );
                if let (Some(h), Some((_, name))) = (history.as_mut(), &options.history) {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                    if let Err(e) = h.record(name, now, &palisade_history::Row::of(&result)) {
                        tracing::warn!(error = %e, "cannot record the evaluation");
                    }
                }
                metrics.evaluated(&result, evaluated, started.elapsed(), first.elapsed(), wrote, deleted, &list);
                tracing::info!(
                    objects = evaluated.objects, analyses = evaluated.analyses,
                    findings = result.findings.len(), reports = list.len(), wrote, deleted,
                    seconds = started.elapsed().as_secs_f64(), "evaluated"
                );
            }
        }
    }
    for t in tasks {
        t.abort();
    }
    Ok(())
}

/// `apiVersion/kind` of an object, the key of its resource's re-list.
fn resource_key(v: &Value) -> String {
    format!(
        "{}/{}",
        v["apiVersion"].as_str().unwrap_or(""),
        v["kind"].as_str().unwrap_or("")
    )
}
