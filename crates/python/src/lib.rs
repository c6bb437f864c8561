//! # meanfield-python
//!
//! The native module `meanfield._core` of the Python package in `python/` (built by
//! maturin). It only converts and delegates: NumPy arrays ↔ ensembles ([`arrays`]),
//! Rust errors → Python exceptions ([`errors`]), Python callables as objectives
//! ([`objective`]), functionals ([`functional`]), latent models ([`particle_em`]) and
//! runner callbacks ([`runs`], [`callback`]); every number is computed by the Rust
//! crates. One module per family: [`cbo`], [`consensus`] (CBS, polarised, memory, PSO,
//! mirror and constrained CBO), [`mfld`] (plain, projected, mirror and
//! adjusted mirror MFLD), [`fisher_rao`], [`mgdm`] (MGDM / MF-MGDM), [`particle_em`] (PGD, PQN, PMGD, MPD), plus
//! [`diagnostics`]; the run and dynamics classes share their methods through
//! [`runs`]'s `run_class!` and `dynamics_class!`. The Python API is documented in
//! `python/README.md` and `docs/python.md`.

pub mod arrays;
pub mod callback;
pub mod cbo;
pub mod consensus;
pub mod diagnostics;
pub mod errors;
pub mod fisher_rao;
pub mod functional;
pub mod mfld;
pub mod mgdm;
pub mod objective;
pub mod particle_em;
pub mod replicas;
pub mod runs;

use pyo3::prelude::*;

/// The test functions of `meanfield_energy::objectives` as NumPy functions: values of
/// `name` at the rows of the (N, d) array `x`.
#[pyfunction]
#[pyo3(signature = (name, x, shift=None))]
fn test_function<'py>(
    py: Python<'py>,
    name: &str,
    x: &Bound<'py, PyAny>,
    shift: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    use meanfield_energy::Objective;
    let ens = arrays::ensemble("x", x)?;
    let shift = shift
        .map(|s| arrays::vector("shift", s, ens.dim()))
        .transpose()?;
    let f = objective::builtin(name, ens.dim(), shift)?;
    let mut out = vec![0.0; ens.n()];
    f.values(ens.as_slice(), &mut out);
    Ok(arrays::array1_owned(py, out))
}

/// The seed of replicate `r` of stratum `stratum` of the base seed `seed`
/// (`meanfield_measures::replicate_seed`): run r of `minimize(…, seed=s)` has seed
/// `replicate_seed(s, 0, r)`.
#[pyfunction]
fn replicate_seed(seed: u64, stratum: u32, r: u64) -> u64 {
    meanfield_measures::replicate_seed(seed, stratum, r)
}

/// The native module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<cbo::PyCbo>()?;
    m.add_class::<cbo::CboRun>()?;
    m.add_class::<consensus::PyCbs>()?;
    m.add_class::<consensus::PyPolarCbo>()?;
    m.add_class::<consensus::PyCboMemory>()?;
    m.add_class::<consensus::PyPso>()?;
    m.add_class::<consensus::PyMirrorCbo>()?;
    m.add_class::<consensus::PyConstrainedCbo>()?;
    m.add_class::<consensus::PolarCboRun>()?;
    m.add_class::<consensus::CboMemoryRun>()?;
    m.add_class::<consensus::PsoRun>()?;
    m.add_class::<consensus::MirrorCboRun>()?;
    m.add_class::<mfld::PyMfld>()?;
    m.add_class::<mfld::LangevinRun>()?;
    m.add_class::<functional::PyBuiltinFunctional>()?;
    m.add_class::<fisher_rao::PyFisherRao>()?;
    m.add_class::<fisher_rao::WeightedRun>()?;
    m.add_class::<mgdm::PyPathLaw>()?;
    m.add_class::<mgdm::PyFeatureMap>()?;
    m.add_class::<mgdm::PyMgdm>()?;
    m.add_class::<mgdm::MgdmRun>()?;
    m.add_class::<particle_em::PyBuiltinLatent>()?;
    m.add_class::<particle_em::PyPgd>()?;
    m.add_class::<particle_em::PyMpd>()?;
    m.add_class::<particle_em::PyPqn>()?;
    m.add_class::<particle_em::PyPmgd>()?;
    m.add_class::<particle_em::LatentRun>()?;
    m.add_function(wrap_pyfunction!(test_function, m)?)?;
    m.add_function(wrap_pyfunction!(replicate_seed, m)?)?;
    m.add_submodule(&diagnostics::module(m.py())?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
