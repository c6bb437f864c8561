//! The configuration of `mmfld-simplex` and its validation.

use serde::{Deserialize, Serialize};

use crate::{ExperimentConfig, ExperimentError};

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MmfldSimplexConfig {
    /// Temperature λ.
    pub lambda: f64,
    /// Time step η.
    pub eta: f64,
    /// Particles of the β = 0 comparison (the paper's setting).
    pub n_particles: usize,
    /// Horizon t of the β = 0 comparison.
    pub horizon: f64,
    /// Initial law Dirichlet(c, c, c), c = `init_concentration` (2c must be an integer).
    pub init_concentration: f64,
    /// Boundary layer width ε: a particle is near the boundary when min_i x_i < ε.
    pub eps: f64,
    /// Time between snapshots.
    pub observe_every_time: f64,
    /// Fraction of each horizon discarded before time averages.
    pub burn_in_fraction: f64,
    /// Number of batches B of the batch-means standard errors.
    pub batches: usize,
    /// Barrier weight β > 0 of the second case (μ* = Dirichlet(1 + β/λ)).
    pub barrier_beta: f64,
    /// Particles of the barrier case.
    pub barrier_n_particles: usize,
    /// Horizon of the barrier case.
    pub barrier_horizon: f64,
    /// Layer width of the barrier case's boundary-mass check (its mass at `eps` is tiny).
    pub barrier_eps: f64,
    /// Particles drawn per ternary scatter plot.
    pub scatter_points: usize,
}

impl ExperimentConfig for MmfldSimplexConfig {
    /// Defaults: the paper's setting, or the reduced `--quick` one.
    fn defaults(quick: bool) -> Self {
        Self {
            lambda: 0.1,
            eta: 3e-3,
            n_particles: if quick { 5_000 } else { 50_000 },
            horizon: if quick { 12.0 } else { 50.0 },
            init_concentration: 5.0,
            eps: 1e-3,
            observe_every_time: 0.25,
            burn_in_fraction: 0.5,
            batches: if quick { 6 } else { 10 },
            barrier_beta: 0.1,
            barrier_n_particles: if quick { 5_000 } else { 10_000 },
            barrier_horizon: if quick { 8.0 } else { 20.0 },
            barrier_eps: 1e-2,
            scatter_points: 2_000,
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            ("ensemble (n_particles × 3)", vec![self.n_particles, 3]),
            (
                "ensemble (barrier_n_particles × 3)",
                vec![self.barrier_n_particles, 3],
            ),
            (
                "ternary scatter (scatter_points × 3)",
                vec![self.scatter_points, 3],
            ),
        ]
    }

    /// Rejects settings the run cannot use, naming the offending key.
    fn validate(&self) -> Result<(), ExperimentError> {
        let positive = [
            ("lambda", self.lambda),
            ("eta", self.eta),
            ("horizon", self.horizon),
            ("barrier_beta", self.barrier_beta),
            ("barrier_horizon", self.barrier_horizon),
            ("observe_every_time", self.observe_every_time),
        ];
        if let Some((name, v)) = positive.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
            return Err(ExperimentError::Config(format!(
                "{name} = {v} must be finite and > 0"
            )));
        }
        for (name, eps) in [("eps", self.eps), ("barrier_eps", self.barrier_eps)] {
            if !(eps > 0.0 && eps < 1.0 / 3.0) {
                return Err(ExperimentError::Config(format!(
                    "{name} = {eps} must lie in (0, 1/3)"
                )));
            }
        }
        if !(self.burn_in_fraction >= 0.0 && self.burn_in_fraction < 1.0) {
            return Err(ExperimentError::Config(format!(
                "burn_in_fraction = {} must lie in [0, 1)",
                self.burn_in_fraction
            )));
        }
        if self.n_particles < 2 || self.barrier_n_particles < 2 || self.batches < 2 {
            return Err(ExperimentError::Config(
                "need n_particles ≥ 2, barrier_n_particles ≥ 2 and batches ≥ 2".into(),
            ));
        }
        meanfield_measures::laws::half_integer_shape(self.init_concentration)
            .map_err(|e| ExperimentError::Config(e.to_string()))?;
        Ok(())
    }
}
