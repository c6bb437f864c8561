//! Energy functionals F(μ) from Python: the built-in functionals of `meanfield-energy`
//! (the class `meanfield.Functional`), or a Python object with the methods `value`,
//! `first_variation` and `grad`, each called once on the whole ensemble. Used by every
//! Langevin scheme ([`crate::mfld`]) and by Fisher–Rao ([`crate::fisher_rao`]).

use meanfield_energy::frozen::{FrozenQuadratic, FrozenSimplexMoment};
use meanfield_energy::two_layer::{FrozenTwoLayer, TwoLayerNet};
use meanfield_energy::{
    EnergyError, FrozenFirstVariation, FrozenPotential, Functional, LinearPotential,
    MeanInteraction, QuadraticInteraction, SimplexMoment,
};
use meanfield_measures::Ensemble;
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arrays;
use crate::callback::{Failure, Slot};
use crate::errors;

/// A functional given by a Python object with methods `value(X) -> float`,
/// `first_variation(X) -> (N,)` and `grad(X) -> (N, d)` (X of shape (N, d)); on a
/// weighted ensemble (Fisher–Rao) each is called as `method(X, w)` with the weights w of
/// shape (N,).
pub struct PyFunctional {
    obj: Py<PyAny>,
    d: usize,
    name: String,
    slot: Slot,
    /// Whether the object has `first_variation_at(X, Y)` (then it can be frozen).
    frozen: bool,
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
    /// Calls `method(X[, w])` and copies the float64 result of shape `expect` into `out`.
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
            let f = self.obj.bind(py);
            let y = match ens.weights() {
                Some(w) => f.call_method1(method, (x, arrays::array1(py, w.as_slice()))),
                None => f.call_method1(method, (x,)),
            }
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

/// The functional of a Python dynamics: a built-in of `meanfield-energy` or a Python
/// object.
pub enum AnyFunctional {
    /// F(μ) = ∫|x|²/2 dμ + κ/2 |m(μ) − b|² (Gaussian oracle N(κb/(1+κ), λI)).
    Quadratic(QuadraticInteraction),
    /// F(μ) = ‖E x − q‖² + β Σ E[−ln x_i] on the simplex.
    SimplexMoment(SimplexMoment),
    /// F(μ) = ∫ c·x dμ.
    Linear(LinearPotential),
    /// F(μ) = (κ/2)|E x − b|².
    MeanInteraction(MeanInteraction),
    /// The mean-field two-layer tanh network with squared loss and L2 weight ρ.
    TwoLayer(TwoLayerNet),
    /// A Python functional.
    Python(PyFunctional),
}

/// Dispatches `$e` with `$f` bound to the functional of every variant.
macro_rules! each_functional {
    ($self:expr, $f:ident => $e:expr) => {
        match $self {
            AnyFunctional::Quadratic($f) => $e,
            AnyFunctional::SimplexMoment($f) => $e,
            AnyFunctional::Linear($f) => $e,
            AnyFunctional::MeanInteraction($f) => $e,
            AnyFunctional::TwoLayer($f) => $e,
            AnyFunctional::Python($f) => $e,
        }
    };
}

impl AnyFunctional {
    /// Whether F is a Python object (then particle loops stay on one thread).
    pub fn is_python(&self) -> bool {
        matches!(self, AnyFunctional::Python(_))
    }

    /// Whether F can be frozen for the Metropolis-adjusted scheme (the built-ins with a
    /// [`FrozenFirstVariation`], a Python functional with `first_variation_at`).
    pub fn can_freeze(&self) -> bool {
        match self {
            AnyFunctional::Quadratic(_)
            | AnyFunctional::SimplexMoment(_)
            | AnyFunctional::TwoLayer(_) => true,
            AnyFunctional::Python(f) => f.frozen,
            _ => false,
        }
    }

    /// The functional with its own particle loops on `par` (the two-layer network's
    /// residual and gradient passes; the other built-ins have none).
    pub fn with_parallelism(self, par: meanfield_measures::Parallelism) -> Self {
        match self {
            AnyFunctional::TwoLayer(f) => AnyFunctional::TwoLayer(f.with_parallelism(par)),
            other => other,
        }
    }

    /// A second handle on the same functional (a Python functional shares the object and
    /// the callback slot).
    pub fn duplicate(&self, py: Python<'_>) -> Self {
        match self {
            AnyFunctional::Python(f) => AnyFunctional::Python(PyFunctional {
                obj: f.obj.clone_ref(py),
                d: f.d,
                name: f.name.clone(),
                slot: f.slot.clone(),
                frozen: f.frozen,
            }),
            other => other
                .clone_builtin()
                .unwrap_or_else(|| unreachable!("only Python functionals are not built-ins")),
        }
    }

    /// A copy of a built-in functional (Python functionals are bound to one dynamics'
    /// callback slot and never copied).
    fn clone_builtin(&self) -> Option<Self> {
        Some(match self {
            AnyFunctional::Quadratic(f) => AnyFunctional::Quadratic(f.clone()),
            AnyFunctional::SimplexMoment(f) => AnyFunctional::SimplexMoment(f.clone()),
            AnyFunctional::Linear(f) => AnyFunctional::Linear(f.clone()),
            AnyFunctional::MeanInteraction(f) => AnyFunctional::MeanInteraction(f.clone()),
            AnyFunctional::TwoLayer(f) => AnyFunctional::TwoLayer(f.clone()),
            AnyFunctional::Python(_) => return None,
        })
    }
}

impl Functional for AnyFunctional {
    fn dim(&self) -> usize {
        each_functional!(self, f => f.dim())
    }
    fn value(&self, ens: &Ensemble) -> meanfield_energy::Result<f64> {
        each_functional!(self, f => f.value(ens))
    }
    fn first_variation_grad(
        &self,
        ens: &Ensemble,
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        each_functional!(self, f => f.first_variation_grad(ens, out))
    }
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> meanfield_energy::Result<()> {
        each_functional!(self, f => f.first_variation(ens, out))
    }
    fn fingerprint(&self) -> String {
        each_functional!(self, f => f.fingerprint())
    }
}

/// The frozen first variation of a freezable [`AnyFunctional`].
pub enum AnyFrozen {
    /// Of [`QuadraticInteraction`].
    Quadratic(FrozenQuadratic),
    /// Of [`SimplexMoment`].
    SimplexMoment(FrozenSimplexMoment),
    /// Of [`TwoLayerNet`].
    TwoLayer(FrozenTwoLayer),
    /// Of a Python functional: `first_variation_at(X, Y)` on the frozen ensemble X.
    Python(PyFrozen),
}

/// A Python functional frozen at the ensemble `x` (N × d): V and ∇V at the rows of Y
/// come from one call `first_variation_at(X, Y) -> (V (M,), ∇V (M, d))`.
pub struct PyFrozen {
    obj: Py<PyAny>,
    x: Vec<f64>,
    n: usize,
    d: usize,
    slot: Slot,
}

impl PyFrozen {
    /// One call on the rows `ys`; failures are parked (values NaN: the sampler rejects,
    /// the run stops on the parked failure and the binding raises it).
    fn call(&self, ys: &[f64], grads: &mut [f64], out: &mut [f64]) {
        let m = out.len();
        if self.slot.failed() {
            out.fill(f64::NAN);
            return;
        }
        let r = Python::attach(|py| -> Result<(), Failure> {
            let x = arrays::matrix(py, &self.x, self.n, self.d).map_err(Failure::Raised)?;
            let y = arrays::matrix(py, ys, m, self.d).map_err(Failure::Raised)?;
            let res = self
                .obj
                .bind(py)
                .call_method1("first_variation_at", (x, y))
                .map_err(Failure::Raised)?;
            let bad = || {
                Failure::Invalid(format!(
                    "functional.first_variation_at must return (values ({m},), grads ({m}, {})) as float64 arrays",
                    self.d
                ))
            };
            let (v, g): (Bound<'_, PyAny>, Bound<'_, PyAny>) = res.extract().map_err(|_| bad())?;
            let v = v.cast::<PyArrayDyn<f64>>().map_err(|_| bad())?;
            let g = g.cast::<PyArrayDyn<f64>>().map_err(|_| bad())?;
            if v.shape() != [m] || g.shape() != [m, self.d] {
                return Err(Failure::Invalid(format!(
                    "functional.first_variation_at returned shapes {:?} and {:?}, expected ({m},) and ({m}, {})",
                    v.shape(),
                    g.shape(),
                    self.d
                )));
            }
            let (v, g) = (v.readonly(), g.readonly());
            for (o, &val) in out.iter_mut().zip(v.as_array().iter()) {
                *o = val;
            }
            for (o, &val) in grads.iter_mut().zip(g.as_array().iter()) {
                *o = val;
            }
            if let Some(k) = out.iter().position(|v| v.is_nan()) {
                return Err(Failure::Invalid(format!(
                    "functional.first_variation_at returned NaN at proposal {k}"
                )));
            }
            Ok(())
        });
        if let Err(f) = r {
            self.slot.park(f);
            out.fill(f64::NAN);
        }
    }
}

impl FrozenPotential for PyFrozen {
    fn value_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut v = [0.0];
        self.call(x, grad, &mut v);
        v[0]
    }
    fn batched(&self) -> bool {
        true
    }
    fn values_and_grads(&self, xs: &[f64], grads: &mut [f64], out: &mut [f64]) {
        self.call(xs, grads, out)
    }
}

impl FrozenPotential for AnyFrozen {
    fn value_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        match self {
            AnyFrozen::Quadratic(f) => f.value_and_grad(x, grad),
            AnyFrozen::SimplexMoment(f) => f.value_and_grad(x, grad),
            AnyFrozen::TwoLayer(f) => f.value_and_grad(x, grad),
            AnyFrozen::Python(f) => f.value_and_grad(x, grad),
        }
    }
    fn batched(&self) -> bool {
        matches!(self, AnyFrozen::Python(_))
    }
    fn values_and_grads(&self, xs: &[f64], grads: &mut [f64], out: &mut [f64]) {
        match self {
            AnyFrozen::Python(f) => f.values_and_grads(xs, grads, out),
            AnyFrozen::Quadratic(f) => f.values_and_grads(xs, grads, out),
            AnyFrozen::SimplexMoment(f) => f.values_and_grads(xs, grads, out),
            AnyFrozen::TwoLayer(f) => f.values_and_grads(xs, grads, out),
        }
    }
}

impl FrozenFirstVariation for AnyFunctional {
    type Frozen = AnyFrozen;

    fn freeze(&self, ens: &Ensemble) -> meanfield_energy::Result<AnyFrozen> {
        match self {
            AnyFunctional::Quadratic(f) => f.freeze(ens).map(AnyFrozen::Quadratic),
            AnyFunctional::SimplexMoment(f) => f.freeze(ens).map(AnyFrozen::SimplexMoment),
            AnyFunctional::TwoLayer(f) => f.freeze(ens).map(AnyFrozen::TwoLayer),
            AnyFunctional::Python(f) if f.frozen => Ok(AnyFrozen::Python(PyFrozen {
                obj: Python::attach(|py| f.obj.clone_ref(py)),
                x: ens.as_slice().to_vec(),
                n: ens.n(),
                d: ens.dim(),
                slot: f.slot.clone(),
            })),
            // Refused at construction (`can_freeze`); kept as an error, not a panic.
            _ => Err(EnergyError::OutsideDomain {
                particle: 0,
                reason: "this functional has no frozen first variation".into(),
            }),
        }
    }
}

/// A built-in energy functional F(μ) of `meanfield-energy`, for `MFLD` and `FisherRao`;
/// its values at an ensemble are exposed for checks.
#[pyclass(name = "Functional", module = "meanfield._core", frozen)]
pub struct PyBuiltinFunctional {
    f: AnyFunctional,
}

#[pymethods]
impl PyBuiltinFunctional {
    /// F(μ) = ∫|x|²/2 dμ + κ/2 |m(μ) − b|², d = len(b); MFLD's stationary law is
    /// N(κb/(1+κ), λI).
    #[staticmethod]
    #[pyo3(signature = (kappa, b))]
    fn quadratic(kappa: f64, b: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (b, _) = arrays::float_array("b", b, &["d"])?;
        Ok(Self {
            f: AnyFunctional::Quadratic(
                QuadraticInteraction::new(kappa, b).map_err(errors::energy)?,
            ),
        })
    }

    /// F(μ) = ‖E x − q‖² + β Σ_i E[−ln x_i] on the simplex Δ^{d−1}, d = len(q).
    #[staticmethod]
    #[pyo3(signature = (q, beta))]
    fn simplex_moment(q: &Bound<'_, PyAny>, beta: f64) -> PyResult<Self> {
        let (q, _) = arrays::float_array("q", q, &["d"])?;
        Ok(Self {
            f: AnyFunctional::SimplexMoment(SimplexMoment::new(q, beta).map_err(errors::energy)?),
        })
    }

    /// F(μ) = ∫ c·x dμ (the Fisher–Rao oracle: the flow from π = N(0, I) stays Gaussian).
    #[staticmethod]
    #[pyo3(signature = (c,))]
    fn linear(c: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (c, _) = arrays::float_array("c", c, &["d"])?;
        Ok(Self {
            f: AnyFunctional::Linear(LinearPotential::new(c).map_err(errors::energy)?),
        })
    }

    /// F(μ) = (κ/2)|E x − b|², d = len(b).
    #[staticmethod]
    #[pyo3(signature = (kappa, b))]
    fn mean_interaction(kappa: f64, b: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (b, _) = arrays::float_array("b", b, &["d"])?;
        Ok(Self {
            f: AnyFunctional::MeanInteraction(
                MeanInteraction::new(kappa, b).map_err(errors::energy)?,
            ),
        })
    }

    /// The mean-field two-layer tanh network f_μ(z) = E_μ[a tanh(w·z)] on the data
    /// `inputs` (M, p) → `targets` (M,), F(μ) = (1/2M) Σ_j (f_μ(z_j) − y_j)² + (ρ/2)
    /// E_μ|θ|² with ρ = `l2`; a particle is one hidden unit θ = (a, w), d = 1 + p.
    /// `threads > 1` in `MFLD` also spreads its residual and gradient loops.
    #[staticmethod]
    #[pyo3(signature = (inputs, targets, l2=0.0))]
    fn two_layer(inputs: &Bound<'_, PyAny>, targets: &Bound<'_, PyAny>, l2: f64) -> PyResult<Self> {
        let (z, dims) = arrays::float_array("inputs", inputs, &["M", "p"])?;
        let y = arrays::vector("targets", targets, dims[0])?;
        Ok(Self {
            f: AnyFunctional::TwoLayer(
                TwoLayerNet::new(z, dims[1], y, l2).map_err(errors::energy)?,
            ),
        })
    }

    /// The two-layer network's prediction f_μ(z) at the rows of `z` (K, p) for the
    /// ensemble of hidden units `x` (N, 1 + p); shape (K,).
    #[pyo3(signature = (x, z, w=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        z: &Bound<'py, PyAny>,
        w: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let AnyFunctional::TwoLayer(net) = &self.f else {
            return Err(PyValueError::new_err(
                "predict: only for Functional.two_layer",
            ));
        };
        let ens = arrays::weighted_ensemble("x", x, w)?;
        let (z, _) = arrays::float_array("z", z, &["K", "p"])?;
        let out = net.predict(&ens, &z).map_err(errors::energy)?;
        Ok(arrays::array1_owned(py, out))
    }

    /// V(y) = δF/δμ(μ_X, y) and ∇V(y) at the rows of `y` (M, d) under the measure of the
    /// ensemble `x` (N, d) frozen (the potential the adjusted scheme evaluates at its
    /// proposals); returns (values (M,), grads (M, d)). Only for freezable functionals.
    fn first_variation_at<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        if !self.f.can_freeze() {
            return Err(PyValueError::new_err(
                "first_variation_at: this functional has no frozen first variation",
            ));
        }
        let ens = arrays::ensemble("x", x)?;
        let (ys, dims) = arrays::float_array("y", y, &["M", "d"])?;
        if dims[1] != ens.dim() {
            return Err(PyValueError::new_err(format!(
                "y: expected shape (M, {}), got {dims:?}",
                ens.dim()
            )));
        }
        let frozen = self.f.freeze(&ens).map_err(errors::energy)?;
        let (mut v, mut g) = (vec![0.0; dims[0]], vec![0.0; ys.len()]);
        frozen.values_and_grads(&ys, &mut g, &mut v);
        Ok((
            arrays::array1_owned(py, v),
            arrays::matrix_owned(py, g, dims[0], dims[1])?,
        ))
    }

    /// The dimension d.
    #[getter]
    fn d(&self) -> usize {
        self.f.dim()
    }

    /// F at the (N, d) ensemble `x` (weights `w` of shape (N,) if given).
    #[pyo3(signature = (x, w=None))]
    fn value(&self, x: &Bound<'_, PyAny>, w: Option<&Bound<'_, PyAny>>) -> PyResult<f64> {
        let ens = arrays::weighted_ensemble("x", x, w)?;
        self.f.value(&ens).map_err(errors::energy)
    }

    /// δF/δμ at the particles of the (N, d) ensemble `x`, shape (N,).
    #[pyo3(signature = (x, w=None))]
    fn first_variation<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        w: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ens = arrays::weighted_ensemble("x", x, w)?;
        let mut out = vec![0.0; ens.n()];
        self.f
            .first_variation(&ens, &mut out)
            .map_err(errors::energy)?;
        Ok(arrays::array1_owned(py, out))
    }

    /// ∇_x δF/δμ at the particles of the (N, d) ensemble `x`, shape (N, d).
    #[pyo3(signature = (x, w=None))]
    fn grad<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        w: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ens = arrays::weighted_ensemble("x", x, w)?;
        let mut out = vec![0.0; ens.n() * ens.dim()];
        self.f
            .first_variation_grad(&ens, &mut out)
            .map_err(errors::energy)?;
        arrays::matrix_owned(py, out, ens.n(), ens.dim())
    }

    /// The fingerprint this functional contributes to checkpoints.
    fn fingerprint(&self) -> String {
        self.f.fingerprint()
    }

    fn __repr__(&self) -> String {
        format!("Functional({})", self.f.fingerprint())
    }
}

/// The functional argument of `MFLD` / `FisherRao`: a `meanfield.Functional`, the legacy
/// name `"quadratic"` (with `kappa` and `b`), or a Python object with `value`,
/// `first_variation` and `grad` (then `d` is required). A Python functional parks its
/// failures in `slot`.
pub fn from_python(
    obj: &Bound<'_, PyAny>,
    d: Option<usize>,
    kappa: f64,
    b: Option<&Bound<'_, PyAny>>,
    slot: &Slot,
) -> PyResult<AnyFunctional> {
    if let Ok(f) = obj.cast::<PyBuiltinFunctional>() {
        let f = f
            .get()
            .f
            .clone_builtin()
            .ok_or_else(|| PyValueError::new_err("functional: not a built-in functional"))?;
        if let Some(d) = d
            && d != f.dim()
        {
            return Err(PyValueError::new_err(format!(
                "d: the functional has dimension {}, got d = {d}",
                f.dim()
            )));
        }
        return Ok(f);
    }
    if let Ok(name) = obj.extract::<String>() {
        if name != "quadratic" {
            return Err(PyValueError::new_err(format!(
                "functional: unknown built-in {name:?} (quadratic; or a meanfield.Functional) — or pass an object with value, first_variation and grad"
            )));
        }
        let b = b.ok_or_else(|| {
            PyValueError::new_err("b: the quadratic functional needs its anchor b, shape (d,)")
        })?;
        return Ok(PyBuiltinFunctional::quadratic(kappa, b)?.f);
    }
    for m in ["value", "first_variation", "grad"] {
        if !obj.hasattr(m)? {
            return Err(PyValueError::new_err(format!(
                "functional: expected a meanfield.Functional, \"quadratic\" or an object with methods value, first_variation and grad; `{m}` is missing"
            )));
        }
    }
    let d = d.ok_or_else(|| PyValueError::new_err("d: required with a Python functional"))?;
    if d == 0 {
        return Err(PyValueError::new_err("d: expected ≥ 1, got 0"));
    }
    let name = obj
        .get_type()
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "functional".into());
    Ok(AnyFunctional::Python(PyFunctional {
        obj: obj.clone().unbind(),
        d,
        name,
        slot: slot.clone(),
        frozen: obj.hasattr("first_variation_at")?,
    }))
}
