//! The five simulations of `mmfld-simplex` and what is observed along them.

use meanfield_diagnostics as diag;
use meanfield_energy::{Functional, SimplexMoment};
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, Control, Dynamics, LangevinInfo, LangevinParams, MirrorMfld,
    ProjectedMfld,
};
use meanfield_measures::streams;
use meanfield_measures::{Ensemble, Entropic, InitialLaw, Parallelism};
use rayon::prelude::*;

use super::MmfldSimplexConfig;
use crate::study::SharedProgress;
use crate::{ExperimentError, RunContext};

/// Simplex dimension (three coordinates).
const DIM: usize = 3;

/// The three schemes compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    /// Projected MFLD.
    Projected,
    /// The paper's mirror MFLD.
    Paper,
    /// Metropolis-adjusted mirror MFLD.
    Adjusted,
}

impl Scheme {
    /// Name in tables and plot titles.
    pub(super) fn label(self) -> &'static str {
        match self {
            Scheme::Projected => "projected MFLD",
            Scheme::Paper => "mirror MFLD (paper)",
            Scheme::Adjusted => "adjusted mirror MFLD",
        }
    }
    /// Short name in series and plot file names.
    pub(super) fn short(self) -> &'static str {
        match self {
            Scheme::Projected => "projected",
            Scheme::Paper => "paper",
            Scheme::Adjusted => "adjusted",
        }
    }
}

/// One simulation: a scheme on the β = 0 case or on the barrier case.
#[derive(Debug, Clone, Copy)]
pub(super) struct Job {
    pub(super) scheme: Scheme,
    pub(super) barrier: bool,
}

/// Observations of one run.
pub(super) struct Trace {
    pub(super) job: Job,
    pub(super) n: usize,
    pub(super) time: Vec<f64>,
    /// Boundary mass at the case's check width (ε, or `barrier_eps` for the barrier case).
    pub(super) boundary: Vec<f64>,
    /// Boundary mass at ε (both cases).
    pub(super) boundary_eps: Vec<f64>,
    /// Fraction with some coordinate exactly 0.
    pub(super) on_face: Vec<f64>,
    pub(super) objective: Vec<f64>,
    pub(super) mean_x1: Vec<f64>,
    pub(super) var_x1: Vec<f64>,
    pub(super) last: Ensemble,
    pub(super) acceptance: Option<f64>,
}

/// The runs, in report order: the three schemes on the β = 0 case, then the paper's and
/// the adjusted scheme on the barrier case.
const JOBS: [Job; 5] = [
    Job {
        scheme: Scheme::Projected,
        barrier: false,
    },
    Job {
        scheme: Scheme::Paper,
        barrier: false,
    },
    Job {
        scheme: Scheme::Adjusted,
        barrier: false,
    },
    Job {
        scheme: Scheme::Paper,
        barrier: true,
    },
    Job {
        scheme: Scheme::Adjusted,
        barrier: true,
    },
];

/// Runs every job of [`JOBS`] and returns their traces in job order.
pub(super) fn run_all(
    cfg: &MmfldSimplexConfig,
    ctx: &RunContext<'_>,
) -> Result<Vec<Trace>, ExperimentError> {
    let total: u64 = JOBS
        .iter()
        .map(|j| {
            let (_, n, horizon, _) = case_settings(cfg, j.barrier);
            n as u64 * steps_for(horizon, cfg.eta)
        })
        .sum();
    let progress = SharedProgress::new(total, "simplex runs", ctx.progress);
    // Independent runs in parallel (each also parallel over particles); collected in
    // job order, so the report does not depend on the thread count.
    JOBS.into_par_iter()
        .map(|job| run_job(job, cfg, ctx.seed, &progress))
        .collect::<Result<Vec<_>, _>>()
}

/// Mean and population variance of a scalar sample.
pub(super) fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    (m, xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n)
}

/// Runs `dy` for `steps` steps from `start`, observing every `every` steps.
#[allow(clippy::too_many_arguments)]
fn observe_run<D: Dynamics<State = Ensemble>>(
    mut dy: D,
    job: Job,
    functional: &SimplexMoment,
    start: Ensemble,
    seed: u64,
    steps: u64,
    every: u64,
    widths: (f64, f64),
    progress: &SharedProgress<'_>,
) -> Result<Trace, ExperimentError> {
    let n = start.n();
    let mut ckpt = Checkpoint::start(&dy, start, seed)?;
    let (mut time, mut boundary, mut boundary_eps, mut on_face) = (vec![], vec![], vec![], vec![]);
    let (mut objective, mut mean_x1, mut var_x1) = (vec![], vec![], vec![]);
    let summary = {
        let mut runner = dy
            .runner(steps)
            .observe(every, |o| {
                let (t, ens) = (o.time, o.state);
                time.push(t);
                boundary.push(diag::boundary_mass(ens, widths.0).map_err(|e| e.to_string())?);
                boundary_eps.push(diag::boundary_mass(ens, widths.1).map_err(|e| e.to_string())?);
                let face = ens.rows().filter(|x| x.iter().any(|v| *v <= 0.0)).count();
                on_face.push(face as f64 / ens.n() as f64);
                // The barrier is infinite on a face; record it as +∞, not an error.
                objective.push(functional.value(ens).unwrap_or(f64::INFINITY));
                let x1 = diag::marginal(ens, 0).map_err(|e| e.to_string())?;
                let (m, v) = mean_var(&x1);
                mean_x1.push(m);
                var_x1.push(v);
                Ok(Control::Continue)
            })
            .progress(progress.runner_callback(n));
        runner.run(&mut dy, &mut ckpt)?
    };
    Ok(Trace {
        job,
        n,
        time,
        boundary,
        boundary_eps,
        on_face,
        objective,
        mean_x1,
        var_x1,
        last: ckpt.state,
        acceptance: summary.mean_acceptance,
    })
}

/// One run of `job` from its own initial ensemble (seed `seed`), observed every
/// `observe_every_time`.
fn run_job(
    job: Job,
    cfg: &MmfldSimplexConfig,
    seed: u64,
    progress: &SharedProgress<'_>,
) -> Result<Trace, ExperimentError> {
    let (beta, n, horizon, width) = case_settings(cfg, job.barrier);
    let functional =
        SimplexMoment::centroid(DIM, beta).map_err(|e| ExperimentError::Config(e.to_string()))?;
    let params = LangevinParams::new(cfg.lambda, cfg.eta)?;
    let law = InitialLaw::Dirichlet {
        alpha: vec![cfg.init_concentration; DIM],
    };
    let start = law.sample(n, seed, streams::INITIAL_POSITIONS)?;
    let steps = steps_for(horizon, cfg.eta);
    let every = steps_for(cfg.observe_every_time, cfg.eta).max(1);
    let widths = (width, cfg.eps);
    let f = functional.clone();
    let par = Parallelism::Rayon;
    let dynamics: Box<dyn Dynamics<State = Ensemble, Info = LangevinInfo>> = match job.scheme {
        Scheme::Projected => Box::new(ProjectedMfld::new(f, params)?.with_parallelism(par)),
        Scheme::Paper => Box::new(MirrorMfld::new(f, Entropic, params)?.with_parallelism(par)),
        Scheme::Adjusted => {
            Box::new(AdjustedMirrorMfld::new(f, Entropic, params)?.with_parallelism(par))
        }
    };
    observe_run(
        dynamics,
        job,
        &functional,
        start,
        seed,
        steps,
        every,
        widths,
        progress,
    )
}

/// (β, N, horizon, boundary width of the checks) of the β = 0 or the barrier case.
pub(super) fn case_settings(cfg: &MmfldSimplexConfig, barrier: bool) -> (f64, usize, f64, f64) {
    if barrier {
        (
            cfg.barrier_beta,
            cfg.barrier_n_particles,
            cfg.barrier_horizon,
            cfg.barrier_eps,
        )
    } else {
        (0.0, cfg.n_particles, cfg.horizon, cfg.eps)
    }
}

/// Steps to reach time `t` with step η (rounded to the nearest step).
pub(super) fn steps_for(t: f64, eta: f64) -> u64 {
    (t / eta).round().max(0.0) as u64
}
