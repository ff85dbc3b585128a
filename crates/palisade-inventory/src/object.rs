//! Documents to Kubernetes objects.

use std::sync::Arc;

use palisade_model::ObjectRef;
use palisade_source::{Document, Node, Pos};

/// Where an object came from: its input and document. Built-in objects have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub document: usize,
    /// The caller's handle on the object (the scan's item index); 0 when unused.
    pub key: usize,
}

/// A node's place: line, column and field path inside its object, for records that
/// outlive the parsed document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub line: u32,
    pub column: u32,
    pub path: String,
}

impl Place {
    /// The place of `node`, at field path `rest` below `object`.
    #[must_use]
    pub fn of(object: &Object<'_>, node: Node<'_>, rest: &str) -> Self {
        let pos = node.pos();
        Self {
            line: pos.line,
            column: pos.column,
            path: object.path(rest),
        }
    }

    /// The place of the object's `metadata.name`, or of the object when it has none.
    #[must_use]
    pub fn of_name(object: &Object<'_>) -> Self {
        match object.root.get_path("metadata.name") {
            Some(n) => Self::of(object, n, "metadata.name"),
            None => Self::of(object, object.root, ""),
        }
    }
}

/// One Kubernetes object inside a document (a List item is an object of its own).
#[derive(Debug, Clone)]
pub struct Object<'d> {
    pub root: Node<'d>,
    /// Field path of the object inside its document: `""`, or `items[3]` for a List item.
    pub prefix: String,
    pub identity: Arc<ObjectRef>,
}

impl<'d> Object<'d> {
    /// Field path of `rest` below this object (`items[3].spec...` for List items).
    #[must_use]
    pub fn path(&self, rest: &str) -> String {
        match (self.prefix.is_empty(), rest.is_empty()) {
            (true, _) => rest.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => crate::pod::join_path(&self.prefix, rest),
        }
    }

    /// `metadata.labels` as pairs (string values only).
    pub fn labels(&self) -> impl Iterator<Item = (&'d str, &'d str)> + 'd {
        self.root
            .get_path("metadata.labels")
            .into_iter()
            .flat_map(|l| l.entries())
            .filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?)))
    }
}

/// A document that looks like a Kubernetes object but is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectProblem {
    pub pos: Pos,
    pub message: String,
    /// The document is not a Kubernetes object and was skipped: a warning, not an error.
    pub skipped: bool,
}

const MAX_LIST_DEPTH: usize = 8;

fn string_field<'d>(
    node: Node<'d>,
    key: &str,
    problems: &mut Vec<ObjectProblem>,
) -> Option<&'d str> {
    let (k, v) = node.entry(key)?;
    if v.is_null() {
        return None;
    }
    let found = match v.kind() {
        // Plain `0` or `true` decode as a number or boolean, which the API server rejects.
        palisade_source::NodeKind::Scalar if v.as_i64().is_some() || v.as_bool().is_some() => {
            format!("`{}`", v.as_str().unwrap_or_default())
        }
        palisade_source::NodeKind::Scalar => return v.as_str(),
        palisade_source::NodeKind::Sequence => "a sequence".to_owned(),
        palisade_source::NodeKind::Mapping => "a mapping".to_owned(),
    };
    problems.push(ObjectProblem {
        pos: k.pos(),
        message: format!("`{key}` must be a string, found {found}"),
        skipped: false,
    });
    None
}

fn collect<'d>(
    node: Node<'d>,
    prefix: String,
    depth: usize,
    out: &mut Vec<Object<'d>>,
    problems: &mut Vec<ObjectProblem>,
) {
    if !node.is_mapping() {
        if !node.is_null() && !prefix.is_empty() {
            problems.push(ObjectProblem {
                pos: node.pos(),
                message: format!("{prefix} is not an object"),
                skipped: false,
            });
        }
        return;
    }
    let api_version = string_field(node, "apiVersion", problems);
    let kind = string_field(node, "kind", problems);
    let Some(kind) = kind else {
        // A mapping with neither field is some other YAML (a values file, a CI config):
        // not a Kubernetes object, so nothing to report.
        if api_version.is_some() && node.entry("kind").is_none() {
            problems.push(ObjectProblem {
                pos: node.pos(),
                message: "object has `apiVersion` but no `kind`; skipped".into(),
                skipped: false,
            });
        }
        return;
    };
    let items = node.get("items").filter(|i| i.is_sequence());
    if kind.ends_with("List") && depth < MAX_LIST_DEPTH {
        if let Some(items) = items {
            for (i, item) in items.items().enumerate() {
                let p = if prefix.is_empty() {
                    format!("items[{i}]")
                } else {
                    format!("{prefix}.items[{i}]")
                };
                collect(item, p, depth + 1, out, problems);
            }
            return;
        }
    }
    let metadata = node.get("metadata");
    let mut meta_problems = Vec::new();
    let name = metadata
        .and_then(|m| string_field(m, "name", &mut meta_problems))
        .or_else(|| metadata.and_then(|m| string_field(m, "generateName", &mut meta_problems)))
        .unwrap_or("");
    let namespace = metadata.and_then(|m| string_field(m, "namespace", &mut meta_problems));
    problems.extend(meta_problems);
    out.push(Object {
        root: node,
        prefix,
        identity: Arc::new(ObjectRef {
            api_version: api_version.unwrap_or("").to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }),
    });
}

/// The Kubernetes objects in a document, Lists (`kind: List` and every `*List` with
/// `items`) expanded. Documents that are not Kubernetes objects (no `kind` and no
/// `apiVersion`) yield nothing; malformed ones yield a problem each.
#[must_use]
pub fn objects_in(doc: &Document) -> (Vec<Object<'_>>, Vec<ObjectProblem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    if let Some(root) = doc.root() {
        if root.is_mapping() {
            collect(root, String::new(), 0, &mut out, &mut problems);
        } else if !root.is_null() && root.is_sequence() {
            problems.push(ObjectProblem {
                pos: root.pos(),
                message: "document is a sequence, not a Kubernetes object; skipped".into(),
                skipped: true,
            });
        }
    }
    (out, problems)
}

/// The objects of a document that is the `index`th element of a List's `items`, read on
/// its own (see `palisade_source::parse_list_item`): as [`objects_in`] finds them in the
/// whole List, under the prefix `items[index]`.
#[must_use]
pub fn objects_in_list_item(doc: &Document, index: usize) -> (Vec<Object<'_>>, Vec<ObjectProblem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    if let Some(root) = doc.root() {
        collect(root, format!("items[{index}]"), 1, &mut out, &mut problems);
    }
    (out, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_source::{parse_document, split_documents, Limits};

    fn doc(text: &str) -> Document {
        let c = &split_documents(text)[0];
        parse_document(&text[c.range.clone()], c, &Limits::default()).unwrap()
    }

    #[test]
    fn lists_are_expanded_with_paths() {
        let d = doc("apiVersion: v1\nkind: PodList\nitems:\n- kind: Pod\n  apiVersion: v1\n  metadata: {name: a, namespace: x}\n- kind: List\n  apiVersion: v1\n  items:\n  - {kind: ConfigMap, apiVersion: v1, metadata: {name: b}}\n");
        let (objs, problems) = objects_in(&d);
        assert!(problems.is_empty(), "{problems:?}");
        let ids: Vec<_> = objs
            .iter()
            .map(|o| (o.prefix.as_str(), o.identity.to_string()))
            .collect();
        assert_eq!(
            ids,
            [
                ("items[0]", "Pod x/a".to_owned()),
                ("items[1].items[0]", "ConfigMap b".to_owned())
            ]
        );
        assert_eq!(objs[1].path("data"), "items[1].items[0].data");
    }

    #[test]
    fn non_kubernetes_yaml_is_ignored_and_malformed_objects_reported() {
        assert_eq!(objects_in(&doc("foo: bar\n")).0.len(), 0);
        assert!(objects_in(&doc("foo: bar\n")).1.is_empty());
        let d = doc("{\"kind\":0}");
        let (objs, problems) = objects_in(&d);
        assert!(objs.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].message, "`kind` must be a string, found `0`");
        let d = doc("{\"kind\":\"0\"}");
        let (objs, problems) = objects_in(&d);
        assert_eq!((objs.len(), problems.len()), (1, 0));
        let (_, problems) = objects_in(&doc("kind: [a]\napiVersion: v1\n"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0]
            .message
            .contains("`kind` must be a string, found a sequence"));
    }

    #[test]
    fn custom_resources_load() {
        let d = doc("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\n");
        let (objs, _) = objects_in(&d);
        assert_eq!(objs[0].identity.kind, "Rollout");
    }
}
