"""The gallery's scripts run, draw, and raise no warning."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("plot_*.py"))
RUNNER = """
import runpy, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
for path in sys.argv[1:]:
    runpy.run_path(path, run_name="__main__")
    assert plt.get_fignums(), path + " drew nothing"
    plt.close("all")
"""


@pytest.mark.slow
def test_gallery_scripts_run_without_warnings():
    assert len(EXAMPLES) >= 4
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES[0].parent.parent), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-W", "error", "-c", RUNNER,
                             *map(str, EXAMPLES)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr
