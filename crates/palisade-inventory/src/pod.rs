//! Pod specs found by structure.
//!
//! A pod spec is any mapping whose `containers` is a sequence of container mappings
//! (each with a `name` or `image`), wherever it sits: `spec` of a Pod,
//! `spec.template.spec` of a Deployment or an Argo Rollout or a Knative Service,
//! `spec.jobTemplate.spec.template.spec` of a CronJob, `spec.jobTargetRef.template.spec`
//! of a KEDA ScaledJob, ... Tekton's `steps` (with `sidecars`) are containers too. Finding
//! them by shape rather than by a list of kinds is what lets custom resources be checked.

use palisade_source::Node;

use crate::object::Object;

/// Which list a container came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            ContainerKind::Init => "init container",
            ContainerKind::Regular => "container",
            ContainerKind::Ephemeral => "ephemeral container",
        }
    }
}

/// One container of a pod spec, with its field path.
#[derive(Debug, Clone)]
pub struct ContainerView<'d> {
    pub node: Node<'d>,
    pub path: String,
    pub kind: ContainerKind,
    /// The container's `name` (empty when missing).
    pub name: &'d str,
}

impl<'d> ContainerView<'d> {
    /// The container's `securityContext`, if set (null counts as unset).
    #[must_use]
    pub fn security_context(&self) -> Option<Node<'d>> {
        self.node.get_present("securityContext")
    }

    /// Field path of `rest` below this container.
    #[must_use]
    pub fn path_of(&self, rest: &str) -> String {
        join_path(&self.path, rest)
    }
}

/// The shape of a pod-spec-like mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodStyle {
    /// A core `PodSpec`.
    Pod,
    /// Tekton `steps`/`sidecars` (a pod is built from them).
    TektonSteps,
}

/// A pod spec inside an object, with its pod-template metadata when it has one.
#[derive(Debug, Clone)]
pub struct PodSpecView<'d> {
    pub spec: Node<'d>,
    /// Field path of the spec from the object root (`spec.template.spec`).
    pub path: String,
    /// The pod's metadata: the object's own for a Pod, the template's for controllers.
    pub metadata: Option<Node<'d>>,
    pub metadata_path: String,
    pub style: PodStyle,
    /// Built on first use and shared by every check that looks at the containers.
    containers: std::sync::OnceLock<Vec<ContainerView<'d>>>,
}

const CONTAINER_LISTS: [(&str, ContainerKind); 3] = [
    ("initContainers", ContainerKind::Init),
    ("containers", ContainerKind::Regular),
    ("ephemeralContainers", ContainerKind::Ephemeral),
];
const TEKTON_LISTS: [(&str, ContainerKind); 2] = [
    ("steps", ContainerKind::Regular),
    ("sidecars", ContainerKind::Regular),
];

impl<'d> PodSpecView<'d> {
    /// The pod spec `spec` at field path `path`, with its pod's metadata: where a spec is
    /// known to sit (a built-in workload's template), whatever its containers hold.
    #[must_use]
    pub fn new(
        spec: Node<'d>,
        path: String,
        metadata: Option<Node<'d>>,
        metadata_path: String,
    ) -> Self {
        PodSpecView {
            spec,
            path,
            metadata,
            metadata_path,
            style: PodStyle::Pod,
            containers: std::sync::OnceLock::new(),
        }
    }

    /// Every container, init and ephemeral ones included, in the order the kubelet
    /// considers them.
    #[must_use]
    pub fn containers(&self) -> &[ContainerView<'d>] {
        self.containers.get_or_init(|| self.find_containers())
    }

    fn find_containers(&self) -> Vec<ContainerView<'d>> {
        let lists: &[(&str, ContainerKind)] = match self.style {
            PodStyle::Pod => &CONTAINER_LISTS,
            PodStyle::TektonSteps => &TEKTON_LISTS,
        };
        let mut out = Vec::new();
        for (key, kind) in lists {
            let Some(list) = self.spec.get(key) else {
                continue;
            };
            for (i, c) in list.items().enumerate() {
                if !c.is_mapping() {
                    continue;
                }
                // Room for the index too: `spec.containers[12]`.
                let mut path = String::with_capacity(self.path.len() + key.len() + 8);
                path.push_str(&self.path);
                path.push('.');
                path.push_str(key);
                push_index(&mut path, i);
                out.push(ContainerView {
                    node: c,
                    path,
                    kind: *kind,
                    name: c.get("name").and_then(|n| n.as_str()).unwrap_or(""),
                });
            }
        }
        out
    }

    /// `spec.<field>`, if set (null counts as unset).
    #[must_use]
    pub fn field(&self, field: &str) -> Option<Node<'d>> {
        self.spec.get_present(field)
    }

    /// The pod-level `securityContext`, if set (null counts as unset).
    #[must_use]
    pub fn security_context(&self) -> Option<Node<'d>> {
        self.field("securityContext")
    }

    /// A pod annotation with its key node.
    #[must_use]
    pub fn annotation(&self, key: &str) -> Option<(Node<'d>, Node<'d>)> {
        self.metadata?.get_present("annotations")?.entry(key)
    }

    /// All pod annotations with string values.
    pub fn annotations(&self) -> impl Iterator<Item = (Node<'d>, Node<'d>)> + 'd {
        self.metadata
            .and_then(|m| m.get_present("annotations"))
            .into_iter()
            .flat_map(|a| a.entries())
    }

    /// Field path of `rest` below the spec.
    #[must_use]
    pub fn path_of(&self, rest: &str) -> String {
        join_path(&self.path, rest)
    }
}

/// `base.rest`, built in one allocation of the exact size (one per finding, so it shows).
pub(crate) fn join_path(base: &str, rest: &str) -> String {
    let mut path = String::with_capacity(base.len() + 1 + rest.len());
    path.push_str(base);
    path.push('.');
    path.push_str(rest);
    path
}

fn is_container_list(list: Node<'_>, needs_image: bool) -> bool {
    list.is_sequence()
        && !list.is_empty()
        && list.items().all(|c| c.is_mapping())
        && list.items().any(|c| {
            c.get_present("image").is_some() || (!needs_image && c.get_present("name").is_some())
        })
}

/// Appends `.key` (or `key` at the root) to `path`.
fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// The parent of a node being walked: the mapping, the length of its path in the walk's
/// buffer, and the key the node sits under.
type Parent<'d, 'k> = (Node<'d>, usize, &'k str);

/// Walks `node`, whose field path is `path` (one buffer for the whole walk: a key is
/// pushed before descending and cut off after, so no path is allocated except those kept).
fn walk<'d>(
    node: Node<'d>,
    path: &mut String,
    parent: Option<Parent<'d, '_>>,
    depth: usize,
    out: &mut Vec<PodSpecView<'d>>,
) {
    // The tree builder bounds depth; this guards against aliases forming long chains.
    if depth > 256 {
        return;
    }
    let len = path.len();
    if node.is_mapping() {
        let style = if node
            .get("containers")
            .is_some_and(|c| is_container_list(c, false))
        {
            Some(PodStyle::Pod)
        } else if node
            .get("steps")
            .is_some_and(|c| is_container_list(c, true))
        {
            Some(PodStyle::TektonSteps)
        } else {
            None
        };
        if let Some(style) = style {
            // The pod's metadata sits beside the spec: `template: {metadata, spec}`.
            // Tekton's pod metadata comes from elsewhere (podTemplate), not the Task.
            let (metadata, metadata_path) = match parent {
                Some((p, p_len, "spec")) if style == PodStyle::Pod => {
                    let mut metadata_path = path[..p_len].to_owned();
                    push_key(&mut metadata_path, "metadata");
                    (p.get_present("metadata"), metadata_path)
                }
                _ => (None, String::new()),
            };
            out.push(PodSpecView {
                style,
                ..PodSpecView::new(node, path.clone(), metadata, metadata_path)
            });
            return;
        }
        for (k, v) in node.entries() {
            let Some(key) = k.as_str() else { continue };
            if key == "metadata" || key == "status" || !(v.is_mapping() || v.is_sequence()) {
                continue;
            }
            push_key(path, key);
            walk(v, path, Some((node, len, key)), depth + 1, out);
            path.truncate(len);
        }
    } else if node.is_sequence() {
        for (i, item) in node.items().enumerate() {
            if item.is_mapping() || item.is_sequence() {
                push_index(path, i);
                walk(item, path, None, depth + 1, out);
                path.truncate(len);
            }
        }
    }
}

/// Appends `[i]` to `path`.
fn push_index(path: &mut String, i: usize) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(path, "[{i}]");
}

/// Every pod spec inside `object`, found by structure.
#[must_use]
pub fn find_pod_specs<'d>(object: &Object<'d>) -> Vec<PodSpecView<'d>> {
    let mut out = Vec::new();
    let mut path = String::with_capacity(object.prefix.len() + 64);
    path.push_str(&object.prefix);
    walk(object.root, &mut path, None, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects_in;
    use palisade_source::{parse_document, split_documents, Document, Limits};

    fn doc(text: &str) -> Document {
        let c = &split_documents(text)[0];
        parse_document(&text[c.range.clone()], c, &Limits::default()).unwrap()
    }

    fn specs(text: &str) -> Vec<(String, String, usize)> {
        let d = doc(text);
        let (objs, _) = objects_in(&d);
        objs.iter()
            .flat_map(find_pod_specs)
            .map(|p| {
                (
                    p.path.clone(),
                    p.metadata_path.clone(),
                    p.containers().len(),
                )
            })
            .collect()
    }

    #[test]
    fn core_kinds() {
        assert_eq!(
            specs("kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: x}]\n  initContainers: [{name: i, image: x}]\n"),
            [("spec".into(), "metadata".into(), 2)]
        );
        assert_eq!(
            specs("kind: CronJob\napiVersion: batch/v1\nspec:\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {a: b}}\n        spec:\n          containers: [{name: a, image: x}]\n"),
            [("spec.jobTemplate.spec.template.spec".into(), "spec.jobTemplate.spec.template.metadata".into(), 1)]
        );
    }

    #[test]
    fn custom_resources_by_structure() {
        // KEDA ScaledJob
        assert_eq!(
            specs("kind: ScaledJob\napiVersion: keda.sh/v1alpha1\nspec:\n  jobTargetRef:\n    template:\n      spec:\n        containers: [{name: a, image: x}]\n")[0].0,
            "spec.jobTargetRef.template.spec"
        );
        // Tekton Task steps
        let t = specs("kind: Task\napiVersion: tekton.dev/v1\nspec:\n  steps:\n  - {name: build, image: golang}\n  sidecars:\n  - {name: s, image: x}\n");
        assert_eq!(t, [("spec".into(), String::new(), 2)]);
        // Argo Rollouts canary steps are not containers.
        assert!(specs("kind: Rollout\napiVersion: argoproj.io/v1alpha1\nspec:\n  strategy:\n    canary:\n      steps: [{setWeight: 20}]\n").is_empty());
    }

    #[test]
    fn list_items_and_crd_schemas() {
        assert_eq!(
            specs("kind: List\napiVersion: v1\nitems:\n- kind: Pod\n  apiVersion: v1\n  spec: {containers: [{name: a}]}\n")[0].0,
            "items[0].spec"
        );
        // A CRD schema mentions `containers` but holds no pod spec.
        assert!(specs("kind: CustomResourceDefinition\napiVersion: apiextensions.k8s.io/v1\nspec:\n  versions:\n  - schema:\n      openAPIV3Schema:\n        properties:\n          containers: {type: array, items: {type: object}}\n").is_empty());
    }

    #[test]
    fn scalar_where_a_pod_spec_should_be() {
        assert!(specs(
            "kind: Deployment\napiVersion: apps/v1\nspec:\n  template:\n    spec: 'nope'\n"
        )
        .is_empty());
        assert!(specs("kind: Pod\napiVersion: v1\nspec:\n  containers: 5\n").is_empty());
    }
}
