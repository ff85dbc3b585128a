//! `cluster-version-unsupported`: the API server, or a node's kubelet, runs a Kubernetes
//! minor release the project no longer patches.

use palisade_engine::{Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, Severity};

use crate::pss::helpers::{cis, mitre, nsa};
use crate::Rule;

/// The upstream support window: Kubernetes patches the three newest minor releases
/// (about 14 months each). Update it when a release comes out or leaves support
/// (<https://kubernetes.io/releases/>).
pub struct SupportWindow {
    /// The oldest minor release of Kubernetes 1.x still patched.
    pub oldest_minor: u32,
    /// The newest minor release out.
    pub newest_minor: u32,
    /// When this was last checked against the release page.
    pub as_of: &'static str,
}

/// As of December 2026: 1.35 (until about February 2027), 1.36 and 1.37 are patched;
/// 1.34 left support in October 2026.
pub const SUPPORTED: SupportWindow = SupportWindow {
    oldest_minor: 35,
    newest_minor: 37,
    as_of: "2026-12-02",
};

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "cluster-version-unsupported",
        title: "Cluster runs a Kubernetes release out of support",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "The API server's version (the `ClusterInfo` object a live scan or `palisade snapshot` records from `/version`), or a Node's kubelet version (`status.nodeInfo.kubeletVersion`), is a Kubernetes 1.x minor release older than the oldest the project still patches. The window is data in the code (`SUPPORTED`), dated, and updated with each release.",
        rationale: "A release out of support gets no security patches: every CVE fixed after its end of life (in the API server, kubelet, kube-proxy or the Go runtime they are built with) stays open on this cluster. Version skew rules also stop the cluster from jumping several minors at once, so the longer it waits the harder the upgrade.",
        remediation: "Upgrade the control plane one minor release at a time to a supported release (see the message), then the nodes; managed clusters: schedule the provider's upgrade. Check removed APIs before each step (`palisade scan` reports `deprecated-api`).",
        references: &[
            "https://kubernetes.io/releases/",
            "https://kubernetes.io/releases/version-skew-policy/",
        ],
        mappings: &[cis("5.7.1"), nsa("Upgrading and application security practices"), mitre("T1190")],
        peers: &[],
        peer_notes: "kubescape reports outdated versions through its vulnerability scan and Trivy through its `k8s` cluster scan (CVE matching); neither is a configuration check. Palisade judges the minor release against the upstream support window only, with no CVE database, so a supported minor on an old patch release is not reported.",
        source: file!(),
    },
    eval,
};

/// `v1.25.0-alpha.2+89aaf7c`, `1.30`, `v1.29.3-eks-1234` → the minor of Kubernetes 1.x.
fn minor_of(version: &str) -> Option<u32> {
    let rest = version.trim().trim_start_matches('v');
    let rest = rest.strip_prefix("1.")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn message(what: &str, version: &str, minor: u32) -> String {
    format!(
        "{what} runs Kubernetes {version} (1.{minor}), out of upstream support: the oldest minor release still patched is 1.{} (supported: 1.{}–1.{} as of {})",
        SUPPORTED.oldest_minor, SUPPORTED.oldest_minor, SUPPORTED.newest_minor, SUPPORTED.as_of
    )
}

fn eval(meta: &'static CheckMeta, ctx: &ObjectContext<'_>, out: &mut Findings) {
    let id = &ctx.object.identity;
    let (path, what) = match (id.api_version.as_str(), id.kind.as_str()) {
        ("palisade.dev/v1alpha1", "ClusterInfo") => (
            "serverVersion.gitVersion",
            format!("the API server of {:?}", id.name),
        ),
        ("v1", "Node") => (
            "status.nodeInfo.kubeletVersion",
            format!("the kubelet of Node {:?}", id.name),
        ),
        _ => return,
    };
    let Some(node) = ctx.object.root.get_path(path) else {
        return;
    };
    let Some(version) = node.as_str() else {
        return;
    };
    if let Some(minor) = minor_of(version).filter(|m| *m < SUPPORTED.oldest_minor) {
        out.report(
            meta,
            node,
            ctx.object.path(path),
            message(&what, version, minor),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{minor_of, SUPPORTED};
    use crate::testing::{ids, run};

    const ID: &[&str] = &["cluster-version-unsupported"];

    fn info(version: &str) -> String {
        format!("apiVersion: palisade.dev/v1alpha1\nkind: ClusterInfo\nmetadata:\n  name: prod\nserverVersion:\n  major: \"1\"\n  gitVersion: {version}\n")
    }

    #[test]
    fn old_api_servers_and_kubelets_fire() {
        let f = run(&info("v1.25.0-alpha.2+89aaf7c02dd334"), ID);
        assert_eq!(ids(&f), ID);
        assert!(
            f[0].message
                .contains("Kubernetes v1.25.0-alpha.2+89aaf7c02dd334 (1.25)"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].path, "serverVersion.gitVersion");
        let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\nstatus:\n  nodeInfo:\n    kubeletVersion: v1.31.4-eks-1234\n";
        let f = run(node, ID);
        assert_eq!(ids(&f), ID);
        assert!(f[0].message.contains("kubelet of Node \"n1\""));
    }

    #[test]
    fn supported_releases_and_other_objects_are_quiet() {
        let current = format!("v1.{}.2", SUPPORTED.oldest_minor);
        assert!(run(&info(&current), ID).is_empty());
        assert!(run(&info(&format!("v1.{}.0", SUPPORTED.newest_minor)), ID).is_empty());
        assert!(run(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  gitVersion: v1.10.0\n",
            ID
        )
        .is_empty());
        // A version it cannot read is not guessed at.
        assert!(run(&info("unknown"), ID).is_empty());
    }

    #[test]
    fn minors_parse_from_vendor_versions() {
        assert_eq!(minor_of("v1.25.0-alpha.2+89aaf7c"), Some(25));
        assert_eq!(minor_of("1.30"), Some(30));
        assert_eq!(minor_of("v1.29.3-gke.1093000"), Some(29));
        assert_eq!(minor_of("v2.0.0"), None);
        assert_eq!(minor_of(""), None);
    }
}
