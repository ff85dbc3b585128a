//! A node as the checks see it: the kubelet's effective configuration, the control-plane
//! components (static pod manifests, or processes), and every file CIS sections 1.1 and
//! 4.1 judge, each found where the running components say it is, or, where nothing
//! names it, at the paths kubeadm, k3s, RKE2 and the cloud distributions use. A role with
//! no file gets a reason, so a check is "not applicable" rather than failed or passed.

use std::collections::BTreeMap;

use palisade_source::{parse_document, split_documents, Limits};
use serde::{Deserialize, Serialize};

use crate::flags::{self, Flag};
use crate::kubelet::{self, EffectiveConfig, Setting, Source};
use crate::snapshot::{normalize, FileFact, FileKind, Files, Process, Snapshot};
use serde_json::Value;

/// What a file is to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    KubeletService,
    KubeletKubeconfig,
    KubeletConfig,
    KubeletClientCa,
    ProxyKubeconfig,
    ApiserverManifest,
    ControllerManagerManifest,
    SchedulerManifest,
    EtcdManifest,
    CniFile,
    EtcdDataDir,
    AdminKubeconfig,
    SchedulerKubeconfig,
    ControllerManagerKubeconfig,
    PkiDir,
    PkiCert,
    PkiKey,
}

impl Role {
    /// How a message names the file.
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Role::KubeletService => "kubelet service file",
            Role::KubeletKubeconfig => "kubelet kubeconfig",
            Role::KubeletConfig => "kubelet configuration file",
            Role::KubeletClientCa => "kubelet client CA file",
            Role::ProxyKubeconfig => "kube-proxy kubeconfig",
            Role::ApiserverManifest => "kube-apiserver manifest",
            Role::ControllerManagerManifest => "kube-controller-manager manifest",
            Role::SchedulerManifest => "kube-scheduler manifest",
            Role::EtcdManifest => "etcd manifest",
            Role::CniFile => "CNI configuration file",
            Role::EtcdDataDir => "etcd data directory",
            Role::AdminKubeconfig => "admin kubeconfig",
            Role::SchedulerKubeconfig => "kube-scheduler kubeconfig",
            Role::ControllerManagerKubeconfig => "kube-controller-manager kubeconfig",
            Role::PkiDir => "Kubernetes PKI directory",
            Role::PkiCert => "Kubernetes PKI certificate",
            Role::PkiKey => "Kubernetes PKI key",
        }
    }
}

/// A file with a role, and how Palisade knows it is that file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleFile {
    pub role: Role,
    pub path: String,
    /// `--kubeconfig of the kubelet (pid 812)`, `kubeadm's path`.
    pub found_by: String,
    pub fact: FileFact,
}

/// A control-plane component and its flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// `kube-apiserver`, `kube-controller-manager`, `kube-scheduler`, `etcd`.
    pub program: String,
    /// The static pod manifest, when it runs from one.
    pub manifest: Option<String>,
    pub pid: Option<u32>,
    pub flags: Vec<Flag>,
}

impl Component {
    #[must_use]
    pub fn flag(&self, name: &str) -> Option<&str> {
        flags::last(&self.flags, name).map(|f| f.value.as_str())
    }
}

/// kube-proxy on the node: what CIS 4.3 judges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proxy {
    pub pid: u32,
    /// `/proc/PID/cmdline`.
    pub cmdline: String,
    /// Where its metrics are served (`--metrics-bind-address`, or `metricsBindAddress`
    /// of its `--config` file, which then wins), with the source.
    pub metrics_bind_address: Setting,
}

/// The kubelet of the node, or why there is none to judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kubelet {
    pub pid: u32,
    pub config: EffectiveConfig,
}

/// Everything the node checks read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// The node's name in findings.
    pub node: String,
    pub kubelet: Option<Kubelet>,
    /// Why there is no kubelet to judge.
    pub no_kubelet: Option<String>,
    pub components: Vec<Component>,
    pub proxy: Option<Proxy>,
    /// Why there is no kube-proxy to judge.
    pub no_proxy: Option<String>,
    pub files: Vec<RoleFile>,
    /// Roles with no file, and why.
    pub absent: BTreeMap<Role, String>,
    pub users: BTreeMap<u32, String>,
    pub groups: BTreeMap<u32, String>,
    /// What could not be read.
    pub problems: Vec<String>,
}

impl NodeView {
    /// The files of a role.
    pub fn of(&self, role: Role) -> impl Iterator<Item = &RoleFile> {
        self.files.iter().filter(move |f| f.role == role)
    }

    /// `0 (root)` or `998`.
    #[must_use]
    pub fn user_name(&self, uid: u32) -> String {
        named(uid, self.users.get(&uid))
    }

    #[must_use]
    pub fn group_name(&self, gid: u32) -> String {
        named(gid, self.groups.get(&gid))
    }

    /// The uid of a user name, from the node's `/etc/passwd`.
    #[must_use]
    pub fn uid_of(&self, name: &str) -> Option<u32> {
        self.users
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| *id)
    }

    #[must_use]
    pub fn gid_of(&self, name: &str) -> Option<u32> {
        self.groups
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| *id)
    }

    /// A component by program name.
    #[must_use]
    pub fn component(&self, program: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.program == program)
    }
}

fn named(id: u32, name: Option<&String>) -> String {
    match name {
        Some(n) => format!("{id} ({n})"),
        None => id.to_string(),
    }
}

/// Where kubelet service units live on the distributions Palisade knows (kubeadm's
/// packages, EKS, AKS, GKE's COS, RKE2).
const KUBELET_UNITS: &[&str] = &[
    "/etc/systemd/system/kubelet.service",
    "/usr/lib/systemd/system/kubelet.service",
    "/lib/systemd/system/kubelet.service",
    // k3s runs the kubelet inside the k3s service.
    "/etc/systemd/system/k3s.service",
    "/etc/systemd/system/k3s-agent.service",
];

/// Where k3s (v1.32 and later) keeps its embedded kubelet's configuration: its defaults
/// in `00-k3s-defaults.conf`, copies of `--kubelet-arg=config=` files beside them.
pub const K3S_DROP_INS: &str = "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d";
/// k3s's own configuration file, whose `kubelet-arg:` list are kubelet flags.
pub const K3S_CONFIG: &str = "/etc/rancher/k3s/config.yaml";
/// The kubeconfig k3s gives its kubelet.
pub const K3S_KUBECONFIG: &str = "/var/lib/rancher/k3s/agent/kubelet.kubeconfig";

/// k3s's `config.yaml` with every line blanked but the `kubelet-arg` entry's (the file
/// also holds the cluster's join token): line numbers stay those of the file.
fn only_kubelet_args(text: &str) -> String {
    let mut keeping = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let top_level = !line.starts_with([' ', '\t', '-', '#']) && !line.trim().is_empty();
        if top_level {
            keeping = line.starts_with("kubelet-arg:") || line.starts_with("\"kubelet-arg\":");
        }
        if keeping {
            out.push_str(line);
        } else if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// k3s's embedded kubelet as flags: its drop-in directory and kubeconfig, then the
/// `kubelet-arg:` values of `config.yaml` and of the command line (`--kubelet-arg K=V`),
/// in that order. `None` without a k3s process or before v1.32 (no drop-in directory),
/// when k3s passes its kubelet settings where nothing can read them.
fn k3s_kubelet(files: &mut dyn Files, processes: &[Process]) -> Option<(u32, Vec<Flag>)> {
    let k3s = processes
        .iter()
        .find(|p| p.program() == "k3s" && p.args.iter().any(|a| a == "server" || a == "agent"))?;
    files.list(K3S_DROP_INS)?;
    let made = |name: &str, value: &str| Flag {
        name: name.to_owned(),
        value: value.to_owned(),
        index: 0,
        written: format!("--{name}={value} (k3s)"),
        file: None,
    };
    let mut flags = vec![
        made("config-dir", K3S_DROP_INS),
        made("kubeconfig", K3S_KUBECONFIG),
    ];
    let as_flag = |arg: &str| {
        let (name, value) = arg.split_once('=').unwrap_or((arg, "true"));
        let name = name.trim().trim_start_matches('-').to_owned();
        // A config file or directory k3s copies into its drop-in directory.
        (name != "config" && name != "config-dir" && !name.is_empty())
            .then(|| (name, value.to_owned()))
    };
    if let Some(text) = files.read_part(K3S_CONFIG, &only_kubelet_args) {
        for chunk in split_documents(&text) {
            let Ok(doc) = parse_document(&text[chunk.range.clone()], &chunk, &Limits::default())
            else {
                continue;
            };
            let Some(list) = doc.root().and_then(|r| r.get("kubelet-arg")) else {
                continue;
            };
            for item in list.items() {
                if let Some((name, value)) = item.as_str().and_then(as_flag) {
                    flags.push(Flag {
                        written: format!("kubelet-arg: {name}={value}"),
                        name,
                        value,
                        index: 0,
                        file: Some((K3S_CONFIG.to_owned(), item.pos().line)),
                    });
                }
            }
        }
    }
    for f in flags::parse(&k3s.args, &[]) {
        if f.name == "kubelet-arg" {
            if let Some((name, value)) = as_flag(&f.value) {
                flags.push(Flag {
                    name,
                    value,
                    index: f.index,
                    written: f.written,
                    file: None,
                });
            }
        }
    }
    Some((k3s.pid, flags))
}
const KUBELET_UNIT_DROP_INS: &[&str] = &[
    "/etc/systemd/system/kubelet.service.d",
    "/usr/lib/systemd/system/kubelet.service.d",
    "/lib/systemd/system/kubelet.service.d",
];

const CONTROL_PLANE: &[(&str, Role)] = &[
    ("kube-apiserver", Role::ApiserverManifest),
    ("kube-controller-manager", Role::ControllerManagerManifest),
    ("kube-scheduler", Role::SchedulerManifest),
    ("etcd", Role::EtcdManifest),
];

/// Builds the view of a node from its processes and files.
pub fn build(
    files: &mut dyn Files,
    snapshot_processes: &[Process],
    hostname: Option<&str>,
) -> NodeView {
    let mut view = NodeView {
        node: hostname.unwrap_or("node").to_owned(),
        ..NodeView::default()
    };
    let kubelets: Vec<&Process> = snapshot_processes
        .iter()
        .filter(|p| p.program() == "kubelet")
        .collect();
    match kubelets.first() {
        Some(p) => {
            if kubelets.len() > 1 {
                view.problems.push(format!(
                    "{} kubelet processes; judging the first (pid {})",
                    kubelets.len(),
                    p.pid
                ));
            }
            let config = kubelet::effective(p.pid, &p.args, files);
            kubelet_files(files, &mut view, p.pid, &config);
            view.problems.extend(config.problems.iter().cloned());
            view.kubelet = Some(Kubelet { pid: p.pid, config });
        }
        None if k3s_kubelet(files, snapshot_processes).is_some() => {
            if let Some((pid, flags)) = k3s_kubelet(files, snapshot_processes) {
                let config = kubelet::effective_with(pid, flags, files);
                kubelet_files(files, &mut view, pid, &config);
                view.problems.extend(config.problems.iter().cloned());
                view.kubelet = Some(Kubelet { pid, config });
            }
        }
        None => {
            let k3s = snapshot_processes.iter().find(|p| p.program() == "k3s");
            let why = match k3s {
                Some(p) => format!(
                    "k3s (pid {}) runs the kubelet inside its own process, and before v1.32 passes it settings that appear in no file ({K3S_DROP_INS} does not exist); `palisade scan --cluster` reads the running configuration from configz",
                    p.pid
                ),
                None => "no kubelet process in /proc (run on the node with hostPID, or capture with `palisade node --collect` there)".to_owned(),
            };
            let why = why.as_str();
            view.no_kubelet = Some(why.to_owned());
            for role in [
                Role::KubeletService,
                Role::KubeletKubeconfig,
                Role::KubeletConfig,
                Role::KubeletClientCa,
            ] {
                view.absent.insert(role, why.to_owned());
            }
        }
    }
    proxy_files(files, &mut view, snapshot_processes);
    control_plane(files, &mut view, snapshot_processes);
    view
}

fn push(view: &mut NodeView, files: &mut dyn Files, role: Role, path: &str, found_by: String) {
    let path = normalize(path);
    if view.files.iter().any(|f| f.role == role && f.path == path) {
        return;
    }
    // Type, mode and owner only: the text and entries are the snapshot's.
    let fact = FileFact {
        text: None,
        entries: Vec::new(),
        ..files.stat(&path)
    };
    view.files.push(RoleFile {
        role,
        path,
        found_by,
        fact,
    });
}

/// Records a file a flag names; a missing one makes the role not applicable.
fn named_file(
    view: &mut NodeView,
    files: &mut dyn Files,
    role: Role,
    path: &str,
    found_by: String,
) {
    let fact = files.stat(path);
    if fact.exists() {
        push(view, files, role, path, found_by);
    } else {
        view.absent.insert(
            role,
            format!("{path}, named by {found_by}, does not exist here"),
        );
    }
}

fn kubelet_files(files: &mut dyn Files, view: &mut NodeView, pid: u32, config: &EffectiveConfig) {
    let by = |what: &str| format!("{what} of the kubelet (pid {pid})");
    // Every unit file and drop-in systemd reads for the kubelet.
    for unit in KUBELET_UNITS {
        if files.stat(unit).kind == FileKind::File {
            push(
                view,
                files,
                Role::KubeletService,
                unit,
                "the kubelet's systemd unit".into(),
            );
        }
    }
    for dir in KUBELET_UNIT_DROP_INS {
        for name in files.list(dir).unwrap_or_default() {
            if name.ends_with(".conf") {
                let path = format!("{dir}/{name}");
                push(
                    view,
                    files,
                    Role::KubeletService,
                    &path,
                    "a drop-in of the kubelet's systemd unit".into(),
                );
            }
        }
    }
    if view.of(Role::KubeletService).next().is_none() {
        view.absent.insert(
            Role::KubeletService,
            format!("no kubelet systemd unit at {} (or their .d directories); the kubelet is started some other way", KUBELET_UNITS.join(", ")),
        );
    }
    match config
        .flag("kubeconfig")
        .map(|f| f.value.clone())
        .filter(|v| !v.is_empty())
    {
        Some(path) => named_file(
            view,
            files,
            Role::KubeletKubeconfig,
            &path,
            by("--kubeconfig"),
        ),
        None => {
            view.absent.insert(
                Role::KubeletKubeconfig,
                "the kubelet runs without --kubeconfig (standalone, no API server)".into(),
            );
        }
    }
    match &config.config_file {
        Some(path) => named_file(view, files, Role::KubeletConfig, path, by("--config")),
        None => {
            view.absent.insert(
                Role::KubeletConfig,
                "the kubelet runs without --config; its settings are flags and defaults".into(),
            );
        }
    }
    for path in &config.drop_ins {
        push(view, files, Role::KubeletConfig, path, by("--config-dir"));
    }
    match config
        .get("authentication.x509.clientCAFile")
        .and_then(|s| s.as_str().map(str::to_owned))
        .filter(|v| !v.is_empty())
    {
        Some(path) => {
            let source = config
                .get("authentication.x509.clientCAFile")
                .map(|s| s.source.to_string())
                .unwrap_or_default();
            named_file(
                view,
                files,
                Role::KubeletClientCa,
                &path,
                format!("clientCAFile ({source})"),
            );
        }
        None => {
            view.absent.insert(
                Role::KubeletClientCa,
                "the kubelet has no client CA file (kubelet-client-ca-file-not-set reports that)"
                    .into(),
            );
        }
    }
}

/// kube-proxy's default metrics address (`KubeProxyConfiguration` and flag alike).
pub const PROXY_METRICS_DEFAULT: &str = "127.0.0.1:10249";

fn proxy_files(files: &mut dyn Files, view: &mut NodeView, processes: &[Process]) {
    let Some(proxy) = processes.iter().find(|p| p.program() == "kube-proxy") else {
        let why = "no kube-proxy process on this node (it may be replaced, e.g. by Cilium, or not yet running)";
        view.absent.insert(Role::ProxyKubeconfig, why.into());
        view.no_proxy = Some(why.into());
        return;
    };
    let flags = flags::parse(&proxy.args, &[]);
    let cmdline = proxy.cmdline_path();
    let flag_setting = |name: &str| {
        flags::last(&flags, name).map(|f| Setting {
            value: Value::String(f.value.clone()),
            source: Source::Flag {
                path: cmdline.clone(),
                index: f.index,
                written: f.written.clone(),
            },
        })
    };
    // With --config, kube-proxy takes its settings from the file (and its defaults) and
    // ignores the flags that have a field there.
    let (kubeconfig, metrics) = match flags::last(&flags, "config") {
        Some(config) => {
            // A containerized kube-proxy's paths are inside its container.
            let in_root = format!("/proc/{}/root{}", proxy.pid, normalize(&config.value));
            let (path, text) = match files.read(&in_root) {
                Some(text) => (in_root, Some(text)),
                None => (normalize(&config.value), files.read(&config.value)),
            };
            let field = |name: &str| {
                text.as_deref()
                    .and_then(|t| proxy_config_field(t, &path, name))
            };
            (
                field("clientConnection.kubeconfig"),
                field("metricsBindAddress"),
            )
        }
        None => (
            flag_setting("kubeconfig"),
            flag_setting("metrics-bind-address"),
        ),
    };
    let metrics = metrics
        .filter(|s| s.value.as_str().is_some_and(|v| !v.is_empty()))
        .unwrap_or(Setting {
            value: Value::String(PROXY_METRICS_DEFAULT.into()),
            source: Source::Default { legacy: false },
        });
    view.proxy = Some(Proxy {
        pid: proxy.pid,
        cmdline,
        metrics_bind_address: metrics,
    });
    let Some(path) = kubeconfig
        .and_then(|s| s.value.as_str().map(str::to_owned))
        .filter(|p| !p.is_empty())
    else {
        view.absent.insert(
            Role::ProxyKubeconfig,
            format!(
                "kube-proxy (pid {}) names no kubeconfig (in-cluster service account)",
                proxy.pid
            ),
        );
        return;
    };
    let in_root = format!("/proc/{}/root{}", proxy.pid, normalize(&path));
    let found_by = format!("the kubeconfig of kube-proxy (pid {})", proxy.pid);
    if files.stat(&in_root).exists() {
        push(view, files, Role::ProxyKubeconfig, &in_root, found_by);
    } else {
        named_file(view, files, Role::ProxyKubeconfig, &path, found_by);
    }
}

/// A field of a `KubeProxyConfiguration` file, with its line.
fn proxy_config_field(text: &str, path: &str, field: &str) -> Option<Setting> {
    let chunk = split_documents(text).into_iter().next()?;
    let doc = parse_document(&text[chunk.range.clone()], &chunk, &Limits::default()).ok()?;
    let node = doc.root()?.get_path(field)?;
    Some(Setting {
        value: node.to_json(),
        source: Source::File {
            path: path.to_owned(),
            line: node.pos().line,
            column: node.pos().column,
        },
    })
}

/// The programs and flags in a static pod manifest's containers.
fn manifest_components(text: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for chunk in split_documents(text) {
        let Ok(doc) = parse_document(&text[chunk.range.clone()], &chunk, &Limits::default()) else {
            continue;
        };
        let Some(containers) = doc.root().and_then(|r| r.get_path("spec.containers")) else {
            continue;
        };
        for c in containers.items() {
            let mut argv: Vec<String> = Vec::new();
            for key in ["command", "args"] {
                if let Some(list) = c.get(key) {
                    argv.extend(list.items().filter_map(|i| i.as_str().map(str::to_owned)));
                }
            }
            let program = argv
                .first()
                .map(|a| a.rsplit('/').next().unwrap_or(a).to_owned())
                .unwrap_or_default();
            if CONTROL_PLANE.iter().any(|(p, _)| *p == program) {
                found.push((program, argv));
            }
        }
    }
    found
}

fn control_plane(files: &mut dyn Files, view: &mut NodeView, processes: &[Process]) {
    let static_dir = view
        .kubelet
        .as_ref()
        .and_then(|k| k.config.get("staticPodPath"))
        .and_then(|s| s.as_str().map(str::to_owned))
        .filter(|p| !p.is_empty());
    if let Some(dir) = &static_dir {
        for name in files.list(dir).unwrap_or_default() {
            if !(name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")) {
                continue;
            }
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            let Some(text) = files.read(&path) else {
                continue;
            };
            for (program, argv) in manifest_components(&text) {
                if view.component(&program).is_some() {
                    continue;
                }
                let role = CONTROL_PLANE
                    .iter()
                    .find(|(p, _)| *p == program)
                    .map(|(_, r)| *r);
                if let Some(role) = role {
                    push(
                        view,
                        files,
                        role,
                        &path,
                        format!("a static pod in staticPodPath {dir}"),
                    );
                }
                let mut args = vec![program.clone()];
                args.extend(argv.into_iter().skip(1));
                view.components.push(Component {
                    flags: flags::parse(&args, &[]),
                    program,
                    manifest: Some(path.clone()),
                    pid: None,
                });
            }
        }
    }
    for p in processes {
        let program = p.program();
        if !CONTROL_PLANE.iter().any(|(c, _)| *c == program) || view.component(program).is_some() {
            continue;
        }
        view.components.push(Component {
            program: program.to_owned(),
            manifest: None,
            pid: Some(p.pid),
            flags: flags::parse(&p.args, &[]),
        });
    }
    let worker = view.components.is_empty();
    let k3s = processes
        .iter()
        .find(|p| p.program() == "k3s" && p.args.iter().any(|a| a == "server"));
    let worker_reason = || {
        match k3s {
        Some(p) => format!("k3s (pid {}) runs the control plane inside its own process, with no manifests or component kubeconfigs of kubeadm's kind", p.pid),
        None => "a worker: no kube-apiserver, kube-controller-manager, kube-scheduler or etcd runs here".to_owned(),
    }
    };
    for (program, role) in CONTROL_PLANE {
        if view.of(*role).next().is_some() {
            continue;
        }
        let reason = match view.component(program) {
            Some(c) => format!(
                "{program} runs as a process (pid {}), not from a static pod manifest",
                c.pid.unwrap_or(0)
            ),
            None if worker => worker_reason(),
            None => format!("{program} does not run on this node"),
        };
        view.absent.insert(*role, reason);
    }
    if worker {
        for role in [
            Role::EtcdDataDir,
            Role::AdminKubeconfig,
            Role::SchedulerKubeconfig,
            Role::ControllerManagerKubeconfig,
            Role::PkiDir,
            Role::PkiCert,
            Role::PkiKey,
            Role::CniFile,
        ] {
            view.absent.insert(role, worker_reason());
        }
        return;
    }
    control_plane_files(files, view, static_dir.as_deref());
}

fn control_plane_files(files: &mut dyn Files, view: &mut NodeView, static_dir: Option<&str>) {
    // etcd's data directory.
    match view.component("etcd").cloned() {
        Some(etcd) => {
            let who = etcd
                .manifest
                .clone()
                .unwrap_or_else(|| format!("pid {}", etcd.pid.unwrap_or(0)));
            match etcd.flag("data-dir").filter(|d| !d.is_empty()) {
                Some(dir) => named_file(
                    view,
                    files,
                    Role::EtcdDataDir,
                    dir,
                    format!("--data-dir of etcd ({who})"),
                ),
                None => {
                    view.absent.insert(Role::EtcdDataDir, format!("etcd ({who}) has no --data-dir; its data is relative to its working directory"));
                }
            }
        }
        None => {
            view.absent.insert(
                Role::EtcdDataDir,
                "etcd does not run on this node (external etcd)".into(),
            );
        }
    }
    // kubeadm keeps the kubeconfigs beside the manifests' directory.
    let base = static_dir
        .and_then(|d| {
            d.trim_end_matches('/')
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
        })
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "/etc/kubernetes".to_owned());
    let mut admin = false;
    for name in ["admin.conf", "super-admin.conf"] {
        let path = format!("{base}/{name}");
        if files.stat(&path).exists() {
            admin = true;
            push(
                view,
                files,
                Role::AdminKubeconfig,
                &path,
                "kubeadm's path".into(),
            );
        }
    }
    if !admin {
        view.absent.insert(
            Role::AdminKubeconfig,
            format!("no {base}/admin.conf or super-admin.conf (not a kubeadm control plane)"),
        );
    }
    for (program, role) in [
        ("kube-scheduler", Role::SchedulerKubeconfig),
        ("kube-controller-manager", Role::ControllerManagerKubeconfig),
    ] {
        match view
            .component(program)
            .and_then(|c| c.flag("kubeconfig").map(str::to_owned))
        {
            Some(path) => named_file(
                view,
                files,
                role,
                &path,
                format!("--kubeconfig of {program}"),
            ),
            None => {
                let why = if view.component(program).is_some() {
                    format!("{program} runs without --kubeconfig")
                } else {
                    format!("{program} does not run on this node")
                };
                view.absent.insert(role, why);
            }
        }
    }
    // The PKI directory: where the API server's certificates are, else kubeadm's.
    let pki = view
        .component("kube-apiserver")
        .and_then(|c| {
            c.flag("client-ca-file")
                .or(c.flag("tls-cert-file"))
                .map(str::to_owned)
        })
        .and_then(|f| normalize(&f).rsplit_once('/').map(|(d, _)| d.to_owned()))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("{base}/pki"));
    if files.stat(&pki).kind == FileKind::Dir {
        let mut dirs = vec![pki.clone()];
        while let Some(dir) = dirs.pop() {
            push(
                view,
                files,
                Role::PkiDir,
                &dir,
                "the API server's certificate directory".into(),
            );
            for name in files.list(&dir).unwrap_or_default() {
                let path = format!("{dir}/{name}");
                match files.stat(&path).kind {
                    FileKind::Dir if dir == pki => dirs.push(path),
                    FileKind::File if name.ends_with(".crt") => {
                        push(
                            view,
                            files,
                            Role::PkiCert,
                            &path,
                            format!("a certificate in {pki}"),
                        );
                    }
                    FileKind::File if name.ends_with(".key") => {
                        push(view, files, Role::PkiKey, &path, format!("a key in {pki}"));
                    }
                    _ => {}
                }
            }
        }
        for role in [Role::PkiCert, Role::PkiKey] {
            if view.of(role).next().is_none() {
                view.absent.insert(
                    role,
                    format!(
                        "no {} files in {pki}",
                        if role == Role::PkiCert {
                            ".crt"
                        } else {
                            ".key"
                        }
                    ),
                );
            }
        }
    } else {
        for role in [Role::PkiDir, Role::PkiCert, Role::PkiKey] {
            view.absent
                .insert(role, format!("no PKI directory at {pki}"));
        }
    }
    let cni = "/etc/cni/net.d";
    for name in files.list(cni).unwrap_or_default() {
        let path = format!("{cni}/{name}");
        if files.stat(&path).kind == FileKind::File {
            push(
                view,
                files,
                Role::CniFile,
                &path,
                format!("a file in {cni}"),
            );
        }
    }
    if view.of(Role::CniFile).next().is_none() {
        view.absent
            .insert(Role::CniFile, format!("no files in {cni}"));
    }
}

/// Collects a node's view from the tree at `root` (`/` on the node itself), and the
/// snapshot of everything read, for `--collect`.
#[must_use]
pub fn collect(root: &std::path::Path) -> (NodeView, Snapshot) {
    let mut c = crate::snapshot::Collector::new(root);
    c.processes();
    c.identities();
    let processes = c.snapshot.processes.clone();
    let hostname = c.snapshot.hostname.clone();
    let mut view = build(&mut c, &processes, hostname.as_deref());
    finish(&mut view, &c.snapshot);
    (view, c.snapshot)
}

/// The view of a captured snapshot.
#[must_use]
pub fn replay(snapshot: &Snapshot) -> NodeView {
    let mut files = snapshot;
    let mut view = build(
        &mut files,
        &snapshot.processes,
        snapshot.hostname.as_deref(),
    );
    finish(&mut view, snapshot);
    view
}

fn finish(view: &mut NodeView, snapshot: &Snapshot) {
    view.users.clone_from(&snapshot.users);
    view.groups.clone_from(&snapshot.groups);
    view.problems.extend(snapshot.problems.iter().cloned());
}
