//! The first variation under a *frozen* measure: V(x) = (δF/δμ)(μ_N, x) and ∇V(x) at
//! arbitrary points x while μ_N stays fixed. Metropolis-within-mean-field samplers
//! (the adjusted mirror scheme of `meanfield-integrators`) need V at proposed points that
//! are not particles; [`Functional`] only gives it at the particles.

use meanfield_measures::Ensemble;

use crate::functional::{Functional, check_shapes};
use crate::{QuadraticInteraction, SimplexMoment};

/// V(x) = (δF/δμ)(μ_N, x) and ∇V(x) at *arbitrary* points x for a measure μ_N frozen by
/// [`FrozenFirstVariation::freeze`].
pub trait FrozenPotential: Send + Sync {
    /// Writes ∇V(x) into `grad` (same length as `x`) and returns V(x), with the additive
    /// constant of the functional's [`Functional::first_variation`]. May return a
    /// non-finite value where V is undefined (a barrier at the boundary); the sampler
    /// then rejects.
    fn value_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64;

    /// Whether the sampler should evaluate all proposals of a step in one
    /// [`FrozenPotential::values_and_grads`] call (a potential with a per-call cost, such
    /// as a Python callback) instead of one [`FrozenPotential::value_and_grad`] per
    /// particle inside its particle loop. Default false.
    fn batched(&self) -> bool {
        false
    }

    /// V and ∇V at the rows of `xs` (row-major n × d): `out[i]` = V(x_i), `grads` row i
    /// = ∇V(x_i). The default calls [`FrozenPotential::value_and_grad`] row by row.
    fn values_and_grads(&self, xs: &[f64], grads: &mut [f64], out: &mut [f64]) {
        if out.is_empty() {
            return;
        }
        let d = xs.len() / out.len();
        for ((x, g), o) in xs
            .chunks_exact(d)
            .zip(grads.chunks_exact_mut(d))
            .zip(out.iter_mut())
        {
            *o = self.value_and_grad(x, g);
        }
    }
}

/// Extension of [`Functional`] for Metropolis-within-mean-field schemes: evaluates the
/// first variation at points that are not particles while the measure stays fixed.
///
/// Contract: at the particles of `ens`, the frozen potential agrees with
/// [`Functional::first_variation`] and [`Functional::first_variation_grad`] (to
/// round-off; the implementations here agree bit for bit).
pub trait FrozenFirstVariation: Functional {
    /// The frozen potential type.
    type Frozen: FrozenPotential;

    /// Freezes the mean-field statistics of `ens` (its means, feature averages, …).
    fn freeze(&self, ens: &Ensemble) -> crate::Result<Self::Frozen>;
}

/// Frozen first variation of [`QuadraticInteraction`]: V(x) = |x|²/2 + s·x,
/// ∇V(x) = x + s, with s = κ(m_μ − b).
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenQuadratic {
    shift: Vec<f64>,
}

impl FrozenQuadratic {
    /// The frozen shift s = κ(m_μ − b).
    pub fn shift(&self) -> &[f64] {
        &self.shift
    }
}

impl FrozenPotential for FrozenQuadratic {
    fn value_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        for ((o, x), s) in grad.iter_mut().zip(x).zip(&self.shift) {
            *o = x + s;
        }
        x.iter()
            .zip(&self.shift)
            .map(|(x, s)| 0.5 * x * x + s * x)
            .sum()
    }
}

impl FrozenFirstVariation for QuadraticInteraction {
    type Frozen = FrozenQuadratic;

    fn freeze(&self, ens: &Ensemble) -> crate::Result<FrozenQuadratic> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        Ok(FrozenQuadratic {
            shift: self.shift(ens)?,
        })
    }
}

/// Frozen first variation of [`SimplexMoment`]: V(x) = c·x − β Σ_i ln x_i,
/// ∇V(x) = c − β/x, with c = 2(m_μ − q) (full simplex coordinates).
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenSimplexMoment {
    c: Vec<f64>,
    beta: f64,
}

impl FrozenSimplexMoment {
    /// The frozen linear coefficient c = 2(m_μ − q).
    pub fn linear(&self) -> &[f64] {
        &self.c
    }
}

impl FrozenPotential for FrozenSimplexMoment {
    fn value_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        for ((o, x), c) in grad.iter_mut().zip(x).zip(&self.c) {
            *o = if self.beta > 0.0 {
                c - self.beta / x
            } else {
                *c
            };
        }
        let lin: f64 = x.iter().zip(&self.c).map(|(x, c)| c * x).sum();
        let bar: f64 = if self.beta > 0.0 {
            x.iter().map(|v| v.ln()).sum()
        } else {
            0.0
        };
        lin - self.beta * bar
    }
}

impl FrozenFirstVariation for SimplexMoment {
    type Frozen = FrozenSimplexMoment;

    fn freeze(&self, ens: &Ensemble) -> crate::Result<FrozenSimplexMoment> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        let c = ens
            .try_mean()?
            .iter()
            .zip(self.target())
            .map(|(m, q)| 2.0 * (m - q))
            .collect();
        Ok(FrozenSimplexMoment {
            c,
            beta: self.beta(),
        })
    }
}
