//! Times the PGD and MPD loops of `mpgd-blr` the way `benches/peers/pgd_numpy.py` times
//! its NumPy and JAX peers: K = 400 steps (h_θ = h_x = 1e-2, θ₀ = 0, X₀ ~ N(0, I); MPD
//! with η = 10, γ = 0.3 for θ and the particles, as `mpgd-blr`) of Bayesian logistic
//! regression on all 569 standardised breast-cancer rows (`meanfield_benches::blr_model`)
//! with N = 100 particles; seconds per loop = median over `--repeats` loops, sequential
//! and on the rayon pool. Prints one JSON document, plus the final θ of each loop (a check
//! that both sides compute the same thing: θ after 400 steps agrees to Monte-Carlo error).
//!
//! Run: `cargo run --release -p meanfield-benches --bin pgd_timing -- [--repeats R]`, or
//! `benches/peers/pgd_run.sh` for the comparison.

use std::time::Instant;

use meanfield_energy::LatentModel;
use meanfield_integrators::{
    Checkpoint, Dynamics, LatentState, Mpd, MpdParams, Pgd, PgdParams, Runner,
};
use meanfield_measures::{Domain, Ensemble, NoiseStreams, Parallelism};

const N: usize = 100;
const STEPS: u64 = 400;
const H: f64 = 1e-2;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeats = match args.as_slice() {
        [] => 7,
        [flag, v] if flag == "--repeats" => v.parse().unwrap_or_else(|_| die("bad --repeats")),
        _ => die("usage: pgd_timing [--repeats R]"),
    };
    if repeats == 0 {
        die("--repeats must be ≥ 1");
    }
    let model = meanfield_benches::blr_model().unwrap_or_else(|e| die(&e));
    let d = model.latent_dim();
    let s = NoiseStreams::new(1, 9);
    let start = Ensemble::from_fn(N, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .unwrap_or_else(|e| die(&e.to_string()));
    let mut rows = Vec::new();
    let pgd = |mode| {
        let params = PgdParams::new(H, H).unwrap_or_else(|e| die(&e.to_string()));
        Pgd::new(model.clone(), params)
            .unwrap_or_else(|e| die(&e.to_string()))
            .with_parallelism(mode)
    };
    let mpd = |mode| {
        let params = MpdParams::new(H, H)
            .and_then(|p| p.with_theta_momentum(10.0, 0.3))
            .and_then(|p| p.with_particle_momentum(10.0, 0.3))
            .unwrap_or_else(|e| die(&e.to_string()));
        Mpd::new(model.clone(), params)
            .unwrap_or_else(|e| die(&e.to_string()))
            .with_parallelism(mode)
    };
    for (label, mode) in [
        ("ours_1_thread", Parallelism::Sequential),
        ("ours_pool", Parallelism::Rayon),
    ] {
        rows.push(time_loops(label, repeats, &start, || pgd(mode)));
        rows.push(time_loops(&format!("mpd_{label}"), repeats, &start, || {
            mpd(mode)
        }));
    }
    println!(
        "{{\"n\": {N}, \"steps\": {STEPS}, \"threads\": {}, {}}}",
        rayon::current_num_threads(),
        rows.join(", ")
    );
}

/// `repeats` loops of `STEPS` steps of a fresh `make()` from `start` (seeds 100, 101, …):
/// the JSON member `"label": {"seconds_per_loop": median, "theta_final": θ of the last}`.
fn time_loops<D: Dynamics<State = LatentState>>(
    label: &str,
    repeats: usize,
    start: &Ensemble,
    make: impl Fn() -> D,
) -> String {
    let mut times = Vec::with_capacity(repeats);
    let mut theta = f64::NAN;
    for r in 0..repeats {
        let mut dynamics = make();
        let mut ck = Checkpoint::start(&dynamics, start.clone(), 100 + r as u64)
            .unwrap_or_else(|e| die(&e.to_string()));
        let t0 = Instant::now();
        Runner::new(STEPS)
            .run(&mut dynamics, &mut ck)
            .unwrap_or_else(|e| die(&e.to_string()));
        times.push(t0.elapsed().as_secs_f64());
        theta = ck.state.theta[0];
    }
    times.sort_by(f64::total_cmp);
    format!(
        "\"{label}\": {{\"seconds_per_loop\": {:e}, \"theta_final\": {theta}}}",
        times[times.len() / 2]
    )
}

fn die(msg: &str) -> ! {
    eprintln!("pgd_timing: {msg}");
    std::process::exit(2);
}
