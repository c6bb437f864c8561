//! `mpgd-digits`: a small generator trained by particle EM (spec `mpgd.md`, experiment 3,
//! the paper's image experiment scaled down). A one-hidden-layer tanh decoder
//! z ↦ σ(W₂ tanh(W₁ z + b₁) + b₂) with z ~ N(0, I_{d_z}) and Bernoulli pixels is fitted to
//! a random subset of the 8×8 UCI digits (binarised: intensity ≥ 8 of 16 → 1), each image
//! with its own latent code; PGD and MPD each run with N particles per code.
//!
//! The training objective is the particle average of the energy per image,
//! (1/(N M)) Σ_i E(θ, X^i) (the free energy without its entropy term), recorded against
//! the step. The report also draws a grid of generated digits (z ~ N(0, I) decoded by
//! each scheme's final θ, as pixel means) beside a grid of training images.
//!
//! Steps: the θ-gradient sums over the M images while each code sees one image, so the
//! θ steps scale like 1/M (ParEM's scaling): PGD h_θ = 1/M, h_x = 0.02; MPD h_θ = 0.5/M,
//! η_θ = M, γ_θ = 0.05 (so the terminal θ velocity per step, h_θ M/γ_θ per unit per-image
//! gradient, does not grow with M), h_x = 0.02, η_x = 1, γ_x = 0.5. Both were picked from
//! a small grid (about 20 settings on the `--quick` problem, 4 MPD variants on the full
//! one; docs/particle-em.md); the spec fixes no step for this experiment.

use meanfield_energy::{Decoder, DecoderShape, LatentModel, PixelLikelihood};
use meanfield_measures::NoiseStreams;
use meanfield_measures::streams;
use serde::{Deserialize, Serialize};

use crate::data;
use crate::particle_em::common::{Scheme, gaussian_particles, run_recording};
use crate::report::{Check, ImageGrid, Plot, Series, Table};
use crate::{ConfiguredExperiment, ExperimentConfig, ExperimentError, Report, RunContext};
use meanfield_integrators::{MpdParams, PgdParams};

/// Parameters of the experiment (every key can be overridden with `--config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MpgdDigitsConfig {
    /// Training images M (a random subset of the 1797).
    pub n_images: usize,
    /// Latent dimension d_z.
    pub latent: usize,
    /// Hidden units H.
    pub hidden: usize,
    /// Particles N per code.
    pub n_particles: usize,
    /// Steps K.
    pub steps: u64,
    /// PGD steps (`h_theta`, `h_x`).
    pub pgd: PgdParams,
    /// MPD parameters (`h_theta`, `h_x`, `eta_theta`, `eta_x`, `gamma_theta`, `gamma_x`).
    pub mpd: MpdParams,
    /// The objective is recorded every this many steps.
    pub record_every: u64,
    /// Generated digits per scheme in the picture.
    pub n_samples: usize,
}

impl ExperimentConfig for MpgdDigitsConfig {
    /// Defaults: 300 images and 1500 steps, or 100 images and 300 steps with `--quick`.
    fn defaults(quick: bool) -> Self {
        let m = if quick { 100 } else { 300 };
        let mf = m as f64;
        let h = 2e-2;
        Self {
            n_images: m,
            latent: 4,
            hidden: 32,
            n_particles: 5,
            steps: if quick { 300 } else { 1500 },
            pgd: PgdParams::new(1.0 / mf, h).expect("valid PGD defaults"),
            mpd: MpdParams::new(0.5 / mf, h)
                .and_then(|p| p.with_theta_momentum(mf, 0.05))
                .and_then(|p| p.with_particle_momentum(1.0, 0.5))
                .expect("valid MPD defaults"),
            record_every: if quick { 10 } else { 25 },
            n_samples: 40,
        }
    }

    /// Buffers sized by the configuration (checked before the run); 64 pixels per image.
    fn buffers(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            (
                "latent particles (n_particles × n_images × latent)",
                vec![self.n_particles, self.n_images, self.latent],
            ),
            (
                "decoder weights (hidden × (latent + 64))",
                vec![self.hidden, self.latent + 64],
            ),
            (
                "generated samples (n_samples × 64)",
                vec![self.n_samples, 64],
            ),
        ]
    }
}

/// A row of the table `objective`: one scheme.
#[derive(Serialize)]
struct ObjectiveRow<'a> {
    scheme: &'a str,
    #[serde(rename = "objective at step 0")]
    first: f64,
    #[serde(rename = "objective at the end")]
    last: f64,
    #[serde(rename = "best objective")]
    best: f64,
    #[serde(rename = "first step within 1 nat of PGD's final")]
    within: Option<f64>,
}

/// The experiment.
pub struct MpgdDigits;

/// θ₀: W ~ N(0, 1/fan_in), b = 0, from the streams of `seed`.
fn initial_theta(shape: DecoderShape, seed: u64) -> Vec<f64> {
    let s = NoiseStreams::new(seed, streams::DIGITS_THETA);
    let mut theta = vec![0.0; shape.theta_dim()];
    let (h, dz) = (shape.hidden, shape.latent);
    let w1 = h * dz;
    s.fill_standard_normal(0, 0, &mut theta[..w1]);
    theta[..w1]
        .iter_mut()
        .for_each(|v| *v /= (dz as f64).sqrt());
    let w2 = w1 + h;
    let w2_end = w2 + shape.output * h;
    s.fill_standard_normal(0, 1, &mut theta[w2..w2_end]);
    theta[w2..w2_end]
        .iter_mut()
        .for_each(|v| *v /= (h as f64).sqrt());
    theta
}

impl ConfiguredExperiment for MpgdDigits {
    type Config = MpgdDigitsConfig;
    const NAME: &'static str = "mpgd-digits";
    const DESCRIPTION: &'static str = "PGD vs MPD training a small decoder (generator) on 8×8 digits: objective vs steps, generated digits";

    fn execute(
        &self,
        cfg: MpgdDigitsConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let table = data::digits()?;
        // Checked here, not in `validate`: the bounds depend on the data set's length.
        if cfg.n_images == 0
            || cfg.n_images > table.rows
            || cfg.latent == 0
            || cfg.hidden == 0
            || cfg.n_particles == 0
            || cfg.steps == 0
            || cfg.record_every == 0
        {
            return Err(ExperimentError::Config(format!(
                "need 1 ≤ n_images ≤ {}, latent, hidden, n_particles, steps, record_every ≥ 1",
                table.rows
            )));
        }
        // Random subset, binarised.
        let mut keys = vec![0.0; table.rows];
        NoiseStreams::new(ctx.seed, streams::DIGITS_SUBSET).fill_standard_normal(0, 0, &mut keys);
        let mut order: Vec<usize> = (0..table.rows).collect();
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        let images: Vec<f64> = order[..cfg.n_images]
            .iter()
            .flat_map(|&i| {
                table
                    .row(i)
                    .iter()
                    .map(|&p| if p >= 8.0 { 1.0 } else { 0.0 })
            })
            .collect();
        let shape = DecoderShape {
            latent: cfg.latent,
            hidden: cfg.hidden,
            output: table.cols,
        };
        let model = Decoder::new(shape, PixelLikelihood::Bernoulli, images.clone())
            .map_err(|e| ExperimentError::Config(e.to_string()))?;
        report.notes.push(format!(
            "Decoder d_z = {} → {} tanh units → 64 Bernoulli pixels ({} parameters), trained on {} random \
             binarised digits with N = {} particles per code for {} steps. Objective = (1/(NM)) Σ_i E(θ, X^i) \
             (nats per image, without the entropy term). PGD h = ({:.3e}, {}); MPD h = ({:.3e}, {}), \
             η = ({}, {}), γ = ({:.3e}, {}). FID is not computed (no MNIST/CIFAR, no GPU).",
            cfg.latent,
            cfg.hidden,
            shape.theta_dim(),
            cfg.n_images,
            cfg.n_particles,
            cfg.steps,
            cfg.pgd.h_theta(),
            cfg.pgd.h_x(),
            cfg.mpd.h_theta(),
            cfg.mpd.h_x(),
            cfg.mpd.eta_theta(),
            cfg.mpd.eta_x(),
            cfg.mpd.gamma_theta(),
            cfg.mpd.gamma_x()
        ));
        let per_image = (cfg.n_particles * cfg.n_images) as f64;
        let theta0 = initial_theta(shape, ctx.seed);
        let schemes = [("PGD", Scheme::Pgd(cfg.pgd)), ("MPD", Scheme::Mpd(cfg.mpd))];
        let mut rows = Vec::new();
        let mut curves = Vec::new();
        for (si, (name, scheme)) in schemes.iter().enumerate() {
            let particles =
                gaussian_particles(cfg.n_particles, model.latent_dim(), 0.0, 1.0, ctx.seed)?;
            let (mut dynamics, state) =
                scheme.build(model.clone(), ctx.seed, theta0.clone(), particles)?;
            let (mut steps, mut objective) = (Vec::new(), Vec::new());
            let fin = run_recording(
                &mut dynamics,
                state,
                cfg.steps,
                cfg.record_every,
                |k, s| {
                    let total: f64 = s
                        .particles
                        .rows()
                        .map(|x| model.energy(&s.theta, x))
                        .sum::<Result<f64, _>>()?;
                    steps.push(k as f64);
                    objective.push(total / per_image);
                    Ok(())
                },
                |k, total| (ctx.progress)((si as f64 + k as f64 / total as f64) / 2.0, name),
            )?;
            // Generated digits: z ~ N(0, I) through the final decoder.
            let codes = NoiseStreams::new(ctx.seed, streams::DIGITS_SAMPLE);
            let mut z = vec![0.0; cfg.latent];
            let mut pixels = Vec::with_capacity(cfg.n_samples * table.cols);
            let mut out = vec![0.0; table.cols];
            for s in 0..cfg.n_samples {
                codes.fill_standard_normal(0, s as u64, &mut z);
                model.decode(&fin.theta, &z, &mut out);
                pixels.extend_from_slice(&out);
            }
            report.images.push(ImageGrid {
                name: format!("samples_{}", name.to_lowercase()),
                title: format!("{name}: decoded z ~ N(0, I) after {} steps", cfg.steps),
                width: 8,
                height: 8,
                columns: 10,
                pixels,
            });
            curves.push((name.to_string(), steps, objective));
        }
        let pgd_final = *curves[0].2.last().expect("recorded");
        for (name, steps, obj) in &curves {
            let first = obj[0];
            let last = *obj.last().expect("recorded");
            let best = obj.iter().copied().fold(f64::INFINITY, f64::min);
            let within = steps
                .iter()
                .zip(obj)
                .find(|(_, o)| **o <= pgd_final + 1.0)
                .map(|(s, _)| *s);
            rows.push(ObjectiveRow {
                scheme: name,
                first,
                last,
                best,
                within,
            });
            report.checks.push(Check::at_most(
                format!("{name}: objective falls by at least 25 % (end / start)"),
                last / first,
                0.75,
            ));
            report.series.insert(
                format!("{name} objective"),
                Series {
                    x: steps.clone(),
                    y: obj.clone(),
                    y_err: None,
                },
            );
        }
        report
            .tables
            .insert("objective".into(), Table::from_named_records(&rows)?);
        report.images.push(ImageGrid {
            name: "training_digits".into(),
            title: "Training digits (binarised)".into(),
            width: 8,
            height: 8,
            columns: 10,
            pixels: images[..20.min(cfg.n_images) * table.cols].to_vec(),
        });
        report.plots.push(Plot {
            name: "objective".into(),
            title: "Training objective (1/NM) Σ E(θ, X^i) vs steps".into(),
            x_label: "step".into(),
            y_label: "nats per image".into(),
            series: curves
                .iter()
                .map(|(n, _, _)| format!("{n} objective"))
                .collect(),
            log_x: false,
            log_y: false,
            scatter: false,
        });
        Ok(())
    }
}
