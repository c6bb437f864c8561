//! `mfld-nn`: training a mean-field two-layer network with MFLD (spec `mmfld.md`,
//! experiment 3), unconstrained and with the parameters confined to a box.
//!
//! **Task.** Inputs z = (z₁, z₂, 1) with (z₁, z₂) uniform on [−1, 1]² (the last coordinate
//! is a bias), targets from a fixed mean-field teacher with three hidden units plus
//! Gaussian noise,
//!
//! y = f*(z) + σ ε,  f*(z) = ⅓ [2.5 tanh(2z₁ + 0.5) − 2 tanh(2z₂ − 0.5) + 2 tanh(1.5z₁ − 1.5z₂)],
//!
//! M train and M' held-out test points, all drawn from the run seed
//! (uniforms as Φ(ξ) of standard normals from [`NoiseStreams`]). The student is
//! f_μ(z) = E_μ[a tanh(w·z)] with particles θ = (a, w) ∈ R⁴, trained on
//! F(μ) = (1/2M) Σ_j (f_μ(z_j) − y_j)² + (ρ/2) E_μ|θ|² plus λ Ent(μ)
//! ([`TwoLayerNet`]). The teacher is itself such a network (a measure on 3 atoms with
//! |a| ≤ 2.5, |w| ≤ 2), so the noise floor σ²/2 of the loss is attainable, also inside the
//! box [−B, B]⁴ for B ≥ 2.5.
//!
//! **Dynamics.** Three runs from the same initial ensemble θ_i ~ N(0, s² I) (coordinates
//! clamped to ±0.95 B so that it is inside the box):
//! 1. MFLD on R⁴ ([`Mfld`]) with step η;
//! 2. mirror MFLD with the log-barrier map of [−B, B]⁴ ([`MirrorMfld`] + [`LogBarrier`]);
//!    its step η_m is in dual units, where the metric ∇²φ(0) = 2/B² at the centre of the
//!    box, so η_m = 2η/B² makes the interior step (and noise) match MFLD's;
//! 3. projected MFLD on the same box ([`ProjectedMfld`]) with step η.
//!
//! **Checks.** Per run: the final train loss is below 20 % of the initial one and within
//! 2× the noise floor σ²/2 (the fit reaches the noise level); the held-out test loss is
//! within 2× the train loss; the law stabilises (below). Mirror iterates are strictly
//! inside the box at every step (checked on every particle after every step), projected
//! ones inside the closed box.
//!
//! **Stabilisation.** The ensemble is kept every Δ steps; SW₂(μ_{kΔ}, μ_{(k+1)Δ}) (sliced
//! Wasserstein, fixed directions) measures how far the particle law moves per window. We
//! require the last window's movement to be (i) below 10 % of the first window's, and
//! (ii) below the diffusion length √(2λΔη) of a single free particle over the window
//! (η the primal-equivalent step): a law that moves less than one particle diffuses is
//! at the thermal-jitter level, not drifting. This does not claim that μ_N has reached
//! the stationary law of MFLD: the L2 term relaxes on the time scale 1/ρ, longer than
//! the default runs.
//!
//! # Layout
//!
//! `config` ([`MfldNnConfig`]), `task` (the teacher and its data: [`teacher`],
//! [`data_set`]), `run` (the shared set-up and the three runs) and `report` (summaries,
//! checks, tables, plots and notes).
//!
//! [`NoiseStreams`]: meanfield_measures::NoiseStreams
//! [`TwoLayerNet`]: meanfield_energy::TwoLayerNet
//! [`Mfld`]: meanfield_integrators::Mfld
//! [`MirrorMfld`]: meanfield_integrators::MirrorMfld
//! [`LogBarrier`]: meanfield_measures::LogBarrier
//! [`ProjectedMfld`]: meanfield_integrators::ProjectedMfld

mod config;
mod report;
mod run;
mod task;

pub use config::MfldNnConfig;
pub use task::{data_set, teacher};

use crate::{ConfiguredExperiment, ExperimentError, Report, RunContext};

/// The experiment.
pub struct MfldNn;

impl ConfiguredExperiment for MfldNn {
    type Config = MfldNnConfig;
    const NAME: &'static str = "mfld-nn";
    const DESCRIPTION: &'static str = "Mean-field two-layer tanh network trained by MFLD, and on a box by mirror (log-barrier) and projected MFLD";

    fn execute(
        &self,
        cfg: MfldNnConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let problem = run::Problem::new(&cfg, ctx.seed)?;
        let traces = run::run_variants(&cfg, &problem, ctx)?;
        report::fill(&cfg, ctx.seed, &problem, &traces, report)?;
        Ok(())
    }
}
