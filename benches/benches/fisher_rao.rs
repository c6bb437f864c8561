//! Criterion benches of one kernelised Fisher–Rao weight step for every kernelisation
//! (density ratio and the four kernelised variants), N ∈ {2,500, 5,000, 10,000} in d = 1
//! and d = 2, bump mollifier of radius ε = 0.1, F = mean interaction, sequential.
//!
//! Two groups:
//! - `fisher_rao/step`: the kernel matrix cache is disabled, so every step pays the
//!   neighbour search and one kernel evaluation per neighbour pair (the cost of a step
//!   after the positions moved, as in Wasserstein–Fisher–Rao);
//! - `fisher_rao/step_cached`: the default cache keeps the sparse kernel matrix of the
//!   fixed positions, so a step is a multiply–add per neighbour pair (pure Fisher–Rao).
//!
//! The scaling exponent in N is the log–log slope of the time over the three sizes
//! (reported in `docs/fisher-rao.md`). With a fixed ε the number of neighbours grows like
//! N, so the asymptotic cost is O(N · N ε^d) — the exact kernel sum — but at these sizes
//! the O(N) neighbour search and per-particle work dominate.
//!
//! Run: `cargo bench -p meanfield-benches --bench fisher_rao -- --warm-up-time 1
//! --measurement-time 3`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use meanfield::energy::MeanInteraction;
use meanfield::integrators::{FisherRao, FisherRaoParams, GaussianReference, Kernelisation};
use meanfield::measures::Kernel;
use meanfield::prelude::*;

const SIZES: [usize; 3] = [2_500, 5_000, 10_000];
const EPS: f64 = 0.1;

fn start(n: usize, d: usize) -> Ensemble {
    let s = NoiseStreams::new(1, 9);
    Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .unwrap()
}

fn flow(d: usize, kern: Kernelisation, cache: bool) -> FisherRao<MeanInteraction> {
    let f = MeanInteraction::new(1.0, vec![0.5; d]).unwrap();
    let params = FisherRaoParams::new(GaussianReference::standard(d).unwrap(), 1.0, 0.05)
        .unwrap()
        .with_kernelisation(kern, Kernel::bump(EPS, d).unwrap());
    let params = if cache {
        params
    } else {
        params.with_kernel_cache(0)
    };
    FisherRao::new(f, params).unwrap()
}

fn bench_group(c: &mut Criterion, name: &str, cache: bool) {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    for d in [1usize, 2] {
        for kern in Kernelisation::ALL {
            for n in SIZES {
                let mut fr = flow(d, kern, cache);
                let mut ens = start(n, d);
                let mut k = 0u64;
                g.bench_function(BenchmarkId::new(format!("d={d}/{kern:?}"), n), |b| {
                    b.iter(|| {
                        fr.step(StepKey::new(3, k), &mut ens).unwrap();
                        k += 1;
                    })
                });
            }
        }
    }
    g.finish();
}

fn step(c: &mut Criterion) {
    bench_group(c, "fisher_rao/step", false);
}

fn step_cached(c: &mut Criterion) {
    bench_group(c, "fisher_rao/step_cached", true);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    targets = step, step_cached
}
criterion_main!(benches);
