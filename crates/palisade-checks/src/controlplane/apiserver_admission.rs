//! API server admission plugins (CIS 1.2.3, 1.2.9-1.2.14, and PodSecurity for 5.2.1).
//!
//! A plugin runs when `--enable-admission-plugins` names it, or when it is on by default
//! and `--disable-admission-plugins` does not name it; the deprecated `--admission-control`
//! instead lists exactly the plugins that run. Of the plugins checked here,
//! `NamespaceLifecycle`, `ServiceAccount` and (from v1.23) `PodSecurity` are on by
//! default; `NodeRestriction`, `AlwaysPullImages`, `EventRateLimit`,
//! `DenyServiceExternalIPs` and `AlwaysAdmit` are not.

use palisade_engine::{CheckSettings, Findings};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::flags::{Component, List, Setting, Target};
use super::{
    report_at, report_missing, FlagRule, Test, ADMISSION_DOC, CIS_DOC, NSA_AUTH, NSA_CONTROL_PLANE,
};
use crate::pss::helpers::{cis, mitre, nsa, peer, NSA_POD_SECURITY};

/// Whether an admission plugin runs, and the flag occurrence that decides it (none when
/// the default decides).
#[derive(Debug)]
enum Plugin<'s, 'd> {
    On(Option<&'s Setting<'d>>),
    Off(Option<&'s Setting<'d>>),
    /// A list flag the API server would refuse.
    Unknown,
}

fn plugin<'s, 'd>(t: &'s Target<'_, 'd>, name: &str, default_on: bool) -> Plugin<'s, 'd> {
    let named = |list: &[(String, &'s Setting<'d>)]| {
        list.iter()
            .rev()
            .find(|(p, _)| p.trim() == name)
            .map(|(_, s)| *s)
    };
    match t.flags.list("admission-control") {
        List::Invalid(_) => return Plugin::Unknown,
        // An empty `--admission-control` is ignored: the defaults apply.
        List::Items(items) if !items.is_empty() => {
            return match named(&items) {
                Some(s) => Plugin::On(Some(s)),
                None => Plugin::Off(items.last().map(|(_, s)| *s)),
            };
        }
        List::Items(_) | List::Unset => {}
    }
    let (enable, disable) = match (
        t.flags.list("enable-admission-plugins"),
        t.flags.list("disable-admission-plugins"),
    ) {
        (List::Invalid(_), _) | (_, List::Invalid(_)) => return Plugin::Unknown,
        (e, d) => (items(e), items(d)),
    };
    if let Some(s) = named(&enable) {
        Plugin::On(Some(s))
    } else if let Some(s) = named(&disable) {
        Plugin::Off(Some(s))
    } else if default_on {
        Plugin::On(None)
    } else {
        Plugin::Off(None)
    }
}

fn items<'s, 'd>(list: List<'s, 'd>) -> Vec<(String, &'s Setting<'d>)> {
    match list {
        List::Items(items) => items,
        List::Unset | List::Invalid(_) => Vec::new(),
    }
}

/// Reports a plugin that should run and does not: at the flag that turns it off, at
/// `--enable-admission-plugins` (where it belongs) when the default leaves it off, or at
/// the command.
pub(super) fn require_plugin(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    name: &str,
    default_on: bool,
    why: &str,
    out: &mut Findings,
) {
    let Plugin::Off(by) = plugin(t, name, default_on) else {
        return;
    };
    let who = t.who();
    match by {
        Some(s) => {
            let how = if s.name == "disable-admission-plugins" {
                "disables"
            } else {
                "leaves out"
            };
            report_at(
                meta,
                s,
                format!("{who}: {} {how} the {name} admission plugin, {why}; remove it from --disable-admission-plugins (or add it to --enable-admission-plugins)", s.written()),
                out,
            );
        }
        None => {
            let message = format!("{who}: the {name} admission plugin is not enabled (it is off by default), {why}; add it to --enable-admission-plugins");
            match t.flags.last("enable-admission-plugins") {
                Some(s) => report_at(meta, s, message, out),
                None => report_missing(meta, t, message, out),
            };
        }
    }
}

pub static DENY_SERVICE_EXTERNAL_IPS: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-deny-service-external-ips-missing",
        title: "API server lets Services set external IPs",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver without the `DenyServiceExternalIPs` admission plugin (off by default, v1.21+). Optional hardening: graded low. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.3 (Manual).",
        rationale: "Anyone allowed to create or update a Service can set `spec.externalIPs` to any address, and kube-proxy then captures the cluster's traffic to that address (CVE-2020-8554): a tenant can intercept connections meant for another service or an outside host.",
        remediation: "Add `DenyServiceExternalIPs` to `--enable-admission-plugins` unless the cluster relies on `externalIPs`; if it does, restrict them with a policy engine instead.",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#denyserviceexternalips", "https://github.com/kubernetes/kubernetes/issues/97076", CIS_DOC],
        mappings: &[cis("1.2.3"), nsa(NSA_CONTROL_PLANE), mitre("T1557")],
        peers: &[peer(PeerTool::Kubescape, "C-0283")],
        peer_notes: "Same CIS item as kubescape C-0283. `service-external-ips` reports the Services that set `externalIPs`; this check reports the API server that allows them. Graded low because CIS marks it manual and clusters may use the field on purpose.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Plugin {
        name: "DenyServiceExternalIPs",
        default_on: false,
        why: "so anyone who may create Services can set externalIPs and capture the cluster's traffic to those addresses (CVE-2020-8554)",
    },
};

pub static EVENT_RATE_LIMIT: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-event-rate-limit-missing",
        title: "API server does not rate-limit events",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver without the `EventRateLimit` admission plugin (off by default; it also needs a configuration in `--admission-control-config-file`). Optional hardening: graded low. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.9 (Manual).",
        rationale: "Events are written to etcd like any object. A misbehaving or hostile workload (or node) that floods events can fill etcd and slow the API server for everyone; the plugin caps the rate per server, namespace, user or source.",
        remediation: "Add `EventRateLimit` to `--enable-admission-plugins` and configure its limits in the admission configuration file given by `--admission-control-config-file`.",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#eventratelimit", ADMISSION_DOC, CIS_DOC],
        mappings: &[cis("1.2.9"), nsa(NSA_CONTROL_PLANE), mitre("T1499")],
        peers: &[peer(PeerTool::Kubescape, "C-0121"), peer(PeerTool::Checkov, "CKV_K8S_78")],
        peer_notes: "Same CIS item as kubescape C-0121; Checkov CKV_K8S_78 checks an `AdmissionConfiguration` file for the plugin rather than the API server's flags. Graded low because CIS marks it manual; whether the limits are sensible is in the configuration file, which Palisade does not read.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Plugin {
        name: "EventRateLimit",
        default_on: false,
        why: "so one client can flood etcd with events",
    },
};

pub static ALWAYS_ADMIT: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-always-admit-enabled",
        title: "API server enables the AlwaysAdmit admission plugin",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver that runs the deprecated `AlwaysAdmit` admission plugin (named in `--enable-admission-plugins` or `--admission-control`). CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.10 (Automated).",
        rationale: "`AlwaysAdmit` admits every request by itself. Every plugin in the chain must admit a request, so it does not override the others, but it is deprecated, does nothing useful, and is a sign that someone tried to switch admission control off; with `--admission-control=AlwaysAdmit` it is the only plugin and nothing is enforced.",
        remediation: "Remove `AlwaysAdmit` from `--enable-admission-plugins` (or `--admission-control`).",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#alwaysadmit", ADMISSION_DOC, CIS_DOC],
        mappings: &[cis("1.2.10"), nsa(NSA_CONTROL_PLANE), mitre("T1562")],
        peers: &[peer(PeerTool::Kubescape, "C-0122"), peer(PeerTool::Checkov, "CKV_K8S_79")],
        peer_notes: "Same CIS item as kubescape C-0122 and Checkov CKV_K8S_79. Graded low: alongside other plugins it cannot admit what they reject; the plugins that matter are checked on their own (`apiserver-pod-security-disabled`, `apiserver-node-restriction-missing`, ...).",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(always_admit),
};

fn always_admit(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    _: &CheckSettings,
    out: &mut Findings,
) {
    if let Plugin::On(Some(s)) = plugin(t, "AlwaysAdmit", false) {
        report_at(
            meta,
            s,
            format!("{}: {} enables the deprecated AlwaysAdmit admission plugin, which admits every request on its own; remove it", t.who(), s.written()),
            out,
        );
    }
}

pub static ALWAYS_PULL_IMAGES: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-always-pull-images-missing",
        title: "API server does not force image pulls",
        severity: Severity::Low,
        category: Category::ControlPlane,
        description: "A kube-apiserver without the `AlwaysPullImages` admission plugin (off by default). Optional hardening: graded low. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.11 (Manual).",
        rationale: "A private image pulled once stays in the node's cache, and any pod scheduled there can run it without the pull secret that protects it. The plugin sets `imagePullPolicy: Always`, so the registry checks the pod's credentials each time.",
        remediation: "Add `AlwaysPullImages` to `--enable-admission-plugins` in multi-tenant clusters, accepting the registry load. Kubernetes v1.33+ can instead verify credentials for cached images (`KubeletEnsureSecretPulledImages`).",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#alwayspullimages", ADMISSION_DOC, CIS_DOC],
        mappings: &[cis("1.2.11"), nsa(NSA_CONTROL_PLANE), mitre("T1610")],
        peers: &[peer(PeerTool::Kubescape, "C-0123"), peer(PeerTool::Checkov, "CKV_K8S_80")],
        peer_notes: "Same CIS item as kubescape C-0123 and Checkov CKV_K8S_80. Graded low because CIS marks it manual: it costs registry traffic and breaks offline clusters.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Plugin {
        name: "AlwaysPullImages",
        default_on: false,
        why: "so a pod can run a private image another pod pulled onto its node without holding the pull secret",
    },
};

pub static SERVICE_ACCOUNT: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-service-account-plugin-disabled",
        title: "API server disables the ServiceAccount admission plugin",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver that turns off the `ServiceAccount` admission plugin (on by default) with `--disable-admission-plugins`, or leaves it out of `--admission-control`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.12 (Automated).",
        rationale: "The plugin gives each pod a service account that exists in its namespace, mounts its token, and enforces the account's restrictions on mountable Secrets and image pull secrets. Without it pods run with whatever account name they state, checked by nothing.",
        remediation: "Remove `ServiceAccount` from `--disable-admission-plugins`.",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#serviceaccount", ADMISSION_DOC, CIS_DOC],
        mappings: &[cis("1.2.12"), nsa(NSA_AUTH), mitre("T1078")],
        peers: &[peer(PeerTool::Kubescape, "C-0125"), peer(PeerTool::Checkov, "CKV_K8S_82")],
        peer_notes: "Same CIS item as kubescape C-0125 and Checkov CKV_K8S_82. The plugin is on by default, so only an explicit disable (or an `--admission-control` list without it) is reported.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Plugin {
        name: "ServiceAccount",
        default_on: true,
        why: "so pods are not given a service account that exists, nor its token and restrictions",
    },
};

pub static NAMESPACE_LIFECYCLE: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-namespace-lifecycle-disabled",
        title: "API server disables the NamespaceLifecycle admission plugin",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver that turns off the `NamespaceLifecycle` admission plugin (on by default) with `--disable-admission-plugins`, or leaves it out of `--admission-control`. CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.13 (Automated).",
        rationale: "The plugin refuses objects in namespaces that do not exist or are being deleted, and the deletion of `default`, `kube-system` and `kube-public`. Without it objects can outlive their namespace's cleanup and escape the policies applied to namespaces, and a system namespace can be deleted.",
        remediation: "Remove `NamespaceLifecycle` from `--disable-admission-plugins`.",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle", ADMISSION_DOC, CIS_DOC],
        mappings: &[cis("1.2.13"), nsa(NSA_CONTROL_PLANE), mitre("T1485")],
        peers: &[peer(PeerTool::Kubescape, "C-0126"), peer(PeerTool::Checkov, "CKV_K8S_83")],
        peer_notes: "Same CIS item as kubescape C-0126 and Checkov CKV_K8S_83. On by default, so only an explicit disable (or an `--admission-control` list without it) is reported.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Plugin {
        name: "NamespaceLifecycle",
        default_on: true,
        why: "so objects can be created in namespaces being deleted and system namespaces can be deleted",
    },
};

pub static NODE_RESTRICTION: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-node-restriction-missing",
        title: "API server does not restrict what kubelets may change",
        severity: Severity::Medium,
        category: Category::ControlPlane,
        description: "A kube-apiserver without the `NodeRestriction` admission plugin, which is off by default (kubeadm enables it). CIS Kubernetes Benchmark v1.10.0 recommendation 1.2.14 (Automated).",
        rationale: "The plugin limits each kubelet to its own Node object and the pods bound to it, and stops kubelets from setting `node-restriction.kubernetes.io/` labels. Without it a compromised node can relabel or taint other nodes to attract sensitive workloads, or edit other nodes' pods.",
        remediation: "Add `NodeRestriction` to `--enable-admission-plugins`, with `Node` in `--authorization-mode`.",
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction", "https://kubernetes.io/docs/reference/access-authn-authz/node/", CIS_DOC],
        mappings: &[cis("1.2.14"), nsa(NSA_CONTROL_PLANE), mitre("T1611")],
        peers: &[peer(PeerTool::Kubescape, "C-0127"), peer(PeerTool::Checkov, "CKV_K8S_85")],
        peer_notes: "Same CIS item as kubescape C-0127 and Checkov CKV_K8S_85. Palisade adds up repeated `--enable-admission-plugins` flags as pflag does and reports a `--disable-admission-plugins` that names the plugin at that flag.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Plugin {
        name: "NodeRestriction",
        default_on: false,
        why: "so a kubelet can modify other nodes and their pods",
    },
};

pub static POD_SECURITY: FlagRule = FlagRule {
    meta: CheckMeta {
        id: "apiserver-pod-security-disabled",
        title: "API server disables Pod Security admission",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "A kube-apiserver that turns off the `PodSecurity` admission plugin with `--disable-admission-plugins` or leaves it out of `--admission-control`, or, before v1.23 (by the image tag), does not enable it. From v1.23 it is on by default. CIS Kubernetes Benchmark v1.10.0 has no item for the plugin itself; it is the built-in way to meet 5.2.1 (at least one active policy control mechanism).",
        rationale: "Pod Security admission is what enforces the `pod-security.kubernetes.io/enforce` labels on namespaces. With it off the labels do nothing: privileged containers, host namespaces and hostPath mounts are admitted everywhere unless another policy engine blocks them, and the namespaces look protected when they are not.",
        remediation: "Remove `PodSecurity` from `--disable-admission-plugins` and label namespaces with the level they need (`palisade scan` reports unlabelled ones as `namespace-pss-labels`). If a policy engine (Kyverno, Gatekeeper) replaces it, record that with an exception.",
        references: &["https://kubernetes.io/docs/concepts/security/pod-security-admission/", "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#podsecurity", CIS_DOC],
        mappings: &[cis("5.2.1"), nsa(NSA_POD_SECURITY), mitre("T1611")],
        peers: &[],
        peer_notes: "No listed peer checks the API server's PodSecurity plugin; CIS 5.2.1 is manual and peers judge it by namespace labels (Palisade's `namespace-pss-labels`). Palisade knows the plugin is on by default from v1.23 and reports only a disable, or an older image that does not enable it.",
        source: file!(),
    },
    component: Component::ApiServer,
    test: Test::Custom(pod_security),
};

fn pod_security(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    _: &CheckSettings,
    out: &mut Findings,
) {
    let default_on = !t.older_than(23);
    let why = if default_on {
        "so namespaces' pod-security.kubernetes.io/enforce labels are not enforced and any pod is admitted"
    } else {
        "so before v1.23 namespaces' pod-security.kubernetes.io/enforce labels are not enforced"
    };
    require_plugin(meta, t, "PodSecurity", default_on, why, out);
}

#[cfg(test)]
mod tests {
    use crate::controlplane::tests::{apiserver, apiserver_image};
    use crate::testing::{ids, run};

    #[test]
    fn plugins_off_by_default_must_be_enabled() {
        const ID: &[&str] = &["apiserver-node-restriction-missing"];
        let hits = run(&apiserver(&[]), ID);
        assert_eq!(ids(&hits), ID);
        assert_eq!(hits[0].path, "spec.containers[0].command");
        assert!(
            hits[0].message.contains(
                "the NodeRestriction admission plugin is not enabled (it is off by default)"
            ),
            "{}",
            hits[0].message
        );
        // Pointed at --enable-admission-plugins, where it belongs.
        let hits = run(
            &apiserver(&["--enable-admission-plugins=AlwaysPullImages"]),
            ID,
        );
        assert_eq!(hits[0].path, "spec.containers[0].command[1]");
        for args in [
            &["--enable-admission-plugins=NodeRestriction"][..],
            &[
                "--enable-admission-plugins",
                "AlwaysPullImages,NodeRestriction",
            ],
            &[
                "--enable-admission-plugins=AlwaysPullImages",
                "--enable-admission-plugins=NodeRestriction",
            ],
            &["--admission-control=NamespaceLifecycle,NodeRestriction"],
        ] {
            assert!(run(&apiserver(args), ID).is_empty(), "{args:?}");
        }
        let hits = run(
            &apiserver(&[
                "--enable-admission-plugins=NodeRestriction",
                "--disable-admission-plugins=NodeRestriction,AlwaysAdmit",
            ]),
            ID,
        );
        // Enabled and disabled at once is refused by the API server; enabling wins in its code.
        assert!(hits.is_empty());
    }

    #[test]
    fn plugins_on_by_default_fail_only_when_disabled() {
        for (id, name) in [
            (
                "apiserver-service-account-plugin-disabled",
                "ServiceAccount",
            ),
            (
                "apiserver-namespace-lifecycle-disabled",
                "NamespaceLifecycle",
            ),
            ("apiserver-pod-security-disabled", "PodSecurity"),
        ] {
            assert!(run(&apiserver(&[]), &[id]).is_empty(), "{id}");
            assert!(
                run(
                    &apiserver(&["--enable-admission-plugins=NodeRestriction"]),
                    &[id]
                )
                .is_empty(),
                "{id}"
            );
            let hits = run(
                &apiserver(&[
                    "--profiling=false",
                    &format!("--disable-admission-plugins=DefaultStorageClass,{name}"),
                ]),
                &[id],
            );
            assert_eq!(ids(&hits), [id]);
            assert_eq!(hits[0].path, "spec.containers[0].command[2]");
            assert!(
                hits[0]
                    .message
                    .contains(&format!("disables the {name} admission plugin")),
                "{}",
                hits[0].message
            );
            // The legacy flag lists exactly the plugins that run.
            let hits = run(&apiserver(&["--admission-control=NodeRestriction"]), &[id]);
            assert!(
                hits[0].message.contains("leaves out"),
                "{}",
                hits[0].message
            );
        }
    }

    #[test]
    fn pod_security_before_v1_23() {
        const ID: &[&str] = &["apiserver-pod-security-disabled"];
        assert_eq!(
            ids(&run(
                &apiserver_image("registry.k8s.io/kube-apiserver:v1.22.4", &[]),
                ID
            )),
            ID
        );
        assert!(run(
            &apiserver_image(
                "registry.k8s.io/kube-apiserver:v1.22.4",
                &["--enable-admission-plugins=PodSecurity"]
            ),
            ID
        )
        .is_empty());
        assert!(run(
            &apiserver_image("registry.k8s.io/kube-apiserver:v1.23.0", &[]),
            ID
        )
        .is_empty());
    }

    #[test]
    fn always_admit_and_optional_plugins() {
        let hits = run(
            &apiserver(&["--enable-admission-plugins=NodeRestriction,AlwaysAdmit"]),
            &["apiserver-always-admit-enabled"],
        );
        assert_eq!(hits[0].path, "spec.containers[0].command[1]");
        assert!(run(
            &apiserver(&["--disable-admission-plugins=AlwaysAdmit"]),
            &["apiserver-always-admit-enabled"]
        )
        .is_empty());
        for id in [
            "apiserver-always-pull-images-missing",
            "apiserver-event-rate-limit-missing",
            "apiserver-deny-service-external-ips-missing",
        ] {
            assert_eq!(ids(&run(&apiserver(&[]), &[id])), [id]);
        }
        let all = "--enable-admission-plugins=NodeRestriction,AlwaysPullImages,EventRateLimit,DenyServiceExternalIPs";
        for id in [
            "apiserver-always-pull-images-missing",
            "apiserver-event-rate-limit-missing",
            "apiserver-deny-service-external-ips-missing",
            "apiserver-node-restriction-missing",
        ] {
            assert!(run(&apiserver(&[all]), &[id]).is_empty(), "{id}");
        }
        // An invalid list stops the API server: not judged.
        assert!(run(
            &apiserver(&[r#"--enable-admission-plugins=Node"Restriction"#]),
            &["apiserver-node-restriction-missing"]
        )
        .is_empty());
    }
}
