//! `polar-cbo`: polarised CBO finds several global minimisers in one run — Himmelblau's
//! four — beside CBXpy 1.0.4's `PolarCBO` on the same protocol.
//!
//! Protocol: d = 2, N = 100, X₀ ~ U[−5, 5]², Gaussian kernel κ = 0.5 with exponent s = 1
//! (the paper's kernel; CBXpy `kernel_factor_mode = 'const'`), α = 10 constant, λ = 1,
//! σ = 1, anisotropic noise, dt = 0.01, 500 steps. The final consensus points c_i are
//! clustered ([`cluster_points`]: greedy by ascending f within radius 0.25, clusters of at
//! least 5 % of the points kept); a minimiser is *found* when a kept cluster centre lies
//! within 0.1 of it, and a run *succeeds* when all four are found. CBXpy's rate was
//! measured with `benches/peers/polar_cbxpy_success.py` (same protocol, same clustering
//! rule; raw output `benches/peers/polar_cbxpy_rates.jsonl`); the rates are compared with
//! the pooled two-proportion test at the 1 % level, as in `cbo-benchmark`.
//!
//! Control: the same runs with κ = 10⁶ (plain CBO up to round-off) must find exactly one
//! minimiser in every run — the kernel, not the clustering, is what finds the others.

use meanfield_energy::{Himmelblau, Objective, RastriginWells};
use meanfield_integrators::cbo::{
    CboNoise, CboParams, KernelScale, PolarCbo, PolarCboParams, cluster_points, uniform_ensemble,
};
use meanfield_integrators::run_many;
use meanfield_measures::{Parallelism, replicate_seed};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::benchmark::{two_proportion_tolerance, wilson_interval};
use super::variants::rate_check;
use crate::report::{Check, Plot, Series, Table};
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};

/// CBXpy's measured successes (runs that found all the minimisers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolarReference {
    /// Runs that found all the minimisers.
    pub successes: usize,
    /// Runs.
    pub runs: usize,
    /// Runs that found 0, 1, …, m of the m minimisers.
    pub histogram: Vec<usize>,
}

impl PolarReference {
    /// Consistent with `minimisers` minimisers: successes ≤ runs, m + 1 histogram bins that
    /// sum to the runs, the last one the successes.
    fn check(&self, minimisers: usize, what: &str) -> Result<(), ExperimentError> {
        let ok = self.runs > 0
            && self.histogram.len() == minimisers + 1
            && self.histogram.iter().sum::<usize>() == self.runs
            && self.histogram[minimisers] == self.successes;
        if ok {
            Ok(())
        } else {
            Err(ExperimentError::Config(format!(
                "{what} reference: {} successes of {} runs with histogram {:?} is inconsistent \
                 with {minimisers} minimisers",
                self.successes, self.runs, self.histogram
            )))
        }
    }
}

/// The second case: the Rastrigin with shifted wells f = Π_i V(x − z_i), whose global
/// minimisers are the shifts z_i (N, λ, dt and the clustering rule as the Himmelblau case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolarWellsCase {
    /// The wells z_i (points of R²).
    pub shifts: Vec<[f64; 2]>,
    /// Steps per run.
    pub steps: u64,
    /// Kernel width κ.
    pub kappa: f64,
    /// Inverse temperature α (constant).
    pub alpha: f64,
    /// Noise σ (anisotropic).
    pub sigma: f64,
    /// Initial law U[−init_box, init_box]².
    pub init_box: f64,
    /// CBXpy's measured rate on this case (`None`: reported, not checked).
    pub reference: Option<PolarReference>,
}

/// Parameters (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolarCboConfig {
    /// Particles N.
    pub n: usize,
    /// Independent runs.
    pub runs: usize,
    /// Steps per run.
    pub steps: u64,
    /// Kernel width κ.
    pub kappa: f64,
    /// Inverse temperature α (constant).
    pub alpha: f64,
    /// Drift λ.
    pub lambda: f64,
    /// Noise σ (anisotropic).
    pub sigma: f64,
    /// Time step dt.
    pub dt: f64,
    /// Initial law U[−init_box, init_box]².
    pub init_box: f64,
    /// Clustering radius.
    pub cluster_radius: f64,
    /// Smallest kept cluster, as a fraction of N.
    pub min_fraction: f64,
    /// A minimiser is found when a kept cluster centre is this close (Euclidean).
    pub match_tol: f64,
    /// κ of the plain-CBO control (huge: the kernel is flat).
    pub control_kappa: f64,
    /// CBXpy's measured rate on this protocol (`None`: reported, not checked).
    pub reference: Option<PolarReference>,
    /// The shifted-wells Rastrigin case (`None`: Himmelblau only).
    pub wells: Option<PolarWellsCase>,
}

impl ExperimentConfig for PolarCboConfig {
    /// The protocol with 100 runs, or `--quick` with 24.
    fn defaults(quick: bool) -> Self {
        Self {
            n: 100,
            runs: if quick { 24 } else { 100 },
            steps: 500,
            kappa: 0.5,
            alpha: 10.0,
            lambda: 1.0,
            sigma: 1.0,
            dt: 0.01,
            init_box: 5.0,
            cluster_radius: 0.25,
            min_fraction: 0.05,
            match_tol: 0.1,
            control_kappa: 1e6,
            // benches/peers/polar_cbxpy_success.py, 100 runs (polar_cbxpy_rates.jsonl).
            reference: Some(PolarReference {
                successes: 76,
                runs: 100,
                histogram: vec![0, 0, 2, 22, 76],
            }),
            wells: Some(PolarWellsCase {
                shifts: RASTRIGIN_WELLS.to_vec(),
                steps: 500,
                kappa: 0.5,
                // f is a product of three Rastrigins: values near a well are its V times
                // the other two factors there (≈ 10³), so α = 10 makes one well win every
                // kernel; α = 0.01 keeps α f comparable to the kernel's |x − y|²/(2κ²)
                // (search: docs/cbo.md §9).
                alpha: 0.01,
                sigma: 1.0,
                init_box: 5.0,
                // benches/peers/polar_cbxpy_success.py --function wells, 100 runs
                // (polar_cbxpy_rates.jsonl).
                reference: Some(PolarReference {
                    successes: 66,
                    runs: 100,
                    histogram: vec![0, 4, 30, 66],
                }),
            }),
        }
    }

    /// Buffers sized by the configuration (checked before the run): the ensemble on R².
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![("ensemble (n × 2)", vec![self.n, 2])]
    }

    /// Rejects settings the run cannot use.
    fn validate(&self) -> Result<(), ExperimentError> {
        if self.n == 0 || self.runs == 0 || self.steps == 0 {
            return Err(ExperimentError::Config(
                "need n ≥ 1, runs ≥ 1 and steps ≥ 1 (a run needs consensus points)".into(),
            ));
        }
        // λ, σ, dt, α, κ and the control's κ: the integrator's own checks, before any run.
        for kappa in [self.kappa, self.control_kappa] {
            CboParams::new(self.lambda, self.sigma, self.dt)
                .and_then(|c| c.with_alpha(self.alpha))
                .and_then(|c| PolarCboParams::new(c, kappa))
                .map_err(|e| ExperimentError::Config(e.to_string()))?;
        }
        let radius_ok = self.cluster_radius > 0.0 && self.cluster_radius.is_finite();
        if !(radius_ok && (0.0..=1.0).contains(&self.min_fraction)) {
            return Err(ExperimentError::Config(format!(
                "cluster_radius = {} must be finite and > 0, min_fraction = {} in [0, 1]",
                self.cluster_radius, self.min_fraction
            )));
        }
        if let Some(r) = &self.reference {
            r.check(4, "Himmelblau")?;
        }
        if let Some(w) = &self.wells {
            if w.steps == 0 || !(w.init_box > 0.0 && w.init_box.is_finite()) {
                return Err(ExperimentError::Config(format!(
                    "wells: steps = {} must be ≥ 1 and init_box = {} finite and > 0",
                    w.steps, w.init_box
                )));
            }
            RastriginWells::new(&w.shifts.iter().map(|z| z.to_vec()).collect::<Vec<_>>())
                .map_err(|e| ExperimentError::Config(format!("wells: {e}")))?;
            CboParams::new(self.lambda, w.sigma, self.dt)
                .and_then(|c| c.with_alpha(w.alpha))
                .and_then(|c| PolarCboParams::new(c, w.kappa))
                .map_err(|e| ExperimentError::Config(format!("wells: {e}")))?;
            if let Some(r) = &w.reference {
                r.check(w.shifts.len(), "wells")?;
            }
        }
        if !(self.match_tol > 0.0 && self.match_tol.is_finite()) {
            return Err(ExperimentError::Config(format!(
                "match_tol = {} must be finite and > 0",
                self.match_tol
            )));
        }
        Ok(())
    }
}

/// The wells of the default shifted-wells Rastrigin: three global minimisers at mutual
/// distances 4.5–5.1, none on the integer lattice of the others' local minima.
const RASTRIGIN_WELLS: [[f64; 2]; 3] = [[-2.0, -2.0], [2.5, 0.5], [-0.5, 3.0]];

/// The settings of one polarised-CBO case.
#[derive(Clone, Copy)]
struct Setting {
    kappa: f64,
    alpha: f64,
    sigma: f64,
    steps: u64,
    init_box: f64,
}

/// What one run found.
struct RunResult {
    /// Which of the minimisers were found.
    found: Vec<bool>,
    /// Kept clusters that are none of the minimisers.
    spurious: usize,
    /// Kept cluster centres.
    centres: Vec<Vec<f64>>,
}

/// Runs that found 0, 1, …, m of the m minimisers.
fn histogram(res: &[RunResult], m: usize) -> Vec<usize> {
    let mut hist = vec![0usize; m + 1];
    for r in res {
        hist[r.found.iter().filter(|&&f| f).count()] += 1;
    }
    hist
}

/// A row of the table `runs`.
#[derive(Serialize)]
struct RateRow {
    method: &'static str,
    kappa: f64,
    successes: usize,
    runs: usize,
    rate: f64,
    lo: f64,
    hi: f64,
    found_0: usize,
    found_1: usize,
    found_2: usize,
    found_3: usize,
    found_4: usize,
    /// Not recorded for CBXpy.
    spurious_clusters: Option<usize>,
}

/// The experiment.
pub struct PolarCboExperiment;

/// Points on the level sets f = c of a function on R² (linear interpolation of the sign
/// changes of f − c along the edges of a grid on [−half, half]²), for the contour backdrop
/// of the plots.
fn contour_points(f: &impl Objective, levels: &[f64], half: f64, cells: usize) -> Series {
    let h = 2.0 * half / cells as f64;
    let at = |i: usize| -half + h * i as f64;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for &c in levels {
        for i in 0..=cells {
            for j in 0..=cells {
                let (px, py) = (at(i), at(j));
                let g0 = f.value(&[px, py]) - c;
                if i < cells {
                    let g1 = f.value(&[at(i + 1), py]) - c;
                    if g0 * g1 < 0.0 {
                        x.push(px + h * g0 / (g0 - g1));
                        y.push(py);
                    }
                }
                if j < cells {
                    let g1 = f.value(&[px, at(j + 1)]) - c;
                    if g0 * g1 < 0.0 {
                        x.push(px);
                        y.push(py + h * g0 / (g0 - g1));
                    }
                }
            }
        }
    }
    Series { x, y, y_err: None }
}

/// The cluster centres of every run, as a scatter series.
fn centres_series(res: &[RunResult]) -> Series {
    Series {
        x: res
            .iter()
            .flat_map(|r| r.centres.iter().map(|c| c[0]))
            .collect(),
        y: res
            .iter()
            .flat_map(|r| r.centres.iter().map(|c| c[1]))
            .collect(),
        y_err: None,
    }
}

/// Points as a scatter series.
fn points_series(points: &[Vec<f64>]) -> Series {
    Series {
        x: points.iter().map(|m| m[0]).collect(),
        y: points.iter().map(|m| m[1]).collect(),
        y_err: None,
    }
}

impl PolarCboExperiment {
    /// `cfg.runs` runs of polarised CBO on `f` (on R²) with the setting `s`; the found
    /// minimisers are scored against `minima`.
    fn runs<O: Objective + Clone>(
        cfg: &PolarCboConfig,
        f: &O,
        minima: &[Vec<f64>],
        s: Setting,
        seed: u64,
    ) -> Result<Vec<RunResult>, ExperimentError> {
        let cbo = CboParams::new(cfg.lambda, s.sigma, cfg.dt)?
            .with_alpha(s.alpha)?
            .with_noise(CboNoise::Anisotropic);
        let params = PolarCboParams::new(cbo, s.kappa)?.with_kernel_scale(KernelScale::Constant);
        let min_size = ((cfg.min_fraction * cfg.n as f64).ceil() as usize).max(1);
        let results = run_many(
            cfg.runs,
            seed,
            Parallelism::Rayon,
            |r| {
                Ok((
                    PolarCbo::new(f.clone(), params)?,
                    uniform_ensemble(
                        cfg.n,
                        2,
                        -s.init_box,
                        s.init_box,
                        replicate_seed(seed, 0, r as u64),
                    )?,
                ))
            },
            |_, polar, checkpoint| {
                polar.run_to(checkpoint, s.steps)?;
                let clusters =
                    cluster_points(f, &checkpoint.state.points, 2, cfg.cluster_radius, min_size)?;
                let near = |c: &[f64], m: &[f64]| (c[0] - m[0]).hypot(c[1] - m[1]) < cfg.match_tol;
                let found = minima
                    .iter()
                    .map(|m| clusters.iter().any(|c| near(&c.centre, m)))
                    .collect();
                let spurious = clusters
                    .iter()
                    .filter(|c| !minima.iter().any(|m| near(&c.centre, m)))
                    .count();
                Ok(RunResult {
                    found,
                    spurious,
                    centres: clusters.into_iter().map(|c| c.centre).collect(),
                })
            },
        )?;
        Ok(results)
    }

    /// The shifted-wells Rastrigin case: its table `wells`, its check against CBXpy and
    /// its plot.
    fn wells_case(
        cfg: &PolarCboConfig,
        w: &PolarWellsCase,
        seed: u64,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let shifts: Vec<Vec<f64>> = w.shifts.iter().map(|z| z.to_vec()).collect();
        let f = RastriginWells::new(&shifts)?;
        let m = shifts.len();
        let setting = Setting {
            kappa: w.kappa,
            alpha: w.alpha,
            sigma: w.sigma,
            steps: w.steps,
            init_box: w.init_box,
        };
        let res = Self::runs(cfg, &f, &shifts, setting, seed)?;
        let hist = histogram(&res, m);
        let (ok, runs) = (hist[m], res.len());
        let mut columns = vec![
            "method".to_string(),
            "successes".into(),
            "runs".into(),
            "rate".into(),
            "Wilson 95% lo".into(),
            "Wilson 95% hi".into(),
        ];
        columns.extend((0..=m).map(|k| format!("runs finding {k}")));
        columns.push("spurious clusters".into());
        let mut table = Table::new(columns);
        let row = |method: &str, ok: usize, runs: usize, hist: &[usize], spurious| {
            let (lo, hi) = wilson_interval(ok, runs, 1.96);
            let mut row = vec![
                json!(method),
                json!(ok),
                json!(runs),
                json!(ok as f64 / runs as f64),
                json!(lo),
                json!(hi),
            ];
            row.extend(hist.iter().map(|h| json!(h)));
            row.push(json!(spurious));
            row
        };
        let spurious: usize = res.iter().map(|r| r.spurious).sum();
        table.push_row(row("polarised CBO (ours)", ok, runs, &hist, Some(spurious)));
        if let Some(r) = &w.reference {
            table.push_row(row(
                "CBXpy 1.0.4 PolarCBO",
                r.successes,
                r.runs,
                &r.histogram,
                None,
            ));
            report.checks.push(rate_check(
                "shifted-wells Rastrigin, runs finding all wells (PolarCBO)",
                ok,
                runs,
                r.successes,
                r.runs,
            ));
        }
        report.tables.insert("wells".into(), table);
        let contour = "f = 10², 10³, 10⁴, 10⁵ (contour, wells)";
        report.series.insert(
            contour.into(),
            contour_points(&f, &[1e2, 1e3, 1e4, 1e5], w.init_box, 200),
        );
        let found = "found minimisers (polarised CBO, wells, all runs)";
        report.series.insert(found.into(), centres_series(&res));
        report
            .series
            .insert("wells z_i".into(), points_series(&shifts));
        report.plots.push(Plot {
            name: "wells-minimisers".into(),
            title: "Rastrigin with shifted wells: cluster centres of the final consensus points"
                .into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![contour.into(), found.into(), "wells z_i".into()],
            log_x: false,
            log_y: false,
            scatter: true,
        });
        Ok(())
    }
}

impl ConfiguredExperiment for PolarCboExperiment {
    type Config = PolarCboConfig;
    const NAME: &'static str = "polar-cbo";
    const DESCRIPTION: &'static str = "Polarised CBO finds all four minimisers of Himmelblau's function and the wells of a shifted-wells Rastrigin in one run, beside CBXpy 1.0.4's PolarCBO";

    fn execute(
        &self,
        cfg: PolarCboConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        report.notes.push(format!(
            "Himmelblau, N = {}, X₀ ~ U[−{b}, {b}]², Gaussian kernel κ = {} (exponent 1), α = {} \
             constant, λ = {}, σ = {} anisotropic, dt = {}, {} steps, {} runs. Consensus points \
             clustered (radius {}, clusters ≥ {} % of N kept); a minimiser is found when a \
             cluster centre is within {} of it; success = all four found. Control: κ = {:e}.",
            cfg.n,
            cfg.kappa,
            cfg.alpha,
            cfg.lambda,
            cfg.sigma,
            cfg.dt,
            cfg.steps,
            cfg.runs,
            cfg.cluster_radius,
            100.0 * cfg.min_fraction,
            cfg.match_tol,
            cfg.control_kappa,
            b = cfg.init_box,
        ));
        let minima: Vec<Vec<f64>> = Himmelblau.minimisers().iter().map(|m| m.to_vec()).collect();
        let setting = |kappa| Setting {
            kappa,
            alpha: cfg.alpha,
            sigma: cfg.sigma,
            steps: cfg.steps,
            init_box: cfg.init_box,
        };
        (ctx.progress)(0.0, "polarised CBO");
        let polar = Self::runs(&cfg, &Himmelblau, &minima, setting(cfg.kappa), ctx.seed)?;
        (ctx.progress)(0.4, "plain-CBO control");
        let control = Self::runs(
            &cfg,
            &Himmelblau,
            &minima,
            setting(cfg.control_kappa),
            ctx.seed,
        )?;

        let mut table = Table::new([
            "method",
            "κ",
            "successes",
            "runs",
            "rate",
            "Wilson 95% lo",
            "Wilson 95% hi",
            "runs finding 0",
            "1",
            "2",
            "3",
            "4",
            "spurious clusters",
        ]);
        let row = |method: &'static str, kappa: f64, res: &[RunResult]| {
            let hist = histogram(res, 4);
            let (lo, hi) = wilson_interval(hist[4], res.len(), 1.96);
            RateRow {
                method,
                kappa,
                successes: hist[4],
                runs: res.len(),
                rate: hist[4] as f64 / res.len() as f64,
                lo,
                hi,
                found_0: hist[0],
                found_1: hist[1],
                found_2: hist[2],
                found_3: hist[3],
                found_4: hist[4],
                spurious_clusters: Some(res.iter().map(|r| r.spurious).sum()),
            }
        };
        let ours = row("polarised CBO (ours)", cfg.kappa, &polar);
        let plain = row("plain-CBO control (ours)", cfg.control_kappa, &control);
        if let Some(r) = &cfg.reference {
            let p = r.successes as f64 / r.runs as f64;
            let (lo, hi) = wilson_interval(r.successes, r.runs, 1.96);
            report.checks.push(Check::within(
                "all four minimisers: success rate vs CBXpy PolarCBO (two-proportion test, 1%)",
                ours.rate,
                p,
                two_proportion_tolerance(ours.successes, ours.runs, r.successes, r.runs, 2.576),
            ));
            table.push_record(&RateRow {
                method: "CBXpy 1.0.4 PolarCBO",
                kappa: cfg.kappa,
                successes: r.successes,
                runs: r.runs,
                rate: p,
                lo,
                hi,
                found_0: r.histogram[0],
                found_1: r.histogram[1],
                found_2: r.histogram[2],
                found_3: r.histogram[3],
                found_4: r.histogram[4],
                spurious_clusters: None,
            })?;
        }
        // Kept clusters that are none of the minimisers (consensus points still between
        // wells after the run) are reported in the table, not checked: there is no
        // reference number for them.
        // The control: a flat kernel is plain CBO, one minimiser per run.
        report.checks.push(Check::within(
            "plain-CBO control: runs finding exactly one minimiser (fraction)",
            plain.found_1 as f64 / plain.runs as f64,
            1.0,
            0.0,
        ));
        table.push_record(&ours)?;
        table.push_record(&plain)?;
        report.tables.insert("runs".into(), table);

        // The plot: contour backdrop, the cluster centres of every run, the minimisers.
        report.series.insert(
            "f = 1, 10, 50, 150, 400 (contour)".into(),
            contour_points(
                &Himmelblau,
                &[1.0, 10.0, 50.0, 150.0, 400.0],
                cfg.init_box,
                200,
            ),
        );
        report.series.insert(
            "found minimisers (polarised CBO, all runs)".into(),
            centres_series(&polar),
        );
        report.series.insert(
            "found minimiser (plain CBO, all runs)".into(),
            centres_series(&control),
        );
        report
            .series
            .insert("global minimisers".into(), points_series(&minima));
        report.plots.push(Plot {
            name: "minimisers".into(),
            title: "Himmelblau: cluster centres of the final consensus points".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![
                "f = 1, 10, 50, 150, 400 (contour)".into(),
                "found minimisers (polarised CBO, all runs)".into(),
                "found minimiser (plain CBO, all runs)".into(),
                "global minimisers".into(),
            ],
            log_x: false,
            log_y: false,
            scatter: true,
        });
        if let Some(w) = &cfg.wells {
            (ctx.progress)(0.8, "shifted-wells Rastrigin");
            Self::wells_case(&cfg, w, replicate_seed(ctx.seed, 1, 0), report)?;
        }
        Ok(())
    }
}
