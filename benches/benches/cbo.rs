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
//! `variant_steps`: one step of each consensus variant of issue 17 at (N, d) = (1000, 20),
//! one thread, Rastrigin, α = 10, λ = σ = 1, dt = 0.01 — the settings of the test-profile
//! timing that `benches/peers/variants_run.sh` alternates with CBXpy (`docs/cbo.md` §11):
//! CBO with memory, PSO, CBS (sampling mode, α = 1, CBXpy's Euler scheme and symmetric
//! root), covariance-noise CBO, mirror CBO (log-barrier box), drift-constrained and
//! hypersurface CBO on the unit sphere.
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

/// One step per iteration of `dynamics` from `ensemble` (the run is not reset).
fn bench_steps<D: Dynamics>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut dynamics: D,
    ensemble: Ensemble,
) {
    let mut state = dynamics.init_state(ensemble, 7).unwrap();
    let mut k = 0u64;
    g.bench_function(BenchmarkId::new(name, "N=1000,d=20"), |b| {
        b.iter(|| {
            dynamics.step(StepKey::new(7, k), &mut state).unwrap();
            k += 1;
        })
    });
}

fn variant_steps(c: &mut Criterion) {
    use meanfield::integrators::{
        CboMemory, CboMemoryParams, CboNoise, Cbs, CbsMode, CbsParams, CbsScheme, ConstrainedCbo,
        ConstrainedCboParams, ConstraintScheme, CovarianceRoot, Hypersurface, MirrorCbo, Pso,
        PsoParams,
    };
    use meanfield::measures::{BoxBounds, InitialLaw, LogBarrier, streams};
    let mut g = c.benchmark_group("cbo/variants_rastrigin");
    g.sampling_mode(SamplingMode::Flat);
    let (n, d) = (1000, 20);
    let f = TestFunction::rastrigin(d).unwrap();
    let cbo = CboParams::new(1.0, 1.0, 0.01)
        .unwrap()
        .with_alpha(10.0)
        .unwrap();
    let cube = || uniform_ensemble(n, d, -3.0, 3.0, 1).unwrap();
    let memory = CboMemoryParams::new(cbo, 0.4).unwrap();
    bench_steps(
        &mut g,
        "memory",
        CboMemory::new(&f, memory).unwrap(),
        cube(),
    );
    let pso = PsoParams::new(memory, 0.001, 0.999).unwrap();
    bench_steps(&mut g, "pso", Pso::new(&f, pso).unwrap(), cube());
    // CBS in CBXpy's discretisation (Euler–Maruyama, symmetric root of C_α), α = 1.
    let cbs = CbsParams::new(CbsMode::Sampling, 0.01)
        .unwrap()
        .with_alpha(1.0)
        .unwrap()
        .with_scheme(CbsScheme::EulerMaruyama)
        .with_root(CovarianceRoot::Symmetric);
    bench_steps(&mut g, "cbs", Cbs::new(&f, cbs).unwrap(), cube());
    let cov = cbo.with_noise(CboNoise::Covariance(CbsMode::Sampling));
    bench_steps(&mut g, "covariance", Cbo::new(&f, cov).unwrap(), cube());
    let b = BoxBounds::uniform(d, -1.0, 1.0).unwrap();
    let inside = InitialLaw::UniformBox {
        lower: vec![-0.9; d],
        upper: vec![0.9; d],
    }
    .sample_on(n, Domain::Box(b.clone()), 1, streams::CBO_INIT)
    .unwrap();
    let mirror = MirrorCbo::new(&f, LogBarrier::new(b).unwrap(), cbo).unwrap();
    bench_steps(&mut g, "mirror", mirror, inside);
    let sphere = || Hypersurface::sphere(1.0).unwrap();
    let drift = ConstrainedCboParams::new(cbo, sphere(), ConstraintScheme::Drift { epsilon: 0.01 })
        .unwrap();
    bench_steps(
        &mut g,
        "drift",
        ConstrainedCbo::new(&f, drift).unwrap(),
        cube(),
    );
    let iso = cbo.with_noise(CboNoise::Isotropic);
    let hyper = ConstrainedCboParams::new(iso, sphere(), ConstraintScheme::Hypersurface).unwrap();
    bench_steps(
        &mut g,
        "hypersurface",
        ConstrainedCbo::new(&f, hyper).unwrap(),
        cube(),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(2500));
    targets = cbo_step, polar_cbo_step, variant_steps
}
criterion_main!(benches);
