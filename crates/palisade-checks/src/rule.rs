//! [`Rule`]: the shape of most checks, metadata plus one function; [`ModelRule`]: the
//! shape of checks over a whole model that an analysis builds.

use palisade_engine::{Check, Findings, ObjectContext, RawFinding};
use palisade_inventory::{Origin, Place};
use palisade_model::{CheckMeta, Scope, Severity};

/// A check that is its metadata and a function over one object.
pub struct Rule {
    pub meta: CheckMeta,
    pub eval: fn(&'static CheckMeta, &ObjectContext<'_>, &mut Findings),
}

impl Check for Rule {
    fn meta(&'static self) -> &'static CheckMeta {
        &self.meta
    }

    fn run(&'static self, ctx: &ObjectContext<'_>, out: &mut Findings) {
        (self.eval)(&self.meta, ctx, out);
    }
}

/// A check over the model an analysis builds from many objects (RBAC, network policy):
/// metadata plus how it is evaluated (`E`: a function, or data the analysis reads). As a
/// [`Check`] it reports nothing per object; its analysis runs it. It is registered as a
/// check so selection, `checks explain`, docs and exceptions treat it as any other.
pub struct ModelRule<E> {
    pub meta: CheckMeta,
    pub eval: E,
}

impl<E: Send + Sync + 'static> Check for ModelRule<E> {
    fn meta(&'static self) -> &'static CheckMeta {
        &self.meta
    }

    fn run(&'static self, _: &ObjectContext<'_>, _: &mut Findings) {}
}

/// Findings of model rules, each with the scan's handle on its object.
pub type Out = Vec<(usize, RawFinding)>;

/// Reports at `place` in the input object with handle `origin`; objects that are not in
/// the input (no origin, such as Kubernetes' default roles) are never reported.
pub fn report(
    out: &mut Out,
    meta: &'static CheckMeta,
    origin: Option<&Origin>,
    place: &Place,
    severity: Severity,
    message: String,
) {
    report_scoped(out, meta, origin, place, severity, message, None);
}

/// [`report`] for a finding about a namespace or the cluster, shown on `place`: its
/// fingerprint follows the scope, not the carrying object.
pub fn report_scoped(
    out: &mut Out,
    meta: &'static CheckMeta,
    origin: Option<&Origin>,
    place: &Place,
    severity: Severity,
    message: String,
    scope: Option<Scope>,
) {
    let Some(origin) = origin else {
        return;
    };
    out.push((
        origin.key,
        RawFinding {
            check: meta,
            severity,
            line: place.line,
            column: place.column,
            path: place.path.clone(),
            message: message.into(),
            pss: None,
            container: None,
            scope: scope.map(Box::new),
        },
    ));
}

/// Whether an analysis with these rules has any among `checks`.
pub fn any_selected<E>(rules: &[&ModelRule<E>], checks: &[&'static CheckMeta]) -> bool {
    checks
        .iter()
        .any(|c| rules.iter().any(|r| r.meta.id == c.id))
}
