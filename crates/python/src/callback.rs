//! Python callbacks inside Rust loops. The Rust traits they implement cannot carry a
//! Python exception, so a failing callback parks its error in a [`Slot`] and makes the
//! Rust side fail or stop (NaN values, a firing stop predicate); the binding then raises
//! the parked error instead of the Rust one: a user exception with its own traceback,
//! a bad return value as a `ValueError` naming the step.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Why a callback failed.
pub enum Failure {
    /// The callback raised (re-raised unchanged).
    Raised(PyErr),
    /// The callback returned a bad value (message without the step).
    Invalid(String),
}

/// The first failure of the callbacks of one run (shared by the objective, observers,
/// predicates and progress).
#[derive(Clone, Default)]
pub struct Slot(Arc<Mutex<Option<Failure>>>);

impl Slot {
    /// Parks `f` unless a failure is already parked (the first one wins).
    pub fn park(&self, f: Failure) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(f);
        }
    }

    /// Whether a failure is parked.
    pub fn failed(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Removes and returns the parked failure as a Python exception; `what` names the
    /// callback and `step` the step it failed at.
    pub fn take(&self, what: &str, step: u64) -> Option<PyErr> {
        let f = self.0.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(match f {
            Failure::Raised(e) => e,
            Failure::Invalid(msg) => PyValueError::new_err(format!("{what} at step {step}: {msg}")),
        })
    }

    /// Forgets any parked failure (before a new run).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}
