//! Stationary statistics of a run: the snapshots after burn-in and their batch-means
//! time averages with floored standard errors.

use meanfield_diagnostics as diag;

use super::run::{Trace, mean_var};
use crate::ExperimentError;
use crate::study::{self, TimeAverage};

/// Indices of the snapshots after the burn-in.
pub(super) fn window(trace: &Trace, horizon: f64, burn_in_fraction: f64) -> std::ops::Range<usize> {
    let t0 = burn_in_fraction * horizon;
    let first = trace
        .time
        .iter()
        .position(|&t| t >= t0 - 1e-9)
        .unwrap_or(trace.time.len());
    first..trace.time.len()
}

/// Time-averaged statistics of one run after burn-in, with floored standard errors.
pub(super) struct Stationary {
    pub(super) boundary: TimeAverage,
    pub(super) boundary_se: f64,
    pub(super) mean: TimeAverage,
    pub(super) mean_se: f64,
    pub(super) var: TimeAverage,
    pub(super) var_se: f64,
    pub(super) snapshots: usize,
}

/// The time averages of `trace` over the snapshots `range` with `batches` batch means,
/// floored as in the parent module's docs (`exact_mass` sets the binomial floor).
pub(super) fn stationary(
    trace: &Trace,
    range: std::ops::Range<usize>,
    batches: usize,
    exact_mass: f64,
) -> Result<Stationary, ExperimentError> {
    let k = range.len();
    let n = trace.n as f64;
    let boundary = study::batch_means(&trace.boundary[range.clone()], batches)?;
    let mean = study::batch_means(&trace.mean_x1[range.clone()], batches)?;
    let var = study::batch_means(&trace.var_x1[range], batches)?;
    // Floors (module docs): binomial error of k/2 independent snapshots; single-snapshot
    // i.i.d. errors of the moments (from the final snapshot) over √B.
    let binomial = (exact_mass * (1.0 - exact_mass) / (n * (k as f64 / 2.0).max(1.0))).sqrt();
    let x1 = diag::marginal(&trace.last, 0)?;
    let (m, v) = mean_var(&x1);
    let m4 = x1.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    let root_b = (batches as f64).sqrt();
    let mean_floor = (v / n).sqrt() / root_b;
    let var_floor = ((m4 - v * v).max(0.0) / n).sqrt() / root_b;
    Ok(Stationary {
        boundary_se: boundary.se.max(binomial),
        boundary,
        mean_se: mean.se.max(mean_floor),
        mean,
        var_se: var.se.max(var_floor),
        var,
        snapshots: k,
    })
}
