"""Bad-input paths: every argument checks dtype, rank, shape, contiguity and finiteness
and raises a ValueError naming the argument and the expected shape."""
import numpy as np
import pytest

import meanfield as mf


def opt(d=3):
    return mf.CBO("rastrigin", d, sigma=1.0, dt=0.01)


def test_good_input_is_accepted(rng):
    run = opt().start(rng.uniform(-1, 1, (10, 3)), seed=1)
    assert run.x.shape == (10, 3) and run.x.dtype == np.float64


@pytest.mark.parametrize(
    "x, needle",
    [
        (np.zeros((10, 3), dtype=np.float32), "dtype float32"),
        (np.zeros((10, 3), dtype=np.int64), "dtype int64"),
        ([[0.0, 0.0, 0.0]], "list"),
        (np.zeros(30), "shape [30]"),
        (np.zeros((2, 10, 3)), "shape [2, 10, 3]"),
        (np.zeros((3, 10)).T, "not C-contiguous"),
        (np.zeros((0, 3)), "N ≥ 1"),
    ],
)
def test_bad_x0_is_a_value_error_naming_argument_and_shape(x, needle):
    with pytest.raises(ValueError) as e:
        opt().start(x)
    msg = str(e.value)
    assert msg.startswith("x0:") and needle in msg
    assert "(N, d)" in msg or "C-contiguous" in msg


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x0_is_a_value_error(bad):
    x = np.zeros((5, 3))
    x[2, 1] = bad
    with pytest.raises(ValueError, match=r"x0: value .* at flat index 7 is not finite"):
        opt().start(x)


def test_wrong_dimension_is_incompatible_state():
    with pytest.raises(mf.IncompatibleStateError, match="dimension 4"):
        opt(3).start(np.zeros((5, 4)))
    assert issubclass(mf.IncompatibleStateError, ValueError)


def test_bad_shift_names_argument():
    with pytest.raises(ValueError, match=r"shift: expected shape \(3,\)"):
        mf.CBO("rastrigin", 3, shift=np.zeros(2))
    with pytest.raises(ValueError, match="shift: .* not finite"):
        mf.CBO("rastrigin", 3, shift=np.array([0.0, np.nan, 0.0]))


def test_invalid_parameters_are_typed_errors():
    with pytest.raises(mf.InvalidParameterError, match="dt"):
        mf.CBO("rastrigin", 3, dt=0.0)
    with pytest.raises(mf.InvalidParameterError, match="sigma"):
        mf.CBO("rastrigin", 3, sigma=-1.0)
    with pytest.raises(mf.InvalidParameterError, match="alpha"):
        mf.CBO("rastrigin", 3, alpha=float("nan"))
    with pytest.raises(mf.InvalidParameterError, match="batch size"):
        mf.CBO("rastrigin", 3, batch_size=0)
    with pytest.raises(mf.InvalidParameterError, match="ess eta"):
        mf.CBO("rastrigin", 3, schedule={"kind": "effective_sample_size", "eta": 2.0, "min": 1e-5, "max": 1e5})
    with pytest.raises(mf.InvalidParameterError, match="Rosenbrock"):
        mf.CBO("rosenbrock", 1)
    with pytest.raises(ValueError, match="unknown test function"):
        mf.CBO("nope", 3)
    with pytest.raises(ValueError, match="noise"):
        mf.CBO("rastrigin", 3, noise="pink")
    with pytest.raises(ValueError, match="f_dim"):
        mf.CBO(lambda x: x.sum(-1), 3, f_dim="4D")
    with pytest.raises(ValueError, match="threads"):
        mf.CBO("rastrigin", 3, threads=0)
    assert issubclass(mf.InvalidParameterError, mf.MeanfieldError)


def test_test_function_checks_its_array():
    with pytest.raises(ValueError, match=r"x: expected a float64 array of shape \(N, d\)"):
        mf.test_function("rastrigin", np.zeros(3))
    assert mf.test_function("rastrigin", np.zeros((4, 2))).tolist() == [0.0] * 4
