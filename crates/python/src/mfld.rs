//! `meanfield.MFLD` and `meanfield.LangevinRun`: mean-field Langevin dynamics on a
//! built-in functional or a Python functional (value, first variation and its gradient,
//! each called on the whole ensemble), delegating to `meanfield_integrators::Mfld`.

use meanfield_energy::{EnergyError, Functional, QuadraticInteraction};
use meanfield_integrators::{Checkpoint, LangevinInfo, LangevinParams, Mfld};
use meanfield_measures::{Ensemble, Parallelism};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;
use crate::callback::{Failure, Slot};
use crate::errors;
use crate::runs::{self, Observe, RunOptions};

/// A functional given by a Python object with methods `value(X) -> float`,
/// `first_variation(X) -> (N,)` and `grad(X) -> (N, d)` (X of shape (N, d)).
pub struct PyFunctional {
    obj: Py<PyAny>,
    d: usize,
    name: String,
    slot: Slot,
}

/// The energy error a parked Python failure turns into (the binding raises the parked
/// failure instead).
fn parked() -> EnergyError {
    EnergyError::OutsideDomain {
        particle: 0,
        reason: "the Python functional failed".into(),
    }
}

impl PyFunctional {
    /// Calls `method(X)` and copies the float64 result of shape `expect` into `out`.
    fn call(
        &self,
        method: &str,
        ens: &Ensemble,
        expect: &[usize],
        out: &mut [f64],
    ) -> Result<(), EnergyError> {
        if self.slot.failed() {
            return Err(parked());
        }
        let r = Python::attach(|py| -> Result<(), Failure> {
            let x =
                arrays::matrix(py, ens.as_slice(), ens.n(), ens.dim()).map_err(Failure::Raised)?;
            let y = self
                .obj
                .bind(py)
                .call_method1(method, (x,))
                .map_err(Failure::Raised)?;
            if expect.is_empty() {
                let v: f64 = y.extract().map_err(|_| {
                    Failure::Invalid(format!("functional.{method} must return a float"))
                })?;
                out[0] = v;
            } else {
                let arr = y.cast::<PyArrayDyn<f64>>().map_err(|_| {
                    Failure::Invalid(format!(
                        "functional.{method} must return a float64 array of shape {expect:?}"
                    ))
                })?;
                if arr.shape() != expect {
                    return Err(Failure::Invalid(format!(
                        "functional.{method} returned shape {:?}, expected {expect:?}",
                        arr.shape()
                    )));
                }
                let ro = arr.readonly();
                for (o, &v) in out.iter_mut().zip(ro.as_array().iter()) {
                    *o = v;
                }
            }
            if let Some(k) = out.iter().position(|v| !v.is_finite()) {
                return Err(Failure::Invalid(format!(
                    "functional.{method} returned {} at flat index {k}",
                    out[k]
                )));
            }
            Ok(())
        });
        r.map_err(|f| {
            self.slot.park(f);
            parked()
        })
    }
}

impl Functional for PyFunctional {
    fn dim(&self) -> usize {
        self.d
    }
    fn value(&self, ens: &Ensemble) -> meanfield_energy::Result<f64> {
        let mut v = [0.0];
        self.call("value", ens, &[], &mut v)?;
        Ok(v[0])
    }
    fn first_variation_grad(
        &self,
        ens: &Ensemble,
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        self.call("grad", ens, &[ens.n(), ens.dim()], out)
    }
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> meanfield_energy::Result<()> {
        self.call("first_variation", ens, &[ens.n()], out)
    }
    fn fingerprint(&self) -> String {
        format!("python({}, d={})", self.name, self.d)
    }
}

/// The functional of a Python `MFLD`.
pub enum AnyFunctional {
    /// F(μ) = ∫|x|²/2 dμ + κ/2 |m(μ) − b|² (Gaussian oracle N(κb/(1+κ), λI)).
    Quadratic(QuadraticInteraction),
    /// A Python functional.
    Python(PyFunctional),
}

impl Functional for AnyFunctional {
    fn dim(&self) -> usize {
        match self {
            Self::Quadratic(f) => f.dim(),
            Self::Python(f) => f.dim(),
        }
    }
    fn value(&self, ens: &Ensemble) -> meanfield_energy::Result<f64> {
        match self {
            Self::Quadratic(f) => f.value(ens),
            Self::Python(f) => f.value(ens),
        }
    }
    fn first_variation_grad(
        &self,
        ens: &Ensemble,
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        match self {
            Self::Quadratic(f) => f.first_variation_grad(ens, out),
            Self::Python(f) => f.first_variation_grad(ens, out),
        }
    }
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> meanfield_energy::Result<()> {
        match self {
            Self::Quadratic(f) => f.first_variation(ens, out),
            Self::Python(f) => f.first_variation(ens, out),
        }
    }
    fn fingerprint(&self) -> String {
        match self {
            Self::Quadratic(f) => f.fingerprint(),
            Self::Python(f) => f.fingerprint(),
        }
    }
}

/// Observation dicts of Langevin runs.
struct LangevinObs;

impl Observe<Ensemble, LangevinInfo> for LangevinObs {
    fn state<'py>(py: Python<'py>, s: &Ensemble) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("x", arrays::matrix(py, s.as_slice(), s.n(), s.dim())?)?;
        Ok(d)
    }
    fn info<'py>(py: Python<'py>, i: &LangevinInfo) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("dt", i.dt)?;
        d.set_item("acceptance", i.acceptance)?;
        Ok(d)
    }
}

/// Mean-field Langevin dynamics, Euler–Maruyama (see `docs/python.md`).
#[pyclass(name = "MFLD", module = "meanfield._core")]
pub struct PyMfld {
    mfld: Mfld<AnyFunctional>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

#[pymethods]
impl PyMfld {
    /// MFLD with entropy weight `lam` (λ) and step `eta` (η) on `functional`: `"quadratic"`
    /// (∫|x|²/2 dμ + κ/2 |m − b|², needs `kappa` and the anchor `b`, d = len(b)), or an
    /// object with methods `value(X)`, `first_variation(X)` and `grad(X)` called on the
    /// whole (N, d) ensemble (then `d` is required).
    #[new]
    #[pyo3(signature = (functional, *, lam, eta, d=None, kappa=1.0, b=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        functional: &Bound<'_, PyAny>,
        lam: f64,
        eta: f64,
        d: Option<usize>,
        kappa: f64,
        b: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let params = LangevinParams::new(lam, eta).map_err(errors::integrator)?;
        let slot = Slot::default();
        let f = if let Ok(name) = functional.extract::<String>() {
            if name != "quadratic" {
                return Err(PyValueError::new_err(format!(
                    "functional: unknown built-in {name:?} (quadratic) — or pass an object with value, first_variation and grad"
                )));
            }
            let b = b.ok_or_else(|| {
                PyValueError::new_err("b: the quadratic functional needs its anchor b, shape (d,)")
            })?;
            let (b, _) = arrays::float_array("b", b, &["d"])?;
            AnyFunctional::Quadratic(QuadraticInteraction::new(kappa, b).map_err(errors::energy)?)
        } else {
            for m in ["value", "first_variation", "grad"] {
                if !functional.hasattr(m)? {
                    return Err(PyValueError::new_err(format!(
                        "functional: expected \"quadratic\" or an object with methods value, first_variation and grad; `{m}` is missing"
                    )));
                }
            }
            let d =
                d.ok_or_else(|| PyValueError::new_err("d: required with a Python functional"))?;
            let name = functional
                .get_type()
                .qualname()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "functional".into());
            AnyFunctional::Python(PyFunctional {
                obj: functional.clone().unbind(),
                d,
                name,
                slot: slot.clone(),
            })
        };
        let python = matches!(f, AnyFunctional::Python(_));
        let mut mfld = Mfld::new(f, params).map_err(errors::integrator)?;
        if threads > 1 && !python {
            mfld = mfld.with_parallelism(Parallelism::Rayon);
        }
        Ok(Self {
            mfld,
            slot,
            pool: runs::pool(threads)?,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0` with seed `seed`.
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<LangevinRun> {
        let ens = arrays::ensemble("x0", x0)?;
        let cp = Checkpoint::start(&self.mfld, ens, seed).map_err(errors::integrator)?;
        Ok(LangevinRun { cp })
    }

    /// Advances `run` to `steps` steps in total (same options as `CBO.run`; the energy
    /// and ESS criteria are unsupported by MFLD and raise `UnsupportedStopError`).
    #[pyo3(signature = (run, steps, *, energy_tol=None, stagnation=None, ess_below=None,
        time_budget=None, stop_when=None, observers=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        run: &mut LangevinRun,
        steps: u64,
        energy_tol: Option<f64>,
        stagnation: Option<(f64, u64)>,
        ess_below: Option<f64>,
        time_budget: Option<f64>,
        stop_when: Option<Py<PyAny>>,
        observers: Option<Vec<(u64, Py<PyAny>)>>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = RunOptions::parse(
            steps,
            energy_tol,
            stagnation,
            ess_below,
            time_budget,
            stop_when,
            observers,
            progress,
        )?;
        let s = runs::run::<_, LangevinObs>(
            py,
            "functional",
            &mut self.mfld,
            &mut run.cp,
            opts,
            &self.slot,
            self.pool.as_ref(),
        )?;
        runs::summary::<_, _, LangevinObs>(py, &s)
    }

    /// F at the (N, d) ensemble `x`.
    fn value(&self, x: &Bound<'_, PyAny>) -> PyResult<f64> {
        let ens = arrays::ensemble("x", x)?;
        self.slot.clear();
        let v = self.mfld.functional().value(&ens);
        if let Some(e) = self.slot.take("functional", 0) {
            return Err(e);
        }
        v.map_err(errors::energy)
    }

    /// The fingerprint stored in this dynamics' checkpoints.
    fn fingerprint(&self) -> String {
        meanfield_integrators::Dynamics::fingerprint(&self.mfld)
    }
}

/// A resumable Langevin run: the Rust `Checkpoint<Ensemble>`.
#[pyclass(module = "meanfield._core")]
pub struct LangevinRun {
    cp: Checkpoint<Ensemble>,
}

#[pymethods]
impl LangevinRun {
    /// The particles, a new (N, d) array.
    #[getter]
    fn x<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = &self.cp.state;
        arrays::matrix(py, e.as_slice(), e.n(), e.dim())
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
    /// The checkpoint as a JSON string (floats round-trip exactly).
    fn to_json(&self) -> PyResult<String> {
        runs::to_json(&self.cp)
    }
    /// A run from a JSON string written by `to_json`.
    #[staticmethod]
    fn from_json(s: &str) -> PyResult<Self> {
        Ok(Self {
            cp: runs::from_json(s)?,
        })
    }
    /// Writes the checkpoint JSON to `path`.
    fn save(&self, path: &str) -> PyResult<()> {
        runs::save(&self.cp, path)
    }
    /// Reads a run from a checkpoint file written by `save`.
    #[staticmethod]
    fn load(path: &str) -> PyResult<Self> {
        Ok(Self {
            cp: runs::load(path)?,
        })
    }
}
