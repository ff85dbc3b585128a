//! The live layer over the recordings: lists that change, the resourceVersion counter
//! every change is stamped with, and the history that watches replay.
//!
//! The recorded lists are its starting state. A change, from a test
//! ([`ReplayServer::apply_event`](crate::ReplayServer::apply_event)) or a client's write,
//! goes through [`Live::commit`]: it takes the next resourceVersion, updates the list,
//! keeps the event for watches that start later from an older resourceVersion, and hands
//! it to the watches open on that list. All of it happens under one lock, so a watch
//! that reads the history and registers under that lock misses no change and sees none
//! twice.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::ListData;

/// What happened to an object, as a watch event's `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    /// The watch event's `type`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change of a list, kept for the watches that start before it.
#[derive(Debug)]
pub(crate) struct Change {
    pub rv: u64,
    pub kind: EventKind,
    pub namespace: Option<String>,
    /// The object as it is after the change (for a deletion: as it was, with the
    /// resourceVersion of the deletion, as the API server sends it).
    pub object: Value,
}

/// A list as it is now.
pub(crate) struct LiveList {
    /// The list's kind (`PodList`).
    pub kind: String,
    pub api_version: String,
    /// Shared with the requests reading it, so a page is encoded outside the lock; a
    /// change copies the items only while a reader still holds the old ones.
    pub items: Arc<Vec<Value>>,
    history: Vec<Arc<Change>>,
}

impl LiveList {
    fn new(kind: String, api_version: String, items: Vec<Value>) -> Self {
        Self {
            kind,
            api_version,
            items: Arc::new(items),
            history: Vec::new(),
        }
    }

    /// The kind of its items (`Pod`), which built-in lists leave off their items.
    pub fn item_kind(&self) -> &str {
        self.kind.strip_suffix("List").unwrap_or(&self.kind)
    }

    fn position(&self, namespace: Option<&str>, name: &str) -> Option<usize> {
        self.items
            .iter()
            .position(|v| name_of(v) == Some(name) && namespace_of(v) == namespace)
    }

    /// The item named `name` in `namespace` (`None`: cluster-scoped).
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<&Value> {
        self.position(namespace, name).map(|i| &self.items[i])
    }
}

pub(crate) fn name_of(v: &Value) -> Option<&str> {
    v.get("metadata")?.get("name")?.as_str()
}

pub(crate) fn namespace_of(v: &Value) -> Option<&str> {
    v.get("metadata")?.get("namespace")?.as_str()
}

/// A watch waiting for the changes of one list.
struct Sink {
    wide: String,
    tx: mpsc::UnboundedSender<Arc<Change>>,
}

/// What a watch starts from, read under the lock it registered under.
pub(crate) struct Subscription {
    /// The changes after the resourceVersion it asked for, oldest first.
    pub history: Vec<Arc<Change>>,
    /// The items and resourceVersion when it registered (for `resourceVersion=0`).
    pub items: Arc<Vec<Value>>,
    pub rv: u64,
    pub item_kind: String,
    pub api_version: String,
    /// Every later change of the list; closed by [`Live::close_watches`].
    pub changes: mpsc::UnboundedReceiver<Arc<Change>>,
}

/// Resources that accept writes: the report kinds an operator writes. Their lists start
/// empty; every other list only changes through
/// [`ReplayServer::apply_event`](crate::ReplayServer::apply_event).
pub(crate) const WRITABLE: &[Writable] = &[
    Writable {
        wide: "/apis/wgpolicyk8s.io/v1alpha2/policyreports",
        kind: "PolicyReport",
        namespaced: true,
    },
    Writable {
        wide: "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports",
        kind: "ClusterPolicyReport",
        namespaced: false,
    },
    Writable {
        wide: "/apis/openreports.io/v1alpha1/reports",
        kind: "Report",
        namespaced: true,
    },
    Writable {
        wide: "/apis/openreports.io/v1alpha1/clusterreports",
        kind: "ClusterReport",
        namespaced: false,
    },
];

/// A resource that accepts writes.
pub(crate) struct Writable {
    /// Its cluster-wide list path.
    pub wide: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
}

/// `group/version` (or `v1`) of a list path: `/apis/g/v/r` or `/api/v1/r`.
pub(crate) fn api_version_of(wide: &str) -> String {
    let parts: Vec<&str> = wide.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["apis", group, version, ..] => format!("{group}/{version}"),
        ["api", version, ..] => (*version).to_owned(),
        _ => String::new(),
    }
}

/// Every list, the resourceVersion counter and the open watches.
pub(crate) struct Live {
    /// The last resourceVersion handed out: what every list reports.
    pub rv: u64,
    /// What the recorded lists report; while `rv` is still this, nothing has changed.
    recorded: u64,
    /// Watches from an older resourceVersion are answered `410 Expired`. It starts at
    /// the recorded resourceVersion: what came before it was not recorded (and the
    /// recording ended with an etcd compaction).
    pub compacted: u64,
    pub lists: HashMap<String, LiveList>,
    sinks: Vec<Sink>,
}

impl Live {
    pub fn new(recorded: HashMap<String, ListData>) -> Self {
        let rv = recorded
            .values()
            .filter_map(|l| l.resource_version.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let mut lists: HashMap<String, LiveList> = recorded
            .into_iter()
            .map(|(wide, l)| (wide, LiveList::new(l.kind, l.api_version, l.items)))
            .collect();
        for w in WRITABLE {
            lists.entry(w.wide.to_owned()).or_insert_with(|| {
                LiveList::new(
                    format!("{}List", w.kind),
                    api_version_of(w.wide),
                    Vec::new(),
                )
            });
        }
        Self {
            rv,
            recorded: rv,
            compacted: rv,
            lists,
            sinks: Vec::new(),
        }
    }

    /// Nothing changed since the recording: recorded answers are still true.
    pub fn pristine(&self) -> bool {
        self.rv == self.recorded
    }

    /// Applies one change to the list at `wide` (created if new, of the object's kind),
    /// stamped with the next resourceVersion, and hands it to the watches; returns that
    /// resourceVersion. `object` must have `metadata.name`.
    pub fn commit(&mut self, wide: &str, kind: EventKind, mut object: Value) -> u64 {
        self.rv += 1;
        let rv = self.rv;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".to_owned(), Value::String(rv.to_string()));
        }
        let namespace = namespace_of(&object).map(str::to_owned);
        let name = name_of(&object).unwrap_or_default().to_owned();
        let list = self.lists.entry(wide.to_owned()).or_insert_with(|| {
            let kind = object["kind"].as_str().unwrap_or("Unknown");
            LiveList::new(format!("{kind}List"), api_version_of(wide), Vec::new())
        });
        let at = list.position(namespace.as_deref(), &name);
        let items = Arc::make_mut(&mut list.items);
        match (kind, at) {
            (EventKind::Deleted, Some(i)) => {
                items.remove(i);
            }
            (EventKind::Deleted, None) => {}
            (_, Some(i)) => items[i] = object.clone(),
            (_, None) => items.push(object.clone()),
        }
        let change = Arc::new(Change {
            rv,
            kind,
            namespace,
            object,
        });
        list.history.push(change.clone());
        // A watch whose client went away is dropped here, at the next change.
        self.sinks
            .retain(|s| s.wide != wide || s.tx.send(change.clone()).is_ok());
        rv
    }

    /// Registers a watch of `wide` and reads what it starts from: the changes after
    /// `after`. `None` if there is no such list.
    pub fn subscribe(&mut self, wide: &str, after: u64) -> Option<Subscription> {
        let list = self.lists.get(wide)?;
        let (tx, changes) = mpsc::unbounded_channel();
        let subscription = Subscription {
            history: list
                .history
                .iter()
                .filter(|c| c.rv > after)
                .cloned()
                .collect(),
            items: list.items.clone(),
            rv: self.rv,
            item_kind: list.item_kind().to_owned(),
            api_version: list.api_version.clone(),
            changes,
        };
        self.sinks.push(Sink {
            wide: wide.to_owned(),
            tx,
        });
        Some(subscription)
    }

    /// Every resourceVersion so far becomes too old to watch from. The compaction is a
    /// revision of its own, as the API server's is (it writes its compaction key to
    /// etcd): a LIST after it reports a resourceVersion that can be watched from.
    pub fn compact(&mut self) {
        self.rv += 1;
        self.compacted = self.rv;
        for list in self.lists.values_mut() {
            list.history.clear();
        }
    }

    /// Ends every open watch: each sees its change channel close.
    pub fn close_watches(&mut self) {
        self.sinks.clear();
    }

    pub fn open_watches(&mut self) -> usize {
        self.sinks.retain(|s| !s.tx.is_closed());
        self.sinks.len()
    }
}

/// Applies a JSON merge patch (RFC 7386) to `target`: objects merge key by key, `null`
/// removes a key, anything else replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// A Status of failure, as the API server answers errors.
pub(crate) fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code})
}

/// `2026-11-05T10:04:12Z`: the API server's timestamps, in UTC to the second.
pub(crate) fn timestamp(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01, counted in 400-year eras of
/// 146 097 days whose years start on March 1st (so the leap day ends a year).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |s: u64| timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // 2000 was a leap year (divisible by 400), 2100 will not be.
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(1_793_794_652), "2026-11-04T12:17:32Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(
            &mut target,
            &json!({"a": "z", "c": {"f": null, "h": 1}, "l": [3], "n": {"x": null}}),
        );
        assert_eq!(
            target,
            json!({"a": "z", "c": {"d": "e", "h": 1}, "l": [3], "n": {}})
        );
        let mut scalar = json!("x");
        merge_patch(&mut scalar, &json!({"k": "v"}));
        assert_eq!(scalar, json!({"k": "v"}));
    }

    fn list(items: Vec<Value>) -> HashMap<String, ListData> {
        HashMap::from([(
            "/api/v1/pods".to_owned(),
            ListData {
                kind: "PodList".to_owned(),
                api_version: "v1".to_owned(),
                resource_version: "1164".to_owned(),
                items,
            },
        )])
    }

    fn pod(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}})
    }

    #[test]
    fn changes_are_stamped_upserted_and_kept_for_later_watches() {
        let mut live = Live::new(list(vec![pod("a", "p1"), pod("b", "p1")]));
        assert!(live.pristine());
        assert_eq!(live.compacted, 1164);
        assert_eq!(
            live.commit("/api/v1/pods", EventKind::Modified, pod("b", "p1")),
            1165
        );
        assert_eq!(
            live.commit("/api/v1/pods", EventKind::Added, pod("b", "p2")),
            1166
        );
        assert_eq!(
            live.commit("/api/v1/pods", EventKind::Deleted, pod("a", "p1")),
            1167
        );
        assert!(!live.pristine());
        let pods = &live.lists["/api/v1/pods"];
        let names: Vec<String> = pods
            .items
            .iter()
            .map(|p| format!("{}/{}", namespace_of(p).unwrap(), name_of(p).unwrap()))
            .collect();
        assert_eq!(names, ["b/p1", "b/p2"]);
        assert_eq!(pods.items[0]["metadata"]["resourceVersion"], "1165");
        let sub = live.subscribe("/api/v1/pods", 1165).unwrap();
        let seen: Vec<(u64, EventKind)> = sub.history.iter().map(|c| (c.rv, c.kind)).collect();
        assert_eq!(seen, [(1166, EventKind::Added), (1167, EventKind::Deleted)]);
        assert_eq!(live.open_watches(), 1);
        live.compact();
        assert_eq!((live.rv, live.compacted), (1168, 1168));
        assert!(live
            .subscribe("/api/v1/pods", 0)
            .unwrap()
            .history
            .is_empty());
        live.close_watches();
        assert_eq!(live.open_watches(), 0);
    }

    #[test]
    fn open_watches_receive_later_changes_of_their_list_only() {
        let mut live = Live::new(list(vec![]));
        let mut sub = live.subscribe("/api/v1/pods", live.rv).unwrap();
        live.commit(
            "/api/v1/secrets",
            EventKind::Added,
            json!({"kind": "Secret", "metadata": {"name": "s"}}),
        );
        live.commit("/api/v1/pods", EventKind::Added, pod("a", "p"));
        let change = sub.changes.try_recv().unwrap();
        assert_eq!((change.rv, change.kind), (1166, EventKind::Added));
        assert!(sub.changes.try_recv().is_err());
        // A list seen first in a change takes its kind from the object.
        assert_eq!(live.lists["/api/v1/secrets"].kind, "SecretList");
        drop(sub);
        assert_eq!(live.open_watches(), 0);
    }
}
