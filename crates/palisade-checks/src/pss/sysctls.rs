//! `sysctls`: only namespaced, safe sysctls.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{entry, peer, pss, shown, v, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "sysctls",
        title: "Unsafe sysctl",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "`spec.securityContext.sysctls` names a sysctl outside the safe set of the evaluated version (kernel.shm_rmid_forced and a few net.ipv4 settings, grown in v1.27, v1.29, v1.32 and v1.37).",
        rationale: "Sysctls outside the safe set are not isolated per pod: they change kernel behaviour for the whole node and every other pod on it.",
        remediation: "Remove the sysctl, or set it on dedicated nodes through the kubelet's `--allowed-unsafe-sysctls` and a privileged namespace.",
        references: &[PSS_DOC, "https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/"],
        mappings: &[pss("baseline")],
        peers: &[peer(PeerTool::Trivy, "KSV026"), peer(PeerTool::KubeLinter, "unsafe-sysctls")],
        peer_notes: "The safe set depends on the version evaluated, as upstream: a sysctl allowed at v1.37 may be forbidden when a namespace pins v1.25.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[
        Versioned { min: v(0), eval: eval_1_0, overrides: &[] },
        Versioned { min: v(27), eval: eval_1_27, overrides: &[] },
        Versioned { min: v(29), eval: eval_1_29, overrides: &[] },
        Versioned { min: v(32), eval: eval_1_32, overrides: &[] },
        Versioned { min: v(37), eval: eval_1_37, overrides: &[] },
    ],
};

const SAFE_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SAFE_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SAFE_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SAFE_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const SAFE_1_37: &[&str] = &[
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

fn eval_1_0(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    eval(pod, out, &[SAFE_1_0]);
}
fn eval_1_27(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    eval(pod, out, &[SAFE_1_0, SAFE_1_27]);
}
fn eval_1_29(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    eval(pod, out, &[SAFE_1_0, SAFE_1_27, SAFE_1_29]);
}
fn eval_1_32(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    eval(pod, out, &[SAFE_1_0, SAFE_1_27, SAFE_1_29, SAFE_1_32]);
}
/// The sysctls allowed at the newest version.
pub(crate) const SAFE_LATEST: [&[&str]; 5] = [SAFE_1_0, SAFE_1_27, SAFE_1_29, SAFE_1_32, SAFE_1_37];

fn eval_1_37(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    eval(pod, out, &SAFE_LATEST);
}

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>, safe: &[&[&str]]) {
    let Some((_, sysctls)) = entry(pod.security_context(), "sysctls") else {
        return;
    };
    for (i, s) in sysctls.items().enumerate() {
        let name_node = s.get("name").unwrap_or(s);
        let name = shown(name_node);
        if !safe.iter().any(|set| set.contains(&name.as_str())) {
            out.report(
                name_node,
                pod.path_of(&format!("securityContext.sysctls[{i}].name")),
                format!("forbidden sysctl {name:?}"),
            );
        }
    }
}
