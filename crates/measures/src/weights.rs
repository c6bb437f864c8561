//! Probability weights W ∈ Δ^{N−1} of a weighted empirical measure
//! m^N = Σ_i W^i δ_{X^i}.
//!
//! Invariant (checked by `tests/weights.rs`): W^i ≥ 0 and Σ_i W^i = 1 to 1e-12 after any
//! number of multiplicative updates. Every renormalisation divides by a compensated
//! (Neumaier) sum, so the rounding error of the total does not grow with N.
//!
//! **Distributed weights.** The weights of one rank's shard of a distributed ensemble
//! are that rank's part of the global weights (they sum to 1 over all ranks, not
//! locally). The `*_with` updates take the ensemble's [`Reducer`]: totals are the
//! deterministic block reductions of [`crate::reduce`] and maxima the maximum of the
//! ranks' maxima, so the weights are bitwise those of the single-process run for any
//! rank count. The single-process methods are the same code with [`Reducer::local`].

use serde::{Deserialize, Serialize};

use crate::compensated::compensated_sum;
use crate::error::{MeasuresError, Result};
use crate::reduce::Reducer;

/// Normalised non-negative particle weights.
///
/// Deserialisation checks W ≥ 0, finiteness and |Σ W − 1| ≤ 1e−9 without renormalising,
/// so a checkpoint reloads bit for bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WeightsRepr")]
pub struct Weights {
    w: Vec<f64>,
}

impl Weights {
    /// Uniform weights 1/N.
    pub fn uniform(n: usize) -> Result<Self> {
        if n == 0 {
            return Err(MeasuresError::Empty {
                what: "number of particles",
            });
        }
        Ok(Self {
            w: vec![1.0 / n as f64; n],
        })
    }

    /// W^i = v_i / Σ_j v_j for non-negative finite `v` with a positive total.
    pub fn from_unnormalised(mut v: Vec<f64>) -> Result<Self> {
        normalise_in_place(&mut v)?;
        Ok(Self { w: v })
    }

    /// W^i ∝ exp(ℓ_i) from log-weights, with the max subtracted first so that no
    /// exponential overflows (log-sum-exp normalisation).
    pub fn from_log_weights(log_w: &[f64]) -> Result<Self> {
        let mut v = log_w.to_vec();
        exp_normalise_in_place(&mut v)?;
        Ok(Self { w: v })
    }

    /// The weights as a slice.
    pub fn as_slice(&self) -> &[f64] {
        &self.w
    }

    /// Number of weights N.
    pub fn len(&self) -> usize {
        self.w.len()
    }

    /// Always false: weights are never empty (checked at construction).
    pub fn is_empty(&self) -> bool {
        self.w.is_empty()
    }

    /// Weights taken as they are, not renormalised: one rank's part of global weights,
    /// or the global weights put together from every rank's part (module docs).
    pub(crate) fn from_parts_unnormalised(w: Vec<f64>) -> Self {
        Self { w }
    }

    /// Multiplicative update W^i ← W^i f_i / Σ_j W^j f_j (e.g. the Euler Fisher–Rao step
    /// f_i = 1 − h a_i). Factors must be finite and non-negative with a positive total.
    pub fn multiply_and_normalise(&mut self, factors: &[f64]) -> Result<()> {
        self.multiply_and_normalise_with(&Reducer::local(), factors)
    }

    /// [`Weights::multiply_and_normalise`] of a shard's weights: the total is over every
    /// rank of `reducer` (module docs).
    ///
    /// # Errors
    /// As [`Weights::multiply_and_normalise`]; [`MeasuresError::RankFailed`] if a rank
    /// failed.
    pub fn multiply_and_normalise_with(
        &mut self,
        reducer: &Reducer,
        factors: &[f64],
    ) -> Result<()> {
        self.check_len(factors.len())?;
        let mut next: Vec<f64> = self.w.iter().zip(factors).map(|(w, f)| w * f).collect();
        if let Some((i, f)) = factors
            .iter()
            .enumerate()
            .find(|(_, f)| !(f.is_finite() && **f >= 0.0))
        {
            return Err(MeasuresError::InvalidWeights {
                reason: format!("multiplicative factor {i} is {f}; factors must be finite and ≥ 0"),
            });
        }
        normalise_with(reducer, &mut next)?;
        self.w = next;
        Ok(())
    }

    /// Exponentiated (mirror-descent) update W^i ← W^i exp(g_i) / Σ_j W^j exp(g_j),
    /// computed in log space so that large |g| neither overflows nor underflows the total.
    pub fn multiply_exp_and_normalise(&mut self, log_factors: &[f64]) -> Result<()> {
        self.multiply_exp_and_normalise_with(&Reducer::local(), log_factors)
    }

    /// [`Weights::multiply_exp_and_normalise`] of a shard's weights: the maximum and the
    /// total are over every rank of `reducer` (module docs).
    ///
    /// # Errors
    /// As [`Weights::multiply_exp_and_normalise`]; [`MeasuresError::RankFailed`] if a
    /// rank failed.
    pub fn multiply_exp_and_normalise_with(
        &mut self,
        reducer: &Reducer,
        log_factors: &[f64],
    ) -> Result<()> {
        self.check_len(log_factors.len())?;
        let mut next: Vec<f64> = self
            .w
            .iter()
            .zip(log_factors)
            .map(|(w, g)| {
                if *w > 0.0 {
                    w.ln() + g
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        if let Some((i, g)) = log_factors.iter().enumerate().find(|(_, g)| !g.is_finite()) {
            return Err(MeasuresError::InvalidWeights {
                reason: format!("log-factor {i} is {g}; log-factors must be finite"),
            });
        }
        exp_normalise_with(reducer, &mut next)?;
        self.w = next;
        Ok(())
    }

    /// Effective sample size ESS = 1 / Σ_i (W^i)², between 1 and N.
    ///
    /// Clamped to [1, N]: with Σ W = 1 only to rounding, 1 / Σ (W^i)² can land an ulp
    /// outside (e.g. 3.0000000000000004 for three uniform weights).
    pub fn ess(&self) -> f64 {
        // A single-process reduction cannot fail.
        self.ess_with(&Reducer::local()).unwrap_or(f64::NAN)
    }

    /// [`Weights::ess`] of a shard's weights: Σ (W^i)² and N over every rank of
    /// `reducer` (the block reduction; module docs).
    ///
    /// # Errors
    /// [`MeasuresError::RankFailed`] if a rank failed.
    pub fn ess_with(&self, reducer: &Reducer) -> Result<f64> {
        let w = &self.w;
        let s = reducer.sums(w.len(), 1, |i, out| out[0] = w[i] * w[i])?[0];
        Ok((1.0 / s).clamp(1.0, reducer.global_n(w.len()) as f64))
    }

    fn check_len(&self, got: usize) -> Result<()> {
        if got == self.w.len() {
            Ok(())
        } else {
            Err(MeasuresError::DimensionMismatch {
                what: "weight factors",
                expected: self.w.len(),
                got,
            })
        }
    }
}

/// Divides `v` by its compensated sum after checking every entry is finite and ≥ 0.
fn normalise_in_place(v: &mut [f64]) -> Result<()> {
    normalise_with(&Reducer::local(), v)
}

/// [`normalise_in_place`] of one rank's part: the total is the block reduction over
/// every rank of `reducer`. Every rank checks its entries before the collective; a rank
/// with a bad entry returns its error before it (the runner's failure protocol then
/// tells the others).
fn normalise_with(reducer: &Reducer, v: &mut [f64]) -> Result<()> {
    if v.is_empty() {
        return Err(MeasuresError::Empty {
            what: "number of particles",
        });
    }
    if let Some((i, x)) = v
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_finite() && **x >= 0.0))
    {
        return Err(MeasuresError::InvalidWeights {
            reason: format!("weight {i} is {x}; weights must be finite and ≥ 0"),
        });
    }
    let total = reducer.sums(v.len(), 1, |i, out| out[0] = v[i])?[0];
    if !(total > 0.0 && total.is_finite()) {
        return Err(MeasuresError::InvalidWeights {
            reason: format!("total weight is {total}"),
        });
    }
    v.iter_mut().for_each(|x| *x /= total);
    Ok(())
}

/// In place v_i ← exp(v_i − max v) / Σ_j exp(v_j − max v).
fn exp_normalise_in_place(v: &mut [f64]) -> Result<()> {
    exp_normalise_with(&Reducer::local(), v)
}

/// [`exp_normalise_in_place`] of one rank's part: the maximum over every rank (a gather
/// of one value per rank), the total by the block reduction.
fn exp_normalise_with(reducer: &Reducer, v: &mut [f64]) -> Result<()> {
    if let Some((i, x)) = v
        .iter()
        .enumerate()
        .find(|(_, x)| x.is_nan() || **x == f64::INFINITY)
    {
        return Err(MeasuresError::InvalidWeights {
            reason: format!("log-weight {i} is {x}"),
        });
    }
    let local_max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let max = reducer.max(local_max)?;
    if max == f64::NEG_INFINITY {
        return Err(MeasuresError::InvalidWeights {
            reason: "all weights are zero".into(),
        });
    }
    v.iter_mut().for_each(|x| *x = (*x - max).exp());
    normalise_with(reducer, v)
}

/// The serialised form of [`Weights`], validated on load.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsRepr {
    w: Vec<f64>,
}

impl TryFrom<WeightsRepr> for Weights {
    type Error = MeasuresError;

    fn try_from(r: WeightsRepr) -> Result<Self> {
        if r.w.is_empty() {
            return Err(MeasuresError::Empty {
                what: "number of particles",
            });
        }
        if let Some((i, x)) =
            r.w.iter()
                .enumerate()
                .find(|(_, x)| !(x.is_finite() && **x >= 0.0))
        {
            return Err(MeasuresError::InvalidWeights {
                reason: format!("weight {i} is {x}"),
            });
        }
        let total = compensated_sum(&r.w);
        if (total - 1.0).abs() > 1e-9 {
            return Err(MeasuresError::InvalidWeights {
                reason: format!("weights sum to {total}, not 1"),
            });
        }
        Ok(Self { w: r.w })
    }
}
