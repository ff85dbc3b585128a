//! Report formats. Each module writes a [`ScanResult`] to any `impl Write`, streaming
//! finding by finding; none does other IO.
//!
//! ```
//! use palisade_report::{write_report, Format, ReportContext};
//! let result = palisade_model::ScanResult::default();
//! let ctx = ReportContext { version: "0.1.0", checks: vec![], color: false, compliance: vec![] };
//! let mut out = Vec::new();
//! write_report(Format::Json, &result, &ctx, &mut out).unwrap();
//! assert!(String::from_utf8(out).unwrap().contains("\"findings\":[]"));
//! ```

mod json;
mod junit;
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
    }
}

#[cfg(test)]
mod tests;
