"""MF-MGDM on an AR(2) process (mirrors crates/meanfield/examples/mf_mgdm_ar.rs):
x_t = 0.5 x_{t−1} − 0.3 x_{t−2} + σ ε_t with unit stationary variance, multi-lag
autocovariance features; α from 2 000 independent AR paths, 32 latent N(0, 1) paths pushed
jointly by the group-mean features. The reverse KL(q_k ‖ p) per path is tracked exactly
from the step log-determinants; checks that it fell below a quarter of its start (the
Rust example's check, with the same α and latent sample; 150 steps here instead of the
Rust example's 250 to keep the test suite short, the KL is still decreasing at 150).

Run: python python/examples/mf_mgdm_ar.py
"""
import sys

import numpy as np

import meanfield as mf

T, N, STEPS, GAMMA = 256, 32, 150, 20.0


def main():
    target, latent = mf.PathLaw.ar([0.5, -0.3], T), mf.PathLaw.standard_gaussian(T)
    phi = mf.FeatureMap.multi_lag(T, 2)
    alpha = phi.target_mean(target, 2000, seed=5)
    x0 = latent.sample(N, seed=5)
    mfm = mf.MGDM(phi, alpha, GAMMA, coupling=N).run(x0, STEPS, latent=latent, target=target)
    kl = mfm["kl"]
    print(f"reverse KL per path: start {kl[0]:.3f}, min {mfm['min_kl']:.3f} at step "
          f"{mfm['argmin']}, end {kl[-1]:.3f}")
    feats = phi.mean(mfm["x"])
    for lag in (1, 2):
        print(f"lag-{lag} autocovariance of the paths {feats[lag]:.4f} (target α {alpha[lag]:.4f})")
    ok = mfm["min_kl"] < 0.25 * kl[0]
    if not ok:
        print(f"FAIL: KL did not decrease enough: {kl[0]} -> {mfm['min_kl']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
