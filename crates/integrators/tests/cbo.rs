//! CBO: consensus point (log space vs direct, invariance to f + c, huge α), golden values
//! against CBXpy 1.0.4 fed the same random numbers, determinism across thread counts,
//! stopping rules, mini-batches and typed errors.

use meanfield_energy::{Objective, TestFunction};
use meanfield_integrators::cbo::{
    Batch, Cbo, CboNoise, CboParams, CboState, Stagnation, StoppingRule, consensus,
    effective_sample_size, run_replicas, uniform_ensemble,
};
use meanfield_integrators::{
    AlphaSchedule, Checkpoint, Dynamics, IntegratorError, Runner, StepKey, StopReason,
};
use meanfield_measures::{Domain, Ensemble, Parallelism};
use proptest::prelude::*;

/// Σ x exp(−α f) / Σ exp(−α f) without any shift.
fn direct_consensus(xs: &[f64], d: usize, f: &[f64], alpha: f64) -> Vec<f64> {
    let mut num = vec![0.0; d];
    let mut den = 0.0;
    for (row, &fi) in xs.chunks_exact(d).zip(f) {
        let w = (-alpha * fi).exp();
        den += w;
        for (n, x) in num.iter_mut().zip(row) {
            *n += w * x;
        }
    }
    num.iter().map(|n| n / den).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn consensus_matches_direct_and_ignores_constant_shifts(
        xs in prop::collection::vec(-5.0f64..5.0, 12),
        f in prop::collection::vec(0.0f64..10.0, 4),
        alpha in 0.0f64..30.0,
        c in -1e3f64..1e3,
    ) {
        let d = 3;
        let (v, stats) = consensus(&xs, d, &f, alpha).unwrap();
        let direct = direct_consensus(&xs, d, &f, alpha);
        for (a, b) in v.iter().zip(&direct) {
            prop_assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
        }
        prop_assert!(stats.ess >= 1.0 - 1e-12 && stats.ess <= 4.0 + 1e-12);
        let shifted: Vec<f64> = f.iter().map(|f| f + c).collect();
        let (w, _) = consensus(&xs, d, &shifted, alpha).unwrap();
        for (a, b) in v.iter().zip(&w) {
            // f + c changes the f_i − f_min only by the round-off of the addition.
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }
}

#[test]
fn consensus_is_stable_for_huge_alpha_and_values() {
    let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    // Direct weights are exp(−1e15 · 1e3): all underflow; log space keeps the minimiser.
    let f = [1e3 + 1e-9, 1e3, 1e3 + 1.0];
    let (v, stats) = consensus(&xs, 2, &f, 1e15).unwrap();
    assert_eq!(stats.argmin, 1);
    // exp(−1e15 · 1e-9) = exp(−1e6) = 0: all weight on particle 1.
    assert_eq!(v, vec![3.0, 4.0]);
    assert!(direct_consensus(&xs, 2, &f, 1e15)[0].is_nan());
    // Huge negative values: direct overflows, log space does not.
    let g = [-1e300, -1e300, 0.0];
    let (v, _) = consensus(&xs, 2, &g, 1e15).unwrap();
    assert_eq!(v, vec![2.0, 3.0]);
    // +∞ is allowed (weight 0); NaN and an all-+∞ batch are errors.
    let (v, _) = consensus(&xs, 2, &[f64::INFINITY, 0.0, 0.0], 1.0).unwrap();
    assert_eq!(v, vec![4.0, 5.0]);
    assert!(consensus(&xs, 2, &[f64::NAN, 0.0, 0.0], 1.0).is_err());
    assert!(consensus(&xs, 2, &[f64::INFINITY; 3], 1.0).is_err());
    assert!(consensus(&xs, 2, &[0.0; 3], f64::NAN).is_err());
    assert!(consensus(&xs, 2, &[0.0; 3], -1.0).is_err());
}

#[test]
fn ess_schedule_hits_its_target() {
    let f: Vec<f64> = (0..100)
        .map(|i| (i as f64 * 0.37).sin().abs() * 3.0)
        .collect();
    let sched = AlphaSchedule::EffectiveSampleSize {
        eta: 0.5,
        min: 1e-5,
        max: 1e5,
    };
    let alpha = sched.next(1.0, &f).unwrap();
    let j = effective_sample_size(&f, alpha).unwrap();
    assert!((j - 50.0).abs() < 1e-3, "J = {j} at α = {alpha}");
    let mult = AlphaSchedule::cbxpy_default();
    assert_eq!(mult.next(99_999.0, &f).unwrap(), 1e5);
}

// ----- golden values vs CBXpy 1.0.4 (benches/peers/cbo_golden.py) -----

#[derive(serde::Deserialize)]
struct Golden {
    n: usize,
    d: usize,
    runs: Vec<GoldenRun>,
}

#[derive(serde::Deserialize)]
struct GoldenRun {
    noise_kind: String,
    sigma: f64,
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
    consensus: Vec<f64>,
    x: Vec<Vec<f64>>,
    best_energy: f64,
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-11 * (scale + b.abs())
}

#[test]
fn trajectories_match_cbxpy_when_fed_the_same_noise() {
    let golden: Golden =
        serde_json::from_str(include_str!("data/cbo_golden.json")).expect("golden file parses");
    let (n, d) = (golden.n, golden.d);
    for run in &golden.runs {
        let params = CboParams::new(run.lambda, run.sigma, run.dt)
            .unwrap()
            .with_alpha(run.alpha0)
            .unwrap()
            .with_schedule(AlphaSchedule::Multiplicative {
                factor: run.factor,
                max: run.alpha_max,
            })
            .unwrap()
            .with_noise(if run.noise_kind == "anisotropic" {
                CboNoise::Anisotropic
            } else {
                CboNoise::Isotropic
            })
            .with_batch(None)
            .unwrap();
        let x0: Vec<f64> = run.x0.concat();
        let ens = Ensemble::new(n, d, x0, Domain::Euclidean).unwrap();
        let mut cbo = Cbo::new(TestFunction::rastrigin(d).unwrap(), params).unwrap();
        let mut state = cbo.init_state(ens, 0).unwrap();
        cbo.check_state(&state).unwrap();
        let mut worst: f64 = 0.0;
        for (k, (step, noise)) in run.steps.iter().zip(&run.noise).enumerate() {
            let info = cbo
                .step_with_noise(StepKey::new(0, k as u64), &mut state, &noise.concat())
                .unwrap();
            assert!(close(info.alpha, step.alpha, 0.0), "α at step {k}");
            for (a, b) in state.consensus.iter().zip(&step.consensus) {
                assert!(
                    close(*a, *b, 1.0),
                    "{}: consensus at step {k}: {a} vs {b}",
                    run.noise_kind
                );
                worst = worst.max((a - b).abs());
            }
            for (a, b) in state.ensemble.as_slice().iter().zip(step.x.concat()) {
                assert!(
                    close(*a, b, 1.0),
                    "{}: particles at step {k}: {a} vs {b}",
                    run.noise_kind
                );
                worst = worst.max((a - b).abs());
            }
            assert!(
                close(state.best_f, step.best_energy, 1.0),
                "best energy at step {k}"
            );
        }
        // Round-off only: the whole trajectory agrees far below 1e-11.
        assert!(
            worst < 1e-11,
            "{}: worst deviation {worst:e}",
            run.noise_kind
        );
    }
}

// ----- determinism, runs, stopping rules -----

/// The benchmark's settings with σ (and the noise shape) replaced.
fn benchmark_with(sigma: f64, dt: f64, noise: CboNoise) -> CboParams {
    let b = CboParams::anisotropic_benchmark();
    CboParams::new(b.lambda(), sigma, dt)
        .unwrap()
        .with_alpha(b.alpha())
        .unwrap()
        .with_schedule(b.schedule())
        .unwrap()
        .with_noise(noise)
        .with_batch(b.batch())
        .unwrap()
}

fn small_params(noise: CboNoise) -> CboParams {
    let sigma = if noise == CboNoise::Anisotropic {
        10.1
    } else {
        0.8
    };
    benchmark_with(sigma, CboParams::anisotropic_benchmark().dt(), noise)
}

/// A fresh run of `cbo` with seed `seed` from `ensemble`.
fn start<O: Objective>(cbo: &Cbo<O>, ensemble: Ensemble, seed: u64) -> Checkpoint<CboState> {
    Checkpoint::start(cbo, ensemble, seed).unwrap()
}

#[test]
fn identical_bits_for_any_thread_count() {
    let f = TestFunction::rastrigin(8).unwrap();
    let run = |threads: usize, par: Parallelism| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            // Large enough (N = 600) that the rayon particle loops really split.
            let p = small_params(CboNoise::Anisotropic);
            let mut cbo = Cbo::new(&f, p).unwrap().with_parallelism(par);
            let mut s = start(&cbo, uniform_ensemble(600, 8, -3.0, 3.0, 5).unwrap(), 5);
            cbo.run(&mut s, &StoppingRule::max_steps(30)).unwrap();
            let many = run_replicas(
                &f,
                &small_params(CboNoise::Isotropic),
                6,
                9,
                |r| uniform_ensemble(40, 8, -3.0, 3.0, 100 + r as u64),
                &StoppingRule::max_steps(50),
                par,
            )
            .unwrap();
            (s, many)
        })
    };
    let (s1, m1) = run(1, Parallelism::Sequential);
    let (s2, m2) = run(1, Parallelism::Rayon);
    let (s4, m4) = run(4, Parallelism::Rayon);
    assert_eq!(s1, s2);
    assert_eq!(s1, s4);
    assert_eq!(m1, m2);
    assert_eq!(m1, m4);
}

#[test]
fn anisotropic_cbo_finds_the_shifted_rastrigin_minimiser() {
    // Fixed seeds, 10 runs of a reduced protocol (d = 10, N = 50, 2000 steps). CBXpy's
    // anisotropic success at d = 20 is 100%; at d = 10 it is at least as easy, so all
    // ten runs must succeed.
    let shift: Vec<f64> = (0..10).map(|i| 0.5 * ((i % 3) as f64 - 1.0)).collect();
    let f = TestFunction::rastrigin(10).unwrap().shifted(shift).unwrap();
    let x_star = f.minimiser().unwrap();
    let out = run_replicas(
        &f,
        &CboParams::anisotropic_benchmark(),
        10,
        11,
        |r| uniform_ensemble(50, 10, -3.0, 3.0, 1000 + r as u64),
        &StoppingRule::max_steps(2000),
        Parallelism::Rayon,
    )
    .unwrap();
    for (r, o) in out.iter().enumerate() {
        assert!(o.sup_distance(&x_star).unwrap() < 0.25, "run {r}: {o:?}");
        assert!(o.best_f <= f.value(&o.best_x) + 1e-12);
    }
}

#[test]
fn checkpoint_resume_is_bit_identical() {
    // Mini-batched, so the resumed run must also reproduce the batch permutations.
    let f = TestFunction::ackley(4).unwrap();
    let p = small_params(CboNoise::Isotropic)
        .with_batch(Some(Batch {
            size: 7,
            partial: false,
        }))
        .unwrap();
    let ensemble = || uniform_ensemble(20, 4, -3.0, 3.0, 12).unwrap();
    for split in [0u64, 1, 17] {
        let mut whole_dyn = Cbo::new(&f, p).unwrap();
        let mut whole = start(&whole_dyn, ensemble(), 12);
        Runner::new(40).run(&mut whole_dyn, &mut whole).unwrap();

        let mut first_dyn = Cbo::new(&f, p).unwrap();
        let mut first = start(&first_dyn, ensemble(), 12);
        Runner::new(split).run(&mut first_dyn, &mut first).unwrap();
        let json = first.to_json().unwrap();
        let mut resumed: Checkpoint<CboState> = Checkpoint::from_json(&json).unwrap();
        let mut resumed_dyn = Cbo::new(&f, p).unwrap();
        Runner::new(40).run(&mut resumed_dyn, &mut resumed).unwrap();
        assert_eq!(resumed.state, whole.state, "split at {split}");
    }
}

#[test]
fn stopping_rules_fire() {
    let f = TestFunction::ackley(4).unwrap();
    let p = small_params(CboNoise::Anisotropic);
    let mut cbo = Cbo::new(&f, p).unwrap();
    let mut s = start(&cbo, uniform_ensemble(30, 4, -3.0, 3.0, 3).unwrap(), 3);
    let o = cbo
        .run(
            &mut s,
            &StoppingRule {
                max_steps: 100_000,
                energy_tol: Some(1e-3),
                stagnation: None,
            },
        )
        .unwrap();
    assert_eq!(o.reason, StopReason::EnergyTolerance);
    assert!(o.steps < 100_000 && o.best_f < 1e-3);
    assert!(s.state.f_min < 1e-3 && o.steps == s.step);

    let mut cbo = Cbo::new(&f, p).unwrap();
    let mut s = start(&cbo, uniform_ensemble(30, 4, -3.0, 3.0, 3).unwrap(), 3);
    let o = cbo
        .run(
            &mut s,
            &StoppingRule {
                max_steps: 100_000,
                energy_tol: None,
                stagnation: Some(Stagnation {
                    tol: 1e-5,
                    patience: 10,
                }),
            },
        )
        .unwrap();
    assert_eq!(o.reason, StopReason::Stagnation);
    assert!(s.state.consensus_change < 1e-5 && o.steps < 100_000);
}

#[test]
fn mini_batches_move_only_the_batch_and_still_converge() {
    let f = TestFunction::ackley(5).unwrap();
    let p = small_params(CboNoise::Anisotropic)
        .with_batch(Some(Batch {
            size: 10,
            partial: true,
        }))
        .unwrap();
    let mut cbo = Cbo::new(&f, p).unwrap();
    let mut s = start(&cbo, uniform_ensemble(40, 5, -3.0, 3.0, 4).unwrap(), 4);
    let before = s.state.ensemble.clone();
    let first = Runner::new(1).run(&mut cbo, &mut s).unwrap();
    assert_eq!(first.steps_taken, 1);
    let moved = before
        .rows()
        .zip(s.state.ensemble.rows())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(moved, 10);
    assert_eq!(s.state.evaluations, 10);
    let o = cbo.run(&mut s, &StoppingRule::max_steps(6000)).unwrap();
    assert!(o.sup_distance(&[0.0; 5]).unwrap() < 0.25, "{o:?}");
}

#[test]
fn bad_input_is_a_typed_error() {
    let f = TestFunction::rastrigin(3).unwrap();
    assert!(matches!(
        CboParams::new(1.0, 10.1, -1.0),
        Err(IntegratorError::InvalidParameter { name: "dt", .. })
    ));
    assert!(matches!(
        CboParams::new(-1.0, 10.1, 0.01),
        Err(IntegratorError::InvalidParameter { name: "lambda", .. })
    ));
    assert!(CboParams::anisotropic_benchmark().with_alpha(-1.0).is_err());
    assert!(
        CboParams::anisotropic_benchmark()
            .with_batch(Some(Batch {
                size: 0,
                partial: true
            }))
            .is_err()
    );
    assert!(
        CboParams::anisotropic_benchmark()
            .with_schedule(AlphaSchedule::Multiplicative {
                factor: 0.0,
                max: 1.0
            })
            .is_err()
    );
    let mut cbo = Cbo::new(&f, CboParams::anisotropic_benchmark()).unwrap();
    assert!(matches!(
        Checkpoint::start(&cbo, uniform_ensemble(5, 4, -1.0, 1.0, 0).unwrap(), 0),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let mut s = start(&cbo, uniform_ensemble(5, 3, -1.0, 1.0, 0).unwrap(), 0);
    assert!(
        cbo.step_with_noise(StepKey::new(0, 0), &mut s.state, &[0.0; 4])
            .is_err()
    );
    // Zero steps leave no consensus point: the success distance is an error, not 0.
    let none = cbo.run(&mut s, &StoppingRule::max_steps(0)).unwrap();
    assert!(none.consensus.is_empty());
    let err = none.sup_distance(&[0.0; 3]).unwrap_err().to_string();
    assert!(err.contains("no consensus point"), "{err}");
    let one = cbo.run(&mut s, &StoppingRule::max_steps(1)).unwrap();
    assert!(one.sup_distance(&[0.0; 3]).is_ok());
    let err = one.sup_distance(&[0.0; 2]).unwrap_err().to_string();
    assert!(err.contains("x* has 2 coordinates"), "{err}");
}

#[test]
fn divergence_names_the_step() {
    // An objective that turns NaN far out, pushed there by a huge σ.
    struct Blows;
    impl Objective for Blows {
        fn dim(&self) -> usize {
            2
        }
        fn value(&self, x: &[f64]) -> f64 {
            if x[0].abs() > 1e6 {
                f64::NAN
            } else {
                x[0] * x[0]
            }
        }
    }
    let p = benchmark_with(1e4, 1.0, CboNoise::Anisotropic);
    let mut cbo = Cbo::new(Blows, p).unwrap();
    let mut s = start(&cbo, uniform_ensemble(10, 2, -1.0, 1.0, 1).unwrap(), 1);
    let err = cbo.run(&mut s, &StoppingRule::max_steps(100)).unwrap_err();
    assert!(
        matches!(err, IntegratorError::Diverged { step, .. } if step > 1),
        "{err}"
    );
}

/// Rastrigin that counts its stacked calls and records how many runs each call held.
struct CountingRastrigin {
    f: TestFunction,
    calls: std::sync::Mutex<Vec<usize>>,
}

impl Objective for CountingRastrigin {
    fn dim(&self) -> usize {
        self.f.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.f.value(x)
    }
    fn values(&self, xs: &[f64], out: &mut [f64]) {
        self.f.values(xs, out)
    }
    fn values_stacked(&self, xs: &[f64], runs: usize, out: &mut [f64]) {
        self.calls.lock().unwrap().push(runs);
        self.f.values(xs, out)
    }
}

/// The lockstep path (one stacked objective call per step for all runs still going) gives
/// the outcomes of the independent `run_replicas` runs bit for bit, with and without
/// mini-batches and with the energy-tolerance and stagnation stops (runs that stop leave
/// the stack).
#[test]
fn lockstep_runs_are_the_independent_runs() {
    use meanfield_integrators::cbo::run_replicas_lockstep;
    let (n, d, m) = (20, 4, 5);
    let f = TestFunction::rastrigin(d).unwrap();
    let init = |r: usize| uniform_ensemble(n, d, -3.0, 3.0, 100 + r as u64);
    let rules = [
        StoppingRule::max_steps(60),
        StoppingRule {
            max_steps: 400,
            energy_tol: Some(0.5),
            stagnation: Some(Stagnation {
                tol: 1e-4,
                patience: 5,
            }),
        },
    ];
    for batch in [
        None,
        Some(Batch {
            size: 7,
            partial: true,
        }),
        Some(Batch {
            size: 5,
            partial: false,
        }),
    ] {
        let params = CboParams::new(1.0, 0.8, 0.05)
            .unwrap()
            .with_alpha(10.0)
            .unwrap()
            .with_batch(batch)
            .unwrap();
        for rule in &rules {
            let counting = CountingRastrigin {
                f: f.clone(),
                calls: Default::default(),
            };
            let a = run_replicas(&f, &params, m, 9, init, rule, Parallelism::Sequential).unwrap();
            let b = run_replicas_lockstep(&counting, &params, m, 9, init, rule).unwrap();
            assert_eq!(a, b, "batch {batch:?}, rule {rule:?}");
            let calls = counting.calls.into_inner().unwrap();
            let longest = a.iter().map(|o| o.steps).max().unwrap();
            assert_eq!(calls.len() as u64, longest, "one stacked call per step");
            assert_eq!(calls[0], m);
            for (k, &runs) in calls.iter().enumerate() {
                let going = a.iter().filter(|o| o.steps > k as u64).count();
                assert_eq!(runs, going, "step {k}");
            }
        }
    }
    // the stops differ between runs in the second rule, so runs left the stack early
    let params = CboParams::new(1.0, 0.8, 0.05)
        .unwrap()
        .with_alpha(10.0)
        .unwrap();
    let out = run_replicas_lockstep(&f, &params, m, 9, init, &rules[1]).unwrap();
    assert!(
        out.iter().any(|o| o.reason != StopReason::StepsDone),
        "{out:?}"
    );
    // a bad rule is refused before any run
    let bad = StoppingRule {
        max_steps: 5,
        energy_tol: Some(f64::NAN),
        stagnation: None,
    };
    assert!(run_replicas_lockstep(&f, &params, m, 9, init, &bad).is_err());
}
