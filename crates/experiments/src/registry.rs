//! The experiment catalogue and the configuration layering used by `cargo xtask
//! reproduce`: defaults (full or `--quick`) ← overrides from a TOML table, with unknown
//! keys rejected by name.
//!
//! # One path through every experiment
//!
//! The harness sees each experiment as a `&dyn` [`Experiment`]. An experiment does not
//! implement that trait itself: it implements [`ConfiguredExperiment`] — its name,
//! description, typed [`ExperimentConfig`] (defaults and validation) and
//! [`execute`](ConfiguredExperiment::execute) (its own set-up, runs and report) — and the
//! one generic implementation of [`Experiment`] does the rest, the same way for all:
//! resolve the configuration ([`RunContext::resolve`]) → validate it → create the
//! [`Report`] (name, quick, seed, configuration echo) → `execute`.

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
        // The path names the offending key ("n_particles: invalid value: …").
        let typed = serde_path_to_error::deserialize(value.clone())
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
    /// Resolves and validates the configuration the experiment would run with under
    /// `ctx`, without running anything: the harness calls it for every selected
    /// experiment before the first one starts, so a bad `--config` fails at once.
    ///
    /// # Errors
    /// As [`Experiment::resolve_config`], or the first value the configuration's
    /// `validate` rejects.
    fn check_config(&self, ctx: &RunContext<'_>) -> Result<(), ExperimentError>;
    /// Runs the experiment and returns its report (the harness fills `wall_seconds`).
    fn run(&self, ctx: &RunContext<'_>) -> Result<Report, ExperimentError>;
}

/// The typed configuration of an experiment: every key can be overridden with
/// `--config`, so the struct should be `#[serde(deny_unknown_fields)]`.
pub trait ExperimentConfig: Serialize + DeserializeOwned {
    /// The defaults: the full study, or the reduced `--quick` settings.
    fn defaults(quick: bool) -> Self;

    /// Rejects values the experiment cannot run with, naming the offending key (an
    /// [`ExperimentError::Config`]). Called after the overrides are applied and before
    /// anything runs; checks that need data (the length of a data set) are made by
    /// [`ConfiguredExperiment::execute`]. The default accepts every value.
    ///
    /// # Errors
    /// The first invalid value.
    fn validate(&self) -> Result<(), ExperimentError> {
        Ok(())
    }

    /// The largest `f64` buffers the run allocates from its configured sizes, as
    /// (what, dimensions), `what` naming the keys (`"ensemble (n_particles × d)"`).
    /// [`Experiment::check_config`] refuses a configuration whose buffer, or whose
    /// buffers together, exceed the allocation limit
    /// ([`meanfield_measures::alloc::check_total`], `--max-memory`) before anything
    /// runs, so a size typo is an error, not an abort in the middle of a run.
    /// The default declares none.
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        Vec::new()
    }

    /// [`validate`](Self::validate), then every [`buffers`](Self::buffers) entry
    /// against the allocation limit.
    ///
    /// # Errors
    /// The first invalid value or oversized buffer.
    fn check(&self) -> Result<(), ExperimentError> {
        self.validate()?;
        for (what, dims) in self.buffers() {
            meanfield_measures::alloc::f64_len(what, &dims)?;
        }
        Ok(())
    }
}

/// An experiment written against its typed configuration. Implementing it implements
/// [`Experiment`] (module docs): the experiment writes only what is its own.
pub trait ConfiguredExperiment: Sync {
    /// Its configuration.
    type Config: ExperimentConfig;
    /// [`Experiment::name`]: the name on the command line and of the report directory.
    const NAME: &'static str;
    /// [`Experiment::description`]: one line for `--help` and the index.
    const DESCRIPTION: &'static str;

    /// Runs the experiment with the resolved and validated configuration `cfg` and fills
    /// `report`, which already carries the name, `ctx.quick`, `ctx.seed` and the
    /// configuration's JSON: its set-up, runs, checks, tables, series, plots and notes.
    ///
    /// # Errors
    /// Whatever stops the run (a configuration check that needs data, a failed
    /// integrator, missing data).
    fn execute(
        &self,
        cfg: Self::Config,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError>;
}

impl<E: ConfiguredExperiment> Experiment for E {
    fn name(&self) -> &'static str {
        E::NAME
    }

    fn description(&self) -> &'static str {
        E::DESCRIPTION
    }

    fn resolve_config(&self, ctx: &RunContext<'_>) -> Result<serde_json::Value, ExperimentError> {
        ctx.resolve(E::NAME, E::Config::defaults(ctx.quick))
            .map(|(_, json)| json)
    }

    fn check_config(&self, ctx: &RunContext<'_>) -> Result<(), ExperimentError> {
        let cfg = ctx.resolve(E::NAME, E::Config::defaults(ctx.quick))?.0;
        cfg.check()?;
        meanfield_measures::alloc::check_total(E::NAME, &cfg.buffers())?;
        Ok(())
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<Report, ExperimentError> {
        let (cfg, json) = ctx.resolve(E::NAME, E::Config::defaults(ctx.quick))?;
        cfg.check()?;
        meanfield_measures::alloc::check_total(E::NAME, &cfg.buffers())?;
        let mut report = Report::new(E::NAME, ctx.quick, ctx.seed, json);
        self.execute(cfg, ctx, &mut report)?;
        Ok(report)
    }
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
        &crate::cbo::CbsSampling,
        &crate::cbo::PolarCboExperiment,
        &crate::cbo::CboVariants,
        &crate::fisher_rao::FisherRaoOracle,
        &crate::fisher_rao::FisherRaoBandwidth,
        &crate::fisher_rao::FisherRaoChaos,
        &crate::soak::Soak,
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
