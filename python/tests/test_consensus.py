"""The consensus variants from Python (CBS, polarised CBO, CBO with memory, PSO, mirror
CBO with every map, drift-constrained and hypersurface CBO): Rust-vs-Python bitwise
equality against the Rust-only binary cbo_reference, built-in vs Python objective (once
per step on the whole array, CBXpy's f_dim conventions), bit-identical resume from JSON,
1 ≡ 2 threads, what each variant promises (constraints, domains, sampling law,
minimisers), and bad input as typed errors naming the argument."""
import json
import subprocess

import numpy as np
import pytest

import meanfield as mf

CBO = dict(lam=1.0, sigma=1.0, dt=0.02, alpha=30.0, schedule="multiply")
MULTIPLY = {"kind": "multiplicative", "factor": 1.05, "max": 1e5}
N, D, STEPS, SEED = 40, 4, 25, 31

# name -> (Python class, Python kwargs, reference "variant", x0 kind, extra starts evals)
CASES = {
    "cbs": (mf.CBS, dict(dt=0.1, alpha=5.0), {"cbs": {"mode": "optimization",
            "scheme": "exponential", "root": "cholesky"}}, "cube", 0),
    "cbs_sampling": (mf.CBS, dict(mode="sampling", dt=0.05, alpha=2.0, scheme="euler_maruyama",
                     root="symmetric"), {"cbs": {"mode": "sampling", "scheme": "euler_maruyama",
                     "root": "symmetric"}}, "cube", 0),
    "polar": (mf.PolarCBO, dict(CBO, kappa=1.5, kernel_scale="alpha"),
              {"polar": {"kappa": 1.5, "kernel_scale": "alpha"}}, "cube", 0),
    "memory": (mf.CBOMemory, dict(CBO, lambda_memory=0.4),
               {"memory": {"lambda_memory": 0.4, "sigma_memory": None}}, "cube", 1),
    "pso": (mf.PSO, dict(CBO, inertia=0.1, friction=0.9, sigma_memory=0.3),
            {"pso": {"lambda_memory": 0.4, "sigma_memory": 0.3, "inertia": 0.1,
                     "friction": 0.9}}, "cube", 1),
    "mirror_entropic": (mf.MirrorCBO, dict(CBO, map="entropic"),
                        {"mirror": {"map": "entropic"}}, "simplex", 0),
    "mirror_box": (mf.MirrorCBO, dict(CBO, map="log_barrier", lower=np.full(D, -3.5),
                   upper=np.full(D, 3.5)), {"mirror": {"map": {"log_barrier": {
                   "lower": [-3.5] * D, "upper": [3.5] * D}}}}, "cube", 0),
    "mirror_ball": (mf.MirrorCBO, dict(CBO, map="ball", centre=np.full(D, 0.5), radius=7.5),
                    {"mirror": {"map": {"ball": {"centre": [0.5] * D, "radius": 7.5}}}},
                    "cube", 0),
    "mirror_elastic_net": (mf.MirrorCBO, dict(CBO, map="elastic_net", delta=1.0, l1=0.2),
                           {"mirror": {"map": {"elastic_net": {"delta": 1.0, "lambda": 0.2}}}},
                           "cube", 0),
    "drift_sphere": (mf.ConstrainedCBO, dict(CBO, surface="sphere", radius=2.0, epsilon=0.05),
                     {"constrained": {"surface": {"sphere": {"radius": 2.0}},
                      "scheme": {"drift": {"epsilon": 0.05}}}}, "cube", 0),
    "hypersurface_sphere": (mf.ConstrainedCBO, dict(CBO, surface="sphere", radius=2.0,
                            scheme="hypersurface", noise="isotropic"),
                            {"constrained": {"surface": {"sphere": {"radius": 2.0}},
                             "scheme": "hypersurface"}}, "cube", 0),
    "hypersurface_plane": (mf.ConstrainedCBO, dict(CBO, surface="hyperplane",
                           normal=np.arange(1.0, D + 1), offset=1.0, scheme="hypersurface"),
                           {"constrained": {"surface": {"hyperplane": {
                            "normal": list(np.arange(1.0, D + 1)), "offset": 1.0}},
                            "scheme": "hypersurface"}}, "cube", 0),
}


def start_points(kind, rng, n=N, d=D):
    if kind == "simplex":
        return np.ascontiguousarray(rng.dirichlet(np.full(d, 2.0), size=n))
    return rng.uniform(-3, 3, (n, d))


def make(name, objective="ackley", threads=1, **extra):
    cls, kw, _, _, _ = CASES[name]
    return cls(objective, D, threads=threads, **dict(kw, **extra))


def state_of(run):
    """The checkpoint without the fingerprint (which names the objective)."""
    cp = json.loads(run.to_json())
    return cp["state"], cp["step"], cp["seed"]


TWO_THREADS = ("cbs", "polar", "pso", "mirror_entropic", "drift_sphere")  # a subset (CI time)


@pytest.mark.parametrize("name, threads", [(n, 1) for n in sorted(CASES)]
                         + [(n, 2) for n in TWO_THREADS])
def test_python_run_is_bitwise_the_rust_run(cbo_reference, rng, name, threads):
    _, kw, variant, kind, _ = CASES[name]
    x0 = start_points(kind, rng)
    opt = make(name, threads=threads)
    run = opt.start(x0, seed=SEED)
    opt.run(run, STEPS)
    spec = {"objective": "ackley", "n": N, "d": D, "x0": x0.ravel().tolist(), "seed": SEED,
            "steps": STEPS, "lambda": kw.get("lam", 0.0), "sigma": kw.get("sigma", 0.0),
            "dt": kw["dt"], "alpha": kw["alpha"],
            "schedule": MULTIPLY if "schedule" in kw else {"kind": "constant"},
            "noise": kw.get("noise", "anisotropic"), "threads": threads, "variant": variant}
    out = subprocess.run([cbo_reference], input=json.dumps(spec), capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == run.to_json()  # fingerprint included


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_and_two_threads_are_bitwise_identical(rng, name):
    """N = 600 > 2 × 256 rows, so that the particle loops split over the two threads."""
    _, _, _, kind, _ = CASES[name]
    x0 = start_points(kind, rng, n=600)
    runs = []
    for threads in (1, 2):
        opt = make(name, threads=threads)
        run = opt.start(x0, seed=8)
        opt.run(run, 4)
        runs.append(run.to_json())
    assert runs[0] == runs[1]


@pytest.mark.parametrize("name", sorted(CASES))
def test_builtin_and_python_objective_give_identical_runs(rng, name):
    """A Python objective (here the built-in's values, so that the bits can agree) is
    called once per step on the whole (N, d) array — once more at the start for the
    variants with memory — and the run is the built-in's, bit for bit."""
    _, _, _, kind, at_start = CASES[name]
    x0 = start_points(kind, rng)
    calls = []

    def f(x):
        calls.append(x.shape)
        return mf.test_function("ackley", x)

    a, b = make(name), make(name, objective=f)
    ra, rb = a.start(x0, seed=4), b.start(x0, seed=4)
    a.run(ra, 12)
    b.run(rb, 12)
    assert state_of(ra) == state_of(rb)
    assert calls == [(N, D)] * (12 + at_start)


@pytest.mark.parametrize("name", ["polar", "pso", "mirror_entropic", "hypersurface_sphere"])
def test_f_dim_3d_passes_one_run_stack(rng, name):
    _, _, _, kind, _ = CASES[name]
    x0 = start_points(kind, rng)
    shapes = []

    def f3(x):
        shapes.append(x.shape)
        return mf.test_function("ackley", x[0])[None, :]

    a, b = make(name), make(name, objective=f3, f_dim="3D")
    ra, rb = a.start(x0, seed=6), b.start(x0, seed=6)
    a.run(ra, 8)
    b.run(rb, 8)
    assert np.array_equal(ra.x, rb.x)
    assert set(shapes) == {(1, N, D)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_checkpoint_resume_is_bit_identical(rng, name, tmp_path):
    _, _, _, kind, _ = CASES[name]
    x0 = start_points(kind, rng)
    opt = make(name)
    whole = opt.start(x0, seed=9)
    opt.run(whole, 20)
    half = opt.start(x0, seed=9)
    opt.run(half, 11)
    path = tmp_path / "cp.json"
    half.save(str(path))
    again = type(half).load(str(path))
    assert type(again).from_json(half.to_json()).to_json() == half.to_json()
    opt.run(again, 20)
    assert again.to_json() == whole.to_json()
    assert np.array_equal(again.x, whole.x) and again.best_f == whole.best_f


def test_run_classes_and_observations(rng):
    x0 = start_points("cube", rng)
    seen = {}
    for name, extra in [("polar", "points"), ("memory", "memory"), ("pso", "velocity"),
                        ("mirror_box", "dual")]:
        opt = make(name)
        run = opt.start(x0, seed=1)
        obs = []
        summary = opt.run(run, 6, observers=[(3, obs.append)])
        assert summary["reason"] == "steps_done" and [o["step"] for o in obs] == [0, 3, 6]
        state = obs[-1]["state"]
        assert extra in state and state[extra].shape == (N, D), name
        assert np.array_equal(state["x"], run.x) and state["best_f"] == run.best_f
        assert np.array_equal(getattr(run, extra), state[extra])
        seen[name] = type(run).__name__
    assert seen == {"polar": "PolarCboRun", "memory": "CboMemoryRun", "pso": "PsoRun",
                    "mirror_box": "MirrorCboRun"}
    assert type(make("cbs").start(x0)).__name__ == "CboRun"
    assert type(make("drift_sphere").start(x0)).__name__ == "CboRun"


def test_memory_values_are_the_personal_bests(rng):
    x0 = start_points("cube", rng)
    for name in ("memory", "pso"):
        opt = make(name)
        run = opt.start(x0, seed=2)
        assert np.array_equal(run.memory, x0)
        best = []
        opt.run(run, 30, observers=[(1, lambda o: best.append(o["state"]["best_f"]))])
        assert np.array_equal(run.memory_values, mf.test_function("ackley", run.memory))
        assert (run.memory_values <= mf.test_function("ackley", x0)).all()
        assert all(b1 <= b0 for b0, b1 in zip(best[1:], best[2:]))  # personal bests only improve


def test_constraints_and_domains_hold(rng):
    x0 = start_points("cube", rng)
    hyp = make("hypersurface_sphere")
    run = hyp.start(x0, seed=3)
    hyp.run(run, 40)
    assert hyp.distance(run.x).max() < 1e-12
    plane = make("hypersurface_plane")
    run = plane.start(x0, seed=3)
    plane.run(run, 40)
    assert plane.distance(run.x).max() < 1e-12
    drift = make("drift_sphere")
    run = drift.start(x0, seed=3)
    before = drift.distance(x0).mean()
    drift.run(run, 200)
    assert drift.distance(run.x).mean() < 0.1 * before
    simplex = make("mirror_entropic")
    run = simplex.start(start_points("simplex", rng), seed=3)
    simplex.run(run, 100)
    assert (run.x > 0).all() and np.abs(run.x.sum(axis=1) - 1).max() < 1e-12
    box = make("mirror_box")
    run = box.start(x0, seed=3)
    box.run(run, 100)
    assert (np.abs(run.x) < 3.5).all()
    ball = make("mirror_ball")
    run = ball.start(x0, seed=3)
    ball.run(run, 100)
    assert (np.linalg.norm(run.x - 0.5, axis=1) <= 7.5 * (1 + 1e-12)).all()
    sparse = make("mirror_elastic_net")
    run = sparse.start(x0, seed=3)
    sparse.run(run, 100)
    # the soft threshold sets coordinates exactly to 0; the identity map does not
    plain = mf.MirrorCBO("ackley", D, map="identity", **CBO)
    ref = plain.start(x0, seed=3)
    plain.run(ref, 100)
    assert (run.x == 0.0).mean() > 0.2 and not (ref.x == 0.0).any()


def test_cbs_samples_a_gaussian_target():
    """CBS in sampling mode: for f = |x − m|²/2 the law N(m, I) is stationary for every
    β (docs/cbo.md §8); the ensemble's mean and covariance after relaxation, within
    5 standard errors of N = 2000 samples (time-averaged over 50 late steps)."""
    m = np.array([1.0, -2.0])

    def f(x):
        return 0.5 * ((x - m) ** 2).sum(axis=1)

    cbs = mf.CBS(f, 2, mode="sampling", dt=0.2, alpha=1.0)
    run = cbs.start(np.random.default_rng(5).normal(size=(2000, 2)) * 3.0, seed=7)
    cbs.run(run, 100)
    xs = []
    cbs.run(run, 150, observers=[(1, lambda o: xs.append(o["state"]["x"]) if o["step"] % 5 == 0 else None)])
    x = np.concatenate(xs[-10:])
    mean_se = 1 / np.sqrt(2000)
    assert np.abs(x.mean(axis=0) - m).max() < 5 * mean_se
    cov = np.cov(x.T)
    assert np.abs(cov - np.eye(2)).max() < 5 * np.sqrt(2 / 2000)
    assert cbs.last_covariance().shape == (2, 2)


def test_polar_cbo_finds_both_minimisers():
    """Two wells at ±a (a Python objective): polarised CBO keeps one cluster in each."""
    a = np.array([2.0, 0.0])

    def f(x):
        return np.minimum(((x - a) ** 2).sum(axis=1), ((x + a) ** 2).sum(axis=1))

    opt = mf.PolarCBO(f, 2, kappa=0.5, lam=1.0, sigma=0.5, dt=0.05, alpha=10.0)
    run = opt.start(np.random.default_rng(3).uniform(-4, 4, (200, 2)), seed=5)
    opt.run(run, 300)
    found = opt.minimisers(run, 0.5, 0.1)
    centres = sorted(c["centre"][0] for c in found[:2])
    assert len(found) >= 2 and sum(c["size"] for c in found[:2]) > 150, found
    assert abs(centres[0] + 2) < 0.1 and abs(centres[1] - 2) < 0.1, found
    assert all(c["value"] == f(c["centre"][None, :])[0] for c in found)
    assert run.points.shape == (200, 2)


def test_bad_input_is_typed_and_names_the_argument(rng):
    x0 = start_points("cube", rng)
    bad = [
        (lambda: mf.CBS("ackley", D, mode="bayes"), ValueError, "mode"),
        (lambda: mf.CBS("ackley", D, scheme="rk4"), ValueError, "scheme"),
        (lambda: mf.CBS("ackley", D, root="qr"), ValueError, "root"),
        (lambda: mf.CBS("ackley", D, dt=-1.0), mf.InvalidParameterError, "dt"),
        (lambda: mf.CBS("ackley", D).start(x0[:D]), mf.IncompatibleStateError, "x0: .*N ≥ d \\+ 1"),
        (lambda: mf.PolarCBO("ackley", D, kappa=0.0), mf.InvalidParameterError, "kappa"),
        (lambda: mf.PolarCBO("ackley", D, kappa=1.0, kernel_scale="beta"), ValueError,
         "kernel_scale"),
        (lambda: mf.CBOMemory("ackley", D, lambda_memory=-1.0), mf.InvalidParameterError,
         "lambda_memory"),
        (lambda: mf.CBOMemory("ackley", D, sigma_memory=np.inf), mf.InvalidParameterError,
         "sigma_memory"),
        (lambda: mf.PSO("ackley", D, inertia=0.0, friction=0.0), mf.InvalidParameterError,
         "inertia"),
        (lambda: mf.PSO("ackley", D, noise="covariance"), mf.InvalidParameterError, "noise"),
        (lambda: mf.PSO("ackley", D, noise="gaussian"), ValueError, "noise"),
        (lambda: mf.MirrorCBO("ackley", D, map="sphere"), ValueError, "map"),
        (lambda: mf.MirrorCBO("ackley", D, map="log_barrier"), ValueError, "lower and upper"),
        (lambda: mf.MirrorCBO("ackley", D, map="ball", centre=np.zeros(D + 1)), ValueError,
         "centre"),
        (lambda: mf.MirrorCBO("ackley", D, map="ball", radius=0.0), mf.InvalidParameterError,
         "radius"),
        (lambda: mf.MirrorCBO("ackley", D, map="elastic_net", delta=0.0),
         mf.InvalidParameterError, "delta"),
        (lambda: mf.MirrorCBO("ackley", D, map="entropic").start(x0), ValueError, "x0"),
        (lambda: mf.ConstrainedCBO("ackley", D, surface="hyperplane"), ValueError, "normal"),
        (lambda: mf.ConstrainedCBO("ackley", D, surface="hyperplane", normal=np.zeros(D)),
         mf.InvalidParameterError, "normal"),
        (lambda: mf.ConstrainedCBO("ackley", D, surface="hyperplane", normal=np.ones(D + 1)),
         ValueError, "normal"),
        (lambda: mf.ConstrainedCBO("ackley", D, surface="torus"), ValueError, "surface"),
        (lambda: mf.ConstrainedCBO("ackley", D, scheme="penalty"), ValueError, "scheme"),
        (lambda: mf.ConstrainedCBO("ackley", D, epsilon=0.0), mf.InvalidParameterError,
         "epsilon"),
        (lambda: mf.ConstrainedCBO("ackley", D, radius=-1.0), mf.InvalidParameterError,
         "radius"),
        (lambda: mf.PSO("ackley", D, f_dim="4D"), ValueError, "f_dim"),
        (lambda: mf.CBOMemory("sphere", D), ValueError, "objective"),
        (lambda: mf.MirrorCBO(lambda x: x, D, shift=np.zeros(D)), ValueError, "shift"),
        (lambda: mf.PolarCBO("ackley", D, kappa=1.0, threads=0), ValueError, "threads"),
        (lambda: make("polar").minimisers(make("polar").start(x0), 0.5), mf.IncompatibleStateError,
         "no consensus points"),
    ]
    for call, exc, needle in bad:
        with pytest.raises(exc, match=needle):
            call()
    # a run of other dynamics is refused (fingerprint), and another run class is a TypeError
    cbs_run = make("cbs").start(x0)
    with pytest.raises(mf.MeanfieldError):
        make("drift_sphere").run(cbs_run, 3)
    with pytest.raises(TypeError):
        make("pso").run(make("memory").start(x0), 3)


def test_python_objective_failures(rng):
    x0 = start_points("cube", rng)

    class Boom(RuntimeError):
        pass

    def raises(x):
        raise Boom("no values")

    with pytest.raises(Boom, match="no values"):
        make("memory", objective=raises).start(x0)  # evaluated at the start

    def nan_at_step_2(x):
        v = mf.test_function("ackley", x)
        if len(calls) == 2:
            v[5] = np.nan
        calls.append(1)
        return v

    for name in ("polar", "mirror_ball", "hypersurface_sphere", "cbs"):
        calls = []
        opt = make(name, objective=nan_at_step_2)
        run = opt.start(x0)
        with pytest.raises(ValueError, match="objective at step 2: the objective returned NaN at particle 5"):
            opt.run(run, 5)
        assert run.step == 2


MANY = ("cbs", "memory", "pso", "mirror_entropic", "mirror_box", "drift_sphere",
        "hypersurface_plane")


def rows_3d(x):
    """A CBXpy-style f_dim='3D' Ackley: the built-in's values row by row, so that the
    stacked values equal the per-run ones bit for bit."""
    return mf.test_function("ackley", x.reshape(-1, x.shape[-1])).reshape(x.shape[:2])


@pytest.mark.parametrize("name", MANY)
def test_minimize_run_m_is_the_single_run_with_its_seed(rng, name):
    """minimize on M runs: run m equals start(x0[m], seed=replicate_seed(seed, 0, m)) +
    run, bit for bit — built-in, built-in on 2 threads, a 2D and a 3D Python objective
    (the 3D one called once per step on the (M', N, d) stack of the runs still going)."""
    m, n, steps, seed = 3, 20, 12, 5
    kind = CASES[name][3]
    x0 = np.stack([start_points(kind, rng, n) for _ in range(m)])
    shapes = []

    def f3(x):
        shapes.append(x.shape)
        return rows_3d(x)

    outs = [make(name).minimize(x0, steps, seed=seed),
            make(name, threads=2).minimize(x0, steps, seed=seed),
            make(name, lambda x: mf.test_function("ackley", x)).minimize(x0, steps, seed=seed),
            make(name, f3, f_dim="3D").minimize(x0, steps, seed=seed)]
    starts = 1 if CASES[name][4] else 0  # memory, PSO: f at the start too
    # plus f(consensus) of each outcome, one point per call
    assert shapes == [(m, n, D)] * (steps + starts) + [(1, 1, D)] * m
    opt = make(name)
    for r in range(m):
        run = opt.start(x0[r], seed=mf.replicate_seed(seed, 0, r))
        opt.run(run, steps)
        for out in outs:
            assert np.array_equal(out["consensus"][r], run.consensus)
            assert np.array_equal(out["best_x"][r], run.best_x)
            assert out["best_f"][r] == run.best_f and out["alpha"][r] == run.alpha
            assert out["steps"][r] == steps and out["evaluations"][r] == run.evaluations
    assert not np.array_equal(outs[0]["consensus"][0], outs[0]["consensus"][1])


def test_minimize_lockstep_stops_runs_apart_and_reports_failures(rng):
    """Runs that stop at different steps leave the stack (the 3D objective then sees
    fewer runs); a raising or NaN 3D objective surfaces as its exception / a ValueError."""
    m, n = 4, 20
    x0 = rng.uniform(-3, 3, (m, n, D))
    shapes = []

    def f3(x):
        if x.shape[1] == n:  # not f(consensus) of an outcome
            shapes.append(x.shape[0])
        return rows_3d(x)

    kw = dict(energy_tol=None, stagnation=(1e-3, 3))
    built = make("memory").minimize(x0, 200, seed=2, **kw)
    py = make("memory", f3, f_dim="3D").minimize(x0, 200, seed=2, **kw)
    for k in ("consensus", "best_x", "best_f", "alpha", "steps", "reason"):
        assert np.array_equal(np.asarray(built[k]), np.asarray(py[k])), k
    assert len(set(built["steps"])) > 1 and shapes[0] == m and shapes[-1] < m
    assert shapes == sorted(shapes, reverse=True)

    class Boom(RuntimeError):
        pass

    def boom(x):
        raise Boom("3D objective")

    with pytest.raises(Boom):
        make("cbs", boom, f_dim="3D").minimize(x0, 5)
    # failing in the start's evaluation (memory), or one run's block off the domain: the
    # other runs do not wait for the failed one
    with pytest.raises(Boom):
        make("memory", boom, f_dim="3D").minimize(x0, 5)
    box = np.clip(x0, -3.4, 3.4)
    box[2, 0, 0] = 5.0
    with pytest.raises(mf.MeanfieldError):
        make("mirror_box", rows_3d, f_dim="3D").minimize(box, 5)
    with pytest.raises(ValueError, match="objective at step 0: .*NaN at run"):
        make("cbs", lambda x: np.full(x.shape[:2], np.nan), f_dim="3D").minimize(x0, 5)
    with pytest.raises(ValueError, match="x0"):
        make("pso").minimize(np.zeros((2, 0, D)), 5)
    with pytest.raises(mf.MeanfieldError):
        make("mirror_entropic").minimize(x0, 5)  # blocks off the simplex


WELLS = np.array([[-2.0, -2.0], [2.5, 0.5], [-0.5, 3.0]])  # the polar-cbo experiment's


def rastrigin_wells(x):
    """CBXpy's Rastrigin_multimodal (every factor 1): Π_i V(x − z_i), on (..., 2)."""
    out = np.ones(x.shape[:-1])
    for z in WELLS:
        y = x - z
        out = out * (10 * x.shape[-1] + (y * y - 10 * np.cos(2 * np.pi * y)).sum(axis=-1))
    return out


@pytest.mark.parametrize("f_dim", ["2D", "3D"])
def test_polar_minimize_returns_each_runs_minimisers(f_dim):
    """The shifted-wells setting of the polar-cbo experiment (N = 100, κ = 0.5, α = 0.01,
    σ = 1, dt = 0.01, 500 steps, radius 0.25, min_fraction 0.05) at M = 6 runs: run r of
    `minimize` is `start(x0[r], replicate_seed(seed, 0, r))` + `run` + `minimisers` bit
    for bit, and the wells are found (CBXpy finds all three in 66 of 100 runs)."""
    m, n, steps, seed = 6, 100, 500, 11
    kw = dict(kappa=0.5, lam=1.0, sigma=1.0, dt=0.01, alpha=0.01, f_dim=f_dim)
    opt = mf.PolarCBO(rastrigin_wells, 2, **kw)
    x0 = np.random.default_rng(7).uniform(-5, 5, (m, n, 2))
    out = opt.minimize(x0, steps, radius=0.25, min_fraction=0.05, seed=seed)
    assert len(out["minimisers"]) == m and out["consensus"].shape == (m, 2)
    found_all = 0
    for r in range(m):
        run = opt.start(x0[r], seed=mf.replicate_seed(seed, 0, r))
        opt.run(run, steps)
        single = opt.minimisers(run, 0.25, 0.05)
        centres, values = out["minimisers"][r], out["minimiser_values"][r]
        assert centres.shape == (len(single), 2) and values.shape == (len(single),)
        assert np.array_equal(centres, np.array([c["centre"] for c in single]).reshape(-1, 2))
        assert np.array_equal(values, np.array([c["value"] for c in single]))
        assert out["minimiser_sizes"][r] == [c["size"] for c in single]
        assert np.array_equal(out["consensus"][r], run.consensus)
        assert np.array_equal(values, rastrigin_wells(centres))
        near = np.linalg.norm(centres[:, None, :] - WELLS[None], axis=-1) < 0.1
        found_all += near.any(axis=0).all()
    # P(no run of 6 finds all three) = 0.34^6 ≈ 1.5e-3 at CBXpy's rate.
    assert found_all >= 1, out["minimisers"]


def test_polar_minimize_bad_input_and_raising_objective():
    opt = mf.PolarCBO("ackley", 2, kappa=0.5)
    x0 = np.zeros((2, 10, 2))
    with pytest.raises(mf.InvalidParameterError, match="min_fraction"):
        opt.minimize(x0, 3, radius=0.25, min_fraction=2.0)
    with pytest.raises(mf.IncompatibleStateError, match="dimension 3"):
        opt.minimize(np.zeros((2, 10, 3)), 3, radius=0.25)
    with pytest.raises(TypeError, match="radius"):
        opt.minimize(x0, 3)

    def boom(x):
        raise RuntimeError("wells exploded")

    with pytest.raises(RuntimeError, match="wells exploded"):
        mf.PolarCBO(boom, 2, kappa=0.5, f_dim="3D").minimize(x0, 3, radius=0.25)
    with pytest.raises(ValueError, match="objective at step"):
        mf.PolarCBO(lambda x: np.full(x.shape[0], np.nan), 2, kappa=0.5).minimize(
            x0, 3, radius=0.25)
