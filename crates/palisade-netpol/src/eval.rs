//! Whether a connection is allowed, as a conformant CNI decides it: the source's egress
//! and the destination's ingress must both allow it. A pod selected by no policy of a
//! direction is not isolated in that direction; a selected pod is allowed exactly the
//! union of the rules of the policies that select it.

use std::net::IpAddr;

use crate::conns::ConnSet;
use crate::model::{pairs, Model};
use crate::record::{Peer, Rule};

/// One end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A workload of the model, by index.
    Workload(usize),
    /// An address outside the cluster.
    External(IpAddr),
}

/// Ingress or egress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

/// A rule of a policy: (policy index, direction, rule index).
pub type RuleRef = (usize, Direction, usize);

/// What one side (the source's egress or the destination's ingress) allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideVerdict {
    /// Policies that select the pod for this direction; empty means not isolated.
    pub isolating: Vec<usize>,
    /// Rules that allow some connection to the other end, with what each allows.
    pub rules: Vec<(RuleRef, ConnSet)>,
    /// Everything allowed: all connections when not isolated, else the union of `rules`.
    pub allowed: ConnSet,
}

/// Both sides of a connection and what gets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub egress: SideVerdict,
    pub ingress: SideVerdict,
    pub allowed: ConnSet,
}

impl Model {
    /// What `src` may open to `dst`. An external end has no policies of its own: its side
    /// allows everything.
    #[must_use]
    pub fn evaluate(&self, src: Endpoint, dst: Endpoint) -> Verdict {
        let egress = match src {
            Endpoint::Workload(w) => self.side(w, Direction::Egress, dst),
            Endpoint::External(_) => open(),
        };
        let ingress = match dst {
            Endpoint::Workload(w) => self.side(w, Direction::Ingress, src),
            Endpoint::External(_) => open(),
        };
        let allowed = egress.allowed.intersection(&ingress.allowed);
        Verdict {
            egress,
            ingress,
            allowed,
        }
    }

    /// Whether policy `p` selects workload `w` (same namespace, podSelector matches).
    #[must_use]
    pub fn selects(&self, p: usize, w: usize) -> bool {
        let (policy, pod) = (&self.policies[p], &self.workloads[w]);
        // Policies do not select host-network pods: their traffic is the node's.
        !pod.host_network
            && policy.namespace == pod.namespace
            && policy.pod_selector.matches(pairs(&pod.labels))
    }

    /// The policies that isolate workload `w` in `direction`; none means it is open.
    #[must_use]
    pub fn isolating(&self, w: usize, direction: Direction) -> Vec<usize> {
        self.policies_in(&self.workloads[w].namespace)
            .filter(|&p| {
                let policy = &self.policies[p];
                let typed = match direction {
                    Direction::Ingress => policy.ingress_type,
                    Direction::Egress => policy.egress_type,
                };
                typed && self.selects(p, w)
            })
            .collect()
    }

    /// The verdict of workload `w`'s policies in `direction` on traffic with `other`
    /// (the destination for egress, the source for ingress).
    fn side(&self, w: usize, direction: Direction, other: Endpoint) -> SideVerdict {
        let pod = &self.workloads[w];
        let isolating = self.isolating(w, direction);
        if isolating.is_empty() {
            return open();
        }
        // Named ports are resolved on the destination: the pod itself for ingress, the
        // other end for egress (an external address has no named ports).
        let destination = match direction {
            Direction::Ingress => Some(pod),
            Direction::Egress => match other {
                Endpoint::Workload(o) => Some(&self.workloads[o]),
                Endpoint::External(_) => None,
            },
        };
        let mut rules = Vec::new();
        let mut allowed = ConnSet::none();
        for &p in &isolating {
            let policy = &self.policies[p];
            let list = match direction {
                Direction::Ingress => &policy.ingress,
                Direction::Egress => &policy.egress,
            };
            for (r, rule) in list.iter().enumerate() {
                if !self.peer_matches(rule, &policy.namespace, other) {
                    continue;
                }
                let conns = rule.conns(destination);
                if !conns.is_empty() {
                    allowed.union_with(&conns);
                    rules.push(((p, direction, r), conns));
                }
            }
        }
        SideVerdict {
            isolating,
            rules,
            allowed,
        }
    }

    /// Whether `other` is among a rule's peers (a rule without peers allows everyone);
    /// `policy_namespace` is the namespace of the rule's policy.
    #[must_use]
    pub fn peer_matches(&self, rule: &Rule, policy_namespace: &str, other: Endpoint) -> bool {
        let Some(peers) = &rule.peers else {
            return true;
        };
        peers.iter().any(|peer| match (peer, other) {
            (
                Peer::Pods {
                    pods, namespaces, ..
                },
                Endpoint::Workload(o),
            ) if !self.workloads[o].host_network => {
                let w = &self.workloads[o];
                let namespace_ok = match namespaces {
                    // Without a namespaceSelector, only the policy's own namespace.
                    None => w.namespace == policy_namespace,
                    Some(sel) => sel.matches(self.namespace_labels(&w.namespace)),
                };
                namespace_ok
                    && pods
                        .as_ref()
                        .is_none_or(|sel| sel.matches(pairs(&w.labels)))
            }
            (Peer::Block { .. }, Endpoint::External(ip)) => peer.contains_ip(ip),
            _ => false,
        })
    }
}

/// A side with no isolating policy: everything.
fn open() -> SideVerdict {
    SideVerdict {
        isolating: Vec::new(),
        rules: Vec::new(),
        allowed: ConnSet::all(),
    }
}
