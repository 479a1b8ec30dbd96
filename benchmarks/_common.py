"""Shared pieces of the benchmark scripts: environment, tables, result files."""

import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

RESULTS = Path(__file__).resolve().parent / "results"
logger = logging.getLogger("benchmarks")


def setup_logging():
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)


def environment():
    """Machine and versions, as Markdown lines."""
    import scipy
    import sklearn
    import skopt
    import torch

    import pergdro_sklearn

    cpu = platform.processor() or platform.machine()
    return [
        f"- machine: {platform.system()} {platform.machine()} ({cpu}), "
        f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}",
        f"- versions: python {platform.python_version()}, pergdro_sklearn "
        f"{pergdro_sklearn.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"scikit-optimize {skopt.__version__}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
    ]


def markdown_table(header, rows):
    """A Markdown table from a header list and rows of cells (a ``|`` in a cell, as in
    the group labels ``"race|sex"``, is escaped)."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)])


def paired(values, baseline=0.0):
    """Mean of ``values - baseline`` (paired by seed) and its 95% t-interval.

    The interval is NaN with fewer than two pairs."""
    diff = np.asarray(values, dtype=float) - np.asarray(baseline, dtype=float)
    if diff.size < 2:
        return diff.mean(), np.nan, np.nan
    half = stats.t.ppf(0.975, diff.size - 1) * diff.std(ddof=1) / np.sqrt(diff.size)
    return diff.mean(), diff.mean() - half, diff.mean() + half


def format_paired(values, baseline=0.0, digits=4):
    """``paired`` as ``"+mean [+low, +high]"``."""
    mean, low, high = paired(values, baseline)
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def mean_std(values, digits=3):
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def write_result(name, title, sections, wall_time):
    """Write ``benchmarks/results/<name>.md`` with the environment and wall time."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = [f"# {title}", "", *environment(), f"- wall time: {wall_time:.1f} s", ""]
    for section in sections:
        text += [section, ""]
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(text))
    root = RESULTS.parent.parent
    logger.info("wrote %s", path.relative_to(root) if path.is_relative_to(root) else path)
    return path


DATA_HOME_ENV = "PERGDRO_DATA_HOME"


def benchmark_data_home(data_home=None):
    """Data folder for the real-data benchmarks.

    In this order: the explicit ``data_home`` (the ``--data-home`` flag), the environment
    variable ``PERGDRO_DATA_HOME``, a ``shared/data`` folder next to the repository (a
    convenience for a checkout that sits beside one), else None: the loaders of
    ``pergdro_sklearn.datasets`` then use their default cache and download what is missing.
    """
    if data_home:
        return str(data_home)
    if os.environ.get(DATA_HOME_ENV):
        return os.environ[DATA_HOME_ENV]
    beside = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return str(beside) if beside.is_dir() else None


def feature_scaler(X):
    """A transformer fitted on ``X`` that standardises every column except the 0/1
    indicator columns (one-hot categories, binary flags), which pass through at 0/1.

    Standardising an indicator turns a category held by 1% of the rows into a value
    near 10 on those rows: the network's first layer, and the Wasserstein ball, which
    is measured in feature units, then see that rare category as an outlier. Scaled
    columns come first in the output, then the indicators, each block in its original
    order.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=float)
    indicator = ((X == 0.0) | (X == 1.0)).all(axis=0)
    return ColumnTransformer([("scaled", StandardScaler(), np.flatnonzero(~indicator))],
                             remainder="passthrough").fit(X)
