#!/usr/bin/env python3
"""Golden values for constrained CBO: CBXpy 1.0.4's DriftConstrainedCBO and HyperSurfaceCBO.

DriftConstrainedCBO (cbx/dynamics/driftconstrainedcbo.py `dc_inner_step`):
    x <- x - (I + (dt/eps) Hess(g^2)(x))^{-1} (lamda dt (x - c) + (dt/eps) grad(g^2)(x) + sigma noise),
with CBXpy's constraints g = |x|^2 - r^2 (sphere) and (a.x - b)/|a| (plane); sigma_indep = 0.
HyperSurfaceCBO (cbx/dynamics/hypersurfacecbo.py) on the unit sphere:
    x <- proj(x + P(x)(dt c + sigma noise) - Ito correction),
which is the paper's x + P(x)(-lamda dt (x - c) + sigma noise) - ... for lamda = 1 on the sphere
(P(x) x = 0 there; CBXpy drops lamda and the -P(x) x dt term, which is wrong for a plane, so the
hypersurface runs are on the sphere with lamda = 1 only). We record every normal array and write
crates/integrators/tests/data/constrained_golden.json; `tests/cbo.rs` replays the noise through
`ConstrainedCbo::step_with_noise`.

Usage: python benches/peers/constrained_golden.py [out.json]   (a Python with cbx==1.0.4)
"""
import json
import sys

import numpy as np
from cbx.dynamics import DriftConstrainedCBO, HyperSurfaceCBO
from cbx.objectives import Ackley, Rastrigin
from cbx.scheduler import multiply

from cbx_golden import record_normals, run

N, D, STEPS = 8, 3, 25
NORMAL = [1.0, 2.0, -0.5]
OFFSET = 0.7


def trajectory(scheme, surface, objective, noise, sigma, seed, eps=0.01):
    rng = np.random.default_rng(seed)
    f = Rastrigin() if objective == "rastrigin" else Ackley()
    common = dict(noise=noise, sigma=sigma, lamda=1.0, dt=0.01, alpha=30.0, max_it=STEPS,
                  verbosity=0, seed=seed)
    if scheme == "drift":
        x0 = rng.uniform(-2.0, 2.0, (1, N, D))
        if surface == "sphere":
            cons = [{"name": "sphere", "r": 1.0}]
        else:
            cons = [{"name": "plane", "a": np.array(NORMAL), "b": OFFSET}]
        dyn = DriftConstrainedCBO(f, x=x0.copy(), constraints=cons, eps=eps, **common)
    else:
        assert surface == "sphere"
        x0 = rng.normal(size=(1, N, D))
        x0 /= np.linalg.norm(x0, axis=-1, keepdims=True)
        dyn = HyperSurfaceCBO(f, x=x0.copy(), sdf={"name": "sphere"}, **common)
    draws = record_normals(dyn, (N, D))
    sched = multiply(factor=1.05, maximum=1e5)
    steps = run(dyn, sched, STEPS, lambda dyn: {
        "consensus": np.asarray(dyn.consensus).reshape(D).tolist(),
        "x": dyn.x.reshape(N, D).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == STEPS
    return {"scheme": scheme, "surface": surface, "objective": objective, "epsilon": eps,
            "normal": NORMAL, "offset": OFFSET, "noise_kind": noise, "sigma": sigma,
            "lambda": 1.0, "dt": 0.01, "alpha0": 30.0, "factor": 1.05, "alpha_max": 1e5,
            "x0": x0.reshape(N, D).tolist(), "noise": draws, "steps": steps}


def main():
    out = (sys.argv[1] if len(sys.argv) > 1
           else "crates/integrators/tests/data/constrained_golden.json")
    runs = [trajectory("drift", "sphere", "rastrigin", "anisotropic", 2.0, 7),
            trajectory("drift", "plane", "ackley", "isotropic", 0.8, 8),
            trajectory("hypersurface", "sphere", "rastrigin", "isotropic", 0.5, 9),
            trajectory("hypersurface", "sphere", "ackley", "anisotropic", 1.0, 10)]
    data = {"generator": "benches/peers/constrained_golden.py", "cbx": "1.0.4", "n": N, "d": D,
            "runs": runs}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
