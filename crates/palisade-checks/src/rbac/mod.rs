//! Checks of the `rbac` category: risky grants, unused and dangling objects, and
//! escalation paths.
//!
//! A binding means nothing without its role, so these checks cannot look at one object
//! at a time. [`ANALYSIS`] keeps the RBAC objects, service accounts and workloads as the
//! scan streams past, builds one [`Model`] (default roles included, aggregation
//! resolved) and runs every active [`ModelRule`] over it. Findings land on the binding
//! (at its `roleRef`) or role they are about, so exceptions and baselines work as for
//! any check. Bindings and roles Kubernetes itself creates (`kubernetes.io/bootstrapping:
//! rbac-defaults`) and subjects it runs as (`system:*` users and groups, kube-system
//! service accounts) are not reported: they hold such power by design.

use std::sync::OnceLock;

use palisade_engine::{Analysis, CheckSettings, Gathered, RawFinding};
use palisade_inventory::{ObjectAt, ObjectError};
use palisade_model::{CheckMeta, Severity};
use palisade_rbac::{
    escalations, record_of, resolve_resource, BindingDef, Chain, Model, PolicyRule, RbacRecord,
    Request, RoleId, SubjectDef,
};

mod cluster_admin_binding;
mod csr_approve;
mod dangling_binding;
mod default_service_account;
mod escalate_bind;
mod escalation_path;
mod impersonate;
mod pod_create;
mod pod_exec;
mod public_grant;
mod pv_create;
mod secrets_read;
mod token_create;
mod unused_role;
mod webhook_modify;
mod wildcard_rule;

#[cfg(test)]
mod tests;

/// Every `rbac` check, in catalogue order.
pub static RULES: &[&ModelRule] = &[
    &cluster_admin_binding::CHECK,
    &wildcard_rule::CHECK,
    &secrets_read::CHECK,
    &pod_create::CHECK,
    &pod_exec::CHECK,
    &escalate_bind::CHECK,
    &impersonate::CHECK,
    &token_create::CHECK,
    &csr_approve::CHECK,
    &webhook_modify::CHECK,
    &pv_create::CHECK,
    &public_grant::CHECK,
    &default_service_account::CHECK,
    &escalation_path::CHECK,
    &unused_role::CHECK,
    &dangling_binding::CHECK,
];

/// The NSA/CISA guide's section on authorization.
const NSA_RBAC: &str = "Authentication and authorization";
const RBAC_DOC: &str = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/";
const RBAC_GOOD_PRACTICES: &str =
    "https://kubernetes.io/docs/concepts/security/rbac-good-practices/";

/// An `rbac` check.
pub type ModelRule = crate::rule::ModelRule<Eval>;

/// How a model rule finds its findings.
pub enum Eval {
    /// Any function of the model.
    Custom(fn(&'static CheckMeta, &View<'_>, &mut Out)),
    /// The common shape: bindings whose role grants one of some permissions.
    Grant(GrantRule),
}

/// For each input binding whose role grants any of `wanted`, one finding at its roleRef
/// naming the subjects, the grant and `why`; at the check's severity for a
/// ClusterRoleBinding and `namespaced` for a RoleBinding.
pub struct GrantRule {
    pub wanted: &'static [Wanted],
    pub why: &'static str,
    pub namespaced: Severity,
}

/// What a rule sees: the model, and escalation chains computed once on demand.
pub struct View<'m> {
    pub model: &'m Model,
    pub settings: &'m CheckSettings,
    chains: OnceLock<Vec<Chain>>,
}

impl View<'_> {
    pub fn chains(&self) -> &[Chain] {
        self.chains.get_or_init(|| escalations(self.model))
    }
}

use crate::rule::{report, Out};

/// The RBAC analysis the scan runs.
#[derive(Debug)]
pub struct RbacAnalysis;

pub static ANALYSIS: RbacAnalysis = RbacAnalysis;

impl Analysis for RbacAnalysis {
    fn gather(&self, at: &ObjectAt<'_, '_>) -> Result<Option<Gathered>, ObjectError> {
        // A malformed role or binding is an error, as the API server would refuse it:
        // skipping it quietly would hide its grants.
        Ok(record_of(at)?.map(|r| Box::new(r) as Gathered))
    }

    fn report(&self, items: Vec<Gathered>, settings: &CheckSettings) -> Vec<(usize, RawFinding)> {
        let records = items.into_iter().enumerate().filter_map(|(key, item)| {
            let mut record = *item.downcast::<RbacRecord>().ok()?;
            set_key(&mut record, key);
            Some(record)
        });
        let model = Model::build(records);
        let view = View {
            model: &model,
            settings,
            chains: OnceLock::new(),
        };
        let mut out = Vec::new();
        for rule in RULES {
            if !settings.is_active(rule.meta.id) {
                continue;
            }
            match &rule.eval {
                Eval::Custom(eval) => eval(&rule.meta, &view, &mut out),
                Eval::Grant(g) => {
                    grant_check(&rule.meta, &view, &mut out, g.wanted, g.why, g.namespaced)
                }
            }
        }
        out
    }

    fn wanted(&self, checks: &[&'static CheckMeta]) -> bool {
        crate::rule::any_selected(RULES, checks)
    }
}

fn set_key(record: &mut RbacRecord, key: usize) {
    let origin = match record {
        RbacRecord::Role(r) => r.origin.as_mut(),
        RbacRecord::Binding(b) => b.origin.as_mut(),
        RbacRecord::ServiceAccount(s) => s.origin.as_mut(),
        RbacRecord::Workload(ws) => {
            for w in ws {
                if let Some(o) = w.origin.as_mut() {
                    o.key = key;
                }
            }
            None
        }
    };
    if let Some(o) = origin {
        o.key = key;
    }
}

/// A binding from the input (not a Kubernetes default), its role, and its subjects that
/// are not Kubernetes' own; bindings with no such subject are skipped.
struct Bound<'m> {
    binding: &'m BindingDef,
    role: RoleId,
    subjects: Vec<&'m SubjectDef>,
    /// The binding's index in the model.
    index: usize,
}

fn input_bindings(m: &Model) -> impl Iterator<Item = Bound<'_>> {
    m.bindings.iter().enumerate().filter_map(|(i, b)| {
        if b.is_default() {
            return None;
        }
        let role = m.binding_role[i]?;
        let subjects: Vec<&SubjectDef> = b.subjects.iter().filter(|s| !s.is_system()).collect();
        (!subjects.is_empty()).then_some(Bound {
            binding: b,
            role,
            subjects,
            index: i,
        })
    })
}

fn subjects_text(subjects: &[&SubjectDef]) -> String {
    subjects
        .iter()
        .map(|s| s.display())
        .collect::<Vec<_>>()
        .join(", ")
}

fn scope(b: &BindingDef) -> String {
    if b.cluster {
        "cluster-wide".to_owned()
    } else {
        format!("in namespace {}", b.namespace)
    }
}

/// The first rule `role` holds that grants `req`, whatever `resourceNames` it is
/// limited to (a grant on named objects is still a grant), with the role that holds it
/// (another ClusterRole when `role` aggregates it).
fn grant<'m>(m: &'m Model, role: RoleId, req: &Request) -> Option<(RoleId, &'m PolicyRule)> {
    m.rules_of(role).find(|(_, rule)| {
        if rule.resource_names.is_empty() {
            return req.allowed_by(rule);
        }
        let mut named = req.clone();
        named.name.clone_from(&rule.resource_names[0]);
        named.allowed_by(rule)
    })
}

/// `verbs=[...] ...; rule 2 of ClusterRole x`, naming the role that holds the rule and,
/// when another aggregates it, the role the binding names.
fn rule_text(m: &Model, role: RoleId, (rule_role, rule): (RoleId, &PolicyRule)) -> String {
    let mut text = format!(
        "{}; rule {} of {}",
        rule.describe(),
        rule.index + 1,
        m.roles[rule_role].display()
    );
    if rule_role != role {
        text.push_str(&format!(", aggregated into {}", m.roles[role].display()));
    }
    text
}

/// A permission a grant check looks for: (verb, group, resource, subresource).
pub type Wanted = (&'static str, &'static str, &'static str, &'static str);

/// Evaluates a [`GrantRule`].
fn grant_check(
    meta: &'static CheckMeta,
    view: &View<'_>,
    out: &mut Out,
    wanted: &[Wanted],
    why: &str,
    namespaced: Severity,
) {
    grant_check_graded(
        meta,
        view,
        out,
        wanted,
        why,
        (meta.severity, namespaced),
        &[],
    );
}

/// [`grant_check`] with the severity for cluster-wide and namespaced grants, skipping
/// the bindings in `skip`; returns the bindings it reported.
fn grant_check_graded(
    meta: &'static CheckMeta,
    view: &View<'_>,
    out: &mut Out,
    wanted: &[Wanted],
    why: &str,
    (cluster_wide, namespaced): (Severity, Severity),
    skip: &[usize],
) -> Vec<usize> {
    let mut reported = Vec::new();
    let m = view.model;
    let all = Request::resource("*", "*", "*", "");
    for bound in input_bindings(m) {
        let b = bound.binding;
        if skip.contains(&bound.index) {
            continue;
        }
        // A binding reported as cluster-admin is not reported again for each power that
        // implies (one problem, one finding).
        if view.settings.is_active("rbac-cluster-admin-binding")
            && m.role_allows(bound.role, &all).is_some()
        {
            continue;
        }
        let ns = if b.cluster { "" } else { b.namespace.as_str() };
        let hit = wanted.iter().find_map(|(verb, group, resource, sub)| {
            // A RoleBinding cannot grant a cluster-scoped resource: such requests carry no
            // namespace.
            if !b.cluster && resolve_resource(resource).namespaced == Some(false) {
                return None;
            }
            let mut req = Request::resource(verb, group, resource, ns);
            req.subresource = (*sub).to_owned();
            grant(m, bound.role, &req).map(|rule| (req, rule))
        });
        let Some((req, rule)) = hit else {
            continue;
        };
        let what = if req.subresource.is_empty() {
            format!("{} {}", req.verb, req.resource)
        } else {
            format!("{} {}/{}", req.verb, req.resource, req.subresource)
        };
        let severity = if b.cluster { cluster_wide } else { namespaced };
        reported.push(bound.index);
        report(
            out,
            meta,
            b.origin.as_ref(),
            &b.role_ref.at,
            severity,
            format!(
                "{} can {what} {} through {} ({}): {why}",
                subjects_text(&bound.subjects),
                scope(b),
                b.display(),
                rule_text(m, bound.role, rule),
            ),
        );
    }
    reported
}
