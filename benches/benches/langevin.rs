//! Criterion benches of one step of each Langevin scheme: plain MFLD on R^d
//! ([`QuadraticInteraction`]), projected MFLD on the simplex, the paper's mirror MFLD
//! with the entropic map, and the Metropolis-adjusted mirror MFLD (the last three with
//! [`SimplexMoment`] at the centroid, β = 0), each sequential and on the rayon pool.
//!
//! Sizes: N = 50,000 particles in d = 3 (the paper's simplex experiment) and
//! N = 10,000 in d = 100 (R^100 for MFLD, the simplex in R^100 for the constrained
//! schemes). λ = 0.1, η = 3e-3 as in the paper.
//!
//! The ensemble is not reset between iterations: each iteration is the next step of one
//! run, as in a real simulation (the state settles into the scheme's stationary regime
//! after the warm-up).
//!
//! Run: `cargo bench -p meanfield-benches --bench langevin` (about two minutes on two
//! cores). A side-by-side comparison with vectorised NumPy is in `benches/peers/`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use meanfield::integrators::{AdjustedMirrorMfld, MirrorMfld, ProjectedMfld};
use meanfield::prelude::*;

const LAMBDA: f64 = 0.1;
const ETA: f64 = 3e-3;
const SIZES: [(usize, usize); 2] = [(50_000, 3), (10_000, 100)];
const MODES: [Parallelism; 2] = [Parallelism::Sequential, Parallelism::Rayon];

fn params() -> LangevinParams {
    LangevinParams::new(LAMBDA, ETA).unwrap()
}

/// Standard Gaussian particles on R^d.
fn gaussian_start(n: usize, d: usize) -> Ensemble {
    let s = NoiseStreams::new(1, 9);
    Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .unwrap()
}

/// Interior points of the simplex: softmax of ½·Gaussian duals (all coordinates > 0).
fn simplex_start(n: usize, d: usize) -> Ensemble {
    let s = NoiseStreams::new(1, 9);
    Ensemble::from_fn(n, d, Domain::Simplex, |i, row| {
        s.fill_standard_normal(0, i as u64, row);
        let y: Vec<f64> = row.iter().map(|v| 0.5 * v).collect();
        Entropic.grad_phi_star(&y, row);
    })
    .unwrap()
}

/// Benches `dynamics` from `start`, one step per iteration.
fn bench_scheme<D: Dynamics<State = Ensemble>>(
    c: &mut Criterion,
    group: &str,
    mut make: impl FnMut(usize, Parallelism) -> D,
    start: fn(usize, usize) -> Ensemble,
) {
    let mut g = c.benchmark_group(group);
    // Equal-length samples: the slow configurations (tens of ms per step) then fit the
    // measurement time without criterion's linear ramp.
    g.sampling_mode(SamplingMode::Flat);
    for (n, d) in SIZES {
        for par in MODES {
            let mut dynamics = make(d, par);
            let mut ens = start(n, d);
            dynamics.check_state(&ens).unwrap();
            let mut k = 0u64;
            g.bench_function(
                BenchmarkId::new(format!("{par:?}"), format!("N={n},d={d}")),
                |b| {
                    b.iter(|| {
                        dynamics.step(StepKey::new(7, k), &mut ens).unwrap();
                        k += 1;
                    })
                },
            );
            // The scheme must still be in its domain after all the timed steps.
            ens.validate().unwrap();
        }
    }
    g.finish();
}

fn mfld(c: &mut Criterion) {
    bench_scheme(
        c,
        "langevin/mfld",
        |d, par| {
            let f = QuadraticInteraction::new(1.0, vec![0.5; d]).unwrap();
            Mfld::new(f, params())
                .expect("valid dynamics")
                .with_parallelism(par)
        },
        gaussian_start,
    );
}

fn projected(c: &mut Criterion) {
    bench_scheme(
        c,
        "langevin/projected_simplex",
        |d, par| {
            let f = SimplexMoment::centroid(d, 0.0).unwrap();
            ProjectedMfld::new(f, params())
                .expect("valid dynamics")
                .with_parallelism(par)
        },
        simplex_start,
    );
}

fn mirror(c: &mut Criterion) {
    bench_scheme(
        c,
        "langevin/mirror_entropic",
        |d, par| {
            let f = SimplexMoment::centroid(d, 0.0).unwrap();
            MirrorMfld::new(f, Entropic, params())
                .expect("valid dynamics")
                .with_parallelism(par)
        },
        simplex_start,
    );
}

fn adjusted_mirror(c: &mut Criterion) {
    bench_scheme(
        c,
        "langevin/adjusted_mirror_entropic",
        |d, par| {
            let f = SimplexMoment::centroid(d, 0.0).unwrap();
            AdjustedMirrorMfld::new(f, Entropic, params())
                .expect("valid dynamics")
                .with_parallelism(par)
        },
        simplex_start,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(2500));
    targets = mfld, projected, mirror, adjusted_mirror
}
criterion_main!(benches);
