"""CBO from Python: Rust-vs-Python bitwise equality, built-in vs callable objectives,
thread-count invariance, f_dim conventions, callback failures, success on Rastrigin."""
import json
import subprocess
import traceback

import numpy as np
import pytest

import meanfield as mf

PARAMS = dict(lam=1.0, sigma=10.1, dt=0.01, alpha=30.0, schedule="multiply")


def state_of(run):
    """The checkpoint's state, without the fingerprint (which names the objective)."""
    cp = json.loads(run.to_json())
    return cp["state"], cp["step"], cp["seed"]


@pytest.mark.parametrize("noise, batch", [("anisotropic", None), ("isotropic", 7), ("anisotropic", 16)])
def test_python_run_is_bitwise_the_rust_run(cbo_reference, rng, noise, batch):
    n, d, steps, seed = 40, 6, 60, 99
    x0 = rng.uniform(-3, 3, (n, d))
    opt = mf.CBO("ackley", d, lam=1.0, sigma=0.8 if noise == "isotropic" else 10.1, dt=0.01,
                 alpha=30.0, schedule="multiply", noise=noise, batch_size=batch,
                 batch_partial=False)
    run = opt.start(x0, seed=seed)
    opt.run(run, steps)
    spec = {
        "objective": "ackley", "n": n, "d": d, "x0": x0.ravel().tolist(), "seed": seed,
        "steps": steps, "lambda": 1.0, "sigma": 0.8 if noise == "isotropic" else 10.1,
        "dt": 0.01, "alpha": 30.0,
        "schedule": {"kind": "multiplicative", "factor": 1.05, "max": 1e5},
        "noise": noise, "batch": None if batch is None else {"size": batch, "partial": False},
        "threads": 1,
    }
    out = subprocess.run([cbo_reference], input=json.dumps(spec), capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == json.loads(run.to_json())  # fingerprint included
    assert out.strip() == run.to_json()


@pytest.mark.parametrize("noise, mode", [("covariance", "sampling"),
                                         ("covariance_optimization", "optimization")])
def test_covariance_noise_is_bitwise_the_rust_run(cbo_reference, rng, noise, mode):
    """CBXpy's covariance noise (docs/cbo.md §13): the Rust run, bit for bit; mini-batches
    and the variants refuse it."""
    n, d, steps, seed = 40, 4, 30, 5
    x0 = rng.uniform(-3, 3, (n, d))
    opt = mf.CBO("ackley", d, lam=1.0, sigma=0.7, dt=0.01, alpha=10.0, noise=noise)
    run = opt.start(x0, seed=seed)
    opt.run(run, steps)
    spec = {"objective": "ackley", "n": n, "d": d, "x0": x0.ravel().tolist(), "seed": seed,
            "steps": steps, "lambda": 1.0, "sigma": 0.7, "dt": 0.01, "alpha": 10.0,
            "schedule": {"kind": "constant"}, "noise": {"covariance": mode}, "batch": None,
            "threads": 1}
    out = subprocess.run([cbo_reference], input=json.dumps(spec), capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == run.to_json()
    with pytest.raises(mf.InvalidParameterError):
        mf.CBO("ackley", d, noise=noise, batch_size=10)
    with pytest.raises(mf.InvalidParameterError, match="noise"):
        mf.CBOMemory("ackley", d, noise=noise)


def test_builtin_and_callable_objective_give_identical_arrays(rng):
    d = 8
    x0 = rng.uniform(-3, 3, (64, d))
    calls = []

    def f(x):
        calls.append(x.shape)
        return mf.test_function("rastrigin", x)

    a = mf.CBO("rastrigin", d, **PARAMS)
    b = mf.CBO(f, d, **PARAMS)
    ra, rb = a.start(x0, seed=3), b.start(x0, seed=3)
    a.run(ra, 50)
    b.run(rb, 50)
    assert np.array_equal(ra.x, rb.x)
    assert np.array_equal(ra.consensus, rb.consensus)
    assert state_of(ra) == state_of(rb)
    # once per step on the whole array, never per particle
    assert calls == [(64, d)] * 50


def test_f_dim_3d_gets_m_n_d_and_matches_2d(rng):
    d = 5
    x0 = rng.uniform(-3, 3, (30, d))
    shapes = []

    def f3(x):
        shapes.append(x.shape)
        return mf.test_function("rastrigin", x[0])[None, :]

    a = mf.CBO("rastrigin", d, **PARAMS)
    b = mf.CBO(f3, d, f_dim="3D", **PARAMS)
    ra, rb = a.start(x0, seed=5), b.start(x0, seed=5)
    a.run(ra, 20)
    b.run(rb, 20)
    assert np.array_equal(ra.x, rb.x)
    assert set(shapes) == {(1, 30, d)}


@pytest.mark.parametrize("objective", ["rastrigin", "python"])
def test_one_and_two_threads_are_bitwise_identical(rng, objective):
    d = 10
    x0 = rng.uniform(-3, 3, (1200, d))  # large enough for the particle loop to split
    f = "rastrigin" if objective == "rastrigin" else (lambda x: mf.test_function("rastrigin", x))
    runs = []
    for threads in (1, 2):
        opt = mf.CBO(f, d, threads=threads, **PARAMS)
        run = opt.start(x0, seed=8)
        opt.run(run, 15)
        runs.append(run)
    assert state_of(runs[0]) == state_of(runs[1])


def test_many_runs_match_single_runs_and_threads(rng):
    m, n, d = 4, 30, 4
    x0 = rng.uniform(-3, 3, (m, n, d))
    one = mf.CBO("ackley", d, **PARAMS).minimize(x0, 40, seed=17)
    two = mf.CBO("ackley", d, threads=2, **PARAMS).minimize(x0, 40, seed=17)
    py = mf.CBO(lambda x: mf.test_function("ackley", x), d, **PARAMS).minimize(x0, 40, seed=17)
    for k in ("consensus", "best_x", "best_f", "alpha", "consensus_value"):
        assert np.array_equal(one[k], two[k]) and np.array_equal(one[k], py[k]), k
    assert one["consensus"].shape == (m, d) and one["steps"] == [40] * m
    # different runs are different
    assert not np.array_equal(one["consensus"][0], one["consensus"][1])


def rastrigin_3d(x):
    """CBXpy's f_dim='3D' Rastrigin: (M, N, d) → (M, N), vectorised over runs."""
    return 10.0 * x.shape[-1] + np.sum(x * x - 10.0 * np.cos(2 * np.pi * x), axis=-1)


@pytest.mark.parametrize("batch_size", [None, 12])
def test_m_runs_call_a_3d_objective_once_per_step_on_the_stack(rng, batch_size):
    m, n, d = 4, 30, 5
    x0 = rng.uniform(-3, 3, (m, n, d))
    shapes = []

    def f3(x):
        shapes.append(x.shape)
        # the built-in's values, row by row, so that the runs are comparable bit for bit
        return mf.test_function("rastrigin", x.reshape(-1, d)).reshape(x.shape[:2])

    kw = dict(PARAMS, batch_size=batch_size)
    # unbatched, the runs stop at different steps (energy tolerance, stagnation)
    rule = dict(seed=11, energy_tol=8.0, stagnation=(1e-6, 8))
    ref = mf.CBO("rastrigin", d, **kw).minimize(x0, 60, **rule)
    got = mf.CBO(f3, d, f_dim="3D", **kw).minimize(x0, 60, **rule)
    for k in ("consensus", "best_x", "best_f", "alpha", "consensus_value"):
        assert np.array_equal(ref[k], got[k]), k
    assert ref["steps"] == got["steps"] and ref["reason"] == got["reason"]
    # one call per step, on the (M', B, d) stack of the runs still going (the outcome's
    # f(consensus) of each run is one more call of shape (1, 1, d))
    b = n if batch_size is None else batch_size
    stacks = [sh for sh in shapes if sh[1:] == (b, d)]
    assert len(stacks) == max(ref["steps"]) and len(shapes) == len(stacks) + m
    if batch_size is None:
        assert len(set(ref["steps"])) > 1, ref["steps"]
    for k, shape in enumerate(stacks):
        going = sum(s > k for s in ref["steps"])
        assert shape == (going, b, d), (k, shape)


def test_a_cbxpy_style_3d_objective_runs_unchanged(rng):
    m, n, d = 3, 40, 4
    x0 = rng.uniform(-3, 3, (m, n, d))
    out = mf.CBO(rastrigin_3d, d, f_dim="3D", **PARAMS).minimize(x0, 30, seed=2)
    ref = mf.CBO("rastrigin", d, **PARAMS).minimize(x0, 30, seed=2)
    # NumPy's vectorised cosines differ from ours in the last bits: same runs to round-off
    np.testing.assert_allclose(out["best_f"], ref["best_f"], rtol=1e-9, atol=1e-9)
    assert out["consensus"].shape == (m, d)


def test_3d_objective_failures_name_the_step_and_run(rng):
    m, n, d = 2, 10, 3
    x0 = rng.uniform(-3, 3, (m, n, d))

    def wrong_shape(x):
        return np.zeros(x.shape[:2] + (1,))

    def nan_in_run_1(x):
        y = rastrigin_3d(x)
        if x.shape[0] == 2:
            y[1, 3] = np.nan
        return y

    with pytest.raises(ValueError, match=r"objective at step \d+: .*shape"):
        mf.CBO(wrong_shape, d, f_dim="3D", **PARAMS).minimize(x0, 5)
    with pytest.raises(ValueError, match="NaN at run 1, particle 3"):
        mf.CBO(nan_in_run_1, d, f_dim="3D", **PARAMS).minimize(x0, 5)


def test_callback_exception_propagates_with_traceback(rng):
    class Boom(RuntimeError):
        pass

    def f(x):
        if len(calls) == 3:
            raise Boom("objective exploded")
        calls.append(1)
        return mf.test_function("rastrigin", x)

    calls = []
    opt = mf.CBO(f, 3, **PARAMS)
    run = opt.start(rng.uniform(-1, 1, (10, 3)))
    with pytest.raises(Boom, match="objective exploded") as e:
        opt.run(run, 10)
    frames = [fr.name for fr in traceback.extract_tb(e.value.__traceback__)]
    assert "f" in frames
    assert run.step == 3  # steps before the failing one are kept


@pytest.mark.parametrize(
    "ret, needle",
    [
        (lambda x: np.zeros(len(x) + 1), r"objective at step 0: the objective returned shape \(11,\), expected \(10,\)"),
        (lambda x: np.zeros((len(x), 1)), r"shape \(10, 1\), expected \(10,\)"),
        (lambda x: np.zeros(len(x), dtype=np.float32), "dtype float32"),
        (lambda x: [0.0] * len(x), "returned a list"),
    ],
)
def test_callback_wrong_shape_is_value_error_naming_step(rng, ret, needle):
    opt = mf.CBO(ret, 3, **PARAMS)
    run = opt.start(rng.uniform(-1, 1, (10, 3)))
    with pytest.raises(ValueError, match=needle):
        opt.run(run, 5)


def test_callback_nan_is_value_error_naming_step(rng):
    def f(x):
        v = mf.test_function("rastrigin", x)
        if len(calls) == 2:
            v[4] = np.nan
        calls.append(1)
        return v

    calls = []
    opt = mf.CBO(f, 3, **PARAMS)
    run = opt.start(rng.uniform(-1, 1, (10, 3)))
    with pytest.raises(ValueError, match="objective at step 2: the objective returned NaN at particle 4"):
        opt.run(run, 5)


def test_cbo_succeeds_on_rastrigin_d20():
    """The issue's oracle: anisotropic CBO (σ = 10.1, α₀ = 30 ×1.05) finds the shifted
    Rastrigin minimiser in d = 20 (CBXpy: 100/100 at N = 50)."""
    d, m, n = 20, 4, 50
    shift = 0.5 * ((np.arange(d) % 3) - 1.0)
    x0 = np.random.default_rng(7).uniform(-3, 3, (m, n, d))
    out = mf.CBO("rastrigin", d, shift=shift, threads=2, **PARAMS).minimize(x0, 3000, seed=20)
    dist = np.abs(out["consensus"] - shift).max(axis=1)
    assert (dist < 0.25).all(), dist
