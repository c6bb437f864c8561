//! `cbo-gradient`: the consensus point as a stochastic relaxation of gradient descent
//! (Riedl, Klock, Totzeck, Fornasier 2023, "Gradient is All You Need?").
//!
//! Consensus hopping: from x_k draw N samples Y_j = x_k + σ ξ_j, ξ_j ~ N(0, I), and jump to
//! their consensus point, x_{k+1} = v_α(Y) with weights exp(−α f(Y_j)). By the Laplace
//! principle the consensus of ρ = N(x, σ² I) is the minimiser of
//! f(y) + |y − x|²/(2ασ²) up to higher order — a proximal (implicit) gradient step of
//! size τ = ασ². On a quadratic f(x) = ½ (x − x*)ᵀ A (x − x*), A = diag(a), it is exact
//! in the infinite-sample limit: the tilted Gaussian has mean
//! v_i = (x_i + τ a_i x*_i)/(1 + τ a_i) = prox_{τf}(x)_i, i.e.
//! x_{k+1} = x_k − τ (I + τA)^{-1} ∇f(x_k): gradient descent with the preconditioned
//! step τ(1 + τa_i)^{-1}, which for small τ a_i is plain gradient descent with step τ.
//!
//! We run consensus hopping with finitely many samples beside the exact proximal path and
//! the explicit gradient-descent path x_{k+1} = x_k − τ∇f(x_k). With τ a = (0.5, 1.5) the
//! explicit path overshoots in the stiff coordinate (factor 1 − τa₂ = −0.5) while the
//! proximal one does not (factor 1/(1 + τa₂) = 0.4): the consensus path must follow the
//! proximal one.
//!
//! Checks:
//! 1. Monte-Carlo consistency: the deviation e_k = x^CH_k − x^prox_k obeys, per coordinate,
//!    e_{k+1} ≈ c e_k + η_k with c = 1/(1 + τ a_i) and Var η_k estimated from the hop's own
//!    samples by the delta method for self-normalised weights,
//!    Σ_j w̄_j² (Y_ji − v_i)² (w̄ the normalised weights). The mean of e²/V over
//!    replicates, steps and coordinates, with V the propagated variance, must be 1 within
//!    its Monte-Carlo error (4 standard errors from the spread over replicates).
//! 2. The consensus path is much closer to the proximal path than to explicit GD.

use meanfield_energy::Objective;
use meanfield_integrators::cbo::consensus_into;
use meanfield_measures::NoiseStreams;
use meanfield_measures::{replicate_seed, streams};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::report::{Check, Plot, Series, Table};
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};

/// f(x) = ½ Σ a_i (x_i − x*_i)², a smooth strongly convex objective.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagonalQuadratic {
    /// Curvatures a_i > 0.
    pub a: Vec<f64>,
    /// Minimiser x*.
    pub x_star: Vec<f64>,
}

impl Objective for DiagonalQuadratic {
    fn dim(&self) -> usize {
        self.a.len()
    }

    fn value(&self, x: &[f64]) -> f64 {
        0.5 * x
            .iter()
            .zip(&self.a)
            .zip(&self.x_star)
            .map(|((x, a), s)| a * (x - s) * (x - s))
            .sum::<f64>()
    }

    fn minimiser(&self) -> Option<Vec<f64>> {
        Some(self.x_star.clone())
    }
}

/// Parameters (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CboGradientConfig {
    /// Curvatures a (its length is d).
    pub a: Vec<f64>,
    /// Minimiser x*.
    pub x_star: Vec<f64>,
    /// Start x₀.
    pub x0: Vec<f64>,
    /// Inverse temperature α.
    pub alpha: f64,
    /// Sampling radius σ (τ = ασ²).
    pub sigma: f64,
    /// Samples per hop N.
    pub samples: usize,
    /// Hops.
    pub steps: usize,
    /// Independent replicates of the hopping path.
    pub replicates: usize,
}

impl ExperimentConfig for CboGradientConfig {
    /// Defaults: full or `--quick`.
    fn defaults(quick: bool) -> Self {
        Self {
            a: vec![1.0, 3.0],
            x_star: vec![1.0, -1.0],
            x0: vec![-1.0, 0.0],
            alpha: 0.125,
            sigma: 2.0,
            samples: if quick { 4_000 } else { 20_000 },
            steps: 12,
            replicates: if quick { 24 } else { 64 },
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![(
            "hop samples (samples × d)",
            vec![self.samples, self.a.len()],
        )]
    }

    /// Rejects settings the run cannot use.
    fn validate(&self) -> Result<(), ExperimentError> {
        let d = self.a.len();
        if d == 0
            || self.x_star.len() != d
            || self.x0.len() != d
            || self.a.iter().any(|a| !(a.is_finite() && *a > 0.0))
            || !(self.alpha > 0.0 && self.alpha.is_finite())
            || !(self.sigma > 0.0 && self.sigma.is_finite())
            || self.samples < 2
            || self.steps == 0
            || self.replicates < 2
        {
            return Err(ExperimentError::Config(
                "need a, x_star, x0 of one length d ≥ 1, a > 0, α > 0, σ > 0, samples ≥ 2, steps ≥ 1, replicates ≥ 2".into(),
            ));
        }
        Ok(())
    }
}

/// A row of the table `paths`: the three iterates at one step.
#[derive(Serialize)]
struct PathRow<'a> {
    step: usize,
    #[serde(rename = "hopping x")]
    hopping: &'a [f64],
    #[serde(rename = "proximal x")]
    proximal: &'a [f64],
    #[serde(rename = "explicit GD x")]
    gd: &'a [f64],
    #[serde(rename = "ESS")]
    ess: f64,
}

/// The experiment.
pub struct CboGradient;

/// One consensus-hopping path: the points (x₀, …, x_K), the ESS of each hop and the
/// delta-method variance of each hop's consensus, per coordinate.
struct HoppingPath {
    path: Vec<Vec<f64>>,
    ess: Vec<f64>,
    var: Vec<Vec<f64>>,
}

fn hopping_path(
    f: &DiagonalQuadratic,
    cfg: &CboGradientConfig,
    seed: u64,
) -> Result<HoppingPath, ExperimentError> {
    let d = f.dim();
    let n = cfg.samples;
    let streams = NoiseStreams::new(seed, streams::CBO_HOP);
    let (mut ys, mut fs, mut w) = (vec![0.0; n * d], vec![0.0; n], vec![0.0; n]);
    let mut x = cfg.x0.clone();
    let mut path = vec![x.clone()];
    let mut ess = Vec::with_capacity(cfg.steps);
    let mut var = Vec::with_capacity(cfg.steps);
    for k in 0..cfg.steps {
        let at = streams.at_step(k as u64);
        for (j, row) in ys.chunks_exact_mut(d).enumerate() {
            at.fill_standard_normal(j as u64, row);
            for (y, x) in row.iter_mut().zip(&x) {
                *y = x + cfg.sigma * *y;
            }
        }
        f.values(&ys, &mut fs);
        let mut v = vec![0.0; d];
        let stats = consensus_into(&ys, d, &fs, cfg.alpha, &mut w, &mut v)?;
        ess.push(stats.ess);
        let total: f64 = w.iter().sum();
        let mut vk = vec![0.0; d];
        for (row, wj) in ys.chunks_exact(d).zip(&w) {
            let q = (wj / total) * (wj / total);
            for ((acc, y), v) in vk.iter_mut().zip(row).zip(&v) {
                *acc += q * (y - v) * (y - v);
            }
        }
        var.push(vk);
        x = v;
        path.push(x.clone());
    }
    Ok(HoppingPath { path, ess, var })
}

impl ConfiguredExperiment for CboGradient {
    type Config = CboGradientConfig;
    const NAME: &'static str = "cbo-gradient";
    const DESCRIPTION: &'static str =
        "CBO consensus hopping on a convex quadratic follows the proximal gradient path (τ = ασ²)";

    fn execute(
        &self,
        cfg: CboGradientConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let d = cfg.a.len();
        let f = DiagonalQuadratic {
            a: cfg.a.clone(),
            x_star: cfg.x_star.clone(),
        };
        let tau = cfg.alpha * cfg.sigma * cfg.sigma;
        report.notes.push(format!(
            "f(x) = ½ Σ a_i (x_i − x*_i)², a = {:?}, x* = {:?}, x₀ = {:?}; consensus hopping with \
             N = {} samples from N(x_k, σ²I), σ = {}, α = {}: τ = ασ² = {tau}. Explicit GD with \
             step τ has factors 1 − τa = {:?}; the proximal step 1/(1 + τa) = {:?}.",
            cfg.a,
            cfg.x_star,
            cfg.x0,
            cfg.samples,
            cfg.sigma,
            cfg.alpha,
            cfg.a.iter().map(|a| 1.0 - tau * a).collect::<Vec<_>>(),
            cfg.a
                .iter()
                .map(|a| 1.0 / (1.0 + tau * a))
                .collect::<Vec<_>>(),
        ));

        // Exact proximal-point and explicit gradient-descent paths.
        let (mut prox, mut gd) = (vec![cfg.x0.clone()], vec![cfg.x0.clone()]);
        for _ in 0..cfg.steps {
            let p = prox.last().cloned().unwrap_or_default();
            prox.push(
                (0..d)
                    .map(|i| (p[i] + tau * cfg.a[i] * cfg.x_star[i]) / (1.0 + tau * cfg.a[i]))
                    .collect(),
            );
            let g = gd.last().cloned().unwrap_or_default();
            gd.push(
                (0..d)
                    .map(|i| g[i] - tau * cfg.a[i] * (g[i] - cfg.x_star[i]))
                    .collect(),
            );
        }

        (ctx.progress)(0.0, "consensus hopping");
        let paths: Vec<HoppingPath> = (0..cfg.replicates)
            .into_par_iter()
            .map(|r| hopping_path(&f, &cfg, replicate_seed(ctx.seed, 0, r as u64)))
            .collect::<Result<_, _>>()?;

        // Check 1: propagated Monte-Carlo variance of the deviation from the prox path.
        let c: Vec<f64> = cfg.a.iter().map(|a| 1.0 / (1.0 + tau * a)).collect();
        let (mut z2_sum, mut z2_count) = (0.0, 0usize);
        let mut per_replicate = Vec::with_capacity(cfg.replicates);
        let (mut d_prox, mut d_gd) = (0.0, 0.0);
        for hp in &paths {
            let path = &hp.path;
            let mut var = vec![0.0; d];
            let mut z2_r = 0.0;
            for k in 1..=cfg.steps {
                for i in 0..d {
                    var[i] = c[i] * c[i] * var[i] + hp.var[k - 1][i];
                    let e = path[k][i] - prox[k][i];
                    z2_r += e * e / var[i];
                    d_prox += e * e;
                    d_gd += (path[k][i] - gd[k][i]).powi(2);
                }
            }
            z2_sum += z2_r;
            z2_count += cfg.steps * d;
            per_replicate.push(z2_r / (cfg.steps * d) as f64);
        }
        let z2_mean = z2_sum / z2_count as f64;
        // Its Monte-Carlo error from the spread of the per-replicate means (replicates are
        // independent; steps within one are correlated, which this accounts for).
        let m = per_replicate.iter().sum::<f64>() / per_replicate.len() as f64;
        let var_r = per_replicate.iter().map(|v| (v - m).powi(2)).sum::<f64>()
            / (per_replicate.len() - 1) as f64;
        let se = (var_r / per_replicate.len() as f64).sqrt();
        report.checks.push(Check::z_within(
            "mean e²/V of (hopping − proximal) path: Monte-Carlo consistent (1 ± 4 s.e.)",
            z2_mean,
            1.0,
            se,
            4.0,
        ));
        let ratio = (d_prox / d_gd).sqrt();
        report.checks.push(Check::at_most(
            "RMS distance to proximal path / RMS distance to explicit GD path",
            ratio,
            0.2,
        ));

        // Table: the three paths (replicate 0 for hopping) and the ESS.
        let mut rows = Vec::new();
        let (path0, ess0) = (&paths[0].path, &paths[0].ess);
        for k in 0..=cfg.steps {
            rows.push(PathRow {
                step: k,
                hopping: &path0[k],
                proximal: &prox[k],
                gd: &gd[k],
                ess: if k == 0 { f64::NAN } else { ess0[k - 1] },
            });
        }
        report
            .tables
            .insert("paths".into(), Table::from_named_records(&rows)?);
        let summary = Table::from_records(
            ["τ = ασ²", "mean e²/V", "s.e.", "dist ratio prox/GD"],
            &[(tau, z2_mean, se, ratio)],
        )?;
        report.tables.insert("summary".into(), summary);

        let steps: Vec<f64> = (0..=cfg.steps).map(|k| k as f64).collect();
        let mut plane = vec![];
        for (name, path) in [
            ("consensus hopping", path0),
            ("proximal point (exact)", &prox),
            ("explicit gradient descent", &gd),
        ] {
            for i in 0..d.min(2) {
                report.series.insert(
                    format!("{name}: x_{}", i + 1),
                    Series {
                        x: steps.clone(),
                        y: path.iter().map(|p| p[i]).collect(),
                        y_err: None,
                    },
                );
            }
            if d >= 2 {
                report.series.insert(
                    format!("{name} (plane)"),
                    Series {
                        x: path.iter().map(|p| p[0]).collect(),
                        y: path.iter().map(|p| p[1]).collect(),
                        y_err: None,
                    },
                );
                plane.push(format!("{name} (plane)"));
            }
        }
        for i in 0..d.min(2) {
            report.plots.push(Plot {
                name: format!("coordinate-{}", i + 1),
                title: format!(
                    "Coordinate x_{} (a = {}): consensus hopping vs proximal vs explicit GD, τ = {tau}",
                    i + 1,
                    cfg.a[i]
                ),
                x_label: "step k".into(),
                y_label: format!("x_{}", i + 1),
                series: [
                    "consensus hopping",
                    "proximal point (exact)",
                    "explicit gradient descent",
                ]
                .iter()
                .map(|n| format!("{n}: x_{}", i + 1))
                .collect(),
                log_x: false,
                log_y: false,
                scatter: false,
            });
        }
        if !plane.is_empty() {
            report.plots.push(Plot {
                name: "plane".into(),
                title: "Paths in the (x_1, x_2) plane".into(),
                x_label: "x_1".into(),
                y_label: "x_2".into(),
                series: plane,
                log_x: false,
                log_y: false,
                scatter: false,
            });
        }
        Ok(())
    }
}
