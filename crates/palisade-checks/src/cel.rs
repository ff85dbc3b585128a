//! The checks a cluster can enforce with no webhook: each as CEL for a
//! ValidatingAdmissionPolicy (`palisade admission export-vap`), or why it cannot be.
//!
//! An exportable check is one or more [`Validation`]s: a CEL expression that is true when
//! the object passes, with the severity of what it rejects (a check whose findings differ
//! in severity gets one validation per severity). Expressions read the variables of
//! [`VARIABLES`], which the exported policy defines, and follow the check at the newest
//! Pod Security version ([`palisade_engine::Version::LATEST`]). Tests hold every
//! expression to the native verdict on the Pod Security fixtures, the examples and the
//! real-world corpus.
//!
//! Objects are as the API server holds them: null fields are absent, so "unset" is
//! `!has(...)`. Every field on the way to a value is tested with `has()`, since selecting
//! a missing field is an error in CEL.

use palisade_model::{CheckMeta, Severity};

use crate::{namespace, pss, registry};

/// The kinds whose pod spec the policy reads, with their API group and resource.
pub const POD_KINDS: [(&str, &str, &str); 9] = [
    ("", "pods", "Pod"),
    ("", "replicationcontrollers", "ReplicationController"),
    ("", "podtemplates", "PodTemplate"),
    ("apps", "deployments", "Deployment"),
    ("apps", "replicasets", "ReplicaSet"),
    ("apps", "statefulsets", "StatefulSet"),
    ("apps", "daemonsets", "DaemonSet"),
    ("batch", "jobs", "Job"),
    ("batch", "cronjobs", "CronJob"),
];

/// Other kinds some exported check reads: (group, resource, kind).
pub const OTHER_KINDS: [(&str, &str, &str); 2] =
    [("", "services", "Service"), ("", "namespaces", "Namespace")];

/// The policy's variables, in order (a variable may read the ones before it). `{root}`
/// is `object`; [`variables_of`] also writes them for `oldObject`.
const VARIABLE_TEMPLATES: [(&str, &str); 5] = [
    (
        "hasPodSpec",
        "{root}.kind == 'Pod' ? has({root}.spec) : {root}.kind == 'PodTemplate' ? has({root}.template) && has({root}.template.spec) : {root}.kind == 'CronJob' ? has({root}.spec) && has({root}.spec.jobTemplate) && has({root}.spec.jobTemplate.spec) && has({root}.spec.jobTemplate.spec.template) && has({root}.spec.jobTemplate.spec.template.spec) : {root}.kind in ['ReplicationController', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job'] && has({root}.spec) && has({root}.spec.template) && has({root}.spec.template.spec)",
    ),
    (
        "podSpec",
        "{root}.kind == 'Pod' ? {root}.spec : {root}.kind == 'PodTemplate' ? {root}.template.spec : {root}.kind == 'CronJob' ? {root}.spec.jobTemplate.spec.template.spec : {root}.spec.template.spec",
    ),
    (
        "podAnnotations",
        "{root}.kind == 'Pod' ? (has({root}.metadata.annotations) ? {root}.metadata.annotations : {}) : {root}.kind == 'PodTemplate' ? (has({root}.template.metadata) && has({root}.template.metadata.annotations) ? {root}.template.metadata.annotations : {}) : {root}.kind == 'CronJob' ? (has({root}.spec.jobTemplate.spec.template.metadata) && has({root}.spec.jobTemplate.spec.template.metadata.annotations) ? {root}.spec.jobTemplate.spec.template.metadata.annotations : {}) : (has({root}.spec.template.metadata) && has({root}.spec.template.metadata.annotations) ? {root}.spec.template.metadata.annotations : {})",
    ),
    (
        "containers",
        "(has({vars}.podSpec.containers) ? {vars}.podSpec.containers : []) + (has({vars}.podSpec.initContainers) ? {vars}.podSpec.initContainers : [])",
    ),
    (
        "ephemeralContainers",
        "has({vars}.podSpec.ephemeralContainers) ? {vars}.podSpec.ephemeralContainers : []",
    ),
];

/// The policy's variables: (name, expression). `hasPodSpec`: the object holds a pod
/// spec; `podSpec` and `podAnnotations`: that spec and its pod's annotations (read only
/// when `hasPodSpec`); `containers`: init and regular containers; `ephemeralContainers`.
#[must_use]
pub fn variables() -> Vec<(&'static str, String)> {
    variables_of("object", "variables")
}

/// [`variables`] over `root` (`object` or `oldObject`), each later one reading the earlier
/// ones through `vars` (`variables`), or inlined when `vars` is empty.
#[must_use]
pub fn variables_of(root: &str, vars: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (name, template) in VARIABLE_TEMPLATES {
        let mut text = template.replace("{root}", root);
        if vars.is_empty() {
            // Inline the variables this one reads (for matchConditions, which have none).
            for (earlier, expr) in &out {
                text = text.replace(&format!("{{vars}}.{earlier}"), &format!("({expr})"));
            }
        } else {
            text = text.replace("{vars}", vars);
        }
        out.push((name, text));
    }
    out
}

/// One rule of an exported check: passes when `expression` is true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub expression: String,
    /// The severity of the findings it stands for.
    pub severity: Severity,
    /// What the check applies to: the objects the expression is read on.
    pub target: Target,
}

/// The objects an exported check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Objects holding a pod spec (`variables.hasPodSpec`).
    PodSpec,
    /// `kind: Service`, `apiVersion: v1`.
    Service,
    /// `kind: Namespace`.
    Namespace,
}

impl Target {
    /// The CEL condition for an object the check reads.
    #[must_use]
    pub fn condition(self) -> &'static str {
        match self {
            Target::PodSpec => "variables.hasPodSpec",
            Target::Service => "object.apiVersion == 'v1' && object.kind == 'Service'",
            Target::Namespace => "object.kind == 'Namespace'",
        }
    }
}

/// Whether and how a check is exported as CEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CelExport {
    Exported(Vec<Validation>),
    /// Why not.
    NotExportable(&'static str),
}

/// `has(b.x) && has(b.x.y)`: every field on `path` below `base` is set.
fn has(base: &str, path: &str) -> String {
    let mut parts = Vec::new();
    let mut at = base.to_owned();
    for field in path.split('.') {
        at = format!("{at}.{field}");
        parts.push(format!("has({at})"));
    }
    parts.join(" && ")
}

/// The field at `path` is unset, or `holds` of it (`{}` is the field).
fn unset_or(base: &str, path: &str, holds: &str) -> String {
    format!(
        "(!({}) || {})",
        has(base, path),
        holds.replace("{}", &format!("{base}.{path}"))
    )
}

/// The field at `path` is set and `holds` of it (`{}` is the field).
fn set_and(base: &str, path: &str, holds: &str) -> String {
    format!(
        "({} && {})",
        has(base, path),
        holds.replace("{}", &format!("{base}.{path}"))
    )
}

/// `pred` (over `c`) holds for every container, ephemeral ones included.
fn every_container(pred: &str) -> String {
    format!("variables.containers.all(c, {pred}) && variables.ephemeralContainers.all(c, {pred})")
}

/// `pred` (over `c`) holds for every init and regular container.
fn every_non_ephemeral(pred: &str) -> String {
    format!("variables.containers.all(c, {pred})")
}

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

const SPEC: &str = "variables.podSpec";
const WINDOWS: &str = "(has(variables.podSpec.os) && has(variables.podSpec.os.name) && variables.podSpec.os.name == 'windows')";
const USER_NAMESPACE: &str =
    "(has(variables.podSpec.hostUsers) && variables.podSpec.hostUsers == false)";

/// `{}` in ['RuntimeDefault', 'Localhost'], for a profile that must have a type.
fn profile_type_ok(profile: &str) -> String {
    format!("(has({profile}.type) && {profile}.type in ['RuntimeDefault', 'Localhost'])")
}

/// The pod's and every container's `securityContext.<field>` pass `holds` when set.
fn pod_and_containers_unset_or(field: &str, holds: &str) -> String {
    let path = format!("securityContext.{field}");
    format!(
        "{} && {}",
        unset_or(SPEC, &path, holds),
        every_container(&unset_or("c", &path, holds))
    )
}

fn pod_spec(expression: String, severity: Severity) -> Validation {
    Validation {
        expression,
        severity,
        target: Target::PodSpec,
    }
}

/// The Pod Security checks, at the newest version.
fn pss_expression(id: &str) -> Option<String> {
    let e = match id {
        "appArmorProfile" => {
            let ok = profile_type_ok("{}");
            format!(
                "{} && variables.podAnnotations.all(k, !k.startsWith('container.apparmor.security.beta.kubernetes.io/') || variables.podAnnotations[k] == '' || variables.podAnnotations[k] == 'runtime/default' || variables.podAnnotations[k].startsWith('localhost/'))",
                pod_and_containers_unset_or("appArmorProfile", &ok)
            )
        }
        "capabilities_baseline" => every_container(&unset_or(
            "c",
            "securityContext.capabilities.add",
            &format!(
                "{{}}.all(a, a in {})",
                list(pss::capabilities_baseline_allowed())
            ),
        )),
        "hostNamespaces" => ["hostNetwork", "hostPID", "hostIPC"]
            .map(|f| unset_or(SPEC, f, "{} != true"))
            .join(" && "),
        "hostPathVolumes" => unset_or(SPEC, "volumes", "{}.all(v, !has(v.hostPath))"),
        "hostPorts" => every_container(&unset_or(
            "c",
            "ports",
            "{}.all(p, !has(p.hostPort) || p.hostPort == 0)",
        )),
        "hostProbesAndHostLifecycle" => {
            let mut terms = Vec::new();
            for handler in [
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
                "lifecycle.postStart",
                "lifecycle.preStop",
            ] {
                for action in ["httpGet", "tcpSocket"] {
                    terms.push(unset_or("c", &format!("{handler}.{action}.host"), "{} == ''"));
                }
            }
            every_container(&terms.join(" && "))
        }
        "privileged" => every_container(&unset_or(
            "c",
            "securityContext.privileged",
            "{} != true",
        )),
        "procMount" => format!(
            "{USER_NAMESPACE} || {}",
            every_container(&unset_or("c", "securityContext.procMount", "{} == 'Default'"))
        ),
        "procMount_restricted" => {
            every_container(&unset_or("c", "securityContext.procMount", "{} == 'Default'"))
        }
        "seLinuxOptions" => pod_and_containers_unset_or(
            "seLinuxOptions",
            &format!(
                "((!has({{}}.type) || {{}}.type in {}) && (!has({{}}.user) || {{}}.user == '') && (!has({{}}.role) || {{}}.role == ''))",
                list(pss::se_linux_types_latest())
            ),
        ),
        "seccompProfile_baseline" => {
            pod_and_containers_unset_or("seccompProfile", &profile_type_ok("{}"))
        }
        "sysctls" => unset_or(
            SPEC,
            "securityContext.sysctls",
            &format!(
                "{{}}.all(x, has(x.name) && x.name in {})",
                list(&pss::safe_sysctls_latest())
            ),
        ),
        "windowsHostProcess" => {
            pod_and_containers_unset_or("windowsOptions.hostProcess", "{} != true")
        }
        "allowPrivilegeEscalation" => format!(
            "{WINDOWS} || {}",
            every_container(&set_and(
                "c",
                "securityContext.allowPrivilegeEscalation",
                "{} == false"
            ))
        ),
        "capabilities_restricted" => format!(
            "{WINDOWS} || {}",
            every_container(&format!(
                "{} && {}",
                set_and("c", "securityContext.capabilities.drop", "'ALL' in {}"),
                unset_or(
                    "c",
                    "securityContext.capabilities.add",
                    "{}.all(a, a == 'NET_BIND_SERVICE')"
                )
            ))
        ),
        "runAsNonRoot" => {
            let pod_true = set_and(SPEC, "securityContext.runAsNonRoot", "{} == true");
            format!(
                "{USER_NAMESPACE} || ({} && {})",
                unset_or(SPEC, "securityContext.runAsNonRoot", "{} == true"),
                every_container(&format!(
                    "({} ? c.securityContext.runAsNonRoot == true : {pod_true})",
                    has("c", "securityContext.runAsNonRoot")
                ))
            )
        }
        "runAsUser" => format!(
            "{USER_NAMESPACE} || ({})",
            pod_and_containers_unset_or("runAsUser", "{} != 0")
        ),
        "seccompProfile_restricted" => {
            let pod_valid = format!(
                "({} && {})",
                has(SPEC, "securityContext.seccompProfile"),
                profile_type_ok("variables.podSpec.securityContext.seccompProfile")
            );
            format!(
                "{WINDOWS} || ({} && {})",
                unset_or(SPEC, "securityContext.seccompProfile", &profile_type_ok("{}")),
                every_container(&format!(
                    "({} ? {} : {pod_valid})",
                    has("c", "securityContext.seccompProfile"),
                    profile_type_ok("c.securityContext.seccompProfile")
                ))
            )
        }
        _ => return None,
    };
    Some(e)
}

/// `restrictedVolumes`: a volume with no allowed source and a restricted one; hostPath
/// (the first restricted source upstream looks for) is graded high.
fn restricted_volumes(meta: &CheckMeta) -> Vec<Validation> {
    let allowed: Vec<String> = pss::restricted_volumes_allowed()
        .iter()
        .map(|k| format!("has(v.{k})"))
        .collect();
    let others: Vec<String> = pss::restricted_volumes_restricted()
        .iter()
        .filter(|k| **k != "hostPath")
        .map(|k| format!("has(v.{k})"))
        .collect();
    let allowed = allowed.join(" || ");
    vec![
        pod_spec(
            unset_or(
                SPEC,
                "volumes",
                &format!("{{}}.all(v, {allowed} || !has(v.hostPath))"),
            ),
            Severity::High,
        ),
        pod_spec(
            unset_or(
                SPEC,
                "volumes",
                &format!(
                    "{{}}.all(v, {allowed} || has(v.hostPath) || !({}))",
                    others.join(" || ")
                ),
            ),
            meta.severity,
        ),
    ]
}

/// The catalogue checks that CEL expresses exactly.
fn catalogue_expression(id: &str) -> Option<(String, Target)> {
    let pod = |e: String| Some((e, Target::PodSpec));
    match id {
        "readonly-root-filesystem" => pod(format!(
            "{WINDOWS} || {}",
            every_non_ephemeral(&set_and(
                "c",
                "securityContext.readOnlyRootFilesystem",
                "{} == true"
            ))
        )),
        "share-process-namespace" => pod(unset_or(SPEC, "shareProcessNamespace", "{} != true")),
        "memory-resources-missing" => pod(format!(
            "{} || {}",
            has(SPEC, "resources.limits.memory"),
            every_non_ephemeral(&has("c", "resources.limits.memory"))
        )),
        "cpu-resources-missing" => pod(format!(
            "{} || {} || {}",
            has(SPEC, "resources.requests.cpu"),
            has(SPEC, "resources.limits.cpu"),
            every_non_ephemeral(&format!(
                "{} || {}",
                has("c", "resources.requests.cpu"),
                has("c", "resources.limits.cpu")
            ))
        )),
        "ssh-port" => pod(every_container(&unset_or(
            "c",
            "ports",
            "{}.all(p, !has(p.containerPort) || p.containerPort != 22 || (has(p.protocol) && p.protocol != 'TCP'))",
        ))),
        "service-external-ips" => Some((
            unset_or("object", "spec.externalIPs", "size({}) == 0"),
            Target::Service,
        )),
        "kube-namespace-name" => Some((
            format!(
                "!has(object.metadata.name) || !object.metadata.name.startsWith('kube-') || object.metadata.name in {}",
                list(namespace::SYSTEM_NAMESPACES)
            ),
            Target::Namespace,
        )),
        _ => None,
    }
}

/// Why a check that is not exported is not.
fn not_exportable(meta: &CheckMeta) -> &'static str {
    if registry::whole_inventory_reason(meta.id).is_some() {
        return "it judges many objects together (see At admission), and a policy sees one";
    }
    if meta.category == palisade_model::Category::Node {
        return "it judges a node's files and kubelet configuration (`palisade node`), which no API request carries";
    }
    match meta.id {
        "run-as-root" | "privilege-escalation" | "capabilities-not-dropped" => {
            "it stays quiet where a Pod Security check already reports the same field, which depends on the profile; export the Pod Security checks, which are exportable"
        }
        "dangerous-capabilities" => {
            "it compares capability names case-insensitively with or without `CAP_` and grades each by what it allows; CEL in the API server has no case folding to match it exactly"
        }
        "sensitive-host-path" => {
            "it normalises host paths (`//`, `/./`, `..`, `/var/run` as `/run`) before matching them; CEL has no path normalisation"
        }
        "run-as-root-group" => {
            "its severity depends on which field sets GID 0 and whether a non-root UID goes with it, one finding per source; kept to `scan` and the webhook"
        }
        "service-account-token-automount" => {
            "whether the token is mounted also depends on the ServiceAccount object's own `automountServiceAccountToken`, which a policy on the pod cannot read"
        }
        "image-tag-latest" | "image-not-pinned" | "image-registry-not-allowed"
        | "image-pull-policy" => {
            "it parses image references as the container runtime does (default registry and `library/`, ports versus tags, digests); CEL's string functions cannot parse them exactly"
        }
        "env-credentials" | "configmap-credentials" | "annotation-credentials"
        | "secret-in-manifest" => {
            "credential detection runs provider patterns, checksums and entropy tests that CEL cannot express within the API server's cost budget"
        }
        "audit-policy-logs-secrets" => {
            "an audit Policy is a file kube-apiserver reads at start, never an object it admits"
        }
        "secret-env-var" => {
            "an informational inventory of where Secrets are read, not a rule to enforce"
        }
        "service-exposed" => {
            "it parses CIDRs in `loadBalancerSourceRanges` and grades by cloud-specific annotations; kept to `scan` and the webhook"
        }
        "ingress-no-tls" => {
            "it matches rule hosts against TLS hosts with certificate wildcard rules and case folding, which CEL cannot do exactly"
        }
        "default-namespace" => {
            "whether an object lands in `default` is decided by the request (`kubectl -n`), not the manifest it checks"
        }
        "namespace-pss-labels" => {
            "its severity depends on the namespace (lower for Kubernetes' own), which a policy's fixed action cannot follow"
        }
        "deprecated-api" => {
            "the API server itself refuses removed versions and warns on deprecated ones"
        }
        "duplicate-key" => {
            "a property of the YAML text; the API server receives parsed objects"
        }
        "cluster-version-unsupported" => "it judges the cluster's version, which is no object",
        "image-signature" | "image-vulnerable" => {
            "it needs the image's registry (signatures, layers) and offline databases; CEL sees only the object"
        }
        "kubernetes-version-vulnerable" => {
            "it matches the cluster's version against a vulnerability database, which is no object"
        }
        _ => match meta.category.as_str() {
            "rbac" | "network" => {
                "the analysis judges it on a model built from many objects (effective permissions, CIDR arithmetic), not one object's fields"
            }
            "control-plane" => {
                "control-plane components run as static pods the kubelet starts from files on the node, which admission never sees"
            }
            _ => "not expressed in CEL yet",
        },
    }
}

/// How check `meta` is exported as CEL.
#[must_use]
pub fn export(meta: &CheckMeta) -> CelExport {
    if meta.id == "restrictedVolumes" {
        return CelExport::Exported(restricted_volumes(meta));
    }
    if let Some(e) = pss_expression(meta.id) {
        return CelExport::Exported(vec![pod_spec(e, meta.severity)]);
    }
    if let Some((expression, target)) = catalogue_expression(meta.id) {
        return CelExport::Exported(vec![Validation {
            expression,
            severity: meta.severity,
            target,
        }]);
    }
    CelExport::NotExportable(not_exportable(meta))
}

/// A regular expression (RE2, as CEL's `matches`) for a glob (`*`, `?`, `[a-z]`, `[!a]`).
#[must_use]
pub fn glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut class = String::new();
                let mut closed = false;
                if chars.peek() == Some(&'!') {
                    chars.next();
                    class.push('^');
                }
                for c in chars.by_ref() {
                    if c == ']' && !class.is_empty() && class != "^" {
                        closed = true;
                        break;
                    }
                    if c == '\\' || c == '[' || c == ']' {
                        class.push('\\');
                    }
                    class.push(c);
                }
                if closed {
                    re.push('[');
                    re.push_str(&class);
                    re.push(']');
                } else {
                    re.push_str(r"\[");
                    re.push_str(&regex_escape(&class));
                }
            }
            c => re.push_str(&regex_escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The CEL condition under which a `palisade.dev/ignore` annotation value `a` names
/// check `meta` (by id or category) with a reason, as `scan` reads it; `*` is refused.
#[must_use]
pub fn ignore_condition(meta: &CheckMeta) -> String {
    let names = format!(
        "{}|{}",
        regex_escape(meta.id),
        regex_escape(meta.category.as_str())
    );
    // ids before the first `:` are comma-separated; the reason after it is not blank.
    let pattern = format!(r"^([^:,]*,)*\s*({names})\s*(,[^:]*)?:(?s).*\S");
    format!(
        "a.matches('{}') && !a.matches('^[^:]*[*]')",
        cel_single_quoted(&pattern)
    )
}

/// `text` escaped for a CEL single-quoted string.
#[must_use]
pub fn cel_single_quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_is_exported_or_says_why() {
        let mut exported = 0;
        for c in crate::registry() {
            match export(c.meta()) {
                CelExport::Exported(v) => {
                    exported += 1;
                    assert!(!v.is_empty());
                    for rule in v {
                        // Balanced, so the generated text is at least well formed.
                        let open = rule.expression.matches('(').count();
                        assert_eq!(
                            open,
                            rule.expression.matches(')').count(),
                            "{}",
                            c.meta().id
                        );
                    }
                }
                CelExport::NotExportable(why) => {
                    assert_ne!(why, "not expressed in CEL yet", "{}", c.meta().id);
                }
            }
        }
        // Every Pod Security check, and the catalogue checks CEL expresses exactly.
        assert_eq!(exported, pss::CHECKS.len() + 7);
    }

    #[test]
    fn globs_become_anchored_regexes() {
        assert_eq!(glob_to_regex("kube-*"), r"^kube-.*$");
        assert_eq!(glob_to_regex("team-?"), r"^team-.$");
        assert_eq!(glob_to_regex("ns[0-9]"), r"^ns[0-9]$");
        assert_eq!(glob_to_regex("ns[!a]"), r"^ns[^a]$");
        assert_eq!(glob_to_regex("a.b"), r"^a\.b$");
    }

    #[test]
    fn has_guards_each_step() {
        assert_eq!(
            has("c", "securityContext.privileged"),
            "has(c.securityContext) && has(c.securityContext.privileged)"
        );
    }
}
