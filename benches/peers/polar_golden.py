#!/usr/bin/env python3
"""Golden values for polarised CBO: CBXpy 1.0.4's PolarCBO trajectories with their noise.

CBXpy 1.0.4's `PolarCBO` (Gaussian kernel) gives particle i the consensus
c_i = sum_j softmax_j(-s |x_i - x_j|^2 / (2 kappa^2) - alpha f_j) x_j, s = alpha
(`kernel_factor_mode='alpha'`, its default) or 1 (`'const'`), and moves it by CBO's
Euler-Maruyama update with D^i = x_i - c_i. Given its standard normals it is deterministic,
so we record every normal array it draws and the particles, consensus points, alpha and best
energy after each step, and write crates/integrators/tests/data/polar_golden.json.
`tests/polar.rs` replays the noise through `PolarCbo::step_with_noise` and must reproduce
the trajectory to round-off.

Usage: python benches/peers/polar_golden.py [out.json]   (a Python with cbx==1.0.4)
"""
import json
import sys

import numpy as np
from cbx.dynamics import PolarCBO
from cbx.objectives import Himmelblau, Rastrigin
from cbx.scheduler import multiply

from cbx_golden import record_normals, run

N, STEPS = 12, 25


def trajectory(objective, d, noise, sigma, kappa, mode, alpha, factor, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-4.0, 4.0, (1, N, d))
    f = Himmelblau() if objective == "himmelblau" else Rastrigin()
    dyn = PolarCBO(f, x=x0.copy(), noise=noise, sigma=sigma, lamda=1.0, dt=0.01,
                   alpha=alpha, kappa=kappa, kernel="Gaussian", kernel_factor_mode=mode,
                   max_it=STEPS, verbosity=0, seed=seed)
    draws = record_normals(dyn, (N, d))
    sched = multiply(factor=factor, maximum=1e5)
    steps = run(dyn, sched, STEPS, lambda dyn: {
        "points": np.asarray(dyn.consensus).reshape(N, d).tolist(),
        "x": dyn.x.reshape(N, d).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == STEPS
    return {"objective": objective, "d": d, "noise_kind": noise, "sigma": sigma,
            "kappa": kappa, "kernel_scale": "alpha" if mode == "alpha" else "constant",
            "lambda": 1.0, "dt": 0.01, "alpha0": alpha, "factor": factor, "alpha_max": 1e5,
            "x0": x0.reshape(N, d).tolist(), "noise": draws, "steps": steps}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "crates/integrators/tests/data/polar_golden.json"
    data = {"generator": "benches/peers/polar_golden.py", "cbx": "1.0.4", "n": N,
            "runs": [trajectory("himmelblau", 2, "anisotropic", 1.0, 1.0, "alpha", 1.0, 1.05, 1),
                     trajectory("himmelblau", 2, "isotropic", 0.5, 0.7, "const", 10.0, 1.0, 2),
                     trajectory("rastrigin", 3, "anisotropic", 2.0, 1.5, "const", 5.0, 1.05, 3)]}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
