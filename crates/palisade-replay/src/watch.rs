//! Watch streams: a GET of a list path with `watch=true`, answered as the API server
//! answers it.
//!
//! The answer is `200` with a chunked body of newline-delimited events
//! (`{"type":"ADDED","object":{...}}`). From `resourceVersion=R` it first replays the
//! list's changes after `R`; from none (or `0`) it first sends every current item as
//! `ADDED`. Then each change as it is committed, `BOOKMARK`s about once a second while
//! idle if asked (`allowWatchBookmarks=true`), until `timeoutSeconds` or
//! [`ReplayServer::close_watches`](crate::ReplayServer::close_watches) end it cleanly. A
//! resourceVersion older than the last compaction is answered with one `ERROR` event
//! (`410 Expired`), which is what makes a client list again.
//!
//! Each watch is a task on the server's runtime feeding the response body through a
//! channel; it gets the changes of its list through a channel of its own, registered
//! under the lock the changes are committed under (see [`crate::live`]).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame};
use hyper::Response;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::live::{self, Change, Subscription};
use crate::server::{
    as_served, item, item_value, list_len, namespace_of, page_not_found, query_param, respond,
    respond_status, Body, Call, State, Target,
};

/// How long a watch lasts without `timeoutSeconds`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// How often an idle watch that asked for them gets a bookmark.
const BOOKMARK_PERIOD: Duration = Duration::from_secs(1);
/// Initial events are sent in chunks of about this size rather than one by one.
const CHUNK: usize = 64 * 1024;
/// The annotation of the bookmark that ends the initial events of a streaming list.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// What a watch request asked for.
struct Watch {
    state: Arc<State>,
    wide: String,
    namespace: Option<String>,
    metadata_only: bool,
    /// Every current item as `ADDED` first (no resourceVersion, `0`, or
    /// `sendInitialEvents=true`).
    initial_items: bool,
    /// A bookmark marks the end of the initial items (`sendInitialEvents=true`).
    initial_events_end: bool,
    bookmarks: bool,
    timeout: Duration,
}

/// Answers a watch of the list `target` names.
pub(crate) fn serve(state: &Arc<State>, target: &Target, call: &Call) -> Response<Body> {
    let query = &call.info.query;
    let from = match query_param(query, "resourceVersion").as_deref() {
        None | Some("" | "0") => None,
        Some(rv) => match rv.parse::<u64>() {
            Ok(rv) => Some(rv),
            Err(_) => {
                return respond_status(
                    400,
                    "BadRequest",
                    &format!("invalid resource version: {rv:?}"),
                )
            }
        },
    };
    // As the API server, `0` is no timeout given.
    let timeout = match query_param(query, "timeoutSeconds") {
        None => DEFAULT_TIMEOUT,
        Some(s) => match s.parse::<u64>() {
            Ok(0) => DEFAULT_TIMEOUT,
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => {
                return respond_status(400, "BadRequest", &format!("invalid timeoutSeconds: {s:?}"))
            }
        },
    };
    let initial_events_end = query_param(query, "sendInitialEvents").as_deref() == Some("true");
    let watch = Watch {
        state: state.clone(),
        wide: target.wide.clone(),
        namespace: target.namespace.clone(),
        metadata_only: call.info.metadata_only,
        initial_items: from.is_none() || initial_events_end,
        initial_events_end,
        bookmarks: query_param(query, "allowWatchBookmarks").as_deref() == Some("true"),
        timeout,
    };
    let subscription = {
        let mut live = state.live();
        let after = match from {
            Some(rv) if !watch.initial_items => {
                if rv < live.compacted {
                    let compacted = live.compacted;
                    drop(live);
                    return expired(rv, compacted);
                }
                rv
            }
            // The current items stand for everything until now.
            _ => live.rv,
        };
        live.subscribe(&target.wide, after)
    };
    let Some(subscription) = subscription else {
        return page_not_found();
    };
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(run(watch, subscription, tx));
    Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .body(EventStream(rx).boxed())
        .unwrap_or_else(|_| Response::new(EventStream(mpsc::channel(1).1).boxed()))
}

/// The one event of a watch from a compacted resourceVersion.
fn expired(rv: u64, compacted: u64) -> Response<Body> {
    let status = live::status(
        410,
        "Expired",
        &format!("too old resource version: {rv} ({compacted})"),
    );
    respond(200, "application/json", event_line("ERROR", &status))
}

/// `{"type":TYPE,"object":OBJECT}` and a newline.
fn event_line(kind: &str, object: &Value) -> Vec<u8> {
    let mut line = format!("{{\"type\":\"{kind}\",\"object\":").into_bytes();
    line.extend(serde_json::to_vec(object).unwrap_or_default());
    line.extend_from_slice(b"}\n");
    line
}

/// The response body: chunks from the watch's task, ending when the task drops its
/// sender.
struct EventStream(mpsc::Receiver<Bytes>);

impl hyper::body::Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

/// Events on their way to the body, gathered into chunks.
struct Out {
    tx: mpsc::Sender<Bytes>,
    buffer: Vec<u8>,
}

impl Out {
    /// `false` once the client is gone.
    async fn push(&mut self, line: Vec<u8>) -> bool {
        self.buffer.extend(line);
        self.buffer.len() < CHUNK || self.flush().await
    }

    async fn flush(&mut self) -> bool {
        if self.buffer.is_empty() {
            return true;
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.tx.send(chunk).await.is_ok()
    }
}

impl Watch {
    fn wants(&self, change: &Change) -> bool {
        self.namespace.is_none() || change.namespace == self.namespace
    }

    fn change_line(&self, change: &Change, subscription: &Subscription) -> Vec<u8> {
        let object = as_served(
            change.object.clone(),
            &subscription.item_kind,
            &subscription.api_version,
            self.metadata_only,
        );
        event_line(change.kind.as_str(), &object)
    }

    fn bookmark_line(&self, rv: u64, subscription: &Subscription, end: bool) -> Vec<u8> {
        let (kind, api_version) = if self.metadata_only {
            ("PartialObjectMetadata", "meta.k8s.io/v1")
        } else {
            (
                subscription.item_kind.as_str(),
                subscription.api_version.as_str(),
            )
        };
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if end {
            metadata["annotations"] = json!({INITIAL_EVENTS_END: "true"});
        }
        event_line(
            "BOOKMARK",
            &json!({"kind": kind, "apiVersion": api_version, "metadata": metadata}),
        )
    }

    /// What the watch starts with: the current items, or the changes it missed.
    async fn send_initial(&self, subscription: &Subscription, out: &mut Out) -> bool {
        if self.initial_items {
            let items = &subscription.items;
            for i in 0..list_len(&self.state, &self.wide, items) {
                let Some(it) = item(&self.state, &self.wide, items, i) else {
                    continue;
                };
                if self.namespace.is_some() && namespace_of(&it) != self.namespace {
                    continue;
                }
                let object = as_served(
                    item_value(&self.state, &it),
                    &subscription.item_kind,
                    &subscription.api_version,
                    self.metadata_only,
                );
                if !out.push(event_line("ADDED", &object)).await {
                    return false;
                }
            }
            if self.initial_events_end {
                let line = self.bookmark_line(subscription.rv, subscription, true);
                if !out.push(line).await {
                    return false;
                }
            }
        }
        for change in subscription.history.iter().filter(|c| self.wants(c)) {
            if !out.push(self.change_line(change, subscription)).await {
                return false;
            }
        }
        out.flush().await
    }
}

/// Streams one watch until its timeout, [`crate::live::Live::close_watches`], or its
/// client leaving.
async fn run(watch: Watch, mut subscription: Subscription, tx: mpsc::Sender<Bytes>) {
    let mut out = Out {
        tx,
        buffer: Vec::new(),
    };
    if !watch.send_initial(&subscription, &mut out).await {
        return;
    }
    let deadline = tokio::time::sleep(watch.timeout);
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + BOOKMARK_PERIOD,
        BOOKMARK_PERIOD,
    );
    loop {
        tokio::select! {
            change = subscription.changes.recv() => {
                let Some(change) = change else {
                    break; // closed by the test
                };
                if watch.wants(&change) {
                    if !out.push(watch.change_line(&change, &subscription)).await
                        || !out.flush().await
                    {
                        break;
                    }
                    ticker.reset();
                }
            }
            _ = ticker.tick(), if watch.bookmarks => {
                // The changes already committed go first: a bookmark says every change
                // until its resourceVersion was sent, and all of them are in the channel
                // while the lock is held.
                let (pending, rv) = {
                    let live = watch.state.live();
                    let mut pending = Vec::new();
                    while let Ok(change) = subscription.changes.try_recv() {
                        pending.push(change);
                    }
                    (pending, live.rv)
                };
                let mut sent = true;
                for change in pending.iter().filter(|c| watch.wants(c)) {
                    sent = sent && out.push(watch.change_line(change, &subscription)).await;
                }
                let bookmark = watch.bookmark_line(rv, &subscription, false);
                if !sent || !out.push(bookmark).await || !out.flush().await {
                    break;
                }
            }
            () = &mut deadline => break,
            () = out.tx.closed() => break,
        }
    }
    // Unregistered before the body ends, so a client that saw the end finds the watch
    // no longer counted open.
    drop(subscription);
    drop(out);
}
