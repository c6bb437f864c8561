//! `meanfield.PathLaw`, `meanfield.FeatureMap` and `meanfield.MGDM`: MGDM / MF-MGDM
//! (microcanonical gradient descent, independent or with group-mean features) with the
//! built-in feature maps and AR / CIR targets and latent laws, delegating to
//! `meanfield_integrators::mgdm` (its `paths` helpers and `run_with_trace`).

use meanfield_energy::process::{
    ArProcess, CirProcess, Exponential, StandardGaussian, TruncatedGaussian,
};
use meanfield_energy::{Acf1, FeatureMap, MultiLagAcf, PathLaw};
use meanfield_integrators::mgdm::{
    MgdmRun as TracedRun, feature_mean, log_density_sum, path_feature_mean, run_with_trace,
    sample_paths,
};
use meanfield_integrators::{Checkpoint, Coupling, Mgdm, MgdmInfo, MgdmParams};
use meanfield_measures::{Domain, Ensemble, Parallelism, streams};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::callback::Slot;
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
}

impl PyPathLaw {
    fn new(law: impl PathLaw + 'static, name: String) -> Self {
        Self {
            law: Box::new(law),
            name,
            cir: None,
        }
    }

    fn from_cir(law: CirProcess, name: String) -> Self {
        Self {
            law: Box::new(law.clone()),
            name,
            cir: Some(law),
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
        let x = py
            .detach(|| sample_paths(law, n, seed, purpose))
            .map_err(errors::integrator)?;
        arrays::matrix_owned(py, x, n, law.len())
    }

    /// Σ_i log p(x_i) over the rows of the (N, T) array `x` (−inf outside the support).
    fn log_density_sum(&self, x: &Bound<'_, PyAny>) -> PyResult<f64> {
        let (x, _) = self.paths("x", x)?;
        log_density_sum(self.law.as_ref(), &x).map_err(errors::energy)
    }

    fn __repr__(&self) -> String {
        format!("PathLaw.{}", self.name)
    }
}

/// The built-in feature maps Φ: R^T → R^K.
#[derive(Clone, Copy, Debug)]
enum AnyMap {
    Acf1(Acf1),
    MultiLag(MultiLagAcf),
}

/// Calls `$body` with `$m` bound to the concrete feature map.
macro_rules! with_map {
    ($map:expr, $m:ident => $body:expr) => {
        match $map {
            AnyMap::Acf1($m) => $body,
            AnyMap::MultiLag($m) => $body,
        }
    };
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
        let a = py
            .detach(|| with_map!(&self.map, m => feature_mean(m, l, n_samples, seed)))
            .map_err(errors::integrator)?;
        Ok(arrays::array1_owned(py, a))
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

    /// The Runner path of `run`: advances the checkpoint `run` under `opts`.
    fn advance<'py>(
        &self,
        py: Python<'py>,
        run: &mut MgdmRun,
        opts: RunOptions,
    ) -> PyResult<Bound<'py, PyDict>> {
        let params = self.params(run.cp.state.n(), self.project.unwrap_or(false))?;
        let slot = Slot::default();
        with_map!(self.map, m => {
            let mut mgdm = Mgdm::new(m, self.alpha.clone(), params)
                .map_err(errors::integrator)?
                .with_parallelism(Parallelism::Rayon);
            let s = runs::run::<_, MgdmObs>(py, "features", &mut mgdm, &mut run.cp, opts, &slot, Some(&self.pool))?;
            runs::summary::<_, MgdmObs>(py, &mgdm, &s)
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
        for (arg, law) in [("latent", Some(latent)), ("target", target)] {
            if let Some(l) = law
                && l.law().len() != t
            {
                return Err(PyValueError::new_err(format!(
                    "{arg}: path length {} but the feature map's is {t}",
                    l.law().len()
                )));
            }
        }
        let project = self
            .project
            .unwrap_or_else(|| target.is_some_and(|p| p.law().non_negative()));
        let params = self.params(n, project)?;
        let (latent, target) = (latent.law(), target.map(PyPathLaw::law));
        let (alpha, map, pool) = (&self.alpha, self.map, &self.pool);
        let run: TracedRun = py
            .detach(|| {
                pool.install(|| {
                    with_map!(map, m => {
                        let mut mgdm = Mgdm::new(m, alpha.clone(), params)?
                            .with_parallelism(Parallelism::Rayon);
                        run_with_trace(&mut mgdm, &x0, target, latent, steps, |_| {})
                    })
                })
            })
            .map_err(errors::integrator)?;
        let d = PyDict::new(py);
        let tr = &run.trace;
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
        d.set_item("frozen", run.frozen)?;
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
            map: features.map,
            alpha,
            gamma,
            coupling,
            project,
            pool,
        })
    }

    /// A resumable run (`MgdmRun`) from the (N, T) paths `x0` (the latent sample), for
    /// `run(run, steps, …)` with the Runner's options and checkpoints. The dynamics is
    /// deterministic: no seed keys any draw.
    fn start(&self, x0: &Bound<'_, PyAny>) -> PyResult<MgdmRun> {
        let t = with_map!(&self.map, m => m.len());
        let (x, n) = paths_arg("x0", x0, t)?;
        let ens = Ensemble::new(n, t, x, Domain::Euclidean).map_err(errors::measures)?;
        let params = self.params(n, self.project.unwrap_or(false))?;
        let cp = with_map!(self.map, m => {
            let mgdm = Mgdm::new(m, self.alpha.clone(), params).map_err(errors::integrator)?;
            runs::start(&mgdm, ens, 0)?
        });
        Ok(MgdmRun { cp })
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
                    "latent, target: only for the trace path run(x0, steps, latent=…); an MgdmRun carries no trace",
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
        Ok(with_map!(self.map, m => {
            let mgdm = Mgdm::new(m, self.alpha.clone(), params).map_err(errors::integrator)?;
            meanfield_integrators::Dynamics::fingerprint(&mgdm)
        }))
    }

    /// The target α (K,).
    #[getter]
    fn alpha<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        arrays::array1(py, &self.alpha)
    }
}

/// A resumable MGDM / MF-MGDM run: the Rust `Checkpoint<Ensemble>` of the (N, T) paths.
#[pyclass(module = "meanfield._core")]
pub struct MgdmRun {
    cp: Checkpoint<Ensemble>,
}

runs::run_class!(MgdmRun {});
