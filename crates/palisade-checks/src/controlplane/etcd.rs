//! etcd flags (CIS 2.1-2.6), from the command line or `ETCD_*` environment variables.
//! An etcd started with `--config-file` ignores both, so it is not judged.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::flags::Component;
use super::{FlagRule, Test, CIS_DOC, ETCD_DOC, ETCD_SECURITY_DOC, NSA_ETCD};
use crate::pss::helpers::{cis, mitre, nsa, peer};

const K8S_ETCD_DOC: &str =
    "https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/#securing-etcd-clusters";

pub static CERT_FILE: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "etcd-cert-file-missing",
        title: "etcd serves clients without a certificate",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "An etcd without `--cert-file` or `--key-file` (or `ETCD_CERT_FILE`/`ETCD_KEY_FILE`). CIS Kubernetes Benchmark v1.10.0 recommendation 2.1 (Automated).",
        rationale: "etcd holds the whole cluster state, every Secret included. Without a serving certificate its clients talk to it over plain HTTP (or, with `--auto-tls`, over a certificate nobody can verify), so the data crosses the network readable and alterable.",
        remediation: "Set `--cert-file` and `--key-file` to a serving certificate signed by etcd's CA (kubeadm: `/etc/kubernetes/pki/etcd/server.crt`) and serve `https://` client URLs.",
        references: &[ETCD_SECURITY_DOC, K8S_ETCD_DOC, CIS_DOC],
        mappings: &[cis("2.1"), nsa(NSA_ETCD), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0153"), peer(PeerTool::Checkov, "CKV_K8S_116")],
        peer_notes: "Same CIS item as kubescape C-0153 and Checkov CKV_K8S_116. Palisade reads etcd's flags as Go's flag package does (`-cert-file` and `--cert-file` alike; parsing stops at the first non-flag) and its `ETCD_*` environment variables, as kube-bench does.",
        source: file!(),
    },
    component: Component::Etcd,
    test: Test::Required {
        flags: &["cert-file", "key-file"],
        why: "so etcd serves its clients, and every Secret, without TLS",
    },
};

pub static CLIENT_CERT_AUTH: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "etcd-client-cert-auth-disabled",
        title: "etcd accepts clients without a certificate",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "An etcd whose `--client-cert-auth` (or `ETCD_CLIENT_CERT_AUTH`) is `false` or not set (it defaults to `false`; kubeadm sets `true`). CIS Kubernetes Benchmark v1.10.0 recommendation 2.2 (Automated).",
        rationale: "Without client certificate authentication, and with etcd's own authentication off as it is by default, anyone who reaches the client port (2379) reads and rewrites the whole cluster, bypassing the API server's authentication, RBAC, admission and audit.",
        remediation: "Set `--client-cert-auth=true` and `--trusted-ca-file` to etcd's CA, and give the API server a client certificate (`--etcd-certfile`, `--etcd-keyfile`).",
        references: &[ETCD_SECURITY_DOC, ETCD_DOC, CIS_DOC],
        mappings: &[cis("2.2"), nsa(NSA_ETCD), mitre("T1552")],
        peers: &[peer(PeerTool::Kubescape, "C-0154"), peer(PeerTool::Checkov, "CKV_K8S_117")],
        peer_notes: "Same CIS item as kubescape C-0154 and Checkov CKV_K8S_117. A bare `--client-cert-auth` is true; in `--client-cert-auth true` the `true` is a stray argument (Go booleans take only `=`), where etcd stops reading flags.",
        source: file!(),
    },
    component: Component::Etcd,
    test: Test::Bool {
        flag: "client-cert-auth",
        default: false,
        want: true,
        why: "so anyone who reaches etcd's client port reads and rewrites the whole cluster",
    },
};

pub static AUTO_TLS: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "etcd-auto-tls-enabled",
        title: "etcd serves clients a self-signed certificate",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "An etcd with `--auto-tls=true` (or `ETCD_AUTO_TLS=true`). CIS Kubernetes Benchmark v1.10.0 recommendation 2.3 (Automated).",
        rationale: "With auto TLS etcd generates a self-signed certificate for client connections. Clients cannot verify it, so the connection is encrypted but not authenticated, and anyone on the path can pose as etcd.",
        remediation: "Remove `--auto-tls` and set `--cert-file` and `--key-file` to a certificate signed by etcd's CA.",
        references: &[ETCD_SECURITY_DOC, ETCD_DOC, CIS_DOC],
        mappings: &[cis("2.3"), nsa(NSA_ETCD), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0155"), peer(PeerTool::Checkov, "CKV_K8S_118")],
        peer_notes: "Same CIS item as kubescape C-0155 and Checkov CKV_K8S_118.",
        source: file!(),
    },
    component: Component::Etcd,
    test: Test::Bool {
        flag: "auto-tls",
        default: false,
        want: false,
        why: "so etcd serves clients a self-signed certificate they cannot verify",
    },
};

pub static PEER_CERT_FILE: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "etcd-peer-cert-file-missing",
        title: "etcd members talk to each other without certificates",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "An etcd without `--peer-cert-file` or `--peer-key-file` (or their `ETCD_*` variables). CIS notes it matters for clusters of several members; a single member still listens on its peer URL. CIS Kubernetes Benchmark v1.10.0 recommendation 2.4 (Automated).",
        rationale: "Members replicate every write to each other over the peer port (2380). Without peer certificates that traffic, Secrets included, is plain HTTP, readable and alterable by anyone on the path.",
        remediation: "Set `--peer-cert-file` and `--peer-key-file` to a peer certificate signed by etcd's CA (kubeadm: `/etc/kubernetes/pki/etcd/peer.crt`) and use `https://` peer URLs.",
        references: &[ETCD_SECURITY_DOC, ETCD_DOC, CIS_DOC],
        mappings: &[cis("2.4"), nsa(NSA_ETCD), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0156"), peer(PeerTool::Checkov, "CKV_K8S_119")],
        peer_notes: "Same CIS item as kubescape C-0156 and Checkov CKV_K8S_119.",
        source: file!(),
    },
    component: Component::Etcd,
    test: Test::Required {
        flags: &["peer-cert-file", "peer-key-file"],
        why: "so members replicate the cluster state to each other without TLS",
    },
};

pub static PEER_CLIENT_CERT_AUTH: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "etcd-peer-client-cert-auth-disabled",
        title: "etcd accepts peers without a certificate",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "An etcd whose `--peer-client-cert-auth` (or `ETCD_PEER_CLIENT_CERT_AUTH`) is `false` or not set (it defaults to `false`; kubeadm sets `true`). CIS Kubernetes Benchmark v1.10.0 recommendation 2.5 (Automated).",
        rationale: "Without peer certificate authentication, any host that reaches the peer port can talk to the member as if it were one, receiving replication traffic or disrupting the cluster.",
        remediation: "Set `--peer-client-cert-auth=true` and `--peer-trusted-ca-file` to etcd's CA.",
        references: &[ETCD_SECURITY_DOC, ETCD_DOC, CIS_DOC],
        mappings: &[cis("2.5"), nsa(NSA_ETCD), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0157"), peer(PeerTool::Checkov, "CKV_K8S_121")],
        peer_notes: "Same CIS item as kubescape C-0157 and Checkov CKV_K8S_121 (which looks only at `args` of Pods named `etcd`); Palisade finds etcd by its command or image and reads `command` and `args`.",
        source: file!(),
    },
    component: Component::Etcd,
    test: Test::Bool {
        flag: "peer-client-cert-auth",
        default: false,
        want: true,
        why: "so any host that reaches the peer port is treated as a member",
    },
};

pub static PEER_AUTO_TLS: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "etcd-peer-auto-tls-enabled",
        title: "etcd members use self-signed peer certificates",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "An etcd with `--peer-auto-tls=true` (or `ETCD_PEER_AUTO_TLS=true`). CIS Kubernetes Benchmark v1.10.0 recommendation 2.6 (Automated).",
        rationale: "With peer auto TLS members generate self-signed certificates, so peer connections are encrypted but no member can tell a real peer from an impostor.",
        remediation: "Remove `--peer-auto-tls` and set `--peer-cert-file` and `--peer-key-file` to certificates signed by etcd's CA.",
        references: &[ETCD_SECURITY_DOC, ETCD_DOC, CIS_DOC],
        mappings: &[cis("2.6"), nsa(NSA_ETCD), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0158")],
        peer_notes: "Same CIS item as kubescape C-0158; no Checkov equivalent was found.",
        source: file!(),
    },
    component: Component::Etcd,
    test: Test::Bool {
        flag: "peer-auto-tls",
        default: false,
        want: false,
        why: "so members use self-signed peer certificates that authenticate nothing",
    },
};

#[cfg(test)]
mod tests {
    use crate::controlplane::tests::component;
    use crate::testing::{ids, run};

    fn etcd(args: &[&str]) -> String {
        component("etcd", "registry.k8s.io/etcd:3.5.12-0", args)
    }

    fn etcd_env(args: &[&str], env: &str) -> String {
        format!("{}    env:\n{env}", etcd(args))
    }

    #[test]
    fn tls_and_client_certificates() {
        let good = [
            "--cert-file=/s.crt",
            "--key-file=/s.key",
            "--client-cert-auth=true",
            "--peer-cert-file=/p.crt",
            "--peer-key-file=/p.key",
            "--peer-client-cert-auth=true",
        ];
        let all = [
            "etcd-cert-file-missing",
            "etcd-client-cert-auth-disabled",
            "etcd-auto-tls-enabled",
            "etcd-peer-cert-file-missing",
            "etcd-peer-client-cert-auth-disabled",
            "etcd-peer-auto-tls-enabled",
        ];
        assert!(run(&etcd(&good), &all).is_empty());
        assert_eq!(
            ids(&run(&etcd(&[]), &all)),
            [
                "etcd-cert-file-missing",
                "etcd-client-cert-auth-disabled",
                "etcd-peer-cert-file-missing",
                "etcd-peer-client-cert-auth-disabled"
            ]
        );
        let hits = run(&etcd(&["--auto-tls", "--peer-auto-tls=true"]), &all[2..3]);
        assert_eq!(hits[0].path, "spec.containers[0].command[1]");
        assert_eq!(run(&etcd(&["--peer-auto-tls=true"]), &all[5..]).len(), 1);
        // Go flags: a single dash works, and `true` after a boolean stops parsing.
        assert!(run(&etcd(&["-client-cert-auth"]), &all[1..2]).is_empty());
        assert!(run(
            &etcd(&["--client-cert-auth", "true", "--auto-tls=true"]),
            &all[1..3]
        )
        .is_empty());
        let hits = run(&etcd(&["--client-cert-auth=false"]), &all[1..2]);
        assert!(
            hits[0]
                .message
                .starts_with("etcd: --client-cert-auth=false, so anyone"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn environment_variables() {
        const ID: &[&str] = &["etcd-client-cert-auth-disabled"];
        assert!(run(
            &etcd_env(&[], "    - {name: ETCD_CLIENT_CERT_AUTH, value: 'true'}\n"),
            ID
        )
        .is_empty());
        let hits = run(
            &etcd_env(
                &[],
                "    - name: ETCD_CLIENT_CERT_AUTH\n      value: 'false'\n",
            ),
            ID,
        );
        assert_eq!(hits[0].path, "spec.containers[0].env[0].value");
        assert!(
            hits[0].message.contains("ETCD_CLIENT_CERT_AUTH=false"),
            "{}",
            hits[0].message
        );
        // The command line wins over the environment.
        assert!(run(
            &etcd_env(
                &["--client-cert-auth=true"],
                "    - {name: ETCD_CLIENT_CERT_AUTH, value: 'false'}\n"
            ),
            ID
        )
        .is_empty());
        assert!(run(
            &etcd_env(
                &[],
                "    - {name: ETCD_CERT_FILE, value: /c}\n    - {name: ETCD_KEY_FILE, value: /k}\n"
            ),
            &["etcd-cert-file-missing"]
        )
        .is_empty());
    }

    #[test]
    fn a_config_file_is_not_judged() {
        let all = ["etcd-cert-file-missing", "etcd-client-cert-auth-disabled"];
        assert!(run(&etcd(&["--config-file=/etc/etcd/etcd.conf.yml"]), &all).is_empty());
    }
}
