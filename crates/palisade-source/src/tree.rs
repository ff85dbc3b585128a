//! The positioned arena tree built straight from parser events.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::scalar::{is_go_null, parse_go_bool, parse_go_int};
use crate::split::DocumentChunk;
use crate::SourceError;

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// What a node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Scalar,
    Sequence,
    Mapping,
}

/// Bounds on what one document may cost, so hostile input cannot exhaust the machine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most nodes a document may have once every alias is expanded (alias bombs).
    pub max_expanded_nodes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 200,
            max_expanded_nodes: 2_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw {
    pub(crate) kind: NodeKind,
    /// A plain (unquoted, untagged-as-string) scalar: only these resolve to bool/int/null.
    pub(crate) plain: bool,
    pub(crate) pos: Pos,
    /// Scalar: byte range in `text`. Collections: range in `children` (mappings store
    /// key, value, key, value, ...).
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// One parsed document: an arena of nodes with positions.
#[derive(Debug, Clone)]
pub struct Document {
    pub(crate) nodes: Vec<Raw>,
    pub(crate) children: Vec<u32>,
    pub(crate) text: String,
    pub(crate) root: Option<u32>,
    /// 0-based index of the document in its stream.
    pub index: usize,
    /// Keys given twice in one mapping. Not an error (Kubernetes decodes them, the last
    /// value winning) but worth reporting: a reviewer may read the first.
    pub duplicates: Vec<DuplicateKey>,
}

/// A key repeated in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    /// Where the repeat (the value that wins) is.
    pub pos: Pos,
    /// Where the first occurrence is (its key node stays in the tree, holding the
    /// winning value).
    pub first: Pos,
}

impl Document {
    /// The root node, or `None` for an empty document.
    #[must_use]
    pub fn root(&self) -> Option<Node<'_>> {
        self.root.map(|id| Node { doc: self, id })
    }

    /// Number of nodes stored (aliases not expanded).
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

/// A node of a [`Document`]; cheap to copy.
#[derive(Clone, Copy)]
pub struct Node<'d> {
    doc: &'d Document,
    id: u32,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind() {
            NodeKind::Scalar => write!(f, "{:?}", self.scalar_text()),
            NodeKind::Sequence => f.debug_list().entries(self.items()).finish(),
            NodeKind::Mapping => f.debug_map().entries(self.entries()).finish(),
        }
    }
}

impl<'d> Node<'d> {
    fn raw(&self) -> &'d Raw {
        &self.doc.nodes[self.id as usize]
    }

    fn child_ids(&self) -> &'d [u32] {
        let r = self.raw();
        match r.kind {
            NodeKind::Scalar => &[],
            _ => &self.doc.children[r.start as usize..r.end as usize],
        }
    }

    /// Where the node starts.
    #[must_use]
    pub fn pos(&self) -> Pos {
        self.raw().pos
    }

    #[must_use]
    pub fn kind(&self) -> NodeKind {
        self.raw().kind
    }

    fn scalar_text(&self) -> Option<&'d str> {
        let r = self.raw();
        (r.kind == NodeKind::Scalar).then(|| &self.doc.text[r.start as usize..r.end as usize])
    }

    /// True for null: a plain `~`/`null`/empty scalar.
    #[must_use]
    pub fn is_null(&self) -> bool {
        self.raw().plain && self.scalar_text().is_some_and(is_go_null)
    }

    /// The text of a non-null scalar (any style).
    #[must_use]
    pub fn as_str(&self) -> Option<&'d str> {
        if self.is_null() {
            return None;
        }
        self.scalar_text()
    }

    /// A boolean, only for plain scalars (a quoted `"true"` is a string, as in Kubernetes).
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        if !self.raw().plain {
            return None;
        }
        self.scalar_text().and_then(parse_go_bool)
    }

    /// An integer, only for plain scalars.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        if !self.raw().plain {
            return None;
        }
        self.scalar_text().and_then(parse_go_int)
    }

    /// True only for a plain scalar that resolves to `true`.
    #[must_use]
    pub fn is_true(&self) -> bool {
        self.as_bool() == Some(true)
    }

    #[must_use]
    pub fn is_mapping(&self) -> bool {
        self.kind() == NodeKind::Mapping
    }

    #[must_use]
    pub fn is_sequence(&self) -> bool {
        self.kind() == NodeKind::Sequence
    }

    /// Number of items (sequence) or entries (mapping); 0 for scalars.
    #[must_use]
    pub fn len(&self) -> usize {
        match self.kind() {
            NodeKind::Scalar => 0,
            NodeKind::Sequence => self.child_ids().len(),
            NodeKind::Mapping => self.child_ids().len() / 2,
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value under `key` in a mapping, with its key node.
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<(Node<'d>, Node<'d>)> {
        self.entries().find(|(k, _)| k.scalar_text() == Some(key))
    }

    /// The value under `key` in a mapping; `None` for other kinds.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Node<'d>> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Like [`Node::get`] but treats an explicit null as absent.
    #[must_use]
    pub fn get_present(&self, key: &str) -> Option<Node<'d>> {
        self.get(key).filter(|n| !n.is_null())
    }

    /// Follows a dotted path of mapping keys (`"spec.template.spec"`).
    #[must_use]
    pub fn get_path(&self, path: &str) -> Option<Node<'d>> {
        path.split('.')
            .try_fold(*self, |node, key| node.get_present(key))
    }

    /// The field path (`spec.containers[0].name`) from this node to the mapping key that
    /// starts at `pos`, if there is one below.
    #[must_use]
    pub fn path_to_key(&self, pos: Pos) -> Option<String> {
        self.path_to_key_from(pos, 0)
    }

    fn path_to_key_from(&self, pos: Pos, depth: usize) -> Option<String> {
        if depth > 256 || self.pos() > pos {
            return None;
        }
        match self.kind() {
            NodeKind::Scalar => None,
            NodeKind::Mapping => self.entries().find_map(|(k, v)| {
                let key = k.scalar_text().unwrap_or("?");
                if k.pos() == pos {
                    Some(key.to_owned())
                } else {
                    v.path_to_key_from(pos, depth + 1).map(|rest| {
                        if rest.starts_with('[') {
                            format!("{key}{rest}")
                        } else {
                            format!("{key}.{rest}")
                        }
                    })
                }
            }),
            NodeKind::Sequence => self.items().enumerate().find_map(|(i, item)| {
                item.path_to_key_from(pos, depth + 1).map(|rest| {
                    if rest.starts_with('[') {
                        format!("[{i}]{rest}")
                    } else {
                        format!("[{i}].{rest}")
                    }
                })
            }),
        }
    }

    /// The mapping's entries in source order; empty for other kinds.
    #[must_use]
    pub fn entries(&self) -> Entries<'d> {
        let ids = if self.is_mapping() {
            self.child_ids()
        } else {
            &[]
        };
        Entries {
            doc: self.doc,
            ids: ids.chunks_exact(2),
        }
    }

    /// The sequence's items; empty for other kinds.
    #[must_use]
    pub fn items(&self) -> Items<'d> {
        let ids = if self.is_sequence() {
            self.child_ids()
        } else {
            &[]
        };
        Items {
            doc: self.doc,
            ids: ids.iter(),
        }
    }
}

/// Iterator over a mapping's `(key, value)` pairs.
pub struct Entries<'d> {
    doc: &'d Document,
    ids: std::slice::ChunksExact<'d, u32>,
}

impl<'d> Iterator for Entries<'d> {
    type Item = (Node<'d>, Node<'d>);
    fn next(&mut self) -> Option<Self::Item> {
        let pair = self.ids.next()?;
        Some((
            Node {
                doc: self.doc,
                id: pair[0],
            },
            Node {
                doc: self.doc,
                id: pair[1],
            },
        ))
    }
}

/// Iterator over a sequence's items.
pub struct Items<'d> {
    doc: &'d Document,
    ids: std::slice::Iter<'d, u32>,
}

impl<'d> Iterator for Items<'d> {
    type Item = Node<'d>;
    fn next(&mut self) -> Option<Self::Item> {
        self.ids.next().map(|&id| Node { doc: self.doc, id })
    }
}

impl ExactSizeIterator for Items<'_> {}
impl DoubleEndedIterator for Items<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.ids.next_back().map(|&id| Node { doc: self.doc, id })
    }
}

struct Frame {
    node: u32,
    anchor: usize,
    /// Index into `Builder::pending` where this collection's children start.
    first_child: usize,
}

struct Builder<'l> {
    doc: Document,
    /// Expanded size of each node (itself plus everything below, aliases expanded).
    sizes: Vec<u64>,
    stack: Vec<Frame>,
    pending: Vec<u32>,
    anchors: HashMap<usize, u32>,
    limits: &'l Limits,
    /// The bound on expanded nodes: the limit, or the document's length in bytes when
    /// that is larger. A node takes at least a byte of text, so a large document with no
    /// aliases (a cluster snapshot's `kind: List`) stays within it; only aliases can
    /// expand past it.
    max_nodes: u64,
    first_line: u32,
}

fn too_big(max_nodes: u64) -> String {
    format!("document expands to more than {max_nodes} nodes (alias bomb?)")
}

impl Builder<'_> {
    fn pos(&self, span: &Span) -> Pos {
        let line = u32::try_from(span.start.line()).unwrap_or(u32::MAX);
        Pos {
            line: line.saturating_add(self.first_line.saturating_sub(1)),
            column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        }
    }

    fn error(&self, span: &Span, message: impl Into<String>) -> SourceError {
        let pos = self.pos(span);
        SourceError {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    fn new_node(&mut self, raw: Raw, size: u64) -> Result<u32, String> {
        if size > self.max_nodes {
            return Err(too_big(self.max_nodes));
        }
        let id = u32::try_from(self.doc.nodes.len()).map_err(|_| too_big(self.max_nodes))?;
        self.doc.nodes.push(raw);
        self.sizes.push(size);
        Ok(id)
    }

    /// Attaches a finished node to its parent (or makes it the root).
    fn attach(&mut self, id: u32, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        if self.stack.is_empty() {
            self.doc.root = Some(id);
        } else {
            self.pending.push(id);
        }
    }

    fn open(&mut self, kind: NodeKind, anchor: usize, span: &Span) -> Result<(), SourceError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.error(
                span,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        let raw = Raw {
            kind,
            plain: false,
            pos: self.pos(span),
            start: 0,
            end: 0,
        };
        let node = self.new_node(raw, 1).map_err(|m| self.error(span, m))?;
        let first_child = self.pending.len();
        self.stack.push(Frame {
            node,
            anchor,
            first_child,
        });
        Ok(())
    }

    fn close(&mut self, span: &Span) -> Result<(), SourceError> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.error(span, "unbalanced collection end"));
        };
        let mut kids: Vec<u32> = self.pending.split_off(frame.first_child);
        if self.doc.nodes[frame.node as usize].kind == NodeKind::Mapping {
            kids = self.finish_mapping(kids);
        }
        let size = kids
            .iter()
            .fold(1u64, |acc, &k| acc.saturating_add(self.sizes[k as usize]));
        if size > self.max_nodes {
            return Err(self.error(span, too_big(self.max_nodes)));
        }
        self.sizes[frame.node as usize] = size;
        let start = u32::try_from(self.doc.children.len())
            .map_err(|_| self.error(span, too_big(self.max_nodes)))?;
        self.doc.children.extend_from_slice(&kids);
        let end = u32::try_from(self.doc.children.len())
            .map_err(|_| self.error(span, too_big(self.max_nodes)))?;
        let raw = &mut self.doc.nodes[frame.node as usize];
        raw.start = start;
        raw.end = end;
        self.attach(frame.node, frame.anchor);
        Ok(())
    }

    fn key_text(&self, id: u32) -> Option<&str> {
        let r = &self.doc.nodes[id as usize];
        (r.kind == NodeKind::Scalar).then(|| &self.doc.text[r.start as usize..r.end as usize])
    }

    /// Applies YAML merge keys (`<<: *base`) and resolves duplicate keys the way
    /// Kubernetes' decoder does (the last one wins), warning about each duplicate.
    fn finish_mapping(&mut self, kids: Vec<u32>) -> Vec<u32> {
        let mut merged_sources: Vec<u32> = Vec::new();
        let mut own: Vec<[u32; 2]> = Vec::with_capacity(kids.len() / 2);
        for pair in kids.chunks_exact(2) {
            let (k, v) = (pair[0], pair[1]);
            let is_merge = {
                let r = &self.doc.nodes[k as usize];
                r.plain && self.key_text(k) == Some("<<")
            };
            if is_merge {
                let value = &self.doc.nodes[v as usize];
                match value.kind {
                    NodeKind::Mapping => merged_sources.push(v),
                    NodeKind::Sequence => merged_sources.extend(
                        self.doc.children[value.start as usize..value.end as usize]
                            .iter()
                            .copied()
                            .filter(|&m| self.doc.nodes[m as usize].kind == NodeKind::Mapping),
                    ),
                    NodeKind::Scalar => own.push([k, v]),
                }
            } else {
                own.push([k, v]);
            }
        }
        // Duplicate keys: keep the last occurrence in the first one's place.
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut dropped: HashSet<usize> = HashSet::new();
        let mut duplicates = Vec::new();
        for i in 0..own.len() {
            let Some(key) = self.key_text(own[i][0]) else {
                continue;
            };
            if let Some(&first) = seen.get(key) {
                let first_pos = self.doc.nodes[own[first][0] as usize].pos;
                let pos = self.doc.nodes[own[i][0] as usize].pos;
                duplicates.push(DuplicateKey {
                    key: key.to_owned(),
                    pos,
                    first: first_pos,
                });
                own[first][1] = own[i][1];
                dropped.insert(i);
            } else {
                seen.insert(key, i);
            }
        }
        drop(seen);
        self.doc.duplicates.extend(duplicates);
        let mut out: Vec<u32> = own
            .iter()
            .enumerate()
            .filter(|(i, _)| !dropped.contains(i))
            .flat_map(|(_, p)| *p)
            .collect();
        if !merged_sources.is_empty() {
            let mut present: HashSet<String> = out
                .chunks_exact(2)
                .filter_map(|p| self.key_text(p[0]).map(str::to_owned))
                .collect();
            for src in merged_sources {
                let r = self.doc.nodes[src as usize];
                let pairs: Vec<u32> = self.doc.children[r.start as usize..r.end as usize].to_vec();
                for p in pairs.chunks_exact(2) {
                    let key = self.key_text(p[0]).map(str::to_owned);
                    if let Some(key) = key {
                        if present.insert(key) {
                            out.extend_from_slice(p);
                        }
                    }
                }
            }
        }
        out
    }
}

/// The parser reports an error at end of input one line past the text when the text has
/// no final newline; point at the end of the last line instead. Returns the 1-based line
/// (relative to `text`) and 1-based column.
fn clamp_to_text(text: &str, line: u32, col: usize) -> (u32, u32) {
    let last = u32::try_from(text.matches('\n').count() + 1).unwrap_or(u32::MAX);
    if line <= last {
        return (line, u32::try_from(col + 1).unwrap_or(u32::MAX));
    }
    let tail = text.rsplit('\n').next().unwrap_or("");
    (
        last,
        u32::try_from(tail.chars().count() + 1).unwrap_or(u32::MAX),
    )
}

/// Parses the text of one document (`chunk` says where it sits in its file).
///
/// # Errors
/// A syntax error, an unknown alias, or a document over [`Limits`]; the error carries the
/// line and column in the file.
pub fn parse_document(
    text: &str,
    chunk: &DocumentChunk,
    limits: &Limits,
) -> Result<Document, SourceError> {
    let mut b = Builder {
        doc: Document {
            nodes: Vec::new(),
            children: Vec::new(),
            text: String::new(),
            root: None,
            index: chunk.index,
            duplicates: Vec::new(),
        },
        sizes: Vec::new(),
        stack: Vec::new(),
        pending: Vec::new(),
        anchors: HashMap::new(),
        limits,
        max_nodes: limits.max_expanded_nodes.max(text.len() as u64),
        first_line: chunk.first_line,
    };
    let mut documents = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            let line = u32::try_from(m.line()).unwrap_or(u32::MAX);
            let (line, column) = clamp_to_text(text, line, m.col());
            SourceError {
                line: line.saturating_add(chunk.first_line.saturating_sub(1)),
                column,
                message: e.info().to_owned(),
            }
        })?;
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(b.error(&span, "unexpected second document in one chunk"));
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tagged_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let plain = style == ScalarStyle::Plain && !tagged_str;
                let start = b.doc.text.len();
                b.doc.text.push_str(&value);
                let end = b.doc.text.len();
                let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) else {
                    return Err(b.error(&span, "document text larger than 4 GiB"));
                };
                let raw = Raw {
                    kind: NodeKind::Scalar,
                    plain,
                    pos: b.pos(&span),
                    start,
                    end,
                };
                let id = b.new_node(raw, 1).map_err(|m| b.error(&span, m))?;
                b.attach(id, anchor);
            }
            Event::SequenceStart(anchor, _) => b.open(NodeKind::Sequence, anchor, &span)?,
            Event::MappingStart(anchor, _) => b.open(NodeKind::Mapping, anchor, &span)?,
            Event::SequenceEnd | Event::MappingEnd => b.close(&span)?,
            Event::Alias(anchor) => {
                let Some(&id) = b.anchors.get(&anchor) else {
                    return Err(b.error(&span, "alias to an unknown anchor"));
                };
                if b.stack.is_empty() {
                    b.doc.root = Some(id);
                } else {
                    b.pending.push(id);
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    Ok(b.doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split_documents;

    fn parse(text: &str) -> Result<Document, SourceError> {
        let chunk = split_documents(text)
            .into_iter()
            .next()
            .unwrap_or(DocumentChunk {
                index: 0,
                range: 0..text.len(),
                first_line: 1,
            });
        parse_document(&text[chunk.range.clone()], &chunk, &Limits::default())
    }

    #[test]
    fn positions_are_one_based_and_point_at_the_node() {
        let doc = parse("a:\n  b: [1, 'x']\n  c: |\n    text\n").unwrap();
        let root = doc.root().unwrap();
        let b = root.get("a").unwrap().get("b").unwrap();
        assert_eq!(b.pos(), Pos { line: 2, column: 6 });
        let items: Vec<_> = b
            .items()
            .map(|n| (n.pos().column, n.as_i64(), n.as_str()))
            .collect();
        assert_eq!(items, vec![(7, Some(1), Some("1")), (10, None, Some("x"))]);
        let (k, _) = root.get("a").unwrap().entry("c").unwrap();
        assert_eq!(k.pos(), Pos { line: 3, column: 3 });
    }

    #[test]
    fn lines_are_relative_to_the_file_not_the_chunk() {
        let text = "a: 1\n---\nkind: Pod\nspec:\n  x: true\n";
        let chunk = &split_documents(text)[1];
        let doc = parse_document(&text[chunk.range.clone()], chunk, &Limits::default()).unwrap();
        let x = doc.root().unwrap().get_path("spec.x").unwrap();
        assert_eq!(x.pos(), Pos { line: 5, column: 6 });
        assert!(x.is_true());
        assert_eq!(doc.index, 1);
    }

    #[test]
    fn quoted_scalars_are_strings() {
        let doc = parse("a: 'true'\nb: \"0\"\nc: !!str yes\nd: yes\ne: ~\n").unwrap();
        let r = doc.root().unwrap();
        assert_eq!(r.get("a").unwrap().as_bool(), None);
        assert_eq!(r.get("b").unwrap().as_i64(), None);
        assert_eq!(r.get("c").unwrap().as_bool(), None);
        assert!(r.get("d").unwrap().is_true());
        assert!(r.get("e").unwrap().is_null());
        assert!(r.get_present("e").is_none());
    }

    #[test]
    fn aliases_share_nodes_and_merge_keys_apply() {
        let doc = parse("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n").unwrap();
        let m = doc.root().unwrap().get("m").unwrap();
        assert_eq!(m.get("x").unwrap().as_i64(), Some(1));
        assert_eq!(m.get("y").unwrap().as_i64(), Some(3));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn duplicate_keys_warn_and_last_wins() {
        let doc = parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(doc.root().unwrap().get("a").unwrap().as_i64(), Some(3));
        assert_eq!(doc.root().unwrap().len(), 2);
        assert_eq!(
            doc.duplicates,
            [DuplicateKey {
                key: "a".into(),
                pos: Pos { line: 3, column: 1 },
                first: Pos { line: 1, column: 1 }
            }]
        );
    }

    #[test]
    fn paths_to_keys() {
        let doc =
            parse("spec:\n  containers:\n  - name: a\n    securityContext: {privileged: true}\n")
                .unwrap();
        let root = doc.root().unwrap();
        assert_eq!(
            root.path_to_key(Pos {
                line: 4,
                column: 23
            })
            .as_deref(),
            Some("spec.containers[0].securityContext.privileged")
        );
        assert_eq!(
            root.path_to_key(Pos {
                line: 4,
                column: 22
            }),
            None
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            s.push_str(&format!("{n}: &{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = n;
        }
        let err = parse(&s).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let flow = "[".repeat(100_000);
        let err = parse(&flow).unwrap_err();
        assert!(err.message.contains("recursion limit"), "{err}");
        let block: String = (0..300)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let err = parse(&block).unwrap_err();
        assert!(err.message.contains("nesting deeper than 200"), "{err}");
    }

    #[test]
    fn syntax_errors_carry_file_positions() {
        let text = "a: 1\n---\nb: [1, 2\n";
        let chunk = &split_documents(text)[1];
        let err =
            parse_document(&text[chunk.range.clone()], chunk, &Limits::default()).unwrap_err();
        assert!(err.line >= 3, "{err}");
    }

    #[test]
    fn errors_at_end_of_input_stay_inside_the_text() {
        let err = parse("a: &a [x, x]\nkind: Pod\napiVe").unwrap_err();
        assert_eq!((err.line, err.column), (3, 6), "{err}");
    }

    #[test]
    fn unknown_alias_is_an_error() {
        assert!(parse("a: *nope\n").is_err());
    }
}
