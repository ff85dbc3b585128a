//! [`Rule`]: the shape of most checks, metadata plus one function.

use palisade_engine::{Check, Findings, ObjectContext};
use palisade_model::CheckMeta;

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
