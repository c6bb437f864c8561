"""MFLD from Python: the Gaussian oracle, built-in vs Python functional bitwise, threads,
functional callback failures, checkpoint resume."""
import numpy as np
import pytest

import meanfield as mf


class Confinement:
    """F(μ) = ∫|x|²/2 dμ: first variation |x|²/2, gradient x (the built-in quadratic
    with κ = 0 computes the same bits)."""

    def __init__(self):
        self.calls = 0

    def value(self, x):
        return float(0.5 * (x * x).sum(axis=1).mean())

    def first_variation(self, x):
        return 0.5 * (x * x).sum(axis=1)

    def grad(self, x):
        self.calls += 1
        return x.copy()


def test_gaussian_oracle_mean_and_covariance():
    """μ* = N(κb/(1+κ), λI): ensemble mean and covariance within Monte-Carlo error."""
    lam, kappa, b = 0.5, 1.0, np.array([1.0, -1.0])
    n = 4000
    opt = mf.MFLD("quadratic", lam=lam, eta=0.02, kappa=kappa, b=b, threads=2)
    run = opt.start(np.full((n, 2), 2.0), seed=42)
    opt.run(run, 600)
    x = run.x
    mean, cov = x.mean(axis=0), np.cov(x.T)
    target = kappa * b / (1 + kappa)
    # time-discretisation bias of Euler-Maruyama at η = 0.02 is O(η) ≈ 1 % on the variance
    assert np.all(np.abs(mean - target) < 4 * np.sqrt(lam / n) + 0.01), mean
    assert np.all(np.abs(np.diag(cov) - lam) < 4 * lam * np.sqrt(2 / n) + 0.02 * lam), cov
    assert abs(cov[0, 1]) < 4 * lam / np.sqrt(n)


def test_python_functional_is_bitwise_the_builtin(rng):
    x0 = rng.normal(size=(300, 3))
    a = mf.MFLD("quadratic", lam=0.3, eta=0.05, kappa=0.0, b=np.zeros(3))
    f = Confinement()
    b = mf.MFLD(f, lam=0.3, eta=0.05, d=3)
    ra, rb = a.start(x0, seed=9), b.start(x0, seed=9)
    a.run(ra, 40)
    b.run(rb, 40)
    assert np.array_equal(ra.x, rb.x)
    assert f.calls == 40  # the gradient once per step, on the whole ensemble


def test_one_and_two_threads_are_bitwise_identical(rng):
    x0 = rng.normal(size=(3000, 4))
    out = []
    for t in (1, 2):
        opt = mf.MFLD("quadratic", lam=0.5, eta=0.05, kappa=2.0, b=np.ones(4), threads=t)
        run = opt.start(x0, seed=3)
        opt.run(run, 10)
        out.append(run.x)
    assert np.array_equal(out[0], out[1])


def test_functional_failures():
    class Raises(Confinement):
        def grad(self, x):
            raise RuntimeError("grad exploded")

    class WrongShape(Confinement):
        def grad(self, x):
            return x[:, :1].copy()

    class Nan(Confinement):
        def grad(self, x):
            g = x.copy()
            if self.calls == 2:
                g[1, 1] = np.nan
            self.calls += 1
            return g

    x0 = np.zeros((5, 2))
    with pytest.raises(RuntimeError, match="grad exploded"):
        opt = mf.MFLD(Raises(), lam=0.1, eta=0.1, d=2)
        opt.run(opt.start(x0), 3)
    with pytest.raises(ValueError, match=r"functional at step 0: functional.grad returned shape \[5, 1\], expected \[5, 2\]"):
        opt = mf.MFLD(WrongShape(), lam=0.1, eta=0.1, d=2)
        opt.run(opt.start(x0), 3)
    with pytest.raises(ValueError, match="functional at step 2: functional.grad returned NaN at flat index 3"):
        opt = mf.MFLD(Nan(), lam=0.1, eta=0.1, d=2)
        opt.run(opt.start(x0), 5)
    with pytest.raises(ValueError, match="grad"):
        mf.MFLD(object(), lam=0.1, eta=0.1, d=2)
    with pytest.raises(mf.InvalidParameterError, match="eta"):
        mf.MFLD("quadratic", lam=0.1, eta=-1.0, b=np.zeros(2))
    with pytest.raises(ValueError, match=r"b: expected a float64 array of shape \(d\)"):
        mf.MFLD("quadratic", lam=0.1, eta=0.1, b=np.zeros((2, 2)))
    with pytest.raises(mf.UnsupportedStopError, match="energy"):
        opt = mf.MFLD("quadratic", lam=0.1, eta=0.1, b=np.zeros(2))
        opt.run(opt.start(x0), 3, energy_tol=1.0)


def test_value_and_checkpoint_resume(rng, tmp_path):
    x0 = rng.normal(size=(50, 2))
    opt = mf.MFLD("quadratic", lam=0.2, eta=0.05, kappa=1.0, b=np.array([1.0, 2.0]))
    assert np.isfinite(opt.value(x0))
    full = opt.start(x0, seed=5)
    opt.run(full, 30)
    part = opt.start(x0, seed=5)
    opt.run(part, 11)
    part.save(str(tmp_path / "l.json"))
    again = mf.LangevinRun.load(str(tmp_path / "l.json"))
    opt.run(again, 30)
    assert again.to_json() == full.to_json()
    other = mf.MFLD("quadratic", lam=0.3, eta=0.05, kappa=1.0, b=np.array([1.0, 2.0]))
    with pytest.raises(mf.CheckpointError):
        other.run(again, 40)
