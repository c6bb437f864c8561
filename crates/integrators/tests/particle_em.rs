//! PGD, PQN, PMGD and MPD (particle EM). PQN and PMGD: θ trajectories equal the exact
//! mean recursion of the toy model driven by the runs' own normals, θ ends at the MLE
//! within the recursion's Monte-Carlo sd, golden values from an independent NumPy
//! implementation fed the same normals. The MPD noise covariance is positive definite for all valid
//! parameters; on the Gaussian toy model the particle law converges to the exact
//! posterior (mean and variance within Monte-Carlo error) and θ to the MLE; MPD tends to
//! PGD in the overdamped limit; checkpoints resume bit-identically; results do not depend
//! on the thread count; bad input is a typed error.

use meanfield_energy::{HierarchicalGaussian, LatentModel};
use meanfield_integrators::{
    Checkpoint, Dynamics, IntegratorError, LatentState, Mpd, MpdNoise, MpdParams, Pgd, PgdParams,
    Pmgd, PmgdParams, Pqn, Runner, StepKey,
};
use meanfield_measures::streams::PARTICLE_EM_NOISE;
use meanfield_measures::{Domain, Ensemble, NoiseStreams, Parallelism};
use proptest::prelude::*;

fn toy(m: usize, seed: u64) -> HierarchicalGaussian {
    let s = NoiseStreams::new(seed, 99);
    let mut y = vec![0.0; m];
    s.fill_standard_normal(0, 0, &mut y);
    HierarchicalGaussian::new(y.iter().map(|v| 3.0 + 2.0_f64.sqrt() * v).collect()).unwrap()
}

fn zeros(n: usize, d: usize) -> Ensemble {
    Ensemble::new(n, d, vec![0.0; n * d], Domain::Euclidean).unwrap()
}

/// MPD parameters in the order (h_θ, h_x, η_θ, η_x, γ_θ, γ_x).
fn mpd_params(
    h_theta: f64,
    h_x: f64,
    eta_theta: f64,
    eta_x: f64,
    gamma_theta: f64,
    gamma_x: f64,
) -> MpdParams {
    MpdParams::new(h_theta, h_x)
        .unwrap()
        .with_theta_momentum(eta_theta, gamma_theta)
        .unwrap()
        .with_particle_momentum(eta_x, gamma_x)
        .unwrap()
}

/// A run of `dy` with seed `seed` from θ₀ = `theta` and the given particles (the
/// family's other start variables, e.g. MPD's momenta, from `init_state`).
fn start_at<D: Dynamics<State = LatentState>>(
    dy: &D,
    theta: f64,
    particles: Ensemble,
    seed: u64,
) -> Checkpoint<LatentState> {
    let mut s = dy.init_state(particles, seed).unwrap();
    s.theta = vec![theta];
    Checkpoint::from_state(dy, s, seed).unwrap()
}

/// Standardised residuals r = (X_ij − (y_j + θ)/2)/√(1/2): their mean and variance.
fn standardised_moments(model: &HierarchicalGaussian, state: &LatentState) -> (f64, f64, usize) {
    let mu = model.posterior_mean(state.theta[0]);
    let sd = model.posterior_variance().sqrt();
    let r: Vec<f64> = state
        .particles
        .rows()
        .flat_map(|x| {
            x.iter()
                .zip(&mu)
                .map(|(x, m)| (x - m) / sd)
                .collect::<Vec<_>>()
        })
        .collect();
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var, r.len())
}

/// Stationary variance of X for the MPD particle recursion on E = a x²/2 (θ fixed), by
/// iterating the Lyapunov map Σ ← AΣAᵀ + Q to its fixed point.
fn mpd_stationary_var(a: f64, h: f64, gamma: f64, eta: f64) -> f64 {
    let g = gamma * eta;
    let s = (-g * h).exp();
    let (xu, xs) = ((1.0 - s) / gamma, (h - (1.0 - s) / g) / gamma);
    let us = (1.0 - s) / g;
    // z = (X, U): X' = (1 − xs a) X + xu U, U' = −us a X + s U.
    let m = [[1.0 - xs * a, xu], [-us * a, s]];
    let nz = MpdNoise::new(h, gamma, eta).unwrap();
    let q = [[nz.var_x, nz.cov], [nz.cov, nz.var_u]];
    let mut sig = [[0.0; 2]; 2];
    for _ in 0..200_000 {
        let mut next = q;
        for i in 0..2 {
            for j in 0..2 {
                for k in 0..2 {
                    for l in 0..2 {
                        next[i][j] += m[i][k] * sig[k][l] * m[j][l];
                    }
                }
            }
        }
        sig = next;
    }
    sig[0][0]
}

#[test]
fn pgd_particle_law_converges_to_the_exact_posterior() {
    let model = toy(4, 1);
    let mle = model.mle();
    let h = 5e-3;
    let mut pgd = Pgd::new(model.clone(), PgdParams::new(h, h).unwrap())
        .unwrap()
        .with_parallelism(Parallelism::Rayon);
    // θ₀ = 0 is the model's initial_theta.
    let mut ck = Checkpoint::start(&pgd, zeros(4000, 4), 11).unwrap();
    assert_eq!(ck.state.theta, vec![0.0]);
    Runner::new(1600).run(&mut pgd, &mut ck).unwrap();
    let (mean, var, n) = standardised_moments(&model, &ck.state);
    // Euler's stationary variance on curvature a = 2 is (1/a)/(1 − h a/2): bias h.
    let bias = 1.0 / (1.0 - h) - 1.0;
    let (sd_mean, sd_var) = (1.0 / (n as f64).sqrt(), (2.0 / n as f64).sqrt());
    assert!(bias < sd_var, "bias {bias} not below MC sd {sd_var}");
    assert!(mean.abs() < 4.0 * sd_mean, "mean {mean} (sd {sd_mean})");
    assert!((var - 1.0).abs() < 4.0 * sd_var, "var {var} (sd {sd_var})");
    assert!(
        (ck.state.theta[0] - mle).abs() < 0.02,
        "θ {} vs {mle}",
        ck.state.theta[0]
    );
}

#[test]
fn mpd_particle_law_converges_to_the_exact_posterior() {
    let model = toy(4, 2);
    let mle = model.mle();
    // Damping and masses chosen (by a noise-free run of the mean dynamics) so that the
    // coupled (θ, x) system has relaxed to ~1e-3 by time 10: particles mildly
    // under-damped on curvature a = 2 (G = 1.5 < √(4aη) ≈ 2.8), θ with G_θ = 2.
    let (h, gamma) = (5e-3, 1.5);
    let params = mpd_params(h, h, 4.0, 1.0, 0.5, gamma);
    let mut mpd = Mpd::new(model.clone(), params)
        .unwrap()
        .with_parallelism(Parallelism::Rayon);
    let mut ck = start_at(&mpd, 0.0, zeros(4000, 4), 12);
    Runner::new(2000).run(&mut mpd, &mut ck).unwrap();
    let (mean, var, n) = standardised_moments(&model, &ck.state);
    let (sd_mean, sd_var) = (1.0 / (n as f64).sqrt(), (2.0 / n as f64).sqrt());
    // The frozen-score step's own stationary variance on curvature 2, vs the exact 1/2.
    let bias = mpd_stationary_var(2.0, h, gamma, 1.0) / 0.5 - 1.0;
    assert!(bias.abs() < sd_var, "bias {bias} not below MC sd {sd_var}");
    assert!(mean.abs() < 4.0 * sd_mean, "mean {mean} (sd {sd_mean})");
    assert!((var - 1.0).abs() < 4.0 * sd_var, "var {var} (sd {sd_var})");
    assert!(
        (ck.state.theta[0] - mle).abs() < 0.02,
        "θ {} vs {mle}",
        ck.state.theta[0]
    );
    // Particle momenta at their stationary law N(0, 1/η_x).
    let u = &ck.state.momenta.as_ref().unwrap().particles;
    let uvar = u.as_slice().iter().map(|v| v * v).sum::<f64>() / u.as_slice().len() as f64;
    assert!(
        (uvar - 1.0).abs() < 4.0 * sd_var + bias.abs() + 0.02,
        "Var U {uvar}"
    );
}

/// The paper's toy setting: 100 observations, 100 particles, h_x = 1e-2, h_θ = 1e-4,
/// η = 2000; θ reaches the MLE within 0.1 in 2000 steps for PGD and critically damped MPD.
#[test]
fn theta_reaches_the_mle_on_the_toy_model() {
    let model = toy(100, 3);
    let mle = model.mle();
    let mut pgd = Pgd::new(model.clone(), PgdParams::new(1e-4, 1e-2).unwrap()).unwrap();
    let mut ck = start_at(&pgd, 0.0, zeros(100, 100), 5);
    Runner::new(2000).run(&mut pgd, &mut ck).unwrap();
    assert!(
        (ck.state.theta[0] - mle).abs() < 0.1,
        "PGD θ {}",
        ck.state.theta[0]
    );
    let params = mpd_params(1e-4, 1e-2, 2000.0, 2000.0, 0.1, 0.1);
    let mut mpd = Mpd::new(model, params).unwrap();
    let mut ck = start_at(&mpd, 0.0, zeros(100, 100), 5);
    Runner::new(2000).run(&mut mpd, &mut ck).unwrap();
    assert!(
        (ck.state.theta[0] - mle).abs() < 0.1,
        "MPD θ {}",
        ck.state.theta[0]
    );
}

/// PGD with θ updated first and the particles moved with the new θ (the update order of
/// MPD), with PGD's noise streams; the overdamped limit of MPD.
fn sequential_pgd(
    model: &HierarchicalGaussian,
    h: f64,
    seed: u64,
    theta: f64,
    n: usize,
    steps: u64,
) -> (f64, Vec<f64>) {
    let d = model.latent_dim();
    let noise = NoiseStreams::new(seed, PARTICLE_EM_NOISE);
    let (mut theta, mut x) = (vec![theta], vec![0.0; n * d]);
    let (mut gt, mut gx, mut xi) = ([0.0], vec![0.0; d], vec![0.0; d]);
    for k in 0..steps {
        let mut g = 0.0;
        for row in x.chunks_exact(d) {
            model.grad_theta(&theta, row, &mut gt).unwrap();
            g += gt[0];
        }
        theta[0] -= h * g / n as f64;
        for (i, row) in x.chunks_exact_mut(d).enumerate() {
            model.grad_x(&theta, row, &mut gx).unwrap();
            noise.fill_standard_normal(k, i as u64, &mut xi);
            for ((x, g), z) in row.iter_mut().zip(&gx).zip(&xi) {
                *x += -h * g + (2.0 * h).sqrt() * z;
            }
        }
    }
    (theta[0], x)
}

/// Overdamped limit: MPD with damping γ, mass 1 and steps γh tends, path by path (MPD's
/// position noise uses PGD's normals), to PGD with step h in MPD's update order (θ first,
/// then the particles with the new θ). The gap shrinks like 1/γ.
#[test]
fn mpd_tends_to_pgd_as_damping_grows() {
    let model = toy(5, 4);
    let (h, seed, steps) = (1e-2, 9, 50);
    let (theta_ref, x_ref) = sequential_pgd(&model, h, seed, 0.5, 20, steps);
    let gap = |gamma: f64| {
        let params = mpd_params(gamma * h, gamma * h, 1.0, 1.0, gamma, gamma);
        let mut mpd = Mpd::new(model.clone(), params).unwrap();
        let mut c = start_at(&mpd, 0.5, zeros(20, 5), seed);
        Runner::new(steps).run(&mut mpd, &mut c).unwrap();
        let dx = c
            .state
            .particles
            .as_slice()
            .iter()
            .zip(&x_ref)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        dx.max((c.state.theta[0] - theta_ref).abs())
    };
    let (g2, g4, g6) = (gap(1e2), gap(1e4), gap(1e6));
    assert!(g6 < 1e-4, "gap at γ = 1e6: {g6}");
    assert!(
        g4 < 0.05 * g2 && g6 < 0.05 * g4,
        "gaps {g2}, {g4}, {g6} at γ = 1e2, 1e4, 1e6"
    );
    // Standard PGD (particles moved with the old θ) differs from this order by O(h) only.
    let mut pgd = Pgd::new(model.clone(), PgdParams::new(h, h).unwrap()).unwrap();
    let mut ck = start_at(&pgd, 0.5, zeros(20, 5), seed);
    Runner::new(steps).run(&mut pgd, &mut ck).unwrap();
    assert!((ck.state.theta[0] - theta_ref).abs() < 10.0 * h);
}

fn run_split<D: Dynamics<State = LatentState>>(
    mut make: impl FnMut() -> D,
    theta: f64,
    particles: Ensemble,
    seed: u64,
) {
    let mut d = make();
    let mut whole = start_at(&d, theta, particles.clone(), seed);
    Runner::new(30).run(&mut d, &mut whole).unwrap();
    let mut d1 = make();
    let mut part = start_at(&d1, theta, particles, seed);
    Runner::new(13).run(&mut d1, &mut part).unwrap();
    let json = part.to_json().unwrap();
    let mut resumed: Checkpoint<LatentState> = Checkpoint::from_json(&json).unwrap();
    let mut d2 = make();
    Runner::new(30).run(&mut d2, &mut resumed).unwrap();
    assert_eq!(whole, resumed, "resumed run differs");
}

#[test]
fn checkpoints_resume_bit_identically() {
    let model = toy(6, 5);
    run_split(
        || Pgd::new(model.clone(), PgdParams::new(1e-2, 1e-2).unwrap()).unwrap(),
        1.0,
        zeros(10, 6),
        3,
    );
    let params = mpd_params(1e-2, 1e-2, 2.0, 3.0, 0.5, 0.7);
    run_split(
        || Mpd::new(model.clone(), params).unwrap(),
        1.0,
        zeros(10, 6),
        3,
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let model = toy(8, 6);
    let params = mpd_params(1e-2, 1e-2, 2.0, 3.0, 0.5, 0.7);
    let run = |par: Parallelism| {
        let mut pgd = Pgd::new(model.clone(), PgdParams::new(1e-2, 1e-2).unwrap())
            .unwrap()
            .with_parallelism(par);
        let mut a = start_at(&pgd, 1.0, zeros(300, 8), 3);
        Runner::new(20).run(&mut pgd, &mut a).unwrap();
        let mut mpd = Mpd::new(model.clone(), params)
            .unwrap()
            .with_parallelism(par);
        let mut b = start_at(&mpd, 1.0, zeros(300, 8), 3);
        Runner::new(20).run(&mut mpd, &mut b).unwrap();
        (a, b)
    };
    let seq = run(Parallelism::Sequential);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let par = pool.install(|| run(Parallelism::Rayon));
    assert_eq!(seq, par);
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        PgdParams::new(0.0, 1e-2),
        Err(IntegratorError::InvalidParameter {
            name: "h_theta",
            ..
        })
    ));
    assert!(matches!(
        MpdParams::new(1e-2, 1e-2)
            .unwrap()
            .with_particle_momentum(f64::NAN, 1.0),
        Err(IntegratorError::InvalidParameter { name: "eta_x", .. })
    ));
    let model = toy(3, 7);
    let mut pgd = Pgd::new(model.clone(), PgdParams::new(1e-2, 1e-2).unwrap()).unwrap();
    // Wrong latent dimension: refused where the run starts, and by the runner.
    assert!(matches!(
        Checkpoint::start(&pgd, zeros(4, 2), 1),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let mut ck = Checkpoint {
        format: meanfield_integrators::CHECKPOINT_FORMAT,
        fingerprint: pgd.fingerprint(),
        seed: 1,
        step: 0,
        time: 0.0,
        state: LatentState::new(vec![0.0], zeros(4, 2)),
    };
    assert!(matches!(
        Runner::new(3).run(&mut pgd, &mut ck),
        Err(IntegratorError::IncompatibleState(_))
    ));
    // MPD without momenta (a hand-built PGD state): the error points at init_state.
    let mut mpd = Mpd::new(model, MpdParams::new(1e-2, 1e-2).unwrap()).unwrap();
    let err =
        Checkpoint::from_state(&mpd, LatentState::new(vec![0.0], zeros(4, 3)), 1).unwrap_err();
    assert!(
        matches!(err, IntegratorError::IncompatibleState(_))
            && err.to_string().contains("init_state"),
        "{err}"
    );
    let mut ck = Checkpoint {
        format: meanfield_integrators::CHECKPOINT_FORMAT,
        fingerprint: mpd.fingerprint(),
        seed: 1,
        step: 0,
        time: 0.0,
        state: LatentState::new(vec![0.0], zeros(4, 3)),
    };
    let err = Runner::new(3).run(&mut mpd, &mut ck).unwrap_err();
    assert!(err.to_string().contains("init_state"), "{err}");
    // A step that blows up is a divergence naming the step.
    let big = HierarchicalGaussian::new(vec![1.0; 3]).unwrap();
    let mut pgd = Pgd::new(big, PgdParams::new(1e-2, 5.0).unwrap()).unwrap();
    let mut ck = Checkpoint::start(&pgd, zeros(4, 3), 1).unwrap();
    let err = Runner::new(2000).run(&mut pgd, &mut ck).unwrap_err();
    assert!(
        matches!(err, IntegratorError::Diverged { step, .. } if step == ck.step + 1),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Var n_X > 0, Var n_U > 0 and det > 0 for h, γ, η over 16 orders of magnitude
    /// (t = γηh from 1e-12 to 1e8), and the Cholesky factor reproduces the covariance.
    #[test]
    fn mpd_noise_covariance_is_positive_definite(
        lh in -6.0f64..2.0, lg in -3.0f64..3.0, le in -3.0f64..4.0
    ) {
        let (h, gamma, eta) = (10f64.powf(lh), 10f64.powf(lg), 10f64.powf(le));
        let nz = MpdNoise::new(h, gamma, eta).unwrap();
        prop_assert!(nz.var_x > 0.0 && nz.var_u > 0.0);
        prop_assert!(nz.var_x * nz.var_u - nz.cov * nz.cov > 0.0);
        prop_assert!(nz.l11 > 0.0 && nz.l22 > 0.0);
        let rel = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b.abs();
        prop_assert!(rel(nz.l11 * nz.l11, nz.var_x));
        prop_assert!(rel(nz.l11 * nz.l21, nz.cov));
        prop_assert!(rel(nz.l21 * nz.l21 + nz.l22 * nz.l22, nz.var_u));
        // Closed forms where they do not cancel (t ≥ 1).
        let (g, t) = (gamma * eta, gamma * eta * h);
        if t >= 1.0 {
            let s = (-t).exp();
            prop_assert!(rel(nz.var_x, (2.0 * h - s * s / g + 4.0 * s / g - 3.0 / g) / gamma));
            prop_assert!(rel(nz.var_u, (1.0 - s * s) / eta));
            prop_assert!(rel(nz.cov, (1.0 - 2.0 * s + s * s) / g));
        }
    }
}

/// The batched (matrix-product) gradients of the logistic model, in batches of 16 with a
/// ragged last batch, give the same bits sequentially and on a 3-thread pool.
#[test]
fn batched_logistic_gradients_do_not_depend_on_the_thread_count() {
    let (m, k) = (60, 5);
    let f: Vec<f64> = (0..m * k).map(|i| ((i as f64) * 0.37).sin()).collect();
    let y: Vec<f64> = (0..m).map(|j| ((j % 3) == 0) as u8 as f64).collect();
    let model = meanfield_energy::BayesianLogistic::new(f, y, k, 5.0).unwrap();
    let run = |par: Parallelism| {
        let mut pgd = Pgd::new(model.clone(), PgdParams::new(1e-2, 1e-2).unwrap())
            .unwrap()
            .with_parallelism(par);
        let mut a = start_at(&pgd, 0.5, zeros(50, k), 3);
        Runner::new(15).run(&mut pgd, &mut a).unwrap();
        let params = mpd_params(1e-2, 1e-2, 10.0, 10.0, 0.3, 0.3);
        let mut mpd = Mpd::new(model.clone(), params)
            .unwrap()
            .with_parallelism(par);
        let mut b = start_at(&mpd, 0.5, zeros(50, k), 3);
        Runner::new(15).run(&mut mpd, &mut b).unwrap();
        (a, b)
    };
    let seq = run(Parallelism::Sequential);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    assert_eq!(seq, pool.install(|| run(Parallelism::Rayon)));
}

// ----- PQN and PMGD on the toy model: closed-form mean recursion -----

/// ξ̄_k = (1/(NM)) Σ_i Σ_j ξ^i_{kj}: the mean of step k's particle normals (the streams
/// PGD, PQN and PMGD draw from).
fn mean_normal(seed: u64, step: u64, n: usize, d: usize) -> f64 {
    let noise = NoiseStreams::new(seed, PARTICLE_EM_NOISE);
    let mut xi = vec![0.0; d];
    let mut s = 0.0;
    for i in 0..n {
        noise.fill_standard_normal(step, i as u64, &mut xi);
        s += xi.iter().sum::<f64>();
    }
    s / (n * d) as f64
}

/// On the toy model the particle mean m = (1/(NM)) Σ_ij X^i_j and θ follow a closed
/// linear recursion (∇_x E = 2x − y − θ, ∇_θ E = Σ_j (θ − x_j), ∇²_θ E = M):
/// PQN  m' = m + h_x(ȳ + θ − 2m) + √(2h_x) ξ̄,  θ' = θ + h_θ (m − θ);
/// PMGD θ = m,  m' = m + h_x(ȳ − m) + √(2h_x) ξ̄.
/// Both are run with the schemes' own normals and compared step by step; θ_K is then
/// within 4 sd (Var ξ̄ = 1/(NM), propagated exactly) of its mean E θ_K, the noise-free
/// recursion, which has reached the fixed point θ = m = ȳ.
#[test]
fn pqn_and_pmgd_follow_the_closed_form_mean_recursion() {
    let model = toy(50, 13);
    let ybar = model.mle();
    let (n, d, seed, steps) = (20, 50, 21u64, 300u64);
    let nd = (n * d) as f64;
    let mean = |x: &Ensemble| x.as_slice().iter().sum::<f64>() / nd;
    // Start away from the MLE: θ₀ = ȳ − 3 (PQN), X₀ = 0.
    for (h_theta, h_x) in [(2.0 / 3.0, 2.0 / 3.0), (0.05, 0.05)] {
        let mut pqn = Pqn::new(model.clone(), PgdParams::new(h_theta, h_x).unwrap()).unwrap();
        let mut ck = start_at(&pqn, ybar - 3.0, zeros(n, d), seed);
        let (mut m, mut theta) = (0.0, ybar - 3.0);
        // Covariance of (m, θ) from the noise, propagated exactly.
        let a = [[1.0 - 2.0 * h_x, h_x], [h_theta, 1.0 - h_theta]];
        let mut cov = [[0.0; 2]; 2];
        let mut worst: f64 = 0.0;
        for k in 0..steps {
            let xi = mean_normal(seed, k, n, d);
            let m_next = m + h_x * (ybar + theta - 2.0 * m) + (2.0 * h_x).sqrt() * xi;
            theta += h_theta * (m - theta);
            m = m_next;
            let mut next = [[0.0; 2]; 2];
            for i in 0..2 {
                for j in 0..2 {
                    for (k2, row) in cov.iter().enumerate() {
                        for (l, c) in row.iter().enumerate() {
                            next[i][j] += a[i][k2] * c * a[j][l];
                        }
                    }
                }
            }
            next[0][0] += 2.0 * h_x / nd;
            cov = next;
            Runner::new(k + 1).run(&mut pqn, &mut ck).unwrap();
            worst = worst
                .max((ck.state.theta[0] - theta).abs())
                .max((mean(&ck.state.particles) - m).abs());
        }
        assert!(
            worst < 1e-10,
            "PQN h = ({h_theta}, {h_x}): recursion gap {worst:e}"
        );
        let sd = cov[1][1].sqrt();
        // The noise-free recursion's distance from the fixed point after K steps, in the
        // errors e_m = m − ȳ, e_θ = θ − ȳ: e_m' = e_m + h_x(e_θ − 2e_m), e_θ' = e_θ + h_θ(e_m − e_θ).
        let expected = {
            let (mut em, mut et) = (-ybar, -3.0);
            for _ in 0..steps {
                (em, et) = (em + h_x * (et - 2.0 * em), et + h_theta * (em - et));
            }
            ybar + et
        };
        // E θ_K → ȳ (the fixed point): the remaining bias is a small fraction of the start's.
        assert!(
            (expected - ybar).abs() < 0.01 * 3.0,
            "E θ_K = {expected} vs ȳ = {ybar}"
        );
        assert!(
            (ck.state.theta[0] - expected).abs() < 4.0 * sd,
            "PQN θ_K = {} vs E θ_K = {expected} (sd {sd})",
            ck.state.theta[0]
        );
    }
    for h_x in [1.0, 0.05] {
        let mut pmgd = Pmgd::new(model.clone(), PmgdParams::new(h_x).unwrap()).unwrap();
        let mut ck = Checkpoint::start(&pmgd, zeros(n, d), seed).unwrap();
        assert_eq!(ck.state.theta, vec![0.0], "θ₀ = θ*(X₀) = mean of X₀ = 0");
        let (mut m, mut var, mut worst) = (0.0, 0.0, 0.0f64);
        for k in 0..steps {
            m += h_x * (ybar - m) + (2.0 * h_x).sqrt() * mean_normal(seed, k, n, d);
            var = (1.0 - h_x) * (1.0 - h_x) * var + 2.0 * h_x / nd;
            Runner::new(k + 1).run(&mut pmgd, &mut ck).unwrap();
            worst = worst.max((ck.state.theta[0] - m).abs());
            assert_eq!(ck.state.theta[0], mean(&ck.state.particles), "θ = θ*(X)");
        }
        assert!(worst < 1e-10, "PMGD h = {h_x}: recursion gap {worst:e}");
        // E θ_K = ȳ − ȳ(1 − h)^K (θ₀ = 0).
        let expected = ybar - ybar * (1.0 - h_x).powi(steps as i32);
        let sd = var.sqrt();
        assert!((expected - ybar).abs() < 0.1 * sd);
        assert!(
            (ck.state.theta[0] - expected).abs() < 4.0 * sd,
            "PMGD θ_K = {} vs ȳ = {ybar} (sd {sd})",
            ck.state.theta[0]
        );
    }
}

// ----- golden values vs an independent NumPy implementation (benches/peers/parem_golden.py) -----

#[derive(serde::Deserialize)]
struct ParemGolden {
    prior_var: f64,
    y: Vec<f64>,
    features: Vec<Vec<f64>>,
    labels: Vec<f64>,
    runs: Vec<ParemRun>,
}

#[derive(serde::Deserialize)]
struct ParemRun {
    method: String,
    model: String,
    h_theta: f64,
    h_x: f64,
    x0: Vec<Vec<f64>>,
    theta0: f64,
    noise: Vec<Vec<Vec<f64>>>,
    theta: Vec<f64>,
    x_final: Vec<Vec<f64>>,
}

/// Replays a golden run's normals through `step` from its (θ₀, X₀); the worst deviation
/// of θ over every step and of the final particles.
fn replay_golden<D: Dynamics<State = LatentState>>(
    dy: &mut D,
    run: &ParemRun,
    mut step: impl FnMut(&mut D, StepKey, &mut LatentState, &[f64]),
) -> f64 {
    let (n, d) = (run.x0.len(), run.x0[0].len());
    let x0 = Ensemble::new(n, d, run.x0.concat(), Domain::Euclidean).unwrap();
    let mut state = dy.init_state(x0, 0).unwrap();
    if run.method == "pmgd" {
        assert!((state.theta[0] - run.theta0).abs() <= 1e-12, "θ*(X₀)");
    }
    state.theta = vec![run.theta0];
    dy.check_state(&state).unwrap();
    let mut worst: f64 = 0.0;
    for (k, (noise, theta)) in run.noise.iter().zip(&run.theta).enumerate() {
        step(dy, StepKey::new(0, k as u64), &mut state, &noise.concat());
        worst = worst.max((state.theta[0] - theta).abs());
    }
    state
        .particles
        .as_slice()
        .iter()
        .zip(&run.x_final.concat())
        .fold(worst, |w, (a, b)| w.max((a - b).abs()))
}

fn pqn_step<M: LatentModel>(dy: &mut Pqn<M>, key: StepKey, s: &mut LatentState, z: &[f64]) {
    dy.step_with_noise(key, s, z).unwrap();
}

fn pmgd_step<M: LatentModel>(dy: &mut Pmgd<M>, key: StepKey, s: &mut LatentState, z: &[f64]) {
    dy.step_with_noise(key, s, z).unwrap();
}

#[test]
fn pqn_and_pmgd_match_numpy_when_fed_the_same_noise() {
    let golden: ParemGolden =
        serde_json::from_str(include_str!("data/parem_golden.json")).expect("golden file parses");
    let toy = HierarchicalGaussian::new(golden.y.clone()).unwrap();
    let k = golden.features[0].len();
    let logistic = meanfield_energy::BayesianLogistic::new(
        golden.features.concat(),
        golden.labels.clone(),
        k,
        golden.prior_var,
    )
    .unwrap();
    assert_eq!(golden.runs.len(), 6);
    for run in &golden.runs {
        let worst = match (run.method.as_str(), run.model.as_str()) {
            ("pqn", model) => {
                let params = PgdParams::new(run.h_theta, run.h_x).unwrap();
                if model == "toy" {
                    replay_golden(&mut Pqn::new(toy.clone(), params).unwrap(), run, pqn_step)
                } else {
                    replay_golden(
                        &mut Pqn::new(logistic.clone(), params).unwrap(),
                        run,
                        pqn_step,
                    )
                }
            }
            ("pmgd", model) => {
                let params = PmgdParams::new(run.h_x).unwrap();
                if model == "toy" {
                    replay_golden(&mut Pmgd::new(toy.clone(), params).unwrap(), run, pmgd_step)
                } else {
                    replay_golden(
                        &mut Pmgd::new(logistic.clone(), params).unwrap(),
                        run,
                        pmgd_step,
                    )
                }
            }
            other => panic!("unknown run {other:?}"),
        };
        println!(
            "{} {} h = ({}, {}): worst deviation {worst:e}",
            run.method, run.model, run.h_theta, run.h_x
        );
        assert!(
            worst <= 1e-10,
            "{} {} h = ({}, {}): deviates by {worst:e}",
            run.method,
            run.model,
            run.h_theta,
            run.h_x
        );
    }
}

/// The toy model with a negated θ-Hessian: PQN's preconditioner is then not positive
/// definite and the step must be refused.
struct NegativeCurvature(HierarchicalGaussian);

impl LatentModel for NegativeCurvature {
    fn theta_dim(&self) -> usize {
        1
    }
    fn latent_dim(&self) -> usize {
        self.0.latent_dim()
    }
    fn energy(&self, t: &[f64], x: &[f64]) -> meanfield_energy::Result<f64> {
        self.0.energy(t, x)
    }
    fn grad_theta(&self, t: &[f64], x: &[f64], o: &mut [f64]) -> meanfield_energy::Result<()> {
        self.0.grad_theta(t, x, o)
    }
    fn grad_x(&self, t: &[f64], x: &[f64], o: &mut [f64]) -> meanfield_energy::Result<()> {
        self.0.grad_x(t, x, o)
    }
    fn hess_theta(&self, t: &[f64], x: &[f64], o: &mut [f64]) -> meanfield_energy::Result<()> {
        self.0.hess_theta(t, x, o)?;
        o[0] = -o[0];
        Ok(())
    }
}

#[test]
fn pqn_and_pmgd_bad_input_is_a_typed_error() {
    assert!(matches!(
        PmgdParams::new(-1.0),
        Err(IntegratorError::InvalidParameter { name: "h_x", .. })
    ));
    assert!(serde_json::from_str::<PmgdParams>(r#"{"h_x": 0.0}"#).is_err());
    assert_eq!(
        serde_json::from_str::<PmgdParams>(r#"{"h_x": 0.5}"#).unwrap(),
        PmgdParams::new(0.5).unwrap()
    );
    // A model without ∇²_θ E or θ*(q) is refused at construction, naming the quantity.
    let shape = meanfield_energy::DecoderShape {
        latent: 2,
        hidden: 3,
        output: 4,
    };
    let decoder = || {
        meanfield_energy::Decoder::new(
            shape,
            meanfield_energy::PixelLikelihood::Bernoulli,
            vec![0.0, 1.0, 1.0, 0.0],
        )
        .unwrap()
    };
    let err = Pqn::new(decoder(), PgdParams::new(0.1, 0.1).unwrap())
        .err()
        .unwrap();
    assert!(
        matches!(
            &err,
            IntegratorError::Energy {
                source: meanfield_energy::EnergyError::NotAvailable { .. },
                ..
            }
        ) && err.to_string().contains("Hessian"),
        "{err}"
    );
    let err = Pmgd::new(decoder(), PmgdParams::new(0.1).unwrap())
        .err()
        .unwrap();
    assert!(err.to_string().contains("optimal θ"), "{err}");
    // Wrong noise length in a replay.
    let model = toy(3, 7);
    let mut pqn = Pqn::new(model.clone(), PgdParams::new(0.1, 0.1).unwrap()).unwrap();
    let mut s = pqn.init_state(zeros(4, 3), 0).unwrap();
    assert!(matches!(
        pqn.step_with_noise(StepKey::new(0, 0), &mut s, &[0.0; 5]),
        Err(IntegratorError::IncompatibleState(_))
    ));
    // PMGD on particles of the wrong dimension: refused where the run starts.
    let pmgd = Pmgd::new(model.clone(), PmgdParams::new(0.1).unwrap()).unwrap();
    assert!(matches!(
        Checkpoint::start(&pmgd, zeros(4, 2), 1),
        Err(IntegratorError::IncompatibleState(_))
    ));
    // A preconditioner that is not positive definite: the step is refused.
    let mut bad = Pqn::new(NegativeCurvature(model), PgdParams::new(0.1, 0.1).unwrap()).unwrap();
    let mut ck = start_at(&bad, 1.0, zeros(4, 3), 1);
    let err = Runner::new(3).run(&mut bad, &mut ck).unwrap_err();
    assert!(
        matches!(err, IntegratorError::Diverged { step: 1, .. })
            && err.to_string().contains("positive definite"),
        "{err}"
    );
}

/// PQN and PMGD resume bit-identically and do not depend on the thread count (batched
/// logistic gradients, ragged last batch).
#[test]
fn pqn_and_pmgd_resume_and_ignore_the_thread_count() {
    let model = toy(6, 5);
    run_split(
        || Pqn::new(model.clone(), PgdParams::new(0.5, 1e-2).unwrap()).unwrap(),
        1.0,
        zeros(10, 6),
        3,
    );
    run_split(
        || Pmgd::new(model.clone(), PmgdParams::new(1e-2).unwrap()).unwrap(),
        1.0,
        zeros(10, 6),
        3,
    );
    let (m, k) = (60, 5);
    let f: Vec<f64> = (0..m * k).map(|i| ((i as f64) * 0.37).sin()).collect();
    let y: Vec<f64> = (0..m).map(|j| ((j % 3) == 0) as u8 as f64).collect();
    let logistic = meanfield_energy::BayesianLogistic::new(f, y, k, 5.0).unwrap();
    let run = |par: Parallelism| {
        let mut pqn = Pqn::new(logistic.clone(), PgdParams::new(0.5, 1e-2).unwrap())
            .unwrap()
            .with_parallelism(par);
        let mut a = start_at(&pqn, 0.5, zeros(50, k), 3);
        Runner::new(15).run(&mut pqn, &mut a).unwrap();
        let mut pmgd = Pmgd::new(logistic.clone(), PmgdParams::new(1e-2).unwrap())
            .unwrap()
            .with_parallelism(par);
        let mut b = Checkpoint::start(&pmgd, zeros(50, k), 3).unwrap();
        Runner::new(15).run(&mut pmgd, &mut b).unwrap();
        (a, b)
    };
    let seq = run(Parallelism::Sequential);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    assert_eq!(seq, pool.install(|| run(Parallelism::Rayon)));
}
