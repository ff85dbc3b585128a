//! `sensitive-host-path`: hostPath volumes graded by what of the node they expose.

use palisade_engine::{Findings, ObjectContext};
use palisade_inventory::PodSpecView;
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use crate::pss::helpers::{cis, entry, mitre, nsa, peer, who};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "sensitive-host-path",
        title: "Sensitive host path mounted",
        severity: Severity::Critical,
        category: Category::Workload,
        description: "A `hostPath` volume whose path (normalised: `//`, `/./` and `..` resolved, trailing `/` removed; `/var/run` is the same as `/run`) equals, lies under, or contains a sensitive node path.\n\n\
| grade | paths |\n\
|---|---|\n\
| critical | `/` , `/etc`, `/proc`, `/sys`, `/dev`, `/root`, `/home`, `/boot`, `/var/lib/kubelet`, `/var/lib/etcd`, `/var/lib/docker`, `/var/lib/containerd`, `/var/lib/containers`, `/run` and `/var/run` (the directories themselves), runtime sockets: `/run/docker.sock`, `/run/containerd`, `/run/crio`, `/run/cri-dockerd.sock` |\n\
| high | `/var/log`, `/var/lib` (the directory itself), `/usr`, `/lib`, `/lib64`, `/bin`, `/sbin`, `/opt/cni/bin` |\n\n\
A path that contains a sensitive path takes its grade (`/var` contains `/var/lib/kubelet`: critical). When every `volumeMount` of the volume, in every container, is `readOnly: true` (or no container mounts it), the grade is one step lower. Read-only trust and time material stays quiet: `/etc/ssl/certs`, `/etc/pki/ca-trust`, `/etc/pki/tls/certs`, `/etc/ca-certificates`, `/usr/share/ca-certificates`, `/etc/localtime`, `/etc/timezone`, `/usr/share/zoneinfo`.",
        rationale: "A hostPath hands the container part of the node. The runtime socket is control of every container on the node; `/etc`, `/root` and `/var/lib/kubelet` hold credentials; `/proc`, `/sys` and `/dev` reach the kernel and devices; writable program directories are code execution as root on the node. A writable `/var/log` lets a container read any host file through the kubelet's log endpoint.",
        remediation: "Replace the hostPath with a PersistentVolumeClaim, `emptyDir`, `configMap`, `secret` or projected volume. If node access is truly needed, mount the narrowest path (a single file), set `readOnly: true` on every volumeMount, and run the workload in a dedicated, privileged namespace.",
        references: &[
            "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        ],
        mappings: &[cis("5.2.12"), nsa("Pod security"), mitre("T1611")],
        peers: &[
            peer(PeerTool::Kubescape, "C-0045"),
            peer(PeerTool::Kubescape, "C-0048"),
            peer(PeerTool::Kubescape, "C-0074"),
            peer(PeerTool::Checkov, "CKV_K8S_27"),
            peer(PeerTool::KubeLinter, "sensitive-host-mounts"),
            peer(PeerTool::KubeLinter, "docker-sock"),
            peer(PeerTool::KubeLinter, "writable-host-mount"),
            peer(PeerTool::Trivy, "KSV006"),
            peer(PeerTool::Trivy, "KSV023"),
        ],
        peer_notes: "Peers compare the path text with a list, so `/var/run/./docker.sock`, `/run//containerd/` or `/var` (which contains the kubelet's credentials) slip through; this check normalises the path and also reports ancestors of sensitive paths. Writability is judged across every container's mounts (kube-linter `writable-host-mount` looks at one), and read-only CA bundles and time zone files are not reported. Not silenced by the Pod Security `hostPathVolumes` / `restrictedVolumes` checks: they report any hostPath, this grades what it exposes. `subPath` mounts are graded by the volume's path.",
        source: file!(),
    },
    eval,
};

/// A sensitive node path: its grade, whether paths below it are sensitive too, and what it holds.
struct Sensitive {
    path: &'static str,
    severity: Severity,
    below: bool,
    what: &'static str,
}

const fn s(path: &'static str, severity: Severity, below: bool, what: &'static str) -> Sensitive {
    Sensitive {
        path,
        severity,
        below,
        what,
    }
}

const RUNTIME: &str = "a container runtime socket: control of every container on the node";
const PROGRAMS: &str = "the node's programs and libraries";

/// `/run/...` entries also match `/var/run/...` (a symlink to `/run` on every current distribution).
const SENSITIVE: &[Sensitive] = &[
    s(
        "/",
        Severity::Critical,
        false,
        "the node's whole file system",
    ),
    s(
        "/etc/kubernetes",
        Severity::Critical,
        true,
        "Kubernetes configuration, static pod manifests and component credentials",
    ),
    s(
        "/etc",
        Severity::Critical,
        true,
        "the node's configuration and credentials",
    ),
    s(
        "/proc",
        Severity::Critical,
        true,
        "the node's processes and kernel settings",
    ),
    s(
        "/sys",
        Severity::Critical,
        true,
        "kernel, device and cgroup settings",
    ),
    s("/dev", Severity::Critical, true, "the node's devices"),
    s(
        "/root",
        Severity::Critical,
        true,
        "root's home directory: SSH keys and credentials",
    ),
    s(
        "/home/kubernetes",
        Severity::High,
        true,
        "the Kubernetes binaries and drivers GKE installs on its nodes, which the node runs as root",
    ),
    s(
        "/home",
        Severity::Critical,
        true,
        "users' home directories: SSH keys and credentials",
    ),
    s(
        "/boot",
        Severity::Critical,
        true,
        "the kernel and boot loader",
    ),
    s(
        "/var/lib/kubelet",
        Severity::Critical,
        true,
        "kubelet credentials and every pod's volumes and secrets",
    ),
    s(
        "/var/lib/etcd",
        Severity::Critical,
        true,
        "the etcd database: every Secret of the cluster",
    ),
    s(
        "/var/lib/docker",
        Severity::Critical,
        true,
        "container runtime state: every container's files",
    ),
    s(
        "/var/lib/containerd",
        Severity::Critical,
        true,
        "container runtime state: every container's files",
    ),
    s(
        "/var/lib/containers",
        Severity::Critical,
        true,
        "container runtime state: every container's files",
    ),
    s("/run/docker.sock", Severity::Critical, true, RUNTIME),
    s("/run/containerd", Severity::Critical, true, RUNTIME),
    s("/run/crio", Severity::Critical, true, RUNTIME),
    s("/run/cri-dockerd.sock", Severity::Critical, true, RUNTIME),
    s(
        "/run",
        Severity::Critical,
        false,
        "the container runtime sockets and the node's runtime state",
    ),
    s(
        "/var/log",
        Severity::High,
        true,
        "every pod's logs (writable, it lets the container read host files through the kubelet)",
    ),
    s("/var/lib", Severity::High, false, "the node's state"),
    s(
        "/opt/cni/bin",
        Severity::High,
        true,
        "CNI plugins the node runs as root",
    ),
    s("/usr", Severity::High, true, PROGRAMS),
    s("/lib", Severity::High, true, PROGRAMS),
    s("/lib64", Severity::High, true, PROGRAMS),
    s("/bin", Severity::High, true, PROGRAMS),
    s("/sbin", Severity::High, true, PROGRAMS),
];

/// Trust and time material that is harmless read-only.
const BENIGN: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/pki/ca-trust",
    "/etc/pki/tls/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/etc/localtime",
    "/etc/timezone",
    "/usr/share/zoneinfo",
];

/// The path's components with `.`, empty parts and `..` resolved (`..` above `/` stays at `/`).
fn components(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out
}

/// `/var/run/x` is `/run/x`.
fn canonical(mut parts: Vec<&str>) -> Vec<&str> {
    if parts.starts_with(&["var", "run"]) {
        parts.remove(0);
    }
    parts
}

fn normalised(path: &str) -> String {
    format!("/{}", components(path).join("/"))
}

/// How a host path relates to a sensitive path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Relation {
    Contains,
    Below,
    Equal,
}

/// The most severe sensitive path the host path touches (the closest relation on ties),
/// with that path as shown in messages.
fn classify(host: &[&str]) -> Option<(&'static Sensitive, Relation, String)> {
    let canon = canonical(host.to_vec());
    SENSITIVE
        .iter()
        .rev()
        .filter_map(|s| {
            let sp = components(s.path);
            let mut shown = s.path.to_owned();
            let rel = if canon == sp {
                Relation::Equal
            } else if canon.starts_with(&sp) && s.below {
                Relation::Below
            } else if sp.starts_with(&canon) {
                Relation::Contains
            } else if sp.first() == Some(&"run") && [&["var"][..], &sp].concat().starts_with(host) {
                // `/var` contains `/var/run`.
                shown = format!("/var{}", s.path);
                Relation::Contains
            } else {
                return None;
            };
            Some((s, rel, shown))
        })
        // At or above the host path, the most specific entry decides (`/home/kubernetes`
        // over `/home`); below it, the most severe path the mount contains. The more
        // severe of the two wins, the specific one on ties.
        .fold(
            None,
            |best: Option<(&'static Sensitive, Relation, String)>, cand| {
                let Some(b) = best else {
                    return Some(cand);
                };
                let key = |(s, rel, _): &(&'static Sensitive, Relation, String)| {
                    let specific = *rel != Relation::Contains;
                    let len = if specific { s.path.len() } else { 0 };
                    (specific, len, s.severity)
                };
                let better = match (b.1 != Relation::Contains, cand.1 != Relation::Contains) {
                    (true, true) => key(&cand) > key(&b),
                    // Iterated in reverse: `>=` keeps the first in table order on ties.
                    (false, false) => cand.0.severity >= b.0.severity,
                    (true, false) => cand.0.severity > b.0.severity,
                    (false, true) => cand.0.severity >= b.0.severity,
                };
                Some(if better { cand } else { b })
            },
        )
}

fn is_benign(host: &[&str]) -> bool {
    BENIGN.iter().any(|b| host.starts_with(&components(b)))
}

/// Who mounts the volume writable; `None` when no container mounts it.
fn writers(pod: &PodSpecView<'_>, volume: &str) -> Option<Vec<String>> {
    let mut mounted = false;
    let mut writable = Vec::new();
    for c in pod.containers() {
        let mounts = c.node.get_present("volumeMounts");
        for m in mounts.iter().flat_map(|m| m.items()) {
            if m.get("name").and_then(|n| n.as_str()) != Some(volume) {
                continue;
            }
            mounted = true;
            let read_only = m.get("readOnly").and_then(|n| n.as_bool()) == Some(true);
            let name = who(c);
            if !read_only && !writable.contains(&name) {
                writable.push(name);
            }
        }
    }
    mounted.then_some(writable)
}

const fn one_step_down(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        _ => Severity::Info,
    }
}

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    for pod in &ctx.pods {
        let Some(volumes) = pod.field("volumes") else {
            continue;
        };
        for (i, vol) in volumes.items().enumerate() {
            let Some((_, host)) = entry(Some(vol), "hostPath") else {
                continue;
            };
            let Some((key, value)) = entry(Some(host), "path") else {
                continue;
            };
            let Some(raw) = value.as_str() else { continue };
            let parts = components(raw);
            let Some((sensitive, relation, sensitive_path)) = classify(&parts) else {
                continue;
            };
            let name = vol.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let writers = writers(pod, name);
            let writable = writers.as_ref().is_some_and(|w| !w.is_empty());
            if !writable && is_benign(&parts) {
                continue;
            }
            let mut severity = sensitive.severity;
            let access = match &writers {
                Some(w) if !w.is_empty() => format!("mounted writable by {}", w.join(", ")),
                Some(_) => {
                    severity = one_step_down(severity);
                    "mounted read-only".to_owned()
                }
                None => {
                    severity = one_step_down(severity);
                    "not mounted by any container".to_owned()
                }
            };
            let shown = normalised(raw);
            let path_text = if shown == raw {
                format!("{raw:?}")
            } else {
                format!("{raw:?} (that is {shown:?})")
            };
            let exposes = match relation {
                Relation::Contains => format!("contains {sensitive_path}: {}", sensitive.what),
                _ => format!("exposes {}", sensitive.what),
            };
            out.report(
                meta,
                key,
                pod.path_of(&format!("volumes[{i}].hostPath.path")),
                format!("volume {name:?} mounts host path {path_text}, which {exposes}; {access}"),
            )
            .severity = severity;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{classify, components, Relation};
    use crate::testing::{ids, run, run_with, Hit};
    use palisade_engine::CheckSettings;
    use palisade_model::Severity;

    const ID: &[&str] = &["sensitive-host-path"];

    /// A pod with one hostPath volume `v` at `path`, mounted by each of `mounts`
    /// (`true` = readOnly).
    fn pod(path: &str, mounts: &[bool]) -> String {
        let mut y = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  volumes:\n  - name: v\n    hostPath:\n      path: {path}\n  containers:\n");
        for (i, ro) in mounts.iter().enumerate() {
            y.push_str(&format!("  - name: c{i}\n    image: x\n    volumeMounts:\n    - {{name: v, mountPath: /host, readOnly: {ro}}}\n"));
        }
        if mounts.is_empty() {
            y.push_str("  - {name: c, image: x}\n");
        }
        y
    }

    fn grade(path: &str, mounts: &[bool]) -> Option<Severity> {
        let hits = run(&pod(path, mounts), ID);
        assert!(hits.len() <= 1);
        hits.first().map(|h| h.severity)
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            components("/var/run/./docker.sock/"),
            ["var", "run", "docker.sock"]
        );
        assert_eq!(
            components("//etc/../var//lib/kubelet"),
            ["var", "lib", "kubelet"]
        );
        assert_eq!(components("/../.."), Vec::<&str>::new());
        let rel = |p: &str| classify(&components(p)).map(|(_, r, shown)| (shown, r));
        let r = |p: &str, rel: Relation| Some((p.to_owned(), rel));
        assert_eq!(
            rel("/var/run/docker.sock"),
            r("/run/docker.sock", Relation::Equal)
        );
        assert_eq!(rel("/var"), r("/var/lib/kubelet", Relation::Contains));
        // GKE's binaries directory is graded for what it is, not as a home directory.
        assert_eq!(
            rel("/home/kubernetes/bin/nvidia"),
            r("/home/kubernetes", Relation::Below)
        );
        assert_eq!(rel("/home/alice"), r("/home", Relation::Below));
        assert_eq!(rel("/var/lib"), r("/var/lib/kubelet", Relation::Contains));
        assert_eq!(rel("/var/run"), r("/run", Relation::Equal));
        assert_eq!(
            rel("/var/lib/kubelet/pods"),
            r("/var/lib/kubelet", Relation::Below)
        );
        assert_eq!(
            rel("/etc/kubernetes/pki"),
            r("/etc/kubernetes", Relation::Below)
        );
        assert_eq!(rel("/"), r("/", Relation::Equal));
        assert_eq!(rel("/data/app"), None);
        assert_eq!(rel("/run/xtables.lock"), None);
        assert_eq!(rel("/var/lib/mysql"), None);
    }

    #[test]
    fn benign_and_unrelated_paths_are_quiet() {
        assert_eq!(grade("/data/app", &[false]), None);
        assert_eq!(grade("/etc/ssl/certs", &[true]), None);
        assert_eq!(grade("/usr/share/zoneinfo/UTC", &[true, true]), None);
        assert_eq!(grade("/run/xtables.lock", &[false]), None);
    }

    #[test]
    fn runtime_socket_written_is_critical_at_the_path_node() {
        let hits = run(&pod("/var/run/docker.sock", &[true, false]), ID);
        assert_eq!(ids(&hits), ["sensitive-host-path"]);
        assert_eq!(hits[0].severity, Severity::Critical);
        assert_eq!(hits[0].line, 8);
        assert_eq!(hits[0].path, "spec.volumes[0].hostPath.path");
        assert!(hits[0].message.contains("\"/var/run/docker.sock\""));
        assert!(hits[0].message.contains("container runtime socket"));
        assert!(hits[0].message.contains("writable by container \"c1\""));
        assert!(!hits[0].message.contains("\"c0\""));
    }

    #[test]
    fn read_only_everywhere_is_one_step_down() {
        assert_eq!(grade("/etc", &[true, true]), Some(Severity::High));
        assert_eq!(grade("/var/log", &[true]), Some(Severity::Medium));
        assert_eq!(grade("/var/log", &[false]), Some(Severity::High));
        assert_eq!(grade("/proc", &[]), Some(Severity::High));
        let hits = run(&pod("/proc", &[]), ID);
        assert!(hits[0].message.contains("not mounted by any container"));
    }

    #[test]
    fn writable_trust_material_is_graded() {
        assert_eq!(grade("/etc/ssl/certs", &[false]), Some(Severity::Critical));
    }

    #[test]
    fn ancestors_and_tricks() {
        assert_eq!(grade("/var", &[true]), Some(Severity::High));
        assert_eq!(grade("/var", &[false]), Some(Severity::Critical));
        let hits = run(&pod("/run//containerd/", &[false]), ID);
        assert_eq!(hits[0].severity, Severity::Critical);
        assert!(hits[0].message.contains("(that is \"/run/containerd\")"));
        assert_eq!(
            grade("/tmp/../etc/kubernetes", &[false]),
            Some(Severity::Critical)
        );
        assert_eq!(grade("/", &[true]), Some(Severity::High));
        assert_eq!(grade("/lib/modules", &[true]), Some(Severity::Medium));
        let hits = run(&pod("/var", &[false]), ID);
        assert!(
            hits[0]
                .message
                .contains("which contains /var/lib/kubelet: kubelet credentials"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn reported_at_every_profile_in_a_daemonset() {
        let yaml = "\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      initContainers:
      - name: init
        image: x
        volumeMounts: [{name: kubelet, mountPath: /k}]
      containers:
      - name: a
        image: x
        volumeMounts: [{name: kubelet, mountPath: /k, readOnly: true}]
      volumes:
      - name: kubelet
        hostPath: {path: /var/lib/kubelet, type: Directory}
";
        let check = |hits: Vec<Hit>| {
            assert_eq!(hits.len(), 1);
            assert_eq!(hits[0].line, 17);
            assert_eq!(hits[0].path, "spec.template.spec.volumes[0].hostPath.path");
            assert!(hits[0]
                .message
                .contains("writable by init container \"init\""));
            assert_eq!(hits[0].severity, Severity::Critical);
        };
        check(run(yaml, ID));
        check(run_with(yaml, ID, "baseline", &CheckSettings::default()));
    }
}
