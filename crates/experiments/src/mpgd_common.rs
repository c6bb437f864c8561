//! What the particle-EM experiments (`mpgd-toy`, `mpgd-blr`, `mpgd-digits`) share: the
//! scheme settings, building PGD or MPD behind one `Box<dyn Dynamics>` with its starting
//! state, Gaussian starting particles, and one run that records θ and an objective.

use meanfield_energy::LatentModel;
use meanfield_integrators::{
    Checkpoint, Dynamics, LatentState, Mpd, MpdParams, Pgd, PgdParams, Runner,
};
use meanfield_measures::{Ensemble, Parallelism};
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

/// Stream purpose of the starting particles.
const INIT_STREAM: u64 = 31;

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

impl Scheme {
    /// Builds the dynamics for `model` with noise seed `seed` and its starting state from
    /// θ₀ and the particles (MPD adds m = 0 and U ~ N(0, I/η_x)).
    pub fn build<M: LatentModel + 'static>(
        &self,
        model: M,
        seed: u64,
        theta0: Vec<f64>,
        particles: Ensemble,
    ) -> Result<(Box<dyn Dynamics<State = LatentState>>, LatentState), ExperimentError> {
        Ok(match *self {
            Scheme::Pgd(s) => {
                let pgd = Pgd::new(model, PgdParams::new(s.h_theta, s.h_x, seed)?)
                    .with_parallelism(Parallelism::Rayon);
                (Box::new(pgd), LatentState::new(theta0, particles))
            }
            Scheme::Mpd(s) => {
                let params = MpdParams::new(
                    s.h_theta,
                    s.h_x,
                    s.eta_theta,
                    s.eta_x,
                    s.gamma_theta,
                    s.gamma_x,
                    seed,
                )?;
                let mpd = Mpd::new(model, params)?.with_parallelism(Parallelism::Rayon);
                let state = mpd.initial_state(theta0, particles)?;
                (Box::new(mpd), state)
            }
        })
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
    crate::study::gaussian_start(n, &vec![mean; d], std, seed, INIT_STREAM)
}

/// Runs `dynamics` from `state` for `steps` steps, calling `record(step, state)` at step
/// 0 and every `every` steps (and at the end); returns the final state.
pub fn run_recording(
    dynamics: &mut Box<dyn Dynamics<State = LatentState>>,
    state: LatentState,
    steps: u64,
    every: u64,
    mut record: impl FnMut(u64, &LatentState),
    mut progress: impl FnMut(u64, u64),
) -> Result<LatentState, ExperimentError> {
    let mut ck = Checkpoint::start(dynamics, state);
    Runner::new(steps)
        .observe(every, |k, _, s: &LatentState| {
            record(k, s);
            Ok(meanfield_integrators::Control::Continue)
        })
        .progress(&mut progress)
        .run(dynamics, &mut ck)?;
    Ok(ck.state)
}
