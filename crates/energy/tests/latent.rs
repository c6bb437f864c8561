//! Latent-variable models against central finite differences of E(θ, x) (every
//! coordinate of ∇_θ E and ∇_x E), the toy model's closed forms, and typed errors for bad
//! input.

use meanfield_energy::latent::{check_dims, grad_fd_check};
use meanfield_energy::{
    BayesianLogistic, Decoder, DecoderShape, EnergyError, HierarchicalGaussian, LatentModel,
    PixelLikelihood,
};
use proptest::prelude::*;

/// A deterministic pseudo-random sequence in [−1, 1] (no RNG needed for fixtures).
fn wobble(k: usize, salt: f64) -> f64 {
    ((k as f64 + 1.0) * 12.9898 + salt * 78.233).sin()
}

fn assert_fd<M: LatentModel>(model: &M, theta: &[f64], x: &[f64], tol: f64) {
    let c = grad_fd_check(model, theta, x, 1e-5).unwrap();
    assert!(c.theta_rel_err < tol && c.x_rel_err < tol, "{c:?}");
}

#[test]
fn toy_model_gradients_and_oracles() {
    let y: Vec<f64> = (0..7).map(|k| 3.0 + wobble(k, 0.1)).collect();
    let model = HierarchicalGaussian::new(y.clone()).unwrap();
    let x: Vec<f64> = (0..7).map(|k| 2.0 * wobble(k, 0.7)).collect();
    assert_fd(&model, &[0.4], &x, 1e-8);
    // At θ̂ = mean(y) and x = posterior mean, ∇_x E = 0 and the average ∇_θ E vanishes.
    let mle = model.mle();
    assert!((mle - y.iter().sum::<f64>() / 7.0).abs() < 1e-15);
    let xm = model.posterior_mean(mle);
    let mut g = vec![0.0; 7];
    model.grad_x(&[mle], &xm, &mut g).unwrap();
    assert!(g.iter().all(|v| v.abs() < 1e-12), "{g:?}");
    let mut gt = [0.0];
    model.grad_theta(&[mle], &xm, &mut gt).unwrap();
    assert!(gt[0].abs() < 1e-12);
}

fn logistic_fixture(m: usize, k: usize) -> BayesianLogistic {
    let f: Vec<f64> = (0..m * k).map(|i| 2.0 * wobble(i, 0.3)).collect();
    let y: Vec<f64> = (0..m)
        .map(|j| if wobble(j, 0.9) > 0.0 { 1.0 } else { 0.0 })
        .collect();
    BayesianLogistic::new(f, y, k, 5.0).unwrap()
}

#[test]
fn logistic_gradients_match_finite_differences() {
    let model = logistic_fixture(40, 6);
    for s in [0.0, 1.0, 4.0] {
        let x: Vec<f64> = (0..6).map(|i| s * wobble(i, 0.5)).collect();
        assert_fd(&model, &[0.3 * s - 0.2], &x, 1e-7);
    }
    // Large logits: the energy stays finite (no overflow of e^a).
    let x = vec![400.0; 6];
    let e = model.energy(&[0.0], &x).unwrap();
    assert!(e.is_finite());
}

/// `grads_batch` (matrix products for the logistic model, the per-particle default for
/// the others) agrees with the per-particle gradients to rounding, and skips outputs.
#[test]
fn batched_gradients_match_per_particle_gradients() {
    fn compare<M: LatentModel>(model: &M, theta: &[f64], c: usize) {
        let (p, d) = (model.theta_dim(), model.latent_dim());
        let xs: Vec<f64> = (0..c * d).map(|i| 1.3 * wobble(i, 0.8)).collect();
        let (mut gt, mut gx) = (vec![0.0; c * p], vec![0.0; c * d]);
        model
            .grads_batch(theta, &xs, Some(&mut gt), Some(&mut gx))
            .unwrap();
        let mut gx_only = vec![7.0; c * d];
        model
            .grads_batch(theta, &xs, None, Some(&mut gx_only))
            .unwrap();
        assert_eq!(gx, gx_only);
        let (mut t1, mut x1) = (vec![0.0; p], vec![0.0; d]);
        for i in 0..c {
            model
                .grads(theta, &xs[i * d..(i + 1) * d], &mut t1, &mut x1)
                .unwrap();
            for (a, b) in gt[i * p..(i + 1) * p]
                .iter()
                .zip(&t1)
                .chain(gx[i * d..(i + 1) * d].iter().zip(&x1))
            {
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
    }
    compare(&logistic_fixture(57, 7), &[0.4], 5);
    compare(&logistic_fixture(20, 30), &[-1.0], 16);
    let (model, theta, _) = decoder_fixture(PixelLikelihood::Bernoulli);
    compare(&model, &theta, 3);
}

#[test]
fn batched_logistic_gradients_refuse_mismatched_lengths() {
    let model = logistic_fixture(20, 3);
    let xs = vec![0.1; 2 * 3];
    let mut short = vec![0.0; 5];
    let err = model
        .grads_batch(&[0.0], &xs, None, Some(&mut short))
        .unwrap_err();
    assert!(err.to_string().contains("c × K"), "{err}");
    let mut gx = vec![0.0; 7];
    assert!(
        model
            .grads_batch(&[0.0], &[0.1; 7], None, Some(&mut gx))
            .is_err()
    );
}

#[test]
fn logistic_predictive_is_the_particle_average() {
    let particles = [1.0, 0.0, -1.0, 0.0];
    let p = BayesianLogistic::predictive(&particles, 2, &[2.0, 5.0]);
    let s = |a: f64| 1.0 / (1.0 + (-a).exp());
    assert!((p - 0.5 * (s(2.0) + s(-2.0))).abs() < 1e-15);
}

fn decoder_fixture(likelihood: PixelLikelihood) -> (Decoder, Vec<f64>, Vec<f64>) {
    let shape = DecoderShape {
        latent: 3,
        hidden: 5,
        output: 8,
    };
    let m = 4;
    let data: Vec<f64> = (0..m * 8)
        .map(|i| match likelihood {
            PixelLikelihood::Bernoulli => 0.5 + 0.5 * wobble(i, 0.2),
            PixelLikelihood::Gaussian { .. } => wobble(i, 0.2),
        })
        .collect();
    let model = Decoder::new(shape, likelihood, data).unwrap();
    let theta: Vec<f64> = (0..shape.theta_dim())
        .map(|i| 0.8 * wobble(i, 0.4))
        .collect();
    let x: Vec<f64> = (0..m * 3).map(|i| wobble(i, 0.6)).collect();
    (model, theta, x)
}

#[test]
fn decoder_backpropagation_matches_finite_differences() {
    for lik in [
        PixelLikelihood::Bernoulli,
        PixelLikelihood::Gaussian { sigma: 0.7 },
    ] {
        let (model, theta, x) = decoder_fixture(lik);
        assert_eq!(model.theta_dim(), 5 * 3 + 5 + 8 * 5 + 8);
        assert_eq!(model.latent_dim(), 12);
        assert_fd(&model, &theta, &x, 1e-7);
    }
}

#[test]
fn decoder_decode_is_the_pixel_mean() {
    let (model, theta, x) = decoder_fixture(PixelLikelihood::Bernoulli);
    let mut out = vec![0.0; 8];
    model.decode(&theta, &x[..3], &mut out);
    assert!(out.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        HierarchicalGaussian::new(vec![]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        HierarchicalGaussian::new(vec![1.0, f64::NAN]),
        Err(EnergyError::InvalidParameter { name: "y", .. })
    ));
    assert!(matches!(
        BayesianLogistic::new(vec![1.0; 6], vec![0.0, 1.0], 3, 0.0),
        Err(EnergyError::InvalidParameter {
            name: "prior_var",
            ..
        })
    ));
    assert!(matches!(
        BayesianLogistic::new(vec![1.0; 5], vec![0.0, 1.0], 3, 5.0),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        BayesianLogistic::new(vec![1.0; 6], vec![0.0, 2.0], 3, 5.0),
        Err(EnergyError::InvalidParameter { name: "label", .. })
    ));
    let shape = DecoderShape {
        latent: 2,
        hidden: 3,
        output: 4,
    };
    assert!(matches!(
        Decoder::new(shape, PixelLikelihood::Bernoulli, vec![1.5; 4]),
        Err(EnergyError::InvalidParameter { name: "pixel", .. })
    ));
    assert!(matches!(
        Decoder::new(
            shape,
            PixelLikelihood::Gaussian { sigma: -1.0 },
            vec![0.5; 4]
        ),
        Err(EnergyError::InvalidParameter { name: "sigma", .. })
    ));
    assert!(matches!(
        Decoder::new(shape, PixelLikelihood::Bernoulli, vec![0.5; 5]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    let model = HierarchicalGaussian::new(vec![1.0, 2.0]).unwrap();
    assert!(matches!(
        check_dims(&model, &[0.0], &[1.0]),
        Err(EnergyError::DimensionMismatch {
            what: "latent x",
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn logistic_fd_at_random_points(theta in -3.0f64..3.0, scale in 0.0f64..3.0, salt in 0.0f64..10.0) {
        let model = logistic_fixture(25, 4);
        let x: Vec<f64> = (0..4).map(|i| scale * wobble(i, salt)).collect();
        let c = grad_fd_check(&model, &[theta], &x, 1e-5).unwrap();
        prop_assert!(c.theta_rel_err < 1e-7 && c.x_rel_err < 1e-7, "{:?}", c);
    }

    #[test]
    fn decoder_fd_at_random_points(salt in 0.0f64..10.0, scale in 0.1f64..2.0) {
        let (model, theta, _) = decoder_fixture(PixelLikelihood::Bernoulli);
        let theta: Vec<f64> = theta.iter().map(|t| scale * t).collect();
        let x: Vec<f64> = (0..12).map(|i| 1.5 * wobble(i, salt)).collect();
        let c = grad_fd_check(&model, &theta, &x, 1e-5).unwrap();
        prop_assert!(c.theta_rel_err < 1e-7 && c.x_rel_err < 1e-7, "{:?}", c);
    }
}

/// The average energy (1/N) Σ_i E(θ, x_i) of a particle block.
fn mean_energy<M: LatentModel>(model: &M, theta: f64, xs: &[f64]) -> f64 {
    let d = model.latent_dim();
    let n = xs.len() / d;
    xs.chunks_exact(d)
        .map(|x| model.energy(&[theta], x).unwrap())
        .sum::<f64>()
        / n as f64
}

/// ∇²_θ E against central differences of ∇_θ E, and θ*(q) as the minimiser of the
/// particle-averaged energy: its central-difference derivative vanishes there and the
/// average energy rises on both sides (toy model and logistic regression, 3 particles).
#[test]
fn theta_hessian_and_optimal_theta_match_finite_differences() {
    let y: Vec<f64> = (0..7).map(|k| 3.0 + wobble(k, 0.1)).collect();
    let toy = HierarchicalGaussian::new(y).unwrap();
    let logistic = logistic_fixture(40, 6);
    fn check<M: LatentModel>(model: &M, salt: f64) {
        let d = model.latent_dim();
        let xs: Vec<f64> = (0..3 * d).map(|i| 2.0 * wobble(i, salt)).collect();
        for theta in [-1.3, 0.0, 2.7] {
            let err =
                meanfield_energy::latent::hess_theta_fd_check(model, &[theta], &xs[..d], 1e-5)
                    .unwrap();
            assert!(err < 1e-7, "Hessian vs FD: {err}");
        }
        let mut opt = [f64::NAN];
        model.optimal_theta(&xs, &mut opt).unwrap();
        let t = opt[0];
        let h = 1e-4;
        let slope = (mean_energy(model, t + h, &xs) - mean_energy(model, t - h, &xs)) / (2.0 * h);
        assert!(
            slope.abs() < 1e-6,
            "d/dθ of the mean energy at θ* = {slope}"
        );
        let f0 = mean_energy(model, t, &xs);
        assert!(mean_energy(model, t + 0.1, &xs) > f0 && mean_energy(model, t - 0.1, &xs) > f0);
        // An empty block is a typed error, not NaN.
        assert!(matches!(
            model.optimal_theta(&[], &mut opt),
            Err(EnergyError::DimensionMismatch { .. })
        ));
    }
    check(&toy, 0.2);
    check(&logistic, 0.6);
}

/// A model without ∇²_θ E or θ*(q) says so with a typed error naming the quantity.
#[test]
fn missing_hessian_and_optimal_theta_are_typed_errors() {
    let (decoder, theta, x) = decoder_fixture(PixelLikelihood::Bernoulli);
    let mut out = vec![0.0; decoder.theta_dim() * decoder.theta_dim()];
    match decoder.hess_theta(&theta, &x, &mut out) {
        Err(EnergyError::NotAvailable { quantity, model }) => {
            assert!(
                quantity.contains("Hessian") && model.contains("Decoder"),
                "{quantity} {model}"
            );
        }
        other => panic!("expected NotAvailable, got {other:?}"),
    }
    let e = decoder.optimal_theta(&x, &mut out).unwrap_err();
    assert!(e.to_string().contains("optimal θ"), "{e}");
}
