//! Particle EM (PGD and MPD) on a user latent-variable model: x_j ~ N(θ, 1) and
//! y_j ~ N(x_j, τ²), j = 1..M, with τ known. The marginal is y_j ~ N(θ, 1 + τ²), so the
//! maximum-likelihood estimate is θ̂ = mean(y).
//!
//! The example runs both schemes from θ = 0 and checks |θ − θ̂| < 0.05 at the end
//! (θ tracks the mean of N·M approximately posterior particles, whose Monte-Carlo
//! error is ≈ 0.01 here; the Euler step leaves the Gaussian posterior mean unbiased).
//!
//! Run: `cargo run -p meanfield --release --example particle_em`
use meanfield::measures::InitialLaw;
use meanfield::prelude::*;

/// E(θ, x) = Σ_j (x_j − θ)²/2 + (y_j − x_j)²/(2τ²), dropping constants.
struct NoisyGaussian {
    y: Vec<f64>,
    tau: f64,
}

impl LatentModel for NoisyGaussian {
    fn theta_dim(&self) -> usize {
        1
    }
    fn latent_dim(&self) -> usize {
        self.y.len()
    }
    fn fingerprint(&self) -> String {
        format!("noisy-gaussian(tau={:e},y={:?})", self.tau, self.y)
    }
    fn energy(&self, theta: &[f64], x: &[f64]) -> Result<f64, EnergyError> {
        let (t, s2) = (theta[0], self.tau * self.tau);
        Ok(x.iter()
            .zip(&self.y)
            .map(|(x, y)| 0.5 * (x - t).powi(2) + 0.5 * (y - x).powi(2) / s2)
            .sum())
    }
    fn grad_theta(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<(), EnergyError> {
        out[0] = x.iter().map(|x| theta[0] - x).sum();
        Ok(())
    }
    fn grad_x(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<(), EnergyError> {
        let s2 = self.tau * self.tau;
        for ((g, x), y) in out.iter_mut().zip(x).zip(&self.y) {
            *g = (x - theta[0]) + (x - y) / s2;
        }
        Ok(())
    }
}

/// PGD or MPD, chosen at run time.
type Scheme = Box<dyn Dynamics<State = LatentState, Info = ParticleEmInfo>>;

/// Runs the example.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (m, n, h, tau) = (20, 100, 0.05, 0.5f64);
    // Data from the model's marginal y ~ N(θ 1, (1 + τ²) I) with θ = 1.7.
    let marginal = InitialLaw::isotropic_gaussian(m, 1.7, (1.0 + tau * tau).sqrt());
    let y = marginal
        .sample(1, 3, streams::TOY_DATA)?
        .particle(0)
        .to_vec();
    let mle = y.iter().sum::<f64>() / m as f64;
    let model = || NoisyGaussian { y: y.clone(), tau };
    // ∇_θ E sums M terms: PGD takes h_θ = h/M, MPD damps θ critically (γ_θ = 2√M).
    let pgd = PgdParams::new(h / m as f64, h)?;
    let mpd = MpdParams::new(h, h)?.with_theta_momentum(1.0, 2.0 * (m as f64).sqrt())?;
    let schemes: [(&str, Scheme); 2] = [
        ("PGD", Box::new(Pgd::new(model(), pgd)?)),
        ("MPD", Box::new(Mpd::new(model(), mpd)?)),
    ];
    println!("MLE mean(y) = {mle:.4}");
    for (name, mut scheme) in schemes {
        let start = Ensemble::from_fn(n, m, Domain::Euclidean, |_, x| x.fill(0.0))?; // θ₀ = 0
        let mut run = Checkpoint::start(&scheme, start, 1)?;
        scheme
            .runner(400)
            .observe(100, |o| {
                println!("{name} t = {:4.1}: θ = {:.4}", o.time, o.state.theta[0]);
                Ok(Control::Continue)
            })
            .run(&mut scheme, &mut run)?;
        if (run.state.theta[0] - mle).abs() > 0.05 {
            return Err(format!("{name}: θ = {} is not the MLE {mle}", run.state.theta[0]).into());
        }
    }
    Ok(())
}
