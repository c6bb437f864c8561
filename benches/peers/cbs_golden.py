#!/usr/bin/env python3
"""Golden values for consensus-based sampling: CBXpy 1.0.4's CBS trajectories with their noise.

CBXpy 1.0.4's `CBS` is CBO with the covariance noise model: Euler–Maruyama
x <- x + (-lamda dt (x - m) + sigma sqrt(2 dt / lam) Cov_sqrt xi), sigma = 1, lam = 1/(1 + alpha)
in sampling mode and 1 in optimization mode, Cov_sqrt the symmetric (eigh) root of the
weighted covariance. Given its standard normals it is deterministic, so we record every
normal array it draws, plus the particles, consensus and best energy after each step, for
both modes on a Gaussian target f(x) = 1/2 (x - m)^T A (x - m) and on Rastrigin, and write
crates/integrators/tests/data/cbs_golden.json. `tests/cbs.rs` replays the noise through
`Cbs::step_with_noise` (Euler–Maruyama scheme, symmetric root) and must reproduce the
trajectory to round-off.

Usage: python benches/peers/cbs_golden.py [out.json]   (a Python with cbx==1.0.4)
"""
import json
import sys

import numpy as np
import cbx
from cbx.dynamics import CBS
from cbx.objectives import Rastrigin

from cbx_golden import record_normals, run

N, D, STEPS = 10, 3, 25
MEAN = np.array([1.0, -0.5, 0.25])
PRECISION = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 0.5]])


def gaussian(x):
    y = x - MEAN
    return 0.5 * np.einsum("...i,ij,...j->...", y, PRECISION, y)


def trajectory(objective, mode, alpha, dt, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-2.0, 2.0, (1, N, D))
    f = Rastrigin() if objective == "rastrigin" else gaussian
    dyn = CBS(f, mode=mode, x=x0.copy(), alpha=alpha, dt=dt, max_it=STEPS, verbosity=0,
              seed=seed)
    draws = record_normals(dyn, (N, D))
    steps = run(dyn, None, STEPS, lambda dyn: {
        "consensus": np.asarray(dyn.consensus).reshape(D).tolist(),
        "x": dyn.x.reshape(N, D).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == STEPS
    return {"objective": objective, "mode": mode, "alpha": alpha, "dt": dt,
            "x0": x0.reshape(N, D).tolist(), "noise": draws, "steps": steps}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "crates/integrators/tests/data/cbs_golden.json"
    data = {"generator": "benches/peers/cbs_golden.py", "cbx": "1.0.4", "n": N, "d": D,
            "gaussian_mean": MEAN.tolist(), "gaussian_precision": PRECISION.reshape(-1).tolist(),
            "runs": [trajectory("gaussian", "sampling", 1.0, 0.1, 3),
                     trajectory("gaussian", "optimization", 10.0, 0.05, 4),
                     trajectory("rastrigin", "sampling", 0.5, 0.1, 5)]}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
