//! kube-controller-manager flags (CIS 1.3.1-1.3.7).

use palisade_engine::{CheckSettings, Findings};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::flags::{Component, Target};
use super::{
    report_at, report_missing, FlagRule, Test, CIS_DOC, CONTROLLER_MANAGER_DOC, NSA_AUTH,
    NSA_CONTROL_PLANE,
};
use crate::pss::helpers::{cis, mitre, nsa, peer};

const SA_ADMIN_DOC: &str =
    "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/";

pub static TERMINATED_POD_GC: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "controller-manager-terminated-pod-gc-threshold-missing",
        title: "Controller-manager keeps terminated pods until 12,500 pile up",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-controller-manager without `--terminated-pod-gc-threshold` (the default keeps 12,500 terminated pods), or with a value of 0 or less, which turns the collector off. CIS Kubernetes Benchmark v1.10.0 recommendation 1.3.1 (Manual).",
        rationale: "Finished and failed pods stay in etcd until the threshold is reached. Thousands of them slow list requests and controllers and can exhaust etcd, which is a denial of service for the control plane; with the collector off they are never removed.",
        remediation: "Set `--terminated-pod-gc-threshold` to a number that fits the cluster (CIS suggests 10; a few hundred to a few thousand is common).",
        references: &["https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-garbage-collection", CONTROLLER_MANAGER_DOC, CIS_DOC],
        mappings: &[cis("1.3.1"), nsa(NSA_CONTROL_PLANE), mitre("T1499")],
        peers: &[peer(PeerTool::Kubescape, "C-0144"), peer(PeerTool::Checkov, "CKV_K8S_106")],
        peer_notes: "Same CIS item as kubescape C-0144 and Checkov CKV_K8S_106. Palisade also reports a value of 0 or less, which disables the collector.",
        source: file!(),
    },
    component: Component::ControllerManager,
    test: Test::Custom(terminated_pod_gc),
};

fn terminated_pod_gc(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    _: &CheckSettings,
    out: &mut Findings,
) {
    match t.flags.last("terminated-pod-gc-threshold") {
        None => {
            report_missing(
                meta,
                t,
                format!("{}: --terminated-pod-gc-threshold is not set and defaults to 12500, so terminated pods accumulate in etcd until 12,500 exist; set it to a threshold that fits the cluster", t.who()),
                out,
            );
        }
        Some(s) => {
            if s.as_int().is_some_and(|n| n <= 0) {
                report_at(
                    meta,
                    s,
                    format!("{}: {} turns the terminated pod garbage collector off, so terminated pods are never removed; set a positive threshold", t.who(), s.written()),
                    out,
                );
            }
        }
    }
}

pub static PROFILING: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "controller-manager-profiling-enabled",
        title: "Controller-manager profiling is enabled",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-controller-manager whose `--profiling` is `true` or not set (it defaults to `true`). CIS Kubernetes Benchmark v1.10.0 recommendation 1.3.2 (Automated).",
        rationale: "Profiling serves `/debug/pprof` on the controller-manager's secure port to clients authorized for the path, exposing its internals and letting them make it spend CPU on demand.",
        remediation: "Set `--profiling=false`.",
        references: &[CONTROLLER_MANAGER_DOC, CIS_DOC],
        mappings: &[cis("1.3.2"), nsa(NSA_CONTROL_PLANE), mitre("T1499")],
        peers: &[peer(PeerTool::Kubescape, "C-0145"), peer(PeerTool::Checkov, "CKV_K8S_107")],
        peer_notes: "Same CIS item as kubescape C-0145 and Checkov CKV_K8S_107. Booleans are read as pflag reads them (`=false`, `=0`, `=f`; the last occurrence wins).",
        source: file!(),
    },
    component: Component::ControllerManager,
    test: Test::Bool {
        flag: "profiling",
        default: true,
        want: false,
        why: "so /debug/pprof serves the controller-manager's profiles to any client allowed that path",
    },
};

pub static SERVICE_ACCOUNT_CREDENTIALS: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "controller-manager-service-account-credentials-disabled",
        title: "Controllers share the controller-manager's credentials",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-controller-manager whose `--use-service-account-credentials` is `false` or not set (it defaults to `false`; kubeadm sets `true`). CIS Kubernetes Benchmark v1.10.0 recommendation 1.3.3 (Automated).",
        rationale: "With the flag on, each controller calls the API with its own service account in `kube-system`, bound to a role with only what that controller needs. Off, every controller uses the controller-manager's credentials, which must hold the union of all their permissions, so a flaw in any controller can use all of them, and the audit log cannot tell the controllers apart.",
        remediation: "Set `--use-service-account-credentials=true` (the RBAC authorizer creates the `system:controller:*` roles and bindings).",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/rbac/#controller-roles", CONTROLLER_MANAGER_DOC, CIS_DOC],
        mappings: &[cis("1.3.3"), nsa(NSA_AUTH), mitre("T1078")],
        peers: &[peer(PeerTool::Kubescape, "C-0146"), peer(PeerTool::Checkov, "CKV_K8S_108")],
        peer_notes: "Same CIS item as kubescape C-0146 and Checkov CKV_K8S_108. A missing flag is its default, `false`, and is reported.",
        source: file!(),
    },
    component: Component::ControllerManager,
    test: Test::Bool {
        flag: "use-service-account-credentials",
        default: false,
        want: true,
        why: "so every controller acts with the controller-manager's own credentials, which hold all of their permissions together",
    },
};

pub static SERVICE_ACCOUNT_PRIVATE_KEY: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "controller-manager-service-account-private-key-missing",
        title: "Controller-manager has no service account signing key",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-controller-manager without `--service-account-private-key-file`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.3.4 (Automated).",
        rationale: "The token controller signs the tokens of service-account-token Secrets with this key. Without a dedicated key pair, token signing cannot be rotated independently of other keys, and the controller that fills legacy token Secrets does not run.",
        remediation: "Set `--service-account-private-key-file` to the private key whose public half is in the API server's `--service-account-key-file` (kubeadm: `/etc/kubernetes/pki/sa.key`).",
        references: &[SA_ADMIN_DOC, CONTROLLER_MANAGER_DOC, CIS_DOC],
        mappings: &[cis("1.3.4"), nsa(NSA_AUTH), mitre("T1528")],
        peers: &[peer(PeerTool::Kubescape, "C-0147"), peer(PeerTool::Checkov, "CKV_K8S_110")],
        peer_notes: "Same CIS item as kubescape C-0147 and Checkov CKV_K8S_110.",
        source: file!(),
    },
    component: Component::ControllerManager,
    test: Test::Required {
        flags: &["service-account-private-key-file"],
        why: "so the token controller has no dedicated key to sign service account tokens with",
    },
};

pub static ROOT_CA: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "controller-manager-root-ca-missing",
        title: "Controller-manager does not pin the CA given to pods",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-controller-manager without `--root-ca-file`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.3.5 (Automated).",
        rationale: "The controller-manager publishes a CA bundle to every namespace (the `kube-root-ca.crt` ConfigMap) and into service account token Secrets, and pods use it to verify the API server. Without `--root-ca-file` the bundle is taken from the controller-manager's kubeconfig, which may not be the CA that signs the API server's certificate, leaving pods unable to verify it or trusting the wrong CA.",
        remediation: "Set `--root-ca-file` to the cluster CA (kubeadm: `/etc/kubernetes/pki/ca.crt`).",
        references: &[SA_ADMIN_DOC, CONTROLLER_MANAGER_DOC, CIS_DOC],
        mappings: &[cis("1.3.5"), nsa(NSA_CONTROL_PLANE), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0148"), peer(PeerTool::Checkov, "CKV_K8S_111")],
        peer_notes: "Same CIS item as kubescape C-0148 and Checkov CKV_K8S_111.",
        source: file!(),
    },
    component: Component::ControllerManager,
    test: Test::Required {
        flags: &["root-ca-file"],
        why: "so the CA bundle given to pods comes from the controller-manager's kubeconfig rather than a pinned cluster CA",
    },
};

pub static ROTATE_KUBELET_SERVER_CERT: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "controller-manager-kubelet-server-cert-rotation-disabled",
        title: "Controller-manager turns off kubelet serving certificate rotation",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-controller-manager whose `--feature-gates` sets `RotateKubeletServerCertificate=false` (the gate is on by default; repeated `--feature-gates` flags merge, the last value of the gate winning). The issue calls it `--rotate-server-certificates`, the kubelet side of the same feature. CIS Kubernetes Benchmark v1.10.0 recommendation 1.3.6 (Automated).",
        rationale: "Kubelets rotate their serving certificates through certificate signing requests. With the gate off they keep self-signed or expiring certificates that the API server cannot verify, which leaves `--kubelet-certificate-authority` unusable and node traffic open to impersonation.",
        remediation: "Remove `RotateKubeletServerCertificate=false` from `--feature-gates`.",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/#certificate-rotation", "https://kubernetes.io/docs/reference/command-line-tools-reference/feature-gates/", CIS_DOC],
        mappings: &[cis("1.3.6"), nsa(NSA_CONTROL_PLANE), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0149"), peer(PeerTool::Checkov, "CKV_K8S_112")],
        peer_notes: "Same CIS item as kubescape C-0149 and Checkov CKV_K8S_112. Palisade merges repeated `--feature-gates` flags as the component does and accepts every Go spelling of false (`false`, `False`, `0`, `f`).",
        source: file!(),
    },
    component: Component::ControllerManager,
    test: Test::Custom(rotate_kubelet_server_cert),
};

fn rotate_kubelet_server_cert(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    _: &CheckSettings,
    out: &mut Findings,
) {
    if let Some((false, s)) = t
        .flags
        .map_bool("feature-gates", "RotateKubeletServerCertificate")
    {
        report_at(
            meta,
            s,
            format!("{}: {} turns off RotateKubeletServerCertificate, so kubelets keep serving certificates the API server cannot verify; remove it", t.who(), s.written()),
            out,
        );
    }
}

pub static BIND_ADDRESS: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "controller-manager-bind-address-not-loopback",
        title: "Controller-manager listens beyond localhost",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-controller-manager whose `--bind-address` is not a loopback address, or is not set (it defaults to `0.0.0.0`, every interface; kubeadm sets `127.0.0.1`). CIS Kubernetes Benchmark v1.10.0 recommendation 1.3.7 (Automated).",
        rationale: "The secure port (10257) serves health, metrics and, with profiling on, `/debug/pprof`. Bound to every interface, it is reachable from pods and the network, and any authorization slip on those paths exposes the controller-manager.",
        remediation: "Set `--bind-address=127.0.0.1`, and scrape metrics through a local proxy if needed.",
        references: &[CONTROLLER_MANAGER_DOC, "https://kubernetes.io/docs/reference/networking/ports-and-protocols/", CIS_DOC],
        mappings: &[cis("1.3.7"), nsa(NSA_CONTROL_PLANE), mitre("T1046")],
        peers: &[peer(PeerTool::Kubescape, "C-0150"), peer(PeerTool::Checkov, "CKV_K8S_113")],
        peer_notes: "Same CIS item as kubescape C-0150 and Checkov CKV_K8S_113. kube-bench passes a missing flag; Palisade reports it, because the default listens on every interface. Any loopback address (`127.0.0.1`, `::1`) passes.",
        source: file!(),
    },
    component: Component::ControllerManager,
    test: Test::Loopback { port: 10257 },
};

#[cfg(test)]
mod tests {
    use crate::controlplane::tests::component;
    use crate::testing::{ids, run};

    fn cm(args: &[&str]) -> String {
        component(
            "kube-controller-manager",
            "registry.k8s.io/kube-controller-manager:v1.30.0",
            args,
        )
    }

    #[test]
    fn booleans_and_required_files() {
        for (id, good, bad) in [
            (
                "controller-manager-profiling-enabled",
                &["--profiling=false"][..],
                &[][..],
            ),
            (
                "controller-manager-service-account-credentials-disabled",
                &["--use-service-account-credentials=true"],
                &["--use-service-account-credentials=false"],
            ),
            (
                "controller-manager-service-account-private-key-missing",
                &["--service-account-private-key-file=/k"],
                &["--service-account-private-key-file="],
            ),
            (
                "controller-manager-root-ca-missing",
                &["--root-ca-file", "/ca"],
                &[],
            ),
            (
                "controller-manager-terminated-pod-gc-threshold-missing",
                &["--terminated-pod-gc-threshold=100"],
                &["--terminated-pod-gc-threshold=0"],
            ),
        ] {
            assert!(run(&cm(good), &[id]).is_empty(), "{id}");
            assert_eq!(ids(&run(&cm(bad), &[id])), [id]);
        }
        // The service account credentials default is false: a missing flag fails.
        assert_eq!(
            run(
                &cm(&[]),
                &["controller-manager-service-account-credentials-disabled"]
            )
            .len(),
            1
        );
        // A bare boolean is true.
        assert!(run(
            &cm(&["--use-service-account-credentials"]),
            &["controller-manager-service-account-credentials-disabled"]
        )
        .is_empty());
    }

    #[test]
    fn feature_gate() {
        const ID: &[&str] = &["controller-manager-kubelet-server-cert-rotation-disabled"];
        assert!(run(&cm(&[]), ID).is_empty());
        assert!(run(
            &cm(&["--feature-gates=RotateKubeletServerCertificate=true"]),
            ID
        )
        .is_empty());
        let hits = run(
            &cm(&["--feature-gates=Foo=true,RotateKubeletServerCertificate=false"]),
            ID,
        );
        assert_eq!(hits[0].path, "spec.containers[0].command[1]");
        // Merged across repeats: a later true wins, a later false loses nothing.
        assert!(run(
            &cm(&[
                "--feature-gates=RotateKubeletServerCertificate=false",
                "--feature-gates=RotateKubeletServerCertificate=true"
            ]),
            ID
        )
        .is_empty());
        let hits = run(
            &cm(&[
                "--feature-gates=RotateKubeletServerCertificate=0",
                "--feature-gates=Foo=true",
            ]),
            ID,
        );
        assert_eq!(hits[0].path, "spec.containers[0].command[1]");
    }

    #[test]
    fn bind_address() {
        const ID: &[&str] = &["controller-manager-bind-address-not-loopback"];
        let hits = run(&cm(&[]), ID);
        assert!(
            hits[0].message.contains("defaults to 0.0.0.0"),
            "{}",
            hits[0].message
        );
        assert!(run(&cm(&["--bind-address=127.0.0.1"]), ID).is_empty());
        assert!(run(&cm(&["--bind-address", "::1"]), ID).is_empty());
        assert_eq!(
            run(
                &cm(&["--bind-address=127.0.0.1", "--bind-address=0.0.0.0"]),
                ID
            )[0]
            .path,
            "spec.containers[0].command[2]"
        );
        // Not an IP: the component refuses it; not judged.
        assert!(run(&cm(&["--bind-address=localhost"]), ID).is_empty());
    }
}
