//! `mf-mgdm-sp500`: MGDM vs MF-MGDM on S&P 500 daily log-returns 1999–2018 (the paper's
//! real-data study; it shows plots only).
//!
//! Data: adjusted closes (`data::sp500`, checksum-verified), log-returns standardised to
//! mean 0 and sd 1, cut into windows of length T with a stride. Features
//! ([`MultiLagAcf`]): the marginal moments m₁, m₃ and the autocovariances of x and of x²
//! at lags 0..L — x² lags carry the volatility clustering. α is the mean feature vector
//! over the windows. MGDM and MF-MGDM push the same i.i.d. N(0, 1) latent paths; with no
//! target density the reverse KL is replaced by the exact entropy H_k = H(q₀) + Σ logdet/N
//! (per path, reported per coordinate).
//!
//! Report: ACF of returns and of |returns| (real windows vs generated paths, averaged
//! over paths), marginal histograms, entropy vs step, a few generated paths beside real
//! windows, and the feature mismatch ‖Φ̄ − α‖/‖α‖. Checks (the paper's qualitative
//! claims): MF-MGDM ends with more entropy than MGDM; MF-MGDM fits the mean features to
//! 10 %; MF-MGDM's paths show volatility clustering (mean ACF of |x| over lags 1..5 at
//! least half the real one). MGDM's mismatch is reported, not checked.

use meanfield_diagnostics as diag;
use meanfield_energy::process::StandardGaussian;
use meanfield_energy::{FeatureMap, MultiLagAcf, ScaledFeatures};
use meanfield_integrators::Coupling;
use serde::{Deserialize, Serialize};

use crate::data;
use crate::mgdm::common::{MgdmRun, run_mgdm, sample_paths};
use crate::report::{Check, Plot, Series, Table};
use crate::study::SharedProgress;
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};
use meanfield_measures::streams;

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfMgdmSp500Config {
    /// Window (path) length T.
    pub t: usize,
    /// Stride between the starts of consecutive real windows.
    pub stride: usize,
    /// Largest lag L of the autocovariance features.
    pub max_lag: usize,
    /// Generated paths N (one MF-MGDM group).
    pub n_paths: usize,
    /// Step size γ.
    pub gamma: f64,
    /// Steps.
    pub steps: u64,
    /// Lags shown in the ACF plots.
    pub acf_lags: usize,
    /// Histogram bins over [−hist_range, hist_range].
    pub hist_bins: usize,
    /// Half-width of the histogram range (in standard deviations).
    pub hist_range: f64,
    /// Divide each feature by its standard deviation over the real windows before the
    /// loss ½‖Φ − α‖²/‖α‖² (otherwise the fourth-moment features dominate ‖α‖ and the
    /// variance is barely fitted).
    pub standardise_features: bool,
}

impl ExperimentConfig for MfMgdmSp500Config {
    /// Defaults, or a reduced `--quick` run.
    fn defaults(quick: bool) -> Self {
        Self {
            t: if quick { 128 } else { 256 },
            stride: if quick { 32 } else { 16 },
            max_lag: if quick { 3 } else { 5 },
            n_paths: if quick { 32 } else { 128 },
            gamma: 1.0,
            steps: if quick { 300 } else { 600 },
            acf_lags: if quick { 10 } else { 20 },
            hist_bins: 48,
            hist_range: 6.0,
            standardise_features: true,
        }
    }

    /// Lags shorter than the window, at least one path and one bin.
    fn validate(&self) -> Result<(), ExperimentError> {
        let bad = |msg: String| Err(ExperimentError::Config(format!("mf-mgdm-sp500: {msg}")));
        if self.t < 2 {
            return bad(format!("t = {} must be ≥ 2", self.t));
        }
        for (key, lag) in [("max_lag", self.max_lag), ("acf_lags", self.acf_lags)] {
            if lag == 0 || lag >= self.t {
                return bad(format!("{key} = {lag} must lie in 1..t (t = {})", self.t));
            }
        }
        if self.n_paths == 0 || self.hist_bins == 0 || self.stride == 0 {
            return bad("n_paths, hist_bins and stride must be ≥ 1".into());
        }
        if !(self.hist_range.is_finite() && self.hist_range > 0.0) {
            return bad(format!(
                "hist_range = {} must be finite and > 0",
                self.hist_range
            ));
        }
        Ok(())
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            ("MGDM paths (n_paths × t)", vec![self.n_paths, self.t]),
            ("histogram (hist_bins)", vec![self.hist_bins]),
        ]
    }
}

/// Mean over paths of the biased sample ACF at lags 1..=lags of `f(x)` for each row.
fn mean_acf(
    x: &[f64],
    t: usize,
    lags: usize,
    f: impl Fn(f64) -> f64,
) -> Result<Vec<f64>, ExperimentError> {
    let mut acc = vec![0.0; lags];
    let mut rows = 0.0;
    for row in x.chunks_exact(t) {
        let y: Vec<f64> = row.iter().map(|v| f(*v)).collect();
        let a = diag::acf(&y, lags)?;
        acc.iter_mut().zip(&a[1..]).for_each(|(s, v)| *s += v);
        rows += 1.0;
    }
    Ok(acc.into_iter().map(|s| s / rows).collect())
}

/// Density histogram of `x` on `bins` equal bins over [−r, r] (values outside are
/// counted in the total but not shown).
fn histogram(x: &[f64], bins: usize, r: f64) -> Series {
    let w = 2.0 * r / bins as f64;
    let mut counts = vec![0.0; bins];
    for v in x {
        let b = ((v + r) / w).floor();
        if b >= 0.0 && (b as usize) < bins {
            counts[b as usize] += 1.0;
        }
    }
    let n = x.len() as f64;
    Series {
        x: (0..bins).map(|b| -r + (b as f64 + 0.5) * w).collect(),
        y: counts.into_iter().map(|c| c / (n * w)).collect(),
        y_err: None,
    }
}

/// Φ̄ = mean of Φ over the rows of `x`.
fn mean_features<F: FeatureMap>(map: &F, x: &[f64]) -> Result<Vec<f64>, ExperimentError> {
    let (t, k) = (map.len(), map.n_features());
    let mut mean = vec![0.0; k];
    let mut phi = vec![0.0; k];
    let rows = (x.len() / t) as f64;
    for row in x.chunks_exact(t) {
        map.eval(row, &mut phi)?;
        mean.iter_mut().zip(&phi).for_each(|(m, p)| *m += p / rows);
    }
    Ok(mean)
}

/// ‖Φ̄ − α‖ / ‖α‖ for the rows of `x`.
fn feature_mismatch<F: FeatureMap>(
    map: &F,
    x: &[f64],
    alpha: &[f64],
) -> Result<f64, ExperimentError> {
    let mean = mean_features(map, x)?;
    let num: f64 = mean.iter().zip(alpha).map(|(m, a)| (m - a) * (m - a)).sum();
    let den: f64 = alpha.iter().map(|a| a * a).sum();
    Ok((num / den).sqrt())
}

/// Excess kurtosis of `x`.
fn excess_kurtosis(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|y| (y - m).powi(2)).sum::<f64>() / n;
    x.iter().map(|y| (y - m).powi(4)).sum::<f64>() / n / (v * v) - 3.0
}

/// A row of the table `summary`: the real windows or one scheme's generated paths.
#[derive(Serialize)]
struct SummaryRow {
    paths: &'static str,
    #[serde(rename = "entropy/T final (nats)")]
    entropy: Option<f64>,
    #[serde(rename = "‖Φ̄ − α‖/‖α‖")]
    mismatch: f64,
    #[serde(rename = "mean ACF |x| lags 1..5")]
    abs_acf: f64,
    #[serde(rename = "excess kurtosis")]
    excess_kurtosis: f64,
    frozen: Option<usize>,
}

/// A row of the table `features`: one feature's target and generated means.
#[derive(Serialize)]
struct FeatureRow {
    feature: String,
    alpha: f64,
    mgdm: f64,
    mf_mgdm: f64,
}

/// The experiment.
pub struct MfMgdmSp500;

impl ConfiguredExperiment for MfMgdmSp500 {
    type Config = MfMgdmSp500Config;
    const NAME: &'static str = "mf-mgdm-sp500";
    const DESCRIPTION: &'static str = "MGDM vs MF-MGDM on S&P 500 log-returns: ACFs of returns and |returns|, histograms, entropy vs step";

    fn execute(
        &self,
        cfg: MfMgdmSp500Config,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let returns = data::sp500()?.log_returns();
        // Checked here, not in `validate`: the bounds depend on the data set's length.
        let t = cfg.t;
        if cfg.stride == 0 || t < 8 || t > returns.len() || cfg.n_paths == 0 || cfg.hist_bins == 0 {
            return Err(ExperimentError::Config(format!(
                "need stride ≥ 1, 8 ≤ t ≤ {} (the number of returns), n_paths ≥ 1, hist_bins ≥ 1",
                returns.len()
            )));
        }
        if cfg.acf_lags >= t {
            return Err(ExperimentError::Config("acf_lags must be < t".into()));
        }
        // standardise
        let n_ret = returns.len() as f64;
        let mu = returns.iter().sum::<f64>() / n_ret;
        let sd = (returns.iter().map(|r| (r - mu).powi(2)).sum::<f64>() / (n_ret - 1.0)).sqrt();
        let z: Vec<f64> = returns.iter().map(|r| (r - mu) / sd).collect();
        let windows: Vec<f64> = (0..=(z.len() - t) / cfg.stride)
            .flat_map(|w| z[w * cfg.stride..w * cfg.stride + t].iter().copied())
            .collect();
        let n_windows = windows.len() / t;

        let map = MultiLagAcf::new(t, cfg.max_lag, true)?;
        let k = map.n_features();
        let alpha = mean_features(&map, &windows)?;
        // spread of each feature over the windows (for the optional standardisation)
        let mut var = vec![0.0; k];
        let mut phi = vec![0.0; k];
        for row in windows.chunks_exact(t) {
            map.eval(row, &mut phi)?;
            for ((v, p), a) in var.iter_mut().zip(&phi).zip(&alpha) {
                *v += (p - a) * (p - a) / n_windows as f64;
            }
        }
        let scale: Vec<f64> = if cfg.standardise_features {
            var.iter().map(|v| 1.0 / v.sqrt()).collect()
        } else {
            vec![1.0; k]
        };
        let scaled = ScaledFeatures::new(map, scale.clone())?;
        let alpha_scaled: Vec<f64> = alpha.iter().zip(&scale).map(|(a, s)| a * s).collect();

        let latent = StandardGaussian::new(t)?;
        let x0 = sample_paths(&latent, cfg.n_paths, ctx.seed, streams::MGDM_LATENT)?;
        let progress = SharedProgress::new(
            2 * cfg.steps * cfg.n_paths as u64,
            "MGDM / MF-MGDM",
            ctx.progress,
        );
        let mut runs: Vec<(&str, MgdmRun)> = Vec::new();
        for (name, coupling) in [
            ("MGDM", Coupling::Independent),
            ("MF-MGDM", Coupling::Groups(cfg.n_paths)),
        ] {
            let run = run_mgdm(
                scaled.clone(),
                alpha_scaled.clone(),
                cfg.gamma,
                coupling,
                &x0,
                None,
                &latent,
                cfg.steps,
                |_| progress.add(cfg.n_paths as u64),
            )?;
            runs.push((name, run));
        }

        report.notes.push(format!(
            "S&P 500 daily log-returns ({} returns, standardised: mean {mu:.2e}, sd {sd:.4}), \
             {n_windows} windows of T = {t} (stride {}). Features: m₁, m₃ and autocovariances of x \
             and x² at lags 0..{} (K = {k}){}. N = {} generated paths from i.i.d. N(0, 1), γ = {}, \
             {} steps. Entropy in nats per coordinate, H(q₀) = ½ ln(2πe) ≈ 1.419; a law with \
             variance v per coordinate has at most ½ ln(2πe v).",
            returns.len(),
            cfg.stride,
            cfg.max_lag,
            if cfg.standardise_features {
                ", each divided by its standard deviation over the windows"
            } else {
                ""
            },
            cfg.n_paths,
            cfg.gamma,
            cfg.steps
        ));

        let lags = cfg.acf_lags;
        let lag_x: Vec<f64> = (1..=lags).map(|l| l as f64).collect();
        let mut acf_names = (Vec::new(), Vec::new());
        let real_acf = mean_acf(&windows, t, lags, |v| v)?;
        let real_abs = mean_acf(&windows, t, lags, f64::abs)?;
        let mut add = |report: &mut Report, label: &str, a: Vec<f64>, b: Vec<f64>| {
            let (na, nb) = (format!("ACF x, {label}"), format!("ACF |x|, {label}"));
            report.series.insert(
                na.clone(),
                Series {
                    x: lag_x.clone(),
                    y: a,
                    y_err: None,
                },
            );
            report.series.insert(
                nb.clone(),
                Series {
                    x: lag_x.clone(),
                    y: b,
                    y_err: None,
                },
            );
            acf_names.0.push(na);
            acf_names.1.push(nb);
        };
        add(report, "real", real_acf, real_abs.clone());
        let hist_real = histogram(&z, cfg.hist_bins, cfg.hist_range);
        report.series.insert("histogram, real".into(), hist_real);
        let mut hist_names = vec!["histogram, real".to_string()];
        let mut entropy_names = Vec::new();
        let mut path_names = Vec::new();
        // the first window and one from the middle of the sample
        for (j, w) in [0, n_windows / 2].into_iter().enumerate() {
            let name = format!("real window {}", j + 1);
            report.series.insert(
                name.clone(),
                Series {
                    x: (0..t).map(|s| s as f64).collect(),
                    y: windows[w * t..(w + 1) * t].to_vec(),
                    y_err: None,
                },
            );
            path_names.push(name);
        }

        let mut summary = Vec::new();
        let real_abs5 = real_abs[..5.min(lags)].iter().sum::<f64>() / 5.min(lags) as f64;
        summary.push(SummaryRow {
            paths: "real windows",
            entropy: None,
            mismatch: 0.0,
            abs_acf: real_abs5,
            excess_kurtosis: excess_kurtosis(&z),
            frozen: None,
        });
        let mut final_entropy = Vec::new();
        for (name, run) in &runs {
            let ent: Vec<f64> = run.trace.entropy().iter().map(|h| h / t as f64).collect();
            let en = format!("entropy, {name}");
            report.series.insert(
                en.clone(),
                Series {
                    x: (0..ent.len()).map(|k| k as f64).collect(),
                    y: ent.clone(),
                    y_err: None,
                },
            );
            entropy_names.push(en);
            let a = mean_acf(&run.paths, t, lags, |v| v)?;
            let b = mean_acf(&run.paths, t, lags, f64::abs)?;
            let abs5 = b[..5.min(lags)].iter().sum::<f64>() / 5.min(lags) as f64;
            add(report, name, a, b);
            let hn = format!("histogram, {name}");
            report.series.insert(
                hn.clone(),
                histogram(&run.paths, cfg.hist_bins, cfg.hist_range),
            );
            hist_names.push(hn);
            for p in 0..2.min(cfg.n_paths) {
                let pn = format!("{name} path {}", p + 1);
                report.series.insert(
                    pn.clone(),
                    Series {
                        x: (0..t).map(|s| s as f64).collect(),
                        y: run.paths[p * t..(p + 1) * t].to_vec(),
                        y_err: None,
                    },
                );
                path_names.push(pn);
            }
            let mismatch = feature_mismatch(&map, &run.paths, &alpha)?;
            let h_final = *ent.last().unwrap_or(&f64::NAN);
            final_entropy.push(h_final);
            summary.push(SummaryRow {
                paths: name,
                entropy: Some(h_final),
                mismatch,
                abs_acf: abs5,
                excess_kurtosis: excess_kurtosis(&run.paths),
                frozen: Some(run.frozen),
            });
            if *name == "MF-MGDM" {
                // MF-MGDM descends ‖Φ̄ − α‖ itself; MGDM descends every ‖Φ(x_i) − α‖ and its
                // mismatch of the mean is reported, not checked
                report.checks.push(Check::at_most(
                    "MF-MGDM: relative feature mismatch ‖Φ̄ − α‖/‖α‖ ≤ 0.1",
                    mismatch,
                    0.1,
                ));
                report.checks.push(Check::at_most(
                    "MF-MGDM volatility clustering: real mean ACF|x| (lags 1..5) / 2 − generated ≤ 0",
                    0.5 * real_abs5 - abs5,
                    0.0,
                ));
            }
        }
        report.checks.push(Check::at_most(
            "entropy/T at the last step: MGDM − MF-MGDM ≤ 0 (MF-MGDM keeps more entropy)",
            final_entropy[0] - final_entropy[1],
            0.0,
        ));
        report
            .tables
            .insert("summary".into(), Table::from_named_records(&summary)?);
        let mut feats = Table::new(["feature", "α (real windows)", "Φ̄ MGDM", "Φ̄ MF-MGDM"]);
        let fm: Vec<Vec<f64>> = runs
            .iter()
            .map(|(_, r)| mean_features(&map, &r.paths))
            .collect::<Result<_, _>>()?;
        let (a0, b0) = (map.acov_offset(), map.sq_acov_offset());
        for (j, a) in alpha.iter().enumerate() {
            let label = match j {
                0 if a0 == 2 => "m1 = mean x".to_string(),
                1 if a0 == 2 => "m3 = mean x³".to_string(),
                _ if j < b0 => format!("acov x, lag {}", j - a0),
                _ => format!("acov x², lag {}", j - b0),
            };
            feats.push_record(&FeatureRow {
                feature: label,
                alpha: *a,
                mgdm: fm[0][j],
                mf_mgdm: fm[1][j],
            })?;
        }
        report.tables.insert("features".into(), feats);
        let plot = |name: &str, title: &str, x: &str, y: &str, series: Vec<String>| Plot {
            name: name.into(),
            title: title.into(),
            x_label: x.into(),
            y_label: y.into(),
            series,
            log_x: false,
            log_y: false,
            scatter: false,
        };
        report.plots.push(plot(
            "acf_returns",
            "ACF of returns: real windows vs generated paths",
            "lag",
            "ACF",
            acf_names.0,
        ));
        report.plots.push(plot(
            "acf_abs_returns",
            "ACF of |returns| (volatility clustering)",
            "lag",
            "ACF",
            acf_names.1,
        ));
        report.plots.push(plot(
            "histogram",
            "Marginal density of standardised returns",
            "x (sd units)",
            "density",
            hist_names,
        ));
        report.plots.push(plot(
            "entropy",
            "Entropy per coordinate vs step",
            "step k",
            "H_k / T (nats)",
            entropy_names,
        ));
        report.plots.push(plot(
            "paths",
            "Real windows and generated paths",
            "t (days)",
            "standardised return",
            path_names,
        ));
        Ok(())
    }
}
