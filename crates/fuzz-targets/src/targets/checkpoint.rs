//! Checkpoint loading for every state type: `Checkpoint::<S>::from_json` on arbitrary
//! text never panics, for S = `Ensemble` (plain, weighted, simplex, box), `CboState` and
//! `LatentState` (with and without `Momenta`). `Ok` ⇒ the checkpoint passes
//! `Checkpoint::validate`, its state has no NaN/±∞ (`DynamicsState::non_finite`), and
//! `to_json` → `from_json` → `to_json` is the identity on the text (exact float round
//! trip); `Err` ⇒ `IntegratorError::Checkpoint`. A loaded checkpoint is then resumed for
//! one step under a matching dynamics (MFLD on a quadratic interaction, CBO on Rastrigin,
//! PGD / MPD on the toy hierarchical Gaussian, fingerprint set to theirs): that never
//! panics either, it steps or returns a typed error.
//!
//! Layout: byte 0 selects the state type, the rest is the JSON text.

use std::fmt::Debug;

use crate::text;
use meanfield::energy::{HierarchicalGaussian, QuadraticInteraction, TestFunction, TestKind};
use meanfield::integrators::{
    Cbo, CboParams, CboState, Checkpoint, Dynamics, DynamicsState, IntegratorError, LangevinParams,
    LatentState, Mfld, Mpd, MpdParams, Pgd, PgdParams,
};
use meanfield::measures::Ensemble;

/// At most this many particle-coordinates are stepped (bounded time per input).
const MAX_STEPPED: usize = 4096;

/// The `checkpoint` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn checkpoint(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let json = text(rest);
    match kind % 3 {
        0 => {
            if let Some(cp) = load::<Ensemble>(&json) {
                let d = cp.state.dim();
                if let (Ok(f), Ok(p)) = (
                    QuadraticInteraction::new(1.0, vec![0.5; d]),
                    LangevinParams::new(0.5, 0.05),
                ) && let Ok(mut mfld) = Mfld::new(f, p)
                {
                    let size = cp.state.n() * d;
                    resume(&mut mfld, cp, size);
                }
            }
        }
        1 => {
            if let Some(cp) = load::<CboState>(&json) {
                let d = cp.state.ensemble.dim();
                let size = cp.state.ensemble.n() * d;
                if let (Ok(f), Ok(p)) = (
                    TestFunction::new(TestKind::Rastrigin, d),
                    CboParams::new(1.0, 0.5, 0.01),
                ) && let Ok(mut cbo) = Cbo::new(f, p)
                {
                    resume(&mut cbo, cp, size);
                }
            }
        }
        _ => {
            if let Some(cp) = load::<LatentState>(&json) {
                let size = cp.state.particles.n() * cp.state.particles.dim();
                let Ok(model) = HierarchicalGaussian::new(vec![0.5, -1.0, 2.0]) else {
                    return;
                };
                if cp.state.momenta.is_some() {
                    if let Ok(p) = MpdParams::new(0.05, 0.05)
                        && let Ok(mut mpd) = Mpd::new(model, p)
                    {
                        resume(&mut mpd, cp, size);
                    }
                } else if let Ok(p) = PgdParams::new(0.05, 0.05)
                    && let Ok(mut pgd) = Pgd::new(model, p)
                {
                    resume(&mut pgd, cp, size);
                }
            }
        }
    }
}

/// Loads and checks the documented postconditions of `from_json`.
fn load<S: DynamicsState + Debug>(json: &str) -> Option<Checkpoint<S>> {
    match Checkpoint::<S>::from_json(json) {
        Ok(cp) => {
            cp.validate().expect("a loaded checkpoint validates");
            assert!(
                cp.state.non_finite().is_none(),
                "loaded state holds a non-finite value: {:?}",
                cp.state.non_finite()
            );
            let text = cp.to_json().expect("a loaded checkpoint encodes");
            let back = Checkpoint::<S>::from_json(&text).expect("its own JSON loads");
            assert_eq!(
                back.to_json().expect("encodes again"),
                text,
                "JSON round trip not exact"
            );
            Some(cp)
        }
        Err(IntegratorError::Checkpoint(_)) => None,
        Err(e) => panic!("from_json failed with a non-checkpoint error: {e:?}"),
    }
}

/// Resumes `cp` for one step under `dynamics` (its fingerprint): a step or a typed error.
fn resume<D: Dynamics>(dynamics: &mut D, mut cp: Checkpoint<D::State>, size: usize)
where
    D::State: Debug,
{
    if size > MAX_STEPPED || cp.step >= 1 << 40 {
        return;
    }
    cp.fingerprint = dynamics.fingerprint();
    let target = cp.step + 1;
    let before = cp.step;
    // A typed error is an accepted outcome; a success must have taken exactly the step.
    if let Ok(summary) = dynamics.runner(target).run(dynamics, &mut cp) {
        assert_eq!(cp.step, target, "a run that succeeded ends at its target");
        assert_eq!(summary.steps_taken, target - before);
        assert!(cp.time.is_finite() && cp.time > 0.0, "time {}", cp.time);
    }
}
