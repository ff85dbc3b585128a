//! Test helpers for the control-plane checks, and tests across them: pods that are not
//! components, and the bundled kubeadm manifests.

use crate::testing::{ids, run};

/// A kube-system Pod running `binary` from `image` with `command: [binary, args...]`,
/// each argument a single-quoted YAML string, so any text can be passed. The container's
/// fields end the text, so callers may append more (`    env:`).
pub fn component(binary: &str, image: &str, args: &[&str]) -> String {
    let mut yaml = format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {binary}\n  namespace: kube-system\nspec:\n  containers:\n  - name: {binary}\n    image: {image}\n    command:\n    - {binary}\n");
    for arg in args {
        yaml.push_str(&format!("    - '{}'\n", arg.replace('\'', "''")));
    }
    yaml
}

/// A kube-apiserver v1.30 run with `args` after the command.
pub fn apiserver(args: &[&str]) -> String {
    apiserver_image("registry.k8s.io/kube-apiserver:v1.30.0", args)
}

/// A kube-apiserver from `image`.
pub fn apiserver_image(image: &str, args: &[&str]) -> String {
    component("kube-apiserver", image, args)
}

/// A kube-apiserver found by its image: no `command`, only `args`.
pub fn apiserver_args(args: &[&str]) -> String {
    let mut yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver-node1, namespace: kube-system}\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.30.0\n    args:\n".to_owned();
    for arg in args {
        yaml.push_str(&format!("    - '{}'\n", arg.replace('\'', "''")));
    }
    yaml
}

/// The ids of every per-pod control-plane check.
fn all_ids() -> Vec<&'static str> {
    super::CHECKS.iter().map(|c| c.meta().id).collect()
}

#[test]
fn other_pods_never_fire() {
    let ids_all = all_ids();
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: kube-system}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        command: [nginx, --anonymous-auth=true, --profiling=true]\n        args: [--authorization-mode=AlwaysAllow]\n      - name: wrapper\n        image: registry.k8s.io/kube-apiserver:v1.30.0\n        command: [/bin/sh, -c, kube-apiserver --anonymous-auth=true]\n";
    assert!(run(yaml, &ids_all).is_empty());
    // An init container running the binary is not the component.
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - {name: i, image: registry.k8s.io/kube-apiserver:v1.30.0}\n  containers:\n  - {name: c, image: nginx:1.25}\n";
    assert!(run(yaml, &ids_all).is_empty());
}

#[test]
fn every_control_plane_check_is_in_its_category() {
    for c in crate::registry() {
        let m = c.meta();
        if crate::cluster::CHECKS.iter().any(|c| c.meta().id == m.id) {
            continue; // the cluster's version: same category, no CIS flag
        }
        let ours = all_ids().contains(&m.id) || m.id == super::etcd_ca::CHECK.meta.id;
        assert_eq!(
            ours,
            m.category == palisade_model::Category::ControlPlane,
            "{}",
            m.id
        );
        if ours {
            assert!(
                m.description.contains("CIS Kubernetes Benchmark"),
                "{}",
                m.id
            );
        }
    }
}

/// The CIS items kube-bench fails (or warns about) on a default kubeadm v1.30 cluster,
/// as Palisade reports them on the bundled manifests.
#[test]
fn kubeadm_defaults() {
    let ids_all = all_ids();
    let apiserver = include_str!("../../../../examples/control-plane/kube-apiserver.yaml");
    let mut fired = ids(&run(apiserver, &ids_all));
    fired.sort_unstable();
    assert_eq!(
        fired,
        [
            "apiserver-always-pull-images-missing",
            "apiserver-anonymous-auth",
            "apiserver-audit-log-missing",
            "apiserver-deny-service-external-ips-missing",
            "apiserver-encryption-config-missing",
            "apiserver-event-rate-limit-missing",
            "apiserver-kubelet-ca-missing",
            "apiserver-profiling-enabled",
        ]
    );
    let cm = include_str!("../../../../examples/control-plane/kube-controller-manager.yaml");
    let mut fired = ids(&run(cm, &ids_all));
    fired.sort_unstable();
    assert_eq!(
        fired,
        [
            "controller-manager-profiling-enabled",
            "controller-manager-terminated-pod-gc-threshold-missing",
        ]
    );
    let scheduler = include_str!("../../../../examples/control-plane/kube-scheduler.yaml");
    assert_eq!(
        ids(&run(scheduler, &ids_all)),
        ["scheduler-profiling-enabled"]
    );
    let etcd = include_str!("../../../../examples/control-plane/etcd.yaml");
    assert!(run(etcd, &ids_all).is_empty());
}

#[test]
fn hardened_manifests_pass() {
    let ids_all = all_ids();
    for (name, yaml) in [
        (
            "kube-apiserver",
            include_str!("../../../../examples/hardened/control-plane/kube-apiserver.yaml"),
        ),
        (
            "kube-controller-manager",
            include_str!(
                "../../../../examples/hardened/control-plane/kube-controller-manager.yaml"
            ),
        ),
        (
            "kube-scheduler",
            include_str!("../../../../examples/hardened/control-plane/kube-scheduler.yaml"),
        ),
        (
            "etcd",
            include_str!("../../../../examples/hardened/control-plane/etcd.yaml"),
        ),
    ] {
        let hits = run(yaml, &ids_all);
        assert!(hits.is_empty(), "{name}: {hits:?}");
    }
}

/// A live cluster's kube-system mirror pod, as `kubectl get pods -n kube-system -o yaml`
/// lists it: a `List` item named after the node, owned by the Node.
#[test]
fn mirror_pods_of_a_live_cluster() {
    let yaml = r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    annotations:
      kubernetes.io/config.hash: 5a1b0c9e3e7f4d2a8b6c1e0f9d8c7b6a
      kubernetes.io/config.mirror: 5a1b0c9e3e7f4d2a8b6c1e0f9d8c7b6a
      kubernetes.io/config.source: file
    labels:
      component: kube-apiserver
      tier: control-plane
    name: kube-apiserver-node1
    namespace: kube-system
    ownerReferences:
    - apiVersion: v1
      controller: true
      kind: Node
      name: node1
      uid: 0f0e0d0c-0b0a-0908-0706-050403020100
  spec:
    containers:
    - command:
      - kube-apiserver
      - --profiling=true
      - --anonymous-auth=false
      image: registry.k8s.io/kube-apiserver:v1.30.0
      name: kube-apiserver
    hostNetwork: true
    nodeName: node1
  status:
    phase: Running
"#;
    let hits = run(
        yaml,
        &["apiserver-profiling-enabled", "apiserver-anonymous-auth"],
    );
    assert_eq!(ids(&hits), ["apiserver-profiling-enabled"]);
    assert_eq!(hits[0].path, "items[0].spec.containers[0].command[1]");
    assert_eq!(hits[0].line, 26);
}
