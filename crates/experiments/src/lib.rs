//! # meanfield-experiments
//!
//! Each paper experiment as a function `config → Report`, registered in [`registry`].
pub mod error;
pub mod fisher_rao_bandwidth;
pub mod fisher_rao_chaos;
pub mod fisher_rao_common;
pub mod fisher_rao_oracle;
pub mod gaussian_oracle;
pub mod mfld_bias;
pub mod mfld_chaos;
pub mod mfld_nn;
pub mod mmfld_simplex;
pub mod registry;
pub mod report;
pub mod study;

pub use error::ExperimentError;
pub use registry::{Experiment, RunContext};
pub use report::{Check, Plot, Report, Series, Table};
