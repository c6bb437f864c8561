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

//!
//! **Reductions.** The three sums Σ w̃_i, Σ w̃_i² and Σ w̃_i X^i are block reductions
//! ([`meanfield_measures::reduce`]) and the minimum is taken over the ranks' minima, so
//! the consensus is bitwise the same for any thread count and, for a distributed ensemble
//! ([`consensus_with`] with the ensemble's [`Reducer`]), for any number of ranks: the
//! consensus variants in this folder inherit that by calling these functions.

use meanfield_measures::Reducer;

use crate::error::{IntegratorError, Result};

/// What the consensus computation learned about the weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsensusStats {
    /// min_i f(X^i).
    pub f_min: f64,
    /// Index of the (first) minimising particle (its global index in a distributed run).
    pub argmin: usize,
    /// Effective sample size (Σ w)² / Σ w² ∈ [1, N].
    pub ess: f64,
}

/// Rejects NaN and −∞ energies (naming the particle by its global index `first + i`);
/// returns this rank's (f_min, argmin), (+∞, usize::MAX) when every local value is +∞.
fn local_minimum(energies: &[f64], first: u64) -> Result<(f64, usize)> {
    let mut best = (f64::INFINITY, usize::MAX);
    for (i, &f) in energies.iter().enumerate() {
        if f.is_nan() || f == f64::NEG_INFINITY {
            return Err(IntegratorError::IncompatibleState(format!(
                "objective value {f} at particle {} (must be a number or +∞)",
                first + i as u64
            )));
        }
        if f < best.0 {
            best = (f, i);
        }
    }
    Ok(best)
}

/// The minimum over every rank (the first minimiser in global order, as a sequential
/// scan finds it: ranks hold increasing index ranges) and the minimiser's row, written
/// into `best_row` (length d).
fn global_minimum(
    reducer: &Reducer,
    xs: &[f64],
    d: usize,
    energies: &[f64],
    best_row: &mut [f64],
) -> Result<(f64, usize)> {
    let local = local_minimum(energies, reducer.global_index(0))?;
    gather_minimum(reducer, xs, d, local, best_row)?.ok_or_else(|| {
        IntegratorError::IncompatibleState(
            "every objective value is +∞ (or the ensemble is empty): no consensus".into(),
        )
    })
}

/// The global minimum of the ranks' minima `local` = (f, local row; usize::MAX for none
/// below +∞), the first minimiser in global order, its row written into `best_row`:
/// (f_min, global argmin), `None` when no rank has a value below +∞. One all-gather of
/// d + 2 doubles per rank.
pub(crate) fn gather_minimum(
    reducer: &Reducer,
    xs: &[f64],
    d: usize,
    local: (f64, usize),
    best_row: &mut [f64],
) -> Result<Option<(f64, usize)>> {
    let (f, i) = local;
    // [f_min, global argmin, row]; a rank without a value below +∞ sends +∞.
    let mut mine = vec![f, -1.0];
    if i != usize::MAX {
        mine[1] = reducer.global_index(i) as f64;
        mine.extend_from_slice(&xs[i * d..(i + 1) * d]);
    } else {
        mine[0] = f64::INFINITY;
        mine.resize(d + 2, 0.0);
    }
    let all = reducer.gather(&mine)?;
    let mut best: Option<&[f64]> = None;
    for c in &all {
        if c.len() == d + 2 && c[0] < best.map_or(f64::INFINITY, |b| b[0]) {
            best = Some(c);
        }
    }
    Ok(best.map(|best| {
        best_row.copy_from_slice(&best[2..]);
        (best[0], best[1] as usize)
    }))
}

/// Writes the shifted weights w̃_i = exp(−α (f_i − f_min)) into `weights` and returns the
/// statistics; `energies` and `weights` have the same length.
pub fn log_weights_into(
    energies: &[f64],
    alpha: f64,
    weights: &mut [f64],
) -> Result<ConsensusStats> {
    check_alpha(alpha)?;
    let reducer = Reducer::local();
    let (f_min, argmin) = local_minimum(energies, 0)?;
    if argmin == usize::MAX {
        return Err(IntegratorError::IncompatibleState(
            "every objective value is +∞ (or the ensemble is empty): no consensus".into(),
        ));
    }
    for (w, e) in weights
        .iter_mut()
        .zip(shifted_weights(energies, alpha, f_min))
    {
        *w = e;
    }
    let s = reducer.sums(weights.len(), 2, |i, o| {
        o[0] = weights[i];
        o[1] = weights[i] * weights[i];
    })?;
    Ok(ConsensusStats {
        f_min,
        argmin,
        ess: s[0] * s[0] / s[1],
    })
}

/// The shifted weights w̃_i = exp(−α (f_i − f_min)) ∈ [0, 1]: f = +∞ gives weight 0
/// (also at α = 0), a finite f at α = 0 weight 1, and otherwise α (f − f_min) ≥ 0 (+∞ when
/// the difference overflows) never gives a NaN. Without the two special cases α = 0
/// gave 0 · ∞ = NaN for f = +∞ or an overflowing f − f_min (found by the fuzz target
/// `cbo_consensus`).
fn shifted_weights(energies: &[f64], alpha: f64, f_min: f64) -> impl Iterator<Item = f64> + '_ {
    energies
        .iter()
        .map(move |&f| shifted_weight(f, alpha, f_min))
}

/// One shifted weight w̃ = exp(−α (f − f_min)), with the special cases of
/// [`shifted_weights`].
fn shifted_weight(f: f64, alpha: f64, f_min: f64) -> f64 {
    if f == f64::INFINITY {
        0.0
    } else if alpha == 0.0 {
        1.0
    } else {
        let a = -alpha * (f - f_min);
        // e^a rounds to +0 below ≈ −745.13; the C library reaches that 0 through its
        // underflow path (errno and a call), which at large α is most of the weights.
        if a < -746.0 { 0.0 } else { a.exp() }
    }
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
    let mut best = vec![0.0; d];
    consensus_with(
        &Reducer::local(),
        xs,
        d,
        energies,
        alpha,
        weights,
        out,
        &mut best,
    )
}

/// [`consensus_into`] over the particles of `reducer` (all ranks of a distributed run:
/// `xs`, `energies` and `weights` are this rank's rows, the result is global), also
/// writing the minimising particle into `best_row` (length d).
///
/// v_α = (Σ_i w̃_i X^i) / Σ_i w̃_i with the three sums as block reductions.
#[allow(clippy::too_many_arguments)]
pub fn consensus_with(
    reducer: &Reducer,
    xs: &[f64],
    d: usize,
    energies: &[f64],
    alpha: f64,
    weights: &mut [f64],
    out: &mut [f64],
    best_row: &mut [f64],
) -> Result<ConsensusStats> {
    let n = energies.len();
    if xs.len() != n * d || weights.len() != n || out.len() != d || best_row.len() != d {
        return Err(IntegratorError::IncompatibleState(format!(
            "consensus buffers: {} coordinates, {} energies, {} weights, output {}, best row {} for d = {d}",
            xs.len(),
            n,
            weights.len(),
            out.len(),
            best_row.len()
        )));
    }
    check_alpha(alpha)?;
    let (f_min, argmin) = global_minimum(reducer, xs, d, energies, best_row)?;
    for (w, e) in weights
        .iter_mut()
        .zip(shifted_weights(energies, alpha, f_min))
    {
        *w = e;
    }
    let weights = &*weights;
    // [Σ w̃, Σ w̃², Σ w̃ X]. A particle whose weight underflowed to 0 (at large α most
    // of them) adds only ±0 terms when its row is finite: skipped, the same bits.
    let zero = |i: usize| weights[i] == 0.0 && xs[i * d..(i + 1) * d].iter().all(|x| x.is_finite());
    let s = reducer.sums_skipping(n, d + 2, zero, |i, o| {
        let w = weights[i];
        o[0] = w;
        o[1] = w * w;
        for (o, x) in o[2..].iter_mut().zip(&xs[i * d..(i + 1) * d]) {
            *o = w * x;
        }
    })?;
    for (o, sx) in out.iter_mut().zip(&s[2..]) {
        *o = sx / s[0];
    }
    if out.iter().any(|o| !o.is_finite()) {
        rescaled_mean(reducer, xs, d, weights, s[0], out)?;
    }
    Ok(ConsensusStats {
        f_min,
        argmin,
        ess: s[0] * s[0] / s[1],
    })
}

/// v_α again for the coordinates whose direct sum Σ w̃_i X^i_k overflowed (finite
/// coordinates near ±f64::MAX; fuzz target `cbo_consensus`): with M_k = max_i |X^i_k| over
/// the weighted particles, v_k = M_k · (Σ_i w̃_i X^i_k / M_k) / Σ_i w̃_i, whose inner sum is
/// at most Σ w̃ ≤ N in modulus. A weighted mean lies in [−M_k, M_k]; the clamp removes
/// a rounding step past f64::MAX. Taken only when a direct coordinate is not finite (a
/// global condition: every rank takes it), with the same block reductions, so the result
/// stays independent of thread and rank counts.
fn rescaled_mean(
    reducer: &Reducer,
    xs: &[f64],
    d: usize,
    weights: &[f64],
    total: f64,
    out: &mut [f64],
) -> Result<()> {
    let n = weights.len();
    let mut local_max = vec![0.0f64; d];
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            for (m, x) in local_max.iter_mut().zip(&xs[i * d..(i + 1) * d]) {
                *m = m.max(x.abs());
            }
        }
    }
    let mut scale = vec![0.0f64; d];
    for rank in reducer.gather(&local_max)? {
        for (m, r) in scale.iter_mut().zip(rank) {
            *m = m.max(r);
        }
    }
    let scaled = reducer.sums(n, d, |i, o| {
        for ((o, x), m) in o.iter_mut().zip(&xs[i * d..(i + 1) * d]).zip(&scale) {
            *o = if *m > 0.0 { weights[i] * (x / m) } else { 0.0 };
        }
    })?;
    for ((o, sx), m) in out.iter_mut().zip(scaled).zip(&scale) {
        if !o.is_finite() {
            *o = (m * (sx / total)).clamp(-m, *m);
        }
    }
    Ok(())
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
    effective_sample_size_with(&Reducer::local(), energies, alpha)
}

/// [`effective_sample_size`] over the particles of `reducer` (global in a distributed run).
pub fn effective_sample_size_with(reducer: &Reducer, energies: &[f64], alpha: f64) -> Result<f64> {
    let f_min = minimum_value(reducer, energies)?;
    check_alpha(alpha)?;
    ess_given_minimum(reducer, energies, alpha, f_min)
}

/// The global min_i f_i (errors as [`consensus_with`]).
pub(crate) fn minimum_value(reducer: &Reducer, energies: &[f64]) -> Result<f64> {
    let (f, _) = local_minimum(energies, reducer.global_index(0))?;
    let all = reducer.gather(&[f])?;
    let f_min = all.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    if f_min == f64::INFINITY {
        return Err(IntegratorError::IncompatibleState(
            "every objective value is +∞ (or the ensemble is empty): no consensus".into(),
        ));
    }
    Ok(f_min)
}

/// J(α) with the shift f_min known (block sums of w̃ and w̃²).
pub(crate) fn ess_given_minimum(
    reducer: &Reducer,
    energies: &[f64],
    alpha: f64,
    f_min: f64,
) -> Result<f64> {
    let s = reducer.sums(energies.len(), 2, |i, o| {
        let w = shifted_weight(energies[i], alpha, f_min);
        o[0] = w;
        o[1] = w * w;
    })?;
    Ok(s[0] * s[0] / s[1])
}

#[cfg(test)]
mod tests {
    use super::shifted_weight;

    /// The underflow shortcut returns what the C library's `exp` returns: +0 (bit pattern
    /// 0) for every argument below −746, and the weights around the cut are `exp`'s own.
    #[test]
    fn underflow_shortcut_is_the_library_exp() {
        for a in [-746.000_000_000_1, -750.0, -1e4, -1e300, f64::NEG_INFINITY] {
            assert_eq!(a.exp().to_bits(), 0, "exp({a})");
            assert_eq!(shifted_weight(-a, 1.0, 0.0).to_bits(), 0);
        }
        for a in [-746.0, -745.5, -745.1, -744.4, -700.0, -1.0, 0.0] {
            assert_eq!(shifted_weight(-a, 1.0, 0.0).to_bits(), a.exp().to_bits());
        }
        assert!(shifted_weight(f64::NAN, 1.0, 0.0).is_nan());
    }
}
