//! The [`Dynamics`] contract, family by family, through one set of generic helpers
//! (written once over `D: Dynamics`; each family module only says how to build its
//! dynamics and its starting ensemble):
//!
//! - (a) k steps → JSON checkpoint → the remaining steps is bit for bit one uninterrupted
//!   run (state and time), resumed by a fresh dynamics object and by the one that wrote
//!   the checkpoint;
//! - (b) sequential, rayon on 1 thread and rayon on 3 threads give the same bits;
//! - (c) a checkpoint is refused ([`IntegratorError::Checkpoint`]) by dynamics with
//!   another energy parameter (and, for the mirror schemes, another mirror box), and left
//!   untouched;
//! - (d) stop criteria: a [`Stop::when`] predicate stops every family at the predicted
//!   step; energy tolerance and stagnation fire on CBO, the ESS floor on Fisher–Rao, each
//!   at the first step that meets it; a criterion needing a quantity the family does not
//!   report is [`IntegratorError::UnsupportedStop`];
//! - (e) an observer's own error type comes back downcastable from
//!   [`IntegratorError::Observer`];
//! - (f) [`run_many`] does not depend on the thread count and replica r is the single run
//!   with seed `replicate_seed(seed, 0, r)`;
//! - (g) a step is a pure function of (state, key): one dynamics object driving two runs
//!   in alternation gives the bits of two separate objects;
//! - (h) the run's bits hash to the family's `PATH_BITS`, recorded from the code of
//!   commit 04f42a2 (before the inlined normal draws, the vectorised block sums and the
//!   fused sums of the constrained moves, which claim to keep every bit). A change that
//!   alters a path on purpose re-records the hash and says why.
//!
//! States are compared through their JSON: serde_json writes every f64 as the shortest
//! decimal that parses back to it (and −0 as `-0.0`), so equal strings are equal bits.
//! Sizes are small (a few hundred particles, a few steps) but above the parallel loops'
//! task sizes, so the rayon runs really split.

use std::fmt;

use meanfield_energy::{
    Acf1, FeatureMap, HierarchicalGaussian, LinearPotential, MeanInteraction, QuadraticInteraction,
    SimplexMoment, TestFunction,
};
use meanfield_integrators::{
    AdjustedMirrorMfld, AlphaSchedule, Batch, Cbo, CboNoise, CboParams, CboState, Checkpoint,
    Control, Coupling, Dynamics, FisherRao, FisherRaoParams, GaussianReference, IntegratorError,
    Kernelisation, LangevinParams, Mfld, Mgdm, MgdmParams, MirrorMfld, Mpd, MpdParams, Observation,
    ObserverError, Pgd, PgdParams, Pmgd, PmgdParams, Pqn, ProjectedMfld, Runner, StepInfo, Stop,
    StopCriterion, StopReason, StoppingRule, run_many,
};
use meanfield_measures::{
    BoxBounds, Domain, Ensemble, Entropic, InitialLaw, Kernel, LogBarrier, NoiseStreams,
    Parallelism, replicate_seed, streams,
};
use serde::Serialize;

// ---------------------------------------------------------------------------------------
// Generic helpers (one copy, used by every family)
// ---------------------------------------------------------------------------------------

/// Where a run ended, bit for bit: step, time bits and the state as JSON.
#[derive(Clone, PartialEq, Eq)]
struct RunBits {
    step: u64,
    time: u64,
    state: String,
}

/// Short form (a state is tens of kilobytes of JSON): step, time and a digest of the state.
impl fmt::Debug for RunBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digest = self.state.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        write!(
            f,
            "RunBits {{ step: {}, time: {}, state: {} bytes, FNV {digest:016x}, starts {:?} }}",
            self.step,
            f64::from_bits(self.time),
            self.state.len(),
            &self.state[..self.state.len().min(60)]
        )
    }
}

/// The bits of a checkpoint (module docs: JSON strings compare f64 bits).
fn run_bits<S: Serialize>(c: &Checkpoint<S>) -> RunBits {
    RunBits {
        step: c.step,
        time: c.time.to_bits(),
        state: serde_json::to_string(&c.state).expect("state serialises"),
    }
}

/// (h) The run's bits against a hash recorded from an earlier version of the code: a
/// change that claims to keep every random path and every operation order (a faster
/// sampler loop, fused reductions, SIMD lanes) must keep these. A change that alters a
/// path on purpose re-records the family's `PATH_BITS` and says why in its commit.
fn check_path_bits<D: Dynamics>(dy: &mut D, ensemble: Ensemble, seed: u64, steps: u64, want: u64) {
    let b = run_bits(&run_to(dy, ensemble, seed, steps));
    let got = [b.step, b.time]
        .into_iter()
        .flat_map(u64::to_le_bytes)
        .chain(b.state.bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, byte| {
            (h ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
        });
    assert_eq!(got, want, "path hash {got:#018x} ({b:?})");
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// A fresh run of `dy` with seed `seed` from `ensemble`, advanced to `steps` steps.
fn run_to<D: Dynamics>(
    dy: &mut D,
    ensemble: Ensemble,
    seed: u64,
    steps: u64,
) -> Checkpoint<D::State> {
    let mut c = Checkpoint::start(dy, ensemble, seed).unwrap();
    let summary = Runner::new(steps).run(dy, &mut c).unwrap();
    assert_eq!(summary.reason, StopReason::StepsDone);
    assert_eq!((summary.steps_taken, c.step), (steps, steps));
    c
}

/// (a) Split points 0, 1, total/2 and total − 1: JSON checkpoint, resume, same bits.
fn check_resume<D: Dynamics>(
    make: impl Fn(Parallelism) -> D,
    ensemble: &Ensemble,
    seed: u64,
    total: u64,
) {
    assert!(total >= 2);
    let whole = run_bits(&run_to(
        &mut make(Parallelism::Sequential),
        ensemble.clone(),
        seed,
        total,
    ));
    let mut splits = vec![0, 1, total / 2, total - 1];
    splits.dedup();
    for split in splits {
        let mut writer = make(Parallelism::Sequential);
        let part = run_to(&mut writer, ensemble.clone(), seed, split);
        let json = part.to_json().unwrap();
        // A fresh dynamics object resumes the JSON …
        let mut resumed = Checkpoint::<D::State>::from_json(&json).unwrap();
        assert_eq!(run_bits(&resumed), run_bits(&part), "JSON round trip");
        let s = Runner::new(total)
            .run(&mut make(Parallelism::Sequential), &mut resumed)
            .unwrap();
        assert_eq!(s.steps_taken, total - split);
        assert_eq!(
            run_bits(&resumed),
            whole,
            "fresh dynamics, split at {split}"
        );
        // … and so does the object that wrote it (its buffers and caches are warm).
        let mut again = Checkpoint::<D::State>::from_json(&json).unwrap();
        Runner::new(total).run(&mut writer, &mut again).unwrap();
        assert_eq!(run_bits(&again), whole, "writer dynamics, split at {split}");
    }
}

/// (b) Sequential vs rayon on 1 and on 3 threads: same bits.
fn check_thread_count<D: Dynamics>(
    make: impl Fn(Parallelism) -> D + Sync,
    ensemble: &Ensemble,
    seed: u64,
    steps: u64,
) {
    let on = |par: Parallelism, threads: usize| {
        pool(threads).install(|| run_bits(&run_to(&mut make(par), ensemble.clone(), seed, steps)))
    };
    let seq = on(Parallelism::Sequential, 1);
    assert_eq!(seq, on(Parallelism::Rayon, 1), "rayon, 1 thread");
    assert_eq!(seq, on(Parallelism::Rayon, 3), "rayon, 3 threads");
}

/// (c) A checkpoint written by `a` is refused by `b` (other energy, box or family) with
/// a checkpoint error and left as it was; `a` itself resumes it.
fn check_refused<A, B>(a: &mut A, b: &mut B, ensemble: Ensemble, seed: u64)
where
    A: Dynamics,
    B: Dynamics<State = A::State>,
{
    assert_ne!(a.fingerprint(), b.fingerprint());
    let json = run_to(a, ensemble, seed, 2).to_json().unwrap();
    let mut c = Checkpoint::<A::State>::from_json(&json).unwrap();
    let before = run_bits(&c);
    match Runner::new(4).run(b, &mut c) {
        Err(IntegratorError::Checkpoint(msg)) => {
            assert!(msg.contains(&a.fingerprint()), "{msg}")
        }
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
    assert_eq!(run_bits(&c), before, "a refused checkpoint is not touched");
    Runner::new(4).run(a, &mut c).unwrap();
    assert_eq!(c.step, 4);
}

/// (d) `Stop::when(time ≥ (at − ½) dt)` stops at step `at`, where the observers are
/// called too.
fn check_predicate_stop<D: Dynamics>(dy: &mut D, ensemble: Ensemble, seed: u64, at: u64) {
    let mut c = Checkpoint::start(dy, ensemble, seed).unwrap();
    let mut seen = Vec::new();
    let summary = Runner::new(10 * at)
        .stop_when(Stop::when(|o: &Observation<'_, D::State, D::Info>| {
            o.info.is_some_and(|i| o.time >= (at as f64 - 0.5) * i.dt())
        }))
        .observe(1_000, |o| {
            seen.push(o.step);
            Ok(Control::Continue)
        })
        .run(dy, &mut c)
        .unwrap();
    assert_eq!(summary.reason, StopReason::Predicate);
    assert_eq!((summary.steps_taken, c.step), (at, at));
    assert_eq!(
        seen,
        vec![0, at],
        "observers see the start and the stopping step"
    );
    assert!(summary.last_info.is_some_and(|i| i.dt() > 0.0));
}

/// An observer's own error type.
#[derive(Debug, Clone, PartialEq)]
struct Halt {
    step: u64,
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "halted at step {}", self.step)
    }
}

impl std::error::Error for Halt {}

/// (e) An observer failing with [`Halt`] at step 3 ends the run with
/// `IntegratorError::Observer { step: 3, .. }` whose source downcasts to `Halt`.
fn check_observer_error<D: Dynamics>(dy: &mut D, ensemble: Ensemble, seed: u64) {
    let mut c = Checkpoint::start(dy, ensemble.clone(), seed).unwrap();
    let fail_at_3 = |o: &Observation<'_, D::State, D::Info>| -> Result<(), Halt> {
        if o.step == 3 {
            Err(Halt { step: o.step })
        } else {
            Ok(())
        }
    };
    let err = Runner::new(10)
        .observe(1, |o| {
            fail_at_3(o)?;
            Ok(Control::Continue)
        })
        .run(dy, &mut c)
        .unwrap_err();
    match err {
        IntegratorError::Observer { step, source } => {
            assert_eq!(step, 3);
            assert_eq!(source.downcast_ref::<Halt>(), Some(&Halt { step: 3 }));
            assert!(source.downcast_ref::<fmt::Error>().is_none());
            assert_eq!(source.to_string(), "halted at step 3");
        }
        other => panic!("expected an observer error, got {other:?}"),
    }
    assert_eq!(c.step, 3, "the run stops at the failing observation");
    // Any boxed error works, e.g. a string.
    let mut c = Checkpoint::start(dy, ensemble, seed).unwrap();
    let err = Runner::new(10)
        .observe(1, |_| -> Result<Control, ObserverError> {
            Err("no".into())
        })
        .run(dy, &mut c)
        .unwrap_err();
    assert!(
        matches!(&err, IntegratorError::Observer { step: 0, source } if source.to_string() == "no"),
        "{err:?}"
    );
}

/// (d) A criterion that needs a quantity the family's info does not report is an error.
fn check_unsupported<D: Dynamics>(
    dy: &mut D,
    ensemble: Ensemble,
    seed: u64,
    criterion: impl StopCriterion<D::State, D::Info>,
) {
    let mut c = Checkpoint::start(dy, ensemble, seed).unwrap();
    let err = Runner::new(5)
        .stop_when(criterion)
        .run(dy, &mut c)
        .unwrap_err();
    assert!(
        matches!(err, IntegratorError::UnsupportedStop { .. }),
        "{err:?}"
    );
}

/// (f) `run_many`: the same bits sequentially, on rayon with 1 and 3 threads, and replica
/// r is the single run with seed `replicate_seed(seed, 0, r)`. With `stochastic`, the
/// replicas really differ (same start, other seed).
fn check_run_many<D: Dynamics>(
    make: impl Fn(Parallelism) -> D + Sync,
    ensemble: &Ensemble,
    seed: u64,
    steps: u64,
    stochastic: bool,
) {
    let replicas = 3;
    let go = |par: Parallelism| {
        run_many(
            replicas,
            seed,
            par,
            |_| Ok((make(Parallelism::Sequential), ensemble.clone())),
            |_, dy, c| {
                Runner::new(steps).run(dy, c)?;
                Ok(run_bits(c))
            },
        )
        .unwrap()
    };
    let seq = pool(1).install(|| go(Parallelism::Sequential));
    assert_eq!(seq.len(), replicas);
    assert_eq!(seq, pool(1).install(|| go(Parallelism::Rayon)));
    assert_eq!(seq, pool(3).install(|| go(Parallelism::Rayon)));
    for (r, bits) in seq.iter().enumerate() {
        let single = run_to(
            &mut make(Parallelism::Sequential),
            ensemble.clone(),
            replicate_seed(seed, 0, r as u64),
            steps,
        );
        assert_eq!(&run_bits(&single), bits, "replica {r}");
    }
    if stochastic {
        assert_ne!(seq[0], seq[1], "replicas must use different seeds");
    }
}

/// One dynamics object driving two runs in alternation (step of run A, step of run B, …)
/// gives the bits of two separate objects: nothing of one run leaks into the other.
fn check_interleaved_runs<D: Dynamics>(
    make: impl Fn(Parallelism) -> D,
    (ens_a, seed_a): (&Ensemble, u64),
    (ens_b, seed_b): (&Ensemble, u64),
    steps: u64,
) {
    let alone = |e: &Ensemble, s| {
        run_bits(&run_to(
            &mut make(Parallelism::Sequential),
            e.clone(),
            s,
            steps,
        ))
    };
    let (want_a, want_b) = (alone(ens_a, seed_a), alone(ens_b, seed_b));
    let mut dy = make(Parallelism::Sequential);
    let mut a = Checkpoint::start(&dy, ens_a.clone(), seed_a).unwrap();
    let mut b = Checkpoint::start(&dy, ens_b.clone(), seed_b).unwrap();
    for k in 1..=steps {
        Runner::new(k).run(&mut dy, &mut a).unwrap();
        Runner::new(k).run(&mut dy, &mut b).unwrap();
    }
    assert_eq!(run_bits(&a), want_a, "run A");
    assert_eq!(run_bits(&b), want_b, "run B");
}

/// The tests every family gets, except the interleaved-runs one ([`contract_tests!`]
/// adds it; a family with a known library bug there writes it by hand). The module
/// defines `make(Parallelism) -> D`, `ensemble() -> Ensemble`, `SEED`, `STEPS` and
/// `STOCHASTIC` (whether the dynamics draws random numbers).
macro_rules! contract_tests_but_interleaved {
    () => {
        #[test]
        fn init_state_passes_check_state() {
            let dy = make(Parallelism::Sequential);
            let state = dy.init_state(ensemble(), SEED).unwrap();
            dy.check_state(&state).unwrap();
            assert_eq!(
                dy.fingerprint(),
                make(Parallelism::Rayon).fingerprint(),
                "parallelism does not change the path, so not the fingerprint"
            );
        }

        #[test]
        fn resume_from_json_is_bitwise() {
            check_resume(make, &ensemble(), SEED, STEPS);
        }

        #[test]
        fn thread_count_does_not_change_bits() {
            check_thread_count(make, &ensemble(), SEED, STEPS);
        }

        #[test]
        fn predicate_stops_at_the_predicted_step() {
            check_predicate_stop(&mut make(Parallelism::Sequential), ensemble(), SEED, 4);
        }

        #[test]
        fn observer_errors_downcast() {
            check_observer_error(&mut make(Parallelism::Sequential), ensemble(), SEED);
        }

        #[test]
        fn run_many_is_thread_count_invariant_and_seeded_per_replica() {
            check_run_many(make, &ensemble(), SEED, STEPS, STOCHASTIC);
        }

        #[test]
        fn path_bits_are_the_recorded_ones() {
            check_path_bits(
                &mut make(Parallelism::Sequential),
                ensemble(),
                SEED,
                STEPS,
                PATH_BITS,
            );
        }
    };
}

/// All the contract tests of a family (see [`contract_tests_but_interleaved!`]).
macro_rules! contract_tests {
    () => {
        contract_tests_but_interleaved!();

        #[test]
        fn interleaved_runs_do_not_interact() {
            let e = ensemble();
            check_interleaved_runs(make, (&e, SEED), (&e, SEED ^ 0x5eed), STEPS);
        }
    };
}

// ---------------------------------------------------------------------------------------
// Starting ensembles
// ---------------------------------------------------------------------------------------

fn gaussian(n: usize, d: usize, seed: u64) -> Ensemble {
    InitialLaw::isotropic_gaussian(d, 0.0, 1.0)
        .sample(n, seed, streams::INITIAL_POSITIONS)
        .unwrap()
}

fn dirichlet(n: usize, d: usize, seed: u64) -> Ensemble {
    InitialLaw::Dirichlet {
        alpha: vec![2.0; d],
    }
    .sample(n, seed, streams::INITIAL_POSITIONS)
    .unwrap()
}

fn in_box(n: usize, bounds: &BoxBounds, seed: u64) -> Ensemble {
    InitialLaw::UniformBox {
        lower: bounds.lower().to_vec(),
        upper: bounds.upper().to_vec(),
    }
    .sample_on(
        n,
        Domain::Box(bounds.clone()),
        seed,
        streams::INITIAL_POSITIONS,
    )
    .unwrap()
}

fn langevin(lambda: f64, eta: f64) -> LangevinParams {
    LangevinParams::new(lambda, eta).unwrap()
}

// ---------------------------------------------------------------------------------------
// Families
// ---------------------------------------------------------------------------------------

mod mfld {
    use super::*;

    const SEED: u64 = 11;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn quadratic(kappa: f64, b: Vec<f64>) -> Mfld<QuadraticInteraction> {
        Mfld::new(
            QuadraticInteraction::new(kappa, b).unwrap(),
            langevin(0.3, 0.05),
        )
        .unwrap()
    }

    fn make(par: Parallelism) -> Mfld<QuadraticInteraction> {
        quadratic(1.5, vec![0.5, -1.0]).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        gaussian(800, 2, 1)
    }

    const PATH_BITS: u64 = 0xf9de_a880_b09b_9b24;
    contract_tests!();

    #[test]
    fn other_energy_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut quadratic(2.0, vec![0.5, -1.0]),
            ensemble(),
            SEED,
        );
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut quadratic(1.5, vec![0.5, -0.75]),
            ensemble(),
            SEED,
        );
        // Other step parameters are other dynamics too.
        let mut other_eta = Mfld::new(
            QuadraticInteraction::new(1.5, vec![0.5, -1.0]).unwrap(),
            langevin(0.3, 0.04),
        )
        .unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other_eta,
            ensemble(),
            SEED,
        );
    }

    /// MFLD reports no energy, change or ESS: those criteria are typed errors.
    #[test]
    fn criteria_without_their_quantity_are_unsupported() {
        let mut dy = make(Parallelism::Sequential);
        check_unsupported(&mut dy, ensemble(), SEED, Stop::energy_below(1e-3).unwrap());
        check_unsupported(
            &mut dy,
            ensemble(),
            SEED,
            Stop::stagnation(1e-6, 3).unwrap(),
        );
        check_unsupported(&mut dy, ensemble(), SEED, Stop::ess_below(10.0).unwrap());
    }

    /// A boxed, run-time chosen scheme is the same dynamics.
    #[test]
    fn boxed_dynamics_resume_like_the_concrete_one() {
        type Boxed =
            Box<dyn Dynamics<State = Ensemble, Info = meanfield_integrators::LangevinInfo>>;
        let boxed = |par: Parallelism| -> Boxed { Box::new(make(par)) };
        check_resume(boxed, &ensemble(), SEED, STEPS);
        let a = run_bits(&run_to(
            &mut boxed(Parallelism::Sequential),
            ensemble(),
            SEED,
            STEPS,
        ));
        let b = run_bits(&run_to(
            &mut make(Parallelism::Sequential),
            ensemble(),
            SEED,
            STEPS,
        ));
        assert_eq!(a, b);
    }
}

mod projected_mfld {
    use super::*;

    const SEED: u64 = 12;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn moment(q: Vec<f64>) -> ProjectedMfld<SimplexMoment> {
        ProjectedMfld::new(SimplexMoment::new(q, 0.0).unwrap(), langevin(0.1, 0.02)).unwrap()
    }

    fn make(par: Parallelism) -> ProjectedMfld<SimplexMoment> {
        moment(vec![0.5, 0.3, 0.2]).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        dirichlet(800, 3, 2)
    }

    const PATH_BITS: u64 = 0xf4d9_7150_7f62_1318;
    contract_tests!();

    #[test]
    fn other_energy_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut moment(vec![0.2, 0.3, 0.5]),
            ensemble(),
            SEED,
        );
    }

    /// The projection is really exercised: some particles sit on a face after the run.
    #[test]
    fn the_run_reaches_the_boundary() {
        let c = run_to(&mut make(Parallelism::Sequential), ensemble(), SEED, STEPS);
        assert!(c.state.rows().any(|x| x.contains(&0.0)));
    }
}

/// The box of the mirror schemes' log barrier, and the starting particles inside it.
fn mirror_box(hi: f64) -> LogBarrier {
    LogBarrier::new(BoxBounds::uniform(2, 0.0, hi).unwrap()).unwrap()
}

fn mirror_ensemble() -> Ensemble {
    in_box(800, &BoxBounds::uniform(2, 0.0, 2.0).unwrap(), 3)
}

mod mirror_mfld {
    use super::*;

    const SEED: u64 = 13;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn scheme(b: Vec<f64>, hi: f64) -> MirrorMfld<QuadraticInteraction, LogBarrier> {
        MirrorMfld::new(
            QuadraticInteraction::new(1.0, b).unwrap(),
            mirror_box(hi),
            langevin(0.2, 0.02),
        )
        .unwrap()
    }

    fn make(par: Parallelism) -> MirrorMfld<QuadraticInteraction, LogBarrier> {
        scheme(vec![1.5, 0.5], 2.0).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        mirror_ensemble()
    }

    const PATH_BITS: u64 = 0xeb9c_5068_ef2d_56df;
    contract_tests!();

    #[test]
    fn other_energy_or_box_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(vec![1.5, 0.25], 2.0),
            ensemble(),
            SEED,
        );
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(vec![1.5, 0.5], 3.0),
            ensemble(),
            SEED,
        );
    }
}

mod adjusted_mirror_mfld {
    use super::*;

    const SEED: u64 = 14;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn scheme(b: Vec<f64>, hi: f64) -> AdjustedMirrorMfld<QuadraticInteraction, LogBarrier> {
        AdjustedMirrorMfld::new(
            QuadraticInteraction::new(1.0, b).unwrap(),
            mirror_box(hi),
            langevin(0.2, 0.05),
        )
        .unwrap()
    }

    fn make(par: Parallelism) -> AdjustedMirrorMfld<QuadraticInteraction, LogBarrier> {
        scheme(vec![1.5, 0.5], 2.0).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        mirror_ensemble()
    }

    const PATH_BITS: u64 = 0xa080_a8b9_0b60_441c;
    contract_tests!();

    #[test]
    fn other_energy_or_box_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(vec![1.0, 0.5], 2.0),
            ensemble(),
            SEED,
        );
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(vec![1.5, 0.5], 2.5),
            ensemble(),
            SEED,
        );
        // The paper's scheme with the same energy and box is another dynamics.
        let mut paper = MirrorMfld::new(
            QuadraticInteraction::new(1.0, vec![1.5, 0.5]).unwrap(),
            mirror_box(2.0),
            langevin(0.2, 0.05),
        )
        .unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut paper,
            ensemble(),
            SEED,
        );
    }

    /// The accept/reject is really exercised: acceptance strictly between 0 and 1.
    #[test]
    fn some_proposals_are_rejected() {
        let mut dy = make(Parallelism::Sequential);
        let mut c = Checkpoint::start(&dy, ensemble(), SEED).unwrap();
        let s = Runner::new(STEPS).run(&mut dy, &mut c).unwrap();
        let acc = s.mean_acceptance.unwrap();
        assert!(acc > 0.0 && acc < 1.0, "acceptance {acc}");
    }

    /// The same contract on the simplex with the entropic map.
    mod entropic {
        use super::super::*;

        const SEED: u64 = 15;
        const STEPS: u64 = 6;
        const STOCHASTIC: bool = true;

        fn scheme(q: Vec<f64>) -> AdjustedMirrorMfld<SimplexMoment, Entropic> {
            AdjustedMirrorMfld::new(
                SimplexMoment::new(q, 0.02).unwrap(),
                Entropic,
                langevin(0.1, 0.05),
            )
            .unwrap()
        }

        fn make(par: Parallelism) -> AdjustedMirrorMfld<SimplexMoment, Entropic> {
            scheme(vec![0.5, 0.3, 0.2]).with_parallelism(par)
        }

        fn ensemble() -> Ensemble {
            dirichlet(800, 3, 4)
        }

        const PATH_BITS: u64 = 0x517b_1b3d_c447_c98b;
        contract_tests!();

        #[test]
        fn other_energy_is_refused() {
            check_refused(
                &mut make(Parallelism::Sequential),
                &mut scheme(vec![0.4, 0.4, 0.2]),
                ensemble(),
                SEED,
            );
        }
    }
}

mod mgdm {
    use super::*;

    const SEED: u64 = 16;
    const STEPS: u64 = 6;
    const STOCHASTIC: bool = false;
    const T: usize = 16;

    /// N positive paths of length T (|N(0, 1)| + 0.05).
    fn paths(n: usize, seed: u64) -> Vec<f64> {
        let s = NoiseStreams::new(seed, streams::MGDM_LATENT);
        let mut x = vec![0.0; n * T];
        for (i, row) in x.chunks_exact_mut(T).enumerate() {
            s.fill_standard_normal(0, i as u64, row);
            row.iter_mut().for_each(|v| *v = v.abs() + 0.05);
        }
        x
    }

    /// `scale` × the mean features of 64 independent paths.
    fn target(scale: f64) -> Vec<f64> {
        let map = Acf1::new(T).unwrap();
        let k = map.n_features();
        let (mut a, mut phi) = (vec![0.0; k], vec![0.0; k]);
        for row in paths(64, 99).chunks_exact(T) {
            map.eval(row, &mut phi).unwrap();
            a.iter_mut()
                .zip(&phi)
                .for_each(|(a, p)| *a += scale * p / 64.0);
        }
        a
    }

    fn scheme(gamma: f64, alpha_scale: f64) -> Mgdm<Acf1> {
        let params = MgdmParams::new(gamma)
            .unwrap()
            .with_coupling(Coupling::Groups(4))
            .unwrap()
            .with_projection(true)
            .with_log_det(true);
        Mgdm::new(Acf1::new(T).unwrap(), target(alpha_scale), params).unwrap()
    }

    fn make(par: Parallelism) -> Mgdm<Acf1> {
        scheme(10.0, 1.3).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        Ensemble::new(12, T, paths(12, 5), Domain::Euclidean).unwrap()
    }

    const PATH_BITS: u64 = 0x93db_45ef_ca18_5445;
    contract_tests!();

    #[test]
    fn other_target_or_step_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(10.0, 1.2),
            ensemble(),
            SEED,
        );
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(8.0, 1.3),
            ensemble(),
            SEED,
        );
    }

    /// Deterministic: the seed does not matter, and the step info is the one of
    /// `step_paths` on the raw buffer.
    #[test]
    fn seed_free_and_info_matches_step_paths() {
        let a = run_to(&mut make(Parallelism::Sequential), ensemble(), 1, STEPS);
        let b = run_to(&mut make(Parallelism::Sequential), ensemble(), 2, STEPS);
        assert_eq!(run_bits(&a).state, run_bits(&b).state);
        let mut dy = make(Parallelism::Sequential);
        let mut c = Checkpoint::start(&dy, ensemble(), SEED).unwrap();
        let s = Runner::new(1).run(&mut dy, &mut c).unwrap();
        let mut x = ensemble().as_slice().to_vec();
        let info = make(Parallelism::Sequential).step_paths(&mut x, 0).unwrap();
        assert_eq!(s.last_info, Some(info));
        assert_eq!(x.as_slice(), c.state.as_slice());
        assert!(info.frozen > 0 || info.log_det != 0.0);
    }

    /// Also with checkpoints from a run of separate interleaved ensembles.
    #[test]
    fn interleaved_runs_on_different_paths() {
        let b = Ensemble::new(12, T, paths(12, 6), Domain::Euclidean).unwrap();
        check_interleaved_runs(make, (&ensemble(), SEED), (&b, SEED), STEPS);
    }
}

mod fisher_rao {
    use super::*;

    /// π = N(0, I) in d = 2, σ = 0.7, variant (1) with a Gaussian kernel.
    fn params(h: f64) -> FisherRaoParams {
        FisherRaoParams::new(GaussianReference::standard(2).unwrap(), 0.7, h)
            .unwrap()
            .with_kernelisation(
                Kernelisation::EvolvingMeasure,
                Kernel::gaussian(0.5, 2).unwrap(),
            )
    }

    fn flow(b: Vec<f64>, params: FisherRaoParams) -> FisherRao<MeanInteraction> {
        FisherRao::new(MeanInteraction::new(1.5, b).unwrap(), params).unwrap()
    }

    fn ensemble() -> Ensemble {
        gaussian(300, 2, 7)
    }

    mod plain {
        use super::*;

        const SEED: u64 = 17;
        const STEPS: u64 = 8;
        const STOCHASTIC: bool = false;

        fn make(par: Parallelism) -> FisherRao<MeanInteraction> {
            flow(vec![1.0, -0.5], params(0.3)).with_parallelism(par)
        }

        const PATH_BITS: u64 = 0x6e85_cfb0_7e65_66f7;
        contract_tests!();

        #[test]
        fn other_energy_is_refused() {
            check_refused(
                &mut make(Parallelism::Sequential),
                &mut flow(vec![1.0, 0.0], params(0.3)),
                ensemble(),
                SEED,
            );
        }

        /// Fisher–Rao reports no energy: the energy tolerance is a typed error.
        #[test]
        fn energy_tolerance_is_unsupported() {
            check_unsupported(
                &mut make(Parallelism::Sequential),
                ensemble(),
                SEED,
                Stop::energy_below(0.0).unwrap(),
            );
        }
    }

    mod resampling_transport {
        use super::*;

        const SEED: u64 = 18;
        const STEPS: u64 = 8;
        const STOCHASTIC: bool = true;

        fn wfr(b: Vec<f64>) -> FisherRao<MeanInteraction> {
            flow(
                b,
                params(0.4).with_resampling(0.9).unwrap().with_transport(),
            )
        }

        fn make(par: Parallelism) -> FisherRao<MeanInteraction> {
            wfr(vec![1.0, -0.5]).with_parallelism(par)
        }

        const PATH_BITS: u64 = 0x24f3_4f80_e655_6c7f;
        contract_tests!();

        #[test]
        fn other_energy_is_refused() {
            check_refused(
                &mut make(Parallelism::Sequential),
                &mut wfr(vec![1.0, -0.25]),
                ensemble(),
                SEED,
            );
            // The same flow without resampling and transport is other dynamics.
            check_refused(
                &mut make(Parallelism::Sequential),
                &mut flow(vec![1.0, -0.5], params(0.4)),
                ensemble(),
                SEED,
            );
        }

        /// The contract runs above really resample, before the middle split point.
        #[test]
        fn the_contract_run_resamples() {
            let mut dy = make(Parallelism::Sequential);
            let mut c = Checkpoint::start(&dy, ensemble(), SEED).unwrap();
            let mut resampled = Vec::new();
            dy.runner(STEPS)
                .observe(1, |o| {
                    if o.info.is_some_and(|i| i.resampled) {
                        resampled.push(o.step);
                    }
                    Ok(Control::Continue)
                })
                .run(&mut dy, &mut c)
                .unwrap();
            assert!(
                resampled.first().is_some_and(|&k| k < STEPS / 2) && resampled.len() >= 2,
                "resampled at {resampled:?}"
            );
        }
    }

    /// A strongly tilted linear F loses ESS step by step: `Stop::ess_below` fires at the
    /// first step whose ESS is below the floor.
    #[test]
    fn ess_floor_fires_at_the_first_step_below_it() {
        let n = 400;
        let params = FisherRaoParams::new(GaussianReference::standard(1).unwrap(), 1.0, 0.05)
            .unwrap()
            .with_kernelisation(
                Kernelisation::EvolvingMeasure,
                Kernel::gaussian(0.3, 1).unwrap(),
            );
        let mut fr = FisherRao::new(LinearPotential::new(vec![2.5]).unwrap(), params).unwrap();
        let floor = 0.5 * n as f64;
        let mut c = Checkpoint::start(&fr, gaussian(n, 1, 8), 0).unwrap();
        let mut ess = Vec::new();
        let summary = fr
            .runner(10_000)
            .stop_when(Stop::ess_below(floor).unwrap())
            .observe(1, |o| {
                if let Some(i) = o.info {
                    ess.push(i.ess);
                }
                Ok(Control::Continue)
            })
            .run(&mut fr, &mut c)
            .unwrap();
        assert_eq!(summary.reason, StopReason::EssFloor);
        let k = c.step as usize;
        assert!(k > 2, "the floor should take a few steps, took {k}");
        assert_eq!(ess.len(), k);
        assert!(
            ess[k - 1] < floor && ess[..k - 1].iter().all(|e| *e >= floor),
            "{ess:?}"
        );
        assert_eq!(summary.last_info.unwrap().ess, ess[k - 1]);
        let w = c.state.weights().unwrap().as_slice();
        let direct = 1.0 / w.iter().map(|w| w * w).sum::<f64>();
        assert!((direct - ess[k - 1]).abs() <= 1e-9 * direct);
    }
}

/// The toy hierarchical model with observations `y`.
fn toy(y: Vec<f64>) -> HierarchicalGaussian {
    HierarchicalGaussian::new(y).unwrap()
}

fn toy_data() -> Vec<f64> {
    vec![2.5, 3.5, 4.0]
}

fn latent_zeros(n: usize) -> Ensemble {
    Ensemble::new(n, 3, vec![0.0; n * 3], Domain::Euclidean).unwrap()
}

mod pgd {
    use super::*;

    const SEED: u64 = 19;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn scheme(y: Vec<f64>) -> Pgd<HierarchicalGaussian> {
        Pgd::new(toy(y), PgdParams::new(1e-2, 1e-2).unwrap()).unwrap()
    }

    fn make(par: Parallelism) -> Pgd<HierarchicalGaussian> {
        scheme(toy_data()).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        latent_zeros(800)
    }

    const PATH_BITS: u64 = 0xd8e2_d8de_7041_538f;
    contract_tests!();

    #[test]
    fn other_data_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(vec![2.5, 3.5, 4.5]),
            ensemble(),
            SEED,
        );
    }

    /// θ moves, so stagnation is supported (fires for a tolerance above every change).
    #[test]
    fn stagnation_is_supported() {
        let mut dy = make(Parallelism::Sequential);
        let mut c = Checkpoint::start(&dy, ensemble(), SEED).unwrap();
        let s = Runner::new(100)
            .stop_when(Stop::stagnation(f64::MAX, 3).unwrap())
            .run(&mut dy, &mut c)
            .unwrap();
        assert_eq!((s.reason, c.step), (StopReason::Stagnation, 3));
        assert!(s.last_info.unwrap().theta_change > 0.0);
    }
}

mod mpd {
    use super::*;

    const SEED: u64 = 20;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn scheme(y: Vec<f64>) -> Mpd<HierarchicalGaussian> {
        let params = MpdParams::new(1e-2, 1e-2)
            .unwrap()
            .with_theta_momentum(2.0, 0.5)
            .unwrap()
            .with_particle_momentum(3.0, 0.7)
            .unwrap();
        Mpd::new(toy(y), params).unwrap()
    }

    fn make(par: Parallelism) -> Mpd<HierarchicalGaussian> {
        scheme(toy_data()).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        latent_zeros(800)
    }

    const PATH_BITS: u64 = 0x824b_3361_6a43_757a;
    contract_tests!();

    #[test]
    fn other_data_or_family_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(vec![2.0, 3.5, 4.0]),
            ensemble(),
            SEED,
        );
        // A PGD checkpoint (no momenta) is not resumed by MPD, nor the other way round.
        let mut pgd = Pgd::new(toy(toy_data()), PgdParams::new(1e-2, 1e-2).unwrap()).unwrap();
        check_refused(
            &mut pgd,
            &mut make(Parallelism::Sequential),
            ensemble(),
            SEED,
        );
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut pgd,
            ensemble(),
            SEED,
        );
    }

    /// The momenta are part of the resumable state: they come from the run's seed.
    #[test]
    fn momenta_come_from_the_seed() {
        let dy = make(Parallelism::Sequential);
        let a = dy.init_state(ensemble(), 1).unwrap();
        let b = dy.init_state(ensemble(), 2).unwrap();
        assert_eq!(a, dy.init_state(ensemble(), 1).unwrap());
        assert_ne!(a.momenta, b.momenta);
        assert_eq!(a.momenta.as_ref().unwrap().theta, vec![0.0]);
    }
}

mod pqn {
    use super::*;

    const SEED: u64 = 23;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn scheme(y: Vec<f64>) -> Pqn<HierarchicalGaussian> {
        Pqn::new(toy(y), PgdParams::new(0.5, 1e-2).unwrap()).unwrap()
    }

    fn make(par: Parallelism) -> Pqn<HierarchicalGaussian> {
        scheme(toy_data()).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        latent_zeros(800)
    }

    const PATH_BITS: u64 = 0x1afe_3fde_9c7d_ac52;
    contract_tests!();

    #[test]
    fn other_data_or_family_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(vec![2.5, 3.5, 4.5]),
            ensemble(),
            SEED,
        );
        // Same state type and step sizes as PGD, but not the same dynamics.
        let mut pgd = Pgd::new(toy(toy_data()), PgdParams::new(0.5, 1e-2).unwrap()).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut pgd,
            ensemble(),
            SEED,
        );
    }
}

mod pmgd {
    use super::*;

    const SEED: u64 = 24;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn scheme(y: Vec<f64>) -> Pmgd<HierarchicalGaussian> {
        Pmgd::new(toy(y), PmgdParams::new(1e-2).unwrap()).unwrap()
    }

    fn make(par: Parallelism) -> Pmgd<HierarchicalGaussian> {
        scheme(toy_data()).with_parallelism(par)
    }

    fn ensemble() -> Ensemble {
        latent_zeros(800)
    }

    const PATH_BITS: u64 = 0x623a_d186_49b6_fbbd;
    contract_tests!();

    #[test]
    fn other_data_is_refused() {
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut scheme(vec![2.5, 3.5, 4.5]),
            ensemble(),
            SEED,
        );
    }

    /// θ = θ*(X) moves every step, so stagnation is supported.
    #[test]
    fn stagnation_is_supported() {
        let mut dy = make(Parallelism::Sequential);
        let mut c = Checkpoint::start(&dy, ensemble(), SEED).unwrap();
        let s = Runner::new(100)
            .stop_when(Stop::stagnation(f64::MAX, 3).unwrap())
            .run(&mut dy, &mut c)
            .unwrap();
        assert_eq!((s.reason, c.step), (StopReason::Stagnation, 3));
        assert!(s.last_info.unwrap().theta_change > 0.0);
    }
}

mod cbo {
    use super::*;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::ackley(3).unwrap().shifted(shift).unwrap()
    }

    fn params() -> CboParams {
        CboParams::new(1.0, 0.8, 0.01)
            .unwrap()
            .with_alpha(30.0)
            .unwrap()
            .with_schedule(AlphaSchedule::cbxpy_default())
            .unwrap()
            .with_noise(CboNoise::Isotropic)
    }

    fn ensemble() -> Ensemble {
        meanfield_integrators::cbo::uniform_ensemble(800, 3, -3.0, 3.0, 9).unwrap()
    }

    fn shift() -> Vec<f64> {
        vec![0.5, -0.5, 0.25]
    }

    mod full {
        use super::*;

        const SEED: u64 = 21;
        const STEPS: u64 = 8;
        const STOCHASTIC: bool = true;

        fn make(par: Parallelism) -> Cbo<TestFunction> {
            Cbo::new(objective(shift()), params())
                .unwrap()
                .with_parallelism(par)
        }

        const PATH_BITS: u64 = 0x8d42_735d_ecf4_fd4d;
        contract_tests!();

        #[test]
        fn other_shift_is_refused() {
            let mut other = Cbo::new(objective(vec![0.5, -0.5, 0.0]), params()).unwrap();
            check_refused(
                &mut make(Parallelism::Sequential),
                &mut other,
                ensemble(),
                SEED,
            );
        }

        /// `run_replicas` (the CBO preset of `run_many`): thread-count invariant, replica
        /// r is `Cbo::run` of the r-th start with seed `replicate_seed(seed, 0, r)`.
        #[test]
        fn run_replicas_matches_single_runs() {
            let f = objective(shift());
            let rule = StoppingRule::max_steps(STEPS);
            let init = |r: usize| {
                meanfield_integrators::cbo::uniform_ensemble(300, 3, -3.0, 3.0, r as u64)
            };
            let go = |par| {
                meanfield_integrators::cbo::run_replicas(&f, &params(), 3, SEED, init, &rule, par)
                    .unwrap()
            };
            let seq = pool(1).install(|| go(Parallelism::Sequential));
            assert_eq!(seq, pool(3).install(|| go(Parallelism::Rayon)));
            for (r, o) in seq.iter().enumerate() {
                let mut cbo = Cbo::new(&f, params()).unwrap();
                let mut c =
                    Checkpoint::start(&cbo, init(r).unwrap(), replicate_seed(SEED, 0, r as u64))
                        .unwrap();
                assert_eq!(&cbo.run(&mut c, &rule).unwrap(), o, "replica {r}");
            }
        }
    }

    mod batched {
        use super::*;

        const SEED: u64 = 22;
        const STEPS: u64 = 8;
        const STOCHASTIC: bool = true;

        fn make(par: Parallelism) -> Cbo<TestFunction> {
            // Two batches of 400 per epoch: the runs cross three epoch boundaries.
            let p = params()
                .with_batch(Some(Batch {
                    size: 400,
                    partial: false,
                }))
                .unwrap();
            Cbo::new(objective(shift()), p)
                .unwrap()
                .with_parallelism(par)
        }

        const PATH_BITS: u64 = 0x4f5e_83ac_8cb5_c02e;
        contract_tests_but_interleaved!();

        /// Regression: the batch permutation cached in the `Cbo` workspace was keyed by
        /// the epoch only, so a second run driven by the same object reused the first
        /// run's permutation of that epoch; it is now keyed by (seed, epoch).
        #[test]
        fn interleaved_runs_do_not_interact() {
            let e = ensemble();
            check_interleaved_runs(make, (&e, SEED), (&e, SEED ^ 0x5eed), STEPS);
        }

        /// The smallest reproduction of that bug: one object runs a step with seed s, then
        /// a fresh run with seed s + 1; its first step must equal that of a fresh object.
        #[test]
        fn a_reused_object_draws_the_batches_of_the_new_seed() {
            let one_step =
                |dy: &mut Cbo<TestFunction>, seed| run_bits(&run_to(dy, ensemble(), seed, 1));
            let mut reused = make(Parallelism::Sequential);
            one_step(&mut reused, SEED);
            let second = one_step(&mut reused, SEED + 1);
            assert_eq!(
                second,
                one_step(&mut make(Parallelism::Sequential), SEED + 1)
            );
        }

        /// Same seed, interleaved: passes (the stale cache is then the right one).
        #[test]
        fn interleaved_runs_with_one_seed() {
            let e = ensemble();
            let other =
                meanfield_integrators::cbo::uniform_ensemble(800, 3, -3.0, 3.0, 10).unwrap();
            check_interleaved_runs(make, (&e, SEED), (&other, SEED), STEPS);
        }
    }

    /// Ackley in d = 4 from [−3, 3]⁴ with the anisotropic benchmark settings.
    fn converging() -> (Cbo<TestFunction>, Checkpoint<CboState>) {
        let cbo = Cbo::new(
            TestFunction::ackley(4).unwrap(),
            CboParams::anisotropic_benchmark(),
        )
        .unwrap();
        let start = meanfield_integrators::cbo::uniform_ensemble(30, 4, -3.0, 3.0, 3).unwrap();
        let c = Checkpoint::start(&cbo, start, 3).unwrap();
        (cbo, c)
    }

    /// `Stop::energy_below` fires at the first step whose smallest batch value is below
    /// the tolerance, with `StopReason::EnergyTolerance`; `Cbo::run` with the
    /// `StoppingRule` preset stops at the same step.
    #[test]
    fn energy_tolerance_fires_at_the_first_step_below_it() {
        let tol = 1e-3;
        let (mut cbo, mut c) = converging();
        let mut energies = Vec::new();
        let s = cbo
            .runner(100_000)
            .stop_when(Stop::energy_below(tol).unwrap())
            .observe(1, |o| {
                if let Some(i) = o.info {
                    energies.push(i.stats.f_min);
                }
                Ok(Control::Continue)
            })
            .run(&mut cbo, &mut c)
            .unwrap();
        assert_eq!(s.reason, StopReason::EnergyTolerance);
        let k = c.step as usize;
        assert!(k > 1 && k < 100_000);
        assert_eq!(energies.len(), k);
        assert!(energies[k - 1] < tol && energies[..k - 1].iter().all(|e| *e >= tol));
        assert_eq!(s.last_info.unwrap().energy(), Some(energies[k - 1]));
        let (mut cbo, mut c2) = converging();
        let rule = StoppingRule {
            max_steps: 100_000,
            energy_tol: Some(tol),
            stagnation: None,
        };
        let o = cbo.run(&mut c2, &rule).unwrap();
        assert_eq!((o.reason, o.steps), (StopReason::EnergyTolerance, c.step));
        assert_eq!(run_bits(&c2), run_bits(&c));
    }

    /// `Stop::stagnation(tol, patience)` fires at the first step that ends `patience`
    /// consecutive consensus moves below `tol`, with `StopReason::Stagnation`.
    #[test]
    fn stagnation_fires_after_patience_small_moves() {
        let (tol, patience) = (1e-5, 10);
        let (mut cbo, mut c) = converging();
        let mut changes = Vec::new();
        let s = cbo
            .runner(100_000)
            .stop_when(Stop::stagnation(tol, patience).unwrap())
            .observe(1, |o| {
                if let Some(i) = o.info {
                    changes.push(i.consensus_change);
                }
                Ok(Control::Continue)
            })
            .run(&mut cbo, &mut c)
            .unwrap();
        assert_eq!(s.reason, StopReason::Stagnation);
        let k = c.step as usize;
        let p = patience as usize;
        assert!(k > p && k < 100_000);
        assert_eq!(changes.len(), k);
        assert!(changes[0].is_infinite(), "no change at the first step");
        assert!(
            changes[k - p..].iter().all(|v| *v < tol),
            "{:?}",
            &changes[k - p..]
        );
        // No earlier window of `patience` small moves.
        for end in p..k {
            assert!(
                changes[end - p..end].iter().any(|v| *v >= tol),
                "an earlier window ends at step {end}"
            );
        }
        assert!(c.state.consensus_change < tol);
    }

    /// Criteria combine: whichever fires first ends the run and names the reason (here a
    /// tolerance above every finite energy, at step 1, before any stagnation).
    #[test]
    fn combined_criteria_stop_at_the_first_that_fires() {
        let (mut cbo, mut c) = converging();
        let s = cbo
            .runner(1_000)
            .stop_when(Stop::stagnation(1e-5, 10).unwrap())
            .stop_when(Stop::energy_below(f64::INFINITY).unwrap())
            .run(&mut cbo, &mut c)
            .unwrap();
        assert_eq!((s.reason, c.step), (StopReason::EnergyTolerance, 1));
    }
}

/// Consensus-based sampling (sampling mode, ESS-adapted β, exponential scheme).
mod cbs {
    use super::*;
    use meanfield_integrators::{Cbs, CbsMode, CbsParams};

    const SEED: u64 = 23;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::ackley(3).unwrap().shifted(shift).unwrap()
    }

    fn params() -> CbsParams {
        CbsParams::new(CbsMode::Sampling, 0.3)
            .unwrap()
            .with_schedule(AlphaSchedule::EffectiveSampleSize {
                eta: 0.5,
                min: 1e-5,
                max: 1e5,
            })
            .unwrap()
    }

    fn ensemble() -> Ensemble {
        meanfield_integrators::cbo::uniform_ensemble(800, 3, -3.0, 3.0, 9).unwrap()
    }

    fn make(par: Parallelism) -> Cbs<TestFunction> {
        Cbs::new(objective(vec![0.5, -0.5, 0.25]), params())
            .unwrap()
            .with_parallelism(par)
    }

    const PATH_BITS: u64 = 0xcce2_39ef_55cf_ec1d;
    contract_tests!();

    #[test]
    fn other_shift_is_refused() {
        let mut other = Cbs::new(objective(vec![0.5, -0.5, 0.0]), params()).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
    }
}

mod polar_cbo {
    use super::*;
    use meanfield_integrators::{KernelScale, PolarCbo, PolarCboParams};

    const SEED: u64 = 24;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::ackley(3).unwrap().shifted(shift).unwrap()
    }

    fn params(kappa: f64) -> PolarCboParams {
        let cbo = CboParams::new(1.0, 0.8, 0.01)
            .unwrap()
            .with_alpha(10.0)
            .unwrap()
            .with_schedule(AlphaSchedule::cbxpy_default())
            .unwrap();
        PolarCboParams::new(cbo, kappa)
            .unwrap()
            .with_kernel_scale(KernelScale::Alpha)
    }

    fn ensemble() -> Ensemble {
        meanfield_integrators::cbo::uniform_ensemble(600, 3, -3.0, 3.0, 9).unwrap()
    }

    fn make(par: Parallelism) -> PolarCbo<TestFunction> {
        PolarCbo::new(objective(vec![0.5, -0.5, 0.25]), params(0.7))
            .unwrap()
            .with_parallelism(par)
    }

    const PATH_BITS: u64 = 0x65b2_856f_87b8_1e1b;
    contract_tests!();

    #[test]
    fn other_shift_or_kappa_is_refused() {
        let mut other = PolarCbo::new(objective(vec![0.5, -0.5, 0.0]), params(0.7)).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
        let mut other = PolarCbo::new(objective(vec![0.5, -0.5, 0.25]), params(0.8)).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
    }
}

mod cbo_memory {
    use super::*;
    use meanfield_integrators::{CboMemory, CboMemoryParams};

    const SEED: u64 = 25;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::ackley(3).unwrap().shifted(shift).unwrap()
    }

    fn params(lambda_memory: f64) -> CboMemoryParams {
        let cbo = CboParams::new(1.0, 0.8, 0.01)
            .unwrap()
            .with_alpha(30.0)
            .unwrap()
            .with_schedule(AlphaSchedule::cbxpy_default())
            .unwrap();
        CboMemoryParams::new(cbo, lambda_memory).unwrap()
    }

    fn ensemble() -> Ensemble {
        meanfield_integrators::cbo::uniform_ensemble(800, 3, -3.0, 3.0, 9).unwrap()
    }

    fn make(par: Parallelism) -> CboMemory<TestFunction> {
        CboMemory::new(objective(vec![0.5, -0.5, 0.25]), params(0.4))
            .unwrap()
            .with_parallelism(par)
    }

    const PATH_BITS: u64 = 0x4e0d_fe90_76b0_dd1c;
    contract_tests!();

    #[test]
    fn other_shift_or_memory_drift_is_refused() {
        let mut other = CboMemory::new(objective(vec![0.5, -0.5, 0.0]), params(0.4)).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
        let mut other = CboMemory::new(objective(vec![0.5, -0.5, 0.25]), params(0.5)).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
    }
}

mod covariance_cbo {
    use super::*;
    use meanfield_integrators::CbsMode;

    const SEED: u64 = 27;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::ackley(3).unwrap().shifted(shift).unwrap()
    }

    fn params(mode: CbsMode) -> CboParams {
        CboParams::new(1.0, 0.5, 0.01)
            .unwrap()
            .with_alpha(30.0)
            .unwrap()
            .with_schedule(AlphaSchedule::cbxpy_default())
            .unwrap()
            .with_noise(CboNoise::Covariance(mode))
    }

    fn ensemble() -> Ensemble {
        meanfield_integrators::cbo::uniform_ensemble(800, 3, -3.0, 3.0, 11).unwrap()
    }

    fn make(par: Parallelism) -> Cbo<TestFunction> {
        Cbo::new(objective(vec![0.5, -0.5, 0.25]), params(CbsMode::Sampling))
            .unwrap()
            .with_parallelism(par)
    }

    const PATH_BITS: u64 = 0x714c_5b83_d612_8504;
    contract_tests!();

    #[test]
    fn other_mode_is_refused() {
        let mut other = Cbo::new(
            objective(vec![0.5, -0.5, 0.25]),
            params(CbsMode::Optimization),
        )
        .unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
    }
}

mod mirror_cbo {
    use super::*;
    use meanfield_integrators::MirrorCbo;
    use meanfield_measures::mirror::Entropic;

    const SEED: u64 = 28;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::rastrigin(3).unwrap().shifted(shift).unwrap()
    }

    fn params(sigma: f64) -> CboParams {
        CboParams::new(1.0, sigma, 0.01)
            .unwrap()
            .with_alpha(30.0)
            .unwrap()
            .with_schedule(AlphaSchedule::cbxpy_default())
            .unwrap()
    }

    fn ensemble() -> Ensemble {
        dirichlet(800, 3, 12)
    }

    fn make(par: Parallelism) -> MirrorCbo<TestFunction, Entropic> {
        MirrorCbo::new(objective(vec![0.2, 0.3, 0.5]), Entropic, params(1.0))
            .unwrap()
            .with_parallelism(par)
    }

    const PATH_BITS: u64 = 0xf008_b94f_0b6a_c124;
    contract_tests!();

    #[test]
    fn other_shift_or_sigma_is_refused() {
        let mut other =
            MirrorCbo::new(objective(vec![0.2, 0.3, 0.4]), Entropic, params(1.0)).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
        let mut other =
            MirrorCbo::new(objective(vec![0.2, 0.3, 0.5]), Entropic, params(1.5)).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
    }
}

/// Mirror CBO with a map that is not a Legendre map (the elastic net: soft-threshold ∇φ*).
mod mirror_cbo_elastic_net {
    use super::*;
    use meanfield_integrators::cbo::uniform_ensemble;
    use meanfield_integrators::{ElasticNet, MirrorCbo};

    const SEED: u64 = 31;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::ackley(3).unwrap().shifted(shift).unwrap()
    }

    fn params() -> CboParams {
        CboParams::new(1.0, 1.0, 0.01)
            .unwrap()
            .with_alpha(30.0)
            .unwrap()
            .with_schedule(AlphaSchedule::cbxpy_default())
            .unwrap()
    }

    fn ensemble() -> Ensemble {
        uniform_ensemble(800, 3, -2.0, 2.0, 13).unwrap()
    }

    fn make(par: Parallelism) -> MirrorCbo<TestFunction, ElasticNet> {
        MirrorCbo::new(
            objective(vec![0.0, 0.3, -0.5]),
            ElasticNet::new(1.0, 0.2).unwrap(),
            params(),
        )
        .unwrap()
        .with_parallelism(par)
    }

    const PATH_BITS: u64 = 0x3ebc_9ef3_dd29_2c0f;
    contract_tests!();

    #[test]
    fn other_map_parameter_is_refused() {
        let mut other = MirrorCbo::new(
            objective(vec![0.0, 0.3, -0.5]),
            ElasticNet::new(1.0, 0.25).unwrap(),
            params(),
        )
        .unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
    }
}

mod constrained_cbo {
    use super::*;
    use meanfield_integrators::{
        ConstrainedCbo, ConstrainedCboParams, ConstraintScheme, Hypersurface,
    };

    const SEED: u64 = 29;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::ackley(3).unwrap().shifted(shift).unwrap()
    }

    fn params(scheme: ConstraintScheme) -> ConstrainedCboParams {
        let cbo = CboParams::new(1.0, 0.8, 0.01)
            .unwrap()
            .with_alpha(30.0)
            .unwrap()
            .with_noise(CboNoise::Isotropic);
        ConstrainedCboParams::new(cbo, Hypersurface::sphere(1.5).unwrap(), scheme).unwrap()
    }

    fn ensemble() -> Ensemble {
        meanfield_integrators::cbo::uniform_ensemble(800, 3, -2.0, 2.0, 13).unwrap()
    }

    mod drift {
        use super::*;

        fn make(par: Parallelism) -> ConstrainedCbo<TestFunction> {
            ConstrainedCbo::new(
                objective(vec![0.5, -0.5, 0.25]),
                params(ConstraintScheme::Drift { epsilon: 0.01 }),
            )
            .unwrap()
            .with_parallelism(par)
        }

        const PATH_BITS: u64 = 0xda3b_b3aa_9c5e_04c3;
        contract_tests!();

        #[test]
        fn other_scheme_or_epsilon_is_refused() {
            let mut other = ConstrainedCbo::new(
                objective(vec![0.5, -0.5, 0.25]),
                params(ConstraintScheme::Drift { epsilon: 0.02 }),
            )
            .unwrap();
            check_refused(
                &mut make(Parallelism::Sequential),
                &mut other,
                ensemble(),
                SEED,
            );
            let mut other = ConstrainedCbo::new(
                objective(vec![0.5, -0.5, 0.25]),
                params(ConstraintScheme::Hypersurface),
            )
            .unwrap();
            check_refused(
                &mut make(Parallelism::Sequential),
                &mut other,
                ensemble(),
                SEED,
            );
        }
    }

    mod hypersurface {
        use super::*;

        fn make(par: Parallelism) -> ConstrainedCbo<TestFunction> {
            ConstrainedCbo::new(
                objective(vec![0.5, -0.5, 0.25]),
                params(ConstraintScheme::Hypersurface),
            )
            .unwrap()
            .with_parallelism(par)
        }

        const PATH_BITS: u64 = 0x0962_d5f7_d031_4154;
        contract_tests!();
    }

    /// Anisotropic noise on the sphere: the other branch of the Itô correction.
    mod hypersurface_anisotropic {
        use super::*;

        fn make(par: Parallelism) -> ConstrainedCbo<TestFunction> {
            let cbo = CboParams::new(1.0, 0.8, 0.01)
                .unwrap()
                .with_alpha(30.0)
                .unwrap()
                .with_noise(CboNoise::Anisotropic);
            let p = ConstrainedCboParams::new(
                cbo,
                Hypersurface::sphere(1.5).unwrap(),
                ConstraintScheme::Hypersurface,
            )
            .unwrap();
            ConstrainedCbo::new(objective(vec![0.5, -0.5, 0.25]), p)
                .unwrap()
                .with_parallelism(par)
        }

        const PATH_BITS: u64 = 0xf359_1265_cb0e_0183;
        contract_tests!();
    }
}

mod pso {
    use super::*;
    use meanfield_integrators::{CboMemoryParams, Pso, PsoParams};

    const SEED: u64 = 26;
    const STEPS: u64 = 8;
    const STOCHASTIC: bool = true;

    fn objective(shift: Vec<f64>) -> TestFunction {
        TestFunction::rastrigin(3).unwrap().shifted(shift).unwrap()
    }

    fn params(inertia: f64) -> PsoParams {
        let cbo = CboParams::new(1.0, 0.8, 0.01)
            .unwrap()
            .with_alpha(30.0)
            .unwrap()
            .with_schedule(AlphaSchedule::cbxpy_default())
            .unwrap();
        PsoParams::new(CboMemoryParams::new(cbo, 0.4).unwrap(), inertia, 0.9).unwrap()
    }

    fn ensemble() -> Ensemble {
        meanfield_integrators::cbo::uniform_ensemble(800, 3, -3.0, 3.0, 10).unwrap()
    }

    fn make(par: Parallelism) -> Pso<TestFunction> {
        Pso::new(objective(vec![0.5, -0.5, 0.25]), params(0.1))
            .unwrap()
            .with_parallelism(par)
    }

    const PATH_BITS: u64 = 0x6f6c_4ffe_b4e1_ca03;
    contract_tests!();

    #[test]
    fn other_shift_or_inertia_is_refused() {
        let mut other = Pso::new(objective(vec![0.5, -0.5, 0.0]), params(0.1)).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
        let mut other = Pso::new(objective(vec![0.5, -0.5, 0.25]), params(0.2)).unwrap();
        check_refused(
            &mut make(Parallelism::Sequential),
            &mut other,
            ensemble(),
            SEED,
        );
    }
}

/// Constructors of the stop criteria validate their parameters.
#[test]
fn stop_criteria_validate_their_parameters() {
    assert!(matches!(
        Stop::energy_below(f64::NAN),
        Err(IntegratorError::InvalidParameter { .. })
    ));
    assert!(Stop::stagnation(1e-3, 0).is_err());
    assert!(Stop::stagnation(-1.0, 3).is_err());
    assert!(Stop::ess_below(-1.0).is_err());
    assert!(Stop::ess_below(f64::NAN).is_err());
}
