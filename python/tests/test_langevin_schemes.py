"""Projected, mirror (paper) and Metropolis-adjusted mirror MFLD from Python: exact
stationary laws (uniform law on the simplex, MALA's unbiased Gaussian oracle vs Euler's
exact discrete-time law), domain invariance, checkpoint resume, bad input."""
import numpy as np
import pytest

import meanfield as mf
from meanfield import diagnostics as dg


def dirichlet(seed, n, a):
    return np.ascontiguousarray(np.random.default_rng(seed).dirichlet(np.full(3, a), size=n))


def moments_with_se(x):
    """Sample mean and variance with their Monte-Carlo standard errors."""
    n = len(x)
    m, v = x.mean(), x.var(ddof=1)
    m4 = ((x - m) ** 4).mean()
    return m, v, np.sqrt(v / n), np.sqrt((m4 - v * v) / n)


def test_adjusted_scheme_samples_the_uniform_law_on_the_simplex():
    """F = ‖E x − q‖² with q the centroid, β = 0: the proximal Gibbs measure of the
    symmetric fixed point is uniform on Δ², x_1 ~ Beta(1, 2) (mean 1/3, variance 1/18);
    the adjusted scheme has no η-bias (the Rust test of the same claim:
    crates/integrators/tests/mirror_langevin.rs::adjusted_scheme_converges_to_the_uniform_law)."""
    n, eta, lam = 2000, 0.03, 0.1
    dyn = mf.MFLD(mf.Functional.simplex_moment(np.full(3, 1 / 3), 0.0), lam=lam, eta=eta,
                  scheme="adjusted", domain="simplex", threads=2)
    run = dyn.start(dirichlet(12, n, 4.0), seed=77)
    summary = dyn.run(run, 800)
    x1 = np.ascontiguousarray(run.x[:, 0])
    _, p = dg.ks_test(x1, lambda t: 1 - (1 - t) ** 2)
    m, v, se_m, se_v = moments_with_se(x1)
    assert p > 1e-3, p
    assert abs(m - 1 / 3) < 4 * se_m, (m, se_m)
    assert abs(v - 1 / 18) < 4 * se_v, (v, se_v)
    assert summary["mean_acceptance"] > 0.8


@pytest.mark.parametrize("scheme", ["projected", "mirror", "adjusted"])
def test_iterates_stay_on_the_simplex(scheme):
    beta = 0.0 if scheme == "projected" else 0.01  # projected iterates reach the faces
    dyn = mf.MFLD(mf.Functional.simplex_moment(np.array([0.6, 0.3, 0.1]), beta), lam=0.2,
                  eta=0.05, scheme=scheme, domain="simplex")
    run = dyn.start(dirichlet(3, 300, 2.0), seed=1)
    dyn.run(run, 50)
    x = run.x
    assert np.all(x >= 0) and np.allclose(x.sum(axis=1), 1.0, atol=1e-12)
    if scheme != "projected":  # mirror iterates stay in the open simplex
        assert np.all(x > 0)


def test_mirror_on_a_box_stays_strictly_inside():
    lower, upper = np.array([-1.0, 0.0]), np.array([1.0, np.inf])
    dyn = mf.MFLD(mf.Functional.quadratic(1.0, np.array([2.0, 3.0])), lam=0.5, eta=0.2,
                  scheme="mirror", domain="box", lower=lower, upper=upper)
    run = dyn.start(np.full((200, 2), 0.5), seed=4)
    dyn.run(run, 100)
    x = run.x
    assert np.all(x > lower) and np.all(x < upper)


def test_adjusted_identity_is_unbiased_where_euler_is_not():
    """Quadratic F on R²: stationary N(κb/(1+κ), λI). At η = 0.5 Euler–Maruyama's exact
    discrete-time law has variance λ/(1 − η/2); the Metropolis-adjusted scheme (MALA) has
    λ (both within 4 Monte-Carlo standard errors)."""
    lam, eta, kappa, b, n = 0.5, 0.5, 1.0, np.array([1.0, -1.0]), 4000
    f = mf.Functional.quadratic(kappa, b)
    out = {}
    for scheme in ("euler", "adjusted"):
        dyn = mf.MFLD(f, lam=lam, eta=eta, scheme=scheme, threads=2)
        run = dyn.start(np.zeros((n, 2)), seed=31)
        dyn.run(run, 300)
        out[scheme] = run.x
    target = kappa * b / (1 + kappa)
    for scheme, var in (("euler", lam / (1 - eta / 2)), ("adjusted", lam)):
        for j in range(2):
            m, v, se_m, se_v = moments_with_se(out[scheme][:, j])
            assert abs(m - target[j]) < 4 * se_m + 0.01, (scheme, m)
            assert abs(v - var) < 4 * se_v, (scheme, v, var, se_v)


@pytest.mark.parametrize("scheme", ["projected", "mirror", "adjusted"])
def test_checkpoint_resume_is_bit_identical(scheme):
    f = mf.Functional.simplex_moment(np.array([0.5, 0.3, 0.2]), 0.0 if scheme == "projected" else 0.05)
    make = lambda: mf.MFLD(f, lam=0.1, eta=0.02, scheme=scheme, domain="simplex")
    x0 = dirichlet(5, 100, 3.0)
    a = make()
    ra = a.start(x0, seed=2)
    a.run(ra, 40)
    b = make()
    rb = b.start(x0, seed=2)
    b.run(rb, 15)
    rb = mf.LangevinRun.from_json(rb.to_json())
    b.run(rb, 40)
    assert np.array_equal(ra.x, rb.x) and rb.step == 40
    # a run of another scheme is refused
    other = mf.MFLD(f, lam=0.1, eta=0.02, scheme="mirror" if scheme != "mirror" else "projected",
                    domain="simplex")
    with pytest.raises(mf.CheckpointError):
        other.run(rb, 50)


def test_bad_input_is_a_value_error_naming_the_argument():
    simplex = mf.Functional.simplex_moment(np.full(3, 1 / 3), 0.0)
    with pytest.raises(ValueError, match="scheme"):
        mf.MFLD(simplex, lam=0.1, eta=0.1, scheme="heun", domain="simplex")
    with pytest.raises(ValueError, match="domain"):
        mf.MFLD(simplex, lam=0.1, eta=0.1, scheme="mirror", domain="sphere")
    with pytest.raises(ValueError, match="lower and upper"):
        mf.MFLD(simplex, lam=0.1, eta=0.1, scheme="mirror", domain="box")
    with pytest.raises(ValueError, match="upper: expected shape \\(2,\\)"):
        mf.MFLD(simplex, lam=0.1, eta=0.1, scheme="mirror", domain="box",
                lower=np.zeros(2), upper=np.ones(3))
    with pytest.raises(ValueError, match="euler"):
        mf.MFLD(simplex, lam=0.1, eta=0.1, domain="simplex")
    dyn = mf.MFLD(simplex, lam=0.1, eta=0.1, scheme="mirror", domain="simplex")
    with pytest.raises(ValueError, match="x0"):
        dyn.start(np.full((4, 3), 0.5))  # rows do not sum to 1
    with pytest.raises(mf.IncompatibleStateError):
        dyn.start(np.full((4, 2), 0.5))  # d = 2 for a d = 3 functional

    class Py:
        def value(self, x): return 0.0
        def first_variation(self, x): return np.zeros(len(x))
        def grad(self, x): return np.zeros_like(x)

    with pytest.raises(ValueError, match="adjusted"):
        mf.MFLD(Py(), lam=0.1, eta=0.1, d=3, scheme="adjusted", domain="simplex")
    with pytest.raises(ValueError, match="adjusted"):
        mf.MFLD(mf.Functional.linear(np.ones(2)), lam=0.1, eta=0.1, scheme="adjusted")
    with pytest.raises(mf.InvalidParameterError):
        mf.Functional.simplex_moment(np.full(3, 1 / 3), -1.0)


def test_python_functional_on_the_simplex_matches_the_builtin():
    """β = 0, q: first variation 2(m − q)·x, gradient 2(m − q) — a Python functional
    computing the same gives the same mirror path (to round-off of the mean)."""
    q = np.array([0.5, 0.3, 0.2])

    class Moment:
        def value(self, x): return float(((x.mean(axis=0) - q) ** 2).sum())
        def first_variation(self, x): return x @ (2 * (x.mean(axis=0) - q))
        def grad(self, x): return np.broadcast_to(2 * (x.mean(axis=0) - q), x.shape).copy()

    x0 = dirichlet(8, 200, 3.0)
    a = mf.MFLD(mf.Functional.simplex_moment(q, 0.0), lam=0.1, eta=0.02, scheme="mirror",
                domain="simplex")
    b = mf.MFLD(Moment(), lam=0.1, eta=0.02, d=3, scheme="mirror", domain="simplex")
    ra, rb = a.start(x0, seed=6), b.start(x0, seed=6)
    a.run(ra, 30)
    b.run(rb, 30)
    assert np.allclose(ra.x, rb.x, rtol=0, atol=1e-10)
