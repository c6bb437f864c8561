//! Criterion benches of one PGD and one MPD step on Bayesian logistic regression (the
//! `mpgd-blr` model: all 569 breast-cancer rows, 30 standardised features, prior
//! N(θ·1, 5I)), N = 100 particles, h = 1e-2 (MPD with the experiment's η = 10, γ = 0.3),
//! each sequential and on the rayon pool. The state is not reset between iterations.
//!
//! Run: `cargo bench -p meanfield-benches --bench particle_em`. The NumPy/JAX comparison
//! of the same PGD loop is `benches/peers/pgd_run.sh`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use meanfield::energy::LatentModel;
use meanfield::integrators::{Checkpoint, Dynamics, LatentState, Mpd, MpdParams, Pgd, PgdParams};
use meanfield::prelude::*;
use meanfield_benches::blr_model;

const N: usize = 100;
const MODES: [Parallelism; 2] = [Parallelism::Sequential, Parallelism::Rayon];

fn start(d: usize) -> Ensemble {
    let s = NoiseStreams::new(1, 9);
    Ensemble::from_fn(N, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .unwrap()
}

fn bench_step<D: Dynamics<State = LatentState>>(
    c: &mut Criterion,
    name: &str,
    mut make: impl FnMut(Parallelism) -> (D, Ensemble),
) {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for mode in MODES {
        let (mut dynamics, particles) = make(mode);
        let mut ck = Checkpoint::start(&dynamics, particles, 3).unwrap();
        g.bench_function(BenchmarkId::new(format!("{mode:?}"), N), |b| {
            b.iter(|| {
                dynamics.step(ck.key(), &mut ck.state).unwrap();
                ck.step += 1;
            })
        });
    }
    g.finish();
}

fn particle_em(c: &mut Criterion) {
    let model = blr_model().expect("breast-cancer data");
    let d = model.latent_dim();
    bench_step(c, "pgd_step_blr", |mode| {
        let pgd = Pgd::new(model.clone(), PgdParams::new(1e-2, 1e-2).unwrap())
            .unwrap()
            .with_parallelism(mode);
        (pgd, start(d))
    });
    bench_step(c, "mpd_step_blr", |mode| {
        let params = MpdParams::new(1e-2, 1e-2)
            .and_then(|p| p.with_theta_momentum(10.0, 0.3))
            .and_then(|p| p.with_particle_momentum(10.0, 0.3))
            .unwrap();
        let mpd = Mpd::new(model.clone(), params)
            .unwrap()
            .with_parallelism(mode);
        (mpd, start(d))
    });
}

criterion_group!(benches, particle_em);
criterion_main!(benches);
