//! Samplers of the path laws (process::{ar, cir, latent}) against their known stationary
//! moments. Each statistic is averaged over independent paths (one NoiseStreams stream
//! per path, fixed seed); the tolerance is 5 Monte-Carlo standard errors estimated from
//! the spread across paths.

use meanfield_energy::process::{
    ArProcess, CirProcess, Exponential, PathLaw, StandardGaussian, TruncatedGaussian,
};
use meanfield_measures::rng::NoiseStreams;

/// Draws `n` independent paths of `law` (stream i of seed `seed`).
fn paths(law: &dyn PathLaw, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let streams = NoiseStreams::new(seed, 0).at_step(0);
    (0..n)
        .map(|i| {
            let mut x = vec![0.0; law.len()];
            law.sample(&mut streams.rng(i as u64), &mut x).unwrap();
            x
        })
        .collect()
}

/// Mean over paths of a per-path statistic, and its standard error.
fn mean_se(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let m = values.iter().sum::<f64>() / n;
    let v = values.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

/// Per-path lag-`lag` autocovariance about the known mean `mu`
/// ((1/(T−lag)) Σ_t (x_t − μ)(x_{t−lag} − μ); lag 0 is the variance): unbiased for a
/// stationary path, so its mean over paths estimates γ_lag.
fn autocov(x: &[f64], mu: f64, lag: usize) -> f64 {
    let m = x.len() - lag;
    (lag..x.len())
        .map(|t| (x[t] - mu) * (x[t - lag] - mu))
        .sum::<f64>()
        / m as f64
}

fn assert_close(what: &str, values: &[f64], truth: f64) {
    let (m, se) = mean_se(values);
    assert!(
        se < 0.02,
        "{what}: standard error {se} too large to test anything"
    );
    assert!(
        (m - truth).abs() <= 5.0 * se,
        "{what}: {m} vs {truth} (5 se = {})",
        5.0 * se
    );
}

fn check_stationary(what: &str, law: &dyn PathLaw, mean: f64, gammas: &[f64], seed: u64) {
    let xs = paths(law, 2000, seed);
    let means: Vec<f64> = xs
        .iter()
        .map(|x| x.iter().sum::<f64>() / x.len() as f64)
        .collect();
    assert_close(&format!("{what} mean"), &means, mean);
    for (lag, &g) in gammas.iter().enumerate() {
        let c: Vec<f64> = xs.iter().map(|x| autocov(x, mean, lag)).collect();
        assert_close(&format!("{what} γ_{lag}"), &c, g);
    }
}

#[test]
fn ar_paths_have_unit_variance_and_yule_walker_autocorrelations() {
    for (i, a) in [&[0.1][..], &[0.2, -0.1], &[-0.1, 0.2, 0.1], &[0.9]]
        .iter()
        .enumerate()
    {
        let ar = ArProcess::new(a, 200).unwrap();
        let gammas: Vec<f64> = (0..=a.len().max(2))
            .map(|k| ar.autocorrelation(k))
            .collect();
        assert_eq!(gammas[0], 1.0);
        check_stationary(&format!("AR{a:?}"), &ar, 0.0, &gammas, 10 + i as u64);
    }
}

#[test]
fn cir_paths_have_stationary_mean_variance_and_autocorrelation() {
    for (i, cir) in [
        CirProcess::cir0(200).unwrap(),
        CirProcess::cir1(200).unwrap(),
        CirProcess::new(1.3, 0.7, 0.9, 0.5, 200).unwrap(),
    ]
    .iter()
    .enumerate()
    {
        let var = cir.theta() * cir.sigma() * cir.sigma() / (2.0 * cir.kappa());
        let rho = (-cir.kappa() * cir.dt()).exp();
        assert_eq!(cir.stationary_variance(), var);
        assert!(cir.non_negative());
        let xs = paths(cir, 5, 99);
        assert!(xs.iter().flatten().all(|&v| v >= 0.0));
        check_stationary(
            &format!("CIR q = {}", cir.order()),
            cir,
            cir.theta(),
            &[var, var * rho, var * rho * rho],
            20 + i as u64,
        );
    }
}

#[test]
fn cir_transition_sampler_has_the_exact_conditional_moments() {
    let cir = CirProcess::cir1(2).unwrap();
    let (k, th, s) = (cir.kappa(), cir.theta(), cir.sigma());
    let e = (-k).exp();
    let streams = NoiseStreams::new(5, 1).at_step(0);
    for (j, &prev) in [0.0, 0.5, 3.0, 25.0].iter().enumerate() {
        let draws: Vec<f64> = (0..20_000u64)
            .map(|i| {
                cir.sample_transition(prev, &mut streams.rng(1_000_000 * j as u64 + i))
                    .unwrap()
            })
            .collect();
        let mean = th + (prev - th) * e;
        let var = prev * s * s / k * (e - e * e) + th * s * s / (2.0 * k) * (1.0 - e) * (1.0 - e);
        let rel: Vec<f64> = draws.iter().map(|x| x / mean).collect();
        assert_close(
            &format!("transition mean from {prev} (relative)"),
            &rel,
            1.0,
        );
        let sq: Vec<f64> = draws
            .iter()
            .map(|x| (x - mean) * (x - mean) / var)
            .collect();
        assert_close(
            &format!("transition variance from {prev} (relative)"),
            &sq,
            1.0,
        );
    }
}

#[test]
fn latent_samplers_have_their_moments() {
    let t = 10;
    let gauss = StandardGaussian::new(t).unwrap();
    check_stationary("N(0,1)", &gauss, 0.0, &[1.0, 0.0], 30);
    let expo = Exponential::new(t).unwrap();
    check_stationary("Exp(1)", &expo, 1.0, &[1.0, 0.0], 31);
    let cir1 = CirProcess::cir1(t).unwrap();
    for (i, tg) in [
        TruncatedGaussian::matching_stationary(&cir1).unwrap(),
        // α < 0 (plain rejection) and α > 0 (Robert's exponential proposal) branches.
        TruncatedGaussian::from_moments(t, 1.0, 0.3).unwrap(),
        TruncatedGaussian::from_moments(t, 1.0, 0.95).unwrap(),
    ]
    .iter()
    .enumerate()
    {
        let xs = paths(tg, 5, 98);
        assert!(xs.iter().flatten().all(|&v| v >= 0.0));
        check_stationary(
            &format!("truncated N (mean {}, std {})", tg.mean(), tg.std()),
            tg,
            tg.mean(),
            &[tg.std() * tg.std(), 0.0],
            40 + i as u64,
        );
    }
}

#[test]
fn sampling_is_a_function_of_the_stream() {
    let laws: Vec<Box<dyn PathLaw>> = vec![
        Box::new(ArProcess::new(&[-0.1, 0.2, 0.1], 50).unwrap()),
        Box::new(CirProcess::cir0(50).unwrap()),
        Box::new(TruncatedGaussian::from_moments(50, 1.0, 0.7).unwrap()),
    ];
    for law in &laws {
        let a = paths(law.as_ref(), 3, 7);
        let b = paths(law.as_ref(), 3, 7);
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
        assert!(a.iter().all(|x| law.log_density(x).unwrap().is_finite()));
    }
}
