//! The RBAC benchmark: 10,000 roles and 50,000 bindings over 500 namespaces.
//!
//! `rbac-generate DIR` writes them as 500 files (one per namespace, plus one of
//! cluster-scoped objects); `rbac DIR` times reading them into records, building the
//! model (default roles, aggregation, indexes), who-can and can-i queries, and the
//! escalation search.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use palisade_rbac::{escalations, load, Model, Request, User};
use palisade_source::Limits;

const NAMESPACES: usize = 500;
const ROLES_PER_NS: usize = 19; // 9,500 Roles
const CLUSTER_ROLES: usize = 500; // 10,000 roles in all
const BINDINGS_PER_NS: usize = 98; // 49,000 RoleBindings
const CLUSTER_BINDINGS: usize = 1_000; // 50,000 bindings in all

const RESOURCES: &[(&str, &str)] = &[
    ("\"\"", "pods"),
    ("\"\"", "configmaps"),
    ("\"\"", "secrets"),
    ("\"\"", "services"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("batch", "jobs"),
    ("networking.k8s.io", "ingresses"),
];
const VERBS: &[&str] = &["get, list, watch", "create, update, patch", "delete", "get"];

fn rules(seed: usize) -> String {
    let mut s = String::from("rules:\n");
    for k in 0..3 {
        let (group, resource) = RESOURCES[(seed + k * 3) % RESOURCES.len()];
        let verbs = VERBS[(seed / 7 + k) % VERBS.len()];
        let _ = writeln!(
            s,
            "- apiGroups: [{group}]\n  resources: [{resource}]\n  verbs: [{verbs}]"
        );
    }
    s
}

fn subjects(seed: usize, ns: &str) -> String {
    format!(
        "subjects:\n- {{kind: User, name: user-{}}}\n- {{kind: Group, name: team-{}}}\n- {{kind: ServiceAccount, name: sa-{}, namespace: {ns}}}\n",
        seed % 20_000,
        seed % 700,
        seed % 40
    )
}

/// Writes the benchmark's RBAC objects under `dir`.
pub fn generate(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut cluster = String::new();
    for c in 0..CLUSTER_ROLES {
        let _ = write!(
            cluster,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cluster-role-{c}\n  labels: {{bench/aggregate-to: group-{}}}\n",
            c % 50
        );
        // Every 50th role aggregates the roles labelled for it instead of listing rules.
        if c % 50 == 0 {
            let _ = writeln!(
                cluster,
                "aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels: {{bench/aggregate-to: group-{}}}",
                (c / 50) % 50
            );
        } else {
            cluster.push_str(&rules(c));
        }
    }
    for b in 0..CLUSTER_BINDINGS {
        let _ = write!(
            cluster,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: cluster-binding-{b}}}\n{}roleRef: {{kind: ClusterRole, name: cluster-role-{}, apiGroup: rbac.authorization.k8s.io}}\n",
            subjects(b * 31, "ns-0"),
            (b * 7) % CLUSTER_ROLES
        );
    }
    std::fs::write(dir.join("cluster.yaml"), cluster)?;
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n}");
        let mut text = String::new();
        for r in 0..ROLES_PER_NS {
            let _ = write!(
                text,
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: role-{r}, namespace: {ns}}}\n{}",
                rules(n * ROLES_PER_NS + r)
            );
        }
        for b in 0..BINDINGS_PER_NS {
            let seed = n * BINDINGS_PER_NS + b;
            let role_ref = if b % 4 == 0 {
                format!(
                    "{{kind: ClusterRole, name: cluster-role-{}}}",
                    seed % CLUSTER_ROLES
                )
            } else {
                format!("{{kind: Role, name: role-{}}}", b % ROLES_PER_NS)
            };
            let _ = write!(
                text,
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: binding-{b}, namespace: {ns}}}\n{}roleRef: {role_ref}\n",
                subjects(seed, &ns)
            );
        }
        std::fs::write(dir.join(format!("{ns}.yaml")), text)?;
    }
    println!(
        "wrote {} roles and {} bindings to {}",
        NAMESPACES * ROLES_PER_NS + CLUSTER_ROLES,
        NAMESPACES * BINDINGS_PER_NS + CLUSTER_BINDINGS,
        dir.display()
    );
    Ok(())
}

/// Min and median of `runs` timings of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[0], times[runs / 2], last.expect("at least one run"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times the RBAC analysis over the objects `generate` wrote.
pub fn run(dir: &Path) -> anyhow::Result<()> {
    let (inputs, errors) = palisade_inventory::discover(&[dir.to_path_buf()]);
    anyhow::ensure!(
        errors.is_empty() && !inputs.is_empty(),
        "run `rbac-generate {}` first",
        dir.display()
    );
    let t = Instant::now();
    let loaded = load(&inputs, &Limits::default());
    let read = t.elapsed();
    anyhow::ensure!(loaded.errors.is_empty(), "{:?}", loaded.errors.first());
    let records = loaded.records;
    println!(
        "read: {} records from {} files in {:.0} ms (peak RSS so far {:.0} MB)",
        records.len(),
        inputs.len(),
        ms(read),
        crate::peak_rss_mb()
    );
    // Copies made beforehand, so the timing is the build alone.
    let mut copies: Vec<_> = (0..5).map(|_| records.clone()).collect();
    let (min, median, model) = time(5, || Model::build(copies.pop().unwrap_or_default()));
    println!(
        "model build: {} roles, {} bindings: min {:.0} ms, median {:.0} ms (peak RSS {:.0} MB)",
        model.roles.len(),
        model.bindings.len(),
        ms(min),
        ms(median),
        crate::peak_rss_mb()
    );
    let queries = [
        (
            "who-can get secrets -n ns-250",
            Request::resource("get", "", "secrets", "ns-250"),
            false,
        ),
        (
            "who-can create deployments -n ns-7",
            Request::resource("create", "apps", "deployments", "ns-7"),
            false,
        ),
        (
            "who-can list pods -A",
            Request::resource("list", "", "pods", ""),
            true,
        ),
    ];
    for (name, req, all) in &queries {
        let (min, median, found) = time(101, || model.who_can(req, *all).len());
        println!(
            "{name}: {found} subjects: min {:.2} ms, median {:.2} ms",
            ms(min),
            ms(median)
        );
    }
    let user = User::impersonated("user-12345", &["team-3".to_owned()]);
    let req = Request::resource("delete", "", "pods", "ns-99");
    let (min, median, allowed) = time(101, || model.authorize(&user, &req).is_some());
    println!("can-i delete pods -n ns-99 --as user-12345 --as-group team-3: {allowed}: min {:.3} ms, median {:.3} ms", ms(min), ms(median));
    let t = Instant::now();
    let chains = escalations(&model);
    println!(
        "escalations: {} chains in {:.0} ms (peak RSS {:.0} MB)",
        chains.len(),
        ms(t.elapsed()),
        crate::peak_rss_mb()
    );
    Ok(())
}
