//! The kubelet's effective configuration (CIS Kubernetes Benchmark v1.10.0 section
//! 4.2). Each finding names the value the kubelet runs with and where it came from: a
//! default (which one depends on whether `--config` is given), the `--config` file, a
//! `--config-dir` drop-in, or a flag.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_node::kubelet::ROTATE_SERVER_CERT_GATE;
use palisade_node::{Kubelet, Setting};

use super::{
    provenance, where_to_set, NodeRule, NodeTest, Verdicts, CIS_DOC, KUBELET_AUTH_DOC,
    KUBELET_CONFIG_DOC, KUBELET_DOC, NSA_WORKER,
};
use crate::pss::helpers::{cis, mitre, nsa, peer};

fn bool_setting(k: &Kubelet, out: &mut Verdicts, field: &str, flag: &str, want: bool, why: &str) {
    let setting = k.config.get(field);
    if setting.and_then(Setting::as_bool) == Some(want) {
        return;
    }
    let now = setting.map_or_else(|| "not set".to_owned(), provenance);
    out.fail(
        field,
        setting,
        format!(
            "{field} is {now}, {why}; {}",
            where_to_set(k, field, flag, &want.to_string())
        ),
    );
}

/// Reports `field` when its effective value is `bad`: `{field} is {value} (from
/// {source}), {why}; {where to set fix}`.
fn report_if(
    k: &Kubelet,
    out: &mut Verdicts,
    (field, flag, fix): (&str, &str, &str),
    bad: impl Fn(&Setting) -> bool,
    why: &str,
) {
    let setting = k.config.get(field);
    if setting.is_some_and(bad) {
        out.fail(
            field,
            setting,
            format!(
                "{field} is {}, {why}; {}",
                setting.map(provenance).unwrap_or_default(),
                where_to_set(k, field, flag, fix)
            ),
        );
    }
}

pub static ANONYMOUS_AUTH: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-anonymous-auth-enabled",
        title: "The kubelet accepts anonymous requests",
        severity: Severity::Critical,
        category: Category::Node,
        description: "The kubelet's effective `authentication.anonymous.enabled` (`--anonymous-auth`) is true. Without `--config` it defaults to true; with a `KubeletConfiguration` file, to false. CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.1.",
        rationale: "Requests without credentials reach the kubelet's API as `system:anonymous`; with `AlwaysAllow` authorization that is exec into every pod on the node, and otherwise still probing of its endpoints.",
        remediation: "Set `authentication.anonymous.enabled: false` in the kubelet's configuration file (or `--anonymous-auth=false`) and restart the kubelet.",
        references: &[KUBELET_AUTH_DOC, KUBELET_CONFIG_DOC, CIS_DOC],
        mappings: &[cis("4.2.1"), nsa(NSA_WORKER), mitre("T1078.001")],
        peers: &[peer(PeerTool::KubeBench, "4.2.1"), peer(PeerTool::Kubescape, "C-0069")],
        peer_notes: "kube-bench 4.2.1 reads the flag, else the first config file of its own list, and fails when neither sets the value, although with `--config` the kubelet's default is false (a false failure on every kubelet that relies on it). Palisade computes the effective value: defaults for the way the kubelet was started, then its `--config` file, drop-ins and flags.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        bool_setting(
            k,
            out,
            "authentication.anonymous.enabled",
            "anonymous-auth",
            false,
            "so requests without credentials reach the kubelet's API as system:anonymous",
        );
    }),
};

pub static AUTHORIZATION_ALWAYS_ALLOW: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-authorization-always-allow",
        title: "The kubelet authorizes every request",
        severity: Severity::Critical,
        category: Category::Node,
        description: "The kubelet's effective `authorization.mode` (`--authorization-mode`) is `AlwaysAllow`, its default without `--config` (with a `KubeletConfiguration` file the default is `Webhook`). CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.2.",
        rationale: "Every authenticated (or, with anonymous auth, every) caller may use the whole kubelet API: exec, attach and port-forward into any pod on the node, read its logs and metrics.",
        remediation: "Set `authorization.mode: Webhook` (and `authentication.webhook.enabled: true`) in the kubelet's configuration file, or `--authorization-mode=Webhook`.",
        references: &[KUBELET_AUTH_DOC, KUBELET_CONFIG_DOC, CIS_DOC],
        mappings: &[cis("4.2.2"), nsa(NSA_WORKER), mitre("T1609")],
        peers: &[peer(PeerTool::KubeBench, "4.2.2"), peer(PeerTool::Kubescape, "C-0070")],
        peer_notes: "kube-bench 4.2.2 fails when neither the flag nor its config file sets the mode, although with `--config` the default is `Webhook`; Palisade reports `AlwaysAllow` only when the kubelet runs it (without `--config` it is the default), with its source.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        report_if(
            k,
            out,
            ("authorization.mode", "authorization-mode", "Webhook"),
            |s| s.as_str() == Some("AlwaysAllow"),
            "so any caller the kubelet authenticates may exec into every pod on the node",
        );
    }),
};

pub static CLIENT_CA: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-client-ca-file-not-set",
        title: "The kubelet does not verify client certificates",
        severity: Severity::High,
        category: Category::Node,
        description: "The kubelet's effective `authentication.x509.clientCAFile` (`--client-ca-file`) is not set. CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.3.",
        rationale: "Without a client CA the kubelet cannot authenticate the API server (or anyone) by certificate, so `exec` and `logs` from the API server are unauthenticated or fail, and a caller is not proven to be the API server.",
        remediation: "Set `authentication.x509.clientCAFile` to the cluster CA (kubeadm: `/etc/kubernetes/pki/ca.crt`), or `--client-ca-file`.",
        references: &[KUBELET_AUTH_DOC, KUBELET_CONFIG_DOC, CIS_DOC],
        mappings: &[cis("4.2.3"), nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.3")],
        peer_notes: "Same item as kube-bench 4.2.3, on the effective configuration (drop-ins included).",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        let field = "authentication.x509.clientCAFile";
        let setting = k.config.get(field);
        if setting.and_then(Setting::as_str).is_none_or(str::is_empty) {
            out.fail(
                field,
                setting,
                format!(
                    "{field} is not set, so the kubelet authenticates no client by certificate; {}",
                    where_to_set(k, field, "client-ca-file", "/etc/kubernetes/pki/ca.crt")
                ),
            );
        }
    }),
};

pub static READ_ONLY_PORT: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-read-only-port-enabled",
        title: "The kubelet serves its read-only port",
        severity: Severity::High,
        category: Category::Node,
        description: "The kubelet's effective `readOnlyPort` (`--read-only-port`) is not 0. Without `--config` it defaults to 10255; with a `KubeletConfiguration` file, to 0. CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.4.",
        rationale: "The read-only port serves pod specs (environment values included), node metrics and health without any authentication or authorization, to anything that can reach the node.",
        remediation: "Set `readOnlyPort: 0` in the kubelet's configuration file, or `--read-only-port=0`.",
        references: &[KUBELET_CONFIG_DOC, KUBELET_DOC, CIS_DOC],
        mappings: &[cis("4.2.4"), nsa(NSA_WORKER), mitre("T1613")],
        peers: &[peer(PeerTool::KubeBench, "4.2.4"), peer(PeerTool::Kubescape, "C-0069")],
        peer_notes: "kube-bench 4.2.4 passes when the port is not set anywhere; without `--config` the kubelet then serves 10255, which Palisade reports.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        report_if(
            k,
            out,
            ("readOnlyPort", "read-only-port", "0"),
            |s| s.as_i64().is_some_and(|p| p != 0),
            "so pod specs and node metrics are served without authentication",
        );
    }),
};

/// Whether a Go duration is zero (`0`, `0s`, `0h0m0s`).
fn zero_duration(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.chars()
            .all(|c| matches!(c, '0' | '.' | 'h' | 'm' | 's' | 'u' | 'n' | 'µ'))
}

pub static STREAMING_TIMEOUT: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-streaming-timeout-disabled",
        title: "The kubelet never closes idle streaming connections",
        severity: Severity::Low,
        category: Category::Node,
        description: "The kubelet's effective `streamingConnectionIdleTimeout` (`--streaming-connection-idle-timeout`) is 0 (default 4h). CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.5.",
        rationale: "Exec, attach and port-forward sessions left open forever exhaust the node and keep access alive after the credentials behind it are revoked.",
        remediation: "Set `streamingConnectionIdleTimeout: 5m` (or any non-zero duration).",
        references: &[KUBELET_CONFIG_DOC, CIS_DOC],
        mappings: &[cis("4.2.5"), nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.5")],
        peer_notes: "kube-bench 4.2.5 compares the text with `0`, so `0s` passes; Palisade reads the duration.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        report_if(
            k,
            out,
            ("streamingConnectionIdleTimeout", "streaming-connection-idle-timeout", "5m"),
            |s| s.as_str().is_some_and(zero_duration),
            "so idle exec and port-forward sessions are never closed",
        );
    }),
};

pub static IPTABLES_CHAINS: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-iptables-util-chains-disabled",
        title: "The kubelet does not manage its iptables chains",
        severity: Severity::Low,
        category: Category::Node,
        description: "The kubelet's effective `makeIPTablesUtilChains` (`--make-iptables-util-chains`) is false (default true). CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.6.",
        rationale: "The kubelet then leaves the node's packet-filter rules it relies on to others, and they may drift from what pods' networking needs.",
        remediation: "Set `makeIPTablesUtilChains: true`, or remove the flag.",
        references: &[KUBELET_CONFIG_DOC, CIS_DOC],
        mappings: &[cis("4.2.6"), nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.6")],
        peer_notes: "Same item as kube-bench 4.2.6, on the effective configuration.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        bool_setting(
            k,
            out,
            "makeIPTablesUtilChains",
            "make-iptables-util-chains",
            true,
            "so the kubelet does not keep its iptables chains",
        );
    }),
};

pub static HOSTNAME_OVERRIDE: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-hostname-override-set",
        title: "The kubelet overrides its host name",
        severity: Severity::Low,
        category: Category::Node,
        description: "The kubelet runs with `--hostname-override`. CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.7 (Manual: some clouds require the flag).",
        rationale: "The node's name then differs from its host name, which can break TLS verification between the kubelet and the API server and lets a misconfigured node register under another's name.",
        remediation: "Remove `--hostname-override` unless the platform requires it.",
        references: &[KUBELET_DOC, CIS_DOC],
        mappings: &[cis("4.2.7"), nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.7")],
        peer_notes: "Same item as kube-bench 4.2.7.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        if k.config.configz {
            out.not_applicable = Some("the kubelet's configz does not show command-line flags; run `palisade node` on the node".into());
            return;
        }
        if let Some(flag) = k.config.flag("hostname-override") {
            let source = palisade_node::Source::Flag {
                path: k.config.cmdline.clone(),
                index: flag.index,
                written: flag.written.clone(),
            };
            out.failures.push(super::Failure {
                path: "--hostname-override".into(),
                source: Some(source),
                message: format!(
                    "{} is set, so the node registers as {:?} rather than its host name; remove it unless the platform requires it",
                    flag.written, flag.value
                ),
            });
        }
    }),
};

pub static TLS_FILES: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-serving-certificate-not-set",
        title: "The kubelet serves a self-signed certificate",
        severity: Severity::Medium,
        category: Category::Node,
        description: "The kubelet has neither `tlsCertFile` and `tlsPrivateKeyFile` (`--tls-cert-file`, `--tls-private-key-file`) nor `serverTLSBootstrap` (`--rotate-server-certificates`), so it generates a self-signed serving certificate. CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.9.",
        rationale: "Clients (the API server, metrics collectors) cannot verify a self-signed kubelet, so its API can be impersonated on the network.",
        remediation: "Set `serverTLSBootstrap: true` (certificates from the cluster CA, rotated) or `tlsCertFile` and `tlsPrivateKeyFile`.",
        references: &[KUBELET_CONFIG_DOC, "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/", CIS_DOC],
        mappings: &[cis("4.2.9"), nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.9")],
        peer_notes: "kube-bench 4.2.9 asks for the two files only; Palisade also accepts `serverTLSBootstrap`, which gives CA-signed certificates without them.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        let set = |f: &str| {
            k.config
                .get(f)
                .and_then(Setting::as_str)
                .is_some_and(|v| !v.is_empty())
        };
        let bootstrap = k.config.get("serverTLSBootstrap").and_then(Setting::as_bool) == Some(true);
        let files = set("tlsCertFile") && set("tlsPrivateKeyFile");
        if !(bootstrap || files) {
            out.fail(
                "tlsCertFile",
                None,
                format!(
                    "neither tlsCertFile and tlsPrivateKeyFile nor serverTLSBootstrap is set, so the kubelet serves a self-signed certificate; {}",
                    where_to_set(k, "serverTLSBootstrap", "rotate-server-certificates", "true")
                ),
            );
        }
    }),
};

pub static ROTATE_CERTIFICATES: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-client-certificate-rotation-disabled",
        title: "The kubelet does not rotate its client certificate",
        severity: Severity::Medium,
        category: Category::Node,
        description: "The kubelet's effective `rotateCertificates` (`--rotate-certificates`) is false, which is its default. CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.10.",
        rationale: "Without rotation the node's client certificate lives until it expires (then the node drops out), and a stolen one stays valid as long.",
        remediation: "Set `rotateCertificates: true` (kubeadm does).",
        references: &[KUBELET_CONFIG_DOC, "https://kubernetes.io/docs/tasks/tls/certificate-rotation/", CIS_DOC],
        mappings: &[cis("4.2.10"), nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.10")],
        peer_notes: "kube-bench 4.2.10 passes when the setting is absent (\"not set to false\"); the kubelet's default is false, so Palisade reports it with that source.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        bool_setting(
            k,
            out,
            "rotateCertificates",
            "rotate-certificates",
            true,
            "so the node's client certificate is not renewed before it expires",
        );
    }),
};

pub static ROTATE_SERVER_CERTIFICATES: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-server-certificate-rotation-disabled",
        title: "The kubelet's serving-certificate rotation is turned off",
        severity: Severity::Medium,
        category: Category::Node,
        description: "The `RotateKubeletServerCertificate` feature gate is false in the kubelet's effective `featureGates` (`--feature-gates`); it defaults to true. CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.11.",
        rationale: "Without it the kubelet cannot request and renew a CA-signed serving certificate.",
        remediation: "Remove `RotateKubeletServerCertificate=false` from the feature gates, and set `serverTLSBootstrap: true`.",
        references: &[KUBELET_CONFIG_DOC, "https://kubernetes.io/docs/reference/command-line-tools-reference/feature-gates/", CIS_DOC],
        mappings: &[cis("4.2.11"), nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.11")],
        peer_notes: "Same item as kube-bench 4.2.11, with the flag's gates merged into the file's key by key as the kubelet merges them.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        let (gate, default) = ROTATE_SERVER_CERT_GATE;
        let field = format!("featureGates.{gate}");
        let setting = k.config.get(&field);
        if setting.and_then(Setting::as_bool).unwrap_or(default) {
            return;
        }
        out.fail(
            &field,
            setting,
            format!(
                "the {gate} feature gate is {}, so the kubelet cannot renew a CA-signed serving certificate; remove {gate}=false",
                setting.map(provenance).unwrap_or_default()
            ),
        );
    }),
};

/// The cipher suites the CIS Benchmark accepts for the kubelet.
const STRONG_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
];

pub static WEAK_CIPHERS: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-weak-cipher-suites",
        title: "The kubelet allows weak TLS cipher suites",
        severity: Severity::Low,
        category: Category::Node,
        description: "The kubelet's effective `tlsCipherSuites` (`--tls-cipher-suites`) names a suite outside the CIS Benchmark's strong list (CBC, 3DES, RC4). Unset, Go's default suites apply. CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.12.",
        rationale: "CBC-mode and legacy suites are open to padding-oracle and downgrade attacks on the kubelet's API traffic.",
        remediation: "Set `tlsCipherSuites` to AEAD suites only, e.g. `[TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305]`.",
        references: &[KUBELET_CONFIG_DOC, CIS_DOC],
        mappings: &[cis("4.2.12"), nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.12")],
        peer_notes: "kube-bench 4.2.12 is manual; Palisade names each weak suite the kubelet is configured with.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        let field = "tlsCipherSuites";
        let Some(setting) = k.config.get(field) else { return };
        let weak: Vec<&str> = setting
            .value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .filter(|s| !STRONG_CIPHERS.contains(s))
            .collect();
        if !weak.is_empty() {
            out.fail(
                field,
                Some(setting),
                format!(
                    "{field} allows {} (from {}); keep only AEAD suites",
                    weak.join(", "),
                    setting.source
                ),
            );
        }
    }),
};

pub static POD_PIDS_LIMIT: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-pod-pids-unlimited",
        title: "Pods on the node may create unlimited processes",
        severity: Severity::Low,
        category: Category::Node,
        description: "The kubelet's effective `podPidsLimit` (`--pod-max-pids`) is -1 or 0, no limit (the default is -1). CIS Kubernetes Benchmark v1.10.0 recommendation 4.2.13 (Manual).",
        rationale: "One pod's fork bomb exhausts the node's process ids and takes every other pod (and the kubelet) down with it.",
        remediation: "Set `podPidsLimit` to a bound suited to the workloads (e.g. 4096).",
        references: &[KUBELET_CONFIG_DOC, "https://kubernetes.io/docs/concepts/policy/pid-limiting/", CIS_DOC],
        mappings: &[cis("4.2.13"), nsa(NSA_WORKER), mitre("T1499")],
        peers: &[peer(PeerTool::KubeBench, "4.2.13")],
        peer_notes: "kube-bench 4.2.13 only asks that a limit be written, so `-1` (no limit) passes; Palisade reads the effective value.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        report_if(
            k,
            out,
            ("podPidsLimit", "pod-max-pids", "4096"),
            |s| s.as_i64().is_some_and(|n| n <= 0),
            "so one pod can exhaust the node's process ids",
        );
    }),
};

pub static SECCOMP_DEFAULT: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-seccomp-default-disabled",
        title: "Containers run without a seccomp profile by default",
        severity: Severity::Low,
        category: Category::Node,
        description: "The kubelet's effective `seccompDefault` (`--seccomp-default`) is false (its default), so a container that names no seccomp profile runs `Unconfined`. Hardening beyond the CIS Kubernetes Benchmark v1.10.0, which has no kubelet item for it (its 5.7.2 asks for seccomp in pod definitions).",
        rationale: "Unconfined containers can make every system call, the kernel attack surface container escapes use.",
        remediation: "Set `seccompDefault: true` (containers without a profile then get `RuntimeDefault`).",
        references: &[KUBELET_CONFIG_DOC, "https://kubernetes.io/docs/tutorials/security/seccomp/", CIS_DOC],
        mappings: &[nsa(NSA_WORKER), mitre("T1611")],
        peers: &[],
        peer_notes: "No kube-bench item: CIS v1.10 asks for seccomp in each pod (5.7.2, kubescape C-0210), which `seccompDefault` gives every pod that does not choose.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        bool_setting(
            k,
            out,
            "seccompDefault",
            "seccomp-default",
            true,
            if k.config.configz {
                "so containers that name no seccomp profile run Unconfined (unless the kubelet runs with --seccomp-default, which configz does not show)"
            } else {
                "so containers that name no seccomp profile run Unconfined"
            },
        );
    }),
};

pub static PROTECT_KERNEL_DEFAULTS: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kubelet-kernel-defaults-not-protected",
        title: "The kubelet may change kernel settings",
        severity: Severity::Low,
        category: Category::Node,
        description: "The kubelet's effective `protectKernelDefaults` (`--protect-kernel-defaults`) is false (its default): it tunes kernel parameters itself instead of failing when they differ from what it needs. CIS Kubernetes Benchmark v1.8 recommendation 4.2.6, dropped from v1.10 (whose 4.2.6 is `makeIPTablesUtilChains`); kept as hardening.",
        rationale: "Kernel parameters are the node's; with protection on, a node whose sysctls drifted refuses to start the kubelet rather than silently changing them.",
        remediation: "Set the kernel parameters the kubelet needs (`vm.overcommit_memory=1`, `kernel.panic=10`, `kernel.panic_on_oops=1`) and `protectKernelDefaults: true`.",
        references: &[KUBELET_CONFIG_DOC, CIS_DOC],
        mappings: &[nsa(NSA_WORKER)],
        peers: &[peer(PeerTool::KubeBench, "4.2.6 (cis-1.8)")],
        peer_notes: "kube-bench's cis-1.8 profile checks this as 4.2.6; its cis-1.10 profile no longer does.",
        source: file!(),
    },
    test: NodeTest::Kubelet(|_, k, out| {
        bool_setting(
            k,
            out,
            "protectKernelDefaults",
            "protect-kernel-defaults",
            true,
            "so the kubelet changes kernel parameters instead of refusing to run when they drift",
        );
    }),
};

/// Whether a `host:port` (or CIDR, which newer kube-proxies accept) listens on loopback
/// only; `None` when it cannot be read.
fn loopback_only(address: &str) -> Option<bool> {
    let address = address.trim();
    if let Some((ip, bits)) = address.split_once('/') {
        let ip: std::net::IpAddr = ip.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        return Some(match ip {
            std::net::IpAddr::V4(v4) => v4.octets()[0] == 127 && bits >= 8,
            std::net::IpAddr::V6(v6) => v6.is_loopback() && bits == 128,
        });
    }
    let host = match address.rsplit_once(':') {
        Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
        None => address,
    };
    if host.is_empty() {
        return Some(false);
    }
    if host == "localhost" {
        return Some(true);
    }
    host.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.is_loopback())
}

pub static PROXY_METRICS: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "kube-proxy-metrics-not-loopback",
        title: "kube-proxy serves its metrics beyond localhost",
        severity: Severity::Low,
        category: Category::Node,
        description: "kube-proxy's metrics address is not a loopback address: `metricsBindAddress` of its `--config` file (which then wins over the flags), else `--metrics-bind-address`; the default is `127.0.0.1:10249`. CIS Kubernetes Benchmark v1.10.0 recommendation 4.3.1.",
        rationale: "The metrics and `/debug` endpoints answer without authentication: bound to every interface, anyone who reaches the node learns its services, endpoints and rule counts.",
        remediation: "Set `metricsBindAddress: 127.0.0.1:10249` in kube-proxy's configuration (kubeadm: the `kube-proxy` ConfigMap in `kube-system`), or remove the non-loopback value.",
        references: &["https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/", CIS_DOC],
        mappings: &[cis("4.3.1"), nsa(NSA_WORKER), mitre("T1046")],
        peers: &[peer(PeerTool::KubeBench, "4.3.1")],
        peer_notes: "kube-bench 4.3.1 reads the flag and the kubeconfig file; Palisade reads kube-proxy's `--config` file, which kube-proxy lets win over the flag, inside its container when it runs in one.",
        source: file!(),
    },
    test: NodeTest::Proxy(|_, p, out| {
        let setting = &p.metrics_bind_address;
        let Some(address) = setting.as_str() else { return };
        if loopback_only(address) == Some(false) {
            out.fail(
                "metricsBindAddress",
                Some(setting),
                format!(
                    "kube-proxy serves metrics at {} (from {}), reachable from the network without authentication; set metricsBindAddress: 127.0.0.1:10249",
                    setting.shown(),
                    setting.source
                ),
            );
        }
    }),
};

#[cfg(test)]
mod tests {
    use super::{loopback_only, zero_duration};

    #[test]
    fn metrics_addresses() {
        for (address, loopback) in [
            ("127.0.0.1:10249", Some(true)),
            ("[::1]:10249", Some(true)),
            ("localhost:10249", Some(true)),
            ("0.0.0.0:10249", Some(false)),
            (":10249", Some(false)),
            ("10.0.0.4:10249", Some(false)),
            ("127.0.0.0/8", Some(true)),
            ("0.0.0.0/0", Some(false)),
            ("nonsense:1", None),
        ] {
            assert_eq!(loopback_only(address), loopback, "{address}");
        }
    }

    #[test]
    fn zero_durations() {
        for zero in ["0", "0s", "0h0m0s", "0.0s"] {
            assert!(zero_duration(zero), "{zero}");
        }
        for not in ["4h0m0s", "5m", "", "1s"] {
            assert!(!zero_duration(not), "{not}");
        }
    }
}
