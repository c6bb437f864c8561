//! CBO objectives from Python: a built-in test function by name, or a Python callable
//! evaluated once per step on the whole (N, d) array, or on the (M, N, d) stack of M
//! lockstep runs (CBXpy's `f_dim` conventions).

use meanfield_energy::{Objective, TestFunction, TestKind};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::callback::{Failure, Slot};

/// How a Python objective is called (CBXpy's `f_dim`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FDim {
    /// f(X) with X of shape (N, d) returns (N,).
    Two,
    /// f(X) with X of shape (M, N, d) returns (M, N): M = 1 for a single run, all M
    /// runs of a lockstep `minimize` in one call.
    Three,
}

impl FDim {
    /// Parses `"2D"` / `"3D"`.
    pub fn parse(s: &str) -> PyResult<Self> {
        match s {
            "2D" | "2d" => Ok(Self::Two),
            "3D" | "3d" => Ok(Self::Three),
            _ => Err(PyValueError::new_err(format!(
                "f_dim: expected \"2D\" (X of shape (N, d)) or \"3D\" (X of shape (M, N, d)), got {s:?}"
            ))),
        }
    }
}

/// A Python callable objective.
pub struct PyObjective {
    f: Py<PyAny>,
    d: usize,
    f_dim: FDim,
    name: String,
    slot: Slot,
}

impl PyObjective {
    /// Wraps `f` on R^d; failures are parked in `slot`.
    pub fn new(f: Py<PyAny>, d: usize, f_dim: FDim, name: String, slot: Slot) -> Self {
        Self {
            f,
            d,
            f_dim,
            name,
            slot,
        }
    }

    /// Whether f takes the (M, N, d) stack of M runs in one call (`f_dim="3D"`).
    pub fn stacks_runs(&self) -> bool {
        self.f_dim == FDim::Three
    }

    /// Calls f on the m stacked blocks of n × d rows `xs` (m·n rows; m = 1 with
    /// `f_dim="2D"`) and writes the m·n values into `out`.
    fn call(&self, py: Python<'_>, xs: &[f64], m: usize, out: &mut [f64]) -> Result<(), Failure> {
        let n = out.len() / m.max(1);
        let flat = numpy::PyArray1::from_slice(py, xs);
        let (x, expect): (Bound<'_, PyAny>, Vec<usize>) = match self.f_dim {
            FDim::Two => (
                flat.reshape([n, self.d])
                    .map_err(Failure::Raised)?
                    .into_any(),
                vec![n],
            ),
            FDim::Three => (
                flat.reshape([m, n, self.d])
                    .map_err(Failure::Raised)?
                    .into_any(),
                vec![m, n],
            ),
        };
        let y = self.f.bind(py).call1((x,)).map_err(Failure::Raised)?;
        let Ok(arr) = y.cast::<PyArrayDyn<f64>>() else {
            let what = match y.getattr("dtype") {
                Ok(dt) => format!("an array of dtype {dt}"),
                Err(_) => format!("a {}", y.get_type().name().map_err(Failure::Raised)?),
            };
            return Err(Failure::Invalid(format!(
                "the objective returned {what}, expected a float64 array of shape {}",
                shape_str(&expect)
            )));
        };
        if arr.shape() != expect.as_slice() {
            return Err(Failure::Invalid(format!(
                "the objective returned shape {}, expected {}",
                shape_str(arr.shape()),
                shape_str(&expect)
            )));
        }
        let ro = arr.readonly();
        let vals = ro.as_array();
        for (o, &v) in out.iter_mut().zip(vals.iter()) {
            *o = v;
        }
        if let Some(i) = out.iter().position(|v| v.is_nan()) {
            return Err(Failure::Invalid(if m > 1 {
                format!(
                    "the objective returned NaN at run {}, particle {}",
                    i / n,
                    i % n
                )
            } else {
                format!("the objective returned NaN at particle {i}")
            }));
        }
        Ok(())
    }
}

fn shape_str(s: &[usize]) -> String {
    match s {
        [a] => format!("({a},)"),
        _ => format!(
            "({})",
            s.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Objective for PyObjective {
    fn dim(&self) -> usize {
        self.d
    }

    fn value(&self, x: &[f64]) -> f64 {
        let mut out = [0.0];
        self.values(x, &mut out);
        out[0]
    }

    /// One call of the Python function on all rows; on failure the failure is parked
    /// and every value is NaN, which the optimiser rejects (the binding then raises the
    /// parked failure).
    fn values(&self, xs: &[f64], out: &mut [f64]) {
        if self.slot.failed() {
            out.fill(f64::NAN);
            return;
        }
        if let Err(f) = Python::attach(|py| self.call(py, xs, 1, out)) {
            self.slot.park(f);
            out.fill(f64::NAN);
        }
    }

    /// `f_dim="3D"`: one call on the (M, B, d) stack of a lockstep run; `"2D"`: one call
    /// per run on its (B, d) block (CBXpy calls a 2D objective per run too).
    fn values_stacked(&self, xs: &[f64], runs: usize, out: &mut [f64]) {
        if self.f_dim == FDim::Two || runs <= 1 {
            let b = out.len() / runs.max(1);
            for (x, o) in xs.chunks(b * self.d).zip(out.chunks_mut(b.max(1))) {
                self.values(x, o);
            }
            return;
        }
        if self.slot.failed() {
            out.fill(f64::NAN);
            return;
        }
        if let Err(f) = Python::attach(|py| self.call(py, xs, runs, out)) {
            self.slot.park(f);
            out.fill(f64::NAN);
        }
    }

    fn fingerprint(&self) -> String {
        format!(
            "python({}, d={}, f_dim={:?})",
            self.name, self.d, self.f_dim
        )
    }
}

/// The objective of a Python `CBO`: built-in or a Python callable.
pub enum AnyObjective {
    /// A built-in test function.
    Builtin(TestFunction),
    /// A Python callable.
    Python(PyObjective),
}

impl AnyObjective {
    /// Whether f is a Python callable (then particle loops stay on one thread so that f
    /// is called once per step on the whole array).
    pub fn is_python(&self) -> bool {
        matches!(self, AnyObjective::Python(_))
    }
}

impl Objective for AnyObjective {
    fn dim(&self) -> usize {
        match self {
            AnyObjective::Builtin(f) => f.dim(),
            AnyObjective::Python(f) => f.dim(),
        }
    }
    fn value(&self, x: &[f64]) -> f64 {
        match self {
            AnyObjective::Builtin(f) => f.value(x),
            AnyObjective::Python(f) => f.value(x),
        }
    }
    fn values(&self, xs: &[f64], out: &mut [f64]) {
        match self {
            AnyObjective::Builtin(f) => f.values(xs, out),
            AnyObjective::Python(f) => f.values(xs, out),
        }
    }
    fn values_stacked(&self, xs: &[f64], runs: usize, out: &mut [f64]) {
        match self {
            AnyObjective::Builtin(f) => f.values_stacked(xs, runs, out),
            AnyObjective::Python(f) => f.values_stacked(xs, runs, out),
        }
    }
    fn minimiser(&self) -> Option<Vec<f64>> {
        match self {
            AnyObjective::Builtin(f) => f.minimiser(),
            AnyObjective::Python(_) => None,
        }
    }
    fn fingerprint(&self) -> String {
        match self {
            AnyObjective::Builtin(f) => f.fingerprint(),
            AnyObjective::Python(f) => f.fingerprint(),
        }
    }
}

/// The test function `name` on R^d, optionally shifted.
pub fn builtin(name: &str, d: usize, shift: Option<Vec<f64>>) -> PyResult<TestFunction> {
    let kind = match name {
        "rastrigin" => TestKind::Rastrigin,
        "ackley" => TestKind::Ackley,
        "rosenbrock" => TestKind::Rosenbrock,
        "griewank" => TestKind::Griewank,
        "schwefel" => TestKind::Schwefel,
        _ => {
            return Err(PyValueError::new_err(format!(
                "objective: unknown test function {name:?} (rastrigin, ackley, rosenbrock, griewank, schwefel) — or pass a callable"
            )));
        }
    };
    let f = TestFunction::new(kind, d).map_err(crate::errors::energy)?;
    match shift {
        Some(s) => f.shifted(s).map_err(crate::errors::energy),
        None => Ok(f),
    }
}
