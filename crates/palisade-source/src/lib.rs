//! Bytes to positioned documents.
//!
//! A YAML (or JSON, which YAML 1.2 contains) stream is split into documents at the
//! column-0 `---` / `...` markers, each document is parsed on its own by
//! `saphyr-parser`'s event parser and built into a compact arena [`Document`] whose every
//! node knows its 1-based line and column in the original file. Splitting first means a
//! broken document never takes its neighbours down with it, and large files parse in
//! parallel. A document saphyr refuses is read again by `libyaml-safer` (go-yaml, and so
//! kubectl, is a port of libyaml); strict JSON is read by a JSON reader of our own into
//! the same tree, and a large JSON List can be split into its items ([`list_items`],
//! [`parse_list_item`]). Every reader gives the same positions for the same text.
//!
//! ```
//! use palisade_source::{split_documents, parse_document, Limits};
//! let text = "kind: Pod\nspec:\n  hostNetwork: yes\n";
//! let chunk = &split_documents(text)[0];
//! let doc = parse_document(&text[chunk.range.clone()], chunk, &Limits::default()).unwrap();
//! let host = doc.root().unwrap().get("spec").unwrap().get("hostNetwork").unwrap();
//! assert_eq!(host.as_bool(), Some(true)); // YAML 1.1 booleans, as kubectl reads them
//! assert_eq!((host.pos().line, host.pos().column), (3, 16));
//! ```
//!
//! Scalars are typed the way Kubernetes tooling reads YAML (go-yaml v2 via
//! `sigs.k8s.io/yaml`): `yes`/`on`/`y` are `true`, `0x10` is 16. Aliases share the anchored
//! node instead of copying it, and the expanded size of a document is bounded, so alias
//! bombs cost neither time nor memory. Nothing here does IO.

mod block_text;
mod json;
mod json_text;
mod scalar;
mod split;
mod tree;

pub use json_text::{list_items, ListItem};
pub use scalar::{parse_go_bool, parse_go_int};
pub use split::{split_documents, DocumentChunk};
pub use tree::{
    parse_document, parse_document_by, parse_list_item, Document, DuplicateKey, Engine, Entries,
    Items, Limits, Node, NodeKind, Pos,
};

/// A problem found while reading one document, with its position in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct SourceError {
    /// 1-based line in the file.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
    /// What is wrong, in words a person can act on.
    pub message: String,
}
