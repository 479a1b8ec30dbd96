import os
from pathlib import Path

import numpy as np
import pytest
import torch

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier
from pergdro_sklearn.datasets import make_shifted_groups

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
    return make_shifted_groups(random_state=0)


# Group sizes of the ``dataset`` and ``data`` fixtures; a test module sets
# SHIFTED_N_TRAIN to other sizes.
SHIFTED_N_TRAIN = (60, 50, 20, 20)


@pytest.fixture(scope="module")
def dataset(request):
    """``make_shifted_groups(n_train=SHIFTED_N_TRAIN, random_state=0)``, once per module.

    The module's own ``SHIFTED_N_TRAIN`` wins over the default above.
    """
    n_train = getattr(request.module, "SHIFTED_N_TRAIN", SHIFTED_N_TRAIN)
    return make_shifted_groups(n_train=tuple(n_train), random_state=0)


@pytest.fixture(scope="module")
def data(dataset):
    """``(X, y, groups)``: the training part of ``dataset``."""
    return dataset.X_train, dataset.y_train, dataset.groups_train


@pytest.fixture
def small_classification():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    groups = np.repeat(["a", "b", "c"], 40)
    return X, y, groups


class _RemembersFits:
    """Each fit appends the rows (``X``) and the groups it received to the class's lists."""

    rows = []
    received = []  # None where a fit got no groups

    def fit(self, X, y, groups=None):
        type(self).rows.append(np.asarray(X).copy())
        type(self).received.append(None if groups is None else np.asarray(groups).copy())
        return super().fit(X, y, groups=groups)


class Recording(_RemembersFits, PerGDROClassifier):
    """A PerGDROClassifier that remembers the rows and groups of every fit."""


class RecordingGroupDRO(_RemembersFits, GroupDROClassifier):
    """A GroupDROClassifier that remembers the rows and groups of every fit."""


def _cleared(cls):
    cls.rows, cls.received = [], []
    return cls


@pytest.fixture
def recording():
    """The ``Recording`` class (a PerGDROClassifier), its records cleared for this test."""
    return _cleared(Recording)


@pytest.fixture
def recording_groupdro():
    """The ``RecordingGroupDRO`` class (a GroupDROClassifier), records cleared."""
    return _cleared(RecordingGroupDRO)


class FailsAboveRho(PerGDROClassifier):
    """Fails to fit when rho > 1 (to exercise error_score)."""

    def fit(self, X, y, groups=None):
        if self.rho > 1.0:
            raise RuntimeError("rho too large for this test")
        return super().fit(X, y, groups=groups)


@pytest.fixture
def fails_above_rho():
    """The ``FailsAboveRho`` class: a PerGDROClassifier whose fit fails when rho > 1."""
    return FailsAboveRho


def pytest_collection_modifyitems(config, items):
    # PERGDRO_REQUIRE_GPU=1 (on GPU machines) makes GPU tests fail rather than skip.
    if torch.cuda.is_available() or os.environ.get("PERGDRO_REQUIRE_GPU"):
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# The search's machinery as it was before the default grew baselines, batched GP rounds
# and halving: tests of one mechanism pass this so that they see exactly the candidates
# they ask for. The defaults themselves are tested in test_search_defaults.py.
MECHANICS = dict(baselines=None, n_points=1, halving_factor=None)
# ... and with the previous pick (one standard error, five refit networks), for tests
# written against it.
LEGACY = dict(MECHANICS, selection="one_se", refit_seeds=5)
