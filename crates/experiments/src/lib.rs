//! # meanfield-experiments
//!
//! Each paper experiment as a function `config → Report`, registered in [`registry`].
pub mod error;
pub mod gaussian_oracle;
pub mod registry;
pub mod report;

pub use error::ExperimentError;
pub use registry::{Experiment, RunContext};
pub use report::{Check, Plot, Report, Series, Table};
