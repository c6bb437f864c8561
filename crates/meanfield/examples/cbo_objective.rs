//! Consensus-based optimisation of a user objective: a shifted Rastrigin function in
//! two dimensions, f(x) = Σ_k (y_k² − 10 cos 2πy_k + 10), y = x − s, whose global
//! minimiser is x* = s with f(x*) = 0 among many local minima on a unit lattice.
//!
//! The run stops once the best particle of a step has f below 1e-6 (`StoppingRule`'s
//! energy tolerance, i.e. `Stop::energy_below`) or after 2 000 steps; `Cbo::outcome`
//! reports the consensus, and the example checks it is within 1e-3 of x* (sup norm).
//!
//! Run: `cargo run -p meanfield --release --example cbo_objective`
use meanfield::measures::InitialLaw;
use meanfield::prelude::*;

/// f(x) = Σ_k (y_k² − 10 cos 2πy_k + 10), y = x − shift.
struct ShiftedRastrigin {
    shift: [f64; 2],
}

impl Objective for ShiftedRastrigin {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, x: &[f64]) -> f64 {
        let y = x.iter().zip(&self.shift).map(|(x, s)| x - s);
        y.map(|y| y * y - 10.0 * (std::f64::consts::TAU * y).cos() + 10.0)
            .sum()
    }
    fn minimiser(&self) -> Option<Vec<f64>> {
        Some(self.shift.to_vec())
    }
    fn fingerprint(&self) -> String {
        format!("shifted-rastrigin(shift={:?})", self.shift)
    }
}

/// Runs the example.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let f = ShiftedRastrigin { shift: [1.3, -0.7] };
    let x_star = f.minimiser().ok_or("no minimiser")?;
    let params = CboParams::new(1.0, 1.0, 0.01)?
        .with_alpha(30.0)?
        .with_schedule(AlphaSchedule::cbxpy_default())?;
    let mut cbo = Cbo::new(f, params)?;
    let start = InitialLaw::uniform_cube(2, -4.0, 4.0).sample(200, 9, streams::CBO_INIT)?;
    let mut run = Checkpoint::start(&cbo, start, 9)?;
    let (max_steps, energy_tol) = (2_000, Some(1e-6));
    let rule = StoppingRule {
        max_steps,
        energy_tol,
        stagnation: None,
    };
    let summary = rule
        .runner()?
        .observe(100, |o| {
            if let Some(info) = o.info {
                let (k, v, f) = (o.step, &o.state.consensus, info.stats.f_min);
                println!("step {k:3}: consensus {v:.4?}, best f of the step {f:.1e}");
            }
            Ok(Control::Continue)
        })
        .run(&mut cbo, &mut run)?;
    let out = cbo.outcome(&run, &summary);
    let (v, dist) = (&out.consensus, out.sup_distance(&x_star)?);
    println!(
        "{:?} after {} steps, {} evaluations",
        out.reason, out.steps, out.evaluations
    );
    println!(
        "consensus {v:.5?}, f = {:.1e}, |v − x*|∞ = {dist:.1e}",
        out.consensus_value
    );
    if dist > 1e-3 {
        return Err(format!("consensus {v:?} is not near x* = {x_star:?}").into());
    }
    Ok(())
}
