"""Groups reach fit through metadata routing in Pipeline, GridSearchCV, cross_validate."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier


class Recording(PerGDROClassifier):
    """Remembers the groups each fit received."""

    received = []

    def fit(self, X, y, groups=None):
        Recording.received.append(None if groups is None else np.asarray(groups).copy())
        return super().fit(X, y, groups=groups)


@pytest.fixture(autouse=True)
def routing():
    Recording.received = []
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _est():
    return Recording(hidden_layer_sizes=(8,), max_iter=2, random_state=0).set_fit_request(
        groups=True)


def test_pipeline_routes_groups(small_classification):
    X, y, groups = small_classification
    make_pipeline(StandardScaler(), _est()).fit(X, y, groups=groups)
    assert len(Recording.received) == 1
    np.testing.assert_array_equal(Recording.received[0], groups)


def test_grid_search_routes_training_fold_groups(small_classification):
    X, y, groups = small_classification
    search = GridSearchCV(make_pipeline(StandardScaler(), _est()),
                          {"recording__rho": [0.0, 1.0]}, cv=3)
    search.fit(X, y, groups=groups)
    # 2 candidates x 3 folds + the refit
    assert len(Recording.received) == 7
    assert all(g is not None for g in Recording.received)
    assert all(len(g) == 80 for g in Recording.received[:6])
    assert len(Recording.received[-1]) == 120


def test_cross_validate_routes_groups(small_classification):
    X, y, groups = small_classification
    result = cross_validate(_est(), X, y, cv=3, params={"groups": groups}, return_indices=True)
    assert len(Recording.received) == 3
    for received, train in zip(Recording.received, result["indices"]["train"]):
        np.testing.assert_array_equal(received, groups[train])


class RecordingGroupDRO(GroupDROClassifier):
    """Remembers the groups each fit received."""

    received = []

    def fit(self, X, y, groups=None):
        RecordingGroupDRO.received.append(None if groups is None else np.asarray(groups).copy())
        return super().fit(X, y, groups=groups)


def test_groups_to_both_splitter_and_estimator():
    # One groups array feeds GroupKFold (each test fold is one whole group) and the
    # estimator (each fit gets the labels of its own training rows: the other groups).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = (X[:, 0] > 0).astype(int)
    groups = np.arange(90) % 3
    RecordingGroupDRO.received = []
    est = RecordingGroupDRO(hidden_layer_sizes=(8,), max_iter=2).set_fit_request(groups=True)
    result = cross_validate(est, X, y, cv=GroupKFold(3), params={"groups": groups},
                            return_indices=True, return_estimator=True)
    tests = result["indices"]["test"]
    assert sorted(np.unique(groups[test]).size for test in tests) == [1, 1, 1]
    assert sorted(int(groups[test][0]) for test in tests) == [0, 1, 2]
    assert len(RecordingGroupDRO.received) == 3
    for received, train, test, model in zip(RecordingGroupDRO.received,
                                            result["indices"]["train"], tests,
                                            result["estimator"]):
        np.testing.assert_array_equal(received, groups[train])
        assert model.groups_.tolist() == sorted(set(range(3)) - {int(groups[test][0])})
