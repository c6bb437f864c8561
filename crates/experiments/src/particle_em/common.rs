//! What the particle-EM experiments (`mpgd-toy`, `mpgd-blr`, `mpgd-digits`) share: the
//! choice of scheme with its parameters (the integrator's own validated [`PgdParams`],
//! [`MpdParams`] and [`PmgdParams`], which the configurations also deserialise into),
//! building PGD, PQN, PMGD or MPD behind one `Box<dyn Dynamics>` with its starting state, Gaussian starting particles,
//! and one run that records θ and an objective.

use crate::ExperimentError;
use meanfield_energy::LatentModel;
use meanfield_integrators::{
    Checkpoint, Dynamics, LatentState, Mpd, MpdParams, ParticleEmInfo, Pgd, PgdParams, Pmgd,
    PmgdParams, Pqn, Runner,
};
use meanfield_measures::streams;
use meanfield_measures::{Ensemble, InitialLaw, Parallelism};

/// One of the particle-EM schemes with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scheme {
    /// Particle gradient descent.
    Pgd(PgdParams),
    /// Particle quasi-Newton (PGD's step sizes; h_θ multiplies H̄⁻¹g).
    Pqn(PgdParams),
    /// Particle marginal gradient descent (θ = θ*(q)).
    Pmgd(PmgdParams),
    /// Momentum particle descent.
    Mpd(MpdParams),
}

/// Any particle-EM scheme behind one type (the particle-EM experiments pick the scheme at run time).
pub type BoxedParticleEm = Box<dyn Dynamics<State = LatentState, Info = ParticleEmInfo>>;

impl Scheme {
    /// Builds the dynamics for `model` and the checkpoint of a run with seed `seed` from
    /// θ₀ and the particles (MPD adds m = 0 and U ~ N(0, I/η_x)). PMGD ignores θ₀: its
    /// θ is θ*(X₀) by definition.
    pub fn build<M: LatentModel + 'static>(
        &self,
        model: M,
        seed: u64,
        theta0: Vec<f64>,
        particles: Ensemble,
    ) -> Result<(BoxedParticleEm, Checkpoint<LatentState>), ExperimentError> {
        let dynamics: BoxedParticleEm = match *self {
            Scheme::Pgd(params) => {
                Box::new(Pgd::new(model, params)?.with_parallelism(Parallelism::Rayon))
            }
            Scheme::Pqn(params) => {
                Box::new(Pqn::new(model, params)?.with_parallelism(Parallelism::Rayon))
            }
            Scheme::Pmgd(params) => {
                Box::new(Pmgd::new(model, params)?.with_parallelism(Parallelism::Rayon))
            }
            Scheme::Mpd(params) => {
                Box::new(Mpd::new(model, params)?.with_parallelism(Parallelism::Rayon))
            }
        };
        let mut state = dynamics.init_state(particles, seed)?;
        if !matches!(self, Scheme::Pmgd(_)) {
            state.theta = theta0;
        }
        let checkpoint = Checkpoint::from_state(&dynamics, state, seed)?;
        Ok((dynamics, checkpoint))
    }
}

/// N particles in R^d drawn i.i.d. from N(mean, std² I) with the streams of `seed`.
pub fn gaussian_particles(
    n: usize,
    d: usize,
    mean: f64,
    std: f64,
    seed: u64,
) -> Result<Ensemble, ExperimentError> {
    Ok(InitialLaw::isotropic_gaussian(d, mean, std).sample(n, seed, streams::PARTICLE_EM_INIT)?)
}

/// Runs `dynamics` from `checkpoint` for `steps` steps, calling `record(step, state)` at
/// step 0 and every `every` steps (and at the end); an error of `record` ends the run
/// with that error. Returns the final state.
pub fn run_recording(
    dynamics: &mut BoxedParticleEm,
    mut checkpoint: Checkpoint<LatentState>,
    steps: u64,
    every: u64,
    mut record: impl FnMut(u64, &LatentState) -> Result<(), ExperimentError>,
    mut progress: impl FnMut(u64, u64),
) -> Result<LatentState, ExperimentError> {
    Runner::new(steps)
        .observe(every, |o| {
            record(o.step, o.state)?;
            Ok(meanfield_integrators::Control::Continue)
        })
        .progress(&mut progress)
        .run(dynamics, &mut checkpoint)?;
    Ok(checkpoint.state)
}
