//! Every object of the inputs, handed to a visitor: for analyses that keep a little of
//! each object rather than check it (the scan itself streams with more bookkeeping).

use std::sync::Arc;

use palisade_model::LoadError;
use palisade_source::{parse_document, split_documents, Document, Limits};
use rayon::prelude::*;

use crate::{
    find_pod_specs, objects_in, read_input, InputSpec, Object, Origin, Place, PodSpecView,
};

/// An object as a visitor sees it: its file and document, and its pod specs.
pub struct ObjectAt<'a, 'd> {
    pub file: &'a Arc<str>,
    pub document: usize,
    pub object: &'a Object<'d>,
    pub pods: &'a [PodSpecView<'d>],
}

impl ObjectAt<'_, '_> {
    /// Where the object came from, for records that outlive the document.
    #[must_use]
    pub fn origin(&self) -> Origin {
        Origin {
            file: self.file.clone(),
            document: self.document,
            key: 0,
        }
    }

    /// An error at `place` in this object, naming it.
    #[must_use]
    pub fn error(&self, place: &Place, message: &str) -> ObjectError {
        ObjectError {
            line: place.line,
            column: place.column,
            message: format!("{}: {message}", self.object.identity),
        }
    }
}

/// Why a visitor cannot use an object: where in its file, and what is wrong. It is
/// reported as a [`LoadError`] of the object's file and document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// What a visitor made of each object, in input order, and the load errors.
pub type Visited<T> = (Vec<T>, Vec<LoadError>);

/// Reads every input and document in parallel and hands each object to `visit`. A
/// broken input or document is an error naming its file, document and line; its
/// neighbours are still read.
pub fn map_objects<T, F>(inputs: &[InputSpec], limits: &Limits, visit: &F) -> Visited<T>
where
    T: Send,
    F: Fn(&ObjectAt<'_, '_>) -> Result<Option<T>, ObjectError> + Sync,
{
    let parts: Vec<Visited<T>> = inputs
        .par_iter()
        .map(|spec| match read_input(spec) {
            Ok((source, partial)) => {
                let (items, mut errors) =
                    map_objects_in_text(&source.name, &source.text, limits, visit);
                errors.extend(partial);
                (items, errors)
            }
            Err(e) => (Vec::new(), vec![e]),
        })
        .collect();
    concat(parts)
}

/// [`map_objects`] over documents already built (objects read from a live cluster), each
/// named by its pair's name.
pub fn map_documents<T, F>(documents: &[(Arc<str>, Document)], visit: &F) -> Visited<T>
where
    T: Send,
    F: Fn(&ObjectAt<'_, '_>) -> Result<Option<T>, ObjectError> + Sync,
{
    let parts: Vec<Visited<T>> = documents
        .par_iter()
        .map(|(file, doc)| visit_document(file, doc, visit))
        .collect();
    concat(parts)
}

/// [`map_objects`] over one text already read, named `file`.
pub fn map_objects_in_text<T, F>(
    file: &Arc<str>,
    text: &str,
    limits: &Limits,
    visit: &F,
) -> Visited<T>
where
    T: Send,
    F: Fn(&ObjectAt<'_, '_>) -> Result<Option<T>, ObjectError> + Sync,
{
    let chunks = split_documents(text);
    let parts: Vec<Visited<T>> = chunks
        .par_iter()
        .map(|chunk| {
            let error = |line, column, message| LoadError {
                file: file.clone(),
                document: Some(chunk.index),
                line,
                column,
                message,
                skipped: false,
            };
            let doc = match parse_document(&text[chunk.range.clone()], chunk, limits) {
                Ok(doc) => doc,
                Err(e) => return (Vec::new(), vec![error(e.line, e.column, e.message)]),
            };
            visit_document(file, &doc, visit)
        })
        .collect();
    concat(parts)
}

fn visit_document<T, F>(file: &Arc<str>, doc: &Document, visit: &F) -> Visited<T>
where
    F: Fn(&ObjectAt<'_, '_>) -> Result<Option<T>, ObjectError>,
{
    let error = |line, column, message| LoadError {
        file: file.clone(),
        document: Some(doc.index),
        line,
        column,
        message,
        skipped: false,
    };
    let (objects, problems) = objects_in(doc);
    let mut errors: Vec<LoadError> = problems
        .into_iter()
        .map(|p| LoadError {
            skipped: p.skipped,
            ..error(p.pos.line, p.pos.column, p.message)
        })
        .collect();
    let mut items = Vec::new();
    for object in &objects {
        let pods = find_pod_specs(object);
        let at = ObjectAt {
            file,
            document: doc.index,
            object,
            pods: &pods,
        };
        match visit(&at) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => {}
            Err(e) => errors.push(error(e.line, e.column, e.message)),
        }
    }
    (items, errors)
}

fn concat<T>(parts: Vec<Visited<T>>) -> Visited<T> {
    let mut all: Visited<T> = (Vec::new(), Vec::new());
    for (items, errors) in parts {
        all.0.extend(items);
        all.1.extend(errors);
    }
    all
}
