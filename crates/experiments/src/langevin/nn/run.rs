//! The set-up of `mfld-nn` (data, functional, shared initial ensemble) and its three runs.

use std::sync::atomic::{AtomicU64, Ordering};

use meanfield_diagnostics as diag;
use meanfield_energy::TwoLayerNet;
use meanfield_integrators::{
    Checkpoint, Control, Dynamics, LangevinParams, Mfld, MirrorMfld, ProjectedMfld,
};
use meanfield_measures::streams;
use meanfield_measures::{BoxBounds, Domain, Ensemble, LogBarrier, NoiseStreams, Parallelism};
use rayon::prelude::*;

use super::MfldNnConfig;
use super::task::{INPUT_DIM, data_set};
use crate::{ExperimentError, RunContext};

/// Everything recorded along one run.
pub(super) struct Trace {
    pub(super) steps: Vec<f64>,
    pub(super) train: Vec<f64>,
    pub(super) test: Vec<f64>,
    /// (step, ensemble) at every multiple of `stability_lag` (0 included).
    pub(super) snapshots: Vec<(u64, Ensemble)>,
    /// max_i,k |θ_ik| over every iterate (all steps).
    pub(super) max_abs: f64,
    /// Particle-steps outside the open box [−B, B]⁴ (strictly inside required).
    pub(super) outside_open: u64,
    /// Particle-steps outside the closed box.
    pub(super) outside_closed: u64,
    /// Particles with a coordinate exactly on a face (|θ_k| = B) at the end.
    pub(super) on_faces_end: usize,
    pub(super) final_state: Ensemble,
}

/// What a variant needs to know besides its dynamics.
struct RunSetup<'a> {
    cfg: &'a MfldNnConfig,
    net: &'a TwoLayerNet,
    test: (&'a [f64], &'a [f64]),
    done: &'a AtomicU64,
    total: u64,
    progress: &'a (dyn Fn(f64, &str) + Sync),
    /// The seed of every run.
    seed: u64,
}

fn run_variant<D: Dynamics<State = Ensemble>>(
    dynamics: &mut D,
    init: Ensemble,
    setup: &RunSetup<'_>,
) -> Result<Trace, ExperimentError> {
    let cfg = setup.cfg;
    let b = cfg.box_bound;
    let open_box = Domain::Box(BoxBounds::uniform(INPUT_DIM + 1, -b, b)?);
    let mut ckpt = Checkpoint::start(&*dynamics, init, setup.seed)?;
    let mut tr = Trace {
        steps: vec![],
        train: vec![],
        test: vec![],
        snapshots: vec![],
        max_abs: 0.0,
        outside_open: 0,
        outside_closed: 0,
        on_faces_end: 0,
        final_state: ckpt.state.clone(),
    };
    {
        let mut runner = dynamics
            .runner(cfg.steps)
            .observe(1, |o| {
                let (k, ens) = (o.step, o.state);
                for row in ens.rows() {
                    for v in row {
                        tr.max_abs = tr.max_abs.max(v.abs());
                    }
                    if !open_box.contains_interior(row) {
                        tr.outside_open += 1;
                    }
                    if open_box.violation(row).is_some() {
                        tr.outside_closed += 1;
                    }
                }
                if k % cfg.observe_every == 0 || k == cfg.steps {
                    let train = setup.net.loss(ens).map_err(|e| e.to_string())?;
                    let test = setup
                        .net
                        .loss_on(ens, setup.test.0, setup.test.1)
                        .map_err(|e| e.to_string())?;
                    tr.steps.push(k as f64);
                    tr.train.push(train);
                    tr.test.push(test);
                }
                // Full windows only, so that every window spans Δ steps.
                if k % cfg.stability_lag == 0 {
                    tr.snapshots.push((k, ens.clone()));
                }
                Ok(Control::Continue)
            })
            .progress(|k, _| {
                if k % 100 == 0 {
                    let done = setup.done.fetch_add(100, Ordering::Relaxed) + 100;
                    (setup.progress)(done as f64 / setup.total as f64, "training");
                }
            });
        runner.run(dynamics, &mut ckpt)?;
    }
    tr.on_faces_end = ckpt
        .state
        .rows()
        .filter(|r| r.iter().any(|v| v.abs() == b))
        .count();
    tr.final_state = ckpt.state;
    Ok(tr)
}

/// The set-up shared by the three runs: data, functional and initial ensemble.
pub(super) struct Problem {
    /// The functional F on the training data.
    pub(super) net: TwoLayerNet,
    /// Held-out inputs (row-major, last column 1).
    pub(super) z_test: Vec<f64>,
    /// Held-out targets.
    pub(super) y_test: Vec<f64>,
    /// Sample mean of the training targets.
    pub(super) y_mean: f64,
    /// Sample variance of the training targets.
    pub(super) y_var: f64,
    /// σ²/2, the loss of the teacher.
    pub(super) noise_floor: f64,
    /// The box [−B, B]⁴.
    pub(super) bounds: BoxBounds,
    /// The initial ensemble on R⁴ (coordinates clamped to ±`clamp`).
    pub(super) raw: Ensemble,
    /// The same particles on the box domain.
    pub(super) boxed: Ensemble,
    /// 0.95 B.
    pub(super) clamp: f64,
    /// Particles with a clamped coordinate.
    pub(super) clamped: usize,
}

impl Problem {
    /// Draws the data and the initial ensemble from `seed` and builds the functional.
    pub(super) fn new(cfg: &MfldNnConfig, seed: u64) -> Result<Self, ExperimentError> {
        let b = cfg.box_bound;
        let d = INPUT_DIM + 1;

        // Data and functional.
        let (z_train, y_train) = data_set(cfg.n_train, cfg.noise_std, seed, 0);
        let (z_test, y_test) = data_set(cfg.n_test, cfg.noise_std, seed, 1);
        let net = TwoLayerNet::new(z_train, INPUT_DIM, y_train.clone(), cfg.l2)
            .map_err(|e| ExperimentError::Config(e.to_string()))?
            .with_parallelism(Parallelism::Rayon);
        let (y_mean, y_var) = diag::sample_mean_var(&y_train)?;
        let noise_floor = 0.5 * cfg.noise_std * cfg.noise_std;

        // Shared initial ensemble, clamped into the open box.
        let init_streams = NoiseStreams::new(seed, streams::NN_INIT);
        let clamp = 0.95 * b;
        let mut clamped = 0usize;
        let raw = Ensemble::from_fn(cfg.n_particles, d, Domain::Euclidean, |i, row| {
            init_streams.fill_standard_normal(0, i as u64, row);
            let mut hit = false;
            for v in row.iter_mut() {
                *v *= cfg.init_std;
                if v.abs() > clamp {
                    *v = v.signum() * clamp;
                    hit = true;
                }
            }
            clamped += usize::from(hit);
        })?;
        let bounds = BoxBounds::uniform(d, -b, b)?;
        let boxed = Ensemble::new(
            cfg.n_particles,
            d,
            raw.as_slice().to_vec(),
            Domain::Box(bounds.clone()),
        )?;
        Ok(Self {
            net,
            z_test,
            y_test,
            y_mean,
            y_var,
            noise_floor,
            bounds,
            raw,
            boxed,
            clamp,
            clamped,
        })
    }
}

/// The three runs from the problem's initial ensemble, side by side: MFLD on R⁴, mirror
/// MFLD and projected MFLD on the box.
pub(super) fn run_variants(
    cfg: &MfldNnConfig,
    problem: &Problem,
    ctx: &RunContext<'_>,
) -> Result<[Trace; 3], ExperimentError> {
    let Problem {
        net,
        z_test,
        y_test,
        bounds,
        raw,
        boxed,
        ..
    } = problem;
    let params = LangevinParams::new(cfg.lambda, cfg.eta)?;
    let mirror_params = LangevinParams::new(cfg.lambda, cfg.mirror_eta)?;
    let done = AtomicU64::new(0);
    let setup = RunSetup {
        cfg,
        net,
        test: (z_test, y_test),
        done: &done,
        total: 3 * cfg.steps,
        progress: ctx.progress,
        seed: ctx.seed,
    };
    // The three runs are independent: run them side by side (results do not depend
    // on the scheduling; each is a pure function of its seed).
    let runs: Vec<Result<Trace, ExperimentError>> = (0..3)
        .into_par_iter()
        .map(|v| match v {
            0 => run_variant(
                &mut Mfld::new(net.clone(), params)?.with_parallelism(Parallelism::Rayon),
                raw.clone(),
                &setup,
            ),
            1 => run_variant(
                &mut MirrorMfld::new(net.clone(), LogBarrier::new(bounds.clone())?, mirror_params)?
                    .with_parallelism(Parallelism::Rayon),
                boxed.clone(),
                &setup,
            ),
            _ => run_variant(
                &mut ProjectedMfld::new(net.clone(), params)?.with_parallelism(Parallelism::Rayon),
                boxed.clone(),
                &setup,
            ),
        })
        .collect();
    let traces = runs.into_iter().collect::<Result<Vec<_>, _>>()?;
    <[Trace; 3]>::try_from(traces)
        .map_err(|_| ExperimentError::Config("internal: expected three runs".into()))
}
