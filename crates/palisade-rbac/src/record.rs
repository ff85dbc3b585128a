//! RBAC objects read from positioned YAML into owned records.

use palisade_inventory::{LabelSelector, Object, PodSpecView};
pub use palisade_inventory::{Origin, Place};
use palisade_source::Node;

/// One rule of a Role or ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
    /// Index among the role's own `rules`.
    pub index: usize,
    pub at: Place,
    /// Each `*` in verbs, apiGroups or resources: (field, place).
    pub wildcards: Vec<(&'static str, Place)>,
}

impl PolicyRule {
    /// What the rule grants (not where it is written), for comparing and hashing rules.
    #[must_use]
    pub fn grant_key(&self) -> [&[String]; 5] {
        [
            &self.verbs,
            &self.api_groups,
            &self.resources,
            &self.resource_names,
            &self.non_resource_urls,
        ]
    }

    /// `verbs=[get list] resources=[secrets]`-style summary for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let list = |name: &str, v: &[String]| format!("{name}=[{}]", v.join(","));
        parts.push(list("verbs", &self.verbs));
        if !self.non_resource_urls.is_empty() {
            parts.push(list("nonResourceURLs", &self.non_resource_urls));
        }
        if !self.api_groups.is_empty() || !self.resources.is_empty() {
            let groups: Vec<String> = self
                .api_groups
                .iter()
                .map(|g| {
                    if g.is_empty() {
                        "\"\"".to_owned()
                    } else {
                        g.clone()
                    }
                })
                .collect();
            parts.push(list("apiGroups", &groups));
            parts.push(list("resources", &self.resources));
        }
        if !self.resource_names.is_empty() {
            parts.push(list("resourceNames", &self.resource_names));
        }
        parts.join(" ")
    }
}

/// A Role (namespaced) or ClusterRole.
#[derive(Debug, Clone)]
pub struct RoleDef {
    pub cluster: bool,
    /// Empty for a ClusterRole.
    pub namespace: String,
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub rules: Vec<PolicyRule>,
    /// `aggregationRule.clusterRoleSelectors`, for an aggregated ClusterRole.
    pub aggregation: Option<Vec<LabelSelector>>,
    pub origin: Option<Origin>,
    /// `metadata.name`, or the object itself.
    pub at: Place,
}

impl RoleDef {
    /// `ClusterRole admin` or `Role ns/name`.
    #[must_use]
    pub fn display(&self) -> String {
        if self.cluster {
            format!("ClusterRole {}", self.name)
        } else {
            format!("Role {}/{}", self.namespace, self.name)
        }
    }

    /// One of the roles every cluster has (Kubernetes' bootstrap policy).
    #[must_use]
    pub fn is_default(&self) -> bool {
        self.origin.is_none() || is_bootstrap(&self.labels)
    }
}

fn is_bootstrap(labels: &[(String, String)]) -> bool {
    labels
        .iter()
        .any(|(k, v)| k == "kubernetes.io/bootstrapping" && v == "rbac-defaults")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
}

impl SubjectKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
            Self::ServiceAccount => "ServiceAccount",
        }
    }
}

/// One subject of a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectDef {
    pub kind: SubjectKind,
    pub name: String,
    /// For a ServiceAccount: its namespace (the binding's when the subject leaves it
    /// out, as the authorizer resolves it); empty otherwise, or when unresolvable.
    pub namespace: String,
    pub at: Place,
}

impl SubjectDef {
    /// `User alice`, `Group devs`, `ServiceAccount ns/name`.
    #[must_use]
    pub fn display(&self) -> String {
        display_subject(self.kind, &self.name, &self.namespace)
    }

    /// Whether Kubernetes itself runs as this subject (see [`is_system_subject`]).
    #[must_use]
    pub fn is_system(&self) -> bool {
        is_system_subject(self.kind, &self.name, &self.namespace)
    }
}

/// `User alice`, `Group devs`, `ServiceAccount ns/name`.
#[must_use]
pub fn display_subject(kind: SubjectKind, name: &str, namespace: &str) -> String {
    match kind {
        SubjectKind::ServiceAccount => format!("ServiceAccount {namespace}/{name}"),
        k => format!("{} {name}", k.as_str()),
    }
}

/// Subjects Kubernetes itself runs as: `system:*` users and groups and `kube-system`
/// service accounts. The broad groups (`system:authenticated`, `system:unauthenticated`,
/// `system:serviceaccounts[:ns]`) and `system:anonymous` are not among them: a grant to
/// them reaches many.
#[must_use]
pub fn is_system_subject(kind: SubjectKind, name: &str, namespace: &str) -> bool {
    match kind {
        SubjectKind::ServiceAccount => namespace == "kube-system",
        _ => {
            name.starts_with("system:")
                && !matches!(
                    name,
                    "system:anonymous" | "system:unauthenticated" | "system:authenticated"
                )
                && !name.starts_with("system:serviceaccounts")
        }
    }
}

/// A binding's `roleRef`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRef {
    /// `kind: ClusterRole` (else `Role`).
    pub cluster: bool,
    pub name: String,
    pub at: Place,
}

/// A RoleBinding (namespaced) or ClusterRoleBinding.
#[derive(Debug, Clone)]
pub struct BindingDef {
    pub cluster: bool,
    /// Empty for a ClusterRoleBinding.
    pub namespace: String,
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub role_ref: RoleRef,
    pub subjects: Vec<SubjectDef>,
    pub origin: Option<Origin>,
    pub at: Place,
}

impl BindingDef {
    #[must_use]
    pub fn display(&self) -> String {
        if self.cluster {
            format!("ClusterRoleBinding {}", self.name)
        } else {
            format!("RoleBinding {}/{}", self.namespace, self.name)
        }
    }

    #[must_use]
    pub fn is_default(&self) -> bool {
        self.origin.is_none() || is_bootstrap(&self.labels)
    }
}

/// A ServiceAccount object.
#[derive(Debug, Clone)]
pub struct ServiceAccountDef {
    pub namespace: String,
    pub name: String,
    pub origin: Option<Origin>,
    pub at: Place,
}

/// A workload (anything with a pod spec) and the service account its pods run as.
#[derive(Debug, Clone)]
pub struct WorkloadDef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub service_account: String,
    pub origin: Option<Origin>,
}

/// What the RBAC analysis keeps of one object.
#[derive(Debug, Clone)]
pub enum RbacRecord {
    Role(RoleDef),
    Binding(BindingDef),
    ServiceAccount(ServiceAccountDef),
    /// One object may hold several pod specs (rare); each service account is kept.
    Workload(Vec<WorkloadDef>),
}

fn strings(node: Option<Node<'_>>) -> Vec<String> {
    node.into_iter()
        .flat_map(|n| n.items())
        .filter_map(|i| i.as_str().map(str::to_owned))
        .collect()
}

fn labels(object: &Object<'_>) -> Vec<(String, String)> {
    object
        .labels()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn is_rbac_group(api_version: &str) -> bool {
    api_version
        .split_once('/')
        .is_some_and(|(g, _)| g == "rbac.authorization.k8s.io")
}

fn rules(object: &Object<'_>) -> Result<Vec<PolicyRule>, (Place, String)> {
    let mut out = Vec::new();
    let Some(list) = object.root.get_present("rules") else {
        return Ok(out);
    };
    if !list.is_sequence() {
        return Err((
            Place::of(object, list, "rules"),
            "`rules` must be a list".into(),
        ));
    }
    for (index, rule) in list.items().enumerate() {
        let base = format!("rules[{index}]");
        let at = Place::of(object, rule, &base);
        if !rule.is_mapping() {
            return Err((at, format!("{base} must be a mapping")));
        }
        let mut wildcards = Vec::new();
        for field in ["verbs", "apiGroups", "resources"] {
            for (j, item) in rule
                .get_present(field)
                .into_iter()
                .flat_map(|n| n.items())
                .enumerate()
            {
                if item.as_str() == Some("*") {
                    wildcards.push((
                        field,
                        Place::of(object, item, &format!("{base}.{field}[{j}]")),
                    ));
                }
            }
        }
        let r = PolicyRule {
            verbs: strings(rule.get_present("verbs")),
            api_groups: strings(rule.get_present("apiGroups")),
            resources: strings(rule.get_present("resources")),
            resource_names: strings(rule.get_present("resourceNames")),
            non_resource_urls: strings(rule.get_present("nonResourceURLs")),
            index,
            at,
            wildcards,
        };
        if r.verbs.is_empty() {
            return Err((
                r.at,
                format!("{base} has no verbs; the API server rejects it"),
            ));
        }
        out.push(r);
    }
    Ok(out)
}

/// A problem that makes an RBAC object unusable, with where it is.
pub type Problem = (Place, String);

/// Reads the RBAC-relevant part of an object; `Ok(None)` when the object is of no interest.
///
/// # Errors
/// A malformed RBAC object (bad rules, roleRef, subjects), with the place of the fault.
pub fn extract(
    object: &Object<'_>,
    pods: &[PodSpecView<'_>],
    origin: Option<Origin>,
) -> Result<Option<RbacRecord>, Problem> {
    let id = &object.identity;
    // Namespaced objects without a namespace land in `default`, as `kubectl apply` puts them.
    let namespace = id
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let kind = id.kind.as_str();
    if is_rbac_group(&id.api_version) {
        match kind {
            "Role" | "ClusterRole" => {
                let cluster = kind == "ClusterRole";
                let aggregation = match object.root.get_present("aggregationRule") {
                    Some(a) if cluster => {
                        let mut selectors = Vec::new();
                        for (i, s) in a
                            .get_present("clusterRoleSelectors")
                            .into_iter()
                            .flat_map(|n| n.items())
                            .enumerate()
                        {
                            selectors.push(LabelSelector::from_node(Some(s)).map_err(|e| {
                                let path = format!("aggregationRule.clusterRoleSelectors[{i}]");
                                (Place::of(object, s, &path), e)
                            })?);
                        }
                        Some(selectors)
                    }
                    _ => None,
                };
                return Ok(Some(RbacRecord::Role(RoleDef {
                    cluster,
                    namespace: if cluster { String::new() } else { namespace },
                    name: id.name.clone(),
                    labels: labels(object),
                    rules: rules(object)?,
                    aggregation,
                    origin,
                    at: Place::of_name(object),
                })));
            }
            "RoleBinding" | "ClusterRoleBinding" => {
                let cluster = kind == "ClusterRoleBinding";
                let Some(role_ref) = object.root.get_present("roleRef") else {
                    return Err((
                        Place::of_name(object),
                        format!("{kind} {} has no roleRef", id.name),
                    ));
                };
                let ref_kind = role_ref.get("kind").and_then(|k| k.as_str()).unwrap_or("");
                let ref_name = role_ref.get("name").and_then(|k| k.as_str()).unwrap_or("");
                let ref_place = Place::of(object, role_ref, "roleRef");
                let ref_cluster = match ref_kind {
                    "ClusterRole" => true,
                    "Role" if !cluster => false,
                    _ => {
                        return Err((
                            ref_place,
                            format!(
                            "roleRef.kind {ref_kind:?} is not valid for a {kind} (ClusterRole{})",
                            if cluster { "" } else { " or Role" }
                        ),
                        ))
                    }
                };
                if ref_name.is_empty() {
                    return Err((ref_place, "roleRef.name is empty".into()));
                }
                let mut subjects = Vec::new();
                for (i, s) in object
                    .root
                    .get_present("subjects")
                    .into_iter()
                    .flat_map(|n| n.items())
                    .enumerate()
                {
                    let at = Place::of(object, s, &format!("subjects[{i}]"));
                    let skind = match s.get("kind").and_then(|k| k.as_str()) {
                        Some("User") => SubjectKind::User,
                        Some("Group") => SubjectKind::Group,
                        Some("ServiceAccount") => SubjectKind::ServiceAccount,
                        other => {
                            return Err((
                                at,
                                format!(
                                    "subjects[{i}].kind {:?} is not User, Group or ServiceAccount",
                                    other.unwrap_or("")
                                ),
                            ))
                        }
                    };
                    let name = s.get("name").and_then(|n| n.as_str()).unwrap_or("");
                    if name.is_empty() {
                        return Err((at, format!("subjects[{i}] has no name")));
                    }
                    let sns = s.get("namespace").and_then(|n| n.as_str()).unwrap_or("");
                    let sns = match skind {
                        // The authorizer falls back to the binding's own namespace.
                        SubjectKind::ServiceAccount if sns.is_empty() && !cluster => {
                            namespace.clone()
                        }
                        SubjectKind::ServiceAccount => sns.to_owned(),
                        _ => String::new(),
                    };
                    subjects.push(SubjectDef {
                        kind: skind,
                        name: name.to_owned(),
                        namespace: sns,
                        at,
                    });
                }
                return Ok(Some(RbacRecord::Binding(BindingDef {
                    cluster,
                    namespace: if cluster { String::new() } else { namespace },
                    name: id.name.clone(),
                    labels: labels(object),
                    role_ref: RoleRef {
                        cluster: ref_cluster,
                        name: ref_name.to_owned(),
                        at: Place::of(object, role_ref, "roleRef"),
                    },
                    subjects,
                    origin,
                    at: Place::of_name(object),
                })));
            }
            _ => return Ok(None),
        }
    }
    if kind == "ServiceAccount" && id.api_version == "v1" {
        return Ok(Some(RbacRecord::ServiceAccount(ServiceAccountDef {
            namespace,
            name: id.name.clone(),
            origin,
            at: Place::of_name(object),
        })));
    }
    if pods.is_empty() || kind == "PodTemplate" {
        return Ok(None);
    }
    let workloads = pods
        .iter()
        .map(|p| WorkloadDef {
            kind: id.kind.clone(),
            namespace: namespace.clone(),
            name: id.name.clone(),
            // The deprecated `serviceAccount` fills an empty `serviceAccountName`.
            service_account: ["serviceAccountName", "serviceAccount"]
                .iter()
                .filter_map(|f| p.field(f).and_then(|n| n.as_str()))
                .find(|s| !s.is_empty())
                .unwrap_or("default")
                .to_owned(),
            origin: origin.clone(),
        })
        .collect();
    Ok(Some(RbacRecord::Workload(workloads)))
}
