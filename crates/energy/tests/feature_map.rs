//! Finite-difference checks of every feature map's Jacobian and weighted Hessian, and of
//! the masked step factorisation against dense algebra.

use meanfield_energy::{Acf1, FeatureMap, MultiLagAcf, ScaledFeatures, StructuredHessian};
use meanfield_linalg::{BlockSolver, dense_log_det, row_major};
use proptest::prelude::*;

const H: f64 = 1e-5;

/// Central-difference Jacobian of Φ (row-major K × T).
fn fd_jacobian<F: FeatureMap>(f: &F, x: &[f64]) -> Vec<f64> {
    let (t, k) = (f.len(), f.n_features());
    let mut out = vec![0.0; k * t];
    let (mut p, mut m) = (vec![0.0; k], vec![0.0; k]);
    for j in 0..t {
        let mut xp = x.to_vec();
        xp[j] += H;
        f.eval(&xp, &mut p).unwrap();
        xp[j] -= 2.0 * H;
        f.eval(&xp, &mut m).unwrap();
        for r in 0..k {
            out[r * t + j] = (p[r] - m[r]) / (2.0 * H);
        }
    }
    out
}

/// Central-difference Hessian of x ↦ Σ_k c_k Φ_k(x) from the analytic gradient.
fn fd_hessian<F: FeatureMap>(f: &F, x: &[f64], c: &[f64]) -> Vec<f64> {
    let (t, k) = (f.len(), f.n_features());
    let grad = |y: &[f64]| {
        let mut j = vec![0.0; k * t];
        f.jacobian(y, &mut j).unwrap();
        (0..t)
            .map(|s| (0..k).map(|r| c[r] * j[r * t + s]).sum::<f64>())
            .collect::<Vec<_>>()
    };
    let mut out = vec![0.0; t * t];
    for j in 0..t {
        let mut xp = x.to_vec();
        xp[j] += H;
        let gp = grad(&xp);
        xp[j] -= 2.0 * H;
        let gm = grad(&xp);
        for i in 0..t {
            out[i * t + j] = (gp[i] - gm[i]) / (2.0 * H);
        }
    }
    out
}

fn check_map<F: FeatureMap>(f: &F, x: &[f64], c: &[f64]) -> Result<(), TestCaseError> {
    let (t, k) = (f.len(), f.n_features());
    let mut jac = vec![0.0; k * t];
    f.jacobian(x, &mut jac).unwrap();
    for (a, b) in jac.iter().zip(fd_jacobian(f, x)) {
        prop_assert!(
            (a - b).abs() <= 1e-7 * (1.0 + a.abs()),
            "Jacobian {a} vs FD {b}"
        );
    }
    let mut h = f.new_hessian();
    f.weighted_hessian(x, c, &mut h).unwrap();
    let dense = h.to_dense_row_major();
    for (a, b) in dense.iter().zip(fd_hessian(f, x, c)) {
        prop_assert!(
            (a - b).abs() <= 1e-6 * (1.0 + a.abs()),
            "Hessian {a} vs FD {b}"
        );
    }
    // matvec agrees with the dense Hessian
    let v: Vec<f64> = (0..t).map(|i| (i as f64 * 0.7).sin()).collect();
    let mut y = vec![0.0; t];
    h.matvec_into(&v, &mut y).unwrap();
    for i in 0..t {
        let want: f64 = (0..t).map(|j| dense[i * t + j] * v[j]).sum();
        prop_assert!((y[i] - want).abs() <= 1e-12 * (1.0 + want.abs()));
    }
    Ok(())
}

/// The masked step block B̃ = P(I − sH)P + (I − P): its log|det| equals that of the
/// non-symmetric A = I − sPH, and B̃⁻¹Pv = A⁻¹Pv.
fn check_step_factor<Hs: StructuredHessian>(
    h: &Hs,
    s: f64,
    mask: &[bool],
) -> Result<(), TestCaseError> {
    let t = h.dim();
    let hd = h.to_dense_row_major();
    let a: Vec<f64> = (0..t * t)
        .map(|k| {
            let (i, j) = (k / t, k % t);
            let id = if i == j { 1.0 } else { 0.0 };
            if mask[i] { id - s * hd[k] } else { id }
        })
        .collect();
    let Ok(want) = dense_log_det(row_major(&a, t, t).unwrap()) else {
        return Ok(());
    };
    let mut f = h.new_factor();
    if h.factor_step(s, Some(mask), &mut f).is_err() {
        return Ok(()); // exactly singular pivots are not the point of this test
    }
    let got = f.log_det().unwrap();
    prop_assume!(want.log_abs.abs() < 30.0);
    prop_assert!((got.log_abs - want.log_abs).abs() <= 1e-8 * (1.0 + want.log_abs.abs()));
    prop_assert_eq!(got.sign, want.sign);
    let mut v: Vec<f64> = (0..t)
        .map(|i| if mask[i] { (i as f64).cos() } else { 0.0 })
        .collect();
    let rhs = v.clone();
    f.solve_in_place(&mut v).unwrap();
    for i in 0..t {
        let av: f64 = (0..t).map(|j| a[i * t + j] * v[j]).sum();
        prop_assert!((av - rhs[i]).abs() <= 1e-7 * (1.0 + v.iter().map(|z| z.abs()).sum::<f64>()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn acf1_derivatives(x in prop::collection::vec(-2.0f64..2.0, 2..12), c in prop::collection::vec(-3.0f64..3.0, 2)) {
        let f = Acf1::new(x.len()).unwrap();
        check_map(&f, &x, &c)?;
    }

    #[test]
    fn multi_lag_derivatives(x in prop::collection::vec(-2.0f64..2.0, 6..12), lag in 0usize..4, moments in any::<bool>(), seed in 0u64..1000) {
        let f = MultiLagAcf::new(x.len(), lag, moments).unwrap();
        let c: Vec<f64> = (0..f.n_features()).map(|k| ((seed + 7 * k as u64) as f64).sin()).collect();
        check_map(&f, &x, &c)?;
    }

    #[test]
    fn scaled_derivatives(x in prop::collection::vec(-2.0f64..2.0, 6..10), lag in 0usize..3, s in prop::collection::vec(0.1f64..5.0, 8)) {
        let inner = MultiLagAcf::new(x.len(), lag, false).unwrap();
        let k = inner.n_features();
        let f = ScaledFeatures::new(inner, s[..k].to_vec()).unwrap();
        let c: Vec<f64> = (0..k).map(|j| (j as f64 + 0.5).sin()).collect();
        check_map(&f, &x, &c)?;
    }

    /// A map that declares `hessian_is_constant` (MF-MGDM then factors one block per
    /// group) gives the same weighted Hessian bits at any two paths; the multi-lag map,
    /// whose Hessian reads x, does not declare it.
    #[test]
    fn constant_hessians_do_not_read_the_path(x in prop::collection::vec(-2.0f64..2.0, 3..12), y in prop::collection::vec(-2.0f64..2.0, 12), c in prop::collection::vec(-3.0f64..3.0, 2), scale in prop::collection::vec(0.1f64..4.0, 2)) {
        let t = x.len();
        let y = &y[..t];
        let acf = Acf1::new(t).unwrap();
        let scaled = ScaledFeatures::new(acf, scale).unwrap();
        prop_assert!(acf.hessian_is_constant() && scaled.hessian_is_constant());
        prop_assert!(!MultiLagAcf::new(t, 1, true).unwrap().hessian_is_constant());
        let dense_at = |f: &dyn Fn(&[f64], &mut <Acf1 as FeatureMap>::Hessian), x: &[f64]| {
            let mut h = acf.new_hessian();
            f(x, &mut h);
            h.to_dense_row_major().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        let plain = |x: &[f64], h: &mut _| acf.weighted_hessian(x, &c, h).unwrap();
        let scaled_h = |x: &[f64], h: &mut _| scaled.weighted_hessian(x, &c, h).unwrap();
        prop_assert_eq!(dense_at(&plain, &x), dense_at(&plain, y));
        prop_assert_eq!(dense_at(&scaled_h, &x), dense_at(&scaled_h, y));
    }

    #[test]
    fn masked_step_factor_matches_dense(x in prop::collection::vec(-2.0f64..2.0, 3..12), mask in prop::collection::vec(any::<bool>(), 12), s in 0.1f64..5.0, lag in 1usize..3) {
        let t = x.len();
        let mask = &mask[..t];
        let f = Acf1::new(t).unwrap();
        let mut h = f.new_hessian();
        f.weighted_hessian(&x, &[0.3, -0.4], &mut h).unwrap();
        check_step_factor(&h, s, mask)?;
        let g = MultiLagAcf::new(t, lag, true).unwrap();
        let c: Vec<f64> = (0..g.n_features()).map(|k| 0.2 * (k as f64 + 1.0).cos()).collect();
        let mut hb = g.new_hessian();
        g.weighted_hessian(&x, &c, &mut hb).unwrap();
        check_step_factor(&hb, s, mask)?;
    }
}

#[test]
fn acf1_values_follow_the_spec() {
    let f = Acf1::new(4).unwrap();
    let x = [1.0, 2.0, 3.0, 4.0];
    let mut phi = [0.0; 2];
    f.eval(&x, &mut phi).unwrap();
    // Φ₁ = (2 + 6 + 12)/4, Φ₂ = (4 + 9 + 16)/4 (x_0 excluded)
    assert_eq!(phi, [5.0, 29.0 / 4.0]);
    let g = MultiLagAcf::new(4, 1, true).unwrap();
    let mut p = vec![0.0; g.n_features()];
    g.eval(&x, &mut p).unwrap();
    assert_eq!(
        p,
        vec![
            2.5,
            25.0,
            7.5,
            5.0,
            (1.0 + 16.0 + 81.0 + 256.0) / 4.0,
            (4.0 + 36.0 + 144.0) / 4.0
        ]
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(Acf1::new(1).is_err());
    assert!(MultiLagAcf::new(4, 4, false).is_err());
    assert!(ScaledFeatures::new(Acf1::new(4).unwrap(), vec![1.0]).is_err());
    assert!(ScaledFeatures::new(Acf1::new(4).unwrap(), vec![1.0, 0.0]).is_err());
    assert!(ScaledFeatures::new(Acf1::new(4).unwrap(), vec![1.0, f64::NAN]).is_err());
    let f = Acf1::new(4).unwrap();
    assert!(f.eval(&[1.0; 3], &mut [0.0; 2]).is_err());
    assert!(f.eval(&[1.0; 4], &mut [0.0; 3]).is_err());
    assert!(f.jacobian(&[1.0; 4], &mut [0.0; 7]).is_err());
    let mut h = f.new_hessian();
    assert!(f.weighted_hessian(&[1.0; 4], &[1.0], &mut h).is_err());
    let mut fac = h.new_factor();
    assert!(h.factor_step(1.0, Some(&[true; 3]), &mut fac).is_err());
}

/// The ACF(1) Jacobian equals the spec's per-coordinate formula bit for bit (end points,
/// T = 2, signed zeros included): ∂Φ₁/∂x_t = (x_{t−1} + x_{t+1})/T with a missing
/// neighbour +0, ∂Φ₂/∂x_t = 2x_t/T for t ≥ 1.
#[test]
fn acf1_jacobian_is_the_per_coordinate_formula_bit_for_bit() {
    for t in 2..9 {
        let f = Acf1::new(t).unwrap();
        let x: Vec<f64> = (0..t)
            .map(|k| match k % 4 {
                0 => -0.0,
                1 => (k as f64 * 0.37).sin(),
                2 => 0.0,
                _ => -(k as f64) * 1.5,
            })
            .collect();
        let mut jac = vec![f64::NAN; 2 * t];
        f.jacobian(&x, &mut jac).unwrap();
        let inv_t = 1.0 / t as f64;
        for k in 0..t {
            let left = if k >= 1 { x[k - 1] } else { 0.0 };
            let right = if k + 1 < t { x[k + 1] } else { 0.0 };
            let g1 = (left + right) * inv_t;
            let g2 = if k >= 1 { 2.0 * x[k] * inv_t } else { 0.0 };
            assert_eq!(jac[k].to_bits(), g1.to_bits(), "T = {t}, ∂Φ₁/∂x_{k}");
            assert_eq!(jac[t + k].to_bits(), g2.to_bits(), "T = {t}, ∂Φ₂/∂x_{k}");
        }
    }
}
