//! What a check is and what it sees.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use palisade_inventory::{Object, ObjectAt, ObjectError, PodSpecView};
use palisade_model::{CheckMeta, Message, PssInfo, Scope, Severity};
use palisade_source::{DuplicateKey, Node, Pos};

use crate::pss::Profile;

/// A check: metadata declared beside logic that looks at one object at a time.
/// Checks are `static`s, so findings can point at their metadata for free.
pub trait Check: Sync + Send {
    fn meta(&'static self) -> &'static CheckMeta;
    /// Examines one object and reports what is wrong with it. Does no IO.
    fn run(&'static self, ctx: &ObjectContext<'_>, out: &mut Findings);
}

/// Settings that change what checks report, shared by every object of a scan.
#[derive(Debug, Clone, Default)]
pub struct CheckSettings {
    /// Image registries (or `registry/path/` prefixes) images may come from; empty
    /// means any registry is allowed.
    pub allowed_registries: Vec<String>,
    /// Ids of the checks in this run; `None` means every registered check. Checks
    /// that overlap a Pod Security check stay quiet where that check reports.
    pub active: Option<HashSet<&'static str>>,
    /// What registries, signatures and vulnerability databases say of images, when the
    /// run was asked to look (`--image-policy`, `--resolve-digests`, `--scan-images`).
    pub images: Option<Arc<dyn ImageFacts>>,
}

/// What is known of an image from outside the scanned objects: its registry, its
/// signatures, its packages' vulnerabilities. Checks ask; the implementation does the
/// IO, once per image however many containers run it, and may block while it does.
pub trait ImageFacts: Send + Sync + std::fmt::Debug {
    /// The digest the reference names now, to suggest pinning it; `None` when not
    /// asked for or unknown.
    fn digest(&self, image: &str) -> Option<String>;
    /// The signature policy's verdict; `None` when no policy covers the image.
    fn signature(&self, image: &str) -> Option<SignatureVerdict>;
    /// The known vulnerabilities of the image's OS packages; `None` when not asked for.
    fn vulnerabilities(&self, image: &str) -> Option<Result<ImageVulnerabilities, String>>;
}

/// A signature policy's verdict on one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureVerdict {
    /// Signed as the policy requires; names the signer.
    Verified(String),
    /// Not signed as required (or the signatures could not be fetched): why.
    Rejected(String),
}

/// An image's known vulnerabilities, most severe first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageVulnerabilities {
    /// The manifest digest the packages were read from.
    pub digest: String,
    pub packages: usize,
    pub vulnerabilities: Vec<ImageVulnerability>,
}

/// One known vulnerability of one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageVulnerability {
    pub id: String,
    pub severity: Severity,
    pub package: String,
    pub installed: String,
    pub fixed: Option<String>,
}

impl CheckSettings {
    /// Whether the check with this id runs in this scan.
    #[must_use]
    pub fn is_active(&self, id: &str) -> bool {
        self.active.as_ref().is_none_or(|a| a.contains(id))
    }
}

/// One object as a check sees it.
pub struct ObjectContext<'d> {
    pub object: Object<'d>,
    /// Every pod spec inside the object, found once for all checks.
    pub pods: Vec<PodSpecView<'d>>,
    /// The Pod Security level and version the object is held to.
    pub profile: Profile,
    /// Keys repeated inside this object's text.
    pub duplicates: Vec<DuplicateKey>,
    pub settings: &'d CheckSettings,
    /// What several checks derive from the object the same way, derived once.
    pub memo: Memo,
}

/// Values derived from one object, each computed by the first check that asks and
/// shared with the others: a family of checks (the control-plane flag rules, say) then
/// pays once per object for the common work instead of once per check.
#[derive(Default)]
pub struct Memo {
    values: RefCell<Vec<Rc<dyn Any>>>,
}

impl Memo {
    /// The object's value of type `T`, from `derive` the first time.
    pub fn get<T: Any>(&self, derive: impl FnOnce() -> T) -> Rc<T> {
        let found = self
            .values
            .borrow()
            .iter()
            .find(|v| (***v).type_id() == std::any::TypeId::of::<T>())
            .and_then(|v| Rc::clone(v).downcast::<T>().ok());
        if let Some(value) = found {
            return value;
        }
        let value = Rc::new(derive());
        self.values.borrow_mut().push(value.clone());
        value
    }
}

/// A finding before the engine places it in a file.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub check: &'static CheckMeta,
    pub severity: Severity,
    pub line: u32,
    pub column: u32,
    pub path: String,
    pub message: Message,
    pub pss: Option<Box<PssInfo>>,
    /// Set by the engine: the container whose path holds `path`.
    pub container: Option<Arc<str>>,
    /// Set when the finding is about a namespace or the cluster, not the object that
    /// carries it: its fingerprint then depends on the check and the scope alone.
    pub scope: Option<Box<Scope>>,
}

/// Where checks put what they find.
#[derive(Debug, Default)]
pub struct Findings {
    pub items: Vec<RawFinding>,
}

impl Findings {
    /// Reports a finding at `node` (the offending field itself, so the line is exact).
    /// Returns it so the check may grade it or add Pod Security context.
    pub fn report(
        &mut self,
        check: &'static CheckMeta,
        node: Node<'_>,
        path: String,
        message: impl Into<Message>,
    ) -> &mut RawFinding {
        self.report_at(check, node.pos(), path, message)
    }

    /// Reports a finding at a position that has no node (a repeated key).
    pub fn report_at(
        &mut self,
        check: &'static CheckMeta,
        pos: Pos,
        path: String,
        message: impl Into<Message>,
    ) -> &mut RawFinding {
        let message = message.into();
        self.items.push(RawFinding {
            check,
            severity: check.severity,
            line: pos.line,
            column: pos.column,
            path,
            message,
            pss: None,
            container: None,
            scope: None,
        });
        let last = self.items.len() - 1;
        &mut self.items[last]
    }
}

/// What an [`Analysis`] keeps of one object while the scan streams past.
pub type Gathered = Box<dyn std::any::Any + Send + Sync>;

/// Checks that need many objects at once (RBAC: a binding means nothing without its
/// role). The scan calls [`Analysis::gather`] on every object as it streams past and
/// keeps what it returns; once every object is seen, [`Analysis::report`] gets the kept
/// items, in input order, and reports findings each naming the item (by index) it is
/// about, placed in that object. Exceptions and severity overrides apply as for any check.
pub trait Analysis: Sync + Send + std::fmt::Debug {
    /// Keeps what the analysis needs of one object; `None` when it needs nothing, an
    /// error when the object is one it needs but is malformed (the scan reports it as a
    /// load error of the object's file and document).
    fn gather(&self, at: &ObjectAt<'_, '_>) -> Result<Option<Gathered>, ObjectError>;

    /// Reports on everything gathered, as (item index, finding). Only checks that
    /// `settings.is_active` may report.
    fn report(&self, items: Vec<Gathered>, settings: &CheckSettings) -> Vec<(usize, RawFinding)>;

    /// Whether any of the analysis' checks is among `checks` (else it is skipped).
    fn wanted(&self, checks: &[&'static CheckMeta]) -> bool;
}

#[cfg(test)]
mod memo_tests {
    use super::Memo;
    use std::cell::Cell;

    #[test]
    fn each_value_is_derived_once_per_type() {
        let memo = Memo::default();
        let calls = Cell::new(0);
        let derive = |n: u32| {
            calls.set(calls.get() + 1);
            n
        };
        assert_eq!(*memo.get(|| derive(7)), 7);
        assert_eq!(*memo.get(|| derive(8)), 7, "the first value is kept");
        assert_eq!(*memo.get(|| vec!["other type"]), vec!["other type"]);
        assert_eq!(*memo.get(|| derive(9)), 7);
        assert_eq!(calls.get(), 1);
    }
}
