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

use meanfield_measures::streams;
use std::sync::atomic::{AtomicU64, Ordering};

use meanfield_diagnostics as diag;
use meanfield_energy::{Functional, TwoLayerNet};
use meanfield_integrators::{
    Checkpoint, Control, Dynamics, LangevinParams, Mfld, MirrorMfld, ProjectedMfld,
};
use meanfield_measures::{BoxBounds, Domain, Ensemble, LogBarrier, NoiseStreams, Parallelism};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::report::{Check, Plot, Series, Table};
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};

/// Reference line of the stabilisation plot.
const DIFFUSION_SERIES: &str = "diffusion length √(2λΔη) of one free particle (MFLD η)";
/// Input dimension p (two features and a bias).
const INPUT_DIM: usize = 3;
/// Teacher units (a, w₁, w₂, w_bias); the teacher is the average over the three units.
const TEACHER: [[f64; 4]; 3] = [
    [2.5, 2.0, 0.0, 0.5],
    [-2.0, 0.0, 2.0, -0.5],
    [2.0, 1.5, -1.5, 0.0],
];

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

/// A row of the table `training`: one run.
#[derive(Serialize)]
struct TrainingRow {
    run: &'static str,
    #[serde(rename = "η")]
    eta: f64,
    #[serde(rename = "initial train loss")]
    initial_train: f64,
    #[serde(rename = "final train loss")]
    final_train: f64,
    #[serde(rename = "final test loss")]
    final_test: f64,
    #[serde(rename = "test / train")]
    test_over_train: f64,
    #[serde(rename = "max |θ| (all steps)")]
    max_abs: f64,
    #[serde(rename = "particle-steps not strictly inside [−B, B]⁴")]
    outside_open: u64,
    #[serde(rename = "particles on a face at the end")]
    on_faces_end: usize,
}

/// A row of the table `stabilisation`: one run.
#[derive(Serialize)]
struct StabilisationRow {
    run: &'static str,
    #[serde(rename = "SW₂ first window")]
    sw_first: f64,
    #[serde(rename = "SW₂ last window")]
    sw_last: f64,
    #[serde(rename = "last / first")]
    last_over_first: f64,
    #[serde(rename = "SW₂(μ_0, μ_K)")]
    sw_total: f64,
    #[serde(rename = "diffusion length √(2λΔη)")]
    diffusion_length: f64,
    #[serde(rename = "max |Δ mean| last window")]
    mean_change_last: f64,
    #[serde(rename = "|Δ E|θ|²| last window")]
    second_change_last: f64,
}

/// The row of the table `data`.
#[derive(Serialize)]
struct DataRow {
    #[serde(rename = "train points")]
    train_points: usize,
    #[serde(rename = "test points")]
    test_points: usize,
    #[serde(rename = "mean y")]
    mean_y: f64,
    #[serde(rename = "Var(y)")]
    var_y: f64,
    #[serde(rename = "Var(y)/2")]
    half_var_y: f64,
    #[serde(rename = "noise floor σ²/2")]
    noise_floor: f64,
}

/// The experiment.
pub struct MfldNn;

/// The teacher f*(z) (module docs).
pub fn teacher(z: &[f64]) -> f64 {
    TEACHER
        .iter()
        .map(|u| u[0] * (u[1] * z[0] + u[2] * z[1] + u[3] * z[2]).tanh())
        .sum::<f64>()
        / TEACHER.len() as f64
}

/// A data set: inputs row-major (K × 3, last column 1) and noisy teacher targets, drawn
/// from the streams of `seed` under key `step` (0 train, 1 test).
pub fn data_set(k: usize, noise_std: f64, seed: u64, step: u64) -> (Vec<f64>, Vec<f64>) {
    let streams = NoiseStreams::new(seed, streams::NN_DATA);
    let (mut z, mut y) = (Vec::with_capacity(k * INPUT_DIM), Vec::with_capacity(k));
    let mut xi = [0.0; 3];
    for j in 0..k {
        streams.fill_standard_normal(step, j as u64, &mut xi);
        // Φ(ξ) is uniform on (0, 1); 2Φ − 1 = erf(ξ/√2) is uniform on (−1, 1).
        let row = [
            statrs::function::erf::erf(xi[0] / std::f64::consts::SQRT_2),
            statrs::function::erf::erf(xi[1] / std::f64::consts::SQRT_2),
            1.0,
        ];
        y.push(teacher(&row) + noise_std * xi[2]);
        z.extend_from_slice(&row);
    }
    (z, y)
}

/// Everything recorded along one run.
struct Trace {
    steps: Vec<f64>,
    train: Vec<f64>,
    test: Vec<f64>,
    /// (step, ensemble) at every multiple of `stability_lag` (0 included).
    snapshots: Vec<(u64, Ensemble)>,
    /// max_i,k |θ_ik| over every iterate (all steps).
    max_abs: f64,
    /// Particle-steps outside the open box [−B, B]⁴ (strictly inside required).
    outside_open: u64,
    /// Particle-steps outside the closed box.
    outside_closed: u64,
    /// Particles with a coordinate exactly on a face (|θ_k| = B) at the end.
    on_faces_end: usize,
    final_state: Ensemble,
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

/// Sliced W₂ between consecutive snapshots: (window start step, SW₂).
fn window_distances(
    tr: &Trace,
    projections: usize,
    seed: u64,
) -> Result<Vec<(f64, f64)>, ExperimentError> {
    tr.snapshots
        .windows(2)
        .map(|w| {
            Ok((
                w[0].0 as f64,
                diag::sliced_w2(&w[0].1, &w[1].1, projections, seed)?,
            ))
        })
        .collect()
}

/// Largest change of a coordinate of the mean and of E|θ|² between two ensembles.
fn moment_changes(a: &Ensemble, b: &Ensemble) -> (f64, f64) {
    let (ma, mb) = (a.mean(), b.mean());
    let dm = ma
        .iter()
        .zip(&mb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let second = |e: &Ensemble| -> f64 {
        e.rows()
            .enumerate()
            .map(|(i, r)| e.weight(i) * r.iter().map(|v| v * v).sum::<f64>())
            .sum()
    };
    (dm, (second(a) - second(b)).abs())
}

/// One run's headline numbers.
struct Summary {
    label: &'static str,
    key: &'static str,
    eta: f64,
    init_train: f64,
    final_train: f64,
    final_test: f64,
    sw_first: f64,
    sw_last: f64,
    sw_total: f64,
    /// √(2λΔη_eff): how far one free particle diffuses in a window.
    diffusion_length: f64,
    mean_change_last: f64,
    second_change_last: f64,
}

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
        let problem = Problem::new(&cfg, ctx.seed)?;
        let traces = run_variants(&cfg, &problem, ctx)?;
        fill_report(&cfg, ctx.seed, &problem, &traces, report)?;
        Ok(())
    }
}

/// The set-up shared by the three runs: data, functional and initial ensemble.
struct Problem {
    /// The functional F on the training data.
    net: TwoLayerNet,
    /// Held-out inputs (row-major, last column 1).
    z_test: Vec<f64>,
    /// Held-out targets.
    y_test: Vec<f64>,
    /// Sample mean of the training targets.
    y_mean: f64,
    /// Sample variance of the training targets.
    y_var: f64,
    /// σ²/2, the loss of the teacher.
    noise_floor: f64,
    /// The box [−B, B]⁴.
    bounds: BoxBounds,
    /// The initial ensemble on R⁴ (coordinates clamped to ±`clamp`).
    raw: Ensemble,
    /// The same particles on the box domain.
    boxed: Ensemble,
    /// 0.95 B.
    clamp: f64,
    /// Particles with a clamped coordinate.
    clamped: usize,
}

impl Problem {
    /// Draws the data and the initial ensemble from `seed` and builds the functional.
    fn new(cfg: &MfldNnConfig, seed: u64) -> Result<Self, ExperimentError> {
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
fn run_variants(
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
                &mut MirrorMfld::new(net.clone(), LogBarrier::new(bounds.clone()), mirror_params)?
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

/// Notes, summaries (with their series), checks, tables and plots of the three runs.
fn fill_report(
    cfg: &MfldNnConfig,
    seed: u64,
    problem: &Problem,
    traces: &[Trace; 3],
    report: &mut Report,
) -> Result<(), ExperimentError> {
    push_setting_notes(cfg, problem, report);
    let summaries = summarise(cfg, seed, traces, report)?;
    push_checks(cfg, problem, &summaries, traces, report);
    push_tables(cfg, problem, &summaries, traces, report)?;
    push_plots(cfg, &summaries, report);
    let f_final = problem
        .net
        .value(&traces[0].final_state)
        .map_err(|e| ExperimentError::Config(e.to_string()))?;
    report.notes.push(format!(
        "Final MFLD energy F(μ_N) = {f_final:.4e} (loss {:.4e} + L2 term).",
        summaries[0].final_train
    ));
    Ok(())
}

/// The notes on data, student, runs and the stabilisation criterion.
fn push_setting_notes(cfg: &MfldNnConfig, problem: &Problem, report: &mut Report) {
    let b = cfg.box_bound;
    let Problem {
        y_mean,
        y_var,
        noise_floor,
        clamp,
        clamped,
        ..
    } = problem;
    report.notes.push(format!(
        "Data: M = {} train and {} held-out test points, z = (z₁, z₂, 1) with (z₁, z₂) \
         uniform on [−1, 1]², y = f*(z) + σε with σ = {} and the mean-field teacher \
         f*(z) = ⅓[2.5 tanh(2z₁ + 0.5) − 2 tanh(2z₂ − 0.5) + 2 tanh(1.5z₁ − 1.5z₂)], all drawn \
         from the seed. Train targets: mean {:.3}, variance {:.3}; noise floor of the loss \
         σ²/2 = {:.2e}.",
        cfg.n_train, cfg.n_test, cfg.noise_std, y_mean, y_var, noise_floor
    ));
    report.notes.push(format!(
        "Student: width N = {} network f_μ(z) = E_μ[a tanh(w·z)], θ = (a, w) ∈ R⁴, \
         F(μ) = (1/2M)Σ(f_μ(z_j) − y_j)² + (ρ/2)E|θ|² with ρ = {}, plus λ Ent with λ = {}. \
         Initial particles N(0, {}² I), coordinates clamped to ±{:.2} ({} of {} particles \
         touched) so that all three runs start from the same ensemble inside the box.",
        cfg.n_particles, cfg.l2, cfg.lambda, cfg.init_std, clamp, clamped, cfg.n_particles
    ));
    report.notes.push(format!(
        "Runs ({} steps each): MFLD on R⁴ with η = {}; mirror MFLD (log-barrier map of \
         [−{b}, {b}]⁴) with dual step η_m = {:.4} (= 2η/B² matches the MFLD step at the box \
         centre, where ∇²φ = 2/B²; the metric grows towards the faces, so steps shrink there); \
         projected MFLD on the same box with η = {}. Step size: with the quick settings and \
         the default seed, MFLD reached the same final loss with η = 0.5 and 1, while η = 2 \
         stalled at ≈ 5× the noise floor (Euler instability); the default η = 0.25 keeps a \
         factor ≥ 4 of margin.",
        cfg.steps, cfg.eta, cfg.mirror_eta, cfg.eta
    ));
    report.notes.push(format!(
        "Stabilisation: sliced W₂ ({} directions) between the ensembles Δ = {} steps apart. \
         After the first window the per-window SW₂ plateaus at the level of the thermal \
         jitter of N particles at temperature λ (compare the diffusion length √(2λΔη) of one \
         free particle per window) plus the slow relaxation of the L2 term (time scale \
         1/ρ = {}). The checks require the last window to move \
         < 10 % of the first and less than one diffusion length; they do not claim that \
         μ_N reached the stationary law of MFLD.",
        cfg.sliced_projections,
        cfg.stability_lag,
        if cfg.l2 > 0.0 {
            format!(
                "{:.0}, i.e. {:.0} MFLD steps",
                1.0 / cfg.l2,
                1.0 / (cfg.l2 * cfg.eta)
            )
        } else {
            "∞ with ρ = 0".to_string()
        }
    ));
}

/// The headline numbers of each run, in run order; also inserts their loss and SW₂
/// series.
fn summarise(
    cfg: &MfldNnConfig,
    seed: u64,
    traces: &[Trace; 3],
    report: &mut Report,
) -> Result<Vec<Summary>, ExperimentError> {
    let b = cfg.box_bound;
    let [free, mirror, projected] = traces;
    let sw_seed = seed ^ 0x5357_324e_4e00;
    // (trace, label, key, step, primal-equivalent step at the box centre)
    let variants: [(&Trace, &'static str, &'static str, f64, f64); 3] = [
        (free, "MFLD (R⁴)", "mfld", cfg.eta, cfg.eta),
        (
            mirror,
            "mirror MFLD (log-barrier box)",
            "mirror",
            cfg.mirror_eta,
            0.5 * cfg.mirror_eta * b * b,
        ),
        (
            projected,
            "projected MFLD (box)",
            "projected",
            cfg.eta,
            cfg.eta,
        ),
    ];
    let mut summaries = Vec::new();
    for (tr, label, key, eta, eta_eff) in variants {
        let sw = window_distances(tr, cfg.sliced_projections, sw_seed)?;
        let first_snap = &tr.snapshots[0].1;
        let n_snap = tr.snapshots.len();
        let (last_a, last_b) = (&tr.snapshots[n_snap - 2].1, &tr.snapshots[n_snap - 1].1);
        let (dm, ds) = moment_changes(last_a, last_b);
        let s = Summary {
            label,
            key,
            eta,
            init_train: tr.train[0],
            final_train: *tr.train.last().unwrap_or(&f64::NAN),
            final_test: *tr.test.last().unwrap_or(&f64::NAN),
            sw_first: sw.first().map_or(f64::NAN, |w| w.1),
            sw_last: sw.last().map_or(f64::NAN, |w| w.1),
            sw_total: diag::sliced_w2(
                first_snap,
                &tr.final_state,
                cfg.sliced_projections,
                sw_seed,
            )?,
            diffusion_length: (2.0 * cfg.lambda * cfg.stability_lag as f64 * eta_eff).sqrt(),
            mean_change_last: dm,
            second_change_last: ds,
        };
        report.series.insert(
            format!("train loss: {label}"),
            Series {
                x: tr.steps.clone(),
                y: tr.train.clone(),
            },
        );
        report.series.insert(
            format!("test loss: {label}"),
            Series {
                x: tr.steps.clone(),
                y: tr.test.clone(),
            },
        );
        report.series.insert(
            format!("SW2 per window: {label}"),
            Series {
                x: sw.iter().map(|w| w.0).collect(),
                y: sw.iter().map(|w| w.1).collect(),
            },
        );
        summaries.push(s);
    }
    Ok(summaries)
}

/// The checks of every run (fit, generalisation, stabilisation) and of the box
/// constraints.
fn push_checks(
    cfg: &MfldNnConfig,
    problem: &Problem,
    summaries: &[Summary],
    traces: &[Trace; 3],
    report: &mut Report,
) {
    let (b, noise_floor) = (cfg.box_bound, problem.noise_floor);
    let [_, mirror, projected] = traces;
    for s in summaries {
        report.checks.push(Check::at_most(
            format!("{}: final / initial train loss", s.label),
            s.final_train / s.init_train,
            0.2,
        ));
        report.checks.push(Check::at_most(
            format!("{}: final train loss / noise floor σ²/2", s.label),
            s.final_train / noise_floor,
            2.0,
        ));
        report.checks.push(Check::at_most(
            format!("{}: final test / train loss", s.label),
            s.final_test / s.final_train,
            2.0,
        ));
        report.checks.push(Check::at_most(
            format!("{}: SW₂ last window / first window", s.label),
            s.sw_last / s.sw_first,
            0.1,
        ));
        report.checks.push(Check::at_most(
            format!("{}: SW₂ last window / diffusion length √(2λΔη)", s.label),
            s.sw_last / s.diffusion_length,
            1.0,
        ));
    }
    report.checks.push(Check::at_most(
        "mirror MFLD: particle-steps not strictly inside the box",
        mirror.outside_open as f64,
        0.0,
    ));
    report.checks.push(Check::at_most(
        "mirror MFLD: max |θ| over all iterates / B (< 1)",
        mirror.max_abs / b,
        1.0,
    ));
    report.checks.push(Check::at_most(
        "projected MFLD: particle-steps outside the closed box",
        projected.outside_closed as f64,
        0.0,
    ));
}

/// The tables `training`, `stabilisation` and `data`.
fn push_tables(
    cfg: &MfldNnConfig,
    problem: &Problem,
    summaries: &[Summary],
    traces: &[Trace; 3],
    report: &mut Report,
) -> Result<(), ExperimentError> {
    let training: Vec<TrainingRow> = summaries
        .iter()
        .zip(traces)
        .map(|(s, tr)| TrainingRow {
            run: s.label,
            eta: s.eta,
            initial_train: s.init_train,
            final_train: s.final_train,
            final_test: s.final_test,
            test_over_train: s.final_test / s.final_train,
            max_abs: tr.max_abs,
            outside_open: tr.outside_open,
            on_faces_end: tr.on_faces_end,
        })
        .collect();
    report
        .tables
        .insert("training".into(), Table::from_named_records(&training)?);
    let stabilisation: Vec<StabilisationRow> = summaries
        .iter()
        .map(|s| StabilisationRow {
            run: s.label,
            sw_first: s.sw_first,
            sw_last: s.sw_last,
            last_over_first: s.sw_last / s.sw_first,
            sw_total: s.sw_total,
            diffusion_length: s.diffusion_length,
            mean_change_last: s.mean_change_last,
            second_change_last: s.second_change_last,
        })
        .collect();
    report.tables.insert(
        "stabilisation".into(),
        Table::from_named_records(&stabilisation)?,
    );
    let data = DataRow {
        train_points: cfg.n_train,
        test_points: cfg.n_test,
        mean_y: problem.y_mean,
        var_y: problem.y_var,
        half_var_y: 0.5 * problem.y_var,
        noise_floor: problem.noise_floor,
    };
    report
        .tables
        .insert("data".into(), Table::from_named_records(&[data])?);
    Ok(())
}

/// The loss and stabilisation plots (and the diffusion-length reference series).
fn push_plots(cfg: &MfldNnConfig, summaries: &[Summary], report: &mut Report) {
    let label_of = |k: &str| {
        summaries
            .iter()
            .find(|s| s.key == k)
            .map_or("", |s| s.label)
    };
    report.plots.push(Plot {
        name: "loss".into(),
        title: format!("Training loss, width N = {}", cfg.n_particles),
        x_label: "step".into(),
        y_label: "loss (1/2M) Σ (f − y)²".into(),
        series: vec![
            format!("train loss: {}", label_of("mfld")),
            format!("test loss: {}", label_of("mfld")),
            format!("train loss: {}", label_of("mirror")),
            format!("train loss: {}", label_of("projected")),
        ],
        log_x: false,
        log_y: true,
        scatter: false,
    });
    let window_starts = report
        .series
        .get(&format!("SW2 per window: {}", summaries[0].label))
        .map(|s| s.x.clone())
        .unwrap_or_default();
    let diffusion = summaries[0].diffusion_length;
    report.series.insert(
        DIFFUSION_SERIES.into(),
        Series {
            y: vec![diffusion; window_starts.len()],
            x: window_starts,
        },
    );
    report.plots.push(Plot {
        name: "stabilisation".into(),
        title: format!(
            "Law movement per window: SW₂(μ_k, μ_k+Δ), Δ = {}",
            cfg.stability_lag
        ),
        x_label: "window start step k".into(),
        y_label: "sliced W₂".into(),
        series: summaries
            .iter()
            .map(|s| format!("SW2 per window: {}", s.label))
            .chain([DIFFUSION_SERIES.to_string()])
            .collect(),
        log_x: false,
        log_y: true,
        scatter: false,
    });
}
