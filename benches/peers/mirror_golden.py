#!/usr/bin/env python3
"""Golden values for mirror CBO: CBXpy 1.0.4's MirrorCBO trajectories with their noise.

CBXpy's `MirrorCBO` (cbx/dynamics/mirrorcbo.py `mirror_step`) moves the dual particles
y <- y - lamda dt (x - c) + sigma noise(x - c) and sets x = grad_conj(y), with y = grad(x0) at
the start. We run it with the log-barrier box map (`LogBarrierBox`, the box [-1, 1]^d; its
grad is 1/(1 - x) - 1/(1 + x), ours with l = -1, u = 1) and the entropic simplex map
(`EntropySimplex`: grad = log x + 1, grad_conj = softmax; ours drops the constant 1, so the
duals differ by 1 and the primal particles agree), record every normal array, and write
crates/integrators/tests/data/mirror_golden.json. `tests/cbo.rs` replays the noise through
`MirrorCbo::step_with_noise`.

Two more runs use CBXpy's maps that are not Legendre maps (∇φ* reaches the boundary):
`ProjectionBall` (grad = identity, grad_conj = c + (y - c)/max(1, |y - c|/r); centre
(0.5, -0.2, 0.1), radius 0.4, so the unconstrained minimiser 0 of Rastrigin lies outside
the ball and the projection is active; x0 uniform in the ball) and `ElasticNet`
(grad = x/delta + lamda sign(x), grad_conj = delta sign(y) max(|y| - lamda, 0); delta = 1.5,
lamda = 0.3, x0 ~ N(0, I), so coordinates become exactly 0).

Usage: python benches/peers/mirror_golden.py [out.json]   (a Python with cbx==1.0.4)
"""
import json
import sys

import numpy as np
from cbx.dynamics import MirrorCBO
from cbx.objectives import Ackley, Rastrigin
from cbx.scheduler import multiply

from cbx_golden import record_normals, run

N, D, STEPS = 8, 3, 25


BALL = {"name": "ProjectionBall", "radius": 0.4, "center": np.array([0.5, -0.2, 0.1])}
ELASTIC = {"name": "ElasticNet", "delta": 1.5, "lamda": 0.3}


def trajectory(mirrormap, objective, noise, sigma, factor, seed):
    rng = np.random.default_rng(seed)
    name = mirrormap if isinstance(mirrormap, str) else mirrormap["name"]
    params = {}
    if name == "LogBarrierBox":
        x0 = rng.uniform(-0.9, 0.9, (1, N, D))
    elif name == "ProjectionBall":
        u = rng.standard_normal((1, N, D))
        u /= np.linalg.norm(u, axis=-1, keepdims=True)
        r = mirrormap["radius"] * rng.uniform(0.0, 1.0, (1, N, 1)) ** (1.0 / D)
        x0 = mirrormap["center"] + r * u
        params = {"radius": mirrormap["radius"], "centre": mirrormap["center"].tolist()}
    elif name == "ElasticNet":
        x0 = rng.standard_normal((1, N, D))
        params = {"delta": mirrormap["delta"], "lamda": mirrormap["lamda"]}
    else:
        x0 = rng.dirichlet(np.ones(D), (1, N))
    f = Rastrigin() if objective == "rastrigin" else Ackley()
    dyn = MirrorCBO(f, x=x0.copy(), mirrormap=mirrormap, noise=noise, sigma=sigma, lamda=1.0,
                    dt=0.01, alpha=30.0, max_it=STEPS, verbosity=0, seed=seed)
    draws = record_normals(dyn, (N, D))
    sched = multiply(factor=factor, maximum=1e5)
    steps = run(dyn, sched, STEPS, lambda dyn: {
        "consensus": np.asarray(dyn.consensus).reshape(D).tolist(),
        "x": dyn.x.reshape(N, D).tolist(),
        "y": dyn.y.reshape(N, D).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == STEPS
    return {"map": name, "map_params": params, "objective": objective, "noise_kind": noise, "sigma": sigma,
            "lambda": 1.0, "dt": 0.01, "alpha0": 30.0, "factor": factor, "alpha_max": 1e5,
            "x0": x0.reshape(N, D).tolist(), "noise": draws, "steps": steps}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "crates/integrators/tests/data/mirror_golden.json"
    data = {"generator": "benches/peers/mirror_golden.py", "cbx": "1.0.4", "n": N, "d": D,
            "runs": [trajectory("LogBarrierBox", "rastrigin", "anisotropic", 3.0, 1.05, 5),
                     trajectory("EntropySimplex", "ackley", "isotropic", 0.8, 1.0, 6),
                     trajectory(BALL, "rastrigin", "anisotropic", 5.0, 1.05, 7),
                     trajectory(ELASTIC, "ackley", "isotropic", 1.0, 1.05, 8)]}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
