//! Checks over the network policies of the input: namespaces without a default deny,
//! workloads no policy isolates, policies and peers that select nothing, rules open to
//! everyone, egress to the cloud metadata address, and exposed workloads left open.
//!
//! Like the RBAC checks they need many objects at once: [`ANALYSIS`] keeps the policies,
//! namespaces, workloads and exposing Services as the scan streams past, builds one
//! [`Model`], and runs every active [`NetpolRule`] over it. Findings land on the object
//! they are about.

use palisade_engine::{Analysis, CheckSettings, Gathered, RawFinding};
use palisade_inventory::{ObjectAt, ObjectError, Origin};
use palisade_model::CheckMeta;
use palisade_netpol::{record_of, Model, NetpolRecord};

use crate::rule::{ModelRule, Out};

mod allow_all;
mod default_deny;
mod egress_metadata;
mod exposed_not_isolated;
mod peer_selects_nothing;
mod policy_selects_nothing;
mod workload_not_isolated;

#[cfg(test)]
mod tests;

/// A network-policy check: metadata and a function of the model.
pub type NetpolRule = ModelRule<fn(&'static CheckMeta, &Model, &mut Out)>;

/// Every network-policy check, in catalogue order.
pub static RULES: &[&NetpolRule] = &[
    &default_deny::INGRESS,
    &default_deny::EGRESS,
    &workload_not_isolated::CHECK,
    &exposed_not_isolated::CHECK,
    &allow_all::CHECK,
    &egress_metadata::CHECK,
    &policy_selects_nothing::CHECK,
    &peer_selects_nothing::CHECK,
];

const NSA_NETWORK: &str = "Network separation and hardening";
const NETPOL_DOC: &str =
    "https://kubernetes.io/docs/concepts/services-networking/network-policies/";

/// The network-policy analysis the scan runs.
#[derive(Debug)]
pub struct NetpolAnalysis;

pub static ANALYSIS: NetpolAnalysis = NetpolAnalysis;

impl Analysis for NetpolAnalysis {
    fn gather(&self, at: &ObjectAt<'_, '_>) -> Result<Option<Gathered>, ObjectError> {
        Ok(record_of(at)?.map(|r| Box::new(r) as Gathered))
    }

    fn report(&self, items: Vec<Gathered>, settings: &CheckSettings) -> Vec<(usize, RawFinding)> {
        let records = items.into_iter().enumerate().filter_map(|(key, item)| {
            let mut record = *item.downcast::<NetpolRecord>().ok()?;
            if let Some(origin) = origin_mut(&mut record) {
                origin.key = key;
            }
            Some(record)
        });
        let model = Model::build(records);
        let mut out = Vec::new();
        for rule in RULES {
            if settings.is_active(rule.meta.id) {
                (rule.eval)(&rule.meta, &model, &mut out);
            }
        }
        out
    }

    fn wanted(&self, checks: &[&'static CheckMeta]) -> bool {
        crate::rule::any_selected(RULES, checks)
    }
}

fn origin_mut(record: &mut NetpolRecord) -> Option<&mut Origin> {
    match record {
        NetpolRecord::Policy(p) => p.origin.as_mut(),
        NetpolRecord::Namespace(n) => n.origin.as_mut(),
        NetpolRecord::Workload(w) => w.origin.as_mut(),
        NetpolRecord::Service(s) => s.origin.as_mut(),
        NetpolRecord::NotModelled(n) => n.origin.as_mut(),
        NetpolRecord::CustomResource { .. } => None,
    }
}
