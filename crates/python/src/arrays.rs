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

/// A new 1-D float64 array holding `data`.
pub fn array1<'py>(py: Python<'py>, data: &[f64]) -> Bound<'py, PyAny> {
    numpy::PyArray1::from_slice(py, data).into_any()
}
