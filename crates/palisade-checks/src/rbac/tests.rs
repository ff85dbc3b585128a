//! Each RBAC check on small inputs, through the analysis as the scan runs it.

use palisade_model::Severity;

use super::ANALYSIS;

type Hit = crate::testing::AnalysisHit;

fn run(yaml: &str, ids: &[&'static str]) -> Vec<Hit> {
    crate::testing::run_analysis(&ANALYSIS, "rbac.yaml", yaml, ids)
}

fn ids(hits: &[Hit]) -> Vec<&'static str> {
    hits.iter().map(|h| h.id).collect()
}

fn role(kind: &str, ns: &str, name: &str, rules: &str) -> String {
    let meta = if ns.is_empty() {
        format!("{{name: {name}}}")
    } else {
        format!("{{name: {name}, namespace: {ns}}}")
    };
    format!("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\nrules:\n{rules}")
}

fn binding(
    kind: &str,
    ns: &str,
    name: &str,
    role_kind: &str,
    role: &str,
    subjects: &str,
) -> String {
    let meta = if ns.is_empty() {
        format!("{{name: {name}}}")
    } else {
        format!("{{name: {name}, namespace: {ns}}}")
    };
    format!("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\nsubjects:\n{subjects}roleRef: {{kind: {role_kind}, name: {role}, apiGroup: rbac.authorization.k8s.io}}\n")
}

const USER: &str = "- {kind: User, name: alice}\n";

#[test]
fn cluster_admin_binding_graded_by_scope_and_not_for_system_subjects() {
    let yaml = [
        binding(
            "ClusterRoleBinding",
            "",
            "oncall",
            "ClusterRole",
            "cluster-admin",
            USER,
        ),
        binding(
            "RoleBinding",
            "shop",
            "ns-admin",
            "ClusterRole",
            "cluster-admin",
            "- {kind: Group, name: shop-admins}\n",
        ),
        binding(
            "ClusterRoleBinding",
            "",
            "masters",
            "ClusterRole",
            "cluster-admin",
            "- {kind: Group, name: \"system:masters\"}\n",
        ),
        role(
            "ClusterRole",
            "",
            "everything",
            "- {apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}\n",
        ),
        binding(
            "ClusterRoleBinding",
            "",
            "custom",
            "ClusterRole",
            "everything",
            "- {kind: ServiceAccount, name: ci, namespace: tools}\n",
        ),
    ]
    .concat();
    let hits = run(&yaml, &["rbac-cluster-admin-binding"]);
    assert_eq!(hits.len(), 3, "{hits:#?}");
    assert_eq!(
        (hits[0].severity, hits[0].line, hits[0].path.as_str()),
        (Severity::Critical, 7, "roleRef")
    );
    assert!(
        hits[0].message.starts_with(
            "User alice can do anything cluster-wide through ClusterRoleBinding oncall"
        ),
        "{}",
        hits[0].message
    );
    assert_eq!(hits[1].severity, Severity::High);
    assert!(hits[1].message.contains("in namespace shop"));
    assert!(
        hits[2].message.contains("ServiceAccount tools/ci")
            && hits[2].message.contains("ClusterRole everything")
    );
}

#[test]
fn wildcards_are_reported_at_the_star_of_non_default_roles() {
    let yaml = [
        role("Role", "a", "wide", "- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [\"*\"]\n- {apiGroups: [\"\"], resources: [configmaps], verbs: [get]}\n"),
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: d, labels: {kubernetes.io/bootstrapping: rbac-defaults}}\nrules: [{apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}]\n".to_owned(),
    ]
    .concat();
    let hits = run(&yaml, &["rbac-wildcard-rule"]);
    assert_eq!(ids(&hits), ["rbac-wildcard-rule"]);
    assert_eq!(
        (hits[0].line, hits[0].path.as_str()),
        (8, "rules[0].verbs[0]")
    );
    assert!(hits[0]
        .message
        .contains("rule 1 of Role a/wide uses `*` in verbs"));
}

const SECRETS: &str =
    "- {apiGroups: [\"\"], resources: [secrets], verbs: [get], resourceNames: [tls]}\n";

#[test]
fn secrets_read_cluster_wide_is_worse_and_named_grants_count() {
    let yaml = [
        role("ClusterRole", "", "read-secrets", SECRETS),
        binding(
            "ClusterRoleBinding",
            "",
            "global",
            "ClusterRole",
            "read-secrets",
            USER,
        ),
        binding(
            "RoleBinding",
            "shop",
            "local",
            "ClusterRole",
            "read-secrets",
            USER,
        ),
        role(
            "Role",
            "shop",
            "pods",
            "- {apiGroups: [\"\"], resources: [pods], verbs: [get, list]}\n",
        ),
        binding("RoleBinding", "shop", "pods", "Role", "pods", USER),
    ]
    .concat();
    let hits = run(&yaml, &["rbac-secrets-read"]);
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert_eq!(hits[0].severity, Severity::High);
    assert!(
        hits[0]
            .message
            .contains("User alice can get secrets cluster-wide through ClusterRoleBinding global"),
        "{}",
        hits[0].message
    );
    assert!(hits[0].message.contains("resourceNames=[tls]"));
    assert_eq!(hits[1].severity, Severity::Medium);
    assert!(hits[1].message.contains("in namespace shop"));
}

#[test]
fn cluster_admin_power_is_reported_once_not_per_implied_grant() {
    let yaml = binding(
        "ClusterRoleBinding",
        "",
        "oncall",
        "ClusterRole",
        "cluster-admin",
        USER,
    );
    assert_eq!(ids(&run(&yaml, &[])), ["rbac-cluster-admin-binding"]);
    // Without the cluster-admin check, each power is reported on its own.
    let alone = run(&yaml, &["rbac-secrets-read", "rbac-impersonate"]);
    assert_eq!(ids(&alone), ["rbac-impersonate", "rbac-secrets-read"]);
}

/// (check, rules, binding kind, expected severity or None for no finding)
#[test]
fn grant_checks_fire_on_their_permissions_only() {
    let cases: &[(&str, &str, &str, Option<Severity>)] = &[
        ("rbac-pod-create", "- {apiGroups: [apps], resources: [deployments], verbs: [create]}\n", "RoleBinding", Some(Severity::Medium)),
        ("rbac-pod-create", "- {apiGroups: [batch], resources: [cronjobs], verbs: [create]}\n", "ClusterRoleBinding", Some(Severity::High)),
        // Updating a template is left to rbac-escalation-path.
        ("rbac-pod-create", "- {apiGroups: [apps], resources: [deployments], verbs: [get, update, patch]}\n", "ClusterRoleBinding", None),
        ("rbac-pod-exec", "- {apiGroups: [\"\"], resources: [pods/exec], verbs: [create]}\n", "RoleBinding", Some(Severity::Medium)),
        ("rbac-pod-exec", "- {apiGroups: [\"\"], resources: [\"*/portforward\"], verbs: [create]}\n", "ClusterRoleBinding", Some(Severity::High)),
        ("rbac-pod-exec", "- {apiGroups: [\"\"], resources: [nodes/proxy], verbs: [get]}\n", "ClusterRoleBinding", Some(Severity::High)),
        // nodes are cluster-scoped: a RoleBinding cannot grant nodes/proxy.
        ("rbac-pod-exec", "- {apiGroups: [\"\"], resources: [nodes/proxy], verbs: [get]}\n", "RoleBinding", None),
        ("rbac-pod-exec", "- {apiGroups: [\"\"], resources: [pods, pods/log], verbs: [get]}\n", "ClusterRoleBinding", None),
        ("rbac-pod-exec", "- {apiGroups: [\"\"], resources: [pods/ephemeralcontainers], verbs: [patch]}\n", "RoleBinding", Some(Severity::Medium)),
        ("rbac-escalate-bind", "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}\n", "ClusterRoleBinding", Some(Severity::High)),
        ("rbac-escalate-bind", "- {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate]}\n", "RoleBinding", Some(Severity::Medium)),
        ("rbac-escalate-bind", "- {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [create, update]}\n", "ClusterRoleBinding", None),
        ("rbac-impersonate", "- {apiGroups: [\"\"], resources: [groups], verbs: [impersonate]}\n", "ClusterRoleBinding", Some(Severity::High)),
        ("rbac-impersonate", "- {apiGroups: [\"\"], resources: [serviceaccounts], verbs: [impersonate]}\n", "RoleBinding", Some(Severity::Medium)),
        ("rbac-impersonate", "- {apiGroups: [\"\"], resources: [users], verbs: [impersonate]}\n", "RoleBinding", None),
        ("rbac-token-create", "- {apiGroups: [\"\"], resources: [serviceaccounts/token], verbs: [create]}\n", "RoleBinding", Some(Severity::Medium)),
        ("rbac-token-create", "- {apiGroups: [\"\"], resources: [serviceaccounts], verbs: [create]}\n", "ClusterRoleBinding", None),
        ("rbac-csr-approve", "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}\n", "ClusterRoleBinding", Some(Severity::High)),
        ("rbac-csr-approve", "- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: [example.com/x]}\n", "ClusterRoleBinding", Some(Severity::High)),
        // Requesting alone is low; with approval it is one high finding, not two.
        ("rbac-csr-approve", "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [create, get]}\n", "ClusterRoleBinding", Some(Severity::Low)),
        ("rbac-csr-approve", "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests, certificatesigningrequests/approval], verbs: [create, update]}\n", "ClusterRoleBinding", Some(Severity::High)),
        ("rbac-csr-approve", "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [get, list, watch]}\n", "ClusterRoleBinding", None),
        ("rbac-webhook-modify", "- {apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [patch]}\n", "ClusterRoleBinding", Some(Severity::High)),
        ("rbac-webhook-modify", "- {apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations], verbs: [get, list]}\n", "ClusterRoleBinding", None),
        ("rbac-pv-create", "- {apiGroups: [\"\"], resources: [persistentvolumes], verbs: [create]}\n", "ClusterRoleBinding", Some(Severity::High)),
        ("rbac-pv-create", "- {apiGroups: [\"\"], resources: [persistentvolumeclaims], verbs: [create]}\n", "ClusterRoleBinding", None),
    ];
    for (id, rules, kind, expected) in cases {
        let ns = if *kind == "RoleBinding" { "shop" } else { "" };
        let yaml = [
            role("ClusterRole", "", "r", rules),
            binding(kind, ns, "b", "ClusterRole", "r", USER),
        ]
        .concat();
        let hits = run(&yaml, &[id]);
        match expected {
            None => assert!(hits.is_empty(), "{id} {rules} {kind}: {hits:#?}"),
            Some(sev) => {
                assert_eq!(hits.len(), 1, "{id} {rules} {kind}: {hits:#?}");
                assert_eq!(hits[0].severity, *sev, "{id} {rules} {kind}");
                assert_eq!(hits[0].path, "roleRef");
                assert!(
                    hits[0].message.starts_with("User alice can "),
                    "{}",
                    hits[0].message
                );
            }
        }
    }
}

#[test]
fn public_grants_name_the_subject() {
    let subjects = "- {kind: User, name: \"system:anonymous\"}\n- {kind: Group, name: \"system:authenticated\"}\n- {kind: User, name: bob}\n";
    let yaml = binding(
        "ClusterRoleBinding",
        "",
        "open",
        "ClusterRole",
        "view",
        subjects,
    );
    let hits = run(&yaml, &["rbac-public-grant"]);
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert_eq!(
        (hits[0].severity, hits[0].path.as_str()),
        (Severity::Critical, "subjects[0]")
    );
    assert!(hits[0].message.contains("anyone without credentials"));
    assert_eq!(
        (hits[1].severity, hits[1].path.as_str()),
        (Severity::High, "subjects[1]")
    );
}

#[test]
fn default_service_account_bindings() {
    let yaml = [
        binding(
            "RoleBinding",
            "shop",
            "b",
            "ClusterRole",
            "edit",
            "- {kind: ServiceAccount, name: default}\n- {kind: ServiceAccount, name: app}\n",
        ),
        binding(
            "RoleBinding",
            "kube-system",
            "k",
            "ClusterRole",
            "view",
            "- {kind: ServiceAccount, name: default}\n",
        ),
    ]
    .concat();
    let hits = run(&yaml, &["rbac-default-service-account"]);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert!(
        hits[0].message.contains("ServiceAccount shop/default"),
        "{}",
        hits[0].message
    );
    assert_eq!(hits[0].path, "subjects[0]");
}

#[test]
fn unused_roles_and_dangling_bindings() {
    let yaml = [
        role("Role", "a", "orphan", "- {apiGroups: [\"\"], resources: [pods], verbs: [get]}\n"),
        role("Role", "a", "used", "- {apiGroups: [\"\"], resources: [pods], verbs: [get]}\n"),
        binding("RoleBinding", "a", "uses", "Role", "used", USER),
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: extends-view, labels: {rbac.authorization.k8s.io/aggregate-to-view: \"true\"}}\nrules: [{apiGroups: [x.io], resources: [widgets], verbs: [get]}]\n".to_owned(),
        binding("RoleBinding", "b", "wrong-ns", "Role", "used", USER),
        binding("RoleBinding", "b", "builtin", "ClusterRole", "view", USER),
        binding("ClusterRoleBinding", "", "typo", "ClusterRole", "clsuter-admin", USER),
    ]
    .concat();
    let hits = run(&yaml, &["rbac-unused-role", "rbac-dangling-binding"]);
    assert_eq!(
        ids(&hits),
        [
            "rbac-unused-role",
            "rbac-dangling-binding",
            "rbac-dangling-binding"
        ],
        "{hits:#?}"
    );
    assert!(hits[0]
        .message
        .starts_with("Role a/orphan is bound to nothing"));
    assert!(
        hits[1]
            .message
            .contains("refers to Role b/used, which does not exist"),
        "{}",
        hits[1].message
    );
    assert!(hits[2].message.contains("ClusterRole clsuter-admin"));
}

#[test]
fn escalation_paths_are_reported_at_the_first_step() {
    let yaml = [
        role(
            "Role",
            "ci",
            "deployer",
            "- {apiGroups: [apps], resources: [deployments], verbs: [create]}\n",
        ),
        binding(
            "RoleBinding",
            "ci",
            "dev-deploys",
            "Role",
            "deployer",
            "- {kind: User, name: dev}\n",
        ),
        binding(
            "ClusterRoleBinding",
            "",
            "release-admin",
            "ClusterRole",
            "cluster-admin",
            "- {kind: ServiceAccount, name: release, namespace: ci}\n",
        ),
    ]
    .concat();
    let hits = run(&yaml, &["rbac-escalation-path"]);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].severity, Severity::Critical);
    assert_eq!(hits[0].object, 1, "on RoleBinding ci/dev-deploys");
    assert!(
        hits[0].message.starts_with(
            "User dev reaches cluster-admin in 2 steps: can create deployments in namespace ci"
        ),
        "{}",
        hits[0].message
    );
    assert!(hits[0]
        .message
        .contains("becomes ServiceAccount ci/release"));
}

#[test]
fn a_rule_aggregated_into_the_bound_role_is_named_where_it_is_written() {
    let yaml = binding("RoleBinding", "shop", "b", "ClusterRole", "edit", USER);
    let hits = run(&yaml, &["rbac-secrets-read"]);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert!(
        hits[0]
            .message
            .contains("of ClusterRole system:aggregate-to-edit, aggregated into ClusterRole edit"),
        "{}",
        hits[0].message
    );
}
