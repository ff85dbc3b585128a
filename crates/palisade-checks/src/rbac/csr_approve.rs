//! `rbac-csr-approve`: approving certificate signing requests.

use palisade_model::{Category, CheckMeta, PeerTool, Severity};

use super::{grant_check_graded, Eval, ModelRule, Out, View, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{cis, mitre, nsa, peer};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-csr-approve",
        title: "Subject can approve or request certificates",
        severity: Severity::High,
        category: Category::Rbac,
        description: "A binding whose role grants `update` or `patch` on `certificatesigningrequests/approval` or `approve` on `signers` (high), or only `create` on `certificatesigningrequests` (low: a request still needs an approver).",
        rationale: "With `create` on CertificateSigningRequests as well, a subject can request and approve a client certificate for any user and group, `system:masters` included, through the `kubernetes.io/kube-apiserver-client` signer: a cluster-admin credential that RBAC cannot revoke.",
        remediation: "Leave approval to the controller-manager's built-in approvers; limit `approve` on `signers` with `resourceNames` to the signer a tool handles.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#authorization"],
        mappings: &[cis("5.1.11"), nsa(NSA_RBAC), mitre("T1649")],
        peers: &[
            peer(PeerTool::Checkov, "CKV_K8S_156"),
            peer(PeerTool::Kubescape, "C-0280"),
        ],
        peer_notes: "Checkov CKV_K8S_156 and kubescape C-0280 look at roles; Palisade reports bound grants and names the subject.",
        source: file!(),
    },
    eval: Eval::Custom(eval),
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    const CERTS: &str = "certificates.k8s.io";
    let approvers = grant_check_graded(
        meta,
        view,
        out,
        &[
            ("update", CERTS, "certificatesigningrequests", "approval"),
            ("patch", CERTS, "certificatesigningrequests", "approval"),
            ("approve", CERTS, "signers", ""),
        ],
        "approved client certificates can name any user or group, system:masters included",
        (Severity::High, Severity::High),
        &[],
    );
    grant_check_graded(
        meta,
        view,
        out,
        &[("create", CERTS, "certificatesigningrequests", "")],
        "a request for a certificate naming any user or group is one approval away from a credential RBAC cannot revoke",
        (Severity::Low, Severity::Low),
        &approvers,
    );
}
