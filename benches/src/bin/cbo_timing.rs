//! Times one step of meanfield's anisotropic CBO the way `benches/peers/cbo_cbxpy.py`
//! times CBXpy 1.0.4: Rastrigin in R^d, X₀ ~ U[−3, 3]^d, λ = 1, σ = 10.1, dt = 0.01,
//! α₀ = 30 with the ×1.05 schedule capped at 1e5; per-step seconds = median over
//! `--repeats` blocks of consecutive steps (each about `--block-secs` long) after a
//! warm-up, the run continuing across blocks (never reset). Single-threaded
//! (`Parallelism::Sequential`) and on the rayon pool (`Parallelism::Rayon`). Prints one
//! JSON document on stdout.
//!
//! Run: `cargo run --release -p meanfield-benches --bin cbo_timing -- [--sizes 50x20,10000x100]
//! [--repeats R] [--block-secs S | --block-steps K] [--warmup W]`, or `benches/peers/cbo_run.sh`.

use std::time::Instant;

use meanfield_energy::TestFunction;
use meanfield_integrators::cbo::{Cbo, CboParams, uniform_ensemble};
use meanfield_integrators::{Dynamics, StepKey};
use meanfield_measures::Parallelism;

struct Options {
    sizes: Vec<(usize, usize)>,
    repeats: usize,
    block_secs: f64,
    warmup: u64,
    /// Fixed block length in steps (instead of calibrating to `block_secs`).
    block_steps: Option<usize>,
}

fn die(msg: &str) -> ! {
    eprintln!("cbo_timing: {msg}");
    std::process::exit(2);
}

fn parse_sizes(s: &str) -> Vec<(usize, usize)> {
    s.split(',')
        .map(|p| {
            let (n, d) = p
                .split_once('x')
                .unwrap_or_else(|| die(&format!("size {p} is not NxD")));
            match (n.parse(), d.parse()) {
                (Ok(n), Ok(d)) if n > 0 && d > 0 => (n, d),
                _ => die(&format!("bad size {p}")),
            }
        })
        .collect()
}

fn parse_options() -> Options {
    let mut o = Options {
        sizes: parse_sizes("50x20,200x20,1000x100,10000x100"),
        repeats: 7,
        block_secs: 0.2,
        warmup: 20,
        block_steps: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| die(&format!("{flag} needs a value")))
                .clone()
        };
        match flag.as_str() {
            "--sizes" => o.sizes = parse_sizes(&value()),
            "--repeats" => o.repeats = value().parse().unwrap_or_else(|_| die("bad --repeats")),
            "--block-secs" => {
                o.block_secs = value().parse().unwrap_or_else(|_| die("bad --block-secs"))
            }
            "--warmup" => o.warmup = value().parse().unwrap_or_else(|_| die("bad --warmup")),
            "--block-steps" => {
                o.block_steps = Some(value().parse().unwrap_or_else(|_| die("bad --block-steps")))
            }
            "-h" | "--help" => {
                eprintln!(
                    "cbo_timing [--sizes NxD,...] [--repeats R] [--block-secs S | --block-steps K] [--warmup W]"
                );
                std::process::exit(0);
            }
            other => die(&format!("unknown argument {other}")),
        }
    }
    if o.repeats == 0 || o.block_secs.is_nan() || o.block_secs <= 0.0 {
        die("--repeats and --block-secs must be positive");
    }
    o
}

/// Median per-step wall seconds of anisotropic CBO at (n, d).
fn time_cbo(n: usize, d: usize, par: Parallelism, o: &Options) -> f64 {
    let f = TestFunction::rastrigin(d).expect("valid objective");
    let mut cbo = Cbo::new(f, CboParams::anisotropic_benchmark())
        .expect("valid parameters")
        .with_parallelism(par);
    let mut state = cbo
        .init_state(
            uniform_ensemble(n, d, -3.0, 3.0, 1).expect("valid ensemble"),
            7,
        )
        .expect("state fits");
    let mut k = 0u64;
    let mut step = || {
        cbo.step(StepKey::new(7, k), &mut state)
            .expect("step succeeds");
        k += 1;
    };
    let t0 = Instant::now();
    for _ in 0..o.warmup.max(1) {
        step();
    }
    let per_step = t0.elapsed().as_secs_f64() / o.warmup.max(1) as f64;
    let block = o
        .block_steps
        .unwrap_or_else(|| ((o.block_secs / per_step).ceil() as usize).clamp(1, 1_000_000));
    let mut times: Vec<f64> = (0..o.repeats)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..block {
                step();
            }
            t.elapsed().as_secs_f64() / block as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let o = parse_options();
    let threads = rayon::current_num_threads();
    let mut rows = Vec::new();
    for &(n, d) in &o.sizes {
        let seq = time_cbo(n, d, Parallelism::Sequential, &o);
        let par = time_cbo(n, d, Parallelism::Rayon, &o);
        eprintln!(
            "cbo N={n:>6} d={d:>3}: {seq:.3e} s/step 1 thread, {par:.3e} s/step {threads} threads"
        );
        rows.push(format!(
            "    {{\"n\": {n}, \"d\": {d}, \"seconds_per_step_1_thread\": {seq:e}, \
             \"seconds_per_step_all_threads\": {par:e}}}"
        ));
    }
    println!(
        "{{\n  \"implementation\": \"meanfield (Rust)\",\n  \"threads\": {threads},\n  \"repeats\": {},\n  \"block_secs\": {},\n  \"results\": [\n{}\n  ]\n}}",
        o.repeats,
        o.block_secs,
        rows.join(",\n")
    );
}
