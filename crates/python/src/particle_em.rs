//! `meanfield.PGD`, `meanfield.MPD`, `meanfield.LatentModel` and `meanfield.LatentRun`:
//! particle EM (particle gradient descent and momentum particle descent) for a
//! latent-variable model E(θ, x) = −log p_θ(x, y): a built-in model of
//! `meanfield-energy` or a Python object whose energy and gradients are called once per
//! step on all particles, delegating to `meanfield_integrators::{Pgd, Mpd}`; ParEM's
//! particle quasi-Newton and marginal gradient descent (`PQN`, `PMGD`) on the built-in
//! models or a Python model that also supplies ∇²_θ E or θ*(q).

use meanfield_energy::{
    BayesianLogistic, Decoder, DecoderShape, EnergyError, HierarchicalGaussian, LatentModel,
    PixelLikelihood,
};
use meanfield_integrators::{
    Checkpoint, LatentState, Mpd, MpdParams, ParticleEmInfo, Pgd, PgdParams, Pmgd, PmgdParams, Pqn,
};
use meanfield_measures::Parallelism;
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;
use crate::callback::{Failure, Slot};
use crate::errors;
use crate::runs::{self, Observe};

/// A latent model given by a Python object with methods `energy(theta, X) -> (N,)`,
/// `grad_theta(theta, X) -> (N, p)` and `grad_x(theta, X) -> (N, d)` (θ of shape (p,),
/// X of shape (N, d)), and optionally `hess_theta(theta, X) -> (N, p, p)` (PQN) and
/// `optimal_theta(X) -> (p,)` (PMGD); the integrators call each once per step on all
/// particles (one batch).
pub struct PyLatent {
    obj: Py<PyAny>,
    p: usize,
    d: usize,
    name: String,
    slot: Slot,
    /// Whether the object has `hess_theta` / `optimal_theta`.
    has_hess: bool,
    has_optimal: bool,
}

/// The energy error a parked Python failure turns into (the binding raises the parked
/// failure instead).
fn parked() -> EnergyError {
    EnergyError::OutsideDomain {
        particle: 0,
        reason: "the Python latent model failed".into(),
    }
}

impl PyLatent {
    /// Calls `method(theta, X)` on the c × d rows `xs` and copies the (c, width) result
    /// into `out` (width 0: shape (c,)).
    fn call(
        &self,
        method: &str,
        theta: &[f64],
        xs: &[f64],
        width: usize,
        out: &mut [f64],
    ) -> Result<(), EnergyError> {
        let c = xs.len() / self.d;
        let expect: Vec<usize> = if width == 0 { vec![c] } else { vec![c, width] };
        self.call_with(method, Some(theta), xs, &expect, out)
    }

    /// Calls `method(theta, X)` (or `method(X)` without θ) on the c × d rows `xs` and
    /// copies its float64 result of shape `expect` into `out`, checking shape and
    /// finiteness (a failure is parked in the slot).
    fn call_with(
        &self,
        method: &str,
        theta: Option<&[f64]>,
        xs: &[f64],
        expect: &[usize],
        out: &mut [f64],
    ) -> Result<(), EnergyError> {
        if self.slot.failed() {
            return Err(parked());
        }
        let c = xs.len() / self.d;
        let r = Python::attach(|py| -> Result<(), Failure> {
            let x = arrays::matrix(py, xs, c, self.d).map_err(Failure::Raised)?;
            let obj = self.obj.bind(py);
            let y = match theta {
                Some(t) => obj.call_method1(method, (arrays::array1(py, t), x)),
                None => obj.call_method1(method, (x,)),
            }
            .map_err(Failure::Raised)?;
            let arr = y.cast::<PyArrayDyn<f64>>().map_err(|_| {
                Failure::Invalid(format!(
                    "model.{method} must return a float64 array of shape {expect:?}"
                ))
            })?;
            if arr.shape() != expect {
                return Err(Failure::Invalid(format!(
                    "model.{method} returned shape {:?}, expected {expect:?}",
                    arr.shape()
                )));
            }
            let ro = arr.readonly();
            for (o, &v) in out.iter_mut().zip(ro.as_array().iter()) {
                *o = v;
            }
            if let Some(k) = out.iter().position(|v| !v.is_finite()) {
                return Err(Failure::Invalid(format!(
                    "model.{method} returned {} at flat index {k}",
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

    /// The trait's "not available" error for the optional method `method` the object
    /// lacks.
    fn missing(quantity: &'static str) -> EnergyError {
        EnergyError::NotAvailable {
            quantity,
            model: "a Python latent model",
        }
    }
}

impl LatentModel for PyLatent {
    fn theta_dim(&self) -> usize {
        self.p
    }
    fn latent_dim(&self) -> usize {
        self.d
    }
    fn energy(&self, theta: &[f64], x: &[f64]) -> meanfield_energy::Result<f64> {
        let mut e = [0.0];
        self.call("energy", theta, x, 0, &mut e)?;
        Ok(e[0])
    }
    fn grad_theta(
        &self,
        theta: &[f64],
        x: &[f64],
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        self.call("grad_theta", theta, x, self.p, out)
    }
    fn grad_x(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> meanfield_energy::Result<()> {
        self.call("grad_x", theta, x, self.d, out)
    }
    /// One particle: `hess_theta(theta, X)` on the (1, d) array (PQN calls the batch).
    fn hess_theta(
        &self,
        theta: &[f64],
        x: &[f64],
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        self.hess_theta_batch(theta, x, out)
    }
    fn hess_theta_batch(
        &self,
        theta: &[f64],
        xs: &[f64],
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        if !self.has_hess {
            return Err(Self::missing(
                "the θ-Hessian: model.hess_theta(theta, X) -> (N, p, p)",
            ));
        }
        let expect = [xs.len() / self.d, self.p, self.p];
        self.call_with("hess_theta", Some(theta), xs, &expect, out)
    }
    fn optimal_theta(&self, xs: &[f64], out: &mut [f64]) -> meanfield_energy::Result<()> {
        if !self.has_optimal {
            return Err(Self::missing("θ*(q): model.optimal_theta(X) -> (p,)"));
        }
        self.call_with("optimal_theta", None, xs, &[self.p], out)
    }
    fn fingerprint(&self) -> String {
        format!("python({}, p={}, d={})", self.name, self.p, self.d)
    }
    /// All particles in one batch, so that each gradient is one Python call per step
    /// (a fixed property of the model: results do not depend on the thread count).
    fn batch_size(&self) -> usize {
        u32::MAX as usize
    }
    fn grads_batch(
        &self,
        theta: &[f64],
        xs: &[f64],
        grad_theta: Option<&mut [f64]>,
        grad_x: Option<&mut [f64]>,
    ) -> meanfield_energy::Result<()> {
        if let Some(gt) = grad_theta {
            self.call("grad_theta", theta, xs, self.p, gt)?;
        }
        if let Some(gx) = grad_x {
            self.call("grad_x", theta, xs, self.d, gx)?;
        }
        Ok(())
    }
}

/// The latent model of a Python `PGD` / `MPD`.
pub enum AnyLatent {
    /// The toy hierarchical Gaussian (θ̂ = mean y).
    Toy(HierarchicalGaussian),
    /// Bayesian logistic regression.
    Logistic(BayesianLogistic),
    /// The one-hidden-layer decoder (generator) of images from latent codes.
    Decoder(Decoder),
    /// A Python model.
    Python(PyLatent),
}

/// Dispatches `$e` with `$m` bound to the model of every variant.
macro_rules! each_model {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            AnyLatent::Toy($m) => $e,
            AnyLatent::Logistic($m) => $e,
            AnyLatent::Decoder($m) => $e,
            AnyLatent::Python($m) => $e,
        }
    };
}

impl LatentModel for AnyLatent {
    fn theta_dim(&self) -> usize {
        each_model!(self, m => m.theta_dim())
    }
    fn latent_dim(&self) -> usize {
        each_model!(self, m => m.latent_dim())
    }
    fn energy(&self, theta: &[f64], x: &[f64]) -> meanfield_energy::Result<f64> {
        each_model!(self, m => m.energy(theta, x))
    }
    fn grad_theta(
        &self,
        theta: &[f64],
        x: &[f64],
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        each_model!(self, m => m.grad_theta(theta, x, out))
    }
    fn grad_x(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> meanfield_energy::Result<()> {
        each_model!(self, m => m.grad_x(theta, x, out))
    }
    fn grads(
        &self,
        theta: &[f64],
        x: &[f64],
        grad_theta: &mut [f64],
        grad_x: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        each_model!(self, m => m.grads(theta, x, grad_theta, grad_x))
    }
    fn hess_theta(
        &self,
        theta: &[f64],
        x: &[f64],
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        each_model!(self, m => m.hess_theta(theta, x, out))
    }
    fn hess_theta_batch(
        &self,
        theta: &[f64],
        xs: &[f64],
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        each_model!(self, m => m.hess_theta_batch(theta, xs, out))
    }
    fn optimal_theta(&self, xs: &[f64], out: &mut [f64]) -> meanfield_energy::Result<()> {
        each_model!(self, m => m.optimal_theta(xs, out))
    }
    fn fingerprint(&self) -> String {
        each_model!(self, m => m.fingerprint())
    }
    fn initial_theta(&self) -> Vec<f64> {
        each_model!(self, m => m.initial_theta())
    }
    fn batch_size(&self) -> usize {
        each_model!(self, m => m.batch_size())
    }
    fn grads_batch(
        &self,
        theta: &[f64],
        xs: &[f64],
        grad_theta: Option<&mut [f64]>,
        grad_x: Option<&mut [f64]>,
    ) -> meanfield_energy::Result<()> {
        each_model!(self, m => m.grads_batch(theta, xs, grad_theta, grad_x))
    }
}

impl AnyLatent {
    fn clone_builtin(&self) -> Option<Self> {
        match self {
            AnyLatent::Toy(m) => Some(AnyLatent::Toy(m.clone())),
            AnyLatent::Logistic(m) => Some(AnyLatent::Logistic(m.clone())),
            AnyLatent::Decoder(m) => Some(AnyLatent::Decoder(m.clone())),
            AnyLatent::Python(_) => None,
        }
    }
}

/// A built-in latent-variable model of `meanfield-energy` for `PGD` / `MPD`.
#[pyclass(name = "LatentModel", module = "meanfield._core", frozen)]
pub struct PyBuiltinLatent {
    m: AnyLatent,
}

#[pymethods]
impl PyBuiltinLatent {
    /// The toy hierarchical Gaussian: θ ∈ R, x ∈ R^M, x_j ~ N(θ, 1), y_j ~ N(x_j, 1),
    /// observations `y` of shape (M,); the MLE is θ̂ = mean(y).
    #[staticmethod]
    fn toy(y: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (y, _) = arrays::float_array("y", y, &["M"])?;
        Ok(Self {
            m: AnyLatent::Toy(HierarchicalGaussian::new(y).map_err(errors::energy)?),
        })
    }

    /// Bayesian logistic regression on `features` (M, K) and `labels` (M,) in {0, 1}
    /// with prior variance `prior_var` (θ: the prior's log-scale parameters; x ∈ R^K the
    /// weights; see docs/particle-em.md).
    #[staticmethod]
    #[pyo3(signature = (features, labels, prior_var=5.0))]
    fn logistic(
        features: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        prior_var: f64,
    ) -> PyResult<Self> {
        let (f, dims) = arrays::float_array("features", features, &["M", "K"])?;
        let labels = arrays::vector("labels", labels, dims[0])?;
        Ok(Self {
            m: AnyLatent::Logistic(
                BayesianLogistic::new(f, labels, dims[1], prior_var).map_err(errors::energy)?,
            ),
        })
    }

    /// The decoder model of docs/particle-em.md: images `data` (M, D) generated from latent
    /// codes z ∈ R^latent through one tanh hidden layer of `hidden` units, θ = (W₁, b₁,
    /// W₂, b₂) of dimension p = hidden·latent + hidden + D·hidden + D; pixels Bernoulli
    /// (`likelihood="bernoulli"`, data in [0, 1]) or Gaussian with standard deviation
    /// `sigma` (`likelihood="gaussian"`). x is the M stacked codes, d = M·latent.
    #[staticmethod]
    #[pyo3(signature = (data, latent, hidden, likelihood="bernoulli", sigma=None))]
    fn decoder(
        data: &Bound<'_, PyAny>,
        latent: usize,
        hidden: usize,
        likelihood: &str,
        sigma: Option<f64>,
    ) -> PyResult<Self> {
        let (data, dims) = arrays::float_array("data", data, &["M", "D"])?;
        let likelihood = match (likelihood, sigma) {
            ("bernoulli", None) => PixelLikelihood::Bernoulli,
            ("gaussian", Some(sigma)) => PixelLikelihood::Gaussian { sigma },
            ("gaussian", None) => {
                return Err(PyValueError::new_err(
                    "sigma: the Gaussian pixel likelihood needs its standard deviation",
                ));
            }
            ("bernoulli", Some(_)) => {
                return Err(PyValueError::new_err(
                    "sigma: only for likelihood=\"gaussian\"",
                ));
            }
            (other, _) => {
                return Err(PyValueError::new_err(format!(
                    "likelihood: expected \"bernoulli\" or \"gaussian\", got {other:?}"
                )));
            }
        };
        let shape = DecoderShape {
            latent,
            hidden,
            output: dims[1],
        };
        Ok(Self {
            m: AnyLatent::Decoder(Decoder::new(shape, likelihood, data).map_err(errors::energy)?),
        })
    }

    /// p = dim θ.
    #[getter]
    fn p(&self) -> usize {
        self.m.theta_dim()
    }

    /// d = dim x.
    #[getter]
    fn d(&self) -> usize {
        self.m.latent_dim()
    }

    /// The toy model's maximum-likelihood estimate θ̂ = mean(y) (ValueError for others).
    fn mle(&self) -> PyResult<f64> {
        match &self.m {
            AnyLatent::Toy(m) => Ok(m.mle()),
            _ => Err(PyValueError::new_err(
                "mle: only the toy model has a closed-form MLE",
            )),
        }
    }

    /// E(θ, x) at every row of the (N, d) array `x`, shape (N,).
    fn energy<'py>(
        &self,
        py: Python<'py>,
        theta: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let theta = arrays::vector("theta", theta, self.m.theta_dim())?;
        let ens = arrays::ensemble("x", x)?;
        meanfield_energy::latent::check_dims(&self.m, &theta, &ens.as_slice()[..ens.dim()])
            .map_err(errors::energy)?;
        let e = ens
            .rows()
            .map(|r| self.m.energy(&theta, r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(errors::energy)?;
        Ok(arrays::array1_owned(py, e))
    }

    /// The fingerprint this model contributes to checkpoints.
    fn fingerprint(&self) -> String {
        self.m.fingerprint()
    }
}

/// The model argument of `family`: a `meanfield.LatentModel`, or a Python object with
/// `energy`, `grad_theta`, `grad_x` (then `p` and `d` are required) and the optional
/// method `extra` the family needs (`hess_theta` for PQN, `optimal_theta` for PMGD): a
/// `ValueError` naming the missing method otherwise.
fn model(
    obj: &Bound<'_, PyAny>,
    p: Option<usize>,
    d: Option<usize>,
    slot: &Slot,
    family: &str,
    extra: Option<&str>,
) -> PyResult<AnyLatent> {
    if let Ok(m) = obj.cast::<PyBuiltinLatent>() {
        return m
            .get()
            .m
            .clone_builtin()
            .ok_or_else(|| PyValueError::new_err("model: not a built-in model"));
    }
    for m in ["energy", "grad_theta", "grad_x"].into_iter().chain(extra) {
        if !obj.hasattr(m)? {
            let needs = extra.map_or(String::new(), |e| format!(" and {e}"));
            return Err(PyValueError::new_err(format!(
                "model: {family} expects a meanfield.LatentModel or an object with methods energy, grad_theta, grad_x{needs}; `{m}` is missing"
            )));
        }
    }
    let (Some(p), Some(d)) = (p, d) else {
        return Err(PyValueError::new_err(
            "p, d: both required with a Python model (dim θ and dim x)",
        ));
    };
    let name = obj
        .get_type()
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "model".into());
    Ok(AnyLatent::Python(PyLatent {
        obj: obj.clone().unbind(),
        p,
        d,
        name,
        slot: slot.clone(),
        has_hess: obj.hasattr("hess_theta")?,
        has_optimal: obj.hasattr("optimal_theta")?,
    }))
}

/// Raises a failure the constructor's availability probe of a Python model parked
/// (`Pqn::new` / `Pmgd::new` call the optional method once on a zero particle).
fn probe_failure(slot: &Slot) -> PyResult<()> {
    slot.take("model (probe at construction)", 0)
        .map_or(Ok(()), Err)
}

/// Observation dicts of particle-EM runs.
struct LatentObs;

impl Observe<LatentState, ParticleEmInfo> for LatentObs {
    fn state<'py>(py: Python<'py>, s: &LatentState) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let e = &s.particles;
        d.set_item("x", arrays::matrix(py, e.as_slice(), e.n(), e.dim())?)?;
        d.set_item("theta", arrays::array1(py, &s.theta))?;
        Ok(d)
    }
    fn info<'py>(py: Python<'py>, i: &ParticleEmInfo) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("dt", i.dt)?;
        d.set_item("theta_change", i.theta_change)?;
        Ok(d)
    }
}

/// A fresh run of `dynamics` from `x0` with θ = `theta0` (the model's default when
/// omitted).
/// A Python model's failure in the initial state (PMGD's θ*(X₀)) is raised from `slot`.
fn start<D: meanfield_integrators::Dynamics<State = LatentState>>(
    dynamics: &D,
    slot: &Slot,
    x0: &Bound<'_, PyAny>,
    seed: u64,
    theta0: Option<&Bound<'_, PyAny>>,
    p: usize,
) -> PyResult<LatentRun> {
    let ens = arrays::ensemble("x0", x0)?;
    slot.clear();
    let mut cp =
        runs::start(dynamics, ens, seed).map_err(|e| slot.take("model", 0).unwrap_or(e))?;
    if let Some(t) = theta0 {
        cp.state.theta = arrays::vector("theta0", t, p)?;
    }
    Ok(LatentRun { cp })
}

/// Particle gradient descent (PGD; see `docs/python.md`).
#[pyclass(name = "PGD", module = "meanfield._core")]
pub struct PyPgd {
    dynamics: Pgd<AnyLatent>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

runs::dynamics_class!(PyPgd, LatentRun, LatentObs, "model" {
    /// PGD on `model` (a `meanfield.LatentModel` or a Python object with
    /// `energy(theta, X)`, `grad_theta(theta, X)`, `grad_x(theta, X)`; then `p` and `d`)
    /// with θ step `h_theta` and particle step `h_x`.
    #[new]
    #[pyo3(signature = (model, *, h_theta, h_x, p=None, d=None, threads=1))]
    fn new(
        model: &Bound<'_, PyAny>,
        h_theta: f64,
        h_x: f64,
        p: Option<usize>,
        d: Option<usize>,
        threads: usize,
    ) -> PyResult<Self> {
        let slot = Slot::default();
        let m = self::model(model, p, d, &slot, "PGD", None)?;
        let par = par(threads, &m);
        let params = PgdParams::new(h_theta, h_x).map_err(errors::integrator)?;
        Ok(Self {
            dynamics: Pgd::new(m, params)
                .map_err(errors::integrator)?
                .with_parallelism(par),
            slot,
            pool: runs::pool(threads)?,
        })
    }

    /// A fresh run from the (N, d) particles `x0` with seed `seed` and θ = `theta0`
    /// (shape (p,); the model's default when omitted).
    #[pyo3(signature = (x0, seed=0, theta0=None))]
    fn start(
        &self,
        x0: &Bound<'_, PyAny>,
        seed: u64,
        theta0: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LatentRun> {
        start(&self.dynamics, &self.slot, x0, seed, theta0, self.dynamics.model().theta_dim())
    }
});

/// Particle quasi-Newton (ParEM's PQN; see `docs/particle-em.md`).
#[pyclass(name = "PQN", module = "meanfield._core")]
pub struct PyPqn {
    dynamics: Pqn<AnyLatent>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

runs::dynamics_class!(PyPqn, LatentRun, LatentObs, "model" {
    /// PQN on `model`: a built-in `meanfield.LatentModel` with the θ-Hessian (`toy`,
    /// `logistic`) or a Python model as for `PGD` with also `hess_theta(theta, X) ->
    /// (N, p, p)` (called once per step on all particles, and once by the constructor on
    /// a zero particle to check it); PGD's particle step `h_x`, θ ← θ − `h_theta` H̄⁻¹ ∇_θ
    /// with H̄ = (1/N) Σ_i ∇²_θ E(θ, X^i) (h_theta = 1 is a full Newton step). A built-in
    /// model without ∇²_θ E (the decoder) is an `EnergyError`, a Python model without
    /// `hess_theta` a `ValueError` naming it.
    #[new]
    #[pyo3(signature = (model, *, h_theta, h_x, p=None, d=None, threads=1))]
    fn new(
        model: &Bound<'_, PyAny>,
        h_theta: f64,
        h_x: f64,
        p: Option<usize>,
        d: Option<usize>,
        threads: usize,
    ) -> PyResult<Self> {
        let params = PgdParams::new(h_theta, h_x).map_err(errors::integrator)?;
        let (dynamics, slot, pool) =
            probed_class(model, p, d, "PQN", "hess_theta", threads, |m, par| {
                Ok(Pqn::new(m, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
        })
    }

    /// A fresh run from the (N, d) particles `x0` with seed `seed` and θ = `theta0`
    /// (shape (p,); the model's default when omitted).
    #[pyo3(signature = (x0, seed=0, theta0=None))]
    fn start(
        &self,
        x0: &Bound<'_, PyAny>,
        seed: u64,
        theta0: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LatentRun> {
        start(&self.dynamics, &self.slot, x0, seed, theta0, self.dynamics.model().theta_dim())
    }
});

/// Particle marginal gradient descent (ParEM's PMGD; see `docs/particle-em.md`).
#[pyclass(name = "PMGD", module = "meanfield._core")]
pub struct PyPmgd {
    dynamics: Pmgd<AnyLatent>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

runs::dynamics_class!(PyPmgd, LatentRun, LatentObs, "model" {
    /// PMGD on `model`: a built-in `meanfield.LatentModel` with a closed-form θ*(q)
    /// (`toy`, `logistic`) or a Python model as for `PGD` with also `optimal_theta(X) ->
    /// (p,)` (called once per step on all particles, and once by the constructor on a
    /// zero particle to check it): X^i ← X^i − `h_x` ∇_x E(θ, X^i) + √(2 h_x) ξ^i, then
    /// θ ← θ*(X). A built-in model without θ*(q) (the decoder) is an `EnergyError`, a
    /// Python model without `optimal_theta` a `ValueError` naming it.
    #[new]
    #[pyo3(signature = (model, *, h_x, p=None, d=None, threads=1))]
    fn new(
        model: &Bound<'_, PyAny>,
        h_x: f64,
        p: Option<usize>,
        d: Option<usize>,
        threads: usize,
    ) -> PyResult<Self> {
        let params = PmgdParams::new(h_x).map_err(errors::integrator)?;
        let (dynamics, slot, pool) =
            probed_class(model, p, d, "PMGD", "optimal_theta", threads, |m, par| {
                Ok(Pmgd::new(m, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
        })
    }

    /// A fresh run from the (N, d) particles `x0` with seed `seed` and θ = `theta0`
    /// (shape (p,); the model's default when omitted; PMGD replaces it by θ*(X) at the
    /// first step).
    #[pyo3(signature = (x0, seed=0, theta0=None))]
    fn start(
        &self,
        x0: &Bound<'_, PyAny>,
        seed: u64,
        theta0: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LatentRun> {
        start(&self.dynamics, &self.slot, x0, seed, theta0, self.dynamics.model().theta_dim())
    }
});

/// The dynamics `make(model, par)` of PQN / PMGD on the model from `model` (built-in, or
/// Python with the optional `method`), its callback slot and its thread pool: the Rust
/// constructor's availability probe runs inside `make`, and a Python failure it parked
/// is raised before the Rust error.
#[allow(clippy::too_many_arguments)]
fn probed_class<D>(
    model: &Bound<'_, PyAny>,
    p: Option<usize>,
    d: Option<usize>,
    name: &str,
    method: &'static str,
    threads: usize,
    make: impl FnOnce(AnyLatent, Parallelism) -> meanfield_integrators::Result<D>,
) -> PyResult<(D, Slot, Option<rayon::ThreadPool>)> {
    let slot = Slot::default();
    let m = self::model(model, p, d, &slot, name, Some(method))?;
    let par = par(threads, &m);
    let dynamics = make(m, par);
    probe_failure(&slot)?;
    Ok((
        dynamics.map_err(errors::integrator)?,
        slot,
        runs::pool(threads)?,
    ))
}

/// Rayon particle loops for `threads` > 1 with a built-in model (results unchanged); a
/// Python model's loops stay on one thread (its calls hold the GIL anyway).
fn par(threads: usize, model: &AnyLatent) -> Parallelism {
    if threads > 1 && !matches!(model, AnyLatent::Python(_)) {
        Parallelism::Rayon
    } else {
        Parallelism::Sequential
    }
}

/// Momentum particle descent (MPD; see `docs/python.md`).
#[pyclass(name = "MPD", module = "meanfield._core")]
pub struct PyMpd {
    dynamics: Mpd<AnyLatent>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

runs::dynamics_class!(PyMpd, LatentRun, LatentObs, "model" {
    /// MPD on `model` (as for `PGD`) with steps `h_theta`, `h_x`, θ-momentum mass
    /// `eta_theta` and damping `gamma_theta`, particle momentum mass `eta_x` and damping
    /// `gamma_x` (all 1 by default).
    #[new]
    #[pyo3(signature = (model, *, h_theta, h_x, eta_theta=1.0, gamma_theta=1.0, eta_x=1.0,
        gamma_x=1.0, p=None, d=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        model: &Bound<'_, PyAny>,
        h_theta: f64,
        h_x: f64,
        eta_theta: f64,
        gamma_theta: f64,
        eta_x: f64,
        gamma_x: f64,
        p: Option<usize>,
        d: Option<usize>,
        threads: usize,
    ) -> PyResult<Self> {
        let slot = Slot::default();
        let m = self::model(model, p, d, &slot, "MPD", None)?;
        let par = par(threads, &m);
        let params = MpdParams::new(h_theta, h_x)
            .and_then(|q| q.with_theta_momentum(eta_theta, gamma_theta))
            .and_then(|q| q.with_particle_momentum(eta_x, gamma_x))
            .map_err(errors::integrator)?;
        Ok(Self {
            dynamics: Mpd::new(m, params)
                .map_err(errors::integrator)?
                .with_parallelism(par),
            slot,
            pool: runs::pool(threads)?,
        })
    }

    /// A fresh run from the (N, d) particles `x0` with seed `seed` and θ = `theta0`
    /// (shape (p,); the model's default when omitted); momenta m = 0, U^i ~ N(0, I/η_x).
    #[pyo3(signature = (x0, seed=0, theta0=None))]
    fn start(
        &self,
        x0: &Bound<'_, PyAny>,
        seed: u64,
        theta0: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LatentRun> {
        start(&self.dynamics, &self.slot, x0, seed, theta0, self.dynamics.model().theta_dim())
    }
});

/// A resumable particle-EM run: the Rust `Checkpoint<LatentState>`.
#[pyclass(module = "meanfield._core")]
pub struct LatentRun {
    cp: Checkpoint<LatentState>,
}

runs::run_class!(LatentRun {
    /// The parameters θ, a new (p,) array.
    #[getter]
    fn theta<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        arrays::array1(py, &self.cp.state.theta)
    }
    /// MPD's θ-momentum m (None for PGD).
    #[getter]
    fn theta_momentum<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.cp
            .state
            .momenta
            .as_ref()
            .map(|m| arrays::array1(py, &m.theta))
    }
    /// MPD's particle momenta U, a new (N, d) array (None for PGD).
    #[getter]
    fn x_momentum<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.cp
            .state
            .momenta
            .as_ref()
            .map(|m| {
                let e = &m.particles;
                arrays::matrix(py, e.as_slice(), e.n(), e.dim())
            })
            .transpose()
    }
});
