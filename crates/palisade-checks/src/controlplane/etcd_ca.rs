//! `etcd-ca-shared-with-apiserver`: etcd trusts the CA the API server uses for client
//! certificates (CIS 2.7).
//!
//! The check needs two pods, so it is a small [`Analysis`]: as the scan streams past it
//! keeps each API server's `--client-ca-file` and each etcd's `--trusted-ca-file` with
//! their places, and once every object is seen reports every etcd whose CA file is one of
//! the API servers' (paths compared after Go's `filepath.Clean`). With only one side in
//! the input there is nothing to compare, and nothing is reported.

use palisade_engine::{Analysis, CheckSettings, Gathered, RawFinding};
use palisade_inventory::{ObjectAt, ObjectError, Origin, Place};
use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::flags::{targets, Component};
use super::{decidable, CIS_DOC, ETCD_SECURITY_DOC, NSA_ETCD};
use crate::pss::helpers::{cis, mitre, nsa, peer};
use crate::rule::{any_selected, report, ModelRule};

pub static CHECK: ModelRule<()> = ModelRule {
    meta: CheckMeta {
        id: "etcd-ca-shared-with-apiserver",
        title: "etcd trusts the cluster's client CA",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "An etcd whose `--trusted-ca-file` is the same file as an API server's `--client-ca-file`, both pods being in the input (kubeadm's static pod manifests, or a cluster's kube-system mirror pods). Files are compared by path after cleaning (`//`, `.` and `..` resolved); two paths to the same file, or copies of one CA, are not detected. CIS Kubernetes Benchmark v1.10.0 recommendation 2.7 (Manual).",
        rationale: "etcd admits any client certificate its trusted CA signed. If that is the cluster CA, every certificate the cluster issues, every kubelet's, every administrator's, and any a user obtains through an approved CertificateSigningRequest, opens etcd directly: the whole cluster state, read and written without the API server's authorization or audit.",
        remediation: "Give etcd its own CA (kubeadm does: `/etc/kubernetes/pki/etcd/ca.crt`), sign the etcd server, peer and API server client certificates with it, and point `--trusted-ca-file` (and the API server's `--etcd-cafile`) at it.",
        references: &[ETCD_SECURITY_DOC, "https://kubernetes.io/docs/setup/best-practices/certificates/#single-root-ca", CIS_DOC],
        mappings: &[cis("2.7"), nsa(NSA_ETCD), mitre("T1552")],
        peers: &[peer(PeerTool::Kubescape, "C-0159")],
        peer_notes: "Same CIS item as kubescape C-0159. kube-bench only shows etcd's `--trusted-ca-file` for a person to compare (the item is manual); Palisade compares it with the API servers in the same input and reports only when both sides are there.",
        source: file!(),
    },
    eval: (),
};

/// A CA flag of a control-plane pod, kept while the scan streams past.
#[derive(Debug, Clone)]
struct CaFlag {
    component: Component,
    /// The CA file, cleaned.
    file: String,
    /// The flag as written, for messages.
    written: String,
    place: Place,
    origin: Origin,
    /// `Pod kube-system/kube-apiserver (kube-apiserver.yaml:23)`.
    display: String,
}

/// The analysis the scan runs for [`CHECK`].
#[derive(Debug)]
pub struct EtcdCaAnalysis;

pub static ANALYSIS: EtcdCaAnalysis = EtcdCaAnalysis;

impl Analysis for EtcdCaAnalysis {
    fn gather(&self, at: &ObjectAt<'_, '_>) -> Result<Option<Gathered>, ObjectError> {
        let flags: Vec<CaFlag> = targets(at.pods)
            .iter()
            .filter(|t| decidable(t))
            .filter_map(|t| {
                let name = match t.component {
                    Component::ApiServer => "client-ca-file",
                    Component::Etcd => "trusted-ca-file",
                    Component::ControllerManager | Component::Scheduler => return None,
                };
                let setting = t.flags.set(name)?;
                let file = clean_path(setting.text()?);
                let place = Place {
                    line: setting.node.pos().line,
                    column: setting.node.pos().column,
                    path: setting.path.clone(),
                };
                Some(CaFlag {
                    component: t.component,
                    file,
                    written: setting.written(),
                    display: format!("{} ({}:{})", at.object.identity, at.file, place.line),
                    place,
                    origin: at.origin(),
                })
            })
            .collect();
        Ok((!flags.is_empty()).then(|| Box::new(flags) as Gathered))
    }

    fn report(&self, items: Vec<Gathered>, settings: &CheckSettings) -> Vec<(usize, RawFinding)> {
        let mut out = Vec::new();
        if !settings.is_active(CHECK.meta.id) {
            return out;
        }
        let flags: Vec<CaFlag> = items
            .into_iter()
            .enumerate()
            .filter_map(|(key, item)| Some((key, *item.downcast::<Vec<CaFlag>>().ok()?)))
            .flat_map(|(key, flags)| {
                flags.into_iter().map(move |mut f| {
                    f.origin.key = key;
                    f
                })
            })
            .collect();
        for etcd in flags.iter().filter(|f| f.component == Component::Etcd) {
            let Some(api) = flags
                .iter()
                .find(|f| f.component == Component::ApiServer && f.file == etcd.file)
            else {
                continue;
            };
            report(
                &mut out,
                &CHECK.meta,
                Some(&etcd.origin),
                &etcd.place,
                CHECK.meta.severity,
                format!(
                    "etcd: {} is the CA {} trusts for client certificates ({}), so every certificate the cluster CA signs, kubelets' and users' included, is also accepted by etcd; give etcd its own CA",
                    etcd.written, api.display, api.written
                ),
            );
        }
        out
    }

    fn wanted(&self, checks: &[&'static CheckMeta]) -> bool {
        any_selected(&[&CHECK], checks)
    }
}

/// Go's `filepath.Clean` for `/`-separated paths: repeated slashes, `.` and `..`
/// resolved lexically.
fn clean_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controlplane::tests::component;
    use crate::testing::run_analysis;

    const ID: &[&str] = &["etcd-ca-shared-with-apiserver"];

    fn etcd(ca: &str) -> String {
        component(
            "etcd",
            "registry.k8s.io/etcd:3.5.12-0",
            &[
                "--client-cert-auth=true",
                &format!("--trusted-ca-file={ca}"),
            ],
        )
    }

    fn apiserver(ca: &str) -> String {
        component(
            "kube-apiserver",
            "registry.k8s.io/kube-apiserver:v1.30.0",
            &["--client-ca-file", ca],
        )
    }

    #[test]
    fn shared_ca_is_reported_at_etcd() {
        let yaml = format!(
            "{}---\n{}",
            apiserver("/etc/kubernetes/pki/ca.crt"),
            etcd("/etc/kubernetes//pki/./ca.crt")
        );
        let hits = run_analysis(&ANALYSIS, "cp.yaml", &yaml, ID);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].object, 1);
        assert_eq!(hits[0].path, "spec.containers[0].command[2]");
        assert!(
            hits[0]
                .message
                .contains("Pod kube-system/kube-apiserver (cp.yaml:"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn separate_cas_or_one_side_are_not() {
        let kubeadm = format!(
            "{}---\n{}",
            apiserver("/etc/kubernetes/pki/ca.crt"),
            etcd("/etc/kubernetes/pki/etcd/ca.crt")
        );
        assert!(run_analysis(&ANALYSIS, "cp.yaml", &kubeadm, ID).is_empty());
        assert!(run_analysis(
            &ANALYSIS,
            "cp.yaml",
            &etcd("/etc/kubernetes/pki/ca.crt"),
            ID
        )
        .is_empty());
        assert!(run_analysis(
            &ANALYSIS,
            "cp.yaml",
            &apiserver("/etc/kubernetes/pki/ca.crt"),
            ID
        )
        .is_empty());
    }

    #[test]
    fn etcd_from_the_environment() {
        let etcd = format!(
            "{}    env:\n    - {{name: ETCD_TRUSTED_CA_FILE, value: /pki/ca.crt}}\n",
            component("etcd", "registry.k8s.io/etcd:3.5.12-0", &[])
        );
        let yaml = format!("{}---\n{etcd}", apiserver("/pki/ca.crt"));
        let hits = run_analysis(&ANALYSIS, "cp.yaml", &yaml, ID);
        assert_eq!(hits[0].path, "spec.containers[0].env[0].value");
    }

    #[test]
    fn cleaning_paths() {
        for (raw, clean) in [
            ("/a//b/./c", "/a/b/c"),
            ("/a/b/../c", "/a/c"),
            ("/../a", "/a"),
            ("a/../../b", "../b"),
            ("", "."),
            ("./", "."),
        ] {
            assert_eq!(clean_path(raw), clean, "{raw}");
        }
    }
}
