//! The network-policy benchmark: 10,000 pods in 500 namespaces and 2,000 policies.
//!
//! `netpol-generate DIR` writes one file per namespace; `netpol DIR` times reading them,
//! building the model, and computing the full connection list.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use palisade_inventory::map_objects;
use palisade_netpol::{record_of, Model};
use palisade_source::Limits;

const NAMESPACES: usize = 500;
const PODS_PER_NS: usize = 20; // 10,000 pods
const APPS: usize = 5; // pods of one app are alike: 2,500 equivalence classes

/// Writes the benchmark's namespaces, pods and policies under `dir`.
pub fn generate(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n}");
        let mut text = String::new();
        // One namespace in ten lets the monitoring namespace (ns-0) scrape it.
        let monitored = n % 10 == 0;
        let _ = write!(
            text,
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{monitored: \"{monitored}\"}}}}\n"
        );
        for p in 0..PODS_PER_NS {
            let app = p % APPS;
            let _ = write!(
                text,
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: pod-{p}, namespace: {ns}, labels: {{app: app-{app}, tier: t{}}}}}\nspec:\n  containers: [{{name: c, image: x, ports: [{{name: http, containerPort: 8080}}, {{name: db, containerPort: 5432}}]}}]\n",
                app % 2
            );
        }
        let policies = [
            "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n".to_owned(),
            "  podSelector: {matchLabels: {app: app-2}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: app-1}}}], ports: [{port: http}]}]\n".to_owned(),
            "  podSelector: {matchLabels: {app: app-3}}\n  ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: In, values: [app-2, app-4]}]}}], ports: [{port: db}]}]\n".to_owned(),
            format!(
                "  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  ingress: [{}]\n  egress:\n  - {{to: [{{podSelector: {{}}}}]}}\n  - {{to: [{{ipBlock: {{cidr: 10.0.0.0/8, except: [10.{}.0.0/16]}}}}], ports: [{{port: 443}}]}}\n{}",
                if monitored {
                    "{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ns-0}}}], ports: [{port: 9090}]}"
                } else {
                    ""
                },
                n % 256,
                if n == 0 {
                    "  - {to: [{namespaceSelector: {matchLabels: {monitored: \"true\"}}}], ports: [{port: 9090}]}\n"
                } else {
                    ""
                }
            ),
        ];
        for (i, spec) in policies.iter().enumerate() {
            let _ = write!(
                text,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: policy-{i}, namespace: {ns}}}\nspec:\n{spec}"
            );
        }
        std::fs::write(dir.join(format!("{ns}.yaml")), text)?;
    }
    println!(
        "wrote {} pods and {} policies in {NAMESPACES} namespaces to {}",
        NAMESPACES * PODS_PER_NS,
        NAMESPACES * 4,
        dir.display()
    );
    Ok(())
}

/// Times the analysis over the objects `generate` wrote.
pub fn run(dir: &Path) -> anyhow::Result<()> {
    let (inputs, errors) = palisade_inventory::discover(&[dir.to_path_buf()]);
    anyhow::ensure!(
        errors.is_empty() && !inputs.is_empty(),
        "run `netpol-generate {}` first",
        dir.display()
    );
    let t = Instant::now();
    let (records, errors) = map_objects(&inputs, &Limits::default(), &record_of);
    anyhow::ensure!(errors.is_empty(), "{:?}", errors.first());
    println!(
        "read: {} records in {:.0} ms",
        records.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let model = Model::build(records);
    println!(
        "model build: {} workloads, {} policies in {:.1} ms",
        model.workloads.len(),
        model.policies.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    for _ in 0..3 {
        let t = Instant::now();
        let connections = model.connections();
        let computed = t.elapsed();
        let lines: Vec<String> = connections.iter().map(|c| model.line(c)).collect();
        let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
        println!(
            "connections: {} lines ({:.1} MB of text) computed in {:.0} ms, written in {:.0} ms (peak RSS {:.0} MB)",
            lines.len(),
            bytes as f64 / 1e6,
            computed.as_secs_f64() * 1000.0,
            t.elapsed().saturating_sub(computed).as_secs_f64() * 1000.0,
            crate::peak_rss_mb()
        );
    }
    Ok(())
}
