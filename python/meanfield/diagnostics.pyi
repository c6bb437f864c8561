"""Type stubs of ``meanfield.diagnostics`` (the Rust crate meanfield-diagnostics)."""
from typing import Any, Callable, Optional, Tuple

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

def mean(x: Array, w: Optional[Array] = None) -> Array:
    """Weighted mean of the (N, d) ensemble, shape (d,)."""
def covariance(x: Array, w: Optional[Array] = None) -> Array:
    """Weighted covariance Σ_i W^i (X^i − m)(X^i − m)ᵀ, shape (d, d)."""
def sample_stats(a: Array) -> Tuple[float, float, float]:
    """(mean, unbiased variance, standard error) of a 1-D sample."""
def wasserstein_1d(a: Array, b: Array, p: float = 2.0, wa: Optional[Array] = None,
                   wb: Optional[Array] = None) -> float:
    """Exact W_p between 1-D empirical laws (quantile coupling), optionally weighted."""
def w1(a: Array, b: Array) -> float:
    """W_1 between 1-D samples."""
def w2(a: Array, b: Array) -> float:
    """W_2 between 1-D samples."""
def sliced_w2(x: Array, y: Array, n_projections: int = 100, seed: int = 0) -> float:
    """Sliced W_2 between (N, d) and (M, d) ensembles, keyed random directions."""
def mmd2(x: Array, y: Array, h: float, unbiased: bool = False) -> float:
    """Gaussian-kernel MMD² (V-statistic; U-statistic with ``unbiased=True``)."""
def median_bandwidth(x: Array, y: Array) -> float:
    """Median heuristic bandwidth of the pooled ensembles."""
def ess(w: Array) -> float:
    """Kish effective sample size (Σw)²/Σw²."""
def ks_test(a: Array, cdf: Callable[[Array], Array]) -> Tuple[float, float]:
    """(statistic, p-value) of the one-sample KS test; ``cdf`` is called once on the sample."""
def boundary_mass(x: Array, eps: float, domain: str = "simplex", lower: Optional[Array] = None,
                  upper: Optional[Array] = None, w: Optional[Array] = None) -> float:
    """Weighted mass within ``eps`` of the boundary of the simplex or box."""
def loglog_slope(x: Array, y: Array) -> dict[str, Any]:
    """OLS fit of log y on log x: slope, intercept, their standard errors, r_squared, n,
    slope_ci95."""
