//! `gaussian-oracle`: plain MFLD on the exactly solvable Gaussian oracle
//! F(μ) = ∫|x|²/2 dμ + (κ/2)|E_μ x − b|² (spec `mmfld.md`, experiment 2).
//!
//! Two studies:
//! 1. **Convergence.** The particle mean and covariance approach μ* = N(κb/(1+κ), λI).
//!    The Euler scheme has the exact stationary mean κb/(1+κ) (the drift is linear) and the
//!    exact stationary particle covariance λ(1 − 1/N)/(1 − η/2) I, which we check within
//!    Monte-Carlo error; the O(η) gap to λ is reported, not hidden.
//! 2. **Propagation of chaos.** The empirical mean obeys the closed recursion
//!    m_{k+1} = a m_k + ηκb + √(2λη) ξ̄_k with a = 1 − η(1+κ), ξ̄_k ~ N(0, I/N), so
//!    E|m_N(K) − m_∞(K)|² = d [σ₀² a^{2K} + 2λη Σ_{j<K} a^{2j}] / N exactly. We estimate
//!    the left side over many seeds for N = 2^6 … 2^14, fit the log-log slope (expected
//!    −1) with its standard error, and compare N·MSE with the exact constant.

use meanfield_diagnostics as diag;
use meanfield_energy::QuadraticInteraction;
use meanfield_integrators::{Checkpoint, Control, Dynamics, LangevinParams, Mfld, Runner};
use meanfield_measures::streams;
use meanfield_measures::{Ensemble, InitialLaw, Parallelism};
use serde::{Deserialize, Serialize};

use crate::report::{Check, Plot, Series, Table};
use crate::study;
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianOracleConfig {
    /// Interaction strength κ.
    pub kappa: f64,
    /// Anchor b (its length is the dimension d).
    pub anchor: Vec<f64>,
    /// Temperature λ.
    pub lambda: f64,
    /// Time step η.
    pub eta: f64,
    /// Particles in the convergence run.
    pub n_particles: usize,
    /// Steps of the convergence run (time = steps·η).
    pub steps: u64,
    /// Initial law N(init_mean·1, init_std² I).
    pub init_mean: f64,
    /// Initial standard deviation σ₀.
    pub init_std: f64,
    /// Observation interval (steps) of the convergence run.
    pub observe_every: u64,
    /// Smallest ensemble of the chaos study is 2^chaos_log2_min.
    pub chaos_log2_min: u32,
    /// Largest ensemble of the chaos study is 2^chaos_log2_max.
    pub chaos_log2_max: u32,
    /// Independent seeds per ensemble size.
    pub chaos_seeds: usize,
    /// Steps K to the fixed time K·η of the chaos study.
    pub chaos_steps: u64,
}

impl ExperimentConfig for GaussianOracleConfig {
    /// Defaults: full study, or the reduced `--quick` one.
    fn defaults(quick: bool) -> Self {
        Self {
            kappa: 1.0,
            anchor: vec![1.0, -0.5],
            lambda: 0.5,
            eta: 0.01,
            n_particles: if quick { 4_000 } else { 20_000 },
            steps: 1_000,
            init_mean: 2.0,
            init_std: 1.0,
            observe_every: 20,
            chaos_log2_min: 6,
            chaos_log2_max: 14,
            chaos_seeds: if quick { 24 } else { 64 },
            chaos_steps: 100,
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![(
            "ensemble (n_particles × d)",
            vec![self.n_particles, self.anchor.len()],
        )]
    }

    /// Rejects settings the run cannot use.
    fn validate(&self) -> Result<(), ExperimentError> {
        if self.anchor.is_empty()
            || self.n_particles < 2
            || self.chaos_seeds < 2
            || self.chaos_log2_max < self.chaos_log2_min + 2
        {
            return Err(ExperimentError::Config(
                "need a non-empty anchor, n_particles ≥ 2, chaos_seeds ≥ 2 and at least 3 chaos sizes".into(),
            ));
        }
        if self.chaos_log2_max > crate::study::MAX_LOG2_SIZE {
            return Err(ExperimentError::Config(format!(
                "chaos_log2_max = {} is above the largest supported size exponent {}",
                self.chaos_log2_max,
                crate::study::MAX_LOG2_SIZE
            )));
        }
        Ok(())
    }
}

impl GaussianOracleConfig {
    fn dim(&self) -> usize {
        self.anchor.len()
    }
}

/// A row of the table `stationary law`: one moment against its exact values.
#[derive(Serialize)]
struct MomentRow {
    quantity: String,
    ours: f64,
    #[serde(rename = "exact (Euler, N)")]
    euler: f64,
    #[serde(rename = "exact (continuous μ*)")]
    continuous: f64,
    #[serde(rename = "MC sd")]
    sd: f64,
}

/// A row of the table `propagation of chaos`: one ensemble size.
#[derive(Serialize)]
struct ChaosRow {
    #[serde(rename = "N")]
    n: usize,
    #[serde(rename = "MSE of mean")]
    mse: f64,
    #[serde(rename = "MC sd")]
    sd: f64,
    exact: f64,
    #[serde(rename = "N·MSE")]
    n_mse: f64,
}

/// The row of the table `chaos slope fit`.
#[derive(Serialize)]
struct ChaosFitRow {
    slope: f64,
    #[serde(rename = "slope s.e.")]
    slope_se: f64,
    intercept: f64,
    #[serde(rename = "R²")]
    r_squared: f64,
    sizes: usize,
    #[serde(rename = "seeds per size")]
    seeds: usize,
}

/// The experiment.
pub struct GaussianOracle;

/// N particles drawn i.i.d. from N(mean·1, std² I) with the streams of `seed`.
pub fn gaussian_ensemble(
    n: usize,
    d: usize,
    mean: f64,
    std: f64,
    seed: u64,
) -> Result<Ensemble, ExperimentError> {
    Ok(InitialLaw::isotropic_gaussian(d, mean, std).sample(n, seed, streams::INITIAL_POSITIONS)?)
}

impl ConfiguredExperiment for GaussianOracle {
    type Config = GaussianOracleConfig;
    const NAME: &'static str = "gaussian-oracle";
    const DESCRIPTION: &'static str =
        "MFLD on the Gaussian oracle: convergence to N(κb/(1+κ), λI) and 1/N propagation of chaos";

    fn execute(
        &self,
        cfg: GaussianOracleConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        report.notes.push(format!(
            "F(μ) = ∫|x|²/2 dμ + (κ/2)|E x − b|² on R^{d} with κ = {}, b = {:?}, λ = {}, η = {}. \
             Exact minimiser μ* = N(κb/(1+κ), λI). Euler–Maruyama MFLD from N({}·1, {}² I).",
            cfg.kappa,
            cfg.anchor,
            cfg.lambda,
            cfg.eta,
            cfg.init_mean,
            cfg.init_std,
            d = cfg.dim()
        ));
        convergence_study(&cfg, ctx, report)?;
        chaos_study(&cfg, ctx, report)?;
        Ok(())
    }
}

fn convergence_study(
    cfg: &GaussianOracleConfig,
    ctx: &RunContext<'_>,
    report: &mut Report,
) -> Result<(), ExperimentError> {
    let d = cfg.dim();
    let n = cfg.n_particles;
    let functional = QuadraticInteraction::new(cfg.kappa, cfg.anchor.clone())
        .map_err(|e| ExperimentError::Config(e.to_string()))?;
    let m_star = functional.minimiser_mean();
    let params = LangevinParams::new(cfg.lambda, cfg.eta)?;
    let mut mfld = Mfld::new(functional, params)?.with_parallelism(Parallelism::Rayon);
    let ens = gaussian_ensemble(n, d, cfg.init_mean, cfg.init_std, ctx.seed)?;
    let mut ckpt = Checkpoint::start(&mfld, ens, ctx.seed)?;

    let normal = statrs::distribution::Normal::new(m_star[0], cfg.lambda.sqrt())
        .map_err(|e| ExperimentError::Config(e.to_string()))?;
    let (mut t_s, mut mean_err, mut cov_err, mut w2) = (vec![], vec![], vec![], vec![]);
    {
        let mut runner = mfld
            .runner(cfg.steps)
            .observe(cfg.observe_every, |o| {
                let (t, ens) = (o.time, o.state);
                let m = diag::mean(ens);
                let c = diag::covariance(ens);
                let me = m
                    .iter()
                    .zip(&m_star)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                let ce = (0..d * d)
                    .map(|k| {
                        let target = if k / d == k % d { cfg.lambda } else { 0.0 };
                        (c[k] - target).powi(2)
                    })
                    .sum::<f64>()
                    .sqrt();
                let marg = diag::marginal(ens, 0)?;
                w2.push(diag::w2_1d_to_quantile(&marg, |p| {
                    use statrs::distribution::ContinuousCDF;
                    normal.inverse_cdf(p)
                })?);
                t_s.push(t);
                mean_err.push(me);
                cov_err.push(ce);
                Ok(Control::Continue)
            })
            .progress(|k, total| (ctx.progress)(0.5 * k as f64 / total as f64, "convergence"));
        runner.run(&mut mfld, &mut ckpt)?;
    }
    let ens = &ckpt.state;
    let m = diag::mean(ens);
    let c = diag::covariance(ens);

    // Monte-Carlo scales at stationarity (see module docs).
    let a = 1.0 - cfg.eta * (1.0 + cfg.kappa);
    let sd_mean = (2.0 * cfg.lambda * cfg.eta / n as f64 / (1.0 - a * a)).sqrt();
    let var_discrete = cfg.lambda * (1.0 - 1.0 / n as f64) / (1.0 - cfg.eta / 2.0);
    let sd_var = var_discrete * (2.0 / n as f64).sqrt();
    let sd_cov = var_discrete / (n as f64).sqrt();

    let mut moments = Vec::new();
    for k in 0..d {
        report.checks.push(Check::z_within(
            format!("mean[{k}] → κb/(1+κ) (4 MC sd)"),
            m[k],
            m_star[k],
            sd_mean,
            4.0,
        ));
        moments.push(MomentRow {
            quantity: format!("mean[{k}]"),
            ours: m[k],
            euler: m_star[k],
            continuous: m_star[k],
            sd: sd_mean,
        });
    }
    for i in 0..d {
        for j in i..d {
            let (target, sd) = if i == j {
                (var_discrete, sd_var)
            } else {
                (0.0, sd_cov)
            };
            report.checks.push(Check::z_within(
                format!("cov[{i}{j}] → Euler stationary value (4 MC sd)"),
                c[i * d + j],
                target,
                sd,
                4.0,
            ));
            let cont = if i == j { cfg.lambda } else { 0.0 };
            moments.push(MomentRow {
                quantity: format!("cov[{i}{j}]"),
                ours: c[i * d + j],
                euler: target,
                continuous: cont,
                sd,
            });
        }
    }
    report.tables.insert(
        "stationary law".into(),
        Table::from_named_records(&moments)?,
    );
    report.notes.push(format!(
        "The Euler scheme's stationary variance is λ(1 − 1/N)/(1 − η/2) = {var_discrete:.5}, \
         an O(η) bias of {:.2e} above the continuous λ = {}; checks use the Euler value.",
        var_discrete - cfg.lambda,
        cfg.lambda
    ));
    report.series.insert(
        "mean error |m_N − m*|".into(),
        Series {
            x: t_s.clone(),
            y: mean_err,
            y_err: None,
        },
    );
    report.series.insert(
        "covariance error ‖C_N − λI‖_F".into(),
        Series {
            x: t_s.clone(),
            y: cov_err,
            y_err: None,
        },
    );
    report.series.insert(
        "W2(marginal 0, μ*_0)".into(),
        Series {
            x: t_s,
            y: w2,
            y_err: None,
        },
    );
    report.plots.push(Plot {
        name: "convergence".into(),
        title: "MFLD convergence to the Gaussian oracle".into(),
        x_label: "time t".into(),
        y_label: "error".into(),
        series: vec![
            "mean error |m_N − m*|".into(),
            "covariance error ‖C_N − λI‖_F".into(),
            "W2(marginal 0, μ*_0)".into(),
        ],
        log_x: false,
        log_y: true,
        scatter: false,
    });
    Ok(())
}

/// Exact E|m_N(K) − m_∞(K)|² · N for the Euler recursion (module docs).
fn exact_chaos_constant(cfg: &GaussianOracleConfig) -> f64 {
    let a = 1.0 - cfg.eta * (1.0 + cfg.kappa);
    let k = cfg.chaos_steps as i32;
    let a2 = a * a;
    let geometric = if (1.0 - a2).abs() < 1e-300 {
        k as f64
    } else {
        (1.0 - a2.powi(k)) / (1.0 - a2)
    };
    cfg.dim() as f64 * (cfg.init_std.powi(2) * a2.powi(k) + 2.0 * cfg.lambda * cfg.eta * geometric)
}

fn chaos_study(
    cfg: &GaussianOracleConfig,
    ctx: &RunContext<'_>,
    report: &mut Report,
) -> Result<(), ExperimentError> {
    let d = cfg.dim();
    // Mean-field limit of the mean: the noiseless recursion from the initial mean.
    let mut m_inf = vec![cfg.init_mean; d];
    for _ in 0..cfg.chaos_steps {
        for (m, b) in m_inf.iter_mut().zip(&cfg.anchor) {
            *m -= cfg.eta * ((1.0 + cfg.kappa) * *m - cfg.kappa * b);
        }
    }
    let functional = QuadraticInteraction::new(cfg.kappa, cfg.anchor.clone())
        .map_err(|e| ExperimentError::Config(e.to_string()))?;
    let sizes: Vec<u32> = (cfg.chaos_log2_min..=cfg.chaos_log2_max).collect();
    let constant = exact_chaos_constant(cfg);
    let (mut ns, mut mses, mut mse_sds, mut exact) = (vec![], vec![], vec![], vec![]);
    let mut chaos = Vec::new();
    let mut scaled = Vec::new();
    let replicates = study::replicate_over_sizes(
        ctx.seed,
        &sizes,
        cfg.chaos_seeds,
        |done, total| {
            (ctx.progress)(
                0.5 + 0.5 * done as f64 / total as f64,
                "propagation of chaos",
            )
        },
        |n, seed| -> Result<f64, ExperimentError> {
            let params = LangevinParams::new(cfg.lambda, cfg.eta)?;
            let mut mfld = Mfld::new(functional.clone(), params)?;
            let ens = gaussian_ensemble(n, d, cfg.init_mean, cfg.init_std, seed)?;
            let mut ckpt = Checkpoint::start(&mfld, ens, seed)?;
            Runner::new(cfg.chaos_steps).run(&mut mfld, &mut ckpt)?;
            let m = ckpt.state.mean();
            Ok(m.iter().zip(&m_inf).map(|(a, b)| (a - b) * (a - b)).sum())
        },
    )?;
    for size in &replicates {
        let (n, errs) = (size.n, &size.values);
        let (mse, var) = diag::sample_mean_var(errs)?;
        let sd = (var / errs.len() as f64).sqrt();
        chaos.push(ChaosRow {
            n,
            mse,
            sd,
            exact: constant / n as f64,
            n_mse: n as f64 * mse,
        });
        ns.push(n as f64);
        mses.push(mse);
        mse_sds.push(sd);
        exact.push(constant / n as f64);
        scaled.push(n as f64 * mse);
    }
    let fit = diag::loglog_slope(&ns, &mses)?;
    let (slope_check, _) =
        study::loglog_slope_check("chaos slope of MSE(mean) vs N", &ns, &mses, &mse_sds, -1.0)?;
    report.checks.push(slope_check);
    // N·MSE pooled over sizes: each MSE is a mean of `seeds` scaled χ²_d variables, so
    // its relative sd is √(2/(d·seeds)); pooling k sizes divides it by √k.
    let (pooled, _) = diag::sample_mean_var(&scaled)?;
    let rel_sd = (2.0 / (d as f64 * cfg.chaos_seeds as f64 * sizes.len() as f64)).sqrt();
    report.checks.push(Check::z_within(
        "N·MSE(mean) vs exact constant (4 MC sd)",
        pooled,
        constant,
        rel_sd * constant,
        4.0,
    ));
    let fit_row = ChaosFitRow {
        slope: fit.slope,
        slope_se: fit.slope_se,
        intercept: fit.intercept,
        r_squared: fit.r_squared,
        sizes: sizes.len(),
        seeds: cfg.chaos_seeds,
    };
    report.tables.insert(
        "propagation of chaos".into(),
        Table::from_named_records(&chaos)?,
    );
    report.tables.insert(
        "chaos slope fit".into(),
        Table::from_named_records(&[fit_row])?,
    );
    report.series.insert(
        "MSE of empirical mean".into(),
        Series {
            x: ns.clone(),
            y: mses,
            y_err: Some(mse_sds),
        },
    );
    report.series.insert(
        "exact d·C/N".into(),
        Series {
            x: ns,
            y: exact,
            y_err: None,
        },
    );
    report.plots.push(Plot {
        name: "chaos".into(),
        title: format!(
            "Propagation of chaos at t = {}: slope {:.3} ± {:.3}",
            cfg.chaos_steps as f64 * cfg.eta,
            fit.slope,
            fit.slope_se
        ),
        x_label: "N".into(),
        y_label: "E|m_N − m_∞|²".into(),
        series: vec!["MSE of empirical mean".into(), "exact d·C/N".into()],
        log_x: true,
        log_y: true,
        scatter: false,
    });
    Ok(())
}
