//! `ingress-no-tls`: an Ingress that serves some or all of its hosts without TLS.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, Severity};
use palisade_source::Node;

use super::{annotation, NSA_NETWORK};
use crate::pss::helpers::{mitre, nsa};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "ingress-no-tls",
        title: "Ingress without TLS",
        severity: Severity::Medium,
        category: Category::Network,
        description: "An Ingress (`networking.k8s.io/v1`, `networking.k8s.io/v1beta1`, `extensions/v1beta1`) with no `spec.tls`, or with `spec.tls` that leaves some `spec.rules[].host` uncovered: each such host is reported. A `tls[].hosts` entry `*.example.com` covers exactly one label (`a.example.com`, not `example.com` or `a.b.example.com`).",
        rationale: "Without TLS the ingress controller serves the host over plain HTTP: credentials, session cookies and data cross the network in clear text, and anyone on the path can read or rewrite them.",
        remediation: "Add `spec.tls` with a Secret holding the certificate and list every rule host under `tls[].hosts` (cert-manager can issue and renew it: annotate the Ingress with `cert-manager.io/cluster-issuer`). Where the cloud load balancer terminates TLS, use its certificate annotation.",
        references: &[
            "https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",
            "https://cert-manager.io/docs/usage/ingress/",
        ],
        mappings: &[nsa(NSA_NETWORK), mitre("T1040"), mitre("T1557")],
        peers: &[],
        peer_notes: "No common peer (checkov, kube-linter, polaris, trivy) checks Ingress TLS coverage per host. Ingresses whose TLS is terminated by the cloud load balancer through an annotation (AWS `alb.ingress.kubernetes.io/certificate-arn`, GKE `networking.gke.io/managed-certificates` or `ingress.gcp.kubernetes.io/pre-shared-cert`, Azure `appgw.ingress.kubernetes.io/appgw-ssl-certificate`) are not reported. A `tls` entry without `hosts` covers every host (the controller's default certificate applies), and rules without a `host` are not reported once `tls` exists, since they have no name to cover. Host names compare case-insensitively.",
        source: file!(),
    },
    eval,
};

const API_VERSIONS: &[&str] = &[
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "extensions/v1beta1",
];

/// Annotations through which a cloud load balancer terminates TLS for the Ingress.
const CLOUD_TLS: &[&str] = &[
    "alb.ingress.kubernetes.io/certificate-arn",
    "networking.gke.io/managed-certificates",
    "ingress.gcp.kubernetes.io/pre-shared-cert",
    "appgw.ingress.kubernetes.io/appgw-ssl-certificate",
];

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let id = &ctx.object.identity;
    if id.kind != "Ingress" || !API_VERSIONS.contains(&id.api_version.as_str()) {
        return;
    }
    if CLOUD_TLS.iter().any(|k| annotation(ctx, k).is_some()) {
        return;
    }
    let spec = ctx.object.root.entry("spec");
    let tls = spec
        .and_then(|(_, s)| s.get_present("tls"))
        .filter(|t| !t.is_empty());
    let Some(tls) = tls else {
        let node = spec.map_or(ctx.object.root, |(key, _)| key);
        out.report(
            meta,
            node,
            ctx.object.path("spec.tls"),
            format!(
                "Ingress {:?} has no spec.tls: its hosts are served over plain HTTP",
                id.name
            ),
        );
        return;
    };
    let covered = tls_hosts(tls);
    let Some(covered) = covered else {
        return; // a tls entry without hosts covers every host
    };
    let rules = spec.and_then(|(_, s)| s.get_present("rules"));
    for (i, rule) in rules.into_iter().flat_map(|r| r.items()).enumerate() {
        let Some(host) = rule.get_present("host") else {
            continue;
        };
        let name = host.as_str().unwrap_or("");
        if !covered.iter().any(|c| covers(c, name)) {
            out.report(
                meta,
                host,
                ctx.object.path(&format!("spec.rules[{i}].host")),
                format!(
                    "Ingress {:?} serves host {name:?} without TLS: no spec.tls[].hosts entry covers it",
                    id.name
                ),
            );
        }
    }
}

/// Every host named under `tls[].hosts`; `None` when some entry names none (covers all).
fn tls_hosts<'d>(tls: Node<'d>) -> Option<Vec<&'d str>> {
    let mut hosts = Vec::new();
    for entry in tls.items() {
        let listed = entry.get_present("hosts").filter(|h| !h.is_empty())?;
        hosts.extend(listed.items().filter_map(|h| h.as_str()));
    }
    Some(hosts)
}

/// Whether certificate host `cert` covers rule host `host` (a wildcard covers one label).
fn covers(cert: &str, host: &str) -> bool {
    if cert.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(suffix) = cert.strip_prefix("*.") else {
        return false;
    };
    host.split_once('.')
        .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::covers;
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["ingress-no-tls"];

    fn ingress(api: &str, annotations: &str, spec: &str) -> String {
        format!(
            "apiVersion: {api}\nkind: Ingress\nmetadata:\n  name: web\n{annotations}spec:\n{spec}"
        )
    }

    const RULES: &str =
        "  rules:\n  - host: shop.example.com\n  - host: api.example.com\n  - http: {}\n";

    #[test]
    fn no_tls_is_one_finding_at_spec() {
        for api in [
            "networking.k8s.io/v1",
            "networking.k8s.io/v1beta1",
            "extensions/v1beta1",
        ] {
            let hits = run(&ingress(api, "", RULES), ID);
            assert_eq!(ids(&hits), ["ingress-no-tls"], "{api}");
            assert_eq!((hits[0].line, hits[0].path.as_str()), (5, "spec.tls"));
            assert_eq!(hits[0].severity, Severity::Medium);
        }
        let empty = format!("{RULES}  tls: []\n");
        assert_eq!(
            ids(&run(&ingress("networking.k8s.io/v1", "", &empty), ID)),
            ["ingress-no-tls"]
        );
    }

    #[test]
    fn full_coverage_is_quiet() {
        let spec = format!("{RULES}  tls:\n  - hosts: [shop.example.com]\n    secretName: a\n  - hosts: [API.example.com]\n    secretName: b\n");
        assert!(run(&ingress("networking.k8s.io/v1", "", &spec), ID).is_empty());
        let wildcard = format!("{RULES}  tls:\n  - hosts: ['*.example.com']\n");
        assert!(run(&ingress("networking.k8s.io/v1", "", &wildcard), ID).is_empty());
        let no_hosts = format!("{RULES}  tls:\n  - secretName: default-cert\n");
        assert!(run(&ingress("networking.k8s.io/v1", "", &no_hosts), ID).is_empty());
    }

    #[test]
    fn uncovered_hosts_are_reported_each_at_the_host() {
        let spec = format!("{RULES}  tls:\n  - hosts: [shop.example.com]\n    secretName: a\n");
        let hits = run(&ingress("networking.k8s.io/v1", "", &spec), ID);
        assert_eq!(ids(&hits), ["ingress-no-tls"]);
        assert_eq!(
            (hits[0].line, hits[0].path.as_str()),
            (8, "spec.rules[1].host")
        );
        assert!(hits[0].message.contains("\"api.example.com\""));
    }

    #[test]
    fn wildcards_cover_exactly_one_label() {
        assert!(covers("*.example.com", "a.example.com"));
        assert!(covers("*.example.com", "*.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("*.example.com", "*.b.example.com"));
        assert!(!covers("*.example.com", ".example.com"));
        assert!(covers("*.Example.com", "A.example.COM"));
        assert!(!covers("a.example.com", "b.example.com"));
        let spec = "  rules:\n  - host: a.b.example.com\n  tls:\n  - hosts: ['*.example.com']\n";
        let hits = run(&ingress("networking.k8s.io/v1", "", spec), ID);
        assert_eq!(hits[0].path, "spec.rules[0].host");
    }

    #[test]
    fn cloud_terminated_tls_and_other_kinds_are_quiet() {
        let ann = "  annotations:\n    alb.ingress.kubernetes.io/certificate-arn: arn:aws:acm:eu-west-1:123456789012:certificate/abc\n";
        assert!(run(&ingress("networking.k8s.io/v1", ann, RULES), ID).is_empty());
        let other = ingress("example.com/v1", "", RULES);
        assert!(run(&other, ID).is_empty());
    }
}
