//! NetworkPolicies, Namespaces and workloads read from positioned YAML into records.

use std::net::IpAddr;

use ipnet::IpNet;
use palisade_inventory::{
    ContainerKind, LabelSelector, Object, ObjectAt, ObjectError, Origin, Place, PodSpecView,
};
use palisade_source::Node;

use crate::conns::{ConnSet, Protocol, MAX_PORT, MIN_PORT};

/// What the analysis keeps of one object.
#[derive(Debug, Clone)]
pub enum NetpolRecord {
    Policy(PolicyDef),
    Namespace(NamespaceDef),
    Workload(WorkloadDef),
    Service(ServiceDef),
    /// A custom resource without a pod template in this namespace: an operator may run
    /// pods for it that the input does not show (a Prometheus, a database cluster).
    CustomResource {
        namespace: String,
    },
    /// An object of a workload kind that cannot be modelled (a Deployment without a pod
    /// template, such as a kustomize patch): said, never silently dropped.
    NotModelled(NotModelled),
}

/// Why an object of a workload kind is left out of the network model, or merged into
/// another workload with labels other than its own.
#[derive(Debug, Clone)]
pub struct NotModelled {
    /// `Deployment ns/name has no pod template (spec.template)`.
    pub reason: String,
    pub origin: Option<Origin>,
    pub at: Place,
}

/// A Service that exposes pods outside the cluster: NodePort or LoadBalancer.
#[derive(Debug, Clone)]
pub struct ServiceDef {
    pub namespace: String,
    pub name: String,
    /// `NodePort` or `LoadBalancer`.
    pub kind: String,
    /// `spec.selector` (equality only); a Service without one selects no pods.
    pub selector: Vec<(String, String)>,
    pub origin: Option<Origin>,
    /// `spec.type`.
    pub at: Place,
}

/// A `networking.k8s.io/v1` NetworkPolicy.
#[derive(Debug, Clone)]
pub struct PolicyDef {
    pub namespace: String,
    pub name: String,
    pub pod_selector: LabelSelector,
    /// Whether the policy isolates the pods it selects for ingress and for egress:
    /// `policyTypes`, or by default Ingress, plus Egress when there are egress rules.
    pub ingress_type: bool,
    pub egress_type: bool,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    pub origin: Option<Origin>,
    /// `metadata.name`.
    pub at: Place,
}

impl PolicyDef {
    /// `NetworkPolicy ns/name`.
    #[must_use]
    pub fn display(&self) -> String {
        format!("NetworkPolicy {}/{}", self.namespace, self.name)
    }
}

/// One ingress or egress rule: whom it allows (`from`/`to`) on which ports.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `None` when the rule lists no peers: every source or destination.
    pub peers: Option<Vec<Peer>>,
    /// `None` when the rule lists no ports: every port and protocol.
    pub ports: Option<Vec<PortSpec>>,
    pub at: Place,
}

impl Rule {
    /// The connections the rule's ports allow to `destination` (`None`: an address
    /// outside the cluster, where no named port resolves).
    #[must_use]
    pub fn conns(&self, destination: Option<&WorkloadDef>) -> ConnSet {
        let Some(ports) = &self.ports else {
            return ConnSet::all();
        };
        let mut conns = ConnSet::none();
        for spec in ports {
            match &spec.port {
                PortRef::Any => conns.add_protocol(spec.protocol),
                PortRef::Range(first, last) => conns.add(spec.protocol, *first, *last),
                PortRef::Named(name) => {
                    let named = destination.into_iter().flat_map(|d| &d.named_ports);
                    for (n, number, protocol) in named {
                        if n == name && *protocol == spec.protocol {
                            conns.add(spec.protocol, *number, *number);
                        }
                    }
                }
            }
        }
        conns
    }
}

/// One `from`/`to` entry.
#[derive(Debug, Clone)]
pub enum Peer {
    /// `podSelector` and/or `namespaceSelector`: pods in the policy's namespace, in the
    /// namespaces selected, or the selected pods of the selected namespaces.
    Pods {
        pods: Option<LabelSelector>,
        namespaces: Option<LabelSelector>,
        at: Place,
    },
    /// `ipBlock`: addresses in `cidr` but not in any of `except`.
    Block {
        cidr: IpNet,
        except: Vec<IpNet>,
        at: Place,
    },
}

impl Peer {
    #[must_use]
    pub fn at(&self) -> &Place {
        match self {
            Peer::Pods { at, .. } | Peer::Block { at, .. } => at,
        }
    }

    /// Whether an external address is in this peer (pods' own addresses are not modelled).
    #[must_use]
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        match self {
            Peer::Block { cidr, except, .. } => {
                cidr.contains(&ip) && !except.iter().any(|e| e.contains(&ip))
            }
            Peer::Pods { .. } => false,
        }
    }
}

/// One `ports` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub protocol: Protocol,
    pub port: PortRef,
    pub at: Place,
}

/// Which ports of the protocol a port entry allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    /// No `port`: every port.
    Any,
    /// `port` (and `endPort`): `first..=last`.
    Range(u16, u16),
    /// A container port name, resolved on each destination pod.
    Named(String),
}

/// A Namespace and its labels (the automatic `kubernetes.io/metadata.name` is added by
/// the model).
#[derive(Debug, Clone)]
pub struct NamespaceDef {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub origin: Option<Origin>,
    pub at: Place,
}

/// A workload: a pod, or a controller with a pod template, as its pods would be.
#[derive(Debug, Clone)]
pub struct WorkloadDef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The pods' labels: the Pod's own, or the template's.
    pub labels: Vec<(String, String)>,
    /// Named container ports: (name, port, protocol).
    pub named_ports: Vec<(String, u16, Protocol)>,
    /// `hostNetwork: true` pods use the node's addresses, which policies do not select.
    pub host_network: bool,
    /// The controller that owns it (`ownerReferences` with `controller: true`), as
    /// (kind, name): a snapshot's Pods and ReplicaSets stand for their Deployment.
    pub owner: Option<(String, String)>,
    pub origin: Option<Origin>,
    pub at: Place,
}

impl WorkloadDef {
    /// `namespace/name[Kind]`, as np-guard's netpol-analyzer names workloads.
    #[must_use]
    pub fn display(&self) -> String {
        format!("{}/{}[{}]", self.namespace, self.name, self.kind)
    }
}

/// The record of one object, its origin named; a malformed policy is an error naming
/// the object and the field.
///
/// # Errors
/// What the API server would reject in a NetworkPolicy: bad selectors, protocols,
/// ports, CIDRs, `policyTypes`.
pub fn record_of(at: &ObjectAt<'_, '_>) -> Result<Option<NetpolRecord>, ObjectError> {
    extract(at.object, at.pods, Some(at.origin()))
        .map_err(|(place, message)| at.error(&place, &message))
}

type Problem = (Place, String);

/// Reads one object.
///
/// # Errors
/// See [`record_of`].
pub fn extract<'d>(
    object: &Object<'d>,
    pods: &[PodSpecView<'d>],
    origin: Option<Origin>,
) -> Result<Option<NetpolRecord>, Problem> {
    let id = &object.identity;
    let namespace = id.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let group = id.api_version.split_once('/').map_or("", |(g, _)| g);
    match (id.kind.as_str(), group) {
        ("NetworkPolicy", "networking.k8s.io") => {
            policy(object, namespace, origin).map(|p| Some(NetpolRecord::Policy(p)))
        }
        ("Namespace", "") => Ok(Some(NetpolRecord::Namespace(NamespaceDef {
            name: id.name.clone(),
            labels: string_pairs(object.root.get_path("metadata.labels")),
            origin,
            at: Place::of_name(object),
        }))),
        ("Service", "") => {
            let kind_node = object.root.get_path("spec.type");
            let kind = kind_node.and_then(|n| n.as_str()).unwrap_or("ClusterIP");
            if !matches!(kind, "NodePort" | "LoadBalancer") {
                return Ok(None);
            }
            Ok(Some(NetpolRecord::Service(ServiceDef {
                namespace,
                name: id.name.clone(),
                kind: kind.to_owned(),
                selector: string_pairs(object.root.get_path("spec.selector")),
                origin,
                at: kind_node.map_or_else(
                    || Place::of_name(object),
                    |n| Place::of(object, n, "spec.type"),
                ),
            })))
        }
        // A PodTemplate is not a workload, and a controller's many templates (rare) are
        // one workload: the first template's pods stand for it.
        ("PodTemplate", _) => Ok(None),
        (kind, group) => {
            // A built-in workload is one by its kind, whatever its containers hold (np-guard
            // models a Pod whose containers have no name or image); others by the pod
            // spec found in them.
            let template_view;
            let pod = match builtin_template(kind, group) {
                Some(path) => {
                    let template = if path.is_empty() {
                        Some(object.root)
                    } else {
                        object.root.get_path(path)
                    };
                    // A pod spec needs its `containers` list (the API server refuses one
                    // without); what lacks it is a fragment, such as a kustomize patch.
                    let spec = template.and_then(|t| t.get_present("spec"));
                    let under = |key: &str| {
                        if path.is_empty() {
                            key.to_owned()
                        } else {
                            format!("{path}.{key}")
                        }
                    };
                    let field = under("spec");
                    let with_containers = spec
                        .filter(|s| s.get_present("containers").is_some_and(|c| c.is_sequence()));
                    let Some(spec) = with_containers else {
                        return Ok(Some(NetpolRecord::NotModelled(NotModelled {
                            reason: format!(
                                "{kind} {namespace}/{} has no pod spec ({field}.containers), so it runs no pods; not modelled",
                                id.name
                            ),
                            origin,
                            at: Place::of_name(object),
                        })));
                    };
                    let metadata = template.and_then(|t| t.get_present("metadata"));
                    template_view = PodSpecView::new(spec, field, metadata, under("metadata"));
                    &template_view
                }
                None => match pods.first() {
                    Some(pod) => pod,
                    None => {
                        let custom = group.contains('.') && !group.ends_with("k8s.io");
                        return Ok(custom.then_some(NetpolRecord::CustomResource { namespace }));
                    }
                },
            };
            let labels = string_pairs(pod.metadata.and_then(|m| m.get_present("labels")));
            // Ports of regular containers and of sidecars, named or not.
            let named_ports = pod
                .containers()
                .iter()
                .filter(|c| serves(c.kind, c.node))
                .flat_map(|c| named_ports_of(c.node))
                .collect();
            Ok(Some(NetpolRecord::Workload(WorkloadDef {
                kind: id.kind.clone(),
                namespace,
                name: id.name.clone(),
                labels,
                named_ports,
                host_network: pod.field("hostNetwork").is_some_and(|n| n.is_true()),
                owner: controller_of(object),
                origin,
                at: Place::of_name(object),
            })))
        }
    }
}

/// Where a built-in workload kind keeps its pod template (`""`: the object is the pod).
fn builtin_template(kind: &str, group: &str) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => Some(""),
        ("", "ReplicationController")
        | ("apps" | "extensions", "Deployment" | "ReplicaSet" | "DaemonSet")
        | ("apps", "StatefulSet")
        | ("batch", "Job") => Some("spec.template"),
        ("batch", "CronJob") => Some("spec.jobTemplate.spec.template"),
        _ => None,
    }
}

/// Whether a container of this list serves traffic: regular containers and sidecars
/// (init containers that keep running); a plain init container has exited before
/// traffic flows, and ephemeral containers declare no ports.
fn serves(kind: ContainerKind, container: Node<'_>) -> bool {
    match kind {
        ContainerKind::Regular => true,
        ContainerKind::Init => {
            container
                .get_present("restartPolicy")
                .and_then(|n| n.as_str())
                == Some("Always")
        }
        ContainerKind::Ephemeral => false,
    }
}

/// `(name, containerPort, protocol)` of each named port of one container.
fn named_ports_of(container: Node<'_>) -> Vec<(String, u16, Protocol)> {
    let mut out = Vec::new();
    for p in container
        .get_present("ports")
        .into_iter()
        .flat_map(|n| n.items())
    {
        let (Some(name), Some(number)) = (
            p.get_present("name").and_then(|n| n.as_str()),
            p.get_present("containerPort").and_then(|n| n.as_i64()),
        ) else {
            continue;
        };
        let protocol = p
            .get_present("protocol")
            .and_then(|n| n.as_str())
            .map_or(Some(Protocol::Tcp), Protocol::parse);
        let number = u16::try_from(number)
            .ok()
            .filter(|n| (MIN_PORT..=MAX_PORT).contains(n));
        if let (Some(protocol), Some(number)) = (protocol, number) {
            out.push((name.to_owned(), number, protocol));
        }
    }
    out
}

fn policy(
    object: &Object<'_>,
    namespace: String,
    origin: Option<Origin>,
) -> Result<PolicyDef, Problem> {
    let spec = object.root.get_present("spec");
    let place = |node: Node<'_>, path: &str| Place::of(object, node, path);
    let selector = |node: Option<Node<'_>>, path: &str| {
        LabelSelector::from_node(node).map_err(|e| {
            let at = node.map_or_else(|| Place::of_name(object), |n| place(n, path));
            (at, format!("{path}: {e}"))
        })
    };
    let pod_selector = selector(
        spec.and_then(|s| s.get_present("podSelector")),
        "spec.podSelector",
    )?;
    let ingress = rules(object, spec, "ingress", "from")?;
    let egress = rules(object, spec, "egress", "to")?;
    let types = spec
        .and_then(|s| s.get_present("policyTypes"))
        .map(|t| list(object, t, "spec.policyTypes"))
        .transpose()?;
    if let Some(t) = types.filter(|t| t.len() > 2) {
        return Err((
            Place::of(object, t, "spec.policyTypes"),
            "spec.policyTypes may name Ingress and Egress once each".to_owned(),
        ));
    }
    let (ingress_type, egress_type) = match types.filter(|t| !t.is_empty()) {
        None => (
            true,
            spec.and_then(|s| s.get_present("egress"))
                .is_some_and(|e| !e.is_empty()),
        ),
        Some(list) => {
            let mut kinds = (false, false);
            for (i, t) in list.items().enumerate() {
                match t.as_str() {
                    Some("Ingress") => kinds.0 = true,
                    Some("Egress") => kinds.1 = true,
                    _ => {
                        let path = format!("spec.policyTypes[{i}]");
                        return Err((place(t, &path), format!("{path} must be Ingress or Egress")));
                    }
                }
            }
            kinds
        }
    };
    Ok(PolicyDef {
        namespace,
        name: object.identity.name.clone(),
        pod_selector,
        ingress_type,
        egress_type,
        ingress,
        egress,
        origin,
        at: Place::of_name(object),
    })
}

fn rules(
    object: &Object<'_>,
    spec: Option<Node<'_>>,
    field: &str,
    peers_field: &str,
) -> Result<Vec<Rule>, Problem> {
    let mut out = Vec::new();
    let Some(rules) = spec.and_then(|s| s.get_present(field)) else {
        return Ok(out);
    };
    for (i, rule) in list(object, rules, &format!("spec.{field}"))?
        .items()
        .enumerate()
    {
        let base = format!("spec.{field}[{i}]");
        let at = Place::of(object, rule, &base);
        if !rule.is_mapping() {
            return Err((at, format!("{base} must be a mapping")));
        }
        let listed = |name: &str| -> Result<Option<Node<'_>>, Problem> {
            rule.get_present(name)
                .map(|n| list(object, n, &format!("{base}.{name}")))
                .transpose()
                .map(|n| n.filter(|n| !n.is_empty()))
        };
        let peers = match listed(peers_field)? {
            None => None,
            Some(list) => Some(
                list.items()
                    .enumerate()
                    .map(|(j, p)| peer(object, p, &format!("{base}.{peers_field}[{j}]")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let ports = match listed("ports")? {
            None => None,
            Some(list) => Some(
                list.items()
                    .enumerate()
                    .map(|(j, p)| port(object, p, &format!("{base}.ports[{j}]")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        out.push(Rule { peers, ports, at });
    }
    Ok(out)
}

fn peer(object: &Object<'_>, node: Node<'_>, path: &str) -> Result<Peer, Problem> {
    let at = Place::of(object, node, path);
    let selector = |field: &str| -> Result<Option<LabelSelector>, Problem> {
        match node.get_present(field) {
            None => Ok(None),
            Some(n) => LabelSelector::from_node(Some(n)).map(Some).map_err(|e| {
                (
                    Place::of(object, n, &format!("{path}.{field}")),
                    format!("{path}.{field}: {e}"),
                )
            }),
        }
    };
    let pods = selector("podSelector")?;
    let namespaces = selector("namespaceSelector")?;
    match node.get_present("ipBlock") {
        Some(block) => {
            if pods.is_some() || namespaces.is_some() {
                return Err((
                    at,
                    format!("{path}: ipBlock cannot be combined with a selector"),
                ));
            }
            let cidr_path = format!("{path}.ipBlock.cidr");
            let cidr_node = block.get_present("cidr");
            let cidr = cidr_node
                .and_then(|n| n.as_str())
                .and_then(|c| c.parse::<IpNet>().ok())
                .ok_or_else(|| {
                    let at = cidr_node.map_or_else(
                        || Place::of(object, block, &cidr_path),
                        |n| Place::of(object, n, &cidr_path),
                    );
                    (
                        at,
                        format!("{cidr_path} must be a CIDR such as 10.0.0.0/16"),
                    )
                })?;
            let mut except = Vec::new();
            let excepts = block
                .get_present("except")
                .map(|n| list(object, n, &format!("{path}.ipBlock.except")))
                .transpose()?;
            for (k, e) in excepts.into_iter().flat_map(|n| n.items()).enumerate() {
                let e_path = format!("{path}.ipBlock.except[{k}]");
                let net = e
                    .as_str()
                    .and_then(|c| c.parse::<IpNet>().ok())
                    .filter(|n| cidr.contains(n) && n.prefix_len() > cidr.prefix_len())
                    .ok_or_else(|| {
                        (
                            Place::of(object, e, &e_path),
                            format!("{e_path} must be a CIDR strictly inside {cidr}"),
                        )
                    })?;
                except.push(net);
            }
            Ok(Peer::Block { cidr, except, at })
        }
        None if pods.is_none() && namespaces.is_none() => Err((
            at,
            format!("{path} must specify a peer (podSelector, namespaceSelector or ipBlock): the API server rejects an empty one; to allow every source or destination, leave out `from`/`to`"),
        )),
        None => Ok(Peer::Pods {
            pods,
            namespaces,
            at,
        }),
    }
}

fn port(object: &Object<'_>, node: Node<'_>, path: &str) -> Result<PortSpec, Problem> {
    let at = Place::of(object, node, path);
    let protocol = match node.get_present("protocol") {
        None => Protocol::Tcp,
        Some(p) => p.as_str().and_then(Protocol::parse).ok_or_else(|| {
            (
                Place::of(object, p, &format!("{path}.protocol")),
                format!("{path}.protocol must be TCP, UDP or SCTP"),
            )
        })?,
    };
    let end = node.get_present("endPort");
    let port = match node.get_present("port") {
        None => {
            if let Some(e) = end {
                return Err((
                    Place::of(object, e, &format!("{path}.endPort")),
                    format!("{path}.endPort needs a numeric port"),
                ));
            }
            PortRef::Any
        }
        Some(p) => match (p.as_i64(), p.as_str()) {
            (Some(n), _) => {
                let first = port_number(object, p, n, &format!("{path}.port"))?;
                let last = match end {
                    None => first,
                    Some(e) => {
                        let e_path = format!("{path}.endPort");
                        let last = e
                            .as_i64()
                            .ok_or_else(|| {
                                (
                                    Place::of(object, e, &e_path),
                                    format!("{e_path} must be a number"),
                                )
                            })
                            .and_then(|n| port_number(object, e, n, &e_path))?;
                        if last < first {
                            return Err((
                                Place::of(object, e, &e_path),
                                format!("{e_path} must not be below port {first}"),
                            ));
                        }
                        last
                    }
                };
                PortRef::Range(first, last)
            }
            (None, Some(name)) if is_port_name(name) => {
                if let Some(e) = end {
                    return Err((
                        Place::of(object, e, &format!("{path}.endPort")),
                        format!("{path}.endPort needs a numeric port, not {name:?}"),
                    ));
                }
                PortRef::Named(name.to_owned())
            }
            _ => {
                return Err((
                    Place::of(object, p, &format!("{path}.port")),
                    format!("{path}.port must be a number or a port name (up to 15 of a-z, 0-9 and -, with a letter)"),
                ))
            }
        },
    };
    Ok(PortSpec { protocol, port, at })
}

fn port_number(object: &Object<'_>, node: Node<'_>, n: i64, path: &str) -> Result<u16, Problem> {
    u16::try_from(n)
        .ok()
        .filter(|p| (MIN_PORT..=MAX_PORT).contains(p))
        .ok_or_else(|| {
            (
                Place::of(object, node, path),
                format!("{path} {n} is not a port (1-65535)"),
            )
        })
}

/// A node that must be a list (the API's slices): a mapping or scalar there is an error,
/// not an empty list.
fn list<'d>(object: &Object<'_>, node: Node<'d>, path: &str) -> Result<Node<'d>, Problem> {
    if node.is_sequence() || node.is_null() {
        Ok(node)
    } else {
        Err((
            Place::of(object, node, path),
            format!("{path} must be a list"),
        ))
    }
}

/// A container port name as the API server accepts it (IsValidPortName): up to 15
/// lowercase letters, digits and single inner hyphens, with at least one letter.
fn is_port_name(name: &str) -> bool {
    name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// The first `ownerReferences` entry marked `controller: true`, as (kind, name); a
/// mirror pod's controller, its Node, is no workload.
fn controller_of(object: &Object<'_>) -> Option<(String, String)> {
    object
        .root
        .get_path("metadata.ownerReferences")?
        .items()
        .find(|r| r.get_present("controller").is_some_and(|c| c.is_true()))
        .and_then(|r| {
            let kind = r.get_present("kind")?.as_str()?;
            let name = r.get_present("name")?.as_str()?;
            Some((kind.to_owned(), name.to_owned()))
        })
        .filter(|(kind, _)| kind != "Node")
}

fn string_pairs(node: Option<Node<'_>>) -> Vec<(String, String)> {
    node.into_iter()
        .flat_map(|n| n.entries())
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
        .collect()
}
