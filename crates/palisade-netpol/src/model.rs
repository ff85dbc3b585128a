//! The policies, namespaces and workloads of the input, indexed for evaluation.

use std::collections::HashMap;

use crate::record::{NamespaceDef, NetpolRecord, NotModelled, PolicyDef, ServiceDef, WorkloadDef};

/// Labels as (key, value) pairs.
type Labels = Vec<(String, String)>;

/// The label every namespace carries since Kubernetes v1.21.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Everything the analysis reads. Later definitions of the same object replace earlier
/// ones, as a later `kubectl apply` would.
#[derive(Debug, Default)]
pub struct Model {
    pub policies: Vec<PolicyDef>,
    pub workloads: Vec<WorkloadDef>,
    /// NodePort and LoadBalancer Services.
    pub services: Vec<ServiceDef>,
    /// Namespace objects of the input.
    pub namespaces: Vec<NamespaceDef>,
    /// Labels of every namespace the input names (defined or only used), with the
    /// automatic name label.
    namespace_labels: HashMap<String, Vec<(String, String)>>,
    /// Policies by namespace.
    policies_in: HashMap<String, Vec<usize>>,
    /// Workloads by namespace.
    workloads_in: HashMap<String, Vec<usize>>,
    /// Namespaces holding custom resources without pod templates, whose operators may
    /// run pods the input does not show.
    operated: std::collections::HashSet<String>,
    /// Objects of workload kinds left out, with why.
    pub not_modelled: Vec<NotModelled>,
}

impl Model {
    #[must_use]
    pub fn build(records: impl IntoIterator<Item = NetpolRecord>) -> Self {
        let mut m = Model::default();
        let mut policy_index = HashMap::new();
        let mut workload_index = HashMap::new();
        let mut defined: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for record in records {
            match record {
                NetpolRecord::Policy(p) => {
                    let key = (String::new(), p.namespace.clone(), p.name.clone());
                    upsert(&mut m.policies, &mut policy_index, key, p);
                }
                NetpolRecord::Workload(w) => {
                    let key = (w.kind.clone(), w.namespace.clone(), w.name.clone());
                    upsert(&mut m.workloads, &mut workload_index, key, w);
                }
                NetpolRecord::Namespace(n) => {
                    defined.insert(n.name.clone(), n.labels.clone());
                    m.namespaces.retain(|old| old.name != n.name);
                    m.namespaces.push(n);
                }
                NetpolRecord::Service(s) => m.services.push(s),
                NetpolRecord::CustomResource { namespace } => {
                    m.operated.insert(namespace);
                }
                NetpolRecord::NotModelled(n) => m.not_modelled.push(n),
            }
        }
        // A workload whose controller is also in the input (a snapshot's Pods, its
        // ReplicaSets) is listed as the controller, whose template stands for it.
        let present: std::collections::HashSet<(String, String, String)> =
            workload_index.keys().cloned().collect();
        // A Pod of a Deployment whose ReplicaSet is not in the input (`kubectl get
        // pods,deploy`) is recognised by its ReplicaSet's name: the Deployment's, then
        // the pod-template-hash.
        let deployment_of = |w: &WorkloadDef, replica_set: &str| -> Option<String> {
            let hash = w.labels.iter().find(|(k, _)| k == "pod-template-hash")?;
            let name = replica_set
                .strip_suffix(hash.1.as_str())?
                .strip_suffix('-')?;
            Some(name.to_owned())
        };
        m.workloads.retain(|w| {
            w.owner.as_ref().is_none_or(|(kind, name)| {
                let ns = w.namespace.clone();
                let owned_by_present = present.contains(&(kind.clone(), ns.clone(), name.clone()))
                    || (kind == "ReplicaSet"
                        && deployment_of(w, name)
                            .is_some_and(|d| present.contains(&("Deployment".to_owned(), ns, d))));
                !owned_by_present
            })
        });
        // A Pod whose controller is not in the input is named after it, as np-guard
        // names it (`ns/web-7d77fb55cc[ReplicaSet]`), and the pods of one controller are
        // one workload: the first pod's labels and ports stand for all, and a pod whose
        // labels differ is said. (Other workloads cannot collide: a Pod whose controller
        // is in the input was dropped above.)
        // By np-guard's name of the workload: the first pod's name and sorted labels.
        let mut first_pods: HashMap<String, (String, Labels)> = HashMap::new();
        let mut differing = Vec::new();
        m.workloads.retain_mut(|w| {
            let Some((kind, name)) = w.owner.take().filter(|_| w.kind == "Pod") else {
                return true;
            };
            let pod = std::mem::replace(&mut w.name, name);
            w.kind = kind;
            let mut labels = w.labels.clone();
            labels.sort();
            let key = w.display();
            let Some((first, first_labels)) = first_pods.get(&key) else {
                first_pods.insert(key, (pod, labels));
                return true;
            };
            if *first_labels != labels {
                differing.push(NotModelled {
                    reason: format!(
                        "pod {ns}/{pod} has other labels than {ns}/{first}, another pod of {owner}; {owner} is modelled with {first}'s labels",
                        ns = w.namespace,
                        owner = w.display(),
                    ),
                    origin: w.origin.clone(),
                    at: w.at.clone(),
                });
            }
            false
        });
        m.not_modelled.extend(differing);
        let used = m
            .policies
            .iter()
            .map(|p| &p.namespace)
            .chain(m.workloads.iter().map(|w| &w.namespace));
        for ns in used.chain(defined.keys()).cloned().collect::<Vec<_>>() {
            let mut labels = defined.get(&ns).cloned().unwrap_or_default();
            labels.retain(|(k, _)| k != NAMESPACE_NAME_LABEL);
            labels.push((NAMESPACE_NAME_LABEL.to_owned(), ns.clone()));
            m.namespace_labels.insert(ns, labels);
        }
        for (i, w) in m.workloads.iter().enumerate() {
            m.workloads_in
                .entry(w.namespace.clone())
                .or_default()
                .push(i);
        }
        for (i, p) in m.policies.iter().enumerate() {
            m.policies_in
                .entry(p.namespace.clone())
                .or_default()
                .push(i);
        }
        m
    }

    /// A namespace's labels, `kubernetes.io/metadata.name` included.
    pub fn namespace_labels(&self, namespace: &str) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.namespace_labels
            .get(namespace)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The workloads of a namespace, in input order.
    pub fn workloads_in(&self, namespace: &str) -> impl Iterator<Item = usize> + '_ {
        self.workloads_in
            .get(namespace)
            .into_iter()
            .flatten()
            .copied()
    }

    /// Whether the namespace holds custom resources an operator may run pods for, so
    /// its workloads in the input may not be all its pods.
    #[must_use]
    pub fn has_operated_resources(&self, namespace: &str) -> bool {
        self.operated.contains(namespace)
    }

    /// The namespaces that hold workloads, sorted.
    #[must_use]
    pub fn namespaces_with_workloads(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.workloads_in.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The policies of a namespace.
    pub fn policies_in(&self, namespace: &str) -> impl Iterator<Item = usize> + '_ {
        self.policies_in
            .get(namespace)
            .into_iter()
            .flatten()
            .copied()
    }
}

/// Adds `item`, or replaces the earlier item of the same key.
fn upsert<T>(
    items: &mut Vec<T>,
    index: &mut HashMap<(String, String, String), usize>,
    key: (String, String, String),
    item: T,
) {
    match index.get(&key) {
        Some(&i) => items[i] = item,
        None => {
            index.insert(key, items.len());
            items.push(item);
        }
    }
}

/// A workload's pod labels as pairs for selector matching.
pub(crate) fn pairs(labels: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> + Clone {
    labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}
