//! `meanfield.FisherRao` and `meanfield.WeightedRun`: the kernelised Fisher–Rao weight
//! flow of V^σ = F + σ KL(· | π) (every kernelisation, Euler or exponentiated steps,
//! resampling, Wasserstein–Fisher–Rao transport), delegating to
//! `meanfield_integrators::FisherRao`.

use meanfield_integrators::{
    Checkpoint, FisherRao, FisherRaoInfo, FisherRaoParams, GaussianReference, Kernelisation,
    PositivityGuard, WeightStep,
};
use meanfield_measures::{Ensemble, Kernel, KernelShape, Parallelism, Weights};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;
use crate::callback::Slot;
use crate::errors;
use crate::functional::{self, AnyFunctional};
use crate::runs::{self, Observe};

/// A snake-case option name parsed by the Rust type's serde form (one list of names).
pub fn option<T: serde::de::DeserializeOwned>(arg: &str, value: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|e| PyValueError::new_err(format!("{arg}: {e}")))
}

/// The weights of a weighted ensemble (uniform when it has none).
fn weights_of(e: &Ensemble) -> Vec<f64> {
    match e.weights() {
        Some(w) => w.as_slice().to_vec(),
        None => vec![1.0 / e.n() as f64; e.n()],
    }
}

/// Observation dicts of Fisher–Rao runs.
struct FisherRaoObs;

impl Observe<Ensemble, FisherRaoInfo> for FisherRaoObs {
    fn state<'py>(py: Python<'py>, s: &Ensemble) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("x", arrays::matrix(py, s.as_slice(), s.n(), s.dim())?)?;
        d.set_item("w", arrays::array1_owned(py, weights_of(s)))?;
        Ok(d)
    }
    fn info<'py>(py: Python<'py>, i: &FisherRaoInfo) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("dt", i.dt)?;
        d.set_item("ess", i.ess)?;
        d.set_item("resampled", i.resampled)?;
        d.set_item("max_rate", i.max_rate)?;
        Ok(d)
    }
}

/// The kernelised Fisher–Rao gradient flow on particle weights (see `docs/python.md`).
#[pyclass(name = "FisherRao", module = "meanfield._core")]
pub struct PyFisherRao {
    dynamics: FisherRao<AnyFunctional>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

runs::dynamics_class!(PyFisherRao, WeightedRun, FisherRaoObs, "functional" {
    /// The flow towards V^σ = F + σ KL(· | π), π = N(`reference_mean`,
    /// `reference_std`² I) (default N(0, I)), with entropy weight `sigma` and step `h`.
    /// `functional` as for `MFLD` (a Python one receives `(X, w)`).
    /// `kernelisation`: `"density_ratio"` (unkernelised; positions must be a π-sample),
    /// `"evolving_measure"`, `"both_measures"`, `"energy"`, `"smoothed_kl"`, with a
    /// `kernel` (`"gaussian"` or `"bump"`) of bandwidth `eps`. `step`: `"exponentiated"`
    /// or `"euler"`; `shrink`: the Euler step's safety factor in (0, 1) (otherwise a
    /// step that would make a weight negative raises `PositivityLostError`).
    /// `resample_below`: systematic resampling when ESS < fraction·N; `transport`: WFR.
    #[new]
    #[pyo3(signature = (functional, *, sigma, h, d=None, reference_mean=None, reference_std=1.0,
        kernelisation="density_ratio", kernel="gaussian", eps=1.0, step="exponentiated",
        shrink=None, resample_below=None, transport=false, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        functional: &Bound<'_, PyAny>,
        sigma: f64,
        h: f64,
        d: Option<usize>,
        reference_mean: Option<&Bound<'_, PyAny>>,
        reference_std: f64,
        kernelisation: &str,
        kernel: &str,
        eps: f64,
        step: &str,
        shrink: Option<f64>,
        resample_below: Option<f64>,
        transport: bool,
        threads: usize,
    ) -> PyResult<Self> {
        let slot = Slot::default();
        let f = functional::from_python(functional, d, 1.0, None, &slot)?;
        let dim = meanfield_energy::Functional::dim(&f);
        let mean = match reference_mean {
            Some(m) => arrays::vector("reference_mean", m, dim)?,
            None => vec![0.0; dim],
        };
        let reference = GaussianReference::new(mean, reference_std).map_err(errors::integrator)?;
        let kernelisation: Kernelisation = option("kernelisation", kernelisation)?;
        let shape: KernelShape = option("kernel", kernel)?;
        let step: WeightStep = option("step", step)?;
        let kernel = Kernel::new(shape, eps, dim).map_err(errors::measures)?;
        let mut params = FisherRaoParams::new(reference, sigma, h)
            .map_err(errors::integrator)?
            .with_kernelisation(kernelisation, kernel)
            .with_step(step);
        if let Some(safety) = shrink {
            params = params
                .with_guard(PositivityGuard::Shrink { safety })
                .map_err(errors::integrator)?;
        }
        if let Some(fraction) = resample_below {
            params = params.with_resampling(fraction).map_err(errors::integrator)?;
        }
        if transport {
            params = params.with_transport();
        }
        let python = f.is_python();
        let mut dynamics = FisherRao::new(f, params).map_err(errors::integrator)?;
        if threads > 1 && !python {
            dynamics = dynamics.with_parallelism(Parallelism::Rayon);
        }
        Ok(Self {
            dynamics,
            slot,
            pool: runs::pool(threads)?,
        })
    }

    /// A fresh run from the (N, d) positions `x0` with weights `w0` (shape (N,), summing
    /// to 1; uniform when omitted) and seed `seed`.
    #[pyo3(signature = (x0, seed=0, w0=None))]
    fn start(
        &self,
        x0: &Bound<'_, PyAny>,
        seed: u64,
        w0: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<WeightedRun> {
        let ens = arrays::weighted_ensemble("x0", x0, w0)?;
        let cp = runs::start(&self.dynamics, ens, seed)?;
        Ok(WeightedRun { cp })
    }

    /// The centred rate a(m^N, X^i) of the flow dW^i/dt = −W^i a_i at the (N, d)
    /// positions `x` with weights `w` (uniform when omitted), shape (N,).
    #[pyo3(signature = (x, w=None))]
    fn rate<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        w: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ens = arrays::weighted_ensemble("x", x, w)?;
        let mut out = vec![0.0; ens.n()];
        self.slot.clear();
        let r = self.dynamics.rate_into(&ens, &mut out);
        if let Some(e) = self.slot.take("functional", 0) {
            return Err(e);
        }
        r.map_err(errors::integrator)?;
        Ok(arrays::array1_owned(py, out))
    }
});

/// A resumable Fisher–Rao run: the Rust `Checkpoint<Ensemble>` of a weighted ensemble.
#[pyclass(module = "meanfield._core")]
pub struct WeightedRun {
    cp: Checkpoint<Ensemble>,
}

runs::run_class!(WeightedRun {
    /// The weights W^i, a new (N,) array summing to 1.
    #[getter]
    fn w<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        arrays::array1(py, &weights_of(&self.cp.state))
    }
    /// The effective sample size 1/Σ W².
    #[getter]
    fn ess(&self) -> f64 {
        self.cp
            .state
            .weights()
            .map_or(self.cp.state.n() as f64, Weights::ess)
    }
});
