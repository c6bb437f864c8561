#!/usr/bin/env python3
"""Golden values for PSO: CBXpy 1.0.4's PSO trajectories with their noise, drift signs corrected.

CBXpy 1.0.4's `PSO.inner_step` updates the velocity as
    v <- (m dt v + lamda dt (x - c) + lamda_memory dt (x - y) + s_c + s_m) / (m + gamma dt),
whose drift terms push the particles away from the consensus c and the memory y (and whose
inertia carries an extra dt); its particles leave any bounded region (run this script with
`--unpatched-check` to see max |x| grow). Grassi-Pareschi's semi-implicit scheme is
    v <- (m v - lamda dt (x - c) - lamda_memory dt (x - y) + s_c + s_m) / (m + gamma dt).
`CorrectedPSO` below is CBXpy's class with `inner_step` replaced by that line and otherwise
CBXpy's own code (consensus over the memories, its noise model drawing the two normal arrays,
the strict memory update). We record both normal arrays per step and the particles,
velocities, memories, consensus, alpha and best energy after each step, and write
crates/integrators/tests/data/pso_golden.json; `tests/memory.rs` replays the noise through
`Pso::step_with_noise` and must reproduce the trajectory to round-off.

Usage: python benches/peers/pso_golden.py [out.json | --unpatched-check]   (cbx==1.0.4)
"""
import json
import sys

import numpy as np
from cbx.dynamics import PSO
from cbx.objectives import Ackley, Rastrigin
from cbx.scheduler import multiply

from cbx_golden import record_normals, run

N, D, STEPS = 10, 3, 25


class CorrectedPSO(PSO):
    """CBXpy 1.0.4's PSO with the velocity update of Grassi-Pareschi (module docstring)."""

    def inner_step(self):
        mind = self.consensus_idx
        ind = self.particle_idx
        self.consensus = self.compute_consensus(self.y[mind], self.energy[mind])
        consensus_drift = self.x[ind] - self.consensus
        memory_drift = self.x[ind] - self.y[ind]
        self.drift = consensus_drift
        self.s_consensus = self.sigma * self.noise()
        self.drift = memory_drift
        self.s_memory = self.sigma_memory * self.noise()
        self.v[ind] = (self.m * self.v[ind]
                       - self.lamda * self.dt * consensus_drift
                       - self.lamda_memory * self.dt * memory_drift
                       + self.s_consensus + self.s_memory) / (self.m + self.gamma * self.dt)
        self.x[ind] = self.x[ind] + self.dt * self.v[ind]
        energy_new = self.f(self.x[ind])
        self.num_f_eval += np.ones(self.M, dtype=int) * self.x[ind].shape[-2]
        energy_expand = tuple([Ellipsis] + [None for _ in range(self.x.ndim - 2)])
        self.y[ind] = self.y[ind] + ((self.energy > energy_new)[energy_expand]) * (self.x[ind] - self.y[ind])
        self.energy = np.minimum(self.energy, energy_new)


def trajectory(objective, noise, sigma, lamda_memory, m, gamma, factor, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-3.0, 3.0, (1, N, D))
    f = Rastrigin() if objective == "rastrigin" else Ackley()
    dyn = CorrectedPSO(f, x=x0.copy(), noise=noise, sigma=sigma, lamda=1.0, dt=0.01, alpha=30.0,
                       m=m, gamma=gamma, lamda_memory=lamda_memory, max_it=STEPS, verbosity=0,
                       seed=seed)
    draws = record_normals(dyn, (N, D))
    sched = multiply(factor=factor, maximum=1e5)
    steps = run(dyn, sched, STEPS, lambda dyn: {
        "consensus": np.asarray(dyn.consensus).reshape(D).tolist(),
        "x": dyn.x.reshape(N, D).tolist(),
        "v": dyn.v.reshape(N, D).tolist(),
        "y": dyn.y.reshape(N, D).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == 2 * STEPS
    return {"objective": objective, "noise_kind": noise, "sigma": sigma, "lambda": 1.0,
            "dt": 0.01, "alpha0": 30.0, "factor": factor, "alpha_max": 1e5,
            "lambda_memory": lamda_memory, "inertia": m, "friction": gamma,
            "x0": x0.reshape(N, D).tolist(),
            "consensus_noise": draws[0::2], "memory_noise": draws[1::2], "steps": steps}


def unpatched_check():
    """CBXpy 1.0.4's own PSO on Rastrigin d = 5: the particles escape."""
    for it in (100, 1000):
        dyn = PSO(Rastrigin(), d=5, N=50, M=1, max_it=it, verbosity=0, seed=1, alpha=30.0,
                  sigma=1.0, dt=0.01)
        dyn.optimize()
        print(f"CBXpy PSO, {it} steps: max |x| = {np.abs(dyn.x).max():.3e}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--unpatched-check":
        unpatched_check()
        return
    out = sys.argv[1] if len(sys.argv) > 1 else "crates/integrators/tests/data/pso_golden.json"
    data = {"generator": "benches/peers/pso_golden.py", "cbx": "1.0.4", "n": N, "d": D,
            "runs": [trajectory("rastrigin", "anisotropic", 5.0, 0.4, 0.001, 0.999, 1.05, 1),
                     trajectory("ackley", "isotropic", 0.8, 1.0, 0.3, 0.5, 1.0, 2)]}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
