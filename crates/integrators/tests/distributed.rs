//! Distributed runs with ranks as threads ([`ThreadCollective`], the same protocol as the
//! MPI implementation in `crates/mpi`): for every covered family (MFLD, its projected,
//! mirror and adjusted variants, CBO (also with covariance noise), consensus-based
//! sampling, particle EM's PGD, MPD and PQN, the Fisher–Rao
//! flow's density-ratio and kernelised variants, weighted) the gathered final
//! checkpoint of a run on 1, 2, 3 and 4 ranks is byte-for-byte the single-process
//! checkpoint; a run resumed from a 2-rank checkpoint on 3 ranks continues the identical
//! path; a failure on one rank (non-finite state, an error inside a step before a
//! collective, an observer error) stops every rank with the same `RankFailed` error, within
//! a timeout (no rank hangs). docs/distributed.md.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use meanfield_energy::{
    BayesianLogistic, Functional, HierarchicalGaussian, LatentModel, MeanInteraction, Objective,
    QuadraticInteraction, SimplexMoment, TestFunction,
};
use meanfield_integrators::cbo::{
    AlphaSchedule, Cbo, CboNoise, CboParams, CboState, Cbs, CbsMode, CbsParams, CbsScheme,
    CovarianceRoot,
};
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, Control, DistributedState, Dynamics, FisherRao,
    FisherRaoParams, GaussianReference, IntegratorError, Kernelisation, LangevinParams, Mfld,
    MirrorMfld, Mpd, MpdParams, Pgd, PgdParams, Pmgd, PmgdParams, PositivityGuard, Pqn,
    ProjectedMfld, WeightStep,
};
use meanfield_measures::{
    BoxBounds, Collective, Domain, Ensemble, InitialLaw, Kernel, LogBarrier, Parallelism,
    Partition, ThreadCollective, streams,
};

/// N = 4·1024 + 300: five blocks, the last one partial, so 4 ranks get unequal shares.
const N: usize = 4 * 1024 + 300;
const SEED: u64 = 2026;
/// Per-test wall-clock limit: a rank waiting forever fails the test instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `f` on a helper thread and fails the test if it does not finish within `TIMEOUT`.
fn within_timeout<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(TIMEOUT)
        .expect("a distributed run did not finish within the timeout (a rank hangs)")
}

/// What every rank returns: the gathered checkpoint as JSON, the mean acceptance.
type RankResult = Result<(String, Option<f64>), IntegratorError>;

/// Runs `start` (a global checkpoint) from its step to `steps` on `ranks` thread-ranks
/// with dynamics from `make`, every rank with its own scattered part; `observe(rank, step)`
/// may fail a rank's observer.
fn run_on_ranks<D>(
    make: impl Fn() -> D + Sync,
    start: &Checkpoint<D::State>,
    ranks: usize,
    steps: u64,
    observe: impl Fn(usize, u64) -> bool + Sync,
) -> Vec<RankResult>
where
    D: Dynamics,
    D::State: DistributedState + Sync,
{
    let group = ThreadCollective::group(ranks).unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = group
            .into_iter()
            .map(|c| {
                let (make, start, observe) = (&make, start, &observe);
                scope.spawn(move || -> RankResult {
                    let rank = c.rank();
                    let c: Arc<dyn Collective> = Arc::new(c);
                    let mut checkpoint = start.scattered(c)?;
                    let mut dynamics = make();
                    let summary = dynamics
                        .runner(steps)
                        .observe(1, |o| {
                            if observe(rank, o.step) {
                                Err(format!("observer of rank {rank} gave up at {}", o.step).into())
                            } else {
                                Ok(Control::Continue)
                            }
                        })
                        .run(&mut dynamics, &mut checkpoint)?;
                    Ok((checkpoint.gathered()?.to_json()?, summary.mean_acceptance))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The single-process run: final checkpoint JSON and mean acceptance.
fn single<D: Dynamics>(mut dynamics: D, start: &Checkpoint<D::State>, steps: u64) -> RankResult {
    let mut checkpoint = start.clone();
    let summary = dynamics.runner(steps).run(&mut dynamics, &mut checkpoint)?;
    Ok((checkpoint.to_json()?, summary.mean_acceptance))
}

/// Every rank count 1–4 gives the single-process checkpoint byte for byte (and the same
/// acceptance bits).
fn check_rank_invariance<D>(make: impl Fn() -> D + Sync, start: Checkpoint<D::State>, steps: u64)
where
    D: Dynamics,
    D::State: DistributedState + Sync,
{
    let reference = single(make(), &start, steps).unwrap();
    for ranks in 1..=4 {
        for (rank, got) in run_on_ranks(&make, &start, ranks, steps, |_, _| false)
            .into_iter()
            .enumerate()
        {
            let got = got.unwrap();
            assert!(
                got.0 == reference.0,
                "{ranks} ranks, rank {rank}: the gathered checkpoint differs from the single-process one"
            );
            assert_eq!(
                got.1.map(f64::to_bits),
                reference.1.map(f64::to_bits),
                "{ranks} ranks: acceptance"
            );
        }
    }
}

fn gaussian(n: usize, d: usize) -> Ensemble {
    InitialLaw::isotropic_gaussian(d, 0.5, 1.0)
        .sample(n, SEED, streams::INITIAL_POSITIONS)
        .unwrap()
}

fn langevin(lambda: f64, eta: f64) -> LangevinParams {
    LangevinParams::new(lambda, eta).unwrap()
}

#[test]
fn mfld_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        Mfld::new(
            QuadraticInteraction::new(2.0, vec![1.0, -1.0, 0.5]).unwrap(),
            langevin(0.3, 0.05),
        )
        .unwrap()
        .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), gaussian(N, 3), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 12));
}

#[test]
fn projected_mfld_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        ProjectedMfld::new(
            SimplexMoment::new(vec![0.5, 0.3, 0.2], 0.0).unwrap(),
            langevin(0.1, 0.02),
        )
        .unwrap()
    };
    let ens = InitialLaw::Dirichlet {
        alpha: vec![2.0; 3],
    }
    .sample(N, SEED, streams::INITIAL_POSITIONS)
    .unwrap();
    let start = Checkpoint::start(&make(), ens, SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 10));
}

fn in_box(n: usize) -> Ensemble {
    let b = BoxBounds::uniform(2, 0.0, 2.0).unwrap();
    InitialLaw::UniformBox {
        lower: b.lower().to_vec(),
        upper: b.upper().to_vec(),
    }
    .sample_on(n, Domain::Box(b), SEED, streams::INITIAL_POSITIONS)
    .unwrap()
}

#[test]
fn mirror_mfld_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        MirrorMfld::new(
            QuadraticInteraction::new(1.0, vec![1.5, 0.5]).unwrap(),
            LogBarrier::new(BoxBounds::uniform(2, 0.0, 2.0).unwrap()).unwrap(),
            langevin(0.2, 0.02),
        )
        .unwrap()
    };
    let start = Checkpoint::start(&make(), in_box(N), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 10));
}

#[test]
fn adjusted_mirror_mfld_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        AdjustedMirrorMfld::new(
            QuadraticInteraction::new(1.0, vec![1.5, 0.5]).unwrap(),
            LogBarrier::new(BoxBounds::uniform(2, 0.0, 2.0).unwrap()).unwrap(),
            langevin(0.2, 0.05),
        )
        .unwrap()
    };
    let start = Checkpoint::start(&make(), in_box(N), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 10));
}

/// The starting checkpoint of a consensus dynamics (CBO, CBS): uniform on [−3, 3]^d.
fn cbo_start<D: Dynamics<State = CboState>>(dynamics: &D, d: usize) -> Checkpoint<CboState> {
    let ens = InitialLaw::uniform_cube(d, -3.0, 3.0)
        .sample(N, SEED, streams::CBO_INIT)
        .unwrap();
    Checkpoint::start(dynamics, ens, SEED).unwrap()
}

#[test]
fn cbo_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        let p = CboParams::new(1.0, 4.0, 0.01)
            .unwrap()
            .with_alpha(30.0)
            .unwrap()
            .with_schedule(AlphaSchedule::cbxpy_default())
            .unwrap();
        Cbo::new(TestFunction::rastrigin(4).unwrap(), p)
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = cbo_start(&make(), 4);
    within_timeout(move || check_rank_invariance(make, start, 15));
}

#[test]
fn isotropic_cbo_with_the_ess_schedule_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        let p = CboParams::new(1.0, 0.7, 0.05)
            .unwrap()
            .with_noise(CboNoise::Isotropic)
            .with_schedule(AlphaSchedule::EffectiveSampleSize {
                eta: 0.5,
                min: 1e-5,
                max: 1e5,
            })
            .unwrap();
        Cbo::new(TestFunction::ackley(3).unwrap(), p).unwrap()
    };
    let start = cbo_start(&make(), 3);
    within_timeout(move || check_rank_invariance(make, start, 10));
}

#[test]
fn cbs_is_bitwise_identical_on_any_rank_count() {
    // The paper's exponential scheme with the Cholesky root, sampling mode, the ESS
    // schedule (the weighted covariance is one block reduction of 1 + d(d+1)/2 sums).
    let make = || {
        let p = CbsParams::new(CbsMode::Sampling, 0.5)
            .unwrap()
            .with_alpha(1.0)
            .unwrap()
            .with_schedule(AlphaSchedule::EffectiveSampleSize {
                eta: 0.5,
                min: 1e-5,
                max: 1e5,
            })
            .unwrap();
        Cbs::new(TestFunction::rastrigin(3).unwrap(), p)
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = cbo_start(&make(), 3);
    within_timeout(move || check_rank_invariance(make, start, 10));
    // CBXpy's Euler–Maruyama scheme with the symmetric root, optimisation mode.
    let make = || {
        let p = CbsParams::new(CbsMode::Optimization, 0.1)
            .unwrap()
            .with_alpha(10.0)
            .unwrap()
            .with_scheme(CbsScheme::EulerMaruyama)
            .with_root(CovarianceRoot::Symmetric);
        Cbs::new(TestFunction::ackley(2).unwrap(), p).unwrap()
    };
    let start = cbo_start(&make(), 2);
    within_timeout(move || check_rank_invariance(make, start, 10));
}

#[test]
fn cbo_with_covariance_noise_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        let p = CboParams::new(1.0, 0.8, 0.05)
            .unwrap()
            .with_alpha(10.0)
            .unwrap()
            .with_noise(CboNoise::Covariance(CbsMode::Optimization));
        Cbo::new(TestFunction::rastrigin(3).unwrap(), p).unwrap()
    };
    let start = cbo_start(&make(), 3);
    within_timeout(move || check_rank_invariance(make, start, 10));
}

/// k steps on 2 ranks → gathered JSON → 3 ranks for the rest ≡ K steps in one process.
#[test]
fn resuming_a_two_rank_checkpoint_on_three_ranks_continues_the_path() {
    within_timeout(|| {
        let make = || {
            Mfld::new(
                QuadraticInteraction::new(2.0, vec![1.0, -1.0]).unwrap(),
                langevin(0.3, 0.05),
            )
            .unwrap()
        };
        let start = Checkpoint::start(&make(), gaussian(N, 2), SEED).unwrap();
        let reference = single(make(), &start, 12).unwrap().0;
        let half = run_on_ranks(make, &start, 2, 5, |_, _| false);
        let json = half[0].as_ref().unwrap().0.clone();
        assert_eq!(
            half[1].as_ref().unwrap().0,
            json,
            "both ranks gather the same"
        );
        let resumed = Checkpoint::from_json(&json).unwrap();
        assert_eq!(resumed.step, 5);
        for got in run_on_ranks(make, &resumed, 3, 12, |_, _| false) {
            assert!(got.unwrap().0 == reference, "resumed path differs");
        }

        let make_cbo = || {
            Cbo::new(
                TestFunction::rastrigin(3).unwrap(),
                CboParams::new(1.0, 3.0, 0.01).unwrap(),
            )
            .unwrap()
        };
        let start = cbo_start(&make_cbo(), 3);
        let reference = single(make_cbo(), &start, 12).unwrap().0;
        let half = run_on_ranks(make_cbo, &start, 2, 7, |_, _| false);
        let resumed = Checkpoint::from_json(&half[0].as_ref().unwrap().0).unwrap();
        for got in run_on_ranks(make_cbo, &resumed, 3, 12, |_, _| false) {
            assert!(got.unwrap().0 == reference, "resumed CBO path differs");
        }

        let make_mpd = || Mpd::new(toy_model(), mpd_params()).unwrap();
        let start = Checkpoint::start(&make_mpd(), latent_particles(3), SEED).unwrap();
        let reference = single(make_mpd(), &start, 12).unwrap().0;
        let half = run_on_ranks(make_mpd, &start, 2, 6, |_, _| false);
        let resumed = Checkpoint::from_json(&half[0].as_ref().unwrap().0).unwrap();
        for got in run_on_ranks(make_mpd, &resumed, 3, 12, |_, _| false) {
            assert!(got.unwrap().0 == reference, "resumed MPD path differs");
        }

        // A weighted ensemble: the gathered checkpoint carries the global weights.
        let make_fr = || fisher_rao(Kernelisation::DensityRatio, WeightStep::Exponentiated);
        let start = Checkpoint::start(&make_fr(), reference_sample(), SEED).unwrap();
        let reference = single(make_fr(), &start, 12).unwrap().0;
        let half = run_on_ranks(make_fr, &start, 2, 5, |_, _| false);
        let resumed = Checkpoint::from_json(&half[0].as_ref().unwrap().0).unwrap();
        for got in run_on_ranks(make_fr, &resumed, 3, 12, |_, _| false) {
            assert!(
                got.unwrap().0 == reference,
                "resumed Fisher–Rao path differs"
            );
        }

        let make_pgd = || Pgd::new(logistic_model(), PgdParams::new(0.01, 0.01).unwrap()).unwrap();
        let start = Checkpoint::start(&make_pgd(), latent_particles(4), SEED).unwrap();
        let reference = single(make_pgd(), &start, 12).unwrap().0;
        let half = run_on_ranks(make_pgd, &start, 2, 5, |_, _| false);
        let resumed = Checkpoint::from_json(&half[0].as_ref().unwrap().0).unwrap();
        for got in run_on_ranks(make_pgd, &resumed, 3, 12, |_, _| false) {
            assert!(got.unwrap().0 == reference, "resumed PGD path differs");
        }
    });
}

/// The toy hierarchical Gaussian model with M = 3 observations around 3.
fn toy_model() -> HierarchicalGaussian {
    HierarchicalGaussian::new(vec![2.1, 3.4, 3.9]).unwrap()
}

/// Bayesian logistic regression, K = 4 features, M = 30 data (batches of 32 particles).
fn logistic_model() -> BayesianLogistic {
    let (m, k) = (30, 4);
    let f: Vec<f64> = (0..m * k).map(|i| ((i as f64) * 0.37).sin()).collect();
    let y: Vec<f64> = (0..m).map(|j| ((j % 3) == 0) as u8 as f64).collect();
    BayesianLogistic::new(f, y, k, 5.0).unwrap()
}

fn latent_particles(d: usize) -> Ensemble {
    InitialLaw::isotropic_gaussian(d, 0.0, 1.0)
        .sample(N, SEED, streams::INITIAL_POSITIONS)
        .unwrap()
}

#[test]
fn pgd_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        Pgd::new(toy_model(), PgdParams::new(0.05, 0.05).unwrap())
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), latent_particles(3), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 12));
    let make = || Pgd::new(logistic_model(), PgdParams::new(0.01, 0.01).unwrap()).unwrap();
    let start = Checkpoint::start(&make(), latent_particles(4), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 8));
}

fn mpd_params() -> MpdParams {
    MpdParams::new(0.05, 0.05)
        .unwrap()
        .with_theta_momentum(1.0, 0.5)
        .unwrap()
        .with_particle_momentum(1.0, 2.0)
        .unwrap()
}

#[test]
fn mpd_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        Mpd::new(toy_model(), mpd_params())
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), latent_particles(3), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 12));
    let make = || Mpd::new(logistic_model(), mpd_params()).unwrap();
    let start = Checkpoint::start(&make(), latent_particles(4), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 8));
}

/// PMGD: θ*(q) on the all-gathered particles (toy model; logistic with batches of 32).
#[test]
fn pmgd_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        Pmgd::new(toy_model(), PmgdParams::new(0.01).unwrap())
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), latent_particles(3), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 10));
    let make = || {
        Pmgd::new(logistic_model(), PmgdParams::new(0.01).unwrap())
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), latent_particles(4), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 5));
}

#[test]
fn pqn_is_bitwise_identical_on_any_rank_count() {
    let make = || Pqn::new(logistic_model(), PgdParams::new(0.5, 0.01).unwrap()).unwrap();
    let start = Checkpoint::start(&make(), latent_particles(4), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 8));
}

/// The momenta are drawn per global particle: MPD's initial state drawn on the shards
/// (`init_state` of each rank's particles) gathers to the single-process initial state.
#[test]
fn mpd_momenta_drawn_on_shards_are_the_single_process_momenta() {
    within_timeout(|| {
        let mpd = Mpd::new(toy_model(), mpd_params()).unwrap();
        let particles = latent_particles(3);
        let reference = mpd.init_state(particles.clone(), SEED).unwrap();
        for ranks in [2, 3, 4] {
            let group = ThreadCollective::group(ranks).unwrap();
            std::thread::scope(|scope| {
                for c in group {
                    let (mpd, particles, reference) = (&mpd, &particles, &reference);
                    scope.spawn(move || {
                        let shard = particles.scatter(Arc::new(c)).unwrap();
                        let state = mpd.init_state(shard, SEED).unwrap();
                        assert!(state.gathered().unwrap() == *reference, "{ranks} ranks");
                    });
                }
            });
        }
    });
}

/// Fisher–Rao towards π = N(0, I) for the mean interaction in d = 2: density ratio (no
/// kernel) or a kernelised variant with the bump kernel of radius 0.5 (compact: few
/// neighbours, a fast test).
fn fisher_rao(kern: Kernelisation, step: WeightStep) -> FisherRao<MeanInteraction> {
    let d = 2;
    let params = FisherRaoParams::new(GaussianReference::standard(d).unwrap(), 0.7, 0.05)
        .unwrap()
        .with_kernelisation(kern, Kernel::bump(0.5, d).unwrap())
        .with_step(step);
    FisherRao::new(MeanInteraction::new(1.5, vec![1.0, -0.5]).unwrap(), params).unwrap()
}

/// Positions drawn from π = N(0, I) (the density ratio needs a π-sample).
fn reference_sample() -> Ensemble {
    InitialLaw::isotropic_gaussian(2, 0.0, 1.0)
        .sample(N, SEED, streams::INITIAL_POSITIONS)
        .unwrap()
}

#[test]
fn density_ratio_fisher_rao_is_bitwise_identical_on_any_rank_count() {
    let make = || {
        fisher_rao(Kernelisation::DensityRatio, WeightStep::Exponentiated)
            .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), reference_sample(), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 15));
    // The Euler step with the shrinking guard: the step length depends on the global
    // maximum rate.
    let make = || {
        let params = FisherRaoParams::new(GaussianReference::standard(2).unwrap(), 0.7, 2.0)
            .unwrap()
            .with_step(WeightStep::Euler)
            .with_guard(PositivityGuard::Shrink { safety: 0.5 })
            .unwrap();
        FisherRao::new(MeanInteraction::new(1.5, vec![1.0, -0.5]).unwrap(), params).unwrap()
    };
    let start = Checkpoint::start(&make(), reference_sample(), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 6));
}

#[test]
fn kernelised_fisher_rao_is_bitwise_identical_on_any_rank_count() {
    for kern in Kernelisation::KERNELISED {
        let make = move || fisher_rao(kern, WeightStep::Exponentiated);
        let start = Checkpoint::start(&make(), reference_sample(), SEED).unwrap();
        within_timeout(move || check_rank_invariance(make, start, 4));
    }
    // Wasserstein–Fisher–Rao: the positions move, so the sources are gathered every step.
    let make = || {
        let params = FisherRaoParams::new(GaussianReference::standard(2).unwrap(), 0.7, 0.05)
            .unwrap()
            .with_kernelisation(Kernelisation::SmoothedKl, Kernel::bump(0.5, 2).unwrap())
            .with_transport();
        FisherRao::new(MeanInteraction::new(1.5, vec![1.0, -0.5]).unwrap(), params)
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), reference_sample(), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 4));
}

/// ∇δF/δμ = x + κ(m − b), and NaN for particles with x₀ > 40 (one particle, placed there).
struct PoisonedQuadratic(QuadraticInteraction);

impl Functional for PoisonedQuadratic {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, ens: &Ensemble) -> meanfield_energy::Result<f64> {
        self.0.value(ens)
    }
    fn first_variation_grad(
        &self,
        ens: &Ensemble,
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        self.0.first_variation_grad(ens, out)?;
        for (o, x) in out.chunks_exact_mut(ens.dim()).zip(ens.rows()) {
            if x[0] > 40.0 {
                o[0] = f64::NAN;
            }
        }
        Ok(())
    }
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> meanfield_energy::Result<()> {
        self.0.first_variation(ens, out)
    }
}

/// Rastrigin, but NaN at points with x₀ > 40 (a NaN objective value is an error inside
/// the CBO step, raised before the rank reaches the step's first collective).
struct PoisonedObjective(TestFunction);

impl Objective for PoisonedObjective {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        if x[0] > 40.0 {
            f64::NAN
        } else {
            self.0.value(x)
        }
    }
}

/// The rank that owns global particle `i` when N particles are split over `ranks`.
fn owner(i: usize, ranks: usize) -> usize {
    (0..ranks)
        .find(|&r| Partition::new(N, ranks, r).unwrap().range().contains(&i))
        .unwrap()
}

const POISONED: usize = 2500;

fn assert_all_failed(results: Vec<RankResult>, step: u64, rank: usize) {
    for (r, got) in results.into_iter().enumerate() {
        match got {
            Err(IntegratorError::RankFailed {
                step: s,
                rank: failed,
                ref reason,
            }) => {
                assert_eq!((s, failed), (step, rank), "rank {r}: {reason}");
            }
            other => {
                panic!("rank {r}: expected RankFailed at step {step} on rank {rank}, got {other:?}")
            }
        }
    }
}

#[test]
fn a_non_finite_state_on_one_rank_stops_every_rank() {
    within_timeout(|| {
        let make = || {
            Mfld::new(
                PoisonedQuadratic(QuadraticInteraction::new(1.0, vec![0.0, 0.0]).unwrap()),
                langevin(0.3, 0.05),
            )
            .unwrap()
        };
        let mut ens = gaussian(N, 2);
        ens.particle_mut(POISONED)[0] = 45.0;
        let start = Checkpoint::start(&make(), ens, SEED).unwrap();
        // Single process: the divergence of step 1 (the first step's result is NaN).
        match single(make(), &start, 5) {
            Err(IntegratorError::Diverged { step: 1, .. }) => {}
            other => panic!("expected Diverged at step 1, got {other:?}"),
        }
        for ranks in [2, 3, 4] {
            let results = run_on_ranks(make, &start, ranks, 5, |_, _| false);
            assert_all_failed(results, 1, owner(POISONED, ranks));
        }
    });
}

#[test]
fn an_error_inside_a_step_on_one_rank_stops_every_rank() {
    within_timeout(|| {
        let make = || {
            Cbo::new(
                PoisonedObjective(TestFunction::rastrigin(2).unwrap()),
                CboParams::new(1.0, 1.0, 0.01).unwrap(),
            )
            .unwrap()
        };
        let mut ens = InitialLaw::uniform_cube(2, -3.0, 3.0)
            .sample(N, SEED, streams::CBO_INIT)
            .unwrap();
        ens.particle_mut(POISONED)[0] = 45.0;
        let start = Checkpoint::start(&make(), ens, SEED).unwrap();
        for ranks in [2, 3, 4] {
            let results = run_on_ranks(make, &start, ranks, 5, |_, _| false);
            assert_all_failed(results, 1, owner(POISONED, ranks));
        }
    });
}

#[test]
fn an_observer_error_on_one_rank_stops_every_rank() {
    within_timeout(|| {
        let make = || {
            Mfld::new(
                QuadraticInteraction::new(1.0, vec![0.0, 0.0]).unwrap(),
                langevin(0.3, 0.05),
            )
            .unwrap()
        };
        let start = Checkpoint::start(&make(), gaussian(N, 2), SEED).unwrap();
        let results = run_on_ranks(make, &start, 3, 10, |rank, step| rank == 2 && step == 4);
        assert_all_failed(results, 4, 2);
    });
}

/// The CBO parameters of the consensus variants' runs below (ESS-free multiplicative α).
fn variant_params(noise: CboNoise) -> CboParams {
    CboParams::new(1.0, 0.8, 0.02)
        .unwrap()
        .with_alpha(10.0)
        .unwrap()
        .with_schedule(AlphaSchedule::cbxpy_default())
        .unwrap()
        .with_noise(noise)
}

/// Uniform on [−3, 3]^d (the consensus variants' start).
fn cube(d: usize) -> Ensemble {
    InitialLaw::uniform_cube(d, -3.0, 3.0)
        .sample(N, SEED, streams::CBO_INIT)
        .unwrap()
}

#[test]
fn constrained_cbo_is_bitwise_identical_on_any_rank_count() {
    use meanfield_integrators::cbo::{
        ConstrainedCbo, ConstrainedCboParams, ConstraintScheme, Hypersurface,
    };
    for (scheme, noise) in [
        (ConstraintScheme::Hypersurface, CboNoise::Anisotropic),
        (
            ConstraintScheme::Drift { epsilon: 0.05 },
            CboNoise::Isotropic,
        ),
    ] {
        let make = move || {
            let p = ConstrainedCboParams::new(
                variant_params(noise),
                Hypersurface::sphere(1.5).unwrap(),
                scheme,
            )
            .unwrap();
            ConstrainedCbo::new(TestFunction::rastrigin(3).unwrap(), p)
                .unwrap()
                .with_parallelism(Parallelism::Rayon)
        };
        let start = Checkpoint::start(&make(), cube(3), SEED).unwrap();
        within_timeout(move || check_rank_invariance(make, start, 8));
    }
}

#[test]
fn mirror_cbo_is_bitwise_identical_on_any_rank_count() {
    use meanfield_integrators::cbo::{ElasticNet, MirrorCbo};
    let make = || {
        MirrorCbo::new(
            TestFunction::rastrigin(3).unwrap(),
            ElasticNet::new(1.0, 0.1).unwrap(),
            variant_params(CboNoise::Anisotropic),
        )
        .unwrap()
        .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), cube(3), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 8));
}

#[test]
fn cbo_with_memory_and_pso_are_bitwise_identical_on_any_rank_count() {
    use meanfield_integrators::cbo::{CboMemory, CboMemoryParams, Pso, PsoParams};
    let memory = || CboMemoryParams::new(variant_params(CboNoise::Anisotropic), 0.4).unwrap();
    let make = move || {
        CboMemory::new(TestFunction::rastrigin(3).unwrap(), memory())
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), cube(3), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 8));
    let make = move || {
        Pso::new(
            TestFunction::rastrigin(3).unwrap(),
            PsoParams::new(memory(), 0.1, 0.9).unwrap(),
        )
        .unwrap()
        .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), cube(3), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 8));
}

#[test]
fn polarised_cbo_is_bitwise_identical_on_any_rank_count() {
    use meanfield_integrators::cbo::{KernelScale, PolarCbo, PolarCboParams};
    let make = || {
        let p = PolarCboParams::new(variant_params(CboNoise::Anisotropic), 0.8)
            .unwrap()
            .with_kernel_scale(KernelScale::Alpha);
        PolarCbo::new(TestFunction::rastrigin(2).unwrap(), p)
            .unwrap()
            .with_parallelism(Parallelism::Rayon)
    };
    let start = Checkpoint::start(&make(), cube(2), SEED).unwrap();
    within_timeout(move || check_rank_invariance(make, start, 3));
}

/// A partition needs at least one block per rank; weights normalised on one rank cannot
/// be attached to a shard; families without distributed statistics (resampling
/// Fisher–Rao, mini-batched CBO, models with odd batches) refuse a shard.
#[test]
fn unsupported_distributed_settings_are_typed_errors() {
    assert!(Partition::new(1024, 2, 0).is_err());
    assert!(Partition::new(1025, 2, 1).is_ok());
    assert!(Partition::new(10, 1, 1).is_err());
    let group = ThreadCollective::group(1).unwrap();
    let c: Arc<dyn Collective> = Arc::new(group.into_iter().next().unwrap());
    // Weights normalised on one rank cannot be attached to a shard (scatter a weighted
    // ensemble instead, which keeps its part of the global weights).
    let shard = gaussian(100, 2).scatter(c.clone()).unwrap();
    assert!(
        shard
            .clone()
            .set_weights(meanfield_measures::Weights::uniform(100).unwrap())
            .is_err()
    );
    // Systematic resampling copies particles across ranks: refused on a shard.
    let resampling = FisherRao::new(
        MeanInteraction::new(1.0, vec![0.0, 0.0]).unwrap(),
        FisherRaoParams::new(GaussianReference::standard(2).unwrap(), 0.7, 0.05)
            .unwrap()
            .with_kernelisation(
                Kernelisation::EvolvingMeasure,
                Kernel::gaussian(0.4, 2).unwrap(),
            )
            .with_resampling(0.5)
            .unwrap(),
    )
    .unwrap();
    match Checkpoint::start(&resampling, shard.clone(), 1) {
        Err(IntegratorError::IncompatibleState(msg)) => {
            assert!(msg.contains("resampling"), "{msg}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let batched = Cbo::new(
        TestFunction::rastrigin(2).unwrap(),
        CboParams::new(1.0, 1.0, 0.01)
            .unwrap()
            .with_batch(Some(meanfield_integrators::cbo::Batch {
                size: 10,
                partial: true,
            }))
            .unwrap(),
    )
    .unwrap();
    match Checkpoint::start(&batched, shard.clone(), 1) {
        Err(IntegratorError::IncompatibleState(msg)) => assert!(msg.contains("mini-batched")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A model whose gradient batches do not divide the blocks is refused on a shard.
    let pgd = Pgd::new(OddBatches(toy_model()), PgdParams::new(0.1, 0.1).unwrap()).unwrap();
    let shard = latent_particles(3).scatter(c.clone()).unwrap();
    match Checkpoint::start(&pgd, shard, 1) {
        Err(IntegratorError::IncompatibleState(msg)) => assert!(msg.contains("batches"), "{msg}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The toy model with gradient batches of 3 particles (3 does not divide 1024).
struct OddBatches(HierarchicalGaussian);

impl LatentModel for OddBatches {
    fn theta_dim(&self) -> usize {
        self.0.theta_dim()
    }
    fn latent_dim(&self) -> usize {
        self.0.latent_dim()
    }
    fn energy(&self, theta: &[f64], x: &[f64]) -> meanfield_energy::Result<f64> {
        self.0.energy(theta, x)
    }
    fn grad_theta(
        &self,
        theta: &[f64],
        x: &[f64],
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        self.0.grad_theta(theta, x, out)
    }
    fn grad_x(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> meanfield_energy::Result<()> {
        self.0.grad_x(theta, x, out)
    }
    fn batch_size(&self) -> usize {
        3
    }
}
