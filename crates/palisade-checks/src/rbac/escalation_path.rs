//! `rbac-escalation-path`: a chain of permissions that reaches cluster-admin power.

use palisade_model::{Category, CheckMeta, Severity};
use palisade_rbac::Target;

use super::{report, Eval, ModelRule, Out, View, NSA_RBAC, RBAC_GOOD_PRACTICES};
use crate::pss::helpers::{mitre, nsa};

pub static CHECK: ModelRule = ModelRule {
    meta: CheckMeta {
        id: "rbac-escalation-path",
        title: "Subject can escalate to cluster-admin in several steps",
        severity: Severity::Critical,
        category: Category::Rbac,
        description: "A subject (not one of Kubernetes' own) that holds no cluster-admin power itself but reaches it in two or more steps: creating pods that run as a privileged service account, minting its token, exec-ing into its pods, or impersonating a privileged principal. Reported at the binding that grants the first step; `palisade rbac escalations` prints every chain.",
        rationale: "Each grant can look harmless on its own (create Deployments in one namespace), while together with another account's grant (that namespace's service account may bind cluster-admin) it is full control of the cluster.",
        remediation: "Break the chain at its cheapest link: take the first step's permission away, move the privileged service account to a namespace the subject cannot deploy to, or reduce that account's permissions.",
        references: &[RBAC_GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping"],
        mappings: &[nsa(NSA_RBAC), mitre("T1078.004")],
        peers: &[],
        peer_notes: "None of the listed peers follows chains across bindings; graph tools such as KubeHound and rbac-police do, against a live cluster.",
        source: file!(),
    },
    eval: Eval::Custom(eval),
};

fn eval(meta: &'static CheckMeta, view: &View<'_>, out: &mut Out) {
    let m = view.model;
    for chain in view.chains() {
        if chain.steps.len() < 2 || chain.subject.is_system() {
            continue;
        }
        let Some(grant) = chain.steps[0].grant else {
            continue;
        };
        let b = &m.bindings[grant.binding];
        let path: Vec<String> = chain
            .steps
            .iter()
            .map(|s| match &s.to {
                Target::ClusterAdmin => format!("{} (cluster-admin)", s.how),
                Target::Principal(p) => format!("{} (becomes {})", s.how, p.display()),
            })
            .collect();
        report(
            out,
            meta,
            b.origin.as_ref(),
            &b.role_ref.at,
            meta.severity,
            format!(
                "{} reaches cluster-admin in {} steps: {}",
                chain.subject.display(),
                chain.steps.len(),
                path.join(" -> ")
            ),
        );
    }
}
