#!/usr/bin/env python3
"""Golden values for CBO with memory: CBXpy 1.0.4's CBOMemory trajectories with their noise.

CBXpy 1.0.4's `CBOMemory` takes the consensus over the personal bests y (weighted by f(y)),
moves x by CBO's update, then by the memory drift -lamda_memory dt (x - y) with noise
sigma_memory (same noise model), evaluates f(x) and replaces y where f(x) < f(y). It draws
two normal arrays per step (consensus move, then memory move); we record both, and the
particles, memories, consensus, alpha and best energy after each step, and write
crates/integrators/tests/data/memory_golden.json. `tests/memory.rs` replays the noise
through `CboMemory::step_with_noise` and must reproduce the trajectory to round-off.

Usage: python benches/peers/memory_golden.py [out.json]   (a Python with cbx==1.0.4)
"""
import json
import sys

import numpy as np
from cbx.dynamics import CBOMemory
from cbx.objectives import Ackley, Rastrigin
from cbx.scheduler import multiply

from cbx_golden import record_normals, run

N, D, STEPS = 10, 3, 25


def trajectory(objective, noise, sigma, lamda_memory, factor, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-3.0, 3.0, (1, N, D))
    f = Rastrigin() if objective == "rastrigin" else Ackley()
    dyn = CBOMemory(f, x=x0.copy(), noise=noise, sigma=sigma, lamda=1.0, dt=0.01, alpha=30.0,
                    lamda_memory=lamda_memory, max_it=STEPS, verbosity=0, seed=seed)
    draws = record_normals(dyn, (N, D))
    sched = multiply(factor=factor, maximum=1e5)
    steps = run(dyn, sched, STEPS, lambda dyn: {
        "consensus": np.asarray(dyn.consensus).reshape(D).tolist(),
        "x": dyn.x.reshape(N, D).tolist(),
        "y": dyn.y.reshape(N, D).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == 2 * STEPS
    return {"objective": objective, "noise_kind": noise, "sigma": sigma, "lambda": 1.0,
            "dt": 0.01, "alpha0": 30.0, "factor": factor, "alpha_max": 1e5,
            "lambda_memory": lamda_memory, "x0": x0.reshape(N, D).tolist(),
            "consensus_noise": draws[0::2], "memory_noise": draws[1::2], "steps": steps}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "crates/integrators/tests/data/memory_golden.json"
    data = {"generator": "benches/peers/memory_golden.py", "cbx": "1.0.4", "n": N, "d": D,
            "runs": [trajectory("rastrigin", "anisotropic", 5.0, 0.4, 1.05, 1),
                     trajectory("ackley", "isotropic", 0.8, 1.0, 1.0, 2)]}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
