"""meanfield.diagnostics: each function against a NumPy computation of its formula,
and bad input (empty, NaN, wrong shape) as errors naming the argument."""
import numpy as np
import pytest

import meanfield as mf
from meanfield import diagnostics as dg


def test_moments_match_numpy(rng):
    x = rng.normal(size=(200, 3))
    w = rng.uniform(size=200)
    w /= w.sum()
    assert np.allclose(dg.mean(x), x.mean(axis=0), rtol=0, atol=1e-14)
    assert np.allclose(dg.mean(x, w), w @ x, rtol=0, atol=1e-14)
    m = w @ x
    cov = (w[:, None] * (x - m)).T @ (x - m)
    assert np.allclose(dg.covariance(x, w), cov, rtol=0, atol=1e-13)
    mean, var, se = dg.sample_stats(np.ascontiguousarray(x[:, 0]))
    assert mean == pytest.approx(x[:, 0].mean()) and var == pytest.approx(x[:, 0].var(ddof=1))
    assert se == pytest.approx(np.sqrt(var / 200))


def test_one_dimensional_wasserstein_is_the_sorted_coupling(rng):
    a, b = rng.normal(size=300), rng.normal(1.0, 2.0, size=300)
    sa, sb = np.sort(a), np.sort(b)
    assert dg.w1(a, b) == pytest.approx(np.abs(sa - sb).mean(), rel=1e-12)
    assert dg.w2(a, b) == pytest.approx(np.sqrt(((sa - sb) ** 2).mean()), rel=1e-12)
    assert dg.wasserstein_1d(a, b, 3.0) == pytest.approx((np.abs(sa - sb) ** 3).mean() ** (1 / 3),
                                                         rel=1e-12)
    # uniform explicit weights are the unweighted distance
    u = np.full(300, 1 / 300)
    assert dg.wasserstein_1d(a, b, 2.0, u, u) == pytest.approx(dg.w2(a, b), rel=1e-10)


def test_sliced_w2_and_mmd(rng):
    x = rng.normal(size=(300, 2))
    assert dg.sliced_w2(x, x, 50, 1) == 0.0
    y = x + np.array([1.0, 0.0])
    # a shift s: sliced W2² = E_θ (θ·s)² = |s|²/d for directions uniform on the sphere
    s = dg.sliced_w2(x, y, 2000, 3)
    assert s == pytest.approx(np.sqrt(0.5), rel=0.05)
    assert dg.mmd2(x, x, 1.0) == pytest.approx(0.0, abs=1e-14)
    h = 1.0
    k = lambda a, b: np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * h * h))
    want = k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()
    assert dg.mmd2(x, y, h) == pytest.approx(want, rel=1e-10)
    assert dg.median_bandwidth(x, y) > 0


def test_ess_ks_boundary_and_slope(rng):
    assert dg.ess(np.ones(10)) == pytest.approx(10.0)
    w = rng.uniform(size=50)
    assert dg.ess(w) == pytest.approx(w.sum() ** 2 / (w ** 2).sum())
    u = rng.uniform(size=400)
    d, p = dg.ks_test(u, lambda t: t)
    su = np.sort(u)
    i = np.arange(1, 401)
    assert d == pytest.approx(max((i / 400 - su).max(), (su - (i - 1) / 400).max()), rel=1e-12)
    assert 0 < p <= 1
    x = np.array([[0.5, 0.4995, 0.0005], [0.2, 0.3, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    assert dg.boundary_mass(x, 1e-3) == pytest.approx(1 / 3)
    t = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    fit = dg.loglog_slope(t, 3.0 * t ** -0.5)
    assert fit["slope"] == pytest.approx(-0.5, abs=1e-12) and fit["n"] == 5
    assert fit["slope_ci95"][0] <= -0.5 <= fit["slope_ci95"][1]


def test_bad_input():
    with pytest.raises(mf.DiagnosticsError, match="empty"):
        dg.w1(np.array([]), np.array([1.0]))
    with pytest.raises(ValueError, match="a: value NaN"):
        dg.w2(np.array([np.nan, 1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="x: expected a float64 array of shape \\(N, d\\)"):
        dg.mean(np.zeros(3))
    with pytest.raises(ValueError, match="w: expected shape \\(3,\\)"):
        dg.mean(np.zeros((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="cdf"):
        dg.ks_test(np.array([0.1, 0.2]), lambda t: t[:1])
    with pytest.raises(ValueError, match="x"):
        dg.boundary_mass(np.array([[0.5, 0.6]]), 1e-3)  # not on the simplex
    with pytest.raises(mf.DiagnosticsError):
        dg.loglog_slope(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
