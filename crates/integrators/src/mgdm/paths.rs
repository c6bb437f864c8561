//! The path-level pieces every MGDM / MF-MGDM user needs around [`Mgdm`]: N paths drawn
//! from a [`PathLaw`], the target α = E_p Φ estimated from independent paths, summed
//! log-densities Σ_i log p(x_i), and one run with its exact reverse-KL trace
//! KL_k = (1/N) [ Σ_i log q0(x_i⁰) − Σ_{steps ≤ k} log|det ∇g| − Σ_i log p(x_i^k) ]
//! (docs/mgdm.md).
//!
//! Every random draw comes from keyed [`NoiseStreams`] (path j of purpose P at seed s uses
//! stream (s, P, 0, j)), every parallel loop writes per-path slots that are reduced in
//! path order, so results are bitwise identical for any thread count.

use meanfield_diagnostics::ReverseKlTrace;
use meanfield_energy::{FeatureMap, PathLaw};
use meanfield_measures::compensated::NeumaierSum;
use meanfield_measures::streams;
use meanfield_measures::{Domain, Ensemble, NoiseStreams};
use rayon::prelude::*;

use super::Mgdm;
use crate::dynamics::Dynamics;
use crate::error::{IntegratorError, Result};
use crate::runner::{Checkpoint, Control};

/// `n` independent paths of `law` (row-major n × T) from the streams of (seed, purpose):
/// path j is drawn from stream (seed, purpose, 0, j).
///
/// # Errors
/// [`IntegratorError::Measures`] if the n × T buffer exceeds the allocation limit;
/// [`IntegratorError::Energy`] (step 0) for the sampler's error.
pub fn sample_paths(law: &dyn PathLaw, n: usize, seed: u64, purpose: u64) -> Result<Vec<f64>> {
    let t = law.len();
    let streams = NoiseStreams::new(seed, purpose).at_step(0);
    let mut x = meanfield_measures::alloc::zeroed_f64("MGDM paths (n_paths × T)", &[n, t])?;
    sample_rows(law, &streams, 0, &mut x)
        .map_err(|source| IntegratorError::Energy { step: 0, source })?;
    Ok(x)
}

/// Paths `first`, `first + 1`, … of `streams` into the rows of `out`: one
/// [`PathLaw::sample_many`] call when the law samples in batches, else one
/// [`PathLaw::sample`] per row in parallel (the same rows either way).
fn sample_rows(
    law: &dyn PathLaw,
    streams: &meanfield_measures::rng::StepStreams,
    first: usize,
    out: &mut [f64],
) -> meanfield_energy::Result<()> {
    let t = law.len().max(1);
    let mut rngs: Vec<_> = (0..out.len() / t)
        .map(|j| streams.rng((first + j) as u64))
        .collect();
    if let Some(r) = law.sample_many(&mut rngs, out) {
        return r;
    }
    out.par_chunks_exact_mut(t)
        .zip(rngs.par_iter_mut())
        .try_for_each(|(row, rng)| law.sample(rng, row))
}

/// α = (1/M) Σ_j Φ(x_j) over M = `n_samples` independent paths of `law` (path j from
/// stream (seed, [`streams::MGDM_ALPHA`], 0, j)), drawn in chunks of 512 (bounded memory)
/// and summed in path order with compensation.
///
/// # Errors
/// [`IntegratorError::InvalidParameter`] for `n_samples = 0`;
/// [`IntegratorError::IncompatibleState`] if the map's path length is not the law's;
/// [`IntegratorError::Energy`] (step 0) for sampler or feature-map errors.
pub fn feature_mean<F: FeatureMap>(
    map: &F,
    law: &dyn PathLaw,
    n_samples: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    if n_samples == 0 {
        return Err(IntegratorError::InvalidParameter {
            name: "n_samples",
            value: 0.0,
            reason: "the feature mean needs at least one path",
        });
    }
    let (t, k) = (law.len(), map.n_features());
    if map.len() != t {
        return Err(IntegratorError::IncompatibleState(format!(
            "feature map of path length {} but law of path length {t}",
            map.len()
        )));
    }
    let energy = |source| IntegratorError::Energy { step: 0, source };
    let streams = NoiseStreams::new(seed, streams::MGDM_ALPHA).at_step(0);
    let mut sums: Vec<NeumaierSum> = (0..k).map(|_| NeumaierSum::new()).collect();
    const CHUNK: usize = 512;
    let mut start = 0;
    while start < n_samples {
        let len = CHUNK.min(n_samples - start);
        let mut rows = vec![0.0; len * t];
        sample_rows(law, &streams, start, &mut rows).map_err(energy)?;
        let feats: Vec<Vec<f64>> = rows
            .par_chunks_exact(t)
            .map(|row| -> meanfield_energy::Result<Vec<f64>> {
                let mut phi = vec![0.0; k];
                map.eval(row, &mut phi)?;
                Ok(phi)
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(energy)?;
        for phi in &feats {
            sums.iter_mut().zip(phi).for_each(|(s, p)| s.add(*p));
        }
        start += len;
    }
    Ok(sums.iter().map(|s| s.value() / n_samples as f64).collect())
}

/// Σ_i log p(x_i) over the rows of `x` (row-major paths of length T = `law.len()`;
/// parallel evaluation, compensated summation in row order); −∞ when a path lies outside
/// the support.
///
/// # Errors
/// The law's error (a row of the wrong length, a non-finite entry); `x.len()` not a
/// multiple of T is a [`meanfield_energy::EnergyError::DimensionMismatch`].
pub fn log_density_sum(law: &dyn PathLaw, x: &[f64]) -> meanfield_energy::Result<f64> {
    let t = law.len();
    if t == 0 || !x.len().is_multiple_of(t) {
        return Err(meanfield_energy::EnergyError::DimensionMismatch {
            what: "paths buffer (a multiple of the path length T)",
            expected: t * x.len().div_ceil(t.max(1)),
            got: x.len(),
        });
    }
    let mut vals = vec![0.0; x.len() / t];
    match law.log_densities(x, &mut vals) {
        Some(r) => r?,
        None => {
            vals = x
                .par_chunks_exact(t)
                .map(|row| law.log_density(row))
                .collect::<std::result::Result<_, _>>()?;
        }
    }
    // A path outside the support: the sum is −∞ (the compensated sum would give NaN).
    if vals.contains(&f64::NEG_INFINITY) {
        return Ok(f64::NEG_INFINITY);
    }
    let mut s = NeumaierSum::new();
    vals.iter().for_each(|v| s.add(*v));
    Ok(s.value())
}

/// One MGDM / MF-MGDM run with its reverse-KL trace ([`run_with_trace`]).
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

/// The reverse-KL bookkeeping of one MGDM / MF-MGDM run as a value: the
/// [`ReverseKlTrace`], the paths at the step of minimal KL and the frozen count, fed
/// one step at a time by [`KlRecorder::record`] (the observer of [`run_with_trace`]).
/// A resumable run carries it beside its [`Checkpoint`], so the trace accumulates across
/// resumed runs; it serialises as the raw per-step inputs (log-determinants, target
/// sums) and is rebuilt by replaying them, so a deserialised recorder continues bit for
/// bit.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "KlRecord", into = "KlRecord")]
pub struct KlRecorder {
    trace: ReverseKlTrace,
    record: KlRecord,
}

/// The serialised form of a [`KlRecorder`]: its inputs, step by step.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct KlRecord {
    n_paths: usize,
    latent_sum: f64,
    /// Σ_i log p(x_i^k), k = 0..=K; `None` is −∞ (JSON has no infinities).
    target_sums: Vec<Option<f64>>,
    log_dets: Vec<f64>,
    frozen: usize,
    /// The first step of minimal KL and its paths.
    argmin: usize,
    paths_at_min: Vec<f64>,
}

impl TryFrom<KlRecord> for KlRecorder {
    type Error = String;
    fn try_from(r: KlRecord) -> std::result::Result<Self, String> {
        let sum = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
        let (first, rest) = r
            .target_sums
            .split_first()
            .ok_or("KL record without step 0")?;
        if rest.len() != r.log_dets.len() || r.argmin > r.log_dets.len() {
            return Err("KL record: as many target sums as steps + 1 and argmin ≤ steps".into());
        }
        let mut trace =
            ReverseKlTrace::new(r.n_paths, r.latent_sum, sum(*first)).map_err(|e| e.to_string())?;
        for (ld, tl) in r.log_dets.iter().zip(rest) {
            trace.push(*ld, sum(*tl)).map_err(|e| e.to_string())?;
        }
        Ok(Self { trace, record: r })
    }
}

impl From<KlRecorder> for KlRecord {
    fn from(r: KlRecorder) -> Self {
        r.record
    }
}

impl KlRecorder {
    /// Starts the trace at step 0 from the latent sample `x0` (row-major N × T) of the
    /// latent law `latent` against `target` (None: target parts 0, KL = −entropy).
    ///
    /// # Errors
    /// [`IntegratorError::IncompatibleState`] for `x0` of the wrong shape or with zero
    /// latent or target density.
    pub fn start(x0: &[f64], target: Option<&dyn PathLaw>, latent: &dyn PathLaw) -> Result<Self> {
        let t = latent.len();
        if t == 0 || x0.is_empty() || !x0.len().is_multiple_of(t) {
            return Err(IntegratorError::IncompatibleState(format!(
                "x0 has {} entries, not a positive multiple of the path length T = {t}",
                x0.len()
            )));
        }
        let at_start = |e: &dyn std::fmt::Display| {
            IntegratorError::IncompatibleState(format!("x0 for the reverse-KL trace: {e}"))
        };
        let n_paths = x0.len() / t;
        let latent_sum = log_density_sum(latent, x0).map_err(|e| at_start(&e))?;
        let target0 = target_sum(target, x0).map_err(|e| at_start(&e))?;
        let trace = ReverseKlTrace::new(n_paths, latent_sum, target0).map_err(|e| at_start(&e))?;
        Ok(Self {
            trace,
            record: KlRecord {
                n_paths,
                latent_sum,
                target_sums: vec![Some(target0).filter(|v| v.is_finite())],
                log_dets: Vec::new(),
                frozen: 0,
                argmin: 0,
                paths_at_min: x0.to_vec(),
            },
        })
    }

    /// Records one step: its log|det ∇g| and frozen count (`MgdmInfo`) and the paths
    /// after it (row-major N × T), whose target log-density is evaluated here.
    ///
    /// # Errors
    /// The target law's error for a path it cannot evaluate; a non-finite log-det or a
    /// NaN target sum ([`meanfield_diagnostics::DiagnosticsError::NonFinite`]).
    pub fn record(
        &mut self,
        log_det: f64,
        frozen: usize,
        paths: &[f64],
        target: Option<&dyn PathLaw>,
    ) -> std::result::Result<(), crate::error::ObserverError> {
        let tl = target_sum(target, paths)?;
        self.trace.push(log_det, tl)?;
        let r = &mut self.record;
        r.log_dets.push(log_det);
        r.target_sums.push(Some(tl).filter(|v| v.is_finite()));
        r.frozen += frozen;
        let k = self.trace.steps();
        let best = self.trace.kl_at(r.argmin).unwrap_or(f64::INFINITY);
        if self.trace.kl_at(k).unwrap_or(f64::INFINITY) < best {
            r.argmin = k;
            r.paths_at_min.clear();
            r.paths_at_min.extend_from_slice(paths);
        }
        Ok(())
    }

    /// The trace so far (k = 0..=steps recorded).
    pub fn trace(&self) -> &ReverseKlTrace {
        &self.trace
    }

    /// The paths at the first step of minimal KL (row-major N × T).
    pub fn paths_at_min(&self) -> &[f64] {
        &self.record.paths_at_min
    }

    /// Total number of frozen coordinate updates recorded.
    pub fn frozen(&self) -> usize {
        self.record.frozen
    }
}

/// Σ_i log p(x_i) under `target`, 0 without one.
fn target_sum(target: Option<&dyn PathLaw>, x: &[f64]) -> meanfield_energy::Result<f64> {
    target.map_or(Ok(0.0), |p| log_density_sum(p, x))
}

/// Runs `steps` steps of `mgdm` from the latent sample `x0` (row-major N × T) through
/// its [`crate::Runner`], recording the reverse KL against `target` with latent law
/// `latent` after every step (a [`KlRecorder`] as observer). Without a target density
/// (real data) the target parts are 0, so the trace's KL is −entropy and
/// [`ReverseKlTrace::entropy`] is still exact. `progress(k)` is called after step k.
///
/// The dynamics is deterministic: no seed keys any draw, so the run is a function of
/// `x0` alone.
///
/// # Errors
/// [`IntegratorError::IncompatibleState`] for `x0` of the wrong shape or with zero latent
/// or target density; the step's errors (a diverging step size is
/// [`IntegratorError::Diverged`] naming the step); [`IntegratorError::Observer`] for a law
/// failing on a state.
pub fn run_with_trace<F: FeatureMap>(
    mgdm: &mut Mgdm<F>,
    x0: &[f64],
    target: Option<&dyn PathLaw>,
    latent: &dyn PathLaw,
    steps: u64,
    mut progress: impl FnMut(u64),
) -> Result<MgdmRun>
where
    F::Hessian: std::fmt::Debug,
{
    let t = mgdm.map().len();
    if t == 0 || !x0.len().is_multiple_of(t) || x0.is_empty() {
        return Err(IntegratorError::IncompatibleState(format!(
            "x0 has {} entries, not a positive multiple of the path length T = {t}",
            x0.len()
        )));
    }
    let n = x0.len() / t;
    let start = Ensemble::new(n, t, x0.to_vec(), Domain::Euclidean)?;
    let mut ckpt = Checkpoint::start(&*mgdm, start, 0)?;
    let mut rec = KlRecorder::start(x0, target, latent)?;
    mgdm.runner(steps)
        .observe(1, |o| {
            // Step 0 has no step info: the trace starts from the latent sample.
            if let Some(info) = o.info {
                rec.record(info.log_det, info.frozen, o.state.as_slice(), target)?;
            }
            Ok(Control::Continue)
        })
        .progress(|k, _| progress(k))
        .run(mgdm, &mut ckpt)?;
    Ok(MgdmRun {
        paths: ckpt.state.as_slice().to_vec(),
        paths_at_min: rec.record.paths_at_min,
        frozen: rec.record.frozen,
        trace: rec.trace,
    })
}

/// The mean feature vector (1/N) Σ_i Φ(x_i) over the rows of `x` (row-major N × T paths;
/// parallel evaluation, compensated summation in row order): how close a run's paths came
/// to the target α.
///
/// # Errors
/// [`meanfield_energy::EnergyError::DimensionMismatch`] if `x` is empty or not a multiple
/// of T; the map's error for a non-finite path.
pub fn path_feature_mean<F: FeatureMap>(map: &F, x: &[f64]) -> meanfield_energy::Result<Vec<f64>> {
    let (t, k) = (map.len(), map.n_features());
    if t == 0 || x.is_empty() || !x.len().is_multiple_of(t) {
        return Err(meanfield_energy::EnergyError::DimensionMismatch {
            what: "paths buffer (a positive multiple of the path length T)",
            expected: t * x.len().div_ceil(t.max(1)).max(1),
            got: x.len(),
        });
    }
    let feats: Vec<Vec<f64>> = x
        .par_chunks_exact(t)
        .map(|row| {
            let mut phi = vec![0.0; k];
            map.eval(row, &mut phi).map(|()| phi)
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut sums: Vec<NeumaierSum> = (0..k).map(|_| NeumaierSum::new()).collect();
    for phi in &feats {
        sums.iter_mut().zip(phi).for_each(|(s, p)| s.add(*p));
    }
    let n = feats.len() as f64;
    Ok(sums.iter().map(|s| s.value() / n).collect())
}
