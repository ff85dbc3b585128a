//! Every allowed connection between the workloads of the input and external address
//! ranges, as np-guard's netpol-analyzer lists them.
//!
//! Workloads with the same namespace, pod labels and named ports are evaluated once (an
//! equivalence class); external addresses are split into ranges at every boundary of
//! every `ipBlock`, so each range behaves as one address, and adjacent ranges that get the
//! same connections with a workload are joined again.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;

use crate::conns::ConnSet;
use crate::eval::{Direction, Endpoint};
use crate::model::{pairs, Model};
use crate::record::Peer;

/// What makes workloads alike for every policy: namespace, sorted pod labels, sorted
/// named ports.
type ClassKey<'a> = (
    bool,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Vec<(&'a str, u16, crate::Protocol)>,
);

/// One end of a listed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    Workload(usize),
    /// An inclusive address range outside the cluster.
    Range(IpAddr, IpAddr),
}

/// An allowed connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub src: Node,
    pub dst: Node,
    /// Shared by every connection of one class pair or address piece: a list can hold
    /// millions of lines (every pod to every piece of a split address block).
    pub conns: Arc<ConnSet>,
}

impl Model {
    /// `namespace/name[Kind]` for a workload, `a.b.c.d-e.f.g.h` for a range.
    #[must_use]
    pub fn node_name(&self, node: Node) -> String {
        match node {
            Node::Workload(w) => self.workloads[w].display(),
            Node::Range(a, b) => format!("{a}-{b}"),
        }
    }

    /// `src => dst : conns`, np-guard's line for a connection.
    #[must_use]
    pub fn line(&self, c: &Connection) -> String {
        format!(
            "{} => {} : {}",
            self.node_name(c.src),
            self.node_name(c.dst),
            c.conns
        )
    }

    /// Every allowed connection, sorted by source and destination names; no self-loops.
    #[must_use]
    pub fn connections(&self) -> Vec<Connection> {
        let classes = self.classes();
        let mut out = Vec::new();
        for (a, b, allowed) in ClassGraph::new(self, &classes).pairs() {
            let allowed = Arc::new(allowed);
            for &src in &classes[a] {
                for &dst in classes[b].iter().filter(|&&dst| dst != src) {
                    out.push(Connection {
                        src: Node::Workload(src),
                        dst: Node::Workload(dst),
                        conns: allowed.clone(),
                    });
                }
            }
        }
        // Outside addresses as np-guard's netpol-analyzer splits them: sources by the
        // ipBlocks of ingress rules, destinations by those of egress rules, one line per
        // piece (pieces with the same connections are not joined).
        let sources = self.address_ranges(Direction::Ingress);
        let destinations = self.address_ranges(Direction::Egress);
        for class in &classes {
            let rep = class[0];
            for (outbound, ranges) in [(true, &destinations), (false, &sources)] {
                for &(first, last) in ranges {
                    let ext = Endpoint::External(first);
                    let allowed = if outbound {
                        self.evaluate(Endpoint::Workload(rep), ext).allowed
                    } else {
                        self.evaluate(ext, Endpoint::Workload(rep)).allowed
                    };
                    if allowed.is_empty() {
                        continue;
                    }
                    let allowed = Arc::new(allowed);
                    for &w in class {
                        let (src, dst) = if outbound {
                            (Node::Workload(w), Node::Range(first, last))
                        } else {
                            (Node::Range(first, last), Node::Workload(w))
                        };
                        out.push(Connection {
                            src,
                            dst,
                            conns: allowed.clone(),
                        });
                    }
                }
            }
        }
        // Sorted by names, each node named once: its rank among all names stands for it.
        let rank = self.name_ranks(&out);
        out.sort_by_cached_key(|c| (rank(c.src), rank(c.dst)));
        out
    }

    /// For the nodes of `connections`, a function giving each its rank in the order of
    /// their names.
    fn name_ranks(&self, connections: &[Connection]) -> impl Fn(Node) -> usize {
        let ranges: HashSet<Node> = connections
            .iter()
            .flat_map(|c| [c.src, c.dst])
            .filter(|n| matches!(n, Node::Range(..)))
            .collect();
        let mut names: Vec<(String, Node)> = (0..self.workloads.len())
            .map(Node::Workload)
            .chain(ranges)
            .map(|n| (self.node_name(n), n))
            .collect();
        names.sort();
        let rank: HashMap<Node, usize> = names
            .into_iter()
            .enumerate()
            .map(|(rank, (_, node))| (node, rank))
            .collect();
        move |node| rank.get(&node).copied().unwrap_or(usize::MAX)
    }

    /// Workloads that every policy treats alike: same namespace, labels and named ports.
    fn classes(&self) -> Vec<Vec<usize>> {
        let mut index: HashMap<ClassKey<'_>, usize> = HashMap::new();
        let mut classes: Vec<Vec<usize>> = Vec::new();
        for (i, w) in self.workloads.iter().enumerate() {
            let mut labels: Vec<(&str, &str)> = w
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            labels.sort_unstable();
            let mut ports: Vec<(&str, u16, crate::Protocol)> = w
                .named_ports
                .iter()
                .map(|(n, p, proto)| (n.as_str(), *p, *proto))
                .collect();
            ports.sort_unstable();
            let key = (w.host_network, w.namespace.as_str(), labels, ports);
            match index.get(&key) {
                Some(&c) => classes[c].push(i),
                None => {
                    index.insert(key, classes.len());
                    classes.push(vec![i]);
                }
            }
        }
        classes
    }

    /// The address space split wherever an ipBlock of one direction's rules (its CIDR
    /// less its excepts) begins or ends: all of IPv4, and all of IPv6 when some block is
    /// IPv6. Every address of a piece is in the same blocks, so one address decides it.
    fn address_ranges(&self, direction: Direction) -> Vec<(IpAddr, IpAddr)> {
        let mut v4: Vec<u128> = vec![0];
        let mut v6: Vec<u128> = Vec::new();
        let rules = self.policies.iter().flat_map(|p| match direction {
            Direction::Ingress => &p.ingress,
            Direction::Egress => &p.egress,
        });
        for peer in rules.flat_map(|r| r.peers.iter().flatten()) {
            let Peer::Block { cidr, except, .. } = peer else {
                continue;
            };
            let (bounds, max) = match cidr {
                IpNet::V4(_) => (&mut v4, u128::from(u32::MAX)),
                IpNet::V6(_) => {
                    if v6.is_empty() {
                        v6.push(0);
                    }
                    (&mut v6, u128::MAX)
                }
            };
            for (start, end) in block_intervals(cidr, except) {
                bounds.push(start);
                if end < max {
                    bounds.push(end + 1);
                }
            }
        }
        v4.sort_unstable();
        v4.dedup();
        v6.sort_unstable();
        v6.dedup();
        let v4_addr = |n: u128| IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)));
        let mut out = Vec::new();
        for (i, &start) in v4.iter().enumerate() {
            let end = v4.get(i + 1).map_or(u128::from(u32::MAX), |n| n - 1);
            out.push((v4_addr(start), v4_addr(end)));
        }
        for (i, &start) in v6.iter().enumerate() {
            let end = v6.get(i + 1).map_or(u128::MAX, |n| n - 1);
            out.push((
                IpAddr::V6(Ipv6Addr::from(start)),
                IpAddr::V6(Ipv6Addr::from(end)),
            ));
        }
        out
    }
}

/// The address intervals of an ipBlock: its CIDR less its excepts (adjacent excepts make
/// one hole), as inclusive `(first, last)` numbers.
fn block_intervals(cidr: &IpNet, except: &[IpNet]) -> Vec<(u128, u128)> {
    let bounds = |net: &IpNet| match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    };
    let (first, last) = bounds(cidr);
    let mut holes: Vec<(u128, u128)> = except
        .iter()
        .filter(|e| matches!(e, IpNet::V4(_)) == matches!(cidr, IpNet::V4(_)))
        .map(bounds)
        .collect();
    holes.sort_unstable();
    let mut out = Vec::new();
    let mut next = Some(first);
    for (hole_first, hole_last) in holes {
        let Some(from) = next else { break };
        if hole_last < from {
            continue;
        }
        if hole_first > from {
            out.push((from, (hole_first - 1).min(last)));
        }
        next = hole_last.checked_add(1).filter(|&n| n <= last);
    }
    if let Some(from) = next.filter(|&n| n <= last) {
        out.push((from, last));
    }
    out
}

/// Connections between equivalence classes of workloads, computed rule by rule: each
/// rule's peers are matched against the classes once (a bit set), so a pair of classes
/// costs a few bit tests instead of a walk over policies and selectors.
struct ClassGraph<'m> {
    model: &'m Model,
    /// A representative workload of each class.
    reps: Vec<usize>,
    /// Per class, the rules of the policies isolating it for egress and for ingress, as
    /// (policy, rule, index into `peers`); `None` when no policy isolates it.
    egress: Vec<Option<Vec<RuleAt>>>,
    ingress: Vec<Option<Vec<RuleAt>>>,
    /// The classes each rule's peers match; `None` for a rule without peers (all).
    peers: Vec<Option<ClassSet>>,
}

/// A rule of a policy, and where its matched classes are kept.
type RuleAt = (usize, usize, usize);

/// A set of classes, one bit each.
#[derive(Debug, Clone)]
struct ClassSet(Vec<u64>);

impl ClassSet {
    fn new(len: usize) -> Self {
        ClassSet(vec![0; len.div_ceil(64)])
    }

    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

impl<'m> ClassGraph<'m> {
    fn new(model: &'m Model, classes: &[Vec<usize>]) -> Self {
        let reps: Vec<usize> = classes.iter().map(|c| c[0]).collect();
        // Classes by namespace, and each namespace's labels matched once per selector.
        let mut by_namespace: HashMap<&str, Vec<usize>> = HashMap::new();
        for (c, &w) in reps.iter().enumerate() {
            by_namespace
                .entry(model.workloads[w].namespace.as_str())
                .or_default()
                .push(c);
        }
        let mut peers: Vec<Option<ClassSet>> = Vec::new();
        let mut seen: HashMap<(usize, bool, usize), usize> = HashMap::new();
        let mut rules_of = |direction: Direction| -> Vec<Option<Vec<RuleAt>>> {
            let egress = direction == Direction::Egress;
            reps.iter()
                .map(|&w| {
                    let isolating = model.isolating(w, direction);
                    if isolating.is_empty() {
                        return None;
                    }
                    let mut rules = Vec::new();
                    for p in isolating {
                        let policy = &model.policies[p];
                        let list = if egress {
                            &policy.egress
                        } else {
                            &policy.ingress
                        };
                        for (r, rule) in list.iter().enumerate() {
                            let set = *seen.entry((p, egress, r)).or_insert_with(|| {
                                peers.push(rule.peers.as_ref().map(|list| {
                                    classes_matching(
                                        model,
                                        &by_namespace,
                                        &reps,
                                        &policy.namespace,
                                        list,
                                    )
                                }));
                                peers.len() - 1
                            });
                            rules.push((p, r, set));
                        }
                    }
                    Some(rules)
                })
                .collect()
        };
        let egress = rules_of(Direction::Egress);
        let ingress = rules_of(Direction::Ingress);
        ClassGraph {
            model,
            reps,
            egress,
            ingress,
            peers,
        }
    }

    /// What `side` (a class's isolating rules) allows with class `other`, towards
    /// destination class `dst` (named ports resolve there).
    fn side(&self, rules: &[RuleAt], direction: Direction, other: usize, dst: usize) -> ConnSet {
        let mut allowed = ConnSet::none();
        for &(p, r, set) in rules {
            if self.peers[set]
                .as_ref()
                .is_some_and(|set| !set.contains(other))
            {
                continue;
            }
            let policy = &self.model.policies[p];
            let rule = match direction {
                Direction::Ingress => &policy.ingress[r],
                Direction::Egress => &policy.egress[r],
            };
            allowed.union_with(&rule.conns(Some(&self.model.workloads[self.reps[dst]])));
        }
        allowed
    }

    /// Every pair of classes with the connections allowed between them.
    fn pairs(&self) -> Vec<(usize, usize, ConnSet)> {
        let n = self.reps.len();
        let mut out = Vec::new();
        for a in 0..n {
            for b in 0..n {
                let egress = match &self.egress[a] {
                    None => ConnSet::all(),
                    Some(rules) => self.side(rules, Direction::Egress, b, b),
                };
                if egress.is_empty() {
                    continue;
                }
                let allowed = match &self.ingress[b] {
                    None => egress,
                    Some(rules) => egress.intersection(&self.side(rules, Direction::Ingress, a, b)),
                };
                if !allowed.is_empty() {
                    out.push((a, b, allowed));
                }
            }
        }
        out
    }
}

/// The classes a rule's peers select (ipBlocks select none: they are outside addresses).
fn classes_matching(
    model: &Model,
    by_namespace: &HashMap<&str, Vec<usize>>,
    reps: &[usize],
    policy_namespace: &str,
    peers: &[Peer],
) -> ClassSet {
    let mut set = ClassSet::new(reps.len());
    for peer in peers {
        let Peer::Pods {
            pods, namespaces, ..
        } = peer
        else {
            continue;
        };
        let candidates = by_namespace.iter().filter(|(ns, _)| match namespaces {
            None => **ns == policy_namespace,
            Some(sel) => sel.matches(model.namespace_labels(ns)),
        });
        for (_, members) in candidates {
            for &c in members {
                let pod = &model.workloads[reps[c]];
                if !pod.host_network
                    && pods
                        .as_ref()
                        .is_none_or(|sel| sel.matches(pairs(&pod.labels)))
                {
                    set.insert(c);
                }
            }
        }
    }
    set
}
