//! Inputs to positioned Kubernetes objects.
//!
//! [`discover`] turns command-line paths into inputs (files, recursive directories, stdin,
//! kustomize directories, Helm charts); [`read_input`] gets an input's text (rendering
//! kustomize and Helm); [`objects_in`] turns a parsed document into objects, expanding
//! `kind: List` and every `*List`; [`find_pod_specs`] finds the pod specs inside any object
//! by structure, so custom resources that embed a pod template are covered without a list
//! of kinds; [`map_objects`] hands every object of the inputs to a visitor. Checks and
//! reports live elsewhere.

mod input;
mod object;
mod pod;
mod selector;
mod walk;

pub use input::{discover, read_input, InputKind, InputSpec, SourceText, MAX_INPUT_BYTES};
pub use object::{objects_in, objects_in_list_item, Object, ObjectProblem, Origin, Place};
pub use pod::{find_pod_specs, ContainerKind, ContainerView, PodSpecView};
pub use selector::{LabelSelector, Requirement};
pub use walk::{map_documents, map_objects, map_objects_in_text, ObjectAt, ObjectError, Visited};
