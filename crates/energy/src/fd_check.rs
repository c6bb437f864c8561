//! Finite-difference checks of a [`Functional`]'s first variation, for tests of new
//! functionals (ours and users'). Two identities hold for any differentiable F:
//!
//! - moving particle i by εv: d/dε F(μ_N^ε)|₀ = W^i ∇_x δF/δμ(μ_N, X^i)·v;
//! - moving weight towards particle j, W(ε) = (1 − ε)W + ε e_j:
//!   d/dε F|₀ = δF/δμ(μ_N, X^j) − Σ_i W^i δF/δμ(μ_N, X^i) (the additive constant of
//!   δF/δμ cancels).
//!
//! Both are compared with a central difference (error O(h²)).

use meanfield_measures::{Ensemble, Weights};

use crate::error::{EnergyError, Result};
use crate::functional::Functional;

/// A derivative predicted from the first variation beside its finite-difference value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DerivativeCheck {
    /// From the first variation.
    pub predicted: f64,
    /// Central difference of F.
    pub finite_difference: f64,
}

impl DerivativeCheck {
    /// |fd − predicted| ≤ tol·(1 + |predicted|).
    pub fn agrees(&self, tol: f64) -> bool {
        (self.finite_difference - self.predicted).abs() <= tol * (1.0 + self.predicted.abs())
    }
}

fn central(f: impl Fn(f64) -> Result<f64>, h: f64) -> Result<f64> {
    Ok((f(h)? - f(-h)?) / (2.0 * h))
}

/// Checks ∇_x δF/δμ at particle `i` along direction `v` with step `h`.
pub fn particle_derivative<F: Functional>(
    f: &F,
    ens: &Ensemble,
    i: usize,
    v: &[f64],
    h: f64,
) -> Result<DerivativeCheck> {
    let d = ens.dim();
    if i >= ens.n() || v.len() != d {
        return Err(EnergyError::DimensionMismatch {
            what: "particle index / direction",
            expected: d,
            got: v.len(),
        });
    }
    let grad = f.first_variation_grad_vec(ens)?;
    let predicted = ens.weight(i) * (0..d).map(|k| grad[i * d + k] * v[k]).sum::<f64>();
    let finite_difference = central(
        |eps| {
            let mut e = ens.clone();
            for (x, dv) in e.particle_mut(i).iter_mut().zip(v) {
                *x += eps * dv;
            }
            f.value(&e)
        },
        h,
    )?;
    Ok(DerivativeCheck {
        predicted,
        finite_difference,
    })
}

/// Checks δF/δμ by moving weight towards particle `j` with step `h` (h < min weight so
/// that the perturbed weights stay non-negative).
pub fn weight_derivative<F: Functional>(
    f: &F,
    ens: &Ensemble,
    j: usize,
    h: f64,
) -> Result<DerivativeCheck> {
    if j >= ens.n() {
        return Err(EnergyError::DimensionMismatch {
            what: "particle index",
            expected: ens.n(),
            got: j,
        });
    }
    let mut fv = vec![0.0; ens.n()];
    f.first_variation(ens, &mut fv)?;
    let avg: f64 = (0..ens.n()).map(|i| ens.weight(i) * fv[i]).sum();
    let finite_difference = central(
        |eps| {
            let w: Vec<f64> = (0..ens.n())
                .map(|i| (1.0 - eps) * ens.weight(i) + if i == j { eps } else { 0.0 })
                .collect();
            let mut e = ens.clone();
            e.set_weights(Weights::from_unnormalised(w)?)?;
            f.value(&e)
        },
        h,
    )?;
    Ok(DerivativeCheck {
        predicted: fv[j] - avg,
        finite_difference,
    })
}
