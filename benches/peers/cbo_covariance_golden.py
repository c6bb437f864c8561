#!/usr/bin/env python3
"""Golden values for CBO with the covariance noise: CBXpy 1.0.4's CBO(noise='covariance').

CBXpy's covariance noise (cbx/noise.py `covariance_noise`) replaces CBO's exploration term by
sigma * sqrt(2 dt / lamda) * Cov^{1/2} xi, with Cov = sum_i w_i (x_i - c)(x_i - c)^T over the
normalised consensus weights, Cov^{1/2} the symmetric eigen-root, and lamda = 1/(1 + alpha)
in its default 'sampling' mode or 1 in 'optimization' mode. The root of a nearly singular
Cov is ill-conditioned (an eigenvalue error e moves the root by ~sqrt(e), so round-off
differences between numpy's eigh and faer's reach 1e-9 at alpha = 30, N = 8); the runs use
alpha_0 = 0.1 and 0.2, where Cov is well conditioned. We run both modes on the
unnormalised Rastrigin function for 25 steps (N = 8, d = 3), record every standard-normal
array CBXpy draws, and write crates/integrators/tests/data/cbo_covariance_golden.json in the
format of cbo_golden.json; `tests/cbo.rs` replays the noise through `Cbo::step_with_noise`.

Usage: python benches/peers/cbo_covariance_golden.py [out.json]   (a Python with cbx==1.0.4)
"""
import json
import sys

import numpy as np
from cbx.dynamics import CBO
from cbx.objectives import Rastrigin
from cbx.scheduler import multiply

from cbx_golden import record_normals, run

N, D, STEPS = 8, 3, 25


def trajectory(mode, sigma, alpha0, factor, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-3.0, 3.0, (1, N, D))
    dyn = CBO(Rastrigin(), x=x0.copy(), noise="covariance", sigma=sigma, lamda=1.0, dt=0.01,
              alpha=alpha0, max_it=STEPS, verbosity=0, seed=seed)
    dyn.noise_callable.mode = mode
    draws = record_normals(dyn, (N, D))
    sched = multiply(factor=factor, maximum=1e5)
    steps = run(dyn, sched, STEPS, lambda dyn: {
        "consensus": np.asarray(dyn.consensus).reshape(D).tolist(),
        "x": dyn.x.reshape(N, D).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == STEPS
    return {"noise_kind": "covariance-" + mode, "sigma": sigma, "lambda": 1.0, "dt": 0.01,
            "alpha0": alpha0, "factor": factor, "alpha_max": 1e5,
            "x0": x0.reshape(N, D).tolist(), "noise": draws, "steps": steps}


def main():
    out = (sys.argv[1] if len(sys.argv) > 1
           else "crates/integrators/tests/data/cbo_covariance_golden.json")
    data = {"generator": "benches/peers/cbo_covariance_golden.py", "cbx": "1.0.4",
            "objective": "rastrigin", "n": N, "d": D,
            "runs": [trajectory("sampling", 0.3, 0.1, 1.05, 3),
                     trajectory("optimization", 1.0, 0.2, 1.05, 4)]}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
