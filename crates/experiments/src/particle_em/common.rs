//! What the particle-EM experiments (`mpgd-toy`, `mpgd-blr`, `mpgd-digits`) share: the
//! scheme settings, building PGD or MPD behind one `Box<dyn Dynamics>` with its starting
//! state, Gaussian starting particles, and one run that records θ and an objective.

use meanfield_energy::LatentModel;
use meanfield_integrators::{
    Checkpoint, Dynamics, LatentState, Mpd, MpdParams, ParticleEmInfo, Pgd, PgdParams, Runner,
};
use meanfield_measures::streams;
use meanfield_measures::{Ensemble, InitialLaw, Parallelism};
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

/// PGD's step sizes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgdSettings {
    /// θ step h_θ.
    pub h_theta: f64,
    /// Particle step h_x.
    pub h_x: f64,
}

/// MPD's steps, masses and dampings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MpdSettings {
    /// θ step h_θ.
    pub h_theta: f64,
    /// Particle step h_x.
    pub h_x: f64,
    /// θ momentum mass η_θ.
    pub eta_theta: f64,
    /// Particle momentum mass η_x.
    pub eta_x: f64,
    /// θ damping γ_θ.
    pub gamma_theta: f64,
    /// Particle damping γ_x.
    pub gamma_x: f64,
}

/// One of the two schemes with its settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scheme {
    /// Particle gradient descent.
    Pgd(PgdSettings),
    /// Momentum particle descent.
    Mpd(MpdSettings),
}

/// PGD or MPD behind one type (the particle-EM experiments pick the scheme at run time).
pub type BoxedParticleEm = Box<dyn Dynamics<State = LatentState, Info = ParticleEmInfo>>;

impl Scheme {
    /// Builds the dynamics for `model` and the checkpoint of a run with seed `seed` from
    /// θ₀ and the particles (MPD adds m = 0 and U ~ N(0, I/η_x)).
    pub fn build<M: LatentModel + 'static>(
        &self,
        model: M,
        seed: u64,
        theta0: Vec<f64>,
        particles: Ensemble,
    ) -> Result<(BoxedParticleEm, Checkpoint<LatentState>), ExperimentError> {
        let dynamics: BoxedParticleEm = match *self {
            Scheme::Pgd(s) => Box::new(
                Pgd::new(model, PgdParams::new(s.h_theta, s.h_x)?)?
                    .with_parallelism(Parallelism::Rayon),
            ),
            Scheme::Mpd(s) => {
                let params = MpdParams::new(s.h_theta, s.h_x)?
                    .with_theta_momentum(s.eta_theta, s.gamma_theta)?
                    .with_particle_momentum(s.eta_x, s.gamma_x)?;
                Box::new(Mpd::new(model, params)?.with_parallelism(Parallelism::Rayon))
            }
        };
        let mut state = dynamics.init_state(particles, seed)?;
        state.theta = theta0;
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
