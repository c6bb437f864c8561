//! Criterion bench of one MF-MGDM step with the log-determinant of its Jacobian at the
//! paper's size: N = 128 paths of length T = 1024, ACF(1) features (K = 2), γ = 10, one
//! coupling group of N. Per step: per path one tridiagonal LDLᵀ, K = 2 solves and a
//! K × K product; one K × K LU for the capacitance matrix — O(N T K²), no dense T × T.
//! Also: MGDM (independent paths) with log-det, and MF-MGDM without log-det, each
//! sequential and on the rayon pool.
//!
//! Run: `cargo bench -p meanfield-benches --bench mgdm -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use meanfield_energy::{Acf1, FeatureMap};
use meanfield_integrators::{Coupling, Mgdm, MgdmParams};
use meanfield_measures::{NoiseStreams, Parallelism};

const N: usize = 128;
const T: usize = 1024;

fn start() -> Vec<f64> {
    let s = NoiseStreams::new(1, 41);
    let mut x = vec![0.0; N * T];
    for (i, row) in x.chunks_exact_mut(T).enumerate() {
        s.fill_standard_normal(0, i as u64, row);
    }
    x
}

/// α of AR(0.1) with unit variance: Φ₁ ≈ 0.1 (T−1)/T, Φ₂ ≈ (T−1)/T.
fn alpha() -> Vec<f64> {
    let f = (T - 1) as f64 / T as f64;
    vec![0.1 * f, f]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mgdm_step_N128_T1024");
    for (label, coupling, track) in [
        ("mf_mgdm_logdet", Coupling::Groups(N), true),
        ("mgdm_logdet", Coupling::Independent, true),
        ("mf_mgdm_no_logdet", Coupling::Groups(N), false),
    ] {
        for par in [Parallelism::Sequential, Parallelism::Rayon] {
            let map = Acf1::new(T).unwrap();
            assert_eq!(map.n_features(), 2);
            let params = MgdmParams::new(10.0)
                .and_then(|p| p.with_coupling(coupling))
                .unwrap()
                .with_log_det(track);
            let mut m = Mgdm::new(map, alpha(), params)
                .unwrap()
                .with_parallelism(par);
            let mut x = start();
            let mut k = 0;
            g.bench_function(BenchmarkId::new(label, format!("{par:?}")), |b| {
                b.iter(|| {
                    let r = m.step_paths(&mut x, k).unwrap();
                    k += 1;
                    r.log_det
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
