//! `ssh-port`: a container exposes TCP port 22.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use crate::pss::helpers::{mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "ssh-port",
        title: "SSH port exposed",
        severity: Severity::Low,
        category: Category::Workload,
        description: "A container declares `containerPort: 22` with protocol TCP (the default).",
        rationale: "An SSH server in a container is a second way in that bypasses Kubernetes authentication, RBAC and audit logging, usually with long-lived keys or passwords; it also suggests the image is treated as a server to log into rather than an immutable unit.",
        remediation: "Remove the SSH server and the port; use `kubectl exec` or `kubectl debug` (both authorised and audited) for interactive access.",
        references: &[
            "https://kubernetes.io/docs/tasks/debug/debug-application/get-shell-running-container/",
            "https://docs.kubelinter.io/#/generated/checks?id=ssh-port",
        ],
        mappings: &[nsa("Pod security"), mitre("T1021.004")],
        peers: &[peer(PeerTool::KubeLinter, "ssh-port")],
        peer_notes: "Like kube-linter `ssh-port`, but UDP port 22 is not reported (SSH is TCP) and each port entry is its own finding at its `containerPort` line. Only the declared container port is seen: an SSH server on another port, or an undeclared one, is invisible to a manifest scan.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in &ctx.pods {
        for c in pod.containers() {
            let Some(ports) = c.node.get_present("ports") else {
                continue;
            };
            for (i, port) in ports.items().enumerate() {
                let Some((key, value)) = port.entry("containerPort") else {
                    continue;
                };
                let tcp = port
                    .get_present("protocol")
                    .is_none_or(|p| p.as_str() == Some("TCP"));
                if value.as_i64() == Some(22) && tcp {
                    out.report(
                        meta,
                        key,
                        c.path_of(&format!("ports[{i}].containerPort")),
                        format!("{} exposes TCP port 22 (SSH)", who(c)),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run};
    use palisade_model::Severity;

    const ID: &[&str] = &["ssh-port"];

    fn pod(ports: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: x\n    ports:\n{ports}")
    }

    #[test]
    fn other_ports_and_udp_pass() {
        assert!(run(
            &pod("    - containerPort: 8080\n    - {containerPort: 22, protocol: UDP}\n"),
            ID
        )
        .is_empty());
    }

    #[test]
    fn tcp_22_is_reported_at_its_line() {
        let hits = run(&pod("    - containerPort: 80\n    - name: ssh\n      containerPort: 22\n    - {containerPort: 22, protocol: TCP}\n"), ID);
        assert_eq!(ids(&hits), ["ssh-port"; 2]);
        assert_eq!((hits[0].line, hits[0].severity), (11, Severity::Low));
        assert_eq!(hits[0].path, "spec.containers[0].ports[1].containerPort");
        assert_eq!(hits[1].line, 12);
        assert!(hits[0].message.contains("container \"a\""));
    }
}
