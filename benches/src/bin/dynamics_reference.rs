//! The Rust side of the Python package's bitwise-equality tests for the Langevin,
//! Fisher–Rao and particle-EM families (`python/tests/test_reference.py`): reads one run
//! description as JSON on stdin, runs it through the Rust API only (constructors,
//! `Checkpoint::start`, `Runner`) and prints the final checkpoint as JSON on stdout.
//!
//! Input: `{"family": "mfld" | "projected" | "mirror" | "adjusted" | "fisher_rao" |
//! "pgd" | "pqn" | "pmgd" | "mpd" | "mgdm", "functional": {"quadratic": {"kappa", "b"}} | {"simplex_moment": {"q",
//! "beta"}} | {"linear": {"c"}}, "simplex": bool, "lambda", "eta", "sigma", "h",
//! "kernelisation", "eps", "resample_below", "transport", "y", "h_theta", "h_x", "n",
//! "d", "x0": [N·d values, row-major], "seed", "steps", "threads"}` (each family reads
//! the keys it needs). MGDM reads `"ar"` (the AR coefficients of the target, latent
//! N(0, 1)), `"gamma"`, `"groups"` (absent: independent MGDM), `"alpha_samples"`, `"n"`,
//! `"d"` (= T), `"seed"` (of α and of the latent paths), `"steps"`, `"threads"` and
//! `"scale"` (absent: ACF(1); given: `ScaledFeatures` of ACF(1) with these s_k), draws
//! α and x0 itself (`mgdm::paths`; the input's `"x0"` is ignored) and prints
//! `{"alpha", "x0", "kl", "paths"}`.

use std::io::Read;

use meanfield_energy::{
    HierarchicalGaussian, LinearPotential, QuadraticInteraction, SimplexMoment,
};
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, Coupling, Dynamics, FisherRao, FisherRaoParams,
    GaussianReference, Kernelisation, LangevinParams, Mfld, Mgdm, MgdmParams, MirrorMfld, Mpd,
    MpdParams, Pgd, PgdParams, Pmgd, PmgdParams, Pqn, ProjectedMfld, Runner,
};
use meanfield_measures::{Domain, Ensemble, Entropic, Identity, Kernel, Parallelism};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Functional {
    Quadratic { kappa: f64, b: Vec<f64> },
    SimplexMoment { q: Vec<f64>, beta: f64 },
    Linear { c: Vec<f64> },
}

#[derive(Deserialize)]
struct Input {
    family: String,
    functional: Option<Functional>,
    #[serde(default)]
    simplex: bool,
    #[serde(default)]
    lambda: f64,
    #[serde(default)]
    eta: f64,
    #[serde(default)]
    sigma: f64,
    #[serde(default)]
    h: f64,
    kernelisation: Option<Kernelisation>,
    #[serde(default)]
    eps: f64,
    resample_below: Option<f64>,
    #[serde(default)]
    transport: bool,
    #[serde(default)]
    y: Vec<f64>,
    #[serde(default)]
    h_theta: f64,
    #[serde(default)]
    h_x: f64,
    n: usize,
    d: usize,
    x0: Vec<f64>,
    seed: u64,
    steps: u64,
    threads: usize,
    #[serde(default)]
    ar: Vec<f64>,
    #[serde(default)]
    gamma: f64,
    groups: Option<usize>,
    #[serde(default)]
    alpha_samples: usize,
    /// MGDM: scales s_k of `ScaledFeatures` around ACF(1) (absent: ACF(1) itself).
    scale: Option<Vec<f64>>,
}

type Error = Box<dyn std::error::Error>;

/// Runs `dynamics` from `start` for the input's steps on a pool of its threads and
/// returns the final checkpoint's JSON.
fn run<D: Dynamics + Send>(mut dynamics: D, start: Ensemble, i: &Input) -> Result<String, Error>
where
    D::Info: Send,
{
    let mut cp = Checkpoint::start(&dynamics, start, i.seed)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(i.threads.max(1))
        .build()?;
    pool.install(|| {
        let mut runner: Runner<'_, _, _> = Runner::new(i.steps);
        runner.run(&mut dynamics, &mut cp)
    })?;
    Ok(cp.to_json()?)
}

/// MGDM / MF-MGDM with ACF(1) features (scaled by `"scale"` when given) on an AR target:
/// α, the latent sample, the KL trace and the final paths as JSON.
fn mgdm(i: &Input) -> Result<String, Error> {
    let acf = meanfield_energy::Acf1::new(i.d)?;
    match &i.scale {
        None => mgdm_with(i, acf),
        Some(s) => mgdm_with(i, meanfield_energy::ScaledFeatures::new(acf, s.clone())?),
    }
}

/// [`mgdm`] for the feature map `map`.
fn mgdm_with<F: meanfield_energy::FeatureMap>(i: &Input, map: F) -> Result<String, Error>
where
    F::Hessian: std::fmt::Debug,
{
    use meanfield_energy::process::{ArProcess, StandardGaussian};
    use meanfield_integrators::mgdm::{feature_mean, run_with_trace, sample_paths};
    let t = i.d;
    let (target, latent) = (ArProcess::new(&i.ar, t)?, StandardGaussian::new(t)?);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(i.threads.max(1))
        .build()?;
    let (alpha, x0, run) =
        pool.install(|| -> Result<_, meanfield_integrators::IntegratorError> {
            let alpha = feature_mean(&map, &target, i.alpha_samples, i.seed)?;
            let x0 = sample_paths(
                &latent,
                i.n,
                i.seed,
                meanfield_measures::streams::MGDM_LATENT,
            )?;
            let coupling = i.groups.map_or(Coupling::Independent, Coupling::Groups);
            let params = MgdmParams::new(i.gamma)?.with_coupling(coupling)?;
            let mut m = Mgdm::new(map, alpha.clone(), params)?.with_parallelism(Parallelism::Rayon);
            let run = run_with_trace(&mut m, &x0, Some(&target), &latent, i.steps, |_| {})?;
            Ok((alpha, x0, run))
        })?;
    Ok(serde_json::json!({
        "alpha": alpha, "x0": x0, "kl": run.trace.kl(), "paths": run.paths,
    })
    .to_string())
}

fn main() -> Result<(), Error> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    let i: Input = serde_json::from_str(&s)?;
    let par = if i.threads > 1 {
        Parallelism::Rayon
    } else {
        Parallelism::Sequential
    };
    let domain = if i.simplex {
        Domain::Simplex
    } else {
        Domain::Euclidean
    };
    if i.family == "mgdm" {
        println!("{}", mgdm(&i)?);
        return Ok(());
    }
    let start = Ensemble::new(i.n, i.d, i.x0.clone(), domain)?;
    let json = match i.family.as_str() {
        "pgd" | "pqn" | "pmgd" | "mpd" => {
            let model = HierarchicalGaussian::new(i.y.clone())?;
            match i.family.as_str() {
                "pgd" => {
                    let p = PgdParams::new(i.h_theta, i.h_x)?;
                    run(Pgd::new(model, p)?.with_parallelism(par), start, &i)?
                }
                "pqn" => {
                    let p = PgdParams::new(i.h_theta, i.h_x)?;
                    run(Pqn::new(model, p)?.with_parallelism(par), start, &i)?
                }
                "pmgd" => {
                    let p = PmgdParams::new(i.h_x)?;
                    run(Pmgd::new(model, p)?.with_parallelism(par), start, &i)?
                }
                _ => {
                    let p = MpdParams::new(i.h_theta, i.h_x)?;
                    run(Mpd::new(model, p)?.with_parallelism(par), start, &i)?
                }
            }
        }
        family => {
            let lp = || LangevinParams::new(i.lambda, i.eta);
            match (family, i.functional.as_ref().ok_or("functional missing")?) {
                ("fisher_rao", Functional::Linear { c }) => {
                    let f = LinearPotential::new(c.clone())?;
                    let mut p =
                        FisherRaoParams::new(GaussianReference::standard(i.d)?, i.sigma, i.h)?
                            .with_kernelisation(
                                i.kernelisation.unwrap_or(Kernelisation::DensityRatio),
                                Kernel::gaussian(i.eps, i.d)?,
                            );
                    if let Some(r) = i.resample_below {
                        p = p.with_resampling(r)?;
                    }
                    if i.transport {
                        p = p.with_transport();
                    }
                    run(FisherRao::new(f, p)?.with_parallelism(par), start, &i)?
                }
                ("mfld", Functional::Quadratic { kappa, b }) => {
                    let f = QuadraticInteraction::new(*kappa, b.clone())?;
                    run(Mfld::new(f, lp()?)?.with_parallelism(par), start, &i)?
                }
                ("adjusted", Functional::Quadratic { kappa, b }) => {
                    let f = QuadraticInteraction::new(*kappa, b.clone())?;
                    run(
                        AdjustedMirrorMfld::new(f, Identity, lp()?)?.with_parallelism(par),
                        start,
                        &i,
                    )?
                }
                (family, Functional::SimplexMoment { q, beta }) => {
                    let f = SimplexMoment::new(q.clone(), *beta)?;
                    match family {
                        "projected" => run(
                            ProjectedMfld::new(f, lp()?)?.with_parallelism(par),
                            start,
                            &i,
                        )?,
                        "mirror" => run(
                            MirrorMfld::new(f, Entropic, lp()?)?.with_parallelism(par),
                            start,
                            &i,
                        )?,
                        "adjusted" => run(
                            AdjustedMirrorMfld::new(f, Entropic, lp()?)?.with_parallelism(par),
                            start,
                            &i,
                        )?,
                        other => return Err(format!("unknown family {other:?}").into()),
                    }
                }
                (other, _) => {
                    return Err(
                        format!("family {other:?} with this functional is not covered").into(),
                    );
                }
            }
        }
    };
    println!("{json}");
    Ok(())
}
