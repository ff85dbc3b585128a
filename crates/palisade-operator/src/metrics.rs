//! `/metrics` in Prometheus' text format. Labels are bounded: severities, check ids and
//! namespaces, never an object or a finding.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use palisade_model::ScanResult;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::inventory::Evaluated;
use crate::Report;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabel {
    severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabel {
    check: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabel {
    namespace: String,
}

/// The operator's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    objects: Gauge,
    resources: Gauge,
    by_severity: Family<SeverityLabel, Gauge>,
    by_check: Family<CheckLabel, Gauge>,
    by_namespace: Family<NamespaceLabel, Gauge>,
    evaluation: Histogram,
    lag: Histogram,
    evaluated_objects: Counter,
    analyses: Counter,
    reports: Gauge,
    report_bytes: Gauge,
    written: Counter,
    deleted: Counter,
    watch_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    #[must_use]
    pub fn new() -> Metrics {
        let m = Metrics {
            registry: Mutex::new(Registry::with_prefix("palisade")),
            objects: Gauge::default(),
            resources: Gauge::default(),
            by_severity: Family::default(),
            by_check: Family::default(),
            by_namespace: Family::default(),
            evaluation: Histogram::new(exponential_buckets(0.001, 4.0, 10)),
            lag: Histogram::new(exponential_buckets(0.01, 4.0, 10)),
            evaluated_objects: Counter::default(),
            analyses: Counter::default(),
            reports: Gauge::default(),
            report_bytes: Gauge::default(),
            written: Counter::default(),
            deleted: Counter::default(),
            watch_errors: Counter::default(),
        };
        {
            let mut r = m.registry.lock().expect("fresh");
            r.register(
                "objects_watched",
                "Objects in the watched inventory",
                m.objects.clone(),
            );
            r.register(
                "resources_watched",
                "Resource kinds watched",
                m.resources.clone(),
            );
            r.register(
                "findings",
                "Open findings by severity",
                m.by_severity.clone(),
            );
            r.register(
                "findings_by_check",
                "Open findings by check",
                m.by_check.clone(),
            );
            r.register(
                "findings_by_namespace",
                "Open findings by namespace (empty: cluster-scoped)",
                m.by_namespace.clone(),
            );
            r.register(
                "evaluation_seconds",
                "Time to judge what changed and build the reports",
                m.evaluation.clone(),
            );
            r.register(
                "watch_lag_seconds",
                "From the first change seen to its reports being written",
                m.lag.clone(),
            );
            r.register(
                "objects_evaluated",
                "Objects judged again",
                m.evaluated_objects.clone(),
            );
            r.register(
                "analyses",
                "Runs of the cross-object analyses",
                m.analyses.clone(),
            );
            r.register("reports", "Report objects", m.reports.clone());
            r.register(
                "report_bytes",
                "Bytes of all report objects",
                m.report_bytes.clone(),
            );
            r.register(
                "reports_written",
                "Report objects written (created or changed)",
                m.written.clone(),
            );
            r.register(
                "reports_deleted",
                "Report objects deleted",
                m.deleted.clone(),
            );
            r.register(
                "watch_errors",
                "Watch errors (each retried)",
                m.watch_errors.clone(),
            );
        }
        m
    }

    pub fn set_objects(&self, n: usize) {
        self.objects.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn set_watched_resources(&self, n: usize) {
        self.resources.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn watch_error(&self) {
        self.watch_errors.inc();
    }

    #[allow(clippy::too_many_arguments)]
    pub fn evaluated(
        &self,
        result: &ScanResult,
        evaluated: Evaluated,
        took: Duration,
        lag: Duration,
        written: usize,
        deleted: usize,
        reports: &[Report],
    ) {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let mut severity: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut check: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut namespace: BTreeMap<String, usize> = BTreeMap::new();
        for f in &result.findings {
            *severity.entry(f.severity.as_str()).or_default() += 1;
            *check.entry(f.check.id).or_default() += 1;
            *namespace
                .entry(f.object.namespace.clone().unwrap_or_default())
                .or_default() += 1;
        }
        // Gone labels go: a fixed check or a deleted namespace leaves no stale series.
        self.by_severity.clear();
        self.by_check.clear();
        self.by_namespace.clear();
        for s in palisade_model::Severity::ALL {
            self.by_severity
                .get_or_create(&SeverityLabel {
                    severity: s.as_str(),
                })
                .set(count(severity.get(s.as_str()).copied().unwrap_or(0)));
        }
        for (c, n) in check {
            self.by_check
                .get_or_create(&CheckLabel { check: c })
                .set(count(n));
        }
        for (ns, n) in namespace {
            self.by_namespace
                .get_or_create(&NamespaceLabel { namespace: ns })
                .set(count(n));
        }
        self.evaluation.observe(took.as_secs_f64());
        self.lag.observe(lag.as_secs_f64());
        self.evaluated_objects.inc_by(evaluated.objects as u64);
        if evaluated.analyses {
            self.analyses.inc();
        }
        self.reports.set(count(reports.len()));
        self.report_bytes
            .set(count(reports.iter().map(|r| r.bytes).sum()));
        self.written.inc_by(written as u64);
        self.deleted.inc_by(deleted as u64);
    }

    /// The text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Ok(r) = self.registry.lock() {
            let _ = encode(&mut text, &r);
        }
        text
    }
}

/// Serves `/metrics` on `addr` (plain HTTP, as Prometheus scrapes in-cluster); returns
/// the bound address. The server lives as long as the runtime.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<SocketAddr, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %bound, "metrics on /metrics");
    // Each connection a task; a slow client cannot hold the others.
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let metrics = metrics.clone();
                        async move {
                            let response = if req.uri().path() == "/metrics" {
                                Response::builder()
                                    .header(
                                        "Content-Type",
                                        "text/plain; version=0.0.4; charset=utf-8",
                                    )
                                    .body(Full::new(Bytes::from(metrics.render())))
                            } else {
                                Response::builder()
                                    .status(404)
                                    .body(Full::new(Bytes::from_static(b"not found\n")))
                            };
                            Ok::<_, std::convert::Infallible>(
                                response.unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))),
                            )
                        }
                    });
                let _ = tokio::time::timeout(
                    Duration::from_secs(30),
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service),
                )
                .await;
            });
        }
    });
    Ok(bound)
}
