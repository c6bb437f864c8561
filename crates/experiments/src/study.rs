//! Shared machinery of the statistical studies: independent replicates over a ladder of
//! ensemble sizes (propagation of chaos), batch means of correlated time series
//! (stationary averages), and the Kolmogorov critical value.
//!
//! # Replicates over sizes
//!
//! [`replicate_over_sizes`] runs `seeds` independent replicates for every N = 2^k of a
//! ladder. Replicate r at size 2^k uses the seed [`replicate_seed`]`(base, k, r)`, so
//! every (size, replicate) pair has its own noise streams. Replicates of one size run in
//! parallel (rayon) and are collected in replicate order, sizes one after the other: the
//! results are the same for any thread count.
//!
//! # Batch means
//!
//! A stationary average ā = (1/K) Σ_k a_k over K correlated snapshots has
//! Var ā = (σ²/K)(1 + 2 Σ_{l≥1} ρ_l). Split the series into B consecutive batches of equal
//! length L = ⌊K/B⌋ (the first K − BL snapshots are dropped); when L is several
//! correlation times the batch averages b_j are nearly independent and
//! se(ā) ≈ s_b/√B, s_b² = Σ_j (b_j − b̄)²/(B − 1) ([`batch_means`]).
//!
//! # Slope checks
//!
//! A law y(N) ∝ N^β (β = −1 for propagation of chaos) is checked on Monte-Carlo
//! estimates ŷ_k with standard errors se_k by the weighted log–log fit
//! ([`meanfield_diagnostics::weighted_loglog_slope`], weights (ŷ_k/se_k)²): the slope must
//! lie within z of its standard errors of β, a statistical check at level 2(1 − Φ(z))
//! ([`loglog_slope_check`]). A fixed band such as [−1.2, −0.8] has no level: it is far
//! too wide for long runs and too narrow for short ones.

use std::sync::atomic::{AtomicU64, Ordering};

use meanfield_diagnostics as diag;
use rayon::prelude::*;

use crate::{Check, ExperimentError};

/// Seed of replicate `r` at ensemble size 2^`log2n` of a study with base seed `base`:
/// the workspace's one child-seed rule [`meanfield_measures::replicate_seed`] with the
/// size as the stratum (the first replicate is r = 0).
pub fn replicate_seed(base: u64, log2n: u32, r: usize) -> u64 {
    meanfield_measures::replicate_seed(base, log2n, r as u64)
}

/// The replicates of one ensemble size.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeReplicates<T> {
    /// log₂ N.
    pub log2n: u32,
    /// N.
    pub n: usize,
    /// One value per replicate, in replicate order.
    pub values: Vec<T>,
}

/// Runs `replicate(n, seed)` for every N = 2^k, k ∈ `log2_sizes`, and `seeds`
/// replicates each (seeds from [`replicate_seed`]`(base_seed, k, r)`). Replicates of a
/// size run in parallel and are returned in order; `size_done(j, total)` is called after
/// the j-th size (1-based) has finished. The first error of a size is returned.
pub fn replicate_over_sizes<T, R, P>(
    base_seed: u64,
    log2_sizes: &[u32],
    seeds: usize,
    mut size_done: P,
    replicate: R,
) -> Result<Vec<SizeReplicates<T>>, ExperimentError>
where
    T: Send,
    R: Fn(usize, u64) -> Result<T, ExperimentError> + Sync,
    P: FnMut(usize, usize),
{
    let mut out = Vec::with_capacity(log2_sizes.len());
    for (j, &log2n) in log2_sizes.iter().enumerate() {
        if log2n >= usize::BITS {
            return Err(ExperimentError::Config(format!(
                "ensemble size 2^{log2n} does not fit in usize"
            )));
        }
        let n = 1usize << log2n;
        let values = (0..seeds)
            .into_par_iter()
            .map(|r| replicate(n, replicate_seed(base_seed, log2n, r)))
            .collect::<Result<Vec<T>, _>>()?;
        out.push(SizeReplicates { log2n, n, values });
        size_done(j + 1, log2_sizes.len());
    }
    Ok(out)
}

/// Progress shared by concurrent runs, counted in particle-steps: each run reports its
/// increments with [`SharedProgress::add`], which forwards the overall fraction to the
/// experiment's progress callback.
pub struct SharedProgress<'a> {
    done: AtomicU64,
    total: u64,
    message: &'a str,
    report: &'a (dyn Fn(f64, &str) + Sync),
}

impl<'a> SharedProgress<'a> {
    /// Progress towards `total` particle-steps, reported as `message`.
    pub fn new(total: u64, message: &'a str, report: &'a (dyn Fn(f64, &str) + Sync)) -> Self {
        Self {
            done: AtomicU64::new(0),
            total,
            message,
            report,
        }
    }

    /// Adds `particle_steps` and reports the overall fraction done.
    pub fn add(&self, particle_steps: u64) {
        let done = self.done.fetch_add(particle_steps, Ordering::Relaxed) + particle_steps;
        (self.report)(
            (done as f64 / self.total.max(1) as f64).min(1.0),
            self.message,
        );
    }

    /// A [`Runner`](meanfield_integrators::Runner) progress callback for a run of `n`
    /// particles that reports every 64 steps.
    pub fn runner_callback(&self, n: usize) -> impl FnMut(u64, u64) + '_ {
        let mut last = 0u64;
        move |k, total| {
            if k % 64 == 0 || k == total {
                self.add(k.saturating_sub(last) * n as u64);
                last = k;
            }
        }
    }
}

/// Two-sided z of the slope checks: level 2(1 − Φ(3.29)) = 0.001 per check.
pub const SLOPE_Z: f64 = 3.29;

/// The check that Monte-Carlo estimates `ys` (standard errors `ses`) at sizes `ns`
/// follow y ∝ N^`expected`: the weighted log–log slope within [`SLOPE_Z`] standard
/// errors of `expected` (module docs, "Slope checks"), and the fit itself.
pub fn loglog_slope_check(
    name: impl std::fmt::Display,
    ns: &[f64],
    ys: &[f64],
    ses: &[f64],
    expected: f64,
) -> Result<(Check, diag::WeightedFit), ExperimentError> {
    let fit = diag::weighted_loglog_slope(ns, ys, ses)?;
    // −1 prints as "-1", a fitted reference to 4 decimals.
    let reference = if expected.fract() == 0.0 {
        format!("{expected:.0}")
    } else {
        format!("{expected:.4}")
    };
    let check = Check::z_within(
        format!("{name}: within {SLOPE_Z} MC s.e. of {reference}"),
        fit.slope,
        expected,
        fit.slope_se,
        SLOPE_Z,
    );
    Ok((check, fit))
}

/// Largest ensemble exponent of the size sweeps (N = 2^k up to 2^24 ≈ 1.7·10⁷ particles):
/// beyond it one replicate alone outlasts any realistic run.
pub const MAX_LOG2_SIZE: u32 = 24;

/// Trace of the unbiased sample covariance of vectors (Σ_k s²_k over coordinates k),
/// i.e. the estimate of E|m − E m|² from independent replicates m^(1), …, m^(R), R ≥ 2.
pub fn trace_variance(samples: &[Vec<f64>]) -> Result<f64, ExperimentError> {
    let d = samples.first().map_or(0, Vec::len);
    if samples.len() < 2 || d == 0 || samples.iter().any(|s| s.len() != d) {
        return Err(ExperimentError::Config(format!(
            "trace_variance needs ≥ 2 replicates of one non-zero length, got {} of lengths {:?}",
            samples.len(),
            samples.iter().map(Vec::len).collect::<Vec<_>>()
        )));
    }
    let mut total = 0.0;
    for k in 0..d {
        let column: Vec<f64> = samples.iter().map(|s| s[k]).collect();
        total += diag::sample_mean_var(&column)?.1;
    }
    Ok(total)
}

/// [`trace_variance`] V̂ with its Monte-Carlo standard error: V̂ is the average of
/// q_r = R/(R−1)·|m^(r) − m̄|², so its standard error is the standard error of the q_r
/// (their dependence through m̄ is O(1/R)).
pub fn trace_variance_with_se(samples: &[Vec<f64>]) -> Result<(f64, f64), ExperimentError> {
    let v = trace_variance(samples)?;
    let r = samples.len() as f64;
    let d = samples[0].len();
    let centre: Vec<f64> = (0..d)
        .map(|k| samples.iter().map(|m| m[k]).sum::<f64>() / r)
        .collect();
    let q: Vec<f64> = samples
        .iter()
        .map(|m| {
            r / (r - 1.0)
                * m.iter()
                    .zip(&centre)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
        })
        .collect();
    Ok((v, diag::standard_error(&q)?))
}

/// A stationary time average with its batch-means standard error (module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeAverage {
    /// ā over the snapshots used (the last B·L).
    pub mean: f64,
    /// s_b/√B.
    pub se: f64,
    /// B.
    pub batches: usize,
    /// L, snapshots per batch.
    pub batch_len: usize,
}

impl TimeAverage {
    /// The degrees of freedom B − 1 of the standard error: with B roughly independent,
    /// roughly normal batch means, (mean − truth)/se is Student-t with B − 1 degrees of
    /// freedom, the ν of [`crate::report::Check::t_within`].
    pub fn dof(&self) -> f64 {
        self.batches.saturating_sub(1) as f64
    }
}

/// Welch–Satterthwaite degrees of freedom of a standard error s = √(Σ s_i²) combined from
/// independent terms, each `(s_i, ν_i)` (its standard-error contribution and the degrees
/// of freedom it was estimated with): ν = (Σ s_i²)² / Σ s_i⁴/ν_i. A term with ν_i = ∞
/// (a known variance) adds nothing to the denominator; all-zero contributions give ∞.
pub fn welch_dof(terms: &[(f64, f64)]) -> f64 {
    let total: f64 = terms.iter().map(|(s, _)| s * s).sum();
    let denom: f64 = terms.iter().map(|(s, nu)| s.powi(4) / nu).sum();
    if denom > 0.0 {
        total * total / denom
    } else {
        f64::INFINITY
    }
}

/// Batch means of a series of snapshots (module docs): the average of the last
/// B·⌊K/B⌋ values and its standard error s_b/√B. Needs B ≥ 2 and K ≥ B.
pub fn batch_means(xs: &[f64], batches: usize) -> Result<TimeAverage, ExperimentError> {
    if batches < 2 || xs.len() < batches {
        return Err(ExperimentError::Config(format!(
            "batch means need ≥ 2 batches and at least one snapshot per batch \
             ({} snapshots, {batches} batches)",
            xs.len()
        )));
    }
    let len = xs.len() / batches;
    let used = &xs[xs.len() - len * batches..];
    let means: Vec<f64> = used
        .chunks_exact(len)
        .map(|c| c.iter().sum::<f64>() / len as f64)
        .collect();
    let (mean, var) = diag::sample_mean_var(&means)?;
    Ok(TimeAverage {
        mean,
        se: (var / batches as f64).sqrt(),
        batches,
        batch_len: len,
    })
}

/// Critical value c_α/√n of the one-sample KS statistic at level α (asymptotic):
/// Q_KS(c_α) = α, solved by bisection on the Kolmogorov survival function.
pub fn ks_critical_value(alpha: f64, n: usize) -> Result<f64, ExperimentError> {
    if !(alpha > 0.0 && alpha < 1.0) || n == 0 {
        return Err(ExperimentError::Config(format!(
            "KS critical value needs 0 < α < 1 and n ≥ 1 (α = {alpha}, n = {n})"
        )));
    }
    let (mut lo, mut hi) = (0.2f64, 10.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if diag::kolmogorov_survival(mid)? > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi) / (n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicate_seed_is_the_historic_formula() {
        let base = 20261123u64;
        assert_eq!(
            replicate_seed(base, 7, 3),
            base ^ (7u64 << 40) ^ 4u64.wrapping_mul(0x9e37_79b9)
        );
    }

    #[test]
    fn replicates_are_ordered_and_keyed() {
        let out = replicate_over_sizes(5, &[1, 3], 4, |_, _| {}, |n, seed| Ok((n, seed))).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].n, 8);
        for (r, v) in out[1].values.iter().enumerate() {
            assert_eq!(*v, (8, replicate_seed(5, 3, r)));
        }
    }

    #[test]
    fn batch_means_of_independent_batches() {
        // Batches of 2: (1,3) → 2, (5,7) → 6; dropped leading value 100.
        let t = batch_means(&[100.0, 1.0, 3.0, 5.0, 7.0], 2).unwrap();
        assert_eq!((t.mean, t.batch_len), (4.0, 2));
        // s_b² = ((2−4)² + (6−4)²)/1 = 8, se = √(8/2) = 2.
        assert!((t.se - 2.0).abs() < 1e-14);
        assert!(batch_means(&[1.0], 2).is_err());
    }

    #[test]
    fn trace_variance_sums_coordinates() {
        let s = vec![vec![0.0, 1.0], vec![2.0, 1.0], vec![4.0, 4.0]];
        // Var(0,2,4) = 4, Var(1,1,4) = 3.
        assert!((trace_variance(&s).unwrap() - 7.0).abs() < 1e-14);
        assert!(trace_variance(&s[..1]).is_err());
        // q = 3/2·|m − (2, 2)|² = (7.5, 1.5, 12): mean 7, sample variance 27.75, se √(27.75/3).
        let (v, se) = trace_variance_with_se(&s).unwrap();
        assert!((v - 7.0).abs() < 1e-12);
        assert!((se - (27.75f64 / 3.0).sqrt()).abs() < 1e-12, "{se}");
        assert!(trace_variance_with_se(&s[..1]).is_err());
    }

    #[test]
    fn ks_critical_values_match_tables() {
        // c_0.05 = 1.3581, c_0.001 = 1.9495 (Kolmogorov distribution).
        assert!((ks_critical_value(0.05, 1).unwrap() - 1.3581).abs() < 1e-3);
        assert!((ks_critical_value(0.001, 100).unwrap() - 0.19495).abs() < 1e-4);
    }
}
