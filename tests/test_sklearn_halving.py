"""scikit-learn's successive-halving searches around the estimators: halving by epochs
(resource="max_iter") works; halving by rows explains the groups it drops."""

import warnings

import numpy as np
import pytest
import sklearn
from scipy.stats import loguniform
from sklearn.exceptions import FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV

from pergdro_sklearn import PerGDROClassifier
from pergdro_sklearn.metrics import get_scorer

PARAMS = {"rho": loguniform(1e-3, 1.0), "epsilon": [0.0, 0.1, 0.3]}


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_halving_by_epochs_recipe(routing, shifted):
    est = PerGDROClassifier(hidden_layer_sizes=(8,), random_state=0).set_fit_request(groups=True)
    search = HalvingRandomSearchCV(
        est, PARAMS, resource="max_iter", min_resources=2, max_resources=18, factor=3,
        n_candidates=9, cv=3, scoring=get_scorer("worst_group_accuracy"), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        warnings.simplefilter("error", FitFailedWarning)  # no fit fails
        search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert search.n_resources_ == [2, 6, 18]
    assert search.n_candidates_ == [9, 3, 1]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.max_iter == 18
    assert search.best_estimator_.n_iter_ == 18
    assert search.best_estimator_.groups_.tolist() == [0, 1, 2, 3]


def test_halving_by_rows_explains_the_dropped_groups(routing, shifted):
    est = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=2,
                            random_state=0).set_fit_request(groups=True)
    search = HalvingRandomSearchCV(est, PARAMS, n_candidates=9, factor=3, cv=3,
                                   random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    failed = [str(w.message) for w in caught if issubclass(w.category, FitFailedWarning)]
    assert failed, "the first rung's subsamples are expected to drop rows of small groups"
    message = failed[0]
    assert "fewer than 2 rows" in message
    assert "resource='max_iter'" in message and "HalvingRandomSearchCV" in message
