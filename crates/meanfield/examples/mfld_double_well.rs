//! MFLD on a user functional: the double well V(x) = (x² − 1)² plus the mean-field
//! attraction (κ/4)∬|x − y|² dμ dμ, i.e. the drift V'(x) + κ(x − E x).
//!
//! All particles start in the right well and the noise carries half of them over the
//! barrier. Since κ E₀x² < λ, the symmetric state ρ₀ ∝ exp(−(V + κx²/2)/λ) is the stable
//! minimiser of F + λ Ent: the example checks E x ≈ 0 and E x² against ρ₀ by quadrature
//! (5 Monte-Carlo standard errors, plus 0.02 for the O(η) Euler bias).
//!
//! Run: `cargo run -p meanfield --release --example mfld_double_well`
use meanfield::prelude::*;

/// F(μ) = ∫ (x² − 1)² dμ + (κ/2) Var_μ(x) on R.
struct DoubleWell {
    kappa: f64,
}

impl Functional for DoubleWell {
    fn dim(&self) -> usize {
        1
    }
    fn fingerprint(&self) -> String {
        format!("double-well(kappa={:e})", self.kappa)
    }
    /// F(μ) = ∫ δF/δμ dμ for the constant chosen in `first_variation`.
    fn value(&self, e: &Ensemble) -> Result<f64, EnergyError> {
        let mut v = vec![0.0; e.n()];
        self.first_variation(e, &mut v)?;
        Ok(v.iter().enumerate().map(|(i, v)| e.weight(i) * v).sum())
    }
    fn first_variation_grad(&self, e: &Ensemble, out: &mut [f64]) -> Result<(), EnergyError> {
        let (m, k) = (e.mean()[0], self.kappa);
        for (o, x) in out.iter_mut().zip(e.as_slice()) {
            *o = 4.0 * x * (x * x - 1.0) + k * (x - m);
        }
        Ok(())
    }
    /// δF/δμ(μ, x) = V(x) + (κ/2)(x − E x)², up to a constant.
    fn first_variation(&self, e: &Ensemble, out: &mut [f64]) -> Result<(), EnergyError> {
        let (m, k) = (e.mean()[0], self.kappa);
        for (o, x) in out.iter_mut().zip(e.as_slice()) {
            *o = (x * x - 1.0).powi(2) + 0.5 * k * (x - m).powi(2);
        }
        Ok(())
    }
}

/// Runs the example.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (kappa, lambda, n) = (0.2, 0.5, 4_000.0);
    let mut mfld = Mfld::new(DoubleWell { kappa }, LangevinParams::new(lambda, 0.005)?)?;
    let start = Ensemble::from_fn(n as usize, 1, Domain::Euclidean, |_, x| x[0] = 1.0)?;
    let mut run = Checkpoint::start(&mfld, start, 1)?;
    mfld.runner(6_000)
        .observe(2_000, |o| {
            let right = o.state.as_slice().iter().filter(|x| **x > 0.0).count() as f64 / n;
            let (t, m) = (o.time, o.state.mean()[0]);
            println!(
                "t = {t:4.1}: wells {right:.3} | {:.3}, mean {m:+.3}",
                1.0 - right
            );
            Ok(Control::Continue)
        })
        .run(&mut mfld, &mut run)?;
    let avg = |f: &dyn Fn(f64) -> f64| run.state.as_slice().iter().map(|&x| f(x)).sum::<f64>() / n;
    let (mean, m2) = (avg(&|x| x), avg(&|x| x * x));
    let (se1, se2) = ((m2 / n).sqrt(), (avg(&|x| (x * x - m2).powi(2)) / n).sqrt());
    // E x² under ρ₀ by the trapezoid rule on [−4, 4].
    let rho = |x: f64| (-((x * x - 1.0).powi(2) + 0.5 * kappa * x * x) / lambda).exp();
    let grid = (0..=8_000).map(|k| -4.0 + k as f64 * 1e-3);
    let exact = grid.clone().map(|x| x * x * rho(x)).sum::<f64>() / grid.map(rho).sum::<f64>();
    println!("E x = {mean:+.4} (exact 0 ± {se1:.4}), E x² = {m2:.4} (exact {exact:.4} ± {se2:.4})");
    if mean.abs() > 5.0 * se1 || (m2 - exact).abs() > 5.0 * se2 + 0.02 {
        return Err(format!("not at the symmetric state: E x = {mean}, E x² = {m2}").into());
    }
    Ok(())
}
