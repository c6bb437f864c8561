//! Times one step of each Langevin scheme the way `benches/peers/mfld_numpy.py` times
//! its vectorised NumPy peer: per-step seconds as the median over repeats of a block of
//! consecutive steps (block length calibrated to about `--block-secs`), single-threaded
//! (`Parallelism::Sequential`) and on the whole rayon pool (`Parallelism::Rayon`).
//! CPU seconds per step (all threads, from `/proc/self/task/*/schedstat`) are reported
//! too: unlike wall time they do not grow when other processes share the cores. Prints
//! one JSON document on stdout.
//!
//! Schemes and sizes match the criterion bench `langevin`: MFLD on R^d
//! (`QuadraticInteraction`, κ = 1, b = 0.5·1), projected MFLD on the simplex, the
//! paper's entropic mirror MFLD and the Metropolis-adjusted one (`SimplexMoment` at the
//! centroid, β = 0); λ = 0.1, η = 3e-3; N = 50,000, d = 3 and N = 10,000, d = 100.
//!
//! Run: `cargo run --release -p meanfield-benches --bin peer_timing -- [--repeats R]
//! [--block-secs S] [--warmup W] [--schemes mfld,projected,mirror,adjusted_mirror]`, or
//! `benches/peers/run.sh` for the comparison table.

use std::time::Instant;

use meanfield_energy::{QuadraticInteraction, SimplexMoment};
use meanfield_integrators::{
    AdjustedMirrorMfld, Dynamics, LangevinParams, Mfld, MirrorMfld, ProjectedMfld, StepKey,
};
use meanfield_measures::{Domain, Ensemble, Entropic, MirrorMap, NoiseStreams, Parallelism};

const LAMBDA: f64 = 0.1;
const ETA: f64 = 3e-3;
const SIZES: [(usize, usize); 2] = [(50_000, 3), (10_000, 100)];
const SCHEMES: [&str; 4] = ["mfld", "projected", "mirror", "adjusted_mirror"];

struct Options {
    repeats: usize,
    block_secs: f64,
    warmup: u64,
    schemes: Vec<String>,
}

fn parse_options() -> Options {
    let mut o = Options {
        repeats: 7,
        block_secs: 0.2,
        warmup: 20,
        schemes: SCHEMES.iter().map(|s| s.to_string()).collect(),
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
            "--repeats" => o.repeats = value().parse().unwrap_or_else(|_| die("bad --repeats")),
            "--block-secs" => {
                o.block_secs = value().parse().unwrap_or_else(|_| die("bad --block-secs"))
            }
            "--warmup" => o.warmup = value().parse().unwrap_or_else(|_| die("bad --warmup")),
            "--schemes" => {
                o.schemes = value().split(',').map(str::to_string).collect();
                if let Some(bad) = o.schemes.iter().find(|s| !SCHEMES.contains(&s.as_str())) {
                    die(&format!(
                        "unknown scheme {bad} (known: {})",
                        SCHEMES.join(",")
                    ));
                }
            }
            "-h" | "--help" => {
                eprintln!(
                    "peer_timing [--repeats R] [--block-secs S] [--warmup W] [--schemes a,b]"
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

fn die(msg: &str) -> ! {
    eprintln!("peer_timing: {msg}");
    std::process::exit(2);
}

fn params() -> LangevinParams {
    LangevinParams::new(LAMBDA, ETA).expect("valid parameters")
}

/// Standard Gaussian particles on R^d.
fn gaussian_start(n: usize, d: usize) -> Ensemble {
    let s = NoiseStreams::new(1, 9);
    Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .expect("valid ensemble")
}

/// Interior points of the simplex: softmax of ½·Gaussian duals.
fn simplex_start(n: usize, d: usize) -> Ensemble {
    let s = NoiseStreams::new(1, 9);
    Ensemble::from_fn(n, d, Domain::Simplex, |i, row| {
        s.fill_standard_normal(0, i as u64, row);
        let y: Vec<f64> = row.iter().map(|v| 0.5 * v).collect();
        Entropic.grad_phi_star(&y, row);
    })
    .expect("valid ensemble")
}

/// CPU time consumed so far by all threads of this process, in seconds (the first field
/// of `/proc/self/task/*/schedstat` is a thread's on-CPU time in nanoseconds). Unlike
/// wall time it does not grow while other processes hold the cores; `None` where
/// `/proc` is unavailable.
fn process_cpu_seconds() -> Option<f64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total as f64 * 1e-9)
}

/// Per-step timings of one configuration: medians over the repeats.
struct Timing {
    wall: f64,
    cpu: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median per-step wall and CPU seconds of `dynamics` from `ens`.
fn time_steps<D: Dynamics<State = Ensemble>>(
    mut dynamics: D,
    mut ens: Ensemble,
    o: &Options,
) -> Timing {
    dynamics.check_state(&ens).expect("state fits the dynamics");
    let mut k = 0u64;
    let mut step = |ens: &mut Ensemble| {
        dynamics
            .step(StepKey::new(7, k), ens)
            .expect("step succeeds");
        k += 1;
    };
    let t0 = Instant::now();
    for _ in 0..o.warmup.max(1) {
        step(&mut ens);
    }
    let per_step = t0.elapsed().as_secs_f64() / o.warmup.max(1) as f64;
    let block = ((o.block_secs / per_step).ceil() as usize).clamp(1, 100_000);
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..o.repeats {
        let c0 = process_cpu_seconds();
        let t = Instant::now();
        for _ in 0..block {
            step(&mut ens);
        }
        wall.push(t.elapsed().as_secs_f64() / block as f64);
        if let (Some(c0), Some(c1)) = (c0, process_cpu_seconds()) {
            cpu.push((c1 - c0) / block as f64);
        }
    }
    ens.validate().expect("iterates stay in the domain");
    Timing {
        wall: median(wall),
        cpu: (cpu.len() == o.repeats).then(|| median(cpu)),
    }
}

fn time_scheme(scheme: &str, n: usize, d: usize, par: Parallelism, o: &Options) -> Timing {
    let simplex = || SimplexMoment::centroid(d, 0.0).expect("valid functional");
    match scheme {
        "mfld" => {
            let f = QuadraticInteraction::new(1.0, vec![0.5; d]).expect("valid functional");
            time_steps(
                Mfld::new(f, params())
                    .expect("valid dynamics")
                    .with_parallelism(par),
                gaussian_start(n, d),
                o,
            )
        }
        "projected" => time_steps(
            ProjectedMfld::new(simplex(), params())
                .expect("valid dynamics")
                .with_parallelism(par),
            simplex_start(n, d),
            o,
        ),
        "mirror" => time_steps(
            MirrorMfld::new(simplex(), Entropic, params())
                .expect("valid dynamics")
                .with_parallelism(par),
            simplex_start(n, d),
            o,
        ),
        "adjusted_mirror" => time_steps(
            AdjustedMirrorMfld::new(simplex(), Entropic, params())
                .expect("valid dynamics")
                .with_parallelism(par),
            simplex_start(n, d),
            o,
        ),
        other => unreachable!("unknown scheme {other}"),
    }
}

fn main() {
    let o = parse_options();
    let threads = rayon::current_num_threads();
    let fmt_cpu = |c: Option<f64>| c.map_or("null".to_string(), |c| format!("{c:e}"));
    let mut rows = Vec::new();
    for scheme in &o.schemes {
        for (n, d) in SIZES {
            let seq = time_scheme(scheme, n, d, Parallelism::Sequential, &o);
            let par = time_scheme(scheme, n, d, Parallelism::Rayon, &o);
            eprintln!(
                "{scheme:>16} N={n:>6} d={d:>3}: {:.3e} s/step 1 thread (CPU {}), {:.3e} s/step {threads} threads (CPU {})",
                seq.wall,
                fmt_cpu(seq.cpu),
                par.wall,
                fmt_cpu(par.cpu)
            );
            rows.push(format!(
                "    {{\"scheme\": \"{scheme}\", \"n\": {n}, \"d\": {d}, \
                 \"seconds_per_step_1_thread\": {:e}, \"cpu_seconds_per_step_1_thread\": {}, \
                 \"seconds_per_step_all_threads\": {:e}, \"cpu_seconds_per_step_all_threads\": {}}}",
                seq.wall,
                fmt_cpu(seq.cpu),
                par.wall,
                fmt_cpu(par.cpu)
            ));
        }
    }
    println!(
        "{{\n  \"implementation\": \"meanfield (Rust)\",\n  \"threads\": {threads},\n  \"repeats\": {},\n  \"block_secs\": {},\n  \"results\": [\n{}\n  ]\n}}",
        o.repeats,
        o.block_secs,
        rows.join(",\n")
    );
}
