//! The finding model shared by every check and every report format.
//!
//! A [`CheckMeta`] is declared beside each check's logic; a [`Finding`] points at it, so
//! titles, remediation and mappings are written once and every output reads the same
//! data. No IO happens here.

mod finding;
mod meta;

pub use finding::{
    fingerprint, scope_fingerprint, Finding, Fingerprint, LoadError, Location, Message,
    NotApplicable, NotEvaluated, Notice, NoticeKind, ObjectRef, PssInfo, ScanResult, ScannedObject,
    Scope, Summary, SuppressedFinding, Suppression, SuppressionKind,
};
pub use meta::{Category, CheckMeta, Framework, Mapping, Peer, PeerTool, Severity};
