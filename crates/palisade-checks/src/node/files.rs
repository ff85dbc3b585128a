//! Permissions and owners of the node's Kubernetes files (CIS 1.1 control-plane files,
//! 4.1 worker files). Each file is the one the running components name (the kubelet's
//! `--kubeconfig` and `--config`, its drop-ins, the client CA its configuration names,
//! the static pod manifests in its `staticPodPath`), not the first of a list of guesses.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};
use palisade_node::{NodeView, Role, RoleFile};

use super::{NodeRule, NodeTest, CIS_DOC, NSA_CONTROL_PLANE, NSA_WORKER};
use crate::pss::helpers::{cis, nsa, peer};

const PERMISSIONS_DOC: &str = "https://kubernetes.io/docs/setup/best-practices/certificates/";

/// The failure of a file with more permission bits than `max`, if it has them.
#[must_use]
pub fn mode_failure(f: &RoleFile, max: u32) -> Option<String> {
    let extra = f.fact.mode & !max;
    (extra != 0).then(|| {
        format!(
            "mode {:04o} allows {:04o} beyond {max:04o}; chmod {max:o} {}",
            f.fact.mode, extra, f.path
        )
    })
}

/// The failure of a file not owned by `user:group` (by name, from the node's
/// `/etc/passwd` and `/etc/group`; `root` is always 0).
#[must_use]
pub fn owner_failure(view: &NodeView, f: &RoleFile, user: &str, group: &str) -> Option<String> {
    let uid = if user == "root" {
        Some(0)
    } else {
        view.uid_of(user)
    };
    let gid = if group == "root" {
        Some(0)
    } else {
        view.gid_of(group)
    };
    if uid == Some(f.fact.uid) && gid == Some(f.fact.gid) {
        return None;
    }
    let missing = match (uid, gid) {
        (None, _) => format!(" (the node has no user {user:?})"),
        (_, None) => format!(" (the node has no group {group:?})"),
        _ => String::new(),
    };
    Some(format!(
        "owned by {}:{}, not {user}:{group}{missing}; chown {user}:{group} {}",
        view.user_name(f.fact.uid),
        view.group_name(f.fact.gid),
        f.path
    ))
}

/// `"600"` as a number, at compile time.
const fn octal(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < bytes.len() {
        value = value * 8 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

/// A permissions check and an ownership check of the same files.
macro_rules! file_rules {
    (
        $mode:ident: $mode_id:literal, $mode_cis:literal, $max:literal;
        $owner:ident: $owner_id:literal, $owner_cis:literal, $user:literal : $group:literal;
        roles: $roles:expr, what: $what:literal, severity: $sev:ident, nsa: $nsa:expr,
        why: $why:literal,
    ) => {
        pub static $mode: NodeRule = NodeRule {
            meta: CheckMeta {
                id: $mode_id,
                title: concat!("The ", $what, " is too permissive"),
                severity: Severity::$sev,
                category: Category::Node,
                description: concat!(
                    "The ", $what, " has permission bits beyond ", $max,
                    " (group or others can read or write it more than the CIS Benchmark allows). The file is the one the running components name; where none exists the check is not applicable. CIS Kubernetes Benchmark v1.10.0 recommendation ",
                    $mode_cis, "."
                ),
                rationale: $why,
                remediation: concat!("`chmod ", $max, "` the file (on every node of the role)."),
                references: &[CIS_DOC, PERMISSIONS_DOC],
                mappings: &[cis($mode_cis), nsa($nsa)],
                peers: &[peer(PeerTool::KubeBench, $mode_cis)],
                peer_notes: concat!(
                    "kube-bench ", $mode_cis,
                    " stats the first of its candidate paths that exists; Palisade judges the file the running component names, and says \"not applicable\" with the reason when there is none."
                ),
                source: file!(),
            },
            test: NodeTest::Mode {
                roles: $roles,
                max: octal($max),
            },
        };

        pub static $owner: NodeRule = NodeRule {
            meta: CheckMeta {
                id: $owner_id,
                title: concat!("The ", $what, " is not owned by ", $user, ":", $group),
                severity: Severity::$sev,
                category: Category::Node,
                description: concat!(
                    "The ", $what, " is not owned by user ", $user, " and group ", $group,
                    " (by name, from the node's /etc/passwd and /etc/group). CIS Kubernetes Benchmark v1.10.0 recommendation ",
                    $owner_cis, "."
                ),
                rationale: concat!(
                    "Whoever owns the file can change its mode and contents. ", $why
                ),
                remediation: concat!("`chown ", $user, ":", $group, "` the file."),
                references: &[CIS_DOC],
                mappings: &[cis($owner_cis), nsa($nsa)],
                peers: &[peer(PeerTool::KubeBench, $owner_cis)],
                peer_notes: concat!(
                    "kube-bench ", $owner_cis,
                    " compares `stat -c %U:%G` of the first candidate path; Palisade compares numeric ids against the node's own user and group names, and judges the file the running component names."
                ),
                source: file!(),
            },
            test: NodeTest::Owner {
                roles: $roles,
                user: $user,
                group: $group,
            },
        };
    };
}

file_rules! {
    APISERVER_MANIFEST_MODE: "node-apiserver-manifest-permissions", "1.1.1", "600";
    APISERVER_MANIFEST_OWNER: "node-apiserver-manifest-owner", "1.1.2", "root":"root";
    roles: &[Role::ApiserverManifest], what: "kube-apiserver static pod manifest", severity: High, nsa: NSA_CONTROL_PLANE,
    why: "The kubelet runs whatever the manifest says, as the API server: anyone who can write it controls the cluster's front door, and anyone who can read it learns its flags and key paths.",
}

file_rules! {
    CONTROLLER_MANAGER_MANIFEST_MODE: "node-controller-manager-manifest-permissions", "1.1.3", "600";
    CONTROLLER_MANAGER_MANIFEST_OWNER: "node-controller-manager-manifest-owner", "1.1.4", "root":"root";
    roles: &[Role::ControllerManagerManifest], what: "kube-controller-manager static pod manifest", severity: High, nsa: NSA_CONTROL_PLANE,
    why: "The controller-manager holds the service-account signing key and the cluster CA key; writing its manifest runs code with them.",
}

file_rules! {
    SCHEDULER_MANIFEST_MODE: "node-scheduler-manifest-permissions", "1.1.5", "600";
    SCHEDULER_MANIFEST_OWNER: "node-scheduler-manifest-owner", "1.1.6", "root":"root";
    roles: &[Role::SchedulerManifest], what: "kube-scheduler static pod manifest", severity: Medium, nsa: NSA_CONTROL_PLANE,
    why: "Writing the scheduler's manifest runs code with its credentials on a control-plane node.",
}

file_rules! {
    ETCD_MANIFEST_MODE: "node-etcd-manifest-permissions", "1.1.7", "600";
    ETCD_MANIFEST_OWNER: "node-etcd-manifest-owner", "1.1.8", "root":"root";
    roles: &[Role::EtcdManifest], what: "etcd static pod manifest", severity: High, nsa: NSA_CONTROL_PLANE,
    why: "etcd holds every object of the cluster, Secrets included; writing its manifest hands over all of it.",
}

file_rules! {
    CNI_MODE: "node-cni-config-permissions", "1.1.9", "600";
    CNI_OWNER: "node-cni-config-owner", "1.1.10", "root":"root";
    roles: &[Role::CniFile], what: "CNI configuration file", severity: Medium, nsa: NSA_CONTROL_PLANE,
    why: "The CNI configuration decides how every pod is wired to the network; changing it can bypass network policy or intercept traffic.",
}

file_rules! {
    ETCD_DATA_MODE: "node-etcd-data-dir-permissions", "1.1.11", "700";
    ETCD_DATA_OWNER: "node-etcd-data-dir-owner", "1.1.12", "etcd":"etcd";
    roles: &[Role::EtcdDataDir], what: "etcd data directory", severity: High, nsa: NSA_CONTROL_PLANE,
    why: "The data directory is the cluster's whole state, every Secret in it; read access is a copy of all of them.",
}

file_rules! {
    ADMIN_CONF_MODE: "node-admin-kubeconfig-permissions", "1.1.13", "600";
    ADMIN_CONF_OWNER: "node-admin-kubeconfig-owner", "1.1.14", "root":"root";
    roles: &[Role::AdminKubeconfig], what: "admin kubeconfig (admin.conf, super-admin.conf)", severity: Critical, nsa: NSA_CONTROL_PLANE,
    why: "admin.conf and super-admin.conf hold cluster-admin client credentials (super-admin.conf bypasses RBAC): reading the file is owning the cluster.",
}

file_rules! {
    SCHEDULER_CONF_MODE: "node-scheduler-kubeconfig-permissions", "1.1.15", "600";
    SCHEDULER_CONF_OWNER: "node-scheduler-kubeconfig-owner", "1.1.16", "root":"root";
    roles: &[Role::SchedulerKubeconfig], what: "kube-scheduler kubeconfig", severity: High, nsa: NSA_CONTROL_PLANE,
    why: "It holds the scheduler's client credentials, which can bind any pod to any node.",
}

file_rules! {
    CONTROLLER_MANAGER_CONF_MODE: "node-controller-manager-kubeconfig-permissions", "1.1.17", "600";
    CONTROLLER_MANAGER_CONF_OWNER: "node-controller-manager-kubeconfig-owner", "1.1.18", "root":"root";
    roles: &[Role::ControllerManagerKubeconfig], what: "kube-controller-manager kubeconfig", severity: High, nsa: NSA_CONTROL_PLANE,
    why: "It holds the controller-manager's client credentials, which can read every Secret and create tokens for any service account.",
}

pub static PKI_OWNER: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "node-pki-owner",
        title: "The Kubernetes PKI directory or a file in it is not owned by root:root",
        severity: Severity::High,
        category: Category::Node,
        description: "The PKI directory (where the API server's certificates are, `/etc/kubernetes/pki` on kubeadm), its subdirectories, or a certificate or key in them is not owned by root:root. CIS Kubernetes Benchmark v1.10.0 recommendation 1.1.19.",
        rationale: "The directory holds the cluster CA's and the service-account signer's private keys: whoever owns them can mint any identity.",
        remediation: "`chown -R root:root /etc/kubernetes/pki/` (the directory the API server's `--client-ca-file` is in).",
        references: &[CIS_DOC, PERMISSIONS_DOC],
        mappings: &[cis("1.1.19"), nsa(NSA_CONTROL_PLANE)],
        peers: &[peer(PeerTool::KubeBench, "1.1.19")],
        peer_notes: "kube-bench 1.1.19 runs `find /etc/kubernetes/pki`; Palisade follows the API server's own certificate flags to the directory.",
        source: file!(),
    },
    test: NodeTest::Owner {
        roles: &[Role::PkiDir, Role::PkiCert, Role::PkiKey],
        user: "root",
        group: "root",
    },
};

pub static PKI_CERT_MODE: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "node-pki-certificate-permissions",
        title: "A Kubernetes PKI certificate is too permissive",
        severity: Severity::Low,
        category: Category::Node,
        description: "A `.crt` file in the PKI directory has permission bits beyond 600. CIS Kubernetes Benchmark v1.10.0 recommendation 1.1.20 (Manual).",
        rationale: "Certificates are public, but anyone who can write one can swap the CA a component trusts.",
        remediation: "`chmod 600` the certificates (`find /etc/kubernetes/pki -name '*.crt' -exec chmod 600 {} +`).",
        references: &[CIS_DOC, PERMISSIONS_DOC],
        mappings: &[cis("1.1.20"), nsa(NSA_CONTROL_PLANE)],
        peers: &[peer(PeerTool::KubeBench, "1.1.20")],
        peer_notes: "kube-bench marks 1.1.20 manual; Palisade states each certificate's mode.",
        source: file!(),
    },
    test: NodeTest::Mode {
        roles: &[Role::PkiCert],
        max: 0o600,
    },
};

pub static PKI_KEY_MODE: NodeRule = NodeRule {
    meta: CheckMeta {
        id: "node-pki-key-permissions",
        title: "A Kubernetes PKI private key is readable beyond its owner",
        severity: Severity::Critical,
        category: Category::Node,
        description: "A `.key` file in the PKI directory has permission bits beyond 600. Palisade never reads the key, only its mode. CIS Kubernetes Benchmark v1.10.0 recommendation 1.1.21 (Manual).",
        rationale: "The CA key signs any client certificate (any user, `system:masters` included); the service-account key signs any token.",
        remediation: "`chmod 600` the keys (`find /etc/kubernetes/pki -name '*.key' -exec chmod 600 {} +`).",
        references: &[CIS_DOC, PERMISSIONS_DOC],
        mappings: &[cis("1.1.21"), nsa(NSA_CONTROL_PLANE)],
        peers: &[peer(PeerTool::KubeBench, "1.1.21")],
        peer_notes: "kube-bench marks 1.1.21 manual; Palisade states each key's mode without reading it.",
        source: file!(),
    },
    test: NodeTest::Mode {
        roles: &[Role::PkiKey],
        max: 0o600,
    },
};

file_rules! {
    KUBELET_SERVICE_MODE: "node-kubelet-service-permissions", "4.1.1", "600";
    KUBELET_SERVICE_OWNER: "node-kubelet-service-owner", "4.1.2", "root":"root";
    roles: &[Role::KubeletService], what: "kubelet service file", severity: Medium, nsa: NSA_WORKER,
    why: "The systemd unit and its drop-ins set the kubelet's flags: writing them changes how the kubelet authenticates and authorizes on its next start.",
}

file_rules! {
    PROXY_KUBECONFIG_MODE: "node-proxy-kubeconfig-permissions", "4.1.3", "600";
    PROXY_KUBECONFIG_OWNER: "node-proxy-kubeconfig-owner", "4.1.4", "root":"root";
    roles: &[Role::ProxyKubeconfig], what: "kube-proxy kubeconfig", severity: Medium, nsa: NSA_WORKER,
    why: "It holds kube-proxy's credentials, which read every Service and EndpointSlice and program the node's packet filtering.",
}

file_rules! {
    KUBELET_KUBECONFIG_MODE: "node-kubelet-kubeconfig-permissions", "4.1.5", "600";
    KUBELET_KUBECONFIG_OWNER: "node-kubelet-kubeconfig-owner", "4.1.6", "root":"root";
    roles: &[Role::KubeletKubeconfig], what: "kubelet kubeconfig", severity: High, nsa: NSA_WORKER,
    why: "It holds (or points at) the node's client credentials: with them a user acts as the node, reading the Secrets of every pod scheduled there.",
}

file_rules! {
    KUBELET_CA_MODE: "node-kubelet-client-ca-permissions", "4.1.7", "600";
    KUBELET_CA_OWNER: "node-kubelet-client-ca-owner", "4.1.8", "root":"root";
    roles: &[Role::KubeletClientCa], what: "kubelet client CA file", severity: Medium, nsa: NSA_WORKER,
    why: "The kubelet trusts any client certificate this CA signed: whoever can replace the file chooses who may call the kubelet's API (exec into every pod on the node).",
}

file_rules! {
    KUBELET_CONFIG_MODE: "node-kubelet-config-permissions", "4.1.9", "600";
    KUBELET_CONFIG_OWNER: "node-kubelet-config-owner", "4.1.10", "root":"root";
    roles: &[Role::KubeletConfig], what: "kubelet configuration file (--config and its --config-dir drop-ins)", severity: High, nsa: NSA_WORKER,
    why: "The configuration file and its drop-ins decide the kubelet's authentication, authorization and read-only port; writing one opens the kubelet's API at its next start.",
}
