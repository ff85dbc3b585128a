//! `windowsHostProcess`: no Windows HostProcess containers.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{cis, entry, mitre, peer, pss, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "windowsHostProcess",
        title: "Windows HostProcess container",
        severity: Severity::Critical,
        category: Category::PodSecurity,
        description: "The pod or a container sets `securityContext.windowsOptions.hostProcess: true`.",
        rationale: "A HostProcess container runs directly on the Windows node as a host process, with the node's network and file system: the Windows equivalent of a privileged container.",
        remediation: "Remove `windowsOptions.hostProcess`; run node-level Windows tooling in a dedicated, privileged namespace only.",
        references: &[PSS_DOC, "https://kubernetes.io/docs/tasks/configure-pod-container/create-hostprocess-pod/"],
        mappings: &[pss("baseline"), cis("5.2.11"), mitre("T1611")],
        peers: &[peer(PeerTool::Trivy, "KSV103")],
        peer_notes: "Checked for every pod, whatever its `os`, as upstream does.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[Versioned { min: v(0), eval, overrides: &[] }],
};

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    let host_process = |sc| entry(entry(sc, "windowsOptions").map(|(_, w)| w), "hostProcess");
    if let Some((key, value)) = host_process(pod.security_context()) {
        if value.is_true() {
            out.report(
                key,
                pod.path_of("securityContext.windowsOptions.hostProcess"),
                "pod must not set securityContext.windowsOptions.hostProcess=true",
            );
        }
    }
    for c in pod.containers() {
        if let Some((key, value)) = host_process(c.security_context()) {
            if value.is_true() {
                out.report(
                    key,
                    c.path_of("securityContext.windowsOptions.hostProcess"),
                    format!(
                        "{} must not set securityContext.windowsOptions.hostProcess=true",
                        who(c)
                    ),
                );
            }
        }
    }
}
