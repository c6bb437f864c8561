//! The experiment catalogue and the configuration layering used by `cargo xtask
//! reproduce`: defaults (full or `--quick`) ← overrides from a TOML table, with unknown
//! keys rejected by name.

use serde::{Serialize, de::DeserializeOwned};

use crate::error::ExperimentError;
use crate::report::Report;

/// What an experiment receives from the harness.
pub struct RunContext<'a> {
    /// Reduced settings for a fast smoke run.
    pub quick: bool,
    /// Base seed; replicate r of a study uses the seed
    /// [`replicate_seed`](meanfield_measures::replicate_seed)`(seed, stratum, r)`.
    pub seed: u64,
    /// Configuration overrides (a JSON object of key → value), applied over defaults.
    pub overrides: serde_json::Map<String, serde_json::Value>,
    /// Progress callback: fraction done in [0, 1] and a short message.
    pub progress: &'a (dyn Fn(f64, &str) + Sync),
}

impl RunContext<'_> {
    /// A context with no overrides and a silent progress callback.
    pub fn quiet(quick: bool, seed: u64) -> RunContext<'static> {
        RunContext {
            quick,
            seed,
            overrides: serde_json::Map::new(),
            progress: &|_, _| {},
        }
    }

    /// Resolves the typed configuration: `defaults` overlaid with the overrides. A key
    /// the configuration does not have is an [`ExperimentError::UnknownConfigKey`].
    pub fn resolve<C: Serialize + DeserializeOwned>(
        &self,
        experiment: &str,
        defaults: C,
    ) -> Result<(C, serde_json::Value), ExperimentError> {
        let mut value =
            serde_json::to_value(defaults).map_err(|e| ExperimentError::Config(e.to_string()))?;
        let obj = value
            .as_object_mut()
            .ok_or_else(|| ExperimentError::Config("configuration is not a table".into()))?;
        for (k, v) in &self.overrides {
            match obj.get_mut(k) {
                Some(slot) => *slot = v.clone(),
                None => {
                    return Err(ExperimentError::UnknownConfigKey {
                        experiment: experiment.to_string(),
                        key: k.clone(),
                        known: obj.keys().cloned().collect::<Vec<_>>().join(", "),
                    });
                }
            }
        }
        let typed = serde_json::from_value(value.clone())
            .map_err(|e| ExperimentError::Config(format!("{experiment}: {e}")))?;
        Ok((typed, value))
    }
}

/// A reproducible experiment: one paper table or figure, or one oracle study.
pub trait Experiment: Sync {
    /// Name used on the command line and as the report directory.
    fn name(&self) -> &'static str;
    /// One-line description for `--help` and the index.
    fn description(&self) -> &'static str;
    /// The configuration the experiment runs with under `ctx`: its defaults for
    /// `ctx.quick` overlaid with `ctx.overrides` by [`RunContext::resolve`] (the same call
    /// `run` makes), as the JSON recorded in [`Report::config`]. Nothing is run.
    ///
    /// # Errors
    /// As [`RunContext::resolve`]: an unknown key, or a value the typed configuration
    /// rejects.
    fn resolve_config(&self, ctx: &RunContext<'_>) -> Result<serde_json::Value, ExperimentError>;
    /// The full default configuration (`--quick` or full settings) as JSON: every key the
    /// experiment accepts as an override, with its default value. It does not depend on
    /// the seed.
    ///
    /// # Errors
    /// As [`Experiment::resolve_config`] (defaults that do not serialise).
    fn default_config(&self, quick: bool) -> Result<serde_json::Value, ExperimentError> {
        self.resolve_config(&RunContext::quiet(quick, 0))
    }
    /// Runs the experiment and returns its report (the harness fills `wall_seconds`).
    fn run(&self, ctx: &RunContext<'_>) -> Result<Report, ExperimentError>;
}

/// Every registered experiment, in the order `reproduce` runs them.
pub fn all() -> Vec<&'static dyn Experiment> {
    vec![
        &crate::langevin::GaussianOracle,
        &crate::langevin::MmfldSimplex,
        &crate::langevin::MfldBias,
        &crate::langevin::MfldChaos,
        &crate::langevin::MfldNn,
        &crate::mgdm::MfMgdmTable,
        &crate::mgdm::MfMgdmBatch,
        &crate::mgdm::MfMgdmSp500,
        &crate::particle_em::MpgdToy,
        &crate::particle_em::MpgdBlr,
        &crate::particle_em::MpgdDigits,
        &crate::cbo::CboBenchmark,
        &crate::cbo::CboGradient,
        &crate::fisher_rao::FisherRaoOracle,
        &crate::fisher_rao::FisherRaoBandwidth,
        &crate::fisher_rao::FisherRaoChaos,
    ]
}

/// Looks an experiment up by name.
pub fn find(name: &str) -> Result<&'static dyn Experiment, ExperimentError> {
    all()
        .into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| ExperimentError::UnknownExperiment {
            name: name.to_string(),
            known: all()
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}
