//! `mfld-chaos`: 1/N propagation of chaos for four particle schemes (spec `mmfld.md`,
//! experiment 2): the variance across independent seeds of the empirical mean at a fixed
//! time, E|m_N(t) − E m_N(t)|², scales like C/N. We estimate it for N = 2^k over a ladder
//! of sizes and fit its log–log slope (expected −1) with the OLS standard error.
//!
//! Cases:
//! - (a) **MFLD on R^d**, Gaussian oracle F(μ) = ∫|x|²/2 dμ + (κ/2)|E x − b|². The mean
//!   obeys the closed recursion m_{k+1} = a m_k + ηκb + √(2λη) ξ̄_k with a = 1 − η(1+κ),
//!   ξ̄_k ~ N(0, I/N), so Var m_N(K) = d [σ₀² a^{2K} + 2λη Σ_{j<K} a^{2j}] / N exactly
//!   (also checked).
//! - (b) **Projected MFLD on the box** [0, u]^d with the same quadratic functional: the
//!   clamping makes the mean-field dynamics nonlinear; no closed form.
//! - (c) **Mirror MFLD (paper scheme)** on Δ³ with F(μ) = ‖E x − q‖², entropic map.
//! - (d) **Metropolis-adjusted mirror MFLD** in the same setting as (c).
//!
//! Observable: with R replicates m^(1..R) at one N, V̂_N = Σ_k s²_k (trace of the unbiased
//! sample covariance of the replicate means, [`crate::study::trace_variance`]). Its
//! standard error is estimated from the spread of the per-replicate terms
//! q_r = R/(R−1)·|m^(r) − m̄|² (V̂_N is their mean). The replicate loop is
//! [`crate::study::replicate_over_sizes`]: replicate r at size 2^k has seed
//! `replicate_seed(seed ^ case tag, k, r)`.

use meanfield_diagnostics as diag;
use meanfield_energy::{QuadraticInteraction, SimplexMoment};
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, Dynamics, LangevinParams, Mfld, MirrorMfld, ProjectedMfld,
};
use meanfield_measures::streams;
use meanfield_measures::{BoxBounds, Domain, Ensemble, Entropic, InitialLaw};
use serde::{Deserialize, Serialize};

use crate::langevin::gaussian_oracle::gaussian_ensemble;
use crate::report::{Check, Plot, Series, Table};
use crate::study;
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfldChaosConfig {
    /// Smallest ensemble is 2^log2_min.
    pub log2_min: u32,
    /// Largest ensemble is 2^log2_max.
    pub log2_max: u32,
    /// Independent seeds per size.
    pub seeds: usize,
    /// Steps K to the fixed time K·η (all cases).
    pub steps: u64,
    /// (a) interaction strength κ.
    pub gaussian_kappa: f64,
    /// (a) anchor b (its length is the dimension).
    pub gaussian_anchor: Vec<f64>,
    /// (a) temperature λ.
    pub gaussian_lambda: f64,
    /// (a) time step η.
    pub gaussian_eta: f64,
    /// (a) initial law N(init_mean·1, init_std² I).
    pub gaussian_init_mean: f64,
    /// (a) initial standard deviation σ₀.
    pub gaussian_init_std: f64,
    /// (b) interaction strength κ.
    pub box_kappa: f64,
    /// (b) anchor b (its length is the dimension).
    pub box_anchor: Vec<f64>,
    /// (b) upper edge u of the box [0, u]^d.
    pub box_upper: f64,
    /// (b) temperature λ.
    pub box_lambda: f64,
    /// (b) time step η.
    pub box_eta: f64,
    /// (c, d) target moment q on Δ³.
    pub simplex_target: Vec<f64>,
    /// (c, d) initial law Dirichlet(α) (each α_k a positive multiple of ½).
    pub simplex_init: Vec<f64>,
    /// (c, d) temperature λ.
    pub simplex_lambda: f64,
    /// (c, d) time step η.
    pub simplex_eta: f64,
}

impl ExperimentConfig for MfldChaosConfig {
    /// Defaults: full study, or the reduced `--quick` one.
    fn defaults(quick: bool) -> Self {
        Self {
            log2_min: 6,
            log2_max: if quick { 12 } else { 14 },
            seeds: if quick { 32 } else { 48 },
            steps: 100,
            gaussian_kappa: 1.0,
            gaussian_anchor: vec![1.0, -0.5],
            gaussian_lambda: 0.5,
            gaussian_eta: 0.01,
            gaussian_init_mean: 2.0,
            gaussian_init_std: 1.0,
            box_kappa: 2.0,
            box_anchor: vec![1.0, 0.2],
            box_upper: 1.0,
            box_lambda: 0.1,
            box_eta: 0.01,
            simplex_target: vec![0.6, 0.3, 0.1],
            simplex_init: vec![2.0, 3.0, 5.0],
            simplex_lambda: 0.1,
            simplex_eta: 0.01,
        }
    }
    fn validate(&self) -> Result<(), ExperimentError> {
        if self.seeds < 3
            || self.log2_max < self.log2_min + 2
            || self.log2_max > study::MAX_LOG2_SIZE
        {
            return Err(ExperimentError::Config(format!(
                "need seeds ≥ 3 and at least 3 sizes with log2_max ≤ {} (got log2_max = {})",
                study::MAX_LOG2_SIZE,
                self.log2_max
            )));
        }
        if self.gaussian_anchor.is_empty() || self.box_anchor.is_empty() {
            return Err(ExperimentError::Config("anchors must be non-empty".into()));
        }
        if self.simplex_target.len() != self.simplex_init.len() || self.simplex_target.len() < 2 {
            return Err(ExperimentError::Config(
                "simplex_target and simplex_init need the same length ≥ 2".into(),
            ));
        }
        if !(self.box_upper > 0.0 && self.box_upper.is_finite()) {
            return Err(ExperimentError::Config(format!(
                "box_upper = {} must be finite and > 0",
                self.box_upper
            )));
        }
        Ok(())
    }
}

/// A row of the table `chaos slopes`: one case.
#[derive(Serialize)]
struct FitRow {
    case: &'static str,
    slope: f64,
    #[serde(rename = "slope s.e.")]
    slope_se: f64,
    #[serde(rename = "95% t-interval")]
    t_interval: String,
    #[serde(rename = "R²")]
    r_squared: f64,
    #[serde(rename = "mean N·V̂_N")]
    mean_n_v: f64,
    sizes: usize,
    #[serde(rename = "seeds per size")]
    seeds: usize,
}

/// A row of the per-case table: one ensemble size.
#[derive(Serialize)]
struct SizeRow {
    #[serde(rename = "N")]
    n: usize,
    #[serde(rename = "V̂_N = E|m_N − E m_N|²")]
    v: f64,
    #[serde(rename = "s.e.")]
    se: f64,
    #[serde(rename = "N·V̂_N")]
    n_v: f64,
}

/// The experiment.
pub struct MfldChaos;

/// The four cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Gaussian,
    ProjectedBox,
    MirrorPaper,
    MirrorAdjusted,
}

impl Case {
    const ALL: [Case; 4] = [
        Case::Gaussian,
        Case::ProjectedBox,
        Case::MirrorPaper,
        Case::MirrorAdjusted,
    ];

    fn label(self) -> &'static str {
        match self {
            Case::Gaussian => "(a) MFLD on R^d (Gaussian oracle)",
            Case::ProjectedBox => "(b) projected MFLD on a box",
            Case::MirrorPaper => "(c) mirror MFLD on Δ³ (paper scheme)",
            Case::MirrorAdjusted => "(d) adjusted mirror MFLD on Δ³",
        }
    }

    fn tag(self) -> u64 {
        match self {
            Case::Gaussian => 0x0a0c << 52,
            Case::ProjectedBox => 0x0b0c << 52,
            Case::MirrorPaper => 0x0c0c << 52,
            Case::MirrorAdjusted => 0x0d0c << 52,
        }
    }
}

/// Runs `steps` steps and returns the empirical mean.
fn mean_after<D: Dynamics<State = Ensemble>>(
    mut dy: D,
    start: Ensemble,
    seed: u64,
    steps: u64,
) -> Result<Vec<f64>, ExperimentError> {
    let mut ckpt = Checkpoint::start(&dy, start, seed)?;
    dy.runner(steps).run(&mut dy, &mut ckpt)?;
    Ok(ckpt.state.mean())
}

/// N particles i.i.d. uniform on [0, u]^d, declared on that box.
fn uniform_box(n: usize, d: usize, upper: f64, seed: u64) -> Result<Ensemble, ExperimentError> {
    let bounds = BoxBounds::uniform(d, 0.0, upper)?;
    let law = InitialLaw::uniform_cube(d, 0.0, upper);
    Ok(law.sample_on(n, Domain::Box(bounds), seed, streams::INITIAL_POSITIONS)?)
}

/// One replicate of a case: the empirical mean after `cfg.steps` steps.
fn replicate(
    case: Case,
    cfg: &MfldChaosConfig,
    n: usize,
    seed: u64,
) -> Result<Vec<f64>, ExperimentError> {
    let config = |e: meanfield_energy::EnergyError| ExperimentError::Config(e.to_string());
    match case {
        Case::Gaussian => {
            let f = QuadraticInteraction::new(cfg.gaussian_kappa, cfg.gaussian_anchor.clone())
                .map_err(config)?;
            let params = LangevinParams::new(cfg.gaussian_lambda, cfg.gaussian_eta)?;
            let start = gaussian_ensemble(
                n,
                cfg.gaussian_anchor.len(),
                cfg.gaussian_init_mean,
                cfg.gaussian_init_std,
                seed,
            )?;
            mean_after(Mfld::new(f, params)?, start, seed, cfg.steps)
        }
        Case::ProjectedBox => {
            let f =
                QuadraticInteraction::new(cfg.box_kappa, cfg.box_anchor.clone()).map_err(config)?;
            let params = LangevinParams::new(cfg.box_lambda, cfg.box_eta)?;
            let start = uniform_box(n, cfg.box_anchor.len(), cfg.box_upper, seed)?;
            mean_after(ProjectedMfld::new(f, params)?, start, seed, cfg.steps)
        }
        Case::MirrorPaper | Case::MirrorAdjusted => {
            let f = SimplexMoment::new(cfg.simplex_target.clone(), 0.0).map_err(config)?;
            let params = LangevinParams::new(cfg.simplex_lambda, cfg.simplex_eta)?;
            let law = InitialLaw::Dirichlet {
                alpha: cfg.simplex_init.clone(),
            };
            let start = law.sample(n, seed, streams::INITIAL_POSITIONS)?;
            if case == Case::MirrorPaper {
                mean_after(
                    MirrorMfld::new(f, Entropic, params)?,
                    start,
                    seed,
                    cfg.steps,
                )
            } else {
                mean_after(
                    AdjustedMirrorMfld::new(f, Entropic, params)?,
                    start,
                    seed,
                    cfg.steps,
                )
            }
        }
    }
}

/// Exact N·Var m_N(K) of case (a) (module docs).
fn gaussian_constant(cfg: &MfldChaosConfig) -> f64 {
    let a = 1.0 - cfg.gaussian_eta * (1.0 + cfg.gaussian_kappa);
    let a2 = a * a;
    let k = cfg.steps as f64;
    let geometric = if (1.0 - a2).abs() < 1e-300 {
        k
    } else {
        (1.0 - a2.powf(k)) / (1.0 - a2)
    };
    cfg.gaussian_anchor.len() as f64
        * (cfg.gaussian_init_std.powi(2) * a2.powf(k)
            + 2.0 * cfg.gaussian_lambda * cfg.gaussian_eta * geometric)
}

impl ConfiguredExperiment for MfldChaos {
    type Config = MfldChaosConfig;
    const NAME: &'static str = "mfld-chaos";
    const DESCRIPTION: &'static str = "1/N propagation of chaos: variance of the empirical mean across seeds for MFLD, projected MFLD on a box, and mirror MFLD (paper and adjusted) on the simplex";

    fn execute(
        &self,
        cfg: MfldChaosConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let sizes: Vec<u32> = (cfg.log2_min..=cfg.log2_max).collect();
        let ns: Vec<f64> = sizes.iter().map(|&k| (1u64 << k) as f64).collect();

        let mut fits = Vec::new();
        let mut plot_series = Vec::new();
        for (c, case) in Case::ALL.into_iter().enumerate() {
            let runs = study::replicate_over_sizes(
                ctx.seed ^ case.tag(),
                &sizes,
                cfg.seeds,
                |done, total| {
                    (ctx.progress)(
                        (c as f64 + done as f64 / total as f64) / Case::ALL.len() as f64,
                        case.label(),
                    )
                },
                |n, seed| replicate(case, &cfg, n, seed),
            )?;
            let mut rows = Vec::new();
            let (mut vs, mut ses, mut scaled) = (vec![], vec![], vec![]);
            for size in &runs {
                let (v, se) = study::trace_variance_with_se(&size.values)?;
                rows.push(SizeRow {
                    n: size.n,
                    v,
                    se,
                    n_v: size.n as f64 * v,
                });
                vs.push(v);
                ses.push(se);
                scaled.push(size.n as f64 * v);
            }
            let fit = diag::loglog_slope(&ns, &vs)?;
            let (lo, hi) = fit.t_interval(0.95)?;
            let pooled = scaled.iter().sum::<f64>() / scaled.len() as f64;
            let (slope_check, _) = study::loglog_slope_check(
                format!("{}: slope of Var(m_N) vs N", case.label()),
                &ns,
                &vs,
                &ses,
                -1.0,
            )?;
            report.checks.push(slope_check);
            if case == Case::Gaussian {
                // Each V̂_N is a scaled χ²_{d(R−1)}/(d(R−1)) (independent coordinates):
                // relative sd √(2/(d(R−1))), divided by √(sizes) when pooled.
                let constant = gaussian_constant(&cfg);
                let d = cfg.gaussian_anchor.len() as f64;
                let rel_sd = (2.0 / (d * (cfg.seeds as f64 - 1.0) * sizes.len() as f64)).sqrt();
                report.checks.push(Check::z_within(
                    format!(
                        "{}: mean N·Var(m_N) vs exact constant (4 MC sd)",
                        case.label()
                    ),
                    pooled,
                    constant,
                    rel_sd * constant,
                    4.0,
                ));
            }
            fits.push(FitRow {
                case: case.label(),
                slope: fit.slope,
                slope_se: fit.slope_se,
                t_interval: format!("[{lo:.3}, {hi:.3}]"),
                r_squared: fit.r_squared,
                mean_n_v: pooled,
                sizes: sizes.len(),
                seeds: cfg.seeds,
            });
            report.tables.insert(
                format!("{}: variance of the empirical mean", case.label()),
                Table::from_named_records(&rows)?,
            );
            let name = format!(
                "{} (slope {:.3} ± {:.3})",
                case.label(),
                fit.slope,
                fit.slope_se
            );
            report.series.insert(
                name.clone(),
                Series {
                    x: ns.clone(),
                    y: vs,
                    y_err: Some(ses),
                },
            );
            plot_series.push(name);
        }
        report
            .tables
            .insert("chaos slopes".into(), Table::from_named_records(&fits)?);
        let constant = gaussian_constant(&cfg);
        let reference = format!("(a) exact {constant:.4}/N");
        report.series.insert(
            reference.clone(),
            Series {
                x: ns.clone(),
                y: ns.iter().map(|n| constant / n).collect(),
                y_err: None,
            },
        );
        plot_series.push(reference);
        report.plots.push(Plot {
            name: "chaos".into(),
            title: "Propagation of chaos: Var(m_N) across seeds vs N".into(),
            x_label: "N".into(),
            y_label: "E|m_N − E m_N|²".into(),
            series: plot_series,
            log_x: true,
            log_y: true,
            scatter: false,
        });
        report.notes.push(format!(
            "Observable: variance across {} independent seeds of the empirical mean m_N at the fixed step \
             K = {} (trace over coordinates), N = 2^{} … 2^{}; slope of the OLS fit of ln V̂_N on ln N \
             with its standard error. (a) MFLD, κ = {}, b = {:?}, λ = {}, η = {}, from N({}·1, {}² I); \
             exact Var m_N(K) = {:.5}/N. (b) projected MFLD on [0, {}]^{} with κ = {}, b = {:?}, λ = {}, \
             η = {}, from the uniform law. (c, d) F(μ) = ‖E x − q‖² on Δ³, q = {:?}, λ = {}, η = {}, from \
             Dirichlet({:?}); entropic mirror map.",
            cfg.seeds,
            cfg.steps,
            cfg.log2_min,
            cfg.log2_max,
            cfg.gaussian_kappa,
            cfg.gaussian_anchor,
            cfg.gaussian_lambda,
            cfg.gaussian_eta,
            cfg.gaussian_init_mean,
            cfg.gaussian_init_std,
            gaussian_constant(&cfg),
            cfg.box_upper,
            cfg.box_anchor.len(),
            cfg.box_kappa,
            cfg.box_anchor,
            cfg.box_lambda,
            cfg.box_eta,
            cfg.simplex_target,
            cfg.simplex_lambda,
            cfg.simplex_eta,
            cfg.simplex_init,
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_box_is_uniform() {
        let ens = uniform_box(20_000, 2, 3.0, 9).unwrap();
        let m = ens.mean();
        assert!(m.iter().all(|v| (v - 1.5).abs() < 0.03), "{m:?}");
        let below = ens.rows().filter(|x| x[0] < 0.75).count() as f64 / 20_000.0;
        assert!((below - 0.25).abs() < 0.015, "{below}");
    }
}
