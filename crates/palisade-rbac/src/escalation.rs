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

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use crate::authorize::{service_account_of, Grant, Request, User, PRIVILEGED_GROUP};
use crate::model::Model;
use crate::record::{PolicyRule, SubjectKind};

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
        match self.kind {
            SubjectKind::ServiceAccount => {
                format!("ServiceAccount {}/{}", self.namespace, self.name)
            }
            k => format!("{} {}", k.as_str(), self.name),
        }
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

    /// Principals Kubernetes itself runs as, or that the cluster defines.
    #[must_use]
    pub fn is_system(&self) -> bool {
        match self.kind {
            SubjectKind::ServiceAccount => self.namespace == "kube-system",
            _ => {
                self.name.starts_with("system:")
                    && !matches!(
                        self.name.as_str(),
                        "system:anonymous" | "system:unauthenticated" | "system:authenticated"
                    )
            }
        }
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

const POD_CONTROLLERS: &[(&str, &str)] = &[
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
}

impl Holdings<'_> {
    fn allows(&self, req: &Request) -> Option<Grant> {
        self.rules
            .iter()
            .find(|(scope, rule, _)| {
                (scope.is_empty() || *scope == req.namespace) && req.allowed_by(rule)
            })
            .map(|(_, _, g)| *g)
    }

    /// Namespaces among `candidates` where `req` (namespace ignored) is allowed.
    fn namespaces_allowing<'c>(
        &self,
        req: &Request,
        candidates: &'c [String],
    ) -> Vec<(&'c str, Grant)> {
        candidates
            .iter()
            .filter_map(|ns| {
                let mut r = req.clone();
                r.namespace.clone_from(ns);
                self.allows(&r).map(|g| (ns.as_str(), g))
            })
            .collect()
    }
}

struct Graph<'m> {
    model: &'m Model,
    principals: Vec<Principal>,
    index: HashMap<Principal, usize>,
    /// Bindings naming each principal (directly).
    bound: HashMap<Principal, Vec<usize>>,
    /// Edges out of each node; `None` target = cluster-admin.
    edges: Vec<Vec<Edge>>,
}

impl<'m> Graph<'m> {
    fn holdings(&self, p: &Principal) -> Holdings<'m> {
        let user = p.identity();
        let mut keys: Vec<Principal> = vec![p.clone()];
        keys.extend(user.groups.iter().map(|g| Principal {
            kind: SubjectKind::Group,
            name: g.clone(),
            namespace: String::new(),
        }));
        let mut rules = Vec::new();
        let mut seen = Vec::new();
        for key in &keys {
            for &b in self.bound.get(key).into_iter().flatten() {
                if seen.contains(&b) {
                    continue;
                }
                seen.push(b);
                let Some(role) = self.model.binding_role[b] else {
                    continue;
                };
                let scope = self.model.bindings[b].namespace.as_str();
                for (rule_role, rule) in self.model.rules_of(role) {
                    let grant = Grant {
                        binding: b,
                        role,
                        rule_role,
                        rule: rule.index,
                    };
                    rules.push((scope, rule, grant));
                }
            }
        }
        Holdings { rules }
    }
}

/// Every chain that leads a principal of the model to cluster-admin power: for each
/// principal and each kind of first step, the shortest chain, shortest first. Principals
/// that already hold cluster-admin power directly get a one-step chain.
#[must_use]
pub fn escalations(model: &Model) -> Vec<Chain> {
    let mut principals: Vec<Principal> = Vec::new();
    let mut bound: HashMap<Principal, Vec<usize>> = HashMap::new();
    for (b, binding) in model.bindings.iter().enumerate() {
        for s in &binding.subjects {
            if s.kind == SubjectKind::ServiceAccount && s.namespace.is_empty() {
                continue;
            }
            let p = Principal {
                kind: s.kind,
                name: s.name.clone(),
                namespace: s.namespace.clone(),
            };
            bound.entry(p.clone()).or_default().push(b);
            principals.push(p);
        }
    }
    for w in &model.workloads {
        principals.push(Principal {
            kind: SubjectKind::ServiceAccount,
            name: w.service_account.clone(),
            namespace: w.namespace.clone(),
        });
    }
    principals.sort();
    principals.dedup();
    let index: HashMap<Principal, usize> = principals
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i))
        .collect();
    let mut graph = Graph {
        model,
        principals,
        index,
        bound,
        edges: Vec::new(),
    };
    let mut namespaces: Vec<String> = graph
        .principals
        .iter()
        .filter(|p| p.kind == SubjectKind::ServiceAccount)
        .map(|p| p.namespace.clone())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    let accounts: HashMap<&str, Vec<usize>> = namespaces
        .iter()
        .map(|ns| {
            let v = graph
                .principals
                .iter()
                .enumerate()
                .filter(|(_, p)| p.kind == SubjectKind::ServiceAccount && p.namespace == *ns)
                .map(|(i, _)| i)
                .collect();
            (ns.as_str(), v)
        })
        .collect();
    let edges: Vec<_> = graph
        .principals
        .iter()
        .map(|p| edges_of(&graph, p, &namespaces, &accounts))
        .collect();
    graph.edges = edges;
    chains(&graph)
}

type Edge = (Option<usize>, StepKind, String, Option<Grant>);

fn edges_of(
    graph: &Graph<'_>,
    p: &Principal,
    namespaces: &[String],
    accounts: &HashMap<&str, Vec<usize>>,
) -> Vec<Edge> {
    let mut out: Vec<Edge> = Vec::new();
    if p.kind == SubjectKind::Group && p.name == PRIVILEGED_GROUP {
        out.push((
            None,
            StepKind::PrivilegedGroup,
            "is system:masters, which the API server allows everything".into(),
            None,
        ));
        return out;
    }
    let h = graph.holdings(p);
    let all = Request::resource("*", "*", "*", "");
    if let Some(g) = h.allows(&all) {
        out.push((
            None,
            StepKind::HoldsAll,
            "holds every verb on every resource cluster-wide".into(),
            Some(g),
        ));
    }
    // Impersonation: of system:masters is cluster-admin; of a known principal is that principal.
    let mut imp = Request::resource("impersonate", "", "groups", "");
    imp.name = PRIVILEGED_GROUP.into();
    if let Some(g) = h.allows(&imp) {
        out.push((
            None,
            StepKind::Impersonate,
            "can impersonate group system:masters".into(),
            Some(g),
        ));
    }
    for (i, target) in graph.principals.iter().enumerate() {
        if target == p {
            continue;
        }
        let (resource, namespace) = match target.kind {
            SubjectKind::User => ("users", ""),
            SubjectKind::Group => ("groups", ""),
            SubjectKind::ServiceAccount => ("serviceaccounts", target.namespace.as_str()),
        };
        let mut req = Request::resource("impersonate", "", resource, namespace);
        req.name.clone_from(&target.name);
        if let Some(g) = h.allows(&req) {
            out.push((
                Some(i),
                StepKind::Impersonate,
                format!("can impersonate {}", target.display()),
                Some(g),
            ));
        }
    }
    let mut crb = Request::resource(
        "create",
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "",
    );
    let mut bind = Request::resource("bind", "rbac.authorization.k8s.io", "clusterroles", "");
    bind.name = "cluster-admin".into();
    if let (Some(_), Some(g)) = (h.allows(&crb), h.allows(&bind)) {
        out.push((
            None,
            StepKind::BindClusterAdmin,
            "can create ClusterRoleBindings and bind ClusterRole cluster-admin".into(),
            Some(g),
        ));
    }
    crb.resource = "clusterroles".into();
    crb.verb = "update".into();
    let escalate = Request::resource("escalate", "rbac.authorization.k8s.io", "clusterroles", "");
    if let (Some(_), Some(g)) = (h.allows(&crb), h.allows(&escalate)) {
        out.push((
            None,
            StepKind::EscalateRole,
            "can update ClusterRoles with the escalate verb, so can grant itself anything".into(),
            Some(g),
        ));
    }
    let csr = Request::resource(
        "create",
        "certificates.k8s.io",
        "certificatesigningrequests",
        "",
    );
    let mut approval = Request::resource(
        "update",
        "certificates.k8s.io",
        "certificatesigningrequests",
        "",
    );
    approval.subresource = "approval".into();
    let mut signer = Request::resource("approve", "certificates.k8s.io", "signers", "");
    signer.name = "kubernetes.io/kube-apiserver-client".into();
    if let (Some(_), Some(_), Some(g)) = (h.allows(&csr), h.allows(&approval), h.allows(&signer)) {
        out.push((
            None,
            StepKind::ApproveCertificate,
            "can create and approve a kube-apiserver-client certificate for system:masters".into(),
            Some(g),
        ));
    }
    for verb in ["get", "create"] {
        let mut proxy = Request::resource(verb, "", "nodes", "");
        proxy.subresource = "proxy".into();
        if let Some(g) = h.allows(&proxy) {
            out.push((
                None,
                StepKind::NodeProxy,
                format!("can {verb} nodes/proxy: the kubelet API runs commands in any pod"),
                Some(g),
            ));
            break;
        }
    }
    // Pods: run as any service account of the namespace.
    let mut pod_namespaces: Vec<(&str, StepKind, String, Grant)> = Vec::new();
    for (group, resource) in POD_CONTROLLERS {
        let req = Request::resource("create", group, resource, "");
        for (ns, g) in h.namespaces_allowing(&req, namespaces) {
            if !pod_namespaces.iter().any(|(n, ..)| *n == ns) {
                pod_namespaces.push((
                    ns,
                    StepKind::CreatePod,
                    format!("can create {resource} in namespace {ns}"),
                    g,
                ));
            }
        }
    }
    for (ns, kind, how, g) in pod_namespaces {
        for &t in accounts.get(ns).into_iter().flatten() {
            if graph.principals[t] != *p {
                out.push((
                    Some(t),
                    kind,
                    format!("{how}, to run a pod as {}", graph.principals[t].display()),
                    Some(g),
                ));
            }
        }
    }
    for &t in accounts.values().flatten() {
        let target = &graph.principals[t];
        if target == p {
            continue;
        }
        let mut token = Request::resource("create", "", "serviceaccounts", &target.namespace);
        token.subresource = "token".into();
        token.name.clone_from(&target.name);
        if let Some(g) = h.allows(&token) {
            out.push((
                Some(t),
                StepKind::CreateToken,
                format!("can create a token for {}", target.display()),
                Some(g),
            ));
        }
    }
    // Exec into the pods of workloads that run as an account.
    for w in &graph.model.workloads {
        let target = Principal {
            kind: SubjectKind::ServiceAccount,
            name: w.service_account.clone(),
            namespace: w.namespace.clone(),
        };
        let Some(&t) = graph.index.get(&target) else {
            continue;
        };
        if target == *p
            || out
                .iter()
                .any(|(to, k, ..)| *to == Some(t) && *k == StepKind::ExecPod)
        {
            continue;
        }
        let mut exec = Request::resource("create", "", "pods", &w.namespace);
        exec.subresource = "exec".into();
        if let Some(g) = h.allows(&exec) {
            out.push((
                Some(t),
                StepKind::ExecPod,
                format!(
                    "can exec into pods of {} {}/{}, which run as {}",
                    w.kind,
                    w.namespace,
                    w.name,
                    target.display()
                ),
                Some(g),
            ));
        }
    }
    out
}

fn chains(graph: &Graph<'_>) -> Vec<Chain> {
    let n = graph.principals.len();
    // Reverse BFS from cluster-admin: dist[i] = steps from i to cluster-admin.
    let mut reverse: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut dist: Vec<Option<usize>> = vec![None; n];
    let mut next: Vec<Option<usize>> = vec![None; n]; // edge index on i's list
    let mut queue = VecDeque::new();
    for (i, edges) in graph.edges.iter().enumerate() {
        for (e, (to, ..)) in edges.iter().enumerate() {
            match to {
                None => {
                    if dist[i].is_none() {
                        dist[i] = Some(1);
                        next[i] = Some(e);
                        queue.push_back(i);
                    }
                }
                Some(t) => reverse[*t].push((i, e)),
            }
        }
    }
    while let Some(t) = queue.pop_front() {
        let d = dist[t].unwrap_or(0);
        for &(from, e) in &reverse[t] {
            if dist[from].is_none() {
                dist[from] = Some(d + 1);
                next[from] = Some(e);
                queue.push_back(from);
            }
        }
    }
    let step = |i: usize, e: usize| {
        let (to, kind, how, grant) = &graph.edges[i][e];
        Step {
            from: graph.principals[i].clone(),
            kind: *kind,
            to: match to {
                None => Target::ClusterAdmin,
                Some(t) => Target::Principal(graph.principals[*t].clone()),
            },
            how: how.clone(),
            grant: *grant,
        }
    };
    let follow = |mut at: usize, steps: &mut Vec<Step>| {
        while let Some(e) = next[at] {
            steps.push(step(at, e));
            match graph.edges[at][e].0 {
                Some(t) if steps.len() <= n => at = t,
                _ => break,
            }
        }
    };
    let mut out = Vec::new();
    for i in 0..n {
        if dist[i].is_none() {
            continue;
        }
        let mut mine: Vec<Chain> = Vec::new();
        // Holding everything makes every other way moot; one step makes longer ones moot.
        let edges = &graph.edges[i];
        let holds = edges.iter().any(|(to, k, ..)| {
            to.is_none() && matches!(k, StepKind::HoldsAll | StepKind::PrivilegedGroup)
        });
        let direct = dist[i] == Some(1);
        for (e, (to, kind, ..)) in edges.iter().enumerate() {
            let reaches = match to {
                None => !holds || matches!(kind, StepKind::HoldsAll | StepKind::PrivilegedGroup),
                Some(t) => !direct && dist[*t].is_some(),
            };
            if !reaches {
                continue;
            }
            let mut steps = vec![step(i, e)];
            if let Some(t) = to {
                follow(*t, &mut steps);
            }
            mine.push(Chain {
                subject: graph.principals[i].clone(),
                steps,
            });
        }
        // One chain per kind of first step (the shortest), so a subject that can create
        // pods in a namespace of many accounts gets one line, not one per account.
        mine.sort_by_key(|c| c.steps.len());
        let mut kinds: Vec<StepKind> = Vec::new();
        mine.retain(|c| {
            let k = c.steps[0].kind;
            let new = !kinds.contains(&k);
            kinds.push(k);
            new
        });
        out.extend(mine);
    }
    out
}

/// Whether a user name is a service account's (for callers that hold a user name).
#[must_use]
pub fn principal_of_user(user: &str) -> Principal {
    match service_account_of(user) {
        Some((ns, name)) => Principal {
            kind: SubjectKind::ServiceAccount,
            name: name.into(),
            namespace: ns.into(),
        },
        None => Principal {
            kind: SubjectKind::User,
            name: user.into(),
            namespace: String::new(),
        },
    }
}
