//! Criterion bench of one step of anisotropic CBO on Rastrigin (the spec's benchmark
//! settings: λ = 1, σ = 10.1, dt = 0.01, α₀ = 30 ×1.05 up to 1e5, X₀ ~ U[−3, 3]^d) at
//! (N, d) = (50, 20), (200, 20), (1000, 100), (10000, 100), sequential and on the rayon
//! pool. A step is everything a run pays: N·d Gaussian draws, N objective evaluations,
//! the log-space consensus, the update and the α schedule. The run is not reset between
//! iterations (each iteration is the next step of one run).
//!
//! `polar_cbo_step`: one step of polarised CBO (Himmelblau's protocol settings with an
//! anisotropic Rastrigin objective: κ = 0.5, s = 1, α = 10) at (N, d) = (1000, 20), one
//! thread — the O(N² d) localised consensus dominates; CBXpy's side is
//! `benches/peers/polar_cbxpy_timing.py`.
//!
//! Run: `cargo bench -p meanfield-benches --bench cbo -- --warm-up-time 1 --measurement-time 3`.
//! The side-by-side comparison with CBXpy is `benches/peers/cbo_run.sh`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use meanfield::integrators::cbo::uniform_ensemble;
use meanfield::prelude::*;

const SIZES: [(usize, usize); 4] = [(50, 20), (200, 20), (1000, 100), (10_000, 100)];
const MODES: [Parallelism; 2] = [Parallelism::Sequential, Parallelism::Rayon];

fn cbo_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("cbo/anisotropic_rastrigin");
    g.sampling_mode(SamplingMode::Flat);
    for (n, d) in SIZES {
        for par in MODES {
            let f = TestFunction::rastrigin(d).unwrap();
            let mut cbo = Cbo::new(f, CboParams::anisotropic_benchmark())
                .unwrap()
                .with_parallelism(par);
            let mut state = cbo
                .init_state(uniform_ensemble(n, d, -3.0, 3.0, 1).unwrap(), 7)
                .unwrap();
            let mut k = 0u64;
            g.bench_function(
                BenchmarkId::new(format!("{par:?}"), format!("N={n},d={d}")),
                |b| {
                    b.iter(|| {
                        cbo.step(StepKey::new(7, k), &mut state).unwrap();
                        k += 1;
                    })
                },
            );
        }
    }
    g.finish();
}

fn polar_cbo_step(c: &mut Criterion) {
    use meanfield::integrators::cbo::{PolarCbo, PolarCboParams};
    let mut g = c.benchmark_group("cbo/polar_rastrigin");
    g.sampling_mode(SamplingMode::Flat);
    let (n, d) = (1000, 20);
    let base = CboParams::new(1.0, 1.0, 0.01)
        .unwrap()
        .with_alpha(10.0)
        .unwrap();
    let mut polar = PolarCbo::new(
        TestFunction::rastrigin(d).unwrap(),
        PolarCboParams::new(base, 0.5).unwrap(),
    )
    .unwrap();
    let mut state = polar
        .init_state(uniform_ensemble(n, d, -3.0, 3.0, 1).unwrap(), 7)
        .unwrap();
    let mut k = 0u64;
    g.bench_function(
        BenchmarkId::new("Sequential", format!("N={n},d={d}")),
        |b| {
            b.iter(|| {
                polar.step(StepKey::new(7, k), &mut state).unwrap();
                k += 1;
            })
        },
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(2500));
    targets = cbo_step, polar_cbo_step
}
criterion_main!(benches);
