//! The configuration of `mfld-nn` and its validation.

use serde::{Deserialize, Serialize};

use crate::{ExperimentConfig, ExperimentError};

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfldNnConfig {
    /// Width N of the network (number of particles).
    pub n_particles: usize,
    /// Training points M.
    pub n_train: usize,
    /// Held-out test points.
    pub n_test: usize,
    /// Standard deviation σ of the label noise.
    pub noise_std: f64,
    /// Entropy weight (temperature) λ.
    pub lambda: f64,
    /// L2 weight ρ of F (needed on R⁴ for exp(−δF/δμ/λ) to be normalisable).
    pub l2: f64,
    /// Step η of MFLD and projected MFLD.
    pub eta: f64,
    /// Step η_m of mirror MFLD, in dual units (2η/B² matches MFLD at the box centre).
    pub mirror_eta: f64,
    /// Number of steps of every run.
    pub steps: u64,
    /// Loss observation interval (steps).
    pub observe_every: u64,
    /// Standard deviation s of the initial particles N(0, s² I).
    pub init_std: f64,
    /// Half-width B of the box [−B, B]⁴ of the constrained runs.
    pub box_bound: f64,
    /// Window Δ (steps) between the ensembles compared by sliced W₂.
    pub stability_lag: u64,
    /// Random directions of the sliced W₂ estimate.
    pub sliced_projections: usize,
}

impl ExperimentConfig for MfldNnConfig {
    /// Defaults: full study, or the reduced `--quick` one.
    fn defaults(quick: bool) -> Self {
        let (eta, b) = (0.25, 3.0);
        Self {
            n_particles: if quick { 128 } else { 512 },
            n_train: 200,
            n_test: 200,
            noise_std: 0.05,
            lambda: 1e-4,
            l2: 1e-3,
            eta,
            mirror_eta: 2.0 * eta / (b * b),
            steps: if quick { 2_000 } else { 4_000 },
            observe_every: 20,
            init_std: 1.0,
            box_bound: b,
            stability_lag: if quick { 200 } else { 400 },
            sliced_projections: 64,
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            (
                "hidden-unit outputs (n_train × n_particles)",
                vec![self.n_train, self.n_particles],
            ),
            (
                "hidden-unit outputs (n_test × n_particles)",
                vec![self.n_test, self.n_particles],
            ),
            (
                "sliced W2 projections (sliced_projections × n_particles)",
                vec![self.sliced_projections, self.n_particles],
            ),
        ]
    }

    fn validate(&self) -> Result<(), ExperimentError> {
        let positive = [
            ("noise_std", self.noise_std, false),
            ("lambda", self.lambda, true),
            ("l2", self.l2, false),
            ("eta", self.eta, true),
            ("mirror_eta", self.mirror_eta, true),
            ("init_std", self.init_std, true),
            ("box_bound", self.box_bound, true),
        ];
        for (name, v, strict) in positive {
            if !v.is_finite() || v < 0.0 || (strict && v == 0.0) {
                return Err(ExperimentError::Config(format!(
                    "{name} = {v} must be finite and {}",
                    if strict { "> 0" } else { "≥ 0" }
                )));
            }
        }
        if self.n_particles < 2 || self.n_train < 2 || self.n_test < 2 {
            return Err(ExperimentError::Config(
                "need n_particles, n_train and n_test ≥ 2".into(),
            ));
        }
        if self.observe_every == 0 || self.sliced_projections == 0 {
            return Err(ExperimentError::Config(
                "observe_every and sliced_projections must be ≥ 1".into(),
            ));
        }
        if self.stability_lag == 0 || self.steps < 2 * self.stability_lag {
            return Err(ExperimentError::Config(format!(
                "need 1 ≤ stability_lag ≤ steps/2 (two windows at least), got lag {} for {} steps",
                self.stability_lag, self.steps
            )));
        }
        Ok(())
    }
}
