//! `palisade rbac can-i|who-can|escalations`.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use palisade_model::LoadError;
use palisade_rbac::{
    escalations, record_of, resolve_resource, Chain, Decision, Grant, Model, Origin, Place, Reason,
    Request, Target, User,
};
use serde_json::json;

use crate::cli::{
    CanIArgs, ClusterArgs, EscalationArgs, GraphFormat, ListFormat, RbacCommand, WhoCanArgs,
};
use crate::ExitStatus;

pub fn run(command: RbacCommand) -> anyhow::Result<ExitStatus> {
    match command {
        RbacCommand::CanI(args) => can_i(&args),
        RbacCommand::WhoCan(args) => who_can(&args),
        RbacCommand::Escalations(args) => escalation_paths(&args),
    }
}

/// Reads the RBAC objects of `paths`; unreadable parts are reported on stderr and the
/// rest is used.
fn model(paths: &[PathBuf], cluster: &ClusterArgs) -> anyhow::Result<(Model, Vec<LoadError>)> {
    let (records, errors) = super::objects(paths, cluster, &record_of)?;
    Ok((Model::build(records), errors))
}

/// Which namespace a request about a cluster-scoped resource carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Semantics {
    /// The attributes `kubectl auth can-i` sends in its SelfSubjectAccessReview: the
    /// namespace as given (`-n`, or `default`), whatever the resource's scope. The
    /// authorizer then consults that namespace's RoleBindings, so the API server's
    /// answer can be yes where a real request would be refused.
    Kubectl,
    /// What a real request carries: no namespace for a cluster-scoped resource, except
    /// a Namespace object's own (`GET /api/v1/namespaces/NS` is authorized in NS).
    RealRequest,
}

/// Whether `req` is about a Namespace object by name, which a real request makes in
/// that namespace.
fn names_a_namespace(req: &Request) -> bool {
    req.api_group.is_empty() && req.resource == "namespaces" && !req.name.is_empty()
}

/// kubectl's `resource 'nodes' is not namespace scoped[ in group 'G']` warning.
fn not_namespaced_warning(req: &Request) -> String {
    let mut w = format!("resource '{}' is not namespace scoped", req.resource);
    if !req.api_group.is_empty() {
        w.push_str(&format!(" in group '{}'", req.api_group));
    }
    w
}

/// A `can-i`/`who-can` TYPE[/NAME] or URL argument, read.
struct Asked {
    req: Request,
    /// A resource the built-in table knows to be cluster-scoped.
    cluster_scoped: bool,
    /// About how the argument was read, for stderr.
    warnings: Vec<String>,
}

/// The request a `can-i`/`who-can` TYPE[/NAME] or URL argument describes.
fn request(
    verb: &str,
    resource: &str,
    subresource: Option<&str>,
    name: Option<&str>,
    namespace: &str,
    semantics: Semantics,
) -> anyhow::Result<Asked> {
    if resource.starts_with('/') {
        if subresource.is_some() {
            anyhow::bail!("--subresource cannot be used with a non-resource URL");
        }
        return Ok(Asked {
            req: Request::non_resource(verb, resource),
            cluster_scoped: false,
            warnings: Vec::new(),
        });
    }
    let (kind, object) = match resource.split_once('/') {
        Some((k, n)) => (k, Some(n)),
        None => (resource, name),
    };
    let rt = resolve_resource(kind);
    let mut req = Request::resource(verb, &rt.group, &rt.resource, namespace);
    req.subresource = subresource.unwrap_or_default().to_owned();
    req.name = object.unwrap_or_default().to_owned();
    let mut warnings = Vec::new();
    if rt.namespaced.is_none() && rt.resource != "*" {
        warnings.push(format!(
            "resource type {kind:?} is not a built-in one; taken as resource {:?} in group {:?}",
            rt.resource, rt.group
        ));
    }
    if rt.namespaced == Some(false) {
        match semantics {
            Semantics::Kubectl => {
                if !namespace.is_empty() {
                    warnings.push(not_namespaced_warning(&req));
                }
            }
            Semantics::RealRequest => {
                if names_a_namespace(&req) {
                    req.namespace = req.name.clone();
                } else if !namespace.is_empty() {
                    req.namespace = String::new();
                    warnings.push(format!(
                        "{}; asking cluster-wide, as a real request carries no namespace",
                        not_namespaced_warning(&req)
                    ));
                }
            }
        }
    }
    Ok(Asked {
        req,
        cluster_scoped: rt.namespaced == Some(false),
        warnings,
    })
}

/// When a yes rests on a RoleBinding although the resource is cluster-scoped: the API
/// server gives that answer to kubectl's review, but a real request carries no
/// namespace (except a Namespace object's own), so it would be refused.
fn kubectl_only_yes(m: &Model, asked: &Asked, decision: &Decision) -> Option<String> {
    let Some(Reason::Rbac(g)) = decision else {
        return None;
    };
    let (req, binding) = (&asked.req, &m.bindings[g.binding]);
    if binding.cluster || !asked.cluster_scoped {
        return None;
    }
    if names_a_namespace(req) && req.name == req.namespace {
        return None;
    }
    Some(format!(
        "this yes rests on {} in namespace {}: the API server answers yes to kubectl's \
         review, which carries the namespace, but a real request for {} carries none{}, \
         so only a ClusterRoleBinding could allow it",
        binding.display(),
        binding.namespace,
        req.resource,
        if req.resource == "namespaces" && req.api_group.is_empty() {
            " (except for the Namespace object named like the binding's namespace)"
        } else {
            ""
        }
    ))
}

fn place(origin: Option<&Origin>, at: &Place) -> String {
    super::place(origin, at, "Kubernetes default")
}

/// `RoleBinding ns/b (file:3) -> ClusterRole r (file:10), rule 2 (file:14): verbs=[...]`
fn describe_grant(m: &Model, g: &Grant) -> String {
    let b = &m.bindings[g.binding];
    let role = &m.roles[g.role];
    let holder = &m.roles[g.rule_role];
    let rule = &holder.rules[g.rule];
    let via = if g.rule_role == g.role {
        String::new()
    } else {
        format!(" (aggregated from {})", holder.display())
    };
    format!(
        "{} ({}) binds {} ({}); rule {} ({}){via}: {}",
        b.display(),
        place(b.origin.as_ref(), &b.at),
        role.display(),
        place(role.origin.as_ref(), &role.at),
        rule.index + 1,
        place(holder.origin.as_ref(), &rule.at),
        rule.describe()
    )
}

fn finish(answer: bool, errors: &[LoadError]) -> ExitStatus {
    if !errors.is_empty() {
        // Part of the input could not be read: the answer may be incomplete.
        return ExitStatus::Error;
    }
    if answer {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    }
}

fn can_i(args: &CanIArgs) -> anyhow::Result<ExitStatus> {
    let namespace = args.scope.request_namespace();
    let asked = request(
        &args.verb,
        &args.resource,
        args.subresource.as_deref(),
        None,
        &namespace,
        Semantics::Kubectl,
    )?;
    if !args.quiet {
        for w in &asked.warnings {
            eprintln!("Warning: {w}");
        }
    }
    let (m, errors) = model(&args.paths, &args.cluster)?;
    let user = User::impersonated(&args.as_user, &args.as_group);
    let req = &asked.req;
    let decision = m.authorize(&user, req);
    let caveat = kubectl_only_yes(&m, &asked, &decision);
    if let Some(c) = caveat.as_ref().filter(|_| !args.quiet) {
        eprintln!("Note: {c}");
    }
    let mut out = BufWriter::new(io::stdout().lock());
    if !args.quiet {
        writeln!(out, "{}", if decision.is_some() { "yes" } else { "no" })?;
    }
    if args.explain {
        let who = format!("{} (groups: {})", user.name, user.groups.join(", "));
        match decision {
            Some(Reason::PrivilegedGroup) => writeln!(
                out,
                "{who} is in system:masters, which the API server allows everything before RBAC"
            )?,
            Some(Reason::Rbac(g)) => {
                writeln!(out, "{}", describe_grant(&m, &g))?;
                if let Some(c) = &caveat {
                    writeln!(out, "note: {c}")?;
                }
            }
            None => {
                writeln!(out, "no binding grants {who} {}", req.describe())?;
                let held: Vec<String> = m
                    .bindings_in(&req.namespace)
                    .filter(|&b| m.bindings[b].subjects.iter().any(|s| user.is(s)))
                    .map(|b| {
                        let binding = &m.bindings[b];
                        format!("  {} -> {}", binding.display(), binding.role_ref.name)
                    })
                    .collect();
                if !held.is_empty() {
                    writeln!(out, "bindings that apply to this user here:")?;
                    for h in held {
                        writeln!(out, "{h}")?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(finish(decision.is_some(), &errors))
}

fn who_can(args: &WhoCanArgs) -> anyhow::Result<ExitStatus> {
    let namespace = args.scope.request_namespace();
    let Asked {
        req,
        cluster_scoped,
        warnings,
    } = request(
        &args.verb,
        &args.resource,
        args.subresource.as_deref(),
        args.name.as_deref(),
        &namespace,
        Semantics::RealRequest,
    )?;
    for w in warnings {
        eprintln!("Warning: {w}");
    }
    // RoleBindings of any namespace count with `-A`, except for what only a
    // ClusterRoleBinding can grant (non-resource URLs, cluster-scoped resources).
    let grantable_in_namespaces = req.path.is_none() && !cluster_scoped;
    let (m, errors) = model(&args.paths, &args.cluster)?;
    let mut rows: Vec<(String, String, String, String, String, String)> = m
        .who_can(&req, args.scope.all_namespaces && grantable_in_namespaces)
        .into_iter()
        .map(|(s, g)| {
            let b = &m.bindings[g.binding];
            (
                s.kind.as_str().to_owned(),
                s.name.clone(),
                s.namespace.clone(),
                b.display(),
                m.roles[g.role].display(),
                place(b.origin.as_ref(), &b.at),
            )
        })
        .collect();
    rows.sort();
    rows.dedup();
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        ListFormat::Json => {
            let items: Vec<_> = rows
                .iter()
                .map(|(kind, name, ns, binding, role, at)| {
                    json!({"kind": kind, "name": name, "namespace": ns, "binding": binding, "role": role, "location": at})
                })
                .collect();
            let doc = json!({"request": req.describe(), "subjects": items});
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        ListFormat::Table => {
            writeln!(out, "who can {}:", req.describe())?;
            let widths = rows.iter().fold([7, 4, 9, 7], |w, r| {
                [
                    w[0].max(r.0.len()),
                    w[1].max(r.1.len()),
                    w[2].max(r.2.len()),
                    w[3].max(r.3.len()),
                ]
            });
            writeln!(
                out,
                "{:w0$}  {:w1$}  {:w2$}  {:w3$}  ROLE",
                "SUBJECT",
                "NAME",
                "NAMESPACE",
                "BINDING",
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )?;
            for (kind, name, ns, binding, role, _) in &rows {
                writeln!(
                    out,
                    "{kind:w0$}  {name:w1$}  {ns:w2$}  {binding:w3$}  {role}",
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                    w3 = widths[3]
                )?;
            }
        }
    }
    out.flush()?;
    Ok(if errors.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Error
    })
}

fn target_name(t: &Target) -> String {
    match t {
        Target::ClusterAdmin => "cluster-admin".to_owned(),
        Target::Principal(p) => p.display(),
    }
}

fn escalation_paths(args: &EscalationArgs) -> anyhow::Result<ExitStatus> {
    let (m, errors) = model(&args.paths, &args.cluster)?;
    let chains: Vec<Chain> = escalations(&m)
        .into_iter()
        .filter(|c| args.include_system || !c.subject.is_system())
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    let granted_by = |step: &palisade_rbac::Step| step.grant.map(|g| describe_grant(&m, &g));
    match args.format {
        GraphFormat::Text => {
            if chains.is_empty() {
                writeln!(out, "no escalation paths to cluster-admin")?;
            }
            for c in &chains {
                writeln!(
                    out,
                    "{} reaches cluster-admin in {} step{}:",
                    c.subject.display(),
                    c.steps.len(),
                    if c.steps.len() == 1 { "" } else { "s" }
                )?;
                for (i, s) in c.steps.iter().enumerate() {
                    writeln!(
                        out,
                        "  {}. {} {} -> {}",
                        i + 1,
                        s.from.display(),
                        s.how,
                        target_name(&s.to)
                    )?;
                    if let Some(g) = granted_by(s) {
                        writeln!(out, "     granted by {g}")?;
                    }
                }
            }
        }
        GraphFormat::Json => {
            let items: Vec<_> = chains
                .iter()
                .map(|c| {
                    let steps: Vec<_> = c
                        .steps
                        .iter()
                        .map(|s| {
                            let mut v = serde_json::to_value(s).unwrap_or_default();
                            v["granted_by"] = json!(granted_by(s));
                            v
                        })
                        .collect();
                    json!({"subject": c.subject, "length": c.steps.len(), "steps": steps})
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &json!({"escalations": items}))?;
            writeln!(out)?;
        }
        GraphFormat::Dot => write_dot(&mut out, &chains)?,
    }
    out.flush().context("cannot write the report")?;
    if !errors.is_empty() {
        return Ok(ExitStatus::Error);
    }
    Ok(if chains.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    })
}

/// Every step of every chain as a Graphviz edge; subjects that start chains are bold.
fn write_dot(out: &mut impl Write, chains: &[Chain]) -> io::Result<()> {
    writeln!(out, "digraph escalations {{")?;
    writeln!(out, "  rankdir=LR;")?;
    writeln!(out, "  node [shape=box, fontname=\"Helvetica\"];")?;
    writeln!(
        out,
        "  \"cluster-admin\" [shape=doubleoctagon, color=red, fontcolor=red];"
    )?;
    let mut nodes: Vec<String> = chains.iter().map(|c| c.subject.display()).collect();
    nodes.sort();
    nodes.dedup();
    for n in &nodes {
        writeln!(out, "  \"{}\" [style=bold];", super::dot_escape(n))?;
    }
    let mut edges: Vec<(String, String, String)> = chains
        .iter()
        .flat_map(|c| &c.steps)
        .map(|s| (s.from.display(), target_name(&s.to), s.how.clone()))
        .collect();
    edges.sort();
    edges.dedup();
    for (from, to, how) in edges {
        writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            super::dot_escape(&from),
            super::dot_escape(&to),
            super::dot_escape(&how)
        )?;
    }
    writeln!(out, "}}")
}

/// The escalation chains of `paths` (or the cluster) as a graph for the HTML report:
/// subjects and what they reach, cluster-admin marked as the danger it is. System
/// subjects are left out, as `rbac escalations` does by default.
pub(super) fn escalation_graph(
    paths: &[PathBuf],
    cluster: &ClusterArgs,
) -> anyhow::Result<palisade_report::Graph> {
    let (m, _errors) = model(paths, cluster)?;
    let mut g = palisade_report::Graph::new(
        "RBAC escalation paths",
        "Each chain of permissions that leads a subject to cluster-admin power \
                      (`palisade rbac escalations` lists them with the grants).",
    );
    for c in escalations(&m).iter().filter(|c| !c.subject.is_system()) {
        for s in &c.steps {
            let to = target_name(&s.to);
            let from = g.node(&s.from.display(), false);
            let to = g.node(&to, to.contains("cluster-admin"));
            g.edge(from, to, &s.how.to_string());
        }
    }
    Ok(g)
}
