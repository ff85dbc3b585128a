//! `capabilities_baseline`: only the runtime's default capabilities may be added.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{cis, entry, mitre, peer, pss, report_added, v, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "capabilities_baseline",
        title: "Non-default capability added",
        severity: Severity::High,
        category: Category::PodSecurity,
        description: "`securityContext.capabilities.add` names a capability outside the container runtime's default set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT).",
        rationale: "Capabilities such as SYS_ADMIN, NET_ADMIN, SYS_PTRACE or SYS_MODULE give a container powers over the kernel and the node that ordinary containers lack; several are direct container-escape primitives.",
        remediation: "Remove the capability from `capabilities.add`; if one is truly needed, grant only that one and document why.",
        references: &[PSS_DOC, "https://man7.org/linux/man-pages/man7/capabilities.7.html"],
        mappings: &[pss("baseline"), cis("5.2.9"), mitre("T1611")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0046"),
            peer(PeerTool::Checkov, "CKV_K8S_25"),
            peer(PeerTool::Polaris, "insecureCapabilities"),
            peer(PeerTool::Trivy, "KSV022"),
        ],
        peer_notes: "Exact, case-sensitive names as upstream (`CAP_SYS_ADMIN` and `sys_admin` are not in the allowed set either).",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[Versioned { min: v(0), eval, overrides: &[] }],
};

pub const ALLOWED: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    for c in pod.containers() {
        let Some((_, caps)) = entry(c.security_context(), "capabilities") else {
            continue;
        };
        let Some(add) = caps.get_present("add") else {
            continue;
        };
        report_added(c, add, |cap| ALLOWED.contains(&cap), out);
    }
}
