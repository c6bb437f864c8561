//! `mf-mgdm-batch`: the batch-size sweep of the MF-MGDM paper (spec `mf-mgdm.md`): AR(0.1),
//! ACF(1) features, N = 128 paths split into coupling groups of size n ∈ {1, 2, 4, …, 128}
//! (n = 1 is MGDM, n = 128 the full MF-MGDM). Every group size starts from the same latent
//! paths of a seed, so the comparison across n is paired.
//!
//! Paper: min KL 2.76, 1.82, 1.16, 0.71, 0.46, 0.27, 0.15, 0.09. Check: our mean min KL
//! decreases strictly with the group size; the table shows paper, ours and the difference.

use meanfield_energy::Acf1;
use meanfield_integrators::Coupling;
use serde::{Deserialize, Serialize};

use crate::mgdm::common::{feature_mean, mean_sd, run_mgdm, sample_paths};
use crate::mgdm::table::case_laws;
use crate::report::{Check, Plot, Series, Table};
use crate::study::SharedProgress;
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};
use meanfield_measures::{replicate_seed, streams};

/// Paper's min KL for group sizes 1, 2, 4, …, 128 (N = 128).
pub const PAPER: [(usize, f64); 8] = [
    (1, 2.76),
    (2, 1.82),
    (4, 1.16),
    (8, 0.71),
    (16, 0.46),
    (32, 0.27),
    (64, 0.15),
    (128, 0.09),
];

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfMgdmBatchConfig {
    /// Paths N.
    pub n_paths: usize,
    /// Path length T.
    pub t: usize,
    /// Step size γ.
    pub gamma: f64,
    /// Independent target paths that estimate α.
    pub alpha_samples: usize,
    /// Steps per run.
    pub steps: u64,
    /// Group sizes (each must divide N).
    pub group_sizes: Vec<usize>,
    /// Seeds.
    pub seeds: usize,
}

impl ExperimentConfig for MfMgdmBatchConfig {
    /// Defaults: the paper's sweep, or a reduced `--quick` one (N = 32, T = 256).
    fn defaults(quick: bool) -> Self {
        if quick {
            Self {
                n_paths: 32,
                t: 256,
                gamma: 10.0,
                alpha_samples: 2_000,
                steps: 250,
                group_sizes: vec![1, 4, 32],
                seeds: 2,
            }
        } else {
            Self {
                n_paths: 128,
                t: 1024,
                gamma: 10.0,
                alpha_samples: 10_000,
                steps: 250,
                group_sizes: PAPER.iter().map(|p| p.0).collect(),
                seeds: 3,
            }
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![(
            "α samples (alpha_samples × t)",
            vec![self.alpha_samples, self.t],
        )]
    }

    /// Rejects settings the run cannot use.
    fn validate(&self) -> Result<(), ExperimentError> {
        let n = self.n_paths;
        if n == 0 || self.seeds == 0 || self.group_sizes.len() < 2 {
            return Err(ExperimentError::Config(
                "need n_paths ≥ 1, seeds ≥ 1 and at least two group sizes".into(),
            ));
        }
        if let Some(g) = self
            .group_sizes
            .iter()
            .find(|&&g| g == 0 || !n.is_multiple_of(g))
        {
            return Err(ExperimentError::Config(format!(
                "group size {g} does not divide n_paths = {n}"
            )));
        }
        meanfield_measures::alloc::f64_len("MGDM paths (n_paths × T)", &[n, self.t])?;
        Ok(())
    }
}

/// A row of the table `min_kl_vs_group_size`: one coupling group size.
#[derive(Serialize)]
struct GroupSizeRow {
    #[serde(rename = "group size")]
    group_size: usize,
    #[serde(rename = "paper min KL")]
    paper: Option<f64>,
    #[serde(rename = "ours (mean)")]
    mean: f64,
    #[serde(rename = "ours (sd)")]
    sd: f64,
    #[serde(rename = "ours − paper")]
    diff: Option<f64>,
}

/// The experiment.
pub struct MfMgdmBatch;

impl ConfiguredExperiment for MfMgdmBatch {
    type Config = MfMgdmBatchConfig;
    const NAME: &'static str = "mf-mgdm-batch";
    const DESCRIPTION: &'static str =
        "MF-MGDM batch-size sweep on AR(0.1): minimum reverse KL vs coupling group size";

    fn execute(
        &self,
        cfg: MfMgdmBatchConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let n = cfg.n_paths;
        let (target, latent) = case_laws("ar(0.1)", cfg.t)?;
        let map = Acf1::new(cfg.t)?;
        let alpha = feature_mean(&map, target.as_ref(), cfg.alpha_samples, ctx.seed)?;
        let total = cfg.steps * (cfg.seeds * cfg.group_sizes.len() * n) as u64;
        let progress = SharedProgress::new(total, "group sizes", ctx.progress);
        let mut mins = vec![Vec::new(); cfg.group_sizes.len()];
        let mut curves = Vec::new();
        for r in 0..cfg.seeds {
            let seed = replicate_seed(ctx.seed, 0, r as u64);
            let x0 = sample_paths(latent.as_ref(), n, seed, streams::MGDM_LATENT)?;
            for (j, &g) in cfg.group_sizes.iter().enumerate() {
                let run = run_mgdm(
                    map,
                    alpha.clone(),
                    cfg.gamma,
                    Coupling::Groups(g),
                    &x0,
                    Some(target.as_ref()),
                    latent.as_ref(),
                    cfg.steps,
                    |_| progress.add(n as u64),
                )?;
                mins[j].push(run.trace.min().1);
                if r == 0 {
                    curves.push(run.trace.kl());
                }
            }
        }

        report.notes.push(format!(
            "AR(0.1), ACF(1) features, N = {n}, T = {}, γ = {}, {} steps, {} seeds; groups of n \
             consecutive paths share their mean features (n = 1: MGDM). Paper values are for \
             N = 128, T = 1024.",
            cfg.t, cfg.gamma, cfg.steps, cfg.seeds
        ));
        let mut rows = Vec::new();
        let (mut xs, mut ys, mut px, mut py) = (vec![], vec![], vec![], vec![]);
        let mut ses = Vec::new();
        let mut means = Vec::new();
        for (j, &g) in cfg.group_sizes.iter().enumerate() {
            let (m, sd) = mean_sd(&mins[j]);
            let paper = PAPER.iter().find(|p| p.0 == g && n == 128).map(|p| p.1);
            rows.push(GroupSizeRow {
                group_size: g,
                paper,
                mean: m,
                sd,
                diff: paper.map(|p| m - p),
            });
            xs.push(g as f64);
            ys.push(m);
            // Standard error of the mean over the independent seeds.
            ses.push(sd / (mins[j].len() as f64).sqrt());
            if let Some(p) = paper {
                px.push(g as f64);
                py.push(p);
            }
            means.push(m);
        }
        let increases = means.windows(2).filter(|w| w[1] >= w[0]).count();
        report.checks.push(Check::at_most(
            "number of group-size steps where the mean min KL does not decrease",
            increases as f64,
            0.0,
        ));
        report.tables.insert(
            "min_kl_vs_group_size".into(),
            Table::from_named_records(&rows)?,
        );
        report.series.insert(
            "ours".into(),
            Series {
                x: xs,
                y: ys,
                y_err: (cfg.seeds >= 2).then_some(ses),
            },
        );
        let mut plotted = vec!["ours".to_string()];
        if !px.is_empty() {
            report.series.insert(
                "paper".into(),
                Series {
                    x: px,
                    y: py,
                    y_err: None,
                },
            );
            plotted.push("paper".into());
        }
        report.plots.push(Plot {
            name: "min_kl_vs_group_size".into(),
            title: "AR(0.1): minimum reverse KL vs coupling group size".into(),
            x_label: "group size n".into(),
            y_label: "min_k KL_k (nats)".into(),
            series: plotted,
            log_x: true,
            log_y: true,
            scatter: false,
        });
        let mut names = Vec::new();
        for (j, kl) in curves.into_iter().enumerate() {
            let name = format!("KL, n = {}", cfg.group_sizes[j]);
            let x = (0..kl.len()).map(|k| k as f64).collect();
            report.series.insert(
                name.clone(),
                Series {
                    x,
                    y: kl,
                    y_err: None,
                },
            );
            names.push(name);
        }
        report.plots.push(Plot {
            name: "kl_curves".into(),
            title: "AR(0.1): reverse KL vs step for each group size (first seed)".into(),
            x_label: "step k".into(),
            y_label: "KL_k (nats)".into(),
            series: names,
            log_x: false,
            log_y: true,
            scatter: false,
        });
        Ok(())
    }
}
