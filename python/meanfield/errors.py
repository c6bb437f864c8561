"""Exceptions raised by meanfield: one class per kind of Rust error, all subclasses of
:class:`MeanfieldError`, each carrying the Rust message. Errors about a bad value the
caller passed are also :class:`ValueError` s."""


class MeanfieldError(Exception):
    """Base class of every error the Rust core reports."""


class InvalidParameterError(MeanfieldError, ValueError):
    """A numerical parameter is invalid (Rust ``InvalidParameter``)."""


class IncompatibleStateError(MeanfieldError, ValueError):
    """The state does not fit the dynamics: dimension, domain (Rust ``IncompatibleState``)."""


class DivergedError(MeanfieldError, ArithmeticError):
    """The state became non-finite at the step named in the message (Rust ``Diverged``)."""


class CheckpointError(MeanfieldError, ValueError):
    """A checkpoint belongs to other dynamics or cannot be (de)serialised."""


class ObserverError(MeanfieldError):
    """An observer failed the run (Rust ``Observer``)."""


class UnsupportedStopError(MeanfieldError, ValueError):
    """A stop criterion needs a quantity this dynamics does not report."""


class EnergyError(MeanfieldError):
    """The energy functional failed (Rust ``Energy``)."""


class LinearAlgebraError(MeanfieldError):
    """A linear-algebra kernel failed (Rust ``LinearAlgebra``)."""


class PositivityLostError(MeanfieldError):
    """An Euler Fisher–Rao weight step would make a weight negative."""


class MeasuresError(MeanfieldError, ValueError):
    """Error from the measures crate (ensembles, weights, domains)."""


class DiagnosticsError(MeanfieldError, ValueError):
    """Bad input to a diagnostic (empty, mismatched or non-finite samples)."""


__all__ = [
    "MeanfieldError",
    "InvalidParameterError",
    "IncompatibleStateError",
    "DivergedError",
    "CheckpointError",
    "ObserverError",
    "UnsupportedStopError",
    "EnergyError",
    "LinearAlgebraError",
    "PositivityLostError",
    "MeasuresError",
    "DiagnosticsError",
]
