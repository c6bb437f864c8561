//! Polarised CBO: golden values against CBXpy 1.0.4's `PolarCBO` fed the same normals,
//! the clustering of consensus points, several minimisers in one run, thread-count
//! invariance and typed errors. (The generic contract checks — resume, threads, refusal,
//! stop, observers, `run_many`, interleaving — are in `tests/contract.rs::polar_cbo`.)

use meanfield_energy::{Himmelblau, Objective, TestFunction};
use meanfield_integrators::cbo::{cluster_points, uniform_ensemble};
use meanfield_integrators::{
    AlphaSchedule, Batch, CboNoise, CboParams, Checkpoint, Dynamics, IntegratorError,
    KernelScale, PolarCbo, PolarCboParams, Runner, StepKey,
};
use meanfield_measures::{Domain, Ensemble, Parallelism};

// ----- golden values vs CBXpy 1.0.4 (benches/peers/polar_golden.py) -----

#[derive(serde::Deserialize)]
struct Golden {
    n: usize,
    runs: Vec<GoldenRun>,
}

#[derive(serde::Deserialize)]
struct GoldenRun {
    objective: String,
    d: usize,
    noise_kind: String,
    sigma: f64,
    kappa: f64,
    kernel_scale: String,
    lambda: f64,
    dt: f64,
    alpha0: f64,
    factor: f64,
    alpha_max: f64,
    x0: Vec<Vec<f64>>,
    noise: Vec<Vec<Vec<f64>>>,
    steps: Vec<GoldenStep>,
}

#[derive(serde::Deserialize)]
struct GoldenStep {
    alpha: f64,
    points: Vec<Vec<f64>>,
    x: Vec<Vec<f64>>,
    best_energy: f64,
}

fn replay<O: Objective>(f: O, run: &GoldenRun, n: usize) -> f64 {
    let d = run.d;
    let noise = if run.noise_kind == "anisotropic" {
        CboNoise::Anisotropic
    } else {
        CboNoise::Isotropic
    };
    let schedule = if run.factor == 1.0 {
        AlphaSchedule::Constant
    } else {
        AlphaSchedule::Multiplicative {
            factor: run.factor,
            max: run.alpha_max,
        }
    };
    let cbo = CboParams::new(run.lambda, run.sigma, run.dt)
        .unwrap()
        .with_alpha(run.alpha0)
        .unwrap()
        .with_schedule(schedule)
        .unwrap()
        .with_noise(noise);
    let scale = if run.kernel_scale == "alpha" {
        KernelScale::Alpha
    } else {
        KernelScale::Constant
    };
    let params = PolarCboParams::new(cbo, run.kappa)
        .unwrap()
        .with_kernel_scale(scale);
    let ens = Ensemble::new(n, d, run.x0.concat(), Domain::Euclidean).unwrap();
    let mut polar = PolarCbo::new(f, params).unwrap();
    let mut state = polar.init_state(ens, 0).unwrap();
    polar.check_state(&state).unwrap();
    let mut worst: f64 = 0.0;
    for (k, (step, z)) in run.steps.iter().zip(&run.noise).enumerate() {
        let info = polar
            .step_with_noise(StepKey::new(0, k as u64), &mut state, &z.concat())
            .unwrap();
        assert_eq!(info.alpha.to_bits(), step.alpha.to_bits(), "α at step {k}");
        let dev = state
            .points
            .iter()
            .zip(&step.points.concat())
            .chain(state.cbo.ensemble.as_slice().iter().zip(&step.x.concat()))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        worst = worst.max(dev);
        assert!(dev <= 1e-10, "{}: step {k} deviates by {dev:e}", run.objective);
        assert!(
            (state.cbo.best_f - step.best_energy).abs() <= 1e-10 * (1.0 + step.best_energy.abs()),
            "best energy at step {k}"
        );
    }
    worst
}

/// Three runs (Himmelblau with s = α and anisotropic noise, Himmelblau with s = 1 and
/// isotropic noise, Rastrigin d = 3 with s = 1), 25 steps each, N = 12: consensus points
/// and particles agree with CBXpy's to round-off (bound 1e-10).
#[test]
fn trajectories_match_cbxpy_when_fed_the_same_noise() {
    let golden: Golden =
        serde_json::from_str(include_str!("data/polar_golden.json")).expect("golden file parses");
    assert_eq!(golden.runs.len(), 3);
    for run in &golden.runs {
        assert_eq!(run.steps.len(), 25);
        let worst = if run.objective == "himmelblau" {
            replay(Himmelblau, run, golden.n)
        } else {
            replay(TestFunction::rastrigin(run.d).unwrap(), run, golden.n)
        };
        eprintln!(
            "{} {} {}: worst deviation {worst:e}",
            run.objective, run.noise_kind, run.kernel_scale
        );
        assert!(worst < 1e-10);
    }
}
