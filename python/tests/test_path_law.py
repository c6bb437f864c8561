"""A Python path law for MGDM (`PathLaw.python`): the exact sampler as a transform of
i.i.d. draws from each path's Rust stream, the log-density on a whole batch. Checked
against the built-in AR(1) law re-implemented in NumPy — bitwise: the NumPy code does the
Rust arithmetic in the Rust order (sequential sums by `np.cumsum`, the scalar ln σ by
`math.log`, the same libm) — and through MGDM's reverse-KL trace; bad callbacks are typed."""
import math

import numpy as np
import pytest

import meanfield as mf

HALF_LN_2PI = 0.918_938_533_204_672_8  # the constant of crates/energy/src/process/ar.rs


class NumpyAr1:
    """Stationary Gaussian AR(1) with unit variance, as `ArProcess::new([a], T)`:
    σ² = 1 − a², burn-in T // 10 from x = 0, x_0 ~ N(0, 1) in the density."""

    def __init__(self, a, t):
        self.a, self.t, self.burn = a, t, t // 10
        self.sigma2 = 1.0 * (1.0 - a * a)
        self.sigma = math.sqrt(self.sigma2)
        self.calls = 0

    def sample(self, z):  # (n, burn + T) standard normals -> (n, T)
        self.calls += 1
        h = np.zeros(z.shape[0])
        for k in range(self.burn):
            h = self.a * h + self.sigma * z[:, k]
        x = np.empty((z.shape[0], self.t))
        for t in range(self.t):
            h = self.a * h + self.sigma * z[:, self.burn + t]
            x[:, t] = h
        return x

    def log_density(self, x):  # (n, T) -> (n,)
        self.calls += 1
        r = x[:, 1:] - self.a * x[:, :-1]
        ss = np.cumsum(r * r, axis=1)[:, -1]
        m = self.t - 1
        return (-0.5 * x[:, 0] * x[:, 0] - HALF_LN_2PI - 0.5 * ss / self.sigma2
                - m * (HALF_LN_2PI + math.log(self.sigma)))


def python_ar(a, t, **kw):
    impl = NumpyAr1(a, t)
    return mf.PathLaw.python(impl, t, n_draws=impl.burn + t, name=f"ar1({a})", **kw), impl


def test_sampler_density_and_target_mean_are_the_built_in_ar_bitwise():
    t, n = 40, 64
    law, impl = python_ar(0.1, t)
    ar = mf.PathLaw.ar([0.1], t)
    assert law.t == t and not law.non_negative and "ar1(0.1)" in repr(law)
    for purpose in ("latent", "alpha", "reference"):
        x = law.sample(n, seed=3, purpose=purpose)
        assert np.array_equal(x, ar.sample(n, seed=3, purpose=purpose))
    calls = impl.calls
    x = ar.sample(n, seed=5)
    assert law.log_density_sum(x) == ar.log_density_sum(x)
    assert impl.calls == calls + 1  # one call on the whole (n, T) batch
    phi = mf.FeatureMap.acf1(t)
    # 1 300 paths in chunks of 512: three sampler calls, bitwise the built-in's α
    calls = impl.calls
    assert np.array_equal(phi.target_mean(law, 1300, seed=2), phi.target_mean(ar, 1300, seed=2))
    assert impl.calls == calls + 3


def test_mgdm_trace_against_a_python_target_is_the_built_in_one():
    t, n, steps = 48, 12, 15
    law, _ = python_ar(0.1, t)
    ar, latent = mf.PathLaw.ar([0.1], t), mf.PathLaw.standard_gaussian(t)
    phi = mf.FeatureMap.acf1(t)
    alpha = phi.target_mean(ar, 300, seed=1)
    x0 = latent.sample(n, seed=2)
    mgdm = mf.MGDM(phi, alpha, 10.0, coupling=4)
    ours = mgdm.run(x0, steps, latent=latent, target=law)
    ref = mgdm.run(x0, steps, latent=latent, target=ar)
    for key in ("kl", "entropy", "target_loglik", "x", "x_at_min"):
        assert np.array_equal(ours[key], ref[key]), key
    # the resumable run records the same trace; its JSON names the Python law
    run = mgdm.start(x0, latent=latent, target=law)
    mgdm.run(run, steps)
    assert np.array_equal(run.trace["kl"], ref["kl"])
    again = mf.MgdmRun.from_json(run.to_json(), target=law)
    assert again.step == steps
    with pytest.raises(ValueError, match="target"):
        mf.MgdmRun.from_json(run.to_json(), target=ar)


def test_a_python_latent_law_and_the_projection_flag():
    t = 30
    law, _ = python_ar(0.2, t, non_negative=True)
    assert law.non_negative
    latent, _ = python_ar(0.0, t)
    x0 = latent.sample(8, seed=1)
    assert np.array_equal(x0, mf.PathLaw.ar([0.0], t).sample(8, seed=1))
    phi = mf.FeatureMap.acf1(t)
    res = mf.MGDM(phi, np.array([0.05, 0.9]), 5.0).run(x0, 5, latent=latent)
    ref = mf.MGDM(phi, np.array([0.05, 0.9]), 5.0).run(x0, 5, latent=mf.PathLaw.ar([0.0], t))
    assert np.array_equal(res["kl"], ref["kl"])


class Bad(NumpyAr1):
    def __init__(self, mode):
        super().__init__(0.1, 20)
        self.mode = mode

    def sample(self, z):
        if self.mode == "raise":
            raise RuntimeError("sampler exploded")
        if self.mode == "shape":
            return np.zeros((z.shape[0], 3))
        if self.mode == "nan":
            return np.full((z.shape[0], self.t), np.nan)
        if self.mode == "int":
            return np.zeros((z.shape[0], self.t), dtype=np.int64)
        return super().sample(z)

    def log_density(self, x):
        if self.mode == "density_raise":
            raise KeyError("density exploded")
        if self.mode == "density_nan":
            return np.full(x.shape[0], np.nan)
        if self.mode == "density_shape":
            return np.zeros((x.shape[0], 2))
        return super().log_density(x)


@pytest.mark.parametrize("mode, exc, match", [
    ("raise", RuntimeError, "sampler exploded"),
    ("shape", ValueError, r"law at step 0: law.sample returned shape \[4, 3\]"),
    ("nan", ValueError, "law.sample returned NaN"),
    ("int", ValueError, "float64"),
])
def test_bad_sampler_is_raised_unchanged_or_a_value_error(mode, exc, match):
    law = mf.PathLaw.python(Bad(mode), 20, n_draws=22)
    with pytest.raises(exc, match=match):
        law.sample(4, seed=0)
    with pytest.raises(exc, match=match.replace("[4", "[512") if mode == "shape" else match):
        mf.FeatureMap.acf1(20).target_mean(law, 600)


@pytest.mark.parametrize("mode, exc, match", [
    ("density_raise", KeyError, "density exploded"),
    ("density_nan", ValueError, "law.log_density returned NaN"),
    ("density_shape", ValueError, "law.log_density returned shape"),
])
def test_bad_density_is_raised_in_every_caller(mode, exc, match):
    law = mf.PathLaw.python(Bad(mode), 20, n_draws=22)
    x = mf.PathLaw.ar([0.1], 20).sample(6, seed=1)
    with pytest.raises(exc, match=match):
        law.log_density_sum(x)
    phi, latent = mf.FeatureMap.acf1(20), mf.PathLaw.standard_gaussian(20)
    mgdm = mf.MGDM(phi, np.array([0.05, 0.9]), 5.0)
    with pytest.raises(exc, match=match):
        mgdm.run(x, 3, latent=latent, target=law)
    with pytest.raises(exc, match=match):
        mgdm.start(x, latent=latent, target=law)
    with pytest.raises(exc, match=match):
        mgdm.start(x, latent=law)


def test_bad_arguments_are_typed():
    impl = NumpyAr1(0.1, 20)
    with pytest.raises(ValueError, match="draws"):
        mf.PathLaw.python(impl, 20, n_draws=22, draws="cauchy")
    with pytest.raises(ValueError, match="n_draws"):
        mf.PathLaw.python(impl, 20, n_draws=0)
    with pytest.raises(ValueError, match="needs a method sample"):
        mf.PathLaw.python(object(), 20, n_draws=22)

    class SamplerOnly:
        def sample(self, z):
            return z[:, :20]

    with pytest.raises(ValueError, match="needs a method log_density"):
        mf.PathLaw.python(SamplerOnly(), 20, n_draws=22)
    law = mf.PathLaw.python(impl, 20, n_draws=22)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 20\)"):
        law.log_density_sum(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="path length"):
        mf.MGDM(mf.FeatureMap.acf1(30), np.array([0.05, 0.9]), 5.0).start(
            np.zeros((2, 30)), latent=law)
    x = np.zeros((2, 20))
    x[0, 3] = np.inf
    with pytest.raises(ValueError):
        law.log_density_sum(x)
