//! The live layer with the real kube-rs client and runtime: watchers list, then see each
//! change; compaction makes them list again; bookmarks move their resourceVersion on;
//! namespaced and metadata-only watches get what a real API server would send them;
//! report resources are written as an operator writes them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, watcher, Event};
use kube::{Client, Config, Resource, ResourceExt};
use palisade_replay::{Auth, EventKind, Options, Recordings, ReplayServer, RequestInfo};
use serde_json::{json, Value};

const PODS: &str = "/api/v1/pods";
const POLICY_REPORTS: &str = "/apis/wgpolicyk8s.io/v1alpha2/policyreports";
const CLUSTER_POLICY_REPORTS: &str = "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports";
/// What every recorded list reports.
const RECORDED_RV: &str = "1164";
/// How long an expected event may take (a bookmark comes about every second).
const PATIENCE: Duration = Duration::from_secs(20);

/// The recorded API server responses: the repository's copy, or the shared one.
fn recordings_dir() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        manifest.join("../../testdata/apiserver"),
        manifest.join("../../../shared/apiserver-recordings"),
    ]
    .into_iter()
    .find(|d| d.join("042-list-core-v1-pods.json").is_file())
}

/// A server over the recordings; `None` (the test is skipped, and says so) without them.
fn start(options: Options) -> Option<ReplayServer> {
    let Some(dir) = recordings_dir() else {
        eprintln!("skipped: no recordings in testdata/apiserver or ../shared/apiserver-recordings");
        return None;
    };
    let recordings = Recordings::load(&dir).expect("recordings");
    Some(ReplayServer::start(recordings, options))
}

async fn client(server: &ReplayServer) -> Client {
    let kubeconfig =
        Kubeconfig::from_yaml(&server.kubeconfig(&Auth::ClientCertificate)).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

/// The next item of a stream, which must come in time.
async fn next<S: Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
}

fn pod(namespace: &str, name: &str, stage: &str) -> Value {
    json!({
        "metadata": {"namespace": namespace, "name": name, "labels": {"stage": stage}},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]},
    })
}

fn key<K: Resource>(object: &K) -> String {
    let meta = object.meta();
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

/// A list as a watcher's events build it, as a reflector's store does: object key to
/// resourceVersion.
#[derive(Default)]
struct Mirror {
    objects: BTreeMap<String, String>,
    relisting: Option<BTreeMap<String, String>>,
    lists: usize,
}

impl Mirror {
    fn see<K: Resource>(&mut self, event: &Event<K>) {
        let rv = |o: &K| o.meta().resource_version.clone().unwrap_or_default();
        match event {
            Event::Init => {
                self.relisting = Some(BTreeMap::new());
                self.lists += 1;
            }
            Event::InitApply(o) => {
                if let Some(r) = &mut self.relisting {
                    r.insert(key(o), rv(o));
                }
            }
            Event::InitDone => {
                if let Some(r) = self.relisting.take() {
                    self.objects = r;
                }
            }
            Event::Apply(o) => {
                self.objects.insert(key(o), rv(o));
            }
            Event::Delete(o) => {
                self.objects.remove(&key(o));
            }
        }
    }

    /// Follows `events` through a whole initial list.
    async fn follow_list<K: Resource, S>(&mut self, events: &mut S)
    where
        S: Stream<Item = watcher::Result<Event<K>>> + Unpin,
    {
        loop {
            let event = next(events).await.expect("no watcher error");
            self.see(&event);
            if matches!(event, Event::InitDone) {
                return;
            }
        }
    }
}

fn requests_of(server: &ReplayServer, path: &str, watch: bool) -> Vec<RequestInfo> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == path && r.query.contains("watch=true") == watch)
        .collect()
}

fn param<'a>(request: &'a RequestInfo, key: &str) -> Option<&'a str> {
    request
        .query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

#[tokio::test]
async fn a_watcher_lists_then_sees_each_change() {
    let Some(server) = start(Options::default()) else {
        return;
    };
    let pods: Api<Pod> = Api::all(client(&server).await);
    let mut events = watcher(pods, watcher::Config::default()).boxed();
    assert!(matches!(next(&mut events).await.unwrap(), Event::Init));
    let mut mirror = Mirror::default();
    mirror.see(&Event::<Pod>::Init);
    mirror.follow_list(&mut events).await;
    assert_eq!(mirror.objects.len(), 35, "{:?}", mirror.objects.keys());
    assert_eq!(
        mirror.objects["payments/payments-api-5b459dfb86-k8dcb"],
        "1116"
    );

    let added = server.apply_event(PODS, EventKind::Added, pod("payments", "new", "one"));
    assert!(added.parse::<u64>().unwrap() > 1164, "{added}");
    match next(&mut events).await.unwrap() {
        Event::Apply(p) => {
            assert_eq!(key(&p), "payments/new");
            assert_eq!(p.resource_version().as_deref(), Some(added.as_str()));
        }
        other => panic!("expected the added pod, got {other:?}"),
    }
    let modified = server.apply_event(PODS, EventKind::Modified, pod("payments", "new", "two"));
    match next(&mut events).await.unwrap() {
        Event::Apply(p) => {
            assert_eq!(p.labels()["stage"], "two");
            assert_eq!(p.resource_version().as_deref(), Some(modified.as_str()));
        }
        other => panic!("expected the modified pod, got {other:?}"),
    }
    let recorded = "argocd/argocd-server-5f485dc574-ksqqs";
    let deleted = server.apply_event(
        PODS,
        EventKind::Deleted,
        pod("argocd", "argocd-server-5f485dc574-ksqqs", "gone"),
    );
    match next(&mut events).await.unwrap() {
        Event::Delete(p) => {
            assert_eq!(key(&p), recorded);
            assert_eq!(p.resource_version().as_deref(), Some(deleted.as_str()));
        }
        other => panic!("expected the deleted pod, got {other:?}"),
    }

    // One list, then one watch from its resourceVersion, with bookmarks.
    let lists = requests_of(&server, PODS, false);
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert_eq!(param(&lists[0], "limit"), Some("500"));
    let watches = requests_of(&server, PODS, true);
    assert_eq!(watches.len(), 1, "{watches:?}");
    assert_eq!(param(&watches[0], "resourceVersion"), Some(RECORDED_RV));
    assert_eq!(param(&watches[0], "allowWatchBookmarks"), Some("true"));
    assert_eq!(server.open_watches(), 1);

    // A LIST (no longer the recorded answer) has the changes and the last
    // resourceVersion.
    let pods: Api<Pod> = Api::all(client(&server).await);
    let list = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(server.resource_version(), deleted);
    assert_eq!(list.metadata.resource_version.as_deref(), Some(&*deleted));
    let names: Vec<String> = list.items.iter().map(key).collect();
    assert_eq!(names.len(), 35);
    assert!(names.contains(&"payments/new".to_owned()));
    assert!(!names.contains(&recorded.to_owned()));
    assert_eq!(server.stored(PODS).len(), 35);
}

#[tokio::test]
async fn after_a_compaction_a_watcher_lists_again_and_converges() {
    let Some(server) = start(Options::default()) else {
        return;
    };
    let pods: Api<Pod> = Api::all(client(&server).await);
    // Without bookmarks: one arriving between the compaction and the close would rightly
    // move the watcher past the compaction, and it would not need to list again.
    let config = watcher::Config::default().disable_bookmarks();
    let mut events = watcher(pods, config).boxed();
    let mut mirror = Mirror::default();
    mirror.follow_list(&mut events).await;
    server.apply_event(PODS, EventKind::Added, pod("default", "before", "one"));
    let event = next(&mut events).await.unwrap();
    mirror.see(&event);
    assert!(mirror.objects.contains_key("default/before"));

    server.compact();
    server.close_watches();
    // Changes while the watcher finds out: it must end up with them all the same.
    server.apply_event(
        PODS,
        EventKind::Deleted,
        pod("default", "frontend-5664fbd9f7-9h562", "x"),
    );
    server.apply_event(PODS, EventKind::Added, pod("payments", "after", "one"));

    let mut expired = None;
    let truth = || -> BTreeMap<String, String> {
        server
            .stored(PODS)
            .iter()
            .map(|p| {
                (
                    format!(
                        "{}/{}",
                        p["metadata"]["namespace"].as_str().unwrap(),
                        p["metadata"]["name"].as_str().unwrap()
                    ),
                    p["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect()
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !(mirror.lists == 2 && mirror.relisting.is_none() && mirror.objects == truth()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never converged: {} lists",
            mirror.lists
        );
        match next(&mut events).await {
            Ok(event) => mirror.see(&event),
            Err(watcher::Error::WatchError(status)) => expired = Some(status),
            Err(e) => panic!("unexpected watcher error: {e}"),
        }
    }
    let status = expired.expect("the watch from before the compaction was refused");
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
    assert!(
        status.message.starts_with("too old resource version: "),
        "{}",
        status.message
    );
    assert!(mirror.objects.contains_key("payments/after"));
    assert!(!mirror
        .objects
        .contains_key("default/frontend-5664fbd9f7-9h562"));
    assert_eq!(mirror.objects.len(), 36);
    // The re-list is a second LIST, after which watching works again.
    assert_eq!(requests_of(&server, PODS, false).len(), 2);
    server.apply_event(PODS, EventKind::Added, pod("payments", "later", "one"));
    let event = next(&mut events).await.unwrap();
    assert!(
        matches!(&event, Event::Apply(p) if key(p) == "payments/later"),
        "{event:?}"
    );
}

#[tokio::test]
async fn bookmarks_move_the_resource_version_on() {
    let Some(server) = start(Options::default()) else {
        return;
    };
    let client = client(&server).await;
    let pods: Api<Pod> = Api::all(client.clone());
    // A raw watch: a change of another list moves the resourceVersion, and the pods'
    // next bookmark says so without any pod event.
    let mut raw = pods
        .watch(&WatchParams::default(), RECORDED_RV)
        .await
        .unwrap()
        .boxed();
    let moved = server.apply_event(
        "/api/v1/configmaps",
        EventKind::Added,
        json!({"metadata": {"namespace": "default", "name": "elsewhere"}, "data": {}}),
    );
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no bookmark of the new resourceVersion"
        );
        match next(&mut raw).await.unwrap() {
            WatchEvent::Bookmark(b) if b.metadata.resource_version == moved => {
                assert_eq!(
                    (b.types.kind.as_str(), b.types.api_version.as_str()),
                    ("Pod", "v1")
                );
                break;
            }
            WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, RECORDED_RV),
            other => panic!("only bookmarks were due, got {other:?}"),
        }
    }

    // The watcher (bookmarks on by default) watches again from the bookmark's
    // resourceVersion, not from its list's.
    let mut events = watcher(pods, watcher::Config::default()).boxed();
    Mirror::default().follow_list(&mut events).await;
    let listed = moved;
    let moved = server.apply_event(
        "/api/v1/configmaps",
        EventKind::Modified,
        json!({"metadata": {"namespace": "default", "name": "elsewhere"}, "data": {"k": "v"}}),
    );
    // Polling the watcher lets it take the bookmarks; no event is due.
    let idle = tokio::time::timeout(Duration::from_millis(2500), events.next()).await;
    assert!(idle.is_err(), "no pod changed: {idle:?}");
    server.close_watches();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while requests_of(&server, PODS, true).len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watcher never watched again"
        );
        let _ = tokio::time::timeout(Duration::from_millis(100), events.next()).await;
    }
    let watches = requests_of(&server, PODS, true);
    assert_eq!(param(&watches[1], "resourceVersion"), Some(listed.as_str()));
    assert_eq!(param(&watches[2], "resourceVersion"), Some(moved.as_str()));
    assert_eq!(requests_of(&server, PODS, false).len(), 1, "no list again");
}

#[tokio::test]
async fn a_namespaced_watch_gets_its_namespace_only() {
    let Some(server) = start(Options::default()) else {
        return;
    };
    let client = client(&server).await;
    let payments: Api<Pod> = Api::namespaced(client.clone(), "payments");
    let mut events = watcher(payments.clone(), watcher::Config::default()).boxed();
    let mut mirror = Mirror::default();
    mirror.follow_list(&mut events).await;
    assert_eq!(
        mirror.objects.keys().collect::<Vec<_>>(),
        [
            "payments/payments-api-5b459dfb86-k8dcb",
            "payments/payments-api-5b459dfb86-tdpx8"
        ]
    );
    let before = server.resource_version();
    server.apply_event(PODS, EventKind::Added, pod("default", "other", "one"));
    server.apply_event(PODS, EventKind::Added, pod("payments", "ours", "one"));
    // Events come in order: the first one is ours, so the other was not sent.
    let event = next(&mut events).await.unwrap();
    assert!(
        matches!(&event, Event::Apply(p) if key(p) == "payments/ours"),
        "{event:?}"
    );
    assert_eq!(
        requests_of(&server, "/api/v1/namespaces/payments/pods", true).len(),
        1
    );

    // Replayed from before both, the namespace's history has only ours.
    let wp = WatchParams::default().disable_bookmarks().timeout(1);
    let replayed: Vec<String> = payments
        .watch(&wp, &before)
        .await
        .unwrap()
        .map(|e| match e.unwrap() {
            WatchEvent::Added(p) => format!("ADDED {}", key(&p)),
            other => format!("{other:?}"),
        })
        .collect()
        .await;
    assert_eq!(replayed, ["ADDED payments/ours"]);
}

#[tokio::test]
async fn a_watch_ends_at_its_timeout_and_a_streaming_list_ends_its_initial_events() {
    let Some(server) = start(Options::default()) else {
        return;
    };
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "payments");
    let wp = WatchParams::default().timeout(1);
    let started = std::time::Instant::now();
    let mut stream = pods.watch(&wp, "0").await.unwrap().boxed();
    // From "0": the current items, as ADDED.
    for _ in 0..2 {
        assert!(matches!(
            next(&mut stream).await.unwrap(),
            WatchEvent::Added(_)
        ));
    }
    assert_eq!(server.open_watches(), 1);
    let rest: Vec<_> = stream.collect().await;
    assert!(
        rest.iter()
            .all(|e| matches!(e, Ok(WatchEvent::Bookmark(_)))),
        "{rest:?}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(server.open_watches(), 0);

    let config = watcher::Config::default().streaming_lists();
    let mut events = watcher(pods, config).boxed();
    let mut mirror = Mirror::default();
    mirror.follow_list(&mut events).await;
    assert_eq!(mirror.objects.len(), 2);
    let watches = requests_of(&server, "/api/v1/namespaces/payments/pods", true);
    assert_eq!(param(&watches[1], "sendInitialEvents"), Some("true"));
}

#[tokio::test]
async fn a_metadata_watcher_gets_partial_object_metadata() {
    let Some(server) = start(Options::default()) else {
        return;
    };
    let client = client(&server).await;
    // What kube 5 makes of `metadata_watcher`: an Api of metadata only, whose lists
    // and watches ask for `PartialObjectMetadata`.
    let secrets: Api<PartialObjectMeta<Secret>> = Api::all(client.clone());
    let mut events = watcher(secrets, watcher::Config::default()).boxed();
    let mut mirror = Mirror::default();
    mirror.follow_list(&mut events).await;
    assert_eq!(mirror.objects.len(), 9);
    server.apply_event(
        "/api/v1/secrets",
        EventKind::Added,
        json!({"metadata": {"namespace": "payments", "name": "api-token"},
            "type": "Opaque", "data": {"token": "c2VjcmV0LXZhbHVl"}}),
    );
    match next(&mut events).await.unwrap() {
        Event::Apply(meta) => {
            assert_eq!(key(&meta), "payments/api-token");
            let types = meta.types.expect("typed");
            assert_eq!(types.kind, "PartialObjectMetadata");
            assert_eq!(types.api_version, "meta.k8s.io/v1");
        }
        other => panic!("expected the new secret's metadata, got {other:?}"),
    }
    let watches = requests_of(&server, "/api/v1/secrets", true);
    assert_eq!(watches.len(), 1);
    assert!(watches[0].metadata_only);
    assert!(requests_of(&server, "/api/v1/secrets", false)[0].metadata_only);

    // On the wire: metadata only, no secret data, for the initial items and the change.
    let wp = WatchParams::default().disable_bookmarks().timeout(1);
    let request = kube::core::Request::new("/api/v1/secrets")
        .watch_metadata(&wp, "0")
        .unwrap();
    let raw: Vec<WatchEvent<Value>> = client
        .request_events::<Value>(request)
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(raw.len(), 10);
    for event in &raw {
        let WatchEvent::Added(object) = event else {
            panic!("{event:?}");
        };
        assert_eq!(object["kind"], "PartialObjectMetadata");
        assert!(object.get("data").is_none(), "{object}");
    }
    let all = serde_json::to_string(&raw).unwrap();
    assert!(all.contains("api-token"));
    assert!(!all.contains("c2VjcmV0LXZhbHVl"));
}

fn policy_reports() -> ApiResource {
    ApiResource {
        group: "wgpolicyk8s.io".into(),
        version: "v1alpha2".into(),
        api_version: "wgpolicyk8s.io/v1alpha2".into(),
        kind: "PolicyReport".into(),
        plural: "policyreports".into(),
    }
}

fn report(name: &str, fail: u64) -> Value {
    json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "palisade"}},
        "summary": {"pass": 3, "fail": fail},
        "results": [{"policy": "privileged-container", "result": "fail", "severity": "high"}],
    })
}

fn api_error(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(status) => (status.code, status.reason),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn policy_reports_are_applied_read_replaced_patched_and_deleted() {
    let Some(server) = start(Options::default()) else {
        return;
    };
    let client = client(&server).await;
    let ar = policy_reports();
    let reports: Api<DynamicObject> = Api::namespaced_with(client.clone(), "payments", &ar);
    let start_rv = server.resource_version();
    let apply = PatchParams::apply("palisade");

    // Server-side apply creates it, with what the server sets.
    let created = reports
        .patch(
            "palisade-payments",
            &apply,
            &Patch::Apply(report("palisade-payments", 2)),
        )
        .await
        .unwrap();
    assert_eq!(created.namespace().as_deref(), Some("payments"));
    let uid = created.uid().expect("a uid");
    assert!(created.creation_timestamp().is_some());
    let rv1 = created.resource_version().unwrap();
    assert!(rv1.parse::<u64>().unwrap() > start_rv.parse::<u64>().unwrap());
    // Applied again, it replaces the content and keeps the identity.
    let applied = reports
        .patch(
            "palisade-payments",
            &apply,
            &Patch::Apply(report("palisade-payments", 5)),
        )
        .await
        .unwrap();
    assert_eq!(applied.uid().as_deref(), Some(uid.as_str()));
    assert_eq!(applied.data["summary"]["fail"], 5);
    assert_ne!(applied.resource_version().unwrap(), rv1);

    let got = reports.get("palisade-payments").await.unwrap();
    assert_eq!(got.data["summary"]["fail"], 5);
    let list = reports.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(
        list.metadata.resource_version.as_deref(),
        Some(&*server.resource_version())
    );
    assert!(
        Api::<DynamicObject>::namespaced_with(client.clone(), "default", &ar)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Replace needs the current resourceVersion.
    let mut changed = got.clone();
    changed.data["summary"]["fail"] = json!(0);
    let replaced = reports
        .replace("palisade-payments", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(replaced.data["summary"]["fail"], 0);
    let stale = reports
        .replace("palisade-payments", &PostParams::default(), &changed)
        .await
        .unwrap_err();
    assert_eq!(api_error(stale), (409, "Conflict".to_owned()));

    let patched = reports
        .patch(
            "palisade-payments",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"reviewed": "yes"}}, "results": null})),
        )
        .await
        .unwrap();
    assert_eq!(patched.labels()["reviewed"], "yes");
    assert_eq!(patched.labels()["app.kubernetes.io/managed-by"], "palisade");
    assert!(patched.data.get("results").is_none());

    let stored = server.stored(POLICY_REPORTS);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["metadata"]["namespace"], "payments");
    assert_eq!(stored[0]["metadata"]["labels"]["reviewed"], "yes");
    assert_eq!(stored[0]["summary"]["fail"], 0);

    // Creating what exists is a conflict; apply needs a field manager.
    let again = reports
        .create(
            &PostParams::default(),
            &serde_json::from_value(report("palisade-payments", 1)).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(again), (409, "AlreadyExists".to_owned()));
    let unmanaged = reports
        .patch(
            "palisade-payments",
            &PatchParams::default(),
            &Patch::Apply(report("palisade-payments", 1)),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(unmanaged), (422, "Invalid".to_owned()));

    // A watch from before the first write replays every write, in order.
    let wp = WatchParams::default().disable_bookmarks().timeout(1);
    reports
        .delete("palisade-payments", &DeleteParams::default())
        .await
        .unwrap();
    let history: Vec<String> = reports
        .watch(&wp, &start_rv)
        .await
        .unwrap()
        .map(|e| {
            match e.unwrap() {
                WatchEvent::Added(_) => "ADDED",
                WatchEvent::Modified(_) => "MODIFIED",
                WatchEvent::Deleted(_) => "DELETED",
                _ => "other",
            }
            .to_owned()
        })
        .collect()
        .await;
    assert_eq!(
        history,
        ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"]
    );
    assert_eq!(
        api_error(reports.get("palisade-payments").await.unwrap_err()).0,
        404
    );
    assert_eq!(
        api_error(
            reports
                .delete("palisade-payments", &DeleteParams::default())
                .await
                .unwrap_err()
        )
        .0,
        404
    );
    assert!(server.stored(POLICY_REPORTS).is_empty());

    // Cluster reports have no namespace.
    let cluster_ar = ApiResource {
        kind: "ClusterPolicyReport".into(),
        plural: "clusterpolicyreports".into(),
        ..policy_reports()
    };
    let cluster: Api<DynamicObject> = Api::all_with(client, &cluster_ar);
    let mut body = report("palisade-cluster", 1);
    body["kind"] = json!("ClusterPolicyReport");
    body["metadata"]["namespace"] = json!("ignored");
    cluster
        .create(
            &PostParams::default(),
            &serde_json::from_value(body).unwrap(),
        )
        .await
        .unwrap();
    let stored = server.stored(CLUSTER_POLICY_REPORTS);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["metadata"]["name"], "palisade-cluster");
    assert!(stored[0]["metadata"].get("namespace").is_none());
}

#[tokio::test]
async fn writes_are_authorized_and_bounded() {
    let Some(server) = start(Options {
        // The scanner may read everything and write nothing.
        authorize: Some(Arc::new(|r: &RequestInfo| {
            r.method == "GET" || r.query.contains("fieldManager=allowed")
        })),
        ..Options::default()
    }) else {
        return;
    };
    let client = client(&server).await;
    let reports: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "payments", &policy_reports());
    let refused = reports
        .patch(
            "r",
            &PatchParams::apply("palisade"),
            &Patch::Apply(report("r", 1)),
        )
        .await
        .unwrap_err();
    match refused {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 403);
            assert!(
                status
                    .message
                    .contains("cannot patch resource \"policyreports\""),
                "{}",
                status.message
            );
        }
        other => panic!("{other}"),
    }
    let last = server.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        (
            "PATCH",
            "/apis/wgpolicyk8s.io/v1alpha2/namespaces/payments/policyreports/r"
        )
    );
    assert!(server.stored(POLICY_REPORTS).is_empty());

    // Over the API server's 3 MiB: refused whole.
    let mut big = report("big", 1);
    big["results"][0]["message"] = json!("x".repeat(4 * 1024 * 1024));
    let too_large = reports
        .patch("big", &PatchParams::apply("allowed"), &Patch::Apply(big))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(too_large),
        (413, "RequestEntityTooLarge".to_owned())
    );
    reports
        .patch(
            "small",
            &PatchParams::apply("allowed"),
            &Patch::Apply(report("small", 1)),
        )
        .await
        .unwrap();
    assert_eq!(server.stored(POLICY_REPORTS).len(), 1);
    // Recorded resources are read-only.
    let pods: Api<Pod> = Api::namespaced(client, "payments");
    let err = pods
        .patch(
            "payments-api-5b459dfb86-k8dcb",
            &PatchParams::apply("allowed"),
            &Patch::Apply(pod("payments", "payments-api-5b459dfb86-k8dcb", "x")),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 405);
}
