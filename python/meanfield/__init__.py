"""meanfield: interacting particle systems for mean-field gradient flows, from NumPy.

The numerics are the Rust crates of the meanfield workspace (native module
``meanfield._core``); this package converts NumPy arrays and Python callables and
delegates. See ``python/README.md`` for a five-minute tour and ``docs/python.md``.
"""

from . import diagnostics, errors
from ._core import (
    CBO,
    CBS,
    MFLD,
    MGDM,
    MPD,
    PGD,
    PMGD,
    PQN,
    PSO,
    CBOMemory,
    CboMemoryRun,
    CboRun,
    ConstrainedCBO,
    MgdmRun,
    MirrorCBO,
    MirrorCboRun,
    PolarCBO,
    PolarCboRun,
    PsoRun,
    FeatureMap,
    FisherRao,
    Functional,
    LangevinRun,
    LatentModel,
    LatentRun,
    PathLaw,
    WeightedRun,
    __version__,
    test_function,
)
from .errors import *  # noqa: F401,F403

__all__ = [
    "CBO",
    "CboRun",
    "CBS",
    "PolarCBO",
    "PolarCboRun",
    "CBOMemory",
    "CboMemoryRun",
    "PSO",
    "PsoRun",
    "MirrorCBO",
    "MirrorCboRun",
    "ConstrainedCBO",
    "MFLD",
    "LangevinRun",
    "Functional",
    "FisherRao",
    "WeightedRun",
    "LatentModel",
    "PGD",
    "MPD",
    "PQN",
    "PMGD",
    "LatentRun",
    "PathLaw",
    "FeatureMap",
    "MGDM",
    "MgdmRun",
    "test_function",
    "diagnostics",
    "errors",
    "__version__",
] + errors.__all__
