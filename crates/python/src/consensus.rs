//! The consensus variants beyond plain CBO: `meanfield.CBS` (consensus-based sampling),
//! `PolarCBO`, `CBOMemory`, `PSO`, `MirrorCBO` and `ConstrainedCBO`, with their run
//! classes. Objectives, CBO parameters, string options and parallelism go through the
//! same conversions as plain CBO ([`crate::cbo`]); the numbers come from
//! `meanfield_integrators::cbo` (docs/cbo.md §8–§15).

use meanfield_integrators::cbo::polar::Cluster;
use meanfield_integrators::{
    BallProjection, CboMemory, CboMemoryParams, CboMemoryState, CboMirrorMap, CboParams, CboState,
    Cbs, CbsMode, CbsParams, CbsScheme, Checkpoint, ConstrainedCbo, ConstrainedCboParams,
    ConstraintScheme, CovarianceRoot, ElasticNet, Hypersurface, KernelScale, MirrorCbo,
    MirrorCboState, PolarCbo, PolarCboParams, PolarCboState, Pso, PsoParams, PsoState,
};
use meanfield_measures::{Domain, Ensemble, Entropic, Identity, LogBarrier};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arrays;
use crate::callback::Slot;
use crate::cbo::{self, CboObs, CboRun, ConsensusState, choice, consensus_run_class};
use crate::errors;
use crate::objective::AnyObjective;
use crate::{replicas, runs};

impl ConsensusState for PolarCboState {
    fn cbo(&self) -> &CboState {
        &self.cbo
    }
    /// `points`: every particle's consensus point, (N, d) (empty before the first step).
    fn extras(&self, py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<()> {
        let dim = self.cbo.ensemble.dim();
        d.set_item(
            "points",
            arrays::matrix(py, &self.points, self.points.len() / dim, dim)?,
        )
    }
}

impl ConsensusState for CboMemoryState {
    fn cbo(&self) -> &CboState {
        &self.cbo
    }
    /// `memory` (N, d) and `memory_values` (N,): the personal bests and their values.
    fn extras(&self, py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<()> {
        let (n, dim) = (self.cbo.ensemble.n(), self.cbo.ensemble.dim());
        d.set_item("memory", arrays::matrix(py, &self.memory, n, dim)?)?;
        d.set_item("memory_values", arrays::array1(py, &self.memory_values))
    }
}

impl ConsensusState for PsoState {
    fn cbo(&self) -> &CboState {
        &self.memory.cbo
    }
    /// CBO with memory's arrays and `velocity` (N, d).
    fn extras(&self, py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<()> {
        self.memory.extras(py, d)?;
        let (n, dim) = (self.memory.cbo.ensemble.n(), self.memory.cbo.ensemble.dim());
        d.set_item("velocity", arrays::matrix(py, &self.velocity, n, dim)?)
    }
}

impl ConsensusState for MirrorCboState {
    fn cbo(&self) -> &CboState {
        &self.cbo
    }
    /// `dual`: the dual particles Y = ∇φ(X) the scheme moves, (N, d).
    fn extras(&self, py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<()> {
        let (n, dim) = (self.cbo.ensemble.n(), self.cbo.ensemble.dim());
        d.set_item("dual", arrays::matrix(py, &self.dual, n, dim)?)
    }
}

/// A fresh checkpoint of `dynamics` from the (N, d) array `x0` on `domain` (a state
/// the dynamics refuses is an error naming `x0`).
fn start<D: meanfield_integrators::Dynamics>(
    dynamics: &D,
    x0: &Bound<'_, PyAny>,
    domain: Domain,
    seed: u64,
) -> PyResult<Checkpoint<D::State>> {
    runs::start(dynamics, arrays::ensemble_on("x0", x0, domain)?, seed)
}

/// A consensus variant's Python class: [`runs::dynamics_class!`] with `minimize` (M
/// independent runs through [`replicas::minimize`], the many-run path of `CBO.minimize`).
/// In `domain` and `make`, `$this` is the class and `$f` the objective lane of one run.
macro_rules! consensus_variant_class {
    (
        $Ty:ident,
        $Run:ident,
        minimize($(#[$doc:meta])* |$this:ident, $f:ident| domain: $domain:expr, make: $make:expr)
        { $($extra:tt)* }
    ) => {
        runs::dynamics_class!($Ty, $Run, CboObs, "objective" {
            /// M independent runs to their outcomes, as `CBO.minimize`: x0 of shape (N, d) or
            /// (M, N, d), run r with seed `replicate_seed(seed, 0, r)`, each until `max_steps`,
            /// `energy_tol` or `stagnation = (tol, patience)`; a Python objective with
            /// `f_dim="3D"` is called once per step on the (M', N, d) stack of the runs still
            /// going. Returns the dict of `CBO.minimize`.
            $(#[$doc])*
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
                let $this = self;
                replicas::minimize(
                    py,
                    $this.dynamics.objective(),
                    &$this.slot,
                    $this.pool.as_ref(),
                    x0,
                    $domain,
                    max_steps,
                    seed,
                    energy_tol,
                    stagnation,
                    |$f| $make,
                )
            }

            $($extra)*
        });
    };
}

/// Consensus-based sampling (CBS; docs/cbo.md §8).
#[pyclass(name = "CBS", module = "meanfield._core")]
pub struct PyCbs {
    dynamics: Cbs<AnyObjective>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

consensus_variant_class!(PyCbs, CboRun, minimize(
    |this, f|
    domain: Domain::Euclidean,
    make: Cbs::new(f, *this.dynamics.params())
) {
    /// CBS on `objective` (a test-function name or a callable, as for `CBO`) in `mode`
    /// `"optimization"` (λ = 1) or `"sampling"` (λ = 1/(1 + β)), with time step `dt`,
    /// β = `alpha` and its `schedule`, `scheme` `"exponential"` (the paper's) or
    /// `"euler_maruyama"` (CBXpy's) and covariance `root` `"cholesky"` or `"symmetric"`.
    #[new]
    #[pyo3(signature = (objective, d, *, mode="optimization", dt=0.01, alpha=1.0, schedule=None,
        scheme="exponential", root="cholesky", f_dim="2D", shift=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        objective: &Bound<'_, PyAny>,
        d: usize,
        mode: &str,
        dt: f64,
        alpha: f64,
        schedule: Option<&Bound<'_, PyAny>>,
        scheme: &str,
        root: &str,
        f_dim: &str,
        shift: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let mode = choice(
            "mode",
            mode,
            &[
                ("optimization", CbsMode::Optimization),
                ("sampling", CbsMode::Sampling),
            ],
        )?;
        let scheme = choice(
            "scheme",
            scheme,
            &[
                ("exponential", CbsScheme::Exponential),
                ("euler_maruyama", CbsScheme::EulerMaruyama),
            ],
        )?;
        let root = choice(
            "root",
            root,
            &[
                ("cholesky", CovarianceRoot::Cholesky),
                ("symmetric", CovarianceRoot::Symmetric),
            ],
        )?;
        let schedule = cbo::schedule(schedule)?;
        let params = CbsParams::new(mode, dt)
            .and_then(|p| p.with_alpha(alpha))
            .and_then(|p| p.with_schedule(schedule))
            .map_err(errors::integrator)?
            .with_scheme(scheme)
            .with_root(root);
        let (dynamics, slot, pool) =
            cbo::consensus_class(objective, d, f_dim, shift, threads, |f, par| {
                Ok(Cbs::new(f, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0` with seed `seed`.
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<CboRun> {
        Ok(CboRun {
            cp: start(&self.dynamics, x0, Domain::Euclidean, seed)?,
        })
    }

    /// C_β of the last step, (d, d) (empty (0, 0) before the first step).
    fn last_covariance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.dynamics.last_covariance();
        let d = if c.is_empty() {
            0
        } else {
            meanfield_energy::Objective::dim(self.dynamics.objective())
        };
        arrays::matrix(py, c, d, d)
    }
});

/// Polarised CBO (kernel-localised consensus; docs/cbo.md §9).
#[pyclass(name = "PolarCBO", module = "meanfield._core")]
pub struct PyPolarCbo {
    dynamics: PolarCbo<AnyObjective>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

runs::dynamics_class!(PyPolarCbo, PolarCboRun, CboObs, "objective" {
    /// Polarised CBO on `objective` (as for `CBO`) with CBO's `lam`, `sigma`, `dt`,
    /// `alpha`, `schedule`, `noise`, the kernel width `kappa` and the kernel exponent
    /// `kernel_scale` `"constant"` (s = 1, the paper's) or `"alpha"` (s = α, CBXpy's).
    #[new]
    #[pyo3(signature = (objective, d, *, kappa, kernel_scale="constant", lam=1.0, sigma=1.0,
        dt=0.01, alpha=1.0, schedule=None, noise="anisotropic", f_dim="2D", shift=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        objective: &Bound<'_, PyAny>,
        d: usize,
        kappa: f64,
        kernel_scale: &str,
        lam: f64,
        sigma: f64,
        dt: f64,
        alpha: f64,
        schedule: Option<&Bound<'_, PyAny>>,
        noise: &str,
        f_dim: &str,
        shift: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let scale = choice(
            "kernel_scale",
            kernel_scale,
            &[
                ("constant", KernelScale::Constant),
                ("alpha", KernelScale::Alpha),
            ],
        )?;
        let params = PolarCboParams::new(cbo::params(lam, sigma, dt, alpha, schedule, noise)?, kappa)
            .map_err(errors::integrator)?
            .with_kernel_scale(scale);
        let (dynamics, slot, pool) =
            cbo::consensus_class(objective, d, f_dim, shift, threads, |f, par| {
                Ok(PolarCbo::new(f, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0` with seed `seed`.
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<PolarCboRun> {
        Ok(PolarCboRun {
            cp: start(&self.dynamics, x0, Domain::Euclidean, seed)?,
        })
    }

    /// M independent runs, as `CBO.minimize` (x0 of shape (N, d) or (M, N, d), run r with
    /// seed `replicate_seed(seed, 0, r)`, each until `max_steps`, `energy_tol` or
    /// `stagnation`; a `"3D"` Python objective called once per step on the (M', N, d)
    /// stack), each ended by `minimisers(run, radius, min_fraction)`. Returns the dict of
    /// `CBO.minimize` plus, per run r, `minimisers[r]` (K_r, d) (the cluster centres,
    /// largest cluster first), `minimiser_values[r]` (K_r,) and `minimiser_sizes[r]` (a
    /// list of K_r ints): lists of length M, since K_r differs between runs.
    #[pyo3(signature = (x0, max_steps, *, radius, min_fraction=0.0, seed=0, energy_tol=None,
        stagnation=None))]
    #[allow(clippy::too_many_arguments)]
    fn minimize<'py>(
        &self,
        py: Python<'py>,
        x0: &Bound<'py, PyAny>,
        max_steps: u64,
        radius: f64,
        min_fraction: f64,
        seed: u64,
        energy_tol: Option<f64>,
        stagnation: Option<(f64, u64)>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let params = *self.dynamics.params();
        let (dict, found) = replicas::minimize_with(
            py,
            self.dynamics.objective(),
            &self.slot,
            self.pool.as_ref(),
            x0,
            Domain::Euclidean,
            (max_steps, seed, energy_tol, stagnation),
            |f| PolarCbo::new(f, params),
            |dynamics: &PolarCbo<_>, cp| dynamics.minimisers(&cp.state, radius, min_fraction),
        )?;
        let d = meanfield_energy::Objective::dim(self.dynamics.objective());
        let (centres, values, sizes) = (PyList::empty(py), PyList::empty(py), PyList::empty(py));
        for clusters in found {
            let k = clusters.len();
            let mut c = Vec::with_capacity(k * d);
            let mut v = Vec::with_capacity(k);
            let mut n = Vec::with_capacity(k);
            for Cluster {
                centre,
                value,
                size,
            } in clusters
            {
                c.extend(centre);
                v.push(value);
                n.push(size);
            }
            centres.append(arrays::matrix_owned(py, c, k, d)?)?;
            values.append(arrays::array1_owned(py, v))?;
            sizes.append(n)?;
        }
        dict.set_item("minimisers", centres)?;
        dict.set_item("minimiser_values", values)?;
        dict.set_item("minimiser_sizes", sizes)?;
        Ok(dict)
    }

    /// The distinct minimisers among the consensus points of `run`'s last step: greedy
    /// clusters of radius `radius` holding at least `min_fraction` · N points, largest
    /// first; a list of dicts `{"centre": (d,), "value": f(centre), "size": int}`.
    #[pyo3(signature = (run, radius, min_fraction=0.0))]
    fn minimisers<'py>(
        &self,
        py: Python<'py>,
        run: &PolarCboRun,
        radius: f64,
        min_fraction: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        self.slot.clear();
        let clusters = self.dynamics.minimisers(&run.cp.state, radius, min_fraction);
        if let Some(e) = self.slot.take("objective", run.cp.step) {
            return Err(e);
        }
        let list = PyList::empty(py);
        for Cluster {
            centre,
            value,
            size,
        } in clusters.map_err(errors::integrator)?
        {
            let c = PyDict::new(py);
            c.set_item("centre", arrays::array1_owned(py, centre))?;
            c.set_item("value", value)?;
            c.set_item("size", size)?;
            list.append(c)?;
        }
        Ok(list)
    }
});

/// CBO with memory (personal bests; docs/cbo.md §10).
#[pyclass(name = "CBOMemory", module = "meanfield._core")]
pub struct PyCboMemory {
    dynamics: CboMemory<AnyObjective>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

/// CBO with memory's parameters: CBO's, λ_m and σ_m (λ_m σ when omitted).
fn memory_params(
    cbo: CboParams,
    lambda_memory: f64,
    sigma_memory: Option<f64>,
) -> PyResult<CboMemoryParams> {
    let p = CboMemoryParams::new(cbo, lambda_memory).map_err(errors::integrator)?;
    match sigma_memory {
        Some(s) => p.with_sigma_memory(s).map_err(errors::integrator),
        None => Ok(p),
    }
}

consensus_variant_class!(PyCboMemory, CboMemoryRun, minimize(
    |this, f|
    domain: Domain::Euclidean,
    make: CboMemory::new(f, *this.dynamics.params())
) {
    /// CBO with memory on `objective` (as for `CBO`) with CBO's `lam`, `sigma`, `dt`,
    /// `alpha`, `schedule`, `noise`, the memory drift `lambda_memory` (λ_m, CBXpy's 0.4)
    /// and memory noise `sigma_memory` (σ_m, default λ_m σ). `start` evaluates f once on
    /// x0 (the memories' values).
    #[new]
    #[pyo3(signature = (objective, d, *, lambda_memory=0.4, sigma_memory=None, lam=1.0, sigma=1.0,
        dt=0.01, alpha=1.0, schedule=None, noise="anisotropic", f_dim="2D", shift=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        objective: &Bound<'_, PyAny>,
        d: usize,
        lambda_memory: f64,
        sigma_memory: Option<f64>,
        lam: f64,
        sigma: f64,
        dt: f64,
        alpha: f64,
        schedule: Option<&Bound<'_, PyAny>>,
        noise: &str,
        f_dim: &str,
        shift: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let params = memory_params(
            cbo::params(lam, sigma, dt, alpha, schedule, noise)?,
            lambda_memory,
            sigma_memory,
        )?;
        let (dynamics, slot, pool) =
            cbo::consensus_class(objective, d, f_dim, shift, threads, |f, par| {
                Ok(CboMemory::new(f, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0` with seed `seed` (memories Y = x0).
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<CboMemoryRun> {
        Ok(CboMemoryRun {
            cp: start_evaluating(&self.dynamics, &self.slot, x0, seed)?,
        })
    }
});

/// [`start`] for the variants whose `init_state` evaluates the objective (memory, PSO):
/// a failing Python objective raises its own error, naming step 0.
fn start_evaluating<D: meanfield_integrators::Dynamics>(
    dynamics: &D,
    slot: &Slot,
    x0: &Bound<'_, PyAny>,
    seed: u64,
) -> PyResult<Checkpoint<D::State>> {
    slot.clear();
    let cp = start(dynamics, x0, Domain::Euclidean, seed);
    if let Some(e) = slot.take("objective", 0) {
        return Err(e);
    }
    cp
}

/// Particle swarm optimisation as a consensus dynamics (docs/cbo.md §12).
#[pyclass(name = "PSO", module = "meanfield._core")]
pub struct PyPso {
    dynamics: Pso<AnyObjective>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

consensus_variant_class!(PyPso, PsoRun, minimize(
    |this, f|
    domain: Domain::Euclidean,
    make: Pso::new(f, *this.dynamics.params())
) {
    /// PSO on `objective` (as for `CBO`): CBO with memory's parameters plus the inertia
    /// `inertia` (m, CBXpy's 0.001) and the friction `friction` (γ, default 1 − m).
    #[new]
    #[pyo3(signature = (objective, d, *, inertia=0.001, friction=None, lambda_memory=0.4,
        sigma_memory=None, lam=1.0, sigma=1.0, dt=0.01, alpha=1.0, schedule=None,
        noise="anisotropic", f_dim="2D", shift=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        objective: &Bound<'_, PyAny>,
        d: usize,
        inertia: f64,
        friction: Option<f64>,
        lambda_memory: f64,
        sigma_memory: Option<f64>,
        lam: f64,
        sigma: f64,
        dt: f64,
        alpha: f64,
        schedule: Option<&Bound<'_, PyAny>>,
        noise: &str,
        f_dim: &str,
        shift: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let memory = memory_params(
            cbo::params(lam, sigma, dt, alpha, schedule, noise)?,
            lambda_memory,
            sigma_memory,
        )?;
        let params = PsoParams::new(memory, inertia, friction.unwrap_or(1.0 - inertia))
            .map_err(errors::integrator)?;
        let (dynamics, slot, pool) =
            cbo::consensus_class(objective, d, f_dim, shift, threads, |f, par| {
                Ok(Pso::new(f, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0` with seed `seed` (memories Y = x0,
    /// velocities 0).
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<PsoRun> {
        Ok(PsoRun {
            cp: start_evaluating(&self.dynamics, &self.slot, x0, seed)?,
        })
    }
});

/// The mirror map of a Python `MirrorCBO`: the Legendre maps of `meanfield-measures`
/// and the two CBO-only maps.
#[derive(Clone)]
pub enum AnyCboMap {
    /// ∇φ = id: plain CBO.
    Identity(Identity),
    /// The entropic map of the simplex.
    Entropic(Entropic),
    /// The log-barrier map of a box.
    LogBarrier(LogBarrier),
    /// Projection onto a ball.
    Ball(BallProjection),
    /// The elastic net (sparse minimisers).
    ElasticNet(ElasticNet),
}

/// Dispatches `$e` with `$m` bound to the map of every variant.
macro_rules! each_map {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            AnyCboMap::Identity($m) => $e,
            AnyCboMap::Entropic($m) => $e,
            AnyCboMap::LogBarrier($m) => $e,
            AnyCboMap::Ball($m) => $e,
            AnyCboMap::ElasticNet($m) => $e,
        }
    };
}

/// Delegates to the map (fingerprints included, so a run is the Rust run with that map).
impl CboMirrorMap for AnyCboMap {
    fn domain(&self) -> Domain {
        each_map!(self, m => CboMirrorMap::domain(m))
    }
    fn dim(&self) -> Option<usize> {
        each_map!(self, m => CboMirrorMap::dim(m))
    }
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        each_map!(self, m => CboMirrorMap::grad_phi(m, x, y))
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        each_map!(self, m => CboMirrorMap::grad_phi_star(m, y, x))
    }
    fn check_primal(&self, ens: &Ensemble) -> meanfield_integrators::Result<()> {
        each_map!(self, m => CboMirrorMap::check_primal(m, ens))
    }
    fn fingerprint(&self) -> String {
        each_map!(self, m => CboMirrorMap::fingerprint(m))
    }
}

/// The `map` argument of `MirrorCBO` with its parameters.
#[allow(clippy::too_many_arguments)]
fn mirror_map(
    map: &str,
    d: usize,
    lower: Option<&Bound<'_, PyAny>>,
    upper: Option<&Bound<'_, PyAny>>,
    centre: Option<&Bound<'_, PyAny>>,
    radius: f64,
    delta: f64,
    l1: f64,
) -> PyResult<AnyCboMap> {
    let e = errors::integrator;
    Ok(match map {
        "identity" => AnyCboMap::Identity(Identity),
        "entropic" => AnyCboMap::Entropic(Entropic),
        "log_barrier" => match crate::mfld::domain("box", lower, upper)? {
            Domain::Box(b) => AnyCboMap::LogBarrier(LogBarrier::new(b).map_err(errors::measures)?),
            // `domain("box", …)` only returns a box; a typed error rather than a panic path
            _ => {
                return Err(PyValueError::new_err(
                    "map=\"log_barrier\" needs box bounds lower and upper",
                ));
            }
        },
        "ball" => {
            let c = match centre {
                Some(c) => arrays::vector("centre", c, d)?,
                None => vec![0.0; d],
            };
            AnyCboMap::Ball(BallProjection::new(c, radius).map_err(e)?)
        }
        "elastic_net" => AnyCboMap::ElasticNet(ElasticNet::new(delta, l1).map_err(e)?),
        _ => {
            return Err(PyValueError::new_err(format!(
                "map: expected \"identity\", \"entropic\", \"log_barrier\", \"ball\" or \"elastic_net\", got {map:?}"
            )));
        }
    })
}

/// Mirror CBO (CBO in the dual coordinates of a mirror map; docs/cbo.md §14).
#[pyclass(name = "MirrorCBO", module = "meanfield._core")]
pub struct PyMirrorCbo {
    dynamics: MirrorCbo<AnyObjective, AnyCboMap>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

consensus_variant_class!(PyMirrorCbo, MirrorCboRun, minimize(
    /// Every block of x0 lies strictly inside the map's domain.
    |this, f|
    domain: this.dynamics.map().domain(),
    make: MirrorCbo::new(f, this.dynamics.map().clone(), *this.dynamics.params())
) {
    /// Mirror CBO on `objective` (as for `CBO`) with CBO's `lam`, `sigma`, `dt`, `alpha`,
    /// `schedule`, `noise` and the mirror map `map`: `"identity"` (plain CBO),
    /// `"entropic"` (the simplex), `"log_barrier"` (the box `lower`, `upper`), `"ball"`
    /// (projection onto the ball of `centre` (default 0) and `radius`) or
    /// `"elastic_net"` (φ = |x|²/(2 `delta`) + `l1` |x|₁: sparse minimisers).
    #[new]
    #[pyo3(signature = (objective, d, *, map="identity", lower=None, upper=None, centre=None,
        radius=1.0, delta=1.0, l1=0.0, lam=1.0, sigma=1.0, dt=0.01, alpha=1.0, schedule=None,
        noise="anisotropic", f_dim="2D", shift=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        objective: &Bound<'_, PyAny>,
        d: usize,
        map: &str,
        lower: Option<&Bound<'_, PyAny>>,
        upper: Option<&Bound<'_, PyAny>>,
        centre: Option<&Bound<'_, PyAny>>,
        radius: f64,
        delta: f64,
        l1: f64,
        lam: f64,
        sigma: f64,
        dt: f64,
        alpha: f64,
        schedule: Option<&Bound<'_, PyAny>>,
        noise: &str,
        f_dim: &str,
        shift: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let map = mirror_map(map, d, lower, upper, centre, radius, delta, l1)?;
        let params = cbo::params(lam, sigma, dt, alpha, schedule, noise)?;
        let (dynamics, slot, pool) =
            cbo::consensus_class(objective, d, f_dim, shift, threads, |f, par| {
                Ok(MirrorCbo::new(f, map, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0`, strictly inside the map's domain, with
    /// seed `seed` (dual particles Y = ∇φ(x0)).
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<MirrorCboRun> {
        Ok(MirrorCboRun {
            cp: start(&self.dynamics, x0, self.dynamics.map().domain(), seed)?,
        })
    }
});

/// Constrained CBO on a sphere or hyperplane (docs/cbo.md §15).
#[pyclass(name = "ConstrainedCBO", module = "meanfield._core")]
pub struct PyConstrainedCbo {
    dynamics: ConstrainedCbo<AnyObjective>,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

consensus_variant_class!(PyConstrainedCbo, CboRun, minimize(
    |this, f|
    domain: Domain::Euclidean,
    make: ConstrainedCbo::new(f, this.dynamics.params().clone())
) {
    /// Constrained CBO on `objective` (as for `CBO`) with CBO's `lam`, `sigma`, `dt`,
    /// `alpha`, `schedule`, `noise`, on the `surface` `"sphere"` (|x| = `radius`) or
    /// `"hyperplane"` (`normal`·x = `offset`), by the `scheme` `"drift"` (penalty drift
    /// with `epsilon`, CBXpy's `DriftConstrainedCBO`) or `"hypersurface"` (tangent-space
    /// dynamics projected back, CBXpy's `HyperSurfaceCBO`).
    #[new]
    #[pyo3(signature = (objective, d, *, surface="sphere", radius=1.0, normal=None, offset=0.0,
        scheme="drift", epsilon=0.01, lam=1.0, sigma=1.0, dt=0.01, alpha=1.0, schedule=None,
        noise="anisotropic", f_dim="2D", shift=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        objective: &Bound<'_, PyAny>,
        d: usize,
        surface: &str,
        radius: f64,
        normal: Option<&Bound<'_, PyAny>>,
        offset: f64,
        scheme: &str,
        epsilon: f64,
        lam: f64,
        sigma: f64,
        dt: f64,
        alpha: f64,
        schedule: Option<&Bound<'_, PyAny>>,
        noise: &str,
        f_dim: &str,
        shift: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let e = errors::integrator;
        let surface = match (surface, normal) {
            ("sphere", None) => Hypersurface::sphere(radius).map_err(e)?,
            ("sphere", Some(_)) => {
                return Err(PyValueError::new_err(
                    "normal: only for surface=\"hyperplane\"",
                ));
            }
            ("hyperplane", Some(a)) => {
                Hypersurface::hyperplane(arrays::vector("normal", a, d)?, offset).map_err(e)?
            }
            ("hyperplane", None) => {
                return Err(PyValueError::new_err(
                    "normal: surface=\"hyperplane\" needs its normal, a float64 array of shape (d,)",
                ));
            }
            (other, _) => {
                return Err(PyValueError::new_err(format!(
                    "surface: expected \"sphere\" or \"hyperplane\", got {other:?}"
                )));
            }
        };
        let scheme = match scheme {
            "drift" => ConstraintScheme::Drift { epsilon },
            "hypersurface" => ConstraintScheme::Hypersurface,
            other => {
                return Err(PyValueError::new_err(format!(
                    "scheme: expected \"drift\" or \"hypersurface\", got {other:?}"
                )));
            }
        };
        let params = ConstrainedCboParams::new(
            cbo::params(lam, sigma, dt, alpha, schedule, noise)?,
            surface,
            scheme,
        )
        .map_err(e)?;
        let (dynamics, slot, pool) =
            cbo::consensus_class(objective, d, f_dim, shift, threads, |f, par| {
                Ok(ConstrainedCbo::new(f, params)?.with_parallelism(par))
            })?;
        Ok(Self {
            dynamics,
            slot,
            pool,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0` with seed `seed` (the hypersurface
    /// scheme projects onto the surface at its first step).
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<CboRun> {
        Ok(CboRun {
            cp: start(&self.dynamics, x0, Domain::Euclidean, seed)?,
        })
    }

    /// The distance of every row of the (N, d) array `x` from the surface, shape (N,).
    fn distance<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let ens = arrays::ensemble("x", x)?;
        let s = self.dynamics.params().surface();
        let out: Vec<f64> = ens.rows().map(|r| s.distance(r)).collect();
        Ok(arrays::array1_owned(py, out))
    }
});

/// A resumable polarised CBO run: the Rust `Checkpoint<PolarCboState>`.
#[pyclass(module = "meanfield._core")]
pub struct PolarCboRun {
    cp: Checkpoint<PolarCboState>,
}

consensus_run_class!(PolarCboRun {
    /// Every particle's consensus point of the last step, a new (N, d) array (empty
    /// (0, d) before the first step).
    #[getter]
    fn points<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = self.cp.state.cbo.ensemble.dim();
        arrays::matrix(py, &self.cp.state.points, self.cp.state.points.len() / d, d)
    }
});

/// A resumable run of CBO with memory: the Rust `Checkpoint<CboMemoryState>`.
#[pyclass(module = "meanfield._core")]
pub struct CboMemoryRun {
    cp: Checkpoint<CboMemoryState>,
}

consensus_run_class!(CboMemoryRun {
    /// The personal bests Y, a new (N, d) array.
    #[getter]
    fn memory<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = &self.cp.state.cbo.ensemble;
        arrays::matrix(py, &self.cp.state.memory, e.n(), e.dim())
    }
    /// f(Y^i), a new (N,) array.
    #[getter]
    fn memory_values<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        arrays::array1(py, &self.cp.state.memory_values)
    }
});

/// A resumable PSO run: the Rust `Checkpoint<PsoState>`.
#[pyclass(module = "meanfield._core")]
pub struct PsoRun {
    cp: Checkpoint<PsoState>,
}

consensus_run_class!(PsoRun {
    /// The personal bests Y, a new (N, d) array.
    #[getter]
    fn memory<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = &self.cp.state.memory.cbo.ensemble;
        arrays::matrix(py, &self.cp.state.memory.memory, e.n(), e.dim())
    }
    /// f(Y^i), a new (N,) array.
    #[getter]
    fn memory_values<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        arrays::array1(py, &self.cp.state.memory.memory_values)
    }
    /// The velocities V, a new (N, d) array.
    #[getter]
    fn velocity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = &self.cp.state.memory.cbo.ensemble;
        arrays::matrix(py, &self.cp.state.velocity, e.n(), e.dim())
    }
});

/// A resumable mirror CBO run: the Rust `Checkpoint<MirrorCboState>`.
#[pyclass(module = "meanfield._core")]
pub struct MirrorCboRun {
    cp: Checkpoint<MirrorCboState>,
}

consensus_run_class!(MirrorCboRun {
    /// The dual particles Y = ∇φ(X), a new (N, d) array.
    #[getter]
    fn dual<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = &self.cp.state.cbo.ensemble;
        arrays::matrix(py, &self.cp.state.dual, e.n(), e.dim())
    }
});
