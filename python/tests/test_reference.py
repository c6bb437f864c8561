"""Rust-vs-Python bitwise equality for the Langevin schemes, Fisher–Rao and particle EM:
the same run through the Python package and through the Rust API only (the binary
benches/src/bin/dynamics_reference.rs) gives the identical checkpoint JSON, fingerprint
included, for 1 and 2 threads."""
import json
import subprocess

import numpy as np
import pytest

import meanfield as mf


def reference(binary, spec):
    out = subprocess.run([binary], input=json.dumps(spec), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def dirichlet(rng, n, d):
    return np.ascontiguousarray(rng.dirichlet(np.full(d, 3.0), size=n))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("scheme", ["projected", "mirror", "adjusted"])
def test_simplex_schemes_are_bitwise_the_rust_runs(dynamics_reference, rng, scheme, threads):
    n, d, steps, seed = 64, 3, 30, 5
    q = np.array([0.5, 0.3, 0.2])
    beta = 0.0 if scheme == "projected" else 0.05  # projected iterates reach the faces
    x0 = dirichlet(rng, n, d)
    dyn = mf.MFLD(mf.Functional.simplex_moment(q, beta), lam=0.1, eta=0.01, scheme=scheme,
                  domain="simplex", threads=threads)
    run = dyn.start(x0, seed=seed)
    dyn.run(run, steps)
    spec = {"family": scheme, "functional": {"simplex_moment": {"q": q.tolist(), "beta": beta}},
            "simplex": True, "lambda": 0.1, "eta": 0.01, "n": n, "d": d,
            "x0": x0.ravel().tolist(), "seed": seed, "steps": steps, "threads": threads}
    assert reference(dynamics_reference, spec) == json.loads(run.to_json())


@pytest.mark.parametrize("scheme, family", [("euler", "mfld"), ("adjusted", "adjusted")])
def test_euclidean_schemes_are_bitwise_the_rust_runs(dynamics_reference, rng, scheme, family):
    n, d, steps, seed = 50, 2, 25, 8
    b = np.array([1.0, -1.0])
    x0 = rng.normal(size=(n, d))
    dyn = mf.MFLD(mf.Functional.quadratic(1.5, b), lam=0.4, eta=0.1, scheme=scheme)
    run = dyn.start(x0, seed=seed)
    dyn.run(run, steps)
    spec = {"family": family, "functional": {"quadratic": {"kappa": 1.5, "b": b.tolist()}},
            "lambda": 0.4, "eta": 0.1, "n": n, "d": d, "x0": x0.ravel().tolist(),
            "seed": seed, "steps": steps, "threads": 1}
    assert reference(dynamics_reference, spec) == json.loads(run.to_json())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kern, resample, transport", [
    ("density_ratio", None, False),
    ("evolving_measure", 0.5, False),
    ("smoothed_kl", None, True),
])
def test_fisher_rao_is_bitwise_the_rust_run(dynamics_reference, rng, kern, resample, transport,
                                            threads):
    n, d, steps, seed = 80, 2, 20, 13
    c = np.array([1.0, -0.5])
    x0 = rng.normal(size=(n, d))
    fr = mf.FisherRao(mf.Functional.linear(c), sigma=0.8, h=0.1, kernelisation=kern,
                      eps=0.5, resample_below=resample, transport=transport, threads=threads)
    run = fr.start(x0, seed=seed)
    fr.run(run, steps)
    spec = {"family": "fisher_rao", "functional": {"linear": {"c": c.tolist()}},
            "sigma": 0.8, "h": 0.1, "kernelisation": kern, "eps": 0.5,
            "resample_below": resample, "transport": transport, "n": n, "d": d,
            "x0": x0.ravel().tolist(), "seed": seed, "steps": steps, "threads": threads}
    assert reference(dynamics_reference, spec) == json.loads(run.to_json())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("family", ["pgd", "mpd"])
def test_particle_em_is_bitwise_the_rust_run(dynamics_reference, rng, family, threads):
    m, n, steps, seed = 5, 40, 30, 21
    y = rng.normal(2.0, 1.0, m)
    x0 = rng.normal(size=(n, m))
    cls = mf.PGD if family == "pgd" else mf.MPD
    em = cls(mf.LatentModel.toy(y), h_theta=0.05, h_x=0.05, threads=threads)
    run = em.start(x0, seed=seed)
    em.run(run, steps)
    spec = {"family": family, "y": y.tolist(), "h_theta": 0.05, "h_x": 0.05, "n": n, "d": m,
            "x0": x0.ravel().tolist(), "seed": seed, "steps": steps, "threads": threads}
    assert reference(dynamics_reference, spec) == json.loads(run.to_json())
