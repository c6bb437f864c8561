"""Shared pieces of the CBXpy golden-value scripts (`*_golden.py` in this folder).

Each script runs one CBXpy 1.0.4 dynamic on a small problem and records everything a
Rust golden test needs to replay it: every standard normal CBXpy drew (so the test feeds
the same noise) and the state after every step.
"""

import numpy as np


def record_normals(dyn, shape):
    """Wraps `dyn`'s noise sampler so that every draw is also appended, reshaped to
    `shape` and as nested lists, to the returned list (in draw order)."""
    draws = []
    base = dyn.noise_callable.sampler

    def recording_sampler(size):
        z = base(size=size)
        draws.append(np.array(z).reshape(shape).tolist())
        return z

    dyn.noise_callable.sampler = recording_sampler
    return draws


def run(dyn, sched, steps, fields):
    """`steps` times: `dyn.step()` then `sched.update(dyn)` (as CBXpy's `optimize` does;
    no scheduler when `sched` is None). Returns one record per step: `fields(dyn)` after
    the step, preceded by the α the step used when there is a scheduler."""
    records = []
    for _ in range(steps):
        alpha = float(np.asarray(dyn.alpha).ravel()[0])
        dyn.step()
        if sched is None:
            records.append(fields(dyn))
        else:
            sched.update(dyn)
            records.append({"alpha": alpha, **fields(dyn)})
    return records
