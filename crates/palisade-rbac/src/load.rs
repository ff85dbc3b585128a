//! Reading inputs into RBAC records, for the `palisade rbac` commands.

use palisade_inventory::{find_pod_specs, objects_in, read_input, InputSpec};
use palisade_model::LoadError;
use palisade_source::{parse_document, split_documents, Limits};
use rayon::prelude::*;

use crate::record::{extract, Origin, RbacRecord};

/// Records read from the inputs, and what could not be read.
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<RbacRecord>,
    pub errors: Vec<LoadError>,
}

/// Reads every input and document in parallel; a broken document is an error and its
/// neighbours are still read. Records keep input order.
#[must_use]
pub fn load(inputs: &[InputSpec], limits: &Limits) -> Loaded {
    let parts: Vec<Loaded> = inputs
        .par_iter()
        .map(|spec| {
            let mut out = Loaded::default();
            let source = match read_input(spec) {
                Ok((source, partial)) => {
                    out.errors.extend(partial);
                    source
                }
                Err(e) => {
                    out.errors.push(e);
                    return out;
                }
            };
            let chunks = split_documents(&source.text);
            let docs: Vec<Loaded> = chunks
                .par_iter()
                .map(|chunk| {
                    let mut out = Loaded::default();
                    let error = |line, column, message| LoadError {
                        file: spec.name.clone(),
                        document: Some(chunk.index),
                        line,
                        column,
                        message,
                    };
                    let doc = match parse_document(&source.text[chunk.range.clone()], chunk, limits)
                    {
                        Ok(d) => d,
                        Err(e) => {
                            out.errors.push(error(e.line, e.column, e.message));
                            return out;
                        }
                    };
                    let (objects, problems) = objects_in(&doc);
                    for p in problems {
                        out.errors.push(error(p.pos.line, p.pos.column, p.message));
                    }
                    for object in objects {
                        let pods = find_pod_specs(&object);
                        let origin = Origin {
                            file: spec.name.clone(),
                            document: chunk.index,
                            key: 0,
                        };
                        match extract(&object, &pods, Some(origin)) {
                            Ok(Some(r)) => out.records.push(r),
                            Ok(None) => {}
                            Err((at, message)) => out.errors.push(error(
                                at.line,
                                at.column,
                                format!("{}: {message}", object.identity),
                            )),
                        }
                    }
                    out
                })
                .collect();
            for d in docs {
                out.records.extend(d.records);
                out.errors.extend(d.errors);
            }
            out
        })
        .collect();
    let mut all = Loaded::default();
    for p in parts {
        all.records.extend(p.records);
        all.errors.extend(p.errors);
    }
    all
}
