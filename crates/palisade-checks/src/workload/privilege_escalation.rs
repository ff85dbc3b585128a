//! `privilege-escalation`: a container's processes may gain more privileges than their parent.

use palisade_engine::{Findings, ObjectContext};
use palisade_inventory::ContainerView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_source::Node;

use super::helpers::added_capabilities;
use crate::pss::helpers::{cis, entry, is_windows, mitre, nsa, peer, pss_covers, shown, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "privilege-escalation",
        title: "Privilege escalation allowed",
        severity: Severity::Medium,
        category: Category::Workload,
        description: "A container does not set `securityContext.allowPrivilegeEscalation: false` (unset means allowed) (**medium**), or it is `privileged: true` or adds `CAP_SYS_ADMIN` (or `ALL`), for which Kubernetes always allows escalation whatever the field says (**high**). Windows pods are exempt. Where the Pod Security check `allowPrivilegeEscalation` runs (restricted profile) it reports the field instead; this check then only reports the forced case the Pod Security check misses: `allowPrivilegeEscalation: false` beside `privileged: true` or `CAP_SYS_ADMIN`.",
        rationale: "Without `no_new_privs` a process can gain privileges through setuid/setgid binaries and file capabilities: the usual second step from a foothold as an unprivileged user to root inside the container, and from there towards the node.",
        remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container, and remove `privileged: true` and `CAP_SYS_ADMIN`, which make it ineffective (the API server rejects the combination).",
        references: &[
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        ],
        mappings: &[cis("5.2.6"), nsa("Pod security"), mitre("T1548.001")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0016"),
            peer(PeerTool::Checkov, "CKV_K8S_20"),
            peer(PeerTool::KubeLinter, "privilege-escalation-container"),
            peer(PeerTool::Polaris, "privilegeEscalationAllowed"),
            peer(PeerTool::Trivy, "KSV001"),
        ],
        peer_notes: "Peers accept `allowPrivilegeEscalation: false` beside `privileged: true` or `CAP_SYS_ADMIN`; Kubernetes does not (escalation is always allowed there), so this check reports it, high. `CAP_SYS_ADMIN` is matched case-insensitively with or without the `CAP_` prefix, as runtimes read it. Quiet where the Pod Security check `allowPrivilegeEscalation` reports the same container, so one problem is one finding.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let covered = pss_covers(ctx, "allowPrivilegeEscalation");
    for pod in ctx.pods.iter().filter(|p| !is_windows(p)) {
        for c in pod.containers() {
            let field = entry(c.security_context(), "allowPrivilegeEscalation");
            let set_false = field.is_some_and(|(_, v)| v.as_bool() == Some(false));
            let path = c.path_of("securityContext.allowPrivilegeEscalation");
            if let Some((cause_node, cause)) = forced(c) {
                // The Pod Security check reports this container unless the field is false.
                if covered && !set_false {
                    continue;
                }
                let note = if set_false {
                    " (its allowPrivilegeEscalation: false cannot take effect)"
                } else {
                    ""
                };
                out.report(
                    meta,
                    field.map_or(cause_node, |(k, _)| k),
                    path,
                    format!(
                        "{} can always escalate privileges: Kubernetes treats allowPrivilegeEscalation as true when {cause}{note}",
                        who(c)
                    ),
                )
                .severity = Severity::High;
            } else if !set_false && !covered {
                let (node, why) = match field {
                    Some((k, v)) => (k, format!("sets allowPrivilegeEscalation to {}", shown(v))),
                    None => (
                        c.node,
                        "does not set allowPrivilegeEscalation=false (unset means allowed)"
                            .to_owned(),
                    ),
                };
                out.report(meta, node, path, format!("{} {why}", who(c)));
            }
        }
    }
}

/// Why escalation is allowed whatever the field says: `privileged: true` or CAP_SYS_ADMIN.
fn forced<'d>(c: &ContainerView<'d>) -> Option<(Node<'d>, &'static str)> {
    if let Some((key, value)) = entry(c.security_context(), "privileged") {
        if value.is_true() {
            return Some((key, "the container is privileged"));
        }
    }
    added_capabilities(c)
        .into_iter()
        .find_map(|(_, node, cap)| match cap.as_str() {
            "SYS_ADMIN" => Some((node, "the container adds CAP_SYS_ADMIN")),
            "ALL" => Some((
                node,
                "the container adds ALL capabilities, CAP_SYS_ADMIN among them",
            )),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use crate::testing::{self, ids, run, Hit};
    use palisade_model::Severity;

    const ID: &[&str] = &["privilege-escalation"];

    fn baseline(yaml: &str) -> Vec<Hit> {
        testing::run_baseline(yaml, ID)
    }

    fn pod(containers: &str) -> String {
        testing::pod(&format!("  containers:\n{containers}"))
    }

    #[test]
    fn false_passes() {
        let yaml = pod(
            "  - name: a\n    image: x\n    securityContext: {allowPrivilegeEscalation: false}\n",
        );
        assert!(baseline(&yaml).is_empty());
    }

    #[test]
    fn unset_and_true_are_medium() {
        let yaml = pod("  - {name: a, image: x}\n  - name: b\n    image: x\n    securityContext:\n      allowPrivilegeEscalation: true\n");
        let hits = baseline(&yaml);
        assert_eq!(ids(&hits), ["privilege-escalation"; 2]);
        assert_eq!((hits[0].line, hits[0].severity), (6, Severity::Medium));
        assert_eq!(
            hits[0].path,
            "spec.containers[0].securityContext.allowPrivilegeEscalation"
        );
        assert_eq!(hits[1].line, 10);
        assert!(hits[1].message.contains("to true"));
    }

    #[test]
    fn privileged_forces_escalation_high() {
        let yaml = pod("  - name: a\n    image: x\n    securityContext:\n      privileged: true\n");
        let hits = baseline(&yaml);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].line, hits[0].severity), (9, Severity::High));
        assert!(hits[0].message.contains("privileged"));
    }

    #[test]
    fn sys_admin_with_false_is_reported_even_at_restricted() {
        let yaml = pod("  - name: a\n    image: x\n    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities:\n        add: [cap_sys_admin]\n");
        for hits in [baseline(&yaml), run(&yaml, ID)] {
            assert_eq!(hits.len(), 1);
            assert_eq!(hits[0].line, 9);
            assert_eq!(hits[0].severity, Severity::High);
            assert!(hits[0].message.contains("CAP_SYS_ADMIN"));
            assert!(hits[0].message.contains("cannot take effect"));
        }
    }

    #[test]
    fn all_capabilities_force_escalation() {
        let yaml = pod(
            "  - name: a\n    image: x\n    securityContext:\n      capabilities: {add: [all]}\n",
        );
        let hits = baseline(&yaml);
        assert_eq!(
            (hits.len(), hits[0].severity, hits[0].line),
            (1, Severity::High, 9)
        );
        assert!(hits[0].message.contains("ALL capabilities"));
    }

    #[test]
    fn quiet_where_pod_security_restricted_reports() {
        let yaml = pod("  - {name: a, image: x}\n  - name: b\n    image: x\n    securityContext: {privileged: true}\n");
        assert_eq!(baseline(&yaml).len(), 2);
        assert!(run(&yaml, ID).is_empty());
    }

    #[test]
    fn windows_pods_and_ephemeral_containers() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  os: {name: windows}\n  containers:\n  - {name: a, image: x}\n";
        assert!(baseline(yaml).is_empty());
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: x\n    securityContext: {allowPrivilegeEscalation: false}\n  ephemeralContainers:\n  - {name: dbg, image: x}\n";
        let hits = baseline(yaml);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].message.contains("ephemeral container \"dbg\""));
    }
}
