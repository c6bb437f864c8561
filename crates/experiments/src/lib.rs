//! # meanfield-experiments
//!
//! Each paper experiment as a function `config → Report`, registered in [`registry`].
//!
//! The experiments are grouped by family, one folder each:
//!
//! | family | experiments |
//! |---|---|
//! | [`langevin`] — mean-field Langevin dynamics | `gaussian-oracle`, `mmfld-simplex`, `mfld-bias`, `mfld-chaos`, `mfld-nn` |
//! | [`mgdm`] — microcanonical gradient descent (MGDM, MF-MGDM) | `mf-mgdm-table`, `mf-mgdm-batch`, `mf-mgdm-sp500` |
//! | [`particle_em`] — particle EM (PGD, MPD) | `mpgd-toy`, `mpgd-blr`, `mpgd-digits` |
//! | [`cbo`] — consensus-based optimisation | `cbo-benchmark`, `cbo-gradient`, `cbs-sampling`, `polar-cbo` |
//! | [`fisher_rao`] — kernelised Fisher–Rao flows | `fisher-rao-oracle`, `fisher-rao-bandwidth`, `fisher-rao-chaos` |
//!
//! Shared machinery stays at the top: [`registry`] (the catalogue, [`Experiment`],
//! [`RunContext`], and the one path every experiment takes: [`ConfiguredExperiment`] with
//! its [`ExperimentConfig`]), [`report`] (what an experiment produces), [`study`] (replicates,
//! batch means, progress), [`data`] (the real data sets) and [`error`].
pub mod cbo;
pub mod data;
pub mod error;
pub mod fisher_rao;
pub mod langevin;
pub mod memory;
pub mod mgdm;
pub mod particle_em;
pub mod registry;
pub mod report;
pub mod soak;
pub mod study;

pub use error::ExperimentError;
pub use registry::{ConfiguredExperiment, Experiment, ExperimentConfig, RunContext};
pub use report::{Check, CheckKind, ImageGrid, Plot, Report, Series, Table, two_sided_level};
