//! The diagnostics crate as NumPy functions (`meanfield.diagnostics`): moments, 1-D
//! Wasserstein distances, sliced W2, MMD, ESS, Kolmogorov–Smirnov, boundary mass and
//! log–log slopes. Each converts its arrays and calls `meanfield_diagnostics`.

use std::collections::HashMap;

use meanfield_diagnostics as diag;
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;

/// The Python exception of a diagnostics error (`meanfield.DiagnosticsError`, also a
/// `ValueError`).
fn err(e: diag::DiagnosticsError) -> PyErr {
    crate::errors::raise("DiagnosticsError", e.to_string())
}

/// A 1-D sample from the argument `name` (float64, finite, any length ≥ 0).
fn sample(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    Ok(arrays::float_array(name, obj, &["n"])?.0)
}

/// Weighted mean of the (N, d) ensemble `x` (weights `w` of shape (N,) if given), (d,).
#[pyfunction]
#[pyo3(signature = (x, w=None))]
fn mean<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let ens = arrays::weighted_ensemble("x", x, w)?;
    Ok(arrays::array1_owned(py, diag::mean(&ens)))
}

/// Weighted covariance Σ_i W^i (X^i − m)(X^i − m)ᵀ of the (N, d) ensemble `x`, (d, d).
#[pyfunction]
#[pyo3(signature = (x, w=None))]
fn covariance<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let ens = arrays::weighted_ensemble("x", x, w)?;
    arrays::matrix_owned(py, diag::covariance(&ens), ens.dim(), ens.dim())
}

/// Sample mean, unbiased variance and standard error sqrt(var/n) of the 1-D sample `a`.
#[pyfunction]
fn sample_stats(a: &Bound<'_, PyAny>) -> PyResult<(f64, f64, f64)> {
    let a = sample("a", a)?;
    let (m, v) = diag::sample_mean_var(&a).map_err(err)?;
    Ok((m, v, diag::standard_error(&a).map_err(err)?))
}

/// Exact W_p between the empirical laws of the 1-D samples `a` and `b` (quantile
/// coupling; weights `wa`, `wb` if given), p ≥ 1.
#[pyfunction]
#[pyo3(signature = (a, b, p=2.0, wa=None, wb=None))]
fn wasserstein_1d(
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    p: f64,
    wa: Option<&Bound<'_, PyAny>>,
    wb: Option<&Bound<'_, PyAny>>,
) -> PyResult<f64> {
    let (a, b) = (sample("a", a)?, sample("b", b)?);
    match (wa, wb) {
        (None, None) => diag::wp_1d(&a, &b, p).map_err(err),
        _ => {
            let wa = match wa {
                Some(w) => arrays::vector("wa", w, a.len())?,
                None => vec![1.0 / a.len().max(1) as f64; a.len()],
            };
            let wb = match wb {
                Some(w) => arrays::vector("wb", w, b.len())?,
                None => vec![1.0 / b.len().max(1) as f64; b.len()],
            };
            diag::wp_1d_weighted(&a, &wa, &b, &wb, p).map_err(err)
        }
    }
}

/// W_1 between the 1-D samples `a` and `b`.
#[pyfunction]
fn w1(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<f64> {
    diag::w1_1d(&sample("a", a)?, &sample("b", b)?).map_err(err)
}

/// W_2 between the 1-D samples `a` and `b`.
#[pyfunction]
fn w2(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<f64> {
    diag::w2_1d(&sample("a", a)?, &sample("b", b)?).map_err(err)
}

/// Sliced W_2 between the (N, d) and (M, d) ensembles `x` and `y` with `n_projections`
/// random directions from the keyed stream of `seed`.
#[pyfunction]
#[pyo3(signature = (x, y, n_projections=100, seed=0))]
fn sliced_w2(
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    n_projections: usize,
    seed: u64,
) -> PyResult<f64> {
    let (x, y) = (arrays::ensemble("x", x)?, arrays::ensemble("y", y)?);
    diag::sliced_w2(&x, &y, n_projections, seed).map_err(err)
}

/// Gaussian-kernel MMD² between the ensembles `x` and `y` with bandwidth `h`
/// (V-statistic, or the U-statistic with `unbiased=True`).
#[pyfunction]
#[pyo3(signature = (x, y, h, unbiased=false))]
fn mmd2(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>, h: f64, unbiased: bool) -> PyResult<f64> {
    let (x, y) = (arrays::ensemble("x", x)?, arrays::ensemble("y", y)?);
    if unbiased {
        diag::mmd2_unbiased(&x, &y, h).map_err(err)
    } else {
        diag::mmd2_biased(&x, &y, h).map_err(err)
    }
}

/// The median heuristic bandwidth of the pooled ensembles `x` and `y`.
#[pyfunction]
fn median_bandwidth(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<f64> {
    let (x, y) = (arrays::ensemble("x", x)?, arrays::ensemble("y", y)?);
    diag::median_bandwidth(&x, &y).map_err(err)
}

/// Kish effective sample size (Σw)²/Σw² of the weights `w` (≥ 0, not all 0).
#[pyfunction]
fn ess(w: &Bound<'_, PyAny>) -> PyResult<f64> {
    diag::effective_sample_size(&sample("w", w)?).map_err(err)
}

/// Kolmogorov–Smirnov test of the 1-D sample `a` against the CDF `cdf`, a vectorised
/// callable called once on the whole sample (shape (n,) → (n,)). Returns
/// (statistic, p-value).
#[pyfunction]
fn ks_test(py: Python<'_>, a: &Bound<'_, PyAny>, cdf: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    let a = sample("a", a)?;
    let y = cdf.call1((arrays::array1(py, &a),))?;
    let y = y.cast::<PyArrayDyn<f64>>().map_err(|_| {
        PyValueError::new_err(format!(
            "cdf: must return a float64 array of shape ({},)",
            a.len()
        ))
    })?;
    if y.shape() != [a.len()] {
        return Err(PyValueError::new_err(format!(
            "cdf: returned shape {:?}, expected ({},)",
            y.shape(),
            a.len()
        )));
    }
    let values: HashMap<u64, f64> = a
        .iter()
        .zip(y.readonly().as_array().iter())
        .map(|(x, &f)| (x.to_bits(), f))
        .collect();
    // The diagnostics crate evaluates the CDF at the sample points only.
    let t = diag::ks_test(&a, |x| {
        values.get(&x.to_bits()).copied().unwrap_or(f64::NAN)
    })
    .map_err(err)?;
    Ok((t.statistic, t.p_value))
}

/// Weighted mass of the (N, d) ensemble `x` within `eps` of the boundary of `domain`
/// (`"simplex"` or `"box"` with `lower`, `upper`).
#[pyfunction]
#[pyo3(signature = (x, eps, domain="simplex", lower=None, upper=None, w=None))]
fn boundary_mass(
    x: &Bound<'_, PyAny>,
    eps: f64,
    domain: &str,
    lower: Option<&Bound<'_, PyAny>>,
    upper: Option<&Bound<'_, PyAny>>,
    w: Option<&Bound<'_, PyAny>>,
) -> PyResult<f64> {
    let domain = crate::mfld::domain(domain, lower, upper)?;
    let mut ens = arrays::ensemble_on("x", x, domain)?;
    if let Some(w) = w {
        let w = arrays::vector("w", w, ens.n())?;
        let w = meanfield_measures::Weights::from_unnormalised(w)
            .map_err(|e| PyValueError::new_err(format!("w: {e}")))?;
        ens.set_weights(w)
            .map_err(|e| PyValueError::new_err(format!("w: {e}")))?;
    }
    diag::boundary_mass(&ens, eps).map_err(err)
}

/// Least-squares fit of log y ≈ a + b log x (an order of convergence): a dict with
/// slope, intercept, slope_se, intercept_se, r_squared, n and the 95 % t-interval of
/// the slope.
#[pyfunction]
fn loglog_slope<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let fit = diag::loglog_slope(&sample("x", x)?, &sample("y", y)?).map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("slope", fit.slope)?;
    d.set_item("intercept", fit.intercept)?;
    d.set_item("slope_se", fit.slope_se)?;
    d.set_item("intercept_se", fit.intercept_se)?;
    d.set_item("r_squared", fit.r_squared)?;
    d.set_item("n", fit.n)?;
    d.set_item("slope_ci95", fit.t_interval(0.95).map_err(err)?)?;
    Ok(d)
}

/// The submodule `meanfield._core.diagnostics`.
pub fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "diagnostics")?;
    m.add_function(wrap_pyfunction!(mean, &m)?)?;
    m.add_function(wrap_pyfunction!(covariance, &m)?)?;
    m.add_function(wrap_pyfunction!(sample_stats, &m)?)?;
    m.add_function(wrap_pyfunction!(wasserstein_1d, &m)?)?;
    m.add_function(wrap_pyfunction!(w1, &m)?)?;
    m.add_function(wrap_pyfunction!(w2, &m)?)?;
    m.add_function(wrap_pyfunction!(sliced_w2, &m)?)?;
    m.add_function(wrap_pyfunction!(mmd2, &m)?)?;
    m.add_function(wrap_pyfunction!(median_bandwidth, &m)?)?;
    m.add_function(wrap_pyfunction!(ess, &m)?)?;
    m.add_function(wrap_pyfunction!(ks_test, &m)?)?;
    m.add_function(wrap_pyfunction!(boundary_mass, &m)?)?;
    m.add_function(wrap_pyfunction!(loglog_slope, &m)?)?;
    Ok(m)
}
