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


class Delegating:
    """A Python functional that delegates to a built-in, including the frozen first
    variation at the proposals (`first_variation_at`), and records the shapes it gets."""

    def __init__(self, f):
        self.f, self.calls = f, []

    def value(self, x): return self.f.value(x)
    def first_variation(self, x): return self.f.first_variation(x)
    def grad(self, x): return self.f.grad(x)

    def first_variation_at(self, x, y):
        self.calls.append((x.shape, y.shape))
        return self.f.first_variation_at(x, y)


@pytest.mark.parametrize("domain", ["simplex", "euclidean"])
def test_adjusted_scheme_with_a_python_functional_is_the_builtin_run(domain):
    """All N proposals of a step in ONE call first_variation_at(X, Y), Y (N, d) beside the
    current ensemble X (N, d): the same run, bit for bit, as the built-in functional."""
    if domain == "simplex":
        f = mf.Functional.simplex_moment(np.array([0.5, 0.3, 0.2]), 0.05)
        x0, kw = dirichlet(5, 300, 3.0), dict(domain="simplex")
    else:
        f = mf.Functional.quadratic(1.0, np.array([1.0, -1.0, 0.5]))
        x0, kw = np.random.default_rng(5).normal(size=(300, 3)), {}
    py = Delegating(f)
    a = mf.MFLD(f, lam=0.1, eta=0.02, scheme="adjusted", **kw)
    b = mf.MFLD(py, lam=0.1, eta=0.02, d=3, scheme="adjusted", **kw)
    ra, rb = a.start(x0, seed=6), b.start(x0, seed=6)
    sa, sb = a.run(ra, 25), b.run(rb, 25)
    assert np.array_equal(ra.x, rb.x)
    assert sa["mean_acceptance"] == sb["mean_acceptance"] and 0.3 < sa["mean_acceptance"] < 1
    assert py.calls == [((300, 3), (300, 3))] * 25


def test_adjusted_scheme_with_a_numpy_functional_is_unbiased():
    """Quadratic F(μ) = ∫|x|²/2 + κ/2|m − b|² in NumPy (as in the test above): MALA at
    η = 0.5 samples N(κb/(1+κ), λI) without Euler's variance bias λ/(1 − η/2) (4 s.e.)."""
    kappa, b, lam, eta = 1.0, np.array([1.0, -1.0]), 0.5, 0.5

    class Quadratic:
        def value(self, x):
            m = x.mean(axis=0)
            return float(0.5 * (x * x).sum(axis=1).mean() + 0.5 * kappa * ((m - b) ** 2).sum())
        def first_variation(self, x): return self.first_variation_at(x, x)[0]
        def grad(self, x): return self.first_variation_at(x, x)[1]
        def first_variation_at(self, x, y):
            s = kappa * (x.mean(axis=0) - b)
            return 0.5 * (y * y).sum(axis=1) + y @ s, y + s

    # n = 2000: 4 s.e. of the variance (0.063) is well below Euler's bias (0.167)
    n = 2000
    dyn = mf.MFLD(Quadratic(), lam=lam, eta=eta, d=2, scheme="adjusted")
    run = dyn.start(np.zeros((n, 2)), seed=31)
    dyn.run(run, 150)
    target = kappa * b / (1 + kappa)
    for j in range(2):
        m, v, se_m, se_v = moments_with_se(run.x[:, j])
        assert abs(m - target[j]) < 4 * se_m + 0.01, m
        assert abs(v - lam) < 4 * se_v, (v, se_v)


def test_first_variation_at_failures():
    class Bad(Delegating):
        def first_variation_at(self, x, y):
            return np.zeros(len(y) + 1), np.zeros_like(y)

    f = mf.Functional.quadratic(1.0, np.zeros(2))
    dyn = mf.MFLD(Bad(f), lam=0.1, eta=0.1, d=2, scheme="adjusted")
    run = dyn.start(np.zeros((10, 2)), seed=1)
    with pytest.raises(ValueError, match=r"functional at step \d+: .*first_variation_at"):
        dyn.run(run, 3)
    with pytest.raises(ValueError, match="first_variation_at"):
        mf.Functional.linear(np.ones(2)).first_variation_at(np.zeros((2, 2)), np.zeros((1, 2)))
