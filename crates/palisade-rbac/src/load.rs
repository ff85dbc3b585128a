//! Reading inputs into RBAC records, for the `palisade rbac` commands.

use palisade_inventory::{map_objects, InputSpec, ObjectAt, ObjectError};
use palisade_model::LoadError;
use palisade_source::Limits;

use crate::record::{extract, RbacRecord};

/// Records read from the inputs, and what could not be read.
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<RbacRecord>,
    pub errors: Vec<LoadError>,
}

/// Reads every input and document in parallel; a broken document, or a malformed RBAC
/// object, is an error and its neighbours are still read. Records keep input order.
#[must_use]
pub fn load(inputs: &[InputSpec], limits: &Limits) -> Loaded {
    let (records, errors) = map_objects(inputs, limits, &|at: &ObjectAt<'_, '_>| record_of(at));
    Loaded { records, errors }
}

/// The record of one object, its origin named; a malformed object is an error naming it.
pub fn record_of(at: &ObjectAt<'_, '_>) -> Result<Option<RbacRecord>, ObjectError> {
    extract(at.object, at.pods, Some(at.origin()))
        .map_err(|(place, message)| at.error(&place, &message))
}
