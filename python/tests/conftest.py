"""Shared fixtures of the meanfield pytest suite."""
import os
import shutil

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A NumPy generator with a fixed seed."""
    return np.random.default_rng(12345)


@pytest.fixture
def cbo_reference():
    """Path of the Rust-only reference binary `cbo_reference` (benches/src/bin); the
    Rust test benches/tests/python_package.rs passes it in MEANFIELD_CBO_REFERENCE."""
    path = os.environ.get("MEANFIELD_CBO_REFERENCE") or shutil.which("cbo_reference")
    if not path or not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail("MEANFIELD_CBO_REFERENCE is not set in CI")
        pytest.skip("cbo_reference binary not built (set MEANFIELD_CBO_REFERENCE)")
    return path


@pytest.fixture
def dynamics_reference():
    """Path of the Rust-only reference binary `dynamics_reference` (benches/src/bin) for
    the Langevin, Fisher–Rao and particle-EM families; passed by
    benches/tests/python_package.rs in MEANFIELD_DYNAMICS_REFERENCE."""
    path = os.environ.get("MEANFIELD_DYNAMICS_REFERENCE") or shutil.which("dynamics_reference")
    if not path or not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail("MEANFIELD_DYNAMICS_REFERENCE is not set in CI")
        pytest.skip("dynamics_reference binary not built (set MEANFIELD_DYNAMICS_REFERENCE)")
    return path
