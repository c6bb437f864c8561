//! CBO with memory and PSO: golden values against CBXpy 1.0.4's `CBOMemory` and (drift-sign
//! corrected) `PSO` fed the same normals, memories are personal bests, and typed errors.
//! (The generic contract checks are in `tests/contract.rs::cbo_memory` and `::pso`.)

use meanfield_energy::{Objective, TestFunction};
use meanfield_integrators::cbo::uniform_ensemble;
use meanfield_integrators::{
    AlphaSchedule, Batch, CboMemory, CboMemoryParams, CboNoise, CboParams, Checkpoint, Dynamics,
    IntegratorError, Pso, PsoParams, Runner, StepKey,
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

/// The PSO golden file is the memory one's format plus inertia, friction and velocities
/// (read as a second view of the same JSON).
#[derive(serde::Deserialize)]
struct PsoExtra {
    runs: Vec<PsoExtraRun>,
}

#[derive(serde::Deserialize)]
struct PsoExtraRun {
    inertia: f64,
    friction: f64,
    steps: Vec<PsoGoldenStep>,
}

struct PsoGoldenRun<'a> {
    run: &'a GoldenRun,
    inertia: f64,
    friction: f64,
    pso_steps: &'a [PsoGoldenStep],
}

#[derive(serde::Deserialize)]
struct PsoGoldenStep {
    v: Vec<Vec<f64>>,
}

fn replay_pso<O: Objective>(f: O, golden: &PsoGoldenRun<'_>, n: usize, d: usize) -> f64 {
    let run = golden.run;
    let ens = Ensemble::new(n, d, run.x0.concat(), Domain::Euclidean).unwrap();
    let params = PsoParams::new(params(run), golden.inertia, golden.friction).unwrap();
    let mut pso = Pso::new(f, params).unwrap();
    let mut state = pso.init_state(ens, 0).unwrap();
    pso.check_state(&state).unwrap();
    let mut worst: f64 = 0.0;
    for (k, (step, v)) in run.steps.iter().zip(golden.pso_steps).enumerate() {
        let info = pso
            .step_with_noise(
                StepKey::new(0, k as u64),
                &mut state,
                &run.consensus_noise[k].concat(),
                &run.memory_noise[k].concat(),
            )
            .unwrap();
        assert_eq!(info.alpha.to_bits(), step.alpha.to_bits(), "α at step {k}");
        let m = &state.memory;
        let dev = m
            .cbo
            .consensus
            .iter()
            .zip(&step.consensus)
            .chain(m.cbo.ensemble.as_slice().iter().zip(&step.x.concat()))
            .chain(m.memory.iter().zip(&step.y.concat()))
            .chain(state.velocity.iter().zip(&v.v.concat()))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        worst = worst.max(dev);
        assert!(
            dev <= 1e-10,
            "{}: step {k} deviates by {dev:e}",
            run.objective
        );
        assert!(
            (m.cbo.best_f - step.best_energy).abs() <= 1e-10 * (1.0 + step.best_energy.abs()),
            "best energy at step {k}: {} vs {}",
            m.cbo.best_f,
            step.best_energy
        );
    }
    worst
}

/// PSO vs CBXpy 1.0.4's `PSO` with the velocity update of Grassi–Pareschi (drift signs and
/// inertia corrected, benches/peers/pso_golden.py): Rastrigin (anisotropic, m = 0.001,
/// γ = 0.999, α ×1.05) and Ackley (isotropic, m = 0.3, γ = 0.5), 25 steps, N = 10, d = 3:
/// consensus, particles, velocities and memories agree to round-off (bound 1e-10).
#[test]
fn pso_trajectories_match_cbxpy_when_fed_the_same_noise() {
    let text = include_str!("data/pso_golden.json");
    let golden: Golden = serde_json::from_str(text).expect("golden file parses");
    let extra: PsoExtra = serde_json::from_str(text).expect("golden file parses");
    assert_eq!(golden.runs.len(), 2);
    for (run, x) in golden.runs.iter().zip(&extra.runs) {
        let run = PsoGoldenRun {
            run,
            inertia: x.inertia,
            friction: x.friction,
            pso_steps: &x.steps,
        };
        assert_eq!(run.run.steps.len(), 25);
        let worst = if run.run.objective == "rastrigin" {
            replay_pso(
                TestFunction::rastrigin(golden.d).unwrap(),
                &run,
                golden.n,
                golden.d,
            )
        } else {
            replay_pso(
                TestFunction::ackley(golden.d).unwrap(),
                &run,
                golden.n,
                golden.d,
            )
        };
        eprintln!(
            "pso {} {}: worst deviation {worst:e}",
            run.run.objective, run.run.noise_kind
        );
        assert!(worst < 1e-10);
    }
}

/// m → 0 with γ = 1 is the overdamped limit: one PSO step moves X by λ dt (v − X) +
/// λ_m dt (Y − X) + noise exactly as the velocity formula says (checked coordinate-wise
/// against an independent evaluation), and the velocity persists with weight m/(m + γ dt).
#[test]
fn pso_velocity_follows_the_semi_implicit_update() {
    let f = TestFunction::rastrigin(2).unwrap();
    let cbo = CboParams::new(1.0, 0.7, 0.05)
        .unwrap()
        .with_alpha(5.0)
        .unwrap();
    let (m, g) = (0.2, 0.6);
    let params = PsoParams::new(CboMemoryParams::new(cbo, 0.4).unwrap(), m, g).unwrap();
    let mut pso = Pso::new(&f, params).unwrap();
    let ens = uniform_ensemble(6, 2, -2.0, 2.0, 3).unwrap();
    let mut state = pso.init_state(ens, 0).unwrap();
    let xi: Vec<f64> = (0..12).map(|k| ((k as f64) * 0.7).sin()).collect();
    let zeta: Vec<f64> = (0..12).map(|k| ((k as f64) * 1.3).cos()).collect();
    for k in 0..3 {
        let before = state.clone();
        pso.step_with_noise(StepKey::new(0, k), &mut state, &xi, &zeta)
            .unwrap();
        let v = &state.memory.cbo.consensus;
        let (dt, denom) = (0.05, m + g * 0.05);
        for i in 0..6 {
            for (a, &va) in v.iter().enumerate() {
                let j = i * 2 + a;
                let x = before.memory.cbo.ensemble.as_slice()[j];
                let y = before.memory.memory[j];
                let (dc, dm) = (x - va, x - y);
                let u = (m * before.velocity[j] - dt * dc - 0.4 * dt * dm
                    + 0.7 * dt.sqrt() * xi[j] * dc
                    + 0.28 * dt.sqrt() * zeta[j] * dm)
                    / denom;
                assert!((state.velocity[j] - u).abs() <= 1e-12 * (1.0 + u.abs()));
                let xn = state.memory.cbo.ensemble.as_slice()[j];
                assert!((xn - (x + dt * u)).abs() <= 1e-12 * (1.0 + x.abs()));
            }
        }
    }
}

#[test]
fn pso_bad_input_is_a_typed_error() {
    let cbo = CboParams::new(1.0, 1.0, 0.01).unwrap();
    let mem = CboMemoryParams::new(cbo, 0.4).unwrap();
    for v in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            PsoParams::new(mem, v, 0.5),
            Err(IntegratorError::InvalidParameter {
                name: "inertia",
                ..
            })
        ));
        assert!(matches!(
            PsoParams::new(mem, 0.1, v),
            Err(IntegratorError::InvalidParameter {
                name: "friction",
                ..
            })
        ));
    }
    assert!(matches!(
        PsoParams::new(mem, 0.0, 0.0),
        Err(IntegratorError::InvalidParameter {
            name: "inertia",
            ..
        })
    ));
    let f = TestFunction::ackley(2).unwrap();
    let mut pso = Pso::new(&f, PsoParams::new(mem, 0.001, 0.999).unwrap()).unwrap();
    assert!(matches!(
        pso.init_state(uniform_ensemble(5, 3, -1.0, 1.0, 1).unwrap(), 0),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let mut state = pso
        .init_state(uniform_ensemble(5, 2, -1.0, 1.0, 1).unwrap(), 0)
        .unwrap();
    assert!(matches!(
        pso.step_with_noise(StepKey::new(0, 0), &mut state, &[0.0; 10], &[0.0; 9]),
        Err(IntegratorError::IncompatibleState(_))
    ));
    state.velocity.pop();
    assert!(matches!(
        pso.check_state(&state),
        Err(IntegratorError::IncompatibleState(_))
    ));
}
