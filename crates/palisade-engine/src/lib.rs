//! The check engine.
//!
//! A [`Check`] sees one object at a time through an [`ObjectContext`] (its pod specs are
//! found once and shared) and reports into [`Findings`] with the node it is about; the
//! engine turns nodes into file:line:column, field paths and fingerprints. [`scan`] runs a
//! set of checks over inputs in parallel, streaming: each document is parsed, checked
//! and dropped. Objects in a Namespace that the input itself labels for Pod Security
//! Admission are evaluated again at that namespace's level and version.

mod check;
mod exceptions;
mod pss;
mod scan;

pub use check::{
    Analysis, Check, CheckSettings, Findings, Gathered, ImageFacts, ImageVulnerabilities,
    ImageVulnerability, Memo, ObjectContext, RawFinding, SignatureVerdict,
};
pub use exceptions::{
    apply_baseline, names_check, parse_inline, Baseline, Exception, Subject, IGNORE_ANNOTATION,
};
pub use pss::{Level, Profile, Version, ENFORCE_LABEL, ENFORCE_VERSION_LABEL};
pub use scan::{scan, ScanOptions, StreamingScan};
