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

Two more kinds of hypersurface runs:
- the sphere of radius R = 2.5, both noises. CBXpy's `sphereDistance` is the unit sphere, but
  the scheme commutes with the dilation x = R y: hypersurface CBO for f on |x| = R is R times
  the unit-sphere scheme for f~(y) = f(R y) fed the same normals (every term of the update
  is 1-homogeneous in (x, v) once the anisotropic correction is written
  (|D|^2 + D*D - 2 (D.x)^2/R^2) x/R^2, which is CBXpy's for R = 1). So we run CBXpy's class on
  f~ from y0 = x0/R and record R y, R c (`"radius"`; `"x0"` is R y0);
- the hyperplane a.x = b, isotropic noise, with CBXpy's class corrected to the paper's drift
  (`CorrectedHyperSurfaceCBO`: x + P(x)(-lamda dt (x - c) + sigma noise); CBXpy's
  x + P(x)(dt c + sigma noise) lacks -dt P(x) x, which is not 0 on a plane). The plane's
  Laplacian is 0, so the Ito correction vanishes; CBXpy's `planeDistance` does the rest.

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
RADIUS = 2.5


class CorrectedHyperSurfaceCBO(HyperSurfaceCBO):
    """CBXpy's HyperSurfaceCBO with the paper's drift -lamda dt (x - c) in the tangent step."""

    def inner_step(self):
        self.compute_consensus()
        self.drift = self.x - self.consensus
        drift_and_noise = self.x + self.sdf.proj_tangent_space(
            self.x, -self.lamda * self.dt * self.drift + self.sigma * self.noise())
        self.x = self.sdf.proj(drift_and_noise - self.noise_constr())


def trajectory(scheme, surface, objective, noise, sigma, seed, eps=0.01, radius=1.0):
    rng = np.random.default_rng(seed)
    f = Rastrigin() if objective == "rastrigin" else Ackley()
    scale = 1.0
    common = dict(noise=noise, sigma=sigma, lamda=1.0, dt=0.01, alpha=30.0, max_it=STEPS,
                  verbosity=0, seed=seed)
    if scheme == "drift":
        x0 = rng.uniform(-2.0, 2.0, (1, N, D))
        if surface == "sphere":
            cons = [{"name": "sphere", "r": 1.0}]
        else:
            cons = [{"name": "plane", "a": np.array(NORMAL), "b": OFFSET}]
        dyn = DriftConstrainedCBO(f, x=x0.copy(), constraints=cons, eps=eps, **common)
    elif surface == "sphere":
        x0 = rng.normal(size=(1, N, D))
        x0 /= np.linalg.norm(x0, axis=-1, keepdims=True)
        if radius != 1.0:
            # The unit-sphere run of f~(y) = f(R y); recorded as R y (module docs).
            f0, scale = f, radius
            f = lambda y: f0(radius * y)  # noqa: E731
        dyn = HyperSurfaceCBO(f, x=x0.copy(), sdf={"name": "sphere"}, **common)
    else:
        a = np.array(NORMAL)
        x0 = rng.normal(size=(1, N, D))
        x0 = x0 - ((x0 * a).sum(axis=-1, keepdims=True) - OFFSET) / (a @ a) * a
        dyn = CorrectedHyperSurfaceCBO(f, x=x0.copy(), sdf={"name": "plane", "a": a, "b": OFFSET},
                                       **common)
    draws = record_normals(dyn, (N, D))
    sched = multiply(factor=1.05, maximum=1e5)
    steps = run(dyn, sched, STEPS, lambda dyn: {
        "consensus": (scale * np.asarray(dyn.consensus).reshape(D)).tolist(),
        "x": (scale * dyn.x.reshape(N, D)).tolist(),
        "best_energy": float(dyn.best_energy[0]),
    })
    assert len(draws) == STEPS
    return {"scheme": scheme, "surface": surface, "objective": objective, "epsilon": eps,
            "normal": NORMAL, "offset": OFFSET, "radius": radius, "noise_kind": noise, "sigma": sigma,
            "lambda": 1.0, "dt": 0.01, "alpha0": 30.0, "factor": 1.05, "alpha_max": 1e5,
            "x0": (scale * x0.reshape(N, D)).tolist(), "noise": draws, "steps": steps}


def main():
    out = (sys.argv[1] if len(sys.argv) > 1
           else "crates/integrators/tests/data/constrained_golden.json")
    runs = [trajectory("drift", "sphere", "rastrigin", "anisotropic", 2.0, 7),
            trajectory("drift", "plane", "ackley", "isotropic", 0.8, 8),
            trajectory("hypersurface", "sphere", "rastrigin", "isotropic", 0.5, 9),
            trajectory("hypersurface", "sphere", "ackley", "anisotropic", 1.0, 10),
            trajectory("hypersurface", "sphere", "rastrigin", "isotropic", 0.5, 11, radius=RADIUS),
            trajectory("hypersurface", "sphere", "ackley", "anisotropic", 1.0, 12, radius=RADIUS),
            trajectory("hypersurface", "plane", "ackley", "isotropic", 0.8, 13)]
    data = {"generator": "benches/peers/constrained_golden.py", "cbx": "1.0.4", "n": N, "d": D,
            "runs": runs}
    with open(out, "w") as fh:
        json.dump(data, fh)
    print("wrote", out)


if __name__ == "__main__":
    main()
