//! `service-external-ips`: a Service that claims external IPs (CVE-2020-8554).

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{is_service, NSA_NETWORK};
use crate::pss::helpers::{mitre, nsa, peer, shown};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "service-external-ips",
        title: "Service sets externalIPs",
        severity: Severity::High,
        category: Category::Network,
        description: "A Service with a non-empty `spec.externalIPs`.",
        rationale: "kube-proxy on every node captures traffic sent to a Service's external IPs, whoever owns those addresses. Kubernetes does not check that the creator controls them, so anyone who can create or edit a Service can intercept traffic the cluster sends to any IP, such as an internal database or a public API (CVE-2020-8554, a design flaw with no patch).",
        remediation: "Remove `spec.externalIPs`; expose the workload with a LoadBalancer, an Ingress or a Gateway. Block the field cluster-wide with the `DenyServiceExternalIPs` admission plugin (kube-apiserver `--enable-admission-plugins=...,DenyServiceExternalIPs`), or allow it only for named IPs with an admission policy.",
        references: &[
            "https://github.com/kubernetes/kubernetes/issues/97076",
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#denyserviceexternalips",
            "https://kubernetes.io/docs/concepts/services-networking/service/#external-ips",
        ],
        mappings: &[nsa(NSA_NETWORK), mitre("T1557")],
        peers: &[peer(PeerTool::Kyverno, "restrict-external-ips")],
        peer_notes: "Like Kyverno `restrict-external-ips`, any non-empty list is reported (an empty list or null is not); one finding per Service at `spec.externalIPs`, naming the addresses. The other half of CVE-2020-8554, patching `status.loadBalancer.ingress`, is a permission problem that manifests cannot show.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    if !is_service(ctx) {
        return;
    }
    let Some((key, ips)) = ctx
        .object
        .root
        .get_present("spec")
        .and_then(|s| s.entry("externalIPs"))
    else {
        return;
    };
    if ips.is_empty() {
        return;
    }
    let list: Vec<String> = ips.items().map(shown).collect();
    out.report(
        meta,
        key,
        ctx.object.path("spec.externalIPs"),
        format!(
            "Service {:?} claims externalIPs {}: kube-proxy on every node intercepts traffic to them (CVE-2020-8554)",
            ctx.object.identity.name,
            list.join(", ")
        ),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["service-external-ips"];

    #[test]
    fn external_ips_are_reported_once_at_the_key() {
        let yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  ports: [{port: 5432}]\n  externalIPs:\n  - 10.0.0.5\n  - 192.0.2.9\n";
        let hits = run(yaml, ID);
        assert_eq!(ids(&hits), ["service-external-ips"]);
        assert_eq!(
            (hits[0].line, hits[0].path.as_str()),
            (7, "spec.externalIPs")
        );
        assert_eq!(hits[0].severity, Severity::High);
        assert!(hits[0].message.contains("10.0.0.5, 192.0.2.9"));
        assert!(hits[0].message.contains("CVE-2020-8554"));
    }

    #[test]
    fn absent_empty_or_null_is_quiet() {
        for field in ["", "  externalIPs: []\n", "  externalIPs:\n"] {
            let yaml = format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  type: ClusterIP\n{field}"
            );
            assert!(run(&yaml, ID).is_empty(), "{field:?}");
        }
    }

    #[test]
    fn reported_for_every_service_type_in_lists() {
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n  spec:\n    type: LoadBalancer\n    externalIPs: [203.0.113.1]\n";
        let hits = run(yaml, ID);
        assert_eq!(hits[0].path, "items[0].spec.externalIPs");
        assert_eq!(hits[0].line, 9);
    }
}
