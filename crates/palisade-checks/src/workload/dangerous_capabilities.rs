//! `dangerous-capabilities`: each added Linux capability, graded by what it gives an attacker.

use palisade_engine::{Findings, ObjectContext};
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::helpers::added_capabilities;
use crate::pss::helpers::{cis, is_windows, mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "dangerous-capabilities",
        title: "Dangerous capability added",
        severity: Severity::High,
        category: Category::Workload,
        description: "Each entry of a container's `securityContext.capabilities.add` (names compared case-insensitively, with or without `CAP_`), graded by what it lets an attacker do:\n\n\
| grade | capabilities | why |\n\
|---|---|---|\n\
| critical | `ALL`, `SYS_ADMIN`, `SYS_MODULE`, `SYS_RAWIO`, `DAC_READ_SEARCH`, `BPF`; `SYS_PTRACE` in a `hostPID` pod | known escapes to the node: mounts and cgroup release agents, kernel modules, raw memory and I/O ports, reading host files by handle (\"shocker\"), kernel eBPF, tracing host processes |\n\
| high | `SYS_PTRACE`, `NET_ADMIN`, `SYS_BOOT`, `SYS_TIME`, `MAC_ADMIN`, `MAC_OVERRIDE`, `PERFMON`, `SYSLOG`, `AUDIT_CONTROL` | node-wide or not namespaced (clock, reboot, audit), security-policy bypass (AppArmor/SELinux), kernel address leaks that help kernel exploits, traffic interception, process injection |\n\
| medium | `NET_RAW`, `DAC_OVERRIDE`, `CHOWN`, `FOWNER`, `SETUID`, `SETGID`, `SETFCAP`, `SETPCAP`, `MKNOD`, `SYS_CHROOT`, `AUDIT_WRITE`, `AUDIT_READ`, `SYS_RESOURCE`, `SYS_NICE`, `IPC_LOCK`, `IPC_OWNER`, `LINUX_IMMUTABLE`, `SYS_PACCT`, `SYS_TTY_CONFIG`, `CHECKPOINT_RESTORE` | the runtime defaults and other container-local powers: spoofed packets, bypassing file permissions, changing identities, starving the node's resources |\n\
| low | `KILL`, `FSETID`, `LEASE`, `WAKE_ALARM`, `BLOCK_SUSPEND`, `NET_BROADCAST`, and names that are not Linux capabilities | little beyond the process's own reach |\n\
| none | `NET_BIND_SERVICE` | binding ports below 1024 |\n\n\
Windows pods are exempt (capabilities are Linux-only).",
        rationale: "Capabilities split root's power; added back one by one they restore it. Several are each a documented container escape on their own, others reach beyond the container's namespaces to the whole node.",
        remediation: "Remove the capability from `securityContext.capabilities.add`; drop `ALL` and add back only what the process needs (usually nothing, or `NET_BIND_SERVICE`). Bind high ports instead of needing `NET_BIND_SERVICE`, and run node agents that truly need `SYS_ADMIN` or `NET_ADMIN` in a dedicated, locked-down namespace.",
        references: &[
            "https://man7.org/linux/man-pages/man7/capabilities.7.html",
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-capabilities-for-a-container",
        ],
        mappings: &[cis("5.2.9"), nsa("Pod security"), mitre("T1611")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0046"),
            peer(PeerTool::Checkov, "CKV_K8S_25"),
            peer(PeerTool::Checkov, "CKV_K8S_39"),
            peer(PeerTool::Polaris, "dangerousCapabilities"),
            peer(PeerTool::Polaris, "insecureCapabilities"),
            peer(PeerTool::Trivy, "KSV005"),
            peer(PeerTool::Trivy, "KSV022"),
        ],
        peer_notes: "Peers flag any added capability at one severity (checkov CKV_K8S_25, trivy KSV022) or a short fixed list (SYS_ADMIN, NET_RAW); this check grades every entry by what it enables, and matches names the way runtimes do (`cap_sys_admin` is `SYS_ADMIN`). `SYS_PTRACE` is critical only beside `hostPID: true`, where it reaches the node's processes. Not silenced by the Pod Security capability checks: they say a capability is not allowed, this says how dangerous it is, so an added `SYS_ADMIN` is reported by both. Runtime defaults such as `DAC_OVERRIDE` and `SETFCAP` are medium, not high: the baseline standard allows them and their reach is the container's own files.",
        source: file!(),
    },
    eval,
};

/// The grade of one capability (upper case, no `CAP_`), and what it gives; `None` when harmless.
fn grade(cap: &str, host_pid: bool) -> Option<(Severity, &'static str)> {
    use Severity::{Critical, High, Low, Medium};
    Some(match cap {
        "NET_BIND_SERVICE" => return None,
        "ALL" => (Critical, "every capability, root's full power"),
        "SYS_ADMIN" => (
            Critical,
            "mounts, namespaces and cgroup release agents: a known escape to the node",
        ),
        "SYS_MODULE" => (
            Critical,
            "loading kernel modules: code in the node's kernel",
        ),
        "SYS_RAWIO" => (
            Critical,
            "raw I/O ports and /dev/mem: the node's memory and devices",
        ),
        "DAC_READ_SEARCH" => (
            Critical,
            "open_by_handle_at: reading host files outside the container (\"shocker\")",
        ),
        "BPF" => (
            Critical,
            "loading eBPF programs: reading kernel memory and tracing the node",
        ),
        "SYS_PTRACE" if host_pid => (
            Critical,
            "tracing and injecting code into the node's processes (the pod uses hostPID)",
        ),
        "SYS_PTRACE" => (High, "tracing and injecting code into processes it can see"),
        "NET_ADMIN" => (
            High,
            "reconfiguring interfaces, routes and iptables: intercepting or redirecting traffic",
        ),
        "SYS_BOOT" => (High, "reboot and kexec"),
        "SYS_TIME" => (High, "setting the node's clock, which is not namespaced"),
        "MAC_ADMIN" | "MAC_OVERRIDE" => (High, "changing or bypassing AppArmor/SELinux policy"),
        "PERFMON" => (
            High,
            "performance monitoring: kernel addresses and side channels",
        ),
        "SYSLOG" => (
            High,
            "the kernel log and kernel addresses, which defeat KASLR",
        ),
        "AUDIT_CONTROL" => (High, "changing or disabling the node's kernel audit"),
        "NET_RAW" => (Medium, "raw sockets: spoofed packets and ARP/DNS poisoning"),
        "DAC_OVERRIDE" => (Medium, "bypassing file permission checks"),
        "CHOWN" | "FOWNER" => (Medium, "taking over files it does not own"),
        "SETUID" | "SETGID" => (Medium, "switching to any user or group id"),
        "SETFCAP" | "SETPCAP" => (Medium, "granting capabilities to files and processes"),
        "MKNOD" => (Medium, "creating device nodes"),
        "SYS_CHROOT" => (Medium, "chroot, a step in several escape techniques"),
        "AUDIT_WRITE" | "AUDIT_READ" => (Medium, "writing or reading the kernel audit log"),
        "SYS_RESOURCE" | "SYS_NICE" | "IPC_LOCK" => (
            Medium,
            "overriding resource limits and priorities: starving the node",
        ),
        "IPC_OWNER" => (Medium, "bypassing permission checks on IPC objects"),
        "LINUX_IMMUTABLE" => (Medium, "changing immutable and append-only files"),
        "SYS_PACCT" => (Medium, "process accounting on the node"),
        "SYS_TTY_CONFIG" => (Medium, "configuring terminals"),
        "CHECKPOINT_RESTORE" => (
            Medium,
            "checkpoint/restore: choosing process ids and reading memory maps",
        ),
        "KILL" | "FSETID" | "LEASE" | "WAKE_ALARM" | "BLOCK_SUSPEND" | "NET_BROADCAST" => {
            (Low, "little beyond the process's own reach")
        }
        _ => (
            Low,
            "not a Linux capability; the runtime may refuse to start the container",
        ),
    })
}

fn host_pid(pod: &PodSpecView<'_>) -> bool {
    pod.field("hostPID").is_some_and(|n| n.is_true())
}

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in ctx.pods.iter().filter(|p| !is_windows(p)) {
        let host_pid = host_pid(pod);
        for c in pod.containers() {
            for (i, node, cap) in added_capabilities(c) {
                let Some((severity, gives)) = grade(&cap, host_pid) else {
                    continue;
                };
                out.report(
                    meta,
                    node,
                    c.path_of(&format!("securityContext.capabilities.add[{i}]")),
                    format!("{} adds capability {cap}: {gives}", who(c)),
                )
                .severity = severity;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{ids, run, run_with};
    use palisade_engine::CheckSettings;
    use palisade_model::Severity;

    const ID: &[&str] = &["dangerous-capabilities"];

    fn pod(pod_fields: &str, add: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{pod_fields}  containers:\n  - name: a\n    image: x\n    securityContext:\n      capabilities:\n        drop: [ALL]\n        add: {add}\n")
    }

    fn grades(yaml: &str) -> Vec<Severity> {
        run(yaml, ID).iter().map(|h| h.severity).collect()
    }

    #[test]
    fn nothing_added_or_only_net_bind_service_passes() {
        assert!(run(&pod("", "[NET_BIND_SERVICE]"), ID).is_empty());
        assert!(run(&pod("", "[]"), ID).is_empty());
    }

    #[test]
    fn each_entry_is_graded_at_its_node() {
        let yaml = pod(
            "",
            "[cap_sys_admin, NET_ADMIN, NET_RAW, KILL, NOT_A_CAP, NET_BIND_SERVICE]",
        );
        let hits = run(&yaml, ID);
        assert_eq!(ids(&hits), ["dangerous-capabilities"; 5]);
        assert_eq!(
            grades(&yaml),
            [
                Severity::Critical,
                Severity::High,
                Severity::Medium,
                Severity::Low,
                Severity::Low
            ]
        );
        assert!(hits.iter().all(|h| h.line == 11));
        assert_eq!(
            hits[0].path,
            "spec.containers[0].securityContext.capabilities.add[0]"
        );
        assert_eq!(
            hits[2].path,
            "spec.containers[0].securityContext.capabilities.add[2]"
        );
        assert!(hits[0].message.contains("SYS_ADMIN"));
        assert!(hits[4].message.contains("not a Linux capability"));
    }

    #[test]
    fn block_list_lines() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - name: i\n    image: x\n    securityContext:\n      capabilities:\n        add:\n        - ALL\n        - SYS_MODULE\n  containers:\n  - {name: a, image: x}\n";
        let hits = run(yaml, ID);
        assert_eq!(hits.iter().map(|h| h.line).collect::<Vec<_>>(), [11, 12]);
        assert!(hits[0].message.contains("init container \"i\""));
        assert_eq!(grades(yaml), [Severity::Critical; 2]);
    }

    #[test]
    fn sys_ptrace_is_critical_only_with_host_pid() {
        assert_eq!(grades(&pod("", "[SYS_PTRACE]")), [Severity::High]);
        assert_eq!(
            grades(&pod("  hostPID: true\n", "[SYS_PTRACE]")),
            [Severity::Critical]
        );
    }

    #[test]
    fn reported_at_every_profile_and_not_on_windows() {
        let yaml = pod("", "[SYS_ADMIN]");
        assert_eq!(
            run_with(&yaml, ID, "baseline", &CheckSettings::default()).len(),
            1
        );
        assert_eq!(run(&yaml, ID).len(), 1);
        assert!(run(&pod("  os: {name: windows}\n", "[SYS_ADMIN]"), ID).is_empty());
    }
}
