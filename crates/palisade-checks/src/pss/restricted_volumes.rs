//! `restrictedVolumes`: only volume types that cannot reach the host.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{entry, nsa, peer, pss, shown, v, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "restrictedVolumes",
        title: "Restricted volume type",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "A volume uses a source other than configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected or secret. Replaces `hostPathVolumes` at the restricted level; hostPath findings are graded high.",
        rationale: "Other volume types reach outside the pod's sandbox: the node's file system (hostPath), network storage addressed directly from the pod spec (nfs, iscsi, rbd, ...), or code run by the kubelet (gitRepo, flexVolume).",
        remediation: "Use a PersistentVolumeClaim (backed by a StorageClass) or one of the allowed ephemeral sources.",
        references: &[PSS_DOC, "https://kubernetes.io/docs/concepts/storage/volumes/"],
        mappings: &[pss("restricted"), nsa(super::helpers::NSA_POD_SECURITY)],
        peers: &[peer(PeerTool::Trivy, "KSV028")],
        peer_notes: "A volume with no recognised source counts as emptyDir, as the API server defaults it.",
        source: file!(),
    },
    level: Level::Restricted,
    versions: &[Versioned { min: v(0), eval, overrides: &["hostPathVolumes"] }],
};

pub(crate) const ALLOWED: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

pub(crate) const RESTRICTED: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    let Some(volumes) = pod.field("volumes") else {
        return;
    };
    for (i, vol) in volumes.items().enumerate() {
        if ALLOWED.iter().any(|k| entry(Some(vol), k).is_some()) {
            continue;
        }
        // Unknown keys are dropped by the API server and a volume without a source is
        // defaulted to emptyDir, so only the known restricted sources count.
        let Some((ty, key)) = RESTRICTED
            .iter()
            .find_map(|ty| entry(Some(vol), ty).map(|(k, _)| (*ty, k)))
        else {
            continue;
        };
        let name = vol.get("name").map(shown).unwrap_or_default();
        let f = out.report(
            key,
            pod.path_of(&format!("volumes[{i}].{ty}")),
            format!("volume {name:?} uses restricted volume type {ty:?}"),
        );
        if ty == "hostPath" {
            f.severity = Severity::High;
        }
    }
}
