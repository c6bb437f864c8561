//! `mpgd-toy`: the MPD paper's toy hierarchical model (spec `mpgd.md`, experiment 1).
//! y_j | x_j ~ N(x_j, 1), x_j | θ ~ N(θ, 1), j = 1..100, data generated with θ = 100;
//! MLE θ̂ = mean(y). From θ₀ = 0 and X ~ N(0, I) (100 particles), PGD (h_θ = 1e-4,
//! h_x = 1e-2) and MPD (same steps, η_θ = η_x = 2000, γ_θ = γ_x = γ ∈ {0.05, 0.1, 2})
//! run 2000 steps, beside ParEM's particle quasi-Newton (PQN: θ-step h_θ^PQN = 2/3, ParEM's
//! toy value, on H̄⁻¹g with H̄ = M; particles as PGD) and particle marginal gradient descent
//! (PMGD: θ = θ*(X) = mean of all particle coordinates; particles as PGD). We report θ
//! trajectories, the first step with |θ − θ̂| < 0.1, and θ at steps 500 and 2000 beside
//! the spec's NumPy reference (PGD, MPD) or the closed form (PQN, PMGD).
//!
//! **Closed form for PQN and PMGD.** With m the mean of all particle coordinates, the toy
//! model's dynamics close on (m, θ): PQN m' = m + h_x(ȳ + θ − 2m) + √(2h_x) ξ̄,
//! θ' = θ + h_θ(m − θ); PMGD θ = m, m' = m + h_x(ȳ − m) + √(2h_x) ξ̄, with ξ̄ the mean of
//! NM standard normals (variance 1/(NM)). Given the data and X₀, E θ_k is the noise-free
//! recursion from (m₀, θ₀) and Var θ_k follows from the same linear map; the checks are
//! z-tests of the seed-mean of θ_k − E θ_k against 0 with that sd/√seeds (ParEM gives
//! only figures for this model, no numbers).
//!
//! **Comparing with the reference.** The reference is one run on other data (its
//! θ̂ = 100.03). Started from θ₀ = 0 and particles of mean ≈ 0, the noise-free dynamics
//! are linear in the data with θ_k proportional to ȳ = θ̂, so the reference value scales
//! by θ̂/100.03 to our data; the tolerance is the reference's printing precision (±0.05)
//! plus 4 standard deviations of the seed-to-seed spread (ours and the reference's
//! single run, assumed equal: 4√2·sd).

use meanfield_diagnostics as diag;
use meanfield_energy::HierarchicalGaussian;
use meanfield_measures::NoiseStreams;
use meanfield_measures::{replicate_seed, streams};
use serde::{Deserialize, Serialize};

use crate::particle_em::common::{Scheme, gaussian_particles, run_recording};
use crate::report::{Check, Plot, Series, Table};
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};
use meanfield_integrators::{MpdParams, PgdParams, PmgdParams};

/// The spec's reference: θ at step 500 and 2000 per scheme, and its θ̂.
const REFERENCE_MLE: f64 = 100.03;

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MpgdToyConfig {
    /// Number of observations M (= latent dimension).
    pub n_data: usize,
    /// θ used to generate the data.
    pub theta_true: f64,
    /// Particles N.
    pub n_particles: usize,
    /// Steps K.
    pub steps: u64,
    /// θ step h_θ (both schemes).
    pub h_theta: f64,
    /// Particle step h_x (both schemes).
    pub h_x: f64,
    /// MPD masses η_θ = η_x.
    pub eta: f64,
    /// MPD dampings γ_θ = γ_x, one run each.
    pub gammas: Vec<f64>,
    /// PQN θ step on the preconditioned gradient H̄⁻¹g (ParEM's toy value 2/3); PQN and
    /// PMGD move the particles with `h_x`.
    pub pqn_h_theta: f64,
    /// Reference θ at step 500 for PGD then each γ (spec).
    pub reference_500: Vec<f64>,
    /// Reference θ at step 2000 for PGD then each γ (spec).
    pub reference_2000: Vec<f64>,
    /// "Reached" means |θ − θ̂| < this.
    pub reach_tolerance: f64,
    /// Independent seeds (data and noise) for the spread of θ at steps 500 and 2000.
    pub seeds: usize,
    /// θ is recorded every this many steps.
    pub record_every: u64,
}

impl ExperimentConfig for MpgdToyConfig {
    /// Defaults: the spec's setting; `--quick` uses fewer seeds.
    fn defaults(quick: bool) -> Self {
        Self {
            n_data: 100,
            theta_true: 100.0,
            n_particles: 100,
            steps: 2000,
            h_theta: 1e-4,
            h_x: 1e-2,
            eta: 2000.0,
            gammas: vec![0.05, 0.1, 2.0],
            pqn_h_theta: 2.0 / 3.0,
            reference_500: vec![82.7, 103.5, 100.01, 55.0],
            reference_2000: vec![99.98, 100.03, 100.03, 97.5],
            reach_tolerance: 0.1,
            seeds: if quick { 3 } else { 16 },
            record_every: 5,
        }
    }

    /// Buffers sized by the configuration (checked before the run).
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        // Each particle is a latent vector of one coordinate per datum.
        vec![(
            "latent particles (n_particles × n_data)",
            vec![self.n_particles, self.n_data],
        )]
    }

    /// Rejects settings the run cannot use.
    fn validate(&self) -> Result<(), ExperimentError> {
        let n_schemes = 1 + self.gammas.len(); // PGD, then MPD for each γ
        if self.n_data == 0
            || self.n_particles == 0
            || self.seeds < 2
            || self.steps < 500
            || self.record_every == 0
            || 500 % self.record_every != 0
            || !self.steps.is_multiple_of(self.record_every)
            || self.reference_500.len() != n_schemes
            || self.reference_2000.len() != n_schemes
        {
            return Err(ExperimentError::Config(
                "need n_data, n_particles ≥ 1, seeds ≥ 2, steps ≥ 500, record_every dividing 500 and steps, \
                 and one reference per scheme (PGD, then each γ)"
                    .into(),
            ));
        }
        self.schemes().map(|_| ())
    }
}

impl MpgdToyConfig {
    /// PGD, then MPD with each γ of `gammas`, then PQN and PMGD, named; an invalid step, mass or damping is
    /// a configuration error.
    fn schemes(&self) -> Result<Vec<(String, Scheme)>, ExperimentError> {
        let invalid =
            |e: meanfield_integrators::IntegratorError| ExperimentError::Config(e.to_string());
        let mut v = vec![(
            "PGD".to_string(),
            Scheme::Pgd(PgdParams::new(self.h_theta, self.h_x).map_err(invalid)?),
        )];
        for &g in &self.gammas {
            let params = MpdParams::new(self.h_theta, self.h_x)
                .and_then(|p| p.with_theta_momentum(self.eta, g))
                .and_then(|p| p.with_particle_momentum(self.eta, g))
                .map_err(invalid)?;
            v.push((format!("MPD γ = {g}"), Scheme::Mpd(params)));
        }
        v.push((
            "PQN".to_string(),
            Scheme::Pqn(PgdParams::new(self.pqn_h_theta, self.h_x).map_err(invalid)?),
        ));
        v.push((
            "PMGD".to_string(),
            Scheme::Pmgd(PmgdParams::new(self.h_x).map_err(invalid)?),
        ));
        Ok(v)
    }
}

/// A row of the table `θ against the reference`: one scheme over the seeds.
#[derive(Serialize)]
struct SchemeRow<'a> {
    scheme: &'a str,
    #[serde(rename = "θ̂ (seed 0)")]
    mle: f64,
    #[serde(rename = "θ@500 (seed 0)")]
    theta_500: f64,
    #[serde(rename = "θ@500 − θ̂ mean ± sd")]
    offset_500: String,
    #[serde(rename = "reference θ@500 − θ̂")]
    reference_500: f64,
    #[serde(rename = "θ@2000 − θ̂ mean ± sd")]
    offset_2000: String,
    #[serde(rename = "reference θ@2000 − θ̂")]
    reference_2000: f64,
    #[serde(rename = "first step |θ − θ̂| < tol (seed 0)")]
    first_step: String,
    #[serde(rename = "first step mean over seeds")]
    first_step_mean: String,
    #[serde(rename = "stays within tol from step (seed 0)")]
    settles: String,
}

/// The experiment.
pub struct MpgdToy;

/// One run: the θ trajectory (every `record_every` steps), θ̂ of its data and the mean
/// m₀ of the starting particles.
struct ToyRun {
    steps: Vec<f64>,
    theta: Vec<f64>,
    mle: f64,
    m0: f64,
}

/// E θ_k and sd θ_k of PQN (`h_theta = Some`) or PMGD (`None`) on the toy model at step
/// `k`, from the data mean ȳ and the starting particle mean m₀ (module docs): the
/// noise-free linear recursion and its noise covariance, propagated exactly.
fn closed_form_theta(
    cfg: &MpgdToyConfig,
    h_theta: Option<f64>,
    ybar: f64,
    m0: f64,
    k: u64,
) -> (f64, f64) {
    let h = cfg.h_x;
    let q = 2.0 * h / (cfg.n_particles * cfg.n_data) as f64;
    match h_theta {
        Some(ht) => {
            // z = (m, θ): z' = A z + (h ȳ, 0) + (√(2h) ξ̄, 0).
            let a = [[1.0 - 2.0 * h, h], [ht, 1.0 - ht]];
            let (mut m, mut t) = (m0, 0.0);
            let mut c = [[0.0; 2]; 2];
            for _ in 0..k {
                (m, t) = (m + h * (ybar + t - 2.0 * m), t + ht * (m - t));
                let mut next = [[0.0; 2]; 2];
                for (i, row) in next.iter_mut().enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        for (r, cr) in c.iter().enumerate() {
                            for (l, crl) in cr.iter().enumerate() {
                                *v += a[i][r] * crl * a[j][l];
                            }
                        }
                    }
                }
                next[0][0] += q;
                c = next;
            }
            (t, c[1][1].sqrt())
        }
        None => {
            let (mut m, mut var) = (m0, 0.0);
            for _ in 0..k {
                m += h * (ybar - m);
                var = (1.0 - h) * (1.0 - h) * var + q;
            }
            (m, var.sqrt())
        }
    }
}

fn run_once(cfg: &MpgdToyConfig, scheme: &Scheme, seed: u64) -> Result<ToyRun, ExperimentError> {
    let data = NoiseStreams::new(seed, streams::TOY_DATA);
    let (mut x, mut e) = (vec![0.0; cfg.n_data], vec![0.0; cfg.n_data]);
    data.fill_standard_normal(0, 0, &mut x);
    data.fill_standard_normal(0, 1, &mut e);
    let y: Vec<f64> = x
        .iter()
        .zip(&e)
        .map(|(x, e)| cfg.theta_true + x + e)
        .collect();
    let model = HierarchicalGaussian::new(y).map_err(|e| ExperimentError::Config(e.to_string()))?;
    let mle = model.mle();
    let particles = gaussian_particles(cfg.n_particles, cfg.n_data, 0.0, 1.0, seed)?;
    let m0 = particles.as_slice().iter().sum::<f64>() / particles.as_slice().len() as f64;
    let (mut dynamics, state) = scheme.build(model, seed, vec![0.0], particles)?;
    let (mut steps, mut theta) = (vec![], vec![]);
    run_recording(
        &mut dynamics,
        state,
        cfg.steps,
        cfg.record_every,
        |k, s| {
            steps.push(k as f64);
            theta.push(s.theta[0]);
            Ok(())
        },
        |_, _| {},
    )?;
    Ok(ToyRun {
        steps,
        theta,
        mle,
        m0,
    })
}

impl ToyRun {
    fn theta_at(&self, step: u64) -> Option<f64> {
        self.steps
            .iter()
            .position(|&s| s == step as f64)
            .map(|i| self.theta[i])
    }

    /// First recorded step after which |θ − θ̂| < tol holds to the end of the run.
    fn settles(&self, tol: f64) -> Option<f64> {
        match self.theta.iter().rposition(|t| (t - self.mle).abs() >= tol) {
            None => self.steps.first().copied(),
            Some(i) => self.steps.get(i + 1).copied(),
        }
    }

    /// First recorded step with |θ − θ̂| < tol.
    fn first_reach(&self, tol: f64) -> Option<f64> {
        self.steps
            .iter()
            .zip(&self.theta)
            .find(|(_, t)| (*t - self.mle).abs() < tol)
            .map(|(s, _)| *s)
    }
}

impl ConfiguredExperiment for MpgdToy {
    type Config = MpgdToyConfig;
    const NAME: &'static str = "mpgd-toy";
    const DESCRIPTION: &'static str = "PGD vs Momentum Particle Descent, PQN and PMGD on the toy hierarchical Gaussian model: θ trajectories, steps to the MLE";

    fn execute(
        &self,
        cfg: MpgdToyConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let schemes = cfg.schemes()?;
        report.notes.push(format!(
            "Toy model y_j ~ N(x_j, 1), x_j ~ N(θ, 1), M = {} observations generated with θ = {}; \
             θ₀ = 0, X ~ N(0, I), N = {} particles, {} steps, h_θ = {}, h_x = {}, MPD η_θ = η_x = {}. \
             References (spec, one NumPy run with θ̂ = {REFERENCE_MLE}) are rescaled by θ̂/{REFERENCE_MLE} \
             to our data (module docs); the spread is over {} seeds (data and noise). PQN (θ step {} on H̄⁻¹g) \
             and PMGD (θ = θ*(X)) move the particles with h_x; their reference column is E θ_k − θ̂ of \
             seed 0 in closed form (module docs: ParEM reports this model in figures only).",
            cfg.n_data, cfg.theta_true, cfg.n_particles, cfg.steps, cfg.h_theta, cfg.h_x, cfg.eta, cfg.seeds,
            cfg.pqn_h_theta
        ));
        let mut rows = Vec::new();
        let total = (schemes.len() * cfg.seeds) as f64;
        let mut reach = Vec::new();
        let mut series_names = Vec::new();
        for (k, (name, scheme)) in schemes.iter().enumerate() {
            let mut runs = Vec::with_capacity(cfg.seeds);
            for r in 0..cfg.seeds {
                runs.push(run_once(
                    &cfg,
                    scheme,
                    replicate_seed(ctx.seed, 0, r as u64),
                )?);
                (ctx.progress)((k * cfg.seeds + r + 1) as f64 / total, name);
            }
            let rel =
                |step: u64, reference: f64| -> Result<(f64, f64, f64, f64), ExperimentError> {
                    let offs: Vec<f64> = runs
                        .iter()
                        .map(|r| r.theta_at(step).unwrap_or(f64::NAN) - r.mle)
                        .collect();
                    let (m, var) = diag::sample_mean_var(&offs)?;
                    // Reference offset from its θ̂, rescaled to our data: ref·θ̂/100.03 − θ̂.
                    let scaled = reference / REFERENCE_MLE * runs[0].mle - runs[0].mle;
                    Ok((offs[0], m, var.sqrt(), scaled))
                };
            let end = cfg.steps.min(2000);
            let (o500, m500, sd500, ref500, m2000, sd2000, ref2000);
            if let Some((&r500, &r2000)) = cfg.reference_500.get(k).zip(cfg.reference_2000.get(k)) {
                (o500, m500, sd500, ref500) = rel(500, r500)?;
                let (_, m, sd, r) = rel(end, r2000)?;
                (m2000, sd2000, ref2000) = (m, sd, r);
                let tol500 = 0.05 + 4.0 * std::f64::consts::SQRT_2 * sd500;
                let tol2000 = 0.05 + 4.0 * std::f64::consts::SQRT_2 * sd2000;
                report.checks.push(Check::within(
                    format!("{name}: θ@500 − θ̂ vs spec reference (±0.05 + 4√2 sd)"),
                    o500,
                    ref500,
                    tol500,
                ));
                report.checks.push(Check::within(
                    format!("{name}: mean θ@2000 − θ̂ vs spec reference (±0.05 + 4√2 sd)"),
                    m2000,
                    ref2000,
                    tol2000,
                ));
            } else {
                // PQN or PMGD: E θ_k and sd θ_k in closed form, per seed (module docs).
                let h_theta = match scheme {
                    Scheme::Pqn(p) => Some(p.h_theta()),
                    _ => None,
                };
                let mut closed = |step: u64| -> Result<(f64, f64, f64, f64), ExperimentError> {
                    let mut dev = Vec::with_capacity(runs.len());
                    let mut sd = 0.0;
                    for r in &runs {
                        let (mean, s) = closed_form_theta(&cfg, h_theta, r.mle, r.m0, step);
                        dev.push(r.theta_at(step).unwrap_or(f64::NAN) - mean);
                        sd = s;
                    }
                    let dev_mean = dev.iter().sum::<f64>() / dev.len() as f64;
                    report.checks.push(Check::z_within(
                        format!("{name}: θ@{step} − E θ@{step} (closed form), mean over seeds, 4 sd/√seeds"),
                        dev_mean,
                        0.0,
                        sd / (runs.len() as f64).sqrt(),
                        4.0,
                    ));
                    let (mean0, _) =
                        closed_form_theta(&cfg, h_theta, runs[0].mle, runs[0].m0, step);
                    let (offs_mean, offs_var) = diag::sample_mean_var(
                        &runs
                            .iter()
                            .map(|r| r.theta_at(step).unwrap_or(f64::NAN) - r.mle)
                            .collect::<Vec<_>>(),
                    )?;
                    Ok((
                        runs[0].theta_at(step).unwrap_or(f64::NAN) - runs[0].mle,
                        offs_mean,
                        offs_var.sqrt(),
                        mean0 - runs[0].mle,
                    ))
                };
                (o500, m500, sd500, ref500) = closed(500)?;
                let (_, m, sd, r) = closed(end)?;
                (m2000, sd2000, ref2000) = (m, sd, r);
            }
            let first = runs[0].first_reach(cfg.reach_tolerance);
            let firsts: Vec<f64> = runs
                .iter()
                .map(|r| r.first_reach(cfg.reach_tolerance).unwrap_or(f64::NAN))
                .collect();
            let mean_first = firsts.iter().sum::<f64>() / firsts.len() as f64;
            reach.push((name.clone(), mean_first));
            rows.push(SchemeRow {
                scheme: name,
                mle: runs[0].mle,
                theta_500: runs[0].mle + o500,
                offset_500: format!("{m500:.3} ± {sd500:.3}"),
                reference_500: ref500,
                offset_2000: format!("{m2000:.3} ± {sd2000:.3}"),
                reference_2000: ref2000,
                first_step: first.map_or("not reached".to_string(), |s| format!("{s}")),
                first_step_mean: if mean_first.is_finite() {
                    format!("{mean_first:.0}")
                } else {
                    "not reached by all".to_string()
                },
                settles: runs[0]
                    .settles(cfg.reach_tolerance)
                    .map_or("not settled".to_string(), |s| format!("{s}")),
            });
            let sname = format!("θ {name}");
            report.series.insert(
                sname.clone(),
                Series {
                    x: runs[0].steps.clone(),
                    y: runs[0].theta.clone(),
                    y_err: None,
                },
            );
            series_names.push(sname);
            if k == 0 {
                report.series.insert(
                    "θ̂ (MLE)".into(),
                    Series {
                        x: vec![0.0, cfg.steps as f64],
                        y: vec![runs[0].mle; 2],
                        y_err: None,
                    },
                );
            }
        }
        // The paper's claim: critically damped MPD reaches the MLE before PGD.
        let pgd = reach[0].1;
        if let Some((name, mpd)) = reach
            .iter()
            .skip(1)
            .find(|(n, _)| n.ends_with(&format!("= {}", 0.1)))
        {
            report.checks.push(Check::at_most(
                format!("{name} reaches |θ − θ̂| < tol in fewer steps than PGD (mean over seeds)"),
                *mpd,
                pgd,
            ));
        }
        report.tables.insert(
            "θ against the reference".into(),
            Table::from_named_records(&rows)?,
        );
        series_names.push("θ̂ (MLE)".into());
        report.plots.push(Plot {
            name: "theta".into(),
            title: "θ trajectories: PGD, MPD (under-, critically, over-damped), PQN, PMGD".into(),
            x_label: "step".into(),
            y_label: "θ".into(),
            series: series_names,
            log_x: false,
            log_y: false,
            scatter: false,
        });
        Ok(())
    }
}
