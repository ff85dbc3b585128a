//! The positioned arena tree built straight from parser events.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Whether two documents hold the same nodes, values, styles and positions.
    #[doc(hidden)]
    #[must_use]
    pub fn same_tree(&self, other: &Document) -> bool {
        self.nodes == other.nodes
            && self.children == other.children
            && self.text == other.text
            && self.root == other.root
            && self.duplicates == other.duplicates
    }

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

    /// A scalar's text as read and whether it is plain (for tests that rebuild input).
    #[doc(hidden)]
    #[must_use]
    pub fn scalar_source(&self) -> Option<(&'d str, bool)> {
        self.scalar_text().map(|t| (t, self.raw().plain))
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
        // The checks' most frequent call: keys are compared by length before bytes.
        let doc = self.doc;
        let ids = if self.is_mapping() {
            self.child_ids()
        } else {
            &[]
        };
        ids.chunks_exact(2)
            .find(|pair| {
                let k = &doc.nodes[pair[0] as usize];
                k.kind == NodeKind::Scalar
                    && (k.end - k.start) as usize == key.len()
                    && doc.text.as_bytes()[k.start as usize..k.end as usize] == *key.as_bytes()
            })
            .map(|pair| (Node { doc, id: pair[0] }, Node { doc, id: pair[1] }))
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

    /// The node as JSON, typed as `kubectl` types YAML (go-yaml v2 through
    /// `sigs.k8s.io/yaml`): plain `yes` is `true`, plain `0x10` is 16, quoted scalars are
    /// strings. For a repeated key the last value wins, as there. An alias shares its
    /// node, so the expanded size is what the document's limits already bounded.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self.kind() {
            NodeKind::Mapping => Value::Object(
                self.entries()
                    .map(|(k, v)| {
                        let key = k.scalar_text().unwrap_or_default().to_owned();
                        (key, v.to_json())
                    })
                    .collect(),
            ),
            NodeKind::Sequence => Value::Array(self.items().map(|i| i.to_json()).collect()),
            NodeKind::Scalar => {
                let text = self.scalar_text().unwrap_or_default();
                if !self.raw().plain {
                    return Value::String(text.to_owned());
                }
                if is_go_null(text) {
                    Value::Null
                } else if let Some(b) = parse_go_bool(text) {
                    Value::Bool(b)
                } else if let Some(i) = parse_go_int(text) {
                    Value::from(i)
                } else if let Some(f) = go_float(text) {
                    serde_json::Number::from_f64(f)
                        .map_or(Value::String(text.to_owned()), Value::Number)
                } else {
                    Value::String(text.to_owned())
                }
            }
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

/// A plain scalar YAML 1.1 reads as a finite float (`1.5`, `-2e3`); infinities and NaN,
/// which JSON cannot hold, stay text.
fn go_float(text: &str) -> Option<f64> {
    let numeric = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    numeric
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|f| f.is_finite())
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
    /// The collection takes its first entry's position (libyaml's block sequences start
    /// at the `-`; the convention here is the first entry, as saphyr reports it).
    at_first_entry: bool,
    /// Index into `Builder::pending` where this collection's children start.
    first_child: usize,
}

struct Builder<'l> {
    doc: Document,
    /// Expanded size of each node (itself plus everything below, aliases expanded).
    sizes: Vec<u64>,
    /// Whether the reader may make aliases, and so sizes must be kept: the JSON and
    /// block readers make none, so a document's expanded size is its node count, which
    /// its length bounds already.
    aliases: bool,
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
    /// Document starts seen: a chunk holds one.
    documents: usize,
}

fn too_big(max_nodes: u64) -> String {
    format!("document expands to more than {max_nodes} nodes (alias bomb?)")
}

impl<'l> Builder<'l> {
    fn new(text: &str, chunk: &DocumentChunk, limits: &'l Limits) -> Self {
        Builder::create(text, chunk, limits, true)
    }

    fn create(text: &str, chunk: &DocumentChunk, limits: &'l Limits, aliases: bool) -> Self {
        // Sized from the text (Kubernetes YAML and JSON run about 19 bytes a node, half of
        // the text is scalar content): a large document's arena is not regrown and copied
        // a dozen times, each time on freshly zeroed pages.
        let nodes = text.len() / 20 + 8;
        Builder {
            doc: Document {
                nodes: Vec::with_capacity(nodes),
                children: Vec::with_capacity(nodes),
                text: String::with_capacity(text.len() / 2),
                root: None,
                index: chunk.index,
                duplicates: Vec::new(),
            },
            sizes: Vec::with_capacity(if aliases { nodes } else { 0 }),
            aliases,
            stack: Vec::new(),
            pending: Vec::new(),
            anchors: HashMap::new(),
            limits,
            max_nodes: limits.max_expanded_nodes.max(text.len() as u64),
            first_line: chunk.first_line,
            documents: 0,
        }
    }

    /// A builder for a reader that makes no aliases (JSON, the block reader).
    fn without_aliases(text: &str, chunk: &DocumentChunk, limits: &'l Limits) -> Self {
        Builder::create(text, chunk, limits, false)
    }
}

/// Where an event starts in the chunk's text: 1-based line, 0-based column in characters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pub(crate) line: usize,
    pub(crate) col: usize,
}

/// One parser event, whichever parser produced it. Anchors are numbered from 1 (0: none).
pub(crate) enum Step<'t> {
    DocumentStart,
    Scalar {
        value: &'t str,
        /// Plain style and no `!!str` tag: typed as YAML 1.1 (`yes`, `0x10`, `~`).
        plain: bool,
        anchor: usize,
        /// Where the node is said to be, when not at the event's start.
        at: Option<Mark>,
    },
    /// A collection, with its anchor and whether it is a block sequence, whose position
    /// depends on its indentation (libyaml's; saphyr's are right as they come).
    Open(NodeKind, usize, bool),
    Close,
    Alias(usize),
    Other,
}

impl Builder<'_> {
    fn pos(&self, span: &Mark) -> Pos {
        let line = u32::try_from(span.line).unwrap_or(u32::MAX);
        Pos {
            line: line.saturating_add(self.first_line.saturating_sub(1)),
            column: u32::try_from(span.col + 1).unwrap_or(u32::MAX),
        }
    }

    fn error(&self, span: &Mark, message: impl Into<String>) -> SourceError {
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
        if self.aliases {
            self.sizes.push(size);
        }
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

    fn open(
        &mut self,
        kind: NodeKind,
        anchor: usize,
        at_first_entry: bool,
        span: &Mark,
    ) -> Result<(), SourceError> {
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
            at_first_entry,
            first_child,
        });
        Ok(())
    }

    fn close(&mut self, span: &Mark) -> Result<(), SourceError> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.error(span, "unbalanced collection end"));
        };
        let first = frame.first_child;
        if self.doc.nodes[frame.node as usize].kind == NodeKind::Mapping
            && self.mapping_needs_work(&self.pending[first..])
        {
            let kids = self.pending.split_off(first);
            let kids = self.finish_mapping(kids);
            self.pending.extend(kids);
        }
        let kids = &self.pending[first..];
        if self.aliases {
            let size = kids
                .iter()
                .fold(1u64, |acc, &k| acc.saturating_add(self.sizes[k as usize]));
            if size > self.max_nodes {
                return Err(self.error(span, too_big(self.max_nodes)));
            }
            self.sizes[frame.node as usize] = size;
        }
        let start = u32::try_from(self.doc.children.len())
            .map_err(|_| self.error(span, too_big(self.max_nodes)))?;
        self.doc.children.extend_from_slice(kids);
        self.pending.truncate(first);
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

    /// Whether two of the mapping entries `kids` (key, value, key, value...) have the
    /// same key, or one is a merge key: only then has [`Self::finish_mapping`] work to do.
    fn mapping_needs_work(&self, kids: &[u32]) -> bool {
        // Most mappings have a handful of keys: comparing pairs costs less than hashing.
        const FEW: usize = 24;
        let keys = || kids.iter().step_by(2).map(|&k| self.key_text(k));
        if keys().any(|k| k == Some("<<")) {
            return true;
        }
        if kids.len() / 2 <= FEW {
            let mut few: [&str; FEW] = [""; FEW];
            for (n, key) in keys().flatten().enumerate() {
                // Lengths first: most keys differ in length from most others.
                if few[..n].iter().any(|k| k.len() == key.len() && *k == key) {
                    return true;
                }
                few[n] = key;
            }
            return false;
        }
        let mut seen = HashSet::with_capacity(kids.len() / 2);
        keys().flatten().any(|k| !seen.insert(k))
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

    fn step(&mut self, step: Step<'_>, span: &Mark) -> Result<(), SourceError> {
        if matches!(step, Step::Scalar { .. } | Step::Open(..) | Step::Alias(_)) {
            let pos = self.pos(span);
            if let Some(frame) = self.stack.last_mut().filter(|f| f.at_first_entry) {
                frame.at_first_entry = false;
                self.doc.nodes[frame.node as usize].pos = pos;
            }
        }
        match step {
            Step::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(self.error(span, "unexpected second document in one chunk"));
                }
            }
            Step::Scalar {
                value,
                plain,
                anchor,
                at,
            } => {
                let start = self.doc.text.len();
                self.doc.text.push_str(value);
                let end = self.doc.text.len();
                let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) else {
                    return Err(self.error(span, "document text larger than 4 GiB"));
                };
                let raw = Raw {
                    kind: NodeKind::Scalar,
                    plain,
                    pos: self.pos(at.as_ref().unwrap_or(span)),
                    start,
                    end,
                };
                let id = self.new_node(raw, 1).map_err(|m| self.error(span, m))?;
                self.attach(id, anchor);
            }
            Step::Open(kind, anchor, block_sequence) => {
                // An indentless sequence (a mapping value whose `-` sits at its key's
                // column) takes its first entry's position; an indented one its `-`.
                let indentless = block_sequence
                    && self.stack.last().is_some_and(|parent| {
                        let parent_kind = self.doc.nodes[parent.node as usize].kind;
                        let entries = self.pending.len() - parent.first_child;
                        let key = self.pending.last().map(|&k| self.doc.nodes[k as usize].pos);
                        parent_kind == NodeKind::Mapping
                            && entries % 2 == 1
                            && key.is_some_and(|k| k.column == self.pos(span).column)
                    });
                self.open(kind, anchor, indentless, span)?;
            }
            Step::Close => self.close(span)?,
            Step::Alias(anchor) => {
                let Some(&id) = self.anchors.get(&anchor) else {
                    return Err(self.error(span, "alias to an unknown anchor"));
                };
                if self.stack.is_empty() {
                    self.doc.root = Some(id);
                } else {
                    self.pending.push(id);
                }
            }
            Step::Other => {}
        }
        Ok(())
    }
}

/// Why a document could not be built.
enum Failure {
    /// The parser refused the text.
    Syntax(SourceError),
    /// The text parsed, but the document breaks a [`Limits`] bound (or is otherwise
    /// unusable): another parser would not do better.
    Document(SourceError),
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

/// Which event parser builds a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Engine {
    /// `saphyr-parser`: fast, and strict about YAML 1.2 indentation.
    Saphyr,
    /// Strict JSON, read by [`crate::json_text`]: the same tree, ten times faster.
    Json,
    /// Block YAML within the subset [`crate::block_text`] reads: the same tree as saphyr's,
    /// several times faster; anything else is refused, never misread.
    Block,
    /// `libyaml-safer`, a port of libyaml, which go-yaml (and so kubectl) also ports:
    /// it accepts what kubectl reads and saphyr refuses, such as a flow sequence whose
    /// closing `]` sits at its key's column.
    Libyaml,
}

/// Parses the text of one document (`chunk` says where it sits in its file).
///
/// The fast parser reads it first; when that refuses the text, libyaml's reading
/// decides, so that what kubectl accepts is accepted, with the same positions. When both
/// refuse it, the first parser's error is reported.
///
/// # Errors
/// A syntax error, an unknown alias, or a document over [`Limits`]; the error carries the
/// line and column in the file.
pub fn parse_document(
    text: &str,
    chunk: &DocumentChunk,
    limits: &Limits,
) -> Result<Document, SourceError> {
    // Files concatenated with `cat` keep each file's byte order mark, right after the
    // `---` that now separates them. kubectl splits the stream at `---` before parsing,
    // so each such mark starts a stream and is dropped; here it would sit inside the
    // document. Dropping it leaves every line number as it was (and columns as an
    // editor shows them).
    let without_bom;
    let text = match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("---") && rest.starts_with('\u{feff}') => {
            without_bom = format!("{first}\n{}", &rest['\u{feff}'.len_utf8()..]);
            without_bom.as_str()
        }
        _ => text,
    };
    // JSON (a `.json` manifest, `kubectl get -o json`) is read as JSON first; anything
    // that is not strict JSON is read as YAML, which JSON is a part of.
    if text.trim_start().starts_with(['{', '[']) {
        match parse_document_with(Engine::Json, text, chunk, limits) {
            Ok(doc) => return Ok(doc),
            Err(Failure::Document(e)) => return Err(e),
            Err(Failure::Syntax(_)) => {}
        }
    }
    // Block YAML as manifests write it is read by the block reader; whatever it does not
    // handle, saphyr reads.
    match parse_document_with(Engine::Block, text, chunk, limits) {
        Ok(doc) => return Ok(doc),
        Err(Failure::Document(e)) => return Err(e),
        Err(Failure::Syntax(_)) => {}
    }
    match parse_document_with(Engine::Saphyr, text, chunk, limits) {
        Ok(doc) => Ok(doc),
        Err(Failure::Document(e)) => Err(e),
        Err(Failure::Syntax(e)) => parse_document_with(Engine::Libyaml, text, chunk, limits)
            .map_err(|again| match again {
                Failure::Syntax(_) => e,
                Failure::Document(e) => e,
            }),
    }
}

/// [`parse_document`] with one parser only; for tests that compare the two.
///
/// # Errors
/// As [`parse_document`].
#[doc(hidden)]
pub fn parse_document_by(
    engine: Engine,
    text: &str,
    chunk: &DocumentChunk,
    limits: &Limits,
) -> Result<Document, SourceError> {
    parse_document_with(engine, text, chunk, limits).map_err(|f| match f {
        Failure::Syntax(e) | Failure::Document(e) => e,
    })
}

/// Strict JSON `text`, whose first line starts at `column`, read into a document.
fn read_json(
    text: &str,
    column: usize,
    chunk: &DocumentChunk,
    limits: &Limits,
) -> Result<Document, Failure> {
    let mut b = Builder::without_aliases(text, chunk, limits);
    crate::json_text::read(text, column, |step, mark| b.step(step, mark)).map_err(|e| match e {
        Ok(crate::json_text::NotJson) => Failure::Syntax(SourceError {
            line: chunk.first_line,
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
            message: "not strict JSON".to_owned(),
        }),
        Err(e) => Failure::Document(e),
    })?;
    Ok(b.doc)
}

fn parse_document_with(
    engine: Engine,
    text: &str,
    chunk: &DocumentChunk,
    limits: &Limits,
) -> Result<Document, Failure> {
    if engine == Engine::Json {
        return read_json(text, 0, chunk, limits);
    }
    if engine == Engine::Block {
        let mut b = Builder::without_aliases(text, chunk, limits);
        crate::block_text::read(text, |step, mark| b.step(step, mark)).map_err(|e| match e {
            Ok(crate::block_text::NotSimple) => Failure::Syntax(SourceError {
                line: chunk.first_line,
                column: 1,
                message: "not in the block subset".to_owned(),
            }),
            Err(e) => Failure::Document(e),
        })?;
        return Ok(b.doc);
    }
    let mut b = Builder::new(text, chunk, limits);
    let syntax = |line: usize, col: usize, message: String| {
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        let (line, column) = clamp_to_text(text, line, col);
        Failure::Syntax(SourceError {
            line: line.saturating_add(chunk.first_line.saturating_sub(1)),
            column,
            message,
        })
    };
    if engine == Engine::Saphyr {
        saphyr_steps(text, &mut b, &syntax)?;
        return Ok(b.doc);
    }
    // libyaml-safer 0.3 panics on a few malformed inputs (a tag right before `,` in a
    // flow collection): such a document is refused like any other it cannot read, and
    // the rest of the input is still scanned.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        libyaml_steps(text, &mut b, &syntax)
    }));
    match read {
        Ok(result) => result?,
        Err(_) => return Err(syntax(1, 0, "the document could not be read".to_owned())),
    }
    Ok(b.doc)
}

/// Feeds the builder saphyr's events for `text`.
fn saphyr_steps(
    text: &str,
    b: &mut Builder<'_>,
    syntax: &dyn Fn(usize, usize, String) -> Failure,
) -> Result<(), Failure> {
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            syntax(m.line(), m.col(), e.info().to_owned())
        })?;
        let mark = Mark {
            line: span.start.line(),
            col: span.start.col(),
        };
        let step = match &event {
            Event::DocumentStart(_) => Step::DocumentStart,
            Event::Scalar(value, style, anchor, tag) => {
                let tagged_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                Step::Scalar {
                    value,
                    plain: *style == ScalarStyle::Plain && !tagged_str,
                    anchor: *anchor,
                    at: None,
                }
            }
            Event::SequenceStart(anchor, _) => Step::Open(NodeKind::Sequence, *anchor, false),
            Event::MappingStart(anchor, _) => Step::Open(NodeKind::Mapping, *anchor, false),
            Event::SequenceEnd | Event::MappingEnd => Step::Close,
            Event::Alias(anchor) => Step::Alias(*anchor),
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {
                Step::Other
            }
        };
        b.step(step, &mark).map_err(Failure::Document)?;
    }
    Ok(())
}

/// Feeds the builder libyaml's events for `text`.
fn libyaml_steps(
    text: &str,
    b: &mut Builder<'_>,
    syntax: &dyn Fn(usize, usize, String) -> Failure,
) -> Result<(), Failure> {
    use libyaml_safer::EventData;
    let mut input = text.as_bytes();
    let mut parser = libyaml_safer::Parser::new();
    parser.set_input_string(&mut input);
    // libyaml names anchors; the builder numbers them.
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut defined = 0usize;
    let mut line_starts: Option<Vec<usize>> = None;
    let mut number = |name: Option<&String>, define: bool| -> usize {
        let Some(name) = name else { return 0 };
        if define {
            // A redefined anchor is a new one from here on, as in every parser.
            defined += 1;
            names.insert(name.clone(), defined);
            defined
        } else {
            names.get(name).copied().unwrap_or(usize::MAX)
        }
    };
    for event in parser {
        let event = event.map_err(|e| {
            let m = e.problem_mark().unwrap_or_default();
            let message = match e.context() {
                Some(context) => format!("{}, {context}", e.problem()),
                None => e.problem().to_owned(),
            };
            syntax(to_usize(m.line) + 1, to_usize(m.column), message)
        })?;
        let mark = Mark {
            line: to_usize(event.start_mark.line) + 1,
            col: to_usize(event.start_mark.column),
        };
        let step = match &event.data {
            EventData::DocumentStart { .. } => Step::DocumentStart,
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                let tagged_str = tag.as_deref() == Some("tag:yaml.org,2002:str");
                // Positions as saphyr gives them (see `block_scalar_content` and
                // `implicit_null`).
                let at = match style {
                    libyaml_safer::ScalarStyle::Literal | libyaml_safer::ScalarStyle::Folded => {
                        let starts = line_starts.get_or_insert_with(|| line_starts_of(text));
                        Some(block_scalar_content(text, starts, mark))
                    }
                    libyaml_safer::ScalarStyle::Plain
                        if value.is_empty() && anchor.is_none() && tag.is_none() =>
                    {
                        Some(implicit_null(text, to_usize(event.start_mark.index), mark))
                    }
                    _ => None,
                };
                Step::Scalar {
                    value,
                    plain: *style == libyaml_safer::ScalarStyle::Plain && !tagged_str,
                    anchor: number(anchor.as_ref(), true),
                    at,
                }
            }
            EventData::SequenceStart { anchor, style, .. } => Step::Open(
                NodeKind::Sequence,
                number(anchor.as_ref(), true),
                *style == libyaml_safer::SequenceStyle::Block,
            ),
            EventData::MappingStart { anchor, .. } => {
                Step::Open(NodeKind::Mapping, number(anchor.as_ref(), true), false)
            }
            EventData::SequenceEnd | EventData::MappingEnd => Step::Close,
            EventData::Alias { anchor } => Step::Alias(number(Some(anchor), false)),
            EventData::StreamStart { .. }
            | EventData::StreamEnd
            | EventData::DocumentEnd { .. } => Step::Other,
        };
        b.step(step, &mark).map_err(Failure::Document)?;
    }
    Ok(())
}

/// Byte offset of each line's start.
fn line_starts_of(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// Where a block scalar (`|`, `>`) whose indicator is at `indicator` is said to be: at its
/// first non-blank line's indentation, as saphyr reports it (libyaml reports the
/// indicator), or at the indicator when no line follows.
fn block_scalar_content(text: &str, starts: &[usize], indicator: Mark) -> Mark {
    // `indicator.line` is 1-based, so it indexes the line after the indicator's.
    for (line, &start) in starts.iter().enumerate().skip(indicator.line) {
        let end = starts.get(line + 1).map_or(text.len(), |&e| e);
        let content = text[start..end].trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start_matches(' ').len();
        if indent < content.len() {
            return Mark {
                line: line + 1,
                col: indent,
            };
        }
    }
    indicator
}

/// An empty value (`key:`) is said to be at its `:`, as saphyr reports it (libyaml
/// reports the character after it, at byte `index`).
fn implicit_null(text: &str, index: usize, at: Mark) -> Mark {
    let after_colon = index > 0 && text.as_bytes().get(index - 1) == Some(&b':');
    if after_colon && at.col > 0 {
        Mark {
            line: at.line,
            col: at.col - 1,
        }
    } else {
        at
    }
}

/// One element of a big JSON List's `items` (see [`crate::list_items`]) read as a
/// document of its own, with its positions in the file: a List is then checked item by
/// item, on every core, and no item's tree outlives its checks.
///
/// # Errors
/// The element is not strict JSON, or breaks a [`Limits`] bound.
pub fn parse_list_item(
    text: &str,
    item: &crate::ListItem,
    chunk: &DocumentChunk,
    limits: &Limits,
) -> Result<Document, SourceError> {
    let part = &text[item.range.clone()];
    let first_line = chunk.first_line.saturating_add(item.line.saturating_sub(1));
    let item_chunk = DocumentChunk {
        index: chunk.index,
        range: item.range.clone(),
        first_line,
    };
    // Read whole, the item would sit two levels down (the List, its `items`).
    let limits = Limits {
        max_depth: limits.max_depth.saturating_sub(2),
        ..limits.clone()
    };
    read_json(part, item.column, &item_chunk, &limits).map_err(|f| match f {
        Failure::Syntax(e) | Failure::Document(e) => e,
    })
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
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
    fn to_json_types_scalars_as_kubectl_does() {
        let doc = parse(
            "a: yes\nb: 'yes'\nc: 0x10\nd: 1.5\ne: ~\nf: [.inf, 1e3, 10.0.1]\ng: {h: -7}\na: last\n",
        )
        .unwrap();
        let json = doc.root().unwrap().to_json();
        assert_eq!(
            json,
            serde_json::json!({
                "a": "last", "b": "yes", "c": 16, "d": 1.5, "e": null,
                "f": [".inf", 1000.0, "10.0.1"], "g": {"h": -7}
            })
        );
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
        // saphyr stops at its recursion limit; libyaml, asked next, reads it without
        // recursing, and the builder's depth bound refuses it.
        let flow = "[".repeat(100_000);
        let err = parse(&flow).unwrap_err();
        assert!(err.message.contains("nesting deeper than 200"), "{err}");
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
