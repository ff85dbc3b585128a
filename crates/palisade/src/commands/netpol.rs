//! `palisade netpol connections|explain`.

use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use palisade_inventory::{Origin, Place};
use palisade_model::LoadError;
use palisade_netpol::{
    record_of, Connection, Direction, Endpoint, Model, Node, Protocol, SideVerdict,
};
use serde_json::json;

use crate::cli::{ClusterArgs, ConnectionsArgs, ConnectionsFormat, ExplainArgs, NetpolCommand};
use crate::ExitStatus;

pub fn run(command: NetpolCommand) -> anyhow::Result<ExitStatus> {
    match command {
        NetpolCommand::Connections(args) => connections(&args),
        NetpolCommand::Explain(args) => explain(&args),
    }
}

/// Reads the policies, namespaces and workloads of `paths`; unreadable parts (and
/// malformed policies) are reported on stderr and the rest is used.
fn model(paths: &[PathBuf], cluster: &ClusterArgs) -> anyhow::Result<(Model, Vec<LoadError>)> {
    let (records, errors) = super::objects(paths, cluster, &record_of)?;
    let m = Model::build(records);
    for n in &m.not_modelled {
        eprintln!(
            "palisade: warning: {}: {}",
            place(n.origin.as_ref(), &n.at),
            n.reason
        );
    }
    Ok((m, errors))
}

/// The workload `namespace/name` (any kind) names.
fn workload(m: &Model, text: &str) -> anyhow::Result<usize> {
    let (namespace, name) = text
        .split_once('/')
        .with_context(|| format!("{text:?} is neither namespace/name nor an IP address"))?;
    let found: Vec<usize> = (0..m.workloads.len())
        .filter(|&i| m.workloads[i].namespace == namespace && m.workloads[i].name == name)
        .collect();
    match found.as_slice() {
        [] => anyhow::bail!("no workload {namespace}/{name} in the input"),
        [one] => Ok(*one),
        _ => anyhow::bail!("{namespace}/{name} names several workloads of different kinds"),
    }
}

fn connections(args: &ConnectionsArgs) -> anyhow::Result<ExitStatus> {
    let (m, errors) = model(&args.paths, &args.cluster)?;
    let focus = args.focus.as_deref().map(|f| workload(&m, f)).transpose()?;
    let list: Vec<Connection> = m
        .connections()
        .into_iter()
        .filter(|c| focus.is_none_or(|w| c.src == Node::Workload(w) || c.dst == Node::Workload(w)))
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        ConnectionsFormat::Txt => {
            for c in &list {
                writeln!(out, "{}", m.line(c))?;
            }
        }
        ConnectionsFormat::Json => {
            let rows: Vec<serde_json::Value> = list
                .iter()
                .map(|c| {
                    json!({
                        "src": m.node_name(c.src),
                        "dst": m.node_name(c.dst),
                        "conn": c.conns.to_string(),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &json!({ "connections": rows }))?;
            writeln!(out)?;
        }
        ConnectionsFormat::Dot => write_dot(&mut out, &m, &list)?,
    }
    out.flush()?;
    Ok(if errors.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Error
    })
}

/// Workloads are boxes, address ranges ovals; each edge is labelled with its connections.
fn write_dot(out: &mut impl Write, m: &Model, list: &[Connection]) -> io::Result<()> {
    writeln!(out, "digraph connections {{")?;
    writeln!(out, "  rankdir=LR;")?;
    let mut nodes: Vec<Node> = list.iter().flat_map(|c| [c.src, c.dst]).collect();
    nodes.sort_unstable();
    nodes.dedup();
    for node in nodes {
        let shape = match node {
            Node::Workload(_) => "box",
            Node::Range(..) => "oval",
        };
        writeln!(
            out,
            "  \"{}\" [shape={shape}];",
            super::dot_escape(&m.node_name(node))
        )?;
    }
    for c in list {
        writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            super::dot_escape(&m.node_name(c.src)),
            super::dot_escape(&m.node_name(c.dst)),
            super::dot_escape(&c.conns.to_string())
        )?;
    }
    writeln!(out, "}}")
}

fn endpoint(m: &Model, text: &str) -> anyhow::Result<Endpoint> {
    match text.parse::<IpAddr>() {
        Ok(ip) => Ok(Endpoint::External(ip)),
        Err(_) => workload(m, text).map(Endpoint::Workload),
    }
}

/// `443` or `53/UDP`.
fn port(text: &str) -> anyhow::Result<(Protocol, u16)> {
    let (number, protocol) = text.split_once('/').unwrap_or((text, "TCP"));
    let protocol = Protocol::parse(&protocol.to_ascii_uppercase())
        .with_context(|| format!("protocol {protocol:?} is not TCP, UDP or SCTP"))?;
    let number: u16 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| format!("{number:?} is not a port (1-65535)"))?;
    Ok((protocol, number))
}

fn explain(args: &ExplainArgs) -> anyhow::Result<ExitStatus> {
    let (m, errors) = model(&args.paths, &args.cluster)?;
    let src = endpoint(&m, &args.src)?;
    let dst = endpoint(&m, &args.dst)?;
    let wanted = args.port.as_deref().map(port).transpose()?;
    let verdict = m.evaluate(src, dst);
    let allowed = match wanted {
        Some((protocol, number)) => verdict.allowed.allows(protocol, number),
        None => !verdict.allowed.is_empty(),
    };
    let name = |e: Endpoint| match e {
        Endpoint::Workload(w) => m.workloads[w].display(),
        Endpoint::External(ip) => ip.to_string(),
    };
    let what = match wanted {
        Some((protocol, number)) => format!(" on {}/{number}", protocol.as_str()),
        None => String::new(),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "{}: {} => {}{what}",
        if allowed { "allowed" } else { "denied" },
        name(src),
        name(dst)
    )?;
    writeln!(out, "  allowed connections: {}", verdict.allowed)?;
    side(&mut out, &m, "egress of", src, &verdict.egress)?;
    side(&mut out, &m, "ingress to", dst, &verdict.ingress)?;
    out.flush()?;
    Ok(if !errors.is_empty() {
        ExitStatus::Error
    } else if allowed {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    })
}

fn place(origin: Option<&Origin>, at: &Place) -> String {
    super::place(origin, at, "(no file)")
}

/// One side's verdict: not isolated, or the isolating policies and the rules that allow.
fn side(
    out: &mut impl Write,
    m: &Model,
    label: &str,
    end: Endpoint,
    v: &SideVerdict,
) -> io::Result<()> {
    let Endpoint::Workload(w) = end else {
        return writeln!(
            out,
            "  {label} the external address: not restricted by policies"
        );
    };
    let who = m.workloads[w].display();
    if v.isolating.is_empty() {
        return writeln!(
            out,
            "  {label} {who}: not isolated (no policy selects it): all allowed"
        );
    }
    writeln!(out, "  {label} {who}: isolated by")?;
    for &p in &v.isolating {
        let policy = &m.policies[p];
        writeln!(
            out,
            "    {} ({})",
            policy.display(),
            place(policy.origin.as_ref(), &policy.at)
        )?;
    }
    if v.rules.is_empty() {
        return writeln!(out, "    no rule allows it");
    }
    for ((p, direction, r), conns) in &v.rules {
        let policy = &m.policies[*p];
        let (field, rule) = match direction {
            Direction::Ingress => ("ingress", &policy.ingress[*r]),
            Direction::Egress => ("egress", &policy.egress[*r]),
        };
        writeln!(
            out,
            "    allowed by {} {field}[{r}] ({}): {conns}",
            policy.display(),
            place(policy.origin.as_ref(), &rule.at)
        )?;
    }
    Ok(())
}

/// Most edges the reachability drawing shows; the rest are counted.
const MAX_DRAWN_CONNECTIONS: usize = 400;

/// Every allowed connection of `paths` (or the cluster) as a graph for the HTML report;
/// address ranges (the internet among them) are marked.
pub(super) fn reachability_graph(
    paths: &[PathBuf],
    cluster: &ClusterArgs,
) -> anyhow::Result<palisade_report::Graph> {
    let (m, _errors) = model(paths, cluster)?;
    let mut g = palisade_report::Graph::new(
        "Network reachability",
        "Which workloads may connect to which under the NetworkPolicies \
                      (`palisade netpol connections` lists every one).",
    );
    let list = m.connections();
    for c in list.iter().take(MAX_DRAWN_CONNECTIONS) {
        let src = g.node(&m.node_name(c.src), matches!(c.src, Node::Range(..)));
        let dst = g.node(&m.node_name(c.dst), matches!(c.dst, Node::Range(..)));
        g.edge(src, dst, &c.conns.to_string());
    }
    g.truncated = list.len().saturating_sub(MAX_DRAWN_CONNECTIONS);
    Ok(g)
}
