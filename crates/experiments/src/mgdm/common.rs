//! Shared pieces of the MGDM / MF-MGDM experiments (`mf-mgdm-table`, `mf-mgdm-batch`,
//! `mf-mgdm-sp500`): one run from its parameters with its reverse-KL trace (spec
//! `mf-mgdm.md`). Path sampling, the target α and the log-density sums are the library's
//! ([`meanfield_integrators::mgdm::paths`]), re-exported here.

use meanfield_energy::{FeatureMap, PathLaw};
use meanfield_integrators::{Coupling, Mgdm, MgdmParams};
use meanfield_measures::Parallelism;

pub use meanfield_integrators::mgdm::{MgdmRun, feature_mean, log_density_sum, sample_paths};

use crate::ExperimentError;

/// Runs `steps` steps of MGDM / MF-MGDM from `x0` (row-major N × T), recording the
/// reverse KL against `target` with latent law `latent` after every step. Without a
/// target density (real data) the target parts are 0, so the trace's KL is −entropy and
/// [`meanfield_diagnostics::ReverseKlTrace::entropy`] is still exact. A non-negative target switches on the
/// positivity projection.
///
/// # Errors
/// Integrator (divergence names the step), law and diagnostic errors.
#[allow(clippy::too_many_arguments)]
pub fn run_mgdm<F: FeatureMap>(
    map: F,
    alpha: Vec<f64>,
    gamma: f64,
    coupling: Coupling,
    x0: &[f64],
    target: Option<&dyn PathLaw>,
    latent: &dyn PathLaw,
    steps: u64,
    progress: impl FnMut(u64),
) -> Result<MgdmRun, ExperimentError>
where
    F::Hessian: std::fmt::Debug,
{
    let params = MgdmParams::new(gamma)?
        .with_coupling(coupling)?
        .with_projection(target.is_some_and(|p| p.non_negative()));
    let mut mgdm = Mgdm::new(map, alpha, params)?.with_parallelism(Parallelism::Rayon);
    Ok(meanfield_integrators::run_with_trace(
        &mut mgdm, x0, target, latent, steps, progress,
    )?)
}

/// Sample mean and standard deviation (n − 1) of `xs`; sd = 0 for a single value.
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (m, 0.0);
    }
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}
