"""Every example in python/examples/ runs and checks its own answer (exit status 0); the
CBXpy side-by-side example skips cleanly without cbx."""
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_checks_its_answer(path):
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    print(out.stdout)
