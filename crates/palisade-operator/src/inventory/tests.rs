//! What the inventory judges again, and what it finds.

use serde_json::json;

use super::*;

fn inventory() -> Inventory {
    let opts = ScanOptions {
        analyses: palisade_checks::analyses(),
        ..ScanOptions::default()
    };
    Inventory::new("test", &palisade_checks::registry(), opts)
}

fn namespace(name: &str, level: &str, rv: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "resourceVersion": rv,
            "labels": {"pod-security.kubernetes.io/enforce": level}}})
}

fn pod(name: &str, image: &str, rv: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "resourceVersion": rv,
            "labels": {"app": name},
            "managedFields": [{"manager": "kubectl"}]},
        "spec": {"containers": [{"name": "c", "image": image,
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}}}]}})
}

fn checks_on(inv: &Inventory, name: &str) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = inv
        .result()
        .findings
        .iter()
        .filter(|f| f.object.name == name)
        .map(|f| f.check.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[test]
fn only_what_changed_is_judged_again() {
    let mut inv = inventory();
    inv.upsert(namespace("shop", "restricted", "1"));
    inv.upsert(pod("web", "nginx:1.27", "2"));
    let first = inv.evaluate();
    assert_eq!(
        first,
        Evaluated {
            objects: 2,
            analyses: true
        }
    );
    assert!(checks_on(&inv, "web").contains(&"runAsNonRoot"));
    assert!(!inv.has_changes());

    // The same object again: nothing to do.
    inv.upsert(pod("web", "nginx:1.27", "2"));
    assert!(!inv.has_changes());

    // A new image: the pod alone, and the analyses (which read labels, accounts and
    // ports) are left alone.
    inv.upsert(pod("web", "nginx:latest", "3"));
    let second = inv.evaluate();
    assert_eq!(
        second,
        Evaluated {
            objects: 1,
            analyses: false
        }
    );
    assert!(checks_on(&inv, "web").contains(&"image-tag-latest"));
}

#[test]
fn a_namespace_change_judges_its_objects_again() {
    let mut inv = inventory();
    inv.upsert(namespace("shop", "baseline", "1"));
    inv.upsert(pod("web", "nginx:1.27", "2"));
    inv.upsert(pod("api", "nginx:1.27", "3"));
    inv.evaluate();
    // Baseline does not ask for runAsNonRoot.
    assert!(!checks_on(&inv, "web").contains(&"runAsNonRoot"));
    inv.upsert(namespace("shop", "restricted", "4"));
    let e = inv.evaluate();
    assert_eq!(e.objects, 3, "the namespace and both pods");
    assert!(checks_on(&inv, "web").contains(&"runAsNonRoot"));
    assert!(checks_on(&inv, "api").contains(&"runAsNonRoot"));
}

#[test]
fn bindings_start_the_analyses_and_deletions_take_findings_away() {
    let mut inv = inventory();
    inv.upsert(namespace("shop", "restricted", "1"));
    inv.upsert(pod("web", "nginx:1.27", "2"));
    inv.evaluate();
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "ops", "resourceVersion": "5"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "ops@example.com"}]});
    inv.upsert(binding.clone());
    let e = inv.evaluate();
    assert!(e.analyses);
    assert!(checks_on(&inv, "ops").contains(&"rbac-cluster-admin-binding"));
    inv.remove(&Key::of(&binding));
    inv.remove(&Key::of(&pod("web", "", "")));
    let e = inv.evaluate();
    assert!(e.analyses);
    assert!(checks_on(&inv, "ops").is_empty());
    assert!(checks_on(&inv, "web").is_empty());
    assert_eq!(inv.len(), 1);
}

#[test]
fn managed_fields_are_not_kept() {
    let mut inv = inventory();
    inv.upsert(pod("web", "nginx:1.27", "2"));
    let key = Key::of(&pod("web", "", ""));
    assert!(!inv.objects[&key].text.contains("managedFields"));
    assert!(inv.objects[&key].text.contains("\"resourceVersion\":\"2\""));
}
