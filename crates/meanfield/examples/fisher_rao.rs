//! Fisher–Rao reweighting of a fixed standard-Gaussian sample towards the minimiser of
//! F + σ KL(· | N(0, 1)) for a user functional F(m) = ∫ V dm, V(x) = |x − a|²/2, σ = 1.
//!
//! The minimiser is N(a/2, 1/2). With the unkernelised (density-ratio) variant and the
//! exponentiated step the weights after k steps are exactly W ∝ exp(−s_k V) with
//! s_k = 1 − (1 − hσ)^k, i.e. the self-normalised importance weights of
//! N(s_k a/(1 + s_k), 1/(1 + s_k)). The example checks the weighted mean against that
//! value within 5 (delta-method) standard errors, and prints a/2.
//!
//! Run: `cargo run -p meanfield --release --example fisher_rao`
use meanfield::measures::InitialLaw;
use meanfield::prelude::*;

/// F(m) = ∫ |x − a|²/2 dm on R.
struct Attraction {
    a: f64,
}

impl Functional for Attraction {
    fn dim(&self) -> usize {
        1
    }
    fn fingerprint(&self) -> String {
        format!("attraction(a={:e})", self.a)
    }
    fn value(&self, e: &Ensemble) -> Result<f64, EnergyError> {
        let v = e.as_slice().iter().enumerate();
        Ok(v.map(|(i, x)| e.weight(i) * 0.5 * (x - self.a).powi(2))
            .sum())
    }
    fn first_variation_grad(&self, e: &Ensemble, out: &mut [f64]) -> Result<(), EnergyError> {
        out.iter_mut()
            .zip(e.as_slice())
            .for_each(|(o, x)| *o = x - self.a);
        Ok(())
    }
    /// δF/δm(m, x) = V(x) (no additive constant).
    fn first_variation(&self, e: &Ensemble, out: &mut [f64]) -> Result<(), EnergyError> {
        out.iter_mut()
            .zip(e.as_slice())
            .for_each(|(o, x)| *o = 0.5 * (x - self.a).powi(2));
        Ok(())
    }
}

/// Runs the example.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (a, sigma, h, steps) = (1.5, 1.0, 0.05, 200);
    let params = FisherRaoParams::new(GaussianReference::standard(1)?, sigma, h)?;
    let mut fr = FisherRao::new(Attraction { a }, params)?;
    let law = InitialLaw::isotropic_gaussian(1, 0.0, 1.0); // the reference π itself
    let sample = law.sample(5_000, 11, streams::INITIAL_POSITIONS)?;
    let mut run = Checkpoint::start(&fr, sample, 11)?;
    fr.runner(steps)
        .observe(50, |o| {
            let (t, m, ess) = (o.time, o.state.mean()[0], o.info.map_or(5e3, |i| i.ess));
            println!("t = {t:4.1}: weighted mean {m:.4}, ESS {ess:.0}");
            Ok(Control::Continue)
        })
        .run(&mut fr, &mut run)?;
    let s = 1.0 - (1.0 - h * sigma).powi(steps as i32);
    let (exact, mean) = (s * a / (1.0 + s), run.state.mean()[0]);
    let (e, half, t) = (&run.state, a / 2.0, run.time);
    let se = (0..e.n()).map(|i| (e.weight(i) * (e.particle(i)[0] - mean)).powi(2));
    let se = se.sum::<f64>().sqrt();
    println!("mean {mean:.4}; flow at t = {t:.0}: {exact:.4} ± {se:.4}; minimiser a/2 = {half}");
    if (mean - exact).abs() > 5.0 * se || (exact - half).abs() > 1e-3 {
        return Err(format!("weighted mean {mean} is not {exact} ± 5·{se}").into());
    }
    Ok(())
}
