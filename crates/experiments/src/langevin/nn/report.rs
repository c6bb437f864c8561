//! The report of `mfld-nn`: notes, per-run summaries with their series, checks, tables
//! and plots.

use meanfield_diagnostics as diag;
use meanfield_energy::Functional;
use meanfield_measures::Ensemble;
use serde::Serialize;

use super::MfldNnConfig;
use super::run::{Problem, Trace};
use crate::report::{Check, Plot, Series, Table};
use crate::{ExperimentError, Report};

/// Reference line of the stabilisation plot.
const DIFFUSION_SERIES: &str = "diffusion length √(2λΔη) of one free particle (MFLD η)";

/// A row of the table `training`: one run.
#[derive(Serialize)]
struct TrainingRow {
    run: &'static str,
    #[serde(rename = "η")]
    eta: f64,
    #[serde(rename = "initial train loss")]
    initial_train: f64,
    #[serde(rename = "final train loss")]
    final_train: f64,
    #[serde(rename = "final test loss")]
    final_test: f64,
    #[serde(rename = "test / train")]
    test_over_train: f64,
    #[serde(rename = "max |θ| (all steps)")]
    max_abs: f64,
    #[serde(rename = "particle-steps not strictly inside [−B, B]⁴")]
    outside_open: u64,
    #[serde(rename = "particles on a face at the end")]
    on_faces_end: usize,
}

/// A row of the table `stabilisation`: one run.
#[derive(Serialize)]
struct StabilisationRow {
    run: &'static str,
    #[serde(rename = "SW₂ first window")]
    sw_first: f64,
    #[serde(rename = "SW₂ last window")]
    sw_last: f64,
    #[serde(rename = "last / first")]
    last_over_first: f64,
    #[serde(rename = "SW₂(μ_0, μ_K)")]
    sw_total: f64,
    #[serde(rename = "diffusion length √(2λΔη)")]
    diffusion_length: f64,
    #[serde(rename = "max |Δ mean| last window")]
    mean_change_last: f64,
    #[serde(rename = "|Δ E|θ|²| last window")]
    second_change_last: f64,
}

/// The row of the table `data`.
#[derive(Serialize)]
struct DataRow {
    #[serde(rename = "train points")]
    train_points: usize,
    #[serde(rename = "test points")]
    test_points: usize,
    #[serde(rename = "mean y")]
    mean_y: f64,
    #[serde(rename = "Var(y)")]
    var_y: f64,
    #[serde(rename = "Var(y)/2")]
    half_var_y: f64,
    #[serde(rename = "noise floor σ²/2")]
    noise_floor: f64,
}

/// Sliced W₂ between consecutive snapshots: (window start step, SW₂).
fn window_distances(
    tr: &Trace,
    projections: usize,
    seed: u64,
) -> Result<Vec<(f64, f64)>, ExperimentError> {
    tr.snapshots
        .windows(2)
        .map(|w| {
            Ok((
                w[0].0 as f64,
                diag::sliced_w2(&w[0].1, &w[1].1, projections, seed)?,
            ))
        })
        .collect()
}

/// Largest change of a coordinate of the mean and of E|θ|² between two ensembles.
fn moment_changes(a: &Ensemble, b: &Ensemble) -> (f64, f64) {
    let (ma, mb) = (a.mean(), b.mean());
    let dm = ma
        .iter()
        .zip(&mb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let second = |e: &Ensemble| -> f64 {
        e.rows()
            .enumerate()
            .map(|(i, r)| e.weight(i) * r.iter().map(|v| v * v).sum::<f64>())
            .sum()
    };
    (dm, (second(a) - second(b)).abs())
}

/// One run's headline numbers.
struct Summary {
    label: &'static str,
    key: &'static str,
    eta: f64,
    init_train: f64,
    final_train: f64,
    final_test: f64,
    sw_first: f64,
    sw_last: f64,
    sw_total: f64,
    /// √(2λΔη_eff): how far one free particle diffuses in a window.
    diffusion_length: f64,
    mean_change_last: f64,
    second_change_last: f64,
}

/// Notes, summaries (with their series), checks, tables and plots of the three runs.
pub(super) fn fill(
    cfg: &MfldNnConfig,
    seed: u64,
    problem: &Problem,
    traces: &[Trace; 3],
    report: &mut Report,
) -> Result<(), ExperimentError> {
    push_setting_notes(cfg, problem, report);
    let summaries = summarise(cfg, seed, traces, report)?;
    push_checks(cfg, problem, &summaries, traces, report);
    push_tables(cfg, problem, &summaries, traces, report)?;
    push_plots(cfg, &summaries, report);
    let f_final = problem
        .net
        .value(&traces[0].final_state)
        .map_err(|e| ExperimentError::Config(e.to_string()))?;
    report.notes.push(format!(
        "Final MFLD energy F(μ_N) = {f_final:.4e} (loss {:.4e} + L2 term).",
        summaries[0].final_train
    ));
    Ok(())
}

/// The notes on data, student, runs and the stabilisation criterion.
fn push_setting_notes(cfg: &MfldNnConfig, problem: &Problem, report: &mut Report) {
    let b = cfg.box_bound;
    let Problem {
        y_mean,
        y_var,
        noise_floor,
        clamp,
        clamped,
        ..
    } = problem;
    report.notes.push(format!(
        "Data: M = {} train and {} held-out test points, z = (z₁, z₂, 1) with (z₁, z₂) \
         uniform on [−1, 1]², y = f*(z) + σε with σ = {} and the mean-field teacher \
         f*(z) = ⅓[2.5 tanh(2z₁ + 0.5) − 2 tanh(2z₂ − 0.5) + 2 tanh(1.5z₁ − 1.5z₂)], all drawn \
         from the seed. Train targets: mean {:.3}, variance {:.3}; noise floor of the loss \
         σ²/2 = {:.2e}.",
        cfg.n_train, cfg.n_test, cfg.noise_std, y_mean, y_var, noise_floor
    ));
    report.notes.push(format!(
        "Student: width N = {} network f_μ(z) = E_μ[a tanh(w·z)], θ = (a, w) ∈ R⁴, \
         F(μ) = (1/2M)Σ(f_μ(z_j) − y_j)² + (ρ/2)E|θ|² with ρ = {}, plus λ Ent with λ = {}. \
         Initial particles N(0, {}² I), coordinates clamped to ±{:.2} ({} of {} particles \
         touched) so that all three runs start from the same ensemble inside the box.",
        cfg.n_particles, cfg.l2, cfg.lambda, cfg.init_std, clamp, clamped, cfg.n_particles
    ));
    report.notes.push(format!(
        "Runs ({} steps each): MFLD on R⁴ with η = {}; mirror MFLD (log-barrier map of \
         [−{b}, {b}]⁴) with dual step η_m = {:.4} (= 2η/B² matches the MFLD step at the box \
         centre, where ∇²φ = 2/B²; the metric grows towards the faces, so steps shrink there); \
         projected MFLD on the same box with η = {}. Step size: with the quick settings and \
         the default seed, MFLD reached the same final loss with η = 0.5 and 1, while η = 2 \
         stalled at ≈ 5× the noise floor (Euler instability); the default η = 0.25 keeps a \
         factor ≥ 4 of margin.",
        cfg.steps, cfg.eta, cfg.mirror_eta, cfg.eta
    ));
    report.notes.push(format!(
        "Stabilisation: sliced W₂ ({} directions) between the ensembles Δ = {} steps apart. \
         After the first window the per-window SW₂ plateaus at the level of the thermal \
         jitter of N particles at temperature λ (compare the diffusion length √(2λΔη) of one \
         free particle per window) plus the slow relaxation of the L2 term (time scale \
         1/ρ = {}). The checks require the last window to move \
         < 10 % of the first and less than one diffusion length; they do not claim that \
         μ_N reached the stationary law of MFLD.",
        cfg.sliced_projections,
        cfg.stability_lag,
        if cfg.l2 > 0.0 {
            format!(
                "{:.0}, i.e. {:.0} MFLD steps",
                1.0 / cfg.l2,
                1.0 / (cfg.l2 * cfg.eta)
            )
        } else {
            "∞ with ρ = 0".to_string()
        }
    ));
}

/// The headline numbers of each run, in run order; also inserts their loss and SW₂
/// series.
fn summarise(
    cfg: &MfldNnConfig,
    seed: u64,
    traces: &[Trace; 3],
    report: &mut Report,
) -> Result<Vec<Summary>, ExperimentError> {
    let b = cfg.box_bound;
    let [free, mirror, projected] = traces;
    let sw_seed = seed ^ 0x5357_324e_4e00;
    // (trace, label, key, step, primal-equivalent step at the box centre)
    let variants: [(&Trace, &'static str, &'static str, f64, f64); 3] = [
        (free, "MFLD (R⁴)", "mfld", cfg.eta, cfg.eta),
        (
            mirror,
            "mirror MFLD (log-barrier box)",
            "mirror",
            cfg.mirror_eta,
            0.5 * cfg.mirror_eta * b * b,
        ),
        (
            projected,
            "projected MFLD (box)",
            "projected",
            cfg.eta,
            cfg.eta,
        ),
    ];
    let mut summaries = Vec::new();
    for (tr, label, key, eta, eta_eff) in variants {
        let sw = window_distances(tr, cfg.sliced_projections, sw_seed)?;
        let first_snap = &tr.snapshots[0].1;
        let n_snap = tr.snapshots.len();
        let (last_a, last_b) = (&tr.snapshots[n_snap - 2].1, &tr.snapshots[n_snap - 1].1);
        let (dm, ds) = moment_changes(last_a, last_b);
        let s = Summary {
            label,
            key,
            eta,
            init_train: tr.train[0],
            final_train: *tr.train.last().unwrap_or(&f64::NAN),
            final_test: *tr.test.last().unwrap_or(&f64::NAN),
            sw_first: sw.first().map_or(f64::NAN, |w| w.1),
            sw_last: sw.last().map_or(f64::NAN, |w| w.1),
            sw_total: diag::sliced_w2(
                first_snap,
                &tr.final_state,
                cfg.sliced_projections,
                sw_seed,
            )?,
            diffusion_length: (2.0 * cfg.lambda * cfg.stability_lag as f64 * eta_eff).sqrt(),
            mean_change_last: dm,
            second_change_last: ds,
        };
        report.series.insert(
            format!("train loss: {label}"),
            Series {
                x: tr.steps.clone(),
                y: tr.train.clone(),
                y_err: None,
            },
        );
        report.series.insert(
            format!("test loss: {label}"),
            Series {
                x: tr.steps.clone(),
                y: tr.test.clone(),
                y_err: None,
            },
        );
        report.series.insert(
            format!("SW2 per window: {label}"),
            Series {
                x: sw.iter().map(|w| w.0).collect(),
                y: sw.iter().map(|w| w.1).collect(),
                y_err: None,
            },
        );
        summaries.push(s);
    }
    Ok(summaries)
}

/// The checks of every run (fit, generalisation, stabilisation) and of the box
/// constraints.
fn push_checks(
    cfg: &MfldNnConfig,
    problem: &Problem,
    summaries: &[Summary],
    traces: &[Trace; 3],
    report: &mut Report,
) {
    let (b, noise_floor) = (cfg.box_bound, problem.noise_floor);
    let [_, mirror, projected] = traces;
    for s in summaries {
        report.checks.push(Check::at_most(
            format!("{}: final / initial train loss", s.label),
            s.final_train / s.init_train,
            0.2,
        ));
        report.checks.push(Check::at_most(
            format!("{}: final train loss / noise floor σ²/2", s.label),
            s.final_train / noise_floor,
            2.0,
        ));
        report.checks.push(Check::at_most(
            format!("{}: final test / train loss", s.label),
            s.final_test / s.final_train,
            2.0,
        ));
        report.checks.push(Check::at_most(
            format!("{}: SW₂ last window / first window", s.label),
            s.sw_last / s.sw_first,
            0.1,
        ));
        report.checks.push(Check::at_most(
            format!("{}: SW₂ last window / diffusion length √(2λΔη)", s.label),
            s.sw_last / s.diffusion_length,
            1.0,
        ));
    }
    report.checks.push(
        Check::at_most(
            "mirror MFLD: particle-steps not strictly inside the box",
            mirror.outside_open as f64,
            0.0,
        )
        .exact(),
    );
    report.checks.push(
        Check::at_most(
            "mirror MFLD: max |θ| over all iterates / B (< 1)",
            mirror.max_abs / b,
            1.0,
        )
        .exact(),
    );
    report.checks.push(
        Check::at_most(
            "projected MFLD: particle-steps outside the closed box",
            projected.outside_closed as f64,
            0.0,
        )
        .exact(),
    );
}

/// The tables `training`, `stabilisation` and `data`.
fn push_tables(
    cfg: &MfldNnConfig,
    problem: &Problem,
    summaries: &[Summary],
    traces: &[Trace; 3],
    report: &mut Report,
) -> Result<(), ExperimentError> {
    let training: Vec<TrainingRow> = summaries
        .iter()
        .zip(traces)
        .map(|(s, tr)| TrainingRow {
            run: s.label,
            eta: s.eta,
            initial_train: s.init_train,
            final_train: s.final_train,
            final_test: s.final_test,
            test_over_train: s.final_test / s.final_train,
            max_abs: tr.max_abs,
            outside_open: tr.outside_open,
            on_faces_end: tr.on_faces_end,
        })
        .collect();
    report
        .tables
        .insert("training".into(), Table::from_named_records(&training)?);
    let stabilisation: Vec<StabilisationRow> = summaries
        .iter()
        .map(|s| StabilisationRow {
            run: s.label,
            sw_first: s.sw_first,
            sw_last: s.sw_last,
            last_over_first: s.sw_last / s.sw_first,
            sw_total: s.sw_total,
            diffusion_length: s.diffusion_length,
            mean_change_last: s.mean_change_last,
            second_change_last: s.second_change_last,
        })
        .collect();
    report.tables.insert(
        "stabilisation".into(),
        Table::from_named_records(&stabilisation)?,
    );
    let data = DataRow {
        train_points: cfg.n_train,
        test_points: cfg.n_test,
        mean_y: problem.y_mean,
        var_y: problem.y_var,
        half_var_y: 0.5 * problem.y_var,
        noise_floor: problem.noise_floor,
    };
    report
        .tables
        .insert("data".into(), Table::from_named_records(&[data])?);
    Ok(())
}

/// The loss and stabilisation plots (and the diffusion-length reference series).
fn push_plots(cfg: &MfldNnConfig, summaries: &[Summary], report: &mut Report) {
    let label_of = |k: &str| {
        summaries
            .iter()
            .find(|s| s.key == k)
            .map_or("", |s| s.label)
    };
    report.plots.push(Plot {
        name: "loss".into(),
        title: format!("Training loss, width N = {}", cfg.n_particles),
        x_label: "step".into(),
        y_label: "loss (1/2M) Σ (f − y)²".into(),
        series: vec![
            format!("train loss: {}", label_of("mfld")),
            format!("test loss: {}", label_of("mfld")),
            format!("train loss: {}", label_of("mirror")),
            format!("train loss: {}", label_of("projected")),
        ],
        log_x: false,
        log_y: true,
        scatter: false,
    });
    let window_starts = report
        .series
        .get(&format!("SW2 per window: {}", summaries[0].label))
        .map(|s| s.x.clone())
        .unwrap_or_default();
    let diffusion = summaries[0].diffusion_length;
    report.series.insert(
        DIFFUSION_SERIES.into(),
        Series {
            y: vec![diffusion; window_starts.len()],
            x: window_starts,
            y_err: None,
        },
    );
    report.plots.push(Plot {
        name: "stabilisation".into(),
        title: format!(
            "Law movement per window: SW₂(μ_k, μ_k+Δ), Δ = {}",
            cfg.stability_lag
        ),
        x_label: "window start step k".into(),
        y_label: "sliced W₂".into(),
        series: summaries
            .iter()
            .map(|s| format!("SW2 per window: {}", s.label))
            .chain([DIFFUSION_SERIES.to_string()])
            .collect(),
        log_x: false,
        log_y: true,
        scatter: false,
    });
}
