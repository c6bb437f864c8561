//! CBO with memory: golden values against CBXpy 1.0.4's `CBOMemory` fed the same normals,
//! memories are personal bests, and typed errors. (The generic contract checks are in
//! `tests/contract.rs::cbo_memory`.)

use meanfield_energy::{Objective, TestFunction};
use meanfield_integrators::cbo::uniform_ensemble;
use meanfield_integrators::{
    AlphaSchedule, Batch, CboMemory, CboMemoryParams, CboNoise, CboParams, Checkpoint, Dynamics,
    IntegratorError, Runner, StepKey,
};
use meanfield_measures::{Domain, Ensemble};

#[derive(serde::Deserialize)]
struct Golden {
    n: usize,
    d: usize,
    runs: Vec<GoldenRun>,
}

#[derive(serde::Deserialize)]
struct GoldenRun {
    objective: String,
    noise_kind: String,
    sigma: f64,
    lambda: f64,
    dt: f64,
    alpha0: f64,
    factor: f64,
    alpha_max: f64,
    lambda_memory: f64,
    x0: Vec<Vec<f64>>,
    consensus_noise: Vec<Vec<Vec<f64>>>,
    memory_noise: Vec<Vec<Vec<f64>>>,
    steps: Vec<GoldenStep>,
}

#[derive(serde::Deserialize)]
struct GoldenStep {
    alpha: f64,
    consensus: Vec<f64>,
    x: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    best_energy: f64,
}

fn params(run: &GoldenRun) -> CboMemoryParams {
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
    CboMemoryParams::new(cbo, run.lambda_memory).unwrap()
}

fn replay<O: Objective>(f: O, run: &GoldenRun, n: usize, d: usize) -> f64 {
    let ens = Ensemble::new(n, d, run.x0.concat(), Domain::Euclidean).unwrap();
    let mut mem = CboMemory::new(f, params(run)).unwrap();
    let mut state = mem.init_state(ens, 0).unwrap();
    mem.check_state(&state).unwrap();
    let mut worst: f64 = 0.0;
    for (k, step) in run.steps.iter().enumerate() {
        let info = mem
            .step_with_noise(
                StepKey::new(0, k as u64),
                &mut state,
                &run.consensus_noise[k].concat(),
                &run.memory_noise[k].concat(),
            )
            .unwrap();
        assert_eq!(info.alpha.to_bits(), step.alpha.to_bits(), "α at step {k}");
        let dev = state
            .cbo
            .consensus
            .iter()
            .zip(&step.consensus)
            .chain(state.cbo.ensemble.as_slice().iter().zip(&step.x.concat()))
            .chain(state.memory.iter().zip(&step.y.concat()))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        worst = worst.max(dev);
        assert!(
            dev <= 1e-10,
            "{}: step {k} deviates by {dev:e}",
            run.objective
        );
        assert!(
            (state.cbo.best_f - step.best_energy).abs() <= 1e-10 * (1.0 + step.best_energy.abs()),
            "best energy at step {k}: {} vs {}",
            state.cbo.best_f,
            step.best_energy
        );
    }
    worst
}

/// Rastrigin (anisotropic, λ_m = 0.4, α ×1.05) and Ackley (isotropic, λ_m = 1, α constant),
/// 25 steps, N = 10, d = 3: consensus, particles and memories agree with CBXpy's to
/// round-off (bound 1e-10).
#[test]
fn trajectories_match_cbxpy_when_fed_the_same_noise() {
    let golden: Golden =
        serde_json::from_str(include_str!("data/memory_golden.json")).expect("golden file parses");
    assert_eq!(golden.runs.len(), 2);
    for run in &golden.runs {
        assert_eq!(run.steps.len(), 25);
        let worst = if run.objective == "rastrigin" {
            replay(
                TestFunction::rastrigin(golden.d).unwrap(),
                run,
                golden.n,
                golden.d,
            )
        } else {
            replay(
                TestFunction::ackley(golden.d).unwrap(),
                run,
                golden.n,
                golden.d,
            )
        };
        eprintln!(
            "{} {}: worst deviation {worst:e}",
            run.objective, run.noise_kind
        );
        assert!(worst < 1e-10);
    }
}

/// The memories are personal bests: after every step f(Y^i) is the minimum of f over
/// particle i's positions so far (tracked independently here), and Y^i is one of them.
#[test]
fn memories_are_personal_bests() {
    let f = TestFunction::rastrigin(4).unwrap();
    let cbo = CboParams::new(1.0, 3.0, 0.01)
        .unwrap()
        .with_alpha(10.0)
        .unwrap();
    let mut mem = CboMemory::new(&f, CboMemoryParams::new(cbo, 0.4).unwrap()).unwrap();
    let ens = uniform_ensemble(50, 4, -3.0, 3.0, 2).unwrap();
    let mut c = Checkpoint::start(&mem, ens.clone(), 5).unwrap();
    let mut best: Vec<f64> = ens.rows().map(|x| f.value(x)).collect();
    for k in 1..=30 {
        Runner::new(k).run(&mut mem, &mut c).unwrap();
        for (i, x) in c.state.cbo.ensemble.rows().enumerate() {
            best[i] = best[i].min(f.value(x));
        }
        assert_eq!(c.state.memory_values, best, "step {k}");
        for (i, y) in c.state.memory.chunks_exact(4).enumerate() {
            assert_eq!(f.value(y), best[i]);
        }
    }
    let min = best.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(c.state.cbo.best_f, min);
    assert_eq!(c.state.cbo.evaluations, 50 * 31);
}

#[test]
fn bad_input_is_a_typed_error() {
    let cbo = CboParams::new(1.0, 1.0, 0.01).unwrap();
    for v in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            CboMemoryParams::new(cbo, v),
            Err(IntegratorError::InvalidParameter {
                name: "lambda_memory",
                ..
            })
        ));
        assert!(matches!(
            CboMemoryParams::new(cbo, 0.4).unwrap().with_sigma_memory(v),
            Err(IntegratorError::InvalidParameter {
                name: "sigma_memory",
                ..
            })
        ));
    }
    let batched = cbo
        .with_batch(Some(Batch {
            size: 5,
            partial: true,
        }))
        .unwrap();
    assert!(matches!(
        CboMemoryParams::new(batched, 0.4),
        Err(IntegratorError::InvalidParameter {
            name: "batch size",
            ..
        })
    ));
    let f = TestFunction::ackley(2).unwrap();
    let mut mem = CboMemory::new(&f, CboMemoryParams::new(cbo, 0.4).unwrap()).unwrap();
    assert!(matches!(
        mem.init_state(uniform_ensemble(5, 3, -1.0, 1.0, 1).unwrap(), 0),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let mut state = mem
        .init_state(uniform_ensemble(5, 2, -1.0, 1.0, 1).unwrap(), 0)
        .unwrap();
    assert!(matches!(
        mem.step_with_noise(StepKey::new(0, 0), &mut state, &[0.0; 10], &[0.0; 9]),
        Err(IntegratorError::IncompatibleState(_))
    ));
    state.memory_values.pop();
    assert!(matches!(
        mem.check_state(&state),
        Err(IntegratorError::IncompatibleState(_))
    ));
}
