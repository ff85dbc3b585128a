//! Checks of the `control-plane` category: the flags of the API server, controller-manager,
//! scheduler and etcd, after the CIS Kubernetes Benchmark v1.10.0 (sections 1.2, 1.3, 1.4
//! and 2, and 3.2.1).
//!
//! They read the pod specs of the components wherever they appear: kubeadm's static pod
//! manifests (`/etc/kubernetes/manifests/*.yaml`), the `kube-system` mirror pods of a live
//! cluster (`kube-apiserver-node1`), or a hosted control plane's Deployments. A container
//! is a component by its command or image ([`flags`]), never by its labels or namespace,
//! so a pod that merely mentions `--anonymous-auth` is not one.
//!
//! Each check is a [`FlagRule`]: its metadata, the component, and a [`Test`] of the flags.
//! Findings point at the flag's element in `command`/`args` when it is set to something
//! wrong, and at the container's `command` (or `args`, or the container) when a needed
//! flag is missing. Items that need the host (file permissions, section 1.1) or the
//! contents of files (the encryption provider configuration, 1.2.28) are not checked.
//! The one check that needs two pods, etcd's CA against the API server's (2.7), is the
//! small analysis in [`etcd_ca`].

use palisade_engine::{Check, CheckSettings, Findings, ObjectContext, RawFinding};
use palisade_model::CheckMeta;

pub mod flags;

mod apiserver_admission;
mod apiserver_audit;
mod apiserver_auth;
mod apiserver_tls;
mod controller_manager;
pub mod etcd;
pub mod etcd_ca;
mod scheduler;

use flags::{Component, Setting, Target};

/// Every per-pod `control-plane` check, in catalogue order (CIS order).
pub static CHECKS: &[&dyn Check] = &[
    &apiserver_auth::ANONYMOUS_AUTH,
    &apiserver_auth::TOKEN_AUTH_FILE,
    &apiserver_admission::DENY_SERVICE_EXTERNAL_IPS,
    &apiserver_tls::KUBELET_CLIENT_CERT,
    &apiserver_tls::KUBELET_CA,
    &apiserver_auth::AUTHORIZATION_ALWAYS_ALLOW,
    &apiserver_auth::AUTHORIZATION_NO_NODE,
    &apiserver_auth::AUTHORIZATION_NO_RBAC,
    &apiserver_admission::EVENT_RATE_LIMIT,
    &apiserver_admission::ALWAYS_ADMIT,
    &apiserver_admission::ALWAYS_PULL_IMAGES,
    &apiserver_admission::SERVICE_ACCOUNT,
    &apiserver_admission::NAMESPACE_LIFECYCLE,
    &apiserver_admission::NODE_RESTRICTION,
    &apiserver_admission::POD_SECURITY,
    &apiserver_auth::PROFILING,
    &apiserver_audit::LOG_PATH,
    &apiserver_audit::LOG_MAXAGE,
    &apiserver_audit::LOG_MAXBACKUP,
    &apiserver_audit::LOG_MAXSIZE,
    &apiserver_audit::POLICY,
    &apiserver_auth::SERVICE_ACCOUNT_LOOKUP,
    &apiserver_auth::SERVICE_ACCOUNT_KEY_FILE,
    &apiserver_tls::ETCD_CLIENT_CERT,
    &apiserver_tls::TLS_CERT,
    &apiserver_tls::CLIENT_CA,
    &apiserver_tls::ETCD_CA,
    &apiserver_tls::ENCRYPTION_CONFIG,
    &apiserver_tls::WEAK_CIPHERS,
    &apiserver_tls::INSECURE_PORT,
    &controller_manager::TERMINATED_POD_GC,
    &controller_manager::PROFILING,
    &controller_manager::SERVICE_ACCOUNT_CREDENTIALS,
    &controller_manager::SERVICE_ACCOUNT_PRIVATE_KEY,
    &controller_manager::ROOT_CA,
    &controller_manager::ROTATE_KUBELET_SERVER_CERT,
    &controller_manager::BIND_ADDRESS,
    &scheduler::PROFILING,
    &scheduler::BIND_ADDRESS,
    &etcd::CERT_FILE,
    &etcd::CLIENT_CERT_AUTH,
    &etcd::AUTO_TLS,
    &etcd::PEER_CERT_FILE,
    &etcd::PEER_CLIENT_CERT_AUTH,
    &etcd::PEER_AUTO_TLS,
];

pub const NSA_CONTROL_PLANE: &str = "Control plane hardening";
pub const NSA_ETCD: &str = "Etcd";
pub const NSA_AUTH: &str = "Authentication and authorization";
pub const NSA_LOGGING: &str = "Logging";

pub const APISERVER_DOC: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/";
pub const CONTROLLER_MANAGER_DOC: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/";
pub const SCHEDULER_DOC: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-scheduler/";
pub const ETCD_DOC: &str = "https://etcd.io/docs/v3.5/op-guide/configuration/";
pub const ETCD_SECURITY_DOC: &str = "https://etcd.io/docs/v3.5/op-guide/security/";
pub const CIS_DOC: &str = "https://www.cisecurity.org/benchmark/kubernetes";
pub const ADMISSION_DOC: &str =
    "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/";
pub const AUDIT_DOC: &str = "https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/";
pub const SECURING_DOC: &str =
    "https://kubernetes.io/docs/tasks/administer-cluster/securing-a-cluster/";

/// A control-plane check: metadata, the component it reads, and the test of its flags.
pub struct FlagRule {
    pub meta: CheckMeta,
    pub component: Component,
    pub test: Test,
}

/// What a [`FlagRule`] requires of the component's flags.
pub enum Test {
    /// Each flag must be set to a non-empty value; one finding at the command naming the
    /// missing ones, and what happens without them.
    Required {
        flags: &'static [&'static str],
        why: &'static str,
    },
    /// A boolean flag must end up `want`; unset, it is `default`.
    Bool {
        flag: &'static str,
        default: bool,
        want: bool,
        why: &'static str,
    },
    /// The flag must not be set (to a non-empty value).
    Forbidden {
        flag: &'static str,
        why: &'static str,
    },
    /// The admission plugin must run; unset, it runs when `default_on`.
    Plugin {
        name: &'static str,
        default_on: bool,
        why: &'static str,
    },
    /// `--bind-address` must be a loopback address (unset is every interface); `port` is
    /// the component's secure port, named in the message.
    Loopback { port: u16 },
    /// Anything else.
    Custom(fn(&'static CheckMeta, &Target<'_, '_>, &CheckSettings, &mut Findings)),
}

impl Check for FlagRule {
    fn meta(&'static self) -> &'static CheckMeta {
        &self.meta
    }

    fn run(&'static self, ctx: &ObjectContext<'_>, out: &mut Findings) {
        if ctx.pods.is_empty() {
            return;
        }
        // Some sixty rules ask the same question of every object: which containers
        // run a control-plane component. Answered once per object.
        let components = ctx.memo.get(|| flags::component_containers(&ctx.pods));
        for &(pod, container, component) in components.iter() {
            if component != self.component {
                continue;
            }
            let Some(target) = flags::target_of(&ctx.pods[pod].containers()[container]) else {
                continue;
            };
            if !decidable(&target) {
                continue;
            }
            let meta = &self.meta;
            match self.test {
                Test::Required { flags, why } => required(meta, &target, flags, why, out),
                Test::Bool {
                    flag,
                    default,
                    want,
                    why,
                } => boolean(meta, &target, flag, default, want, why, out),
                Test::Forbidden { flag, why } => forbidden(meta, &target, flag, why, out),
                Test::Plugin {
                    name,
                    default_on,
                    why,
                } => apiserver_admission::require_plugin(meta, &target, name, default_on, why, out),
                Test::Loopback { port } => loopback_only(meta, &target, port, out),
                Test::Custom(eval) => eval(meta, &target, ctx.settings, out),
            }
        }
    }
}

/// Whether the flags say anything: etcd with `--config-file` ignores its other flags
/// and its environment, so its flags cannot be judged.
pub(crate) fn decidable(t: &Target<'_, '_>) -> bool {
    !(t.component == Component::Etcd && t.flags.set("config-file").is_some())
}

/// Reports at a flag's element (or environment variable).
pub fn report_at<'o>(
    meta: &'static CheckMeta,
    setting: &Setting<'_>,
    message: String,
    out: &'o mut Findings,
) -> &'o mut RawFinding {
    out.report(meta, setting.node, setting.path.clone(), message)
}

/// Reports a missing flag at the container's `command` (or `args`, or the container).
pub fn report_missing<'o>(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    message: String,
    out: &'o mut Findings,
) -> &'o mut RawFinding {
    out.report(meta, t.anchor, t.anchor_path.clone(), message)
}

/// Whether `address` is a loopback IP address; `None` when it is not an IP address at
/// all, which the components refuse.
pub fn loopback(address: &str) -> Option<bool> {
    address
        .trim()
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.is_loopback())
}

/// `--a`, `--a and --b`, `--a, --b and --c`.
pub fn flag_list(flags: &[&str]) -> String {
    let named: Vec<String> = flags.iter().map(|f| format!("--{f}")).collect();
    match named.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

fn required(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    flags: &[&str],
    why: &str,
    out: &mut Findings,
) {
    let missing: Vec<&str> = flags
        .iter()
        .copied()
        .filter(|f| t.flags.set(f).is_none())
        .collect();
    if missing.is_empty() {
        return;
    }
    let verb = if missing.len() == 1 { "is" } else { "are" };
    let names = flag_list(&missing);
    report_missing(
        meta,
        t,
        format!("{}: {names} {verb} not set, {why}; set {names}", t.who()),
        out,
    );
}

fn boolean(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    flag: &str,
    default: bool,
    want: bool,
    why: &str,
    out: &mut Findings,
) {
    let fix = format!("set --{flag}={want}");
    match t.flags.last(flag) {
        None if default != want => {
            report_missing(
                meta,
                t,
                format!(
                    "{}: --{flag} is not set and defaults to {default}, {why}; {fix}",
                    t.who()
                ),
                out,
            );
        }
        // An unreadable boolean stops the component; nothing to judge.
        Some(s) if s.as_bool().is_some_and(|v| v != want) => {
            report_at(
                meta,
                s,
                format!("{}: {}, {why}; {fix}", t.who(), s.written()),
                out,
            );
        }
        None | Some(_) => {}
    }
}

fn forbidden(
    meta: &'static CheckMeta,
    t: &Target<'_, '_>,
    flag: &str,
    why: &str,
    out: &mut Findings,
) {
    if let Some(s) = t.flags.set(flag) {
        report_at(
            meta,
            s,
            format!("{}: {} is set, {why}; remove it", t.who(), s.written()),
            out,
        );
    }
}

#[cfg(test)]
mod tests;

/// Reports a component whose `--bind-address` is unset (every interface) or not loopback.
fn loopback_only(meta: &'static CheckMeta, t: &Target<'_, '_>, port: u16, out: &mut Findings) {
    match t.flags.set("bind-address") {
        None => {
            report_missing(
                meta,
                t,
                format!("{}: --bind-address is not set and defaults to 0.0.0.0, so its secure port {port} (health, metrics, profiling) listens on every interface; set --bind-address=127.0.0.1", t.who()),
                out,
            );
        }
        Some(s) => {
            if s.text().and_then(loopback) == Some(false) {
                report_at(
                    meta,
                    s,
                    format!("{}: {} is not a loopback address, so its secure port {port} (health, metrics, profiling) is reachable from the network; set --bind-address=127.0.0.1", t.who(), s.written()),
                    out,
                );
            }
        }
    }
}
