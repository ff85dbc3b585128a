//! Report formats. Each module writes a [`ScanResult`] to any `impl Write`, streaming
//! finding by finding; none does other IO.
//!
//! ```
//! use palisade_report::{write_report, Format, ReportContext};
//! let result = palisade_model::ScanResult::default();
//! let ctx = ReportContext {
//!     version: "0.1.0",
//!     checks: vec![],
//!     color: false,
//!     compliance: vec![],
//!     extras: Default::default(),
//! };
//! let mut out = Vec::new();
//! write_report(Format::Json, &result, &ctx, &mut out).unwrap();
//! assert!(String::from_utf8(out).unwrap().contains("\"findings\":[]"));
//! ```

mod html;
mod json;
mod junit;
mod markdown;
mod sarif;
mod table;

use std::io::{self, Write};

use palisade_model::{CheckMeta, ScanResult};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Junit,
    /// One self-contained page.
    Html,
    /// For pull-request comments.
    Markdown,
}

/// What every format needs besides the findings.
pub struct ReportContext<'a> {
    /// Palisade's version.
    pub version: &'a str,
    /// The checks that ran (SARIF rules, JUnit test cases).
    pub checks: Vec<&'static CheckMeta>,
    /// Use ANSI colours (table only).
    pub color: bool,
    /// Framework scores to report beside the findings (`scan --framework`).
    pub compliance: Vec<palisade_compliance::FrameworkReport>,
    /// What the HTML page shows besides the findings.
    pub extras: Extras,
}

/// What the HTML report draws besides the findings; all optional.
#[derive(Debug, Default)]
pub struct Extras {
    /// Open findings at each recorded evaluation, oldest first: (when, counts by severity
    /// from critical to info).
    pub trend: Vec<(String, [i64; 5])>,
    /// RBAC escalation paths, network reachability.
    pub graphs: Vec<Graph>,
    /// The text of findings' lines, by (file, line). The caller leaves out lines that
    /// may hold a secret.
    pub lines: std::collections::HashMap<(String, u32), String>,
}

/// A directed graph to draw.
#[derive(Debug, Default)]
pub struct Graph {
    pub title: String,
    pub description: String,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Edges left out to keep the drawing readable.
    pub truncated: usize,
    /// Node index by label.
    index: std::collections::HashMap<String, usize>,
}

#[derive(Debug)]
pub struct GraphNode {
    pub label: String,
    /// Drawn as the danger it is (cluster-admin, the internet).
    pub danger: bool,
}

#[derive(Debug)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    pub label: String,
}

impl Graph {
    #[must_use]
    pub fn new(title: &str, description: &str) -> Graph {
        Graph {
            title: title.to_owned(),
            description: description.to_owned(),
            ..Graph::default()
        }
    }

    /// The index of the node labelled `label`, added when new.
    pub fn node(&mut self, label: &str, danger: bool) -> usize {
        if let Some(&i) = self.index.get(label) {
            self.nodes[i].danger |= danger;
            return i;
        }
        self.nodes.push(GraphNode {
            label: label.to_owned(),
            danger,
        });
        self.index.insert(label.to_owned(), self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// Adds an edge unless the same one is there.
    pub fn edge(&mut self, from: usize, to: usize, label: &str) {
        if !self
            .edges
            .iter()
            .any(|e| e.from == from && e.to == to && e.label == label)
        {
            self.edges.push(GraphEdge {
                from,
                to,
                label: label.to_owned(),
            });
        }
    }
}

/// Writes `result` in `format`.
///
/// # Errors
/// Writing to `out` failed.
pub fn write_report(
    format: Format,
    result: &ScanResult,
    ctx: &ReportContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::write(result, ctx, out),
        Format::Json => json::write(result, ctx, out),
        Format::Sarif => sarif::write(result, ctx, out),
        Format::Junit => junit::write(result, ctx, out),
        Format::Html => html::write(result, ctx, out),
        Format::Markdown => markdown::write(result, ctx, out),
    }
}

#[cfg(test)]
mod tests;
