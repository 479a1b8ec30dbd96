import os
from pathlib import Path

import numpy as np
import pytest
import torch

# Two cores: keep torch from oversubscribing them during the test run.
torch.set_num_threads(1)

# The real-data loaders (and the README's examples of them) read $PERGDRO_DATA_HOME; when it
# is unset, use a shared/data folder beside the repository if there is one, so that tests
# read local files instead of downloading.
_DATA_BESIDE_REPO = Path(__file__).resolve().parents[2] / "shared" / "data"
if not os.environ.get("PERGDRO_DATA_HOME") and _DATA_BESIDE_REPO.is_dir():
    os.environ["PERGDRO_DATA_HOME"] = str(_DATA_BESIDE_REPO)


@pytest.fixture(scope="session")
def shifted():
    from pergdro_sklearn.datasets import make_shifted_groups

    return make_shifted_groups(random_state=0)


@pytest.fixture
def small_classification():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    groups = np.repeat(["a", "b", "c"], 40)
    return X, y, groups


def pytest_collection_modifyitems(config, items):
    # PERGDRO_REQUIRE_GPU=1 (on GPU machines) makes GPU tests fail rather than skip.
    if torch.cuda.is_available() or os.environ.get("PERGDRO_REQUIRE_GPU"):
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
