//! Projected MFLD, the paper's mirror MFLD and the Metropolis-adjusted mirror MFLD:
//!
//! - MMFLD with the identity map is MFLD bit for bit (Gaussian oracle);
//! - mirror iterates (paper and adjusted) stay in the *open* simplex / box for any step
//!   size, temperature and drift (proptest); projected iterates stay in the closed one;
//! - the frozen first variations agree with the ensemble-level ones bit for bit;
//! - results do not depend on the thread count;
//! - statistics on Δ³ (λ = 0.1, q = centroid): the adjusted scheme samples the exact
//!   proximal Gibbs measure (uniform, or Dirichlet(1 + β/λ) with the barrier), with the
//!   exact boundary mass, while the paper's scheme at the same η piles particles up on
//!   the faces; on the Gaussian oracle the adjusted (MALA) scheme has no O(η) variance
//!   bias while MFLD does.
//!
//! Monte-Carlo tolerances are 4–5 standard errors (binomial, KS, moments) at fixed seeds.
//! Run with `--nocapture` to see the measured numbers.

use meanfield_diagnostics::{boundary_mass, ks_test, marginal};
use meanfield_energy::{QuadraticInteraction, SimplexMoment};
use meanfield_integrators::mirror_langevin::{FrozenFirstVariation, FrozenPotential};
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, Control, Dynamics, IntegratorError, LangevinParams, Mfld,
    MirrorMfld, ProjectedMfld, Runner, StepKey,
};
use meanfield_measures::{
    BoxBounds, Domain, Ensemble, Entropic, Identity, LogBarrier, NoiseStreams, Parallelism,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rand_distr::{Distribution, Gamma};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn bits(e: &Ensemble) -> Vec<u64> {
    e.as_slice().iter().map(|v| v.to_bits()).collect()
}

/// N i.i.d. standard Gaussian particles in R^d.
fn gaussian_start(n: usize, d: usize, seed: u64) -> Ensemble {
    let s = NoiseStreams::new(seed, 99);
    Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .unwrap()
}

/// N i.i.d. Dirichlet(a, …, a) particles on Δ^{d−1} (normalised Gamma draws).
fn dirichlet_start(n: usize, d: usize, a: f64, seed: u64) -> Ensemble {
    let s = NoiseStreams::new(seed, 99);
    let gamma = Gamma::new(a, 1.0).unwrap();
    Ensemble::from_fn(n, d, Domain::Simplex, |i, row| {
        let mut rng = s.rng(0, i as u64);
        for v in row.iter_mut() {
            *v = gamma.sample(&mut rng);
        }
        let t: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= t);
    })
    .unwrap()
}

fn params(lambda: f64, eta: f64) -> LangevinParams {
    LangevinParams::new(lambda, eta).unwrap()
}

/// Runs `steps` steps with seed `seed` and returns the mean acceptance (if reported).
fn run<D: Dynamics<State = Ensemble>>(
    dy: &mut D,
    ens: Ensemble,
    steps: u64,
    seed: u64,
) -> (Ensemble, Option<f64>) {
    let mut c = Checkpoint::start(dy, ens, seed).unwrap();
    let s = Runner::new(steps).run(dy, &mut c).unwrap();
    (c.state, s.mean_acceptance)
}

/// Sample mean, variance, and the standard errors of both (the latter from the
/// empirical fourth central moment).
fn moments(xs: &[f64]) -> (f64, f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
    (mean, var, (var / n).sqrt(), ((m4 - var * var) / n).sqrt())
}

/// CDF of Beta(1, 2), the x_1-marginal of the uniform law on Δ².
fn beta_1_2_cdf(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    1.0 - (1.0 - t) * (1.0 - t)
}

/// CDF of Beta(2, 4), the x_1-marginal of Dirichlet(2, 2, 2):
/// I_t(2, 4) = 1 − (1 − t)^5 − 5 t (1 − t)^4.
fn beta_2_4_cdf(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    1.0 - (1.0 - t).powi(5) - 5.0 * t * (1.0 - t).powi(4)
}

/// Exact P(min_i x_i < ε) for the uniform law on Δ² ⊂ R³: 1 − (1 − 3ε)².
fn uniform_boundary_mass(eps: f64) -> f64 {
    1.0 - (1.0 - 3.0 * eps).powi(2)
}

// ---------------------------------------------------------------------------------------
// Exact identities
// ---------------------------------------------------------------------------------------

/// MMFLD with the identity map, and projected MFLD on R^d, are MFLD bit for bit.
#[test]
fn identity_mirror_and_unconstrained_projection_are_mfld_bit_for_bit() {
    let f = QuadraticInteraction::new(2.0, vec![1.0, -0.5, 0.25]).unwrap();
    let (p, seed) = (params(0.3, 0.05), 11);
    let start = gaussian_start(700, 3, 4);
    let (mfld, _) = run(
        &mut Mfld::new(f.clone(), p).unwrap(),
        start.clone(),
        60,
        seed,
    );
    let (mirror, _) = run(
        &mut MirrorMfld::new(f.clone(), Identity, p).unwrap(),
        start.clone(),
        60,
        seed,
    );
    let (projected, _) = run(&mut ProjectedMfld::new(f, p).unwrap(), start, 60, seed);
    assert_eq!(bits(&mirror), bits(&mfld));
    assert_eq!(bits(&projected), bits(&mfld));
}

/// The frozen potentials equal `first_variation` / `first_variation_grad` at the
/// particles, bit for bit, and are the same function elsewhere.
#[test]
fn frozen_first_variation_matches_the_functional() {
    fn check<F: FrozenFirstVariation>(f: &F, ens: &Ensemble) {
        let (n, d) = (ens.n(), ens.dim());
        let (mut v, mut g) = (vec![0.0; n], vec![0.0; n * d]);
        f.first_variation(ens, &mut v).unwrap();
        f.first_variation_grad(ens, &mut g).unwrap();
        let frozen = f.freeze(ens).unwrap();
        let mut gi = vec![0.0; d];
        for (i, x) in ens.rows().enumerate() {
            let vi = frozen.value_and_grad(x, &mut gi);
            assert_eq!(vi.to_bits(), v[i].to_bits(), "value at particle {i}");
            for k in 0..d {
                assert_eq!(gi[k].to_bits(), g[i * d + k].to_bits(), "grad {i},{k}");
            }
        }
    }
    check(
        &QuadraticInteraction::new(1.5, vec![0.3, -2.0]).unwrap(),
        &gaussian_start(50, 2, 1),
    );
    let ens = dirichlet_start(50, 4, 0.7, 2);
    check(
        &SimplexMoment::new(vec![0.1, 0.2, 0.3, 0.4], 0.0).unwrap(),
        &ens,
    );
    check(
        &SimplexMoment::new(vec![0.5, -1.0, 2.0, 0.4], 0.8).unwrap(),
        &ens,
    );
    // Shapes are checked.
    let f = QuadraticInteraction::new(1.0, vec![0.0; 3]).unwrap();
    assert!(f.freeze(&gaussian_start(3, 2, 0)).is_err());
}

/// Any thread count gives the same bits (paper, adjusted and projected schemes).
#[test]
fn thread_count_does_not_change_results() {
    let sm = SimplexMoment::new(vec![0.5, 0.3, 0.2], 0.05).unwrap();
    let (p, seed) = (params(0.1, 0.02), 9);
    let start = dirichlet_start(3_000, 3, 1.0, 3);
    let with = |threads: usize, par: Parallelism| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut paper = MirrorMfld::new(sm.clone(), Entropic, p)
                .unwrap()
                .with_parallelism(par);
            let mut adjusted = AdjustedMirrorMfld::new(sm.clone(), Entropic, p)
                .unwrap()
                .with_parallelism(par);
            let proj_f = SimplexMoment::new(vec![0.5, 0.3, 0.2], 0.0).unwrap();
            let mut projected = ProjectedMfld::new(proj_f, p).unwrap().with_parallelism(par);
            let (a, _) = run(&mut paper, start.clone(), 15, seed);
            let (b, acc) = run(&mut adjusted, start.clone(), 15, seed);
            let (c, _) = run(&mut projected, start.clone(), 15, seed);
            (bits(&a), bits(&b), acc.map(f64::to_bits), bits(&c))
        })
    };
    let seq = with(1, Parallelism::Sequential);
    assert_eq!(seq, with(1, Parallelism::Rayon));
    assert_eq!(seq, with(2, Parallelism::Rayon));
    assert_eq!(seq, with(4, Parallelism::Rayon));
}

/// Checkpoint / resume of the adjusted scheme continues the identical path.
#[test]
fn adjusted_scheme_resumes_bit_for_bit() {
    let sm = SimplexMoment::centroid(3, 0.02).unwrap();
    let (p, seed) = (params(0.1, 0.05), 5);
    let start = dirichlet_start(200, 3, 2.0, 8);
    let (whole, _) = run(
        &mut AdjustedMirrorMfld::new(sm.clone(), Entropic, p).unwrap(),
        start.clone(),
        30,
        seed,
    );
    let mut dy = AdjustedMirrorMfld::new(sm, Entropic, p).unwrap();
    let mut c = Checkpoint::start(&dy, start, seed).unwrap();
    Runner::new(12).run(&mut dy, &mut c).unwrap();
    let mut resumed: Checkpoint<Ensemble> = Checkpoint::from_json(&c.to_json().unwrap()).unwrap();
    Runner::new(30).run(&mut dy, &mut resumed).unwrap();
    assert_eq!(bits(&resumed.state), bits(&whole));
}

#[test]
fn incompatible_states_are_typed_errors() {
    let sm = SimplexMoment::centroid(3, 0.0).unwrap();
    let p = params(0.1, 0.01);
    fn incompatible<T: std::fmt::Debug>(r: Result<T, IntegratorError>) {
        assert!(
            matches!(r, Err(IntegratorError::IncompatibleState(_))),
            "{r:?}"
        );
    }
    // A particle on a face: the entropic map is infinite there.
    let face = Ensemble::new(2, 3, vec![0.2, 0.3, 0.5, 0.0, 0.5, 0.5], Domain::Simplex).unwrap();
    incompatible(
        MirrorMfld::new(sm.clone(), Entropic, p)
            .unwrap()
            .check_state(&face),
    );
    incompatible(
        AdjustedMirrorMfld::new(sm.clone(), Entropic, p)
            .unwrap()
            .check_state(&face),
    );
    incompatible(Checkpoint::start(
        &MirrorMfld::new(sm.clone(), Entropic, p).unwrap(),
        face.clone(),
        0,
    ));
    // The map's domain differs from the ensemble's.
    let flat = gaussian_start(4, 3, 0);
    let mut paper = MirrorMfld::new(sm.clone(), Entropic, p).unwrap();
    incompatible(paper.check_state(&flat));
    let mut flat_mut = flat.clone();
    incompatible(paper.step(StepKey::new(0, 0), &mut flat_mut));
    let boxed = LogBarrier::new(BoxBounds::uniform(3, 0.0, 2.0).unwrap()).unwrap();
    let other_box = Ensemble::new(
        1,
        3,
        vec![0.5; 3],
        Domain::Box(BoxBounds::uniform(3, 0.0, 1.0).unwrap()),
    )
    .unwrap();
    let q3 = QuadraticInteraction::new(1.0, vec![0.0; 3]).unwrap();
    incompatible(
        MirrorMfld::new(q3.clone(), boxed.clone(), p)
            .unwrap()
            .check_state(&other_box),
    );
    // A map whose box has another dimension than the functional.
    incompatible(
        MirrorMfld::new(
            QuadraticInteraction::new(1.0, vec![0.0; 2]).unwrap(),
            boxed,
            p,
        )
        .map(|_| ()),
    );
    // Dimension mismatch with the functional.
    let simplex4 = dirichlet_start(3, 4, 1.0, 0);
    incompatible(
        AdjustedMirrorMfld::new(sm.clone(), Entropic, p)
            .unwrap()
            .check_state(&simplex4),
    );
    incompatible(
        ProjectedMfld::new(sm.clone(), p)
            .unwrap()
            .check_state(&simplex4),
    );
    // Projected MFLD accepts closed-domain points, including faces.
    assert!(
        ProjectedMfld::new(sm, p)
            .unwrap()
            .check_state(&face)
            .is_ok()
    );
    // The barrier functional on a projected face point is an energy error, not a panic.
    let barrier = SimplexMoment::centroid(3, 0.5).unwrap();
    let mut face_mut = face.clone();
    assert!(matches!(
        ProjectedMfld::new(barrier, p)
            .unwrap()
            .step(StepKey::new(0, 0), &mut face_mut),
        Err(IntegratorError::Energy { step: 0, .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Domain invariants (proptest)
// ---------------------------------------------------------------------------------------

/// Log-uniform in [10^lo, 10^hi].
fn log_uniform(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    (lo..=hi).prop_map(|e| 10f64.powf(e))
}

/// η ∈ (0, 5]: log-uniform down to 1e-6, plus the edge 5.
fn step_size() -> impl Strategy<Value = f64> {
    prop_oneof![4 => log_uniform(-6.0, 0.69), 1 => Just(5.0)]
}

/// λ ∈ (0, 2].
fn temperature() -> impl Strategy<Value = f64> {
    prop_oneof![4 => log_uniform(-6.0, 0.3), 1 => Just(2.0)]
}

/// `n` interior points of Δ^{d−1}: coordinates log-uniform in [1e-8, 1], normalised.
fn simplex_points(n: usize, d: usize) -> impl Strategy<Value = Ensemble> {
    vec(log_uniform(-8.0, 0.0), n * d).prop_map(move |v| {
        Ensemble::from_fn(n, d, Domain::Simplex, |i, row| {
            let r = &v[i * d..(i + 1) * d];
            let s: f64 = r.iter().sum();
            for (o, x) in row.iter_mut().zip(r) {
                *o = x / s;
            }
        })
        .unwrap()
    })
}

fn assert_open_simplex(ens: &Ensemble) -> Result<(), TestCaseError> {
    for (i, x) in ens.rows().enumerate() {
        prop_assert!(x.iter().all(|v| *v > 0.0), "particle {i}: {x:?}");
        let s: f64 = x.iter().sum();
        prop_assert!((s - 1.0).abs() <= 1e-12, "particle {i}: sum {s}");
    }
    Ok(())
}

/// A box (finite, or the orthant-type [l, ∞) in some coordinates) and interior points.
fn box_case(n: usize, d: usize) -> impl Strategy<Value = (BoxBounds, Ensemble)> {
    (
        vec(-5.0f64..5.0, d),
        vec(
            prop_oneof![3 => log_uniform(-3.0, 1.0), 1 => Just(f64::INFINITY)],
            d,
        ),
        vec(log_uniform(-6.0, 0.0), n * d),
        vec(any::<bool>(), n * d),
    )
        .prop_map(move |(lower, width, frac, side)| {
            let upper: Vec<f64> = lower.iter().zip(&width).map(|(l, w)| l + w).collect();
            let bounds = BoxBounds::new(lower.clone(), upper.clone()).unwrap();
            let ens = Ensemble::from_fn(n, d, Domain::Box(bounds.clone()), |i, row| {
                for k in 0..d {
                    let (f, top) = (frac[i * d + k], side[i * d + k]);
                    row[k] = if width[k].is_finite() {
                        // Offset f·w (< w) from one of the two faces.
                        let off = (f * width[k]).min(0.5 * width[k]);
                        if top { upper[k] - off } else { lower[k] + off }
                    } else {
                        lower[k] + f * 1e3
                    };
                }
            })
            .unwrap();
            (bounds, ens)
        })
}

fn assert_open_box(ens: &Ensemble, b: &BoxBounds) -> Result<(), TestCaseError> {
    for (i, x) in ens.rows().enumerate() {
        for (k, v) in x.iter().enumerate() {
            prop_assert!(
                *v > b.lower()[k] && *v < b.upper()[k],
                "particle {i} coordinate {k} = {v} outside ({}, {})",
                b.lower()[k],
                b.upper()[k]
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    /// Every entropic MMFLD iterate (paper and adjusted) is in the open simplex:
    /// all x_i > 0 and |Σx − 1| ≤ 1e-12, for η ∈ (0, 5], λ ∈ (0, 2], any q, β ∈ [0, 2].
    #[test]
    fn entropic_iterates_stay_in_the_open_simplex(
        (d, ens) in (2usize..6, 1usize..6).prop_flat_map(|(d, n)| (Just(d), simplex_points(n, d))),
        eta in step_size(),
        lambda in temperature(),
        q in vec(-10.0f64..10.0, 5),
        beta in prop_oneof![1 => Just(0.0), 3 => 0.0f64..=2.0],
        steps in 1u64..8,
        seed in any::<u64>(),
    ) {
        let f = SimplexMoment::new(q[..d].to_vec(), beta).unwrap();
        let p = params(lambda, eta);
        let mut paper = MirrorMfld::new(f.clone(), Entropic, p).unwrap();
        let mut adjusted = AdjustedMirrorMfld::new(f, Entropic, p).unwrap();
        prop_assert!(paper.check_state(&ens).is_ok());
        let (mut a, mut b) = (ens.clone(), ens);
        for k in 0..steps {
            paper.step(StepKey::new(seed, k), &mut a).unwrap();
            assert_open_simplex(&a)?;
            prop_assert!(paper.check_state(&a).is_ok());
            let r = adjusted.step(StepKey::new(seed, k), &mut b).unwrap();
            assert_open_simplex(&b)?;
            let acc = r.acceptance.unwrap();
            prop_assert!((0.0..=1.0).contains(&acc));
        }
    }

    /// Every log-barrier MMFLD iterate (paper and adjusted) lies strictly inside the box
    /// (finite faces and orthant-type coordinates).
    #[test]
    fn log_barrier_iterates_stay_strictly_inside_the_box(
        (d, (bounds, ens)) in (1usize..4, 1usize..6).prop_flat_map(|(d, n)| (Just(d), box_case(n, d))),
        eta in step_size(),
        lambda in temperature(),
        kappa in 0.0f64..5.0,
        b in vec(-10.0f64..10.0, 3),
        steps in 1u64..8,
        seed in any::<u64>(),
    ) {
        let f = QuadraticInteraction::new(kappa, b[..d].to_vec()).unwrap();
        let p = params(lambda, eta);
        let map = LogBarrier::new(bounds.clone()).unwrap();
        let mut paper = MirrorMfld::new(f.clone(), map.clone(), p).unwrap();
        let mut adjusted = AdjustedMirrorMfld::new(f, map, p).unwrap();
        prop_assert!(paper.check_state(&ens).is_ok());
        let (mut x, mut y) = (ens.clone(), ens);
        for k in 0..steps {
            paper.step(StepKey::new(seed, k), &mut x).unwrap();
            assert_open_box(&x, &bounds)?;
            adjusted.step(StepKey::new(seed, k), &mut y).unwrap();
            assert_open_box(&y, &bounds)?;
        }
    }

    /// Projected MFLD iterates lie in the closed simplex (x ≥ 0, |Σx − 1| ≤ 1e-12) and
    /// the closed box (l ≤ x ≤ u).
    #[test]
    fn projected_iterates_stay_in_the_closed_domain(
        (d, ens) in (2usize..6, 1usize..6).prop_flat_map(|(d, n)| (Just(d), simplex_points(n, d))),
        (bd, (bounds, boxed)) in (1usize..4, 1usize..6).prop_flat_map(|(d, n)| (Just(d), box_case(n, d))),
        eta in step_size(),
        lambda in temperature(),
        q in vec(-10.0f64..10.0, 5),
        steps in 1u64..8,
        seed in any::<u64>(),
    ) {
        let p = params(lambda, eta);
        let mut on_simplex =
            ProjectedMfld::new(SimplexMoment::new(q[..d].to_vec(), 0.0).unwrap(), p).unwrap();
        let box_f = QuadraticInteraction::new(1.0, q[..bd].to_vec()).unwrap();
        let mut on_box = ProjectedMfld::new(box_f, p).unwrap();
        let (mut x, mut y) = (ens, boxed);
        for k in 0..steps {
            on_simplex.step(StepKey::new(seed, k), &mut x).unwrap();
            for row in x.rows() {
                prop_assert!(row.iter().all(|v| *v >= 0.0), "{row:?}");
                let s: f64 = row.iter().sum();
                prop_assert!((s - 1.0).abs() <= 1e-12, "sum {s}");
            }
            prop_assert!(on_simplex.check_state(&x).is_ok());
            on_box.step(StepKey::new(seed, k), &mut y).unwrap();
            for row in y.rows() {
                for (k, v) in row.iter().enumerate() {
                    prop_assert!(*v >= bounds.lower()[k] && *v <= bounds.upper()[k]);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Statistics on Δ³ and the Gaussian oracle
// ---------------------------------------------------------------------------------------

/// The paper's setting on Δ³: q = centroid, β = 0, λ = 0.1, η = 3e-3, t = 50, from the
/// uniform law (the exact target). The adjusted scheme keeps the exact boundary mass
/// 1 − (1 − 3ε)² ≈ 0.6 % within 1e-3 of a face and the Beta(1, 2) marginal; the paper's
/// Euler scheme piles most particles up against the faces.
#[test]
fn paper_scheme_piles_up_on_the_boundary_and_the_adjusted_scheme_does_not() {
    let (n, eta, lambda, eps) = (1_000, 3e-3, 0.1, 1e-3);
    let steps = (50.0 / eta) as u64;
    let f = SimplexMoment::centroid(3, 0.0).unwrap();
    let (p, seed) = (params(lambda, eta), 2024);
    let start = dirichlet_start(n, 3, 1.0, 7);
    let exact = uniform_boundary_mass(eps);

    let mut paper = MirrorMfld::new(f.clone(), Entropic, p)
        .unwrap()
        .with_parallelism(Parallelism::Rayon);
    let (paper_end, _) = run(&mut paper, start.clone(), steps, seed);
    let paper_mass = boundary_mass(&paper_end, eps).unwrap();

    // Time-averaged boundary mass of the adjusted scheme over t ∈ [25, 50] (snapshots
    // 0.3 apart in time: a particle crosses the ε-layer in a few steps, so they are
    // nearly independent; the tolerance still counts only half of them).
    let mut adjusted = AdjustedMirrorMfld::new(f, Entropic, p)
        .unwrap()
        .with_parallelism(Parallelism::Rayon);
    let mut c = Checkpoint::start(&adjusted, start, seed).unwrap();
    let mut masses = vec![];
    let summary = adjusted
        .runner(steps)
        .observe(100, |o| {
            if o.step >= steps / 2 {
                masses.push(boundary_mass(o.state, eps)?);
            }
            Ok(Control::Continue)
        })
        .run(&mut adjusted, &mut c)
        .unwrap();
    let acc = summary.mean_acceptance.unwrap();
    let adj_mass = masses.iter().sum::<f64>() / masses.len() as f64;
    let final_mass = boundary_mass(&c.state, eps).unwrap();
    let x1 = marginal(&c.state, 0).unwrap();
    let ks = ks_test(&x1, beta_1_2_cdf).unwrap();
    println!(
        "Δ³, λ = {lambda}, η = {eta}, t = 50, N = {n}: boundary mass (ε = {eps}) paper {paper_mass:.4}, \
         adjusted {adj_mass:.5} (time average of {} snapshots; final {final_mass:.4}), exact {exact:.5}; \
         adjusted acceptance {acc:.4}; KS x_1 vs Beta(1,2): D = {:.4}, p = {:.3}",
        masses.len(),
        ks.statistic,
        ks.p_value
    );
    let se = (exact * (1.0 - exact) / (n as f64 * masses.len() as f64 / 2.0)).sqrt();
    assert!(
        (adj_mass - exact).abs() < 5.0 * se,
        "adjusted {adj_mass} vs {exact} ± {se}"
    );
    assert!(ks.p_value > 1e-3, "{ks:?}");
    assert!(paper_mass > 0.5, "paper scheme boundary mass {paper_mass}");
    assert!((0.9..1.0).contains(&acc), "acceptance {acc}");
}

/// From a non-target start (Dirichlet(4, 4, 4)) the adjusted scheme at a 10× larger step
/// (η = 0.03) converges to the uniform law: KS on x_1 against Beta(1, 2), moments, and the
/// boundary mass.
#[test]
fn adjusted_scheme_converges_to_the_uniform_law() {
    let (n, eta, lambda, eps) = (2_000, 0.03, 0.1, 1e-3);
    let f = SimplexMoment::centroid(3, 0.0).unwrap();
    let mut dy = AdjustedMirrorMfld::new(f, Entropic, params(lambda, eta))
        .unwrap()
        .with_parallelism(Parallelism::Rayon);
    let mut c = Checkpoint::start(&dy, dirichlet_start(n, 3, 4.0, 12), 77).unwrap();
    let mut masses = vec![];
    let summary = dy
        .runner(800)
        .observe(20, |o| {
            if o.step >= 400 {
                masses.push(boundary_mass(o.state, eps)?);
            }
            Ok(Control::Continue)
        })
        .run(&mut dy, &mut c)
        .unwrap();
    let acc = summary.mean_acceptance.unwrap();
    let x1 = marginal(&c.state, 0).unwrap();
    let ks = ks_test(&x1, beta_1_2_cdf).unwrap();
    let (mean, var, se_mean, se_var) = moments(&x1);
    let exact = uniform_boundary_mass(eps);
    let mass = masses.iter().sum::<f64>() / masses.len() as f64;
    println!(
        "uniform target, η = {eta}: acceptance {acc:.4}, boundary mass {mass:.5} (exact {exact:.5}), \
         KS D = {:.4} p = {:.3}, mean x_1 {mean:.4} (1/3), var {var:.5} (1/18 = {:.5})",
        ks.statistic,
        ks.p_value,
        1.0 / 18.0
    );
    assert!(ks.p_value > 1e-3, "{ks:?}");
    assert!(
        (mean - 1.0 / 3.0).abs() < 4.0 * se_mean,
        "mean {mean} ± {se_mean}"
    );
    assert!(
        (var - 1.0 / 18.0).abs() < 4.0 * se_var,
        "var {var} ± {se_var}"
    );
    let se = (exact * (1.0 - exact) / (n as f64 * masses.len() as f64 / 2.0)).sqrt();
    assert!(
        (mass - exact).abs() < 5.0 * se,
        "mass {mass} vs {exact} ± {se}"
    );
    assert!(acc > 0.8, "acceptance {acc}");
}

/// With the barrier β Σ E[−ln x_i] the proximal Gibbs measure is Dirichlet(a, a, a),
/// a = 1 + β/λ = 2: E x_1 = 1/3, Var x_1 = a·2a / ((3a)²(3a + 1)) = 2/63, x_1 ~ Beta(2, 4).
#[test]
fn adjusted_scheme_samples_the_dirichlet_barrier_target() {
    let (n, eta, lambda, beta) = (2_000, 0.03, 0.1, 0.1);
    let a = 1.0 + beta / lambda;
    let f = SimplexMoment::centroid(3, beta).unwrap();
    let mut dy = AdjustedMirrorMfld::new(f, Entropic, params(lambda, eta))
        .unwrap()
        .with_parallelism(Parallelism::Rayon);
    let (end, acc) = run(&mut dy, dirichlet_start(n, 3, 1.0, 13), 600, 31);
    let x1 = marginal(&end, 0).unwrap();
    let (mean, var, se_mean, se_var) = moments(&x1);
    let exact_var = a * (2.0 * a) / ((3.0 * a).powi(2) * (3.0 * a + 1.0));
    let ks = ks_test(&x1, beta_2_4_cdf).unwrap();
    println!(
        "Dirichlet({a}) target, η = {eta}: acceptance {:.4}, mean x_1 {mean:.4} ± {se_mean:.4} (1/3), \
         var {var:.5} ± {se_var:.5} (exact {exact_var:.5}), KS vs Beta(2,4) D = {:.4} p = {:.3}",
        acc.unwrap(),
        ks.statistic,
        ks.p_value
    );
    assert!(
        (mean - 1.0 / 3.0).abs() < 4.0 * se_mean,
        "mean {mean} ± {se_mean}"
    );
    assert!(
        (var - exact_var).abs() < 4.0 * se_var,
        "var {var} ± {se_var} vs {exact_var}"
    );
    assert!(ks.p_value > 1e-3, "{ks:?}");
}

/// Gaussian oracle μ* = N(κb/(1+κ), λI) at a large step η = 0.3: MFLD's stationary
/// variance is 2λ/(2 − η) = 1.18 λ (O(η) bias), the adjusted (MALA, identity map) scheme
/// has variance λ and the right mean.
#[test]
fn adjusted_identity_scheme_removes_the_step_size_bias_on_the_gaussian_oracle() {
    let (n, d, eta, lambda, kappa) = (4_000, 2, 0.3, 0.5, 1.0);
    let b = vec![1.0, -1.0];
    let f = QuadraticInteraction::new(kappa, b.clone()).unwrap();
    let (p, seed) = (params(lambda, eta), 3);
    let start = gaussian_start(n, d, 21);
    let (mala, acc) = run(
        &mut AdjustedMirrorMfld::new(f.clone(), Identity, p).unwrap(),
        start.clone(),
        300,
        seed,
    );
    let (euler, _) = run(&mut Mfld::new(f, p).unwrap(), start, 300, seed);
    let pooled = |e: &Ensemble, k: usize| -> Vec<f64> {
        let target = kappa * b[k] / (1.0 + kappa);
        e.rows().map(|x| x[k] - target).collect()
    };
    for k in 0..d {
        let (mean, var, se_mean, se_var) = moments(&pooled(&mala, k));
        let (_, var_euler, _, _) = moments(&pooled(&euler, k));
        println!(
            "Gaussian oracle η = {eta}, coordinate {k}: MALA mean error {mean:.4} ± {se_mean:.4}, \
             var/λ {:.4} ± {:.4}, acceptance {:.3}; MFLD var/λ {:.4} (theory {:.4})",
            var / lambda,
            se_var / lambda,
            acc.unwrap(),
            var_euler / lambda,
            2.0 / (2.0 - eta)
        );
        assert!(mean.abs() < 4.0 * se_mean, "mean error {mean}");
        assert!((var - lambda).abs() < 4.0 * se_var, "MALA var {var}");
        assert!(
            (var_euler - lambda).abs() > 4.0 * se_var,
            "MFLD var {var_euler}"
        );
    }
}

/// `SimplexMoment` whose frozen potential asks for batched evaluation and counts the
/// batched calls (rows per call).
struct Batched {
    f: SimplexMoment,
    calls: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
}

struct BatchedFrozen {
    inner: meanfield_energy::frozen::FrozenSimplexMoment,
    calls: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
}

impl FrozenPotential for BatchedFrozen {
    fn value_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        self.inner.value_and_grad(x, grad)
    }
    fn batched(&self) -> bool {
        true
    }
    fn values_and_grads(&self, xs: &[f64], grads: &mut [f64], out: &mut [f64]) {
        self.calls.lock().unwrap().push(out.len());
        for ((x, g), o) in xs.chunks_exact(3).zip(grads.chunks_exact_mut(3)).zip(out) {
            *o = self.inner.value_and_grad(x, g);
        }
    }
}

impl meanfield_energy::Functional for Batched {
    fn dim(&self) -> usize {
        self.f.dim()
    }
    fn value(&self, ens: &Ensemble) -> meanfield_energy::Result<f64> {
        self.f.value(ens)
    }
    fn first_variation_grad(
        &self,
        ens: &Ensemble,
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        self.f.first_variation_grad(ens, out)
    }
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> meanfield_energy::Result<()> {
        self.f.first_variation(ens, out)
    }
}

impl FrozenFirstVariation for Batched {
    type Frozen = BatchedFrozen;
    fn freeze(&self, ens: &Ensemble) -> meanfield_energy::Result<BatchedFrozen> {
        Ok(BatchedFrozen {
            inner: self.f.freeze(ens)?,
            calls: self.calls.clone(),
        })
    }
}

/// A potential that evaluates all N proposals of a step in one call (propose all,
/// evaluate, accept each) gives the per-particle path's iterates bit for bit, with one
/// call of N rows per step.
#[test]
fn batched_proposal_evaluation_is_the_per_particle_path() {
    let (n, steps) = (300, 25);
    let sm = SimplexMoment::new(vec![0.5, 0.3, 0.2], 0.05).unwrap();
    let p = LangevinParams::new(0.1, 0.02).unwrap();
    let s = NoiseStreams::new(4, 9);
    let mut x = vec![0.0; n * 3];
    for (i, row) in x.chunks_exact_mut(3).enumerate() {
        s.fill_standard_normal(0, i as u64, row);
        let z: f64 = row.iter().map(|v| v.exp()).sum();
        row.iter_mut().for_each(|v| *v = v.exp() / z);
    }
    let start = Ensemble::new(n, 3, x, Domain::Simplex).unwrap();
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let batched = Batched {
        f: sm.clone(),
        calls: calls.clone(),
    };
    let mut plain = AdjustedMirrorMfld::new(sm, Entropic, p).unwrap();
    let mut batch = AdjustedMirrorMfld::new(batched, Entropic, p).unwrap();
    let mut a = Checkpoint::start(&plain, start.clone(), 7).unwrap();
    let mut b = Checkpoint::start(&batch, start, 7).unwrap();
    let sa = Runner::new(steps).run(&mut plain, &mut a).unwrap();
    let sb = Runner::new(steps).run(&mut batch, &mut b).unwrap();
    let bits = |e: &Ensemble| e.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.state), bits(&b.state));
    assert_eq!(sa.mean_acceptance, sb.mean_acceptance);
    assert!(sa.mean_acceptance.unwrap() > 0.5 && sa.mean_acceptance.unwrap() < 1.0);
    assert_eq!(*calls.lock().unwrap(), vec![n; steps as usize]);
}
