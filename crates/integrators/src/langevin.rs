//! Mean-field Langevin dynamics (MFLD), the Wasserstein gradient flow of
//! L(μ) = F(μ) + λ Ent(μ), discretised by Euler–Maruyama on N particles:
//!
//! X^i_{k+1} = X^i_k − η ∇_x (δF/δμ)(μ_N(k), X^i_k) + √(2λη) ξ^i_k,  ξ^i_k ~ N(0, I_d).
//!
//! The mean-field gradient is formed once per step at ensemble level
//! ([`Functional::first_variation_grad`]); the particle updates then only read it and
//! their own noise stream, so they run in parallel with identical results.
//!
//! Invariants and tests: bitwise identity across thread counts and across
//! checkpoint/resume (`tests/runner.rs`, `tests/contract.rs`); convergence to the Gaussian oracle
//! μ* = N(κb/(1+κ), λI) and 1/N propagation of chaos (experiment `gaussian-oracle`).

use meanfield_energy::{EnergyError, Functional};
use meanfield_measures::{
    Domain, Ensemble, Parallelism, StepStreams, parallel::for_each_row_mut, streams,
};

use crate::dynamics::{Dynamics, StepInfo, StepKey};
use crate::error::{IntegratorError, Result, check_at_least_one, check_positive};

/// Parameters of an Euler–Maruyama Langevin scheme (validated: build with
/// [`LangevinParams::new`]; deserialising runs the same checks).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawLangevinParams")]
pub struct LangevinParams {
    lambda: f64,
    eta: f64,
}

impl LangevinParams {
    /// Entropy weight (temperature) λ and time step η, both finite and > 0.
    pub fn new(lambda: f64, eta: f64) -> Result<Self> {
        Ok(Self {
            lambda: check_positive("lambda", lambda)?,
            eta: check_positive("eta", eta)?,
        })
    }

    /// Entropy weight λ.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Time step η.
    pub fn eta(&self) -> f64 {
        self.eta
    }

    /// Noise scale √(2λη).
    pub fn noise_scale(&self) -> f64 {
        (2.0 * self.lambda * self.eta).sqrt()
    }
}

/// The unvalidated form deserialisation goes through (`serde(try_from)`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLangevinParams {
    lambda: f64,
    eta: f64,
}

impl TryFrom<RawLangevinParams> for LangevinParams {
    type Error = IntegratorError;
    fn try_from(r: RawLangevinParams) -> Result<Self> {
        Self::new(r.lambda, r.eta)
    }
}

/// What a step of any Langevin-type scheme reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LangevinInfo {
    /// Time advanced (η).
    pub dt: f64,
    /// Fraction of particles whose Metropolis proposal was accepted (adjusted scheme
    /// only).
    pub acceptance: Option<f64>,
}

impl StepInfo for LangevinInfo {
    fn dt(&self) -> f64 {
        self.dt
    }

    fn acceptance(&self) -> Option<f64> {
        self.acceptance
    }
}

/// Maps an energy error to the integrator error of step `step`.
pub(crate) fn energy_error(step: u64) -> impl Fn(EnergyError) -> IntegratorError + Copy {
    move |source| IntegratorError::Energy { step, source }
}

/// What every Langevin-type scheme of this crate holds: the functional F, the parameters,
/// the parallelism of the particle loop and the reused buffer of the mean-field drift
/// ∇_x δF/δμ(μ_N, X^i). The noise comes from the step key (purpose
/// [`streams::LANGEVIN_NOISE`]).
pub(crate) struct LangevinCore<F> {
    functional: F,
    params: LangevinParams,
    parallelism: Parallelism,
    grad: Vec<f64>,
}

impl<F> LangevinCore<F> {
    /// Core for `functional` with the given parameters (sequential particle loop).
    pub(crate) fn new(functional: F, params: LangevinParams) -> Self {
        Self {
            functional,
            params,
            parallelism: Parallelism::Sequential,
            grad: Vec::new(),
        }
    }

    /// Spreads the particle loop over the rayon pool (results unchanged).
    pub(crate) fn set_parallelism(&mut self, parallelism: Parallelism) {
        self.parallelism = parallelism;
    }

    /// The functional F.
    pub(crate) fn functional(&self) -> &F {
        &self.functional
    }

    /// The parameters.
    pub(crate) fn params(&self) -> &LangevinParams {
        &self.params
    }

    /// `lambda=…, eta=…, F=…`: the parameter and energy part of a scheme's fingerprint.
    pub(crate) fn params_fingerprint(&self) -> String
    where
        F: Functional,
    {
        format!(
            "lambda={:e}, eta={:e}, F={}",
            self.params.lambda,
            self.params.eta,
            self.functional.fingerprint()
        )
    }

    /// ∇_x δF/δμ at every particle from the last [`LangevinCore::drift`] (row-major N × d).
    pub(crate) fn gradients(&self) -> &[f64] {
        &self.grad
    }

    /// Runs `update(i, x_i, g_i)` on every particle i, with g_i its row of the drift
    /// formed by the last [`LangevinCore::drift`], over the configured parallelism.
    pub(crate) fn for_each_particle(
        &self,
        ens: &mut Ensemble,
        update: impl Fn(usize, &mut [f64], &[f64]) + Send + Sync,
    ) {
        let d = ens.dim();
        for_each_row_mut(
            self.parallelism,
            ens.as_mut_slice(),
            d,
            &self.grad,
            d,
            update,
        );
    }
}

impl<F: Functional> LangevinCore<F> {
    /// Checks that the ensemble matches the functional's dimension.
    pub(crate) fn check_dim(&self, ens: &Ensemble) -> Result<()> {
        if ens.dim() == self.functional.dim() {
            Ok(())
        } else {
            Err(IntegratorError::IncompatibleState(format!(
                "ensemble has dimension {}, the functional expects {}",
                ens.dim(),
                self.functional.dim()
            )))
        }
    }

    /// Forms the drift ∇_x δF/δμ(μ_N, X^i) at all particles (ensemble level, once per
    /// step) into the reused buffer, read by [`LangevinCore::for_each_particle`]. Energy
    /// errors become [`IntegratorError::Energy`] of step `step`.
    pub(crate) fn drift(&mut self, ens: &Ensemble, step: u64) -> Result<()> {
        self.grad.resize(ens.n() * ens.dim(), 0.0);
        self.functional
            .first_variation_grad(ens, &mut self.grad)
            .map_err(energy_error(step))
    }

    /// One Euler–Maruyama step x ← x + (−η g + √(2λη) ξ) of every particle, followed by
    /// `finish(x)` (e.g. a projection), ξ from the particle's own noise stream.
    pub(crate) fn euler_maruyama_step(
        &mut self,
        key: StepKey,
        ens: &mut Ensemble,
        finish: impl Fn(&mut [f64]) + Send + Sync,
    ) -> Result<LangevinInfo> {
        self.drift(ens, key.step())?;
        let (eta, sigma) = (self.params.eta, self.params.noise_scale());
        let (noise, first) = (langevin_noise(key), ens.first_index());
        self.for_each_particle(ens, |i, x, g| {
            // Keyed by the global index: a rank draws the single-process run's noise.
            for ((x, g), xi) in x.iter_mut().zip(g).zip(noise.normals(first + i as u64)) {
                *x += -eta * g + sigma * xi;
            }
            finish(x);
        });
        Ok(LangevinInfo {
            dt: eta,
            acceptance: None,
        })
    }
}

/// The Langevin noise streams of a step (purpose [`streams::LANGEVIN_NOISE`]).
pub(crate) fn langevin_noise(key: StepKey) -> StepStreams {
    key.streams(streams::LANGEVIN_NOISE)
}

/// Plain MFLD on R^d.
pub struct Mfld<F> {
    core: LangevinCore<F>,
}

impl<F: Functional> Mfld<F> {
    /// MFLD for `functional` with the given parameters (sequential particle loop).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] if the functional has dimension 0.
    pub fn new(functional: F, params: LangevinParams) -> Result<Self> {
        Ok(Self {
            core: LangevinCore::new(check_dim_positive(functional)?, params),
        })
    }

    /// Spreads the particle loop over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.core.set_parallelism(parallelism);
        self
    }

    /// The functional F.
    pub fn functional(&self) -> &F {
        self.core.functional()
    }

    /// The parameters.
    pub fn params(&self) -> &LangevinParams {
        self.core.params()
    }
}

/// A functional of dimension ≥ 1 (every Langevin scheme needs one).
pub(crate) fn check_dim_positive<F: Functional>(functional: F) -> Result<F> {
    check_at_least_one("functional dimension", functional.dim() as u64)?;
    Ok(functional)
}

impl<F: Functional> Dynamics for Mfld<F> {
    type State = Ensemble;
    type Info = LangevinInfo;

    fn fingerprint(&self) -> String {
        format!("mfld({})", self.core.params_fingerprint())
    }

    fn check_state(&self, ens: &Ensemble) -> Result<()> {
        self.core.check_dim(ens)?;
        if *ens.domain() != Domain::Euclidean {
            return Err(IntegratorError::IncompatibleState(format!(
                "plain MFLD runs on R^d; this ensemble lives on the {} domain (use projected or mirror MFLD)",
                ens.domain().name()
            )));
        }
        Ok(())
    }

    /// The ensemble as given (positions only; no extra variables).
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<Ensemble> {
        Ok(ensemble)
    }

    fn step(&mut self, key: StepKey, ens: &mut Ensemble) -> Result<LangevinInfo> {
        self.core.euler_maruyama_step(key, ens, |_| {})
    }
}
