//! A [`Document`] built from JSON an API server sent, for objects that have no file.
//!
//! Objects read from a live cluster arrive as JSON values, not text a person wrote, so
//! their nodes have no line to point at. Each node gets line 0 and, as its column, its
//! place in document order: positions stay unique and ordered (what duplicate and
//! exception handling compare), and reports show the field path instead.

use serde_json::Value;

use crate::tree::{Document, NodeKind, Raw};
use crate::{Limits, Pos, SourceError};

impl Document {
    /// The document of one JSON value, the `index`th of its input. Strings become
    /// quoted scalars (so `"true"` stays a string, as Kubernetes decodes it); numbers,
    /// booleans and null become plain scalars.
    ///
    /// # Errors
    /// A value nested deeper than `limits.max_depth`, or with more nodes than
    /// `limits.max_expanded_nodes`.
    pub fn from_json(value: &Value, index: usize, limits: &Limits) -> Result<Self, SourceError> {
        let mut doc = Document {
            nodes: Vec::new(),
            children: Vec::new(),
            text: String::new(),
            root: None,
            index,
            duplicates: Vec::new(),
        };
        let root = add(&mut doc, value, 0, limits, &mut Vec::new())?;
        doc.root = Some(root);
        Ok(doc)
    }
}

fn too_big(message: &str) -> SourceError {
    SourceError {
        line: 0,
        column: 0,
        message: message.to_owned(),
    }
}

/// Appends `value` and everything under it; `scratch` holds the child ids of the
/// collections being built (one buffer for the whole document, not one per node).
fn add(
    doc: &mut Document,
    value: &Value,
    depth: usize,
    limits: &Limits,
    scratch: &mut Vec<u32>,
) -> Result<u32, SourceError> {
    if depth > limits.max_depth {
        return Err(too_big(&format!(
            "nesting deeper than {} levels",
            limits.max_depth
        )));
    }
    let (kind, start) = match value {
        Value::Null => return scalar(doc, "null", true, limits),
        Value::Bool(b) => return scalar(doc, if *b { "true" } else { "false" }, true, limits),
        Value::Number(n) => return scalar(doc, &n.to_string(), true, limits),
        Value::String(s) => return scalar(doc, s, false, limits),
        Value::Array(_) => (NodeKind::Sequence, scratch.len()),
        Value::Object(_) => (NodeKind::Mapping, scratch.len()),
    };
    // Reserved first so that ids (and positions) follow document order.
    let id = reserve(doc, limits)?;
    match value {
        Value::Array(items) => {
            for item in items {
                let child = add(doc, item, depth + 1, limits, scratch)?;
                scratch.push(child);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let key_id = scalar(doc, key, false, limits)?;
                scratch.push(key_id);
                let child = add(doc, item, depth + 1, limits, scratch)?;
                scratch.push(child);
            }
        }
        _ => {}
    }
    let pos = doc.nodes[id as usize].pos;
    let node = collection(doc, kind, pos, &scratch[start..])?;
    scratch.truncate(start);
    doc.nodes[id as usize] = node;
    Ok(id)
}

/// A new node's id, after the size limit; its position is its place in the document.
fn reserve(doc: &mut Document, limits: &Limits) -> Result<u32, SourceError> {
    if doc.nodes.len() as u64 >= limits.max_expanded_nodes {
        return Err(too_big(&format!(
            "more than {} nodes in one object",
            limits.max_expanded_nodes
        )));
    }
    let id = u32::try_from(doc.nodes.len()).map_err(|_| too_big("too many nodes"))?;
    doc.nodes.push(Raw {
        kind: NodeKind::Scalar,
        plain: true,
        pos: Pos {
            line: 0,
            column: id.saturating_add(1),
        },
        start: 0,
        end: 0,
    });
    Ok(id)
}

fn scalar(
    doc: &mut Document,
    text: &str,
    plain: bool,
    limits: &Limits,
) -> Result<u32, SourceError> {
    let id = reserve(doc, limits)?;
    let start = doc.text.len();
    doc.text.push_str(text);
    let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(doc.text.len())) else {
        return Err(too_big("document text larger than 4 GiB"));
    };
    let node = &mut doc.nodes[id as usize];
    node.plain = plain;
    node.start = start;
    node.end = end;
    Ok(id)
}

fn collection(
    doc: &mut Document,
    kind: NodeKind,
    pos: Pos,
    ids: &[u32],
) -> Result<Raw, SourceError> {
    let start = doc.children.len();
    doc.children.extend_from_slice(ids);
    let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(doc.children.len())) else {
        return Err(too_big("too many nodes"));
    };
    Ok(Raw {
        kind,
        plain: false,
        pos,
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_keep_their_json_types() {
        let value = json!({"kind": "Pod", "spec": {"hostNetwork": true, "quoted": "true",
            "port": 8080, "none": null, "list": ["a", 2]}});
        let doc = Document::from_json(&value, 3, &Limits::default()).unwrap();
        let root = doc.root().unwrap();
        assert_eq!(doc.index, 3);
        assert_eq!(root.get("kind").unwrap().as_str(), Some("Pod"));
        let spec = root.get("spec").unwrap();
        assert_eq!(spec.get("hostNetwork").unwrap().as_bool(), Some(true));
        assert_eq!(
            spec.get("quoted").unwrap().as_bool(),
            None,
            "a JSON string is not a bool"
        );
        assert_eq!(spec.get("port").unwrap().as_i64(), Some(8080));
        assert!(spec.get("none").unwrap().is_null());
        let items: Vec<_> = spec.get("list").unwrap().items().collect();
        assert_eq!(items[0].as_str(), Some("a"));
        assert_eq!(items[1].as_i64(), Some(2));
        assert_eq!(spec.len(), 5);
    }

    #[test]
    fn positions_are_unique_and_in_document_order() {
        let value = json!({"a": {"b": 1}, "c": [true]});
        let doc = Document::from_json(&value, 0, &Limits::default()).unwrap();
        let root = doc.root().unwrap();
        let a = root.get("a").unwrap();
        let b = a.get("b").unwrap();
        let c = root.get("c").unwrap();
        assert!(root.pos() < a.pos() && a.pos() < b.pos() && b.pos() < c.pos());
        assert!([root.pos(), a.pos(), b.pos(), c.pos()]
            .iter()
            .all(|p| p.line == 0));
    }

    #[test]
    fn hostile_depth_and_size_are_refused() {
        let mut deep = json!(1);
        for _ in 0..300 {
            deep = json!([deep]);
        }
        let err = Document::from_json(&deep, 0, &Limits::default()).unwrap_err();
        assert!(err.message.contains("nesting deeper"), "{err}");
        let wide = Value::Array(vec![json!(1); 50]);
        let limits = Limits {
            max_depth: 10,
            max_expanded_nodes: 20,
        };
        let err = Document::from_json(&wide, 0, &limits).unwrap_err();
        assert!(err.message.contains("more than 20 nodes"), "{err}");
    }
}
