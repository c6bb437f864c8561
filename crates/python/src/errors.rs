//! Rust errors → Python exceptions. Each Rust error kind maps to a subclass of
//! `meanfield.MeanfieldError` (defined in `meanfield/errors.py`, so that the parameter
//! and state errors can also be `ValueError`s); the message is the Rust message.

use meanfield_energy::EnergyError;
use meanfield_integrators::IntegratorError;
use meanfield_measures::MeasuresError;
use pyo3::prelude::*;

/// An instance of `meanfield.errors.<class>` with `message`.
pub fn raise(class: &str, message: String) -> PyErr {
    Python::attach(|py| {
        match py
            .import("meanfield.errors")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.call1((message.clone(),)))
        {
            Ok(e) => PyErr::from_value(e),
            Err(e) => e,
        }
    })
}

/// The `meanfield.errors` class of an integrator error.
fn integrator_class(e: &IntegratorError) -> &'static str {
    match e {
        IntegratorError::Diverged { .. } => "DivergedError",
        IntegratorError::InvalidParameter { .. } => "InvalidParameterError",
        IntegratorError::IncompatibleState(_) => "IncompatibleStateError",
        IntegratorError::Checkpoint(_) => "CheckpointError",
        IntegratorError::Observer { .. } => "ObserverError",
        IntegratorError::UnsupportedStop { .. } => "UnsupportedStopError",
        IntegratorError::Energy { .. } => "EnergyError",
        IntegratorError::LinearAlgebra { .. } => "LinearAlgebraError",
        IntegratorError::PositivityLost { .. } => "PositivityLostError",
        IntegratorError::Measures(_) => "MeasuresError",
        _ => "MeanfieldError",
    }
}

/// The Python exception of an integrator error.
pub fn integrator(e: IntegratorError) -> PyErr {
    raise(integrator_class(&e), e.to_string())
}

/// The Python exception of an integrator error caused by the argument `arg` (same
/// class, the message prefixed with the argument's name).
pub fn integrator_arg(arg: &str, e: IntegratorError) -> PyErr {
    raise(integrator_class(&e), format!("{arg}: {e}"))
}

/// The Python exception of an energy error.
pub fn energy(e: EnergyError) -> PyErr {
    let class = match &e {
        EnergyError::InvalidParameter { .. } => "InvalidParameterError",
        EnergyError::DimensionMismatch { .. } => "IncompatibleStateError",
        _ => "EnergyError",
    };
    raise(class, e.to_string())
}

/// The Python exception of a measures error.
pub fn measures(e: MeasuresError) -> PyErr {
    raise("MeasuresError", e.to_string())
}
