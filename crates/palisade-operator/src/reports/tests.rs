//! Reports of real scans.

use std::sync::Arc;

use palisade_engine::{scan, ScanOptions};
use palisade_inventory::{InputKind, InputSpec};
use palisade_model::ScanResult;

use super::*;

/// `pods` privileged pods in each of `namespaces` namespaces, and a ClusterRoleBinding
/// of cluster-admin.
fn scanned(namespaces: usize, pods: usize) -> ScanResult {
    let mut yaml = String::from(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ops}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n\
         subjects: [{kind: User, name: ops@example.com}]\n",
    );
    for n in 0..namespaces {
        for p in 0..pods {
            yaml.push_str(&format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{p}, namespace: ns{n}}}\nspec:\n  containers:\n  - {{name: c, image: nginx, securityContext: {{privileged: true}}}}\n"
            ));
        }
    }
    let opts = ScanOptions {
        analyses: palisade_checks::analyses(),
        ..ScanOptions::default()
    };
    let input = InputSpec {
        name: Arc::from("test.yaml"),
        kind: InputKind::Inline(yaml),
    };
    scan(&[input], &palisade_checks::registry(), &opts)
}

#[test]
fn one_report_per_namespace_and_one_for_the_cluster() {
    let result = scanned(2, 3);
    let list = reports(&result, ReportApi::Wgpolicy, DEFAULT_MAX_BYTES);
    let names: Vec<(Option<&str>, &str)> = list
        .iter()
        .map(|r| (r.namespace.as_deref(), r.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (None, "palisade-cluster"),
            (Some("ns0"), "palisade-ns0"),
            (Some("ns1"), "palisade-ns1"),
        ]
    );
    let ns0 = &list[1].object;
    assert_eq!(ns0["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(ns0["kind"], "PolicyReport");
    assert_eq!(ns0["metadata"]["namespace"], "ns0");
    let results = ns0["results"].as_array().unwrap();
    assert_eq!(
        ns0["summary"]["fail"].as_u64().unwrap() as usize,
        results.len()
    );
    // One result per check and object: the privileged pods are three results.
    let privileged: Vec<&Value> = results
        .iter()
        .filter(|r| r["policy"] == "privileged")
        .collect();
    assert_eq!(privileged.len(), 3);
    let r = privileged[0];
    assert_eq!(r["result"], "fail");
    assert_eq!(r["severity"], "critical");
    assert_eq!(r["resources"][0]["kind"], "Pod");
    assert_eq!(r["resources"][0]["namespace"], "ns0");
    assert_eq!(r["properties"]["cis"], "5.2.2");
    assert!(r["message"].as_str().unwrap().contains("privileged"));
    // The cluster's report holds the cluster-scoped binding's results.
    let cluster = &list[0].object;
    assert_eq!(cluster["kind"], "ClusterPolicyReport");
    assert!(cluster["metadata"].get("namespace").is_none());
    assert!(cluster["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["policy"] == "rbac-cluster-admin-binding"));
}

#[test]
fn the_same_findings_give_the_same_bytes() {
    let a = reports(&scanned(1, 5), ReportApi::Wgpolicy, DEFAULT_MAX_BYTES);
    let b = reports(&scanned(1, 5), ReportApi::Wgpolicy, DEFAULT_MAX_BYTES);
    assert_eq!(a, b);
    assert_eq!(a[1].digest(), b[1].digest());
    let c = reports(&scanned(1, 6), ReportApi::Wgpolicy, DEFAULT_MAX_BYTES);
    assert_ne!(a[1].digest(), c[1].digest());
}

#[test]
fn a_large_namespace_is_split_under_the_bound() {
    let result = scanned(1, 400);
    let max = 64 * 1024;
    let list = reports(&result, ReportApi::Wgpolicy, max);
    let parts: Vec<&Report> = list.iter().filter(|r| r.namespace.is_some()).collect();
    assert!(parts.len() > 3, "{} parts", parts.len());
    assert_eq!(parts[0].name, "palisade-ns0");
    assert_eq!(parts[1].name, "palisade-ns0-2");
    for p in &parts {
        assert!(p.bytes <= max, "{} is {} bytes", p.name, p.bytes);
        assert_eq!(p.bytes, serde_json::to_vec(&p.object).unwrap().len());
    }
    // Nothing lost in the split.
    let all = reports(&result, ReportApi::Wgpolicy, usize::MAX);
    let whole = all.iter().find(|r| r.namespace.is_some()).unwrap();
    let total: usize = parts
        .iter()
        .map(|p| p.object["results"].as_array().unwrap().len())
        .sum();
    assert_eq!(total, whole.object["results"].as_array().unwrap().len());
}

#[test]
fn openreports_types_carry_the_same_results() {
    let result = scanned(1, 2);
    let wg = reports(&result, ReportApi::Wgpolicy, DEFAULT_MAX_BYTES);
    let open = reports(&result, ReportApi::OpenReports, DEFAULT_MAX_BYTES);
    assert_eq!(open[0].object["kind"], "ClusterReport");
    assert_eq!(open[1].object["kind"], "Report");
    assert_eq!(open[1].object["apiVersion"], "openreports.io/v1alpha1");
    assert_eq!(open[1].object["results"], wg[1].object["results"]);
    assert_eq!(ReportApi::OpenReports.plural(true), "reports");
}

/// YAML to JSON, for the CRD files.
fn json_of(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), json_of(v)))
                .collect(),
        ),
        Yaml::Array(a) => Value::Array(a.iter().map(json_of).collect()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => serde_json::json!(i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Real(r) => serde_json::json!(r.parse::<f64>().unwrap_or(0.0)),
        _ => Value::Null,
    }
}

/// The schema of a CRD in `deploy/operator/crds/`, as JSON Schema (the OpenAPI subset
/// CRDs use is JSON Schema; the `x-kubernetes-*` keys are ignored).
fn crd_schema(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/operator/crds")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let crd = json_of(&docs[0]);
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

#[test]
fn every_report_fits_the_crds_deploy_installs() {
    let result = scanned(2, 3);
    for (api, namespaced, file) in [
        (
            ReportApi::Wgpolicy,
            true,
            "wgpolicyk8s.io_policyreports.yaml",
        ),
        (
            ReportApi::Wgpolicy,
            false,
            "wgpolicyk8s.io_clusterpolicyreports.yaml",
        ),
        (ReportApi::OpenReports, true, "openreports.io_reports.yaml"),
        (
            ReportApi::OpenReports,
            false,
            "openreports.io_clusterreports.yaml",
        ),
    ] {
        let mut schema = crd_schema(file);
        // What a structural schema prunes, JSON Schema must refuse, so a field the CRD
        // does not know is caught here rather than silently dropped by the server.
        schema["additionalProperties"] = Value::Bool(false);
        schema["properties"]["results"]["items"]["additionalProperties"] = Value::Bool(false);
        let validator = jsonschema::validator_for(&schema).unwrap();
        let list = reports(&result, api, DEFAULT_MAX_BYTES);
        let mine: Vec<&Report> = list
            .iter()
            .filter(|r| r.namespace.is_some() == namespaced)
            .collect();
        assert!(!mine.is_empty());
        for r in mine {
            let errors: Vec<String> = validator
                .iter_errors(&r.object)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{file}: {errors:?}");
            assert_eq!(r.object["kind"], api.kind(namespaced));
        }
        // And the schema can fail: a result outside the enum is refused.
        let mut bad = list[0].object.clone();
        bad["results"][0]["result"] = Value::String("bad".into());
        assert!(!validator.is_valid(&bad));
    }
}
