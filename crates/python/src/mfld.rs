//! `meanfield.MFLD` and `meanfield.LangevinRun`: mean-field Langevin dynamics with every
//! scheme of `meanfield-integrators` — plain Euler–Maruyama ([`Mfld`]), projected
//! ([`ProjectedMfld`]), the paper's mirror scheme ([`MirrorMfld`]) and the
//! Metropolis-adjusted mirror scheme ([`AdjustedMirrorMfld`]) — on R^d, the simplex
//! (entropic mirror map) or a box (log-barrier mirror map), with a built-in or a Python
//! functional ([`crate::functional`]).

use meanfield_energy::Functional;
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, Dynamics, LangevinInfo, LangevinParams, Mfld, MirrorMfld,
    ProjectedMfld,
};
use meanfield_measures::{
    BoxBounds, Domain, Ensemble, Entropic, Identity, LogBarrier, Parallelism,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;
use crate::callback::Slot;
use crate::errors;
use crate::functional::{self, AnyFunctional};
use crate::runs::{self, Observe};

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

/// A Langevin scheme chosen at run time (the Rust API's `Box<dyn Dynamics>` form).
type AnyLangevin = Box<dyn Dynamics<State = Ensemble, Info = LangevinInfo> + Send + Sync>;

/// The domain argument: `"euclidean"`, `"simplex"` or `"box"` with `lower` and `upper`
/// (bounds may be ±inf: `upper = inf` is the orthant).
pub fn domain(
    name: &str,
    lower: Option<&Bound<'_, PyAny>>,
    upper: Option<&Bound<'_, PyAny>>,
) -> PyResult<Domain> {
    match name {
        "euclidean" => Ok(Domain::Euclidean),
        "simplex" => Ok(Domain::Simplex),
        "box" => {
            let (Some(l), Some(u)) = (lower, upper) else {
                return Err(PyValueError::new_err(
                    "domain=\"box\" needs lower and upper, float64 arrays of shape (d,)",
                ));
            };
            let l = arrays::bounds("lower", l, None)?;
            let u = arrays::bounds("upper", u, Some(l.len()))?;
            Ok(Domain::Box(BoxBounds::new(l, u).map_err(|e| {
                PyValueError::new_err(format!("lower, upper: {e}"))
            })?))
        }
        _ => Err(PyValueError::new_err(format!(
            "domain: expected \"euclidean\", \"simplex\" or \"box\", got {name:?}"
        ))),
    }
}

/// `scheme` on `domain` for `f`, boxed; `parallel` switches the particle loops to rayon.
fn build(
    scheme: &str,
    domain: &Domain,
    f: AnyFunctional,
    params: LangevinParams,
    parallel: bool,
) -> PyResult<AnyLangevin> {
    let par = if parallel {
        Parallelism::Rayon
    } else {
        Parallelism::Sequential
    };
    let e = errors::integrator;
    Ok(match (scheme, domain) {
        ("euler", Domain::Euclidean) => {
            Box::new(Mfld::new(f, params).map_err(e)?.with_parallelism(par))
        }
        ("euler", _) => {
            return Err(PyValueError::new_err(
                "scheme=\"euler\" runs on R^d: use scheme=\"projected\", \"mirror\" or \"adjusted\" on a simplex or box",
            ));
        }
        ("projected", _) => Box::new(
            ProjectedMfld::new(f, params)
                .map_err(e)?
                .with_parallelism(par),
        ),
        ("mirror", Domain::Euclidean) => Box::new(
            MirrorMfld::new(f, Identity, params)
                .map_err(e)?
                .with_parallelism(par),
        ),
        ("mirror", Domain::Simplex) => Box::new(
            MirrorMfld::new(f, Entropic, params)
                .map_err(e)?
                .with_parallelism(par),
        ),
        ("mirror", Domain::Box(b)) => Box::new(
            MirrorMfld::new(
                f,
                LogBarrier::new(b.clone()).map_err(errors::measures)?,
                params,
            )
            .map_err(e)?
            .with_parallelism(par),
        ),
        ("adjusted", _) if !f.can_freeze() => {
            return Err(PyValueError::new_err(
                "scheme=\"adjusted\" needs a functional with a frozen first variation: Functional.quadratic, .simplex_moment, .two_layer, or a Python functional with first_variation_at(X, Y) -> (values (M,), grads (M, d)), V = δF/δμ(μ_X, ·) at the rows of Y",
            ));
        }
        ("adjusted", Domain::Euclidean) => Box::new(
            AdjustedMirrorMfld::new(f, Identity, params)
                .map_err(e)?
                .with_parallelism(par),
        ),
        ("adjusted", Domain::Simplex) => Box::new(
            AdjustedMirrorMfld::new(f, Entropic, params)
                .map_err(e)?
                .with_parallelism(par),
        ),
        ("adjusted", Domain::Box(b)) => Box::new(
            AdjustedMirrorMfld::new(
                f,
                LogBarrier::new(b.clone()).map_err(errors::measures)?,
                params,
            )
            .map_err(e)?
            .with_parallelism(par),
        ),
        _ => {
            return Err(PyValueError::new_err(format!(
                "scheme: expected \"euler\", \"projected\", \"mirror\" or \"adjusted\", got {scheme:?}"
            )));
        }
    })
}

/// Mean-field Langevin dynamics (see `docs/python.md`).
#[pyclass(name = "MFLD", module = "meanfield._core")]
pub struct PyMfld {
    dynamics: AnyLangevin,
    /// The functional again, for `value` (the boxed scheme does not expose it).
    functional: AnyFunctional,
    domain: Domain,
    slot: Slot,
    pool: Option<rayon::ThreadPool>,
}

runs::dynamics_class!(PyMfld, LangevinRun, LangevinObs, "functional" {
    /// MFLD with entropy weight `lam` (λ) and step `eta` (η) on `functional`: a
    /// `meanfield.Functional`, `"quadratic"` (with `kappa` and the anchor `b`), or an
    /// object with methods `value(X)`, `first_variation(X)` and `grad(X)` called on the
    /// whole (N, d) ensemble (then `d` is required). `scheme`: `"euler"` (R^d),
    /// `"projected"`, `"mirror"` (the paper's dual Euler step) or `"adjusted"`
    /// (Metropolis-adjusted mirror step, built-in freezable functionals only); `domain`:
    /// `"euclidean"`, `"simplex"` (entropic mirror map) or `"box"` with `lower`, `upper`
    /// (log-barrier mirror map).
    #[new]
    #[pyo3(signature = (functional, *, lam, eta, scheme="euler", domain="euclidean", lower=None,
        upper=None, d=None, kappa=1.0, b=None, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        functional: &Bound<'_, PyAny>,
        lam: f64,
        eta: f64,
        scheme: &str,
        domain: &str,
        lower: Option<&Bound<'_, PyAny>>,
        upper: Option<&Bound<'_, PyAny>>,
        d: Option<usize>,
        kappa: f64,
        b: Option<&Bound<'_, PyAny>>,
        threads: usize,
    ) -> PyResult<Self> {
        let params = LangevinParams::new(lam, eta).map_err(errors::integrator)?;
        let slot = Slot::default();
        let domain = self::domain(domain, lower, upper)?;
        let f = functional::from_python(functional, d, kappa, b, &slot)?;
        let parallel = threads > 1 && !f.is_python();
        let f = if parallel {
            f.with_parallelism(Parallelism::Rayon)
        } else {
            f
        };
        let copy = f.duplicate(py);
        let dynamics = build(scheme, &domain, f, params, parallel)?;
        Ok(Self {
            dynamics,
            functional: copy,
            domain,
            slot,
            pool: runs::pool(threads)?,
        })
    }

    /// A fresh run from the (N, d) ensemble `x0` (on the dynamics' domain) with seed
    /// `seed`.
    #[pyo3(signature = (x0, seed=0))]
    fn start(&self, x0: &Bound<'_, PyAny>, seed: u64) -> PyResult<LangevinRun> {
        let ens = arrays::ensemble_on("x0", x0, self.domain.clone())?;
        let cp = runs::start(&self.dynamics, ens, seed)?;
        Ok(LangevinRun { cp })
    }

    /// F at the (N, d) ensemble `x`.
    fn value(&self, x: &Bound<'_, PyAny>) -> PyResult<f64> {
        let ens = arrays::ensemble_on("x", x, self.domain.clone())?;
        self.slot.clear();
        let v = self.functional.value(&ens);
        if let Some(e) = self.slot.take("functional", 0) {
            return Err(e);
        }
        v.map_err(errors::energy)
    }
});

/// A resumable Langevin run: the Rust `Checkpoint<Ensemble>`.
#[pyclass(module = "meanfield._core")]
pub struct LangevinRun {
    cp: Checkpoint<Ensemble>,
}

runs::run_class!(LangevinRun {});
