//! The [`Runner`]: drives any [`Dynamics`] with observers, checkpoints, divergence
//! detection, step and time budgets and a progress callback.
//!
//! Resume guarantee (tested in `tests/runner.rs`): running k steps, checkpointing,
//! deserialising and running the remaining steps gives the bit-identical final state of
//! one uninterrupted run, because step k's randomness is keyed by k (see
//! [`crate::dynamics`]).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::dynamics::{Dynamics, DynamicsState};
use crate::error::{IntegratorError, Result};

/// A resumable snapshot: the state after `step` steps at time `time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint<S> {
    /// [`Dynamics::fingerprint`] of the dynamics that produced it.
    pub fingerprint: String,
    /// Number of steps taken so far.
    pub step: u64,
    /// Physical time reached.
    pub time: f64,
    /// The state.
    pub state: S,
}

impl<S: DynamicsState> Checkpoint<S> {
    /// A fresh start at step 0, time 0.
    pub fn start<D: Dynamics<State = S>>(dynamics: &D, state: S) -> Self {
        Self {
            fingerprint: dynamics.fingerprint(),
            step: 0,
            time: 0.0,
            state,
        }
    }

    /// JSON encoding (f64 values round-trip exactly through serde_json).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| IntegratorError::Checkpoint(e.to_string()))
    }

    /// Decodes a checkpoint written by [`Checkpoint::to_json`].
    pub fn from_json(s: &str) -> Result<Self> {
        serde_json::from_str(s).map_err(|e| IntegratorError::Checkpoint(e.to_string()))
    }
}

/// Why a run returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The requested number of steps was reached.
    StepsDone,
    /// The wall-clock budget ran out; the checkpoint can be resumed.
    TimeBudget,
    /// An observer asked to stop.
    ObserverStop,
}

/// What an observer tells the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep going.
    Continue,
    /// Stop after this observation.
    Stop,
}

/// Summary of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Why it stopped.
    pub reason: StopReason,
    /// Steps taken by this call.
    pub steps_taken: u64,
    /// Mean acceptance over the steps that reported one.
    pub mean_acceptance: Option<f64>,
}

type Observer<'a, S> = Box<dyn FnMut(u64, f64, &S) -> std::result::Result<Control, String> + 'a>;

/// Drives a dynamics for a number of steps.
pub struct Runner<'a, S> {
    total_steps: u64,
    observe_every: u64,
    time_budget: Option<Duration>,
    observer: Option<Observer<'a, S>>,
    progress: Option<Box<dyn FnMut(u64, u64) + 'a>>,
}

impl<'a, S: DynamicsState> Runner<'a, S> {
    /// Runs until the checkpoint has `total_steps` steps.
    pub fn new(total_steps: u64) -> Self {
        Self {
            total_steps,
            observe_every: 0,
            time_budget: None,
            observer: None,
            progress: None,
        }
    }

    /// Calls `observer(step, time, state)` at step 0 of a fresh run (a resumed run
    /// starts observing at its next due step), every `every` steps and at the end. It
    /// may stop the run or fail it (the message becomes [`IntegratorError::Observer`]).
    pub fn observe(
        mut self,
        every: u64,
        observer: impl FnMut(u64, f64, &S) -> std::result::Result<Control, String> + 'a,
    ) -> Self {
        self.observe_every = every.max(1);
        self.observer = Some(Box::new(observer));
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

    /// Advances `checkpoint` with `dynamics` until `total_steps`, a budget, or a stop.
    /// A non-finite state is [`IntegratorError::Diverged`] naming the step (the
    /// checkpoint then holds that state, with `step` still at the last finite one; keep
    /// a serialised checkpoint from an observer to restart before the blow-up).
    pub fn run<D: Dynamics<State = S>>(
        &mut self,
        dynamics: &mut D,
        checkpoint: &mut Checkpoint<S>,
    ) -> Result<RunSummary> {
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
        let start = Instant::now();
        let first = checkpoint.step;
        let (mut acc_sum, mut acc_n) = (0.0, 0u64);
        if checkpoint.step == 0 && self.notify(checkpoint)? == Control::Stop {
            return Ok(self.summary(StopReason::ObserverStop, 0, acc_sum, acc_n));
        }
        while checkpoint.step < self.total_steps {
            let k = checkpoint.step;
            let report = dynamics.step(&mut checkpoint.state, k)?;
            if let Some(reason) = checkpoint.state.non_finite() {
                return Err(IntegratorError::Diverged {
                    step: k + 1,
                    reason,
                });
            }
            checkpoint.step += 1;
            checkpoint.time += report.dt;
            if let Some(a) = report.acceptance {
                acc_sum += a;
                acc_n += 1;
            }
            if let Some(p) = self.progress.as_mut() {
                p(checkpoint.step, self.total_steps);
            }
            let due = checkpoint.step.is_multiple_of(self.observe_every.max(1))
                || checkpoint.step == self.total_steps;
            if due && self.notify(checkpoint)? == Control::Stop {
                return Ok(self.summary(
                    StopReason::ObserverStop,
                    checkpoint.step - first,
                    acc_sum,
                    acc_n,
                ));
            }
            if self.time_budget.is_some_and(|b| start.elapsed() >= b) {
                return Ok(self.summary(
                    StopReason::TimeBudget,
                    checkpoint.step - first,
                    acc_sum,
                    acc_n,
                ));
            }
        }
        Ok(self.summary(
            StopReason::StepsDone,
            checkpoint.step - first,
            acc_sum,
            acc_n,
        ))
    }

    fn notify(&mut self, c: &Checkpoint<S>) -> Result<Control> {
        match self.observer.as_mut() {
            None => Ok(Control::Continue),
            Some(o) => o(c.step, c.time, &c.state).map_err(|reason| IntegratorError::Observer {
                step: c.step,
                reason,
            }),
        }
    }

    fn summary(
        &self,
        reason: StopReason,
        steps_taken: u64,
        acc_sum: f64,
        acc_n: u64,
    ) -> RunSummary {
        RunSummary {
            reason,
            steps_taken,
            mean_acceptance: (acc_n > 0).then(|| acc_sum / acc_n as f64),
        }
    }
}
