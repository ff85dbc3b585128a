//! `palisade audit serve`: the API server's audit webhook backend.
//!
//! The API server POSTs an `EventList` per batch (`--audit-webhook-config-file`, a
//! kubeconfig naming this server). Each batch is checked, written to the spool one event
//! per line and made durable (`fdatasync`) before it is acknowledged; batches that
//! arrive together share one sync. The detection loop ([`crate::watch`]) reads the
//! spool like a log file, so a crash at any point loses no acknowledged event, and an
//! unacknowledged batch, sent again, is reported once (its events' auditID and stage).
//!
//! The spool is bounded. When it is full (the output is slower than the API server),
//! `--when-full reject` answers 429 with `Retry-After` (the webhook backend retries
//! with backoff, then drops the batch and counts it in `apiserver_audit_error_total`),
//! `--when-full drop` acknowledges and drops it here; either way the events shed are
//! counted in `/metrics`.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use palisade_https::tls::ReloadingCert;
use palisade_https::{
    accept_loop, bind, closing, discard, is_json, read_limited, server_tls, text, ServerThread,
};
use palisade_https::{Body, Peer};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::{oneshot, Semaphore};

use crate::spool::{SpoolGauge, SpoolWriter};
use crate::watch::Progress;

/// What to do with a batch when the spool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Answer 429: the sender keeps the batch and retries (backpressure).
    Reject,
    /// Acknowledge and drop the batch: the sender is never held up.
    Drop,
}

impl WhenFull {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WhenFull::Reject => "reject",
            WhenFull::Drop => "drop",
        }
    }
}

/// How the webhook backend listens and what it bounds.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Batches are accepted only from clients with a certificate this CA signed.
    pub client_ca: Option<PathBuf>,
    pub spool: PathBuf,
    /// Largest batch (the API server's `--audit-webhook-truncate-max-batch-size`
    /// defaults to 10 MB).
    pub max_body: usize,
    /// Most unread bytes in the spool before [`WhenFull`] applies.
    pub max_spool: u64,
    pub segment_bytes: u64,
    pub when_full: WhenFull,
    /// Most batches read or waiting for the disk at once; more get 429.
    pub max_in_flight: usize,
    pub read_timeout: Duration,
}

impl ServeConfig {
    #[must_use]
    pub fn new(listen: SocketAddr, cert: PathBuf, key: PathBuf, spool: PathBuf) -> ServeConfig {
        ServeConfig {
            listen,
            cert,
            key,
            client_ca: None,
            spool,
            max_body: 16 << 20,
            max_spool: 1 << 30,
            segment_bytes: 64 << 20,
            when_full: WhenFull::Reject,
            max_in_flight: 64,
            read_timeout: Duration::from_secs(10),
        }
    }
}

/// Counters of the server and the detection loop, rendered for `/metrics`.
#[derive(Debug, Default)]
struct Counts {
    batches: AtomicU64,
    events_received: AtomicU64,
    events_spooled: AtomicU64,
    events_shed: AtomicU64,
    batches_rejected_full: AtomicU64,
    batches_invalid: AtomicU64,
    batches_unauthenticated: AtomicU64,
    batches_overload: AtomicU64,
    spool_errors: AtomicU64,
}

#[derive(Debug)]
struct Exported {
    counts: Arc<Counts>,
    gauge: Arc<SpoolGauge>,
    progress: Arc<Progress>,
    max_spool: u64,
    when_full: WhenFull,
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> std::fmt::Result {
    let c = ConstCounter::new(value);
    c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: i64,
) -> std::fmt::Result {
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for Exported {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> std::fmt::Result {
        let c = &self.counts;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let p = &self.progress;
        counter(
            &mut e,
            "palisade_audit_batches",
            "EventList batches accepted (spooled or shed)",
            get(&c.batches),
        )?;
        counter(
            &mut e,
            "palisade_audit_events_received",
            "Events in batches that were read and valid",
            get(&c.events_received),
        )?;
        counter(
            &mut e,
            "palisade_audit_events_spooled",
            "Events made durable in the spool and acknowledged",
            get(&c.events_spooled),
        )?;
        counter(
            &mut e,
            "palisade_audit_events_shed",
            &format!(
                "Events not spooled because the spool was full (policy {}: {})",
                self.when_full.as_str(),
                match self.when_full {
                    WhenFull::Reject => "answered 429, the sender retries then drops",
                    WhenFull::Drop => "acknowledged and dropped here",
                }
            ),
            get(&c.events_shed),
        )?;
        counter(
            &mut e,
            "palisade_audit_batches_rejected_full",
            "Batches answered 429 because the spool was full",
            get(&c.batches_rejected_full),
        )?;
        counter(
            &mut e,
            "palisade_audit_batches_invalid",
            "Batches refused as no EventList (400, 413, 415)",
            get(&c.batches_invalid),
        )?;
        counter(
            &mut e,
            "palisade_audit_batches_unauthenticated",
            "Batches refused for want of a verified client certificate",
            get(&c.batches_unauthenticated),
        )?;
        counter(
            &mut e,
            "palisade_audit_batches_overload",
            "Batches answered 429 because too many were in flight",
            get(&c.batches_overload),
        )?;
        counter(
            &mut e,
            "palisade_audit_spool_errors",
            "Spool writes or syncs that failed (answered 500)",
            get(&c.spool_errors),
        )?;
        gauge(
            &mut e,
            "palisade_audit_spool_backlog_bytes",
            "Spooled bytes not yet read by the detection loop",
            i64::try_from(self.gauge.backlog()).unwrap_or(i64::MAX),
        )?;
        gauge(
            &mut e,
            "palisade_audit_spool_limit_bytes",
            "The spool's bound (--max-spool-mb)",
            i64::try_from(self.max_spool).unwrap_or(i64::MAX),
        )?;
        counter(
            &mut e,
            "palisade_audit_events_processed",
            "Events matched against the rules",
            get(&p.events),
        )?;
        counter(
            &mut e,
            "palisade_audit_detections",
            "Detections written",
            get(&p.detections),
        )?;
        counter(
            &mut e,
            "palisade_audit_duplicate_events",
            "Events with detections delivered again and passed over",
            get(&p.duplicates),
        )?;
        counter(
            &mut e,
            "palisade_audit_bad_lines",
            "Spooled or logged lines that were no audit event",
            get(&p.bad_lines),
        )?;
        counter(
            &mut e,
            "palisade_audit_checkpoints",
            "Output and checkpoint made durable",
            get(&p.checkpoints),
        )?;
        Ok(())
    }
}

/// A batch on its way to the spool.
struct Batch {
    lines: Vec<u8>,
    events: u64,
    done: oneshot::Sender<Spooled>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spooled {
    Durable,
    Shed,
    Full,
    Failed,
}

struct State {
    config: ServeConfig,
    counts: Arc<Counts>,
    registry: Registry,
    to_spool: mpsc::Sender<Batch>,
    slots: Arc<Semaphore>,
}

/// The webhook backend running on threads of its own.
pub struct AuditServer {
    pub addr: SocketAddr,
    /// The spool's fill, which the detection loop reading the spool keeps current.
    pub gauge: Arc<SpoolGauge>,
    thread: ServerThread,
}

impl AuditServer {
    /// Stops accepting and returns once the server and the spool writer have ended.
    pub fn stop(mut self) {
        self.thread.stop();
    }
}

/// Opens the spool, binds `config.listen` and serves on threads of their own;
/// `progress` (the detection loop's) is shown in `/metrics`.
///
/// # Errors
/// The certificate, client CA or spool cannot be used, or the address cannot be bound.
pub fn start(config: ServeConfig, progress: Arc<Progress>) -> Result<AuditServer, String> {
    let certs = Arc::new(ReloadingCert::new(&config.cert, &config.key)?);
    let tls = server_tls(certs, config.client_ca.as_deref())?;
    let writer = SpoolWriter::open(&config.spool, config.segment_bytes)
        .map_err(|e| format!("spool {}: {e}", config.spool.display()))?;
    let spool_gauge = writer.gauge();
    let (listener, addr) = bind(config.listen)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;

    let counts = Arc::new(Counts::default());
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exported {
        counts: counts.clone(),
        gauge: spool_gauge.clone(),
        progress,
        max_spool: config.max_spool,
        when_full: config.when_full,
    }));
    let sync_seconds = Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    ]);
    registry.register(
        "palisade_audit_spool_sync_seconds",
        "Time to make a group of batches durable",
        sync_seconds.clone(),
    );
    let (to_spool, from_handlers) = mpsc::channel();
    let writer_thread = {
        let counts = counts.clone();
        let (max, when_full) = (config.max_spool, config.when_full);
        std::thread::Builder::new()
            .name("palisade-audit-spool".into())
            .spawn(move || {
                spool_writer(
                    writer,
                    &from_handlers,
                    &counts,
                    &sync_seconds,
                    max,
                    when_full,
                );
            })
            .map_err(|e| format!("cannot start the spool writer: {e}"))?
    };
    let state = Arc::new(State {
        slots: Arc::new(Semaphore::new(config.max_in_flight)),
        config,
        counts,
        registry,
        to_spool,
    });
    let thread = ServerThread::spawn("palisade-audit-serve", move |rx| {
        let timeout = state.config.read_timeout;
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen");
                    return;
                }
            };
            let handler = move |req, peer| {
                let state = state.clone();
                async move { handle(&state, req, peer).await }
            };
            accept_loop(listener, tls, timeout, rx, handler).await;
        });
        // The handlers (and their senders) are gone with the runtime: the writer
        // finishes what it has and ends.
        drop(runtime);
        let _ = writer_thread.join();
    })?;
    Ok(AuditServer {
        addr,
        gauge: spool_gauge,
        thread,
    })
}

/// Appends batches to the spool, a group of waiting ones per sync, and answers each.
fn spool_writer(
    mut writer: SpoolWriter,
    batches: &mpsc::Receiver<Batch>,
    counts: &Counts,
    sync_seconds: &Histogram,
    max_spool: u64,
    when_full: WhenFull,
) {
    let gauge = writer.gauge();
    while let Ok(first) = batches.recv() {
        let mut group = vec![first];
        while group.len() < 256 {
            match batches.try_recv() {
                Ok(b) => group.push(b),
                Err(_) => break,
            }
        }
        let mut written = Vec::with_capacity(group.len());
        let mut failed = false;
        for batch in group {
            if gauge.backlog() + batch.lines.len() as u64 > max_spool {
                counts
                    .events_shed
                    .fetch_add(batch.events, Ordering::Relaxed);
                let _ = batch.done.send(match when_full {
                    WhenFull::Reject => Spooled::Full,
                    WhenFull::Drop => Spooled::Shed,
                });
                continue;
            }
            if failed {
                let _ = batch.done.send(Spooled::Failed);
                continue;
            }
            match writer.append(&batch.lines) {
                Ok(()) => written.push(batch),
                Err(e) => {
                    tracing::error!(error = %e, "cannot write to the spool");
                    failed = true;
                    let _ = batch.done.send(Spooled::Failed);
                }
            }
        }
        if written.is_empty() && !failed {
            continue;
        }
        let started = Instant::now();
        let synced = if failed {
            Err(std::io::Error::other("a write failed"))
        } else {
            writer.sync()
        };
        sync_seconds.observe(started.elapsed().as_secs_f64());
        if let Err(e) = &synced {
            tracing::error!(error = %e, "cannot make the spool durable");
            counts.spool_errors.fetch_add(1, Ordering::Relaxed);
            // What was written may end in part of a line: it stays at the end of a
            // final segment, and the next batch starts a new one.
            if let Err(e) = writer.start_segment() {
                tracing::error!(error = %e, "cannot start a new spool segment");
            }
        }
        for batch in written {
            if synced.is_ok() {
                counts
                    .events_spooled
                    .fetch_add(batch.events, Ordering::Relaxed);
            }
            let _ = batch.done.send(if synced.is_ok() {
                Spooled::Durable
            } else {
                Spooled::Failed
            });
        }
    }
}

/// An error answer as a `metav1.Status`, which the API server's client reads (its
/// reason decides whether the webhook backend retries).
fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": if code.is_success() { "Success" } else { "Failure" },
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    let mut r = text(code, body.to_string());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if code == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

async fn handle(state: &Arc<State>, req: Request<Incoming>, peer: Peer) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/" | "/audit") => receive(state, req, peer).await,
        (&Method::GET, "/healthz" | "/readyz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/metrics") => {
            let mut out = String::new();
            if prometheus_client::encoding::text::encode(&mut out, &state.registry).is_err() {
                return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot render metrics\n");
            }
            let mut r = text(StatusCode::OK, out);
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        (_, "/" | "/audit" | "/healthz" | "/readyz" | "/metrics") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

async fn receive(state: &Arc<State>, req: Request<Incoming>, peer: Peer) -> Response<Body> {
    let counts = &state.counts;
    let max = state.config.max_body;
    if state.config.client_ca.is_some() && !peer.verified_client {
        counts
            .batches_unauthenticated
            .fetch_add(1, Ordering::Relaxed);
        discard(req.into_body(), max);
        return closing(status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "a client certificate signed by the configured CA is required",
        ));
    }
    // Claimed before anything is read: an overloaded server answers at once.
    let Ok(_slot) = state.slots.clone().try_acquire_owned() else {
        counts.batches_overload.fetch_add(1, Ordering::Relaxed);
        discard(req.into_body(), max);
        return closing(status(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "too many batches in flight",
        ));
    };
    let invalid = |code, reason, message: &str| {
        counts.batches_invalid.fetch_add(1, Ordering::Relaxed);
        status(code, reason, message)
    };
    if !is_json(req.headers()) {
        discard(req.into_body(), max);
        return closing(invalid(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "an EventList is sent as application/json",
        ));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = format!("the batch is over {max} bytes");
    if declared.is_some_and(|n| n > max as u64) {
        discard(req.into_body(), max);
        return closing(invalid(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &too_large,
        ));
    }
    let body = match tokio::time::timeout(
        state.config.read_timeout,
        read_limited(req.into_body(), max),
    )
    .await
    {
        Ok(Ok(Ok(b))) => b,
        Ok(Ok(Err(rest))) => {
            discard(rest, max);
            return closing(invalid(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &too_large,
            ));
        }
        Ok(Err(e)) => {
            return invalid(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("cannot read the body: {e}"),
            );
        }
        Err(_) => {
            return invalid(
                StatusCode::REQUEST_TIMEOUT,
                "Timeout",
                "the batch did not arrive in time",
            );
        }
    };
    let (lines, events) = match spool_lines(&body) {
        Ok(x) => x,
        Err(e) => return invalid(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    counts.events_received.fetch_add(events, Ordering::Relaxed);
    let (done, answer) = oneshot::channel();
    if state
        .to_spool
        .send(Batch {
            lines,
            events,
            done,
        })
        .is_err()
    {
        return status(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "shutting down",
        );
    }
    match answer.await {
        Ok(Spooled::Durable | Spooled::Shed) => {
            counts.batches.fetch_add(1, Ordering::Relaxed);
            status(StatusCode::OK, "", "")
        }
        Ok(Spooled::Full) => {
            counts.batches_rejected_full.fetch_add(1, Ordering::Relaxed);
            status(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "the spool is full",
            )
        }
        Ok(Spooled::Failed) | Err(_) => status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "the batch could not be made durable",
        ),
    }
}

#[derive(Deserialize)]
struct EventList<'a> {
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

/// The spool lines of an `EventList` body (one compact event per line) and how many.
///
/// # Errors
/// The body is not an `EventList` of JSON objects.
pub fn spool_lines(body: &[u8]) -> Result<(Vec<u8>, u64), String> {
    let list: EventList<'_> =
        serde_json::from_slice(body).map_err(|e| format!("not an EventList: {e}"))?;
    if list.kind.as_deref().is_some_and(|k| k != "EventList") {
        return Err(format!(
            "not an EventList: kind {}",
            list.kind.unwrap_or_default()
        ));
    }
    let items = list.items.unwrap_or_default();
    let mut lines = Vec::with_capacity(body.len() + items.len());
    for (i, item) in items.iter().enumerate() {
        let raw = item.get().as_bytes();
        if raw.first() != Some(&b'{') {
            return Err(format!("item {i} is not a JSON object"));
        }
        // Outside strings only: a JSON string holds no raw line break.
        lines.extend(raw.iter().map(|b| match b {
            b'\n' | b'\r' => b' ',
            b => *b,
        }));
        lines.push(b'\n');
    }
    Ok((lines, items.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_list_becomes_one_line_per_event() {
        let body = b"{\"kind\":\"EventList\",\"items\":[\n  {\"auditID\": \"a\",\n \"verb\":\"get\"},{\"auditID\":\"b\",\"x\":\"line\\nbreak\"}]}";
        let (lines, n) = spool_lines(body).unwrap();
        assert_eq!(n, 2);
        let text = String::from_utf8(lines).unwrap();
        let got: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["verb"], "get");
        assert_eq!(got[1]["x"], "line\nbreak", "escapes are kept");
        assert_eq!(spool_lines(b"{\"kind\":\"EventList\"}").unwrap().1, 0);
        assert!(spool_lines(b"{\"kind\":\"Event\"}")
            .unwrap_err()
            .contains("kind Event"));
        assert!(spool_lines(b"[]").is_err());
        assert!(spool_lines(b"{\"items\":[\"x\"]}").is_err());
    }
}
