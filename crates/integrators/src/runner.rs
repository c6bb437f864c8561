//! The [`Runner`]: the one loop that drives every [`Dynamics`], with composable stop
//! criteria ([`Stop`]), any number of observers that see the state and the step's
//! [`Dynamics::Info`], divergence detection, a wall-time budget and a progress hook;
//! [`Checkpoint`] (the resumable state of a run) and [`run_many`] (independent replicas).
//!
//! Resume guarantee (tested per family): running k steps, checkpointing, deserialising
//! and running the remaining steps gives the bit-identical final state of one
//! uninterrupted run, because step k's randomness is keyed by (seed, k) and the seed
//! lives in the checkpoint (see [`crate::dynamics`]).

use std::time::{Duration, Instant};

use meanfield_measures::{Collective, Ensemble, Parallelism, replicate_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dynamics::{Dynamics, DynamicsState, StepInfo, StepKey};
use crate::error::{
    IntegratorError, ObserverError, Result, check_at_least_one, check_non_negative,
};

/// Version of the checkpoint encoding written by [`Checkpoint::to_json`]. A checkpoint
/// without a `format` field is format 1 (written before the field existed).
pub const CHECKPOINT_FORMAT: u32 = 1;

/// Largest `step` a checkpoint may hold (2^62): the runner adds step counts to it.
pub const MAX_CHECKPOINT_STEP: u64 = 1 << 62;

fn format_one() -> u32 {
    1
}

/// A resumable snapshot: the state after `step` steps at time `time` of the run with
/// seed `seed`.
///
/// Decoding ([`Checkpoint::from_json`]) rejects unknown fields (here and in the state
/// types), a `format` newer than [`CHECKPOINT_FORMAT`], and a `time`/`step` pair no run
/// can produce ([`Checkpoint::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint<S> {
    /// Encoding version ([`CHECKPOINT_FORMAT`]).
    #[serde(default = "format_one")]
    pub format: u32,
    /// [`Dynamics::fingerprint`] of the dynamics that produced it.
    pub fingerprint: String,
    /// The run's seed (every step's randomness is keyed by it).
    pub seed: u64,
    /// Number of steps taken so far.
    pub step: u64,
    /// Physical time reached.
    pub time: f64,
    /// The state.
    pub state: S,
}

impl<S: DynamicsState> Checkpoint<S> {
    /// A fresh run with seed `seed` from `ensemble`: step 0, time 0, the state from
    /// [`Dynamics::init_state`] (checked against the dynamics).
    pub fn start<D: Dynamics<State = S>>(
        dynamics: &D,
        ensemble: Ensemble,
        seed: u64,
    ) -> Result<Self> {
        let state = dynamics.init_state(ensemble, seed)?;
        Self::from_state(dynamics, state, seed)
    }

    /// A fresh run with seed `seed` from a state built by hand (e.g. a chosen θ₀ for
    /// particle EM), checked against the dynamics.
    pub fn from_state<D: Dynamics<State = S>>(dynamics: &D, state: S, seed: u64) -> Result<Self> {
        dynamics.check_state(&state)?;
        Ok(Self {
            format: CHECKPOINT_FORMAT,
            fingerprint: dynamics.fingerprint(),
            seed,
            step: 0,
            time: 0.0,
            state,
        })
    }

    /// The key of the next step.
    pub fn key(&self) -> StepKey {
        StepKey::new(self.seed, self.step)
    }

    /// JSON encoding (f64 values round-trip exactly through serde_json).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| IntegratorError::Checkpoint(e.to_string()))
    }

    /// Decodes a checkpoint written by [`Checkpoint::to_json`] and [validates](Self::validate) it.
    ///
    /// # Errors
    /// [`IntegratorError::Checkpoint`]: invalid JSON, a missing or unknown field, a
    /// format newer than [`CHECKPOINT_FORMAT`] (named before any other field is read, so
    /// a newer layout is not reported as a mere unknown field), or an invalid time/step.
    pub fn from_json(s: &str) -> Result<Self> {
        let err = |e: serde_json::Error| IntegratorError::Checkpoint(e.to_string());
        let value: serde_json::Value = serde_json::from_str(s).map_err(err)?;
        if let Some(format) = value.get("format") {
            match format.as_u64() {
                Some(f) if f <= u64::from(CHECKPOINT_FORMAT) => {}
                _ => {
                    return Err(IntegratorError::Checkpoint(format!(
                        "checkpoint format {format} is not supported: this build reads \
                         format {CHECKPOINT_FORMAT} and older (written by a newer meanfield?)"
                    )));
                }
            }
        }
        // With the path of the offending element ("state.data[3]: invalid type: null…").
        let checkpoint: Self = serde_path_to_error::deserialize(value)
            .map_err(|e| IntegratorError::Checkpoint(format!("{}: {}", e.path(), e.inner())))?;
        checkpoint.validate()?;
        Ok(checkpoint)
    }

    /// Checks what every run guarantees of its checkpoints: `format` ≥ 1 and known,
    /// `time` finite and ≥ 0, `time = 0` exactly when `step = 0` (every step advances
    /// time by its dt > 0), and `step` ≤ [`MAX_CHECKPOINT_STEP`].
    ///
    /// # Errors
    /// [`IntegratorError::Checkpoint`] naming the field and value.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(IntegratorError::Checkpoint(what));
        if self.format == 0 || self.format > CHECKPOINT_FORMAT {
            return bad(format!(
                "checkpoint format {} is not supported (this build: 1 … {CHECKPOINT_FORMAT})",
                self.format
            ));
        }
        if !(self.time.is_finite() && self.time >= 0.0) {
            return bad(format!(
                "checkpoint time = {} must be finite and ≥ 0",
                self.time
            ));
        }
        if self.step > MAX_CHECKPOINT_STEP {
            return bad(format!(
                "checkpoint step = {} is above the largest supported {MAX_CHECKPOINT_STEP}",
                self.step
            ));
        }
        if (self.step == 0) != (self.time == 0.0) {
            return bad(format!(
                "checkpoint step = {} and time = {} disagree: time is 0 exactly at step 0",
                self.step, self.time
            ));
        }
        Ok(())
    }
}

impl<S: crate::dynamics::DistributedState> Checkpoint<S> {
    /// The checkpoint of the whole distributed run (its state gathered from every rank),
    /// identical on every rank and, bit for bit, to the single-process checkpoint at the
    /// same step; write it from one rank. A single-process checkpoint is returned as is.
    ///
    /// # Errors
    /// [`IntegratorError::RankFailed`] (via the measures error) if a rank failed.
    pub fn gathered(&self) -> Result<Self> {
        self.with_state(self.state.gathered()?)
    }

    /// This rank's part of a global checkpoint (e.g. read from a file written by
    /// [`Checkpoint::gathered`] of a run on any number of ranks): resuming it continues
    /// the identical path.
    ///
    /// # Errors
    /// As [`Ensemble::scatter`].
    pub fn scattered(&self, collective: std::sync::Arc<dyn Collective>) -> Result<Self> {
        self.with_state(self.state.scattered(collective)?)
    }

    /// This checkpoint's header with another state.
    fn with_state(&self, state: S) -> Result<Self> {
        Ok(Self {
            format: self.format,
            fingerprint: self.fingerprint.clone(),
            seed: self.seed,
            step: self.step,
            time: self.time,
            state,
        })
    }
}

/// Why a run returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The requested number of steps was reached.
    StepsDone,
    /// The wall-clock budget ran out; the checkpoint can be resumed.
    TimeBudget,
    /// An observer asked to stop.
    ObserverStop,
    /// [`Stop::energy_below`]: the step's energy fell below the tolerance.
    EnergyTolerance,
    /// [`Stop::stagnation`]: the iterate stopped moving.
    Stagnation,
    /// [`Stop::ess_below`]: the effective sample size fell below the floor.
    EssFloor,
    /// [`Stop::when`]: the user's predicate fired.
    Predicate,
}

/// What an observer tells the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep going.
    Continue,
    /// Stop after this observation.
    Stop,
}

/// What observers and stop criteria see: the run's position, the state and the info of
/// the step that produced it (`None` at step 0 of a fresh run).
#[derive(Debug)]
pub struct Observation<'s, S, I> {
    /// Steps taken so far.
    pub step: u64,
    /// Physical time reached.
    pub time: f64,
    /// The state after `step` steps.
    pub state: &'s S,
    /// The info of the last step (`None` before the first step).
    pub info: Option<&'s I>,
}

/// Summary of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary<I> {
    /// Why it stopped.
    pub reason: StopReason,
    /// Steps taken by this call.
    pub steps_taken: u64,
    /// Mean acceptance over the steps that reported one.
    pub mean_acceptance: Option<f64>,
    /// The info of the last step taken by this call.
    pub last_info: Option<I>,
}

/// A stop criterion: looked at after every step, it may end the run.
pub trait StopCriterion<S, I> {
    /// Whether the run should stop after the step `obs` describes. A criterion that needs
    /// a quantity the dynamics does not report is an error
    /// ([`IntegratorError::UnsupportedStop`]), not a criterion that never fires.
    fn should_stop(&mut self, obs: &Observation<'_, S, I>) -> Result<bool>;

    /// The reason reported when it fires.
    fn reason(&self) -> StopReason;
}

/// Constructors of the built-in stop criteria (the step count and the wall-time budget
/// are [`Runner::new`] and [`Runner::time_budget`]).
#[derive(Debug, Clone, Copy)]
pub struct Stop;

impl Stop {
    /// Stops once the step's energy ([`StepInfo::energy`]) is below `tol` (CBXpy's
    /// `energy_tol`). `tol` must not be NaN.
    pub fn energy_below(tol: f64) -> Result<EnergyBelow> {
        if tol.is_nan() {
            return Err(IntegratorError::InvalidParameter {
                name: "energy_tol",
                value: tol,
                reason: "must not be NaN",
            });
        }
        Ok(EnergyBelow { tol })
    }

    /// Stops once the iterate moved less than `tol` ([`StepInfo::change`], sup norm) in
    /// `patience` consecutive steps. The count restarts when a run is resumed.
    pub fn stagnation(tol: f64, patience: u64) -> Result<Stagnation> {
        check_non_negative("stagnation tol", tol)?;
        check_at_least_one("stagnation patience", patience)?;
        Ok(Stagnation {
            tol,
            patience,
            run: 0,
        })
    }

    /// Stops once the effective sample size ([`StepInfo::ess`]) is below `floor` ≥ 0.
    pub fn ess_below(floor: f64) -> Result<EssBelow> {
        Ok(EssBelow {
            floor: check_non_negative("ess floor", floor)?,
        })
    }

    /// Stops once `predicate(observation)` is true.
    pub fn when<F>(predicate: F) -> Predicate<F> {
        Predicate(predicate)
    }
}

fn required<T>(value: Option<T>, criterion: &'static str, quantity: &'static str) -> Result<T> {
    value.ok_or(IntegratorError::UnsupportedStop {
        criterion,
        quantity,
    })
}

/// [`Stop::energy_below`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyBelow {
    tol: f64,
}

impl<S, I: StepInfo> StopCriterion<S, I> for EnergyBelow {
    fn should_stop(&mut self, obs: &Observation<'_, S, I>) -> Result<bool> {
        let Some(info) = obs.info else {
            return Ok(false);
        };
        Ok(required(info.energy(), "energy tolerance", "an energy")? < self.tol)
    }

    fn reason(&self) -> StopReason {
        StopReason::EnergyTolerance
    }
}

/// [`Stop::stagnation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stagnation {
    tol: f64,
    patience: u64,
    run: u64,
}

impl<S, I: StepInfo> StopCriterion<S, I> for Stagnation {
    fn should_stop(&mut self, obs: &Observation<'_, S, I>) -> Result<bool> {
        let Some(info) = obs.info else {
            return Ok(false);
        };
        let change = required(info.change(), "stagnation", "the change of an iterate")?;
        self.run = if change < self.tol { self.run + 1 } else { 0 };
        Ok(self.run >= self.patience)
    }

    fn reason(&self) -> StopReason {
        StopReason::Stagnation
    }
}

/// [`Stop::ess_below`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EssBelow {
    floor: f64,
}

impl<S, I: StepInfo> StopCriterion<S, I> for EssBelow {
    fn should_stop(&mut self, obs: &Observation<'_, S, I>) -> Result<bool> {
        let Some(info) = obs.info else {
            return Ok(false);
        };
        Ok(required(info.ess(), "ESS floor", "an effective sample size")? < self.floor)
    }

    fn reason(&self) -> StopReason {
        StopReason::EssFloor
    }
}

/// [`Stop::when`].
pub struct Predicate<F>(F);

impl<S, I, F: FnMut(&Observation<'_, S, I>) -> bool> StopCriterion<S, I> for Predicate<F> {
    fn should_stop(&mut self, obs: &Observation<'_, S, I>) -> Result<bool> {
        Ok((self.0)(obs))
    }

    fn reason(&self) -> StopReason {
        StopReason::Predicate
    }
}

/// What an observer returns: go on, stop, or fail the run with its own typed error
/// (it comes back as [`IntegratorError::Observer`], downcastable to the observer's type).
pub type ObserverResult = std::result::Result<Control, ObserverError>;

type Observer<'a, S, I> = Box<dyn FnMut(&Observation<'_, S, I>) -> ObserverResult + 'a>;

/// Drives a dynamics until a step count, a stop criterion, an observer or a time budget
/// ends the run.
pub struct Runner<'a, S, I> {
    total_steps: u64,
    time_budget: Option<Duration>,
    criteria: Vec<Box<dyn StopCriterion<S, I> + 'a>>,
    observers: Vec<(u64, Observer<'a, S, I>)>,
    progress: Option<Box<dyn FnMut(u64, u64) + 'a>>,
}

impl<'a, S: DynamicsState, I: StepInfo> Runner<'a, S, I> {
    /// Runs until the checkpoint has `total_steps` steps (or something stops it first).
    /// [`Dynamics::runner`] makes the same runner with the types filled in.
    pub fn new(total_steps: u64) -> Self {
        Self {
            total_steps,
            time_budget: None,
            criteria: Vec::new(),
            observers: Vec::new(),
            progress: None,
        }
    }

    /// Adds an observer, called at step 0 of a fresh run (a resumed run starts observing
    /// at its next due step), every `every` steps, at the last step and at a step where
    /// a stop criterion fires. It may stop the run or fail it with its own error.
    /// Observers are called in the order they were added.
    pub fn observe(
        mut self,
        every: u64,
        observer: impl FnMut(&Observation<'_, S, I>) -> ObserverResult + 'a,
    ) -> Self {
        self.observers.push((every.max(1), Box::new(observer)));
        self
    }

    /// Adds a stop criterion (criteria are checked after every step, in order).
    pub fn stop_when(mut self, criterion: impl StopCriterion<S, I> + 'a) -> Self {
        self.criteria.push(Box::new(criterion));
        self
    }

    /// Stops (resumably) once this much wall time has passed.
    pub fn time_budget(mut self, budget: Duration) -> Self {
        self.time_budget = Some(budget);
        self
    }

    /// Calls `progress(step, total_steps)` after every step.
    pub fn progress(mut self, progress: impl FnMut(u64, u64) + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Advances `checkpoint` with `dynamics` until `total_steps`, a criterion, a budget
    /// or an observer stops it.
    ///
    /// # Errors
    /// [`IntegratorError::Checkpoint`] if the checkpoint was written by other dynamics
    /// (fingerprint mismatch); the dynamics' state check; a non-finite state is
    /// [`IntegratorError::Diverged`] naming the step (the checkpoint then holds that
    /// state, with `step` still at the last finite one: keep a serialised checkpoint
    /// from an observer to restart before the blow-up); step and observer errors.
    pub fn run<D: Dynamics<State = S, Info = I>>(
        &mut self,
        dynamics: &mut D,
        checkpoint: &mut Checkpoint<S>,
    ) -> Result<RunSummary<I>> {
        // A distributed run (the state is one rank's shard): every rank agrees after the
        // checks and after every step on failures and on stopping (docs/distributed.md).
        let group = checkpoint.state.collective();
        let group = group.as_deref();
        let checked = Self::check_start(dynamics, checkpoint);
        agree(group, checkpoint.step, checked.map(|()| None))?;
        let start = Instant::now();
        let mut summary = Tally::new(checkpoint.step);
        if checkpoint.step == 0 {
            let control = self.notify(&observation(checkpoint, None), true);
            let stop = control.map(|c| (c == Control::Stop).then_some(StopReason::ObserverStop));
            if agree(group, 0, stop)?.is_some() {
                return Ok(summary.finish(StopReason::ObserverStop, checkpoint.step));
            }
        }
        while checkpoint.step < self.total_steps {
            let stepped = dynamics
                .step(checkpoint.key(), &mut checkpoint.state)
                .and_then(|info| match checkpoint.state.non_finite() {
                    Some(reason) => Err(IntegratorError::Diverged {
                        step: checkpoint.step + 1,
                        reason,
                    }),
                    None => Ok(info),
                });
            let info = agree_on(group, checkpoint.step + 1, stepped)?;
            checkpoint.step += 1;
            checkpoint.time += info.dt();
            summary.record(&info);
            if let Some(p) = self.progress.as_mut() {
                p(checkpoint.step, self.total_steps);
            }
            let obs = observation(checkpoint, Some(&info));
            let decided = self.first_criterion(&obs).and_then(|fired| {
                let last = checkpoint.step == self.total_steps || fired.is_some();
                let control = self.notify(&obs, last)?;
                Ok(if control == Control::Stop {
                    Some(StopReason::ObserverStop)
                } else if fired.is_some() {
                    fired
                } else if self.time_budget.is_some_and(|b| start.elapsed() >= b) {
                    Some(StopReason::TimeBudget)
                } else {
                    None
                })
            });
            summary.last_info = Some(info);
            if let Some(reason) = agree(group, checkpoint.step, decided)? {
                return Ok(summary.finish(reason, checkpoint.step));
            }
        }
        Ok(summary.finish(StopReason::StepsDone, checkpoint.step))
    }

    /// The checks before a run: checkpoint validity, fingerprint, the dynamics' state
    /// check and a finite starting state.
    fn check_start<D: Dynamics<State = S, Info = I>>(
        dynamics: &D,
        checkpoint: &Checkpoint<S>,
    ) -> Result<()> {
        checkpoint.validate()?;
        if checkpoint.fingerprint != dynamics.fingerprint() {
            return Err(IntegratorError::Checkpoint(format!(
                "checkpoint was written by `{}`, not by `{}`",
                checkpoint.fingerprint,
                dynamics.fingerprint()
            )));
        }
        dynamics.check_state(&checkpoint.state)?;
        if let Some(reason) = checkpoint.state.non_finite() {
            return Err(IntegratorError::Diverged {
                step: checkpoint.step,
                reason,
            });
        }
        Ok(())
    }

    /// The reason of the first criterion that fires after this step, if any (every
    /// criterion sees every step, so stateful ones such as stagnation keep count).
    fn first_criterion(&mut self, obs: &Observation<'_, S, I>) -> Result<Option<StopReason>> {
        let mut fired = None;
        for criterion in &mut self.criteria {
            if criterion.should_stop(obs)? && fired.is_none() {
                fired = Some(criterion.reason());
            }
        }
        Ok(fired)
    }

    /// Calls every observer that is due (or all of them when `force`); `Stop` if any
    /// asked to stop.
    fn notify(&mut self, obs: &Observation<'_, S, I>, force: bool) -> Result<Control> {
        let mut control = Control::Continue;
        for (every, observer) in &mut self.observers {
            if force || obs.step.is_multiple_of(*every) {
                match observer(obs) {
                    Ok(Control::Continue) => {}
                    Ok(Control::Stop) => control = Control::Stop,
                    Err(source) => {
                        return Err(IntegratorError::Observer {
                            step: obs.step,
                            source: source.into(),
                        });
                    }
                }
            }
        }
        Ok(control)
    }
}

/// The code of a stop decision in the agreement exchange (0: go on).
fn stop_code(reason: Option<StopReason>) -> f64 {
    match reason {
        None => 0.0,
        Some(r) => 1.0 + STOP_REASONS.iter().position(|x| *x == r).unwrap_or(0) as f64,
    }
}

/// Every [`StopReason`], in the order of their agreement codes.
const STOP_REASONS: [StopReason; 7] = [
    StopReason::StepsDone,
    StopReason::TimeBudget,
    StopReason::ObserverStop,
    StopReason::EnergyTolerance,
    StopReason::Stagnation,
    StopReason::EssFloor,
    StopReason::Predicate,
];

/// The agreement of a distributed run after a phase of step `step`: a local error becomes
/// every rank's [`IntegratorError::RankFailed`] (the lowest failing rank's), and the run
/// stops when any rank decided to (with the lowest such rank's reason). A single process
/// (`group = None`) keeps its own result.
fn agree(
    group: Option<&dyn Collective>,
    step: u64,
    local: Result<Option<StopReason>>,
) -> Result<Option<StopReason>> {
    let Some(group) = group else {
        return local;
    };
    if let Some(failure) = group.failure() {
        return Err(failure.into());
    }
    let decision = match local {
        Err(e) => return Err(group.fail(step, &e.to_string()).into()),
        Ok(d) => d,
    };
    let all = group.all_gather(&[stop_code(decision)])?;
    Ok(all
        .iter()
        .filter_map(|c| c.first().copied())
        .find(|&c| c > 0.0)
        .map(|c| STOP_REASONS[(c as usize - 1).min(STOP_REASONS.len() - 1)]))
}

/// [`agree`] on a step's result (no stop decision yet).
fn agree_on<T>(group: Option<&dyn Collective>, step: u64, local: Result<T>) -> Result<T> {
    let Some(g) = group else {
        return local;
    };
    if let Some(failure) = g.failure() {
        return Err(failure.into());
    }
    match local {
        Err(e) => Err(g.fail(step, &e.to_string()).into()),
        Ok(v) => {
            g.all_gather(&[])?;
            Ok(v)
        }
    }
}

/// What observers and criteria see of `checkpoint` after a step with `info`.
fn observation<'s, S, I>(
    checkpoint: &'s Checkpoint<S>,
    info: Option<&'s I>,
) -> Observation<'s, S, I> {
    Observation {
        step: checkpoint.step,
        time: checkpoint.time,
        state: &checkpoint.state,
        info,
    }
}

/// Running totals of one [`Runner::run`] call.
struct Tally<I> {
    first: u64,
    acc_sum: f64,
    acc_n: u64,
    last_info: Option<I>,
}

impl<I: StepInfo> Tally<I> {
    fn new(first: u64) -> Self {
        Self {
            first,
            acc_sum: 0.0,
            acc_n: 0,
            last_info: None,
        }
    }

    fn record(&mut self, info: &I) {
        if let Some(a) = info.acceptance() {
            self.acc_sum += a;
            self.acc_n += 1;
        }
    }

    fn finish(self, reason: StopReason, step: u64) -> RunSummary<I> {
        RunSummary {
            reason,
            steps_taken: step - self.first,
            mean_acceptance: (self.acc_n > 0).then(|| self.acc_sum / self.acc_n as f64),
            last_info: self.last_info,
        }
    }
}

/// Runs `replicas` independent replicas of a dynamics: replica r is built by
/// `make(r)` (dynamics and starting ensemble), starts a run with seed
/// [`replicate_seed`]`(seed, 0, r)` and is driven by `run(r, dynamics, checkpoint)` (build
/// the runner there). With [`Parallelism::Rayon`] replicas run in parallel; each is
/// sequential inside unless its dynamics says otherwise, and results come back in
/// replica order, so they do not depend on the thread count. The first error (in
/// replica order) is returned.
pub fn run_many<D, T, M, R>(
    replicas: usize,
    seed: u64,
    parallelism: Parallelism,
    make: M,
    run: R,
) -> Result<Vec<T>>
where
    D: Dynamics,
    T: Send,
    M: Fn(usize) -> Result<(D, Ensemble)> + Sync,
    R: Fn(usize, &mut D, &mut Checkpoint<D::State>) -> Result<T> + Sync,
{
    let one = |r: usize| -> Result<T> {
        let (mut dynamics, start) = make(r)?;
        let mut checkpoint =
            Checkpoint::start(&dynamics, start, replicate_seed(seed, 0, r as u64))?;
        run(r, &mut dynamics, &mut checkpoint)
    };
    match parallelism {
        Parallelism::Sequential => (0..replicas).map(one).collect(),
        Parallelism::Rayon => (0..replicas).into_par_iter().map(one).collect(),
    }
}
