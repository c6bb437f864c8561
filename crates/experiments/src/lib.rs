//! # meanfield-experiments
//!
//! Each paper experiment as a function `config → Report`, registered in [`registry`].
pub mod cbo_benchmark;
pub mod cbo_gradient;
pub mod data;
pub mod error;
pub mod fisher_rao_bandwidth;
pub mod fisher_rao_chaos;
pub mod fisher_rao_common;
pub mod fisher_rao_oracle;
pub mod gaussian_oracle;
pub mod mf_mgdm;
pub mod mf_mgdm_batch;
pub mod mf_mgdm_case;
pub mod mf_mgdm_sp500;
pub mod mf_mgdm_table;
pub mod mfld_bias;
pub mod mfld_chaos;
pub mod mfld_nn;
pub mod mmfld_simplex;
pub mod mpgd_blr;
pub mod mpgd_common;
pub mod mpgd_digits;
pub mod mpgd_toy;
pub mod registry;
pub mod report;
pub mod study;

pub use error::ExperimentError;
pub use registry::{Experiment, RunContext};
pub use report::{Check, ImageGrid, Plot, Report, Series, Table};
