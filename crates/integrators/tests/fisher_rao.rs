//! Invariants of the kernelised Fisher–Rao flow (`docs/fisher-rao.md`): Σ W = 1 to 1e-12
//! and W ≥ 0 after any number of steps, a centred rate (|Σ W a| ≤ 1e-12), permutation
//! equivariance, thread-count invariance, the exact density-ratio oracle, typed errors,
//! systematic resampling and the Wasserstein–Fisher–Rao transport.

use meanfield_energy::{LinearPotential, MeanInteraction};
use meanfield_integrators::{
    Checkpoint, Dynamics, FisherRao, FisherRaoParams, GaussianReference, IntegratorError,
    Kernelisation, PositivityGuard, Runner, StepKey, WeightStep,
};
use meanfield_measures::{Domain, Ensemble, Kernel, KernelShape, NoiseStreams, Parallelism};
use proptest::prelude::*;

fn sample(n: usize, d: usize, seed: u64) -> Ensemble {
    let s = NoiseStreams::new(seed, 5);
    Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .unwrap()
}

/// The parameters of [`flow`]: π = N(0, I), σ = 0.7, the given kernelisation and step.
fn flow_params(
    d: usize,
    kern: Kernelisation,
    shape: KernelShape,
    eps: f64,
    h: f64,
) -> FisherRaoParams {
    FisherRaoParams::new(GaussianReference::standard(d).unwrap(), 0.7, h)
        .unwrap()
        .with_kernelisation(kern, Kernel::new(shape, eps, d).unwrap())
}

/// The mean interaction of [`flow`] in dimension d.
fn mean_interaction(d: usize) -> MeanInteraction {
    MeanInteraction::new(1.5, (0..d).map(|k| 1.0 - k as f64).collect()).unwrap()
}

/// The flow of the mean interaction with the given parameters.
fn build(d: usize, params: FisherRaoParams) -> FisherRao<MeanInteraction> {
    FisherRao::new(mean_interaction(d), params).unwrap()
}

fn flow(
    d: usize,
    kern: Kernelisation,
    shape: KernelShape,
    eps: f64,
    h: f64,
) -> FisherRao<MeanInteraction> {
    build(d, flow_params(d, kern, shape, eps, h))
}

/// Step `k` of a run with seed 0 (the plain flow draws no random numbers).
fn key(k: u64) -> StepKey {
    StepKey::new(0, k)
}

fn kernelisation() -> impl Strategy<Value = Kernelisation> {
    prop::sample::select(Kernelisation::ALL.to_vec())
}

fn shape() -> impl Strategy<Value = KernelShape> {
    prop::sample::select(vec![KernelShape::Gaussian, KernelShape::Bump])
}

fn total(ens: &Ensemble) -> f64 {
    meanfield_measures::compensated::compensated_sum(ens.weights().unwrap().as_slice())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Σ W = 1 to 1e-12 and W ≥ 0 after any number of Euler (shrink-guarded) or
    /// exponentiated steps, and the rate is centred: |Σ W a| ≤ 1e-12.
    #[test]
    fn weights_stay_normalised_and_rate_centred(
        n in 2usize..120, d in 1usize..3, steps in 1u64..25, seed in any::<u64>(),
        kern in kernelisation(), shape in shape(), eps in 0.2f64..1.0, h in 0.01f64..2.0,
        euler in any::<bool>(),
    ) {
        let mut params = flow_params(d, kern, shape, eps, h);
        if euler {
            params = params.with_step(WeightStep::Euler)
                .with_guard(PositivityGuard::Shrink { safety: 0.5 }).unwrap();
        }
        let mut fr = build(d, params);
        let mut ens = sample(n, d, seed);
        for k in 0..steps {
            fr.step(key(k), &mut ens).unwrap();
            let w = ens.weights().unwrap().as_slice();
            prop_assert!(w.iter().all(|w| *w >= 0.0));
            prop_assert!((total(&ens) - 1.0).abs() <= 1e-12, "Σ W − 1 = {}", total(&ens) - 1.0);
            let mut a = vec![0.0; n];
            fr.rate_into(&ens, &mut a).unwrap();
            let centred = meanfield_measures::compensated::compensated_sum(
                &a.iter().zip(w).map(|(a, w)| a * w).collect::<Vec<_>>());
            prop_assert!(centred.abs() <= 1e-12, "Σ W a = {centred}");
        }
    }

    /// Permuting the particles (positions and weights) permutes the rate and the new
    /// weights (to rounding: neighbour sums run in another order).
    #[test]
    fn permutation_equivariance(
        n in 2usize..80, d in 1usize..3, seed in any::<u64>(), rot in 1usize..80,
        kern in kernelisation(), shape in shape(), eps in 0.2f64..1.0,
    ) {
        let rot = rot % n;
        let mut fr = flow(d, kern, shape, eps, 0.3);
        let mut ens = sample(n, d, seed);
        fr.step(key(0), &mut ens).unwrap(); // non-uniform weights
        let perm: Vec<usize> = (0..n).map(|i| (i * 7 + rot) % n).collect();
        let perm: Vec<usize> = if is_perm(&perm) { perm } else { (0..n).map(|i| (i + rot) % n).collect() };
        let mut permuted = Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
            row.copy_from_slice(ens.particle(perm[i]))
        }).unwrap();
        let w = ens.weights().unwrap().as_slice();
        permuted.set_weights(meanfield_measures::Weights::from_unnormalised(
            perm.iter().map(|&j| w[j]).collect()).unwrap()).unwrap();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        fr.rate_into(&ens, &mut a).unwrap();
        fr.rate_into(&permuted, &mut b).unwrap();
        for i in 0..n {
            prop_assert!((b[i] - a[perm[i]]).abs() <= 1e-10 * (1.0 + a[perm[i]].abs()));
        }
        fr.step(key(1), &mut ens).unwrap();
        fr.step(key(1), &mut permuted).unwrap();
        let (wa, wb) = (ens.weights().unwrap().as_slice(), permuted.weights().unwrap().as_slice());
        for i in 0..n {
            prop_assert!((wb[i] - wa[perm[i]]).abs() <= 1e-12 + 1e-10 * wa[perm[i]]);
        }
    }
}

fn is_perm(p: &[usize]) -> bool {
    let mut s = p.to_vec();
    s.sort_unstable();
    s.iter().enumerate().all(|(i, v)| i == *v)
}

/// The same run sequentially and on a 3-thread rayon pool: the same bits, for every
/// kernelisation, with resampling and transport (Wasserstein–Fisher–Rao) switched on.
#[test]
fn thread_count_invariance() {
    for kern in Kernelisation::ALL {
        let run = |par: Parallelism| {
            let mut params = flow_params(2, kern, KernelShape::Bump, 0.5, 0.4);
            if kern.uses_kernel() {
                params = params.with_resampling(0.5).unwrap().with_transport();
            }
            let mut fr = build(2, params).with_parallelism(par);
            let mut ckpt = Checkpoint::start(&fr, sample(700, 2, 11), 3).unwrap();
            Runner::new(12).run(&mut fr, &mut ckpt).unwrap();
            let s = ckpt.state;
            let mut bits: Vec<u64> = s.as_slice().iter().map(|v| v.to_bits()).collect();
            bits.extend(s.weights().unwrap().as_slice().iter().map(|v| v.to_bits()));
            bits
        };
        let seq = run(Parallelism::Sequential);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let par = pool.install(|| run(Parallelism::Rayon));
        assert_eq!(seq, par, "{kern:?}");
    }
}

/// Density ratio with the exponentiated step on linear F: log W_k = (1 − hσ) log W_{k−1}
/// − h c·x + const, so W_k ∝ exp(−s_k c·x/σ) with s_k = 1 − (1 − hσ)^k exactly.
#[test]
fn density_ratio_exponentiated_step_is_the_exact_discrete_flow() {
    let (sigma, h, k) = (0.8, 0.25, 9);
    let c = vec![1.0, -0.5];
    let f = LinearPotential::new(c.clone()).unwrap();
    let mut fr = FisherRao::new(
        f,
        FisherRaoParams::new(GaussianReference::standard(2).unwrap(), sigma, h)
            .unwrap()
            .with_kernelisation(
                Kernelisation::DensityRatio,
                Kernel::gaussian(1.0, 2).unwrap(),
            ),
    )
    .unwrap();
    let mut ens = sample(500, 2, 3);
    for s in 0..k {
        fr.step(key(s), &mut ens).unwrap();
    }
    let sk = 1.0 - (1.0 - h * sigma).powi(k as i32);
    let logw: Vec<f64> = ens
        .rows()
        .map(|x| -sk * (c[0] * x[0] + c[1] * x[1]) / sigma)
        .collect();
    let want = meanfield_measures::Weights::from_log_weights(&logw).unwrap();
    for (a, b) in ens
        .weights()
        .unwrap()
        .as_slice()
        .iter()
        .zip(want.as_slice())
    {
        assert!((a - b).abs() <= 1e-12 * b.max(1e-300) + 1e-15, "{a} vs {b}");
    }
}

/// Checkpoint after k steps, resume: the same bits as one run.
#[test]
fn checkpoint_resume_is_bit_identical() {
    let mk = || {
        build(
            1,
            flow_params(
                1,
                Kernelisation::SmoothedKl,
                KernelShape::Gaussian,
                0.4,
                0.3,
            )
            .with_resampling(0.7)
            .unwrap(),
        )
    };
    let mut fr = mk();
    let mut whole = Checkpoint::start(&fr, sample(300, 1, 2), 1).unwrap();
    let summary = Runner::new(20).run(&mut fr, &mut whole).unwrap();
    assert!(summary.last_info.is_some());
    let mut fr = mk();
    let mut part = Checkpoint::start(&fr, sample(300, 1, 2), 1).unwrap();
    Runner::new(8).run(&mut fr, &mut part).unwrap();
    let json = part.to_json().unwrap();
    let mut part = Checkpoint::<Ensemble>::from_json(&json).unwrap();
    let mut fr = mk();
    Runner::new(20).run(&mut fr, &mut part).unwrap();
    assert_eq!(whole, part);
}

#[test]
fn euler_positivity_violation_is_a_typed_error() {
    let params = flow_params(
        1,
        Kernelisation::EvolvingMeasure,
        KernelShape::Gaussian,
        0.3,
        50.0,
    )
    .with_step(WeightStep::Euler);
    let mut fr = build(1, params.clone());
    let mut ens = sample(200, 1, 4);
    match fr.step(key(0), &mut ens) {
        Err(IntegratorError::PositivityLost {
            step: 0,
            h,
            max_rate,
        }) => {
            assert!(h * max_rate >= 1.0)
        }
        other => panic!("expected PositivityLost, got {other:?}"),
    }
    // Shrinking instead takes a shorter step and keeps every weight positive.
    let mut fr = build(
        1,
        params
            .with_guard(PositivityGuard::Shrink { safety: 0.5 })
            .unwrap(),
    );
    let rep = fr.step(key(0), &mut ens).unwrap();
    assert!(rep.dt < 50.0);
    // The shrunk step is h' = safety / max a.
    assert_eq!(rep.dt, 0.5 / rep.max_rate);
    assert!(ens.weights().unwrap().as_slice().iter().all(|w| *w > 0.0));
}

#[test]
fn bad_configurations_are_typed_errors() {
    let density_ratio = flow_params(
        1,
        Kernelisation::DensityRatio,
        KernelShape::Gaussian,
        0.3,
        0.1,
    );
    assert!(matches!(
        FisherRao::new(
            mean_interaction(1),
            density_ratio.clone().with_resampling(0.5).unwrap()
        ),
        Err(IntegratorError::IncompatibleState(_))
    ));
    assert!(matches!(
        FisherRao::new(mean_interaction(1), density_ratio.with_transport()),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let params = flow_params(
        1,
        Kernelisation::EvolvingMeasure,
        KernelShape::Gaussian,
        0.3,
        0.1,
    );
    assert!(
        params
            .clone()
            .with_guard(PositivityGuard::Shrink { safety: 1.0 })
            .is_err()
    );
    assert!(params.clone().with_resampling(0.0).is_err());
    assert!(params.with_resampling(1.5).is_err());
    let f = LinearPotential::new(vec![1.0]).unwrap();
    let k = Kernel::gaussian(0.3, 1).unwrap();
    let r = GaussianReference::standard(1).unwrap();
    assert!(FisherRaoParams::new(r.clone(), 0.0, 0.1).is_err());
    assert!(FisherRaoParams::new(r.clone(), 1.0, -0.1).is_err());
    let k2 = Kernel::gaussian(0.3, 2).unwrap();
    let energy = |k: Kernel| {
        FisherRaoParams::new(r.clone(), 1.0, 0.1)
            .unwrap()
            .with_kernelisation(Kernelisation::Energy, k)
    };
    assert!(FisherRao::new(f.clone(), energy(k)).is_ok());
    assert!(FisherRao::new(f.clone(), energy(k2)).is_err());
    // The default (density-ratio) variant needs no kernel.
    assert!(FisherRao::new(f, FisherRaoParams::new(r, 1.0, 0.1).unwrap()).is_ok());
    // A wrong-dimension ensemble is refused by check_state.
    let fr = flow(2, Kernelisation::Energy, KernelShape::Bump, 0.3, 0.1);
    assert!(fr.check_state(&sample(10, 1, 1)).is_err());
}

/// A strongly tilted linear F drives the ESS below the threshold within a few steps.
fn tilted_params(kern: Kernelisation, h: f64) -> FisherRaoParams {
    FisherRaoParams::new(GaussianReference::standard(1).unwrap(), 1.0, h)
        .unwrap()
        .with_kernelisation(kern, Kernel::gaussian(0.3, 1).unwrap())
}

fn tilted_with(params: FisherRaoParams) -> FisherRao<LinearPotential> {
    FisherRao::new(LinearPotential::new(vec![2.5]).unwrap(), params).unwrap()
}

fn tilted(kern: Kernelisation, h: f64) -> FisherRao<LinearPotential> {
    tilted_with(tilted_params(kern, h))
}

/// Systematic resampling: it fires exactly when ESS < fraction · N, leaves uniform
/// weights, copies particle i either ⌊N W^i⌋ or ⌈N W^i⌉ times (the defining property of
/// systematic resampling), and is unbiased: over independent resampling seeds the mean
/// of the resampled positions matches the weighted mean before resampling within 4
/// Monte-Carlo standard errors.
#[test]
fn systematic_resampling_fires_below_the_threshold_and_is_unbiased() {
    let n = 400;
    let start = sample(n, 1, 21);
    // The weights just before the resampling decision: one plain step.
    let mut plain = start.clone();
    let mut fr = tilted(Kernelisation::EvolvingMeasure, 0.5);
    let info = fr.step(key(0), &mut plain).unwrap();
    assert!(!info.resampled);
    let w = plain.weights().unwrap().as_slice().to_vec();
    let ess = 1.0 / w.iter().map(|w| w * w).sum::<f64>();
    assert!(ess < 0.9 * n as f64 && ess > 0.1 * n as f64, "ESS {ess}");
    let pre_mean = plain.mean()[0];

    // Above the threshold: no resampling, the same bits as the plain step.
    let mut above = start.clone();
    let mut fr = tilted_with(
        tilted_params(Kernelisation::EvolvingMeasure, 0.5)
            .with_resampling(0.9 * ess / n as f64)
            .unwrap(),
    );
    let info = fr.step(StepKey::new(1, 0), &mut above).unwrap();
    assert!(!info.resampled);
    assert!(
        (info.ess - ess).abs() <= 1e-12 * ess,
        "{} vs {ess}",
        info.ess
    );
    assert_eq!(above.as_slice(), plain.as_slice());

    let reps = 200;
    let mut means = Vec::with_capacity(reps);
    for seed in 0..reps as u64 {
        let mut ens = start.clone();
        let mut fr = tilted_with(
            tilted_params(Kernelisation::EvolvingMeasure, 0.5)
                .with_resampling(0.9)
                .unwrap(),
        );
        let info = fr.step(StepKey::new(seed, 0), &mut ens).unwrap();
        assert!(info.resampled);
        assert_eq!(info.ess, n as f64);
        let u = ens.weights().unwrap().as_slice();
        assert!(u.iter().all(|&v| v == u[0]), "weights not uniform");
        // Copies of each original particle (positions are distinct floats).
        for (i, x) in plain.rows().enumerate() {
            let copies = ens.rows().filter(|y| y[0] == x[0]).count() as f64;
            let nw = n as f64 * w[i];
            assert!(
                copies >= nw.floor() - 1e-9 && copies <= nw.ceil() + 1e-9,
                "particle {i}: {copies} copies for N W = {nw}"
            );
        }
        means.push(ens.mean()[0]);
    }
    let m = means.iter().sum::<f64>() / reps as f64;
    let var = means.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (reps - 1) as f64;
    let se = (var / reps as f64).sqrt();
    assert!(se > 0.0);
    assert!(
        (m - pre_mean).abs() <= 4.0 * se,
        "resampled mean {m} vs weighted mean {pre_mean} (se {se})"
    );
}

/// Wasserstein–Fisher–Rao on linear F with a target far from π (mean −2.5): positions
/// move towards the target, so after t = 6 the weighted mean is at the minimiser's mean
/// −c/σ (exact for variant (1); the exact FR path of the density ratio is at −2.494)
/// within 0.05. The
/// pure Fisher–Rao flow on the same 1000 π-particles degenerates (weight degeneracy: few
/// particles where the target lives), misses the mean by more than 0.3, and keeps less
/// than a tenth of WFR's ESS.
#[test]
fn wasserstein_fisher_rao_reaches_a_far_target_and_keeps_the_ess() {
    let n = 1000;
    let (h, steps) = (0.05, 120);
    let run = |transport: bool| {
        let mut params = tilted_params(Kernelisation::EvolvingMeasure, h);
        if transport {
            params = params.with_transport();
        }
        let mut fr = tilted_with(params);
        let mut ckpt = Checkpoint::start(&fr, sample(n, 1, 5), 7).unwrap();
        Runner::new(steps).run(&mut fr, &mut ckpt).unwrap();
        let w = ckpt.state.weights().unwrap().as_slice().to_vec();
        let ess = 1.0 / w.iter().map(|w| w * w).sum::<f64>();
        (ckpt.state.mean()[0], ess / n as f64)
    };
    let (wfr_mean, wfr_ess) = run(true);
    let (fr_mean, fr_ess) = run(false);
    // Measured (start seed 5, run seed 7): WFR −2.476 with ESS/N 0.42; FR −2.077 with
    // ESS/N 0.031.
    assert!((wfr_mean + 2.5).abs() < 0.05, "WFR mean {wfr_mean}");
    assert!((fr_mean + 2.5).abs() > 0.3, "FR mean {fr_mean}");
    assert!(wfr_ess > 10.0 * fr_ess, "ESS/N: WFR {wfr_ess}, FR {fr_ess}");
}
