//! Mirror MFLD (entropic mirror map, the paper's dual Euler scheme) on a user functional
//! on the simplex Δ² ⊂ R³: F(μ) = ∫ ⟨c, x⟩ dμ + (κ/2)|E x − u|², u the barycentre.
//!
//! The example checks after every step that every particle is in the open simplex, and
//! at t = 3 that the mean moved towards the vertex e₀ of lowest potential. It stops
//! there because of the scheme's boundary bias (see `MirrorMfld`): particles pile up at
//! the faces, and by t = 20 two thirds lie within 1e-3 of one and the mean is back at
//! ≈ (0.42, 0.31, 0.27), not at the mean ≈ (0.559, 0.291, 0.151) of the minimiser of
//! F + λ Ent (by quadrature); η = 1e-4 does no better.
//!
//! Run: `cargo run -p meanfield --release --example mirror_simplex`
use meanfield::prelude::*;

/// F(μ) = ∫ ⟨c, x⟩ dμ + (κ/2)|E x − u|² on Δ², u = (1/3, 1/3, 1/3).
struct TiltedSimplex {
    c: [f64; 3],
    kappa: f64,
}

impl TiltedSimplex {
    /// ∇_x δF/δμ = c + κ(E x − u), the same at every particle.
    fn slope(&self, e: &Ensemble) -> Vec<f64> {
        let m = e.mean();
        let k = self.kappa;
        (0..3).map(|j| self.c[j] + k * (m[j] - 1.0 / 3.0)).collect()
    }
}

impl Functional for TiltedSimplex {
    fn dim(&self) -> usize {
        3
    }
    fn fingerprint(&self) -> String {
        format!("tilted-simplex(c={:?},kappa={:e})", self.c, self.kappa)
    }
    fn value(&self, e: &Ensemble) -> Result<f64, EnergyError> {
        let m = e.mean();
        let dev2: f64 = m.iter().map(|m| (m - 1.0 / 3.0).powi(2)).sum();
        Ok(m.iter().zip(&self.c).map(|(m, c)| m * c).sum::<f64>() + 0.5 * self.kappa * dev2)
    }
    fn first_variation_grad(&self, e: &Ensemble, out: &mut [f64]) -> Result<(), EnergyError> {
        let g = self.slope(e);
        out.chunks_exact_mut(3).for_each(|o| o.copy_from_slice(&g));
        Ok(())
    }
    /// δF/δμ(μ, x) = ⟨c + κ(E x − u), x⟩ (no additive constant).
    fn first_variation(&self, e: &Ensemble, out: &mut [f64]) -> Result<(), EnergyError> {
        let g = self.slope(e);
        for (o, x) in out.iter_mut().zip(e.rows()) {
            *o = x.iter().zip(&g).map(|(x, g)| x * g).sum();
        }
        Ok(())
    }
}

/// Runs the example.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (c, kappa, params) = ([0.0, 0.5, 1.0], 1.0, LangevinParams::new(0.1, 1e-3)?);
    let mut mirror = MirrorMfld::new(TiltedSimplex { c, kappa }, Entropic, params)?;
    let start = Ensemble::from_fn(1_000, 3, Domain::Simplex, |_, x| x.fill(1.0 / 3.0))?;
    let mut run = Checkpoint::start(&mirror, start, 3)?;
    mirror
        .runner(3_000)
        .observe(1, |o| {
            match o
                .state
                .rows()
                .position(|x| !Domain::Simplex.contains_interior(x))
            {
                Some(i) => Err(format!("particle {i} left: {:?}", o.state.particle(i)).into()),
                None => Ok(Control::Continue),
            }
        })
        .observe(500, |o| {
            let (t, m) = (o.time, o.state.mean());
            let near = o
                .state
                .rows()
                .filter(|x| x.iter().any(|v| *v < 1e-3))
                .count();
            println!("t = {t:.1}: mean {m:.3?}, {near} particles within 1e-3 of a face");
            Ok(Control::Continue)
        })
        .run(&mut mirror, &mut run)?;
    let m = run.state.mean();
    if !(m[0] > m[1] && m[1] > m[2] && m[0] > 0.45) {
        return Err(format!("the mean {m:?} did not move towards the vertex e₀").into());
    }
    Ok(())
}
