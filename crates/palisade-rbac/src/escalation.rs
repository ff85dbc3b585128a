//! Privilege-escalation paths: chains of permissions that lead a subject to
//! cluster-admin power.
//!
//! Each principal (a user, group or service account the input names) is a node. An edge
//! says "holding these permissions, you can act as that principal": impersonating it,
//! creating pods (or pod controllers) in a namespace, which can run as any of its
//! service accounts, minting a service account token, or exec-ing into a pod that runs
//! as the account. Some permissions reach cluster-admin in one step: holding every verb
//! on every resource, membership of `system:masters`, binding `cluster-admin` with a new
//! ClusterRoleBinding, editing a held ClusterRole with `escalate`, approving a client
//! certificate for `system:masters`, or the kubelet API through `nodes/proxy`. A reverse
//! breadth-first search from cluster-admin gives every node's shortest way there.
//!
//! Grants over a whole namespace (create pods there, mint any of its tokens) lead to a
//! hub node that stands for all its accounts, so the graph grows with grants plus
//! accounts rather than their product: 50,000 bindings take well under a second.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;

use rayon::prelude::*;

use serde::Serialize;

use crate::authorize::{has_or_star, resource_matches, Grant, Request, User, PRIVILEGED_GROUP};
use crate::model::Model;
use crate::record::{display_subject, is_system_subject, PolicyRule, SubjectKind};

/// A user, group or service account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Principal {
    pub kind: SubjectKind,
    pub name: String,
    /// A service account's namespace; empty otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl Principal {
    #[must_use]
    pub fn display(&self) -> String {
        display_subject(self.kind, &self.name, &self.namespace)
    }

    /// The identity of a request made as this principal (a group stands for any member).
    fn identity(&self) -> User {
        match self.kind {
            SubjectKind::User => User::impersonated(&self.name, &[]),
            SubjectKind::ServiceAccount => User::service_account(&self.namespace, &self.name),
            SubjectKind::Group => {
                let mut groups = vec![self.name.clone()];
                if self.name != "system:unauthenticated" && self.name != "system:authenticated" {
                    groups.push("system:authenticated".into());
                }
                User {
                    name: String::new(),
                    groups,
                }
            }
        }
    }

    /// Principals Kubernetes itself runs as (see [`is_system_subject`]).
    #[must_use]
    pub fn is_system(&self) -> bool {
        is_system_subject(self.kind, &self.name, &self.namespace)
    }
}

/// Where a step leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Target {
    ClusterAdmin,
    Principal(Principal),
}

/// How a step is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// Holds every verb on every resource cluster-wide.
    HoldsAll,
    /// Is `system:masters`.
    PrivilegedGroup,
    Impersonate,
    CreatePod,
    CreateToken,
    ExecPod,
    BindClusterAdmin,
    /// Bind a powerful ClusterRole to oneself in a namespace, then act there.
    BindInNamespace,
    EscalateRole,
    ApproveCertificate,
    NodeProxy,
}

/// One step of a chain, with the grant that allows it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub from: Principal,
    pub kind: StepKind,
    pub to: Target,
    /// What the permission is, in words.
    pub how: String,
    #[serde(skip)]
    pub grant: Option<Grant>,
}

/// A chain from a subject to cluster-admin power.
#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub subject: Principal,
    pub steps: Vec<Step>,
}

/// Ways into a running pod: exec and attach (`get` is how a WebSocket exec was
/// authorized until v1.35), and a debug container.
pub const POD_ENTRY: &[(&str, &str)] = &[
    ("create", "exec"),
    ("get", "exec"),
    ("create", "attach"),
    ("get", "attach"),
    ("update", "ephemeralcontainers"),
    ("patch", "ephemeralcontainers"),
];

/// Verbs that set a pod template's service account: creating, or changing a
/// controller's template (not a pod's or a Job's: those are immutable).
pub const TEMPLATE_VERBS: &[&str] = &["create", "update", "patch"];

/// ClusterRoles whose rules include creating pods, worth binding in a namespace.
const POWERFUL_ROLES: &[&str] = &["cluster-admin", "admin", "edit"];

/// Pods and the controllers that create them: (API group, resource).
pub const POD_CONTROLLERS: &[(&str, &str)] = &[
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("", "replicationcontrollers"),
];

/// The rules a principal holds, with the namespace each applies in ("" = every).
struct Holdings<'m> {
    rules: Vec<(&'m str, &'m PolicyRule, Grant)>,
    /// Every `resources` entry of the rules: most principals mention few resources, so
    /// most questions are answered "no" here without reading a rule.
    resources: Vec<&'m str>,
}

impl<'m> Holdings<'m> {
    fn new(rules: Vec<(&'m str, &'m PolicyRule, Grant)>) -> Self {
        let mut resources: Vec<&str> = rules
            .iter()
            .flat_map(|(_, rule, _)| rule.resources.iter().map(String::as_str))
            .collect();
        resources.sort_unstable();
        resources.dedup();
        Holdings { rules, resources }
    }

    fn mentions(&self, req: &Request) -> bool {
        resource_matches(&self.resources, &req.resource, &req.subresource)
    }

    fn allows(&self, req: &Request) -> Option<Grant> {
        if !self.mentions(req) {
            return None;
        }
        self.rules
            .iter()
            .find(|(scope, rule, _)| {
                (scope.is_empty() || *scope == req.namespace) && req.allowed_by(rule)
            })
            .map(|(_, _, g)| *g)
    }

    /// Whether some rule could grant `req` (groups, names and scopes aside): a cheap
    /// filter before asking about every target.
    fn may(&self, req: &Request) -> bool {
        self.rules
            .iter()
            .any(|(_, rule, _)| Self::could_grant(rule, req))
    }

    fn could_grant(rule: &PolicyRule, req: &Request) -> bool {
        has_or_star(&rule.verbs, &req.verb)
            && resource_matches(&rule.resources, &req.resource, &req.subresource)
    }

    /// The namespaces where some rule could grant `req` (its namespace aside): `None`
    /// when a cluster-wide rule could, so that every namespace is a candidate.
    fn scopes(&self, req: &Request) -> Option<Vec<&'m str>> {
        let mut scoped: Vec<&str> = Vec::new();
        for (scope, rule, _) in &self.rules {
            if !Self::could_grant(rule, req) {
                continue;
            }
            if scope.is_empty() {
                return None;
            }
            if !scoped.contains(scope) {
                scoped.push(scope);
            }
        }
        Some(scoped)
    }

    /// Indexes of the namespaces among `candidates` (sorted) where `req` is allowed, in
    /// one pass over the rules: a cluster-wide grant holds in all of them.
    fn namespaces_allowing(&self, req: &Request, candidates: &[String]) -> Vec<(usize, Grant)> {
        if !self.mentions(req) {
            return Vec::new();
        }
        let cluster_wide = self
            .rules
            .iter()
            .find(|(scope, rule, _)| scope.is_empty() && req.allowed_by(rule));
        if let Some((_, _, g)) = cluster_wide {
            return (0..candidates.len()).map(|i| (i, *g)).collect();
        }
        let mut out: Vec<(usize, Grant)> = Vec::new();
        for (scope, rule, g) in &self.rules {
            if scope.is_empty() || !req.allowed_by(rule) {
                continue;
            }
            if let Ok(i) = candidates.binary_search_by(|c| c.as_str().cmp(scope)) {
                if !out.iter().any(|(j, _)| *j == i) {
                    out.push((i, *g));
                }
            }
        }
        out.sort_unstable_by_key(|(i, _)| *i);
        out
    }
}

/// Whether `verb` on `resource` (one of [`POD_CONTROLLERS`]) can set the service
/// account pods run as: a pod's and a Job's template cannot change after creation.
#[must_use]
pub fn sets_service_account(verb: &str, resource: &str) -> bool {
    verb == "create" || !matches!(resource, "pods" | "jobs")
}

/// The requests every principal is asked about, built once rather than per principal.
struct Probes {
    /// Creating a pod or controller, or changing a controller's template, with the
    /// `detail` of the edge it gives.
    templates: Vec<(usize, Request)>,
    rolebindings: Vec<Request>,
    token: Request,
    secrets_create: Request,
    secrets_read: Vec<Request>,
    /// In `POD_ENTRY` order.
    pod_entry: Vec<Request>,
}

fn probes() -> &'static Probes {
    static PROBES: OnceLock<Probes> = OnceLock::new();
    PROBES.get_or_init(|| {
        let mut templates = Vec::new();
        for (c, (group, resource)) in POD_CONTROLLERS.iter().enumerate() {
            for (v, verb) in TEMPLATE_VERBS.iter().enumerate() {
                if !sets_service_account(verb, resource) {
                    continue;
                }
                let req = Request::resource(verb, group, resource, "");
                templates.push((c * TEMPLATE_VERBS.len() + v, req));
            }
        }
        let with_sub = |verb: &str, resource: &str, sub: &str| {
            let mut req = Request::resource(verb, "", resource, "");
            req.subresource = sub.into();
            req
        };
        Probes {
            templates,
            rolebindings: TEMPLATE_VERBS
                .iter()
                .map(|verb| {
                    Request::resource(verb, "rbac.authorization.k8s.io", "rolebindings", "")
                })
                .collect(),
            token: with_sub("create", "serviceaccounts", "token"),
            secrets_create: Request::resource("create", "", "secrets", ""),
            secrets_read: ["get", "list"]
                .iter()
                .map(|verb| Request::resource(verb, "", "secrets", ""))
                .collect(),
            pod_entry: POD_ENTRY
                .iter()
                .map(|(verb, sub)| with_sub(verb, "pods", sub))
                .collect(),
        }
    })
}

/// A node standing for "any one of several principals": the accounts a pod created in a
/// namespace may run as, the users one may impersonate. An edge into a hub and one out of
/// it make a single step, so a grant over a namespace of 40 accounts costs each holder
/// one edge, not 40.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hub {
    ImpersonateUsers,
    ImpersonateGroups,
    /// Pods (or controllers) created in a namespace can run as any of its accounts.
    PodsIn(usize),
    /// A token minted for any account of a namespace.
    TokensIn(usize),
    /// Exec into a workload's pods, which run as its account.
    ExecIn(usize),
    ImpersonateAccountsIn(usize),
}

const NAMESPACE_HUBS: usize = 4;

/// An edge out of a node. Its words are written only for the edges a chain takes.
#[derive(Debug, Clone, Copy)]
struct Edge {
    /// The principal or hub it leads to; `None` is cluster-admin.
    to: Option<usize>,
    kind: StepKind,
    /// Into a `PodsIn` hub: `controller * TEMPLATE_VERBS.len() + verb`, or for
    /// `BindInNamespace` the index in `POWERFUL_ROLES`. Into an `ExecIn` hub: the index in
    /// `POD_ENTRY`; out of it, the workload's index. Into a `TokensIn` hub: 1 when through
    /// a service-account-token Secret. `NodeProxy`: 0 for get, 1 for create.
    detail: usize,
    grant: Option<Grant>,
}

impl Edge {
    fn new(to: Option<usize>, kind: StepKind, grant: Grant) -> Self {
        Edge {
            to,
            kind,
            detail: 0,
            grant: Some(grant),
        }
    }

    /// An edge out of a hub, to one of its members.
    fn member(to: usize, detail: usize) -> Self {
        Edge {
            to: Some(to),
            kind: StepKind::Impersonate, // unused: the step is the edge into the hub
            detail,
            grant: None,
        }
    }
}

/// A binding subject as the bindings spell it: kind, name, namespace.
type SubjectKey<'a> = (SubjectKind, &'a str, &'a str);

/// Nodes `0..principals.len()` are principals; the hubs follow: the two cluster-wide
/// ones, then `NAMESPACE_HUBS` per namespace.
struct Graph<'m> {
    model: &'m Model,
    principals: Vec<Principal>,
    /// Bindings naming each principal (directly).
    bound: HashMap<SubjectKey<'m>, Vec<usize>>,
    /// Namespaces that hold service accounts, sorted.
    namespaces: Vec<String>,
    /// The service accounts of each namespace.
    accounts: Vec<Vec<usize>>,
    edges: Vec<Vec<Edge>>,
    /// Steps from each node to cluster-admin, and the edge that starts the shortest way.
    dist: Vec<Option<usize>>,
    next: Vec<Option<usize>>,
}

/// Every chain that leads a principal of the model to cluster-admin power: for each
/// principal and each kind of first step, the shortest chain, shortest first. Principals
/// that already hold cluster-admin power directly get a one-step chain.
#[must_use]
pub fn escalations(model: &Model) -> Vec<Chain> {
    let mut graph = Graph::new(model);
    graph.connect();
    graph.search();
    graph.chains()
}

impl<'m> Graph<'m> {
    fn new(model: &'m Model) -> Self {
        let mut bound: HashMap<SubjectKey<'m>, Vec<usize>> = HashMap::new();
        for (b, binding) in model.bindings.iter().enumerate() {
            for s in &binding.subjects {
                if s.kind == SubjectKind::ServiceAccount && s.namespace.is_empty() {
                    continue;
                }
                let list = bound
                    .entry((s.kind, s.name.as_str(), s.namespace.as_str()))
                    .or_default();
                if list.last() != Some(&b) {
                    list.push(b);
                }
            }
        }
        let mut principals: Vec<Principal> = bound
            .keys()
            .map(|&(kind, name, namespace)| Principal {
                kind,
                name: name.to_owned(),
                namespace: namespace.to_owned(),
            })
            .collect();
        let account = |namespace: &str, name: &str| Principal {
            kind: SubjectKind::ServiceAccount,
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        };
        for w in &model.workloads {
            principals.push(account(&w.namespace, &w.service_account));
        }
        for sa in &model.service_accounts {
            principals.push(account(&sa.namespace, &sa.name));
        }
        // Every namespace has a `default` account, which pods naming none run as, and
        // which groups such as `system:serviceaccounts:<ns>` may empower.
        let mut known: Vec<&str> = principals
            .iter()
            .filter(|p| p.kind == SubjectKind::ServiceAccount)
            .map(|p| p.namespace.as_str())
            .chain(model.bindings.iter().map(|b| b.namespace.as_str()))
            .filter(|ns| !ns.is_empty())
            .collect();
        known.sort_unstable();
        known.dedup();
        let defaults: Vec<Principal> = known.iter().map(|ns| account(ns, "default")).collect();
        principals.extend(defaults);
        principals.sort();
        principals.dedup();
        let mut namespaces: Vec<String> = principals
            .iter()
            .filter(|p| p.kind == SubjectKind::ServiceAccount)
            .map(|p| p.namespace.clone())
            .collect();
        namespaces.sort();
        namespaces.dedup();
        let mut accounts = vec![Vec::new(); namespaces.len()];
        for (i, p) in principals.iter().enumerate() {
            if p.kind == SubjectKind::ServiceAccount {
                if let Ok(ns) = namespaces.binary_search(&p.namespace) {
                    accounts[ns].push(i);
                }
            }
        }
        Graph {
            model,
            principals,
            bound,
            namespaces,
            accounts,
            edges: Vec::new(),
            dist: Vec::new(),
            next: Vec::new(),
        }
    }

    fn node_of(&self, hub: Hub) -> usize {
        let first = self.principals.len();
        first
            + match hub {
                Hub::ImpersonateUsers => 0,
                Hub::ImpersonateGroups => 1,
                Hub::PodsIn(ns) => 2 + ns * NAMESPACE_HUBS,
                Hub::TokensIn(ns) => 2 + ns * NAMESPACE_HUBS + 1,
                Hub::ExecIn(ns) => 2 + ns * NAMESPACE_HUBS + 2,
                Hub::ImpersonateAccountsIn(ns) => 2 + ns * NAMESPACE_HUBS + 3,
            }
    }

    /// The namespace of `node` if it is the `kind` hub of one.
    fn hub_namespace(&self, node: usize, kind: fn(usize) -> Hub) -> Option<usize> {
        let offset = node.checked_sub(self.node_of(kind(0)))?;
        (offset % NAMESPACE_HUBS == 0 && offset / NAMESPACE_HUBS < self.namespaces.len())
            .then_some(offset / NAMESPACE_HUBS)
    }

    fn is_hub(&self, node: usize) -> bool {
        node >= self.principals.len()
    }

    fn namespace_index(&self, ns: &str) -> Option<usize> {
        self.namespaces
            .binary_search_by(|n| n.as_str().cmp(ns))
            .ok()
    }

    /// Every node's edges: principals' from their permissions, hubs' to their members.
    fn connect(&mut self) {
        let mut edges: Vec<Vec<Edge>> = self
            .principals
            .par_iter()
            .map(|p| self.edges_of(p))
            .collect();
        edges.resize(self.node_of(Hub::PodsIn(self.namespaces.len())), Vec::new());
        for (i, p) in self.principals.iter().enumerate() {
            let hubs = match p.kind {
                SubjectKind::User => vec![Hub::ImpersonateUsers],
                SubjectKind::Group => vec![Hub::ImpersonateGroups],
                SubjectKind::ServiceAccount => {
                    let Some(ns) = self.namespace_index(&p.namespace) else {
                        continue;
                    };
                    vec![
                        Hub::PodsIn(ns),
                        Hub::TokensIn(ns),
                        Hub::ImpersonateAccountsIn(ns),
                    ]
                }
            };
            for hub in hubs {
                edges[self.node_of(hub)].push(Edge::member(i, 0));
            }
        }
        for (w, workload) in self.model.workloads.iter().enumerate() {
            let account = Principal {
                kind: SubjectKind::ServiceAccount,
                name: workload.service_account.clone(),
                namespace: workload.namespace.clone(),
            };
            let (Ok(t), Some(ns)) = (
                self.principals.binary_search(&account),
                self.namespace_index(&workload.namespace),
            ) else {
                continue;
            };
            let hub = &mut edges[self.node_of(Hub::ExecIn(ns))];
            if !hub.iter().any(|e| e.to == Some(t)) {
                hub.push(Edge::member(t, w));
            }
        }
        self.edges = edges;
    }

    fn holdings(&self, p: &Principal) -> Holdings<'m> {
        let user = p.identity();
        let mut keys: Vec<SubjectKey<'_>> = vec![(p.kind, &p.name, &p.namespace)];
        keys.extend(
            user.groups
                .iter()
                .map(|g| (SubjectKind::Group, g.as_str(), "")),
        );
        let mut bindings: Vec<usize> = keys
            .iter()
            .flat_map(|key| self.bound.get(key).into_iter().flatten().copied())
            .collect();
        bindings.sort_unstable();
        bindings.dedup();
        let model = self.model;
        let mut rules = Vec::new();
        for b in bindings {
            let Some(role) = model.binding_role[b] else {
                continue;
            };
            let scope = model.bindings[b].namespace.as_str();
            for (rule_role, rule) in model.rules_of(role) {
                let grant = Grant {
                    binding: b,
                    role,
                    rule_role,
                    rule: rule.index,
                };
                rules.push((scope, rule, grant));
            }
        }
        Holdings::new(rules)
    }

    /// The edges out of a principal: one per permission that reaches cluster-admin or
    /// another principal (or a hub of them).
    fn edges_of(&self, p: &Principal) -> Vec<Edge> {
        if p.kind == SubjectKind::Group && p.name == PRIVILEGED_GROUP {
            return vec![Edge {
                to: None,
                kind: StepKind::PrivilegedGroup,
                detail: 0,
                grant: None,
            }];
        }
        let h = self.holdings(p);
        let mut out = Vec::new();
        for (kind, (grant, detail)) in one_step_grants(&h, &self.cluster_roles_held(&h)) {
            out.push(Edge {
                detail,
                ..Edge::new(None, kind, grant)
            });
        }
        self.impersonation_edges(&h, &mut out);
        // Pods: run as any service account of the namespace.
        let mut pods_in = vec![false; self.namespaces.len()];
        let probes = probes();
        for (detail, req) in &probes.templates {
            for (ns, g) in h.namespaces_allowing(req, &self.namespaces) {
                if !pods_in[ns] {
                    pods_in[ns] = true;
                    out.push(Edge {
                        detail: *detail,
                        ..Edge::new(Some(self.node_of(Hub::PodsIn(ns))), StepKind::CreatePod, g)
                    });
                }
            }
        }
        // A RoleBinding of cluster-admin (or admin, edit) to oneself: pods there too.
        let rbac = "rbac.authorization.k8s.io";
        for req in &probes.rolebindings {
            for (ns, _) in h.namespaces_allowing(req, &self.namespaces) {
                if pods_in[ns] {
                    continue;
                }
                for (r, role) in POWERFUL_ROLES.iter().enumerate() {
                    let mut bind =
                        Request::resource("bind", rbac, "clusterroles", &self.namespaces[ns]);
                    bind.name = (*role).into();
                    if let Some(g) = h.allows(&bind) {
                        pods_in[ns] = true;
                        out.push(Edge {
                            detail: r,
                            ..Edge::new(
                                Some(self.node_of(Hub::PodsIn(ns))),
                                StepKind::BindInNamespace,
                                g,
                            )
                        });
                        break;
                    }
                }
            }
        }
        self.account_edges(
            &h,
            &probes.token,
            Hub::TokensIn,
            StepKind::CreateToken,
            &mut out,
        );
        // A service-account-token Secret one creates is filled in by the token controller.
        let mut tokens_in = vec![false; self.namespaces.len()];
        for edge in &out {
            if let Some(ns) = edge.to.and_then(|to| self.hub_namespace(to, Hub::TokensIn)) {
                tokens_in[ns] = true;
            }
        }
        let mut read = vec![false; self.namespaces.len()];
        for req in &probes.secrets_read {
            for (ns, _) in h.namespaces_allowing(req, &self.namespaces) {
                read[ns] = true;
            }
        }
        for (ns, g) in h.namespaces_allowing(&probes.secrets_create, &self.namespaces) {
            let hub = self.node_of(Hub::TokensIn(ns));
            if read[ns] && !tokens_in[ns] {
                out.push(Edge {
                    detail: 1,
                    ..Edge::new(Some(hub), StepKind::CreateToken, g)
                });
            }
        }
        let mut exec_in = vec![false; self.namespaces.len()];
        for (e, entry) in probes.pod_entry.iter().enumerate() {
            for (ns, g) in h.namespaces_allowing(entry, &self.namespaces) {
                let hub = self.node_of(Hub::ExecIn(ns));
                if !exec_in[ns] {
                    exec_in[ns] = true;
                    out.push(Edge {
                        detail: e,
                        ..Edge::new(Some(hub), StepKind::ExecPod, g)
                    });
                }
            }
        }
        out
    }

    /// ClusterRoles bound to the holder cluster-wide: editing one with `escalate` grants
    /// the holder anything.
    fn cluster_roles_held(&self, h: &Holdings<'_>) -> Vec<&'m str> {
        let mut names: Vec<&str> = h
            .rules
            .iter()
            .filter(|(scope, ..)| scope.is_empty())
            .map(|(_, _, g)| self.model.roles[g.role].name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    fn impersonation_edges(&self, h: &Holdings<'_>, out: &mut Vec<Edge>) {
        for (resource, hub, kind) in [
            ("users", Hub::ImpersonateUsers, SubjectKind::User),
            ("groups", Hub::ImpersonateGroups, SubjectKind::Group),
        ] {
            let mut req = Request::resource("impersonate", "", resource, "");
            // The API server refuses groups without a user to impersonate as well.
            if !h.may(&req) || (kind == SubjectKind::Group && !can_impersonate_a_user(h)) {
                continue;
            }
            // A grant without resourceNames covers every name: one edge to the hub.
            if let Some(g) = h.allows(&req) {
                out.push(Edge::new(Some(self.node_of(hub)), StepKind::Impersonate, g));
                continue;
            }
            for (t, target) in self.principals.iter().enumerate() {
                if target.kind != kind {
                    continue;
                }
                req.name.clone_from(&target.name);
                if let Some(g) = h.allows(&req) {
                    out.push(Edge::new(Some(t), StepKind::Impersonate, g));
                }
            }
        }
        let req = Request::resource("impersonate", "", "serviceaccounts", "");
        self.account_edges(
            h,
            &req,
            Hub::ImpersonateAccountsIn,
            StepKind::Impersonate,
            out,
        );
    }

    /// Edges for a permission on service accounts by name (a token, impersonation): to a
    /// namespace's hub where the grant names no account, else to each named account.
    fn account_edges(
        &self,
        h: &Holdings<'_>,
        req: &Request,
        hub: fn(usize) -> Hub,
        kind: StepKind,
        out: &mut Vec<Edge>,
    ) {
        if !h.may(req) {
            return;
        }
        let mut covered = Vec::new();
        for (ns, g) in h.namespaces_allowing(req, &self.namespaces) {
            covered.push(ns);
            out.push(Edge::new(Some(self.node_of(hub(ns))), kind, g));
        }
        let namespaces: Vec<usize> = match h.scopes(req) {
            None => (0..self.namespaces.len()).collect(),
            Some(scopes) => scopes
                .iter()
                .filter_map(|ns| self.namespace_index(ns))
                .collect(),
        };
        let targets = namespaces
            .into_iter()
            .filter(|ns| !covered.contains(ns))
            .flat_map(|ns| self.accounts[ns].iter().copied());
        for t in targets {
            let target = &self.principals[t];
            let mut named = req.clone();
            named.namespace.clone_from(&target.namespace);
            named.name.clone_from(&target.name);
            if let Some(g) = h.allows(&named) {
                out.push(Edge::new(Some(t), kind, g));
            }
        }
    }

    /// Shortest distances to cluster-admin, by a breadth-first search backwards from it.
    /// An edge out of a principal is a step; one out of a hub only picks the member, so
    /// it weighs nothing (a 0-1 search).
    fn search(&mut self) {
        let n = self.edges.len();
        let mut reverse: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        let mut dist: Vec<Option<usize>> = vec![None; n];
        let mut next: Vec<Option<usize>> = vec![None; n];
        let mut queue = VecDeque::new();
        for (i, edges) in self.edges.iter().enumerate() {
            for (e, edge) in edges.iter().enumerate() {
                match edge.to {
                    None if dist[i].is_none() => {
                        dist[i] = Some(1);
                        next[i] = Some(e);
                        queue.push_back(i);
                    }
                    None => {}
                    Some(t) => reverse[t].push((i, e)),
                }
            }
        }
        while let Some(t) = queue.pop_front() {
            let d = dist[t].unwrap_or(0);
            for &(from, e) in &reverse[t] {
                let weight = usize::from(!self.is_hub(from));
                if dist[from].is_none_or(|old| d + weight < old) {
                    dist[from] = Some(d + weight);
                    next[from] = Some(e);
                    if weight == 0 {
                        queue.push_front(from);
                    } else {
                        queue.push_back(from);
                    }
                }
            }
        }
        self.dist = dist;
        self.next = next;
    }

    /// The step out of principal `from` along `edge`; through a hub, `member` is the edge
    /// out of it.
    fn step(&self, from: usize, edge: &Edge, member: Option<&Edge>) -> (Step, Option<usize>) {
        let target = member.map_or(edge.to, |m| m.to);
        let to = match target {
            None => Target::ClusterAdmin,
            Some(t) => Target::Principal(self.principals[t].clone()),
        };
        let how = match (&to, edge.kind) {
            (Target::ClusterAdmin, kind) => one_step_words(kind, edge.detail).to_owned(),
            (Target::Principal(t), StepKind::CreatePod) => format!(
                "can {} {} in namespace {}, to run a pod as {}",
                TEMPLATE_VERBS[edge.detail % TEMPLATE_VERBS.len()],
                POD_CONTROLLERS[edge.detail / TEMPLATE_VERBS.len()].1,
                t.namespace,
                t.display()
            ),
            (Target::Principal(t), StepKind::BindInNamespace) => format!(
                "can bind ClusterRole {} to itself in namespace {} with a RoleBinding, then run a pod as {}",
                POWERFUL_ROLES[edge.detail],
                t.namespace,
                t.display()
            ),
            (Target::Principal(t), StepKind::ExecPod) => {
                let w = &self.model.workloads[member.map_or(0, |m| m.detail)];
                let (verb, sub) = POD_ENTRY[edge.detail];
                format!(
                    "can {verb} pods/{sub} in namespace {}: pods of {} {}/{} run as {}",
                    w.namespace,
                    w.kind,
                    w.namespace,
                    w.name,
                    t.display()
                )
            }
            (Target::Principal(t), StepKind::CreateToken) if edge.detail == 1 => format!(
                "can create and read Secrets in namespace {}: a service-account-token Secret for {} is given its token",
                t.namespace,
                t.display()
            ),
            (Target::Principal(t), StepKind::CreateToken) => {
                format!("can create a token for {}", t.display())
            }
            (Target::Principal(t), _) => format!("can impersonate {}", t.display()),
        };
        let step = Step {
            from: self.principals[from].clone(),
            kind: edge.kind,
            to,
            how,
            grant: edge.grant,
        };
        (step, target)
    }

    /// The rest of the shortest way from principal `at`, or `None` if it passes `avoid`.
    fn follow(&self, mut at: usize, avoid: usize, steps: &mut Vec<Step>) -> Option<()> {
        loop {
            if at == avoid || steps.len() > self.principals.len() {
                return None;
            }
            let edge = &self.edges[at][self.next[at]?];
            let member = match edge.to {
                Some(h) if self.is_hub(h) => Some(&self.edges[h][self.next[h]?]),
                _ => None,
            };
            let (step, target) = self.step(at, edge, member);
            steps.push(step);
            match target {
                None => return Some(()),
                Some(t) => at = t,
            }
        }
    }

    /// Steps from `node` to cluster-admin for principal `i`: a hub's own distance may be
    /// through `i` itself, so it is taken over its other members.
    fn distance_from(&self, node: usize, i: usize) -> Option<usize> {
        if !self.is_hub(node) {
            return self.dist[node];
        }
        self.edges[node]
            .iter()
            .filter_map(|m| m.to.filter(|&t| t != i))
            .filter_map(|t| self.dist[t])
            .min()
    }

    /// The shortest chain of principal `i` that starts with `edge`, if one does without
    /// coming back to `i`.
    fn chain_from(&self, i: usize, edge: &Edge) -> Option<Vec<Step>> {
        let members: Vec<Option<&Edge>> = match edge.to {
            Some(h) if self.is_hub(h) => {
                let mut m: Vec<&Edge> = self.edges[h]
                    .iter()
                    .filter(|m| m.to.is_some_and(|t| t != i && self.dist[t].is_some()))
                    .collect();
                m.sort_by_key(|m| m.to.and_then(|t| self.dist[t]));
                // The best few are enough: a member's way back through `i` is rare.
                m.into_iter().take(8).map(Some).collect()
            }
            _ => vec![None],
        };
        members.into_iter().find_map(|member| {
            let (first, target) = self.step(i, edge, member);
            let mut steps = vec![first];
            if let Some(t) = target {
                self.follow(t, i, &mut steps)?;
            }
            Some(steps)
        })
    }

    fn chains(&self) -> Vec<Chain> {
        let mut out = Vec::new();
        for i in 0..self.principals.len() {
            let Some(dist) = self.dist[i] else {
                continue;
            };
            let edges = &self.edges[i];
            // Holding everything makes every other way moot; one step makes longer ones moot.
            let holds = edges.iter().any(|e| {
                e.to.is_none() && matches!(e.kind, StepKind::HoldsAll | StepKind::PrivilegedGroup)
            });
            let mut candidates: Vec<(usize, &Edge)> = edges
                .iter()
                .filter_map(|e| match e.to {
                    None if holds => {
                        matches!(e.kind, StepKind::HoldsAll | StepKind::PrivilegedGroup)
                            .then_some((1, e))
                    }
                    None => Some((1, e)),
                    Some(_) if dist == 1 => None,
                    Some(t) => self.distance_from(t, i).map(|d| (d + 1, e)),
                })
                .collect();
            candidates.sort_by_key(|(len, _)| *len);
            // One chain per kind of first step (the shortest), so a subject that can
            // create pods in many namespaces gets one line, not one per namespace.
            let mut mine: Vec<Chain> = Vec::new();
            let mut tries: Vec<(StepKind, usize)> = Vec::new();
            for (_, edge) in candidates {
                if mine.iter().any(|c| c.steps[0].kind == edge.kind) {
                    continue;
                }
                let tried = match tries.iter_mut().find(|(k, _)| *k == edge.kind) {
                    Some((_, n)) => n,
                    None => {
                        tries.push((edge.kind, 0));
                        &mut tries.last_mut().expect("just pushed").1
                    }
                };
                if *tried >= 16 {
                    continue;
                }
                *tried += 1;
                if let Some(steps) = self.chain_from(i, edge) {
                    mine.push(Chain {
                        subject: self.principals[i].clone(),
                        steps,
                    });
                }
            }
            mine.sort_by_key(|c| c.steps.len());
            out.extend(mine);
        }
        out
    }
}

/// The resources (and subresources) the one-step permissions below ask about: a holder
/// whose rules name none of them has none of those permissions.
const ONE_STEP_RESOURCES: &[(&str, &str)] = &[
    ("groups", ""),
    ("clusterrolebindings", ""),
    ("clusterroles", ""),
    ("certificatesigningrequests", ""),
    ("nodes", "proxy"),
];

/// Whether some rule lets the holder impersonate a user or service account: what
/// impersonating a group needs besides.
fn can_impersonate_a_user(h: &Holdings<'_>) -> bool {
    ["users", "serviceaccounts"]
        .iter()
        .any(|resource| h.may(&Request::resource("impersonate", "", resource, "")))
}

/// Permissions that are cluster-admin power in one step, with the grant and the edge's
/// detail (for the kubelet proxy, 1 when it is `create`). `held` names the ClusterRoles
/// bound to the holder cluster-wide.
fn one_step_grants(h: &Holdings<'_>, held: &[&str]) -> Vec<(StepKind, (Grant, usize))> {
    let mut out = Vec::new();
    if !ONE_STEP_RESOURCES
        .iter()
        .any(|(resource, sub)| resource_matches(&h.resources, resource, sub))
    {
        return out;
    }
    if let Some(g) = h.allows(&Request::resource("*", "*", "*", "")) {
        out.push((StepKind::HoldsAll, (g, 0)));
    }
    let mut imp = Request::resource("impersonate", "", "groups", "");
    imp.name = PRIVILEGED_GROUP.into();
    if let Some(g) = h.allows(&imp).filter(|_| can_impersonate_a_user(h)) {
        out.push((StepKind::Impersonate, (g, 0)));
    }
    let any = |verbs: &[&str], group: &str, resource: &str, sub: &str, name: &str| {
        if !resource_matches(&h.resources, resource, sub) {
            return None;
        }
        verbs.iter().find_map(|verb| {
            let mut req = Request::resource(verb, group, resource, "");
            req.subresource = sub.into();
            req.name = name.into();
            h.allows(&req)
        })
    };
    let rbac = "rbac.authorization.k8s.io";
    if let (Some(_), Some(g)) = (
        any(TEMPLATE_VERBS, rbac, "clusterrolebindings", "", ""),
        any(&["bind"], rbac, "clusterroles", "", "cluster-admin"),
    ) {
        out.push((StepKind::BindClusterAdmin, (g, 0)));
    }
    // Escalate on any ClusterRole, or on one bound to the holder, with a way to edit it.
    let escalation = std::iter::once("")
        .chain(held.iter().copied())
        .find_map(|name| {
            any(&["update", "patch"], rbac, "clusterroles", "", name)?;
            any(&["escalate"], rbac, "clusterroles", "", name)
        });
    if let Some(g) = escalation {
        out.push((StepKind::EscalateRole, (g, 0)));
    }
    let certificates = "certificates.k8s.io";
    // The signer check also accepts the signer's domain wildcard.
    let signer = ["kubernetes.io/kube-apiserver-client", "kubernetes.io/*"]
        .iter()
        .find_map(|name| any(&["approve"], certificates, "signers", "", name));
    if let (Some(_), Some(_), Some(g)) = (
        any(
            &["create"],
            certificates,
            "certificatesigningrequests",
            "",
            "",
        ),
        any(
            &["update", "patch"],
            certificates,
            "certificatesigningrequests",
            "approval",
            "",
        ),
        signer,
    ) {
        out.push((StepKind::ApproveCertificate, (g, 0)));
    }
    for (detail, verb) in ["get", "create"].iter().enumerate() {
        if let Some(g) = any(&[verb], "", "nodes", "proxy", "") {
            out.push((StepKind::NodeProxy, (g, detail)));
            break;
        }
    }
    out
}

/// What a one-step permission is, in words.
fn one_step_words(kind: StepKind, detail: usize) -> &'static str {
    match kind {
        StepKind::PrivilegedGroup => "is system:masters, which the API server allows everything",
        StepKind::HoldsAll => "holds every verb on every resource cluster-wide",
        StepKind::Impersonate => "can impersonate group system:masters",
        StepKind::BindClusterAdmin => {
            "can create ClusterRoleBindings and bind ClusterRole cluster-admin"
        }
        StepKind::EscalateRole => {
            "can edit a ClusterRole it holds with the escalate verb, so can grant itself anything"
        }
        StepKind::ApproveCertificate => {
            "can create and approve a kube-apiserver-client certificate for system:masters"
        }
        StepKind::NodeProxy if detail == 1 => {
            "can create nodes/proxy: the kubelet API runs commands in any pod"
        }
        StepKind::NodeProxy => "can get nodes/proxy: the kubelet API runs commands in any pod",
        StepKind::CreatePod
        | StepKind::CreateToken
        | StepKind::ExecPod
        | StepKind::BindInNamespace => "reaches cluster-admin",
    }
}
