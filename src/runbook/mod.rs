//! Runbooks: the model, the loader and the validator, templates and conditions, the graph
//! export, the built-in runbooks and the user's library.

pub mod builtin;
pub mod condition;
pub mod graph;
pub mod library;
pub mod load;
pub mod model;
pub(crate) mod raw;
pub mod template;
pub(crate) mod validate;

pub use model::*;
