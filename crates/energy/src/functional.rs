//! The energy/first-variation interface shared by every mean-field dynamics.
//!
//! For a functional F on probability measures, the first variation δF/δμ(μ, x) is the
//! function with d/dε F(μ + ε(ν − μ))|₀ = ∫ δF/δμ(μ, x) d(ν − μ)(x). Wasserstein flows
//! (Langevin) move particles along −∇_x δF/δμ(μ_N, X^i); Fisher–Rao flows reweight them
//! by δF/δμ(μ_N, X^i) itself. Both are computed *ensemble-level*: the O(N) mean-field
//! statistics (means, feature averages) are formed once per call, not once per particle.

use meanfield_measures::Ensemble;

use crate::error::{EnergyError, Result};

/// A functional F: P(X) → R with its first variation.
pub trait Functional: Send + Sync {
    /// Dimension d of the particles it accepts.
    fn dim(&self) -> usize;

    /// F(μ_N).
    fn value(&self, ens: &Ensemble) -> Result<f64>;

    /// out[i·d..(i+1)·d] = ∇_x δF/δμ(μ_N, X^i) for every particle (out has length N·d).
    fn first_variation_grad(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()>;

    /// `out[i]` = δF/δμ(μ_N, X^i) (out has length N), defined up to an additive constant;
    /// implementations fix the constant stated in their docs.
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()>;

    /// Identifies F and every parameter that changes its values; dynamics put it into
    /// their checkpoint fingerprints, so a checkpoint is never resumed under another
    /// energy. The default is the type name: override it when F has parameters
    /// (every functional of this crate does, with [`crate::fingerprint::Fingerprint`]).
    fn fingerprint(&self) -> String {
        std::any::type_name::<Self>().to_string()
    }

    /// Allocating form of [`Functional::first_variation_grad`].
    fn first_variation_grad_vec(&self, ens: &Ensemble) -> Result<Vec<f64>> {
        let mut out = vec![0.0; ens.n() * ens.dim()];
        self.first_variation_grad(ens, &mut out)?;
        Ok(out)
    }
}

/// Checks the ensemble dimension and the output length against a functional's shape.
pub fn check_shapes(
    expected_dim: usize,
    ens: &Ensemble,
    out_len: usize,
    per_particle: usize,
) -> Result<()> {
    if ens.dim() != expected_dim {
        return Err(EnergyError::DimensionMismatch {
            what: "ensemble dimension",
            expected: expected_dim,
            got: ens.dim(),
        });
    }
    let expected = ens.n() * per_particle;
    if out_len != expected {
        return Err(EnergyError::DimensionMismatch {
            what: "output buffer",
            expected,
            got: out_len,
        });
    }
    Ok(())
}

/// Refuses a distributed ensemble (one rank's [`meanfield_measures::Shard`]) for a
/// functional whose statistics are not block reductions yet: its local rows alone would
/// give a wrong answer.
pub fn check_single_process(ens: &Ensemble, functional: &str) -> Result<()> {
    if ens.shard().is_some() {
        return Err(EnergyError::Measures(
            meanfield_measures::MeasuresError::InvalidPartition {
                reason: format!("{functional} does not support distributed ensembles yet"),
            },
        ));
    }
    Ok(())
}
