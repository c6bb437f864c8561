//! Errors of the experiments crate.

/// Why an experiment could not run or complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExperimentError {
    /// No experiment has this name.
    #[error("unknown experiment `{name}`; known experiments: {known}")]
    UnknownExperiment {
        /// The requested name.
        name: String,
        /// The valid names.
        known: String,
    },
    /// A configuration override names a parameter the experiment does not have.
    #[error("unknown configuration key `{key}` for experiment `{experiment}`; valid keys: {known}")]
    UnknownConfigKey {
        /// Experiment name.
        experiment: String,
        /// The offending key.
        key: String,
        /// The valid keys.
        known: String,
    },
    /// A configuration value has the wrong type or is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A table row does not fit its table (a record of the wrong shape or length).
    #[error("table error: {0}")]
    Table(String),
    /// A data file is missing or malformed.
    #[error("data error: {0}")]
    Data(String),
    /// The dynamics failed (divergence, bad input).
    #[error(transparent)]
    Integrator(#[from] meanfield_integrators::IntegratorError),
    /// Building an ensemble failed.
    #[error(transparent)]
    Measures(#[from] meanfield_measures::MeasuresError),
    /// An energy (feature map, path law) failed.
    #[error(transparent)]
    Energy(#[from] meanfield_energy::EnergyError),
    /// A diagnostic failed.
    #[error(transparent)]
    Diagnostics(#[from] meanfield_diagnostics::DiagnosticsError),
}
