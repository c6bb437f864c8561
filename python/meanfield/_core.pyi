"""Type stubs of the native module ``meanfield._core`` (built from crates/python)."""
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Observation = dict[str, Any]
"""``{"step": int, "time": float, "state": dict, "info": dict | None}``."""

__version__: str

def test_function(name: str, x: Array, shift: Optional[Array] = None) -> Array:
    """Values of the built-in test function ``name`` (rastrigin, ackley, rosenbrock,
    griewank, schwefel; CBXpy 1.0.4's definitions) at the rows of the (N, d) array ``x``."""

class CboRun:
    """A resumable CBO run (the Rust ``Checkpoint<CboState>``)."""

    x: Array
    """The particles, a new (N, d) array."""
    step: int
    """Steps taken so far."""
    time: float
    """Physical time reached."""
    seed: int
    """The run's seed."""
    alpha: float
    """α of the next step."""
    consensus: Array
    """Consensus point of the last step (empty before the first)."""
    best_x: Array
    """Best particle seen so far."""
    best_f: float
    """Its objective value (inf before the first step)."""
    evaluations: int
    """Objective evaluations so far."""
    def state(self) -> dict[str, Any]:
        """The state dict observers receive."""
    def to_json(self) -> str:
        """The checkpoint as JSON (floats round-trip exactly)."""
    @staticmethod
    def from_json(s: str) -> "CboRun":
        """A run from ``to_json`` output (``CheckpointError`` if malformed)."""
    def save(self, path: str) -> None:
        """Writes the checkpoint JSON to ``path``."""
    @staticmethod
    def load(path: str) -> "CboRun":
        """Reads a checkpoint file written by ``save``."""

class CBO:
    """Consensus-based optimisation on a built-in test function or a Python objective
    ``f(X)`` called once per step on the whole array (``f_dim="2D"``: X (N, d) → (N,);
    ``"3D"``: X (1, N, d) → (1, N))."""

    def __init__(
        self,
        objective: Union[str, Callable[[Array], Array]],
        d: int,
        *,
        lam: float = 1.0,
        sigma: float = 1.0,
        dt: float = 0.01,
        alpha: float = 1.0,
        schedule: Union[None, str, dict[str, Any]] = None,
        noise: str = "anisotropic",
        batch_size: Optional[int] = None,
        batch_partial: bool = True,
        f_dim: str = "2D",
        shift: Optional[Array] = None,
        threads: int = 1,
    ) -> None: ...
    def start(self, x0: Array, seed: int = 0) -> CboRun:
        """A fresh run from the (N, d) array ``x0``."""
    def run(
        self,
        run: CboRun,
        steps: int,
        *,
        energy_tol: Optional[float] = None,
        stagnation: Optional[Tuple[float, int]] = None,
        ess_below: Optional[float] = None,
        time_budget: Optional[float] = None,
        stop_when: Optional[Callable[[Observation], bool]] = None,
        observers: Optional[Sequence[Tuple[int, Callable[[Observation], Any]]]] = None,
        progress: Union[None, bool, Callable[[int, int], Any]] = None,
    ) -> dict[str, Any]:
        """Advances ``run`` to ``steps`` steps in total (or until a criterion fires);
        returns ``{"reason", "steps_taken", "mean_acceptance", "last_info"}``."""
    def minimize(
        self,
        x0: Array,
        max_steps: int,
        *,
        seed: int = 0,
        energy_tol: Optional[float] = None,
        stagnation: Optional[Tuple[float, int]] = None,
    ) -> dict[str, Any]:
        """Independent runs from x0 of shape (N, d) or (M, N, d) to their outcomes."""
    def fingerprint(self) -> str:
        """The fingerprint stored in this optimiser's checkpoints."""
    def objective_values(self, x: Array) -> Array:
        """The objective at the rows of the (N, d) array ``x``."""
