//! The Rust side of the Python package's bitwise-equality tests of the consensus family
//! (`python/tests/test_cbo.py`, `python/tests/test_consensus.py`): reads one run
//! description as JSON on stdin, runs it through the Rust API only (the constructors,
//! `Checkpoint::start`, `Runner`) and prints the final checkpoint as JSON on stdout.
//!
//! Input: `{"objective": "rastrigin", "n": N, "d": d, "x0": [N·d values, row-major],
//! "seed": s, "steps": k, "lambda", "sigma", "dt", "alpha", "schedule": <AlphaSchedule
//! serde form>, "noise": "anisotropic"|"isotropic", "batch": null|{"size", "partial"},
//! "threads": t, "variant": null | {"cbs": {"mode", "scheme", "root"}} |
//! {"polar": {"kappa", "kernel_scale"}} | {"memory": {"lambda_memory", "sigma_memory"}} |
//! {"pso": {"lambda_memory", "sigma_memory", "inertia", "friction"}} |
//! {"mirror": {"map": "identity" | "entropic" | {"log_barrier": {"lower", "upper"}} |
//! {"ball": {"centre", "radius"}} | {"elastic_net": {"delta", "lambda"}}}} |
//! {"constrained": {"surface": <Hypersurface serde form>, "scheme": <ConstraintScheme
//! serde form>}}}` (no variant: plain CBO; CBS ignores `lambda`, `sigma`, `noise`).

use std::io::Read;

use meanfield_energy::{TestFunction, TestKind};
use meanfield_integrators::{
    AlphaSchedule, BallProjection, Batch, Cbo, CboMemory, CboMemoryParams, CboMirrorMap, CboNoise,
    CboParams, Cbs, CbsMode, CbsParams, CbsScheme, Checkpoint, ConstrainedCbo,
    ConstrainedCboParams, ConstraintScheme, CovarianceRoot, Dynamics, ElasticNet, Hypersurface,
    KernelScale, MirrorCbo, PolarCbo, PolarCboParams, Pso, PsoParams, Runner,
};
use meanfield_measures::{
    BoxBounds, Domain, Ensemble, Entropic, Identity, LogBarrier, Parallelism,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Map {
    Identity,
    Entropic,
    LogBarrier { lower: Vec<f64>, upper: Vec<f64> },
    Ball { centre: Vec<f64>, radius: f64 },
    ElasticNet { delta: f64, lambda: f64 },
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Variant {
    Cbs {
        mode: CbsMode,
        scheme: CbsScheme,
        root: CovarianceRoot,
    },
    Polar {
        kappa: f64,
        kernel_scale: KernelScale,
    },
    Memory {
        lambda_memory: f64,
        sigma_memory: Option<f64>,
    },
    Pso {
        lambda_memory: f64,
        sigma_memory: Option<f64>,
        inertia: f64,
        friction: f64,
    },
    Mirror {
        map: Map,
    },
    Constrained {
        surface: Hypersurface,
        scheme: ConstraintScheme,
    },
}

#[derive(Deserialize)]
struct Input {
    objective: TestKind,
    n: usize,
    d: usize,
    x0: Vec<f64>,
    seed: u64,
    steps: u64,
    #[serde(default)]
    lambda: f64,
    #[serde(default)]
    sigma: f64,
    dt: f64,
    alpha: f64,
    schedule: AlphaSchedule,
    noise: Option<CboNoise>,
    #[serde(default)]
    batch: Option<Batch>,
    threads: usize,
    #[serde(default)]
    variant: Option<Variant>,
}

type Error = Box<dyn std::error::Error>;

/// Runs `dynamics` from `x0` (on `domain`) for the input's steps on a pool of its
/// threads and returns the final checkpoint's JSON.
fn run<D: Dynamics + Send>(mut dynamics: D, domain: Domain, i: &Input) -> Result<String, Error>
where
    D::Info: Send,
{
    let start = Ensemble::new(i.n, i.d, i.x0.clone(), domain)?;
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

/// Mirror CBO with the map `map`.
fn mirror<M: CboMirrorMap>(
    f: TestFunction,
    map: M,
    params: CboParams,
    par: Parallelism,
    i: &Input,
) -> Result<String, Error> {
    let domain = map.domain();
    run(
        MirrorCbo::new(f, map, params)?.with_parallelism(par),
        domain,
        i,
    )
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
    let f = TestFunction::new(i.objective, i.d)?;
    let cbo = || -> Result<CboParams, Error> {
        Ok(CboParams::new(i.lambda, i.sigma, i.dt)?
            .with_alpha(i.alpha)?
            .with_schedule(i.schedule)?
            .with_noise(i.noise.unwrap_or(CboNoise::Anisotropic)))
    };
    let memory = |lambda_memory: f64, sigma_memory: Option<f64>| -> Result<_, Error> {
        let p = CboMemoryParams::new(cbo()?, lambda_memory)?;
        Ok(match sigma_memory {
            Some(s) => p.with_sigma_memory(s)?,
            None => p,
        })
    };
    let e = Domain::Euclidean;
    let json = match &i.variant {
        None => run(
            Cbo::new(f, cbo()?.with_batch(i.batch)?)?.with_parallelism(par),
            e,
            &i,
        )?,
        Some(Variant::Cbs { mode, scheme, root }) => {
            let p = CbsParams::new(*mode, i.dt)?
                .with_alpha(i.alpha)?
                .with_schedule(i.schedule)?
                .with_scheme(*scheme)
                .with_root(*root);
            run(Cbs::new(f, p)?.with_parallelism(par), e, &i)?
        }
        Some(Variant::Polar {
            kappa,
            kernel_scale,
        }) => {
            let p = PolarCboParams::new(cbo()?, *kappa)?.with_kernel_scale(*kernel_scale);
            run(PolarCbo::new(f, p)?.with_parallelism(par), e, &i)?
        }
        Some(Variant::Memory {
            lambda_memory,
            sigma_memory,
        }) => {
            let p = memory(*lambda_memory, *sigma_memory)?;
            run(CboMemory::new(f, p)?.with_parallelism(par), e, &i)?
        }
        Some(Variant::Pso {
            lambda_memory,
            sigma_memory,
            inertia,
            friction,
        }) => {
            let p = PsoParams::new(memory(*lambda_memory, *sigma_memory)?, *inertia, *friction)?;
            run(Pso::new(f, p)?.with_parallelism(par), e, &i)?
        }
        Some(Variant::Mirror { map }) => match map {
            Map::Identity => mirror(f, Identity, cbo()?, par, &i)?,
            Map::Entropic => mirror(f, Entropic, cbo()?, par, &i)?,
            Map::LogBarrier { lower, upper } => {
                let b = BoxBounds::new(lower.clone(), upper.clone())?;
                mirror(f, LogBarrier::new(b)?, cbo()?, par, &i)?
            }
            Map::Ball { centre, radius } => {
                let m = BallProjection::new(centre.clone(), *radius)?;
                mirror(f, m, cbo()?, par, &i)?
            }
            Map::ElasticNet { delta, lambda } => {
                mirror(f, ElasticNet::new(*delta, *lambda)?, cbo()?, par, &i)?
            }
        },
        Some(Variant::Constrained { surface, scheme }) => {
            let p = ConstrainedCboParams::new(cbo()?, surface.clone(), *scheme)?;
            run(ConstrainedCbo::new(f, p)?.with_parallelism(par), e, &i)?
        }
    };
    println!("{json}");
    Ok(())
}
