//! Criterion benchmarks of meanfield.

/// The Bayesian logistic regression of the particle-EM benches and peers: all 569
/// breast-cancer rows, the 30 features standardised with the full-data mean and sd
/// (n − 1), prior N(θ·1, 5I) (the same arithmetic as `peers/pgd_numpy.py`).
pub fn blr_model() -> Result<meanfield_energy::BayesianLogistic, String> {
    let t = meanfield_experiments::data::breast_cancer().map_err(|e| e.to_string())?;
    let (n, k) = (t.rows, t.cols);
    let mut mean = vec![0.0; k];
    for i in 0..n {
        for (m, v) in mean.iter_mut().zip(t.row(i)) {
            *m += v / n as f64;
        }
    }
    let mut sd = vec![0.0; k];
    for i in 0..n {
        for ((s, v), m) in sd.iter_mut().zip(t.row(i)).zip(&mean) {
            *s += (v - m) * (v - m) / (n as f64 - 1.0);
        }
    }
    let features: Vec<f64> = (0..n)
        .flat_map(|i| {
            t.row(i)
                .iter()
                .zip(&mean)
                .zip(&sd)
                .map(|((v, m), s)| (v - m) / s.sqrt())
                .collect::<Vec<_>>()
        })
        .collect();
    let labels = t.labels.iter().map(|&l| l as f64).collect();
    meanfield_energy::BayesianLogistic::new(features, labels, k, 5.0).map_err(|e| e.to_string())
}
