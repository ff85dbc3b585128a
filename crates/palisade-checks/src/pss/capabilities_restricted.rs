//! `capabilities_restricted`: drop ALL, add at most NET_BIND_SERVICE.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::{about, cis, entry, is_windows, mitre, peer, pss, report_added, v, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "capabilities_restricted",
        title: "Capabilities not dropped",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "From v1.22: a container does not drop `ALL` capabilities, or adds any capability but `NET_BIND_SERVICE`. Windows pods are exempt from v1.25. Replaces `capabilities_baseline` at the restricted level.",
        rationale: "The runtime's default capabilities (NET_RAW, CHOWN, DAC_OVERRIDE, SETUID, ...) are more than most workloads need; NET_RAW alone allows spoofing and ARP poisoning on the node's network.",
        remediation: "Set `securityContext.capabilities.drop: [\"ALL\"]` on every container and add back only `NET_BIND_SERVICE` if the process binds a port below 1024.",
        references: &[PSS_DOC],
        mappings: &[pss("restricted"), cis("5.2.8"), cis("5.2.10"), mitre("T1611")],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_37"),
            peer(PeerTool::Trivy, "KSV003"),
            peer(PeerTool::Kubescape, "C-0046"),
        ],
        peer_notes: "`drop` must contain exactly `ALL` (case-sensitive), as upstream; a missing and an added-capability problem are separate findings.",
        source: file!(),
    },
    level: Level::Restricted,
    versions: &[
        Versioned { min: v(22), eval: eval_1_22, overrides: &["capabilities_baseline"] },
        Versioned { min: v(25), eval: eval_1_25, overrides: &["capabilities_baseline"] },
    ],
};

fn eval_1_22(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    for c in pod.containers() {
        let caps = entry(c.security_context(), "capabilities");
        let drops_all = caps
            .and_then(|(_, caps)| caps.get_present("drop"))
            .is_some_and(|d| d.items().any(|x| x.as_str() == Some("ALL")));
        if !drops_all {
            let at = caps
                .and_then(|(_, caps)| caps.entry("drop").map(|(k, _)| k))
                .or(caps.map(|(k, _)| k))
                .unwrap_or(c.node);
            out.report(
                at,
                c.path_of("securityContext.capabilities.drop"),
                about(c, " must set securityContext.capabilities.drop=[\"ALL\"]"),
            );
        }
        let Some(add) = caps.and_then(|(_, caps)| caps.get_present("add")) else {
            continue;
        };
        report_added(c, add, |cap| cap == "NET_BIND_SERVICE", out);
    }
}

fn eval_1_25(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    if !is_windows(pod) {
        eval_1_22(pod, out);
    }
}
