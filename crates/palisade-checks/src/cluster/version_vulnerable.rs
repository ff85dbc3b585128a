//! `kubernetes-version-vulnerable`: the API server's Kubernetes version has known
//! vulnerabilities in the offline OSV database (`scan --cluster --vuln-db DIR`).

use palisade_model::{Category, CheckMeta, Severity};

use crate::pss::helpers::{mitre, nsa};
use crate::Rule;

pub static CHECK: Rule = Rule {
    meta: CheckMeta {
        id: "kubernetes-version-vulnerable",
        title: "Cluster runs a Kubernetes version with known vulnerabilities",
        severity: Severity::High,
        category: Category::ControlPlane,
        description: "The API server's version (from `/version`) falls in the affected ranges of OSV records for Kubernetes (the `k8s.io/kubernetes` Go module, or a `kubernetes` package) in the offline database `scan --cluster --vuln-db DIR` names (`palisade db update` fills it). Ranges are compared in semver order, so `v1.29.3-eks-1234` and pre-releases are placed correctly. Each finding names the record, its aliases, its severity and the first fixed version. Without `--vuln-db` nothing is judged.",
        rationale: "A known Kubernetes vulnerability has a published write-up and often a working exploit: an API server or kubelet on an affected patch release is what attackers scan for first, and upgrading within the same minor release is usually low risk.",
        remediation: "Upgrade the control plane (then the nodes) to the fixed patch release the finding names, or a later one of the same minor release; managed clusters: apply the provider's patch version.",
        references: &[
            "https://kubernetes.io/docs/reference/issues-security/official-cve-feed/",
            "https://ossf.github.io/osv-schema/",
        ],
        // Without a database the scan does not count it as run, so these controls are
        // never passed by a check that judged nothing.
        mappings: &[mitre("T1190"), nsa("Upgrading and application security practices")],
        peers: &[],
        peer_notes: "Trivy's `k8s` scan and kubescape's vulnerability scan match the cluster version against their online databases; Palisade matches it offline against the OSV records you import.",
        source: file!(),
    },
    // The cluster scan matches the version once it is known; no object carries it.
    eval: |_, _, _| {},
};
