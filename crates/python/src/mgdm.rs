//! `meanfield.PathLaw`, `meanfield.FeatureMap` and `meanfield.MGDM`: MGDM / MF-MGDM
//! (microcanonical gradient descent, independent or with group-mean features) with the
//! built-in feature maps and AR / CIR targets and latent laws, delegating to
//! `meanfield_integrators::mgdm` (its `paths` helpers and `run_with_trace`).

use meanfield_diagnostics::ReverseKlTrace;
use meanfield_energy::process::{
    ArProcess, CirProcess, Exponential, StandardGaussian, TruncatedGaussian,
};
use meanfield_energy::{
    Acf1, Draws, EnergyError, FeatureMap, MultiLagAcf, PathLaw, ScaledFeatures,
};
use meanfield_integrators::mgdm::{
    KlRecorder, MgdmRun as TracedRun, feature_mean, log_density_sum, path_feature_mean,
    run_with_trace, sample_paths,
};
use meanfield_integrators::{
    Checkpoint, Control, Coupling, Mgdm, MgdmInfo, MgdmParams, Observation, ObserverResult,
};
use meanfield_measures::ParticleRng;
use meanfield_measures::{Domain, Ensemble, Parallelism, streams};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::callback::{Failure, Slot};
use crate::runs::{self, Observe, RunOptions};
use crate::{arrays, errors};

/// A built-in law of whole paths x ∈ R^T: a target p (AR(p), CIR) or a latent law q₀
/// (i.i.d. N(0, 1), Exp(1), truncated Gaussian).
#[pyclass(name = "PathLaw", module = "meanfield._core", frozen)]
pub struct PyPathLaw {
    law: Box<dyn PathLaw>,
    name: String,
    /// The CIR process, when the law is one (for the matching latent law).
    cir: Option<CirProcess>,
    /// Where a Python law (`PathLaw.python`) parks its callbacks' failures.
    slot: Option<Slot>,
}

impl PyPathLaw {
    fn new(law: impl PathLaw + 'static, name: String) -> Self {
        Self {
            law: Box::new(law),
            name,
            cir: None,
            slot: None,
        }
    }

    fn from_cir(law: CirProcess, name: String) -> Self {
        Self {
            law: Box::new(law.clone()),
            name,
            cir: Some(law),
            slot: None,
        }
    }

    /// The failure a Python law's callback parked (then raised instead of the Rust
    /// error), `what` naming the law's role.
    fn parked(&self, what: &str, step: u64) -> Option<PyErr> {
        self.slot.as_ref().and_then(|s| s.take(what, step))
    }

    /// Forgets a parked failure before a new call.
    fn clear(&self) {
        if let Some(s) = &self.slot {
            s.clear();
        }
    }

    /// The law as a trait object.
    pub fn law(&self) -> &dyn PathLaw {
        self.law.as_ref()
    }

    /// `x` as an (N, T) array of this law's path length (argument `name`).
    fn paths(&self, name: &str, x: &Bound<'_, PyAny>) -> PyResult<(Vec<f64>, usize)> {
        paths_arg(name, x, self.law.len())
    }
}

/// The energy error a parked Python failure turns into (the binding raises the parked
/// exception instead).
fn parked_error() -> EnergyError {
    EnergyError::OutsideDomain {
        particle: 0,
        reason: "a Python path-law callback failed".into(),
    }
}

/// A law of paths given by Python callbacks (`PathLaw.python`): `sample(Z)` maps (n, m)
/// i.i.d. draws (from each path's Rust stream) to (n, T) paths, `log_density(X)` maps
/// (n, T) paths to (n,) log-densities; each is called once per batch of paths.
struct CallbackLaw {
    obj: Py<PyAny>,
    t: usize,
    draws: Draws,
    n_draws: usize,
    non_negative: bool,
    slot: Slot,
}

impl CallbackLaw {
    /// `obj.method(a)` with `a` the (rows, width) matrix `input`, its float64 result of
    /// shape `expect` copied into `out` (NaN or +inf refused); failures are parked.
    fn call(
        &self,
        method: &str,
        input: &[f64],
        width: usize,
        expect: &[usize],
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        if self.slot.failed() {
            return Err(parked_error());
        }
        let rows = input.len() / width.max(1);
        let r = Python::attach(|py| -> Result<(), Failure> {
            let a = arrays::matrix(py, input, rows, width).map_err(Failure::Raised)?;
            let y = self
                .obj
                .bind(py)
                .call_method1(method, (a,))
                .map_err(Failure::Raised)?;
            let arr = y.cast::<PyArrayDyn<f64>>().map_err(|_| {
                Failure::Invalid(format!(
                    "law.{method} must return a float64 array of shape {expect:?}"
                ))
            })?;
            if arr.shape() != expect {
                return Err(Failure::Invalid(format!(
                    "law.{method} returned shape {:?}, expected {expect:?}",
                    arr.shape()
                )));
            }
            let ro = arr.readonly();
            for (o, &v) in out.iter_mut().zip(ro.as_array().iter()) {
                *o = v;
            }
            let bad = |v: &f64| {
                v.is_nan() || (method == "sample" && !v.is_finite()) || *v == f64::INFINITY
            };
            if let Some(i) = out.iter().position(bad) {
                return Err(Failure::Invalid(format!(
                    "law.{method} returned {} at entry {i}",
                    out[i]
                )));
            }
            Ok(())
        });
        r.map_err(|f| {
            self.slot.park(f);
            parked_error()
        })
    }
}

impl PathLaw for CallbackLaw {
    fn len(&self) -> usize {
        self.t
    }

    fn log_density(&self, x: &[f64]) -> meanfield_energy::Result<f64> {
        let mut v = [0.0];
        self.log_densities(x, &mut v).unwrap_or(Ok(()))?;
        Ok(v[0])
    }

    fn sample(&self, rng: &mut ParticleRng, out: &mut [f64]) -> meanfield_energy::Result<()> {
        self.check_path_len(out.len())?;
        self.sample_many(std::slice::from_mut(rng), out)
            .unwrap_or(Ok(()))
    }

    fn log_densities(&self, x: &[f64], out: &mut [f64]) -> Option<meanfield_energy::Result<()>> {
        Some((|| {
            for row in x.chunks_exact(self.t) {
                self.check_path(row)?;
            }
            self.call("log_density", x, self.t, &[out.len()], out)
        })())
    }

    fn sample_many(
        &self,
        rngs: &mut [ParticleRng],
        out: &mut [f64],
    ) -> Option<meanfield_energy::Result<()>> {
        let m = self.n_draws;
        let mut z = vec![0.0; rngs.len() * m];
        for (rng, row) in rngs.iter_mut().zip(z.chunks_exact_mut(m.max(1))) {
            self.draws.fill(rng, row);
        }
        Some(self.call("sample", &z, m, &[rngs.len(), self.t], out))
    }

    fn non_negative(&self) -> bool {
        self.non_negative
    }
}

/// An (N, T) float64 array of paths of length `t` from the argument `name`.
fn paths_arg(name: &str, x: &Bound<'_, PyAny>, t: usize) -> PyResult<(Vec<f64>, usize)> {
    let (data, dims) = arrays::float_array(name, x, &["N", "T"])?;
    if dims[0] == 0 || dims[1] != t {
        return Err(PyValueError::new_err(format!(
            "{name}: expected shape (N, {t}) with N ≥ 1, got {dims:?}"
        )));
    }
    Ok((data, dims[0]))
}

/// The failure a Python latent or target law parked during a call that ended in `err`
/// (the step is the error's, when it names one); clears both slots.
fn parked_law(
    latent: Option<&PyPathLaw>,
    target: Option<&PyPathLaw>,
    err: Option<&meanfield_integrators::IntegratorError>,
) -> Option<PyErr> {
    let step = match err {
        Some(meanfield_integrators::IntegratorError::Energy { step, .. }) => *step,
        _ => 0,
    };
    let mut first = None;
    for (what, law) in [("latent law", latent), ("target law", target)] {
        if let Some(e) = law.and_then(|l| l.parked(what, step)) {
            first.get_or_insert(e);
        }
    }
    first
}

/// Both laws have the feature map's path length `t` (a `ValueError` naming the law).
fn check_lengths(t: usize, latent: Option<&PyPathLaw>, target: Option<&PyPathLaw>) -> PyResult<()> {
    for (arg, law) in [("latent", latent), ("target", target)] {
        if let Some(l) = law
            && l.law().len() != t
        {
            return Err(PyValueError::new_err(format!(
                "{arg}: path length {} but the feature map's is {t}",
                l.law().len()
            )));
        }
    }
    Ok(())
}

#[pymethods]
impl PyPathLaw {
    /// Stationary Gaussian AR(p) paths x_t = Σ_j a_j x_{t−j} + σ ε_t of length `t` with
    /// unit stationary variance (`coeffs` = (a_1, …, a_p)).
    #[staticmethod]
    fn ar(coeffs: Vec<f64>, t: usize) -> PyResult<Self> {
        let law = ArProcess::new(&coeffs, t).map_err(errors::energy)?;
        Ok(Self::new(law, format!("ar({coeffs:?}, T={t})")))
    }

    /// The stationary CIR process dX = κ(θ − X)dt + σ√X dW sampled every `dt` (exact
    /// non-central χ² transitions), paths of length `t`.
    #[staticmethod]
    fn cir(kappa: f64, theta: f64, sigma: f64, dt: f64, t: usize) -> PyResult<Self> {
        let law = CirProcess::new(kappa, theta, sigma, dt, t).map_err(errors::energy)?;
        Ok(Self::from_cir(
            law,
            format!("cir(kappa={kappa}, theta={theta}, sigma={sigma}, dt={dt}, T={t})"),
        ))
    }

    /// The paper's case CIR0 (`CirProcess::cir0`).
    #[staticmethod]
    fn cir0(t: usize) -> PyResult<Self> {
        let law = CirProcess::cir0(t).map_err(errors::energy)?;
        Ok(Self::from_cir(law, format!("cir0(T={t})")))
    }

    /// The paper's case CIR1 (`CirProcess::cir1`).
    #[staticmethod]
    fn cir1(t: usize) -> PyResult<Self> {
        let law = CirProcess::cir1(t).map_err(errors::energy)?;
        Ok(Self::from_cir(law, format!("cir1(T={t})")))
    }

    /// i.i.d. N(0, 1) coordinates (the latent law of the AR cases).
    #[staticmethod]
    fn standard_gaussian(t: usize) -> PyResult<Self> {
        let law = StandardGaussian::new(t).map_err(errors::energy)?;
        Ok(Self::new(law, format!("standard_gaussian(T={t})")))
    }

    /// i.i.d. Exp(1) coordinates (the latent law of CIR0).
    #[staticmethod]
    fn exponential(t: usize) -> PyResult<Self> {
        let law = Exponential::new(t).map_err(errors::energy)?;
        Ok(Self::new(law, format!("exponential(T={t})")))
    }

    /// i.i.d. N(mu, s²) truncated to [0, ∞) coordinates (the latent law of CIR1 is
    /// `truncated_gaussian_matching(cir)`).
    #[staticmethod]
    fn truncated_gaussian(t: usize, mu: f64, s: f64) -> PyResult<Self> {
        let law = TruncatedGaussian::new(t, mu, s).map_err(errors::energy)?;
        Ok(Self::new(
            law,
            format!("truncated_gaussian(T={t}, mu={mu}, s={s})"),
        ))
    }

    /// The truncated Gaussian with the stationary mean and standard deviation of the CIR
    /// law `cir`, same T (`TruncatedGaussian::matching_stationary`; CIR1's latent law).
    #[staticmethod]
    fn truncated_gaussian_matching(cir: &PyPathLaw) -> PyResult<Self> {
        let c = cir.cir.as_ref().ok_or_else(|| {
            PyValueError::new_err(format!("cir: expected a CIR law, got PathLaw.{}", cir.name))
        })?;
        let law = TruncatedGaussian::matching_stationary(c).map_err(errors::energy)?;
        let name = format!(
            "truncated_gaussian(T={}, mu={}, s={})",
            c.len(),
            law.mu(),
            law.scale()
        );
        Ok(Self::new(law, name))
    }

    /// A law given by Python callbacks on whole batches of paths: `law.sample(Z)` maps
    /// the (n, `n_draws`) array Z of i.i.d. `draws` (`"normal"` N(0, 1), `"uniform"`
    /// U(0, 1), `"exponential"` Exp(1); row j from path j's Rust stream, so paths are
    /// reproducible and thread-count independent) to (n, `t`) paths, and
    /// `law.log_density(X)` maps (n, `t`) paths to (n,) values of log p (−inf outside
    /// the support). Each is called once per batch, never per path. `non_negative`:
    /// the law lives on [0, ∞)^T (MGDM then projects). `name` identifies the law in
    /// traced checkpoints.
    #[staticmethod]
    #[pyo3(signature = (law, t, *, n_draws, draws="normal", non_negative=false, name="python"))]
    fn python(
        law: Py<PyAny>,
        t: usize,
        n_draws: usize,
        draws: &str,
        non_negative: bool,
        name: &str,
    ) -> PyResult<Self> {
        let draws = match draws {
            "normal" => Draws::StandardNormal,
            "uniform" => Draws::Uniform,
            "exponential" => Draws::Exponential,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "draws: expected \"normal\", \"uniform\" or \"exponential\", got {draws:?}"
                )));
            }
        };
        if t == 0 || n_draws == 0 {
            return Err(PyValueError::new_err(format!(
                "t, n_draws: expected ≥ 1 each, got t = {t}, n_draws = {n_draws}"
            )));
        }
        Python::attach(|py| -> PyResult<()> {
            for m in ["sample", "log_density"] {
                if !law.bind(py).hasattr(m)? {
                    return Err(PyValueError::new_err(format!(
                        "law: a Python path law needs a method {m}"
                    )));
                }
            }
            Ok(())
        })?;
        let slot = Slot::default();
        let cb = CallbackLaw {
            obj: law,
            t,
            draws,
            n_draws,
            non_negative,
            slot: slot.clone(),
        };
        let mut me = Self::new(cb, format!("python({name}, T={t})"));
        me.slot = Some(slot);
        Ok(me)
    }

    /// Path length T.
    #[getter]
    fn t(&self) -> usize {
        self.law.len()
    }

    /// Whether the law lives on [0, ∞)^T (then MGDM towards it projects onto x ≥ 0).
    #[getter]
    fn non_negative(&self) -> bool {
        self.law.non_negative()
    }

    /// `n` independent paths (n, T): path j from the stream (seed, purpose, 0, j) with
    /// purpose `"latent"` (`streams::MGDM_LATENT`), `"alpha"` or `"reference"`.
    #[pyo3(signature = (n, seed=0, purpose="latent"))]
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
        purpose: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let purpose = match purpose {
            "latent" => streams::MGDM_LATENT,
            "alpha" => streams::MGDM_ALPHA,
            "reference" => streams::MGDM_REFERENCE,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "purpose: expected \"latent\", \"alpha\" or \"reference\", got {purpose:?}"
                )));
            }
        };
        if n == 0 {
            return Err(PyValueError::new_err("n: expected ≥ 1 paths, got 0"));
        }
        let law = self.law.as_ref();
        self.clear();
        let x = py.detach(|| sample_paths(law, n, seed, purpose));
        if let Some(e) = self.parked("law", 0) {
            return Err(e);
        }
        arrays::matrix_owned(py, x.map_err(errors::integrator)?, n, law.len())
    }

    /// Σ_i log p(x_i) over the rows of the (N, T) array `x` (−inf outside the support).
    fn log_density_sum(&self, py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<f64> {
        let (x, _) = self.paths("x", x)?;
        self.clear();
        let law = self.law.as_ref();
        let r = py.detach(|| log_density_sum(law, &x));
        if let Some(e) = self.parked("law", 0) {
            return Err(e);
        }
        r.map_err(errors::energy)
    }

    fn __repr__(&self) -> String {
        format!("PathLaw.{}", self.name)
    }
}

/// The built-in feature maps Φ: R^T → R^K, plain or rescaled (`ScaledFeatures`).
#[derive(Clone, Debug)]
enum AnyMap {
    Acf1(Acf1),
    MultiLag(MultiLagAcf),
    ScaledAcf1(ScaledFeatures<Acf1>),
    ScaledMultiLag(ScaledFeatures<MultiLagAcf>),
}

/// Calls `$body` with `$m` bound to the concrete feature map.
macro_rules! with_map {
    ($map:expr, $m:ident => $body:expr) => {
        match $map {
            AnyMap::Acf1($m) => $body,
            AnyMap::MultiLag($m) => $body,
            AnyMap::ScaledAcf1($m) => $body,
            AnyMap::ScaledMultiLag($m) => $body,
        }
    };
}

/// An owned copy of the map `with_map!` binds by reference (the plain maps are `Copy`,
/// the scaled ones own their scales).
fn owned<F: Clone>(m: &F) -> F {
    m.clone()
}

/// A built-in feature map Φ: R^T → R^K of MGDM.
#[pyclass(name = "FeatureMap", module = "meanfield._core", frozen)]
pub struct PyFeatureMap {
    map: AnyMap,
}

#[pymethods]
impl PyFeatureMap {
    /// Φ₁ = (1/T) Σ_t x_t x_{t−1}, Φ₂ = (1/T) Σ_{t≥1} x_t² (K = 2): the paper's ACF(1) features.
    #[staticmethod]
    fn acf1(t: usize) -> PyResult<Self> {
        Ok(Self {
            map: AnyMap::Acf1(Acf1::new(t).map_err(errors::energy)?),
        })
    }

    /// [m₁, m₃] (the means of x and x³, only when `moments`), then the autocovariances a₀ … a_L of x and b₀ … b_L of x² at lags 0..=L = `max_lag` (docs/mgdm.md §3).
    #[staticmethod]
    #[pyo3(signature = (t, max_lag, moments=false))]
    fn multi_lag(t: usize, max_lag: usize, moments: bool) -> PyResult<Self> {
        Ok(Self {
            map: AnyMap::MultiLag(MultiLagAcf::new(t, max_lag, moments).map_err(errors::energy)?),
        })
    }

    /// Φ'_k = s_k Φ_k: this map with every feature multiplied by its scale `scale` (K,),
    /// each finite and > 0 (`ScaledFeatures`; balances features of very different sizes
    /// in ½‖Φ̄' − α'‖², docs/mgdm.md). A scaled map cannot be scaled again (scale the
    /// inner map once by the product instead).
    fn scaled(&self, scale: &Bound<'_, PyAny>) -> PyResult<Self> {
        let s = arrays::vector("scale", scale, self.k())?;
        let map = match &self.map {
            AnyMap::Acf1(m) => {
                AnyMap::ScaledAcf1(ScaledFeatures::new(*m, s).map_err(errors::energy)?)
            }
            AnyMap::MultiLag(m) => {
                AnyMap::ScaledMultiLag(ScaledFeatures::new(*m, s).map_err(errors::energy)?)
            }
            AnyMap::ScaledAcf1(_) | AnyMap::ScaledMultiLag(_) => {
                return Err(PyValueError::new_err(
                    "scale: this FeatureMap is already scaled; scale its inner map once",
                ));
            }
        };
        Ok(Self { map })
    }

    /// Path length T.
    #[getter]
    fn t(&self) -> usize {
        with_map!(&self.map, m => m.len())
    }

    /// Number of features K.
    #[getter]
    fn k(&self) -> usize {
        with_map!(&self.map, m => m.n_features())
    }

    /// The target α = (1/M) Σ_j Φ(x_j) over M = `n_samples` independent paths of `law`
    /// (path j from the stream (seed, MGDM_ALPHA, 0, j)); shape (K,).
    #[pyo3(signature = (law, n_samples, seed=0))]
    fn target_mean<'py>(
        &self,
        py: Python<'py>,
        law: &PyPathLaw,
        n_samples: usize,
        seed: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let l = law.law();
        law.clear();
        let a = py.detach(|| with_map!(&self.map, m => feature_mean(m, l, n_samples, seed)));
        if let Some(e) = law.parked("law", 0) {
            return Err(e);
        }
        Ok(arrays::array1_owned(py, a.map_err(errors::integrator)?))
    }

    /// The mean feature vector (1/N) Σ_i Φ(x_i) over the rows of the (N, T) array `x`.
    fn mean<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (x, _) = paths_arg("x", x, self.t())?;
        let a = with_map!(&self.map, m => path_feature_mean(m, &x)).map_err(errors::energy)?;
        Ok(arrays::array1_owned(py, a))
    }

    fn __repr__(&self) -> String {
        with_map!(&self.map, m => format!("FeatureMap({})", m.name()))
    }
}

/// The coupling from Python: `"independent"` (MGDM), `"mean_field"` (MF-MGDM, one group
/// of all N paths) or an int G (MF-MGDM in groups of G consecutive paths).
fn coupling(obj: &Bound<'_, PyAny>) -> PyResult<Option<Coupling>> {
    if let Ok(g) = obj.extract::<usize>() {
        return Ok(Some(Coupling::Groups(g)));
    }
    match obj.extract::<String>().as_deref() {
        Ok("independent") => Ok(Some(Coupling::Independent)),
        Ok("mean_field") => Ok(None),
        _ => Err(PyValueError::new_err(
            "coupling: expected \"independent\", \"mean_field\" or a group size (int)",
        )),
    }
}

/// Observation dicts of MGDM runs.
struct MgdmObs;

impl Observe<Ensemble, MgdmInfo> for MgdmObs {
    fn state<'py>(py: Python<'py>, s: &Ensemble) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("x", arrays::matrix(py, s.as_slice(), s.n(), s.dim())?)?;
        Ok(d)
    }
    fn info<'py>(py: Python<'py>, i: &MgdmInfo) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("dt", i.dt)?;
        d.set_item("log_det", i.log_det)?;
        d.set_item("negative_dets", i.negative_dets)?;
        d.set_item("frozen", i.frozen)?;
        Ok(d)
    }
}

/// The trace dict of both run paths: `kl`, `entropy`, `cumulative_log_det`,
/// `target_loglik` (steps + 1,), `min_kl`, `argmin`, `frozen`.
fn trace_dict<'py>(
    py: Python<'py>,
    tr: &ReverseKlTrace,
    frozen: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let (argmin, min) = tr.min();
    d.set_item("kl", arrays::array1_owned(py, tr.kl()))?;
    d.set_item("entropy", arrays::array1_owned(py, tr.entropy()))?;
    d.set_item(
        "cumulative_log_det",
        arrays::array1(py, tr.cumulative_log_det()),
    )?;
    d.set_item("target_loglik", arrays::array1(py, tr.target_loglik()))?;
    d.set_item("min_kl", min)?;
    d.set_item("argmin", argmin)?;
    d.set_item("frozen", frozen)?;
    Ok(d)
}

/// MGDM / MF-MGDM (see `docs/python.md` and `docs/mgdm.md`).
#[pyclass(name = "MGDM", module = "meanfield._core")]
pub struct PyMgdm {
    map: AnyMap,
    alpha: Vec<f64>,
    gamma: f64,
    coupling: Option<Coupling>,
    project: Option<bool>,
    pool: rayon::ThreadPool,
}

impl PyMgdm {
    /// The parameters for N paths (`"mean_field"` is one group of N) with the positivity
    /// projection `project`.
    fn params(&self, n: usize, project: bool) -> PyResult<MgdmParams> {
        MgdmParams::new(self.gamma)
            .and_then(|p| p.with_coupling(self.coupling.unwrap_or(Coupling::Groups(n))))
            .map(|p| p.with_projection(project))
            .map_err(errors::integrator)
    }

    /// Whether the positivity projection is on: as set, else on for a non-negative
    /// `target` of the trace.
    fn project_for(&self, target: Option<&PyPathLaw>) -> bool {
        self.project
            .unwrap_or_else(|| target.is_some_and(|p| p.law().non_negative()))
    }

    /// The Runner path of `run`: advances the checkpoint `run` under `opts`, recording
    /// the reverse-KL trace of a traced run (`KlRecorder`, first of all observers).
    fn advance<'py>(
        &self,
        py: Python<'py>,
        run: &mut MgdmRun,
        opts: RunOptions,
    ) -> PyResult<Bound<'py, PyDict>> {
        let target_obj = run
            .kl
            .as_ref()
            .and_then(|k| k.target.as_ref())
            .map(|t| t.clone_ref(py));
        let target = target_obj.as_ref().map(|t| t.get());
        let params = self.params(run.cp.state.n(), self.project_for(target))?;
        let slot = Slot::default();
        let target = target.map(PyPathLaw::law);
        let mut record = run.kl.as_mut().map(|k| {
            let rec = &mut k.rec;
            move |o: &Observation<'_, Ensemble, MgdmInfo>| -> ObserverResult {
                // Step 0 (and a resumed run's first observation) carries no step info.
                if let Some(i) = o.info {
                    rec.record(i.log_det, i.frozen, o.state.as_slice(), target)?;
                }
                Ok(Control::Continue)
            }
        });
        with_map!(&self.map, m => {
            let mut mgdm = Mgdm::new(owned(m), self.alpha.clone(), params)
                .map_err(errors::integrator)?
                .with_parallelism(Parallelism::Rayon);
            let hook = record.as_mut().map(|r| r as runs::Recorder<'_, Ensemble, MgdmInfo>);
            let s = runs::run_recorded::<_, MgdmObs>(
                py, "features", &mut mgdm, &mut run.cp, opts, &slot, Some(&self.pool), hook,
            );
            if let Some(e) = parked_law(None, target_obj.as_ref().map(|t| t.get()), None) {
                return Err(e);
            }
            runs::summary::<_, MgdmObs>(py, &mgdm, &s?)
        })
    }

    /// The trace path of `run`: `steps` steps from the paths `x0` with the reverse-KL
    /// trace (the dict of the class docs).
    fn trace<'py>(
        &self,
        py: Python<'py>,
        x0: &Bound<'py, PyAny>,
        steps: u64,
        latent: &PyPathLaw,
        target: Option<&PyPathLaw>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let t = with_map!(&self.map, m => m.len());
        let (x0, n) = paths_arg("x0", x0, t)?;
        check_lengths(t, Some(latent), target)?;
        let params = self.params(n, self.project_for(target))?;
        let laws = (latent, target);
        let (latent, target) = (latent.law(), target.map(PyPathLaw::law));
        let (alpha, map, pool) = (&self.alpha, &self.map, &self.pool);
        let run: meanfield_integrators::Result<TracedRun> = py.detach(|| {
            pool.install(|| {
                with_map!(map, m => {
                    let mut mgdm = Mgdm::new(owned(m), alpha.clone(), params)?
                        .with_parallelism(Parallelism::Rayon);
                    run_with_trace(&mut mgdm, &x0, target, latent, steps, |_| {})
                })
            })
        });
        if let Some(e) = parked_law(Some(laws.0), laws.1, run.as_ref().err()) {
            return Err(e);
        }
        let run = run.map_err(errors::integrator)?;
        let d = trace_dict(py, &run.trace, run.frozen)?;
        // The run's buffers become the arrays (no copy).
        d.set_item("x", arrays::matrix_owned(py, run.paths, n, t)?)?;
        d.set_item(
            "x_at_min",
            arrays::matrix_owned(py, run.paths_at_min, n, t)?,
        )?;
        Ok(d)
    }
}

#[pymethods]
impl PyMgdm {
    /// Gradient descent of ½‖Φ̄ − α‖² on N paths with step `gamma`: Φ̄ is each path's own
    /// Φ(x_i) (`coupling="independent"`, MGDM) or the mean of Φ over its group
    /// (`"mean_field"`: all N paths; an int G: groups of G), `alpha` of shape (K,).
    /// `project` switches the positivity projection on or off (default: on for a
    /// non-negative `target` of the trace path, off for runs from `start`).
    #[new]
    #[pyo3(signature = (features, alpha, gamma, *, coupling=None, project=None, threads=1))]
    fn new(
        features: &PyFeatureMap,
        alpha: &Bound<'_, PyAny>,
        gamma: f64,
        coupling: Option<&Bound<'_, PyAny>>,
        project: Option<bool>,
        threads: usize,
    ) -> PyResult<Self> {
        let k = with_map!(&features.map, m => m.n_features());
        let alpha = arrays::vector("alpha", alpha, k)?;
        let coupling = match coupling {
            None => None,
            Some(c) => self::coupling(c)?,
        };
        MgdmParams::new(gamma).map_err(errors::integrator)?;
        let pool = match runs::pool(threads)? {
            Some(p) => p,
            // One thread: MGDM always runs its loops inside its own pool.
            None => rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .map_err(|e| {
                    pyo3::exceptions::PyOSError::new_err(format!("cannot start 1 thread: {e}"))
                })?,
        };
        Ok(Self {
            map: features.map.clone(),
            alpha,
            gamma,
            coupling,
            project,
            pool,
        })
    }

    /// A resumable run (`MgdmRun`) from the (N, T) paths `x0` (the latent sample), for
    /// `run(run, steps, …)` with the Runner's options and checkpoints. With `latent`
    /// (the law q0 of `x0`) the run records the reverse-KL trace against `target` (None:
    /// KL = −entropy) at every step of every `run` call (`run.trace`), bitwise the trace
    /// path's. The dynamics is deterministic: no seed keys any draw.
    #[pyo3(signature = (x0, *, latent=None, target=None))]
    fn start(
        &self,
        x0: &Bound<'_, PyAny>,
        latent: Option<&Bound<'_, PyPathLaw>>,
        target: Option<&Bound<'_, PyPathLaw>>,
    ) -> PyResult<MgdmRun> {
        let t = with_map!(&self.map, m => m.len());
        let (x, n) = paths_arg("x0", x0, t)?;
        check_lengths(t, latent.map(|l| l.get()), target.map(|l| l.get()))?;
        let kl = match latent {
            None if target.is_some() => {
                return Err(PyValueError::new_err(
                    "latent: a trace against `target` needs the latent law q0 of x0",
                ));
            }
            None => None,
            Some(l) => {
                let tl = target.map(|p| p.get().law());
                let rec = KlRecorder::start(&x, tl, l.get().law());
                if let Some(e) = parked_law(Some(l.get()), target.map(|p| p.get()), None) {
                    return Err(e);
                }
                let rec = rec.map_err(|e| errors::integrator_arg("x0", e))?;
                Some(Trace {
                    rec,
                    target: target.map(|p| p.clone().unbind()),
                })
            }
        };
        let ens = Ensemble::new(n, t, x, Domain::Euclidean).map_err(errors::measures)?;
        let params = self.params(n, self.project_for(target.map(|p| p.get())))?;
        let cp = with_map!(&self.map, m => {
            let mgdm = Mgdm::new(owned(m), self.alpha.clone(), params).map_err(errors::integrator)?;
            runs::start(&mgdm, ens, 0)?
        });
        Ok(MgdmRun { cp, kl })
    }

    /// Two ways to run, both bitwise the Rust API's:
    ///
    /// - `run(x0, steps, latent=q0, target=p)`: `steps` steps from the latent sample `x0`
    ///   (N, T), tracking the reverse KL KL_k(q_k ‖ p) per path exactly from the step
    ///   log-determinants (without `target` the target parts are 0 and `kl` is
    ///   −entropy). Returns a dict: `kl`, `entropy`, `cumulative_log_det`,
    ///   `target_loglik` (steps + 1,), `min_kl`, `argmin`, `x` and `x_at_min` (N, T),
    ///   `frozen`.
    /// - `run(run, steps, *, energy_tol, stagnation, ess_below, time_budget, stop_when,
    ///   observers, progress)` with an `MgdmRun` from `start`: the Runner's options as for
    ///   every other family (observations: state `x`, info `dt`, `log_det`,
    ///   `negative_dets`, `frozen`); returns the run summary. MGDM reports no energy or
    ///   ESS, so `energy_tol` and `ess_below` raise `UnsupportedStopError`.
    #[pyo3(signature = (run, steps, *, latent=None, target=None, energy_tol=None,
        stagnation=None, ess_below=None, time_budget=None, stop_when=None, observers=None,
        progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        run: &Bound<'py, PyAny>,
        steps: u64,
        latent: Option<&PyPathLaw>,
        target: Option<&PyPathLaw>,
        energy_tol: Option<f64>,
        stagnation: Option<(f64, u64)>,
        ess_below: Option<f64>,
        time_budget: Option<f64>,
        stop_when: Option<Py<PyAny>>,
        observers: Option<Vec<(u64, Py<PyAny>)>>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        if let Ok(r) = run.cast::<MgdmRun>() {
            if latent.is_some() || target.is_some() {
                return Err(PyValueError::new_err(
                    "latent, target: a run's trace laws are given to MGDM.start(x0, latent=…, target=…)",
                ));
            }
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
            let mut r: PyRefMut<'_, MgdmRun> = r.try_borrow_mut().map_err(PyErr::from)?;
            return self.advance(py, &mut r, opts);
        }
        let runner_options = energy_tol.is_some()
            || stagnation.is_some()
            || ess_below.is_some()
            || time_budget.is_some()
            || stop_when.is_some()
            || observers.is_some()
            || progress.is_some();
        if runner_options {
            return Err(PyValueError::new_err(
                "run: the Runner's options need an MgdmRun (MGDM.start(x0)); the trace path run(x0, steps, latent=…) takes none",
            ));
        }
        let Some(latent) = latent else {
            return Err(PyValueError::new_err(
                "latent: run(x0, steps) needs the latent law q0 of x0 for the reverse-KL trace (or pass an MgdmRun from start)",
            ));
        };
        self.trace(py, run, steps, latent, target)
    }

    /// The fingerprint stored in the checkpoints of runs of N = `n` paths (a run is
    /// refused by dynamics with another fingerprint).
    fn fingerprint(&self, n: usize) -> PyResult<String> {
        let params = self.params(n, self.project.unwrap_or(false))?;
        Ok(with_map!(&self.map, m => {
            let mgdm = Mgdm::new(owned(m), self.alpha.clone(), params).map_err(errors::integrator)?;
            meanfield_integrators::Dynamics::fingerprint(&mgdm)
        }))
    }

    /// The target α (K,).
    #[getter]
    fn alpha<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        arrays::array1(py, &self.alpha)
    }
}

/// The reverse-KL trace a run records: the recorder and the target law (None: KL =
/// −entropy).
struct Trace {
    rec: KlRecorder,
    target: Option<Py<PyPathLaw>>,
}

/// The JSON of a traced run: the checkpoint, the recorder and the target law's name
/// (the law itself is given again on loading and checked against the name).
#[derive(serde::Serialize, serde::Deserialize)]
struct TracedJson {
    checkpoint: serde_json::Value,
    kl_trace: KlRecorder,
    target: Option<String>,
}

/// A resumable MGDM / MF-MGDM run: the Rust `Checkpoint<Ensemble>` of the (N, T) paths
/// and, when started with a latent law, its reverse-KL trace (`KlRecorder`).
#[pyclass(module = "meanfield._core")]
pub struct MgdmRun {
    cp: Checkpoint<Ensemble>,
    kl: Option<Trace>,
}

/// A malformed traced checkpoint as a `CheckpointError`.
fn json_error(e: impl std::fmt::Display) -> PyErr {
    errors::integrator(meanfield_integrators::IntegratorError::Checkpoint(
        e.to_string(),
    ))
}

impl MgdmRun {
    /// The JSON of `to_json` / `save`.
    fn json(&self, py: Python<'_>) -> PyResult<String> {
        let cp = runs::to_json(&self.cp)?;
        let Some(k) = &self.kl else {
            return Ok(cp);
        };
        let j = TracedJson {
            checkpoint: serde_json::from_str(&cp).map_err(json_error)?,
            kl_trace: k.rec.clone(),
            target: k.target.as_ref().map(|t| t.bind(py).get().name.clone()),
        };
        serde_json::to_string(&j).map_err(json_error)
    }

    /// The run of `from_json` / `load`: a plain checkpoint, or a traced one whose target
    /// law is given again and whose trace matches its checkpoint (paths, steps).
    fn parse(s: &str, target: Option<&Bound<'_, PyPathLaw>>) -> PyResult<Self> {
        let v: serde_json::Value = serde_json::from_str(s).map_err(json_error)?;
        if v.get("kl_trace").is_none() {
            if target.is_some() {
                return Err(PyValueError::new_err(
                    "target: this checkpoint has no reverse-KL trace",
                ));
            }
            return Ok(Self {
                cp: runs::from_json(s)?,
                kl: None,
            });
        }
        let j: TracedJson = serde_json::from_value(v).map_err(json_error)?;
        let given = target.map(|t| t.get().name.clone());
        if given != j.target {
            return Err(PyValueError::new_err(format!(
                "target: the trace was recorded against {}, got {}",
                j.target
                    .map_or("no target".into(), |n| format!("PathLaw.{n}")),
                given.map_or("none".into(), |n| format!("PathLaw.{n}")),
            )));
        }
        let cp: Checkpoint<Ensemble> = runs::from_json(&j.checkpoint.to_string())?;
        let rec = &j.kl_trace;
        if rec.paths_at_min().len() != cp.state.as_slice().len()
            || rec.trace().steps() as u64 != cp.step
        {
            return Err(json_error(format!(
                "kl_trace: {} steps of {} path values, the checkpoint has {} steps of {}",
                rec.trace().steps(),
                rec.paths_at_min().len(),
                cp.step,
                cp.state.as_slice().len()
            )));
        }
        Ok(Self {
            cp,
            kl: Some(Trace {
                rec: j.kl_trace,
                target: target.map(|t| t.clone().unbind()),
            }),
        })
    }
}

runs::run_class!(MgdmRun, own_json {
    /// The checkpoint as a JSON string (floats round-trip exactly): the Rust
    /// `Checkpoint` JSON, or for a traced run `{"checkpoint", "kl_trace", "target"}`
    /// (the recorder's per-step inputs and the target law's name).
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        self.json(py)
    }
    /// A run from a JSON string written by `to_json`; a traced run needs its target law
    /// again (`target`, checked against the recorded name).
    #[staticmethod]
    #[pyo3(signature = (s, *, target=None))]
    fn from_json(s: &str, target: Option<&Bound<'_, PyPathLaw>>) -> PyResult<Self> {
        Self::parse(s, target)
    }
    /// Writes the checkpoint JSON to `path`.
    fn save(&self, py: Python<'_>, path: &str) -> PyResult<()> {
        runs::write_text(path, &self.json(py)?)
    }
    /// Reads a run from a checkpoint file written by `save` (`target` as for `from_json`).
    #[staticmethod]
    #[pyo3(signature = (path, *, target=None))]
    fn load(path: &str, target: Option<&Bound<'_, PyPathLaw>>) -> PyResult<Self> {
        Self::parse(&runs::read_text(path)?, target)
    }
    /// The reverse-KL trace recorded so far (None for a run started without `latent`):
    /// a dict `kl`, `entropy`, `cumulative_log_det`, `target_loglik` (step + 1,),
    /// `min_kl`, `argmin`, `frozen` and `x_at_min` (N, T), as the trace path returns.
    #[getter]
    fn trace<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(k) = &self.kl else {
            return Ok(None);
        };
        let d = trace_dict(py, k.rec.trace(), k.rec.frozen())?;
        let (n, t) = (self.cp.state.n(), self.cp.state.dim());
        d.set_item("x_at_min", arrays::matrix(py, k.rec.paths_at_min(), n, t)?)?;
        Ok(Some(d))
    }
});
