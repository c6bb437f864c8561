//! Consensus-based sampling: golden values against CBXpy 1.0.4 fed the same normals (both
//! modes), the exact stationary moments of the exponential scheme on a Gaussian target,
//! thread-count invariance, bitwise resume and typed errors. (The generic contract checks
//! are in `tests/contract.rs::cbs`.)

use meanfield_energy::{GaussianTarget, Objective, TestFunction};
use meanfield_integrators::cbo::uniform_ensemble;
use meanfield_integrators::{
    AlphaSchedule, CboState, Cbs, CbsMode, CbsParams, CbsScheme, Checkpoint, CovarianceRoot,
    Dynamics, IntegratorError, Runner, StepKey, StoppingRule,
};
use meanfield_measures::{Domain, Ensemble, Parallelism};

// ----- golden values vs CBXpy 1.0.4 (benches/peers/cbs_golden.py) -----

#[derive(serde::Deserialize)]
struct Golden {
    n: usize,
    d: usize,
    gaussian_mean: Vec<f64>,
    gaussian_precision: Vec<f64>,
    runs: Vec<GoldenRun>,
}

#[derive(serde::Deserialize)]
struct GoldenRun {
    objective: String,
    mode: String,
    alpha: f64,
    dt: f64,
    x0: Vec<Vec<f64>>,
    noise: Vec<Vec<Vec<f64>>>,
    steps: Vec<GoldenStep>,
}

#[derive(serde::Deserialize)]
struct GoldenStep {
    consensus: Vec<f64>,
    x: Vec<Vec<f64>>,
    best_energy: f64,
}

fn replay<O: Objective>(f: O, run: &GoldenRun, n: usize, d: usize) -> f64 {
    let mode = if run.mode == "sampling" {
        CbsMode::Sampling
    } else {
        CbsMode::Optimization
    };
    let params = CbsParams::new(mode, run.dt)
        .unwrap()
        .with_alpha(run.alpha)
        .unwrap()
        .with_scheme(CbsScheme::EulerMaruyama)
        .with_root(CovarianceRoot::Symmetric);
    let ens = Ensemble::new(n, d, run.x0.concat(), Domain::Euclidean).unwrap();
    let mut cbs = Cbs::new(f, params).unwrap();
    let mut state = cbs.init_state(ens, 0).unwrap();
    cbs.check_state(&state).unwrap();
    let mut worst: f64 = 0.0;
    for (k, (step, noise)) in run.steps.iter().zip(&run.noise).enumerate() {
        let info = cbs
            .step_with_noise(StepKey::new(0, k as u64), &mut state, &noise.concat())
            .unwrap();
        assert_eq!(info.alpha, run.alpha, "constant β");
        let dev = state
            .consensus
            .iter()
            .zip(&step.consensus)
            .chain(state.ensemble.as_slice().iter().zip(&step.x.concat()))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        worst = worst.max(dev);
        assert!(
            dev <= 1e-10,
            "{} {}: step {k} deviates by {dev:e}",
            run.objective,
            run.mode
        );
        assert!(
            (state.best_f - step.best_energy).abs() <= 1e-10 * (1.0 + step.best_energy.abs()),
            "best energy at step {k}"
        );
    }
    worst
}

#[test]
fn trajectories_match_cbxpy_when_fed_the_same_noise() {
    let golden: Golden =
        serde_json::from_str(include_str!("data/cbs_golden.json")).expect("golden file parses");
    let (n, d) = (golden.n, golden.d);
    assert_eq!(golden.runs.len(), 3);
    for run in &golden.runs {
        assert_eq!(run.steps.len(), 25);
        let worst = if run.objective == "rastrigin" {
            replay(TestFunction::rastrigin(d).unwrap(), run, n, d)
        } else {
            let f = GaussianTarget::new(
                golden.gaussian_mean.clone(),
                golden.gaussian_precision.clone(),
            )
            .unwrap();
            replay(f, run, n, d)
        };
        eprintln!("{} {}: worst deviation {worst:e}", run.objective, run.mode);
        // Round-off only (summation order of the covariance and of R ξ).
        assert!(worst < 1e-10, "{} {}: {worst:e}", run.objective, run.mode);
    }
}

// ----- the exponential scheme's exact fixed point -----

/// One step of the exponential scheme on a Gaussian target from particles already at the
/// target law: the particle mean and covariance stay at the target within Monte-Carlo
/// error, for a large dt (dt = 2, e^{−dt} = 0.135) where the Euler scheme would be far off.
/// The tolerances are 5 Monte-Carlo standard errors of the empirical moments of N
/// independent target samples, estimated from 40 fixed-seed replicates.
#[test]
fn exponential_scheme_keeps_the_gaussian_target_for_large_dt() {
    let d = 2;
    let target = GaussianTarget::new(vec![1.0, -1.0], vec![2.0, 0.6, 0.6, 1.0]).unwrap();
    let cov = target.covariance().to_vec();
    // Cholesky factor of A⁻¹ to draw exact target samples.
    let l00 = cov[0].sqrt();
    let l10 = cov[2] / l00;
    let l11 = (cov[3] - l10 * l10).sqrt();
    let (n, reps, steps) = (4000, 40, 20);
    let p = CbsParams::new(CbsMode::Sampling, 2.0)
        .unwrap()
        .with_alpha(1.0)
        .unwrap();
    let (mut means, mut covs) = (Vec::new(), Vec::new());
    for r in 0..reps {
        let z = meanfield_measures::InitialLaw::isotropic_gaussian(d, 0.0, 1.0)
            .sample(n, 700 + r, meanfield_measures::streams::CBO_INIT)
            .unwrap();
        let xs: Vec<f64> = z
            .rows()
            .flat_map(|z| [1.0 + l00 * z[0], -1.0 + l10 * z[0] + l11 * z[1]])
            .collect();
        let ens = Ensemble::new(n, d, xs, Domain::Euclidean).unwrap();
        let mut cbs = Cbs::new(&target, p).unwrap();
        let mut c = Checkpoint::start(&cbs, ens, 900 + r).unwrap();
        Runner::new(steps).run(&mut cbs, &mut c).unwrap();
        let e = &c.state.ensemble;
        let m = meanfield_diagnostics::mean(e);
        let s = meanfield_diagnostics::covariance(e);
        means.push(m);
        covs.push(s);
    }
    let avg = |k: usize, v: &[Vec<f64>]| v.iter().map(|x| x[k]).sum::<f64>() / reps as f64;
    let sd = |k: usize, v: &[Vec<f64>]| {
        let a = avg(k, v);
        (v.iter().map(|x| (x[k] - a).powi(2)).sum::<f64>() / (reps - 1) as f64).sqrt()
    };
    for k in 0..d {
        let se = sd(k, &means) / (reps as f64).sqrt();
        let got = avg(k, &means);
        assert!(
            (got - target.mean()[k]).abs() < 5.0 * se,
            "mean[{k}] = {got} vs {} (se {se:e})",
            target.mean()[k]
        );
    }
    for (k, &want) in cov.iter().enumerate() {
        let se = sd(k, &covs) / (reps as f64).sqrt();
        let got = avg(k, &covs);
        // Finite-N bias of the self-normalised weights is O(1/N) relative: 5 se at
        // N = 4000 and 40 replicates is ≈ 1.6e-3 relative, the bias must stay below it.
        assert!(
            (got - want).abs() < 5.0 * se,
            "cov[{k}] = {got} vs {want} (se {se:e})"
        );
    }
}

// ----- determinism, resume, errors -----

fn sampler(par: Parallelism) -> Cbs<TestFunction> {
    let p = CbsParams::new(CbsMode::Sampling, 0.5)
        .unwrap()
        .with_alpha(0.5)
        .unwrap()
        .with_schedule(AlphaSchedule::EffectiveSampleSize {
            eta: 0.5,
            min: 1e-5,
            max: 1e5,
        })
        .unwrap();
    Cbs::new(TestFunction::ackley(4).unwrap(), p)
        .unwrap()
        .with_parallelism(par)
}

#[test]
fn identical_bits_for_one_and_two_threads() {
    let run = |threads: usize, par: Parallelism| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            // N = 1200 > 2 · 256 so the energy and particle loops really split.
            let mut cbs = sampler(par);
            let mut c =
                Checkpoint::start(&cbs, uniform_ensemble(1200, 4, -3.0, 3.0, 5).unwrap(), 5)
                    .unwrap();
            cbs.run(&mut c, &StoppingRule::max_steps(15)).unwrap();
            c
        })
    };
    let a = run(1, Parallelism::Sequential);
    let b = run(1, Parallelism::Rayon);
    let c = run(2, Parallelism::Rayon);
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a.to_json().unwrap(), c.to_json().unwrap());
}

#[test]
fn checkpoint_resume_is_bit_identical() {
    let ensemble = || uniform_ensemble(50, 4, -3.0, 3.0, 12).unwrap();
    for split in [0u64, 1, 9] {
        let mut whole_dyn = sampler(Parallelism::Sequential);
        let mut whole = Checkpoint::start(&whole_dyn, ensemble(), 12).unwrap();
        Runner::new(20).run(&mut whole_dyn, &mut whole).unwrap();

        let mut first_dyn = sampler(Parallelism::Sequential);
        let mut first = Checkpoint::start(&first_dyn, ensemble(), 12).unwrap();
        Runner::new(split).run(&mut first_dyn, &mut first).unwrap();
        let mut resumed: Checkpoint<CboState> =
            Checkpoint::from_json(&first.to_json().unwrap()).unwrap();
        let mut resumed_dyn = sampler(Parallelism::Sequential);
        Runner::new(20).run(&mut resumed_dyn, &mut resumed).unwrap();
        assert_eq!(resumed, whole, "split at {split}");
    }
}

#[test]
fn optimisation_mode_finds_the_minimiser() {
    // CBS in optimisation mode with a growing β contracts onto the minimiser of a shifted
    // Ackley function (d = 4, 10 fixed-seed runs).
    let shift = vec![0.5, -0.5, 0.25, 1.0];
    let f = TestFunction::ackley(4)
        .unwrap()
        .shifted(shift.clone())
        .unwrap();
    let p = CbsParams::new(CbsMode::Optimization, 0.1)
        .unwrap()
        .with_alpha(1.0)
        .unwrap()
        .with_schedule(AlphaSchedule::Multiplicative {
            factor: 1.05,
            max: 1e3,
        })
        .unwrap()
        .with_root(CovarianceRoot::Symmetric);
    for r in 0..10 {
        let mut cbs = Cbs::new(&f, p).unwrap();
        let mut c =
            Checkpoint::start(&cbs, uniform_ensemble(200, 4, -3.0, 3.0, r).unwrap(), r).unwrap();
        let o = cbs.run(&mut c, &StoppingRule::max_steps(300)).unwrap();
        assert!(o.sup_distance(&shift).unwrap() < 0.1, "run {r}: {o:?}");
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        CbsParams::new(CbsMode::Sampling, 0.0),
        Err(IntegratorError::InvalidParameter { name: "dt", .. })
    ));
    assert!(matches!(
        CbsParams::new(CbsMode::Sampling, f64::NAN),
        Err(IntegratorError::InvalidParameter { name: "dt", .. })
    ));
    let p = CbsParams::new(CbsMode::Sampling, 0.1).unwrap();
    assert!(matches!(
        p.with_alpha(-1.0),
        Err(IntegratorError::InvalidParameter { name: "alpha", .. })
    ));
    assert!(
        p.with_schedule(AlphaSchedule::EffectiveSampleSize {
            eta: 2.0,
            min: 1e-5,
            max: 1e5
        })
        .is_err()
    );
    let f = TestFunction::rastrigin(3).unwrap();
    let cbs = Cbs::new(&f, p).unwrap();
    // Dimension mismatch; too few particles for a Cholesky root (N ≤ d).
    assert!(matches!(
        Checkpoint::start(&cbs, uniform_ensemble(10, 4, -1.0, 1.0, 0).unwrap(), 0),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let err =
        Checkpoint::start(&cbs, uniform_ensemble(3, 3, -1.0, 1.0, 0).unwrap(), 0).unwrap_err();
    assert!(err.to_string().contains("N ≥ d + 1"), "{err}");
    // The symmetric root accepts N ≤ d (C_β singular, its root is still defined).
    let sym = Cbs::new(&f, p.with_root(CovarianceRoot::Symmetric)).unwrap();
    let mut c = Checkpoint::start(&sym, uniform_ensemble(3, 3, -1.0, 1.0, 0).unwrap(), 0).unwrap();
    let mut sym = sym;
    Runner::new(3).run(&mut sym, &mut c).unwrap();
    // Wrong noise length.
    let mut cbs = Cbs::new(&f, p).unwrap();
    let mut c = Checkpoint::start(&cbs, uniform_ensemble(8, 3, -1.0, 1.0, 0).unwrap(), 0).unwrap();
    assert!(
        cbs.step_with_noise(StepKey::new(0, 0), &mut c.state, &[0.0; 5])
            .is_err()
    );
}

#[test]
fn collapsed_weights_are_a_typed_error_not_a_nan() {
    // β = 1e6 on a spread ensemble: every weight but the best particle's underflows to 0,
    // C_β = 0 and the Cholesky factorisation must fail with the typed error at step 0.
    let f = GaussianTarget::isotropic(vec![0.0; 3], 1.0).unwrap();
    let p = CbsParams::new(CbsMode::Sampling, 0.1)
        .unwrap()
        .with_alpha(1e6)
        .unwrap();
    let mut cbs = Cbs::new(&f, p).unwrap();
    let mut c = Checkpoint::start(&cbs, uniform_ensemble(20, 3, -3.0, 3.0, 1).unwrap(), 1).unwrap();
    let before = c.clone();
    let err = Runner::new(5).run(&mut cbs, &mut c).unwrap_err();
    assert!(
        matches!(
            err,
            IntegratorError::CovarianceNotPositiveDefinite { step: 0, .. }
        ),
        "{err}"
    );
    // Refused before the move: the particles are untouched and finite.
    assert_eq!(c.state.ensemble, before.state.ensemble);
}
