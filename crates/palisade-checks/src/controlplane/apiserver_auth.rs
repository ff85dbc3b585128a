//! API server authentication and authorization flags: anonymous requests (CIS 1.2.1),
//! static token files (1.2.2), authorization modes (1.2.6-1.2.8), profiling (1.2.15) and
//! service account tokens (1.2.21, 1.2.22).

use palisade_engine::{CheckSettings, Findings};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::flags::{Component, List, Target};
use super::{
    report_at, report_missing, FlagRule, Test, APISERVER_DOC, CIS_DOC, NSA_AUTH, NSA_CONTROL_PLANE,
};
use crate::pss::helpers::{cis, mitre, nsa, peer};

const AUTHN_DOC: &str = "https://kubernetes.io/docs/reference/access-authn-authz/authentication/";
const AUTHZ_DOC: &str = "https://kubernetes.io/docs/reference/access-authn-authz/authorization/";
const NODE_DOC: &str = "https://kubernetes.io/docs/reference/access-authn-authz/node/";

pub static ANONYMOUS_AUTH: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-anonymous-auth",
        title: "API server serves anonymous requests",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver whose `--anonymous-auth` is `true` or not set (it defaults to `true`). With `--authentication-config` (v1.32+) and no flag, the file may limit anonymous access to some paths; Palisade cannot read it and reports the finding at low. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.1 (Manual).",
        rationale: "A request no authenticator accepts is served as user `system:anonymous` in group `system:unauthenticated`. RBAC then decides, so the risk is every grant to those subjects: a single binding of `system:unauthenticated` (or a permissive default such as discovery and version endpoints) is open to anyone who reaches the port, with nothing in the audit log to tie it to a person.",
        remediation: "Set `--anonymous-auth=false`. If load balancers need unauthenticated health checks, keep anonymous access only for `/healthz`, `/livez` and `/readyz` with the structured authentication configuration (`anonymous.conditions` in `--authentication-config`, v1.32+) instead of the flag.",
        references: &[AUTHN_DOC, "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests", APISERVER_DOC, CIS_DOC],
        mappings: &[cis("1.2.1"), nsa(NSA_AUTH), mitre("T1078.001")],
        peers: &[peer(PeerTool::Kubescape, "C-0113"), peer(PeerTool::Checkov, "CKV_K8S_68")],
        peer_notes: "Same CIS item as kubescape C-0113 and Checkov CKV_K8S_68. Palisade reads `command` and `args` with pflag's rules (`--anonymous-auth false` is not a value: booleans take only `=`; the last of repeated flags wins) and treats a missing flag as its default, `true`. kubescape C-0262 judges the RBAC grants anonymous users hold, which `palisade scan`'s `rbac-public-grant` covers.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(anonymous_auth),
};

fn anonymous_auth(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    _: &CheckSettings,
    out: &mut Findings,
) {
    let why = "so requests without credentials are served as user system:anonymous, and every grant to system:anonymous or system:unauthenticated is open to anyone who reaches the port";
    match t.flags.last("anonymous-auth") {
        None => {
            let config = t.flags.set("authentication-config").is_some();
            let extra = if config {
                " unless the --authentication-config file limits it"
            } else {
                ""
            };
            let f = report_missing(
                meta,
                t,
                format!(
                    "{}: --anonymous-auth is not set and defaults to true{extra}, {why}; set --anonymous-auth=false",
                    t.who()
                ),
                out,
            );
            if config {
                f.severity = Severity::Low;
            }
        }
        Some(s) => {
            if s.as_bool() == Some(true) {
                report_at(
                    meta,
                    s,
                    format!(
                        "{}: {}, {why}; set --anonymous-auth=false",
                        t.who(),
                        s.written()
                    ),
                    out,
                );
            }
        }
    }
}

pub static TOKEN_AUTH_FILE: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-token-auth-file",
        title: "API server accepts static tokens from a file",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "A kube-apiserver with `--token-auth-file` set to a file. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.2 (Automated).",
        rationale: "Static tokens are long-lived bearer secrets kept in plain text on the control-plane node. They never expire, cannot be revoked without editing the file and restarting the API server, and are not tied to any identity provider, so a leaked token is a lasting way in, often with `system:masters` power.",
        remediation: "Remove `--token-auth-file` and authenticate people with OIDC (`--oidc-*` or `--authentication-config`) or short-lived client certificates, and workloads with service account tokens.",
        references: &[AUTHN_DOC, "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#static-token-file", CIS_DOC],
        mappings: &[cis("1.2.2"), nsa(NSA_AUTH), mitre("T1552.001")],
        peers: &[peer(PeerTool::Kubescape, "C-0114"), peer(PeerTool::Checkov, "CKV_K8S_70")],
        peer_notes: "Same CIS item as kubescape C-0114 and Checkov CKV_K8S_70. Palisade follows pflag: `--token-auth-file /etc/tokens.csv` (value as the next element) counts, and `--token-auth-file=` (empty) configures no file and is not reported.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Forbidden {
        flag: "token-auth-file",
        why: "so every bearer token in that file authenticates its user until the file is edited and the API server restarted",
    },
};

pub static AUTHORIZATION_ALWAYS_ALLOW: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-authorization-always-allow",
        title: "API server authorizes every request",
        severity: Severity::Critical,
        category: Category::ControlPlane,
        description: "A kube-apiserver whose `--authorization-mode` includes `AlwaysAllow`, or is not set, in which case it defaults to `AlwaysAllow`. Not judged when `--authorization-config` (v1.29+) replaces the flag. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.6 (Automated).",
        rationale: "Authorizers are asked in order and the first to allow wins: with `AlwaysAllow` anywhere in the list, every request that reaches it is allowed. Any authenticated user or service account, and every anonymous request if anonymous auth is on, can read every Secret and create privileged pods; RBAC is decoration.",
        remediation: "Set `--authorization-mode=Node,RBAC` (kubeadm's default) and grant what each subject needs with Roles and RoleBindings.",
        references: &[AUTHZ_DOC, APISERVER_DOC, CIS_DOC],
        mappings: &[cis("1.2.6"), nsa(NSA_AUTH), mitre("T1078")],
        peers: &[peer(PeerTool::Kubescape, "C-0118"), peer(PeerTool::Checkov, "CKV_K8S_74")],
        peer_notes: "Same CIS item as kubescape C-0118 and Checkov CKV_K8S_74. Palisade also reports a missing `--authorization-mode` (its default is AlwaysAllow), reads the flag as pflag's string slice (repeated flags add up; quoted CSV items are one item) and stays quiet when `--authorization-config` decides instead.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(always_allow),
};

/// Whether `--authorization-config` replaces `--authorization-mode`.
fn authz_from_file(t: &Target<'_, '_>) -> bool {
    t.flags.set("authorization-config").is_some() && t.flags.last("authorization-mode").is_none()
}

fn always_allow(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    _: &CheckSettings,
    out: &mut Findings,
) {
    if authz_from_file(t) {
        return;
    }
    match t.flags.list("authorization-mode") {
        List::Unset => {
            report_missing(
                meta,
                t,
                format!("{}: --authorization-mode is not set and defaults to AlwaysAllow, so every request is authorized, anonymous ones included when anonymous auth is on; set --authorization-mode=Node,RBAC", t.who()),
                out,
            );
        }
        List::Items(items) => {
            if let Some((_, s)) = items.iter().find(|(m, _)| m.trim() == "AlwaysAllow") {
                report_at(
                    meta,
                    s,
                    format!("{}: {} includes AlwaysAllow, so every request that reaches that authorizer is allowed and RBAC denies nothing; remove AlwaysAllow (--authorization-mode=Node,RBAC)", t.who(), s.written()),
                    out,
                );
            }
        }
        List::Invalid(_) => {}
    }
}

pub static AUTHORIZATION_NO_NODE: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-authorization-no-node",
        title: "API server does not use the Node authorizer",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver whose `--authorization-mode` does not include `Node`. A missing flag is reported by `apiserver-authorization-always-allow` (its default is AlwaysAllow) and here only when that check is not run. Not judged when `--authorization-config` replaces the flag. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.7 (Automated).",
        rationale: "The Node authorizer limits each kubelet to the Secrets, ConfigMaps, volumes and pods bound to its own node. Without it kubelets need broad RBAC grants to work (the `system:node` role for every member of `system:nodes`), so one compromised node's credentials read every Secret in the cluster.",
        remediation: "Add `Node` first: `--authorization-mode=Node,RBAC`, and enable the `NodeRestriction` admission plugin with it.",
        references: &[NODE_DOC, AUTHZ_DOC, CIS_DOC],
        mappings: &[cis("1.2.7"), nsa(NSA_AUTH), mitre("T1552.007")],
        peers: &[peer(PeerTool::Kubescape, "C-0119"), peer(PeerTool::Checkov, "CKV_K8S_75")],
        peer_notes: "Same CIS item as kubescape C-0119 and Checkov CKV_K8S_75. A missing `--authorization-mode` is one problem (AlwaysAllow), reported once by `apiserver-authorization-always-allow`.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(no_node),
};

fn no_node(meta: &'static CheckMeta, t: &Target<'_, '_>, s: &CheckSettings, out: &mut Findings) {
    missing_mode(
        meta,
        t,
        s,
        "Node",
        "so kubelets are not confined to the objects of their own node, and with the usual system:nodes grants one compromised node reads every Secret",
        out,
    );
}

pub static AUTHORIZATION_NO_RBAC: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-authorization-no-rbac",
        title: "API server does not use RBAC",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver whose `--authorization-mode` does not include `RBAC`. A missing flag is reported by `apiserver-authorization-always-allow` and here only when that check is not run. Not judged when `--authorization-config` replaces the flag. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.8 (Automated).",
        rationale: "Without the RBAC authorizer, Roles and RoleBindings grant nothing: access rests on the other modes (an ABAC policy file, a webhook), which the cluster's own API cannot show or audit, and least-privilege grants per namespace are not possible.",
        remediation: "Include `RBAC`: `--authorization-mode=Node,RBAC`.",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/rbac/", AUTHZ_DOC, CIS_DOC],
        mappings: &[cis("1.2.8"), nsa(NSA_AUTH), mitre("T1078")],
        peers: &[peer(PeerTool::Kubescape, "C-0120"), peer(PeerTool::Checkov, "CKV_K8S_77")],
        peer_notes: "Same CIS item as kubescape C-0120 and Checkov CKV_K8S_77. kubescape C-0088 asks the same question of a live cluster.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(no_rbac),
};

fn no_rbac(meta: &'static CheckMeta, t: &Target<'_, '_>, s: &CheckSettings, out: &mut Findings) {
    missing_mode(
        meta,
        t,
        s,
        "RBAC",
        "so Roles and RoleBindings grant nothing and authorization rests on the other modes",
        out,
    );
}

/// Reports an `--authorization-mode` without `mode`.
fn missing_mode(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    settings: &CheckSettings,
    mode: &str,
    why: &str,
    out: &mut Findings,
) {
    if authz_from_file(t) {
        return;
    }
    match t.flags.list("authorization-mode") {
        List::Unset => {
            if !settings.is_active(AUTHORIZATION_ALWAYS_ALLOW.meta.id) {
                report_missing(
                    meta,
                    t,
                    format!("{}: --authorization-mode is not set (default AlwaysAllow), so {mode} is not used; set --authorization-mode=Node,RBAC", t.who()),
                    out,
                );
            }
        }
        List::Items(items) => {
            if items.iter().any(|(m, _)| m.trim() == mode) {
                return;
            }
            if let Some((_, s)) = items.last() {
                report_at(
                    meta,
                    s,
                    format!(
                        "{}: {} does not include {mode}, {why}; add it (--authorization-mode=Node,RBAC)",
                        t.who(),
                        s.written()
                    ),
                    out,
                );
            }
        }
        List::Invalid(_) => {}
    }
}

pub static PROFILING: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-profiling-enabled",
        title: "API server profiling is enabled",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver whose `--profiling` is `true` or not set (it defaults to `true`). CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.15 (Automated).",
        rationale: "Profiling serves `/debug/pprof` (heap, goroutine and CPU profiles) to any client authorized for that path. The profiles expose the server's internals, and each CPU or heap profile costs the API server work on demand, so a user allowed the path can slow the control plane.",
        remediation: "Set `--profiling=false`; turn it on briefly when a performance problem needs it.",
        references: &[APISERVER_DOC, "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/#options", CIS_DOC],
        mappings: &[cis("1.2.15"), nsa(NSA_CONTROL_PLANE), mitre("T1499")],
        peers: &[peer(PeerTool::Kubescape, "C-0129"), peer(PeerTool::Checkov, "CKV_K8S_90")],
        peer_notes: "Same CIS item as kubescape C-0129 and Checkov CKV_K8S_90 (which looks for the literal `--profiling=false` in `command`). Palisade reads booleans as pflag does: `--profiling=f` and `--profiling=0` are false, `--profiling` alone is true, and the last occurrence wins.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Bool {
        flag: "profiling",
        default: true,
        want: false,
        why: "so /debug/pprof serves the API server's profiles to any client allowed that path",
    },
};

pub static SERVICE_ACCOUNT_LOOKUP: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-service-account-lookup-disabled",
        title: "API server does not check that a token's service account still exists",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver with `--service-account-lookup=false` (the default is `true`). CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.21 (Automated).",
        rationale: "With lookup off, the API server only checks a service account token's signature and expiry: a token keeps working after its ServiceAccount, pod or legacy token Secret is deleted, so deleting an account does not cut off a stolen token.",
        remediation: "Remove `--service-account-lookup=false` (or set it to `true`).",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/", APISERVER_DOC, CIS_DOC],
        mappings: &[cis("1.2.21"), nsa(NSA_AUTH), mitre("T1528")],
        peers: &[peer(PeerTool::Kubescape, "C-0135"), peer(PeerTool::Checkov, "CKV_K8S_96")],
        peer_notes: "Same CIS item as kubescape C-0135 and Checkov CKV_K8S_96. A missing flag is its default, `true`, and passes.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Bool {
        flag: "service-account-lookup",
        default: true,
        want: true,
        why: "so service account tokens stay valid after their ServiceAccount or token Secret is deleted",
    },
};

pub static SERVICE_ACCOUNT_KEY_FILE: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-service-account-key-file-missing",
        title: "API server has no service account verification key",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver without `--service-account-key-file`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.22 (Automated).",
        rationale: "Without it, service account tokens are verified with the key of `--tls-private-key-file`, which ties token signing to the serving certificate: neither can be rotated on its own, and the keys that sign tokens must be rotated with a grace period in which both old and new are accepted, which only a key file listing both allows.",
        remediation: "Set `--service-account-key-file` to the public key(s) matching the controller-manager's `--service-account-private-key-file` and the API server's `--service-account-signing-key-file` (kubeadm: `/etc/kubernetes/pki/sa.pub`).",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/", APISERVER_DOC, CIS_DOC],
        mappings: &[cis("1.2.22"), nsa(NSA_AUTH), mitre("T1528")],
        peers: &[peer(PeerTool::Kubescape, "C-0136"), peer(PeerTool::Checkov, "CKV_K8S_97")],
        peer_notes: "Same CIS item as kubescape C-0136 and Checkov CKV_K8S_97. An empty value (`--service-account-key-file=`) counts as not set.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Required {
        flags: &["service-account-key-file"],
        why: "so service account tokens are verified with the serving certificate's key and token keys cannot be rotated on their own",
    },
};

#[cfg(test)]
mod tests {
    use crate::controlplane::tests::{apiserver, apiserver_args};
    use crate::testing::{ids, run, run_with};
    use palisade_engine::CheckSettings;
    use palisade_model::Severity;

    #[test]
    fn anonymous_auth() {
        const ID: &[&str] = &["apiserver-anonymous-auth"];
        let hits = run(&apiserver(&[]), ID);
        assert_eq!(ids(&hits), ID);
        assert_eq!(hits[0].path, "spec.containers[0].command");
        assert!(
            hits[0]
                .message
                .starts_with("kube-apiserver: --anonymous-auth is not set and defaults to true"),
            "{}",
            hits[0].message
        );
        assert!(run(&apiserver(&["--anonymous-auth=false"]), ID).is_empty());
        assert!(run(
            &apiserver(&["--anonymous-auth=true", "--anonymous-auth=false"]),
            ID
        )
        .is_empty());
        // A boolean does not take the next element: `false` is a stray argument.
        let hits = run(&apiserver(&["--anonymous-auth", "false"]), ID);
        assert_eq!(hits[0].path, "spec.containers[0].command[1]");
        assert!(
            hits[0].message.contains("--anonymous-auth, so"),
            "{}",
            hits[0].message
        );
        let hits = run(
            &apiserver(&["--anonymous-auth=false", "--anonymous-auth=True"]),
            ID,
        );
        assert_eq!(hits[0].path, "spec.containers[0].command[2]");
        // Limited by a structured authentication configuration: graded low.
        let hits = run(&apiserver(&["--authentication-config=/etc/authn.yaml"]), ID);
        assert_eq!(hits[0].severity, Severity::Low);
        // args only, found by image.
        assert_eq!(ids(&run(&apiserver_args(&["--profiling=false"]), ID)), ID);
        assert!(run(&apiserver_args(&["--anonymous-auth=false"]), ID).is_empty());
    }

    #[test]
    fn token_auth_file() {
        const ID: &[&str] = &["apiserver-token-auth-file"];
        assert!(run(&apiserver(&[]), ID).is_empty());
        assert!(run(&apiserver(&["--token-auth-file="]), ID).is_empty());
        for args in [
            &["--token-auth-file=/etc/tokens.csv"][..],
            &["--token-auth-file", "/etc/tokens.csv"],
        ] {
            let hits = run(&apiserver(args), ID);
            assert_eq!(ids(&hits), ID, "{args:?}");
            assert_eq!(hits[0].path, "spec.containers[0].command[1]");
            assert!(
                hits[0]
                    .message
                    .contains("--token-auth-file=/etc/tokens.csv is set"),
                "{}",
                hits[0].message
            );
        }
    }

    #[test]
    fn authorization_modes() {
        const ALL: &[&str] = &[
            "apiserver-authorization-always-allow",
            "apiserver-authorization-no-node",
            "apiserver-authorization-no-rbac",
        ];
        assert!(run(&apiserver(&["--authorization-mode=Node,RBAC"]), ALL).is_empty());
        assert!(run(
            &apiserver(&["--authorization-mode", "Node", "--authorization-mode=RBAC"]),
            ALL
        )
        .is_empty());
        // Missing: one finding, AlwaysAllow.
        let hits = run(&apiserver(&[]), ALL);
        assert_eq!(ids(&hits), ["apiserver-authorization-always-allow"]);
        assert_eq!(hits[0].severity, Severity::Critical);
        // ... unless that check is not run.
        let settings = CheckSettings {
            active: Some(ALL[1..].iter().copied().collect()),
            ..CheckSettings::default()
        };
        let hits = run_with(&apiserver(&[]), &ALL[1..], "restricted", &settings);
        assert_eq!(ids(&hits), &ALL[1..]);
        let hits = run(
            &apiserver(&["--authorization-mode=Node,RBAC,AlwaysAllow"]),
            ALL,
        );
        assert_eq!(ids(&hits), ["apiserver-authorization-always-allow"]);
        assert_eq!(hits[0].path, "spec.containers[0].command[1]");
        let hits = run(&apiserver(&["--authorization-mode=RBAC"]), ALL);
        assert_eq!(ids(&hits), ["apiserver-authorization-no-node"]);
        assert!(
            hits[0]
                .message
                .contains("--authorization-mode=RBAC does not include Node"),
            "{}",
            hits[0].message
        );
        let hits = run(&apiserver(&["--authorization-mode=Node,Webhook"]), ALL);
        assert_eq!(ids(&hits), ["apiserver-authorization-no-rbac"]);
        // A quoted list is one CSV item: "Node,RBAC" is not Node.
        let hits = run(&apiserver(&[r#"--authorization-mode="Node,RBAC""#]), ALL);
        assert_eq!(hits.len(), 2);
        // The structured authorization configuration decides instead.
        assert!(run(&apiserver(&["--authorization-config=/etc/authz.yaml"]), ALL).is_empty());
    }

    #[test]
    fn profiling_and_service_accounts() {
        let ids_of = |args: &[&str], id: &str| {
            ids(&run_with(
                &apiserver(args),
                &[id],
                "restricted",
                &CheckSettings::default(),
            ))
        };
        assert_eq!(ids_of(&[], "apiserver-profiling-enabled").len(), 1);
        assert!(ids_of(&["--profiling=false"], "apiserver-profiling-enabled").is_empty());
        assert!(ids_of(&["--profiling=0"], "apiserver-profiling-enabled").is_empty());
        assert_eq!(
            ids_of(
                &["--profiling=false", "--profiling"],
                "apiserver-profiling-enabled"
            )
            .len(),
            1
        );
        assert!(ids_of(&[], "apiserver-service-account-lookup-disabled").is_empty());
        assert_eq!(
            ids_of(
                &["--service-account-lookup=false"],
                "apiserver-service-account-lookup-disabled"
            )
            .len(),
            1
        );
        assert_eq!(
            ids_of(&[], "apiserver-service-account-key-file-missing").len(),
            1
        );
        assert!(ids_of(
            &["--service-account-key-file", "/etc/kubernetes/pki/sa.pub"],
            "apiserver-service-account-key-file-missing"
        )
        .is_empty());
    }
}
