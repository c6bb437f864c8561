//! AR(p) target (process::ar): innovation variance and autocorrelations against an
//! independent Yule–Walker solve, log-likelihood against independent computations,
//! gradient against finite differences, typed errors.

use meanfield_energy::EnergyError;
use meanfield_energy::process::{ArProcess, PathLaw};
use meanfield_measures::rng::NoiseStreams;

const SPEC_CASES: &[&[f64]] = &[&[0.1], &[0.2, -0.1], &[-0.1, 0.2, 0.1]];

/// Solves A x = b by Gaussian elimination with partial pivoting (A row-major n×n).
fn gauss_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            let pivot = a[col].clone();
            for (x, p) in a[row][col..].iter_mut().zip(&pivot[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    x
}

/// Yule–Walker with γ_0 = 1: ρ_k = Σ_s a_s ρ_{|k−s|} (k = 1..p) as a p×p linear system,
/// then σ² = 1 − Σ_s a_s ρ_s. Returns (σ², ρ_1..ρ_p).
fn yule_walker(a: &[f64]) -> (f64, Vec<f64>) {
    let p = a.len();
    // Unknowns ρ_1..ρ_p; ρ_0 = 1 goes to the right-hand side.
    let mut m = vec![vec![0.0; p]; p];
    let mut rhs = vec![0.0; p];
    for k in 1..=p {
        m[k - 1][k - 1] += 1.0;
        for s in 1..=p {
            let lag = k.abs_diff(s);
            if lag == 0 {
                rhs[k - 1] += a[s - 1];
            } else {
                m[k - 1][lag - 1] -= a[s - 1];
            }
        }
    }
    let rho = gauss_solve(m, rhs);
    let sigma2 = 1.0 - a.iter().zip(&rho).map(|(a, r)| a * r).sum::<f64>();
    (sigma2, rho)
}

#[test]
fn innovation_variance_and_autocorrelations_solve_yule_walker() {
    let mut cases: Vec<Vec<f64>> = SPEC_CASES.iter().map(|c| c.to_vec()).collect();
    cases.push(vec![0.9]);
    cases.push(vec![0.5, 0.3, -0.2, 0.1]);
    cases.push(vec![1.2, -0.5]);
    for a in cases {
        let ar = ArProcess::new(&a, 16).unwrap();
        let (sigma2, rho) = yule_walker(&a);
        assert!(
            (ar.innovation_variance() - sigma2).abs() < 1e-14,
            "{a:?}: σ² {} vs {sigma2}",
            ar.innovation_variance()
        );
        for (k, r) in rho.iter().enumerate() {
            assert!(
                (ar.autocorrelation(k + 1) - r).abs() < 1e-14,
                "{a:?}: ρ_{}",
                k + 1
            );
        }
        // Beyond p the autocorrelations follow the AR recursion.
        let p = a.len();
        let lag = p + 3;
        let rec: f64 = (1..=p)
            .map(|s| a[s - 1] * ar.autocorrelation(lag - s))
            .sum();
        assert!((ar.autocorrelation(lag) - rec).abs() < 1e-15);
        assert_eq!(ar.autocorrelation(0), 1.0);
    }
    // AR(1): σ² = 1 − a², ρ_1 = a.
    let ar = ArProcess::new(&[0.1], 8).unwrap();
    assert!((ar.innovation_variance() - 0.99).abs() < 1e-15);
    assert!((ar.autocorrelation(1) - 0.1).abs() < 1e-16);
    // AR(2): ρ_1 = a_1 / (1 − a_2).
    let ar = ArProcess::new(&[0.2, -0.1], 8).unwrap();
    assert!((ar.autocorrelation(1) - 0.2 / 1.1).abs() < 1e-15);
}

/// The spec's likelihood written as a dense linear map: r = B x with B = I minus the
/// AR coefficients below the diagonal (rows t ≥ 1), standard deviations (1, σ, …, σ).
fn dense_residual_log_likelihood(a: &[f64], sigma2: f64, x: &[f64]) -> f64 {
    let t_len = x.len();
    let mut b = vec![vec![0.0; t_len]; t_len];
    for t in 0..t_len {
        b[t][t] = 1.0;
        if t >= 1 {
            for (s, coef) in a.iter().enumerate() {
                if t > s {
                    b[t][t - 1 - s] = -coef;
                }
            }
        }
    }
    let mut lp = 0.0;
    for (t, row) in b.iter().enumerate() {
        let r: f64 = row.iter().zip(x).map(|(bij, xj)| bij * xj).sum();
        let var = if t == 0 { 1.0 } else { sigma2 };
        lp += -0.5 * r * r / var - 0.5 * (2.0 * std::f64::consts::PI * var).ln();
    }
    lp
}

fn test_path(len: usize, seed: u64) -> Vec<f64> {
    let mut x = vec![0.0; len];
    NoiseStreams::new(seed, 9).fill_standard_normal(0, 0, &mut x);
    x
}

#[test]
fn log_likelihood_matches_dense_residual_form() {
    for (i, a) in SPEC_CASES.iter().enumerate() {
        let ar = ArProcess::new(a, 40).unwrap();
        let (sigma2, _) = yule_walker(a);
        for seed in 0..3 {
            let x = test_path(40, 100 * i as u64 + seed);
            let got = ar.log_density(&x).unwrap();
            let want = dense_residual_log_likelihood(a, sigma2, &x);
            assert!(
                (got - want).abs() < 1e-12 * want.abs().max(1.0),
                "{a:?}: {got} vs {want}"
            );
        }
    }
}

/// Exact stationary AR(1) log-density: x ~ N(0, Σ), Σ_ij = a^{|i−j|}, by a naive
/// Cholesky factorisation Σ = L Lᵀ: −½|L⁻¹x|² − Σ ln L_ii − (T/2) ln 2π.
fn exact_gaussian_ar1(a: f64, x: &[f64]) -> f64 {
    let n = x.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let sij = a.powi((i - j) as i32);
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                l[i][i] = (sij - s).sqrt();
            } else {
                l[i][j] = (sij - s) / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
        y[i] = (x[i] - s) / l[i][i];
    }
    let quad: f64 = y.iter().map(|v| v * v).sum();
    let logdet: f64 = (0..n).map(|i| l[i][i].ln()).sum();
    -0.5 * quad - logdet - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln()
}

#[test]
fn ar1_spec_likelihood_is_the_exact_stationary_density() {
    for &a in &[0.1, -0.6, 0.9] {
        let ar = ArProcess::new(&[a], 24).unwrap();
        for seed in 0..3 {
            let x = test_path(24, 7 + seed);
            let got = ar.log_density(&x).unwrap();
            let want = exact_gaussian_ar1(a, &x);
            assert!((got - want).abs() < 1e-10, "a = {a}: {got} vs exact {want}");
        }
    }
}

#[test]
fn gradient_matches_central_differences() {
    for a in SPEC_CASES {
        let ar = ArProcess::new(a, 12).unwrap();
        let x = test_path(12, 3);
        let mut g = vec![0.0; 12];
        let lp = ar.log_density_and_grad(&x, &mut g).unwrap();
        assert_eq!(lp, ar.log_density(&x).unwrap());
        let h = 1e-5;
        for j in 0..12 {
            let mut xp = x.clone();
            let mut xm = x.clone();
            xp[j] += h;
            xm[j] -= h;
            let fd = (ar.log_density(&xp).unwrap() - ar.log_density(&xm).unwrap()) / (2.0 * h);
            assert!(
                (fd - g[j]).abs() < 1e-7 * (1.0 + g[j].abs()),
                "{a:?}, j = {j}: {fd} vs {}",
                g[j]
            );
        }
    }
}

#[test]
fn non_stationary_coefficients_are_rejected() {
    for a in [
        &[1.0][..],
        &[-1.0],
        &[1.5],
        &[0.5, 0.6],
        &[0.0, 0.0, 1.0],
        &[2.0, -1.0],
    ] {
        match ArProcess::new(a, 10) {
            Err(EnergyError::InvalidParameter { name, .. }) => {
                assert_eq!(name, "AR partial autocorrelation κ_k", "{a:?}")
            }
            other => panic!("{a:?} accepted: {other:?}"),
        }
    }
}

#[test]
fn bad_inputs_give_typed_errors() {
    assert!(matches!(
        ArProcess::new(&[f64::NAN], 10),
        Err(EnergyError::InvalidParameter { .. })
    ));
    assert!(matches!(
        ArProcess::new(&[0.1], 0),
        Err(EnergyError::InvalidParameter { .. })
    ));
    let ar = ArProcess::new(&[0.1], 10).unwrap();
    assert!(matches!(
        ar.log_density(&[0.0; 9]),
        Err(EnergyError::DimensionMismatch {
            expected: 10,
            got: 9,
            ..
        })
    ));
    let mut x = vec![0.0; 10];
    x[4] = f64::NAN;
    assert!(matches!(
        ar.log_density(&x),
        Err(EnergyError::InvalidParameter { .. })
    ));
    let mut rng = NoiseStreams::new(1, 0).rng(0, 0);
    assert!(matches!(
        ar.sample(&mut rng, &mut [0.0; 11]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(!ar.non_negative());
}

#[test]
fn white_noise_is_ar0() {
    let ar = ArProcess::new(&[], 5).unwrap();
    assert_eq!(ar.innovation_variance(), 1.0);
    assert_eq!(ar.autocorrelation(1), 0.0);
    let x = [0.3, -1.0, 0.2, 2.0, 0.0];
    let want: f64 = x
        .iter()
        .map(|v| -0.5 * v * v - 0.5 * (2.0 * std::f64::consts::PI).ln())
        .sum();
    assert!((ar.log_density(&x).unwrap() - want).abs() < 1e-14);
}

/// Levinson step-up: AR coefficients with partial autocorrelations `kappa`
/// (φ_{k,j} = φ_{k−1,j} − κ_k φ_{k−1,k−j}, φ_{k,k} = κ_k).
fn coeffs_from_pacf(kappa: &[f64]) -> Vec<f64> {
    let mut phi: Vec<f64> = Vec::new();
    for &k in kappa {
        let prev = phi.clone();
        let m = prev.len();
        phi = (0..m).map(|j| prev[j] - k * prev[m - 1 - j]).collect();
        phi.push(k);
    }
    phi
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Every κ ∈ (−1, 1)^p is a stationary AR(p): accepted, its partial autocorrelations
    /// recovered, σ² = Π(1 − κ_k²) equal to the Yule–Walker solve; pushing one κ_k
    /// outside [−1, 1] makes it non-stationary and rejected.
    #[test]
    fn stationarity_region_is_the_pacf_cube(
        kappa in proptest::collection::vec(-0.95f64..0.95, 1..7),
        bad in 1.05f64..3.0,
        which in 0usize..7,
    ) {
        let a = coeffs_from_pacf(&kappa);
        let ar = ArProcess::new(&a, 8).unwrap();
        for (got, want) in ar.partial_autocorrelations().iter().zip(&kappa) {
            proptest::prop_assert!((got - want).abs() < 1e-10, "{got} vs {want}");
        }
        let (sigma2, _) = yule_walker(&a);
        let prod: f64 = kappa.iter().map(|k| 1.0 - k * k).product();
        proptest::prop_assert!((ar.innovation_variance() - sigma2).abs() < 1e-10);
        proptest::prop_assert!((ar.innovation_variance() - prod).abs() < 1e-12);
        let mut k2 = kappa.clone();
        let i = which % k2.len();
        k2[i] = if k2[i] < 0.0 { -bad } else { bad };
        proptest::prop_assert!(ArProcess::new(&coeffs_from_pacf(&k2), 8).is_err());
    }
}
