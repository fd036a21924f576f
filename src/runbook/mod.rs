//! Runbooks: the model, the loader and the validator.

pub mod model;

pub use model::*;
