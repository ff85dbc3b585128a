//! The authorizer's semantics, case by case; most cases follow the examples of the
//! Kubernetes RBAC documentation (https://kubernetes.io/docs/reference/access-authn-authz/rbac/).

use std::sync::Arc;

use palisade_inventory::{map_objects_in_text, objects_in};
use palisade_source::{parse_document, split_documents, Limits};

use crate::*;

pub(crate) fn records(yaml: &str) -> Vec<RbacRecord> {
    let (records, errors) = map_objects_in_text(
        &Arc::from("test.yaml"),
        yaml,
        &Limits::default(),
        &record_of,
    );
    assert!(errors.is_empty(), "{errors:?}");
    records
}

pub(crate) fn model(yaml: &str) -> Model {
    Model::build(records(yaml))
}

fn user(name: &str) -> User {
    User::impersonated(name, &[])
}

fn req(verb: &str, group: &str, resource: &str, ns: &str) -> Request {
    Request::resource(verb, group, resource, ns)
}

fn can(m: &Model, who: &User, r: &Request) -> bool {
    m.authorize(who, r).is_some()
}

const POD_READER: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {namespace: default, name: pod-reader}
rules:
- apiGroups: [\"\"]
  resources: [pods]
  verbs: [get, watch, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods, namespace: default}
subjects:
- {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
";

#[test]
fn role_binding_grants_only_in_its_namespace_and_only_named_verbs() {
    let m = model(POD_READER);
    let jane = user("jane");
    assert!(can(&m, &jane, &req("get", "", "pods", "default")));
    assert!(can(&m, &jane, &req("list", "", "pods", "default")));
    assert!(!can(&m, &jane, &req("delete", "", "pods", "default")));
    assert!(!can(&m, &jane, &req("get", "", "pods", "other")));
    assert!(!can(&m, &jane, &req("get", "", "pods", "")), "cluster-wide");
    assert!(
        !can(&m, &jane, &req("get", "apps", "pods", "default")),
        "other group"
    );
    assert!(!can(&m, &user("bob"), &req("get", "", "pods", "default")));
    // A rule for `pods` does not cover a subresource.
    let mut log = req("get", "", "pods", "default");
    log.subresource = "log".into();
    assert!(!can(&m, &jane, &log));
}

#[test]
fn explain_names_binding_role_and_rule() {
    let m = model(POD_READER);
    let Some(Reason::Rbac(g)) = m.authorize(&user("jane"), &req("watch", "", "pods", "default"))
    else {
        panic!("expected an RBAC grant");
    };
    assert_eq!(
        m.bindings[g.binding].display(),
        "RoleBinding default/read-pods"
    );
    assert_eq!(m.roles[g.role].display(), "Role default/pod-reader");
    assert_eq!(g.rule, 0);
    assert_eq!(m.roles[g.rule_role].rules[0].at.line, 6);
}

#[test]
fn cluster_role_through_role_binding_is_namespaced() {
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: secret-reader}
rules:
- {apiGroups: [\"\"], resources: [secrets], verbs: [get, watch, list]}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: read-secrets, namespace: development}
subjects: [{kind: User, name: dave}]
roleRef: {kind: ClusterRole, name: secret-reader}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: read-secrets-global}
subjects: [{kind: Group, name: manager}]
roleRef: {kind: ClusterRole, name: secret-reader}
",
    );
    let dave = user("dave");
    assert!(can(&m, &dave, &req("get", "", "secrets", "development")));
    assert!(!can(&m, &dave, &req("get", "", "secrets", "production")));
    assert!(!can(&m, &dave, &req("list", "", "secrets", "")));
    let manager = User::impersonated("carol", &["manager".into()]);
    assert!(can(&m, &manager, &req("list", "", "secrets", "")));
    assert!(can(&m, &manager, &req("get", "", "secrets", "production")));
}

#[test]
fn resource_names_restrict_to_named_objects() {
    let m = model(
        "
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: default, name: configmap-updater}
rules:
- apiGroups: [\"\"]
  resources: [configmaps]
  resourceNames: [my-configmap]
  verbs: [update, get]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: default, name: b}
subjects: [{kind: User, name: u}]
roleRef: {kind: Role, name: configmap-updater}
",
    );
    let u = user("u");
    let mut r = req("get", "", "configmaps", "default");
    assert!(
        !can(&m, &u, &r),
        "no name: a list or unnamed get is not covered"
    );
    r.name = "my-configmap".into();
    assert!(can(&m, &u, &r));
    r.name = "other".into();
    assert!(!can(&m, &u, &r));
}

const WILDCARDS: &str = "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: mixed}
rules:
- {apiGroups: [\"\"], resources: [pods, pods/log], verbs: [get]}
- {apiGroups: [apps], resources: [\"*/scale\"], verbs: [update]}
- {apiGroups: [\"*\"], resources: [widgets], verbs: [\"*\"]}
- {nonResourceURLs: [/healthz, \"/healthz/*\", /metrics], verbs: [get]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: b}
subjects: [{kind: User, name: u}]
roleRef: {kind: ClusterRole, name: mixed}
";

#[test]
fn subresources_and_star_slash_subresource() {
    let m = model(WILDCARDS);
    let u = user("u");
    let mut log = req("get", "", "pods", "ns");
    log.subresource = "log".into();
    assert!(can(&m, &u, &log));
    log.subresource = "exec".into();
    assert!(!can(&m, &u, &log));
    let mut scale = req("update", "apps", "deployments", "ns");
    scale.subresource = "scale".into();
    assert!(can(&m, &u, &scale));
    scale.subresource = String::new();
    assert!(
        !can(&m, &u, &scale),
        "*/scale does not cover the resource itself"
    );
}

#[test]
fn star_verbs_and_groups() {
    let m = model(WILDCARDS);
    let u = user("u");
    for verb in ["get", "delete", "deletecollection", "escalate"] {
        assert!(
            can(&m, &u, &req(verb, "example.com", "widgets", "ns")),
            "{verb}"
        );
    }
    assert!(can(&m, &u, &req("get", "", "widgets", "")));
    assert!(!can(&m, &u, &req("get", "example.com", "gadgets", "ns")));
}

#[test]
fn non_resource_urls_exact_and_star_suffix() {
    let m = model(WILDCARDS);
    let u = user("u");
    let get = |p: &str| can(&m, &u, &Request::non_resource("get", p));
    assert!(get("/healthz"));
    assert!(get("/healthz/etcd"));
    assert!(get("/healthz/"));
    assert!(get("/metrics"));
    assert!(!get("/metrics/cadvisor"));
    assert!(!get("/healthzfoo"), "the prefix is /healthz/, not /healthz");
    assert!(!can(&m, &u, &Request::non_resource("post", "/healthz")));
}

#[test]
fn non_resource_urls_only_through_cluster_role_bindings() {
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: urls}
rules: [{nonResourceURLs: [\"*\"], verbs: [get]}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: b, namespace: ns}
subjects: [{kind: User, name: u}]
roleRef: {kind: ClusterRole, name: urls}
",
    );
    assert!(!can(&m, &user("u"), &Request::non_resource("get", "/logs")));
}

#[test]
fn aggregation_collects_rules_by_label_transitively() {
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {rbac.example.com/aggregate-to-monitoring: \"true\"}
rules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: monitoring-endpoints
  labels: {rbac.example.com/aggregate-to-monitoring: \"true\"}
rules: [{apiGroups: [\"\"], resources: [services, endpointslices, pods], verbs: [get, list, watch]}]
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: nested
  labels: {rbac.example.com/aggregate-to-monitoring: \"true\"}
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions: [{key: extra, operator: Exists}]
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: extra-rules, labels: {extra: yes}}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [list]}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: b}
subjects: [{kind: User, name: u}]
roleRef: {kind: ClusterRole, name: monitoring}
",
    );
    let u = user("u");
    assert!(can(&m, &u, &req("list", "", "endpointslices", "")));
    assert!(
        can(&m, &u, &req("list", "apps", "deployments", "x")),
        "through nested"
    );
    // The controller overwrites an aggregated role's own rules.
    assert!(!can(&m, &u, &req("get", "", "secrets", "x")));
    let Some(Reason::Rbac(g)) = m.authorize(&u, &req("watch", "", "pods", "")) else {
        panic!()
    };
    assert_eq!(m.roles[g.role].name, "monitoring");
    assert_eq!(m.roles[g.rule_role].name, "monitoring-endpoints");
}

#[test]
fn service_account_subjects_and_groups() {
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: r}
rules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: sa-default-ns, namespace: dev}
subjects: [{kind: ServiceAccount, name: builder}]
roleRef: {kind: ClusterRole, name: r}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: qa-all}
subjects: [{kind: Group, name: \"system:serviceaccounts:qa\"}]
roleRef: {kind: ClusterRole, name: r}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: no-namespace}
subjects: [{kind: ServiceAccount, name: orphan}]
roleRef: {kind: ClusterRole, name: r}
",
    );
    let get = |ns: &str| req("get", "", "configmaps", ns);
    // A ServiceAccount subject without a namespace is in the RoleBinding's namespace.
    assert!(can(
        &m,
        &User::service_account("dev", "builder"),
        &get("dev")
    ));
    assert!(!can(
        &m,
        &User::service_account("other", "builder"),
        &get("dev")
    ));
    // system:serviceaccounts:<ns> holds every account of that namespace.
    assert!(can(&m, &User::service_account("qa", "anything"), &get("")));
    assert!(!can(
        &m,
        &User::service_account("dev", "anything"),
        &get("")
    ));
    // In a ClusterRoleBinding such a subject matches nobody.
    assert!(!can(
        &m,
        &User::service_account("default", "orphan"),
        &get("")
    ));
    // The user name alone is not the account when groups are given explicitly.
    let explicit = User::impersonated("system:serviceaccount:qa:x", &["custom".into()]);
    assert!(!can(&m, &explicit, &get("")));
    assert_eq!(explicit.groups, ["custom", "system:authenticated"]);
}

#[test]
fn implicit_groups() {
    let sa = User::service_account("ns", "app");
    assert_eq!(
        sa.groups,
        [
            "system:serviceaccounts",
            "system:serviceaccounts:ns",
            "system:authenticated"
        ]
    );
    assert_eq!(user("system:anonymous").groups, ["system:unauthenticated"]);
    assert_eq!(user("alice").groups, ["system:authenticated"]);
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: r}
rules: [{apiGroups: [\"\"], resources: [namespaces], verbs: [list]}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: all-authenticated}
subjects: [{kind: Group, name: \"system:authenticated\"}]
roleRef: {kind: ClusterRole, name: r}
",
    );
    let list = req("list", "", "namespaces", "");
    assert!(can(&m, &user("alice"), &list));
    assert!(can(&m, &sa, &list));
    assert!(!can(&m, &user("system:anonymous"), &list));
}

#[test]
fn system_masters_is_allowed_before_rbac() {
    let m = Model::build_with(Vec::new(), false);
    let admin = User::impersonated("kubernetes-admin", &["system:masters".into()]);
    assert_eq!(
        m.authorize(&admin, &req("delete", "", "nodes", "")),
        Some(Reason::PrivilegedGroup)
    );
}

#[test]
fn default_roles_are_assumed_unless_defined() {
    let m = model(
        "
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: viewers, namespace: shop}
subjects: [{kind: Group, name: auditors}]
roleRef: {kind: ClusterRole, name: view}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: editors, namespace: shop}
subjects: [{kind: User, name: dev}]
roleRef: {kind: ClusterRole, name: edit}
",
    );
    let auditor = User::impersonated("a", &["auditors".into()]);
    assert!(can(&m, &auditor, &req("list", "", "pods", "shop")));
    assert!(can(
        &m,
        &auditor,
        &req("get", "apps", "deployments", "shop")
    ));
    assert!(
        !can(&m, &auditor, &req("get", "", "secrets", "shop")),
        "view excludes secrets"
    );
    assert!(!can(&m, &auditor, &req("list", "", "pods", "other")));
    let dev = user("dev");
    assert!(can(&m, &dev, &req("create", "apps", "deployments", "shop")));
    assert!(can(&m, &dev, &req("get", "", "secrets", "shop")));
    assert!(!can(
        &m,
        &dev,
        &req(
            "create",
            "rbac.authorization.k8s.io",
            "rolebindings",
            "shop"
        )
    ));
    // Every authenticated user may review its own access, through default bindings.
    assert!(can(
        &m,
        &dev,
        &req(
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            ""
        )
    ));
    assert!(can(
        &m,
        &user("system:anonymous"),
        &Request::non_resource("get", "/version")
    ));
    // An input definition replaces the default one.
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: view}
rules: []
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: v}
subjects: [{kind: User, name: x}]
roleRef: {kind: ClusterRole, name: view}
",
    );
    assert!(!can(&m, &user("x"), &req("list", "", "pods", "")));
}

#[test]
fn dangling_role_refs_grant_nothing() {
    let m = model(
        "
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: r, namespace: a}
rules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: b, namespace: other}
subjects: [{kind: User, name: u}]
roleRef: {kind: Role, name: r}
",
    );
    assert_eq!(
        m.binding_role[0], None,
        "a Role is looked up in the binding's namespace"
    );
    assert!(!can(&m, &user("u"), &req("get", "", "pods", "other")));
}

#[test]
fn who_can_lists_every_subject_with_its_grant() {
    let m = model(&format!(
        "{POD_READER}---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {{name: admins}}
subjects: [{{kind: Group, name: ops}}, {{kind: ServiceAccount, name: ci, namespace: tools}}]
roleRef: {{kind: ClusterRole, name: cluster-admin}}
"
    ));
    let mut names: Vec<String> = m
        .who_can(&req("get", "", "pods", "default"), false)
        .iter()
        .map(|(s, g)| format!("{} via {}", s.display(), m.bindings[g.binding].display()))
        .collect();
    names.sort();
    assert!(names.contains(&"User jane via RoleBinding default/read-pods".to_owned()));
    assert!(names.contains(&"Group ops via ClusterRoleBinding admins".to_owned()));
    assert!(names.contains(&"ServiceAccount tools/ci via ClusterRoleBinding admins".to_owned()));
    // Default bindings: system:masters holds cluster-admin.
    assert!(names.contains(&"Group system:masters via ClusterRoleBinding cluster-admin".to_owned()));
    let elsewhere = m.who_can(&req("get", "", "pods", "kube-public"), false);
    assert!(!elsewhere.iter().any(|(s, _)| s.name == "jane"));
    let everywhere = m.who_can(&req("get", "", "pods", ""), true);
    assert!(everywhere.iter().any(|(s, _)| s.name == "jane"));
}

#[test]
fn resources_resolve_as_kubectl_does() {
    let r = resolve_resource("deploy");
    assert_eq!(
        (r.group.as_str(), r.resource.as_str()),
        ("apps", "deployments")
    );
    let r = resolve_resource("jobs.batch");
    assert_eq!((r.group.as_str(), r.resource.as_str()), ("batch", "jobs"));
    let r = resolve_resource("po");
    assert_eq!(
        (r.group.as_str(), r.resource.as_str(), r.namespaced),
        ("", "pods", Some(true))
    );
    let r = resolve_resource("applications.argoproj.io");
    assert_eq!(
        (r.group.as_str(), r.resource.as_str(), r.namespaced),
        ("argoproj.io", "applications", None)
    );
    assert_eq!(resolve_resource("nodes").namespaced, Some(false));
}

#[test]
fn malformed_objects_are_problems_with_places() {
    let yaml = "kind: RoleBinding\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: b, namespace: x}\nsubjects: [{kind: Robot, name: r}]\nroleRef: {kind: Role, name: r}\n";
    let chunk = &split_documents(yaml)[0];
    let doc = parse_document(yaml, chunk, &Limits::default()).unwrap();
    let objects = objects_in(&doc).0;
    let (at, message) = extract(&objects[0], &[], None).unwrap_err();
    assert_eq!((at.line, at.path.as_str()), (4, "subjects[0]"));
    assert!(message.contains("Robot"), "{message}");
}

fn chains_of(m: &Model, kind: SubjectKind, name: &str) -> Vec<Vec<StepKind>> {
    escalations(m)
        .into_iter()
        .filter(|c| c.subject.kind == kind && c.subject.name == name)
        .map(|c| c.steps.iter().map(|s| s.kind).collect())
        .collect()
}

#[test]
fn escalation_through_pod_creation_to_a_privileged_account() {
    let m = model(
        "
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: deployer, namespace: ci}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [create]}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: dev-deploys, namespace: ci}
subjects: [{kind: User, name: dev}]
roleRef: {kind: Role, name: deployer}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: binder}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: ci-binder}
subjects: [{kind: ServiceAccount, name: release, namespace: ci}]
roleRef: {kind: ClusterRole, name: binder}
",
    );
    assert_eq!(
        chains_of(&m, SubjectKind::User, "dev"),
        [vec![StepKind::CreatePod, StepKind::BindClusterAdmin]]
    );
    assert_eq!(
        chains_of(&m, SubjectKind::ServiceAccount, "release"),
        [vec![StepKind::BindClusterAdmin]]
    );
    let c = escalations(&m)
        .into_iter()
        .find(|c| c.subject.name == "dev")
        .unwrap();
    assert!(
        c.steps[0].how.contains("deployments in namespace ci"),
        "{}",
        c.steps[0].how
    );
    assert_eq!(
        c.steps[0].to,
        Target::Principal(Principal {
            kind: SubjectKind::ServiceAccount,
            name: "release".into(),
            namespace: "ci".into()
        })
    );
}

#[test]
fn escalation_by_impersonation_token_and_exec() {
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: imp}
rules: [{apiGroups: [\"\"], resources: [groups], verbs: [impersonate]}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: imp}
subjects: [{kind: User, name: mallory}]
roleRef: {kind: ClusterRole, name: imp}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: imp-user}
rules: [{apiGroups: [\"\"], resources: [users], verbs: [impersonate], resourceNames: [nobody]}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: imp-both}
subjects: [{kind: User, name: mallet}]
roleRef: {kind: ClusterRole, name: imp}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: imp-user}
subjects: [{kind: User, name: mallet}]
roleRef: {kind: ClusterRole, name: imp-user}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: ops-admin}
subjects: [{kind: Group, name: ops}, {kind: ServiceAccount, name: admin-bot, namespace: tools}]
roleRef: {kind: ClusterRole, name: cluster-admin}
---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: token, namespace: tools}
rules:
- {apiGroups: [\"\"], resources: [serviceaccounts/token], verbs: [create], resourceNames: [admin-bot]}
- {apiGroups: [\"\"], resources: [pods/exec], verbs: [create]}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: token, namespace: tools}
subjects: [{kind: User, name: tina}]
roleRef: {kind: Role, name: token}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bot, namespace: tools}
spec:
  template:
    spec:
      serviceAccountName: admin-bot
      containers: [{name: c, image: x}]
",
    );
    // Groups alone cannot be impersonated: the API server wants a user as well.
    assert!(chains_of(&m, SubjectKind::User, "mallory").is_empty());
    let mallet = chains_of(&m, SubjectKind::User, "mallet");
    // Impersonating system:masters is one step; longer ways (as group ops) are moot.
    assert_eq!(mallet, [vec![StepKind::Impersonate]]);
    let tina = chains_of(&m, SubjectKind::User, "tina");
    assert!(
        tina.contains(&vec![StepKind::CreateToken, StepKind::HoldsAll]),
        "{tina:?}"
    );
    // Exec into the bot's pods reaches the same account another way.
    assert!(
        tina.contains(&vec![StepKind::ExecPod, StepKind::HoldsAll]),
        "{tina:?}"
    );
    assert_eq!(tina.len(), 2, "{tina:?}");
    assert_eq!(
        chains_of(&m, SubjectKind::Group, "ops"),
        [vec![StepKind::HoldsAll]]
    );
}

#[test]
fn no_escalation_for_harmless_roles() {
    let m = model(POD_READER);
    assert!(chains_of(&m, SubjectKind::User, "jane").is_empty());
}

#[test]
fn indexed_who_can_agrees_with_each_role_evaluated_alone() {
    // The default roles (aggregated admin/edit/view, wildcards, subresources) plus odd ones.
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: odd}
rules:
- {apiGroups: [\"*\"], resources: [\"*/scale\"], verbs: [update]}
- {apiGroups: [\"\"], resources: [pods, \"pods/*\"], verbs: [\"*\"], resourceNames: [web]}
- {nonResourceURLs: [\"/healthz/*\"], verbs: [get]}
---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: everything, namespace: x}
rules: [{apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}]
",
    );
    let mut requests = Vec::new();
    for (verb, group, resource, sub) in [
        ("get", "", "pods", ""),
        ("create", "", "pods", "exec"),
        ("get", "", "pods", "log"),
        ("update", "apps", "deployments", "scale"),
        ("list", "", "secrets", ""),
        ("impersonate", "", "users", ""),
        ("bind", "rbac.authorization.k8s.io", "clusterroles", ""),
        ("create", "", "serviceaccounts", "token"),
        ("delete", "", "pods", ""),
    ] {
        for name in ["", "web"] {
            let mut r = req(verb, group, resource, "x");
            r.subresource = sub.into();
            r.name = name.into();
            requests.push(r);
        }
    }
    requests.push(Request::non_resource("get", "/healthz/ready"));
    let mut allowed = 0;
    for r in &requests {
        let verdicts = m.role_verdicts(r);
        for (role, verdict) in verdicts.iter().enumerate() {
            assert_eq!(
                *verdict,
                m.role_allows(role, r),
                "{} for role {}",
                r.describe(),
                m.roles[role].name
            );
            allowed += usize::from(verdict.is_some());
        }
    }
    assert!(
        allowed > 50,
        "the requests should be allowed by many roles: {allowed}"
    );
}

#[test]
fn bootstrap_defaults_are_generated_from_the_recordings() {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let recordings = crate_dir.join("../../testdata/apiserver");
    let out = std::process::Command::new("python3")
        .arg(crate_dir.join("data/bootstrap.py"))
        .arg(&recordings)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    let stored = std::fs::read_to_string(crate_dir.join("data/bootstrap.yaml")).unwrap();
    assert!(
        generated == stored,
        "data/bootstrap.yaml is stale: run `python3 data/bootstrap.py {} > data/bootstrap.yaml`",
        recordings.display()
    );
}

#[test]
fn bootstrap_defaults_include_the_kube_system_roles() {
    let m = model("");
    let reader = m
        .find_role(
            false,
            "kube-system",
            "extension-apiserver-authentication-reader",
        )
        .expect("the default Role exists");
    assert!(m
        .find_role(
            false,
            "default",
            "extension-apiserver-authentication-reader"
        )
        .is_none());
    // Its default binding grants the ConfigMap to the scheduler and controller-manager users.
    let mut get = req("get", "", "configmaps", "kube-system");
    get.name = "extension-apiserver-authentication".into();
    let Some(Reason::Rbac(g)) = m.authorize(&user("system:kube-scheduler"), &get) else {
        panic!("the scheduler reads the authentication ConfigMap")
    };
    assert_eq!(g.role, reader);
    assert_eq!(m.bindings[g.binding].namespace, "kube-system");
}

#[test]
fn an_empty_aggregation_selector_collects_every_cluster_role() {
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: all}
aggregationRule: {clusterRoleSelectors: [{}]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: jane-all}
subjects: [{kind: User, name: jane}]
roleRef: {kind: ClusterRole, name: all}
",
    );
    // cluster-admin's rules are among them.
    assert!(can(
        &m,
        &user("jane"),
        &req("delete", "", "secrets", "kube-system")
    ));
    assert_eq!(
        chains_of(&m, SubjectKind::User, "jane"),
        [vec![StepKind::HoldsAll]]
    );
}

#[test]
fn kubectl_resource_arguments_and_implicit_groups() {
    let r = resolve_resource("deployments.v1.apps");
    assert_eq!(
        (r.group.as_str(), r.resource.as_str()),
        ("apps", "deployments")
    );
    let r = resolve_resource("widgets.v1beta2.example.com");
    assert_eq!(
        (r.group.as_str(), r.resource.as_str()),
        ("example.com", "widgets")
    );
    // Not a version: the whole rest is the group.
    let r = resolve_resource("widgets.vx.example.com");
    assert_eq!(r.group, "vx.example.com");
    // kubectl asks `*` in the core group.
    let r = resolve_resource("*");
    assert_eq!((r.group.as_str(), r.resource.as_str()), ("", "*"));
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: core-only}
rules:
- {apiGroups: [\"\"], resources: [\"*\"], verbs: [\"*\"]}
- {nonResourceURLs: [\"/logs**\"], verbs: [get]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: b}
subjects: [{kind: User, name: core}, {kind: Group, name: \"system:authenticated\"}]
roleRef: {kind: ClusterRole, name: core-only}
",
    );
    assert!(can(&m, &user("core"), &req("*", "", "*", "")));
    assert!(!can(&m, &user("core"), &req("*", "*", "*", "")));
    // Every trailing `*` is trimmed before the prefix match.
    assert!(can(
        &m,
        &user("core"),
        &Request::non_resource("get", "/logs/kubelet")
    ));
    // Naming system:unauthenticated leaves system:authenticated out.
    let bob = User::impersonated("bob", &["system:unauthenticated".to_owned()]);
    assert!(!bob.groups.iter().any(|g| g == "system:authenticated"));
    assert!(!can(&m, &bob, &req("get", "", "pods", "x")));
    assert!(can(&m, &user("bob"), &req("get", "", "pods", "x")));
}

/// A namespace `apps` holding a cluster-admin workload, plus one Role per case bound to
/// a user named after it.
fn escalation_cases(cases: &[(&str, &str)]) -> Model {
    let mut yaml = String::from(
        "
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: robot-admin}
subjects: [{kind: ServiceAccount, name: robot, namespace: apps}]
roleRef: {kind: ClusterRole, name: cluster-admin}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: robot, namespace: apps}
spec:
  template:
    spec:
      serviceAccountName: \"\"
      serviceAccount: robot
      containers: [{name: c, image: x}]
",
    );
    for (user, rules) in cases {
        yaml.push_str(&format!(
            "---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {{name: {user}, namespace: apps}}
rules:
{rules}---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {{name: {user}, namespace: apps}}
subjects: [{{kind: User, name: {user}}}]
roleRef: {{kind: Role, name: {user}}}
"
        ));
    }
    model(&yaml)
}

#[test]
fn escalation_through_every_way_into_a_namespace() {
    let m = escalation_cases(&[
        // Before v1.35 a WebSocket exec is authorized as `get`.
        ("ws-exec", "- {apiGroups: [\"\"], resources: [pods/exec], verbs: [get]}\n"),
        ("attacher", "- {apiGroups: [\"\"], resources: [pods/attach], verbs: [create]}\n"),
        ("debugger", "- {apiGroups: [\"\"], resources: [pods/ephemeralcontainers], verbs: [patch]}\n"),
        ("editor", "- {apiGroups: [apps], resources: [deployments], verbs: [update]}\n"),
        ("secret-maker", "- {apiGroups: [\"\"], resources: [secrets], verbs: [create, get]}\n"),
        ("binder", "- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}\n- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [edit]}\n"),
        // Not enough on their own.
        ("pod-patcher", "- {apiGroups: [\"\"], resources: [pods], verbs: [update, patch]}\n"),
        ("job-patcher", "- {apiGroups: [batch], resources: [jobs], verbs: [update, patch]}\n"),
        ("secret-writer", "- {apiGroups: [\"\"], resources: [secrets], verbs: [create]}\n"),
        ("binder-only", "- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}\n"),
        ("log-reader", "- {apiGroups: [\"\"], resources: [pods/log], verbs: [get]}\n"),
    ]);
    for (user, kind) in [
        ("ws-exec", StepKind::ExecPod),
        ("attacher", StepKind::ExecPod),
        ("debugger", StepKind::ExecPod),
        ("editor", StepKind::CreatePod),
        ("secret-maker", StepKind::CreateToken),
        ("binder", StepKind::BindInNamespace),
    ] {
        assert_eq!(
            chains_of(&m, SubjectKind::User, user),
            [vec![kind, StepKind::HoldsAll]],
            "{user}"
        );
    }
    for user in [
        "pod-patcher",
        "job-patcher",
        "secret-writer",
        "binder-only",
        "log-reader",
    ] {
        assert!(chains_of(&m, SubjectKind::User, user).is_empty(), "{user}");
    }
    let words: Vec<String> = escalations(&m)
        .into_iter()
        .filter(|c| c.subject.kind == SubjectKind::User)
        .map(|c| c.steps[0].how.clone())
        .collect();
    for expected in [
        "can get pods/exec in namespace apps: pods of Deployment apps/robot run as ServiceAccount apps/robot",
        "can update deployments in namespace apps, to run a pod as ServiceAccount apps/robot",
        "can bind ClusterRole edit to itself in namespace apps with a RoleBinding",
        "can create and read Secrets in namespace apps",
    ] {
        assert!(words.iter().any(|w| w.starts_with(expected)), "{expected}: {words:#?}");
    }
}

#[test]
fn one_step_escalations_by_name_and_signer_wildcard() {
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: self-editor}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [patch, escalate], resourceNames: [self-editor]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: self-editor}
subjects: [{kind: User, name: sam}]
roleRef: {kind: ClusterRole, name: self-editor}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: other-editor}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [patch, escalate], resourceNames: [unbound]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: other-editor}
subjects: [{kind: User, name: olga}]
roleRef: {kind: ClusterRole, name: other-editor}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: approver}
rules:
- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [create]}
- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [patch]}
- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: [\"kubernetes.io/*\"]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: approver}
subjects: [{kind: User, name: carl}]
roleRef: {kind: ClusterRole, name: approver}
",
    );
    assert_eq!(
        chains_of(&m, SubjectKind::User, "sam"),
        [vec![StepKind::EscalateRole]]
    );
    assert!(chains_of(&m, SubjectKind::User, "olga").is_empty());
    assert_eq!(
        chains_of(&m, SubjectKind::User, "carl"),
        [vec![StepKind::ApproveCertificate]]
    );
}

#[test]
fn a_chain_through_a_namespace_never_counts_the_subject_itself() {
    // ServiceAccount a/i creates pods in namespaces a and b. In a, the other account is
    // four steps from cluster-admin and i itself two: the way through b (two steps) is
    // the shortest pod-creation chain, not the one through a.
    let role = |ns: &str, name: &str, rule: &str, subjects: &[(&str, &str)]| {
        let subjects: Vec<String> = subjects
            .iter()
            .map(|(ns, sa)| format!("{{kind: ServiceAccount, name: {sa}, namespace: {ns}}}"))
            .collect();
        format!(
            "---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {{name: {name}, namespace: {ns}}}
rules: [{rule}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {{name: {name}, namespace: {ns}}}
subjects: [{}]
roleRef: {{kind: Role, name: {name}}}
",
            subjects.join(", ")
        )
    };
    let token = |name: &str| {
        format!("{{apiGroups: [\"\"], resources: [serviceaccounts/token], verbs: [create], resourceNames: [{name}]}}")
    };
    let pods = "{apiGroups: [\"\"], resources: [pods], verbs: [create]}";
    let yaml = [
        "kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: root}
subjects: [{kind: ServiceAccount, name: root, namespace: t}]
roleRef: {kind: ClusterRole, name: cluster-admin}
"
        .to_owned(),
        role(
            "t",
            "root-token",
            &token("root"),
            &[("a", "i"), ("b", "fast"), ("e", "s3")],
        ),
        role("e", "s3-token", &token("s3"), &[("d", "s2")]),
        role("d", "s2-token", &token("s2"), &[("a", "slow")]),
        role("a", "pods", pods, &[("a", "i")]),
        role("b", "pods", pods, &[("a", "i")]),
    ]
    .concat();
    let m = model(&yaml);
    assert_eq!(
        chains_of(&m, SubjectKind::ServiceAccount, "slow"),
        [vec![StepKind::CreateToken; 3]
            .into_iter()
            .chain([StepKind::HoldsAll])
            .collect::<Vec<_>>()]
    );
    let i = chains_of(&m, SubjectKind::ServiceAccount, "i");
    assert_eq!(
        i,
        [
            vec![StepKind::CreateToken, StepKind::HoldsAll],
            vec![
                StepKind::CreatePod,
                StepKind::CreateToken,
                StepKind::HoldsAll
            ],
        ]
    );
    let through = escalations(&m)
        .into_iter()
        .find(|c| c.subject.name == "i" && c.steps[0].kind == StepKind::CreatePod)
        .unwrap();
    assert!(
        through.steps[0].how.contains("ServiceAccount b/fast"),
        "{}",
        through.steps[0].how
    );
}

#[test]
fn pods_can_run_as_the_default_account_a_group_empowers() {
    let m = model(
        "
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: ci-accounts-admin}
subjects: [{kind: Group, name: \"system:serviceaccounts:ci\"}]
roleRef: {kind: ClusterRole, name: cluster-admin}
---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: pods, namespace: ci}
rules: [{apiGroups: [\"\"], resources: [pods], verbs: [create]}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: dev-pods, namespace: ci}
subjects: [{kind: User, name: dev}]
roleRef: {kind: Role, name: pods}
",
    );
    assert_eq!(
        chains_of(&m, SubjectKind::User, "dev"),
        [vec![StepKind::CreatePod, StepKind::HoldsAll]]
    );
    let chain = escalations(&m)
        .into_iter()
        .find(|c| c.subject.name == "dev")
        .unwrap();
    assert!(
        chain.steps[0].how.ends_with("ServiceAccount ci/default"),
        "{}",
        chain.steps[0].how
    );
    // The group is not one of Kubernetes' own: its grant is reported too.
    assert_eq!(
        chains_of(&m, SubjectKind::Group, "system:serviceaccounts:ci"),
        [vec![StepKind::HoldsAll]]
    );
}

#[test]
fn a_role_selected_for_aggregation_counts_as_used_even_when_it_adds_nothing() {
    let m = model(
        "
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: parent}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {part: \"yes\"}}]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: first, labels: {part: \"yes\"}}
rules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: repeat, labels: {part: \"yes\"}}
rules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: empty, labels: {part: \"yes\"}}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: lonely}
",
    );
    let id = |name: &str| m.find_role(true, "", name).unwrap();
    for name in ["first", "repeat", "empty"] {
        assert!(m.is_aggregated_into(id(name)), "{name}");
    }
    assert!(!m.is_aggregated_into(id("lonely")));
    assert!(!m.is_aggregated_into(id("parent")));
    // The repeated rule is held once.
    assert_eq!(m.rules_of(id("parent")).count(), 1);
}

#[test]
fn every_default_object_is_read() {
    let text = crate::model::BOOTSTRAP;
    let items = text.lines().filter(|l| l.starts_with("- ")).count();
    let mut read = 0;
    for chunk in split_documents(text) {
        let doc = parse_document(&text[chunk.range.clone()], &chunk, &Limits::default()).unwrap();
        let (objects, problems) = objects_in(&doc);
        assert!(problems.is_empty(), "{problems:?}");
        for object in objects {
            let record = extract(&object, &[], None)
                .unwrap_or_else(|(at, e)| panic!("{} at line {}: {e}", object.identity, at.line));
            assert!(record.is_some(), "{}", object.identity);
            read += 1;
        }
    }
    assert!(items > 100, "{items}");
    assert_eq!(read, items);
    // And the model holds them all.
    let m = model("");
    assert_eq!(m.roles.len() + m.bindings.len(), items);
}

#[test]
fn the_resource_table_agrees_with_a_real_api_servers_discovery() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/apiserver");
    let entries = std::fs::read_dir(&dir).expect("the recordings are in the repository");
    // Built-in groups only: custom and aggregated APIs are not in the table.
    let third_party = ["monitoring.coreos.com", "argoproj.io", "metrics.k8s.io"];
    let mut checked = 0;
    let mut wrong = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains("-discovery-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        let body = &body["response"]["body"];
        // One APIResourceList per group version (not the aggregated form).
        let Some(group_version) = body["groupVersion"].as_str() else {
            continue;
        };
        let group = group_version.rsplit_once('/').map_or("", |(g, _)| g);
        if third_party.contains(&group) {
            continue;
        }
        for resource in body["resources"].as_array().unwrap() {
            let plural = resource["name"].as_str().unwrap();
            if plural.contains('/') {
                continue; // subresources
            }
            let namespaced = resource["namespaced"].as_bool().unwrap();
            let typed = if group.is_empty() {
                plural.to_owned()
            } else {
                format!("{plural}.{group}")
            };
            let mut spellings = vec![typed];
            for short in resource["shortNames"].as_array().into_iter().flatten() {
                let short = short.as_str().unwrap();
                spellings.push(if group.is_empty() {
                    short.to_owned()
                } else {
                    format!("{short}.{group}")
                });
            }
            for spelling in spellings {
                let r = resolve_resource(&spelling);
                if (r.group.as_str(), r.resource.as_str(), r.namespaced)
                    != (group, plural, Some(namespaced))
                {
                    wrong.push(format!(
                        "{spelling} ({name}): {r:?}, discovery says namespaced={namespaced}"
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(checked > 60, "only {checked} resources checked");
}
