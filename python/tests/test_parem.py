"""ParEM's particle quasi-Newton (PQN) and particle marginal gradient descent (PMGD)
from Python on the built-in latent models and on a Python model supplying ∇²_θ E / θ*(q):
both reach the toy model's MLE (the oracle of PGD's test), runs are bitwise the Rust API's
(`dynamics_reference`) for 1 and 2 threads, the Python toy model is bitwise the built-in,
resume from JSON bit for bit, and models without ∇²_θ E or θ*(q) are typed errors."""
import json
import subprocess

import numpy as np
import pytest

import meanfield as mf


def reference(binary, spec):
    out = subprocess.run([binary], input=json.dumps(spec), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def make(family, model, threads=1):
    if family == "pqn":
        return mf.PQN(model, h_theta=0.5, h_x=0.05, threads=threads)
    return mf.PMGD(model, h_x=0.05, threads=threads)


@pytest.mark.parametrize("family", ["pqn", "pmgd"])
def test_reaches_the_toy_mle(family):
    """θ̂ = mean(y). At stationarity θ is the mean over particles and coordinates of
    x_j ~ N((y_j + θ)/2, 1/2) (PMGD exactly, PQN's Newton step to its fixed point), so
    θ − θ̂ has Monte-Carlo sd sqrt(2/(N M)); 4 sd tolerance, averaged over 100 late
    steps (which only shrinks the sd)."""
    m, n = 4, 2000
    y = np.random.default_rng(1).normal(1.5, 1.4, m)
    model = mf.LatentModel.toy(y)
    em = make(family, model, threads=2)
    run = em.start(np.zeros((n, m)), seed=11)
    em.run(run, 300)
    thetas = []
    em.run(run, 400, observers=[(1, lambda o: thetas.append(o["state"]["theta"][0]))])
    theta = np.mean(thetas[1:])
    assert abs(theta - model.mle()) < 4 * np.sqrt(2 / (n * m)), (theta, model.mle())
    assert run.theta_momentum is None and run.x.shape == (n, m)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("family", ["pqn", "pmgd"])
def test_python_run_is_bitwise_the_rust_run(dynamics_reference, rng, family, threads):
    m, n, steps, seed = 5, 40, 30, 21
    y = rng.normal(2.0, 1.0, m)
    x0 = rng.normal(size=(n, m))
    em = make(family, mf.LatentModel.toy(y), threads=threads)
    run = em.start(x0, seed=seed)
    em.run(run, steps)
    spec = {"family": family, "y": y.tolist(), "h_theta": 0.5, "h_x": 0.05, "n": n, "d": m,
            "x0": x0.ravel().tolist(), "seed": seed, "steps": steps, "threads": threads}
    assert reference(dynamics_reference, spec) == json.loads(run.to_json())


@pytest.mark.parametrize("family", ["pqn", "pmgd"])
def test_resume_and_logistic_regression(rng, family):
    feats = rng.normal(size=(30, 3))
    labels = (feats @ np.array([1.0, -1.0, 0.5]) + 0.3 * rng.normal(size=30) > 0).astype(float)
    em = make(family, mf.LatentModel.logistic(feats, labels))
    x0 = rng.normal(size=(50, 3))
    whole = em.start(x0, seed=3)
    em.run(whole, 40)
    half = em.start(x0, seed=3)
    em.run(half, 17)
    again = mf.LatentRun.from_json(half.to_json())
    em.run(again, 40)
    assert again.to_json() == whole.to_json()
    assert np.isfinite(whole.theta).all()


def test_bad_input_is_typed():
    y = np.array([1.0, 2.0])
    toy = mf.LatentModel.toy(y)
    decoder = mf.LatentModel.decoder(np.full((2, 3), 0.5), 1, 2)

    class Python:
        def energy(self, theta, x):
            return np.zeros(len(x))

        grad_theta = grad_x = energy

    with pytest.raises(mf.EnergyError, match="θ-Hessian"):
        mf.PQN(decoder, h_theta=1.0, h_x=0.1)
    with pytest.raises(mf.EnergyError, match="optimal θ"):
        mf.PMGD(decoder, h_x=0.1)
    for cls, kw, method in ((mf.PQN, dict(h_theta=1.0, h_x=0.1), "hess_theta"),
                            (mf.PMGD, dict(h_x=0.1), "optimal_theta")):
        with pytest.raises(ValueError, match=f"`{method}` is missing"):
            cls(Python(), p=1, d=2, **kw)
    with pytest.raises(mf.InvalidParameterError, match="h_x"):
        mf.PMGD(toy, h_x=0.0)
    with pytest.raises(mf.InvalidParameterError, match="h_theta"):
        mf.PQN(toy, h_theta=-1.0, h_x=0.1)
    with pytest.raises(ValueError, match="x0"):
        mf.PQN(toy, h_theta=1.0, h_x=0.1).start(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="theta0"):
        mf.PMGD(toy, h_x=0.1).start(np.zeros((5, 2)), theta0=np.zeros(2))
    # a PGD checkpoint is not a PQN one
    pgd = mf.PGD(toy, h_theta=0.5, h_x=0.05)
    with pytest.raises(mf.MeanfieldError):
        mf.PQN(toy, h_theta=0.5, h_x=0.05).run(pgd.start(np.zeros((5, 2))), 2)


class ToyWithCurvature:
    """The toy hierarchical Gaussian in NumPy with ∇²_θ E = M and θ*(q) = the mean of all
    entries, with the Rust arithmetic: M = 2 makes ∇_θ E = (θ − x_1) + (θ − x_2)
    order-free, and np.cumsum sums in particle order as Rust does."""

    def __init__(self, y):
        self.y = y
        self.calls = {"hess_theta": 0, "optimal_theta": 0}

    def energy(self, theta, x):
        return 0.5 * ((self.y - x) ** 2 + (x - theta[0]) ** 2).sum(axis=1)

    def grad_theta(self, theta, x):
        return (theta[0] - x).sum(axis=1, keepdims=True)

    def grad_x(self, theta, x):
        return (x - self.y) + (x - theta[0])

    def hess_theta(self, theta, x):
        self.calls["hess_theta"] += 1
        return np.full((len(x), 1, 1), float(len(self.y)))

    def optimal_theta(self, x):
        self.calls["optimal_theta"] += 1
        return np.cumsum(x.ravel())[-1:] / x.size


@pytest.mark.parametrize("family", ["pqn", "pmgd"])
def test_python_model_is_bitwise_the_builtin(rng, family):
    y = rng.normal(size=2)
    x0 = rng.normal(size=(60, 2))
    py = ToyWithCurvature(y)
    out = []
    for model in (mf.LatentModel.toy(y), py):
        kw = dict(p=1, d=2) if model is py else {}
        em = (mf.PQN(model, h_theta=0.5, h_x=0.05, threads=2, **kw) if family == "pqn"
              else mf.PMGD(model, h_x=0.05, threads=2, **kw))
        run = em.start(x0, seed=4, theta0=np.array([0.3]))
        em.run(run, 20)
        out.append((run.theta, run.x))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
    # once per step on all particles, plus the constructor's probe (PMGD: and θ*(X₀) at
    # the start)
    method = "hess_theta" if family == "pqn" else "optimal_theta"
    assert py.calls[method] == (21 if family == "pqn" else 22)


@pytest.mark.parametrize("family", ["pqn", "pmgd"])
def test_python_model_failures_name_the_step(rng, family):
    y = rng.normal(size=2)
    method = "hess_theta" if family == "pqn" else "optimal_theta"

    def make_bad(result):
        class Bad(ToyWithCurvature):
            pass

        def bad(self, *args):
            self.calls[method] += 1
            return result(args[-1]) if self.calls[method] > 3 else getattr(
                ToyWithCurvature, method)(self, *args)

        setattr(Bad, method, bad)
        model = Bad(y)
        return (mf.PQN(model, h_theta=0.5, h_x=0.05, p=1, d=2) if family == "pqn"
                else mf.PMGD(model, h_x=0.05, p=1, d=2))

    x0 = rng.normal(size=(10, 2))
    em = make_bad(lambda x: np.zeros((len(x), 2)))
    with pytest.raises(ValueError, match=rf"model at step \d+: model.{method} returned shape"):
        em.run(em.start(x0), 5)
    em = make_bad(lambda x: np.full((len(x), 1, 1) if family == "pqn" else 1, np.nan))
    with pytest.raises(ValueError, match=rf"model at step \d+: model.{method} returned NaN"):
        em.run(em.start(x0), 5)

    class Boom(RuntimeError):
        pass

    def boom(x):
        raise Boom("inside the model")

    em = make_bad(boom)
    with pytest.raises(Boom, match="inside the model"):
        em.run(em.start(x0), 5)
    with pytest.raises(ValueError, match="p, d"):
        mf.PQN(ToyWithCurvature(y), h_theta=0.5, h_x=0.05)
