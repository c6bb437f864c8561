//! `mfld-bias`: the O(η) time-step bias of Euler–Maruyama MFLD on the Gaussian oracle
//! F(μ) = ∫|x|²/2 dμ + (κ/2)|E_μ x − b|² (spec `mmfld.md`, experiment 2), and its absence
//! in the Metropolis-adjusted (MALA, identity mirror map) scheme.
//!
//! # Exact reference
//!
//! The deviation of a particle from the empirical mean, D^i = X^i − m_N, obeys
//! D_{k+1} = (1 − η) D_k + √(2λη)(ξ^i − ξ̄) per coordinate, so the stationary empirical
//! variance (1/N)Σ_i (D^i)² has expectation
//!
//! v_η = λ(1 − 1/N) / (1 − η/2),
//!
//! and the continuous-time N-particle system has v_0 = λ(1 − 1/N). The bias of the scheme
//! is therefore exactly
//!
//! v_η − v_0 = λ(1 − 1/N) (1/(1 − η/2) − 1) = λ(1 − 1/N) η/(2 − η) ≈ λη/2,
//!
//! whose log–log slope in η is 1 + η/(2 − η) ∈ (1, 1.25] on η ≤ 0.4.
//!
//! # Measurement
//!
//! For every η of the ladder: start from the continuous stationary law N(m*, λI), discard
//! `burn_in_time`, then record v̂ = tr(C_N)/d every `observe_every_time` over
//! `average_time`. The mean of the snapshots estimates v_η; its standard error comes from
//! batch means over B batches ([`crate::study::batch_means`]): each batch spans
//! `average_time`/B time units, many correlation times of v̂ (≈ 1/2: the deviations are
//! Ornstein–Uhlenbeck processes of rate ≈ 1, squared). The measured bias is v̂ − v_0. Every
//! η (and scheme) uses its own seed, so the points of the log–log fit are independent.

use meanfield_diagnostics as diag;
use meanfield_energy::QuadraticInteraction;
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, Control, Dynamics, LangevinParams, Mfld,
};
use meanfield_measures::{Ensemble, Identity, Parallelism};
use meanfield_measures::{InitialLaw, replicate_seed, streams};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::report::{Check, Plot, Series, Table, two_sided_level};
use crate::study::{self, SharedProgress, TimeAverage};
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};

/// Checks allow this many standard errors.
const SIGMAS: f64 = 4.0;

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfldBiasConfig {
    /// Interaction strength κ.
    pub kappa: f64,
    /// Anchor b (its length is the dimension d).
    pub anchor: Vec<f64>,
    /// Temperature λ.
    pub lambda: f64,
    /// The ladder of time steps η (at least 3 values).
    pub etas: Vec<f64>,
    /// Particles per run.
    pub n_particles: usize,
    /// Time discarded before averaging.
    pub burn_in_time: f64,
    /// Time averaged over.
    pub average_time: f64,
    /// Time between snapshots (at least one step).
    pub observe_every_time: f64,
    /// Batches of the batch-means standard error.
    pub batches: usize,
    /// Also run the Metropolis-adjusted (MALA) scheme for contrast.
    pub mala: bool,
}

impl ExperimentConfig for MfldBiasConfig {
    /// Defaults: full study, or the reduced `--quick` one.
    fn defaults(quick: bool) -> Self {
        Self {
            kappa: 1.0,
            anchor: vec![1.0, -0.5],
            lambda: 0.5,
            etas: if quick {
                vec![0.4, 0.2, 0.1, 0.05]
            } else {
                vec![0.4, 0.2, 0.1, 0.05, 0.025]
            },
            n_particles: if quick { 2_000 } else { 10_000 },
            burn_in_time: 5.0,
            average_time: if quick { 100.0 } else { 300.0 },
            observe_every_time: 0.1,
            batches: 20,
            mala: true,
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![(
            "ensemble (n_particles × d)",
            vec![self.n_particles, self.anchor.len()],
        )]
    }

    fn validate(&self) -> Result<(), ExperimentError> {
        let bad_eta = self
            .etas
            .iter()
            .find(|e| !(e.is_finite() && **e > 0.0 && **e < 2.0));
        if let Some(e) = bad_eta {
            return Err(ExperimentError::Config(format!(
                "time step {e} must lie in (0, 2) (the Euler scheme is unstable beyond)"
            )));
        }
        if self.etas.len() < 3
            || self.anchor.is_empty()
            || self.n_particles < 2
            || self.batches < 2
            || !(self.average_time > 0.0
                && self.burn_in_time >= 0.0
                && self.observe_every_time > 0.0)
        {
            return Err(ExperimentError::Config(
                "need ≥ 3 time steps, a non-empty anchor, n_particles ≥ 2, batches ≥ 2, \
                 average_time > 0, burn_in_time ≥ 0 and observe_every_time > 0"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A row of the table `stationary variance bias`: one step size η.
#[derive(Serialize)]
struct BiasRow {
    #[serde(rename = "η")]
    eta: f64,
    steps: u64,
    #[serde(rename = "MFLD v̂ (time avg)")]
    v_hat: f64,
    #[serde(rename = "s.e.")]
    se: f64,
    #[serde(rename = "bias v̂ − λ(1−1/N)")]
    bias: f64,
    #[serde(rename = "exact bias")]
    exact: f64,
    #[serde(rename = "(bias − exact)/s.e.")]
    z: f64,
    #[serde(rename = "MALA bias")]
    mala_bias: Option<f64>,
    #[serde(rename = "MALA s.e.")]
    mala_se: Option<f64>,
    #[serde(rename = "MALA acceptance")]
    mala_acceptance: Option<f64>,
}

/// The experiment.
pub struct MfldBias;

/// Which scheme a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Euler,
    Mala,
}

/// Stationary average of one run.
struct RunResult {
    average: TimeAverage,
    acceptance: Option<f64>,
    steps: u64,
}

#[allow(clippy::too_many_arguments)]
fn run_one<D: Dynamics<State = Ensemble>>(
    mut dy: D,
    start: Ensemble,
    seed: u64,
    burn_in_steps: u64,
    steps: u64,
    every: u64,
    batches: usize,
    progress: &SharedProgress<'_>,
) -> Result<RunResult, ExperimentError> {
    let (n, d) = (start.n(), start.dim());
    let mut ckpt = Checkpoint::start(&dy, start, seed)?;
    let mut snapshots = Vec::new();
    let summary = dy
        .runner(steps)
        .observe(every, |o| {
            let (k, ens) = (o.step, o.state);
            if k >= burn_in_steps && k % every == 0 {
                let c = diag::covariance(ens);
                snapshots.push((0..d).map(|j| c[j * d + j]).sum::<f64>() / d as f64);
            }
            Ok(Control::Continue)
        })
        .progress(progress.runner_callback(n))
        .run(&mut dy, &mut ckpt)?;
    Ok(RunResult {
        average: study::batch_means(&snapshots, batches)?,
        acceptance: summary.mean_acceptance,
        steps,
    })
}

/// N particles i.i.d. N(m, λI) from the streams of `seed`.
fn stationary_start(
    n: usize,
    m: &[f64],
    lambda: f64,
    seed: u64,
) -> Result<Ensemble, ExperimentError> {
    let law = InitialLaw::Gaussian {
        mean: m.to_vec(),
        std: lambda.sqrt(),
    };
    Ok(law.sample(n, seed, streams::INITIAL_POSITIONS)?)
}

/// Seed of the run of scheme `s` at ladder index `j`.
fn run_seed(base: u64, scheme: Scheme, j: usize) -> u64 {
    let s = match scheme {
        Scheme::Euler => 1u32,
        Scheme::Mala => 2u32,
    };
    replicate_seed(base, s, j as u64)
}

/// Steps of a run at step η: (burn-in steps, total steps, observation interval).
fn schedule(cfg: &MfldBiasConfig, eta: f64) -> (u64, u64, u64) {
    let every = ((cfg.observe_every_time / eta).round() as u64).max(1);
    let burn = ((cfg.burn_in_time / eta).ceil() as u64).div_ceil(every) * every;
    let avg = ((cfg.average_time / eta).ceil() as u64).div_ceil(every) * every;
    (burn, burn + avg, every)
}

impl ConfiguredExperiment for MfldBias {
    type Config = MfldBiasConfig;
    const NAME: &'static str = "mfld-bias";
    const DESCRIPTION: &'static str = "Time-step bias of MFLD on the Gaussian oracle: stationary variance error ∝ η (log–log slope 1), none for MALA";

    fn execute(
        &self,
        cfg: MfldBiasConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let functional = QuadraticInteraction::new(cfg.kappa, cfg.anchor.clone())
            .map_err(|e| ExperimentError::Config(e.to_string()))?;
        let m_star = functional.minimiser_mean();
        let n = cfg.n_particles;
        let v0 = cfg.lambda * (1.0 - 1.0 / n as f64);

        let mut jobs: Vec<(usize, Scheme)> =
            (0..cfg.etas.len()).map(|j| (j, Scheme::Euler)).collect();
        if cfg.mala {
            jobs.extend((0..cfg.etas.len()).map(|j| (j, Scheme::Mala)));
        }
        let total: u64 = jobs
            .iter()
            .map(|(j, _)| schedule(&cfg, cfg.etas[*j]).1 * n as u64)
            .sum();
        let progress = SharedProgress::new(total, "stationary runs", ctx.progress);
        // Independent runs in parallel, collected in job order (thread-count invariant).
        let results = jobs
            .par_iter()
            .map(|&(j, scheme)| -> Result<RunResult, ExperimentError> {
                let eta = cfg.etas[j];
                let seed = run_seed(ctx.seed, scheme, j);
                let params = LangevinParams::new(cfg.lambda, eta)?;
                let start = stationary_start(n, &m_star, cfg.lambda, seed)?;
                let (burn, steps, every) = schedule(&cfg, eta);
                let f = functional.clone();
                let par = Parallelism::Rayon;
                match scheme {
                    Scheme::Euler => run_one(
                        Mfld::new(f, params)?.with_parallelism(par),
                        start,
                        seed,
                        burn,
                        steps,
                        every,
                        cfg.batches,
                        &progress,
                    ),
                    Scheme::Mala => run_one(
                        AdjustedMirrorMfld::new(f, Identity, params)?.with_parallelism(par),
                        start,
                        seed,
                        burn,
                        steps,
                        every,
                        cfg.batches,
                        &progress,
                    ),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (euler, mala) = results.split_at(cfg.etas.len());

        let mut rows = Vec::new();
        let (mut biases, mut bias_ses, mut exact_biases) = (vec![], vec![], vec![]);
        for (j, &eta) in cfg.etas.iter().enumerate() {
            let r = &euler[j];
            let bias = r.average.mean - v0;
            let exact = v0 * (1.0 / (1.0 - eta / 2.0) - 1.0);
            report.checks.push(Check::t_within(
                format!(
                    "MFLD bias at η = {eta} vs exact λ(1−1/N)η/(2−η) (t band at the level of {SIGMAS} s.e.)"
                ),
                bias,
                exact,
                r.average.se,
                r.average.dof(),
                two_sided_level(SIGMAS),
            ));
            let m = mala.get(j);
            if let Some(m) = m {
                report.checks.push(Check::t_within(
                    format!("MALA bias at η = {eta} vs 0 (t band at the level of {SIGMAS} s.e.)"),
                    m.average.mean - v0,
                    0.0,
                    m.average.se,
                    m.average.dof(),
                    two_sided_level(SIGMAS),
                ));
            }
            rows.push(BiasRow {
                eta,
                steps: r.steps,
                v_hat: r.average.mean,
                se: r.average.se,
                bias,
                exact,
                z: (bias - exact) / r.average.se,
                mala_bias: m.map(|m| m.average.mean - v0),
                mala_se: m.map(|m| m.average.se),
                mala_acceptance: m.and_then(|m| m.acceptance),
            });
            biases.push(bias);
            bias_ses.push(r.average.se);
            exact_biases.push(exact);
        }
        report.tables.insert(
            "stationary variance bias".into(),
            Table::from_named_records(&rows)?,
        );

        // Log–log slope of the measured bias (NaN, a failed check, if a bias is ≤ 0).
        let fit = diag::loglog_slope(&cfg.etas, &biases).ok();
        let exact_fit = diag::loglog_slope(&cfg.etas, &exact_biases)?;
        let (slope, slope_se) = fit.map_or((f64::NAN, f64::NAN), |f| (f.slope, f.slope_se));
        // The exact bias λ(1−1/N)η/(2−η) is not a pure power of η: the expected slope is
        // the same weighted fit of the exact biases.
        let expected = diag::weighted_loglog_slope(&cfg.etas, &exact_biases, &bias_ses)?.slope;
        let slope_name = "log–log slope of the MFLD bias vs η";
        let slope_check =
            match study::loglog_slope_check(slope_name, &cfg.etas, &biases, &bias_ses, expected) {
                Ok((check, _)) => check,
                // A measured bias ≤ 0 has no logarithm: a failed check, not an error.
                Err(_) => Check::within(
                    format!("{slope_name}: a measured bias ≤ 0"),
                    slope,
                    expected,
                    f64::NAN,
                )
                .at_level(crate::two_sided_level(study::SLOPE_Z)),
            };
        report.checks.push(slope_check);
        let (j_min, eta_min) = cfg
            .etas
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, f64::NAN));
        let resolution = euler[j_min].average.se / exact_biases[j_min];
        report.checks.push(Check::at_most(
            format!("MC resolution: s.e. / exact bias at the smallest η = {eta_min}"),
            resolution,
            0.2,
        ));
        let mut fits = Vec::new();
        if let Some(f) = fit {
            fits.push(FitRow::new("measured MFLD bias", &f));
        }
        fits.push(FitRow::new("exact λ(1−1/N)η/(2−η)", &exact_fit));
        report
            .tables
            .insert("bias slope fit".into(), Table::from_named_records(&fits)?);

        report.notes.push(format!(
            "Gaussian oracle F(μ) = ∫|x|²/2 dμ + (κ/2)|E x − b|² on R^{d}, κ = {}, b = {:?}, λ = {}, N = {n}. \
             For each η the runs start at the continuous stationary law N(κb/(1+κ), λI), discard t < {}, and \
             average v̂ = tr(C_N)/d every {} time units over {} time units; s.e. by batch means ({} batches). \
             Reference: continuous-time N-particle variance λ(1 − 1/N) = {v0:.6}; the exact Euler stationary \
             variance is λ(1 − 1/N)/(1 − η/2), a bias λ(1 − 1/N)η/(2 − η) ≈ λη/2. Measured slope {slope:.4} ± \
             {slope_se:.4} (the exact biases give {:.4} on this ladder, since η/(2 − η) is not a pure power).{}",
            cfg.kappa,
            cfg.anchor,
            cfg.lambda,
            cfg.burn_in_time,
            cfg.observe_every_time,
            cfg.average_time,
            cfg.batches,
            exact_fit.slope,
            if cfg.mala {
                " The Metropolis-adjusted scheme (identity mirror map = MALA with the mean field frozen \
                 during a step) targets the proximal Gibbs measure at every η: its bias is zero within \
                 error (checked)."
            } else {
                ""
            },
            d = cfg.anchor.len(),
        ));

        report.series.insert(
            "MFLD bias (measured)".into(),
            Series {
                x: cfg.etas.clone(),
                y: biases.clone(),
                y_err: Some(bias_ses),
            },
        );
        report.series.insert(
            "exact bias λ(1−1/N)η/(2−η)".into(),
            Series {
                x: cfg.etas.clone(),
                y: exact_biases,
                y_err: None,
            },
        );
        let mut names = vec![
            "MFLD bias (measured)".to_string(),
            "exact bias λ(1−1/N)η/(2−η)".to_string(),
        ];
        if cfg.mala {
            // |bias| + 2 s.e.: an upper bound that stays positive on a log axis.
            report.series.insert(
                "MALA |bias| + 2 s.e.".into(),
                Series {
                    x: cfg.etas.clone(),
                    y: mala
                        .iter()
                        .map(|m| (m.average.mean - v0).abs() + 2.0 * m.average.se)
                        .collect(),
                    y_err: None,
                },
            );
            names.push("MALA |bias| + 2 s.e.".into());
        }
        report.plots.push(Plot {
            name: "bias".into(),
            title: format!("Stationary variance bias vs η: slope {slope:.3} ± {slope_se:.3}"),
            x_label: "time step η".into(),
            y_label: "v̂ − λ(1 − 1/N)".into(),
            series: names,
            log_x: true,
            log_y: true,
            scatter: false,
        });
        Ok(())
    }
}

/// One row of the slope-fit table: label, slope, its s.e., intercept, R², points.
/// A row of the table `bias slope fit`: one log–log fit.
#[derive(Serialize)]
struct FitRow {
    fit: &'static str,
    slope: f64,
    #[serde(rename = "slope s.e.")]
    slope_se: f64,
    #[serde(rename = "intercept (ln C)")]
    intercept: f64,
    #[serde(rename = "R²")]
    r_squared: f64,
    points: usize,
}

impl FitRow {
    /// The row of fit `f`, labelled `fit`.
    fn new(fit: &'static str, f: &diag::LinearFit) -> Self {
        Self {
            fit,
            slope: f.slope,
            slope_se: f.slope_se,
            intercept: f.intercept,
            r_squared: f.r_squared,
            points: f.n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_a_multiple_of_the_observation_interval() {
        let cfg = MfldBiasConfig::defaults(true);
        for &eta in &cfg.etas {
            let (burn, steps, every) = schedule(&cfg, eta);
            assert_eq!(burn % every, 0);
            assert_eq!(steps % every, 0);
            assert!(burn as f64 * eta >= cfg.burn_in_time);
            assert!((steps - burn) as f64 * eta >= cfg.average_time);
        }
    }
}
