//! Criterion benches of the foundation: one MFLD step (sequential and rayon), the
//! determinant lemma on block-tridiagonal-plus-low-rank matrices, and sliced W2.
//!
//! Run: `cargo bench -p meanfield-benches --bench foundation`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use faer::Mat;
use meanfield::linalg::{
    LowRankWorkspace, SymTridiagonal, SymTridiagonalLdl, log_det_block_diag_plus_low_rank_in_place,
};
use meanfield::prelude::*;

fn start(n: usize, d: usize) -> Ensemble {
    let s = NoiseStreams::new(1, 9);
    Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .unwrap()
}

fn mfld_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("mfld_step");
    for &(n, d) in &[(10_000usize, 2usize), (100_000, 2), (10_000, 100)] {
        for par in [Parallelism::Sequential, Parallelism::Rayon] {
            let f = QuadraticInteraction::new(1.0, vec![0.5; d]).unwrap();
            let mut dy = Mfld::new(f, LangevinParams::new(0.5, 0.01).unwrap())
                .unwrap()
                .with_parallelism(par);
            let mut ens = start(n, d);
            let mut k = 0u64;
            g.bench_function(
                BenchmarkId::new(format!("{par:?}"), format!("N={n},d={d}")),
                |b| {
                    b.iter(|| {
                        dy.step(StepKey::new(3, k), &mut ens).unwrap();
                        k += 1;
                    })
                },
            );
        }
    }
    g.finish();
}

fn determinant_lemma(c: &mut Criterion) {
    let mut g = c.benchmark_group("determinant_lemma");
    for &(blocks, t, r) in &[(128usize, 256usize, 2usize), (128, 1024, 2)] {
        let ldl: Vec<SymTridiagonalLdl> = (0..blocks)
            .map(|b| {
                let diag = (0..t).map(|i| 3.0 + ((i + b) % 7) as f64 * 0.1).collect();
                let off = vec![-0.9; t - 1];
                SymTridiagonal::new(diag, off).unwrap().ldl().unwrap()
            })
            .collect();
        let n = blocks * t;
        let u = Mat::<f64>::from_fn(n, r, |i, j| (((i * 31 + j * 17) % 13) as f64 - 6.0) * 1e-3);
        let v = Mat::<f64>::from_fn(n, r, |i, j| (((i * 7 + j * 5) % 11) as f64 - 5.0) * 1e-3);
        let mut ws = LowRankWorkspace::new(n, r);
        g.bench_function(format!("{blocks}x tridiag({t}) + rank {r}"), |b| {
            b.iter(|| {
                log_det_block_diag_plus_low_rank_in_place(&ldl, u.as_ref(), v.as_ref(), &mut ws)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn sliced_w2(c: &mut Criterion) {
    let (x, y) = (start(10_000, 3), start(10_000, 3));
    c.bench_function("sliced_w2 N=1e4 d=3 50 projections", |b| {
        b.iter(|| meanfield::diagnostics::sliced_w2(&x, &y, 50, 1).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = mfld_step, determinant_lemma, sliced_w2
}
criterion_main!(benches);
