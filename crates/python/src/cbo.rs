//! `meanfield.CBO` and `meanfield.CboRun`: consensus-based optimisation on a built-in
//! test function or a Python objective, delegating to `meanfield_integrators::cbo`.

use meanfield_integrators::cbo::{run_replicas, run_replicas_lockstep};
use meanfield_integrators::{
    AlphaSchedule, Batch, Cbo, CboInfo, CboNoise, CboParams, CboState, CbsMode, Checkpoint,
    StoppingRule,
};
use meanfield_measures::{Ensemble, Parallelism};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;
use crate::callback::Slot;
use crate::errors;
use crate::objective::{AnyObjective, FDim, PyObjective, builtin};
use crate::runs::{self, Observe};

/// Observation dicts of CBO and of every consensus variant.
pub(crate) struct CboObs;

/// A consensus state: CBO's state (particles, α, consensus, best particle) plus the
/// variant's own arrays (memories, velocities, dual particles, consensus points).
pub(crate) trait ConsensusState {
    /// CBO's part of the state.
    fn cbo(&self) -> &CboState;
    /// Adds the variant's own arrays to an observation dict (new arrays).
    fn extras(&self, py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<()> {
        let _ = (py, d);
        Ok(())
    }
}

impl ConsensusState for CboState {
    fn cbo(&self) -> &CboState {
        self
    }
}

impl<S: ConsensusState> Observe<S, CboInfo> for CboObs {
    fn state<'py>(py: Python<'py>, state: &S) -> PyResult<Bound<'py, PyDict>> {
        let s = state.cbo();
        let d = PyDict::new(py);
        let e = &s.ensemble;
        d.set_item("x", arrays::matrix(py, e.as_slice(), e.n(), e.dim())?)?;
        d.set_item("alpha", s.alpha)?;
        d.set_item("consensus", arrays::array1(py, &s.consensus))?;
        d.set_item("best_x", arrays::array1(py, &s.best_x))?;
        d.set_item("best_f", s.best_f)?;
        d.set_item("f_min", s.f_min)?;
        d.set_item("evaluations", s.evaluations)?;
        state.extras(py, &d)?;
        Ok(d)
    }

    fn info<'py>(py: Python<'py>, i: &CboInfo) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("dt", i.dt)?;
        d.set_item("alpha", i.alpha)?;
        d.set_item("f_min", i.stats.f_min)?;
        d.set_item("argmin", i.stats.argmin)?;
        d.set_item("ess", i.stats.ess)?;
        d.set_item("consensus_change", i.consensus_change)?;
        Ok(d)
    }
}

/// The α schedule from Python: `"constant"`, `"multiply"` (CBXpy default ×1.05 to 1e5),
/// or a dict `{"kind": "multiplicative", "factor", "max"}` /
/// `{"kind": "effective_sample_size", "eta", "min", "max"}` (the Rust serde form).
pub(crate) fn schedule(obj: Option<&Bound<'_, PyAny>>) -> PyResult<AlphaSchedule> {
    let Some(obj) = obj else {
        return Ok(AlphaSchedule::Constant);
    };
    if let Ok(s) = obj.extract::<String>() {
        return match s.as_str() {
            "constant" => Ok(AlphaSchedule::Constant),
            "multiply" | "multiplicative" => Ok(AlphaSchedule::cbxpy_default()),
            _ => Err(PyValueError::new_err(format!(
                "schedule: expected \"constant\", \"multiply\" or a dict, got {s:?}"
            ))),
        };
    }
    let d = obj.cast::<PyDict>().map_err(|_| {
        PyValueError::new_err("schedule: expected \"constant\", \"multiply\" or a dict")
    })?;
    let get = |k: &str| -> PyResult<f64> {
        d.get_item(k)?
            .ok_or_else(|| PyValueError::new_err(format!("schedule: missing key {k:?}")))?
            .extract::<f64>()
    };
    let kind: String = d
        .get_item("kind")?
        .ok_or_else(|| PyValueError::new_err("schedule: missing key \"kind\""))?
        .extract()?;
    match kind.as_str() {
        "multiplicative" => Ok(AlphaSchedule::Multiplicative {
            factor: get("factor")?,
            max: get("max")?,
        }),
        "effective_sample_size" => Ok(AlphaSchedule::EffectiveSampleSize {
            eta: get("eta")?,
            min: get("min")?,
            max: get("max")?,
        }),
        _ => Err(PyValueError::new_err(format!(
            "schedule: unknown kind {kind:?} (multiplicative, effective_sample_size)"
        ))),
    }
}

/// One of the named `options` for the argument `name` (a `ValueError` listing them
/// otherwise): the string arguments of every consensus class.
pub(crate) fn choice<T: Copy>(name: &str, value: &str, options: &[(&str, T)]) -> PyResult<T> {
    options
        .iter()
        .find(|(k, _)| *k == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(k, _)| format!("{k:?}")).collect();
            PyValueError::new_err(format!(
                "{name}: expected {}, got {value:?}",
                names.join(" or ")
            ))
        })
}

/// The CBO parameters shared by plain CBO and its variants (λ, σ, dt, α₀, the α
/// schedule, the noise: `"anisotropic"`, `"isotropic"`, `"covariance"` (CBXpy's, sampling
/// mode) or `"covariance_optimization"`), validated by `CboParams`; one conversion for
/// every consensus class.
pub(crate) fn params(
    lam: f64,
    sigma: f64,
    dt: f64,
    alpha: f64,
    schedule: Option<&Bound<'_, PyAny>>,
    noise: &str,
) -> PyResult<CboParams> {
    let noise = choice(
        "noise",
        noise,
        &[
            ("anisotropic", CboNoise::Anisotropic),
            ("isotropic", CboNoise::Isotropic),
            // CBXpy's covariance noise (λ_mode = 1/(1 + α), its default) and the
            // optimisation mode (λ_mode = 1): plain CBO only (the variants refuse it).
            ("covariance", CboNoise::Covariance(CbsMode::Sampling)),
            (
                "covariance_optimization",
                CboNoise::Covariance(CbsMode::Optimization),
            ),
        ],
    )?;
    let schedule = self::schedule(schedule)?;
    Ok(CboParams::new(lam, sigma, dt)
        .and_then(|p| p.with_alpha(alpha))
        .and_then(|p| p.with_schedule(schedule))
        .map_err(errors::integrator)?
        .with_noise(noise))
}

/// The objective argument of every consensus class: a test-function name (optionally
/// `shift`ed) or a callable `f(X)` called once per step with CBXpy's `f_dim` convention;
/// its failures are parked in `slot`.
pub(crate) fn objective(
    objective: &Bound<'_, PyAny>,
    d: usize,
    f_dim: &str,
    shift: Option<&Bound<'_, PyAny>>,
    slot: &Slot,
) -> PyResult<AnyObjective> {
    let f_dim = FDim::parse(f_dim)?;
    if let Ok(name) = objective.extract::<String>() {
        let shift = shift.map(|s| arrays::vector("shift", s, d)).transpose()?;
        return Ok(AnyObjective::Builtin(builtin(&name, d, shift)?));
    }
    if !objective.is_callable() {
        return Err(PyValueError::new_err(
            "objective: expected a test-function name or a callable f(X)",
        ));
    }
    if shift.is_some() {
        return Err(PyValueError::new_err(
            "shift: only for built-in test functions (shift a callable yourself)",
        ));
    }
    let name = objective
        .getattr("__qualname__")
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "callable".into());
    Ok(AnyObjective::Python(PyObjective::new(
        objective.clone().unbind(),
        d,
        f_dim,
        name,
        slot.clone(),
    )))
}

/// The particle loops' parallelism: rayon for `threads` > 1 with a built-in objective;
/// a Python objective keeps them on one thread, so that it is called once per step on
/// the whole array.
pub(crate) fn parallelism(threads: usize, objective: &AnyObjective) -> Parallelism {
    if threads > 1 && !objective.is_python() {
        Parallelism::Rayon
    } else {
        Parallelism::Sequential
    }
}

/// What every consensus class is built from, in this order: the objective (a built-in
/// name or a Python callable, with the slot its failures go to), the dynamics made by
/// `make` from it and the thread rule ([`parallelism`]), and the rayon pool for
/// `threads`.
///
/// # Errors
/// A bad objective, a [`meanfield_integrators::IntegratorError`] of `make` (as its
/// exception class), or a bad thread count.
#[allow(clippy::type_complexity)]
pub(crate) fn consensus_class<D>(
    objective: &Bound<'_, PyAny>,
    d: usize,
    f_dim: &str,
    shift: Option<&Bound<'_, PyAny>>,
    threads: usize,
    make: impl FnOnce(AnyObjective, Parallelism) -> meanfield_integrators::Result<D>,
) -> PyResult<(D, Slot, Option<rayon::ThreadPool>)> {
    let slot = Slot::default();
    let f = self::objective(objective, d, f_dim, shift, &slot)?;
    let par = parallelism(threads, &f);
    let dynamics = make(f, par).map_err(errors::integrator)?;
    Ok((dynamics, slot, runs::pool(threads)?))
}

/// Consensus-based optimisation (see `python/README.md` and `docs/python.md`).
#[pyclass(name = "CBO", module = "meanfield._core")]
pub struct PyCbo {
    dynamics: Cbo<AnyObjective>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
    threads: usize,
}

runs::dynamics_class!(PyCbo, CboRun, CboObs, "objective" {
    /// CBO on `objective`: a test-function name (`"rastrigin"`, `"ackley"`,
    /// `"rosenbrock"`, `"griewank"`, `"schwefel"`, optionally `shift`ed) or a callable
    /// `f(X)` called once per step on the whole array (`f_dim="2D"`: X of shape (N, d) →
    /// (N,); `"3D"`: X of shape (M, N, d) → (M, N), M = 1 for `start`/`run`, the M runs
    /// of `minimize`).
    #[new]
    #[pyo3(signature = (objective, d, *, lam=1.0, sigma=1.0, dt=0.01, alpha=1.0, schedule=None,
        noise="anisotropic", batch_size=None, batch_partial=true, f_dim="2D", shift=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        objective: &Bound<'_, PyAny>,
        d: usize,
        lam: f64,
        sigma: f64,
        dt: f64,
        alpha: f64,
        schedule: Option<&Bound<'_, PyAny>>,
        noise: &str,
        batch_size: Option<usize>,
        batch_partial: bool,
        f_dim: &str,
        shift: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let params = self::params(lam, sigma, dt, alpha, schedule, noise)?
            .with_batch(batch_size.map(|size| Batch {
                size,
                partial: batch_partial,
            }))
            .map_err(errors::integrator)?;
        let (dynamics, slot, pool) =
            consensus_class(objective, d, f_dim, shift, threads, |f, par| {
                Ok(Cbo::new(f, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
            threads,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0` with seed `seed`.
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<CboRun> {
        let ens = arrays::ensemble("x0", x0)?;
        let cp = runs::start(&self.dynamics, ens, seed)?;
        Ok(CboRun { cp })
    }

    /// Runs independent runs to their outcomes: `x0` of shape (N, d) is one run, (M, N, d)
    /// M runs (run r with seed `replicate_seed(seed, 0, r)`, the Rust `run_replicas`;
    /// a Python objective with `f_dim="3D"` is called once per step on the (M, N, d)
    /// stack of the runs still going, `run_replicas_lockstep`, with identical results),
    /// each until `max_steps`, `energy_tol` or `stagnation = (tol, patience)`. Returns a
    /// dict of arrays: consensus (M, d), consensus_value, best_x (M, d), best_f, steps,
    /// alpha, evaluations (M,) and reason (list).
    #[pyo3(signature = (x0, max_steps, *, seed=0, energy_tol=None, stagnation=None))]
    fn minimize<'py>(
        &self,
        py: Python<'py>,
        x0: &Bound<'py, PyAny>,
        max_steps: u64,
        seed: u64,
        energy_tol: Option<f64>,
        stagnation: Option<(f64, u64)>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (data, m, n, d) = crate::replicas::stack_arg(x0)?;
        let rule = StoppingRule {
            max_steps,
            energy_tol,
            stagnation: stagnation
                .map(|(tol, patience)| meanfield_integrators::cbo::Stagnation { tol, patience }),
        };
        let par = self::parallelism(self.threads, self.dynamics.objective());
        self.slot.clear();
        let init = |r: usize| {
            Ensemble::new(
                n,
                d,
                data[r * n * d..(r + 1) * n * d].to_vec(),
                meanfield_measures::Domain::Euclidean,
            )
            .map_err(Into::into)
        };
        let objective = self.dynamics.objective();
        let params = self.dynamics.params();
        let pool = self.pool.as_ref();
        // A Python objective with f_dim="3D" sees the (M, N, d) stack of all runs once
        // per step (the lockstep path, bitwise the independent runs).
        let lockstep = matches!(objective, AnyObjective::Python(f) if f.stacks_runs());
        let out = py.detach(|| {
            let go = || {
                if lockstep {
                    run_replicas_lockstep(objective, params, m, seed, init, &rule)
                } else {
                    run_replicas(objective, params, m, seed, init, &rule, par)
                }
            };
            match pool {
                Some(p) => p.install(go),
                None => go(),
            }
        });
        if let Some(e) = self.slot.take("objective", 0) {
            return Err(e);
        }
        let outs = out.map_err(errors::integrator)?;
        crate::replicas::outcomes_dict(py, &outs)
    }

    /// The objective's values at the rows of the (N, d) array `x` (the same code the
    /// optimiser calls).
    fn objective_values<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        use meanfield_energy::Objective;
        let ens = arrays::ensemble("x", x)?;
        let f = self.dynamics.objective();
        if ens.dim() != f.dim() {
            return Err(PyValueError::new_err(format!(
                "x: expected shape (N, {}), got ({}, {})",
                f.dim(),
                ens.n(),
                ens.dim()
            )));
        }
        let mut out = vec![0.0; ens.n()];
        self.slot.clear();
        f.values(ens.as_slice(), &mut out);
        if let Some(e) = self.slot.take("objective", 0) {
            return Err(e);
        }
        Ok(arrays::array1_owned(py, out))
    }
});

/// The `#[pymethods]` of a consensus run class `$Run { cp: Checkpoint<S> }` with `S` a
/// [`ConsensusState`]: `run_class!`'s, the CBO getters (`alpha`, `consensus`, `best_x`,
/// `best_f`, `evaluations`, `state()`) and the class's own `$extra` methods.
macro_rules! consensus_run_class {
    ($Run:ident { $($extra:tt)* }) => {
        $crate::runs::run_class!($Run {
            /// α of the next step.
            #[getter]
            fn alpha(&self) -> f64 {
                $crate::cbo::ConsensusState::cbo(&self.cp.state).alpha
            }
            /// Consensus point of the last step (empty before the first).
            #[getter]
            fn consensus<'py>(&self, py: pyo3::Python<'py>) -> pyo3::Bound<'py, pyo3::PyAny> {
                $crate::arrays::array1(py, &$crate::cbo::ConsensusState::cbo(&self.cp.state).consensus)
            }
            /// Best particle seen so far.
            #[getter]
            fn best_x<'py>(&self, py: pyo3::Python<'py>) -> pyo3::Bound<'py, pyo3::PyAny> {
                $crate::arrays::array1(py, &$crate::cbo::ConsensusState::cbo(&self.cp.state).best_x)
            }
            /// Its objective value (inf before the first step).
            #[getter]
            fn best_f(&self) -> f64 {
                $crate::cbo::ConsensusState::cbo(&self.cp.state).best_f
            }
            /// Objective evaluations so far.
            #[getter]
            fn evaluations(&self) -> u64 {
                $crate::cbo::ConsensusState::cbo(&self.cp.state).evaluations
            }
            /// The observation dict of the current state (as observers receive it).
            fn state<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
                <$crate::cbo::CboObs as $crate::runs::Observe<_, meanfield_integrators::CboInfo>>::state(
                    py,
                    &self.cp.state,
                )
            }
            $($extra)*
        });
    };
}
pub(crate) use consensus_run_class;

/// A resumable CBO run: the Rust `Checkpoint<CboState>` (also the run of CBS and of
/// constrained CBO, whose state is CBO's).
#[pyclass(module = "meanfield._core")]
pub struct CboRun {
    pub(crate) cp: Checkpoint<CboState>,
}

consensus_run_class!(CboRun {});
