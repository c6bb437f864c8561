#!/usr/bin/env python3
"""Seconds per step of CBXpy 1.0.4's PolarCBO at (N, d) = (1000, 20), one thread.

The settings of `benches/benches/cbo.rs::polar_cbo_step`: Rastrigin, X0 ~ U[-3, 3]^d,
Gaussian kernel kappa = 0.5, kernel_factor_mode 'const', alpha = 10, lambda = 1, sigma = 1,
anisotropic noise, dt = 0.01, f_dim '3D' (one vectorised objective call per step). Run
with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 so NumPy stays on one thread. Prints the
median and the minimum over --steps steps after one warm-up step, as one JSON line.

Usage: OMP_NUM_THREADS=1 polar_cbxpy_timing.py [--n 1000] [--d 20] [--steps 10]
"""
import argparse
import json
import time

import numpy as np
from cbx.dynamics import PolarCBO
from cbx.objectives import Rastrigin


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=20)
    p.add_argument("--steps", type=int, default=10)
    a = p.parse_args()
    x0 = np.random.default_rng(1).uniform(-3.0, 3.0, (1, a.n, a.d))
    dyn = PolarCBO(Rastrigin(), x=x0, noise="anisotropic", sigma=1.0, lamda=1.0, dt=0.01,
                   alpha=10.0, kappa=0.5, kernel="Gaussian", kernel_factor_mode="const",
                   max_it=a.steps + 1, verbosity=0, seed=1, f_dim="3D")
    dyn.step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        dyn.step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"variant": "PolarCBO", "n": a.n, "d": a.d, "steps": a.steps,
                      "median_s": float(np.median(times)), "min_s": float(min(times)),
                      "cbx": "1.0.4"}))


if __name__ == "__main__":
    main()
