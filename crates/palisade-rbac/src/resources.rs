//! Resource names as `kubectl` resolves them without a server: plural, singular, short
//! name, or `resource.group`. The table holds the built-in API; anything else is taken
//! as written (`applications.argoproj.io` means resource `applications` in group
//! `argoproj.io`), as kubectl does after warning that discovery does not know it.

/// A resource type resolved for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub group: String,
    pub resource: String,
    /// `None` when the resource is not in the built-in table.
    pub namespaced: Option<bool>,
}

/// (plural, singular, short names, group, namespaced) of the built-in API.
const BUILTIN: &[(&str, &str, &[&str], &str, bool)] = &[
    ("pods", "pod", &["po"], "", true),
    ("services", "service", &["svc"], "", true),
    ("configmaps", "configmap", &["cm"], "", true),
    ("secrets", "secret", &[], "", true),
    ("serviceaccounts", "serviceaccount", &["sa"], "", true),
    ("namespaces", "namespace", &["ns"], "", false),
    ("nodes", "node", &["no"], "", false),
    ("persistentvolumes", "persistentvolume", &["pv"], "", false),
    (
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        &["pvc"],
        "",
        true,
    ),
    ("endpoints", "endpoints", &["ep"], "", true),
    ("events", "event", &["ev"], "", true),
    ("limitranges", "limitrange", &["limits"], "", true),
    ("resourcequotas", "resourcequota", &["quota"], "", true),
    (
        "replicationcontrollers",
        "replicationcontroller",
        &["rc"],
        "",
        true,
    ),
    ("podtemplates", "podtemplate", &[], "", true),
    ("componentstatuses", "componentstatus", &["cs"], "", false),
    ("bindings", "binding", &[], "", true),
    ("deployments", "deployment", &["deploy"], "apps", true),
    ("daemonsets", "daemonset", &["ds"], "apps", true),
    ("statefulsets", "statefulset", &["sts"], "apps", true),
    ("replicasets", "replicaset", &["rs"], "apps", true),
    (
        "controllerrevisions",
        "controllerrevision",
        &[],
        "apps",
        true,
    ),
    ("jobs", "job", &[], "batch", true),
    ("cronjobs", "cronjob", &["cj"], "batch", true),
    ("roles", "role", &[], "rbac.authorization.k8s.io", true),
    (
        "rolebindings",
        "rolebinding",
        &[],
        "rbac.authorization.k8s.io",
        true,
    ),
    (
        "clusterroles",
        "clusterrole",
        &[],
        "rbac.authorization.k8s.io",
        false,
    ),
    (
        "clusterrolebindings",
        "clusterrolebinding",
        &[],
        "rbac.authorization.k8s.io",
        false,
    ),
    (
        "networkpolicies",
        "networkpolicy",
        &["netpol"],
        "networking.k8s.io",
        true,
    ),
    ("ingresses", "ingress", &["ing"], "networking.k8s.io", true),
    (
        "ingressclasses",
        "ingressclass",
        &[],
        "networking.k8s.io",
        false,
    ),
    (
        "poddisruptionbudgets",
        "poddisruptionbudget",
        &["pdb"],
        "policy",
        true,
    ),
    (
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        &["hpa"],
        "autoscaling",
        true,
    ),
    (
        "certificatesigningrequests",
        "certificatesigningrequest",
        &["csr"],
        "certificates.k8s.io",
        false,
    ),
    (
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingadmissionpolicies",
        "validatingadmissionpolicy",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingadmissionpolicybindings",
        "validatingadmissionpolicybinding",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "customresourcedefinitions",
        "customresourcedefinition",
        &["crd", "crds"],
        "apiextensions.k8s.io",
        false,
    ),
    (
        "apiservices",
        "apiservice",
        &[],
        "apiregistration.k8s.io",
        false,
    ),
    (
        "storageclasses",
        "storageclass",
        &["sc"],
        "storage.k8s.io",
        false,
    ),
    ("csidrivers", "csidriver", &[], "storage.k8s.io", false),
    ("csinodes", "csinode", &[], "storage.k8s.io", false),
    (
        "volumeattachments",
        "volumeattachment",
        &[],
        "storage.k8s.io",
        false,
    ),
    (
        "csistoragecapacities",
        "csistoragecapacity",
        &[],
        "storage.k8s.io",
        true,
    ),
    (
        "priorityclasses",
        "priorityclass",
        &["pc"],
        "scheduling.k8s.io",
        false,
    ),
    ("leases", "lease", &[], "coordination.k8s.io", true),
    ("runtimeclasses", "runtimeclass", &[], "node.k8s.io", false),
    // The same Events through the events.k8s.io API (`events` alone means the core group).
    ("events", "event", &["ev"], "events.k8s.io", true),
    (
        "endpointslices",
        "endpointslice",
        &[],
        "discovery.k8s.io",
        true,
    ),
    (
        "tokenreviews",
        "tokenreview",
        &[],
        "authentication.k8s.io",
        false,
    ),
    (
        "subjectaccessreviews",
        "subjectaccessreview",
        &[],
        "authorization.k8s.io",
        false,
    ),
    (
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        &[],
        "authorization.k8s.io",
        false,
    ),
    (
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        &[],
        "authorization.k8s.io",
        false,
    ),
    (
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        &[],
        "authorization.k8s.io",
        true,
    ),
    // Not listed by discovery, but authorized as resources: impersonation targets and
    // certificate signers.
    ("users", "user", &[], "", false),
    ("groups", "group", &[], "", false),
    (
        "userextras",
        "userextra",
        &[],
        "authentication.k8s.io",
        false,
    ),
    ("signers", "signer", &[], "certificates.k8s.io", false),
    (
        "flowschemas",
        "flowschema",
        &[],
        "flowcontrol.apiserver.k8s.io",
        false,
    ),
    (
        "prioritylevelconfigurations",
        "prioritylevelconfiguration",
        &[],
        "flowcontrol.apiserver.k8s.io",
        false,
    ),
];

/// Resolves a `kubectl auth can-i` TYPE: `pods`, `pod`, `po`, `deployments.apps`,
/// `deployments.v1.apps`, `deploy.apps`, `*`, or `resource.some.group` for resources the
/// table does not know.
#[must_use]
pub fn resolve_resource(text: &str) -> ResourceType {
    if text == "*" {
        // kubectl asks about `*` in the core group, not in every group.
        return ResourceType {
            group: String::new(),
            resource: "*".into(),
            namespaced: None,
        };
    }
    let lower = text.to_ascii_lowercase();
    let (name, group) = match lower.split_once('.') {
        // `resource.version.group`, as kubectl's ParseResourceArg reads three parts.
        Some((n, rest)) => match rest.split_once('.') {
            Some((version, g)) if is_version(version) => (n, Some(g)),
            _ => (n, Some(rest)),
        },
        None => (lower.as_str(), None),
    };
    let found = BUILTIN.iter().find(|(plural, singular, short, g, _)| {
        (name == *plural || name == *singular || short.contains(&name))
            && group.is_none_or(|want| want == *g || (g.is_empty() && want == "core"))
    });
    match found {
        Some((plural, _, _, g, namespaced)) => ResourceType {
            group: (*g).into(),
            resource: (*plural).into(),
            namespaced: Some(*namespaced),
        },
        None => ResourceType {
            group: group.unwrap_or("").into(),
            resource: name.into(),
            namespaced: None,
        },
    }
}

/// `v1`, `v2beta1`, `v1alpha3`: an API version's shape.
fn is_version(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = &rest[digits..];
    rest.is_empty()
        || ["alpha", "beta"].iter().any(|stage| {
            rest.strip_prefix(stage)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}
