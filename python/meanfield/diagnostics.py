"""Diagnostics of particle approximations as NumPy functions (the Rust crate
``meanfield-diagnostics``): moments, 1-D Wasserstein distances, sliced W2, MMD, ESS,
Kolmogorov–Smirnov, boundary mass, log–log slopes. Bad input raises
:class:`meanfield.DiagnosticsError` (a ``ValueError``) or a ``ValueError`` naming the
argument and the expected shape."""

from ._core import diagnostics as _d

mean = _d.mean
covariance = _d.covariance
sample_stats = _d.sample_stats
wasserstein_1d = _d.wasserstein_1d
w1 = _d.w1
w2 = _d.w2
sliced_w2 = _d.sliced_w2
mmd2 = _d.mmd2
median_bandwidth = _d.median_bandwidth
ess = _d.ess
ks_test = _d.ks_test
boundary_mass = _d.boundary_mass
loglog_slope = _d.loglog_slope

__all__ = [
    "mean",
    "covariance",
    "sample_stats",
    "wasserstein_1d",
    "w1",
    "w2",
    "sliced_w2",
    "mmd2",
    "median_bandwidth",
    "ess",
    "ks_test",
    "boundary_mass",
    "loglog_slope",
]
