//! The Python face of the Rust [`Runner`]: stop criteria, observers, a stop predicate
//! and progress given as keyword arguments, checkpoints as JSON strings or files. The run
//! itself happens with the GIL released; Python callbacks re-acquire it.

use std::io::Write;
use std::time::Duration;

use meanfield_integrators::{
    Checkpoint, Control, Dynamics, DynamicsState, IntegratorError, Observation, ObserverResult,
    RunSummary, Runner, Stop, StopReason,
};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::callback::{Failure, Slot};

/// Converts a family's state and info to Python dicts for observers.
pub trait Observe<S, I> {
    /// The state as a dict (arrays are copies).
    fn state<'py>(py: Python<'py>, state: &S) -> PyResult<Bound<'py, PyDict>>;
    /// The step info as a dict.
    fn info<'py>(py: Python<'py>, info: &I) -> PyResult<Bound<'py, PyDict>>;
}

/// The run options shared by every family (`run(...)` keyword arguments).
#[derive(Default)]
pub struct RunOptions {
    /// Run until the run has this many steps in total.
    pub steps: u64,
    /// Stop once the step's energy is below this.
    pub energy_tol: Option<f64>,
    /// Stop once the iterate moved less than tol in `patience` consecutive steps.
    pub stagnation: Option<(f64, u64)>,
    /// Stop once the ESS is below this floor.
    pub ess_below: Option<f64>,
    /// Wall-time budget in seconds.
    pub time_budget: Option<f64>,
    /// `stop_when(obs) -> bool`.
    pub stop_when: Option<Py<PyAny>>,
    /// `(every, observer)` pairs; `observer(obs)` returning True stops the run.
    pub observers: Vec<(u64, Py<PyAny>)>,
    /// `progress(step, total)`, or a text bar on stderr.
    pub progress: Progress,
}

/// How progress is reported.
#[derive(Default)]
pub enum Progress {
    /// Not at all.
    #[default]
    Off,
    /// A text progress bar on stderr.
    Bar,
    /// A Python callable `progress(step, total)`.
    Call(Py<PyAny>),
}

impl RunOptions {
    /// Parses the keyword arguments of `run`.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        steps: u64,
        energy_tol: Option<f64>,
        stagnation: Option<(f64, u64)>,
        ess_below: Option<f64>,
        time_budget: Option<f64>,
        stop_when: Option<Py<PyAny>>,
        observers: Option<Vec<(u64, Py<PyAny>)>>,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if let Some(b) = time_budget
            && !(b.is_finite() && b >= 0.0)
        {
            return Err(PyValueError::new_err(format!(
                "time_budget: expected seconds ≥ 0, got {b}"
            )));
        }
        let progress = match progress {
            None => Progress::Off,
            Some(p) if p.is_none() => Progress::Off,
            Some(p) if p.is_callable() => Progress::Call(p.clone().unbind()),
            Some(p) => {
                if p.is_truthy()? {
                    Progress::Bar
                } else {
                    Progress::Off
                }
            }
        };
        Ok(Self {
            steps,
            energy_tol,
            stagnation,
            ess_below,
            time_budget,
            stop_when,
            observers: observers.unwrap_or_default(),
            progress,
        })
    }
}

/// A Python observation dict: step, time, state, info (None at step 0).
fn observation<'py, S, I, C: Observe<S, I>>(
    py: Python<'py>,
    obs: &Observation<'_, S, I>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("step", obs.step)?;
    d.set_item("time", obs.time)?;
    d.set_item("state", C::state(py, obs.state)?)?;
    match obs.info {
        Some(i) => d.set_item("info", C::info(py, i)?)?,
        None => d.set_item("info", py.None())?,
    }
    Ok(d)
}

/// Runs `checkpoint` with `dynamics` under `opts` with the GIL released (inside `pool`
/// when given); callbacks park their failures in `slot`, which is raised in preference to
/// the Rust error it caused (`what` names the energy callback in its messages).
#[allow(clippy::too_many_arguments)]
pub fn run<D, C>(
    py: Python<'_>,
    what: &str,
    dynamics: &mut D,
    checkpoint: &mut Checkpoint<D::State>,
    opts: RunOptions,
    slot: &Slot,
    pool: Option<&rayon::ThreadPool>,
) -> PyResult<RunSummary<D::Info>>
where
    D: Dynamics + Send,
    D::Info: Send,
    C: Observe<D::State, D::Info>,
{
    run_recorded::<D, C>(py, what, dynamics, checkpoint, opts, slot, pool, None)
}

/// A Rust observer called after every step, before the user's observers (a run's own
/// bookkeeping, e.g. MGDM's reverse-KL recorder).
pub type Recorder<'r, S, I> = &'r mut (dyn FnMut(&Observation<'_, S, I>) -> ObserverResult + Send);

/// [`run`] with the Rust observer `record` called at every step (first of all
/// observers, so it sees every step the run takes).
#[allow(clippy::too_many_arguments)]
pub fn run_recorded<D, C>(
    py: Python<'_>,
    what: &str,
    dynamics: &mut D,
    checkpoint: &mut Checkpoint<D::State>,
    opts: RunOptions,
    slot: &Slot,
    pool: Option<&rayon::ThreadPool>,
    record: Option<Recorder<'_, D::State, D::Info>>,
) -> PyResult<RunSummary<D::Info>>
where
    D: Dynamics + Send,
    D::Info: Send,
    C: Observe<D::State, D::Info>,
{
    slot.clear();
    let result = py.detach(|| {
        let go = || -> Result<RunSummary<D::Info>, IntegratorError> {
            let mut runner: Runner<'_, D::State, D::Info> = Runner::new(opts.steps);
            if let Some(r) = record {
                runner = runner.observe(1, r);
            }
            // A parked failure (progress, objective) stops the run at once.
            let s0 = slot.clone();
            runner = runner.stop_when(Stop::when(move |_: &Observation<'_, D::State, D::Info>| {
                s0.failed()
            }));
            if let Some(tol) = opts.energy_tol {
                runner = runner.stop_when(Stop::energy_below(tol)?);
            }
            if let Some((tol, patience)) = opts.stagnation {
                runner = runner.stop_when(Stop::stagnation(tol, patience)?);
            }
            if let Some(floor) = opts.ess_below {
                runner = runner.stop_when(Stop::ess_below(floor)?);
            }
            if let Some(b) = opts.time_budget {
                runner = runner.time_budget(Duration::from_secs_f64(b));
            }
            if let Some(pred) = &opts.stop_when {
                let s = slot.clone();
                runner = runner.stop_when(Stop::when(
                    move |obs: &Observation<'_, D::State, D::Info>| {
                        Python::attach(|py| {
                            let r = observation::<_, _, C>(py, obs)
                                .and_then(|o| pred.bind(py).call1((o,)))
                                .and_then(|v| v.is_truthy());
                            r.unwrap_or_else(|e| {
                                s.park(Failure::Raised(e));
                                true
                            })
                        })
                    },
                ));
            }
            for (every, f) in &opts.observers {
                let s = slot.clone();
                runner = runner.observe(*every, move |obs| {
                    Python::attach(|py| {
                        let r = observation::<_, _, C>(py, obs)
                            .and_then(|o| f.bind(py).call1((o,)))
                            .and_then(|v| v.is_truthy());
                        match r {
                            Ok(true) => Ok(Control::Stop),
                            Ok(false) => Ok(Control::Continue),
                            Err(e) => {
                                let msg = e.to_string();
                                s.park(Failure::Raised(e));
                                Err(msg.into())
                            }
                        }
                    })
                });
            }
            match &opts.progress {
                Progress::Off => {}
                Progress::Bar => {
                    runner = runner.progress(|k, total| {
                        let width = 40usize;
                        let filled = (k.min(total) as usize * width) / total.max(1) as usize;
                        let mut err = std::io::stderr().lock();
                        let _ = write!(
                            err,
                            "\r[{}{}] {k}/{total}",
                            "#".repeat(filled),
                            " ".repeat(width - filled)
                        );
                        if k >= total {
                            let _ = writeln!(err);
                        }
                    });
                }
                Progress::Call(f) => {
                    let s = slot.clone();
                    runner = runner.progress(move |k, total| {
                        Python::attach(|py| {
                            if let Err(e) = f.bind(py).call1((k, total)) {
                                s.park(Failure::Raised(e));
                            }
                        })
                    });
                }
            }
            runner.run(dynamics, checkpoint)
        };
        match pool {
            Some(p) => p.install(go),
            None => go(),
        }
    });
    let step = checkpoint.step;
    if let Some(e) = slot.take(what, step) {
        return Err(e);
    }
    result.map_err(crate::errors::integrator)
}

/// The summary of a run of `_dynamics` as a dict: reason, steps_taken,
/// mean_acceptance, last_info (the dynamics fixes the state type `C` observes).
pub fn summary<'py, D: Dynamics, C: Observe<D::State, D::Info>>(
    py: Python<'py>,
    _dynamics: &D,
    s: &RunSummary<D::Info>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("reason", reason_name(s.reason))?;
    d.set_item("steps_taken", s.steps_taken)?;
    d.set_item("mean_acceptance", s.mean_acceptance)?;
    match &s.last_info {
        Some(i) => d.set_item("last_info", C::info(py, i)?)?,
        None => d.set_item("last_info", py.None())?,
    }
    Ok(d)
}

/// The snake-case name of a stop reason (as in the Rust serde form).
pub fn reason_name(r: StopReason) -> &'static str {
    match r {
        StopReason::StepsDone => "steps_done",
        StopReason::TimeBudget => "time_budget",
        StopReason::ObserverStop => "observer_stop",
        StopReason::EnergyTolerance => "energy_tolerance",
        StopReason::Stagnation => "stagnation",
        StopReason::EssFloor => "ess_floor",
        StopReason::Predicate => "predicate",
    }
}

/// The JSON of a checkpoint.
pub fn to_json<S: DynamicsState>(c: &Checkpoint<S>) -> PyResult<String> {
    c.to_json().map_err(crate::errors::integrator)
}

/// A checkpoint from JSON.
pub fn from_json<S: DynamicsState>(s: &str) -> PyResult<Checkpoint<S>> {
    Checkpoint::from_json(s).map_err(crate::errors::integrator)
}

/// Writes a checkpoint's JSON to `path`.
pub fn save<S: DynamicsState>(c: &Checkpoint<S>, path: &str) -> PyResult<()> {
    write_text(path, &to_json(c)?)
}

/// Reads a checkpoint's JSON from `path`.
pub fn load<S: DynamicsState>(path: &str) -> PyResult<Checkpoint<S>> {
    from_json(&read_text(path)?)
}

/// Writes checkpoint text to `path`.
pub fn write_text(path: &str, text: &str) -> PyResult<()> {
    std::fs::write(path, text)
        .map_err(|e| PyOSError::new_err(format!("cannot write checkpoint {path}: {e}")))
}

/// Reads checkpoint text from `path`.
pub fn read_text(path: &str) -> PyResult<String> {
    std::fs::read_to_string(path)
        .map_err(|e| PyOSError::new_err(format!("cannot read checkpoint {path}: {e}")))
}

/// A fresh checkpoint of `dynamics` from `x0`, the ensemble of the argument `x0`, with
/// seed `seed`: a state the dynamics refuses is an error naming `x0` (the class of the
/// Rust error).
pub fn start<D: Dynamics>(
    dynamics: &D,
    x0: meanfield_measures::Ensemble,
    seed: u64,
) -> PyResult<Checkpoint<D::State>> {
    Checkpoint::start(dynamics, x0, seed).map_err(|e| crate::errors::integrator_arg("x0", e))
}

/// A rayon pool of `threads` threads (None for one thread).
pub fn pool(threads: usize) -> PyResult<Option<rayon::ThreadPool>> {
    match threads {
        0 => Err(PyValueError::new_err("threads: expected ≥ 1, got 0")),
        1 => Ok(None),
        t => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map(Some)
            .map_err(|e| PyOSError::new_err(format!("cannot start {t} threads: {e}"))),
    }
}

/// The particles of a family's state (what a run's `x` getter returns).
pub trait Particles {
    /// The particle ensemble.
    fn particles(&self) -> &meanfield_measures::Ensemble;
}

impl Particles for meanfield_measures::Ensemble {
    fn particles(&self) -> &meanfield_measures::Ensemble {
        self
    }
}

impl Particles for meanfield_integrators::CboState {
    fn particles(&self) -> &meanfield_measures::Ensemble {
        &self.ensemble
    }
}

/// The primal particles of the consensus variants' states.
macro_rules! consensus_particles {
    ($($S:ty => $($field:ident).+;)*) => {
        $(impl Particles for $S {
            fn particles(&self) -> &meanfield_measures::Ensemble {
                &self.$($field).+
            }
        })*
    };
}

consensus_particles! {
    meanfield_integrators::PolarCboState => cbo.ensemble;
    meanfield_integrators::CboMemoryState => cbo.ensemble;
    meanfield_integrators::PsoState => memory.cbo.ensemble;
    meanfield_integrators::MirrorCboState => cbo.ensemble;
}

impl Particles for meanfield_integrators::LatentState {
    fn particles(&self) -> &meanfield_measures::Ensemble {
        &self.particles
    }
}

/// The `#[pymethods]` of a run class `$Run { cp: Checkpoint<S> }`: the getters `x`,
/// `step`, `time`, `seed`, the checkpoint methods `to_json`, `from_json`, `save`, `load`,
/// and the class's own `$extra` methods. One definition for every family. The form
/// `run_class!($Run, own_json { … })` leaves out the four checkpoint methods, for a run
/// that stores more than its checkpoint (`MgdmRun` with its KL trace).
macro_rules! run_class {
    ($Run:ident, own_json { $($extra:tt)* }) => {
        #[pyo3::pymethods]
        impl $Run {
            /// The particles, a new (N, d) array.
            #[getter]
            fn x<'py>(&self, py: pyo3::Python<'py>) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                let e = $crate::runs::Particles::particles(&self.cp.state);
                $crate::arrays::matrix(py, e.as_slice(), e.n(), e.dim())
            }
            /// Steps taken so far.
            #[getter]
            fn step(&self) -> u64 {
                self.cp.step
            }
            /// Physical time reached.
            #[getter]
            fn time(&self) -> f64 {
                self.cp.time
            }
            /// The run's seed.
            #[getter]
            fn seed(&self) -> u64 {
                self.cp.seed
            }
            $($extra)*
        }
    };
    ($Run:ident { $($extra:tt)* }) => {
        $crate::runs::run_class!($Run, own_json {
            /// The checkpoint as a JSON string (floats round-trip exactly).
            fn to_json(&self) -> pyo3::PyResult<String> {
                $crate::runs::to_json(&self.cp)
            }
            /// A run from a JSON string written by `to_json`.
            #[staticmethod]
            fn from_json(s: &str) -> pyo3::PyResult<Self> {
                Ok(Self {
                    cp: $crate::runs::from_json(s)?,
                })
            }
            /// Writes the checkpoint JSON to `path`.
            fn save(&self, path: &str) -> pyo3::PyResult<()> {
                $crate::runs::save(&self.cp, path)
            }
            /// Reads a run from a checkpoint file written by `save`.
            #[staticmethod]
            fn load(path: &str) -> pyo3::PyResult<Self> {
                Ok(Self {
                    cp: $crate::runs::load(path)?,
                })
            }
            $($extra)*
        });
    };
}
pub(crate) use run_class;

/// The `#[pymethods]` of a dynamics class `$Ty { dynamics, slot, pool }` whose runs are
/// `$Run`: `run(run, steps, *, energy_tol, stagnation, ess_below, time_budget,
/// stop_when, observers, progress)` through [`run`] with the observation dicts of
/// `$Obs` (`$what` names the energy callback in error messages), `fingerprint()`, and
/// the class's own `$extra` methods (its constructor, `start`, …). One definition for
/// every family.
macro_rules! dynamics_class {
    ($Ty:ident, $Run:ident, $Obs:ty, $what:literal { $($extra:tt)* }) => {
        #[pyo3::pymethods]
        impl $Ty {
            /// Advances `run` until it has `steps` steps in total, or a stop criterion,
            /// an observer, the predicate `stop_when(obs)` or the time budget (seconds)
            /// ends it. Observers are `(every, f)` pairs, `f(obs)` returning True stops;
            /// `progress` is True (a text bar) or `progress(step, total)`. A criterion
            /// the family does not report raises `UnsupportedStopError`. Returns the run
            /// summary as a dict.
            #[pyo3(signature = (run, steps, *, energy_tol=None, stagnation=None, ess_below=None,
                time_budget=None, stop_when=None, observers=None, progress=None))]
            #[allow(clippy::too_many_arguments)]
            fn run<'py>(
                &mut self,
                py: pyo3::Python<'py>,
                run: &mut $Run,
                steps: u64,
                energy_tol: Option<f64>,
                stagnation: Option<(f64, u64)>,
                ess_below: Option<f64>,
                time_budget: Option<f64>,
                stop_when: Option<pyo3::Py<pyo3::PyAny>>,
                observers: Option<Vec<(u64, pyo3::Py<pyo3::PyAny>)>>,
                progress: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
                let opts = $crate::runs::RunOptions::parse(
                    steps,
                    energy_tol,
                    stagnation,
                    ess_below,
                    time_budget,
                    stop_when,
                    observers,
                    progress,
                )?;
                let s = $crate::runs::run::<_, $Obs>(
                    py,
                    $what,
                    &mut self.dynamics,
                    &mut run.cp,
                    opts,
                    &self.slot,
                    self.pool.as_ref(),
                )?;
                $crate::runs::summary::<_, $Obs>(py, &self.dynamics, &s)
            }

            /// The fingerprint stored in this dynamics' checkpoints (a run is refused by
            /// dynamics with another fingerprint).
            fn fingerprint(&self) -> String {
                meanfield_integrators::Dynamics::fingerprint(&self.dynamics)
            }

            $($extra)*
        }
    };
}
pub(crate) use dynamics_class;
