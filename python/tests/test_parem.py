"""ParEM's particle quasi-Newton (PQN) and particle marginal gradient descent (PMGD)
from Python on the built-in latent models: both reach the toy model's MLE (the oracle of
PGD's test), runs are bitwise the Rust API's (`dynamics_reference`) for 1 and 2 threads,
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
    for cls, kw in ((mf.PQN, dict(h_theta=1.0, h_x=0.1)), (mf.PMGD, dict(h_x=0.1))):
        with pytest.raises(ValueError, match="model: .*built-in"):
            cls(Python(), **kw)
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
