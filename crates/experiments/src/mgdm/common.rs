//! Shared pieces of the MGDM / MF-MGDM experiments (`mf-mgdm-table`, `mf-mgdm-batch`,
//! `mf-mgdm-sp500`): the target α = E_p Φ estimated from independent paths, path
//! sampling from a [`PathLaw`], summed log-densities, and one run with its reverse-KL
//! trace (spec `mf-mgdm.md`).
//!
//! Every random draw comes from keyed [`NoiseStreams`] (path j of purpose P at seed s uses
//! stream (s, P, 0, j)), every parallel loop writes per-path slots that are reduced in
//! path order, so runs are bitwise identical for any thread count.

use meanfield_diagnostics::ReverseKlTrace;
use meanfield_energy::{FeatureMap, PathLaw};
use meanfield_integrators::{Checkpoint, Control, Coupling, Dynamics, Mgdm, MgdmParams};
use meanfield_measures::compensated::NeumaierSum;
use meanfield_measures::streams;
use meanfield_measures::{Domain, Ensemble, NoiseStreams, Parallelism};
use rayon::prelude::*;

use crate::ExperimentError;

/// `n` independent paths of `law` (row-major n × T) from the streams of (seed, purpose).
///
/// # Errors
/// The sampler's error, if any.
pub fn sample_paths(
    law: &dyn PathLaw,
    n: usize,
    seed: u64,
    purpose: u64,
) -> Result<Vec<f64>, ExperimentError> {
    let t = law.len();
    let streams = NoiseStreams::new(seed, purpose).at_step(0);
    let mut x = meanfield_measures::alloc::zeroed_f64("MGDM paths (n_paths × T)", &[n, t])?;
    x.par_chunks_exact_mut(t)
        .enumerate()
        .map(|(j, row)| law.sample(&mut streams.rng(j as u64), row))
        .collect::<Result<Vec<()>, _>>()?;
    Ok(x)
}

/// α = (1/M) Σ_j Φ(x_j) over M = `n_samples` independent paths of `law`, drawn in chunks
/// (bounded memory) and summed in path order with compensation.
///
/// # Errors
/// Sampler or feature-map errors; `n_samples = 0` is a configuration error.
pub fn feature_mean<F: FeatureMap>(
    map: &F,
    law: &dyn PathLaw,
    n_samples: usize,
    seed: u64,
) -> Result<Vec<f64>, ExperimentError> {
    if n_samples == 0 {
        return Err(ExperimentError::Config("alpha_samples must be ≥ 1".into()));
    }
    let (t, k) = (law.len(), map.n_features());
    let streams = NoiseStreams::new(seed, streams::MGDM_ALPHA).at_step(0);
    let mut sums: Vec<NeumaierSum> = (0..k).map(|_| NeumaierSum::new()).collect();
    const CHUNK: usize = 512;
    let mut start = 0;
    while start < n_samples {
        let len = CHUNK.min(n_samples - start);
        let feats: Vec<Vec<f64>> = (start..start + len)
            .into_par_iter()
            .map(|j| -> Result<Vec<f64>, ExperimentError> {
                let mut row = vec![0.0; t];
                law.sample(&mut streams.rng(j as u64), &mut row)?;
                let mut phi = vec![0.0; k];
                map.eval(&row, &mut phi)?;
                Ok(phi)
            })
            .collect::<Result<_, _>>()?;
        for phi in &feats {
            sums.iter_mut().zip(phi).for_each(|(s, p)| s.add(*p));
        }
        start += len;
    }
    Ok(sums.iter().map(|s| s.value() / n_samples as f64).collect())
}

/// Σ_i log p(x_i) over the rows of `x` (parallel evaluation, summation in row order).
///
/// # Errors
/// The law's error (wrong length, non-finite path).
pub fn log_density_sum(law: &dyn PathLaw, x: &[f64]) -> Result<f64, ExperimentError> {
    let t = law.len();
    let vals: Vec<f64> = x
        .par_chunks_exact(t)
        .map(|row| law.log_density(row))
        .collect::<Result<_, _>>()?;
    let mut s = NeumaierSum::new();
    vals.iter().for_each(|v| s.add(*v));
    Ok(s.value())
}

/// One MGDM / MF-MGDM run: the reverse-KL trace and the final paths.
#[derive(Debug, Clone)]
pub struct MgdmRun {
    /// KL_k and its parts for k = 0..=steps.
    pub trace: ReverseKlTrace,
    /// Paths after the last step (row-major N × T).
    pub paths: Vec<f64>,
    /// Paths at the step of minimal KL.
    pub paths_at_min: Vec<f64>,
    /// Total number of frozen coordinate updates (positivity projection).
    pub frozen: usize,
}

/// Runs `steps` steps of MGDM / MF-MGDM from `x0` (row-major N × T), recording the
/// reverse KL against `target` with latent law `latent` after every step. Without a
/// target density (real data) the target parts are 0, so the trace's KL is −entropy and
/// [`ReverseKlTrace::entropy`] is still exact. A non-negative target switches on the
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
    mut progress: impl FnMut(u64),
) -> Result<MgdmRun, ExperimentError>
where
    F::Hessian: std::fmt::Debug,
{
    let t = map.len();
    let n = x0.len() / t;
    let params = MgdmParams::new(gamma)?
        .with_coupling(coupling)?
        .with_projection(target.is_some_and(|p| p.non_negative()));
    let mut mgdm = Mgdm::new(map, alpha, params)?.with_parallelism(Parallelism::Rayon);
    let start = Ensemble::new(n, t, x0.to_vec(), Domain::Euclidean)?;
    // Deterministic dynamics: the seed keys no draw.
    let mut ckpt = Checkpoint::start(&mgdm, start, 0)?;
    let target_sum = |x: &[f64]| target.map_or(Ok(0.0), |p| log_density_sum(p, x));
    let mut trace = ReverseKlTrace::new(n, log_density_sum(latent, x0)?, target_sum(x0)?)?;
    let mut best = (trace.kl()[0], x0.to_vec());
    let mut frozen = 0;
    mgdm.runner(steps)
        .observe(1, |o| {
            // Step 0 has no step info: the trace starts from the latent sample.
            if let Some(info) = o.info {
                frozen += info.frozen;
                trace.push(info.log_det, target_sum(o.state.as_slice())?)?;
                let kl = trace.kl_at(trace.steps()).unwrap_or(f64::INFINITY);
                if kl < best.0 {
                    best = (kl, o.state.as_slice().to_vec());
                }
            }
            Ok(Control::Continue)
        })
        .progress(|k, _| progress(k))
        .run(&mut mgdm, &mut ckpt)?;
    let x = ckpt.state.as_slice().to_vec();
    Ok(MgdmRun {
        trace,
        paths: x,
        paths_at_min: best.1,
        frozen,
    })
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
