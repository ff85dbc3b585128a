//! The indexed RBAC model: roles with aggregation resolved, bindings with their roles.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use palisade_inventory::{map_objects_in_text, ObjectAt, ObjectError};
use palisade_source::Limits;

use crate::authorize::Request;
use crate::record::{
    extract, BindingDef, PolicyRule, RbacRecord, RoleDef, ServiceAccountDef, WorkloadDef,
};

/// Index of a role in [`Model::roles`].
pub type RoleId = usize;

/// Roles, bindings, service accounts and workloads, indexed for authorization.
#[derive(Debug, Default)]
pub struct Model {
    pub roles: Vec<RoleDef>,
    pub bindings: Vec<BindingDef>,
    pub service_accounts: Vec<ServiceAccountDef>,
    pub workloads: Vec<WorkloadDef>,
    /// For each binding, the role its roleRef names, if it exists.
    pub binding_role: Vec<Option<RoleId>>,
    /// For an aggregated ClusterRole, the rules it holds: (role, rule index) pairs.
    aggregated: HashMap<RoleId, Vec<(RoleId, usize)>>,
    /// ClusterRoles some aggregated role's selectors pick (whether or not their rules
    /// added anything new).
    aggregated_members: HashSet<RoleId>,
    cluster_roles: HashMap<String, RoleId>,
    namespaced_roles: HashMap<(String, String), RoleId>,
    /// ClusterRoleBindings, then RoleBindings by namespace.
    pub(crate) cluster_bindings: Vec<usize>,
    pub(crate) namespace_bindings: HashMap<String, Vec<usize>>,
    /// Bindings by role, so "who holds this role" is one lookup.
    pub(crate) bindings_of_role: HashMap<RoleId, Vec<usize>>,
    /// Rules by each entry of their `resources` (`pods`, `pods/exec`, `*/scale`, `*`):
    /// a who-can query reads only the rules that could match instead of every rule.
    rules_by_resource: HashMap<String, Vec<(RoleId, usize)>>,
}

pub(crate) const BOOTSTRAP: &str = include_str!("../data/bootstrap.yaml");

/// The default roles and bindings of a cluster, read once (a test checks that every
/// object in the file is read without error).
fn bootstrap() -> &'static [RbacRecord] {
    static RECORDS: OnceLock<Vec<RbacRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let file: Arc<str> = Arc::from("bootstrap.yaml");
        let visit = |at: &ObjectAt<'_, '_>| {
            extract(at.object, at.pods, None).map_err(|(place, message)| ObjectError {
                line: place.line,
                column: place.column,
                message,
            })
        };
        map_objects_in_text(&file, BOOTSTRAP, &Limits::default(), &visit).0
    })
}

impl Model {
    /// Builds the model from records. Later definitions of the same object replace
    /// earlier ones (as a later `kubectl apply` would); the cluster's default roles and
    /// bindings are added unless the input defines an object of the same name.
    #[must_use]
    pub fn build(records: impl IntoIterator<Item = RbacRecord>) -> Self {
        Self::build_with(records, true)
    }

    /// [`Model::build`], choosing whether to add the cluster's defaults.
    #[must_use]
    pub fn build_with(records: impl IntoIterator<Item = RbacRecord>, defaults: bool) -> Self {
        let mut m = Self::default();
        let mut binding_index: HashMap<(bool, String, String), usize> = HashMap::new();
        let mut add = |m: &mut Self, record: RbacRecord, only_new: bool| match record {
            RbacRecord::Role(r) => {
                let existing = if r.cluster {
                    m.cluster_roles.get(&r.name).copied()
                } else {
                    m.namespaced_roles
                        .get(&(r.namespace.clone(), r.name.clone()))
                        .copied()
                };
                match existing {
                    Some(_) if only_new => {}
                    Some(i) => m.roles[i] = r,
                    None => {
                        let i = m.roles.len();
                        if r.cluster {
                            m.cluster_roles.insert(r.name.clone(), i);
                        } else {
                            m.namespaced_roles
                                .insert((r.namespace.clone(), r.name.clone()), i);
                        }
                        m.roles.push(r);
                    }
                }
            }
            RbacRecord::Binding(b) => {
                let key = (b.cluster, b.namespace.clone(), b.name.clone());
                match binding_index.get(&key) {
                    Some(_) if only_new => {}
                    Some(&i) => m.bindings[i] = b,
                    None => {
                        binding_index.insert(key, m.bindings.len());
                        m.bindings.push(b);
                    }
                }
            }
            RbacRecord::ServiceAccount(sa) => m.service_accounts.push(sa),
            RbacRecord::Workload(w) => m.workloads.extend(w),
        };
        for r in records {
            add(&mut m, r, false);
        }
        if defaults {
            for r in bootstrap() {
                add(&mut m, r.clone(), true);
            }
        }
        m.index();
        m
    }

    fn index(&mut self) {
        self.binding_role = self
            .bindings
            .iter()
            .map(|b| self.find_role(b.role_ref.cluster, &b.namespace, &b.role_ref.name))
            .collect();
        for (i, b) in self.bindings.iter().enumerate() {
            if b.cluster {
                self.cluster_bindings.push(i);
            } else {
                self.namespace_bindings
                    .entry(b.namespace.clone())
                    .or_default()
                    .push(i);
            }
            if let Some(r) = self.binding_role[i] {
                self.bindings_of_role.entry(r).or_default().push(i);
            }
        }
        for (r, role) in self.roles.iter().enumerate() {
            for (ix, rule) in role.rules.iter().enumerate() {
                for resource in &rule.resources {
                    self.rules_by_resource
                        .entry(resource.clone())
                        .or_default()
                        .push((r, ix));
                }
            }
        }
        self.aggregate();
    }

    /// For every role, the first rule it holds (in [`Model::rules_of`] order) that allows
    /// `req`, as `(rule's role, rule index)`: [`Model::role_allows`] for all roles at once,
    /// reading only the rules whose resources could match.
    pub(crate) fn role_verdicts(&self, req: &Request) -> Vec<Option<(RoleId, usize)>> {
        if req.path.is_some() {
            return (0..self.roles.len())
                .map(|r| self.role_allows(r, req))
                .collect();
        }
        let keys = if req.subresource.is_empty() {
            vec![req.resource.clone(), "*".to_owned()]
        } else {
            vec![
                format!("{}/{}", req.resource, req.subresource),
                format!("*/{}", req.subresource),
                "*".to_owned(),
            ]
        };
        let mut allowed: Vec<(RoleId, usize)> = keys
            .iter()
            .flat_map(|k| self.rules_by_resource.get(k).into_iter().flatten())
            .filter(|&&(r, ix)| req.allowed_by(&self.roles[r].rules[ix]))
            .copied()
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        let mut verdicts = vec![None; self.roles.len()];
        // Sorted, so each role's first allowing rule comes first.
        for &(r, ix) in &allowed {
            if verdicts[r].is_none() && !self.aggregated.contains_key(&r) {
                verdicts[r] = Some((r, ix));
            }
        }
        for (&a, rules) in &self.aggregated {
            verdicts[a] = rules
                .iter()
                .find(|pair| allowed.binary_search(pair).is_ok())
                .copied();
        }
        verdicts
    }

    /// The role a roleRef names: a ClusterRole, or a Role in the binding's namespace.
    #[must_use]
    pub fn find_role(&self, cluster: bool, namespace: &str, name: &str) -> Option<RoleId> {
        if cluster {
            self.cluster_roles.get(name).copied()
        } else {
            self.namespaced_roles
                .get(&(namespace.to_owned(), name.to_owned()))
                .copied()
        }
    }

    /// Resolves `aggregationRule`s as the clusterrole-aggregation controller does: an
    /// aggregated role's rules become the union, without repeats, of the rules of every
    /// other ClusterRole its selectors match (themselves aggregated, transitively).
    fn aggregate(&mut self) {
        let aggregated: Vec<RoleId> = (0..self.roles.len())
            .filter(|&i| self.roles[i].aggregation.is_some())
            .collect();
        if aggregated.is_empty() {
            return;
        }
        let mut by_name: Vec<RoleId> = self
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.cluster)
            .map(|(i, _)| i)
            .collect();
        by_name.sort_by(|a, b| self.roles[*a].name.cmp(&self.roles[*b].name));
        // Direct members first; then a fixed point over aggregated members. An empty
        // selector matches every ClusterRole (LabelSelectorAsSelector gives Everything).
        let mut members: HashMap<RoleId, Vec<RoleId>> = HashMap::new();
        for &a in &aggregated {
            let Some(selectors) = &self.roles[a].aggregation else {
                continue;
            };
            let mut found = Vec::new();
            for s in selectors {
                for &c in &by_name {
                    let labels = self.roles[c]
                        .labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()));
                    if c != a && s.matches(labels) && !found.contains(&c) {
                        found.push(c);
                    }
                }
            }
            members.insert(a, found);
        }
        let mut result: HashMap<RoleId, Vec<(RoleId, usize)>> = HashMap::new();
        for &a in &aggregated {
            let mut rules: Vec<(RoleId, usize)> = Vec::new();
            let mut seen_rules = HashSet::new();
            let mut stack = vec![a];
            let mut seen = vec![a];
            while let Some(r) = stack.pop() {
                for &m in members.get(&r).into_iter().flatten() {
                    if seen.contains(&m) {
                        continue;
                    }
                    seen.push(m);
                    if members.contains_key(&m) {
                        stack.push(m);
                    } else {
                        for rule in &self.roles[m].rules {
                            if seen_rules.insert(rule.grant_key()) {
                                rules.push((m, rule.index));
                            }
                        }
                    }
                }
            }
            result.insert(a, rules);
        }
        self.aggregated_members = members.into_values().flatten().collect();
        self.aggregated = result;
    }

    /// Every rule a role holds: its own, or for an aggregated ClusterRole the rules it
    /// aggregates (the controller overwrites an aggregated role's own rules).
    pub fn rules_of(&self, role: RoleId) -> impl Iterator<Item = (RoleId, &PolicyRule)> + '_ {
        let own = match self.aggregated.get(&role) {
            Some(_) => &[][..],
            None => &self.roles[role].rules[..],
        };
        let aggregated = self.aggregated.get(&role).into_iter().flatten();
        own.iter()
            .map(move |r| (role, r))
            .chain(aggregated.map(|&(ri, ix)| (ri, &self.roles[ri].rules[ix])))
    }

    /// Whether a ClusterRole's labels make it part of some aggregated role.
    #[must_use]
    pub fn is_aggregated_into(&self, role: RoleId) -> bool {
        self.aggregated_members.contains(&role)
    }

    /// Bindings that name this role.
    pub fn bindings_of(&self, role: RoleId) -> impl Iterator<Item = usize> + '_ {
        self.bindings_of_role
            .get(&role)
            .into_iter()
            .flatten()
            .copied()
    }

    /// Bindings that apply in `namespace`: every ClusterRoleBinding, then the namespace's
    /// RoleBindings (none for the empty, cluster-wide namespace).
    pub fn bindings_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = usize> + 'a {
        let local = if namespace.is_empty() {
            None
        } else {
            self.namespace_bindings.get(namespace)
        };
        self.cluster_bindings
            .iter()
            .copied()
            .chain(local.into_iter().flatten().copied())
    }
}
