//! `hostPathVolumes`: pods must not mount host paths.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{cis, entry, mitre, nsa, peer, pss, shown, v, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "hostPathVolumes",
        title: "hostPath volume",
        severity: Severity::High,
        category: Category::PodSecurity,
        description: "A volume in `spec.volumes` uses `hostPath`. (At the restricted level `restrictedVolumes` reports it instead.)",
        rationale: "A hostPath volume gives the container the node's files: the container runtime socket, kubelet credentials, other pods' data, or `/` itself. Written to, it is a path to root on the node.",
        remediation: "Use a PersistentVolumeClaim, emptyDir, configMap, secret or projected volume. If node access is truly needed, mount the narrowest path read-only and run the workload in a dedicated, privileged namespace.",
        references: &[PSS_DOC, "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
        mappings: &[pss("baseline"), cis("5.2.12"), nsa(super::helpers::NSA_POD_SECURITY), mitre("T1611")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0048"),
            peer(PeerTool::KubeLinter, "host-mounts"),
            peer(PeerTool::Trivy, "KSV023"),
        ],
        peer_notes: "Flags every hostPath as upstream does; the workload catalogue grades sensitive paths separately.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[Versioned { min: v(0), eval, overrides: &[] }],
};

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    let Some(volumes) = pod.field("volumes") else {
        return;
    };
    for (i, vol) in volumes.items().enumerate() {
        if let Some((key, host)) = entry(Some(vol), "hostPath") {
            let name = vol.get("name").map(shown).unwrap_or_default();
            let path = host.get("path").map(shown).unwrap_or_default();
            out.report(
                key,
                pod.path_of(&format!("volumes[{i}].hostPath")),
                format!("volume {name:?} mounts host path {path:?}"),
            );
        }
    }
}
