//! `netpol-egress-metadata`: egress allowed to the cloud metadata address.

use std::net::{IpAddr, Ipv4Addr};

use palisade_model::{Category, CheckMeta, Severity};
use palisade_netpol::{Endpoint, Model, Protocol};

use super::{NetpolRule, NETPOL_DOC, NSA_NETWORK};
use crate::pss::helpers::{mitre, nsa};
use crate::rule::{report, Out};

/// The link-local address of the cloud providers' instance metadata services.
const METADATA: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));

pub static CHECK: NetpolRule = NetpolRule {
    meta: CheckMeta {
        id: "netpol-egress-metadata",
        title: "Egress to the cloud metadata address is allowed",
        severity: Severity::Medium,
        category: Category::Network,
        description: "An egress rule whose destinations include 169.254.169.254 (no `to`, or an `ipBlock` containing it and not excepting it) on TCP port 80 (no `ports`, or a port entry covering it).",
        rationale: "The instance metadata service hands out the node's cloud credentials; a pod that reaches it can act as the node in the cloud account (the path of many cluster breaches). Egress policies are the place to close it.",
        remediation: "Add `except: [169.254.169.254/32]` to broad egress ipBlocks (for example `0.0.0.0/0`), and do not use rules without `to`. Where the provider offers it, also block metadata access for pods at the node (GKE Workload Identity, EKS IMDSv2 with hop limit 1).",
        references: &[NETPOL_DOC, "https://kubernetes.io/docs/concepts/security/security-checklist/#network-security"],
        mappings: &[nsa(NSA_NETWORK), mitre("T1552.005")],
        peers: &[],
        peer_notes: "No listed peer checks policies for the metadata address; Kyverno's sample policies restrict it by generating egress policies.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, m: &Model, out: &mut Out) {
    for policy in m.policies.iter().filter(|p| p.egress_type) {
        for (i, rule) in policy.egress.iter().enumerate() {
            let metadata = Endpoint::External(METADATA);
            let reaches = m.peer_matches(rule, &policy.namespace, metadata);
            let http = rule.conns(None).allows(Protocol::Tcp, 80);
            if reaches && http {
                report(
                    out,
                    meta,
                    policy.origin.as_ref(),
                    &rule.at,
                    meta.severity,
                    format!("{} egress[{i}] lets the pods it selects reach the cloud metadata address 169.254.169.254 on TCP 80", policy.display()),
                );
            }
        }
    }
}
