//! Prometheus metrics of the webhook. Labels are bounded: modes, decisions, check ids
//! and rejection reasons, never an object, user or finding.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::judge::Decision;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReviewLabels {
    mode: &'static str,
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    mode: &'static str,
    check: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Why a request was answered without a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Too many requests in flight: answered 429 at once.
    Overload,
    /// Body over the limit: 413.
    TooLarge,
    /// Not JSON: 415.
    MediaType,
    /// Not an AdmissionReview: 400.
    BadRequest,
    /// The body did not arrive in time: 408.
    Timeout,
}

impl Rejected {
    fn as_str(self) -> &'static str {
        match self {
            Rejected::Overload => "overload",
            Rejected::TooLarge => "too_large",
            Rejected::MediaType => "unsupported_media_type",
            Rejected::BadRequest => "bad_request",
            Rejected::Timeout => "timeout",
        }
    }
}

/// Every metric, and the registry that writes them out.
pub struct Metrics {
    registry: Registry,
    reviews: Family<ReviewLabels, Counter>,
    findings: Family<FindingLabels, Counter>,
    dry_runs: Counter,
    duration: Histogram,
    in_flight: Gauge,
    rejected: Family<ReasonLabels, Counter>,
    reloads: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    #[must_use]
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("palisade_admission");
        let reviews = Family::<ReviewLabels, Counter>::default();
        registry.register(
            "reviews",
            "Reviews answered, by namespace mode and decision (allowed, denied, warned, skipped)",
            reviews.clone(),
        );
        let findings = Family::<FindingLabels, Counter>::default();
        registry.register(
            "findings",
            "Findings in answered reviews, by namespace mode and check",
            findings.clone(),
        );
        let dry_runs = Counter::default();
        registry.register(
            "dry_runs",
            "Dry-run reviews: judged and answered, but not counted as decisions",
            dry_runs.clone(),
        );
        // 50 µs to about 3 s.
        let duration = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "review_duration_seconds",
            "Time from a review's body read to its answer",
            duration.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight",
            "Reviews being read or judged now",
            in_flight.clone(),
        );
        let rejected = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "rejected",
            "Requests refused before review, by reason (overload, too_large, ...)",
            rejected.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "certificate_reloads",
            "Serving-certificate reloads after a file change, by result",
            reloads.clone(),
        );
        Metrics {
            registry,
            reviews,
            findings,
            dry_runs,
            duration,
            in_flight,
            rejected,
            reloads,
        }
    }

    /// Counts an answered review.
    pub fn decided(&self, d: &Decision, seconds: f64) {
        self.duration.observe(seconds);
        if d.dry_run {
            self.dry_runs.inc();
            return;
        }
        let mode = d.mode.map_or("none", |m| m.as_str());
        let decision = if d.skipped.is_some() {
            "skipped"
        } else if !d.response.allowed {
            "denied"
        } else if !d.response.warnings.is_empty() {
            "warned"
        } else {
            "allowed"
        };
        self.reviews
            .get_or_create(&ReviewLabels { mode, decision })
            .inc();
        for f in &d.findings {
            self.findings
                .get_or_create(&FindingLabels {
                    mode,
                    check: f.check.id,
                })
                .inc();
        }
    }

    pub fn rejected(&self, why: Rejected) {
        self.rejected
            .get_or_create(&ReasonLabels {
                reason: why.as_str(),
            })
            .inc();
    }

    pub fn reloaded(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
    }

    #[must_use]
    pub fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// The Prometheus text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
