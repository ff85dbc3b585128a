//! Building the report objects.

use std::collections::BTreeMap;

use palisade_model::{Finding, ScanResult};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The size bound of one report object: a quarter of etcd's default request limit, so
/// an update never comes near it.
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024;

/// Which report types to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportApi {
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport.
    Wgpolicy,
    /// `openreports.io/v1alpha1` Report and ClusterReport.
    OpenReports,
}

impl ReportApi {
    #[must_use]
    pub fn group(self) -> &'static str {
        match self {
            ReportApi::Wgpolicy => "wgpolicyk8s.io",
            ReportApi::OpenReports => "openreports.io",
        }
    }

    #[must_use]
    pub fn version(self) -> &'static str {
        match self {
            ReportApi::Wgpolicy => "v1alpha2",
            ReportApi::OpenReports => "v1alpha1",
        }
    }

    #[must_use]
    pub fn api_version(self) -> String {
        format!("{}/{}", self.group(), self.version())
    }

    /// The kind for a namespace's report, or the cluster's.
    #[must_use]
    pub fn kind(self, namespaced: bool) -> &'static str {
        match (self, namespaced) {
            (ReportApi::Wgpolicy, true) => "PolicyReport",
            (ReportApi::Wgpolicy, false) => "ClusterPolicyReport",
            (ReportApi::OpenReports, true) => "Report",
            (ReportApi::OpenReports, false) => "ClusterReport",
        }
    }

    /// The resource's plural name in API paths.
    #[must_use]
    pub fn plural(self, namespaced: bool) -> &'static str {
        match (self, namespaced) {
            (ReportApi::Wgpolicy, true) => "policyreports",
            (ReportApi::Wgpolicy, false) => "clusterpolicyreports",
            (ReportApi::OpenReports, true) => "reports",
            (ReportApi::OpenReports, false) => "clusterreports",
        }
    }
}

/// One report object, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `None` for the cluster's report.
    pub namespace: Option<String>,
    pub name: String,
    pub object: Value,
    /// Its JSON size.
    pub bytes: usize,
}

impl Report {
    /// A digest of the object's content: equal digests, nothing to write.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(serde_json::to_vec(&self.object).unwrap_or_default()).into()
    }
}

/// One result: a check that failed on an object, with every finding's message.
fn result_of(findings: &[&Finding]) -> Value {
    let f = findings[0];
    let messages: Vec<String> = findings
        .iter()
        .map(|f| f.message.text().into_owned())
        .collect();
    let mut resource = Map::new();
    resource.insert("apiVersion".into(), json!(f.object.api_version));
    resource.insert("kind".into(), json!(f.object.kind));
    if let Some(ns) = &f.object.namespace {
        resource.insert("namespace".into(), json!(ns));
    }
    resource.insert("name".into(), json!(f.object.name));
    let mut properties = Map::new();
    properties.insert("fingerprint".into(), json!(f.fingerprint.to_string()));
    if !f.path.is_empty() {
        properties.insert("path".into(), json!(f.path));
    }
    for m in f.check.mappings {
        properties.insert(m.framework.key().into(), json!(m.id));
    }
    json!({
        "source": "palisade",
        "policy": f.check.id,
        "rule": f.check.id,
        "category": f.check.category.as_str(),
        // Both report types take the same five severities.
        "severity": f.severity.as_str(),
        "result": "fail",
        "scored": true,
        "message": messages.join("; "),
        "resources": [Value::Object(resource)],
        "properties": Value::Object(properties),
    })
}

/// The report objects for `result`: per namespace, then the cluster's, each split so it
/// stays under `max_bytes`. Namespaces without findings get none: a reader sees a
/// missing report as nothing failing there.
#[must_use]
pub fn reports(result: &ScanResult, api: ReportApi, max_bytes: usize) -> Vec<Report> {
    // Namespace -> (check, object) -> findings, sorted for byte-stable output.
    type Key<'a> = (&'a str, &'a str, &'a str, &'a str);
    let mut by_ns: BTreeMap<Option<&str>, BTreeMap<Key<'_>, Vec<&Finding>>> = BTreeMap::new();
    for f in &result.findings {
        let key = (
            f.check.id,
            f.object.kind.as_str(),
            f.object.name.as_str(),
            f.object.api_version.as_str(),
        );
        by_ns
            .entry(f.object.namespace.as_deref())
            .or_default()
            .entry(key)
            .or_default()
            .push(f);
    }
    let mut out = Vec::new();
    for (namespace, results) in by_ns {
        let results: Vec<Value> = results.values().map(|fs| result_of(fs)).collect();
        let mut part: Vec<Value> = Vec::new();
        let mut part_bytes = 0usize;
        let mut index = 1;
        // What a report holds besides its results, with room to spare.
        let overhead = 600;
        for r in results {
            let size = serde_json::to_vec(&r).map_or(0, |b| b.len()) + 1;
            if !part.is_empty() && overhead + part_bytes + size > max_bytes {
                out.push(report(api, namespace, index, std::mem::take(&mut part)));
                part_bytes = 0;
                index += 1;
            }
            part_bytes += size;
            part.push(r);
        }
        if !part.is_empty() {
            out.push(report(api, namespace, index, part));
        }
    }
    out
}

fn report(api: ReportApi, namespace: Option<&str>, index: usize, results: Vec<Value>) -> Report {
    let base = match namespace {
        Some(ns) => format!("palisade-{ns}"),
        None => "palisade-cluster".to_owned(),
    };
    let name = if index == 1 {
        base
    } else {
        format!("{base}-{index}")
    };
    let mut metadata = json!({
        "name": name,
        "labels": {"app.kubernetes.io/managed-by": "palisade"},
    });
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    let object = json!({
        "apiVersion": api.api_version(),
        "kind": api.kind(namespace.is_some()),
        "metadata": metadata,
        "summary": {"pass": 0, "fail": results.len(), "warn": 0, "error": 0, "skip": 0},
        "results": results,
    });
    let bytes = serde_json::to_vec(&object).map_or(0, |b| b.len());
    Report {
        namespace: namespace.map(str::to_owned),
        name,
        object,
        bytes,
    }
}

#[cfg(test)]
mod tests;
