//! `soak`: two long runs that must hold their invariants and not drift.
//!
//! 1. **Metropolis-adjusted mirror MFLD on the simplex Δ²** (entropic map) for the
//!    simplex moment functional F(μ) = ‖E_μ x − q‖² + β Σ_i E_μ[−ln x_i] with q the
//!    centroid, whose mean-field minimiser of F + λ Ent is Dirichlet(a, a, a),
//!    a = 1 + β/λ. Checked at every step for every particle: x_i > 0 and
//!    |Σ_i x_i − 1| ≤ 10⁻¹² (the invariant of the entropic map, docs/mirror-mfld.md).
//! 2. **Wasserstein–Fisher–Rao with resampling** (kernelised weights, variant (1) with a
//!    Gaussian kernel of bandwidth ε — the density-ratio variant needs positions i.i.d.
//!    from π, which transport and resampling break —, MFLD transport of the positions,
//!    systematic resampling when ESS < fraction·N) for the linear
//!    potential V(x) = c·x against π = N(0, 1). Checked at every step: W ≥ 0 and
//!    |Σ W − 1| ≤ 10⁻¹² (plain sum, docs/fisher-rao.md).
//!
//! **No drift.** After a burn-in of a tenth of the steps, the monitored statistic (the
//! ensemble mean of x₁ on the simplex; the weighted mean on R) is averaged over
//! [`CHUNKS`] consecutive chunks of equal length (online, so the run keeps O(1) memory
//! of its own). The time averages of the first and second halves, each with its
//! batch-means standard error over the chunks ([`study::batch_means`]), must agree:
//! |ā₂ − ā₁| ≤ 3.29 √(se₁² + se₂²), a statistical check at level 0.001. On the simplex,
//! E x₁ = 1/3 at every N by the symmetry of the coordinates (the finite-N stationary law
//! is exchangeable in them), so the whole average is also checked against 1/3 (4 s.e.).
//! The Fisher–Rao transport is a time-discretised Langevin step whose O(h) bias makes
//! no exact reference available for its mean; it is reported, not checked.
//!
//! **Flat memory.** The resident size of the process (`VmRSS`, [`memory::current_rss`])
//! is read at [`MEMORY_SAMPLES`] evenly spaced steps after the burn-in; its range must
//! stay within [`MEMORY_SLACK`] (a threshold check: the allocator's own retention is
//! not a leak, but a per-step leak of even 8 bytes over 10⁶ steps exceeds it).
//!
//! Full settings: 10⁶ steps of each run (docs/harness.md §4 records the run); `--quick`
//! 2·10⁴.

use meanfield_energy::{LinearPotential, SimplexMoment};
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, Control, Dynamics, FisherRao, FisherRaoParams,
    GaussianReference, Kernelisation, LangevinParams,
};
use meanfield_measures::{Entropic, InitialLaw, Kernel, KernelShape, streams};
use serde::{Deserialize, Serialize};

use crate::memory;
use crate::report::{Check, Table, two_sided_level};
use crate::study::{self, SLOPE_Z};
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};

/// Chunks whose means form the monitored series (half of them per half of the run).
const CHUNKS: usize = 200;
/// Batches per half for the batch-means standard error.
const BATCHES: usize = 20;
/// Resident-size readings after the burn-in.
const MEMORY_SAMPLES: usize = 20;
/// Largest accepted range of the resident size after the burn-in.
const MEMORY_SLACK: u64 = 4 << 20;
/// Largest accepted |Σ − 1| of the simplex coordinates and of the weights.
const SUM_TOL: f64 = 1e-12;

/// Parameters (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoakConfig {
    /// Steps of each run (≥ 2000: burn-in, 200 chunks and 20 memory readings).
    pub steps: u64,
    /// Particles of the simplex run.
    pub simplex_particles: usize,
    /// Entropy weight λ of the simplex run.
    pub lambda: f64,
    /// Barrier weight β (stationary Dirichlet(1 + β/λ)).
    pub beta: f64,
    /// Step η of the simplex run.
    pub eta: f64,
    /// Particles of the Fisher–Rao run.
    pub fr_particles: usize,
    /// Slope c of the linear potential V(x) = c·x.
    pub fr_slope: f64,
    /// Bandwidth ε of the Gaussian kernel of the Fisher–Rao run.
    pub fr_eps: f64,
    /// Entropy weight σ of the Fisher–Rao run.
    pub fr_sigma: f64,
    /// Step h of the Fisher–Rao run.
    pub fr_h: f64,
    /// Resample when ESS < this fraction of N.
    pub resample_below: f64,
}

impl ExperimentConfig for SoakConfig {
    /// Defaults: 10⁶ steps, or 2·10⁴ with `--quick`.
    fn defaults(quick: bool) -> Self {
        Self {
            steps: if quick { 20_000 } else { 1_000_000 },
            simplex_particles: 64,
            lambda: 0.5,
            beta: 0.5,
            eta: 0.01,
            fr_particles: 64,
            fr_slope: 0.5,
            fr_eps: 0.5,
            fr_sigma: 1.0,
            fr_h: 0.01,
            // Transport keeps the weights near uniform: at 0.5 a run never resamples.
            resample_below: 0.9,
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            (
                "ensemble (simplex_particles × 3)",
                vec![self.simplex_particles, 3],
            ),
            ("ensemble (fr_particles × 1)", vec![self.fr_particles, 1]),
        ]
    }

    /// Rejects settings the runs cannot use, naming the key.
    fn validate(&self) -> Result<(), ExperimentError> {
        let bad = |key: &str, why: &str| Err(ExperimentError::Config(format!("soak: {key} {why}")));
        if self.steps < 2_000 {
            return bad(
                "steps",
                "must be ≥ 2000 (burn-in, 200 chunks, 20 memory readings)",
            );
        }
        if self.simplex_particles < 2 || self.fr_particles < 2 {
            return bad("simplex_particles / fr_particles", "must be ≥ 2");
        }
        for (key, v) in [
            ("lambda", self.lambda),
            ("eta", self.eta),
            ("fr_sigma", self.fr_sigma),
            ("fr_h", self.fr_h),
            ("fr_eps", self.fr_eps),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(key, "must be finite and > 0");
            }
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return bad("beta", "must be finite and ≥ 0");
        }
        if !self.fr_slope.is_finite() {
            return bad("fr_slope", "must be finite");
        }
        if !(self.resample_below > 0.0 && self.resample_below <= 1.0) {
            return bad("resample_below", "must lie in (0, 1]");
        }
        Ok(())
    }
}

/// The experiment.
pub struct Soak;

/// What one soak run measured.
struct Monitor {
    /// Largest |Σ − 1| seen (coordinates of every particle, or the weights).
    max_sum_error: f64,
    /// Steps at which an entry was ≤ 0 (a coordinate, or a weight < 0).
    sign_violations: u64,
    /// Means of the monitored statistic over the chunks after the burn-in.
    chunk_means: Vec<f64>,
    /// Resident sizes read after the burn-in.
    rss: Vec<u64>,
    /// Resampling events (Fisher–Rao).
    resamplings: u64,
    /// Metropolis acceptance (simplex).
    acceptance: Option<f64>,
}

/// Online chunk averages of a statistic recorded at every step after the burn-in.
struct Chunker {
    burn_in: u64,
    chunk_len: u64,
    sum: f64,
    count: u64,
    memory_every: u64,
    monitor: Monitor,
}

impl Chunker {
    fn new(steps: u64) -> Self {
        let burn_in = steps / 10;
        let chunk_len = (steps - burn_in) / CHUNKS as u64;
        Self {
            burn_in,
            chunk_len,
            sum: 0.0,
            count: 0,
            memory_every: ((steps - burn_in) / MEMORY_SAMPLES as u64).max(1),
            monitor: Monitor {
                max_sum_error: 0.0,
                sign_violations: 0,
                chunk_means: Vec::with_capacity(CHUNKS),
                rss: Vec::with_capacity(MEMORY_SAMPLES + 1),
                resamplings: 0,
                acceptance: None,
            },
        }
    }

    /// Records the statistic `value` of step `step` (1-based) and its invariants.
    fn record(&mut self, step: u64, value: f64, sum_error: f64, sign_ok: bool) {
        let m = &mut self.monitor;
        // NaN compares false: a NaN sum error must not hide, so it becomes +∞.
        m.max_sum_error = m.max_sum_error.max(if sum_error.is_nan() {
            f64::INFINITY
        } else {
            sum_error
        });
        m.sign_violations += u64::from(!sign_ok);
        if step <= self.burn_in {
            return;
        }
        let since = step - self.burn_in;
        // Reading the size must not grow the buffer it is kept in: at most
        // MEMORY_SAMPLES + 1 readings, the capacity reserved up front.
        if since.is_multiple_of(self.memory_every)
            && m.rss.len() <= MEMORY_SAMPLES
            && let Some(rss) = memory::current_rss()
        {
            m.rss.push(rss);
        }
        if m.chunk_means.len() == CHUNKS {
            return;
        }
        self.sum += value;
        self.count += 1;
        if self.count == self.chunk_len {
            m.chunk_means.push(self.sum / self.count as f64);
            self.sum = 0.0;
            self.count = 0;
        }
    }
}

/// The simplex run: adjusted mirror MFLD, statistic = ensemble mean of x₁.
fn simplex_run(
    cfg: &SoakConfig,
    seed: u64,
    ctx: &RunContext<'_>,
) -> Result<Monitor, ExperimentError> {
    let f = SimplexMoment::centroid(3, cfg.beta)?;
    let mut dynamics =
        AdjustedMirrorMfld::new(f, Entropic, LangevinParams::new(cfg.lambda, cfg.eta)?)?;
    let law = InitialLaw::Dirichlet {
        alpha: vec![2.0; 3],
    };
    let start = law.sample(cfg.simplex_particles, seed, streams::INITIAL_POSITIONS)?;
    let mut run = Checkpoint::start(&dynamics, start, seed)?;
    let mut chunker = Chunker::new(cfg.steps);
    let report_every = (cfg.steps / 100).max(1);
    let summary = dynamics
        .runner(cfg.steps)
        .observe(1, |o| {
            if o.step == 0 {
                return Ok(Control::Continue);
            }
            let (mut worst, mut sign_ok, mut m1) = (0.0f64, true, 0.0);
            for x in o.state.rows() {
                let s: f64 = x.iter().sum();
                worst = worst.max((s - 1.0).abs());
                sign_ok &= x.iter().all(|v| *v > 0.0);
                m1 += x[0];
            }
            chunker.record(o.step, m1 / o.state.n() as f64, worst, sign_ok);
            if o.step.is_multiple_of(report_every) {
                (ctx.progress)(0.5 * o.step as f64 / cfg.steps as f64, "soak: simplex");
            }
            Ok(Control::Continue)
        })
        .run(&mut dynamics, &mut run)?;
    let mut monitor = chunker.monitor;
    monitor.acceptance = summary.mean_acceptance;
    Ok(monitor)
}

/// The Fisher–Rao run: WFR with resampling, statistic = weighted mean.
fn fisher_rao_run(
    cfg: &SoakConfig,
    seed: u64,
    ctx: &RunContext<'_>,
) -> Result<Monitor, ExperimentError> {
    let kernel = Kernel::new(KernelShape::Gaussian, cfg.fr_eps, 1)?;
    let params = FisherRaoParams::new(GaussianReference::standard(1)?, cfg.fr_sigma, cfg.fr_h)?
        .with_kernelisation(Kernelisation::EvolvingMeasure, kernel)
        .with_resampling(cfg.resample_below)?
        .with_transport();
    let mut dynamics = FisherRao::new(LinearPotential::new(vec![cfg.fr_slope])?, params)?;
    let start = InitialLaw::isotropic_gaussian(1, 0.0, 1.0).sample(
        cfg.fr_particles,
        seed,
        streams::INITIAL_POSITIONS,
    )?;
    let mut run = Checkpoint::start(&dynamics, start, seed)?;
    let mut chunker = Chunker::new(cfg.steps);
    let mut resamplings = 0;
    let report_every = (cfg.steps / 100).max(1);
    dynamics
        .runner(cfg.steps)
        .observe(1, |o| {
            let Some(info) = o.info else {
                return Ok(Control::Continue);
            };
            resamplings += u64::from(info.resampled);
            let n = o.state.n();
            let (mut total, mut sign_ok, mut mean) = (0.0, true, 0.0);
            for i in 0..n {
                let w = o.state.weight(i);
                total += w;
                sign_ok &= w >= 0.0;
                mean += w * o.state.particle(i)[0];
            }
            chunker.record(o.step, mean, (total - 1.0).abs(), sign_ok);
            if o.step.is_multiple_of(report_every) {
                (ctx.progress)(
                    0.5 + 0.5 * o.step as f64 / cfg.steps as f64,
                    "soak: Fisher–Rao",
                );
            }
            Ok(Control::Continue)
        })
        .run(&mut dynamics, &mut run)?;
    let mut monitor = chunker.monitor;
    monitor.resamplings = resamplings;
    Ok(monitor)
}

/// A row of the table `runs`.
#[derive(Serialize)]
struct RunRow {
    run: &'static str,
    steps: u64,
    #[serde(rename = "max |Σ − 1|")]
    max_sum_error: f64,
    #[serde(rename = "sign violations")]
    sign_violations: u64,
    #[serde(rename = "first half ā₁")]
    first: f64,
    #[serde(rename = "se₁")]
    first_se: f64,
    #[serde(rename = "second half ā₂")]
    second: f64,
    #[serde(rename = "se₂")]
    second_se: f64,
    #[serde(rename = "z of ā₂ − ā₁")]
    z: f64,
    #[serde(rename = "RSS range after burn-in (bytes)")]
    rss_range: Option<u64>,
    resamplings: u64,
    acceptance: Option<f64>,
}

/// The checks and table row of one run.
fn judge(
    label: &'static str,
    steps: u64,
    m: &Monitor,
    exact_mean: Option<f64>,
    report: &mut Report,
) -> Result<RunRow, ExperimentError> {
    report.checks.push(
        Check::at_most(
            format!("{label}: max |Σ − 1| over all steps"),
            m.max_sum_error,
            SUM_TOL,
        )
        .exact(),
    );
    report.checks.push(
        Check::at_most(
            format!("{label}: steps with an entry outside the domain"),
            m.sign_violations as f64,
            0.0,
        )
        .exact(),
    );
    let half = m.chunk_means.len() / 2;
    let first = study::batch_means(&m.chunk_means[..half], BATCHES)?;
    let second = study::batch_means(&m.chunk_means[half..], BATCHES)?;
    let se = first.se.hypot(second.se);
    report.checks.push(Check::t_within(
        format!(
            "{label}: no drift, second-half vs first-half time average (t band at the level of {SLOPE_Z} s.e.)"
        ),
        second.mean - first.mean,
        0.0,
        se,
        study::welch_dof(&[(first.se, first.dof()), (second.se, second.dof())]),
        two_sided_level(SLOPE_Z),
    ));
    if let Some(exact) = exact_mean {
        let whole = study::batch_means(&m.chunk_means, BATCHES)?;
        report.checks.push(Check::t_within(
            format!("{label}: time average vs exact {exact:.6} (t band at the level of 4 s.e.)"),
            whole.mean,
            exact,
            whole.se,
            whole.dof(),
            two_sided_level(4.0),
        ));
    }
    let rss_range = match (m.rss.iter().min(), m.rss.iter().max()) {
        (Some(lo), Some(hi)) => Some(hi - lo),
        _ => None,
    };
    if let Some(range) = rss_range {
        report.checks.push(Check::at_most(
            format!("{label}: resident-memory range after the burn-in (bytes)"),
            range as f64,
            MEMORY_SLACK as f64,
        ));
    } else {
        report.notes.push(format!(
            "{label}: resident memory not measured (no /proc/self/status)."
        ));
    }
    Ok(RunRow {
        run: label,
        steps,
        max_sum_error: m.max_sum_error,
        sign_violations: m.sign_violations,
        first: first.mean,
        first_se: first.se,
        second: second.mean,
        second_se: second.se,
        z: (second.mean - first.mean) / se,
        rss_range,
        resamplings: m.resamplings,
        acceptance: m.acceptance,
    })
}

impl ConfiguredExperiment for Soak {
    type Config = SoakConfig;
    const NAME: &'static str = "soak";
    const DESCRIPTION: &'static str = "long runs of adjusted mirror MFLD on the simplex and of Wasserstein–Fisher–Rao with resampling: Σx = 1 and ΣW = 1 to 1e-12 at every step, no drift, flat memory";

    fn execute(
        &self,
        cfg: SoakConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let simplex = simplex_run(
            &cfg,
            meanfield_measures::replicate_seed(ctx.seed, 0, 0),
            ctx,
        )?;
        let fr = fisher_rao_run(
            &cfg,
            meanfield_measures::replicate_seed(ctx.seed, 1, 0),
            ctx,
        )?;
        let rows = vec![
            judge(
                "adjusted mirror MFLD on Δ²",
                cfg.steps,
                &simplex,
                Some(1.0 / 3.0),
                report,
            )?,
            judge("WFR with resampling", cfg.steps, &fr, None, report)?,
        ];
        report.checks.push(Check::at_most(
            "WFR with resampling: −(resampling events) ≤ −1 (the run exercised resampling)",
            -(fr.resamplings as f64),
            -1.0,
        ));
        report
            .tables
            .insert("runs".into(), Table::from_named_records(&rows)?);
        report.notes.push(format!(
            "{} steps of each run; statistics after a burn-in of {} steps, averaged over {CHUNKS} \
             chunks; standard errors by batch means ({BATCHES} batches per half).",
            cfg.steps,
            cfg.steps / 10
        ));
        Ok(())
    }
}
