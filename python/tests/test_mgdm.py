"""MGDM / MF-MGDM from Python: MF-MGDM's minimum reverse KL is below MGDM's on AR(0.1)
(the paired check of the Rust experiment `mf-mgdm-table`), the trace is consistent with
its parts, runs are bitwise the Rust API's (`dynamics_reference`) for 1 and 2 threads,
CIR targets switch on the positivity projection, and bad input is a typed error."""
import json
import subprocess

import numpy as np
import pytest

import meanfield as mf


def test_mf_mgdm_is_below_mgdm_on_ar01():
    """The check of `mf-mgdm-table` at a smaller size (T = 128, N = 32, γ = 10, the sizes
    of the Rust test `mf_mgdm_beats_mgdm_on_a_gaussian_ar1`): α from 1 000 AR(0.1) paths,
    4 latent samples; over the 4 paired runs the mean of min KL(MGDM) − min KL(MF-MGDM)
    exceeds 3 standard errors. Both minima are reached inside the 20 steps."""
    t, n, steps = 128, 32, 20
    target, latent = mf.PathLaw.ar([0.1], t), mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.acf1(t)
    alpha = phi.target_mean(target, 1000, seed=0)
    diffs = []
    for seed in range(4):
        x0 = latent.sample(n, seed=seed)
        mgdm, mfm = (mf.MGDM(phi, alpha, 10.0, coupling=c).run(
            x0, steps, latent=latent, target=target) for c in ("independent", "mean_field"))
        assert np.isfinite(mgdm["min_kl"]) and np.isfinite(mfm["min_kl"])
        assert mgdm["argmin"] < steps and mfm["argmin"] < steps
        diffs.append(mgdm["min_kl"] - mfm["min_kl"])
    diffs = np.array(diffs)
    se = diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert diffs.mean() > 3 * se, diffs


def test_trace_parts_add_up_and_start_from_the_latent_sample():
    t, n = 48, 12
    target, latent = mf.PathLaw.ar([0.1], t), mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.acf1(t)
    alpha = phi.target_mean(target, 300, seed=1)
    x0 = latent.sample(n, seed=2)
    res = mf.MGDM(phi, alpha, 10.0, coupling=4).run(x0, 40, latent=latent, target=target)
    kl, ld, tl = res["kl"], res["cumulative_log_det"], res["target_loglik"]
    assert kl.shape == (41,) and res["x"].shape == (n, t)
    lat = latent.log_density_sum(x0) / n
    np.testing.assert_array_equal(kl, lat - ld - tl)
    assert tl[0] == target.log_density_sum(x0) / n
    assert tl[-1] == target.log_density_sum(res["x"]) / n
    assert res["min_kl"] == kl.min() and kl[res["argmin"]] == kl.min()
    np.testing.assert_array_equal(res["entropy"], -(lat - ld))
    # the paths approach α: the feature mismatch shrinks
    assert np.linalg.norm(phi.mean(res["x"]) - alpha) < np.linalg.norm(phi.mean(x0) - alpha)


def reference(binary, spec):
    out = subprocess.run([binary], input=json.dumps(spec), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("groups", [None, 5])
def test_python_run_is_bitwise_the_rust_run(dynamics_reference, threads, groups):
    t, n, seed, steps = 40, 10, 7, 25
    target, latent = mf.PathLaw.ar([0.1], t), mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.acf1(t)
    alpha = phi.target_mean(target, 600, seed=seed)
    x0 = latent.sample(n, seed=seed)
    coupling = "independent" if groups is None else groups
    res = mf.MGDM(phi, alpha, 8.0, coupling=coupling, threads=threads).run(
        x0, steps, latent=latent, target=target)
    spec = {"family": "mgdm", "ar": [0.1], "gamma": 8.0, "alpha_samples": 600, "n": n,
            "d": t, "x0": [], "seed": seed, "steps": steps, "threads": threads}
    if groups is not None:
        spec["groups"] = groups
    ref = reference(dynamics_reference, spec)
    assert alpha.tolist() == ref["alpha"]
    assert x0.ravel().tolist() == ref["x0"]
    assert res["kl"].tolist() == ref["kl"]
    assert res["x"].ravel().tolist() == ref["paths"]


def test_one_and_two_threads_multi_lag_are_identical():
    t, n = 32, 8
    target, latent = mf.PathLaw.ar([0.5, -0.3], t), mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.multi_lag(t, 2, moments=True)
    assert phi.k == 8 and phi.t == t  # m₁, m₃, a₀…a₂, b₀…b₂
    alpha = phi.target_mean(target, 200, seed=3)
    x0 = latent.sample(n, seed=4)
    a, b = (mf.MGDM(phi, alpha, 5.0, threads=k).run(x0, 15, latent=latent, target=target)
            for k in (1, 2))
    np.testing.assert_array_equal(a["x"], b["x"])
    np.testing.assert_array_equal(a["kl"], b["kl"])


def test_cir_target_keeps_paths_non_negative():
    t, n = 32, 8
    target = mf.PathLaw.cir1(t)
    latent = mf.PathLaw.truncated_gaussian_matching(target)
    assert target.non_negative and latent.t == t
    phi = mf.FeatureMap.acf1(t)
    alpha = phi.target_mean(target, 200, seed=1)
    x0 = latent.sample(n, seed=1)
    assert (x0 >= 0).all()
    res = mf.MGDM(phi, alpha, 10.0).run(x0, 30, latent=latent, target=target)
    assert (res["x"] >= 0).all() and np.isfinite(res["kl"]).all()
    e = mf.PathLaw.exponential(t)
    assert e.log_density_sum(x0) == pytest.approx(-x0.sum())
    assert e.log_density_sum(-x0 - 1.0) == -np.inf


def test_without_target_the_trace_is_minus_entropy():
    t, n = 24, 6
    latent = mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.acf1(t)
    x0 = latent.sample(n, seed=9)
    res = mf.MGDM(phi, np.array([0.1, 1.0]), 5.0).run(x0, 10, latent=latent)
    np.testing.assert_array_equal(res["kl"], -res["entropy"])
    assert (res["target_loglik"] == 0).all()


def test_bad_input_is_a_typed_error():
    t = 16
    phi = mf.FeatureMap.acf1(t)
    latent = mf.PathLaw.standard_gaussian(t)
    x0 = latent.sample(4, seed=0)
    assert phi.k == 2
    with pytest.raises(ValueError, match="alpha"):
        mf.MGDM(phi, np.zeros(3), 1.0)
    with pytest.raises(mf.InvalidParameterError):
        mf.MGDM(phi, np.ones(2), -1.0)
    with pytest.raises(ValueError, match="coupling"):
        mf.MGDM(phi, np.ones(2), 1.0, coupling="both")
    with pytest.raises(ValueError, match="x0"):
        mf.MGDM(phi, np.ones(2), 1.0).run(x0[:, :5], 1, latent=latent)
    with pytest.raises(ValueError, match="x0"):
        mf.MGDM(phi, np.ones(2), 1.0).run(np.asfortranarray(x0), 1, latent=latent)
    with pytest.raises(ValueError, match="latent"):
        mf.MGDM(phi, np.ones(2), 1.0).run(x0, 1, latent=mf.PathLaw.standard_gaussian(8))
    with pytest.raises(mf.InvalidParameterError):
        mf.PathLaw.ar([1.5], t)
    with pytest.raises(mf.InvalidParameterError):
        phi.target_mean(latent, 0)
    with pytest.raises(ValueError, match="purpose"):
        latent.sample(3, purpose="other")
    with pytest.raises(ValueError, match="cir"):
        mf.PathLaw.truncated_gaussian_matching(latent)
    # a step size that overflows the step is DivergedError naming the step
    with pytest.raises(mf.DivergedError, match="step 1"):
        mf.MGDM(phi, np.full(2, 1e-3), 1e300, coupling="independent").run(
            x0, 3, latent=latent)


def mgdm_setup(t=40, n=10, seed=7):
    target, latent = mf.PathLaw.ar([0.1], t), mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.acf1(t)
    return phi, phi.target_mean(target, 600, seed=seed), latent.sample(n, seed=seed), latent


@pytest.mark.parametrize("coupling", ["independent", "mean_field", 5])
def test_runner_path_is_the_trace_path_and_resumes_bit_for_bit(coupling, tmp_path):
    """MGDM.start + MGDM.run (the Runner, checkpoints) gives the trace path's final
    paths bit for bit; k steps → JSON → the rest ≡ the uninterrupted run; the observers'
    log-determinants add up to the trace's cumulative log|det|."""
    phi, alpha, x0, latent = mgdm_setup()
    mgdm = mf.MGDM(phi, alpha, 8.0, coupling=coupling, threads=2)
    traced = mgdm.run(x0, 25, latent=latent)
    whole = mgdm.start(x0)
    dets = []
    s = mgdm.run(whole, 25, observers=[(1, lambda o: dets.append(o["info"] and o["info"]["log_det"]))])
    assert s["reason"] == "steps_done" and s["steps_taken"] == 25
    assert np.array_equal(whole.x, traced["x"])
    assert dets[0] is None and len(dets) == 26
    # the trace is per path: log|det| of the whole ensemble map over N = 10
    np.testing.assert_allclose(np.cumsum(dets[1:]) / 10, traced["cumulative_log_det"][1:],
                               rtol=1e-12, atol=1e-9)
    half = mgdm.start(x0)
    mgdm.run(half, 11)
    half.save(str(tmp_path / "mgdm.json"))
    again = mf.MgdmRun.load(str(tmp_path / "mgdm.json"))
    mgdm.run(again, 25)
    assert again.to_json() == whole.to_json() and again.step == 25
    assert json.loads(whole.to_json())["fingerprint"] == mgdm.fingerprint(10)


def test_runner_path_is_bitwise_the_rust_run(dynamics_reference):
    phi, alpha, x0, latent = mgdm_setup()
    mgdm = mf.MGDM(phi, alpha, 8.0, coupling=5)
    run = mgdm.start(x0)
    mgdm.run(run, 25)
    spec = {"family": "mgdm", "ar": [0.1], "gamma": 8.0, "alpha_samples": 600, "n": 10,
            "d": 40, "x0": [], "seed": 7, "steps": 25, "threads": 1, "groups": 5}
    assert run.x.ravel().tolist() == reference(dynamics_reference, spec)["paths"]


def test_runner_options_and_errors():
    phi, alpha, x0, latent = mgdm_setup()
    mgdm = mf.MGDM(phi, alpha, 8.0)
    run = mgdm.start(x0)
    s = mgdm.run(run, 100, stop_when=lambda o: o["step"] >= 4)
    assert s["reason"] == "predicate" and run.step == 4
    s = mgdm.run(run, 100, observers=[(2, lambda o: o["step"] >= 8)])
    assert s["reason"] == "observer_stop" and run.step == 8
    seen = []
    mgdm.run(run, 12, progress=lambda k, total: seen.append((k, total)))
    assert seen[-1] == (12, 12)
    with pytest.raises(mf.UnsupportedStopError):
        mgdm.run(run, 20, energy_tol=1e-3)
    with pytest.raises(ValueError, match="latent, target"):
        mgdm.run(run, 20, latent=latent)
    with pytest.raises(ValueError, match="MgdmRun"):
        mgdm.run(x0, 20, latent=latent, observers=[(1, print)])
    with pytest.raises(ValueError, match="latent"):
        mgdm.run(x0, 20)
    with pytest.raises(ValueError, match="x0"):
        mgdm.start(x0[:, :7])
    # another γ is other dynamics: its checkpoint is refused
    with pytest.raises(mf.MeanfieldError):
        mf.MGDM(phi, alpha, 4.0).run(run, 20)
    class Boom(RuntimeError):
        pass

    def explode(o):
        raise Boom("observer")

    with pytest.raises(Boom):
        mgdm.run(run, 30, observers=[(1, explode)])


@pytest.mark.parametrize("case", ["independent", "mean_field", "groups_cir1"])
def test_traced_run_resumes_bit_for_bit(case, tmp_path):
    """A run from start(x0, latent=…, target=…) records the reverse-KL trace at every
    step of every run call: k steps → file → the rest gives the trace of the
    uninterrupted run and of the trace path run(x0, …) bit for bit (CIR1: the positivity
    projection defaults on for the non-negative target on both paths)."""
    if case == "groups_cir1":
        t, coupling = 32, 4
        target = mf.PathLaw.cir1(t)
        latent = mf.PathLaw.truncated_gaussian_matching(target)
    else:
        t, coupling = 40, case
        target, latent = mf.PathLaw.ar([0.1], t), mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.acf1(t)
    alpha = phi.target_mean(target, 400, seed=2)
    x0 = latent.sample(8, seed=3)
    mgdm = mf.MGDM(phi, alpha, 6.0, coupling=coupling)
    path = mgdm.run(x0, 20, latent=latent, target=target)
    whole = mgdm.start(x0, latent=latent, target=target)
    mgdm.run(whole, 20)
    half = mgdm.start(x0, latent=latent, target=target)
    assert half.trace["kl"].shape == (1,)
    mgdm.run(half, 7, stop_when=lambda o: o["step"] >= 5)  # stopped early, resumed below
    assert half.step == 5 and half.trace["kl"].shape == (6,)
    half.save(str(tmp_path / "traced.json"))
    again = mf.MgdmRun.load(str(tmp_path / "traced.json"), target=target)
    mgdm.run(half, 20)
    mgdm.run(again, 20)
    for run in (whole, half, again):
        tr = run.trace
        for key in ("kl", "entropy", "cumulative_log_det", "target_loglik", "x_at_min"):
            assert np.array_equal(tr[key], path[key]), key
        assert (tr["min_kl"], tr["argmin"], tr["frozen"]) == (
            path["min_kl"], path["argmin"], path["frozen"])
        assert np.array_equal(run.x, path["x"])
    assert again.to_json() == whole.to_json()
    if case == "groups_cir1":
        assert (whole.x >= 0).all()


def test_traced_run_errors():
    phi, alpha, x0, latent = mgdm_setup()
    target = mf.PathLaw.ar([0.1], 40)
    mgdm = mf.MGDM(phi, alpha, 8.0)
    assert mgdm.start(x0).trace is None
    with pytest.raises(ValueError, match="latent"):
        mgdm.start(x0, target=target)
    with pytest.raises(ValueError, match="target: path length"):
        mgdm.start(x0, latent=latent, target=mf.PathLaw.ar([0.1], 30))
    run = mgdm.start(x0, latent=latent, target=target)
    mgdm.run(run, 3)
    s = run.to_json()
    with pytest.raises(ValueError, match="target: the trace was recorded against PathLaw.ar"):
        mf.MgdmRun.from_json(s)
    with pytest.raises(ValueError, match="target"):
        mf.MgdmRun.from_json(s, target=mf.PathLaw.ar([0.2], 40))
    with pytest.raises(ValueError, match="no reverse-KL trace"):
        mf.MgdmRun.from_json(mgdm.start(x0).to_json(), target=target)
    # without a target: KL = −entropy, and it loads without one
    free = mgdm.start(x0, latent=latent)
    mgdm.run(free, 3)
    tr = mf.MgdmRun.from_json(free.to_json()).trace
    assert np.array_equal(tr["kl"], -tr["entropy"]) and tr["kl"].shape == (4,)
    with pytest.raises(mf.CheckpointError):
        mf.MgdmRun.from_json('{"checkpoint": {}, "kl_trace": {}, "target": null}')


@pytest.mark.parametrize("threads", [1, 2])
def test_scaled_features_are_bitwise_the_rust_run(dynamics_reference, threads):
    """FeatureMap.acf1(t).scaled(s) is the Rust ScaledFeatures<Acf1>: α, KL trace and
    final paths bit for bit (dynamics_reference with "scale")."""
    t, n, seed, steps, scale, gamma = 40, 10, 7, 25, [1.5, 0.5], 2.0
    target, latent = mf.PathLaw.ar([0.1], t), mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.acf1(t).scaled(np.array(scale))
    assert phi.k == 2 and phi.t == t and "scaled" in repr(phi)
    alpha = phi.target_mean(target, 600, seed=seed)
    x0 = latent.sample(n, seed=seed)
    res = mf.MGDM(phi, alpha, gamma, coupling=5, threads=threads).run(
        x0, steps, latent=latent, target=target)
    spec = {"family": "mgdm", "ar": [0.1], "gamma": gamma, "alpha_samples": 600, "n": n,
            "d": t, "x0": [], "seed": seed, "steps": steps, "threads": threads,
            "groups": 5, "scale": scale}
    ref = reference(dynamics_reference, spec)
    assert alpha.tolist() == ref["alpha"]
    assert res["kl"].tolist() == ref["kl"]
    assert res["x"].ravel().tolist() == ref["paths"]


def test_feature_maps_compose_and_refuse_bad_input():
    t = 24
    x = mf.PathLaw.ar([0.3], t).sample(6, seed=1)
    inner = mf.FeatureMap.multi_lag(t, 3, moments=True)
    s = np.linspace(0.5, 2.0, inner.k)
    scaled = inner.scaled(s)
    # Φ'_k = s_k Φ_k on every path: the mean of one path is s times its features
    for row in x:
        np.testing.assert_array_equal(scaled.mean(row[None, :]), s * inner.mean(row[None, :]))
    with pytest.raises(mf.InvalidParameterError, match="scale"):
        inner.scaled(np.where(np.arange(inner.k) == 2, -1.0, s))
    with pytest.raises(mf.InvalidParameterError, match="scale"):
        inner.scaled(np.zeros(inner.k))
    with pytest.raises(ValueError, match="scale"):
        inner.scaled(s[:-1])
    with pytest.raises(ValueError, match="scale"):
        inner.scaled(np.full(inner.k, np.nan))
    with pytest.raises(ValueError, match="already scaled"):
        scaled.scaled(s)
    with pytest.raises(mf.InvalidParameterError, match="max_lag"):
        mf.FeatureMap.multi_lag(t, t, moments=False)  # a lag as long as the path
    with pytest.raises(mf.MeanfieldError):
        mf.FeatureMap.acf1(1)


def test_traced_checkpoint_must_match_its_trace():
    phi, alpha, x0, latent = mgdm_setup()
    mgdm = mf.MGDM(phi, alpha, 8.0)
    run = mgdm.start(x0, latent=latent)
    mgdm.run(run, 4)
    j = json.loads(run.to_json())
    j["checkpoint"]["step"] = 3  # the trace has 4 steps
    with pytest.raises(mf.CheckpointError, match="kl_trace"):
        mf.MgdmRun.from_json(json.dumps(j))
