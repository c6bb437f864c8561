//! NumPy ↔ Rust conversions with the checks the package promises: float64, the expected
//! rank, C-contiguous, finite; every failure is a `ValueError` naming the argument and
//! the expected shape.

use meanfield_measures::{Domain, Ensemble};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The values of `obj`, which must be a C-contiguous float64 array of rank `shape.len()`
/// (named `name`, expected shape spelled `shape`, e.g. `["N", "d"]`), with finite values;
/// returns the data (row-major) and the actual dimensions.
pub fn float_array(
    name: &str,
    obj: &Bound<'_, PyAny>,
    shape: &[&str],
) -> PyResult<(Vec<f64>, Vec<usize>)> {
    let expected = format!("({})", shape.join(", "));
    let Ok(arr) = obj.cast::<PyArrayDyn<f64>>() else {
        let what = match obj.getattr("dtype") {
            Ok(dt) => format!("an array of dtype {dt}"),
            Err(_) => format!("a {}", obj.get_type().name()?),
        };
        return Err(PyValueError::new_err(format!(
            "{name}: expected a float64 NumPy array of shape {expected}, got {what}"
        )));
    };
    let dims = arr.shape().to_vec();
    if dims.len() != shape.len() {
        return Err(PyValueError::new_err(format!(
            "{name}: expected a float64 array of shape {expected}, got shape {dims:?}"
        )));
    }
    if !arr.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{name}: the array of shape {dims:?} is not C-contiguous (use numpy.ascontiguousarray)"
        )));
    }
    let ro = arr.readonly();
    let data = ro.as_slice()?;
    if let Some(k) = data.iter().position(|v| !v.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "{name}: value {} at flat index {k} is not finite (shape {expected} = {dims:?})",
            data[k]
        )));
    }
    Ok((data.to_vec(), dims))
}

/// An (N, d) ensemble on R^d from the argument `name`.
pub fn ensemble(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Ensemble> {
    let (data, dims) = float_array(name, obj, &["N", "d"])?;
    if dims[0] == 0 || dims[1] == 0 {
        return Err(PyValueError::new_err(format!(
            "{name}: expected shape (N, d) with N ≥ 1 and d ≥ 1, got {dims:?}"
        )));
    }
    Ensemble::new(dims[0], dims[1], data, Domain::Euclidean).map_err(crate::errors::measures)
}

/// An (N, d) ensemble from the argument `name` on `domain` (membership checked by
/// [`Ensemble::new`]; a point outside is a `ValueError` naming the particle).
pub fn ensemble_on(name: &str, obj: &Bound<'_, PyAny>, domain: Domain) -> PyResult<Ensemble> {
    let (data, dims) = float_array(name, obj, &["N", "d"])?;
    if dims[0] == 0 || dims[1] == 0 {
        return Err(PyValueError::new_err(format!(
            "{name}: expected shape (N, d) with N ≥ 1 and d ≥ 1, got {dims:?}"
        )));
    }
    Ensemble::new(dims[0], dims[1], data, domain)
        .map_err(|err| PyValueError::new_err(format!("{name}: {err}")))
}

/// A length-`d` vector from the argument `name`.
pub fn vector(name: &str, obj: &Bound<'_, PyAny>, d: usize) -> PyResult<Vec<f64>> {
    let (data, dims) = float_array(name, obj, &["d"])?;
    if dims[0] != d {
        return Err(PyValueError::new_err(format!(
            "{name}: expected shape ({d},), got {dims:?}"
        )));
    }
    Ok(data)
}

/// A new (n, d) float64 array holding `data` (row-major).
pub fn matrix<'py>(
    py: Python<'py>,
    data: &[f64],
    n: usize,
    d: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let flat = numpy::PyArray1::from_slice(py, data);
    Ok(flat.reshape([n, d])?.into_any())
}

/// An (n, d) float64 array that takes over `data` (row-major) without copying it: NumPy
/// owns the Rust buffer (`PyArray::from_vec`, a reshaped view of it).
pub fn matrix_owned(
    py: Python<'_>,
    data: Vec<f64>,
    n: usize,
    d: usize,
) -> PyResult<Bound<'_, PyAny>> {
    let flat = numpy::PyArray1::from_vec(py, data);
    Ok(flat.reshape([n, d])?.into_any())
}

/// A 1-D float64 array that takes over `data` without copying it.
pub fn array1_owned(py: Python<'_>, data: Vec<f64>) -> Bound<'_, PyAny> {
    numpy::PyArray1::from_vec(py, data).into_any()
}

/// A new 1-D float64 array holding `data`.
pub fn array1<'py>(py: Python<'py>, data: &[f64]) -> Bound<'py, PyAny> {
    numpy::PyArray1::from_slice(py, data).into_any()
}

/// An (N, d) ensemble from `x`, weighted by the (N,) array `w` when given (weights must
/// be ≥ 0 and sum to 1).
pub fn weighted_ensemble(
    name: &str,
    x: &Bound<'_, PyAny>,
    w: Option<&Bound<'_, PyAny>>,
) -> PyResult<Ensemble> {
    let mut ens = ensemble(name, x)?;
    if let Some(w) = w {
        let w = vector("w", w, ens.n())?;
        let w = meanfield_measures::Weights::from_unnormalised(w)
            .map_err(|e| PyValueError::new_err(format!("w: {e}")))?;
        ens.set_weights(w)
            .map_err(|e| PyValueError::new_err(format!("w: {e}")))?;
    }
    Ok(ens)
}

/// A length-`d` vector of bounds from the argument `name`: float64, not NaN, ±∞ allowed
/// (box bounds).
pub fn bounds(name: &str, obj: &Bound<'_, PyAny>, d: Option<usize>) -> PyResult<Vec<f64>> {
    let shape = match d {
        Some(d) => format!("({d},)"),
        None => "(d,)".into(),
    };
    let arr = obj.cast::<numpy::PyArray1<f64>>().map_err(|_| {
        PyValueError::new_err(format!(
            "{name}: expected a float64 NumPy array of shape {shape}"
        ))
    })?;
    let v = arr.readonly().as_array().to_vec();
    if let Some(d) = d
        && v.len() != d
    {
        return Err(PyValueError::new_err(format!(
            "{name}: expected shape {shape}, got ({},)",
            v.len()
        )));
    }
    if let Some(k) = v.iter().position(|x| x.is_nan()) {
        return Err(PyValueError::new_err(format!("{name}: NaN at index {k}")));
    }
    Ok(v)
}

/// A new (a, b, c) float64 array holding `data` (row-major).
pub fn array3<'py>(
    py: Python<'py>,
    data: &[f64],
    a: usize,
    b: usize,
    c: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let flat = numpy::PyArray1::from_slice(py, data);
    Ok(flat.reshape([a, b, c])?.into_any())
}
