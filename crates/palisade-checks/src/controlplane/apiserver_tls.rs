//! API server certificates, encryption and ports: kubelet client certificates and CA
//! (CIS 1.2.4, 1.2.5), etcd client certificates and CA (1.2.23, 1.2.26), serving and
//! client CA certificates (1.2.24, 1.2.25), encryption at rest (1.2.27), cipher suites
//! (1.2.29), and the insecure port that releases before v1.20 opened by default.

use palisade_engine::{CheckSettings, Findings};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::flags::{Component, List, Target};
use super::{
    loopback, report_at, report_missing, FlagRule, Test, APISERVER_DOC, CIS_DOC, NSA_CONTROL_PLANE,
    NSA_ETCD,
};
use crate::pss::helpers::{cis, mitre, nsa, peer};

const KUBELET_AUTH_DOC: &str =
    "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/";
const PKI_DOC: &str = "https://kubernetes.io/docs/setup/best-practices/certificates/";
const ENCRYPTION_DOC: &str = "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/";
const CONTROL_PLANE_NODE_DOC: &str =
    "https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/";

pub static KUBELET_CLIENT_CERT: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-kubelet-client-cert-missing",
        title: "API server has no client certificate for kubelets",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--kubelet-client-certificate` or `--kubelet-client-key`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.4 (Automated).",
        rationale: "The API server calls each kubelet for `exec`, `attach`, `port-forward` and logs. Without a client certificate it calls them unauthenticated, which works only if kubelets accept anonymous requests, and then anyone who reaches a kubelet's port can run commands in its pods.",
        remediation: "Set `--kubelet-client-certificate` and `--kubelet-client-key` to a client certificate in a group the kubelets authorize (kubeadm: `apiserver-kubelet-client.crt`, in `kubeadm:cluster-admins`), and run kubelets with `--anonymous-auth=false` and webhook authorization.",
        references: &[KUBELET_AUTH_DOC, CONTROL_PLANE_NODE_DOC, CIS_DOC],
        mappings: &[cis("1.2.4"), nsa(NSA_CONTROL_PLANE), mitre("T1609")],
        peers: &[peer(PeerTool::Kubescape, "C-0116"), peer(PeerTool::Checkov, "CKV_K8S_72")],
        peer_notes: "Same CIS item as kubescape C-0116 and Checkov CKV_K8S_72. One finding names whichever of the two flags is missing.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Required {
        flags: &["kubelet-client-certificate", "kubelet-client-key"],
        why: "so the API server calls kubelets without a certificate and kubelets must accept unauthenticated exec, attach and log requests",
    },
};

pub static KUBELET_CA: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-kubelet-ca-missing",
        title: "API server does not verify kubelets' certificates",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--kubelet-certificate-authority` (kubeadm leaves it unset). CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.5 (Automated).",
        rationale: "Without it the API server does not check the certificate a kubelet serves, so anyone who can intercept or redirect traffic to a node can pose as its kubelet and read or alter `exec`, `attach` and log streams, including the commands and credentials typed into them.",
        remediation: "Have kubelets request serving certificates from the cluster CA (`serverTLSBootstrap: true`, approving their CSRs), then set `--kubelet-certificate-authority` to that CA (kubeadm: `/etc/kubernetes/pki/ca.crt`).",
        references: &[CONTROL_PLANE_NODE_DOC, "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/#certificate-rotation", CIS_DOC],
        mappings: &[cis("1.2.5"), nsa(NSA_CONTROL_PLANE), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0117"), peer(PeerTool::Checkov, "CKV_K8S_73")],
        peer_notes: "Same CIS item as kubescape C-0117 and Checkov CKV_K8S_73. A default kubeadm cluster fails it, as kube-bench reports.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Required {
        flags: &["kubelet-certificate-authority"],
        why: "so the API server accepts any certificate a kubelet presents and a node's traffic can be intercepted by whoever poses as its kubelet",
    },
};

pub static ETCD_CLIENT_CERT: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-etcd-client-cert-missing",
        title: "API server has no client certificate for etcd",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--etcd-certfile` or `--etcd-keyfile`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.23 (Automated).",
        rationale: "etcd holds every object, Secrets included. If the API server connects without a client certificate, etcd must accept clients that present none, and then anyone who reaches etcd's port reads and rewrites the cluster, bypassing authentication, RBAC, admission and audit.",
        remediation: "Set `--etcd-certfile` and `--etcd-keyfile` to a client certificate signed by etcd's CA (kubeadm: `apiserver-etcd-client.crt`), and run etcd with `--client-cert-auth=true`.",
        references: &["https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/#securing-etcd-clusters", PKI_DOC, CIS_DOC],
        mappings: &[cis("1.2.23"), nsa(NSA_ETCD), mitre("T1552")],
        peers: &[peer(PeerTool::Kubescape, "C-0137"), peer(PeerTool::Checkov, "CKV_K8S_99")],
        peer_notes: "Same CIS item as kubescape C-0137 and Checkov CKV_K8S_99. etcd's own side is `etcd-client-cert-auth-disabled`.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Required {
        flags: &["etcd-certfile", "etcd-keyfile"],
        why: "so etcd must accept clients without a certificate and anyone who reaches it reads and rewrites every object",
    },
};

pub static TLS_CERT: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-tls-cert-missing",
        title: "API server serves a self-signed certificate",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--tls-cert-file` or `--tls-private-key-file`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.24 (Automated).",
        rationale: "Without them the API server generates a self-signed certificate at start (in `--cert-dir`). Clients cannot verify it, so they either fail or are configured to skip verification, and then anyone on the path can impersonate the API server and collect the credentials clients send.",
        remediation: "Set `--tls-cert-file` and `--tls-private-key-file` to a certificate signed by the cluster CA with the API server's names and addresses (kubeadm: `apiserver.crt`).",
        references: &[PKI_DOC, APISERVER_DOC, CIS_DOC],
        mappings: &[cis("1.2.24"), nsa(NSA_CONTROL_PLANE), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0138"), peer(PeerTool::Checkov, "CKV_K8S_100")],
        peer_notes: "Same CIS item as kubescape C-0138 and Checkov CKV_K8S_100.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Required {
        flags: &["tls-cert-file", "tls-private-key-file"],
        why: "so the API server serves a self-signed certificate clients cannot verify",
    },
};

pub static CLIENT_CA: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-client-ca-missing",
        title: "API server has no client CA",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--client-ca-file`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.25 (Automated).",
        rationale: "Without a client CA no client certificate is accepted, so kubelets, the controller-manager and the scheduler cannot use certificates and fall back to weaker credentials such as static or long-lived tokens.",
        remediation: "Set `--client-ca-file` to the CA that signs client certificates (kubeadm: `/etc/kubernetes/pki/ca.crt`).",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates", PKI_DOC, CIS_DOC],
        mappings: &[cis("1.2.25"), nsa(NSA_CONTROL_PLANE), mitre("T1078")],
        peers: &[peer(PeerTool::Kubescape, "C-0139")],
        peer_notes: "Same CIS item as kubescape C-0139; Checkov's `--client-ca-file` check (CKV_K8S_140) is for the kubelet. Whether etcd trusts a different CA is `etcd-ca-shared-with-apiserver`.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Required {
        flags: &["client-ca-file"],
        why: "so no client certificate authenticates and components fall back to token credentials",
    },
};

pub static ETCD_CA: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-etcd-ca-missing",
        title: "API server does not pin etcd's CA",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--etcd-cafile`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.26 (Automated).",
        rationale: "Without it the API server checks etcd's serving certificate against the system's public roots only, so a host with any publicly trusted certificate for etcd's name can pose as etcd and receive every write, Secrets included.",
        remediation: "Set `--etcd-cafile` to etcd's own CA (kubeadm: `/etc/kubernetes/pki/etcd/ca.crt`).",
        references: &["https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/#securing-etcd-clusters", PKI_DOC, CIS_DOC],
        mappings: &[cis("1.2.26"), nsa(NSA_ETCD), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0140"), peer(PeerTool::Checkov, "CKV_K8S_102")],
        peer_notes: "Same CIS item as kubescape C-0140 and Checkov CKV_K8S_102.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Required {
        flags: &["etcd-cafile"],
        why: "so etcd's certificate is checked only against public roots and a look-alike etcd can receive every write",
    },
};

pub static ENCRYPTION_CONFIG: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-encryption-config-missing",
        title: "API server does not encrypt Secrets at rest",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--encryption-provider-config` (kubeadm leaves it unset). Whether the file uses a strong provider (1.2.28) is in its contents, which Palisade does not read. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.27 (Manual).",
        rationale: "Without an encryption configuration, Secrets are written to etcd in plain text: anyone with a copy of etcd's data directory, a snapshot or a backup reads every password, token and key in the cluster.",
        remediation: "Write an `EncryptionConfiguration` with a KMS v2 provider (or `aescbc`/`secretbox` with a key kept off etcd's disks) for `secrets`, set `--encryption-provider-config` to it, and rewrite existing Secrets so they are stored encrypted.",
        references: &[ENCRYPTION_DOC, "https://kubernetes.io/docs/tasks/administer-cluster/kms-provider/", CIS_DOC],
        mappings: &[cis("1.2.27"), nsa("Secrets"), mitre("T1552")],
        peers: &[peer(PeerTool::Kubescape, "C-0141"), peer(PeerTool::Kubescape, "C-0066"), peer(PeerTool::Checkov, "CKV_K8S_104")],
        peer_notes: "Same CIS item as kubescape C-0141 and C-0066 (Secret/etcd encryption) and Checkov CKV_K8S_104 (which checks the flag, as Palisade does). Managed clusters set encryption outside the manifests Palisade sees.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Required {
        flags: &["encryption-provider-config"],
        why: "so Secrets are stored in etcd in plain text and every backup or copy of etcd's data exposes them",
    },
};

/// The cipher suites CIS Kubernetes Benchmark v1.10.0 (1.2.29) counts as strong: TLS 1.3
/// suites and ECDHE key exchange with AES or ChaCha20.
const STRONG_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

pub static WEAK_CIPHERS: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-weak-tls-ciphers",
        title: "API server allows weak TLS cipher suites",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver whose `--tls-cipher-suites` lists a suite outside the strong set of CIS 1.2.29: TLS 1.3 suites and ECDHE with AES-GCM, AES-CBC-SHA or ChaCha20-Poly1305. Without the flag the Go defaults apply, which since Go 1.22 (Kubernetes v1.30 builds) offer only suites in that set; it is not reported. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.29 (Manual).",
        rationale: "Suites with static RSA key exchange have no forward secrecy (a stolen key decrypts recorded traffic), and 3DES, RC4 and CBC-SHA256 suites have known practical weaknesses. Every request to the API server, tokens included, travels under the negotiated suite.",
        remediation: "List only strong suites, for example `--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256`, or leave the flag out on a recent release.",
        references: &[APISERVER_DOC, "https://pkg.go.dev/crypto/tls#pkg-constants", CIS_DOC],
        mappings: &[cis("1.2.29"), nsa(NSA_CONTROL_PLANE), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0277"), peer(PeerTool::Checkov, "CKV_K8S_105")],
        peer_notes: "Same CIS item as kubescape C-0277 and Checkov CKV_K8S_105. kube-bench fails a missing flag; Palisade does not, since the defaults of current builds are within the CIS set.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(weak_ciphers),
};

fn weak_ciphers(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    _: &CheckSettings,
    out: &mut Findings,
) {
    let List::Items(items) = t.flags.list("tls-cipher-suites") else {
        return;
    };
    let weak: Vec<_> = items
        .iter()
        // An empty item is refused at start; only named suites are judged.
        .filter(|(c, _)| !c.trim().is_empty() && !STRONG_CIPHERS.contains(&c.trim()))
        .collect();
    let Some((_, at)) = weak.first() else { return };
    let names: Vec<&str> = weak.iter().map(|(c, _)| c.trim()).collect();
    report_at(
        meta,
        at,
        format!(
            "{}: --tls-cipher-suites allows {}, outside the CIS strong set (no forward secrecy or known weaknesses); list only ECDHE suites with AES-GCM, AES-CBC-SHA or ChaCha20-Poly1305",
            t.who(),
            names.join(", ")
        ),
        out,
    );
}

pub static INSECURE_PORT: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-insecure-port-enabled",
        title: "API server serves plain HTTP without authentication",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "A kube-apiserver that opens its insecure port: `--insecure-port` set to a port other than 0, or, for an image older than v1.20, not set (it then defaults to 8080 on 127.0.0.1). Critical when `--insecure-bind-address` is not a loopback address. From v1.20 the port cannot be opened (non-zero values are refused) and from v1.24 the flags are gone, so a recent image is not reported. Not in CIS Kubernetes Benchmark v1.10.0, which targets releases without the port; earlier CIS releases had items for both flags.",
        rationale: "The insecure port serves the whole API over plain HTTP with no authentication, authorization or audit: every request is treated as coming from `system:masters`. On loopback any process on the control-plane node is cluster-admin; on another address, anyone on the network is.",
        remediation: "Set `--insecure-port=0` and remove `--insecure-bind-address`, then upgrade: releases from v1.20 cannot open the port.",
        references: &["https://kubernetes.io/docs/concepts/security/controlling-access/#api-server-ports-and-ips", "https://github.com/kubernetes/kubernetes/pull/95856", APISERVER_DOC],
        mappings: &[nsa(NSA_CONTROL_PLANE), mitre("T1133")],
        peers: &[peer(PeerTool::Kubescape, "C-0005"), peer(PeerTool::Checkov, "CKV_K8S_88"), peer(PeerTool::Checkov, "CKV_K8S_86")],
        peer_notes: "Covers kubescape C-0005 and Checkov CKV_K8S_88 (`--insecure-port` is 0) and CKV_K8S_86 (`--insecure-bind-address` not set) in one check: the bind address only matters while the port is open, so it grades the finding rather than being a second one. Palisade reads the image tag: a missing flag is reported only for a release that opened the port by default, and a recent release, which refuses the flag, is not reported.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(insecure_port),
};

fn insecure_port(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    _: &CheckSettings,
    out: &mut Findings,
) {
    if t.at_least(20) {
        return;
    }
    let address = t
        .flags
        .set("insecure-bind-address")
        .and_then(|s| s.text())
        .unwrap_or("127.0.0.1");
    let exposed = loopback(address) == Some(false);
    let reach = if exposed {
        "anyone who reaches that address is cluster-admin"
    } else {
        "any process on the node is cluster-admin"
    };
    let f = match t.flags.last("insecure-port") {
        None if t.older_than(20) => report_missing(
            meta,
            t,
            format!("{}: --insecure-port is not set and defaults to 8080 before v1.20, so {address}:8080 serves the API over HTTP without authentication or authorization and {reach}; set --insecure-port=0", t.who()),
            out,
        ),
        None => return,
        Some(s) => match s.as_int() {
            Some(port) if port != 0 => report_at(
                meta,
                s,
                format!("{}: {} serves the API on {address}:{port} over HTTP without authentication or authorization, so {reach}; set --insecure-port=0", t.who(), s.written()),
                out,
            ),
            _ => return,
        },
    };
    if exposed {
        f.severity = Severity::Critical;
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::tests::{apiserver, apiserver_image};
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    #[test]
    fn certificate_flags_must_be_set() {
        for (id, flags) in [
            (
                "apiserver-kubelet-client-cert-missing",
                &["--kubelet-client-certificate=/c", "--kubelet-client-key=/k"][..],
            ),
            (
                "apiserver-kubelet-ca-missing",
                &["--kubelet-certificate-authority=/ca"],
            ),
            (
                "apiserver-etcd-client-cert-missing",
                &["--etcd-certfile=/c", "--etcd-keyfile=/k"],
            ),
            (
                "apiserver-tls-cert-missing",
                &["--tls-cert-file=/c", "--tls-private-key-file=/k"],
            ),
            ("apiserver-client-ca-missing", &["--client-ca-file=/ca"]),
            ("apiserver-etcd-ca-missing", &["--etcd-cafile=/ca"]),
            (
                "apiserver-encryption-config-missing",
                &["--encryption-provider-config=/e.yaml"],
            ),
        ] {
            assert!(run(&apiserver(flags), &[id]).is_empty(), "{id}");
            let hits = run(&apiserver(&[]), &[id]);
            assert_eq!(ids(&hits), [id]);
            assert_eq!(hits[0].path, "spec.containers[0].command");
            // An empty value, or half of a pair, is still missing.
            let name = flags[0].split('=').next().unwrap();
            assert_eq!(ids(&run(&apiserver(&[&format!("{name}=")]), &[id])), [id]);
            if flags.len() == 2 {
                assert_eq!(ids(&run(&apiserver(&flags[..1]), &[id])), [id]);
            }
        }
        let hits = run(
            &apiserver(&["--etcd-certfile", "/c"]),
            &["apiserver-etcd-client-cert-missing"],
        );
        assert!(
            hits[0].message.contains("--etcd-keyfile is not set"),
            "{}",
            hits[0].message
        );
        let hits = run(&apiserver(&[]), &["apiserver-etcd-client-cert-missing"]);
        assert!(
            hits[0]
                .message
                .contains("--etcd-certfile and --etcd-keyfile are not set"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn cipher_suites() {
        const ID: &[&str] = &["apiserver-weak-tls-ciphers"];
        assert!(run(&apiserver(&[]), ID).is_empty());
        assert!(run(
            &apiserver(&[
                "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256"
            ]),
            ID
        )
        .is_empty());
        let hits = run(
            &apiserver(&[
                "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "--tls-cipher-suites",
                "TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            ]),
            ID,
        );
        assert_eq!(hits[0].path, "spec.containers[0].command[2]");
        assert!(
            hits[0]
                .message
                .contains("allows TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn insecure_port_by_release() {
        const ID: &[&str] = &["apiserver-insecure-port-enabled"];
        let old = "k8s.gcr.io/kube-apiserver:v1.19.16";
        let hits = run(&apiserver_image(old, &[]), ID);
        assert_eq!(
            (hits[0].path.as_str(), hits[0].severity),
            ("spec.containers[0].command", Severity::High)
        );
        assert!(
            hits[0].message.contains("127.0.0.1:8080"),
            "{}",
            hits[0].message
        );
        assert!(run(&apiserver_image(old, &["--insecure-port=0"]), ID).is_empty());
        let hits = run(
            &apiserver_image(
                old,
                &["--insecure-port", "8080", "--insecure-bind-address=0.0.0.0"],
            ),
            ID,
        );
        assert_eq!(
            (hits[0].path.as_str(), hits[0].severity),
            ("spec.containers[0].command[1]", Severity::Critical)
        );
        // Unknown release: only an explicit port.
        let unknown = "my-registry/apiserver-build:custom";
        assert!(run(&apiserver_image(unknown, &[]), ID).is_empty());
        assert_eq!(
            ids(&run(
                &apiserver_image(unknown, &["--insecure-port=8080"]),
                ID
            )),
            ID
        );
        // From v1.20 the port cannot open.
        assert!(run(&apiserver(&["--insecure-port=8080"]), ID).is_empty());
    }
}
