//! `hostProbesAndHostLifecycle`: probes and lifecycle hooks must not target other hosts.

use palisade_engine::Level;
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, Severity};

use super::helpers::{entry, pss, shown, v, who, PSS_DOC};
use super::{PssCheck, PssOut, Versioned};

pub static CHECK: PssCheck = PssCheck {
    meta: CheckMeta {
        id: "hostProbesAndHostLifecycle",
        title: "Probe or lifecycle hook targets a host",
        severity: Severity::Medium,
        category: Category::PodSecurity,
        description: "From v1.34: a liveness, readiness or startup probe, or a postStart/preStop hook, sets `httpGet.host` or `tcpSocket.host` (any non-empty value, `localhost` and `127.0.0.1` included).",
        rationale: "The kubelet makes these requests from the node, so a host field turns the kubelet into a proxy: a pod can make it reach node-local or internal endpoints the pod itself cannot.",
        remediation: "Remove `host` so the kubelet targets the pod's own IP; use an `exec` or `grpc` probe for anything else.",
        references: &[PSS_DOC],
        mappings: &[pss("baseline")],
        peers: &[],
        peer_notes: "No peer checks this yet.",
        source: file!(),
    },
    level: Level::Baseline,
    versions: &[Versioned { min: v(34), eval, overrides: &[] }],
};

const HANDLERS: [&str; 5] = [
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle.postStart",
    "lifecycle.preStop",
];

fn eval(pod: &PodSpecView<'_>, out: &mut PssOut<'_>) {
    for c in pod.containers() {
        for handler_path in HANDLERS {
            let Some(handler) = c.node.get_path(handler_path) else {
                continue;
            };
            for action in ["httpGet", "tcpSocket"] {
                if let Some((key, host)) = entry(handler.get_present(action), "host") {
                    let host = shown(host);
                    if !host.is_empty() {
                        out.report(
                            key,
                            c.path_of(&format!("{handler_path}.{action}.host")),
                            format!("{} uses probe or lifecycle host {host:?}", who(c)),
                        );
                    }
                }
            }
        }
    }
}
