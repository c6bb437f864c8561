#!/usr/bin/env python3
"""Golden values for the CBO integrator: CBXpy 1.0.4 trajectories with their noise.

Runs CBXpy's CBO (isotropic and anisotropic) on the unnormalised Rastrigin function for a
few steps at small N, d, records every standard-normal array CBXpy draws, and writes the
initial particles, the noise, the consensus point and the particles after each step to
crates/integrators/tests/data/cbo_golden.json. `tests/cbo_golden.rs` replays the noise
through `Cbo::step_with_noise` and must reproduce the trajectory to round-off.

Usage: /work/venvs/cbo/bin/python benches/peers/cbo_golden.py [out.json]
"""
import json
import sys

import numpy as np
import cbx
from cbx.dynamics import CBO
from cbx.objectives import Rastrigin
from cbx.scheduler import multiply

from cbx_golden import record_normals, run

N, D, STEPS = 8, 3, 25


def trajectory(noise, sigma, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-3.0, 3.0, (1, N, D))
    dyn = CBO(Rastrigin(), x=x0.copy(), noise=noise, sigma=sigma, lamda=1.0, dt=0.01,
              alpha=30.0, max_it=STEPS, verbosity=0, seed=seed)
    draws = record_normals(dyn, (N, D))
    sched = multiply(factor=1.05, maximum=1e5)
    steps = run(dyn, sched, STEPS, lambda dyn: {
        "consensus": np.asarray(dyn.consensus).reshape(D).tolist(),
        "x": dyn.x.reshape(N, D).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == STEPS
    return {"noise_kind": noise, "sigma": sigma, "lambda": 1.0, "dt": 0.01, "alpha0": 30.0,
            "factor": 1.05, "alpha_max": 1e5, "x0": x0.reshape(N, D).tolist(),
            "noise": draws, "steps": steps}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "crates/integrators/tests/data/cbo_golden.json"
    data = {"generator": "benches/peers/cbo_golden.py", "cbx": cbx.__version__ if hasattr(cbx, "__version__") else "1.0.4",
            "objective": "rastrigin", "n": N, "d": D,
            "runs": [trajectory("anisotropic", 10.1, 1), trajectory("isotropic", 0.8, 2)]}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
