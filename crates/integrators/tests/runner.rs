//! Runner guarantees: bit-identical resume from a serialised checkpoint, bit-identical
//! results for any thread count, typed divergence and input errors.

use meanfield_energy::{Functional, QuadraticInteraction};
use meanfield_integrators::{
    CHECKPOINT_FORMAT, Checkpoint, Control, Dynamics, IntegratorError, LangevinParams,
    MAX_CHECKPOINT_STEP, Mfld, Runner, StopReason,
};
use meanfield_measures::{Domain, Ensemble, NoiseStreams, Parallelism};
use proptest::prelude::*;

fn start(n: usize, d: usize, seed: u64) -> Ensemble {
    let s = NoiseStreams::new(seed, 99);
    Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
        s.fill_standard_normal(0, i as u64, row)
    })
    .unwrap()
}

fn mfld_kappa(d: usize, kappa: f64, par: Parallelism) -> Mfld<QuadraticInteraction> {
    let f = QuadraticInteraction::new(kappa, (0..d).map(|k| k as f64 - 0.5).collect()).unwrap();
    Mfld::new(f, LangevinParams::new(0.3, 0.02).unwrap())
        .unwrap()
        .with_parallelism(par)
}

fn mfld(d: usize, par: Parallelism) -> Mfld<QuadraticInteraction> {
    mfld_kappa(d, 2.0, par)
}

fn bits(e: &Ensemble) -> Vec<u64> {
    e.as_slice().iter().map(|v| v.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Run K steps at once, or k steps → JSON checkpoint → K − k steps: same bits.
    #[test]
    fn checkpoint_resume_is_bit_identical(
        n in 1usize..300, d in 1usize..4, total in 1u64..60, split in 0u64..60, seed in any::<u64>()
    ) {
        let split = split.min(total);
        let mut dy = mfld(d, Parallelism::Sequential);
        let mut whole = Checkpoint::start(&dy, start(n, d, seed), seed).unwrap();
        Runner::new(total).run(&mut dy, &mut whole).unwrap();

        let mut dy2 = mfld(d, Parallelism::Sequential);
        let mut first = Checkpoint::start(&dy2, start(n, d, seed), seed).unwrap();
        Runner::new(split).run(&mut dy2, &mut first).unwrap();
        let json = first.to_json().unwrap();
        let mut resumed: Checkpoint<Ensemble> = Checkpoint::from_json(&json).unwrap();
        let mut dy3 = mfld(d, Parallelism::Sequential);
        Runner::new(total).run(&mut dy3, &mut resumed).unwrap();
        prop_assert_eq!(resumed.step, total);
        prop_assert_eq!(bits(&resumed.state), bits(&whole.state));
        prop_assert_eq!(resumed.time.to_bits(), whole.time.to_bits());
    }
}

/// The same seed with 1 and 4 threads (and sequentially) gives the same bits.
#[test]
fn thread_count_does_not_change_results() {
    let run = |par: Parallelism, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut dy = mfld(3, par);
            let mut c = Checkpoint::start(&dy, start(5_000, 3, 7), 7).unwrap();
            Runner::new(25).run(&mut dy, &mut c).unwrap();
            bits(&c.state)
        })
    };
    let seq = run(Parallelism::Sequential, 1);
    assert_eq!(seq, run(Parallelism::Rayon, 1));
    assert_eq!(seq, run(Parallelism::Rayon, 4));
}

/// A step size that makes the scheme blow up is reported with the step at which the
/// state became non-finite.
#[test]
fn divergence_names_the_step() {
    let f = QuadraticInteraction::new(1.0, vec![0.0]).unwrap();
    // |1 − η(1+κ)| = 799 > 1: geometric blow-up, overflow after ~110 steps.
    let mut dy = Mfld::new(f, LangevinParams::new(0.1, 400.0).unwrap()).unwrap();
    let mut c = Checkpoint::start(&dy, start(10, 1, 1), 1).unwrap();
    let err = Runner::new(10_000).run(&mut dy, &mut c).unwrap_err();
    match err {
        IntegratorError::Diverged { step, ref reason } => {
            assert!(step > 1 && step < 10_000, "step {step}");
            assert_eq!(step, c.step + 1);
            assert!(reason.contains("non-finite"), "{reason}");
        }
        other => panic!("expected divergence, got {other:?}"),
    }
}

#[test]
fn bad_parameters_and_states_are_typed_errors() {
    for (lambda, eta) in [
        (0.0, 0.1),
        (-1.0, 0.1),
        (f64::NAN, 0.1),
        (0.1, 0.0),
        (0.1, -1.0),
        (0.1, f64::INFINITY),
    ] {
        assert!(matches!(
            LangevinParams::new(lambda, eta),
            Err(IntegratorError::InvalidParameter { .. })
        ));
    }
    // A checkpoint whose state was not checked (built by hand, or edited JSON).
    fn unchecked<D: Dynamics>(dy: &D, state: D::State) -> Checkpoint<D::State> {
        Checkpoint {
            format: meanfield_integrators::CHECKPOINT_FORMAT,
            fingerprint: dy.fingerprint(),
            seed: 0,
            step: 0,
            time: 0.0,
            state,
        }
    }
    // Dimension mismatch between functional and ensemble: refused where the run starts
    // and by the runner.
    let mut dy = mfld(2, Parallelism::Sequential);
    assert!(matches!(
        Checkpoint::start(&dy, start(4, 3, 0), 0),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let mut c = unchecked(&dy, start(4, 3, 0));
    assert!(matches!(
        Runner::new(1).run(&mut dy, &mut c),
        Err(IntegratorError::IncompatibleState(_))
    ));
    // A checkpoint from different dynamics (another energy) is refused.
    let mut c = Checkpoint::start(&dy, start(4, 2, 0), 0).unwrap();
    let mut other = mfld_kappa(2, 2.5, Parallelism::Sequential);
    assert!(matches!(
        Runner::new(1).run(&mut other, &mut c),
        Err(IntegratorError::Checkpoint(_))
    ));
    assert_eq!(c.step, 0, "a refused checkpoint is not advanced");
    // Constrained ensembles are refused by plain MFLD.
    let simplex = Ensemble::new(1, 3, vec![0.2, 0.3, 0.5], Domain::Simplex).unwrap();
    let f = meanfield_energy::SimplexMoment::centroid(3, 0.0).unwrap();
    assert_eq!(f.dim(), 3);
    let mut dy = Mfld::new(f, LangevinParams::new(0.1, 0.1).unwrap()).unwrap();
    assert!(matches!(
        Checkpoint::start(&dy, simplex.clone(), 0),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let mut c = unchecked(&dy, simplex);
    assert!(matches!(
        Runner::new(1).run(&mut dy, &mut c),
        Err(IntegratorError::IncompatibleState(_))
    ));
}

/// Observers see step 0, every k-th step and the last; a stop request ends the run and
/// the time budget stops resumably.
#[test]
fn observers_and_budgets() {
    let mut seen = vec![];
    let mut dy = mfld(1, Parallelism::Sequential);
    let mut c = Checkpoint::start(&dy, start(8, 1, 3), 3).unwrap();
    let s = dy
        .runner(23)
        .observe(5, |o| {
            seen.push(o.step);
            Ok(Control::Continue)
        })
        .run(&mut dy, &mut c)
        .unwrap();
    assert_eq!(s.reason, StopReason::StepsDone);
    assert_eq!(seen, vec![0, 5, 10, 15, 20, 23]);

    let mut c = Checkpoint::start(&dy, start(8, 1, 3), 3).unwrap();
    let s = dy
        .runner(100)
        .observe(1, |o| {
            Ok(if o.step == 7 {
                Control::Stop
            } else {
                Control::Continue
            })
        })
        .run(&mut dy, &mut c)
        .unwrap();
    assert_eq!((s.reason, c.step), (StopReason::ObserverStop, 7));

    let mut c = Checkpoint::start(&dy, start(8, 1, 3), 3).unwrap();
    let s = Runner::new(u64::MAX)
        .time_budget(std::time::Duration::from_millis(20))
        .run(&mut dy, &mut c)
        .unwrap();
    assert_eq!(s.reason, StopReason::TimeBudget);

    let mut c = Checkpoint::start(&dy, start(8, 1, 3), 3).unwrap();
    let err = dy
        .runner(10)
        .observe(2, |_| Err("observer broke".into()))
        .run(&mut dy, &mut c)
        .unwrap_err();
    match err {
        IntegratorError::Observer { step: 0, source } => {
            assert_eq!(source.to_string(), "observer broke")
        }
        other => panic!("expected an observer error at step 0, got {other:?}"),
    }
}

/// The progress hook sees every step once, in order, with the run's total; a run stopped
/// by its time budget, serialised and resumed, continues the uninterrupted path bit for
/// bit (also when the budget stops it again, repeatedly, until the steps are done).
#[test]
fn progress_and_resume_after_a_time_budget_stop() {
    let total = 400;
    let mut dy = mfld(2, Parallelism::Sequential);
    let mut whole = Checkpoint::start(&dy, start(64, 2, 11), 11).unwrap();
    let mut calls = vec![];
    let s = dy
        .runner(total)
        .progress(|step, of| calls.push((step, of)))
        .run(&mut dy, &mut whole)
        .unwrap();
    assert_eq!(s.reason, StopReason::StepsDone);
    assert_eq!(calls, (1..=total).map(|k| (k, total)).collect::<Vec<_>>());

    // A zero budget stops after every single step: the hardest case for a resume.
    let mut c = Checkpoint::start(&dy, start(64, 2, 11), 11).unwrap();
    let mut stops = 0;
    while c.step < total {
        let before = c.step;
        let mut seen = vec![];
        let s = dy
            .runner(total)
            .time_budget(std::time::Duration::ZERO)
            .progress(|step, _| seen.push(step))
            .run(&mut dy, &mut c)
            .unwrap();
        assert_eq!(seen, vec![before + 1], "one step per budgeted run");
        if c.step < total {
            assert_eq!(s.reason, StopReason::TimeBudget);
            stops += 1;
        }
        c = Checkpoint::from_json(&c.to_json().unwrap()).unwrap();
    }
    assert_eq!(stops, total - 1);
    assert_eq!(bits(&c.state), bits(&whole.state));
    assert_eq!(c.time.to_bits(), whole.time.to_bits());
}

/// An edited checkpoint is refused with an error naming what is wrong; the file as
/// written (with or without its `format` field) loads and resumes.
#[test]
fn edited_checkpoints_are_refused_naming_the_field() {
    let mut dy = mfld(2, Parallelism::Sequential);
    let mut ck = Checkpoint::start(&dy, start(16, 2, 3), 3).unwrap();
    Runner::new(4).run(&mut dy, &mut ck).unwrap();
    let json = ck.to_json().unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format"], serde_json::json!(CHECKPOINT_FORMAT));
    let edited = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        Checkpoint::<Ensemble>::from_json(&v.to_string())
    };
    let refused = |f: &dyn Fn(&mut serde_json::Value), needle: &str| {
        let err = edited(f).expect_err(needle).to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    };
    // Written before the field existed: format 1.
    let old = edited(&|v| {
        v.as_object_mut().unwrap().remove("format");
    })
    .unwrap();
    assert_eq!(old, ck);
    refused(
        &|v| v["format"] = serde_json::json!(2),
        "checkpoint format 2",
    );
    refused(
        &|v| v["format"] = serde_json::json!(0),
        "checkpoint format 0",
    );
    refused(
        &|v| v["extra"] = serde_json::json!(1),
        "unknown field `extra`",
    );
    refused(
        &|v| v["state"]["note"] = serde_json::json!("x"),
        "unknown field `note`",
    );
    refused(&|v| v["time"] = serde_json::json!(-1.0), "time = -1");
    refused(&|v| v["time"] = serde_json::json!(0.0), "disagree");
    refused(&|v| v["step"] = serde_json::json!(0), "disagree");
    refused(
        &|v| v["step"] = serde_json::json!(u64::MAX),
        "above the largest supported",
    );
    refused(&|v| v["time"] = serde_json::Value::Null, "time");
    // A hand-built checkpoint gets the same checks from the runner.
    let mut bad = ck.clone();
    bad.time = f64::NAN;
    let err = Runner::new(1)
        .run(&mut dy, &mut bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("time = NaN"), "{err}");
    const { assert!(MAX_CHECKPOINT_STEP < u64::MAX / 2) };
}
