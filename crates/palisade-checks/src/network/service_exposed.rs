//! `service-exposed`: a NodePort Service, or a LoadBalancer open to any address.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_source::Node;

use super::{annotation, is_service, NSA_NETWORK};
use crate::pss::helpers::{mitre, nsa, peer};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "service-exposed",
        title: "Service exposed outside the cluster",
        severity: Severity::Medium,
        category: Category::Network,
        description: "A Service of `type: NodePort`, or of `type: LoadBalancer` with no `spec.loadBalancerSourceRanges` (or one containing `0.0.0.0/0` or `::/0`). A load balancer marked internal by its cloud annotation is graded low.",
        rationale: "A NodePort opens the port on every node's addresses, where no `loadBalancerSourceRanges` applies and NetworkPolicies often do not reach. An unrestricted external load balancer puts the service on the internet: every exposed port is found by scanners within hours and tried with default credentials and known exploits.",
        remediation: "Prefer `type: ClusterIP` behind an Ingress or Gateway. For a LoadBalancer, set `spec.loadBalancerSourceRanges` to the client CIDRs that need it, or mark it internal with the cloud's annotation (e.g. `service.beta.kubernetes.io/aws-load-balancer-scheme: internal`, `networking.gke.io/load-balancer-type: Internal`, `service.beta.kubernetes.io/azure-load-balancer-internal: \"true\"`). Avoid NodePort outside development clusters.",
        references: &[
            "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
            "https://kubernetes.io/docs/tasks/access-application-cluster/configure-cloud-provider-firewall/",
        ],
        mappings: &[nsa(NSA_NETWORK), mitre("T1133"), mitre("T1046")],
        peers: &[
            peer(PeerTool::KubeLinter, "exposed-services"),
            peer(PeerTool::Kyverno, "restrict-nodeport"),
        ],
        peer_notes: "kube-linter `exposed-services` and Kyverno `restrict-nodeport` forbid service types outright; this check lets a LoadBalancer through when `loadBalancerSourceRanges` (or the `service.beta.kubernetes.io/load-balancer-source-ranges` annotation, which Kubernetes reads when the field is empty) restricts it to specific CIDRs, treats `0.0.0.0/0` and `::/0` as unrestricted, and grades internal load balancers (AWS, GKE, Azure, OCI, OpenStack, IBM, Alibaba annotations) low. ClusterIP, headless and ExternalName Services are never reported. One finding per Service, at `spec.type`.",
        source: file!(),
    },
    eval,
};

/// Cloud annotations that keep a load balancer on the private network, with the value
/// (compared case-insensitively) that does so; `None` means any value but `false`.
const INTERNAL: &[(&str, Option<&str>)] = &[
    (
        "service.beta.kubernetes.io/aws-load-balancer-internal",
        None,
    ),
    (
        "service.beta.kubernetes.io/aws-load-balancer-scheme",
        Some("internal"),
    ),
    ("networking.gke.io/load-balancer-type", Some("Internal")),
    ("cloud.google.com/load-balancer-type", Some("Internal")),
    (
        "service.beta.kubernetes.io/azure-load-balancer-internal",
        Some("true"),
    ),
    (
        "service.beta.kubernetes.io/oci-load-balancer-internal",
        Some("true"),
    ),
    (
        "service.beta.kubernetes.io/openstack-internal-load-balancer",
        Some("true"),
    ),
    (
        "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type",
        Some("private"),
    ),
    (
        "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type",
        Some("intranet"),
    ),
];

/// The annotation Kubernetes falls back to when `spec.loadBalancerSourceRanges` is empty.
const RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    if !is_service(ctx) {
        return;
    }
    let Some(spec) = ctx.object.root.get_present("spec") else {
        return;
    };
    let Some(kind) = spec.get_present("type") else {
        return;
    };
    let name = &ctx.object.identity.name;
    let path = ctx.object.path("spec.type");
    let ports = port_list(spec);
    match kind.as_str() {
        Some("NodePort") => {
            out.report(meta, kind, path, format!("Service {name:?} is type NodePort: {ports} open on every node's addresses, where loadBalancerSourceRanges cannot restrict them"));
        }
        Some("LoadBalancer") if !is_restricted(ctx, spec) => {
            if let Some(key) = internal_annotation(ctx) {
                out.report(meta, kind, path, format!("Service {name:?} is an internal LoadBalancer ({key}) with no loadBalancerSourceRanges: {ports} reachable from the whole private network"))
                    .severity = Severity::Low;
            } else {
                out.report(meta, kind, path, format!("Service {name:?} is type LoadBalancer with no loadBalancerSourceRanges: {ports} reachable from any address"));
            }
        }
        _ => {}
    }
}

/// `port 443/TCP is` / `ports 53/UDP, 53/TCP are`: the service ports, for messages.
fn port_list(spec: Node<'_>) -> String {
    let ports: Vec<String> = spec
        .get_present("ports")
        .into_iter()
        .flat_map(|p| p.items())
        .filter_map(|p| {
            let port = p.get_present("port")?.as_str()?;
            let proto = p
                .get_present("protocol")
                .and_then(|n| n.as_str())
                .unwrap_or("TCP");
            Some(format!("{port}/{proto}"))
        })
        .collect();
    match ports.len() {
        0 => "its ports are".to_owned(),
        1 => format!("port {} is", ports[0]),
        _ => format!("ports {} are", ports.join(", ")),
    }
}

/// Whether source ranges limit the load balancer to something short of the whole internet.
fn is_restricted(ctx: &ObjectContext<'_>, spec: Node<'_>) -> bool {
    let from_spec: Vec<&str> = spec
        .get_present("loadBalancerSourceRanges")
        .into_iter()
        .flat_map(|r| r.items())
        .filter_map(|r| r.as_str())
        .collect();
    let ranges: Vec<&str> = if from_spec.is_empty() {
        annotation(ctx, RANGES_ANNOTATION)
            .into_iter()
            .flat_map(|a| a.split(','))
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect()
    } else {
        from_spec
    };
    !ranges.is_empty() && !ranges.iter().any(|r| matches!(*r, "0.0.0.0/0" | "::/0"))
}

/// The first annotation that makes the load balancer internal.
fn internal_annotation(ctx: &ObjectContext<'_>) -> Option<&'static str> {
    INTERNAL.iter().find_map(|(key, want)| {
        let value = annotation(ctx, key)?;
        let internal = match want {
            Some(w) => value.trim().eq_ignore_ascii_case(w),
            None => !value.trim().is_empty() && !value.trim().eq_ignore_ascii_case("false"),
        };
        internal.then_some(*key)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["service-exposed"];

    fn svc(annotations: &str, spec: &str) -> String {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n{annotations}spec:\n{spec}  ports:\n  - port: 443\n")
    }

    #[test]
    fn cluster_ip_and_default_type_are_quiet() {
        assert!(run(&svc("", ""), ID).is_empty());
        assert!(run(&svc("", "  type: ClusterIP\n"), ID).is_empty());
        assert!(run(&svc("", "  type: ExternalName\n"), ID).is_empty());
    }

    #[test]
    fn node_port_is_reported_at_the_type() {
        let hits = run(&svc("", "  type: NodePort\n"), ID);
        assert_eq!(ids(&hits), ["service-exposed"]);
        assert_eq!((hits[0].line, hits[0].path.as_str()), (6, "spec.type"));
        assert_eq!(hits[0].severity, Severity::Medium);
        assert!(
            hits[0].message.contains("NodePort: port 443/TCP is open"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn open_load_balancer_is_reported() {
        let hits = run(&svc("", "  type: LoadBalancer\n"), ID);
        assert_eq!(hits[0].severity, Severity::Medium);
        assert!(hits[0].message.contains("reachable from any address"));
        for any in ["0.0.0.0/0", "::/0"] {
            let spec = format!(
                "  type: LoadBalancer\n  loadBalancerSourceRanges: [10.0.0.0/8, \"{any}\"]\n"
            );
            assert_eq!(ids(&run(&svc("", &spec), ID)), ["service-exposed"], "{any}");
        }
        let empty = "  type: LoadBalancer\n  loadBalancerSourceRanges: []\n";
        assert_eq!(ids(&run(&svc("", empty), ID)), ["service-exposed"]);
    }

    #[test]
    fn source_ranges_in_field_or_annotation_restrict_it() {
        let spec = "  type: LoadBalancer\n  loadBalancerSourceRanges:\n  - 203.0.113.0/24\n";
        assert!(run(&svc("", spec), ID).is_empty());
        let ann = "  annotations:\n    service.beta.kubernetes.io/load-balancer-source-ranges: \"203.0.113.0/24, 198.51.100.7/32\"\n";
        assert!(run(&svc(ann, "  type: LoadBalancer\n"), ID).is_empty());
        let open = "  annotations:\n    service.beta.kubernetes.io/load-balancer-source-ranges: 0.0.0.0/0\n";
        assert_eq!(
            ids(&run(&svc(open, "  type: LoadBalancer\n"), ID)),
            ["service-exposed"]
        );
    }

    #[test]
    fn internal_load_balancers_are_low() {
        for ann in [
            "service.beta.kubernetes.io/aws-load-balancer-internal: \"true\"",
            "service.beta.kubernetes.io/aws-load-balancer-scheme: internal",
            "networking.gke.io/load-balancer-type: Internal",
            "cloud.google.com/load-balancer-type: \"Internal\"",
            "service.beta.kubernetes.io/azure-load-balancer-internal: \"true\"",
        ] {
            let yaml = svc(
                &format!("  annotations:\n    {ann}\n"),
                "  type: LoadBalancer\n",
            );
            let hits = run(&yaml, ID);
            assert_eq!(ids(&hits), ["service-exposed"], "{ann}");
            assert_eq!(hits[0].severity, Severity::Low, "{ann}");
            assert!(hits[0].message.contains("internal LoadBalancer"), "{ann}");
        }
        let not_internal = "  annotations:\n    service.beta.kubernetes.io/azure-load-balancer-internal: \"false\"\n    service.beta.kubernetes.io/aws-load-balancer-internal: \"false\"\n";
        let hits = run(&svc(not_internal, "  type: LoadBalancer\n"), ID);
        assert_eq!(hits[0].severity, Severity::Medium);
    }

    #[test]
    fn ports_are_listed_and_other_kinds_ignored() {
        let yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: dns\nspec:\n  type: NodePort\n  ports:\n  - port: 53\n    protocol: UDP\n  - port: 53\n";
        let hits = run(yaml, ID);
        assert!(
            hits[0].message.contains("ports 53/UDP, 53/TCP are"),
            "{}",
            hits[0].message
        );
        let crd = "apiVersion: example.com/v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  type: NodePort\n";
        assert!(run(crd, ID).is_empty());
    }
}
