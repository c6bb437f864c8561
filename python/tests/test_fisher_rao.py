"""Fisher–Rao from Python: the density-ratio variant equals the exact discrete flow,
a Python functional equals the built-in, positivity guard, resampling, WFR, bad input."""
import numpy as np
import pytest

import meanfield as mf


def test_density_ratio_exponentiated_step_is_the_exact_discrete_flow(rng):
    """Linear F = ∫ c·x, positions a π = N(0, I) sample: log W_k = (1 − hσ) log W_{k−1}
    − h c·x + const, so W_k ∝ exp(−s_k c·x/σ) with s_k = 1 − (1 − hσ)^k exactly (the Rust
    oracle crates/integrators/tests/fisher_rao.rs::density_ratio_exponentiated_step_is_the_exact_discrete_flow)."""
    sigma, h, k = 0.8, 0.25, 9
    c = np.array([1.0, -0.5])
    fr = mf.FisherRao(mf.Functional.linear(c), sigma=sigma, h=h)
    x0 = rng.normal(size=(500, 2))
    run = fr.start(x0, seed=3)
    fr.run(run, k)
    sk = 1 - (1 - h * sigma) ** k
    logw = -sk * (x0 @ c) / sigma
    want = np.exp(logw - logw.max())
    want /= want.sum()
    assert np.array_equal(run.x, x0)  # the flow moves mass, not positions
    assert np.all(np.abs(run.w - want) <= 1e-12 * want + 1e-15)
    assert abs(run.w.sum() - 1) < 1e-12
    assert run.ess == pytest.approx(1 / (want ** 2).sum(), rel=1e-10)


def test_python_functional_is_bitwise_the_builtin(rng):
    """d = 1, F = ∫ c x: first variation c x (one multiplication, so NumPy and Rust give
    the same bits); a Python functional on a weighted ensemble receives (X, w)."""
    c = 0.7
    seen = []

    class Linear:
        def value(self, x, w): return float(c * (w * x[:, 0]).sum())
        def first_variation(self, x, w):
            seen.append(w.shape)
            return c * x[:, 0]
        def grad(self, x, w): return np.full_like(x, c)

    x0 = rng.normal(size=(200, 1))
    out = []
    for f in (mf.Functional.linear(np.array([c])), Linear()):
        fr = mf.FisherRao(f, sigma=0.5, h=0.2, d=1, kernelisation="evolving_measure", eps=0.3)
        run = fr.start(x0, seed=1)
        fr.run(run, 12)
        out.append(run.w)
    assert np.array_equal(out[0], out[1])
    assert seen and all(s == (200,) for s in seen)


def test_euler_positivity_guard(rng):
    x0 = rng.normal(size=(100, 2))
    f = mf.Functional.linear(np.array([5.0, 5.0]))
    fr = mf.FisherRao(f, sigma=0.5, h=2.0, step="euler")
    run = fr.start(x0)
    with pytest.raises(mf.PositivityLostError, match="step"):
        fr.run(run, 5)
    fr = mf.FisherRao(f, sigma=0.5, h=2.0, step="euler", shrink=0.5)
    run = fr.start(x0)
    s = fr.run(run, 5)
    assert s["last_info"]["dt"] < 2.0 and np.all(run.w >= 0)


def test_wasserstein_fisher_rao_reaches_a_far_target_and_resamples(rng):
    """F = 2.5 x on R, σ = 1, variant (1), ε = 0.3 (the Rust test
    crates/integrators/tests/fisher_rao.rs::wasserstein_fisher_rao_reaches_a_far_target_and_keeps_the_ess):
    the target N(−2.5, 1 − ε²) is far from π; WFR's weighted mean reaches −2.5 within
    4 Monte-Carlo s.e. (√(Var/ESS)); pure FR degenerates (ESS below a tenth of WFR's);
    with resampling below ESS = N/2 some steps resample and the mean is as good."""
    x0 = rng.normal(size=(1000, 1))
    f = mf.Functional.linear(np.array([2.5]))
    out = {}
    for name, kw in (("wfr", dict(transport=True)), ("fr", {}),
                     ("wfr+resample", dict(transport=True, resample_below=0.5))):
        fr = mf.FisherRao(f, sigma=1.0, h=0.05, kernelisation="evolving_measure", eps=0.3, **kw)
        run = fr.start(x0, seed=7)
        flags = []
        fr.run(run, 120, observers=[(1, lambda o: flags.append(
            o["info"] is not None and o["info"]["resampled"]))])
        out[name] = (mf.diagnostics.mean(run.x, run.w)[0], run.ess, any(flags))
    sd = np.sqrt(1 - 0.3 ** 2)
    for name in ("wfr", "wfr+resample"):
        m, ess, _ = out[name]
        assert abs(m + 2.5) < 4 * sd / np.sqrt(ess), (name, m, ess)
    assert out["fr"][1] < out["wfr"][1] / 10, (out["fr"], out["wfr"])
    assert out["wfr+resample"][2] and not out["wfr"][2]


def test_rate_is_centred(rng):
    fr = mf.FisherRao(mf.Functional.linear(np.array([1.0, 2.0])), sigma=0.5, h=0.1,
                      kernelisation="both_measures", eps=0.5)
    x = rng.normal(size=(50, 2))
    w = rng.uniform(0.5, 1.5, 50)
    w /= w.sum()
    a = fr.rate(x, w)
    assert a.shape == (50,) and abs((w * a).sum()) < 1e-12


def test_bad_input():
    f = mf.Functional.linear(np.ones(2))
    with pytest.raises(ValueError, match="kernelisation"):
        mf.FisherRao(f, sigma=1.0, h=0.1, kernelisation="gaussian")
    with pytest.raises(ValueError, match="kernel"):
        mf.FisherRao(f, sigma=1.0, h=0.1, kernel="box")
    with pytest.raises(ValueError, match="step"):
        mf.FisherRao(f, sigma=1.0, h=0.1, step="rk4")
    with pytest.raises(mf.InvalidParameterError, match="sigma"):
        mf.FisherRao(f, sigma=0.0, h=0.1)
    with pytest.raises(mf.InvalidParameterError, match="safety"):
        mf.FisherRao(f, sigma=1.0, h=0.1, step="euler", shrink=1.5)
    with pytest.raises(mf.IncompatibleStateError, match="density"):
        mf.FisherRao(f, sigma=1.0, h=0.1, resample_below=0.5)
    with pytest.raises(ValueError, match="reference_mean: expected shape \\(2,\\)"):
        mf.FisherRao(f, sigma=1.0, h=0.1, reference_mean=np.zeros(3))
    fr = mf.FisherRao(f, sigma=1.0, h=0.1)
    with pytest.raises(ValueError, match="w: expected shape \\(4,\\)"):
        fr.start(np.zeros((4, 2)), w0=np.ones(3))
    with pytest.raises(ValueError, match="w"):
        fr.start(np.zeros((4, 2)), w0=np.array([1.0, -1.0, 0.5, 0.5]))
