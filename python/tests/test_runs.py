"""Runs from Python: stop criteria, observers, a stop predicate, progress, time budget,
checkpoint round trip (JSON string and file) and bit-identical resume."""
import json

import numpy as np
import pytest

import meanfield as mf

PARAMS = dict(lam=1.0, sigma=10.1, dt=0.01, alpha=30.0, schedule="multiply")


def fresh(rng, d=4, n=30, **kw):
    opt = mf.CBO("ackley", d, **{**PARAMS, **kw})
    return opt, opt.start(rng.uniform(-3, 3, (n, d)), seed=4)


def test_steps_done_and_summary(rng):
    opt, run = fresh(rng)
    s = opt.run(run, 25)
    assert s["reason"] == "steps_done" and s["steps_taken"] == 25 and run.step == 25
    assert s["last_info"]["dt"] == 0.01 and s["last_info"]["alpha"] > 30.0
    assert run.time == pytest.approx(0.25)
    s = opt.run(run, 25)  # already there: nothing to do
    assert s["steps_taken"] == 0


def test_energy_tolerance_stops(rng):
    opt, run = fresh(rng)
    s = opt.run(run, 5000, energy_tol=1e-2)
    assert s["reason"] == "energy_tolerance"
    assert s["last_info"]["f_min"] < 1e-2 and run.step < 5000


def test_stagnation_and_ess_floor(rng):
    opt, run = fresh(rng)
    s = opt.run(run, 5000, stagnation=(1e-12, 3))
    assert s["reason"] == "stagnation"
    opt, run = fresh(rng)
    s = opt.run(run, 5000, ess_below=1.5)
    assert s["reason"] == "ess_floor" and s["last_info"]["ess"] < 1.5
    with pytest.raises(mf.InvalidParameterError, match="stagnation patience"):
        opt.run(run, 10, stagnation=(1e-3, 0))
    with pytest.raises(ValueError, match="time_budget"):
        opt.run(run, 10, time_budget=-1.0)


def test_observers_see_state_and_info_and_can_stop(rng):
    opt, run = fresh(rng)
    seen = []

    def obs(o):
        seen.append((o["step"], o["info"] is None, o["state"]["x"].shape))

    s = opt.run(run, 10, observers=[(4, obs)])
    assert seen == [(0, True, (30, 4)), (4, False, (30, 4)), (8, False, (30, 4)), (10, False, (30, 4))]
    assert s["reason"] == "steps_done"
    s = opt.run(run, 100, observers=[(1, lambda o: o["step"] >= 13)])
    assert s["reason"] == "observer_stop" and run.step == 13


def test_stop_predicate_and_progress(rng):
    opt, run = fresh(rng)
    ticks = []
    s = opt.run(run, 100, stop_when=lambda o: o["state"]["alpha"] > 40.0,
                progress=lambda k, total: ticks.append((k, total)))
    assert s["reason"] == "predicate"
    assert run.alpha > 40.0 and ticks == [(k, 100) for k in range(1, run.step + 1)]


def test_progress_bar_writes_to_stderr(rng, capfd):
    opt, run = fresh(rng)
    opt.run(run, 7, progress=True)
    err = capfd.readouterr().err
    assert "7/7" in err and "[" in err


def test_observer_exception_propagates(rng):
    opt, run = fresh(rng)

    def bad(o):
        if o["step"] == 3:
            raise KeyError("observer broke")

    with pytest.raises(KeyError, match="observer broke"):
        opt.run(run, 10, observers=[(1, bad)])
    assert run.step == 3
    with pytest.raises(ZeroDivisionError):
        opt.run(run, 10, progress=lambda k, t: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        opt.run(run, 10, stop_when=lambda o: 1 / 0)


def test_time_budget_stops_resumably(rng):
    opt, run = fresh(rng)
    s = opt.run(run, 10**9, time_budget=0.0)
    assert s["reason"] == "time_budget" and run.step == 1


@pytest.mark.parametrize("batch", [None, 7])
def test_checkpoint_round_trip_and_resume_is_bit_identical(rng, tmp_path, batch):
    opt, run = fresh(rng, batch_size=batch, batch_partial=False)
    x0 = run.x
    opt.run(run, 30)
    full = run.to_json()

    opt2 = mf.CBO("ackley", 4, **PARAMS, batch_size=batch, batch_partial=False)
    part = opt2.start(x0, seed=4)
    opt2.run(part, 12)
    s = part.to_json()
    assert mf.CboRun.from_json(s).to_json() == s
    path = tmp_path / "cp.json"
    part.save(str(path))
    resumed = mf.CboRun.load(str(path))
    assert resumed.step == 12 and resumed.to_json() == s
    opt2.run(resumed, 30)
    assert resumed.to_json() == full


def test_checkpoint_of_other_dynamics_is_refused(rng, tmp_path):
    opt, run = fresh(rng)
    other = mf.CBO("ackley", 4, **{**PARAMS, "sigma": 5.0})
    with pytest.raises(mf.CheckpointError, match="checkpoint was written by"):
        other.run(run, 5)
    with pytest.raises(mf.CheckpointError):
        mf.CboRun.from_json("{not json")
    with pytest.raises(OSError, match="cannot read checkpoint"):
        mf.CboRun.load(str(tmp_path / "missing.json"))
    cp = json.loads(run.to_json())
    assert cp["fingerprint"] == opt.fingerprint()
