"""PGD / MPD from Python: PGD reaches the toy MLE, a Python latent model (energy and two
gradients, vectorised over particles) equals the built-in bitwise, BLR runs, MPD
momenta, callback failures, bad input."""
import numpy as np
import pytest

import meanfield as mf


class Toy:
    """The toy hierarchical Gaussian as Python callables (same arithmetic as Rust)."""

    def __init__(self, y):
        self.y = y
        self.calls = 0

    def energy(self, theta, x):
        return 0.5 * ((self.y - x) ** 2 + (x - theta[0]) ** 2).sum(axis=1)

    def grad_theta(self, theta, x):
        self.calls += 1
        return (theta[0] - x).sum(axis=1, keepdims=True)

    def grad_x(self, theta, x):
        return (x - self.y) + (x - theta[0])


def test_pgd_reaches_the_toy_mle():
    """θ̂ = mean(y). At stationarity θ = mean_j of the particle means of x_j ~
    N((y_j + θ)/2, 1/2), so θ − θ̂ has Monte-Carlo sd sqrt(2/(N M)); 4 sd tolerance."""
    m, n = 4, 4000
    y = np.random.default_rng(1).normal(1.5, 1.4, m)
    model = mf.LatentModel.toy(y)
    pgd = mf.PGD(model, h_theta=5e-3, h_x=5e-3, threads=2)
    run = pgd.start(np.zeros((n, m)), seed=11)
    assert np.array_equal(run.theta, [0.0])
    pgd.run(run, 1600)
    assert abs(run.theta[0] - model.mle()) < 4 * np.sqrt(2 / (n * m)), (run.theta, model.mle())
    # the particles: posterior N((y + θ)/2, 1/2) per coordinate
    z = (run.x - 0.5 * (y + run.theta[0])) / np.sqrt(0.5)
    assert abs(z.mean()) < 4 / np.sqrt(n * m) + 0.01
    # Euler's stationary variance on curvature 2 is (1/2)/(1 − h): standardised 1/(1 − h)
    assert abs(z.var() - 1 / (1 - 5e-3)) < 4 * np.sqrt(2 / (n * m))


@pytest.mark.parametrize("cls", [mf.PGD, mf.MPD])
def test_python_model_is_bitwise_the_builtin(rng, cls):
    # M = 2: ∇_θE = (θ − x_1) + (θ − x_2) has the same bits in any summation order
    y = rng.normal(size=2)
    x0 = rng.normal(size=(60, 2))
    out = []
    py = Toy(y)
    for model in (mf.LatentModel.toy(y), py):
        em = cls(model, h_theta=0.02, h_x=0.02, p=1, d=2)
        run = em.start(x0, seed=2, theta0=np.array([0.3]))
        em.run(run, 25)
        out.append((run.theta, run.x))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
    assert py.calls == 25 if cls is mf.PGD else py.calls >= 25  # once per step, all particles


def test_mpd_has_momenta_and_resumes(rng):
    y = rng.normal(size=3)
    mpd = mf.MPD(mf.LatentModel.toy(y), h_theta=0.01, h_x=0.01, gamma_x=1.5)
    run = mpd.start(rng.normal(size=(50, 3)), seed=5)
    assert run.theta_momentum.shape == (1,) and run.x_momentum.shape == (50, 3)
    mpd.run(run, 10)
    again = mf.LatentRun.from_json(run.to_json())
    mpd.run(run, 30)
    mpd.run(again, 30)
    assert np.array_equal(run.x, again.x) and np.array_equal(run.theta, again.theta)
    pgd = mf.PGD(mf.LatentModel.toy(y), h_theta=0.01, h_x=0.01)
    with pytest.raises(mf.CheckpointError):
        pgd.run(again, 40)


def test_bayesian_logistic_regression_runs(rng):
    k, m = 3, 40
    feats = rng.normal(size=(m, k))
    labels = (feats @ np.array([1.0, -1.0, 0.5]) > 0).astype(float)
    model = mf.LatentModel.logistic(feats, labels, 5.0)
    pgd = mf.PGD(model, h_theta=0.01, h_x=0.01)
    run = pgd.start(np.zeros((30, model.d)), seed=1)
    pgd.run(run, 50)
    assert np.all(np.isfinite(run.x)) and run.theta.shape == (model.p,)
    e = model.energy(run.theta, run.x)
    assert e.shape == (30,) and np.all(np.isfinite(e))


def test_model_failures_and_bad_input(rng):
    y = rng.normal(size=2)
    x0 = rng.normal(size=(10, 2))

    class Raises(Toy):
        def grad_x(self, theta, x):
            raise KeyError("boom")

    class WrongShape(Toy):
        def grad_theta(self, theta, x):
            return np.zeros(len(x))

    class Nan(Toy):
        def grad_x(self, theta, x):
            g = super().grad_x(theta, x)
            g[3, 1] = np.nan
            return g

    for cls, exc, needle in ((Raises, KeyError, "boom"),
                             (WrongShape, ValueError, "model at step 0: model.grad_theta returned shape"),
                             (Nan, ValueError, "model at step 0: model.grad_x returned NaN")):
        pgd = mf.PGD(cls(y), h_theta=0.1, h_x=0.1, p=1, d=2)
        run = pgd.start(x0)
        with pytest.raises(exc, match=needle):
            pgd.run(run, 3)
    with pytest.raises(ValueError, match="p, d"):
        mf.PGD(Toy(y), h_theta=0.1, h_x=0.1)
    with pytest.raises(ValueError, match="grad_x"):
        mf.PGD(object(), h_theta=0.1, h_x=0.1, p=1, d=2)
    with pytest.raises(mf.InvalidParameterError, match="h_x"):
        mf.PGD(mf.LatentModel.toy(y), h_theta=0.1, h_x=-1.0)
    pgd = mf.PGD(mf.LatentModel.toy(y), h_theta=0.1, h_x=0.1)
    with pytest.raises(ValueError, match="theta0: expected shape \\(1,\\)"):
        pgd.start(x0, theta0=np.zeros(2))
    with pytest.raises(mf.IncompatibleStateError):
        pgd.start(rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match="labels"):
        mf.LatentModel.logistic(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(mf.InvalidParameterError):
        mf.LatentModel.logistic(np.zeros((3, 2)), np.array([0.0, 1.0, 2.0]))
