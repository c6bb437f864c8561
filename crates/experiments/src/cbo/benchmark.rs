//! `cbo-benchmark`: the CBO community's success-rate protocol (spec `cbo.md`), isotropic
//! against anisotropic noise, beside CBXpy 1.0.4's measured rates.
//!
//! Protocol: Rastrigin (unnormalised, as CBXpy) and Ackley in d = 20, N ∈ {50, 100, 200},
//! X₀ ~ U[−3, 3]^d, λ = 1, dt = 0.01, α₀ = 30 with α ← min(1.05 α, 1e5) after each step,
//! 5000 steps, 100 independent runs; σ = 10.1 (anisotropic) and 0.8 (isotropic). A run
//! succeeds when the final consensus point satisfies ‖v_α − x*‖_∞ < 0.25.
//!
//! Comparison with CBXpy: both rates are binomial proportions, so each configuration is
//! checked with the pooled two-proportion test at the 1 % level,
//! |p̂ − p̂_ref| ≤ 2.576 √(p̄(1 − p̄)(1/n + 1/n_ref)), p̄ the pooled rate (identical rates
//! of 0 or 1 pass with zero tolerance; a single discordant run out of 100 vs 100 passes,
//! three do not). The table gives Wilson 95 % intervals of both rates. The CBXpy counts
//! in the defaults were measured with `benches/peers/cbo_cbxpy_success.py` on this
//! machine (same protocol; CBXpy draws its own random numbers, so the comparison is
//! statistical, not run by run).

use meanfield_energy::{Objective, TestFunction, TestKind};
use meanfield_integrators::cbo::{
    AlphaSchedule, CboNoise, CboParams, StoppingRule, run_replicas, uniform_ensemble,
};
use meanfield_measures::{Parallelism, replicate_seed};
use serde::{Deserialize, Serialize};

use crate::report::{Check, Plot, Series, Table};
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};

/// CBXpy's measured successes for one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceRate {
    /// Test function (`rastrigin` or `ackley`).
    pub function: TestKind,
    /// Noise type.
    pub noise: CboNoise,
    /// Particles N.
    pub n: usize,
    /// Successful runs.
    pub successes: usize,
    /// Runs.
    pub runs: usize,
}

/// Parameters (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CboBenchmarkConfig {
    /// Dimension d.
    pub d: usize,
    /// Ensemble sizes N.
    pub sizes: Vec<usize>,
    /// Independent runs per configuration.
    pub runs: usize,
    /// Steps per run.
    pub steps: u64,
    /// Test functions.
    pub functions: Vec<TestKind>,
    /// Noise types.
    pub noises: Vec<CboNoise>,
    /// σ of anisotropic CBO.
    pub sigma_anisotropic: f64,
    /// σ of isotropic CBO.
    pub sigma_isotropic: f64,
    /// Drift λ.
    pub lambda: f64,
    /// Time step dt.
    pub dt: f64,
    /// Initial α₀.
    pub alpha: f64,
    /// α growth factor per step.
    pub alpha_factor: f64,
    /// α cap.
    pub alpha_max: f64,
    /// Initial law U[−init_box, init_box]^d.
    pub init_box: f64,
    /// Shift of every coordinate of the minimiser (0: x* = 0 as in CBXpy's protocol).
    pub shift: f64,
    /// Success radius in the sup norm.
    pub success_tol: f64,
    /// CBXpy's measured rates (configurations without one are reported, not checked).
    pub reference: Vec<ReferenceRate>,
}

/// CBXpy 1.0.4 at the protocol (100 runs, 5000 steps), measured with
/// `benches/peers/cbo_cbxpy_success.py`.
fn cbxpy_reference() -> Vec<ReferenceRate> {
    use CboNoise::{Anisotropic as A, Isotropic as I};
    use TestKind::{Ackley, Rastrigin};
    [
        (Rastrigin, A, 50, 100, 100),
        (Rastrigin, A, 100, 100, 100),
        (Rastrigin, A, 200, 100, 100),
        (Rastrigin, I, 50, 0, 100),
        (Rastrigin, I, 100, 0, 100),
        (Rastrigin, I, 200, 0, 100),
        (Ackley, A, 50, 100, 100),
        (Ackley, A, 100, 100, 100),
        (Ackley, A, 200, 100, 100),
        (Ackley, I, 50, 0, 100),
        (Ackley, I, 100, 0, 100),
        (Ackley, I, 200, 0, 100),
    ]
    .into_iter()
    .map(|(function, noise, n, successes, runs)| ReferenceRate {
        function,
        noise,
        n,
        successes,
        runs,
    })
    .collect()
}

impl ExperimentConfig for CboBenchmarkConfig {
    /// The full protocol, or the `--quick` one (N = 50 only, 16 runs).
    fn defaults(quick: bool) -> Self {
        Self {
            d: 20,
            sizes: if quick { vec![50] } else { vec![50, 100, 200] },
            runs: if quick { 16 } else { 100 },
            steps: 5000,
            functions: vec![TestKind::Rastrigin, TestKind::Ackley],
            noises: vec![CboNoise::Anisotropic, CboNoise::Isotropic],
            sigma_anisotropic: 10.1,
            sigma_isotropic: 0.8,
            lambda: 1.0,
            dt: 0.01,
            alpha: 30.0,
            alpha_factor: 1.05,
            alpha_max: 1e5,
            init_box: 3.0,
            shift: 0.0,
            success_tol: 0.25,
            reference: cbxpy_reference(),
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        let n = self.sizes.iter().copied().max().unwrap_or(0);
        vec![("ensemble (largest of sizes × d)", vec![n, self.d])]
    }

    /// Rejects settings the run cannot use.
    fn validate(&self) -> Result<(), ExperimentError> {
        if self.d == 0 || self.runs == 0 || self.sizes.is_empty() || self.sizes.contains(&0) {
            return Err(ExperimentError::Config(
                "need d ≥ 1, runs ≥ 1 and non-empty positive sizes".into(),
            ));
        }
        if self.steps == 0 {
            return Err(ExperimentError::Config(
                "steps = 0: a run needs at least one step to have a consensus point".into(),
            ));
        }
        Ok(())
    }
}

/// Wilson score interval of k successes in n trials at normal quantile z.
pub fn wilson_interval(k: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Tolerance of the pooled two-proportion test at normal quantile z.
pub fn two_proportion_tolerance(k1: usize, n1: usize, k2: usize, n2: usize, z: f64) -> f64 {
    let pooled = (k1 + k2) as f64 / (n1 + n2) as f64;
    z * (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt()
}

/// A row of the table `success rates` (columns in `Table::new` above): one function, noise and N, beside CBXpy's rate.
#[derive(Serialize)]
struct SuccessRow {
    function: &'static str,
    noise: &'static str,
    n: usize,
    successes: usize,
    rate: f64,
    lo: f64,
    hi: f64,
    ref_rate: Option<f64>,
    ref_lo: Option<f64>,
    ref_hi: Option<f64>,
    median_dist: f64,
    median_f: f64,
}

/// The experiment.
pub struct CboBenchmark;

fn noise_name(noise: CboNoise) -> &'static str {
    match noise {
        CboNoise::Anisotropic => "anisotropic",
        CboNoise::Isotropic => "isotropic",
        CboNoise::Covariance(_) => "covariance",
    }
}

impl ConfiguredExperiment for CboBenchmark {
    type Config = CboBenchmarkConfig;
    const NAME: &'static str = "cbo-benchmark";
    const DESCRIPTION: &'static str = "CBO success rates (Rastrigin, Ackley; d = 20; isotropic vs anisotropic) beside CBXpy 1.0.4";

    fn execute(
        &self,
        cfg: CboBenchmarkConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        report.notes.push(format!(
            "d = {}, X₀ ~ U[−{b}, {b}]^d, λ = {}, dt = {}, α₀ = {} ×{} per step up to {:e}, {} steps, \
             {} runs; σ = {} anisotropic, {} isotropic; success ‖v_α − x*‖_∞ < {}; x* = {}·1.",
            cfg.d,
            cfg.lambda,
            cfg.dt,
            cfg.alpha,
            cfg.alpha_factor,
            cfg.alpha_max,
            cfg.steps,
            cfg.runs,
            cfg.sigma_anisotropic,
            cfg.sigma_isotropic,
            cfg.success_tol,
            cfg.shift,
            b = cfg.init_box,
        ));
        let mut table = Table::new([
            "function",
            "noise",
            "N",
            "successes",
            "rate",
            "Wilson 95% lo",
            "Wilson 95% hi",
            "CBXpy rate",
            "CBXpy Wilson lo",
            "CBXpy Wilson hi",
            "median ‖v−x*‖∞",
            "median f(v)",
        ]);
        let total = cfg.functions.len() * cfg.noises.len() * cfg.sizes.len();
        let mut done = 0;
        for &kind in &cfg.functions {
            let f = TestFunction::new(kind, cfg.d)
                .and_then(|f| f.shifted(vec![cfg.shift; cfg.d]))
                .map_err(|e| ExperimentError::Config(e.to_string()))?;
            let x_star = f
                .minimiser()
                .ok_or_else(|| ExperimentError::Config("test function without minimiser".into()))?;
            for &noise in &cfg.noises {
                let mut ours_series = Series {
                    x: vec![],
                    y: vec![],
                    y_err: None,
                };
                let mut ref_series = Series {
                    x: vec![],
                    y: vec![],
                    y_err: None,
                };
                for &n in &cfg.sizes {
                    (ctx.progress)(
                        done as f64 / total as f64,
                        &format!("{} {} N={n}", kind.name(), noise_name(noise)),
                    );
                    let sigma = match noise {
                        CboNoise::Anisotropic => cfg.sigma_anisotropic,
                        CboNoise::Isotropic | CboNoise::Covariance(_) => cfg.sigma_isotropic,
                    };
                    let params = CboParams::new(cfg.lambda, sigma, cfg.dt)?
                        .with_alpha(cfg.alpha)?
                        .with_schedule(AlphaSchedule::Multiplicative {
                            factor: cfg.alpha_factor,
                            max: cfg.alpha_max,
                        })?
                        .with_noise(noise);
                    let outcomes = run_replicas(
                        &f,
                        &params,
                        cfg.runs,
                        ctx.seed,
                        |r| {
                            uniform_ensemble(
                                n,
                                cfg.d,
                                -cfg.init_box,
                                cfg.init_box,
                                replicate_seed(ctx.seed, 0, r as u64),
                            )
                        },
                        &StoppingRule::max_steps(cfg.steps),
                        Parallelism::Rayon,
                    )?;
                    let mut dist = outcomes
                        .iter()
                        .map(|o| o.sup_distance(&x_star))
                        .collect::<Result<Vec<f64>, _>>()?;
                    let successes = dist.iter().filter(|&&e| e < cfg.success_tol).count();
                    let mut fv: Vec<f64> = outcomes.iter().map(|o| o.consensus_value).collect();
                    dist.sort_by(f64::total_cmp);
                    fv.sort_by(f64::total_cmp);
                    let rate = successes as f64 / cfg.runs as f64;
                    let (lo, hi) = wilson_interval(successes, cfg.runs, 1.96);
                    let reference = cfg
                        .reference
                        .iter()
                        .find(|r| r.function == kind && r.noise == noise && r.n == n);
                    let (ref_rate, ref_lo, ref_hi) = match reference {
                        Some(r) if cfg.shift == 0.0 && cfg.d == 20 => {
                            let (a, b) = wilson_interval(r.successes, r.runs, 1.96);
                            let p = r.successes as f64 / r.runs as f64;
                            report.checks.push(Check::within(
                                format!(
                                    "{} {} N={n}: success rate vs CBXpy (two-proportion test, 1%)",
                                    kind.name(),
                                    noise_name(noise)
                                ),
                                rate,
                                p,
                                two_proportion_tolerance(
                                    successes,
                                    cfg.runs,
                                    r.successes,
                                    r.runs,
                                    2.576,
                                ),
                            )
                            .at_level(0.01));
                            ref_series.x.push(n as f64);
                            ref_series.y.push(p);
                            (Some(p), Some(a), Some(b))
                        }
                        _ => (None, None, None),
                    };
                    table.push_record(&SuccessRow {
                        function: kind.name(),
                        noise: noise_name(noise),
                        n,
                        successes,
                        rate,
                        lo,
                        hi,
                        ref_rate,
                        ref_lo,
                        ref_hi,
                        median_dist: dist[dist.len() / 2],
                        median_f: fv[fv.len() / 2],
                    })?;
                    ours_series.x.push(n as f64);
                    ours_series.y.push(rate);
                    done += 1;
                }
                let label = format!("{} {}", kind.name(), noise_name(noise));
                report.series.insert(format!("{label}: ours"), ours_series);
                let mut names = vec![format!("{label}: ours")];
                if !ref_series.x.is_empty() {
                    report
                        .series
                        .insert(format!("{label}: CBXpy 1.0.4"), ref_series);
                    names.push(format!("{label}: CBXpy 1.0.4"));
                }
                report.plots.push(Plot {
                    name: format!("success-{}-{}", kind.name(), noise_name(noise)),
                    title: format!("CBO success rate, {label}, d = {}", cfg.d),
                    x_label: "particles N".into(),
                    y_label: "success rate".into(),
                    series: names,
                    log_x: true,
                    log_y: false,
                    scatter: true,
                });
            }
        }
        report.tables.insert("success rates".into(), table);
        Ok(())
    }
}
