//! `netpol-exposed-not-isolated`: a NodePort or LoadBalancer Service in front of pods no
//! policy isolates for ingress.

use palisade_model::{Category, CheckMeta, Severity};
use palisade_netpol::{Direction, Model};

use super::{NetpolRule, NETPOL_DOC, NSA_NETWORK};
use crate::pss::helpers::{mitre, nsa};
use crate::rule::{report, Out};

pub static CHECK: NetpolRule = NetpolRule {
    meta: CheckMeta {
        id: "netpol-exposed-not-isolated",
        title: "Exposed workload is not isolated for ingress",
        severity: Severity::High,
        category: Category::Network,
        description: "A Service of type NodePort or LoadBalancer whose selector picks workloads of the input that no NetworkPolicy isolates for ingress. Reported at the Service's `spec.type`, naming the workloads.",
        rationale: "Traffic from outside the cluster arrives through the Service with nothing to narrow it: besides the exposed port, every port the pods listen on is reachable from every pod, and a NodePort reaches them from any address that reaches a node.",
        remediation: "Select the exposed pods with a NetworkPolicy that allows only the load balancer's or ingress controller's addresses on the service port (an `ipBlock` for the LB range, or the ingress controller's namespace).",
        references: &[NETPOL_DOC, "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"],
        mappings: &[nsa(NSA_NETWORK), mitre("T1133")],
        peers: &[],
        peer_notes: "No listed peer joins Services with policies; `service-exposed` reports the exposure itself.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, m: &Model, out: &mut Out) {
    for s in &m.services {
        // A Service without a selector has hand-managed endpoints: nothing to judge.
        if s.selector.is_empty() {
            continue;
        }
        let open: Vec<String> = m
            .workloads_in(&s.namespace)
            .filter(|&i| {
                let labels = &m.workloads[i].labels;
                s.selector.iter().all(|label| labels.contains(label))
            })
            .filter(|&i| m.isolating(i, Direction::Ingress).is_empty())
            .map(|i| m.workloads[i].display())
            .collect();
        if open.is_empty() {
            continue;
        }
        report(
            out,
            meta,
            s.origin.as_ref(),
            &s.at,
            meta.severity,
            format!(
                "{} Service {}/{} exposes {}, which no NetworkPolicy isolates for ingress",
                s.kind,
                s.namespace,
                s.name,
                open.join(", ")
            ),
        );
    }
}
