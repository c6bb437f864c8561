//! `minimize`: M independent runs of a consensus dynamics (plain CBO and the variants),
//! run r from block r of x0 with seed `replicate_seed(seed, 0, r)` and stopped by a
//! [`StoppingRule`], returned as one dict of outcome arrays.
//!
//! The variants go through the many-run path of plain CBO
//! ([`meanfield_integrators::run_many`], which `cbo::run_replicas` presets). A Python
//! objective with `f_dim="3D"` is called once per round on the stack of the runs still
//! going: every run runs on its own OS thread (run_many's replica body, but no run may be
//! skipped after another's error, or the others would wait for it), and its objective
//! ([`Lane`]) hands its points to a [`Gather`], which evaluates the points of all waiting
//! runs in **one** call once every run still going waits, then hands each run its values;
//! a run leaves the gather when its dynamics (which owns its lane) is dropped, however
//! the run ended.
//! Each run receives exactly the values of its own points, so the outcomes are bitwise
//! those of the independent runs (for an objective whose stacked values are its per-run
//! values), whatever order the threads reach the gather in.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use meanfield_energy::Objective;
use meanfield_integrators::{
    CboInfo, CboOutcome, Checkpoint, Dynamics, IntegratorError, RunSummary, StepInfo, StoppingRule,
    run_many,
};
use meanfield_measures::{Domain, Ensemble, Parallelism};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::callback::Slot;
use crate::cbo::ConsensusState;
use crate::objective::AnyObjective;
use crate::{arrays, errors, runs};

/// x0 of `minimize`: (N, d) (one run) or (M, N, d), as (data, M, N, d).
pub(crate) fn stack_arg(x0: &Bound<'_, PyAny>) -> PyResult<(Vec<f64>, usize, usize, usize)> {
    let (data, dims) = match arrays::float_array("x0", x0, &["N", "d"]) {
        Ok(v) => (v.0, vec![1, v.1[0], v.1[1]]),
        Err(_) => arrays::float_array("x0", x0, &["M", "N", "d"])?,
    };
    let (m, n, d) = (dims[0], dims[1], dims[2]);
    if m == 0 || n == 0 || d == 0 {
        return Err(PyValueError::new_err(format!(
            "x0: expected shape (N, d) or (M, N, d) with M, N, d ≥ 1, got {dims:?}"
        )));
    }
    Ok((data, m, n, d))
}

/// The outcomes of M runs as the dict `minimize` returns: consensus (M, d),
/// consensus_value, best_x (M, d), best_f, alpha (M,), steps, evaluations and reason
/// (lists).
pub(crate) fn outcomes_dict<'py>(
    py: Python<'py>,
    outs: &[CboOutcome],
) -> PyResult<Bound<'py, PyDict>> {
    let m = outs.len();
    let dict = PyDict::new(py);
    let cat = |f: &dyn Fn(&CboOutcome) -> &[f64]| {
        outs.iter()
            .flat_map(|o| f(o).iter().copied())
            .collect::<Vec<f64>>()
    };
    let cons = cat(&|o| &o.consensus);
    let best = cat(&|o| &o.best_x);
    // The concatenations are fresh buffers: handed over without a copy.
    let (cl, bl) = (cons.len(), best.len());
    dict.set_item(
        "consensus",
        arrays::matrix_owned(py, cons, m, cl / m.max(1))?,
    )?;
    dict.set_item("best_x", arrays::matrix_owned(py, best, m, bl / m.max(1))?)?;
    let col = |f: &dyn Fn(&CboOutcome) -> f64| {
        arrays::array1_owned(py, outs.iter().map(f).collect::<Vec<_>>())
    };
    dict.set_item("consensus_value", col(&|o| o.consensus_value))?;
    dict.set_item("best_f", col(&|o| o.best_f))?;
    dict.set_item("alpha", col(&|o| o.alpha))?;
    dict.set_item("steps", outs.iter().map(|o| o.steps).collect::<Vec<_>>())?;
    dict.set_item(
        "evaluations",
        outs.iter().map(|o| o.evaluations).collect::<Vec<_>>(),
    )?;
    dict.set_item(
        "reason",
        outs.iter()
            .map(|o| runs::reason_name(o.reason))
            .collect::<Vec<_>>(),
    )?;
    Ok(dict)
}

/// What the runs waiting at the gather have handed in.
struct Round {
    /// Runs not finished yet.
    active: usize,
    /// Points of run r waiting for their values.
    pending: Vec<Option<Vec<f64>>>,
    /// Values of run r ready to be taken.
    ready: Vec<Option<Vec<f64>>>,
}

/// The rendezvous of M runs' objective calls: one call of the objective per round on the
/// stacked points of every run still going.
pub(crate) struct Gather {
    round: Mutex<Round>,
    done: Condvar,
}

impl Gather {
    /// A gather for `runs` runs.
    fn new(runs: usize) -> Self {
        Self {
            round: Mutex::new(Round {
                active: runs,
                pending: vec![None; runs],
                ready: vec![None; runs],
            }),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Round> {
        self.round.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `lane`'s values at `xs` (rows of f's dimension): waits until every run still
    /// going has handed in its points, evaluated by the last one to arrive.
    fn values(&self, f: &AnyObjective, lane: usize, xs: &[f64], out: &mut [f64]) {
        let mut g = self.lock();
        g.pending[lane] = Some(xs.to_vec());
        Self::flush_if_complete(&mut g, f);
        self.done.notify_all();
        loop {
            if let Some(v) = g.ready[lane].take() {
                out.copy_from_slice(&v);
                return;
            }
            g = self.done.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Run `lane` is finished: the others no longer wait for it.
    fn leave(&self, f: &AnyObjective) {
        let mut g = self.lock();
        g.active = g.active.saturating_sub(1);
        Self::flush_if_complete(&mut g, f);
        self.done.notify_all();
    }

    /// When every active run waits, evaluates all pending points: runs with the same
    /// number of points (all, in practice) in one stacked call, in run order.
    fn flush_if_complete(g: &mut Round, f: &AnyObjective) {
        let waiting: Vec<usize> = (0..g.pending.len())
            .filter(|&r| g.pending[r].is_some())
            .collect();
        if waiting.is_empty() || waiting.len() < g.active {
            return;
        }
        let mut left = waiting;
        while let Some(&first) = left.first() {
            let len = g.pending[first].as_ref().map_or(0, Vec::len);
            let (group, rest): (Vec<usize>, Vec<usize>) = left
                .iter()
                .partition(|&&r| g.pending[r].as_ref().map_or(0, Vec::len) == len);
            let mut xs = Vec::with_capacity(group.len() * len);
            for &r in &group {
                xs.extend(g.pending[r].take().unwrap_or_default());
            }
            let b = len / f.dim().max(1);
            let mut out = vec![0.0; group.len() * b];
            f.values_stacked(&xs, group.len(), &mut out);
            for (&r, v) in group.iter().zip(out.chunks(b.max(1))) {
                g.ready[r] = Some(v.to_vec());
            }
            left = rest;
        }
    }
}

/// Run r's view of the shared objective: the objective itself, or its gather.
pub(crate) struct Lane<'a> {
    f: &'a AnyObjective,
    gather: Option<(Arc<Gather>, usize)>,
}

impl Drop for Lane<'_> {
    /// The run is over (its dynamics is dropped): the others no longer wait for it.
    fn drop(&mut self) {
        if let Some((g, _)) = &self.gather {
            g.leave(self.f);
        }
    }
}

impl Objective for Lane<'_> {
    fn dim(&self) -> usize {
        self.f.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.f.value(x)
    }
    fn values(&self, xs: &[f64], out: &mut [f64]) {
        match &self.gather {
            Some((g, lane)) => g.values(self.f, *lane, xs, out),
            None => self.f.values(xs, out),
        }
    }
    fn minimiser(&self) -> Option<Vec<f64>> {
        self.f.minimiser()
    }
    fn fingerprint(&self) -> String {
        self.f.fingerprint()
    }
}

/// `minimize` of a consensus class: M runs of the dynamics `make(lane)` on `objective`
/// from the (N, d) / (M, N, d) array `x0` on `domain`, each until `max_steps`,
/// `energy_tol` or `stagnation`. Built-in objectives spread the runs over `pool` (each
/// run sequential inside); a Python objective runs them one after the other (`"2D"`,
/// one call per run and step) or in lockstep (`"3D"`, one call per step on the stack).
#[allow(clippy::too_many_arguments)]
pub(crate) fn minimize<'py, 'a, D>(
    py: Python<'py>,
    objective: &'a AnyObjective,
    slot: &Slot,
    pool: Option<&rayon::ThreadPool>,
    x0: &Bound<'py, PyAny>,
    domain: Domain,
    max_steps: u64,
    seed: u64,
    energy_tol: Option<f64>,
    stagnation: Option<(f64, u64)>,
    make: impl Fn(Lane<'a>) -> meanfield_integrators::Result<D> + Sync,
) -> PyResult<Bound<'py, PyDict>>
where
    D: Dynamics,
    D::State: ConsensusState,
    D::Info: StepInfo,
{
    let (dict, _) = minimize_with(
        py,
        objective,
        slot,
        pool,
        x0,
        domain,
        (max_steps, seed, energy_tol, stagnation),
        make,
        |_: &D, _: &Checkpoint<D::State>| Ok(()),
    )?;
    Ok(dict)
}

/// The stopping options of `minimize`: (max_steps, seed, energy_tol, stagnation).
pub(crate) type MinimizeOptions = (u64, u64, Option<f64>, Option<(f64, u64)>);

/// [`minimize`] that also reads `extra(dynamics, checkpoint)` off every run at its end,
/// before its dynamics (and its lane) is dropped: the outcome dict and the extras in run
/// order (polarised CBO's minimisers per run).
#[allow(clippy::too_many_arguments)]
pub(crate) fn minimize_with<'py, 'a, D, X>(
    py: Python<'py>,
    objective: &'a AnyObjective,
    slot: &Slot,
    pool: Option<&rayon::ThreadPool>,
    x0: &Bound<'py, PyAny>,
    domain: Domain,
    (max_steps, seed, energy_tol, stagnation): MinimizeOptions,
    make: impl Fn(Lane<'a>) -> meanfield_integrators::Result<D> + Sync,
    extra: impl Fn(&D, &Checkpoint<D::State>) -> meanfield_integrators::Result<X> + Sync,
) -> PyResult<(Bound<'py, PyDict>, Vec<X>)>
where
    D: Dynamics,
    D::State: ConsensusState,
    D::Info: StepInfo,
    X: Send,
{
    let (data, m, n, d) = stack_arg(x0)?;
    let rule = StoppingRule {
        max_steps,
        energy_tol,
        stagnation: stagnation
            .map(|(tol, patience)| meanfield_integrators::cbo::Stagnation { tol, patience }),
    };
    let lockstep = matches!(objective, AnyObjective::Python(f) if f.stacks_runs());
    let gather = lockstep.then(|| Arc::new(Gather::new(m)));
    let par = if pool.is_some() && !objective.is_python() {
        Parallelism::Rayon
    } else {
        Parallelism::Sequential
    };
    let build = |r: usize| -> meanfield_integrators::Result<(D, Ensemble)> {
        let lane = Lane {
            f: objective,
            gather: gather.as_ref().map(|g| (Arc::clone(g), r)),
        };
        let rows = data[r * n * d..(r + 1) * n * d].to_vec();
        let start = Ensemble::new(n, d, rows, domain.clone())?;
        Ok((make(lane)?, start))
    };
    let drive = |_: usize, dynamics: &mut D, cp: &mut Checkpoint<D::State>| {
        let summary = rule.runner_of()?.run(dynamics, cp)?;
        let c = cp.state.cbo();
        let view = Checkpoint {
            format: cp.format,
            fingerprint: String::new(),
            seed: cp.seed,
            step: cp.step,
            time: cp.time,
            state: c.clone(),
        };
        // The outcome reads the stop reason only.
        let reason = RunSummary::<CboInfo> {
            reason: summary.reason,
            steps_taken: summary.steps_taken,
            mean_acceptance: None,
            last_info: None,
        };
        Ok((
            CboOutcome::of(objective, &view, &reason),
            extra(dynamics, cp)?,
        ))
    };
    let (build, drive) = (&build, &drive);
    slot.clear();
    let out = py.detach(|| {
        rule.runner_of::<D::State, D::Info>()?;
        if lockstep {
            return lockstep_runs(m, seed, build, drive);
        }
        let go = || run_many(m, seed, par, build, drive);
        match pool {
            Some(p) => p.install(go),
            None => go(),
        }
    });
    if let Some(e) = slot.take("objective", 0) {
        return Err(e);
    }
    let outs: Vec<(CboOutcome, X)> = out.map_err(|e: IntegratorError| errors::integrator(e))?;
    let (outs, extras): (Vec<CboOutcome>, Vec<X>) = outs.into_iter().unzip();
    Ok((outcomes_dict(py, &outs)?, extras))
}

/// [`run_many`]'s replicas on one OS thread each, all run to their end (a waiting run
/// holds its thread, and an unstarted run would never reach the gather); the first error
/// in run order is returned.
fn lockstep_runs<D, T, B, R>(
    m: usize,
    seed: u64,
    build: &B,
    drive: &R,
) -> meanfield_integrators::Result<Vec<T>>
where
    D: Dynamics,
    T: Send,
    B: Fn(usize) -> meanfield_integrators::Result<(D, Ensemble)> + Sync,
    R: Fn(usize, &mut D, &mut Checkpoint<D::State>) -> meanfield_integrators::Result<T> + Sync,
{
    let one = |r: usize| {
        let (mut dynamics, start) = build(r)?;
        let seed = meanfield_measures::replicate_seed(seed, 0, r as u64);
        let mut cp = Checkpoint::start(&dynamics, start, seed)?;
        drive(r, &mut dynamics, &mut cp)
    };
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..m).map(|r| scope.spawn(move || one(r))).collect();
        runs.into_iter()
            .enumerate()
            .map(|(r, h)| {
                h.join().unwrap_or_else(|_| {
                    Err(IntegratorError::IncompatibleState(format!(
                        "run {r} of the lockstep minimize panicked"
                    )))
                })
            })
            .collect()
    })
}
