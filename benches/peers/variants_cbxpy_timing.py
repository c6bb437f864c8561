#!/usr/bin/env python3
"""Seconds per step of CBXpy 1.0.4's consensus variants at (N, d) = (1000, 20), one thread.

The settings of the criterion bench `benches/benches/cbo.rs::variant_steps`:
Rastrigin, alpha = 10, lambda = 1, sigma = 1, anisotropic noise (isotropic for the
hypersurface scheme), dt = 0.01, f_dim '3D'; X0 ~ U[-3, 3]^d except MirrorCBO (the box
[-1, 1]^d, X0 ~ U[-0.9, 0.9]^d) and HyperSurfaceCBO (X0 on the unit sphere). PSO is CBXpy's
own class (its update diverges, docs/cbo.md §12, which does not change the cost of a step);
CBS is sampling mode with alpha = 1 (it has no lambda / sigma / noise options).
Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1. Prints one JSON line per variant with
the median and minimum over --steps steps after one warm-up step.

Usage: OMP_NUM_THREADS=1 variants_cbxpy_timing.py [--variant NAME] [--n 1000] [--d 20] [--steps 10]
"""
import argparse
import json
import time

import numpy as np
from cbx.dynamics import (CBO, CBS, CBOMemory, PSO, DriftConstrainedCBO, HyperSurfaceCBO,
                          MirrorCBO)
from cbx.objectives import Rastrigin

VARIANTS = ["memory", "pso", "cbs", "covariance", "mirror", "drift", "hypersurface"]


def make(variant, n, d):
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-3.0, 3.0, (1, n, d))
    common = dict(noise="anisotropic", sigma=1.0, lamda=1.0, dt=0.01, alpha=10.0,
                  max_it=10**6, verbosity=0, seed=1, f_dim="3D")
    f = Rastrigin()
    if variant == "memory":
        return CBOMemory(f, x=x0, lamda_memory=0.4, **common)
    if variant == "pso":
        return PSO(f, x=x0, m=0.001, lamda_memory=0.4, **common)
    if variant == "cbs":
        # CBS has no noise / lamda / sigma options (its noise is the covariance's).
        return CBS(f, x=x0, mode="sampling", alpha=1.0, dt=0.01, max_it=10**6, verbosity=0,
                   seed=1, f_dim="3D")
    if variant == "covariance":
        return CBO(f, x=x0, **{**common, "noise": "covariance"})
    if variant == "mirror":
        return MirrorCBO(f, x=rng.uniform(-0.9, 0.9, (1, n, d)), mirrormap="LogBarrierBox",
                         **common)
    if variant == "drift":
        return DriftConstrainedCBO(f, x=x0, constraints=[{"name": "sphere", "r": 1.0}],
                                   eps=0.01, **common)
    if variant == "hypersurface":
        x = rng.normal(size=(1, n, d))
        x /= np.linalg.norm(x, axis=-1, keepdims=True)
        return HyperSurfaceCBO(f, x=x, sdf={"name": "sphere"}, **{**common, "noise": "isotropic"})
    raise ValueError(variant)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--variant", choices=VARIANTS + ["all"], default="all")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=20)
    p.add_argument("--steps", type=int, default=10)
    a = p.parse_args()
    for v in VARIANTS if a.variant == "all" else [a.variant]:
        dyn = make(v, a.n, a.d)
        dyn.step()
        times = []
        for _ in range(a.steps):
            t0 = time.perf_counter()
            dyn.step()
            times.append(time.perf_counter() - t0)
        print(json.dumps({"variant": v, "n": a.n, "d": a.d, "steps": a.steps,
                          "median_s": float(np.median(times)), "min_s": float(min(times)),
                          "cbx": "1.0.4"}), flush=True)


if __name__ == "__main__":
    main()
