//! Sets of connections: for each protocol, the ports allowed, as sorted disjoint ranges.

use std::fmt;

/// The protocols a NetworkPolicy port names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// `TCP`, `UDP` or `SCTP`, as the API spells them (and only so: the API server
    /// rejects `tcp`).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::Tcp => 0,
            Protocol::Udp => 1,
            Protocol::Sctp => 2,
        }
    }
}

/// The lowest and highest port a policy can name.
pub const MIN_PORT: u16 = 1;
pub const MAX_PORT: u16 = 65535;

/// Ports of one protocol: sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    #[must_use]
    pub fn all() -> Self {
        PortSet {
            ranges: vec![(MIN_PORT, MAX_PORT)],
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    #[must_use]
    pub fn is_all(&self) -> bool {
        self.ranges == [(MIN_PORT, MAX_PORT)]
    }

    #[must_use]
    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|&(a, b)| a <= port && port <= b)
    }

    /// Adds `first..=last` (ignored when empty).
    pub fn add(&mut self, first: u16, last: u16) {
        if first > last {
            return;
        }
        self.ranges.push((first, last));
        self.normalize();
    }

    pub fn union_with(&mut self, other: &PortSet) {
        self.ranges.extend_from_slice(&other.ranges);
        self.normalize();
    }

    #[must_use]
    pub fn intersection(&self, other: &PortSet) -> PortSet {
        let mut ranges = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a1, b1) = self.ranges[i];
            let (a2, b2) = other.ranges[j];
            let (lo, hi) = (a1.max(a2), b1.min(b2));
            if lo <= hi {
                ranges.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        PortSet { ranges }
    }

    #[must_use]
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    fn normalize(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(self.ranges.len());
        for &(a, b) in &self.ranges {
            match merged.last_mut() {
                // Overlapping or adjacent ranges join.
                Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.ranges = merged;
    }
}

/// Allowed connections: a port set per protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ConnSet {
    ports: [PortSet; 3],
}

impl ConnSet {
    /// No connection.
    #[must_use]
    pub fn none() -> Self {
        ConnSet::default()
    }

    /// Every port of every protocol.
    #[must_use]
    pub fn all() -> Self {
        ConnSet {
            ports: [PortSet::all(), PortSet::all(), PortSet::all()],
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ports.iter().all(PortSet::is_empty)
    }

    #[must_use]
    pub fn is_all(&self) -> bool {
        self.ports.iter().all(PortSet::is_all)
    }

    #[must_use]
    pub fn ports(&self, protocol: Protocol) -> &PortSet {
        &self.ports[protocol.index()]
    }

    #[must_use]
    pub fn allows(&self, protocol: Protocol, port: u16) -> bool {
        self.ports(protocol).contains(port)
    }

    /// Adds `first..=last` of `protocol`.
    pub fn add(&mut self, protocol: Protocol, first: u16, last: u16) {
        self.ports[protocol.index()].add(first, last);
    }

    /// Adds every port of `protocol`.
    pub fn add_protocol(&mut self, protocol: Protocol) {
        self.ports[protocol.index()] = PortSet::all();
    }

    pub fn union_with(&mut self, other: &ConnSet) {
        for (mine, theirs) in self.ports.iter_mut().zip(&other.ports) {
            mine.union_with(theirs);
        }
    }

    #[must_use]
    pub fn intersection(&self, other: &ConnSet) -> ConnSet {
        ConnSet {
            ports: [0, 1, 2].map(|i| self.ports[i].intersection(&other.ports[i])),
        }
    }
}

/// `All Connections`, `No Connections`, or `TCP 80,443-445,UDP 53`, as np-guard's
/// netpol-analyzer writes them.
impl fmt::Display for ConnSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        let mut first = true;
        // Protocols in name order, as np-guard's netpol-analyzer sorts them.
        for protocol in [Protocol::Sctp, Protocol::Tcp, Protocol::Udp] {
            let ports = self.ports(protocol);
            if ports.is_empty() {
                continue;
            }
            for (i, &(a, b)) in ports.ranges().iter().enumerate() {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                if i == 0 {
                    write!(f, "{} ", protocol.as_str())?;
                }
                if a == b {
                    write!(f, "{a}")?;
                } else {
                    write!(f, "{a}-{b}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_intersect() {
        let mut a = ConnSet::none();
        a.add(Protocol::Tcp, 443, 445);
        a.add(Protocol::Tcp, 80, 80);
        a.add(Protocol::Tcp, 446, 446); // adjacent: joins 443-445
        a.add(Protocol::Udp, 53, 53);
        assert_eq!(a.to_string(), "TCP 80,443-446,UDP 53");
        let mut b = ConnSet::none();
        b.add(Protocol::Tcp, 1, 443);
        b.add_protocol(Protocol::Udp);
        assert_eq!(a.intersection(&b).to_string(), "TCP 80,443,UDP 53");
        assert!(a.intersection(&ConnSet::none()).is_empty());
        assert_eq!(ConnSet::all().to_string(), "All Connections");
        let mut tcp = ConnSet::none();
        tcp.add_protocol(Protocol::Tcp);
        assert_eq!(tcp.to_string(), "TCP 1-65535");
        assert!(!tcp.is_all());
        let mut u = tcp.clone();
        u.union_with(&ConnSet::all());
        assert!(u.is_all());
        assert!(a.allows(Protocol::Tcp, 444) && !a.allows(Protocol::Tcp, 81));
    }
}
