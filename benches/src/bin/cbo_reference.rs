//! The Rust side of the Python package's bitwise-equality test
//! (`python/tests/test_cbo.py`): reads one CBO run description as JSON on stdin,
//! runs it through the Rust API only (`Cbo::new`, `Checkpoint::start`, `Runner`) and
//! prints the final checkpoint as JSON on stdout.
//!
//! Input: `{"objective": "rastrigin", "n": N, "d": d, "x0": [N·d values, row-major],
//! "seed": s, "steps": k, "lambda", "sigma", "dt", "alpha", "schedule": <AlphaSchedule
//! serde form>, "noise": "anisotropic"|"isotropic", "batch": null|{"size", "partial"},
//! "threads": t}`.

use std::io::Read;

use meanfield_energy::{TestFunction, TestKind};
use meanfield_integrators::{
    AlphaSchedule, Batch, Cbo, CboNoise, CboParams, Checkpoint, Dynamics, Runner,
};
use meanfield_measures::{Domain, Ensemble, Parallelism};
use serde::Deserialize;

#[derive(Deserialize)]
struct Input {
    objective: TestKind,
    n: usize,
    d: usize,
    x0: Vec<f64>,
    seed: u64,
    steps: u64,
    lambda: f64,
    sigma: f64,
    dt: f64,
    alpha: f64,
    schedule: AlphaSchedule,
    noise: CboNoise,
    batch: Option<Batch>,
    threads: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    let i: Input = serde_json::from_str(&s)?;
    let params = CboParams::new(i.lambda, i.sigma, i.dt)?
        .with_alpha(i.alpha)?
        .with_schedule(i.schedule)?
        .with_noise(i.noise)
        .with_batch(i.batch)?;
    let mut cbo = Cbo::new(TestFunction::new(i.objective, i.d)?, params)?;
    if i.threads > 1 {
        cbo = cbo.with_parallelism(Parallelism::Rayon);
    }
    let start = Ensemble::new(i.n, i.d, i.x0, Domain::Euclidean)?;
    let mut cp = Checkpoint::start(&cbo, start, i.seed)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(i.threads.max(1))
        .build()?;
    pool.install(|| {
        let mut runner: Runner<'_, _, _> = cbo.runner(i.steps);
        runner.run(&mut cbo, &mut cp)
    })?;
    println!("{}", cp.to_json()?);
    Ok(())
}
