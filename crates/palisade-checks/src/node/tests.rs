//! Node trees written here reproduce the misreadings kube-bench users report; each must
//! give the kubelet's true answer.

use std::fs;
use std::path::Path;

use palisade_model::{CheckMeta, ScanResult};
use palisade_node::{collect, replay, Snapshot};

use super::{evaluate, RULES};

/// A node's filesystem under construction: files with mode and owner, and processes.
pub struct Tree {
    dir: tempfile::TempDir,
    owners: String,
}

impl Tree {
    pub fn new() -> Tree {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
            owners: String::new(),
        };
        tree.write_raw("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\netcd:x:998:998::/var/lib/etcd:/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n");
        tree.write_raw("/etc/group", "root:x:0:\netcd:x:998:\nalice:x:1000:\n");
        tree.write_raw("/etc/hostname", "node-1\n");
        tree
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write_raw(&self, path: &str, text: &str) {
        let p = self.root().join(path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    /// A file with mode and owner (recorded in the owners file: tests are not root).
    pub fn file(&mut self, path: &str, mode: u32, uid: u32, gid: u32, text: &str) -> &mut Self {
        self.write_raw(path, text);
        self.own(path, mode, uid, gid)
    }

    pub fn dir(&mut self, path: &str, mode: u32, uid: u32, gid: u32) -> &mut Self {
        fs::create_dir_all(self.root().join(path.trim_start_matches('/'))).unwrap();
        self.own(path, mode, uid, gid)
    }

    fn own(&mut self, path: &str, mode: u32, uid: u32, gid: u32) -> &mut Self {
        self.owners
            .push_str(&format!("{path} {mode:o} {uid} {gid}\n"));
        fs::write(
            self.root().join(palisade_node::snapshot::OWNERS_FILE),
            &self.owners,
        )
        .unwrap();
        self
    }

    /// A process, its command line NUL-separated as the kernel writes it.
    pub fn process(&mut self, pid: u32, args: &[&str]) -> &mut Self {
        let mut text = args.join("\0");
        text.push('\0');
        self.write_raw(&format!("/proc/{pid}/cmdline"), &text);
        self
    }

    pub fn scan(&self) -> ScanResult {
        let (view, _) = collect(self.root());
        evaluate(&view, &all())
    }
}

fn all() -> Vec<&'static CheckMeta> {
    RULES.iter().map(|r| &r.meta).collect()
}

/// `check file:line` of every finding.
fn found(result: &ScanResult) -> Vec<String> {
    result
        .findings
        .iter()
        .map(|f| format!("{} {}:{}", f.check.id, f.location.file, f.location.line))
        .collect()
}

/// The message of check `id`'s (first) finding.
fn message(result: &ScanResult, id: &str) -> String {
    result
        .findings
        .iter()
        .find(|f| f.check.id == id)
        .unwrap_or_else(|| panic!("no {id} finding: {:?}", found(result)))
        .message
        .to_string()
}

fn has(result: &ScanResult, id: &str) -> bool {
    result.findings.iter().any(|f| f.check.id == id)
}

fn not_applicable<'r>(result: &'r ScanResult, id: &str) -> Option<&'r str> {
    result
        .not_applicable
        .iter()
        .find(|n| n.check.id == id)
        .map(|n| n.reason.as_str())
}

const GOOD_CONFIG: &str = "apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
readOnlyPort: 0
rotateCertificates: true
serverTLSBootstrap: true
seccompDefault: true
protectKernelDefaults: true
podPidsLimit: 4096
staticPodPath: /etc/kubernetes/manifests
";

/// A kubeadm worker whose kubelet is right, with every file in order.
fn kubeadm_worker(config_path: &str, extra_args: &[&str]) -> Tree {
    let mut t = Tree::new();
    t.file(
        "/etc/kubernetes/kubelet.conf",
        0o600,
        0,
        0,
        "apiVersion: v1\nkind: Config\n",
    )
    .file("/etc/kubernetes/pki/ca.crt", 0o600, 0, 0, "CERT")
    .file(config_path, 0o600, 0, 0, GOOD_CONFIG)
    .file(
        "/usr/lib/systemd/system/kubelet.service",
        0o600,
        0,
        0,
        "[Service]\nExecStart=/usr/bin/kubelet\n",
    )
    .file(
        "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
        0o600,
        0,
        0,
        "[Service]\n",
    )
    .dir("/etc/kubernetes/manifests", 0o700, 0, 0);
    let config_flag = format!("--config={config_path}");
    let mut args = vec![
        "/usr/bin/kubelet",
        "--kubeconfig=/etc/kubernetes/kubelet.conf",
        config_flag.as_str(),
    ];
    args.extend_from_slice(extra_args);
    t.process(812, &args);
    t
}

#[test]
fn a_right_worker_passes_and_control_plane_items_are_not_applicable() {
    let t = kubeadm_worker("/var/lib/kubelet/config.yaml", &[]);
    let result = t.scan();
    assert_eq!(found(&result), Vec::<String>::new());
    let reason = not_applicable(&result, "node-apiserver-manifest-permissions").unwrap();
    assert!(reason.contains("a worker: no kube-apiserver"), "{reason}");
    assert!(not_applicable(&result, "node-proxy-kubeconfig-permissions").is_some());
    // Every judged file is an object with the checks that judged it.
    let config = result
        .objects
        .iter()
        .find(|o| &*o.file == "/var/lib/kubelet/config.yaml" && o.identity.kind == "File")
        .unwrap();
    assert_eq!(
        config.checks.as_deref().unwrap(),
        [
            "node-kubelet-config-permissions",
            "node-kubelet-config-owner"
        ]
    );
}

#[test]
fn the_config_file_the_kubelet_names_wins_over_a_stale_default_one() {
    // kube-bench reads /var/lib/kubelet/config.yaml when it exists; this kubelet reads
    // /etc/kubernetes/kubelet/kubelet-config.yaml.
    let mut t = kubeadm_worker("/etc/kubernetes/kubelet/kubelet-config.yaml", &[]);
    t.file(
        "/var/lib/kubelet/config.yaml",
        0o644,
        1000,
        1000,
        "authentication:\n  anonymous:\n    enabled: true\nreadOnlyPort: 10255\n",
    );
    let result = t.scan();
    assert_eq!(found(&result), Vec::<String>::new());
}

#[test]
fn a_drop_in_overrides_the_file() {
    let mut t = kubeadm_worker(
        "/var/lib/kubelet/config.yaml",
        &["--config-dir=/etc/kubernetes/kubelet.conf.d"],
    );
    t.file(
        "/etc/kubernetes/kubelet.conf.d/50-debug.conf",
        0o600,
        0,
        0,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: true\n",
    )
    // Not a drop-in: the kubelet reads only *.conf.
    .file(
        "/etc/kubernetes/kubelet.conf.d/60-notes.yaml",
        0o600,
        0,
        0,
        "readOnlyPort: 10255\n",
    );
    let result = t.scan();
    assert_eq!(
        found(&result),
        ["kubelet-anonymous-auth-enabled /etc/kubernetes/kubelet.conf.d/50-debug.conf:5"]
    );
    let message = result.findings[0].message.to_string();
    assert!(
        message.contains("drop-in /etc/kubernetes/kubelet.conf.d/50-debug.conf:5"),
        "{message}"
    );
}

#[test]
fn a_flag_overrides_file_and_drop_in() {
    let mut t = kubeadm_worker(
        "/var/lib/kubelet/config.yaml",
        &[
            "--config-dir",
            "/etc/kubernetes/kubelet.conf.d",
            "--read-only-port=10255",
        ],
    );
    t.file(
        "/etc/kubernetes/kubelet.conf.d/10-port.conf",
        0o600,
        0,
        0,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 0\n",
    );
    let result = t.scan();
    assert_eq!(
        found(&result),
        ["kubelet-read-only-port-enabled /proc/812/cmdline:1"]
    );
    assert_eq!(
        result.findings[0].location.column, 5,
        "the flag's argument index"
    );
    assert!(
        result.findings[0]
            .message
            .to_string()
            .contains("flag --read-only-port=10255"),
        "{}",
        result.findings[0].message
    );
}

#[test]
fn without_a_config_file_the_command_line_defaults_apply() {
    let mut t = Tree::new();
    t.file(
        "/etc/kubernetes/kubelet.conf",
        0o600,
        0,
        0,
        "kind: Config\n",
    )
    .process(
        77,
        &[
            "/usr/local/bin/kubelet",
            "--kubeconfig=/etc/kubernetes/kubelet.conf",
            "--client-ca-file=/etc/kubernetes/pki/ca.crt",
        ],
    );
    let result = t.scan();
    for id in [
        "kubelet-anonymous-auth-enabled",
        "kubelet-authorization-always-allow",
        "kubelet-read-only-port-enabled",
    ] {
        let f = result
            .findings
            .iter()
            .find(|f| f.check.id == id)
            .unwrap_or_else(|| panic!("{id}: {:?}", found(&result)));
        assert!(
            f.message
                .to_string()
                .contains("the kubelet's default without --config"),
            "{}",
            f.message
        );
        assert_eq!(&*f.location.file, "/proc/77/cmdline");
    }
    // The CA named by a flag, missing on this node: its checks do not apply.
    let reason = not_applicable(&result, "node-kubelet-client-ca-permissions").unwrap();
    assert!(reason.contains("does not exist here"), "{reason}");
    let reason = not_applicable(&result, "node-kubelet-config-permissions").unwrap();
    assert!(reason.contains("without --config"), "{reason}");
    assert!(!has(&result, "kubelet-client-ca-file-not-set"));
}

#[test]
fn wrong_modes_and_owners() {
    let mut t = kubeadm_worker("/var/lib/kubelet/config.yaml", &[]);
    t.file(
        "/etc/kubernetes/kubelet.conf",
        0o644,
        1000,
        1000,
        "kind: Config\n",
    )
    .file("/etc/kubernetes/pki/ca.crt", 0o640, 0, 0, "CERT");
    let result = t.scan();
    assert_eq!(
        found(&result),
        [
            "node-kubelet-kubeconfig-owner /etc/kubernetes/kubelet.conf:0",
            "node-kubelet-kubeconfig-permissions /etc/kubernetes/kubelet.conf:0",
            "node-kubelet-client-ca-permissions /etc/kubernetes/pki/ca.crt:0",
        ]
    );
    let owner = result
        .findings
        .iter()
        .find(|f| f.check.id == "node-kubelet-kubeconfig-owner")
        .unwrap();
    assert!(
        owner
            .message
            .to_string()
            .contains("owned by 1000 (alice):1000 (alice)"),
        "{}",
        owner.message
    );
    let mode = message(&result, "node-kubelet-kubeconfig-permissions");
    assert!(mode.contains("mode 0644 allows 0044 beyond 0600"), "{mode}");
}

fn control_plane() -> Tree {
    let mut t = kubeadm_worker("/var/lib/kubelet/config.yaml", &[]);
    let manifest = |program: &str, flags: &[&str]| {
        let mut text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {program}\n  namespace: kube-system\nspec:\n  containers:\n  - name: {program}\n    image: registry.k8s.io/{program}:v1.31.0\n    command:\n    - {program}\n"
        );
        for f in flags {
            text.push_str(&format!("    - {f}\n"));
        }
        text
    };
    t.file(
        "/etc/kubernetes/manifests/kube-apiserver.yaml",
        0o600,
        0,
        0,
        &manifest(
            "kube-apiserver",
            &["--client-ca-file=/etc/kubernetes/pki/ca.crt"],
        ),
    )
    .file(
        "/etc/kubernetes/manifests/kube-scheduler.yaml",
        0o644,
        0,
        0,
        &manifest(
            "kube-scheduler",
            &["--kubeconfig=/etc/kubernetes/scheduler.conf"],
        ),
    )
    .file(
        "/etc/kubernetes/manifests/etcd.yaml",
        0o600,
        0,
        0,
        &manifest("etcd", &["--data-dir=/var/lib/etcd"]),
    )
    .dir("/var/lib/etcd", 0o700, 0, 0)
    .file("/etc/kubernetes/admin.conf", 0o600, 0, 0, "kind: Config\n")
    .file(
        "/etc/kubernetes/super-admin.conf",
        0o640,
        0,
        0,
        "kind: Config\n",
    )
    .file(
        "/etc/kubernetes/scheduler.conf",
        0o600,
        0,
        0,
        "kind: Config\n",
    )
    .dir("/etc/kubernetes/pki", 0o755, 0, 0)
    .file("/etc/kubernetes/pki/ca.key", 0o644, 0, 0, "KEY")
    .file("/etc/kubernetes/pki/etcd/ca.key", 0o600, 0, 1000, "KEY")
    .dir("/etc/kubernetes/pki/etcd", 0o755, 0, 0)
    .file("/etc/cni/net.d/10-calico.conflist", 0o600, 0, 0, "{}");
    t
}

#[test]
fn control_plane_files() {
    let t = control_plane();
    let result = t.scan();
    assert_eq!(
        found(&result),
        [
            "node-scheduler-manifest-permissions /etc/kubernetes/manifests/kube-scheduler.yaml:0",
            "node-pki-key-permissions /etc/kubernetes/pki/ca.key:0",
            "node-pki-owner /etc/kubernetes/pki/etcd/ca.key:0",
            "node-admin-kubeconfig-permissions /etc/kubernetes/super-admin.conf:0",
            "node-etcd-data-dir-owner /var/lib/etcd:0",
        ]
    );
    // The controller-manager does not run here: its items say so.
    let reason = not_applicable(&result, "node-controller-manager-manifest-permissions").unwrap();
    assert_eq!(
        reason,
        "kube-controller-manager manifest: kube-controller-manager does not run on this node"
    );
    let etcd = message(&result, "node-etcd-data-dir-owner");
    assert!(
        etcd.contains("owned by 0 (root):0 (root), not etcd:etcd"),
        "{etcd}"
    );
}

#[test]
fn a_capture_judged_elsewhere_gives_the_same_answers_and_holds_no_key() {
    let t = control_plane();
    let (view, snapshot) = collect(t.root());
    let text = serde_json::to_string(&snapshot).unwrap();
    assert!(!text.contains("KEY"), "key contents must never be captured");
    assert!(
        text.contains("/etc/kubernetes/pki/ca.key"),
        "keys are described"
    );
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    let again = replay(&back);
    assert_eq!(
        found(&evaluate(&view, &all())),
        found(&evaluate(&again, &all()))
    );
    assert_eq!(view, again);
}

#[test]
fn k3s_embeds_the_kubelet_and_says_so() {
    let mut t = Tree::new();
    t.process(
        300,
        &[
            "/usr/local/bin/k3s",
            "server",
            "--write-kubeconfig-mode=644",
        ],
    );
    let result = t.scan();
    assert!(result.findings.is_empty(), "{:?}", found(&result));
    let reason = not_applicable(&result, "kubelet-anonymous-auth-enabled").unwrap();
    assert!(
        reason.starts_with("k3s (pid 300) runs the kubelet inside its own process"),
        "{reason}"
    );
    let reason = not_applicable(&result, "node-apiserver-manifest-permissions").unwrap();
    assert!(
        reason.contains("k3s (pid 300) runs the control plane"),
        "{reason}"
    );
}

#[test]
fn kube_proxy_in_its_container_its_config_file_wins_over_its_flags() {
    let mut t = kubeadm_worker("/var/lib/kubelet/config.yaml", &[]);
    t.process(
        900,
        &[
            "/usr/local/bin/kube-proxy",
            "--config=/var/lib/kube-proxy/config.conf",
            // Ignored: the --config file decides.
            "--metrics-bind-address=127.0.0.1:10249",
            "--hostname-override=node-1",
        ],
    )
    .file(
        "/proc/900/root/var/lib/kube-proxy/config.conf",
        0o644,
        0,
        0,
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\nmetricsBindAddress: 0.0.0.0:10249\n",
    )
    .file(
        "/proc/900/root/var/lib/kube-proxy/kubeconfig.conf",
        0o644,
        0,
        0,
        "kind: Config\n",
    );
    let result = t.scan();
    assert_eq!(
        found(&result),
        [
            "kube-proxy-metrics-not-loopback /proc/900/root/var/lib/kube-proxy/config.conf:5",
            "node-proxy-kubeconfig-permissions /proc/900/root/var/lib/kube-proxy/kubeconfig.conf:0",
        ]
    );

    // Without --config the flag decides, and unset it is loopback.
    let mut t = kubeadm_worker("/var/lib/kubelet/config.yaml", &[]);
    t.process(
        901,
        &["kube-proxy", "--kubeconfig=/etc/kubernetes/proxy.conf"],
    )
    .file("/etc/kubernetes/proxy.conf", 0o600, 0, 0, "kind: Config\n");
    assert_eq!(found(&t.scan()), Vec::<String>::new());
    t.process(
        901,
        &[
            "kube-proxy",
            "--kubeconfig=/etc/kubernetes/proxy.conf",
            "--metrics-bind-address=:10249",
        ],
    );
    assert_eq!(
        found(&t.scan()),
        ["kube-proxy-metrics-not-loopback /proc/901/cmdline:1"]
    );
}

#[test]
fn an_eks_node_with_a_json_configuration() {
    // EKS's layout: JSON configuration under /etc/kubernetes/kubelet, the kubeconfig under
    // /var/lib/kubelet, the unit in /etc/systemd/system.
    let mut t = Tree::new();
    t.file(
        "/etc/kubernetes/kubelet/kubelet-config.json",
        0o644,
        0,
        0,
        "{\n  \"kind\": \"KubeletConfiguration\",\n  \"apiVersion\": \"kubelet.config.k8s.io/v1beta1\",\n  \"authentication\": {\n    \"anonymous\": {\"enabled\": false},\n    \"x509\": {\"clientCAFile\": \"/etc/kubernetes/pki/ca.crt\"}\n  },\n  \"authorization\": {\"mode\": \"Webhook\"},\n  \"readOnlyPort\": 10255,\n  \"serverTLSBootstrap\": true,\n  \"rotateCertificates\": true\n}\n",
    )
    .file("/var/lib/kubelet/kubeconfig", 0o600, 0, 0, "kind: Config\n")
    .file("/etc/kubernetes/pki/ca.crt", 0o600, 0, 0, "CERT")
    .file("/etc/systemd/system/kubelet.service", 0o644, 0, 0, "[Service]\n")
    .process(
        2101,
        &[
            "/usr/bin/kubelet",
            "--config",
            "/etc/kubernetes/kubelet/kubelet-config.json",
            "--kubeconfig",
            "/var/lib/kubelet/kubeconfig",
            "--container-runtime-endpoint",
            "unix:///run/containerd/containerd.sock",
        ],
    );
    let result = t.scan();
    let found = found(&result);
    assert!(
        found.contains(
            &"kubelet-read-only-port-enabled /etc/kubernetes/kubelet/kubelet-config.json:9"
                .to_owned()
        ),
        "{found:?}"
    );
    assert!(found.contains(
        &"node-kubelet-config-permissions /etc/kubernetes/kubelet/kubelet-config.json:0".to_owned()
    ));
    assert!(found.contains(
        &"node-kubelet-service-permissions /etc/systemd/system/kubelet.service:0".to_owned()
    ));
    assert!(!has(&result, "kubelet-anonymous-auth-enabled"));
    assert!(!has(&result, "node-kubelet-kubeconfig-permissions"));
}

#[test]
fn k3s_from_v1_32_its_embedded_kubelet_is_judged() {
    let mut t = Tree::new();
    t.process(
        310,
        &["/usr/local/bin/k3s", "agent", "--kubelet-arg", "read-only-port=10255"],
    )
    .file(
        "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/00-k3s-defaults.conf",
        0o600,
        0,
        0,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: false\n  webhook:\n    enabled: true\n  x509:\n    clientCAFile: /var/lib/rancher/k3s/agent/client-ca.crt\nauthorization:\n  mode: Webhook\nreadOnlyPort: 0\nrotateCertificates: true\nserverTLSBootstrap: true\nseccompDefault: true\nprotectKernelDefaults: true\npodPidsLimit: 4096\n",
    )
    .file(
        "/etc/rancher/k3s/config.yaml",
        0o600,
        0,
        0,
        "token: not-read-here\nkubelet-arg:\n  - \"streaming-connection-idle-timeout=0\"\n  - \"config=/etc/rancher/k3s/kubelet.conf\"\n",
    )
    .file("/var/lib/rancher/k3s/agent/kubelet.kubeconfig", 0o644, 0, 0, "kind: Config\n")
    .file("/var/lib/rancher/k3s/agent/client-ca.crt", 0o600, 0, 0, "CERT")
    .file("/etc/systemd/system/k3s-agent.service", 0o600, 0, 0, "[Service]\n");
    let result = t.scan();
    assert_eq!(
        found(&result),
        [
            "kubelet-streaming-timeout-disabled /etc/rancher/k3s/config.yaml:3",
            "kubelet-read-only-port-enabled /proc/310/cmdline:1",
            "node-kubelet-kubeconfig-permissions /var/lib/rancher/k3s/agent/kubelet.kubeconfig:0",
        ]
    );
    // The command line's --kubelet-arg is the k3s argument it is written in.
    let port = result
        .findings
        .iter()
        .find(|f| f.check.id == "kubelet-read-only-port-enabled")
        .unwrap();
    assert_eq!(port.location.column, 2);
    // k3s's own configuration is read for kubelet-arg only: its token never reaches a report.
    let (_, snapshot) = collect(t.root());
    let captured = serde_json::to_string(&snapshot).unwrap();
    assert!(!captured.contains("not-read-here"), "{captured}");
    assert!(captured.contains("streaming-connection-idle-timeout=0"));
    // And the capture judged elsewhere says the same.
    assert_eq!(found(&evaluate(&replay(&snapshot), &all())), found(&result));
}
