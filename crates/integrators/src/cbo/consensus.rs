//! The consensus point of CBO, computed in log space.
//!
//! v_α = Σ_i w_i X^i / Σ_i w_i,  w_i = exp(−α f(X^i)).
//!
//! Direct evaluation overflows or underflows as soon as α f is beyond ±700. Subtracting
//! f_min = min_i f(X^i) (the log-sum-exp shift) leaves every normalised weight unchanged,
//!
//! w̃_i = exp(−α (f_i − f_min)) ∈ [0, 1],  w̃_argmin = 1,  Σ_i w̃_i ∈ [1, N],
//!
//! so the normaliser never underflows to 0 and nothing overflows for any finite α ≥ 0
//! (α = 1e15 simply concentrates the weight on the best particle). The same shift makes
//! v_α invariant to f → f + c exactly in exact arithmetic and to round-off in floating
//! point. Tests: `tests/cbo.rs` (direct computation where finite, constant shift,
//! α = 1e15), golden values vs CBXpy (`tests/cbo_golden.rs`).

use crate::error::{IntegratorError, Result};

/// What the consensus computation learned about the weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsensusStats {
    /// min_i f(X^i).
    pub f_min: f64,
    /// Index of the (first) minimising particle.
    pub argmin: usize,
    /// Effective sample size (Σ w)² / Σ w² ∈ [1, N].
    pub ess: f64,
}

/// Rejects NaN energies and an ensemble whose energies are all +∞; returns (f_min, argmin).
fn energy_minimum(energies: &[f64]) -> Result<(f64, usize)> {
    let mut best = (f64::INFINITY, usize::MAX);
    for (i, &f) in energies.iter().enumerate() {
        if f.is_nan() || f == f64::NEG_INFINITY {
            return Err(IntegratorError::IncompatibleState(format!(
                "objective value {f} at particle {i} (must be a number or +∞)"
            )));
        }
        if f < best.0 {
            best = (f, i);
        }
    }
    if best.1 == usize::MAX {
        return Err(IntegratorError::IncompatibleState(
            "every objective value is +∞ (or the ensemble is empty): no consensus".into(),
        ));
    }
    Ok(best)
}

/// Writes the shifted weights w̃_i = exp(−α (f_i − f_min)) into `weights` and returns the
/// statistics; `energies` and `weights` have the same length.
pub fn log_weights_into(
    energies: &[f64],
    alpha: f64,
    weights: &mut [f64],
) -> Result<ConsensusStats> {
    check_alpha(alpha)?;
    let (f_min, argmin) = energy_minimum(energies)?;
    let ess = ess_of(
        shifted_weights(energies, alpha, f_min)
            .zip(weights.iter_mut())
            .map(|(e, w)| {
                *w = e;
                e
            }),
    );
    Ok(ConsensusStats { f_min, argmin, ess })
}

/// The shifted weights w̃_i = exp(−α (f_i − f_min)) ∈ [0, 1]: f = +∞ gives weight 0
/// (also at α = 0), a finite f at α = 0 weight 1, and otherwise α (f − f_min) ≥ 0 (+∞ when
/// the difference overflows) never gives a NaN. Without the two special cases α = 0
/// gave 0 · ∞ = NaN for f = +∞ or an overflowing f − f_min (found by the fuzz target
/// `cbo_consensus`).
fn shifted_weights(energies: &[f64], alpha: f64, f_min: f64) -> impl Iterator<Item = f64> + '_ {
    energies.iter().map(move |&f| {
        if f == f64::INFINITY {
            0.0
        } else if alpha == 0.0 {
            1.0
        } else {
            (-alpha * (f - f_min)).exp()
        }
    })
}

/// (Σ w)² / Σ w², summed in index order.
fn ess_of(weights: impl Iterator<Item = f64>) -> f64 {
    let (mut s1, mut s2) = (0.0, 0.0);
    for e in weights {
        s1 += e;
        s2 += e * e;
    }
    s1 * s1 / s2
}

/// α must be finite and ≥ 0.
pub(crate) fn check_alpha(alpha: f64) -> Result<f64> {
    crate::error::check_non_negative("alpha", alpha)
}

/// The consensus point v_α of the rows of `xs` (row-major, rows of length `d`) with
/// objective values `energies`, written into `out` (length d); `weights` (length N) is
/// the caller's workspace and holds the shifted weights afterwards.
pub fn consensus_into(
    xs: &[f64],
    d: usize,
    energies: &[f64],
    alpha: f64,
    weights: &mut [f64],
    out: &mut [f64],
) -> Result<ConsensusStats> {
    let n = energies.len();
    if xs.len() != n * d || weights.len() != n || out.len() != d {
        return Err(IntegratorError::IncompatibleState(format!(
            "consensus buffers: {} coordinates, {} energies, {} weights, output {} for d = {d}",
            xs.len(),
            n,
            weights.len(),
            out.len()
        )));
    }
    let stats = log_weights_into(energies, alpha, weights)?;
    let total: f64 = weights.iter().sum();
    out.fill(0.0);
    for (row, &w) in xs.chunks_exact(d).zip(weights.iter()) {
        if w == 0.0 {
            continue;
        }
        let c = w / total;
        for (o, x) in out.iter_mut().zip(row) {
            *o += c * x;
        }
    }
    Ok(stats)
}

/// Allocating form of [`consensus_into`]: (v_α, statistics).
pub fn consensus(
    xs: &[f64],
    d: usize,
    energies: &[f64],
    alpha: f64,
) -> Result<(Vec<f64>, ConsensusStats)> {
    let mut weights = vec![0.0; energies.len()];
    let mut out = vec![0.0; d];
    let stats = consensus_into(xs, d, energies, alpha, &mut weights, &mut out)?;
    Ok((out, stats))
}

/// Effective sample size J(α) = (Σ w_i)² / Σ w_i² of the weights exp(−α f_i) (shift-free,
/// so it never overflows).
pub fn effective_sample_size(energies: &[f64], alpha: f64) -> Result<f64> {
    let (f_min, _) = energy_minimum(energies)?;
    check_alpha(alpha)?;
    Ok(ess_of(shifted_weights(energies, alpha, f_min)))
}
