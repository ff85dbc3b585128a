//! `capabilities-not-dropped`: a container keeps the runtime's default capabilities.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use crate::pss::helpers::{cis, entry, is_windows, mitre, nsa, peer, pss_covers, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "capabilities-not-dropped",
        title: "Default capabilities not dropped",
        severity: Severity::Low,
        category: Category::Workload,
        description: "A container's `securityContext.capabilities.drop` does not contain `ALL` (compared case-insensitively). Windows pods are exempt. Where the Pod Security check `capabilities_restricted` runs (restricted profile) it reports this instead.",
        rationale: "Without `drop: [ALL]` the process keeps the runtime's default set (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, NET_RAW, MKNOD, SYS_CHROOT, ...): raw packets for spoofing and poisoning on the node network, and the privileges most post-exploitation tools expect.",
        remediation: "Set `securityContext.capabilities.drop: [\"ALL\"]` on every container and add back only what the process needs (usually nothing, or `NET_BIND_SERVICE`).",
        references: &[
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-capabilities-for-a-container",
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        ],
        mappings: &[cis("5.2.10"), nsa("Pod security"), mitre("T1611")],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_37"),
            peer(PeerTool::Trivy, "KSV003"),
        ],
        peer_notes: "`all` counts like `ALL`: container runtimes compare it case-insensitively (the Pod Security check, exact as upstream, wants `ALL`). Quiet where the Pod Security check `capabilities_restricted` reports the same field, so one problem is one finding. Dropping only `NET_RAW` (kube-linter `drop-net-raw-capability`) is not enough here.",
        source: file!(),
    },
    eval,
};

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    if pss_covers(ctx, "capabilities_restricted") {
        return;
    }
    for pod in ctx.pods.iter().filter(|p| !is_windows(p)) {
        for c in pod.containers() {
            let sc = entry(Some(c.node), "securityContext");
            let caps = entry(sc.map(|(_, v)| v), "capabilities");
            let drop = entry(caps.map(|(_, v)| v), "drop");
            let drops_all = drop.is_some_and(|(_, d)| {
                d.items().any(|x| {
                    x.as_str()
                        .is_some_and(|s| s.trim().eq_ignore_ascii_case("ALL"))
                })
            });
            if drops_all {
                continue;
            }
            // The deepest of drop / capabilities / securityContext that exists.
            let at = drop.or(caps).or(sc).map_or(c.node, |(k, _)| k);
            out.report(
                meta,
                at,
                c.path_of("securityContext.capabilities.drop"),
                format!(
                    "{} does not drop ALL capabilities (securityContext.capabilities.drop); it keeps the runtime defaults",
                    who(c)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{self, ids, run, Hit};
    use palisade_model::Severity;

    const ID: &[&str] = &["capabilities-not-dropped"];

    fn baseline(yaml: &str) -> Vec<Hit> {
        testing::run_baseline(yaml, ID)
    }

    fn pod(containers: &str) -> String {
        testing::pod(&format!("  containers:\n{containers}"))
    }

    #[test]
    fn drop_all_in_any_case_passes() {
        let yaml = pod("  - name: a\n    image: x\n    securityContext: {capabilities: {drop: [all]}}\n  - name: b\n    image: x\n    securityContext: {capabilities: {drop: [NET_RAW, ALL], add: [CHOWN]}}\n");
        assert!(baseline(&yaml).is_empty());
    }

    #[test]
    fn missing_drop_points_at_the_deepest_field() {
        let yaml = pod("  - {name: a, image: x}\n  - name: b\n    image: x\n    securityContext:\n      capabilities:\n        drop: [NET_RAW]\n");
        let hits = baseline(&yaml);
        assert_eq!(ids(&hits), ["capabilities-not-dropped"; 2]);
        assert_eq!((hits[0].line, hits[0].severity), (6, Severity::Low));
        assert_eq!(
            hits[0].path,
            "spec.containers[0].securityContext.capabilities.drop"
        );
        assert_eq!(hits[1].line, 11);
        assert!(hits[1].message.contains("container \"b\""));
    }

    #[test]
    fn init_containers_in_a_deployment() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      initContainers:\n      - name: i\n        image: x\n        securityContext: {runAsNonRoot: true}\n      containers:\n      - name: a\n        image: x\n        securityContext: {capabilities: {drop: [ALL]}}\n";
        let hits = baseline(yaml);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].line, 10);
        assert_eq!(
            hits[0].path,
            "spec.template.spec.initContainers[0].securityContext.capabilities.drop"
        );
    }

    #[test]
    fn quiet_at_restricted_and_for_windows() {
        let yaml = pod("  - {name: a, image: x}\n");
        assert_eq!(baseline(&yaml).len(), 1);
        assert!(run(&yaml, ID).is_empty());
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  os: {name: windows}\n  containers:\n  - {name: a, image: x}\n";
        assert!(baseline(yaml).is_empty());
    }
}
