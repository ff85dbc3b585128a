//! Checks on the input itself: things Kubernetes accepts that a reviewer would misread.

pub mod duplicate_key;
