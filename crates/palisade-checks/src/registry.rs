//! The ordered registry of every check, and selection by id or category.

use palisade_engine::{Analysis, Check};
use palisade_model::{Category, CheckMeta};

use crate::{
    api, cluster, controlplane, image, input, namespace, netpol, network, node, pss, rbac, secrets,
    workload,
};

/// Every check, in a fixed order: Pod Security baseline, then restricted, then the
/// catalogue by category.
#[must_use]
pub fn registry() -> Vec<&'static dyn Check> {
    let mut all: Vec<&'static dyn Check> = pss::CHECKS
        .iter()
        .map(|c| *c as &'static dyn Check)
        .collect();
    for group in [
        workload::CHECKS,
        image::CHECKS,
        secrets::CHECKS,
        network::CHECKS,
        namespace::CHECKS,
        api::CHECKS,
    ] {
        all.extend(group.iter().copied());
    }
    all.extend(netpol::RULES.iter().map(|r| *r as &'static dyn Check));
    all.extend(rbac::RULES.iter().map(|r| *r as &'static dyn Check));
    all.extend(controlplane::CHECKS.iter().copied());
    all.push(&controlplane::etcd_ca::CHECK);
    all.extend(cluster::CHECKS.iter().copied());
    all.extend(node::RULES.iter().map(|r| *r as &'static dyn Check));
    all.push(&input::duplicate_key::CHECK);
    all
}

/// The analyses that run the checks needing many objects at once (RBAC, network
/// policy, etcd's CA against the API server's); a scan passes them all, and each runs
/// only when one of its checks is selected.
#[must_use]
pub fn analyses() -> Vec<&'static dyn Analysis> {
    vec![
        &rbac::ANALYSIS,
        &netpol::ANALYSIS,
        &controlplane::etcd_ca::ANALYSIS,
    ]
}

/// Checks whose verdict on an object depends on other objects the admission webhook
/// cannot see in one request (the cluster's roles, bindings, pods and policies), each
/// with why. The webhook leaves them to `scan`: judged on one object alone they would
/// deny what the rest of the cluster makes right.
pub static WHOLE_INVENTORY: &[(&str, &str)] = &[
    (
        "netpol-missing-default-deny-ingress",
        "a namespace's policies arrive one request at a time",
    ),
    (
        "netpol-missing-default-deny-egress",
        "a namespace's policies arrive one request at a time",
    ),
    (
        "netpol-exposed-not-isolated",
        "which policies select a workload depends on the policies already in the cluster",
    ),
    (
        "netpol-peer-selects-nothing",
        "whether a peer selects pods depends on the pods already in the cluster",
    ),
    (
        "netpol-policy-selects-nothing",
        "whether a policy selects pods depends on the pods already in the cluster",
    ),
    (
        "netpol-workload-not-isolated",
        "which policies select a workload depends on the policies already in the cluster",
    ),
    (
        "rbac-default-service-account",
        "what the default service account may do depends on the cluster's bindings",
    ),
    (
        "rbac-escalation-path",
        "a path runs through many bindings and roles, most of them already in the cluster",
    ),
    (
        "rbac-unused-role",
        "a role is bound after it is created, in a later request",
    ),
    (
        "rbac-dangling-binding",
        "a binding's role may already exist in the cluster, or be created next",
    ),
    (
        "etcd-ca-shared-with-apiserver",
        "compares the etcd and API server static pods, which are not admitted",
    ),
];

/// Why the admission webhook does not judge check `id`, if it does not.
#[must_use]
pub fn whole_inventory_reason(id: &str) -> Option<&'static str> {
    WHOLE_INVENTORY
        .iter()
        .find(|(check, _)| *check == id)
        .map(|(_, why)| *why)
}

/// The metadata of the check with this id.
#[must_use]
pub fn by_id(id: &str) -> Option<&'static CheckMeta> {
    registry()
        .into_iter()
        .map(|c| c.meta())
        .find(|m| m.id == id)
}

/// `--select` / `--ignore`: check ids or category names.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

fn matches(meta: &CheckMeta, selector: &str) -> bool {
    meta.id == selector || meta.category.as_str() == selector
}

fn known(selector: &str) -> bool {
    Category::ALL.iter().any(|c| c.as_str() == selector) || by_id(selector).is_some()
}

/// The checks a selection keeps (all of them when `select` is empty), in registry order.
///
/// # Errors
/// A selector that names no check and no category.
pub fn select(selection: &Selection) -> Result<Vec<&'static dyn Check>, String> {
    if let Some(bad) = selection
        .select
        .iter()
        .chain(&selection.ignore)
        .find(|s| !known(s))
    {
        return Err(format!(
            "unknown check or category {bad:?} (see `palisade checks list`)"
        ));
    }
    Ok(registry()
        .into_iter()
        .filter(|c| {
            let m = c.meta();
            (selection.select.is_empty() || selection.select.iter().any(|s| matches(m, s)))
                && !selection.ignore.iter().any(|s| matches(m, s))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_docs_complete() {
        let mut ids = HashSet::new();
        for c in registry() {
            let m = c.meta();
            assert!(ids.insert(m.id), "duplicate id {}", m.id);
            for (field, text) in [
                ("title", m.title),
                ("description", m.description),
                ("rationale", m.rationale),
                ("remediation", m.remediation),
                ("peer_notes", m.peer_notes),
            ] {
                assert!(!text.trim().is_empty(), "{}: empty {field}", m.id);
            }
            assert!(!m.references.is_empty(), "{}: no references", m.id);
            assert!(!m.mappings.is_empty(), "{}: no mappings", m.id);
            assert!(
                m.references.iter().all(|r| r.starts_with("https://")),
                "{}",
                m.id
            );
            assert!(m.source.ends_with(".rs"), "{}", m.id);
        }
    }

    #[test]
    fn whole_inventory_checks_exist_and_are_analysis_checks() {
        // Only checks run by an analysis see more than one object.
        let analysed: Vec<&str> = (netpol::RULES.iter().map(|r| r.meta.id))
            .chain(rbac::RULES.iter().map(|r| r.meta.id))
            .chain([controlplane::etcd_ca::CHECK.meta.id])
            .collect();
        for (id, why) in WHOLE_INVENTORY {
            assert!(by_id(id).is_some(), "{id} is no check");
            assert!(analysed.contains(id), "{id} sees one object at a time");
            assert!(!why.is_empty());
        }
        assert_eq!(whole_inventory_reason("privileged"), None);
        assert!(whole_inventory_reason("rbac-unused-role").is_some());
    }

    #[test]
    fn selection_by_id_and_category() {
        let sel = |s: &[&str], i: &[&str]| {
            select(&Selection {
                select: s.iter().map(|x| (*x).to_owned()).collect(),
                ignore: i.iter().map(|x| (*x).to_owned()).collect(),
            })
            .map(|v| v.iter().map(|c| c.meta().id).collect::<Vec<_>>())
        };
        assert_eq!(sel(&["privileged"], &[]).unwrap(), ["privileged"]);
        assert_eq!(sel(&[], &[]).unwrap().len(), registry().len());
        assert_eq!(
            sel(&["pod-security"], &["privileged"]).unwrap().len(),
            crate::pss::CHECKS.len() - 1
        );
        assert_eq!(sel(&["input"], &[]).unwrap(), ["duplicate-key"]);
        assert!(sel(&["nope"], &[]).unwrap_err().contains("unknown check"));
    }
}
