"""Groups reach fit through metadata routing in Pipeline, GridSearchCV, cross_validate."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# recording, recording_groupdro (conftest.py): estimator classes whose fits remember
# the rows and groups they received


@pytest.fixture(autouse=True)
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _est(recording):
    return recording(hidden_layer_sizes=(8,), max_iter=2, random_state=0).set_fit_request(
        groups=True)


def test_pipeline_routes_groups(small_classification, recording):
    X, y, groups = small_classification
    make_pipeline(StandardScaler(), _est(recording)).fit(X, y, groups=groups)
    assert len(recording.received) == 1
    np.testing.assert_array_equal(recording.received[0], groups)


def test_grid_search_routes_training_fold_groups(small_classification, recording):
    X, y, groups = small_classification
    search = GridSearchCV(make_pipeline(StandardScaler(), _est(recording)),
                          {"recording__rho": [0.0, 1.0]}, cv=3)
    search.fit(X, y, groups=groups)
    # 2 candidates x 3 folds (candidate by candidate), then the refit on every row;
    # cv=3 means StratifiedKFold(3) for a classifier
    trains = [train for train, _ in StratifiedKFold(3).split(X, y)]
    expected = trains + trains + [np.arange(X.shape[0])]
    assert len(recording.received) == len(expected) == 7
    for received, rows, train in zip(recording.received, recording.rows, expected):
        # each fit got the groups of its own training rows, row by row, beside those rows
        np.testing.assert_array_equal(received, groups[train])
        np.testing.assert_allclose(rows, StandardScaler().fit_transform(X[train]))


def test_cross_validate_routes_groups(small_classification, recording):
    X, y, groups = small_classification
    result = cross_validate(_est(recording), X, y, cv=3, params={"groups": groups},
                            return_indices=True)
    assert len(recording.received) == 3
    for received, train in zip(recording.received, result["indices"]["train"]):
        np.testing.assert_array_equal(received, groups[train])


def test_groups_to_both_splitter_and_estimator(recording_groupdro):
    # One groups array feeds GroupKFold (each test fold is one whole group) and the
    # estimator (each fit gets the labels of its own training rows: the other groups).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = (X[:, 0] > 0).astype(int)
    groups = np.arange(90) % 3
    est = recording_groupdro(hidden_layer_sizes=(8,), max_iter=2).set_fit_request(groups=True)
    result = cross_validate(est, X, y, cv=GroupKFold(3), params={"groups": groups},
                            return_indices=True, return_estimator=True)
    tests = result["indices"]["test"]
    assert sorted(np.unique(groups[test]).size for test in tests) == [1, 1, 1]
    assert sorted(int(groups[test][0]) for test in tests) == [0, 1, 2]
    assert len(recording_groupdro.received) == 3
    for received, train, test, model in zip(recording_groupdro.received,
                                            result["indices"]["train"], tests,
                                            result["estimator"]):
        np.testing.assert_array_equal(received, groups[train])
        assert model.groups_.tolist() == sorted(set(range(3)) - {int(groups[test][0])})
